/* repair.c - baseline and repair: history maintenance, audited. */
#include "gm_db.h"
#include "gm_repair.h"
#include "gm_error.h"
#include "gm_pgtree.h"
#include "gm_reconcile.h"
#include "gm_script.h"
#include "gm_sqlstmt.h"

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

/* ---- baseline: does the database hold what it is told? ----
 *
 * Each migration's up runs statement by statement, each in a savepoint,
 * in a transaction that is always rolled back: a statement that fails
 * because its object already exists is what baseline expects; one that
 * succeeds and changes the catalog creates something the database lacks;
 * one that fails otherwise cannot be judged.  Either refuses. */

/* Every object of the user's schemas, one per line, ranked so tables come
 * before their columns (the two characters of rank are not shown). */
static const char objects_sql[] =
	"WITH ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname NOT IN"
	"  ('pg_catalog', 'information_schema', '" GM_HISTORY_SCHEMA "') AND nspname NOT LIKE 'pg\\_%')"
	" SELECT o FROM ("
	"  SELECT 'a schema ' OPERATOR(pg_catalog.||) nspname FROM ns"
	"  UNION ALL SELECT pg_catalog.concat('b ', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'"
	"   WHEN 'i' THEN 'index' WHEN 'I' THEN 'partitioned index' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'"
	"   WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'relation' END, ' ', ns.nspname, '.', c.relname,"
	"   CASE WHEN c.relrowsecurity THEN ' (row level security' END, CASE WHEN c.relforcerowsecurity THEN ', forced' END,"
	"   CASE WHEN c.relrowsecurity THEN ')' END)"
	"   FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind <> 'c'"
	"  UNION ALL SELECT pg_catalog.concat('c type ', ns.nspname, '.', t.typname, CASE WHEN e.enumlabel IS NOT NULL"
	"   THEN ' label ' END, e.enumlabel)"
	"   FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
	"   LEFT JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid"
	"   WHERE t.typtype IN ('e', 'd', 'r', 'm') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class"
	"   WHERE oid = t.typrelid) = 'c')"
	"  UNION ALL SELECT pg_catalog.concat('d function ', ns.nspname, '.', p.proname, '(',"
	"   pg_catalog.pg_get_function_identity_arguments(p.oid), ')')"
	"   FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace"
	"  UNION ALL SELECT pg_catalog.concat('e column ', ns.nspname, '.', c.relname, '.', a.attname, ' ',"
	"   pg_catalog.format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' not null' END)"
	"   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace"
	"   WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	"  UNION ALL SELECT pg_catalog.concat('f constraint ', ns.nspname, '.', co.conname, ' on ', co.conrelid::pg_catalog.regclass)"
	"   FROM pg_catalog.pg_constraint co JOIN ns ON ns.oid = co.connamespace"
	"  UNION ALL SELECT pg_catalog.concat('g policy ', pol.polname, ' on ', ns.nspname, '.', c.relname)"
	"   FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid JOIN ns ON ns.oid = c.relnamespace"
	"  UNION ALL SELECT pg_catalog.concat('h trigger ', tg.tgname, ' on ', ns.nspname, '.', c.relname)"
	"   FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace"
	"   WHERE NOT tg.tgisinternal"
	"  UNION ALL SELECT 'i extension ' OPERATOR(pg_catalog.||) extname FROM pg_catalog.pg_extension"
	" ) s(o) ORDER BY o COLLATE \"C\"";

/* SQLSTATEs that say "it is there already". */
static int already_exists(const PGresult *res)
{
	static const char *const codes[] = {
		"42P07", "42710", "42723", "42P06", "42701", "42P16", "23505", "42P04",
	};
	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
		if (gm_sqlstate_is(res, codes[k]))
			return 1;
	return 0;
}

/* What changed between two object lists (both sorted), up to a few, as
 * one line; NULL when nothing did. */
static char *changes(const PGresult *a, const PGresult *b)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int i = 0, j = 0, na = PQntuples(a), nb = PQntuples(b), shown = 0, more = 0;

	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(PQgetvalue(a, i, 0), PQgetvalue(b, j, 0));
		const char *what = NULL, *verb = NULL;
		if (c == 0) {
			i++, j++;
			continue;
		}
		if (c > 0) {
			what = PQgetvalue(b, j++, 0);
			verb = "creates";
		} else {
			what = PQgetvalue(a, i++, 0);
			verb = "changes or drops";
		}
		if (shown++ < 5)
			gm_strbuf_addf(&sb, "%s%s %s", sb.len ? "; " : "", verb, what + 2);
		else
			more++;
	}
	if (more)
		gm_strbuf_addf(&sb, "; and %d more", more);
	return sb.len ? gm_strbuf_detach(&sb, NULL) : (gm_strbuf_release(&sb), NULL);
}

