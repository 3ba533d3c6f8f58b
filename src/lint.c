/* lint.c - RLS lints on a model of the live schema.
 *
 * They look for the ways tenant isolation is lost in practice: RLS off or
 * not forced, policies that do nothing, several permissive policies that
 * OR together, write policies with a branch not bound to the tenant (the
 * original spec's public-row hole), current_setting() that errors when the
 * tenant is unset, and the indexes tenant queries and cascades need. */
#include "gm_error.h"
#include "gm_pgtree.h"
#include "gm_policy.h"
#include "gm_tenancy.h"
#include "gm_lint.h"

#include <stdlib.h>
#include <string.h>

/* What every lint reads: the tenancy's names, the policy judge made from
 * its expression (NULL when that does not parse: reported once), and
 * where findings go. */
struct lint {
	const struct gm_tenancy *tenancy;
	struct gm_policy_judge *judge;
	struct gm_findings *out;
	const struct gm_model *m;	/* what the tables do not gather (column types) */
};

struct policy {
	const char *name, *cmd, *permissive, *roles, *using, *check;
};

struct fk {
	const char *name, *columns, *references, *def;
};

/* A grant of the table's, or of one of its columns (column set). */
struct grant {
	const char *role, *privileges;
	char *column;
};

struct index {
	const char *name, *columns, *valid, *def;
};

struct table {
	char *name;			/* "public.orders" */
	const char *rls, *force;
	int real;			/* has facts of its own (not only a grant's) */
	int has_org;
	int tenant;
	struct policy *pol;
	size_t npol;
	struct fk *fk;
	size_t nfk;
	struct index *idx;
	size_t nidx;
	struct grant *gr;
	size_t ngr;
};

struct tables {
	struct table *v;
	size_t n;
};

static struct table *table_get(struct tables *t, const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < t->n; k++)
		if (strlen(t->v[k].name) == len && memcmp(t->v[k].name, name, len) == 0)
			return &t->v[k];
	t->v = gm_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].name = gm_xstrndup(name, len);
	return &t->v[t->n++];
}

#define GROW(arr, n) ((arr) = gm_xrealloc((arr), ((n) + 1) * sizeof(*(arr))), memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

static const char *const kinds[] = { " column ", " constraint ", " index ", " policy ", " trigger ", " grant ",
				     " rule " };

/* The kind at p ("column " ...), or NULL. */
static const char *kind_at(const char *p)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strncmp(p, kinds[k], strlen(kinds[k])))
			return kinds[k] + 1;
	return NULL;
}

/* Splits "table S.T <kind> <name>" and finds (or makes) the table.  Names
 * are not quoted in facts, and a table may be called "orders column x":
 * the table is the longest one already known (from its own facts, which
 * every table has) that the object starts with and that a kind follows;
 * only an unknown table is cut at the first kind. */
static int table_attr(const char *attr)
{
	return !strcmp(attr, "row_security") || !strcmp(attr, "force_row_security");
}

static struct table *parse_object(struct tables *t, const char *object, const char *attr,
				  const char **kind, const char **name)
{
	const char *rest = object + strlen("table "), *best = NULL;
	struct table *known = NULL;
	size_t k, n;

	*kind = *name = NULL;
	for (k = 0; k < t->n; k++) {
		n = strlen(t->v[k].name);
		/* "table public.orders column x" is the table "orders column x"
		 * for its RLS flags, column x of orders for a column's. */
		if (t->v[k].real && !strncmp(rest, t->v[k].name, n) && (!known || n > strlen(known->name)) &&
		    (rest[n] ? kind_at(rest + n) != NULL : table_attr(attr)))
			known = &t->v[k];
	}
	if (known) {
		n = strlen(known->name);
		if (rest[n]) {
			*kind = kind_at(rest + n);
			*name = rest + n + 1 + strlen(*kind);	/* past " <kind> " */
		}
		return known;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *p = strstr(rest, kinds[k]);
		if (p && (!best || p < best)) {
			best = p;
			*kind = kinds[k] + 1;
		}
	}
	if (!best)
		return table_get(t, rest, strlen(rest));
	*name = strchr(best + 1, ' ') + 1;
	return table_get(t, rest, (size_t)(best - rest));
}

/* Gathers the facts of every table; pointers stay into the model.  The
 * tables themselves first (their RLS flags, facts of "table S.T" alone),
 * so that parse_object knows their whole names. */
