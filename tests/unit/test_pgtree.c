/* Unit tests: the shared libpg_query helpers (gm_pgtree.h).  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_pgtree.h"

static void test_parse_and_error_offset(void **state)
{
	struct gm_pgtree t;
	size_t cursor;
	char *why;

	(void)state;
	assert_null(gm_pgtree_parse("SELECT 1", &t, &cursor));
	assert_non_null(gm_pgtree_stmt(&t));
	assert_int_equal(gm_pgtree_stmt(&t)->node_case, PG_QUERY__NODE__NODE_SELECT_STMT);
	gm_pgtree_free(&t);
	/* The parser counts characters; the offset is in bytes: "é" is two. */
	why = gm_pgtree_parse("SELECT 'é' FORM t", &t, &cursor);
	assert_non_null(why);
	assert_null(t.pr);
	assert_int_equal(cursor, strlen("SELECT 'é' FORM "));	/* at t: FORM is an alias */
	free(why);
}

static int count_column_refs(void *ctx, const PgQuery__Node *n)
{
	if (n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF)
		(*(int *)ctx)++;
	return 0;
}

static int find_func(void *ctx, const PgQuery__Node *n)
{
	(void)ctx;
	return n->node_case == PG_QUERY__NODE__NODE_FUNC_CALL ? 7 : 0;
}

static void test_walk(void **state)
{
	struct gm_pgtree t;
	size_t cursor;
	int n = 0;

	(void)state;
	assert_null(gm_pgtree_parse("SELECT a, b FROM x WHERE c = (SELECT d FROM y)", &t, &cursor));
	assert_int_equal(gm_pgtree_walk(&t.pr->base, count_column_refs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(gm_pgtree_walk(&t.pr->base, find_func, NULL), 0);
	gm_pgtree_free(&t);
	assert_null(gm_pgtree_parse("SELECT 1 WHERE f(2)", &t, &cursor));
	assert_int_equal(gm_pgtree_walk(&t.pr->base, find_func, NULL), 7);
	gm_pgtree_free(&t);
}

static int plain_equal(const PgQuery__Node *a, const PgQuery__Node *b)
{
	return gm_pgtree_msg_equal(&a->base, &b->base, plain_equal);
}

static void test_equal_ignores_locations(void **state)
{
	struct gm_pgtree a, b, c;
	size_t cursor;

	(void)state;
	assert_null(gm_pgtree_parse("SELECT x = 1", &a, &cursor));
	assert_null(gm_pgtree_parse("SELECT    x   =   1", &b, &cursor));
	assert_null(gm_pgtree_parse("SELECT x = 2", &c, &cursor));
	assert_true(plain_equal(gm_pgtree_stmt(&a), gm_pgtree_stmt(&b)));
	assert_false(plain_equal(gm_pgtree_stmt(&a), gm_pgtree_stmt(&c)));
	gm_pgtree_free(&a);
	gm_pgtree_free(&b);
	gm_pgtree_free(&c);
}

static void test_deparse_expr(void **state)
{
	struct gm_pgtree t;
	size_t cursor;
	char *s;
	PgQuery__Node *where;

	(void)state;
	assert_null(gm_pgtree_parse("SELECT 1 FROM t WHERE is_public OR org = ( SELECT f() )", &t, &cursor));
	where = gm_pgtree_stmt(&t)->select_stmt->where_clause;
	s = gm_pgtree_deparse_expr(where);
	assert_string_equal(s, "is_public OR org = (SELECT f())");
	free(s);
	gm_pgtree_free(&t);
}

/* A tree too deep to walk on the stack is not analysed, and nothing
 * crashes: libpg_query's own packing of a 50,000-term sum overflowed 8 MB
 * of stack, and protobuf-c's unpacking of 4,500 terms did. */
static void test_deep_trees_are_refused(void **state)
{
	static const size_t terms[] = { 900, 4500, 50000 };
	struct gm_pgtree t;
	size_t cursor, k, j;

	(void)state;
	for (k = 0; k < sizeof(terms) / sizeof(terms[0]); k++) {
		char *sql = malloc(8 + 2 * terms[k] + 1), *why;
		memcpy(sql, "SELECT 1", 8);
		for (j = 0; j < terms[k]; j++)
			memcpy(sql + 8 + 2 * j, "+1", 2);
		sql[8 + 2 * terms[k]] = '\0';
		why = gm_pgtree_parse(sql, &t, &cursor);
		if (terms[k] < 1000) {
			assert_null(why);
		} else {
			assert_non_null(why);
			assert_non_null(strstr(why, "nested more than 2000 levels deep"));
			assert_null(t.pr);
		}
		gm_pgtree_free(&t);
		free(why);
		free(sql);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_error_offset),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_equal_ignores_locations),
		cmocka_unit_test(test_deparse_expr),
		cmocka_unit_test(test_deep_trees_are_refused),
	};
	return cmocka_run_group_tests_name("pgtree", tests, NULL, NULL);
}
