/* probe.c - verify --isolation: prove tenant isolation by acting as a
 * tenant (see gm_probe.h).
 *
 * Reading policy text cannot prove isolation; acting as a tenant can.  In
 * one transaction that always ends in ROLLBACK (roles, grants, rows and
 * settings included, whatever happens), the probe:
 *   1. takes a role subject to RLS: a temporary one (NOLOGIN, no
 *      BYPASSRLS) with the privileges an application has, a temporary
 *      member of --app-role, or --as-role;
 *   2. creates two tenants, A and B, with rows in every tenant table
 *      (probe_fixtures.c);
 *   3. as tenant B (app.current_org_id set per transaction, as applications
 *      must) checks every command on every tenant table against A's rows;
 *   4. checks that an empty and an unset tenant show nothing private and
 *      raise no error;
 *   5. checks, as the tables' owners, that A's rows are byte for byte as
 *      they were.
 * Every check is passed, failed or skipped (it could not be run, and says
 * why); skipped is never reported as passed. */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_probe.h"
#include "gm_verify.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Both a row-level security refusal and a missing privilege. */
#define SQLSTATE_PRIVILEGE "42501"

const char *gm_probe_state_name(enum gm_probe_state s)
{
	static const char *const names[] = { "passed", "failed", "skipped" };
	return (unsigned)s < 3 ? names[s] : "unknown";
}

/* ---- running statements ---- */

static int transaction_open(PGconn *c)
{
	PGTransactionStatusType s = PQtransactionStatus(c);
	return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

/* The probe's own bookkeeping (savepoints): one statement, no data. */
static void plain(struct gm_probe *p, const char *sql)
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
	plain(p, "SAVEPOINT gm_probe");
	r = PQexecParams(p->db->conn, sql, nparams, types, params, NULL, NULL, 0);
	take_result(p, r, wrapped, o);
	PQclear(r);
	if (!o->ok)
		plain(p, "ROLLBACK TO SAVEPOINT gm_probe");
	plain(p, "RELEASE SAVEPOINT gm_probe");
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

		gm_probe_exec(p, &o, sql, steps[k] == wrapper_path_sql ? 1 : 0,
			      steps[k] == wrapper_path_sql ? (const char *const[]){ path } : NULL);
		free(sql);
		if (!o.ok)
			why = gm_xstrdup(o.message);
		gm_poutcome_release(&o);
	}
	free(path);
	return why;
}

/* Makes r's wrapper and notes what it is. */
static void make_wrapper(struct gm_probe *p, struct gm_prole *r)
{
	struct gm_poutcome o;
	const char *const steps[] = { wrapper_path_sql, wrapper_sql, GM_SQL_PIN_PATH,
				      wrapper_acl_sql, wrapper_grant_sql };
	char *sig = NULL, *why;

	r->fn = random_name();
	why = wrapper_steps(p, r, steps, sizeof(steps) / sizeof(*steps));
	if (why)
		r->why = gm_xasprintf("cannot act as role %s: %s", r->q, why);
	free(why);
	gm_probe_exec(p, &o, "RESET ROLE", 0, NULL);
	gm_poutcome_release(&o);
	gm_probe_exec(p, &o, GM_SQL_PIN_PATH, 0, NULL);
	gm_poutcome_release(&o);
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
static struct gm_prole *role_add(struct gm_probe *p, const char *qrole)
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

	if (!t->can_become_owner)
		return p->roles[0];
	owner = role_add(p, t->qowner);
	return owner->fn ? owner : p->roles[0];
}

int gm_probe_maker_bypasses(struct gm_probe *p, const struct gm_ptable *t)
{
	if (!t->rls)
		return 1;
	return gm_probe_maker(p, t) != p->roles[0] && (t->owner_bypasses || !t->force);
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

/* ---- reporting ---- */

struct gm_probe_check *gm_probe_add_check(struct gm_probe *p, const char *table, const char *cmd,
					enum gm_probe_state state, const char *expectation, const char *result)
{
	struct gm_verify_result *res = p->res;
	struct gm_probe_check *c;

	res->probe = gm_xrealloc(res->probe, (res->nprobe + 1) * sizeof(*res->probe));
	c = &res->probe[res->nprobe++];
	c->table = gm_xstrdup(table);
	c->command = gm_xstrdup(cmd);
	c->expectation = gm_xstrdup(expectation);
	c->state = state;
	c->result = gm_xstrdup(result);
	return c;
}

/* Records a check of a tenant table.  A failed check is a finding:
 * "isolation_breach" when a tenant reached what it must not,
 * "isolation_denied" when it was kept from what it must reach (its own
 * rows, shared rows). */
static void check(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, int ok,
		  const char *expectation, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void check(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, int ok,
		  const char *expectation, const char *fmt, ...)
{
	int denied = strstr(expectation, " can ") != NULL;
	struct gm_strbuf msg = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	gm_probe_add_check(p, t ? t->name : "-", cmd, ok ? GM_PROBE_PASSED : GM_PROBE_FAILED, expectation, msg.buf);
	if (!ok) {
		char *obj = gm_xasprintf("table %s", t ? t->name : "-");
		char *fix = denied ? gm_xstrdup("widen the table's policy for that command: tenants must reach their own and shared rows")
				   : gm_xasprintf("bind the table's policy for that command to %s, then verify --isolation again",
						  p->tenancy->expression);
		gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, denied ? "isolation_denied" : "isolation_breach",
			GM_LEVEL_ERROR, obj, fix, "%s: %s, but %s", cmd, expectation, msg.buf);
		free(fix);
		free(obj);
	}
	gm_strbuf_release(&msg);
}

static void skip(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *expectation,
		 const char *why)
{
	gm_probe_add_check(p, t ? t->name : "-", cmd, GM_PROBE_SKIPPED, expectation, why);
}

/* A table the probe cannot exercise: its four commands are skipped, and
 * the warning (which fails --strict) says why. */
static void skip_table(struct gm_probe *p, const struct gm_ptable *t, const char *why, const char *remedy)
{
	static const char *const cmds[] = { "SELECT", "INSERT", "UPDATE", "DELETE" };
	char *obj = gm_xasprintf("table %s", t->name);

	for (size_t k = 0; k < 4; k++)
		skip(p, t, cmds[k], "tenant B cannot reach tenant A's rows", why);
	gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_skipped", GM_LEVEL_WARNING, obj, remedy,
			"the probe could not exercise it: %s", why);
	free(obj);
}

