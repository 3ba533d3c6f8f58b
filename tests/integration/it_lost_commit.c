/* Integration tests: a connection that drops right after the server
 * committed.  A proxy (tests/tools/gm_proxy.c) forwards the session and
 * swallows the server's "COMMIT" completion, then closes: the commit
 * happened, the client never heard so.  The tool must not guess: it
 * reconnects, reads the history and says what it found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

#define HISTORY_COUNT "SELECT count(*) FROM garage_migrate.schema_history"

/* Starts the proxy on a free-looking port in front of the test server;
 * returns the URL of db through it (caller frees). */
static char *proxied_url(const char *db, int drop_after, const char *dir)
{
	const char *proxy = getenv("GM_PROXY"), *port = getenv("GM_TEST_PORT");
	int pport = atoi(port ? port : "0") + 7 + (int)(getpid() % 500);
	char *cmd, *pidfile = gm_xasprintf("%s/proxy.pid", dir);

	if (!proxy || !port)
		fail_msg("GM_PROXY and GM_TEST_PORT are set by make check");
	cmd = gm_xasprintf("%s %d %s --drop-after-commit %d --seconds 60", proxy, pport, port, drop_after);
	pgt_start(cmd, pidfile);
	/* Wait until it listens. */
	for (int k = 0; k < 100; k++) {
		if (pgt_run(NULL, NULL, "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'", pport) == 0)
			break;
		usleep(50 * 1000);
	}
	free(cmd);
	free(pidfile);
	return gm_xasprintf("postgresql://postgres@127.0.0.1:%d/%s?sslmode=disable&gssencmode=disable", pport, db);
}

static void stop_proxy(const char *dir)
{
	pgt_run(NULL, NULL, "kill $(cat '%s/proxy.pid') 2>/dev/null; true", dir);
}

static char *two_migrations(void)
{
	char *dir = tfs_tempdir();

	tfs_write(dir, "0001_first.sql", "-- garage:up\nCREATE TABLE first_t (id int);\n-- garage:down\nDROP TABLE first_t;\n");
	tfs_write(dir, "0002_second.sql", "-- garage:up\nCREATE TABLE second_t (id int);\n-- garage:down\nDROP TABLE second_t;\n");
	return dir;
}

