/* Integration tests: server settings are not trusted.  A database can be
 * given any default (ALTER DATABASE ... SET); every session the tool opens
 * sets what its SQL relies on: standard_conforming_strings, row_security,
 * exit_on_error and a search_path where pg_catalog comes first (issue 11,
 * item 2), and refuses to migrate with triggers turned off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_strbuf.h"
#include "pgtest.h"
#include "testfs.h"

/* A fresh database whose every new session starts with the settings an
 * attacker (or an odd configuration) would choose. */
static char *hostile_db(const char *prefix)
{
	char *db = pgt_create_db(prefix), *sql;
	PGconn *c = pgt_connect("postgres");

	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET standard_conforming_strings = off", db);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET search_path = public, pg_catalog", db);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET row_security = off", db);
	pgt_exec(c, sql);
	free(sql);
	/* The first error would end the session: the history's quick check
	 * raises one on purpose, and a failing migration would read as a
	 * lost connection. */
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET exit_on_error = on", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	return db;
}

static void test_project_migrations_on_a_hostile_database(void **state)
{
	char *db = hostile_db("gm_set_project"), *out, *err, *args;
	PGconn *c = pgt_connect(db);

	(void)state;
	/* The database really starts that way. */
	assert_int_equal(pgt_count(c, "SELECT (current_setting('standard_conforming_strings') = 'off')::int"), 1);
	assert_int_equal(pgt_gm(&out, &err, db, "up"), 0);
	assert_contains(out, "8 migrations applied");
	free(out);
	free(err);
	/* Objects went to public, where the migrations meant them. */
	assert_false(pgt_is_null(c, "SELECT to_regclass('public.custom_agent_orders')::text"));
	args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml'", pgt_root());
	if (pgt_gm(&out, &err, db, args) != 0)
		fail_msg("verify failed on a hostile database:\n%s%s", out, err);
	assert_contains(out, "verify passed");
	free(out);
	free(err);
	free(args);
	PQfinish(c);
	free(db);
}