/* ---- the checks ----
 *
 * In the SQL below every %s is a name quoted through libpq when the
 * catalog was read (t->q, a column's q) or a value quoted through libpq
 * against this connection (id_list, a, b). */

#define EQ " OPERATOR(pg_catalog.=) "

/* A condition matching the rows with these primary keys (NULLs skipped):
 * (pk = 'id1' OR pk = 'id2'), values quoted, the operator named with its
 * schema (the wrappers run with the user's search path). */
static char *id_list(struct gm_probe *p, const struct gm_ptable *t, const char *a, const char *b, const char *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *v[3] = { a, b, c };

	gm_strbuf_addch(&sb, '(');
	for (int k = 0; k < 3; k++)
		if (v[k]) {
			char *lit = gm_db_quote_literal(p->db, v[k]);
			gm_strbuf_addf(&sb, "%s%s" EQ "%s", sb.len > 1 ? " OR " : "", t->cols[t->pk].q, lit);
			free(lit);
		}
	gm_strbuf_adds(&sb, sb.len > 1 ? ")" : "false)");
	return gm_strbuf_detach(&sb, NULL);
}

static const char *pkq(const struct gm_ptable *t)
{
	return t->cols[t->pk].q;
}

/* "col = col" for an UPDATE that changes nothing: the primary key, unless
 * it cannot be written (an identity column), then the first column that
 * can.  Kept in the table (t->noop) for the checks that need it. */
static const char *noop_set(const struct gm_ptable *t)
{
	return t->noop;
}

/* Runs sql as the acting role (tenant B, or none). */
static void as_tenant(struct gm_probe *p, const char *sql, int returns_rows, struct gm_poutcome *o)
{
	gm_probe_exec_as(p, p->roles[0], sql, returns_rows, o);
}

static void expect_count(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *ids,
			 long want, const char *expectation)
{
	struct gm_poutcome o;
	char *sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s", t->q, ids);

	as_tenant(p, sql, 1, &o);
	if (!o.ok)
		check(p, t, cmd, 0, expectation, "the query failed: %s", o.message);
	else if (strtol(o.value ? o.value : "-1", NULL, 10) != want)
		check(p, t, cmd, 0, expectation, "%s row%s visible", o.value ? o.value : "no",
		      o.value && !strcmp(o.value, "1") ? " was" : "s were");
	else
		check(p, t, cmd, 1, expectation, "%ld visible", want);
	gm_poutcome_release(&o);
	free(sql);
}

/* How a refusal is told: RLS, or a missing privilege (same SQLSTATE). */
static const char *refusal(const struct gm_poutcome *o)
{
	return strstr(o->message, "row-level security") ? "refused by row level security" : o->message;
}

/* A write that must touch nothing: refused (42501) or zero rows. */
static void expect_no_write(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *sql,
			    const char *expectation)
{
	struct gm_poutcome o;

	as_tenant(p, sql, 0, &o);
	if (o.ok && o.affected == 0)
		check(p, t, cmd, 1, expectation, "0 rows affected");
	else if (o.ok)
		check(p, t, cmd, 0, expectation, "%ld row%s affected", o.affected, o.affected == 1 ? " was" : "s were");
	else if (!strcmp(o.sqlstate, SQLSTATE_PRIVILEGE))
		check(p, t, cmd, 1, expectation, "%s", refusal(&o));
	else
		check(p, t, cmd, 0, expectation, "it failed in another way, so it cannot be told: %s", o.message);
	gm_poutcome_release(&o);
}

/* A write that must be refused by RLS. */
static void expect_refused(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *sql,
			   const char *expectation)
{
	struct gm_poutcome o;

	as_tenant(p, sql, 0, &o);
	if (!o.ok && !strcmp(o.sqlstate, SQLSTATE_PRIVILEGE))
		check(p, t, cmd, 1, expectation, "%s", refusal(&o));
	else if (o.ok && o.affected == 0)
		check(p, t, cmd, 1, expectation, "0 rows affected");
	else if (o.ok)
		check(p, t, cmd, 0, expectation, "%ld row%s written", o.affected, o.affected == 1 ? " was" : "s were");
	else
		check(p, t, cmd, 0, expectation, "it failed in another way, so it cannot be told: %s", o.message);
	gm_poutcome_release(&o);
}

/* B's own write succeeds, and is undone (B deleting its own row must not
 * break the checks of the tables below it). */
