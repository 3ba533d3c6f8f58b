/* Integration tests: everything through PgBouncer in transaction pooling
 * mode (the harness starts it in front of the test server), the setup
 * hosted databases offer on their pooler port.  No command may rely on
 * session state across transactions. */
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

static char *url(const char *db)
{
	const char *b = getenv("GM_TEST_BOUNCER_URL");

	if (!b || !*b)
		fail_msg("GM_TEST_BOUNCER_URL is not set: pgbouncer did not start (is it installed?)");
	return gm_xasprintf("%s/%s", b, db);
}

static int via_pooler(char **out, char **err, const char *db, const char *args)
{
	char *u = url(db);
	int rc = pgt_run(out, err, "%s -d '%s' -m '%s/migrations' %s", pgt_bin(), u, pgt_root(), args);

	free(u);
	return rc;
}

static void test_every_command_through_the_pooler(void **state)
{
	char *db = pgt_create_db("gm_pool"), *out, *err, *args;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(via_pooler(&out, &err, db, "up"), 0);
	assert_contains(out, "8 migrations applied");
	free(out);
	free(err);
	assert_int_equal(via_pooler(&out, &err, db, "list"), 0);
	assert_contains(out, "8 migrations: 8 applied, 0 pending");
	free(out);
	free(err);
	args = gm_xasprintf("verify --isolation --snapshot '%s/schema/snapshot.yaml'", pgt_root());
	assert_int_equal(via_pooler(&out, &err, db, args), 0);
	assert_contains(out, "isolation: 96 checks acting as tenant B: 96 passed, 0 failed, 0 skipped - ok");
	assert_contains(out, "verify passed");
	free(out);
	free(err);
	assert_int_equal(via_pooler(&out, &err, db, "rollback --steps 2"), 0);
	assert_contains(out, "2 migrations rolled back");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 6);
	assert_int_equal(via_pooler(&out, &err, db, "up"), 0);
	free(out);
	free(err);
	assert_int_equal(via_pooler(&out, &err, db, args), 0);
	free(out);
	free(err);
	free(args);
	assert_int_equal(via_pooler(&out, &err, db, "log --limit 3"), 0);
	assert_contains(out, "up ");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

static void test_concurrent_runs_through_the_pooler(void **state)
{
	char *db = pgt_create_db("gm_pool_race"), *dir = tfs_tempdir(), *out, *err, *script, *u = url(db);
	PGconn *c;

	(void)state;
	/* The pool has fewer server connections than clients: the lock is
	 * transaction-level, so it cannot be lost between statements. */
	script = gm_xasprintf("fails=0\n"
			      "for i in 1 2 3 4 5 6 7 8; do %s -d '%s' -m '%s/migrations' up & done\n"
			      "for j in 1 2 3 4 5 6 7 8; do wait -n || fails=$((fails + 1)); done\n"
			      "echo \"failed=$fails\"\n", pgt_bin(), u, pgt_root());
	tfs_write(dir, "race.sh", script);
	assert_int_equal(pgt_run(&out, &err, "bash '%s/race.sh'", dir), 0);
	assert_contains(out, "failed=0");
	free(out);
	free(err);
	c = pgt_connect(db);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 8);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE outcome = 'ok'"), 8);
	PQfinish(c);
	free(script);
	free(u);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_through_the_pooler),
		cmocka_unit_test(test_concurrent_runs_through_the_pooler),
	};
	return cmocka_run_group_tests_name("through PgBouncer (transaction pooling)", tests, NULL, NULL);
}
