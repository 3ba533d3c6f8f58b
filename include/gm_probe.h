/* gm_probe.h - verify --isolation: prove tenant isolation by acting as a
 * tenant.
 *
 * Three files make the probe: probe_catalog.c reads what it needs of the
 * catalog (by oid, never by parsing names), probe_fixtures.c makes the
 * test rows, probe.c runs the checks; probe_reach.c tells whose code
 * making rows runs.  The declarations below the public
 * part are theirs alone.
 *
 * Security: every name read from the catalog is user input (any role with
 * CREATE can choose it), so every identifier goes through
 * PQescapeIdentifier and every value is a query parameter; every statement
 * is sent alone through the extended protocol (PQexecParams), which runs
 * exactly one statement, so no text can smuggle a second one in.  Code
 * the schema runs (triggers, defaults, policies) runs as the table's
 * owner or as the unprivileged probe role, never as the connecting user:
 * a table's owner gains nothing from the probe running its code. */
#ifndef GM_PROBE_H
#define GM_PROBE_H

#include <stddef.h>

#include "gm_definer.h"
#include "gm_tenancy.h"

struct gm_db;
struct gm_error;
struct gm_verify_opts;
struct gm_verify_result;

enum gm_probe_state {
	GM_PROBE_PASSED,
	GM_PROBE_FAILED,
	GM_PROBE_SKIPPED,	/* could not be run; never counted as passed */
};

const char *gm_probe_state_name(enum gm_probe_state s);

/* One behavioural check of the isolation probe. */
struct gm_probe_check {
	char *table;		/* "public.orders" */
	char *command;		/* SELECT, INSERT, UPDATE, DELETE, ALL, ROLE */
	char *expectation;	/* "tenant B cannot read tenant A's private rows" */
	enum gm_probe_state state;
	char *result;		/* what happened, or why it was skipped */
};

/* In one transaction that always rolls back: a role subject to RLS (a
 * temporary one, opts->as_role, or a temporary member of opts->app_role),
 * two synthetic tenants with rows in every tenant table of the given
 * schemas, then as tenant B every command on every tenant table against
 * tenant A's rows.  Adds its checks to res->probe, failures (errors) and
 * skipped tables (warnings) to res->findings.  An error is returned only
 * when the probe could not run at all. */
struct gm_error *gm_probe_run(struct gm_db *db, char *const *schemas, size_t nschemas,
			      const struct gm_verify_opts *opts, struct gm_verify_result *res);

/* ---- internal to probe*.c ---- */

struct gm_pcol {
	char *name;		/* as in the catalog */
	char *q;		/* quoted for SQL */
	char *type;		/* format_type(), for messages */
	char *base;		/* type name, domains resolved one level ("uuid") */
	char category;		/* pg_type.typcategory ('S' string, 'N' numeric, ...) */
	char *label;		/* first enum label, or NULL */
	int attnum;
	int not_null, has_default, insertable;
	int ref;		/* table a single-column foreign key refers to, or -1 */
	int ref_pk;		/* ... and it refers to that table's primary key */
};

struct gm_ptable {
	unsigned long oid;
	char *name;		/* "public.orders", as reports name it */
	char *q;		/* "public"."orders", quoted for SQL */
	char *qowner;		/* the owner, quoted */
	int owner_bypasses;	/* owner is superuser or has BYPASSRLS */
	int can_become_owner;	/* the connecting user may SET ROLE to it */
	int rls, force, partition;
	struct gm_pcol *cols;
	size_t ncols;
	int pk;			/* column of a single-column primary key, or -1 */
	char *noop;		/* "col = col" for an UPDATE that changes nothing, or NULL */
	int org;		/* the tenant column (organization_id), or -1 */
	int cref;		/* a table a composite foreign key refers to, or -1 */
	int tenant;		/* holds tenant rows (org column or FK to a tenant table) */
	int needed;		/* gets fixture rows (tenant, or parent of one) */
	int has_public, has_system;	/* a public-read column (pubcol, A's row
					   readable by all), and a second one for
					   rows of no tenant (syscol) */
	int pubcol, syscol;
	char *row[2];		/* tenant A's and B's private (or only) row: primary key */
	char *pub;		/* A's public row */
	char *sys;		/* a system row (no organization) */
	char *sys_skip;		/* why there is no system row */
	char *skip;		/* why the table cannot be probed */
	char *digest;		/* of A's rows, before B acted */
};

struct gm_ptables {
	struct gm_ptable *v;
	size_t n;
};

/* Outcome of one probe statement. */
struct gm_poutcome {
	int ok;
	long affected;
	char *value;		/* first column of the first row */
	char *sqlstate;
	char *message;
};

/* A role the probe acts as, through its wrapper function. */
struct gm_prole {
	char *q;		/* the role, quoted */
	char *fn;		/* pg_temp function running SQL as it, or NULL */
	char *oid, *xmin;	/* the function as made: any change to it shows */
	char *why;		/* why the wrapper could not be made */
};

