/* report.c - text and JSON rendering. */
#include "gm_report.h"
#include "gm_error.h"
#include "gm_history.h"
#include "gm_text.h"
#include "gm_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source line as it can be shown: bytes that are not UTF-8 (the very
 * error being reported, perhaps) become '?', control characters but tab
 * too, so nothing odd reaches the terminal. */
static void add_printable(struct gm_strbuf *out, const char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t bad = i + gm_text_invalid_at(s + i, len - i);
		for (; i < bad; i++)
			gm_strbuf_addch(out, ((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f ? '?' : s[i]);
		if (i < len) {
			gm_strbuf_addch(out, '?');
			i++;
		}
	}
}

void gm_report_caret(struct gm_strbuf *out, unsigned line, unsigned col, const char *src_line)
{
	const unsigned char *p = (const unsigned char *)src_line;
	unsigned c = 1;
	int width;

	width = (int)snprintf(NULL, 0, "%u", line);
	gm_strbuf_addf(out, " %*u | ", width < 4 ? 4 : width, line);
	add_printable(out, src_line);
	gm_strbuf_addch(out, '\n');
	gm_strbuf_addf(out, " %*s | ", width < 4 ? 4 : width, "");
	/* Keep tabs so the caret lines up under the same editor settings;
	 * one space per character otherwise. */
	while (*p && c < col) {
		if ((*p & 0xC0) != 0x80) {
			gm_strbuf_addch(out, *p == '\t' ? '\t' : ' ');
			c++;
		}
		p++;
	}
	gm_strbuf_adds(out, "^\n");
}

static void detail_line(struct gm_strbuf *out, const char *label, const char *v)
{
	const char *p;
	char *safe;

	if (!v || !*v)
		return;
	gm_strbuf_addf(out, "  %s: ", label);
	/* Server text may hold ESC and friends: escaped, so a migration
	 * cannot drive the terminal.  Multi-line server fields (CONTEXT) stay
	 * readable, indented. */
	safe = gm_text_escape_controls(v);
	for (p = safe; *p; p++) {
		gm_strbuf_addch(out, *p);
		if (*p == '\n' && p[1])
			gm_strbuf_adds(out, "    ");
	}
	free(safe);
	if (out->len && out->buf[out->len - 1] != '\n')
		gm_strbuf_addch(out, '\n');
}

void gm_report_error(const struct gm_error *err, struct gm_strbuf *out)
{
	/* The message and file name can come from the server, the catalog or
	 * the file system: escaped, line breaks too (a table named
	 * "h\nverify passed: ..." would print a line that reads like the
	 * tool's own; an error message is one line). */
	char *msg = gm_text_escape_line(err->msg);
	char *file = err->file ? gm_text_escape_line(err->file) : NULL;

	if (file && err->line)
		gm_strbuf_addf(out, "%s:%u:%u: error: %s\n", file, err->line, err->col, msg);
	else if (file)
		gm_strbuf_addf(out, "%s: error: %s\n", file, msg);
	else
		gm_strbuf_addf(out, "garage-migrate: %s\n", msg);
	free(msg);
	free(file);
	if (err->line && err->src_line)
		gm_report_caret(out, err->line, err->col, err->src_line);
	detail_line(out, "SQLSTATE", err->sqlstate);
	detail_line(out, "DETAIL", err->detail);
	detail_line(out, "HINT", err->hint);
	detail_line(out, "CONTEXT", err->context);
	detail_line(out, "what to do", err->advice);
}

/* Appends text from the database, a file or the catalog on one line,
 * control characters escaped: a name cannot drive the terminal or start a
 * line that reads like the tool's own. */
static void add_safe(struct gm_strbuf *out, const char *s)
{
	char *e = gm_text_escape_line(s);

	gm_strbuf_adds(out, e);
	free(e);
}

static const char *item_version(const struct gm_status_item *it)
{
	return it->m ? it->m->version_text : it->a->version_text;
}

static const char *item_name(const struct gm_status_item *it)
{
	return it->m ? it->m->name : it->a->name;
}

/* The same counts as the JSON summary: each migration in one state. */
static void summary_text(const struct gm_status *st, struct gm_strbuf *out)
{
	gm_strbuf_addf(out, "%zu migration%s: %zu applied, %zu pending", st->n,
		       st->n == 1 ? "" : "s", st->count[GM_STATE_APPLIED], st->count[GM_STATE_PENDING]);
	if (st->count[GM_STATE_MODIFIED])
		gm_strbuf_addf(out, ", %zu modified", st->count[GM_STATE_MODIFIED]);
	if (st->count[GM_STATE_MISSING])
		gm_strbuf_addf(out, ", %zu missing", st->count[GM_STATE_MISSING]);
	if (st->count[GM_STATE_FAILED])
		gm_strbuf_addf(out, ", %zu failed", st->count[GM_STATE_FAILED]);
	if (st->count[GM_STATE_RUNNING])
		gm_strbuf_addf(out, ", %zu running", st->count[GM_STATE_RUNNING]);
	gm_strbuf_addch(out, '\n');
}

void gm_report_status_text(const struct gm_status *st, struct gm_strbuf *out)
{
	size_t k, vw = strlen("VERSION"), nw = strlen("NAME");

	for (k = 0; k < st->n; k++) {
		size_t a = strlen(item_version(&st->v[k])), b = strlen(item_name(&st->v[k]));
		if (a > vw)
			vw = a;
		if (b > nw)
			nw = b;
	}
	gm_strbuf_addf(out, "%-*s  %-*s  %-8s  %s\n", (int)vw, "VERSION", (int)nw, "NAME",
		       "STATE", "APPLIED AT");
	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		char *v = gm_text_escape_line(item_version(it)), *n = gm_text_escape_line(item_name(it));
		gm_strbuf_addf(out, "%-*s  %-*s  %-8s  ", (int)vw, v, (int)nw, n, gm_state_name(it->state));
		add_safe(out, it->a ? it->a->applied_at : "-");
		gm_strbuf_adds(out, it->out_of_order && it->state == GM_STATE_PENDING ? "  (older than the newest applied)" : "");
		if (it->a && it->a->message) {
			gm_strbuf_adds(out, "  ");
			add_safe(out, it->a->message);
		}
		gm_strbuf_addch(out, '\n');
		free(v);
		free(n);
	}
	summary_text(st, out);
}

