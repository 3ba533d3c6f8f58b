/* Integration tests: migrations that run outside a transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

static const char base[] =
	"CREATE TABLE t (id int, email text);\n"
	"INSERT INTO t VALUES (1, 'a'), (2, 'a');\n";

static const char concurrent[] =
	"-- garage:no-transaction\n"
	"-- garage:up\n"
	"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_id ON t (id);\n"
	"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_t_email ON t (email);\n"
	"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_both ON t (id, email);\n";

static void test_failure_is_reported_and_recoverable(void **state)
{
	char *db = pgt_create_db("gm_nt"), *dir = tfs_tempdir(), *out, *err, *expect, *snap;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", base);
	tfs_write(dir, "0002_idx.sql", concurrent);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	expect = gm_xasprintf("%s/0002_idx.sql:4:48: error: could not create unique index \"idx_t_email\"", dir);
	assert_contains(err, expect);
	assert_contains(err, "DETAIL: Key (email)=(a) is duplicated.");
	assert_contains(err, "statement 1 of 3 ran and stays; statement 2 failed and the rest did not run");
	assert_contains(err, "Clean up the invalid index it left: DROP INDEX CONCURRENTLY IF EXISTS public.idx_t_email;");
	free(expect);
	free(out);
	free(err);
	/* What ran stays; the index is INVALID; the rest did not run. */
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t_id'::regclass AND indisvalid"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t_email'::regclass AND NOT indisvalid"), 1);
	assert_true(pgt_is_null(c, "SELECT to_regclass('idx_t_both')::text"));

	/* list and verify show it. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list --format json"), 0);
	assert_contains(out, "\"version\":\"0002\",\"name\":\"idx\",\"state\":\"failed\"");
	assert_contains(out, "\"message\":\"statement 2 of 3 failed at line 4: could not create unique index \\\"idx_t_email\\\"\"");
	free(out);
	free(err);
	snap = gm_xasprintf("verify --allow-pending --snapshot '%s/schema/snapshot.yaml'", pgt_root());
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, snap), 1);
	assert_contains(out, "error failed_migration: ");
	assert_contains(out, "error invalid_index: table public.t: index idx_t_email is invalid");
	free(out);
	free(err);
	free(snap);

	/* Following the advice, up finishes it. */
	pgt_exec(c, "UPDATE t SET email = 'b' WHERE id = 2");
	pgt_exec(c, "DROP INDEX CONCURRENTLY IF EXISTS public.idx_t_email");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_idx.sql");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND indisvalid"), 3);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"
				     " WHERE version = 2 AND status = 'applied' AND NOT transactional"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 2 AND outcome = 'failed'"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 2 AND outcome = 'ok'"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_yaml_and_single_transaction(void **state)
{
	char *db = pgt_create_db("gm_nt_yaml"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	tfs_write(dir, "0002_idx.yaml",
		  "transaction: false\n"
		  "up: CREATE INDEX CONCURRENTLY idx_t ON t (id)\n"
		  "down: DROP INDEX CONCURRENTLY idx_t\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --single-transaction"), 2);
	assert_contains(err, "0002_idx.yaml: error: a no-transaction migration cannot be part of --single-transaction");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('t')::text"));
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t'::regclass AND indisvalid"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_concurrent_run_does_not_deadlock(void **state)
{
	char *db = pgt_create_db("gm_nt_race"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_slow_idx.sql",
		  "-- garage:no-transaction\n"
		  "SELECT pg_sleep(2);\n"
		  "CREATE INDEX CONCURRENTLY idx_t ON t (id);\n");
	/* A second run arrives while the first is in the middle of it: it
	 * must neither hang nor run the statements twice. */
	{
		char *cmd = gm_xasprintf("(%s -d 'dbname=%s' -m '%s' up > '%s/a.out' 2>&1; echo $? > '%s/a.rc')",
					 pgt_bin(), db, dir, dir, dir);
		char *pidfile = gm_xasprintf("%s/a.pid", dir), *rc = gm_xasprintf("%s/a.rc", dir), *text;
		int k;

		pgt_start(cmd, pidfile);
		pgt_wait_for_session(db, "wait_event = 'PgSleep'");
		assert_int_equal(pgt_run(&out, &err, "timeout 30 %s -d 'dbname=%s' -m '%s' up", pgt_bin(), db, dir), 5);
		assert_contains(err, "another session is applying this migration outside a transaction right now");
		free(out);
		free(err);
		for (k = 0; k < 300 && access(rc, F_OK) != 0; k++)
			usleep(100 * 1000);
		usleep(100 * 1000);
		text = tfs_read(rc);
		assert_int_equal(atoi(text), 0);
		free(text);
		free(cmd);
		free(pidfile);
		free(rc);
	}
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t'::regclass AND indisvalid"), 1);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "nothing to apply");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Issue 12: a failed no-transaction migration whose file was then
 * deleted could be cleared by nothing.  repair clears it, audited. */
static void test_repair_clears_a_failed_migration_without_file(void **state)
{
	char *db = pgt_create_db("gm_nt_rep"), *dir = tfs_tempdir(), *out, *err, *path, *snap;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", base);
	tfs_write(dir, "0002_idx.sql", concurrent);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 4);	/* duplicate emails */
	path = gm_xasprintf("%s/0002_idx.sql", dir);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 1);
	assert_contains(err, "garage-migrate repair to clear its entry");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
	assert_contains(out, "0002_idx: remove the entry of a failed no-transaction migration (statement 2 of 3 failed");
	assert_contains(out, "repaired 1 entry");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 2"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE action = 'repair' AND version = 2"
				     " AND message LIKE 'removed the entry of a failed no-transaction migration%'"), 1);
	/* The history check of verify is clean again. */
	snap = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml'", pgt_root());
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, snap), 1);	/* the schema is not the project's */
	assert_contains(out, "history: 1 applied, 0 pending - ok");
	free(out);
	free(err);
	free(snap);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* 0002_idx's claim, as a no-transaction run leaves it: the backend pid and
 * the claim's time to fill in (SQL). */
