/* Integration tests: the AI Garage schema the migrations build, and tenant
 * isolation proven by acting as a tenant (a role without BYPASSRLS, tenant
 * context set per transaction), not by reading policy text. */
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

static const char *const tenant_tables[] = {
	"custom_agent_orders", "agent_templates", "tool_blueprints", "order_milestones",
	"build_logs", "template_reviews", "project_showcases",
};
#define NTENANT (sizeof(tenant_tables) / sizeof(tenant_tables[0]))

/* One database with the whole schema for the group. */
static int setup(void **state)
{
	char *db = pgt_create_db("gm_schema"), *out = NULL, *err = NULL;
	int rc = pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s/migrations' up", pgt_bin(), db, pgt_root());

	if (rc != 0) {
		fprintf(stderr, "up failed (%d): %s%s", rc, out, err);
		return -1;
	}
	free(out);
	free(err);
	*state = pgt_connect(db);
	free(db);
	return 0;
}

static int teardown(void **state)
{
	PQfinish(*state);
	return 0;
}

static void expect_sql(PGconn *c, const char *sql, const char *expect)
{
	char *v = pgt_value(c, sql);

	if (!v || strcmp(v, expect) != 0)
		fail_msg("%s\n  expected: %s\n  found:    %s", sql, expect, v ? v : "(null)");
	free(v);
}

static void test_enums_in_order(void **state)
{
	static const char *const enums[][2] = {
		{ "ComplexityLevel", "SIMPLE,MODERATE,COMPLEX,ENTERPRISE" },
		{ "OrderStatus", "DRAFT,SUBMITTED,IN_REVIEW,APPROVED,IN_PROGRESS,TESTING,COMPLETED,DELIVERED,CANCELLED,REJECTED" },
		{ "OrderPriority", "LOW,NORMAL,HIGH,URGENT" },
		{ "AgentCategory", "SALES,SUPPORT,ANALYSIS,CONTENT,AUTOMATION,RESEARCH" },
		{ "ToolCategory", "AUTOMATION,ANALYTICS,INTEGRATION,UI,API,WORKFLOW" },
		{ "LogLevel", "DEBUG,INFO,WARN,ERROR" },
		{ "ShowcaseCategory", "AI_AGENT,AUTOMATION_TOOL,INTEGRATION,WORKFLOW,CUSTOM_SOLUTION" },
	};
	PGconn *c = *state;
	size_t k;

	expect_sql(c, "SELECT count(*) FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace", "7");
	for (k = 0; k < sizeof(enums) / sizeof(enums[0]); k++) {
		char *sql = gm_xasprintf("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum"
					 " WHERE enumtypid = 'public.\"%s\"'::regtype", enums[k][0]);
		expect_sql(c, sql, enums[k][1]);
		free(sql);
	}
}

static void test_columns_types_and_nullability(void **state)
{
	PGconn *c = *state;

	/* Every NOT NULL the Prisma models imply, including those the spec's
	 * raw SQL forgot. */
	expect_sql(c,
		"SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)"
		" FROM information_schema.columns WHERE table_schema = 'public'"
		" AND table_name = 'custom_agent_orders' AND is_nullable = 'YES'",
		"estimated_hours integer, estimated_cost numeric, submitted_at timestamp with time zone, "
		"started_at timestamp with time zone, completed_at timestamp with time zone, "
		"delivered_at timestamp with time zone, current_stage character varying, assigned_to_id uuid");
	expect_sql(c,
		"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'agent_templates' AND is_nullable = 'YES'",
		"avatar,rating,organization_id,created_by_id");
	expect_sql(c,
		"SELECT count(*) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'tool_blueprints' AND is_nullable = 'YES'",
		"0");
	expect_sql(c,
		"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'order_milestones' AND is_nullable = 'YES'",
		"description,due_date,completed_at");
	expect_sql(c,
		"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'build_logs' AND is_nullable = 'YES'",
		"details");
	expect_sql(c,
		"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'template_reviews' AND is_nullable = 'YES'",
		"review");
	expect_sql(c,
		"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
		" WHERE table_schema = 'public' AND table_name = 'project_showcases' AND is_nullable = 'YES'",
		"image_url,demo_url");
	/* The spec's SQL types. */
	expect_sql(c,
		"SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
		" WHERE attrelid = 'custom_agent_orders'::regclass AND attname = 'estimated_cost'",
		"numeric(12,2)");
	expect_sql(c,
		"SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
		" WHERE attrelid = 'agent_templates'::regclass AND attname = 'tags'",
		"text[]");
	expect_sql(c,
		"SELECT column_default FROM information_schema.columns"
		" WHERE table_name = 'custom_agent_orders' AND column_name = 'status'",
		"'DRAFT'::\"OrderStatus\"");
}

