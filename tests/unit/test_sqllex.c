/* Unit tests: statement splitting, the way the server splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "gm_sqllex.h"
#include "gm_sqlstmt.h"

static size_t count(const char *sql)
{
	struct gm_sql_stmts s;
	const char *problem = NULL;
	size_t off = 0, n;

	if (gm_sql_split(sql, strlen(sql), &s, &problem, &off) != 0)
		fail_msg("unexpected lex error '%s' at %zu in: %s", problem, off, sql);
	n = s.n;
	gm_sql_stmts_free(&s);
	return n;
}

static void test_counts(void **state)
{
	(void)state;
	assert_int_equal(count(""), 0);
	assert_int_equal(count("  -- only a comment\n /* and another */ "), 0);
	assert_int_equal(count(";;  ;"), 0);	/* empty statements are skipped */
	assert_int_equal(count("SELECT 1"), 1);	/* no trailing ';' */
	assert_int_equal(count("SELECT 1; SELECT 2;"), 2);
	assert_int_equal(count("SELECT 'a;b'; SELECT 'it''s;';"), 2);
	assert_int_equal(count("SELECT E'a\\';b'; SELECT 2;"), 2);
	assert_int_equal(count("SELECT \"we;ird\" FROM t;"), 1);
	assert_int_equal(count("SELECT 1 -- ; not a statement\n; SELECT 2;"), 2);
	assert_int_equal(count("SELECT /* ; /* nested ; */ ; */ 1; SELECT 2;"), 2);
	assert_int_equal(count("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql; SELECT 3;"), 2);
	assert_int_equal(count("DO $body$ BEGIN PERFORM 1; END $body$; SELECT $1, $2;"), 2);
	assert_int_equal(count("SELECT $a$ $b$ ; $b$ $a$; SELECT 2;"), 2);
	assert_int_equal(count("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1;"), 2);
	assert_int_equal(count("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; SELECT 2;"), 2);
	assert_int_equal(count("SELECT foo$bar FROM t; SELECT 2;"), 2);
	/* A literal continued after a newline keeps its mode: an E'' one
	 * goes on taking backslash escapes, so \' does not end it, and the
	 * COMMIT below is a statement, as the server runs it. */
	assert_int_equal(count("SELECT E''\n'\\'' ; COMMIT ; -- '\nSELECT 1;"), 3);
	assert_int_equal(count("SELECT E'a' -- note\n  -- more\n\t'\\'; b'; SELECT 2;"), 2);
	assert_int_equal(count("SELECT 'a'\n'b;c'; SELECT 2;"), 2);
	/* No newline in between: two literals (a syntax error to the server),
	 * neither continuing the E mode. */
	assert_int_equal(count("SELECT E'a' '\\'; SELECT 2; --'"), 2);
}

static void test_offsets_and_words(void **state)
{
	const char *sql = "-- head\n  create table a (id int);\n\n/* c */ Commit;\nrollback to savepoint s;";
	struct gm_sql_stmts s;
	const char *problem = NULL;
	size_t off = 0;

	(void)state;
	assert_int_equal(gm_sql_split(sql, strlen(sql), &s, &problem, &off), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.v[0].start, 10);
	assert_string_equal(s.v[0].word1, "CREATE");
	assert_string_equal(s.v[0].word2, "TABLE");
	assert_false(gm_sql_is_txn_control(&s.v[0]));
	assert_string_equal(s.v[1].word1, "COMMIT");
	assert_true(gm_sql_is_txn_control(&s.v[1]));
	assert_memory_equal(sql + s.v[1].start, "Commit", 6);
	assert_false(gm_sql_is_txn_control(&s.v[2]));	/* ROLLBACK TO is fine */
	gm_sql_stmts_free(&s);
}

/* Index of the first statement that escapes the tool's transaction, or
 * -1 when none does. */
static long escape_at(const char *sql)
{
	struct gm_sql_stmts s;
	const char *problem = NULL, *why = NULL;
	size_t off = 0, k;
	long at;

	assert_int_equal(gm_sql_split(sql, strlen(sql), &s, &problem, &off), 0);

	k = gm_sql_txn_escape(sql, &s, &why);
	at = k < s.n ? (long)k : -1;
	if (at >= 0)
		assert_non_null(why);
	gm_sql_stmts_free(&s);
	return at;
}

