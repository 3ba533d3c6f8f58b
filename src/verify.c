/* verify.c - history, schema drift and RLS lints, read-only. */
#include "gm_catalog.h"
#include "gm_db.h"
#include "gm_engine.h"
#include "gm_error.h"
#include "gm_lint.h"
#include "gm_sqlform.h"
#include "gm_strbuf.h"
#include "gm_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void check_history(const struct gm_status *st, const struct gm_verify_opts *o,
			  struct gm_verify_result *res)
{
	size_t k;

	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		switch (it->state) {
		case GM_STATE_APPLIED:
			res->applied++;
			break;
		case GM_STATE_MODIFIED:
			res->applied++;
			gm_findings_add(&res->findings, GM_CHECK_HISTORY, "modified_migration", GM_LEVEL_ERROR,
				it->m->path, "restore the file as applied, or record an intended edit with garage-migrate repair",
				"applied migration was edited: recorded %s, file has %s", it->a->checksum, it->m->checksum);
			break;
		case GM_STATE_MISSING:
			gm_findings_add(&res->findings, GM_CHECK_HISTORY, "missing_migration", GM_LEVEL_ERROR,
				it->a->script, "restore the file, or drop its entry with garage-migrate repair --remove-missing",
				"applied migration %s_%s has no file in the migrations folder",
				it->a->version_text, it->a->name);
			break;
		case GM_STATE_FAILED:
			gm_findings_add(&res->findings, GM_CHECK_HISTORY, "failed_migration", GM_LEVEL_ERROR,
				it->m ? it->m->path : it->a->script,
				"clean up what it left (see the message), fix the file and run garage-migrate up",
				"no-transaction migration %s: %s", !strcmp(it->a->status, "interrupted") ? "was interrupted" : "failed",
				it->a->message ? it->a->message : "no details");
			break;
		case GM_STATE_RUNNING:
			gm_findings_add(&res->findings, GM_CHECK_HISTORY, "running_migration", GM_LEVEL_ERROR,
				it->m ? it->m->path : it->a->script, "verify again when it has finished",
				"no-transaction migration is being applied right now (%s)",
				it->a->message ? it->a->message : "no details");
			break;
		case GM_STATE_PENDING:
			res->pending++;
			if (!o->allow_pending)
				gm_findings_add(&res->findings, GM_CHECK_HISTORY, "pending_migration", GM_LEVEL_ERROR,
					it->m->path, "run garage-migrate up (or pass --allow-pending)",
					"migration is not applied%s", it->out_of_order ? " (older than the newest applied one)" : "");
			break;
		}
	}
}

/* A schema the snapshot names but the database lacks would compare as
 * nothing at all: it is an error of its own, and its marker fact (see
 * catalog.c) leaves the model before the comparison.  Without a snapshot
 * the schema was one verify was told to lint: the RLS check reports it. */
static void check_missing_schemas(struct gm_model *found, int no_snapshot, struct gm_verify_result *res)
{
	size_t k, kept = 0;

	for (k = 0; k < found->n; k++) {
		struct gm_fact *f = &found->v[k];
		if (!strncmp(f->object, "schema ", 7) && !strcmp(f->attr, "missing")) {
			if (no_snapshot)
				gm_findings_add(&res->findings, GM_CHECK_RLS, "missing_schema", GM_LEVEL_ERROR, f->object,
						"create the schema, or name the schemas to verify",
						"the database has no such schema: nothing in it could be checked");
			else
				gm_findings_add(&res->findings, GM_CHECK_SCHEMA, "missing_schema", GM_LEVEL_ERROR, f->object,
						"create the schema, or write the snapshot again (garage-migrate dump --schema NAME)",
						"%s: the snapshot names it, the database has no such schema: nothing in it could be checked",
						f->object);
			free(f->object);
			free(f->attr);
			free(f->value);
			continue;
		}
		found->v[kept++] = *f;
	}
	found->n = kept;
}

/* A schema the project file exposes (tenancy.schemas) that the snapshot
 * leaves out: nothing in it would be compared, linted or probed, and
 * verify would pass on it.  (Without a project file's word, public is
 * only the default: a snapshot of other schemas verifies those.) */
