/* Unit tests: model diffing, the YAML snapshot round trip, the RLS lints on
 * hand-built models, and verify's JSON and JUnit rendering.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_model.h"
#include "gm_report.h"
#include "gm_lint.h"
#include "gm_verify.h"

/* A small tenant schema that passes every lint. */
static void good_schema(struct gm_model *m)
{
	memset(m, 0, sizeof(*m));
	gm_model_add_schema(m, "public");
	gm_model_add(m, "enum public.Level", "labels", "LOW, HIGH");
	gm_model_add(m, "table public.orders", "row_security", "enabled");
	gm_model_add(m, "table public.orders", "force_row_security", "forced");
	gm_model_add(m, "table public.orders column organization_id", "type", "uuid");
	gm_model_add(m, "table public.orders column organization_id", "not_null", "true");
	gm_model_add(m, "table public.orders column organization_id", "default", "");
	gm_model_add(m, "table public.orders column note", "type", "text");
	gm_model_add(m, "table public.orders column note", "default", "'it''s \"x\"\\n'::text");
	gm_model_add(m, "table public.orders index idx_orders_org", "columns", "organization_id");
	gm_model_add(m, "table public.orders index idx_orders_org", "valid", "true");
	gm_model_add(m, "table public.orders constraint orders_org_fkey", "columns", "organization_id");
	gm_model_add(m, "table public.orders constraint orders_org_fkey", "references", "public.organizations");
	gm_model_add(m, "table public.orders policy orders_all", "command", "ALL");
	gm_model_add(m, "table public.orders policy orders_all", "permissive", "PERMISSIVE");
	gm_model_add(m, "table public.orders policy orders_all", "roles", "public");
	gm_model_add(m, "table public.orders policy orders_all", "using", "(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))");
	gm_model_add(m, "table public.orders policy orders_all", "with_check", "");
	/* A child reached through a foreign key is a tenant table too. */
	gm_model_add(m, "table public.order_items", "row_security", "enabled");
	gm_model_add(m, "table public.order_items", "force_row_security", "forced");
	gm_model_add(m, "table public.order_items constraint items_order_fkey", "columns", "order_id");
	gm_model_add(m, "table public.order_items constraint items_order_fkey", "references", "public.orders");
	gm_model_add(m, "table public.order_items index idx_items_order", "columns", "order_id, sort");
	gm_model_add(m, "table public.order_items index idx_items_order", "valid", "true");
	gm_model_add(m, "table public.order_items policy items_select", "command", "SELECT");
	gm_model_add(m, "table public.order_items policy items_select", "permissive", "PERMISSIVE");
	gm_model_add(m, "table public.order_items policy items_select", "roles", "public");
	gm_model_add(m, "table public.order_items policy items_select", "using", "(EXISTS ( SELECT 1 FROM orders o WHERE ((o.id = order_items.order_id)"
		     " AND (o.organization_id = ( SELECT app_current_org_id() AS app_current_org_id)))))");
	gm_model_add(m, "table public.organizations", "row_security", "disabled");
	gm_model_add(m, "table public.organizations", "force_row_security", "not forced");
	gm_model_sort(m);
}

static void set_value(struct gm_model *m, const char *object, const char *attr, const char *value)
{
	size_t k;

	for (k = 0; k < m->n; k++)
		if (!strcmp(m->v[k].object, object) && !strcmp(m->v[k].attr, attr)) {
			free(m->v[k].value);
			m->v[k].value = gm_xstrdup(value);
			return;
		}
	gm_model_add(m, object, attr, value);
	gm_model_sort(m);
}

