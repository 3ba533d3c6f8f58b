/* rollback.c - stepping back, all or nothing, with a data-loss guard.
 *
 * The whole plan runs in one transaction, so a refused rollback changes
 * nothing at all (schema, data, history), however many steps it has:
 *   1. BEGIN and the migration lock; under it, the history is read again:
 *      the plan must still be the newest applied migrations, unchanged;
 *   2. for each step, newest first: a snapshot of the catalog, SAVEPOINT,
 *      the down and a second snapshot; what the down removed, truncated,
 *      retyped, deleted or updated (gm_guard.h) is counted back at the
 *      savepoint with row_security off (the tables counted locked
 *      against writers first, until the commit), then the down runs
 *      again so the next step sees the database as the rollback would
 *      leave it;
 *   3. a last snapshot: tables that still hold rows but lost RLS
 *      isolation along the way;
 *   4. when anything would be lost without being allowed (or cannot be
 *      counted), or for a dry run: ROLLBACK.  Otherwise every step's
 *      history row goes, each audited with what it dropped, and COMMIT. */
#include "gm_db.h"
#include "gm_rollback.h"
#include "gm_error.h"
#include "gm_guard.h"
#include "gm_reconcile.h"
#include "gm_pgtree.h"
#include "gm_script.h"
#include "gm_sqlstmt.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct step {
	const struct gm_status_item *it;
	struct gm_removals rem;		/* what its down does */
	char *cannot;			/* why that cannot be counted, or NULL */
	double ms;
};

struct plan {
	struct step *v;
	size_t n;
	struct gm_removals iso;		/* isolation lost over the whole plan */
	char *iso_cannot;
	char *untracked;		/* why deleted and updated rows cannot be
					   counted (track_counts off), or NULL */
	long long newest;		/* the newest applied_seq when planned */
};

static int by_seq_desc(const void *x, const void *y)
{
	const struct gm_status_item *a = ((const struct step *)x)->it;
	const struct gm_status_item *b = ((const struct step *)y)->it;

	if (a->a->seq != b->a->seq)
		return a->a->seq > b->a->seq ? -1 : 1;
	return a->version > b->version ? -1 : 1;
}

static struct gm_error *check_step(const struct gm_status_item *it)
{
	struct gm_error *err;

	if (it->state == GM_STATE_FAILED || it->state == GM_STATE_RUNNING) {
		err = gm_error_new(GM_ERR_DRIFT, "cannot roll back %s_%s: it is %s (a no-transaction migration)",
				   it->a->version_text, it->a->name, gm_state_name(it->state));
		gm_error_advise(err, it->state == GM_STATE_RUNNING
			? "let it finish first; nothing was rolled back"
			: "run garage-migrate up to finish it, or garage-migrate repair to clear its entry; nothing was rolled back");
		return err;
	}
	if (it->state == GM_STATE_MISSING) {
		err = gm_error_new(GM_ERR_DRIFT, "cannot roll back %s_%s: its file %s is missing",
				   it->a->version_text, it->a->name, it->a->script);
		gm_error_advise(err, "restore the file (its down section is needed); nothing was rolled back");
		return err;
	}
	if (it->state == GM_STATE_MODIFIED) {
		err = gm_error_at(GM_ERR_DRIFT, it->m->path, 0, 0,
				  "cannot roll back: the file was edited since it was applied (recorded %s, file has %s)",
				  it->a->checksum, it->m->checksum);
		gm_error_advise(err, "restore the file as applied, or record the edit with garage-migrate repair; nothing was rolled back");
		return err;
	}
	if (!it->m->has_down) {
		err = gm_error_at(GM_ERR_INPUT, it->m->path, 0, 0,
				  "cannot roll back: the migration has no -- garage:down section");
		gm_error_advise(err, "add a down section (an empty one if there is nothing to undo); nothing was rolled back");
		return err;
	}
	if (!it->m->transactional)
		return gm_error_at(GM_ERR_INPUT, it->m->path, 0, 0,
				   "-- garage:no-transaction migrations cannot be rolled back by this version of garage-migrate");
	return NULL;
}

