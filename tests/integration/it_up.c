/* Integration tests: up and list against a real PostgreSQL, through the
 * garage-migrate binary (exit codes and messages are part of the promise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_migration.h"
#include "gm_strbuf.h"
#include "pgtest.h"

#define HISTORY_COUNT "SELECT count(*) FROM garage_migrate.schema_history"
/* A table under RLS with a policy and one row, which losing RLS exposes. */
#define RLS_TABLE_T                                                                                  \
	"CREATE TABLE t (id int, org int);\n"                                                          \
	"ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"                                                   \
	"CREATE POLICY p ON t USING (org = 1);\n"                                                      \
	"INSERT INTO t VALUES (1, 1);\n"
/* The parameters of the functions up calls (engine.c), to plant others. */
#define UP_CHECK_PARAMS "p_version int8, p_check int4, p_seq int8, p_prev_version int8, p_prev_checksum text, p_guard bool"
#define UP_RECORD_PARAMS "p_version int8, p_version_text text, p_name text, p_script text, p_checksum text," \
	" p_kind text, p_os_user text, p_guard bool"

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void test_up_then_up_again_changes_nothing(void **state)
{
	char *db = pgt_create_db("gm_up"), *out, *err, *t1, *t2;
	PGconn *c;

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "up"), 0);
	assert_contains(out, "applied 0001_base_organizations_users.sql");
	assert_contains(out, "applied 0008_add_ai_garage_rls_policies.yaml");
	assert_contains(out, "8 migrations applied");
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 8);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE action = 'up' AND outcome = 'ok'"), 8);
	t1 = pgt_value(c, "SELECT string_agg(applied_at::text || checksum, ',' ORDER BY version) FROM garage_migrate.schema_history");

	assert_int_equal(pgt_gm(&out, &err, db, "up"), 0);
	assert_contains(out, "nothing to apply");
	free(out);
	free(err);
	t2 = pgt_value(c, "SELECT string_agg(applied_at::text || checksum, ',' ORDER BY version) FROM garage_migrate.schema_history");
	assert_string_equal(t1, t2);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log"), 8);
	/* The history is not in public, where a Supabase API would expose it. */
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%history%'"), 0);
	free(t1);
	free(t2);
	PQfinish(c);
	free(db);
}

static void test_list_before_and_after(void **state)
{
	char *db = pgt_create_db("gm_list"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "list --format json"), 0);
	assert_int_equal(occurrences(out, "\"state\":\"pending\""), 8);
	assert_contains(out, "\"summary\":{\"total\":8,\"applied\":0,\"pending\":8,\"modified\":0,\"missing\":0,\"failed\":0,\"running\":0}");
	free(out);
	free(err);
	/* list is read-only: no history table appears. */
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));

	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_gm(&out, &err, db, "list --format json"), 0);
	assert_int_equal(occurrences(out, "\"state\":\"applied\""), 8);
	assert_contains(out, "\"version\":\"0004\",\"name\":\"create_custom_agent_orders_table\",\"state\":\"applied\"");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "list"), 0);
	assert_contains(out, "VERSION  NAME");
	assert_contains(out, "0008     add_ai_garage_rls_policies          applied");
	assert_contains(out, "8 migrations: 8 applied, 0 pending");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