static void expect_own_write(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *sql,
			     const char *expectation)
{
	struct gm_poutcome o;

	plain(p, "SAVEPOINT gm_probe_undo");
	as_tenant(p, sql, 0, &o);
	plain(p, "ROLLBACK TO SAVEPOINT gm_probe_undo");
	plain(p, "RELEASE SAVEPOINT gm_probe_undo");
	if (o.ok && o.affected == 1)
		check(p, t, cmd, 1, expectation, "1 row affected");
	else
		check(p, t, cmd, 0, expectation, "%s", o.ok ? "no row was affected" : o.message);
	gm_poutcome_release(&o);
}

/* The column tying a row to its tenant: the tenant column, or the foreign
 * key to a tenant table. */
static const struct gm_pcol *tenant_key(const struct gm_probe *p, const struct gm_ptable *t)
{
	if (t->org >= 0)
		return &t->cols[t->org];
	for (size_t k = 0; k < t->ncols; k++) {
		const struct gm_pcol *c = &t->cols[k];
		if (c->ref >= 0 && c->ref_pk && p->t.v[c->ref].tenant && p->t.v[c->ref].row[0])
			return c;
	}
	return NULL;
}

/* The value that would make a row tenant A's. */
static const char *a_value(const struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key)
{
	return t->org >= 0 ? p->org[0] : p->t.v[key->ref].row[0];
}

/* A copy of B's own row, made tenant A's: every insertable column copied,
 * the tenant key set to A's, a new primary key unless it has a default. */
static char *copy_row_sql(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key, char **why)
{
	struct gm_strbuf cols = GM_STRBUF_INIT, exprs = GM_STRBUF_INIT;
	char *a = gm_db_quote_literal(p->db, a_value(p, t, key)), *b = gm_db_quote_literal(p->db, t->row[1]);
	char *sql = NULL;

	for (size_t k = 0; k < t->ncols; k++) {
		const struct gm_pcol *c = &t->cols[k];
		char *v = NULL;
		if (!c->insertable || ((int)k == t->pk && c->has_default))
			continue;
		if ((int)k == t->pk && !(v = gm_probe_new_value(p, c, 1))) {
			*why = gm_xasprintf("no new value for its primary key of type %s", c->type);
			goto done;
		}
		gm_strbuf_addf(&cols, "%s%s", cols.len ? ", " : "", c->q);
		if (v) {
			char *lit = gm_db_quote_literal(p->db, v);
			gm_strbuf_addf(&exprs, "%s%s", exprs.len ? ", " : "", lit);
			free(lit);
			free(v);
		} else {
			gm_strbuf_addf(&exprs, "%s%s", exprs.len ? ", " : "", c == key ? a : c->q);
		}
	}
	sql = gm_xasprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s" EQ "%s", t->q, cols.buf, exprs.buf,
			   t->q, pkq(t), b);
done:
	gm_strbuf_release(&cols);
	gm_strbuf_release(&exprs);
	free(a);
	free(b);
	return sql;
}

static void check_reads(struct gm_probe *p, const struct gm_ptable *t)
{
	char *ids = id_list(p, t, t->row[0], NULL, NULL);
	long shared = (t->pub != NULL) + (t->sys != NULL);

	expect_count(p, t, "SELECT", ids, 0, "tenant B cannot read tenant A's private rows");
	free(ids);
	if (shared) {
		ids = id_list(p, t, t->pub, t->sys, NULL);
		expect_count(p, t, "SELECT", ids, shared, "tenant B can read shared (public, system) rows");
		free(ids);
	}
	if (t->has_system && !t->sys)
		skip(p, t, "SELECT", "tenant B can read system rows", t->sys_skip ? t->sys_skip : "no system row");
	ids = id_list(p, t, t->row[1], NULL, NULL);
	expect_count(p, t, "SELECT", ids, 1, "tenant B can read its own rows");
	free(ids);
}

static void check_writes_on_a(struct gm_probe *p, const struct gm_ptable *t)
{
	char *a_all = id_list(p, t, t->row[0], t->pub, t->sys), *sql;
	int shared = t->pub || t->sys;

	const char *upd = shared ? "tenant B cannot update tenant A's rows, public and system ones included"
				 : "tenant B cannot update tenant A's rows";

	if (noop_set(t)) {
		sql = gm_xasprintf("UPDATE %s SET %s WHERE %s", t->q, noop_set(t), a_all);
		expect_no_write(p, t, "UPDATE", sql, upd);
		free(sql);
	} else {
		skip(p, t, "UPDATE", upd, "no column an UPDATE can set");
	}
	sql = gm_xasprintf("DELETE FROM %s WHERE %s", t->q, a_all);
	expect_no_write(p, t, "DELETE", sql, shared ? "tenant B cannot delete tenant A's rows, public and system ones included"
						    : "tenant B cannot delete tenant A's rows");
	free(sql);
	free(a_all);
}

static void check_inserts_for_a(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key)
{
	char *exp, *sql, *why = NULL;

	if (!key) {
		skip(p, t, "INSERT", "tenant B cannot insert rows for tenant A", "no tenant key column");
		return;
	}
	exp = t->org >= 0 ? gm_xstrdup("tenant B cannot insert rows for tenant A")
			  : gm_xasprintf("tenant B cannot insert rows under tenant A's %s", p->t.v[key->ref].name);
	if ((sql = copy_row_sql(p, t, key, &why)))
		expect_refused(p, t, "INSERT", sql, exp);
	else
		skip(p, t, "INSERT", exp, why);
	free(sql);
	free(why);
	free(exp);
}

