/* engine.c - planning and applying migrations.
 *
 * Round trips decide how long a deploy takes over a 5-50 ms link, so
 * pending migrations travel in batches: one simple-query string holds
 * "BEGIN; ...; COMMIT; BEGIN; ...; COMMIT; ...", which the server runs one
 * transaction after the other, stopping at the first error and keeping
 * what committed before it.  Each migration still has a transaction of its
 * own with its lock, "already applied?" re-check, text, history row and
 * COMMIT; the script (see gm_script.h) maps server errors back into the
 * file, and results are read as they arrive, so progress is reported as
 * each migration commits. */
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

/* A batch is bounded by count and by bytes of migration text: the server
 * parses the whole string before it runs any of it and keeps the parse
 * trees until the string is done, and both sides hold the string in
 * memory; and a hundred small migrations already cost far less than one
 * round trip over a slow link. */
#define BATCH_MIGRATIONS 100
#define BATCH_BYTES (1024 * 1024)

/* ---- checks that stop a migration's transaction ----
 *
 * The tool's checks run as plain statements: a DO block would compile
 * PL/pgSQL for every migration.  A plain statement stops the transaction
 * by failing a cast of a text that says why ("invalid input syntax for
 * type integer: \"garage-migrate: ...\""); the engine knows which of its
 * statements failed, so the SQLSTATE and the marker in the message only
 * confirm it (the marker is quoted verbatim whatever lc_messages says).
 * The text cast always holds a subquery: a constant would be cast, and
 * fail, when the statement is planned, whether its CASE branch is taken
 * or not. */
#define SQLSTATE_MARKER "22P02"
/* Another run applied the migration while this one waited for the lock:
 * not a failure, the work is done; followed by the newest applied_seq. */
#define MARK_APPLIED "garage-migrate: already applied; history at "
/* The history is no longer the one this run planned on (another run
 * rolled back or applied migrations): up plans again. */
#define MARK_REPLAN "garage-migrate: history changed; now at "
/* One of up's functions answered as it never does when it has run (see
 * add_check_call): the transaction stops, as any failure of the tool's own
 * statements does. */
#define MARK_NOT_RUN "garage-migrate: a function of up did not run; history at "
/* The migration would leave a table holding rows with less RLS isolation
 * than before (see the isolation guard below); followed by the tables. */
#define MARK_ISOLATION "garage-migrate: isolation lost: "

/* ---- the isolation guard of up ----
 *
 * A migration that disables RLS on a table holding tenant rows, stops
 * forcing it, or drops its last policy (DROP POLICY, DROP ... CASCADE of
 * a function the policies use, DROP OWNED), or rebuilds it (renamed away,
 * copied into a new table under the old name) with less of that, leaves
 * those rows readable by every tenant.  Before its text the RLS state of
 * every user table that has any to lose (RLS enabled or forced, or a
 * policy) is noted in a setting of the transaction (no temporary table:
 * the migration's session stays as it was); after it, the same table (by
 * oid) and whatever table now has its name must be as isolated, or hold
 * no rows.  Rows are counted as row_security off would count them: a
 * table whose rows RLS would filter for this user (row_security_active),
 * or that the user cannot read, "cannot be counted" and is refused too;
 * through a partitioned or inheritance parent, children included, as a
 * query on it would reach them.  Otherwise the migration stops, unless
 * --allow-isolation-loss.  Every migration pays for the guard (two
 * catalog reads), as any text can rebuild a table; the count, a dynamic
 * query, runs only for a table that lost isolation, through query_to_xml
 * (the only way plain SQL runs a query it builds; the XML is one number).
 * Only names from the catalog reach that query, through format(%I). */
/* The note, as one text (a JSON array). */
#define ISOLATION_NOTE                                                                               \
	"coalesce((SELECT pg_catalog.json_agg("                                                         \
	"pg_catalog.json_build_array(c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity," \
	" (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)))::pg_catalog.text" \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"         \
	" WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema',"    \
	" '" GM_HISTORY_SCHEMA "') AND n.nspname NOT LIKE 'pg\\_%'"                                     \
	" AND (c.relrowsecurity OR c.relforcerowsecurity"                                             \
	"  OR c.oid IN (SELECT p.polrelid FROM pg_catalog.pg_policy p))), '[]')"
#define ISOLATION_BEFORE_ITEM "pg_catalog.set_config('garage_migrate.rls0', " ISOLATION_NOTE ", true)"
/* One row: the losses as one line, or NULL. */
#define ISOLATION_LOST                                                                               \
	"SELECT pg_catalog.string_agg(pg_catalog.format('table %s.%s, %s, %s', x.nspname, x.relname, x.why," \
	"  CASE WHEN x.n < 0 THEN 'whose rows cannot be counted' WHEN x.n = 1 THEN 'keeps 1 row'"    \
	"  ELSE 'keeps ' OPERATOR(pg_catalog.||) x.n OPERATOR(pg_catalog.||) ' rows' END), ', '"        \
	"  ORDER BY x.nspname, x.relname) AS msg"                                                     \
	" FROM (SELECT d.nspname, d.relname, d.why,"                                                  \
	"  CASE WHEN NOT pg_catalog.has_schema_privilege(d.nsoid, 'USAGE')"                          \
	"   OR NOT pg_catalog.has_any_column_privilege(d.oid, 'SELECT')"                              \
	"   OR pg_catalog.row_security_active(d.oid) THEN -1"                                         \
	"  ELSE pg_catalog.substring(pg_catalog.query_to_xml(pg_catalog.format("                      \
	"   'SELECT pg_catalog.count(*) AS n FROM (SELECT 1 FROM %I.%I LIMIT 1000001) s',"             \
	"   d.nspname, d.relname), false, true, '')::pg_catalog.text, '<n>([0-9]+)</n>')::pg_catalog.int8 END AS n" \
	"  FROM (SELECT DISTINCT ns.oid AS nsoid, c.oid, ns.nspname, c.relname,"                      \
	"   CASE WHEN b.rls AND NOT c.relrowsecurity THEN 'row level security disabled'"              \
	"   WHEN b.force AND NOT c.relforcerowsecurity THEN 'row level security no longer forced'"    \
	"   ELSE 'no policy left' END AS why"                                                         \
	"   FROM (SELECT (e OPERATOR(pg_catalog.->>) 0)::pg_catalog.oid AS oid,"                       \
	"    e OPERATOR(pg_catalog.->>) 1 AS nsp, e OPERATOR(pg_catalog.->>) 2 AS rel,"                \
	"    (e OPERATOR(pg_catalog.->>) 3)::pg_catalog.bool AS rls,"                                  \
	"    (e OPERATOR(pg_catalog.->>) 4)::pg_catalog.bool AS force,"                                \
	"    (e OPERATOR(pg_catalog.->>) 5)::pg_catalog.int8 AS np FROM pg_catalog.json_array_elements(" \
	"    pg_catalog.current_setting('garage_migrate.rls0')::pg_catalog.json) e) b"                 \
	"   JOIN pg_catalog.pg_class c ON c.relkind IN ('r', 'p')"                                    \
	"   JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace"                               \
	"   WHERE (c.oid = b.oid OR (ns.nspname = b.nsp AND c.relname = b.rel))"                      \
	"   AND ((b.rls AND NOT c.relrowsecurity) OR (b.force AND NOT c.relforcerowsecurity)"         \
	"   OR (b.np > 0 AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)))) d) x" \
	" WHERE x.n <> 0"
