/* Unit tests: SQL as PostgreSQL 15 and 18 print it, compared in a form
 * that does not depend on the major (gm_sqlform.h).  The pairs are what
 * pg_get_viewdef returned on each for the same view.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_model.h"
#include "gm_sqlform.h"

static void same(const char *a, const char *b, enum gm_sql_kind kind)
{
	if (!gm_sql_same(a, b, kind) || !gm_sql_same(b, a, kind))
		fail_msg("expected the same:\n%s\n%s", a, b);
}

static void differ(const char *a, const char *b, enum gm_sql_kind kind)
{
	if (gm_sql_same(a, b, kind) || gm_sql_same(b, a, kind))
		fail_msg("expected different:\n%s\n%s", a, b);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(gm_sql_kind_of("view public.v", "definition"), GM_SQL_STATEMENT);
	assert_int_equal(gm_sql_kind_of("materialized view public.v", "definition"), GM_SQL_STATEMENT);
	assert_int_equal(gm_sql_kind_of("function public.f()", "definition"), GM_SQL_STATEMENT);
	assert_int_equal(gm_sql_kind_of("table public.t index i", "definition"), GM_SQL_STATEMENT);
	assert_int_equal(gm_sql_kind_of("table public.t trigger g", "definition"), GM_SQL_STATEMENT);
	assert_int_equal(gm_sql_kind_of("table public.t constraint c", "definition"), GM_SQL_CONSTRAINT);
	assert_int_equal(gm_sql_kind_of("table public.t column c", "default"), GM_SQL_EXPR);
	assert_int_equal(gm_sql_kind_of("table public.t policy p", "using"), GM_SQL_EXPR);
	assert_int_equal(gm_sql_kind_of("table public.t policy p", "with_check"), GM_SQL_EXPR);
	assert_int_equal(gm_sql_kind_of("table public.t column c", "type"), GM_SQL_NONE);
	assert_int_equal(gm_sql_kind_of("enum public.e", "labels"), GM_SQL_NONE);
	assert_int_equal(gm_sql_kind_of("table public.t grant PUBLIC", "privileges"), GM_SQL_NONE);
}

/* 16 stopped qualifying the columns of a query that reads one relation. */
static void test_views_as_15_and_18_print_them(void **state)
{
	(void)state;
	same(" SELECT notes.id,\n    notes.tenant_id,\n    notes.body\n   FROM notes;",
	     " SELECT id,\n    tenant_id,\n    body\n   FROM notes;", GM_SQL_STATEMENT);
	same(" SELECT o.org,\n    count(*) AS count\n   FROM o\n  GROUP BY o.org;",
	     " SELECT org,\n    count(*) AS count\n   FROM o\n  GROUP BY org;", GM_SQL_STATEMENT);
	/* An alias; a subquery reading one relation, with a column of the
	 * enclosing query that must keep its qualifier. */
	same(" SELECT x.id\n   FROM o x\n  WHERE (x.org IN ( SELECT o.org\n           FROM o\n"
	     "          WHERE (o.id > x.id)))\n  ORDER BY x.id;",
	     " SELECT id\n   FROM o x\n  WHERE (org IN ( SELECT o.org\n           FROM o\n"
	     "          WHERE (o.id > x.id)))\n  ORDER BY id;", GM_SQL_STATEMENT);
	same(" SELECT a.id\n   FROM a\n  WHERE (EXISTS ( SELECT 1\n           FROM b\n          WHERE (b.id = a.id)));",
	     " SELECT id\n   FROM a\n  WHERE (EXISTS ( SELECT 1\n           FROM b\n          WHERE (b.id = a.id)));",
	     GM_SQL_STATEMENT);
	/* A join needs its qualifiers: both majors print them. */
	same(" SELECT a.id,\n    b.y\n   FROM (a\n     JOIN b ON ((a.id = b.id)));",
	     "SELECT a.id, b.y FROM (a JOIN b ON ((a.id = b.id)));", GM_SQL_STATEMENT);
}