static void collect(const struct gm_model *m, const struct gm_tenancy *ten, struct tables *t)
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		if (!strncmp(f->object, "table ", 6) && table_attr(f->attr))
			table_get(t, f->object + 6, strlen(f->object + 6))->real = 1;
	}
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *kind, *name;
		struct table *tb;

		if (strncmp(f->object, "table ", 6) != 0)
			continue;
		tb = parse_object(t, f->object, f->attr, &kind, &name);
		if (!kind) {
			tb->real = 1;
			if (!strcmp(f->attr, "row_security"))
				tb->rls = f->value;
			else if (!strcmp(f->attr, "force_row_security"))
				tb->force = f->value;
		} else if (!strncmp(kind, "column ", 7)) {
			const char *sp = strchr(name, ' ');
			char *col = sp ? gm_xstrndup(name, (size_t)(sp - name)) : gm_xstrdup(name);
			if (gm_strlist_has(&ten->columns, col))
				tb->has_org = 1;
			if (sp && !strncmp(sp, " grant ", 7) && !strcmp(f->attr, "privileges")) {
				struct grant *g = GROW(tb->gr, tb->ngr);
				g->role = sp + 7;
				g->privileges = f->value;
				g->column = col;
				col = NULL;
			}
			free(col);
		} else if (!strncmp(kind, "grant ", 6)) {
			if (!strcmp(f->attr, "privileges")) {
				struct grant *g = GROW(tb->gr, tb->ngr);
				g->role = name;
				g->privileges = f->value;
			}
		} else if (!strncmp(kind, "policy ", 7)) {
			struct policy *p = tb->npol && !strcmp(tb->pol[tb->npol - 1].name, name)
						   ? &tb->pol[tb->npol - 1] : GROW(tb->pol, tb->npol);
			p->name = name;
			if (!strcmp(f->attr, "command")) p->cmd = f->value;
			else if (!strcmp(f->attr, "permissive")) p->permissive = f->value;
			else if (!strcmp(f->attr, "roles")) p->roles = f->value;
			else if (!strcmp(f->attr, "using")) p->using = f->value;
			else if (!strcmp(f->attr, "with_check")) p->check = f->value;
		} else if (!strncmp(kind, "constraint ", 11)) {
			struct fk *c = tb->nfk && !strcmp(tb->fk[tb->nfk - 1].name, name)
					       ? &tb->fk[tb->nfk - 1] : GROW(tb->fk, tb->nfk);
			c->name = name;
			if (!strcmp(f->attr, "columns")) c->columns = f->value;
			else if (!strcmp(f->attr, "references")) c->references = f->value;
			else if (!strcmp(f->attr, "definition")) c->def = f->value;
		} else if (!strncmp(kind, "index ", 6)) {
			struct index *x = tb->nidx && !strcmp(tb->idx[tb->nidx - 1].name, name)
						  ? &tb->idx[tb->nidx - 1] : GROW(tb->idx, tb->nidx);
			x->name = name;
			if (!strcmp(f->attr, "columns")) x->columns = f->value;
			else if (!strcmp(f->attr, "valid")) x->valid = f->value;
			else if (!strcmp(f->attr, "definition")) x->def = f->value;
		}
	}
}

static void release(struct tables *t)
{
	size_t k;

	for (k = 0; k < t->n; k++) {
		free(t->v[k].name);
		free(t->v[k].pol);
		free(t->v[k].fk);
		free(t->v[k].idx);
		for (size_t g = 0; g < t->v[k].ngr; g++)
			free(t->v[k].gr[g].column);
		free(t->v[k].gr);
	}
	free(t->v);
}

/* Tenant tables: a tenant column, or a foreign key to a tenant table. */
static void mark_tenants(struct tables *t)
{
	size_t k, j;
	int changed = 1;

	for (k = 0; k < t->n; k++)
		t->v[k].tenant = t->v[k].has_org;
	while (changed) {
		changed = 0;
		for (k = 0; k < t->n; k++) {
			if (t->v[k].tenant)
				continue;
			for (j = 0; j < t->v[k].nfk; j++) {
				const char *ref = t->v[k].fk[j].references;
				struct table *r = NULL;
				for (size_t i = 0; ref && i < t->n; i++)
					if (!strcmp(t->v[i].name, ref))
						r = &t->v[i];
				if (r && r->tenant) {
					t->v[k].tenant = changed = 1;
					break;
				}
			}
		}
	}
}

/* The first OR branch of expr not bound to the tenant, judged on its parse
 * tree (gm_policy.h); caller frees.  NULL when every branch is. */
static char *unbound_branch(const struct lint *l, const char *expr, int *unparsed)
{
	char *branch = NULL;

	*unparsed = 0;
	if (!expr || !*expr || !l->judge)
		return NULL;
	switch (gm_policy_judge(l->judge, expr, &branch)) {
	case GM_BOUND:
		return NULL;
	case GM_UNPARSED:
		*unparsed = 1;
		return branch;
	default:
		return branch;
	}
}

