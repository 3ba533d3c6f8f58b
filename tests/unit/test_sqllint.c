/* Unit tests: the migration lint (gm_sqllint.h), without a database: the
 * corpus of tests/lint (every rule triggered by a bad file and not by its
 * safe rewrite), the project's own migrations, the run's context,
 * lint-ignore comments, levels, locations and the three reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_report.h"
#include "gm_sqllint.h"
#include "gm_strbuf.h"

static const char *root(void)
{
	const char *r = getenv("GM_ROOT");

	return r && *r ? r : ".";
}

/* A migration at path (its file name names it). */
static struct gm_migration *mig(const char *path, const char *text)
{
	const char *filename = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct gm_migration *m = NULL;
	struct gm_error *err = gm_migration_parse(path, filename, gm_xstrdup(text), strlen(text), &m);

	if (err)
		fail_msg("%s does not parse: %s", filename, err->msg);
	return m;
}

/* Lints run[0..n) with opts (NULL: the defaults). */
static void lint(struct gm_migration **run, size_t n, const struct gm_lint_opts *opts, struct gm_lint_result *r)
{
	struct gm_lint_opts o;
	struct gm_error *err;

	memset(&o, 0, sizeof(o));
	err = gm_lint_run((const struct gm_migration *const *)run, n, opts ? opts : &o, NULL, r);
	if (err)
		fail_msg("lint failed: %s", err->msg);
}

static void lint_one(const char *filename, const char *text, struct gm_lint_result *r)
{
	struct gm_migration *m = mig(filename, text);

	lint(&m, 1, NULL, r);
	/* What the tests read of the findings is theirs, m aside. */
	gm_migration_free(m);
}

/* Reported (not ignored) findings of rule. */
static size_t count(const struct gm_lint_result *r, const char *rule)
{
	size_t n = 0;

	for (size_t k = 0; k < r->n; k++)
		n += !r->v[k].ignored && !strcmp(r->v[k].rule->id, rule);
	return n;
}

static const struct gm_lint_finding *find(const struct gm_lint_result *r, const char *rule)
{
	for (size_t k = 0; k < r->n; k++)
		if (!strcmp(r->v[k].rule->id, rule))
			return &r->v[k];
	return NULL;
}

static void dump(const struct gm_lint_result *r, const char *what)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_report_lint_text(r, 1, 1, &sb);
	print_message("%s:\n%s", what, sb.buf);
	gm_strbuf_release(&sb);
}

/* ---- the corpus ---- */

static void check_file(const char *rule, const char *dir, const char *name)
{
	char *path = gm_xasprintf("%s/%s", dir, name);
	struct gm_migration *m = NULL;
	struct gm_lint_result r;
	struct gm_error *err = gm_migration_load_file(path, &m);
	int bad = !strncmp(name, "bad", 3);

	if (err)
		fail_msg("%s: %s", path, err->msg);
	lint(&m, 1, NULL, &r);
	if (bad && !count(&r, rule)) {
		dump(&r, path);
		fail_msg("%s does not trigger %s", path, rule);
	}
	if (!bad && (count(&r, rule) || r.count[GM_LINT_ERROR])) {
		dump(&r, path);
		fail_msg("%s, a safe rewrite, triggers %s or an error", path, rule);
	}
	gm_lint_result_release(&r);
	gm_migration_free(m);
	free(path);
}

static void test_corpus(void **state)
{
	size_t nrules, files = 0;
	const struct gm_lint_rule *rules = gm_lint_rules(&nrules);

	(void)state;
	for (size_t k = 0; k < nrules; k++) {
		char *dir = gm_xasprintf("%s/tests/lint/%s", root(), rules[k].id);
		DIR *d = opendir(dir);
		struct dirent *de;
		int bad = 0, good = 0;

		if (!d)
			fail_msg("rule %s has no folder in tests/lint", rules[k].id);
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			bad += !strncmp(de->d_name, "bad", 3);
			good += !strncmp(de->d_name, "good", 4);
			check_file(rules[k].id, dir, de->d_name);
			files++;
		}
		closedir(d);
		if (!bad || !good)
			fail_msg("rule %s needs a bad and a good file in tests/lint", rules[k].id);
		free(dir);
	}
	assert_true(files >= 2 * nrules);
}

