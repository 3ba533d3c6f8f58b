/* engine.c - planning and applying migrations.
 *
 * Round trips decide how long a deploy takes over a 20-100 ms link, so each
 * migration is one round trip: its transaction, lock, "already applied?"
 * re-check, text, history row and COMMIT travel as one script (see
 * gm_script.h), which also maps server errors back into the file. */
#include "gm_engine.h"
#include "gm_notx.h"
#include "gm_reconcile.h"
#include "gm_script.h"
#include "gm_db.h"
#include "gm_error.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Raised by the re-check when another run applied the migration while we
 * waited for the lock: not a failure, the work is done. */
#define SQLSTATE_ALREADY_APPLIED "GMA01"
/* Raised when the history is no longer the one this run planned on
 * (another run rolled back or applied migrations): up plans again. */
#define SQLSTATE_REPLAN "GMA06"
/* Raised when a migration would leave a table holding rows with less RLS
 * isolation than before (see the isolation guard below). */
#define SQLSTATE_ISOLATION_LOST "GMA07"

/* ---- the isolation guard of up ----
 *
 * A migration that disables RLS on a table holding tenant rows, stops
 * forcing it, or drops its last policy (DROP POLICY, DROP ... CASCADE of
 * a function the policies use, DROP OWNED), or rebuilds it (renamed away,
 * copied into a new table under the old name) with less of that, leaves
 * those rows readable by every tenant.  Before its text the RLS state of
 * every user table is noted in a setting of the transaction (no temporary
 * table: the migration's session stays as it was); after it, the same
 * table (by oid) and whatever table now has its name must be as isolated,
 * or hold no rows: rows are counted with row_security off, so RLS hides
 * none, and through a partitioned or inheritance parent, children
 * included, as a query on it would reach them.  Otherwise the migration
 * stops, unless --allow-isolation-loss.  Every migration pays for the
 * guard (two catalog reads), as any text can rebuild a table.  Only names
 * from the catalog reach the dynamic SQL, through format(%I). */
#define ISOLATION_BEFORE_SQL                                                                         \
	"SELECT pg_catalog.set_config('garage_migrate.rls0', coalesce((SELECT pg_catalog.json_agg("    \
	"pg_catalog.json_build_array(c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity," \
	" (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)))::pg_catalog.text" \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"         \
	" WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema',"    \
	" '" GM_HISTORY_SCHEMA "') AND n.nspname NOT LIKE 'pg\\_%'), '[]'), true);\n"
