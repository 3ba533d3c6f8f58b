/* definer.c - what a SECURITY DEFINER function does to protected rows
 * (see gm_definer.h). */
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_pgtree.h"
#include "gm_policy.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NODE(n, kind) ((n) && (n)->node_case == PG_QUERY__NODE__NODE_##kind)

struct judging {
	const struct gm_policy_judge *j;
	gm_definer_protected is_protected;
	void *ctx;
	char *table;	/* the first unbound statement's table, or NULL */
	char *why;
	char *unseen;	/* why part of the body cannot be judged, or NULL */
	int trigger;	/* a trigger function: its INSERTs write the firing row's values */
	int via_write;	/* the function is a trigger reached from the definer's own write */
	int firing;	/* that write bound NEW's (FIRING_NEW) or OLD's (FIRING_OLD) tenant column */
	int row;	/* the firing row bits of the trigger function being judged */
	gm_definer_callees callees;	/* NULL: calls are not followed */
	int depth;	/* calls deep: the definer itself is 0 */
	struct gm_strlist followed;	/* the reaches already followed (follow's keys) */
};

static int judge_function(struct judging *g, const char *text);

#define FIRING_NEW 1
#define FIRING_OLD 2
/* An INSERT's OLD, a DELETE's NEW, are NULL: no other tenant's. */
#define FIRING_ROW (FIRING_NEW | FIRING_OLD)

static int protected_rv(struct judging *g, const PgQuery__RangeVar *rv)
{
	const char *schema = rv && rv->schemaname && *rv->schemaname ? rv->schemaname : NULL;
	int answer = rv && rv->relname ? g->is_protected(g->ctx, schema, rv->relname) : 0;

	if (answer == GM_DEFINER_UNKNOWN && !g->unseen)
		g->unseen = gm_xasprintf("it reads %s%s%s, which is not among what verify reads (a view there may read a"
					 " tenant table as its owner)", schema ? schema : "", schema ? "." : "", rv->relname);
	return answer == GM_DEFINER_GUARDED;
}

static void name_of(struct judging *g, const PgQuery__RangeVar *rv)
{
	g->table = rv->schemaname && *rv->schemaname ? gm_xasprintf("%s.%s", rv->schemaname, rv->relname)
						     : gm_xstrdup(rv->relname);
}

/* A write (verb) of a relation whose writes alone matter
 * (GM_DEFINER_WRITTEN): whoever calls the function adds or changes its
 * rows as the owner. */
static int judge_written(struct judging *g, const PgQuery__RangeVar *rv, const char *verb)
{
	const char *schema = rv && rv->schemaname && *rv->schemaname ? rv->schemaname : NULL;

	if (!rv || !rv->relname || g->is_protected(g->ctx, schema, rv->relname) != GM_DEFINER_WRITTEN)
		return 0;
	name_of(g, rv);
	g->why = gm_xasprintf("%s of it", verb);
	return 1;
}

/* Whether where binds rv (by its alias or name), one relation of a
 * statement of `relations`; *branch (allocated, or NULL) says what does
 * not. */
static int relation_bound(const struct judging *g, const PgQuery__RangeVar *rv, PgQuery__Node *where, size_t relations,
			  char **branch)
{
	return gm_policy_judge_relation(g->j, where, gm_pgtree_rv_name(rv), relations == 1, branch) == GM_BOUND;
}

/* rv, a protected relation of a statement of `relations` relations,
 * bound by where?  Otherwise g records why. */
static int judge_rv(struct judging *g, const PgQuery__RangeVar *rv, PgQuery__Node *where, const char *verb,
		    size_t relations)
{
	char *branch = NULL;

	if (relation_bound(g, rv, where, relations, &branch)) {
		free(branch);
		return 0;
	}
	name_of(g, rv);
	g->why = where ? gm_xasprintf("%s whose WHERE does not bind it to the tenant: %s", verb, branch ? branch : "(not printable)")
		       : gm_xasprintf("%s without a WHERE", verb);
	free(branch);
	return 1;
}

/* Every protected relation among FROM items (joins included; a subquery
 * in FROM is a statement of its own, judged on its own), each bound by
 * its own qualified tenant column: another table's does not bind it. */
static int judge_items(struct judging *g, PgQuery__Node *const *items, size_t n, PgQuery__Node *where,
		       const char *verb, size_t relations)
{
	for (size_t k = 0; k < n; k++) {
		const PgQuery__Node *it = items[k];
		if (NODE(it, RANGE_VAR) && protected_rv(g, it->range_var) &&
		    judge_rv(g, it->range_var, where, verb, relations))
			return 1;
		if (NODE(it, JOIN_EXPR) && (judge_items(g, &it->join_expr->larg, 1, where, verb, relations) ||
					    judge_items(g, &it->join_expr->rarg, 1, where, verb, relations)))
			return 1;
	}
	return 0;
}