static void test_indexes_by_spec_name(void **state)
{
	static const char *const names[] = {
		"idx_orders_organization_id", "idx_orders_created_by_id", "idx_orders_assigned_to_id",
		"idx_orders_status", "idx_orders_complexity", "idx_orders_created_at",
		"idx_templates_organization_id", "idx_templates_created_by_id", "idx_templates_category",
		"idx_templates_is_public", "idx_templates_is_system",
		"idx_blueprints_organization_id", "idx_blueprints_created_by_id", "idx_blueprints_category",
		"idx_blueprints_is_public",
		"idx_milestones_order_id", "idx_milestones_stage",
		"idx_logs_order_id", "idx_logs_log_level", "idx_logs_created_at",
		"idx_reviews_template_id", "idx_reviews_organization_id",
		"idx_showcases_organization_id", "idx_showcases_created_by_id", "idx_showcases_category",
		"idx_showcases_is_public", "idx_showcases_is_featured",
	};
	PGconn *c = *state;
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		char *sql = gm_xasprintf("SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('public.%s')", names[k]);
		expect_sql(c, sql, "true");
		free(sql);
	}
	expect_sql(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'template_reviews'::regclass AND contype = 'u'", "1");
	expect_sql(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'u'", "1");
}

static void test_foreign_keys_and_actions(void **state)
{
	PGconn *c = *state;

	/* confdeltype: c = cascade, n = set null. */
	expect_sql(c,
		"SELECT string_agg(conrelid::regclass::text || '.' || a.attname || '->' || confrelid::regclass::text || ':' || confdeltype::text, ' '"
		" ORDER BY conrelid::regclass::text, a.attname)"
		" FROM pg_constraint JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = conkey[1]"
		" WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
		"agent_templates.created_by_id->users:n agent_templates.organization_id->organizations:c "
		"build_logs.order_id->custom_agent_orders:c "
		"custom_agent_orders.assigned_to_id->users:n custom_agent_orders.created_by_id->users:c "
		"custom_agent_orders.organization_id->organizations:c "
		"order_milestones.order_id->custom_agent_orders:c "
		"project_showcases.created_by_id->users:c project_showcases.organization_id->organizations:c "
		"template_reviews.organization_id->organizations:c template_reviews.reviewer_id->users:c "
		"template_reviews.template_id->agent_templates:c "
		"tool_blueprints.created_by_id->users:c tool_blueprints.organization_id->organizations:c");
}

static void test_rls_enabled_and_forced(void **state)
{
	PGconn *c = *state;
	size_t k;

	for (k = 0; k < NTENANT; k++) {
		char *sql = gm_xasprintf("SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class"
					 " WHERE oid = 'public.%s'::regclass", tenant_tables[k]);
		expect_sql(c, sql, "truetrue");
		free(sql);
		/* One permissive policy per command. */
		sql = gm_xasprintf("SELECT string_agg(cmd, ',' ORDER BY cmd) FROM pg_policies"
				   " WHERE tablename = '%s' AND permissive = 'PERMISSIVE'", tenant_tables[k]);
		expect_sql(c, sql, "DELETE,INSERT,SELECT,UPDATE");
		free(sql);
	}
	/* No policy calls the one-argument current_setting, which errors when
	 * the tenant is unset. */
	expect_sql(c, "SELECT count(*) FROM pg_policies WHERE coalesce(qual, '') || coalesce(with_check, '') LIKE '%current_setting%'", "0");
}

static void test_checks_triggers_and_context(void **state)
{
	PGconn *c = *state;
	char *s;

	pgt_exec(c, "BEGIN");
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', 'Check Org')");
	pgt_exec(c, "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000b1', 'check@example.com')");
	pgt_exec(c, "SAVEPOINT s");
	s = pgt_error_state(c,
		"INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		" agent_config, tools_config, organization_id, created_by_id, progress) VALUES"
		" ('t', 'd', '{}', 'u', 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-0000000000a1',"
		" '00000000-0000-0000-0000-0000000000b1', 101)");
	assert_string_equal(s, "23514");	/* check_violation: progress 0-100 */
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	s = pgt_error_state(c,
		"INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		" agent_config, tools_config, organization_id, created_by_id, status) VALUES"
		" ('t', 'd', '{}', 'u', 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-0000000000a1',"
		" '00000000-0000-0000-0000-0000000000b1', NULL)");
	assert_string_equal(s, "23502");	/* not_null_violation: status */
	free(s);
	pgt_exec(c, "ROLLBACK");

	/* updated_at follows every UPDATE, whoever writes. */
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-0000000000a2', 'Trigger Org')");
	pgt_exec(c, "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000b2', 'trigger@example.com')");
	pgt_exec(c, "INSERT INTO project_showcases (id, title, description, category, organization_id, created_by_id,"
		    " updated_at) VALUES ('00000000-0000-0000-0000-0000000000c2', 't', 'd', 'AI_AGENT',"
		    " '00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000b2', '2000-01-01')");
	pgt_exec(c, "UPDATE project_showcases SET title = 'new' WHERE id = '00000000-0000-0000-0000-0000000000c2'");
	expect_sql(c, "SELECT (updated_at > '2001-01-01')::text FROM project_showcases WHERE id = '00000000-0000-0000-0000-0000000000c2'", "true");
	pgt_exec(c, "DELETE FROM organizations WHERE id = '00000000-0000-0000-0000-0000000000a2'");
	expect_sql(c, "SELECT count(*) FROM project_showcases WHERE id = '00000000-0000-0000-0000-0000000000c2'", "0");
	pgt_exec(c, "DELETE FROM users WHERE id = '00000000-0000-0000-0000-0000000000b2'");

	/* The tenant helper: unset and '' are NULL, never an error. */
	pgt_exec(c, "BEGIN");
	expect_sql(c, "SELECT coalesce(app_current_org_id()::text, 'null')", "null");
	pgt_exec(c, "SELECT set_config('app.current_org_id', '', true)");
	expect_sql(c, "SELECT coalesce(app_current_org_id()::text, 'null')", "null");
	pgt_exec(c, "SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-0000000000a1', true)");
	expect_sql(c, "SELECT app_current_org_id()::text", "00000000-0000-0000-0000-0000000000a1");
	pgt_exec(c, "ROLLBACK");
}

