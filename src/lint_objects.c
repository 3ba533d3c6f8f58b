/* lint_objects.c - lints on what surrounds the tables: grants, views and
 * functions (see gm_verify.h).
 *
 * Policies protect a table only from roles that reach it directly.  A
 * grant to PUBLIC lets every role reach it; a view runs as its owner, who
 * usually owns the table too and so is not subject to its policies; a
 * materialized view keeps a copy of the rows with no policy at all; and a
 * SECURITY DEFINER function runs as its owner: without its own search_path,
 * whatever functions and operators the caller's path finds first; and
 * whatever it reads of a tenant table, every tenant's rows unless it binds
 * them to the tenant itself (gm_definer.h). */
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_lint.h"
#include "gm_policy.h"
#include "gm_tenancy.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#define VIEW_PREFIX "view "
#define MATVIEW_PREFIX "materialized view "

/* Is name one element of list, a ", "-separated list as the catalog prints
 * it ("public.a, public.b")?  A name that itself holds ", " still matches
 * where it stands, so a strange name can only add matches, never hide one. */
static int list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		int starts = p == list || (p - list >= 2 && !strncmp(p - 2, ", ", 2));
		int ends = p[n] == '\0' || !strncmp(p + n, ", ", 2);
		if (starts && ends)
			return 1;
		p++;
	}
	return 0;
}

/* ---- tenant tables granted to PUBLIC ---- */

/* Is object role's grant on table ("public.orders") or on one of its
 * columns: "table T grant R" or "table T column C grant R"?  (catalog.c
 * writes roles with quote_ident, so a role merely called PUBLIC is
 * "PUBLIC" in quotes, apart from PUBLIC.) */
static int grant_of(const char *object, const char *table, const char *role)
{
	char *grant = gm_xasprintf(" grant %s", role);
	size_t tl = strlen(table), ol = strlen(object), gl = strlen(grant);
	const char *rest;
	int yes;

	yes = !strncmp(object, "table ", 6) && !strncmp(object + 6, table, tl) && ol >= 6 + tl + gl &&
	      !strcmp(object + ol - gl, grant);
	rest = object + 6 + tl;
	/* Nothing between the table and the grant, or one column. */
	yes = yes && (rest == object + ol - gl || !strncmp(rest, " column ", 8));
	free(grant);
	return yes;
}

/* PUBLIC, or an anonymous role of the tenancy, holds this grant. */
static const char *anyones_grant_of(const char *object, const char *table, const struct gm_tenancy *ten)
{
	if (grant_of(object, table, "PUBLIC"))
		return "PUBLIC";
	for (size_t k = 0; k < ten->anon_roles.n; k++)
		if (grant_of(object, table, ten->anon_roles.v[k]))
			return ten->anon_roles.v[k];
	return NULL;
}

static void lint_public_grants(const struct gm_model *m, const struct gm_tenancy *ten, char **tenants,
			       size_t ntenants, struct gm_findings *out)
{
	size_t k, t;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *who = NULL;
		if (strcmp(f->attr, "privileges") || !*f->value)
			continue;
		for (t = 0; t < ntenants && !who; t++)
			who = anyones_grant_of(f->object, tenants[t], ten);
		if (!who)
			continue;
		if (!strcmp(who, "PUBLIC"))
			gm_findings_add(out, GM_CHECK_RLS, "tenant_table_public_grant", GM_LEVEL_ERROR, f->object,
				"REVOKE ALL ON the table FROM PUBLIC (columns too), and grant what the application needs to its own role",
				"PUBLIC holds %s on a tenant table: every role, present and future, can reach its rows",
				f->value);
		else
			gm_findings_add(out, GM_CHECK_RLS, "tenant_table_public_grant", GM_LEVEL_ERROR, f->object,
				"REVOKE the privileges from that role: anyone the API lets in acts as it",
				"anonymous role %s (tenancy.anon_roles) holds %s on a tenant table", who, f->value);
	}
}

/* ---- privileges that bypass row-level security ---- */

/* The grantee of a grant's object ("table s.t grant role"), past its
 * first " grant " (only for the message: a name holding " grant " may
 * show part of itself). */
static const char *grantee_of(const char *object)
{
	const char *g = strstr(object, " grant ");

	return g ? g + strlen(" grant ") : NULL;
}

/* TRUNCATE ignores row-level security: it empties every tenant's rows.
 * TRIGGER lets the grantee attach a trigger that sees every row any
 * tenant writes (and runs its function as each writer).  On a tenant
 * table, no role but its owner should hold either.  On any other table
 * or view TRIGGER is no less: its trigger runs as whoever writes there,
 * a superuser's migration included (up refuses to run while one is
 * attached, db.c). */