/* The project's own migrations lint clean: not even a warning. */
static void test_project_migrations(void **state)
{
	char *dir = gm_xasprintf("%s/migrations", root());
	struct gm_migration_set *set = NULL;
	struct gm_lint_result r;
	struct gm_error *err = gm_migration_set_load(dir, &set);

	(void)state;
	if (err)
		fail_msg("%s", err->msg);
	lint(set->v, set->n, NULL, &r);
	if (r.n) {
		dump(&r, "migrations/");
		fail_msg("the project's migrations have %zu findings", r.n);
	}
	assert_int_equal(r.migrations, set->n);
	assert_true(r.statements > 80);
	gm_lint_result_release(&r);
	gm_migration_set_free(set);
	free(dir);
}

/* ---- the run ---- */

static void test_tables_created_earlier_in_the_run_are_new(void **state)
{
	struct gm_migration *run[2];
	struct gm_lint_result r;

	(void)state;
	run[0] = mig("0001_t.sql", "CREATE TABLE t (id int, organization_id uuid);\n"
				   "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\nALTER TABLE t FORCE ROW LEVEL SECURITY;\n");
	run[1] = mig("0002_t.sql", "ALTER TABLE t ALTER COLUMN id TYPE bigint;\nCREATE INDEX t_id ON t (id);\n"
				   "UPDATE t SET id = 1;\nALTER TABLE t RENAME TO t2;\nALTER TABLE t2 DROP COLUMN id;\n"
				   "DROP TABLE t2;\n");
	lint(run, 2, NULL, &r);
	if (r.n)
		dump(&r, "one run");
	assert_int_equal(r.n, 0);
	gm_lint_result_release(&r);
	/* The second alone: the table exists already. */
	lint(run + 1, 1, NULL, &r);
	assert_int_equal(count(&r, "alter_column_type"), 1);
	assert_int_equal(count(&r, "create_index_not_concurrently"), 1);
	assert_int_equal(count(&r, "update_without_where"), 1);
	assert_int_equal(count(&r, "rename_table"), 1);
	assert_int_equal(count(&r, "drop_column"), 1);
	assert_int_equal(count(&r, "drop_table"), 1);
	/* One lock-timeout finding for the migration, at its first statement. */
	assert_int_equal(count(&r, "lock_without_timeout"), 1);
	assert_int_equal(find(&r, "lock_without_timeout")->line, 1);
	gm_lint_result_release(&r);
	gm_migration_free(run[0]);
	gm_migration_free(run[1]);
}

/* A later migration of the project (not in this run: up --to) gives the
 * table its RLS: no finding. */
static void test_later_migrations_count_for_rls(void **state)
{
	struct gm_migration *all[2];
	struct gm_lint_opts o;
	struct gm_lint_result r;

	(void)state;
	all[0] = mig("0001_t.sql", "CREATE TABLE t (id int, organization_id uuid);\n");
	all[1] = mig("0002_rls.yaml", "rls:\n  t:\n    enable: true\n    force: true\n");
	lint(all, 1, NULL, &r);
	assert_int_equal(count(&r, "tenant_table_without_rls"), 1);
	gm_lint_result_release(&r);
	memset(&o, 0, sizeof(o));
	o.all = (const struct gm_migration *const *)all;
	o.nall = 2;
	lint(all, 1, &o, &r);
	assert_int_equal(r.n, 0);
	gm_lint_result_release(&r);
	/* Enabled but not forced. */
	gm_migration_free(all[1]);
	all[1] = mig("0002_rls.yaml", "rls:\n  t:\n    enable: true\n");
	lint(all, 1, &o, &r);
	assert_int_equal(count(&r, "create_table_rls_not_forced"), 1);
	gm_lint_result_release(&r);
	gm_migration_free(all[0]);
	gm_migration_free(all[1]);
}

