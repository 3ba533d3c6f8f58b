/* gm_db.h - one connection, errors from the server as values.
 *
 * libpq does all the connection-string work: a URL or key=value string,
 * PGHOST and friends, service files and .pgpass. */
#ifndef GM_DB_H
#define GM_DB_H

#include <libpq-fe.h>

#include "gm_error.h"

struct gm_db {
	PGconn *conn;
	char *secret;		/* password given in the URL, to redact; or NULL */
	int server_version;	/* PQserverVersion */
};

/* url may be NULL: libpq's environment and defaults apply. */
struct gm_error *gm_db_connect(const char *url, struct gm_db **out);
void gm_db_close(struct gm_db *db);

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

/* Quotes an identifier for SQL text; caller frees. */
char *gm_db_quote_ident(struct gm_db *db, const char *ident);
/* Quotes a literal for SQL text, or gives "NULL" for text libpq cannot
 * quote (invalid in the client encoding); caller frees. */
char *gm_db_quote_literal(struct gm_db *db, const char *s);

/* Removes every occurrence of secret from msg in place ("***"); returns a
 * new string (caller frees).  Used on every message that could echo a
 * connection string. */
char *gm_redact(const char *msg, const char *secret);

#endif