/* The applied migrations to roll back, newest first; every one checked. */
static struct gm_error *make_plan(const struct gm_status *st, const struct gm_rollback_opts *o, struct plan *p)
{
	struct step *all = gm_xcalloc(st->n ? st->n : 1, sizeof(*all));
	size_t k, na = 0, want;
	struct gm_error *err = NULL;

	for (k = 0; k < st->n; k++)
		if (st->v[k].a)
			all[na++].it = &st->v[k];
	qsort(all, na, sizeof(*all), by_seq_desc);
	p->newest = na ? all[0].it->a->seq : 0;
	if (o->has_target) {
		for (k = 0; o->target != 0 && k < na && all[k].it->version != o->target; k++)
			;
		if (o->target != 0 && k == na) {
			free(all);
			return gm_error_new(GM_ERR_USAGE, "version %llu is not applied (use --to 0 to roll back everything)", o->target);
		}
		/* Everything above the target, in reverse apply order. */
		want = 0;
		for (k = 0; k < na; k++)
			if (all[k].it->version > o->target)
				all[want++] = all[k];
	} else {
		want = o->steps ? o->steps : 1;
		if (want > na)
			want = na;
	}
	for (k = 0; k < want && !err; k++)
		err = check_step(all[k].it);
	if (err) {
		free(all);
		return err;
	}
	p->v = all;
	p->n = want;
	return NULL;
}

static void plan_release(struct plan *p)
{
	for (size_t k = 0; k < p->n; k++) {
		gm_removals_release(&p->v[k].rem);
		free(p->v[k].cannot);
	}
	free(p->v);
	gm_removals_release(&p->iso);
	free(p->iso_cannot);
	free(p->untracked);
}

/* ---- the transaction ---- */

/* Under the lock: the plan is still the newest applied migrations, with
 * the checksums it was made with.  Otherwise another run changed the
 * history since it was read. */
static struct gm_error *recheck(struct gm_db *db, const struct plan *p)
{
	struct gm_history h;
	struct gm_error *err;
	size_t k;

	if ((err = gm_history_read(db, &h)))
		return err;
	for (k = 0; k < p->n && !err; k++) {
		const struct gm_applied *a = gm_history_find(&h, p->v[k].it->version);
		if (!a || strcmp(a->checksum, p->v[k].it->a->checksum) || a->seq != p->v[k].it->a->seq)
			err = gm_error_new(GM_ERR_DRIFT, "not rolled back: %s_%s is no longer applied as planned",
					   p->v[k].it->a->version_text, p->v[k].it->a->name);
	}
	/* Newer than every entry when planned: applied since.  (Not "newer
	 * than the plan's oldest step": --to goes by version, and a
	 * migration applied out of order may sit among the steps and stay.) */
	for (k = 0; k < h.n && !err; k++)
		if (h.v[k].seq > p->newest)
			err = gm_error_new(GM_ERR_DRIFT, "not rolled back: %s_%s was applied after this rollback was planned",
					   h.v[k].version_text, h.v[k].name);
	if (err)
		gm_error_advise(err, "another garage-migrate run changed the history meanwhile; look at garage-migrate list, then run the rollback again");
	gm_history_release(&h);
	return err;
}

/* The catalog as the guard sees it (after releasing the last step's
 * savepoint, when there is one). */
static struct gm_error *take_snapshot(struct gm_db *db, int release, struct gm_snapshot *s)
{
	PGresult *res = NULL;
	struct gm_error *err = gm_db_exec(db, release ? "RELEASE SAVEPOINT gm_step;\n" GM_GUARD_SNAPSHOT_SQL : GM_GUARD_SNAPSHOT_SQL,
					  "cannot read the catalog for the data-loss guard", &res);

	memset(s, 0, sizeof(*s));
	if (!err && gm_snapshot_load(res, s) != 0)
		err = gm_error_new(GM_ERR_DB, "unexpected result of the catalog snapshot");
	PQclear(res);
	return err;
}