static void json_field(struct gm_strbuf *out, const char *key, const char *v, int comma)
{
	gm_json_str(out, key);
	gm_strbuf_addch(out, ':');
	gm_json_str(out, v);
	if (comma)
		gm_strbuf_addch(out, ',');
}

void gm_report_status_json(const struct gm_status *st, struct gm_strbuf *out)
{
	size_t k;

	gm_strbuf_adds(out, "{" GM_JSON_FORMAT_FIELD "\"history_table\":\"" GM_HISTORY_TABLE "\",\"migrations\":[");
	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (k)
			gm_strbuf_addch(out, ',');
		gm_strbuf_addch(out, '{');
		json_field(out, "version", item_version(it), 1);
		json_field(out, "name", item_name(it), 1);
		json_field(out, "state", gm_state_name(it->state), 1);
		json_field(out, "file", it->m ? it->m->path : NULL, 1);
		json_field(out, "checksum", it->m ? it->m->checksum : NULL, 1);
		json_field(out, "applied_checksum", it->a ? it->a->checksum : NULL, 1);
		json_field(out, "applied_at", it->a ? it->a->applied_at : NULL, 1);
		json_field(out, "applied_by", it->a ? it->a->applied_by : NULL, 1);
		if (it->a)
			gm_strbuf_addf(out, "\"execution_ms\":%lld,", it->a->execution_ms);
		else
			gm_strbuf_adds(out, "\"execution_ms\":null,");
		json_field(out, "message", it->a ? it->a->message : NULL, 1);
		gm_strbuf_addf(out, "\"out_of_order\":%s}", it->out_of_order ? "true" : "false");
	}
	gm_strbuf_addf(out,
		"],\"summary\":{\"total\":%zu,\"applied\":%zu,\"pending\":%zu,\"modified\":%zu,\"missing\":%zu,"
		"\"failed\":%zu,\"running\":%zu}}\n",
		st->n, st->count[GM_STATE_APPLIED], st->count[GM_STATE_PENDING],
		st->count[GM_STATE_MODIFIED], st->count[GM_STATE_MISSING],
		st->count[GM_STATE_FAILED], st->count[GM_STATE_RUNNING]);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

