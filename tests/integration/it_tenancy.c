/* Integration tests: a second project unlike AI Garage (issue 13), in
 * tests/fixtures/saas with its own project file: tenant_id, a Supabase
 * style auth.uid() reading request.jwt.claims, a global lookup table, a
 * view and a SECURITY DEFINER function.  Its clean version passes verify
 * --isolation --strict; each hole planted on top of it is found by the
 * lints, the probe, or both, naming the object. */
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

/* The clean database every case copies. */
static char *base_db;

static int gm(char **out, char **err, const char *db, const char *args)
{
	return pgt_run(out, err, "%s -c '%s/tests/fixtures/saas/garage-migrate.yaml' -d 'dbname=%s' %s", pgt_bin(),
		       pgt_root(), db, args);
}

/* The project's view is security_invoker, new in PostgreSQL 15: on 14
 * its migrations cannot run, and every test here is skipped. */
static int setup(void **state)
{
	(void)state;
	if (pgt_server_major() < 15)
		return 0;
	base_db = pgt_create_db("gm_saas_base");
	return gm(NULL, NULL, base_db, "up") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(base_db);
	return 0;
}

/* A copy of the clean database with sql run on it (caller frees). */
static char *planted(const char *sql)
{
	PGconn *c = pgt_connect("postgres");
	char *db = pgt_create_db("gm_saas");
	char *q = gm_xasprintf("DROP DATABASE \"%s\"", db);

	pgt_exec(c, q);
	free(q);
	q = gm_xasprintf("CREATE DATABASE \"%s\" TEMPLATE \"%s\"", db, base_db);
	pgt_exec(c, q);
	free(q);
	PQfinish(c);
	if (sql) {
		c = pgt_connect(db);
		pgt_exec(c, sql);
		PQfinish(c);
	}
	return db;
}

static void test_clean_version_passes(void **state)
{
	char *db, *out, *err;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted(NULL);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --strict"), 0);
	assert_contains(out, "rls: lints on tenant tables - ok");
	assert_contains(out, "ok   INSERT public.notes: tenant B cannot insert rows for tenant A");
	assert_contains(out, "ok   SELECT public.notes: tenant B can read shared (public, system) rows");
	assert_contains(out, "ok   SELECT public.note_feed: tenant B reads no more of other tenants' rows through the view");
	assert_contains(out, "0 failed, 0 skipped - ok");
	assert_contains(out, "verify passed: 0 errors, 0 warnings");
	free(out);
	free(err);
	free(db);
}

/* A project file whose tenancy columns match nothing (a typo, a case
 * mismatch) leaves the probe nothing to act on: its one check is skipped,
 * and --strict must fail, not pass on a schema it never probed. */
static void test_nothing_probed_fails_strict(void **state)
{
	char *db, *out, *err, *dir = tfs_tempdir(), *conf;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted(NULL);
	conf = gm_xasprintf("migrations: %s/tests/fixtures/saas/migrations\n"
			    "snapshot: %s/tests/fixtures/saas/schema/snapshot.yaml\n"
			    "tenancy:\n  columns: [Tenant_ID]\n  expression: auth.uid()\n"
			    "  set_tenant: SELECT set_config('request.jwt.claims', json_build_object('sub', $1)::text, true)\n"
			    "  schemas: [public]\n  public_read_columns: [is_shared]\n"
			    "  global_tables: [tenants, countries]\n  anon_roles: [saas_anon]\n", pgt_root(), pgt_root());
	tfs_write(dir, "garage-migrate.yaml", conf);
	assert_int_equal(pgt_run(&out, &err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' verify --isolation --strict",
				 pgt_bin(), dir, db), 1);
	assert_contains(out, "0 passed, 0 failed, 1 skipped - incomplete");
	assert_contains(out, "verify FAILED: 0 errors, 0 warnings");
	free(out);
	free(err);
	/* Without --strict it passes, and says what it could not do. */
	assert_int_equal(pgt_run(&out, &err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' verify --isolation",
				 pgt_bin(), dir, db), 0);
	assert_contains(out, "SKIP ALL    -: the probe finds tenant tables");
	free(out);
	free(err);
	free(conf);
	tfs_rmdir(dir);
	free(db);
}

/* The project file exposes a second schema the snapshot leaves out:
 * verify must not pass on it unseen, and dump (by default the exposed
 * schemas) writes a snapshot that covers it. */
static void test_exposed_schema_missing_from_the_snapshot(void **state)
{
	char *db, *out, *err, *dir = tfs_tempdir(), *conf;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE SCHEMA api; CREATE TABLE api.invoices (id int, tenant_id uuid REFERENCES tenants (id))");
	conf = gm_xasprintf("migrations: %s/tests/fixtures/saas/migrations\n"
			    "snapshot: %s/tests/fixtures/saas/schema/snapshot.yaml\n"
			    "tenancy:\n  columns: [tenant_id]\n  expression: auth.uid()\n"
			    "  set_tenant: SELECT set_config('request.jwt.claims', json_build_object('sub', $1)::text, true)\n"
			    "  schemas: [public, api]\n  public_read_columns: [is_shared]\n"
			    "  global_tables: [tenants, countries]\n  anon_roles: [saas_anon]\n", pgt_root(), pgt_root());
	tfs_write(dir, "garage-migrate.yaml", conf);
	assert_int_equal(pgt_run(&out, &err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' verify",
				 pgt_bin(), dir, db), 1);
	assert_contains(out, "exposed_schema_not_in_snapshot: schema api: the project file exposes it (tenancy.schemas)");
	free(out);
	free(err);
	/* dump covers it; verified against that, its table is judged. */
	assert_int_equal(pgt_run(&out, &err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' dump -o '%s/snap.yaml'",
				 pgt_bin(), dir, db, dir), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -c '%s/garage-migrate.yaml' -d 'dbname=%s' verify --snapshot '%s/snap.yaml'",
				 pgt_bin(), dir, db, dir), 1);
	assert_not_contains(out, "exposed_schema_not_in_snapshot");
	assert_contains(out, "api.invoices");
	free(out);
	free(err);
	free(conf);
	tfs_rmdir(dir);
	free(db);
}

/* Tenants A and B, A's note (id ...a1), and what also_sql adds (or
 * NULL), then the session acts as tenant B through role, which sees none
 * of the notes: where the cases acting as B start. */
static void seed_and_act_as_b(PGconn *c, const char *also_sql, const char *role)
{
	char *sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
				 " ('00000000-0000-0000-0000-00000000000b', 'B');"
				 " INSERT INTO notes (id, tenant_id, body) VALUES ('00000000-0000-0000-0000-0000000000a1',"
				 " '00000000-0000-0000-0000-00000000000a', 'A''s'); %s;"
				 " SET ROLE %s; SELECT set_config('request.jwt.claims',"
				 " '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false)",
				 also_sql ? also_sql : "", role);

	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
}

struct hole {
	const char *what, *sql;
	const char *finding;	/* in verify's output */
	const char *probe;	/* a failed probe check, or NULL */
};

static const struct hole holes[] = {
	{ "RLS off", "ALTER TABLE notes DISABLE ROW LEVEL SECURITY",
	  "error policies_without_rls: table public.notes: has 4 policies but row level security is disabled",
	  "FAIL SELECT public.notes: tenant B cannot read tenant A's private rows" },
	{ "RLS not forced", "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY",
	  "error rls_not_forced: table public.notes: row level security is not forced", NULL },
	{ "a write policy open to all", "DROP POLICY notes_update ON notes;"
	  " CREATE POLICY notes_update ON notes FOR UPDATE USING (true) WITH CHECK (tenant_id = auth.uid())",
	  "error write_policy_not_tenant_bound: table public.notes policy notes_update: UPDATE policy's USING has a"
	  " branch not bound to the tenant: true",
	  "FAIL UPDATE public.notes: tenant B's UPDATE without WHERE reaches only its own rows" },
	{ "a tenant-keyed table without RLS", "CREATE TABLE invoices (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
	  " tenant_id uuid NOT NULL REFERENCES tenants (id), amount int NOT NULL)",
	  "error rls_disabled: table public.invoices: tenant table without row level security",
	  "FAIL SELECT public.invoices: tenant B cannot read tenant A's private rows" },
	{ "a table of no one", "CREATE TABLE audit (id bigint, detail text)",
	  "error rls_disabled_in_exposed_schema: table public.audit: table in exposed schema public has no row level"
	  " security and is not declared global", NULL },
	{ "a PUBLIC grant", "GRANT ALL ON notes TO PUBLIC",
	  "error tenant_table_public_grant: table public.notes grant PUBLIC: PUBLIC holds", NULL },
	{ "a grant to the anonymous role", "GRANT SELECT ON notes TO saas_anon",
	  "error tenant_table_public_grant: table public.notes grant saas_anon: anonymous role saas_anon", NULL },
	{ "a view that runs as its owner", "CREATE VIEW note_leak AS SELECT id, tenant_id, body FROM notes",
	  "error view_bypasses_rls: view public.note_leak",
	  "FAIL SELECT public.note_leak: tenant B reads no more of other tenants' rows through the view" },
	{ "a caller's view over an owner's view in a schema not checked",
	  "CREATE SCHEMA internal; CREATE VIEW internal.notes_raw AS SELECT * FROM public.notes;"
	  " CREATE VIEW notes_face WITH (security_invoker = true) AS SELECT * FROM internal.notes_raw",
	  "error view_bypasses_rls: view public.notes_face: view reads public.notes through a view outside the checked"
	  " schemas that runs as its owner", NULL },
	{ "a materialized view filled by a function",
	  "CREATE FUNCTION public.note_rows() RETURNS TABLE (id uuid, tenant_id uuid, body text) LANGUAGE sql STABLE"
	  " AS 'SELECT id, tenant_id, body FROM public.notes';"
	  " CREATE MATERIALIZED VIEW notes_mv AS SELECT * FROM public.note_rows()",
	  "error view_bypasses_rls: materialized view public.notes_mv: materialized view stores what public.note_rows()"
	  " reads of public.notes when its owner refreshes it", NULL },
	{ "a rule on a caller's view, writing as its owner",
	  "CREATE RULE feed_write AS ON INSERT TO note_feed DO INSTEAD"
	  " UPDATE public.notes SET body = NEW.body WHERE id = NEW.id",
	  "error rule_on_table: view public.note_feed rule feed_write: rule feed_write runs its actions as the"
	  " relation's owner", NULL },
	{ "a definer function without a search path",
	  "CREATE FUNCTION public.all_notes() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
	  " AS 'SELECT count(*) FROM public.notes'",
	  "error security_definer_without_search_path: function public.all_notes()", NULL },
};

