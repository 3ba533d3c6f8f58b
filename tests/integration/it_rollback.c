/* Integration tests: rollback, the data-loss guard, baseline, repair and
 * the audit log, through the garage-migrate binary on a real PostgreSQL. */
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

/* Runs and expects status rc; returns stdout (stderr is checked empty-ish
 * only by the callers that care). */
static char *gm_ok(const char *db, const char *args, int rc)
{
	char *out, *err;
	int got = pgt_gm(&out, &err, db, args);

	if (got != rc)
		fail_msg("garage-migrate %s: exit %d, expected %d\n%s%s", args, got, rc, out, err);
	free(err);
	return out;
}

static void assert_same(const char *what, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		fail_msg("%s differ:\n--- first\n%s\n--- second\n%s", what, a, b);
}

/* Everything a refused rollback must leave as it was: the catalog (tables,
 * columns, RLS flags, policies, ...), every table's rows, the history. */
static char *state_of(PGconn *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char *v = pgt_catalog(c);

	gm_strbuf_addf(&sb, "%s\n", v);
	free(v);
	v = pgt_value(c, "SELECT string_agg(version || ':' || checksum, ',' ORDER BY version) FROM garage_migrate.schema_history");
	gm_strbuf_addf(&sb, "history=%s\n", v ? v : "");
	free(v);
	v = pgt_value(c, "SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()', query_to_xml("
			 "format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, ','"
			 " ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
			 " WHERE n.nspname = 'public' AND c.relkind = 'r'");
	gm_strbuf_addf(&sb, "rows=%s\n", v ? v : "");
	free(v);
	return gm_strbuf_detach(&sb, NULL);
}

static void test_rollback_removes_exactly_the_last(void **state)
{
	char *ref = pgt_create_db("gm_rb_ref"), *db = pgt_create_db("gm_rb"), *out;
	PGconn *cr, *c;
	char *a, *b;

	(void)state;
	free(gm_ok(ref, "up --to 7", 0));
	free(gm_ok(db, "up", 0));
	out = gm_ok(db, "rollback", 0);
	assert_contains(out, "rolled back 0008_add_ai_garage_rls_policies.yaml");
	assert_contains(out, "1 migration rolled back");
	free(out);
	cr = pgt_connect(ref);
	c = pgt_connect(db);
	a = pgt_catalog(cr);
	b = pgt_catalog(c);
	assert_same("catalogs of 'up --to 7' and 'up; rollback'", a, b);
	free(a);
	free(b);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 7);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 8"), 0);
	/* list shows it pending again. */
	out = gm_ok(db, "list --format json", 0);
	assert_contains(out, "\"version\":\"0008\",\"name\":\"add_ai_garage_rls_policies\",\"state\":\"pending\"");
	free(out);

	/* Steps: two more. */
	out = gm_ok(db, "rollback --steps 2", 0);
	assert_contains(out, "rolled back 0007_create_ai_garage_supporting_tables.sql");
	assert_contains(out, "rolled back 0006_create_tool_blueprints_table.sql");
	free(out);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 5);
	PQfinish(cr);
	PQfinish(c);
	free(ref);
	free(db);
}

static void test_rollback_to_base_and_round_trip(void **state)
{
	char *ref = pgt_create_db("gm_rt_ref"), *db = pgt_create_db("gm_rt"), *out;
	PGconn *cr, *c;
	char *a, *b;

	(void)state;
	free(gm_ok(ref, "up", 0));
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);

	out = gm_ok(db, "rollback --to 1", 0);
	assert_contains(out, "7 migrations rolled back");
	free(out);
	a = pgt_value(c, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class"
			 " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'");
	assert_string_equal(a, "organizations,users");
	free(a);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"), 0);
	out = gm_ok(db, "rollback --to 1", 0);
	assert_contains(out, "nothing to roll back");
	free(out);

	/* Everything, then up again: the same catalog as a fresh up. */
	free(gm_ok(db, "rollback --to 0", 0));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 0);
	out = gm_ok(db, "rollback", 0);
	assert_contains(out, "nothing to roll back: no migration is applied");
	free(out);
	free(gm_ok(db, "up", 0));
	cr = pgt_connect(ref);
	a = pgt_catalog(cr);
	b = pgt_catalog(c);
	assert_true(strlen(a) > 1000);
	assert_same("catalogs of 'up' and 'up; rollback --to 0; up'", a, b);
	free(a);
	free(b);
	PQfinish(cr);
	PQfinish(c);
	free(ref);
	free(db);
}

static void test_guard_refuses_dropping_a_table_with_rows(void **state)
{
	char *db = pgt_create_db("gm_guard"), *out, *err, *before, *after;
	PGconn *c;

	(void)state;
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A');"
		    "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a@example.com');"
		    "INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		    " agent_config, tools_config, organization_id, created_by_id) VALUES ('t', 'd', '{}', 'u',"
		    " 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000aa')");
	/* 8, 7, 6, 5 hold nothing; 4 created the table with the row: the
	 * whole plan is refused, and none of it happens. */
	before = state_of(c);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --to 3"), 8);
	assert_not_contains(out, "rolled back");
	assert_contains(err, "0004_create_custom_agent_orders_table.sql: error: rollback refused: the down would destroy data in table public.custom_agent_orders (1 row)");
	assert_contains(err, "--allow-data-loss");
	assert_contains(err, "nothing was rolled back: schema, data and history are as they were");
	free(out);
	free(err);
	after = state_of(c);
	assert_same("the database before and after a refused rollback", before, after);
	free(after);
	/* The dry run says the same, with the same status. */
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --to 3 --dry-run"), 8);
	assert_contains(out, "-- guard: would remove table public.custom_agent_orders (1 row)");
	assert_contains(err, "rollback refused: the down would destroy data in table public.custom_agent_orders (1 row)");
	free(out);
	free(err);
	after = state_of(c);
	assert_same("the database before and after a refused dry run", before, after);
	free(after);
	free(before);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM custom_agent_orders"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE version = 4"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE action = 'rollback' AND version = 4 AND outcome = 'failed'"), 1);

	out = gm_ok(db, "rollback --to 3 --allow-data-loss", 0);
	assert_contains(out, "rolled back 0004_create_custom_agent_orders_table.sql");
	assert_contains(out, "dropped table public.custom_agent_orders (1 row)");
	free(out);
	assert_true(pgt_is_null(c, "SELECT to_regclass('custom_agent_orders')::text"));
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE action = 'rollback' AND version = 4"
				     " AND outcome = 'ok' AND message LIKE 'dropped table public.custom_agent_orders (1 row)%'"), 1);
	PQfinish(c);
	free(db);
}

