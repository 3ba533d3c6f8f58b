/* Integration tests: lock waits, dying clients, a crashing server and
 * concurrent up and rollback.  Whatever happens, a migration is applied
 * and recorded, or neither. */
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
#include "gm_history.h"
#include "gm_strbuf.h"
#include "pgtest.h"

#define HISTORY_COUNT "SELECT count(*) FROM garage_migrate.schema_history"

static char *sleepy_dir(double seconds)
{
	char *dir = tfs_tempdir(), *sql;

	tfs_write(dir, "0001_first.sql", "CREATE TABLE first (id int);\n-- garage:down\nDROP TABLE first;\n");
	sql = gm_xasprintf("SELECT pg_sleep(%.1f);\nCREATE TABLE after_sleep (id int);\n", seconds);
	tfs_write(dir, "0002_slow.sql", sql);
	free(sql);
	return dir;
}

/* Waits until no garage-migrate session is left on database db. */
static void wait_for_sessions_to_end(const char *db)
{
	PGconn *c = pgt_connect("postgres");
	char *sql = gm_xasprintf("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'garage-migrate'"
				 " AND datname = '%s'", db);
	int k;

	for (k = 0; k < 100; k++) {
		if (pgt_count(c, sql) == 0)
			break;
		usleep(100 * 1000);
	}
	assert_true(k < 100);
	free(sql);
	PQfinish(c);
}