static int is_write(const char *cmd)
{
	return cmd && (!strcmp(cmd, "ALL") || !strcmp(cmd, "UPDATE") || !strcmp(cmd, "DELETE") ||
		       !strcmp(cmd, "INSERT"));
}

static void lint_write_policies(const struct lint *l, const struct table *tb)
{
	size_t k;

	for (k = 0; k < tb->npol; k++) {
		const struct policy *p = &tb->pol[k];
		char *bad, *obj, *fix;
		const char *where = "USING";
		int unparsed;

		if (!is_write(p->cmd) || !p->permissive || strcmp(p->permissive, "PERMISSIVE"))
			continue;
		bad = unbound_branch(l, p->using, &unparsed);
		if (!bad) {
			bad = unbound_branch(l, p->check, &unparsed);
			where = "WITH CHECK";
		}
		if (!bad)
			continue;
		obj = gm_xasprintf("table %s policy %s", tb->name, p->name);
		fix = gm_xasprintf("bind every OR branch of a write policy to the tenant (a tenant column = %s);"
				   " keep shared-row reads in a separate FOR SELECT policy", l->tenancy->expression);
		if (unparsed)
			gm_findings_add(l->out, GM_CHECK_RLS, "policy_not_analysed", GM_LEVEL_WARNING, obj,
				"report it: the expression is as the server prints it, and should parse",
				"%s policy's %s cannot be analysed: %s", p->cmd, where, bad);
		else
			gm_findings_add(l->out, GM_CHECK_RLS, "write_policy_not_tenant_bound", GM_LEVEL_ERROR, obj, fix,
				"%s policy's %s has a branch not bound to the tenant: %s (any tenant can write rows it matches)",
				p->cmd, where, bad);
		free(fix);
		free(obj);
		free(bad);
	}
}

/* A permissive FOR SELECT policy lets a tenant read what each OR branch
 * of its USING matches: every branch bound to the tenant, or limited to
 * shared rows (a public-read column).  "OR status = 'archived'" reads
 * every tenant's archived rows, which the probe's fixtures may not hold.
 * A warning: read policies legitimately call membership functions and
 * compare owners, which the judge cannot see into (--strict fails on it). */
static void lint_read_policies(const struct lint *l, const struct table *tb)
{
	size_t k;

	for (k = 0; k < tb->npol; k++) {
		const struct policy *p = &tb->pol[k];
		char *bad = NULL, *obj;
		enum gm_bound verdict;

		if (!p->cmd || strcmp(p->cmd, "SELECT") || !p->permissive || strcmp(p->permissive, "PERMISSIVE") ||
		    !p->using || !*p->using || !l->judge)
			continue;
		if ((verdict = gm_policy_judge_read(l->judge, p->using, &bad)) == GM_BOUND)
			continue;
		obj = gm_xasprintf("table %s policy %s", tb->name, p->name);
		if (verdict == GM_UNPARSED)
			gm_findings_add(l->out, GM_CHECK_RLS, "policy_not_analysed", GM_LEVEL_WARNING, obj,
				"report it: the expression is as the server prints it, and should parse",
				"SELECT policy's USING cannot be analysed: %s", bad);
		else
			gm_findings_add(l->out, GM_CHECK_RLS, "read_policy_not_tenant_bound", GM_LEVEL_WARNING, obj,
				"bind every OR branch to the tenant, or limit it to shared rows with a column of"
				" tenancy.public_read_columns",
				"SELECT policy's USING has a branch neither bound to the tenant nor limited to shared rows: %s"
				" (any tenant can read the rows it matches)", bad);
		free(obj);
		free(bad);
	}
}

/* Does p apply, permissively, to cmd for exactly these roles? */
static int permits(const struct policy *p, const char *cmd, const char *roles)
{
	return p->permissive && !strcmp(p->permissive, "PERMISSIVE") && p->cmd &&
	       (!strcmp(p->cmd, cmd) || !strcmp(p->cmd, "ALL")) && p->roles && roles &&
	       !strcmp(p->roles, roles);
}

/* Counts permissive policies per (command, role); ALL counts for each. */
static void lint_multiple_permissive(const struct table *tb, struct gm_findings *out)
{
	/* (Independent of the tenancy: any OR-ed permissive pair.) */
	static const char *const cmds[] = { "SELECT", "INSERT", "UPDATE", "DELETE" };
	size_t c, k, j, count;

	for (c = 0; c < 4; c++) {
		for (k = 0; k < tb->npol; k++) {
			const struct policy *p = &tb->pol[k];
			if (!permits(p, cmds[c], p->roles))
				continue;
			/* Report once per (command, roles): at the first. */
			for (j = 0; j < k && !permits(&tb->pol[j], cmds[c], p->roles); j++)
				;
			if (j < k)
				continue;
			for (count = 0, j = 0; j < tb->npol; j++)
				count += permits(&tb->pol[j], cmds[c], p->roles);
			if (count > 1) {
				char *obj = gm_xasprintf("table %s", tb->name);
				gm_findings_add(out, GM_CHECK_RLS, "multiple_permissive_policies", GM_LEVEL_WARNING, obj,
					"merge them into one policy per command and role, so no branch widens access unnoticed",
					"%zu permissive policies apply to %s for role %s; they are OR-ed together",
					count, cmds[c], p->roles);
				free(obj);
			}
		}
	}
}