#define ISOLATION_AFTER_SQL                                                                          \
	"DO $gm$DECLARE r record; n bigint; lost text := ''; BEGIN"                                  \
	" FOR r IN SELECT DISTINCT ns.nspname, c.relname, CASE WHEN b.rls AND NOT c.relrowsecurity"   \
	"  THEN 'row level security disabled' WHEN b.force AND NOT c.relforcerowsecurity"             \
	"  THEN 'row level security no longer forced' ELSE 'no policy left' END AS why"               \
	"  FROM (SELECT (e OPERATOR(pg_catalog.->>) 0)::pg_catalog.oid AS oid,"                        \
	"   e OPERATOR(pg_catalog.->>) 1 AS nsp, e OPERATOR(pg_catalog.->>) 2 AS rel,"                 \
	"   (e OPERATOR(pg_catalog.->>) 3)::pg_catalog.bool AS rls,"                                   \
	"   (e OPERATOR(pg_catalog.->>) 4)::pg_catalog.bool AS force,"                                 \
	"   (e OPERATOR(pg_catalog.->>) 5)::pg_catalog.int8 AS np FROM pg_catalog.json_array_elements(" \
	"   pg_catalog.current_setting('garage_migrate.rls0')::pg_catalog.json) e) b"                  \
	"  JOIN pg_catalog.pg_class c ON c.relkind IN ('r', 'p')"                                     \
	"  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace"                                \
	"  WHERE (c.oid = b.oid OR (ns.nspname = b.nsp AND c.relname = b.rel))"                       \
	"  AND ((b.rls AND NOT c.relrowsecurity) OR (b.force AND NOT c.relforcerowsecurity)"          \
	"  OR (b.np > 0 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)))" \
	"  ORDER BY 1, 2 LOOP"                                                                        \
	"  BEGIN"                                                                                     \
	"   PERFORM pg_catalog.set_config('row_security', 'off', true);"                              \
	"   EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (SELECT 1 FROM %I.%I LIMIT 1000001) s'," \
	"    r.nspname, r.relname) INTO n;"                                                           \
	"   PERFORM pg_catalog.set_config('row_security', 'on', true);"                               \
	"  EXCEPTION WHEN insufficient_privilege THEN n := -1; END;"                                  \
	"  IF n <> 0 THEN lost := lost OPERATOR(pg_catalog.||) CASE WHEN lost = '' THEN '' ELSE ', ' END" \
	"   OPERATOR(pg_catalog.||) pg_catalog.format('table %s.%s, %s, %s', r.nspname, r.relname, r.why," \
	"   CASE WHEN n < 0 THEN 'whose rows cannot be counted' WHEN n = 1 THEN 'keeps 1 row'"         \
	"   ELSE 'keeps ' OPERATOR(pg_catalog.||) n OPERATOR(pg_catalog.||) ' rows' END); END IF;"    \
	" END LOOP;"                                                                                  \
	" IF lost <> '' THEN RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_ISOLATION_LOST "', MESSAGE = lost; END IF;" \
	" END$gm$;\n"

/* The migration whose text came last before statement stmt of sc. */
static const struct gm_migration *migration_before(const struct gm_script *sc, size_t stmt)
{
	const struct gm_migration *m = NULL;

	for (size_t k = 0; k < sc->nsegs && sc->segs[k].stmt_start <= stmt; k++)
		if (sc->segs[k].m)
			m = sc->segs[k].m;
	return m;
}

/* The guard's refusal, as the user's error. */
static struct gm_error *isolation_refused(const struct gm_migration *m, const PGresult *res)
{
	const char *what = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct gm_error *err = gm_error_at(GM_ERR_DATA_LOSS, m->path, 0, 0,
					   "refused: tenant data would lose its isolation: %s", what ? what : "?");

	gm_error_advise(err, "this migration was not applied; if that is intended, rerun with --allow-isolation-loss");
	return err;
}

const char *gm_state_name(enum gm_state s)
{
	static const char *const names[] = { "applied", "pending", "modified", "missing", "failed", "running" };
	return (unsigned)s < GM_STATE_COUNT ? names[s] : "unknown";
}

/* ---- status ---- */

static void status_push(struct gm_status *st, size_t *cap, const struct gm_status_item *it)
{
	if (st->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		st->v = gm_xrealloc(st->v, *cap * sizeof(*st->v));
	}
	st->v[st->n++] = *it;
	st->count[it->state]++;
}

static int is_applied(const struct gm_applied *a)
{
	return !a->status || !strcmp(a->status, "applied");
}

void gm_status_build(const struct gm_migration_set *set, const struct gm_history *h,
		     struct gm_status *out)
{
	size_t i = 0, j = 0, cap = 0;
	unsigned long long newest = 0;
	int any_applied = h->n > 0;