/* A read policy with a data-dependent branch: a warning (read policies
 * call functions the judge cannot see into), which --strict fails on (the
 * planted column is drift too: the finding's level is what is checked). */
static void test_read_policy_branch_fails_strict(void **state)
{
	char *db, *out, *err;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("ALTER TABLE notes ADD COLUMN status text NOT NULL DEFAULT 'active';"
		     " DROP POLICY notes_read ON notes;"
		     " CREATE POLICY notes_read ON notes FOR SELECT USING (tenant_id = auth.uid() OR is_shared OR status = 'archived')");
	assert_int_equal(gm(&out, &err, db, "verify --strict"), 1);
	assert_contains(out, "warning read_policy_not_tenant_bound: table public.notes policy notes_read: SELECT policy's USING"
			     " has a branch neither bound to the tenant nor limited to shared rows: status = 'archived'");
	free(out);
	free(err);
	free(db);
}

/* Planted on the clean database, a function tenant B may call that hands
 * it tenant A's note (read through call, a count): shown by acting as
 * tenant B, then found by verify, which says expected. */
static void definer_leak(const char *plant, const char *call, const char *expected)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db = planted(plant), *out, *err, *sql;
	PGconn *c = pgt_connect(db);

	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " INSERT INTO notes (tenant_id, body) VALUES ('%s', 'private to A');"
			   " DROP ROLE IF EXISTS gm_saas_reader; CREATE ROLE gm_saas_reader;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_reader;"
			   " GRANT SELECT ON notes TO gm_saas_reader;"
			   " SET ROLE gm_saas_reader;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false)",
			   a, b, a, b);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
	assert_int_equal(pgt_count(c, call), 1);
	pgt_exec(c, "RESET ROLE; REVOKE ALL ON notes FROM gm_saas_reader;"
		    " REVOKE ALL ON SCHEMA public, auth FROM gm_saas_reader; DROP ROLE gm_saas_reader");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, expected);
	free(out);
	free(err);
	free(db);
}

/* A SECURITY DEFINER function that takes the tenant as an argument: the
 * policies hold for direct reads, and the function hands any tenant's rows
 * to any caller, as its owner (here the superuser that ran up). */
static void test_definer_function_taking_the_tenant(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE FUNCTION public.notes_of(t uuid) RETURNS SETOF notes LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'SELECT * FROM public.notes WHERE tenant_id = t'",
		     "SELECT count(*) FROM public.notes_of('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.notes_of(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (SELECT whose WHERE does not bind it to the tenant: tenant_id = t)");
}

/* The same read in an ordinary (SECURITY INVOKER) helper that a definer
 * calls: the helper runs as the definer's owner too. */
static void test_definer_function_through_a_helper(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE FUNCTION public.notes_of(t uuid) RETURNS SETOF notes LANGUAGE sql STABLE"
		     " SET search_path = pg_catalog, public AS 'SELECT * FROM public.notes WHERE tenant_id = t';"
		     " CREATE FUNCTION public.count_notes(t uuid) RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'BEGIN RETURN (SELECT count(*) FROM notes_of(t)); END'",
		     "SELECT public.count_notes('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.count_notes(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through notes_of(), which it calls and which runs as its owner"
		     " too: SELECT whose WHERE does not bind it to the tenant: tenant_id = t)");
}

/* A definer that CALLs an ordinary procedure deleting the tenant the
 * caller names: tenant B empties A's notes. */
static void test_definer_function_calling_a_procedure(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE PROCEDURE public.wipe_notes(t uuid) LANGUAGE sql AS 'DELETE FROM public.notes WHERE tenant_id = t';"
		     " CREATE FUNCTION public.wipe(t uuid) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER"
		     " SET search_path = pg_catalog AS 'BEGIN CALL public.wipe_notes(t); RETURN 1; END'",
		     "SELECT public.wipe('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.wipe(t uuid): SECURITY DEFINER function touches"
		     " public.notes as its owner (through public.wipe_notes(), which it calls and which runs as its owner"
		     " too: DELETE whose WHERE does not bind it to the tenant: tenant_id = t)");
}

/* What else a definer's statements run, run as its owner too: an
 * operator's function (t ## 0 counts A's notes)... */
static void test_definer_function_through_an_operator(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE FUNCTION public.notes_hash(t uuid, k int) RETURNS bigint LANGUAGE sql STABLE"
		     " AS 'SELECT count(*) FROM public.notes WHERE tenant_id = t';"
		     " CREATE OPERATOR public.## (LEFTARG = uuid, RIGHTARG = int, FUNCTION = public.notes_hash);"
		     " CREATE FUNCTION public.count_via_op(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'SELECT t ## 0'",
		     "SELECT public.count_via_op('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.count_via_op(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through operator ##, whose function runs as its owner too:"
		     " SELECT whose WHERE does not bind it to the tenant: tenant_id = t)");
	/* Named with its schema, as a definer whose path is pg_catalog alone
	 * must name it. */
	definer_leak("CREATE FUNCTION public.notes_hash(t uuid, k int) RETURNS bigint LANGUAGE sql STABLE"
		     " AS 'SELECT count(*) FROM public.notes WHERE tenant_id = t';"
		     " CREATE OPERATOR public.## (LEFTARG = uuid, RIGHTARG = int, FUNCTION = public.notes_hash);"
		     " CREATE FUNCTION public.count_via_op(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog AS 'SELECT t OPERATOR(public.##) 0'",
		     "SELECT public.count_via_op('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.count_via_op(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through operator public.##, whose function runs as its owner"
		     " too: SELECT whose WHERE does not bind it to the tenant: tenant_id = t)");
}

/* ... a cast's function (t::note_count)... */
static void test_definer_function_through_a_cast(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE TYPE public.note_count AS (n bigint);"
		     " CREATE FUNCTION public.to_note_count(t uuid) RETURNS public.note_count LANGUAGE sql STABLE"
		     " AS 'SELECT ROW(count(*))::public.note_count FROM public.notes WHERE tenant_id = t';"
		     " CREATE CAST (uuid AS public.note_count) WITH FUNCTION public.to_note_count(uuid);"
		     " CREATE FUNCTION public.count_via_cast(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'SELECT (t::note_count).n'",
		     "SELECT public.count_via_cast('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.count_via_cast(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through the cast to note_count, whose function runs as its owner"
		     " too: SELECT whose WHERE does not bind it to the tenant: tenant_id = t)");
}

/* ... a function called in attribute notation (w.note_total is
 * note_total(w))... */
static void test_definer_function_through_attribute_notation(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE TYPE public.who AS (id uuid);"
		     " CREATE FUNCTION public.note_total(w public.who) RETURNS bigint LANGUAGE sql STABLE"
		     " AS 'SELECT count(*) FROM public.notes WHERE tenant_id = w.id';"
		     " CREATE FUNCTION public.count_via_field(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'SELECT (ROW(t)::public.who).note_total'",
		     "SELECT public.count_via_field('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.count_via_field(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through note_total(), which it calls and which runs as its owner"
		     " too: SELECT whose WHERE does not bind it to the tenant: tenant_id = w.id)");
}

/* ... and a trigger on a table it writes, though that table is no
 * tenant's (an audit log counting the notes of the tenant it names). */
static void test_definer_function_through_a_trigger(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE TABLE public.audit (id serial PRIMARY KEY, tid uuid, n bigint);"
		     " CREATE FUNCTION public.audit_count() RETURNS trigger LANGUAGE plpgsql AS"
		     " 'BEGIN NEW.n := (SELECT count(*) FROM public.notes WHERE tenant_id = NEW.tid); RETURN NEW; END';"
		     " CREATE TRIGGER audit_count BEFORE INSERT ON public.audit FOR EACH ROW EXECUTE FUNCTION public.audit_count();"
		     " CREATE FUNCTION public.log_count(t uuid) RETURNS bigint LANGUAGE sql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'INSERT INTO public.audit (tid) VALUES (t) RETURNING n'",
		     "SELECT public.log_count('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.log_count(t uuid): SECURITY DEFINER function"
		     " touches public.notes as its owner (through its writes to public.audit, whose triggers, defaults and"
		     " checks run as its owner too: through audit_count(), which it calls and which runs as its"
		     " owner too: SELECT whose WHERE does not bind it to the tenant: tenant_id = new.tid)");
}

