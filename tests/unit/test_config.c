/* Unit tests: the project file, garage-migrate.yaml (gm_config.h) - the
 * defaults, every key, errors at file:line:col, passwords refused without
 * being shown, url_env, relative paths and the template init writes.  No
 * database.  Issue 13, item 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gm_config.h"
#include "gm_error.h"
#include "gm_report.h"
#include "gm_strbuf.h"
#include "testfs.h"

static struct gm_error *parse_at(const char *path, const char *text, struct gm_config *c)
{
	return gm_config_parse(path, text, strlen(text), c);
}

static void parse_ok(const char *path, const char *text, struct gm_config *c)
{
	struct gm_error *err = parse_at(path, text, c);

	if (err)
		fail_msg("unexpected error %u:%u: %s\n%s", err->line, err->col, err->msg, text);
}

/* The error for text, located at line:col with what in its message. */
static struct gm_error *fails(const char *text, unsigned line, unsigned col, const char *what)
{
	struct gm_config c;
	struct gm_error *err = parse_at("garage-migrate.yaml", text, &c);

	if (!err)
		fail_msg("no error for:\n%s", text);
	if (!strstr(err->msg, what) || err->line != line || err->col != col)
		fail_msg("expected %u:%u '%s', got %u:%u '%s'\n%s", line, col, what, err->line, err->col, err->msg, text);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, "garage-migrate.yaml");
	/* A failed parse leaves the defaults, so the tenancy stays usable. */
	assert_null(c.path);
	assert_string_equal(c.tenancy.columns.v[0], "organization_id");
	gm_config_release(&c);
	return err;
}

static void fails_free(const char *text, unsigned line, unsigned col, const char *what)
{
	gm_error_free(fails(text, line, col, what));
}

static void assert_list(const struct gm_strlist *l, const char *const *want, size_t n)
{
	assert_int_equal(l->n, n);
	for (size_t k = 0; k < n; k++)
		assert_string_equal(l->v[k], want[k]);
}

static void assert_default_tenancy(const struct gm_tenancy *t)
{
	static const char *const cols[] = { "organization_id" };
	static const char *const schemas[] = { "public" };
	static const char *const pub[] = { "is_public", "is_system" };
	static const char *const global[] = { "organizations", "users" };

	assert_list(&t->columns, cols, 1);
	assert_string_equal(t->expression, "(SELECT app_current_org_id())");
	assert_string_equal(t->set_tenant, "SELECT set_config('app.current_org_id', $1, true)");
	assert_list(&t->schemas, schemas, 1);
	assert_list(&t->public_read_columns, pub, 2);
	assert_list(&t->global_tables, global, 2);
	assert_int_equal(t->anon_roles.n, 0);
}

static void test_no_file_and_empty_file_mean_the_defaults(void **state)
{
	static const char *const empties[] = { "", "# nothing but a comment\n", "---\n", "~\n",
					       "environments:\ntimeouts:\ntenancy:\n" };
	struct gm_config c;

	(void)state;
	gm_config_defaults(&c);
	assert_null(c.path);
	assert_string_equal(c.migrations, "migrations");
	assert_string_equal(c.snapshot, "schema/snapshot.yaml");
	assert_int_equal(c.nenvs, 0);
	assert_null(c.lock_timeout);
	assert_null(c.statement_timeout);
	assert_null(c.wait_timeout);
	assert_default_tenancy(&c.tenancy);
	gm_config_release(&c);
	for (size_t k = 0; k < sizeof(empties) / sizeof(empties[0]); k++) {
		parse_ok("garage-migrate.yaml", empties[k], &c);
		assert_string_equal(c.path, "garage-migrate.yaml");
		assert_string_equal(c.migrations, "migrations");
		assert_string_equal(c.snapshot, "schema/snapshot.yaml");
		assert_int_equal(c.nenvs, 0);
		assert_null(c.lock_timeout);
		assert_default_tenancy(&c.tenancy);
		gm_config_release(&c);
	}
}

