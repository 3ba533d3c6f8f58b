/* script.c - building, sending and blaming scripts (see gm_script.h). */
#include "gm_script.h"
#include "gm_sqlstmt.h"
#include "gm_db.h"
#include "gm_error.h"
#include "gm_history.h"
#include "gm_text.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void push(struct gm_script *sc, const char *text, size_t len, size_t nstmts,
		 const struct gm_migration *m, const struct gm_section *sec)
{
	struct gm_script_seg *s;
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
	s->sec = sec;
	s->sec_off = 0;
	s->sec_stmt = 0;
	s->is_lock = 0;
	gm_strbuf_add(&sc->sql, text, len);
	sc->chars += nchars;
	sc->stmts += nstmts;
}

void gm_script_ours(struct gm_script *sc, size_t nstmts, const char *fmt, ...)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	push(sc, sb.buf, sb.len, nstmts, NULL, NULL);
	gm_strbuf_release(&sb);
}

void gm_script_text(struct gm_script *sc, const struct gm_migration *m, const struct gm_section *sec)
{
	push(sc, sec->sql, sec->len, sec->stmts.n, m, sec);
	/* A newline ends a trailing -- comment, the ';' a last statement
	 * written without one (else it is an empty statement, which the
	 * server skips). */
	push(sc, "\n;\n", 3, 0, NULL, NULL);
}

void gm_script_section(struct gm_script *sc, struct gm_db *db, const struct gm_migration *m,
		       const struct gm_section *sec)
{
	char *user = gm_db_user_path_sql(db, 1);

	/* The migration's text runs with the user's search path, the tool's
	 * own statements around it with the safe one (see gm_db.h). */
	gm_script_ours(sc, 1, "%s;\n", user);
	free(user);
	gm_script_text(sc, m, sec);
	gm_script_ours(sc, 1, "%s;\n", GM_SQL_PIN_PATH);
}

void gm_script_reserve(struct gm_script *sc, size_t extra)
{
	gm_strbuf_reserve(&sc->sql, extra);
}

void gm_script_statement(struct gm_script *sc, const struct gm_migration *m,
			 const struct gm_section *sec, size_t k)
{
	const struct gm_sql_stmt *st = &sec->stmts.v[k];

	push(sc, sec->sql + st->start, st->end - st->start, 1, m, sec);
	sc->segs[sc->nsegs - 1].sec_off = st->start;
	sc->segs[sc->nsegs - 1].sec_stmt = k;
}

void gm_script_release(struct gm_script *sc)
{
	gm_strbuf_release(&sc->sql);
	free(sc->segs);
	memset(sc, 0, sizeof(*sc));
}

/* Results of a simple-query string are not sent as each statement
 * completes: the server holds them in its output buffer until the string
 * is done, the buffer is full, or it sends a notice or an error, which it
 * flushes at once together with everything held before it.  A script of
 * many transactions would report them all at the end, so each transaction
 * after the first opens with a notice: its empty text-search query is the
 * cheapest one a plain statement can raise (no PL/pgSQL to compile), and
 * client_min_messages is set for the transaction first (a role may have
 * raised it), as the argument, so it is set before the notice is.
 * garage-migrate ignores notices; the notice is only the flush. */
#define FLUSH_SQL \
	"pg_catalog.to_tsquery('pg_catalog.simple', pg_catalog.left(" \
	"pg_catalog.set_config('client_min_messages', 'notice', true), 0)), "

/* Settings a role or database may carry (ALTER ROLE/DATABASE ... SET,
 * PGOPTIONS) that would change what a migration does, checked or set in
 * every transaction of the tool's (a migration may also have changed them
 * for the session, and through a transaction pooler the session's own
 * setup may not reach this server connection):
 *  - exit_on_error = on ends the session at the first error, so a failing
 *    migration would read as a lost connection: turned off;
 *  - quote_all_identifiers = on changes how the server prints what the
 *    history's trust check compares (history.c): turned off;
 *  - session_replication_role other than origin keeps triggers, foreign-key
 *    checks and ON DELETE CASCADE from firing: migrations would run
 *    unchecked and a down's deletes leave orphans.  Only a superuser may set
 *    it, so it is not changed here but refused (REPLICA_MARK fails the cast,
 *    gm_script_error reads it); a migration may still SET LOCAL it. */
