/* sqllint_rls.c - Row-Level Security at migration time (see gm_sqllint.h;
 * the rules' explanations are in garage-migrate(1)).
 *
 * The same conventions as verify's RLS lints (lint.c): the tenancy names
 * the tenant columns, the exposed schemas and the global tables, and write
 * policies are judged by the one policy judge (gm_policy.h), here on the
 * CREATE POLICY's own tree.  What verify reads from the catalog, the lint
 * reads from the statements of the run: a table a migration creates may
 * get its RLS in a later migration of the project, so tables and views
 * are judged at the end of the run. */
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_sqlstmt.h"
#include "gm_tenancy.h"
#include "sqllint_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE(n, kind) ((n) && (n)->node_case == PG_QUERY__NODE__NODE_##kind)

static const char *schema_of(const PgQuery__RangeVar *rv)
{
	return rv->schemaname && *rv->schemaname ? rv->schemaname : "public";
}

static int exposed(const struct lint *l, const PgQuery__RangeVar *rv)
{
	return gm_strlist_has(&l->tenancy->schemas, schema_of(rv));
}

/* ---- tables the run creates ---- */

static struct lint_table *table_find(const struct lint *l, const char *key)
{
	/* The newest: a table dropped and created again is the new one. */
	for (size_t k = l->ntables; k-- > 0;)
		if (!strcmp(l->tables[k].key, key))
			return &l->tables[k];
	return NULL;
}

static void add_ref(struct lint_table *t, const PgQuery__RangeVar *pk)
{
	char *key;

	if (!pk)
		return;
	key = lint_key(pk);
	if (!gm_strlist_has(&t->refs, key))
		gm_strlist_add(&t->refs, key);
	free(key);
}

/* Tenant columns, and the tables foreign keys reference, of a CREATE. */
static void read_columns(const struct lint *l, const PgQuery__CreateStmt *c, struct lint_table *t)
{
	for (size_t k = 0; k < c->n_table_elts; k++) {
		const PgQuery__Node *e = c->table_elts[k];
		if (NODE(e, COLUMN_DEF)) {
			const PgQuery__ColumnDef *col = e->column_def;
			if (col->colname && gm_strlist_has(&l->tenancy->columns, col->colname))
				t->tenant = 1;
			for (size_t j = 0; j < col->n_constraints; j++)
				if (NODE(col->constraints[j], CONSTRAINT) &&
				    col->constraints[j]->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
					add_ref(t, col->constraints[j]->constraint->pktable);
		} else if (NODE(e, CONSTRAINT) && e->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN) {
			add_ref(t, e->constraint->pktable);
		}
	}
}

static struct lint_table *new_table(struct lint *l, const PgQuery__RangeVar *rv)
{
	struct lint_table *t;

	l->tables = gm_xrealloc(l->tables, (l->ntables + 1) * sizeof(*l->tables));
	t = &l->tables[l->ntables++];
	memset(t, 0, sizeof(*t));
	t->key = lint_key(rv);
	t->stmt = (size_t)(l->cur - l->stmts);
	t->loc = lint_at(l, rv->location);
	t->exposed = exposed(l, rv) && !gm_tenancy_is_global(l->tenancy, schema_of(rv), rv->relname);
	t->temp = rv->relpersistence && !strcmp(rv->relpersistence, "t");
	return t;
}

static void create_table(struct lint *l, const PgQuery__CreateStmt *c)
{
	if (c->relation)
		read_columns(l, c, new_table(l, c->relation));
}

/* A tenant table: a tenant column, or a foreign key to a tenant table
 * (order milestones through their order), as verify decides. */
static int is_tenant(const struct lint *l, const char *key, int depth)
{
	const struct lint_table *t = table_find(l, key);
	const struct lint_rel *r;

	if (!t) {
		r = lint_rel_get(l, key);
		return r && r->found && r->tenant;
	}
	if (t->tenant)
		return 1;
	for (size_t k = 0; depth < 16 && k < t->refs.n; k++)
		if (strcmp(t->refs.v[k], key) && is_tenant(l, t->refs.v[k], depth + 1))
			return 1;
	return 0;
}

static void alter_table(struct lint *l, const PgQuery__AlterTableStmt *a)
{
	char *key;

	if (!a->relation)
		return;
	key = lint_key(a->relation);
	for (size_t k = 0; k < a->n_cmds; k++) {
		const PgQuery__AlterTableCmd *c = NODE(a->cmds[k], ALTER_TABLE_CMD) ? a->cmds[k]->alter_table_cmd : NULL;
		if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_EnableRowSecurity && !gm_strlist_has(&l->rls_enabled, key))
			gm_strlist_add(&l->rls_enabled, key);
		if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_ForceRowSecurity && !gm_strlist_has(&l->rls_forced, key))
			gm_strlist_add(&l->rls_forced, key);
	}
	free(key);
}

