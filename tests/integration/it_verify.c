/* Integration tests: verify and dump on a real PostgreSQL. */
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
#include "testfs.h"

static char *snapshot_path(void)
{
	return gm_xasprintf("%s/schema/snapshot.yaml", pgt_root());
}

/* A fresh database with the whole schema. */
static char *migrated_db(const char *prefix)
{
	char *db = pgt_create_db(prefix);

	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	return db;
}

/* verify against the committed snapshot; returns the exit status. */
static int verify(char **out, char **err, const char *db, const char *dir, const char *extra)
{
	char *snap = snapshot_path(), *args = gm_xasprintf("verify --snapshot '%s' %s", snap, extra ? extra : "");
	int rc = dir ? pgt_gm_dir(out, err, db, dir, args) : pgt_gm(out, err, db, args);

	free(args);
	free(snap);
	return rc;
}

/* Makes a dump's "postgresql: N" line name major instead (same width for
 * the majors 10 to 99). */
static void same_major(char *dump, const char *major)
{
	char *p = strstr(dump, "\npostgresql: ");

	assert_non_null(p);
	p += strlen("\npostgresql: ");
	assert_true(p[0] >= '1' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] == '\n');
	memcpy(p, major, 2);
}

static void test_clean_schema_verifies_and_matches_the_snapshot(void **state)
{
	char *db = migrated_db("gm_v_ok"), *out, *err, *snap = snapshot_path(), *committed;

	(void)state;
	assert_int_equal(verify(&out, &err, db, NULL, NULL), 0);
	assert_contains(out, "history: 8 applied, 0 pending - ok");
	assert_contains(out, "rls: lints on tenant tables - ok");
	assert_contains(out, "verify passed: 0 errors, 0 warnings");
	free(out);
	free(err);
	/* The committed snapshot is exactly what the migrations build, on
	 * every supported major but for the major it names. */
	assert_int_equal(pgt_gm(&out, &err, db, "dump"), 0);
	committed = tfs_read(snap);
	assert_non_null(strstr(committed, "\npostgresql: 15\n"));
	same_major(out, "15");
	if (strcmp(out, committed) != 0)
		fail_msg("schema/snapshot.yaml is out of date: run make snapshot and commit it");
	free(committed);
	free(out);
	free(err);
	free(snap);
	free(db);
}

struct tamper {
	const char *sql;
	const char *expect;	/* in verify's output */
};

static void test_each_drift_is_named(void **state)
{
	static const struct tamper cases[] = {
		{ "DROP INDEX idx_templates_category",
		  "error missing: table public.agent_templates index idx_templates_category: missing" },
		{ "ALTER TABLE build_logs ADD COLUMN extra text",
		  "error unexpected: table public.build_logs column extra: unexpected" },
		{ "ALTER TABLE custom_agent_orders ALTER COLUMN priority SET DEFAULT 'HIGH'",
		  "table public.custom_agent_orders column priority: default differs: expected 'NORMAL'::\"OrderPriority\", found 'HIGH'::\"OrderPriority\"" },
		{ "ALTER POLICY showcase_update ON project_showcases USING (true)",
		  "table public.project_showcases policy showcase_update: using differs" },
		{ "ALTER TABLE template_reviews DISABLE ROW LEVEL SECURITY",
		  "table public.template_reviews: row_security differs: expected enabled, found disabled" },
		{ "ALTER TABLE tool_blueprints NO FORCE ROW LEVEL SECURITY",
		  "error rls_not_forced: table public.tool_blueprints" },
		{ "CREATE POLICY open_update ON custom_agent_orders FOR UPDATE USING (true)",
		  "error write_policy_not_tenant_bound: table public.custom_agent_orders policy open_update" },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = migrated_db("gm_v_drift"), *out, *err;
		PGconn *c = pgt_connect(db);

		pgt_exec(c, cases[k].sql);
		PQfinish(c);
		if (verify(&out, &err, db, NULL, NULL) != 1)
			fail_msg("after '%s' verify did not exit 1:\n%s%s", cases[k].sql, out, err);
		assert_contains(out, cases[k].expect);
		assert_contains(out, "verify FAILED");
		free(out);
		free(err);
		free(db);
	}
}

