/* Integration tests: what a person at a terminal and a CI job meet first
 * (issue 16): help, version, the names other tools use, durations with
 * their unit, new's version styles, list's counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gm_strbuf.h"
#include "pgtest.h"

static void test_help_version_and_aliases(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s help", pgt_bin()), 0);
	assert_contains(out, "usage: garage-migrate [-c FILE]");
	assert_contains(out, "(status and info are other names of list)");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s help rollback", pgt_bin()), 0);
	assert_contains(out, "usage: garage-migrate rollback");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s help frobnicate", pgt_bin()), 2);
	assert_contains(err, "unknown command 'frobnicate'");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -V", pgt_bin()), 0);
	assert_contains(out, "garage-migrate ");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s status --help", pgt_bin()), 0);
	assert_contains(out, "usage: garage-migrate list");
	free(out);
	free(err);
	/* Commands list only the global options that apply to them. */
	assert_int_equal(pgt_run(&out, &err, "%s new --help", pgt_bin()), 0);
	assert_not_contains(out, "--database-url");
	assert_contains(out, "--migrations DIR");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s log --help", pgt_bin()), 0);
	assert_contains(out, "--database-url");
	assert_not_contains(out, "--migrations DIR");
	free(out);
	free(err);
}

static void test_info_and_status_are_list(void **state)
{
	char *db = pgt_create_db("gm_cli_alias"), *a, *b, *err;

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_gm(&a, &err, db, "list"), 0);
	free(err);
	assert_int_equal(pgt_gm(&b, &err, db, "info"), 0);
	assert_string_equal(a, b);
	free(b);
	free(err);
	assert_int_equal(pgt_gm(&b, &err, db, "status --format json"), 0);
	assert_contains(b, "{\"format_version\":1,\"history_table\":");
	free(a);
	free(b);
	free(err);
	free(db);
}

static void test_new_version_styles(void **state)
{
	char *dir = tfs_tempdir(), *out, *err;

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s new first --timestamp -m '%s/ts'", pgt_bin(), dir), 0);
	/* 14 digits, then _first.sql */
	assert_int_equal(strlen(strrchr(out, '/') + 1), strlen("20261126063513_first.sql\n"));
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -m '%s/n' new a", pgt_bin(), dir), 0);
	assert_contains(out, "/n/0001_a.sql");
	free(out);
	free(err);
	/* -m after the name is the folder too. */
	assert_int_equal(pgt_run(&out, &err, "%s new b -m '%s/n'", pgt_bin(), dir), 0);
	assert_contains(out, "/n/0002_b.sql");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s new c --timestamp -m '%s/n'", pgt_bin(), dir), 2);
	assert_contains(err, "--timestamp: the folder numbers its migrations (newest 0002)");
	free(out);
	free(err);
	tfs_rmdir(dir);
}

/* Text and JSON count the same way: a modified migration is not also
 * counted as applied; list still exits 0 (verify is the gate). */
static void test_list_counts_agree(void **state)
{
	char *db = pgt_create_db("gm_cli_list"), *dir = tfs_tempdir(), *out, *err;

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id int);\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id bigint);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list"), 0);
	assert_contains(out, "2 migrations: 1 applied, 0 pending, 1 modified\n");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list --format json"), 0);
	assert_contains(out, "\"summary\":{\"total\":2,\"applied\":1,\"pending\":0,\"modified\":1,");
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

/* The role up connects as cannot create garage-migrate's schema: exit 7
 * with what to do, not a bare permission error. */
static void test_missing_privilege_is_explained(void **state)
{
	char *db = pgt_create_db("gm_cli_priv"), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "DROP ROLE IF EXISTS gm_cli_weak; CREATE ROLE gm_cli_weak LOGIN");
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s user=gm_cli_weak' -m '%s/migrations' up", pgt_bin(), db,
				 pgt_root()), 7);
	assert_contains(err, "permission denied for database");
	assert_contains(err, "what to do: the role lacks a privilege garage-migrate's bookkeeping needs: CREATE on the database");
	free(out);
	free(err);
	PQfinish(c);
	c = pgt_connect("postgres");
	pgt_exec(c, "DROP ROLE gm_cli_weak");
	PQfinish(c);
	free(db);
}