static void lint_bypass_grants(const struct gm_model *m, char **tenants, size_t ntenants, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *which = NULL, *who;
		size_t t;

		if (strcmp(f->attr, "privileges") || !(who = grantee_of(f->object)))
			continue;
		if (list_has(f->value, "TRUNCATE"))
			which = list_has(f->value, "TRIGGER") ? "TRUNCATE and TRIGGER" : "TRUNCATE";
		else if (list_has(f->value, "TRIGGER"))
			which = "TRIGGER";
		for (t = 0; which && t < ntenants; t++) {
			char *prefix = gm_xasprintf("table %s grant ", tenants[t]);
			int on = !strncmp(f->object, prefix, strlen(prefix));

			free(prefix);
			if (!on)
				continue;
			/* A warning: a stock Supabase project grants ALL on public
			 * tables to its API roles, which the API never uses
			 * for TRUNCATE; --strict fails on it. */
			gm_findings_add(out, GM_CHECK_RLS, "tenant_table_bypass_grant", GM_LEVEL_WARNING, f->object,
				"REVOKE TRUNCATE, TRIGGER ON the table FROM that role (and from the default privileges that"
				" gave them)",
				"%s holds %s on a tenant table: TRUNCATE empties every tenant's rows whatever the"
				" policies say, and a trigger of its own sees every row any tenant writes",
				f->object + strlen("table ") + strlen(tenants[t]) + strlen(" grant "), which);
			break;
		}
		/* A warning for the same reason. */
		if (which && t == ntenants && list_has(f->value, "TRIGGER"))
			gm_findings_add(out, GM_CHECK_RLS, "trigger_grant", GM_LEVEL_WARNING, f->object,
				"REVOKE TRIGGER ON it FROM that role (and from the default privileges that gave it)",
				"%s holds TRIGGER on a relation it does not own: a trigger it attaches runs its function as"
				" whoever writes there, a superuser's migration included", who);
	}
}

/* ---- rules and foreign tables ---- */

/* A rule on a table runs its actions as the table's owner: what it reads
 * or writes of another table, it does past that table's policies whenever
 * the owner bypasses them (a rule on comments copying notes' bodies gives
 * any tenant any note).  Policies and triggers on SECURITY INVOKER
 * functions do what rules did, as the caller. */
static int ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), e = strlen(end);

	return n >= e && !strcmp(s + n - e, end);
}

static void lint_rules(const struct gm_model *m, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *r;

		if ((strncmp(f->object, "table ", 6) && strncmp(f->object, VIEW_PREFIX, strlen(VIEW_PREFIX))) ||
		    strcmp(f->attr, "definition") || !(r = strstr(f->object, " rule ")))
			continue;
		/* DO INSTEAD NOTHING touches nothing (its whole action: the
		 * words inside a string literal of another rule do not count). */
		if (ends_with(f->value, " DO INSTEAD NOTHING;") || ends_with(f->value, " DO NOTHING;"))
			continue;
		gm_findings_add(out, GM_CHECK_RLS, "rule_on_table", GM_LEVEL_ERROR, f->object,
			"DROP RULE, and do its work in a trigger whose function is SECURITY INVOKER",
			"rule %s runs its actions as the relation's owner: what it reads or writes of other tables"
			" passes their policies whenever that owner bypasses them", r + strlen(" rule "));
	}
}

/* A foreign table cannot have row-level security: in an exposed schema,
 * every role that can read it sees every row, unless it is global. */
static void lint_foreign_tables(const struct gm_model *m, const struct gm_tenancy *ten, struct gm_findings *out)
{
	static const char prefix[] = "foreign table ";

	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *name = f->object + strlen(prefix), *dot;
		char *schema;

		if (strncmp(f->object, prefix, strlen(prefix)) || strcmp(f->attr, "server") || !(dot = strchr(name, '.')))
			continue;
		schema = gm_xstrndup(name, (size_t)(dot - name));
		if (!gm_tenancy_is_global(ten, schema, dot + 1))
			gm_findings_add(out, GM_CHECK_RLS, "foreign_table_in_exposed_schema", GM_LEVEL_ERROR, f->object,
				"move it to a schema the API does not expose, or declare it in tenancy.global_tables",
				"foreign table (server %s) in exposed schema %s: it cannot have row level security,"
				" so every role that can read it sees every row", f->value, schema);
		free(schema);
	}
}

/* ---- views over protected tables ---- */

struct view {
	const char *name;	/* "public.v" */
	const char *reads;	/* "public.t, public.u" */
	int materialized;
	int invoker;		/* security_invoker = true */
	const char *via;	/* the first protected relation it reaches */
	const char *as_owner;	/* RLS tables it reaches through views outside the
				 * checked schemas that run as their owner, or NULL */
};

/* The views and materialized views of m; names point into the model. */
static struct view *collect_views(const struct gm_model *m, size_t *n)
{
	struct view *v = NULL;
	size_t k;

	*n = 0;
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		int mat = !strncmp(f->object, MATVIEW_PREFIX, strlen(MATVIEW_PREFIX));
		const char *inv;

		if (strcmp(f->attr, "reads") || (!mat && strncmp(f->object, VIEW_PREFIX, strlen(VIEW_PREFIX))))
			continue;
		v = gm_xrealloc(v, (*n + 1) * sizeof(*v));
		memset(&v[*n], 0, sizeof(*v));
		v[*n].name = f->object + (mat ? strlen(MATVIEW_PREFIX) : strlen(VIEW_PREFIX));
		v[*n].reads = f->value;
		v[*n].materialized = mat;
		inv = gm_model_get(m, f->object, "security_invoker");
		v[*n].invoker = !mat && inv && !strcmp(inv, "true");
		v[*n].as_owner = gm_model_get(m, f->object, "reads_as_owner");
		(*n)++;
	}
	return v;
}

/* Tables whose rows a policy guards, or should: RLS enabled, or tenant. */
static const char *protected_table(const struct gm_model *m, char **tenants, size_t ntenants,
				   const char *reads)
{
	size_t k;

	for (k = 0; k < ntenants; k++)
		if (list_has(reads, tenants[k]))
			return tenants[k];
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		if (!strcmp(f->attr, "row_security") && !strcmp(f->value, "enabled") &&
		    !strncmp(f->object, "table ", 6) && list_has(reads, f->object + 6))
			return f->object + 6;
	}
	return NULL;
}

