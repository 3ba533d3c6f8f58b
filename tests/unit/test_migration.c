/* Unit tests: migration names, ordering, duplicates, sections, checksums
 * and position mapping.  No database. */
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
#include "testfs.h"

/* Parses text as file "<name>"; returns the error (or NULL) and the
 * migration through *out. */
static struct gm_error *parse(const char *name, const char *text, size_t len,
			      struct gm_migration **out)
{
	char *copy = gm_xmalloc(len + 1);

	memcpy(copy, text, len);
	copy[len] = '\0';
	return gm_migration_parse(name, name, copy, len, out);
}

static struct gm_migration *parse_ok(const char *name, const char *text)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse(name, text, strlen(text), &m);

	if (err)
		fail_msg("unexpected error: %s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	return m;
}

/* Expects an input error at line:col whose message contains what. */
static void parse_fails(const char *text, size_t len, unsigned line, unsigned col,
			const char *what)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse("0001_x.sql", text, len, &m);

	assert_non_null(err);
	assert_null(m);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, "0001_x.sql");
	if (!strstr(err->msg, what))
		fail_msg("message '%s' lacks '%s'", err->msg, what);
	assert_int_equal(err->line, line);
	assert_int_equal(err->col, col);
	gm_error_free(err);
}

static void test_name_parsing(void **state)
{
	unsigned long long v;
	char *vt, *name;
	enum gm_format f;
	const char *why;

	(void)state;
	assert_int_equal(gm_migration_parse_name("0003_create_orders.sql", &v, &vt, &name, &f, &why), 0);
	assert_int_equal(v, 3);
	assert_string_equal(vt, "0003");
	assert_string_equal(name, "create_orders");
	assert_int_equal(f, GM_FORMAT_SQL);
	free(vt);
	free(name);

	assert_int_equal(gm_migration_parse_name("20261124120000_add-x.yaml", &v, &vt, &name, &f, &why), 0);
	assert_true(v == 20261124120000ULL);
	assert_int_equal(f, GM_FORMAT_YAML);
	free(vt);
	free(name);

	assert_int_equal(gm_migration_parse_name("create_users.sql", &v, &vt, &name, &f, &why), -1);
	assert_non_null(strstr(why, "version"));
	assert_int_equal(gm_migration_parse_name("0001-create.sql", &v, &vt, &name, &f, &why), -1);
	assert_int_equal(gm_migration_parse_name("0001_.sql", &v, &vt, &name, &f, &why), -1);
	assert_int_equal(gm_migration_parse_name("0001_x.txt", &v, &vt, &name, &f, &why), -1);
	assert_int_equal(gm_migration_parse_name("0001_a b.sql", &v, &vt, &name, &f, &why), -1);
	assert_int_equal(gm_migration_parse_name("1234567890123456789_x.sql", &v, &vt, &name, &f, &why), -1);
	assert_non_null(strstr(why, "18 digits"));
}

/* ---- folders ---- */

static void test_ordering_is_numeric(void **state)
{
	char *dir = tfs_tempdir();
	struct gm_migration_set *set = NULL;
	struct gm_error *err;

	(void)state;
	tfs_write(dir, "10_ten.sql", "SELECT 10;");
	tfs_write(dir, "9_nine.sql", "SELECT 9;");
	tfs_write(dir, "0002_two.sql", "SELECT 2;");
	tfs_write(dir, "20261124120000_stamp.sql", "SELECT 3;");
	tfs_write(dir, "README.md", "not a migration");
	tfs_write(dir, ".hidden.sql", "ignored");
	err = gm_migration_set_load(dir, &set);
	assert_null(err);
	assert_int_equal(set->n, 4);
	assert_string_equal(set->v[0]->filename, "0002_two.sql");
	assert_string_equal(set->v[1]->filename, "9_nine.sql");
	assert_string_equal(set->v[2]->filename, "10_ten.sql");
	assert_string_equal(set->v[3]->filename, "20261124120000_stamp.sql");
	gm_migration_set_free(set);
	tfs_rmdir(dir);
}

static void test_duplicate_versions(void **state)
{
	char *dir = tfs_tempdir();
	struct gm_migration_set *set = NULL;
	struct gm_error *err;

	(void)state;
	tfs_write(dir, "0001_a.sql", "SELECT 1;");
	tfs_write(dir, "1_b.sql", "SELECT 1;");
	err = gm_migration_set_load(dir, &set);
	assert_non_null(err);
	assert_null(set);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_non_null(strstr(err->msg, "duplicate version 1"));
	/* Both files are named: one as the error's file, one in the text. */
	assert_true((strstr(err->file, "0001_a.sql") && strstr(err->msg, "1_b.sql")) ||
		    (strstr(err->file, "1_b.sql") && strstr(err->msg, "0001_a.sql")));
	gm_error_free(err);
	tfs_rmdir(dir);
}