/* make uninstall into a staging folder leaves nothing behind. */
static void test_uninstall_leaves_no_folders(void **state)
{
	char *dir = tfs_tempdir(), *bin = gm_xstrdup(pgt_bin()), *out, *err, *stage;
	struct stat st;

	(void)state;
	*strrchr(bin, '/') = '\0';	/* the build folder */
	assert_int_equal(pgt_run(&out, &err, "make -s -C '%s' BUILD='%s' install DESTDIR='%s/stage'", pgt_root(), bin, dir), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "test -x '%s/stage/usr/local/bin/garage-migrate'", dir), 0);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "make -s -C '%s' BUILD='%s' uninstall DESTDIR='%s/stage'", pgt_root(), bin, dir), 0);
	free(out);
	free(err);
	stage = gm_xasprintf("%s/stage", dir);
	assert_int_not_equal(stat(stage, &st), 0);
	free(stage);
	free(bin);
	tfs_rmdir(dir);
}

/* verify that cannot run still writes its reports, carrying the error. */
static void test_verify_reports_when_it_cannot_run(void **state)
{
	char *dir = tfs_tempdir(), *out, *err, *xml, *path;

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s -d 'postgresql://u:S3cretPw@/db?host=/nonexistent' verify"
				 " --format json --junit '%s/r.xml'", pgt_bin(), dir), 3);
	assert_contains(out, "{\"format_version\":1,\"ok\":false,\"error\":{\"message\":\"cannot connect to the database");
	assert_contains(out, "\"exit_code\":3,");
	assert_not_contains(out, "S3cretPw");
	path = gm_xasprintf("%s/r.xml", dir);
	xml = tfs_read(path);
	free(path);
	assert_contains(xml, "errors=\"1\"");
	assert_contains(xml, "<error message=\"cannot connect to the database");
	assert_not_contains(xml, "S3cretPw");
	free(xml);
	free(out);
	free(err);
	tfs_write(dir, "garage-migrate.yaml", "bogus: 1\n");
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s verify --format json", dir, pgt_bin()), 6);
	assert_contains(out, "\"exit_code\":6,\"file\":\"");
	assert_contains(out, "\"line\":1,\"column\":1,");
	free(out);
	free(err);
	tfs_rmdir(dir);
}

/* Colour on a terminal only (a pseudo-terminal made by script(1)); none
 * in a pipe, none with NO_COLOR or --color=never; --color=always forces it. */
static void test_color_only_on_a_terminal(void **state)
{
	char *db = pgt_create_db("gm_cli_color"), *out, *err;
	const char *verify = "-m '%s/migrations' verify --snapshot '%s/schema/snapshot.yaml'";
	char *args = gm_xasprintf(verify, pgt_root(), pgt_root());

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_run(&out, &err, "TERM=xterm script -qec \"%s -d 'dbname=%s' %s\" /dev/null", pgt_bin(), db, args), 0);
	assert_contains(out, "- \033[32mok\033[0m");
	assert_contains(out, "verify \033[32mpassed\033[0m");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "NO_COLOR=1 TERM=xterm script -qec \"%s -d 'dbname=%s' %s\" /dev/null", pgt_bin(), db,
				 args), 0);
	assert_null(strchr(out, '\033'));
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "TERM=xterm script -qec \"%s --color=never -d 'dbname=%s' %s\" /dev/null", pgt_bin(),
				 db, args), 0);
	assert_null(strchr(out, '\033'));
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' %s", pgt_bin(), db, args), 0);	/* a pipe */
	assert_null(strchr(out, '\033'));
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s --color=always -d 'dbname=%s' %s", pgt_bin(), db, args), 0);
	assert_contains(out, "\033[32m");
	free(out);
	free(err);
	/* Errors on stderr too. */
	assert_int_equal(pgt_run(&out, &err, "TERM=xterm script -qec \"%s -d 'host=/nonexistent' list\" /dev/null", pgt_bin()), 3);
	assert_contains(out, "\033[1mgarage-migrate\033[0m: cannot connect");
	free(out);
	free(err);
	free(args);
	free(db);
}

/* The completion scripts load, complete a command and an option on Tab
 * (bash by its completion function, zsh in a real interactive shell on a
 * pseudo-terminal), complete environments and versions through the tool,
 * and know every option each command's --help lists. */
