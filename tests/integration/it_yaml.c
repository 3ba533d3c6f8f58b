/* Integration tests: YAML migrations on a real PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_strbuf.h"
#include "pgtest.h"

/* The project's migrations with the YAML ones replaced by the SQL they
 * replaced (tests/fixtures/sql-equivalents). */
static char *sql_only_dir(void)
{
	char *dir = tfs_tempdir();
	char *cmd = gm_xasprintf("cp '%s'/migrations/*.sql '%s'/tests/fixtures/sql-equivalents/*.sql '%s'/",
				 pgt_root(), pgt_root(), dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	return dir;
}

static void test_yaml_builds_the_same_catalog_as_sql(void **state)
{
	char *ydb = pgt_create_db("gm_y_yaml"), *sdb = pgt_create_db("gm_y_sql"), *dir = sql_only_dir();
	char *out, *err, *a, *b;
	PGconn *yc, *sc;

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, ydb, "up"), 0);
	assert_contains(out, "applied 0002_create_ai_garage_enums.yaml");
	assert_contains(out, "applied 0008_add_ai_garage_rls_policies.yaml");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, sdb, dir, "up"), 0);
	assert_contains(out, "applied 0008_add_ai_garage_rls_policies.sql");
	free(out);
	free(err);
	yc = pgt_connect(ydb);
	sc = pgt_connect(sdb);
	/* Enums with label order, every pg_policies row (command, roles,
	 * permissive, qual, with_check), relrowsecurity and
	 * relforcerowsecurity, and everything else in public. */
	a = pgt_catalog(yc);
	b = pgt_catalog(sc);
	if (strcmp(a, b))
		fail_msg("catalogs differ:\n--- yaml\n%s\n--- sql\n%s", a, b);
	assert_non_null(strstr(a, "pol project_showcases showcase_update UPDATE PERMISSIVE {public} using=(organization_id = ( SELECT app_current_org_id() AS app_current_org_id))"));
	assert_non_null(strstr(a, "enum OrderStatus DRAFT,SUBMITTED,IN_REVIEW,APPROVED,IN_PROGRESS,TESTING,COMPLETED,DELIVERED,CANCELLED,REJECTED"));
	free(a);
	free(b);
	assert_int_equal(pgt_count(yc, "SELECT count(*) FROM garage_migrate.schema_history WHERE kind = 'yaml'"), 2);
	PQfinish(yc);
	PQfinish(sc);
	tfs_rmdir(dir);
	free(ydb);
	free(sdb);
}

/* Runs a migration's generated down SQL directly, outside the tool. */
static void run_down(const char *db, const char *file)
{
	char *path = gm_xasprintf("%s/migrations/%s", pgt_root(), file);
	char *text = tfs_read(path);
	struct gm_migration *m = NULL;
	struct gm_error *err = gm_migration_parse(path, file, text, strlen(text), &m);
	PGconn *c = pgt_connect(db);

	assert_null(err);
	assert_true(m->has_down);
	pgt_exec(c, m->down.sql);
	PQfinish(c);
	gm_migration_free(m);
	free(path);
}

static void test_generated_down_removes_exactly_what_up_created(void **state)
{
	static const struct { const char *to, *before, *file; } cases[] = {
		{ "8", "7", "0008_add_ai_garage_rls_policies.yaml" },
		{ "2", "1", "0002_create_ai_garage_enums.yaml" },
	};
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		char *ref = pgt_create_db("gm_y_ref"), *db = pgt_create_db("gm_y_down"), *args, *a, *b;
		PGconn *rc, *c;

		args = gm_xasprintf("up --to %s", cases[k].before);
		assert_int_equal(pgt_gm(NULL, NULL, ref, args), 0);
		free(args);
		args = gm_xasprintf("up --to %s", cases[k].to);
		assert_int_equal(pgt_gm(NULL, NULL, db, args), 0);
		free(args);
		run_down(db, cases[k].file);
		rc = pgt_connect(ref);
		c = pgt_connect(db);
		a = pgt_catalog(rc);
		b = pgt_catalog(c);
		if (strcmp(a, b))
			fail_msg("after the down of %s:\n--- expected\n%s\n--- found\n%s", cases[k].file, a, b);
		free(a);
		free(b);
		PQfinish(rc);
		PQfinish(c);
		free(ref);
		free(db);
	}
}