/* What a migration's session sees, recorded in a table. */
static void test_the_session_sets_what_it_relies_on(void **state)
{
	char *db = hostile_db("gm_set_seen"), *dir = tfs_tempdir(), *v;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_seen.sql",
		  "CREATE TABLE seen AS SELECT current_setting('standard_conforming_strings') AS scs,\n"
		  "  current_setting('row_security') AS rs, current_setting('search_path') AS sp,\n"
		  "  current_schemas(true)::text AS effective, current_setting('exit_on_error') AS eoe;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	v = pgt_value(c, "SELECT scs || ' ' || rs || ' ' || sp || ' ' || effective || ' ' || eoe FROM public.seen");
	/* pg_catalog is dropped from the path, so it is searched first
	 * (implicitly) while public stays where new objects go. */
	assert_string_equal(v, "on on public {pg_catalog,public} off");
	free(v);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* With standard_conforming_strings off, the server would read '\' as an
 * escaped quote: the string would end later than the tool's lexer thinks,
 * and "COMMIT; DROP TABLE victim; COMMIT" (inside a string for the tool,
 * so not refused as transaction control) would run as statements, the
 * second COMMIT keeping the DROP whatever fails after it. */
static const char split_attack[] =
	"SELECT '\\' AS a, ' ; COMMIT; DROP TABLE victim; COMMIT; -- ' AS b;\n";

static void attack(const char *db, const char *url)
{
	char *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);
	int rc;

	pgt_exec(c, "CREATE TABLE victim (id int); INSERT INTO victim VALUES (1)");
	tfs_write(dir, "0001_split.sql", split_attack);
	rc = pgt_run(&out, &err, "%s -d '%s' -m '%s' up", pgt_bin(), url, dir);
	if (pgt_is_null(c, "SELECT to_regclass('public.victim')::text"))
		fail_msg("the migration dropped table victim (exit %d):\n%s%s", rc, out, err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM victim"), 1);
	if (rc != 0)
		fail_msg("up failed (%d):\n%s%s", rc, out, err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 1"), 1);
	free(out);
	free(err);
	/* Read as the tool reads it (one string '\'), this one holds a
	 * COMMIT, and is refused before anything is sent. */
	tfs_write(dir, "0002_split.sql", "SELECT '\\'; COMMIT; DROP TABLE victim; --';\n");
	rc = pgt_run(&out, &err, "%s -d '%s' -m '%s' up", pgt_bin(), url, dir);
	assert_int_equal(rc, 6);
	assert_contains(err, "transaction control statement");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM victim"), 1);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
}

static void test_a_backslash_cannot_split_statements(void **state)
{
	char *db = hostile_db("gm_set_split"), *url = gm_xasprintf("dbname=%s", db);

	(void)state;
	attack(db, url);
	free(url);
	free(db);
}

/* PgBouncer in transaction pooling hands each transaction whichever server
 * connection is free; it carries standard_conforming_strings over, which
 * is what keeps this safe there too. */
static void test_a_backslash_cannot_split_statements_through_the_pooler(void **state)
{
	const char *b = getenv("GM_TEST_BOUNCER_URL");
	char *db = hostile_db("gm_set_split_pool"), *url;

	(void)state;
	if (!b || !*b)
		fail_msg("GM_TEST_BOUNCER_URL is not set: pgbouncer did not start (is it installed?)");
	url = gm_xasprintf("%s/%s", b, db);
	attack(db, url);
	free(url);
	free(db);
}

/* pg_temp in the default path (first, or after a schema that does not
 * exist) would make a CREATE TABLE of a migration a temporary table, gone
 * when up's session ends, recorded as applied: migration text runs without
 * it. */
static void test_pg_temp_first_makes_no_temporary_tables(void **state)
{
	char *db = pgt_create_db("gm_set_temp"), *dir = tfs_tempdir(), *sql, *out, *err;
	PGconn *c = pgt_connect("postgres");

	(void)state;
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET search_path = pg_temp, public", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n-- garage:down\nDROP TABLE t;\n");
	tfs_write(dir, "0002_u.sql", "CREATE TABLE u (t_id int);\nINSERT INTO t VALUES (1);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.t"), 1);
	assert_false(pgt_is_null(c, "SELECT to_regclass('public.u')::text"));
	PQfinish(c);
	free(db);
	/* Last, after a "$user" without a schema: the same, unless it goes. */
	db = pgt_create_db("gm_set_temp2");
	c = pgt_connect("postgres");
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET search_path = \"$user\", pg_temp", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(err, "no schema has been selected to create in");
	free(out);
	free(err);
	c = pgt_connect(db);
	/* Nothing recorded: the history is made with the first migration. */
	assert_true(pgt_is_null(c, "SELECT to_regclass('garage_migrate.schema_history')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Under exit_on_error = on a failing migration must still read as its
 * own error, with its file and line, and leave nothing behind. */
static void test_a_failing_migration_under_exit_on_error(void **state)
{
	char *db = hostile_db("gm_set_eoe"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\nSELECT 1/0;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(err, "0002_b.sql:2:");
	assert_contains(err, "division by zero");
	assert_not_contains(err, "connection");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 1);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.b')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* With session_replication_role = replica, triggers (foreign-key checks,
 * ON DELETE CASCADE, the project's own) do not fire: a migration would
 * insert orphans unchecked and a down leave them.  Refused in every
 * transaction, whether the setting came with the database or from an
 * earlier migration's plain SET. */
static void test_replica_role_is_refused(void **state)
{
	char *db = pgt_create_db("gm_set_replica"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect("postgres");

	(void)state;
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET session_replication_role = replica", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	tfs_write(dir, "0001_p.sql", "CREATE TABLE p (id int PRIMARY KEY);\n"
				      "CREATE TABLE ch (p_id int REFERENCES p);\n"
				      "INSERT INTO ch VALUES (42);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run: session_replication_role is replica");
	assert_contains(err, "what to do:");
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.ch')::text"));
	PQfinish(c);
	free(db);

	/* Set by a migration for the session: the next one is refused. */
	db = pgt_create_db("gm_set_replica2");
	tfs_write(dir, "0001_p.sql", "CREATE TABLE p (id int PRIMARY KEY);\n"
				      "SET session_replication_role = replica;\n");
	tfs_write(dir, "0002_ch.sql", "CREATE TABLE ch (p_id int REFERENCES p);\n"
				       "INSERT INTO ch VALUES (42);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "session_replication_role is replica");
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE status = 'applied'"), 1);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.ch')::text"));
	PQfinish(c);
	/* SET LOCAL in the migration itself is the migration's choice. */
	tfs_write(dir, "0001_p.sql", "CREATE TABLE p (id int PRIMARY KEY);\n"
				      "SET LOCAL session_replication_role = replica;\n");
	tfs_write(dir, "0002_ch.sql", "CREATE TABLE ch (p_id int REFERENCES p);\n");
	pgt_drop_db(db, NULL);
	free(db);
	db = pgt_create_db("gm_set_replica3");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_rmdir(dir);
	free(db);
}

/* A database frozen read-only by its DBA stays frozen; the advice says why
 * the write failed. */
static void test_read_only_default_is_explained(void **state)
{
	char *db = pgt_create_db("gm_set_ro"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect("postgres");

	(void)state;
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET default_transaction_read_only = on", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "read-only transaction");
	assert_contains(err, "default_transaction_read_only is on for this role or database");
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

/* A database's statement_timeout stopping a read (here behind a lock
 * another session holds on the history) is a timeout, exit 5, for list
 * and verify as for a migration, not "any other database error". */
static void test_a_timeout_stopping_a_read_is_exit_5(void **state)
{
	char *db = pgt_create_db("gm_set_to"), *out, *err, *sql;
	PGconn *c = pgt_connect("postgres"), *holder;

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET statement_timeout = '300ms'", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	holder = pgt_connect(db);
	pgt_exec(holder, "SET statement_timeout = 0; BEGIN; LOCK TABLE garage_migrate.schema_history, garage_migrate.audit_log IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(pgt_gm(&out, &err, db, "list"), 5);
	assert_contains(err, "canceling statement due to statement timeout");
	assert_contains(err, "a lock or statement timeout (or a cancel) stopped it");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "log"), 5);
	free(out);
	free(err);
	PQfinish(holder);
	assert_int_equal(pgt_gm(NULL, NULL, db, "list"), 0);
	free(db);
}

/* The server prints constants and names by the session's settings: a
 * snapshot dumped under the defaults must verify under a database whose
 * TimeZone, DateStyle, IntervalStyle, extra_float_digits and
 * quote_all_identifiers differ, and a changed constant must still show. */
static void test_print_settings_do_not_change_the_snapshot(void **state)
{
	char *db = pgt_create_db("gm_set_print"), *dir = tfs_tempdir(), *out, *err, *args, *sql;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	pgt_exec(c, "ALTER TABLE build_logs ADD COLUMN due timestamptz DEFAULT '2024-01-01 00:00:00+00',"
		    " ADD COLUMN span interval DEFAULT '1 day 02:00', ADD COLUMN weight float8 DEFAULT 0.54321,"
		    " ADD COLUMN raw bytea DEFAULT '\\xdeadbeef'");
	args = gm_xasprintf("dump -o '%s/snap.yaml'", dir);
	assert_int_equal(pgt_gm(NULL, NULL, db, args), 0);
	free(args);
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET TimeZone = 'Asia/Kolkata';"
			   " ALTER DATABASE \"%s\" SET DateStyle = 'SQL, DMY';"
			   " ALTER DATABASE \"%s\" SET IntervalStyle = 'sql_standard';"
			   " ALTER DATABASE \"%s\" SET extra_float_digits = -14;"
			   " ALTER DATABASE \"%s\" SET bytea_output = 'escape';"
			   " ALTER DATABASE \"%s\" SET quote_all_identifiers = on", db, db, db, db, db, db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	args = gm_xasprintf("verify --snapshot '%s/snap.yaml'", dir);
	if (pgt_gm(&out, &err, db, args) != 0)
		fail_msg("verify failed under other print settings:\n%s%s", out, err);
	free(out);
	free(err);
	/* 0.54321 and 0.5 print alike with extra_float_digits = -14. */
	c = pgt_connect(db);
	pgt_exec(c, "ALTER TABLE build_logs ALTER COLUMN weight SET DEFAULT 0.5");
	PQfinish(c);
	assert_int_equal(pgt_gm(&out, &err, db, args), 1);
	assert_contains(out, "table public.build_logs column weight: default differs: expected 0.54321, found 0.5");
	free(out);
	free(err);
	free(args);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_project_migrations_on_a_hostile_database),
		cmocka_unit_test(test_the_session_sets_what_it_relies_on),
		cmocka_unit_test(test_a_backslash_cannot_split_statements),
		cmocka_unit_test(test_a_backslash_cannot_split_statements_through_the_pooler),
		cmocka_unit_test(test_pg_temp_first_makes_no_temporary_tables),
		cmocka_unit_test(test_a_failing_migration_under_exit_on_error),
		cmocka_unit_test(test_replica_role_is_refused),
		cmocka_unit_test(test_read_only_default_is_explained),
		cmocka_unit_test(test_a_timeout_stopping_a_read_is_exit_5),
		cmocka_unit_test(test_print_settings_do_not_change_the_snapshot),
	};
	return cmocka_run_group_tests_name("hostile server settings", tests, NULL, NULL);
}