static const char claim[] =
	"INSERT INTO garage_migrate.schema_history (version, version_text, name, script, checksum, kind,"
	" transactional, status, backend_pid, message, applied_at) VALUES (2, '0002', 'idx', '0002_idx.sql',"
	" 'sha256:0000000000000000000000000000000000000000000000000000000000000000', 'sql', false,"
	" 'running', %s, 'ran statement 1 of 2', %s)";

/* A no-transaction migration's claim ("running") whose session is gone
 * (killed, or a row without one) reads as interrupted: nobody is applying
 * it, so repair clears it and up runs it again.  (While its session is
 * active it reads as running: test_concurrent_run_does_not_deadlock.) */
static void test_claim_of_a_gone_session_reads_as_interrupted(void **state)
{
	char *db = pgt_create_db("gm_nt_gone"), *dir = tfs_tempdir(), *out, *err, *pid, *sql;
	PGconn *c = pgt_connect(db), *gone;
	int k;

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_idx.sql", "-- garage:no-transaction\nCREATE INDEX CONCURRENTLY idx_t ON t (id);\n");
	/* The session that claimed it, gone: its pid is nobody's now. */
	gone = pgt_connect(db);
	pid = pgt_value(gone, "SELECT pg_backend_pid()");
	PQfinish(gone);
	sql = gm_xasprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid);
	for (k = 0; k < 100 && pgt_count(c, sql) > 0; k++)
		usleep(50 * 1000);
	free(sql);
	for (k = 0; k < 2; k++) {
		sql = gm_xasprintf(claim, k == 0 ? pid : "NULL", "now()");
		pgt_exec(c, sql);
		free(sql);
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
		assert_contains(out, "0002_idx: remove the entry of an interrupted no-transaction migration");
		free(out);
		free(err);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 2"), 0);
	}
	sql = gm_xasprintf(claim, "NULL", "now()");
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_idx.sql");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t'::regclass AND indisvalid"), 1);
	free(pid);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A claim whose session is still there but idle (between two statements,
 * or its client stopped with SIGSTOP) is running, not interrupted: up must
 * not run the migration a second time, nor repair drop its entry.  A
 * session that only reuses the pid (it started after the claim) does not
 * hold the claim. */