static void check_own_rows(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key)
{
	char *b = gm_db_quote_literal(p->db, t->row[1]), *sql;

	if (key) {
		char *a = gm_db_quote_literal(p->db, a_value(p, t, key));
		sql = gm_xasprintf("UPDATE %s SET %s = %s WHERE %s" EQ "%s", t->q, key->q, a, pkq(t), b);
		expect_refused(p, t, "UPDATE", sql, "tenant B cannot move its own rows to tenant A");
		free(sql);
		free(a);
	}
	if (noop_set(t)) {
		sql = gm_xasprintf("UPDATE %s SET %s WHERE %s" EQ "%s", t->q, noop_set(t), pkq(t), b);
		expect_own_write(p, t, "UPDATE", sql, "tenant B can update its own rows");
		free(sql);
	} else {
		skip(p, t, "UPDATE", "tenant B can update its own rows", "no column an UPDATE can set");
	}
	sql = gm_xasprintf("DELETE FROM %s WHERE %s" EQ "%s", t->q, pkq(t), b);
	expect_own_write(p, t, "DELETE", sql, "tenant B can delete its own rows");
	free(sql);
	free(b);
}

/* An UPDATE or DELETE without WHERE reads no column, so no SELECT policy
 * narrows it: it reaches exactly what the UPDATE or DELETE policy lets B
 * reach.  B owns one row of the table; one more is another tenant's.  On a
 * table in use it is bounded in time (and undone): a policy that lets B
 * reach every row shows as a timeout. */
/* One blind write as tenant B, undone, bounded in time. */
static void blind_write(struct gm_probe *p, const char *sql, struct gm_poutcome *o)
{
	plain(p, "SAVEPOINT gm_probe_undo");
	gm_probe_exec(p, o, "SELECT pg_catalog.set_config('statement_timeout', '5s', true),"
			    " pg_catalog.set_config('lock_timeout', '2s', true)", 0, NULL);
	gm_poutcome_release(o);
	as_tenant(p, sql, 0, o);
	plain(p, "ROLLBACK TO SAVEPOINT gm_probe_undo");
	plain(p, "RELEASE SAVEPOINT gm_probe_undo");
}

/* A column a blind UPDATE can set without reading the row (SET c =
 * DEFAULT: an UPDATE that reads the row, SET c = c included, is filtered
 * by the SELECT policies too, and no longer blind) or touching the tenant
 * key: not the key, not the primary key, writable, nullable or with a
 * default.  NULL when there is none. */
static const struct gm_pcol *blind_column(const struct gm_ptable *t, const struct gm_pcol *key)
{
	for (size_t j = 0; j < t->ncols; j++) {
		const struct gm_pcol *c = &t->cols[j];
		if (c != key && (int)j != t->pk && c->insertable && (!c->not_null || c->has_default))
			return c;
	}
	return NULL;
}

/* The blind UPDATE moving every reachable row to B failed otherwise than
 * by a refusal: a trigger keeping the tenant key unchanged, say, which
 * fires only on rows the UPDATE reached, A's among them perhaps.  A blind
 * UPDATE leaving the key alone tells: B's own row passes any WITH CHECK
 * bound to B; a refusal now (B may update, the first try showed) is a
 * WITH CHECK on another tenant's row, which the UPDATE reached. */
static void expect_blind_keep_key(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *col,
				  const char *expectation, const struct gm_poutcome *first)
{
	struct gm_poutcome o;
	char *sql = gm_xasprintf("UPDATE %s SET %s = DEFAULT", t->q, col->q);

	blind_write(p, sql, &o);
	free(sql);
	if (o.ok && o.affected <= 1)
		check(p, t, "UPDATE", 1, expectation, "%ld row%s affected by one leaving the tenant key alone: %s",
		      o.affected, o.affected == 1 ? "" : "s", o.affected == 1 ? "its own" : "none");
	else if (o.ok)
		check(p, t, "UPDATE", 0, expectation, "%ld rows were affected, 1 of them is its own", o.affected);
	else if (!strcmp(o.sqlstate, SQLSTATE_PRIVILEGE))
		check(p, t, "UPDATE", 0, expectation, "it reached another tenant's row, refused only by its"
		      " WITH CHECK: %s", o.message);
	else
		skip(p, t, "UPDATE", expectation, first->message);
	gm_poutcome_release(&o);
}

/* key: the tenant key a blind UPDATE sets, NULL for a DELETE. */
static void expect_blind(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *sql,
			 const struct gm_pcol *key, const char *expectation)
{
	struct gm_poutcome o;
	const struct gm_pcol *other = key ? blind_column(t, key) : NULL;

	blind_write(p, sql, &o);
	if (o.ok && o.affected <= 1)
		check(p, t, cmd, 1, expectation, "%ld row%s affected: %s", o.affected, o.affected == 1 ? "" : "s",
		      o.affected == 1 ? "its own" : "none");
	else if (o.ok)
		check(p, t, cmd, 0, expectation, "%ld rows were affected, 1 of them is its own", o.affected);
	else if (!strcmp(o.sqlstate, "57014"))
		check(p, t, cmd, 0, expectation, "it ran into a 5 s statement timeout: it reaches far more rows than its own");
	else if (!strcmp(o.sqlstate, SQLSTATE_PRIVILEGE))
		check(p, t, cmd, 1, expectation, "%s", refusal(&o));
	else if (other)
		expect_blind_keep_key(p, t, other, expectation, &o);
	else
		skip(p, t, cmd, expectation, o.message);
	gm_poutcome_release(&o);
}