static void test_diff_kinds(void **state)
{
	struct gm_model e, f;
	struct gm_diffs d;
	char *line;

	(void)state;
	good_schema(&e);
	good_schema(&f);
	gm_model_diff(&e, &f, &d);
	assert_int_equal(d.n, 0);
	gm_diffs_release(&d);

	/* One of each: a missing object, an unexpected one, a changed value. */
	gm_model_release(&f);
	good_schema(&f);
	set_value(&f, "table public.orders column note", "default", "");
	set_value(&f, "table public.orders column extra", "type", "int");
	for (size_t k = 0; k < f.n; k++)
		if (!strcmp(f.v[k].object, "enum public.Level")) {
			free(f.v[k].object);
			f.v[k].object = gm_xstrdup("enum public.Renamed");
		}
	gm_model_sort(&f);
	gm_model_diff(&e, &f, &d);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.v[0].kind, GM_DIFF_MISSING);
	assert_string_equal(d.v[0].object, "enum public.Level");
	assert_int_equal(d.v[1].kind, GM_DIFF_EXTRA);
	assert_string_equal(d.v[1].object, "enum public.Renamed");
	assert_int_equal(d.v[2].kind, GM_DIFF_EXTRA);
	assert_string_equal(d.v[2].object, "table public.orders column extra");
	assert_int_equal(d.v[3].kind, GM_DIFF_CHANGED);
	line = gm_diff_describe(&d.v[3]);
	assert_string_equal(line, "table public.orders column note: default differs: expected 'it''s \"x\"\\n'::text, found (none)");
	free(line);
	line = gm_diff_describe(&d.v[0]);
	assert_string_equal(line, "enum public.Level: missing (in the snapshot, not in the database)");
	free(line);
	gm_diffs_release(&d);
	gm_model_release(&e);
	gm_model_release(&f);
}

static void test_yaml_round_trip(void **state)
{
	struct gm_model a, b;
	struct gm_strbuf y1 = GM_STRBUF_INIT, y2 = GM_STRBUF_INIT;
	struct gm_error *err;
	char longkey[2100];
	size_t k;

	(void)state;
	good_schema(&a);
	gm_model_add(&a, "function public.f(x integer)", "definition", "CREATE FUNCTION\n\tSELECT 'a: b # c'\x01");
	gm_model_add(&a, "table public.we:ird key", "row_security", "enabled");
	/* Characters YAML folds or refuses raw (found by fuzzing): NEL, a C1
	 * control, LINE and PARAGRAPH SEPARATOR, U+FFFE. */
	gm_model_add(&a, "table public.odd", "note", "a\xc2\x85" "b\xc2\x9f" "c\xe2\x80\xa8" "d\xe2\x80\xa9" "e\xef\xbf\xbe" "\x7f");
	/* Keys past libyaml's 1024 characters for a plain key (a function
	 * with many long parameters; found by fuzzing). */
	memset(longkey, 'p', sizeof(longkey) - 1);
	memcpy(longkey, "function public.f(", 18);
	longkey[sizeof(longkey) - 2] = ')';
	longkey[sizeof(longkey) - 1] = '\0';
	gm_model_add(&a, longkey, "security_definer", "false");
	gm_model_add(&a, "table public.t", longkey + 9, "x");
	gm_model_sort(&a);
	gm_model_to_yaml(&a, &y1);
	err = gm_model_from_yaml("snap.yaml", y1.buf, y1.len, &b);
	assert_null(err);
	assert_int_equal(a.n, b.n);
	for (k = 0; k < a.n; k++) {
		assert_string_equal(a.v[k].object, b.v[k].object);
		assert_string_equal(a.v[k].attr, b.v[k].attr);
		assert_string_equal(a.v[k].value, b.v[k].value);
	}
	assert_int_equal(b.nschemas, 1);
	assert_string_equal(b.schemas[0], "public");
	gm_model_to_yaml(&b, &y2);
	assert_string_equal(y1.buf, y2.buf);	/* deterministic */
	assert_non_null(strstr(y1.buf, "\n  table public.orders column note:\n    default: \"'it''s \\\"x\\\"\\\\n'::text\"\n"));
	assert_non_null(strstr(y1.buf, "note: \"a\\u0085b\\u009fc\\u2028d\\u2029e\\ufffe\\u007f\"\n"));
	gm_strbuf_release(&y1);
	gm_strbuf_release(&y2);
	gm_model_release(&a);
	gm_model_release(&b);
}