/* Marks each view that reaches a protected table, directly or through
 * other views: whatever the inner view's setting, an outer view that runs
 * as its owner runs the inner one as that owner too. */
static void mark_reaching(const struct gm_model *m, char **tenants, size_t ntenants,
			  struct view *v, size_t n)
{
	size_t k, j;
	int changed = 1;

	for (k = 0; k < n; k++)
		v[k].via = protected_table(m, tenants, ntenants, v[k].reads);
	while (changed) {
		changed = 0;
		for (k = 0; k < n; k++)
			for (j = 0; !v[k].via && j < n; j++)
				if (j != k && v[j].via && list_has(v[k].reads, v[j].name)) {
					v[k].via = v[j].name;
					changed = 1;
				}
	}
}

static void lint_views(const struct gm_model *m, char **tenants, size_t ntenants, struct gm_findings *out)
{
	size_t n, k;
	struct view *v = collect_views(m, &n);

	mark_reaching(m, tenants, ntenants, v, n);
	for (k = 0; k < n; k++) {
		char *obj;
		if (v[k].as_owner && *v[k].as_owner && (v[k].invoker || !v[k].via)) {
			/* security_invoker does not reach past a view that runs as
			 * its owner, wherever that one lives. */
			obj = gm_xasprintf("%s%s", v[k].materialized ? MATVIEW_PREFIX : VIEW_PREFIX, v[k].name);
			gm_findings_add(out, GM_CHECK_RLS, "view_bypasses_rls", GM_LEVEL_ERROR, obj,
				"make every view on the way security_invoker (ALTER VIEW ... SET (security_invoker = true)),"
				" or read the tables directly",
				"view reads %s through a view outside the checked schemas that runs as its owner:"
				" the policies are checked for that owner's role", v[k].as_owner);
			free(obj);
			continue;
		}
		if (!v[k].via || v[k].invoker)
			continue;
		obj = gm_xasprintf("%s%s", v[k].materialized ? MATVIEW_PREFIX : VIEW_PREFIX, v[k].name);
		if (v[k].materialized)
			gm_findings_add(out, GM_CHECK_RLS, "view_bypasses_rls", GM_LEVEL_ERROR, obj,
				"drop it, or replace it with a view WITH (security_invoker = true), or a table with its own tenant policies",
				"materialized view reads %s: it stores every tenant's rows, and no policy applies to them", v[k].via);
		else
			gm_findings_add(out, GM_CHECK_RLS, "view_bypasses_rls", GM_LEVEL_ERROR, obj,
				m->server_major && m->server_major < 15 ? GM_VIEW_REMEDY_14 :
				"ALTER VIEW ... SET (security_invoker = true), so the caller's policies apply",
				"view reads %s as its owner, not as the caller: policies are checked for the owner's role, and an owner that bypasses RLS shows every tenant's rows",
				v[k].via);
		free(obj);
	}
	free(v);
}

/* ---- SECURITY DEFINER functions ---- */

/* Does config (one "name=value" a line, as catalog.c writes it) set the
 * search path? */
static int sets_search_path(const char *config)
{
	const char *p = config;

	for (;;) {
		if (!strncmp(p, "search_path=", 12))
			return 1;
		if (!(p = strchr(p, '\n')))
			return 0;
		p++;
	}
}

static void lint_definer_functions(const struct gm_model *m, struct gm_findings *out)
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *config;

		if (strncmp(f->object, "function ", 9) || strcmp(f->attr, "security_definer") ||
		    strcmp(f->value, "true"))
			continue;
		config = gm_model_get(m, f->object, "config");
		if (config && sets_search_path(config))
			continue;
		gm_findings_add(out, GM_CHECK_RLS, "security_definer_without_search_path", GM_LEVEL_ERROR, f->object,
			"ALTER FUNCTION ... SET search_path = pg_catalog, pg_temp (and name the schemas it needs in its body)",
			"SECURITY DEFINER function without its own search_path: a caller's path can make it run their functions with its owner's rights");
	}
}

/* Does qualified ("public.notes") name relation schema.name, or with
 * schema NULL, name in any schema (what a search path finds is not known
 * here: any match counts)? */
static int names_relation(const char *qualified, const char *schema, const char *name)
{
	size_t q = strlen(qualified), n = strlen(name);

	if (schema)
		return !strncmp(qualified, schema, strlen(schema)) && qualified[strlen(schema)] == '.' &&
		       !strcmp(qualified + strlen(schema) + 1, name);
	return q > n && qualified[q - n - 1] == '.' && !strcmp(qualified + q - n, name);
}

struct protected_set {
	char **tenants;
	size_t ntenants;
	struct view *views;	/* those reaching a protected table (via) count too */
	size_t nviews;
	const struct gm_model *m;	/* its functions' definitions: what a call runs */
};

/* The set, with the views of m that reach a protected table: a function
 * running as its owner reads through a caller's view as that owner. */
static void protected_set_init(struct protected_set *set, const struct gm_model *m, char **tenants, size_t ntenants)
{
	set->tenants = tenants;
	set->ntenants = ntenants;
	set->m = m;
	set->views = collect_views(m, &set->nviews);
	mark_reaching(m, tenants, ntenants, set->views, set->nviews);
}