static void check_blind_writes(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key)
{
	const char *upd = "tenant B's UPDATE without WHERE reaches only its own rows";
	char *sql, *b;

	if (key) {
		b = gm_db_quote_literal(p->db, t->org >= 0 ? p->org[1] : p->t.v[key->ref].row[1]);
		sql = gm_xasprintf("UPDATE %s SET %s = %s", t->q, key->q, b);
		expect_blind(p, t, "UPDATE", sql, key, upd);
		free(sql);
		free(b);
	} else {
		skip(p, t, "UPDATE", upd, "no tenant key column");
	}
	sql = gm_xasprintf("DELETE FROM %s", t->q);
	expect_blind(p, t, "DELETE", sql, NULL, "tenant B's DELETE without WHERE reaches only its own rows");
	free(sql);
}

static void check_table_as_b(struct gm_probe *p, const struct gm_ptable *t)
{
	const struct gm_pcol *key = tenant_key(p, t);

	gm_probe_set_tenant(p, 1);
	check_reads(p, t);
	check_writes_on_a(p, t);
	check_blind_writes(p, t, key);
	check_inserts_for_a(p, t, key);
	check_own_rows(p, t, key);
}

static int probed(const struct gm_ptable *t)
{
	return t->tenant && !t->partition && !t->skip;
}

/* With tenant '' (-1) or none at all (-2): nothing private, no error. */
static void check_without_tenant(struct gm_probe *p, int how)
{
	const char *what = how == -1 ? "an empty tenant context" : "no tenant context";

	gm_probe_set_tenant(p, how);
	for (size_t k = 0; k < p->t.n; k++) {
		const struct gm_ptable *t = &p->t.v[k];
		struct gm_poutcome o;
		char *exp, *ids, *sql;

		if (!probed(t))
			continue;
		exp = gm_xasprintf("%s shows no private row and raises no error", what);
		ids = id_list(p, t, t->row[0], t->row[1], NULL);
		sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s", t->q, ids);
		as_tenant(p, sql, 1, &o);
		if (!o.ok)
			check(p, t, "SELECT", 0, exp, "it raised an error: %s", o.message);
		else if (!o.value || strcmp(o.value, "0"))
			check(p, t, "SELECT", 0, exp, "%s private rows were visible", o.value ? o.value : "some");
		else
			check(p, t, "SELECT", 1, exp, "0 visible");
		gm_poutcome_release(&o);
		free(sql);
		free(ids);
		free(exp);
	}
}

/* Before any fixture exists (when fixtures need a tenant setting, which
 * cannot be unset again in the session): an unset tenant must not make
 * queries fail. */
static void check_unset_before_fixtures(struct gm_probe *p)
{
	for (size_t k = 0; k < p->t.n; k++) {
		const struct gm_ptable *t = &p->t.v[k];
		struct gm_poutcome o;
		char *sql;

		if (!t->tenant || t->partition)
			continue;
		sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM %s", t->q);
		as_tenant(p, sql, 1, &o);
		check(p, t, "SELECT", o.ok, "no tenant context raises no error", "%s", o.ok ? "no error" : o.message);
		gm_poutcome_release(&o);
		free(sql);
	}
}

/* A's rows as their maker sees them, as one value. */
static char *digest(struct gm_probe *p, const struct gm_ptable *t)
{
	struct gm_poutcome o;
	char *ids = id_list(p, t, t->row[0], t->pub, t->sys), *sql, *d;

	if (!gm_probe_maker_bypasses(p, t))
		gm_probe_set_tenant(p, 0);
	sql = gm_xasprintf("SELECT pg_catalog.concat(pg_catalog.md5(coalesce(pg_catalog.string_agg("
			   "pg_catalog.row_to_json(gm_row.*)::pg_catalog.text, '|' ORDER BY"
			   " pg_catalog.row_to_json(gm_row.*)::pg_catalog.text), '')), ':', pg_catalog.count(*))"
			   " FROM %s gm_row WHERE %s", t->q, ids);
	gm_probe_exec_as(p, gm_probe_maker(p, t), sql, 1, &o);
	d = o.ok && o.value ? gm_xstrdup(o.value) : gm_xstrdup(o.message ? o.message : "?");
	gm_poutcome_release(&o);
	free(sql);
	free(ids);
	return d;
}

/* ---- the application role ---- */

static void role_check(struct gm_probe *p, const char *table, int ok, const char *expectation,
		       const char *remedy, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void role_check(struct gm_probe *p, const char *table, int ok, const char *expectation,
		       const char *remedy, const char *fmt, ...)
{
	struct gm_strbuf msg = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	gm_probe_add_check(p, table, table[0] == '-' ? "ROLE" : "ALL", ok ? GM_PROBE_PASSED : GM_PROBE_FAILED,
		  expectation, msg.buf);
	if (!ok) {
		char *obj = table[0] == '-' ? gm_xstrdup("role") : gm_xasprintf("table %s", table);
		gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_role", GM_LEVEL_ERROR, obj, remedy,
				"%s, but %s", expectation, msg.buf);
		free(obj);
	}
	gm_strbuf_release(&msg);
}