static void yaml_fails(const char *text, unsigned line, unsigned col, const char *what)
{
	struct gm_model m;
	struct gm_error *err = gm_model_from_yaml("s.yaml", text, strlen(text), &m);

	assert_non_null(err);
	if (!strstr(err->msg, what))
		fail_msg("message '%s' lacks '%s'", err->msg, what);
	assert_int_equal(err->line, line);
	assert_int_equal(err->col, col);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	gm_error_free(err);
}

static void test_yaml_errors(void **state)
{
	(void)state;
	yaml_fails("format: 1\nschemas: [public]\nobjects:\n  t: [1, 2]\n", 4, 6, "expected a mapping of attributes");
	yaml_fails("format: 1\nschemas: [public]\ncolour: blue\n", 3, 1, "unknown key 'colour'");
	yaml_fails("format: 3\nschemas: [public]\n", 1, 9, "unsupported snapshot format 3");
	yaml_fails("format: 2\npostgresql: 9.6\nschemas: [public]\n", 2, 13, "not a PostgreSQL major version");
	yaml_fails("format: 2\npostgresql: [18]\nschemas: [public]\n", 2, 13, "a PostgreSQL major version");
	yaml_fails("format: 1\nschemas: [public\n", 3, 1, "did not find expected");
	yaml_fails("format: 1\nschemas: public\n", 2, 10, "expected a list of schema names");
}

/* Format 2 records the major the snapshot was dumped on; format 1 (the
 * snapshots written before it) still reads, as of an unknown major. */
static void test_yaml_records_the_major(void **state)
{
	static const char v1[] = "format: 1\nschemas: [public]\nobjects:\n  enum public.L:\n    labels: \"A\"\n";
	static const char v2[] = "format: 2\npostgresql: 18\nschemas: [public]\nobjects: {}\n";
	struct gm_strbuf y = GM_STRBUF_INIT;
	struct gm_model m;

	(void)state;
	assert_null(gm_model_from_yaml("s.yaml", v1, strlen(v1), &m));
	assert_int_equal(m.server_major, 0);
	assert_int_equal(m.n, 1);
	gm_model_to_yaml(&m, &y);
	assert_non_null(strstr(y.buf, "\nformat: 2\nschemas:\n"));	/* no major to name */
	gm_strbuf_release(&y);
	gm_model_release(&m);

	assert_null(gm_model_from_yaml("s.yaml", v2, strlen(v2), &m));
	assert_int_equal(m.server_major, 18);
	gm_model_to_yaml(&m, &y);
	assert_non_null(strstr(y.buf, "\nformat: 2\npostgresql: 18\nschemas:\n"));
	gm_strbuf_release(&y);
	gm_model_release(&m);
}

/* ---- lints ---- */

static size_t lint_count(const struct gm_model *m, const char *name, const char *object)
{
	struct gm_findings f = { NULL, 0, 0 };
	size_t k, n = 0;

	gm_lint_rls(m, NULL, &f);
	for (k = 0; k < f.n; k++)
		if (!strcmp(f.v[k].name, name) && (!object || !strcmp(f.v[k].object, object)))
			n++;
	gm_findings_release(&f);
	return n;
}

static void test_lints_clean_schema(void **state)
{
	struct gm_model m;
	struct gm_findings f = { NULL, 0, 0 };

	(void)state;
	good_schema(&m);
	gm_lint_rls(&m, NULL, &f);
	if (f.n)
		fail_msg("unexpected finding %s: %s: %s", f.v[0].name, f.v[0].object, f.v[0].message);
	gm_findings_release(&f);
	gm_model_release(&m);
}

