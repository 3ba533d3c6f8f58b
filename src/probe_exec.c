/* probe_exec.c - how the isolation probe runs its statements: each alone,
 * in a savepoint, as the connecting user or as a role through a SECURITY
 * DEFINER wrapper that role owns (see gm_probe.h and probe.c). */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_probe.h"
#include "gm_verify.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* ---- running statements ---- */

static int transaction_open(PGconn *c)
{
	PGTransactionStatusType s = PQtransactionStatus(c);
	return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

/* The probe's own bookkeeping (savepoints): one statement, no data. */
void gm_probe_plain(struct gm_probe *p, const char *sql)
{
	PQclear(PQexecParams(p->db->conn, sql, 0, NULL, NULL, NULL, NULL, 0));
}

void gm_poutcome_release(struct gm_poutcome *o)
{
	free(o->value);
	free(o->sqlstate);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

/* wrapped: r is the wrapper's one row (value, affected). */
static void take_result(struct gm_probe *p, PGresult *r, int wrapped, struct gm_poutcome *o)
{
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		o->ok = 1;
		o->affected = strtol(PQcmdTuples(r), NULL, 10);
		if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			o->value = gm_xstrdup(PQgetvalue(r, 0, 0));
		if (wrapped && st == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) >= 2)
			o->affected = PQgetisnull(r, 0, 1) ? -1 : strtol(PQgetvalue(r, 0, 1), NULL, 10);
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		o->sqlstate = gm_xstrdup(state ? state : "");
		o->message = gm_xstrdup(msg ? msg : PQerrorMessage(p->db->conn));
	}
}

/* types: of the parameters, or NULL for the server to infer them. */
static void exec(struct gm_probe *p, struct gm_poutcome *o, const char *sql, int nparams,
		 const char *const *params, const Oid *types, int wrapped)
{
	PGresult *r;

	memset(o, 0, sizeof(*o));
	if (p->broken) {
		o->sqlstate = gm_xstrdup("");
		o->message = gm_xstrdup("the probe stopped");
		return;
	}
	/* PQexecParams runs exactly one statement: nothing in sql can add a
	 * second one (a COMMIT, a RESET ROLE). */
	gm_probe_plain(p, "SAVEPOINT gm_probe");
	r = PQexecParams(p->db->conn, sql, nparams, types, params, NULL, NULL, 0);
	take_result(p, r, wrapped, o);
	PQclear(r);
	if (!o->ok)
		gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe");
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe");
	/* Whatever ran must not have ended the transaction that keeps every
	 * change of the probe from lasting; if it did, stop. */
	if (!transaction_open(p->db->conn)) {
		p->broken = gm_error_new(GM_ERR_DB, "the isolation probe's transaction ended unexpectedly");
		gm_error_advise(p->broken, "check the database for a role named gm_probe_* and rows named gmp-*, and report this");
	}
}

void gm_probe_exec(struct gm_probe *p, struct gm_poutcome *o, const char *sql,
		   int nparams, const char *const *params)
{
	exec(p, o, sql, nparams, params, NULL, 0);
}

/* ---- acting as roles ---- */

/* A wrapper that runs one statement as the role that owns it.  SECURITY
 * DEFINER is the boundary: inside it the server refuses SET ROLE, RESET
 * ROLE and SET SESSION AUTHORIZATION, so a trigger or policy function of
 * the table cannot climb back to the connecting user's rights.  It is
 * created as the role (SET LOCAL ROLE around CREATE FUNCTION, no other
 * code runs meanwhile) in pg_temp, where no other session can reach it,
 * under a name no one can guess, and vanishes with the transaction.
 *
 * The role owns it, so code running as the role could replace it (and
 * have the connecting user call its own body): every call checks, in the
 * same statement and before calling it, that the function is still the
 * one made here (oid, and the xmin of its row, which any change replaces)
 * and calls it with typed arguments, so no overload can take its place.
 * Its SET clause runs the statement with the user's search path (the
 * application's) and pg_temp named last: left implicit, pg_temp would be
 * searched first for tables and types, and any role in this session may
 * create temporary tables there for an owner's trigger to find.  The call
 * statement sets the safe path, row security and
 * standard_conforming_strings again afterwards: a plain SET inside the
 * wrapper would otherwise outlive it.  What the wrapper runs is the
 * probe's own SQL, its operators named with their schema.
 *
 * Only the connecting user may call it (EXECUTE revoked from PUBLIC):
 * code running as another role in this session, a trigger of someone
 * else's table, can see pg_temp too and would otherwise call the
 * wrapper of a more privileged owner directly. */
static const char wrapper_sql[] =
	"CREATE FUNCTION pg_temp.%s(sql pg_catalog.text, returns_rows pg_catalog.bool)"
	" RETURNS pg_catalog.text[]"
	" LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $gm$DECLARE value pg_catalog.text;"
	" affected pg_catalog.int8; BEGIN"
	" IF returns_rows THEN EXECUTE sql INTO value; ELSE EXECUTE sql; END IF;"
	" GET DIAGNOSTICS affected = ROW_COUNT;"
	" RETURN ARRAY[value, affected::pg_catalog.text]; END$gm$";

