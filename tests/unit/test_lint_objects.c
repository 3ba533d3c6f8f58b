/* Unit tests: the lints on grants, views and SECURITY DEFINER functions
 * (lint_objects.c) on hand-built models, and verify's report and verdict
 * when the drift check was skipped.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_model.h"
#include "gm_report.h"
#include "gm_lint.h"
#include "gm_tenancy.h"
#include "gm_verify.h"

/* A tenant table, a global one, a safe view, a safe definer function:
 * nothing to report. */
static void good_schema(struct gm_model *m)
{
	memset(m, 0, sizeof(*m));
	gm_model_add_schema(m, "public");
	gm_model_add(m, "table public.orders", "row_security", "enabled");
	gm_model_add(m, "table public.orders", "force_row_security", "forced");
	gm_model_add(m, "table public.orders column organization_id", "type", "uuid");
	gm_model_add(m, "table public.orders grant app_user", "privileges", "SELECT, INSERT");
	gm_model_add(m, "table public.orders grant app_user", "with_grant_option", "");
	gm_model_add(m, "table public.countries", "row_security", "disabled");
	gm_model_add(m, "table public.countries", "force_row_security", "not forced");
	gm_model_add(m, "table public.countries column name", "type", "text");
	gm_model_add(m, "table public.countries grant PUBLIC", "privileges", "SELECT");
	gm_model_add(m, "view public.my_orders", "reads", "public.countries, public.orders");
	gm_model_add(m, "view public.my_orders", "security_invoker", "true");
	gm_model_add(m, "view public.my_orders", "security_barrier", "false");
	gm_model_add(m, "view public.country_names", "reads", "public.countries");
	gm_model_add(m, "view public.country_names", "security_invoker", "false");
	gm_model_add(m, "function public.org_count()", "security_definer", "true");
	gm_model_add(m, "function public.org_count()", "config", "work_mem=64MB\nsearch_path=pg_catalog, public");
	gm_model_add(m, "function public.plain()", "security_definer", "false");
	gm_model_add(m, "function public.plain()", "config", "");
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

/* Findings named name (about object, when given); with message, the first
 * one's message must contain it. */
static size_t count(const struct gm_model *m, const char *name, const char *object, const char *message)
{
	struct gm_findings f = { NULL, 0, 0 };
	size_t k, n = 0;

	gm_lint_objects(m, NULL, &f);
	for (k = 0; k < f.n; k++) {
		if (strcmp(f.v[k].name, name) || (object && strcmp(f.v[k].object, object)))
			continue;
		assert_int_equal(f.v[k].check, GM_CHECK_RLS);
		/* What cannot be judged is a warning; the rest are errors. */
		assert_int_equal(f.v[k].level, strstr(name, "_not_analysed") || strstr(name, "_bypass_grant") ||
						   !strcmp(name, "trigger_grant") || !strcmp(name, "policy_link_writable") ||
						   !strcmp(name, "leakproof_function") || !strcmp(name, "policy_operator_not_builtin") ||
						   !strcmp(name, "tenant_trigger_notifies")
						   ? GM_LEVEL_WARNING : GM_LEVEL_ERROR);
		assert_non_null(f.v[k].remedy);
		if (!n && message && !strstr(f.v[k].message, message))
			fail_msg("'%s' not in the message: %s", message, f.v[k].message);
		n++;
	}
	gm_findings_release(&f);
	return n;
}

static void test_clean_schema(void **state)
{
	struct gm_model m;
	struct gm_findings f = { NULL, 0, 0 };

	(void)state;
	good_schema(&m);
	gm_lint_objects(&m, NULL, &f);
	if (f.n)
		fail_msg("unexpected finding %s: %s: %s", f.v[0].name, f.v[0].object, f.v[0].message);
	gm_findings_release(&f);
	gm_model_release(&m);
}

/* Grants sort with their table ("table S.T grant R"): the table lints
 * must not take one for a table of its own. */
static void test_grants_are_not_tables_to_the_rls_lints(void **state)
{
	struct gm_model m;
	struct gm_findings f = { NULL, 0, 0 };
	size_t k;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.orders column organization_id grant app_user", "privileges", "UPDATE");
	set_value(&m, "table public.orders grant \"Odd Role\"", "privileges", "SELECT");
	gm_lint_rls(&m, NULL, &f);
	for (k = 0; k < f.n; k++)
		if (strstr(f.v[k].object, " grant "))
			fail_msg("a grant read as a table: %s: %s: %s", f.v[k].name, f.v[k].object, f.v[k].message);
	gm_findings_release(&f);
	gm_model_release(&m);
}

static void test_public_grant_on_tenant_table(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.orders grant PUBLIC", "privileges", "SELECT, UPDATE");
	assert_int_equal(count(&m, "tenant_table_public_grant", "table public.orders grant PUBLIC",
			       "PUBLIC holds SELECT, UPDATE on a tenant table"), 1);
	gm_model_release(&m);

	good_schema(&m);
	set_value(&m, "table public.orders column organization_id grant PUBLIC", "privileges", "UPDATE");
	assert_int_equal(count(&m, "tenant_table_public_grant",
			       "table public.orders column organization_id grant PUBLIC", "UPDATE"), 1);
	gm_model_release(&m);

	/* A role merely called PUBLIC (catalog.c quotes it), a table whose
	 * name starts like the tenant's, and with_grant_option are not
	 * PUBLIC's grants on the tenant table. */
	good_schema(&m);
	set_value(&m, "table public.orders grant \"PUBLIC\"", "privileges", "SELECT");
	set_value(&m, "table public.orders_archive grant PUBLIC", "privileges", "SELECT");
	set_value(&m, "table public.orders grant app_user", "with_grant_option", "SELECT");
	assert_int_equal(count(&m, "tenant_table_public_grant", NULL, NULL), 0);
	gm_model_release(&m);
}

static void test_views_over_protected_tables(void **state)
{
	struct gm_model m;

	(void)state;
	/* Over a tenant table, as its owner. */
	good_schema(&m);
	set_value(&m, "view public.my_orders", "security_invoker", "false");
	assert_int_equal(count(&m, "view_bypasses_rls", "view public.my_orders",
			       "view reads public.orders as its owner"), 1);
	gm_model_release(&m);

	/* Over a table with RLS that is not a tenant table. */
	good_schema(&m);
	set_value(&m, "table public.countries", "row_security", "enabled");
	assert_int_equal(count(&m, "view_bypasses_rls", "view public.country_names", "public.countries"), 1);
	gm_model_release(&m);

	/* Through an invoker view: the outer view's owner runs it. */
	good_schema(&m);
	set_value(&m, "view public.again", "reads", "public.my_orders");
	set_value(&m, "view public.again", "security_invoker", "false");
	assert_int_equal(count(&m, "view_bypasses_rls", "view public.again", "view reads public.my_orders"), 1);
	set_value(&m, "view public.again", "security_invoker", "true");
	assert_int_equal(count(&m, "view_bypasses_rls", NULL, NULL), 0);
	gm_model_release(&m);

	/* A materialized view stores the rows: always the error. */
	good_schema(&m);
	set_value(&m, "materialized view public.order_totals", "reads", "public.orders");
	assert_int_equal(count(&m, "view_bypasses_rls", "materialized view public.order_totals",
			       "materialized view reads public.orders"), 1);
	set_value(&m, "materialized view public.order_totals", "reads", "public.countries");
	assert_int_equal(count(&m, "view_bypasses_rls", NULL, NULL), 0);
	gm_model_release(&m);

	/* Names match whole list elements only. */
	good_schema(&m);
	set_value(&m, "view public.country_names", "reads", "public.orders_archive, xpublic.orders");
	assert_int_equal(count(&m, "view_bypasses_rls", NULL, NULL), 0);
	set_value(&m, "view public.country_names", "reads", "public.a, public.orders, public.z");
	assert_int_equal(count(&m, "view_bypasses_rls", "view public.country_names", NULL), 1);
	gm_model_release(&m);
}

static void test_security_definer_search_path(void **state)
{
	static const struct {
		const char *config;
		size_t found;
	} cases[] = {
		{ "", 1 },
		{ "work_mem=64MB", 1 },
		/* catalog.c escapes a line break inside a value. */
		{ "application_name=x\\nsearch_path=pg_catalog", 1 },
		{ "search_path=\"\"", 0 },
		{ "work_mem=64MB\nsearch_path=pg_catalog, pg_temp", 0 },
	};
	struct gm_model m;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		good_schema(&m);
		set_value(&m, "function public.org_count()", "config", cases[k].config);
		if (count(&m, "security_definer_without_search_path", "function public.org_count()",
			  "SECURITY DEFINER function without its own search_path") != cases[k].found)
			fail_msg("config '%s': expected %zu finding(s)", cases[k].config, cases[k].found);
		gm_model_release(&m);
	}
	/* An invoker's function needs no path of its own. */
	good_schema(&m);
	set_value(&m, "function public.org_count()", "security_definer", "false");
	set_value(&m, "function public.org_count()", "config", "");
	assert_int_equal(count(&m, "security_definer_without_search_path", NULL, NULL), 0);
	gm_model_release(&m);
}

