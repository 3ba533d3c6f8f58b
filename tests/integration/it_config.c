/* Integration tests: the project file, garage-migrate.yaml, from the
 * command line.  --env picks an environment's URL (written, or read from
 * its url_env variable); the database is -d, else --env's, else
 * $DATABASE_URL, else libpq's variables; an unknown environment is a
 * usage error; init writes a file that loads; -c names a file that must
 * exist; the file's migrations folder, snapshot and timeouts are used; and
 * dump -o creates the folders it writes into.  Issue 13, items 1 and 5. */
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

/* One migration that leaves a mark: which database got it tells which
 * database a run connected to. */
#define MARKER_MIGRATION "-- garage:up\nCREATE TABLE marker (id int PRIMARY KEY);\n-- garage:down\nDROP TABLE marker;\n"

struct fixture {
	char *dir;	/* the project: garage-migrate.yaml, migrations/ */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *migs;

	f->dir = tfs_tempdir();
	migs = gm_xasprintf("%s/migrations", f->dir);
	assert_int_equal(mkdir(migs, 0755), 0);
	tfs_write(migs, "0001_marker.sql", MARKER_MIGRATION);
	free(migs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tfs_rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs "cd dir && env garage-migrate args": env is assignments for the
 * command (DATABASE_URL is unset unless env sets it). */
static int gm_in(char **out, char **err, const char *dir, const char *env, const char *args)
{
	return pgt_run(out, err, "cd '%s' && unset DATABASE_URL && %s %s %s", dir, env ? env : "", pgt_bin(), args);
}

static int has_marker(const char *db)
{
	PGconn *c = pgt_connect(db);
	int yes = !pgt_is_null(c, "SELECT to_regclass('public.marker')");

	PQfinish(c);
	return yes;
}

static void write_config(const struct fixture *f, const char *text)
{
	tfs_write(f->dir, "garage-migrate.yaml", text);
}

static void test_env_picks_the_url_or_its_variable(void **state)
{
	struct fixture *f = *state;
	char *a = pgt_create_db("gm_cfg_a"), *b = pgt_create_db("gm_cfg_b"), *cfg, *env, *out, *err;

	cfg = gm_xasprintf("environments:\n"
			   "  local: dbname=%s\n"
			   "  production:\n"
			   "    url_env: GM_IT_PROD_URL\n", a);
	write_config(f, cfg);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-e local up"), 0);
	assert_true(has_marker(a));
	assert_false(has_marker(b));
	free(out);
	free(err);
	/* The variable holds the URL, and may hold a password: not the file. */
	env = gm_xasprintf("GM_IT_PROD_URL='dbname=%s'", b);
	assert_int_equal(gm_in(&out, &err, f->dir, env, "up --env production"), 0);
	assert_true(has_marker(b));
	free(out);
	free(err);
	/* Unset: an error naming it, before anything connects. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-e production list"), 2);
	assert_contains(err, "environment 'production' takes its URL from $GM_IT_PROD_URL, which is not set");
	free(out);
	free(err);
	assert_int_equal(gm_in(&out, &err, f->dir, "GM_IT_PROD_URL=", "-e production list"), 2);
	assert_contains(err, "which is empty");
	free(out);
	free(err);
	free(env);
	free(cfg);
	free(a);
	free(b);
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;
	char *e = pgt_create_db("gm_cfg_env"), *d = pgt_create_db("gm_cfg_d"), *u = pgt_create_db("gm_cfg_url");
	char *p = pgt_create_db("gm_cfg_pg"), *cfg, *env, *args, *out, *err;

	cfg = gm_xasprintf("environments:\n  staging: dbname=%s\n", e);
	write_config(f, cfg);
	env = gm_xasprintf("DATABASE_URL='dbname=%s' PGDATABASE='%s'", u, p);
	/* -d first, over --env and $DATABASE_URL. */
	args = gm_xasprintf("-d 'dbname=%s' -e staging up", d);
	assert_int_equal(gm_in(&out, &err, f->dir, env, args), 0);
	assert_true(has_marker(d));
	assert_false(has_marker(e) || has_marker(u) || has_marker(p));
	free(out);
	free(err);
	free(args);
	/* Then --env, over $DATABASE_URL. */
	assert_int_equal(gm_in(&out, &err, f->dir, env, "up -e staging"), 0);
	assert_true(has_marker(e));
	assert_false(has_marker(u) || has_marker(p));
	free(out);
	free(err);
	/* Then $DATABASE_URL, though the file defines environments. */
	assert_int_equal(gm_in(&out, &err, f->dir, env, "up"), 0);
	assert_true(has_marker(u));
	assert_false(has_marker(p));
	free(out);
	free(err);
	free(env);
	/* Then libpq's own variables. */
	env = gm_xasprintf("PGDATABASE='%s'", p);
	assert_int_equal(gm_in(&out, &err, f->dir, env, "up"), 0);
	assert_true(has_marker(p));
	free(out);
	free(err);
	free(env);
	free(cfg);
	free(e);
	free(d);
	free(u);
	free(p);
}

static void test_unknown_env_is_a_usage_error(void **state)
{
	struct fixture *f = *state;
	char *out, *err, *path;

	write_config(f, "environments:\n  local: dbname=nowhere\n  production:\n    url_env: X\n");
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-e prod list"), 2);
	assert_contains(err, "unknown environment 'prod': garage-migrate.yaml defines local, production");
	free(out);
	free(err);
	/* Even when -d makes it moot: a typo is caught. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "list -d dbname=nowhere --env prod"), 2);
	free(out);
	free(err);
	/* No project file, no environments. */
	path = gm_xasprintf("%s/garage-migrate.yaml", f->dir);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-e local list"), 2);
	assert_contains(err, "--env local: there is no project file (garage-migrate.yaml) to define environments");
	free(out);
	free(err);
}

static void test_init_writes_a_file_that_loads(void **state)
{
	struct fixture *f = *state;
	char *db = pgt_create_db("gm_cfg_init"), *args, *path, *text, *again, *out, *err;

	path = gm_xasprintf("%s/garage-migrate.yaml", f->dir);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "init"), 0);
	assert_string_equal(out, "garage-migrate.yaml\n");
	free(out);
	free(err);
	text = tfs_read(path);
	assert_contains(text, "tenancy:\n");
	assert_contains(text, "  columns: [organization_id]\n");
	/* It loads: every command reads it, and its folders are the project's. */
	args = gm_xasprintf("-d 'dbname=%s' up", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 0);
	assert_contains(out, "applied 0001_marker.sql");
	assert_true(has_marker(db));
	free(out);
	free(err);
	/* An existing file is left alone... */
	tfs_write(f->dir, "garage-migrate.yaml", "# mine\n");
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "init"), 6);
	assert_contains(err, "garage-migrate.yaml: error: the project file already exists: left as it is");
	assert_contains(err, "init --force");
	again = tfs_read(path);
	assert_string_equal(again, "# mine\n");
	free(again);
	free(out);
	free(err);
	/* ...unless --force, which writes the same defaults. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "init --force"), 0);
	again = tfs_read(path);
	assert_string_equal(again, text);
	free(again);
	free(out);
	free(err);
	/* -c names where, folders included. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-c conf/gm.yaml init"), 0);
	assert_string_equal(out, "conf/gm.yaml\n");
	free(out);
	free(err);
	again = gm_xasprintf("%s/conf/gm.yaml", f->dir);
	free(tfs_read(again));
	free(again);
	free(text);
	free(path);
	free(args);
	free(db);
}

static void test_a_named_file_must_exist(void **state)
{
	struct fixture *f = *state;
	char *out, *err;

	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-c nope.yaml -d dbname=nowhere list"), 6);
	assert_contains(err, "nope.yaml: error: cannot open the project file: No such file or directory");
	free(out);
	free(err);
	/* After the command name too. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "new x --config nope.yaml"), 6);
	assert_contains(err, "nope.yaml: error: cannot open the project file");
	free(out);
	free(err);
	/* A bad file stops every command, with its place. */
	write_config(f, "migrations: m\nhistory_schema: audit\n");
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-d dbname=nowhere list"), 6);
	assert_contains(err, "garage-migrate.yaml:2:1: error: unknown key 'history_schema'");
	free(out);
	free(err);
	/* A password is refused and shown nowhere. */
	write_config(f, "environments:\n  local: postgresql://postgres:HUNTER2@localhost/garage\n");
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-e local list"), 6);
	assert_contains(err, "garage-migrate.yaml:2:10: error: environment 'local' has a password");
	assert_contains(err, "PGPASSWORD");
	assert_not_contains(out, "HUNTER2");
	assert_not_contains(err, "HUNTER2");
	free(out);
	free(err);
}