static void test_every_key(void **state)
{
	static const char *const cols[] = { "tenant_id", "org_id" };
	static const char *const schemas[] = { "public", "api" };
	static const char *const pub[] = { "shared" };
	static const char *const global[] = { "public.countries", "currencies" };
	static const char *const anon[] = { "anon", "authenticated" };
	static const char *const trusted[] = { "supabase_functions_admin" };
	struct gm_config c;
	const struct gm_config_env *e;

	(void)state;
	parse_ok("garage-migrate.yaml",
		 "environments:\n"
		 "  local: postgresql://postgres@localhost:5432/garage\n"
		 "  staging:\n"
		 "    url: host=db.internal dbname=garage user=ci\n"
		 "  production:\n"
		 "    url_env: PROD_DATABASE_URL\n"
		 "migrations: db/migrations\n"
		 "snapshot: db/snapshot.yaml\n"
		 "timeouts:\n"
		 "  lock: 5s\n"
		 "  statement: 1min\n"
		 "  wait: 500ms\n"
		 "tenancy:\n"
		 "  columns: [tenant_id, org_id]\n"
		 "  expression: (auth.jwt() ->> 'org_id')::uuid\n"
		 "  set_tenant: SELECT set_config('request.jwt.claims', json_build_object('org_id', $1)::text, true)\n"
		 "  schemas:\n"
		 "    - public\n"
		 "    - api\n"
		 "  public_read_columns: [shared]\n"
		 "  global_tables: [public.countries, currencies]\n"
		 "  anon_roles: [anon, authenticated]\n"
		 "trusted_roles: [supabase_functions_admin]\n",
		 &c);
	assert_int_equal(c.nenvs, 3);
	e = gm_config_find_env(&c, "local");
	assert_non_null(e);
	assert_string_equal(e->url, "postgresql://postgres@localhost:5432/garage");
	assert_null(e->url_env);
	assert_string_equal(gm_config_find_env(&c, "staging")->url, "host=db.internal dbname=garage user=ci");
	e = gm_config_find_env(&c, "production");
	assert_null(e->url);
	assert_string_equal(e->url_env, "PROD_DATABASE_URL");
	assert_null(gm_config_find_env(&c, "Local"));
	assert_string_equal(c.migrations, "db/migrations");
	assert_string_equal(c.snapshot, "db/snapshot.yaml");
	assert_string_equal(c.lock_timeout, "5s");
	assert_string_equal(c.statement_timeout, "1min");
	assert_string_equal(c.wait_timeout, "500ms");
	assert_list(&c.tenancy.columns, cols, 2);
	assert_string_equal(c.tenancy.expression, "(auth.jwt() ->> 'org_id')::uuid");
	assert_string_equal(c.tenancy.set_tenant,
			    "SELECT set_config('request.jwt.claims', json_build_object('org_id', $1)::text, true)");
	assert_list(&c.tenancy.schemas, schemas, 2);
	assert_list(&c.tenancy.public_read_columns, pub, 1);
	assert_list(&c.tenancy.global_tables, global, 2);
	assert_list(&c.tenancy.anon_roles, anon, 2);
	assert_list(&c.trusted_roles, trusted, 1);
	gm_config_release(&c);
}

static void test_absent_keys_keep_their_defaults(void **state)
{
	static const char *const cols[] = { "tenant_id" };
	struct gm_config c;

	(void)state;
	parse_ok("garage-migrate.yaml", "tenancy:\n  columns: [tenant_id]\ntimeouts:\n  lock: 2s\n", &c);
	assert_list(&c.tenancy.columns, cols, 1);
	assert_string_equal(c.tenancy.expression, "(SELECT app_current_org_id())");
	assert_int_equal(c.tenancy.public_read_columns.n, 2);
	assert_string_equal(c.lock_timeout, "2s");
	assert_null(c.statement_timeout);
	assert_null(c.wait_timeout);
	gm_config_release(&c);
	/* A list replaces the default one; an empty list empties it. */
	parse_ok("garage-migrate.yaml", "tenancy:\n  public_read_columns: []\n  anon_roles:\n", &c);
	assert_int_equal(c.tenancy.public_read_columns.n, 0);
	assert_int_equal(c.tenancy.anon_roles.n, 0);
	gm_config_release(&c);
}

