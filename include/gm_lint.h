/* gm_lint.h - the RLS lints on a model of the live schema (lint.c) and
 * on the objects around its tables (lint_objects.c); see garage-migrate(1),
 * RLS LINTS. */
#ifndef GM_LINT_H
#define GM_LINT_H

#include <stddef.h>

#include "gm_findings.h"
#include "gm_model.h"

/* The RLS lints on a model of the live schema (see garage-migrate(1) for
 * the list).  Tenant tables are those with a tenant column and those
 * whose foreign keys reach one; every other table of an exposed schema
 * must have RLS or be declared global.  tenancy NULL: AI Garage's. */
struct gm_policy_judge;
struct gm_tenancy;
void gm_lint_rls(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out);

/* The lints on what surrounds the tables (see garage-migrate(1)): a tenant
 * table or column granted to PUBLIC, a view or materialized view that
 * reads a tenant or RLS table as its owner, a SECURITY DEFINER function
 * without its own search_path. */
/* What to do about a view that reads a tenant table as its owner, on a
 * server older than 15, which has no security_invoker views. */
#define GM_VIEW_REMEDY_14                                                                                   \
	"PostgreSQL 14 has no security_invoker (15 has): give the view an owner that the table's policies"  \
	" apply to (neither superuser nor BYPASSRLS, and its table's owner only where RLS is forced), or"     \
	" drop it"
void gm_lint_objects(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out);

/* The tables tenant tables' policies let rows in through, when another
 * role, or a SECURITY DEFINER function, may write them (lint_links.c):
 * part of gm_lint_objects, with its judge (NULL when the tenant
 * expression does not parse: definers are then not judged). */
void gm_lint_policy_links(const struct gm_model *m, const struct gm_policy_judge *judge, char **tenants,
			  size_t ntenants, struct gm_findings *out);
/* The first SECURITY DEFINER function of m (its name, "s.f(args)",
 * allocated) that INSERTs, UPDATEs or MERGEs linked ("s.t"), itself or
 * through what it calls, with *why (allocated) saying how; or NULL (and
 * NULL without a judge). */
char *gm_lint_definer_writing(const struct gm_model *m, const struct gm_policy_judge *judge, const char *linked,
			      char **why);

/* The tenant tables of m ("public.orders"), in the model's order; caller
 * frees each and the array. */
char **gm_tenant_tables(const struct gm_model *m, const struct gm_tenancy *tenancy, size_t *n);

#endif