/* current_setting('x') with one argument raises when x is unset. */
static const char *one_arg_current_setting(const char *s)
{
	const char *p = s;

	while (s && (p = strstr(p, "current_setting("))) {
		int depth = 1, commas = 0, quote = 0;
		const char *q = p + strlen("current_setting(");
		for (; *q && depth > 0; q++) {
			if (quote) {
				if (*q == quote)
					quote = 0;
			} else if (*q == '\'') {
				quote = '\'';
			} else if (*q == '(') {
				depth++;
			} else if (*q == ')') {
				depth--;
			} else if (*q == ',' && depth == 1) {
				commas++;
			}
		}
		if (commas == 0)
			return p;
		p++;
	}
	return NULL;
}

static void lint_current_setting(const struct lint *l, const struct gm_model *m)
{
	struct gm_findings *out = l->out;
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		int policy = strstr(f->object, " policy ") && (!strcmp(f->attr, "using") || !strcmp(f->attr, "with_check"));
		int function = !strncmp(f->object, "function ", 9) && !strcmp(f->attr, "definition");
		if ((policy || function) && one_arg_current_setting(f->value))
			gm_findings_add(out, GM_CHECK_RLS, "current_setting_one_argument", GM_LEVEL_ERROR, f->object,
				"use current_setting(name, true), which is NULL when the setting is unset",
				"uses current_setting() with one argument, which raises an error when the setting is unset");
	}
}

/* Is there an index whose leading columns are exactly the FK's columns? */
static int fk_covered(const struct table *tb, const char *cols)
{
	size_t k, n = strlen(cols);

	for (k = 0; k < tb->nidx; k++) {
		const char *ic = tb->idx[k].columns;
		if (ic && !strncmp(ic, cols, n) && (ic[n] == '\0' || ic[n] == ','))
			return 1;
	}
	return 0;
}

/* Whether the table lies in a schema the tenancy exposes. */
static int exposed(const struct lint *l, const struct table *tb, const char **bare)
{
	for (size_t k = 0; k < l->tenancy->schemas.n; k++) {
		size_t n = strlen(l->tenancy->schemas.v[k]);
		if (!strncmp(tb->name, l->tenancy->schemas.v[k], n) && tb->name[n] == '.') {
			*bare = tb->name + n + 1;
			return 1;
		}
	}
	return 0;
}

/* Whether a policy's roles (", "-separated, as pg_policies prints them:
 * unquoted, so a name may hold a space) name role. */
static int role_listed(const char *roles, const char *role)
{
	size_t n = strlen(role);

	for (const char *p = roles ? roles : "public"; p; p = strstr(p, ", "), p = p ? p + 2 : NULL)
		if (!strncmp(p, role, n) && (p[n] == '\0' || !strncmp(p + n, ", ", 2)))
			return 1;
	return 0;
}

/* Whether a policy's roles take in every role, or an anonymous one of
 * the tenancy: a policy TO service_role is that role's business. */
static int for_anyone(const struct lint *l, const char *roles)
{
	if (role_listed(roles, "public"))
		return 1;
	for (size_t k = 0; k < l->tenancy->anon_roles.n; k++)
		if (role_listed(roles, l->tenancy->anon_roles.v[k]))
			return 1;
	return 0;
}

typedef int (*admits_fn)(const struct lint *l, const char *roles, const char *role);

/* The first permissive policy of t for cmd (or ALL) whose roles admit
 * role, with a branch that lets every row through (gm_policy_open_branch:
 * USING (true), (1 = 1), (auth.uid() IS NOT NULL)), when no restrictive
 * one of theirs narrows it: row-level security that hides nothing.  Its
 * index, with *branch the open branch (caller frees); or -1. */