static void check_exposed_schemas(const struct gm_model *expected, const struct gm_verify_opts *o,
				  struct gm_verify_result *res)
{
	for (size_t k = 0; o->tenancy && o->tenancy->schemas_declared && k < o->nschemas; k++) {
		size_t j;
		char *object;

		for (j = 0; j < expected->nschemas && strcmp(expected->schemas[j], o->schemas[k]) != 0; j++)
			;
		if (j < expected->nschemas)
			continue;
		object = gm_xasprintf("schema %s", o->schemas[k]);
		gm_findings_add(&res->findings, GM_CHECK_SCHEMA, "exposed_schema_not_in_snapshot", GM_LEVEL_ERROR,
				object, "write the snapshot again with it (garage-migrate dump dumps every schema of"
				" tenancy.schemas), or take it out of tenancy.schemas if no API exposes it",
				"%s: the project file exposes it (tenancy.schemas), the snapshot leaves it out:"
				" nothing in it is compared, linted or probed", object);
		free(object);
	}
}

/* A privilege list without MAINTAIN ("SELECT, MAINTAIN" -> "SELECT, "). */
static char *without_maintain(const char *list)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *p = list;

	while (*p) {
		const char *end = strstr(p, ", ");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (!(n == 8 && !strncmp(p, "MAINTAIN", 8)))
			gm_strbuf_addf(&sb, "%.*s, ", (int)n, p);
		p += n + (end ? 2 : 0);
	}
	return gm_strbuf_detach(&sb, NULL);
}

/* 17 added MAINTAIN, which GRANT ALL includes: the same GRANT gives a
 * role more on 17 than on 16.  A real difference, but one of majors. */
static int maintain_only(const struct gm_diff *d)
{
	char *a, *b;
	int same;

	if (strcmp(d->attr, "privileges") != 0 && strcmp(d->attr, "with_grant_option") != 0)
		return 0;
	a = without_maintain(d->expected);
	b = without_maintain(d->found);
	same = !strcmp(a, b);
	free(a);
	free(b);
	return same;
}

/* Printed SQL that still differs once compared in its major-independent
 * form (gm_sqlform.h), or a grant by MAINTAIN alone, between a snapshot
 * dumped on one major and a server of another: the schema may be the
 * same, printed or granted differently.  That cannot be told apart from a
 * real change, so the first few stay errors of their own, with both
 * values; then one finding says which majors, how many differ and what to
 * do, instead of dozens of errors. */
static int printed_by_another_major(const struct gm_model *expected, const struct gm_model *found,
				    const struct gm_diff *d)
{
	if (!expected->server_major || !found->server_major || expected->server_major == found->server_major ||
	    d->kind != GM_DIFF_CHANGED || !d->expected || !d->found)
		return 0;
	if ((expected->server_major < 17) != (found->server_major < 17) && maintain_only(d))
		return 1;
	return *d->expected && *d->found && gm_sql_kind_of(d->object, d->attr) != GM_SQL_NONE;
}

#define GM_MAJOR_LISTED 5

static void check_schema(const struct gm_model *expected, const struct gm_model *found,
			 struct gm_verify_result *res)
{
	static const char *const names[] = { "missing", "unexpected", "changed" };
	struct gm_diffs d;
	size_t k, other = 0;

	gm_model_diff(expected, found, &d);
	for (k = 0; k < d.n; k++) {
		char *line;
		if (printed_by_another_major(expected, found, &d.v[k]) && other++ >= GM_MAJOR_LISTED)
			continue;
		line = gm_diff_describe(&d.v[k]);
		/* The message repeats the object so a plain log line says it all. */
		gm_findings_add(&res->findings, GM_CHECK_SCHEMA, names[d.v[k].kind], GM_LEVEL_ERROR,
				d.v[k].object, NULL, "%s", line);
		free(line);
	}
	if (other) {
		char *remedy = gm_xasprintf("if the schema is the same, write the snapshot again on PostgreSQL %d"
					    " (garage-migrate dump), or verify on a PostgreSQL %d server",
					    found->server_major, expected->server_major);
		char *unlisted = other > GM_MAJOR_LISTED ? gm_xasprintf("; %zu more not listed", other - GM_MAJOR_LISTED)
							 : gm_xstrdup("");
		/* An error only when differences go unlisted: the listed ones
		 * already are. */
		gm_findings_add(&res->findings, GM_CHECK_SCHEMA, "other_major",
				other > GM_MAJOR_LISTED ? GM_LEVEL_ERROR : GM_LEVEL_WARNING, "snapshot", remedy,
				"the snapshot was dumped on PostgreSQL %d and this server runs %d: %zu definition%s or"
				" grant%s differ%s%s, which %d may print or grant so for the same schema",
				expected->server_major, found->server_major, other, other == 1 ? "" : "s",
				other == 1 ? "" : "s", other == 1 ? "s" : "", unlisted, found->server_major);
		free(unlisted);
		free(remedy);
	}
	res->facts = found->n;
	gm_diffs_release(&d);
}