static void test_shell_completion(void **state)
{
	static const char *const cmds[] = { "up", "lint", "list", "rollback", "baseline", "repair", "verify", "dump",
					    "log", "new", "init" };
	char *dir = tfs_tempdir(), *bin = gm_xstrdup(pgt_bin()), *out, *err, *bash, *zsh, *path;

	(void)state;
	*strrchr(bin, '/') = '\0';
	assert_int_equal(pgt_run(&out, &err, "bash -n '%s/completion/garage-migrate.bash' && zsh -n '%s/completion/_garage-migrate'",
				 pgt_root(), pgt_root()), 0);
	free(out);
	free(err);
	tfs_write(dir, "garage-migrate.yaml", "environments:\n  staging: postgresql://x@h/db\n");
	assert_int_equal(pgt_run(NULL, NULL, "mkdir '%s/migrations'", dir), 0);
	tfs_write(dir, "migrations/0001_a.sql", "SELECT 1;\n");
	tfs_write(dir, "migrations/0002_b.sql", "SELECT 2;\n");
	if (pgt_run(&out, &err, "bash '%s/tests/completion/complete.bash' '%s/completion' '%s' '%s'", pgt_root(), pgt_root(),
		    bin, dir) != 0)
		fail_msg("bash completion:\n%s%s", out, err);
	free(out);
	free(err);
	if (pgt_run(&out, &err, "timeout 60 zsh -f '%s/tests/completion/complete.zsh' '%s/completion' '%s'", pgt_root(),
		    pgt_root(), bin) != 0)
		fail_msg("zsh completion:\n%s%s", out, err);
	free(out);
	free(err);
	path = gm_xasprintf("%s/completion/garage-migrate.bash", pgt_root());
	bash = tfs_read(path);
	free(path);
	path = gm_xasprintf("%s/completion/_garage-migrate", pgt_root());
	zsh = tfs_read(path);
	free(path);
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		char *line, *save = NULL;
		assert_int_equal(pgt_run(&out, &err, "%s %s --help | grep -oE -- '--[a-z][a-z-]*' | sort -u", pgt_bin(), cmds[k]), 0);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (!strstr(bash, line) || !strstr(zsh, line))
				fail_msg("%s's option %s is missing from a completion script", cmds[k], line);
		free(out);
		free(err);
	}
	free(bash);
	free(zsh);
	free(bin);
	tfs_rmdir(dir);
}

/* up and rollback for machines: one JSON object with what happened, and
 * the error (file, line, SQLSTATE) when one stopped the run. */
static void test_up_and_rollback_json(void **state)
{
	char *db = pgt_create_db("gm_cli_json"), *dir = tfs_tempdir(), *out, *err;

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id uuidd);\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --format json"), 4);
	assert_contains(out, "{\"format_version\":1,\"ok\":false,\"dry_run\":false,\"applied\":[{\"version\":\"0001\","
			     "\"name\":\"a\",\"file\":\"");
	assert_contains(out, "\"pending\":2,\"error\":{\"message\":\"type \\\"uuidd\\\" does not exist\",\"exit_code\":4,");
	assert_contains(out, "0002_b.sql\",\"line\":1,\"column\":20,\"sqlstate\":\"42704\"");
	free(out);
	free(err);
	/* The lint before up: its findings in the object, not on stderr. */
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id uuid);\nTRUNCATE a;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --format json"), 9);
	assert_contains(out, "\"applied\":[],\"skipped\":[],\"lint\":{\"ok\":false,\"findings\":[{");
	assert_contains(out, "{\"rule\":\"truncate\",\"group\":\"destructive\",\"level\":\"error\",");
	assert_contains(out, "\"error\":{\"message\":\"up stopped by the lint before anything was sent");
	assert_not_contains(err, "truncate");
	free(out);
	free(err);
	tfs_write(dir, "0002_b.sql", "CREATE TABLE b (id uuid);\n-- garage:down\nDROP TABLE b;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up --format json"), 0);
	assert_contains(out, "\"ok\":true,\"dry_run\":false,\"applied\":[{\"version\":\"0002\"");
	assert_contains(out, "\"lint\":{\"ok\":true,\"findings\":[{\"rule\":\"create_table_without_rls\",");
	assert_contains(out, "\"error\":null}");
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --format json --to 0"), 0);
	assert_contains(out, "{\"format_version\":1,\"ok\":true,\"dry_run\":false,\"rolled_back\":[{\"version\":\"0002\"");
	assert_contains(out, "\"removed\":\"table public.b (0 rows)\"}");
	assert_contains(out, "\"sequences_moved\":null,\"error\":null}");
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