#define ISOLATION_AFTER_CTE "lost AS (" ISOLATION_LOST "), "
#define ISOLATION_AFTER_COLUMN                                                                       \
	"(SELECT CASE WHEN lost.msg IS NOT NULL THEN ('" MARK_ISOLATION "' OPERATOR(pg_catalog.||) lost.msg)::pg_catalog.int4 END" \
	" FROM lost)"

/* ---- the tool's statements of a migration, planned once a session ----
 *
 * The server plans a simple query at every call.  The re-check and the
 * note before a migration, and the verdict, history row and audit entry
 * after it, cost more to plan than to run (with a thousand tables, the
 * guard's two catalog reads alone cost twice as much to plan), and every
 * migration pays them.  PL/pgSQL keeps the plans of a function's
 * statements for the session, so the same SQL lives in two functions in
 * the history schema, and each migration calls them: a batch plans them
 * once.  They do what the plain statements below do (used when the
 * functions cannot be): the same checks, markers and rows, in the same
 * order.  SECURITY INVOKER (the migrating role's rights: rows are counted
 * and history written as inline), VOLATILE (each statement sees what the
 * statements before it did: the re-check runs after the lock is granted,
 * the verdict after the migration's text), and their own settings (the
 * safe path; the literal 'pg\_%' read with standard_conforming_strings
 * on).  Settings they make for the transaction (the mark the duration is
 * measured from, the note) are not theirs, so they outlast the call.
 *
 * A function runs with the caller's rights, so only one the migrating
 * role can trust is called: owned by a role GM_HISTORY_TRUSTED_ROLE
 * trusts (the connecting role itself, or a superuser: nobody else can
 * replace it; the schema and tables must be owned so too, see history.c).
 * up reads that with the history, and then:
 *  - both there and trusted: the migrations call them;
 *  - neither there (or only trusted ones): the first migration's
 *    transaction, under the lock, creates them (CREATE OR REPLACE, after
 *    the history if that is new), and the migrations call them; if that
 *    fails (no CREATE on the schema, or another role made them in the
 *    meantime), up rolls back and plans again with plain statements;
 *  - otherwise (another role's): plain statements, as it always was.
 * A new body gets a new name (_v2), so "there" means "this version's";
 * and "trusted" also means "as made" (UP_FN_STATE): the body, the
 * settings, SECURITY INVOKER, strictness and the rest are checked at every
 * run, since a migration run by the owner could change them.
 *
 * up_check_v1(version, check, seq, prev_version, prev_checksum, guard):
 * check is 0 (none), 1 (the newest applied_seq is seq) or 2 (the newest
 * row is prev's), as enum check_kind below.  up_record_v1 skips the
 * verdict when the note is empty: with no table noted, none can have lost
 * anything (the verdict only looks at noted tables). */
#define UP_FN_CHECK GM_HISTORY_SCHEMA ".up_check_v1"
#define UP_FN_RECORD GM_HISTORY_SCHEMA ".up_record_v1"
#define UP_FN_CHECK_SIG "(pg_catalog.int8, pg_catalog.int4, pg_catalog.int8, pg_catalog.int8, pg_catalog.text, pg_catalog.bool)"
#define UP_FN_RECORD_SIG                                                                             \
	"(pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text,"         \
	" pg_catalog.text, pg_catalog.text, pg_catalog.bool)"
#define UP_FN_OPTIONS                                                                                \
	" LANGUAGE plpgsql VOLATILE SECURITY INVOKER"                                                 \
	" SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on"