static void drop_tables(struct lint *l, const PgQuery__DropStmt *d)
{
	if (d->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	for (size_t k = 0; k < d->n_objects; k++) {
		struct lint_table *t;
		char *key;
		if (!NODE(d->objects[k], LIST))
			continue;
		key = lint_key_names(d->objects[k]->list->items, d->objects[k]->list->n_items);
		if ((t = table_find(l, key)))
			t->dropped = 1;
		free(key);
	}
}

/* ---- policies ---- */

struct setting_call {
	int location;
	int found;
};

static int one_arg_current_setting(void *ctx, const PgQuery__Node *n)
{
	struct setting_call *c = ctx;

	if (!NODE(n, FUNC_CALL) || n->func_call->n_args != 1 ||
	    strcmp(gm_pgtree_last_name(n->func_call->funcname, n->func_call->n_funcname), "current_setting"))
		return 0;
	c->location = n->func_call->location;
	c->found = 1;
	return 1;
}

static void current_setting(struct lint *l, const PgQuery__Node *expr, const char *what, int exact)
{
	struct setting_call c = { -1, 0 };

	if (!expr || !gm_pgtree_walk(&expr->base, one_arg_current_setting, &c))
		return;
	lint_report(l, "current_setting_without_missing_ok", lint_at(l, exact ? c.location : -1), NULL,
		    "%s calls current_setting() with one argument, which raises an error wherever the setting is not set",
		    what);
}

static int is_write_command(const char *cmd)
{
	return cmd && (!strcmp(cmd, "all") || !strcmp(cmd, "insert") || !strcmp(cmd, "update") || !strcmp(cmd, "delete"));
}

static const char *command_name(const char *cmd)
{
	static const char *const names[][2] = { { "all", "ALL" }, { "insert", "INSERT" }, { "update", "UPDATE" },
						{ "delete", "DELETE" }, { "select", "SELECT" } };

	for (size_t k = 0; cmd && k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcmp(cmd, names[k][0]))
			return names[k][1];
	return "ALL";
}

/* "FOR UPDATE policy", or "policy" when the command is not known (an
 * ALTER POLICY of a policy made outside the project's migrations). */
static void policy_label(char *buf, size_t size, const char *cmd)
{
	if (cmd)
		snprintf(buf, size, "FOR %s policy", command_name(cmd));
	else
		snprintf(buf, size, "policy");
}

static void judge(struct lint *l, const char *cmd, const char *policy, PgQuery__Node *expr, const char *clause,
		  const char *key)
{
	char *branch = NULL, label[32];

	if (!expr)
		return;
	policy_label(label, sizeof(label), cmd);
	if (gm_policy_judge_node(l->judge, expr, &branch) == GM_UNBOUND)
		lint_report(l, "write_policy_not_tenant_bound", lint_at(l, gm_pgtree_first_location(&expr->base)), key,
			    "%s %s on %s: its %s has a branch not bound to the tenant: %s (any tenant can write the"
			    " rows it matches)", label, policy, key, clause, branch);
	free(branch);
}

/* A FOR SELECT policy: every branch bound, or limited to shared rows
 * (gm_policy_judge_read). */
static void judge_read(struct lint *l, const char *cmd, const char *policy, PgQuery__Node *qual, const char *key)
{
	char *branch = NULL, label[32];

	policy_label(label, sizeof(label), cmd);
	if (qual && gm_policy_judge_read_node(l->judge, qual, &branch) == GM_UNBOUND)
		lint_report(l, "read_policy_not_tenant_bound", lint_at(l, gm_pgtree_first_location(&qual->base)), key,
			    "%s %s on %s: its USING has a branch neither bound to the tenant nor limited to"
			    " shared rows: %s (any tenant can read the rows it matches)", label, policy, key, branch);
	free(branch);
}

/* Judged when it is meant to isolate tenants: on a tenant table, or
 * naming the tenant expression.  cmd NULL: not known, so USING is held to
 * what a read policy must meet (a write policy's must meet more), and a
 * WITH CHECK, which only write policies have, to a write policy's. */
static void judge_policy(struct lint *l, const char *cmd, const char *policy, const char *key,
			 PgQuery__Node *qual, PgQuery__Node *with_check)
{
	if (!is_tenant(l, key, 0) && !gm_policy_mentions_tenant_node(l->judge, qual) &&
	    !gm_policy_mentions_tenant_node(l->judge, with_check))
		return;
	if (!cmd || !strcmp(cmd, "select"))
		judge_read(l, cmd, policy, qual, key);
	else
		judge(l, cmd, policy, qual, "USING", key);
	judge(l, cmd, policy, with_check, "WITH CHECK", key);
}

static void create_policy(struct lint *l, const PgQuery__CreatePolicyStmt *p)
{
	char *key;

	current_setting(l, p->qual, "the policy's USING", 1);
	current_setting(l, p->with_check, "the policy's WITH CHECK", 1);
	if (!p->table || !p->permissive || (!is_write_command(p->cmd_name) && strcmp(p->cmd_name ? p->cmd_name : "", "select")))
		return;
	key = lint_key(p->table);
	judge_policy(l, p->cmd_name, p->policy_name, key, p->qual, p->with_check);
	free(key);
}

/* The CREATE POLICY of name on key, if node is one. */
static const PgQuery__CreatePolicyStmt *policy_made(const PgQuery__Node *node, const char *key, const char *name)
{
	const PgQuery__CreatePolicyStmt *p;
	char *k;
	int same;

	if (!node || !NODE(node, CREATE_POLICY_STMT))
		return NULL;
	p = node->create_policy_stmt;
	if (!p->table || !p->policy_name || strcmp(p->policy_name, name))
		return NULL;
	k = lint_key(p->table);
	same = !strcmp(k, key);
	free(k);
	return same ? p : NULL;
}

/* Calls fn(ctx, m, st, stmt) on each statement of the project's
 * migrations outside the run, before its first (before set) or after it,
 * whose first keyword is word1 and second one of word2 (NULL-ended),
 * parsed on its own; one that does not parse is passed over.  For what
 * the run's own statements do not say (a CREATE POLICY or FUNCTION an
 * ALTER changes, a later ENABLE ROW LEVEL SECURITY). */
static int in_run(const struct lint *l, const struct gm_migration *m)
{
	for (size_t k = 0; k < l->nstmts; k++)
		if (l->stmts[k].m == m)
			return 1;
	return 0;
}

typedef void (*outside_fn)(void *ctx, const struct gm_migration *m, const struct gm_sql_stmt *st,
			   const PgQuery__Node *stmt);

static int word_in(const char *w, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(w, *words))
			return 1;
	return 0;
}