/* The policies rest on a function in a schema verify does not check (an
 * auth.uid() of a hosted platform): it is part of their meaning, in the
 * snapshot and compared, so a backdoor put into it is drift. */
/* garage-migrate with the project file in dir. */
static int in_project(char **out, char **err, const char *db, const char *dir, const char *args)
{
	return pgt_run(out, err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' %s", pgt_bin(), dir, db, args);
}

static void test_a_function_policies_call_elsewhere_is_compared(void **state)
{
	char *db = pgt_create_db("gm_v_authfn"), *dir = tfs_tempdir(), *out, *err, *args, *snap, *dumped, *conf, *mdir = tfs_tempdir();
	PGconn *c;

	(void)state;
	conf = gm_xasprintf("migrations: %s\ntenancy:\n  columns: [organization_id]\n"
			    "  expression: (SELECT auth.org())\n", mdir);
	tfs_write(dir, "garage-migrate.yaml", conf);
	free(conf);
	tfs_write(mdir, "0001_notes.sql",
		  "CREATE SCHEMA auth;\n"
		  "CREATE FUNCTION auth.org() RETURNS uuid LANGUAGE sql STABLE\n"
		  "  AS $$ SELECT NULLIF(current_setting('app.org', true), '')::uuid $$;\n"
		  "CREATE TABLE notes (id int PRIMARY KEY, organization_id uuid NOT NULL);\n"
		  "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n"
		  "ALTER TABLE notes FORCE ROW LEVEL SECURITY;\n"
		  "CREATE POLICY notes_tenant ON notes USING (organization_id = (SELECT auth.org()))\n"
		  "  WITH CHECK (organization_id = (SELECT auth.org()));\n");
	assert_int_equal(in_project(NULL, NULL, db, dir, "up"), 0);
	snap = gm_xasprintf("%s/snap.yaml", dir);
	args = gm_xasprintf("dump -o '%s'", snap);
	assert_int_equal(in_project(NULL, NULL, db, dir, args), 0);
	free(args);
	dumped = tfs_read(snap);
	assert_contains(dumped, "function auth.org():");
	free(dumped);
	args = gm_xasprintf("verify --snapshot '%s'", snap);
	if (in_project(&out, &err, db, dir, args) != 0)
		fail_msg("verify failed on the schema it dumped:\n%s%s", out, err);
	free(out);
	free(err);
	/* Every tenant's rows, for whoever sets app.all. */
	c = pgt_connect(db);
	pgt_exec(c, "CREATE OR REPLACE FUNCTION auth.org() RETURNS uuid LANGUAGE sql STABLE\n"
		    "  AS $$ SELECT CASE WHEN current_setting('app.all', true) = 'on' THEN NULL\n"
		    "  ELSE NULLIF(current_setting('app.org', true), '')::uuid END $$");
	PQfinish(c);
	assert_int_equal(in_project(&out, &err, db, dir, args), 1);
	assert_contains(out, "function auth.org(): definition differs");
	assert_contains(out, "verify FAILED");
	free(out);
	free(err);
	free(args);
	free(snap);
	tfs_rmdir(mdir);
	tfs_rmdir(dir);
	free(db);
}

static void test_disabled_rls_and_extra_policy_are_linted(void **state)
{
	char *db = migrated_db("gm_v_lint"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "ALTER TABLE template_reviews DISABLE ROW LEVEL SECURITY");
	pgt_exec(c, "CREATE POLICY open_update ON custom_agent_orders FOR UPDATE USING (true)");
	PQfinish(c);
	assert_int_equal(verify(&out, &err, db, NULL, "--format json"), 1);
	assert_contains(out, "\"name\":\"policies_without_rls\",\"level\":\"error\",\"object\":\"table public.template_reviews\"");
	assert_contains(out, "\"name\":\"multiple_permissive_policies\",\"level\":\"warning\",\"object\":\"table public.custom_agent_orders\"");
	assert_contains(out, "\"check\":\"schema\",\"name\":\"unexpected\",\"level\":\"error\",\"object\":\"table public.custom_agent_orders policy open_update\"");
	assert_contains(out, "{\"name\":\"history\",\"ok\":true,\"errors\":0,\"warnings\":0}");
	free(out);
	free(err);
	free(db);
}

static void test_edited_and_removed_files(void **state)
{
	char *db = migrated_db("gm_v_files"), *dir = tfs_tempdir(), *out, *err, *cmd, *path;

	(void)state;
	cmd = gm_xasprintf("cp '%s'/migrations/* '%s'/", pgt_root(), dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(verify(&out, &err, db, dir, NULL), 0);
	free(out);
	free(err);

	cmd = gm_xasprintf("sed -i 's/VARCHAR(100) NOT NULL/VARCHAR(120) NOT NULL/' '%s'/0006_create_tool_blueprints_table.sql", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(verify(&out, &err, db, dir, NULL), 1);
	assert_contains(out, "error modified_migration: ");
	assert_contains(out, "0006_create_tool_blueprints_table.sql: applied migration was edited");
	free(out);
	free(err);

	path = gm_xasprintf("%s/0007_create_ai_garage_supporting_tables.sql", dir);
	assert_int_equal(remove(path), 0);
	free(path);
	assert_int_equal(verify(&out, &err, db, dir, "--junit junit.xml"), 1);
	assert_contains(out, "error missing_migration: 0007_create_ai_garage_supporting_tables.sql: applied migration 0007_create_ai_garage_supporting_tables has no file");
	free(out);
	free(err);
	out = tfs_read("junit.xml");
	assert_contains(out, "<testsuite name=\"history\" tests=\"2\" failures=\"2\">");
	assert_contains(out, "<failure type=\"missing_migration\"");
	assert_contains(out, "<testcase classname=\"garage-migrate.schema\" name=\"matches ");
	free(out);
	assert_int_equal(remove("junit.xml"), 0);
	tfs_rmdir(dir);
	free(db);
}

static void test_pending_and_read_only(void **state)
{
	char *db = pgt_create_db("gm_v_ro"), *out, *err, *a, *b;
	PGconn *c = pgt_connect(db);
	const char *hist = "SELECT coalesce(string_agg(version || checksum || applied_at, ','), '') FROM garage_migrate.schema_history";

	(void)state;
	/* Nothing applied: everything pending, and verify creates nothing. */
	assert_int_equal(verify(&out, &err, db, NULL, NULL), 1);
	assert_contains(out, "error pending_migration: ");
	assert_contains(out, "history: 0 applied, 8 pending");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));

	assert_int_equal(pgt_gm(NULL, NULL, db, "up --to 7"), 0);
	assert_int_equal(verify(&out, &err, db, NULL, NULL), 1);
	assert_contains(out, "0008_add_ai_garage_rls_policies.yaml: migration is not applied");
	free(out);
	free(err);
	/* --allow-pending: the pending file is fine, the missing RLS is not. */
	assert_int_equal(verify(&out, &err, db, NULL, "--allow-pending"), 1);
	assert_not_contains(out, "pending_migration");
	assert_contains(out, "history: 7 applied, 1 pending - ok");
	assert_contains(out, "error rls_disabled: table public.custom_agent_orders");
	free(out);
	free(err);

	a = pgt_catalog(c);
	{
		char *h1 = pgt_value(c, hist), *h2;
		long audit = pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log");
		assert_int_equal(verify(NULL, NULL, db, NULL, NULL), 1);
		b = pgt_catalog(c);
		h2 = pgt_value(c, hist);
		assert_string_equal(a, b);
		assert_string_equal(h1, h2);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log"), audit);
		free(h1);
		free(h2);
		free(b);
	}
	free(a);
	PQfinish(c);
	free(db);
}

/* Statements the server logged for application name app. */
static long logged_statements(const char *app)
{
	const char *log = getenv("GM_TEST_SERVER_LOG");
	char *cmd, *out;
	long n;

	assert_non_null(log);
	cmd = gm_xasprintf("grep -E '\\] %s (LOG:  (statement|execute [^:]*):)' '%s' | wc -l", app, log);
	assert_int_equal(pgt_run(&out, NULL, "%s", cmd), 0);
	n = strtol(out, NULL, 10);
	free(out);
	free(cmd);
	return n;
}

static void test_query_count_does_not_grow_with_tables(void **state)
{
	char *db = migrated_db("gm_v_count"), *snap = snapshot_path();
	PGconn *c = pgt_connect(db);
	long before, after;

	(void)state;
	assert_int_equal(pgt_run(NULL, NULL, "PGAPPNAME=gm-count-a PGOPTIONS='-c log_statement=all' %s -d 'dbname=%s' -m '%s/migrations' verify --snapshot '%s'",
				 pgt_bin(), db, pgt_root(), snap), 0);
	pgt_exec(c, "DO $$ BEGIN FOR i IN 1..200 LOOP"
		    " EXECUTE format('CREATE TABLE extra_%s (id int PRIMARY KEY, organization_id uuid, note text DEFAULT ''x'')', i);"
		    " END LOOP; END $$");
	assert_int_equal(pgt_run(NULL, NULL, "PGAPPNAME=gm-count-b PGOPTIONS='-c log_statement=all' %s -d 'dbname=%s' -m '%s/migrations' verify --snapshot '%s'",
				 pgt_bin(), db, pgt_root(), snap), 1);
	before = logged_statements("gm-count-a");
	after = logged_statements("gm-count-b");
	assert_true(before > 0);
	if (before != after)
		fail_msg("verify sent %ld statements on the project schema, %ld with 200 more tables", before, after);
	/* 7: the session settings every connection sets first, then verify. */
	assert_true(before <= 7);
	PQfinish(c);
	free(snap);
	free(db);
}

static void test_dump_options(void **state)
{
	char *db = migrated_db("gm_v_dump"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int PRIMARY KEY)");
	PQfinish(c);
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' dump --schema billing --output snap.yaml", pgt_bin(), db), 0);
	assert_contains(err, "wrote 11 facts to snap.yaml");
	free(out);
	free(err);
	out = tfs_read("snap.yaml");
	assert_contains(out, "schemas:\n  - \"billing\"\nobjects:\n  table billing.invoices:\n");
	assert_not_contains(out, "public.");
	free(out);
	/* A snapshot of billing verifies billing only. */
	assert_int_equal(pgt_gm(&out, &err, db, "verify --snapshot snap.yaml"), 0);
	free(out);
	free(err);
	assert_int_equal(remove("snap.yaml"), 0);
	assert_int_equal(pgt_gm(&out, &err, db, "verify --snapshot /nonexistent.yaml"), 6);
	assert_contains(err, "/nonexistent.yaml: error: cannot open the schema snapshot");
	free(out);
	free(err);
	free(db);
}

/* A snapshot naming a schema the database lacks compared nothing and
 * passed: it is an error; dump of such a schema is refused; a snapshot
 * that is a folder is an error, not a parse error. */
static void test_missing_schema_and_odd_snapshots(void **state)
{
	char *db = migrated_db("gm_v_noschema"), *dir = tfs_tempdir(), *out, *err, *args;

	(void)state;
	tfs_write(dir, "snap.yaml", "format: 1\nschemas:\n  - pubIic\nobjects: {}\n");
	args = gm_xasprintf("verify --snapshot '%s/snap.yaml' --strict", dir);
	assert_int_equal(pgt_gm(&out, &err, db, args), 1);
	assert_contains(out, "error missing_schema: schema pubIic: the snapshot names it, the database has no such schema");
	free(out);
	free(err);
	free(args);
	assert_int_equal(pgt_gm(&out, &err, db, "dump --schema pubIic"), 2);
	assert_contains(err, "the database has no schema pubIic");
	free(out);
	free(err);
	args = gm_xasprintf("verify --snapshot '%s'", dir);
	assert_int_equal(pgt_gm(&out, &err, db, args), 6);
	assert_contains(err, "cannot read the schema snapshot: Is a directory");
	free(out);
	free(err);
	free(args);
	tfs_rmdir(dir);
	free(db);
}

/* A session holding a table exclusively (an open ALTER TABLE, a LOCK
 * TABLE left idle) used to make verify and dump wait forever: the wait is
 * bounded (the project file's timeouts.lock, 30s by default), then exit 5
 * saying why. */
/* text with its first "from" made "to" (caller frees); fails without. */
static char *replaced(char *text, const char *from, const char *to)
{
	char *p = strstr(text, from), *r;

	if (!p)
		fail_msg("'%s' is not in:\n%s", from, text);
	r = gm_xasprintf("%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	free(text);
	return r;
}

/* The committed snapshot's view of 15 printing, a grant as 16 or 17 would
 * list it, and the major the snapshot names set around the server's. */
static char *snapshot_as(const char *dumped, int major, const char *view, const char *privileges)
{
	char *text = gm_xstrdup(dumped), *from, *to;

	from = gm_xasprintf("\npostgresql: %d\n", pgt_server_major());
	to = gm_xasprintf("\npostgresql: %d\n", major);
	text = replaced(text, from, to);
	free(from);
	free(to);
	from = strstr(text, "  view public.order_view:\n    definition: \"");
	assert_non_null(from);
	from += strlen("  view public.order_view:\n    definition: \"");
	to = gm_xasprintf("%.*s%s%s", (int)(from - text), text, view, strchr(from, '\n') - 1);
	free(text);
	text = replaced(to, "grant pg_monitor:\n    privileges: \"SELECT\"", privileges);
	return text;
}

/* A snapshot dumped on another major: what each major prints its own way
 * is no finding; what still differs is one finding naming both majors; on
 * the same major, each difference is its own. */
static void test_snapshot_of_another_major(void **state)
{
	char *db = migrated_db("gm_v_major"), *dir = tfs_tempdir(), *path, *dumped, *text, *out, *err, *args, *want;
	int major = pgt_server_major(), other = major >= 17 ? 16 : 17;
	PGconn *c = pgt_connect(db);
	/* As 15 prints it; 16 and later leave the qualifiers out. */
	const char *view15 = " SELECT custom_agent_orders.id\\n   FROM custom_agent_orders;";

	(void)state;
	pgt_exec(c, "CREATE VIEW order_view AS SELECT id FROM custom_agent_orders;"
		    "GRANT SELECT ON custom_agent_orders TO pg_monitor");
	PQfinish(c);
	path = gm_xasprintf("%s/snap.yaml", dir);
	args = gm_xasprintf("dump -o '%s'", path);
	assert_int_equal(pgt_gm(NULL, NULL, db, args), 0);
	free(args);
	dumped = tfs_read(path);
	args = gm_xasprintf("verify --snapshot '%s'", path);

	/* 15's printing of the view, on any major: the same view. */
	text = snapshot_as(dumped, other, view15, "grant pg_monitor:\n    privileges: \"SELECT\"");
	tfs_write(dir, "snap.yaml", text);
	free(text);
	pgt_gm(&out, &err, db, args);
	assert_contains(out, "/snap.yaml - ok\n");
	assert_not_contains(out, "error changed");
	assert_not_contains(out, "other_major");
	free(out);
	free(err);

	/* MAINTAIN (17) differs, and the view really does: each is listed,
	 * and one warning says the snapshot is of another major. */
	text = snapshot_as(dumped, other, " SELECT custom_agent_orders.id\\n   FROM custom_agent_orders\\n  WHERE false;",
			   "grant pg_monitor:\n    privileges: \"SELECT, MAINTAIN\"");
	tfs_write(dir, "snap.yaml", text);
	free(text);
	assert_int_equal(pgt_gm(&out, &err, db, args), 1);
	assert_contains(out, "error changed: table public.custom_agent_orders grant pg_monitor: privileges differs:"
			     " expected SELECT, MAINTAIN, found SELECT");
	assert_contains(out, "error changed: view public.order_view: definition differs: expected  SELECT"
			     " custom_agent_orders.id\\x0a   FROM custom_agent_orders\\x0a  WHERE false;, found ");
	want = gm_xasprintf("  warning other_major: the snapshot was dumped on PostgreSQL %d and this server runs %d: 2"
			    " definitions or grants differ, which %d may print or grant so for the same schema\n"
			    "      fix: if the schema is the same, write the snapshot again on PostgreSQL %d (garage-migrate"
			    " dump), or verify on a PostgreSQL %d server\n", other, major, major, major, other);
	assert_contains(out, want);
	free(want);
	free(out);
	free(err);

	/* On the snapshot's own major, each is a difference of its own. */
	text = replaced(gm_xstrdup(dumped), "grant pg_monitor:\n    privileges: \"SELECT\"",
			"grant pg_monitor:\n    privileges: \"SELECT, MAINTAIN\"");
	tfs_write(dir, "snap.yaml", text);
	free(text);
	assert_int_equal(pgt_gm(&out, &err, db, args), 1);
	assert_contains(out, "error changed: table public.custom_agent_orders grant pg_monitor: privileges differs:"
			     " expected SELECT, MAINTAIN, found SELECT");
	assert_not_contains(out, "other_major");
	free(out);
	free(err);

	free(args);
	free(dumped);
	free(path);
	tfs_rmdir(dir);
	free(db);
}

static void test_lock_waits_are_bounded(void **state)
{
	char *db = migrated_db("gm_vf_lock"), *dir = tfs_tempdir(), *out, *err, *conf;
	PGconn *holder = pgt_connect(db);

	(void)state;
	conf = gm_xasprintf("%s/garage-migrate.yaml", dir);
	tfs_write(dir, "garage-migrate.yaml", "timeouts:\n  lock: 500ms\n");
	pgt_exec(holder, "BEGIN; LOCK TABLE custom_agent_orders IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(pgt_run(&out, &err, "timeout 60 %s -c '%s' -d 'dbname=%s' -m '%s/migrations' verify"
				 " --snapshot '%s/schema/snapshot.yaml'", pgt_bin(), conf, db, pgt_root(), pgt_root()), 5);
	assert_contains(err, "canceling statement due to lock timeout");
	assert_contains(err, "another session holds a lock on a table being read");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "timeout 60 %s -c '%s' -d 'dbname=%s' dump -o '%s/snap.yaml'", pgt_bin(),
				 conf, db, dir), 5);
	assert_contains(err, "another session holds a lock on a table being read");
	free(out);
	free(err);
	pgt_exec(holder, "ROLLBACK");
	PQfinish(holder);
	free(conf);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_schema_verifies_and_matches_the_snapshot),
		cmocka_unit_test(test_each_drift_is_named),
		cmocka_unit_test(test_a_function_policies_call_elsewhere_is_compared),
		cmocka_unit_test(test_disabled_rls_and_extra_policy_are_linted),
		cmocka_unit_test(test_edited_and_removed_files),
		cmocka_unit_test(test_pending_and_read_only),
		cmocka_unit_test(test_query_count_does_not_grow_with_tables),
		cmocka_unit_test(test_dump_options),
		cmocka_unit_test(test_missing_schema_and_odd_snapshots),
		cmocka_unit_test(test_lock_waits_are_bounded),
		cmocka_unit_test(test_snapshot_of_another_major),
	};
	return cmocka_run_group_tests_name("verify and dump", tests, NULL, NULL);
}