/* Runs fn inside one READ ONLY, REPEATABLE READ transaction, so every read
 * sees one state of the database and nothing can be written.  Reading a
 * table's definition waits for any session holding it exclusively (an
 * open ALTER TABLE, a LOCK TABLE left idle): the wait is bounded, so a
 * CI job fails with a reason instead of hanging. */
/* The server prints constants in defaults, policies and checks, and names,
 * by settings a role or database may carry: a snapshot dumped under one
 * TimeZone or DateStyle would fail verify under another, and
 * extra_float_digits = -14 prints 0.54321 as 0.5, so a changed constant
 * would pass.  The read prints them one way, the defaults' (TimeZone
 * UTC), whatever the session says. */
#define PRINT_SETTINGS                                                                               \
	", pg_catalog.set_config('DateStyle', 'ISO, MDY', true)"                                       \
	", pg_catalog.set_config('IntervalStyle', 'postgres', true)"                                   \
	", pg_catalog.set_config('TimeZone', 'UTC', true)"                                             \
	", pg_catalog.set_config('extra_float_digits', '1', true)"                                     \
	", pg_catalog.set_config('bytea_output', 'hex', true)"                                         \
	", pg_catalog.set_config('quote_all_identifiers', 'off', true)"                                \
	", pg_catalog.set_config('lc_monetary', 'C', true)"

static struct gm_error *begin_read_only(struct gm_db *db, const char *lock_timeout)
{
	char *lit = gm_db_quote_literal(db, lock_timeout ? lock_timeout : GM_READ_LOCK_TIMEOUT);
	char *sql = gm_xasprintf("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " GM_SQL_PIN_PATH
				 ", pg_catalog.set_config('lock_timeout', %s, true)" PRINT_SETTINGS, lit);
	struct gm_error *err = gm_db_exec(db, sql, "cannot start a read-only transaction", NULL);

	if (err && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	free(sql);
	free(lit);
	return err;
}

/* A lock wait that ran out is a lock error (exit 5), with what to do. */
static struct gm_error *read_lock_explained(struct gm_error *err)
{
	if (err && err->sqlstate && !strcmp(err->sqlstate, "55P03")) {
		err->kind = GM_ERR_LOCK;
		gm_error_advise(err, "another session holds a lock on a table being read (an open ALTER TABLE or"
				     " LOCK TABLE) for longer than the lock timeout (" GM_READ_LOCK_TIMEOUT " unless the"
				     " project file's timeouts.lock says otherwise); find it in pg_stat_activity and"
				     " pg_locks, let it finish, then run again");
	}
	return err;
}

static struct gm_error *end_read_only(struct gm_db *db, struct gm_error *err)
{
	if (err) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		return read_lock_explained(err);
	}
	return gm_db_exec(db, "COMMIT", "cannot end the read-only transaction", NULL);
}

/* The expected schema: the snapshot, or, when it may be absent and is,
 * only the schemas to check (*absent set: the drift check is skipped).
 * A snapshot that exists but cannot be read stays an error: lstat, so a
 * dangling link is such a snapshot, not an absent one. */
static struct gm_error *load_expected(const struct gm_verify_opts *o, struct gm_model *expected, int *absent)
{
	struct stat st;
	size_t k;

	*absent = 0;
	if (!o->snapshot_optional || lstat(o->snapshot_path, &st) == 0 || errno != ENOENT)
		return gm_model_load_file(o->snapshot_path, expected);
	memset(expected, 0, sizeof(*expected));
	if (!o->nschemas)
		return gm_error_new(GM_ERR_USAGE, "no snapshot at %s and no schema named to verify", o->snapshot_path);
	for (k = 0; k < o->nschemas; k++)
		gm_model_add_schema(expected, o->schemas[k]);
	*absent = 1;
	return NULL;
}