#define UP_FN_NEWEST_SEQ "coalesce((SELECT pg_catalog.max(applied_seq) FROM " GM_HISTORY_TABLE "), 0)"
#define UP_FN_CHECK_BODY                                                                             \
	"$gm$BEGIN"                                                                                   \
	" PERFORM pg_catalog.set_config('garage_migrate.t0', pg_catalog.clock_timestamp()::pg_catalog.text, true);" \
	" IF EXISTS (SELECT FROM " GM_HISTORY_TABLE " WHERE version = p_version) THEN"                \
	"  PERFORM ('" MARK_APPLIED "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ ")::pg_catalog.int4;" \
	" END IF;"                                                                                    \
	" IF (p_check = 1 AND " UP_FN_NEWEST_SEQ " <> p_seq)"                                         \
	"  OR (p_check = 2 AND NOT EXISTS (SELECT FROM (SELECT version, checksum FROM " GM_HISTORY_TABLE \
	"  ORDER BY applied_seq DESC LIMIT 1) n WHERE n.version = p_prev_version AND n.checksum = p_prev_checksum))" \
	" THEN"                                                                                       \
	"  PERFORM ('" MARK_REPLAN "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ ")::pg_catalog.int4;" \
	" END IF;"                                                                                    \
	" IF p_guard THEN PERFORM " ISOLATION_BEFORE_ITEM "; END IF;"                                 \
	" RETURN 0; END$gm$"
#define UP_FN_RECORD_BODY                                                                            \
	"$gm$DECLARE v_lost pg_catalog.text; v_ms pg_catalog.int8; v_seq pg_catalog.int8; BEGIN"      \
	" IF p_guard AND pg_catalog.current_setting('garage_migrate.rls0') <> '[]' THEN"              \
	"  v_lost := (" ISOLATION_LOST ");"                                                          \
	"  IF v_lost IS NOT NULL THEN"                                                                \
	"   PERFORM ('" MARK_ISOLATION "' OPERATOR(pg_catalog.||) v_lost)::pg_catalog.int4;"          \
	"  END IF;"                                                                                   \
	" END IF;"                                                                                    \
	" v_ms := " GM_HISTORY_ELAPSED_MS ";"                                                         \
	" " GM_HISTORY_RECORD_INTO                                                                    \
	" VALUES (p_version, p_version_text, p_name, p_script, p_checksum, p_kind, true,"             \
	" NULLIF(p_os_user, ''), v_ms) RETURNING applied_seq INTO v_seq;"                             \
	" " GM_AUDIT_ENTRY_INTO                                                                       \
	" VALUES ('up', p_version, p_name, p_checksum, 'ok', NULLIF(p_os_user, ''), v_ms, NULL);"     \
	" RETURN v_seq; END$gm$"
#define UP_FN_CREATE                                                                                 \
	"CREATE OR REPLACE FUNCTION " UP_FN_CHECK "(p_version pg_catalog.int8, p_check pg_catalog.int4," \
	" p_seq pg_catalog.int8, p_prev_version pg_catalog.int8, p_prev_checksum pg_catalog.text,"     \
	" p_guard pg_catalog.bool) RETURNS pg_catalog.int4" UP_FN_OPTIONS " AS " UP_FN_CHECK_BODY ";\n" \
	"CREATE OR REPLACE FUNCTION " UP_FN_RECORD "(p_version pg_catalog.int8, p_version_text pg_catalog.text," \
	" p_name pg_catalog.text, p_script pg_catalog.text, p_checksum pg_catalog.text, p_kind pg_catalog.text," \
	" p_os_user pg_catalog.text, p_guard pg_catalog.bool) RETURNS pg_catalog.int8" UP_FN_OPTIONS    \
	" AS " UP_FN_RECORD_BODY ";\n"
#define UP_FN_CREATE_STMTS 2
/* How many of the two are there; how many of those have a trusted owner;
 * how many of those are still as made (a migration run by their owner
 * could replace a body or alter a setting: such a function is made again,
 * never called); and how many functions of those names the schema holds
 * (another role's overload would make the call ambiguous). */
#define UP_FN_STATE                                                                                  \
	"SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE " UP_FN_TRUSTED "),"            \
	" pg_catalog.count(*) FILTER (WHERE " UP_FN_TRUSTED " AND " UP_FN_AS_MADE "),"                 \
	" (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc o"                                        \
	" WHERE o.pronamespace = pg_catalog.to_regnamespace('" GM_HISTORY_SCHEMA "')::pg_catalog.oid"  \
	" AND o.proname IN ('up_check_v1', 'up_record_v1'))"                                           \
	" FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner"                 \
	" WHERE p.oid IN (pg_catalog.to_regprocedure('" UP_FN_CHECK UP_FN_CHECK_SIG "'),"            \
	" pg_catalog.to_regprocedure('" UP_FN_RECORD UP_FN_RECORD_SIG "'))"
/* Owned by the connecting role or a superuser, and callable by it (an
 * owner may revoke its own EXECUTE: then up goes inline, not down). */
#define UP_FN_TRUSTED GM_HISTORY_TRUSTED_ROLE("r") " AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')"
/* Everything ALTER FUNCTION or CREATE OR REPLACE can change that would
 * change what a call does: the body, its language, its settings, SECURITY
 * INVOKER, VOLATILE, PARALLEL UNSAFE (it writes), CALLED ON NULL INPUT (a
 * STRICT function returns NULL without running when an argument is NULL),
 * one row, no planner support function (which may replace the call while
 * planning). */
#define UP_FN_AS_MADE                                                                                \
	"NOT p.prosecdef AND p.provolatile = 'v' AND p.proparallel = 'u' AND NOT p.proisstrict"     \
	" AND NOT p.proretset"                                                                        \
	" AND p.prosupport::pg_catalog.oid = 0"                                                       \
	" AND p.prolang = (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'plpgsql')"  \
	" AND p.proconfig = '{\"search_path=pg_catalog, pg_temp\","                                    \
	"standard_conforming_strings=on}'::pg_catalog.text[] AND p.prosrc = CASE p.proname"            \
	" WHEN 'up_check_v1' THEN " UP_FN_CHECK_BODY " ELSE " UP_FN_RECORD_BODY " END"

/* How this run's migrations run the tool's statements. */
enum fn_mode {
	FN_INLINE,	/* the SQL itself, in every migration */
	FN_CREATE,	/* create the functions in the first transaction, then call them */
	FN_CALL,	/* call the functions */
};
/* The text after marker in a failed check's message, or NULL when res is
 * not that check's failure. */
static const char *marked(const PGresult *res, const char *marker)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *p;

	if (!gm_sqlstate_is(res, SQLSTATE_MARKER) || !msg || !(p = strstr(msg, marker)))
		return NULL;
	return p + strlen(marker);
}