static void test_failure_at_third_statement(void **state)
{
	char *db = pgt_create_db("gm_fail"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_first.sql", "CREATE TABLE first_ok (id int);\n");
	/* The third statement fails at run time: the server gives no
	 * position, so the line comes from the statement count. */
	tfs_write(dir, "0002_third_fails.sql",
		  "-- garage:up\n"
		  "CREATE TABLE s1 (id int);\n"
		  "CREATE TABLE s2 (id int);\n"
		  "\n"
		  "  INSERT INTO s1 VALUES (1 / 0);\n"
		  "-- garage:down\n"
		  "DROP TABLE s2; DROP TABLE s1;\n");
	tfs_write(dir, "0003_after.sql", "CREATE TABLE after_failure (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	expect = gm_xasprintf("%s/0002_third_fails.sql:5:3: error: division by zero", dir);
	assert_contains(err, expect);
	assert_contains(err, "SQLSTATE: 22012");
	assert_contains(out, "applied 0001_first.sql");
	assert_not_contains(out, "0003_after");
	free(expect);
	free(out);
	free(err);
	assert_false(pgt_is_null(c, "SELECT to_regclass('first_ok')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('s1')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('s2')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('after_failure')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 2 AND outcome = 'failed' AND message = 'division by zero'"), 1);

	/* An error with a server position points at the exact column, also
	 * after multi-byte characters on the same line. */
	tfs_write(dir, "0002_third_fails.sql",
		  "CREATE TABLE s1 (id int);\n"
		  "CREATE TABLE s2 (id int);\n"
		  "CREATE TABLE s3 (ïd int, organisation_id uuidd REFERENCES nowhere (id));\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	expect = gm_xasprintf("%s/0002_third_fails.sql:3:42: error: type \"uuidd\" does not exist", dir);
	assert_contains(err, expect);
	assert_contains(err, "    3 | CREATE TABLE s3 (ïd int, organisation_id uuidd REFERENCES nowhere (id));\n");
	assert_contains(err, "      |                                          ^\n");
	free(expect);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('s1')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_edited_or_missing_applied_file_is_refused(void **state)
{
	char *db = pgt_create_db("gm_edit"), *dir = tfs_tempdir(), *out, *err, *path;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);

	/* CRLF line endings are not an edit. */
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\r\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "nothing to apply");
	free(out);
	free(err);

	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id bigint);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 1);
	path = gm_xasprintf("%s/0001_a.sql: error: applied migration was edited", dir);
	assert_contains(err, path);
	assert_contains(err, "what to do:");
	free(path);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('c')::text"));
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 0);
	assert_contains(out, "modified");
	free(out);
	free(err);

	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	path = gm_xasprintf("%s/0002_b.sql", dir);
	assert_int_equal(remove(path), 0);
	free(path);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 1);
	assert_contains(err, "applied migration 0002_b is missing from the migrations folder");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('c')::text"));
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list --format json"), 0);
	assert_contains(out, "\"version\":\"0002\",\"name\":\"b\",\"state\":\"missing\"");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_dry_run_changes_nothing(void **state)
{
	char *db = pgt_create_db("gm_dry"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "up --dry-run"), 0);
	assert_contains(out, "/migrations/0001_base_organizations_users.sql (would run in its own transaction)");
	assert_contains(out, "CREATE TABLE custom_agent_orders (");
	assert_contains(out, "-- dry run: 8 migrations would be applied; nothing was changed");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
	PQfinish(c);
	free(db);
}

static void test_single_transaction_is_all_or_nothing(void **state)
{
	char *db = pgt_create_db("gm_single"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\nSELECT no_such_column FROM a;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --single-transaction"), 4);
	expect = gm_xasprintf("%s/0003_c.sql:2:8: error: column \"no_such_column\" does not exist", dir);
	assert_contains(err, expect);
	assert_contains(err, "the whole run was rolled back");
	free(expect);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('a')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('b')::text"));
	/* Not even the history schema: the database is exactly as it was. */
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));

	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --single-transaction"), 0);
	assert_contains(out, "3 migrations applied");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_target_and_out_of_order(void **state)
{
	char *db = pgt_create_db("gm_order"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n");
	tfs_write(dir, "0004_d.sql", "CREATE TABLE d (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --to 3"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	assert_true(pgt_is_null(c, "SELECT to_regclass('d')::text"));
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --to 2"), 2);
	assert_contains(err, "no migration has version 2");
	free(out);
	free(err);

	/* A late-merged migration older than the newest applied one. */
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 1);
	assert_contains(err, "0002_b.sql: error: pending migration is older than the newest applied one (0003_c)");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('d')::text"));
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --out-of-order"), 0);
	assert_contains(out, "applied 0002_b.sql");
	assert_contains(out, "applied 0004_d.sql");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 4);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_concurrent_runs_apply_once(void **state)
{
	char *db = pgt_create_db("gm_race"), *dir = tfs_tempdir(), *out, *err, *script;
	PGconn *c;

	(void)state;
	/* Eight processes at once; every one must exit 0. */
	script = gm_xasprintf("fails=0\n"
			      "for i in 1 2 3 4 5 6 7 8; do\n"
			      "  %s -d 'dbname=%s' -m '%s/migrations' up &\n"
			      "done\n"
			      "for j in 1 2 3 4 5 6 7 8; do wait -n || fails=$((fails + 1)); done\n"
			      "echo \"failed=$fails\"\n",
			      pgt_bin(), db, pgt_root());
	tfs_write(dir, "race.sh", script);
	assert_int_equal(pgt_run(&out, &err, "bash '%s/race.sh'", dir), 0);
	assert_contains(out, "failed=0");
	assert_int_equal((int)occurrences(out, "applied 0004_create_custom_agent_orders_table.sql"), 1);
	free(out);
	free(err);
	free(script);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 8);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE outcome = 'ok'"), 8);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_bad_input_leaves_database_untouched(void **state)
{
	char *db = pgt_create_db("gm_bad"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm_dir(&out, &err, db, "/nonexistent/migrations", "up"), 6);
	assert_contains(err, "/nonexistent/migrations: error: cannot open migrations folder");
	free(out);
	free(err);

	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 6);
	expect = gm_xasprintf("%s/0002_b.sql:2:36: error: unterminated dollar-quoted string", dir);
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('a')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_no_password_in_output(void **state)
{
	char *out, *err;

	(void)state;
	/* Nothing listens on port 1: the connection fails, and neither the
	 * message nor anything else may echo the password. */
	assert_int_equal(pgt_run(&out, &err, "%s -d 'postgresql://gm:S3cretPw9@127.0.0.1:1/x' -m '%s/migrations' up",
				 pgt_bin(), pgt_root()), 3);
	assert_contains(err, "cannot connect to the database");
	assert_not_contains(err, "S3cretPw9");
	assert_not_contains(out, "S3cretPw9");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "DATABASE_URL='postgresql://gm:S3cretPw9@127.0.0.1:1/x' %s -m '%s/migrations' list",
				 pgt_bin(), pgt_root()), 3);
	assert_not_contains(err, "S3cretPw9");
	free(out);
	free(err);
}

