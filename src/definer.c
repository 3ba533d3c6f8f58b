/* definer.c - what a SECURITY DEFINER function does to protected rows
 * (see gm_definer.h). */
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_pgtree.h"
#include "gm_policy.h"
#include "gm_strbuf.h"

#include <stdlib.h>
#include <string.h>

#define NODE(n, kind) ((n) && (n)->node_case == PG_QUERY__NODE__NODE_##kind)

struct judging {
	const struct gm_policy_judge *j;
	gm_definer_protected is_protected;
	void *ctx;
	char *table;	/* the first unbound statement's table, or NULL */
	char *why;
};

static int protected_rv(struct judging *g, const PgQuery__RangeVar *rv)
{
	return rv && rv->relname && g->is_protected(g->ctx, rv->schemaname && *rv->schemaname ? rv->schemaname : NULL,
						      rv->relname);
}

static void name_of(struct judging *g, const PgQuery__RangeVar *rv)
{
	g->table = rv->schemaname && *rv->schemaname ? gm_xasprintf("%s.%s", rv->schemaname, rv->relname)
						     : gm_xstrdup(rv->relname);
}

/* The first protected relation among FROM items (joins included; a
 * subquery in FROM is a statement of its own, judged on its own). */
static const PgQuery__RangeVar *protected_from(struct judging *g, PgQuery__Node *const *items, size_t n)
{
	const PgQuery__RangeVar *rv;

	for (size_t k = 0; k < n; k++) {
		const PgQuery__Node *it = items[k];
		if (NODE(it, RANGE_VAR) && protected_rv(g, it->range_var))
			return it->range_var;
		if (NODE(it, JOIN_EXPR) && ((rv = protected_from(g, &it->join_expr->larg, 1)) ||
					    (rv = protected_from(g, &it->join_expr->rarg, 1))))
			return rv;
	}
	return NULL;
}

/* A statement on rv with this WHERE: bound, or g records why not. */
static int judge_where(struct judging *g, const PgQuery__RangeVar *rv, PgQuery__Node *where, const char *verb)
{
	char *branch = NULL;

	if (!rv)
		return 0;
	if (!where) {
		name_of(g, rv);
		g->why = gm_xasprintf("%s without a WHERE", verb);
		return 1;
	}
	if (gm_policy_judge_node(g->j, where, &branch) == GM_BOUND) {
		free(branch);
		return 0;
	}
	name_of(g, rv);
	g->why = gm_xasprintf("%s whose WHERE has a branch not bound to the tenant: %s", verb,
			      branch ? branch : "(unknown)");
	free(branch);
	return 1;
}

/* Each statement on a protected table, wherever it sits (a CTE, a
 * subquery): stops at the first that is not bound. */
static int visit(void *ctx, const PgQuery__Node *n)
{
	struct judging *g = ctx;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		return judge_where(g, protected_from(g, n->select_stmt->from_clause, n->select_stmt->n_from_clause),
				   n->select_stmt->where_clause, "SELECT");
	case PG_QUERY__NODE__NODE_UPDATE_STMT: {
		const PgQuery__UpdateStmt *u = n->update_stmt;
		const PgQuery__RangeVar *rv = protected_rv(g, u->relation) ? u->relation
					      : protected_from(g, u->from_clause, u->n_from_clause);
		return judge_where(g, rv, u->where_clause, "UPDATE");
	}
	case PG_QUERY__NODE__NODE_DELETE_STMT: {
		const PgQuery__DeleteStmt *d = n->delete_stmt;
		const PgQuery__RangeVar *rv = protected_rv(g, d->relation) ? d->relation
					      : protected_from(g, d->using_clause, d->n_using_clause);
		return judge_where(g, rv, d->where_clause, "DELETE");
	}
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		/* Its rows' tenant is what it inserts: bound when it names the
		 * tenant expression (VALUES (auth.uid(), ...)). */
		if (!protected_rv(g, n->insert_stmt->relation) ||
		    gm_policy_mentions_tenant_node(g->j, n->insert_stmt->select_stmt))
			return 0;
		name_of(g, n->insert_stmt->relation);
		g->why = gm_xstrdup("INSERT that does not name the tenant expression");
		return 1;
	case PG_QUERY__NODE__NODE_MERGE_STMT:
		if (!protected_rv(g, n->merge_stmt->relation))
			return 0;
		name_of(g, n->merge_stmt->relation);
		g->why = gm_xstrdup("MERGE");
		return 1;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		for (size_t k = 0; k < n->truncate_stmt->n_relations; k++)
			if (NODE(n->truncate_stmt->relations[k], RANGE_VAR) &&
			    protected_rv(g, n->truncate_stmt->relations[k]->range_var)) {
				name_of(g, n->truncate_stmt->relations[k]->range_var);
				g->why = gm_xstrdup("TRUNCATE");
				return 1;
			}
		return 0;
	default:
		return 0;
	}
}