static void test_guard_catches_a_dropped_column(void **state)
{
	char *db = pgt_create_db("gm_col"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n-- garage:down\nDROP TABLE t;\n");
	tfs_write(dir, "0002_t_note.sql", "ALTER TABLE t ADD COLUMN note text;\n-- garage:down\nALTER TABLE t DROP COLUMN note;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO t VALUES (1, 'keep me'), (2, NULL)");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
	assert_contains(err, "the down would destroy data in column public.t.note (1 value)");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM t WHERE note = 'keep me'"), 1);

	/* A column that holds only NULLs loses nothing. */
	pgt_exec(c, "UPDATE t SET note = NULL");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 0);
	assert_contains(out, "dropped column public.t.note (0 values)");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT attname::text FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'note' AND NOT attisdropped"));
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* The guard counts a table's rows, then runs the down again: a row another
 * session adds in between must not be dropped unseen.  The down sleeps
 * before its DROP on its second run only (a sequence is not rolled back
 * with the savepoint); meanwhile an insert must wait for the rollback
 * (here: give up after a lock_timeout), not commit and be dropped. */
static void test_guard_count_holds_until_the_drop(void **state)
{
	char *db = pgt_create_db("gm_rb_race"), *dir = tfs_tempdir(), *text, *state_code;
	PGconn *c = pgt_connect(db);
	struct pgt_bg bg;

	(void)state;
	tfs_write(dir, "0001_signups.sql", "CREATE TABLE signups (email text);\nCREATE SEQUENCE runs;\n"
					   "-- garage:down\n"
					   "SELECT pg_sleep(CASE WHEN nextval('runs') = 1 THEN 0 ELSE 3 END);\n"
					   "DROP TABLE signups;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_gm_start(&bg, db, dir, "rollback");
	pgt_wait_for_session(db, "wait_event = 'PgSleep'");
	state_code = pgt_error_state(c, "SET lock_timeout = '500ms'; INSERT INTO signups VALUES ('customer@example.com')");
	assert_non_null(state_code);
	assert_string_equal(state_code, "55P03");
	free(state_code);
	assert_int_equal(pgt_gm_finish(&bg, &text), 0);
	assert_contains(text, "dropped table public.signups (0 rows)");
	free(text);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A timeout that stops the guard's count is a timeout (exit 5), not a
 * count the role's rights forbid (exit 8, advice about BYPASSRLS).  The
 * table is one the role may drop but not lock (see the test above), so
 * nothing stands between the count and a lock another session took while
 * the trial slept. */
static void test_guard_count_stopped_by_a_timeout(void **state)
{
	char *db = pgt_create_db("gm_rb_cnt_to"), *dir = tfs_tempdir(), *as_dep, *text;
	PGconn *c = pgt_connect(db), *holder;
	struct pgt_bg bg;
	PGresult *r;

	(void)state;
	as_dep = pgt_deployer(c, db, "gm_rb_dep2");
	pgt_exec(c, "CREATE SCHEMA app AUTHORIZATION gm_rb_dep2");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE app.t (id int);\nCREATE SEQUENCE app.runs;\n-- garage:down\n"
				     "DROP TABLE app.t;\nSELECT pg_sleep(CASE WHEN nextval('app.runs') = 1 THEN 2 ELSE 0 END);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up"), 0);
	pgt_exec(c, "ALTER TABLE app.t OWNER TO postgres; GRANT SELECT ON app.t TO gm_rb_dep2; INSERT INTO app.t VALUES (1)");
	pgt_gm_start(&bg, as_dep, dir, "rollback --lock-timeout 300ms --allow-data-loss");
	pgt_wait_for_session(db, "wait_event = 'PgSleep'");
	holder = pgt_connect(db);
	assert_int_equal(PQsendQuery(holder, "BEGIN; LOCK TABLE app.t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT"), 1);
	assert_int_equal(pgt_gm_finish(&bg, &text), 5);
	assert_contains(text, "rollback stopped while counting the rows the down removes");
	assert_contains(text, "raise --statement-timeout (or --lock-timeout)");
	assert_not_contains(text, "BYPASSRLS");
	free(text);
	while ((r = PQgetResult(holder)))
		PQclear(r);
	PQfinish(holder);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM app.t"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_rb_dep2; DROP ROLE gm_rb_dep2");
	free(as_dep);
	free(db);
}

/* The down runs again after the count: a row another session commits in
 * between (here while the trial sleeps) is deleted by that run, and must
 * be seen as the trial's rows are, not dropped unseen. */