static void test_usage_and_help(void **state)
{
	static const char *const cmds[] = { "up", "list", "rollback", "baseline", "repair", "log", "verify", "dump" };
	char *out, *err;
	size_t k;

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s --help", pgt_bin()), 0);
	assert_contains(out, "usage: garage-migrate");
	free(out);
	free(err);
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		assert_int_equal(pgt_run(&out, &err, "%s %s --help", pgt_bin(), cmds[k]), 0);
		assert_contains(out, "--database-url");
		free(out);
		free(err);
	}
	assert_int_equal(pgt_run(&out, &err, "%s --version", pgt_bin()), 0);
	assert_contains(out, "garage-migrate ");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s frobnicate", pgt_bin()), 2);
	assert_contains(err, "unknown command 'frobnicate'");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s up --bogus", pgt_bin()), 2);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s list --format xml", pgt_bin()), 2);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s up --lock-timeout '1s; DROP TABLE x'", pgt_bin()), 2);
	free(out);
	free(err);
	/* Issue 16: "5" meant 5 ms, silently; a duration needs its unit. */
	assert_int_equal(pgt_run(&out, &err, "%s up --lock-timeout 5", pgt_bin()), 2);
	assert_contains(err, "invalid --lock-timeout '5': a duration is digits and a unit (us, ms, s, min, h, d),"
			     " such as 500ms, 5s or 1min");
	free(out);
	free(err);
}

/* Issue 12: an up that leaves tenant rows without isolation is refused
 * like a rollback would be. */
static void test_up_guards_isolation(void **state)
{
	static const struct { const char *sql, *says; } cases[] = {
		{ "ALTER TABLE custom_agent_orders DISABLE ROW LEVEL SECURITY;",
		  "table public.custom_agent_orders, row level security disabled, keeps 1 row" },
		{ "ALTER TABLE custom_agent_orders NO FORCE ROW LEVEL SECURITY;",
		  "table public.custom_agent_orders, row level security no longer forced, keeps 1 row" },
		{ "DROP FUNCTION app_current_org_id() CASCADE;",
		  "table public.custom_agent_orders, no policy left, keeps 1 row" },
		/* Rebuilt under its name without RLS: the new table is judged
		 * against the one that had the name. */
		{ "-- garage:lint-ignore rename_table the isolation guard, after the lint, is under test\n"
		  "ALTER TABLE custom_agent_orders RENAME TO orders_before;\n"
		  "CREATE TABLE custom_agent_orders AS SELECT * FROM orders_before;",
		  "table public.custom_agent_orders, row level security disabled, keeps 1 row" },
	};
	char *db = pgt_create_db("gm_up_iso"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_run(NULL, NULL, "cp '%s'/migrations/* '%s'/", pgt_root(), dir), 0);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A');"
		    "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a@example.com');"
		    "INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		    " agent_config, tools_config, organization_id, created_by_id) VALUES ('t', 'd', '{}', 'u',"
		    " 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000aa')");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tfs_write(dir, "0009_weaken.sql", cases[k].sql);
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
		assert_contains(err, "0009_weaken.sql: error: refused: tenant data would lose its isolation: ");
		assert_contains(err, cases[k].says);
		free(out);
		free(err);
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --single-transaction"), 8);
		assert_contains(err, cases[k].says);
		free(out);
		free(err);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 8);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 'custom_agent_orders'"
					     " AND relrowsecurity AND relforcerowsecurity"), 1);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_policies WHERE tablename = 'custom_agent_orders'"), 4);
	}
	/* Allowed on purpose, it is applied. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --allow-isolation-loss"), 0);
	assert_contains(out, "applied 0009_weaken.sql");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Issue 15: up's two functions (the re-check with the guard's note; the
 * guard's verdict with the history row) are called only when the
 * migrating role can trust them.  Owned by another role (here one whose
 * function would fail if called), the same checks run as plain statements
 * and refuse the same; a role that may not create them in the history
 * schema falls back to plain statements and still applies, and still
 * refuses. */