/* ALTER POLICY is judged as the policy it changes: the command comes from
 * the CREATE POLICY in an earlier migration, not applied in this run. */
static void test_alter_policy_keeps_its_command(void **state)
{
	struct gm_migration *all[2];
	struct gm_lint_opts o;
	struct gm_lint_result r;

	(void)state;
	all[0] = mig("0001_p.sql", "CREATE POLICY showcase_update ON project_showcases FOR UPDATE\n"
				   "  USING (organization_id = (SELECT app_current_org_id()));\n");
	all[1] = mig("0002_open.sql", "SET LOCAL lock_timeout = '5s';\n"
				      "ALTER POLICY showcase_update ON project_showcases\n"
				      "  USING (organization_id = (SELECT app_current_org_id()) OR is_public);\n");
	/* Alone, the command is unknown: a read policy may share public rows. */
	lint(&all[1], 1, NULL, &r);
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 0);
	assert_int_equal(count(&r, "read_policy_not_tenant_bound"), 0);
	gm_lint_result_release(&r);
	memset(&o, 0, sizeof(o));
	o.all = (const struct gm_migration *const *)all;
	o.nall = 2;
	lint(&all[1], 1, &o, &r);
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 1);
	assert_non_null(strstr(find(&r, "write_policy_not_tenant_bound")->message,
			       "FOR UPDATE policy showcase_update on public.project_showcases: its USING"));
	gm_lint_result_release(&r);
	/* Made RESTRICTIVE, it only narrows what others allow. */
	gm_migration_free(all[0]);
	all[0] = mig("0001_p.sql", "CREATE POLICY showcase_update ON project_showcases AS RESTRICTIVE FOR UPDATE\n"
				   "  USING (organization_id = (SELECT app_current_org_id()));\n");
	lint(&all[1], 1, &o, &r);
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 0);
	gm_lint_result_release(&r);
	gm_migration_free(all[0]);
	gm_migration_free(all[1]);
}

static void test_the_tenancy_decides(void **state)
{
	struct gm_tenancy t;
	struct gm_lint_opts o;
	struct gm_lint_result r;
	struct gm_migration *m = mig("0001_p.sql", "SET LOCAL lock_timeout = '1s';\n"
				      "CREATE POLICY p ON notes FOR UPDATE USING (tenant_id = auth.uid() OR is_public);\n"
				      "CREATE TABLE public.countries (code text);\nCREATE TABLE notes2 (tenant_id uuid);\n");

	(void)state;
	/* AI Garage's tenancy: the policy names no tenant; notes2 is no
	 * tenant table; countries is not declared global. */
	lint(&m, 1, NULL, &r);
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 0);
	assert_int_equal(count(&r, "create_table_without_rls"), 2);
	gm_lint_result_release(&r);
	gm_tenancy_defaults(&t);
	gm_strlist_release(&t.columns);
	gm_strlist_add(&t.columns, "tenant_id");
	free(t.expression);
	t.expression = gm_xstrdup("auth.uid()");
	gm_strlist_add(&t.global_tables, "countries");
	memset(&o, 0, sizeof(o));
	o.tenancy = &t;
	lint(&m, 1, &o, &r);
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 1);
	assert_non_null(strstr(find(&r, "write_policy_not_tenant_bound")->message, "is_public"));
	assert_int_equal(count(&r, "create_table_without_rls"), 0);
	assert_int_equal(count(&r, "tenant_table_without_rls"), 1);
	gm_lint_result_release(&r);
	gm_tenancy_release(&t);
	gm_migration_free(m);
}