/* A caller's view over an owner's view outside the checked schemas: the
 * catalog says what it reaches as that owner (reads_as_owner). */
static void test_views_through_other_schemas(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "view public.my_orders", "reads_as_owner", "public.orders");
	assert_int_equal(count(&m, "view_bypasses_rls", "view public.my_orders",
			       "view reads public.orders through a view outside the checked schemas"), 1);
	gm_model_release(&m);
	/* A materialized view filled by a function that reads every tenant. */
	good_schema(&m);
	set_value(&m, "materialized view public.totals", "reads", "");
	set_value(&m, "materialized view public.totals", "calls", "public.plain()\npublic.all_orders(a integer, b text)");
	set_value(&m, "function public.all_orders(a integer, b text)", "definition",
		  "CREATE OR REPLACE FUNCTION public.all_orders(a integer, b text)\n RETURNS SETOF orders\n LANGUAGE sql\n"
		  "AS $function$ SELECT * FROM public.orders $function$\n");
	set_value(&m, "function public.all_orders(a integer, b text)", "security_definer", "false");
	assert_int_equal(count(&m, "view_bypasses_rls", "materialized view public.totals",
			       "materialized view stores what public.all_orders(a integer, b text) reads of public.orders"), 1);
	gm_model_release(&m);
}

/* A rule runs as its relation's owner; one that does nothing is fine. */
static void test_rules(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "view public.my_orders rule w", "definition",
		  "CREATE RULE w AS\n    ON INSERT TO public.my_orders DO INSTEAD  UPDATE orders SET note = new.note;");
	set_value(&m, "table public.orders rule no_delete", "definition",
		  "CREATE RULE no_delete AS\n    ON DELETE TO public.orders DO INSTEAD NOTHING;");
	assert_int_equal(count(&m, "rule_on_table", "view public.my_orders rule w", "rule w runs its actions"), 1);
	assert_int_equal(count(&m, "rule_on_table", "table public.orders rule no_delete", NULL), 0);
	gm_model_release(&m);
}

/* TRUNCATE ignores policies; TRIGGER lets a role watch every write. */
static void test_bypass_grants_on_tenant_tables(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_value(&m, "table public.orders grant app_user", "privileges", "SELECT, INSERT, TRUNCATE");
	assert_int_equal(count(&m, "tenant_table_bypass_grant", "table public.orders grant app_user",
			       "app_user holds TRUNCATE on a tenant table"), 1);
	set_value(&m, "table public.orders grant app_user", "privileges", "SELECT, TRIGGER");
	assert_int_equal(count(&m, "tenant_table_bypass_grant", "table public.orders grant app_user",
			       "app_user holds TRIGGER on a tenant table"), 1);
	/* A global table's are not this rule's. */
	set_value(&m, "table public.orders grant app_user", "privileges", "SELECT, INSERT");
	set_value(&m, "table public.countries grant PUBLIC", "privileges", "SELECT, TRUNCATE");
	assert_int_equal(count(&m, "tenant_table_bypass_grant", NULL, NULL), 0);
	assert_int_equal(count(&m, "trigger_grant", NULL, NULL), 0);
	/* TRIGGER on any other table or view: its trigger runs as whoever
	 * writes there, a superuser's migration included. */
	set_value(&m, "table public.countries grant app_user", "privileges", "SELECT, TRIGGER");
	set_value(&m, "view public.country_names grant app_user", "privileges", "TRIGGER");
	assert_int_equal(count(&m, "trigger_grant", "table public.countries grant app_user",
			       "app_user holds TRIGGER on a relation it does not own"), 1);
	assert_int_equal(count(&m, "trigger_grant", "view public.country_names grant app_user", NULL), 1);
	/* On a tenant table it is tenant_table_bypass_grant's, once. */
	set_value(&m, "table public.orders grant app_user", "privileges", "SELECT, TRIGGER");
	assert_int_equal(count(&m, "trigger_grant", NULL, NULL), 2);
	gm_model_release(&m);
}

/* A SECURITY DEFINER function runs as its owner: each of its statements
 * on a protected table must bind the rows to the tenant itself. */