static struct gm_error *list_objects(struct gm_db *db, PGresult **res)
{
	return gm_db_exec(db, objects_sql, "cannot list the database's objects", res);
}

/* Every sequence of the user's schemas, where it stands (NULL before its
 * first nextval) and which way it goes: setval() is not undone by any
 * rollback. */
static const char sequences_sql[] =
	"SELECT pg_catalog.format('%I.%I', s.schemaname, s.sequencename), s.last_value::pg_catalog.text,"
	" (s.increment_by OPERATOR(pg_catalog.>) 0)::pg_catalog.text"
	" FROM pg_catalog.pg_sequences s WHERE s.schemaname OPERATOR(pg_catalog.<>) '" GM_HISTORY_SCHEMA "'"
	" ORDER BY 1";

static int visit_setval(void *ctx, const PgQuery__Node *n)
{
	(void)ctx;
	return n->node_case == PG_QUERY__NODE__NODE_FUNC_CALL &&
	       !strcmp(gm_pgtree_last_name(n->func_call->funcname, n->func_call->n_funcname), "setval");
}

/* Whether statement k of the up calls setval(): it would move a live
 * sequence for good, and it makes no object, so the trial passes it by. */
static int calls_setval(const struct gm_migration *m, size_t k)
{
	return gm_sql_stmt_walk(m->up.sql, &m->up.stmts.v[k], visit_setval, NULL);
}

/* One migration's trial; the transaction is left as it was. */
static struct gm_error *trial_migration(struct gm_db *db, const struct gm_migration *m)
{
	PGresult *before = NULL, *after = NULL;
	struct gm_error *err;
	char *diff = NULL;
	size_t k;

	if ((err = list_objects(db, &before)))
		return err;
	PQclear(PQexec(db->conn, "SAVEPOINT gm_baseline"));
	for (k = 0; k < m->up.stmts.n && !err; k++) {
		struct gm_script sc = GM_SCRIPT_INIT;
		struct gm_outcome oc;
		const struct gm_migration *blamed;
		char *user;

		if (calls_setval(m, k))
			continue;
		user = gm_db_user_path_sql(db, 1);
		gm_script_ours(&sc, 2, "SAVEPOINT gm_statement;\n%s;\n", user);
		free(user);
		gm_script_statement(&sc, m, &m->up, k);
		gm_script_ours(&sc, 1, "\n;%s;\n", GM_SQL_PIN_PATH);
		gm_script_run(db, &sc, &oc);
		if (oc.error && already_exists(oc.error) && !oc.connection_lost) {
			PQclear(PQexec(db->conn, "ROLLBACK TO SAVEPOINT gm_statement"));
		} else if (oc.error && (err = gm_db_refusal(oc.error))) {
			/* The search path's or a trigger's check refused: as up does. */
		} else if (oc.error && !oc.connection_lost &&
			   gm_sqlstate_is_timeout(oc.error)) {
			err = gm_script_error(db, &sc, &oc, &blamed);	/* a timeout: exit 5 */
			gm_error_advise(err, "the check waits at most --lock-timeout (default " GM_BASELINE_LOCK_TIMEOUT
					     ") for each lock on a live table: run it when the table is quiet, or raise"
					     " --lock-timeout; nothing was changed");
		} else if (oc.error) {
			err = gm_script_error(db, &sc, &oc, &blamed);
			err->kind = GM_ERR_DRIFT;
			gm_error_advise(err, "baseline cannot tell whether the database holds what this migration makes"
					     " (its statement failed for another reason than \"already exists\"); pass --force"
					     " to mark it applied anyway");
		}
		gm_outcome_release(&oc);
		gm_script_release(&sc);
	}
	if (!err && !(err = list_objects(db, &after)) && (diff = changes(before, after))) {
		err = gm_error_at(GM_ERR_DRIFT, m->path, 0, 0,
				  "cannot baseline: the database does not hold what this migration makes: running it %s", diff);
		gm_error_advise(err, "baseline only the migrations whose objects the database already has (a lower"
				     " --version), or pass --force to mark them applied anyway; nothing was changed");
	}
	PQclear(PQexec(db->conn, "ROLLBACK TO SAVEPOINT gm_baseline"));
	free(diff);
	PQclear(before);
	PQclear(after);
	return err;
}