	memset(out, 0, sizeof(*out));
	if (any_applied)
		newest = h->v[h->n - 1].version;
	/* Both lists are sorted by version: one merge pass. */
	while (i < set->n || j < h->n) {
		struct gm_status_item it = { 0 };
		const struct gm_migration *m = i < set->n ? set->v[i] : NULL;
		const struct gm_applied *a = j < h->n ? &h->v[j] : NULL;

		if (m && a && m->version == a->version) {
			it.version = m->version;
			it.m = m;
			it.a = a;
			it.state = strcmp(m->checksum, a->checksum) == 0 ? GM_STATE_APPLIED
									 : GM_STATE_MODIFIED;
			if (!is_applied(a))
				it.state = strcmp(a->status, "running") ? GM_STATE_FAILED : GM_STATE_RUNNING;
			i++;
			j++;
		} else if (m && (!a || m->version < a->version)) {
			it.version = m->version;
			it.m = m;
			it.state = GM_STATE_PENDING;
			it.out_of_order = any_applied && m->version < newest;
			i++;
		} else if (a) {
			it.version = a->version;
			it.a = a;
			it.state = is_applied(a) ? GM_STATE_MISSING : GM_STATE_FAILED;
			j++;
		}
		status_push(out, &cap, &it);
	}
}

void gm_status_release(struct gm_status *st)
{
	free(st->v);
	memset(st, 0, sizeof(*st));
}

struct gm_error *gm_status_check_drift(const struct gm_status *st)
{
	struct gm_strbuf names = GM_STRBUF_INIT;
	const struct gm_status_item *first = NULL;
	struct gm_error *err;
	size_t k, bad = 0;

	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (it->state != GM_STATE_MODIFIED && it->state != GM_STATE_MISSING)
			continue;
		if (!first)
			first = it;
		if (bad++ > 0)
			gm_strbuf_adds(&names, ", ");
		gm_strbuf_addf(&names, "%s (%s)",
			       it->m ? it->m->filename : it->a->script, gm_state_name(it->state));
	}
	if (!first) {
		gm_strbuf_release(&names);
		return NULL;
	}
	if (first->state == GM_STATE_MODIFIED)
		err = gm_error_at(GM_ERR_DRIFT, first->m->path, 0, 0,
			"applied migration was edited: recorded %s, file has %s%s%s",
			first->a->checksum, first->m->checksum,
			bad > 1 ? "; all that disagree: " : "", bad > 1 ? names.buf : "");
	else
		err = gm_error_new(GM_ERR_DRIFT,
			"applied migration %s_%s is missing from the migrations folder (recorded as %s)%s%s",
			first->a->version_text, first->a->name, first->a->script,
			bad > 1 ? "; all that disagree: " : "", bad > 1 ? names.buf : "");
	gm_error_advise(err, "restore the file as it was applied (e.g. from git) and put new changes in a new migration");
	gm_strbuf_release(&names);
	return err;
}

/* ---- up ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void emit(const struct gm_up_opts *o, enum gm_up_event_kind kind,
		 const struct gm_migration *m, double ms)
{
	struct gm_up_event ev = { kind, m, ms };

	if (o->on_event)
		o->on_event(o->ctx, &ev);
}

/* The pending migrations this run applies, in order. */
static struct gm_error *select_pending(const struct gm_status *st, const struct gm_up_opts *o,
				       const struct gm_migration ***out, size_t *n)
{
	const struct gm_applied *newest = NULL;
	size_t k;

	for (k = 0; k < st->n; k++)
		if (st->v[k].a)
			newest = st->v[k].a;
	*out = gm_xcalloc(st->n ? st->n : 1, sizeof(**out));
	*n = 0;
	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (it->state == GM_STATE_RUNNING) {
			struct gm_error *err = gm_error_at(GM_ERR_LOCK, it->m ? it->m->path : it->a->script, 0, 0,
				"another session is applying this migration outside a transaction right now");
			gm_error_advise(err, "let it finish, then run garage-migrate up again");
			free(*out);
			*out = NULL;
			return err;
		}
		/* A failed or interrupted no-transaction migration runs again. */
		if (it->state != GM_STATE_PENDING && !(it->state == GM_STATE_FAILED && it->m))
			continue;
		if (o->has_target && it->version > o->target)
			break;
		if (it->out_of_order && it->state == GM_STATE_PENDING && !o->allow_out_of_order) {
			struct gm_error *err = gm_error_at(GM_ERR_DRIFT, it->m->path, 0, 0,
				"pending migration is older than the newest applied one (%s_%s)",
				newest->version_text, newest->name);
			gm_error_advise(err, "give it a version after the newest applied one, or pass --out-of-order to apply it anyway");
			free(*out);
			*out = NULL;
			return err;
		}
		(*out)[(*n)++] = it->m;
	}
	return NULL;
}