static long hides_nothing(const struct lint *l, const struct table *t, const char *cmd, admits_fn admits,
			  const char *role, char **branch)
{
	long open = -1;

	*branch = NULL;
	for (size_t k = 0; k < t->npol && l->judge; k++) {
		const struct policy *p = &t->pol[k];
		char *b;
		if (!p->cmd || (strcmp(p->cmd, cmd) && strcmp(p->cmd, "ALL")) || !admits(l, p->roles, role) || !p->using)
			continue;
		b = gm_policy_open_branch(l->judge, p->using);
		if (p->permissive && !strcmp(p->permissive, "RESTRICTIVE")) {
			free(b);
			if (!b) {
				free(*branch);
				*branch = NULL;
				return -1;	/* it narrows the rest */
			}
		} else if (open < 0 && b) {
			open = (long)k;
			*branch = b;
		} else {
			free(b);
		}
	}
	return open;
}

static int for_anyone_admits(const struct lint *l, const char *roles, const char *role)
{
	(void)role;
	return for_anyone(l, roles);
}

/* A policy for anyone's reads that hides nothing (hides_nothing). */
static long open_policy(const struct lint *l, const struct table *tb, char **branch)
{
	return hides_nothing(l, tb, "SELECT", for_anyone_admits, NULL, branch);
}

/* Every table of an exposed schema gets a verdict: a tenant table is
 * checked elsewhere; a declared global one is left as declared; any other
 * without RLS, or with RLS that hides nothing, is an error, as every role
 * the API lets in reads all of it (Supabase's rls_disabled_in_public). */
static void lint_undeclared(const struct lint *l, const struct table *tb, const char *obj, int rls)
{
	const char *bare = NULL;
	char *branch = NULL, *schema;
	long open = rls ? open_policy(l, tb, &branch) : -1;

	if (!tb->real || tb->tenant || (rls && open < 0) || !exposed(l, tb, &bare)) {
		free(branch);
		return;
	}
	schema = gm_xstrndup(tb->name, (size_t)(bare - tb->name - 1));
	if (gm_tenancy_is_global(l->tenancy, schema, bare))
		;
	else if (open >= 0)
		gm_findings_add(l->out, GM_CHECK_RLS, "rls_disabled_in_exposed_schema", GM_LEVEL_ERROR, obj,
			"give it a tenant column and tenant policies, or policies that do not let every row through,"
			" or declare it in tenancy.global_tables of garage-migrate.yaml",
			"table in exposed schema %s has row level security, but policy %s lets every row be read"
			" (%s does not look at the row), and it is not declared global: every session it lets in"
			" (every tenant's, when it tests only the tenant expression) sees every row",
			schema, tb->pol[open].name, branch);
	else
		gm_findings_add(l->out, GM_CHECK_RLS, "rls_disabled_in_exposed_schema", GM_LEVEL_ERROR, obj,
			"give it a tenant column and tenant policies, enable row level security with policies of its own,"
			" or declare it in tenancy.global_tables of garage-migrate.yaml",
			"table in exposed schema %s has no row level security and is not declared global:"
			" every role that can read it sees every row", schema);
	free(schema);
	free(branch);
}

/* Whether a policy expression, as the server prints it, asks who runs
 * the query. */
static int asks_role(const char *expr)
{
	static const char *const asks[] = { "CURRENT_USER", "SESSION_USER", "CURRENT_ROLE", "pg_has_role(",
					    "is_member_of_role(" };

	for (size_t k = 0; expr && k < sizeof(asks) / sizeof(asks[0]); k++)
		if (strstr(expr, asks[k]))
			return 1;
	return 0;
}

/* The isolation probe acts as a temporary member of --app-role, not as
 * it: a policy that asks who runs the query (current_user = 'app') may
 * let the application through where the probe saw nothing. */
static void lint_role_dependent(const struct table *tb, struct gm_findings *out)
{
	for (size_t k = 0; k < tb->npol; k++) {
		char *obj;
		if (!asks_role(tb->pol[k].using) && !asks_role(tb->pol[k].check))
			continue;
		obj = gm_xasprintf("table %s policy %s", tb->name, tb->pol[k].name);
		gm_findings_add(out, GM_CHECK_RLS, "policy_depends_on_role", GM_LEVEL_WARNING, obj,
			"bind rows to the tenant only, and choose roles with the policy's TO clause",
			"the policy asks who runs the query (current_user, session_user, role membership): the isolation"
			" probe acts as a member of the application's role, not as it, and may not see what the"
			" application is let through");
		free(obj);
	}
}

/* ---- referential actions from tables anyone may write ----
 *
 * ON DELETE CASCADE (or SET NULL, SET DEFAULT, and the same ON UPDATE)
 * from a table that is no tenant table runs as the referencing table's
 * owner, past its policies: a role that may delete a row of countries
 * deletes every tenant's notes of that country, and one that may change
 * a tenant's id in tenants moves that tenant's rows to another. */