/* ---- tenant isolation, acting as a tenant ---- */

#define ORG_A "'00000000-0000-0000-0000-00000000000a'"
#define ORG_B "'00000000-0000-0000-0000-00000000000b'"

static const char fixtures[] =
	"INSERT INTO organizations (id, name) VALUES (" ORG_A ", 'Tenant A'), (" ORG_B ", 'Tenant B');"
	"INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a@example.com'),"
	"  ('00000000-0000-0000-0000-0000000000bb', 'b@example.com');"
	"INSERT INTO custom_agent_orders (id, title, description, requirements, use_case, complexity,"
	"  agent_config, tools_config, organization_id, created_by_id) VALUES"
	"  ('00000000-0000-0000-0000-000000000a01', 'A order', 'd', '{}', 'u', 'SIMPLE', '{}', '{}', " ORG_A ","
	"   '00000000-0000-0000-0000-0000000000aa'),"
	"  ('00000000-0000-0000-0000-000000000b01', 'B order', 'd', '{}', 'u', 'SIMPLE', '{}', '{}', " ORG_B ","
	"   '00000000-0000-0000-0000-0000000000bb');"
	"INSERT INTO order_milestones (order_id, name, stage) VALUES ('00000000-0000-0000-0000-000000000a01', 'A m', 's');"
	"INSERT INTO build_logs (order_id, stage, message) VALUES ('00000000-0000-0000-0000-000000000a01', 's', 'A log');"
	"INSERT INTO agent_templates (id, name, description, category, personality_config, model_config,"
	"  tools_config, memory_config, is_public, is_system, organization_id) VALUES"
	"  ('00000000-0000-0000-0000-000000000a02', 'A private', 'd', 'SALES', '{}', '{}', '{}', '{}', false, false, " ORG_A "),"
	"  ('00000000-0000-0000-0000-000000000a03', 'A public', 'd', 'SALES', '{}', '{}', '{}', '{}', true, false, " ORG_A "),"
	"  ('00000000-0000-0000-0000-000000000c03', 'System', 'd', 'SALES', '{}', '{}', '{}', '{}', false, true, NULL);"
	"INSERT INTO template_reviews (template_id, rating, organization_id, reviewer_id) VALUES"
	"  ('00000000-0000-0000-0000-000000000a03', 5, " ORG_A ", '00000000-0000-0000-0000-0000000000aa');"
	"INSERT INTO tool_blueprints (name, description, category, components, connections, configuration,"
	"  complexity, organization_id, created_by_id, is_public) VALUES"
	"  ('A private bp', 'd', 'UI', '{}', '{}', '{}', 'SIMPLE', " ORG_A ", '00000000-0000-0000-0000-0000000000aa', false),"
	"  ('A public bp', 'd', 'UI', '{}', '{}', '{}', 'SIMPLE', " ORG_A ", '00000000-0000-0000-0000-0000000000aa', true);"
	"INSERT INTO project_showcases (id, title, description, category, organization_id, created_by_id, is_public) VALUES"
	"  ('00000000-0000-0000-0000-000000000a04', 'A private', 'd', 'AI_AGENT', " ORG_A ", '00000000-0000-0000-0000-0000000000aa', false),"
	"  ('00000000-0000-0000-0000-000000000a05', 'A public', 'd', 'AI_AGENT', " ORG_A ", '00000000-0000-0000-0000-0000000000aa', true);";

