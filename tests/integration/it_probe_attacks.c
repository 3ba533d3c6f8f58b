/* Integration tests: verify --isolation under attack.  Any role with CREATE
 * on public can plant names, triggers and ownership in the catalog; a
 * superuser then runs the probe.  The probe must quote every name, never
 * run the schema's code with more rights than its owner, leave nothing
 * behind, and report what it could not check as skipped, never as passed. */
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

#include "gm_strbuf.h"
#include "pgtest.h"

static char *migrated_db(const char *prefix)
{
	char *db = pgt_create_db(prefix);

	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	return db;
}

static int probe(char **out, char **err, const char *db, const char *extra)
{
	char *args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' --isolation %s", pgt_root(),
				  extra ? extra : "");
	int rc = pgt_gm(out, err, db, args);

	free(args);
	return rc;
}

/* Roles, organizations and the catalog: what a probe could leave behind. */
static char *state_of(PGconn *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char *v = pgt_value(c, "SELECT string_agg(rolname || ':' || rolsuper, ',' ORDER BY rolname) FROM pg_roles");

	gm_strbuf_addf(&sb, "roles=%s\n", v);
	free(v);
	v = pgt_value(c, "SELECT count(*)::text FROM organizations");
	gm_strbuf_addf(&sb, "organizations=%s\n", v);
	free(v);
	v = pgt_catalog(c);
	gm_strbuf_adds(&sb, v);
	free(v);
	return gm_strbuf_detach(&sb, NULL);
}

/* A role that can only create things in public, like an attacker with a
 * foothold in the application's schema. */
static char *make_attacker(PGconn *c, const char *db)
{
	char *role = gm_xasprintf("gm_attacker_%d", (int)getpid());
	char *sql = gm_xasprintf("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN"
				 " CREATE ROLE %s NOLOGIN; END IF; END $$;"
				 "GRANT CREATE, USAGE ON SCHEMA public TO %s;"
				 "GRANT REFERENCES, SELECT ON organizations TO %s;"
				 "GRANT TEMPORARY ON DATABASE \"%s\" TO %s",
				 role, role, role, role, db, role);

	pgt_exec(c, sql);
	free(sql);
	return role;
}

static void drop_db_and_role(char *db, char *role)
{
	PGconn *c = pgt_connect("postgres");
	char *sql = gm_xasprintf("DROP DATABASE \"%s\"", db);

	pgt_exec(c, sql);
	free(sql);
	if (role) {
		sql = gm_xasprintf("DROP ROLE IF EXISTS %s", role);
		pgt_exec(c, sql);
		free(sql);
	}
	PQfinish(c);
	free(db);
	free(role);
}

/* The tenant policies an attacker's table would carry to look legitimate. */
#define TENANT_POLICIES(tbl)                                                                      \
	"ALTER TABLE " tbl " ENABLE ROW LEVEL SECURITY; ALTER TABLE " tbl " FORCE ROW LEVEL SECURITY;" \
	"CREATE POLICY p_sel ON " tbl " FOR SELECT USING (organization_id = (SELECT app_current_org_id()));" \
	"CREATE POLICY p_ins ON " tbl " FOR INSERT WITH CHECK (organization_id = (SELECT app_current_org_id()));" \
	"CREATE POLICY p_upd ON " tbl " FOR UPDATE USING (organization_id = (SELECT app_current_org_id()))" \
	"  WITH CHECK (organization_id = (SELECT app_current_org_id()));"                            \
	"CREATE POLICY p_del ON " tbl " FOR DELETE USING (organization_id = (SELECT app_current_org_id()));"

/* The attack: a column name that closes the INSERT's column list,
 * resets the role, commits and makes the attacker a superuser. */