static void test_definer_function_bodies(void **state)
{
	static const struct {
		const char *language, *body;
		const char *rule, *message;	/* NULL: no finding */
	} cases[] = {
		{ "sql", "SELECT * FROM orders", "definer_function_bypasses_rls",
		  "touches orders as its owner (SELECT without a WHERE)" },
		{ "sql", "SELECT count(*) FROM public.orders o WHERE o.organization_id = (SELECT app_current_org_id())",
		  NULL, NULL },
		{ "sql", "SELECT count(*) FROM orders WHERE organization_id = $1", "definer_function_bypasses_rls",
		  "touches orders as its owner (SELECT whose WHERE does not bind it to the tenant: organization_id = $1)" },
		{ "sql", "SELECT count(*) FROM orders WHERE organization_id = app_current_org_id() OR true",
		  "definer_function_bypasses_rls", "does not bind it to the tenant: true" },
		{ "sql", "SELECT c.name FROM countries c JOIN orders o ON o.id = c.id", "definer_function_bypasses_rls",
		  "touches orders as its owner (SELECT without a WHERE)" },
		{ "sql", "SELECT name FROM countries", NULL, NULL },
		{ "sql", "WITH d AS (DELETE FROM orders WHERE id = $1 RETURNING id) SELECT count(*) FROM d",
		  "definer_function_bypasses_rls", "DELETE whose WHERE does not bind it" },
		{ "sql", "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", NULL, NULL },
		{ "sql", "INSERT INTO orders (organization_id) VALUES ($1)", "definer_function_bypasses_rls",
		  "touches orders as its owner (INSERT whose tenant column is not set to the tenant expression itself)" },
		/* The tenant expression somewhere is not enough: the caller
		 * picks the tenant through coalesce, or a second row. */
		{ "sql", "INSERT INTO orders (organization_id) VALUES (coalesce($1, app_current_org_id()))",
		  "definer_function_bypasses_rls", "INSERT whose tenant column is not set" },
		{ "sql", "INSERT INTO orders (note, organization_id) VALUES ('a', app_current_org_id()), ('b', $1)",
		  "definer_function_bypasses_rls", "INSERT whose tenant column is not set" },
		{ "sql", "INSERT INTO orders (organization_id, note) VALUES ($1, 'x' || app_current_org_id()::text)",
		  "definer_function_bypasses_rls", "INSERT whose tenant column is not set" },
		{ "sql", "INSERT INTO orders (note) VALUES (app_current_org_id()::text)",
		  "definer_function_bypasses_rls", "INSERT whose tenant column is not set" },
		{ "sql", "INSERT INTO orders (note, organization_id) VALUES ('a', app_current_org_id()), ('b', app_current_org_id())",
		  NULL, NULL },
		{ "sql", "INSERT INTO orders (note, organization_id) SELECT name, (SELECT app_current_org_id()) FROM countries",
		  NULL, NULL },
		{ "sql", "INSERT INTO orders (note, organization_id) SELECT name, $1 FROM countries",
		  "definer_function_bypasses_rls", "INSERT whose tenant column is not set" },
		{ "sql", "SELECT * FROM countries WHERE EXISTS (SELECT 1 FROM orders)", "definer_function_bypasses_rls",
		  "touches orders as its owner (SELECT without a WHERE)" },
		{ "plpgsql", "DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM orders"
			     " WHERE organization_id = (SELECT app_current_org_id()); RETURN n; END", NULL, NULL },
		{ "plpgsql", "DECLARE n bigint; BEGIN IF EXISTS (SELECT 1 FROM countries) THEN"
			     " UPDATE orders SET id = id WHERE id = 1; END IF; RETURN 0; END",
		  "definer_function_bypasses_rls", "touches orders as its owner (UPDATE whose WHERE does not bind it" },
		{ "plpgsql", "BEGIN EXECUTE 'SELECT count(*) FROM ' || 'orders'; RETURN 0; END",
		  "definer_function_not_analysed", "SQL built at run time (EXECUTE)" },
		{ "plpython3u", "return 1", "definer_function_not_analysed", "LANGUAGE plpython3u" },
		/* Another table's tenant column binds only that table. */
		{ "sql", "SELECT a.* FROM orders a JOIN orders b ON true WHERE b.organization_id = (SELECT app_current_org_id())",
		  "definer_function_bypasses_rls", "SELECT whose WHERE does not bind it" },
		{ "sql", "SELECT o.* FROM orders o, (SELECT app_current_org_id() AS organization_id) x"
			 " WHERE x.organization_id = app_current_org_id()",
		  "definer_function_bypasses_rls", "SELECT whose WHERE does not bind it" },
		{ "sql", "SELECT o.* FROM orders o JOIN countries c ON true WHERE o.organization_id = app_current_org_id()",
		  NULL, NULL },
		/* Each arm of a set operation. */
		{ "sql", "SELECT * FROM orders WHERE organization_id = app_current_org_id() UNION ALL SELECT * FROM orders",
		  "definer_function_bypasses_rls", "SELECT without a WHERE" },
		{ "sql", "INSERT INTO orders (organization_id) VALUES (app_current_org_id())"
			 " ON CONFLICT (organization_id) DO UPDATE SET organization_id = excluded.organization_id",
		  "definer_function_bypasses_rls", "ON CONFLICT DO UPDATE" },
		/* A view of a schema verify does not read may read a tenant
		 * table as its owner: unseen, not bound; the system's are known. */
		{ "sql", "SELECT body FROM internal.notes_v WHERE id = $1", "definer_function_not_analysed",
		  "it reads internal.notes_v, which is not among what verify reads" },
		{ "sql", "SELECT count(*) FROM pg_catalog.pg_class", NULL, NULL },
		{ "sql", "SELECT * FROM crosstab('SELECT organization_id::text, 1, note FROM orders') AS ct(r text, c text)",
		  "definer_function_not_analysed", "it calls crosstab" },
		{ "sql", "SELECT query_to_xml('SELECT 1', true, false, '')", "definer_function_not_analysed",
		  "it calls query_to_xml" },
		{ "plpgsql", "DECLARE organization_id uuid := app_current_org_id(); n bigint; BEGIN"
			     " SELECT count(*) INTO n FROM orders o WHERE o.organization_id = app_current_org_id(); RETURN n; END",
		  "definer_function_not_analysed", "its variable organization_id has a tenant column's name" },
		{ "plpgsql", "DECLARE v text; BEGIN v := (SELECT string_agg(note, ',') FROM orders); RETURN 0; END",
		  "definer_function_bypasses_rls", "SELECT without a WHERE" },
	};
	struct gm_model m;
	size_t k;

	(void)state;
	/* A trigger function's INSERT writes the firing row's values, whose
	 * tenant its table's policy checked: not judged. */
	good_schema(&m);
	set_value(&m, "function public.org_count()", "definition",
		  "CREATE OR REPLACE FUNCTION public.org_count()\n RETURNS trigger\n LANGUAGE plpgsql\n SECURITY DEFINER\n"
		  " SET search_path TO 'pg_catalog', 'public'\nAS $function$BEGIN INSERT INTO public.orders (note)"
		  " VALUES (NEW.note); RETURN NEW; END$function$\n");
	assert_int_equal(count(&m, "definer_function_bypasses_rls", NULL, NULL), 0);
	/* Its reads are judged: NEW.src names any tenant's row. */
	set_value(&m, "function public.org_count()", "definition",
		  "CREATE OR REPLACE FUNCTION public.org_count()\n RETURNS trigger\n LANGUAGE plpgsql\n SECURITY DEFINER\n"
		  " SET search_path TO 'pg_catalog', 'public'\nAS $function$BEGIN NEW.note := (SELECT o.note FROM"
		  " public.orders o WHERE o.id = NEW.src); RETURN NEW; END$function$\n");
	assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.org_count()",
			       "SELECT whose WHERE does not bind it"), 1);
	/* Its ON CONFLICT DO UPDATE overwrites the row already there, any
	 * tenant's (NEW.id names another tenant's row). */
	set_value(&m, "function public.org_count()", "definition",
		  "CREATE OR REPLACE FUNCTION public.org_count()\n RETURNS trigger\n LANGUAGE plpgsql\n SECURITY DEFINER\n"
		  " SET search_path TO 'pg_catalog', 'public'\nAS $function$BEGIN INSERT INTO public.orders (id, note)"
		  " VALUES (NEW.id, NEW.note) ON CONFLICT (id) DO UPDATE SET note = excluded.note; RETURN NEW; END$function$\n");
	assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.org_count()", "ON CONFLICT DO UPDATE"), 1);
	gm_model_release(&m);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *def = gm_xasprintf("CREATE OR REPLACE FUNCTION public.org_count()\n RETURNS bigint\n LANGUAGE %s\n"
					 " SECURITY DEFINER\n SET search_path TO 'pg_catalog', 'public'\n"
					 "AS $function$%s$function$\n", cases[k].language, cases[k].body);
		size_t unbound, unseen;

		good_schema(&m);
		set_value(&m, "function public.org_count()", "definition", def);
		unbound = count(&m, "definer_function_bypasses_rls", "function public.org_count()",
				cases[k].rule && !strcmp(cases[k].rule, "definer_function_bypasses_rls") ? cases[k].message : NULL);
		unseen = count(&m, "definer_function_not_analysed", "function public.org_count()",
			       cases[k].rule && !strcmp(cases[k].rule, "definer_function_not_analysed") ? cases[k].message : NULL);
		if (unbound + unseen != (cases[k].rule ? 1u : 0u) ||
		    (cases[k].rule && (!strcmp(cases[k].rule, "definer_function_bypasses_rls") ? unbound : unseen) != 1))
			fail_msg("case %zu (%s): %zu unbound, %zu unseen", k, cases[k].body, unbound, unseen);
		gm_model_release(&m);
		/* The same body run as the caller is none of this rule's business. */
		good_schema(&m);
		set_value(&m, "function public.org_count()", "definition", def);
		set_value(&m, "function public.org_count()", "security_definer", "false");
		assert_int_equal(count(&m, "definer_function_bypasses_rls", NULL, NULL) +
				 count(&m, "definer_function_not_analysed", NULL, NULL), 0);
		gm_model_release(&m);
		free(def);
	}
}

