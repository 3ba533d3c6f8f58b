/* Unit tests: the data-loss guard's catalog diff and descriptions, and the
 * audit log's rendering.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_guard.h"
#include "gm_history.h"
#include "gm_report.h"

static struct gm_relcol rc(unsigned long oid, int attnum, const char *rel, const char *att)
{
	struct gm_relcol x = { .oid = oid, .attnum = attnum, .nsp = (char *)"public", .rel = (char *)rel,
			       .att = (char *)att, .filenode = oid, .type = (char *)(att ? "25:-1" : NULL) };
	return x;
}

static void test_diff_finds_dropped_tables_and_columns(void **state)
{
	struct gm_relcol b[] = {
		rc(100, 1, "keep", "id"), rc(100, 2, "keep", "note"), rc(100, 3, "keep", "extra"),
		rc(200, 1, "gone", "id"), rc(200, 2, "gone", "x"),
		rc(300, 0, "empty", NULL),
		rc(400, 1, "recreated", "id"),
	};
	/* keep loses "note"; gone and empty disappear; recreated comes back
	 * under a new oid (its data is gone all the same). */
	struct gm_relcol a[] = {
		rc(100, 1, "keep", "id"), rc(100, 3, "keep", "extra"), rc(100, 4, "keep", "added"),
		rc(500, 1, "recreated", "id"),
	};
	struct gm_snapshot before = { b, sizeof(b) / sizeof(b[0]) };
	struct gm_snapshot after = { a, sizeof(a) / sizeof(a[0]) };
	struct gm_removals r = { NULL, 0 };

	(void)state;
	gm_guard_diff(&before, &after, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.v[0].kind, GM_LOSS_COLUMN);
	assert_string_equal(r.v[0].rel, "keep");
	assert_string_equal(r.v[0].att, "note");
	assert_int_equal(r.v[1].kind, GM_LOSS_TABLE);
	assert_string_equal(r.v[1].rel, "gone");
	assert_null(r.v[1].att);
	assert_string_equal(r.v[2].rel, "empty");
	assert_null(r.v[2].att);
	assert_string_equal(r.v[3].rel, "recreated");
	assert_null(r.v[3].att);
	gm_removals_release(&r);

	/* Nothing removed: nothing reported. */
	gm_guard_diff(&before, &before, &r);
	assert_int_equal(r.n, 0);
	gm_removals_release(&r);
}

static void test_diff_finds_rewrites_and_row_changes(void **state)
{
	struct gm_relcol b[] = { rc(100, 1, "t", "id"), rc(100, 2, "t", "note") };
	struct gm_relcol a[] = { rc(100, 1, "t", "id"), rc(100, 2, "t", "note") };
	struct gm_snapshot before = { b, 2 }, after = { a, 2 };
	struct gm_removals r = { NULL, 0 };

	(void)state;
	/* TRUNCATE: new storage; a type change; rows deleted and updated as
	 * the transaction's statistics count them. */
	a[0].filenode = a[1].filenode = 101;
	a[1].type = (char *)"23:-1";
	a[0].deleted = a[1].deleted = 5;
	b[0].deleted = b[1].deleted = 2;
	a[0].updated = a[1].updated = 1;
	gm_guard_diff(&before, &after, &r);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.v[0].kind, GM_LOSS_REWRITE);
	assert_int_equal(r.v[1].kind, GM_LOSS_DELETED);
	assert_int_equal(r.v[1].rows, 3);
	assert_int_equal(r.v[2].kind, GM_LOSS_UPDATED);
	assert_int_equal(r.v[2].rows, 1);
	/* The rewritten table's column of unchanged type is compared. */
	assert_int_equal(r.v[3].kind, GM_LOSS_CHANGED);
	assert_int_equal(r.v[3].ncols, 1);
	assert_string_equal(r.v[3].cols[0], "id");
	assert_int_equal(r.v[4].kind, GM_LOSS_RETYPE);
	assert_string_equal(r.v[4].att, "note");
	/* Counted before and after: 4 rows before, 4 after, 2 values lost;
	 * id's values are as they were. */
	r.v[0].before = 4;
	r.v[0].after = 4;
	r.v[4].before = 3;
	r.v[4].after = 1;
	r.v[3].fp_before = strdup("4:123");
	r.v[3].fp_after = strdup("4:123");
	gm_guard_settle(&r);
	assert_int_equal(r.v[0].rows, 0);
	assert_int_equal(r.v[3].rows, 0);
	assert_int_equal(r.v[4].rows, 2);
	assert_true(gm_guard_loses_data(&r));
	gm_removals_release(&r);
}

