/* Integration tests: passwords never reach stdout or stderr, whatever the
 * connection string looks like, and messages are never mangled by
 * redaction (passwords are blanked by structure, never searched for in
 * text: a one-letter password must not turn "permission" into
 * "permissi***n").  Issue 11, item 3. */
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

/* Runs garage-migrate list with -d url (in double quotes for the shell:
 * url holds no '"', '$', '`' or '\\'); checks the exit status,
 * that secret shows up nowhere, and that stderr holds want. */
static void run_url(const char *url, int want_rc, const char *secret, const char *want)
{
	char *out, *err;
	int rc = pgt_run(&out, &err, "%s -d \"%s\" -m '%s/migrations' list", pgt_bin(), url, pgt_root());

	if (rc != want_rc)
		fail_msg("%s: exit %d, want %d\n%s%s", url, rc, want_rc, out, err);
	assert_not_contains(out, secret);
	assert_not_contains(err, secret);
	if (want)
		assert_contains(err, want);
	/* One message, prefixed, and no text search went over it. */
	assert_true(strncmp(err, "garage-migrate: ", 16) == 0);
	free(out);
	free(err);
}

static void test_url_parse_errors_hide_the_password(void **state)
{
	const char *port = getenv("PGPORT");
	char *u;

	(void)state;
	/* libpq quotes the bad token, here the password itself. */
	run_url("postgresql://u:SECRET%zz@127.0.0.1:5432/db", 2, "SECRET", "its password cannot be decoded (not shown)");
	/* libpq quotes the whole URL: what is shown is the blanked copy. */
	run_url("postgresql://u:SECRET@[::1:5432/db", 2, "SECRET",
		"end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://u:***@[::1:5432/db\"");
	run_url("postgres://u:SECRET@[::1:5432/db", 2, "SECRET", "\"postgres://u:***@[::1:5432/db\"");
	/* A password= parameter, bad itself or with a '&' that makes the rest
	 * of it a parameter libpq would quote. */
	run_url("postgresql://127.0.0.1/db?password=SECRET%zz", 2, "SECRET", "its password cannot be decoded");
	run_url("postgresql://127.0.0.1/db?pass%77ord=SECRET%zz", 2, "SECRET", "its password cannot be decoded");
	run_url("postgresql://127.0.0.1/db?sslmode=disable&password=SECRET&TAILSECRET", 2, "SECRET", NULL);
	/* The user part is shown, the password is not, for any other error. */
	run_url("postgresql://someone:SECRET@127.0.0.1/db?nosuchparam=1", 2, "SECRET", "invalid URI query parameter: \"nosuchparam\"");
	/* key=value strings: libpq echoes values, so nothing is shown. */
	run_url("host=127.0.0.1 passwordSECRET", 2, "SECRET",
		"invalid connection string (not shown: it may hold a password)");
	run_url("host=127.0.0.1 password='SECRET", 2, "SECRET", "invalid connection string (not shown");
	/* An unencoded '@' or '/' in the password: libpq would read the rest
	 * as the host (or port, database) and print it when connecting. */
	u = gm_xasprintf("postgresql://postgres:pre@TAILSECRET@127.0.0.1:%s/postgres", port);
	run_url(u, 2, "TAILSECRET", "percent-encode '@' as %40 in the password");
	free(u);
	u = gm_xasprintf("postgresql://postgres:pre/TAILSECRET@127.0.0.1:%s/postgres", port);
	run_url(u, 2, "TAILSECRET", "percent-encode '@' as %40");
	free(u);
	/* Encoded, the same password is accepted, and not shown either. */
	u = gm_xasprintf("postgresql://postgres:pre%%40TAILSECRET@127.0.0.1:%s/gm_no_such_db", port);
	run_url(u, 3, "TAILSECRET", "database \"gm_no_such_db\" does not exist");
	free(u);
}

/* A role that must give its password over TCP (scripts/pg-cluster.sh puts
 * a scram-sha-256 line for it before the trust lines). */
static void create_pw_role(PGconn *c, const char *password)
{
	char *sql = gm_xasprintf("CREATE ROLE gm_pw_test LOGIN PASSWORD '%s'", password);

	pgt_exec(c, "DROP ROLE IF EXISTS gm_pw_test");
	pgt_exec(c, sql);
	free(sql);
}

