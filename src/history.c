/* history.c - the history table and the audit log. */
#include "gm_history.h"
#include "gm_db.h"
#include "gm_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long gm_history_lock_key(void)
{
	/* FNV-1a of a fixed name: stable across versions and machines, and
	 * unlikely to meet an application's own advisory-lock keys. */
	const char *s = "garage-migrate:" GM_HISTORY_SCHEMA;
	unsigned long long h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (long long)(h & 0x7fffffffffffffffULL);
}

/* ---- whose history it is ----
 *
 * Whatever the tool reads or writes in the history schema runs code its
 * owner can plant: a view in place of a table (its functions run as the
 * reader), a rule, a trigger, a policy, a child table.  A role that owns
 * the schema or a table (a deployer that ran up first) could so make a
 * superuser who runs verify, list or rollback run its code, with the
 * superuser's rights.  So every read checks first, in the same round trip,
 * that the schema and both tables are owned by a role trusted as up's
 * functions are (GM_HISTORY_TRUSTED_ROLE), that the tables are plain
 * tables without rules, policies or children, that no other role may add
 * a trigger to them (a TRIGGER grant: it could, between this check and the
 * tool's write) or write them (INSERT, UPDATE, DELETE, TRUNCATE: a row
 * removed is a migration the next up runs again, one added a migration it
 * skips), and that every trigger that fires on what the tool does
 * to them (INSERT, UPDATE, DELETE on the history; INSERT into the audit
 * log) calls a built-in function, with no WHEN condition (one that
 * calls another role's function runs just as well), and that the tables'
 * defaults, CHECK constraints and indexes are those the tool made: a
 * superuser who took over a history made by another role (the advice
 * below) would otherwise keep that role's code, now owned by the
 * superuser, in a trigger function or a default calling query_to_xml.
 *
 * A statement of its own, before the read: the read's own planning would
 * already expand a planted view (and fold its constant calls).  It names
 * only catalogs, and fails a cast of the reason (see engine.c's markers)
 * when there is one.  The transactions that write check again, under the
 * migration lock (gm_history_ensure_sql): while another run held it, or a
 * role that only took the advisory lock's key, the history could have been
 * made by someone else. */
#define TRUST_MARK "garage-migrate: untrusted history: "
#define TRUSTED_ROLE GM_HISTORY_TRUSTED_ROLE("r")
#define OWNED_BY "pg_catalog.format('is owned by role %I, not by %I or a superuser', r.rolname, SESSION_USER)"
#define TRUST_EXPR                                                                                   \
	"CASE WHEN t.why IS NOT NULL THEN ('" TRUST_MARK "' OPERATOR(pg_catalog.||) t.why)::pg_catalog.int4 END"
/* Whether relation c is one of the history's two tables. */
#define HISTORY_TABLES(c) c ".relname IN ('schema_history', 'audit_log')"
/* Whether trigger t (on c) fires on what the tool does: INSERT, UPDATE,
 * DELETE on the history (4 + 8 + 16 in tgtype), INSERT into the audit
 * log (its append-only trigger fires on the rest). */
#define ON_TOOL_EVENTS(t, c)                                                                         \
	t ".tgtype OPERATOR(pg_catalog.&) (CASE WHEN " c ".relname = 'audit_log' THEN 4 ELSE 28 END)::pg_catalog.int2 <> 0"
/* The functions the defaults, constraints and index expressions of table
 * c call (p), directly or as an operator's code: they run as whoever
 * writes the table, and their owner can replace them (an old owner's,
 * left behind when the table was handed over). */
#define USED_FUNCTIONS(c)                                                                            \
	"pg_catalog.pg_depend d1 JOIN pg_catalog.pg_depend d2 ON d2.classid = d1.classid AND d2.objid = d1.objid" \
	" JOIN pg_catalog.pg_proc p ON p.oid = CASE"                                                   \
	" WHEN d2.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d2.refobjid"             \
	" WHEN d2.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass THEN (SELECT o.oprcode::pg_catalog.oid" \
	" FROM pg_catalog.pg_operator o WHERE o.oid = d2.refobjid) END"                              \
	" WHERE d1.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d1.refobjid = " c ".oid" \
	" AND d1.classid IN ('pg_catalog.pg_attrdef'::pg_catalog.regclass,"                            \
	" 'pg_catalog.pg_constraint'::pg_catalog.regclass, 'pg_catalog.pg_class'::pg_catalog.regclass)"
/* What the tool's own tables hold (gm_history_ensure_sql), as the server
 * prints it under the safe path: any other default, CHECK or index
 * expression on them runs with the rights of whoever writes the history,
 * and may call anything, a built-in that runs SQL text (query_to_xml)
 * included; built-ins leave no trace in pg_depend, so only the text can
 * tell.  A built-in object has an oid below 16384 (FirstNormalObjectId):
 * no one can replace it. */
#define MADE_DEFAULTS                                                                                \
	"'{true,now(),CURRENT_USER,0,''applied''::text,clock_timestamp()}'::pg_catalog.text[]"
#define MADE_CHECKS                                                                                  \
	"'{\"CHECK ((version >= 0))\","                                                                  \
	"\"CHECK ((kind = ANY (ARRAY[''sql''::text, ''yaml''::text, ''baseline''::text])))\","            \
	"\"CHECK ((status = ANY (ARRAY[''applied''::text, ''running''::text, ''failed''::text])))\","     \
	"\"CHECK ((action = ANY (ARRAY[''up''::text, ''rollback''::text, ''baseline''::text, ''repair''::text])))\"," \
	"\"CHECK ((outcome = ANY (ARRAY[''ok''::text, ''failed''::text, ''skipped''::text])))\"}'::pg_catalog.text[]"