/* Opens a transaction acting as the application role with tenant org (or
 * NULL for no tenant context at all). */
static void as_tenant(PGconn *c, const char *org)
{
	pgt_exec(c, "BEGIN");
	pgt_exec(c, "SET LOCAL ROLE gm_test_app");
	if (org) {
		char *sql = gm_xasprintf("SELECT set_config('app.current_org_id', %s, true)", org);
		pgt_exec(c, sql);
		free(sql);
	}
}

static int isolation_setup(void **state)
{
	PGconn *c;

	if (setup(state))
		return -1;
	c = *state;
	pgt_exec(c, "BEGIN");
	pgt_exec(c, fixtures);
	/* An application role as a real app would have it: no superuser, no
	 * BYPASSRLS, plain table privileges. */
	pgt_exec(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gm_test_app') THEN"
		    " CREATE ROLE gm_test_app NOLOGIN NOBYPASSRLS; END IF; END $$");
	pgt_exec(c, "GRANT USAGE ON SCHEMA public TO gm_test_app");
	pgt_exec(c, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gm_test_app");
	pgt_exec(c, "COMMIT");
	return 0;
}

static int isolation_teardown(void **state)
{
	PGconn *c = *state;

	pgt_exec(c, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM gm_test_app");
	pgt_exec(c, "REVOKE ALL ON SCHEMA public FROM gm_test_app");
	pgt_exec(c, "DROP ROLE gm_test_app");
	return teardown(state);
}

static void test_tenant_b_cannot_see_a(void **state)
{
	PGconn *c = *state;
	size_t k;

	as_tenant(c, ORG_B);
	expect_sql(c, "SELECT count(*) FROM custom_agent_orders WHERE organization_id = " ORG_A, "0");
	expect_sql(c, "SELECT count(*) FROM custom_agent_orders", "1");	/* its own */
	expect_sql(c, "SELECT count(*) FROM order_milestones", "0");
	expect_sql(c, "SELECT count(*) FROM build_logs", "0");
	expect_sql(c, "SELECT count(*) FROM template_reviews", "0");
	expect_sql(c, "SELECT string_agg(name, ',') FROM tool_blueprints", "A public bp");
	/* Shared rows stay readable: public and system templates, public
	 * showcases and blueprints. */
	expect_sql(c, "SELECT string_agg(name, ',' ORDER BY name) FROM agent_templates", "A public,System");
	expect_sql(c, "SELECT string_agg(title, ',') FROM project_showcases", "A public");
	pgt_exec(c, "ROLLBACK");

	/* No tenant context, or an empty one: nothing private, and no error. */
	for (k = 0; k < 2; k++) {
		as_tenant(c, k == 0 ? NULL : "''");
		expect_sql(c, "SELECT count(*) FROM custom_agent_orders", "0");
		expect_sql(c, "SELECT count(*) FROM order_milestones", "0");
		expect_sql(c, "SELECT string_agg(name, ',' ORDER BY name) FROM agent_templates", "A public,System");
		expect_sql(c, "SELECT string_agg(title, ',') FROM project_showcases", "A public");
		pgt_exec(c, "ROLLBACK");
	}
}

static void test_tenant_b_cannot_write_a(void **state)
{
	PGconn *c = *state;
	char *s;

	as_tenant(c, ORG_B);
	/* The spec's hole: FOR ALL USING (is_public OR ...) let B change A's
	 * public rows.  Now: zero rows touched. */
	expect_sql(c, "WITH u AS (UPDATE project_showcases SET title = 'pwned' WHERE id = '00000000-0000-0000-0000-000000000a05' RETURNING 1) SELECT count(*) FROM u", "0");
	expect_sql(c, "WITH d AS (DELETE FROM project_showcases WHERE id = '00000000-0000-0000-0000-000000000a05' RETURNING 1) SELECT count(*) FROM d", "0");
	expect_sql(c, "WITH u AS (UPDATE agent_templates SET name = 'pwned' WHERE id = '00000000-0000-0000-0000-000000000a03' RETURNING 1) SELECT count(*) FROM u", "0");
	expect_sql(c, "WITH d AS (DELETE FROM agent_templates WHERE id = '00000000-0000-0000-0000-000000000a03' RETURNING 1) SELECT count(*) FROM d", "0");
	expect_sql(c, "WITH u AS (UPDATE agent_templates SET name = 'pwned' WHERE is_system RETURNING 1) SELECT count(*) FROM u", "0");
	expect_sql(c, "WITH u AS (UPDATE custom_agent_orders SET title = 'pwned' WHERE organization_id = " ORG_A " RETURNING 1) SELECT count(*) FROM u", "0");
	expect_sql(c, "WITH d AS (DELETE FROM order_milestones RETURNING 1) SELECT count(*) FROM d", "0");
	expect_sql(c, "WITH d AS (DELETE FROM build_logs RETURNING 1) SELECT count(*) FROM d", "0");
	expect_sql(c, "WITH d AS (DELETE FROM template_reviews RETURNING 1) SELECT count(*) FROM d", "0");
	expect_sql(c, "WITH u AS (UPDATE tool_blueprints SET name = 'pwned' RETURNING 1) SELECT count(*) FROM u", "0");
	pgt_exec(c, "SAVEPOINT s");
	/* Cannot create rows for A, nor children of A's rows. */
	s = pgt_error_state(c, "INSERT INTO project_showcases (title, description, category, organization_id, created_by_id)"
			       " VALUES ('x', 'd', 'AI_AGENT', " ORG_A ", '00000000-0000-0000-0000-0000000000bb')");
	assert_string_equal(s, "42501");
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	s = pgt_error_state(c, "INSERT INTO build_logs (order_id, stage, message) VALUES ('00000000-0000-0000-0000-000000000a01', 's', 'x')");
	assert_string_equal(s, "42501");
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	s = pgt_error_state(c, "INSERT INTO template_reviews (template_id, rating, organization_id, reviewer_id)"
			       " VALUES ('00000000-0000-0000-0000-000000000a02', 1, " ORG_B ", '00000000-0000-0000-0000-0000000000bb')");
	assert_string_equal(s, "42501");	/* A's private template */
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	/* Cannot pass its own row to A, nor mint a system template. */
	s = pgt_error_state(c, "UPDATE custom_agent_orders SET organization_id = " ORG_A " WHERE organization_id = " ORG_B);
	assert_string_equal(s, "42501");
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	s = pgt_error_state(c, "INSERT INTO agent_templates (name, description, category, personality_config, model_config,"
			       " tools_config, memory_config, is_system, organization_id) VALUES"
			       " ('x', 'd', 'SALES', '{}', '{}', '{}', '{}', true, " ORG_B ")");
	assert_string_equal(s, "42501");
	free(s);
	pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
	/* B still works on its own rows and may review A's public template. */
	expect_sql(c, "WITH u AS (UPDATE custom_agent_orders SET progress = 50 RETURNING 1) SELECT count(*) FROM u", "1");
	pgt_exec(c, "INSERT INTO template_reviews (template_id, rating, organization_id, reviewer_id)"
		    " VALUES ('00000000-0000-0000-0000-000000000a03', 4, " ORG_B ", '00000000-0000-0000-0000-0000000000bb')");
	pgt_exec(c, "ROLLBACK");

	/* As the connecting (superuser) role: A's rows are as they were. */
	expect_sql(c, "SELECT string_agg(title, ',' ORDER BY title) FROM project_showcases WHERE organization_id = " ORG_A,
		     "A private,A public");
	expect_sql(c, "SELECT string_agg(name, ',' ORDER BY name) FROM agent_templates", "A private,A public,System");
	expect_sql(c, "SELECT count(*) FROM build_logs", "1");
}

/* Every table, UPDATE and DELETE: as B, none of A's rows (found as the
 * superuser first) can be touched, whatever WHERE clause B writes. */
static void test_tenant_b_cannot_touch_any_a_row(void **state)
{
	static const char *const a_rows[][2] = {
		{ "custom_agent_orders", "organization_id = " ORG_A },
		{ "agent_templates", "organization_id = " ORG_A " OR is_system" },
		{ "tool_blueprints", "organization_id = " ORG_A },
		{ "order_milestones", "order_id = '00000000-0000-0000-0000-000000000a01'" },
		{ "build_logs", "order_id = '00000000-0000-0000-0000-000000000a01'" },
		{ "template_reviews", "organization_id = " ORG_A },
		{ "project_showcases", "organization_id = " ORG_A },
	};
	PGconn *c = *state;
	size_t k;

	for (k = 0; k < NTENANT; k++) {
		char *sql = gm_xasprintf("SELECT array_agg(id)::text FROM %s WHERE %s", a_rows[k][0], a_rows[k][1]);
		char *ids = pgt_value(c, sql), *upd, *del;

		assert_non_null(ids);	/* A has rows in every table */
		upd = gm_xasprintf("WITH u AS (UPDATE %s SET id = id WHERE id = ANY ('%s'::uuid[]) RETURNING 1)"
				   " SELECT count(*) FROM u", a_rows[k][0], ids);
		del = gm_xasprintf("WITH d AS (DELETE FROM %s WHERE id = ANY ('%s'::uuid[]) RETURNING 1)"
				   " SELECT count(*) FROM d", a_rows[k][0], ids);
		as_tenant(c, ORG_B);
		expect_sql(c, upd, "0");
		expect_sql(c, del, "0");
		pgt_exec(c, "ROLLBACK");
		free(sql);
		free(ids);
		free(upd);
		free(del);
	}
	/* INSERT for A, in the tables the write test above does not cover. */
	as_tenant(c, ORG_B);
	pgt_exec(c, "SAVEPOINT s");
	{
		static const char *const inserts[] = {
			"INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
			" agent_config, tools_config, organization_id, created_by_id) VALUES ('x', 'd', '{}', 'u',"
			" 'SIMPLE', '{}', '{}', " ORG_A ", '00000000-0000-0000-0000-0000000000bb')",
			"INSERT INTO tool_blueprints (name, description, category, components, connections, configuration,"
			" complexity, organization_id, created_by_id) VALUES ('x', 'd', 'UI', '{}', '{}', '{}', 'SIMPLE', "
			ORG_A ", '00000000-0000-0000-0000-0000000000bb')",
			"INSERT INTO order_milestones (order_id, name, stage) VALUES ('00000000-0000-0000-0000-000000000a01', 'x', 's')",
		};
		for (k = 0; k < sizeof(inserts) / sizeof(inserts[0]); k++) {
			char *st = pgt_error_state(c, inserts[k]);
			assert_string_equal(st, "42501");
			free(st);
			pgt_exec(c, "ROLLBACK TO SAVEPOINT s");
		}
	}
	pgt_exec(c, "ROLLBACK");
}

int main(void)
{
	const struct CMUnitTest schema[] = {
		cmocka_unit_test(test_enums_in_order),
		cmocka_unit_test(test_columns_types_and_nullability),
		cmocka_unit_test(test_indexes_by_spec_name),
		cmocka_unit_test(test_foreign_keys_and_actions),
		cmocka_unit_test(test_rls_enabled_and_forced),
		cmocka_unit_test(test_checks_triggers_and_context),
	};
	const struct CMUnitTest isolation[] = {
		cmocka_unit_test(test_tenant_b_cannot_see_a),
		cmocka_unit_test(test_tenant_b_cannot_write_a),
		cmocka_unit_test(test_tenant_b_cannot_touch_any_a_row),
	};
	int failed = cmocka_run_group_tests_name("AI Garage schema", schema, setup, teardown);

	failed += cmocka_run_group_tests_name("tenant isolation", isolation, isolation_setup, isolation_teardown);
	return failed;
}