/* Run as the wrapper's owner, right after it is made. */
static const char wrapper_acl_sql[] =
	"REVOKE ALL ON FUNCTION pg_temp.%s(pg_catalog.text, pg_catalog.bool) FROM PUBLIC";
static const char wrapper_grant_sql[] =
	"GRANT EXECUTE ON FUNCTION pg_temp.%s(pg_catalog.text, pg_catalog.bool) TO SESSION_USER";

/* The wrapper's path, captured by SET search_path FROM CURRENT. */
static const char wrapper_path_sql[] =
	"SELECT pg_catalog.set_config('search_path', $1::pg_catalog.text, true)";

/* (value, affected); both NULL when the function was changed. */
static const char call_sql[] =
	"SELECT r[1], r[2],"
	" pg_catalog.set_config('search_path', '" GM_DB_SAFE_PATH "', true),"
	" pg_catalog.set_config('row_security', 'on', true),"
	" pg_catalog.set_config('standard_conforming_strings', 'on', true)"
	" FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc f"
	"  WHERE f.oid OPERATOR(pg_catalog.=) $3::pg_catalog.oid AND f.xmin OPERATOR(pg_catalog.=) $4::pg_catalog.xid"
	"  AND f.prosecdef) THEN pg_temp.%s($1::pg_catalog.text, $2::pg_catalog.bool) END AS r OFFSET 0) s";