void gm_report_audit_text(const struct gm_audit *a, struct gm_strbuf *out)
{
	size_t k;

	if (!a->exists || a->n == 0) {
		gm_strbuf_adds(out, "the audit log is empty\n");
		return;
	}
	gm_strbuf_addf(out, "%-20s  %-8s  %-7s  %-7s  %-20s  %6s  %s\n", "AT", "ACTION", "VERSION",
		       "OUTCOME", "WHO (DB/OS USER)", "MS", "MIGRATION / MESSAGE");
	for (k = 0; k < a->n; k++) {
		const struct gm_audit_entry *e = &a->v[k];
		struct gm_strbuf line = GM_STRBUF_INIT;
		char *who = gm_xasprintf("%s/%s", or_dash(e->db_user), or_dash(e->os_user));
		gm_strbuf_addf(&line, "%-20s  %-8s  %-7s  %-7s  %-20s  %6s  %s%s%s", e->at, e->action,
			       or_dash(e->version), e->outcome, who, or_dash(e->duration_ms),
			       or_dash(e->name), e->message ? ": " : "", e->message ? e->message : "");
		add_safe(out, line.buf);
		gm_strbuf_addch(out, '\n');
		gm_strbuf_release(&line);
		free(who);
	}
}

void gm_report_audit_json(const struct gm_audit *a, struct gm_strbuf *out)
{
	size_t k;

	gm_strbuf_adds(out, "{" GM_JSON_FORMAT_FIELD "\"audit_log\":[");
	for (k = 0; k < a->n; k++) {
		const struct gm_audit_entry *e = &a->v[k];
		if (k)
			gm_strbuf_addch(out, ',');
		gm_strbuf_addf(out, "{\"id\":%s,", e->id);
		json_field(out, "at", e->at, 1);
		json_field(out, "action", e->action, 1);
		/* A string, as in list (there "0004", the file's spelling; here
		 * the number the history keeps). */
		json_field(out, "version", e->version, 1);
		json_field(out, "name", e->name, 1);
		json_field(out, "checksum", e->checksum, 1);
		json_field(out, "outcome", e->outcome, 1);
		json_field(out, "db_user", e->db_user, 1);
		json_field(out, "os_user", e->os_user, 1);
		gm_strbuf_addf(out, "\"duration_ms\":%s,", e->duration_ms ? e->duration_ms : "null");
		json_field(out, "message", e->message, 0);
		gm_strbuf_addch(out, '}');
	}
	gm_strbuf_adds(out, "]}\n");
}

/* ---- verify ---- */

/* Why check c was skipped, with what to do (caller frees). */
static char *skip_reason(enum gm_check c, const char *snapshot)
{
	if (c == GM_CHECK_SCHEMA)
		return gm_xasprintf("no snapshot at %s; write one with garage-migrate dump -o %s", snapshot, snapshot);
	return gm_xstrdup("not run");
}

static void check_summary(const struct gm_verify_result *r, enum gm_check c, const char *snapshot,
			  struct gm_strbuf *out)
{
	size_t e = gm_findings_count(&r->findings, (int)c, GM_LEVEL_ERROR);
	size_t w = gm_findings_count(&r->findings, (int)c, GM_LEVEL_WARNING);

	if (r->skipped[c]) {
		char *why = skip_reason(c, snapshot);
		gm_strbuf_addf(out, "%s: skipped: ", gm_check_name(c));
		add_safe(out, why);
		gm_strbuf_addch(out, '\n');
		free(why);
		return;
	}
	size_t skipped = 0;

