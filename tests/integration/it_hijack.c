/* Integration tests: the tool's own SQL cannot be hijacked by functions and
 * operators a role with CREATE on public plants, even ones that match the
 * argument types better than the built-in ones.  Each plant writes a file
 * with COPY, which only a superuser can: the file appearing means the
 * tool ran it as the superuser it connects as. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_history.h"
#include "gm_strbuf.h"
#include "pgtest.h"
#include "testfs.h"

static char *planted_path(const char *what)
{
	char *p = gm_xasprintf("/tmp/gm_hijack_%s_%d", what, (int)getpid());

	unlink(p);
	return p;
}

static void assert_not_written(char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		fail_msg("%s was written: planted code ran as the superuser", path);
	free(path);
}

/* Plants, as a role with CREATE on public only, the body of a function
 * that writes path when run by a superuser and returns ret. */
static void plant(PGconn *c, const char *db, const char *sql_fmt, const char *path)
{
	char *sql = gm_xasprintf("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_planter') THEN"
				 " CREATE ROLE gm_planter NOLOGIN; END IF; END $$;"
				 "GRANT CREATE, USAGE ON SCHEMA public TO gm_planter;"
				 "GRANT TEMPORARY ON DATABASE \"%s\" TO gm_planter", db);
	char *body = gm_xasprintf("IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
				  " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF;", path);
	char *plant_sql = gm_xasprintf(sql_fmt, body);

	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("SET ROLE gm_planter; %s; RESET ROLE", plant_sql);
	pgt_exec(c, sql);
	free(sql);
	free(plant_sql);
	free(body);
}

static void unplant(const char *db)
{
	pgt_drop_db(db, "DROP ROLE gm_planter");
}

/* An aggregate on name beats pg_catalog.string_agg(text, text) for the
 * catalog's column names: verify and dump read the catalog. */
static void test_verify_and_dump(void **state)
{
	char *db = pgt_create_db("gm_hj_agg"), *path = planted_path("agg"), *out, *err, *args;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	plant(c, db, "CREATE FUNCTION public.gm_sfunc(text, name, text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN %s"
		     " RETURN $1; END $f$; CREATE AGGREGATE public.string_agg(name, text) (SFUNC = public.gm_sfunc, STYPE = text)",
	      path);
	args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' --isolation", pgt_root());
	pgt_gm(&out, &err, db, args);
	assert_contains(out, "rls: lints on tenant tables - ok");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(NULL, NULL, db, "dump"), 0);
	assert_int_equal(pgt_gm(NULL, NULL, db, "list"), 0);
	assert_int_equal(pgt_gm(NULL, NULL, db, "log"), 0);
	assert_not_written(path);
	free(args);
	PQfinish(c);
	unplant(db);
	free(db);
}

/* numeric * integer beats numeric * numeric for the history row's
 * duration: every up that applies a migration computes it. */
static void test_up(void **state)
{
	char *db = pgt_create_db("gm_hj_mul"), *path = planted_path("mul"), *dir = tfs_tempdir();
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	plant(c, db, "CREATE FUNCTION public.gm_mul(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS $f$ BEGIN %s"
		     " RETURN $1 OPERATOR(pg_catalog.*) $2; END $f$;"
		     " CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.gm_mul)", path);
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n-- garage:down\nDROP TABLE b;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "rollback"), 0);
	assert_not_written(path);
	PQfinish(c);
	tfs_rmdir(dir);
	unplant(db);
	free(db);
}

/* An operator on name that says "not like" to everything would hide the
 * public schema from the data-loss guard: the rollback must still refuse
 * to drop a table that holds a row. */
static void test_rollback_guard(void **state)
{
	char *db = pgt_create_db("gm_hj_like"), *path = planted_path("like"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	pgt_exec(c, "INSERT INTO organizations (name) VALUES ('keep me')");
	plant(c, db, "CREATE FUNCTION public.gm_notlike(name, name) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN %s"
		     " RETURN false; END $f$;"
		     " CREATE OPERATOR public.!~~ (LEFTARG = name, RIGHTARG = name, FUNCTION = public.gm_notlike)", path);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --steps 8"), 8);
	assert_contains(err, "table public.organizations (1 row)");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM organizations"), 1);
	free(out);
	free(err);
	assert_not_written(path);
	PQfinish(c);
	unplant(db);
	free(db);
}

/* Runs every command that reads the history as the superuser (and as the
 * superuser acting as dep); each must refuse with reason, exit 7. */
static void assert_refused(const char *db, const char *dir, const char *reason)
{
	static const char *const cmds[] = { "list", "verify", "log", "up", "rollback --dry-run", "repair --yes" };
	char *out, *err, *as_dep = gm_xasprintf("%s options=-crole=gm_hj_dep", db);

	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		assert_int_equal(pgt_gm_dir(&out, &err, db, dir, cmds[k]), 7);
		assert_contains(err, "refusing to use the history: ");
		assert_contains(err, reason);
		free(out);
		free(err);
	}
	/* SET ROLE is no shield: a function can RESET ROLE to the login. */
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "list"), 7);
	assert_contains(err, "is owned by role gm_hj_dep, not by postgres or a superuser");
	free(out);
	free(err);
	free(as_dep);
}