static void test_lock_timeout_names_table_and_blocker(void **state)
{
	char *db = pgt_create_db("gm_r_lock"), *dir = tfs_tempdir(), *out, *err, *expect, *pid;
	PGconn *c = pgt_connect(db), *blocker;

	(void)state;
	tfs_write(dir, "0001_busy.sql", "CREATE TABLE busy (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_alter.sql", "ALTER TABLE busy ADD COLUMN x int;\nCREATE TABLE other (id int);\n");
	blocker = pgt_connect(db);
	pgt_exec(blocker, "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE");
	pid = pgt_value(blocker, "SELECT pg_backend_pid()::text");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --lock-timeout 300ms"), 5);
	expect = gm_xasprintf("0002_alter.sql:1:1: error: lock timeout: table public.busy is locked (AccessShareLock) by pid %s (", pid);
	assert_contains(err, expect);
	assert_contains(err, "idle in transaction since");
	assert_contains(err, "DETAIL: canceling statement due to lock timeout");
	free(expect);
	free(out);
	free(err);
	/* Nothing partial. */
	assert_true(pgt_is_null(c, "SELECT to_regclass('other')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	pgt_exec(blocker, "COMMIT");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --lock-timeout 300ms"), 0);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	free(pid);
	PQfinish(blocker);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_wait_for_the_migration_lock_is_bounded(void **state)
{
	char *db = pgt_create_db("gm_r_wait"), *dir = tfs_tempdir(), *out, *err, *sql, *expect, *pid;
	PGconn *c = pgt_connect(db), *other;

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	/* Another run holds the migration lock. */
	other = pgt_connect(db);
	sql = gm_xasprintf("SELECT pg_advisory_lock(%lld)", gm_history_lock_key());
	pgt_exec(other, sql);
	free(sql);
	pid = pgt_value(other, "SELECT pg_backend_pid()::text");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --wait-timeout 300ms --lock-timeout 5s"), 5);
	expect = gm_xasprintf("garage-migrate: timed out waiting for another garage-migrate run to release the migration lock; held by pid %s", pid);
	assert_contains(err, expect);
	assert_contains(err, "raise --wait-timeout");
	free(expect);
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('a')::text"));
	PQfinish(other);	/* releases it */
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --wait-timeout 300ms"), 0);
	free(pid);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Starts up on dir in the background, waits until its transaction sleeps
 * inside 0002 (after 0001 was applied), and kills it. */
static void kill_while_sleeping(const char *db, const char *dir, const char *args)
{
	char *cmd = gm_xasprintf("%s -d 'dbname=%s' -m '%s' %s >/dev/null 2>&1", pgt_bin(), db, dir, args);
	char *pidfile = gm_xasprintf("%s/up.pid", dir), *pid;

	pgt_start(cmd, pidfile);
	pgt_wait_for_session(db, "wait_event = 'PgSleep'");
	pid = tfs_read(pidfile);
	assert_int_equal(pgt_run(NULL, NULL, "kill -9 %d", atoi(pid)), 0);
	free(pid);
	free(pidfile);
	free(cmd);
}

static void test_killed_client_leaves_nothing(void **state)
{
	char *db = pgt_create_db("gm_r_kill"), *dir = sleepy_dir(4), *out, *err;
	PGconn *c;

	(void)state;
	/* SIGKILL while the server sleeps inside 0002's transaction. */
	kill_while_sleeping(db, dir, "up");
	wait_for_sessions_to_end(db);
	c = pgt_connect(db);
	assert_true(pgt_is_null(c, "SELECT to_regclass('after_sleep')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list --format json"), 0);
	assert_contains(out, "\"version\":\"0002\",\"name\":\"slow\",\"state\":\"pending\"");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_false(pgt_is_null(c, "SELECT to_regclass('after_sleep')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_killed_client_single_transaction(void **state)
{
	char *db = pgt_create_db("gm_r_kill1"), *dir = sleepy_dir(4);
	PGconn *c;

	(void)state;
	kill_while_sleeping(db, dir, "up --single-transaction");
	wait_for_sessions_to_end(db);
	c = pgt_connect(db);
	/* All or nothing: not even the first migration, nor the history. */
	assert_true(pgt_is_null(c, "SELECT to_regclass('first')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A fresh database whose default_transaction_isolation is isolation
 * (unless NULL): a snapshot taken before the migration lock's wait would
 * read the history as it was then. */
static char *db_with_isolation(const char *prefix, const char *isolation)
{
	char *db = pgt_create_db(prefix), *sql;
	PGconn *c = pgt_connect(db);

	if (isolation) {
		sql = gm_xasprintf("ALTER DATABASE \"%s\" SET default_transaction_isolation = '%s'", db, isolation);
		pgt_exec(c, sql);
		free(sql);
	}
	PQfinish(c);
	return db;
}

static void rollback_stops_when_history_changes(const char *isolation)
{
	char *db = db_with_isolation("gm_r_stale", isolation), *dir = tfs_tempdir(), *sql, *text;
	PGconn *c = pgt_connect(db), *other;
	struct pgt_bg bg;

	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --to 1"), 0);
	/* "Another run" holds the migration lock: the rollback plans (0001
	 * is the newest) and waits for it. */
	other = pgt_connect(db);
	sql = gm_xasprintf("SELECT pg_advisory_lock(%lld)", gm_history_lock_key());
	pgt_exec(other, sql);
	free(sql);
	pgt_gm_start(&bg, db, dir, "rollback");
	pgt_wait_for_session(db, "wait_event = 'advisory'");
	/* Meanwhile that run applies 0002, then lets go. */
	pgt_exec(other, "CREATE TABLE b (id int);"
		 "INSERT INTO garage_migrate.schema_history (version, version_text, name, script, checksum, kind)"
		 " VALUES (2, '0002', 'b', '0002_b.sql', 'sha256:0', 'sql')");
	pgt_exec(other, "SELECT pg_advisory_unlock_all()");
	assert_int_equal(pgt_gm_finish(&bg, &text), 1);
	assert_contains(text, "garage-migrate: not rolled back: 0002_b was applied after this rollback was planned");
	assert_contains(text, "another garage-migrate run changed the history meanwhile");
	free(text);
	/* 0001 was not pulled out from under 0002. */
	assert_false(pgt_is_null(c, "SELECT to_regclass('a')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 2);
	PQfinish(other);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_rollback_stops_when_history_changes_under_it(void **state)
{
	(void)state;
	rollback_stops_when_history_changes(NULL);
}

/* The tool's transactions are READ COMMITTED whatever the default: each
 * re-check under the lock must see what committed while it waited. */
static void test_rollback_stops_under_a_repeatable_read_default(void **state)
{
	(void)state;
	rollback_stops_when_history_changes("repeatable read");
	rollback_stops_when_history_changes("serializable");
}

static void plans_again_when_history_changes(const char *isolation)
{
	char *db = db_with_isolation("gm_r_replan", isolation), *dir = tfs_tempdir(), *sql, *text;
	PGconn *c = pgt_connect(db), *other;
	struct pgt_bg bg;

	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (a_id int REFERENCES a (id));\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --to 1"), 0);
	/* "Another run" holds the migration lock: up plans 0002 on top of
	 * 0001 and waits. */
	other = pgt_connect(db);
	sql = gm_xasprintf("SELECT pg_advisory_lock(%lld)", gm_history_lock_key());
	pgt_exec(other, sql);
	free(sql);
	pgt_gm_start(&bg, db, dir, "up");
	pgt_wait_for_session(db, "wait_event = 'advisory'");
	/* Meanwhile that run rolls 0001 back, then lets go. */
	pgt_exec(other, "DROP TABLE a; DELETE FROM garage_migrate.schema_history WHERE version = 1");
	pgt_exec(other, "SELECT pg_advisory_unlock_all()");
	/* up noticed, planned again, and applied both. */
	assert_int_equal(pgt_gm_finish(&bg, &text), 0);
	assert_contains(text, "applied 0001_a.sql");
	assert_contains(text, "applied 0002_b.sql");
	free(text);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 2);
	PQfinish(other);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_up_plans_again_when_history_changes_under_it(void **state)
{
	(void)state;
	plans_again_when_history_changes(NULL);
}

static void test_up_plans_again_under_a_repeatable_read_default(void **state)
{
	(void)state;
	plans_again_when_history_changes("repeatable read");
	plans_again_when_history_changes("serializable");
}

/* The test server commits asynchronously for speed; a crash would lose
 * the last commits.  Crash tests commit as a real deployment does. */
static void commit_synchronously(const char *db)
{
	PGconn *c = pgt_connect("postgres");
	char *sql = gm_xasprintf("ALTER DATABASE \"%s\" SET synchronous_commit = on", db);

	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
}

/* The connection option libpq holds for key must be want. */
static void assert_option(PGconn *conn, const char *key, const char *want)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	const char *got = NULL;

	for (o = opts; o && o->keyword && !got; o++)
		if (!strcmp(o->keyword, key))
			got = o->val ? o->val : "";
	if (!got || strcmp(got, want))
		fail_msg("connection option %s is %s, not %s", key, got ? got : "(none)", want);
	PQconninfoFree(opts);
}

/* A server that vanishes without a word (a host gone mid-commit) is
 * noticed in about a minute, not after the kernel's two idle hours: the
 * connection carries keepalives and a TCP user timeout unless the URL
 * sets its own. */
static void test_a_silent_peer_is_noticed(void **state)
{
	char *db = pgt_create_db("gm_rel_keepalive"), *url;
	struct gm_db *conn = NULL;

	(void)state;
	url = gm_xasprintf("host=127.0.0.1 port=%s dbname=%s", getenv("PGPORT"), db);
	assert_null(gm_db_connect(url, &conn));
	assert_option(conn->conn, "keepalives_idle", "30");
	assert_option(conn->conn, "keepalives_count", "3");
	assert_option(conn->conn, "tcp_user_timeout", "60000");
	gm_db_close(conn);
	free(url);
	url = gm_xasprintf("postgresql://127.0.0.1:%s/%s?keepalives_idle=7&tcp_user_timeout=0", getenv("PGPORT"), db);
	assert_null(gm_db_connect(url, &conn));
	assert_option(conn->conn, "keepalives_idle", "7");
	assert_option(conn->conn, "tcp_user_timeout", "0");
	gm_db_close(conn);
	free(url);
	free(db);
}

static void test_server_crash_leaves_nothing(void **state)
{
	char *db = pgt_create_db("gm_r_crash"), *dir = sleepy_dir(5), *out, *err;
	PGconn *c;

	(void)state;
	commit_synchronously(db);
	{
		char *cmd = gm_xasprintf("(%s -d 'dbname=%s' -m '%s' up > '%s/run.out' 2>&1; echo \"status=$?\" >> '%s/run.out')",
					 pgt_bin(), db, dir, dir, dir);
		char *pidfile = gm_xasprintf("%s/up.pid", dir), *path = gm_xasprintf("%s/run.out", dir);
		int k;

		pgt_start(cmd, pidfile);
		pgt_wait_for_session(db, "wait_event = 'PgSleep'");
		assert_int_equal(pgt_run(NULL, NULL, "%s/scripts/test-server.sh crash-restart", pgt_root()), 0);
		for (k = 0; k < 300; k++) {
			out = tfs_read(path);
			if (strstr(out, "status="))
				break;
			free(out);
			out = NULL;
			usleep(100 * 1000);
		}
		assert_non_null(out);
		err = gm_xstrdup("");
		free(cmd);
		free(pidfile);
		free(path);
	}
	assert_contains(out, "applied 0001_first.sql");
	assert_contains(out, "status=4");
	assert_contains(out, "0002_slow.sql:1:1: error:");
	assert_contains(out, "the connection to the database was lost while applying 0002_slow.sql");
	assert_contains(out, "reconnected and read the history: the server rolled it back, so nothing of it took effect");
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_true(pgt_is_null(c, "SELECT to_regclass('after_sleep')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	tfs_write(dir, "0002_slow.sql", "SELECT pg_sleep(5);\nCREATE TABLE after_sleep (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_up_racing_rollback(void **state)
{
	char *db = pgt_create_db("gm_r_race"), *out, *err, *snap;
	int round;

	(void)state;
	snap = gm_xasprintf("%s/schema/snapshot.yaml", pgt_root());
	for (round = 0; round < 3; round++) {
		/* Both at once, each one migration per transaction under the
		 * migration lock: whatever interleaving, no half migration. */
		assert_int_equal(pgt_run(&out, &err,
			"%s -d 'dbname=%s' -m '%s/migrations' up & a=$!;"
			" %s -d 'dbname=%s' -m '%s/migrations' rollback --to 0 --allow-data-loss & b=$!;"
			" wait $a; ra=$?; wait $b; rb=$?; echo \"up=$ra rollback=$rb\"",
			pgt_bin(), db, pgt_root(), pgt_bin(), db, pgt_root()), 0);
		/* up always completes (it plans again when the history changes
		 * under it); rollback either completes or, when up applied more
		 * after it planned, stops cleanly (exit 1). */
		assert_contains(out, "up=0 rollback=");
		if (!strstr(out, "rollback=0")) {
			assert_contains(out, "rollback=1");
			assert_contains(err, "was applied after this rollback was planned");
		}
		free(out);
		free(err);
		/* Whatever state it ended in, up completes it cleanly... */
		assert_int_equal(pgt_gm(&out, &err, db, "up"), 0);
		free(out);
		free(err);
		/* ...to exactly the committed schema. */
		assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s/migrations' verify --snapshot '%s'",
					 pgt_bin(), db, pgt_root(), snap), 0);
		free(out);
		free(err);
	}
	free(snap);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_timeout_names_table_and_blocker),
		cmocka_unit_test(test_wait_for_the_migration_lock_is_bounded),
		cmocka_unit_test(test_killed_client_leaves_nothing),
		cmocka_unit_test(test_killed_client_single_transaction),
		cmocka_unit_test(test_up_racing_rollback),
		cmocka_unit_test(test_rollback_stops_when_history_changes_under_it),
		cmocka_unit_test(test_rollback_stops_under_a_repeatable_read_default),
		cmocka_unit_test(test_up_plans_again_when_history_changes_under_it),
		cmocka_unit_test(test_up_plans_again_under_a_repeatable_read_default),
		/* Last: it restarts the server under everyone's feet. */
		cmocka_unit_test(test_server_crash_leaves_nothing),
		cmocka_unit_test(test_a_silent_peer_is_noticed),
	};
	return cmocka_run_group_tests_name("reliability", tests, NULL, NULL);
}
