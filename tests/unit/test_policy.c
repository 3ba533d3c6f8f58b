/* Unit tests: policy expressions judged by their parse tree (libpg_query),
 * as pg_get_expr prints them.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_policy.h"
#include "gm_tenancy.h"

static struct gm_policy_judge *judge_for(struct gm_tenancy *t, const char *column, const char *expr)
{
	struct gm_policy_judge *j;

	gm_tenancy_defaults(t);
	if (column) {
		gm_strlist_release(&t->columns);
		gm_strlist_add(&t->columns, column);
	}
	if (expr) {
		free(t->expression);
		t->expression = strdup(expr);
	}
	assert_null(gm_policy_judge_new(t, &j));
	return j;
}

typedef enum gm_bound (*judge_fn)(const struct gm_policy_judge *, const char *, char **);

static void expect_by(judge_fn judge, const struct gm_policy_judge *j, const char *expr, enum gm_bound want,
		      const char *branch)
{
	char *b = NULL;
	enum gm_bound got = judge(j, expr, &b);

	if (got != want)
		fail_msg("%s: verdict %d, expected %d (%s)", expr, got, want, b ? b : "-");
	if (branch)
		assert_string_equal(b, branch);
	free(b);
}

static void expect(const struct gm_policy_judge *j, const char *expr, enum gm_bound want, const char *branch)
{
	expect_by(gm_policy_judge, j, expr, want, branch);
}

static void expect_read(const struct gm_policy_judge *j, const char *expr, enum gm_bound want, const char *branch)
{
	expect_by(gm_policy_judge_read, j, expr, want, branch);
}

/* A read policy may also let shared rows through, by a public-read column
 * (is_public, is_system by default) AND-ed into the branch. */
static void test_read_policies(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, NULL, NULL);

	(void)state;
	expect_read(j, "(is_public OR is_system OR (organization_id = ( SELECT app_current_org_id() AS app_current_org_id)))",
		    GM_BOUND, NULL);
	expect_read(j, "((is_public = true) OR (organization_id = app_current_org_id()))", GM_BOUND, NULL);
	expect_read(j, "((true = is_system) OR (is_public IS TRUE))", GM_BOUND, NULL);
	expect_read(j, "((is_public AND (status = 'archived'::text)))", GM_BOUND, NULL);
	/* A data-dependent branch, or a public-read column negated, widened
	 * or compared with false, reads other tenants' rows. */
	expect_read(j, "((organization_id = app_current_org_id()) OR (status = 'archived'::text))",
		    GM_UNBOUND, "status = 'archived'::text");
	expect_read(j, "(NOT is_public)", GM_UNBOUND, "NOT is_public");
	expect_read(j, "((is_public = false) OR (organization_id = app_current_org_id()))", GM_UNBOUND, "is_public = false");
	expect_read(j, "(is_public IS NOT FALSE)", GM_UNBOUND, "is_public IS NOT FALSE");
	expect_read(j, "(is_private OR (organization_id = app_current_org_id()))", GM_UNBOUND, "is_private");
	expect_read(j, "true", GM_UNBOUND, "true");
	/* A write judge never takes a shared-row branch. */
	expect(j, "(is_public OR (organization_id = app_current_org_id()))", GM_UNBOUND, "is_public");
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

