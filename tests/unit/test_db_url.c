/* Unit tests: blanking the password of a database URL by structure
 * (gm_db_url_blanked), the copy whose libpq parse errors may be shown;
 * and the user's search path taken apart (gm_db_user_search_path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_db.h"

static void blanks(const char *url, const char *want)
{
	char *got = gm_db_url_blanked(url);

	if (!want) {
		if (got)
			fail_msg("%s: want NULL, got %s", url, got);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s:\n  want %s\n  got  %s", url, want, got ? got : "NULL");
	free(got);
}

static void test_userinfo_password(void **state)
{
	(void)state;
	blanks("postgresql://u:SECRET%zz@127.0.0.1:5432/db", "postgresql://u:***@127.0.0.1:5432/db");
	blanks("postgresql://u:SECRET@[::1:5432/db", "postgresql://u:***@[::1:5432/db");
	blanks("postgres://u:o@h/db", "postgres://u:***@h/db");
	/* The first ':' ends the user name; '?' and ':' belong to the password
	 * (libpq reads them so). */
	blanks("postgresql://u:a:b?c@h/db?sslmode=x", "postgresql://u:***@h/db?sslmode=x");
	blanks("postgresql://:pw@h", "postgresql://:***@h");
	/* No password: nothing to blank. */
	blanks("postgresql://u@h/db", "postgresql://u@h/db");
	blanks("postgresql://h:5432/db", "postgresql://h:5432/db");
	blanks("postgresql://", "postgresql://");
}

static void test_query_password(void **state)
{
	(void)state;
	blanks("postgresql://h/db?password=S%zz", "postgresql://h/db?password=***");
	/* Through the end: a '&' in the password would make a parameter. */
	blanks("postgresql://h/db?sslmode=require&password=a&b&c", "postgresql://h/db?sslmode=require&password=***");
	/* libpq decodes keywords as well. */
	blanks("postgresql://h/db?pass%77ord=x%zz", "postgresql://h/db?pass%77ord=***");
	blanks("postgresql://h/db?sslpassword=x%zz", "postgresql://h/db?sslpassword=***");
	blanks("postgresql://h/db?sslmode=require&ssl%70assword=S3CRET", "postgresql://h/db?sslmode=require&ssl%70assword=***");
	blanks("postgresql://u:p@h/db?a=1&password=", "postgresql://u:***@h/db?a=1&password=***");
	blanks("postgresql://h/db?passwordx=1&password%=2", "postgresql://h/db?passwordx=1&password%=2");
}

static void test_no_structure(void **state)
{
	(void)state;
	/* key=value strings are not blanked, they are not shown at all. */
	blanks("host=x password=secret", NULL);
	blanks("host=x passwordsecret", NULL);
	blanks(" postgresql://u:p@h/db", NULL);
	blanks("POSTGRESQL://u:p@h/db", NULL);
	/* An unencoded '@' or '/' in the password: where it ends is unsure. */
	blanks("postgresql://u:a@b@127.0.0.1/db", NULL);
	blanks("postgresql://u:a/b@h/db", NULL);
	blanks("postgresql://u:a?b/c@h", NULL);
	blanks("postgresql://h/db?application_name=a@b", NULL);
}

static void user_path_on(int server_version, const char *setting, const char *want)
{
	char *got = gm_db_user_search_path(setting, server_version);

	if (strcmp(got, want) != 0)
		fail_msg("[%s] on %d:\n  want [%s]\n  got  [%s]", setting, server_version, want, got);
	free(got);
}

static void user_path(const char *setting, const char *want)
{
	user_path_on(150000, setting, want);
}

/* What the server's regular expression made of each setting (checked
 * against PostgreSQL 15 when the client-side split replaced it): names
 * as written, quotes kept, pg_catalog out in any case and quoting; and
 * where the expression was wrong, what the server itself reads. */
static void test_user_search_path(void **state)
{
	(void)state;
	user_path("\"$user\", public", "\"$user\", public");
	user_path("public", "public");
	user_path("pg_catalog, public", "public");
	user_path("public, PG_Catalog", "public");
	user_path("\"pg_catalog\", app", "app");
	/* Quoted, a name keeps its case: "PG_CATALOG" is another schema. */
	user_path("\"PG_CATALOG\", app", "\"PG_CATALOG\", app");
	user_path("\"My \"\"odd\"\", schema\", public", "\"My \"\"odd\"\", schema\", public");
	user_path("  app ,  \"x y\"  ,pg_temp", "app, \"x y\"");
	user_path("a,b,c", "a, b, c");
	user_path("pg_catalog", "");
	user_path("", "");
	user_path(NULL, "");
	user_path("\"pg_catalogue\", pg_catalogx", "\"pg_catalogue\", pg_catalogx");
	/* PostgreSQL splits on its own spaces: up to 16 not on a vertical tab
	 * (a schema named a<VT>b is one name; the regular expression split
	 * it), from 17 on on a vertical tab too. */
	user_path("a\vb, public", "a\vb, public");
	user_path_on(160000, "a\vb, public", "a\vb, public");
	user_path_on(170000, "\va, public\v", "a, public");
	user_path_on(180000, "\v\"pg_catalog\",\vx", "x");
	user_path("a\f\r\n\tb", "a, b");
	/* pg_temp named anywhere would make a CREATE TABLE a temporary table
	 * whenever no schema before it exists: it goes. */
	user_path("pg_temp, public", "public");
	user_path("\"$user\", pg_temp", "\"$user\"");
	user_path("\"PG_TEMP\", app, \"x\"", "\"PG_TEMP\", app, \"x\"");
	user_path("\"pg_temp\", app, PG_Temp", "app");
	user_path("pg_temp", "");
	user_path("pg_temp, pg_catalog", "");
	user_path("pg_temp_3, public", "pg_temp_3, public");
	/* Nor the tool's own schema: tables there would sit with the history. */
	user_path("garage_migrate, public", "public");
	user_path("\"garage_migrate\", app, \"Garage_Migrate\"", "app, \"Garage_Migrate\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_userinfo_password),
		cmocka_unit_test(test_query_password),
		cmocka_unit_test(test_no_structure),
		cmocka_unit_test(test_user_search_path),
	};
	return cmocka_run_group_tests_name("database URL blanking", tests, NULL, NULL);
}