/* The first of table c's defaults, constraints and indexes the tool did
 * not make, described, or NULL. */
#define NOT_MADE(c)                                                                                  \
	"(SELECT w.why FROM (SELECT pg_catalog.format('has default %s on column %I, which garage-migrate did not make',"  \
	" pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attname) AS why FROM pg_catalog.pg_attrdef ad"       \
	" JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"           \
	" WHERE ad.adrelid = " c ".oid AND pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) <> ALL (" MADE_DEFAULTS ")" \
	" UNION ALL SELECT pg_catalog.format('has constraint %I (%s), which garage-migrate did not make',"  \
	" co.conname, pg_catalog.pg_get_constraintdef(co.oid)) FROM pg_catalog.pg_constraint co"       \
	" WHERE co.conrelid = " c ".oid AND co.contype NOT IN ('p', 'u', 'n')"                          \
	" AND (co.contype <> 'c' OR pg_catalog.pg_get_constraintdef(co.oid) <> ALL (" MADE_CHECKS "))"  \
	" UNION ALL SELECT pg_catalog.format('has index %I on an expression, with a predicate or an operator class not"  \
	" built in, which garage-migrate did not make', ic.relname) FROM pg_catalog.pg_index i"         \
	" JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = " c ".oid"           \
	" AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL"                                          \
	" OR EXISTS (SELECT FROM pg_catalog.unnest(i.indclass::pg_catalog.oid[]) oc WHERE oc >= 16384))" \
	" ORDER BY 1 LIMIT 1) w)"
/* The quick form of NOT_MADE: printing expressions costs a fresh backend
 * catalog reads.  The tables' defaults, constraints and indexes were made
 * in the transaction that made the tables, nothing has changed the
 * tables' own catalog row since (an owner handed over, a grant, a new
 * default or index would), and their expressions hold only what the
 * tool's are made of (a history restored in one transaction from a
 * poisoned dump passes the first two).  Otherwise the whole check runs,
 * NOT_MADE included. */
/* An expression tree (pg_node_tree's text) of only the functions the
 * tool's defaults and checks are made of: now(), clock_timestamp(),
 * CURRENT_USER (a FuncExpr from 16 on), the casts name::text and
 * int4::int8, int84ge, texteq (their occurrences count all there are),
 * and none of the nodes that run a type's or a domain's code or a
 * query.  String arithmetic, not a regular expression: a fresh backend
 * pays for compiling one.  Anything else sends the run to the whole
 * check, which compares the print: slower, not unsafe. */
#define ALLOWED_CALLS(t)                                                                             \
	"pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace("  \
	"pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(" t ", ':funcid 1299 ', ''),"            \
	" ':funcid 2649 ', ''), ':funcid 745 ', ''), ':funcid 746 ', ''), ':funcid 406 ', ''),"              \
	" ':funcid 481 ', ''), ':opfuncid 479 ', ''), ':opfuncid 67 ', '')"
#define PLAIN_TREE(tree)                                                                             \
	"(SELECT pg_catalog.strpos(x.t, ':funcid ') = 0 AND pg_catalog.strpos(x.t, ':opfuncid ') = 0"     \
	" AND pg_catalog.strpos(x.t, '{COERCETODOMAIN') = 0 AND pg_catalog.strpos(x.t, '{COERCEVIAIO') = 0" \
	" AND pg_catalog.strpos(x.t, '{ARRAYCOERCEEXPR') = 0 AND pg_catalog.strpos(x.t, '{SUBLINK') = 0"  \
	" FROM (SELECT " ALLOWED_CALLS(tree) " AS t) x)"
#define MADE_WITH(c)                                                                                 \
	"(NOT EXISTS (SELECT FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid = " c ".oid"                  \
	" AND (ad.xmin <> " c ".xmin OR NOT " PLAIN_TREE("ad.adbin::pg_catalog.text") "))"                                 \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint co WHERE co.conrelid = " c ".oid"          \
	" AND (co.xmin <> " c ".xmin OR (co.conbin IS NOT NULL AND NOT " PLAIN_TREE("co.conbin::pg_catalog.text") ")))"    \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = " c ".oid AND i.xmin <> " c ".xmin))"
/* Whether another table's foreign key refers to table c: its action
 * triggers sit on c (pg_trigger's index finds them; pg_constraint has none
 * on confrelid), and garage-migrate's tables have no key of their own.
 * rollback's and repair's deletes would fire that table's triggers as
 * the tool's role. */
