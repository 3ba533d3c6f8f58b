/* notx.c - migrations that cannot run in a transaction.
 *
 * CREATE INDEX CONCURRENTLY and friends refuse to run in a transaction
 * block, so such a migration cannot be applied-and-recorded atomically.
 * Instead:
 *   1. a claim: in a transaction holding the migration lock, its history
 *      row is written with status 'running' (replacing a failed or
 *      interrupted attempt), and committed, which releases the lock;
 *   2. its statements, one round trip each, in autocommit; after each, the
 *      row says how far it got;
 *   3. the row becomes 'applied', or 'failed' with what ran, what did not
 *      and how to clean up (an INVALID index left by CONCURRENTLY is named
 *      with its DROP command).
 * The migration lock is not held while the statements run: CREATE INDEX
 * CONCURRENTLY waits for every open transaction, including another run's
 * waiting for that lock, which would deadlock.  Other runs see the
 * 'running' row instead and stop; a row whose session is gone reads as
 * interrupted (gm_history_read), and up runs such a migration again. */
#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_notx.h"
#include "gm_script.h"
#include "gm_sqlstmt.h"
#include "gm_strbuf.h"

#include <stdlib.h>
#include <string.h>

#define SQLSTATE_ALREADY_APPLIED "GMA01"
#define SQLSTATE_RUNNING "GMA04"

static struct gm_error *claim(struct gm_db *db, const struct gm_migration *m, int ensure_history,
			      const struct gm_up_opts *o, int *skipped)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_strbuf sql = GM_STRBUF_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const struct gm_migration *blamed;

	*skipped = 0;
	gm_script_begin(&sc, db, &o->limits);
	if (ensure_history)
		gm_script_ours(&sc, 1, "%s", gm_history_ensure_sql);
	gm_script_ours(&sc, 1,
		"DO $gm$BEGIN"
		" IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE " WHERE version = %llu AND status = 'applied') THEN"
		"  RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_ALREADY_APPLIED "', MESSAGE = 'already applied';"
		" END IF;"
		" IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE " h"
		"  WHERE h.version = %llu AND h.status = 'running' AND " GM_HISTORY_CLAIM_LIVE("h") ") THEN"
		"  RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_RUNNING "', MESSAGE = 'running elsewhere';"
		" END IF; END$gm$;\n",
		m->version, m->version);
	gm_history_add_claim_sql(db, &sql, m, o->os_user);
	gm_script_ours(&sc, GM_HISTORY_CLAIM_STMTS + 1, "%sCOMMIT;\n", sql.buf);
	gm_script_run(db, &sc, &oc);
	if (oc.error) {
		if (gm_sqlstate_is(oc.error, SQLSTATE_ALREADY_APPLIED)) {
			*skipped = 1;
		} else if (gm_sqlstate_is(oc.error, SQLSTATE_RUNNING)) {
			err = gm_error_at(GM_ERR_LOCK, m->path, 0, 0,
				"another session is applying this migration outside a transaction right now");
			gm_error_advise(err, "let it finish, then run garage-migrate up again");
		} else {
			err = gm_script_error(db, &sc, &oc, &blamed);
		}
		if (!oc.connection_lost) {
			PQclear(PQexec(db->conn, "ROLLBACK"));
			if (err)
				gm_script_explain_lock(db, &sc, &oc, err);
		}
	}
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	gm_strbuf_release(&sql);
	return err;
}

/* Session settings for the statements: there is no transaction to scope
 * them to (so they are reset afterwards). */
static struct gm_error *session_limits(struct gm_db *db, const struct gm_up_opts *o, int on)
{
	struct gm_error *err = NULL;
	struct gm_strbuf sql = GM_STRBUF_INIT;