/* Runs sc; on failure the error, located in the down section when it came
 * from there.  The caller ends the transaction. */
static struct gm_error *run(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *oc)
{
	const struct gm_migration *blamed = NULL;
	struct gm_error *err;

	gm_script_run(db, sc, oc);
	if (!oc->error)
		return NULL;
	err = gm_script_error(db, sc, oc, &blamed);
	if (!oc->connection_lost) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		gm_script_explain_lock(db, sc, oc, err);
	}
	return err;
}

/* Counts with row_security off, so Row-Level Security hides nothing; an
 * error (a forced policy for a role without BYPASSRLS) means the count
 * cannot be made.  prefix runs first (back to the savepoint, the down). */
static struct gm_error *count(struct gm_db *db, struct gm_script *sc, struct gm_removals *rem, int after,
			      char **cannot)
{
	struct gm_strbuf sql = GM_STRBUF_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	size_t counting = (size_t)-1;	/* index of the first counting statement */

	gm_guard_count_sql(db, rem, after, &sql);
	if (sql.len) {
		counting = sc->stmts;
		gm_script_ours(sc, 3, "SET LOCAL row_security = off;\n%s;\nSET LOCAL row_security = on;\n", sql.buf);
	}
	gm_strbuf_release(&sql);
	gm_script_run(db, sc, &oc);
	if (oc.error && oc.ok >= counting && !oc.connection_lost &&
	    gm_sqlstate_is_timeout(oc.error)) {
		/* A timeout stopped the count, not the role's rights: exit 5,
		 * as for a timeout in the down itself. */
		err = gm_db_error(db, oc.error, GM_ERR_LOCK, "rollback stopped while counting the rows the down removes");
		gm_error_advise(err, "the count reads every row of the tables the down drops or rewrites: raise"
				     " --statement-timeout (or --lock-timeout) for this run, or run it when they are quiet;"
				     " nothing was rolled back");
	} else if (oc.error && oc.ok >= counting && !oc.connection_lost) {
		/* The count itself failed: the guard cannot tell. */
		struct gm_error *cause = gm_db_error(db, oc.error, GM_ERR_DATA_LOSS, NULL);
		*cannot = gm_xstrdup(cause->msg);
		gm_error_free(cause);
	} else if (oc.error) {
		const struct gm_migration *blamed;
		err = gm_script_error(db, sc, &oc, &blamed);
	} else if (oc.rows && gm_guard_read_counts(oc.rows, rem, after) != 0) {
		err = gm_error_new(GM_ERR_DB, "unexpected result while counting rows");
	}
	gm_outcome_release(&oc);
	return err;
}

static int needs_count(const struct gm_removals *r, int after)
{
	for (size_t k = 0; k < r->n; k++) {
		enum gm_loss kd = r->v[k].kind;
		if (kd == GM_LOSS_REWRITE || kd == GM_LOSS_RETYPE || kd == GM_LOSS_CHANGED
		    || (!after && (kd == GM_LOSS_TABLE || kd == GM_LOSS_COLUMN)))
			return 1;
	}
	return 0;
}

/* Before the count, at the transaction's top level (a lock taken in the
 * savepoint would go with the next ROLLBACK TO it), the tables counted are
 * locked against writers until the commit: a row another session adds
 * after the count, before the down runs again, would be dropped unseen. */
static void lock_counted(struct gm_db *db, struct gm_script *sc, const struct gm_removals *rem)
{
	struct gm_strbuf lock = GM_STRBUF_INIT;

	/* Safe to splice: gm_guard_lock_sql quotes the catalog's names
	 * through libpq. */
	if (gm_guard_lock_sql(db, rem, &lock))
		gm_script_ours(sc, 3, "RELEASE SAVEPOINT gm_step;\n%sSAVEPOINT gm_step;\n", lock.buf);
	gm_strbuf_release(&lock);
}

/* The rows the run of the down that commits deletes and updates, where
 * the trial's figures were fewer (or none): rows committed between the
 * trial and the locks that lock_counted takes go with the rest, and must
 * be told with them.  Moves them out of again. */
