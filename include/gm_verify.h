/* gm_verify.h - verify: history against files, the live schema against the
 * committed snapshot, the RLS lints (gm_lint.h) and, on request, the
 * isolation probe (gm_probe.h); read-only.  What they find are findings
 * (gm_findings.h).  And dump, which reads the live schema. */
#ifndef GM_VERIFY_H
#define GM_VERIFY_H

#include <stddef.h>

#include "gm_findings.h"
#include "gm_migration.h"
#include "gm_model.h"
#include "gm_probe.h"

struct gm_db;
struct gm_error;
struct gm_tenancy;

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
	/* Called after each isolation check (n made so far), for a progress
	 * line; may be NULL. */
	void (*on_progress)(void *ctx, size_t n, const struct gm_probe_check *last);
	void *ctx;
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