/* A sequence the trial set back (setval in a function or a DO block):
 * the application's next key may be one in use.  Moving on (a nextval,
 * an INSERT's default, another session's) leaves a gap, nothing worse. */
static int set_back(const char *was, const char *now, int ascending)
{
	long long a, b;

	if (!*was)
		return 0;	/* never used: nothing to collide with */
	if (!*now)
		return 1;	/* reset to its start */
	a = strtoll(was, NULL, 10);
	b = strtoll(now, NULL, 10);
	return ascending ? b < a : b > a;
}

static struct gm_error *sequences_kept(const PGresult *before, const PGresult *after)
{
	struct gm_error *err;

	for (int k = 0; k < PQntuples(before); k++)
		for (int j = 0; j < PQntuples(after); j++) {
			if (strcmp(PQgetvalue(before, k, 0), PQgetvalue(after, j, 0)) ||
			    !set_back(PQgetvalue(before, k, 1), PQgetvalue(after, j, 1), !strcmp(PQgetvalue(before, k, 2), "true")))
				continue;
			err = gm_error_new(GM_ERR_DRIFT, "baseline's trial set sequence %s back from %s to %s, which no rollback"
					   " undoes", PQgetvalue(before, k, 0), PQgetvalue(before, k, 1),
					   *PQgetvalue(after, j, 1) ? PQgetvalue(after, j, 1) : "its start");
			gm_error_advise(err, "before the application inserts again, set it past the largest key in use (SELECT"
					     " setval('seq', max(id)) FROM the table), then baseline with --force or a lower"
					     " --version; nothing was recorded");
			return err;
		}
	return NULL;
}

