/* Integration tests: privileges and the objects around tables (grants,
 * default privileges, views, materialized views, sequences, extensions,
 * SECURITY DEFINER functions) in dump and verify, the lints on them, and
 * verify without a snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gm_strbuf.h"
#include "pgtest.h"

/* The facts of the project's schema: 723 before grants, views and
 * functions' security_definer and config were facts. */
#define PROJECT_FACTS "727"

static char *migrated_db(const char *prefix)
{
	char *db = pgt_create_db(prefix);

	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	return db;
}

static int verify(char **out, char **err, const char *db, const char *extra)
{
	char *args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' %s", pgt_root(), extra ? extra : "");
	int rc = pgt_gm(out, err, db, args);

	free(args);
	return rc;
}

static void exec_sql(const char *db, const char *sql)
{
	PGconn *c = pgt_connect(db);

	pgt_exec(c, sql);
	PQfinish(c);
}

static int extension_available(const char *db, const char *name)
{
	PGconn *c = pgt_connect(db);
	char *sql = gm_xasprintf("SELECT count(*) FROM pg_available_extensions WHERE name = '%s'", name);
	long n = pgt_count(c, sql);

	free(sql);
	PQfinish(c);
	return n > 0;
}

struct object_case {
	const char *sql;
	const char *dumped;	/* in dump's output */
	const char *named;	/* in verify's output against the project snapshot */
	const char *extension;	/* needed on the server, or NULL */
	int major;		/* the oldest major that has what sql uses, or 0 */
};

/* Each kind of fact shows in dump, and a change to it is named by verify
 * (with the lint it trips, where there is one). */