static void test_real_changes_still_differ(void **state)
{
	(void)state;
	differ(" SELECT notes.id,\n    notes.body\n   FROM notes;", " SELECT id,\n    tenant_id\n   FROM notes;",
	       GM_SQL_STATEMENT);
	differ(" SELECT id\n   FROM notes;", " SELECT id\n   FROM other_notes;", GM_SQL_STATEMENT);
	/* The outer query's column is not the subquery's own. */
	differ(" SELECT a.id\n   FROM a\n  WHERE (EXISTS ( SELECT 1\n           FROM b\n          WHERE (b.id = a.id)));",
	       " SELECT a.id\n   FROM a\n  WHERE (EXISTS ( SELECT 1\n           FROM b\n          WHERE (b.id = b.id)));",
	       GM_SQL_STATEMENT);
	/* A column of another relation in a join keeps its qualifier. */
	differ("SELECT a.id FROM (a JOIN b ON ((a.id = b.id)))", "SELECT b.id FROM (a JOIN b ON ((a.id = b.id)))",
	       GM_SQL_STATEMENT);
	differ("(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))",
	       "((organization_id = ( SELECT app_current_org_id() AS app_current_org_id)) OR is_public)", GM_SQL_EXPR);
	differ("CHECK (((progress >= 0) AND (progress <= 100)))", "CHECK (((progress >= 0) AND (progress <= 10)))",
	       GM_SQL_CONSTRAINT);
	differ("'a'::text", "'b'::text", GM_SQL_EXPR);
	/* Not SQL: text. */
	differ("true", "TRUE", GM_SQL_NONE);
	differ("", "x", GM_SQL_EXPR);
}

static void test_spelling_and_parentheses(void **state)
{
	(void)state;
	same("CHECK (((progress >= 0) AND (progress <= 100)))", "CHECK (progress >= 0 AND progress <= 100)",
	     GM_SQL_CONSTRAINT);
	same("(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))",
	     "organization_id = (SELECT app_current_org_id() AS app_current_org_id)", GM_SQL_EXPR);
	same("CREATE INDEX idx ON public.t USING btree (org)", "CREATE INDEX idx ON public.t USING btree (org)",
	     GM_SQL_STATEMENT);
}

/* Syntax PostgreSQL 15's grammar (Debian's libpg_query) does not know
 * has no form: it is compared as text, never an error. */
static void test_newer_syntax_is_text(void **state)
{
	char *f;

	(void)state;
	assert_null(gm_sql_form("CHECK ((x > 0)) NOT ENFORCED", GM_SQL_CONSTRAINT));
	assert_null(gm_sql_form("SELECT 1; SELECT 2", GM_SQL_STATEMENT));	/* not one statement */
	assert_null(gm_sql_form("1); DROP TABLE t; SELECT (1", GM_SQL_EXPR));
	assert_null(gm_sql_form("x", GM_SQL_NONE));
	same("CHECK ((x > 0)) NOT ENFORCED", "CHECK ((x > 0)) NOT ENFORCED", GM_SQL_CONSTRAINT);
	differ("CHECK ((x > 0)) NOT ENFORCED", "CHECK (x > 0) NOT ENFORCED", GM_SQL_CONSTRAINT);
	f = gm_sql_form(" SELECT notes.id\n   FROM notes;", GM_SQL_STATEMENT);
	assert_non_null(f);
	assert_string_equal(f, "SELECT id FROM notes");
	free(f);
}

/* The diff uses the forms: a view printed by 15 and by 18 is no finding. */
static void test_diff_uses_the_forms(void **state)
{
	struct gm_model e, f;
	struct gm_diffs d;

	(void)state;
	memset(&e, 0, sizeof(e));
	memset(&f, 0, sizeof(f));
	gm_model_add(&e, "view public.v", "definition", " SELECT notes.id\n   FROM notes;");
	gm_model_add(&f, "view public.v", "definition", " SELECT id\n   FROM notes;");
	gm_model_add(&e, "view public.w", "definition", " SELECT notes.id\n   FROM notes;");
	gm_model_add(&f, "view public.w", "definition", " SELECT id\n   FROM notes\n  WHERE false;");
	gm_model_diff(&e, &f, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].object, "view public.w");
	gm_diffs_release(&d);
	gm_model_release(&e);
	gm_model_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_views_as_15_and_18_print_them),
		cmocka_unit_test(test_real_changes_still_differ),
		cmocka_unit_test(test_spelling_and_parentheses),
		cmocka_unit_test(test_newer_syntax_is_text),
		cmocka_unit_test(test_diff_uses_the_forms),
	};
	return cmocka_run_group_tests_name("printed SQL across majors", tests, NULL, NULL);
}