static void test_rows_committed_during_the_trial_are_seen(void **state)
{
	char *db = pgt_create_db("gm_rb_race2"), *dir = tfs_tempdir(), *text;
	PGconn *c = pgt_connect(db);
	struct pgt_bg bg;

	(void)state;
	tfs_write(dir, "0001_jobs.sql", "CREATE TABLE jobs (id int, done boolean);\n");
	tfs_write(dir, "0002_x.sql", "CREATE TABLE scratch (id int);\nCREATE SEQUENCE runs;\n"
				     "-- garage:down\n"
				     "DELETE FROM jobs WHERE done;\n"
				     "SELECT pg_sleep(CASE WHEN nextval('runs') = 1 THEN 2 ELSE 0 END);\n"
				     "DROP TABLE scratch;\nDROP SEQUENCE runs;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO jobs VALUES (1, false), (2, false)");
	pgt_gm_start(&bg, db, dir, "rollback");
	pgt_wait_for_session(db, "wait_event = 'PgSleep'");
	pgt_exec(c, "INSERT INTO jobs VALUES (99, true)");
	assert_int_equal(pgt_gm_finish(&bg, &text), 8);
	assert_contains(text, "public.jobs");
	free(text);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM jobs WHERE id = 99"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A table the role may drop (its schema is the role's) but not lock (no
 * UPDATE, DELETE or TRUNCATE on it): the guard counts it without the lock,
 * and refuses or, told to, drops it, as before the lock was taken. */
static void test_guard_counts_a_table_it_cannot_lock(void **state)
{
	char *db = pgt_create_db("gm_rb_nolock"), *dir = tfs_tempdir(), *as_dep, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	as_dep = pgt_deployer(c, db, "gm_rb_dep");
	pgt_exec(c, "CREATE SCHEMA app AUTHORIZATION gm_rb_dep");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE app.t (id int);\n-- garage:down\nDROP TABLE app.t;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up"), 0);
	pgt_exec(c, "ALTER TABLE app.t OWNER TO postgres; GRANT SELECT ON app.t TO gm_rb_dep;"
		    " INSERT INTO app.t VALUES (1), (2)");
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "rollback"), 8);
	assert_contains(err, "table app.t (2 rows)");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "rollback --allow-data-loss"), 0);
	assert_contains(out, "dropped table app.t (2 rows)");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('app.t')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP ROLE gm_rb_dep");
	free(as_dep);
	free(db);
}

