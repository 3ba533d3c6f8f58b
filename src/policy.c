/* policy.c - policy expressions judged by their parse tree (gm_policy.h).
 *
 * libpg_query parses "SELECT (<expression>)" with PostgreSQL's own
 * grammar (gm_pgtree.h, shared with the migration lint).  Two expressions
 * are the same when their trees are, field by field through protobuf-c's
 * descriptors, with source locations ignored and a few spellings that
 * mean the same folded: casts, a scalar subquery around one expression,
 * the schema of a function (pg_get_expr leaves it out for schemas on the
 * path) and the table of a column. */
#include "gm_policy.h"
#include "gm_error.h"
#include "gm_pgtree.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tree {
	struct gm_pgtree pg;
	PgQuery__ResTarget *target;	/* of the SELECT: holds the expression */
};

struct gm_policy_judge {
	const struct gm_tenancy *tenancy;
	struct tree tenant;		/* the tenant expression */
};

/* ---- parsing ---- */

static void tree_free(struct tree *t)
{
	gm_pgtree_free(&t->pg);
	memset(t, 0, sizeof(*t));
}

/* A SELECT with one target and nothing else, as "SELECT (expr)" and
 * "(SELECT f())" are. */
static int bare_select(const PgQuery__SelectStmt *s)
{
	return s && s->n_target_list == 1 && !s->n_distinct_clause && !s->into_clause && !s->n_from_clause &&
	       !s->where_clause && !s->n_group_clause && !s->having_clause && !s->n_window_clause &&
	       !s->n_values_lists && !s->n_sort_clause && !s->limit_offset && !s->limit_count &&
	       !s->n_locking_clause && !s->with_clause && !s->larg && !s->rarg &&
	       s->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
	       s->target_list[0]->res_target->val;
}

/* Parses expr alone; NULL, or the reason (caller frees).  The SELECT is
 * only parsed here, never sent to a server; an expr that closes the
 * parenthesis and adds statements makes more than one statement, which is
 * refused below. */
static char *parse_expr(const char *expr, struct tree *t)
{
	char *sql = gm_xasprintf("SELECT (%s)", expr), *why;
	const PgQuery__Node *stmt;
	size_t cursor;

	memset(t, 0, sizeof(*t));
	if (!(why = gm_pgtree_parse(sql, &t->pg, &cursor))) {
		stmt = gm_pgtree_stmt(&t->pg);
		if (stmt && stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT && bare_select(stmt->select_stmt))
			t->target = stmt->select_stmt->target_list[0]->res_target;
		else
			why = gm_xstrdup("not a single expression");
	}
	free(sql);
	if (why)
		tree_free(t);
	return why;
}

/* ---- comparing trees ---- */

static const char *str_of(const PgQuery__Node *n)
{
	return gm_pgtree_str(n);
}

/* Casts and scalar subqueries of one expression mean the expression. */
/* A cast that keeps every value apart: to text, uuid, an integer type,
 * oid, or numeric and varchar without a length.  tenant_id::varchar(1)
 * (or ::char, ::name, ::float4) maps many tenants to one: not stripped,
 * so the comparison is not a tenant column's. */
static int keeps_values(const PgQuery__TypeName *t)
{
	static const char *const kept[] = { "text", "uuid", "int2", "int4", "int8", "smallint", "integer", "int",
					    "bigint", "oid", "numeric", "varchar" };
	const char *name;

	if (!t || !t->n_names || t->n_typmods || t->n_array_bounds)
		return 0;
	name = str_of(t->names[t->n_names - 1]);
	for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++)
		if (!strcmp(name, kept[k]))
			return 1;
	return 0;
}

static const PgQuery__Node *strip(const PgQuery__Node *n)
{
	for (;;) {
		if (n && n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && n->type_cast->arg &&
		    keeps_values(n->type_cast->type_name))
			n = n->type_cast->arg;
		else if (n && n->node_case == PG_QUERY__NODE__NODE_SUB_LINK &&
			 n->sub_link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK &&
			 n->sub_link->subselect && n->sub_link->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT &&
			 bare_select(n->sub_link->subselect->select_stmt))
			n = n->sub_link->subselect->select_stmt->target_list[0]->res_target->val;
		else
			return n;
	}
}

static int node_equal(const PgQuery__Node *a, const PgQuery__Node *b);
static int function_names_equal(PgQuery__Node *const *a, size_t na, PgQuery__Node *const *b, size_t nb);

/* While an expression is compared with the tenant expression: the
 * schemas an unqualified function name stands for (the tenancy's: the
 * catalog prints a function of the searched schemas without its schema),
 * pg_catalog aside.  NULL otherwise. */
static const struct gm_strlist *unqualified_in;

/* Names compared by their last part when only one side is qualified (a
 * column with or without its table). */
static int names_equal(PgQuery__Node *const *a, size_t na, PgQuery__Node *const *b, size_t nb)
{
	if (!na || !nb)
		return na == nb;
	if (na != nb)
		return !strcmp(str_of(a[na - 1]), str_of(b[nb - 1]));
	for (size_t k = 0; k < na; k++)
		if (!node_equal(a[k], b[k]))
			return 0;
	return 1;
}

/* The same for a function, but against the tenant expression only when
 * the qualified side's schema is one an unqualified name stands for:
 * evil.app_current_org_id() is not the tenancy's app_current_org_id(),
 * nor does a uid() of the searched schemas stand for auth.uid(). */
static int function_names_equal(PgQuery__Node *const *a, size_t na, PgQuery__Node *const *b, size_t nb)
{
	if (na && nb && na != nb && unqualified_in) {
		const char *schema = na > nb ? str_of(a[na - 2]) : str_of(b[nb - 2]);
		if (strcmp(schema, "pg_catalog") && !gm_strlist_has(unqualified_in, schema))
			return 0;
	}
	return names_equal(a, na, b, nb);
}