static void keep_the_larger(struct gm_removals *rem, struct gm_removals *again)
{
	for (size_t k = 0; k < again->n; k++) {
		struct gm_removal *x = &again->v[k], *y = NULL;

		if (x->kind != GM_LOSS_DELETED && x->kind != GM_LOSS_UPDATED)
			continue;
		for (size_t j = 0; j < rem->n && !y; j++)
			if (rem->v[j].kind == x->kind && !strcmp(rem->v[j].nsp, x->nsp) && !strcmp(rem->v[j].rel, x->rel))
				y = &rem->v[j];
		if (y) {
			if (x->rows > y->rows)
				y->rows = x->rows;
			continue;
		}
		rem->v = gm_xrealloc(rem->v, (rem->n + 1) * sizeof(*rem->v));
		rem->v[rem->n++] = *x;
		memset(x, 0, sizeof(*x));
	}
}

/* The down again, from the savepoint, after the count (with what
 * rewritten tables hold after it when count_after): this run is the one
 * that commits, so what it deletes and updates is what the guard tells. */
static struct gm_error *down_again(struct gm_db *db, struct step *s, int count_after)
{
	const struct gm_migration *m = s->it->m;
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc = { 0 };
	struct gm_snapshot before, after;
	struct gm_removals again = { NULL, 0 };
	struct gm_error *err;

	/* Back to the savepoint first: a failed count aborted what follows it. */
	memset(&after, 0, sizeof(after));
	if ((err = gm_db_exec(db, "ROLLBACK TO SAVEPOINT gm_step", "cannot go back to the rollback's savepoint", NULL)) ||
	    (err = take_snapshot(db, 0, &before)))
		return err;
	gm_script_section(&sc, db, m, &m->down);
	err = count_after ? count(db, &sc, &s->rem, 1, &s->cannot) : run(db, &sc, &oc);
	if (!err && !(count_after && s->cannot) && !(err = take_snapshot(db, 0, &after))) {
		gm_guard_diff(&before, &after, &again);
		keep_the_larger(&s->rem, &again);
	}
	gm_removals_release(&again);
	gm_snapshot_release(&before);
	gm_snapshot_release(&after);
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

/* Step 2 for one migration; leaves the transaction as the down left it. */
static struct gm_error *trial_step(struct gm_db *db, struct step *s, int first)
{
	const struct gm_migration *m = s->it->m;
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_snapshot before, after;
	struct gm_outcome oc = { 0 };
	struct gm_error *err;
	double t0 = gm_monotonic_ms();