	switch (c) {
	case GM_CHECK_HISTORY:
		gm_strbuf_addf(out, "history: %zu applied, %zu pending", r->applied, r->pending);
		break;
	case GM_CHECK_SCHEMA:
		gm_strbuf_addf(out, "schema: %zu facts compared with %s", r->facts, snapshot);
		break;
	case GM_CHECK_RLS:
		gm_strbuf_adds(out, "rls: lints on tenant tables");
		break;
	case GM_CHECK_ISOLATION: {
		size_t n[3] = { 0, 0, 0 };
		for (size_t k = 0; k < r->nprobe; k++)
			n[r->probe[k].state]++;
		gm_strbuf_addf(out, "isolation: %zu checks acting as tenant B: %zu passed, %zu failed, %zu skipped",
			       r->nprobe, n[GM_PROBE_PASSED], n[GM_PROBE_FAILED], n[GM_PROBE_SKIPPED]);
		skipped = n[GM_PROBE_SKIPPED];
		break;
	}
	}
	/* A check that could not run proved nothing: not "ok" (and under
	 * --strict, verify fails). */
	if (!e && !w && skipped)
		gm_strbuf_adds(out, " - incomplete\n");
	else if (!e && !w)
		gm_strbuf_adds(out, " - ok\n");
	else
		gm_strbuf_addf(out, " - %zu error%s, %zu warning%s\n", e, e == 1 ? "" : "s", w, w == 1 ? "" : "s");
}

void gm_report_verify_text(const struct gm_verify_result *r, const char *snapshot, int ok,
			   struct gm_strbuf *out)
{
	size_t e = gm_findings_count(&r->findings, -1, GM_LEVEL_ERROR);
	size_t w = gm_findings_count(&r->findings, -1, GM_LEVEL_WARNING);
	int c;

	for (c = 0; c < GM_CHECK_COUNT; c++) {
		size_t k;
		if (!r->ran[c] && !r->skipped[c])
			continue;
		check_summary(r, (enum gm_check)c, snapshot, out);
		/* The probe's evidence: every check, passed or not. */
		for (k = 0; c == GM_CHECK_ISOLATION && k < r->nprobe; k++) {
			const struct gm_probe_check *pc = &r->probe[k];
			static const char *const mark[] = { "ok", "FAIL", "SKIP" };
			struct gm_strbuf line = GM_STRBUF_INIT;
			gm_strbuf_addf(&line, "%-4s %-6s %s: %s (%s)", mark[pc->state], pc->command,
				       pc->table, pc->expectation, pc->result);
			gm_strbuf_adds(out, "  ");
			add_safe(out, line.buf);
			gm_strbuf_addch(out, '\n');
			gm_strbuf_release(&line);
		}
		for (k = 0; k < r->findings.n; k++) {
			const struct gm_finding *f = &r->findings.v[k];
			if (f->check != (enum gm_check)c)
				continue;
			gm_strbuf_addf(out, "  %s %s: ", gm_level_name(f->level), f->name);
			/* Schema messages already start with the object. */
			if (f->check != GM_CHECK_SCHEMA) {
				add_safe(out, f->object);
				gm_strbuf_adds(out, ": ");
			}
			add_safe(out, f->message);
			gm_strbuf_addch(out, '\n');
			if (f->remedy) {
				gm_strbuf_adds(out, "      fix: ");
				add_safe(out, f->remedy);
				gm_strbuf_addch(out, '\n');
			}
		}
	}
	gm_strbuf_addf(out, "verify %s: %zu error%s, %zu warning%s\n", ok ? "passed" : "FAILED",
		       e, e == 1 ? "" : "s", w, w == 1 ? "" : "s");
}

void gm_report_verify_json(const struct gm_verify_result *r, const char *snapshot, int ok,
			   struct gm_strbuf *out)
{
	size_t k;
	int c;

