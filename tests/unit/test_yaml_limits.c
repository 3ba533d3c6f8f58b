/* Unit tests: hostile YAML - alias amplification, deep nesting, anchors
 * and text past the limits of gm_yamllimits.h, each an error at the node
 * or alias that crossed the limit; literals that mean the same under either
 * standard_conforming_strings; the snapshot reader on the same bombs.
 * The bombs are built in memory.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_model.h"
#include "gm_strbuf.h"
#include "gm_yamllimits.h"
#include "testfs.h"

static struct gm_error *parse(const char *text, size_t len, struct gm_migration **out)
{
	char *copy = gm_xmalloc(len + 1);

	memcpy(copy, text, len);
	copy[len] = '\0';
	return gm_migration_parse("0007_x.yaml", "0007_x.yaml", copy, len, out);
}

/* 1-based line and column of the first byte of needle in text (ASCII). */
static void position_of(const char *text, const char *needle, unsigned *line, unsigned *col)
{
	const char *hit = strstr(text, needle), *p;

	if (!hit)
		fail_msg("'%s' not in the test input", needle);
	*line = 1;
	*col = 1;
	for (p = text; p < hit; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The file fails with what at line:col. */
static void fails_at_len(const char *text, size_t len, unsigned line, unsigned col, const char *what)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse(text, len, &m);

	if (!err)
		fail_msg("no error for a %zu-byte file expecting '%s'", len, what);
	assert_null(m);
	if (!strstr(err->msg, what) || err->line != line || err->col != col)
		fail_msg("expected %u:%u '%s', got %u:%u '%s'", line, col, what, err->line, err->col, err->msg);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, "0007_x.yaml");
	gm_error_free(err);
}

static void fails_at(const char *text, unsigned line, unsigned col, const char *what)
{
	fails_at_len(text, strlen(text), line, col, what);
}

/* The file fails with what at the first occurrence of needle. */
static void fails_at_text(const char *text, const char *needle, const char *what)
{
	unsigned line, col;

	position_of(text, needle, &line, &col);
	fails_at(text, line, col, what);
}

static struct gm_migration *parse_ok(const char *text)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = parse(text, strlen(text), &m);

	if (err)
		fail_msg("unexpected error %u:%u: %s", err->line, err->col, err->msg);
	return m;
}

/* ---- alias amplification ---- */

/* The shape from the report: one anchored table of policies, each policy
 * the same anchored one with many roles, the table referenced again and
 * again.  12 KB that expanded to some 500 MB of SQL. */
static char *alias_bomb(int roles, int policies, int tables)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	gm_strbuf_adds(&sb, "rls:\n  t0: &T\n    policies:\n      p0: &P {command: SELECT, roles: [");
	for (k = 0; k < roles; k++)
		gm_strbuf_addf(&sb, "%sr%d_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", k ? ", " : "", k);
	gm_strbuf_adds(&sb, "], using: \"true\"}\n");
	for (k = 1; k < policies; k++)
		gm_strbuf_addf(&sb, "      p%d: *P\n", k);
	for (k = 1; k < tables; k++)
		gm_strbuf_addf(&sb, "  t%d: *T\n", k);
	return gm_strbuf_detach(&sb, NULL);
}

static void test_alias_amplification(void **state)
{
	/* P weighs 67 nodes (60 of them roles), so t0 some 400 * 68 = 27,200:
	 * the third alias, table t3, crosses 100,000. */
	char *bomb = alias_bomb(60, 400, 400);

	(void)state;
	fails_at_text(bomb, "*T\n  t4", "alias '*T' expands the migration past 100000 nodes");
	free(bomb);
}

static void test_aliases_within_limits_still_work(void **state)
{
	struct gm_migration *m = parse_ok(
		"rls:\n"
		"  a: &rls\n"
		"    enable: true\n"
		"    policies:\n"
		"      tenant_select: &select\n"
		"        command: SELECT\n"
		"        roles: &roles [app_user]\n"
		"        using: organization_id = (SELECT app_current_org_id())\n"
		"  b: *rls\n");

	(void)state;
	assert_string_equal(m->up.sql,
		"ALTER TABLE \"a\" ENABLE ROW LEVEL SECURITY;\n"
		"CREATE POLICY \"tenant_select\" ON \"a\" FOR SELECT TO \"app_user\"\n"
		"  USING (organization_id = (SELECT app_current_org_id()));\n"
		"ALTER TABLE \"b\" ENABLE ROW LEVEL SECURITY;\n"
		"CREATE POLICY \"tenant_select\" ON \"b\" FOR SELECT TO \"app_user\"\n"
		"  USING (organization_id = (SELECT app_current_org_id()));\n");
	gm_migration_free(m);
}

