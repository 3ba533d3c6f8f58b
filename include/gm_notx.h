/* gm_notx.h - applying a migration that cannot run in a transaction
 * (see notx.c for how it stays honest without one). */
#ifndef GM_NOTX_H
#define GM_NOTX_H

struct gm_db;
struct gm_error;
struct gm_migration;
struct gm_up_opts;

/* Claims, runs statement by statement, records the outcome.  *skipped is
 * set when another run applied it first. */
struct gm_error *gm_notx_apply(struct gm_db *db, const struct gm_migration *m, int ensure_history,
			       const struct gm_up_opts *o, int *skipped);

#endif