/* A rewrite that keeps the types: which columns' values changed. */
static void test_rewrite_compares_values(void **state)
{
	struct gm_relcol b[] = { rc(100, 1, "t", "id"), rc(100, 2, "t", "note"), rc(100, 3, "t", "x") };
	struct gm_relcol a[] = { rc(100, 1, "t", "id"), rc(100, 2, "t", "note"), rc(100, 3, "t", "x") };
	struct gm_snapshot before = { b, 3 }, after = { a, 3 };
	struct gm_removals r = { NULL, 0 };
	char *s;

	(void)state;
	a[0].filenode = a[1].filenode = a[2].filenode = 101;
	gm_guard_diff(&before, &after, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1].kind, GM_LOSS_CHANGED);
	assert_int_equal(r.v[1].ncols, 3);
	r.v[0].before = r.v[0].after = 2;
	/* note: every value NULL now; x: the same count, other values. */
	r.v[1].fp_before = strdup("2:-5:2:77:2:8");
	r.v[1].fp_after = strdup("2:-5:0:0:2:9");
	gm_guard_settle(&r);
	assert_int_equal(r.v[1].rows, 2);
	assert_true(gm_guard_loses_data(&r));
	s = gm_guard_describe(&r, 0);
	assert_string_equal(s, "values of table public.t changed by a rewrite (columns note, x)");
	free(s);
	/* Not counted (the count failed): unknown, so a loss. */
	free(r.v[1].fp_after);
	r.v[1].fp_after = NULL;
	gm_guard_settle(&r);
	assert_int_equal(r.v[1].rows, -1);
	assert_true(gm_guard_loses_data(&r));
	gm_removals_release(&r);
}

static void test_isolation_diff(void **state)
{
	struct gm_relcol b[] = { rc(100, 1, "a", "id"), rc(200, 1, "b", "id"), rc(300, 1, "c", "id"), rc(400, 1, "d", "id") };
	struct gm_relcol a[] = { rc(100, 1, "a", "id"), rc(200, 1, "b", "id"), rc(300, 1, "c", "id") };
	struct gm_snapshot before = { b, 4 }, after = { a, 3 };
	struct gm_removals r = { NULL, 0 };
	char *s;

	(void)state;
	for (int k = 0; k < 4; k++) {
		b[k].rls = b[k].force = 1;
		b[k].policies = 2;
	}
	a[0].rls = a[0].force = 0;				/* disabled */
	a[1].rls = 1, a[1].force = 0, a[1].policies = 2;	/* no longer forced */
	a[2].rls = a[2].force = 1, a[2].policies = 0;		/* no policy left */
	gm_guard_isolation_diff(&before, &after, &r);		/* d was dropped: not an isolation loss */
	assert_int_equal(r.n, 3);
	r.v[0].after = 2;
	r.v[1].after = 0;
	r.v[2].after = 1;
	gm_guard_settle(&r);
	assert_true(gm_guard_loses_isolation(&r));
	assert_false(gm_guard_loses_data(&r));
	s = gm_guard_describe(&r, 0);
	assert_string_equal(s, "table public.a, row level security disabled, keeps 2 rows, "
			       "table public.c, no policy left, keeps 1 row");
	free(s);
	gm_removals_release(&r);
}

/* d rebuilt: a new table (new oid) under its name, without RLS. */
static void test_isolation_diff_follows_names(void **state)
{
	struct gm_relcol b[] = { rc(400, 1, "d", "id") };
	struct gm_relcol a[] = { rc(401, 1, "d_old", "id"), rc(500, 1, "d", "id") };
	struct gm_snapshot before = { b, 1 }, after = { a, 2 };
	struct gm_removals r = { NULL, 0 };

	(void)state;
	b[0].rls = b[0].force = 1;
	b[0].policies = 1;
	gm_guard_isolation_diff(&before, &after, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].rel, "d");
	assert_string_equal(r.v[0].why, "row level security disabled");
	gm_removals_release(&r);
	/* Renamed away and kept, isolated: the new d is still weaker. */
	a[0].oid = 400;
	a[0].rls = a[0].force = 1;
	a[0].policies = 1;
	gm_guard_isolation_diff(&before, &after, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].rel, "d");
	gm_removals_release(&r);
}