static void test_the_files_folders_and_timeouts_are_used(void **state)
{
	struct fixture *f = *state;
	char *db = pgt_create_db("gm_cfg_paths"), *proj, *args, *out, *err;
	PGconn *c;

	/* The project elsewhere, its file named with -c: its paths are
	 * relative to its folder, not to the working directory. */
	proj = gm_xasprintf("%s/proj", f->dir);
	assert_int_equal(mkdir(proj, 0755), 0);
	tfs_write(proj, "gm.yaml", "migrations: db/migs\nsnapshot: db/snap.yaml\ntimeouts:\n  statement: 100ms\n");
	args = gm_xasprintf("%s/db", proj);
	assert_int_equal(mkdir(args, 0755), 0);
	free(args);
	args = gm_xasprintf("%s/db/migs", proj);
	assert_int_equal(mkdir(args, 0755), 0);
	tfs_write(args, "0001_marker.sql", MARKER_MIGRATION);
	free(args);
	args = gm_xasprintf("-c proj/gm.yaml -d 'dbname=%s' up", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 0);
	assert_contains(out, "applied 0001_marker.sql");
	assert_true(has_marker(db));
	free(out);
	free(err);
	free(args);
	/* new writes into that folder too. */
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, "-c proj/gm.yaml new slow"), 0);
	assert_string_equal(out, "proj/db/migs/0002_slow.sql\n");
	free(out);
	free(err);
	/* The file's statement timeout bounds up... */
	args = gm_xasprintf("%s/db/migs", proj);
	tfs_write(args, "0002_slow.sql", "SELECT pg_sleep(1);\n");
	free(args);
	args = gm_xasprintf("-c proj/gm.yaml -d 'dbname=%s' up", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 5);
	assert_contains(err, "canceling statement due to statement timeout");
	free(out);
	free(err);
	free(args);
	/* ...unless the option says otherwise. */
	args = gm_xasprintf("-c proj/gm.yaml -d 'dbname=%s' up --statement-timeout 1min", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 0);
	assert_contains(out, "applied 0002_slow.sql");
	free(out);
	free(err);
	free(args);
	/* verify compares with the file's snapshot: dumped, then drifted. */
	args = gm_xasprintf("-c proj/gm.yaml -d 'dbname=%s' dump -o proj/db/snap.yaml", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 0);
	free(out);
	free(err);
	free(args);
	c = pgt_connect(db);
	pgt_exec(c, "ALTER TABLE marker ADD COLUMN drifted_column text");
	PQfinish(c);
	args = gm_xasprintf("-c proj/gm.yaml -d 'dbname=%s' verify", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 1);
	assert_contains(out, "drifted_column");
	assert_contains(out, "proj/db/snap.yaml");
	free(out);
	free(err);
	free(args);
	free(proj);
	free(db);
}

