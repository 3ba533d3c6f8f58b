/* gm_reconcile.h - what happened to a transaction whose connection was
 * lost.
 *
 * When the connection drops after a migration's script was sent, the
 * server may have committed it (the COMMIT ran, its acknowledgement was
 * lost) or rolled it back (the session died first).  The client cannot
 * tell from its side; the history can: a migration and its history row
 * commit together.  So: reconnect, wait for the migration lock (the lost
 * session holds it until its transaction has ended, one way or the other)
 * and read the history.  Never state an outcome that was not observed. */
#ifndef GM_RECONCILE_H
#define GM_RECONCILE_H

struct gm_db;
struct gm_error;
struct gm_history;
struct gm_txn_limits;

enum gm_recorded {
	GM_RECORDED_UNKNOWN = -1,	/* could not reconnect or read it */
	GM_RECORDED_NO = 0,
	GM_RECORDED_YES = 1,
};

/* Reconnects db (retrying for a few seconds: a crashed server restarts),
 * then tells whether the history records version with checksum as
 * applied.  On GM_RECORDED_UNKNOWN, *why (caller frees) says why. */
enum gm_recorded gm_reconcile_recorded(struct gm_db *db, const struct gm_txn_limits *lim,
				       unsigned long long version, const char *checksum, char **why);

/* The same reconnection and read, for several transactions at once (a
 * batch of up): 0 and the history in *h (caller releases it), or -1 with
 * *why (caller frees). */
int gm_reconcile_read(struct gm_db *db, const struct gm_txn_limits *lim, struct gm_history *h, char **why);

/* Rewrites err, a lost connection while filename's transaction was in
 * flight, with what reconciling found.  done says whether the work took
 * effect (up: recorded; rollback: no longer recorded); the exit status
 * follows: 4 when it is known not to have happened, 7 otherwise. */
void gm_reconcile_explain(struct gm_error *err, const char *filename, const char *action,
			  enum gm_recorded done, const char *why, const char *next);

#endif
