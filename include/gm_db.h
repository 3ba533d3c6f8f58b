/* gm_db.h - one connection, errors from the server as values.
 *
 * libpq does all the connection-string work: a URL or key=value string,
 * PGHOST and friends, service files and .pgpass. */
#ifndef GM_DB_H
#define GM_DB_H

#include <libpq-fe.h>

#include "gm_error.h"
#include "gm_strbuf.h"

/* The search path of the tool's own SQL: nothing but pg_catalog (and,
 * last, the session's own temporary schema) is searched, so no function,
 * operator or table planted in a writable schema can stand in for a
 * built-in one.  GM_SQL_PIN_PATH sets it for the transaction. */
#define GM_DB_SAFE_PATH "pg_catalog, pg_temp"
#define GM_SQL_PIN_PATH "SELECT pg_catalog.set_config('search_path', '" GM_DB_SAFE_PATH "', true)"
/* How the tool opens its transactions (verify's read-only one aside).
 * Its re-checks (is the history still what this run planned on, was the
 * migration applied meanwhile) run after the advisory lock is granted and
 * must see what committed while it waited: READ COMMITTED, whatever the
 * role's or database's default_transaction_isolation (under REPEATABLE
 * READ the snapshot would be the one taken before the wait). */
#define GM_SQL_BEGIN "BEGIN ISOLATION LEVEL READ COMMITTED"

struct gm_db {
	PGconn *conn;
	int server_version;	/* PQserverVersion */
	char *search_path;	/* the user's, pg_catalog taken out: for migration text */
	char *trusted_roles;	/* the project file's trusted_roles, an array literal ("{a,b}"), or NULL */
	/* When set, called about every GM_DB_WAIT_TICK_MS while a script
	 * (gm_script.h) waits for the server's next result, so a caller can
	 * show that a long statement is still running.  It must not use the
	 * connection. */
	void (*on_wait)(void *ctx);
	void *wait_ctx;
};

#define GM_DB_WAIT_TICK_MS 200

/* Puts standard_conforming_strings back on, and client_encoding back to
 * UTF8, when a migration changed them for the session (db.c says why);
 * NULL, or the failed SET's result. */
PGresult *gm_db_keep_lexing(struct gm_db *db);

/* url may be NULL: libpq's environment and defaults apply.  A connection
 * string libpq cannot parse is a GM_ERR_USAGE error that never quotes a
 * password.  The session then gets the settings the tool's SQL relies on
 * (standard_conforming_strings, row_security, pg_catalog searched first);
 * see db.c. */
struct gm_error *gm_db_connect(const char *url, struct gm_db **out);
void gm_db_close(struct gm_db *db);
/* Opens a new session with the same parameters in place of db's (lost)
 * one, with the same session settings as gm_db_connect. */
struct gm_error *gm_db_reconnect(struct gm_db *db);

/* Roles whose code migrations may run as the connecting role, besides
 * those PostgreSQL makes trusted (the project file's trusted_roles; see
 * db.c's TRUSTED_FOR_PATH).  names may be empty. */
struct gm_strlist;
void gm_db_trust_roles(struct gm_db *db, const struct gm_strlist *names);

/* Whether a failed result carries SQLSTATE code. */
int gm_sqlstate_is(const PGresult *res, const char *code);
/* Whether it is a lock timeout (55P03) or a statement timeout or cancel
 * (57014): exit 5 wherever it stops the tool. */
int gm_sqlstate_is_timeout(const PGresult *res);

/* Builds an error of the given kind from a failed result (or, when res is
 * NULL, from the connection's error message), with SQLSTATE, detail, hint
 * and context copied.  The primary message is prefixed by what. */
struct gm_error *gm_db_error(struct gm_db *db, const PGresult *res,
			     enum gm_errkind kind, const char *what);

/* Runs one command (one round trip); *res, when res is non-NULL, receives
 * the result on success and must be PQclear'ed. */
struct gm_error *gm_db_exec(struct gm_db *db, const char *sql, const char *what,
			    PGresult **res);
struct gm_error *gm_db_exec_params(struct gm_db *db, const char *sql, int nparams,
				   const char *const *params, const char *what,
				   PGresult **res);

/* The user's path from a search_path setting as a server of
 * server_version (PQserverVersion) prints it (current_setting): its names
 * as written, quotes kept, joined by ", ", without pg_catalog (see db.c);
 * "" for none.  Caller frees. */
char *gm_db_user_search_path(const char *setting, int server_version);

/* A statement setting the user's search path (db->search_path), for the
 * transaction (local) or the session, that fails when a schema in it is
 * owned by a role migrations should not trust; caller frees. */
char *gm_db_user_path_sql(struct gm_db *db, int local);
/* The same as one item of a SELECT list, for a statement of the caller's;
 * without the owners' check when check is 0 (a statement before it in the
 * same round trip made it). */
void gm_db_user_path_item(struct gm_db *db, struct gm_strbuf *sb, int local, int check);
/* That failure as the error to report, or NULL for any other error. */
struct gm_error *gm_db_refusal(const PGresult *res);

/* A read (gm_db_exec_params) with the safe search path: in the current
 * transaction, which the tool's own always pin, or in one of its own,
 * pinned and rolled back, when there is none. */
struct gm_error *gm_db_query_pinned(struct gm_db *db, const char *sql, int nparams,
				   const char *const *params, const char *what, PGresult **res);

/* One SELECT without parameters, read with the safe search path: in the
 * current transaction, or, when there is none, pinned and rolled back in
 * the same round trip.  On failure *res is NULL and the error carries the
 * server's SQLSTATE. */
struct gm_error *gm_db_read_once(struct gm_db *db, const char *sql, const char *what, PGresult **res);
/* n SELECTs (sql, separated by ';'), outside any transaction, pinned and
 * rolled back in one round trip: their rows in res[0..n).  On failure
 * *failed_at (when not NULL) is the index of the statement that failed;
 * the rows of the ones before it are kept, res[k] is NULL from it on (the
 * ones after it did not run). */
struct gm_error *gm_db_read_once_n(struct gm_db *db, const char *sql, int n, const char *what,
				   PGresult **res, int *failed_at);

/* Quotes an identifier for SQL text; caller frees. */
char *gm_db_quote_ident(struct gm_db *db, const char *ident);
/* Quotes a literal for SQL text, or gives "NULL" for text libpq cannot
 * quote (invalid in the client encoding); caller frees. */
char *gm_db_quote_literal(struct gm_db *db, const char *s);

/* A copy of a postgresql:// (or postgres://) URL with its password blanked
 * as "***": the one between "user:" and the '@' that ends the user part,
 * and a password= query parameter's value (through the end of the URL).
 * The parts are found by structure, as libpq finds them, never by
 * searching for the password.  NULL for a key=value string, or when the URL
 * holds another '@' (then where the password ends is not certain).  Caller
 * frees. */
char *gm_db_url_blanked(const char *url);

#endif
