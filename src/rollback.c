/* rollback.c - stepping back, with a data-loss guard.
 *
 * Each migration is rolled back in its own transaction:
 *   1. BEGIN, the migration lock, a re-check that it is still applied with
 *      the recorded checksum, and a snapshot of the catalog;
 *   2. SAVEPOINT, the down, and a second snapshot: the difference is what
 *      the down removes;
 *   3. when it removes tables or columns: back to the savepoint, count
 *      their rows with row_security off, refuse (roll back) if any held
 *      data unless allowed, else run the down again;
 *   4. remove the history row, audit, COMMIT.
 * Nothing is dropped before the counts are known, and a refusal leaves the
 * database exactly as it was. */
#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_guard.h"
#include "gm_reconcile.h"
#include "gm_script.h"

#include <stdlib.h>
#include <string.h>

/* Raised by the re-check when another run rolled the migration back (or
 * changed its row) while we waited for the lock. */
#define SQLSTATE_NOT_APPLIED "GMA02"
/* Raised when another run applied a migration after the plan was made:
 * the step is no longer the newest, and rolling it back would pull it out
 * from under later ones. */
#define SQLSTATE_NOT_NEWEST "GMA05"

struct step {
	const struct gm_status_item *it;
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
		gm_error_advise(err, "let up finish it first; nothing was rolled back");
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
static struct gm_error *plan(const struct gm_status *st, const struct gm_rollback_opts *o,
			     struct step **out, size_t *n)
{
	struct step *all = gm_xcalloc(st->n ? st->n : 1, sizeof(*all));
	size_t k, na = 0, want;
	struct gm_error *err = NULL;

	for (k = 0; k < st->n; k++)
		if (st->v[k].a)
			all[na++].it = &st->v[k];
	qsort(all, na, sizeof(*all), by_seq_desc);
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
	*out = all;
	*n = want;
	return NULL;
}

static void emit(const struct gm_rollback_opts *o, enum gm_rollback_event_kind kind,
		 const struct gm_status_item *it, double ms, const struct gm_removals *removed)
{
	struct gm_rollback_event ev = { kind, it->m, it->a, ms, removed };

	if (o->on_event)
		o->on_event(o->ctx, &ev);
}

/* Ends the transaction and audits a failed or refused step. */
static struct gm_error *abandon(struct gm_db *db, const struct gm_status_item *it,
				const struct gm_rollback_opts *o, struct gm_error *err)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
	gm_error_free(gm_history_audit(db, "rollback", it->version, it->a->name, it->a->checksum,
				       "failed", o->os_user, err->msg));
	return err;
}

/* Runs sc; on failure maps the error (into the down section when it came
 * from there) and abandons the step. */
static struct gm_error *run(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *oc,
			    const struct gm_status_item *it, const struct gm_rollback_opts *o)
{
	const struct gm_migration *blamed = NULL;
	struct gm_error *err;

	gm_script_run(db, sc, oc);
	if (!oc->error)
		return NULL;
	if (oc->connection_lost) {
		/* The step took effect when its history row is gone. */
		char *why = NULL;
		enum gm_recorded rec = gm_reconcile_recorded(db, &o->limits, it->version, it->a->checksum, &why);
		err = gm_script_error(db, sc, oc, &blamed);
		gm_reconcile_explain(err, it->m->filename, "rolling back",
				     rec == GM_RECORDED_UNKNOWN ? rec : rec == GM_RECORDED_YES ? GM_RECORDED_NO : GM_RECORDED_YES,
				     why, "look at garage-migrate list, then run the rollback again if more is to be done");
		free(why);
		return err;
	}
	err = abandon(db, it, o, gm_script_error(db, sc, oc, &blamed));
	gm_script_explain_lock(db, sc, oc, err);
	return err;
}

static struct gm_error *snapshot_of(const struct gm_outcome *oc, struct gm_snapshot *s)
{
	if (!oc->rows || PQnfields(oc->rows) != 5)
		return gm_error_new(GM_ERR_DB, "unexpected result of the catalog snapshot");
	gm_snapshot_load(oc->rows, s);
	return NULL;
}