static void test_transaction_escapes(void **state)
{
	(void)state;
	assert_int_equal(escape_at("CREATE TABLE a (id int); COMMIT; DROP TABLE precious;"), 1);
	assert_int_equal(escape_at("begin; select 1"), 0);
	assert_int_equal(escape_at("END"), 0);
	assert_int_equal(escape_at("ROLLBACK AND CHAIN"), 0);
	assert_int_equal(escape_at("PREPARE TRANSACTION 'x'"), 0);
	/* Savepoints the tool made (gm_down) or the transaction's: refused. */
	assert_int_equal(escape_at("RELEASE SAVEPOINT gm_down; DROP TABLE precious"), 0);
	assert_int_equal(escape_at("DROP TABLE t; RELEASE gm_down"), 1);
	assert_int_equal(escape_at("ROLLBACK TO SAVEPOINT gm_down"), 0);
	assert_int_equal(escape_at("ROLLBACK WORK TO gm_down"), 0);
	assert_int_equal(escape_at("SAVEPOINT a; ROLLBACK TO b"), 1);
	/* The tool's own names: a savepoint of that name would shadow one. */
	assert_int_equal(escape_at("DELETE FROM t; SAVEPOINT gm_step; DROP TABLE t"), 1);
	assert_int_equal(escape_at("SAVEPOINT GM_Step"), 0);
	assert_int_equal(escape_at("SAVEPOINT \"gm_x\""), 0);
	assert_int_equal(escape_at("SAVEPOINT \"GM_x\"; RELEASE \"GM_x\""), -1);
	/* Its own: fine, whatever the spelling, the case or the quoting. */
	assert_int_equal(escape_at("SAVEPOINT a; UPDATE t SET x = 1; ROLLBACK TO SAVEPOINT a; RELEASE a"), -1);
	assert_int_equal(escape_at("SAVEPOINT My_Sp; ROLLBACK TRANSACTION TO \"my_sp\"; RELEASE SAVEPOINT MY_SP"), -1);
	assert_int_equal(escape_at("SAVEPOINT \"Odd \"\"one\"; RELEASE \"Odd \"\"one\""), -1);
	assert_int_equal(escape_at("SAVEPOINT \"Odd\"; RELEASE odd"), 1);
	/* Words inside strings and comments are not statements. */
	assert_int_equal(escape_at("SELECT 'COMMIT; RELEASE x'; -- COMMIT\nSELECT 1"), -1);
	/* The parse tree names a savepoint exactly, escapes included ... */
	assert_int_equal(escape_at("SAVEPOINT U&\"\\0061\"; RELEASE a"), -1);
	assert_int_equal(escape_at("SAVEPOINT a; RELEASE U&\"\\0062\""), 1);
	/* ... and knows PREPARE of a statement from PREPARE TRANSACTION. */
	assert_int_equal(escape_at("PREPARE q AS SELECT 1; EXECUTE q"), -1);
	/* A statement the parser cannot read keeps the lexer's answer. */
	assert_int_equal(escape_at("SELECT 1; COMMIT AND SOMETHING NEWER"), 1);
	assert_int_equal(escape_at("SELECT JSON_ARRAY(1); SELECT 2"), -1);
}

static char *relations_of(const char *sql)
{
	struct gm_sql_stmts s;
	const char *problem = NULL;
	size_t off = 0;
	char *r;

	assert_int_equal(gm_sql_split(sql, strlen(sql), &s, &problem, &off), 0);
	assert_int_equal(s.n, 1);
	r = gm_sql_stmt_relations(sql, &s.v[0]);
	gm_sql_stmts_free(&s);
	return r;
}

/* The relations a statement names, for the lock-timeout explanation: the
 * parse tree's, not every word of the text. */
static void test_relations(void **state)
{
	char *r;

	(void)state;
	r = relations_of("ALTER TABLE public.orders ADD COLUMN note text DEFAULT 'users' -- busy\n");
	assert_string_equal(r, "{\"orders\"}");
	free(r);
	r = relations_of("CREATE INDEX CONCURRENTLY \"Idx\" ON t (a) WHERE b IN (SELECT c FROM u)");
	assert_string_equal(r, "{\"Idx\",\"t\",\"u\"}");
	free(r);
	r = relations_of("DROP INDEX CONCURRENTLY s.i1, i2");
	assert_string_equal(r, "{\"i1\",\"i2\"}");
	free(r);
	assert_null(relations_of("ALTER TABLE t SOMETHING NEWER"));
}

static void lex_fails(const char *sql, size_t expect_off, const char *what)
{
	struct gm_sql_stmts s;
	const char *problem = NULL;
	size_t off = 0;

	assert_int_equal(gm_sql_split(sql, strlen(sql), &s, &problem, &off), -1);
	assert_non_null(strstr(problem, what));
	assert_int_equal(off, expect_off);
	gm_sql_stmts_free(&s);
}