static void test_unknown_keys_are_errors_at_their_place(void **state)
{
	struct gm_error *err;

	(void)state;
	err = fails("migrations: m\nhistory_schema: audit\n", 2, 1, "unknown key 'history_schema' in the project file");
	assert_non_null(strstr(err->msg, "(expected environments, migrations, snapshot, timeouts, tenancy, trusted_roles, lint)"));
	assert_non_null(strstr(err->advice, "not configurable"));
	gm_error_free(err);
	fails_free("tenancy:\n  columns: [a]\n  colums: [b]\n", 3, 3, "unknown key 'colums' in tenancy (expected columns,");
	fails_free("timeouts:\n  lock_timeout: 5s\n", 2, 3, "unknown key 'lock_timeout' in timeouts (expected lock, statement, wait)");
	fails_free("environments:\n  prod:\n    uri: postgresql://h/db\n", 3, 5,
		   "unknown key 'uri' in environment 'prod' (expected url, url_env)");
	fails_free("tenancy:\n  columns: [a]\n  columns: [b]\n", 3, 3, "duplicate key 'columns' in tenancy");
	fails_free("environments:\n  a: postgresql://h/a\n  a: postgresql://h/b\n", 3, 3, "environment 'a' defined twice");
}

static void test_wrong_types_name_the_key(void **state)
{
	(void)state;
	fails_free("- migrations\n", 1, 1, "the project file must be a mapping, not a list");
	fails_free("just text\n", 1, 1, "the project file must be a mapping, not a single value");
	fails_free("migrations: [a, b]\n", 1, 13, "migrations must be a single value, not a list");
	fails_free("migrations:\n", 1, 12, "migrations must be a single value, not nothing");
	fails_free("snapshot: ''\n", 1, 11, "snapshot must not be empty");
	fails_free("snapshot: {a: b}\n", 1, 11, "snapshot must be a single value, not a mapping");
	fails_free("timeouts: 5s\n", 1, 11, "timeouts must be a mapping, not a single value");
	fails_free("timeouts:\n  lock: [5s]\n", 2, 9, "timeouts.lock must be a duration");
	fails_free("timeouts:\n  wait: soon\n", 2, 9, "timeouts.wait must be a duration such as 500ms, 5s or 1min, not 'soon'");
	fails_free("tenancy: organization_id\n", 1, 10, "tenancy must be a mapping, not a single value");
	fails_free("tenancy:\n  columns: organization_id\n", 2, 12, "tenancy.columns must be a list of names, not a single value");
	fails_free("tenancy:\n  columns: []\n", 2, 12, "tenancy.columns must name at least one");
	fails_free("tenancy:\n  schemas: []\n", 2, 12, "tenancy.schemas must name at least one");
	fails_free("tenancy:\n  columns: [a, '']\n", 2, 16, "each entry of tenancy.columns must be a name, not an empty value");
	fails_free("tenancy:\n  global_tables: [a, [b]]\n", 2, 22, "each entry of tenancy.global_tables must be a name, not a list");
	fails_free("tenancy:\n  anon_roles: [anon, anon]\n", 2, 22, "tenancy.anon_roles names 'anon' twice");
	fails_free("tenancy:\n  expression: ''\n", 2, 15, "tenancy.expression must not be empty");
	fails_free("tenancy:\n  expression: [a]\n", 2, 15, "tenancy.expression must be a single value, not a list");
	fails_free("tenancy:\n  set_tenant: SELECT set_config('a', 'b', true)\n", 2, 15, "must take the tenant as $1");
	fails_free("tenancy:\n  set_tenant: SELECT set_config($2, $1, true)\n", 2, 15, "and no other parameter");
	fails_free("tenancy:\n  set_tenant: SELECT set_config('a', $10, true)\n", 2, 15, "must take the tenant as $1");
	fails_free("environments: [local]\n", 1, 15, "environments must be a mapping of names to URLs, not a list");
	fails_free("environments:\n  local: [postgresql://h/db]\n", 2, 10, "environment 'local' must be a URL or a mapping with url or url_env, not a list");
	fails_free("environments:\n  local:\n    url_env: A\n    url: postgresql://h/db\n", 2, 3, "has both url and url_env");
	fails_free("environments:\n  local: {}\n", 2, 3, "environment 'local' needs url or url_env");
	fails_free("environments:\n  'my env': postgresql://h/db\n", 2, 3, "an environment's name is letters, digits");
}