	memset(&after, 0, sizeof(after));
	if ((err = take_snapshot(db, !first, &before)))
		return err;
	gm_script_ours(&sc, 1, "SAVEPOINT gm_step;\n");
	gm_script_section(&sc, db, m, &m->down);
	gm_script_ours(&sc, 1, "%s;\n", GM_GUARD_SNAPSHOT_SQL);
	if ((err = run(db, &sc, &oc)))
		goto done;
	if (!oc.rows || gm_snapshot_load(oc.rows, &after) != 0) {
		err = gm_error_new(GM_ERR_DB, "unexpected result of the catalog snapshot");
		goto done;
	}
	gm_guard_diff(&before, &after, &s->rem);
	gm_outcome_release(&oc);
	if (needs_count(&s->rem, 0)) {
		/* Counted where the down started; then the down again, and
		 * what rewritten tables and columns hold after it. */
		gm_script_release(&sc);
		gm_script_ours(&sc, 1, "ROLLBACK TO SAVEPOINT gm_step;\n");
		lock_counted(db, &sc, &s->rem);
		err = count(db, &sc, &s->rem, 0, &s->cannot);
		gm_script_release(&sc);
		if (!err) {
			int counted_after = needs_count(&s->rem, 1) && !s->cannot;
			err = down_again(db, s, counted_after);
			if (!err && counted_after && s->cannot)
				/* The failed count aborted the transaction: the
				 * down once more, for the steps after this one. */
				err = down_again(db, s, 0);
		}
	}
	gm_guard_settle(&s->rem);
done:
	s->ms = gm_monotonic_ms() - t0;
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	gm_snapshot_release(&before);
	gm_snapshot_release(&after);
	return err;
}

/* Deleted and updated rows are read from the transaction's statistics,
 * which the server keeps only with track_counts on: a database or role
 * default may turn it off.  It is turned on for the transaction (a
 * superuser may); when it cannot be, or a down turned it off, the guard
 * cannot tell what the downs delete or update (p->untracked). */
static int visit_tracking(void *ctx, const PgQuery__Node *n)
{
	const PgQuery__FuncCall *f;

	(void)ctx;
	/* Setting names are case-blind ("Track_Counts"); RESET ALL resets
	 * it too. */
	if (n->node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT)
		return !n->variable_set_stmt->name || !strcasecmp(n->variable_set_stmt->name, "track_counts");
	if (n->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
		return 0;
	f = n->func_call;
	/* set_config('track_counts', ...), or with a name not written out. */
	return !strcmp(gm_pgtree_last_name(f->funcname, f->n_funcname), "set_config") && f->n_args >= 1 &&
	       !(f->args[0]->node_case == PG_QUERY__NODE__NODE_A_CONST &&
		 f->args[0]->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
		 strcasecmp(f->args[0]->a_const->sval->sval, "track_counts"));
}

/* Whether a statement of m's down sets track_counts: off and on again
 * around a DELETE, the setting reads "on" after the step while the rows
 * it deleted were never counted. */
static int down_sets_tracking(const struct gm_migration *m)
{
	for (size_t k = 0; k < m->down.stmts.n; k++)
		if (gm_sql_stmt_walk(m->down.sql, &m->down.stmts.v[k], visit_tracking, NULL))
			return 1;
	return 0;
}

static struct gm_error *check_tracking(struct gm_db *db, struct plan *p, const char *after)
{
	PGresult *res = NULL;
	struct gm_error *err;
	int on;

	if (p->untracked)
		return NULL;
	if ((err = gm_db_exec(db, "SELECT pg_catalog.current_setting('track_counts')",
			      "cannot read track_counts for the data-loss guard", &res)))
		return err;
	on = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "on");
	PQclear(res);
	if (on)
		return NULL;
	if (after) {
		p->untracked = gm_xasprintf("the down of %s turned track_counts off", after);
		return NULL;
	}
	err = gm_db_exec(db, "SAVEPOINT gm_tc; SET LOCAL track_counts = on; RELEASE SAVEPOINT gm_tc", NULL, NULL);
	if (err) {
		gm_error_free(err);
		if ((err = gm_db_exec(db, "ROLLBACK TO SAVEPOINT gm_tc; RELEASE SAVEPOINT gm_tc",
				      "cannot read track_counts for the data-loss guard", NULL)))
			return err;
		p->untracked = gm_xstrdup("track_counts is off for this session, and only a superuser can turn it on");
	}
	return NULL;
}

/* Step 3: isolation lost over the whole plan, counted. */
static struct gm_error *trial_isolation(struct gm_db *db, const struct gm_snapshot *start, struct plan *p)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_snapshot end;
	struct gm_error *err;

	if ((err = take_snapshot(db, 1, &end)))
		return err;
	gm_guard_isolation_diff(start, &end, &p->iso);
	if (p->iso.n)
		err = count(db, &sc, &p->iso, 1, &p->iso_cannot);
	gm_guard_settle(&p->iso);
	gm_script_release(&sc);
	gm_snapshot_release(&end);
	return err;
}

/* ---- the verdict ---- */

static int step_refused(const struct step *s, const struct gm_rollback_opts *o)
{
	return s->cannot || (gm_guard_loses_data(&s->rem) && !o->allow_data_loss);
}

static int iso_refused(const struct plan *p, const struct gm_rollback_opts *o)
{
	return p->iso_cannot || (gm_guard_loses_isolation(&p->iso) && !o->allow_isolation_loss);
}