/* A trigger that hands the firing row's tenant's notes to the caller,
 * reached by the definers below through what they write. */
#define GRAB_ROW "CREATE FUNCTION public.grab_row() RETURNS trigger LANGUAGE plpgsql AS" \
	" 'BEGIN UPDATE public.notes SET tenant_id = auth.uid() WHERE tenant_id = NEW.tid; RETURN NEW; END';"
#define GRABBED "RETURN (SELECT count(*) FROM public.notes WHERE tenant_id = auth.uid()); END'"
#define THROUGH_GRAB_ROW(rel) "touches public.notes as its owner (through its writes to " rel ", whose triggers," \
	" defaults and checks run as its owner too: through grab_row(), which it calls and which runs as its owner" \
	" too: UPDATE whose WHERE does not bind it to the tenant: tenant_id = new.tid)"

/* What a write reaches: a TRUNCATE's triggers, a partition's triggers
 * when the definer writes the partitioned table, a view's INSTEAD OF
 * trigger. */
static void test_definer_function_through_what_a_write_reaches(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE TABLE public.scratch (x int);"
		     " CREATE FUNCTION public.grab() RETURNS trigger LANGUAGE plpgsql AS"
		     " 'BEGIN UPDATE public.notes SET tenant_id = auth.uid(); RETURN NULL; END';"
		     " CREATE TRIGGER grab BEFORE TRUNCATE ON public.scratch FOR EACH STATEMENT EXECUTE FUNCTION public.grab();"
		     " CREATE FUNCTION public.reset_scratch() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'BEGIN TRUNCATE public.scratch; " GRABBED,
		     "SELECT public.reset_scratch()",
		     "error definer_function_bypasses_rls: function public.reset_scratch(): SECURITY DEFINER function"
		     " touches public.notes as its owner (through its writes to public.scratch, whose triggers, defaults"
		     " and checks run as its owner too: through grab(), which it calls and which runs as its owner too:"
		     " UPDATE without a WHERE)");
	definer_leak("CREATE TABLE public.events (tid uuid) PARTITION BY LIST (tid);"
		     " CREATE TABLE public.events_all PARTITION OF public.events DEFAULT; " GRAB_ROW
		     " CREATE TRIGGER grab BEFORE INSERT ON public.events_all FOR EACH ROW EXECUTE FUNCTION public.grab_row();"
		     " CREATE FUNCTION public.log_event(t uuid) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'BEGIN INSERT INTO public.events (tid) VALUES (t); " GRABBED,
		     "SELECT public.log_event('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.log_event(t uuid): SECURITY DEFINER function "
		     THROUGH_GRAB_ROW("public.events"));
	definer_leak("CREATE VIEW public.inbox WITH (security_invoker = true) AS SELECT NULL::uuid AS tid; " GRAB_ROW
		     " CREATE TRIGGER grab INSTEAD OF INSERT ON public.inbox FOR EACH ROW EXECUTE FUNCTION public.grab_row();"
		     " CREATE FUNCTION public.post(t uuid) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'BEGIN INSERT INTO public.inbox (tid) VALUES (t); " GRABBED,
		     "SELECT public.post('00000000-0000-0000-0000-00000000000a')",
		     "error definer_function_bypasses_rls: function public.post(t uuid): SECURITY DEFINER function "
		     THROUGH_GRAB_ROW("public.inbox"));
}

/* A trigger reached from the definer's own write: no policy checked the
 * firing row, so its INSERT is judged.  The outbox's delivers a note
 * into the tenant the caller names: B writes into A. */
static void test_definer_function_through_an_outbox(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE public.outbox (target uuid, body text);"
		     " CREATE FUNCTION public.deliver() RETURNS trigger LANGUAGE plpgsql AS"
		     " 'BEGIN INSERT INTO public.notes (tenant_id, body) VALUES (NEW.target, NEW.body); RETURN NEW; END';"
		     " CREATE TRIGGER deliver AFTER INSERT ON public.outbox FOR EACH ROW EXECUTE FUNCTION public.deliver();"
		     " CREATE FUNCTION public.send(t uuid, b text) RETURNS int LANGUAGE plpgsql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'BEGIN INSERT INTO public.outbox VALUES (t, b); RETURN 1; END'");
	c = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " DROP ROLE IF EXISTS gm_saas_writer; CREATE ROLE gm_saas_writer;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_writer; SET ROLE gm_saas_writer;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false);"
			   " SELECT public.send('%s', 'forged by B'); RESET ROLE;"
			   " REVOKE ALL ON SCHEMA public, auth FROM gm_saas_writer; DROP ROLE gm_saas_writer",
			   a, b, b, a);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("SELECT count(*) FROM notes WHERE tenant_id = '%s' AND body = 'forged by B'", a);
	assert_int_equal(pgt_count(c, sql), 1);
	free(sql);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error definer_function_bypasses_rls: function public.send(t uuid, b text): SECURITY DEFINER"
			     " function touches public.notes as its owner (through its writes to public.outbox, whose triggers,"
			     " defaults and checks run as its owner too: through deliver(), which it calls and which runs as its"
			     " owner too: INSERT whose tenant column is not set to the tenant expression itself)");
	free(out);
	free(err);
	free(db);
}

/* A quota trigger counting the tenant's notes by NEW's tenant column,
 * reached from a definer's write that binds that column to the tenant:
 * no finding. */
static void test_definer_function_with_a_quota_trigger(void **state)
{
	char *db, *out, *err;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.note_quota() RETURNS trigger LANGUAGE plpgsql AS"
		     " 'BEGIN IF (SELECT count(*) FROM public.notes WHERE tenant_id = NEW.tenant_id) > 100"
		     " THEN RAISE EXCEPTION ''quota''; END IF; RETURN NEW; END';"
		     " CREATE TRIGGER note_quota BEFORE INSERT ON public.notes FOR EACH ROW EXECUTE FUNCTION public.note_quota();"
		     " CREATE FUNCTION public.add_note(b text) RETURNS void LANGUAGE sql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public AS 'INSERT INTO public.notes (tenant_id, body) VALUES (auth.uid(), b)'");
	gm(&out, &err, db, "verify");
	assert_not_contains(out, "definer_function_bypasses_rls: function public.add_note");
	assert_not_contains(out, "definer_function_not_analysed: function public.add_note");
	assert_contains(out, "unexpected: function public.add_note(b text)");	/* it was read */
	free(out);
	free(err);
	free(db);
}

/* A tenant table inheriting from a table that is no tenant table: a read
 * of the parent shows its rows under the parent's policies (none), with
 * the parent's grants alone: one outside the checked schemas, and the
 * declared-global countries. */
static void test_tenant_table_inheriting(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE SCHEMA internal; CREATE TABLE internal.searchable (id uuid, body text);"
		     " ALTER TABLE notes INHERIT internal.searchable;"
		     " GRANT USAGE ON SCHEMA internal TO PUBLIC; GRANT SELECT ON internal.searchable TO PUBLIC",
		     "SELECT count(*) FROM internal.searchable",
		     "error tenant_table_inherited: table public.notes: tenant table inherits from internal.searchable,"
		     " which is no tenant table: a read of internal.searchable reads this table's rows under its"
		     " policies, not this table's, with its grants alone");
	definer_leak("CREATE TABLE contacts (tenant_id uuid NOT NULL) INHERITS (countries);"
		     " ALTER TABLE contacts ENABLE ROW LEVEL SECURITY; ALTER TABLE contacts FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY contacts_tenant ON contacts USING (tenant_id = auth.uid()) WITH CHECK (tenant_id = auth.uid());"
		     " INSERT INTO contacts VALUES ('xx', 'private to A', '00000000-0000-0000-0000-00000000000a');"
		     " GRANT SELECT ON countries TO PUBLIC",
		     "SELECT count(*) FROM countries WHERE code = 'xx'",
		     "error tenant_table_inherited: table public.contacts: tenant table inherits from public.countries");
}

/* A write policy whose subquery is anchored to the user on one relation
 * and hands over another's ids: tenant B updates A's note (A's name
 * matches), and verify said the policy was bound. */
static void test_policy_subquery_anchored_elsewhere(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("DROP POLICY notes_update ON notes;"
		     " CREATE POLICY notes_update ON notes FOR UPDATE USING (tenant_id IN (SELECT t.id FROM tenants t, tenants me"
		     " WHERE me.id = auth.uid() AND t.name LIKE 'A%')) WITH CHECK (tenant_id IN (SELECT t.id FROM tenants t,"
		     " tenants me WHERE me.id = auth.uid() AND t.name LIKE 'A%'))");
	c = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " INSERT INTO notes (tenant_id, body) VALUES ('%s', 'private to A');"
			   " DROP ROLE IF EXISTS gm_saas_writer; CREATE ROLE gm_saas_writer;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_writer; GRANT SELECT, UPDATE ON notes TO gm_saas_writer;"
			   " GRANT SELECT ON tenants TO gm_saas_writer; SET ROLE gm_saas_writer;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false);"
			   " UPDATE notes SET body = 'overwritten by B'; RESET ROLE;"
			   " REVOKE ALL ON notes, tenants FROM gm_saas_writer; REVOKE ALL ON SCHEMA public, auth FROM gm_saas_writer;"
			   " DROP ROLE gm_saas_writer", a, b, a, b);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE body = 'overwritten by B'"), 1);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error write_policy_not_tenant_bound: table public.notes policy notes_update");
	free(out);
	free(err);
	free(db);
}

