/* Unit tests: status merging, drift detection and rendering (text, JSON,
 * errors with a caret).  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_report.h"
#include "gm_text.h"
#include "gm_script.h"
#include "gm_strbuf.h"

static struct gm_migration *mig(const char *filename, const char *sql)
{
	struct gm_migration *m = NULL;
	struct gm_error *err = gm_migration_parse(filename, filename, gm_xstrdup(sql), strlen(sql), &m);

	assert_null(err);
	return m;
}

static void applied(struct gm_applied *a, unsigned long long v, const char *vt,
		    const char *name, const char *checksum)
{
	memset(a, 0, sizeof(*a));
	a->version = v;
	a->version_text = (char *)vt;
	a->name = (char *)name;
	a->script = gm_xasprintf("%s_%s.sql", vt, name);
	a->checksum = (char *)checksum;
	a->applied_at = (char *)"2026-11-25T10:00:00Z";
	a->applied_by = (char *)"postgres";
	a->execution_ms = 7;
	a->status = (char *)"applied";
}

struct fixture {
	struct gm_migration *m[3];
	struct gm_migration_set set;
	struct gm_applied a[3];
	struct gm_history h;
};

/* Files 1, 2, 4; history 1 (same), 2 (other checksum), 3 (no file). */
static int setup(void **state)
{
	struct fixture *f = gm_xcalloc(1, sizeof(*f));

	f->m[0] = mig("0001_one.sql", "SELECT 1;");
	f->m[1] = mig("0002_two.sql", "SELECT 2;");
	f->m[2] = mig("0004_four.sql", "SELECT 4;");
	f->set.v = f->m;
	f->set.n = 3;
	applied(&f->a[0], 1, "0001", "one", f->m[0]->checksum);
	applied(&f->a[1], 2, "0002", "two", "sha256:0000");
	applied(&f->a[2], 3, "0003", "three", "sha256:3333");
	f->h.exists = 1;
	f->h.v = f->a;
	f->h.n = 3;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	size_t k;

	for (k = 0; k < 3; k++) {
		gm_migration_free(f->m[k]);
		free(f->a[k].script);
	}
	free(f);
	return 0;
}

static void test_status_merge(void **state)
{
	struct fixture *f = *state;
	struct gm_status st;

	gm_status_build(&f->set, &f->h, &st);
	assert_int_equal(st.n, 4);
	assert_int_equal(st.v[0].state, GM_STATE_APPLIED);
	assert_int_equal(st.v[1].state, GM_STATE_MODIFIED);
	assert_int_equal(st.v[2].state, GM_STATE_MISSING);
	assert_int_equal(st.v[3].state, GM_STATE_PENDING);
	assert_false(st.v[3].out_of_order);
	assert_int_equal(st.count[GM_STATE_APPLIED], 1);
	assert_int_equal(st.count[GM_STATE_PENDING], 1);
	gm_status_release(&st);
}

static void test_drift_names_everything(void **state)
{
	struct fixture *f = *state;
	struct gm_status st;
	struct gm_error *err;

	gm_status_build(&f->set, &f->h, &st);
	err = gm_status_check_drift(&st);
	assert_non_null(err);
	assert_int_equal(err->kind, GM_ERR_DRIFT);
	assert_string_equal(err->file, "0002_two.sql");
	assert_non_null(strstr(err->msg, "edited"));
	assert_non_null(strstr(err->msg, "sha256:0000"));
	assert_non_null(strstr(err->msg, "0003_three.sql (missing)"));
	assert_non_null(err->advice);
	gm_error_free(err);
	gm_status_release(&st);
}

static void test_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct gm_status st;

	/* History holds 1 and 3 only: pending 2 is older than 3. */
	free(f->a[1].script);
	f->a[1] = f->a[2];
	f->h.n = 2;
	gm_status_build(&f->set, &f->h, &st);
	assert_int_equal(st.v[1].state, GM_STATE_PENDING);
	assert_true(st.v[1].out_of_order);
	assert_int_equal(st.v[2].state, GM_STATE_MISSING);
	assert_false(st.v[3].out_of_order);
	gm_status_release(&st);
	f->h.n = 3;
	f->a[1].script = NULL;	/* teardown frees a[2].script once */
}

static void test_status_text(void **state)
{
	struct fixture *f = *state;
	struct gm_status st;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_status_build(&f->set, &f->h, &st);
	gm_report_status_text(&st, &sb);
	assert_string_equal(sb.buf,
		"VERSION  NAME   STATE     APPLIED AT\n"
		"0001     one    applied   2026-11-25T10:00:00Z\n"
		"0002     two    modified  2026-11-25T10:00:00Z\n"
		"0003     three  missing   2026-11-25T10:00:00Z\n"
		"0004     four   pending   -\n"
		"4 migrations: 1 applied, 1 pending, 1 modified, 1 missing\n");
	gm_strbuf_release(&sb);
	gm_status_release(&st);
}