static void test_lints_each_rule(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.order_items", "row_security", "disabled");
	assert_int_equal(lint_count(&m, "policies_without_rls", "table public.order_items"), 1);
	set_value(&m, "table public.orders", "force_row_security", "not forced");
	assert_int_equal(lint_count(&m, "rls_not_forced", "table public.orders"), 1);
	gm_model_release(&m);

	/* A tenant table (through its FK) without RLS and without policies. */
	good_schema(&m);
	set_value(&m, "table public.invoices", "row_security", "disabled");
	set_value(&m, "table public.invoices constraint inv_order_fkey", "columns", "order_id");
	set_value(&m, "table public.invoices constraint inv_order_fkey", "references", "public.order_items");
	assert_int_equal(lint_count(&m, "rls_disabled", "table public.invoices"), 1);
	assert_int_equal(lint_count(&m, "foreign_key_without_index", "table public.invoices"), 1);
	set_value(&m, "table public.invoices", "row_security", "enabled");
	assert_int_equal(lint_count(&m, "rls_without_policies", "table public.invoices"), 1);
	gm_model_release(&m);

	/* The spec's hole: a write policy with a public branch. */
	good_schema(&m);
	set_value(&m, "table public.orders policy orders_all", "using",
		  "(is_public OR (organization_id = ( SELECT app_current_org_id() AS app_current_org_id)))");
	assert_int_equal(lint_count(&m, "write_policy_not_tenant_bound", "table public.orders policy orders_all"), 1);
	/* The same expression in a SELECT policy is fine. */
	set_value(&m, "table public.orders policy orders_all", "command", "SELECT");
	assert_int_equal(lint_count(&m, "write_policy_not_tenant_bound", NULL), 0);
	/* A second permissive UPDATE policy, USING (true). */
	set_value(&m, "table public.orders policy open_update", "command", "UPDATE");
	set_value(&m, "table public.orders policy open_update", "permissive", "PERMISSIVE");
	set_value(&m, "table public.orders policy open_update", "roles", "public");
	set_value(&m, "table public.orders policy open_update", "using", "true");
	assert_int_equal(lint_count(&m, "write_policy_not_tenant_bound", "table public.orders policy open_update"), 1);
	set_value(&m, "table public.orders policy orders_all", "command", "ALL");
	assert_int_equal(lint_count(&m, "multiple_permissive_policies", "table public.orders"), 1);
	gm_model_release(&m);

	good_schema(&m);
	set_value(&m, "table public.orders policy orders_all", "using",
		  "(organization_id = (current_setting('app.current_org_id'::text))::uuid)");
	assert_int_equal(lint_count(&m, "current_setting_one_argument", "table public.orders policy orders_all"), 1);
	set_value(&m, "table public.orders policy orders_all", "using",
		  "(organization_id = (current_setting('app.current_org_id'::text, true))::uuid)");
	assert_int_equal(lint_count(&m, "current_setting_one_argument", NULL), 0);
	set_value(&m, "table public.orders index idx_orders_org", "valid", "false");
	assert_int_equal(lint_count(&m, "invalid_index", "table public.orders"), 1);
	gm_model_release(&m);
}

/* A policy that asks who runs the query escapes the probe's view. */
static void test_lints_role_dependent_policy(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.orders policy orders_all", "using",
		  "((organization_id = ( SELECT app_current_org_id() AS app_current_org_id)) OR (CURRENT_USER = 'app'::name))");
	assert_int_equal(lint_count(&m, "policy_depends_on_role", "table public.orders policy orders_all"), 1);
	gm_model_release(&m);
	good_schema(&m);
	assert_int_equal(lint_count(&m, "policy_depends_on_role", NULL), 0);
	gm_model_release(&m);
}

/* Row-level security whose policy lets every row be read protects
 * nothing: a table of an exposed schema must then be declared global. */