static void test_each_object_kind_is_dumped_and_verified(void **state)
{
	static const struct object_case cases[] = {
		{ "GRANT SELECT, INSERT ON custom_agent_orders TO PUBLIC",
		  "  table public.custom_agent_orders grant PUBLIC:\n    privileges: \"SELECT, INSERT\"\n    with_grant_option: \"\"\n",
		  "error unexpected: table public.custom_agent_orders grant PUBLIC: unexpected", NULL, 0 },
		{ "GRANT UPDATE (status) ON custom_agent_orders TO PUBLIC",
		  "  table public.custom_agent_orders column status grant PUBLIC:\n    privileges: \"UPDATE\"\n",
		  "error tenant_table_public_grant: table public.custom_agent_orders column status grant PUBLIC: PUBLIC holds UPDATE", NULL, 0 },
		{ "GRANT SELECT ON agent_templates TO pg_monitor WITH GRANT OPTION",
		  "  table public.agent_templates grant pg_monitor:\n    privileges: \"SELECT\"\n    with_grant_option: \"SELECT\"\n",
		  "error unexpected: table public.agent_templates grant pg_monitor: unexpected", NULL, 0 },
		/* MAINTAIN is new in 17; GRANT ALL includes it there. */
		{ "GRANT MAINTAIN ON custom_agent_orders TO pg_monitor",
		  "  table public.custom_agent_orders grant pg_monitor:\n    privileges: \"MAINTAIN\"\n",
		  "error unexpected: table public.custom_agent_orders grant pg_monitor: unexpected", NULL, 17 },
		{ "GRANT ALL ON custom_agent_orders TO pg_monitor",
		  "  table public.custom_agent_orders grant pg_monitor:\n    privileges: \"SELECT, INSERT, UPDATE, DELETE,"
		  " TRUNCATE, REFERENCES, TRIGGER, MAINTAIN\"\n",
		  "error unexpected: table public.custom_agent_orders grant pg_monitor: unexpected", NULL, 17 },
		{ "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, UPDATE ON TABLES TO pg_monitor",
		  "  default privileges public tables grant pg_monitor:\n    privileges: \"SELECT, UPDATE\"\n",
		  "error unexpected: default privileges public tables grant pg_monitor: unexpected", NULL, 0 },
		{ "CREATE VIEW order_view AS SELECT id, organization_id FROM custom_agent_orders",
		  "  view public.order_view:\n    definition: \" SELECT ",
		  "error view_bypasses_rls: view public.order_view: view reads public.custom_agent_orders as its owner", NULL, 0 },
		{ "CREATE VIEW order_view WITH (security_invoker = on) AS SELECT id FROM custom_agent_orders;"
		  " GRANT SELECT ON order_view TO PUBLIC",
		  "    reads: \"public.custom_agent_orders\"\n    security_barrier: \"false\"\n    security_invoker: \"true\"\n"
		  "  view public.order_view grant PUBLIC:\n",
		  "error unexpected: view public.order_view: unexpected", NULL, 15 },
		{ "CREATE MATERIALIZED VIEW order_counts AS SELECT organization_id, count(*) FROM custom_agent_orders GROUP BY 1",
		  "  materialized view public.order_counts:\n    definition: \" SELECT ",
		  "error view_bypasses_rls: materialized view public.order_counts: materialized view reads public.custom_agent_orders", NULL, 0 },
		{ "CREATE SEQUENCE invoice_numbers AS integer INCREMENT BY 10; GRANT USAGE ON SEQUENCE invoice_numbers TO PUBLIC",
		  "  sequence public.invoice_numbers:\n    increment: \"10\"\n    owned_by: \"\"\n    type: \"integer\"\n"
		  "  sequence public.invoice_numbers grant PUBLIC:\n    privileges: \"USAGE\"\n",
		  "error unexpected: sequence public.invoice_numbers: unexpected", NULL, 0 },
		{ "ALTER TABLE build_logs ADD COLUMN seq serial",
		  "  sequence public.build_logs_seq_seq:\n    increment: \"1\"\n    owned_by: \"public.build_logs.seq\"\n",
		  "error unexpected: sequence public.build_logs_seq_seq: unexpected", NULL, 0 },
		{ "CREATE EXTENSION IF NOT EXISTS pgcrypto",
		  "  extension pgcrypto:\n    schema: \"public\"\n    version: \"",
		  "error unexpected: extension pgcrypto: unexpected", "pgcrypto", 0 },
		/* A rule runs as the table's owner; a foreign table has no RLS. */
		{ "CREATE RULE orders_note AS ON UPDATE TO custom_agent_orders DO ALSO NOTIFY orders",
		  "  table public.custom_agent_orders rule orders_note:\n    definition: \"CREATE RULE orders_note AS",
		  "error rule_on_table: table public.custom_agent_orders rule orders_note: rule orders_note runs its actions"
		  " as the relation's owner", NULL, 0 },
		{ "CREATE EXTENSION IF NOT EXISTS postgres_fdw; CREATE SERVER gm_loop FOREIGN DATA WRAPPER postgres_fdw;"
		  " CREATE FOREIGN TABLE orders_remote (title text) SERVER gm_loop OPTIONS (table_name 'custom_agent_orders')",
		  "  foreign table public.orders_remote:\n    server: \"gm_loop\"\n",
		  "error foreign_table_in_exposed_schema: foreign table public.orders_remote: foreign table (server gm_loop)"
		  " in exposed schema public", "postgres_fdw", 0 },
		{ "ALTER FUNCTION app_current_org_id() SECURITY DEFINER",
		  "    security_definer: \"true\"\n",
		  "function public.app_current_org_id(): security_definer differs: expected false, found true", NULL, 0 },
		{ "ALTER FUNCTION set_updated_at() SET search_path = pg_catalog, public",
		  "    config: \"search_path=pg_catalog, public\"\n",
		  "function public.set_updated_at(): config differs: expected (none), found search_path=pg_catalog, public", NULL, 0 },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = migrated_db("gm_o_kind"), *out, *err;

		if (cases[k].major > pgt_server_major()) {
			print_message("skipped on PostgreSQL %d: %s\n", pgt_server_major(), cases[k].sql);
			free(db);
			continue;
		}
		if (cases[k].extension && !extension_available(db, cases[k].extension)) {
			print_message("skipped: the server has no %s extension\n", cases[k].extension);
			free(db);
			continue;
		}
		exec_sql(db, cases[k].sql);
		assert_int_equal(pgt_gm(&out, &err, db, "dump"), 0);
		assert_contains(out, cases[k].dumped);
		free(out);
		free(err);
		if (verify(&out, &err, db, NULL) != 1)
			fail_msg("after '%s' verify did not exit 1:\n%s%s", cases[k].sql, out, err);
		assert_contains(out, cases[k].named);
		free(out);
		free(err);
		free(db);
	}
}

/* Dumps db to path and verifies against it: only the lints can fail. */
static int verify_against_itself(char **out, const char *db, const char *path)
{
	char *args = gm_xasprintf("dump -o '%s'", path);
	int rc;

	assert_int_equal(pgt_gm(NULL, NULL, db, args), 0);
	free(args);
	args = gm_xasprintf("verify --snapshot '%s'", path);
	rc = pgt_gm(out, NULL, db, args);
	free(args);
	return rc;
}

