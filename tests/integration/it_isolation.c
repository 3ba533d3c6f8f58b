/* Integration tests: verify --isolation on a real PostgreSQL.  The probe
 * must pass on the project's schema, leave the database exactly as it was,
 * and fail, naming table and command, on each deliberate weakening. */
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

static const char *const tables[] = {
	"custom_agent_orders", "agent_templates", "tool_blueprints", "order_milestones",
	"build_logs", "template_reviews", "project_showcases",
};

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

/* Everything the probe could leave behind: roles, rows, catalog. */
static char *state_of(PGconn *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char *v;
	size_t k;

	v = pgt_value(c, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles");
	gm_strbuf_addf(&sb, "roles=%s\n", v);
	free(v);
	v = pgt_value(c, "SELECT count(*) || '/' || count(*) FROM organizations");
	gm_strbuf_addf(&sb, "organizations=%s\n", v);
	free(v);
	v = pgt_value(c, "SELECT count(*)::text FROM users");
	gm_strbuf_addf(&sb, "users=%s\n", v);
	free(v);
	for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		char *sql = gm_xasprintf("SELECT count(*)::text FROM %s", tables[k]);
		v = pgt_value(c, sql);
		gm_strbuf_addf(&sb, "%s=%s\n", tables[k], v);
		free(v);
		free(sql);
	}
	v = pgt_catalog(c);
	gm_strbuf_adds(&sb, v);
	free(v);
	return gm_strbuf_detach(&sb, NULL);
}

static void test_project_schema_passes_and_leaves_nothing(void **state)
{
	char *db = migrated_db("gm_iso_ok"), *out, *err, *before, *after;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "INSERT INTO organizations (name) VALUES ('Real Org')");
	before = state_of(c);
	assert_int_equal(probe(&out, &err, db, "--junit iso.xml"), 0);
	assert_contains(out, "isolation: 96 checks acting as tenant B: 96 passed, 0 failed, 0 skipped - ok");
	/* Evidence for every table and every command. */
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		static const char *const cmds[] = { "SELECT", "INSERT", "UPDATE", "DELETE" };
		for (size_t j = 0; j < 4; j++) {
			char *line = gm_xasprintf("  ok   %-6s public.%s: ", cmds[j], tables[k]);
			assert_contains(out, line);
			free(line);
		}
	}
	assert_contains(out, "ok   UPDATE public.project_showcases: tenant B cannot update tenant A's rows, public and system ones included (0 rows affected)");
	assert_contains(out, "ok   INSERT public.build_logs: tenant B cannot insert rows under tenant A's public.custom_agent_orders (refused by row level security)");
	assert_not_contains(out, "FAIL");
	free(out);
	free(err);
	out = tfs_read("iso.xml");
	assert_contains(out, "<testsuite name=\"isolation\" tests=\"96\" failures=\"0\" skipped=\"0\">");
	free(out);
	assert_int_equal(remove("iso.xml"), 0);
	after = state_of(c);
	assert_string_equal(before, after);
	free(before);
	free(after);
	PQfinish(c);
	free(db);
}

struct weakening {
	const char *why;
	const char *sql;
	const char *expect[3];	/* lines that must appear */
};