/* A function a definer calls runs as the definer's owner, whatever its
 * own SECURITY: its statements count as the definer's. */
static void set_function(struct gm_model *m, const char *sig, const char *definer, const char *lang,
			 const char *body)
{
	char *object = gm_xasprintf("function public.%s", sig);
	char *def = gm_xasprintf("CREATE OR REPLACE FUNCTION public.%s\n RETURNS bigint\n LANGUAGE %s\n%s"
				 " SET search_path TO 'pg_catalog', 'public'\nAS $function$%s$function$\n",
				 sig, lang, strcmp(definer, "true") ? "" : " SECURITY DEFINER\n", body);

	set_value(m, object, "definition", def);
	set_value(m, object, "security_definer", definer);
	set_value(m, object, "config", "search_path=pg_catalog, public");
	free(object);
	free(def);
}

static void test_definer_calls_are_followed(void **state)
{
	static const struct {
		const char *caller, *helper;	/* bodies: the definer org_count(), invoker helper(org uuid) */
		int unbound;
		const char *message;
	} cases[] = {
		/* The leak: the helper reads any tenant's rows as the definer's owner. */
		{ "SELECT public.helper($1)", "SELECT count(*) FROM orders WHERE organization_id = org", 1,
		  "through public.helper(), which it calls and which runs as its owner too: SELECT whose WHERE" },
		{ "SELECT helper($1)", "SELECT count(*) FROM orders WHERE organization_id = org", 1, "through helper()" },
		/* From PL/pgSQL, in an expression and a PERFORM. */
		{ "plpgsql:BEGIN RETURN helper($1) + 1; END", "SELECT count(*) FROM orders", 1, "SELECT without a WHERE" },
		{ "plpgsql:BEGIN PERFORM helper($1); RETURN 1; END", "DELETE FROM orders", 1, "DELETE without a WHERE" },
		/* Two calls deep, and a recursive pair, end. */
		{ "SELECT helper($1)", "SELECT public.helper2(org)", 1, "through helper(), which it calls and which runs"
		  " as its owner too: through public.helper2()" },
		/* A helper bound to the tenant by itself is fine; so is a call
		 * of a function verify does not know (a built-in). */
		{ "SELECT helper($1)", "SELECT count(*) FROM orders WHERE organization_id = (SELECT app_current_org_id())",
		  0, NULL },
		{ "SELECT pg_catalog.length('x')", "SELECT count(*) FROM orders", 0, NULL },
		{ "SELECT public.other($1)", "SELECT count(*) FROM orders", 0, NULL },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		const char *caller = cases[k].caller;
		int plpgsql = !strncmp(caller, "plpgsql:", 8);
		size_t unbound;

		good_schema(&m);
		set_function(&m, "org_count()", "true", plpgsql ? "plpgsql" : "sql", plpgsql ? caller + 8 : caller);
		set_function(&m, "helper(org uuid)", "false", "sql", cases[k].helper);
		set_function(&m, "helper2(org uuid)", "false", "sql",
			     k == 4 ? "SELECT count(*) FROM orders WHERE organization_id = org + helper(org)" : "SELECT 1");
		gm_model_add(&m, "function public.other(org uuid)", "config", "");	/* known, but no definition */
		gm_model_sort(&m);
		unbound = count(&m, "definer_function_bypasses_rls", "function public.org_count()", cases[k].message);
		if (unbound != (size_t)cases[k].unbound)
			fail_msg("case %zu (%s -> %s): %zu unbound", k, caller, cases[k].helper, unbound);
		/* The helper alone is no definer: nothing of its own. */
		assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.helper(org uuid)", NULL), 0);
		gm_model_release(&m);
	}
}

/* CALL of a procedure is a call; a call into a schema verify does not
 * read, or nesting past GM_DEFINER_CALL_DEPTH, is unseen, never bound. */
static void test_definer_calls_the_judge_cannot_follow(void **state)
{
	struct gm_model m;
	char sig[32], body[64];

	(void)state;
	good_schema(&m);
	set_function(&m, "org_count()", "true", "plpgsql", "BEGIN CALL public.wipe($1); RETURN 1; END");
	set_function(&m, "wipe(org uuid)", "false", "sql", "DELETE FROM orders WHERE organization_id = org");
	assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.org_count()",
			       "through public.wipe(), which it calls"), 1);
	gm_model_release(&m);

	good_schema(&m);
	set_function(&m, "org_count()", "true", "sql", "SELECT internal.notes_count_of($1)");
	assert_int_equal(count(&m, "definer_function_not_analysed", "function public.org_count()",
			       "it calls internal.notes_count_of(), in a schema verify does not read"), 1);
	/* A system function is known not to read tenant rows. */
	set_function(&m, "org_count()", "true", "sql", "SELECT pg_catalog.length('x')");
	assert_int_equal(count(&m, "definer_function_not_analysed", NULL, NULL), 0);
	gm_model_release(&m);

	/* c0 calls c1 ... calls c9, which reads every tenant's orders. */
	good_schema(&m);
	set_function(&m, "org_count()", "true", "sql", "SELECT public.c0($1)");
	for (int k = 0; k < 10; k++) {
		snprintf(sig, sizeof(sig), "c%d(org uuid)", k);
		if (k < 9)
			snprintf(body, sizeof(body), "SELECT public.c%d(org)", k + 1);
		else
			snprintf(body, sizeof(body), "SELECT count(*) FROM orders");
		set_function(&m, sig, "false", "sql", body);
	}
	assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.org_count()", NULL), 0);
	assert_int_equal(count(&m, "definer_function_not_analysed", "function public.org_count()",
			       "its calls nest deeper than 8 functions"), 1);
	gm_model_release(&m);
}

/* What a definer's statements run besides calls, as its owner too: an
 * operator's or a cast's function, a function in attribute notation, and
 * what writing a table runs (its enabled triggers, defaults and checks). */