static void test_malformed_yaml_aliases_and_documents(void **state)
{
	struct gm_strbuf deep = GM_STRBUF_INIT;

	(void)state;
	fails_free("tenancy:\n\tcolumns: [a]\n", 2, 1, "tab character");
	fails_free("migrations: a\n bad: b\n", 2, 5, "mapping values are not allowed");
	fails_free("migrations: \"db\n", 2, 1, "found unexpected end of stream while scanning a quoted scalar");
	fails_free("migrations: &m db\nsnapshot: *m\n", 2, 11, "alias '*m'");
	fails_free("migrations: db\n---\nsnapshot: s\n", 2, 1, "a second YAML document");
	fails_free("migrations: \"a\\0b\"\n", 1, 13, "NUL character");
	/* However deep a file nests, the reader stops at the first value of
	 * the wrong shape. */
	gm_strbuf_adds(&deep, "tenancy:\n  columns: [");
	for (int k = 0; k < 100000; k++)
		gm_strbuf_addch(&deep, '[');
	fails_free(deep.buf, 2, 13, "each entry of tenancy.columns must be a name, not a list");
	gm_strbuf_release(&deep);
}

/* Renders err as the command line would, and checks secret is nowhere. */
static void assert_hidden(struct gm_error *err, const char *secret)
{
	struct gm_strbuf out = GM_STRBUF_INIT;

	gm_report_error(err, &out);
	if (strstr(out.buf, secret))
		fail_msg("'%s' shown in:\n%s", secret, out.buf);
	assert_null(err->src_line);
	gm_strbuf_release(&out);
	gm_error_free(err);
}

static void test_a_password_is_refused_and_never_shown(void **state)
{
	static const struct {
		const char *text;
		unsigned line, col;
	} cases[] = {
		{ "environments:\n  local: postgresql://postgres:SECRET@localhost/garage\n", 2, 10 },
		{ "environments:\n  local: postgres://u:SECRET@h/db\n", 2, 10 },
		{ "environments:\n  local:\n    url: postgresql://h/db?sslmode=disable&password=SECRET\n", 3, 10 },
		/* libpq decodes parameter names too */
		{ "environments:\n  local: postgresql://h/db?pass%77ord=SECRET\n", 2, 10 },
		{ "environments:\n  local: host=h dbname=d password=SECRET\n", 2, 10 },
		{ "environments:\n  local: \"host=h password='SEC RET'\"\n", 2, 10 },
		{ "environments:\n  local: host=h sslpassword=SECRET\n", 2, 10 },
		/* In a URL too, even one libpq cannot read (it would quote it). */
		{ "environments:\n  local: postgresql://h/db?sslpassword=SECRET%zz\n", 2, 10 },
		{ "environments:\n  local: postgresql://h/db?ssl%70assword=SECRET\n", 2, 10 },
		/* An unencoded '@': libpq would cut the password there. */
		{ "environments:\n  local: postgresql://u:pre@SECRET@h/db\n", 2, 10 },
		/* A password key of its own. */
		{ "environments:\n  local:\n    url: postgresql://h/db\n    password: SECRET\n", 4, 5 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct gm_error *err = fails(cases[k].text, cases[k].line, cases[k].col,
					     "environment 'local' has a password in the project file (not shown)");
		assert_non_null(strstr(err->advice, "PGPASSWORD"));
		assert_non_null(strstr(err->advice, ".pgpass"));
		assert_non_null(strstr(err->advice, "url_env"));
		assert_hidden(err, "SEC");
	}
	/* An unreadable string may hold one: it is not quoted either. */
	assert_hidden(fails("environments:\n  local: host=h password='SECRET\n", 2, 10,
			    "invalid connection string (not shown"), "SECRET");
	assert_hidden(fails("environments:\n  local:\n    url_env: postgresql://u:SECRET@h/db\n", 3, 14,
			    "url_env must name an environment variable"), "SECRET");
	/* A line that does not parse is not shown: it may be the one. */
	assert_hidden(fails("environments:\n  local: \"postgresql://u:SECRET@h/db\n", 3, 1, "end of stream"),
		      "SECRET");
	/* Without a password, a URL that libpq cannot read is named. */
	gm_error_free(fails("environments:\n  local: postgresql://h/db?nosuchparam=1\n", 2, 10,
			    "invalid URI query parameter: \"nosuchparam\""));
}

static void test_url_env_reads_the_variable(void **state)
{
	struct gm_config c;
	struct gm_error *err;
	const char *url = NULL;

	(void)state;
	parse_ok("garage-migrate.yaml",
		 "environments:\n  prod:\n    url_env: GM_TEST_PROD_URL\n  local: postgresql://h/local\n", &c);
	assert_int_equal(unsetenv("GM_TEST_PROD_URL"), 0);
	err = gm_config_env_url(&c, gm_config_find_env(&c, "prod"), &url);
	assert_non_null(err);
	assert_int_equal(err->kind, GM_ERR_USAGE);
	assert_string_equal(err->msg, "environment 'prod' takes its URL from $GM_TEST_PROD_URL, which is not set");
	gm_error_free(err);
	assert_int_equal(setenv("GM_TEST_PROD_URL", "", 1), 0);
	err = gm_config_env_url(&c, gm_config_find_env(&c, "prod"), &url);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "which is empty"));
	gm_error_free(err);
	/* A password in the variable is its business: it is not in the file. */
	assert_int_equal(setenv("GM_TEST_PROD_URL", "postgresql://u:pw@prod/db", 1), 0);
	assert_null(gm_config_env_url(&c, gm_config_find_env(&c, "prod"), &url));
	assert_string_equal(url, "postgresql://u:pw@prod/db");
	assert_null(gm_config_env_url(&c, gm_config_find_env(&c, "local"), &url));
	assert_string_equal(url, "postgresql://h/local");
	unsetenv("GM_TEST_PROD_URL");
	{
		char *names = gm_config_env_names(&c);
		assert_string_equal(names, "prod, local");
		free(names);
	}
	gm_config_release(&c);
}

