/* gm_tenancy.h - how a schema isolates its tenants, in one value.
 *
 * The RLS lints, the policy analysis and the isolation probe read every
 * tenancy name from here, never from constants of their own.  The
 * defaults are AI Garage's conventions, so the shipped project needs no
 * project file; garage-migrate.yaml (gm_config.h) can say otherwise. */
#ifndef GM_TENANCY_H
#define GM_TENANCY_H

#include <stddef.h>

struct gm_strlist {
	char **v;
	size_t n;
};

struct gm_tenancy {
	/* Columns that tie a row to its tenant ("organization_id"). */
	struct gm_strlist columns;
	/* The SQL expression that yields the current tenant, as policies
	 * write it: "(SELECT app_current_org_id())", "auth.uid()",
	 * "((auth.jwt() ->> 'org_id'))::uuid". */
	char *expression;
	/* A statement that makes $1 the current tenant for the transaction,
	 * as an application does: "SELECT set_config('app.current_org_id',
	 * $1, true)". */
	char *set_tenant;
	/* Schemas whose tables an API exposes: every table in them gets a
	 * verdict ("public"). */
	struct gm_strlist schemas;
	int schemas_declared;	/* by the project file, not the default */
	/* Boolean columns that make a row readable by every tenant
	 * ("is_public", "is_system"). */
	struct gm_strlist public_read_columns;
	/* Tables meant to be global (no tenant), "schema.table" or "table"
	 * (in any exposed schema). */
	struct gm_strlist global_tables;
	/* Roles an API lets anyone act as (Supabase's "anon"): a grant on a
	 * tenant table to one of them is a lint, like one to PUBLIC. */
	struct gm_strlist anon_roles;
};

/* AI Garage's conventions. */
void gm_tenancy_defaults(struct gm_tenancy *t);
void gm_tenancy_release(struct gm_tenancy *t);

void gm_strlist_add(struct gm_strlist *l, const char *s);
void gm_strlist_release(struct gm_strlist *l);
int gm_strlist_has(const struct gm_strlist *l, const char *s);

/* Whether "schema.table" is declared global (by its full or bare name). */
int gm_tenancy_is_global(const struct gm_tenancy *t, const char *schema, const char *table);

#endif
