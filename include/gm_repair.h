/* gm_repair.h - adopting an existing database (baseline) and bringing the
 * history back in line with the files (repair); repair.c. */
#ifndef GM_REPAIR_H
#define GM_REPAIR_H

#include "gm_engine.h"

/* Records every migration up to and including version as applied without
 * running it (kind "baseline"), for a database that already has those
 * objects.  Refuses when the history records anything, and, unless force,
 * when the database does not hold what those migrations make: each up is
 * tried, statement by statement, in a transaction always rolled back, and
 * must change nothing in the catalog (its statements fail as "already
 * exists" or change nothing).  The trial runs on live tables: lim bounds
 * it (a lock timeout of GM_BASELINE_LOCK_TIMEOUT when lim has none), a
 * statement calling setval() is not run (a sequence moved stays moved
 * whatever is rolled back), and a sequence the trial moved anyway fails
 * it.  *n receives the number recorded. */
#define GM_BASELINE_LOCK_TIMEOUT "5s"
struct gm_error *gm_engine_baseline(struct gm_db *db, const struct gm_migration_set *set,
				    unsigned long long version, int force, const struct gm_txn_limits *lim,
				    const char *os_user, size_t *n);

/* Records the current checksum of every modified migration, deletes the
 * history rows of failed or interrupted no-transaction migrations and,
 * with remove_missing, those of missing ones; audited, in one
 * transaction.  st says what to repair (build it from a fresh read). */
struct gm_error *gm_engine_repair(struct gm_db *db, const struct gm_status *st,
				  int remove_missing, int allow_newer, const char *os_user);

/* Refuses a repair that would remove the entries of applied migrations
 * newer than every file in dir (remove_missing): run from the wrong folder,
 * or an old checkout of the right one, --remove-missing would drop them,
 * and the next up would run them again on a live schema.  Files deleted
 * below the newest one (a squash) are missing as intended; newer ones
 * only with allow_newer (abandoned migrations).  gm_engine_repair checks
 * it too; dir names the folder in the error (may be NULL). */
struct gm_error *gm_repair_check(const struct gm_status *st, int remove_missing, int allow_newer, const char *dir);

#endif