/* SQL text of the body, or of one PL/pgSQL statement or expression
 * (PL/pgSQL keeps a condition as an expression: "x > 1", read as a
 * SELECT of it).  Text that parses as neither is left alone: the server
 * would refuse it too. */
static int judge_sql(struct judging *g, const char *sql)
{
	struct gm_pgtree t;
	size_t cursor;
	char *why = gm_pgtree_parse(sql, &t, &cursor), *select;
	int found = 0;

	if (why) {
		free(why);
		select = gm_xasprintf("SELECT %s", sql);
		why = gm_pgtree_parse(select, &t, &cursor);
		free(select);
	}
	if (!why && t.pr)
		found = gm_pgtree_walk(&t.pr->base, visit, g);
	free(why);
	gm_pgtree_free(&t);
	return found;
}

/* ---- PL/pgSQL: libpg_query's JSON of the function ---- */

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* \uXXXX at s (just past the u) as UTF-8 into sb; returns the digits
 * read.  Surrogates go as they come: the text is only parsed. */
static int json_unicode(const char *s, struct gm_strbuf *sb)
{
	unsigned c = 0;
	int k, d;

	for (k = 0; k < 4 && (d = hex_digit(s[k])) >= 0; k++)
		c = c * 16 + (unsigned)d;
	if (c < 0x80) {
		gm_strbuf_addch(sb, (char)c);
	} else if (c < 0x800) {
		gm_strbuf_addch(sb, (char)(0xC0 | (c >> 6)));
		gm_strbuf_addch(sb, (char)(0x80 | (c & 0x3F)));
	} else {
		gm_strbuf_addch(sb, (char)(0xE0 | (c >> 12)));
		gm_strbuf_addch(sb, (char)(0x80 | ((c >> 6) & 0x3F)));
		gm_strbuf_addch(sb, (char)(0x80 | (c & 0x3F)));
	}
	return k;
}

/* A JSON string at *p (just past its opening quote) into sb; *p ends
 * past the closing quote. */
static void json_string(const char **p, struct gm_strbuf *sb)
{
	static const char esc[] = "n\nt\tr\rb\bf\f";
	const char *s = *p, *e;

	gm_strbuf_reset(sb);
	while (*s && *s != '"') {
		if (*s != '\\') {
			gm_strbuf_addch(sb, *s++);
		} else if (s[1] == 'u') {
			s += 2 + json_unicode(s + 2, sb);
		} else if (s[1]) {
			e = strchr(esc, s[1]);
			gm_strbuf_addch(sb, e && (e - esc) % 2 == 0 ? e[1] : s[1]);	/* \" \\ \/ as they are */
			s += 2;
		} else {
			s++;
		}
	}
	*p = *s ? s + 1 : s;
}