	/* Timeouts were checked by gm_check_timeouts (digits and a unit).
	 * The statements run with the user's path (pg_catalog taken out, so
	 * searched first), as a transaction's would: the connection's default
	 * may name pg_catalog after a schema others can write to. */
	if (on) {
		char *path = gm_db_user_path_sql(db, 0);

		gm_strbuf_addf(&sql, "%s;", path);
		free(path);
		if (db->server_version >= 140000)
			gm_strbuf_adds(&sql, "SET client_connection_check_interval = '1s';");
		if (o->limits.lock_timeout)
			gm_strbuf_addf(&sql, "SET lock_timeout = '%s';", o->limits.lock_timeout);
		if (o->limits.statement_timeout)
			gm_strbuf_addf(&sql, "SET statement_timeout = '%s';", o->limits.statement_timeout);
	} else {
		gm_strbuf_adds(&sql, "RESET search_path; RESET lock_timeout; RESET statement_timeout;");
		if (db->server_version >= 140000)
			gm_strbuf_adds(&sql, "RESET client_connection_check_interval;");
	}
	if (sql.len)
		err = gm_db_exec(db, sql.buf, on ? "cannot set the timeouts for the statements"
						 : "cannot reset the session's timeouts", NULL);
	gm_strbuf_release(&sql);
	return err;
}

/* The history row says how far the migration got; a failure to say so is
 * a failure of the run (the history would tell less than what ran).  The
 * session runs with the user's path here: the update pins the safe one
 * in a transaction of its own. */
static struct gm_error *note_progress(struct gm_db *db, const struct gm_migration *m, size_t done, size_t n)
{
	char *sql = gm_xasprintf(GM_SQL_BEGIN "; " GM_SQL_PIN_PATH "; UPDATE " GM_HISTORY_TABLE
				 " SET message = 'ran statement %zu of %zu'"
				 " WHERE version OPERATOR(pg_catalog.=) %llu; COMMIT", done, n, m->version);
	struct gm_error *err = gm_db_exec(db, sql, "cannot record the progress in " GM_HISTORY_TABLE, NULL);

	if (err && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	free(sql);
	return err;
}

/* Indexes left INVALID that the failing statement names, as DROP commands. */
static char *invalid_index_cleanup(struct gm_db *db, const struct gm_section *sec, size_t k)
{
	char *text = gm_section_stmt_text(sec, k), *out = NULL, *rels = gm_sql_stmt_relations(sec->sql, &sec->stmts.v[k]);
	const char *params[2] = { text, rels };
	PGresult *r = NULL;

	gm_error_free(gm_db_query_pinned(db,
		"SELECT string_agg('DROP INDEX CONCURRENTLY IF EXISTS ' || quote_ident(n.nspname) || '.'"
		" || quote_ident(c.relname) || ';', ' ' ORDER BY c.relname)"
		" FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE NOT i.indisvalid AND " GM_SQL_STMT_NAMES_RELATION,
		2, params, NULL, &r));

	if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		out = gm_xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(text);
	free(rels);
	return out;
}

/* *recording: the error is the history's, not a statement's. */
static struct gm_error *run_statements(struct gm_db *db, const struct gm_migration *m, size_t *done,
				       int *recording)
{
	const struct gm_section *sec = &m->up;
	struct gm_error *err = NULL;
	size_t k;

	for (k = 0; k < sec->stmts.n && !err; k++) {
		struct gm_script sc = GM_SCRIPT_INIT;
		struct gm_outcome oc;
		const struct gm_migration *blamed;

		gm_script_statement(&sc, m, sec, k);
		gm_script_run(db, &sc, &oc);
		if (oc.error) {
			err = gm_script_error(db, &sc, &oc, &blamed);
			if (!oc.connection_lost)
				gm_script_explain_lock(db, &sc, &oc, err);
		} else {
			*done = k + 1;
			if ((err = note_progress(db, m, k + 1, sec->stmts.n))) {
				*recording = 1;
				gm_error_advise(err, "statement %zu of %zu of %s ran and stays, but the history still says %s;"
						     " look at it (garage-migrate list), then run garage-migrate up again",
						k + 1, sec->stmts.n, m->filename,
						k ? "an earlier statement was the last to run" : "no statement has run yet");
			}
		}
		gm_outcome_release(&oc);
		gm_script_release(&sc);
	}
	return err;
}

/* What the user must know after a failure half way. */
static void explain_failure(struct gm_db *db, const struct gm_migration *m, size_t done,
			    struct gm_error *err)
{
	size_t n = m->up.stmts.n;
	char *cleanup = done < n ? invalid_index_cleanup(db, &m->up, done) : NULL;
	char *ran = done == 0 ? gm_xasprintf("no statement of %zu ran", n)
		  : done == 1 ? gm_xasprintf("statement 1 of %zu ran and stays", n)
			      : gm_xasprintf("statements 1-%zu of %zu ran and stay", done, n);
	char *advice = gm_xasprintf("outside a transaction, nothing is undone: %s; statement %zu failed%s. %s%s%s"
				    "fix the file and run garage-migrate up again: it runs the migration from its first"
				    " statement, so write it to be re-runnable (IF NOT EXISTS)",
				    ran, done + 1, done + 1 < n ? " and the rest did not run" : "",
				    cleanup ? "Clean up the invalid index it left: " : "", cleanup ? cleanup : "",
				    cleanup ? " Then " : "");