/* The guard's refusal, as the user's error: what follows the marker, up
 * to the quote that closes the cast's input in the server's message. */
static struct gm_error *isolation_refused(const struct gm_migration *m, const char *what)
{
	const char *end = strrchr(what, '"');
	struct gm_error *err = gm_error_at(GM_ERR_DATA_LOSS, m->path, 0, 0,
					   "refused: tenant data would lose its isolation: %.*s",
					   (int)(end ? (size_t)(end - what) : strlen(what)), what);

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
		 const struct gm_migration *m, double ms, int reconciled)
{
	struct gm_up_event ev = { kind, m, ms, reconciled };

	if (o->on_event)
		o->on_event(o->ctx, &ev);
}

/* ---- progress ----
 *
 * While up runs, the connection's wait hook (gm_db.h) names the migration
 * the server is on and how long it has been at it; the hook is up's for
 * the run. */
struct progress {
	const struct gm_up_opts *o;
	const struct gm_migration *m;	/* NULL: the run as a whole */
	double since;
};

static void on_wait(void *ctx)
{
	const struct progress *p = ctx;
	struct gm_up_event ev = { GM_UP_RUNNING, p->m, now_ms() - p->since, 0 };

	p->o->on_event(p->o->ctx, &ev);
}

/* m is what the server works on from now on, timed from since. */
static void starting(struct gm_db *db, const struct gm_up_opts *o, const struct gm_migration *m, double since)
{
	if (db->on_wait == on_wait) {
		struct progress *p = db->wait_ctx;
		p->m = m;
		p->since = since;
	}
	if (m)
		emit(o, GM_UP_STARTING, m, 0, 0);
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

/* What a migration's transaction checks under the lock, besides "already
 * applied?": that the history is still the one this run planned on. */
enum check_kind {
	CHECK_NONE,	/* later migrations of --single-transaction (one lock throughout) */
	CHECK_SEQ,	/* the newest applied_seq is seq (0: no row) */
	CHECK_PREV,	/* the newest row is prev's, as this run applied it */
};

struct check {
	enum check_kind kind;
	long long seq;
	const struct gm_migration *prev;
};

/* Statements of one migration's transaction in a script, by index. */
struct item {
	const struct gm_migration *m;
	size_t check;		/* the re-check (and the guard's note) */
	size_t record;		/* history row, audit entry, the guard's verdict */
	size_t seen;		/* the statement answering the row's applied_seq */
	size_t commit;
	long long seq;		/* applied_seq of its history row, -1 until known */
};

/* The re-check's plain form: "already applied?" and, per chk, "is the
 * history still the one this run planned on?", as one CASE that fails
 * with a marker. */
static void add_recheck(struct gm_strbuf *sql, const struct gm_migration *m, const struct check *chk)
{
	/* Already applied by another run: an index lookup; the newest
	 * applied_seq rides along, for the next migration's check. */
	gm_strbuf_addf(sql,
		" CASE WHEN EXISTS (SELECT FROM " GM_HISTORY_TABLE " WHERE version = %llu)"
		" THEN ('" MARK_APPLIED "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ ")::pg_catalog.int4",
		m->version);
	/* Any change to the history changes its newest row: an identity
	 * never reuses a value, and rollback removes the newest row first.
	 * So one index lookup tells whether the history is still the one this
	 * run planned on (another run may have rolled back what this
	 * migration builds on).  Inside a batch the newest row must be the
	 * previous migration's, as this run recorded it (its version and
	 * checksum): its applied_seq is not known when the batch is sent.
	 * Safe to splice: the version is a number, the checksum hex the tool
	 * computed ("sha256:" and 64 digits). */
	if (chk->kind == CHECK_SEQ)
		gm_strbuf_addf(sql, " WHEN " UP_FN_NEWEST_SEQ " <> %lld", chk->seq);
	else if (chk->kind == CHECK_PREV)
		gm_strbuf_addf(sql,
			" WHEN NOT EXISTS (SELECT FROM (SELECT version, checksum FROM " GM_HISTORY_TABLE
			" ORDER BY applied_seq DESC LIMIT 1) n WHERE n.version = %llu AND n.checksum = '%s')",
			chk->prev->version, chk->prev->checksum);
	if (chk->kind != CHECK_NONE)
		gm_strbuf_adds(sql, " THEN ('" MARK_REPLAN "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ ")::pg_catalog.int4");
	gm_strbuf_adds(sql, " END");
}

/* The same through up_check_v1: the arguments are numbers, the checksum
 * hex the tool computed, so safe to splice; every one is cast to its
 * parameter's type, so the call resolves to the one function whatever
 * path it is analysed under, and none is NULL.  The call answers 0 when
 * its checks ran; anything else (a function made to return without
 * running) stops the transaction. */
static void add_check_call(struct gm_strbuf *sql, const struct gm_migration *m, const struct check *chk, int guard)
{
	gm_strbuf_addf(sql, " CASE " UP_FN_CHECK "(%llu::pg_catalog.int8, %d::pg_catalog.int4, %lld::pg_catalog.int8,",
		       m->version, (int)chk->kind, chk->kind == CHECK_SEQ ? chk->seq : 0);
	if (chk->kind == CHECK_PREV)
		gm_strbuf_addf(sql, " %llu::pg_catalog.int8, '%s'::pg_catalog.text,", chk->prev->version, chk->prev->checksum);
	else
		gm_strbuf_adds(sql, " 0::pg_catalog.int8, ''::pg_catalog.text,");
	gm_strbuf_addf(sql, " %s) WHEN 0 THEN 0 ELSE ('" MARK_NOT_RUN "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ
			    ")::pg_catalog.int4 END", guard ? "true" : "false");
}

