/* gm_report.h - rendering for people (text) and machines (JSON).
 *
 * Everything renders into a strbuf; the CLI decides where it goes.  That
 * keeps the core free of I/O and makes every format testable. */
#ifndef GM_REPORT_H
#define GM_REPORT_H

#include "gm_engine.h"
#include "gm_strbuf.h"

struct gm_error;

/* Compiler style when the error points into a file:
 *   migrations/0003_x.sql:17:25: error: column "x" does not exist
 *      17 |     x uuid
 *         |     ^
 * followed by SQLSTATE, DETAIL, HINT, CONTEXT and what to do, one a line.
 * Otherwise "garage-migrate: <message>" and the same detail lines. */
/* Every JSON output opens with its format's version: a consumer can tell
 * a change of shape from a change of content.  1 until a key changes
 * meaning or goes away (new keys do not count). */
#define GM_JSON_FORMAT_VERSION 1
#define GM_JSON_FORMAT_FIELD "\"format_version\":1,"

void gm_report_error(const struct gm_error *err, struct gm_strbuf *out);
/* The two lines under such a message: the source line, numbered, and a
 * caret under column col (characters, 1-based). */
void gm_report_caret(struct gm_strbuf *out, unsigned line, unsigned col, const char *src_line);

/* The migration lint's findings (report_lint.c).  Text: compiler style,
 * one finding after another (ignored ones only with show_ignored), then a
 * summary line.  JSON: one object.  SARIF 2.1.0, for code-scanning UIs:
 * every rule, every finding (ignored ones as suppressed); version is the
 * tool's.  ok: whether the lint passes. */
struct gm_lint_result;
void gm_report_lint_text(const struct gm_lint_result *r, int show_ignored, int ok, struct gm_strbuf *out);
void gm_report_lint_json(const struct gm_lint_result *r, int ok, struct gm_strbuf *out);
void gm_report_lint_sarif(const struct gm_lint_result *r, const char *version, struct gm_strbuf *out);

void gm_report_status_text(const struct gm_status *st, struct gm_strbuf *out);
void gm_report_status_json(const struct gm_status *st, struct gm_strbuf *out);

struct gm_audit;
void gm_report_audit_text(const struct gm_audit *a, struct gm_strbuf *out);
void gm_report_audit_json(const struct gm_audit *a, struct gm_strbuf *out);

struct gm_verify_result;
/* ok is whether verify passes (no errors; with strict, no warnings). */
void gm_report_verify_text(const struct gm_verify_result *r, const char *snapshot, int ok,
			   struct gm_strbuf *out);
void gm_report_verify_json(const struct gm_verify_result *r, const char *snapshot, int ok,
			   struct gm_strbuf *out);
void gm_report_verify_junit(const struct gm_verify_result *r, const char *snapshot,
			    struct gm_strbuf *out);
/* Text with &, <, >, " and ' escaped for XML. */
void gm_xml_str(struct gm_strbuf *out, const char *s);

/* A run that stopped with err (a connection refused, a bad project file):
 * still a report where CI looks for one.  JSON: {"format_version":1,
 * "ok":false,"error":{"message","exit_code","file","line","column",
 * "sqlstate","detail","advice"}}; JUnit: one errored test case in a suite
 * named after the command. */
void gm_report_error_json(const struct gm_error *err, struct gm_strbuf *out);
/* Just the error object of that, for reports that carry one; and the
 * field "error": that object, or null when err is NULL. */
void gm_report_error_object(const struct gm_error *err, struct gm_strbuf *out);
void gm_report_error_field(const struct gm_error *err, struct gm_strbuf *out);
void gm_report_error_junit(const char *suite, const struct gm_error *err, struct gm_strbuf *out);
/* An element of up's "applied" or rollback's "rolled_back" list, left
 * open for the caller's own keys: {"version":...,"name":...,"file":...
 * (after a comma when out already holds one). */
void gm_report_migration_open(const struct gm_migration *m, struct gm_strbuf *out);

#endif