static int untracked_refused(const struct plan *p, const struct gm_rollback_opts *o)
{
	return p->untracked && !o->allow_data_loss;
}

static void add_reason(struct gm_strbuf *sb, const struct step *s)
{
	char *what;

	if (s->cannot) {
		gm_strbuf_addf(sb, "cannot tell whether the down destroys data (%s)", s->cannot);
		return;
	}
	what = gm_guard_describe(&s->rem, 0);
	gm_strbuf_addf(sb, "the down would destroy data in %s", what);
	free(what);
}

static void add_iso_reason(struct gm_strbuf *sb, const struct plan *p)
{
	char *what;

	if (p->iso_cannot) {
		gm_strbuf_addf(sb, "cannot tell whether tenant data would lose its isolation (%s)", p->iso_cannot);
		return;
	}
	what = gm_guard_describe(&p->iso, 0);
	gm_strbuf_addf(sb, "tenant data would lose its isolation: %s", what);
	free(what);
}

/* One error for every refusal: the first names its file, the detail the
 * rest, the advice says nothing changed. */
static struct gm_error *refusal(const struct plan *p, const struct gm_rollback_opts *o)
{
	struct gm_strbuf msg = GM_STRBUF_INIT, more = GM_STRBUF_INIT;
	const struct step *first = NULL;
	struct gm_error *err;
	int data = 0, cannot = 0;

	for (size_t k = 0; k < p->n; k++) {
		const struct step *s = &p->v[k];
		if (!step_refused(s, o))
			continue;
		data = 1;
		cannot |= s->cannot != NULL;
		if (!first) {
			first = s;
			add_reason(&msg, s);
			continue;
		}
		gm_strbuf_addf(&more, "%s%s: ", more.len ? "; " : "also ", s->it->m->filename);
		add_reason(&more, s);
	}
	if (untracked_refused(p, o)) {
		struct gm_strbuf *sb = first ? &more : &msg;
		gm_strbuf_addf(sb, "%scannot count the rows the downs delete or update (%s; ALTER DATABASE ..."
				   " SET track_counts = on)", sb == &more ? (more.len ? "; and " : "also ") : "", p->untracked);
		data = 1;
	}
	if (iso_refused(p, o)) {
		cannot |= p->iso_cannot != NULL;
		if (msg.len) {
			gm_strbuf_adds(&more, more.len ? "; and " : "also ");
			add_iso_reason(&more, p);
		} else {
			add_iso_reason(&msg, p);
		}
	}
	err = first ? gm_error_at(GM_ERR_DATA_LOSS, first->it->m->path, 0, 0, "rollback refused: %s", msg.buf)
		    : gm_error_new(GM_ERR_DATA_LOSS, "rollback refused: %s", msg.buf);
	if (more.len)
		err->detail = gm_strbuf_detach(&more, NULL);
	gm_error_advise(err, "%s%s%s; nothing was rolled back: schema, data and history are as they were",
			cannot ? "connect as a superuser or a role with BYPASSRLS so rows hidden by Row-Level Security are counted"
			       : "back the data up first, then rerun with ",
			cannot ? "" : data ? "--allow-data-loss" : "--allow-isolation-loss",
			!cannot && data && iso_refused(p, o) ? " (and --allow-isolation-loss)" : "");
	gm_strbuf_release(&msg);
	gm_strbuf_release(&more);
	return err;
}

static void emit(const struct gm_rollback_opts *o, enum gm_rollback_event_kind kind, const struct step *s,
		 const struct gm_removals *removed)
{
	struct gm_rollback_event ev = { kind, s ? s->it->m : NULL, s ? s->it->a : NULL, s ? s->ms : 0, removed };

	if (o->on_event)
		o->on_event(o->ctx, &ev);
}

/* After a refusal or a failed step, the audit log says so, step by step
 * (the transaction that did the trial is gone). */
static void audit_failed(struct gm_db *db, const struct plan *p, const struct gm_rollback_opts *o, const char *why)
{
	for (size_t k = 0; k < p->n; k++)
		gm_error_free(gm_history_audit(db, "rollback", p->v[k].it->version, p->v[k].it->a->name,
					       p->v[k].it->a->checksum, "failed", o->os_user, why));
}

