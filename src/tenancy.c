/* tenancy.c - the tenancy conventions (see gm_tenancy.h). */
#include "gm_tenancy.h"
#include "gm_strbuf.h"

#include <stdlib.h>
#include <string.h>

void gm_strlist_add(struct gm_strlist *l, const char *s)
{
	l->v = gm_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = gm_xstrdup(s);
}

void gm_strlist_release(struct gm_strlist *l)
{
	for (size_t k = 0; k < l->n; k++)
		free(l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int gm_strlist_has(const struct gm_strlist *l, const char *s)
{
	for (size_t k = 0; k < l->n; k++)
		if (!strcmp(l->v[k], s))
			return 1;
	return 0;
}

void gm_tenancy_defaults(struct gm_tenancy *t)
{
	memset(t, 0, sizeof(*t));
	gm_strlist_add(&t->columns, "organization_id");
	t->expression = gm_xstrdup("(SELECT app_current_org_id())");
	t->set_tenant = gm_xstrdup("SELECT set_config('app.current_org_id', $1, true)");
	gm_strlist_add(&t->schemas, "public");
	gm_strlist_add(&t->public_read_columns, "is_public");
	gm_strlist_add(&t->public_read_columns, "is_system");
	/* Shared by every tenant, without RLS, by design. */
	gm_strlist_add(&t->global_tables, "organizations");
	gm_strlist_add(&t->global_tables, "users");
}

void gm_tenancy_release(struct gm_tenancy *t)
{
	gm_strlist_release(&t->columns);
	gm_strlist_release(&t->schemas);
	gm_strlist_release(&t->public_read_columns);
	gm_strlist_release(&t->global_tables);
	gm_strlist_release(&t->anon_roles);
	free(t->expression);
	free(t->set_tenant);
	memset(t, 0, sizeof(*t));
}

int gm_tenancy_is_global(const struct gm_tenancy *t, const char *schema, const char *table)
{
	char *full = gm_xasprintf("%s.%s", schema, table);
	int yes = gm_strlist_has(&t->global_tables, full) || gm_strlist_has(&t->global_tables, table);

	free(full);
	return yes;
}
