/* db.c - connecting and turning server errors into error values. */
#include "gm_db.h"
#include "gm_history.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"
#include "gm_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Notices (e.g. "relation already exists, skipping") are not errors and
 * would clutter the output of every run; they are dropped. */
static void ignore_notice(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

/* One line: libpq's messages end in '\n' and sometimes hold several lines
 * (one per host tried). */
static char *one_line(const char *msg)
{
	char *s = gm_xstrdup(msg ? msg : ""), *p;
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return s;
}

/* ---- passwords in connection strings ----
 *
 * A password is never looked for in text: messages that could quote one
 * are built from a copy of the URL whose password fields are blanked,
 * located the way libpq's URI parser locates them (fe-connect.c,
 * conninfo_uri_parse_options). */

/* Length of the URI designator libpq recognises, or 0 (key=value). */
static size_t uri_prefix_len(const char *s)
{
	static const char *const designators[] = { "postgresql://", "postgres://" };
	size_t k;

	for (k = 0; k < sizeof(designators) / sizeof(designators[0]); k++)
		if (strncmp(s, designators[k], strlen(designators[k])) == 0)
			return strlen(designators[k]);
	return 0;
}

/* The '@' that ends "user[:password]" for libpq (the first '@' before any
 * '/'), or NULL when the URL has no user part. */
static const char *userinfo_end(const char *rest)
{
	size_t n = strcspn(rest, "@/");

	return rest[n] == '@' ? rest + n : NULL;
}

/* Non-zero when a URL holds an '@' besides the one that ends the user
 * part.  That is an unencoded '@' (or '/', '?') in the password: libpq cuts
 * the password there and takes the rest for the host, port, database or a
 * parameter, which its later messages (and the server's) print. */
static int stray_at(const char *url)
{
	const char *rest = url + uri_prefix_len(url), *end = userinfo_end(rest);

	return strchr(end ? end + 1 : rest, '@') != NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether a query parameter's keyword, s[0..n), percent-decodes to
 * "password" or "sslpassword" (libpq decodes keywords too: "pass%77ord"
 * is one). */
static int is_password_keyword(const char *s, size_t n)
{
	char kw[sizeof("sslpassword")];
	size_t i = 0, k = 0;

	while (i < n) {
		char c = s[i];
		if (c == '%') {
			if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return 0;
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 3;
		} else {
			i++;
		}
		if (k >= sizeof(kw) - 1)
			return 0;
		kw[k++] = c;
	}
	kw[k] = '\0';
	return !strcmp(kw, "password") || !strcmp(kw, "sslpassword");
}

/* Appends a query string (after '?') with the value of its first password
 * (or sslpassword) parameter blanked through the end: a '&' in that
 * password would start a "parameter" of its own, which libpq would quote. */
static void add_query_blanked(struct gm_strbuf *sb, const char *q)
{
	while (*q) {
		size_t n = strcspn(q, "&"), kw = strcspn(q, "=&");
		if (q[kw] == '=' && is_password_keyword(q, kw)) {
			gm_strbuf_add(sb, q, kw + 1);
			gm_strbuf_adds(sb, "***");
			return;
		}
		gm_strbuf_add(sb, q, n + (q[n] == '&'));
		q += n + (q[n] == '&');
	}
}

char *gm_db_url_blanked(const char *url)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t pre = uri_prefix_len(url);
	const char *rest = url + pre, *at, *colon, *q;

	if (!pre || stray_at(url))
		return NULL;
	gm_strbuf_add(&sb, url, pre);
	if ((at = userinfo_end(rest))) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon) {
			gm_strbuf_add(&sb, rest, (size_t)(colon - rest) + 1);
			gm_strbuf_adds(&sb, "***");
		} else {
			gm_strbuf_add(&sb, rest, (size_t)(at - rest));
		}
		rest = at;
	}
	/* A '?' inside the password is not the query: look after it. */
	q = strchr(rest, '?');
	gm_strbuf_add(&sb, rest, q ? (size_t)(q + 1 - rest) : strlen(rest));
	if (q)
		add_query_blanked(&sb, q + 1);
	return gm_strbuf_detach(&sb, NULL);
}

/* The message for a connection string libpq cannot parse.  Its own message
 * quotes the offending part, which may be the password: it is shown only
 * as libpq words it for the blanked copy. */
static struct gm_error *invalid_url(const char *url)
{
	char *copy = gm_db_url_blanked(url), *perr = NULL, *msg;
	PQconninfoOption *opts = NULL;
	struct gm_error *err;

	if (copy && !(opts = PQconninfoParse(copy, &perr)) && perr) {
		msg = one_line(perr);
		err = gm_error_new(GM_ERR_USAGE, "invalid database URL: %s", msg);
		gm_error_advise(err, "the form is postgresql://user:password@host:port/dbname?param=value");
		free(msg);
	} else if (copy) {
		/* Only the password differs, so the password is the problem. */
		err = gm_error_new(GM_ERR_USAGE, "invalid database URL: its password cannot be decoded (not shown)");
		gm_error_advise(err, "percent-encode special characters in the password: '%%' as %%25, '@' as %%40, '/' as %%2F");
	} else {
		err = gm_error_new(GM_ERR_USAGE, "invalid connection string (not shown: it may hold a password)");
		gm_error_advise(err, "check its syntax: postgresql://user:password@host:port/dbname?param=value, "
				"or key=value pairs separated by spaces, a value with spaces or quotes in '...'");
	}
	PQconninfoFree(opts);
	PQfreemem(perr);
	free(copy);
	return err;
}