/* Step 4, when allowed: the history rows go, each audited with what its
 * down dropped, and everything commits at once. */
static struct gm_error *commit_plan(struct gm_db *db, struct plan *p, const struct gm_rollback_opts *o)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc = { 0 };
	struct gm_error *err;

	gm_script_ours(&sc, 1, "%s;\n", GM_HISTORY_MARK_T0);
	for (size_t k = 0; k < p->n; k++) {
		struct gm_strbuf sql = GM_STRBUF_INIT;
		char *lost = p->v[k].rem.n ? gm_guard_describe(&p->v[k].rem, 1) : NULL;
		char *msg = lost ? gm_xasprintf("dropped %s", lost) : NULL;
		gm_history_add_unrecord_sql(db, &sql, p->v[k].it->a, o->os_user, msg);
		gm_script_ours(&sc, GM_HISTORY_UNRECORD_STMTS, "%s", sql.buf);
		gm_strbuf_release(&sql);
		free(lost);
		free(msg);
	}
	gm_script_ours(&sc, 1, "COMMIT;\n");
	err = run(db, &sc, &oc);
	if (err && oc.connection_lost) {
		/* All or nothing: the newest step's history row tells which. */
		const struct gm_status_item *it = p->v[0].it;
		char *why = NULL;
		enum gm_recorded rec = gm_reconcile_recorded(db, &o->limits, it->version, it->a->checksum, &why);
		gm_reconcile_explain(err, it->m->filename, "rolling back",
				     rec == GM_RECORDED_UNKNOWN ? rec : rec == GM_RECORDED_YES ? GM_RECORDED_NO : GM_RECORDED_YES,
				     why, "look at garage-migrate list, then run the rollback again if more is to be done");
		free(why);
	}
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err;
}

/* While the trial waits for the server, RUNNING events: a slow down's
 * time can be shown ticking. */
static void on_wait(void *ctx)
{
	const struct gm_rollback_opts *o = ctx;

	emit(o, GM_RB_RUNNING, NULL, NULL);
}

/* Steps 1-3: the whole plan, tried inside the transaction. */
static struct gm_error *trial(struct gm_db *db, struct plan *p, const struct gm_rollback_opts *o, size_t *failed)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_outcome oc = { 0 };
	struct gm_snapshot start = { NULL, 0 };
	struct gm_error *err;
	size_t k;

	*failed = p->n;
	gm_script_begin(&sc, db, &o->limits);
	err = run(db, &sc, &oc);
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	if (err)
		return err;
	if (!(err = recheck(db, p)) && !(err = check_tracking(db, p, NULL)) && !(err = take_snapshot(db, 0, &start))) {
		for (k = 0; k < p->n && !err; k++) {
			emit(o, GM_RB_TRYING, &p->v[k], NULL);
			if ((err = trial_step(db, &p->v[k], k == 0)))
				*failed = k;
			else if (!p->untracked && down_sets_tracking(p->v[k].it->m))
				p->untracked = gm_xasprintf("the down of %s sets track_counts", p->v[k].it->m->filename);
			else
				err = check_tracking(db, p, p->v[k].it->m->filename);
		}
		if (!err)
			err = trial_isolation(db, &start, p);
	}
	gm_snapshot_release(&start);
	return err;
}

/* ---- sequences: what no ROLLBACK undoes ---- */

/* Every sequence the connecting user may read, by name, with its last
 * value ("unused" before the first nextval, or after setval(..., false)). */
static PGresult *read_sequences(struct gm_db *db)
{
	PGresult *res = NULL;

	gm_error_free(gm_db_query_pinned(db,
		"SELECT s.name, s.value FROM (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,"
		" COALESCE(pg_catalog.pg_sequence_last_value(c.oid)::pg_catalog.text, 'unused') AS value"
		" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
		" WHERE c.relkind OPERATOR(pg_catalog.=) 'S' AND c.relpersistence OPERATOR(pg_catalog.<>) 't'"
		/* has_sequence_privilege raises on anything else: the CASE
		 * keeps it from running before the relkind test. */
		" AND CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S'"
		" THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE') END) s ORDER BY s.name COLLATE \"C\"",
		0, NULL, NULL, &res));
	return res;
}