static void test_describe(void **state)
{
	struct gm_removal v[] = {
		{ .kind = GM_LOSS_TABLE, .nsp = (char *)"public", .rel = (char *)"orders", .rows = 1 },
		{ .kind = GM_LOSS_COLUMN, .nsp = (char *)"public", .rel = (char *)"t", .att = (char *)"note", .rows = 3 },
		{ .kind = GM_LOSS_TABLE, .nsp = (char *)"public", .rel = (char *)"empty", .rows = 0 },
		{ .kind = GM_LOSS_TABLE, .nsp = (char *)"s", .rel = (char *)"big", .rows = GM_GUARD_COUNT_CAP + 1 },
	};
	struct gm_removals r = { v, 4 };
	char *s;

	(void)state;
	assert_true(gm_guard_loses_data(&r));
	s = gm_guard_describe(&r, 0);
	assert_string_equal(s, "table public.orders (1 row), column public.t.note (3 values), "
			       "table s.big (more than 1000000 rows)");
	free(s);
	s = gm_guard_describe(&r, 1);
	assert_non_null(strstr(s, "table public.empty (0 rows)"));
	free(s);
	r.v = &v[2];
	r.n = 1;
	assert_false(gm_guard_loses_data(&r));
}

static void test_audit_rendering(void **state)
{
	struct gm_audit_entry e[] = {
		{ (char *)"1", (char *)"2026-11-25T10:00:00Z", (char *)"up", (char *)"4", (char *)"orders",
		  (char *)"sha256:ab", (char *)"ok", (char *)"postgres", (char *)"deploy", (char *)"12", NULL },
		{ (char *)"2", (char *)"2026-11-25T10:05:00Z", (char *)"rollback", (char *)"4", (char *)"orders",
		  (char *)"sha256:ab", (char *)"failed", (char *)"postgres", NULL, NULL,
		  (char *)"rollback refused: \"orders\" has 1 row" },
	};
	struct gm_audit a = { 1, e, 2 };
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	gm_report_audit_text(&a, &sb);
	assert_string_equal(sb.buf,
		"AT                    ACTION    VERSION  OUTCOME  WHO (DB/OS USER)          MS  MIGRATION / MESSAGE\n"
		"2026-11-25T10:00:00Z  up        4        ok       postgres/deploy           12  orders\n"
		"2026-11-25T10:05:00Z  rollback  4        failed   postgres/-                 -  orders: rollback refused: \"orders\" has 1 row\n");
	gm_strbuf_reset(&sb);
	gm_report_audit_json(&a, &sb);
	assert_string_equal(sb.buf,
		"{\"format_version\":1,\"audit_log\":[{\"id\":1,\"at\":\"2026-11-25T10:00:00Z\",\"action\":\"up\",\"version\":\"4\","
		"\"name\":\"orders\",\"checksum\":\"sha256:ab\",\"outcome\":\"ok\",\"db_user\":\"postgres\","
		"\"os_user\":\"deploy\",\"duration_ms\":12,\"message\":null},"
		"{\"id\":2,\"at\":\"2026-11-25T10:05:00Z\",\"action\":\"rollback\",\"version\":\"4\","
		"\"name\":\"orders\",\"checksum\":\"sha256:ab\",\"outcome\":\"failed\",\"db_user\":\"postgres\","
		"\"os_user\":null,\"duration_ms\":null,\"message\":\"rollback refused: \\\"orders\\\" has 1 row\"}]}\n");
	gm_strbuf_reset(&sb);
	a.n = 0;
	gm_report_audit_text(&a, &sb);
	assert_string_equal(sb.buf, "the audit log is empty\n");
	gm_strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_finds_dropped_tables_and_columns),
		cmocka_unit_test(test_diff_finds_rewrites_and_row_changes),
		cmocka_unit_test(test_rewrite_compares_values),
		cmocka_unit_test(test_isolation_diff),
		cmocka_unit_test(test_isolation_diff_follows_names),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_audit_rendering),
	};
	return cmocka_run_group_tests_name("data-loss guard and audit rendering", tests, NULL, NULL);
}