static void test_hostile_column_name_is_quoted(void **state)
{
	char *db = migrated_db("gm_att_col"), *out, *err, *before, *after, *sql, *su;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);

	(void)state;
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE TABLE public.evil (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id),"
		" \"a)SELECT''LIMIT 0;RESET ROLE;COMMIT;ALTER ROLE %s SUPERUSER--\" text NOT NULL);"
		TENANT_POLICIES("public.evil") "RESET ROLE", role, role);
	pgt_exec(c, sql);
	free(sql);
	before = state_of(c);
	assert_int_equal(probe(&out, &err, db, "--allow-pending"), 1);	/* evil is not in the snapshot */
	sql = gm_xasprintf("SELECT rolsuper::text FROM pg_roles WHERE rolname = '%s'", role);
	su = pgt_value(c, sql);
	assert_string_equal(su, "false");
	/* Probed like any table, not skipped. */
	assert_contains(out, "ok   SELECT public.evil: tenant B cannot read tenant A's private rows (0 visible)");
	assert_contains(out, "ok   INSERT public.evil: tenant B cannot insert rows for tenant A (refused by row level security)");
	assert_not_contains(out, "  SKIP ");
	assert_not_contains(out, "  FAIL ");
	after = state_of(c);
	assert_string_equal(before, after);
	free(su);
	free(sql);
	free(before);
	free(after);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* The attacker's trigger runs when the probe makes fixture rows.  It must
 * run as the attacker (the table's owner), unable to climb back to the
 * superuser: no role change, and no file written by the server, a side
 * effect that no ROLLBACK could undo. */
static void test_trigger_cannot_borrow_the_probers_rights(void **state)
{
	char *db = migrated_db("gm_att_trg"), *out, *err, *sql, *su, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_pwned_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE TABLE public.trap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.trap")
		"CREATE FUNCTION public.trap_fn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN EXECUTE 'RESET ROLE'; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  BEGIN EXECUTE 'ALTER ROLE %s SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  BEGIN EXECUTE $$COPY (SELECT 'pwned') TO '%s'$$; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  RETURN NEW; END $f$;"
		"CREATE TRIGGER trap_trg BEFORE INSERT ON public.trap FOR EACH ROW EXECUTE FUNCTION public.trap_fn();"
		"RESET ROLE", role, role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	/* The trigger ran (the table was probed) ... */
	assert_contains(out, "ok   SELECT public.trap: tenant B cannot read tenant A's private rows (0 visible)");
	/* ... with the attacker's rights only. */
	sql = gm_xasprintf("SELECT rolsuper::text FROM pg_roles WHERE rolname = '%s'", role);
	su = pgt_value(c, sql);
	assert_string_equal(su, "false");
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(su);
	free(sql);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A superuser's table (the migrations made it) whose trigger calls a
 * function the attacker owns: the probe makes fixture rows as the table's
 * owner, so the function would run as the superuser.  The table is
 * skipped, saying why, and the function never runs. */
static void test_owner_trigger_calling_another_roles_function(void **state)
{
	char *db = migrated_db("gm_att_own"), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_pwned_own_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
		"   EXECUTE $$COPY (SELECT 'pwned') TO '%s'$$; END IF;"
		"  RETURN NEW; END $f$;"
		"RESET ROLE;"
		"CREATE TRIGGER build_logs_audit BEFORE INSERT ON public.build_logs FOR EACH ROW"
		" EXECUTE FUNCTION public.audit_fn()", role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "SKIP SELECT public.build_logs: tenant B cannot reach tenant A's rows (its triggers,"
			     " defaults, checks or indexes call function public.audit_fn() of role");
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* The same function reached other ways from a superuser's table: a
 * trigger's WHEN, a CHECK through the attacker's operator, an index
 * expression, a domain the attacker owns (whose CHECK it adds later), an
 * enum it owns (whose cast to json the probe's row_to_json would call).
 * Each table is skipped, and the function never runs as the superuser. */
static void test_owner_table_reaching_another_roles_code(void **state)
{
	static const struct {
		const char *plant, *skip;
	} cases[] = {
		{ "CREATE TRIGGER t_when BEFORE INSERT ON public.build_logs FOR EACH ROW WHEN (atk.evil(NEW.stage))"
		  " EXECUTE FUNCTION public.noop_trg()", "call function atk.evil(anyelement) of role" },
		{ "ALTER TABLE public.build_logs ADD CONSTRAINT c CHECK (stage OPERATOR(atk.===) 'x'::text OR true)",
		  "call function atk.eq3(character varying,text) of role" },
		{ "CREATE INDEX ON public.build_logs (atk.imm(stage))", "call function atk.imm(character varying) of role" },
		{ "ALTER TABLE public.build_logs ALTER COLUMN stage TYPE atk.stage_t",
		  "its columns are of type atk.stage_t, of role" },
		{ "CREATE DOMAIN public.stage2 AS atk.stage_t; ALTER TABLE public.build_logs ALTER COLUMN stage TYPE public.stage2",
		  "its columns are of type atk.stage_t, of role" },
		{ "CREATE TYPE public.pair AS (m atk.mood); ALTER TABLE public.build_logs ADD COLUMN p public.pair[]",
		  "its columns are of type atk.mood, of role" },
		{ "ALTER TABLE public.build_logs ADD COLUMN mood atk.mood NOT NULL DEFAULT 'ok'",
		  "its columns are of type atk.mood, of role" },
		/* An owner that is no superuser makes its own rows: under FORCE
		 * ROW LEVEL SECURITY its policies run as it too. */
		{ "DROP ROLE IF EXISTS gm_pa_owner; CREATE ROLE gm_pa_owner NOLOGIN;"
		  "GRANT USAGE ON SCHEMA public TO gm_pa_owner; GRANT ALL ON ALL TABLES IN SCHEMA public TO gm_pa_owner;"
		  "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO gm_pa_owner;"
		  "ALTER TABLE public.build_logs OWNER TO gm_pa_owner; ALTER TABLE public.build_logs FORCE ROW LEVEL SECURITY;"
		  "CREATE POLICY bl_extra ON public.build_logs AS RESTRICTIVE FOR INSERT WITH CHECK (atk.evil(stage))",
		  "call function atk.evil(anyelement) of role" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = migrated_db("gm_att_reach"), *out, *err, *sql, *path;
		PGconn *c = pgt_connect(db);
		char *role = make_attacker(c, db);
		struct stat st;

		path = gm_xasprintf("/tmp/gm_pwned_reach_%d", (int)getpid());
		unlink(path);
		sql = gm_xasprintf("CREATE SCHEMA atk AUTHORIZATION %s; SET ROLE %s;"
			"CREATE FUNCTION atk.evil(x anyelement) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
			"  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
			"   EXECUTE $$COPY (SELECT 'pwned') TO '%s'$$; END IF;"
			"  RETURN true; END $f$;"
			"CREATE FUNCTION atk.eq3(a varchar, b text) RETURNS boolean LANGUAGE sql AS 'SELECT atk.evil(a)';"
			"CREATE OPERATOR atk.=== (LEFTARG = varchar, RIGHTARG = text, FUNCTION = atk.eq3);"
			"CREATE FUNCTION atk.imm(a varchar) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT a';"
			"CREATE DOMAIN atk.stage_t AS varchar(50); CREATE TYPE atk.mood AS ENUM ('ok');"
			"GRANT USAGE ON SCHEMA atk TO PUBLIC; GRANT USAGE ON TYPE atk.stage_t, atk.mood TO PUBLIC;"
			"RESET ROLE;"
			"CREATE FUNCTION public.noop_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
			"%s", role, role, path, cases[k].plant);
		pgt_exec(c, sql);
		free(sql);
		probe(&out, &err, db, "--allow-pending");
		if (!strstr(out, "SKIP SELECT public.build_logs") || !strstr(out, cases[k].skip))
			fail_msg("case %zu (%s): not skipped as expected:\n%s", k, cases[k].plant, out);
		/* The owner's other tables are probed still. */
		if (!strstr(out, "ok   SELECT public.custom_agent_orders: tenant B cannot read"))
			fail_msg("case %zu (%s): another table was not probed:\n%s", k, cases[k].plant, out);
		assert_int_not_equal(stat(path, &st), 0);
		unlink(path);
		free(path);
		free(out);
		free(err);
		PQfinish(c);
		drop_db_and_role(db, role);
		c = pgt_connect("postgres");
		pgt_exec(c, "DROP ROLE IF EXISTS gm_pa_owner");
		PQfinish(c);
	}
}

/* The superuser's own code reaching the attacker's, in every way code
 * runs: a trigger function calling it by name or through its search path,
 * a default's function, a write to the attacker's table (whose triggers
 * it chooses), an index expression's function, a rule, an aggregate
 * shadowing a built-in, dynamic SQL, a body no parser here reads (a
 * cursor), an argument's default, a superuser's event trigger (the
 * probe's own GRANTs fire it).  The probe makes a superuser's table's
 * rows as a maker role of its own, so the code runs with no right to
 * write a file; where the probe's reading of the code finds the
 * attacker's, the table is skipped besides (the maker reads every row).
 * Before, each of these wrote the file as the superuser. */
static void test_owner_code_runs_as_the_maker(void **state)
{
	static const struct {
		const char *plant;
		int skipped;	/* the probe's reading of the code finds the attacker's */
	} cases[] = {
		{ "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql AS"
		  " 'BEGIN PERFORM atk.evil(NEW.stage); RETURN NEW; END';"
		  "CREATE TRIGGER t_su BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 1 },
		{ "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql SET search_path = atk, pg_catalog AS"
		  " 'BEGIN IF evil(NEW.stage) THEN RETURN NEW; END IF; RETURN NEW; END';"
		  "CREATE TRIGGER t_su BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 1 },
		{ "CREATE FUNCTION public.su_def() RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN atk.evil(1) THEN ''d'' END';"
		  "ALTER TABLE public.build_logs ADD COLUMN extra text; ALTER TABLE public.build_logs ALTER COLUMN extra"
		  " SET DEFAULT public.su_def()", 1 },
		{ "CREATE FUNCTION public.su_log() RETURNS trigger LANGUAGE plpgsql AS"
		  " 'BEGIN INSERT INTO atk.log VALUES (1); RETURN NEW; END';"
		  "CREATE TRIGGER t_log AFTER INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_log()", 1 },
		{ "CREATE FUNCTION public.norm(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS"
		  " 'BEGIN IF atk.evil(s) THEN RETURN lower(s); END IF; RETURN s; END';"
		  "CREATE INDEX bl_norm ON public.build_logs (public.norm(stage))", 1 },
		{ "CREATE TABLE public.audit_rule (x boolean);"
		  "CREATE RULE bl_audit AS ON INSERT TO public.build_logs DO ALSO INSERT INTO public.audit_rule"
		  " VALUES (atk.evil(NEW.stage))", 1 },
		{ "SET ROLE atk; CREATE FUNCTION public.mx(s varchar, x varchar) RETURNS varchar LANGUAGE plpgsql AS"
		  " 'BEGIN PERFORM atk.evil(1); RETURN greatest(s, x); END';"
		  "CREATE AGGREGATE public.max(varchar) (SFUNC = public.mx, STYPE = varchar); RESET ROLE;"
		  "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql AS 'DECLARE v text; BEGIN"
		  " SELECT max(stage) INTO v FROM public.build_logs WHERE order_id = NEW.order_id; RETURN NEW; END';"
		  "CREATE TRIGGER t_su AFTER INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 0 },
		{ "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql AS"
		  " 'BEGIN EXECUTE ''SELECT atk.evil(1)''; RETURN NEW; END';"
		  "CREATE TRIGGER t_su BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 0 },
		{ "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql AS $f$ DECLARE c refcursor; v boolean;"
		  " BEGIN OPEN c FOR SELECT atk.evil(NEW.stage); FETCH c INTO v; CLOSE c; RETURN NEW; END $f$;"
		  "CREATE TRIGGER t_su BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 0 },
		{ "CREATE FUNCTION public.note(s text, ok boolean DEFAULT atk.evil(1)) RETURNS void LANGUAGE sql AS 'SELECT';"
		  "CREATE FUNCTION public.su_trg() RETURNS trigger LANGUAGE plpgsql AS"
		  " 'BEGIN PERFORM public.note(NEW.stage); RETURN NEW; END';"
		  "CREATE TRIGGER t_su BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.su_trg()", 0 },
		{ "SET ROLE atk; CREATE FUNCTION atk.evt() RETURNS event_trigger LANGUAGE plpgsql AS"
		  " 'BEGIN PERFORM atk.evil(1); END'; RESET ROLE;"
		  "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION atk.evt()", 0 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = migrated_db("gm_att_maker"), *out, *err, *sql, *path;
		PGconn *c = pgt_connect(db);
		char *role = make_attacker(c, db);
		struct stat st;

		path = gm_xasprintf("/tmp/gm_pwned_maker_%d", (int)getpid());
		unlink(path);
		sql = gm_xasprintf("CREATE SCHEMA atk AUTHORIZATION %s; ALTER ROLE %s RENAME TO atk; SET ROLE atk;"
			"CREATE FUNCTION atk.evil(x anyelement) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
			"  IF pg_catalog.pg_has_role(current_user, 'pg_write_server_files', 'USAGE') THEN"
			"   EXECUTE $$COPY (SELECT 'pwned') TO '%s'$$; END IF;"
			"  RETURN true; END $f$;"
			"CREATE TABLE atk.log (x int); GRANT INSERT ON atk.log TO PUBLIC;"
			"CREATE FUNCTION atk.log_trg() RETURNS trigger LANGUAGE plpgsql AS"
			" 'BEGIN PERFORM atk.evil(1); RETURN NEW; END';"
			"CREATE TRIGGER log_trg BEFORE INSERT ON atk.log FOR EACH ROW EXECUTE FUNCTION atk.log_trg();"
			"GRANT USAGE ON SCHEMA atk TO PUBLIC; RESET ROLE; %s", role, role, path, cases[k].plant);
		pgt_exec(c, sql);
		free(sql);
		probe(&out, &err, db, "--allow-pending");
		if (!stat(path, &st))
			fail_msg("case %zu (%s): the attacker's code ran as a role that may write files:\n%s", k, cases[k].plant, out);
		if (!strstr(out, cases[k].skipped ? "SKIP SELECT public.build_logs: tenant B cannot reach tenant A's rows (its"
						    " triggers, defaults or checks, through what they call, reach"
						  : "ok   SELECT public.build_logs: tenant B cannot read"))
			fail_msg("case %zu (%s): expected %s:\n%s\n%s", k, cases[k].plant,
				 cases[k].skipped ? "a skip" : "the table probed", out, err);
		unlink(path);
		free(path);
		free(out);
		free(err);
		PQfinish(c);
		pgt_exec(c = pgt_connect(db), "DROP EVENT TRIGGER IF EXISTS audit_ddl");
		PQfinish(c);
		free(role);
		drop_db_and_role(db, gm_xstrdup("atk"));
	}
}

/* An attacker's own tenant table in a checked schema: its rows are made as
 * its owner, the attacker, not by the maker role, whose BYPASSRLS would
 * let the attacker's trigger read a real tenant's secret and carry it out
 * of the rolled-back transaction in a sequence (setval outlives it). */
static void test_attackers_table_gets_no_bypass(void **state)
{
	char *db = migrated_db("gm_att_leak"), *out, *err, *n;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db), *sql;

	(void)state;
	sql = gm_xasprintf("INSERT INTO organizations (id, name) VALUES ('11111111-1111-1111-1111-111111111111', 'victim');"
		"INSERT INTO users (id, email) VALUES ('22222222-2222-2222-2222-222222222222', 'v@x');"
		"INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity, agent_config,"
		" tools_config, organization_id, created_by_id) SELECT 't', 'SECRET', '{}', 'u',"
		" (enum_range(NULL::\"ComplexityLevel\"))[1], '{}', '{}', '11111111-1111-1111-1111-111111111111',"
		" '22222222-2222-2222-2222-222222222222';"
		"CREATE SCHEMA atk AUTHORIZATION %s; SET ROLE %s;"
		"CREATE SEQUENCE atk.leak; GRANT USAGE ON SCHEMA atk TO PUBLIC; GRANT ALL ON SEQUENCE atk.leak TO PUBLIC;"
		"CREATE FUNCTION atk.trg() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN IF EXISTS (SELECT 1 FROM public.custom_agent_orders WHERE description = 'SECRET') THEN"
		"   PERFORM pg_catalog.setval('atk.leak', 42); END IF; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  RETURN NEW; END $f$;"
		"CREATE TABLE public.zz_atk (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text,"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.zz_atk")
		"CREATE TRIGGER t BEFORE INSERT ON public.zz_atk FOR EACH ROW EXECUTE FUNCTION atk.trg();"
		"RESET ROLE", role, role);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "ok   SELECT public.zz_atk: tenant B cannot read tenant A's private rows");
	n = pgt_value(c, "SELECT last_value FROM atk.leak");
	assert_string_equal(n, "1");
	free(n);
	free(out);
	free(err);
	pgt_exec(c, "DROP SCHEMA atk CASCADE; DROP TABLE public.zz_atk");
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A leak in build_logs' read policy, and code the attacker owns, reached
 * from a superuser's table made after build_logs, deleting A's rows there
 * before tenant B reads: every check of build_logs would pass on what is
 * left.  The maker role may insert and read, not delete: the leak fails. */
static void test_maker_cannot_remove_what_it_made(void **state)
{
	char *db = migrated_db("gm_att_tamper"), *out, *err, *sql;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);

	(void)state;
	sql = gm_xasprintf("ALTER POLICY build_log_select ON build_logs USING (app_current_org_id() IS NOT NULL);"
		"CREATE SCHEMA atk AUTHORIZATION %s; GRANT USAGE ON SCHEMA atk TO PUBLIC; SET ROLE %s;"
		"CREATE FUNCTION atk.tidy() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN DELETE FROM public.build_logs; EXCEPTION WHEN OTHERS THEN NULL; END; END $f$;"
		"RESET ROLE;"
		/* made parents first, one round each: za_t after build_logs */
		"CREATE TABLE public.zc_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		"CREATE TABLE public.zb_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), c uuid NOT NULL REFERENCES zc_t (id),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		"CREATE TABLE public.za_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), b uuid NOT NULL REFERENCES zb_t (id),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.za_t") TENANT_POLICIES("public.zb_t") TENANT_POLICIES("public.zc_t")
		"CREATE FUNCTION public.later_trg() RETURNS trigger LANGUAGE plpgsql AS"
		" 'BEGIN PERFORM atk.tidy(); RETURN NEW; END';"
		"CREATE TRIGGER t BEFORE INSERT ON public.za_t FOR EACH ROW EXECUTE FUNCTION public.later_trg()",
		role, role);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "FAIL SELECT public.build_logs: tenant B cannot read tenant A's private rows");
	free(out);
	free(err);
	pgt_exec(c, "DROP SCHEMA atk CASCADE");
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A table of the attacker's with a foreign key, of its own enum, to a
 * superuser's table the probe does not check, and an implicit cast of its
 * own from that enum to uuid: PostgreSQL checks each new row's key as the
 * referenced table's owner, the superuser, through that cast.  The probe
 * made the attacker's rows (as the attacker, with the enum's label) and
 * so ran the cast as the superuser; the table is skipped now, saying why. */
static void test_foreign_key_checked_as_the_referenced_owner(void **state)
{
	char *db = migrated_db("gm_att_ri"), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_pwned_ri_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("CREATE SCHEMA other; CREATE TABLE other.refs (id uuid PRIMARY KEY);"
		"INSERT INTO other.refs VALUES ('11111111-1111-1111-1111-111111111111');"
		"GRANT USAGE ON SCHEMA other TO %s; GRANT REFERENCES ON other.refs TO %s; SET ROLE %s;"
		"CREATE TYPE public.atk_e AS ENUM ('a');"
		"CREATE FUNCTION public.atk_c(public.atk_e) RETURNS uuid LANGUAGE plpgsql AS $f$ BEGIN"
		"  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
		"   EXECUTE $$COPY (SELECT 'pwned') TO '%s'$$; END IF;"
		"  RETURN '11111111-1111-1111-1111-111111111111'; END $f$;"
		"CREATE CAST (public.atk_e AS uuid) WITH FUNCTION public.atk_c(public.atk_e) AS IMPLICIT;"
		"CREATE TABLE public.atk_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id), r public.atk_e NOT NULL REFERENCES other.refs (id));"
		TENANT_POLICIES("public.atk_t")
		"RESET ROLE", role, role, role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "SKIP SELECT public.atk_t: tenant B cannot reach tenant A's rows (its foreign key"
			     " atk_t_r_fkey checks values of type public.atk_e, of role");
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(out);
	free(err);
	pgt_exec(c, "DROP TABLE public.atk_t; DROP CAST (public.atk_e AS uuid); DROP FUNCTION public.atk_c(public.atk_e);"
		    " DROP TYPE public.atk_e; DROP SCHEMA other CASCADE");
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A superuser's event trigger calling the attacker's function fires on
 * the probe's own DDL, as whoever runs it: the wrapper of a table owner
 * that is no superuser is made as that owner, and the trigger's code
 * would borrow its rights (here: moving the owner's sequence).  The probe
 * holds event triggers for every wrapper it makes. */
static void test_event_triggers_held_for_owner_wrappers(void **state)
{
	char *db = migrated_db("gm_att_evt"), *out, *err, *sql, *n;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);

	(void)state;
	sql = gm_xasprintf("DROP ROLE IF EXISTS gm_pa_dep2; CREATE ROLE gm_pa_dep2 NOLOGIN;"
		"GRANT USAGE, CREATE ON SCHEMA public TO gm_pa_dep2; GRANT REFERENCES ON organizations TO gm_pa_dep2;"
		"SET ROLE gm_pa_dep2; CREATE SEQUENCE public.dep_seq;"
		"CREATE TABLE public.dep_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.dep_t") "RESET ROLE;"
		"CREATE SCHEMA atk AUTHORIZATION %s; GRANT USAGE ON SCHEMA atk TO PUBLIC; SET ROLE %s;"
		"CREATE FUNCTION atk.evt() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN PERFORM pg_catalog.setval('public.dep_seq', 42); EXCEPTION WHEN OTHERS THEN NULL; END; END $f$;"
		"RESET ROLE; CREATE EVENT TRIGGER gm_pa_evt ON ddl_command_end EXECUTE FUNCTION atk.evt()", role, role);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "ok   SELECT public.dep_t: tenant B cannot read tenant A's private rows");
	n = pgt_value(c, "SELECT last_value FROM public.dep_seq");
	assert_string_equal(n, "1");
	free(n);
	free(out);
	free(err);
	pgt_exec(c, "DROP EVENT TRIGGER gm_pa_evt; DROP SCHEMA atk CASCADE; DROP TABLE public.dep_t; DROP SEQUENCE public.dep_seq");
	PQfinish(c);
	drop_db_and_role(db, role);
	c = pgt_connect("postgres");
	pgt_exec(c, "DROP ROLE gm_pa_dep2");
	PQfinish(c);
}

/* A connecting user that is no superuser cannot make the maker role: the
 * probe makes rows as the tables' owner it belongs to, the deployer.  A
 * deployer's trigger function calling the attacker's would run it with
 * the deployer's rights: the table is skipped, and the attacker's code
 * never moves the deployer's sequence (setval outlives the probe's
 * rollback). */
static void test_owner_code_skipped_without_the_maker(void **state)
{
	char *db = pgt_create_db("gm_att_dep"), *out, *err, *as_dep, *args, *n, *mig;
	PGconn *c = pgt_connect(db);

	(void)state;
	as_dep = pgt_deployer(c, db, "gm_pa_dep");
	mig = gm_xasprintf("%s/migrations", pgt_root());
	assert_int_equal(pgt_gm_dir(NULL, NULL, as_dep, mig, "up"), 0);
	pgt_exec(c, "DROP ROLE IF EXISTS gm_pa_atk; CREATE ROLE gm_pa_atk NOLOGIN;"
		    " CREATE SCHEMA atk AUTHORIZATION gm_pa_atk; GRANT USAGE ON SCHEMA atk TO PUBLIC;"
		    " SET ROLE gm_pa_atk;"
		    " CREATE FUNCTION atk.evil(x anyelement) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
		    "  BEGIN PERFORM pg_catalog.setval('public.dep_seq', 42); EXCEPTION WHEN OTHERS THEN NULL; END;"
		    "  RETURN true; END $f$;"
		    " RESET ROLE; SET ROLE gm_pa_dep;"
		    " CREATE SEQUENCE public.dep_seq;"
		    " CREATE FUNCTION public.dep_trg() RETURNS trigger LANGUAGE plpgsql AS"
		    "  'BEGIN PERFORM atk.evil(NEW.stage); RETURN NEW; END';"
		    " CREATE TRIGGER t_dep BEFORE INSERT ON public.build_logs FOR EACH ROW EXECUTE FUNCTION public.dep_trg();"
		    " RESET ROLE;"
		    " DROP ROLE IF EXISTS gm_pa_app; CREATE ROLE gm_pa_app NOLOGIN; GRANT gm_pa_app TO gm_pa_dep;"
		    " GRANT USAGE ON SCHEMA public TO gm_pa_app;"
		    " SET ROLE gm_pa_dep; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gm_pa_app;"
		    " RESET ROLE");
	args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' --isolation --allow-pending --as-role gm_pa_app",
			    pgt_root());
	pgt_gm_dir(&out, &err, as_dep, mig, args);
	assert_contains(out, "SKIP SELECT public.build_logs: tenant B cannot reach tenant A's rows (its triggers, defaults or"
			     " checks, through what they call, reach function atk.evil(anyelement) of role gm_pa_atk");
	n = pgt_value(c, "SELECT last_value FROM public.dep_seq");
	assert_string_equal(n, "1");
	free(n);
	free(args);
	free(mig);
	free(out);
	free(err);
	free(as_dep);
	PQfinish(c);
	pgt_drop_db(db, "DROP ROLE gm_pa_app; DROP ROLE gm_pa_atk; DROP OWNED BY gm_pa_dep; DROP ROLE gm_pa_dep");
	free(db);
}

/* Harmless odd names are probed, not skipped. */
static void test_odd_names_are_probed(void **state)
{
	char *db = migrated_db("gm_att_odd"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.\"we'ird \"\"tbl\"\"; --\" (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		    " organization_id uuid NOT NULL REFERENCES organizations (id), \"c'ol\\\" text NOT NULL);"
		    TENANT_POLICIES("public.\"we'ird \"\"tbl\"\"; --\""));
	assert_int_equal(probe(&out, &err, db, "--allow-pending"), 1);	/* not in the snapshot */
	assert_contains(out, "isolation: 109 checks acting as tenant B: 109 passed, 0 failed, 0 skipped - ok");
	assert_contains(out, "ok   UPDATE public.we'ird \"tbl\"; --: tenant B cannot update tenant A's rows (0 rows affected)");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

/* What the probe cannot exercise is skipped, said so, and fails --strict. */
static void test_skipped_is_never_passed(void **state)
{
	char *db = migrated_db("gm_att_skip"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.nokey (organization_id uuid NOT NULL REFERENCES organizations (id), note text);"
		    TENANT_POLICIES("public.nokey"));
	/* Only the drift (not in the snapshot) is an error. */
	assert_int_equal(probe(&out, &err, db, "--allow-pending --junit skip.xml"), 1);
	assert_contains(out, "isolation: 100 checks acting as tenant B: 96 passed, 0 failed, 4 skipped - 0 errors, 1 warning");
	assert_contains(out, "SKIP SELECT public.nokey: tenant B cannot reach tenant A's rows (no single-column primary key)");
	assert_contains(out, "warning isolation_skipped: table public.nokey: the probe could not exercise it: no single-column primary key");
	free(out);
	free(err);
	out = tfs_read("skip.xml");
	assert_contains(out, "<testsuite name=\"isolation\" tests=\"100\" failures=\"0\" skipped=\"4\">");
	assert_contains(out, "<skipped message=\"no single-column primary key\"/>");
	free(out);
	remove("skip.xml");
	/* Against a snapshot of this very schema, skipped checks pass
	 * verify (a warning) but fail --strict. */
	pgt_exec(c, "CREATE INDEX ON public.nokey (organization_id)");
	assert_int_equal(pgt_gm(NULL, NULL, db, "dump -o skip-snapshot.yaml"), 0);
	assert_int_equal(pgt_gm(&out, &err, db, "verify --snapshot skip-snapshot.yaml --isolation"), 0);
	assert_contains(out, "4 skipped - 0 errors, 1 warning");
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "verify --snapshot skip-snapshot.yaml --isolation --strict"), 1);
	assert_contains(out, "verify FAILED: 0 errors, 1 warning");
	free(out);
	free(err);
	remove("skip-snapshot.yaml");
	PQfinish(c);
	free(db);
}

/* The probe acts through the application role: its policies apply, and
 * what it can become counts. */
static void test_app_role_is_acted_through(void **state)
{
	char *db = migrated_db("gm_att_app"), *out, *err, *sql;
	PGconn *c = pgt_connect(db);
	char *app = gm_xasprintf("gm_app_%d", (int)getpid()), *owner = gm_xasprintf("gm_owner_%d", (int)getpid());

	(void)state;
	sql = gm_xasprintf("CREATE ROLE %s NOLOGIN; CREATE ROLE %s NOLOGIN;"
			   "GRANT USAGE ON SCHEMA public TO %s;"
			   "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s;"
			   "CREATE POLICY app_everything ON agent_templates TO %s USING (true)",
			   app, owner, app, app, app);
	pgt_exec(c, sql);
	free(sql);
	/* A policy for the application role alone: the default probe role is
	 * not it, so only acting through it shows the leak. */
	assert_int_equal(probe(&out, &err, db, NULL), 1);	/* the schema differs */
	assert_contains(out, "isolation: 96 checks acting as tenant B: 96 passed, 0 failed, 0 skipped - ok");
	free(out);
	free(err);
	sql = gm_xasprintf("--app-role %s", app);
	assert_int_equal(probe(&out, &err, db, sql), 1);
	assert_contains(out, "FAIL SELECT public.agent_templates: tenant B cannot read tenant A's private rows (1 row was visible)");
	free(out);
	free(err);
	free(sql);
	pgt_exec(c, "DROP POLICY app_everything ON agent_templates");

	/* Ownership through membership, with FORCE off. */
	sql = gm_xasprintf("ALTER TABLE custom_agent_orders OWNER TO %s; ALTER TABLE custom_agent_orders NO FORCE ROW LEVEL SECURITY;"
			   "GRANT %s TO %s", owner, owner, app);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("--app-role %s", app);
	assert_int_equal(probe(&out, &err, db, sql), 1);
	free(sql);
	sql = gm_xasprintf("FAIL ALL    public.custom_agent_orders: the application role does not own the table without FORCE ROW LEVEL SECURITY"
			   " (role %s is a member of its owner %s and RLS is not forced", app, owner);
	assert_contains(out, sql);
	free(sql);
	assert_contains(out, "FAIL SELECT public.custom_agent_orders: tenant B cannot read tenant A's private rows (1 row was visible)");
	assert_contains(out, "error isolation_role: table public.custom_agent_orders:");
	assert_contains(out, "fix: ALTER TABLE ... FORCE ROW LEVEL SECURITY, or REVOKE the application role's membership in the owner");
	free(out);
	free(err);

	/* A member of a superuser role can SET ROLE to it. */
	sql = gm_xasprintf("ALTER TABLE custom_agent_orders OWNER TO postgres; ALTER TABLE custom_agent_orders FORCE ROW LEVEL SECURITY;"
			   "REVOKE %s FROM %s; GRANT postgres TO %s", owner, app, app);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("--app-role %s", app);
	assert_int_equal(probe(&out, &err, db, sql), 1);
	free(sql);
	sql = gm_xasprintf("FAIL ROLE   -: the application role is subject to row level security (role %s is a member of postgres,"
			   " which is superuser: it can SET ROLE postgres and bypass every policy)", app);
	assert_contains(out, sql);
	free(sql);
	free(out);
	free(err);
	/* Server programs are as good as superuser; CREATEROLE can join the
	 * owners; owning a forced table is a warning (FORCE can be undone). */
	sql = gm_xasprintf("REVOKE postgres FROM %s; GRANT pg_execute_server_program TO %s", app, app);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("--app-role %s", app);
	assert_int_equal(probe(&out, &err, db, sql), 1);
	free(sql);
	sql = gm_xasprintf("(role %s is a member of pg_execute_server_program: it can run programs", app);
	assert_contains(out, sql);
	free(sql);
	free(out);
	free(err);
	sql = gm_xasprintf("REVOKE pg_execute_server_program FROM %s; ALTER ROLE %s CREATEROLE", app, app);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("--app-role %s", app);
	/* Until 15; from 16 on CREATEROLE grants only the roles it holds
	 * ADMIN OPTION on, which membership already covers (the exit is 1
	 * either way: the grants make the schema differ). */
	assert_int_equal(probe(&out, &err, db, sql), 1);
	free(sql);
	if (pgt_server_major() < 16)
		sql = gm_xasprintf("(role %s has CREATEROLE: it can make itself a member of the tables' owners", app);
	else
		sql = gm_xasprintf("ok   ROLE   -: the application role is subject to row level security (role %s is"
				   " neither superuser nor BYPASSRLS", app);
	assert_contains(out, sql);
	free(sql);
	free(out);
	free(err);
	if (pgt_server_major() >= 16) {
		/* 16's grant that only administers the role (no INHERIT, no
		 * SET) still lets its holder grant itself the rest. */
		sql = gm_xasprintf("GRANT postgres TO %s WITH ADMIN TRUE, INHERIT FALSE, SET FALSE", app);
		pgt_exec(c, sql);
		free(sql);
		sql = gm_xasprintf("--app-role %s", app);
		assert_int_equal(probe(&out, &err, db, sql), 1);
		free(sql);
		sql = gm_xasprintf("(role %s is a member of postgres, which is superuser", app);
		assert_contains(out, sql);
		free(sql);
		free(out);
		free(err);
		sql = gm_xasprintf("REVOKE postgres FROM %s", app);
		pgt_exec(c, sql);
		free(sql);
	}
	sql = gm_xasprintf("ALTER ROLE %s NOCREATEROLE; ALTER TABLE build_logs OWNER TO %s", app, app);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("--app-role %s", app);
	probe(&out, &err, db, sql);
	free(sql);
	sql = gm_xasprintf("warning isolation_role_owner: table public.build_logs: role %s owns it: RLS is forced, but the owner can turn that off", app);
	assert_contains(out, sql);
	free(sql);
	free(out);
	free(err);
	pgt_exec(c, "ALTER TABLE build_logs OWNER TO postgres");
	sql = gm_xasprintf("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %s;"
			   "REVOKE ALL ON SCHEMA public FROM %s", app, app);
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	drop_db_and_role(db, app);
	c = pgt_connect("postgres");
	sql = gm_xasprintf("DROP ROLE %s", owner);
	pgt_exec(c, sql);
	free(sql);
	free(owner);
	PQfinish(c);
}

/* A table owner's trigger finds the probe's wrapper it owns and replaces
 * it with a plain function: the next call would run its body as the
 * superuser.  The probe checks the function before every call and stops. */
static void test_wrapper_takeover_is_caught(void **state)
{
	char *db = migrated_db("gm_att_wrap"), *out, *err, *sql, *su, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_takeover_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE TABLE public.trap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.trap")
		"CREATE FUNCTION public.take_over() RETURNS trigger LANGUAGE plpgsql AS $f$ DECLARE fn text; BEGIN"
		"  SELECT proname INTO fn FROM pg_proc WHERE pronamespace = pg_my_temp_schema()"
		"   AND proowner = current_user::regrole LIMIT 1;"
		"  IF fn IS NOT NULL THEN"
		"   EXECUTE format($q$CREATE OR REPLACE FUNCTION pg_temp.%%I(sql text, returns_rows bool) RETURNS text[]"
		"    LANGUAGE plpgsql AS $b$BEGIN EXECUTE 'COPY (SELECT 1) TO ''%s'''; RETURN ARRAY[NULL, '0']; END$b$$q$, fn);"
		"  END IF; RETURN NEW;"
		" EXCEPTION WHEN OTHERS THEN RETURN NEW; END $f$;"
		"CREATE TRIGGER take_over BEFORE INSERT ON public.trap FOR EACH ROW EXECUTE FUNCTION public.take_over();"
		"RESET ROLE", role, path);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(probe(&out, &err, db, "--allow-pending"), 7);
	assert_contains(err, "changed the probe's own function");
	assert_int_not_equal(stat(path, &st), 0);
	sql = gm_xasprintf("SELECT rolsuper::text FROM pg_roles WHERE rolname = '%s'", role);
	su = pgt_value(c, sql);
	assert_string_equal(su, "false");
	unlink(path);
	free(path);
	free(su);
	free(sql);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* The attacker's trigger, running as the attacker in the probe's session,
 * looks in the session's pg_temp for the probe's functions owned by others
 * (the superuser owns the AI Garage tables, so one of them is the
 * superuser's) and calls each directly.  None may run for it. */
static void test_foreign_wrappers_cannot_be_called(void **state)
{
	char *db = migrated_db("gm_att_call"), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_called_%d", (int)getpid());
	unlink(path);
	/* A file the server writes outlives the probe's ROLLBACK. */
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE TABLE public.trap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.trap")
		"CREATE FUNCTION public.call_them() RETURNS trigger LANGUAGE plpgsql AS $f$ DECLARE fn text; BEGIN"
		"  FOR fn IN SELECT proname FROM pg_proc WHERE pronamespace = pg_my_temp_schema() AND prosecdef"
		"   AND proowner <> current_user::regrole LOOP"
		"   BEGIN EXECUTE format('SELECT pg_temp.%%I($1, false)', fn)"
		"     USING $q$COPY (SELECT current_user) TO '%s'$q$;"
		"    EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  END LOOP; RETURN NEW; END $f$;"
		"CREATE TRIGGER call_them BEFORE INSERT ON public.trap FOR EACH ROW EXECUTE FUNCTION public.call_them();"
		"RESET ROLE", role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	/* The trigger ran (the table was probed) ... */
	assert_contains(out, "ok   SELECT public.trap: tenant B cannot read tenant A's private rows (0 visible)");
	/* ... and no wrapper of another role ran for it. */
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A migration's audit trigger writes to a table by its plain name.  An
 * attacker's trigger, firing earlier in the same probe, creates a
 * temporary table of that name with a trigger of its own: pg_temp is
 * searched first unless named last, and the audit trigger runs as the
 * superuser.  The probe names pg_temp last; the application's own path
 * still finds the audit table. */
static void test_temporary_tables_do_not_shadow(void **state)
{
	char *db = migrated_db("gm_att_temp"), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_shadow_%d", (int)getpid());
	unlink(path);
	pgt_exec(c, "CREATE TABLE public.order_audit (order_id uuid);"
		    "CREATE FUNCTION public.audit_order() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		    "  INSERT INTO order_audit (order_id) VALUES (NEW.id); RETURN NEW; END $f$;"
		    "CREATE TRIGGER audit AFTER INSERT ON public.custom_agent_orders FOR EACH ROW"
		    "  EXECUTE FUNCTION public.audit_order()");
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE FUNCTION public.climb() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  BEGIN EXECUTE $q$COPY (SELECT current_user) TO '%s'$q$; EXCEPTION WHEN OTHERS THEN NULL; END;"
		"  RETURN NULL; END $f$;"
		"CREATE TABLE public.aaa_trap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.aaa_trap")
		"CREATE FUNCTION public.plant() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  IF pg_catalog.to_regclass('pg_temp.order_audit') IS NULL THEN"
		"   CREATE TEMP TABLE order_audit (order_id uuid);"
		"   CREATE TRIGGER climb BEFORE INSERT ON pg_temp.order_audit FOR EACH ROW EXECUTE FUNCTION public.climb();"
		"  END IF; RETURN NEW; END $f$;"
		"CREATE TRIGGER plant BEFORE INSERT ON public.aaa_trap FOR EACH ROW EXECUTE FUNCTION public.plant();"
		"RESET ROLE", role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "ok   SELECT public.aaa_trap: tenant B cannot read tenant A's private rows (0 visible)");
	/* The audit trigger found public.order_audit through the user's path. */
	assert_contains(out, "ok   INSERT public.custom_agent_orders: tenant B cannot insert rows for tenant A");
	assert_contains(out, "ok   UPDATE public.custom_agent_orders: tenant B can update its own rows");
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* A trigger sets the session's search path so that an operator it planted
 * comes before pg_catalog's: the probe's later statements, some running as
 * the superuser that owns the other tables, must not resolve to it. */
static void test_planted_search_path_does_not_reach_the_prober(void **state)
{
	char *db = migrated_db("gm_att_path"), *out, *err, *sql, *path;
	PGconn *c = pgt_connect(db);
	char *role = make_attacker(c, db);
	struct stat st;

	(void)state;
	path = gm_xasprintf("/tmp/gm_path_%d", (int)getpid());
	unlink(path);
	sql = gm_xasprintf("SET ROLE %s;"
		"CREATE FUNCTION public.evil_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
		"  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN"
		"   EXECUTE 'COPY (SELECT 1) TO ''%s'''; END IF; RETURN $1 OPERATOR(pg_catalog.=) $2; END $f$;"
		"CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.evil_eq);"
		"CREATE TABLE public.trap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		" organization_id uuid NOT NULL REFERENCES organizations (id));"
		TENANT_POLICIES("public.trap")
		"CREATE FUNCTION public.move_path() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		"  PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog', false); RETURN NEW; END $f$;"
		"CREATE TRIGGER move_path BEFORE INSERT ON public.trap FOR EACH ROW EXECUTE FUNCTION public.move_path();"
		"RESET ROLE", role, path);
	pgt_exec(c, sql);
	free(sql);
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "ok   SELECT public.trap: tenant B cannot read tenant A's private rows (0 visible)");
	assert_not_contains(out, "  FAIL ");
	assert_int_not_equal(stat(path, &st), 0);
	unlink(path);
	free(path);
	free(out);
	free(err);
	PQfinish(c);
	drop_db_and_role(db, role);
}

/* Policies the SELECT policy hides: a WHERE-bound UPDATE or DELETE of A's
 * rows touches nothing, yet B's UPDATE or DELETE without WHERE reaches
 * every tenant's rows.  The probe tries those too. */
static void test_write_policies_are_tried_without_where(void **state)
{
	char *db = migrated_db("gm_att_blind"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		    " organization_id uuid NOT NULL REFERENCES organizations (id), body text);"
		    "CREATE INDEX ON public.notes (organization_id);"
		    "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;"
		    "CREATE POLICY n_sel ON public.notes FOR SELECT USING (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_ins ON public.notes FOR INSERT WITH CHECK (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_upd ON public.notes FOR UPDATE USING ((SELECT app_current_org_id()) IS NOT NULL)"
		    "  WITH CHECK (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_del ON public.notes FOR DELETE USING ((SELECT app_current_org_id()) IS NOT NULL)");
	assert_int_equal(probe(&out, &err, db, "--allow-pending"), 1);
	assert_contains(out, "ok   UPDATE public.notes: tenant B cannot update tenant A's rows (0 rows affected)");
	assert_contains(out, "FAIL UPDATE public.notes: tenant B's UPDATE without WHERE reaches only its own rows (2 rows were affected, 1 of them is its own)");
	assert_contains(out, "FAIL DELETE public.notes: tenant B's DELETE without WHERE reaches only its own rows (2 rows were affected, 1 of them is its own)");
	assert_contains(out, "error isolation_breach: table public.notes: UPDATE");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

/* The same leak behind a trigger that keeps the tenant key unchanged: the
 * blind UPDATE moving rows to B fails on A's row, which it reached.  That
 * is a finding, not a check skipped. */
static void test_blind_update_behind_a_key_trigger(void **state)
{
	char *db = migrated_db("gm_att_blindtrg"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		    " organization_id uuid NOT NULL REFERENCES organizations (id), body text);"
		    "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;"
		    "CREATE POLICY n_sel ON public.notes FOR SELECT USING (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_ins ON public.notes FOR INSERT WITH CHECK (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_upd ON public.notes FOR UPDATE USING ((SELECT app_current_org_id()) IS NOT NULL)"
		    "  WITH CHECK (organization_id = (SELECT app_current_org_id()));"
		    "CREATE POLICY n_del ON public.notes FOR DELETE USING (organization_id = (SELECT app_current_org_id()));"
		    "CREATE FUNCTION public.keep_org() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		    "  IF NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN"
		    "   RAISE EXCEPTION 'organization_id cannot change'; END IF; RETURN NEW; END $f$;"
		    "CREATE TRIGGER keep_org BEFORE UPDATE ON public.notes FOR EACH ROW EXECUTE FUNCTION public.keep_org()");
	assert_int_equal(probe(&out, &err, db, "--allow-pending"), 1);
	assert_contains(out, "FAIL UPDATE public.notes: tenant B's UPDATE without WHERE reaches only its own rows"
			     " (it reached another tenant's row, refused only by its WITH CHECK:");
	assert_contains(out, "ok   DELETE public.notes: tenant B's DELETE without WHERE reaches only its own rows");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

/* Queried directly, a partition applies its own RLS settings: one without
 * RLS hands B the A rows that landed in it, though the parent isolates. */
static void test_partitions_are_read_directly(void **state)
{
	char *db = migrated_db("gm_att_part"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		    " organization_id uuid NOT NULL REFERENCES organizations (id)) PARTITION BY HASH (id);"
		    "CREATE INDEX ON public.events (organization_id);"
		    "CREATE TABLE public.events_0 PARTITION OF public.events FOR VALUES WITH (MODULUS 2, REMAINDER 0);"
		    "CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES WITH (MODULUS 2, REMAINDER 1);"
		    "ALTER TABLE public.events ENABLE ROW LEVEL SECURITY; ALTER TABLE public.events FORCE ROW LEVEL SECURITY;"
		    "CREATE POLICY p ON public.events USING (organization_id = (SELECT app_current_org_id()))");
	probe(&out, &err, db, "--allow-pending");
	/* A's one row lands in one of the two partitions, by its random id:
	 * that one fails, the other cannot be tried and says so. */
	assert_contains(out, "tenant B cannot read tenant A's rows in the partition queried directly (1 row of A's 1 visible)");
	assert_contains(out, "no row of tenant A landed in this partition");
	assert_contains(out, "error isolation_breach: table public.events_");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

/* A tenant table reached only through a composite foreign key is skipped,
 * saying so, never left out; an identity primary key is no breach. */
static void test_composite_keys_and_identity(void **state)
{
	char *db = migrated_db("gm_att_keys"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "ALTER TABLE custom_agent_orders ADD UNIQUE (id, organization_id);"
		    "CREATE TABLE public.order_items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), order_id uuid NOT NULL,"
		    " order_org uuid NOT NULL, FOREIGN KEY (order_id, order_org) REFERENCES custom_agent_orders (id, organization_id));"
		    "ALTER TABLE public.order_items ENABLE ROW LEVEL SECURITY; ALTER TABLE public.order_items FORCE ROW LEVEL SECURITY;"
		    "CREATE POLICY oi ON public.order_items FOR SELECT USING (true);"
		    "CREATE TABLE public.counters (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
		    " organization_id uuid NOT NULL REFERENCES organizations (id), n int NOT NULL DEFAULT 0);"
		    "CREATE INDEX ON public.counters (organization_id);"
		    TENANT_POLICIES("public.counters"));
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "SKIP SELECT public.order_items: tenant B cannot reach tenant A's rows (reached through a composite foreign key");
	assert_contains(out, "warning isolation_skipped: table public.order_items");
	assert_contains(out, "ok   UPDATE public.counters: tenant B cannot update tenant A's rows (0 rows affected)");
	assert_not_contains(out, "FAIL UPDATE public.counters");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

/* Names with control characters reach the terminal escaped, in every text
 * report: verify's findings and checks, list and log. */
static void test_control_characters_are_escaped(void **state)
{
	char *db = migrated_db("gm_att_esc"), *out, *err, *dir = tfs_tempdir();
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE public.\"tbl\x1b[2J\nverify passed\" (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		    " organization_id uuid NOT NULL REFERENCES organizations (id));");
	probe(&out, &err, db, "--allow-pending");
	assert_contains(out, "tbl\\x1b[2J\\x0averify passed");
	assert_null(strchr(out, '\x1b'));
	free(out);
	free(err);
	PQfinish(c);
	free(db);
	db = pgt_create_db("gm_att_esc2");
	c = pgt_connect(db);
	tfs_write(dir, "0001_ok.sql", "CREATE TABLE ok (id int);\n");
	tfs_write(dir, "0002_boom.sql", "DO $$ BEGIN RAISE EXCEPTION E'boom \\x1b]0;pwned\\x07'; END $$;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_null(strchr(err, '\x1b'));
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "log"), 0);
	assert_contains(out, "boom \\x1b]0;pwned\\x07");
	assert_null(strchr(out, '\x1b'));
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_column_name_is_quoted),
		cmocka_unit_test(test_trigger_cannot_borrow_the_probers_rights),
		cmocka_unit_test(test_owner_trigger_calling_another_roles_function),
		cmocka_unit_test(test_owner_table_reaching_another_roles_code),
		cmocka_unit_test(test_owner_code_runs_as_the_maker),
		cmocka_unit_test(test_owner_code_skipped_without_the_maker),
		cmocka_unit_test(test_attackers_table_gets_no_bypass),
		cmocka_unit_test(test_maker_cannot_remove_what_it_made),
		cmocka_unit_test(test_foreign_key_checked_as_the_referenced_owner),
		cmocka_unit_test(test_event_triggers_held_for_owner_wrappers),
		cmocka_unit_test(test_odd_names_are_probed),
		cmocka_unit_test(test_skipped_is_never_passed),
		cmocka_unit_test(test_app_role_is_acted_through),
		cmocka_unit_test(test_wrapper_takeover_is_caught),
		cmocka_unit_test(test_foreign_wrappers_cannot_be_called),
		cmocka_unit_test(test_temporary_tables_do_not_shadow),
		cmocka_unit_test(test_planted_search_path_does_not_reach_the_prober),
		cmocka_unit_test(test_write_policies_are_tried_without_where),
		cmocka_unit_test(test_blind_update_behind_a_key_trigger),
		cmocka_unit_test(test_partitions_are_read_directly),
		cmocka_unit_test(test_composite_keys_and_identity),
		cmocka_unit_test(test_control_characters_are_escaped),
	};
	return cmocka_run_group_tests_name("verify --isolation under attack", tests, NULL, NULL);
}