static const char holes_sql[] =
	"GRANT SELECT ON build_logs TO PUBLIC;"
	"GRANT UPDATE (is_public) ON project_showcases TO PUBLIC;"
	/* Global tables may be public; only tenant tables are the lint's. */
	"GRANT SELECT ON organizations TO PUBLIC;"
	"CREATE VIEW order_view AS SELECT id, organization_id FROM custom_agent_orders;"
	/* A caller's view over an owner's view still runs as that owner. */
	"CREATE VIEW safe_names WITH (security_invoker = true) AS SELECT id FROM agent_templates;"
	"CREATE VIEW names_again AS SELECT id FROM safe_names;"
	"CREATE VIEW org_names AS SELECT name FROM organizations;"
	"CREATE MATERIALIZED VIEW order_counts AS SELECT organization_id, count(*) FROM custom_agent_orders GROUP BY 1;"
	"CREATE FUNCTION org_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
	"  AS 'SELECT count(*) FROM custom_agent_orders';"
	/* A value that reads like a search_path line is not one. */
	"CREATE FUNCTION tricky() RETURNS int LANGUAGE sql SECURITY DEFINER"
	"  SET application_name = E'x\\nsearch_path=pg_catalog' AS 'SELECT 1';";

static const char fixes_sql[] =
	"REVOKE ALL ON build_logs FROM PUBLIC;"
	"REVOKE ALL (is_public) ON project_showcases FROM PUBLIC;"
	"ALTER VIEW order_view SET (security_invoker = true);"
	"ALTER VIEW names_again SET (security_invoker = true);"
	"DROP MATERIALIZED VIEW order_counts;"
	/* Bound to the caller's tenant by the function itself. */
	"CREATE OR REPLACE FUNCTION org_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
	"  SET search_path = pg_catalog, public"
	"  AS 'SELECT count(*) FROM custom_agent_orders WHERE organization_id = (SELECT app_current_org_id())';"
	"ALTER FUNCTION tricky() SET search_path = '';";

/* Each lint fires on its planted hole, and not once it is fixed; nothing
 * fires on what is fine (a global table's grant, a view of it). */
static void test_lints_fire_on_holes_and_not_on_fixes(void **state)
{
	char *db, *dir, *path, *out;

	(void)state;
	PGT_NEEDS_MAJOR(15, "security_invoker views are new in 15");
	db = migrated_db("gm_o_lint");
	dir = tfs_tempdir();
	path = gm_xasprintf("%s/snap.yaml", dir);
	exec_sql(db, holes_sql);
	assert_int_equal(verify_against_itself(&out, db, path), 1);
	assert_contains(out, "error tenant_table_public_grant: table public.build_logs grant PUBLIC: PUBLIC holds SELECT on a tenant table");
	assert_contains(out, "error tenant_table_public_grant: table public.project_showcases column is_public grant PUBLIC: PUBLIC holds UPDATE");
	assert_contains(out, "      fix: REVOKE ALL ON the table FROM PUBLIC");
	assert_contains(out, "error view_bypasses_rls: view public.order_view: view reads public.custom_agent_orders as its owner");
	assert_contains(out, "      fix: ALTER VIEW ... SET (security_invoker = true)");
	assert_contains(out, "error view_bypasses_rls: view public.names_again: view reads public.safe_names as its owner");
	assert_contains(out, "error view_bypasses_rls: materialized view public.order_counts: materialized view reads public.custom_agent_orders");
	assert_contains(out, "error security_definer_without_search_path: function public.org_count(): SECURITY DEFINER function without its own search_path");
	assert_contains(out, "error security_definer_without_search_path: function public.tricky()");
	assert_contains(out, "error definer_function_bypasses_rls: function public.org_count(): SECURITY DEFINER function"
			     " touches custom_agent_orders as its owner (SELECT without a WHERE)");
	assert_not_contains(out, "function public.tricky(): SECURITY DEFINER function touches");
	assert_not_contains(out, "organizations grant PUBLIC");
	assert_not_contains(out, "view public.safe_names:");
	assert_not_contains(out, "view public.org_names");
	free(out);

	exec_sql(db, fixes_sql);
	if (verify_against_itself(&out, db, path) != 0)
		fail_msg("the fixed schema does not verify:\n%s", out);
	assert_not_contains(out, "tenant_table_public_grant");
	assert_not_contains(out, "view_bypasses_rls");
	assert_not_contains(out, "security_definer_without_search_path");
	assert_not_contains(out, "definer_function_bypasses_rls");
	assert_contains(out, "verify passed: 0 errors, 0 warnings");
	free(out);
	out = tfs_read(path);
	/* The config survives the snapshot's round trip, one SET a line. */
	assert_contains(out, "    config: \"application_name=x\\\\nsearch_path=pg_catalog\\nsearch_path=\\\"\\\"\"\n");
	free(out);
	free(path);
	tfs_rmdir(dir);
	free(db);
}

/* The shipped schema has none of these holes, and its snapshot holds the
 * new facts. */