static int as_pw_role(char **out, char **err, const char *password, const char *db, const char *args)
{
	return pgt_run(out, err, "%s -d 'postgresql://gm_pw_test:%s@127.0.0.1:%s/%s' -m '%s/migrations' %s",
		       pgt_bin(), password, getenv("PGPORT"), db, pgt_root(), args);
}

static void test_failed_authentication(void **state)
{
	char *db = pgt_create_db("gm_pw_auth"), *out, *err;
	PGconn *c = pgt_connect("postgres");

	(void)state;
	create_pw_role(c, "right-one");
	/* A one-letter wrong password: the server's message keeps every 'a'. */
	assert_int_equal(as_pw_role(&out, &err, "a", db, "list"), 3);
	assert_contains(err, "password authentication failed for user \"gm_pw_test\"");
	assert_not_contains(err, "***");
	free(out);
	free(err);
	/* A longer one never shows. */
	assert_int_equal(as_pw_role(&out, &err, "WrongS3cret", db, "list"), 3);
	assert_contains(err, "password authentication failed");
	assert_not_contains(out, "WrongS3cret");
	assert_not_contains(err, "WrongS3cret");
	free(out);
	free(err);
	pgt_exec(c, "DROP ROLE gm_pw_test");
	PQfinish(c);
	free(db);
}

static void test_one_letter_password_keeps_server_messages(void **state)
{
	char *db = pgt_create_db("gm_pw_letter"), *out, *err;
	PGconn *c = pgt_connect("postgres");
	int rc;

	(void)state;
	create_pw_role(c, "o");
	/* Connected with the right password 'o', the role may not create the
	 * history schema: the server says "permission denied for ...". */
	rc = as_pw_role(&out, &err, "o", db, "up");
	assert_true(rc != 0 && rc != 2 && rc != 3);
	assert_contains(err, "permission denied for");
	assert_not_contains(err, "***");
	free(out);
	free(err);
	pgt_exec(c, "DROP ROLE gm_pw_test");
	PQfinish(c);
	free(db);
}

/* A URL given where something else was expected (psql's habit of a
 * positional URL, a misspelt option, -e or -c) is echoed by the usage
 * error, or by the error naming the file or environment: with its
 * password blanked; a key=value string naming a password, not at all. */
static void test_misplaced_urls_hide_the_password(void **state)
{
	static const struct {
		const char *args, *want;
		int rc;
	} cases[] = {
		{ "up postgresql://u:S3cretPw@h/db", "unexpected argument 'postgresql://u:***@h/db'", 2 },
		{ "postgresql://u:S3cretPw@h/db up", "unknown command 'postgresql://u:***@h/db'", 2 },
		{ "--database=postgresql://u:S3cretPw@h/db list", "'--database=postgresql://u:***@h/db'", 2 },
		{ "list --databse-url=postgres://u:S3cretPw@h/db", "'--databse-url=postgres://u:***@h/db'", 2 },
		{ "-e postgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 2 },
		{ "-c postgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 0 },
		{ "lint postgresql://u:S3cretPw@h/db", "postgresql://u:***@h/db", 0 },
		{ "rollback --to postgresql://u:S3cretPw@h/db", "not 'postgresql://u:***@h/db'", 2 },
		{ "up password=S3cretPw", "(not shown: it may hold a password)", 2 },
		{ "-epostgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 2 },
		{ "-cpostgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 0 },
		{ "-mpostgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 0 },
		{ "-e=postgresql://u:S3cretPw@h/db list", "postgresql://u:***@h/db", 2 },
		{ "up postgresql://u:S3c@retPw@h/db", "(a connection URL, not shown)", 2 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *out, *err;
		int rc = pgt_run(&out, &err, "cd '%s' && %s %s", pgt_root(), pgt_bin(), cases[k].args);
		if (cases[k].rc && rc != cases[k].rc)
			fail_msg("%s: exit %d, want %d\n%s%s", cases[k].args, rc, cases[k].rc, out, err);
		assert_true(rc != 0);
		assert_not_contains(out, "S3cret");
		assert_not_contains(err, "S3cret");
		assert_not_contains(err, "retPw");
		assert_contains(err, cases[k].want);
		free(out);
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse_errors_hide_the_password),
		cmocka_unit_test(test_failed_authentication),
		cmocka_unit_test(test_one_letter_password_keeps_server_messages),
		cmocka_unit_test(test_misplaced_urls_hide_the_password),
	};
	return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