static void test_each_weakening_fails(void **state)
{
	static const struct weakening cases[] = {
		{ "the spec's FOR ALL policy on project_showcases",
		  "DROP POLICY showcase_select ON project_showcases; DROP POLICY showcase_insert ON project_showcases;"
		  "DROP POLICY showcase_update ON project_showcases; DROP POLICY \"showcase_delete\" ON \"project_showcases\";"
		  "CREATE POLICY showcase_access ON project_showcases"
		  "  USING (is_public = true OR organization_id = current_setting('app.current_org_id')::uuid);"
		  "CREATE POLICY showcase_insert ON project_showcases FOR INSERT"
		  "  WITH CHECK (organization_id = current_setting('app.current_org_id')::uuid)",
		  { "FAIL UPDATE public.project_showcases: tenant B cannot update tenant A's rows, public and system ones included (1 row was affected)",
		    "FAIL DELETE public.project_showcases: tenant B cannot delete tenant A's rows",
		    "error isolation_breach: table public.project_showcases: UPDATE" } },
		{ "the spec's policy on agent_templates, with is_system",
		  "DROP POLICY template_select ON agent_templates; DROP POLICY template_insert ON agent_templates;"
		  "DROP POLICY template_update ON agent_templates; DROP POLICY template_delete ON agent_templates;"
		  "CREATE POLICY template_access ON agent_templates USING (is_public = true OR is_system = true"
		  "  OR organization_id = NULLIF(current_setting('app.current_org_id', true), '')::uuid);"
		  "CREATE POLICY template_insert ON agent_templates FOR INSERT"
		  "  WITH CHECK (organization_id = NULLIF(current_setting('app.current_org_id', true), '')::uuid)",
		  { "FAIL UPDATE public.agent_templates: tenant B cannot update tenant A's rows, public and system ones included (2 rows were affected)",
		    "FAIL DELETE public.agent_templates",
		    "error isolation_breach: table public.agent_templates: DELETE" } },
		{ "a milestone policy that forgets the organization",
		  "DROP POLICY milestone_select ON order_milestones;"
		  "CREATE POLICY milestone_select ON order_milestones FOR SELECT USING (order_id IS NOT NULL)",
		  { "FAIL SELECT public.order_milestones: tenant B cannot read tenant A's private rows (1 row was visible)",
		    "FAIL SELECT public.order_milestones: an empty tenant context shows no private row",
		    "error isolation_breach: table public.order_milestones: SELECT" } },
		{ "current_setting() without NULLIF",
		  "DROP POLICY tenant_isolation_orders_select ON custom_agent_orders;"
		  "CREATE POLICY tenant_isolation_orders_select ON custom_agent_orders FOR SELECT"
		  "  USING (organization_id = current_setting('app.current_org_id')::uuid)",
		  { "FAIL SELECT public.custom_agent_orders: an empty tenant context shows no private row and raises no error (it raised an error: invalid input syntax for type uuid: \"\")",
		    "FAIL SELECT public.custom_agent_orders: no tenant context shows no private row and raises no error (it raised an error: unrecognized configuration parameter \"app.current_org_id\")",
		    "error isolation_breach: table public.custom_agent_orders: SELECT" } },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *db = migrated_db("gm_iso_weak"), *out, *err, *before, *after;
		PGconn *c = pgt_connect(db);

		pgt_exec(c, cases[k].sql);
		before = state_of(c);
		if (probe(&out, &err, db, NULL) != 1)
			fail_msg("%s: the probe did not fail:\n%s%s", cases[k].why, out, err);
		for (size_t j = 0; j < 3 && cases[k].expect[j]; j++)
			assert_contains(out, cases[k].expect[j]);
		/* A failing probe leaves the database as it was, too. */
		after = state_of(c);
		assert_string_equal(before, after);
		free(before);
		free(after);
		free(out);
		free(err);
		PQfinish(c);
		free(db);
	}
}

static void test_exists_without_organization_is_still_isolated(void **state)
{
	char *db = migrated_db("gm_iso_exists"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	/* Reading policy text, this looks like a forgotten organization check;
	 * acting as a tenant shows the orders' own RLS still filters the
	 * EXISTS.  The schema diff reports the change; the probe passes. */
	pgt_exec(c, "DROP POLICY milestone_select ON order_milestones;"
		    "CREATE POLICY milestone_select ON order_milestones FOR SELECT"
		    "  USING (EXISTS (SELECT 1 FROM custom_agent_orders o WHERE o.id = order_milestones.order_id))");
	assert_int_equal(probe(&out, &err, db, NULL), 1);
	assert_contains(out, "isolation: 96 checks acting as tenant B: 96 passed, 0 failed, 0 skipped - ok");
	assert_contains(out, "table public.order_milestones policy milestone_select: using differs");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

static void test_as_role_and_app_role(void **state)
{
	char *db = migrated_db("gm_iso_role"), *out, *err, *sql;
	PGconn *c = pgt_connect(db);
	size_t k;

	(void)state;
	/* An application role as it should be: the probe passes as it.  It
	 * may not delete users or organizations, whose deletes cascade into
	 * every tenant's rows (cascade_from_writable_table). */
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_test_app') THEN"
		    " CREATE ROLE gm_test_app NOLOGIN NOBYPASSRLS; END IF; END $$");
	pgt_exec(c, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gm_test_app;"
		    " REVOKE DELETE ON users, organizations FROM gm_test_app");
	/* Grants are schema facts: compare with a snapshot that has them. */
	assert_int_equal(pgt_gm(NULL, NULL, db, "dump -o gm-iso-granted.yaml"), 0);
	assert_int_equal(probe(&out, &err, db, "--snapshot gm-iso-granted.yaml --as-role gm_test_app --app-role gm_test_app"), 0);
	remove("gm-iso-granted.yaml");
	assert_contains(out, "ok   ROLE   -: the application role is subject to row level security (role gm_test_app is neither superuser nor BYPASSRLS, nor a member of such a role)");
	free(out);
	free(err);
	/* A superuser application role is reported. */
	assert_int_equal(probe(&out, &err, db, "--app-role postgres"), 1);
	assert_contains(out, "FAIL ROLE   -: the application role is subject to row level security (role postgres is superuser and bypasses every policy)");
	free(out);
	free(err);

	/* FORCE off while the application role owns the tables. */
	for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		sql = gm_xasprintf("ALTER TABLE %s OWNER TO gm_test_app; ALTER TABLE %s NO FORCE ROW LEVEL SECURITY",
				   tables[k], tables[k]);
		pgt_exec(c, sql);
		free(sql);
	}
	assert_int_equal(probe(&out, &err, db, "--as-role gm_test_app --app-role gm_test_app"), 1);
	assert_contains(out, "FAIL SELECT public.custom_agent_orders: tenant B cannot read tenant A's private rows (1 row was visible)");
	assert_contains(out, "FAIL ALL    public.custom_agent_orders: the application role does not own the table without FORCE ROW LEVEL SECURITY");
	assert_contains(out, "error rls_not_forced: table public.custom_agent_orders");
	free(out);
	free(err);

	for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		sql = gm_xasprintf("ALTER TABLE %s OWNER TO postgres", tables[k]);
		pgt_exec(c, sql);
		free(sql);
	}
	pgt_exec(c, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM gm_test_app");
	PQfinish(c);
	pgt_drop_db(db, "DROP ROLE gm_test_app");
	free(db);

	/* A role that cannot be taken is a clear error, not a pass. */
	db = migrated_db("gm_iso_norole");
	assert_int_equal(probe(&out, &err, db, "--as-role no_such_role"), 7);
	assert_contains(err, "cannot act as role no_such_role");
	free(out);
	free(err);
	free(db);
}