/* Whether schema (NULL: a name left unqualified) is one verify does not
 * read: neither the model's nor the system's. */
static int unread_schema(const struct gm_model *m, const char *schema)
{
	return schema && strcmp(schema, "pg_catalog") && strcmp(schema, "information_schema") &&
	       !gm_model_has_schema(m, schema);
}

/* A tenant table: binding to the tenant is what the judge can tell (a
 * table whose policies compare an owner with the user is not judged). */
static int is_protected(void *ctx, const char *schema, const char *name)
{
	const struct protected_set *p = ctx;

	for (size_t k = 0; k < p->ntenants; k++)
		if (names_relation(p->tenants[k], schema, name))
			return GM_DEFINER_GUARDED;
	for (size_t k = 0; k < p->nviews; k++)
		if (p->views[k].via && names_relation(p->views[k].name, schema, name))
			return GM_DEFINER_GUARDED;
	/* A relation of a schema the model does not hold (not the system's):
	 * a view there may read a tenant table, unseen here. */
	if (unread_schema(p->m, schema))
		return GM_DEFINER_UNKNOWN;
	return 0;
}

/* Whether text ("s.name(" or "name(", up to end) names name, of schema
 * when one is given. */
static int names_callable(const char *text, const char *end, const char *schema, const char *name)
{
	size_t len = strlen(name);
	const char *dot;

	if ((size_t)(end - text) < len || strncmp(end - len, name, len))
		return 0;
	if (end - len == text)
		return !schema;
	dot = end - len - 1;
	return *dot == '.' && (!schema || ((size_t)(dot - text) == strlen(schema) && !strncmp(text, schema, strlen(schema))));
}

/* Every overload of function name ("function s.name(args)" facts). */
static void model_functions(const struct gm_model *m, const char *schema, const char *name, struct gm_strlist *defs)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *paren;

		if (!strncmp(f->object, "function ", 9) && !strcmp(f->attr, "definition") &&
		    (paren = strchr(f->object + 9, '(')) && names_callable(f->object + 9, paren, schema, name))
			gm_strlist_add(defs, f->value);
	}
}

/* The definitions of the functions that "<kind> ..." facts' function
 * attribute names ("s.f(args)"), for the objects match accepts. */
static void model_implementers(const struct gm_model *m, const char *kind,
			       int (*match)(const char *object, const char *schema, const char *name),
			       const char *schema, const char *name, struct gm_strlist *defs)
{
	size_t kl = strlen(kind);

	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		char *fn;
		const char *def;

		if (strncmp(f->object, kind, kl) || strcmp(f->attr, "function") || !match(f->object + kl, schema, name))
			continue;
		fn = gm_xasprintf("function %s", f->value);
		if ((def = gm_model_get(m, fn, "definition")))
			gm_strlist_add(defs, def);
		free(fn);
	}
}

/* "S.op(left,right)": an operator's symbol has neither dots nor
 * parentheses, so ".op(" ends its schema, whatever that holds. */
static int operator_named(const char *object, const char *schema, const char *name)
{
	char *tail = gm_xasprintf(".%s(", name);
	const char *at = strstr(object, tail);
	int yes = at && (!schema || ((size_t)(at - object) == strlen(schema) && !strncmp(object, schema, strlen(schema))));

	free(tail);
	return yes;
}

/* "(src AS s.type)": the target type's last name (a type's schema is not
 * told apart: more casts are judged, never fewer). */
static int cast_to(const char *object, const char *schema, const char *name)
{
	const char *as = strstr(object, " AS "), *end = object + strlen(object);

	if (!as || end == object || end[-1] != ')')
		return 0;
	as += 4;
	end--;
	(void)schema;
	return names_callable(as, end, NULL, name);
}

/* The next name of a list ("a.b, c.d", list_has's) at *p: its start and
 * *len; *p moves past it.  NULL at the end. */
static const char *next_listed(const char **p, size_t *len)
{
	const char *item = *p, *e;

	if (!*item)
		return NULL;
	e = strstr(item, ", ");
	*len = e ? (size_t)(e - item) : strlen(item);
	*p = e ? e + 2 : item + *len;
	return item;
}

/* Each name of list into rels, once. */
static void add_listed(const char *list, struct gm_strlist *rels)
{
	const char *p = list, *item;
	size_t len;
	char *q;

	while ((item = next_listed(&p, &len))) {
		q = gm_xstrndup(item, len);
		if (*q && !gm_strlist_has(rels, q))
			gm_strlist_add(rels, q);
		free(q);
	}
}

/* The relations ("S.T") a write to schema.name (any schema's when NULL)
 * writes: the tables and views of that name, what such a view reads (an
 * updatable view writes its table), and the tables that inherit from one
 * of them or are its partitions, however deep. */