/* A membership table the notes' read policy trusts, which tenant B may
 * not write, and a SECURITY DEFINER "join" that writes it for B with any
 * tenant B names: B joins A and reads A's note. */
static void test_policy_link_written_by_a_definer(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE memberships (user_id uuid NOT NULL, org uuid NOT NULL REFERENCES tenants (id));"
		     " ALTER TABLE memberships ENABLE ROW LEVEL SECURITY; ALTER TABLE memberships FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY m_own ON memberships FOR SELECT USING (user_id = auth.uid());"
		     " DROP POLICY notes_read ON notes;"
		     " CREATE POLICY notes_read ON notes FOR SELECT USING (tenant_id = auth.uid() OR is_shared"
		     "  OR tenant_id IN (SELECT m.org FROM memberships m WHERE m.user_id = auth.uid()));"
		     " CREATE FUNCTION public.join_org(target uuid) RETURNS void LANGUAGE sql SECURITY DEFINER"
		     "  SET search_path = pg_catalog AS 'INSERT INTO public.memberships (user_id, org) VALUES (auth.uid(), target)';"
		     " DROP ROLE IF EXISTS gm_saas_reader; CREATE ROLE gm_saas_reader;"
		     " GRANT USAGE ON SCHEMA public, auth TO gm_saas_reader; GRANT SELECT ON notes, memberships TO gm_saas_reader");
	c = pgt_connect(db);
	seed_and_act_as_b(c, NULL, "gm_saas_reader");
	pgt_exec(c, "SELECT public.join_org('00000000-0000-0000-0000-00000000000a')");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 1);
	pgt_exec(c, "RESET ROLE");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify --strict"), 1);
	assert_contains(out, "warning policy_link_writable: table public.notes policy notes_read: lets a row in when a row of"
			     " the tenant's in public.memberships names it (public.memberships.org), and SECURITY DEFINER"
			     " function public.join_org(target uuid) writes public.memberships as its owner (INSERT of it)");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP ROLE gm_saas_reader");
	free(db);
}

/* Referential actions run as the notes' owner, past their policies: a
 * role that may delete a country deletes every tenant's notes of it, and
 * one that may change a tenant's id moves that tenant's notes to
 * another.  Tenant B does both to A, through global tables it may write. */
static void test_cascade_from_a_writable_table(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("ALTER TABLE notes ADD COLUMN country text REFERENCES countries (code) ON DELETE CASCADE;"
		     " CREATE INDEX ON notes (country);"
		     " ALTER TABLE notes DROP CONSTRAINT notes_tenant_id_fkey,"
		     " ADD CONSTRAINT notes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON UPDATE CASCADE;"
		     " DROP ROLE IF EXISTS gm_saas_writer; CREATE ROLE gm_saas_writer;"
		     " GRANT USAGE ON SCHEMA public, auth TO gm_saas_writer; GRANT SELECT ON notes TO gm_saas_writer;"
		     " GRANT SELECT, DELETE ON countries TO gm_saas_writer; GRANT SELECT, UPDATE (id) ON tenants TO gm_saas_writer");
	c = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " INSERT INTO countries VALUES ('DE', 'Germany'), ('FR', 'France');"
			   " INSERT INTO notes (tenant_id, body, country) VALUES ('%s', 'A in DE', 'DE'), ('%s', 'A in FR', 'FR');"
			   " SET ROLE gm_saas_writer;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false);"
			   " DELETE FROM countries WHERE code = 'DE';"
			   /* B's own tenant row out of the way, then A's renamed to B's id */
			   " UPDATE tenants SET id = gen_random_uuid() WHERE id = '%s';"
			   " UPDATE tenants SET id = '%s' WHERE id = '%s'", a, b, a, a, b, b, b, a);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE body = 'A in FR'"), 1);	/* now B's */
	pgt_exec(c, "RESET ROLE");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE body = 'A in DE'"), 0);	/* gone */
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error cascade_from_writable_table: table public.notes constraint notes_country_fkey: ON DELETE"
			     " CASCADE from public.countries, which gm_saas_writer may DELETE (no row level security):"
			     " deleting a row there deletes rows of any tenant here");
	assert_contains(out, "error cascade_from_writable_table: table public.notes constraint notes_tenant_id_fkey: ON UPDATE"
			     " CASCADE from public.tenants, which gm_saas_writer may UPDATE on column id (no row level"
			     " security): updating a row there changes rows of any tenant here");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP ROLE gm_saas_writer");
	free(db);
}

/* A membership subquery that hands the tenant's ids to the row's id,
 * not to its tenant column: tenant B writes a note into tenant A by
 * picking its own tenant's id for the note's. */
static void test_policy_membership_on_the_wrong_column(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE memberships (user_id uuid NOT NULL, tenant_id uuid NOT NULL REFERENCES tenants (id));"
		     " ALTER TABLE memberships ENABLE ROW LEVEL SECURITY; ALTER TABLE memberships FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY memberships_own ON memberships FOR SELECT USING (tenant_id = auth.uid());"
		     " DROP POLICY notes_insert ON notes;"
		     " CREATE POLICY notes_insert ON notes FOR INSERT"
		     " WITH CHECK (id IN (SELECT m.tenant_id FROM memberships m WHERE m.user_id = auth.uid()))");
	c = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " INSERT INTO memberships VALUES ('%s', '%s');"
			   " DROP ROLE IF EXISTS gm_saas_writer; CREATE ROLE gm_saas_writer;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_writer; GRANT SELECT, INSERT ON notes TO gm_saas_writer;"
			   " GRANT SELECT ON memberships TO gm_saas_writer; SET ROLE gm_saas_writer;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false);"
			   " INSERT INTO notes (id, tenant_id, body) VALUES ('%s', '%s', 'planted by B'); RESET ROLE;"
			   " REVOKE ALL ON notes, memberships FROM gm_saas_writer; REVOKE ALL ON SCHEMA public, auth FROM gm_saas_writer;"
			   " DROP ROLE gm_saas_writer", a, b, b, b, b, b, a);
	pgt_exec(c, sql);
	free(sql);
	sql = gm_xasprintf("SELECT count(*) FROM notes WHERE tenant_id = '%s' AND body = 'planted by B'", a);
	assert_int_equal(pgt_count(c, sql), 1);
	free(sql);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error write_policy_not_tenant_bound: table public.notes policy notes_insert");
	free(out);
	free(err);
	free(db);
}

/* A table of the exposed schema keyed by a column the tenancy does not
 * name, with row-level security whose read policy does not look at the
 * row: USING (auth.uid() IS NOT NULL) lets tenant B read A's drafts, as
 * USING (true) would, and verify says so as it does for true. */
static void test_policy_that_does_not_look_at_the_row(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE drafts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, author uuid NOT NULL, body text);"
		     " ALTER TABLE drafts ENABLE ROW LEVEL SECURITY; ALTER TABLE drafts FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY drafts_read ON drafts FOR SELECT USING (auth.uid() IS NOT NULL);"
		     " CREATE POLICY drafts_write ON drafts FOR INSERT WITH CHECK (author = auth.uid())");
	c = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO drafts (author, body) VALUES ('%s', 'private to A');"
			   " DROP ROLE IF EXISTS gm_saas_reader; CREATE ROLE gm_saas_reader;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_reader; GRANT SELECT ON drafts TO gm_saas_reader;"
			   " SET ROLE gm_saas_reader;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false)", a, b);
	pgt_exec(c, sql);
	free(sql);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM drafts WHERE body = 'private to A'"), 1);
	pgt_exec(c, "RESET ROLE; REVOKE ALL ON drafts FROM gm_saas_reader;"
		    " REVOKE ALL ON SCHEMA public, auth FROM gm_saas_reader; DROP ROLE gm_saas_reader");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error rls_disabled_in_exposed_schema: table public.drafts: table in exposed schema public has"
			     " row level security, but policy drafts_read lets every row be read (auth.uid() IS NOT NULL"
			     " does not look at the row)");
	free(out);
	free(err);
	free(db);
}

/* A child table with a plain (NO ACTION) foreign key to notes and
 * correct policies: the probe's own child row keeps B's note from being
 * deleted, which is the key's doing, not the policy's. */