/* Step 3: counts what the down would destroy; refuses when it held data
 * (unless allowed) or when the count cannot be made. */
static struct gm_error *guard(struct gm_db *db, const struct gm_status_item *it,
			      const struct gm_rollback_opts *o, struct gm_removals *rem)
{
	struct gm_script sc = GM_SCRIPT_INIT;
	struct gm_strbuf count = GM_STRBUF_INIT;
	struct gm_outcome oc;
	struct gm_error *err = NULL;
	char *what;

	gm_guard_count_sql(db, rem, &count);
	gm_script_ours(&sc, 4, "ROLLBACK TO SAVEPOINT gm_down;\nSET LOCAL row_security = off;\n%s;\n"
			       "SET LOCAL row_security = on;\n", count.buf);
	gm_strbuf_release(&count);
	gm_script_run(db, &sc, &oc);
	if (oc.error) {
		struct gm_error *cause = gm_db_error(db, oc.error, GM_ERR_DATA_LOSS, NULL);
		err = gm_error_at(GM_ERR_DATA_LOSS, it->m->path, 0, 0,
			"rollback refused: cannot tell whether the down destroys data (%s)", cause->msg);
		gm_error_advise(err, "connect as a superuser or a role with BYPASSRLS so rows hidden by Row-Level Security are counted; this migration was not rolled back");
		gm_error_free(cause);
	} else if (gm_guard_read_counts(oc.rows, rem) != 0) {
		err = gm_error_new(GM_ERR_DB, "unexpected result while counting rows");
	} else if (gm_guard_loses_data(rem) && !o->allow_data_loss) {
		what = gm_guard_describe(rem, 0);
		err = gm_error_at(GM_ERR_DATA_LOSS, it->m->path, 0, 0,
				  "rollback refused: the down would destroy data in %s", what);
		gm_error_advise(err, "back the data up first, then rerun with --allow-data-loss; this migration was not rolled back");
		free(what);
	}
	gm_outcome_release(&oc);
	gm_script_release(&sc);
	return err ? abandon(db, it, o, err) : NULL;
}

