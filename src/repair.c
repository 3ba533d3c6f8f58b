/* repair.c - baseline and repair: history maintenance, audited. */
#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_script.h"

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

/* The statements that repair one entry, guarded so a concurrent change
 * aborts the whole repair instead of being overwritten. */
static void repair_item(struct gm_db *db, struct gm_script *sc, const struct gm_status_item *it,
			const char *user)
{
	char *name = gm_db_quote_literal(db, it->a->name);
	char *old = gm_db_quote_literal(db, it->a->checksum);

	if (it->state == GM_STATE_MODIFIED) {
		char *script = gm_db_quote_literal(db, it->m->filename);
		gm_script_ours(sc, 2,
			"DO $gm$BEGIN UPDATE " GM_HISTORY_TABLE " SET checksum = '%s', script = %s"
			" WHERE version = %llu AND checksum = %s; IF NOT FOUND THEN RAISE EXCEPTION"
			" USING ERRCODE = '" SQLSTATE_HISTORY_CHANGED "', MESSAGE = 'changed'; END IF; END$gm$;\n"
			"INSERT INTO " GM_AUDIT_TABLE " (action, version, name, checksum, outcome, os_user, message)"
			" VALUES ('repair', %llu, %s, '%s', 'ok', NULLIF(%s, ''), 'checksum ' || %s || ' -> %s');\n",
			it->m->checksum, script, it->version, old, it->version, name, it->m->checksum,
			user, old, it->m->checksum);
		free(script);
	} else {
		gm_script_ours(sc, 2,
			"DO $gm$BEGIN DELETE FROM " GM_HISTORY_TABLE " WHERE version = %llu AND checksum = %s;"
			" IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_HISTORY_CHANGED "',"
			" MESSAGE = 'changed'; END IF; END$gm$;\n"
			"INSERT INTO " GM_AUDIT_TABLE " (action, version, name, checksum, outcome, os_user, message)"
			" VALUES ('repair', %llu, %s, %s, 'ok', NULLIF(%s, ''), 'removed the entry of a missing file');\n",
			it->version, old, it->version, name, old, user);
	}
	free(name);
	free(old);
}

struct gm_error *gm_engine_repair(struct gm_db *db, const struct gm_status *st,
				  int remove_missing, const char *os_user)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_error *err;
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");
	size_t k;

	gm_script_begin(&sc, db, &limits);
	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (it->state == GM_STATE_MODIFIED ||
		    (it->state == GM_STATE_MISSING && remove_missing))
			repair_item(db, &sc, it, user);
	}
	gm_script_ours(&sc, 1, "COMMIT;\n");
	err = run_maintenance(db, &sc, "repair abandoned: the history changed since it was read");
	gm_script_release(&sc);
	free(user);
	return err;
}
