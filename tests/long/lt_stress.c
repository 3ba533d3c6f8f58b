/* Long tests (make check-long, not make check): a migration of tens of
 * megabytes, and loops of kills and crashes in the middle of migrations.
 * After every one, the database is fully migrated or exactly as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

#define BIG_ROWS 600000

static void test_huge_file(void **state)
{
	char *db = pgt_create_db("gm_l_big"), *dir = tfs_tempdir(), *out, *err, *path;
	struct gm_strbuf sb = GM_STRBUF_INIT;
	PGconn *c = pgt_connect(db);
	FILE *f;
	int k;

	(void)state;
	/* About 30 MB: one CREATE TABLE and batches of INSERTs, with a
	 * multi-byte comment on every line. */
	gm_strbuf_adds(&sb, "-- garage:up\nCREATE TABLE big (id int PRIMARY KEY, note text);\n");
	for (k = 0; k < BIG_ROWS; k++) {
		if (k % 1000 == 0)
			gm_strbuf_adds(&sb, k ? ";\nINSERT INTO big VALUES\n" : "INSERT INTO big VALUES\n");
		gm_strbuf_addf(&sb, "%s(%d, 'row %d: café ✓ %032d')", k % 1000 ? ",\n" : "", k, k, k);
	}
	gm_strbuf_adds(&sb, ";\n-- garage:down\nDROP TABLE big;\n");
	path = gm_xasprintf("%s/0001_big.sql", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(sb.buf, 1, sb.len, f);
	fclose(f);
	assert_true(sb.len > 30 * 1000 * 1000);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM big"), BIG_ROWS);
	gm_strbuf_release(&sb);
	free(path);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Kills the client at a random moment of a run, many times; after each,
 * every recorded migration's objects exist and no unrecorded one's do. */
static void test_kill_loop(void **state)
{
	char *db = pgt_create_db("gm_l_kill"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);
	int round, k;

	(void)state;
	srand((unsigned)time(NULL));
	for (k = 1; k <= 6; k++) {
		char name[64], *sql = gm_xasprintf("SELECT pg_sleep(0.%d);\nCREATE TABLE t%d (id int);\n"
						   "-- garage:down\nDROP TABLE t%d;\n", k, k, k);
		snprintf(name, sizeof(name), "%04d_t%d.sql", k, k);
		tfs_write(dir, name, sql);
		free(sql);
	}
	for (round = 0; round < 25; round++) {
		int ms = 100 + rand() % 2000;
		long applied, tables;

		assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s' up & p=$!; sleep %d.%03d; kill -9 $p 2>/dev/null; wait $p; true",
					 pgt_bin(), db, dir, ms / 1000, ms % 1000), 0);
		free(out);
		free(err);
		usleep(1200 * 1000);	/* the server notices within 1s */
		if (pgt_is_null(c, "SELECT to_regclass('garage_migrate.schema_history')::text")) {
			applied = 0;
		} else {
			applied = pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history");
		}
		tables = pgt_count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname ~ '^t[0-9]$'");
		if (applied != tables)
			fail_msg("round %d (kill after %d ms): %ld recorded, %ld tables", round, ms, applied, tables);
		/* Every other round, step back to a random point. */
		if (round % 2 && applied)
			assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "rollback --to 0"), 0);
	}
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 6);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_crash_loop(void **state)
{
	char *db = pgt_create_db("gm_l_crash"), *dir = tfs_tempdir(), *out, *err;
	int round, k;

	(void)state;
	/* As a real deployment commits: the test server does not by default. */
	{
		PGconn *c = pgt_connect("postgres");
		char *sql = gm_xasprintf("ALTER DATABASE \"%s\" SET synchronous_commit = on", db);
		pgt_exec(c, sql);
		free(sql);
		PQfinish(c);
	}
	for (k = 1; k <= 4; k++) {
		char name[64], *sql = gm_xasprintf("SELECT pg_sleep(0.5);\nCREATE TABLE t%d (id int);\n", k);
		snprintf(name, sizeof(name), "%04d_t%d.sql", k, k);
		tfs_write(dir, name, sql);
		free(sql);
	}
	for (round = 0; round < 4; round++) {
		PGconn *c;
		long applied, tables;

		assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s' up >/dev/null 2>&1 & p=$!; sleep 0.%d;"
					 " %s/scripts/test-server.sh crash-restart; wait $p; true",
					 pgt_bin(), db, dir, 3 + round * 2, pgt_root()), 0);
		free(out);
		free(err);
		c = pgt_connect(db);
		applied = pgt_is_null(c, "SELECT to_regclass('garage_migrate.schema_history')::text")
			? 0 : pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history");
		tables = pgt_count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname ~ '^t[0-9]$'");
		if (applied != tables)
			fail_msg("crash round %d: %ld recorded, %ld tables", round, applied, tables);
		PQfinish(c);
	}
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_file),
		cmocka_unit_test(test_kill_loop),
		cmocka_unit_test(test_crash_loop),
	};
	return cmocka_run_group_tests_name("long: big files, kill and crash loops", tests, NULL, NULL);
}
