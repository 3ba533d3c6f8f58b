/* probe_roles.c - the roles of the isolation probe: the role it acts as
 * (a temporary one, a temporary member of --app-role, or --as-role), and
 * the checks that the application role cannot bypass RLS. */
#include "gm_db.h"
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_history.h"
#include "gm_policy.h"
#include "gm_probe.h"
#include "gm_text.h"
#include "gm_verify.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
 * to such a role: membership counts as having it (a grant WITH ADMIN
 * OPTION alone counts too: its holder can grant itself the rest).
 * CREATEROLE ($2) counts before PostgreSQL 16 only: until 15 it could
 * grant any role but superusers, the tables' owners included, to itself;
 * from 16 on only the roles it holds ADMIN OPTION on, which the
 * membership test already covers. */
static const char bypass_sql[] =
	"SELECT r.rolname, CASE WHEN r.rolsuper THEN 'superuser' WHEN r.rolbypassrls THEN 'BYPASSRLS'"
	" WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'server' END"
	" FROM pg_catalog.pg_roles r"
	" WHERE (r.rolsuper OR r.rolbypassrls OR (r.rolcreaterole AND $2::pg_catalog.bool) OR r.rolname OPERATOR(pg_catalog.=) ANY"
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
	const char *params[2] = { role, p->db->server_version < 160000 ? "true" : "false" };
	PGresult *r = PQexecParams(p->db->conn, bypass_sql, 2, NULL, params, NULL, NULL, 0);

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

static void check_role_policy_deps(struct gm_probe *p, const char *role, const char *oids);
static void check_role_definers(struct gm_probe *p, const char *role, const char *schemas);

/* A read of the checks, in a savepoint: should it fail, the probe's
 * transaction goes on, and the check says it could not be made. */
static PGresult *guarded(struct gm_probe *p, const char *sql, int n, const char *const *params)
{
	PGresult *r;

	PQclear(PQexec(p->db->conn, "SAVEPOINT gm_role_check"));
	r = PQexecParams(p->db->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		role_check(p, "-", 0, role_expectation, "see the server's message",
			   "a check of the role could not be made: %s",
			   PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
									  : PQerrorMessage(p->db->conn));
		PQclear(PQexec(p->db->conn, "ROLLBACK TO SAVEPOINT gm_role_check"));
	}
	PQclear(PQexec(p->db->conn, "RELEASE SAVEPOINT gm_role_check"));
	return r;
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
	check_role_policy_deps(p, role, oids.buf);
	r = PQexecParams(p->db->conn, owners_sql, 2, NULL, params, NULL, NULL, 0);
	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
		const struct gm_ptable *t = gm_probe_table_of(p, PQgetvalue(r, k, 0));
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

/* What the tenant tables' policies call and read ($2): a function the
 * role owns (or whose owner it belongs to) it can replace, so that
 * auth.uid() names any tenant it likes; a table without RLS of its own
 * that the role may write (a sharing or membership table), it can fill
 * with rows that let it in.  Built-in functions cannot be replaced. */
#define DEP_ON_POLICY(refclass)                                                                       \
	" FROM pg_catalog.pg_policy po JOIN pg_catalog.pg_depend d"                                      \
	" ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass"               \
	" AND d.objid OPERATOR(pg_catalog.=) po.oid"                                                     \
	" AND d.refclassid OPERATOR(pg_catalog.=) '" refclass "'::pg_catalog.regclass"                   \
	" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) po.polrelid"
#define OF_TENANT_TABLES " WHERE po.polrelid OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.oid[])"
static const char policy_deps_sql[] =
	"SELECT DISTINCT c.oid, 'f', f.oid::pg_catalog.regprocedure::pg_catalog.text, pg_catalog.pg_get_userbyid(f.proowner)"
	DEP_ON_POLICY("pg_catalog.pg_proc")
	" JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) d.refobjid"
	OF_TENANT_TABLES
	" AND f.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid"
	" AND pg_catalog.pg_has_role($1::pg_catalog.name, f.proowner, 'MEMBER')"
	" UNION"
	" SELECT DISTINCT c.oid, 't', t.oid::pg_catalog.regclass::pg_catalog.text, NULL"
	DEP_ON_POLICY("pg_catalog.pg_class")
	" JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) d.refobjid"
	OF_TENANT_TABLES
	" AND t.oid OPERATOR(pg_catalog.<>) po.polrelid AND t.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog.\"char\"[])"
	" AND NOT t.relrowsecurity"
	" AND (pg_catalog.has_table_privilege($1::pg_catalog.name, t.oid, 'INSERT, DELETE')"
	"  OR pg_catalog.has_any_column_privilege($1::pg_catalog.name, t.oid, 'INSERT, UPDATE'))"
	" ORDER BY 1, 2, 3";

static void check_role_policy_deps(struct gm_probe *p, const char *role, const char *oids)
{
	const char *params[2] = { role, oids };
	PGresult *r = guarded(p, policy_deps_sql, 2, params);

	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
		const struct gm_ptable *t = gm_probe_table_of(p, PQgetvalue(r, k, 0));
		if (!t)
			continue;
		if (PQgetvalue(r, k, 1)[0] == 'f')
			role_check(p, t->name, 0, "the application role cannot change what the policies call",
				   "make another role the function's owner (ALTER FUNCTION ... OWNER TO), one the application role"
				   " does not belong to",
				   "role %s %s %s, which the policies call: it can replace it and choose the tenant", role,
				   !strcmp(PQgetvalue(r, k, 3), role) ? "owns function" : "belongs to the owner of function",
				   PQgetvalue(r, k, 2));
		else
			role_check(p, t->name, 0, "the application role cannot change what the policies call",
				   "REVOKE INSERT, UPDATE, DELETE on that table from the application role, or give it row level"
				   " security of its own",
				   "role %s may write table %s, which the policies read and which has no row level security:"
				   " it can add the rows that let it in", role, PQgetvalue(r, k, 2));
	}
	PQclear(r);
}