/* Classic "billion laughs" under a key the migration does not know: the
 * limit holds wherever the alias is, before any key is looked at. */
static void test_nested_aliases_anywhere(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k, j;

	(void)state;
	gm_strbuf_adds(&sb, "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (k = 1; k < 9; k++) {
		gm_strbuf_addf(&sb, "x%d: &a%d [", k, k);
		for (j = 0; j < 10; j++)
			gm_strbuf_addf(&sb, "%s*a%d", j ? ", " : "", k - 1);
		gm_strbuf_adds(&sb, "]\n");
	}
	/* x4's items weigh 11,111 each: its ninth alias passes 100,000. */
	fails_at(sb.buf, 5, 45, "alias '*a3' expands the migration past 100000 nodes");
	gm_strbuf_release(&sb);
}

/* An alias as a mapping key weighs what it repeats too. */
static void test_mapping_key_alias(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	(void)state;
	gm_strbuf_adds(&sb, "description: &L [");
	for (k = 0; k < 1000; k++)
		gm_strbuf_adds(&sb, k ? ", a" : "a");
	gm_strbuf_adds(&sb, "]\nup: &K [");
	for (k = 0; k < 60; k++)
		gm_strbuf_adds(&sb, k ? ", *L" : "*L");
	gm_strbuf_adds(&sb, "]\nrls:\n  *K : x\n");
	fails_at_text(sb.buf, "*K : x", "alias '*K' expands the migration past 100000 nodes");
	gm_strbuf_release(&sb);
}

static void test_alias_to_its_own_node(void **state)
{
	(void)state;
	fails_at("rls: &r\n  t: *r\n", 2, 6, "alias '*r' refers to a node that contains it");
	fails_at("enums:\n  E: &e [A, *e]\n", 2, 13, "alias '*e' refers to a node that contains it");
}

static void test_alias_past_the_text_limit(void **state)
{
	size_t big = 1u << 20, k, n = GM_YAML_MAX_TEXT / big + 1;
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char *value = gm_xmalloc(big + 1);
	unsigned line;

	(void)state;
	memset(value, 'x', big);
	value[big] = '\0';
	gm_strbuf_addf(&sb, "description: &U %s\nx:\n", value);
	for (k = 1; k <= n; k++)
		gm_strbuf_adds(&sb, "  - *U\n");
	/* The anchor and the keys (description, x) are 1 MiB and 12 bytes,
	 * so the 15th alias passes 16 MiB, on line 2 + 15. */
	line = 2 + (unsigned)(GM_YAML_MAX_TEXT / big) - 1;
	fails_at(sb.buf, line, 5, "alias '*U' expands the migration past 16 MiB of text");
	gm_strbuf_release(&sb);
	free(value);
}

static void test_too_many_anchors(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	(void)state;
	gm_strbuf_adds(&sb, "enums:\n  E: [");
	for (k = 0; k <= GM_YAML_MAX_ANCHORS; k++)
		gm_strbuf_addf(&sb, "%s&a%d l%d", k ? ", " : "", k, k);
	gm_strbuf_adds(&sb, "]\n");
	fails_at_text(sb.buf, "&a100 ", "more than 100 anchors");
	gm_strbuf_release(&sb);
}

/* The limits count every node, aliased or not. */
static void test_big_files_without_aliases(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t k, big = GM_YAML_MAX_TEXT + 1;
	char *text;

	(void)state;
	gm_strbuf_adds(&sb, "enums:\n  E: [");
	for (k = 0; k < GM_YAML_MAX_NODES; k++)
		gm_strbuf_adds(&sb, "a, ");
	gm_strbuf_adds(&sb, "a]\n");
	/* Five nodes before the labels: label 99,996 is node 100,001. */
	fails_at(sb.buf, 2, 7 + 3 * (GM_YAML_MAX_NODES - 5), "more than 100000 nodes in the migration");
	gm_strbuf_release(&sb);
	text = gm_xmalloc(big + 6);
	memcpy(text, "up: ", 4);
	memset(text + 4, 'x', big);
	memcpy(text + 4 + big, "\n", 2);
	fails_at(text, 1, 5, "more than 16 MiB of text in the migration");
	free(text);
}

/* ---- depth ---- */