static void outside_run(const struct lint *l, int before, const char *word1, const char *const *word2,
			outside_fn fn, void *ctx)
{
	unsigned long long first = l->nstmts ? l->stmts[0].m->version : 0;

	for (size_t i = 0; i < l->o->nall; i++) {
		const struct gm_migration *m = l->o->all[i];
		if (before ? m->version >= first : (m->version <= first || in_run(l, m)))
			continue;
		for (size_t k = 0; k < m->up.stmts.n; k++) {
			const struct gm_sql_stmt *st = &m->up.stmts.v[k];
			struct gm_pgtree t;
			size_t off;
			char *why;
			if (strcmp(st->word1, word1) || !word_in(st->word2, word2))
				continue;
			if ((why = gm_sql_stmt_parse(m->up.sql, st, &t, &off))) {
				free(why);
				continue;
			}
			fn(ctx, m, st, gm_pgtree_stmt(&t));
			gm_pgtree_free(&t);
		}
	}
}

/* The command ("all", "select", ...; allocated) and permissiveness of
 * policy name on key as its last CREATE POLICY made it: earlier in the
 * run, else in a project migration before the run.  NULL when neither
 * made it. */
struct policy_search {
	const char *key, *name;
	char *cmd;
	int permissive;
};

static void policy_found(void *ctx, const struct gm_migration *m, const struct gm_sql_stmt *st,
			 const PgQuery__Node *stmt)
{
	struct policy_search *ps = ctx;
	const PgQuery__CreatePolicyStmt *p = policy_made(stmt, ps->key, ps->name);

	(void)m;
	(void)st;
	if (p) {
		free(ps->cmd);
		ps->cmd = gm_xstrdup(p->cmd_name ? p->cmd_name : "all");
		ps->permissive = p->permissive;
	}
}

static char *policy_command(const struct lint *l, const char *key, const char *name, int *permissive)
{
	static const char *const policy[] = { "POLICY", NULL };
	struct policy_search ps = { key, name, NULL, 1 };
	const PgQuery__CreatePolicyStmt *p;

	for (const struct lint_stmt *s = l->cur; s-- > l->stmts;)
		if ((p = policy_made(s->node, key, name))) {
			*permissive = p->permissive;
			return gm_xstrdup(p->cmd_name ? p->cmd_name : "all");
		}
	outside_run(l, 1, "CREATE", policy, policy_found, &ps);
	if (ps.cmd)
		*permissive = ps.permissive;
	return ps.cmd;
}

/* ALTER POLICY replaces USING or WITH CHECK: judged as the CREATE POLICY
 * it changes, whose command comes from the migrations. */
static void alter_policy(struct lint *l, const PgQuery__AlterPolicyStmt *a)
{
	int permissive = 1;
	char *key, *cmd;

	current_setting(l, a->qual, "the policy's USING", 1);
	current_setting(l, a->with_check, "the policy's WITH CHECK", 1);
	if (!a->table || !a->policy_name || (!a->qual && !a->with_check))
		return;
	key = lint_key(a->table);
	cmd = policy_command(l, key, a->policy_name, &permissive);
	if (permissive && (!cmd || is_write_command(cmd) || !strcmp(cmd, "select")))
		judge_policy(l, cmd, a->policy_name, key, a->qual, a->with_check);
	free(cmd);
	free(key);
}

/* ---- functions ---- */

static int sets_search_path(const PgQuery__CreateFunctionStmt *f)
{
	for (size_t k = 0; k < f->n_options; k++) {
		const PgQuery__DefElem *d = NODE(f->options[k], DEF_ELEM) ? f->options[k]->def_elem : NULL;
		if (d && d->defname && !strcmp(d->defname, "set") && NODE(d->arg, VARIABLE_SET_STMT) &&
		    d->arg->variable_set_stmt->name && !strcmp(d->arg->variable_set_stmt->name, "search_path"))
			return 1;
	}
	return 0;
}