/* Relations of schemas the probe does not look at ($2) that the role
 * may read: a table with tenant rows and no row-level security (a copy a
 * trigger keeps: a tenant column ($3), or a foreign key to a table with
 * row-level security, such as a search table keyed by the note's id), a
 * materialized view of a table with RLS or with tenant rows, or a view
 * that reads one as its owner.  Whatever the API exposes, the
 * application reads them as if they were the checked schemas' own.  And
 * a view of the checked schemas that reads, as its owner, such a table of
 * the others: verify does not read that table, so only here is it seen. */
/* A relation with rules of its own (a view's _RETURN is its query). */
#define RULED                                                                                        \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite rr WHERE rr.ev_class OPERATOR(pg_catalog.=) c.oid"  \
	" AND rr.rulename OPERATOR(pg_catalog.<>) '_RETURN')"
#define WRITES(c)                                                                                    \
	"(pg_catalog.has_table_privilege($1::pg_catalog.name, " c ".oid, 'INSERT, DELETE')"              \
	" OR pg_catalog.has_any_column_privilege($1::pg_catalog.name, " c ".oid, 'INSERT, UPDATE'))"
#define TENANT_COLUMN(t)                                                                             \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) " t ".oid" \
	" AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"                                  \
	" AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[]))"
/* A foreign key to a table of tenant rows guarded by RLS (a tenant
 * column, RLS on): its rows are that tenant's too.  A lookup table's
 * (RLS on, no tenant column) are no one's. */
#define KEYED_TO_RLS(t)                                                                              \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class rt"                   \
	" ON rt.oid OPERATOR(pg_catalog.=) k.confrelid WHERE k.conrelid OPERATOR(pg_catalog.=) " t ".oid" \
	" AND k.contype OPERATOR(pg_catalog.=) 'f' AND rt.relrowsecurity AND " TENANT_COLUMN("rt") ")"
/* A table of tenant rows that no policy guards. */
#define UNGUARDED(t)                                                                                 \
	"(" t ".relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[]) AND NOT " t ".relrowsecurity" \
	" AND (" TENANT_COLUMN(t) " OR " KEYED_TO_RLS(t) "))"
/* A view that runs as its owner (a materialized view always did). */
#define AS_OWNER(c)                                                                                  \
	"(" c ".relkind OPERATOR(pg_catalog.=) 'm' OR NOT EXISTS (SELECT 1"                              \
	" FROM pg_catalog.pg_options_to_table(" c ".reloptions) op"                                     \
	" WHERE op.option_name OPERATOR(pg_catalog.=) 'security_invoker' AND op.option_value::pg_catalog.bool))"
