/* gm_rollback.h - stepping back, all or nothing, under the data-loss and
 * isolation guard (rollback.c; the guard is gm_guard.h). */
#ifndef GM_ROLLBACK_H
#define GM_ROLLBACK_H

#include "gm_engine.h"

struct gm_removals;

enum gm_rollback_event_kind {
	GM_RB_PLANNED,		/* dry run: would roll back m, removing what removed says */
	GM_RB_DONE,		/* rolled back and its history row removed */
	GM_RB_ISOLATION,	/* tables left with rows but less isolation (m is NULL) */
	GM_RB_TRYING,		/* its down starts in the trial (for progress; a
				 * DONE or PLANNED event follows only if all pass) */
	GM_RB_RUNNING,		/* about every GM_DB_WAIT_TICK_MS while the trial
				 * waits for the server (m is NULL) */
};

struct gm_rollback_event {
	enum gm_rollback_event_kind kind;
	const struct gm_migration *m;
	const struct gm_applied *a;
	double ms;		/* the time its down took in the trial */
	const struct gm_removals *removed;	/* what it dropped, deleted, ... with counts */
};

struct gm_rollback_opts {
	int dry_run;
	unsigned long long steps;	/* 0: see has_target; default 1 */
	int has_target;
	unsigned long long target;	/* roll back everything above it; 0 = all */
	int allow_data_loss;
	int allow_isolation_loss;	/* tables may keep rows without RLS isolation */
	struct gm_txn_limits limits;
	const char *os_user;
	void (*on_event)(void *ctx, const struct gm_rollback_event *ev);
	void *ctx;
};

struct gm_rollback_result {
	size_t planned;
	size_t done;
	/* After a dry run or a refusal: sequences whose value changed while
	 * the downs were tried ("public.s from 1004 to 1000, ..."), which
	 * ROLLBACK does not undo (setval, nextval; the application's own
	 * traffic shows too).  NULL when none; the caller frees it. */
	char *sequences_moved;
};

/* Rolls back applied migrations in reverse apply order, all in one
 * transaction with the removal of their history rows.  The plan is
 * checked first (every migration has a down, its file is there and
 * unchanged); then every down runs under the data-loss and isolation
 * guard (gm_guard.h), and a refusal, a failure or a dry run rolls the
 * whole transaction back: nothing changes. */
struct gm_error *gm_engine_rollback(struct gm_db *db, const struct gm_migration_set *set,
				    const struct gm_rollback_opts *opts,
				    struct gm_rollback_result *result);

#endif