static void written_relations(const struct gm_model *m, const char *schema, const char *name, struct gm_strlist *rels)
{
	size_t before;

	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *q = !strncmp(f->object, "table ", 6) && !strcmp(f->attr, "row_security") ? f->object + 6
				: !strncmp(f->object, VIEW_PREFIX, strlen(VIEW_PREFIX)) && !strcmp(f->attr, "reads")
				? f->object + strlen(VIEW_PREFIX) : NULL;
		if (q && names_relation(q, schema, name) && !gm_strlist_has(rels, q))
			gm_strlist_add(rels, q);
	}
	do {
		before = rels->n;
		for (size_t k = 0; k < m->n; k++) {
			const struct gm_fact *f = &m->v[k];
			if (!strncmp(f->object, VIEW_PREFIX, strlen(VIEW_PREFIX)) && !strcmp(f->attr, "reads") &&
			    gm_strlist_has(rels, f->object + strlen(VIEW_PREFIX)))
				add_listed(f->value, rels);	/* an updatable view writes what it reads */
			if (strncmp(f->object, "table ", 6) || strcmp(f->attr, "inherits") || gm_strlist_has(rels, f->object + 6))
				continue;
			for (size_t r = 0; r < rels->n; r++)
				if (list_has(f->value, rels->v[r])) {
					gm_strlist_add(rels, f->object + 6);
					break;
				}
		}
	} while (rels->n != before);
}

/* "(expr) NOT VALID NO INHERIT", pg_get_constraintdef's CHECK past the
 * word: "SELECT (expr)", what runs on a write; NULL for one NOT ENFORCED
 * (from 18), which runs nothing. */
static char *check_expression(const char *def)
{
	static const char *const suffixes[] = { " NOT VALID", " NO INHERIT" };
	size_t len = strlen(def), k, sl;
	int cut;

	do {
		cut = 0;
		if (len >= strlen(" NOT ENFORCED") && !strncmp(def + len - strlen(" NOT ENFORCED"), " NOT ENFORCED", strlen(" NOT ENFORCED")))
			return NULL;
		for (k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++)
			if (len >= (sl = strlen(suffixes[k])) && !strncmp(def + len - sl, suffixes[k], sl)) {
				len -= sl;
				cut = 1;
			}
	} while (cut);
	return gm_xasprintf("SELECT %.*s", (int)len, def);	/* only parsed by the judge, never sent */
}

/* What a fact of relation q ("table q column c", "view q trigger t", ...)
 * runs when q is written, as a text the judge reads for what it calls:
 * an enabled trigger's definition, a column's default, a CHECK's
 * expression; NULL for anything else. */
static char *write_code(const struct gm_model *m, const struct gm_fact *f, const char *q)
{
	const char *rest = !strncmp(f->object, "table ", 6) ? f->object + 6
			   : !strncmp(f->object, VIEW_PREFIX, strlen(VIEW_PREFIX)) ? f->object + strlen(VIEW_PREFIX) : NULL;
	const char *enabled;

	if (!rest || strncmp(rest, q, strlen(q)) || rest[strlen(q)] != ' ')
		return NULL;
	rest += strlen(q) + 1;
	/* Texts the judge only parses (libpg_query), never sent. */
	if (!strncmp(rest, "column ", 7) && !strcmp(f->attr, "default") && *f->value)
		return gm_xasprintf("SELECT %s", f->value);
	if (!strncmp(rest, "trigger ", 8) && !strcmp(f->attr, "definition") &&
	    (!(enabled = gm_model_get(m, f->object, "enabled")) || strcmp(enabled, "disabled")))
		return gm_xstrdup(f->value);
	if (!strncmp(rest, "constraint ", 11) && !strcmp(f->attr, "definition") && !strncmp(f->value, "CHECK ", 6))
		return check_expression(f->value + 6);
	return NULL;
}

/* What writing schema.name runs: the enabled triggers, column defaults
 * and CHECK constraints of every relation the write reaches. */
static void model_writes(const struct gm_model *m, const char *schema, const char *name, struct gm_strlist *defs)
{
	struct gm_strlist rels = { NULL, 0 };
	char *text;

	written_relations(m, schema, name, &rels);
	for (size_t r = 0; r < rels.n; r++)
		for (size_t k = 0; k < m->n; k++)
			if ((text = write_code(m, &m->v[k], rels.v[r]))) {
				gm_strlist_add(defs, text);
				free(text);
			}
	gm_strlist_release(&rels);
}

/* gm_definer_callees over the model: functions ("function s.name(args)"),
 * the functions of operators ("operator s.op(l,r)") and casts ("cast (a
 * AS b)") the catalog lists (those neither built in nor an extension's),
 * and a table's triggers, defaults and checks.  What a schema the model
 * does not hold has (not the system's) is not known. */
static size_t model_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	const struct protected_set *p = ctx;
	struct gm_strlist found = { NULL, 0 };

	*defs = NULL;
	switch (how) {
	case GM_REACH_CALL:
		model_functions(p->m, schema, name, &found);
		break;
	case GM_REACH_OPERATOR:
		model_implementers(p->m, "operator ", operator_named, schema, name, &found);
		break;
	case GM_REACH_CAST:
		model_implementers(p->m, "cast ", cast_to, schema, name, &found);
		break;
	case GM_REACH_WRITE:
		model_writes(p->m, schema, name, &found);
		break;
	}
	if (!found.n && unread_schema(p->m, schema))
		return GM_DEFINER_CALLEE_UNKNOWN;
	*defs = found.v;
	return found.n;
}

/* What each SECURITY DEFINER function does to protected rows, judged on
 * its definition and those of the functions it calls (gm_definer_judge). */