static void test_dump_creates_missing_folders(void **state)
{
	struct fixture *f = *state;
	char *db = pgt_create_db("gm_cfg_dump"), *args, *path, *text, *out, *err;
	struct stat st;

	args = gm_xasprintf("-d 'dbname=%s' up", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 0);
	free(out);
	free(err);
	free(args);
	/* Folders get 0777 less the umask, like mkdir -p. */
	args = gm_xasprintf("-d 'dbname=%s' dump -o new/deeper/snapshot.yaml", db);
	assert_int_equal(gm_in(&out, &err, f->dir, "umask 027 &&", args), 0);
	assert_contains(err, "to new/deeper/snapshot.yaml");
	free(out);
	free(err);
	free(args);
	path = gm_xasprintf("%s/new/deeper/snapshot.yaml", f->dir);
	text = tfs_read(path);
	assert_contains(text, "table public.marker");
	free(text);
	free(path);
	path = gm_xasprintf("%s/new/deeper", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750);
	free(path);
	/* A file in the way is reported with its reason. */
	tfs_write(f->dir, "plain", "x");
	args = gm_xasprintf("-d 'dbname=%s' dump -o plain/sub/snapshot.yaml", db);
	assert_int_equal(gm_in(&out, &err, f->dir, NULL, args), 6);
	assert_contains(err, "plain/sub/snapshot.yaml: error: cannot write: Not a directory");
	free(out);
	free(err);
	free(args);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env_picks_the_url_or_its_variable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_env_is_a_usage_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_writes_a_file_that_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_named_file_must_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_files_folders_and_timeouts_are_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_creates_missing_folders, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
