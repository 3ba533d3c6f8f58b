/* Integration tests: the bad-input corpus (tests/bad-input/) and secrets.
 * Whatever file is thrown at it, garage-migrate says precisely what is
 * wrong, with a documented exit status, and leaves the database as it
 * was; and it never prints a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

/* Nothing in public, no history schema. */
static void assert_untouched(PGconn *c, const char *name)
{
	if (!pgt_is_null(c, "SELECT to_regnamespace('garage_migrate')::text") ||
	    pgt_count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") != 0)
		fail_msg("%s: the database was changed", name);
}

static void test_corpus(void **state)
{
	char *root = gm_xasprintf("%s/tests/bad-input", pgt_root()), *db = pgt_create_db("gm_bad_corpus");
	PGconn *c = pgt_connect(db);
	struct dirent *de;
	DIR *d = opendir(root);
	size_t cases = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char *dir, *expect_path, *expect, *nl, *out, *err;
		const char *first;
		struct stat st;
		int want, rc;

		dir = gm_xasprintf("%s/%s", root, de->d_name);
		if (de->d_name[0] == '.' || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
			free(dir);
			continue;
		}
		expect_path = gm_xasprintf("%s/expect", dir);
		expect = tfs_read(expect_path);
		want = atoi(expect);
		nl = strchr(expect, '\n');
		assert_non_null(nl);
		if (strchr(nl + 1, '\n'))
			*strchr(nl + 1, '\n') = '\0';
		rc = pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s/migrations' up", pgt_bin(), db, dir);
		if (rc != want || !strstr(err, nl + 1))
			fail_msg("%s: exit %d (want %d), stderr:\n%s\nwanted: %s", de->d_name, rc, want, err, nl + 1);
		/* One line first: the message, compiler style or prefixed
		 * (after the lint's warnings, when up got that far). */
		first = strstr(err, "lint passed: ") ? strchr(strstr(err, "lint passed: "), '\n') + 1 : err;
		assert_true(strncmp(first, "garage-migrate: ", 16) == 0 || strstr(first, ": error: ") < strchr(first, '\n'));
		assert_untouched(c, de->d_name);
		free(out);
		free(err);
		free(expect);
		free(expect_path);
		free(dir);
		cases++;
	}
	closedir(d);
	assert_true(cases >= 18);
	PQfinish(c);
	free(db);
	free(root);
}

