/* Unit tests: YAML migrations - the reader on good and bad input, the
 * generated SQL, identifier quoting and position mapping.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_strbuf.h"

static struct gm_error *parse(const char *text, struct gm_migration **out)
{
	return gm_migration_parse("0005_x.yaml", "0005_x.yaml", gm_xstrdup(text), strlen(text), out);
}

static struct gm_migration *parse_ok(const char *text)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse(text, &m);

	if (err)
		fail_msg("unexpected error %s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	return m;
}

static void fails(const char *text, unsigned line, unsigned col, const char *what)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse(text, &m);

	if (!err)
		fail_msg("no error for:\n%s", text);
	assert_null(m);
	if (!strstr(err->msg, what) || err->line != line || err->col != col)
		fail_msg("expected %u:%u '%s', got %u:%u '%s'", line, col, what, err->line, err->col, err->msg);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, "0005_x.yaml");
	gm_error_free(err);
}

static void test_enums_generate_and_roll_back(void **state)
{
	struct gm_migration *m = parse_ok(
		"description: levels\n"
		"enums:\n"
		"  Level: [LOW, HIGH]\n"
		"  billing.State: ['it''s', \"a\\\"b\"]\n");

	(void)state;
	assert_string_equal(m->up.sql,
		"CREATE TYPE \"Level\" AS ENUM ('LOW', 'HIGH');\n"
		"CREATE TYPE \"billing\".\"State\" AS ENUM ('it''s', 'a\"b');\n");
	assert_true(m->has_down);
	assert_true(m->transactional);
	assert_string_equal(m->down.sql, "DROP TYPE \"billing\".\"State\";\nDROP TYPE \"Level\";\n");
	assert_int_equal(m->up.stmts.n, 2);
	assert_int_equal(m->down.stmts.n, 2);
	gm_migration_free(m);
}

static void test_rls_generate_and_roll_back(void **state)
{
	struct gm_migration *m = parse_ok(
		"rls:\n"
		"  orders:\n"
		"    enable: true\n"
		"    force: true\n"
		"    policies:\n"
		"      orders_select:\n"
		"        command: select\n"
		"        using: organization_id = (SELECT app_current_org_id())\n"
		"      orders_write:\n"
		"        command: ALL\n"
		"        as: restrictive\n"
		"        roles: [app_user, public]\n"
		"        using: |\n"
		"          organization_id = (SELECT app_current_org_id())\n"
		"        with_check: 'x = '';'''\n");

	(void)state;
	assert_string_equal(m->up.sql,
		"ALTER TABLE \"orders\" ENABLE ROW LEVEL SECURITY;\n"
		"ALTER TABLE \"orders\" FORCE ROW LEVEL SECURITY;\n"
		"CREATE POLICY \"orders_select\" ON \"orders\" FOR SELECT\n"
		"  USING (organization_id = (SELECT app_current_org_id()));\n"
		"CREATE POLICY \"orders_write\" ON \"orders\" AS RESTRICTIVE FOR ALL TO \"app_user\", public\n"
		"  USING (organization_id = (SELECT app_current_org_id()))\n"
		"  WITH CHECK (x = ';');\n");
	assert_string_equal(m->down.sql,
		"DROP POLICY \"orders_write\" ON \"orders\";\n"
		"DROP POLICY \"orders_select\" ON \"orders\";\n"
		"ALTER TABLE \"orders\" NO FORCE ROW LEVEL SECURITY;\n"
		"ALTER TABLE \"orders\" DISABLE ROW LEVEL SECURITY;\n");
	gm_migration_free(m);
}

static void test_raw_up_and_down(void **state)
{
	struct gm_migration *m = parse_ok(
		"transaction: true\n"
		"enums:\n"
		"  Level: [LOW]\n"
		"up: |\n"
		"  CREATE TABLE t (l \"Level\");\n"
		"down: |\n"
		"  DROP TABLE t;\n");

	(void)state;
	assert_string_equal(m->up.sql, "CREATE TYPE \"Level\" AS ENUM ('LOW');\n\nCREATE TABLE t (l \"Level\");\n\n");
	assert_string_equal(m->down.sql, "DROP TABLE t;\n\nDROP TYPE \"Level\";\n");
	gm_migration_free(m);

	/* Raw up without down: not reversible. */
	m = parse_ok("up: CREATE TABLE t (id int)\n");
	assert_false(m->has_down);
	gm_migration_free(m);
	m = parse_ok("transaction: false\nup: CREATE INDEX CONCURRENTLY i ON t (a)\ndown: DROP INDEX i\n");
	assert_false(m->transactional);
	gm_migration_free(m);
}

static void test_identifiers_are_quoted(void **state)
{
	struct gm_migration *m = parse_ok(
		"rls:\n"
		"  'we\"ird':\n"
		"    policies:\n"
		"      'x\"; DROP TABLE users; --':\n"
		"        command: SELECT\n"
		"        roles: ['r\"1']\n"
		"        using: 'true'\n");

	(void)state;
	assert_string_equal(m->up.sql,
		"CREATE POLICY \"x\"\"; DROP TABLE users; --\" ON \"we\"\"ird\" FOR SELECT TO \"r\"\"1\"\n"
		"  USING (true);\n");
	/* Still exactly one statement: nothing else can run. */
	assert_int_equal(m->up.stmts.n, 1);
	gm_migration_free(m);
}

