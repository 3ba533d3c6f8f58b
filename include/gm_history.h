/* gm_history.h - the history of applied migrations and the audit log.
 *
 * Both live in a schema of their own (GM_HISTORY_SCHEMA), never in public:
 * a Supabase/PostgREST API exposes public, and the history is not an API. */
#ifndef GM_HISTORY_H
#define GM_HISTORY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "gm_migration.h"
#include "gm_strbuf.h"

struct gm_db;
struct gm_error;

#define GM_HISTORY_SCHEMA "garage_migrate"
#define GM_HISTORY_TABLE GM_HISTORY_SCHEMA ".schema_history"
#define GM_AUDIT_TABLE GM_HISTORY_SCHEMA ".audit_log"

struct gm_applied {
	unsigned long long version;
	char *version_text;
	char *name;
	char *script;		/* file name when it was applied */
	char *checksum;
	char *kind;
	char *applied_at;	/* ISO 8601, UTC */
	char *applied_by;
	long long execution_ms;
	long long seq;		/* order in which migrations were applied */
	char *status;		/* applied, running, failed, interrupted */
	char *message;		/* why a no-transaction migration failed, or NULL */
};

struct gm_history {
	int exists;		/* the table is there at all */
	struct gm_applied *v;	/* sorted by version */
	size_t n;
};

/* Reads the history; a database where it was never created reads as empty
 * (exists = 0) and is not changed: list, verify and dry runs stay
 * read-only. */
struct gm_error *gm_history_read(struct gm_db *db, struct gm_history *out);
/* gm_history_read, with the query also (one statement, which must not
 * fail) in the same read-only transaction and round trip; its rows in
 * *also_res (the caller clears it).  Inside a transaction of the caller's,
 * *also_res is NULL and only the history is read. */
struct gm_error *gm_history_read_also(struct gm_db *db, struct gm_history *out, const char *also,
				      PGresult **also_res);
void gm_history_release(struct gm_history *h);

/* Creates the schema, tables and the audit log's append-only trigger when
 * missing, serialised by the migration lock; needs CREATE only then. */
struct gm_error *gm_history_ensure(struct gm_db *db);
/* The same as one statement (a DO block), to run inside a transaction that
 * holds the migration lock: up creates the history in the transaction of
 * its first migration, so a failing first migration leaves no trace. */
extern const char gm_history_ensure_sql[];

/* Whether the role r (a row of pg_roles) can be trusted with what the
 * tool runs in the history schema: code there runs with the session's
 * rights, and a function can SET ROLE NONE back to the login role.  So a
 * superuser or the login role itself; not a role the session was SET
 * ROLE to, whose every member could then act as the login. */
#define GM_HISTORY_TRUSTED_ROLE(r) "(" r ".rolsuper OR " r ".rolname = SESSION_USER)"

/* Whether the session that claimed h (a history row a no-transaction
 * migration marked 'running') is still there: a backend of that pid that
 * started before the claim (a later one only reuses the pid).  Between two
 * of the migration's statements its session is idle, not gone, and a
 * stopped client (SIGSTOP, a suspended laptop) leaves it idle for as long
 * as it likes: any state counts.  A backend whose start this role may not
 * see counts as there too (repair can tell, as a superuser). */
#define GM_HISTORY_CLAIM_LIVE(h)                                                                     \
	"(" h ".backend_pid IS NOT NULL AND EXISTS (SELECT FROM pg_catalog.pg_stat_get_activity(" h      \
	".backend_pid) a WHERE a.backend_start IS NULL OR a.backend_start OPERATOR(pg_catalog.<=) " h ".applied_at))"

/* err, when it is the refusal of the history's trust check (a read's, or
 * gm_history_ensure_sql's in a transaction that writes), as the user's
 * error, "refusing to use the history: ..." with advice; else err. */
struct gm_error *gm_history_untrusted(struct gm_error *err);
int gm_history_is_untrusted(const struct gm_error *err);

/* The advisory-lock key all garage-migrate runs on a database share. */
long long gm_history_lock_key(void);

/* SQL that marks the start of a migration, for the durations recorded by
 * the statements below. */