static void test_bad_name_in_folder(void **state)
{
	char *dir = tfs_tempdir();
	struct gm_migration_set *set = NULL;
	struct gm_error *err;

	(void)state;
	tfs_write(dir, "0001_a.sql", "SELECT 1;");
	tfs_write(dir, "create_b.sql", "SELECT 1;");
	err = gm_migration_set_load(dir, &set);
	assert_non_null(err);
	assert_non_null(strstr(err->file, "create_b.sql"));
	assert_non_null(strstr(err->msg, "bad migration file name"));
	gm_error_free(err);
	tfs_rmdir(dir);
}

static void test_missing_folder(void **state)
{
	struct gm_migration_set *set = NULL;
	struct gm_error *err = gm_migration_set_load("/nonexistent/migrations", &set);

	(void)state;
	assert_non_null(err);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, "/nonexistent/migrations");
	gm_error_free(err);
}

/* ---- sections ---- */

static void test_no_markers_is_up_only(void **state)
{
	struct gm_migration *m = parse_ok("0001_x.sql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n");

	(void)state;
	assert_false(m->has_down);
	assert_true(m->transactional);
	assert_int_equal(m->up.stmts.n, 2);
	assert_string_equal(m->up.sql, "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n");
	gm_migration_free(m);
}

static void test_up_and_down_sections(void **state)
{
	struct gm_migration *m = parse_ok("0001_x.sql",
		"-- a comment about the file\n"
		"\n"
		"-- garage:up\n"
		"CREATE TABLE a (id int);\n"
		"  --   garage:down   \n"
		"DROP TABLE a;\n");

	(void)state;
	assert_string_equal(m->up.sql, "CREATE TABLE a (id int);\n");
	assert_true(m->has_down);
	assert_string_equal(m->down.sql, "DROP TABLE a;\n");
	assert_int_equal(m->up.stmts.n, 1);
	gm_migration_free(m);
}

static void test_down_without_up_marker(void **state)
{
	struct gm_migration *m = parse_ok("0001_x.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");

	(void)state;
	assert_string_equal(m->up.sql, "CREATE TABLE a (id int);\n");
	assert_string_equal(m->down.sql, "DROP TABLE a;\n");
	gm_migration_free(m);
}

static void test_no_transaction_marker(void **state)
{
	struct gm_migration *m = parse_ok("0001_x.sql",
		"-- garage:no-transaction\n-- garage:up\nCREATE INDEX CONCURRENTLY i ON t (a);\n");

	(void)state;
	assert_false(m->transactional);
	gm_migration_free(m);
}

static void test_section_errors(void **state)
{
	const char *t;

	(void)state;
	t = "-- garage:up\nSELECT 1;\n-- garage:dwon\nSELECT 2;\n";
	parse_fails(t, strlen(t), 3, 1, "unknown garage directive");
	t = "-- garage:up\nSELECT 1;\n-- garage:up\n";
	parse_fails(t, strlen(t), 3, 1, "second -- garage:up");
	t = "SELECT 0;\n-- garage:up\nSELECT 1;\n";
	parse_fails(t, strlen(t), 1, 1, "SQL before the -- garage:up marker");
	t = "SELECT 1;\n-- garage:down\nSELECT 2;\n-- garage:down\n";
	parse_fails(t, strlen(t), 4, 1, "second -- garage:down");
	t = "-- garage:down\nDROP TABLE a;\n-- garage:up\nSELECT 1;\n";
	parse_fails(t, strlen(t), 3, 1, "-- garage:up after -- garage:down");
	t = "-- garage:up\n-- nothing here\n\n-- garage:down\nDROP TABLE a;\n";
	parse_fails(t, strlen(t), 1, 1, "holds no SQL statement");
	t = "-- garage:up\nCREATE TABLE a (id int);\n\n   COMMIT;\n";
	parse_fails(t, strlen(t), 4, 4, "transaction control");
	t = "-- garage:up\nBEGIN;\nSELECT 1;\n";
	parse_fails(t, strlen(t), 2, 1, "transaction control");
}

static void test_bad_text(void **state)
{
	const char *t;

	(void)state;
	parse_fails("", 0, 0, 0, "empty file");
	parse_fails("SELECT 1;\nSE\0ECT 2;\n", 20, 2, 3, "NUL byte");
	t = "SELECT 1;\nSELECT '\xc3\xa9', '\xff';\n";
	parse_fails(t, strlen(t), 2, 14, "invalid UTF-8");
	t = "SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; \n";
	parse_fails(t, strlen(t), 2, 36, "unterminated dollar-quoted string");
	t = "SELECT 1;\n  SELECT 'abc;\n";
	parse_fails(t, strlen(t), 2, 10, "unterminated quoted string");
	t = "SELECT 1; /* open\n";
	parse_fails(t, strlen(t), 1, 11, "unterminated /* comment");
}

/* ---- checksums ---- */