static struct gm_error *check_opts(const struct gm_migration_set *set, const struct gm_up_opts *o)
{
	struct gm_error *err = gm_check_timeouts(&o->limits);
	size_t k;

	if (err)
		return err;
	if (o->has_target) {
		for (k = 0; k < set->n; k++)
			if (set->v[k]->version == o->target)
				break;
		if (k == set->n)
			return gm_error_new(GM_ERR_USAGE, "no migration has version %llu", o->target);
	}
	return NULL;
}

/* The migration's part of an up script: the re-check under the lock, the
 * duration mark, its up text, and its history row and audit entry. */
/* expect_seq: the newest applied_seq this run knows of, or -1 for no
 * check (later migrations of --single-transaction, which hold the lock
 * throughout). */
static void script_migration(struct gm_script *sc, struct gm_db *db, const struct gm_migration *m,
			     long long expect_seq, const struct gm_up_opts *o)
{
	int guard = !o->allow_isolation_loss;
	char check[256] = "";

	struct gm_strbuf rec = GM_STRBUF_INIT;

	/* The re-check under the lock, and the mark the recorded duration is
	 * measured from, in one statement. */
	/* Any change to the history changes its newest applied_seq: an
	 * identity never reuses a value, and rollback removes the newest row
	 * first.  So one index lookup tells whether the history is still the
	 * one this run planned on (another run may have rolled back what this
	 * migration builds on). */
	if (expect_seq >= 0)
		snprintf(check, sizeof(check),
			 " IF coalesce((SELECT max(applied_seq) FROM " GM_HISTORY_TABLE "), 0) <> %lld THEN"
			 " RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_REPLAN "', MESSAGE = 'history changed'; END IF;",
			 expect_seq);
	gm_script_ours(sc, 1,
		"DO $gm$BEGIN IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE " WHERE version = %llu)"
		" THEN RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_ALREADY_APPLIED "',"
		" MESSAGE = 'already applied', DETAIL = coalesce((SELECT max(applied_seq) FROM " GM_HISTORY_TABLE "), 0);"
		" END IF;%s"
		" PERFORM set_config('garage_migrate.t0', clock_timestamp()::text, true); END$gm$;\n",
		m->version, check);
	if (guard)
		gm_script_ours(sc, 1, "%s", ISOLATION_BEFORE_SQL);
	gm_script_section(sc, db, m, &m->up);
	if (guard)
		gm_script_ours(sc, 1, "%s", ISOLATION_AFTER_SQL);
	gm_history_add_record_sql(db, &rec, m, "up", o->os_user);
	gm_script_ours(sc, GM_HISTORY_RECORD_STMTS, "%s", rec.buf);
	gm_strbuf_release(&rec);
}

/* After a lost connection: whether m (and with it, in one transaction,
 * everything the script held) was committed, read from the history. */
static void reconcile(struct gm_db *db, const struct gm_migration *m, const struct gm_up_opts *o,
		      struct gm_error *err)
{
	char *why = NULL;
	enum gm_recorded rec = gm_reconcile_recorded(db, &o->limits, m->version, m->checksum, &why);

	gm_reconcile_explain(err, m->filename, "applying", rec, why,
			     rec == GM_RECORDED_YES ? "run garage-migrate up again for the migrations after it"
						    : "run garage-migrate up again when the connection is stable");
	if (rec == GM_RECORDED_NO)
		gm_error_free(gm_history_audit(db, "up", m->version, m->name, m->checksum, "failed",
					       o->os_user, err->msg));
	free(why);
}