	free(err->advice);
	err->advice = advice;
	free(ran);
	free(cleanup);
}

/* Marks the history row applied or failed, with its audit entry. */
static struct gm_error *finish(struct gm_db *db, const struct gm_migration *m, const struct gm_up_opts *o,
			       int ok, const char *message, double ms)
{
	struct gm_strbuf sql = GM_STRBUF_INIT;
	struct gm_error *err;

	gm_strbuf_adds(&sql, GM_SQL_BEGIN ";\n" GM_SQL_PIN_PATH ";\n");
	gm_history_add_finish_sql(db, &sql, m, o->os_user, ok, message, (long long)ms);
	gm_strbuf_adds(&sql, "COMMIT;\n");
	err = gm_db_exec(db, sql.buf, ok ? "cannot mark the migration applied in " GM_HISTORY_TABLE
					 : "cannot mark the migration failed in " GM_HISTORY_TABLE, NULL);
	if (err) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		gm_error_advise(err, "%s; the history still says it is running (it reads as interrupted once this session"
				     " ends): check what ran, then run garage-migrate up again, or garage-migrate repair",
				ok ? "every statement of the migration ran and stays" : "the migration failed part way (see above)");
	}
	gm_strbuf_release(&sql);
	return err;
}

struct gm_error *gm_notx_apply(struct gm_db *db, const struct gm_migration *m, int ensure_history,
			       const struct gm_up_opts *o, int *skipped)
{
	struct gm_error *err;
	size_t done = 0;
	int recording = 0;
	double t0 = gm_monotonic_ms();

	if ((err = claim(db, m, ensure_history, o, skipped)) || *skipped)
		return err;
	if ((err = session_limits(db, o, 1))) {
		struct gm_error *fin = finish(db, m, o, 0, err->msg, gm_monotonic_ms() - t0);
		gm_error_free(fin);
		return err;
	}
	err = run_statements(db, m, &done, &recording);
	if (!err)
		err = session_limits(db, o, 0);
	else
		gm_error_free(session_limits(db, o, 0));
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		/* The row stays 'running' and reads as interrupted once the
		 * session is gone; the next up runs the migration again. */
		if (err)
			gm_error_advise(err, "the connection was lost while %s ran outside a transaction: %zu of %zu statements had run; check them, then run up again",
					m->filename, done, m->up.stmts.n);
		return err;
	}
	if (err && recording) {
		/* Every statement so far ran; the history could not say so. */
		gm_error_free(finish(db, m, o, 0, err->msg, gm_monotonic_ms() - t0));
		return err;
	}
	if (err) {
		char *msg = gm_xasprintf("statement %zu of %zu failed at line %u: %s", done + 1, m->up.stmts.n,
					 err->line, err->msg);
		struct gm_error *fin;
		explain_failure(db, m, done, err);
		/* The first failure is the one reported; a failed record of
		 * it is told in its advice. */
		if ((fin = finish(db, m, o, 0, msg, gm_monotonic_ms() - t0))) {
			char *advice = gm_xasprintf("%s; and recording the failure failed too: %s", err->advice ? err->advice : "",
						    fin->msg);
			free(err->advice);
			err->advice = advice;
			gm_error_free(fin);
		}
		free(msg);
		return err;
	}
	return finish(db, m, o, 1, NULL, gm_monotonic_ms() - t0);
}
