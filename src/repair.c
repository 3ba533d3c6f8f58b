/* repair.c - baseline and repair: history maintenance, audited. */
#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Raised when the history changed between reading and locking it. */
#define SQLSTATE_HISTORY_CHANGED "GMA03"

/* Maintenance waits for running migrations as long as up would. */
static const struct gm_txn_limits limits = { NULL, NULL, NULL };

/* Runs sc (which must end in COMMIT); on failure rolls back. */
static struct gm_error *run_maintenance(struct gm_db *db, const struct gm_script *sc,
					const char *changed_msg)
{
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const struct gm_migration *blamed;

	gm_script_run(db, sc, &oc);
	if (oc.error) {
		if (gm_sqlstate_is(oc.error, SQLSTATE_HISTORY_CHANGED)) {
			err = gm_error_new(GM_ERR_DRIFT, "%s", changed_msg);
			gm_error_advise(err, "another garage-migrate run changed the history meanwhile; look at garage-migrate list and try again");
		} else {
			err = gm_script_error(db, sc, &oc, &blamed);
		}
		if (!oc.connection_lost)
			PQclear(PQexec(db->conn, "ROLLBACK"));
	}
	gm_outcome_release(&oc);
	return err;
}

struct gm_error *gm_engine_baseline(struct gm_db *db, const struct gm_migration_set *set,
				    unsigned long long version, const char *os_user, size_t *n)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_history hist;
	struct gm_error *err;
	size_t k, found = 0;

	*n = 0;
	for (k = 0; k < set->n; k++)
		if (set->v[k]->version == version)
			found = 1;
	if (!found)
		return gm_error_new(GM_ERR_USAGE, "no migration has version %llu", version);
	if ((err = gm_history_read(db, &hist)))
		return err;
	if (hist.n > 0) {
		err = gm_error_new(GM_ERR_DRIFT, "cannot baseline: the history already records %zu migration%s",
				   hist.n, hist.n == 1 ? "" : "s");
		gm_error_advise(err, "baseline is for a database whose objects were made without garage-migrate; see garage-migrate list");
		gm_history_release(&hist);
		return err;
	}
	if (!hist.exists && (err = gm_history_ensure(db))) {
		gm_history_release(&hist);
		return err;
	}
	gm_history_release(&hist);

	gm_script_begin(&sc, db, &limits);
	gm_script_ours(&sc, 2,
		"DO $gm$BEGIN IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE ") THEN RAISE EXCEPTION"
		" USING ERRCODE = '" SQLSTATE_HISTORY_CHANGED "', MESSAGE = 'history not empty'; END IF; END$gm$;\n"
		GM_HISTORY_MARK_T0 ";\n");
	for (k = 0; k < set->n && set->v[k]->version <= version; k++) {
		struct gm_strbuf rec = GM_STRBUF_INIT;
		gm_history_add_record_sql(db, &rec, set->v[k], "baseline", os_user);
		gm_script_ours(&sc, GM_HISTORY_RECORD_STMTS, "%s", rec.buf);
		gm_strbuf_release(&rec);
		(*n)++;
	}
	gm_script_ours(&sc, 1, "COMMIT;\n");
	err = run_maintenance(db, &sc, "cannot baseline: the history is no longer empty");
	if (err)
		*n = 0;
	gm_script_release(&sc);
	return err;
}

/* One history change, with parameters: values read back from the history
 * are never spliced into SQL text.  It must touch exactly one row: none
 * means another run changed the entry since it was read. */
static struct gm_error *change_one(struct gm_db *db, const char *sql, int n, const char *const *params)
{
	PGresult *res = NULL;
	struct gm_error *err = gm_db_exec_params(db, sql, n, params, "cannot change the history", &res);

	if (!err && strcmp(PQcmdTuples(res), "1") != 0) {
		err = gm_error_new(GM_ERR_DRIFT, "repair abandoned: the history changed since it was read");
		gm_error_advise(err, "another garage-migrate run changed the history meanwhile; look at garage-migrate list and try again");
	}
	PQclear(res);
	return err;
}

/* Repairs one entry and audits it. */
static struct gm_error *repair_item(struct gm_db *db, const struct gm_status_item *it, const char *os_user)
{
	char version[32], *note;
	struct gm_error *err;

	snprintf(version, sizeof(version), "%llu", it->version);
	if (it->state == GM_STATE_MODIFIED) {
		const char *params[4] = { it->m->checksum, it->m->filename, version, it->a->checksum };
		err = change_one(db, "UPDATE " GM_HISTORY_TABLE " SET checksum = $1, script = $2"
				     " WHERE version = $3 AND checksum = $4", 4, params);
		note = gm_xasprintf("checksum %s -> %s", it->a->checksum, it->m->checksum);
	} else {
		const char *params[2] = { version, it->a->checksum };
		err = change_one(db, "DELETE FROM " GM_HISTORY_TABLE " WHERE version = $1 AND checksum = $2", 2, params);
		note = gm_xstrdup("removed the entry of a missing file");
	}
	if (!err)
		err = gm_history_audit(db, "repair", it->version, it->a->name,
				       it->state == GM_STATE_MODIFIED ? it->m->checksum : it->a->checksum,
				       "ok", os_user, note);
	free(note);
	return err;
}

struct gm_error *gm_engine_repair(struct gm_db *db, const struct gm_status *st,
				  int remove_missing, const char *os_user)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const struct gm_migration *blamed;
	size_t k;

	/* Repair is rare and small: a round trip per change is fine, and
	 * lets every value travel as a parameter. */
	gm_script_begin(&sc, db, &limits);
	gm_script_run(db, &sc, &oc);
	if (oc.error)
		err = gm_script_error(db, &sc, &oc, &blamed);
	for (k = 0; k < st->n && !err; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (it->state == GM_STATE_MODIFIED || (it->state == GM_STATE_MISSING && remove_missing))
			err = repair_item(db, it, os_user);
	}
	if (!err)
		err = gm_db_exec(db, "COMMIT", "cannot record the repair", NULL);
	if (err && !oc.connection_lost)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}