#define REFERRED_TO(c) "EXISTS (SELECT FROM pg_catalog.pg_trigger k WHERE k.tgrelid = " c ".oid AND k.tgconstraint <> 0)"
#define TRUST_FROM                                                                                   \
	" FROM (SELECT (SELECT x.what OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) x.problem" \
	" FROM (SELECT 0 AS o, pg_catalog.format('schema %I', n.nspname) AS what," \
	"  CASE WHEN NOT " TRUSTED_ROLE " THEN " OWNED_BY " END AS problem" \
	"  FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner" \
	"  WHERE n.nspname = '" GM_HISTORY_SCHEMA "'" \
	" UNION ALL SELECT 1, pg_catalog.format('%I.%I', n.nspname, c.relname)," \
	"  CASE WHEN c.relkind <> 'r' THEN 'is not a plain table'" \
	/* A partition's key expression, in its parent, runs on every write. */ \
	"  WHEN c.relispartition THEN 'is a partition of another table, which garage-migrate did not make'" \
	"  WHEN EXISTS (SELECT FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = c.oid)" \
	"  THEN 'has extended statistics (their expressions run on ANALYZE), which garage-migrate did not make'" \
	"  WHEN NOT " TRUSTED_ROLE " THEN " OWNED_BY \
	"  WHEN EXISTS (SELECT FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid) THEN 'has rules'" \
	"  WHEN tg.why IS NOT NULL THEN tg.why" \
	"  WHEN col.why IS NOT NULL THEN col.why" \
	"  WHEN g.why IS NOT NULL THEN g.why" \
	"  WHEN dp.why IS NOT NULL THEN dp.why" \
	"  WHEN " NOT_MADE("c") " IS NOT NULL THEN " NOT_MADE("c") \
	"  WHEN EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) THEN 'has row-level security policies'" \
	"  WHEN EXISTS (SELECT FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) THEN 'has child tables'" \
	"  WHEN " REFERRED_TO("c") \
	"  THEN (SELECT pg_catalog.format('is referenced by foreign key %I of table %s, which garage-migrate did not make'," \
	"   k.conname, k.conrelid::pg_catalog.regclass) FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_constraint k" \
	"   ON k.oid = t.tgconstraint WHERE t.tgrelid = c.oid ORDER BY 1 LIMIT 1)" \
	"  END" \
	"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" \
	"  JOIN pg_catalog.pg_roles r ON r.oid = c.relowner" \
	"  LEFT JOIN LATERAL (SELECT CASE WHEN t.tgqual IS NOT NULL" \
	"   THEN pg_catalog.format('has trigger %I with a WHEN condition', t.tgname)" \
	"   WHEN NOT " GM_HISTORY_TRUSTED_ROLE("fr") \
	"   THEN pg_catalog.format('has trigger %I, whose function is owned by role %I, not by %I or a superuser'," \
	"   t.tgname, fr.rolname, SESSION_USER)" \
	"   ELSE pg_catalog.format('has trigger %I, whose function %s is not built in, which garage-migrate did not make'," \
	"   t.tgname, f.oid::pg_catalog.regprocedure) END AS why FROM pg_catalog.pg_trigger t" \
	"   JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid JOIN pg_catalog.pg_roles fr ON fr.oid = f.proowner" \
	"   WHERE t.tgrelid = c.oid AND NOT t.tgisinternal" \
	"   AND (t.tgqual IS NOT NULL OR f.oid >= 16384)" \
	"   AND " ON_TOOL_EVENTS("t", "c") \
	"   ORDER BY t.tgname LIMIT 1) g ON true" \
	"  LEFT JOIN LATERAL (SELECT pg_catalog.format('grants %s to %s, not %I or a superuser', a.privilege_type," \
	"   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.format('role %I', gr.rolname) END, SESSION_USER) AS why" \
	"   FROM pg_catalog.aclexplode(c.relacl) a LEFT JOIN pg_catalog.pg_roles gr ON gr.oid = a.grantee" \
	"   WHERE a.privilege_type IN ('TRIGGER', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES')" \
	"   AND (a.grantee = 0 OR NOT " GM_HISTORY_TRUSTED_ROLE("gr") ")" \
	"   ORDER BY 1 LIMIT 1) tg ON true" \
	/* A column of another role's type (a domain's CHECK runs its code on
	 * every insert), or writable by another role (a column grant). */ \
	"  LEFT JOIN LATERAL (SELECT CASE WHEN ty.oid >= 16384" \
	"   THEN pg_catalog.format('has column %I of type %s, not a built-in one', a.attname, a.atttypid::pg_catalog.regtype)" \
	"   ELSE pg_catalog.format('grants %s on column %I to %s, not %I or a superuser', ag.privilege_type, a.attname," \
	"   CASE WHEN ag.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.format('role %I', gc.rolname) END, SESSION_USER) END AS why" \
	"   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid" \
	"   LEFT JOIN LATERAL pg_catalog.aclexplode(a.attacl) ag ON true" \
	"   LEFT JOIN pg_catalog.pg_roles gc ON gc.oid = ag.grantee" \
	"   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND (ty.oid >= 16384" \
	"   OR (ag.privilege_type IN ('INSERT', 'UPDATE') AND (ag.grantee = 0 OR NOT " GM_HISTORY_TRUSTED_ROLE("gc") ")))" \
	"   ORDER BY 1 LIMIT 1) col ON true" \
	"  LEFT JOIN LATERAL (SELECT pg_catalog.format('uses function %s, owned by role %I, not by %I or a superuser'," \
	"   p.oid::pg_catalog.regprocedure, pg_catalog.pg_get_userbyid(p.proowner), SESSION_USER) AS why" \
	"   FROM " USED_FUNCTIONS("c") " AND NOT (SELECT " GM_HISTORY_TRUSTED_ROLE("pr")              \
	"   FROM pg_catalog.pg_roles pr WHERE pr.oid = p.proowner) ORDER BY 1 LIMIT 1) dp ON true" \
	"  WHERE n.nspname = '" GM_HISTORY_SCHEMA "' AND " HISTORY_TABLES("c") ") x" \
	" WHERE x.problem IS NOT NULL ORDER BY x.o, x.what LIMIT 1) AS why) t"