static int func_equal(const PgQuery__FuncCall *a, const PgQuery__FuncCall *b)
{
	if (!function_names_equal(a->funcname, a->n_funcname, b->funcname, b->n_funcname) || a->n_args != b->n_args ||
	    !a->agg_star != !b->agg_star || !a->agg_distinct != !b->agg_distinct ||
	    a->n_agg_order || b->n_agg_order || a->agg_filter || b->agg_filter || a->over || b->over)
		return 0;
	for (size_t k = 0; k < a->n_args; k++)
		if (!node_equal(a->args[k], b->args[k]))
			return 0;
	return 1;
}

static int node_equal(const PgQuery__Node *a, const PgQuery__Node *b)
{
	a = strip(a);
	b = strip(b);
	if (!a || !b)
		return a == b;
	if (a->node_case != b->node_case)
		return 0;
	switch (a->node_case) {
	case PG_QUERY__NODE__NODE_COLUMN_REF:
		return names_equal(a->column_ref->fields, a->column_ref->n_fields,
				   b->column_ref->fields, b->column_ref->n_fields);
	case PG_QUERY__NODE__NODE_FUNC_CALL:
		return func_equal(a->func_call, b->func_call);
	default:
		return gm_pgtree_msg_equal(&a->base, &b->base, node_equal);
	}
}

/* ---- walking ---- */

struct pred_ctx {
	const struct gm_policy_judge *j;
	int (*pred)(const struct gm_policy_judge *j, const PgQuery__Node *n);
};

static int visit_pred(void *ctx, const PgQuery__Node *n)
{
	const struct pred_ctx *c = ctx;

	return c->pred(c->j, n);
}

/* Whether pred holds for n or a node anywhere below it. */
static int any_node(const struct gm_policy_judge *j, const ProtobufCMessage *m,
		    int (*pred)(const struct gm_policy_judge *j, const PgQuery__Node *n))
{
	struct pred_ctx c = { j, pred };

	return gm_pgtree_walk(m, visit_pred, &c);
}

/* ---- binding ---- */

static int is_tenant(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	int yes;

	unqualified_in = &j->tenancy->schemas;
	yes = node_equal(n, j->tenant.target->val);
	unqualified_in = NULL;
	return yes;
}

static int is_tenant_column(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields &&
	       gm_strlist_has(&j->tenancy->columns, str_of(n->column_ref->fields[n->column_ref->n_fields - 1]));
}

static int is_equality(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_A_EXPR &&
	       n->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && n->a_expr->n_name &&
	       !strcmp(str_of(n->a_expr->name[n->a_expr->n_name - 1]), "=");
}

/* Whether some AND-ed condition of n (n itself when it is no AND, casts
 * and scalar subqueries stripped) satisfies pred. */
typedef int (*conjunct_pred)(const void *ctx, const PgQuery__Node *n);

static int some_conjunct(const PgQuery__Node *n, conjunct_pred pred, const void *ctx)
{
	n = strip(n);
	if (!n)
		return 0;
	if (n->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
	    n->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
		for (size_t k = 0; k < n->bool_expr->n_args; k++)
			if (some_conjunct(n->bool_expr->args[k], pred, ctx))
				return 1;
		return 0;
	}
	return pred(ctx, n);
}

static int is_column(const PgQuery__Node *n);

/* "column = the tenant expression"; a column on the other side:
 * "auth.uid() = auth.uid()" holds always. */
static int anchor(const void *ctx, const PgQuery__Node *n)
{
	const struct gm_policy_judge *j = ctx;

	return is_equality(n) && ((is_tenant(j, n->a_expr->lexpr) && is_column(n->a_expr->rexpr)) ||
				  (is_tenant(j, n->a_expr->rexpr) && is_column(n->a_expr->lexpr)));
}

/* Some AND-ed condition of n is "column = the tenant expression". */
static int anchored(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	return some_conjunct(n, anchor, j);
}

/* A column of the row the policy judges: a subquery tied to the tenant
 * only says something about that row through one ("1 IN (SELECT 1 ...
 * WHERE o.id = tenant)" holds for every row when the tenant exists). */
static int is_column(const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF;
}

/* Whether name is a relation (or alias) of a FROM item. */
static int from_names(const PgQuery__Node *n, const char *name)
{
	if (!n)
		return 0;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_RANGE_VAR:
		return !strcmp(gm_pgtree_rv_name(n->range_var), name);
	case PG_QUERY__NODE__NODE_JOIN_EXPR:
		return from_names(n->join_expr->larg, name) || from_names(n->join_expr->rarg, name) ||
		       (n->join_expr->alias && !strcmp(n->join_expr->alias->aliasname, name));
	case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
		return n->range_subselect->alias && !strcmp(n->range_subselect->alias->aliasname, name);
	case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
		return n->range_function->alias && !strcmp(n->range_function->alias->aliasname, name);
	default:
		return 0;
	}
}

/* A column qualified with a name no FROM item of sel has: the outer row
 * (the server prints a correlated reference qualified, "notes.tenant_id"). */
static int visit_outer(void *ctx, const PgQuery__Node *n)
{
	const PgQuery__SelectStmt *sel = ctx;
	const char *q;

	if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || n->column_ref->n_fields < 2 ||
	    !(q = str_of(n->column_ref->fields[0])))
		return 0;
	for (size_t k = 0; k < sel->n_from_clause; k++)
		if (from_names(sel->from_clause[k], q))
			return 0;
	return 1;
}

/* Whether column n is the outer row's: qualified with a name no FROM item
 * has.  A bare name is the innermost table's that has such a column,
 * which only the catalog knows: "m.organization_id = organization_id" is
 * most often m's own column twice, the subquery tied to nothing (the
 * server prints it so).  Written in a migration, the row's column must
 * be qualified with its table's name. */