static struct gm_error *rollback_one(struct gm_db *db, const struct gm_status_item *it,
				     const struct gm_rollback_opts *o, struct gm_rollback_result *res)
{
	struct gm_script s1 = GM_SCRIPT_INIT, s2 = GM_SCRIPT_INIT, s3 = GM_SCRIPT_INIT;
	struct gm_outcome o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
	struct gm_snapshot before = { 0 }, after = { 0 };
	struct gm_removals rem = { 0 };
	struct gm_strbuf unrecord = GM_STRBUF_INIT;
	struct gm_error *err;
	char *lost = NULL;
	double t0 = gm_monotonic_ms();

	/* 1: lock, re-check, snapshot. */
	gm_script_begin(&s1, db, &o->limits);
	gm_script_ours(&s1, 3,
		"DO $gm$BEGIN IF NOT EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE
		" WHERE version = %llu AND checksum = '%s') THEN RAISE EXCEPTION USING ERRCODE = '"
		SQLSTATE_NOT_APPLIED "', MESSAGE = 'no longer applied'; END IF;"
		" IF EXISTS (SELECT 1 FROM " GM_HISTORY_TABLE " WHERE applied_seq >"
		" (SELECT applied_seq FROM " GM_HISTORY_TABLE " WHERE version = %llu)) THEN"
		" RAISE EXCEPTION USING ERRCODE = '" SQLSTATE_NOT_NEWEST "', MESSAGE = 'not the newest'; END IF;"
		" END$gm$;\n"
		GM_HISTORY_MARK_T0 ";\n%s;\n",
		/* The file's checksum (hex computed here, equal to the recorded
		 * one: check_step saw to it), never text read back from the
		 * database, goes into the dollar-quoted block. */
		it->version, it->m->checksum, it->version, GM_GUARD_SNAPSHOT_SQL);
	gm_script_run(db, &s1, &o1);
	if (o1.error && gm_sqlstate_is(o1.error, SQLSTATE_NOT_APPLIED)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		res->skipped++;
		emit(o, GM_RB_SKIPPED, it, gm_monotonic_ms() - t0, NULL);
		err = NULL;
		goto done;
	}
	if (o1.error && gm_sqlstate_is(o1.error, SQLSTATE_NOT_NEWEST)) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		err = gm_error_at(GM_ERR_DRIFT, it->m->path, 0, 0,
			"not rolled back: another garage-migrate run applied migrations after this rollback was planned");
		gm_error_advise(err, "look at garage-migrate list, then run the rollback again");
		goto done;
	}
	if (o1.error) {
		const struct gm_migration *blamed;
		err = gm_script_error(db, &s1, &o1, &blamed);
		if (!o1.connection_lost) {
			PQclear(PQexec(db->conn, "ROLLBACK"));
			gm_script_explain_lock(db, &s1, &o1, err);
		}
		goto done;
	}
	if ((err = snapshot_of(&o1, &before)))
		goto abandon;

	/* 2: the down, and what it removed. */
	gm_script_ours(&s2, 1, "SAVEPOINT gm_down;\n");
	gm_script_section(&s2, it->m, &it->m->down);
	gm_script_ours(&s2, 1, "%s;\n", GM_GUARD_SNAPSHOT_SQL);
	if ((err = run(db, &s2, &o2, it, o)))
		goto done;
	if ((err = snapshot_of(&o2, &after)))
		goto abandon;
	gm_guard_diff(&before, &after, &rem);

	/* 3: the guard, then the down again from the savepoint. */
	if (rem.n > 0) {
		if ((err = guard(db, it, o, &rem)))
			goto done;
		gm_script_section(&s3, it->m, &it->m->down);
		lost = gm_guard_describe(&rem, 1);
	}
	/* 4: forget it. */
	if (lost) {
		char *msg = gm_xasprintf("dropped %s", lost);
		gm_history_add_unrecord_sql(db, &unrecord, it->a, o->os_user, msg);
		free(msg);
	} else {
		gm_history_add_unrecord_sql(db, &unrecord, it->a, o->os_user, NULL);
	}
	gm_script_ours(&s3, GM_HISTORY_UNRECORD_STMTS + 1, "%sCOMMIT;\n", unrecord.buf);
	if ((err = run(db, &s3, &o3, it, o)))
		goto done;
	res->done++;
	emit(o, GM_RB_DONE, it, gm_monotonic_ms() - t0, &rem);
	goto done;
abandon:
	err = abandon(db, it, o, err);
done:
	free(lost);
	gm_strbuf_release(&unrecord);
	gm_removals_release(&rem);
	gm_snapshot_release(&before);
	gm_snapshot_release(&after);
	gm_outcome_release(&o1);
	gm_outcome_release(&o2);
	gm_outcome_release(&o3);
	gm_script_release(&s1);
	gm_script_release(&s2);
	gm_script_release(&s3);
	return err;
}

struct gm_error *gm_engine_rollback(struct gm_db *db, const struct gm_migration_set *set,
				    const struct gm_rollback_opts *o,
				    struct gm_rollback_result *res)
{
	struct gm_history hist;
	struct gm_status st;
	struct step *steps = NULL;
	struct gm_error *err;
	size_t n = 0, k;

	memset(res, 0, sizeof(*res));
	if ((err = gm_check_timeouts(&o->limits)))
		return err;
	if ((err = gm_history_read(db, &hist)))
		return err;
	gm_status_build(set, &hist, &st);
	if ((err = plan(&st, o, &steps, &n)))
		goto done;
	res->planned = n;
	for (k = 0; k < n && !err; k++) {
		if (o->dry_run)
			emit(o, GM_RB_PLANNED, steps[k].it, 0, NULL);
		else
			err = rollback_one(db, steps[k].it, o, res);
	}
	if (err && res->done) {
		/* Earlier steps committed on their own; say so plainly. */
		char *advice = gm_xasprintf("%s%s%zu of the %zu planned migrations were rolled back before this one and stay rolled back",
					    err->advice ? err->advice : "", err->advice ? "; " : "",
					    res->done, n);
		free(err->advice);
		err->advice = advice;
	}
done:
	free(steps);
	gm_status_release(&st);
	gm_history_release(&hist);
	return err;
}
