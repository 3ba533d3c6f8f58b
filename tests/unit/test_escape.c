/* Unit tests: text from the server, the catalog or the file system reaches
 * the terminal with its control bytes escaped (gm_text_escape_controls,
 * gm_report_error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_report.h"
#include "gm_strbuf.h"
#include "gm_text.h"

static void escapes(const char *in, const char *want)
{
	char *got = gm_text_escape_controls(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_escape_controls(void **state)
{
	(void)state;
	escapes("plain, \"quoted\" and \\backslash\\", "plain, \"quoted\" and \\backslash\\");
	escapes("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	escapes("bell\a cr\r del\x7f", "bell\\x07 cr\\x0d del\\x7f");
	/* Line breaks and tabs stay: multi-line fields are rendered as such. */
	escapes("two\nlines\tand a tab", "two\nlines\tand a tab");
	/* C1 controls (CSI is U+009B) and bytes that are not UTF-8. */
	escapes("csi\xc2\x9b" "2J", "csi\\xc2\\x9b2J");
	escapes("lone \x9b byte", "lone \\x9b byte");
	/* Bidirectional overrides and isolates would reorder the line. */
	escapes("notes\xe2\x80\xaetxt.exe", "notes\\xe2\\x80\\xaetxt.exe");
	escapes("a\xe2\x81\xa6" "b\xe2\x81\xa9" "c\xe2\x80\x8f", "a\\xe2\\x81\\xa6b\\xe2\\x81\\xa9c\\xe2\\x80\\x8f");
	escapes("\xd8\x9c", "\\xd8\\x9c");
	/* Other UTF-8 is text. */
	escapes("caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac", "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac");
}

static void test_report_error_escapes_every_field(void **state)
{
	struct gm_error *err = gm_error_at(GM_ERR_MIGRATION, "migrations/0001_\x1b]0;x\a.sql", 0, 0,
					   "invalid input syntax for type integer: \"\x1b[31m\"");
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	err->detail = strdup("first\x1b[2J\nsecond");
	err->hint = strdup("\x1b[1mhint");
	err->context = strdup("SQL statement \"x\"\nPL/pgSQL function \x1b[K");
	gm_error_advise(err, "advice \x1b[0m");
	gm_report_error(err, &sb);
	assert_string_equal(sb.buf,
		"migrations/0001_\\x1b]0;x\\x07.sql: error: invalid input syntax for type integer: \"\\x1b[31m\"\n"
		"  DETAIL: first\\x1b[2J\n"
		"    second\n"
		"  HINT: \\x1b[1mhint\n"
		"  CONTEXT: SQL statement \"x\"\n"
		"    PL/pgSQL function \\x1b[K\n"
		"  what to do: advice \\x1b[0m\n");
	assert_null(strchr(sb.buf, 0x1b));
	gm_strbuf_release(&sb);
	gm_error_free(err);
}

/* A JUnit report is XML 1.0: what it cannot hold becomes '?' (a name
 * with U+FFFE, a SQL_ASCII database's bytes), or CI cannot read it. */
static void test_xml_strings(void **state)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	(void)state;
	gm_xml_str(&sb, "nc\xef\xbf\xbex\xef\xbf\xbfy <&> caf\xc3\xa9 \xef\xbf\xbd \x9b\xff end\x01\ttab");
	assert_string_equal(sb.buf, "nc?x?y &lt;&amp;&gt; caf\xc3\xa9 \xef\xbf\xbd ?? end\ttab");
	gm_strbuf_release(&sb);
	gm_xml_str(&sb, "\xef\xbf");	/* cut short */
	assert_string_equal(sb.buf, "??");
	gm_strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_report_error_escapes_every_field),
		cmocka_unit_test(test_xml_strings),
	};
	return cmocka_run_group_tests_name("escaping for the terminal", tests, NULL, NULL);
}
