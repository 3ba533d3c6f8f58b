/* report_lint.c - the migration lint's findings as text, JSON and SARIF
 * 2.1.0 (see gm_report.h). */
#include "gm_report.h"
#include "gm_sqllint.h"
#include "gm_text.h"

#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

static void add_line_safe(struct gm_strbuf *out, const char *s)
{
	char *e = gm_text_escape_line(s);

	gm_strbuf_adds(out, e);
	free(e);
}

static void text_finding(const struct gm_lint_finding *f, struct gm_strbuf *out)
{
	add_line_safe(out, f->m->path);
	gm_strbuf_addf(out, ":%u:%u: %s: ", f->line, f->col, gm_lint_level_name(f->level));
	add_line_safe(out, f->message);
	gm_strbuf_addf(out, " [%s]\n", f->rule->id);
	if (f->src_line)
		gm_report_caret(out, f->line, f->col, f->src_line);
	if (f->ignored) {
		gm_strbuf_adds(out, "  ignored: ");
		add_line_safe(out, f->ignored);
		gm_strbuf_addch(out, '\n');
	} else if (f->level != GM_LINT_NOTE) {
		gm_strbuf_addf(out, "  fix: %s\n", f->rule->fix);
	}
}

static void count_text(struct gm_strbuf *out, size_t n, const char *what, int *first)
{
	if (!n)
		return;
	gm_strbuf_addf(out, "%s%zu %s%s", *first ? "" : ", ", n, what, n == 1 ? "" : "s");
	*first = 0;
}

void gm_report_lint_text(const struct gm_lint_result *r, int show_ignored, int ok, struct gm_strbuf *out)
{
	int first = 1;

	for (size_t k = 0; k < r->n; k++)
		if (!r->v[k].ignored || show_ignored)
			text_finding(&r->v[k], out);
	gm_strbuf_addf(out, "lint %s: %zu migration%s, %zu statement%s", ok ? "passed" : "FAILED", r->migrations,
		       r->migrations == 1 ? "" : "s", r->statements, r->statements == 1 ? "" : "s");
	gm_strbuf_adds(out, r->sized ? " (table sizes from the database): " : " (no database: table sizes unknown): ");
	count_text(out, r->count[GM_LINT_ERROR], "error", &first);
	count_text(out, r->count[GM_LINT_WARNING], "warning", &first);
	count_text(out, r->count[GM_LINT_NOTE], "note", &first);
	count_text(out, r->ignored, "ignored finding", &first);
	gm_strbuf_adds(out, first ? "no findings\n" : "\n");
}

/* ---- JSON ---- */

static void json_kv(struct gm_strbuf *out, const char *key, const char *v, int comma)
{
	gm_json_str(out, key);
	gm_strbuf_addch(out, ':');
	gm_json_str(out, v);
	if (comma)
		gm_strbuf_addch(out, ',');
}

void gm_report_lint_json(const struct gm_lint_result *r, int ok, struct gm_strbuf *out)
{
	gm_strbuf_addf(out, "{" GM_JSON_FORMAT_FIELD "\"ok\":%s,\"findings\":[", ok ? "true" : "false");
	for (size_t k = 0; k < r->n; k++) {
		const struct gm_lint_finding *f = &r->v[k];
		gm_strbuf_adds(out, k ? ",{" : "{");
		json_kv(out, "rule", f->rule->id, 1);
		json_kv(out, "group", f->rule->group, 1);
		json_kv(out, "level", gm_lint_level_name(f->level), 1);
		json_kv(out, "file", f->m->path, 1);
		gm_strbuf_addf(out, "\"line\":%u,\"column\":%u,", f->line, f->col);
		json_kv(out, "object", f->object, 1);
		json_kv(out, "message", f->message, 1);
		json_kv(out, "fix", f->rule->fix, 1);
		json_kv(out, "ignored", f->ignored, 0);
		gm_strbuf_addch(out, '}');
	}
	gm_strbuf_addf(out, "],\"summary\":{\"migrations\":%zu,\"statements\":%zu,\"not_analysed\":%zu,"
			    "\"errors\":%zu,\"warnings\":%zu,\"notes\":%zu,\"ignored\":%zu,\"sized\":%s}}\n",
		       r->migrations, r->statements, r->not_analysed, r->count[GM_LINT_ERROR], r->count[GM_LINT_WARNING],
		       r->count[GM_LINT_NOTE], r->ignored, r->sized ? "true" : "false");
}