static void test_up_commit_acknowledgement_lost(void **state)
{
	char *db = pgt_create_db("gm_lost_up"), *dir = two_migrations(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	url = proxied_url(db, 1, dir);
	/* One migration in flight, the first COMMIT's answer swallowed. */
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' up --to 1", pgt_bin(), url, dir), 7);
	assert_contains(err, "the connection to the database was lost while applying 0001_first.sql");
	assert_contains(err, "reconnected and read the history: the server committed it before the connection dropped, so it took effect");
	assert_not_contains(err, "rolled back");
	/* What it said is what happened. */
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_false(pgt_is_null(c, "SELECT to_regclass('first_t')::text"));
	free(out);
	free(err);
	/* The next run carries on from there. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_second.sql");
	assert_not_contains(out, "0001_first.sql");
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A batch (one string, a transaction per migration) whose connection
 * drops after the server committed its last migration: the first one's
 * commit was answered and reported as it happened; the last one's was
 * not, and reconciling finds it applied. */
static void test_up_batch_lost_after_its_last_commit(void **state)
{
	char *db = pgt_create_db("gm_lost_last"), *dir = two_migrations(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	url = proxied_url(db, 2, dir);
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' up", pgt_bin(), url, dir), 7);
	assert_contains(out, "applied 0001_first.sql (");
	assert_contains(err, "the connection to the database was lost while applying 0002_second.sql");
	assert_contains(err, "the server committed it before the connection dropped, so it took effect");
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	assert_false(pgt_is_null(c, "SELECT to_regclass('second_t')::text"));
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "nothing to apply");
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A batch whose connection drops in the middle: the first migration's
 * COMMIT answer is swallowed while the second one runs, which the server
 * then rolls back (it notices the dead connection), and the third never
 * starts.  Reconciling tells them apart, migration by migration. */
static void test_up_batch_lost_in_the_middle(void **state)
{
	char *db = pgt_create_db("gm_lost_mid"), *dir = tfs_tempdir(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_first.sql", "CREATE TABLE first_t (id int);\n");
	tfs_write(dir, "0002_slow.sql", "SELECT pg_sleep(3);\nCREATE TABLE slow_t (id int);\n");
	tfs_write(dir, "0003_third.sql", "CREATE TABLE third_t (id int);\n");
	url = proxied_url(db, 1, dir);
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' up", pgt_bin(), url, dir), 4);
	assert_contains(out, "applied 0001_first.sql (its commit was not answered: the history, read after reconnecting, says so)");
	assert_not_contains(out, "0002");
	assert_contains(err, "the connection to the database was lost while applying 0002_slow.sql");
	assert_contains(err, "reconnected and read the history: the server rolled it back, so nothing of it took effect");
	/* Nothing of 0003 after the lint's warnings (which name every file). */
	assert_non_null(strstr(err, "the connection to the database was lost"));
	assert_not_contains(strstr(err, "the connection to the database was lost"), "0003");
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_false(pgt_is_null(c, "SELECT to_regclass('first_t')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('slow_t')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('third_t')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE version = 2 AND outcome = 'failed'"), 1);
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "applied 0002_slow.sql");
	assert_contains(out, "applied 0003_third.sql");
	assert_not_contains(out, "0001");
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_rollback_commit_acknowledgement_lost(void **state)
{
	char *db = pgt_create_db("gm_lost_rb"), *dir = two_migrations(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	url = proxied_url(db, 1, dir);
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' rollback", pgt_bin(), url, dir), 7);
	assert_contains(err, "the connection to the database was lost while rolling back 0002_second.sql");
	assert_contains(err, "the server committed it before the connection dropped, so it took effect");
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_true(pgt_is_null(c, "SELECT to_regclass('second_t')::text"));
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* repair: the same reconciling (it said "cannot record the repair" while
 * the repair had committed). */
static void test_repair_commit_acknowledgement_lost(void **state)
{
	char *db = pgt_create_db("gm_lost_repair"), *dir = two_migrations(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_second.sql", "-- garage:up\nCREATE TABLE second_t (id int); -- reviewed\n"
		  "-- garage:down\nDROP TABLE second_t;\n");
	url = proxied_url(db, 1, dir);
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' repair --yes", pgt_bin(), url, dir), 7);
	assert_contains(err, "the connection to the database was lost while repairing the history entry of 0002_second.sql");
	assert_contains(err, "the server committed it before the connection dropped, so it took effect");
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	/* What it said is what happened: nothing left to repair. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 0);
	assert_not_contains(out, "modified");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Making the history, the first thing baseline (and up) does on a fresh
 * database: a lost answer to its COMMIT is said so, not blamed on a
 * missing CREATE privilege; run again, it carries on. */
static void test_history_creation_acknowledgement_lost(void **state)
{
	char *db = pgt_create_db("gm_lost_make"), *dir = two_migrations(), *url, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE first_t (id int)");	/* what 0001 makes, there before */
	PQfinish(c);
	url = proxied_url(db, 1, dir);
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' baseline --version 1", pgt_bin(), url, dir), 7);
	assert_contains(err, "the connection was lost while the history was being made");
	assert_not_contains(err, "needs CREATE");
	free(out);
	free(err);
	stop_proxy(dir);
	free(url);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1"), 0);
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_commit_acknowledgement_lost),
		cmocka_unit_test(test_up_batch_lost_after_its_last_commit),
		cmocka_unit_test(test_up_batch_lost_in_the_middle),
		cmocka_unit_test(test_rollback_commit_acknowledgement_lost),
		cmocka_unit_test(test_repair_commit_acknowledgement_lost),
		cmocka_unit_test(test_history_creation_acknowledgement_lost),
	};
	return cmocka_run_group_tests_name("lost commit acknowledgement", tests, NULL, NULL);
}