/* Whether view c reads a table t for which cond holds. */
#define REACHES(cond)                                                                                \
	"EXISTS (SELECT 1 FROM reach JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) reach.t" \
	" WHERE reach.v OPERATOR(pg_catalog.=) c.oid AND (" cond "))"
#define READS_TENANT_ROWS                                                                            \
	"CASE WHEN c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[]) THEN " UNGUARDED("c") \
	"  ELSE " AS_OWNER("c") " AND " REACHES("t.relrowsecurity OR " UNGUARDED("t")) " END"
/* What each view reads, through views it reads, however deep: a view
 * over a security_invoker view over a table with RLS reads that table as
 * its owner as much as one over the table itself. */
#define REACH                                                                                        \
	"WITH RECURSIVE reads(v, t) AS (SELECT rw.ev_class, d.refobjid FROM pg_catalog.pg_rewrite rw"   \
	"  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass" \
	"  AND d.objid OPERATOR(pg_catalog.=) rw.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"  WHERE d.refobjid OPERATOR(pg_catalog.<>) rw.ev_class AND rw.rulename OPERATOR(pg_catalog.=) '_RETURN')," \
	" reach(v, t) AS (SELECT v, t FROM reads UNION SELECT reach.v, reads.t FROM reach"              \
	"  JOIN reads ON reads.v OPERATOR(pg_catalog.=) reach.t) "
#define OTHER_SCHEMA(n)                                                                              \
	"(" n ".nspname OPERATOR(pg_catalog.<>) ALL ($2::pg_catalog.text[])"                             \
	" AND " n ".nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema," GM_HISTORY_SCHEMA "}'::pg_catalog.text[])" \
	" AND " n ".nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp)')"
static const char outside_sql[] =
	REACH
	"SELECT c.oid::pg_catalog.regclass::pg_catalog.text, CASE"
	"  WHEN " RULED " AND " WRITES("c") " THEN 'a relation it may write, whose rules run as its owner'"
	"  WHEN c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[]) AND " TENANT_COLUMN("c")
	"  THEN 'a table with a tenant column and no row level security'"
	"  WHEN c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[])"
	"  THEN 'a table keyed to a table with row level security, without row level security of its own'"
	"  WHEN c.relkind OPERATOR(pg_catalog.=) 'm' AND " REACHES("t.relrowsecurity")
	"  THEN 'a materialized view of a table with row level security'"
	"  WHEN c.relkind OPERATOR(pg_catalog.=) 'm' THEN 'a materialized view of a table with tenant rows and no row level security'"
	"  WHEN " REACHES("t.relrowsecurity") " THEN 'a view that reads a table with row level security as its owner'"
	"  ELSE 'a view that reads a table with tenant rows and no row level security as its owner' END,"
	" ', in a schema verify does not check'"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
	" WHERE " OTHER_SCHEMA("n")
	" AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f,v,m}'::pg_catalog.\"char\"[])"
	" AND pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'USAGE')"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
	"  AND x.objid OPERATOR(pg_catalog.=) c.oid AND x.deptype OPERATOR(pg_catalog.=) 'e')"
	" AND ((" RULED " AND " WRITES("c") ")"
	"  OR (pg_catalog.has_any_column_privilege($1::pg_catalog.name, c.oid, 'SELECT') AND " READS_TENANT_ROWS "))"
	" UNION ALL"
	" SELECT c.oid::pg_catalog.regclass::pg_catalog.text, pg_catalog.concat('a view of a checked schema that reads ',"
	"  (SELECT pg_catalog.min(t.oid::pg_catalog.regclass::pg_catalog.text) FROM reach"
	"   JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) reach.t"
	"   JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace"
	"   WHERE reach.v OPERATOR(pg_catalog.=) c.oid AND " OTHER_SCHEMA("tn") " AND " UNGUARDED("t") "),"
	"  ', a table with tenant rows and no row level security of a schema verify does not check, as its owner'), ''"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
	" WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])"
	" AND c.relkind OPERATOR(pg_catalog.=) ANY ('{v,m}'::pg_catalog.\"char\"[]) AND " AS_OWNER("c")
	" AND pg_catalog.has_any_column_privilege($1::pg_catalog.name, c.oid, 'SELECT')"
	" AND EXISTS (SELECT 1 FROM reach JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) reach.t"
	"  JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace"
	"  WHERE reach.v OPERATOR(pg_catalog.=) c.oid AND " OTHER_SCHEMA("tn") " AND " UNGUARDED("t") ")"
	" ORDER BY 1";