static void lint_definer_reads(const struct gm_model *m, const struct gm_policy_judge *j,
			       char **tenants, size_t ntenants, struct gm_findings *out)
{
	struct protected_set set;
	size_t k;

	if (!j)
		return;
	protected_set_init(&set, m, tenants, ntenants);
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *def;
		char *table, *why;

		if (strncmp(f->object, "function ", 9) || strcmp(f->attr, "security_definer") ||
		    strcmp(f->value, "true") || !(def = gm_model_get(m, f->object, "definition")))
			continue;
		switch (gm_definer_judge(j, def, is_protected, model_callees, &set, &table, &why)) {
		case GM_DEFINER_UNBOUND:
			gm_findings_add(out, GM_CHECK_RLS, "definer_function_bypasses_rls", GM_LEVEL_ERROR, f->object,
				"bind each of its statements on the table to the tenant (tenant column = the tenancy expression,"
				" not an argument), or make it SECURITY INVOKER, or REVOKE EXECUTE on it from PUBLIC and the API's roles",
				"SECURITY DEFINER function touches %s as its owner (%s): an owner that bypasses RLS"
				" lets any caller reach every tenant's rows", table, why);
			break;
		case GM_DEFINER_UNSEEN:
			gm_findings_add(out, GM_CHECK_RLS, "definer_function_not_analysed", GM_LEVEL_WARNING, f->object,
				"check by hand that it binds every tenant row it touches to the tenant, or make it SECURITY INVOKER",
				"SECURITY DEFINER function whose body cannot be judged: %s", why);
			break;
		case GM_DEFINER_BOUND:
			break;
		}
		free(table);
		free(why);
	}
	free(set.views);
}

/* The relation whose writes are judged (gm_lint_definer_writing): a
 * protected_set first, as model_callees reads its context as one. */
struct written_set {
	struct protected_set set;
	const char *linked;	/* "s.t" */
};

static int is_written(void *ctx, const char *schema, const char *name)
{
	const struct written_set *w = ctx;

	if (!names_relation(w->linked, schema, name))
		return 0;
	/* unqualified: the model's schema of that name (a policy's link
	 * table is found so too, lint_links.c) */
	return GM_DEFINER_WRITTEN;
}

char *gm_lint_definer_writing(const struct gm_model *m, const struct gm_policy_judge *j, const char *linked,
			      char **why)
{
	struct written_set w = { { NULL, 0, NULL, 0, m }, linked };
	char *found = NULL;

	*why = NULL;
	if (!j)
		return NULL;
	for (size_t k = 0; k < m->n && !found; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *def;
		char *table = NULL, *because = NULL;

		/* A trigger function cannot be called: what fires it is judged
		 * where the table is written. */
		if (strncmp(f->object, "function ", 9) || strcmp(f->attr, "security_definer") ||
		    strcmp(f->value, "true") || !(def = gm_model_get(m, f->object, "definition")) ||
		    strstr(def, "\n RETURNS trigger\n") || strstr(def, "\n RETURNS event_trigger\n"))
			continue;
		if (gm_definer_judge(j, def, is_written, model_callees, &w, &table, &because) == GM_DEFINER_UNBOUND) {
			found = gm_xstrdup(f->object + strlen("function "));
			*why = because;
			because = NULL;
		}
		free(table);
		free(because);
	}
	return found;
}

/* A materialized view stores what the functions it calls read when its
 * owner refreshes it: a function with a statement on a tenant table not
 * bound to the tenant (gm_definer_judge) fills it with every tenant's
 * rows, and no policy applies to them (pg_depend shows the view reading
 * only the function, so lint_views cannot see it). */
static void lint_matview_calls(const struct gm_model *m, const struct gm_policy_judge *j,
			       char **tenants, size_t ntenants, struct gm_findings *out)
{
	struct protected_set set;

	if (!j)
		return;
	protected_set_init(&set, m, tenants, ntenants);
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *p, *e;

		if (strncmp(f->object, MATVIEW_PREFIX, strlen(MATVIEW_PREFIX)) || strcmp(f->attr, "calls"))
			continue;
		for (p = f->value; *p; p = *e ? e + 1 : e) {
			char *fn, *table = NULL, *why = NULL;
			const char *def;

			e = p + strcspn(p, "\n");
			fn = gm_xasprintf("function %.*s", (int)(e - p), p);
			def = gm_model_get(m, fn, "definition");
			if (def && gm_definer_judge(j, def, is_protected, model_callees, &set, &table, &why) == GM_DEFINER_UNBOUND)
				gm_findings_add(out, GM_CHECK_RLS, "view_bypasses_rls", GM_LEVEL_ERROR, f->object,
					"drop it, or replace it with a view WITH (security_invoker = true)",
					"materialized view stores what %s reads of %s when its owner refreshes it (%s):"
					" every tenant's rows, and no policy applies to them", fn + strlen("function "),
					table, why);
			free(table);
			free(why);
			free(fn);
		}
	}
	free(set.views);
}

/* A LEAKPROOF function runs before the policies, on every tenant's rows
 * (the planner pushes its condition down past them): a message it raises
 * or a value it stores hands those rows to whoever calls it.  PostgreSQL
 * marks only functions that cannot; one of the schema's own is a claim to
 * check by hand. */
static void lint_leakproof(const struct gm_model *m, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];

		if (!strncmp(f->object, "function ", 9) && !strcmp(f->attr, "leakproof") && !strcmp(f->value, "true"))
			gm_findings_add(out, GM_CHECK_RLS, "leakproof_function", GM_LEVEL_WARNING, f->object,
				"ALTER FUNCTION ... NOT LEAKPROOF, unless no argument can reach an error, a notice or"
				" anything it writes",
				"LEAKPROOF function: the planner runs it on every tenant's rows before the policies, so"
				" what it lets out about its arguments (an error's message, a notice) any caller reads");
	}
}