/* A LANGUAGE sql body written as a string: parsed on its own. */
static void sql_string_body(struct lint *l, const PgQuery__DefElem *as)
{
	struct gm_pgtree t;
	size_t cursor;
	char *why;

	if (!as || !NODE(as->arg, LIST) || !as->arg->list->n_items)
		return;
	why = gm_pgtree_parse(gm_pgtree_str(as->arg->list->items[0]), &t, &cursor);
	if (!why && t.pr) {
		struct setting_call c = { -1, 0 };
		if (gm_pgtree_walk(&t.pr->base, one_arg_current_setting, &c))
			lint_report(l, "current_setting_without_missing_ok", lint_at(l, -1), NULL,
				    "the function's body calls current_setting() with one argument, which raises an error"
				    " wherever the setting is not set");
	}
	free(why);
	gm_pgtree_free(&t);
}

/* gm_definer_protected: a tenant table, by the run or the database (one
 * with RLS but no tenant column is not the judge's to tell). */
static int tenant_key(const struct lint *l, const char *key)
{
	const struct lint_rel *r = lint_rel_get(l, key);

	return is_tenant(l, key, 0) || (r && r->found && r->tenant);
}

/* Whether key ("app.notes") is relation name of any schema. */
static int key_names(const char *key, const char *name)
{
	size_t k = strlen(key), n = strlen(name);

	return k > n && key[k - n - 1] == '.' && !strcmp(key + k - n, name);
}

/* gm_definer_protected: a tenant table, by the run or the database (one
 * with RLS but no tenant column is not the judge's to tell).  An
 * unqualified name is found through the function's own search path,
 * not known here: a tenant table of that name in any schema counts. */
static int tenant_rel(void *ctx, const char *schema, const char *name)
{
	const struct lint *l = ctx;
	char *key;
	int yes;

	if (!schema) {
		for (size_t k = 0; k < l->ntables; k++)
			if (key_names(l->tables[k].key, name) && tenant_key(l, l->tables[k].key))
				return 1;
		for (size_t k = 0; k < l->nrels; k++)
			if (key_names(l->rels[k].key, name) && tenant_key(l, l->rels[k].key))
				return 1;
	}
	key = gm_xasprintf("%s.%s", schema ? schema : "public", name);
	yes = tenant_key(l, key);
	free(key);
	return yes;
}

static size_t run_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs);

/* A SECURITY DEFINER function's statements on protected tables, and
 * those of the functions it calls: each bound to the tenant
 * (gm_definer.h), judged on the statement's text. */
static void judge_definer_text(struct lint *l, const char *text, const char *name)
{
	char *table, *why;

	switch (gm_definer_judge(l->judge, text, tenant_rel, run_callees, l, &table, &why)) {
	case GM_DEFINER_UNBOUND:
		lint_report(l, "definer_function_bypasses_rls", lint_at(l, -1), NULL,
			    "SECURITY DEFINER function %s touches %s as its owner (%s): an owner that bypasses RLS"
			    " lets any caller reach every tenant's rows", name, table, why);
		break;
	case GM_DEFINER_UNSEEN:
		lint_report(l, "definer_function_not_analysed", lint_at(l, -1), NULL,
			    "SECURITY DEFINER function %s: %s", name, why);
		break;
	case GM_DEFINER_BOUND:
		break;
	}
	free(table);
	free(why);
}

static void definer_body(struct lint *l, const PgQuery__CreateFunctionStmt *f)
{
	const struct gm_sql_stmt *st = &l->cur->m->up.stmts.v[l->cur->k];
	char *text = gm_xstrndup(l->cur->m->up.sql + st->start, st->end - st->start);

	judge_definer_text(l, text, gm_pgtree_last_name(f->funcname, f->n_funcname));
	free(text);
}

/* Whether f is the function schema.name: the same name, and the same
 * schema (unqualified is public's); with schema NULL (a call that leaves
 * it out, found through a path not known here), of any schema. */
static int same_function(PgQuery__Node *const *fn, size_t nfn, const char *schema, const char *name)
{
	const char *fs = nfn >= 2 ? gm_pgtree_str(fn[nfn - 2]) : "public";

	return !strcmp(gm_pgtree_last_name(fn, nfn), name) && (!schema || !strcmp(fs, schema));
}

struct function_search {
	const char *schema, *name;
	char *text;
};

static void function_found(void *ctx, const struct gm_migration *m, const struct gm_sql_stmt *st,
			   const PgQuery__Node *n)
{
	struct function_search *fs = ctx;

	if (NODE(n, CREATE_FUNCTION_STMT) &&
	    same_function(n->create_function_stmt->funcname, n->create_function_stmt->n_funcname, fs->schema, fs->name)) {
		free(fs->text);
		fs->text = gm_xstrndup(m->up.sql + st->start, st->end - st->start);
	}
}

/* The text of the last CREATE FUNCTION of schema.name (schema NULL: of
 * any schema) before the current statement: earlier in the run, else in a
 * project migration before it.  Allocated, or NULL. */
static char *function_text(const struct lint *l, const char *schema, const char *name)
{
	static const char *const function[] = { "FUNCTION", "OR", "PROCEDURE", NULL };	/* OR: CREATE OR REPLACE */
	struct function_search fs = { schema, name, NULL };

	for (const struct lint_stmt *s = l->cur; s-- > l->stmts;) {
		const PgQuery__Node *n = s->node;
		if (NODE(n, CREATE_FUNCTION_STMT) &&
		    same_function(n->create_function_stmt->funcname, n->create_function_stmt->n_funcname, schema, name)) {
			const struct gm_sql_stmt *st = &s->m->up.stmts.v[s->k];
			return gm_xstrndup(s->m->up.sql + st->start, st->end - st->start);
		}
	}
	outside_run(l, 1, "CREATE", function, function_found, &fs);
	return fs.text;
}

