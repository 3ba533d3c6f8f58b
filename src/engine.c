/* engine.c - planning and applying migrations.
 *
 * Round trips decide how long a deploy takes over a 20-100 ms link, so each
 * migration is one round trip: its transaction, lock, "already applied?"
 * re-check, text, history row and COMMIT travel as one simple-query string
 * (a "script").  The script remembers which characters and which statements
 * came from which migration, so a server error maps back to file:line:col
 * either from its position or, when it has none, from the number of
 * statements that completed before it. */
#include "gm_engine.h"
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

const char *gm_state_name(enum gm_state s)
{
	static const char *const names[] = { "applied", "pending", "modified", "missing" };
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
			it.state = GM_STATE_MISSING;
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

/* ---- scripts ---- */

struct seg {
	size_t char_start, char_end;	/* characters of the script */
	size_t stmt_start, stmt_end;	/* statements of the script */
	const struct gm_migration *m;	/* NULL: garage-migrate's own SQL */
};

struct script {
	struct gm_strbuf sql;
	size_t chars, stmts;
	struct seg *segs;
	size_t nsegs, cap;
};

static void script_push(struct script *sc, const char *text, size_t len, size_t nstmts,
			const struct gm_migration *m)
{
	struct seg *s;
	size_t nchars = gm_text_count_chars(text, len);

	if (sc->nsegs == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 8;
		sc->segs = gm_xrealloc(sc->segs, sc->cap * sizeof(*sc->segs));
	}
	s = &sc->segs[sc->nsegs++];
	s->char_start = sc->chars;
	s->char_end = sc->chars + nchars;
	s->stmt_start = sc->stmts;
	s->stmt_end = sc->stmts + nstmts;
	s->m = m;
	gm_strbuf_add(&sc->sql, text, len);
	sc->chars += nchars;
	sc->stmts += nstmts;
}

/* Our own SQL; nstmts must be exactly the statements it holds. */
static void script_ours(struct script *sc, size_t nstmts, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void script_ours(struct script *sc, size_t nstmts, const char *fmt, ...)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	script_push(sc, sb.buf, sb.len, nstmts, NULL);
	gm_strbuf_release(&sb);
}

static void script_release(struct script *sc)
{
	gm_strbuf_release(&sc->sql);
	free(sc->segs);
	memset(sc, 0, sizeof(*sc));
}

static void script_begin(struct script *sc, const struct gm_up_opts *o)
{
	script_ours(sc, 2, "BEGIN;\nSELECT pg_advisory_xact_lock(%lld);\n", gm_history_lock_key());
	/* Timeouts are set after our own lock: they bound the migration's
	 * statements, not the wait for another garage-migrate run. */
	if (o->lock_timeout)
		script_ours(sc, 1, "SELECT set_config('lock_timeout', '%s', true);\n", o->lock_timeout);
	if (o->statement_timeout)
		script_ours(sc, 1, "SELECT set_config('statement_timeout', '%s', true);\n", o->statement_timeout);
}

static void script_migration(struct script *sc, struct gm_db *db, const struct gm_migration *m,
			     const char *os_user)
{
	struct gm_strbuf rec = GM_STRBUF_INIT;

	script_ours(sc, 2,
		"DO $gm$BEGIN IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE " WHERE version = %llu)"
		" THEN RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_ALREADY_APPLIED "',"
		" MESSAGE = 'already applied'; END IF; END$gm$;\n"
		"SELECT set_config('garage_migrate.t0', clock_timestamp()::text, true);\n",
		m->version);
	script_push(sc, m->up, m->up_len, m->up_stmts.n, m);
	/* A newline ends a trailing -- comment, the ';' a last statement
	 * written without one (else it is an empty statement, which the
	 * server skips). */
	gm_history_add_record_sql(db, &rec, m, os_user);
	script_ours(sc, GM_HISTORY_RECORD_STMTS, "\n;\n%s", rec.buf);
	gm_strbuf_release(&rec);
}

static const struct seg *seg_by_char(const struct script *sc, size_t c)
{
	size_t k;

	for (k = 0; k < sc->nsegs; k++)
		if (c >= sc->segs[k].char_start && c < sc->segs[k].char_end)
			return &sc->segs[k];
	return NULL;
}

static const struct seg *seg_by_stmt(const struct script *sc, size_t idx)
{
	size_t k;

	for (k = 0; k < sc->nsegs; k++)
		if (idx >= sc->segs[k].stmt_start && idx < sc->segs[k].stmt_end)
			return &sc->segs[k];
	return NULL;
}

struct outcome {
	PGresult *error;	/* the failing result, or NULL */
	size_t ok;		/* statements that completed before it */
	int connection_lost;
};