static void test_probe_with_a_child_table(void **state)
{
	char *db, *out, *err;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE note_comments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		     " tenant_id uuid NOT NULL REFERENCES tenants (id), note_id uuid NOT NULL REFERENCES notes (id), body text);"
		     " ALTER TABLE note_comments ENABLE ROW LEVEL SECURITY; ALTER TABLE note_comments FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY note_comments_tenant ON note_comments USING (tenant_id = auth.uid())"
		     " WITH CHECK (tenant_id = auth.uid() AND note_id IN (SELECT n.id FROM notes n WHERE n.tenant_id = auth.uid()))");
	gm(&out, &err, db, "verify --isolation");
	assert_not_contains(out, "isolation_denied: table public.notes");
	assert_not_contains(out, "isolation_breach");
	assert_contains(out, "a row of another table that refers to it kept it");
	free(out);
	free(err);
	free(db);

	/* A policy checking the tenant column alone: B hangs its comment
	 * under A's note (which A then cannot delete). */
	db = planted("CREATE TABLE note_comments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		     " tenant_id uuid NOT NULL REFERENCES tenants (id), note_id uuid NOT NULL REFERENCES notes (id), body text);"
		     " ALTER TABLE note_comments ENABLE ROW LEVEL SECURITY; ALTER TABLE note_comments FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY note_comments_tenant ON note_comments USING (tenant_id = auth.uid())"
		     " WITH CHECK (tenant_id = auth.uid())");
	assert_int_equal(gm(&out, &err, db, "verify --isolation"), 1);
	assert_contains(out, "error isolation_breach: table public.note_comments: INSERT: tenant B cannot insert rows under"
			     " tenant A's public.notes, but its row under public.notes's row of tenant A was written");
	free(out);
	free(err);
	free(db);

	/* New rows checked, moved ones not: B moves its own comment under
	 * A's note. */
	db = planted("CREATE TABLE note_comments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		     " tenant_id uuid NOT NULL REFERENCES tenants (id), note_id uuid NOT NULL REFERENCES notes (id), body text);"
		     " ALTER TABLE note_comments ENABLE ROW LEVEL SECURITY; ALTER TABLE note_comments FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY c_read ON note_comments FOR SELECT USING (tenant_id = auth.uid());"
		     " CREATE POLICY c_delete ON note_comments FOR DELETE USING (tenant_id = auth.uid());"
		     " CREATE POLICY c_insert ON note_comments FOR INSERT"
		     " WITH CHECK (tenant_id = auth.uid() AND note_id IN (SELECT n.id FROM notes n WHERE n.tenant_id = auth.uid()));"
		     " CREATE POLICY c_update ON note_comments FOR UPDATE USING (tenant_id = auth.uid())"
		     " WITH CHECK (tenant_id = auth.uid())");
	assert_int_equal(gm(&out, &err, db, "verify --isolation"), 1);
	assert_not_contains(out, "INSERT: tenant B cannot insert rows under");
	assert_contains(out, "error isolation_breach: table public.note_comments: UPDATE: tenant B cannot move its rows under"
			     " tenant A's public.notes, but its row under public.notes's row of tenant A was written");
	free(out);
	free(err);
	free(db);

	/* A note's parent note: the same, within one table. */
	db = planted("ALTER TABLE notes ADD COLUMN parent_id uuid REFERENCES notes (id); CREATE INDEX ON notes (parent_id)");
	assert_int_equal(gm(&out, &err, db, "verify --isolation"), 1);
	assert_contains(out, "error isolation_breach: table public.notes: INSERT: tenant B cannot insert rows under"
			     " tenant A's public.notes, but its row under public.notes's row of tenant A was written");
	assert_contains(out, "error isolation_breach: table public.notes: UPDATE: tenant B cannot move its rows under"
			     " tenant A's public.notes");
	free(out);
	free(err);
	free(db);
}

/* A change feed on notes through NOTIFY: tenant B's session listens and
 * reads A's new note, which it cannot SELECT. */
static void test_trigger_notifying_tenant_rows(void **state)
{
	static const char a[] = "00000000-0000-0000-0000-00000000000a", b[] = "00000000-0000-0000-0000-00000000000b";
	char *db, *out, *err, *sql;
	PGconn *ca, *cb;
	PGnotify *n;
	int heard = 0;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.notes_changed() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS"
		     " 'BEGIN PERFORM pg_notify(''notes_changed'', row_to_json(NEW)::text); RETURN NEW; END';"
		     " CREATE TRIGGER notes_changed AFTER INSERT ON public.notes FOR EACH ROW EXECUTE FUNCTION public.notes_changed()");
	ca = pgt_connect(db);
	cb = pgt_connect(db);
	sql = gm_xasprintf("INSERT INTO tenants (id, name) VALUES ('%s', 'A'), ('%s', 'B');"
			   " DROP ROLE IF EXISTS gm_saas_listener; CREATE ROLE gm_saas_listener;"
			   " GRANT USAGE ON SCHEMA public, auth TO gm_saas_listener; GRANT SELECT ON notes TO gm_saas_listener", a, b);
	pgt_exec(ca, sql);
	free(sql);
	sql = gm_xasprintf("SET ROLE gm_saas_listener;"
			   " SELECT set_config('request.jwt.claims', json_build_object('sub', '%s')::text, false); LISTEN notes_changed", b);
	pgt_exec(cb, sql);
	free(sql);
	sql = gm_xasprintf("INSERT INTO notes (tenant_id, body) VALUES ('%s', 'private to A')", a);
	pgt_exec(ca, sql);
	free(sql);
	assert_int_equal(pgt_count(cb, "SELECT count(*) FROM notes"), 0);
	PQconsumeInput(cb);
	while ((n = PQnotifies(cb))) {
		heard += strstr(n->extra, "private to A") != NULL;
		PQfreemem(n);
	}
	assert_int_equal(heard, 1);
	pgt_exec(cb, "RESET ROLE");
	PQfinish(cb);
	pgt_exec(ca, "REVOKE ALL ON notes FROM gm_saas_listener; REVOKE ALL ON SCHEMA public, auth FROM gm_saas_listener;"
		     " DROP ROLE gm_saas_listener");
	PQfinish(ca);
	gm(&out, &err, db, "verify");
	assert_contains(out, "warning tenant_trigger_notifies: table public.notes trigger notes_changed: trigger's function"
			     " sends a notification");
	free(out);
	free(err);
	free(db);
}

/* verify (with flags, each followed by a space) of db against a snapshot
 * dumped from db itself, so that only findings are left: must exit 1;
 * its output (caller frees). */
static char *verify_own_snapshot(const char *db, const char *flags)
{
	char *dir = tfs_tempdir(), *args = gm_xasprintf("dump -o '%s/snap.yaml'", dir), *out, *err;

	assert_int_equal(gm(NULL, NULL, db, args), 0);
	free(args);
	args = gm_xasprintf("verify %s--snapshot '%s/snap.yaml'", flags, dir);
	assert_int_equal(gm(&out, &err, db, args), 1);
	free(args);
	free(err);
	tfs_rmdir(dir);
	return out;
}

/* A tenant table's trigger copying what it is given into a table
 * declared global, which every tenant reads whole: B reads A's note
 * there. */
static void test_trigger_copying_into_a_global_table(void **state)
{
	char *db, *out;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.note_country() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS"
		     " 'BEGIN INSERT INTO public.countries (code, name) VALUES (NEW.id::text, NEW.body); RETURN NEW; END';"
		     " CREATE TRIGGER note_country AFTER INSERT ON public.notes FOR EACH ROW EXECUTE FUNCTION public.note_country();"
		     " DROP ROLE IF EXISTS gm_saas_reader; CREATE ROLE gm_saas_reader;"
		     " GRANT USAGE ON SCHEMA public, auth TO gm_saas_reader; GRANT SELECT ON notes, countries TO gm_saas_reader");
	c = pgt_connect(db);
	seed_and_act_as_b(c, NULL, "gm_saas_reader");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM countries WHERE name = 'A''s'"), 1);
	pgt_exec(c, "RESET ROLE");
	PQfinish(c);
	/* Against a snapshot of this very schema: nothing else to find. */
	out = verify_own_snapshot(db, "");
	assert_contains(out, "error tenant_trigger_writes_global: table public.notes trigger note_country: trigger's function"
			     " writes public.countries, declared global, itself or through what it calls (INSERT of it)");
	assert_contains(out, "1 error, 0 warnings");
	free(out);
	pgt_drop_db(db, "DROP ROLE gm_saas_reader");
	free(db);
}

/* A unique index across tenants: B's INSERT of a note whose body only A
 * holds fails (the server prints no key under RLS: the failure tells). */
static void test_unique_index_across_tenants(void **state)
{
	char *db, *out;
	PGconn *c;
	PGresult *r;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE UNIQUE INDEX notes_body_key ON notes (body);"
		     " DROP ROLE IF EXISTS gm_saas_reader; CREATE ROLE gm_saas_reader;"
		     " GRANT USAGE ON SCHEMA public, auth TO gm_saas_reader; GRANT SELECT, INSERT ON notes TO gm_saas_reader");
	c = pgt_connect(db);
	seed_and_act_as_b(c, NULL, "gm_saas_reader");
	r = PQexec(c, "INSERT INTO notes (tenant_id, body) VALUES ('00000000-0000-0000-0000-00000000000b', 'A''s')");
	assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23505");
	PQclear(r);
	r = PQexec(c, "INSERT INTO notes (tenant_id, body) VALUES ('00000000-0000-0000-0000-00000000000b', 'B''s')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	pgt_exec(c, "RESET ROLE");
	PQfinish(c);
	out = verify_own_snapshot(db, "--strict ");
	assert_contains(out, "warning tenant_unique_across_tenants: table public.notes index notes_body_key: unique index"
			     " on (body) spans every tenant's rows");
	assert_contains(out, "0 errors, 1 warning");
	free(out);
	pgt_drop_db(db, "DROP ROLE gm_saas_reader");
	free(db);
}

/* A definer reading tenant rows through a view of a schema verify does
 * not read (security_invoker, but the invoker is the definer's owner). */