/* Statements whose SQL is built at run time. */
static int dynamic_key(const char *key)
{
	return !strcmp(key, "PLpgSQL_stmt_dynexecute") || !strcmp(key, "PLpgSQL_stmt_dynfors") ||
	       !strcmp(key, "dynquery");
}

/* Every "query" string of the JSON, judged; a dynamic statement makes the
 * body unseen (*dynamic). */
static int judge_plpgsql_json(struct judging *g, const char *json, int *dynamic)
{
	struct gm_strbuf str = GM_STRBUF_INIT;
	char *key = gm_xstrdup("");
	const char *p = json;
	int found = 0;

	*dynamic = 0;
	while (*p && !found) {
		if (*p++ != '"')
			continue;
		json_string(&p, &str);
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
		if (*p == ':') {
			free(key);
			key = gm_xstrdup(str.buf ? str.buf : "");
			*dynamic |= dynamic_key(key);
		} else if (!strcmp(key, "query") && str.buf) {
			found = judge_sql(g, str.buf);
		}
	}
	free(key);
	gm_strbuf_release(&str);
	return found;
}

static int judge_plpgsql(struct judging *g, const char *text)
{
	PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(text);
	int found = 0, dynamic = 0;

	if (r.error) {
		g->why = gm_xasprintf("its PL/pgSQL body does not parse: %s",
				      r.error->message ? r.error->message : "syntax error");
	} else if (r.plpgsql_funcs) {
		found = judge_plpgsql_json(g, r.plpgsql_funcs, &dynamic);
		if (!found && dynamic)
			g->why = gm_xstrdup("it runs SQL built at run time (EXECUTE), which cannot be read before it runs");
	}
	pg_query_free_plpgsql_parse_result(r);
	return found;
}

/* ---- the function ---- */

static const char *language(const PgQuery__CreateFunctionStmt *f)
{
	const PgQuery__DefElem *d = gm_pgtree_function_option(f, "language");

	return d ? gm_pgtree_str(d->arg) : "sql";
}

/* The body written as a string (AS '...'), or NULL. */
static const char *string_body(const PgQuery__CreateFunctionStmt *f)
{
	const PgQuery__DefElem *as = gm_pgtree_function_option(f, "as");

	return as && NODE(as->arg, LIST) && as->arg->list->n_items ? gm_pgtree_str(as->arg->list->items[0]) : NULL;
}

enum gm_definer_verdict gm_definer_judge(const struct gm_policy_judge *j, const char *text,
					 gm_definer_protected is_protected, void *ctx,
					 char **table, char **why)
{
	struct judging g = { j, is_protected, ctx, NULL, NULL };
	const PgQuery__CreateFunctionStmt *f;
	const PgQuery__Node *stmt;
	struct gm_pgtree t;
	size_t cursor;
	char *err = gm_pgtree_parse(text, &t, &cursor);
	const char *lang, *body;
	int found = 0;

	*table = *why = NULL;
	stmt = err ? NULL : gm_pgtree_stmt(&t);
	if (!NODE(stmt, CREATE_FUNCTION_STMT)) {
		free(err);
		gm_pgtree_free(&t);
		return GM_DEFINER_BOUND;
	}
	f = stmt->create_function_stmt;
	lang = language(f);
	body = string_body(f);
	if (f->sql_body)
		found = gm_pgtree_walk(&f->sql_body->base, visit, &g);
	else if (!strcmp(lang, "sql") && body)
		found = judge_sql(&g, body);
	else if (!strcmp(lang, "plpgsql"))
		found = judge_plpgsql(&g, text);
	else if (strcmp(lang, "internal") && strcmp(lang, "c"))
		g.why = gm_xasprintf("its body is in LANGUAGE %s, which cannot be read here", lang);
	gm_pgtree_free(&t);
	*table = g.table;
	*why = g.why;
	return found ? GM_DEFINER_UNBOUND : g.why ? GM_DEFINER_UNSEEN : GM_DEFINER_BOUND;
}