/* ---- SARIF 2.1.0 ---- */

/* A path as a URI: a relative reference, or a file: URI for an absolute
 * path; unreserved characters and '/' as they are, everything else
 * percent-encoded. */
static void add_uri(struct gm_strbuf *out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct gm_strbuf u = GM_STRBUF_INIT;

	if (path[0] == '/')
		gm_strbuf_adds(&u, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			gm_strbuf_addch(&u, (char)*p);
		else
			gm_strbuf_addf(&u, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	gm_json_str(out, u.buf);
	gm_strbuf_release(&u);
}

static const char *sarif_level(enum gm_lint_level l)
{
	return l == GM_LINT_ERROR ? "error" : l == GM_LINT_WARNING ? "warning" : l == GM_LINT_NOTE ? "note" : "none";
}

static void sarif_rules(struct gm_strbuf *out)
{
	size_t n;
	const struct gm_lint_rule *rules = gm_lint_rules(&n);

	for (size_t k = 0; k < n; k++) {
		gm_strbuf_adds(out, k ? ",{" : "{");
		json_kv(out, "id", rules[k].id, 1);
		json_kv(out, "name", rules[k].id, 1);
		gm_strbuf_adds(out, "\"shortDescription\":{");
		json_kv(out, "text", rules[k].title, 0);
		gm_strbuf_adds(out, "},\"help\":{");
		json_kv(out, "text", rules[k].fix, 0);
		gm_strbuf_addf(out, "},\"defaultConfiguration\":{\"level\":\"%s\"},", sarif_level(rules[k].level));
		gm_strbuf_adds(out, "\"properties\":{");
		json_kv(out, "group", rules[k].group, 0);
		gm_strbuf_adds(out, "}}");
	}
}

static size_t rule_index(const struct gm_lint_rule *rule)
{
	size_t n;
	const struct gm_lint_rule *rules = gm_lint_rules(&n);

	return (size_t)(rule - rules);
}

static void sarif_result(const struct gm_lint_finding *f, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, "{");
	json_kv(out, "ruleId", f->rule->id, 1);
	gm_strbuf_addf(out, "\"ruleIndex\":%zu,\"level\":\"%s\",\"message\":{", rule_index(f->rule), sarif_level(f->level));
	json_kv(out, "text", f->message, 0);
	gm_strbuf_adds(out, "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
	add_uri(out, f->m->path);
	gm_strbuf_addf(out, "},\"region\":{\"startLine\":%u,\"startColumn\":%u}}}]", f->line ? f->line : 1,
		       f->col ? f->col : 1);
	if (f->ignored) {
		gm_strbuf_adds(out, ",\"suppressions\":[{\"kind\":\"inSource\",");
		json_kv(out, "justification", f->ignored, 0);
		gm_strbuf_adds(out, "}]");
	}
	gm_strbuf_adds(out, "}");
}

void gm_report_lint_sarif(const struct gm_lint_result *r, const char *version, struct gm_strbuf *out)
{
	gm_strbuf_adds(out, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
			    "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"garage-migrate\",");
	json_kv(out, "version", version, 1);
	gm_strbuf_adds(out, "\"rules\":[");
	sarif_rules(out);
	/* Columns count characters, as the text output's do. */
	gm_strbuf_adds(out, "]}},\"columnKind\":\"unicodeCodePoints\",\"results\":[");
	for (size_t k = 0; k < r->n; k++) {
		if (k)
			gm_strbuf_addch(out, ',');
		sarif_result(&r->v[k], out);
	}
	gm_strbuf_adds(out, "]}]}\n");
}