static void test_missing_folder_and_crlf(void **state)
{
	char *db = pgt_create_db("gm_bad_misc"), *dir = tfs_tempdir(), *out, *err, *a, *b;
	PGconn *c = pgt_connect(db);

	(void)state;
	assert_int_equal(pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s/nope' up", pgt_bin(), db, dir), 6);
	assert_contains(err, "/nope: error: cannot open migrations folder: No such file or directory");
	free(out);
	free(err);
	assert_untouched(c, "missing folder");

	/* CRLF works, and checksums like LF. */
	tfs_write(dir, "0001_crlf.sql", "-- garage:up\r\nCREATE TABLE a (id int);\r\n-- garage:down\r\nDROP TABLE a;\r\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 0);
	a = pgt_value(c, "SELECT checksum FROM garage_migrate.schema_history WHERE version = 1");
	tfs_write(dir, "0001_crlf.sql", "-- garage:up\nCREATE TABLE a (id int);\n-- garage:down\nDROP TABLE a;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "list --format json"), 0);
	b = gm_xasprintf("\"checksum\":\"%s\",\"applied_checksum\":\"%s\"", a, a);
	assert_contains(out, b);
	free(a);
	free(b);
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* One migrations folder holding entry (made by make_entry); up must fail
 * with exit 6 and say want, and change nothing. */
static void not_a_migration(PGconn *c, const char *db, const char *what,
			    void (*make_entry)(const char *dir), const char *want)
{
	char *dir = tfs_tempdir(), *out, *err;
	int rc;

	tfs_write(dir, "0000_first.sql", "CREATE TABLE first (id int);\n");
	make_entry(dir);
	rc = pgt_run(&out, &err, "%s -d 'dbname=%s' -m '%s' up", pgt_bin(), db, dir);
	if (rc != 6 || !strstr(err, want))
		fail_msg("%s: exit %d (want 6), stderr:\n%s\nwanted: %s", what, rc, err, want);
	assert_not_contains(err, "root:x:0:0");
	assert_not_contains(out, "root:x:0:0");
	assert_untouched(c, what);
	free(out);
	free(err);
	tfs_rmdir(dir);
}

static char *entry(const char *dir, const char *name)
{
	return gm_xasprintf("%s/%s", dir, name);
}

static void make_link_to_passwd(const char *dir)
{
	char *p = entry(dir, "0001_pw.sql");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);
}

static void make_directory(const char *dir)
{
	char *p = entry(dir, "0001_x.sql");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void make_dangling_link(const char *dir)
{
	char *p = entry(dir, "0001_x.sql");
	assert_int_equal(symlink("nowhere.sql", p), 0);
	free(p);
}

static void make_link_to_directory(const char *dir)
{
	char *sub = entry(dir, "sub"), *p = entry(dir, "0001_x.yaml");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(symlink("sub", p), 0);
	free(sub);
	free(p);
}

static void make_link_out_of_the_folder(const char *dir)
{
	char *p = entry(dir, "0001_x.sql");
	/* ../ leaves the folder, even to a file that looks like a migration. */
	assert_int_equal(symlink("../outside.sql", p), 0);
	free(p);
}

static void make_fifo(const char *dir)
{
	char *p = entry(dir, "0001_x.yml");
	assert_int_equal(mkfifo(p, 0600), 0);
	free(p);
}

static void make_upper_case(const char *dir)
{
	tfs_write(dir, "0001_a.Sql", "CREATE TABLE a (id int);\n");
}

/* Anything named like a migration is one or an error, never skipped; and a
 * symbolic link may only lead to a regular file inside the folder. */
static void test_files_that_are_not_what_they_seem(void **state)
{
	char *db = pgt_create_db("gm_bad_files"), *outside = tfs_tempdir(), *dir, *sub, *out, *err, *path;
	PGconn *c = pgt_connect(db);

	(void)state;
	not_a_migration(c, db, "link to /etc/passwd", make_link_to_passwd,
			"0001_pw.sql: error: symbolic link to /etc/passwd, outside the migrations folder");
	not_a_migration(c, db, "directory", make_directory,
			"0001_x.sql: error: not a migration file: a directory (migrations are regular files)");
	not_a_migration(c, db, "dangling link", make_dangling_link,
			"0001_x.sql: error: broken symbolic link: No such file or directory");
	not_a_migration(c, db, "link to a directory", make_link_to_directory,
			"0001_x.yaml: error: not a migration file: a symbolic link to a directory");
	not_a_migration(c, db, "FIFO", make_fifo, "0001_x.yml: error: not a migration file: a FIFO");
	not_a_migration(c, db, "upper case", make_upper_case, "0001_a.Sql: error: the extension must be lower case");
	/* The folder's parent holds outside.sql: still outside. */
	dir = gm_xasprintf("%s/migrations", outside);
	assert_int_equal(mkdir(dir, 0755), 0);
	tfs_write(outside, "outside.sql", "CREATE TABLE outside (id int);\n");
	make_link_out_of_the_folder(dir);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 6);
	assert_contains(err, "0001_x.sql: error: symbolic link to ");
	assert_contains(err, "outside the migrations folder");
	free(out);
	free(err);
	assert_untouched(c, "link out of the folder");
	free(dir);
	tfs_rmdir(outside);

	/* A link to a regular file inside the folder is a migration, also when
	 * the folder itself is reached through a link. */
	outside = tfs_tempdir();
	dir = gm_xasprintf("%s/real", outside);
	sub = gm_xasprintf("%s/real/shared", outside);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	tfs_write(sub, "a.sql", "CREATE TABLE linked (id int);\n");
	path = gm_xasprintf("%s/0001_linked.sql", dir);
	assert_int_equal(symlink("shared/a.sql", path), 0);
	free(path);
	path = gm_xasprintf("%s/via", outside);
	assert_int_equal(symlink("real", path), 0);
	assert_int_equal(pgt_gm_dir(&out, &err, db, path, "up"), 0);
	assert_false(pgt_is_null(c, "SELECT to_regclass('public.linked')::text"));
	free(out);
	free(err);
	free(path);
	free(sub);
	free(dir);
	tfs_rmdir(outside);
	PQfinish(c);
	free(db);
}

/* A server message that carries ESC (here echoing the migration's own
 * literal) reaches the terminal escaped, never raw. */
static void test_control_bytes_from_the_server_are_escaped(void **state)
{
	char *db = pgt_create_db("gm_bad_esc"), *dir = tfs_tempdir(), *out, *err;

	(void)state;
	tfs_write(dir, "0001_esc.sql", "SELECT E'\\x1b[31m\\x07\\u009b'::int;\n");
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "up"), 4);
	assert_contains(err, "0001_esc.sql:1:8: error: invalid input syntax for type integer: \"\\x1b[31m\\x07\\xc2\\x9b\"");
	assert_null(strchr(err, 0x1b));
	assert_null(strchr(err, 0x07));
	assert_null(strstr(err, "\xc2\x9b"));
	assert_null(strchr(out, 0x1b));
	free(out);
	free(err);
	tfs_rmdir(dir);
	free(db);
}

/* A failed no-transaction migration's message is the server's, quoting a
 * row's value (any tenant may have written it): repair's preview, above
 * its question, prints it escaped, as list and log do. */
static void test_repair_escapes_what_it_previews(void **state)
{
	char *db = pgt_create_db("gm_bad_rep"), *dir = tfs_tempdir(), *out, *err;
	PGconn *c = pgt_connect(db);

	(void)state;
	pgt_exec(c, "CREATE TABLE tt (s text, n int);"
		    " INSERT INTO tt (s) VALUES (E'\\x1b]0;owned\\x07\\x1b[2K\\rall good: nothing to repair')");
	tfs_write(dir, "0001_conv.sql", "-- garage:no-transaction\nUPDATE tt SET n = s::int WHERE n IS NULL;\n");
	assert_int_equal(pgt_gm_dir(NULL, NULL, db, dir, "up"), 4);
	assert_int_equal(pgt_gm_dir(&out, &err, db, dir, "repair --yes"), 0);
	assert_contains(out, "0001_conv: remove the entry of a failed no-transaction migration");
	assert_contains(out, "\\x1b]0;owned\\x07\\x1b[2K\\x0dall good");
	assert_null(strchr(out, 0x1b));
	assert_null(strchr(out, 0x07));
	assert_null(strchr(out, '\r'));
	free(out);
	free(err);
	PQfinish(c);
	tfs_rmdir(dir);
	free(db);
}

/* Runs cmd and fails when the secret shows up in anything it printed. */
static void no_secret(const char *secret, int want, const char *fmt, ...)
{
	struct gm_strbuf cmd = GM_STRBUF_INIT;
	char *out, *err;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	rc = pgt_run(&out, &err, "%s", cmd.buf);
	if (rc != want)
		fail_msg("%s: exit %d, want %d\n%s%s", cmd.buf, rc, want, out, err);
	assert_not_contains(out, secret);
	assert_not_contains(err, secret);
	free(out);
	free(err);
	gm_strbuf_release(&cmd);
}

static void test_no_secret_ever_printed(void **state)
{
	char *db = pgt_create_db("gm_secrets"), *dir = tfs_tempdir(), *pgpass;
	const char *bin = pgt_bin(), *root = pgt_root();
	const char *port = getenv("PGPORT");

	(void)state;
	/* In a URL: on a failed connection and on every successful command. */
	no_secret("UrlS3cret", 3, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/no_such_db' up", bin, port);
	no_secret("UrlS3cret", 3, "%s -d 'host=127.0.0.1 port=1 dbname=x password=UrlS3cret' list", bin);
	no_secret("UrlS3cret", 0, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/%s' -m '%s/migrations' up", bin, port, db, root);
	no_secret("UrlS3cret", 0, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/%s' -m '%s/migrations' list --format json", bin, port, db, root);
	no_secret("UrlS3cret", 0, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/%s' -m '%s/migrations' verify --snapshot '%s/schema/snapshot.yaml'",
		  bin, port, db, root, root);
	no_secret("UrlS3cret", 0, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/%s' log", bin, port, db);
	no_secret("UrlS3cret", 0, "%s -d 'postgresql://postgres:UrlS3cret@127.0.0.1:%s/%s' -m '%s/migrations' rollback --dry-run", bin, port, db, root);
	/* In PGPASSWORD and in a password file. */
	no_secret("EnvS3cret", 3, "PGPASSWORD=EnvS3cret %s -d 'dbname=no_such_db' up", bin);
	pgpass = gm_xasprintf("%s/pgpass", dir);
	tfs_write(dir, "pgpass", "*:*:*:*:FileS3cret\n");
	assert_int_equal(chmod(pgpass, 0600), 0);
	no_secret("FileS3cret", 3, "PGPASSFILE='%s' %s -d 'host=127.0.0.1 port=%s dbname=no_such_db' up", pgpass, bin, port);
	free(pgpass);
	/* A malformed URL does not echo it either. */
	no_secret("BadS3cret", 3, "%s -d 'postgresql://u:BadS3cret@host:notaport/db' up", bin);
	tfs_rmdir(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_missing_folder_and_crlf),
		cmocka_unit_test(test_no_secret_ever_printed),
		cmocka_unit_test(test_files_that_are_not_what_they_seem),
		cmocka_unit_test(test_control_bytes_from_the_server_are_escaped),
		cmocka_unit_test(test_repair_escapes_what_it_previews),
	};
	return cmocka_run_group_tests_name("bad input and secrets", tests, NULL, NULL);
}