static const char trust_sql[] = "SELECT " TRUST_EXPR TRUST_FROM;

/* The whole check costs a fresh backend more than the history read (its
 * plan opens half the catalog: some 15 ms here).  The usual history needs
 * less to be trusted: the schema and both tables the login role's own,
 * plain, without rules, children or row security (so no policy applies),
 * never granted to anyone (relacl NULL, or just the owner's own after the
 * grants up took away; no column grants), without triggers on what the
 * tool does, their columns of built-in types (owned by the bootstrap
 * superuser, 10), and the functions their defaults, constraints and
 * indexes use the owner's or built-in.  Otherwise, or when there is no history
 * yet, the whole check runs. */
#define FAST_OK                                                                                      \
	"(SELECT n.oid IS NULL OR (pg_catalog.pg_get_userbyid(n.nspowner) = SESSION_USER AND (SELECT"  \
	" pg_catalog.count(*) = 2 AND pg_catalog.bool_and(c.relowner = n.nspowner AND c.relkind = 'r'"  \
	" AND NOT c.relhasrules AND NOT c.relhassubclass AND NOT c.relrowsecurity AND NOT c.relispartition" \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = c.oid)"          \
	" AND NOT " REFERRED_TO("c") \
	" AND (c.relacl IS NULL OR c.relacl = pg_catalog.acldefault('r', c.relowner)))"              \
	" FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid"                                    \
	" AND " HISTORY_TABLES("c") ")"                                          \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid" \
	" WHERE c.relnamespace = n.oid AND " HISTORY_TABLES("c") " AND NOT t.tgisinternal" \
	" AND " ON_TOOL_EVENTS("t", "c") ")" \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c, " USED_FUNCTIONS("c")                    \
	" AND c.relnamespace = n.oid AND " HISTORY_TABLES("c")                 \
	" AND p.proowner <> n.nspowner AND p.proowner <> 10)"                                         \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid" \
	" JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid WHERE c.relnamespace = n.oid"              \
	" AND " HISTORY_TABLES("c") " AND a.attnum > 0 AND NOT a.attisdropped"    \
	" AND (ty.oid >= 16384 OR a.attacl IS NOT NULL))"                                            \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid"               \
	" AND " HISTORY_TABLES("c") " AND NOT " MADE_WITH("c") "))"                                   \
	" FROM (SELECT) x LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = '" GM_HISTORY_SCHEMA "')"
/* Fails, before the read in the same string, when the whole check must run. */
#define RECHECK_MARK "garage-migrate: history to check in full: "
static const char fast_sql[] =
	"SELECT CASE WHEN f.ok IS NOT TRUE THEN ('" RECHECK_MARK "' OPERATOR(pg_catalog.||)"
	" coalesce(f.ok::pg_catalog.text, 'null'))::pg_catalog.int4 END FROM (SELECT " FAST_OK " AS ok) f";

/* A table just made may come with grants (ALTER DEFAULT PRIVILEGES):
 * any but the owner's go, or the check below would refuse it. */
#define REVOKE_GRANTS(table)                                                                         \
	"    FOR g IN SELECT DISTINCT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a\n" \
	"      WHERE c.oid = '" table "'::pg_catalog.regclass AND a.grantee <> c.relowner LOOP\n"      \
	"      EXECUTE pg_catalog.format('REVOKE ALL ON " table " FROM %s',\n"                           \
	"        CASE WHEN g = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g)) END);\n" \
	"    END LOOP;\n"

/* One statement, for any transaction that holds the migration lock: it
 * makes what is missing, then checks the whole history as trust_sql does
 * (failing with its marker), before the transaction writes to it. */