/* Tables with a tenant column and row-level security in a schema the
 * probe does not look at, which the role may read: their policies are
 * not judged.  Acting as tenant B, the probe counts the rows of other
 * tenants it sees there: any is a breach; none (an empty table) tells
 * nothing, a warning. */
static const char guarded_outside_sql[] =
	"SELECT c.oid::pg_catalog.regclass::pg_catalog.text, a.attname::pg_catalog.text"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
	" JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0"
	" AND NOT a.attisdropped AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[])"
	" WHERE " OTHER_SCHEMA("n")
	" AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[]) AND c.relrowsecurity"
	" AND pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'USAGE')"
	" AND pg_catalog.has_any_column_privilege($1::pg_catalog.name, c.oid, 'SELECT')"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
	"  AND x.objid OPERATOR(pg_catalog.=) c.oid AND x.deptype OPERATOR(pg_catalog.=) 'e')"
	" ORDER BY 1, 2";

static void check_role_reads_guarded_outside(struct gm_probe *p, const char *role, const char *const *params)
{
	PGresult *r = guarded(p, guarded_outside_sql, 3, params);
	char *b = gm_db_quote_literal(p->db, p->org[1]);

	gm_probe_set_tenant(p, 1);
	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
		char *col = gm_db_quote_ident(p->db, PQgetvalue(r, k, 1)), *obj;
		/* A row of no tenant (NULL) is a shared one, as in the probe's
		 * own tables.  The table is named as regclass prints it (the
		 * server quotes what needs it), the column through libpq, B's
		 * value as a literal through libpq. */
		char *sql = gm_xasprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s IS NOT NULL AND %s::pg_catalog.text"
					 " OPERATOR(pg_catalog.<>) %s", PQgetvalue(r, k, 0), col, col, b);
		struct gm_poutcome o;

		gm_probe_exec_as(p, p->roles[0], sql, 1, &o);
		if (o.ok && o.value && atol(o.value) > 0) {
			role_check(p, "-", 0, "the application role reaches no tenant rows outside the checked schemas",
				   "fix its policies, or add its schema to tenancy.schemas so that verify checks it",
				   "role %s may reach %s, a table with a tenant column in a schema verify does not check, whose"
				   " policies let tenant B read %s row%s of other tenants", role, PQgetvalue(r, k, 0), o.value,
				   strcmp(o.value, "1") ? "s" : "");
		} else {
			obj = gm_xasprintf("table %s", PQgetvalue(r, k, 0));
			gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_role_unchecked_schema",
					GM_LEVEL_WARNING, obj, "add its schema to tenancy.schemas so that verify checks it",
					"role %s may read this table with a tenant column and row level security, in a schema"
					" verify does not check: its policies are not judged (tenant B saw %s)", role,
					o.ok ? "no row of another tenant's, of the rows there now" : o.message);
			free(obj);
		}
		gm_poutcome_release(&o);
		free(sql);
		free(col);
	}
	PQclear(r);
	free(b);
}

static void check_role_reads_outside(struct gm_probe *p, const char *role)
{
	struct gm_strbuf schemas = GM_STRBUF_INIT, cols = GM_STRBUF_INIT;
	const char *params[3];
	PGresult *r;

	gm_text_array(&schemas, p->tenancy->schemas.v, p->tenancy->schemas.n);
	gm_text_array(&cols, p->tenancy->columns.v, p->tenancy->columns.n);
	params[0] = role;
	params[1] = schemas.buf;
	params[2] = cols.buf;
	check_role_definers(p, role, schemas.buf);
	check_role_reads_guarded_outside(p, role, params);
	r = guarded(p, outside_sql, 3, params);
	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++)
		role_check(p, "-", 0, "the application role reaches no tenant rows outside the checked schemas",
			   "REVOKE its privileges on it from the application role, or add its schema to tenancy.schemas so"
			   " that verify checks it",
			   "role %s may reach %s, %s%s", role, PQgetvalue(r, k, 0), PQgetvalue(r, k, 1), PQgetvalue(r, k, 2));
	PQclear(r);
	gm_strbuf_release(&schemas);
	gm_strbuf_release(&cols);
}