/* up_record_v1's call: names quoted through libpq, version_text digits
 * (checked with the file name), checksum hex computed here, each cast to
 * its parameter's type.  It is analysed under whatever path the
 * migration left (see add_check_call), so no statement pins the path, and
 * it names everything with its schema. */
static void add_record_call(struct gm_strbuf *sql, struct gm_db *db, const struct gm_migration *m,
			    const char *os_user, int guard)
{
	char *name = gm_db_quote_literal(db, m->name);
	char *script = gm_db_quote_literal(db, m->filename);
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");

	gm_strbuf_addf(sql,
		"SELECT " UP_FN_RECORD "(%llu::pg_catalog.int8, '%s'::pg_catalog.text, %s::pg_catalog.text,"
		" %s::pg_catalog.text, '%s'::pg_catalog.text, '%s'::pg_catalog.text, %s::pg_catalog.text, %s);\n",
		m->version, m->version_text, name, script, m->checksum, gm_history_kind(m), user,
		guard ? "true" : "false");
	free(name);
	free(script);
	free(user);
}

/* The history row the call was to write, read back by a statement of our
 * own (a statement does not see what a function it calls wrote): its
 * applied_seq, or the transaction stops.  Whatever became of the function
 * since the run read its state, the migration commits with its row or not
 * at all.  Analysed under the migration's path too: every operator named
 * with its schema; version and checksum the tool's, safe to splice. */
static void add_record_seen(struct gm_strbuf *sql, const struct gm_migration *m)
{
	gm_strbuf_addf(sql,
		"SELECT coalesce((SELECT h.applied_seq FROM " GM_HISTORY_TABLE " h"
		" WHERE h.version OPERATOR(pg_catalog.=) %llu::pg_catalog.int8"
		" AND h.checksum OPERATOR(pg_catalog.=) '%s'::pg_catalog.text"
		" AND h.status OPERATOR(pg_catalog.=) 'applied'::pg_catalog.text),"
		" ('" MARK_NOT_RUN "' OPERATOR(pg_catalog.||) " UP_FN_NEWEST_SEQ ")::pg_catalog.int8);\n",
		m->version, m->checksum);
}

/* The migration's part of an up script, inside its transaction: one
 * statement for its timeouts (with_limits), the re-check under the lock,
 * the mark its duration is measured from, the guard's note and the user's
 * search path; its text; one statement for the guard's verdict, its
 * history row and audit entry (plain statements: the safe path pinned
 * first; through the functions: then one more, reading the row back).  The first statement is analysed under the safe path (set with
 * the lock), and sets the user's last, when everything in it has been
 * resolved. */
static void script_migration(struct gm_script *sc, struct gm_db *db, const struct gm_migration *m,
			     const struct check *chk, int with_limits, int check_path, const struct gm_up_opts *o,
			     enum fn_mode fns, struct item *it)
{
	int guard = !o->allow_isolation_loss;
	struct gm_strbuf sql = GM_STRBUF_INIT;

	gm_strbuf_adds(&sql, "SELECT ");
	if (with_limits) {
		gm_script_limits_items(&sql, &o->limits);
		gm_strbuf_adds(&sql, ",");
	}
	if (fns != FN_INLINE) {
		add_check_call(&sql, m, chk, guard);
	} else {
		gm_strbuf_adds(&sql, " pg_catalog.set_config('garage_migrate.t0', pg_catalog.clock_timestamp()::pg_catalog.text, true),");
		add_recheck(&sql, m, chk);
		if (guard)
			gm_strbuf_adds(&sql, ", " ISOLATION_BEFORE_ITEM);
	}
	/* The user's path for the migration's text (see gm_db.h). */
	gm_strbuf_adds(&sql, ", ");
	gm_db_user_path_item(db, &sql, 1, check_path);
	gm_strbuf_adds(&sql, ";\n");
	it->m = m;
	it->seq = -1;
	it->check = sc->stmts;
	gm_script_ours(sc, 1, "%s", sql.buf);
	gm_strbuf_reset(&sql);

	gm_script_text(sc, m, &m->up);
	if (fns != FN_INLINE) {
		add_record_call(&sql, db, m, o->os_user, guard);
		it->record = sc->stmts;
		gm_script_ours(sc, 1, "%s", sql.buf);
		gm_strbuf_reset(&sql);
		add_record_seen(&sql, m);
		it->seen = sc->stmts;
		gm_script_ours(sc, 1, "%s", sql.buf);
	} else {
		gm_script_ours(sc, 1, "%s;\n", GM_SQL_PIN_PATH);
		gm_history_add_record_sql_with(db, &sql, m, "up", o->os_user,
					       guard ? ISOLATION_AFTER_CTE : NULL, guard ? ISOLATION_AFTER_COLUMN : NULL);
		it->record = it->seen = sc->stmts;
		gm_script_ours(sc, GM_HISTORY_RECORD_STMTS, "%s", sql.buf);
	}
	gm_strbuf_release(&sql);
}

/* Room for the script of migrations v[0..n): their text and, per
 * migration, about as much of the tool's own SQL. */
