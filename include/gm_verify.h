/* gm_verify.h - verify: history against files, the live schema against the
 * committed snapshot, and RLS lints; read-only.
 *
 * Every problem is a finding with a stable name, a level, the object it is
 * about, a one-line message and, for lints, a one-line remedy. */
#ifndef GM_VERIFY_H
#define GM_VERIFY_H

#include <stddef.h>

#include "gm_migration.h"
#include "gm_model.h"
#include "gm_probe.h"

struct gm_db;
struct gm_error;

enum gm_level {
	GM_LEVEL_ERROR,		/* fails verify */
	GM_LEVEL_WARNING,	/* reported; fails only with --strict */
};

const char *gm_level_name(enum gm_level level);

/* The checks, in the order they run and are reported. */
enum gm_check {
	GM_CHECK_HISTORY,
	GM_CHECK_SCHEMA,
	GM_CHECK_RLS,
	GM_CHECK_ISOLATION,	/* only with --isolation */
};
#define GM_CHECK_COUNT 4
const char *gm_check_name(enum gm_check check);

struct gm_finding {
	enum gm_check check;
	char *name;		/* stable: "missing", "rls_disabled", ... */
	enum gm_level level;
	char *object;		/* "table public.orders", "0003_x.sql", ... */
	char *message;
	char *remedy;		/* NULL when there is nothing generic to say */
};

struct gm_findings {
	struct gm_finding *v;
	size_t n, cap;
};

void gm_findings_add(struct gm_findings *f, enum gm_check check, const char *name,
		     enum gm_level level, const char *object, const char *remedy,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void gm_findings_release(struct gm_findings *f);
size_t gm_findings_count(const struct gm_findings *f, int check, enum gm_level level);

/* The RLS lints on a model of the live schema (see garage-migrate(1) for
 * the list).  Tenant tables are those with a tenant column and those
 * whose foreign keys reach one; every other table of an exposed schema
 * must have RLS or be declared global.  tenancy NULL: AI Garage's. */
struct gm_tenancy;
void gm_lint_rls(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out);

/* The lints on what surrounds the tables (see garage-migrate(1)): a tenant
 * table or column granted to PUBLIC, a view or materialized view that
 * reads a tenant or RLS table as its owner, a SECURITY DEFINER function
 * without its own search_path. */
void gm_lint_objects(const struct gm_model *m, const struct gm_tenancy *tenancy, struct gm_findings *out);

/* The tenant tables of m ("public.orders"), in the model's order; caller
 * frees each and the array. */
char **gm_tenant_tables(const struct gm_model *m, const struct gm_tenancy *tenancy, size_t *n);

/* How long verify and dump wait for a lock on what they read, and each
 * statement of the isolation probe (a lock held that long is reported:
 * as an error for the catalog reads, as the check's outcome in the probe). */
#define GM_READ_LOCK_TIMEOUT "30s"
#define GM_PROBE_LOCK_TIMEOUT "5s"

struct gm_verify_opts {
	const char *snapshot_path;	/* required */
	int allow_pending;
	int isolation;			/* run the behavioural probe */
	const char *as_role;		/* probe as this existing role */
	const char *app_role;		/* check that this role cannot bypass RLS */
	/* When the snapshot file does not exist, skip the drift check and run
	 * the others on these schemas, instead of failing (set when the path
	 * is a default, not one the user typed). */
	int snapshot_optional;
	char *const *schemas;
	size_t nschemas;
	const struct gm_tenancy *tenancy;	/* NULL: AI Garage's conventions */
	const char *lock_timeout;	/* the catalog reads' wait; NULL: GM_READ_LOCK_TIMEOUT */
};

struct gm_verify_result {
	struct gm_findings findings;
	int ran[GM_CHECK_COUNT];	/* which checks ran */
	int skipped[GM_CHECK_COUNT];	/* which were skipped (reported, never passed) */
	struct gm_probe_check *probe;	/* isolation checks, in order */
	size_t nprobe;
	size_t applied, pending;	/* from the history check */
	size_t facts;			/* facts compared */
	char **schemas;			/* from the snapshot (borrowed until release) */
	size_t nschemas;
};

/* Runs all checks in one READ ONLY transaction; creates and changes
 * nothing.  An error is returned only when verify could not run; problems
 * found are findings. */
struct gm_error *gm_engine_verify(struct gm_db *db, const struct gm_migration_set *set,
				  const struct gm_verify_opts *opts, struct gm_verify_result *res);
void gm_verify_result_release(struct gm_verify_result *res);
/* Whether verify passes: no error; with strict, no warning and no check
 * skipped either. */
int gm_verify_passed(const struct gm_verify_result *res, int strict);

/* Reads the live schema for dump (read-only transaction). */
struct gm_error *gm_engine_dump(struct gm_db *db, char *const *schemas, size_t nschemas,
				const char *lock_timeout, struct gm_model *out);

#endif