static void test_checksum_normalisation(void **state)
{
	const char *lf = "-- garage:up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n";
	const char *crlf = "-- garage:up\r\nCREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n-- garage:down\r\nDROP TABLE b;\r\n";
	const char *bom = "\xEF\xBB\xBF-- garage:up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n";
	const char *edited = "-- garage:up\nCREATE TABLE a (id int);\nCREATE TABLE b (id  int);\n-- garage:down\nDROP TABLE b;\n";
	const char *down_edit = "-- garage:up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b CASCADE;\n";
	struct gm_migration *a = parse_ok("0001_x.sql", lf), *b = parse_ok("0001_x.sql", crlf),
			    *c = parse_ok("0001_x.sql", bom), *d = parse_ok("0001_x.sql", edited),
			    *e = parse_ok("0001_x.sql", down_edit);

	(void)state;
	assert_int_equal(strlen(a->checksum), GM_CHECKSUM_LEN);
	assert_memory_equal(a->checksum, "sha256:", 7);
	assert_string_equal(a->checksum, b->checksum);
	assert_string_equal(a->checksum, c->checksum);
	assert_string_not_equal(a->checksum, d->checksum);
	/* Only the up part is hashed (documented in garage-migrate(5)). */
	assert_string_equal(a->checksum, e->checksum);
	/* And it is exactly SHA-256 of the normalised up text. */
	{
		char expect[GM_CHECKSUM_LEN + 1];
		const char *up = "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n";
		assert_null(gm_checksum(up, strlen(up), expect));
		assert_string_equal(a->checksum, expect);
	}
	gm_migration_free(a);
	gm_migration_free(b);
	gm_migration_free(c);
	gm_migration_free(d);
	gm_migration_free(e);
}

static void test_sha256_vector(void **state)
{
	char out[GM_CHECKSUM_LEN + 1];

	(void)state;
	assert_null(gm_checksum("abc", 3, out));
	assert_string_equal(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_null(gm_checksum("", 0, out));
	assert_string_equal(out, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- position mapping ---- */

static void test_locate_after_multibyte(void **state)
{
	/* "é" and "→" are multi-byte: the column counts characters. */
	const char *text = "-- garage:up\nCREATE TABLE é (id int);\n-- café → bar\nCREATE TABLE t (ïd int, x intt);\n";
	struct gm_migration *m = parse_ok("0001_x.sql", text);
	const char *hit = strstr(m->up.sql, "intt");
	unsigned line, col;
	char *src = NULL;

	(void)state;
	gm_migration_locate(m, &m->up, (size_t)(hit - m->up.sql), &line, &col, &src);
	assert_int_equal(line, 4);
	assert_int_equal(col, 27);
	assert_string_equal(src, "CREATE TABLE t (ïd int, x intt);");
	free(src);
	/* Statement starts map too (used when the server gives no position). */
	gm_migration_locate(m, &m->up, m->up.stmts.v[1].start, &line, &col, NULL);
	assert_int_equal(line, 4);
	assert_int_equal(col, 1);
	gm_migration_free(m);
}

static void test_locate_with_crlf_and_bom(void **state)
{
	const char *text = "\xEF\xBB\xBF-- garage:up\r\nSELECT 1;\r\n  SELECT nope;\r\n";
	struct gm_migration *m = parse_ok("0001_x.sql", text);
	const char *hit = strstr(m->up.sql, "nope");
	unsigned line, col;

	(void)state;
	gm_migration_locate(m, &m->up, (size_t)(hit - m->up.sql), &line, &col, NULL);
	assert_int_equal(line, 3);
	assert_int_equal(col, 10);
	gm_migration_free(m);
}

static void test_next_version(void **state)
{
	char *v;

	(void)state;
	v = gm_migration_next_version(0, NULL, "20261125120000");
	assert_string_equal(v, "0001");
	free(v);
	v = gm_migration_next_version(8, "0008", "20261125120000");
	assert_string_equal(v, "0009");
	free(v);
	v = gm_migration_next_version(9999, "9999", "20261125120000");
	assert_string_equal(v, "10000");
	free(v);
	v = gm_migration_next_version(7, "7", "20261125120000");
	assert_string_equal(v, "8");
	free(v);
	/* Timestamps: now, unless the newest is already in the future. */
	v = gm_migration_next_version(20261101000000ULL, "20261101000000", "20261125120000");
	assert_string_equal(v, "20261125120000");
	free(v);
	v = gm_migration_next_version(20301101000000ULL, "20301101000000", "20261125120000");
	assert_string_equal(v, "20301101000001");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parsing),
		cmocka_unit_test(test_ordering_is_numeric),
		cmocka_unit_test(test_duplicate_versions),
		cmocka_unit_test(test_bad_name_in_folder),
		cmocka_unit_test(test_missing_folder),
		cmocka_unit_test(test_no_markers_is_up_only),
		cmocka_unit_test(test_up_and_down_sections),
		cmocka_unit_test(test_down_without_up_marker),
		cmocka_unit_test(test_no_transaction_marker),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_checksum_normalisation),
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test(test_locate_after_multibyte),
		cmocka_unit_test(test_locate_with_crlf_and_bom),
		cmocka_unit_test(test_next_version),
	};
	return cmocka_run_group_tests_name("migration files", tests, NULL, NULL);
}