static void test_run_lock_timeout(void **state)
{
	struct gm_migration *m = mig("0001_a.sql", "ALTER TABLE t ADD COLUMN c text;\n");
	struct gm_lint_opts o;
	struct gm_lint_result r;

	(void)state;
	lint(&m, 1, NULL, &r);
	assert_int_equal(count(&r, "lock_without_timeout"), 1);
	gm_lint_result_release(&r);
	memset(&o, 0, sizeof(o));
	o.run_lock_timeout = 1;
	lint(&m, 1, &o, &r);
	assert_int_equal(r.n, 0);
	gm_lint_result_release(&r);
	gm_migration_free(m);
	/* A zero timeout is none. */
	m = mig("0001_a.sql", "SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN c text;\n");
	lint(&m, 1, NULL, &r);
	assert_int_equal(count(&r, "lock_without_timeout"), 1);
	gm_lint_result_release(&r);
	gm_migration_free(m);
}

/* ---- opt-outs and levels ---- */

static void test_ignores(void **state)
{
	struct gm_lint_result r;
	const struct gm_lint_finding *f;

	(void)state;
	lint_one("0001_a.sql",
		 "SET LOCAL lock_timeout = '1s';\n"
		 "-- garage:lint-ignore drop_table archived in 0040\n"
		 "-- garage:lint-ignore truncate   emptied on purpose  \n"
		 "DROP TABLE a; TRUNCATE b;\n"
		 "DROP TABLE c;\n"				/* the ignore was for the statement before */
		 "--   garage:lint-ignore drop_table\n"		/* no reason */
		 "DROP TABLE d;\n"
		 "-- garage:lint-ignore dorp_table typo\n"
		 "-- garage:lint-ignore lint_ignore_invalid never\n"
		 "-- garage:lint-ignore update_without_where nothing to ignore here\n"
		 "SELECT 1;\n", &r);
	assert_int_equal(count(&r, "drop_table"), 2);
	assert_int_equal(count(&r, "truncate"), 1);
	f = find(&r, "truncate");
	assert_non_null(f);
	/* TRUNCATE b shares a line with the ignored DROP TABLE a: its own
	 * statement, not silenced. */
	assert_null(f->ignored);
	assert_int_equal(r.ignored, 1);
	assert_string_equal(find(&r, "drop_table")->ignored, "archived in 0040");
	assert_int_equal(count(&r, "lint_ignore_invalid"), 3);
	/* The truncate one was before DROP TABLE a, and the last before a
	 * statement with nothing to silence. */
	assert_int_equal(count(&r, "lint_ignore_unused"), 2);
	f = find(&r, "lint_ignore_unused");
	assert_int_equal(f->line, 3);
	assert_int_equal(f->col, 1);
	gm_lint_result_release(&r);
}

static void test_yaml_ignores_and_locations(void **state)
{
	struct gm_lint_result r;
	const struct gm_lint_finding *f;

	(void)state;
	lint_one("0001_p.yaml",
		 "rls:\n"
		 "  showcases:\n"
		 "    policies:\n"
		 "      all_of_them:\n"
		 "        command: ALL\n"
		 "        using: is_public OR organization_id = (SELECT app_current_org_id())\n"
		 "      # garage:lint-ignore write_policy_not_tenant_bound reviewed in #412\n"
		 "      upd:\n"
		 "        command: UPDATE\n"
		 "        using: |\n"
		 "          organization_id = (SELECT app_current_org_id())\n"
		 "            OR current_setting('x') = 'y'\n"
		 "up: |\n"
		 "  SET LOCAL lock_timeout = '1s';\n"
		 "  -- garage:lint-ignore drop_table moved to archive\n"
		 "  DROP TABLE old;\n", &r);
	f = find(&r, "write_policy_not_tenant_bound");
	/* Exactly where the expression is in the YAML. */
	assert_int_equal(f->line, 6);
	assert_int_equal(f->col, 16);
	assert_null(f->ignored);
	assert_string_equal(f->src_line, "        using: is_public OR organization_id = (SELECT app_current_org_id())");
	assert_int_equal(count(&r, "write_policy_not_tenant_bound"), 1);
	assert_int_equal(r.ignored, 2);
	f = find(&r, "current_setting_without_missing_ok");
	assert_int_equal(f->line, 12);
	assert_int_equal(f->col, 16);
	f = find(&r, "drop_table");
	assert_int_equal(f->line, 16);
	assert_int_equal(f->col, 3);
	assert_string_equal(f->ignored, "moved to archive");
	gm_lint_result_release(&r);
}