static void test_definer_reaches_are_followed(void **state)
{
	static const struct {
		const char *caller, *name;	/* the definer org_count()'s body; the finding, or NULL */
		const char *message;
	} cases[] = {
		{ "SELECT $1 ## 0", "definer_function_bypasses_rls",
		  "through operator ##, whose function runs as its owner too: SELECT whose WHERE" },
		{ "SELECT $1 OPERATOR(public.##) 0", "definer_function_bypasses_rls", "through operator public.##" },
		{ "SELECT $1 OPERATOR(internal.##) 0", "definer_function_not_analysed",
		  "it uses operator internal.##, of a schema verify does not read" },
		{ "SELECT ($1::org_stats).n", "definer_function_bypasses_rls", "through the cast to org_stats, whose function" },
		{ "SELECT (ROW($1)::public.who).helper", "definer_function_bypasses_rls", "through helper(), which it calls" },
		{ "SELECT w.helper FROM (SELECT ROW($1)::public.who AS w) x", "definer_function_bypasses_rls", "through helper()" },
		{ "INSERT INTO public.audit (id) VALUES (1)", "definer_function_bypasses_rls",
		  "through its writes to public.audit, whose triggers, defaults and checks run as its owner too: through" },
		{ "UPDATE audit SET id = 2 WHERE id = 1", "definer_function_bypasses_rls", "through its writes to audit" },
		/* Built-in operators and casts, and a table with nothing that runs. */
		{ "SELECT count(*) FROM orders WHERE organization_id = (SELECT app_current_org_id()) AND 1 < 2"
		  " AND '{}'::text[] IS NOT NULL", NULL, NULL },
		{ "INSERT INTO public.quiet (id) VALUES (1)", NULL, NULL },
	};
	static const char *const writes[][3] = {
		{ "table public.audit column n", "default", "public.helper(NULL::uuid)" },
		{ "table public.audit constraint positive", "definition", "CHECK ((public.helper(NULL::uuid) > 0)) NOT VALID" },
		{ "table public.audit trigger t", "definition",
		  "CREATE TRIGGER t BEFORE INSERT ON public.audit FOR EACH ROW EXECUTE FUNCTION helper()" },
	};

	(void)state;
	for (size_t w = 0; w < sizeof(writes) / sizeof(writes[0]); w++)
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct gm_model m;
			size_t n;

			good_schema(&m);
			set_function(&m, "org_count()", "true", "sql", cases[k].caller);
			set_function(&m, "helper(org uuid)", "false", "sql",
				     "SELECT count(*) FROM orders WHERE organization_id = org");
			gm_model_add(&m, "operator public.##(uuid,integer)", "function", "public.helper(org uuid)");
			gm_model_add(&m, "cast (uuid AS public.org_stats)", "function", "public.helper(org uuid)");
			gm_model_add(&m, "table public.audit", "row_security", "enabled");
			gm_model_add(&m, "table public.quiet", "row_security", "enabled");
			gm_model_add(&m, "table public.quiet column id", "default", "nextval('quiet_id_seq'::regclass)");
			gm_model_add(&m, writes[w][0], writes[w][1], writes[w][2]);
			gm_model_sort(&m);
			n = cases[k].name ? count(&m, cases[k].name, "function public.org_count()", cases[k].message)
					  : count(&m, "definer_function_bypasses_rls", NULL, NULL) +
					    count(&m, "definer_function_not_analysed", NULL, NULL);
			if (n != (cases[k].name ? 1u : 0u))
				fail_msg("case %zu (%s), %s: %zu findings", k, cases[k].caller, writes[w][0], n);
			gm_model_release(&m);
		}
}

static void set_trigger_function(struct gm_model *m, const char *name, const char *body)
{
	char *object = gm_xasprintf("function public.%s()", name);
	char *def = gm_xasprintf("CREATE OR REPLACE FUNCTION public.%s()\n RETURNS trigger\n LANGUAGE plpgsql\n"
				 "AS $function$%s$function$\n", name, body);

	set_value(m, object, "definition", def);
	set_value(m, object, "security_definer", "false");
	set_value(m, object, "config", "");
	free(object);
	free(def);
}

/* What a write reaches besides the table named: TRUNCATE's triggers,
 * partitions and inheriting tables (however deep), a view's INSTEAD OF
 * triggers, a name with a space; CASE and USING compare with =.  A
 * trigger reached from the definer's write judges its INSERTs (no
 * policy checked the firing row), and reads by NEW's tenant column as
 * the tenant only when that write bound it. */
static void test_definer_writes_reach_further(void **state)
{
	static const struct {
		const char *caller, *object, *attr, *value;
		int unbound;
	} cases[] = {
		{ "TRUNCATE public.audit", "table public.audit trigger t", "definition",
		  "CREATE TRIGGER t BEFORE TRUNCATE ON public.audit FOR EACH STATEMENT EXECUTE FUNCTION helper()", 1 },
		{ "INSERT INTO public.events (id) VALUES (1)", "table public.events_all trigger t", "definition",
		  "CREATE TRIGGER t BEFORE INSERT ON public.events_all FOR EACH ROW EXECUTE FUNCTION helper()", 1 },
		{ "UPDATE public.events SET id = 2", "table public.events_old trigger t", "definition",
		  "CREATE TRIGGER t BEFORE UPDATE ON public.events_old FOR EACH ROW EXECUTE FUNCTION helper()", 1 },
		{ "INSERT INTO public.inbox (id) VALUES (1)", "view public.inbox trigger i", "definition",
		  "CREATE TRIGGER i INSTEAD OF INSERT ON public.inbox FOR EACH ROW EXECUTE FUNCTION helper()", 1 },
		{ "INSERT INTO public.\"audit log\" (id) VALUES (1)", "table public.audit log trigger t", "definition",
		  "CREATE TRIGGER t BEFORE INSERT ON public.\"audit log\" FOR EACH ROW EXECUTE FUNCTION helper()", 1 },
		{ "SELECT CASE $1 WHEN $1 THEN 1 END", "operator public.=(uuid,uuid)", "function", "public.helper(org uuid)", 1 },
		{ "SELECT 1 FROM (SELECT $1 AS a) x JOIN (SELECT $1 AS a) y USING (a)", "operator public.=(uuid,uuid)",
		  "function", "public.helper(org uuid)", 1 },
		{ "SELECT $1 OPERATOR(public.##) 0", "operator public.##(uuid,integer)", "function", "public.helper(org uuid)", 1 },
		{ "SELECT ($1::\"OrgStats\").n", "cast (uuid AS public.OrgStats)", "function", "public.helper(org uuid)", 1 },
		/* The outbox's trigger writes the order into the tenant the
		 * caller named. */
		{ "INSERT INTO public.outbox (target) VALUES ($1)", "table public.outbox trigger deliver", "definition",
		  "CREATE TRIGGER deliver AFTER INSERT ON public.outbox FOR EACH ROW EXECUTE FUNCTION public.deliver()", 1 },
		/* A quota trigger counting the tenant's orders by NEW's tenant
		 * column, fired by a write bound to the tenant: fine... */
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger quota",
		  "definition", "CREATE TRIGGER quota BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.quota()", 0 },
		{ "UPDATE orders SET id = 2 WHERE organization_id = (SELECT app_current_org_id())", "table public.orders trigger quota",
		  "definition", "CREATE TRIGGER quota BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.quota()", 0 },
		/* ... but not when the UPDATE moves the row to the caller's
		 * choice of tenant. */
		{ "UPDATE orders SET organization_id = $1 WHERE organization_id = (SELECT app_current_org_id())",
		  "table public.orders trigger quota", "definition",
		  "CREATE TRIGGER quota BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.quota()", 1 },
		/* The same trigger reached by a bound write first, then by one
		 * that is not: judged again. */
		{ "UPDATE orders SET id = id WHERE organization_id = (SELECT app_current_org_id());"
		  " UPDATE orders SET organization_id = $1 WHERE organization_id = (SELECT app_current_org_id())",
		  "table public.orders trigger quota", "definition",
		  "CREATE TRIGGER quota BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.quota()", 1 },
		/* An assignment to the bound column still calls what it calls. */
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger t",
		  "definition", "CREATE TRIGGER t BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.assign()", 1 },
		/* An audit trigger writing NEW's or OLD's tenant, after a bound
		 * INSERT (OLD is NULL): fine. */
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger t",
		  "definition", "CREATE TRIGGER t AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.audit()", 0 },
		/* A CHECK printed with NO INHERIT is read; one NOT ENFORCED runs nothing. */
		{ "INSERT INTO public.audit (id) VALUES (1)", "table public.audit constraint c", "definition",
		  "CHECK ((public.helper(NULL::uuid) > 0)) NO INHERIT", 1 },
		{ "INSERT INTO public.audit (id) VALUES (1)", "table public.audit constraint c", "definition",
		  "CHECK ((public.helper(NULL::uuid) > 0)) NOT ENFORCED", 0 },
		/* A trigger setting NEW's tenant column: to the caller's choice,
		 * it moves the definer's row; to the tenant, it is fine. */
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger t",
		  "definition", "CREATE TRIGGER t BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.move()", 1 },
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger t",
		  "definition", "CREATE TRIGGER t BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.stamp()", 0 },
		{ "INSERT INTO orders (organization_id) VALUES ((SELECT app_current_org_id()))", "table public.orders trigger t",
		  "definition", "CREATE TRIGGER t BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.move_eq()", 1 },
		/* A write through an updatable view writes its table. */
		{ "INSERT INTO public.orders_w (organization_id) VALUES ((SELECT app_current_org_id()))",
		  "table public.orders trigger t", "definition",
		  "CREATE TRIGGER t BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION helper()", 1 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		size_t n;

		good_schema(&m);
		set_function(&m, "org_count()", "true", "sql", cases[k].caller);
		set_function(&m, "helper(org uuid)", "false", "sql", "SELECT count(*) FROM orders WHERE organization_id = org");
		set_trigger_function(&m, "deliver", "BEGIN INSERT INTO orders (organization_id) VALUES (NEW.target); RETURN NEW; END");
		set_trigger_function(&m, "quota", "BEGIN IF (SELECT count(*) FROM orders WHERE organization_id ="
				     " NEW.organization_id) > 10 THEN RAISE EXCEPTION 'quota'; END IF; RETURN NEW; END");
		set_trigger_function(&m, "assign", "BEGIN NEW.organization_id := coalesce(helper(NEW.x), NEW.organization_id);"
				     " RETURN NEW; END");
		set_trigger_function(&m, "audit", "BEGIN INSERT INTO orders (organization_id) VALUES"
				     " (coalesce(NEW.organization_id, OLD.organization_id)); RETURN NULL; END");
		gm_model_add(&m, "view public.orders_w", "reads", "public.orders");
		set_trigger_function(&m, "move", "BEGIN NEW.organization_id := NEW.target; RETURN NEW; END");
		set_trigger_function(&m, "move_eq", "BEGIN IF NEW.x THEN NEW.organization_id = NEW.target; END IF;"
				     " RETURN NEW; END");
		set_trigger_function(&m, "stamp", "BEGIN IF NEW.organization_id = NEW.organization_id THEN"
				     " NEW.organization_id := (SELECT app_current_org_id()); END IF; RETURN NEW; END");
		gm_model_add(&m, "table public.audit", "row_security", "enabled");
		gm_model_add(&m, "table public.audit log", "row_security", "enabled");
		gm_model_add(&m, "table public.outbox", "row_security", "enabled");
		gm_model_add(&m, "table public.events", "row_security", "enabled");
		gm_model_add(&m, "table public.events_all", "row_security", "enabled");
		gm_model_add(&m, "table public.events_all", "inherits", "public.events");
		gm_model_add(&m, "table public.events_old", "row_security", "enabled");
		gm_model_add(&m, "table public.events_old", "inherits", "public.other, public.events_all");
		gm_model_add(&m, "view public.inbox", "reads", "");
		gm_model_add(&m, cases[k].object, cases[k].attr, cases[k].value);
		gm_model_sort(&m);
		n = count(&m, "definer_function_bypasses_rls", "function public.org_count()", NULL);
		if (n != (size_t)cases[k].unbound)
			fail_msg("case %zu (%s): %zu findings", k, cases[k].caller, n);
		assert_int_equal(count(&m, "definer_function_not_analysed", NULL, NULL), 0);
		gm_model_release(&m);
	}
}