static void test_unterminated(void **state)
{
	(void)state;
	lex_fails("SELECT 1; SELECT 'x", 17, "quoted string");
	lex_fails("SELECT \"x", 7, "quoted identifier");
	lex_fails("SELECT $tag$ body $tga$;", 7, "dollar-quoted");
	lex_fails("SELECT 1 /* a /* b */", 9, "comment");
	lex_fails("SELECT E'\\'", 7, "quoted string");
}

/* Where the first row of sql ends for gm_sql_constant_rows_from: the
 * text up to and including first_row, or 0 for none; and the statement
 * parsed up to there must be the whole one less its later rows (checked
 * by the fuzz target's own property). */
static void rows(const char *sql, const char *first_row)
{
	size_t got = gm_sql_constant_rows_from(sql, 0, strlen(sql)), want = 0;

	if (first_row) {
		const char *at = strstr(sql, first_row);
		assert_non_null(at);
		want = (size_t)(at - sql) + strlen(first_row);
	}
	if (got != want)
		fail_msg("%s\n  want the first row to end at %zu, got %zu", sql, want, got);
	if (!gm_fuzz_rows_agree(sql, 0, strlen(sql)))
		fail_msg("%s\n  parsed up to its first row, the tree differs from the whole's", sql);
}

/* A seed migration's INSERT is parsed up to its first row (gm_sqlstmt.h):
 * only when every later row holds constants, which nothing analyses. */
static void test_constant_rows(void **state)
{
	(void)state;
	rows("INSERT INTO t VALUES (1, 'a'), (2, 'b');", "(1, 'a')");
	rows("insert into s.t (a, \"B\") values (now(), 1),\n (-2, NULL) , (- -3.5, TRUE), ('x'::text, false);",
	     "(now(), 1)");
	rows("INSERT INTO t VALUES (1), (E'it\\'s'), ($$a;b)$$), ($q$x$q$), ('{}'::pg_catalog.jsonb),"
	     " ('a'::\"My Type\") -- trailing\n;", "(1)");
	rows("INSERT INTO t VALUES ('a' /* c */), ('b'\n'c')", "('a' /* c */)");
	/* One row alone, or anything but constants after the first: parsed whole. */
	rows("INSERT INTO t VALUES (1);", NULL);
	rows("INSERT INTO t VALUES (1), (now());", NULL);
	rows("INSERT INTO t VALUES (1), (x);", NULL);
	rows("INSERT INTO t VALUES (1), ((SELECT 1));", NULL);
	rows("INSERT INTO t VALUES (1), (2::numeric(10, 2));", NULL);
	rows("INSERT INTO t VALUES (1), (DEFAULT);", NULL);
	rows("INSERT INTO t VALUES (1), (2) ON CONFLICT DO NOTHING;", NULL);
	rows("INSERT INTO t VALUES (1), (2) RETURNING id;", NULL);
	rows("INSERT INTO t VALUES (1), (2 3);", NULL);
	rows("INSERT INTO t VALUES (1), (2,);", NULL);
	/* The grammar folds a minus into a number only; a plus never; and
	 * -1::t is the minus operator on 1::t. */
	rows("INSERT INTO t VALUES (1), (+2);", NULL);
	rows("INSERT INTO t VALUES (1), (-'2');", NULL);
	rows("INSERT INTO t VALUES (1), (-1::int);", NULL);
	/* A cast of a cast is not a cast of a constant. */
	rows("INSERT INTO t VALUES (1), (1::int::text);", NULL);
	rows("INSERT INTO t VALUES (1), ('x'::text::regclass);", NULL);
	rows("INSERT INTO t VALUES (1), (1::int), (-1), (.5), (1.), (1.5e-3), (2E+10);", "(1)");
	/* Numbers as PostgreSQL 15 reads them, nothing stuck to them. */
	rows("INSERT INTO t VALUES (1), (1.2.3);", NULL);
	rows("INSERT INTO t VALUES (1), (0x1F);", NULL);
	rows("INSERT INTO t VALUES (1), (1isnull);", NULL);
	rows("INSERT INTO t VALUES (1), (1e);", NULL);
	rows("INSERT INTO t VALUES (1), (1..2);", NULL);
	rows("INSERT INTO t SELECT 1;", NULL);
	rows("WITH x AS (SELECT 1) INSERT INTO t VALUES (1), (2);", NULL);
	rows("INSERT INTO t VALUES (1), ('unterminated);", NULL);
	rows("UPDATE t SET a = 1;", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_offsets_and_words),
		cmocka_unit_test(test_transaction_escapes),
		cmocka_unit_test(test_relations),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_constant_rows),
	};
	return cmocka_run_group_tests_name("sql statement splitting", tests, NULL, NULL);
}