/* Sends the script and collects one result per statement. */
static void script_run(struct gm_db *db, const struct script *sc, struct outcome *out)
{
	PGresult *r;

	memset(out, 0, sizeof(*out));
	if (!PQsendQuery(db->conn, sc->sql.buf)) {
		out->connection_lost = PQstatus(db->conn) == CONNECTION_BAD;
		out->error = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
		return;
	}
	while ((r = PQgetResult(db->conn))) {
		switch (PQresultStatus(r)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			out->ok++;
			PQclear(r);
			break;
		case PGRES_COPY_IN:
			/* Migrations have no data stream to send: fail the
			 * COPY so the transaction rolls back. */
			PQputCopyEnd(db->conn, "COPY FROM STDIN is not supported in migrations");
			PQclear(r);
			break;
		case PGRES_COPY_OUT: {
			char *buf;
			while (PQgetCopyData(db->conn, &buf, 0) > 0)
				PQfreemem(buf);
			out->ok++;
			PQclear(r);
			break;
		}
		default:
			if (!out->error)
				out->error = r;
			else
				PQclear(r);
			break;
		}
	}
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		out->connection_lost = 1;
		if (!out->error)
			out->error = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
	}
}

static int sqlstate_is(const PGresult *res, const char *code)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s && strcmp(s, code) == 0;
}

/* Points err at the place in m's file that the server blamed. */
static void locate_in_file(struct gm_error *err, const struct seg *seg,
			   size_t failed_stmt, const char *pos)
{
	const struct gm_migration *m = seg->m;
	size_t up_off;
	unsigned line, col;

	if (pos) {
		size_t c = (size_t)strtoul(pos, NULL, 10) - 1 - seg->char_start;
		up_off = gm_text_char_to_byte(m->up, m->up_len, c);
	} else {
		up_off = m->up_stmts.v[failed_stmt - seg->stmt_start].start;
	}
	free(err->file);
	free(err->src_line);
	err->file = gm_xstrdup(m->path);
	gm_migration_locate(m, up_off, &line, &col, &err->src_line);
	err->line = line;
	err->col = col;
}

static void add_advice(struct gm_error *err)
{
	if (!err->sqlstate)
		return;
	if (strcmp(err->sqlstate, "25001") == 0)
		gm_error_advise(err, "this statement cannot run inside a transaction block; move it to its own migration marked -- garage:no-transaction");
	else if (strcmp(err->sqlstate, "55P03") == 0)
		gm_error_advise(err, "another session holds a lock on the object; retry later or raise --lock-timeout");
	else if (strcmp(err->sqlstate, "57014") == 0)
		gm_error_advise(err, "the statement was cancelled (statement timeout); raise --statement-timeout or split the migration");
}

/* Turns a failed script into an error pointing at the file when the failure
 * came from a migration's text. */
static struct gm_error *script_error(struct gm_db *db, const struct script *sc,
				     const struct outcome *oc, const struct gm_migration **blamed)
{
	const char *pos = PQresultErrorField(oc->error, PG_DIAG_STATEMENT_POSITION);
	const struct seg *seg = pos ? seg_by_char(sc, (size_t)strtoul(pos, NULL, 10) - 1)
				    : seg_by_stmt(sc, oc->ok);
	enum gm_errkind kind = GM_ERR_MIGRATION;
	struct gm_error *err;

	if (sqlstate_is(oc->error, "55P03") || sqlstate_is(oc->error, "57014"))
		kind = GM_ERR_LOCK;
	*blamed = seg ? seg->m : NULL;
	if (!seg || !seg->m) {
		/* Our own bookkeeping failed: not the migration's fault. */
		err = gm_db_error(db, oc->error, kind == GM_ERR_LOCK ? kind : GM_ERR_DB,
				  "garage-migrate's own statement failed");
		if (oc->connection_lost)
			gm_error_advise(err, "the connection was lost; the server rolled back the open transaction, so nothing was half applied");
		return err;
	}
	err = gm_db_error(db, oc->error, kind, NULL);
	locate_in_file(err, seg, oc->ok, pos);
	if (oc->connection_lost)
		gm_error_advise(err, "the connection was lost while applying %s; the server rolled back its transaction, so nothing of it was applied", seg->m->filename);
	else
		add_advice(err);
	return err;
}

/* ---- up ---- */

int gm_timeout_valid(const char *v)
{
	static const char *const units[] = { "", "us", "ms", "s", "min", "h", "d" };
	const char *p = v;
	size_t k;

	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strcmp(p, units[k]) == 0)
			return 1;
	return 0;
}

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
		if (it->state != GM_STATE_PENDING)
			continue;
		if (o->has_target && it->version > o->target)
			break;
		if (it->out_of_order && !o->allow_out_of_order) {
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
	size_t k;

	if (o->lock_timeout && !gm_timeout_valid(o->lock_timeout))
		return gm_error_new(GM_ERR_USAGE, "invalid --lock-timeout '%s' (use e.g. 500ms, 5s, 1min)", o->lock_timeout);
	if (o->statement_timeout && !gm_timeout_valid(o->statement_timeout))
		return gm_error_new(GM_ERR_USAGE, "invalid --statement-timeout '%s' (use e.g. 500ms, 5s, 1min)", o->statement_timeout);
	if (o->has_target) {
		for (k = 0; k < set->n; k++)
			if (set->v[k]->version == o->target)
				break;
		if (k == set->n)
			return gm_error_new(GM_ERR_USAGE, "no migration has version %llu", o->target);
	}
	for (k = 0; k < set->n; k++)
		if (!set->v[k]->transactional)
			return gm_error_at(GM_ERR_INPUT, set->v[k]->path, 0, 0,
				"-- garage:no-transaction migrations are not supported by this version of garage-migrate");
	return NULL;
}