static void test_bad_using_points_into_the_yaml(void **state)
{
	char *db = pgt_create_db("gm_y_bad"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "-- garage:lint-ignore create_table_rls_not_forced the server's error is under test\n"
		  "CREATE TABLE t (id int, organization_id uuid);\n");
	tfs_write(dir, "0002_t_rls.yaml",
		  "description: isolate t\n"
		  "rls:\n"
		  "  t:\n"
		  "    enable: true\n"
		  "    policies:\n"
		  "      t_select:\n"
		  "        command: SELECT\n"
		  "        using: organisation_id = (SELECT 1) AND is_public\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	expect = gm_xasprintf("%s/0002_t_rls.yaml:8:16: error: column \"organisation_id\" does not exist", dir);
	assert_contains(err, expect);
	assert_contains(err, "    8 |         using: organisation_id = (SELECT 1) AND is_public\n");
	assert_contains(err, "HINT: Perhaps you meant to reference the column \"t.organization_id\".");
	free(expect);
	free(out);
	free(err);
	/* Nothing of the migration: no RLS, no policy, no history row. */
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_policies WHERE tablename = 't'"), 0);
	assert_int_equal(pgt_count(c, "SELECT relrowsecurity::int FROM pg_class WHERE oid = 't'::regclass"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 1);

	/* An error without a position points at the node that asked for it:
	 * a table that does not exist, at its enable. */
	tfs_write(dir, "0002_t_rls.yaml", "rls:\n  nowhere:\n    enable: true\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(err, "0002_t_rls.yaml:3:5: error: relation \"nowhere\" does not exist");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_odd_names_are_quoted_not_executed(void **state)
{
	char *db = pgt_create_db("gm_y_odd"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE users (id int); CREATE TABLE t (id int);\n");
	tfs_write(dir, "0002_odd.yaml",
		  "rls:\n"
		  "  t:\n"
		  "    policies:\n"
		  "      'x\"; DROP TABLE users; --':\n"
		  "        command: SELECT\n"
		  "        using: 'true'\n"
		  "enums:\n"
		  "  'Mood\"); DROP TABLE users; --': [\"it's\", 'ok']\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	free(out);
	free(err);
	assert_false(pgt_is_null(c, "SELECT to_regclass('users')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_policies WHERE policyname = 'x\"; DROP TABLE users; --'"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
				     " WHERE t.typname = 'Mood\"); DROP TABLE users; --' AND e.enumlabel = 'it''s'"), 1);
	/* And they roll back the same way. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_policies"), 0);
	assert_false(pgt_is_null(c, "SELECT to_regclass('users')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_bad_yaml_touches_nothing(void **state)
{
	static const char *const bad[][2] = {
		{ "enums:\n\tL: [A]\n", ":2:1: error: tab character" },
		{ "enums:\n  L: [A]\n  L: [B]\n", ":3:3: error: duplicate key 'L'" },
		{ "rls:\n  t:\n    policies:\n      p:\n        command: MERGE\n        using: 'true'\n",
		  ":5:18: error: unknown policy command 'MERGE'" },
		{ "enums:\n  L: []\n", ":2:6: error: enum 'L' has no labels" },
		{ "enums: [1, 2]\n", ":1:8: error: enums must be a mapping, not a list" },
		{ "rls:\n  t:\n    policies:\n      p:\n        using: 'true'\n", ":4:7: error: policy 'p' needs a command" },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char *db = pgt_create_db("gm_y_badyaml"), *dir = tfs_tempdir(), *out, *err;
		PGconn *c = pgt_connect(db);

		tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
		tfs_write(dir, "0002_x.yaml", bad[k][1] ? bad[k][0] : "");
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 6);
		assert_contains(err, "0002_x.yaml");
		assert_contains(err, bad[k][1]);
		free(out);
		free(err);
		/* Checked before connecting: even 0001 did not run. */
		assert_true(pgt_is_null(c, "SELECT to_regclass('t')::text"));
		assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
		PQfinish(c);
		tfs_rmdir(dir);
		free(db);
	}
}

static void test_dry_run_shows_generated_sql(void **state)
{
	char *db = pgt_create_db("gm_y_dry"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "up --dry-run"), 0);
	assert_contains(out, "/migrations/0002_create_ai_garage_enums.yaml (would run in its own transaction)\n"
			     "CREATE TYPE \"ComplexityLevel\" AS ENUM ('SIMPLE', 'MODERATE', 'COMPLEX', 'ENTERPRISE');\n");
	assert_contains(out, "CREATE POLICY \"showcase_update\" ON \"project_showcases\" FOR UPDATE\n");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace"), 0);
	PQfinish(c);
	free(db);
}

static void test_new(void **state)
{
	char *dir = tfs_tempdir(), *out, *err, *expect, *text;

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s -m '%s/m' new create_orders", pgt_bin(), dir), 0);
	expect = gm_xasprintf("%s/m/0001_create_orders.sql\n", dir);
	assert_string_equal(out, expect);
	free(expect);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -m '%s/m' new --yaml orders_rls", pgt_bin(), dir), 0);
	assert_contains(out, "/m/0002_orders_rls.yaml");
	free(out);
	free(err);
	expect = gm_xasprintf("%s/m/0002_orders_rls.yaml", dir);
	text = tfs_read(expect);
	assert_contains(text, "description:");
	assert_contains(text, "#         command: SELECT");
	free(text);
	free(expect);
	assert_int_equal(pgt_run(&out, &err, "%s -m '%s/m' new 'two words'", pgt_bin(), dir), 2);
	free(out);
	free(err);
	/* Until it says something, a template stops up with a clear message. */
	assert_int_equal(pgt_run(&out, &err, "%s -d dbname=postgres -m '%s/m' up", pgt_bin(), dir), 6);
	assert_contains(err, "0001_create_orders.sql:2:1: error: the up section holds no SQL statement");
	free(out);
	free(err);
	tfs_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_builds_the_same_catalog_as_sql),
		cmocka_unit_test(test_generated_down_removes_exactly_what_up_created),
		cmocka_unit_test(test_bad_using_points_into_the_yaml),
		cmocka_unit_test(test_odd_names_are_quoted_not_executed),
		cmocka_unit_test(test_bad_yaml_touches_nothing),
		cmocka_unit_test(test_dry_run_shows_generated_sql),
		cmocka_unit_test(test_new),
	};
	return cmocka_run_group_tests_name("YAML migrations", tests, NULL, NULL);
}
