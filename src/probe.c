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
 *   3. as tenant B (set per transaction with the tenancy's set_tenant, as
 *      applications must) checks every command on every tenant table
 *      against A's rows, and reads through the views (probe_views.c);
 *   4. checks that an empty and an unset tenant show nothing private and
 *      raise no error;
 *   5. checks, as the tables' owners, that A's rows are byte for byte as
 *      they were.
 * Every check is passed, failed or skipped (it could not be run, and says
 * why); skipped is never reported as passed.  How statements run and as
 * whom is probe_exec.c; the roles, probe_roles.c; the catalog,
 * probe_catalog.c; the rows, probe_fixtures.c. */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_probe.h"
#include "gm_verify.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Both a row-level security refusal and a missing privilege. */
#define SQLSTATE_PRIVILEGE "42501"

const char *gm_probe_state_name(enum gm_probe_state s)
{
	static const char *const names[] = { "passed", "failed", "skipped" };
	return (unsigned)s < 3 ? names[s] : "unknown";
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
	if (p->opts && p->opts->on_progress)
		p->opts->on_progress(p->opts->ctx, res->nprobe, c);
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

	gm_probe_plain(p, "SAVEPOINT gm_probe_undo");
	as_tenant(p, sql, 0, &o);
	gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe_undo");
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_undo");
	if (o.ok && o.affected == 1)
		check(p, t, cmd, 1, expectation, "1 row affected");
	else if (!o.ok && !strcmp(cmd, "DELETE") && o.sqlstate && !strcmp(o.sqlstate, "23503"))
		/* A foreign key's check runs on the rows the policy let the
		 * DELETE reach: a row of another table (the probe's own, of a
		 * child table) still refers to it. */
		check(p, t, cmd, 1, expectation, "its policy let the DELETE reach the row; a row of another table that"
		      " refers to it kept it: %s", o.message);
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

/* A copy of B's own row with column key set to value (A's tenant, A's
 * parent row): every insertable column copied, a new primary key unless
 * it has a default. */
static char *copy_row_sql(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key, const char *value,
			  char **why)
{
	struct gm_strbuf cols = GM_STRBUF_INIT, exprs = GM_STRBUF_INIT;
	char *a = gm_db_quote_literal(p->db, value), *b = gm_db_quote_literal(p->db, t->row[1]);
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
	if ((sql = copy_row_sql(p, t, key, a_value(p, t, key), &why)))
		expect_refused(p, t, "INSERT", sql, exp);
	else
		skip(p, t, "INSERT", exp, why);
	free(sql);
	free(why);
	free(exp);
}

/* A table with a tenant column of its own and a foreign key to a tenant
 * table (another, or itself: a note's parent note): B's row under A's
 * parent row (B's tenant, A's note), by a new row and by moving B's own.
 * A policy checking the tenant column alone lets B hang rows under A's,
 * which shows that A's row exists and keeps A from deleting it.  A write
 * that fails otherwise (a unique key, a trigger's own check) cannot
 * tell: skipped. */
static void expect_not_under(struct gm_probe *p, const struct gm_ptable *t, const char *cmd, const char *sql,
			     const char *exp, const struct gm_ptable *parent)
{
	struct gm_poutcome o;

	gm_probe_plain(p, "SAVEPOINT gm_probe_undo");
	as_tenant(p, sql, 0, &o);
	gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe_undo");
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_undo");
	if (!o.ok && !strcmp(o.sqlstate, SQLSTATE_PRIVILEGE))
		check(p, t, cmd, 1, exp, "%s", refusal(&o));
	else if (!o.ok && !strcmp(o.sqlstate, "23503"))
		/* a foreign key of the tenant's own (tenant_id, note_id)
		 * kept it out */
		check(p, t, cmd, 1, exp, "refused by a foreign key: %s", o.message);
	else if (o.ok && o.affected == 0)
		check(p, t, cmd, 1, exp, "0 rows affected");
	else if (o.ok)
		check(p, t, cmd, 0, exp, "its row under %s's row of tenant A was written: its policy does not check that"
		      " the parent row is B's", parent->name);
	else
		skip(p, t, cmd, exp, o.message);
	gm_poutcome_release(&o);
}

/* B's own row of t with column c set to value: an UPDATE that moves it
 * (to A's tenant, under A's parent row).  The names are quoted through
 * libpq (t->q, c->q, pkq), the values through gm_db_quote_literal. */
static char *move_own_row_sql(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *c, const char *value)
{
	char *a = gm_db_quote_literal(p->db, value), *b = gm_db_quote_literal(p->db, t->row[1]);
	char *sql = gm_xasprintf("UPDATE %s SET %s = %s WHERE %s" EQ "%s", t->q, c->q, a, pkq(t), b);

	free(a);
	free(b);
	return sql;
}

static void check_rows_under_a(struct gm_probe *p, const struct gm_ptable *t)
{
	char *exp, *sql, *why;

	if (t->org < 0)
		return;	/* check_inserts_for_a tried its parent key */
	for (size_t k = 0; k < t->ncols; k++) {
		const struct gm_pcol *c = &t->cols[k];
		const struct gm_ptable *parent = c->ref >= 0 ? &p->t.v[c->ref] : NULL;
		if (!parent || !c->ref_pk || !parent->tenant || !parent->row[0] || !c->insertable)
			continue;
		exp = gm_xasprintf("tenant B cannot insert rows under tenant A's %s", parent->name);
		why = NULL;
		if (!(sql = copy_row_sql(p, t, c, parent->row[0], &why)))
			skip(p, t, "INSERT", exp, why);
		else
			expect_not_under(p, t, "INSERT", sql, exp, parent);
		free(sql);
		free(why);
		free(exp);
		if (!t->row[1] || t->pk < 0)
			continue;
		exp = gm_xasprintf("tenant B cannot move its rows under tenant A's %s", parent->name);
		sql = move_own_row_sql(p, t, c, parent->row[0]);
		expect_not_under(p, t, "UPDATE", sql, exp, parent);
		free(sql);
		free(exp);
	}
}

static void check_own_rows(struct gm_probe *p, const struct gm_ptable *t, const struct gm_pcol *key)
{
	char *b = gm_db_quote_literal(p->db, t->row[1]), *sql;

	if (key) {
		sql = move_own_row_sql(p, t, key, a_value(p, t, key));
		expect_refused(p, t, "UPDATE", sql, "tenant B cannot move its own rows to tenant A");
		free(sql);
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
	gm_probe_plain(p, "SAVEPOINT gm_probe_undo");
	gm_probe_exec(p, o, "SELECT pg_catalog.set_config('statement_timeout', '5s', true),"
			    " pg_catalog.set_config('lock_timeout', '2s', true)", 0, NULL);
	gm_poutcome_release(o);
	as_tenant(p, sql, 0, o);
	gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe_undo");
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_undo");
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
	check_rows_under_a(p, t);
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

/* Tenant A's rows in partition t, read directly (ONLY) as the current
 * tenant; -1 when refused, -2 on another error (why set). */
static long partition_rows_of_a(struct gm_probe *p, const struct gm_ptable *t, char **why)
{
	char *a = gm_db_quote_literal(p->db, p->org[0]);
	char *sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM ONLY %s WHERE %s" EQ "%s", t->q, t->cols[t->org].q, a);
	struct gm_poutcome o;
	long n;

	as_tenant(p, sql, 1, &o);
	n = o.ok && o.value ? strtol(o.value, NULL, 10) : !strcmp(o.sqlstate ? o.sqlstate : "", SQLSTATE_PRIVILEGE) ? -1 : -2;
	if (n == -2)
		*why = gm_xstrdup(o.message ? o.message : "no result");
	gm_poutcome_release(&o);
	free(sql);
	free(a);
	return n;
}

/* Queried directly, a partition applies its own RLS settings, not its
 * parent's: tenant B must not read A's rows there either.  A's fixture
 * rows went in through the parent; a partition that got none cannot be
 * told, and is skipped, saying so. */
static void check_partition(struct gm_probe *p, const struct gm_ptable *t)
{
	static const char expectation[] = "tenant B cannot read tenant A's rows in the partition queried directly";
	char *why = NULL;
	long as_a, as_b;

	gm_probe_set_tenant(p, 0);
	as_a = partition_rows_of_a(p, t, &why);
	gm_probe_set_tenant(p, 1);
	as_b = as_a > 0 ? partition_rows_of_a(p, t, &why) : 0;
	if (as_a == 0 || as_a == -1)
		skip_table(p, t, "no row of tenant A landed in this partition (or A cannot read it), so reading it"
				 " directly cannot be tried", "enable and force row level security on every partition too");
	else if (as_a < 0 || as_b == -2)
		skip(p, t, "SELECT", expectation, why);
	else if (as_b == -1)
		check(p, t, "SELECT", 1, expectation, "refused");
	else
		check(p, t, "SELECT", as_b == 0, expectation, "%ld row%s of A's %ld visible", as_b, as_b == 1 ? "" : "s", as_a);
	free(why);
}

static void report_skipped_tables(struct gm_probe *p)
{
	for (size_t k = 0; k < p->t.n; k++) {
		const struct gm_ptable *t = &p->t.v[k];
		if (t->tenant && t->partition && t->org < 0)
			skip_table(p, t, "it is a partition reached through a foreign key: the probe acts on its parent, but"
					 " queried directly a partition applies its own RLS settings",
				   "enable and force row level security on every partition too");
		else if (t->tenant && !t->partition && t->skip)
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
		} else {
			check(p, NULL, "INSERT", 0, "the probe can create two tenants",
			      "the table of tenants (the one the tenant column refers to) refused the rows");
		}
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
	for (k = 0; k < p->t.n; k++)
		if (p->t.v[k].tenant && p->t.v[k].partition && p->t.v[k].org >= 0)
			check_partition(p, &p->t.v[k]);
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
		gm_probe_check_app_role(p, o->app_role);
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
	p.opts = o;
	p.tenancy = o->tenancy ? o->tenancy : &defaults;
	/* Whatever happens below, this transaction is rolled back: nothing
	 * the probe made (roles, grants, rows, settings) survives it. */
	if ((err = gm_db_exec(db, GM_SQL_BEGIN, "cannot start the isolation probe", NULL)))
		return err;
	if (!(err = gm_db_exec(db, probe_settings_sql, "cannot prepare the isolation probe", NULL)) &&
	    !(err = gm_probe_load(&p, schemas, nschemas)) &&
	    !(err = gm_probe_prepare_role(&p, o, schemas, nschemas)))
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