/* AI Garage's conventions, as pg_get_expr prints its policies. */
static void test_default_tenancy(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, NULL, NULL);

	(void)state;
	expect(j, "(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))", GM_BOUND, NULL);
	expect(j, "(organization_id = app_current_org_id())", GM_BOUND, NULL);
	expect(j, "(app_current_org_id() = t.organization_id)", GM_BOUND, NULL);
	/* The original specification's hole: a public-row branch in a write policy. */
	expect(j, "((organization_id = ( SELECT app_current_org_id() AS app_current_org_id)) OR (is_public = true))",
	       GM_UNBOUND, "is_public = true");
	expect(j, "((is_system OR (organization_id = ( SELECT app_current_org_id() AS app_current_org_id))))",
	       GM_UNBOUND, "is_system");
	expect(j, "true", GM_UNBOUND, "true");
	/* A child table through its parent (AI Garage's build_logs). */
	expect(j, "(order_id = ANY (ARRAY( SELECT o.id FROM custom_agent_orders o"
		  " WHERE (o.organization_id = ( SELECT app_current_org_id() AS app_current_org_id)))))", GM_BOUND, NULL);
	expect(j, "(order_id IN ( SELECT o.id FROM custom_agent_orders o WHERE (o.status = 'x'::text)))", GM_UNBOUND, NULL);
	expect(j, "(order_id = ANY (ARRAY( SELECT o.id FROM custom_agent_orders o)))", GM_UNBOUND, NULL);
	/* A subquery tied to the tenant but not to the row: true for every
	 * row whenever the tenant has one. */
	expect(j, "(1 IN ( SELECT 1 FROM organizations o WHERE (o.id = app_current_org_id())))", GM_UNBOUND, NULL);
	expect(j, "(true = ANY (ARRAY( SELECT true FROM organizations o WHERE (o.id = app_current_org_id()))))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE (m.organization_id = app_current_org_id())))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE ((m.organization_id = app_current_org_id())"
		  " AND (m.project_id = projects.id))))", GM_BOUND, NULL);
	/* AND: one bound condition is enough; NOT never binds. */
	expect(j, "((organization_id = ( SELECT app_current_org_id() AS app_current_org_id)) AND (status <> 'x'::text))",
	       GM_BOUND, NULL);
	expect(j, "(NOT (organization_id <> app_current_org_id()))", GM_UNBOUND, NULL);
	/* The tenant expression on another column, or another function. */
	expect(j, "(created_by_id = ( SELECT app_current_org_id() AS app_current_org_id))", GM_UNBOUND, NULL);
	expect(j, "(organization_id = other_org_id())", GM_UNBOUND, NULL);
	/* Names in a string are not code. */
	expect(j, "((organization_id)::text = 'app_current_org_id()'::text)", GM_UNBOUND, NULL);
	expect(j, "(organization_id = (", GM_UNPARSED, NULL);
	assert_true(gm_policy_mentions_tenant(j, "(x = app_current_org_id())"));
	assert_false(gm_policy_mentions_tenant(j, "(note = 'app_current_org_id'::text)"));
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

/* The false error: a correct policy on another setting, once the
 * project says that is the tenant expression. */