/* A policy comparing with an operator neither built in nor an
 * extension's: its text reads as the built-in it looks like
 * ("tenant_id = uid()::text"), and the policy judge takes it so, but what
 * it does is whatever its function does (return true). */
static void lint_policy_operators(const struct gm_model *m, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];

		if (!strcmp(f->attr, "operators") && strstr(f->object, " policy ") && *f->value)
			gm_findings_add(out, GM_CHECK_RLS, "policy_operator_not_builtin", GM_LEVEL_WARNING, f->object,
				"compare values of one type with the built-in operator (cast: tenant_id = (auth.uid())::uuid),"
				" and DROP OPERATOR the one that is not yours",
				"policy compares with %s, neither built in nor an extension's: it reads as the built-in"
				" it looks like, and does what its function does", f->value);
	}
}

static int is_tenant(char **tenants, size_t ntenants, const char *q, size_t len)
{
	for (size_t k = 0; k < ntenants; k++)
		if (strlen(tenants[k]) == len && !strncmp(tenants[k], q, len))
			return 1;
	return 0;
}

/* A tenant table that inherits from, or is a partition of, a table that
 * is not a tenant table itself (a declared-global one, one in a schema
 * verify does not read): a read of the parent reads the child's rows
 * under the parent's policies, not the child's, and needs no privilege on
 * the child (the parent's own grants, and no RLS of its, let every
 * tenant's rows out). */
static void lint_inherited_tenants(const struct gm_model *m, char **tenants, size_t ntenants, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *p = f->value, *parent;
		size_t len;

		if (strncmp(f->object, "table ", 6) || strcmp(f->attr, "inherits") ||
		    !is_tenant(tenants, ntenants, f->object + 6, strlen(f->object + 6)))
			continue;
		while ((parent = next_listed(&p, &len)))
			if (!is_tenant(tenants, ntenants, parent, len))
				gm_findings_add(out, GM_CHECK_RLS, "tenant_table_inherited", GM_LEVEL_ERROR, f->object,
					"ALTER TABLE ... NO INHERIT (or DETACH PARTITION), or make the parent a tenant table"
					" with policies of its own",
					"tenant table inherits from %.*s, which is no tenant table: a read of %.*s reads this"
					" table's rows under its policies, not this table's, with its grants alone",
					(int)len, parent, (int)len, parent);
	}
}

/* The definition of the function a trigger's definition ("... EXECUTE
 * FUNCTION [s.]f(args)") runs, from the model (allocated), or NULL. */
static char *trigger_function(const struct gm_model *m, const char *def)
{
	static const char *const words[] = { " EXECUTE FUNCTION ", " EXECUTE PROCEDURE " };
	const char *at = NULL, *end, *dot;
	struct gm_strlist defs = { NULL, 0 };
	char *schema = NULL, *name, *found = NULL;

	for (size_t w = 0; w < 2 && !at; w++)
		if ((at = strstr(def, words[w])))
			at += strlen(words[w]);
	if (!at || !(end = strchr(at, '(')))
		return NULL;
	for (dot = end; dot > at && dot[-1] != '.'; dot--)
		;
	if (dot > at)
		schema = gm_xstrndup(at, (size_t)(dot - 1 - at));
	name = gm_xstrndup(dot, (size_t)(end - dot));
	model_functions(m, schema, name, &defs);
	if (defs.n)
		found = gm_xstrdup(defs.v[0]);
	gm_strlist_release(&defs);
	free(schema);
	free(name);
	return found;
}

/* Whether text holds word, case aside, as a word of its own. */
static int has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strcasestr(p, word)); p += len)
		if ((p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
		    !(isalnum((unsigned char)p[len]) || p[len] == '_'))
			return 1;
	return 0;
}

/* A trigger of a tenant table whose function sends a notification
 * (pg_notify, NOTIFY): every session of the database may LISTEN, any
 * tenant's among them, and reads what it sends about every tenant's rows
 * (row_to_json(NEW) hands over the whole row).  A warning: a payload of
 * ids alone may be meant. */
struct notify_seek {
	struct protected_set set;	/* first: model_callees reads it */
	int found;
};

static int sends_notification(const char *text)
{
	return has_word(text, "pg_notify") || has_word(text, "notify");
}

/* model_callees, noting whether what a call reaches notifies. */
static size_t notify_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	struct notify_seek *s = ctx;
	size_t n = model_callees(&s->set, how, schema, name, defs);

	for (size_t k = 0; n != GM_DEFINER_CALLEE_UNKNOWN && k < n; k++)
		s->found = s->found || sends_notification((*defs)[k]);
	return n;
}

/* Whether trigger function fn (its definition) notifies, itself or
 * through what it calls (the definer judge follows calls, with nothing
 * to judge). */
static int notifies(const struct gm_model *m, const struct gm_policy_judge *j, const char *fn)
{
	struct notify_seek s = { { NULL, 0, NULL, 0, m }, 0 };
	char *table = NULL, *why = NULL;

	if (sends_notification(fn))
		return 1;
	if (j)
		gm_definer_judge(j, fn, gm_definer_nothing_protected, notify_callees, &s, &table, &why);
	free(table);
	free(why);
	return s.found;
}