/* Parses the connection string before connecting, so a malformed one is a
 * usage error whose message never quotes a password. */
static struct gm_error *check_url(const char *url)
{
	char *perr = NULL;
	PQconninfoOption *opts;
	struct gm_error *err;

	if (uri_prefix_len(url) && stray_at(url)) {
		err = gm_error_new(GM_ERR_USAGE, "invalid database URL: it holds an '@' besides the one that ends user:password (not shown: it may hold a password)");
		gm_error_advise(err, "percent-encode '@' as %%40 in the password (and '/' as %%2F, '?' as %%3F)");
		return err;
	}
	if ((opts = PQconninfoParse(url, &perr))) {
		PQconninfoFree(opts);
		return NULL;
	}
	PQfreemem(perr);
	return invalid_url(url);
}

/* ---- the session ----
 *
 * Server settings are not trusted: ALTER DATABASE / ALTER ROLE can set
 * anything, and the tool's SQL relies on some of them.  Each session sets
 * them itself, in one round trip, before it reads or sends anything else:
 *
 *  - standard_conforming_strings = on: the tool's lexer (statement
 *    boundaries, transaction-control detection) reads '\' in a string
 *    literal as a plain character.  With it off, the server would end a
 *    literal elsewhere, and text the tool saw inside a string would run as
 *    statements.  PgBouncer tracks this setting per client, so it holds in
 *    transaction pooling too, and it is checked below.
 *  - search_path: the tool's own SQL runs with "pg_catalog, pg_temp"
 *    (GM_DB_SAFE_PATH), where no other schema is searched: searching
 *    pg_catalog first is not enough, as a function or operator planted in
 *    a writable schema wins over a built-in one whenever it matches the
 *    argument types better (an aggregate on name, an operator on "char").
 *    Migration text runs with the user's own path (db->search_path, read
 *    here), set around it by the scripts (gm_script_section), with
 *    pg_catalog taken out so that PostgreSQL searches it first, unnamed;
 *    naming it first would make it the schema new objects are created in.
 *    Both are set for a transaction only (SET LOCAL), never for the
 *    session: through a transaction pooler a session setting would stay on
 *    the server connection for the next client, the application's own.
 *  - exit_on_error = off: the tool reads some errors and goes on (the
 *    history's quick check asks for the whole one that way), and a
 *    failing migration must read as its error, not as a lost connection.
 *    Off is the server's default, harmless to leave on a pooled
 *    connection; every transaction of the tool's sets it again
 *    (gm_script_lock).
 *  - quote_all_identifiers = off: the history's trust check compares the
 *    server's print of its defaults and constraints with what the tool
 *    made (history.c); set again in every transaction, like the next.
 *  - row_security = on, likewise per transaction (gm_script_begin, the
 *    probe): with it off, a query that RLS would filter fails instead of
 *    being filtered.
 *
 * The statement that reads the user's path runs before the new path
 * holds, so it names its function with its schema; and it holds no
 * backslash, as the whole string is lexed under the server's old
 * settings.  The path is taken apart here (gm_db_user_search_path), not
 * by the server: a regular expression costs a fresh backend more than the
 * whole read. */
static const char session_sql[] =
	"SET standard_conforming_strings = on; SET exit_on_error = off; SET quote_all_identifiers = off; "
	"SELECT pg_catalog.current_setting('search_path'), pg_catalog.quote_ident(CURRENT_USER::pg_catalog.text),"
	" pg_catalog.to_regnamespace(pg_catalog.quote_ident(CURRENT_USER::pg_catalog.text)) IS NOT NULL";

/* Space as PostgreSQL splits a list setting (scanner_isspace): up to 16,
 * not a vertical tab, which a schema name may then hold; from 17 on, a
 * vertical tab too. */
static int path_space(char c, int vt_space)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || (vt_space && c == '\v');
}

/* One element of a search_path setting at *p (spaces and commas before it
 * skipped): a double-quoted name ("" inside stands for "), or a run of
 * anything but commas and spaces.  Its length, 0 at the end. */
static size_t path_element(const char **p, int vt_space)
{
	const char *s = *p, *e;

	while (*s == ',' || path_space(*s, vt_space))
		s++;
	*p = s;
	e = s;
	if (*e == '"') {
		for (e++; *e; e++)
			if (*e == '"' && *++e != '"')
				break;
	} else {
		while (*e && *e != ',' && !path_space(*e, vt_space))
			e++;
	}
	return (size_t)(e - s);
}

/* Whether element s (n bytes) names name (pg_catalog, pg_temp) as
 * PostgreSQL reads a list setting (SplitIdentifierString): unquoted in any
 * case (it folds it), quoted only exactly: "PG_TEMP" is a schema of that
 * name, searched and created in like any other. */