	gm_strbuf_addf(out, "{" GM_JSON_FORMAT_FIELD "\"ok\":%s,\"snapshot\":", ok ? "true" : "false");
	gm_json_str(out, snapshot);
	gm_strbuf_adds(out, ",\"checks\":[");
	for (c = 0, k = 0; c < GM_CHECK_COUNT; c++) {
		size_t e = gm_findings_count(&r->findings, c, GM_LEVEL_ERROR);
		size_t w = gm_findings_count(&r->findings, c, GM_LEVEL_WARNING);
		if (r->skipped[c]) {
			/* Skipped is never ok. */
			char *why = skip_reason((enum gm_check)c, snapshot);
			gm_strbuf_addf(out, "%s{\"name\":\"%s\",\"ok\":false,\"skipped\":true,", k++ ? "," : "",
				       gm_check_name((enum gm_check)c));
			json_field(out, "reason", why, 0);
			gm_strbuf_addch(out, '}');
			free(why);
			continue;
		}
		if (!r->ran[c])
			continue;
		gm_strbuf_addf(out, "%s{\"name\":\"%s\",\"ok\":%s,\"errors\":%zu,\"warnings\":%zu}",
			       k++ ? "," : "", gm_check_name((enum gm_check)c), e ? "false" : "true", e, w);
	}
	gm_strbuf_adds(out, "],\"findings\":[");
	for (k = 0; k < r->findings.n; k++) {
		const struct gm_finding *f = &r->findings.v[k];
		gm_strbuf_addf(out, "%s{\"check\":\"%s\",", k ? "," : "", gm_check_name(f->check));
		json_field(out, "name", f->name, 1);
		json_field(out, "level", gm_level_name(f->level), 1);
		json_field(out, "object", f->object, 1);
		json_field(out, "message", f->message, 1);
		json_field(out, "remedy", f->remedy, 0);
		gm_strbuf_addch(out, '}');
	}
	gm_strbuf_adds(out, "]");
	if (r->ran[GM_CHECK_ISOLATION]) {
		gm_strbuf_adds(out, ",\"isolation\":[");
		for (k = 0; k < r->nprobe; k++) {
			const struct gm_probe_check *pc = &r->probe[k];
			gm_strbuf_adds(out, k ? ",{" : "{");
			json_field(out, "table", pc->table, 1);
			json_field(out, "command", pc->command, 1);
			json_field(out, "expectation", pc->expectation, 1);
			gm_strbuf_addf(out, "\"ok\":%s,\"status\":\"%s\",", pc->state == GM_PROBE_PASSED ? "true" : "false",
				       gm_probe_state_name(pc->state));
			json_field(out, "result", pc->result, 0);
			gm_strbuf_addch(out, '}');
		}
		gm_strbuf_adds(out, "]");
	}
	gm_strbuf_addf(out, ",\"summary\":{\"applied\":%zu,\"pending\":%zu,\"facts\":%zu,"
			    "\"errors\":%zu,\"warnings\":%zu}}\n",
		       r->applied, r->pending, r->facts,
		       gm_findings_count(&r->findings, -1, GM_LEVEL_ERROR),
		       gm_findings_count(&r->findings, -1, GM_LEVEL_WARNING));
}

/* XML 1.0's characters: no C0 control but tab and line break, no
 * U+FFFE or U+FFFF, nothing that is not UTF-8 (a SQL_ASCII database's
 * names): a reader of the report stops at them.  Controls are left out,
 * the others become '?'.  Walked as text.c's escape() walks a string:
 * runs of valid UTF-8, then the byte after. */