/* A role that ran up first owns the history schema and tables: it can put
 * a view in the history's place whose function runs as the reader.  A
 * superuser's list, verify, log, up, rollback or repair must not read it
 * (nor anything else that role owns there); the owner itself is refused
 * the view too, and a trigger another role added is refused as well. */
static void test_history_of_another_role(void **state)
{
	char *db = pgt_create_db("gm_hj_hist"), *path = planted_path("hist"), *dir = tfs_tempdir(), *as_dep, *sql;
	char *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	as_dep = pgt_deployer(c, db, "gm_hj_dep");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "list"), 0);
	/* Owned by dep: refused to the superuser before anything is planted. */
	assert_refused(db, dir, "schema garage_migrate is owned by role gm_hj_dep, not by postgres or a superuser");
	sql = gm_xasprintf("SET ROLE gm_hj_dep;"
			   " CREATE FUNCTION garage_migrate.x(t text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN"
			   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN t; END $f$;"
			   " ALTER TABLE garage_migrate.schema_history RENAME TO schema_history_real;"
			   " CREATE VIEW garage_migrate.schema_history AS SELECT version, applied_seq, version_text, name,"
			   " script, garage_migrate.x(checksum) AS checksum, kind, transactional, applied_at, applied_by,"
			   " os_user, execution_ms, status, backend_pid, message FROM garage_migrate.schema_history_real;"
			   " RESET ROLE", path);
	pgt_exec(c, sql);
	free(sql);
	assert_refused(db, dir, "schema garage_migrate is owned by role gm_hj_dep");
	assert_int_equal(pgt_gm_dir(&out, &err, as_dep, dir, "list"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history is not a plain table");
	free(out);
	free(err);
	assert_not_written(gm_xstrdup(path));

	/* Made the superuser's, with its table back.  A role granted TRIGGER
	 * could add one between the check and the write: refused as such. */
	pgt_exec(c, "DROP VIEW garage_migrate.schema_history;"
		    " ALTER TABLE garage_migrate.schema_history_real RENAME TO schema_history;"
		    " ALTER SCHEMA garage_migrate OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.schema_history OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.audit_log OWNER TO postgres;"
		    " GRANT USAGE ON SCHEMA garage_migrate TO gm_hj_dep;"
		    " GRANT TRIGGER ON garage_migrate.audit_log TO gm_hj_dep");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.audit_log grants TRIGGER to role gm_hj_dep, not postgres or a superuser");
	free(out);
	free(err);
	sql = gm_xasprintf("SET ROLE gm_hj_dep;"
			   " CREATE FUNCTION public.gm_trg() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
			   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN NULL; END $f$;"
			   " CREATE TRIGGER gm_trg AFTER INSERT ON garage_migrate.audit_log"
			   " FOR EACH ROW EXECUTE FUNCTION public.gm_trg(); RESET ROLE;"
			   " REVOKE TRIGGER ON garage_migrate.audit_log FROM gm_hj_dep", path);
	pgt_exec(c, sql);
	free(sql);
	/* The grant gone, the trigger it left still runs dep's function. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.audit_log has trigger gm_trg, whose function is owned by role gm_hj_dep, not by postgres or a superuser");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 1);
	/* A trusted function, but a WHEN condition calling dep's. */
	pgt_exec(c, "DROP TRIGGER gm_trg ON garage_migrate.audit_log;"
		    " CREATE FUNCTION public.gm_cond() RETURNS boolean LANGUAGE sql AS 'SELECT true';"
		    " ALTER FUNCTION public.gm_cond() OWNER TO gm_hj_dep;"
		    " CREATE TRIGGER gm_when BEFORE INSERT ON garage_migrate.audit_log FOR EACH ROW"
		    " WHEN (public.gm_cond()) EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.audit_log has trigger gm_when with a WHEN condition");
	free(out);
	free(err);
	pgt_exec(c, "DROP TRIGGER gm_when ON garage_migrate.audit_log");
	/* REFERENCES: dep's table with a key on the history, ON DELETE
	 * CASCADE, and a trigger of its own that rollback's delete of the
	 * history row would fire as the superuser; the grant gone, the key
	 * it left still refused. */
	sql = gm_xasprintf("GRANT REFERENCES ON garage_migrate.schema_history TO gm_hj_dep; SET ROLE gm_hj_dep;"
			   " CREATE TABLE public.hist_ref (v bigint REFERENCES garage_migrate.schema_history ON DELETE CASCADE);"
			   " CREATE FUNCTION public.gm_ref_trg() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
			   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN NULL; END $f$;"
			   " CREATE TRIGGER gm_ref_trg AFTER DELETE ON public.hist_ref FOR EACH STATEMENT"
			   " EXECUTE FUNCTION public.gm_ref_trg(); RESET ROLE", path);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history grants REFERENCES to role gm_hj_dep");
	free(out);
	free(err);
	pgt_exec(c, "REVOKE REFERENCES ON garage_migrate.schema_history FROM gm_hj_dep");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history is referenced by foreign key"
			     " hist_ref_v_fkey of table public.hist_ref, which garage-migrate did not make");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM garage_migrate.schema_history"), 1);
	pgt_exec(c, "DROP TABLE public.hist_ref");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "rollback"), 0);
	assert_not_written(path);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_dep; DROP ROLE gm_hj_dep");
	free(as_dep);
	free(db);
}