/* SECURITY DEFINER functions and procedures of schemas the probe does
 * not look at that the role may call: judged as verify judges those of
 * the checked ones (gm_definer_judge); one that touches a tenant table
 * unbound hands the role every tenant's rows, as its owner, and one
 * whose body cannot be judged (SQL built at run time) may. */
static const char definers_sql[] =
	"SELECT f.oid::pg_catalog.regprocedure::pg_catalog.text, pg_catalog.pg_get_functiondef(f.oid),"
	" f.prorettype OPERATOR(pg_catalog.=) ANY ('{trigger,event_trigger}'::pg_catalog.regtype[]),"
	" CASE WHEN f.prokind OPERATOR(pg_catalog.=) 'p' THEN 'procedure' ELSE 'function' END"
	" FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) f.pronamespace"
	" WHERE f.prosecdef AND f.prokind OPERATOR(pg_catalog.=) ANY ('{f,p}'::pg_catalog.\"char\"[])"
	" AND f.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid"
	" AND n.nspname OPERATOR(pg_catalog.<>) ALL ($2::pg_catalog.text[])"
	" AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema," GM_HISTORY_SCHEMA "}'::pg_catalog.text[])"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x WHERE x.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
	"  AND x.objid OPERATOR(pg_catalog.=) f.oid AND x.deptype OPERATOR(pg_catalog.=) 'e')"
	" AND pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'USAGE')"
	" AND pg_catalog.has_function_privilege($1::pg_catalog.name, f.oid, 'EXECUTE')"
	" ORDER BY 1";

/* A table of any schema (but the system's and the history's) named so,
 * with a tenant column ($3): tenant rows, whatever guards them.  A
 * definer of another schema may read one of its own schema, which the
 * probe's tables (the checked schemas') do not list. */
static const char guarded_elsewhere_sql[] =
	"SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
	" WHERE c.relname OPERATOR(pg_catalog.=) $1::pg_catalog.name"
	" AND ($2::pg_catalog.name IS NULL OR n.nspname OPERATOR(pg_catalog.=) $2::pg_catalog.name)"
	" AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog.\"char\"[])"
	" AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema," GM_HISTORY_SCHEMA "}'::pg_catalog.text[])"
	" AND " TENANT_COLUMN("c") " LIMIT 1";

/* gm_definer_protected over the probe's tenant tables, and those of other
 * schemas. */
static int probe_tenant(void *ctx, const char *schema, const char *name)
{
	struct gm_probe *p = ctx;
	struct gm_strbuf cols = GM_STRBUF_INIT;
	const char *params[3] = { name, schema, NULL };
	PGresult *r;
	int found;

	for (size_t k = 0; k < p->t.n; k++) {
		const char *t = p->t.v[k].name, *dot = strchr(t, '.');
		if (!p->t.v[k].tenant || !dot)
			continue;
		if (!strcmp(dot + 1, name) && (!schema || ((size_t)(dot - t) == strlen(schema) && !strncmp(t, schema, strlen(schema)))))
			return 1;
	}
	gm_text_array(&cols, p->tenancy->columns.v, p->tenancy->columns.n);
	params[2] = cols.buf;
	r = guarded(p, guarded_elsewhere_sql, 3, params);
	found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
	PQclear(r);
	gm_strbuf_release(&cols);
	return found;
}

/* gm_probe_callees, telling a catalog read that failed as a check that
 * could not be made (the definer is then unseen, not bound). */
static size_t definer_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	struct gm_probe *p = ctx;
	size_t n = gm_probe_callees(p, how, schema, name, defs);

	if (n == GM_DEFINER_CALLEE_UNKNOWN)
		role_check(p, "-", 0, role_expectation, "see the server's log",
			   "a check of the role could not be made: what %s%s%s runs cannot be read", schema ? schema : "",
			   schema ? "." : "", name);
	return n;
}