/* Statements before the current one (the run's, then the project's
 * earlier migrations') that reach reaches, collected as texts. */
struct reach_search {
	const struct lint *l;
	enum gm_definer_reach how;
	const char *schema, *name;
	struct gm_strlist texts;
};

/* Whether a relation's names say schema.name (unqualified is public's;
 * schema NULL: of any schema). */
static int same_relation(const PgQuery__RangeVar *rv, const char *schema, const char *name)
{
	return rv && rv->relname && !strcmp(rv->relname, name) &&
	       (!schema || !strcmp(rv->schemaname && *rv->schemaname ? rv->schemaname : "public", schema));
}

/* The function a CREATE OPERATOR (FUNCTION = f) or CREATE CAST (WITH
 * FUNCTION f) names, when n is one for the operator or type sought. */
static const PgQuery__Node *const *reached_function(const struct reach_search *rs, const PgQuery__Node *n, size_t *nnames)
{
	if (rs->how == GM_REACH_OPERATOR && NODE(n, DEFINE_STMT) && n->define_stmt->kind == PG_QUERY__OBJECT_TYPE__OBJECT_OPERATOR &&
	    same_function(n->define_stmt->defnames, n->define_stmt->n_defnames, rs->schema, rs->name)) {
		for (size_t k = 0; k < n->define_stmt->n_definition; k++) {
			const PgQuery__Node *d = n->define_stmt->definition[k];
			if (NODE(d, DEF_ELEM) && d->def_elem->defname &&
			    (!strcmp(d->def_elem->defname, "function") || !strcmp(d->def_elem->defname, "procedure")) &&
			    NODE(d->def_elem->arg, TYPE_NAME)) {
				*nnames = d->def_elem->arg->type_name->n_names;
				return (const PgQuery__Node *const *)d->def_elem->arg->type_name->names;
			}
		}
	}
	if (rs->how == GM_REACH_CAST && NODE(n, CREATE_CAST_STMT) && n->create_cast_stmt->targettype &&
	    n->create_cast_stmt->func &&
	    !strcmp(gm_pgtree_last_name(n->create_cast_stmt->targettype->names, n->create_cast_stmt->targettype->n_names),
		    rs->name)) {
		*nnames = n->create_cast_stmt->func->n_objname;
		return (const PgQuery__Node *const *)n->create_cast_stmt->func->objname;
	}
	return NULL;
}

/* Whether n makes what writing the table sought runs: a trigger on it, or
 * its columns' defaults and checks (CREATE or ALTER TABLE, read whole). */
static int makes_write_code(const struct reach_search *rs, const PgQuery__Node *n)
{
	return rs->how == GM_REACH_WRITE &&
	       ((NODE(n, CREATE_TRIG_STMT) && same_relation(n->create_trig_stmt->relation, rs->schema, rs->name)) ||
		(NODE(n, CREATE_STMT) && same_relation(n->create_stmt->relation, rs->schema, rs->name)) ||
		(NODE(n, ALTER_TABLE_STMT) && same_relation(n->alter_table_stmt->relation, rs->schema, rs->name)));
}

static void reach_found(void *ctx, const struct gm_migration *m, const struct gm_sql_stmt *st, const PgQuery__Node *n)
{
	struct reach_search *rs = ctx;
	const PgQuery__Node *const *fn;
	size_t nfn = 0;
	char *text = NULL;

	if ((fn = reached_function(rs, n, &nfn)) && nfn)
		text = function_text(rs->l, nfn >= 2 ? gm_pgtree_str(fn[nfn - 2]) : NULL, gm_pgtree_last_name((PgQuery__Node *const *)fn, nfn));
	else if (makes_write_code(rs, n))
		text = gm_xstrndup(m->up.sql + st->start, st->end - st->start);
	if (text)
		gm_strlist_add(&rs->texts, text);
	free(text);
}

/* gm_definer_callees: what the migrations made by the statement being
 * judged: the function (function_text), an operator's or a cast's
 * function, a table's triggers, defaults and checks. */
static size_t run_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	static const char *const operator_words[] = { "OPERATOR", NULL }, *const cast_words[] = { "CAST", NULL },
			  *const trigger_words[] = { "TRIGGER", "OR", "CONSTRAINT", NULL },
			  *const table_words[] = { "TABLE", "UNLOGGED", "TEMP", "TEMPORARY", NULL };
	const struct lint *l = ctx;
	struct reach_search rs = { l, how, schema, name, { NULL, 0 } };
	char *text;

	*defs = NULL;
	if (how == GM_REACH_CALL) {
		if (!(text = function_text(l, schema, name)))
			return 0;
		gm_strlist_add(&rs.texts, text);
		free(text);
	} else {
		for (const struct lint_stmt *s = l->stmts; s < l->cur; s++) {
			const struct gm_sql_stmt *st = &s->m->up.stmts.v[s->k];
			reach_found(&rs, s->m, st, s->node);
		}
		if (how == GM_REACH_WRITE) {
			outside_run(l, 1, "CREATE", trigger_words, reach_found, &rs);
			outside_run(l, 1, "CREATE", table_words, reach_found, &rs);
			outside_run(l, 1, "ALTER", table_words, reach_found, &rs);
		} else {
			outside_run(l, 1, "CREATE", how == GM_REACH_OPERATOR ? operator_words : cast_words, reach_found, &rs);
		}
	}
	*defs = rs.texts.v;
	return rs.texts.n;
}