struct gm_error *gm_engine_verify(struct gm_db *db, const struct gm_migration_set *set,
				  const struct gm_verify_opts *o, struct gm_verify_result *res)
{
	struct gm_model expected, found;
	struct gm_history hist;
	struct gm_status st;
	struct gm_error *err;
	int no_snapshot;

	memset(res, 0, sizeof(*res));
	/* A bad snapshot is an input error, found before touching the database. */
	if ((err = load_expected(o, &expected, &no_snapshot)))
		return err;
	if ((err = begin_read_only(db, o->lock_timeout))) {
		gm_model_release(&expected);
		return err;
	}
	memset(&found, 0, sizeof(found));
	err = gm_history_read(db, &hist);
	if (!err) {
		gm_status_build(set, &hist, &st);
		check_history(&st, o, res);
		gm_status_release(&st);
		gm_history_release(&hist);
		err = gm_catalog_read(db, expected.schemas, expected.nschemas, &found);
	}
	if ((err = end_read_only(db, err))) {
		gm_model_release(&expected);
		gm_model_release(&found);
		gm_findings_release(&res->findings);
		return err;
	}
	check_missing_schemas(&found, no_snapshot, res);
	if (no_snapshot) {
		res->skipped[GM_CHECK_SCHEMA] = 1;
	} else {
		check_schema(&expected, &found, res);
		check_exposed_schemas(&expected, o, res);
	}
	gm_lint_rls(&found, o->tenancy, &res->findings);
	gm_lint_objects(&found, o->tenancy, &res->findings);
	res->ran[GM_CHECK_HISTORY] = res->ran[GM_CHECK_RLS] = 1;
	res->ran[GM_CHECK_SCHEMA] = !no_snapshot;
	/* The probe writes (and always rolls back), so it runs after the
	 * read-only transaction, on the schema just read. */
	if (o->isolation && (err = gm_probe_run(db, found.schemas, found.nschemas, o, res))) {
		gm_model_release(&expected);
		gm_model_release(&found);
		gm_verify_result_release(res);
		return err;
	}
	/* Keep the schema list for the report; the rest goes. */
	res->schemas = expected.schemas;
	res->nschemas = expected.nschemas;
	expected.schemas = NULL;
	expected.nschemas = 0;
	gm_model_release(&expected);
	gm_model_release(&found);
	return NULL;
}

void gm_verify_result_release(struct gm_verify_result *res)
{
	size_t k;

	gm_findings_release(&res->findings);
	for (k = 0; k < res->nprobe; k++) {
		free(res->probe[k].table);
		free(res->probe[k].command);
		free(res->probe[k].expectation);
		free(res->probe[k].result);
	}
	free(res->probe);
	for (k = 0; k < res->nschemas; k++)
		free(res->schemas[k]);
	free(res->schemas);
	memset(res, 0, sizeof(*res));
}

int gm_verify_passed(const struct gm_verify_result *res, int strict)
{
	int c;

	if (gm_findings_count(&res->findings, -1, GM_LEVEL_ERROR))
		return 0;
	if (!strict)
		return 1;
	for (c = 0; c < GM_CHECK_COUNT; c++)
		if (res->skipped[c])
			return 0;
	/* A probe check that could not run is a skipped check too. */
	for (size_t k = 0; k < res->nprobe; k++)
		if (res->probe[k].state == GM_PROBE_SKIPPED)
			return 0;
	return gm_findings_count(&res->findings, -1, GM_LEVEL_WARNING) == 0;
}

struct gm_error *gm_engine_dump(struct gm_db *db, char *const *schemas, size_t nschemas,
				const char *lock_timeout, struct gm_model *out)
{
	struct gm_error *err;

	memset(out, 0, sizeof(*out));
	if ((err = begin_read_only(db, lock_timeout)))
		return err;
	err = end_read_only(db, gm_catalog_read(db, schemas, nschemas, out));
	for (size_t k = 0; !err && k < out->n; k++)
		if (!strncmp(out->v[k].object, "schema ", 7) && !strcmp(out->v[k].attr, "missing")) {
			err = gm_error_new(GM_ERR_USAGE, "the database has no %s: a snapshot of it would say nothing",
					   out->v[k].object);
			gm_error_advise(err, "check --schema (without it, dump writes the schemas of the project file's tenancy.schemas)");
		}
	if (err)
		gm_model_release(out);
	return err;
}