/* Runs a failed script's aftermath: roll back, audit, build the error. */
static struct gm_error *fail_script(struct gm_db *db, const struct script *sc,
				    struct outcome *oc, const struct gm_up_opts *o)
{
	const struct gm_migration *blamed = NULL;
	struct gm_error *err = script_error(db, sc, oc, &blamed);

	if (!oc->connection_lost) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		if (blamed) {
			/* Best effort: the real error matters more than a
			 * failed audit entry. */
			gm_error_free(gm_history_audit_failure(db, blamed, o->os_user, err->msg));
		}
	}
	return err;
}

static struct gm_error *apply_each(struct gm_db *db, const struct gm_migration **todo, size_t n,
				   const struct gm_up_opts *o, struct gm_up_result *res)
{
	size_t k;

	for (k = 0; k < n; k++) {
		struct script sc = { GM_STRBUF_INIT, 0, 0, NULL, 0, 0 };
		struct outcome oc;
		struct gm_error *err = NULL;
		double t0 = now_ms();

		script_begin(&sc, o);
		script_migration(&sc, db, todo[k], o->os_user);
		script_ours(&sc, 1, "COMMIT;\n");
		script_run(db, &sc, &oc);
		if (!oc.error) {
			res->applied++;
			emit(o, GM_UP_APPLIED, todo[k], now_ms() - t0);
		} else if (sqlstate_is(oc.error, SQLSTATE_ALREADY_APPLIED)) {
			PQclear(PQexec(db->conn, "ROLLBACK"));
			res->skipped++;
			emit(o, GM_UP_SKIPPED, todo[k], now_ms() - t0);
		} else {
			err = fail_script(db, &sc, &oc, o);
		}
		PQclear(oc.error);
		script_release(&sc);
		if (err)
			return err;
	}
	return NULL;
}

static struct gm_error *apply_single(struct gm_db *db, const struct gm_migration **todo, size_t n,
				     const struct gm_up_opts *o, struct gm_up_result *res)
{
	struct script sc = { GM_STRBUF_INIT, 0, 0, NULL, 0, 0 };
	struct outcome oc;
	struct gm_error *err = NULL;
	double t0 = now_ms();
	size_t k;

	script_begin(&sc, o);
	for (k = 0; k < n; k++)
		script_migration(&sc, db, todo[k], o->os_user);
	script_ours(&sc, 1, "COMMIT;\n");
	script_run(db, &sc, &oc);
	if (!oc.error) {
		res->applied = n;
		for (k = 0; k < n; k++)
			emit(o, GM_UP_APPLIED, todo[k], (now_ms() - t0) / (double)n);
	} else if (sqlstate_is(oc.error, SQLSTATE_ALREADY_APPLIED)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = gm_error_new(GM_ERR_DB, "another garage-migrate run applied migrations while this one waited; nothing was applied by this run");
		gm_error_advise(err, "run garage-migrate up again");
	} else {
		err = fail_script(db, &sc, &oc, o);
		if (err->kind == GM_ERR_MIGRATION || err->kind == GM_ERR_LOCK)
			gm_error_advise(err, "--single-transaction: the whole run was rolled back; no migration of it was applied");
	}
	PQclear(oc.error);
	script_release(&sc);
	return err;
}

struct gm_error *gm_engine_up(struct gm_db *db, const struct gm_migration_set *set,
			      const struct gm_up_opts *o, struct gm_up_result *res)
{
	struct gm_history hist;
	struct gm_status st;
	const struct gm_migration **todo = NULL;
	struct gm_error *err;
	size_t n = 0, k;

	memset(res, 0, sizeof(*res));
	if ((err = check_opts(set, o)))
		return err;
	if ((err = gm_history_read(db, &hist)))
		return err;
	gm_status_build(set, &hist, &st);
	if ((err = gm_status_check_drift(&st)))
		goto done;
	if ((err = select_pending(&st, o, &todo, &n)))
		goto done;
	res->pending = n;
	if (n == 0)
		goto done;
	if (o->dry_run) {
		for (k = 0; k < n; k++)
			emit(o, GM_UP_DRY_RUN, todo[k], 0);
		goto done;
	}
	if (!hist.exists && (err = gm_history_ensure(db)))
		goto done;
	err = o->single_transaction ? apply_single(db, todo, n, o, res)
				    : apply_each(db, todo, n, o, res);
done:
	free(todo);
	gm_status_release(&st);
	gm_history_release(&hist);
	return err;
}