/* A login that acts as a group role (SET ROLE, options=-crole=...) would
 * make a history every member of the group could plant code in, to run
 * as the login: up does not make one, and nothing is created. */
static void test_no_history_for_a_set_role(void **state)
{
	char *db = pgt_create_db("gm_hj_grp"), *dir = tfs_tempdir(), *as_ci, *sql, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_hj_grp') THEN"
		    " CREATE ROLE gm_hj_grp NOLOGIN; CREATE ROLE gm_hj_ci LOGIN IN ROLE gm_hj_grp; END IF; END $$;"
		    " GRANT CREATE, USAGE ON SCHEMA public TO gm_hj_grp");
	sql = gm_xasprintf("GRANT CREATE ON DATABASE \"%s\" TO gm_hj_grp", db);
	pgt_exec(c, sql);
	free(sql);
	as_ci = gm_xasprintf("%s user=gm_hj_ci options=-crole=gm_hj_grp", db);
	assert_int_equal(pgt_gm_dir(&out, &err, as_ci, dir, "up"), 7);
	assert_contains(err, "the history would belong to role gm_hj_grp, which this session acts as (SET ROLE)");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text"));
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.a')::text"));
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP ROLE gm_hj_ci; DROP ROLE gm_hj_grp");
	free(as_ci);
	free(db);
}

/* A role with CREATE on the database takes the migration lock's key (any
 * role may), so up, which found no history, waits; meanwhile it makes the
 * history itself, with a trigger, and lets go.  up must check the history
 * again under the lock, not write into that one as the superuser. */
static void test_history_made_while_up_waits(void **state)
{
	char *db = pgt_create_db("gm_hj_race"), *dir = tfs_tempdir(), *path = planted_path("race"), *sql;
	char *text;
	PGconn *c = pgt_connect(db), *mallory;
	struct pgt_bg bg;

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	free(pgt_deployer(c, db, "gm_hj_mallory"));
	mallory = pgt_connect(db);
	pgt_exec(mallory, "SET ROLE gm_hj_mallory");
	sql = gm_xasprintf("SELECT pg_advisory_lock(%lld)", gm_history_lock_key());
	pgt_exec(mallory, sql);
	free(sql);
	pgt_gm_start(&bg, db, dir, "up");
	pgt_wait_for_session(db, "wait_event = 'advisory'");
	sql = gm_xasprintf("CREATE SCHEMA garage_migrate;"
			   " CREATE TABLE garage_migrate.schema_history (version bigint PRIMARY KEY,"
			   " applied_seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE, version_text text NOT NULL,"
			   " name text NOT NULL, script text NOT NULL, checksum text NOT NULL, kind text NOT NULL,"
			   " transactional boolean NOT NULL DEFAULT true, applied_at timestamptz NOT NULL DEFAULT now(),"
			   " applied_by text NOT NULL DEFAULT current_user, os_user text, execution_ms bigint NOT NULL DEFAULT 0,"
			   " status text NOT NULL DEFAULT 'applied', backend_pid integer, message text);"
			   " CREATE FUNCTION garage_migrate.t() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
			   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN NEW; END $f$;"
			   " CREATE TRIGGER t BEFORE INSERT ON garage_migrate.schema_history FOR EACH ROW"
			   " EXECUTE FUNCTION garage_migrate.t()", path);
	pgt_exec(mallory, sql);		/* committed before the lock goes */
	free(sql);
	pgt_exec(mallory, "SELECT pg_advisory_unlock_all()");
	assert_int_equal(pgt_gm_finish(&bg, &text), 7);
	assert_contains(text, "refusing to use the history: schema garage_migrate is owned by role gm_hj_mallory");
	free(text);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.a')::text"));
	assert_not_written(path);
	PQfinish(mallory);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_mallory; DROP ROLE gm_hj_mallory");
	free(db);
}

/* A history made under default privileges that grant the tables to
 * another role: the grants go, and the next run accepts it. */
static void test_default_privileges_leave_no_grant(void **state)
{
	char *db = pgt_create_db("gm_hj_defpriv"), *dir = tfs_tempdir();
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_hj_app') THEN"
		    " CREATE ROLE gm_hj_app; END IF; END $$;"
		    " ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO gm_hj_app");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "list"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a"
				      " WHERE c.relnamespace = 'garage_migrate'::regnamespace AND a.grantee <> c.relowner"
				      " AND c.relkind = 'r'"), 0);
	/* A write grant to another role is refused like a trigger grant. */
	pgt_exec(c, "GRANT DELETE ON garage_migrate.schema_history TO gm_hj_app");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "list"), 7);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_app; DROP ROLE gm_hj_app");
	free(db);
}

/* A history handed over to a superuser (ALTER ... OWNER TO, as the
 * advice says) keeps what its old owner made: a default calling a
 * function that role still owns, and can replace, would run as whoever
 * writes the history next.  Refused until that is gone. */