static void test_definer_function_through_an_unchecked_view(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	definer_leak("CREATE SCHEMA internal;"
		     " CREATE VIEW internal.notes_v WITH (security_invoker = true) AS SELECT id, tenant_id, body FROM public.notes;"
		     " CREATE FUNCTION public.notes_via(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
		     " SET search_path = pg_catalog AS 'SELECT count(*) FROM internal.notes_v WHERE tenant_id = t'",
		     "SELECT public.notes_via('00000000-0000-0000-0000-00000000000a')",
		     "warning definer_function_not_analysed: function public.notes_via(t uuid): SECURITY DEFINER function"
		     " whose body cannot be judged: it reads internal.notes_v, which is not among what verify reads");
}

/* A definer that writes a note into the tenant the caller names, with
 * the tenant expression only as a fallback: tenant B writes into A. */
static void test_definer_function_inserting_for_any_tenant(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.post_note(t uuid, b text) RETURNS void LANGUAGE sql SECURITY DEFINER"
		     " SET search_path = pg_catalog, public"
		     " AS 'INSERT INTO public.notes (tenant_id, body) VALUES (coalesce(t, auth.uid()), b)'");
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " DROP ROLE IF EXISTS gm_saas_writer; CREATE ROLE gm_saas_writer;"
		    " GRANT USAGE ON SCHEMA public, auth TO gm_saas_writer; SET ROLE gm_saas_writer;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false);"
		    " SELECT public.post_note('00000000-0000-0000-0000-00000000000a', 'written by B'); RESET ROLE");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE tenant_id = '00000000-0000-0000-0000-00000000000a'"
				      " AND body = 'written by B'"), 1);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "error definer_function_bypasses_rls: function public.post_note(t uuid, b text): SECURITY DEFINER"
			     " function touches public.notes as its owner (INSERT whose tenant column is not set to the tenant"
			     " expression itself)");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP OWNED BY gm_saas_writer; DROP ROLE gm_saas_writer");
	free(db);
}

/* The notes policy lets a note in when a row of the tenant's in
 * note_follows names it, and the tenant may write note_follows: tenant B
 * follows A's note, then reads and overwrites it.  Found by verify. */
static void test_policy_through_a_table_the_tenant_writes(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE TABLE note_follows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
		     "  tenant_id uuid NOT NULL REFERENCES tenants (id), note_id uuid NOT NULL);"
		     " CREATE INDEX ON note_follows (tenant_id);"
		     " ALTER TABLE note_follows ENABLE ROW LEVEL SECURITY; ALTER TABLE note_follows FORCE ROW LEVEL SECURITY;"
		     " CREATE POLICY follows_own ON note_follows USING (tenant_id = auth.uid()) WITH CHECK (tenant_id = auth.uid());"
		     " DROP POLICY notes_read ON notes;"
		     " CREATE POLICY notes_read ON notes FOR SELECT"
		     "  USING (tenant_id = auth.uid() OR id IN (SELECT f.note_id FROM note_follows f WHERE f.tenant_id = auth.uid()));"
		     " DROP POLICY notes_update ON notes;"
		     " CREATE POLICY notes_update ON notes FOR UPDATE"
		     "  USING (tenant_id = auth.uid() OR id IN (SELECT f.note_id FROM note_follows f WHERE f.tenant_id = auth.uid()))"
		     "  WITH CHECK (tenant_id = auth.uid() OR id IN (SELECT f.note_id FROM note_follows f WHERE f.tenant_id = auth.uid()));"
		     " DROP ROLE IF EXISTS gm_saas_follower; CREATE ROLE gm_saas_follower;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_follower;"
		     " GRANT SELECT, INSERT, UPDATE, DELETE ON notes, note_follows TO gm_saas_follower");
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " INSERT INTO notes (id, tenant_id, body) VALUES ('00000000-0000-0000-0000-0000000000a1',"
		    " '00000000-0000-0000-0000-00000000000a', 'A''s');"
		    " SET ROLE gm_saas_follower;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false);"
		    " INSERT INTO note_follows (tenant_id, note_id) VALUES ('00000000-0000-0000-0000-00000000000b',"
		    " '00000000-0000-0000-0000-0000000000a1');"
		    " UPDATE notes SET body = 'overwritten by B' WHERE id = '00000000-0000-0000-0000-0000000000a1'; RESET ROLE");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE body = 'overwritten by B'"), 1);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "warning policy_link_writable: table public.notes policy notes_update: lets a row in when a row"
			     " of the tenant's in public.note_follows names it (public.note_follows.note_id), and"
			     " gm_saas_follower may write public.note_follows");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP OWNED BY gm_saas_follower; DROP ROLE gm_saas_follower");
	free(db);
}

/* An operator planted for a type pair with no built-in one: the policy
 * "tenant_id = auth.uid()::text" prints as the equality it is not, and
 * lets tenant B read A's note.  Found by verify. */
static void test_policy_with_a_planted_operator(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.any_eq(uuid, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';"
		     " CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = text, FUNCTION = public.any_eq);"
		     " DROP POLICY notes_read ON notes;"
		     " CREATE POLICY notes_read ON notes FOR SELECT USING (tenant_id = (auth.uid())::text);"
		     " DROP ROLE IF EXISTS gm_saas_op; CREATE ROLE gm_saas_op;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_op; GRANT SELECT ON notes TO gm_saas_op");
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " INSERT INTO notes (tenant_id, body) VALUES ('00000000-0000-0000-0000-00000000000a', 'private to A');"
		    " SET ROLE gm_saas_op;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false)");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes WHERE body = 'private to A'"), 1);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "warning policy_operator_not_builtin: table public.notes policy notes_read: policy compares"
			     " with =(uuid,text) owned by");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP OWNED BY gm_saas_op; DROP ROLE gm_saas_op");
	free(db);
}

/* A LEAKPROOF function runs before the policies: its error message hands
 * tenant B the body of A's note.  Found by verify. */
static void test_leakproof_function(void **state)
{
	char *db, *out, *err;
	PGconn *c;
	PGresult *r;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("CREATE FUNCTION public.body_matches(body text, q text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE"
		     " LEAKPROOF COST 0.0001 SET search_path = pg_catalog AS $$ BEGIN"
		     " IF q = '' THEN RAISE EXCEPTION 'empty query for %', body; END IF; RETURN position(q IN body) > 0;"
		     " END $$;"
		     " DROP ROLE IF EXISTS gm_saas_searcher; CREATE ROLE gm_saas_searcher;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_searcher; GRANT SELECT ON notes TO gm_saas_searcher");
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " INSERT INTO notes (tenant_id, body) VALUES ('00000000-0000-0000-0000-00000000000a', 'private to A');"
		    " SET ROLE gm_saas_searcher;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false)");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
	r = PQexec(c, "SELECT * FROM notes WHERE public.body_matches(body, '')");
	assert_non_null(strstr(PQresultErrorMessage(r), "empty query for private to A"));
	PQclear(r);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "warning leakproof_function: function public.body_matches(body text, q text): LEAKPROOF"
			     " function: the planner runs it on every tenant's rows before the policies");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP OWNED BY gm_saas_searcher; DROP ROLE gm_saas_searcher");
	free(db);
}

/* TRUNCATE ignores the policies: tenant B, granted it, empties tenant A's
 * rows too.  Shown as tenant B, then found by verify. */
static void test_truncate_grant(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("DROP ROLE IF EXISTS gm_saas_cleaner; CREATE ROLE gm_saas_cleaner;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_cleaner;"
		     " GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON notes TO gm_saas_cleaner");
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " INSERT INTO notes (tenant_id, body) VALUES ('00000000-0000-0000-0000-00000000000a', 'A''s')");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 1);
	pgt_exec(c, "SET ROLE gm_saas_cleaner;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false)");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
	pgt_exec(c, "TRUNCATE notes; RESET ROLE");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify"), 1);
	assert_contains(out, "warning tenant_table_bypass_grant: table public.notes grant gm_saas_cleaner: gm_saas_cleaner"
			     " holds TRUNCATE on a tenant table");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP ROLE gm_saas_cleaner");
	free(db);
}

/* --app-role: tenant rows in a schema verify does not check, reached
 * through a view of a checked schema that runs as its owner, and in a
 * table there keyed by the note's id (no tenant column of its own):
 * tenant B reads A's archived note and A's note's search text. */
static void test_app_role_reads_unguarded_rows_outside(void **state)
{
	char *db, *out, *err;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("DROP ROLE IF EXISTS gm_saas_app; CREATE ROLE gm_saas_app;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_app;"
		     " GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO gm_saas_app;"
		     " CREATE SCHEMA internal; GRANT USAGE ON SCHEMA internal TO gm_saas_app;"
		     " CREATE TABLE internal.note_archive (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);"
		     " CREATE VIEW public.archive_feed AS SELECT id, tenant_id, body FROM internal.note_archive;"
		     " GRANT SELECT ON public.archive_feed TO gm_saas_app;"
		     " CREATE TABLE internal.note_search (note_id uuid PRIMARY KEY REFERENCES public.notes (id), words text);"
		     " GRANT SELECT ON internal.note_search TO gm_saas_app");
	c = pgt_connect(db);
	seed_and_act_as_b(c, "INSERT INTO internal.note_archive VALUES ('00000000-0000-0000-0000-0000000000a2',"
			  " '00000000-0000-0000-0000-00000000000a', 'A''s old');"
			  " INSERT INTO internal.note_search VALUES ('00000000-0000-0000-0000-0000000000a1', 'A''s words')",
			  "gm_saas_app");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM public.archive_feed WHERE body = 'A''s old'"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM internal.note_search WHERE words = 'A''s words'"), 1);
	pgt_exec(c, "RESET ROLE; DELETE FROM internal.note_search; DELETE FROM internal.note_archive;"
		    " DELETE FROM notes; DELETE FROM tenants");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app may reach public.archive_feed, a view of a checked schema that reads"
			     " internal.note_archive, a table with tenant rows and no row level security of a schema verify"
			     " does not check, as its owner");
	assert_contains(out, "role gm_saas_app may reach internal.note_search, a table keyed to a table with row level"
			     " security, without row level security of its own, in a schema verify does not check");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);
}