static void reserve(struct gm_script *sc, const struct gm_migration **v, size_t n)
{
	size_t bytes = 0;

	for (size_t k = 0; k < n; k++)
		bytes += v[k]->up.len + 8192;
	gm_script_reserve(sc, bytes);
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

/* A failed script's aftermath, the connection still up: roll back, audit,
 * build the error. */
static struct gm_error *fail_script(struct gm_db *db, const struct gm_script *sc,
				    struct gm_outcome *oc, const struct gm_up_opts *o)
{
	const struct gm_migration *blamed = NULL;
	struct gm_error *err = gm_script_error(db, sc, oc, &blamed);

	PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_script_explain_lock(db, sc, oc, err);
	/* Best effort: the real error matters more than a failed audit
	 * entry. */
	if (blamed)
		gm_error_free(gm_history_audit(db, "up", blamed->version, blamed->name,
					       blamed->checksum, "failed", o->os_user, err->msg));
	return err;
}

/* What to do when one of up's functions answered as one that ran never
 * does (MARK_NOT_RUN). */
static void not_run_advice(struct gm_error *err, const struct gm_outcome *oc)
{
	if (marked(oc->error, MARK_NOT_RUN))
		gm_error_advise(err, "a function of up in schema " GM_HISTORY_SCHEMA " was replaced or altered, most likely by an"
				     " earlier migration of this run, and the migration it was called for was rolled back;"
				     " run garage-migrate up again: it makes the functions again before it calls them");
}

/* ---- batches ---- */

struct batch {
	struct gm_db *db;
	struct gm_script sc;
	struct item *v;
	size_t n;
	size_t committed;	/* items whose COMMIT has been answered */
	double mark;		/* when the last one was, or the batch was sent */
	const struct gm_up_opts *o;
	struct gm_up_result *res;
};

/* Each result as it arrives: an item is applied when its COMMIT is
 * answered, and reported then, timed from the one before. */
static void on_result(void *ctx, size_t k, const PGresult *r)
{
	struct batch *b = ctx;
	struct item *it = b->committed < b->n ? &b->v[b->committed] : NULL;

	if (!it)
		return;
	if (k == it->seen && PQntuples(r) == 1) {
		it->seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	} else if (k == it->commit) {
		double now = now_ms();
		b->committed++;
		b->res->applied++;
		emit(b->o, GM_UP_APPLIED, it->m, now - b->mark, 0);
		b->mark = now;
		if (b->committed < b->n)
			starting(b->db, b->o, b->v[b->committed].m, now);
	}
}

static int is_recorded(const struct gm_history *h, const struct gm_migration *m)
{
	const struct gm_applied *a = gm_history_find(h, m->version);

	return a && !strcmp(a->checksum, m->checksum) && (!a->status || !strcmp(a->status, "applied"));
}

/* The connection dropped while items [b->committed, b->n) were in flight:
 * reconnect, read the history once under the lock, and tell migration by
 * migration what took effect (reported as applied) and where it stopped.
 * The error is about the first one not recorded, rolled back (exit 4),
 * or, when every one was, the last (exit 7); never about one whose fate
 * was not observed. */
static struct gm_error *lost_batch(struct gm_db *db, struct batch *b, struct gm_outcome *oc)
{
	const struct gm_migration *blamed = NULL, *target;
	struct gm_error *err = gm_script_error(db, &b->sc, oc, &blamed);
	enum gm_recorded rec = GM_RECORDED_UNKNOWN;
	struct gm_history h;
	char *why = NULL;
	size_t k = b->committed;

	if (k == b->n) {
		/* Every commit was answered; only the end of the string was
		 * not. */
		rec = GM_RECORDED_YES;
	} else if (gm_reconcile_read(db, &b->o->limits, &h, &why) == 0) {
		for (; k < b->n && is_recorded(&h, b->v[k].m); k++) {
			b->res->applied++;
			emit(b->o, GM_UP_APPLIED, b->v[k].m, 0, 1);
		}
		rec = k < b->n ? GM_RECORDED_NO : GM_RECORDED_YES;
		gm_history_release(&h);
	}
	if (k == b->n)
		k--;
	target = b->v[k].m;
	/* Where the client last saw the server is worth showing only when it
	 * is inside the migration the error is about. */
	if (blamed != target) {
		free(err->file);
		free(err->src_line);
		err->file = NULL;
		err->src_line = NULL;
		err->line = err->col = 0;
	}
	gm_reconcile_explain(err, target->filename, "applying", rec, why,
			     rec == GM_RECORDED_YES ? "run garage-migrate up again for the migrations after it"
						    : "run garage-migrate up again when the connection is stable");
	if (rec == GM_RECORDED_NO)
		gm_error_free(gm_history_audit(db, "up", target->version, target->name, target->checksum, "failed",
					       b->o->os_user, err->msg));
	free(why);
	return err;
}

/* Which item statement k belongs to. */
static size_t item_of(const struct batch *b, size_t k)
{
	size_t j = 0;

	while (j + 1 < b->n && k > b->v[j].commit)
		j++;
	return j;
}

/* The index of the item a failure points into, by its position (0 when
 * it is the first or not an item's). */
static size_t broken_item(struct gm_db *db, const struct batch *b, const struct gm_outcome *oc)
{
	const struct gm_migration *blamed = NULL;
	size_t j;

	gm_error_free(gm_script_error(db, &b->sc, oc, &blamed));
	for (j = 0; j < b->n && b->v[j].m != blamed; j++)
		;
	return j < b->n ? j : 0;
}

/* Outcome of one batch, besides an error. */
struct batch_end {
	size_t done;		/* items settled (applied or skipped) */
	size_t cut;		/* nonzero: send only this many items next time */
	int replan;
	int fn_failed;		/* replan, as the functions could not be made */
	int fn_made;		/* they were, and committed */
	struct check next;	/* the check for the migration after the settled ones */
};

/* Runs migrations v[0..n) as one batch; ensure_history puts the creation
 * of the history in the first transaction. */
static struct gm_error *run_batch(struct gm_db *db, const struct gm_migration **v, size_t n,
				  const struct check *chk, int ensure_history, enum fn_mode fns,
				  const struct gm_up_opts *o, struct gm_up_result *res, struct batch_end *end)
{
	struct batch b = { db, GM_SCRIPT_INIT, NULL, n, 0, 0, o, res };
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	const char *mark;
	size_t k, fn_first = 0, fn_end = 0;

	memset(end, 0, sizeof(*end));
	b.v = gm_xcalloc(n, sizeof(*b.v));
	reserve(&b.sc, v, n);
	for (k = 0; k < n; k++) {
		struct check prev = { CHECK_PREV, 0, k ? v[k - 1] : NULL };

		/* From the second transaction on, its first statement makes
		 * the server send what it holds: the previous commit. */
		gm_script_lock(&b.sc, db, &o->limits, k > 0);
		if (k == 0 && ensure_history)
			gm_script_ours(&b.sc, 1, "%s", gm_history_ensure_sql);
		if (k == 0 && fns == FN_CREATE) {
			fn_first = b.sc.stmts;
			gm_script_ours(&b.sc, UP_FN_CREATE_STMTS, "%s", UP_FN_CREATE);
			fn_end = b.sc.stmts;
		}
		script_migration(&b.sc, db, v[k], k ? &prev : chk, 1, k == 0, o, fns, &b.v[k]);
		b.v[k].commit = b.sc.stmts;
		gm_script_ours(&b.sc, 1, "COMMIT;\n");
	}
	b.mark = now_ms();
	starting(db, o, v[0], b.mark);
	gm_script_run_each(db, &b.sc, &oc, on_result, &b);
	end->done = b.committed;
	end->fn_made = fns == FN_CREATE && b.committed > 0;
	if (b.committed)
		end->next = b.v[b.committed - 1].seq >= 0
			? (struct check){ CHECK_SEQ, b.v[b.committed - 1].seq, NULL }
			: (struct check){ CHECK_PREV, 0, b.v[b.committed - 1].m };
	else
		end->next = *chk;
	if (!oc.error)
		goto done;
	if (oc.connection_lost) {
		err = lost_batch(db, &b, &oc);
		goto done;
	}
	if (oc.ok >= fn_first && oc.ok < fn_end) {
		/* Nothing ran yet: plan again, with plain statements. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		end->replan = end->fn_failed = 1;
		goto done;
	}
	k = item_of(&b, oc.ok);
	if (oc.ok == 0 && n > 1 && (end->cut = broken_item(db, &b, &oc)) > 0) {
		/* Nothing ran: the server parses the whole string first, and
		 * a syntax error in a later migration stops the ones before
		 * it too.  Those go again on their own, and the broken one
		 * fails first in the next batch, as it would alone. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
	} else if (oc.ok == b.v[k].check && (mark = marked(oc.error, MARK_APPLIED))) {
		/* Another run applied it: the history moved on by its rows. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		end->done = k + 1;
		end->next = (struct check){ CHECK_SEQ, strtoll(mark, NULL, 10), NULL };
		res->skipped++;
		emit(o, GM_UP_SKIPPED, v[k], 0, 0);
	} else if (oc.ok == b.v[k].check && marked(oc.error, MARK_REPLAN)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		end->replan = 1;
	} else if (oc.ok == b.v[k].record && (mark = marked(oc.error, MARK_ISOLATION))) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = isolation_refused(v[k], mark);
		gm_error_free(gm_history_audit(db, "up", v[k]->version, v[k]->name, v[k]->checksum, "failed",
					       o->os_user, err->msg));
	} else {
		err = fail_script(db, &b.sc, &oc, o);
		not_run_advice(err, &oc);
	}
done:
	gm_outcome_release(&oc);
	gm_script_release(&b.sc);
	free(b.v);
	return err;
}

/* Pending migrations in batches of transactional ones; a no-transaction
 * migration ends a batch and runs on its own (see notx.c). */
static struct gm_error *apply_batches(struct gm_db *db, const struct gm_migration **todo, size_t n,
				      long long seq, int history_exists, enum fn_mode fns,
				      const struct gm_up_opts *o, struct gm_up_result *res, int *replan,
				      int *fn_failed)
{
	struct check chk = { CHECK_SEQ, seq, NULL };
	int ensure = !history_exists;
	size_t k = 0, cut = 0;

	while (k < n) {
		struct batch_end end;
		struct gm_error *err;
		size_t m, bytes = 0;

		if (!todo[k]->transactional) {
			double t0 = now_ms();
			int skipped = 0;

			starting(db, o, todo[k], t0);
			if ((err = gm_notx_apply(db, todo[k], ensure, o, &skipped)))
				return err;
			ensure = 0;
			skipped ? res->skipped++ : res->applied++;
			emit(o, skipped ? GM_UP_SKIPPED : GM_UP_APPLIED, todo[k], now_ms() - t0, 0);
			/* Its claim and finish moved the history on; the next
			 * check wants its row on top (else another run was
			 * here too, and up plans again). */
			chk = (struct check){ CHECK_PREV, 0, todo[k] };
			k++;
			continue;
		}
		for (m = k; m < n && todo[m]->transactional && m - k < BATCH_MIGRATIONS &&
			    (m == k || bytes + todo[m]->up.len <= BATCH_BYTES); m++)
			bytes += todo[m]->up.len;
		if (cut && m - k > cut)
			m = k + cut;
		if ((err = run_batch(db, todo + k, m - k, &chk, ensure, fns, o, res, &end)))
			return err;
		if (end.replan) {
			*replan = 1;
			*fn_failed = end.fn_failed;
			return NULL;
		}
		if (end.fn_made)
			fns = FN_CALL;
		ensure = ensure && end.done == 0 && end.cut;
		cut = end.cut;
		chk = end.next;
		k += end.done;
	}
	return NULL;
}

/* The whole run in one transaction: one script, one lock. */
static struct gm_error *apply_single(struct gm_db *db, const struct gm_migration **todo, size_t n,
				     long long seq, int history_exists, enum fn_mode fns,
				     const struct gm_up_opts *o, struct gm_up_result *res, int *replan,
				     int *fn_failed)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	struct item *items;
	const char *mark;
	double t0 = now_ms();
	size_t k, fn_first = 0, fn_end = 0;

	for (k = 0; k < n; k++)
		if (!todo[k]->transactional) {
			err = gm_error_at(GM_ERR_USAGE, todo[k]->path, 0, 0,
				"a no-transaction migration cannot be part of --single-transaction");
			gm_error_advise(err, "apply it without --single-transaction; nothing was applied");
			return err;
		}
	items = gm_xcalloc(n, sizeof(*items));
	reserve(&sc, todo, n);
	gm_script_lock(&sc, db, &o->limits, 0);
	if (!history_exists)
		gm_script_ours(&sc, 1, "%s", gm_history_ensure_sql);
	if (fns == FN_CREATE) {
		fn_first = sc.stmts;
		gm_script_ours(&sc, UP_FN_CREATE_STMTS, "%s", UP_FN_CREATE);
		fn_end = sc.stmts;
	}
	for (k = 0; k < n; k++) {
		struct check chk = { k == 0 ? CHECK_SEQ : CHECK_NONE, seq, NULL };
		script_migration(&sc, db, todo[k], &chk, k == 0, k == 0, o, fns, &items[k]);
	}
	gm_script_ours(&sc, 1, "COMMIT;\n");
	starting(db, o, NULL, t0);
	gm_script_run(db, &sc, &oc);
	if (!oc.error) {
		res->applied = n;
		for (k = 0; k < n; k++)
			emit(o, GM_UP_APPLIED, todo[k], (now_ms() - t0) / (double)n, 0);
	} else if (oc.connection_lost) {
		const struct gm_migration *blamed = NULL;
		err = gm_script_error(db, &sc, &oc, &blamed);
		/* All or nothing: the first migration's row tells. */
		reconcile(db, todo[0], o, err);
	} else if (oc.ok >= fn_first && oc.ok < fn_end) {
		/* Nothing ran yet: plan again, with plain statements. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		*replan = *fn_failed = 1;
	} else if (oc.ok == items[0].check && (marked(oc.error, MARK_APPLIED) || marked(oc.error, MARK_REPLAN))) {
		/* Another run changed the history while this one waited. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		*replan = 1;
	} else if ((mark = marked(oc.error, MARK_ISOLATION))) {
		for (k = 0; k + 1 < n && items[k].record != oc.ok; k++)
			;
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = isolation_refused(todo[k], mark);
		gm_error_advise(err, "--single-transaction: the whole run was rolled back; if the loss is intended, rerun with --allow-isolation-loss");
	} else {
		err = fail_script(db, &sc, &oc, o);
		not_run_advice(err, &oc);
		if (err->kind == GM_ERR_MIGRATION || err->kind == GM_ERR_LOCK)
			gm_error_advise(err, "--single-transaction: the whole run was rolled back; no migration of it was applied");
	}
	free(items);
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

/* Concurrent runs can change the history between planning and applying;
 * each migration checks what it was planned on, and up plans again when
 * that changed, this many times at most. */
#define MAX_PLANS 10

static struct gm_error *up_plans(struct gm_db *db, const struct gm_migration_set *set,
				 const struct gm_up_opts *o, struct gm_up_result *res);

struct gm_error *gm_engine_up(struct gm_db *db, const struct gm_migration_set *set,
			      const struct gm_up_opts *o, struct gm_up_result *res)
{
	struct progress prog = { o, NULL, 0 };
	struct gm_error *err;

	memset(res, 0, sizeof(*res));
	if ((err = check_opts(set, o)))
		return err;
	if (o->on_event && !o->dry_run) {
		db->on_wait = on_wait;
		db->wait_ctx = &prog;
	}
	err = up_plans(db, set, o, res);
	db->on_wait = NULL;
	db->wait_ctx = NULL;
	return err;
}

/* The functions' mode from what UP_FN_STATE read (see above). */
static enum fn_mode fn_state(const PGresult *state)
{
	long found, trusted, intact, named;

	if (!state || PQntuples(state) != 1 || PQnfields(state) != 4)
		return FN_INLINE;
	found = strtol(PQgetvalue(state, 0, 0), NULL, 10);
	trusted = strtol(PQgetvalue(state, 0, 1), NULL, 10);
	intact = strtol(PQgetvalue(state, 0, 2), NULL, 10);
	named = strtol(PQgetvalue(state, 0, 3), NULL, 10);
	if (named != found)
		return FN_INLINE;	/* overloads: the call could be ambiguous */
	if (found == 2 && intact == 2)
		return FN_CALL;
	/* Missing, or ours but changed: made (again) as they should be. */
	return found == trusted ? FN_CREATE : FN_INLINE;
}

static struct gm_error *up_plans(struct gm_db *db, const struct gm_migration_set *set,
				 const struct gm_up_opts *o, struct gm_up_result *res)
{
	struct gm_error *err;
	int plans, fn_inline = 0;

	for (plans = 0; plans < MAX_PLANS; plans++) {
		struct gm_history hist;
		struct gm_status st;
		const struct gm_migration **todo = NULL;
		size_t n = 0, k;
		long long seq = 0;
		int replan = 0, fn_failed = 0;
		enum fn_mode fns = FN_INLINE;

		if (!fn_inline && !o->dry_run) {
			PGresult *state = NULL;
			if ((err = gm_history_read_also(db, &hist, UP_FN_STATE, &state)))
				return err;
			fns = fn_state(state);
			PQclear(state);
		} else if ((err = gm_history_read(db, &hist))) {
			return err;
		}
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
					emit(o, GM_UP_DRY_RUN, todo[k], 0, 0);
			else if (n)
				err = o->single_transaction
					? apply_single(db, todo, n, seq, hist.exists, fns, o, res, &replan, &fn_failed)
					: apply_batches(db, todo, n, seq, hist.exists, fns, o, res, &replan, &fn_failed);
		}
		free(todo);
		gm_status_release(&st);
		gm_history_release(&hist);
		if (err || !replan)
			return err;
		if (fn_failed)
			fn_inline = 1;
	}
	err = gm_error_new(GM_ERR_DRIFT, "the history kept changing under this run (%d plans): another garage-migrate run is rolling back or applying migrations",
			   MAX_PLANS);
	gm_error_advise(err, "let the other run finish, then run garage-migrate up again");
	return err;
}