static int is_named(const char *s, size_t n, const char *name)
{
	size_t len = strlen(name), k;

	if (n == len + 2 && s[0] == '"' && s[n - 1] == '"')
		return memcmp(s + 1, name, len) == 0;
	if (n != len)
		return 0;
	for (k = 0; k < len; k++)
		if (tolower((unsigned char)s[k]) != name[k])
			return 0;
	return 1;
}

/* pg_catalog goes (see the session's notes above), and so does the
 * tool's own schema (a table created there would sit with the history,
 * outside what verify compares and the isolation guard watches), and so
 * does pg_temp:
 * named in the path, it is where CREATE TABLE puts a table whenever no
 * schema before it exists (first, or after a "$user" without a schema of
 * that name), and the table would be a temporary one, gone with the
 * session, recorded as applied.  Left out, the server still searches it
 * first for a table's name, but never creates anything in it. */
char *gm_db_user_search_path(const char *setting, int server_version)
{
	int vt_space = server_version >= 170000;
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *p = setting ? setting : "";
	size_t n;

	while ((n = path_element(&p, vt_space)) > 0) {
		if (!is_named(p, n, "pg_temp") && !is_named(p, n, "pg_catalog") && !is_named(p, n, GM_HISTORY_SCHEMA)) {
			if (sb.len)
				gm_strbuf_adds(&sb, ", ");
			gm_strbuf_add(&sb, p, n);
		}
		p += n;
	}
	return gm_strbuf_detach(&sb, NULL);
}

/* "$user" stands for a schema named after the role, whenever one comes
 * to exist: one a role with CREATE on the database makes between the
 * path's check and a migration's statements (the check runs once a batch)
 * would take the migrations' objects.  It is resolved once, here: the
 * role's schema (quoted) when it exists now, else nothing. */
static char *resolve_user(const char *path, const char *user, int exists, int server_version)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *p = path;
	int vt_space = server_version >= 170000;
	size_t n;

	while ((n = path_element(&p, vt_space)) > 0) {
		int is_user = n == 7 && !strncmp(p, "\"$user\"", 7);
		if (!is_user || exists) {
			if (sb.len)
				gm_strbuf_adds(&sb, ", ");
			if (is_user)
				gm_strbuf_adds(&sb, user);
			else
				gm_strbuf_add(&sb, p, n);
		}
		p += n;
	}
	return gm_strbuf_detach(&sb, NULL);
}

static struct gm_error *set_up_session(struct gm_db *db)
{
	struct gm_error *err;
	PGresult *res = NULL;
	const char *scs;

	if ((err = gm_db_exec(db, session_sql, "cannot set up the database session", &res))) {
		err->kind = GM_ERR_CONNECT;
		return err;
	}
	/* The user's path, for migration text.  The tool's transactions set
	 * the safe path again themselves: through a transaction pooler, a
	 * session setting may not reach the next transaction. */
	free(db->search_path);
	if (PQntuples(res) == 1 && PQnfields(res) == 3) {
		char *path = gm_db_user_search_path(PQgetvalue(res, 0, 0), db->server_version);
		db->search_path = resolve_user(path, PQgetvalue(res, 0, 1), !strcmp(PQgetvalue(res, 0, 2), "t"),
					       db->server_version);
		free(path);
	} else {
		db->search_path = gm_xstrdup("");
	}
	PQclear(res);
	/* What the server (or pooler) reports is what lexes our SQL. */
	scs = PQparameterStatus(db->conn, "standard_conforming_strings");
	if (!scs || strcmp(scs, "on") != 0) {
		err = gm_error_new(GM_ERR_CONNECT,
				   "cannot set up the database session: standard_conforming_strings is %s, not on",
				   scs ? scs : "not reported");
		gm_error_advise(err, "garage-migrate needs standard_conforming_strings = on; if a pooler or proxy sits in front of the server, let the setting through");
	}
	return err;
}

struct gm_error *gm_db_connect(const char *url, struct gm_db **out)
{
	/* A peer that vanishes without a word (a host gone, a link cut)
	 * leaves a client waiting for a COMMIT's answer for hours: the
	 * kernel's keepalive starts after two.  Probes after 30s idle, every
	 * 10s, three missed, and sent data unacknowledged for 60s, end the
	 * wait in about a minute (a long statement is not idle: the server's
	 * kernel answers the probes).  Before dbname: what the URL says wins.
	 * client_encoding is fixed: migration files are UTF-8, and the
	 * server's error positions count characters of what we send. */
	const char *keys[] = { "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
			       "tcp_user_timeout", "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { "1", "30", "10", "3", "60000", url, "garage-migrate", "UTF8", NULL };
	struct gm_db *db;
	struct gm_error *err;

	*out = NULL;
	if (url && !*url)
		vals[5] = NULL;
	if (url && *url && (err = check_url(url)))
		return err;
	db = gm_xcalloc(1, sizeof(*db));
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		/* libpq's connection messages and the server's authentication
		 * errors never quote the password. */
		char *msg = one_line(db->conn ? PQerrorMessage(db->conn) : "out of memory");
		err = gm_error_new(GM_ERR_CONNECT, "cannot connect to the database: %s", msg);
		gm_error_advise(err, "check --database-url / DATABASE_URL (or PGHOST, PGPORT, PGUSER, PGDATABASE)");
		free(msg);
		gm_db_close(db);
		return err;
	}
	PQsetNoticeReceiver(db->conn, ignore_notice, NULL);
	db->server_version = PQserverVersion(db->conn);
	if ((err = set_up_session(db))) {
		gm_db_close(db);
		return err;
	}
	*out = db;
	return NULL;
}