const char gm_history_ensure_sql[] =
	"DO $gm$\n"
	"DECLARE g pg_catalog.oid;\n"
	"BEGIN\n"
	/* What it makes belongs to the role the session acts as: one that
	 * GM_HISTORY_TRUSTED_ROLE would not trust, made a history every later
	 * run refuses (see trust_sql below). */
	"  IF (to_regnamespace('" GM_HISTORY_SCHEMA "') IS NULL OR to_regclass('" GM_HISTORY_TABLE "') IS NULL\n"
	"      OR to_regclass('" GM_AUDIT_TABLE "') IS NULL)\n"
	"     AND NOT (SELECT " GM_HISTORY_TRUSTED_ROLE("r") " FROM pg_roles r WHERE r.rolname = CURRENT_USER) THEN\n"
	"    RAISE EXCEPTION 'garage-migrate: the history would belong to role %, which this session acts as'\n"
	"      ' (SET ROLE) and only its members trust', CURRENT_USER\n"
	"      USING HINT = 'connect as that role, or create the history without SET ROLE';\n"
	"  END IF;\n"
	"  IF to_regnamespace('" GM_HISTORY_SCHEMA "') IS NULL THEN\n"
	"    CREATE SCHEMA " GM_HISTORY_SCHEMA ";\n"
	"    COMMENT ON SCHEMA " GM_HISTORY_SCHEMA " IS 'garage-migrate: applied migrations and audit log';\n"
	"  END IF;\n"
	"  IF to_regclass('" GM_HISTORY_TABLE "') IS NULL THEN\n"
	"    CREATE TABLE " GM_HISTORY_TABLE " (\n"
	"      version bigint PRIMARY KEY CHECK (version >= 0),\n"
	"      applied_seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,\n"
	"      version_text text NOT NULL,\n"
	"      name text NOT NULL,\n"
	"      script text NOT NULL,\n"
	"      checksum text NOT NULL,\n"
	"      kind text NOT NULL CHECK (kind IN ('sql', 'yaml', 'baseline')),\n"
	"      transactional boolean NOT NULL DEFAULT true,\n"
	"      applied_at timestamptz NOT NULL DEFAULT now(),\n"
	"      applied_by text NOT NULL DEFAULT current_user,\n"
	"      os_user text,\n"
	"      execution_ms bigint NOT NULL DEFAULT 0,\n"
	"      status text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'running', 'failed')),\n"
	"      backend_pid integer,\n"
	"      message text\n"
	"    );\n"
	REVOKE_GRANTS(GM_HISTORY_TABLE)
	"  END IF;\n"
	"  IF to_regclass('" GM_AUDIT_TABLE "') IS NULL THEN\n"
	"    CREATE TABLE " GM_AUDIT_TABLE " (\n"
	"      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	"      at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
	"      action text NOT NULL CHECK (action IN ('up', 'rollback', 'baseline', 'repair')),\n"
	"      version bigint,\n"
	"      name text,\n"
	"      checksum text,\n"
	"      outcome text NOT NULL CHECK (outcome IN ('ok', 'failed', 'skipped')),\n"
	"      db_user text NOT NULL DEFAULT current_user,\n"
	"      os_user text,\n"
	"      duration_ms bigint,\n"
	"      message text\n"
	"    );\n"
	"    CREATE FUNCTION " GM_HISTORY_SCHEMA ".audit_log_append_only() RETURNS trigger\n"
	"      LANGUAGE plpgsql AS $f$\n"
	"      BEGIN\n"
	"        RAISE EXCEPTION 'garage_migrate.audit_log is append-only';\n"
	"      END $f$;\n"
	"    CREATE TRIGGER audit_log_append_only\n"
	"      BEFORE UPDATE OR DELETE OR TRUNCATE ON " GM_AUDIT_TABLE "\n"
	"      FOR EACH STATEMENT EXECUTE FUNCTION " GM_HISTORY_SCHEMA ".audit_log_append_only();\n"
	REVOKE_GRANTS(GM_AUDIT_TABLE)
	"  END IF;\n"
	"  IF " FAST_OK " IS NOT TRUE THEN\n"
	"    PERFORM " TRUST_EXPR TRUST_FROM ";\n"
	"  END IF;\n"
	"END $gm$;\n";

struct gm_error *gm_history_ensure(struct gm_db *db)
{
	/* The safe path: the defaults (now(), current_user) are bound to
	 * functions when the tables are created. */
	char *sql = gm_xasprintf(GM_SQL_BEGIN ";\n" GM_SQL_PIN_PATH ";\nSELECT pg_catalog.pg_advisory_xact_lock(%lld);\n%sCOMMIT;",
				 gm_history_lock_key(), gm_history_ensure_sql);
	struct gm_error *err = gm_db_exec(db, sql, "cannot create the history table " GM_HISTORY_TABLE, NULL);

	free(sql);
	if (err && PQstatus(db->conn) == CONNECTION_BAD) {
		/* Its COMMIT may have been the lost part: making what is missing
		 * is all it does, so the next run finds it, or makes it. */
		gm_error_advise(err, "the connection was lost while the history was being made (its COMMIT may have been"
				     " answered or not); nothing else was done: run the command again");
	} else if (err) {
		PQclear(PQexec(db->conn, "ROLLBACK"));
		if (gm_history_is_untrusted(err))
			return gm_history_untrusted(err);
		gm_error_advise(err, "the connecting role needs CREATE on the database the first time (or create schema " GM_HISTORY_SCHEMA " for it)");
	}
	return err;
}

/* Reading must not create anything: list, log and dry runs ask whether
 * the history is there (read_table).  These reads may run outside any
 * transaction of the tool's, on a pooled server connection whose
 * search_path the session setup never reached: so every function and
 * relation is named with its schema. */


/* What to do, by the reason trust_sql gave (the first that matches). */
static const char *const trust_advice[][2] = {
	{ " grants ", "another role may change the history (add a trigger between this check and the write, forge or"
		      " remove rows): REVOKE that privilege from it" },
	{ " of type ", "a type's owner can give it a CHECK that runs with your rights on every insert:"
		       " ALTER ... TYPE the column back to the built-in one garage-migrate made" },
	{ " with a WHEN condition", "its condition runs with your rights, whatever it calls: drop the trigger" },
	{ " which garage-migrate did not make", "it runs with your rights on every write to the history, whoever wrote it"
						" (a function owned by a superuser may still be an old owner's code):"
						" drop it; the history needs nothing but what garage-migrate made" },
	{ " has trigger ", "its function would run with your rights, and its owner can change it:"
			  " drop the trigger, or have a superuser make the function yours" },
	{ " is owned by role ", "code its owner plants there (a view, a rule, a trigger) would run with your rights:"
			       " connect as that role (not SET ROLE to it), or have a superuser make the history yours"
			       " (ALTER SCHEMA " GM_HISTORY_SCHEMA " OWNER TO ..., and each table and function in it),"
			       " once sure that nothing its old owner made there (a trigger, a default, an index) calls a"
			       " function that role can replace" },
	{ "", "garage-migrate made it a plain table with none of these: code there would run with your rights;"
	      " have its owner remove what was added" },
};