#define GM_HISTORY_MARK_T0 "SELECT set_config('garage_migrate.t0', clock_timestamp()::text, true)"
/* The heads of the two rows every applied migration leaves, for every
 * statement and function that writes them (their VALUES follow). */
#define GM_HISTORY_RECORD_INTO                                                                       \
	"INSERT INTO " GM_HISTORY_TABLE                                                               \
	" (version, version_text, name, script, checksum, kind, transactional, os_user, execution_ms)"
#define GM_AUDIT_ENTRY_INTO                                                                          \
	"INSERT INTO " GM_AUDIT_TABLE " (action, version, name, checksum, outcome, os_user, duration_ms, message)"

/* The history's kind of m: "sql" or "yaml". */
const char *gm_history_kind(const struct gm_migration *m);
/* Milliseconds since that mark, as SQL (under the safe search path): the
 * duration is measured by the server from the mark set before the
 * migration's text ran, so it needs no extra round trip. */
#define GM_HISTORY_ELAPSED_MS \
	"(extract(epoch FROM clock_timestamp() - current_setting('garage_migrate.t0')::timestamptz) * 1000)::bigint"

/* Appends to sql the statements that record m as applied (history row and
 * audit entry), to run in m's own transaction.  action is "up", or
 * "baseline" for a migration marked applied without running it. */
#define GM_HISTORY_RECORD_STMTS 1
void gm_history_add_record_sql(struct gm_db *db, struct gm_strbuf *sql,
			       const struct gm_migration *m, const char *action,
			       const char *os_user);
/* The same statement with the caller's own common table expressions
 * before the history's ("x AS (...), ") and a column after applied_seq in
 * its result, both NULL for none: a check that must see the migration's
 * effects rides along with the record instead of costing a statement. */
void gm_history_add_record_sql_with(struct gm_db *db, struct gm_strbuf *sql,
				    const struct gm_migration *m, const char *action,
				    const char *os_user, const char *ctes, const char *column);

/* For a migration that runs outside a transaction: claims it (its row,
 * status running, with this backend's pid), replacing a failed or
 * interrupted attempt's row.  Two statements. */
#define GM_HISTORY_CLAIM_STMTS 2
void gm_history_add_claim_sql(struct gm_db *db, struct gm_strbuf *sql,
			      const struct gm_migration *m, const char *os_user);
/* Ends a claim: applied (with its duration) or failed (with message), and
 * the audit entry.  Two statements. */
#define GM_HISTORY_FINISH_STMTS 2
void gm_history_add_finish_sql(struct gm_db *db, struct gm_strbuf *sql,
			       const struct gm_migration *m, const char *os_user,
			       int ok, const char *message, long long ms);

/* Appends the statements that remove a's history row and audit the
 * rollback, to run in the rollback's own transaction. */
#define GM_HISTORY_UNRECORD_STMTS 2
void gm_history_add_unrecord_sql(struct gm_db *db, struct gm_strbuf *sql,
				 const struct gm_applied *a, const char *os_user,
				 const char *message);

/* Appends one audit entry now, in its own statement (for failures, whose
 * transaction was rolled back, and for baseline and repair). */
struct gm_error *gm_history_audit(struct gm_db *db, const char *action,
				  unsigned long long version, const char *name,
				  const char *checksum, const char *outcome,
				  const char *os_user, const char *message);

/* One audit-log entry, every field as the server printed it (NULL for SQL
 * NULL). */
struct gm_audit_entry {
	char *id, *at, *action, *version, *name, *checksum, *outcome;
	char *db_user, *os_user, *duration_ms, *message;
};

struct gm_audit {
	int exists;
	struct gm_audit_entry *v;	/* oldest first */
	size_t n;
};

/* Reads the audit log (the newest limit entries, or all when limit is 0);
 * read-only, like gm_history_read. */
struct gm_error *gm_history_read_audit(struct gm_db *db, unsigned long limit, struct gm_audit *out);
void gm_audit_release(struct gm_audit *a);

const struct gm_applied *gm_history_find(const struct gm_history *h,
					 unsigned long long version);

#endif