static void test_levels(void **state)
{
	struct gm_migration *m = mig("0001_a.sql", "SET LOCAL lock_timeout = '1s';\nDROP TABLE a;\nCREATE INDEX i ON b (c);\n"
				      "ALTER TABLE b RENAME COLUMN c TO d;\nSELECT JSON_ARRAY(1 RETURNING jsonb);\n");
	struct gm_lint_level_entry e[] = { { (char *)"drop_table", GM_LINT_WARNING },
					    { (char *)"create_index_not_concurrently", GM_LINT_OFF },
					    { (char *)"not_analysed", GM_LINT_WARNING } };
	struct gm_lint_levels levels = { e, 3 };
	struct gm_lint_opts o;
	struct gm_lint_result r;

	(void)state;
	lint(&m, 1, NULL, &r);
	assert_int_equal(find(&r, "drop_table")->level, GM_LINT_ERROR);
	assert_int_equal(find(&r, "not_analysed")->level, GM_LINT_NOTE);
	assert_int_equal(r.not_analysed, 1);
	assert_int_equal(r.count[GM_LINT_ERROR], 3);
	assert_true(gm_lint_failed(&r, 0));
	gm_lint_result_release(&r);
	memset(&o, 0, sizeof(o));
	o.levels = &levels;
	lint(&m, 1, &o, &r);
	assert_int_equal(find(&r, "drop_table")->level, GM_LINT_WARNING);
	assert_null(find(&r, "create_index_not_concurrently"));
	assert_int_equal(find(&r, "not_analysed")->level, GM_LINT_WARNING);
	assert_int_equal(r.count[GM_LINT_ERROR], 1);	/* rename_column */
	assert_int_equal(r.count[GM_LINT_WARNING], 2);
	gm_lint_result_release(&r);
	gm_migration_free(m);
}

/* A statement the parser cannot read stops nothing, and the rest of the
 * migration is still analysed. */
static void test_not_analysed(void **state)
{
	struct gm_lint_result r;

	(void)state;
	lint_one("0001_a.sql", "SELECT 1 +;\nMERGE INTO t USING s ON true WHEN MATCHED THEN DELETE RETURNING *;\nDELETE FROM t;\n", &r);
	assert_int_equal(r.not_analysed, 2);
	assert_int_equal(count(&r, "not_analysed"), 2);
	assert_int_equal(count(&r, "delete_without_where"), 1);
	assert_int_equal(find(&r, "not_analysed")->level, GM_LINT_NOTE);
	assert_int_equal(find(&r, "not_analysed")->col, 11);	/* where the parser stopped */
	assert_int_equal(r.count[GM_LINT_NOTE], 2);
	gm_lint_result_release(&r);
}

static void test_alter_table_subcommand_columns(void **state)
{
	struct gm_lint_result r;
	const struct gm_lint_finding *f;

	(void)state;
	lint_one("0001_a.sql", "SET LOCAL lock_timeout = '1s';\n"
		 "ALTER TABLE /* x, y */ app.\"Orders\"\n  ADD COLUMN a int DEFAULT (1 + 2),\n"
		 "  ALTER COLUMN b TYPE numeric(10, 2), DROP COLUMN c;\n", &r);
	f = find(&r, "alter_column_type");
	assert_int_equal(f->line, 4);
	assert_int_equal(f->col, 3);
	assert_string_equal(f->object, "app.Orders");
	f = find(&r, "drop_column");
	assert_int_equal(f->line, 4);
	assert_int_equal(f->col, 39);
	assert_int_equal(count(&r, "add_column_volatile_default"), 0);
	gm_lint_result_release(&r);
}