static void lint_notifying_triggers(const struct gm_model *m, const struct gm_policy_judge *j, char **tenants,
				    size_t ntenants, struct gm_findings *out)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *kind = strstr(f->object, " trigger ");
		char *fn = NULL;
		int sends;

		if (strncmp(f->object, "table ", 6) || strcmp(f->attr, "definition") || !kind ||
		    !is_tenant(tenants, ntenants, f->object + 6, (size_t)(kind - (f->object + 6))))
			continue;
		/* the tcn extension's trigger sends the row's key */
		sends = has_word(f->value, "triggered_change_notification") ||
			((fn = trigger_function(m, f->value)) && notifies(m, j, fn));
		free(fn);
		if (!sends)
			continue;
		gm_findings_add(out, GM_CHECK_RLS, "tenant_trigger_notifies", GM_LEVEL_WARNING, f->object,
				"send no row data (an id a listener then reads through the policies), or deliver changes"
				" through a channel that checks the tenant (logical replication with row filters, Supabase"
				" Realtime)",
				"trigger's function sends a notification (itself or through what it calls): any session"
				" that may connect can LISTEN, whatever its tenant, and reads what it sends about every"
				" tenant's rows");
	}
}

/* A trigger of a tenant table whose function writes a declared-global
 * table (tenancy.global_tables), itself or through what it calls: every
 * tenant reads such a table whole, so what the trigger copies there of a
 * tenant's row (NEW's values, even a count of its rows) every other
 * tenant reads. */
struct global_seek {
	struct protected_set set;	/* first: model_callees reads it */
	const struct gm_tenancy *tenancy;
};

/* gm_definer_protected: a declared-global relation is one whose writes
 * matter (GM_DEFINER_WRITTEN); by a name without schema, any declared
 * so, in whichever schema. */
static int global_written(void *ctx, const char *schema, const char *name)
{
	const struct global_seek *s = ctx;
	const struct gm_strlist *g = &s->tenancy->global_tables;
	size_t n = strlen(name);

	if (schema)
		return gm_tenancy_is_global(s->tenancy, schema, name) ? GM_DEFINER_WRITTEN : 0;
	for (size_t k = 0; k < g->n; k++) {
		size_t len = strlen(g->v[k]);
		if (!strcmp(g->v[k], name) || (len > n && g->v[k][len - n - 1] == '.' && !strcmp(g->v[k] + len - n, name)))
			return GM_DEFINER_WRITTEN;
	}
	return 0;
}

static void lint_global_writing_triggers(const struct gm_model *m, const struct gm_policy_judge *j,
					 const struct gm_tenancy *tenancy, char **tenants, size_t ntenants,
					 struct gm_findings *out)
{
	struct global_seek s = { { NULL, 0, NULL, 0, m }, tenancy };

	if (!j || !tenancy->global_tables.n)
		return;
	for (size_t k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *kind = strstr(f->object, " trigger "), *enabled;
		char *fn, *table = NULL, *why = NULL;

		if (strncmp(f->object, "table ", 6) || strcmp(f->attr, "definition") || !kind ||
		    !is_tenant(tenants, ntenants, f->object + 6, (size_t)(kind - (f->object + 6))) ||
		    ((enabled = gm_model_get(m, f->object, "enabled")) && !strcmp(enabled, "disabled")) ||
		    !(fn = trigger_function(m, f->value)))
			continue;
		if (gm_definer_judge(j, fn, global_written, model_callees, &s, &table, &why) == GM_DEFINER_UNBOUND)
			gm_findings_add(out, GM_CHECK_RLS, "tenant_trigger_writes_global", GM_LEVEL_ERROR, f->object,
				"keep tenant data out of it (make it a tenant table with a tenant column and policies),"
				" or take the table out of tenancy.global_tables",
				"trigger's function writes %s, declared global, itself or through what it calls (%s): every"
				" tenant reads that table whole, so what it copies there of a tenant's row every other"
				" tenant reads", table, why);
		free(table);
		free(why);
		free(fn);
	}
}

void gm_lint_objects(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out)
{
	struct gm_policy_judge *j = NULL;
	struct gm_tenancy defaults;
	size_t ntenants, k;
	char **tenants;

	gm_tenancy_defaults(&defaults);
	if (!tenancy)
		tenancy = &defaults;
	tenants = gm_tenant_tables(m, tenancy, &ntenants);
	/* One judge for the lints that read policies and functions; none
	 * when the tenant expression does not parse (lint.c reports it). */
	gm_error_free(gm_policy_judge_new(tenancy, &j));
	lint_public_grants(m, tenancy, tenants, ntenants, out);
	lint_bypass_grants(m, tenants, ntenants, out);
	lint_rules(m, out);
	lint_foreign_tables(m, tenancy, out);
	lint_views(m, tenants, ntenants, out);
	lint_definer_functions(m, out);
	lint_definer_reads(m, j, tenants, ntenants, out);
	lint_matview_calls(m, j, tenants, ntenants, out);
	gm_lint_policy_links(m, j, tenants, ntenants, out);
	lint_leakproof(m, out);
	lint_policy_operators(m, out);
	lint_inherited_tenants(m, tenants, ntenants, out);
	lint_notifying_triggers(m, j, tenants, ntenants, out);
	lint_global_writing_triggers(m, j, tenancy, tenants, ntenants, out);
	gm_policy_judge_free(j);
	for (k = 0; k < ntenants; k++)
		free(tenants[k]);
	free(tenants);
	gm_tenancy_release(&defaults);
}