static void test_claim_of_an_idle_session_is_running(void **state)
{
	char *db = pgt_create_db("gm_nt_idle"), *dir = tfs_tempdir(), *out, *err, *pid, *sql;
	PGconn *c = pgt_connect(db), *idle;

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_idx.sql", "-- garage:no-transaction\nCREATE INDEX CONCURRENTLY idx_t ON t (id);\n"
				       "INSERT INTO t VALUES (1);\n");
	idle = pgt_connect(db);
	pid = pgt_value(idle, "SELECT pg_backend_pid()");
	sql = gm_xasprintf(claim, pid, "now()");
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 0);
	assert_contains(out, "running");
	assert_not_contains(out, "interrupted");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 5);
	assert_contains(err, "another session is applying this migration outside a transaction right now");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "repair --yes"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 2"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM t"), 0);
	/* Claimed before that session started: its pid was reused. */
	pgt_exec(c, "DELETE FROM garage_migrate.schema_history WHERE version = 2");
	sql = gm_xasprintf(claim, pid, "now() - interval '1 day'");
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
	assert_contains(out, "0002_idx: remove the entry of an interrupted no-transaction migration");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 2"), 0);
	free(pid);
	PQfinish(idle);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A no-transaction migration has no transaction for up's isolation guard
 * to check in: one that turns RLS off is stopped by the lint before
 * anything is sent, where before it ran unchecked. */