/* Superuser and BYPASSRLS are not inherited, but a member can SET ROLE
 * to such a role: membership counts as having it. */
static const char bypass_sql[] =
	"SELECT r.rolname, CASE WHEN r.rolsuper THEN 'superuser' WHEN r.rolbypassrls THEN 'BYPASSRLS'"
	" WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'server' END"
	" FROM pg_catalog.pg_roles r"
	" WHERE (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolname OPERATOR(pg_catalog.=) ANY"
	"  ('{pg_execute_server_program,pg_write_server_files,pg_read_server_files}'::pg_catalog.name[]))"
	" AND pg_catalog.pg_has_role($1::pg_catalog.name, r.oid, 'MEMBER')"
	" ORDER BY r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name DESC, r.rolsuper DESC, r.rolbypassrls DESC,"
	" r.rolname LIMIT 1";

/* The owner, or any member of the owner, bypasses policies the table does
 * not force, and can stop forcing them (ALTER TABLE) when it does. */
static const char owners_sql[] =
	"SELECT c.oid, o.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name, o.rolname, c.relforcerowsecurity"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) c.relowner"
	" WHERE c.oid OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.oid[])"
	" AND pg_catalog.pg_has_role($1::pg_catalog.name, c.relowner, 'MEMBER')";

static const char *const role_expectation = "the application role is subject to row level security";

static void check_role_bypass(struct gm_probe *p, const char *role)
{
	const char *params[1] = { role };
	PGresult *r = PQexecParams(p->db->conn, bypass_sql, 1, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		role_check(p, "-", 0, role_expectation, "check the role's name", "role %s cannot be checked: %s", role,
			   PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
	else if (PQntuples(r) == 0)
		role_check(p, "-", 1, role_expectation, NULL,
			   "role %s is neither superuser nor BYPASSRLS, nor a member of such a role", role);
	else if (!strcmp(PQgetvalue(r, 0, 1), "server"))
		role_check(p, "-", 0, role_expectation, "REVOKE that membership from the application role",
			   "role %s is a member of %s: it can run programs or reach files on the server as its OS user,"
			   " which is as good as superuser", role, PQgetvalue(r, 0, 0));
	else if (!strcmp(PQgetvalue(r, 0, 1), "CREATEROLE"))
		role_check(p, "-", 0, role_expectation, "ALTER ROLE ... NOCREATEROLE for the application role (and the roles it belongs to)",
			   "role %s %s CREATEROLE: it can make itself a member of the tables' owners and bypass their policies",
			   role, !strcmp(PQgetvalue(r, 0, 0), role) ? "has" : "belongs to a role with");
	else if (!strcmp(PQgetvalue(r, 0, 0), role))
		role_check(p, "-", 0, role_expectation, "ALTER ROLE ... NOSUPERUSER NOBYPASSRLS, or connect the application as another role",
			   "role %s is %s and bypasses every policy", role, PQgetvalue(r, 0, 1));
	else
		role_check(p, "-", 0, role_expectation, "REVOKE that membership: a member can SET ROLE and bypass every policy",
			   "role %s is a member of %s, which is %s: it can SET ROLE %s and bypass every policy", role,
			   PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0));
	PQclear(r);
}

static void check_role_owns(struct gm_probe *p, const char *role)
{
	struct gm_strbuf oids = GM_STRBUF_INIT;
	const char *params[2];
	PGresult *r;

	gm_strbuf_addch(&oids, '{');
	for (size_t k = 0; k < p->t.n; k++)
		if (p->t.v[k].tenant)
			gm_strbuf_addf(&oids, "%s%lu", oids.len > 1 ? "," : "", p->t.v[k].oid);
	gm_strbuf_addch(&oids, '}');
	params[0] = role;
	params[1] = oids.buf;
	r = PQexecParams(p->db->conn, owners_sql, 2, NULL, params, NULL, NULL, 0);
	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
		unsigned long oid = strtoul(PQgetvalue(r, k, 0), NULL, 10);
		const struct gm_ptable *t = NULL;
		for (size_t j = 0; j < p->t.n && !t; j++)
			if (p->t.v[j].oid == oid)
				t = &p->t.v[j];
		if (!t)
			continue;
		if (!strcmp(PQgetvalue(r, k, 3), "t")) {
			/* Forced, its policies apply to the owner; but the owner
			 * can stop forcing them. */
			char *obj = gm_xasprintf("table %s", t->name);
			gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_role_owner", GM_LEVEL_WARNING, obj,
				"connect the application as a role that neither owns the tables nor belongs to their owner",
				"role %s %s%s: RLS is forced, but the owner can turn that off (ALTER TABLE ... NO FORCE"
				" ROW LEVEL SECURITY)", role, !strcmp(PQgetvalue(r, k, 1), "t") ? "owns it" : "belongs to its owner ",
				!strcmp(PQgetvalue(r, k, 1), "t") ? "" : PQgetvalue(r, k, 2));
			free(obj);
		} else if (!strcmp(PQgetvalue(r, k, 1), "t"))
			role_check(p, t->name, 0, "the application role does not own the table without FORCE ROW LEVEL SECURITY",
				   "ALTER TABLE ... FORCE ROW LEVEL SECURITY, or make another role the table's owner",
				   "role %s owns it and RLS is not forced, so its policies do not apply to that role", role);
		else
			role_check(p, t->name, 0, "the application role does not own the table without FORCE ROW LEVEL SECURITY",
				   "ALTER TABLE ... FORCE ROW LEVEL SECURITY, or REVOKE the application role's membership in the owner",
				   "role %s is a member of its owner %s and RLS is not forced, so its policies do not apply to that role",
				   role, PQgetvalue(r, k, 2));
	}
	PQclear(r);
	gm_strbuf_release(&oids);
}

