/* reconcile.c - the outcome of a transaction whose connection was lost
 * (see gm_reconcile.h). */
#include "gm_reconcile.h"
#include "gm_db.h"
#include "gm_error.h"
#include "gm_history.h"
#include "gm_script.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A crashed server takes a few seconds to accept connections again. */
#define RECONNECT_TRIES 20
#define RECONNECT_PAUSE_US (500 * 1000)

static int reconnect(struct gm_db *db, char **why)
{
	struct gm_error *err = NULL;

	for (int k = 0; k < RECONNECT_TRIES; k++) {
		gm_error_free(err);
		if (!(err = gm_db_reconnect(db)))
			return 0;
		usleep(RECONNECT_PAUSE_US);
	}
	*why = gm_xasprintf("could not reconnect: %s", err->msg);
	gm_error_free(err);
	return -1;
}

/* Reads the history under the migration lock, in a transaction that is
 * rolled back: reconciling changes nothing. */
static int read_under_lock(struct gm_db *db, const struct gm_txn_limits *lim, struct gm_history *h, char **why)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err;
	int rc = -1;

	gm_script_begin(&sc, db, lim);
	gm_script_run(db, &sc, &oc);
	if (oc.error) {
		err = gm_db_error(db, oc.error, GM_ERR_DB, "cannot take the migration lock");
		*why = gm_xstrdup(err->msg);
		gm_error_free(err);
	} else if ((err = gm_history_read(db, h))) {
		*why = gm_xstrdup(err->msg);
		gm_error_free(err);
	} else {
		rc = 0;
	}
	PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return rc;
}

int gm_reconcile_read(struct gm_db *db, const struct gm_txn_limits *lim, struct gm_history *h, char **why)
{
	*why = NULL;
	if (reconnect(db, why) != 0)
		return -1;
	return read_under_lock(db, lim, h, why);
}

enum gm_recorded gm_reconcile_recorded(struct gm_db *db, const struct gm_txn_limits *lim,
				       unsigned long long version, const char *checksum, char **why)
{
	struct gm_history h;
	const struct gm_applied *a;
	enum gm_recorded rec;

	if (gm_reconcile_read(db, lim, &h, why) != 0)
		return GM_RECORDED_UNKNOWN;
	a = gm_history_find(&h, version);
	rec = a && !strcmp(a->checksum, checksum) && (!a->status || !strcmp(a->status, "applied"))
		? GM_RECORDED_YES : GM_RECORDED_NO;
	gm_history_release(&h);
	return rec;
}

void gm_reconcile_explain(struct gm_error *err, const char *filename, const char *action,
			  enum gm_recorded done, const char *why, const char *next)
{
	char *msg = gm_xasprintf("the connection to the database was lost while %s %s", action, filename);

	/* The server's or libpq's words stay, as detail. */
	free(err->detail);
	err->detail = err->msg;
	err->msg = msg;
	switch (done) {
	case GM_RECORDED_YES:
		err->kind = GM_ERR_DB;
		gm_error_advise(err, "reconnected and read the history: the server committed it before the connection"
				     " dropped, so it took effect; %s", next);
		break;
	case GM_RECORDED_NO:
		err->kind = GM_ERR_MIGRATION;
		gm_error_advise(err, "reconnected and read the history: the server rolled it back, so nothing of it took effect;"
				     " %s", next);
		break;
	default:
		err->kind = GM_ERR_DB;
		gm_error_advise(err, "whether the server committed it is unknown (%s); a migration and its history row"
				     " commit together, so garage-migrate list tells once the database is reachable",
				why ? why : "no answer");
		break;
	}
}