struct gm_error *gm_db_reconnect(struct gm_db *db)
{
	struct gm_error *err;
	char *msg;

	/* Same parameters, same PGconn (its notice receiver stays). */
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		msg = one_line(PQerrorMessage(db->conn));
		err = gm_error_new(GM_ERR_CONNECT, "cannot reconnect to the database: %s", msg);
		free(msg);
		return err;
	}
	db->server_version = PQserverVersion(db->conn);
	/* A new session: it needs its settings again. */
	return set_up_session(db);
}

void gm_db_close(struct gm_db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->search_path);
	free(db->trusted_roles);
	free(db);
}

static char *field(const PGresult *res, int code)
{
	const char *v = res ? PQresultErrorField(res, code) : NULL;
	return v ? gm_xstrdup(v) : NULL;
}

struct gm_error *gm_db_error(struct gm_db *db, const PGresult *res,
			     enum gm_errkind kind, const char *what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *msg;
	struct gm_error *err;

	/* Client-side failures (lost connection) have no primary field. */
	if (primary)
		msg = gm_xstrdup(primary);
	else
		msg = one_line(res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
							       : PQerrorMessage(db->conn));
	if (!*msg) {
		free(msg);
		msg = gm_xstrdup("unknown error (the connection may have been lost)");
	}
	err = what ? gm_error_new(kind, "%s: %s", what, msg) : gm_error_new(kind, "%s", msg);
	free(msg);
	err->sqlstate = field(res, PG_DIAG_SQLSTATE);
	err->detail = field(res, PG_DIAG_MESSAGE_DETAIL);
	err->hint = field(res, PG_DIAG_MESSAGE_HINT);
	err->context = field(res, PG_DIAG_CONTEXT);
	return err;
}

int gm_sqlstate_is(const PGresult *res, const char *code)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s && strcmp(s, code) == 0;
}

int gm_sqlstate_is_timeout(const PGresult *res)
{
	return gm_sqlstate_is(res, "55P03") || gm_sqlstate_is(res, "57014");
}

/* The error of a failed result: a refusal the tool's own checks raised,
 * a timeout (the session's, or a database or role default) or a cancel,
 * exit 5 as a migration's would be, or any other database error. */
static struct gm_error *failure(struct gm_db *db, const PGresult *r, const char *what)
{
	struct gm_error *err = gm_db_refusal(r);

	if (err)
		return err;
	if (!gm_sqlstate_is_timeout(r))
		return gm_db_error(db, r, GM_ERR_DB, what);
	err = gm_db_error(db, r, GM_ERR_LOCK, what);
	if (!err->advice)
		gm_error_advise(err, "a lock or statement timeout (or a cancel) stopped it: another session holds what it"
				     " reads, or a statement_timeout the database or role sets is too short for it; run it"
				     " again when that session is done");
	return err;
}

static struct gm_error *check_result(struct gm_db *db, PGresult *r, const char *what,
				     PGresult **res)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	struct gm_error *err;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return NULL;
	}
	err = failure(db, r, what);
	PQclear(r);
	return err;
}

/* The tool's lexer splits migration text, and the tool writes its own
 * SQL, for standard_conforming_strings on and UTF-8 text, and the server
 * lexes a whole query string with the session's settings before it runs
 * any of it.  A migration may have changed either for the session (a
 * plain SET commits with it): the next string would then end its
 * literals elsewhere, and text the tool read inside a string would run.
 * Off, 'a\'' ends early; in SJIS, the bytes of E'\u0101\\' hold a
 * character that swallows the backslash, and a COMMIT the tool saw inside
 * the literal ends the migration's transaction without its history row.
 * In LATIN1 every later text would be stored mis-decoded.  The server
 * reports every change of either, so this costs a round trip only when
 * one was changed.  Called before every text the tool sends. */
PGresult *gm_db_keep_lexing(struct gm_db *db)
{
	const char *scs = PQparameterStatus(db->conn, "standard_conforming_strings");
	const char *enc = PQparameterStatus(db->conn, "client_encoding");
	int scs_ok = scs && !strcmp(scs, "on"), enc_ok = enc && !strcmp(enc, "UTF8");
	PGresult *r;

	if (scs_ok && enc_ok)
		return NULL;
	r = PQexec(db->conn, scs_ok ? "SET client_encoding = 'UTF8'"
			   : enc_ok ? "SET standard_conforming_strings = on"
				    : "SET standard_conforming_strings = on; SET client_encoding = 'UTF8'");
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	return r;
}

struct gm_error *gm_db_exec(struct gm_db *db, const char *sql, const char *what,
			    PGresult **res)
{
	PGresult *bad = gm_db_keep_lexing(db);

	if (res)
		*res = NULL;
	return check_result(db, bad ? bad : PQexec(db->conn, sql), what, res);
}