static int nonchar_at(const char *s)
{
	return (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBF && (unsigned char)s[2] >= 0xBE;
}

void gm_xml_str(struct gm_strbuf *out, const char *s)
{
	size_t len = s ? strlen(s) : 0, i = 0;

	while (i < len) {
		size_t good = i + gm_text_invalid_at(s + i, len - i);
		for (; i < good; i++) {
			if (nonchar_at(s + i)) {
				gm_strbuf_addch(out, '?');
				i += 2;	/* the loop steps past the last byte */
				continue;
			}
			switch (s[i]) {
			case '&': gm_strbuf_adds(out, "&amp;"); break;
			case '<': gm_strbuf_adds(out, "&lt;"); break;
			case '>': gm_strbuf_adds(out, "&gt;"); break;
			case '"': gm_strbuf_adds(out, "&quot;"); break;
			case '\'': gm_strbuf_adds(out, "&apos;"); break;
			case '\n': gm_strbuf_adds(out, "&#10;"); break;
			default:
				if ((unsigned char)s[i] >= 0x20 || s[i] == '\t')
					gm_strbuf_addch(out, s[i]);
			}
		}
		if (i < len) {	/* a byte that is not UTF-8 */
			gm_strbuf_addch(out, '?');
			i++;
		}
	}
}

/* One <testsuite> per check: a passing case when it found nothing, else one
 * case per finding (errors as failures, warnings as passing cases with
 * their text in system-out, since JUnit has no warnings). */
static void junit_probe_suite(const struct gm_verify_result *r, struct gm_strbuf *out)
{
	size_t k, failures = 0, skipped = 0;

	for (k = 0; k < r->nprobe; k++) {
		failures += r->probe[k].state == GM_PROBE_FAILED;
		skipped += r->probe[k].state == GM_PROBE_SKIPPED;
	}
	gm_strbuf_addf(out, "  <testsuite name=\"isolation\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
		       r->nprobe, failures, skipped);
	for (k = 0; k < r->nprobe; k++) {
		const struct gm_probe_check *pc = &r->probe[k];
		gm_strbuf_adds(out, "    <testcase classname=\"garage-migrate.isolation.");
		gm_xml_str(out, pc->table);
		gm_strbuf_adds(out, "\" name=\"");
		gm_xml_str(out, pc->command);
		gm_strbuf_adds(out, ": ");
		gm_xml_str(out, pc->expectation);
		if (pc->state == GM_PROBE_PASSED) {
			gm_strbuf_adds(out, "\"/>\n");
			continue;
		}
		gm_strbuf_adds(out, pc->state == GM_PROBE_SKIPPED ? "\"><skipped message=\""
								  : "\"><failure type=\"isolation_breach\" message=\"");
		gm_xml_str(out, pc->result);
		gm_strbuf_adds(out, "\"/></testcase>\n");
	}
	gm_strbuf_adds(out, "  </testsuite>\n");
}

/* A check that did not run: one case, skipped, saying why. */
static void junit_skipped_suite(enum gm_check c, const char *snapshot, struct gm_strbuf *out)
{
	const char *name = gm_check_name(c);
	char *why = skip_reason(c, snapshot);

	gm_strbuf_addf(out, "  <testsuite name=\"%s\" tests=\"1\" failures=\"0\" skipped=\"1\">\n", name);
	gm_strbuf_addf(out, "    <testcase classname=\"garage-migrate.%s\" name=\"", name);
	if (c == GM_CHECK_SCHEMA) {
		gm_strbuf_adds(out, "matches ");
		gm_xml_str(out, snapshot);
	} else {
		gm_strbuf_adds(out, name);
	}
	gm_strbuf_adds(out, "\"><skipped message=\"");
	gm_xml_str(out, why);
	gm_strbuf_adds(out, "\"/></testcase>\n  </testsuite>\n");
	free(why);
}

/* One <testsuite> per check: a passing case when it found nothing, else one
 * case per finding (errors as failures, warnings as passing cases with
 * their text in system-out, since JUnit has no warnings).  The isolation
 * probe reports every check it made; a skipped check, why. */
void gm_report_verify_junit(const struct gm_verify_result *r, const char *snapshot,
			    struct gm_strbuf *out)
{
	size_t k, tests = 0, failures = 0;
	int c;

	for (c = 0; c < GM_CHECK_COUNT; c++) {
		size_t n = gm_findings_count(&r->findings, c, GM_LEVEL_ERROR) +
			   gm_findings_count(&r->findings, c, GM_LEVEL_WARNING);
		if (r->skipped[c])
			tests++;
		if (!r->ran[c])
			continue;
		if (c == GM_CHECK_ISOLATION) {
			tests += r->nprobe;
			for (k = 0; k < r->nprobe; k++)
				failures += r->probe[k].state == GM_PROBE_FAILED;
			continue;
		}
		tests += n ? n : 1;
		failures += gm_findings_count(&r->findings, c, GM_LEVEL_ERROR);
	}
	gm_strbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	gm_strbuf_addf(out, "<testsuites name=\"garage-migrate verify\" tests=\"%zu\" failures=\"%zu\">\n",
		       tests, failures);
	for (c = 0; c < GM_CHECK_COUNT; c++) {
		const char *name = gm_check_name((enum gm_check)c);
		size_t e = gm_findings_count(&r->findings, c, GM_LEVEL_ERROR);
		size_t n = e + gm_findings_count(&r->findings, c, GM_LEVEL_WARNING);

		if (r->skipped[c]) {
			junit_skipped_suite((enum gm_check)c, snapshot, out);
			continue;
		}
		if (!r->ran[c])
			continue;
		if (c == GM_CHECK_ISOLATION) {
			junit_probe_suite(r, out);
			continue;
		}
		gm_strbuf_addf(out, "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\">\n", name, n ? n : 1, e);
		if (n == 0) {
			gm_strbuf_addf(out, "    <testcase classname=\"garage-migrate.%s\" name=\"", name);
			if (c == GM_CHECK_SCHEMA) {
				gm_strbuf_adds(out, "matches ");
				gm_xml_str(out, snapshot);
			} else {
				gm_strbuf_adds(out, c == GM_CHECK_HISTORY ? "applied migrations match their files"
									  : "tenant tables pass the RLS lints");
			}
			gm_strbuf_adds(out, "\"/>\n");
		}
		for (k = 0; k < r->findings.n; k++) {
			const struct gm_finding *f = &r->findings.v[k];
			if (f->check != (enum gm_check)c)
				continue;
			gm_strbuf_addf(out, "    <testcase classname=\"garage-migrate.%s\" name=\"", name);
			gm_xml_str(out, f->name);
			gm_strbuf_adds(out, ": ");
			gm_xml_str(out, f->object);
			gm_strbuf_adds(out, "\">");
			if (f->level == GM_LEVEL_ERROR) {
				gm_strbuf_adds(out, "<failure type=\"");
				gm_xml_str(out, f->name);
				gm_strbuf_adds(out, "\" message=\"");
				gm_xml_str(out, f->message);
				gm_strbuf_adds(out, "\">");
				gm_xml_str(out, f->remedy ? f->remedy : f->message);
				gm_strbuf_adds(out, "</failure>");
			} else {
				gm_strbuf_adds(out, "<system-out>warning: ");
				gm_xml_str(out, f->message);
				gm_strbuf_adds(out, "</system-out>");
			}
			gm_strbuf_adds(out, "</testcase>\n");
		}
		gm_strbuf_adds(out, "  </testsuite>\n");
	}
	gm_strbuf_adds(out, "</testsuites>\n");
}

/* ---- a run that stopped ---- */

void gm_report_error_json(const struct gm_error *err, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, "{" GM_JSON_FORMAT_FIELD "\"ok\":false,\"error\":");
	gm_report_error_object(err, out);
	gm_strbuf_adds(out, "}\n");
}