/* ---- reports ---- */

static void test_reports(void **state)
{
	struct gm_migration *m = mig("migrations/0009_x.sql", "SET LOCAL lock_timeout = '1s';\n"
				      "-- garage:lint-ignore truncate emptied on purpose\nTRUNCATE a;\n"
				      "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n");
	struct gm_lint_result r;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	lint(&m, 1, NULL, &r);
	gm_report_lint_text(&r, 0, 0, &sb);
	assert_non_null(strstr(sb.buf, "migrations/0009_x.sql:4:20: error: changing the type of column total rewrites"
				      " public.orders and its indexes while holding ACCESS EXCLUSIVE [alter_column_type]\n"
				      "    4 | ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
				      "      |                    ^\n  fix: add a column"));
	assert_null(strstr(sb.buf, "TRUNCATE"));
	assert_non_null(strstr(sb.buf, "lint FAILED: 1 migration, 3 statements (no database: table sizes unknown):"
				      " 1 error, 1 ignored finding\n"));
	gm_strbuf_reset(&sb);
	gm_report_lint_text(&r, 1, 0, &sb);
	assert_non_null(strstr(sb.buf, "  ignored: emptied on purpose\n"));
	gm_strbuf_reset(&sb);
	gm_report_lint_json(&r, 0, &sb);
	assert_non_null(strstr(sb.buf, "{\"format_version\":1,\"ok\":false,\"findings\":[{\"rule\":\"truncate\",\"group\":\"destructive\","
				      "\"level\":\"error\",\"file\":\"migrations/0009_x.sql\",\"line\":3,\"column\":10,"
				      "\"object\":\"public.a\",\"message\":\"TRUNCATE deletes every row of public.a\","));
	assert_non_null(strstr(sb.buf, "\"ignored\":\"emptied on purpose\"}"));
	assert_non_null(strstr(sb.buf, "\"summary\":{\"migrations\":1,\"statements\":3,\"not_analysed\":0,\"errors\":1,"
				      "\"warnings\":0,\"notes\":0,\"ignored\":1,\"sized\":false}}\n"));
	gm_strbuf_reset(&sb);
	gm_report_lint_sarif(&r, "9.9", &sb);
	assert_non_null(strstr(sb.buf, "\"version\":\"2.1.0\""));
	assert_non_null(strstr(sb.buf, "\"driver\":{\"name\":\"garage-migrate\",\"version\":\"9.9\",\"rules\":[{\"id\":"));
	assert_non_null(strstr(sb.buf, "\"columnKind\":\"unicodeCodePoints\""));
	assert_non_null(strstr(sb.buf, "\"ruleId\":\"alter_column_type\",\"ruleIndex\":0,\"level\":\"error\""));
	assert_non_null(strstr(sb.buf, "{\"artifactLocation\":{\"uri\":\"migrations/0009_x.sql\"},"
				      "\"region\":{\"startLine\":4,\"startColumn\":20}}"));
	assert_non_null(strstr(sb.buf, "\"suppressions\":[{\"kind\":\"inSource\",\"justification\":\"emptied on purpose\"}]"));
	gm_strbuf_release(&sb);
	gm_lint_result_release(&r);
	gm_migration_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_project_migrations),
		cmocka_unit_test(test_tables_created_earlier_in_the_run_are_new),
		cmocka_unit_test(test_later_migrations_count_for_rls),
		cmocka_unit_test(test_alter_policy_keeps_its_command),
		cmocka_unit_test(test_the_tenancy_decides),
		cmocka_unit_test(test_run_lock_timeout),
		cmocka_unit_test(test_ignores),
		cmocka_unit_test(test_yaml_ignores_and_locations),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_not_analysed),
		cmocka_unit_test(test_alter_table_subcommand_columns),
		cmocka_unit_test(test_reports),
	};
	return cmocka_run_group_tests_name("sqllint", tests, NULL, NULL);
}