/* A SELECT, its set operation's arms too (they are not Nodes: the walk
 * does not hand them to visit). */
static int judge_select(struct judging *g, const PgQuery__SelectStmt *sel)
{
	if (!sel)
		return 0;
	if (sel->op != PG_QUERY__SET_OPERATION__SETOP_NONE && sel->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED)
		return judge_select(g, sel->larg) || judge_select(g, sel->rarg);
	return judge_items(g, sel->from_clause, sel->n_from_clause, sel->where_clause, "SELECT",
			   gm_pgtree_from_leaves(sel->from_clause, sel->n_from_clause));
}

/* Built-ins that run SQL text, or read a relation named in a value: what
 * they read cannot be judged here. */
static const char *runs_sql_text(const PgQuery__FuncCall *f)
{
	static const char *const names[] = { "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
					     "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
					     "cursor_to_xml", "cursor_to_xmlschema", "schema_to_xml",
					     "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "database_to_xml",
					     "database_to_xmlschema", "database_to_xml_and_xmlschema", "ts_stat", "ts_rewrite",
					     "dblink", "dblink_exec", "dblink_open", "dblink_send_query",
					     "crosstab", "crosstab2", "crosstab3", "crosstab4", "connectby", "xpath_table" };
	const char *name = gm_pgtree_last_name(f->funcname, f->n_funcname);

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcmp(name, names[k]))
			return names[k];
	return NULL;
}

static int judge_reached(struct judging *g, const char *text);

/* What code reaching schema.name runs (callees): it runs as the definer's
 * owner, so its statements are judged as the definer's.  Each reach once
 * for each firing row it is reached with (recursion ends; overloads are
 * judged together), GM_DEFINER_CALL_DEPTH deep; what it finds is told as
 * reached that way. */
static int follow(struct judging *g, enum gm_definer_reach how, const char *schema, const char *name)
{
	static const struct {
		const char *form, *through, *unread;	/* how the reach reads in a message */
	} says[] = {
		[GM_REACH_CALL] = { "%s()", "which it calls and which runs as its owner too",
				    "it calls %s(), in a schema verify does not read, which runs as its owner too" },
		[GM_REACH_OPERATOR] = { "operator %s", "whose function runs as its owner too",
					"it uses operator %s, of a schema verify does not read, whose function runs as its"
					" owner too" },
		[GM_REACH_CAST] = { "the cast to %s", "whose function runs as its owner too",
				    "it casts to %s, a type of a schema verify does not read, whose cast's function runs"
				    " as its owner too" },
		[GM_REACH_WRITE] = { "its writes to %s", "whose triggers, defaults and checks run as its owner too",
				     "it writes to %s, in a schema verify does not read, whose triggers, defaults and"
				     " checks run as its owner too" },
	};
	char **defs = NULL, *key, *what, *q, *why;
	size_t n, k;
	int found = 0, trigger = g->trigger, row = g->row, via_write = g->via_write;

	if (!g->callees || !name || !*name)
		return 0;
	/* A trigger function reached from an unbound write is judged again,
	 * though one bound write reached it first. */
	key = gm_xasprintf("%d %d %d %s.%s", (int)how, g->via_write, g->firing, schema ? schema : "", name);
	if (gm_strlist_has(&g->followed, key)) {
		free(key);
		return 0;
	}
	gm_strlist_add(&g->followed, key);
	free(key);
	q = gm_xasprintf("%s%s%s", schema ? schema : "", schema ? "." : "", name);
	n = g->callees(g->ctx, how, schema, name, &defs);
	if (n == GM_DEFINER_CALLEE_UNKNOWN) {
		n = 0;
		if (!g->unseen)
			g->unseen = gm_xasprintf(says[how].unread, q);
	} else if (n && g->depth >= GM_DEFINER_CALL_DEPTH) {
		if (!g->unseen)
			g->unseen = gm_xasprintf("its calls nest deeper than %d functions, the last of them unread",
						 GM_DEFINER_CALL_DEPTH);
	} else {
		g->depth++;
		if (how == GM_REACH_WRITE)
			g->via_write = 1;	/* kept through the trigger's CALL of its function */
		for (k = 0; k < n && !found; k++)
			found = judge_reached(g, defs[k]);
		g->depth--;
		g->trigger = trigger;
		g->row = row;
		g->via_write = via_write;
	}
	for (k = 0; k < n; k++)
		free(defs[k]);
	free(defs);
	if (found) {
		what = gm_xasprintf(says[how].form, q);
		why = gm_xasprintf("through %s, %s: %s", what, says[how].through, g->why);
		free(what);
		free(g->why);
		g->why = why;
	}
	free(q);
	return found;
}