/* A tenant table inheriting from (or a partition of) a table that is no
 * tenant table: the parent's read shows its rows under the parent's
 * policies. */
static void test_inherited_tenant_table(void **state)
{
	static const struct {
		const char *table, *parents;
		size_t findings;
	} cases[] = {
		{ "public.orders", "internal.searchable", 1 },	/* outside the checked schemas */
		{ "public.orders", "public.countries", 1 },	/* a table without the tenant column */
		{ "public.orders", "public.orders_all", 0 },	/* a tenant table with policies of its own */
		{ "public.orders", "public.orders_all, public.countries", 1 },
		{ "public.countries", "internal.searchable", 0 },	/* no tenant rows to show */
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		char *object = gm_xasprintf("table %s", cases[k].table);

		good_schema(&m);
		gm_model_add(&m, "table public.orders_all", "row_security", "enabled");
		gm_model_add(&m, "table public.orders_all", "force_row_security", "forced");
		gm_model_add(&m, "table public.orders_all column organization_id", "type", "uuid");
		gm_model_add(&m, object, "inherits", cases[k].parents);
		gm_model_sort(&m);
		if (count(&m, "tenant_table_inherited", NULL, cases[k].findings ? "tenant table inherits from" : NULL) !=
		    cases[k].findings)
			fail_msg("case %zu: %s inherits %s", k, cases[k].table, cases[k].parents);
		gm_model_release(&m);
		free(object);
	}
}

/* A tenant table's trigger whose function notifies: every listener,
 * whatever its tenant, hears it. */
static void test_notifying_trigger(void **state)
{
	static const struct {
		const char *table, *body;
		size_t findings;
	} cases[] = {
		{ "public.orders", "BEGIN PERFORM pg_notify('orders', row_to_json(NEW)::text); RETURN NEW; END", 1 },
		{ "public.orders", "BEGIN NOTIFY orders_changed; RETURN NEW; END", 1 },
		{ "public.orders", "BEGIN PERFORM send_notify_email(NEW.id); RETURN NEW; END", 0 },
		{ "public.countries", "BEGIN PERFORM pg_notify('c', NEW.name); RETURN NEW; END", 0 },	/* no tenant rows */
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		char *object = gm_xasprintf("table %s trigger feed", cases[k].table);
		char *def = gm_xasprintf("CREATE TRIGGER feed AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION feed()",
					 cases[k].table);

		good_schema(&m);
		set_trigger_function(&m, "feed", cases[k].body);
		gm_model_add(&m, object, "definition", def);
		gm_model_sort(&m);
		if (count(&m, "tenant_trigger_notifies", NULL, cases[k].findings ? "sends a notification" : NULL) !=
		    cases[k].findings)
			fail_msg("case %zu: %s", k, cases[k].body);
		gm_model_release(&m);
		free(object);
		free(def);
	}
	/* Through a helper it calls, and the tcn extension's trigger. */
	{
		struct gm_model m;

		good_schema(&m);
		set_function(&m, "emit(ch text, msg text)", "false", "sql", " SELECT pg_catalog.pg_notify(ch, msg) ");
		set_trigger_function(&m, "feed", "BEGIN PERFORM public.emit('feed', NEW.note); RETURN NEW; END");
		gm_model_add(&m, "table public.orders trigger feed", "definition",
			     "CREATE TRIGGER feed AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION feed()");
		gm_model_sort(&m);
		assert_int_equal(count(&m, "tenant_trigger_notifies", "table public.orders trigger feed",
				       "sends a notification (itself or through what it calls)"), 1);
		gm_model_release(&m);
		good_schema(&m);
		gm_model_add(&m, "table public.orders trigger orders_tcn", "definition",
			     "CREATE TRIGGER orders_tcn AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION"
			     " triggered_change_notification()");
		gm_model_sort(&m);
		assert_int_equal(count(&m, "tenant_trigger_notifies", "table public.orders trigger orders_tcn", NULL), 1);
		gm_model_release(&m);
	}
}

/* A tenant table's trigger writing a declared-global table, itself or
 * through a helper: every tenant reads what it copies there, an UPDATE's
 * too; a table not declared global, a disabled trigger or a global
 * table's own trigger is none of this lint's business. */