static void test_handed_over_history_keeps_no_old_functions(void **state)
{
	char *db = pgt_create_db("gm_hj_handover"), *dir = tfs_tempdir(), *path = planted_path("handover");
	char *as_dep, *sql, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	as_dep = pgt_deployer(c, db, "gm_hj_old");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up --to 1"), 0);
	sql = gm_xasprintf("SET ROLE gm_hj_old;"
			   " CREATE FUNCTION public.gm_def() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN"
			   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN NULL; END $f$;"
			   " ALTER TABLE garage_migrate.schema_history ALTER COLUMN message SET DEFAULT public.gm_def();"
			   " RESET ROLE;"
			   " ALTER SCHEMA garage_migrate OWNER TO postgres;"
			   " ALTER TABLE garage_migrate.schema_history OWNER TO postgres;"
			   " ALTER TABLE garage_migrate.audit_log OWNER TO postgres", path);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history uses function public.gm_def(),"
			     " owned by role gm_hj_old, not by postgres or a superuser");
	free(out);
	free(err);
	assert_true(pgt_is_null(c, "SELECT to_regclass('public.b')::text"));
	assert_not_written(gm_xstrdup(path));
	/* What the old owner left, removed: the history is usable. */
	pgt_exec(c, "ALTER TABLE garage_migrate.schema_history ALTER COLUMN message DROP DEFAULT");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_not_written(path);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_old; DROP ROLE gm_hj_old");
	free(as_dep);
	free(db);
}

/* Two more things a handed-over history can keep: a column of the old
 * owner's domain (its CHECK calls a function the old owner can replace,
 * on every insert), and a column grant to another role (rows it can
 * forge or change).  Both refused. */
static void test_handed_over_history_keeps_no_old_types_or_grants(void **state)
{
	char *db = pgt_create_db("gm_hj_types"), *dir = tfs_tempdir(), *as_dep, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	as_dep = pgt_deployer(c, db, "gm_hj_old");
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up"), 0);
	pgt_exec(c, "SET ROLE gm_hj_old;"
		    " CREATE FUNCTION public.gm_chk(text) RETURNS boolean LANGUAGE sql AS 'SELECT true';"
		    " CREATE DOMAIN public.gm_dtext AS text CHECK (public.gm_chk(VALUE));"
		    " ALTER TABLE garage_migrate.schema_history ALTER COLUMN name TYPE public.gm_dtext;"
		    " GRANT USAGE ON SCHEMA garage_migrate TO PUBLIC;"
		    " GRANT INSERT (version) ON garage_migrate.schema_history TO PUBLIC;"
		    " RESET ROLE;"
		    " ALTER SCHEMA garage_migrate OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.schema_history OWNER TO postgres;"
		    " ALTER TABLE garage_migrate.audit_log OWNER TO postgres;"
		    " ALTER FUNCTION garage_migrate.audit_log_append_only() OWNER TO postgres");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history grants INSERT on column version"
			     " to PUBLIC, not postgres or a superuser");
	free(out);
	free(err);
	pgt_exec(c, "REVOKE INSERT (version) ON garage_migrate.schema_history FROM PUBLIC");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history has column name of type"
			     " public.gm_dtext, not a built-in one");
	free(out);
	free(err);
	pgt_exec(c, "ALTER TABLE garage_migrate.schema_history ALTER COLUMN name TYPE text");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "list"), 0);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_old; DROP ROLE gm_hj_old");
	free(as_dep);
	free(db);
}

/* A superuser takes over a history another role made, functions too (the
 * advice): what that role left must still be refused, though every owner
 * is now trusted: a default calling a built-in that runs SQL text
 * (query_to_xml, which pg_depend does not record), a CHECK casting to its
 * domain, a trigger whose function it wrote. */