/* What a foreign key's definition (pg_get_constraintdef's) does to the
 * referencing rows on a delete and an update of the referenced one
 * ('a' no action, 'r' restrict, 'c' cascade, 'n' set null, 'd' set
 * default), and which columns it references (parsed, never sent). */
struct fk_actions {
	char del, upd;
	struct gm_strlist refcols;
};

static int fk_actions_of(const char *def, struct fk_actions *a)
{
	struct gm_pgtree t;
	const PgQuery__Constraint *c = gm_pgtree_foreign_key(def, &t);

	memset(a, 0, sizeof(*a));
	if (c) {
		a->del = c->fk_del_action && *c->fk_del_action ? c->fk_del_action[0] : 'a';
		a->upd = c->fk_upd_action && *c->fk_upd_action ? c->fk_upd_action[0] : 'a';
		for (size_t k = 0; k < c->n_pk_attrs; k++)
			gm_strlist_add(&a->refcols, gm_pgtree_str(c->pk_attrs[k]));
	}
	gm_pgtree_free(&t);
	return c != NULL;
}

static int changes_rows(char action)
{
	return action == 'c' || action == 'n' || action == 'd';
}

/* Whether privileges (", "-separated, as the catalog prints them) hold
 * privilege. */
static int holds(const char *privileges, const char *privilege)
{
	size_t n = strlen(privilege);

	for (const char *p = privileges; p && *p; p = strchr(p, ','), p = p ? p + strspn(p, ", ") : NULL)
		if (!strncmp(p, privilege, n) && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

/* Whether grant g lets its role DELETE from p, or UPDATE one of cols
 * (the referenced ones). */
static int grant_writes(const struct grant *g, const char *privilege, const struct gm_strlist *cols)
{
	return holds(g->privileges, privilege) && (!g->column || gm_strlist_has(cols, g->column));
}

/* A role name as a grant fact quotes it (quote_ident), unquoted as a
 * policy's role list prints it (allocated). */
static char *unquoted_role(const char *role)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t n = strlen(role);

	if (n < 2 || role[0] != '"' || role[n - 1] != '"')
		return gm_xstrdup(role);
	for (size_t k = 1; k + 1 < n; k++) {
		gm_strbuf_addch(&sb, role[k]);
		if (role[k] == '"' && role[k + 1] == '"')
			k++;
	}
	return gm_strbuf_detach(&sb, NULL);
}

/* Whether a policy's roles take in role (a grant's, unquoted): PUBLIC's
 * grant reaches whoever a policy names. */
static int policy_for(const char *roles, const char *role)
{
	return !strcmp(role, "PUBLIC") || role_listed(roles, "public") || role_listed(roles, role);
}

static int policy_admits(const struct lint *l, const char *roles, const char *role)
{
	(void)l;
	return policy_for(roles, role);
}

/* Whether row-level security leaves role's cmd on p open to any row: it
 * is off, or hides nothing (hides_nothing).  Policies that look at the
 * row are not judged: p is no tenant table, so whose rows are whose is
 * not known; its policies decide. */
static int rows_open(const struct lint *l, const struct table *p, const char *cmd, const char *role, char **why)
{
	char *branch;
	long open;

	*why = NULL;
	if (!p->rls || strcmp(p->rls, "enabled")) {
		*why = gm_xstrdup("no row level security");
		return 1;
	}
	if ((open = hides_nothing(l, p, cmd, policy_admits, role, &branch)) < 0)
		return 0;
	*why = gm_xasprintf("policy %s lets every row through: %s", p->pol[open].name, branch);
	free(branch);
	return 1;
}

static const struct table *find_table(const struct tables *t, const char *name)
{
	for (size_t k = 0; name && k < t->n; k++)
		if (!strcmp(t->v[k].name, name))
			return &t->v[k];
	return NULL;
}

/* event: "DELETE" or "UPDATE", the referenced row's, and the privilege
 * that lets a role set it off.  Told for the first role whose grant and
 * p's policies let it do so to any row. */
static void cascade_finding(const struct lint *l, const struct table *tb, const struct fk *fk, const struct table *p,
			    const char *event, char action, const struct gm_strlist *refcols)
{
	static const char *const what[] = { "CASCADE", "SET NULL", "SET DEFAULT" };
	int deleting = !strcmp(event, "DELETE");
	const char *act = what[action == 'c' ? 0 : action == 'n' ? 1 : 2];
	const struct grant *g = NULL;
	char *why = NULL, *obj, *fix;

	for (size_t k = 0; k < p->ngr && !g; k++) {
		char *role = unquoted_role(p->gr[k].role);
		if (grant_writes(&p->gr[k], event, refcols) && rows_open(l, p, event, role, &why))
			g = &p->gr[k];
		free(role);
	}
	if (!g)
		return;
	obj = gm_xasprintf("table %s constraint %s", tb->name, fk->name);
	fix = gm_xasprintf("take %s on %s from %s, give it row level security whose policies keep each tenant to rows of"
			   " its own, or declare the key ON %s RESTRICT", event, p->name, g->role, event);
	gm_findings_add(l->out, GM_CHECK_RLS, "cascade_from_writable_table", GM_LEVEL_ERROR, obj, fix,
		"ON %s %s from %s, which %s may %s%s%s (%s): %s a row there %s rows of any tenant here, past their"
		" policies (referential actions run as this table's owner)", event, act, p->name, g->role, event,
		g->column ? " on column " : "", g->column ? g->column : "", why, deleting ? "deleting" : "updating",
		deleting && action == 'c' ? "deletes" : "changes");
	free(obj);
	free(fix);
	free(why);
}

/* Each foreign key of tenant table tb to a table that is none: whether a
 * role may set off its actions on rows that are not its tenant's. */
static void lint_cascades(const struct lint *l, const struct tables *t, const struct table *tb)
{
	for (size_t k = 0; k < tb->nfk; k++) {
		const struct fk *fk = &tb->fk[k];
		const struct table *p = find_table(t, fk->references);
		struct fk_actions a;
		if (!p || p->tenant || !p->real || !fk->def || !fk_actions_of(fk->def, &a))
			continue;
		if (changes_rows(a.del))
			cascade_finding(l, tb, fk, p, "DELETE", a.del, &a.refcols);
		if (changes_rows(a.upd))
			cascade_finding(l, tb, fk, p, "UPDATE", a.upd, &a.refcols);
		gm_strlist_release(&a.refcols);
	}
}

/* Whether column col of tb keeps a unique index to one tenant's rows: the
 * tenant column, a foreign key to a tenant table's row (a row of another
 * tenant's it may not name, as the probe checks), or a uuid, whose values
 * no tenant can guess to test or take. */
static int tenant_scoped(const struct lint *l, const struct tables *t, const struct table *tb, const char *col)
{
	char *object = gm_xasprintf("table %s column %s", tb->name, col);
	const char *type = gm_model_get(l->m, object, "type");
	int scoped = gm_strlist_has(&l->tenancy->columns, col) || (type && !strcmp(type, "uuid"));

	free(object);
	for (size_t k = 0; k < tb->nfk && !scoped; k++) {
		const struct table *p = find_table(t, tb->fk[k].references);
		scoped = p && p->tenant && tb->fk[k].columns && !strcmp(tb->fk[k].columns, col);
	}
	return scoped;
}

static int is_primary_key(const struct table *tb, const char *name)
{
	for (size_t k = 0; k < tb->nfk; k++)
		if (!strcmp(tb->fk[k].name, name) && tb->fk[k].def && !strncmp(tb->fk[k].def, "PRIMARY KEY", 11))
			return 1;
	return 0;
}

/* A unique index of a tenant table none of whose columns keeps it to one
 * tenant (tenant_scoped): a tenant's INSERT or UPDATE fails on a value
 * another tenant holds (the server leaves the key out of the error under
 * RLS, but the failure itself tells), so any tenant can test for
 * another's values, and take them first.  An expression among its columns
 * (the catalog lists it as "expression") keeps it to no tenant; the
 * primary key is left out, and so is an index that lists no column. */
static void lint_unique_across_tenants(const struct lint *l, const struct tables *t, const struct table *tb)
{
	for (size_t k = 0; k < tb->nidx; k++) {
		const struct index *x = &tb->idx[k];
		const char *p;
		char *obj, *col;
		size_t len;
		int scoped = 0;

		if (!x->def || strncmp(x->def, "CREATE UNIQUE INDEX ", 20) || !x->columns || !*x->columns ||
		    is_primary_key(tb, x->name))
			continue;
		for (p = x->columns; *p && !scoped; p += len + (p[len] ? 2 : 0)) {
			len = strcspn(p, ",");
			col = gm_xstrndup(p, len);
			scoped = tenant_scoped(l, t, tb, col);
			free(col);
		}
		if (scoped)
			continue;
		obj = gm_xasprintf("table %s index %s", tb->name, x->name);
		gm_findings_add(l->out, GM_CHECK_RLS, "tenant_unique_across_tenants", GM_LEVEL_WARNING, obj,
			"make it unique within a tenant (UNIQUE (tenant column, ...)), unless the value must be unique"
			" across every tenant",
			"unique index on (%s) spans every tenant's rows: a tenant's INSERT or UPDATE fails on a value"
			" another tenant holds, so any tenant can test whether another holds a value, and take values"
			" first", x->columns);
		free(obj);
	}
}

static void lint_table(const struct lint *l, const struct table *tb)
{
	struct gm_findings *out = l->out;
	char *obj = gm_xasprintf("table %s", tb->name);
	int rls = tb->rls && !strcmp(tb->rls, "enabled");
	size_t k;

	lint_undeclared(l, tb, obj, rls);
	if (tb->npol && !rls)
		gm_findings_add(out, GM_CHECK_RLS, "policies_without_rls", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... ENABLE ROW LEVEL SECURITY (and FORCE)",
			"has %zu polic%s but row level security is disabled, so none of them applies",
			tb->npol, tb->npol == 1 ? "y" : "ies");
	else if (tb->tenant && !rls)
		gm_findings_add(out, GM_CHECK_RLS, "rls_disabled", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY, with tenant policies",
			"tenant table without row level security: every tenant sees every row");
	if (tb->tenant && rls && tb->npol == 0) {
		char *fix = gm_xasprintf("add one policy per command bound to %s", l->tenancy->expression);
		gm_findings_add(out, GM_CHECK_RLS, "rls_without_policies", GM_LEVEL_WARNING, obj, fix,
			"row level security is enabled but there is no policy: only roles that bypass RLS see any row");
		free(fix);
	}
	if (tb->tenant && rls && (!tb->force || strcmp(tb->force, "forced")))
		gm_findings_add(out, GM_CHECK_RLS, "rls_not_forced", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... FORCE ROW LEVEL SECURITY",
			"row level security is not forced: an application connected as the table owner bypasses every policy");
	if (tb->tenant) {
		lint_write_policies(l, tb);
		lint_read_policies(l, tb);
		lint_multiple_permissive(tb, out);
		lint_role_dependent(tb, out);
	}
	for (k = 0; k < tb->nfk; k++) {
		if (!tb->fk[k].references || !tb->fk[k].columns || fk_covered(tb, tb->fk[k].columns))
			continue;
		gm_findings_add(out, GM_CHECK_RLS, "foreign_key_without_index", GM_LEVEL_WARNING, obj,
			"CREATE INDEX ON the table (those columns)",
			"foreign key %s (%s) has no index on its columns: deletes in %s scan this table, and tenant joins are slow",
			tb->fk[k].name, tb->fk[k].columns, tb->fk[k].references);
	}
	for (k = 0; k < tb->nidx; k++)
		if (tb->idx[k].valid && strcmp(tb->idx[k].valid, "true"))
			gm_findings_add(out, GM_CHECK_RLS, "invalid_index", GM_LEVEL_ERROR, obj,
				"DROP INDEX CONCURRENTLY the index, then create it again",
				"index %s is invalid (a failed CREATE INDEX CONCURRENTLY): it is maintained but never used",
				tb->idx[k].name);
	free(obj);
}

void gm_lint_rls(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out)
{
	struct tables t = { NULL, 0 };
	struct gm_tenancy defaults;
	struct lint l = { tenancy, NULL, out, m };
	struct gm_error *err;
	size_t k;

	gm_tenancy_defaults(&defaults);
	if (!l.tenancy)
		l.tenancy = &defaults;
	if ((err = gm_policy_judge_new(l.tenancy, &l.judge))) {
		gm_findings_add(out, GM_CHECK_RLS, "tenant_expression_invalid", GM_LEVEL_ERROR, "tenancy",
				err->advice ? err->advice : "fix tenancy.expression", "%s: write policies were not judged",
				err->msg);
		gm_error_free(err);
	}
	collect(m, l.tenancy, &t);
	mark_tenants(&t);
	for (k = 0; k < t.n; k++) {
		lint_table(&l, &t.v[k]);
		if (t.v[k].tenant && t.v[k].real) {
			lint_cascades(&l, &t, &t.v[k]);
			lint_unique_across_tenants(&l, &t, &t.v[k]);
		}
	}
	lint_current_setting(&l, m);
	release(&t);
	gm_policy_judge_free(l.judge);
	gm_tenancy_release(&defaults);
}

char **gm_tenant_tables(const struct gm_model *m, const struct gm_tenancy *tenancy, size_t *n)
{
	struct tables t = { NULL, 0 };
	struct gm_tenancy defaults;
	char **out;
	size_t k;

	gm_tenancy_defaults(&defaults);
	collect(m, tenancy ? tenancy : &defaults, &t);
	mark_tenants(&t);
	out = gm_xcalloc(t.n ? t.n : 1, sizeof(*out));
	*n = 0;
	for (k = 0; k < t.n; k++)
		if (t.v[k].tenant && t.v[k].real)
			out[(*n)++] = gm_xstrdup(t.v[k].name);
	release(&t);
	gm_tenancy_release(&defaults);
	return out;
}
