/* lint_links.c - verify's RLS lint of the tables a tenant table's policies
 * let rows in through.
 *
 * "id IN (SELECT f.note_id FROM note_follows f WHERE f.tenant_id =
 * auth.uid())" binds a note to the tenant through note_follows: the note
 * is the tenant's when a row of the tenant's there names it.  That holds
 * only when the tenant cannot write such a row for another tenant's note.
 * It cannot when the row's column is a foreign key to a unique column
 * there (build_logs.order_id REFERENCES custom_agent_orders (id): the
 * order that key names exists once, and is its own tenant's).  Otherwise
 * a role that may INSERT or UPDATE the table can point a row of its own at
 * any key, and the policy lets it in (it_tenancy shows tenant B reading and
 * overwriting A's note so).  Whether the table's own write policies keep
 * the column to the writer's rows is beyond a static reading: a warning,
 * which --strict fails on. */
#include "gm_error.h"
#include "gm_lint.h"
#include "gm_model.h"
#include "gm_pgtree.h"
#include "gm_policy.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"

#include <stdlib.h>
#include <string.h>

#define NODE(n, kind) ((n) && (n)->node_case == PG_QUERY__NODE__NODE_##kind)

/* The one column (a String node's) of a list of them, or NULL. */
static const char *only_name(PgQuery__Node *const *v, size_t n)
{
	return n == 1 && NODE(v[0], STRING) ? v[0]->string->sval : NULL;
}

/* Whether the definition (pg_get_indexdef's) is a unique index on column
 * alone, over every row (a partial one leaves rows out). */
static int unique_on(const char *def, const char *column)
{
	struct gm_pgtree t;
	size_t cursor;
	char *why = gm_pgtree_parse(def, &t, &cursor);
	const PgQuery__Node *st = why ? NULL : gm_pgtree_stmt(&t);
	int yes = 0;

	if (NODE(st, INDEX_STMT) && st->index_stmt->unique && !st->index_stmt->where_clause &&
	    st->index_stmt->n_index_params == 1 && NODE(st->index_stmt->index_params[0], INDEX_ELEM) &&
	    st->index_stmt->index_params[0]->index_elem->name)
		yes = !strcmp(st->index_stmt->index_params[0]->index_elem->name, column);
	free(why);
	gm_pgtree_free(&t);
	return yes;
}

/* Whether the definition (pg_get_constraintdef's) is a foreign key of
 * column alone to column to (the referenced table is checked apart). */
static int foreign_key_of(const char *def, const char *column, const char *to)
{
	struct gm_pgtree t;
	const PgQuery__Constraint *c = gm_pgtree_foreign_key(def, &t);
	const char *fk = c ? only_name(c->fk_attrs, c->n_fk_attrs) : NULL;
	const char *pk = c ? only_name(c->pk_attrs, c->n_pk_attrs) : NULL;
	int yes = fk && pk && !strcmp(fk, column) && !strcmp(pk, to);

	gm_pgtree_free(&t);
	return yes;
}

/* Whether object (a fact's) is "<prefix><something>" of table. */
static int part_of(const char *object, const char *table, const char *part)
{
	size_t n = strlen(table), p = strlen(part);

	return !strncmp(object, table, n) && !strncmp(object + n, part, p);
}

/* Whether a row of table (the policy's) whose row column holds a key can
 * only be let in by the one row of linked that has it: a foreign key from
 * row to a unique column of linked. */
static int key_held_once(const struct gm_model *m, const char *table, const char *row, const char *linked,
			 const char *column)
{
	char *t = gm_xasprintf("table %s", table), *l = gm_xasprintf("table %s", linked);
	int fk = 0, unique = 0;

	for (size_t k = 0; k < m->n && row && !(fk && unique); k++) {
		const struct gm_fact *f = &m->v[k];
		if (!strcmp(f->attr, "definition") && part_of(f->object, t, " constraint ") &&
		    !strcmp(gm_model_get(m, f->object, "references") ? gm_model_get(m, f->object, "references") : "", linked))
			fk = fk || foreign_key_of(f->value, row, column);
		if (!strcmp(f->attr, "definition") && part_of(f->object, l, " index "))
			unique = unique || unique_on(f->value, column);
	}
	free(t);
	free(l);
	return fk && unique;
}