static struct gm_error *check_holds(struct gm_db *db, const struct gm_migration_set *set,
				    unsigned long long version, const struct gm_txn_limits *lim)
{
	struct gm_txn_limits trial = *lim;
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const struct gm_migration *blamed;
	PGresult *seq_before = NULL, *seq_after = NULL;

	/* The trial takes the locks of each up statement on live tables
	 * (ACCESS EXCLUSIVE for an ALTER TABLE that then finds its column
	 * there): it must not queue the application behind it for long. */
	if (!trial.lock_timeout)
		trial.lock_timeout = GM_BASELINE_LOCK_TIMEOUT;
	gm_script_begin(&sc, db, &trial);
	gm_script_run(db, &sc, &oc);
	if (oc.error)
		err = gm_script_error(db, &sc, &oc, &blamed);
	if (!err)
		err = gm_db_exec(db, sequences_sql, "cannot read the sequences", &seq_before);
	for (size_t k = 0; !err && k < set->n && set->v[k]->version <= version; k++)
		/* Outside a transaction a statement cannot be tried and undone. */
		if (set->v[k]->transactional)
			err = trial_migration(db, set->v[k]);
	if (!err && !(err = gm_db_exec(db, sequences_sql, "cannot read the sequences", &seq_after)))
		err = sequences_kept(seq_before, seq_after);
	if (!oc.connection_lost)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	PQclear(seq_before);
	PQclear(seq_after);
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

struct gm_error *gm_engine_baseline(struct gm_db *db, const struct gm_migration_set *set,
				    unsigned long long version, int force, const struct gm_txn_limits *lim,
				    const char *os_user, size_t *n)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_history hist;
	struct gm_error *err;
	size_t k, found = 0;

	*n = 0;
	if ((err = gm_check_timeouts(lim)))
		return err;
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
	if (!force && (err = check_holds(db, set, version, lim))) {
		gm_history_release(&hist);
		return err;
	}
	if (!hist.exists && (err = gm_history_ensure(db))) {
		gm_history_release(&hist);
		return err;
	}
	gm_history_release(&hist);

	gm_script_begin(&sc, db, lim);
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
	} else if (it->state == GM_STATE_FAILED) {
		/* Not applied, so not 'applied'; and not a claim whose session
		 * is still there (GM_HISTORY_CLAIM_LIVE). */
		const char *params[2] = { version, it->a->checksum };
		err = change_one(db, "DELETE FROM " GM_HISTORY_TABLE " h WHERE version = $1 AND checksum = $2"
				     " AND status <> 'applied' AND NOT (h.status = 'running' AND " GM_HISTORY_CLAIM_LIVE("h") ")",
				     2, params);
		note = gm_xasprintf("removed the entry of a %s no-transaction migration (%s)",
				    !strcmp(it->a->status, "interrupted") ? "interrupted" : "failed",
				    it->a->message ? it->a->message : "no details");
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

struct gm_error *gm_repair_check(const struct gm_status *st, int remove_missing, int allow_newer, const char *dir)
{
	const struct gm_migration *newest = NULL;
	size_t k, newer = 0;
	struct gm_error *err;

	if (!remove_missing || allow_newer)
		return NULL;
	for (k = 0; k < st->n; k++)
		if (st->v[k].m)
			newest = st->v[k].m;	/* by version */
	for (k = 0; k < st->n; k++)
		newer += st->v[k].state == GM_STATE_MISSING && (!newest || st->v[k].version > newest->version);
	if (!newer)
		return NULL;
	if (newest)
		err = gm_error_at(GM_ERR_INPUT, dir, 0, 0,
				  "refusing to remove the entries of %zu applied migration%s newer than every file here"
				  " (the newest is %s)", newer, newer == 1 ? "" : "s", newest->filename);
	else
		err = gm_error_at(GM_ERR_INPUT, dir, 0, 0,
				  "refusing to remove every entry of the history: none of its %zu applied migration%s has"
				  " a file here", newer, newer == 1 ? "" : "s");
	gm_error_advise(err, "nothing was changed; is this the project's migrations folder, at its newest? run from"
			     " the project root or pass --migrations DIR; if those files are gone for good, add --allow-newer");
	return err;
}

/* Whether repair changes the entry of it. */
static int repaired(const struct gm_status_item *it, int remove_missing)
{
	return it->state == GM_STATE_MODIFIED || it->state == GM_STATE_FAILED ||
	       (it->state == GM_STATE_MISSING && remove_missing);
}

/* The connection was lost before the repair's COMMIT was answered: it
 * may have committed.  A repair is all or nothing, so its first change
 * tells: reconnect, read the history, and say what was found (never
 * guess).  A repaired checksum is the file's; a removed entry is gone. */
static void explain_lost_repair(struct gm_db *db, const struct gm_status *st, int remove_missing, struct gm_error *err)
{
	const struct gm_status_item *it = NULL;
	struct gm_history h;
	enum gm_recorded done = GM_RECORDED_UNKNOWN;
	char *why = NULL, *what;

	for (size_t k = 0; k < st->n && !it; k++)
		if (repaired(&st->v[k], remove_missing))
			it = &st->v[k];
	if (!it)
		return;
	if (gm_reconcile_read(db, &limits, &h, &why) == 0) {
		const struct gm_applied *a = gm_history_find(&h, it->version);
		if (it->state == GM_STATE_MODIFIED)
			done = a && !strcmp(a->checksum, it->m->checksum) ? GM_RECORDED_YES : GM_RECORDED_NO;
		else
			done = a && !strcmp(a->checksum, it->a->checksum) ? GM_RECORDED_NO : GM_RECORDED_YES;
		gm_history_release(&h);
	}
	what = gm_xasprintf("the history entry of %s", it->m ? it->m->filename : it->a->script);
	gm_reconcile_explain(err, what, "repairing", done, why, "look at garage-migrate list and log");
	free(what);
	free(why);
}

struct gm_error *gm_engine_repair(struct gm_db *db, const struct gm_status *st,
				  int remove_missing, int allow_newer, const char *os_user)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const struct gm_migration *blamed;
	size_t k;

	if ((err = gm_repair_check(st, remove_missing, allow_newer, NULL)))
		return err;
	/* Repair is rare and small: a round trip per change is fine, and
	 * lets every value travel as a parameter. */
	gm_script_begin(&sc, db, &limits);
	gm_script_run(db, &sc, &oc);
	if (oc.error)
		err = gm_script_error(db, &sc, &oc, &blamed);
	for (k = 0; k < st->n && !err; k++) {
		if (repaired(&st->v[k], remove_missing))
			err = repair_item(db, &st->v[k], os_user);
	}
	if (!err)
		err = gm_db_exec(db, "COMMIT", "cannot record the repair", NULL);
	if (err && PQstatus(db->conn) == CONNECTION_BAD)
		explain_lost_repair(db, st, remove_missing, err);
	else if (err && !oc.connection_lost)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}