static void check_role_definers(struct gm_probe *p, const char *role, const char *schemas)
{
	const char *params[2] = { role, schemas };
	struct gm_policy_judge *j = NULL;
	struct gm_error *err = gm_policy_judge_new(p->tenancy, &j);
	PGresult *r;

	if (err) {
		gm_error_free(err);
		return;
	}
	r = guarded(p, definers_sql, 2, params);
	for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
		char *table = NULL, *why = NULL, *obj;
		switch (gm_definer_judge(j, PQgetvalue(r, k, 1), probe_tenant, definer_callees, p, &table, &why)) {
		case GM_DEFINER_UNBOUND:
			role_check(p, "-", 0, "the application role reaches no tenant rows outside the checked schemas",
				   "bind each of its statements on tenant tables to the tenant, make it SECURITY INVOKER, or"
				   " REVOKE EXECUTE on it from the application role",
				   "role %s may call SECURITY DEFINER %s %s, in a schema verify does not check, which"
				   " touches %s as its owner (%s)", role, PQgetvalue(r, k, 3), PQgetvalue(r, k, 0), table, why);
			break;
		case GM_DEFINER_UNSEEN:
			/* As verify's definer_function_not_analysed: a warning,
			 * which --strict fails on.  A trigger function cannot be
			 * called, only fired by a write, where it is judged. */
			if (!strcmp(PQgetvalue(r, k, 2), "t"))
				break;
			obj = gm_xasprintf("%s %s", PQgetvalue(r, k, 3), PQgetvalue(r, k, 0));
			gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "definer_function_not_analysed",
					GM_LEVEL_WARNING, obj,
					"check by hand that it binds every tenant row it touches to the tenant, make it SECURITY"
					" INVOKER, or REVOKE EXECUTE on it from the application role",
					"role %s may call this SECURITY DEFINER %s, in a schema verify does not check,"
					" whose body cannot be judged (%s)", role, PQgetvalue(r, k, 3), why ? why : "not analysed");
			free(obj);
			break;
		case GM_DEFINER_BOUND:
			break;
		}
		free(table);
		free(why);
	}
	PQclear(r);
	gm_policy_judge_free(j);
}

/* Relations of any schema (but the system's and the history's) on which
 * the role holds TRIGGER without owning them: a trigger it attaches runs
 * its function as whoever writes there, another tenant's session (seeing
 * and changing its rows) or a superuser's migration.  A warning, as
 * verify's trigger_grant: a stock Supabase project grants ALL to its API
 * roles, whose requests cannot make triggers. */
static const char triggers_sql[] =
	"SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
	" WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f}'::pg_catalog.\"char\"[])"
	" AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema," GM_HISTORY_SCHEMA "}'::pg_catalog.name[])"
	" AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_|toast_temp_)'"
	" AND NOT pg_catalog.pg_has_role($1::pg_catalog.name, c.relowner, 'MEMBER')"
	" AND pg_catalog.has_table_privilege($1::pg_catalog.name, c.oid, 'TRIGGER')"
	" ORDER BY 1";

static void check_role_triggers(struct gm_probe *p, const char *role)
{
	const char *params[1] = { role };
	PGresult *r = guarded(p, triggers_sql, 1, params);
	struct gm_strbuf names = GM_STRBUF_INIT;
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
	char *obj = gm_xasprintf("role %s", role);

	for (int k = 0; k < n && k < 5; k++)
		gm_strbuf_addf(&names, "%s%s", k ? ", " : "", PQgetvalue(r, k, 0));
	if (n)
		gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_role_trigger", GM_LEVEL_WARNING, obj,
			"REVOKE TRIGGER ON ... FROM the application role (and from the default privileges that gave it)",
			"role %s holds TRIGGER on %d relation%s it does not own (%s%s): a trigger it attaches runs its"
			" function as whoever writes there, another tenant's session or a superuser's migration",
			role, n, n == 1 ? "" : "s", names.buf, n > 5 ? ", ..." : "");
	free(obj);
	gm_strbuf_release(&names);
	PQclear(r);
}

void gm_probe_check_app_role(struct gm_probe *p, const char *role)
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
	check_role_reads_outside(p, role);
	check_role_triggers(p, role);
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
					 size_t nschemas, const char *app_role, const char *privileges)
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
		/* privileges: a literal of this file's callers; names quoted */
		manage(p, &err, what, "GRANT %s ON ALL TABLES IN SCHEMA %s TO %s", privileges, qs, qrole);
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