static char *random_name(void)
{
	unsigned char b[8];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	return gm_xasprintf("gm_probe_as_%02x%02x%02x%02x%02x%02x%02x%02x",
			    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

/* As role r, runs each statement (a format taking the wrapper's name)
 * while the last one succeeded; the message of the first failure, or
 * NULL. */
static char *wrapper_steps(struct gm_probe *p, struct gm_prole *r, const char *const *steps, size_t n)
{
	const char *user = p->db->search_path ? p->db->search_path : "";
	char *path = gm_xasprintf("%s%spg_temp", user, *user ? ", " : "");
	char *role = gm_xasprintf("SET LOCAL ROLE %s", r->q);
	struct gm_poutcome o;
	char *why = NULL;

	gm_probe_exec(p, &o, role, 0, NULL);
	free(role);
	if (!o.ok)
		why = gm_xstrdup(o.message);
	gm_poutcome_release(&o);
	for (size_t k = 0; k < n && !why; k++) {
		char *sql = gm_xasprintf(steps[k], r->fn);
		const char *params[1] = { path };
		int with_path = steps[k] == wrapper_path_sql;

		gm_probe_exec(p, &o, sql, with_path, with_path ? params : NULL);
		free(sql);
		if (!o.ok)
			why = gm_xstrdup(o.message);
		gm_poutcome_release(&o);
	}
	free(path);
	return why;
}

/* Event triggers fire on the probe's own GRANTs and CREATE FUNCTIONs,
 * as whoever runs them: the superuser, or the owner a wrapper is made
 * as, whatever the trigger's function calls.  Held, for a superuser (no
 * one else may): from PostgreSQL 17 on by event_triggers = off, which
 * holds them all; before, by the session replication role replica, which
 * holds those made ENABLE (the default) but not ENABLE ALWAYS, and fires
 * those made ENABLE REPLICA.  The setting as it was is returned
 * (allocated), for gm_probe_release_event_triggers, or NULL when there is
 * nothing to release (not a superuser, or held already: holds nest). */
static const char *event_trigger_setting(const struct gm_probe *p)
{
	return p->db->server_version >= 170000 ? "event_triggers" : "session_replication_role";
}

char *gm_probe_hold_event_triggers(struct gm_probe *p)
{
	const char *params[2] = { event_trigger_setting(p), NULL };
	struct gm_poutcome o;
	char *was = NULL;

	if (!p->super || p->holding)
		return NULL;
	p->holding = 1;
	gm_probe_exec(p, &o, "SELECT pg_catalog.current_setting($1::pg_catalog.text)", 1, params);
	if (o.ok && o.value)
		was = gm_xstrdup(o.value);
	gm_poutcome_release(&o);
	params[1] = p->db->server_version >= 170000 ? "off" : "replica";
	gm_probe_exec(p, &o, "SELECT pg_catalog.set_config($1::pg_catalog.text, $2::pg_catalog.text, true)", 2, params);
	gm_poutcome_release(&o);
	return was ? was : gm_xstrdup(p->db->server_version >= 170000 ? "on" : "origin");
}

void gm_probe_release_event_triggers(struct gm_probe *p, char *was)
{
	const char *params[2] = { event_trigger_setting(p), was };
	struct gm_poutcome o;

	if (!was)
		return;
	p->holding = 0;
	gm_probe_exec(p, &o, "SELECT pg_catalog.set_config($1::pg_catalog.text, $2::pg_catalog.text, true)", 2, params);
	gm_poutcome_release(&o);
	free(was);
}

/* Makes r's wrapper and notes what it is. */
static void make_wrapper(struct gm_probe *p, struct gm_prole *r)
{
	struct gm_poutcome o;
	const char *const steps[] = { wrapper_path_sql, wrapper_sql, GM_SQL_PIN_PATH,
				      wrapper_acl_sql, wrapper_grant_sql };
	char *sig = NULL, *why, *held;

	r->fn = random_name();
	held = gm_probe_hold_event_triggers(p);
	why = wrapper_steps(p, r, steps, sizeof(steps) / sizeof(*steps));
	if (why)
		r->why = gm_xasprintf("cannot act as role %s: %s", r->q, why);
	free(why);
	gm_probe_exec(p, &o, "RESET ROLE", 0, NULL);
	gm_poutcome_release(&o);
	gm_probe_exec(p, &o, GM_SQL_PIN_PATH, 0, NULL);
	gm_poutcome_release(&o);
	gm_probe_release_event_triggers(p, held);
	if (!r->why) {
		sig = gm_xasprintf("pg_temp.%s(pg_catalog.text,pg_catalog.bool)", r->fn);
		gm_probe_exec(p, &o, "SELECT pg_catalog.concat(f.oid, ' ', f.xmin) FROM pg_catalog.pg_proc f"
				     " WHERE f.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure($1) AND f.prosecdef",
			      1, (const char *const[]){ sig });
		if (o.ok && o.value && strchr(o.value, ' ')) {
			r->oid = gm_xstrndup(o.value, (size_t)(strchr(o.value, ' ') - o.value));
			r->xmin = gm_xstrdup(strchr(o.value, ' ') + 1);
		} else {
			r->why = gm_xasprintf("cannot find the probe's function for role %s", r->q);
		}
		gm_poutcome_release(&o);
		free(sig);
	}
	if (r->why) {
		free(r->fn);
		r->fn = NULL;
	}
}

/* qrole is quoted through libpq. */
struct gm_prole *gm_probe_role_add(struct gm_probe *p, const char *qrole)
{
	struct gm_prole *r;

	for (size_t k = 0; k < p->nroles; k++)
		if (!strcmp(p->roles[k]->q, qrole))
			return p->roles[k];
	r = gm_xcalloc(1, sizeof(*r));
	r->q = gm_xstrdup(qrole);
	p->roles = gm_xrealloc(p->roles, (p->nroles + 1) * sizeof(*p->roles));
	p->roles[p->nroles++] = r;
	make_wrapper(p, r);
	return r;
}

void gm_probe_exec_as(struct gm_probe *p, struct gm_prole *role, const char *sql, int returns_rows,
		      struct gm_poutcome *o)
{
	const char *params[4] = { sql, returns_rows ? "true" : "false", role->oid, role->xmin };
	char *call;

	if (!role->fn) {
		memset(o, 0, sizeof(*o));
		o->sqlstate = gm_xstrdup("");
		o->message = gm_xstrdup(role->why);
		return;
	}
	call = gm_xasprintf(call_sql, role->fn);
	exec(p, o, call, 4, params, NULL, 1);
	free(call);
	if (o->ok && !p->broken && o->affected < 0) {
		/* The check failed: code the probe ran replaced its function. */
		p->broken = gm_error_new(GM_ERR_DB, "the isolation probe stopped: code it ran as role %s changed"
					 " the probe's own function (an attempt to run as the connecting user)", role->q);
		gm_error_advise(p->broken, "look at the triggers, defaults and policy functions of the tables that role owns;"
					   " nothing the probe did was kept");
	}
}

struct gm_prole *gm_probe_maker(struct gm_probe *p, const struct gm_ptable *t)
{
	struct gm_prole *owner;

	if (p->maker && t->owner_bypasses)
		return p->maker;
	if (!t->can_become_owner)
		return p->roles[0];
	owner = gm_probe_role_add(p, t->qowner);
	return owner->fn ? owner : p->roles[0];
}

int gm_probe_maker_bypasses(struct gm_probe *p, const struct gm_ptable *t)
{
	const struct gm_prole *maker = gm_probe_maker(p, t);

	if (!t->rls || maker == p->maker)
		return 1;	/* the maker role has BYPASSRLS */
	return maker != p->roles[0] && (t->owner_bypasses || !t->force);
}

/* As an application does, with the tenancy's statement ($1: the tenant,
 * '' for an empty context).  It is the project's own SQL, run by the
 * connecting user on the safe path; if it fails, no check means anything. */
void gm_probe_set_tenant(struct gm_probe *p, int tenant)
{
	const char *params[1] = { tenant >= 0 ? p->org[tenant] : "" };
	struct gm_poutcome o;

	/* $1 is text, so json_build_object('sub', $1) and the like need no
	 * cast in the project file. */
	static const Oid text[1] = { 25 };

	if (tenant < -1)
		return;
	exec(p, &o, p->tenancy->set_tenant, 1, params, text, 0);
	if (!o.ok && !p->broken) {
		p->broken = gm_error_new(GM_ERR_INPUT, "the probe cannot set a tenant with %s: %s",
					 p->tenancy->set_tenant, o.message);
		gm_error_advise(p->broken, "fix tenancy.set_tenant in the project file: one statement taking the"
					   " tenant as $1, such as SELECT set_config('app.current_org_id', $1, true)");
	}
	gm_poutcome_release(&o);
}
