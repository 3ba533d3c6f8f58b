/* lint.c - RLS lints on a model of the live schema.
 *
 * They look for the ways tenant isolation is lost in practice: RLS off or
 * not forced, policies that do nothing, several permissive policies that
 * OR together, write policies with a branch not bound to the tenant (the
 * original spec's public-row hole), current_setting() that errors when the
 * tenant is unset, and the indexes tenant queries and cascades need. */
#include "gm_verify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The tenant context, as policies and helpers refer to it. */
static int mentions_tenant(const char *expr)
{
	return strstr(expr, "app_current_org_id") || strstr(expr, "app.current_org_id");
}

struct policy {
	const char *name, *cmd, *permissive, *roles, *using, *check;
};

struct fk {
	const char *name, *columns, *references;
};

struct index {
	const char *name, *columns, *valid;
};

struct table {
	char *name;			/* "public.orders" */
	const char *rls, *force;
	int has_org;
	int tenant;
	struct policy *pol;
	size_t npol;
	struct fk *fk;
	size_t nfk;
	struct index *idx;
	size_t nidx;
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

/* Splits "table S.T <kind> <name>" and finds (or makes) the table. */
static struct table *parse_object(struct tables *t, const char *object, const char **kind,
				  const char **name)
{
	static const char *const kinds[] = { " column ", " constraint ", " index ", " policy ", " trigger " };
	const char *rest = object + strlen("table "), *best = NULL;
	size_t k;

	*kind = *name = NULL;
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

/* Gathers the facts of every table; pointers stay into the model. */
static void collect(const struct gm_model *m, struct tables *t)
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *kind, *name;
		struct table *tb;

		if (strncmp(f->object, "table ", 6) != 0)
			continue;
		tb = parse_object(t, f->object, &kind, &name);
		if (!kind) {
			if (!strcmp(f->attr, "row_security"))
				tb->rls = f->value;
			else if (!strcmp(f->attr, "force_row_security"))
				tb->force = f->value;
		} else if (!strncmp(kind, "column ", 7)) {
			if (!strcmp(name, "organization_id"))
				tb->has_org = 1;
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
		} else if (!strncmp(kind, "index ", 6)) {
			struct index *x = tb->nidx && !strcmp(tb->idx[tb->nidx - 1].name, name)
						  ? &tb->idx[tb->nidx - 1] : GROW(tb->idx, tb->nidx);
			x->name = name;
			if (!strcmp(f->attr, "columns")) x->columns = f->value;
			else if (!strcmp(f->attr, "valid")) x->valid = f->value;
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
	}
	free(t->v);
}

/* Tenant tables: organization_id, or a foreign key to a tenant table. */
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

char **gm_lint_or_branches(const char *expr, size_t *n)
{
	char **out = NULL;
	size_t len = strlen(expr), start = 0, i;
	int depth = 0, quote = 0;

	*n = 0;
	/* Drop parentheses around the whole expression. */
	while (len >= 2 && expr[0] == '(' && expr[len - 1] == ')') {
		int d = 0, wraps = 1;
		for (i = 0; i < len - 1; i++) {
			d += expr[i] == '(' ? 1 : expr[i] == ')' ? -1 : 0;
			if (d == 0) {
				wraps = 0;
				break;
			}
		}
		if (!wraps)
			break;
		expr++;
		len -= 2;
	}
	for (i = 0; i <= len; i++) {
		char c = i < len ? expr[i] : '\0';
		if (quote) {
			if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '\'' || c == '"')
			quote = c;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		if (i == len || (depth == 0 && !strncmp(expr + i, " OR ", 4))) {
			size_t b = start, e = i;
			while (b < e && isspace((unsigned char)expr[b]))
				b++;
			out = gm_xrealloc(out, (*n + 1) * sizeof(*out));
			out[(*n)++] = gm_xstrndup(expr + b, e - b);
			start = i + 4;
			i += 3;
		}
	}
	return out;
}

static void free_branches(char **v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		free(v[k]);
	free(v);
}

/* The first top-level OR branch of expr that does not mention the tenant
 * (caller frees), or NULL when every branch does. */
static char *unbound_branch(const char *expr)
{
	size_t n, k;
	char **b, *bad = NULL;

	if (!expr || !*expr)
		return NULL;
	b = gm_lint_or_branches(expr, &n);
	for (k = 0; k < n && !bad; k++)
		if (!mentions_tenant(b[k]))
			bad = gm_xstrdup(b[k]);
	free_branches(b, n);
	return bad;
}

static int is_write(const char *cmd)
{
	return cmd && (!strcmp(cmd, "ALL") || !strcmp(cmd, "UPDATE") || !strcmp(cmd, "DELETE") ||
		       !strcmp(cmd, "INSERT"));
}

static void lint_write_policies(const struct table *tb, struct gm_findings *out)
{
	size_t k;

	for (k = 0; k < tb->npol; k++) {
		const struct policy *p = &tb->pol[k];
		char *bad, *obj;
		const char *where = "USING";

		if (!is_write(p->cmd) || !p->permissive || strcmp(p->permissive, "PERMISSIVE"))
			continue;
		bad = unbound_branch(p->using);
		if (!bad) {
			bad = unbound_branch(p->check);
			where = "WITH CHECK";
		}
		if (!bad)
			continue;
		obj = gm_xasprintf("table %s policy %s", tb->name, p->name);
		gm_findings_add(out, GM_CHECK_RLS, "write_policy_not_tenant_bound", GM_LEVEL_ERROR, obj,
			"bind every OR branch of a write policy to the tenant; keep shared-row reads in a separate FOR SELECT policy",
			"%s policy's %s has a branch not bound to the tenant: %s (any tenant can write rows it matches)",
			p->cmd, where, bad);
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

static void lint_current_setting(const struct gm_model *m, struct gm_findings *out)
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		int policy = strstr(f->object, " policy ") && (!strcmp(f->attr, "using") || !strcmp(f->attr, "with_check"));
		int function = !strncmp(f->object, "function ", 9) && !strcmp(f->attr, "definition");
		if ((policy || function) && one_arg_current_setting(f->value))
			gm_findings_add(out, GM_CHECK_RLS, "current_setting_one_argument", GM_LEVEL_ERROR, f->object,
				"use current_setting(name, true) (NULL when unset), e.g. through app_current_org_id()",
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

static void lint_table(const struct table *tb, struct gm_findings *out)
{
	char *obj = gm_xasprintf("table %s", tb->name);
	int rls = tb->rls && !strcmp(tb->rls, "enabled");
	size_t k;

	if (tb->npol && !rls)
		gm_findings_add(out, GM_CHECK_RLS, "policies_without_rls", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... ENABLE ROW LEVEL SECURITY (and FORCE)",
			"has %zu polic%s but row level security is disabled, so none of them applies",
			tb->npol, tb->npol == 1 ? "y" : "ies");
	else if (tb->tenant && !rls)
		gm_findings_add(out, GM_CHECK_RLS, "rls_disabled", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY, with tenant policies",
			"tenant table without row level security: every tenant sees every row");
	if (tb->tenant && rls && tb->npol == 0)
		gm_findings_add(out, GM_CHECK_RLS, "rls_without_policies", GM_LEVEL_WARNING, obj,
			"add one policy per command bound to (SELECT app_current_org_id())",
			"row level security is enabled but there is no policy: only roles that bypass RLS see any row");
	if (tb->tenant && rls && (!tb->force || strcmp(tb->force, "forced")))
		gm_findings_add(out, GM_CHECK_RLS, "rls_not_forced", GM_LEVEL_ERROR, obj,
			"ALTER TABLE ... FORCE ROW LEVEL SECURITY",
			"row level security is not forced: an application connected as the table owner bypasses every policy");
	if (tb->tenant) {
		lint_write_policies(tb, out);
		lint_multiple_permissive(tb, out);
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

void gm_lint_rls(const struct gm_model *m, struct gm_findings *out)
{
	struct tables t = { NULL, 0 };
	size_t k;

	collect(m, &t);
	mark_tenants(&t);
	for (k = 0; k < t.n; k++)
		lint_table(&t.v[k], out);
	lint_current_setting(m, out);
	release(&t);
}

char **gm_tenant_tables(const struct gm_model *m, size_t *n)
{
	struct tables t = { NULL, 0 };
	char **out;
	size_t k;

	collect(m, &t);
	mark_tenants(&t);
	out = gm_xcalloc(t.n ? t.n : 1, sizeof(*out));
	*n = 0;
	for (k = 0; k < t.n; k++)
		if (t.v[k].tenant)
			out[(*n)++] = gm_xstrdup(t.v[k].name);
	release(&t);
	return out;
}