static void test_guard_not_fooled_by_rls(void **state)
{
	char *db = pgt_create_db("gm_rls"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect(db);

	(void)state;
	/* The connecting role owns the table, and FORCE RLS with a policy
	 * that hides every row applies to it: a plain count says 0. */
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_test_owner') THEN"
		    " CREATE ROLE gm_test_owner LOGIN NOBYPASSRLS; END IF; END $$");
	sql = gm_xasprintf("GRANT CREATE ON DATABASE \"%s\" TO gm_test_owner", db);
	pgt_exec(c, sql);
	free(sql);
	pgt_exec(c, "GRANT CREATE ON SCHEMA public TO gm_test_owner");
	tfs_write(dir, "0001_secret.sql",
		  "CREATE TABLE secret (id int);\n"
		  "ALTER TABLE secret ENABLE ROW LEVEL SECURITY;\n"
		  "ALTER TABLE secret FORCE ROW LEVEL SECURITY;\n"
		  "CREATE POLICY nobody ON secret USING (false);\n"
		  "-- garage:down\n"
		  "DROP TABLE secret;\n");
	assert_int_equal(pgt_run(NULL, NULL, "%s -d 'dbname=%s user=gm_test_owner' -m '%s' up", pgt_bin(), db, dir), 0);
	pgt_exec(c, "INSERT INTO secret VALUES (1), (2)");	/* superuser: no RLS */
	pgt_exec(c, "BEGIN; SET LOCAL ROLE gm_test_owner");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM secret"), 0);
	pgt_exec(c, "ROLLBACK");

	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s user=gm_test_owner' -m '%s' rollback", pgt_bin(), db, dir), 8);
	assert_contains(err, "rollback refused: cannot tell whether the down destroys data");
	assert_contains(err, "row-level security");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM secret"), 2);

	/* A superuser does not use a history another role owns (its owner
	 * could plant code there, see it_hijack.c); made the superuser's,
	 * the rows are counted, and named. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 7);
	assert_contains(err, "refusing to use the history: schema garage_migrate is owned by role gm_test_owner");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM secret"), 2);
	pgt_exec(c, "ALTER SCHEMA garage_migrate OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.schema_history OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.audit_log OWNER TO postgres");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
	assert_contains(err, "table public.secret (2 rows)");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM secret"), 2);

	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "rollback --allow-data-loss"), 0);
	pgt_exec(c, "REVOKE CREATE ON SCHEMA public FROM gm_test_owner");
	pgt_exec(c, "DROP SCHEMA garage_migrate CASCADE");
	sql = gm_xasprintf("REVOKE CREATE ON DATABASE \"%s\" FROM gm_test_owner", db);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	pgt_drop_db(db, "DROP ROLE gm_test_owner");
	tfs_rmdir(dir);
	free(db);
}

static void test_dry_run_changes_nothing(void **state)
{
	char *db = pgt_create_db("gm_rbdry"), *out, *a, *b, *h1, *h2;
	PGconn *c;
	const char *hist = "SELECT string_agg(version || checksum, ',' ORDER BY version) FROM garage_migrate.schema_history";

	(void)state;
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);
	a = pgt_catalog(c);
	h1 = pgt_value(c, hist);
	out = gm_ok(db, "rollback --steps 3 --dry-run", 0);
	assert_contains(out, "0008_add_ai_garage_rls_policies.yaml (would roll back");
	assert_contains(out, "DROP POLICY \"showcase_delete\" ON \"project_showcases\";");
	assert_contains(out, "0006_create_tool_blueprints_table.sql (would roll back");
	assert_not_contains(out, "0005_create");
	assert_contains(out, "-- dry run: 3 migrations would be rolled back, and the guard allows it; nothing was changed");
	free(out);
	b = pgt_catalog(c);
	h2 = pgt_value(c, hist);
	assert_same("catalogs before and after a dry run", a, b);
	assert_string_equal(h1, h2);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.audit_log WHERE action = 'rollback'"), 0);
	free(a);
	free(b);
	free(h1);
	free(h2);
	PQfinish(c);
	free(db);
}

static void test_plan_is_checked_before_anything_runs(void **state)
{
	char *db = pgt_create_db("gm_plan"), *dir = tfs_tempdir(), *out, *err, *path;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n-- garage:down\nDROP TABLE c;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);

	/* 0003 could go, but 0002 has no down: nothing runs at all. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --steps 2"), 6);
	assert_contains(err, "0002_b.sql: error: cannot roll back: the migration has no -- garage:down section");
	free(out);
	free(err);
	assert_false(pgt_is_null(c, "SELECT to_regclass('c')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);

	/* An edited or missing file stops it too. */
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id bigint);\n-- garage:down\nDROP TABLE c;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 1);
	assert_contains(err, "0003_c.sql: error: cannot roll back: the file was edited since it was applied");
	free(out);
	free(err);
	path = gm_xasprintf("%s/0003_c.sql", dir);
	assert_int_equal(remove(path), 0);
	free(path);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 1);
	assert_contains(err, "cannot roll back 0003_c: its file 0003_c.sql is missing");
	free(out);
	free(err);
	assert_false(pgt_is_null(c, "SELECT to_regclass('c')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 3);

	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --to 7"), 2);
	assert_contains(err, "version 7 is not applied");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --to 1 --steps 1"), 2);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_a_failing_down_points_into_the_file(void **state)
{
	char *db = pgt_create_db("gm_downerr"), *dir = tfs_tempdir(), *out, *err, *expect;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n\nDROP TABLE no_such_table;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 4);
	expect = gm_xasprintf("%s/0001_a.sql:5:12: error: table \"no_such_table\" does not exist", dir);
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	assert_false(pgt_is_null(c, "SELECT to_regclass('a')::text"));
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_baseline_then_up(void **state)
{
	char *db = pgt_create_db("gm_base"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	/* An existing application's tables. */
	pgt_exec(c, "CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL,"
		    " created_at timestamptz NOT NULL DEFAULT now(), plan text);"
		    "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE,"
		    " name text, created_at timestamptz NOT NULL DEFAULT now());"
		    "INSERT INTO organizations (name) VALUES ('Existing Org')");
	assert_int_equal(pgt_gm(&out, &err, db, "up"), 4);	/* organizations already exists */
	assert_contains(err, "0001_base_organizations_users.sql:6:14: error: relation \"organizations\" already exists");
	free(out);
	free(err);

	out = gm_ok(db, "baseline --version 1", 0);
	assert_contains(out, "marked 1 migration applied without running it");
	free(out);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history WHERE kind = 'baseline' AND version = 1"), 1);
	out = gm_ok(db, "up", 0);
	assert_contains(out, "7 migrations applied");
	free(out);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM organizations WHERE name = 'Existing Org'"), 1);
	out = gm_ok(db, "list", 0);
	assert_contains(out, "8 migrations: 8 applied, 0 pending");
	free(out);

	assert_int_equal(pgt_gm(&out, &err, db, "baseline --version 1"), 1);
	assert_contains(err, "cannot baseline: the history already records 8 migrations");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "baseline --version 42"), 2);
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

static void test_repair_and_the_audit_log(void **state)
{
	char *db = pgt_create_db("gm_repair"), *dir = tfs_tempdir(), *out, *err, *path, *empty;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	/* An intentional edit: a comment explaining the table. */
	tfs_write(dir, "0001_a.sql", "-- garage:up\nCREATE TABLE a (id int); -- the a table\n-- garage:down\nDROP TABLE a;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 1);

	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair"), 2);	/* stdin is not a terminal */
	assert_contains(out, "0001_a.sql: record sha256:");
	assert_contains(out, "(was sha256:");
	assert_contains(err, "pass --yes");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
	assert_contains(out, "repaired 1 entry");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_contains(out, "nothing to apply");
	free(out);
	free(err);

	/* A vanished file: kept unless asked. */
	path = gm_xasprintf("%s/0002_b.sql", dir);
	assert_int_equal(remove(path), 0);
	free(path);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
	assert_contains(out, "pass --remove-missing");
	assert_contains(out, "nothing to repair");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	/* From the wrong folder every file is missing: refused, not an
	 * emptied history that the next up would run again. */
	empty = tfs_tempdir();
	assert_int_equal(pgt_gm_dir(&out, &err, db, empty, "repair --yes --remove-missing"), 6);
	assert_contains(err, "refusing to remove every entry of the history: none of its 2 applied migrations has a file here");
	assert_contains(err, "is this the project's migrations folder, at its newest?");
	assert_not_contains(out, "remove the entry");
	free(out);
	free(err);
	tfs_rmdir(empty);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	/* 0002 is newer than every file left (an old checkout would look
	 * so): removed only when told it is gone for good. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes --remove-missing"), 6);
	assert_contains(err, "refusing to remove the entries of 1 applied migration newer than every file here (the newest is 0001_a.sql)");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes --allow-newer"), 2);
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes --remove-missing --allow-newer"), 0);
	assert_contains(out, "0002_b: remove the entry");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 0);
	free(out);
	free(err);

	/* Every step is in the log, oldest first. */
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' log --format json", pgt_bin(), db), 0);
	assert_contains(out, "\"action\":\"up\",\"version\":\"1\",\"name\":\"a\"");
	assert_contains(out, "\"action\":\"repair\",\"version\":\"1\",\"name\":\"a\"");
	assert_contains(out, "\"action\":\"repair\",\"version\":\"2\",\"name\":\"b\"");
	assert_contains(out, "removed the entry of a missing file");
	assert_contains(out, "\"action\":\"rollback\",\"version\":\"1\",\"name\":\"a\"");
	assert_contains(out, "\"db_user\":\"postgres\"");
	assert_true(strstr(out, "\"action\":\"up\"") < strstr(out, "\"action\":\"repair\""));
	assert_true(strstr(out, "\"action\":\"repair\"") < strstr(out, "\"action\":\"rollback\""));
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' log --limit 1", pgt_bin(), db), 0);
	assert_contains(out, "rollback");
	assert_not_contains(out, "repair  ");
	free(out);
	free(err);
	/* Append-only. */
	{
		char *s = pgt_error_state(c, "DELETE FROM garage_migrate.audit_log");
		assert_string_equal(s, "P0001");
		free(s);
	}
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* One order, its organization and its user: data the guard must see. */
static void add_an_order(PGconn *c)
{
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A');"
		    "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a@example.com');"
		    "INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		    " agent_config, tools_config, organization_id, created_by_id) VALUES ('t', 'd', '{}', 'u',"
		    " 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000aa')");
}

/* Issue 12's case: the refusal at 0004 used to come after 0008..0005 had
 * committed, leaving the order readable by every tenant. */
static void test_refused_plan_changes_nothing(void **state)
{
	char *db = pgt_create_db("gm_rb_all"), *out, *err, *before, *after;
	PGconn *c;

	(void)state;
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);
	add_an_order(c);
	before = state_of(c);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --to 1"), 8);
	assert_contains(err, "rollback refused: the down would destroy data in table public.custom_agent_orders (1 row)");
	after = state_of(c);
	assert_same("the database before and after the refused rollback --to 1", before, after);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 'custom_agent_orders'"
				     " AND relrowsecurity AND relforcerowsecurity"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_policies WHERE tablename = 'custom_agent_orders'"), 4);
	free(out);
	free(err);
	free(before);
	free(after);
	PQfinish(c);
	free(db);
}

static void test_isolation_loss_is_guarded(void **state)
{
	char *db = pgt_create_db("gm_rb_iso"), *out, *err, *before, *after;
	PGconn *c;

	(void)state;
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);
	add_an_order(c);
	before = state_of(c);
	/* 0008's down disables RLS on tables that stay: the order would be
	 * every tenant's to read. */
	assert_int_equal(pgt_gm(&out, &err, db, "rollback"), 8);
	assert_contains(err, "rollback refused: tenant data would lose its isolation: table public.custom_agent_orders,"
			     " row level security disabled, keeps 1 row");
	assert_contains(err, "--allow-isolation-loss");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --dry-run"), 8);
	assert_contains(out, "isolation: table public.custom_agent_orders, row level security disabled, keeps 1 row");
	free(out);
	free(err);
	/* Data loss allowed is not isolation loss allowed. */
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --allow-data-loss"), 8);
	free(out);
	free(err);
	after = state_of(c);
	assert_same("the database before and after refused rollbacks", before, after);
	out = gm_ok(db, "rollback --allow-isolation-loss", 0);
	assert_contains(out, "rolled back 0008_add_ai_garage_rls_policies.yaml");
	assert_contains(out, "isolation: table public.custom_agent_orders, row level security disabled, keeps 1 row");
	free(out);
	free(before);
	free(after);
	PQfinish(c);
	free(db);
}

/* Rows a down deletes, truncates or overwrites are data loss too. */
static void test_rows_a_down_removes_are_loss(void **state)
{
	static const struct { const char *down, *says; } cases[] = {
		{ "DELETE FROM t WHERE id = 1;", "rows deleted from table public.t (1 row)" },
		{ "TRUNCATE t;", "rows of table public.t removed (truncated or rewritten) (2 rows)" },
		{ "ALTER TABLE t ALTER COLUMN note TYPE int USING NULL;", "values of column public.t.note lost to its new type (2 values)" },
		{ "UPDATE t SET note = 'x';", "rows overwritten in table public.t (2 rows)" },
		{ "CREATE TABLE t_old AS SELECT * FROM t; DROP TABLE t;", "table public.t (2 rows)" },
		/* A rewrite that keeps the type but not the values. */
		{ "ALTER TABLE t ALTER COLUMN note TYPE text USING NULL;",
		  "values of table public.t changed by a rewrite (column note)" },
		{ "ALTER TABLE t ALTER COLUMN note TYPE text USING upper(note);",
		  "values of table public.t changed by a rewrite (column note)" },
		/* track_counts off: deleted rows would not be counted. */
		{ "SET LOCAL track_counts = off; DELETE FROM t WHERE id = 1;",
		  "cannot count the rows the downs delete or update (the down of 0002_x.sql sets track_counts" },
	};
	char *db = pgt_create_db("gm_rb_rows"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect(db);
	size_t k;

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, note text);\n-- garage:down\nDROP TABLE t;\n");
	tfs_write(dir, "0002_x.sql", "SELECT 1;\n-- garage:down\nSELECT 1;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		/* The down is not in the checksum: each case rewrites it. */
		sql = gm_xasprintf("SELECT 1;\n-- garage:down\n%s\n", cases[k].down);
		tfs_write(dir, "0002_x.sql", sql);
		free(sql);
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
		assert_contains(err, cases[k].says);
		free(out);
		free(err);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM t WHERE note IN ('a', 'b')"), 2);
		assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	}
	/* A type change that keeps every value is no loss. */
	tfs_write(dir, "0002_x.sql", "SELECT 1;\n-- garage:down\nALTER TABLE t ALTER COLUMN id TYPE bigint;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 0);
	assert_contains(out, "rolled back 0002_x.sql");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* The statistics the guard reads deleted rows from: a database default
 * turning track_counts off must not blind it (the rollback turns it on
 * for its transaction). */
static void test_track_counts_off_does_not_blind_the_guard(void **state)
{
	char *db = pgt_create_db("gm_rb_tc"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect(db);

	(void)state;
	sql = gm_xasprintf("ALTER DATABASE \"%s\" SET track_counts = off", db);
	pgt_exec(c, sql);
	free(sql);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n-- garage:down\nDROP TABLE t;\n");
	tfs_write(dir, "0002_x.sql", "INSERT INTO t SELECT generate_series(1, 102);\n-- garage:down\nDELETE FROM t;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
	assert_contains(err, "rows deleted from table public.t (102 rows)");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM t"), 102);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A down that turns track_counts off around its DELETE and on again:
 * the setting reads on after the step, the rows were never counted.
 * However it is spelt (setting names are case-blind). */
static void test_track_counts_toggled_by_a_down(void **state)
{
	static const char *const downs[] = {
		"SET LOCAL track_counts = off;\nDELETE FROM t;\nSET LOCAL track_counts = on;\n",
		"SELECT set_config('Track_Counts', 'off', true);\nDELETE FROM t;\nRESET ALL;\n",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(downs) / sizeof(downs[0]); k++) {
		char *db = pgt_create_db("gm_rb_tc2"), *dir = tfs_tempdir(), *out, *err, *x;
		PGconn *c = pgt_connect(db);

		tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n-- garage:down\nDROP TABLE t;\n");
		x = gm_xasprintf("INSERT INTO t SELECT generate_series(1, 10);\n-- garage:down\n%s", downs[k]);
		tfs_write(dir, "0002_x.sql", x);
		free(x);
		assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
		assert_contains(err, "the down of 0002_x.sql sets track_counts");
		free(out);
		free(err);
		assert_int_equal(pgt_count(c, "SELECT count(*) FROM t"), 10);
		PQfinish(c);
		tfs_rmdir(dir);
		free(db);
	}
}

/* RLS on a partitioned table or an inheritance parent guards the rows of
 * its children, which a query on the parent reaches: counting the
 * parent's own rows (none) would let both guards pass. */
static void test_isolation_of_parents_counts_children(void **state)
{
	char *db = pgt_create_db("gm_rb_parent"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql",
		  "CREATE TABLE ev (id int, k int) PARTITION BY RANGE (k);\n"
		  "CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (100);\n"
		  "CREATE TABLE legacy (id int);\n"
		  "CREATE TABLE legacy_c () INHERITS (legacy);\n"
		  "INSERT INTO ev SELECT g, g FROM generate_series(1, 10) g;\n"
		  "INSERT INTO legacy_c SELECT generate_series(1, 5);\n");
	tfs_write(dir, "0002_rls.sql",
		  "ALTER TABLE ev ENABLE ROW LEVEL SECURITY;\n"
		  "CREATE POLICY p ON ev USING (false);\n"
		  "ALTER TABLE legacy ENABLE ROW LEVEL SECURITY;\n"
		  "CREATE POLICY p ON legacy USING (false);\n"
		  "-- garage:down\n"
		  "ALTER TABLE ev DISABLE ROW LEVEL SECURITY;\n"
		  "ALTER TABLE legacy DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 8);
	assert_contains(err, "table public.ev, row level security disabled, keeps 10 rows");
	assert_contains(err, "table public.legacy, row level security disabled, keeps 5 rows");
	free(out);
	free(err);
	tfs_write(dir, "0003_off.sql", "ALTER TABLE ev DISABLE ROW LEVEL SECURITY;\n"
		  "ALTER TABLE legacy DISABLE ROW LEVEL SECURITY;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
	assert_contains(err, "table public.ev, row level security disabled, keeps 10 rows");
	assert_contains(err, "table public.legacy, row level security disabled, keeps 5 rows");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname IN ('ev', 'legacy') AND relrowsecurity"), 2);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* A table rebuilt under its own name (renamed away, copied, dropped)
 * keeps its rows in a table without RLS: both guards compare by name as
 * well as by oid. */
static void test_rebuilt_table_must_stay_isolated(void **state)
{
	/* The lint would stop this up (exit 9) before the guard could: its
	 * findings are silenced, as a migration meaning it would. */
	static const char rebuild[] =
		"-- garage:lint-ignore rename_table the guard under test must see the rebuild\n"
		"ALTER TABLE t RENAME TO t_old;\n"
		"CREATE TABLE t (LIKE t_old INCLUDING ALL);\n"
		"INSERT INTO t SELECT * FROM t_old;\n"
		"-- garage:lint-ignore drop_table likewise\n"
		"DROP TABLE t_old;\n";
	char *db = pgt_create_db("gm_rb_rebuild"), *dir = tfs_tempdir(), *out, *err, *sql;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int PRIMARY KEY, org int);\n"
		  "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\nALTER TABLE t FORCE ROW LEVEL SECURITY;\n"
		  "-- garage:lint-ignore current_setting_without_missing_ok the test sets app.org where it reads\n"
		  "CREATE POLICY p ON t USING (org = current_setting('app.org')::int);\n"
		  "INSERT INTO t VALUES (1, 1), (2, 2);\n");
	sql = gm_xasprintf("SELECT 1;\n-- garage:down\n%s", rebuild);
	tfs_write(dir, "0002_x.sql", sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	/* Data loss allowed (the old table goes), isolation loss not. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --allow-data-loss"), 8);
	assert_contains(err, "tenant data would lose its isolation: table public.t, row level security disabled, keeps 2 rows");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't' AND relrowsecurity"), 1);
	tfs_write(dir, "0003_rebuild.sql", rebuild);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 8);
	assert_contains(err, "refused: tenant data would lose its isolation: table public.t, row level security disabled, keeps 2 rows");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't' AND relrowsecurity"), 1);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 2);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* setval and nextval are not undone by ROLLBACK: a dry run that says
 * "nothing was changed" must name what was. */
static void test_dry_run_names_moved_sequences(void **state)
{
	char *db = pgt_create_db("gm_rb_seq"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_s.sql", "CREATE SEQUENCE invoice_no;\nSELECT nextval('invoice_no') FROM generate_series(1, 5);\n"
		  "-- garage:down\nDROP SEQUENCE invoice_no;\n");
	tfs_write(dir, "0002_x.sql", "SELECT 1;\n-- garage:down\nSELECT setval('invoice_no', 1, false);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --dry-run"), 0);
	assert_contains(err, "warning: sequences moved while the downs were tried, and no ROLLBACK undoes that"
			     " (setval, nextval): public.invoice_no from 5 to unused");
	assert_contains(out, "nothing was changed but the sequences named above");
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Names from the catalog in rollback's own lines are escaped. */
static void test_rollback_output_is_escaped(void **state)
{
	char *db = pgt_create_db("gm_rb_esc"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_t.sql", "CREATE TABLE x (id int);\n-- garage:down\nDROP TABLE x;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "ALTER TABLE x RENAME TO \"x\x1b[2J\"");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE x (id int);\n-- garage:down\nDROP TABLE \"x\x1b[2J\";\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --dry-run"), 0);
	assert_contains(out, "-- guard: would remove table public.x\\x1b[2J (0 rows)");
	free(out);
	free(err);
	out = NULL;
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 0);
	assert_contains(out, "dropped table public.x\\x1b[2J (0 rows)");
	assert_null(strchr(out, '\x1b'));
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* getopt_long takes any unique prefix: "--a" meant --allow-data-loss. */
static void test_options_are_never_abbreviated(void **state)
{
	char *db = pgt_create_db("gm_rb_abbr"), *out, *err;
	PGconn *c;

	(void)state;
	free(gm_ok(db, "up", 0));
	c = pgt_connect(db);
	add_an_order(c);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --to 3 --a"), 2);
	assert_contains(err, "unknown or incomplete option '--a' (options are never abbreviated)");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --to=3 --allow-data"), 2);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM custom_agent_orders"), 1);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 8);
	PQfinish(c);
	free(db);
}

/* COMMIT in a down would end the guard's transaction: refused before
 * anything is sent, even when the down was edited after the up ran. */
static void test_transaction_control_in_a_down_is_refused(void **state)
{
	char *db = pgt_create_db("gm_rb_commit"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_precious.sql", "CREATE TABLE precious (id int);\n-- garage:down\nDROP TABLE precious;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "INSERT INTO precious VALUES (1), (2), (3)");
	tfs_write(dir, "0001_precious.sql", "CREATE TABLE precious (id int);\n-- garage:down\nCOMMIT; DROP TABLE precious;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 6);
	assert_contains(err, "0001_precious.sql:3:1: error: transaction control statement in a migration that runs in a transaction (down section)");
	free(out);
	free(err);
	tfs_write(dir, "0001_precious.sql", "CREATE TABLE precious (id int);\n-- garage:down\nRELEASE SAVEPOINT gm_step; DROP TABLE precious;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --allow-data-loss"), 6);
	assert_contains(err, "RELEASE of a savepoint this section did not make (down section)");
	free(out);
	free(err);
	/* A savepoint of the guard's name would be the one it returns to,
	 * after the DELETE: "(0 rows)". */
	tfs_write(dir, "0001_precious.sql", "CREATE TABLE precious (id int);\n-- garage:down\nDELETE FROM precious;\n"
					    "SAVEPOINT gm_step;\nDROP TABLE precious;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 6);
	assert_contains(err, "0001_precious.sql:4:1: error: a savepoint named gm_...: names beginning gm_ are garage-migrate's own (down section)");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM precious"), 3);
	assert_int_equal(pgt_count(c, HISTORY_COUNT), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Issue 12: baseline --version 5 on an empty database succeeded, and the
 * next up failed on a missing type.  It checks what it is told. */
/* baseline's trial runs on live tables: it neither moves a sequence for
 * good (setval is not undone by the rollback) nor waits without bound for
 * a lock the application holds. */
static void test_baseline_trial_leaves_live_tables_alone(void **state)
{
	char *db = pgt_create_db("gm_bl_live"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db), *app;

	(void)state;
	pgt_exec(c, "CREATE TABLE o (id bigserial PRIMARY KEY, v text); INSERT INTO o (v) SELECT 'x' FROM generate_series(1, 100)");
	tfs_write(dir, "0001_o.sql", "CREATE TABLE o (id bigserial PRIMARY KEY, v text);\n"
				     "SELECT setval('o_id_seq', 1, false);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1"), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT last_value FROM o_id_seq"), 100);
	pgt_exec(c, "INSERT INTO o (v) VALUES ('new')");
	/* Out of sight in a DO block: said, with where it stood. */
	pgt_exec(c, "DROP SCHEMA garage_migrate CASCADE");
	tfs_write(dir, "0001_o.sql", "CREATE TABLE o (id bigserial PRIMARY KEY, v text);\n"
				     "DO $$ BEGIN PERFORM setval('o_id_seq', 1, false); END $$;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1"), 1);
	assert_contains(err, "baseline's trial set sequence public.o_id_seq back from 101 to its start, which no rollback undoes");
	assert_contains(err, "set it past the largest key in use");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	pgt_exec(c, "SELECT setval('o_id_seq', 101)");
	/* An idempotent seed moves it on (a gap, no harm): passes. */
	tfs_write(dir, "0001_o.sql", "CREATE TABLE o (id bigserial PRIMARY KEY, v text UNIQUE);\n"
				     "INSERT INTO o (v) VALUES ('seed') ON CONFLICT DO NOTHING;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1"), 0);
	free(out);
	free(err);
	pgt_exec(c, "DROP SCHEMA garage_migrate CASCADE");
	/* A lock the application holds: exit 5 after --lock-timeout. */
	tfs_write(dir, "0001_o.sql", "CREATE TABLE o (id bigserial PRIMARY KEY, v text);\n"
				     "ALTER TABLE o ADD COLUMN v text;\n");
	app = pgt_connect(db);
	pgt_exec(app, "BEGIN; SELECT count(*) FROM o");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1 --lock-timeout 200ms"), 5);
	assert_contains(err, "lock timeout");
	assert_contains(err, "raise --lock-timeout; nothing was changed");
	free(out);
	free(err);
	PQfinish(app);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "baseline --version 1"), 0);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* --to goes by version: after 0002 was applied out of order, after 0003,
 * --to 2 rolls back 0003 alone, and 0002, newer in the history than the
 * step, is no sign of another run. */
static void test_rollback_to_after_an_out_of_order_apply(void **state)
{
	char *db = pgt_create_db("gm_rb_ooo"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n-- garage:down\nDROP TABLE c;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --out-of-order"), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --to 2"), 0);
	assert_contains(out, "rolled back 0003_c.sql");
	assert_not_contains(out, "0002_b");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b', 'c') AND relkind = 'r'"), 2);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 2);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

static void test_baseline_checks_the_database(void **state)
{
	char *db = pgt_create_db("gm_bl_check"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "baseline --version 5"), 1);
	assert_contains(err, "0001_base_organizations_users.sql: error: cannot baseline: the database does not hold what this migration makes:"
			     " running it creates index public.organizations_pkey");
	assert_contains(err, "--force");
	free(out);
	free(err);
	/* Nothing changed: not even the history schema. */
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('organizations')::text"));
	/* With the base tables in place, version 1 is what it holds. */
	pgt_exec(c, "CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);"
		    "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE)");
	assert_int_equal(pgt_gm(&out, &err, db, "baseline --version 2"), 1);
	assert_contains(err, "0002_create_ai_garage_enums.yaml: error: cannot baseline");
	assert_contains(err, "creates type public.");
	free(out);
	free(err);
	out = gm_ok(db, "baseline --version 1", 0);
	assert_contains(out, "marked 0001_base_organizations_users.sql applied (baseline)");
	free(out);
	PQfinish(c);
	free(db);
	/* --force marks what it is told. */
	db = pgt_create_db("gm_bl_force");
	out = gm_ok(db, "baseline --version 2 --force", 0);
	assert_contains(out, "marked 0002_create_ai_garage_enums.yaml applied (baseline)");
	free(out);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollback_removes_exactly_the_last),
		cmocka_unit_test(test_rollback_to_base_and_round_trip),
		cmocka_unit_test(test_guard_refuses_dropping_a_table_with_rows),
		cmocka_unit_test(test_guard_catches_a_dropped_column),
		cmocka_unit_test(test_guard_not_fooled_by_rls),
		cmocka_unit_test(test_guard_count_holds_until_the_drop),
		cmocka_unit_test(test_guard_counts_a_table_it_cannot_lock),
		cmocka_unit_test(test_guard_count_stopped_by_a_timeout),
		cmocka_unit_test(test_rows_committed_during_the_trial_are_seen),
		cmocka_unit_test(test_dry_run_changes_nothing),
		cmocka_unit_test(test_refused_plan_changes_nothing),
		cmocka_unit_test(test_isolation_loss_is_guarded),
		cmocka_unit_test(test_rows_a_down_removes_are_loss),
		cmocka_unit_test(test_track_counts_off_does_not_blind_the_guard),
		cmocka_unit_test(test_track_counts_toggled_by_a_down),
		cmocka_unit_test(test_isolation_of_parents_counts_children),
		cmocka_unit_test(test_rebuilt_table_must_stay_isolated),
		cmocka_unit_test(test_dry_run_names_moved_sequences),
		cmocka_unit_test(test_rollback_output_is_escaped),
		cmocka_unit_test(test_options_are_never_abbreviated),
		cmocka_unit_test(test_transaction_control_in_a_down_is_refused),
		cmocka_unit_test(test_plan_is_checked_before_anything_runs),
		cmocka_unit_test(test_a_failing_down_points_into_the_file),
		cmocka_unit_test(test_baseline_then_up),
		cmocka_unit_test(test_rollback_to_after_an_out_of_order_apply),
		cmocka_unit_test(test_baseline_checks_the_database),
		cmocka_unit_test(test_baseline_trial_leaves_live_tables_alone),
		cmocka_unit_test(test_repair_and_the_audit_log),
	};
	return cmocka_run_group_tests_name("rollback, baseline, repair, log", tests, NULL, NULL);
}