static int follow_names(struct judging *g, enum gm_definer_reach how, PgQuery__Node *const *names, size_t n)
{
	return n && follow(g, how, n >= 2 ? gm_pgtree_str(names[n - 2]) : NULL, gm_pgtree_last_name(names, n));
}

static int follow_call(struct judging *g, const PgQuery__FuncCall *f)
{
	return follow_names(g, GM_REACH_CALL, f->funcname, f->n_funcname);
}

/* What writing rv runs: its triggers, defaults and checks.  Its
 * triggers' firing row holds what the definer wrote, which no policy
 * checked (it runs as the owner): its values are the caller's choice,
 * but for a tenant column the write itself bound (firing). */
static int follow_write(struct judging *g, const PgQuery__RangeVar *rv, int firing)
{
	int found, before = g->firing;

	if (!rv)
		return 0;
	g->firing = firing;
	found = follow(g, GM_REACH_WRITE, rv->schemaname && *rv->schemaname ? rv->schemaname : NULL, rv->relname);
	g->firing = before;
	return found;
}

/* Whether rv, a protected relation, is bound by where (judge_rv's
 * question, without its report). */
static int where_binds(struct judging *g, const PgQuery__RangeVar *rv, PgQuery__Node *where, size_t relations)
{
	char *branch = NULL;
	int bound = protected_rv(g, rv) && relation_bound(g, rv, where, relations, &branch);

	free(branch);
	return bound;
}

/* Whether an UPDATE's SET assigns a tenant column (NEW's then differs
 * from OLD's). */
static int sets_tenant(struct judging *g, const PgQuery__UpdateStmt *u)
{
	for (size_t k = 0; k < u->n_target_list; k++)
		if (NODE(u->target_list[k], RES_TARGET) && u->target_list[k]->res_target->name &&
		    gm_policy_is_tenant_column_name(g->j, u->target_list[k]->res_target->name))
			return 1;
	return 0;
}

/* The firing row bits of an UPDATE: OLD's tenant bound by the WHERE,
 * NEW's too when SET leaves the tenant column alone. */
static int update_firing(struct judging *g, const PgQuery__UpdateStmt *u, size_t rels)
{
	if (!u->relation || !where_binds(g, u->relation, u->where_clause, rels))
		return 0;
	return FIRING_OLD | (sets_tenant(g, u) ? 0 : FIRING_NEW);
}

/* An operator expression's operators: BETWEEN is >= and <=; the rest
 * name theirs (x IN (...) its = or <>, LIKE its ~~). */
static int follow_operators(struct judging *g, const PgQuery__AExpr *e)
{
	switch (e->kind) {
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
	case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN:
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM:
	case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM:
		return follow(g, GM_REACH_OPERATOR, NULL, ">=") || follow(g, GM_REACH_OPERATOR, NULL, "<=");
	default:
		return follow_names(g, GM_REACH_OPERATOR, e->name, e->n_name);
	}
}

/* t.name and (row).name, when name is no column, call name(t): each
 * field name after the first is followed as a call. */
static int follow_fields(struct judging *g, PgQuery__Node *const *fields, size_t n, size_t first)
{
	for (size_t k = first; k < n; k++)
		if (NODE(fields[k], STRING) && follow(g, GM_REACH_CALL, NULL, gm_pgtree_str(fields[k])))
			return 1;
	return 0;
}

/* The tenant expression, or a coalesce() of nothing else (an audit
 * trigger's coalesce(NEW.tenant_id, OLD.tenant_id), both bound). */
static int tenant_value(struct judging *g, const PgQuery__Node *n)
{
	if (NODE(n, COALESCE_EXPR) && n->coalesce_expr->n_args) {
		for (size_t k = 0; k < n->coalesce_expr->n_args; k++)
			if (!tenant_value(g, n->coalesce_expr->args[k]))
				return 0;
		return 1;
	}
	return gm_policy_is_tenant_node(g->j, n);
}

/* Whether each row an INSERT writes has the tenant expression itself as
 * its tenant column's value: VALUES rows, or a SELECT's target list
 * (VALUES (coalesce($1, auth.uid())) lets the caller pick the tenant). */
