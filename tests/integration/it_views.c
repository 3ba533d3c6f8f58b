/* Integration tests: the isolation probe reads through views and
 * materialized views as tenant B (issue 13): a view that runs as its
 * owner, or a materialized copy, hands B the rows the table's policies
 * keep from it. */
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

static int probe(char **out, char **err, const char *db)
{
	char *args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' --isolation --allow-pending", pgt_root());
	int rc = pgt_gm(out, err, db, args);

	free(args);
	return rc;
}

/* Tenant A's real order, for the materialized view to copy. */
static void add_an_order(PGconn *c)
{
	pgt_exec(c, "INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-00000000000a', 'A');"
		    "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a@example.com');"
		    "INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity,"
		    " agent_config, tools_config, organization_id, created_by_id) VALUES ('A secret', 'd', '{}', 'u',"
		    " 'SIMPLE', '{}', '{}', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000aa')");
}

static void test_leaking_views_fail(void **state)
{
	char *db = pgt_create_db("gm_views"), *out, *err;
	PGconn *c;

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	c = pgt_connect(db);
	add_an_order(c);
	pgt_exec(c, "CREATE VIEW order_overview AS SELECT id, organization_id, title FROM custom_agent_orders;"
		    "CREATE MATERIALIZED VIEW order_stats AS SELECT organization_id, title FROM custom_agent_orders;"
		    "CREATE VIEW order_titles AS SELECT title FROM custom_agent_orders;"
		    "CREATE VIEW orgs AS SELECT id, name FROM organizations");
	assert_int_equal(probe(&out, &err, db), 1);
	assert_contains(out, "FAIL SELECT public.order_overview: tenant B reads no more of other tenants' rows through the"
			     " view than through its table (2 rows of other tenants were visible through it, 0 through"
			     " public.custom_agent_orders)");
	assert_contains(out, "FAIL SELECT public.order_stats: tenant B reads no more of other tenants' rows through the"
			     " view than through its table (1 row of other tenants was visible through it, 0 through"
			     " public.custom_agent_orders)");
	assert_contains(out, "error isolation_breach: view public.order_overview: SELECT");
	assert_contains(out, "error isolation_breach: materialized view public.order_stats: SELECT");
	/* No tenant column: cannot tell, and says so. */
	assert_contains(out, "SKIP SELECT public.order_titles: tenant B reads no more of other tenants' rows through the"
			     " view than through its table (the view shows no tenant column to tell tenants' rows apart)");
	/* A view of a global table is not a tenant matter. */
	assert_not_contains(out, "SELECT public.orgs:");
	/* The fix is security_invoker, which 14 lacks: it is told another. */
	assert_contains(out, pgt_server_major() < 15 ? "fix: PostgreSQL 14 has no security_invoker (15 has)"
						       : "fix: ALTER VIEW ... SET (security_invoker = true)");
	free(out);
	free(err);
	if (pgt_server_major() < 15) {
		print_message("the fix is not tried on PostgreSQL %d: security_invoker views are new in 15\n",
			      pgt_server_major());
		PQfinish(c);
		free(db);
		return;
	}

	/* Fixed: the view runs as its reader, the copy is gone. */
	pgt_exec(c, "ALTER VIEW order_overview SET (security_invoker = true); DROP MATERIALIZED VIEW order_stats;"
		    "DROP VIEW order_titles");
	probe(&out, &err, db);	/* the views are not in the snapshot: not asked here */
	assert_contains(out, "ok   SELECT public.order_overview: tenant B reads no more of other tenants' rows through"
			     " the view than through its table (0 rows of other tenants read through it, 0 through"
			     " public.custom_agent_orders)");
	assert_not_contains(out, "  FAIL ");
	free(out);
	free(err);
	PQfinish(c);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaking_views_fail),
	};
	return cmocka_run_group_tests_name("views under the isolation probe", tests, NULL, NULL);
}