struct judging {
	const struct gm_model *m;
	const struct gm_policy_judge *judge;	/* NULL: definers are not judged */
	const char *table;	/* "public.notes": the policy's */
	const char *policy;	/* "table public.notes policy p": the finding's object */
	struct gm_strlist seen;	/* "relation.column" already told for this policy */
	struct gm_findings *out;
};

/* "s.name" of the model's table for relation as a policy prints it:
 * with its schema, or without when it is one of the model's schemas. */
static char *find_relation(const struct gm_model *m, const char *schema, const char *relation)
{
	for (size_t k = 0; k < (schema ? 1 : m->nschemas); k++) {
		char *name = gm_xasprintf("%s.%s", schema ? schema : m->schemas[k], relation);
		char *table = gm_xasprintf("table %s", name);
		int found = gm_model_get(m, table, "row_security") != NULL;

		free(table);
		if (found)
			return name;
		free(name);
	}
	return NULL;
}

/* Whether the policies of linked (with row-level security on) let any
 * row be written: none permissive for ALL, INSERT or UPDATE, none can,
 * whatever is granted. */
static int policies_let_write(const struct gm_model *m, const char *linked)
{
	char *table = gm_xasprintf("table %s", linked), *prefix = gm_xasprintf("table %s policy ", linked);
	const char *rls = gm_model_get(m, table, "row_security");
	int yes = !rls || strcmp(rls, "enabled");

	for (size_t k = 0; k < m->n && !yes; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *permissive;
		if (strncmp(f->object, prefix, strlen(prefix)) || strcmp(f->attr, "command") ||
		    !(!strcmp(f->value, "ALL") || !strcmp(f->value, "INSERT") || !strcmp(f->value, "UPDATE")))
			continue;
		permissive = gm_model_get(m, f->object, "permissive");
		yes = !permissive || !strcmp(permissive, "PERMISSIVE");
	}
	free(table);
	free(prefix);
	return yes;
}

/* The grantee of a privileges fact of linked that may write it: the
 * table's grants and its columns' ("table s.t column c grant r"); NULL
 * for any other fact. */
static const char *writer(const struct gm_fact *f, const char *linked)
{
	const char *rest, *g;

	if (strcmp(f->attr, "privileges") || strncmp(f->object, "table ", 6) || strncmp(f->object + 6, linked, strlen(linked)))
		return NULL;
	rest = f->object + 6 + strlen(linked);	/* within the object: its prefix matched */
	if ((strncmp(rest, " grant ", 7) && strncmp(rest, " column ", 8)) || !(g = strstr(rest, " grant ")) ||
	    !(strstr(f->value, "INSERT") || strstr(f->value, "UPDATE")))
		return NULL;
	return g + strlen(" grant ");
}

/* A SECURITY DEFINER function that writes linked (its owner's rights, a
 * row of the caller's naming any key: an "accept the invitation" that
 * takes the organization as an argument) is a writer as a grant is, and
 * with no grant to take away. */
static void definer_writes(struct judging *g, const char *linked, const char *key)
{
	char *why = NULL, *fn;

	if (gm_strlist_has(&g->seen, key) || !(fn = gm_lint_definer_writing(g->m, g->judge, linked, &why)))
		return;
	gm_strlist_add(&g->seen, key);
	gm_findings_add(g->out, GM_CHECK_RLS, "policy_link_writable", GM_LEVEL_WARNING, g->policy,
		"let the function write only rows whose column names a row of the caller's tenant, or make it SECURITY"
		" INVOKER (the table's own policies then apply), or REVOKE EXECUTE on it from PUBLIC and the API's roles",
		"lets a row in when a row of the tenant's in %s names it (%s), and SECURITY DEFINER function %s writes"
		" %s as its owner (%s): whoever may call it can name another tenant's row there", linked, key, fn,
		linked, why ? why : "a write");
	free(fn);
	free(why);
}

