/* db.c - connecting and turning server errors into error values. */
#include "gm_db.h"
#include "gm_strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Notices (e.g. "relation already exists, skipping") are not errors and
 * would clutter the output of every run; they are dropped. */
static void ignore_notice(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

char *gm_redact(const char *msg, const char *secret)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t slen = secret ? strlen(secret) : 0;
	const char *p = msg, *hit;

	if (!slen)
		return gm_xstrdup(msg);
	while ((hit = strstr(p, secret))) {
		gm_strbuf_add(&sb, p, (size_t)(hit - p));
		gm_strbuf_adds(&sb, "***");
		p = hit + slen;
	}
	gm_strbuf_adds(&sb, p);
	return gm_strbuf_detach(&sb, NULL);
}

/* One line: libpq's messages end in '\n' and sometimes hold several lines
 * (one per host tried). */
static char *one_line(const char *msg, const char *secret)
{
	char *s = gm_redact(msg ? msg : "", secret), *p;
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return s;
}

static char *password_of(const char *url)
{
	PQconninfoOption *opts, *o;
	char *pw = NULL;

	if (!url || !(opts = PQconninfoParse(url, NULL)))
		return NULL;
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			pw = gm_xstrdup(o->val);
	PQconninfoFree(opts);
	return pw;
}

struct gm_error *gm_db_connect(const char *url, struct gm_db **out)
{
	/* client_encoding is fixed: migration files are UTF-8, and the server's
	 * error positions count characters of what we send. */
	const char *keys[] = { "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { url, "garage-migrate", "UTF8", NULL };
	struct gm_db *db = gm_xcalloc(1, sizeof(*db));
	struct gm_error *err;

	*out = NULL;
	if (url && !*url)
		vals[0] = NULL;
	if (url && *url) {
		char *perr = NULL;
		PQconninfoOption *opts = PQconninfoParse(url, &perr);
		if (!opts) {
			/* libpq's parse errors quote the bad part, never a
			 * whole password, but redact anyway. */
			char *msg = one_line(perr ? perr : "invalid connection string", NULL);
			PQfreemem(perr);
			err = gm_error_new(GM_ERR_USAGE, "invalid database URL: %s", msg);
			free(msg);
			free(db);
			return err;
		}
		PQconninfoFree(opts);
		db->secret = password_of(url);
	}
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		char *msg = one_line(db->conn ? PQerrorMessage(db->conn) : "out of memory", db->secret);
		err = gm_error_new(GM_ERR_CONNECT, "cannot connect to the database: %s", msg);
		gm_error_advise(err, "check --database-url / DATABASE_URL (or PGHOST, PGPORT, PGUSER, PGDATABASE)");
		free(msg);
		gm_db_close(db);
		return err;
	}
	PQsetNoticeReceiver(db->conn, ignore_notice, NULL);
	db->server_version = PQserverVersion(db->conn);
	*out = db;
	return NULL;
}

void gm_db_close(struct gm_db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->secret);
	free(db);
}

static char *field(const PGresult *res, int code, const char *secret)
{
	const char *v = res ? PQresultErrorField(res, code) : NULL;
	return v ? gm_redact(v, secret) : NULL;
}

struct gm_error *gm_db_error(struct gm_db *db, const PGresult *res,
			     enum gm_errkind kind, const char *what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *msg;
	struct gm_error *err;

	/* Client-side failures (lost connection) have no primary field. */
	if (primary)
		msg = gm_redact(primary, db->secret);
	else
		msg = one_line(res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
							       : PQerrorMessage(db->conn),
			       db->secret);
	if (!*msg) {
		free(msg);
		msg = gm_xstrdup("unknown error (the connection may have been lost)");
	}
	err = what ? gm_error_new(kind, "%s: %s", what, msg) : gm_error_new(kind, "%s", msg);
	free(msg);
	err->sqlstate = field(res, PG_DIAG_SQLSTATE, db->secret);
	err->detail = field(res, PG_DIAG_MESSAGE_DETAIL, db->secret);
	err->hint = field(res, PG_DIAG_MESSAGE_HINT, db->secret);
	err->context = field(res, PG_DIAG_CONTEXT, db->secret);
	return err;
}

static struct gm_error *check_result(struct gm_db *db, PGresult *r, const char *what,
				     PGresult **res)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return NULL;
	}
	struct gm_error *err = gm_db_error(db, r, GM_ERR_DB, what);
	PQclear(r);
	return err;
}

struct gm_error *gm_db_exec(struct gm_db *db, const char *sql, const char *what,
			    PGresult **res)
{
	if (res)
		*res = NULL;
	return check_result(db, PQexec(db->conn, sql), what, res);
}

struct gm_error *gm_db_exec_params(struct gm_db *db, const char *sql, int nparams,
				   const char *const *params, const char *what,
				   PGresult **res)
{
	if (res)
		*res = NULL;
	return check_result(db, PQexecParams(db->conn, sql, nparams, NULL, params,
					     NULL, NULL, 0),
			    what, res);
}

static char *copy_escaped(char *e)
{
	char *s;

	if (!e)
		return NULL;
	s = gm_xstrdup(e);
	PQfreemem(e);
	return s;
}

char *gm_db_quote_ident(struct gm_db *db, const char *ident)
{
	return copy_escaped(PQescapeIdentifier(db->conn, ident, strlen(ident)));
}

char *gm_db_quote_literal(struct gm_db *db, const char *s)
{
	char *q = copy_escaped(PQescapeLiteral(db->conn, s, strlen(s)));

	/* libpq refuses text that is not valid in the client encoding; such a
	 * value (an odd OS user name) is recorded as NULL, never spliced raw. */
	return q ? q : gm_xstrdup("NULL");
}