static void test_up_guard_functions_trusted_or_inline(void **state)
{
	char *db = pgt_create_db("gm_up_fn"), *dir = tfs_tempdir(), *out, *err, *as_dep;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", RLS_TABLE_T);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'garage_migrate'::regnamespace"
				     " AND proname IN ('up_check_v1', 'up_record_v1')"), 2);

	/* Another role's function of the same name is never called. */
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_up_fn_other') THEN"
		    " CREATE ROLE gm_up_fn_other NOLOGIN; END IF; END $$");
	pgt_exec(c, "CREATE OR REPLACE FUNCTION garage_migrate.up_check_v1(" UP_CHECK_PARAMS ") RETURNS int4"
		    " LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'untrusted guard function called'; END$$;"
		    "ALTER FUNCTION garage_migrate.up_check_v1(" UP_CHECK_PARAMS ") OWNER TO gm_up_fn_other");
	tfs_write(dir, "0002_weaken.sql", "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
	assert_contains(err, "refused: tenant data would lose its isolation: table public.t, row level security disabled, keeps 1 row");
	assert_not_contains(err, "untrusted");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --single-transaction"), 8);
	assert_contains(err, "table public.t, row level security disabled, keeps 1 row");
	free(out);
	free(err);
	tfs_write(dir, "0002_weaken.sql", "CREATE TABLE u (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_weaken.sql");
	free(out);
	free(err);

	/* A role without CREATE on the history schema: the functions are
	 * missing and it may not make them; up plans again, inline. */
	pgt_exec(c, "DROP FUNCTION garage_migrate.up_check_v1(" UP_CHECK_PARAMS "),"
		    " garage_migrate.up_record_v1(" UP_RECORD_PARAMS ")");
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_up_fn_dep') THEN"
		    " CREATE ROLE gm_up_fn_dep LOGIN; END IF; END $$");
	pgt_exec(c, "GRANT USAGE ON SCHEMA garage_migrate TO gm_up_fn_dep;"
		    "GRANT ALL ON ALL TABLES IN SCHEMA garage_migrate TO gm_up_fn_dep;"
		    "GRANT CREATE, USAGE ON SCHEMA public TO gm_up_fn_dep;"
		    "ALTER TABLE t OWNER TO gm_up_fn_dep");
	as_dep = gm_xasprintf("%s user=gm_up_fn_dep", db);
	tfs_write(dir, "0003_v.sql", "CREATE TABLE v (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "up"), 0);
	assert_contains(out, "applied 0003_v.sql");
	free(out);
	free(err);
	tfs_write(dir, "0004_weaken.sql", "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "up"), 8);
	assert_contains(err, "table public.t, row level security disabled, keeps 1 row");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'garage_migrate'::regnamespace"
				     " AND proname IN ('up_check_v1', 'up_record_v1')"), 0);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	PQfinish(c);
	tfs_rmdir(dir);
	free(as_dep);
	free(db);
}

/* up's functions, once made, are called only while they are as made: a
 * migration run by their owner that replaces a body (here, a re-check that
 * notes nothing, so the verdict would find nothing lost) is not the end of
 * the guard (they are made again), and another role's overload of their
 * names (which would make the call ambiguous) sends up inline. */
