/* gm_engine.h - plan (what is applied, pending, modified, missing) and
 * apply migrations. */
#ifndef GM_ENGINE_H
#define GM_ENGINE_H

#include <stddef.h>

#include "gm_history.h"
#include "gm_migration.h"
#include "gm_script.h"

struct gm_db;
struct gm_error;

enum gm_state {
	GM_STATE_APPLIED,	/* in history, file unchanged */
	GM_STATE_PENDING,	/* file without history row */
	GM_STATE_MODIFIED,	/* in history, file's checksum differs */
	GM_STATE_MISSING,	/* in history, no file */
	GM_STATE_FAILED,	/* a no-transaction migration failed or was interrupted */
	GM_STATE_RUNNING,	/* a no-transaction migration another session runs */
};
#define GM_STATE_COUNT 6

const char *gm_state_name(enum gm_state s);

struct gm_status_item {
	unsigned long long version;
	enum gm_state state;
	const struct gm_migration *m;	/* NULL when missing */
	const struct gm_applied *a;	/* NULL when pending */
	int out_of_order;		/* pending below the newest applied */
};

struct gm_status {
	struct gm_status_item *v;	/* by version */
	size_t n;
	size_t count[GM_STATE_COUNT];
};

/* Merges files and history; the status points into both, which must
 * outlive it. */
void gm_status_build(const struct gm_migration_set *set, const struct gm_history *h,
		     struct gm_status *out);
void gm_status_release(struct gm_status *st);

/* The first applied migration whose file changed or disappeared, as an
 * error naming every such migration, or NULL when history and files
 * agree. */
struct gm_error *gm_status_check_drift(const struct gm_status *st);

/* Events of a run, in order.  For progress: STARTING when the server
 * starts on a migration (it was sent, and the one before it in its batch
 * committed), then RUNNING about every GM_DB_WAIT_TICK_MS (gm_db.h) while
 * up waits for it, then APPLIED or SKIPPED, or the run stops with its
 * error.  A migration may start again (a batch is sent again after a
 * syntax error in a later migration, or up plans again after a concurrent
 * run changed the history).  Under --single-transaction the run is one
 * transaction: no STARTING, and RUNNING comes with m NULL, ms counted from
 * the start of the run. */
enum gm_up_event_kind {
	GM_UP_APPLIED,		/* applied and recorded */
	GM_UP_SKIPPED,		/* another run applied it first */
	GM_UP_DRY_RUN,		/* would apply it; sql is what would run */
	GM_UP_STARTING,		/* the server starts on it now */
	GM_UP_RUNNING,		/* still running, ms so far */
};

struct gm_up_event {
	enum gm_up_event_kind kind;
	const struct gm_migration *m;	/* NULL only for RUNNING, as above */
	double ms;		/* APPLIED: wall-clock time from the one before
				 * (or the batch's start) until its commit was
				 * answered; RUNNING: from the same start until
				 * now */
	int reconciled;		/* applied, but learnt from the history after
				 * the connection dropped (ms unknown) */
};

struct gm_up_opts {
	int dry_run;
	int single_transaction;
	int allow_out_of_order;
	int allow_isolation_loss;	/* tables may keep rows with less RLS isolation */
	int has_target;
	unsigned long long target;	/* apply up to and including this one */
	struct gm_txn_limits limits;
	const char *os_user;		/* recorded in history; may be NULL */
	void (*on_event)(void *ctx, const struct gm_up_event *ev);
	/* Called with the migrations the run will apply, in order, before
	 * anything is sent (dry runs too); an error stops up (the lint). */
	struct gm_error *(*preflight)(void *ctx, const struct gm_migration *const *todo, size_t n);
	void *ctx;
};

struct gm_up_result {
	size_t applied;
	size_t skipped;
	size_t pending;		/* what was pending when the run started */
};

/* Applies pending migrations in order, each in its own transaction with
 * its history row (or all in one with single_transaction).  Stops at the
 * first failure, which is rolled back and returned as an error located in
 * the migration's file. */
struct gm_error *gm_engine_up(struct gm_db *db, const struct gm_migration_set *set,
			      const struct gm_up_opts *opts, struct gm_up_result *result);

#endif