#define REPLICA_MARK "garage-migrate: session_replication_role is "
#define SETTINGS_SQL                                                                                  \
	"pg_catalog.set_config('exit_on_error', 'off', true), "                                        \
	"pg_catalog.set_config('quote_all_identifiers', 'off', true), "                                \
	"CASE WHEN pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.<>) 'origin'" \
	" THEN ('" REPLICA_MARK "' OPERATOR(pg_catalog.||)"                                           \
	" pg_catalog.current_setting('session_replication_role'))::pg_catalog.int4 END, "

void gm_script_lock(struct gm_script *sc, struct gm_db *db, const struct gm_txn_limits *lim, int flush)
{
	/* Every statement costs server time, so the settings ride along with
	 * the lock: a target list is evaluated left to right, so the wait
	 * bound is set before the lock is asked for.  The safe search path
	 * is set again for the transaction: through a transaction pooler the
	 * session's setting may be on another server connection.  This
	 * statement is analysed before that holds, so it names every function
	 * with its schema.  Timeouts were checked by gm_check_timeouts (digits
	 * and a unit): safe to splice. */
	gm_script_ours(sc, 1, GM_SQL_BEGIN ";\n");
	gm_script_ours(sc, 1, "SELECT pg_catalog.set_config('search_path', '" GM_DB_SAFE_PATH "', true),"
			      " pg_catalog.set_config('row_security', 'on', true), " SETTINGS_SQL "%s%s"
			      "pg_catalog.set_config('lock_timeout', '%s', true), pg_catalog.pg_advisory_xact_lock(%lld);\n",
		       db->server_version >= 140000 ? "pg_catalog.set_config('client_connection_check_interval', '1s', true), " : "",
		       flush ? FLUSH_SQL : "",
		       lim->wait_timeout ? lim->wait_timeout : GM_DEFAULT_WAIT_TIMEOUT, gm_history_lock_key());
	sc->segs[sc->nsegs - 1].is_lock = 1;
}

/* Timeouts were checked by gm_check_timeouts (digits and a unit): safe
 * to splice. */
void gm_script_limits_items(struct gm_strbuf *sb, const struct gm_txn_limits *lim)
{
	gm_strbuf_addf(sb, "pg_catalog.set_config('lock_timeout', '%s', true)",
		       lim->lock_timeout ? lim->lock_timeout : "0");
	if (lim->statement_timeout)
		gm_strbuf_addf(sb, ", pg_catalog.set_config('statement_timeout', '%s', true)", lim->statement_timeout);
}

void gm_script_begin(struct gm_script *sc, struct gm_db *db, const struct gm_txn_limits *lim)
{
	struct gm_strbuf items = GM_STRBUF_INIT;

	gm_script_lock(sc, db, lim, 0);
	/* Timeouts are set after the lock: they bound the migration's
	 * statements, not the wait for another run. */
	gm_script_limits_items(&items, lim);
	gm_script_ours(sc, 1, "SELECT %s;\n", items.buf);
	gm_strbuf_release(&items);
}

static void keep(PGresult **slot, PGresult *r)
{
	PQclear(*slot);
	*slot = r;
}

/* With db->on_wait set: waits until a whole result has arrived (or the
 * connection fails), calling it every GM_DB_WAIT_TICK_MS meanwhile. */
static void wait_for_result(struct gm_db *db)
{
	double next = gm_monotonic_ms() + GM_DB_WAIT_TICK_MS;

	while (PQisBusy(db->conn)) {
		struct pollfd p = { PQsocket(db->conn), POLLIN, 0 };
		double left = next - gm_monotonic_ms();
		int rc = p.fd < 0 ? -1 : poll(&p, 1, left > 0 ? (int)left + 1 : 0);

		if (rc < 0 && errno != EINTR)
			return;	/* PQgetResult meets the failure */
		if (rc > 0 && !PQconsumeInput(db->conn))
			return;
		if (gm_monotonic_ms() >= next) {
			db->on_wait(db->wait_ctx);
			next = gm_monotonic_ms() + GM_DB_WAIT_TICK_MS;
		}
	}
}