/* verify --isolation shows its progress on a terminal (redrawn in place,
 * cleared before the report), and nothing of it in a pipe. */
static void test_probe_progress_on_a_terminal(void **state)
{
	char *db = pgt_create_db("gm_cli_progress"), *out, *err;
	char *args = gm_xasprintf("-m '%s/migrations' verify --isolation --snapshot '%s/schema/snapshot.yaml'", pgt_root(),
				  pgt_root());

	(void)state;
	assert_int_equal(pgt_gm(NULL, NULL, db, "up"), 0);
	assert_int_equal(pgt_run(&out, &err, "TERM=xterm script -qec \"%s -d 'dbname=%s' %s\" /dev/null", pgt_bin(), db, args), 0);
	assert_contains(out, "\r\033[Kisolation: 1 check, ");
	assert_contains(out, "\r\033[Kisolation: 94 checks, ");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' %s", pgt_bin(), db, args), 0);
	assert_null(strchr(err, '\r'));
	assert_null(strchr(out, '\r'));
	free(out);
	free(err);
	free(args);
	free(db);
}

/* up and rollback on a terminal: a line when each migration starts,
 * redrawn with the seconds ticking while a slow one runs, then replaced
 * by its final line; in a pipe only the final lines, no control code. */
static void test_up_and_rollback_progress_on_a_terminal(void **state)
{
	char *db = pgt_create_db("gm_cli_progress_up"), *dir = tfs_tempdir(), *out, *err;
	const char *tty = "TERM=xterm script -qec \"%s -d 'dbname=%s' -m '%s' %s\" /dev/null";

	(void)state;
	tfs_write(dir, "0001_a.sql", "CREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	tfs_write(dir, "0002_slow.sql", "SELECT pg_sleep(1.3);\n-- garage:down\nSELECT pg_sleep(1.3);\n");
	tfs_write(dir, "0003_c.sql", "CREATE TABLE c (id int);\n-- garage:down\nDROP TABLE c;\n");
	assert_int_equal(pgt_run(&out, &err, tty, pgt_bin(), db, dir, "up"), 0);
	assert_contains(out, "\r\033[Kapplying 0001_a.sql ...");
	assert_contains(out, "\r\033[Kapplying 0002_slow.sql ... 1s");
	assert_contains(out, "\r\033[Kapplied 0002_slow.sql (");
	assert_contains(out, "\r\033[Kapplying 0003_c.sql ...");
	assert_contains(out, "3 migrations applied");
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, tty, pgt_bin(), db, dir, "rollback --to 0"), 0);
	assert_contains(out, "\r\033[Krolling back 0003_c.sql ...");
	assert_contains(out, "\r\033[Krolling back 0002_slow.sql ... 1s");
	assert_contains(out, "\r\033[Krolled back 0003_c.sql (");
	assert_contains(out, "3 migrations rolled back");
	free(out);
	free(err);
	/* A pipe: the same final lines, nothing else. */
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 0);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	assert_contains(out, "applied 0001_a.sql (");
	assert_null(strstr(out, "applying"));
	free(out);
	free(err);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "rollback --to 0"), 0);
	assert_null(strchr(out, '\r'));
	assert_null(strstr(out, "rolling back"));
	assert_contains(out, "rolled back 0002_slow.sql (");
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

/* The keys of a JSON text (or of the man page's sketch of one, which has
 * "..." where values go), in order of first appearance, each once, each
 * between newlines ("\nk1\nk2\n"): every string followed by a colon. */
static char *json_keys(const char *s)
{
	struct gm_strbuf keys = GM_STRBUF_INIT;

	while ((s = strchr(s, '"'))) {
		const char *start = ++s;
		char *line;
		while (*s && *s != '"')
			s += (*s == '\\' && s[1]) ? 2 : 1;
		if (!*s)
			break;
		line = gm_xasprintf("\n%.*s\n", (int)(s - start), start);
		s++;
		while (*s == ' ' || *s == '\n')
			s++;
		if (*s == ':' && !strstr(keys.buf, line))
			gm_strbuf_adds(&keys, keys.len ? line + 1 : line);
		free(line);
	}
	return gm_strbuf_detach(&keys, NULL);
}