static void link(void *ctx, const char *schema, const char *relation, const char *column, const char *row)
{
	struct judging *g = ctx;
	char *linked = find_relation(g->m, schema, relation), *key, *remedy;
	const char *who;

	if (!linked && schema && !gm_model_has_schema(g->m, schema) && strcmp(schema, "pg_catalog")) {
		/* A table of a schema verify does not read: whether a role may
		 * write it cannot be told here. */
		char *where = gm_xasprintf("%s.%s.%s", schema, relation, column);
		if (!gm_strlist_has(&g->seen, where)) {
			gm_strlist_add(&g->seen, where);
			gm_findings_add(g->out, GM_CHECK_RLS, "policy_link_writable", GM_LEVEL_WARNING, g->policy,
				"add the schema to tenancy.schemas so that verify reads the table, or bind the policy to the"
				" tenant by the row's own tenant column",
				"lets a row in when a row of the tenant's in %s.%s names it (%s), in a schema verify does not"
				" read: whoever may write it can name another tenant's row", schema, relation, column);
		}
		free(where);
		return;
	}
	if (!linked || !strcmp(linked, g->table) || key_held_once(g->m, g->table, row, linked, column)) {
		free(linked);
		return;
	}
	key = gm_xasprintf("%s.%s", linked, column);
	/* A definer's owner may pass linked's policies: before they count. */
	definer_writes(g, linked, key);
	for (size_t k = policies_let_write(g->m, linked) ? 0 : g->m->n; k < g->m->n && !gm_strlist_has(&g->seen, key); k++) {
		const struct gm_fact *f = &g->m->v[k];
		if (!(who = writer(f, linked)))
			continue;
		gm_strlist_add(&g->seen, key);
		remedy = gm_xasprintf("let a tenant write only rows there whose %s names a row of its own (a WITH CHECK"
				      " on %s), or take INSERT and UPDATE on %s from %s", column, linked, linked, who);
		gm_findings_add(g->out, GM_CHECK_RLS, "policy_link_writable", GM_LEVEL_WARNING, g->policy, remedy,
				"lets a row in when a row of the tenant's in %s names it (%s), and %s may write %s"
				" (%s): a row of its own there can name another tenant's row", linked, key, who, linked,
				f->value);
		free(remedy);
	}
	free(key);
	free(linked);
}

/* Each policy of each tenant table: the tables its USING and WITH CHECK
 * let rows in through (gm_policy_links). */
void gm_lint_policy_links(const struct gm_model *m, const struct gm_policy_judge *judge, char **tenants,
			  size_t ntenants, struct gm_findings *out)
{
	struct judging g = { m, judge, NULL, NULL, { NULL, 0 }, out };

	for (size_t t = 0; t < ntenants; t++) {
		char *prefix = gm_xasprintf("table %s policy ", tenants[t]);

		g.table = tenants[t];
		for (size_t k = 0; k < m->n; k++) {
			const struct gm_fact *f = &m->v[k];
			if (strncmp(f->object, prefix, strlen(prefix)) || (strcmp(f->attr, "using") && strcmp(f->attr, "with_check")) ||
			    !*f->value)
				continue;
			if (!g.policy || strcmp(g.policy, f->object)) {	/* once a policy, for its USING and CHECK */
				gm_strlist_release(&g.seen);
				g.policy = f->object;
			}
			gm_policy_links(f->value, link, &g);
		}
		free(prefix);
	}
	gm_strlist_release(&g.seen);
}