void gm_script_run_each(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *out,
			void (*each)(void *ctx, size_t k, const PGresult *res), void *ctx)
{
	PGresult *r;

	memset(out, 0, sizeof(*out));
	if ((out->error = gm_db_keep_lexing(db))) {
		out->connection_lost = PQstatus(db->conn) == CONNECTION_BAD;
		return;
	}
	if (!PQsendQuery(db->conn, sc->sql.buf)) {
		out->connection_lost = PQstatus(db->conn) == CONNECTION_BAD;
		out->error = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
		return;
	}
	/* PQgetResult returns each statement's result as soon as it has
	 * arrived whole, while the server runs the next ones. */
	for (;;) {
		if (db->on_wait)
			wait_for_result(db);
		if (!(r = PQgetResult(db->conn)))
			break;
		switch (PQresultStatus(r)) {
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
			if (each)
				each(ctx, out->ok, r);
			out->ok++;
			if (PQresultStatus(r) == PGRES_TUPLES_OK)
				keep(&out->rows, r);
			else
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

void gm_script_run(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *out)
{
	gm_script_run_each(db, sc, out, NULL, NULL);
}

void gm_outcome_release(struct gm_outcome *oc)
{
	PQclear(oc->error);
	PQclear(oc->rows);
	memset(oc, 0, sizeof(*oc));
}

static const struct gm_script_seg *seg_by_char(const struct gm_script *sc, size_t c)
{
	size_t k;

	for (k = 0; k < sc->nsegs; k++)
		if (c >= sc->segs[k].char_start && c < sc->segs[k].char_end)
			return &sc->segs[k];
	return NULL;
}

static const struct gm_script_seg *seg_by_stmt(const struct gm_script *sc, size_t idx)
{
	size_t k;

	for (k = 0; k < sc->nsegs; k++)
		if (idx >= sc->segs[k].stmt_start && idx < sc->segs[k].stmt_end)
			return &sc->segs[k];
	return NULL;
}

static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Many errors carry no position (a duplicate table, a column missing from
 * a policy expression, which PostgreSQL parses without the text).  Their
 * message names the object in double quotes; the first whole-word match of
 * that name inside the failing statement is where to point.  Falls back to
 * the statement's start. */
static size_t named_object_offset(const struct gm_section *sec, const struct gm_sql_stmt *st,
				  const char *msg)
{
	const char *q1 = msg ? strchr(msg, '"') : NULL, *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
	size_t n, i;

	if (!q2 || q2 == q1 + 1)
		return st->start;
	n = (size_t)(q2 - q1 - 1);
	for (i = st->start; i + n <= st->end && i + n <= sec->len; i++) {
		if (strncasecmp(sec->sql + i, q1 + 1, n) != 0)
			continue;
		if ((i > 0 && ident_char(sec->sql[i - 1])) || (i + n < sec->len && ident_char(sec->sql[i + n])))
			continue;
		/* A quoted name starts at its opening quote. */
		return i > 0 && sec->sql[i - 1] == '"' ? i - 1 : i;
	}
	return st->start;
}

/* Points err at the place in the section's file that the server blamed. */
static void locate_in_file(struct gm_error *err, const struct gm_script_seg *seg,
			   size_t failed_stmt, const char *pos, const char *primary)
{
	const struct gm_section *sec = seg->sec;
	size_t off;
	unsigned line, col;

	if (pos) {
		size_t c = (size_t)strtoul(pos, NULL, 10) - 1 - seg->char_start;
		off = seg->sec_off + gm_text_char_to_byte(sec->sql + seg->sec_off, sec->len - seg->sec_off, c);
	} else {
		off = named_object_offset(sec, &sec->stmts.v[failed_stmt - seg->stmt_start + seg->sec_stmt], primary);
	}
	free(err->file);
	free(err->src_line);
	err->file = gm_xstrdup(seg->m->path);
	gm_migration_locate(seg->m, sec, off, &line, &col, &err->src_line);
	err->line = line;
	err->col = col;
}

/* A write in a read-only transaction: the role's or database's default
 * (a freeze a DBA set on purpose, not overridden here), or a standby. */
#define SQLSTATE_READ_ONLY "25006"
#define READ_ONLY_ADVICE                                                                              \
	"the session is read-only: default_transaction_read_only is on for this role or database"      \
	" (ALTER ROLE/DATABASE ... SET, PGOPTIONS), or the server is a standby; connect to the primary,"  \
	" or RESET the setting if the freeze is over"

static void add_advice(struct gm_error *err)
{
	if (!err->sqlstate)
		return;
	if (strcmp(err->sqlstate, "25001") == 0)
		gm_error_advise(err, "this statement cannot run inside a transaction block; move it to its own migration marked -- garage:no-transaction");
	else if (strcmp(err->sqlstate, "55P03") == 0)
		gm_error_advise(err, "another session holds a lock on the object; retry later or raise --lock-timeout");
	else if (strcmp(err->sqlstate, SQLSTATE_READ_ONLY) == 0)
		gm_error_advise(err, READ_ONLY_ADVICE);
	else if (strcmp(err->sqlstate, "57014") == 0)
		gm_error_advise(err, "the statement was cancelled (statement timeout); raise --statement-timeout or split the migration");
}

/* SETTINGS_SQL's refusal, or NULL when res is another error. */
static struct gm_error *replica_refusal(const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *p = msg ? strstr(msg, REPLICA_MARK) : NULL;
	struct gm_error *err;
	int len;

	if (!p)
		return NULL;
	p += strlen(REPLICA_MARK);
	len = strrchr(p, '"') ? (int)(strrchr(p, '"') - p) : (int)strlen(p);
	err = gm_error_new(GM_ERR_DB, "refusing to run: session_replication_role is %.*s, so triggers, foreign-key checks"
			   " and ON DELETE actions would not fire", len, p);
	gm_error_advise(err, "it comes from ALTER ROLE or ALTER DATABASE ... SET, PGOPTIONS, or a migration's plain SET:"
			     " RESET it there; a migration that means it can SET LOCAL session_replication_role itself;"
			     " nothing was applied by this transaction");
	return err;
}

struct gm_error *gm_script_error(struct gm_db *db, const struct gm_script *sc,
				 const struct gm_outcome *oc,
				 const struct gm_migration **blamed)
{
	const char *pos = PQresultErrorField(oc->error, PG_DIAG_STATEMENT_POSITION);
	const struct gm_script_seg *seg = pos ? seg_by_char(sc, (size_t)strtoul(pos, NULL, 10) - 1)
					      : seg_by_stmt(sc, oc->ok);
	enum gm_errkind kind = GM_ERR_MIGRATION;
	struct gm_error *err, *refusal;

	if (gm_sqlstate_is_timeout(oc->error))
		kind = GM_ERR_LOCK;
	*blamed = seg ? seg->m : NULL;
	if (!seg || !seg->m) {
		/* Our own bookkeeping failed: not the migration's fault. */
		err = gm_db_error(db, oc->error, kind == GM_ERR_LOCK ? kind : GM_ERR_DB,
				  "garage-migrate's own statement failed");
		if (gm_history_is_untrusted(err))
			return gm_history_untrusted(err);	/* gm_history_ensure_sql's check */
		if ((refusal = replica_refusal(oc->error)) || (refusal = gm_db_refusal(oc->error))) {
			gm_error_free(err);
			return refusal;
		}
		if (oc->connection_lost)
			gm_error_advise(err, "the connection was lost before the server answered, so whether it committed is not known here;"
					     " garage-migrate list and log tell");
		else if (gm_sqlstate_is(oc->error, SQLSTATE_READ_ONLY))
			gm_error_advise(err, READ_ONLY_ADVICE);
		else if (gm_sqlstate_is(oc->error, "42501"))
			gm_error_advise(err, "the role lacks a privilege garage-migrate's bookkeeping needs: CREATE on the database"
					     " (for the " GM_HISTORY_SCHEMA " schema, made on the first run), or USAGE and the"
					     " table privileges on " GM_HISTORY_SCHEMA " when another role made it; have its"
					     " owner run the first up, or GRANT them to this role; nothing was applied");
		return err;
	}
	err = gm_db_error(db, oc->error, kind, NULL);
	locate_in_file(err, seg, oc->ok, pos, PQresultErrorField(oc->error, PG_DIAG_MESSAGE_PRIMARY));
	if (oc->connection_lost)
		gm_error_advise(err, "the connection was lost while running %s, so whether it committed is not known here;"
				     " garage-migrate list tells", seg->m->filename);
	else
		add_advice(err);
	return err;
}

/* A bare number would be milliseconds to the server: "--lock-timeout 5"
 * meant 5 ms, silently.  A unit is required, but for 0 (no limit), which
 * means the same in every unit.  The server takes at most INT_MAX ms (24
 * days and a bit): more would fail there, after the run began. */
int gm_timeout_valid(const char *v)
{
	static const struct {
		const char *unit;
		unsigned long long us;
	} units[] = { { "us", 1 }, { "ms", 1000 }, { "s", 1000000 }, { "min", 60000000 }, { "h", 3600000000ULL },
		      { "d", 86400000000ULL } };
	const unsigned long long max_us = 2147483647ULL * 1000;
	unsigned long long n = 0;
	const char *p = v;

	if (!strcmp(v, "0"))
		return 1;
	if (!isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > max_us)
			return 0;
	}
	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strcmp(p, units[k].unit) == 0)
			return n <= max_us / units[k].us;
	return 0;
}

struct gm_error *gm_check_timeouts(const struct gm_txn_limits *lim)
{
	const char *const names[] = { "--wait-timeout", "--lock-timeout", "--statement-timeout" };
	const char *const vals[] = { lim->wait_timeout, lim->lock_timeout, lim->statement_timeout };

	for (int k = 0; k < 3; k++)
		if (vals[k] && !gm_timeout_valid(vals[k]))
			return gm_error_new(GM_ERR_USAGE, "invalid %s '%s': a duration is digits and a unit"
					    " (us, ms, s, min, h, d), such as 500ms, 5s or 1min, and at most 24d"
					    " (2147483647ms, the server's limit)", names[k], vals[k]);
	return NULL;
}

/* ---- who holds the lock ---- */

static void set_message(struct gm_error *err, char *msg)
{
	/* The server's words stay, as detail. */
	if (!err->detail) {
		err->detail = err->msg;
	} else {
		char *d = gm_xasprintf("%s; %s", err->msg, err->detail);
		free(err->msg);
		free(err->detail);
		err->detail = d;
	}
	err->msg = msg;
}

/* pid 123 (psql, idle in transaction since 2026-11-25 16:20:01) */
#define HOLDER_SQL                                                                      \
	"'pid ' || a.pid || ' (' || coalesce(nullif(a.application_name, ''), 'no application name')" \
	" || ', ' || coalesce(a.state, 'unknown state') || coalesce(' since ' ||"                 \
	" to_char(a.state_change, 'YYYY-MM-DD HH24:MI:SS'), '') || ')'"

static void explain_migration_lock(struct gm_db *db, struct gm_error *err)
{
	char cls[32], obj[32];
	const char *params[2] = { cls, obj };
	long long key = gm_history_lock_key();
	PGresult *r;

	/* A bigint advisory key is stored as (classid, objid) halves. */
	snprintf(cls, sizeof(cls), "%llu", ((unsigned long long)key >> 32) & 0xffffffffULL);
	snprintf(obj, sizeof(obj), "%llu", (unsigned long long)key & 0xffffffffULL);
	gm_error_free(gm_db_query_pinned(db,
		"SELECT string_agg(" HOLDER_SQL ", ', ') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid"
		" AND l.objsubid = 1", 2, params, NULL, &r));
	set_message(err, gm_xasprintf("timed out waiting for another garage-migrate run to release the migration lock%s%s",
		r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? "; held by " : "",
		r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : ""));
	gm_error_advise(err, "wait for that run to finish, or raise --wait-timeout; nothing of this migration was applied");
	PQclear(r);
}

/* Tables named in the failing statement that other sessions hold locks on. */
static void explain_table_lock(struct gm_db *db, const struct gm_section *sec,
			       size_t k, struct gm_error *err)
{
	char *text = gm_section_stmt_text(sec, k), *rels = gm_sql_stmt_relations(sec->sql, &sec->stmts.v[k]);
	const char *params[2] = { text, rels };
	PGresult *r = NULL;

	gm_error_free(gm_db_query_pinned(db,
		"SELECT string_agg(DISTINCT 'table ' || n.nspname || '.' || c.relname || ' is locked ('"
		" || l.mode || ') by ' || " HOLDER_SQL ", '; ')"
		" FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
		" JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()"
		" AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
		" AND " GM_SQL_STMT_NAMES_RELATION,
		2, params, NULL, &r));

	if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		set_message(err, gm_xasprintf("lock timeout: %s", PQgetvalue(r, 0, 0)));
	gm_error_advise(err, "end or wait for the blocking session, then run again (or raise --lock-timeout); nothing of this migration was applied");
	PQclear(r);
	free(text);
	free(rels);
}

void gm_script_explain_lock(struct gm_db *db, const struct gm_script *sc,
			    const struct gm_outcome *oc, struct gm_error *err)
{
	const struct gm_script_seg *seg;

	if (err->kind != GM_ERR_LOCK || oc->connection_lost || !gm_sqlstate_is(oc->error, "55P03"))
		return;
	seg = seg_by_stmt(sc, oc->ok);
	if (seg && seg->is_lock)
		explain_migration_lock(db, err);
	else if (seg && seg->m)
		explain_table_lock(db, seg->sec, oc->ok - seg->stmt_start + seg->sec_stmt, err);
}

char *gm_section_stmt_text(const struct gm_section *sec, size_t k)
{
	const struct gm_sql_stmt *st = &sec->stmts.v[k];

	return gm_xstrndup(sec->sql + st->start, st->end - st->start);
}

double gm_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