/* --app-role: a table with a tenant column and row-level security in a
 * schema verify does not check.  Its policy lets every row through, so
 * tenant B reads A's archived note there, and the probe, acting as B,
 * counts it; and a SECURITY DEFINER function of that schema hands B A's
 * rows of it (a tenant table of its own schema, not of the checked ones).
 * With a policy that binds the tenant, only a warning remains: its
 * policies are not judged. */
static void test_app_role_reads_guarded_rows_outside(void **state)
{
	static const char plant[] =
		"DROP ROLE IF EXISTS gm_saas_app; CREATE ROLE gm_saas_app;"
		" GRANT USAGE ON SCHEMA auth TO gm_saas_app; GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO gm_saas_app;"
		" CREATE SCHEMA archive; GRANT USAGE ON SCHEMA archive TO gm_saas_app;"
		" CREATE TABLE archive.notes_old (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);"
		" ALTER TABLE archive.notes_old ENABLE ROW LEVEL SECURITY; ALTER TABLE archive.notes_old FORCE ROW LEVEL SECURITY;"
		" GRANT SELECT ON archive.notes_old TO gm_saas_app;"
		" CREATE FUNCTION archive.old_notes_of(t uuid) RETURNS SETOF archive.notes_old LANGUAGE sql STABLE SECURITY DEFINER"
		"  SET search_path = pg_catalog, archive AS 'SELECT * FROM archive.notes_old WHERE tenant_id = t';"
		" INSERT INTO archive.notes_old VALUES ('00000000-0000-0000-0000-0000000000a2',"
		"  '00000000-0000-0000-0000-00000000000a', 'A''s old');";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	sql = gm_xasprintf("%s CREATE POLICY archive_read ON archive.notes_old FOR SELECT USING (true)", plant);
	db = planted(sql);
	free(sql);
	c = pgt_connect(db);
	seed_and_act_as_b(c, NULL, "gm_saas_app");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM archive.notes_old"), 1);
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM archive.old_notes_of('00000000-0000-0000-0000-00000000000a')"), 1);
	pgt_exec(c, "RESET ROLE; DELETE FROM notes; DELETE FROM tenants");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app may reach archive.notes_old, a table with a tenant column in a schema verify"
			     " does not check, whose policies let tenant B read 1 row of other tenants");
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER function archive.old_notes_of(uuid), in a schema"
			     " verify does not check, which touches archive.notes_old as its owner");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);

	/* Rows of no tenant (NULL) are shared ones, as in the checked
	 * schemas: only the policy's judgement is missing. */
	sql = gm_xasprintf("%s CREATE POLICY archive_read ON archive.notes_old FOR SELECT"
			   " USING (tenant_id IS NULL OR tenant_id = auth.uid());"
			   " ALTER TABLE archive.notes_old ALTER COLUMN tenant_id DROP NOT NULL;"
			   " INSERT INTO archive.notes_old VALUES ('00000000-0000-0000-0000-0000000000a3', NULL, 'for all');"
			   " DROP FUNCTION archive.old_notes_of(uuid)", plant);
	db = planted(sql);
	free(sql);
	gm(&out, &err, db, "verify --isolation --app-role gm_saas_app");	/* the grants are drift */
	assert_not_contains(out, "error isolation_role");
	assert_contains(out, "warning isolation_role_unchecked_schema: table archive.notes_old: role gm_saas_app may read this"
			     " table with a tenant column and row level security, in a schema verify does not check");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);
}

/* --app-role: a SECURITY DEFINER procedure in a schema verify does not
 * check, and a function there running SQL built at run time, each hand
 * tenant B tenant A's note (shown as B, through the application role).
 * The procedure is judged as a function is; the other cannot be, and is
 * a warning. */
static void test_app_role_calls_outside_definers(void **state)
{
	char *db, *out, *err, *v;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	db = planted("DROP ROLE IF EXISTS gm_saas_app; CREATE ROLE gm_saas_app;"
		     " GRANT USAGE ON SCHEMA auth TO gm_saas_app;"
		     " GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO gm_saas_app;"
		     " CREATE SCHEMA api; GRANT USAGE ON SCHEMA api TO gm_saas_app;"
		     " CREATE PROCEDURE api.peek(INOUT note uuid, INOUT body text) LANGUAGE plpgsql SECURITY DEFINER"
		     "  SET search_path = pg_catalog AS 'BEGIN SELECT n.body INTO body FROM public.notes n WHERE n.id = note; END';"
		     " CREATE FUNCTION api.peek_dyn(note uuid) RETURNS text LANGUAGE plpgsql SECURITY DEFINER"
		     "  SET search_path = pg_catalog AS 'DECLARE b text; BEGIN"
		     "  EXECUTE ''SELECT body FROM public.notes WHERE id = $1'' INTO b USING note; RETURN b; END'");
	c = pgt_connect(db);
	seed_and_act_as_b(c, NULL, "gm_saas_app");
	pgt_exec(c, "CREATE TEMP TABLE got (body text)");
	pgt_exec(c, "DO $$DECLARE n uuid := '00000000-0000-0000-0000-0000000000a1'; b text;"
		    " BEGIN CALL api.peek(n, b); INSERT INTO got VALUES (b); END$$");
	v = pgt_value(c, "SELECT body FROM got");
	assert_string_equal(v, "A's");
	free(v);
	v = pgt_value(c, "SELECT api.peek_dyn('00000000-0000-0000-0000-0000000000a1')");
	assert_string_equal(v, "A's");
	free(v);
	pgt_exec(c, "RESET ROLE; DELETE FROM notes; DELETE FROM tenants");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER procedure api.peek(uuid,text), in a schema verify does"
			     " not check, which touches public.notes as its owner");
	assert_contains(out, "warning definer_function_not_analysed: function api.peek_dyn(uuid): role gm_saas_app may call"
			     " this SECURITY DEFINER function, in a schema verify does not check, whose body cannot be judged");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);
}

/* --app-role: what the policies call and read must be out of the
 * application role's hands.  A sharing table without RLS of its own that
 * the role may write lets tenant B share tenant A's note with itself
 * (shown as B), and a policy function the role owns it can replace. */