static int inserts_tenant(struct judging *g, const PgQuery__InsertStmt *ins)
{
	const PgQuery__SelectStmt *sel = NODE(ins->select_stmt, SELECT_STMT) ? ins->select_stmt->select_stmt : NULL;
	size_t col = ins->n_cols, k;

	for (k = 0; k < ins->n_cols && col == ins->n_cols; k++)
		if (NODE(ins->cols[k], RES_TARGET) && ins->cols[k]->res_target->name &&
		    gm_policy_is_tenant_column_name(g->j, ins->cols[k]->res_target->name))
			col = k;
	if (col == ins->n_cols || !sel)
		return 0;	/* the column's default, or a form not read here */
	if (sel->n_values_lists) {
		for (k = 0; k < sel->n_values_lists; k++) {
			const PgQuery__Node *row = sel->values_lists[k];
			if (!NODE(row, LIST) || col >= row->list->n_items || !tenant_value(g, row->list->items[col]))
				return 0;
		}
		return 1;
	}
	return (sel->op == PG_QUERY__SET_OPERATION__SETOP_NONE || sel->op == PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED) &&
	       col < sel->n_target_list &&
	       NODE(sel->target_list[col], RES_TARGET) &&
	       tenant_value(g, sel->target_list[col]->res_target->val);
}

static int judge_insert(struct judging *g, const PgQuery__InsertStmt *ins)
{
	if (!protected_rv(g, ins->relation))
		return 0;
	/* ON CONFLICT DO UPDATE writes the row already there, whoever's it
	 * is (an id colliding with another tenant's), a trigger's too. */
	if (ins->on_conflict_clause && ins->on_conflict_clause->action == PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_UPDATE) {
		name_of(g, ins->relation);
		g->why = gm_xstrdup("INSERT ... ON CONFLICT DO UPDATE, which updates the row already there, any tenant's");
		return 1;
	}
	/* A trigger's INSERT writes what the firing row holds, whose tenant
	 * that table's policy checked (an audit row, Supabase's signup
	 * trigger); its reads and updates are judged. */
	if (g->trigger || inserts_tenant(g, ins))
		return 0;
	name_of(g, ins->relation);
	g->why = gm_xstrdup("INSERT whose tenant column is not set to the tenant expression itself");
	return 1;
}

/* Each statement on a protected table, wherever it sits (a CTE, a
 * subquery): stops at the first that is not bound. */
static int visit(void *ctx, const PgQuery__Node *n)
{
	struct judging *g = ctx;
	const char *text;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		return judge_select(g, n->select_stmt);
	case PG_QUERY__NODE__NODE_UPDATE_STMT: {
		const PgQuery__UpdateStmt *u = n->update_stmt;
		size_t rels = 1 + gm_pgtree_from_leaves(u->from_clause, u->n_from_clause);
		return judge_written(g, u->relation, "UPDATE") || follow_write(g, u->relation, update_firing(g, u, rels)) ||
		       (protected_rv(g, u->relation) && judge_rv(g, u->relation, u->where_clause, "UPDATE", rels)) ||
		       judge_items(g, u->from_clause, u->n_from_clause, u->where_clause, "UPDATE", rels);
	}
	case PG_QUERY__NODE__NODE_DELETE_STMT: {
		const PgQuery__DeleteStmt *d = n->delete_stmt;
		size_t rels = 1 + gm_pgtree_from_leaves(d->using_clause, d->n_using_clause);
		return follow_write(g, d->relation,
				    d->relation && where_binds(g, d->relation, d->where_clause, rels) ? FIRING_ROW : 0) ||
		       (protected_rv(g, d->relation) && judge_rv(g, d->relation, d->where_clause, "DELETE", rels)) ||
		       judge_items(g, d->using_clause, d->n_using_clause, d->where_clause, "DELETE", rels);
	}
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		return judge_written(g, n->insert_stmt->relation, "INSERT") ||
		       follow_write(g, n->insert_stmt->relation,
				    protected_rv(g, n->insert_stmt->relation) && inserts_tenant(g, n->insert_stmt) ? FIRING_ROW : 0) ||
		       judge_insert(g, n->insert_stmt);
	case PG_QUERY__NODE__NODE_MERGE_STMT:
		if (judge_written(g, n->merge_stmt->relation, "MERGE") || follow_write(g, n->merge_stmt->relation, 0))
			return 1;
		if (!protected_rv(g, n->merge_stmt->relation))
			return 0;
		name_of(g, n->merge_stmt->relation);
		g->why = gm_xstrdup("MERGE");
		return 1;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		for (size_t k = 0; k < n->truncate_stmt->n_relations; k++)
			if (NODE(n->truncate_stmt->relations[k], RANGE_VAR) &&
			    follow_write(g, n->truncate_stmt->relations[k]->range_var, 0))
				return 1;
		for (size_t k = 0; k < n->truncate_stmt->n_relations; k++)
			if (NODE(n->truncate_stmt->relations[k], RANGE_VAR) &&
			    protected_rv(g, n->truncate_stmt->relations[k]->range_var)) {
				name_of(g, n->truncate_stmt->relations[k]->range_var);
				g->why = gm_xstrdup("TRUNCATE");
				return 1;
			}
		return 0;
	case PG_QUERY__NODE__NODE_CALL_STMT:
		/* Its FuncCall is a message of its own, not a Node the walk
		 * would hand over. */
		return n->call_stmt->funccall && follow_call(g, n->call_stmt->funccall);
	case PG_QUERY__NODE__NODE_FUNC_CALL:
		if ((text = runs_sql_text(n->func_call)) && !g->unseen)
			g->unseen = gm_xasprintf("it calls %s, which reads what a value names, unseen here", text);
		return follow_call(g, n->func_call);
	case PG_QUERY__NODE__NODE_A_EXPR:
		return follow_operators(g, n->a_expr);
	/* CASE x WHEN y, JOIN ... USING and NATURAL JOIN compare with =,
	 * no A_Expr written. */
	case PG_QUERY__NODE__NODE_CASE_EXPR:
		return n->case_expr->arg && follow(g, GM_REACH_OPERATOR, NULL, "=");
	case PG_QUERY__NODE__NODE_JOIN_EXPR:
		return (n->join_expr->is_natural || n->join_expr->n_using_clause) && follow(g, GM_REACH_OPERATOR, NULL, "=");
	case PG_QUERY__NODE__NODE_SUB_LINK:
		return follow_names(g, GM_REACH_OPERATOR, n->sub_link->oper_name, n->sub_link->n_oper_name);
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return n->type_cast->type_name &&
		       follow_names(g, GM_REACH_CAST, n->type_cast->type_name->names, n->type_cast->type_name->n_names);
	case PG_QUERY__NODE__NODE_COLUMN_REF:
		return follow_fields(g, n->column_ref->fields, n->column_ref->n_fields, 1);
	case PG_QUERY__NODE__NODE_A_INDIRECTION:
		return follow_fields(g, n->a_indirection->indirection, n->a_indirection->n_indirection, 0);
	default:
		return 0;
	}
}