/* The man page's JSON sketch whose first keys are these, or NULL. */
static char *man_json(const char *man, const char *first_keys)
{
	const char *p = man;

	while ((p = strstr(p, ".Bd -literal -offset indent\n{\"format_version\""))) {
		const char *start = strchr(p, '{'), *end = strstr(start, "\n.Ed");
		char *block = gm_xstrndup(start, (size_t)(end - start)), *keys = json_keys(block);
		int match = !strncmp(keys, first_keys, strlen(first_keys));
		free(keys);
		if (match)
			return block;
		free(block);
		p = end;
	}
	return NULL;
}

static void assert_keys_documented(const char *man, const char *first_keys, const char *out)
{
	char *doc = man_json(man, first_keys), *want, *got;

	if (!doc)
		fail_msg("no JSON sketch in garage-migrate(1) starts with the keys %s", first_keys);
	want = json_keys(doc);
	got = json_keys(out);
	if (strcmp(want, got))
		fail_msg("the JSON keys differ from garage-migrate(1):\n--- documented\n%s\n--- printed\n%s\n--- output\n%s", want,
			 got, out);
	free(want);
	free(got);
	free(doc);
}

/* Every JSON output has exactly the keys its sketch in the man page shows,
 * in the same order: a key added, renamed or dropped must be documented. */
static void test_json_keys_are_documented(void **state)
{
	char *db = pgt_create_db("gm_cli_json_keys"), *dir = tfs_tempdir(), *out, *err;
	char *man_path = gm_xasprintf("%s/man/garage-migrate.1", pgt_root()), *man = tfs_read(man_path);
	char *verify = gm_xasprintf("verify --format json --snapshot '%s/schema/snapshot.yaml'", pgt_root());
	PGconn *c;

	(void)state;
	assert_int_equal(pgt_gm(&out, &err, db, "up --format json"), 0);
	assert_keys_documented(man, "\nformat_version\nok\ndry_run\napplied\n", out);
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "list --format json"), 0);
	assert_keys_documented(man, "\nformat_version\nhistory_table\n", out);
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "log --format json"), 0);
	assert_keys_documented(man, "\nformat_version\naudit_log\n", out);
	free(out);
	free(err);
	c = pgt_connect(db);
	pgt_exec(c, "CREATE TABLE public.not_in_the_snapshot (id int)");
	PQfinish(c);
	assert_int_equal(pgt_gm(&out, &err, db, verify), 1);
	assert_keys_documented(man, "\nformat_version\nok\nsnapshot\n", out);
	free(out);
	free(err);
	assert_int_equal(pgt_run(&out, &err, "%s -d 'host=/nonexistent' %s", pgt_bin(), verify), 3);
	assert_keys_documented(man, "\nformat_version\nok\nerror\nmessage\n", out);
	free(out);
	free(err);
	assert_int_equal(pgt_gm(&out, &err, db, "rollback --format json --allow-data-loss"), 0);
	assert_keys_documented(man, "\nformat_version\nok\ndry_run\nrolled_back\n", out);
	free(out);
	free(err);
	tfs_write(dir, "0009_x.sql", "ALTER TABLE organizations ALTER COLUMN name TYPE text;\n");
	assert_int_equal(pgt_run(&out, &err, "cd '%s' && %s lint --format json 0009_x.sql", dir, pgt_bin()), 1);
	assert_keys_documented(man, "\nformat_version\nok\nfindings\n", out);
	free(out);
	free(err);
	free(verify);
	free(man);
	free(man_path);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_version_and_aliases),
		cmocka_unit_test(test_info_and_status_are_list),
		cmocka_unit_test(test_new_version_styles),
		cmocka_unit_test(test_list_counts_agree),
		cmocka_unit_test(test_missing_privilege_is_explained),
		cmocka_unit_test(test_uninstall_leaves_no_folders),
		cmocka_unit_test(test_verify_reports_when_it_cannot_run),
		cmocka_unit_test(test_color_only_on_a_terminal),
		cmocka_unit_test(test_shell_completion),
		cmocka_unit_test(test_up_and_rollback_json),
		cmocka_unit_test(test_probe_progress_on_a_terminal),
		cmocka_unit_test(test_up_and_rollback_progress_on_a_terminal),
		cmocka_unit_test(test_json_keys_are_documented),
	};
	return cmocka_run_group_tests_name("the command line", tests, NULL, NULL);
}
