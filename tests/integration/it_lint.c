/* Integration tests: garage-migrate lint and the lint before up, against a
 * real PostgreSQL: table sizes from the catalog set the level, up stops
 * before anything is sent, pending migrations, project-file levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gm_strbuf.h"
#include "pgtest.h"

/* A large table (past the 100,000-row line, analysed) and a small one.
 * The statistics' live rows are reset after ANALYZE: the INSERT's counts
 * reach them when the session flushes (up to a second later), on top of
 * what ANALYZE set, and the lint takes the larger of the two estimates
 * (the table's rows would count twice).  Reset, they are 0 or the rows. */
static void make_tables(PGconn *c)
{
	pgt_exec(c, "CREATE TABLE big (id bigint PRIMARY KEY, total int, note text)");
	pgt_exec(c, "INSERT INTO big SELECT g, g, 'x' FROM generate_series(1, 150000) g");
	pgt_exec(c, "ANALYZE big");
	pgt_exec(c, "CREATE TABLE small (id int PRIMARY KEY, total int)");
	pgt_exec(c, "INSERT INTO small VALUES (1, 1), (2, 2), (3, 3)");
	pgt_exec(c, "ANALYZE small");
	pgt_exec(c, "SELECT pg_stat_reset_single_table_counters(t::regclass) FROM (VALUES ('big'), ('small')) v(t)");
}

static void test_sizes_set_the_level(void **state)
{
	char *db = pgt_create_db("gm_lint_size"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	make_tables(c);
	tfs_write(dir, "0001_types.sql", "SET LOCAL lock_timeout = '5s';\n"
		  "ALTER TABLE big ALTER COLUMN total TYPE bigint;\n"
		  "ALTER TABLE small ALTER COLUMN total TYPE bigint;\n"
		  "CREATE INDEX small_total ON small (total);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "lint"), 1);
	assert_contains(out, "0001_types.sql:2:17: error: changing the type of column total rewrites public.big and its"
			     " indexes while holding ACCESS EXCLUSIVE (public.big: ~150k rows, ");
	assert_contains(out, "MB: a large table) [alter_column_type]");
	assert_contains(out, "0001_types.sql:3:19: warning: changing the type of column total rewrites public.small and its"
			     " indexes while holding ACCESS EXCLUSIVE (public.small: ~3 rows, 8 kB: a small table, the lock is"
			     " brief) [alter_column_type]");
	assert_contains(out, "warning: CREATE INDEX small_total on public.small blocks every write");
	assert_contains(out, "lint FAILED: 1 migration, 4 statements (table sizes from the database): 1 error, 2 warnings\n");
	free(out);
	free(err);
	/* Without the database, the same file keeps the rules' own level. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "lint --offline"), 1);
	assert_contains(out, "(no database: table sizes unknown): 3 errors\n");
	free(out);
	free(err);
	/* The lint reads; it never creates the history. */
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Nothing reaches the server: a sequence, which no rollback resets,
 * would move if the migration had been sent. */
static void test_up_stops_before_anything_is_sent(void **state)
{
	char *db = pgt_create_db("gm_lint_up"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	make_tables(c);
	pgt_exec(c, "CREATE SEQUENCE probe");
	tfs_write(dir, "0001_ok.sql", "SELECT nextval('probe');\n");
	tfs_write(dir, "0002_drop.sql", "SET LOCAL lock_timeout = '5s';\nSELECT nextval('probe');\nDROP TABLE big;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 9);
	assert_contains(err, "0002_drop.sql:3:1: error: DROP TABLE public.big destroys the table and its rows"
			     " (public.big: ~150k rows, ");
	assert_contains(err, "garage-migrate: up stopped by the lint before anything was sent: 1 error in the migrations to apply\n");
	assert_contains(err, "garage:lint-ignore RULE reason");
	assert_not_contains(out, "applied");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM big"), 150000);
	assert_int_equal(pgt_count(c, "SELECT CASE WHEN is_called THEN 1 ELSE 0 END FROM probe"), 0);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	/* A dry run says the same. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --dry-run"), 9);
	assert_contains(err, "[drop_table]");
	free(out);
	free(err);
	/* Said why, it runs. */
	tfs_write(dir, "0002_drop.sql", "SET LOCAL lock_timeout = '5s';\nSELECT nextval('probe');\n"
		  "-- garage:lint-ignore drop_table its rows were archived first\nDROP TABLE big;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "2 migrations applied");
	assert_not_contains(err, "drop_table");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.big')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_warnings_are_printed_and_up_goes_on(void **state)
{
	char *db = pgt_create_db("gm_lint_warn"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	make_tables(c);
	tfs_write(dir, "0001_w.sql", "ALTER TABLE small ADD COLUMN note text;\nCREATE TABLE lookup (code text PRIMARY KEY);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(err, "0001_w.sql:1:1: warning: ALTER TABLE takes ACCESS EXCLUSIVE on public.small and this"
			     " migration sets no lock timeout");
	assert_contains(err, "[create_table_without_rls]");
	assert_contains(err, "lint passed: 1 migration, 2 statements (table sizes from the database): 2 warnings\n");
	assert_contains(out, "applied 0001_w.sql");
	free(out);
	free(err);
	/* The run's lock timeout counts for every migration. */
	tfs_write(dir, "0002_w.sql", "ALTER TABLE small ADD COLUMN note2 text;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --lock-timeout 2s"), 0);
	assert_not_contains(err, "lock_without_timeout");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* By default the pending migrations; --all, every one; a clean lint of
 * the project after it is applied. */
static void test_pending_and_all(void **state)
{
	char *db = pgt_create_db("gm_lint_pending"), *out, *err;

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "lint"), 0);
	assert_contains(out, "lint passed: 8 migrations, 93 statements (table sizes from the database): no findings\n");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "up --to 4"), 0);
	assert_not_contains(err, "warning");
	free(out);
	free(err);
	/* 0005-0008: the tables of 0004 exist now; the RLS of 0008 covers
	 * them. */
	assert_int_equal(pgt_gm(&out, &err, db, "lint --format json"), 0);
	assert_true(!strncmp(out, "{\"format_version\":1,\"ok\":true,", strlen("{\"format_version\":1,\"ok\":true,")));
	assert_contains(out, "\"summary\":{\"migrations\":4,");
	assert_contains(out, "\"errors\":0,");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_gm(&out, &err, db, "lint"), 0);
	assert_contains(out, "lint passed: 0 migrations, 0 statements");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "lint --all --format sarif"), 0);
	assert_contains(out, "\"version\":\"2.1.0\"");
	assert_contains(out, "\"results\":[]");
	free(out);
	free(err);
	free(db);
}

static void test_project_file_levels(void **state)
{
	char *db = pgt_create_db("gm_lint_levels"), *dir = tfs_tempdir(), *migs, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	make_tables(c);
	migs = gm_xasprintf("%s/migrations", dir);
	assert_int_equal(mkdir(migs, 0700), 0);
	tfs_write(dir, "garage-migrate.yaml", "timeouts:\n  lock: 5s\nlint:\n  drop_table: warning\n  truncate: off\n");
	tfs_write(migs, "0001_x.sql", "TRUNCATE small;\nDROP TABLE small;\n");
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s -d 'dbname=%s' lint", dir, pgt_bin(), db), 0);
	assert_contains(out, "warning: DROP TABLE public.small destroys the table and its rows (public.small: ~3 rows,");
	assert_not_contains(out, "truncate");
	assert_not_contains(out, "lock_without_timeout");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s -d 'dbname=%s' up", dir, pgt_bin(), db), 0);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.small')::text"));
	free(out);
	free(err);
	/* An unknown rule is an error where it is written. */
	tfs_write(dir, "garage-migrate.yaml", "lint:\n  drop_tabel: warning\n");
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s -d 'dbname=%s' lint", dir, pgt_bin(), db), 6);
	assert_contains(err, "garage-migrate.yaml:2:3: error: unknown lint rule 'drop_tabel'");
	free(out);
	free(err);
	free(migs);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* FILEs alone: no database unless -d names one; no database named at all:
 * every migration, files alone. */
