/* Integration tests: what differs between the supported majors (14 to 18)
 * on the server the suite runs on.  make check runs them on Debian's 15;
 * make check-matrix on every major, where the newer syntax is tried. */
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

/* A snapshot names the major it was dumped on; its own dump verifies. */
static void test_dump_names_the_major(void **state)
{
	char *db = pgt_create_db("gm_mj_dump"), *out, *err, *want;

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_gm(&out, &err, db, "dump"), 0);
	want = gm_xasprintf("\nformat: 2\npostgresql: %d\nschemas:\n", pgt_server_major());
	assert_contains(out, want);
	/* 18 lists NOT NULL among the constraints; the snapshot does not. */
	assert_contains(out, "  table public.users column email:\n    default: \"\"\n    not_null: \"true\"\n");
	if (strstr(out, "_not_null:\n"))
		fail_msg("a NOT NULL shows as a constraint:\n%s", out);
	free(want);
	free(out);
	free(err);
	free(db);
}

/* Syntax newer than PostgreSQL 15, which Debian's libpg_query (the lints'
 * parser) does not know, is applied, verified and rolled back like any
 * other: never an error of the tool. */
static void test_newer_syntax_is_not_an_error(void **state)
{
	char *dir, *db, *out, *err;
	struct gm_strbuf up = GM_STRBUF_INIT;
	int major = pgt_server_major();

	(void)state;
	PGT_NEEDS_MAJOR(16, "no syntax newer than 15's grammar to try");
	gm_strbuf_adds(&up, "-- garage:up\nCREATE TABLE widgets (a int, b int);\n"
			    "ALTER TABLE widgets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;\n"
			    "CREATE ROLE gm_mj_reader NOLOGIN;\n"
			    /* 16: the options of a role grant. */
			    "GRANT pg_monitor TO gm_mj_reader WITH INHERIT FALSE, SET FALSE;\n");
	if (major >= 17)	/* 17: MAINTAIN, MERGE ... RETURNING */
		gm_strbuf_adds(&up, "GRANT MAINTAIN ON widgets TO gm_mj_reader;\n"
				    "MERGE INTO widgets w USING (VALUES (1)) v(a) ON w.a = v.a"
				    " WHEN NOT MATCHED THEN INSERT (a) VALUES (v.a) RETURNING merge_action();\n");
	if (major >= 18)	/* 18: virtual generated columns, NOT NULL NOT VALID */
		gm_strbuf_adds(&up, "ALTER TABLE widgets ADD COLUMN c int GENERATED ALWAYS AS (a * 2) VIRTUAL;\n"
				    "ALTER TABLE widgets ADD CONSTRAINT widgets_b_nn NOT NULL b NOT VALID;\n");
	gm_strbuf_adds(&up, "-- garage:down\nDROP TABLE widgets;\nDROP ROLE gm_mj_reader;\n");
	dir = tfs_tempdir();
	tfs_write(dir, "0001_newer.sql", up.buf);
	gm_strbuf_release(&up);
	db = pgt_create_db("gm_mj_new");

	if (pgt_gm_dir(&out, &err, db, dir, "up") != 0)
		fail_msg("up:\n%s%s", out, err);
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "dump -o snap.yaml"), 0);
	free(out);
	free(err);
	out = tfs_read("snap.yaml");
	if (major >= 17)
		assert_contains(out, "  table public.widgets grant gm_mj_reader:\n    privileges: \"MAINTAIN\"\n");
	if (major >= 18)	/* a NOT NULL old rows need not obey */
		assert_contains(out, "  table public.widgets column b:\n    default: \"\"\n    not_null: \"true (not valid)\"\n");
	free(out);
	if (pgt_gm_dir(&out, &err, db, dir, "verify --snapshot snap.yaml") != 0)
		fail_msg("verify:\n%s%s", out, err);
	assert_contains(out, "verify passed: 0 errors, 0 warnings");
	free(out);
	free(err);
	/* MERGE left a row: the guard counts it, as on any major. */
	if (pgt_gm_dir(&out, &err, db, dir, "rollback --allow-data-loss") != 0)
		fail_msg("rollback:\n%s%s", out, err);
	free(out);
	free(err);
	remove("snap.yaml");
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_names_the_major),
		cmocka_unit_test(test_newer_syntax_is_not_an_error),
	};
	return cmocka_run_group_tests_name("what differs between majors", tests, NULL, NULL);
}