static void test_up_guard_functions_changed_or_overloaded(void **state)
{
	char *db = pgt_create_db("gm_up_fn_changed"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", RLS_TABLE_T);
	/* A check that notes nothing: the verdict would find nothing lost. */
	tfs_write(dir, "0002_blind.sql", "CREATE OR REPLACE FUNCTION garage_migrate.up_check_v1(" UP_CHECK_PARAMS ")"
					 " RETURNS int4 LANGUAGE plpgsql AS $$BEGIN"
					 " PERFORM set_config('garage_migrate.t0', clock_timestamp()::text, true);"
					 " PERFORM set_config('garage_migrate.rls0', '[]', true); RETURN 0; END$$;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0003_weaken.sql", "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
	assert_contains(err, "table public.t, row level security disabled, keeps 1 row");
	free(out);
	free(err);

	/* Another role's overload: inline, no "is not unique" failure. */
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_up_fn_mallory') THEN"
		    " CREATE ROLE gm_up_fn_mallory NOLOGIN; END IF; END $$;"
		    "GRANT USAGE, CREATE ON SCHEMA garage_migrate TO gm_up_fn_mallory;"
		    "SET ROLE gm_up_fn_mallory;"
		    "CREATE FUNCTION garage_migrate.up_check_v1(a int8, b int4, c int8, d int8, e text, f bool,"
		    " g int DEFAULT 0) RETURNS int4 LANGUAGE sql AS $$SELECT 0$$;"
		    "RESET ROLE");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
	assert_contains(err, "table public.t, row level security disabled, keeps 1 row");
	assert_not_contains(err, "not unique");
	free(out);
	free(err);
	tfs_write(dir, "0003_weaken.sql", "CREATE TABLE u (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	pgt_exec(c, "DROP FUNCTION garage_migrate.up_check_v1(int8, int4, int8, int8, text, bool, int);"
		    "REVOKE ALL ON SCHEMA garage_migrate FROM gm_up_fn_mallory");
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A migration run by the functions' owner that makes the re-check STRICT
 * (which would then return NULL without running for a NULL argument) or
 * changes any other property of how a call runs: the functions are not
 * "as made" any more, and the next run makes them again before it relies
 * on them; the weakening after it is refused. */
/* How many of up's two functions are as up makes them (a part of what
 * UP_FN_STATE checks). */
#define UP_FNS_AS_MADE                                                                               \
	"SELECT count(*) FROM pg_proc WHERE pronamespace = 'garage_migrate'::regnamespace"            \
	" AND proname IN ('up_check_v1', 'up_record_v1') AND NOT proisstrict AND NOT prosecdef AND provolatile = 'v'" \
	" AND proparallel = 'u'"

static void test_up_functions_altered_are_made_again(void **state)
{
	static const char *const alters[] = {
		"ALTER FUNCTION garage_migrate.up_check_v1(int8, int4, int8, int8, text, bool) STRICT;\n",
		"ALTER FUNCTION garage_migrate.up_record_v1(int8, text, text, text, text, text, text, bool)"
		" SECURITY DEFINER;\n",
		"ALTER FUNCTION garage_migrate.up_check_v1(int8, int4, int8, int8, text, bool) STABLE;\n",
		"ALTER FUNCTION garage_migrate.up_record_v1(int8, text, text, text, text, text, text, bool)"
		" PARALLEL SAFE;\n",
	};
	char *db = pgt_create_db("gm_up_fn_alter"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", RLS_TABLE_T);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	for (size_t k = 0; k < sizeof(alters) / sizeof(alters[0]); k++) {
		char name[32];
		snprintf(name, sizeof(name), "%04zu_alter.sql", 2 * k + 2);
		tfs_write(dir, name, alters[k]);
		assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
		assert_int_equal(pgt_count(c, UP_FNS_AS_MADE), 1);
		/* The next run makes them again, in its first transaction. */
		snprintf(name, sizeof(name), "%04zu_next.sql", 2 * k + 3);
		tfs_write(dir, name, "SELECT 1;\n");
		assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
		assert_int_equal(pgt_count(c, UP_FNS_AS_MADE), 2);
		tfs_write(dir, "9999_weaken.sql", "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
		assert_contains(err, "table public.t, row level security disabled, keeps 1 row");
		free(out);
		free(err);
		{
			char *path = gm_xasprintf("%s/9999_weaken.sql", dir);
			assert_int_equal(unlink(path), 0);
			free(path);
		}
	}
	/* Replaced in the same run by a body that answers nothing: the next
	 * migration's call fails closed instead of skipping its checks. */
	tfs_write(dir, "0050_replace.sql", "CREATE OR REPLACE FUNCTION garage_migrate.up_check_v1(" UP_CHECK_PARAMS ")"
					   " RETURNS int4 LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;\n");
	tfs_write(dir, "0051_weaken.sql", "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
	assert_int_not_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0050_replace.sql");
	assert_not_contains(out, "applied 0051_weaken.sql");
	assert_contains(err, "a function of up did not run");
	assert_contains(err, "run garage-migrate up again: it makes the functions again");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 51"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't' AND relrowsecurity"), 1);
	/* A record that writes no history row and answers as if it had: the
	 * row is read back, so the migration that made it does not commit
	 * (and is not applied again and again by runs that make the
	 * functions again). */
	{
		char *path = gm_xasprintf("%s/0051_weaken.sql", dir);
		assert_int_equal(unlink(path), 0);
		free(path);
	}
	tfs_write(dir, "0052_fake.sql", "CREATE TABLE fake_side_effect (id int);\n"
					"CREATE OR REPLACE FUNCTION garage_migrate.up_record_v1(" UP_RECORD_PARAMS ")"
					" RETURNS int8 LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$;\n");
	for (int run = 0; run < 2; run++) {
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
		assert_not_contains(out, "applied 0052_fake.sql");
		assert_contains(err, "a function of up did not run");
		free(out);
		free(err);
	}
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 'fake_side_effect'"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 52"), 0);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Issue 15: a failure in the middle of a batch.  The migrations before it
 * committed (each in its own transaction, with its history row); it and
 * those after it, sent in the same string, did not run; the error points
 * into its file, and the run stops there. */
static void test_failure_in_the_middle_of_a_batch(void **state)
{
	char *db = pgt_create_db("gm_up_mid"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n");
	tfs_write(dir, "0004_fails.sql",
		  "CREATE TABLE d (id int);\n"
		  "INSERT INTO d VALUES (1);\n"
		  "UPDATE b SET id = 2;\n"
		  "  INSERT INTO d SELECT id FROM nowhere;\n");
	tfs_write(dir, "0005_e.sql", "CREATE TABLE e (id int);\n");
	tfs_write(dir, "0006_f.sql", "CREATE TABLE f (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(out, "applied 0001_a.sql");
	assert_contains(out, "applied 0002_b.sql");
	assert_contains(out, "applied 0003_c.sql");
	assert_not_contains(out, "0004_fails");
	assert_not_contains(out, "0005_e");
	expect = gm_xasprintf("%s/0004_fails.sql:4:32: error: relation \"nowhere\" does not exist", dir);
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	/* The first three applied and recorded, nothing of the fourth (its
	 * UPDATE of b rolled back too), nothing after it. */
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version IN (1, 2, 3)"), 3);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM c"), 1);
	assert_int_equal(pgt_count(c, "SELECT id FROM b"), 1);
	assert_true(pgt_is_null(c, "SELECT to_regclass('d')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('e')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('f')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 4 AND outcome = 'failed'"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version > 4"), 0);

	/* Without a server position (a run-time error), the statement count
	 * finds the line; fixed, the rest applies. */
	tfs_write(dir, "0004_fails.sql",
		  "CREATE TABLE d (id int);\n"
		  "INSERT INTO d VALUES (1);\n"
		  "\n"
		  "   INSERT INTO d VALUES (1 / 0);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	expect = gm_xasprintf("%s/0004_fails.sql:4:4: error: division by zero", dir);
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	tfs_write(dir, "0004_fails.sql", "CREATE TABLE d (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0004_fails.sql");
	assert_contains(out, "applied 0006_f.sql");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 6);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* The server parses a whole batch before it runs any of it, so a syntax
 * error in its third migration would stop the first two as well: they go
 * again on their own, and the broken one is reported where it is broken,
 * exactly as if each had been sent alone. */
static void test_syntax_error_later_in_a_batch(void **state)
{
	char *db = pgt_create_db("gm_up_syntax"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	tfs_write(dir, "0003_broken.sql", "CREATE TABLE c (id int);\nCREATE TABEL d (id int);\n");
	tfs_write(dir, "0004_after.sql", "CREATE TABLE e (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(out, "applied 0001_a.sql");
	assert_contains(out, "applied 0002_b.sql");
	expect = gm_xasprintf("%s/0003_broken.sql:2:8: error: syntax error at or near \"TABEL\"", dir);
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	assert_true(pgt_is_null(c, "SELECT to_regclass('c')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('e')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 3 AND outcome = 'failed'"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Statements the server logged for application name app (one per
 * simple-query round trip). */
static long logged_statements(const char *app)
{
	const char *log = getenv("GM_TEST_SERVER_LOG");
	char *out;
	long n;

	assert_non_null(log);
	assert_int_equal(pgt_run(&out, NULL, "grep -E '\\] %s (LOG:  (statement|execute [^:]*):)' '%s' | wc -l", app, log), 0);
	n = strtol(out, NULL, 10);
	free(out);
	return n;
}

/* n migrations of one CREATE TABLE each, in a new folder. */
static char *small_migrations(int n)
{
	char *dir = tfs_tempdir();

	for (int k = 1; k <= n; k++) {
		char name[32], sql[64];
		snprintf(name, sizeof(name), "%04d_t.sql", k);
		snprintf(sql, sizeof(sql), "CREATE TABLE t_%04d (id int);\n", k);
		tfs_write(dir, name, sql);
	}
	return dir;
}

/* Round trips of one up of the migrations in dir, from the server log. */
static long up_round_trips(const char *dir, const char *app, int count)
{
	char *db = pgt_create_db("gm_up_rt"), *out, *err;
	PGconn *c;
	long n;

	assert_int_equal(pgt_run(&out, &err, "PGAPPNAME=%s PGOPTIONS='-c log_statement=all' %s -d 'dbname=%s' -m '%s' up",
				 app, pgt_bin(), db, dir), 0);
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), count);
	PQfinish(c);
	n = logged_statements(app);
	free(db);
	return n;
}

/* Issue 15: up sends its migrations in batches, one round trip each; the
 * server log counts them.  10 and 60 migrations are one batch, 150 two. */
static void test_round_trips_per_batch_not_per_migration(void **state)
{
	static const int counts[] = { 10, 60, 150 };
	long seen[3];

	(void)state;
	for (int k = 0; k < 3; k++) {
		char *dir = small_migrations(counts[k]), *app = gm_xasprintf("gm-up-rt-%d", counts[k]);

		seen[k] = up_round_trips(dir, app, counts[k]);
		free(app);
		tfs_rmdir(dir);
	}
	if (seen[1] != seen[0] || seen[2] != seen[0] + 1)
		fail_msg("up sent %ld, %ld and %ld round trips for 10, 60 and 150 migrations", seen[0], seen[1], seen[2]);
	/* The session's settings, the history read, the lint's table sizes
	 * (one catalog read for the run), the batch. */
	assert_true(seen[0] <= 5);
}

/* n migrations of kib KiB each (a comment pads the CREATE TABLE). */
static char *padded_migrations(int n, size_t kib)
{
	char *dir = tfs_tempdir();
	struct gm_strbuf sb = GM_STRBUF_INIT;

	for (int k = 1; k <= n; k++) {
		char name[32];
		gm_strbuf_reset(&sb);
		gm_strbuf_addf(&sb, "CREATE TABLE big_%04d (id int);\n", k);
		while (sb.len < kib * 1024)
			gm_strbuf_adds(&sb, "-- padding padding padding padding padding padding padding padding\n");
		snprintf(name, sizeof(name), "%04d_big.sql", k);
		tfs_write(dir, name, sb.buf);
	}
	gm_strbuf_release(&sb);
	return dir;
}

/* Issue 15: a batch also ends before 1 MiB of migration text: three
 * migrations of 400 KiB go in two round trips where three small ones go
 * in one; one larger than the bound goes alone. */
static void test_batches_bounded_by_bytes(void **state)
{
	char *small = small_migrations(3), *big = padded_migrations(3, 400), *huge = padded_migrations(2, 1100);
	long n_small, n_big, n_huge;

	(void)state;
	n_small = up_round_trips(small, "gm-up-bytes-small", 3);
	n_big = up_round_trips(big, "gm-up-bytes-big", 3);
	n_huge = up_round_trips(huge, "gm-up-bytes-huge", 2);
	if (n_big != n_small + 1 || n_huge != n_small + 1)
		fail_msg("round trips: %ld for 3 small migrations, %ld for 3 of 400 KiB, %ld for 2 of 1.1 MiB",
			 n_small, n_big, n_huge);
	tfs_rmdir(small);
	tfs_rmdir(big);
	tfs_rmdir(huge);
}

/* What a progress renderer sees (gm_engine.h). */
struct progress_seen {
	int starting[3], running[3], applied[3];
	int order_ok;		/* every STARTING before its RUNNING and APPLIED */
	double last_ms;
	int ms_grows;
};

static void on_progress(void *ctx, const struct gm_up_event *ev)
{
	struct progress_seen *p = ctx;
	int k = ev->m ? (int)ev->m->version - 1 : -1;

	if (k < 0 || k > 2) {
		p->order_ok = 0;
		return;
	}
	switch (ev->kind) {
	case GM_UP_STARTING:
		p->starting[k]++;
		p->last_ms = 0;
		break;
	case GM_UP_RUNNING:
		if (!p->starting[k] || p->applied[k])
			p->order_ok = 0;
		if (ev->ms <= p->last_ms)
			p->ms_grows = 0;
		p->last_ms = ev->ms;
		p->running[k]++;
		break;
	case GM_UP_APPLIED:
		if (!p->starting[k])
			p->order_ok = 0;
		p->applied[k]++;
		break;
	default:
		p->order_ok = 0;
		break;
	}
}

/* Issue 15: the engine tells when each migration starts, and while it
 * waits for a long one it ticks (about every 200 ms) with the time so
 * far; the core prints nothing. */
static void test_progress_starts_and_ticks(void **state)
{
	char *db = pgt_create_db("gm_up_tick"), *dir = tfs_tempdir(), *conninfo;
	struct progress_seen seen = { { 0 }, { 0 }, { 0 }, 1, 0, 1 };
	struct gm_migration_set *set = NULL;
	struct gm_db *conn = NULL;
	struct gm_up_opts o;
	struct gm_up_result res;
	struct gm_error *err;

	(void)state;
	tfs_write(dir, "0001_quick.sql", "CREATE TABLE quick (id int);\n");
	tfs_write(dir, "0002_slow.sql", "SELECT pg_sleep(0.6);\n");
	tfs_write(dir, "0003_after.sql", "CREATE TABLE after_slow (id int);\n");
	conninfo = gm_xasprintf("dbname=%s", db);
	assert_null(gm_migration_set_load(dir, &set));
	assert_null(gm_db_connect(conninfo, &conn));
	memset(&o, 0, sizeof(o));
	o.on_event = on_progress;
	o.ctx = &seen;
	err = gm_engine_up(conn, set, &o, &res);
	if (err)
		fail_msg("up failed: %s", err->msg);
	assert_int_equal(res.applied, 3);
	assert_true(seen.order_ok);
	assert_true(seen.ms_grows);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(seen.starting[k], 1);
		assert_int_equal(seen.applied[k], 1);
	}
	/* 600 ms of sleep: two ticks at least, even on a slow machine. */
	if (seen.running[1] < 2)
		fail_msg("%d ticks during a 600 ms migration", seen.running[1]);
	/* The hook is up's for the run only. */
	assert_null(conn->on_wait);
	gm_db_close(conn);
	gm_migration_set_free(set);
	free(conninfo);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_guards_isolation),
		cmocka_unit_test(test_up_guard_functions_trusted_or_inline),
		cmocka_unit_test(test_up_guard_functions_changed_or_overloaded),
		cmocka_unit_test(test_up_functions_altered_are_made_again),
		cmocka_unit_test(test_up_then_up_again_changes_nothing),
		cmocka_unit_test(test_list_before_and_after),
		cmocka_unit_test(test_failure_at_third_statement),
		cmocka_unit_test(test_edited_or_missing_applied_file_is_refused),
		cmocka_unit_test(test_dry_run_changes_nothing),
		cmocka_unit_test(test_single_transaction_is_all_or_nothing),
		cmocka_unit_test(test_target_and_out_of_order),
		cmocka_unit_test(test_concurrent_runs_apply_once),
		cmocka_unit_test(test_round_trips_per_batch_not_per_migration),
		cmocka_unit_test(test_syntax_error_later_in_a_batch),
		cmocka_unit_test(test_failure_in_the_middle_of_a_batch),
		cmocka_unit_test(test_batches_bounded_by_bytes),
		cmocka_unit_test(test_progress_starts_and_ticks),
		cmocka_unit_test(test_bad_input_leaves_database_untouched),
		cmocka_unit_test(test_no_password_in_output),
		cmocka_unit_test(test_usage_and_help),
	};
	return cmocka_run_group_tests_name("up and list", tests, NULL, NULL);
}