static void test_project_schema_stays_clean(void **state)
{
	char *db = migrated_db("gm_o_clean"), *out, *err, *path;

	(void)state;
	assert_int_equal(verify(&out, &err, db, "--format json --strict"), 0);
	assert_contains(out, "\"findings\":[]");
	assert_contains(out, "\"facts\":" PROJECT_FACTS ",");
	free(out);
	free(err);
	path = gm_xasprintf("%s/schema/snapshot.yaml", pgt_root());
	out = tfs_read(path);
	free(path);
	assert_contains(out, "  function public.app_current_org_id():\n    config: \"\"\n");
	assert_contains(out, "    security_definer: \"false\"\n");
	free(out);
	free(db);
}

/* verify run in dir (where there is no schema/snapshot.yaml unless the
 * test makes one). */
static int verify_in(char **out, char **err, const char *dir, const char *db, const char *args)
{
	return pgt_run(out, err, "cd '%s' && %s -d 'dbname=%s' -m '%s/migrations' verify %s", dir, pgt_bin(), db,
		       pgt_root(), args);
}

static void test_verify_without_a_snapshot(void **state)
{
	char *db = migrated_db("gm_o_nosnap"), *dir = tfs_tempdir(), *out, *err, *path;

	(void)state;
	assert_int_equal(verify_in(&out, &err, dir, db, "--junit junit.xml"), 0);
	assert_contains(out, "history: 8 applied, 0 pending - ok\n");
	assert_contains(out, "schema: skipped: no snapshot at schema/snapshot.yaml; write one with garage-migrate dump -o schema/snapshot.yaml\n");
	assert_contains(out, "rls: lints on tenant tables - ok\n");
	assert_contains(out, "verify passed: 0 errors, 0 warnings");
	free(out);
	free(err);
	path = gm_xasprintf("%s/junit.xml", dir);
	out = tfs_read(path);
	assert_contains(out, "<testsuite name=\"schema\" tests=\"1\" failures=\"0\" skipped=\"1\">\n"
			     "    <testcase classname=\"garage-migrate.schema\" name=\"matches schema/snapshot.yaml\">"
			     "<skipped message=\"no snapshot at schema/snapshot.yaml; write one with garage-migrate dump -o schema/snapshot.yaml\"/>");
	free(out);
	free(path);

	/* Skipped is not passed: --strict fails on it. */
	assert_int_equal(verify_in(&out, &err, dir, db, "--strict --format json"), 1);
	assert_contains(out, "{\"format_version\":1,\"ok\":false,");
	assert_contains(out, "{\"name\":\"schema\",\"ok\":false,\"skipped\":true,\"reason\":\"no snapshot at schema/snapshot.yaml;");
	assert_contains(out, "{\"name\":\"rls\",\"ok\":true,");
	free(out);
	free(err);

	/* The isolation probe runs too. */
	assert_int_equal(verify_in(&out, &err, dir, db, "--isolation"), 0);
	assert_contains(out, "isolation: ");
	assert_contains(out, " 0 failed, 0 skipped - ok");
	free(out);
	free(err);

	/* The history and RLS checks find what they find. */
	exec_sql(db, "GRANT SELECT ON build_logs TO PUBLIC;"
		     "DELETE FROM garage_migrate.schema_history WHERE version = 8");
	assert_int_equal(verify_in(&out, &err, dir, db, ""), 1);
	assert_contains(out, "error pending_migration: ");
	assert_contains(out, "error tenant_table_public_grant: table public.build_logs grant PUBLIC");
	assert_contains(out, "schema: skipped: ");
	free(out);
	free(err);

	/* A snapshot named on the command line must exist. */
	assert_int_equal(verify_in(&out, &err, dir, db, "--snapshot schema/snapshot.yaml"), 6);
	assert_contains(err, "schema/snapshot.yaml: error: cannot open the schema snapshot");
	free(out);
	free(err);
	/* A snapshot that is there but cannot be read is an error, not absent. */
	path = gm_xasprintf("%s/schema/snapshot.yaml", dir);
	assert_int_equal(pgt_run(NULL, NULL, "mkdir -p '%s'", path), 0);
	assert_int_equal(verify_in(&out, &err, dir, db, ""), 6);
	assert_contains(err, "cannot read the schema snapshot: Is a directory");
	free(out);
	free(err);
	free(path);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_object_kind_is_dumped_and_verified),
		cmocka_unit_test(test_lints_fire_on_holes_and_not_on_fixes),
		cmocka_unit_test(test_project_schema_stays_clean),
		cmocka_unit_test(test_verify_without_a_snapshot),
	};
	return cmocka_run_group_tests_name("grants, views and objects around tables", tests, NULL, NULL);
}
