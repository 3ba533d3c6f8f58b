/* Integration tests: hostile YAML migrations.  An alias bomb or a deeply
 * nested file is refused with file:line:col before anything connects
 * (issue 11, item 5), and an enum label built to end its literal early
 * under standard_conforming_strings = off stays a label (item 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_strbuf.h"
#include "pgtest.h"

/* 1-based line and column of the first byte of needle in text (ASCII). */
static char *position_of(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *p;
	unsigned line = 1, col = 1;

	if (!hit)
		fail_msg("'%s' not in the test input", needle);
	for (p = text; p < hit; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return gm_xasprintf("%u:%u", line, col);
}

/* The report's shape: one anchored table of N policies, each the same
 * anchored policy of N roles, referenced from N tables.  12.5 KB that made
 * list build some 500 MB of SQL. */
static char *alias_bomb(void)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	gm_strbuf_adds(&sb, "rls:\n  t0: &T\n    policies:\n      p0: &P {command: SELECT, roles: [");
	for (k = 0; k < 60; k++)
		gm_strbuf_addf(&sb, "%sr%d_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", k ? ", " : "", k);
	gm_strbuf_adds(&sb, "], using: \"true\"}\n");
	for (k = 1; k < 400; k++)
		gm_strbuf_addf(&sb, "      p%d: *P\n", k);
	for (k = 1; k < 400; k++)
		gm_strbuf_addf(&sb, "  t%d: *T\n", k);
	return gm_strbuf_detach(&sb, NULL);
}

/* list (and up) on a folder holding text: exit 6 with expect on stderr,
 * and nothing ran: the files are checked before anything connects. */
static void refused(const char *text, const char *expect)
{
	char *db = pgt_create_db("gm_yl_bomb"), *dir = tfs_tempdir(), *out, *err, *where;
	PGconn *c = pgt_connect(db);

	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	tfs_write(dir, "0002_bomb.yaml", text);
	where = gm_xasprintf("%s/0002_bomb.yaml:%s", dir, expect);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 6);
	assert_contains(err, where);
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 6);
	assert_contains(err, where);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('t')::text"));
	PQfinish(c);
	free(where);
	tfs_rmdir(dir);
	free(db);
}

static void test_list_refuses_an_alias_bomb(void **state)
{
	char *bomb = alias_bomb(), *at = position_of(bomb, "*T\n  t4");
	char *expect = gm_xasprintf("%s: error: alias '*T' expands the migration past 100000 nodes", at);

	(void)state;
	refused(bomb, expect);
	free(expect);
	free(at);
	free(bomb);
}

static void test_list_refuses_deep_nesting(void **state)
{
	char *deep = gm_xmalloc(200001);

	(void)state;
	memset(deep, '[', 200000);
	deep[200000] = '\0';
	refused(deep, "1:65: error: mappings and lists nested deeper than 64 levels");
	free(deep);
}

/* ---- literals under standard_conforming_strings = off ---- */

static const char hostile_label[] = "\\'); DROP TABLE victim; --";

/* A database whose sessions start with standard_conforming_strings = off,
 * holding a table the label would drop. */
static char *scs_off_db(void)
{
	char *db = pgt_create_db("gm_yl_scs"), *sql = gm_xasprintf(
		"ALTER DATABASE \"%s\" SET standard_conforming_strings = off", db);
	PGconn *c = pgt_connect("postgres");

	pgt_exec(c, sql);
	PQfinish(c);
	free(sql);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, "SELECT (current_setting('standard_conforming_strings') = 'off')::int"), 1);
	pgt_exec(c, "CREATE TABLE victim (id int); INSERT INTO victim VALUES (1)");
	PQfinish(c);
	return db;
}

/* victim still holds its row and Mood's first label is label. */
static void assert_label_stayed_a_label(const char *db, const char *label)
{
	PGconn *c = pgt_connect(db);
	char *got;

	assert_false(pgt_is_null(c, "SELECT to_regclass('victim')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM victim"), 1);
	got = pgt_value(c, "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
			   " WHERE t.typname = 'Mood' ORDER BY e.enumsortorder LIMIT 1");
	assert_non_null(got);
	assert_string_equal(got, label);
	free(got);
	PQfinish(c);
}

/* The YAML file: enums: Mood: ["<label>", ok], the label escaped for a
 * double-quoted YAML string. */
static char *mood_yaml(const char *label)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_strbuf_adds(&sb, "enums:\n  Mood: [\"");
	for (const char *p = label; *p; p++) {
		if (*p == '\\' || *p == '"')
			gm_strbuf_addch(&sb, '\\');
		gm_strbuf_addch(&sb, *p);
	}
	gm_strbuf_adds(&sb, "\", ok]\n");
	return gm_strbuf_detach(&sb, NULL);
}

static void test_hostile_label_through_the_tool(void **state)
{
	char *db = scs_off_db(), *dir = tfs_tempdir(), *yaml = mood_yaml(hostile_label), *out, *err;

	(void)state;
	tfs_write(dir, "0001_mood.yaml", yaml);
	if (pgt_gm_dir(&out, &err, db, dir, "up") != 0)
		fail_msg("up failed:\n%s%s", out, err);
	free(out);
	free(err);
	assert_label_stayed_a_label(db, hostile_label);
	tfs_rmdir(dir);
	free(yaml);
	free(db);
}

/* The generated SQL on its own, sent by a plain session that kept the
 * database's setting: safe without the tool's session settings. */
static struct gm_migration *parse_mood(const char *label)
{
	char *yaml = mood_yaml(label);
	struct gm_migration *m = NULL;
	struct gm_error *err = gm_migration_parse("0001_mood.yaml", "0001_mood.yaml", yaml, strlen(yaml), &m);

	if (err)
		fail_msg("%s", err->msg);
	return m;
}

static void test_generated_sql_is_safe_on_its_own(void **state)
{
	char *db = scs_off_db();
	struct gm_migration *m = parse_mood(hostile_label);
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, m->up.sql);
	PQfinish(c);
	assert_label_stayed_a_label(db, hostile_label);
	gm_migration_free(m);
	free(db);
}

/* Nor can a client encoding whose two-byte characters may end in 0x5c:
 * read as SJIS, the UTF-8 of U+0101 ends in a lead byte that takes the
 * next byte, so an escaping backslash (E'...\\...') would be eaten and the
 * quote after it would end the literal.  The server refuses \' in such
 * encodings only while backslash_quote is safe_encoding, a setting a
 * database can change; psql splits the statements itself and runs the
 * DROP either way.  A dollar-quoted label has no escape to eat: the label
 * turns into other characters, and that is all. */
static void test_generated_sql_under_a_multibyte_client_encoding(void **state)
{
	static const char label[] = "\xc4\x81\\'); DROP TABLE victim; --";
	char *db = scs_off_db();
	struct gm_migration *m = parse_mood(label);
	PGconn *c = pgt_connect(db);
	PGresult *r;

	(void)state;
	pgt_exec(c, "SET client_encoding = 'SJIS'; SET backslash_quote = on");
	r = PQexec(c, m->up.sql);
	PQclear(r);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM victim"), 1);
	PQfinish(c);
	gm_migration_free(m);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_refuses_an_alias_bomb),
		cmocka_unit_test(test_list_refuses_deep_nesting),
		cmocka_unit_test(test_hostile_label_through_the_tool),
		cmocka_unit_test(test_generated_sql_is_safe_on_its_own),
		cmocka_unit_test(test_generated_sql_under_a_multibyte_client_encoding),
	};
	return cmocka_run_group_tests_name("hostile YAML migrations", tests, NULL, NULL);
}