static void test_files_and_no_database(void **state)
{
	char *db = pgt_create_db("gm_lint_files"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	make_tables(c);
	tfs_write(dir, "add_index.sql", "CREATE INDEX big_total ON big (total);\n");
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s lint add_index.sql", dir, pgt_bin()), 1);
	assert_contains(out, "add_index.sql:1:1: error: CREATE INDEX big_total on public.big blocks every write");
	assert_contains(out, "(no database: table sizes unknown)");
	assert_null(strchr(out, '\033'));	/* a pipe */
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s --color=always lint add_index.sql", dir, pgt_bin()), 1);
	assert_contains(out, "add_index.sql:1:1: \033[31m\033[1merror\033[0m: CREATE INDEX");
	assert_contains(out, "lint \033[31mFAILED\033[0m:");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s -d 'dbname=%s' lint add_index.sql", dir, pgt_bin(), db), 1);
	assert_contains(out, "(public.big: ~150k rows,");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && env -u PGHOST -u PGHOSTADDR -u PGPORT -u PGDATABASE -u PGSERVICE"
			 " -u DATABASE_URL %s -m '%s/migrations' lint", dir, pgt_bin(), pgt_root()), 0);
	assert_contains(out, "lint passed: 8 migrations, 93 statements (no database: table sizes unknown): no findings\n");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s lint --all no_such.sql", pgt_bin()), 2);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_set_the_level),
		cmocka_unit_test(test_up_stops_before_anything_is_sent),
		cmocka_unit_test(test_warnings_are_printed_and_up_goes_on),
		cmocka_unit_test(test_pending_and_all),
		cmocka_unit_test(test_project_file_levels),
		cmocka_unit_test(test_files_and_no_database),
	};
	return cmocka_run_group_tests_name("lint", tests, NULL, NULL);
}