/* A deployer that is no superuser, only CREATEROLE, owning its database
 * and tables: the probe makes its temporary role and, from 16 on, where
 * CREATEROLE grants only the roles it administers, acts through an
 * application role the deployer created (and so administers). */
static void test_createrole_deployer(void **state)
{
	char *db = pgt_create_db("gm_iso_deployer"), *out, *err, *url, *args;
	PGconn *c = pgt_connect("postgres");
	char *sql = gm_xasprintf("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_test_deployer')"
				 " THEN CREATE ROLE gm_test_deployer LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS; END IF; END $$;"
				 "ALTER DATABASE \"%s\" OWNER TO gm_test_deployer", db);

	(void)state;
	pgt_exec(c, sql);
	free(sql);
	PQfinish(c);
	/* On 14, public belongs to the bootstrap superuser, not the
	 * database's owner, and PUBLIC's CREATE on it is revoked (the test
	 * cluster does as 15 does): the deployer is given it. */
	c = pgt_connect(db);
	pgt_exec(c, "GRANT CREATE ON SCHEMA public TO gm_test_deployer");
	PQfinish(c);
	url = gm_xasprintf("dbname=%s user=gm_test_deployer", db);
	args = gm_xasprintf("%s -d '%s' -m '%s/migrations' up", pgt_bin(), url, pgt_root());
	assert_int_equal(pgt_run(NULL, NULL, "%s", args), 0);
	free(args);
	/* Its own application role, with what an application has. */
	c = pgt_connect(db);
	pgt_exec(c, "DROP ROLE IF EXISTS gm_deployer_app; SET ROLE gm_test_deployer; CREATE ROLE gm_deployer_app NOLOGIN;"
		    " GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gm_deployer_app;"
		    " REVOKE DELETE ON users, organizations FROM gm_deployer_app; RESET ROLE");
	PQfinish(c);
	args = gm_xasprintf("%s -d '%s' -m '%s/migrations' verify --isolation --snapshot gm-iso-deployer.yaml", pgt_bin(),
			    url, pgt_root());
	assert_int_equal(pgt_run(NULL, NULL, "%s -d '%s' dump -o gm-iso-deployer.yaml", pgt_bin(), url), 0);
	/* Forced RLS applies to the deployer too, so it cannot seed a system
	 * row (no tenant) and that one check is skipped; none fails. */
	if (pgt_run(&out, &err, "%s", args) != 0)
		fail_msg("verify --isolation as a CREATEROLE deployer:\n%s%s", out, err);
	assert_contains(out, " passed, 0 failed, ");
	free(out);
	free(err);
	free(args);
	args = gm_xasprintf("%s -d '%s' -m '%s/migrations' verify --isolation --snapshot gm-iso-deployer.yaml"
			    " --app-role gm_deployer_app", pgt_bin(), url, pgt_root());
	if (pgt_run(&out, &err, "%s", args) != 0)
		fail_msg("verify --isolation --app-role as a CREATEROLE deployer:\n%s%s", out, err);
	assert_contains(out, "ok   ROLE   -: the application role is subject to row level security");
	assert_contains(out, " passed, 0 failed, ");
	free(out);
	free(err);
	free(args);
	remove("gm-iso-deployer.yaml");
	pgt_drop_db(db, "DROP ROLE gm_deployer_app");
	free(url);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_project_schema_passes_and_leaves_nothing),
		cmocka_unit_test(test_each_weakening_fails),
		cmocka_unit_test(test_exists_without_organization_is_still_isolated),
		cmocka_unit_test(test_as_role_and_app_role),
		cmocka_unit_test(test_createrole_deployer),
	};
	return cmocka_run_group_tests_name("verify --isolation", tests, NULL, NULL);
}