/* A failed script's aftermath: roll back, audit, build the error.  m is
 * the script's (first) migration. */
static struct gm_error *fail_script(struct gm_db *db, const struct gm_script *sc,
				    struct gm_outcome *oc, const struct gm_migration *m,
				    const struct gm_up_opts *o)
{
	const struct gm_migration *blamed = NULL;
	struct gm_error *err = gm_script_error(db, sc, oc, &blamed);

	if (oc->connection_lost) {
		reconcile(db, m, o, err);
		return err;
	}
	PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_script_explain_lock(db, sc, oc, err);
	/* Best effort: the real error matters more than a failed audit
	 * entry. */
	if (blamed)
		gm_error_free(gm_history_audit(db, "up", blamed->version, blamed->name,
					       blamed->checksum, "failed", o->os_user, err->msg));
	return err;
}

/* One transactional migration in one round trip; *skipped when another
 * run applied it first. */
/* *seq: the newest applied_seq known, updated as the history moves. */
static struct gm_error *apply_one(struct gm_db *db, const struct gm_migration *m, long long *seq,
				  int ensure_history, const struct gm_up_opts *o, int *skipped, int *replan)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;

	*skipped = 0;
	gm_script_begin(&sc, db, &o->limits);
	if (ensure_history)
		gm_script_ours(&sc, 1, "%s", gm_history_ensure_sql);
	script_migration(&sc, db, m, *seq, o);
	gm_script_ours(&sc, 1, "COMMIT;\n");
	gm_script_run(db, &sc, &oc);
	if (!oc.error && oc.rows && PQntuples(oc.rows) == 1) {
		*seq = strtoll(PQgetvalue(oc.rows, 0, 0), NULL, 10);
	} else if (oc.error && gm_sqlstate_is(oc.error, SQLSTATE_ALREADY_APPLIED)) {
		/* Another run applied it: the history moved on by its rows. */
		const char *d = PQresultErrorField(oc.error, PG_DIAG_MESSAGE_DETAIL);
		*seq = d ? strtoll(d, NULL, 10) : -1;
		PQclear(PQexec(db->conn, "ROLLBACK"));
		*skipped = 1;
	} else if (oc.error && gm_sqlstate_is(oc.error, SQLSTATE_REPLAN)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		*replan = 1;
	} else if (oc.error && gm_sqlstate_is(oc.error, SQLSTATE_ISOLATION_LOST)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = isolation_refused(m, oc.error);
		gm_error_free(gm_history_audit(db, "up", m->version, m->name, m->checksum, "failed", o->os_user, err->msg));
	} else if (oc.error) {
		err = fail_script(db, &sc, &oc, m, o);
	}
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

static struct gm_error *apply_each(struct gm_db *db, const struct gm_migration **todo, size_t n,
				   long long seq, int history_exists, const struct gm_up_opts *o,
				   struct gm_up_result *res, int *replan)
{
	size_t k;

	for (k = 0; k < n; k++) {
		double t0 = now_ms();
		int ensure = k == 0 && !history_exists, skipped = 0;
		struct gm_error *err;

		if (todo[k]->transactional) {
			err = apply_one(db, todo[k], &seq, ensure, o, &skipped, replan);
		} else {
			err = gm_notx_apply(db, todo[k], ensure, o, &skipped);
			seq = -1;	/* its claim moved the history on */
		}

		if (err || *replan)
			return err;
		skipped ? res->skipped++ : res->applied++;
		emit(o, skipped ? GM_UP_SKIPPED : GM_UP_APPLIED, todo[k], now_ms() - t0);
	}
	return NULL;
}