static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit), k;
	char *s = gm_xmalloc(n * len + 1);

	for (k = 0; k < n; k++)
		memcpy(s + k * len, unit, len);
	s[n * len] = '\0';
	return s;
}

static void test_deep_flow_sequence(void **state)
{
	char *deep = repeat("[", 200000), *ok = repeat("[", GM_YAML_MAX_DEPTH), *close;

	(void)state;
	/* The 65th '[' is one level too many. */
	fails_at(deep, 1, GM_YAML_MAX_DEPTH + 1, "mappings and lists nested deeper than 64 levels");
	/* 64 levels pass the limit (and fail as what they are). */
	close = repeat("]", GM_YAML_MAX_DEPTH);
	free(deep);
	deep = gm_xasprintf("%s%s\n", ok, close);
	fails_at(deep, 1, 1, "a YAML migration must be a mapping, not a list");
	free(deep);
	free(ok);
	free(close);
}

static void test_deep_flow_mapping(void **state)
{
	char *deep = repeat("{a: ", 50000);

	(void)state;
	fails_at(deep, 1, 4 * GM_YAML_MAX_DEPTH + 1, "mappings and lists nested deeper than 64 levels");
	free(deep);
}

static void test_deep_block_mapping(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	(void)state;
	for (k = 0; k < 1000; k++)
		gm_strbuf_addf(&sb, "%*sa:\n", k, "");
	/* Level 65 is the mapping whose first key is on line 65. */
	fails_at(sb.buf, GM_YAML_MAX_DEPTH + 1, GM_YAML_MAX_DEPTH + 1, "nested deeper than 64 levels");
	gm_strbuf_release(&sb);
}

/* Shallow where it is written, deep where it is used. */
static void test_alias_past_the_depth(void **state)
{
	char *open = repeat("[", 40), *close = repeat("]", 40);
	char *text = gm_xasprintf("description: &d %s%s\nx: %s*d%s\n", open, close, open, close);

	(void)state;
	fails_at_text(text, "*d", "alias '*d' nests the migration deeper than 64 levels");
	free(text);
	free(open);
	free(close);
}

/* ---- values ---- */

static void test_nul_in_a_value(void **state)
{
	(void)state;
	fails_at("enums:\n  E: [\"a\\0b\"]\n", 2, 7, "NUL character in a value");
	fails_at("rls:\n  \"t\\0; DROP TABLE x\":\n    enable: true\n", 2, 3, "NUL character in a value");
	fails_at("up: \"SELECT 1\\x00; DROP TABLE x\"\n", 1, 5, "NUL character in a value");
}

/* ---- literals ---- */

/* Dollar-quoted when the label holds a backslash: one statement, and the
 * label byte for byte, whatever standard_conforming_strings says. */
static void test_label_with_backslash_and_quote(void **state)
{
	struct gm_migration *m = parse_ok(
		"enums:\n"
		"  Mood: [\"\\\\'); DROP TABLE victim; --\", \"it's\", 'a\\$gm', plain]\n");

	(void)state;
	assert_string_equal(m->up.sql,
		"CREATE TYPE \"Mood\" AS ENUM ($gm$\\'); DROP TABLE victim; --$gm$, 'it''s', $gm_$a\\$gm$gm_$, 'plain');\n");
	assert_int_equal(m->up.stmts.n, 1);
	gm_migration_free(m);
}

static void test_label_limits(void **state)
{
	(void)state;
	fails_at("enums:\n  E: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 2, 7,
		 "enum label longer than 63 bytes");
	/* The first repeat in the order written, not in sorted order. */
	fails_at("enums:\n  E: [B, A, B, A]\n", 2, 13, "duplicate label 'B' in enum 'E'");
	fails_at("enums:\n  E: [A, B, A, '']\n", 2, 13, "duplicate label 'A'");
	fails_at("enums:\n  E: [A, '', A]\n", 2, 10, "empty enum label");
	fails_at("enums:\n  E: [A, [B], A]\n", 2, 10, "an enum label must be a single value");
	fails_at("enums:\n  b: [X]\n  a: [X]\n  b: [X]\n  a: [X]\n", 4, 3, "duplicate key 'b'");
}

/* Many labels and keys: the duplicate checks stay exact (and no longer
 * compare every pair). */