static int outer_column(const PgQuery__SelectStmt *sel, const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && visit_outer((void *)sel, n);
}

/* "outer column = a column of the subquery" (sel): the subquery is about
 * the judged row.  "t.id = auth.uid() AND notes.tenant_id IS NOT NULL"
 * names the row without tying it to anything. */
static int tie(const void *ctx, const PgQuery__Node *n)
{
	const PgQuery__SelectStmt *sel = ctx;
	const PgQuery__Node *l, *r;

	if (!is_equality(n))
		return 0;
	l = n->a_expr->lexpr;
	r = n->a_expr->rexpr;
	return is_column(l) && is_column(r) &&
	       (outer_column(sel, l) != outer_column(sel, r));
}

/* A subquery's SELECT, or NULL. */
static const PgQuery__SelectStmt *sub_select(const PgQuery__SubLink *s)
{
	return s->subselect && s->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT ? s->subselect->select_stmt : NULL;
}

static int correlated(const PgQuery__SubLink *s)
{
	const PgQuery__SelectStmt *sel = sub_select(s);

	return sel && sel->where_clause && some_conjunct(sel->where_clause, tie, sel);
}

static const PgQuery__Node *subquery_where(const PgQuery__SubLink *s)
{
	return sub_select(s) ? sub_select(s)->where_clause : NULL;
}

/* x = ANY (ARRAY(subquery)): the subquery's WHERE, or NULL. */
static const PgQuery__Node *any_array_where(const PgQuery__Node *n)
{
	const PgQuery__Node *r;

	if (!n || n->node_case != PG_QUERY__NODE__NODE_A_EXPR ||
	    n->a_expr->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY || !n->a_expr->n_name ||
	    strcmp(str_of(n->a_expr->name[n->a_expr->n_name - 1]), "=") || !is_column(n->a_expr->lexpr))
		return NULL;
	r = strip(n->a_expr->rexpr);
	if (!r || r->node_case != PG_QUERY__NODE__NODE_SUB_LINK ||
	    r->sub_link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK)
		return NULL;
	return subquery_where(r->sub_link);
}

/* FROM items that are tables (joins of tables included): a derived table
 * or a function in FROM can make up the very values the subquery is
 * judged by ("(SELECT auth.uid() AS u) me WHERE me.u = auth.uid()"). */
static int plain_item(const PgQuery__Node *n)
{
	if (!n)
		return 0;
	if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
		return 1;
	return n->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR && plain_item(n->join_expr->larg) &&
	       plain_item(n->join_expr->rarg);
}

static int plain_from(const PgQuery__Node *subselect)
{
	const PgQuery__SelectStmt *sel = subselect && subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT
		? subselect->select_stmt : NULL;

	if (!sel || !sel->n_from_clause)
		return 0;
	for (size_t k = 0; k < sel->n_from_clause; k++)
		if (!plain_item(sel->from_clause[k]))
			return 0;
	return 1;
}

/* ---- which relation of a subquery the tenant binds ---- */

/* The qualifier of column n ("t" of t.id), or NULL for a bare name. */
static const char *qualifier_of(const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields >= 2
		? str_of(n->column_ref->fields[n->column_ref->n_fields - 2]) : NULL;
}

/* Qualifiers a and b tied by equalities among the AND-ed conditions of
 * a subquery's WHERE and its inner joins' ON (t.id = me.id), in steps.
 * Not through the outer row, which the writer picks (t.id =
 * notes.tenant_id AND notes.created_by = me.id ties nothing), nor an
 * outer join's ON, whose nullable side may be missing. */
struct ties {
	const PgQuery__SelectStmt *sel;
	const char *from[32], *to[32];
	size_t n;
};

static void tie_pair(struct ties *t, const char *a, const char *b)
{
	if (a && b && t->n < 32) {
		t->from[t->n] = a;
		t->to[t->n++] = b;
	}
}

static int add_tie(const void *ctx, const PgQuery__Node *n)
{
	struct ties *t = (struct ties *)ctx;

	if (is_equality(n) && is_column(n->a_expr->lexpr) && is_column(n->a_expr->rexpr) &&
	    !outer_column(t->sel, n->a_expr->lexpr) && !outer_column(t->sel, n->a_expr->rexpr))
		tie_pair(t, qualifier_of(n->a_expr->lexpr), qualifier_of(n->a_expr->rexpr));
	return 0;
}

/* The name a join side is known by, when it is one relation. */
static const char *side_name(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR ? gm_pgtree_rv_name(n->range_var) : NULL;
}

static int inner_join(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR &&
	       n->join_expr->jointype == PG_QUERY__JOIN_TYPE__JOIN_INNER;
}