static void test_relative_paths_are_relative_to_the_file(void **state)
{
	struct gm_config c;

	(void)state;
	parse_ok("conf/garage-migrate.yaml", "migrations: db/migrations\nsnapshot: /srv/snapshot.yaml\n", &c);
	assert_string_equal(c.migrations, "conf/db/migrations");
	assert_string_equal(c.snapshot, "/srv/snapshot.yaml");
	gm_config_release(&c);
	/* The defaults too: the file's folder is the project's. */
	parse_ok("/work/proj/garage-migrate.yaml", "", &c);
	assert_string_equal(c.migrations, "/work/proj/migrations");
	assert_string_equal(c.snapshot, "/work/proj/schema/snapshot.yaml");
	gm_config_release(&c);
	parse_ok("/garage-migrate.yaml", "migrations: m\n", &c);
	assert_string_equal(c.migrations, "/m");
	gm_config_release(&c);
	parse_ok("garage-migrate.yaml", "migrations: ../m\n", &c);
	assert_string_equal(c.migrations, "../m");
	gm_config_release(&c);
}

/* lint: rule -> level; unknown rules are errors where they are. */
static void test_lint_levels(void **state)
{
	struct gm_config c;

	(void)state;
	parse_ok("garage-migrate.yaml", "lint:\n  drop_table: warning\n  rename_column: off\n  not_analysed: note\n", &c);
	assert_int_equal(c.lint.n, 3);
	assert_int_equal(gm_lint_levels_get(&c.lint, "drop_table"), GM_LINT_WARNING);
	assert_int_equal(gm_lint_levels_get(&c.lint, "rename_column"), GM_LINT_OFF);
	assert_int_equal(gm_lint_levels_get(&c.lint, "not_analysed"), GM_LINT_NOTE);
	assert_int_equal(gm_lint_levels_get(&c.lint, "truncate"), -1);
	gm_config_release(&c);
	parse_ok("garage-migrate.yaml", "lint:\n", &c);
	assert_int_equal(c.lint.n, 0);
	gm_config_release(&c);
	fails_free("lint:\n  drop_table: off\n  drop_tabel: off\n", 3, 3, "unknown lint rule 'drop_tabel'");
	fails_free("lint:\n  drop_table: loud\n", 2, 15, "lint.drop_table must be error, warning, note or off, not 'loud'");
	fails_free("lint:\n  drop_table: [off]\n", 2, 15, "a lint rule's level must be error, warning, note or off, not a list");
	fails_free("lint:\n  drop_table: off\n  drop_table: error\n", 3, 3, "duplicate key 'drop_table' in lint");
	fails_free("lint:\n  lint_ignore_invalid: off\n", 2, 3, "lint rule lint_ignore_invalid cannot be given a level");
	fails_free("lint:\n  not_analysed: error\n", 2, 17, "lint.not_analysed cannot be an error");
	fails_free("lint: [drop_table]\n", 1, 7, "lint must be a mapping of rules to levels, not a list");
}