static void check_app_role(struct gm_probe *p, const char *role)
{
	const char *params[1] = { role };
	PGresult *r = PQexecParams(p->db->conn, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, NULL,
				   params, NULL, NULL, 0);
	int exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	PQclear(r);
	if (!exists) {
		role_check(p, "-", 0, role_expectation, "check the role's name", "role %s does not exist", role);
		return;
	}
	check_role_bypass(p, role);
	check_role_owns(p, role);
}

/* ---- the acting role ---- */

/* Runs a statement of the probe's role management; on failure, err (if
 * still NULL) says what could not be done.  Callers pass names quoted
 * through libpq. */
static void manage(struct gm_probe *p, struct gm_error **err, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void manage(struct gm_probe *p, struct gm_error **err, const char *what, const char *fmt, ...)
{
	struct gm_strbuf sql = GM_STRBUF_INIT;
	struct gm_poutcome o;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&sql, fmt, ap);
	va_end(ap);
	gm_probe_exec(p, &o, sql.buf, 0, NULL);
	if (!o.ok && err && !*err)
		*err = gm_error_new(GM_ERR_DB, "%s: %s", what, o.message);
	gm_poutcome_release(&o);
	gm_strbuf_release(&sql);
}

/* What the temporary role may do: through the application role (its
 * policies and privileges) when one is named, else what an application
 * usually has on the checked schemas. */