static void join_ties(PgQuery__Node *const *items, size_t n, struct ties *t)
{
	for (size_t k = 0; k < n; k++) {
		if (!items[k] || items[k]->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
			continue;
		if (inner_join(items[k])) {
			some_conjunct(items[k]->join_expr->quals, add_tie, t);
			/* JOIN ... USING (c): each side's c equal */
			if (items[k]->join_expr->n_using_clause)
				tie_pair(t, side_name(items[k]->join_expr->larg), side_name(items[k]->join_expr->rarg));
		}
		join_ties(&items[k]->join_expr->larg, 1, t);
		join_ties(&items[k]->join_expr->rarg, 1, t);
	}
}

static int tied(const struct ties *t, const char *a, const char *b, unsigned depth)
{
	if (!strcmp(a, b))
		return 1;
	for (size_t k = 0; k < t->n && depth < 32; k++)
		if ((!strcmp(t->from[k], a) && tied(t, t->to[k], b, depth + 1)) ||
		    (!strcmp(t->to[k], a) && tied(t, t->from[k], b, depth + 1)))
			return 1;
	return 0;
}

struct anchor_to {
	const struct gm_policy_judge *j;
	const struct ties *ties;
	const char *q;	/* the qualifier the anchor must reach */
};

static int anchor_reaching(const void *ctx, const PgQuery__Node *n)
{
	const struct anchor_to *a = ctx;
	const char *q;

	if (!anchor(a->j, n))
		return 0;
	q = qualifier_of(is_column(n->a_expr->lexpr) ? n->a_expr->lexpr : n->a_expr->rexpr);
	return q && tied(a->ties, q, a->q, 0);
}

/* An anchor reaching a->q in an inner join's ON. */
static int join_anchor(PgQuery__Node *const *items, size_t n, const struct anchor_to *a)
{
	for (size_t k = 0; k < n; k++)
		if (items[k] && items[k]->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR &&
		    ((inner_join(items[k]) && some_conjunct(items[k]->join_expr->quals, anchor_reaching, a)) ||
		     join_anchor(&items[k]->join_expr->larg, 1, a) || join_anchor(&items[k]->join_expr->rarg, 1, a)))
			return 1;
	return 0;
}

/* Whether sel is anchored to the tenant on the relation that col (a
 * column of its own) comes from: "IN (SELECT t.id FROM tenants t, tenants
 * me WHERE me.id = auth.uid() AND t.name LIKE 'acme%')" anchors me, and
 * hands over any t.  With one relation in FROM that is anchored(); with
 * more, col must be qualified and its relation tied to the anchor's by
 * equalities (struct ties), the anchor in the WHERE or an inner join's
 * ON.  Ties on columns that are no key (t.plan = me.plan) are taken as
 * they come. */
static int anchored_on(const struct gm_policy_judge *j, const PgQuery__SelectStmt *sel, const PgQuery__Node *col)
{
	struct ties t = { sel, { NULL }, { NULL }, 0 };
	struct anchor_to a = { j, &t, qualifier_of(col) };

	if (!sel)
		return 0;
	if (gm_pgtree_from_leaves(sel->from_clause, sel->n_from_clause) <= 1)
		return anchored(j, sel->where_clause);
	if (!a.q || !is_column(col))
		return 0;
	some_conjunct(sel->where_clause, add_tie, &t);
	join_ties(sel->from_clause, sel->n_from_clause, &t);
	return some_conjunct(sel->where_clause, anchor_reaching, &a) ||
	       join_anchor(sel->from_clause, sel->n_from_clause, &a);
}

/* The one column a subquery selects, or NULL. */
static const PgQuery__Node *selected(const PgQuery__SelectStmt *sel)
{
	return sel && sel->n_target_list == 1 && sel->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET
		? sel->target_list[0]->res_target->val : NULL;
}

/* An EXISTS tie of the outer row to a column of the subquery on a
 * relation the anchor reaches.  When a tie names the row's tenant column
 * (t.id = notes.tenant_id), one of those must be it: another tie
 * (notes.created_by = me.id) says nothing of the tenant.  A row without
 * one (a child table) is tied through its parent's key. */
struct tenant_tie {
	const struct gm_policy_judge *j;
	const PgQuery__SelectStmt *sel;
	int tenant_only;	/* only ties of the row's tenant column count */
	int anchored;		/* 0: is there a tie of the tenant column?; 1: one anchored */
};

static int tie_counts(const void *ctx, const PgQuery__Node *n)
{
	const struct tenant_tie *tt = ctx;
	const PgQuery__Node *outer, *inner;

	if (!tie(tt->sel, n))
		return 0;
	outer = outer_column(tt->sel, n->a_expr->lexpr) ? n->a_expr->lexpr : n->a_expr->rexpr;
	inner = outer == n->a_expr->lexpr ? n->a_expr->rexpr : n->a_expr->lexpr;
	if (tt->tenant_only && !is_tenant_column(tt->j, outer))
		return 0;
	/* m.tenant_id = notes.id hands the row's id tenant ids, as
	 * takes_selected says of IN */
	if (is_tenant_column(tt->j, inner) && !is_tenant_column(tt->j, outer))
		return 0;
	return !tt->anchored || anchored_on(tt->j, tt->sel, inner);
}

static int exists_tied(const struct gm_policy_judge *j, const PgQuery__SelectStmt *sel)
{
	struct tenant_tie tt = { j, sel, 1, 0 };

	tt.tenant_only = some_conjunct(sel->where_clause, tie_counts, &tt);
	tt.anchored = 1;
	return some_conjunct(sel->where_clause, tie_counts, &tt);
}

/* "x IN (SELECT m.tenant_id ...)" hands x tenant ids, which bind the
 * row only when x is its tenant column: "id IN (SELECT m.tenant_id FROM
 * memberships m WHERE m.user_id = auth.uid())" binds the row's id, and a
 * writer that sets id to its own tenant's may name any tenant_id.  Any
 * other selected column (a parent's key) goes with any column of the
 * row, its foreign key. */
static int takes_selected(const struct gm_policy_judge *j, const PgQuery__Node *x, const PgQuery__SelectStmt *sel)
{
	const PgQuery__Node *col = selected(sel);

	return is_column(x) && (!col || !is_tenant_column(j, col) || is_tenant_column(j, x));
}

static int bound(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	n = strip(n);
	if (!n)
		return 0;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_BOOL_EXPR: {
		const PgQuery__BoolExpr *b = n->bool_expr;
		int and = b->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR;
		if (b->boolop == PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR)
			return 0;
		for (size_t k = 0; k < b->n_args; k++)
			if (bound(j, b->args[k]) == and)
				return and;	/* AND: one bound condition; OR: one unbound branch */
		return !and && b->n_args > 0;
	}
	case PG_QUERY__NODE__NODE_A_EXPR:
		if (any_array_where(n)) {
			const PgQuery__SubLink *array = strip(n->a_expr->rexpr)->sub_link;
			return plain_from(array->subselect) && takes_selected(j, n->a_expr->lexpr, sub_select(array)) &&
			       anchored_on(j, sub_select(array), selected(sub_select(array)));
		}
		return is_equality(n) && ((is_tenant_column(j, n->a_expr->lexpr) && is_tenant(j, n->a_expr->rexpr)) ||
					  (is_tenant_column(j, n->a_expr->rexpr) && is_tenant(j, n->a_expr->lexpr)));
	case PG_QUERY__NODE__NODE_SUB_LINK: {
		const PgQuery__SubLink *s = n->sub_link;
		const PgQuery__Node *where = subquery_where(s);
		if (!plain_from(s->subselect))
			return 0;
		if (s->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK)
			return (!s->n_oper_name || !strcmp(str_of(s->oper_name[s->n_oper_name - 1]), "=")) &&
			       takes_selected(j, s->testexpr, sub_select(s)) &&
			       anchored_on(j, sub_select(s), selected(sub_select(s)));
		if (s->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) {
			return anchored(j, where) && any_node(j, (const ProtobufCMessage *)where, is_tenant_column) &&
			       correlated(s) && exists_tied(j, sub_select(s));
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- what a policy lets rows in through ---- */

/* The RangeVar of sel's FROM (joins included) that qualifier names (its
 * alias or name), or with a NULL qualifier the only one; else NULL. */
static const PgQuery__RangeVar *from_relation(PgQuery__Node *const *items, size_t n, const char *qualifier,
					      size_t *seen)
{
	const PgQuery__RangeVar *found = NULL, *r;

	for (size_t k = 0; k < n && !(found && qualifier); k++) {
		const PgQuery__Node *it = items[k];
		if (it && it->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
			++*seen;
			r = it->range_var;
			if (!qualifier || !strcmp(gm_pgtree_rv_name(r), qualifier))
				found = r;
		} else if (it && it->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR) {
			if ((r = from_relation(&it->join_expr->larg, 1, qualifier, seen)))
				found = r;
			if ((r = from_relation(&it->join_expr->rarg, 1, qualifier, seen)))
				found = r;
		}
	}
	return found;
}

/* The last name of column n, or NULL. */
static const char *column_name(const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields &&
			       n->column_ref->fields[n->column_ref->n_fields - 1]->node_case == PG_QUERY__NODE__NODE_STRING
		       ? str_of(n->column_ref->fields[n->column_ref->n_fields - 1])
		       : NULL;
}

/* Column n (a ColumnRef of sel's own tables) to fn, with its relation and
 * the row's column row (or NULL). */
static void link_column(const PgQuery__SelectStmt *sel, const PgQuery__Node *n, const PgQuery__Node *row,
			gm_policy_link_fn fn, void *ctx)
{
	const PgQuery__ColumnRef *c;
	const PgQuery__RangeVar *r;
	size_t seen = 0;

	n = strip(n);
	if (!n || n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || !n->column_ref->n_fields ||
	    n->column_ref->fields[n->column_ref->n_fields - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
		return;
	c = n->column_ref;
	r = from_relation(sel->from_clause, sel->n_from_clause, c->n_fields >= 2 ? str_of(c->fields[c->n_fields - 2]) : NULL,
			  &seen);
	if (r && (c->n_fields >= 2 || seen == 1))
		fn(ctx, r->schemaname && *r->schemaname ? r->schemaname : NULL, r->relname,
		   str_of(c->fields[c->n_fields - 1]), column_name(row));
}

struct links {
	gm_policy_link_fn fn;
	void *ctx;
	const PgQuery__SelectStmt *sel;	/* of the EXISTS being read */
};

/* In an EXISTS's WHERE: each equality of an outer column with one of its
 * own hands the latter to the row. */
static int visit_tie(void *arg, const PgQuery__Node *n)
{
	struct links *l = arg;

	if (is_equality(n) && is_column(n->a_expr->lexpr) && is_column(n->a_expr->rexpr) &&
	    outer_column(l->sel, n->a_expr->lexpr) != outer_column(l->sel, n->a_expr->rexpr))
		link_column(l->sel, outer_column(l->sel, n->a_expr->lexpr) ? n->a_expr->rexpr : n->a_expr->lexpr,
			    outer_column(l->sel, n->a_expr->lexpr) ? n->a_expr->lexpr : n->a_expr->rexpr, l->fn, l->ctx);
	return 0;
}

/* The one-column SELECT of a subquery over plain tables, or NULL. */
static const PgQuery__SelectStmt *link_select(const PgQuery__SubLink *s)
{
	const PgQuery__SelectStmt *sel = sub_select(s);

	return sel && plain_from(s->subselect) ? sel : NULL;
}

static void selected_link(const PgQuery__SubLink *s, const PgQuery__Node *row, struct links *l)
{
	const PgQuery__SelectStmt *sel = link_select(s);

	if (sel && sel->n_target_list == 1 && sel->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET)
		link_column(sel, sel->target_list[0]->res_target->val, row, l->fn, l->ctx);
}

static int visit_link(void *arg, const PgQuery__Node *n)
{
	struct links *l = arg, tie = *l;
	const PgQuery__Node *r;

	/* row = ANY (ARRAY(SELECT ...)): the ARRAY alone hands nothing. */
	if (n->node_case == PG_QUERY__NODE__NODE_A_EXPR && any_array_where(n) && (r = strip(n->a_expr->rexpr)))
		selected_link(r->sub_link, n->a_expr->lexpr, l);
	if (n->node_case != PG_QUERY__NODE__NODE_SUB_LINK)
		return 0;
	if (n->sub_link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK)
		selected_link(n->sub_link, n->sub_link->testexpr, l);
	if (n->sub_link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK && (tie.sel = link_select(n->sub_link)) &&
	    tie.sel->where_clause)
		gm_pgtree_walk(&tie.sel->where_clause->base, visit_tie, &tie);
	return 0;
}

void gm_policy_links(const char *expr, gm_policy_link_fn fn, void *ctx)
{
	struct links l = { fn, ctx, NULL };
	struct tree t;
	char *why = parse_expr(expr, &t);

	if (!why)
		gm_pgtree_walk(&t.target->val->base, visit_link, &l);
	free(why);
	tree_free(&t);
}

/* ---- rows every tenant may read ---- */

/* A column of tenancy.public_read_columns ("is_public"). */
static int is_shared_column(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields &&
	       gm_strlist_has(&j->tenancy->public_read_columns,
			      str_of(n->column_ref->fields[n->column_ref->n_fields - 1]));
}

static int is_true(const PgQuery__Node *n)
{
	n = strip(n);
	return n && n->node_case == PG_QUERY__NODE__NODE_A_CONST &&
	       n->a_const->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL && n->a_const->boolval &&
	       n->a_const->boolval->boolval;
}

/* A read branch limited to shared rows: one of its AND-ed conditions is a
 * public-read column (alone, = true, or IS TRUE). */
static int shared_read(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	n = strip(n);
	if (!n)
		return 0;
	if (is_shared_column(j, n))
		return 1;
	if (n->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && n->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
		for (size_t k = 0; k < n->bool_expr->n_args; k++)
			if (shared_read(j, n->bool_expr->args[k]))
				return 1;
		return 0;
	}
	if (n->node_case == PG_QUERY__NODE__NODE_BOOLEAN_TEST)
		return n->boolean_test->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_TRUE &&
		       is_shared_column(j, n->boolean_test->arg);
	return is_equality(n) && ((is_shared_column(j, n->a_expr->lexpr) && is_true(n->a_expr->rexpr)) ||
				  (is_shared_column(j, n->a_expr->rexpr) && is_true(n->a_expr->lexpr)));
}

/* ---- branches that do not look at the row ----
 *
 * A read branch made of constants and the tenant expression alone lets
 * every row through to whoever it is true for: USING (1 = 1), and
 * USING (auth.uid() IS NOT NULL) for every signed-in tenant.  A column, a
 * function (is_admin()), a subquery or anything else may tell rows or
 * users apart, which is not judged here. */

/* SQL's three values, and what this small evaluation cannot tell. */
enum truth { T_FALSE, T_TRUE, T_NULL, T_UNKNOWN };

/* Whether n holds only constants and the tenant expression (*tenant set
 * when it holds that). */
static int row_blind(const struct gm_policy_judge *j, const PgQuery__Node *n, int *tenant)
{
	n = strip(n);
	if (!n)
		return 1;
	if (is_tenant(j, n)) {
		*tenant = 1;
		return 1;
	}
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST:
		return 1;
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return row_blind(j, n->type_cast->arg, tenant);
	case PG_QUERY__NODE__NODE_NULL_TEST:
		return row_blind(j, n->null_test->arg, tenant);
	case PG_QUERY__NODE__NODE_BOOLEAN_TEST:
		return row_blind(j, n->boolean_test->arg, tenant);
	case PG_QUERY__NODE__NODE_A_EXPR:
		return row_blind(j, n->a_expr->lexpr, tenant) && row_blind(j, n->a_expr->rexpr, tenant);
	case PG_QUERY__NODE__NODE_BOOL_EXPR:
		for (size_t k = 0; k < n->bool_expr->n_args; k++)
			if (!row_blind(j, n->bool_expr->args[k], tenant))
				return 0;
		return 1;
	case PG_QUERY__NODE__NODE_LIST:
		for (size_t k = 0; k < n->list->n_items; k++)
			if (!row_blind(j, n->list->items[k], tenant))
				return 0;
		return 1;
	default:
		return 0;
	}
}

/* A boolean literal as the server reads one ('t', 'yes', 'on', ...). */
static enum truth literal_truth(const char *s)
{
	static const char *const yes[] = { "t", "true", "y", "yes", "on", "1" }, *const no[] = { "f", "false", "n", "no", "off", "0" };

	for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++) {
		if (!strcasecmp(s, yes[k]))
			return T_TRUE;
		if (!strcasecmp(s, no[k]))
			return T_FALSE;
	}
	return T_UNKNOWN;
}

static int compare_constants(const PgQuery__AConst *a, const PgQuery__AConst *b, int *cmp)
{
	if (a->val_case == PG_QUERY__A__CONST__VAL_IVAL && b->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
		int32_t x = a->ival ? a->ival->ival : 0, y = b->ival ? b->ival->ival : 0;
		*cmp = (x > y) - (x < y);
		return 1;
	}
	if (a->val_case == PG_QUERY__A__CONST__VAL_SVAL && b->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
	    a->sval && b->sval) {
		*cmp = strcmp(a->sval->sval, b->sval->sval);
		return 1;
	}
	return 0;
}

static int null_constant(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_A_CONST && n->a_const->isnull;
}

/* Two integer or two string constants compared by a built-in operator
 * (equality of strings only: their order depends on the collation); a
 * NULL on either side makes NULL. */
static enum truth comparison_truth(const PgQuery__AExpr *e)
{
	const PgQuery__Node *l = strip(e->lexpr), *r = strip(e->rexpr);
	const char *op = e->n_name == 1 ? str_of(e->name[0]) : "";
	int cmp, text;

	if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || !l || !r)
		return T_UNKNOWN;
	if (null_constant(l) || null_constant(r))
		return T_NULL;
	if (l->node_case != PG_QUERY__NODE__NODE_A_CONST || r->node_case != PG_QUERY__NODE__NODE_A_CONST ||
	    !compare_constants(l->a_const, r->a_const, &cmp))
		return T_UNKNOWN;
	text = l->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL;
	if (!strcmp(op, "="))
		return cmp == 0 ? T_TRUE : T_FALSE;
	if (!strcmp(op, "<>") || !strcmp(op, "!="))
		return cmp != 0 ? T_TRUE : T_FALSE;
	if (text)
		return T_UNKNOWN;
	if (!strcmp(op, "<") || !strcmp(op, ">="))
		return (cmp < 0) == !strcmp(op, "<") ? T_TRUE : T_FALSE;
	if (!strcmp(op, ">") || !strcmp(op, "<="))
		return (cmp > 0) == !strcmp(op, ">") ? T_TRUE : T_FALSE;
	return T_UNKNOWN;
}

/* The value of a constant condition, where this small evaluation can
 * tell it. */
static enum truth truth(const PgQuery__Node *n)
{
	n = strip(n);
	if (!n)
		return T_UNKNOWN;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST: {
		const PgQuery__AConst *c = n->a_const;
		if (c->isnull)
			return T_NULL;
		if (c->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL)
			return c->boolval && c->boolval->boolval ? T_TRUE : T_FALSE;
		if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL && c->sval)
			return literal_truth(c->sval->sval);	/* an unknown literal read as boolean */
		return T_UNKNOWN;
	}
	case PG_QUERY__NODE__NODE_TYPE_CAST: {
		const PgQuery__TypeName *t = n->type_cast->type_name;
		const char *to = t && t->n_names ? str_of(t->names[t->n_names - 1]) : "";
		return !strcmp(to, "bool") || !strcmp(to, "boolean") ? truth(n->type_cast->arg) : T_UNKNOWN;
	}
	case PG_QUERY__NODE__NODE_BOOL_EXPR: {
		const PgQuery__BoolExpr *b = n->bool_expr;
		int or = b->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR;
		enum truth v = or ? T_FALSE : T_TRUE;
		if (b->boolop == PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR) {
			v = b->n_args == 1 ? truth(b->args[0]) : T_UNKNOWN;
			return v == T_TRUE ? T_FALSE : v == T_FALSE ? T_TRUE : v;
		}
		/* OR: one true decides; AND: one false.  Else what cannot be
		 * told, then NULL, outweighs the rest. */
		for (size_t k = 0; k < b->n_args; k++) {
			enum truth a = truth(b->args[k]);
			if (a == (or ? T_TRUE : T_FALSE))
				return a;
			if (a == T_UNKNOWN || (a == T_NULL && v != T_UNKNOWN))
				v = a;
		}
		return v;
	}
	case PG_QUERY__NODE__NODE_BOOLEAN_TEST: {
		enum truth v = truth(n->boolean_test->arg);
		int yes;
		if (v == T_UNKNOWN)
			return v;
		switch (n->boolean_test->booltesttype) {
		case PG_QUERY__BOOL_TEST_TYPE__IS_TRUE: yes = v == T_TRUE; break;
		case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE: yes = v != T_TRUE; break;
		case PG_QUERY__BOOL_TEST_TYPE__IS_FALSE: yes = v == T_FALSE; break;
		case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_FALSE: yes = v != T_FALSE; break;
		case PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN: yes = v == T_NULL; break;
		case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN: yes = v != T_NULL; break;
		default: return T_UNKNOWN;
		}
		return yes ? T_TRUE : T_FALSE;
	}
	case PG_QUERY__NODE__NODE_NULL_TEST: {
		const PgQuery__Node *a = strip(n->null_test->arg);
		int is_null;
		if (!a || a->node_case != PG_QUERY__NODE__NODE_A_CONST)
			return T_UNKNOWN;
		is_null = a->a_const->isnull;
		return (n->null_test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL) == is_null ? T_TRUE : T_FALSE;
	}
	case PG_QUERY__NODE__NODE_A_EXPR:
		return comparison_truth(n->a_expr);
	default:
		return T_UNKNOWN;
	}
}

/* The top-level OR branches of n, nested ORs flattened. */
static void branches(PgQuery__Node *n, PgQuery__Node ***v, size_t *nv)
{
	const PgQuery__Node *s = strip(n);

	if (s && s->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
	    s->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR) {
		for (size_t k = 0; k < s->bool_expr->n_args; k++)
			branches(s->bool_expr->args[k], v, nv);
		return;
	}
	*v = gm_xrealloc(*v, (*nv + 1) * sizeof(**v));
	(*v)[(*nv)++] = n;
}

/* ---- the interface ---- */

struct gm_error *gm_policy_judge_new(const struct gm_tenancy *t, struct gm_policy_judge **out)
{
	struct gm_policy_judge *j = gm_xcalloc(1, sizeof(*j));
	char *why;

	*out = NULL;
	j->tenancy = t;
	if ((why = parse_expr(t->expression ? t->expression : "", &j->tenant))) {
		struct gm_error *err = gm_error_new(GM_ERR_INPUT, "the tenant expression %s does not parse: %s",
						    t->expression ? t->expression : "(none)", why);
		gm_error_advise(err, "write it as a policy would, e.g. (SELECT app_current_org_id()) or auth.uid()");
		free(why);
		free(j);
		return err;
	}
	*out = j;
	return NULL;
}

void gm_policy_judge_free(struct gm_policy_judge *j)
{
	if (!j)
		return;
	tree_free(&j->tenant);
	free(j);
}

/* Every OR branch bound, or (read) limited to shared rows. */
static enum gm_bound judge_node(const struct gm_policy_judge *j, PgQuery__Node *expr, int read, char **branch)
{
	PgQuery__Node **v = NULL;
	size_t n = 0;
	enum gm_bound verdict = GM_BOUND;

	*branch = NULL;
	branches(expr, &v, &n);
	for (size_t k = 0; k < n && verdict == GM_BOUND; k++)
		if (!bound(j, v[k]) && !(read && shared_read(j, v[k]))) {
			*branch = gm_pgtree_deparse_expr(v[k]);
			verdict = GM_UNBOUND;
		}
	free(v);
	return verdict;
}

struct relation_binding {
	const struct gm_policy_judge *j;
	const char *q;	/* the relation's alias or name */
	int bare;	/* the statement's only relation: a bare column is its */
};

/* "q.tenant_col = the tenant expression", or the column bare when bare
 * is set. */
static int binds(const void *ctx, const PgQuery__Node *n)
{
	const struct relation_binding *b = ctx;
	const struct gm_policy_judge *j = b->j;
	const PgQuery__Node *col = NULL, *l, *r;
	const PgQuery__ColumnRef *c;

	if (!is_equality(n))
		return 0;
	l = n->a_expr->lexpr;
	r = n->a_expr->rexpr;
	if (is_tenant_column(j, l) && is_tenant(j, r))
		col = strip(l);
	else if (is_tenant_column(j, r) && is_tenant(j, l))
		col = strip(r);
	if (!col)
		return 0;
	c = col->column_ref;
	if (c->n_fields == 1)
		return b->bare;
	return c->n_fields == 2 && !strcmp(str_of(c->fields[0]), b->q);
}

enum gm_bound gm_policy_judge_relation(const struct gm_policy_judge *j, PgQuery__Node *where, const char *qualifier,
				       int bare, char **branch)
{
	PgQuery__Node **v = NULL;
	size_t n = 0;
	enum gm_bound verdict = GM_BOUND;

	*branch = NULL;
	if (!where) {
		*branch = gm_xstrdup("(no WHERE)");
		return GM_UNBOUND;
	}
	branches(where, &v, &n);
	for (size_t k = 0; k < n && verdict == GM_BOUND; k++)
		if (!some_conjunct(v[k], binds, &(struct relation_binding){ j, qualifier, bare })) {
			*branch = gm_pgtree_deparse_expr(v[k]);
			verdict = GM_UNBOUND;
		}
	free(v);
	return verdict;
}

const struct gm_tenancy *gm_policy_judge_tenancy(const struct gm_policy_judge *j)
{
	return j->tenancy;
}

int gm_policy_is_tenant_column_name(const struct gm_policy_judge *j, const char *name)
{
	return gm_strlist_has(&j->tenancy->columns, name);
}

static enum gm_bound judge_text(const struct gm_policy_judge *j, const char *expr, int read, char **branch)
{
	struct tree t;
	enum gm_bound verdict;

	*branch = NULL;
	if ((*branch = parse_expr(expr, &t)))
		return GM_UNPARSED;
	verdict = judge_node(j, t.target->val, read, branch);
	tree_free(&t);
	return verdict;
}

enum gm_bound gm_policy_judge_node(const struct gm_policy_judge *j, PgQuery__Node *expr, char **branch)
{
	return judge_node(j, expr, 0, branch);
}

enum gm_bound gm_policy_judge(const struct gm_policy_judge *j, const char *expr, char **branch)
{
	return judge_text(j, expr, 0, branch);
}

enum gm_bound gm_policy_judge_read_node(const struct gm_policy_judge *j, PgQuery__Node *expr, char **branch)
{
	return judge_node(j, expr, 1, branch);
}

enum gm_bound gm_policy_judge_read(const struct gm_policy_judge *j, const char *expr, char **branch)
{
	return judge_text(j, expr, 1, branch);
}

/* Whether n compares with = or IN (anywhere): the tenant expression
 * equal to a constant picks one tenant (an administrator's), not every
 * one. */
static int visit_picks(void *ctx, const PgQuery__Node *n)
{
	(void)ctx;
	return n->node_case == PG_QUERY__NODE__NODE_A_EXPR &&
	       (n->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_IN ||
		(n->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && n->a_expr->n_name == 1 &&
		 !strcmp(str_of(n->a_expr->name[0]), "=")));
}

/* A branch lets every row through to some: it does not look at the row,
 * and is true (constants), or may be for every tenant (the tenant
 * expression tested but not picked: IS NOT NULL, <> a constant). */
static int open_branch(const struct gm_policy_judge *j, const PgQuery__Node *n)
{
	int tenant = 0;
	enum truth v;

	if (!row_blind(j, n, &tenant))
		return 0;
	v = truth(n);
	return v == T_TRUE || (tenant && v == T_UNKNOWN && !gm_pgtree_walk(&n->base, visit_picks, NULL));
}

char *gm_policy_open_branch(const struct gm_policy_judge *j, const char *expr)
{
	PgQuery__Node **v = NULL;
	size_t n = 0;
	char *open = NULL;
	struct tree t;
	char *why = parse_expr(expr, &t);

	if (why) {
		free(why);
		return NULL;
	}
	branches(t.target->val, &v, &n);
	for (size_t k = 0; k < n && !open; k++)
		if (open_branch(j, v[k]))
			open = gm_pgtree_deparse_expr(v[k]);
	free(v);
	tree_free(&t);
	return open;
}

int gm_policy_is_tenant_node(const struct gm_policy_judge *j, const PgQuery__Node *expr)
{
	return (expr = strip(expr)) && is_tenant(j, expr);
}

int gm_policy_mentions_tenant_node(const struct gm_policy_judge *j, const PgQuery__Node *expr)
{
	return expr && any_node(j, &expr->base, is_tenant);
}

int gm_policy_mentions_tenant(const struct gm_policy_judge *j, const char *expr)
{
	struct tree t;
	char *why = parse_expr(expr, &t);
	int yes;

	if (why) {
		free(why);
		return 0;
	}
	yes = gm_policy_mentions_tenant_node(j, t.target->val);
	tree_free(&t);
	return yes;
}