void gm_report_migration_open(const struct gm_migration *m, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, out->len ? ",{\"version\":" : "{\"version\":");
	gm_json_str(out, m->version_text);
	gm_strbuf_adds(out, ",\"name\":");
	gm_json_str(out, m->name);
	gm_strbuf_adds(out, ",\"file\":");
	gm_json_str(out, m->path);
}

void gm_report_error_field(const struct gm_error *err, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, "\"error\":");
	if (err)
		gm_report_error_object(err, out);
	else
		gm_strbuf_adds(out, "null");
}

void gm_report_error_object(const struct gm_error *err, struct gm_strbuf *out)
{
	gm_strbuf_addch(out, '{');
	json_field(out, "message", err->msg, 1);
	gm_strbuf_addf(out, "\"exit_code\":%d,", gm_error_exit_code(err));
	json_field(out, "file", err->file, 1);
	if (err->line)
		gm_strbuf_addf(out, "\"line\":%u,\"column\":%u,", err->line, err->col);
	else
		gm_strbuf_adds(out, "\"line\":null,\"column\":null,");
	json_field(out, "sqlstate", err->sqlstate, 1);
	json_field(out, "detail", err->detail, 1);
	json_field(out, "advice", err->advice, 0);
	gm_strbuf_addch(out, '}');
}

void gm_report_error_junit(const char *suite, const struct gm_error *err, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"garage-migrate ");
	gm_xml_str(out, suite);
	gm_strbuf_adds(out, "\" tests=\"1\" failures=\"0\" errors=\"1\">\n  <testsuite name=\"");
	gm_xml_str(out, suite);
	gm_strbuf_adds(out, "\" tests=\"1\" failures=\"0\" errors=\"1\">\n    <testcase classname=\"garage-migrate.");
	gm_xml_str(out, suite);
	gm_strbuf_adds(out, "\" name=\"runs\"><error message=\"");
	gm_xml_str(out, err->msg);
	gm_strbuf_addf(out, "\" type=\"exit %d\">", gm_error_exit_code(err));
	gm_xml_str(out, err->advice ? err->advice : "");
	gm_strbuf_adds(out, "</error></testcase>\n  </testsuite>\n</testsuites>\n");
}