/* Sequences in both whose value differs, or NULL. */
static char *sequences_moved(const PGresult *b, const PGresult *a)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int i = 0, j = 0, nb = b ? PQntuples(b) : 0, na = a ? PQntuples(a) : 0;

	while (i < nb && j < na) {
		int c = strcmp(PQgetvalue(b, i, 0), PQgetvalue(a, j, 0));
		if (c == 0 && strcmp(PQgetvalue(b, i, 1), PQgetvalue(a, j, 1)) != 0)
			gm_strbuf_addf(&sb, "%s%s from %s to %s", sb.len ? ", " : "", PQgetvalue(b, i, 0),
				       PQgetvalue(b, i, 1), PQgetvalue(a, j, 1));
		i += c <= 0;
		j += c >= 0;
	}
	if (sb.len)
		return gm_strbuf_detach(&sb, NULL);
	gm_strbuf_release(&sb);
	return NULL;
}

struct gm_error *gm_engine_rollback(struct gm_db *db, const struct gm_migration_set *set,
				    const struct gm_rollback_opts *o,
				    struct gm_rollback_result *res)
{
	struct gm_history hist;
	struct gm_status st;
	struct plan p;
	struct gm_error *err;
	size_t k, failed;
	int refused;
	PGresult *seq0 = NULL, *seq1 = NULL;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	if ((err = gm_check_timeouts(&o->limits)))
		return err;
	if ((err = gm_history_read(db, &hist)))
		return err;
	gm_status_build(set, &hist, &st);
	if ((err = make_plan(&st, o, &p)) || p.n == 0)
		goto done;
	res->planned = p.n;
	seq0 = read_sequences(db);
	if (o->on_event) {
		db->on_wait = on_wait;
		db->wait_ctx = (void *)o;
	}
	err = trial(db, &p, o, &failed);
	db->on_wait = NULL;
	db->wait_ctx = NULL;
	if (err) {
		if (PQstatus(db->conn) == CONNECTION_OK) {
			PQclear(PQexec(db->conn, "ROLLBACK"));
			audit_failed(db, &p, o, err->msg);
		}
		if (failed < p.n && err->kind == GM_ERR_MIGRATION)
			gm_error_advise(err, "the rollback runs in one transaction: nothing was rolled back");
		goto done;
	}
	refused = iso_refused(&p, o) || untracked_refused(&p, o);
	for (k = 0; k < p.n; k++)
		refused |= step_refused(&p.v[k], o);
	if (o->dry_run || refused) {
		/* Nothing of the trial stays, but for what no ROLLBACK undoes. */
		PQclear(PQexec(db->conn, "ROLLBACK"));
		seq1 = read_sequences(db);
		res->sequences_moved = sequences_moved(seq0, seq1);
		for (k = 0; o->dry_run && k < p.n; k++)
			emit(o, GM_RB_PLANNED, &p.v[k], &p.v[k].rem);
		if (o->dry_run && p.iso.n)
			emit(o, GM_RB_ISOLATION, NULL, &p.iso);
		if (refused) {
			err = refusal(&p, o);
			if (!o->dry_run)
				audit_failed(db, &p, o, err->msg);
		}
		goto done;
	}
	if ((err = commit_plan(db, &p, o)))
		goto done;
	for (k = 0; k < p.n; k++) {
		res->done++;
		emit(o, GM_RB_DONE, &p.v[k], &p.v[k].rem);
	}
	if (p.iso.n)
		emit(o, GM_RB_ISOLATION, NULL, &p.iso);
done:
	PQclear(seq0);
	PQclear(seq1);
	plan_release(&p);
	gm_status_release(&st);
	gm_history_release(&hist);
	return err;
}