static void test_app_role_controls_what_policies_use(void **state)
{
	static const char grants[] =
		"DROP ROLE IF EXISTS gm_saas_app; CREATE ROLE gm_saas_app;"
		" GRANT USAGE ON SCHEMA auth TO gm_saas_app;"
		" GRANT SELECT, INSERT, UPDATE, DELETE ON notes, note_feed TO gm_saas_app;"
		" GRANT SELECT ON countries, tenants TO gm_saas_app;";
	char *db, *out, *err, *sql;
	PGconn *c;

	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	sql = gm_xasprintf("%s CREATE TABLE note_shares (note_id uuid, grantee uuid);"
			   " GRANT SELECT, INSERT ON note_shares TO gm_saas_app;"
			   " DROP POLICY notes_read ON notes;"
			   " CREATE POLICY notes_read ON notes FOR SELECT USING (tenant_id = auth.uid() OR is_shared"
			   "  OR id IN (SELECT s.note_id FROM note_shares s WHERE s.grantee = auth.uid()))", grants);
	db = planted(sql);
	free(sql);
	c = pgt_connect(db);
	pgt_exec(c, "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A'),"
		    " ('00000000-0000-0000-0000-00000000000b', 'B');"
		    " INSERT INTO notes (id, tenant_id, body) VALUES ('00000000-0000-0000-0000-0000000000a1',"
		    " '00000000-0000-0000-0000-00000000000a', 'A''s');"
		    " SET ROLE gm_saas_app;"
		    " SELECT set_config('request.jwt.claims', '{\"sub\": \"00000000-0000-0000-0000-00000000000b\"}', false)");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 0);
	pgt_exec(c, "INSERT INTO note_shares VALUES ('00000000-0000-0000-0000-0000000000a1',"
		    " '00000000-0000-0000-0000-00000000000b')");
	assert_int_equal(pgt_count(c, "SELECT count(*) FROM notes"), 1);
	pgt_exec(c, "RESET ROLE; TRUNCATE note_shares; DELETE FROM notes; DELETE FROM tenants");
	PQfinish(c);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app may write table public.note_shares, which the policies read and which has no row"
			     " level security");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);

	sql = gm_xasprintf("%s ALTER FUNCTION auth.uid() OWNER TO gm_saas_app", grants);
	db = planted(sql);
	free(sql);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app owns function auth.uid(), which the policies call: it can replace it");
	assert_not_contains(out, "isolation_role_trigger");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);

	/* TRIGGER on a global table: its trigger would run as whoever writes
	 * there (a superuser's migration: up refuses, it_hijack). */
	sql = gm_xasprintf("%s GRANT TRIGGER ON countries TO gm_saas_app", grants);
	db = planted(sql);
	free(sql);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "warning isolation_role_trigger: role gm_saas_app: role gm_saas_app holds TRIGGER on 1 relation it"
			     " does not own (public.countries): a trigger it attaches runs its function as whoever writes there");
	assert_contains(out, "warning trigger_grant: table public.countries grant gm_saas_app:");
	free(out);
	free(err);
	pgt_drop_db(db, NULL);
	free(db);

	/* Tenant rows the role reads in schemas verify does not check: an
	 * owner's view, a materialized view, a copy a trigger would keep; a
	 * caller's view there is fine. */
	sql = gm_xasprintf("%s CREATE SCHEMA api; CREATE VIEW api.notes_all AS SELECT * FROM public.notes;"
			   " CREATE VIEW api.mine WITH (security_invoker = true) AS SELECT * FROM public.notes;"
			   " CREATE FUNCTION api.all_notes() RETURNS SETOF public.notes LANGUAGE sql SECURITY DEFINER"
			   "  SET search_path = pg_catalog AS 'SELECT * FROM public.notes';"
			   " CREATE SCHEMA archive; CREATE TABLE archive.notes_copy (tenant_id uuid, body text);"
			   " CREATE MATERIALIZED VIEW archive.notes_mv AS SELECT * FROM public.notes;"
			   " CREATE TABLE archive.inbox (id uuid, body text); CREATE RULE inbox_copy AS ON INSERT TO archive.inbox"
			   "  DO ALSO UPDATE public.notes SET body = NEW.body WHERE id = NEW.id;"
			   " GRANT USAGE ON SCHEMA api, archive TO gm_saas_app;"
			   " GRANT SELECT ON api.notes_all, api.mine, archive.notes_copy, archive.notes_mv TO gm_saas_app;"
			   " GRANT INSERT ON archive.inbox TO gm_saas_app;"
			   " CREATE FUNCTION archive.body_of(i uuid) RETURNS text LANGUAGE sql"
			   "  SET search_path = pg_catalog AS 'SELECT body FROM public.notes WHERE id = i';"
			   " CREATE FUNCTION api.note_body(i uuid) RETURNS text LANGUAGE sql SECURITY DEFINER"
			   "  SET search_path = pg_catalog AS 'SELECT archive.body_of(i)';"
			   " CREATE VIEW archive.v1 WITH (security_invoker = true) AS SELECT * FROM public.notes;"
			   " CREATE VIEW api.v2 AS SELECT * FROM archive.v1; GRANT SELECT ON api.v2 TO gm_saas_app;"
			   " CREATE DOMAIN archive.known_note AS uuid CHECK (archive.body_of(VALUE) IS NOT NULL);"
			   " CREATE FUNCTION api.note_exists(i uuid) RETURNS boolean LANGUAGE sql SECURITY DEFINER"
			   "  SET search_path = pg_catalog AS 'SELECT i::archive.known_note IS NOT NULL';"
			   " CREATE TABLE archive.log (i uuid, b text);"
			   " CREATE FUNCTION archive.log_fill() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog"
			   "  AS 'BEGIN NEW.b := (SELECT body FROM public.notes WHERE id = NEW.i); RETURN NEW; END';"
			   " CREATE TRIGGER log_fill BEFORE INSERT ON archive.log FOR EACH ROW EXECUTE FUNCTION archive.log_fill();"
			   " CREATE FUNCTION api.log_note(i uuid) RETURNS text LANGUAGE sql SECURITY DEFINER"
			   "  SET search_path = pg_catalog AS 'INSERT INTO archive.log (i) VALUES (i) RETURNING b'",
			   grants);
	db = planted(sql);
	free(sql);
	assert_int_equal(gm(&out, &err, db, "verify --isolation --app-role gm_saas_app"), 1);
	assert_contains(out, "role gm_saas_app may reach api.notes_all, a view that reads a table with row level security"
			     " as its owner, in a schema verify does not check");
	assert_contains(out, "role gm_saas_app may reach archive.notes_copy, a table with a tenant column and no row level"
			     " security");
	assert_contains(out, "role gm_saas_app may reach archive.notes_mv, a materialized view");
	assert_contains(out, "role gm_saas_app may reach archive.inbox, a relation it may write, whose rules run as its owner");
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER function api.all_notes(), in a schema verify does"
			     " not check, which touches public.notes as its owner (SELECT without a WHERE)");
	/* A view over a caller's view over notes reads notes as its owner. */
	assert_contains(out, "role gm_saas_app may reach api.v2, a view that reads a table with row level security as its"
			     " owner, in a schema verify does not check");
	/* What a definer calls runs as its owner too. */
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER function api.note_body(uuid), in a schema verify"
			     " does not check, which touches public.notes as its owner (through archive.body_of(), which it"
			     " calls and which runs as its owner too: SELECT whose WHERE does not bind it to the tenant: id = i)");
	/* So does what its statements run: a domain's check, a trigger. */
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER function api.note_exists(uuid), in a schema verify"
			     " does not check, which touches public.notes as its owner (through the cast to archive.known_note,"
			     " whose function runs as its owner too: through archive.body_of(), which it calls and which runs"
			     " as its owner too: SELECT whose WHERE does not bind it to the tenant: id = i)");
	assert_contains(out, "role gm_saas_app may call SECURITY DEFINER function api.log_note(uuid), in a schema verify"
			     " does not check, which touches public.notes as its owner (through its writes to archive.log,"
			     " whose triggers, defaults and checks run as its owner too: through archive.log_fill(), which it"
			     " calls and which runs as its owner too: SELECT whose WHERE does not bind it to the tenant:"
			     " id = new.i)");
	assert_not_contains(out, "api.mine");
	free(out);
	free(err);
	pgt_drop_db(db, "DROP ROLE gm_saas_app");
	free(db);
}

static void test_each_hole_is_found(void **state)
{
	(void)state;
	PGT_NEEDS_MAJOR(15, "the project's view is security_invoker, new in 15");
	for (size_t k = 0; k < sizeof(holes) / sizeof(holes[0]); k++) {
		char *db = planted(holes[k].sql), *out, *err;
		int rc = gm(&out, &err, db, "verify --isolation");

		if (rc != 1)
			fail_msg("%s: exit %d, expected 1\n%s%s", holes[k].what, rc, out, err);
		if (!strstr(out, holes[k].finding))
			fail_msg("%s: expected '%s' in:\n%s", holes[k].what, holes[k].finding, out);
		if (holes[k].probe && !strstr(out, holes[k].probe))
			fail_msg("%s: expected '%s' in:\n%s", holes[k].what, holes[k].probe, out);
		free(out);
		free(err);
		free(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_version_passes),
		cmocka_unit_test(test_definer_function_taking_the_tenant),
		cmocka_unit_test(test_definer_function_through_a_helper),
		cmocka_unit_test(test_definer_function_inserting_for_any_tenant),
		cmocka_unit_test(test_definer_function_through_an_unchecked_view),
		cmocka_unit_test(test_definer_function_calling_a_procedure),
		cmocka_unit_test(test_definer_function_through_an_operator),
		cmocka_unit_test(test_definer_function_through_a_cast),
		cmocka_unit_test(test_definer_function_through_attribute_notation),
		cmocka_unit_test(test_definer_function_through_a_trigger),
		cmocka_unit_test(test_definer_function_through_what_a_write_reaches),
		cmocka_unit_test(test_definer_function_through_an_outbox),
		cmocka_unit_test(test_definer_function_with_a_quota_trigger),
		cmocka_unit_test(test_tenant_table_inheriting),
		cmocka_unit_test(test_policy_subquery_anchored_elsewhere),
		cmocka_unit_test(test_policy_that_does_not_look_at_the_row),
		cmocka_unit_test(test_policy_membership_on_the_wrong_column),
		cmocka_unit_test(test_cascade_from_a_writable_table),
		cmocka_unit_test(test_policy_link_written_by_a_definer),
		cmocka_unit_test(test_probe_with_a_child_table),
		cmocka_unit_test(test_trigger_notifying_tenant_rows),
		cmocka_unit_test(test_trigger_copying_into_a_global_table),
		cmocka_unit_test(test_unique_index_across_tenants),
		cmocka_unit_test(test_policy_through_a_table_the_tenant_writes),
		cmocka_unit_test(test_leakproof_function),
		cmocka_unit_test(test_policy_with_a_planted_operator),
		cmocka_unit_test(test_truncate_grant),
		cmocka_unit_test(test_app_role_controls_what_policies_use),
		cmocka_unit_test(test_app_role_calls_outside_definers),
		cmocka_unit_test(test_app_role_reads_unguarded_rows_outside),
		cmocka_unit_test(test_app_role_reads_guarded_rows_outside),
		cmocka_unit_test(test_nothing_probed_fails_strict),
		cmocka_unit_test(test_exposed_schema_missing_from_the_snapshot),
		cmocka_unit_test(test_each_hole_is_found),
		cmocka_unit_test(test_read_policy_branch_fails_strict),
	};
	return cmocka_run_group_tests_name("a second project: tenancy from its project file", tests, setup, teardown);
}
