/* probe_views.c - tenant rows read through views and materialized views.
 *
 * A view runs as its owner unless it is security_invoker, and a
 * materialized view holds a copy of its rows: either can hand a tenant
 * the rows the table's policies keep from it.  For every view of the
 * checked schemas that reads a tenant table, tenant B counts the rows of
 * other tenants (tenant column not B's: A's fixture rows, real rows of
 * other tenants, shared rows) through the view and through that table,
 * in the same transaction: more through the view is a leak.  A view
 * without a tenant column cannot tell tenants apart: skipped, saying so
 * (the view_bypasses_rls lint judges it by security_invoker). */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_lint.h"
#include "gm_probe.h"
#include "gm_strbuf.h"
#include "gm_verify.h"

#include <stdlib.h>
#include <string.h>

/* Views and materialized views of the schemas: the first tenant column
 * they show, and every relation their rule reads (pg_depend, never the
 * text).  Extension members are left out, as for tables. */
static const char views_sql[] =
	"SELECT v.oid, n.nspname, v.relname, v.relkind OPERATOR(pg_catalog.=) 'm',"
	" (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) v.oid"
	"   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
	"   AND a.attname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.name[]) ORDER BY a.attnum LIMIT 1),"
	" (SELECT pg_catalog.string_agg(DISTINCT d.refobjid::pg_catalog.text, ',')"
	"   FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_depend d"
	"   ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
	"   AND d.objid OPERATOR(pg_catalog.=) rw.oid"
	"   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
	"   WHERE rw.ev_class OPERATOR(pg_catalog.=) v.oid AND d.refobjid OPERATOR(pg_catalog.<>) v.oid)"
	" FROM pg_catalog.pg_class v JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) v.relnamespace"
	" WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])"
	" AND v.relkind OPERATOR(pg_catalog.=) ANY ('{v,m}'::pg_catalog.\"char\"[])"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
	"   WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
	"   AND e.objid OPERATOR(pg_catalog.=) v.oid AND e.deptype OPERATOR(pg_catalog.=) 'e')"
	" ORDER BY n.nspname, v.relname";

static const char expectation[] = "tenant B reads no more of other tenants' rows through the view than through its table";

/* A {"a","b"} array literal of the given strings. */
static char *array_literal(char *const *v, size_t n)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_strbuf_addch(&sb, '{');
	for (size_t k = 0; k < n; k++) {
		gm_strbuf_adds(&sb, k ? ",\"" : "\"");
		for (const char *s = v[k]; *s; s++) {
			if (*s == '"' || *s == '\\')
				gm_strbuf_addch(&sb, '\\');
			gm_strbuf_addch(&sb, *s);
		}
		gm_strbuf_addch(&sb, '"');
	}
	gm_strbuf_addch(&sb, '}');
	return gm_strbuf_detach(&sb, NULL);
}

/* The first relation in refs ("oid,oid") that is a tenant table of p;
 * with column col (the view's tenant column) when it has it. */
static const struct gm_ptable *base_of(const struct gm_probe *p, const char *refs, const char *col, int *any)
{
	const struct gm_ptable *found = NULL;
	char *end;

	*any = 0;
	for (const char *s = refs; s && *s; s = *end ? end + 1 : end) {
		unsigned long oid = strtoul(s, &end, 10);
		for (size_t k = 0; k < p->t.n; k++) {
			const struct gm_ptable *t = &p->t.v[k];
			if (t->oid != oid || !t->tenant)
				continue;
			*any = 1;
			if (!found && col && t->org >= 0 && !strcmp(t->cols[t->org].name, col))
				found = t;
		}
		if (end == s)
			break;
	}
	return found;
}

/* Rows of relation q whose tenant column (quoted qcol) is not B's, as B:
 * 1 counted, 0 refused (no privilege: nothing read), -1 another error. */
static int count_others(struct gm_probe *p, const char *q, const char *qcol, long *n, char **why)
{
	char *b = gm_db_quote_literal(p->db, p->org[1]);
	char *sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM %s WHERE (%s OPERATOR(pg_catalog.=) %s) IS NOT TRUE",
				 q, qcol, b);
	struct gm_poutcome o;
	int ok;

	gm_probe_exec_as(p, p->roles[0], sql, 1, &o);
	ok = o.ok && o.value ? 1 : o.sqlstate && !strcmp(o.sqlstate, "42501") ? 0 : -1;
	if (ok == 1)
		*n = strtol(o.value, NULL, 10);
	else
		*why = gm_xstrdup(o.message ? o.message : "no result");
	gm_poutcome_release(&o);
	free(sql);
	free(b);
	return ok;
}