static void test_lints_open_policy_is_no_protection(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.docs", "row_security", "enabled");
	set_value(&m, "table public.docs", "force_row_security", "forced");
	set_value(&m, "table public.docs column org_id", "type", "uuid");
	set_value(&m, "table public.docs policy anyone", "command", "ALL");
	set_value(&m, "table public.docs policy anyone", "permissive", "PERMISSIVE");
	set_value(&m, "table public.docs policy anyone", "roles", "public");
	set_value(&m, "table public.docs policy anyone", "using", "true");
	set_value(&m, "table public.docs policy anyone", "with_check", "true");
	assert_int_equal(lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs"), 1);
	/* A restrictive policy narrows it: judged by the probe, not here. */
	set_value(&m, "table public.docs policy mine", "command", "SELECT");
	set_value(&m, "table public.docs policy mine", "permissive", "RESTRICTIVE");
	set_value(&m, "table public.docs policy mine", "roles", "public");
	set_value(&m, "table public.docs policy mine", "using", "(org_id = app_org())");
	assert_int_equal(lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs"), 0);
	gm_model_release(&m);
	/* Open only to a role of its own (Supabase's service_role). */
	good_schema(&m);
	set_value(&m, "table public.docs", "row_security", "enabled");
	set_value(&m, "table public.docs policy service", "command", "ALL");
	set_value(&m, "table public.docs policy service", "permissive", "PERMISSIVE");
	set_value(&m, "table public.docs policy service", "roles", "service_role");
	set_value(&m, "table public.docs policy service", "using", "true");
	assert_int_equal(lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs"), 0);
	gm_model_release(&m);
	/* Whatever spells true, and the tenant expression alone: every
	 * signed-in tenant reads every row.  A column, a function, a
	 * subquery, or constants that are false, may hide rows. */
	{
		static const struct {
			const char *using;
			size_t found;
		} cases[] = {
			{ "(1 = 1)", 1 },
			{ "((2 > 1) AND ('a'::text = 'a'::text))", 1 },
			{ "(NOT false)", 1 },
			{ "('t'::boolean)", 1 },
			{ "((owner = CURRENT_USER) OR (1 = 1))", 1 },
			{ "(true IS TRUE)", 1 },
			{ "(NULL::text IS NULL)", 1 },
			{ "(( SELECT app_current_org_id() AS app_current_org_id) IS NOT NULL)", 1 },
			{ "(app_current_org_id() <> '00000000-0000-0000-0000-000000000000'::uuid)", 1 },
			/* One tenant picked (an administrator's) is not every one. */
			{ "(app_current_org_id() = '00000000-0000-0000-0000-000000000001'::uuid)", 0 },
			{ "(app_current_org_id() IN ('00000000-0000-0000-0000-000000000001'::uuid))", 0 },
			{ "false", 0 },
			{ "(1 = 0)", 0 },
			{ "(NULL::boolean)", 0 },
			{ "(NOT (NULL::boolean))", 0 },
			{ "((app_current_org_id() IS NOT NULL) AND false)", 0 },
			{ "(is_admin())", 0 },
			{ "(other_org_id() IS NOT NULL)", 0 },
			{ "(EXISTS ( SELECT 1 FROM admins a WHERE (a.id = app_current_org_id())))", 0 },
			{ "(org_id = app_current_org_id())", 0 },
			{ "('b'::text < 'a'::text)", 0 },
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			good_schema(&m);
			set_value(&m, "table public.docs", "row_security", "enabled");
			set_value(&m, "table public.docs policy anyone", "command", "SELECT");
			set_value(&m, "table public.docs policy anyone", "permissive", "PERMISSIVE");
			set_value(&m, "table public.docs policy anyone", "roles", "public");
			set_value(&m, "table public.docs policy anyone", "using", cases[k].using);
			if (lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs") != cases[k].found)
				fail_msg("USING %s: expected %zu finding(s)", cases[k].using, cases[k].found);
			/* A restrictive policy that does not look at the row
			 * narrows nothing. */
			set_value(&m, "table public.docs policy blind", "command", "SELECT");
			set_value(&m, "table public.docs policy blind", "permissive", "RESTRICTIVE");
			set_value(&m, "table public.docs policy blind", "roles", "public");
			set_value(&m, "table public.docs policy blind", "using", "(1 = 1)");
			if (lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs") != cases[k].found)
				fail_msg("USING %s and a blind restrictive policy: expected %zu finding(s)", cases[k].using,
					 cases[k].found);
			gm_model_release(&m);
		}
	}
	/* Or one that is not open. */
	good_schema(&m);
	set_value(&m, "table public.docs", "row_security", "enabled");
	set_value(&m, "table public.docs policy mine", "command", "SELECT");
	set_value(&m, "table public.docs policy mine", "permissive", "PERMISSIVE");
	set_value(&m, "table public.docs policy mine", "using", "(owner = CURRENT_USER)");
	assert_int_equal(lint_count(&m, "rls_disabled_in_exposed_schema", "table public.docs"), 0);
	gm_model_release(&m);
}

/* A unique index a tenant's INSERT fails on when another tenant holds the
 * value: one over the tenant column, a foreign key to a tenant table or a
 * uuid is within a tenant, one over an expression alone (as the catalog
 * lists it) is not; a primary key is left out. */
static void test_lints_unique_across_tenants(void **state)
{
	static const struct {
		const char *table, *columns, *def;
		size_t found;
	} cases[] = {
		{ "public.orders", "note", "CREATE UNIQUE INDEX x ON public.orders USING btree (note)", 1 },
		{ "public.orders", "note, code", "CREATE UNIQUE INDEX x ON public.orders USING btree (note, code)", 1 },
		{ "public.order_items", "sort", "CREATE UNIQUE INDEX x ON public.order_items USING btree (sort)", 1 },
		{ "public.orders", "organization_id, note",
		  "CREATE UNIQUE INDEX x ON public.orders USING btree (organization_id, note)", 0 },
		{ "public.orders", "note, organization_id",
		  "CREATE UNIQUE INDEX x ON public.orders USING btree (note, organization_id)", 0 },
		{ "public.order_items", "order_id, sort",
		  "CREATE UNIQUE INDEX x ON public.order_items USING btree (order_id, sort)", 0 },
		{ "public.orders", "public_id", "CREATE UNIQUE INDEX x ON public.orders USING btree (public_id)", 0 },
		{ "public.orders", "note", "CREATE INDEX x ON public.orders USING btree (note)", 0 },
		{ "public.orders", "expression", "CREATE UNIQUE INDEX x ON public.orders USING btree (lower(note))", 1 },
		{ "public.orders", "organization_id, expression",
		  "CREATE UNIQUE INDEX x ON public.orders USING btree (organization_id, lower(note))", 0 },
		{ "public.organizations", "name", "CREATE UNIQUE INDEX x ON public.organizations USING btree (name)", 0 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		char *obj = gm_xasprintf("table %s index x", cases[k].table);

		good_schema(&m);
		set_value(&m, "table public.orders column public_id", "type", "uuid");
		set_value(&m, obj, "columns", cases[k].columns);
		set_value(&m, obj, "definition", cases[k].def);
		set_value(&m, obj, "valid", "true");
		if (lint_count(&m, "tenant_unique_across_tenants", cases[k].found ? obj : NULL) != cases[k].found)
			fail_msg("case %zu: %s on %s: expected %zu finding(s)", k, cases[k].def, cases[k].table, cases[k].found);
		/* The primary key's own index is left out. */
		set_value(&m, "table public.orders constraint x", "definition", "PRIMARY KEY (note)");
		set_value(&m, "table public.order_items constraint x", "definition", "PRIMARY KEY (sort)");
		assert_int_equal(lint_count(&m, "tenant_unique_across_tenants", NULL), 0);
		gm_model_release(&m);
		free(obj);
	}
}

/* A referential action from a table that is no tenant table, which a
 * role may delete from or update: it reaches every tenant's rows, past
 * their policies. */
static void test_lints_cascade_from_writable_table(void **state)
{
	static const char fk[] = "table public.orders constraint orders_org_fkey", *const obj = fk;
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", NULL), 0);	/* no one else may delete */
	set_value(&m, "table public.organizations grant app", "privileges", "SELECT, INSERT, UPDATE, DELETE");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	/* No action, restrict: the delete fails instead. */
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE RESTRICT");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", NULL), 0);
	/* SET NULL, and ON UPDATE CASCADE with UPDATE on the referenced
	 * column alone. */
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE SET NULL");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	gm_model_release(&m);
	good_schema(&m);
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON UPDATE CASCADE");
	set_value(&m, "table public.organizations column name grant app", "privileges", "UPDATE");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", NULL), 0);	/* another column */
	set_value(&m, "table public.organizations column id grant app", "privileges", "UPDATE");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	/* Row-level security whose policies look at the row decides; one
	 * that lets every row through does not. */
	set_value(&m, "table public.organizations", "row_security", "enabled");
	set_value(&m, "table public.organizations policy own", "command", "UPDATE");
	set_value(&m, "table public.organizations policy own", "permissive", "PERMISSIVE");
	set_value(&m, "table public.organizations policy own", "roles", "public");
	set_value(&m, "table public.organizations policy own", "using", "(id = app_current_org_id())");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", NULL), 0);
	set_value(&m, "table public.organizations policy any", "command", "ALL");
	set_value(&m, "table public.organizations policy any", "permissive", "PERMISSIVE");
	set_value(&m, "table public.organizations policy any", "roles", "app");
	set_value(&m, "table public.organizations policy any", "using", "true");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	/* Every grantee counts, not only the first one listed; PUBLIC's
	 * grant reaches whoever a policy names; names quoted in grants. */
	gm_model_release(&m);
	good_schema(&m);
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE");
	set_value(&m, "table public.organizations", "row_security", "enabled");
	set_value(&m, "table public.organizations grant aa_app", "privileges", "DELETE");
	set_value(&m, "table public.organizations grant \"Zz Web\"", "privileges", "DELETE");
	set_value(&m, "table public.organizations policy web", "command", "DELETE");
	set_value(&m, "table public.organizations policy web", "permissive", "PERMISSIVE");
	set_value(&m, "table public.organizations policy web", "roles", "Zz Web");
	set_value(&m, "table public.organizations policy web", "using", "true");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	gm_model_release(&m);
	good_schema(&m);
	set_value(&m, fk, "definition", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE");
	set_value(&m, "table public.organizations", "row_security", "enabled");
	set_value(&m, "table public.organizations grant PUBLIC", "privileges", "DELETE");
	set_value(&m, "table public.organizations policy anon", "command", "DELETE");
	set_value(&m, "table public.organizations policy anon", "permissive", "PERMISSIVE");
	set_value(&m, "table public.organizations policy anon", "roles", "anon");
	set_value(&m, "table public.organizations policy anon", "using", "true");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", obj), 1);
	/* To a tenant table the child's own parent's policies apply. */
	gm_model_release(&m);
	good_schema(&m);
	set_value(&m, "table public.order_items constraint items_order_fkey", "definition",
		  "FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE");
	set_value(&m, "table public.orders grant app", "privileges", "DELETE");
	assert_int_equal(lint_count(&m, "cascade_from_writable_table", NULL), 0);
	gm_model_release(&m);
}

/* Names are not quoted in facts: a table called "orders column x" (or
 * "... policy y") is still a table of its own to the lints, and its
 * facts are not taken for another's. */
static void test_lints_tables_named_like_facts(void **state)
{
	static const char *const names[] = { "orders column x", "orders policy y", "orders index z",
					     "orders grant w" };
	struct gm_model m;

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		char *t = gm_xasprintf("table public.%s", names[k]), *col = gm_xasprintf("%s column organization_id", t);

		good_schema(&m);
		set_value(&m, t, "row_security", "disabled");
		set_value(&m, t, "force_row_security", "not forced");
		set_value(&m, col, "type", "uuid");
		if (lint_count(&m, "rls_disabled", t) != 1)
			fail_msg("%s: no rls_disabled", t);
		/* orders keeps its policies, and its own findings: none. */
		assert_int_equal(lint_count(&m, "rls_disabled", "table public.orders"), 0);
		assert_int_equal(lint_count(&m, "rls_without_policies", "table public.orders"), 0);
		free(col);
		/* A column of orders named like that table is still orders'. */
		gm_model_release(&m);
		good_schema(&m);
		set_value(&m, t, "row_security", "enabled");
		set_value(&m, t, "force_row_security", "forced");
		set_value(&m, "table public.orders column x", "type", "text");
		set_value(&m, "table public.orders", "row_security", "disabled");
		assert_int_equal(lint_count(&m, "policies_without_rls", "table public.orders"), 1);
		gm_model_release(&m);
		free(t);
	}
}

/* ---- rendering ---- */

static void sample(struct gm_verify_result *r)
{
	memset(r, 0, sizeof(*r));
	r->ran[GM_CHECK_HISTORY] = r->ran[GM_CHECK_SCHEMA] = r->ran[GM_CHECK_RLS] = 1;
	r->applied = 8;
	r->facts = 700;
	gm_findings_add(&r->findings, GM_CHECK_SCHEMA, "missing", GM_LEVEL_ERROR,
			"table public.t index i", NULL, "table public.t index i: missing <&>");
	gm_findings_add(&r->findings, GM_CHECK_RLS, "multiple_permissive_policies", GM_LEVEL_WARNING,
			"table public.t", "merge them", "2 permissive policies apply to \"UPDATE\"");
}

static void test_verify_json(void **state)
{
	struct gm_verify_result r;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	sample(&r);
	gm_report_verify_json(&r, "schema/snapshot.yaml", 0, &sb);
	assert_string_equal(sb.buf,
		"{\"format_version\":1,\"ok\":false,\"snapshot\":\"schema/snapshot.yaml\",\"checks\":["
		"{\"name\":\"history\",\"ok\":true,\"errors\":0,\"warnings\":0},"
		"{\"name\":\"schema\",\"ok\":false,\"errors\":1,\"warnings\":0},"
		"{\"name\":\"rls\",\"ok\":true,\"errors\":0,\"warnings\":1}],"
		"\"findings\":[{\"check\":\"schema\",\"name\":\"missing\",\"level\":\"error\","
		"\"object\":\"table public.t index i\",\"message\":\"table public.t index i: missing <&>\",\"remedy\":null},"
		"{\"check\":\"rls\",\"name\":\"multiple_permissive_policies\",\"level\":\"warning\","
		"\"object\":\"table public.t\",\"message\":\"2 permissive policies apply to \\\"UPDATE\\\"\",\"remedy\":\"merge them\"}],"
		"\"summary\":{\"applied\":8,\"pending\":0,\"facts\":700,\"errors\":1,\"warnings\":1}}\n");
	gm_strbuf_release(&sb);
	gm_verify_result_release(&r);
}

static void test_verify_junit(void **state)
{
	struct gm_verify_result r;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	sample(&r);
	gm_report_verify_junit(&r, "schema/snapshot.yaml", &sb);
	assert_string_equal(sb.buf,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"garage-migrate verify\" tests=\"3\" failures=\"1\">\n"
		"  <testsuite name=\"history\" tests=\"1\" failures=\"0\">\n"
		"    <testcase classname=\"garage-migrate.history\" name=\"applied migrations match their files\"/>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"schema\" tests=\"1\" failures=\"1\">\n"
		"    <testcase classname=\"garage-migrate.schema\" name=\"missing: table public.t index i\">"
		"<failure type=\"missing\" message=\"table public.t index i: missing &lt;&amp;&gt;\">"
		"table public.t index i: missing &lt;&amp;&gt;</failure></testcase>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"rls\" tests=\"1\" failures=\"0\">\n"
		"    <testcase classname=\"garage-migrate.rls\" name=\"multiple_permissive_policies: table public.t\">"
		"<system-out>warning: 2 permissive policies apply to &quot;UPDATE&quot;</system-out></testcase>\n"
		"  </testsuite>\n"
		"</testsuites>\n");
	gm_strbuf_release(&sb);
	gm_verify_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_kinds),
		cmocka_unit_test(test_yaml_round_trip),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_yaml_records_the_major),
		cmocka_unit_test(test_lints_clean_schema),
		cmocka_unit_test(test_lints_each_rule),
		cmocka_unit_test(test_lints_tables_named_like_facts),
		cmocka_unit_test(test_lints_open_policy_is_no_protection),
		cmocka_unit_test(test_lints_cascade_from_writable_table),
		cmocka_unit_test(test_lints_unique_across_tenants),
		cmocka_unit_test(test_lints_role_dependent_policy),
		cmocka_unit_test(test_verify_json),
		cmocka_unit_test(test_verify_junit),
	};
	return cmocka_run_group_tests_name("verify: model, snapshot, lints, rendering", tests, NULL, NULL);
}