static void test_isolation_change_needs_a_transaction(void **state)
{
	char *db = pgt_create_db("gm_nt_iso"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int, organization_id uuid NOT NULL);\n"
				     "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\nALTER TABLE t FORCE ROW LEVEL SECURITY;\n"
				     "CREATE POLICY t_tenant ON t USING (organization_id = (SELECT app_current_org_id()));\n");
	pgt_exec(c, "CREATE FUNCTION public.app_current_org_id() RETURNS uuid LANGUAGE sql STABLE"
		    " AS $$ SELECT NULLIF(current_setting('app.current_org_id', true), '')::uuid $$");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO t VALUES (1, gen_random_uuid())");
	tfs_write(dir, "0002_off.sql", "-- garage:no-transaction\nALTER TABLE t DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 9);
	assert_contains(err, "[isolation_change_without_transaction]");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT relrowsecurity::int FROM pg_class WHERE relname = 't'"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Issue 12: when marking the migration applied failed, up said "applied"
 * and exited 0. */
static void test_failed_bookkeeping_is_a_failure(void **state)
{
	char *db = pgt_create_db("gm_nt_book"), *dir = tfs_tempdir(), *out, *err, *as_dep;
	PGconn *c = pgt_connect(db);

	(void)state;
	/* The history's owner may write the progress (message) but not the
	 * status: the claim and the progress go through, the final mark
	 * does not.  (A trigger would do it too, but the history takes none
	 * the tool did not make.) */
	as_dep = pgt_deployer(c, db, "gm_nt_dep");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up"), 0);
	pgt_exec(c, "SET ROLE gm_nt_dep;"
		    " REVOKE UPDATE ON garage_migrate.schema_history FROM gm_nt_dep;"
		    " GRANT UPDATE (message) ON garage_migrate.schema_history TO gm_nt_dep; RESET ROLE");
	tfs_write(dir, "0002_idx.sql", "-- garage:no-transaction\nCREATE INDEX CONCURRENTLY idx_t ON t (id);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "up"), 7);
	assert_not_contains(out, "applied 0002_idx.sql");
	assert_contains(err, "cannot mark the migration applied in garage_migrate.schema_history: permission denied");
	assert_contains(err, "every statement of the migration ran and stays");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 2 AND status = 'running'"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, NULL);
	free(as_dep);
	free(db);
}

/* A database default names pg_catalog after public, where a role without
 * privileges planted an operator that acts when the superuser calls it.
 * Neither the tool's progress updates nor the migration's statements may
 * resolve to it: the statements run with the user's path, pg_catalog
 * taken out (so searched first), as in a transaction. */
static void test_planted_operator_is_not_called(void **state)
{
	char *db = pgt_create_db("gm_nt_op"), *dir = tfs_tempdir(), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_nt_op_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET search_path = public, pg_catalog;"
		"DROP ROLE IF EXISTS gm_nt_mallory; CREATE ROLE gm_nt_mallory;"
		"GRANT CREATE ON SCHEMA public TO gm_nt_mallory;"
		"SET ROLE gm_nt_mallory;"
		"CREATE FUNCTION public.eq_hook(bigint, integer) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN EXECUTE $q$COPY (SELECT current_user) TO '%s'$q$; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  RETURN $1 OPERATOR(pg_catalog.=) $2; END $f$;"
		"CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = public.eq_hook);"
		"RESET ROLE", db, path);
	pgt_exec(c, sql);
	free(sql);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	tfs_write(dir, "0002_idx.sql", "-- garage:no-transaction\n"
		  "CREATE INDEX CONCURRENTLY idx_t ON t (id);\n"
		  "SELECT count(*) FROM t WHERE 1::bigint = 1;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_idx.sql");
	assert_int_not_equal(stat(path, &st), 0);
	/* Both migrations are recorded applied. */
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE status = 'applied'"), 2);
	unlink(path);
	free(path);
	free(out);
	free(err);
	pgt_exec(c, "DROP OWNED BY gm_nt_mallory");
	PQfinish(c);
	pgt_drop_db(db, "DROP ROLE gm_nt_mallory");
	tfs_rmdir(dir);
	free(db);
}

/* A migration that turns standard_conforming_strings off for the session
 * must not change how the next text the tool sends is split: read with
 * backslash escapes, 'a\'' ends early and the DROP after it would run
 * although the tool saw it inside the literal. */
static void test_standard_strings_stay_on(void **state)
{
	char *db = pgt_create_db("gm_nt_scs"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_off.sql", "CREATE TABLE victim (id int);\nSET standard_conforming_strings = off;\n");
	tfs_write(dir, "0002_notx.sql", "-- garage:no-transaction\n"
		  "SELECT 'a\\''; DROP TABLE victim; --';\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_notx.sql");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 'victim'"), 1);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Nor may client_encoding: in SJIS the bytes of E'\u0101\\' hold one
 * character that swallows the backslash, the literal ends early and the
 * DROP the tool saw inside it would run; in any other encoding the next
 * texts' strings would be stored mis-decoded. */
static void test_client_encoding_stays_utf8(void **state)
{
	char *db = pgt_create_db("gm_nt_enc"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_sjis.sql", "CREATE TABLE victim (id int);\nCREATE TABLE words (w text);\n"
		  "SET client_encoding = 'SJIS';\n");
	tfs_write(dir, "0002_notx.sql", "-- garage:no-transaction\n"
		  "SELECT E'\xc4\x81\\'; DROP TABLE victim; --';\n");
	tfs_write(dir, "0003_latin1.sql", "SET client_encoding = 'LATIN1';\n");
	tfs_write(dir, "0004_notx.sql", "-- garage:no-transaction\nINSERT INTO words VALUES ('caf\xc3\xa9');\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0004_notx.sql");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 'victim'"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM words WHERE w = U&'caf\\00e9'"), 1);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_is_reported_and_recoverable),
		cmocka_unit_test(test_yaml_and_single_transaction),
		cmocka_unit_test(test_concurrent_run_does_not_deadlock),
		cmocka_unit_test(test_repair_clears_a_failed_migration_without_file),
		cmocka_unit_test(test_claim_of_a_gone_session_reads_as_interrupted),
		cmocka_unit_test(test_claim_of_an_idle_session_is_running),
		cmocka_unit_test(test_failed_bookkeeping_is_a_failure),
		cmocka_unit_test(test_isolation_change_needs_a_transaction),
		cmocka_unit_test(test_planted_operator_is_not_called),
		cmocka_unit_test(test_standard_strings_stay_on),
		cmocka_unit_test(test_client_encoding_stays_utf8),
	};
	return cmocka_run_group_tests_name("no-transaction migrations", tests, NULL, NULL);
}