static void leak(struct gm_probe *p, const char *name, int matview, const char *result)
{
	char *obj = gm_xasprintf("%s %s", matview ? "materialized view" : "view", name);

	gm_probe_add_check(p, name, "SELECT", GM_PROBE_FAILED, expectation, result);
	gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_breach", GM_LEVEL_ERROR, obj,
			matview ? "a materialized view keeps no policies: drop it, or keep it out of the application's reach"
			: p->db->server_version < 150000 ? GM_VIEW_REMEDY_14
				: "ALTER VIEW ... SET (security_invoker = true), so the table's policies apply to whoever reads it",
			"SELECT: %s, but %s", expectation, result);
	free(obj);
}

/* Both counts made: more rows of others through the view is a leak. */
static void compare(struct gm_probe *p, const char *name, int matview, const struct gm_ptable *base,
		    long through, long direct)
{
	char *res = gm_xasprintf("%ld row%s of other tenants %s through it, %ld through %s", through,
				 through == 1 ? "" : "s", through > direct ? (through == 1 ? "was visible" : "were visible") : "read",
				 direct, base->name);

	if (through > direct)
		leak(p, name, matview, res);
	else
		gm_probe_add_check(p, name, "SELECT", GM_PROBE_PASSED, expectation, res);
	free(res);
}

static void check_view(struct gm_probe *p, const PGresult *r, int k)
{
	const char *nsp = PQgetvalue(r, k, 1), *rel = PQgetvalue(r, k, 2);
	int matview = !strcmp(PQgetvalue(r, k, 3), "t"), any, got;
	const char *col = PQgetisnull(r, k, 4) ? NULL : PQgetvalue(r, k, 4);
	const struct gm_ptable *base = base_of(p, PQgetisnull(r, k, 5) ? NULL : PQgetvalue(r, k, 5), col, &any);
	char *name = gm_xasprintf("%s.%s", nsp, rel), *qn = gm_db_quote_ident(p->db, nsp);
	char *qr = gm_db_quote_ident(p->db, rel), *q = gm_xasprintf("%s.%s", qn, qr), *qcol = NULL, *why = NULL;
	long through = 0, direct = 0;

	if (!any) {
		/* Reads no tenant table: nothing to prove. */
	} else if (!col || !base) {
		gm_probe_add_check(p, name, "SELECT", GM_PROBE_SKIPPED, expectation,
				   !col ? "the view shows no tenant column to tell tenants' rows apart"
					: "it reads tenant rows through another view, or under another column name");
	} else {
		qcol = gm_db_quote_ident(p->db, col);
		got = count_others(p, q, qcol, &through, &why);
		if (got == 0) {
			gm_probe_add_check(p, name, "SELECT", GM_PROBE_PASSED, expectation, why);
		} else if (got < 0) {
			gm_probe_add_check(p, name, "SELECT", GM_PROBE_SKIPPED, expectation, why);
		} else if (count_others(p, base->q, base->cols[base->org].q, &direct, &why) == 1) {
			compare(p, name, matview, base, through, direct);
		} else if (through > 0) {
			/* B may not read the table at all, yet reads others' rows here. */
			leak(p, name, matview, "rows of other tenants were visible through it, none through its table");
		} else {
			gm_probe_add_check(p, name, "SELECT", GM_PROBE_PASSED, expectation, "no row of another tenant through it");
		}
	}
	free(why);
	free(qcol);
	free(q);
	free(qr);
	free(qn);
	free(name);
}

void gm_probe_check_views(struct gm_probe *p, char *const *schemas, size_t nschemas)
{
	char *nsps = array_literal(schemas, nschemas);
	char *cols = array_literal(p->tenancy->columns.v, p->tenancy->columns.n);
	const char *params[2] = { nsps, cols };
	PGresult *r = NULL;
	struct gm_error *err;

	gm_probe_set_tenant(p, 1);
	/* In a savepoint: a failed read must not end the probe's transaction. */
	if (!(err = gm_db_exec(p->db, "SAVEPOINT gm_probe_views", "cannot read the views for the isolation probe", NULL)))
		err = gm_db_exec_params(p->db, views_sql, 2, params, "cannot read the views for the isolation probe", &r);
	if (err) {
		PQclear(PQexec(p->db->conn, "ROLLBACK TO SAVEPOINT gm_probe_views"));
		gm_probe_add_check(p, "-", "SELECT", GM_PROBE_SKIPPED, expectation, err->msg);
		gm_error_free(err);
	}
	PQclear(PQexec(p->db->conn, "RELEASE SAVEPOINT gm_probe_views"));
	for (int k = 0; r && k < PQntuples(r) && !p->broken; k++)
		check_view(p, r, k);
	PQclear(r);
	free(cols);
	free(nsps);
}