/* A protected relation named in text that does not parse: words of
 * identifier characters, each tried as a relation's name. */
static const char *names_protected(struct judging *g, const char *sql, struct gm_strbuf *word)
{
	const char *p = sql;

	while (*p) {
		gm_strbuf_reset(word);
		while (*p && (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80))
			gm_strbuf_addch(word, (char)tolower((unsigned char)*p++));
		if (word->len && g->is_protected(g->ctx, NULL, word->buf) == GM_DEFINER_GUARDED)
			return word->buf;
		if (!word->len)
			p++;
	}
	return NULL;
}

/* An assignment's text, "v := (SELECT ...)" (PL/pgSQL keeps it whole from
 * 14 on): the expression after ":=", or NULL. */
static const char *assigned(const char *sql)
{
	const char *p = sql;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '"' || *p == '[' || *p == ']' ||
		      (unsigned char)*p >= 0x80))
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return p[0] == ':' && p[1] == '=' ? p + 2 : NULL;
}

/* A character of an unquoted identifier. */
static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* The length of "new.<a tenant column>" (or old., as row says) at p, a
 * word's start; 0 for anything else. */
static size_t row_tenant_ref(const struct judging *g, const char *p)
{
	const struct gm_tenancy *t = gm_policy_judge_tenancy(g->j);
	int which = !strncasecmp(p, "new.", 4) ? FIRING_NEW : !strncasecmp(p, "old.", 4) ? FIRING_OLD : 0;

	if (!(g->row & which))
		return 0;
	for (size_t k = 0; k < t->columns.n; k++) {
		const char *c = t->columns.v[k];
		size_t len = strlen(c);
		if (!strncasecmp(p + 4, c, len) && !ident_char(p[4 + len]))
			return 4 + len;
		if (p[4] == '"' && !strncmp(p + 5, c, len) && p[5 + len] == '"')
			return 6 + len;
	}
	return 0;
}

/* The length of a quoted part at p ('...', "...", $tag$...$tag$, a
 * comment), or 0: the firing row's columns are not replaced in there. */