/* The probe's session: the connection, the acting role and the tenants. */
struct gm_probe {
	struct gm_db *db;
	const struct gm_verify_opts *opts;
	const struct gm_tenancy *tenancy;	/* names of the tenancy conventions */
	struct gm_verify_result *res;
	struct gm_ptables t;
	struct gm_prole **roles;	/* [0]: the role the checks act as */
	struct gm_prole *maker;	/* makes privileged owners' rows, or NULL (probe_roles.c) */
	int super;		/* the connecting user is a superuser */
	int holding;		/* event triggers are held (gm_probe_hold_event_triggers) */
	size_t nroles;
	int context_early;	/* fixtures need a tenant context (see probe.c) */
	int orgs;		/* the table tenants are rows of, or -1 */
	char *org[2];		/* A's and B's tenant values */
	unsigned serial;	/* for unique generated values */
	struct gm_error *broken;	/* the transaction ended: stop at once */
};

/* Reads tables, columns and keys of the schemas; classifies tenant
 * tables.  Three queries whatever the number of tables. */
struct gm_error *gm_probe_load(struct gm_probe *p, char *const *schemas, size_t nschemas);
void gm_probe_tables_release(struct gm_ptables *t);
/* The probe's table whose oid a query printed (oid_text), or NULL. */
const struct gm_ptable *gm_probe_table_of(const struct gm_probe *p, const char *oid_text);
/* Index of t's column called name, or -1. */
int gm_probe_column(const struct gm_ptable *t, const char *name);

/* Runs one statement of the connecting user (catalog, settings, roles)
 * with text parameters, in a savepoint: an error is an outcome, not the
 * end of the probe. */
void gm_probe_exec(struct gm_probe *p, struct gm_poutcome *o, const char *sql,
		   int nparams, const char *const *params);
/* Runs one statement (its values quoted in it) as a role, through a
 * SECURITY DEFINER wrapper that role owns: inside it the code the
 * statement sets off (triggers, defaults, policies) runs as that role and
 * cannot SET ROLE or RESET ROLE back to the connecting user. */
void gm_probe_exec_as(struct gm_probe *p, struct gm_prole *role, const char *sql, int returns_rows,
		      struct gm_poutcome *o);
void gm_poutcome_release(struct gm_poutcome *o);

/* The tenant setting: tenant i (0 A, 1 B), '' for -1; -2 leaves it. */
void gm_probe_set_tenant(struct gm_probe *p, int tenant);
/* Who makes t's rows: the maker role for a table whose owner is a
 * superuser or has BYPASSRLS (when the connecting user is a superuser,
 * which can make one), else its owner when the connecting user may act as
 * it, else the probe role. */
struct gm_prole *gm_probe_maker(struct gm_probe *p, const struct gm_ptable *t);
/* Whether rows made by t's maker bypass RLS (no tenant context needed). */
int gm_probe_maker_bypasses(struct gm_probe *p, const struct gm_ptable *t);

/* Event triggers held while the probe makes roles, grants and wrappers;
 * released with what hold returned (probe_exec.c). */
char *gm_probe_hold_event_triggers(struct gm_probe *p);
void gm_probe_release_event_triggers(struct gm_probe *p, char *was);

/* One statement of the probe's own bookkeeping (a savepoint). */
void gm_probe_plain(struct gm_probe *p, const char *sql);
/* The role quoted as qrole, with its wrapper made on first use (p->roles);
 * its fn is NULL and its why says why when the probe cannot act as it. */
struct gm_prole *gm_probe_role_add(struct gm_probe *p, const char *qrole);
/* The role the checks act as: a temporary one, a temporary member of
 * --app-role, or --as-role (probe_roles.c). */
struct gm_error *gm_probe_prepare_role(struct gm_probe *p, const struct gm_verify_opts *o,
				       char *const *schemas, size_t nschemas);
/* --app-role: the application role cannot bypass RLS. */
void gm_probe_check_app_role(struct gm_probe *p, const char *role);

/* Records a check (table: the object's name as reports show it). */
struct gm_probe_check *gm_probe_add_check(struct gm_probe *p, const char *table, const char *cmd,
					  enum gm_probe_state state, const char *expectation, const char *result);
/* As tenant B: reads through every view and materialized view of the
 * schemas that reads a tenant table (probe_views.c). */
void gm_probe_check_views(struct gm_probe *p, char *const *schemas, size_t nschemas);

/* gm_definer_callees over the database (ctx: the probe): what a call, an
 * operator, a cast or a write there runs, but the built-in and
 * extensions' code (probe_reach.c). */
size_t gm_probe_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs);
/* Marks skipped, saying why, each table needing rows whose making would
 * run code of another role (not a superuser, not the owner) that its
 * triggers, defaults, checks, indexes and rules call, as deep as their
 * bodies can be read: as the owner, it would borrow the owner's rights;
 * as the maker role, read every row. */
void gm_probe_skip_foreign_code(struct gm_probe *p);

/* Makes fixture rows, parents before children. */
void gm_probe_make_fixtures(struct gm_probe *p);
/* A new value of column c's type, as parameter text (caller frees), or
 * NULL when the probe cannot make one. */
char *gm_probe_new_value(struct gm_probe *p, const struct gm_pcol *c, int tenant);

#endif