static void test_handed_over_history_keeps_no_old_code(void **state)
{
	static const struct {
		const char *plant, *refused;
	} cases[] = {
		{ "ALTER TABLE garage_migrate.schema_history ALTER COLUMN message SET DEFAULT"
		  " (query_to_xml('SELECT public.gm_f()', true, false, ''))::text",
		  "garage_migrate.schema_history has default (query_to_xml(" },
		{ "CREATE DOMAIN public.gm_d AS text CHECK (public.gm_f() IS NULL);"
		  " ALTER TABLE garage_migrate.audit_log ADD CONSTRAINT gm_c"
		  " CHECK ((coalesce(message, '')::public.gm_d)::text IS NOT NULL)",
		  "garage_migrate.audit_log has constraint gm_c (CHECK" },
		{ "CREATE FUNCTION public.gm_t() RETURNS trigger LANGUAGE plpgsql AS $t$ BEGIN"
		  " PERFORM public.gm_f(); RETURN NEW; END $t$;"
		  " CREATE TRIGGER gm_t BEFORE INSERT ON garage_migrate.schema_history FOR EACH ROW"
		  " EXECUTE FUNCTION public.gm_t()",
		  "garage_migrate.schema_history has trigger gm_t, whose function public.gm_t() is not built in" },
		/* Statistics on an expression: ANALYZE (autovacuum's too) runs it. */
		{ "CREATE FUNCTION public.gm_s(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $s$ BEGIN"
		  " PERFORM public.gm_f(); RETURN $1; END $s$;"
		  " CREATE STATISTICS public.gm_st ON (public.gm_s(id)) FROM garage_migrate.audit_log",
		  "garage_migrate.audit_log has extended statistics" },
		/* A partition: its parent's key expression runs on every write. */
		{ "CREATE FUNCTION public.gm_k(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $k$ BEGIN"
		  " PERFORM public.gm_f(); RETURN 0; END $k$;"
		  " CREATE TABLE public.gm_parent (LIKE garage_migrate.schema_history) PARTITION BY RANGE (public.gm_k(version));"
		  " DO $a$ BEGIN ALTER TABLE public.gm_parent ATTACH PARTITION garage_migrate.schema_history"
		  "  FOR VALUES FROM (MINVALUE) TO (MAXVALUE);"
		  " EXCEPTION WHEN feature_not_supported OR invalid_table_definition OR object_not_in_prerequisite_state"
		  "  THEN NULL; END $a$",
		  "garage_migrate.schema_history is a partition of another table" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = pgt_create_db("gm_hj_oldcode"), *dir = tfs_tempdir(), *path = planted_path("oldcode");
		char *as_dep, *sql, *out, *err;
		PGconn *c = pgt_connect(db);

		tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
		tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
		as_dep = pgt_deployer(c, db, "gm_hj_old");
		assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, dir, "up --to 1"), 0);
		sql = gm_xasprintf("SET ROLE gm_hj_old;"
				   " CREATE FUNCTION public.gm_f() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN"
				   " IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
				   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN NULL; END $f$;"
				   " %s;"
				   " RESET ROLE;"
				   " DO $h$ DECLARE o record; BEGIN"
				   "  FOR o IN SELECT p.oid::regprocedure AS f FROM pg_proc p WHERE p.proowner = 'gm_hj_old'::regrole"
				   "  LOOP EXECUTE format('ALTER FUNCTION %%s OWNER TO postgres', o.f); END LOOP;"
				   "  FOR o IN SELECT t.oid::regtype AS t FROM pg_type t WHERE t.typowner = 'gm_hj_old'::regrole"
				   "   AND t.typtype = 'd'"
				   "  LOOP EXECUTE format('ALTER DOMAIN %%s OWNER TO postgres', o.t); END LOOP; END $h$;"
				   " ALTER SCHEMA garage_migrate OWNER TO postgres;"
				   " ALTER TABLE garage_migrate.schema_history OWNER TO postgres;"
				   " ALTER TABLE garage_migrate.audit_log OWNER TO postgres", path, cases[k].plant);
		pgt_exec(c, sql);
		free(sql);
		/* A major that cannot attach this history (an identity column)
		 * has no such way in. */
		if (strstr(cases[k].refused, "partition") &&
		    pgt_count(c, "SELECT relispartition::int FROM pg_class WHERE oid = 'garage_migrate.schema_history'::regclass") == 0) {
			PQfinish(c);
			tfs_rmdir(dir);
			pgt_drop_db(db, NULL);
			free(as_dep);
			free(db);
			free(path);
			continue;
		}
		if (pgt_gm_dir(&out, &err, db, dir, "up") != 7)
			fail_msg("case %zu: not refused:\n%s%s", k, out, err);
		assert_contains(err, "refusing to use the history: ");
		assert_contains(err, cases[k].refused);
		assert_contains(err, "which garage-migrate did not make");
		free(out);
		free(err);
		assert_not_written(path);
		PQfinish(c);
		tfs_rmdir(dir);
		pgt_drop_db(db, NULL);
		free(as_dep);
		free(db);
	}
}

/* A history re-made in one transaction (a restore with psql -1, a copy
 * with LIKE ... INCLUDING ALL) has its defaults as new as its tables: the
 * quick check must still see one the tool did not make. */