static void test_the_template_is_the_defaults(void **state)
{
	struct gm_strbuf t = GM_STRBUF_INIT;
	struct gm_config c;

	(void)state;
	gm_config_template(&t);
	parse_ok("garage-migrate.yaml", t.buf, &c);
	assert_default_tenancy(&c.tenancy);
	assert_string_equal(c.migrations, "migrations");
	assert_string_equal(c.snapshot, "schema/snapshot.yaml");
	assert_null(c.lock_timeout);
	assert_null(c.statement_timeout);
	assert_string_equal(c.wait_timeout, "10min");
	assert_int_equal(c.nenvs, 0);
	/* Every key is there, for the reader to find. */
	for (const char *const *k = (const char *const[]){ "environments:", "migrations:", "snapshot:", "timeouts:",
		"lock:", "statement:", "wait:", "tenancy:", "columns:", "expression:", "set_tenant:", "schemas:",
		"public_read_columns:", "global_tables:", "anon_roles:", "url_env:", "lint:", NULL }; *k; k++)
		if (!strstr(t.buf, *k))
			fail_msg("the template lacks %s", *k);
	/* Every rule that takes a level, commented out: naming one would fix
	 * its level, and the lock rules' own follows the table's size. */
	assert_int_equal(c.lint.n, 0);
	{
		size_t n;
		const struct gm_lint_rule *rules = gm_lint_rules(&n);
		for (size_t k = 0; k < n; k++) {
			char *line = gm_xasprintf("  # %s: %s", rules[k].id, gm_lint_level_name(rules[k].level));
			if (!rules[k].fixed && !strstr(t.buf, line))
				fail_msg("the template lacks %s", line);
			free(line);
		}
	}
	gm_config_release(&c);
	gm_strbuf_release(&t);
}

static void test_load_from_disk(void **state)
{
	char *dir = tfs_tempdir(), *path = gm_xasprintf("%s/garage-migrate.yaml", dir);
	char *missing = gm_xasprintf("%s/nope.yaml", dir), *big;
	struct gm_config c;
	struct gm_error *err;

	(void)state;
	/* Optional and absent: the defaults, no file. */
	assert_null(gm_config_load(missing, 1, &c));
	assert_null(c.path);
	assert_default_tenancy(&c.tenancy);
	gm_config_release(&c);
	/* Named (-c) and absent: an error. */
	err = gm_config_load(missing, 0, &c);
	assert_non_null(err);
	assert_int_equal(err->kind, GM_ERR_INPUT);
	assert_string_equal(err->file, missing);
	assert_non_null(strstr(err->msg, "cannot open the project file"));
	assert_non_null(strstr(err->advice, "init"));
	assert_default_tenancy(&c.tenancy);
	gm_error_free(err);
	gm_config_release(&c);
	/* A folder is no project file. */
	err = gm_config_load(dir, 1, &c);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "is a folder"));
	gm_error_free(err);
	gm_config_release(&c);
	tfs_write(dir, "garage-migrate.yaml", "migrations: m\ntenancy:\n  columns: [tenant_id]\n");
	assert_null(gm_config_load(path, 1, &c));
	assert_string_equal(c.path, path);
	assert_string_equal(c.tenancy.columns.v[0], "tenant_id");
	assert_true(strlen(c.migrations) > 2 && !strcmp(c.migrations + strlen(c.migrations) - 2, "/m"));
	gm_config_release(&c);
	/* Bounded size. */
	big = gm_xmalloc(GM_CONFIG_MAX_BYTES + 16);
	memset(big, '#', GM_CONFIG_MAX_BYTES + 15);
	big[GM_CONFIG_MAX_BYTES + 15] = '\0';
	tfs_write(dir, "garage-migrate.yaml", big);
	free(big);
	err = gm_config_load(path, 1, &c);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "larger than 1 MiB"));
	gm_error_free(err);
	gm_config_release(&c);
	free(path);
	free(missing);
	tfs_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_file_and_empty_file_mean_the_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_absent_keys_keep_their_defaults),
		cmocka_unit_test(test_unknown_keys_are_errors_at_their_place),
		cmocka_unit_test(test_wrong_types_name_the_key),
		cmocka_unit_test(test_malformed_yaml_aliases_and_documents),
		cmocka_unit_test(test_a_password_is_refused_and_never_shown),
		cmocka_unit_test(test_url_env_reads_the_variable),
		cmocka_unit_test(test_relative_paths_are_relative_to_the_file),
		cmocka_unit_test(test_lint_levels),
		cmocka_unit_test(test_the_template_is_the_defaults),
		cmocka_unit_test(test_load_from_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
