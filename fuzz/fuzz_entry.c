/* fuzz_entry.c - fuzzing entry points (see fuzz_entry.h). */
#include "fuzz_entry.h"

#include <stdlib.h>
#include <string.h>

#include "gm_error.h"
#include "gm_migration.h"
#include "gm_model.h"
#include "gm_report.h"
#include "gm_pgtree.h"
#include "gm_sqllint.h"
#include "gm_sqlstmt.h"
#include "gm_strbuf.h"

#include <pg_query.h>

/* Locates statement starts and a spread of offsets of a section, and
 * renders an error at each: the mapping must stay inside the file.  At
 * most 64 statements, spread too: a replayed file of 15,000 statements
 * (aliases within the limits) would cost 15,000 searches of the file,
 * where the tool locates one failed statement. */
static void exercise(const struct gm_migration *m, const struct gm_section *sec)
{
	size_t k, step = sec->len / 16 + 1, stmt_step = sec->stmts.n / 64 + 1;

	for (k = 0; k < sec->stmts.n; k += stmt_step) {
		unsigned line, col;
		char *src = NULL;
		gm_migration_locate(m, sec, sec->stmts.v[k].start, &line, &col, &src);
		free(src);
	}
	for (k = 0; k <= sec->len; k += step) {
		struct gm_error *err = gm_error_at(GM_ERR_MIGRATION, m->path, 0, 0, "probe");
		struct gm_strbuf sb = GM_STRBUF_INIT;
		unsigned line, col;
		gm_migration_locate(m, sec, k, &line, &col, &err->src_line);
		err->line = line;
		err->col = col;
		gm_report_error(err, &sb);
		gm_strbuf_release(&sb);
		gm_error_free(err);
	}
}

static void parse_as(const char *name, const uint8_t *data, size_t size)
{
	struct gm_migration *m = NULL;
	char *text = gm_xmalloc(size + 1);
	struct gm_error *err;

	memcpy(text, data, size);
	text[size] = '\0';
	err = gm_migration_parse(name, name, text, size, &m);
	if (err) {
		struct gm_strbuf sb = GM_STRBUF_INIT;
		gm_report_error(err, &sb);
		gm_strbuf_release(&sb);
		gm_error_free(err);
		return;
	}
	exercise(m, &m->up);
	if (m->has_down)
		exercise(m, &m->down);
	gm_migration_free(m);
}

void gm_fuzz_sql(const uint8_t *data, size_t size)
{
	parse_as("0001_fuzz.sql", data, size);
}

void gm_fuzz_yaml(const uint8_t *data, size_t size)
{
	parse_as("0001_fuzz.yaml", data, size);
}

void gm_fuzz_snapshot(const uint8_t *data, size_t size)
{
	struct gm_model m, again;
	struct gm_strbuf y = GM_STRBUF_INIT, y2 = GM_STRBUF_INIT;
	struct gm_error *err = gm_model_from_yaml("snapshot.yaml", (const char *)data, size, &m);

	if (err) {
		gm_error_free(err);
		return;
	}
	/* What parses must round-trip exactly. */
	gm_model_to_yaml(&m, &y);
	err = gm_model_from_yaml("again.yaml", y.buf, y.len, &again);
	if (err)
		abort();
	gm_model_to_yaml(&again, &y2);
	if (strcmp(y.buf, y2.buf) != 0)
		abort();
	gm_model_release(&again);
	gm_model_release(&m);
	gm_strbuf_release(&y);
	gm_strbuf_release(&y2);
}

/* Where libpg_query's parser splits a section at all, each statement it
 * finds must end where the lexer's does (at the same ';', or at the end
 * of the text), and they must find as many: the lexer splits what runs,
 * the parser's trees are what the lint reads (gm_sqlstmt.h). */
/* Whether the line that ends at end holds "--" (a string holding it
 * counts too: the check is then only looser). */
static int last_line_comments(const char *sql, size_t end)
{
	size_t bol = end;

	while (bol > 0 && sql[bol - 1] != '\n')
		bol--;
	for (size_t k = bol; k + 1 < end; k++)
		if (sql[k] == '-' && sql[k + 1] == '-')
			return 1;
	return 0;
}