static void test_current_setting_tenancy(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, "tenant_id", "current_setting('app.org', true)::uuid");

	(void)state;
	expect(j, "(tenant_id = (current_setting('app.org'::text, true))::uuid)", GM_BOUND, NULL);
	expect(j, "(tenant_id = (current_setting('app.other'::text, true))::uuid)", GM_UNBOUND, NULL);
	expect(j, "(organization_id = (current_setting('app.org'::text, true))::uuid)", GM_UNBOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

/* Supabase: the tenant from the JWT, or membership through auth.uid(). */
static void test_supabase_tenancy(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, "tenant_id", "((auth.jwt() ->> 'org_id'))::uuid");

	(void)state;
	expect(j, "(tenant_id = ((auth.jwt() ->> 'org_id'::text))::uuid)", GM_BOUND, NULL);
	expect(j, "(tenant_id = ((auth.jwt() ->> 'sub'::text))::uuid)", GM_UNBOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);

	j = judge_for(&t, "tenant_id", "auth.uid()");
	expect(j, "(tenant_id IN ( SELECT m.tenant_id FROM memberships m WHERE (m.user_id = auth.uid())))", GM_BOUND, NULL);
	expect(j, "(tenant_id = ANY (ARRAY( SELECT m.tenant_id FROM memberships m WHERE (m.user_id = auth.uid()))))",
	       GM_BOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE ((m.tenant_id = notes.tenant_id) AND (m.user_id = ( SELECT auth.uid() AS uid)))))",
	       GM_BOUND, NULL);
	/* The tenant's ids handed to a column that is not the row's tenant
	 * column: the writer picks id, and any tenant_id with it. */
	expect(j, "(id IN ( SELECT m.tenant_id FROM memberships m WHERE (m.user_id = auth.uid())))", GM_UNBOUND, NULL);
	expect(j, "(id = ANY (ARRAY( SELECT m.tenant_id FROM memberships m WHERE (m.user_id = auth.uid()))))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE ((m.tenant_id = notes.id) AND (m.user_id = auth.uid()))))",
	       GM_UNBOUND, NULL);
	/* A parent's key goes with the row's foreign key, whatever its name. */
	expect(j, "(note_id IN ( SELECT n.id FROM notes n WHERE (n.tenant_id = auth.uid())))", GM_BOUND, NULL);
	/* Membership of anyone, or of the user in anything: not bound. */
	expect(j, "(tenant_id IN ( SELECT m.tenant_id FROM memberships m))", GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE (m.user_id = auth.uid())))", GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM memberships WHERE (user_id = auth.uid())))", GM_UNBOUND, NULL);
	/* The row named but tied to nothing, or an anchor that always holds. */
	expect(j, "(EXISTS ( SELECT 1 FROM tenants t WHERE ((t.id = auth.uid()) AND (notes.tenant_id IS NOT NULL))))",
	       GM_UNBOUND, NULL);
	expect(j, "(tenant_id IN ( SELECT tenants.id FROM tenants WHERE (auth.uid() = auth.uid())))", GM_UNBOUND, NULL);
	/* A derived table makes up the values it is judged by. */
	expect(j, "(tenant_id IN ( SELECT notes.tenant_id FROM ( SELECT auth.uid() AS u) me WHERE (me.u = auth.uid())))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM ( SELECT auth.uid() AS tenant_id, notes.id AS x) me"
		  " WHERE ((me.tenant_id = auth.uid()) AND (me.x = notes.id))))", GM_UNBOUND, NULL);
	/* A bare name is the subquery's own column when its table has one:
	 * "m.tenant_id = tenant_id" compares m's column with itself (the
	 * classic leak), so only a qualified outer column ties the row. */
	expect(j, "(EXISTS ( SELECT 1 FROM memberships m WHERE ((m.tenant_id = tenant_id) AND (m.user_id = auth.uid()))))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM notes n WHERE ((n.id = note_id) AND (n.tenant_id = auth.uid()))))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM notes n WHERE ((n.id = note_comments.note_id) AND (n.tenant_id = auth.uid()))))",
	       GM_BOUND, NULL);
	/* With more than one relation, the anchor must be on the relation
	 * the subquery hands over (or tied to it by equalities): here me is
	 * the user, and t any tenant whose name matches. */
	expect(j, "(tenant_id IN ( SELECT t.id FROM tenants t, tenants me WHERE ((me.id = auth.uid()) AND (t.name ~~ 'acme%'::text))))",
	       GM_UNBOUND, NULL);
	expect(j, "(tenant_id = ANY (ARRAY( SELECT t.id FROM tenants t, tenants me WHERE ((me.id = auth.uid()) AND (t.name ~~ 'acme%'::text)))))",
	       GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM tenants t, tenants me WHERE ((me.id = auth.uid()) AND (t.id = notes.tenant_id)"
		  " AND ((t.id = me.id) OR (t.name ~~ 'acme%'::text)))))", GM_UNBOUND, NULL);
	expect(j, "(tenant_id IN ( SELECT id FROM tenants t, tenants me WHERE (me.id = auth.uid())))", GM_UNBOUND, NULL);
	/* Tied by a join's ON or the WHERE, in steps: bound. */
	expect(j, "(tenant_id IN ( SELECT m.tenant_id FROM (memberships m JOIN users u ON ((u.id = m.user_id)))"
		  " WHERE (u.id = auth.uid())))", GM_BOUND, NULL);
	expect(j, "(tenant_id IN ( SELECT t.id FROM tenants t, memberships m, users u WHERE ((m.tenant_id = t.id)"
		  " AND (u.id = m.user_id) AND (u.id = auth.uid()))))", GM_BOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM tenants t, memberships m WHERE ((t.id = notes.tenant_id) AND (m.tenant_id = t.id)"
		  " AND (m.user_id = auth.uid()))))", GM_BOUND, NULL);
	/* Not tied through the row, which the writer picks; not by an outer
	 * join's ON; an EXISTS tie of another column than the row's tenant
	 * column says nothing of its tenant. */
	expect(j, "(tenant_id IN ( SELECT t.id FROM tenants t, tenants me WHERE ((me.id = auth.uid()) AND (t.id = notes.tenant_id)"
		  " AND (notes.created_by = me.id))))", GM_UNBOUND, NULL);
	expect(j, "(tenant_id IN ( SELECT t.id FROM ((tenants me CROSS JOIN tenants t) LEFT JOIN tenants x ON (((x.id = t.id)"
		  " AND (x.id = me.id)))) WHERE (me.id = auth.uid())))", GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM tenants t, tenants me WHERE ((me.id = notes.created_by) AND (t.id = notes.tenant_id)"
		  " AND (me.id = auth.uid()))))", GM_UNBOUND, NULL);
	expect(j, "(EXISTS ( SELECT 1 FROM users u, tenants t WHERE ((u.id = notes.created_by) AND (u.id = auth.uid())"
		  " AND (t.id = notes.tenant_id))))", GM_UNBOUND, NULL);
	/* = ANY (ARRAY(...)) over a derived table makes up its values. */
	expect(j, "(tenant_id = ANY (ARRAY( SELECT x.id FROM ( SELECT tenants.id, auth.uid() AS u FROM tenants) x"
		  " WHERE (x.u = auth.uid()))))", GM_UNBOUND, NULL);
	/* The anchor in an inner join's ON, and JOIN ... USING: bound. */
	expect(j, "(tenant_id IN ( SELECT m.tenant_id FROM (memberships m JOIN users u ON (((u.id = m.user_id)"
		  " AND (u.auth_id = auth.uid()))))))", GM_BOUND, NULL);
	expect(j, "(tenant_id IN ( SELECT m.tenant_id FROM (memberships m JOIN users u USING (user_id))"
		  " WHERE (u.auth_id = auth.uid())))", GM_BOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

/* A cast that maps many values to one (a length, char, name, a float)
 * does not bind a row to its tenant: tenants whose ids share the first
 * character would read each other's rows.  Value-keeping casts do. */
static void test_casts_that_lose_values(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, "tenant_id", "auth.uid()");

	(void)state;
	expect(j, "((tenant_id)::text = (auth.uid())::text)", GM_BOUND, NULL);
	expect(j, "(((tenant_id)::text)::uuid = auth.uid())", GM_BOUND, NULL);
	expect(j, "(((tenant_id)::text)::character varying = ((auth.uid())::text)::character varying)", GM_BOUND, NULL);
	expect(j, "(((tenant_id)::text)::character varying(1) = ((auth.uid())::text)::character varying(1))",
	       GM_UNBOUND, NULL);
	expect(j, "(((tenant_id)::text)::character(1) = ((auth.uid())::text)::bpchar)", GM_UNBOUND, NULL);
	expect(j, "(((tenant_id)::text)::name = ((auth.uid())::text)::name)", GM_UNBOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

/* The tenant expression's function is that one, not another schema's of
 * the same name: the catalog prints a function of the searched schemas
 * (tenancy.schemas) unqualified, any other with its schema. */
static void test_functions_of_another_schema(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = judge_for(&t, NULL, NULL);

	(void)state;
	expect(j, "(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))", GM_BOUND, NULL);
	expect(j, "(organization_id = ( SELECT public.app_current_org_id() AS app_current_org_id))", GM_BOUND, NULL);
	expect(j, "(organization_id = ( SELECT evil.app_current_org_id() AS app_current_org_id))", GM_UNBOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);

	j = judge_for(&t, "tenant_id", "auth.uid()");
	expect(j, "(tenant_id = auth.uid())", GM_BOUND, NULL);
	expect(j, "(tenant_id = uid())", GM_UNBOUND, NULL);
	expect(j, "(tenant_id = public.uid())", GM_UNBOUND, NULL);
	gm_policy_judge_free(j);
	gm_tenancy_release(&t);
}

static void test_bad_tenant_expression(void **state)
{
	struct gm_tenancy t;
	struct gm_policy_judge *j = NULL;
	struct gm_error *err;

	(void)state;
	gm_tenancy_defaults(&t);
	free(t.expression);
	t.expression = strdup("1); DROP TABLE x; SELECT (1");
	err = gm_policy_judge_new(&t, &j);
	assert_non_null(err);
	assert_null(j);
	assert_non_null(strstr(err->msg, "the tenant expression 1); DROP TABLE x; SELECT (1 does not parse"));
	gm_error_free(err);
	gm_tenancy_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_tenancy),
		cmocka_unit_test(test_read_policies),
		cmocka_unit_test(test_current_setting_tenancy),
		cmocka_unit_test(test_supabase_tenancy),
		cmocka_unit_test(test_casts_that_lose_values),
		cmocka_unit_test(test_functions_of_another_schema),
		cmocka_unit_test(test_bad_tenant_expression),
	};
	return cmocka_run_group_tests_name("policy analysis", tests, NULL, NULL);
}