static int connecting_super(struct gm_probe *p)
{
	struct gm_poutcome su;
	int yes;

	gm_probe_exec(p, &su, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER", 0, NULL);
	yes = su.ok && su.value && !strcmp(su.value, "t");
	gm_poutcome_release(&su);
	return yes;
}

/* The maker role: the probe makes the rows of a table whose owner is a
 * superuser or has BYPASSRLS as a temporary role, never as that owner.
 * Making rows runs the table's code (triggers, defaults, checks, index
 * expressions, rules, domain checks, casts, and whatever they call,
 * however deep or dynamic) as its maker: as such an owner, any role whose
 * code that reaches would run as a superuser, or read every tenant's
 * rows.  The maker has BYPASSRLS (it makes any tenant's rows), SELECT and
 * INSERT on the checked schemas' tables (no UPDATE or DELETE, with which
 * code it runs could remove or move the rows it made before, and the
 * checks pass on what is left) and USAGE on their sequences, no more; it
 * is no member of any role, and vanishes with the probe's transaction.
 * Any other owner makes its own tables' rows (gm_probe_maker): with
 * BYPASSRLS, the maker would lend its code more than the owner has.  Only
 * a superuser can make a role with BYPASSRLS; probe_reach.c skips the
 * tables made as their owner whose code reaches other roles', as far as
 * it can read it.  The grants of the probe's
 * own role management run with event triggers held (session replication
 * role replica): a superuser's event trigger fires on GRANT, as the
 * superuser, whatever code it calls. */
static void make_maker(struct gm_probe *p, char *const *schemas, size_t nschemas)
{
	char *name = gm_xasprintf("gm_probe_maker_%d_%ld", (int)getpid(), (long)time(NULL));
	char *q = gm_db_quote_ident(p->db, name);
	struct gm_error *err = NULL;
	struct gm_prole *r;

	free(name);
	manage(p, &err, "cannot create the probe's maker role", "CREATE ROLE %s NOLOGIN NOSUPERUSER BYPASSRLS NOINHERIT", q);
	if (!err)
		err = grant_probe_role(p, q, schemas, nschemas, NULL, "SELECT, INSERT");
	if (!err) {
		grant_temporary(p, q);
		r = gm_probe_role_add(p, q);
		if (r->fn)
			p->maker = r;
		else
			err = gm_error_new(GM_ERR_DB, "%s", r->why);
	}
	/* Never back to the owner: its tables are skipped, saying why. */
	for (size_t k = 0; err && k < p->t.n; k++)
		if (p->t.v[k].owner_bypasses && !p->t.v[k].skip)
			p->t.v[k].skip = gm_xasprintf("the probe could not make the role that makes a privileged owner's"
						      " rows (%s), and will not make them as the owner", err->msg);
	gm_error_free(err);
	free(q);
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
	member = !p->super;
	if (member)
		manage(p, NULL, NULL, "GRANT %s TO CURRENT_USER", q);
	grant_temporary(p, q);
	if (!gm_probe_role_add(p, q)->fn)
		err = gm_error_new(GM_ERR_DB, "%s", p->roles[0]->why);
	if (member)
		manage(p, NULL, NULL, "REVOKE %s FROM CURRENT_USER", q);
	if (!err)
		err = grant_probe_role(p, q, schemas, nschemas, o->app_role, "SELECT, INSERT, UPDATE, DELETE");
	free(q);
	return err;
}

/* --as-role: roles[0] is that role. */
static struct gm_error *as_role(struct gm_probe *p, const struct gm_verify_opts *o)
{
	char *q;
	const char *why;

	q = gm_db_quote_ident(p->db, o->as_role);
	gm_probe_role_add(p, q);
	free(q);
	if (p->roles[0]->fn)
		return NULL;
	/* The role's name as the user typed it, then the server's reason. */
	why = strstr(p->roles[0]->why, ": ");
	return gm_error_new(GM_ERR_DB, "cannot act as role %s%s", o->as_role, why ? why : "");
}

/* roles[0]: --as-role, or a temporary role; and the maker role, when the
 * connecting user is a superuser. */
struct gm_error *gm_probe_prepare_role(struct gm_probe *p, const struct gm_verify_opts *o,
				     char *const *schemas, size_t nschemas)
{
	struct gm_error *err;
	int super = p->super = connecting_super(p);
	char *was = gm_probe_hold_event_triggers(p);

	err = o->as_role ? as_role(p, o) : temporary_role(p, o, schemas, nschemas);
	for (size_t k = 0; !err && super && k < p->t.n; k++)
		if (p->t.v[k].owner_bypasses) {
			make_maker(p, schemas, nschemas);
			break;
		}
	gm_probe_release_event_triggers(p, was);
	return err;
}