static void check_split(const struct gm_section *sec)
{
	PgQuerySplitResult r = pg_query_split_with_parser(sec->sql);

	if (!r.error) {
		if ((size_t)r.n_stmts != sec->stmts.n)
			abort();
		for (int k = 0; k < r.n_stmts; k++) {
			const struct gm_sql_stmt *st = &sec->stmts.v[k];
			size_t end = (size_t)r.stmts[k]->stmt_location + (size_t)r.stmts[k]->stmt_len;
			int semi = st->end > st->start && sec->sql[st->end - 1] == ';';
			/* A statement the text ends without a ';' runs to the end of
			 * the text, for both, trailing comment included: a ';' at the
			 * end of a "--" comment on the last line ends no statement. */
			if (semi && end == st->end && st->end == strlen(sec->sql) && last_line_comments(sec->sql, st->end))
				semi = 0;
			if (semi ? end != st->end - 1 : (r.stmts[k]->stmt_len && end > st->end))
				abort();
		}
	}
	pg_query_free_split_result(r);
}

static int same_node(const PgQuery__Node *a, const PgQuery__Node *b)
{
	return gm_pgtree_msg_equal(&a->base, &b->base, same_node);
}

/* Parses text[from, to) into t; whether it parsed. */
static int parse_span(const char *text, size_t from, size_t to, struct gm_pgtree *t)
{
	char *sql = gm_xstrndup(text + from, to - from), *why;
	size_t cursor;
	int ok;

	why = gm_pgtree_parse(sql, t, &cursor);
	ok = !why;
	free(sql);
	free(why);
	return ok;
}

int gm_fuzz_rows_agree(const char *text, size_t start, size_t end)
{
	size_t cut = gm_sql_constant_rows_from(text, start, end);
	struct gm_pgtree whole = { NULL }, part = { NULL };
	int ok;

	/* Not PostgreSQL 15 SQL as a whole: the server says so when it runs;
	 * nothing to compare. */
	if (!cut || !parse_span(text, start, end, &whole))
		return 1;
	/* Later rows there must be, all constants: they go, the first stays. */
	ok = parse_span(text, start, cut, &part) && gm_pgtree_drop_constant_rows(&whole, 1) > 0 &&
	     gm_pgtree_stmt(&part) && same_node(gm_pgtree_stmt(&whole), gm_pgtree_stmt(&part));
	gm_pgtree_free(&whole);
	gm_pgtree_free(&part);
	return ok;
}

void gm_fuzz_lint(const uint8_t *data, size_t size)
{
	/* Read as YAML (generated SQL, mapped back) when the first line reads
	 * like a key, as the YAML seeds' do. */
	const char *nl = memchr(data, '\n', size), *name;
	size_t first = nl ? (size_t)(nl - (const char *)data) : size;
	struct gm_migration *m = NULL;
	const struct gm_migration *run[1];
	struct gm_lint_opts o;
	struct gm_lint_result r;
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char *text = gm_xmalloc(size + 1);
	struct gm_error *err;

	memcpy(text, data, size);
	text[size] = '\0';
	name = first && text[first - 1] == ':' && strncmp(text, "--", 2) ? "0001_fuzz.yaml" : "0001_fuzz.sql";
	if ((err = gm_migration_parse(name, name, text, size, &m))) {
		gm_error_free(err);
		return;
	}
	check_split(&m->up);
	for (size_t k = 0; k < m->up.stmts.n; k++)
		if (!gm_fuzz_rows_agree(m->up.sql, m->up.stmts.v[k].start, m->up.stmts.v[k].end))
			abort();
	memset(&o, 0, sizeof(o));
	run[0] = m;
	o.all = run;
	o.nall = 1;
	if (!(err = gm_lint_run(run, 1, &o, NULL, &r))) {
		gm_report_lint_text(&r, 1, 1, &sb);
		gm_report_lint_json(&r, 1, &sb);
		gm_report_lint_sarif(&r, "fuzz", &sb);
		gm_lint_result_release(&r);
	}
	gm_error_free(err);
	gm_strbuf_release(&sb);
	gm_migration_free(m);
}