static struct gm_error *grant_probe_role(struct gm_probe *p, const char *qrole, char *const *schemas,
					 size_t nschemas, const char *app_role)
{
	struct gm_error *err = NULL;

	if (app_role) {
		char *qapp = gm_db_quote_ident(p->db, app_role);
		manage(p, &err, "cannot make the probe role a member of the application role", "GRANT %s TO %s", qapp, qrole);
		free(qapp);
		return err;
	}
	for (size_t k = 0; k < nschemas && !err; k++) {
		char *qs = gm_db_quote_ident(p->db, schemas[k]);
		const char *what = "cannot grant the probe role what an application has";
		manage(p, &err, what, "GRANT USAGE ON SCHEMA %s TO %s", qs, qrole);
		manage(p, &err, what, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s", qs, qrole);
		manage(p, &err, what, "GRANT USAGE ON ALL SEQUENCES IN SCHEMA %s TO %s", qs, qrole);
		free(qs);
	}
	return err;
}

/* The wrapper lives in pg_temp, which needs the TEMPORARY privilege on
 * the database (PUBLIC has it unless revoked). */
static void grant_temporary(struct gm_probe *p, const char *qrole)
{
	struct gm_poutcome o;

	gm_probe_exec(p, &o, "SELECT pg_catalog.current_database()", 0, NULL);
	if (o.ok && o.value) {
		char *qdb = gm_db_quote_ident(p->db, o.value);
		manage(p, NULL, NULL, "GRANT TEMPORARY ON DATABASE %s TO %s", qdb, qrole);
		free(qdb);
	}
	gm_poutcome_release(&o);
}

/* The temporary role and its wrapper.  A connecting user that is not a
 * superuser must be a member to create the wrapper as the role; the
 * membership is revoked right after, so that granting the application
 * role (which the connecting user may belong to) cannot make a cycle. */
static struct gm_error *temporary_role(struct gm_probe *p, const struct gm_verify_opts *o,
				       char *const *schemas, size_t nschemas)
{
	char *name = gm_xasprintf("gm_probe_%d_%ld", (int)getpid(), (long)time(NULL));
	char *q = gm_db_quote_ident(p->db, name);
	struct gm_poutcome su;
	struct gm_error *err = NULL;
	int member;

	free(name);
	manage(p, &err, "cannot create a temporary role for the isolation probe",
	       "CREATE ROLE %s NOLOGIN NOSUPERUSER NOBYPASSRLS", q);
	if (err) {
		gm_error_advise(err, "connect as a role with CREATEROLE, or pass --as-role NAME (a role subject to RLS with the application's privileges)");
		free(q);
		return err;
	}
	gm_probe_exec(p, &su, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER", 0, NULL);
	member = !(su.ok && su.value && !strcmp(su.value, "t"));
	gm_poutcome_release(&su);
	if (member)
		manage(p, NULL, NULL, "GRANT %s TO CURRENT_USER", q);
	grant_temporary(p, q);
	if (!role_add(p, q)->fn)
		err = gm_error_new(GM_ERR_DB, "%s", p->roles[0]->why);
	if (member)
		manage(p, NULL, NULL, "REVOKE %s FROM CURRENT_USER", q);
	if (!err)
		err = grant_probe_role(p, q, schemas, nschemas, o->app_role);
	free(q);
	return err;
}

/* roles[0]: --as-role, or a temporary role. */
static struct gm_error *prepare_role(struct gm_probe *p, const struct gm_verify_opts *o,
				     char *const *schemas, size_t nschemas)
{
	char *q;
	const char *why;

	if (!o->as_role)
		return temporary_role(p, o, schemas, nschemas);
	q = gm_db_quote_ident(p->db, o->as_role);
	role_add(p, q);
	free(q);
	if (p->roles[0]->fn)
		return NULL;
	/* The role's name as the user typed it, then the server's reason. */
	why = strstr(p->roles[0]->why, ": ");
	return gm_error_new(GM_ERR_DB, "cannot act as role %s%s", o->as_role, why ? why : "");
}

/* ---- the run ---- */

static void release_probe(struct gm_probe *p)
{
	gm_probe_tables_release(&p->t);
	for (size_t k = 0; k < p->nroles; k++) {
		free(p->roles[k]->q);
		free(p->roles[k]->fn);
		free(p->roles[k]->oid);
		free(p->roles[k]->xmin);
		free(p->roles[k]->why);
		free(p->roles[k]);
	}
	free(p->roles);
	free(p->org[0]);
	free(p->org[1]);
}

/* Whether making fixtures sets a tenant context: then "no tenant at all"
 * must be checked before (a custom setting, once set, stays defined for
 * the session). */
static int context_needed(struct gm_probe *p)
{
	for (size_t k = 0; k < p->t.n; k++)
		if (p->t.v[k].needed && !p->t.v[k].skip && !gm_probe_maker_bypasses(p, &p->t.v[k]))
			return 1;
	return 0;
}

static void report_skipped_tables(struct gm_probe *p)
{
	for (size_t k = 0; k < p->t.n; k++) {
		const struct gm_ptable *t = &p->t.v[k];
		if (t->tenant && t->partition)
			skip_table(p, t, "it is a partition: the probe acts on its parent, but queried directly a partition applies its own RLS settings",
				   "enable and force row level security on every partition too");
		else if (t->tenant && t->skip)
			skip_table(p, t, t->skip,
				   "give the table a single-column primary key and NOT NULL columns of common types, or see the reason");
	}
}

static void run_checks(struct gm_probe *p, const struct gm_verify_opts *o, char *const *schemas, size_t nschemas)
{
	int early = context_needed(p);
	size_t k;

	if (early)
		check_unset_before_fixtures(p);
	gm_probe_make_fixtures(p);
	report_skipped_tables(p);
	if (!p->org[0] || !p->org[1]) {
		for (k = 0; k < p->t.n && !p->t.v[k].tenant; k++)
			;
		if (k == p->t.n) {
			char *why = gm_xasprintf("no table in the checked schemas has a tenant column (%s) or a foreign key"
						 " to such a table", p->tenancy->columns.n ? p->tenancy->columns.v[0] : "none");
			gm_probe_add_check(p, "-", "ALL", GM_PROBE_SKIPPED, "the probe finds tenant tables", why);
			free(why);
		}
		else
			check(p, NULL, "INSERT", 0, "the probe can create two tenants",
			      "no organizations table was found or it refused rows");
		return;
	}
	if (!early)
		check_without_tenant(p, -2);
	for (k = 0; k < p->t.n; k++)
		if (probed(&p->t.v[k]))
			p->t.v[k].digest = digest(p, &p->t.v[k]);
	for (k = 0; k < p->t.n; k++)
		if (probed(&p->t.v[k]))
			check_table_as_b(p, &p->t.v[k]);
	gm_probe_check_views(p, schemas, nschemas);
	check_without_tenant(p, -1);
	for (k = 0; k < p->t.n; k++) {
		struct gm_ptable *t = &p->t.v[k];
		char *after;
		if (!t->digest)
			continue;
		after = digest(p, t);
		check(p, t, "ALL", !strcmp(after, t->digest), "tenant A's rows are unchanged afterwards",
		      "%s", strcmp(after, t->digest) ? "they changed" : "byte for byte identical");
		free(after);
	}
	if (o->app_role)
		check_app_role(p, o->app_role);
}

/* Settings the probe's own statements rely on, for its transaction: the
 * safe search path (see gm_db.h; the wrappers run what they run with the
 * user's), and row security on. */
static const char probe_settings_sql[] =
	GM_SQL_PIN_PATH ", pg_catalog.set_config('row_security', 'on', true),"
	" pg_catalog.set_config('lock_timeout', '" GM_PROBE_LOCK_TIMEOUT "', true)";

struct gm_error *gm_probe_run(struct gm_db *db, char *const *schemas, size_t nschemas,
			      const struct gm_verify_opts *o, struct gm_verify_result *res)
{
	struct gm_probe p;
	struct gm_tenancy defaults;
	struct gm_error *err;

	memset(&p, 0, sizeof(p));
	gm_tenancy_defaults(&defaults);
	p.db = db;
	p.res = res;
	p.tenancy = o->tenancy ? o->tenancy : &defaults;
	/* Whatever happens below, this transaction is rolled back: nothing
	 * the probe made (roles, grants, rows, settings) survives it. */
	if ((err = gm_db_exec(db, "BEGIN", "cannot start the isolation probe", NULL)))
		return err;
	if (!(err = gm_db_exec(db, probe_settings_sql, "cannot prepare the isolation probe", NULL)) &&
	    !(err = gm_probe_load(&p, schemas, nschemas)) &&
	    !(err = prepare_role(&p, o, schemas, nschemas)))
		run_checks(&p, o, schemas, nschemas);
	if (!err && p.broken) {
		err = p.broken;
		p.broken = NULL;
	}
	gm_error_free(p.broken);
	PQclear(PQexec(db->conn, "ROLLBACK"));
	res->ran[GM_CHECK_ISOLATION] = 1;
	release_probe(&p);
	gm_tenancy_release(&defaults);
	return err;
}