struct gm_error *gm_db_exec_params(struct gm_db *db, const char *sql, int nparams,
				   const char *const *params, const char *what,
				   PGresult **res)
{
	PGresult *bad = gm_db_keep_lexing(db);

	if (res)
		*res = NULL;
	return check_result(db, bad ? bad : PQexecParams(db->conn, sql, nparams, NULL, params,
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

/* Migration text runs as the connecting role, often a superuser, and
 * creates its objects in the first schema of its path and finds names
 * there: a schema in that path owned by another role lets that role drop
 * and replace what the migrations make (a trigger function, then a
 * superuser's data migration runs it).  Trusted owners: a superuser, the
 * session's login role, and the database's owner (who holds public, and
 * whom PostgreSQL asks every user of it to trust); a schema named after
 * the user ("$user") only when the user (or a superuser) owns it: another
 * role with CREATE on the database could make it first.  And none where
 * every role may create objects (PUBLIC's CREATE on public, PostgreSQL's
 * default up to 14): any login could plant an operator there that matches
 * a migration's argument types better than the built-in one (CVE-2018-1058)
 * and have it run as this role.  A role granted CREATE by name is trusted,
 * as its grantor chose to.  Checked, after
 * the path is set, in the same statement: by every transaction that sets
 * it, but for up's batches, where the first migration of each round trip
 * checks for the ones after it (each check costs a plan; the schema could
 * as well appear between the check and the migration's own statements).
 * UNTRUSTED_PATH_MARK fails the cast (gm_db_refusal reads it). */
#define UNTRUSTED_PATH_MARK "garage-migrate: untrusted schema in the search path: "
#define EQ " OPERATOR(pg_catalog.=) "
/* Trusted: a superuser, the login role, the database's owner, and the
 * roles the project file names in trusted_roles: their oids, joined by
 * commas, set by the statement that checks (TRUSTED_SETTING, always, ""
 * for none: a pooler's other server sessions need not carry it, and
 * nothing set before counts).  Read with missing_ok: the planner reads
 * it too, to estimate, before the statement sets it. */
#define TRUSTED_SETTING "garage_migrate.trusted_roles"
#define TRUSTED_FOR_PATH(oid)                                                                        \
	"(" oid " OPERATOR(pg_catalog.=) 'pg_database_owner'::pg_catalog.regrole"                     \
	" OR " oid " OPERATOR(pg_catalog.=) (SELECT d.datdba FROM pg_catalog.pg_database d"             \
	" WHERE d.datname" EQ "pg_catalog.current_database())"                                          \
	" OR " oid "::pg_catalog.text" EQ "ANY (pg_catalog.string_to_array("                             \
	" pg_catalog.current_setting('" TRUSTED_SETTING "', true), ','))"                                 \
	" OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles tr WHERE tr.oid" EQ oid                           \
	" AND (tr.rolsuper OR tr.rolname" EQ "SESSION_USER)))"
/* A trigger runs its function as whoever fires it: the migrations' role
 * when they write its table.  A role granted TRIGGER on a table (stock
 * Supabase grants ALL, TRIGGER with it, to its API roles), though not its
 * owner, may attach one calling a function of its own (pg_temp's is
 * enough: no CREATE on any schema needed), and a superuser's data
 * migration makes it superuser.  Refused: an enabled trigger (one that
 * fires outside replica mode, which up refuses) that depends on code
 * belonging to neither a trusted role (TRUSTED_FOR_PATH) nor the table's
 * owner (trusted by PostgreSQL's design: it may do the same with its own
 * triggers): its function, or in its WHEN condition a function, an
 * operator's function, or a type (a domain's CHECK runs on a cast to it)
 * (pg_depend has them all).  SECURITY DEFINER ones too: such a function
 * runs as its owner, but in this session and transaction, where it can
 * plant a trigger, a temporary table or operator, or a search_path that
 * the migration's next statements then use as this role.  The history's
 * tables have their own rules (history.c: only triggers on
 * what the tool does to them).  Checked with the path, so that a trigger
 * planted while a batch runs is seen by its next round trip. */
#define UNTRUSTED_TRIGGER_MARK "garage-migrate: untrusted trigger: "
/* A table whose rows a foreign key's action (ON DELETE CASCADE, SET
 * NULL, SET DEFAULT, the same ON UPDATE) changes when another role's
 * table is written, directly or down a chain of such keys: a migration
 * that deletes from that table fires this one's triggers as the
 * migrations' role (an AFTER trigger fires as the outer statement's
 * user), though it never named this table.  Its owner's own triggers are
 * then trusted no more than anyone's. */
#define CASCADE_ACTION(k)                                                                            \
	"(" k ".confdeltype" EQ "ANY ('{c,n,d}'::pg_catalog.\"char\"[]) OR " k ".confupdtype" EQ          \
	"ANY ('{c,n,d}'::pg_catalog.\"char\"[]))"
#define CASCADED_INTO(c)                                                                             \
	"EXISTS (WITH RECURSIVE up(rel) AS (SELECT k.confrelid FROM pg_catalog.pg_constraint k"         \
	"  WHERE k.conrelid" EQ c ".oid AND k.contype" EQ "'f' AND " CASCADE_ACTION("k")                 \
	"  UNION SELECT k.confrelid FROM up JOIN pg_catalog.pg_constraint k ON k.conrelid" EQ "up.rel"    \
	"  AND k.contype" EQ "'f' AND " CASCADE_ACTION("k") ")"                                          \
	" SELECT 1 FROM up JOIN pg_catalog.pg_class pc ON pc.oid" EQ "up.rel"                             \
	" WHERE pc.relowner OPERATOR(pg_catalog.<>) " c ".relowner)"
/* A column of a domain another role owns (not the table's owner): a
 * CHECK it adds to the domain, at any time, runs as whoever writes the
 * column, a superuser's data migration included. */
#define UNTRUSTED_DOMAIN_MARK "garage-migrate: untrusted domain: "
#define UNTRUSTED_PATH_SQL                                                                           \
	"(SELECT w.why::pg_catalog.int4 FROM ("                                                          \
	" SELECT pg_catalog.format('" UNTRUSTED_PATH_MARK "%I, owned by role %I', n.nspname, pg_catalog.pg_get_userbyid(n.nspowner)) AS why" \
	" FROM pg_catalog.pg_namespace n WHERE n.nspname" EQ "ANY (pg_catalog.current_schemas(false))"   \
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles o WHERE o.oid" EQ "n.nspowner"               \
	"  AND (o.rolsuper OR o.rolname" EQ "SESSION_USER))"                                            \
	" AND (n.nspname" EQ "SESSION_USER OR n.nspname" EQ "CURRENT_USER OR NOT " TRUSTED_FOR_PATH("n.nspowner") ")" \
	" UNION ALL SELECT pg_catalog.format('" UNTRUSTED_PATH_MARK "%I, where every role (PUBLIC) may create objects', n.nspname)" \
	" FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a"                             \
	" WHERE n.nspname" EQ "ANY (pg_catalog.current_schemas(false))"                                  \
	" AND a.privilege_type" EQ "'CREATE' AND a.grantee" EQ "0::pg_catalog.oid"                        \
	" UNION ALL SELECT pg_catalog.format('" UNTRUSTED_TRIGGER_MARK "%I on %s depends on %s, owned by role %I, %s'," \
	"  t.tgname, t.tgrelid::pg_catalog.regclass, code.what, pg_catalog.pg_get_userbyid(code.owner),"  \
	"  CASE WHEN code.owner" EQ "c.relowner THEN 'and the table''s rows change when a migration writes another"  \
	" role''s table (a foreign key''s action)' ELSE 'which does not own the table' END)"                            \
	" FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid" EQ "t.tgrelid"                \
	" JOIN pg_catalog.pg_namespace tn ON tn.oid" EQ "c.relnamespace"                                  \
	" JOIN pg_catalog.pg_depend d ON d.classid" EQ "'pg_catalog.pg_trigger'::pg_catalog.regclass AND d.objid" EQ "t.oid" \
	" CROSS JOIN LATERAL (SELECT f.proowner, pg_catalog.format('function %s', f.oid::pg_catalog.regprocedure)" \
	"   FROM pg_catalog.pg_proc f WHERE f.oid" EQ "CASE"                                              \
	"   WHEN d.refclassid" EQ "'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.refobjid"             \
	"   WHEN d.refclassid" EQ "'pg_catalog.pg_operator'::pg_catalog.regclass THEN (SELECT o.oprcode::pg_catalog.oid" \
	"    FROM pg_catalog.pg_operator o WHERE o.oid" EQ "d.refobjid) END"                             \
	"  UNION ALL SELECT ty.typowner, pg_catalog.format('type %s', ty.oid::pg_catalog.regtype)"        \
	"   FROM pg_catalog.pg_type ty WHERE d.refclassid" EQ "'pg_catalog.pg_type'::pg_catalog.regclass"  \
	"   AND ty.oid" EQ "d.refobjid) code(owner, what)"                                                 \
	" WHERE tn.nspname OPERATOR(pg_catalog.<>) '" GM_HISTORY_SCHEMA "' AND NOT t.tgisinternal"          \
	" AND t.tgenabled OPERATOR(pg_catalog.=) ANY ('{O,A}'::pg_catalog.\"char\"[])"                      \
	" AND (code.owner OPERATOR(pg_catalog.<>) c.relowner OR " CASCADED_INTO("c") ")"                  \
	" AND NOT " TRUSTED_FOR_PATH("code.owner")                                                        \
	" UNION ALL SELECT * FROM (WITH RECURSIVE reach(t, dom) AS (SELECT ty.oid, ty.oid FROM pg_catalog.pg_type ty" \
	"  WHERE ty.typtype" EQ "'d' AND NOT " TRUSTED_FOR_PATH("ty.typowner")                              \
	/* what is built on such a domain: a domain over it, an array or a    \
	 * range of it (their pg_type rows depend on it), a composite type    \
	 * with an attribute of it (its pg_class row does) */                 \
	"  UNION SELECT nt.oid, reach.dom FROM reach JOIN pg_catalog.pg_depend d"                          \
	"  ON d.refclassid" EQ "'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid" EQ "reach.t"      \
	"  JOIN pg_catalog.pg_type nt ON (d.classid" EQ "'pg_catalog.pg_type'::pg_catalog.regclass AND nt.oid" EQ "d.objid)" \
	"  OR (d.classid" EQ "'pg_catalog.pg_class'::pg_catalog.regclass AND nt.typrelid" EQ "d.objid"      \
	"  AND nt.typtype" EQ "'c'))"                                                                      \
	" SELECT pg_catalog.format('" UNTRUSTED_DOMAIN_MARK "%I of %s is of %s, owned by role %I, which does not own the table'," \
	"  a.attname, c.oid::pg_catalog.regclass, CASE WHEN a.atttypid" EQ "dt.oid"                        \
	"  THEN pg_catalog.format('domain %s', dt.oid::pg_catalog.regtype)"                                 \
	"  ELSE pg_catalog.format('type %s, built on domain %s', a.atttypid::pg_catalog.regtype, dt.oid::pg_catalog.regtype) END," \
	"  pg_catalog.pg_get_userbyid(dt.typowner))"                                                       \
	" FROM reach JOIN pg_catalog.pg_depend d ON d.refclassid" EQ "'pg_catalog.pg_type'::pg_catalog.regclass" \
	"  AND d.refobjid" EQ "reach.t AND d.classid" EQ "'pg_catalog.pg_class'::pg_catalog.regclass"        \
	"  AND d.objsubid OPERATOR(pg_catalog.>) 0"                                                          \
	" JOIN pg_catalog.pg_class c ON c.oid" EQ "d.objid"                                                  \
	" JOIN pg_catalog.pg_attribute a ON a.attrelid" EQ "c.oid AND a.attnum" EQ "d.objsubid"              \
	" JOIN pg_catalog.pg_namespace tn ON tn.oid" EQ "c.relnamespace"                                  \
	" JOIN pg_catalog.pg_type dt ON dt.oid" EQ "reach.dom"                                              \
	" WHERE c.relkind" EQ "ANY ('{r,p,f}'::pg_catalog.\"char\"[]) AND NOT a.attisdropped"                \
	" AND tn.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema," GM_HISTORY_SCHEMA "}'::pg_catalog.text[])" \
	" AND dt.typowner OPERATOR(pg_catalog.<>) c.relowner) dom"                                         \
	" LIMIT 1) w)"

void gm_db_user_path_item(struct gm_db *db, struct gm_strbuf *sb, int local, int check)
{
	/* The path goes in as a literal quoted through libpq; the rest are
	 * fixed words. */
	char *lit = gm_db_quote_literal(db, db->search_path ? db->search_path : ""), *trusted;

	if (!check) {
		gm_strbuf_addf(sb, "pg_catalog.set_config('search_path', %s, %s)", lit, local ? "true" : "false");
		free(lit);
		return;
	}

	/* CASE: the check reads the path and the trusted roles set_config
	 * has just set (the roles for this transaction only; a literal
	 * quoted through libpq, or fixed words). */
	trusted = gm_db_quote_literal(db, db->trusted_roles ? db->trusted_roles : "{}");
	gm_strbuf_addf(sb, "CASE WHEN pg_catalog.set_config('search_path', %s, %s) IS NOT NULL"
		       " AND pg_catalog.set_config('" TRUSTED_SETTING "', COALESCE((SELECT pg_catalog.string_agg("
		       "r.oid::pg_catalog.text, ',') FROM pg_catalog.pg_roles r WHERE r.rolname" EQ "ANY (%s::pg_catalog.name[])),"
		       " ''), true) IS NOT NULL THEN ", lit, local ? "true" : "false", trusted);
	gm_strbuf_adds(sb, UNTRUSTED_PATH_SQL " END");
	free(trusted);
	free(lit);
}

void gm_db_trust_roles(struct gm_db *db, const struct gm_strlist *names)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	free(db->trusted_roles);
	db->trusted_roles = NULL;
	if (!names || !names->n)
		return;
	gm_text_array(&sb, names->v, names->n);
	db->trusted_roles = gm_strbuf_detach(&sb, NULL);
}

char *gm_db_user_path_sql(struct gm_db *db, int local)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_strbuf_adds(&sb, "SELECT ");
	gm_db_user_path_item(db, &sb, local, 1);
	return gm_strbuf_detach(&sb, NULL);
}

/* The server quotes the whole value of a failed cast: its last '"' ends
 * it (a name may hold quotes of its own). */
static int marked_len(const char *p)
{
	return strrchr(p, '"') ? (int)(strrchr(p, '"') - p) : (int)strlen(p);
}

struct gm_error *gm_db_refusal(const PGresult *res)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *p = msg ? strstr(msg, UNTRUSTED_PATH_MARK) : NULL;
	struct gm_error *err;

	if (msg && !p && (p = strstr(msg, UNTRUSTED_DOMAIN_MARK))) {
		p += strlen(UNTRUSTED_DOMAIN_MARK);
		err = gm_error_new(GM_ERR_DB, "refusing to run migrations: column %.*s: its checks would run as this role"
				   " whenever a migration writes that column", marked_len(p), p);
		gm_error_advise(err, "have a superuser or the table's owner take the domain over (ALTER DOMAIN ... OWNER TO),"
				     " or change the column's type; or, for a role you trust as you trust yourself, list it in"
				     " the project file's trusted_roles; nothing was applied by this transaction");
		return err;
	}
	if (msg && !p && (p = strstr(msg, UNTRUSTED_TRIGGER_MARK))) {
		p += strlen(UNTRUSTED_TRIGGER_MARK);
		err = gm_error_new(GM_ERR_DB, "refusing to run migrations: trigger %.*s: it would run as this role"
				   " whenever a migration writes that table", marked_len(p), p);
		gm_error_advise(err, "REVOKE TRIGGER ON the table FROM the roles that are not its owner, then have the table's"
				     " owner or a superuser DROP TRIGGER (or ALTER TABLE ... DISABLE TRIGGER) if it is not"
				     " theirs (on a table another's foreign key action reaches: REVOKE REFERENCES, and drop the"
				     " key or its action); or, for a role you trust as you trust yourself, list it in the"
				     " project file's trusted_roles; nothing was applied by this transaction");
		return err;
	}
	if (!p)
		return NULL;
	p += strlen(UNTRUSTED_PATH_MARK);
	err = gm_error_new(GM_ERR_DB, "refusing to run migrations: their search path holds schema %.*s: functions and"
			   " operators planted there, or what replaces the migrations' own, would run as this role",
			   marked_len(p), p);
	gm_error_advise(err, "REVOKE CREATE ON SCHEMA ... FROM PUBLIC (PostgreSQL's own advice, and its default from 15"
			     " on), have a superuser take over a schema another role owns (ALTER SCHEMA ... OWNER TO), or"
			     " take the schema out of the role's search_path; nothing was applied by this transaction");
	return err;
}

