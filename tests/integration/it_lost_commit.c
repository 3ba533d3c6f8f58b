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
	assert_int_equal(pgt_run(&out, &err, "%s -d '%s' -m '%s' up", pgt_bin(), url, dir), 7);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_commit_acknowledgement_lost),
		cmocka_unit_test(test_rollback_commit_acknowledgement_lost),
	};
	return cmocka_run_group_tests_name("lost commit acknowledgement", tests, NULL, NULL);
}