static void test_checksum_covers_up_only(void **state)
{
	const char *a = "description: one\nenums:\n  L: [A, B]\n";
	const char *b = "description: two\nenums:\n  L: [A, B]\ndown: SELECT 1\n";
	const char *c = "enums:\n  L: [B, A]\n";
	const char *crlf = "description: one\r\nenums:\r\n  L: [A, B]\r\n";
	struct gm_migration *ma = parse_ok(a), *mb = parse_ok(b), *mc = parse_ok(c), *md = parse_ok(crlf);
	char expect[GM_CHECKSUM_LEN + 1];

	(void)state;
	assert_string_equal(ma->checksum, mb->checksum);
	assert_string_not_equal(ma->checksum, mc->checksum);
	assert_string_equal(ma->checksum, md->checksum);
	assert_null(gm_checksum(ma->up.sql, ma->up.len, expect));
	assert_string_equal(ma->checksum, expect);
	gm_migration_free(ma);
	gm_migration_free(mb);
	gm_migration_free(mc);
	gm_migration_free(md);
}

static void test_errors(void **state)
{
	(void)state;
	fails("enums:\n  L: [A, B\n", 3, 1, "did not find expected");
	fails("enums:\n\tL: [A]\n", 2, 1, "tab character");
	fails("enums:\n  L: [A]\n  L: [B]\n", 3, 3, "duplicate key 'L'");
	fails("enums:\n  L: [A]\ncolour: red\n", 3, 1, "unknown key 'colour' in a migration");
	fails("enums:\n  - L\n", 2, 3, "enums must be a mapping, not a list");
	fails("rls:\n  t:\n    policies:\n      p:\n        using: 'true'\n", 4, 7, "policy 'p' needs a command");
	fails("rls:\n  t:\n    policies:\n      p:\n        command: TRUNCATE\n        using: 'true'\n", 5, 18,
	      "unknown policy command 'TRUNCATE'");
	fails("enums:\n  L: []\n", 2, 6, "enum 'L' has no labels");
	fails("enums:\n  L: [A, A]\n", 2, 10, "duplicate label 'A'");
	fails("rls:\n  t:\n    enable: yes\n", 3, 13, "enable must be true or false");
	fails("rls:\n  t:\n    policies:\n      p:\n        command: INSERT\n        using: 'true'\n", 6, 16,
	      "an INSERT policy takes with_check, not using");
	fails("rls:\n  t:\n    policies:\n      p:\n        command: SELECT\n        using: true; DROP TABLE users\n", 6, 16,
	      "using must be one SQL expression");
	fails("rls:\n  t:\n    policies:\n      p:\n        command: SELECT\n        using: \"x = 'a\"\n", 6, 16,
	      "unterminated quoted string");
	fails("rls:\n  t:\n    policies:\n      p:\n        command: SELECT\n        usin: x\n", 6, 9, "unknown key 'usin'");
	fails("rls:\n  t: {}\n", 2, 3, "table 't' declares nothing");
	fails("description: nothing\n", 1, 1, "declares nothing");
	fails("[1, 2]\n", 1, 1, "a YAML migration must be a mapping, not a list");
	fails("enums:\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: [A]\n", 2, 3,
	      "longer than 63 bytes");
	fails("up: [1]\n", 1, 5, "up must be a single value");
}

static void test_positions_map_to_nodes(void **state)
{
	struct gm_migration *m = parse_ok(
		"rls:\n"
		"  orders:\n"
		"    policies:\n"
		"      p:\n"
		"        command: SELECT\n"
		"        using: organisation_id = 1\n"
		"up: |\n"
		"  CREATE TABLE a (id int);\n"
		"  CREATE TABLE b (x nope);\n");
	const char *hit;
	unsigned line, col;
	char *src = NULL;

	(void)state;
	/* Inside a plain one-line expression: the exact column. */
	hit = strstr(m->up.sql, "organisation_id");
	gm_migration_locate(m, &m->up, (size_t)(hit - m->up.sql), &line, &col, &src);
	assert_int_equal(line, 6);
	assert_int_equal(col, 16);
	assert_string_equal(src, "        using: organisation_id = 1");
	free(src);
	/* Generated text maps to the node that asked for it: the policy. */
	hit = strstr(m->up.sql, "CREATE POLICY");
	gm_migration_locate(m, &m->up, (size_t)(hit - m->up.sql), &line, &col, NULL);
	assert_int_equal(line, 4);
	assert_int_equal(col, 7);
	/* Inside a literal block: line and column in the file. */
	hit = strstr(m->up.sql, "nope");
	gm_migration_locate(m, &m->up, (size_t)(hit - m->up.sql), &line, &col, NULL);
	assert_int_equal(line, 9);
	assert_int_equal(col, 21);
	gm_migration_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enums_generate_and_roll_back),
		cmocka_unit_test(test_rls_generate_and_roll_back),
		cmocka_unit_test(test_raw_up_and_down),
		cmocka_unit_test(test_identifiers_are_quoted),
		cmocka_unit_test(test_checksum_covers_up_only),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_positions_map_to_nodes),
	};
	return cmocka_run_group_tests_name("YAML migrations", tests, NULL, NULL);
}