struct gm_error *gm_db_query_pinned(struct gm_db *db, const char *sql, int nparams,
				   const char *const *params, const char *what, PGresult **res)
{
	int own = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	struct gm_error *err;

	if (res)
		*res = NULL;
	/* Every transaction the tool opens pins the safe path first and keeps
	 * it around user text (gm_script_begin, gm_script_section); outside
	 * one, the read gets a transaction of its own, so that the path and
	 * the query share one server connection through a pooler. */
	if (own && (err = gm_db_exec(db, GM_SQL_BEGIN "; " GM_SQL_PIN_PATH, what, NULL)))
		return err;
	err = gm_db_exec_params(db, sql, nparams, params, what, res);
	if (own)
		PQclear(PQexec(db->conn, "ROLLBACK"));	/* it only read */
	return err;
}

struct gm_error *gm_db_read_once_n(struct gm_db *db, const char *sql, int n, const char *what,
				   PGresult **res, int *failed_at)
{
	struct gm_error *err = NULL;
	PGresult *r, *failed = NULL;
	int k, bad = n;
	char *script;

	for (k = 0; k < n; k++)
		res[k] = NULL;
	if ((failed = gm_db_keep_lexing(db))) {
		if (failed_at)
			*failed_at = 0;
		err = gm_db_error(db, failed, GM_ERR_DB, what);
		PQclear(failed);
		return err;
	}
	/* Pinned and rolled back in the same string: one round trip, and
	 * through a pooler the path and the read share a server connection. */
	script = gm_xasprintf(GM_SQL_BEGIN "; " GM_SQL_PIN_PATH "; %s; ROLLBACK", sql);
	if (!PQsendQuery(db->conn, script)) {
		free(script);
		if (failed_at)
			*failed_at = 0;
		return gm_db_error(db, NULL, GM_ERR_DB, what);
	}
	free(script);
	/* BEGIN, the pin, the reads (results 2 to n + 1), ROLLBACK. */
	for (k = 0; (r = PQgetResult(db->conn)); k++) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK && k >= 2 && k < n + 2 && !failed)
			res[k - 2] = r;
		else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !failed) {
			failed = r;
			bad = k < 2 ? 0 : k - 2 < n ? k - 2 : n - 1;
		} else
			PQclear(r);
	}
	for (k = 0; k < n && !failed && bad == n; k++)
		if (!res[k])
			bad = k;
	if (failed || bad < n) {
		err = failed ? failure(db, failed, what) : gm_db_error(db, NULL, GM_ERR_DB, what);
		for (k = bad; k < n; k++) {
			PQclear(res[k]);
			res[k] = NULL;
		}
	}
	PQclear(failed);
	if (failed_at)
		*failed_at = bad;
	/* A failed read leaves its transaction open (aborted). */
	if (PQtransactionStatus(db->conn) == PQTRANS_INERROR || PQtransactionStatus(db->conn) == PQTRANS_INTRANS)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	return err;
}

struct gm_error *gm_db_read_once(struct gm_db *db, const char *sql, const char *what, PGresult **res)
{
	*res = NULL;
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return gm_db_exec(db, sql, what, res);
	return gm_db_read_once_n(db, sql, 1, what, res, NULL);	/* no rows on failure */
}