static void judge_definer_text(struct lint *l, const char *text, const char *name);

/* ALTER FUNCTION ... SECURITY DEFINER: judged as the CREATE FUNCTION it
 * changes, found in the migrations; unseen when it is not there. */
/* Whether option d (CREATE or ALTER FUNCTION's) is name set on. */
static int option_on(const PgQuery__DefElem *d, const char *name)
{
	return d && d->defname && !strcmp(d->defname, name) && NODE(d->arg, BOOLEAN) && d->arg->boolean->boolval;
}

/* LEAKPROOF: the planner runs the function on every tenant's rows before
 * the policies (verify's leakproof_function). */
static void leakproof(struct lint *l, const PgQuery__DefElem *d, const char *name)
{
	if (option_on(d, "leakproof"))
		lint_report(l, "leakproof_function", lint_at(l, d->location), NULL,
			    "function %s is made LEAKPROOF: the planner runs it on every tenant's rows before the"
			    " policies, and what it lets out about its arguments (an error's message) any caller reads",
			    name);
}

static void alter_function(struct lint *l, const PgQuery__AlterFunctionStmt *a)
{
	const char *name;
	char *text;

	if (!a->func || !a->func->n_objname)
		return;
	for (size_t k = 0; k < a->n_actions; k++) {
		const PgQuery__DefElem *d = NODE(a->actions[k], DEF_ELEM) ? a->actions[k]->def_elem : NULL;
		leakproof(l, d, gm_pgtree_last_name(a->func->objname, a->func->n_objname));
		if (!option_on(d, "security"))
			continue;
		name = gm_pgtree_last_name(a->func->objname, a->func->n_objname);
		if ((text = function_text(l, a->func->n_objname >= 2 ? gm_pgtree_str(a->func->objname[a->func->n_objname - 2]) : NULL,
					  name))) {
			judge_definer_text(l, text, name);
			free(text);
		} else {
			lint_report(l, "definer_function_not_analysed", lint_at(l, -1), NULL,
				    "SECURITY DEFINER function %s: made so here, its body is not in the migrations", name);
		}
	}
}

static void create_function(struct lint *l, const PgQuery__CreateFunctionStmt *f)
{
	const PgQuery__DefElem *security = gm_pgtree_function_option(f, "security"), *lang = gm_pgtree_function_option(f, "language");

	if (security && NODE(security->arg, BOOLEAN) && security->arg->boolean->boolval && !sets_search_path(f))
		lint_report(l, "security_definer_without_search_path", lint_at(l, security->location), NULL,
			    "SECURITY DEFINER function %s has no SET search_path: it runs with its owner's rights and"
			    " resolves names through the caller's path", gm_pgtree_last_name(f->funcname, f->n_funcname));
	if (f->sql_body)
		current_setting(l, f->sql_body, "the function's body", 1);
	else if (lang && NODE(lang->arg, STRING) && !strcmp(lang->arg->string->sval, "sql"))
		sql_string_body(l, gm_pgtree_function_option(f, "as"));
	if (security && NODE(security->arg, BOOLEAN) && security->arg->boolean->boolval)
		definer_body(l, f);
	leakproof(l, gm_pgtree_function_option(f, "leakproof"), gm_pgtree_last_name(f->funcname, f->n_funcname));
}

/* ---- grants ---- */

/* GRANT ALL, TRUNCATE or TRIGGER on a tenant table (verify's
 * tenant_table_bypass_grant); ALL or TRIGGER on any other relation
 * (trigger_grant: the grantee's trigger runs as whoever writes there). */
static void bypass_grant(struct lint *l, const PgQuery__GrantStmt *g, int defaults)
{
	const char *which = g->n_privileges ? NULL : "ALL";
	int trigger = !g->n_privileges;

	for (size_t k = 0; k < g->n_privileges; k++) {
		const PgQuery__AccessPriv *p = NODE(g->privileges[k], ACCESS_PRIV) ? g->privileges[k]->access_priv : NULL;
		if (!p || !p->priv_name)
			continue;
		if (!strcmp(p->priv_name, "trigger"))
			trigger = 1;
		if (!which && (!strcmp(p->priv_name, "truncate") || !strcmp(p->priv_name, "trigger")))
			which = !strcmp(p->priv_name, "truncate") ? "TRUNCATE" : "TRIGGER";
	}
	if (!which)
		return;
	/* Every table of a schema, or every future one (Supabase's usual
	 * GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated):
	 * TRIGGER on each of them. */
	if (trigger && (defaults || g->targtype == PG_QUERY__GRANT_TARGET_TYPE__ACL_TARGET_ALL_IN_SCHEMA)) {
		lint_report(l, "trigger_grant", lint_at(l, -1), NULL,
			    "GRANT %s on %s: the grantee may attach a trigger to each, whose function runs as whoever"
			    " writes there, a superuser's migration included", g->n_privileges ? "TRIGGER" : "ALL",
			    defaults ? "the tables made from now on (default privileges)" : "every table of the schema");
		return;
	}
	if (g->targtype != PG_QUERY__GRANT_TARGET_TYPE__ACL_TARGET_OBJECT)
		return;
	for (size_t j = 0; j < g->n_objects; j++) {
		char *key;
		if (!NODE(g->objects[j], RANGE_VAR))
			continue;
		key = lint_key(g->objects[j]->range_var);
		if (is_tenant(l, key, 0)) {
			lint_report(l, "tenant_table_bypass_grant", lint_at(l, -1), key,
				    "GRANT %s on tenant table %s: TRUNCATE empties every tenant's rows whatever the policies"
				    " say, and a trigger of the grantee's sees every row any tenant writes", which, key);
			free(key);
			return;
		}
		if (trigger) {
			lint_report(l, "trigger_grant", lint_at(l, -1), key,
				    "GRANT %s on %s: the grantee may attach a trigger whose function runs as whoever writes"
				    " there, a superuser's migration included", g->n_privileges ? "TRIGGER" : "ALL", key);
			free(key);
			return;
		}
		free(key);
	}
}