static size_t quoted_at(const char *p)
{
	const char *e, *tag_end;

	if (*p == '\'' || *p == '"') {
		for (e = p + 1; *e; e++)
			if (*e == *p && e[1] != *p)
				return (size_t)(e + 1 - p);
			else if (*e == *p)
				e++;	/* a doubled quote */
		return strlen(p);
	}
	if (p[0] == '-' && p[1] == '-')
		return (e = strchr(p, '\n')) ? (size_t)(e - p) : strlen(p);
	if (p[0] == '/' && p[1] == '*')
		return (e = strstr(p + 2, "*/")) ? (size_t)(e + 2 - p) : strlen(p);
	if (*p == '$') {
		for (tag_end = p + 1; isalnum((unsigned char)*tag_end) || *tag_end == '_'; tag_end++)
			;
		if (*tag_end == '$' && !isdigit((unsigned char)p[1])) {
			size_t tl = (size_t)(tag_end + 1 - p);
			for (e = tag_end + 1; *e; e++)
				if (!strncmp(e, p, tl))
					return (size_t)(e + tl - p);
			return strlen(p);
		}
	}
	return 0;
}

/* sql with each NEW.<tenant column> (or OLD.) of a firing row that the
 * definer's write bound to the tenant written as the tenant expression
 * (only parsed here, never sent): a trigger counting the tenant's rows by
 * NEW.tenant_id reads by the tenant.  Not in quoted parts, and not in an
 * assignment's target (NEW.tenant_id := ... stays an assignment). */
static char *bind_firing_row(const struct judging *g, const char *sql)
{
	struct gm_strbuf out = GM_STRBUF_INIT;
	const char *rhs = assigned(sql), *p = sql;
	size_t len;

	if (rhs) {
		gm_strbuf_add(&out, sql, (size_t)(rhs - sql));
		p = rhs;
	}
	while (*p) {
		if ((len = quoted_at(p))) {
			gm_strbuf_add(&out, p, len);
			p += len;
		} else if ((p == sql || !ident_char(p[-1])) && (len = row_tenant_ref(g, p))) {
			gm_strbuf_addf(&out, "(%s)", gm_policy_judge_tenancy(g->j)->expression);
			p += len;
		} else {
			gm_strbuf_addch(&out, *p++);
		}
	}
	return gm_strbuf_detach(&out, NULL);
}

static int judge_text(struct judging *g, const char *sql);

/* SQL text of the body, or of one PL/pgSQL statement, judged; in a
 * trigger reached from the definer's write, with the firing row's bound
 * tenant column read as the tenant (bind_firing_row). */
static int judge_sql(struct judging *g, const char *sql)
{
	char *bound;
	int found;

	if (!g->row)
		return judge_text(g, sql);
	bound = bind_firing_row(g, sql);
	found = judge_text(g, bound);
	free(bound);
	return found;
}

/* The text of judge_sql: a statement, an expression ("x > 1", read as a
 * SELECT of it) or an assignment.  Text that parses as none of them, if
 * it names a protected table, is unseen. */