static void test_wide_lists_and_mappings(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int k;

	(void)state;
	gm_strbuf_adds(&sb, "enums:\n  E: [");
	for (k = 0; k < 40000; k++)
		gm_strbuf_addf(&sb, "l%d, ", k);
	gm_strbuf_adds(&sb, "l39999]\n");
	fails_at_text(sb.buf, "l39999]", "duplicate label 'l39999'");
	gm_strbuf_release(&sb);
	gm_strbuf_adds(&sb, "enums:\n");
	for (k = 0; k < 30000; k++)
		gm_strbuf_addf(&sb, "  E%d: [a]\n", k);
	gm_strbuf_adds(&sb, "  E17: [b]\n");
	fails_at(sb.buf, 30002, 3, "duplicate key 'E17'");
	gm_strbuf_release(&sb);
}

/* What is hashed did not change for labels without a backslash: the
 * project's applied migrations keep their checksums. */
static void test_project_checksums_unchanged(void **state)
{
	static const struct { const char *file, *checksum; } known[] = {
		{ "0002_create_ai_garage_enums.yaml",
		  "sha256:c445453360d8d5b2830504c39e8190445a6f48d5112a23414e2661bfe4fc5235" },
		{ "0008_add_ai_garage_rls_policies.yaml",
		  "sha256:65707a1781e9035ab764f684578754738e5d7c2b8057fbadd1da3cee07f8d97a" },
	};
	const char *root = getenv("GM_ROOT");

	(void)state;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		char *path = gm_xasprintf("%s/migrations/%s", root && *root ? root : ".", known[k].file);
		char *text = tfs_read(path);
		struct gm_migration *m = NULL;
		struct gm_error *err = gm_migration_parse(path, known[k].file, text, strlen(text), &m);

		if (err)
			fail_msg("%s: %s", known[k].file, err->msg);
		assert_string_equal(m->checksum, known[k].checksum);
		gm_migration_free(m);
		free(path);
	}
}

/* ---- the snapshot reader ---- */

/* It reads events and stops at the first one that is not where a snapshot
 * has it, so neither depth nor aliases cost more than a few events. */
static void snapshot_fails_at(const char *text, unsigned line, unsigned col, const char *what)
{
	struct gm_model m;
	struct gm_error *err = gm_model_from_yaml("snap.yaml", text, strlen(text), &m);

	if (!err)
		fail_msg("no error for a snapshot expecting '%s'", what);
	if (!strstr(err->msg, what) || err->line != line || err->col != col)
		fail_msg("expected %u:%u '%s', got %u:%u '%s'", line, col, what, err->line, err->col, err->msg);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	gm_error_free(err);
}

static void test_snapshot_reader_on_bombs(void **state)
{
	char *deep = repeat("[", 200000), *bomb = alias_bomb(60, 400, 400), *objs;

	(void)state;
	snapshot_fails_at(deep, 1, 1, "expected a mapping with format, schemas and objects");
	snapshot_fails_at(bomb, 1, 1, "unknown key 'rls'");
	free(deep);
	deep = repeat("{a: ", 50000);
	objs = gm_xasprintf("format: 1\nschemas: [public]\nobjects:\n  o: %s\n", deep);
	snapshot_fails_at(objs, 4, 10, "a string value");
	free(objs);
	snapshot_fails_at("format: 1\nschemas: &s [public]\nobjects:\n  o:\n    a: *s\n", 5, 8, "a string value");
	snapshot_fails_at("format: 1\nschemas: [public]\nobjects:\n  *o : {a: b}\n", 4, 3, "an object name must be a string");
	free(deep);
	free(bomb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias_amplification),
		cmocka_unit_test(test_aliases_within_limits_still_work),
		cmocka_unit_test(test_nested_aliases_anywhere),
		cmocka_unit_test(test_mapping_key_alias),
		cmocka_unit_test(test_alias_to_its_own_node),
		cmocka_unit_test(test_alias_past_the_text_limit),
		cmocka_unit_test(test_too_many_anchors),
		cmocka_unit_test(test_big_files_without_aliases),
		cmocka_unit_test(test_deep_flow_sequence),
		cmocka_unit_test(test_deep_flow_mapping),
		cmocka_unit_test(test_deep_block_mapping),
		cmocka_unit_test(test_alias_past_the_depth),
		cmocka_unit_test(test_nul_in_a_value),
		cmocka_unit_test(test_label_with_backslash_and_quote),
		cmocka_unit_test(test_label_limits),
		cmocka_unit_test(test_wide_lists_and_mappings),
		cmocka_unit_test(test_project_checksums_unchanged),
		cmocka_unit_test(test_snapshot_reader_on_bombs),
	};
	return cmocka_run_group_tests_name("YAML limits", tests, NULL, NULL);
}