static void grant(struct lint *l, const PgQuery__GrantStmt *g, int defaults)
{
	int all = g->targtype == PG_QUERY__GRANT_TARGET_TYPE__ACL_TARGET_ALL_IN_SCHEMA;

	if (!g->is_grant || g->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	bypass_grant(l, g, defaults);
	for (size_t k = 0; k < g->n_grantees; k++) {
		const PgQuery__RoleSpec *r = NODE(g->grantees[k], ROLE_SPEC) ? g->grantees[k]->role_spec : NULL;
		int pub = r && r->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC;
		int anon = r && r->rolename && gm_strlist_has(&l->tenancy->anon_roles, r->rolename);
		char *key = NULL;

		if (!pub && !anon)
			continue;
		/* An anonymous role may read global tables (Supabase's anon
		 * reads lookup tables): only tenant tables are findings. */
		for (size_t j = 0; anon && !all && !defaults && j < g->n_objects; j++)
			if (NODE(g->objects[j], RANGE_VAR)) {
				char *ok = lint_key(g->objects[j]->range_var);
				if (is_tenant(l, ok, 0) && !key)
					key = ok;
				else
					free(ok);
			}
		if (anon && !key && !all && !defaults)
			continue;
		if (!key && !all && !defaults && g->n_objects && NODE(g->objects[0], RANGE_VAR))
			key = lint_key(g->objects[0]->range_var);
		lint_report(l, "grant_to_public", lint_at(l, r->location), key, "%s to %s%s: every role %s gets it",
			    defaults ? "a default privilege on future tables" : all ? "a privilege on every table of a schema"
										 : "a privilege on a table",
			    pub ? "PUBLIC" : r->rolename, anon ? " (tenancy.anon_roles)" : "",
			    pub ? "there is, and every one made later," : "the API lets anyone act as");
		free(key);
	}
}

/* ---- views ---- */

static int collect_read(void *ctx, const ProtobufCMessage *m)
{
	struct lint_view *v = ctx;
	char *key;

	if (m->descriptor != &pg_query__range_var__descriptor)
		return 0;
	key = lint_key((const PgQuery__RangeVar *)m);
	if (!gm_strlist_has(&v->reads, key))
		gm_strlist_add(&v->reads, key);
	free(key);
	return 0;
}

static void view(struct lint *l, const PgQuery__RangeVar *rv, const PgQuery__Node *query, int materialized,
		 int invoker)
{
	struct lint_view *v;

	if (!rv || !query || !exposed(l, rv) || (rv->relpersistence && !strcmp(rv->relpersistence, "t")))
		return;
	l->views = gm_xrealloc(l->views, (l->nviews + 1) * sizeof(*l->views));
	v = &l->views[l->nviews++];
	memset(v, 0, sizeof(*v));
	v->key = lint_key(rv);
	v->stmt = (size_t)(l->cur - l->stmts);
	v->loc = lint_at(l, rv->location);
	v->materialized = materialized;
	v->invoker = invoker;
	gm_pgtree_walk_msgs(&query->base, collect_read, v);
}

/* What can take isolation from tenant rows: turning RLS off or unforced,
 * and dropping, changing or adding policies.  A description, or NULL. */
static const char *isolation_change(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (size_t k = 0; k < n->alter_table_stmt->n_cmds; k++) {
			const PgQuery__Node *c = n->alter_table_stmt->cmds[k];
			if (NODE(c, ALTER_TABLE_CMD) &&
			    (c->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DisableRowSecurity ||
			     c->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_NoForceRowSecurity))
				return "turns row level security off or unforced";
			if (NODE(c, ALTER_TABLE_CMD) && c->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_ChangeOwner)
				return "gives the table another owner (an owner bypasses policies not forced)";
		}
		return NULL;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		return n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_POLICY ? "drops a policy" : NULL;
	case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
		return "changes a policy";
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
		return "adds a policy";
	default:
		return NULL;
	}
}

