/* gm_script.h - one round trip of SQL that remembers where each part came
 * from.
 *
 * A script is a simple-query string made of garage-migrate's own
 * statements and migration sections (up or down).  It records which
 * characters and which statements came from which section, so a server
 * error maps back to file:line:col either from its position or, when it has
 * none, from the number of statements that completed before it. */
#ifndef GM_SCRIPT_H
#define GM_SCRIPT_H

#include <libpq-fe.h>
#include <stddef.h>

#include "gm_db.h"
#include "gm_migration.h"
#include "gm_strbuf.h"

struct gm_db;
struct gm_error;

struct gm_script_seg {
	size_t char_start, char_end;	/* characters of the script */
	size_t stmt_start, stmt_end;	/* statements of the script */
	const struct gm_migration *m;	/* NULL: garage-migrate's own SQL */
	const struct gm_section *sec;
	size_t sec_off;			/* where in sec->sql the text starts */
	size_t sec_stmt;		/* index of its first statement in sec */
	int is_lock;			/* the wait for the migration lock */
};

/* Bounds of one migration transaction.  Timeouts are PostgreSQL interval
 * strings ("5s"); NULL means none, except wait_timeout, whose default is
 * GM_DEFAULT_WAIT_TIMEOUT. */
struct gm_txn_limits {
	const char *wait_timeout;	/* for another run's migration lock */
	const char *lock_timeout;	/* each statement's wait for a lock */
	const char *statement_timeout;	/* each statement's run time */
};

#define GM_DEFAULT_WAIT_TIMEOUT "10min"

struct gm_script {
	struct gm_strbuf sql;
	size_t chars, stmts;
	struct gm_script_seg *segs;
	size_t nsegs, cap;
};

#define GM_SCRIPT_INIT { GM_STRBUF_INIT, 0, 0, NULL, 0, 0 }

/* Appends our own SQL; nstmts must be exactly the statements it holds. */
void gm_script_ours(struct gm_script *sc, size_t nstmts, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends a migration's section, terminated so that a trailing comment or
 * a last statement without ';' cannot swallow what follows, between a
 * statement setting the user's search path and one setting the safe one
 * back (see gm_db.h).  For use inside a transaction. */
void gm_script_section(struct gm_script *sc, struct gm_db *db, const struct gm_migration *m,
		       const struct gm_section *sec);
/* The section's text alone, terminated as above, for a caller that sets
 * the user's search path in a statement of its own just before it and
 * pins the safe one just after it (the batches of up, which fold the first
 * into the statement before the text). */
void gm_script_text(struct gm_script *sc, const struct gm_migration *m, const struct gm_section *sec);
/* Makes room for extra more bytes of SQL at once, so that a script holding
 * a huge migration is allocated once, at its size, instead of doubling
 * past it. */
void gm_script_reserve(struct gm_script *sc, size_t extra);
/* Appends statement k of a section alone (for statements that must run
 * outside a transaction, one per round trip). */
void gm_script_statement(struct gm_script *sc, const struct gm_migration *m,
			 const struct gm_section *sec, size_t k);
void gm_script_release(struct gm_script *sc);

/* "BEGIN", the migration lock (bounded by wait_timeout), then the
 * migration's own timeouts.  On servers that have it,
 * client_connection_check_interval makes the server abort the transaction
 * soon after the client dies, instead of running the migration on. */
void gm_script_begin(struct gm_script *sc, struct gm_db *db, const struct gm_txn_limits *lim);
/* The first two statements of gm_script_begin: "BEGIN" and the lock.
 * With flush, the lock's statement first makes the server send a notice,
 * which flushes every result it holds back for the client (see script.c):
 * a script of many transactions reports each one as it commits. */
void gm_script_lock(struct gm_script *sc, struct gm_db *db, const struct gm_txn_limits *lim, int flush);
/* The settings of the migration's own timeouts, as items of a select list
 * (for a caller that folds them into a statement of its own). */
void gm_script_limits_items(struct gm_strbuf *sb, const struct gm_txn_limits *lim);

struct gm_outcome {
	PGresult *error;	/* the failing result, or NULL */
	PGresult *rows;		/* the last result that returned rows, or NULL */
	size_t ok;		/* statements that completed before the error */
	int connection_lost;
};

/* Sends the script and collects one result per statement. */
void gm_script_run(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *out);
/* The same, calling each(ctx, k, res) as the result of statement k
 * arrives (res is the statement's result, valid during the call only), so
 * a caller learns what completed while the rest still runs. */
void gm_script_run_each(struct gm_db *db, const struct gm_script *sc, struct gm_outcome *out,
			void (*each)(void *ctx, size_t k, const PGresult *res), void *ctx);
void gm_outcome_release(struct gm_outcome *oc);

/* Turns a failed run into an error: located in the migration's file when
 * the failure came from one of its sections (*blamed is then set), else an
 * error about garage-migrate's own statement. */
struct gm_error *gm_script_error(struct gm_db *db, const struct gm_script *sc,
				 const struct gm_outcome *oc,
				 const struct gm_migration **blamed);

/* After a lock or statement timeout (err->kind GM_ERR_LOCK) and once the
 * transaction is over: names who holds what the script waited for (the
 * migration lock's holder, or the tables of the failing statement that
 * other sessions lock) in err's message. */
void gm_script_explain_lock(struct gm_db *db, const struct gm_script *sc,
			    const struct gm_outcome *oc, struct gm_error *err);

/* Milliseconds on the monotonic clock, for durations reported to the user. */
double gm_monotonic_ms(void);

/* A WHERE condition true when the failing statement names the relation
 * c.relname: how a failure is tied to the tables or indexes it touches.
 * $2 is the names from its parse tree (gm_sql_stmt_relations); for a
 * statement libpg_query cannot parse ($2 NULL), any whole word of its
 * text, passed as $1, optionally quoted. */
#define GM_SQL_STMT_NAMES_RELATION \
	"CASE WHEN $2::text[] IS NULL THEN $1 ~* ('(^|[^a-z0-9_])\"?' || c.relname || '\"?($|[^a-z0-9_])')" \
	" ELSE c.relname = ANY ($2::text[]) END"

/* Statement k of a section as its own string (caller frees). */
char *gm_section_stmt_text(const struct gm_section *sec, size_t k);

/* Checks a timeout value ("500ms", "5s", "2min", "0") before it is sent. */
int gm_timeout_valid(const char *value);
/* A usage error for the first invalid timeout option, or NULL. */
struct gm_error *gm_check_timeouts(const struct gm_txn_limits *lim);

#endif