/* The reason in err's message, when err is the trust check's refusal. */
static const char *trust_reason(const struct gm_error *err)
{
	const char *p = err && err->sqlstate && !strcmp(err->sqlstate, "22P02") ? strstr(err->msg, TRUST_MARK) : NULL;

	return p ? p + strlen(TRUST_MARK) : NULL;
}

int gm_history_is_untrusted(const struct gm_error *err)
{
	return trust_reason(err) != NULL;
}

struct gm_error *gm_history_untrusted(struct gm_error *err)
{
	const char *p = trust_reason(err);
	const char *end;
	struct gm_error *out;
	size_t k;
	int len;

	if (!p)
		return err;
	end = strrchr(p, '"');
	len = (int)(end ? (size_t)(end - p) : strlen(p));
	out = gm_error_new(GM_ERR_DB, "refusing to use the history: %.*s", len, p);
	for (k = 0; !strstr(p, trust_advice[k][0]); k++)
		;
	gm_error_advise(out, "%s", trust_advice[k][1]);
	gm_error_free(err);
	return out;
}

static char *dup_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? gm_xstrdup("") : gm_xstrdup(PQgetvalue(res, row, col));
}

/* Outside a transaction a read is one round trip; a missing table fails
 * it (42P01, also when the schema is missing), which is how a database
 * that never saw garage-migrate reads.  Inside one (verify, reconciling,
 * rollback) a failure would end the caller's transaction: it looks
 * first. */
/* Runs [also;] check; sql as one read, the check the quick one first
 * (fast_sql) and, when it says so, the whole one (trust_sql).  res has a
 * result for each (2 or 3); *at as gm_db_read_once_n's failed_at. */
static struct gm_error *read_checked(struct gm_db *db, const char *also, const char *sql, const char *what,
				     PGresult **res, int *at)
{
	int n = also ? 3 : 2;
	struct gm_error *err = NULL;

	for (int full = 0; full < 2; full++) {
		const char *check = full ? trust_sql : fast_sql;
		char *batch = also ? gm_xasprintf("%s; %s; %s", also, check, sql) : gm_xasprintf("%s; %s", check, sql);

		err = gm_db_read_once_n(db, batch, n, what, res, at);
		free(batch);
		if (full || !err || !err->sqlstate || strcmp(err->sqlstate, "22P02") || !strstr(err->msg, RECHECK_MARK))
			break;
		gm_error_free(err);
		err = NULL;
		for (int k = 0; k < n; k++)
			PQclear(res[k]);
	}
	return err;
}

static struct gm_error *read_table(struct gm_db *db, const char *relation, const char *sql,
				   const char *what, int *exists, PGresult **res)
{
	struct gm_error *err;
	const char *params[1];
	PGresult *r[2];
	int at, fast;

	*res = NULL;
	*exists = 0;
	if (PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
		err = read_checked(db, NULL, sql, what, r, &at);
		PQclear(r[0]);
		if (err && at == 1 && err->sqlstate && !strcmp(err->sqlstate, "42P01")) {
			gm_error_free(err);
			return NULL;
		}
		if (err)
			return gm_history_untrusted(err);
		*exists = 1;
		*res = r[1];
		return NULL;
	}
	/* In a transaction (verify, rollback): the quick check and whether
	 * the table is there, in one statement; the whole check when needed. */
	params[0] = relation;
	if ((err = gm_db_query_pinned(db, "SELECT " FAST_OK ", pg_catalog.to_regclass($1) IS NOT NULL", 1, params,
				      what, &r[0])))
		return err;
	fast = PQntuples(r[0]) == 1 && strcmp(PQgetvalue(r[0], 0, 0), "t") == 0;
	*exists = PQntuples(r[0]) == 1 && strcmp(PQgetvalue(r[0], 0, 1), "t") == 0;
	PQclear(r[0]);
	if (!fast && (err = gm_db_exec(db, trust_sql, what, NULL)))
		return gm_history_untrusted(err);
	if (!*exists)
		return NULL;
	return gm_db_exec(db, sql, what, res);
}

/* Read at the start of every command, often on a fresh backend, where
 * planning is dear: the time is formatted here, not by to_char, and the
 * check for a live session calls the function under pg_stat_activity
 * directly (the view joins two catalogs more, for every plan). */
static const char history_sql[] =
	"SELECT version, version_text, name, script, checksum, kind,"
	" CASE WHEN pg_catalog.isfinite(applied_at)"
	" THEN pg_catalog.floor(pg_catalog.date_part('epoch', applied_at))::pg_catalog.int8 END,"
	" applied_by, execution_ms, applied_seq,"
	/* A no-transaction migration whose claiming session is gone was
	 * interrupted: nobody is running it any more. */
	" CASE WHEN status = 'running' AND NOT " GM_HISTORY_CLAIM_LIVE("h") " THEN 'interrupted' ELSE status END,"
	" message"
	" FROM " GM_HISTORY_TABLE " h ORDER BY version";

/* Seconds since 1970 (UTC) as ISO 8601, to the second; "" for none (an
 * infinite time). */