void lint_rls_stmt(struct lint *l)
{
	const PgQuery__Node *n = l->cur->node;
	const char *change;

	/* up's isolation guard checks, in a migration's own transaction, that
	 * no tenant row loses its isolation; a no-transaction migration has
	 * none to check in, and nothing here needs to run outside one. */
	if (!l->cur->m->transactional && (change = isolation_change(n)))
		lint_report(l, "isolation_change_without_transaction", lint_at(l, -1), NULL,
			    "the statement %s in a no-transaction migration, where up's isolation guard cannot check"
			    " that no tenant row loses its isolation", change);

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		create_table(l, n->create_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		alter_table(l, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		drop_tables(l, n->drop_stmt);
		break;
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
		create_policy(l, n->create_policy_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
		alter_policy(l, n->alter_policy_stmt);
		break;
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
		create_function(l, n->create_function_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT:
		alter_function(l, n->alter_function_stmt);
		break;
	case PG_QUERY__NODE__NODE_GRANT_STMT:
		grant(l, n->grant_stmt, 0);
		break;
	case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
		if (n->alter_default_privileges_stmt->action)
			grant(l, n->alter_default_privileges_stmt->action, 1);
		break;
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		view(l, n->view_stmt->view, n->view_stmt->query, 0,
		     lint_option_true(n->view_stmt->options, n->view_stmt->n_options, "security_invoker"));
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (!n->create_table_as_stmt->into || !n->create_table_as_stmt->into->rel)
			break;
		if (n->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW)
			view(l, n->create_table_as_stmt->into->rel, n->create_table_as_stmt->query, 1, 0);
		else	/* CREATE TABLE AS: a table like any other; its columns are the query's */
			new_table(l, n->create_table_as_stmt->into->rel);
		break;
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		if (n->select_stmt->into_clause && n->select_stmt->into_clause->rel)
			new_table(l, n->select_stmt->into_clause->rel);
		break;
	default:
		break;
	}
}

/* ---- at the end of the run ---- */

/* ENABLE and FORCE ROW LEVEL SECURITY in the project's later migrations
 * that this run does not apply (up --to): the tables they cover are not
 * left without RLS for good.  Only ALTER TABLE statements are parsed. */
static void later_alter(void *ctx, const struct gm_migration *m, const struct gm_sql_stmt *st,
			const PgQuery__Node *stmt)
{
	(void)m;
	(void)st;
	if (NODE(stmt, ALTER_TABLE_STMT))
		alter_table(ctx, stmt->alter_table_stmt);
}

static void later_migrations(struct lint *l)
{
	static const char *const table[] = { "TABLE", NULL };

	outside_run(l, 0, "ALTER", table, later_alter, l);
}

static int protected(const struct lint *l, const char *key)
{
	const struct lint_rel *r = lint_rel_get(l, key);

	return gm_strlist_has(&l->rls_enabled, key) || is_tenant(l, key, 0) || (r && r->found && (r->rls || r->tenant));
}

static const char *why(const struct lint *l, const char *key)
{
	const struct lint_rel *r = lint_rel_get(l, key);

	return gm_strlist_has(&l->rls_enabled, key) || (r && r->found && r->rls) ? "which has Row-Level Security"
										   : "a tenant table";
}

static void judge_views(struct lint *l)
{
	for (size_t k = 0; k < l->nviews; k++) {
		const struct lint_view *v = &l->views[k];
		if (v->invoker && !v->materialized)
			continue;
		for (size_t j = 0; j < v->reads.n; j++) {
			if (!protected(l, v->reads.v[j]))
				continue;
			if (v->materialized)
				lint_report_at(l, &l->stmts[v->stmt], "view_without_security_invoker", v->loc, v->key,
					       "materialized view %s copies the rows of %s, %s: no policy applies to the"
					       " copy, every reader sees every tenant's rows", v->key, v->reads.v[j], why(l, v->reads.v[j]));
			else
				lint_report_at(l, &l->stmts[v->stmt], "view_without_security_invoker", v->loc, v->key,
					       "view %s reads %s, %s, without security_invoker: it reads as its owner, past"
					       " the policies", v->key, v->reads.v[j], why(l, v->reads.v[j]));
			break;
		}
	}
}

void lint_rls_end(struct lint *l)
{
	later_migrations(l);
	for (size_t k = 0; k < l->ntables; k++) {
		const struct lint_table *t = &l->tables[k];
		const struct lint_stmt *s = &l->stmts[t->stmt];
		if (!t->exposed || t->temp || t->dropped || table_find(l, t->key) != t)
			continue;
		if (!gm_strlist_has(&l->rls_enabled, t->key) && is_tenant(l, t->key, 0))
			lint_report_at(l, s, "tenant_table_without_rls", t->loc, t->key,
				       "tenant table %s is created in an exposed schema and no migration enables Row-Level"
				       " Security on it: every tenant reads every tenant's rows", t->key);
		else if (!gm_strlist_has(&l->rls_enabled, t->key))
			lint_report_at(l, s, "create_table_without_rls", t->loc, t->key,
				       "table %s is created in an exposed schema, is not declared global and no migration"
				       " enables Row-Level Security on it: every role the API lets in reads every row", t->key);
		else if (is_tenant(l, t->key, 0) && !gm_strlist_has(&l->rls_forced, t->key))
			lint_report_at(l, s, "create_table_rls_not_forced", t->loc, t->key,
				       "tenant table %s gets Row-Level Security but no migration forces it: an application"
				       " connected as its owner bypasses every policy", t->key);
	}
	judge_views(l);
}