static void test_status_json(void **state)
{
	struct fixture *f = *state;
	struct gm_status st;
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_status_build(&f->set, &f->h, &st);
	gm_report_status_json(&st, &sb);
	assert_non_null(strstr(sb.buf, "{\"version\":\"0003\",\"name\":\"three\",\"state\":\"missing\",\"file\":null,"));
	assert_non_null(strstr(sb.buf, "\"state\":\"pending\",\"file\":\"0004_four.sql\""));
	assert_non_null(strstr(sb.buf, "\"applied_at\":null,\"applied_by\":null,\"execution_ms\":null"));
	assert_non_null(strstr(sb.buf, "\"summary\":{\"total\":4,\"applied\":1,\"pending\":1,\"modified\":1,\"missing\":1,\"failed\":0,\"running\":0}}\n"));
	gm_strbuf_release(&sb);
	gm_status_release(&st);
}

static void test_json_escaping(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	gm_json_str(&sb, "a\"b\\c\nd\te\x01 é");
	assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\nd\\te\\u0001 é\"");
	gm_strbuf_reset(&sb);
	gm_json_str(&sb, NULL);
	assert_string_equal(sb.buf, "null");
	gm_strbuf_release(&sb);
}

static void test_error_with_caret(void **state)
{
	struct gm_error *err = gm_error_at(GM_ERR_MIGRATION, "migrations/0003_x.sql", 17, 6,
					   "column \"organisation_id\" does not exist");
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	err->src_line = gm_xstrdup("\tcé, organisation_id");
	err->sqlstate = gm_xstrdup("42703");
	err->hint = gm_xstrdup("Perhaps you meant \"organization_id\".");
	gm_report_error(err, &sb);
	assert_string_equal(sb.buf,
		"migrations/0003_x.sql:17:6: error: column \"organisation_id\" does not exist\n"
		"   17 | \tcé, organisation_id\n"
		"      | \t    ^\n"
		"  SQLSTATE: 42703\n"
		"  HINT: Perhaps you meant \"organization_id\".\n");
	gm_strbuf_release(&sb);
	gm_error_free(err);
}

static void test_error_without_file(void **state)
{
	struct gm_error *err = gm_error_new(GM_ERR_CONNECT, "cannot connect to the database: refused");
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	gm_error_advise(err, "check --database-url");
	gm_report_error(err, &sb);
	assert_string_equal(sb.buf,
		"garage-migrate: cannot connect to the database: refused\n"
		"  what to do: check --database-url\n");
	assert_int_equal(gm_error_exit_code(err), 3);
	gm_strbuf_release(&sb);
	gm_error_free(err);
}

/* A name with a line break in an error message (a table from the
 * catalog, a server message quoting it) cannot print a line of its own. */
static void test_error_message_stays_one_line(void **state)
{
	struct gm_error *err = gm_error_new(GM_ERR_DATA_LOSS, "refused: table public.h\nverify passed: 0 errors\n ok x");
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	gm_report_error(err, &sb);
	assert_string_equal(sb.buf, "garage-migrate: refused: table public.h\\x0averify passed: 0 errors\\x0a ok x\n");
	gm_strbuf_release(&sb);
	gm_error_free(err);
}

static void test_timeouts(void **state)
{
	(void)state;
	assert_true(gm_timeout_valid("5s"));
	assert_true(gm_timeout_valid("500ms"));
	assert_true(gm_timeout_valid("2min"));
	assert_true(gm_timeout_valid("0"));	/* no limit, in any unit */
	assert_false(gm_timeout_valid("5"));	/* the server would read 5 ms */
	assert_false(gm_timeout_valid(""));
	assert_false(gm_timeout_valid("5 s"));
	assert_false(gm_timeout_valid("5s'; DROP TABLE x; --"));
	assert_false(gm_timeout_valid("-1"));
	/* The server takes at most INT_MAX ms: more failed there, mid-run. */
	assert_true(gm_timeout_valid("2147483647ms"));
	assert_true(gm_timeout_valid("24d"));
	assert_false(gm_timeout_valid("2147483648ms"));
	assert_false(gm_timeout_valid("25d"));
	assert_false(gm_timeout_valid("3000000000ms"));
	assert_false(gm_timeout_valid("99999999999999999999h"));
	assert_true(gm_timeout_valid("2147483647000us"));
	assert_false(gm_timeout_valid("2147483647001us"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drift_names_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_error_with_caret),
		cmocka_unit_test(test_error_without_file),
		cmocka_unit_test(test_error_message_stays_one_line),
		cmocka_unit_test(test_timeouts),
	};
	return cmocka_run_group_tests_name("status and rendering", tests, NULL, NULL);
}