static char *iso_utc(const PGresult *res, int row, int col)
{
	char buf[64];
	struct tm tm;
	time_t t;

	if (PQgetisnull(res, row, col))
		return gm_xstrdup("");
	t = (time_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return gm_xstrdup("");
	return gm_xstrdup(buf);
}

static struct gm_error *load_rows(PGresult *res, struct gm_history *out)
{
	int k, n = PQntuples(res);

	if (PQnfields(res) != 12) {
		PQclear(res);
		return gm_error_new(GM_ERR_DB, "unexpected shape of " GM_HISTORY_TABLE);
	}
	out->v = gm_xcalloc((size_t)n, sizeof(*out->v));
	for (k = 0; k < n; k++) {
		struct gm_applied *a = &out->v[k];
		a->version = strtoull(PQgetvalue(res, k, 0), NULL, 10);
		a->version_text = dup_value(res, k, 1);
		a->name = dup_value(res, k, 2);
		a->script = dup_value(res, k, 3);
		a->checksum = dup_value(res, k, 4);
		a->kind = dup_value(res, k, 5);
		a->applied_at = iso_utc(res, k, 6);
		a->applied_by = dup_value(res, k, 7);
		a->execution_ms = strtoll(PQgetvalue(res, k, 8), NULL, 10);
		a->seq = strtoll(PQgetvalue(res, k, 9), NULL, 10);
		a->status = dup_value(res, k, 10);
		a->message = PQgetisnull(res, k, 11) ? NULL : gm_xstrdup(PQgetvalue(res, k, 11));
	}
	out->n = (size_t)n;
	PQclear(res);
	return NULL;
}

struct gm_error *gm_history_read(struct gm_db *db, struct gm_history *out)
{
	PGresult *res = NULL;
	struct gm_error *err;

	memset(out, 0, sizeof(*out));
	err = read_table(db, GM_HISTORY_TABLE, history_sql,
		"cannot read the history table " GM_HISTORY_TABLE, &out->exists, &res);
	if (err || !out->exists)
		return err;
	return load_rows(res, out);
}

struct gm_error *gm_history_read_also(struct gm_db *db, struct gm_history *out, const char *also,
				      PGresult **also_res)
{
	struct gm_error *err;
	PGresult *res[3];
	int at;

	*also_res = NULL;
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return gm_history_read(db, out);
	memset(out, 0, sizeof(*out));
	err = read_checked(db, also, history_sql, "cannot read the history table " GM_HISTORY_TABLE, res, &at);
	PQclear(at >= 2 ? res[1] : NULL);
	if (err) {
		/* A history never created reads as empty, as in gm_history_read. */
		if (at == 2 && err->sqlstate && !strcmp(err->sqlstate, "42P01")) {
			gm_error_free(err);
			*also_res = res[0];
			return NULL;
		}
		PQclear(at >= 1 ? res[0] : NULL);
		return gm_history_untrusted(err);
	}
	*also_res = res[0];
	out->exists = 1;
	return load_rows(res[2], out);
}

void gm_history_release(struct gm_history *h)
{
	size_t k;

	for (k = 0; k < h->n; k++) {
		struct gm_applied *a = &h->v[k];
		free(a->version_text);
		free(a->name);
		free(a->script);
		free(a->checksum);
		free(a->kind);
		free(a->applied_at);
		free(a->applied_by);
		free(a->status);
		free(a->message);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

const struct gm_applied *gm_history_find(const struct gm_history *h,
					 unsigned long long version)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->v[mid].version == version)
			return &h->v[mid];
		if (h->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *gm_history_kind(const struct gm_migration *m)
{
	return m->format == GM_FORMAT_YAML ? "yaml" : "sql";
}


void gm_history_add_record_sql(struct gm_db *db, struct gm_strbuf *sql,
			       const struct gm_migration *m, const char *action,
			       const char *os_user)
{
	gm_history_add_record_sql_with(db, sql, m, action, os_user, NULL, NULL);
}

void gm_history_add_record_sql_with(struct gm_db *db, struct gm_strbuf *sql,
				    const struct gm_migration *m, const char *action,
				    const char *os_user, const char *ctes, const char *column)
{
	int baseline = strcmp(action, "baseline") == 0;
	char *name = gm_db_quote_literal(db, m->name);
	char *script = gm_db_quote_literal(db, m->filename);
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");

	/* One statement for both rows (the audit entry is made from the
	 * history row just inserted), returning the row's applied_seq: the
	 * next migration's re-check compares with it (see engine.c).  Safe
	 * to splice: names quoted through libpq above, version_text digits
	 * (checked with the file name), checksum hex computed here, the rest
	 * fixed words; ctes and column are the caller's own SQL. */
	gm_strbuf_addf(sql,
		"WITH %sh AS (" GM_HISTORY_RECORD_INTO
		" VALUES (%llu, '%s', %s, %s, '%s', '%s', %s, NULLIF(%s, ''), %s)"
		" RETURNING version, name, checksum, os_user, execution_ms, applied_seq),"
		" a AS (" GM_AUDIT_ENTRY_INTO
		" SELECT '%s', version, name, checksum, 'ok', os_user, execution_ms, %s FROM h)"
		" SELECT applied_seq%s%s FROM h;\n",
		ctes ? ctes : "",
		m->version, m->version_text, name, script, m->checksum,
		baseline ? "baseline" : gm_history_kind(m), m->transactional ? "true" : "false", user,
		baseline ? "0" : GM_HISTORY_ELAPSED_MS, baseline ? "baseline" : "up",
		baseline ? "'marked applied without running it'" : "NULL",
		column ? ", " : "", column ? column : "");
	free(name);
	free(script);
	free(user);
}

void gm_history_add_claim_sql(struct gm_db *db, struct gm_strbuf *sql,
			      const struct gm_migration *m, const char *os_user)
{
	char *name = gm_db_quote_literal(db, m->name);
	char *script = gm_db_quote_literal(db, m->filename);
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");

	gm_strbuf_addf(sql, "DELETE FROM " GM_HISTORY_TABLE " WHERE version = %llu AND status <> 'applied';\n",
		       m->version);
	gm_strbuf_addf(sql,
		"INSERT INTO " GM_HISTORY_TABLE
		" (version, version_text, name, script, checksum, kind, transactional, os_user, status, backend_pid, message)"
		" VALUES (%llu, '%s', %s, %s, '%s', '%s', false, NULLIF(%s, ''), 'running', pg_backend_pid(),"
		" 'started; no statement has run yet');\n",
		m->version, m->version_text, name, script, m->checksum, gm_history_kind(m), user);
	free(name);
	free(script);
	free(user);
}

void gm_history_add_finish_sql(struct gm_db *db, struct gm_strbuf *sql,
			       const struct gm_migration *m, const char *os_user,
			       int ok, const char *message, long long ms)
{
	char *name = gm_db_quote_literal(db, m->name);
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");
	char *msg = message ? gm_db_quote_literal(db, message) : gm_xstrdup("NULL");

	/* status is a fixed word, message quoted through libpq. */
	gm_strbuf_addf(sql,
		"UPDATE " GM_HISTORY_TABLE " SET status = '%s', message = %s, execution_ms = %lld,"
		" applied_at = now() WHERE version = %llu;\n",
		ok ? "applied" : "failed", msg, ms, m->version);
	gm_strbuf_addf(sql,
		GM_AUDIT_ENTRY_INTO
		" VALUES ('up', %llu, %s, '%s', '%s', NULLIF(%s, ''), %lld, %s);\n",
		m->version, name, m->checksum, ok ? "ok" : "failed", user, ms, msg);
	free(name);
	free(user);
	free(msg);
}

void gm_history_add_unrecord_sql(struct gm_db *db, struct gm_strbuf *sql,
				 const struct gm_applied *a, const char *os_user,
				 const char *message)
{
	char *name = gm_db_quote_literal(db, a->name);
	char *checksum = gm_db_quote_literal(db, a->checksum);
	char *user = gm_db_quote_literal(db, os_user ? os_user : "");
	char *msg = message ? gm_db_quote_literal(db, message) : gm_xstrdup("NULL");

	gm_strbuf_addf(sql, "DELETE FROM " GM_HISTORY_TABLE " WHERE version = %llu;\n", a->version);
	gm_strbuf_addf(sql,
		GM_AUDIT_ENTRY_INTO
		" VALUES ('rollback', %llu, %s, %s, 'ok', NULLIF(%s, ''), " GM_HISTORY_ELAPSED_MS ", %s);\n",
		a->version, name, checksum, user, msg);
	free(name);
	free(checksum);
	free(user);
	free(msg);
}

struct gm_error *gm_history_audit(struct gm_db *db, const char *action,
				  unsigned long long version, const char *name,
				  const char *checksum, const char *outcome,
				  const char *os_user, const char *message)
{
	char v[32];
	const char *params[7];

	snprintf(v, sizeof(v), "%llu", version);
	params[0] = action;
	params[1] = v;
	params[2] = name;
	params[3] = checksum;
	params[4] = outcome;
	params[5] = os_user && *os_user ? os_user : NULL;
	params[6] = message;
	return gm_db_exec_params(db,
		"INSERT INTO " GM_AUDIT_TABLE
		" (action, version, name, checksum, outcome, os_user, message)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)",
		7, params, "cannot write to the audit log", NULL);
}

#define AUDIT_FIELDS 11

static char *dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : gm_xstrdup(PQgetvalue(res, row, col));
}

struct gm_error *gm_history_read_audit(struct gm_db *db, unsigned long limit, struct gm_audit *out)
{
	PGresult *res = NULL;
	struct gm_error *err;
	char *sql;
	int k, n;

	memset(out, 0, sizeof(*out));
	/* limit is a number printed here: safe to splice. */
	sql = gm_xasprintf(
		"SELECT * FROM (SELECT id, pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		" action, version, name, checksum, outcome, db_user, os_user, duration_ms, message"
		" FROM " GM_AUDIT_TABLE " ORDER BY id DESC LIMIT NULLIF(%lu, 0)) l ORDER BY id", limit);
	err = read_table(db, GM_AUDIT_TABLE, sql, "cannot read the audit log " GM_AUDIT_TABLE, &out->exists, &res);
	free(sql);
	if (err || !out->exists)
		return err;
	n = PQntuples(res);
	out->v = gm_xcalloc((size_t)(n ? n : 1), sizeof(*out->v));
	for (k = 0; k < n; k++) {
		struct gm_audit_entry *e = &out->v[k];
		char **f[AUDIT_FIELDS] = { &e->id, &e->at, &e->action, &e->version, &e->name, &e->checksum,
					   &e->outcome, &e->db_user, &e->os_user, &e->duration_ms, &e->message };
		for (int c = 0; c < AUDIT_FIELDS; c++)
			*f[c] = dup_or_null(res, k, c);
	}
	out->n = (size_t)n;
	PQclear(res);
	return NULL;
}

void gm_audit_release(struct gm_audit *a)
{
	size_t k;

	for (k = 0; k < a->n; k++) {
		struct gm_audit_entry *e = &a->v[k];
		char *f[AUDIT_FIELDS] = { e->id, e->at, e->action, e->version, e->name, e->checksum,
					  e->outcome, e->db_user, e->os_user, e->duration_ms, e->message };
		for (int c = 0; c < AUDIT_FIELDS; c++)
			free(f[c]);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}