static struct gm_error *apply_single(struct gm_db *db, const struct gm_migration **todo, size_t n,
				     long long seq, int history_exists, const struct gm_up_opts *o,
				     struct gm_up_result *res, int *replan)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	double t0 = now_ms();
	size_t k;

	for (k = 0; k < n; k++)
		if (!todo[k]->transactional) {
			err = gm_error_at(GM_ERR_USAGE, todo[k]->path, 0, 0,
				"a no-transaction migration cannot be part of --single-transaction");
			gm_error_advise(err, "apply it without --single-transaction; nothing was applied");
			return err;
		}
	gm_script_begin(&sc, db, &o->limits);
	if (!history_exists)
		gm_script_ours(&sc, 1, "%s", gm_history_ensure_sql);
	for (k = 0; k < n; k++)
		script_migration(&sc, db, todo[k], k == 0 ? seq : -1, o);
	gm_script_ours(&sc, 1, "COMMIT;\n");
	gm_script_run(db, &sc, &oc);
	if (!oc.error) {
		res->applied = n;
		for (k = 0; k < n; k++)
			emit(o, GM_UP_APPLIED, todo[k], (now_ms() - t0) / (double)n);
	} else if (gm_sqlstate_is(oc.error, SQLSTATE_ALREADY_APPLIED) ||
		   gm_sqlstate_is(oc.error, SQLSTATE_REPLAN)) {
		/* Another run changed the history while this one waited. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		*replan = 1;
	} else if (gm_sqlstate_is(oc.error, SQLSTATE_ISOLATION_LOST)) {
		const struct gm_migration *m = migration_before(&sc, oc.ok);
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = isolation_refused(m ? m : todo[0], oc.error);
		gm_error_advise(err, "--single-transaction: the whole run was rolled back; if the loss is intended, rerun with --allow-isolation-loss");
	} else {
		err = fail_script(db, &sc, &oc, todo[0], o);
		if (!oc.connection_lost && (err->kind == GM_ERR_MIGRATION || err->kind == GM_ERR_LOCK))
			gm_error_advise(err, "--single-transaction: the whole run was rolled back; no migration of it was applied");
	}
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

/* Concurrent runs can change the history between planning and applying;
 * each migration checks what it was planned on, and up plans again when
 * that changed, this many times at most. */
#define MAX_PLANS 10

struct gm_error *gm_engine_up(struct gm_db *db, const struct gm_migration_set *set,
			      const struct gm_up_opts *o, struct gm_up_result *res)
{
	struct gm_error *err;
	int plans;

	memset(res, 0, sizeof(*res));
	if ((err = check_opts(set, o)))
		return err;
	for (plans = 0; plans < MAX_PLANS; plans++) {
		struct gm_history hist;
		struct gm_status st;
		const struct gm_migration **todo = NULL;
		size_t n = 0, k;
		long long seq = 0;
		int replan = 0;

		if ((err = gm_history_read(db, &hist)))
			return err;
		gm_status_build(set, &hist, &st);
		for (k = 0; k < hist.n; k++)
			if (hist.v[k].seq > seq)
				seq = hist.v[k].seq;
		if (!(err = gm_status_check_drift(&st)) && !(err = select_pending(&st, o, &todo, &n))) {
			if (plans == 0)
				res->pending = n;
			if (n && o->preflight && (err = o->preflight(o->ctx, todo, n)))
				n = 0;	/* stopped before anything was sent */
			if (n && o->dry_run)
				for (k = 0; k < n; k++)
					emit(o, GM_UP_DRY_RUN, todo[k], 0);
			else if (n)
				err = o->single_transaction
					? apply_single(db, todo, n, seq, hist.exists, o, res, &replan)
					: apply_each(db, todo, n, seq, hist.exists, o, res, &replan);
		}
		free(todo);
		gm_status_release(&st);
		gm_history_release(&hist);
		if (err || !replan)
			return err;
	}
	err = gm_error_new(GM_ERR_DRIFT, "the history kept changing under this run (%d plans): another garage-migrate run is rolling back or applying migrations",
			   MAX_PLANS);
	gm_error_advise(err, "let the other run finish, then run garage-migrate up again");
	return err;
}