static void test_trigger_writing_a_global_table(void **state)
{
	static const struct {
		const char *table, *body, *declared;
		int level;	/* -1: no finding */
	} cases[] = {
		{ "public.orders", "BEGIN INSERT INTO public.countries (name) VALUES (NEW.note); RETURN NEW; END",
		  "countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN INSERT INTO countries (name) VALUES (NEW.note); RETURN NEW; END",
		  "public.countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN PERFORM public.keep(NEW.note); RETURN NEW; END", "countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN MERGE INTO countries c USING (SELECT NEW.note AS n) s ON c.name = s.n"
		  " WHEN NOT MATCHED THEN INSERT (name) VALUES (s.n); RETURN NEW; END", "countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN UPDATE countries SET name = NEW.note WHERE name = 'x'; RETURN NEW; END",
		  "countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN UPDATE countries SET name = name WHERE name = 'x';"
		  " INSERT INTO countries (name) VALUES (NEW.note); RETURN NEW; END", "countries", GM_LEVEL_ERROR },
		{ "public.orders", "BEGIN INSERT INTO public.countries (name) VALUES (NEW.note); RETURN NEW; END",
		  "currencies", -1 },
		{ "public.orders", "BEGIN INSERT INTO other.countries (name) VALUES (NEW.note); RETURN NEW; END",
		  "public.countries", -1 },
		{ "public.orders", "BEGIN PERFORM count(*) FROM countries; RETURN NEW; END", "countries", -1 },
		{ "public.countries", "BEGIN INSERT INTO public.countries (name) VALUES ('x'); RETURN NEW; END",
		  "countries", -1 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		struct gm_tenancy t;
		struct gm_findings f = { NULL, 0, 0 };
		char *object = gm_xasprintf("table %s trigger copy", cases[k].table);
		char *def = gm_xasprintf("CREATE TRIGGER copy AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION copy()",
					 cases[k].table);
		size_t n = 0, j;

		good_schema(&m);
		gm_tenancy_defaults(&t);
		gm_strlist_add(&t.global_tables, cases[k].declared);
		set_function(&m, "keep(v text)", "false", "sql", " INSERT INTO public.countries (name) VALUES (v) ");
		set_trigger_function(&m, "copy", cases[k].body);
		gm_model_add(&m, object, "definition", def);
		gm_model_sort(&m);
		gm_lint_objects(&m, &t, &f);
		for (j = 0; j < f.n; j++) {
			if (strcmp(f.v[j].name, "tenant_trigger_writes_global"))
				continue;
			assert_string_equal(f.v[j].object, object);
			if ((int)f.v[j].level != cases[k].level || !strstr(f.v[j].message, "declared global"))
				fail_msg("case %zu: level %d: %s", k, (int)f.v[j].level, f.v[j].message);
			n++;
		}
		if (n != (cases[k].level < 0 ? 0u : 1u))
			fail_msg("case %zu (%s): %zu findings", k, cases[k].body, n);
		/* Disabled, it runs nothing. */
		set_value(&m, object, "enabled", "disabled");
		gm_findings_release(&f);
		gm_lint_objects(&m, &t, &f);
		for (j = 0; j < f.n; j++)
			if (!strcmp(f.v[j].name, "tenant_trigger_writes_global"))
				fail_msg("case %zu: a disabled trigger was judged", k);
		gm_findings_release(&f);
		gm_tenancy_release(&t);
		gm_model_release(&m);
		free(object);
		free(def);
	}
}

/* A disabled trigger runs nothing. */
static void test_definer_disabled_trigger(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	set_function(&m, "org_count()", "true", "sql", "INSERT INTO public.audit (id) VALUES (1)");
	set_function(&m, "helper(org uuid)", "false", "sql", "SELECT count(*) FROM orders WHERE organization_id = org");
	gm_model_add(&m, "table public.audit", "row_security", "enabled");
	gm_model_add(&m, "table public.audit trigger t", "definition",
		     "CREATE TRIGGER t BEFORE INSERT ON public.audit FOR EACH ROW EXECUTE FUNCTION helper()");
	gm_model_add(&m, "table public.audit trigger t", "enabled", "disabled");
	gm_model_sort(&m);
	assert_int_equal(count(&m, "definer_function_bypasses_rls", NULL, NULL), 0);
	set_value(&m, "table public.audit trigger t", "enabled", "always");
	assert_int_equal(count(&m, "definer_function_bypasses_rls", "function public.org_count()", "through helper()"), 1);
	gm_model_release(&m);
}

/* A policy letting rows in through another table: safe when the row's
 * column is a foreign key to a unique column there, else a warning when
 * another role may write that table. */
static void test_policy_links(void **state)
{
	static const struct {
		const char *using;
		size_t warned;
	} cases[] = {
		{ "(id IN ( SELECT f.order_id FROM follows f WHERE (f.organization_id = ( SELECT app_current_org_id()))))", 1 },
		{ "(EXISTS ( SELECT 1 FROM follows f WHERE ((f.order_id = orders.id) AND (f.organization_id ="
		  " ( SELECT app_current_org_id())))))", 1 },
		{ "(id = ANY (ARRAY( SELECT f.order_id FROM public.follows f WHERE (f.organization_id ="
		  " ( SELECT app_current_org_id())))))", 1 },
		/* The row's key is held by one row of follows: the one it names. */
		{ "(parent_id IN ( SELECT f.id FROM follows f WHERE (f.organization_id = ( SELECT app_current_org_id()))))", 0 },
		/* A table nobody else writes, and the policy's own table. */
		{ "(id IN ( SELECT c.id FROM countries c))", 0 },
		{ "(id IN ( SELECT o.id FROM orders o WHERE (o.organization_id = ( SELECT app_current_org_id()))))", 0 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_model m;
		size_t n;

		good_schema(&m);
		gm_model_add(&m, "table public.follows", "row_security", "enabled");
		gm_model_add(&m, "table public.follows column order_id", "type", "uuid");
		gm_model_add(&m, "table public.follows grant app_user", "privileges", "SELECT, INSERT");
		gm_model_add(&m, "table public.follows policy own", "command", "ALL");
		gm_model_add(&m, "table public.follows policy own", "permissive", "PERMISSIVE");
		gm_model_add(&m, "table public.follows index follows_pkey", "definition",
			     "CREATE UNIQUE INDEX follows_pkey ON public.follows USING btree (id)");
		gm_model_add(&m, "table public.orders constraint orders_parent_fkey", "definition",
			     "FOREIGN KEY (parent_id) REFERENCES follows(id)");
		gm_model_add(&m, "table public.orders constraint orders_parent_fkey", "references", "public.follows");
		gm_model_add(&m, "table public.orders policy p", "using", cases[k].using);
		gm_model_add(&m, "table public.orders policy p", "with_check", cases[k].using);
		gm_model_sort(&m);
		n = count(&m, "policy_link_writable", "table public.orders policy p",
			  cases[k].warned ? "names it (public.follows.order_id), and app_user may write public.follows" : NULL);
		if (n != cases[k].warned)
			fail_msg("case %zu (%s): %zu warnings", k, cases[k].using, n);
		/* Nobody but its owner writes follows: nothing to warn of. */
		set_value(&m, "table public.follows grant app_user", "privileges", "SELECT");
		assert_int_equal(count(&m, "policy_link_writable", NULL, NULL), 0);
		/* A grant of a column to write is a grant to write. */
		set_value(&m, "table public.follows column order_id grant app_user", "privileges", "INSERT");
		assert_int_equal(count(&m, "policy_link_writable", NULL, NULL), cases[k].warned);
		/* Its policies let no row be written (FOR SELECT only). */
		set_value(&m, "table public.follows policy own", "command", "SELECT");
		assert_int_equal(count(&m, "policy_link_writable", NULL, NULL), 0);
		/* A SECURITY DEFINER function writing it is a writer too, past
		 * its policies (its owner's rights), through what it calls; an
		 * ordinary function is not, nor one that only reads. */
		set_value(&m, "table public.follows column order_id grant app_user", "privileges", "SELECT");
		set_function(&m, "follow(o uuid)", "true", "sql", " SELECT count(*) FROM public.follows WHERE order_id = o ");
		assert_int_equal(count(&m, "policy_link_writable", NULL, NULL), 0);
		set_function(&m, "add_follow(o uuid)", "false", "sql",
			     " INSERT INTO public.follows (order_id, organization_id) VALUES (o, app_current_org_id()) ");
		assert_int_equal(count(&m, "policy_link_writable", NULL, NULL), 0);
		set_function(&m, "follow(o uuid)", "true", "sql", " SELECT public.add_follow(o) ");
		n = count(&m, "policy_link_writable", "table public.orders policy p",
			  cases[k].warned ? "and SECURITY DEFINER function public.follow(o uuid) writes public.follows as its"
					    " owner (through public.add_follow(), which it calls and which runs as its owner too: INSERT of it)"
					  : NULL);
		if (n != cases[k].warned)
			fail_msg("case %zu (%s), through a definer: %zu warnings", k, cases[k].using, n);
		gm_model_release(&m);
	}
	/* A linked table of a schema verify does not read: who may write it
	 * cannot be told, so it is said. */
	{
		struct gm_model m;

		good_schema(&m);
		gm_model_add(&m, "table public.orders policy p", "using",
			     "(id IN ( SELECT f.order_id FROM social.follows f WHERE (f.organization_id = ( SELECT app_current_org_id()))))");
		gm_model_sort(&m);
		assert_int_equal(count(&m, "policy_link_writable", "table public.orders policy p",
				       "in social.follows names it (order_id), in a schema verify does not read"), 1);
		gm_model_release(&m);
	}
}

/* A LEAKPROOF function of the schema's own runs before the policies. */
static void test_leakproof_functions(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	assert_int_equal(count(&m, "leakproof_function", NULL, NULL), 0);
	set_value(&m, "function public.plain()", "leakproof", "true");
	assert_int_equal(count(&m, "leakproof_function", "function public.plain()",
			       "the planner runs it on every tenant's rows before the policies"), 1);
	set_value(&m, "function public.plain()", "leakproof", "false");
	assert_int_equal(count(&m, "leakproof_function", NULL, NULL), 0);
	gm_model_release(&m);
}

/* A policy comparing with an operator neither built in nor an
 * extension's (the catalog lists them; none, no fact). */
static void test_policy_operators(void **state)
{
	struct gm_model m;

	(void)state;
	good_schema(&m);
	assert_int_equal(count(&m, "policy_operator_not_builtin", NULL, NULL), 0);
	set_value(&m, "table public.orders policy p", "operators", "=(uuid,text) owned by mallory");
	assert_int_equal(count(&m, "policy_operator_not_builtin", "table public.orders policy p",
			       "policy compares with =(uuid,text) owned by mallory"), 1);
	gm_model_release(&m);
}

/* ---- verify without a snapshot ---- */

static void skipped_sample(struct gm_verify_result *r)
{
	memset(r, 0, sizeof(*r));
	r->ran[GM_CHECK_HISTORY] = r->ran[GM_CHECK_RLS] = 1;
	r->skipped[GM_CHECK_SCHEMA] = 1;
	r->applied = 8;
}

static void test_skipped_schema_check_is_reported(void **state)
{
	struct gm_verify_result r;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	skipped_sample(&r);
	gm_report_verify_text(&r, "schema/snapshot.yaml", 1, &sb);
	assert_string_equal(sb.buf,
		"history: 8 applied, 0 pending - ok\n"
		"schema: skipped: no snapshot at schema/snapshot.yaml; write one with garage-migrate dump -o schema/snapshot.yaml\n"
		"rls: lints on tenant tables - ok\n"
		"verify passed: 0 errors, 0 warnings\n");
	gm_strbuf_reset(&sb);
	gm_report_verify_json(&r, "schema/snapshot.yaml", 1, &sb);
	assert_string_equal(sb.buf,
		"{\"format_version\":1,\"ok\":true,\"snapshot\":\"schema/snapshot.yaml\",\"checks\":["
		"{\"name\":\"history\",\"ok\":true,\"errors\":0,\"warnings\":0},"
		"{\"name\":\"schema\",\"ok\":false,\"skipped\":true,\"reason\":\"no snapshot at schema/snapshot.yaml; "
		"write one with garage-migrate dump -o schema/snapshot.yaml\"},"
		"{\"name\":\"rls\",\"ok\":true,\"errors\":0,\"warnings\":0}],"
		"\"findings\":[],\"summary\":{\"applied\":8,\"pending\":0,\"facts\":0,\"errors\":0,\"warnings\":0}}\n");
	gm_strbuf_reset(&sb);
	gm_report_verify_junit(&r, "schema/snapshot.yaml", &sb);
	assert_string_equal(sb.buf,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"garage-migrate verify\" tests=\"3\" failures=\"0\">\n"
		"  <testsuite name=\"history\" tests=\"1\" failures=\"0\">\n"
		"    <testcase classname=\"garage-migrate.history\" name=\"applied migrations match their files\"/>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"schema\" tests=\"1\" failures=\"0\" skipped=\"1\">\n"
		"    <testcase classname=\"garage-migrate.schema\" name=\"matches schema/snapshot.yaml\">"
		"<skipped message=\"no snapshot at schema/snapshot.yaml; write one with garage-migrate dump -o schema/snapshot.yaml\"/>"
		"</testcase>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"rls\" tests=\"1\" failures=\"0\">\n"
		"    <testcase classname=\"garage-migrate.rls\" name=\"tenant tables pass the RLS lints\"/>\n"
		"  </testsuite>\n"
		"</testsuites>\n");
	gm_strbuf_release(&sb);
	gm_verify_result_release(&r);
}

static void test_verdict(void **state)
{
	struct gm_verify_result r;

	(void)state;
	skipped_sample(&r);
	assert_true(gm_verify_passed(&r, 0));
	assert_false(gm_verify_passed(&r, 1));
	r.skipped[GM_CHECK_SCHEMA] = 0;
	r.ran[GM_CHECK_SCHEMA] = 1;
	assert_true(gm_verify_passed(&r, 1));
	gm_findings_add(&r.findings, GM_CHECK_RLS, "w", GM_LEVEL_WARNING, "x", NULL, "warning");
	assert_true(gm_verify_passed(&r, 0));
	assert_false(gm_verify_passed(&r, 1));
	gm_findings_add(&r.findings, GM_CHECK_RLS, "e", GM_LEVEL_ERROR, "x", NULL, "error");
	assert_false(gm_verify_passed(&r, 0));
	gm_verify_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_schema),
		cmocka_unit_test(test_grants_are_not_tables_to_the_rls_lints),
		cmocka_unit_test(test_public_grant_on_tenant_table),
		cmocka_unit_test(test_views_over_protected_tables),
		cmocka_unit_test(test_security_definer_search_path),
		cmocka_unit_test(test_definer_function_bodies),
		cmocka_unit_test(test_definer_calls_are_followed),
		cmocka_unit_test(test_definer_calls_the_judge_cannot_follow),
		cmocka_unit_test(test_definer_reaches_are_followed),
		cmocka_unit_test(test_definer_disabled_trigger),
		cmocka_unit_test(test_inherited_tenant_table),
		cmocka_unit_test(test_notifying_trigger),
		cmocka_unit_test(test_trigger_writing_a_global_table),
		cmocka_unit_test(test_definer_writes_reach_further),
		cmocka_unit_test(test_policy_links),
		cmocka_unit_test(test_leakproof_functions),
		cmocka_unit_test(test_policy_operators),
		cmocka_unit_test(test_bypass_grants_on_tenant_tables),
		cmocka_unit_test(test_views_through_other_schemas),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_skipped_schema_check_is_reported),
		cmocka_unit_test(test_verdict),
	};
	return cmocka_run_group_tests_name("lints on grants, views and functions; verify without a snapshot", tests, NULL, NULL);
}