static void test_history_remade_in_one_transaction(void **state)
{
	char *db = pgt_create_db("gm_hj_remade"), *dir = tfs_tempdir(), *path = planted_path("remade"), *sql, *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up --to 1"), 0);
	sql = gm_xasprintf("CREATE FUNCTION public.gm_f() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN"
			   " EXECUTE 'COPY (SELECT 1) TO ''%s'''; RETURN NULL; END $f$;"
			   " BEGIN;"
			   " ALTER TABLE garage_migrate.schema_history RENAME TO old_history;"
			   " CREATE TABLE garage_migrate.schema_history (LIKE garage_migrate.old_history INCLUDING ALL);"
			   " ALTER TABLE garage_migrate.schema_history ALTER COLUMN message SET DEFAULT"
			   "  (query_to_xml('SELECT public.gm_f()', true, false, ''))::text;"
			   " INSERT INTO garage_migrate.schema_history OVERRIDING SYSTEM VALUE SELECT * FROM garage_migrate.old_history;"
			   " DROP TABLE garage_migrate.old_history;"
			   " COMMIT;", path);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to use the history: garage_migrate.schema_history has default (query_to_xml(");
	free(out);
	free(err);
	assert_not_written(path);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, NULL);
	free(db);
}

/* A role with CREATE on the database makes a schema named after the
 * superuser who runs up: "$user" comes first in the default path, so the
 * migrations' tables and functions would land in a schema it owns, where
 * it could replace a trigger function that a later data migration runs
 * as that superuser.  Refused; once a superuser owns it, it is trusted. */
static void test_schema_of_another_role_in_the_path(void **state)
{
	char *db = pgt_create_db("gm_hj_user"), *dir = tfs_tempdir(), *out, *err, *as_low, *me, *sql;
	PGconn *c = pgt_connect(db), *low;

	(void)state;
	me = pgt_value(c, "SELECT quote_ident(current_user)");
	as_low = pgt_deployer(c, db, "gm_hj_low");
	low = pgt_connect(db);
	sql = gm_xasprintf("SET ROLE gm_hj_low; CREATE SCHEMA %s", me);
	pgt_exec(low, sql);
	free(sql);
	PQfinish(low);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: their search path holds schema");
	assert_contains(err, "owned by role gm_hj_low");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't'"), 0);
	/* rollback's down runs with the same path. */
	sql = gm_xasprintf("ALTER SCHEMA %s OWNER TO CURRENT_USER", me);
	pgt_exec(c, sql);
	free(sql);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE t (id int);\n-- garage:down\nDROP TABLE t;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't'"), 1);
	sql = gm_xasprintf("ALTER SCHEMA %s OWNER TO gm_hj_low", me);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback"), 7);
	assert_contains(err, "owned by role gm_hj_low");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_class WHERE relname = 't'"), 1);
	/* A schema every role may create in (PostgreSQL 14's public): any
	 * login could plant an operator a migration's types match better. */
	sql = gm_xasprintf("ALTER SCHEMA %s OWNER TO CURRENT_USER; GRANT CREATE ON SCHEMA public TO PUBLIC", me);
	pgt_exec(c, sql);
	free(sql);
	tfs_write(dir, "0002_u.sql", "CREATE TABLE u (id int);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "schema public, where every role (PUBLIC) may create objects");
	free(out);
	free(err);
	pgt_exec(c, "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, NULL);
	free(as_low);
	free(me);
	free(db);
}

/* A role granted TRIGGER on a table it does not own (stock Supabase
 * grants ALL to its API roles) attaches a trigger calling a function of
 * its own, in pg_temp: no CREATE anywhere.  A superuser's migration that
 * writes the table would run it, and the role would be superuser. */
static void test_trigger_of_a_role_granted_trigger(void **state)
{
	char *db = pgt_create_db("gm_hj_trg"), *dir = tfs_tempdir(), *out, *err, *args, *conf;
	PGconn *c = pgt_connect(db), *low;

	(void)state;
	pgt_exec(c, "DROP ROLE IF EXISTS gm_hj_trg; CREATE ROLE gm_hj_trg");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE public.countries (code text PRIMARY KEY);\n"
				     "GRANT SELECT, TRIGGER ON public.countries TO gm_hj_trg;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	low = pgt_connect(db);
	pgt_exec(low, "SET ROLE gm_hj_trg;"
		      " CREATE FUNCTION pg_temp.esc() RETURNS trigger LANGUAGE plpgsql AS"
		      " 'BEGIN EXECUTE ''ALTER ROLE gm_hj_trg SUPERUSER''; RETURN NULL; END';"
		      " CREATE TRIGGER zz_audit AFTER INSERT ON public.countries FOR EACH STATEMENT"
		      " EXECUTE FUNCTION pg_temp.esc()");
	tfs_write(dir, "0002_seed.sql", "INSERT INTO public.countries VALUES ('DE');\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: trigger zz_audit on countries depends on function");
	assert_contains(err, "owned by role gm_hj_trg, which does not own the table");
	assert_contains(err, "REVOKE TRIGGER");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'gm_hj_trg' AND rolsuper"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.countries"), 0);
	/* Gone with its session: up goes on. */
	PQfinish(low);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.countries"), 1);
	/* A built-in trigger function, but a WHEN condition of the role's. */
	low = pgt_connect(db);
	pgt_exec(low, "SET ROLE gm_hj_trg;"
		      " CREATE FUNCTION pg_temp.cond() RETURNS boolean LANGUAGE plpgsql AS"
		      " 'BEGIN EXECUTE ''ALTER ROLE gm_hj_trg SUPERUSER''; RETURN false; END';"
		      " CREATE TRIGGER zz_when BEFORE UPDATE ON public.countries FOR EACH ROW WHEN (pg_temp.cond())"
		      " EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()");
	tfs_write(dir, "0002_seed.sql", "INSERT INTO public.countries VALUES ('DE');\n");
	tfs_write(dir, "0003_fix.sql", "UPDATE public.countries SET code = 'DE' WHERE code = 'DE';\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: trigger zz_when on countries depends on function");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'gm_hj_trg' AND rolsuper"), 0);
	PQfinish(low);
	/* Or a cast in the WHEN condition to a domain whose CHECK calls the
	 * role's function (the trigger depends on the type only). */
	low = pgt_connect(db);
	pgt_exec(low, "SET ROLE gm_hj_trg;"
		      " CREATE FUNCTION pg_temp.evil(int) RETURNS boolean LANGUAGE plpgsql AS"
		      " 'BEGIN EXECUTE ''ALTER ROLE gm_hj_trg SUPERUSER''; RETURN true; END';"
		      " CREATE DOMAIN pg_temp.d AS int CHECK (pg_temp.evil(VALUE));"
		      " CREATE TRIGGER zz_dom BEFORE UPDATE ON public.countries FOR EACH ROW"
		      " WHEN ((length(NEW.code)::pg_temp.d) IS NOT NULL)"
		      " EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: trigger zz_dom on countries depends on type");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'gm_hj_trg' AND rolsuper"), 0);
	PQfinish(low);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	/* The table's owner's own trigger is trusted, as PostgreSQL trusts it. */
	pgt_exec(c, "CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
		    " CREATE TRIGGER stamp BEFORE INSERT ON public.countries FOR EACH ROW EXECUTE FUNCTION public.stamp()");
	tfs_write(dir, "0004_more.sql", "INSERT INTO public.countries VALUES ('FR');\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	/* Another role's SECURITY DEFINER function too runs in this session,
	 * where it could plant a trigger, a temporary table or a search path
	 * for the statements after it: refused, unless the project file
	 * trusts that role (Supabase's webhooks: supabase_functions_admin). */
	pgt_exec(c, "CREATE FUNCTION public.hook() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
		    " SET search_path = pg_catalog AS 'BEGIN RETURN NEW; END';"
		    " ALTER FUNCTION public.hook() OWNER TO gm_hj_trg;"
		    " CREATE TRIGGER hook AFTER INSERT ON public.countries FOR EACH ROW EXECUTE FUNCTION public.hook()");
	tfs_write(dir, "0005_more.sql", "INSERT INTO public.countries VALUES ('IT');\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "trigger hook on countries depends on function hook(), owned by role gm_hj_trg");
	assert_contains(err, "trusted_roles");
	free(out);
	free(err);
	conf = tfs_tempdir();
	tfs_write(conf, "trusting.yaml", "trusted_roles: [gm_hj_trg]\n");
	args = gm_xasprintf("-c '%s/trusting.yaml' up", conf);
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, args), 0);
	free(args);
	tfs_rmdir(conf);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.countries WHERE code = 'IT'"), 1);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_trg; DROP ROLE gm_hj_trg");
	free(db);
}

/* A role with REFERENCES on a table the migrations write (and a schema
 * of its own) hangs a table of its own on it, ON DELETE CASCADE, with a
 * trigger of its own: a migration deleting from the superuser's table
 * fires it as the superuser, though it never names that table.  And a
 * domain it owns, the type of a column of the superuser's table, gets a
 * CHECK calling its function: a migration writing the column runs it.
 * Both are refused before the migration runs; nothing ran as the
 * superuser. */
static void test_code_reached_past_the_written_table(void **state)
{
	char *db = pgt_create_db("gm_hj_reach"), *dir = tfs_tempdir(), *out, *err;
	char *path = planted_path("reach");
	PGconn *c = pgt_connect(db);
	char *sql;

	(void)state;
	pgt_exec(c, "DROP ROLE IF EXISTS gm_hj_ref; CREATE ROLE gm_hj_ref");
	sql = gm_xasprintf("CREATE SCHEMA hj AUTHORIZATION gm_hj_ref; SET ROLE gm_hj_ref;"
			   " CREATE FUNCTION hj.evil() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
			   "  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			   "   EXECUTE $$COPY (SELECT 1) TO '%s'$$; END IF; RETURN true; END $f$;"
			   " CREATE FUNCTION hj.fire() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM hj.evil(); RETURN NULL; END';"
			   " CREATE DOMAIN hj.label AS text; GRANT USAGE ON SCHEMA hj TO PUBLIC; GRANT USAGE ON TYPE hj.label TO PUBLIC;"
			   " RESET ROLE", path);
	pgt_exec(c, sql);
	free(sql);
	tfs_write(dir, "0001_t.sql", "CREATE TABLE public.orgs (id int PRIMARY KEY, name text);\n"
				     "GRANT REFERENCES ON public.orgs TO gm_hj_ref;\n"
				     "INSERT INTO public.orgs VALUES (1, 'obsolete');\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	pgt_exec(c, "SET ROLE gm_hj_ref;"
		    " CREATE TABLE hj.links (org int REFERENCES public.orgs ON DELETE CASCADE);"
		    " CREATE TRIGGER t AFTER DELETE ON hj.links FOR EACH STATEMENT EXECUTE FUNCTION hj.fire(); RESET ROLE");
	tfs_write(dir, "0002_clean.sql", "DELETE FROM public.orgs WHERE name = 'obsolete';\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: trigger t on hj.links depends on function hj.fire(), owned by role"
			     " gm_hj_ref, and the table's rows change when a migration writes another role's table");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.orgs"), 1);
	/* Two steps down: links2 is the role's, on links, the role's too. */
	pgt_exec(c, "DROP TRIGGER t ON hj.links; ALTER TABLE hj.links ADD COLUMN id int UNIQUE; SET ROLE gm_hj_ref;"
		    " CREATE TABLE hj.links2 (l int REFERENCES hj.links (id) ON DELETE CASCADE);"
		    " CREATE TRIGGER t2 AFTER DELETE ON hj.links2 FOR EACH STATEMENT EXECUTE FUNCTION hj.fire(); RESET ROLE");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: trigger t2 on hj.links2 depends on function hj.fire()");
	free(out);
	free(err);
	pgt_exec(c, "DROP TABLE hj.links2, hj.links");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	/* A column of the role's domain, and a CHECK it adds later. */
	tfs_write(dir, "0003_label.sql", "ALTER TABLE public.orgs ADD COLUMN label hj.label;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);	/* the next batch sees it */
	pgt_exec(c, "SET ROLE gm_hj_ref; ALTER DOMAIN hj.label ADD CONSTRAINT c CHECK (hj.evil()); RESET ROLE");
	tfs_write(dir, "0004_seed.sql", "INSERT INTO public.orgs VALUES (2, 'new', 'x');\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
	assert_contains(err, "refusing to run migrations: column label of orgs is of domain hj.label, owned by role gm_hj_ref");
	free(out);
	free(err);
	/* Types built on it: a domain over it, an array of it, a composite
	 * type with an attribute of it. */
	pgt_exec(c, "ALTER TABLE public.orgs DROP COLUMN label; CREATE DOMAIN public.label2 AS hj.label;"
		    " CREATE TYPE public.pair AS (a int, b hj.label)");
	{
		static const char *const types[] = { "public.label2", "hj.label[]", "public.pair" };
		for (size_t k = 0; k < 3; k++) {
			sql = gm_xasprintf("ALTER TABLE public.orgs ADD COLUMN x %s", types[k]);
			pgt_exec(c, sql);
			free(sql);
			assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 7);
			assert_contains(err, "refusing to run migrations: column x of orgs is of type");
			assert_contains(err, "built on domain hj.label, owned by role gm_hj_ref");
			free(out);
			free(err);
			pgt_exec(c, "ALTER TABLE public.orgs DROP COLUMN x");
		}
	}
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.orgs"), 0);
	assert_not_written(path);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP OWNED BY gm_hj_ref; DROP ROLE gm_hj_ref");
	free(db);
}

/* baseline's trial runs the migrations' statements on live tables: the
 * same refusal, exit 7 as up's, not "the database does not hold it". */
static void test_baseline_refuses_an_untrusted_trigger(void **state)
{
	char *db = pgt_create_db("gm_hj_trg_bl"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db), *low;

	(void)state;
	pgt_exec(c, "DROP ROLE IF EXISTS gm_hj_trg2; CREATE ROLE gm_hj_trg2;"
		    " CREATE TABLE public.countries (code text PRIMARY KEY);"
		    " GRANT SELECT, TRIGGER ON public.countries TO gm_hj_trg2");
	low = pgt_connect(db);
	pgt_exec(low, "SET ROLE gm_hj_trg2;"
		      " CREATE FUNCTION pg_temp.esc() RETURNS trigger LANGUAGE plpgsql AS"
		      " 'BEGIN EXECUTE ''ALTER ROLE gm_hj_trg2 SUPERUSER''; RETURN NULL; END';"
		      " CREATE TRIGGER zz_audit AFTER INSERT ON public.countries FOR EACH STATEMENT"
		      " EXECUTE FUNCTION pg_temp.esc()");
	tfs_write(dir, "0001_t.sql", "CREATE TABLE public.countries (code text PRIMARY KEY);\n"
				     "INSERT INTO public.countries VALUES ('DE') ON CONFLICT DO NOTHING;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "baseline --version 1"), 7);
	assert_contains(err, "refusing to run migrations: trigger zz_audit on countries depends on function");
	assert_not_contains(err, "--force");
	free(out);
	free(err);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'gm_hj_trg2' AND rolsuper"), 0);
	PQfinish(low);
	PQfinish(c);
	tfs_rmdir(dir);
	pgt_drop_db(db, "DROP ROLE gm_hj_trg2");
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_and_dump),
		cmocka_unit_test(test_up),
		cmocka_unit_test(test_rollback_guard),
		cmocka_unit_test(test_history_of_another_role),
		cmocka_unit_test(test_no_history_for_a_set_role),
		cmocka_unit_test(test_history_made_while_up_waits),
		cmocka_unit_test(test_default_privileges_leave_no_grant),
		cmocka_unit_test(test_handed_over_history_keeps_no_old_functions),
		cmocka_unit_test(test_handed_over_history_keeps_no_old_types_or_grants),
		cmocka_unit_test(test_handed_over_history_keeps_no_old_code),
		cmocka_unit_test(test_history_remade_in_one_transaction),
		cmocka_unit_test(test_schema_of_another_role_in_the_path),
		cmocka_unit_test(test_trigger_of_a_role_granted_trigger),
		cmocka_unit_test(test_code_reached_past_the_written_table),
		cmocka_unit_test(test_baseline_refuses_an_untrusted_trigger),
	};
	return cmocka_run_group_tests_name("planted functions and operators", tests, NULL, NULL);
}