static int judge_text(struct judging *g, const char *sql)
{
	struct gm_pgtree t;
	struct gm_strbuf word = GM_STRBUF_INIT;
	size_t cursor;
	const char *rhs = assigned(sql), *named;
	char *why = gm_pgtree_parse(rhs ? "SELECT 1" : sql, &t, &cursor), *select;
	int found = 0;

	if (why || rhs) {
		free(why);
		gm_pgtree_free(&t);
		/* Only parsed here (libpg_query), never sent to a server. */
		select = gm_xasprintf("SELECT %s", rhs ? rhs : sql);
		why = gm_pgtree_parse(select, &t, &cursor);
		free(select);
	}
	if (!why && t.pr)
		found = gm_pgtree_walk(&t.pr->base, visit, g);
	else if ((named = names_protected(g, sql, &word)) && !g->unseen)
		g->unseen = gm_xasprintf("a statement naming %s does not parse here: %s", named, why);
	free(why);
	gm_pgtree_free(&t);
	gm_strbuf_release(&word);
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

/* Every "query" string of the JSON, judged; a dynamic statement, or a
 * variable with a tenant column's name (WHERE tenant_id = auth.uid()
 * would compare the variable), makes the body unseen. */
static int judge_plpgsql_json(struct judging *g, const char *json)
{
	struct gm_strbuf str = GM_STRBUF_INIT;
	char *key = gm_xstrdup("");
	const char *p = json;
	int found = 0;

	while (*p && !found) {
		if (*p++ != '"')
			continue;
		json_string(&p, &str);
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
		if (*p == ':') {
			free(key);
			key = gm_xstrdup(str.buf ? str.buf : "");
			if (dynamic_key(key) && !g->unseen)
				g->unseen = gm_xstrdup("it runs SQL built at run time (EXECUTE), which cannot be read before it runs");
		} else if (!strcmp(key, "query") && str.buf) {
			found = judge_sql(g, str.buf);
		} else if (!strcmp(key, "refname") && str.buf && gm_policy_is_tenant_column_name(g->j, str.buf) &&
			   !g->unseen) {
			g->unseen = gm_xasprintf("its variable %s has a tenant column's name, which its statements may"
						 " read for the column", str.buf);
		}
	}
	free(key);
	gm_strbuf_release(&str);
	return found;
}

static int judge_plpgsql(struct judging *g, const char *text)
{
	PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(text);
	struct gm_strbuf word = GM_STRBUF_INIT;
	const char *named;
	int found = 0;

	if (r.error) {
		/* libpg_query's PL/pgSQL parser does not know every form (a
		 * cursor declared FOR a query): unseen only when it matters. */
		if ((named = names_protected(g, text, &word)))
			g->unseen = gm_xasprintf("its PL/pgSQL body, which names %s, does not parse here: %s", named,
						 r.error->message ? r.error->message : "syntax error");
	} else if (r.plpgsql_funcs) {
		found = judge_plpgsql_json(g, r.plpgsql_funcs);
	}
	pg_query_free_plpgsql_parse_result(r);
	gm_strbuf_release(&word);
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

/* Whether value (an assignment's right side, up to its ';') is the
 * tenant expression. */
static int assigns_tenant(struct judging *g, const char *value, size_t len)
{
	char *select = gm_xasprintf("SELECT %.*s", (int)len, value);	/* only parsed here, never sent */
	struct gm_pgtree t;
	size_t cursor;
	char *err = gm_pgtree_parse(select, &t, &cursor);
	const PgQuery__Node *stmt = err ? NULL : gm_pgtree_stmt(&t);
	int yes = NODE(stmt, SELECT_STMT) && stmt->select_stmt->n_target_list == 1 &&
		  NODE(stmt->select_stmt->target_list[0], RES_TARGET) &&
		  tenant_value(g, stmt->select_stmt->target_list[0]->res_target->val);

	free(err);
	free(select);
	gm_pgtree_free(&t);
	return yes;
}

/* Whether p (in body) starts a PL/pgSQL statement: after a ';' or the
 * words BEGIN, THEN, ELSE, LOOP. */
static int statement_start(const char *body, const char *p)
{
	static const char *const words[] = { "begin", "then", "else", "loop" };
	const char *q = p;

	while (q > body && isspace((unsigned char)q[-1]))
		q--;
	if (q == body || q[-1] == ';')
		return 1;
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		size_t len = strlen(words[k]);
		if ((size_t)(q - body) >= len && !strncasecmp(q - len, words[k], len) &&
		    (q - len == body || !ident_char(q[-(ptrdiff_t)len - 1])))
			return 1;
	}
	return 0;
}

/* In a trigger body reached from the definer's write that bound NEW's
 * tenant column: an assignment to it of anything but the tenant
 * expression (NEW.tenant_id := NEW.target) writes the caller's choice of
 * tenant, which no policy checks; one of the tenant expression (a BEFORE
 * INSERT setting it from auth.uid()) is fine.  SELECT ... INTO NEW leaves
 * the firing row unbound. */
static int moves_row(struct judging *g, const char *body)
{
	const int row = g->row;
	const char *p = body, *v, *end, *target;
	size_t len, ref;
	int found = 0, into_new = 0;

	g->row = FIRING_NEW;	/* row_tenant_ref: NEW.<tenant column> */
	while (*p && !found) {
		if ((len = quoted_at(p))) {
			p += len;
			continue;
		}
		if (p != body && ident_char(p[-1])) {
			p++;
			continue;
		}
		if (!strncasecmp(p, "into", 4) && !ident_char(p[4])) {
			for (v = p + 4; isspace((unsigned char)*v); v++)
				;
			into_new |= !strncasecmp(v, "new", 3) && !ident_char(v[3]);
		}
		if (!(ref = row_tenant_ref(g, p))) {
			p++;
			continue;
		}
		target = p;
		for (v = p + ref; isspace((unsigned char)*v); v++)
			;
		if ((v[0] == ':' && v[1] == '=') || (v[0] == '=' && v[1] != '=' && statement_start(body, target))) {
			v += v[0] == ':' ? 2 : 1;
			for (end = v; *end && *end != ';'; end += (len = quoted_at(end)) ? len : 1)
				;
			if (!assigns_tenant(g, v, (size_t)(end - v))) {
				g->why = gm_xasprintf("a trigger on the table it writes sets %.*s to %.*s, a tenant of the"
						      " caller's choice, which no policy checks", (int)ref, target, (int)(end - v), v);
				found = 1;
			}
		}
		p = target + ref;
	}
	g->row = into_new ? row & ~FIRING_NEW : row;
	return found;
}

/* The body of text, a CREATE FUNCTION statement (anything else runs
 * nothing): 1 when a statement on a protected table is not bound. */
static int judge_function(struct judging *g, const char *text)
{
	const PgQuery__CreateFunctionStmt *f;
	const PgQuery__Node *stmt;
	struct gm_pgtree t;
	size_t cursor;
	char *err = gm_pgtree_parse(text, &t, &cursor);
	const char *lang, *body;
	int found = 0;

	stmt = err ? NULL : gm_pgtree_stmt(&t);
	free(err);
	if (!NODE(stmt, CREATE_FUNCTION_STMT)) {
		gm_pgtree_free(&t);
		return 0;
	}
	f = stmt->create_function_stmt;
	/* The firing row's values are the caller's choice too (NEW.id of
	 * another tenant's row): a trigger function's reads are judged. */
	g->trigger = f->return_type && f->return_type->n_names &&
		     !strcmp(gm_pgtree_last_name(f->return_type->names, f->return_type->n_names), "trigger");
	/* Reached from the definer's own write, the firing row is what the
	 * definer wrote: no policy checked it, so its INSERTs are judged,
	 * and only the tenant column that write bound reads as the tenant. */
	g->row = g->trigger && g->via_write ? g->firing : 0;
	if (g->via_write)
		g->trigger = 0;
	g->via_write = 0;
	lang = language(f);
	body = string_body(f);
	/* A trigger that sets NEW's tenant column moves the row the definer
	 * wrote, which no policy checks, to the tenant it names (the caller's
	 * choice, NEW.target), and its later reads of it are not bound. */
	if ((g->row & FIRING_NEW) && body && (found = moves_row(g, body))) {
		g->table = gm_xstrdup("the row it writes");
		gm_pgtree_free(&t);
		return found;
	}
	if (f->sql_body)
		found = gm_pgtree_walk(&f->sql_body->base, visit, g);
	else if (!strcmp(lang, "sql") && body)
		found = judge_sql(g, body);
	else if (!strcmp(lang, "plpgsql")) {
		/* Without a body there is nothing to run (the server refuses
		 * it), and libpg_query's PL/pgSQL parser aborts on it. */
		if (body)
			found = judge_plpgsql(g, text);
	}
	else if (strcmp(lang, "internal") && strcmp(lang, "c") && !g->unseen)
		g->unseen = g->depth ? gm_xasprintf("it calls %s, whose body is in LANGUAGE %s, which cannot be read here",
						    gm_pgtree_last_name(f->funcname, f->n_funcname), lang)
				     : gm_xasprintf("its body is in LANGUAGE %s, which cannot be read here", lang);
	gm_pgtree_free(&t);
	return found;
}

/* Text a reach runs (gm_definer_callees): a function's body, a
 * trigger's function and WHEN, or what any other statement calls. */
static int judge_reached(struct judging *g, const char *text)
{
	const PgQuery__Node *stmt;
	struct gm_pgtree t;
	size_t cursor;
	char *err = gm_pgtree_parse(text, &t, &cursor);
	int found = 0;

	stmt = err ? NULL : gm_pgtree_stmt(&t);
	if (err && !g->unseen)
		g->unseen = gm_xasprintf("what it runs does not parse here: %s", err);
	free(err);
	if (NODE(stmt, CREATE_FUNCTION_STMT)) {
		gm_pgtree_free(&t);
		return judge_function(g, text);
	}
	if (NODE(stmt, CREATE_TRIG_STMT)) {
		const PgQuery__CreateTrigStmt *tg = stmt->create_trig_stmt;
		found = follow_names(g, GM_REACH_CALL, tg->funcname, tg->n_funcname) ||
			(tg->when_clause && gm_pgtree_walk(&tg->when_clause->base, visit, g));
	} else if (t.pr) {
		found = gm_pgtree_walk(&t.pr->base, visit, g);
	}
	gm_pgtree_free(&t);
	return found;
}

int gm_definer_nothing_protected(void *ctx, const char *schema, const char *name)
{
	(void)ctx;
	(void)schema;
	(void)name;
	return 0;
}

enum gm_definer_verdict gm_definer_judge(const struct gm_policy_judge *j, const char *text,
					 gm_definer_protected is_protected, gm_definer_callees callees,
					 void *ctx, char **table, char **why)
{
	struct judging g;
	int found;

	memset(&g, 0, sizeof(g));
	g.j = j;
	g.is_protected = is_protected;
	g.ctx = ctx;
	g.callees = callees;
	found = judge_function(&g, text);
	gm_strlist_release(&g.followed);
	*table = g.table;
	if (found) {
		*why = g.why;
		free(g.unseen);
		return GM_DEFINER_UNBOUND;
	}
	free(g.why);
	*why = g.unseen;
	return g.unseen ? GM_DEFINER_UNSEEN : GM_DEFINER_BOUND;
}
