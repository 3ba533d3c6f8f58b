/* probe_reach.c - what code a call, an operator, a cast or a write runs in
 * the database, and whose code it is.
 *
 * Two readers share it.  The definer judge (gm_definer_judge) follows what
 * an outside SECURITY DEFINER function reaches (probe_roles.c).  And the
 * probe makes its rows as each table's owner, often a superuser: writing
 * the table runs its triggers, defaults and checks, and whatever their
 * code calls, however deep, as that owner.  Code of another role (not a
 * superuser, not the table's owner) reached that way is code that role
 * may change at will, to run with the owner's rights: a function, an
 * operator (its function, its estimators), a type (a domain's checks, a
 * cast) or a table (its triggers) of that role.  probe_catalog.c's
 * tables_sql finds what the catalog records (pg_depend: a trigger's
 * function, a default's); gm_probe_skip_foreign_code follows the bodies too,
 * read as the definer judge reads them. */
#include "gm_db.h"
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_policy.h"
#include "gm_probe.h"
#include "gm_verify.h"

#include <stdlib.h>
#include <string.h>

/* The built-in and extensions' code, which the probe trusts as it trusts
 * the server's, is not user code. */
#define USER_CODE(cls, oid) oid " OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x" \
	" WHERE x.classid OPERATOR(pg_catalog.=) '" cls "'::pg_catalog.regclass AND x.objid OPERATOR(pg_catalog.=) " oid \
	" AND x.deptype OPERATOR(pg_catalog.=) 'e')"
/* Named $1 in schema $2 (n: its pg_namespace row).  pg_temp is this
 * session's temporary schema.  Left out ($2 NULL), any schema but the
 * temporary ones: the statements run with pg_temp last on the path (see
 * probe_exec.c), where it is searched for relations only, after every
 * other schema, and other sessions' are never searched. */
#define NAMED(col) col " OPERATOR(pg_catalog.=) $1::pg_catalog.name AND CASE WHEN $2::pg_catalog.name IS NULL" \
	" THEN n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast_)?temp_'" \
	" WHEN $2::pg_catalog.name OPERATOR(pg_catalog.=) 'pg_temp' THEN n.oid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()" \
	" ELSE n.nspname OPERATOR(pg_catalog.=) $2::pg_catalog.name END"
/* What (a kind and the object) owner's code is, when owner is neither a
 * superuser nor the owner of table $3 (NULL: nobody's code is foreign). */
#define FOREIGN(kind, obj, owner) "CASE WHEN " owner " OPERATOR(pg_catalog.<>) (SELECT fr.relowner FROM pg_catalog.pg_class fr" \
	" WHERE fr.oid OPERATOR(pg_catalog.=) $3::pg_catalog.oid) AND NOT (SELECT fo.rolsuper FROM pg_catalog.pg_roles fo" \
	" WHERE fo.oid OPERATOR(pg_catalog.=) " owner ") THEN pg_catalog.format('" kind " %s of role %I', " obj ", " \
	" pg_catalog.pg_get_userbyid(" owner ")) END"

/* What a reach (schema.name, $1 and $2; of any schema when $2 is NULL)
 * runs: a definition (NULL for none) and whose code it is (FOREIGN).  One
 * text a reach, as planning one for all four took longer than running it. */

/* a function or procedure */
static const char call_sql[] =
	"SELECT pg_catalog.pg_get_functiondef(f.oid), " FOREIGN("function", "f.oid::pg_catalog.regprocedure", "f.proowner")
	" FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) f.pronamespace"
	" WHERE " NAMED("f.proname")
	" AND f.prokind OPERATOR(pg_catalog.=) ANY ('{f,p}'::pg_catalog.\"char\"[]) AND " USER_CODE("pg_catalog.pg_proc", "f.oid");

/* an operator's function, and the operator itself: its owner may point
 * its estimators, run when a query is planned, at its code */
static const char operator_sql[] =
	"SELECT pg_catalog.pg_get_functiondef(o.oprcode), " FOREIGN("function", "o.oprcode::pg_catalog.regprocedure", "f.proowner")
	" FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace"
	" JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) o.oprcode"
	" WHERE " NAMED("o.oprname") " AND " USER_CODE("pg_catalog.pg_operator", "o.oid")
	" UNION ALL SELECT NULL, " FOREIGN("operator", "o.oid::pg_catalog.regoperator", "o.oprowner")
	" FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace"
	" WHERE " NAMED("o.oprname") " AND " USER_CODE("pg_catalog.pg_operator", "o.oid");

/* a cast's function, a domain's checks, and the type itself: its owner
 * may add checks to a domain */
static const char cast_sql[] =
	"SELECT pg_catalog.pg_get_functiondef(c.castfunc), " FOREIGN("function", "c.castfunc::pg_catalog.regprocedure", "f.proowner")
	" FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.casttarget"
	" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
	" JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) c.castfunc"
	" WHERE " NAMED("t.typname") " AND " USER_CODE("pg_catalog.pg_cast", "c.oid")
	" UNION ALL SELECT pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(co.conbin, 0::pg_catalog.oid)), NULL"
	" FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) co.contypid"
	" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
	" WHERE " NAMED("t.typname") " AND co.contype OPERATOR(pg_catalog.=) 'c' AND " USER_CODE("pg_catalog.pg_type", "t.oid")
	" UNION ALL SELECT NULL, " FOREIGN("type", "t.oid::pg_catalog.regtype", "t.typowner")
	" FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
	" WHERE " NAMED("t.typname") " AND " USER_CODE("pg_catalog.pg_type", "t.oid");

/* a written relation's triggers (but disabled ones), defaults and checks,
 * and those of the tables inheriting from it or partitions of it, and of
 * what a view written reads, however deep: the write reaches them too;
 * and the relations themselves, whose owners may add triggers */
static const char write_sql[] =
	"WITH RECURSIVE written AS (SELECT r.oid FROM pg_catalog.pg_class r"
	"  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace"
	"  WHERE " NAMED("r.relname")
	" UNION SELECT x.oid FROM written w CROSS JOIN LATERAL ("
	"  SELECT i.inhrelid AS oid FROM pg_catalog.pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) w.oid"
	/* an updatable view writes the relations it reads */
	"  UNION ALL SELECT d.refobjid FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_depend d"
	"   ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) rw.oid"
	"   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
	"  WHERE rw.ev_class OPERATOR(pg_catalog.=) w.oid AND rw.rulename OPERATOR(pg_catalog.=) '_RETURN'"
	"   AND d.refobjid OPERATOR(pg_catalog.<>) w.oid) x)"
	" SELECT pg_catalog.pg_get_triggerdef(tg.oid), NULL FROM pg_catalog.pg_trigger tg"
	" WHERE tg.tgrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM written))"
	" AND NOT tg.tgisinternal AND tg.tgenabled OPERATOR(pg_catalog.<>) 'D'"
	" UNION ALL SELECT pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)), NULL"
	" FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM written))"
	" UNION ALL SELECT pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(co.conbin, co.conrelid)), NULL"
	" FROM pg_catalog.pg_constraint co WHERE co.conrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM written))"
	" AND co.contype OPERATOR(pg_catalog.=) 'c'"
	" UNION ALL SELECT NULL, " FOREIGN("table", "r.oid::pg_catalog.regclass", "r.relowner")
	" FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM written))";

/* What a reach runs: *defs (allocated) and, when trusted_rel (a table's
 * oid, or NULL) is given, *foreign: the first of another role's code it
 * is (allocated, or left as it was).  GM_DEFINER_CALLEE_UNKNOWN when the
 * catalog cannot be read: what is called is then unknown. */
static size_t callees(struct gm_probe *p, enum gm_definer_reach how, const char *schema, const char *name,
		      const char *trusted_rel, char ***defs, char **foreign)
{
	static const char *const sql[] = {
		[GM_REACH_CALL] = call_sql, [GM_REACH_OPERATOR] = operator_sql,
		[GM_REACH_CAST] = cast_sql, [GM_REACH_WRITE] = write_sql,
	};
	const char *params[3] = { name, schema, trusted_rel };
	PGresult *r;
	size_t n = 0;

	*defs = NULL;
	/* In a savepoint: a failed read must not end the probe's transaction. */
	gm_probe_plain(p, "SAVEPOINT gm_probe_reach");
	r = PQexecParams(p->db->conn, sql[how], 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe_reach");
		gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_reach");
		return GM_DEFINER_CALLEE_UNKNOWN;
	}
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_reach");
	*defs = gm_xmalloc(((size_t)PQntuples(r) + 1) * sizeof(**defs));
	for (int k = 0; k < PQntuples(r); k++) {
		if (!PQgetisnull(r, k, 0))
			(*defs)[n++] = gm_xstrdup(PQgetvalue(r, k, 0));
		if (foreign && !*foreign && !PQgetisnull(r, k, 1))
			*foreign = gm_xstrdup(PQgetvalue(r, k, 1));
	}
	PQclear(r);
	return n;
}

size_t gm_probe_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	return callees(ctx, how, schema, name, NULL, defs, NULL);
}

/* ---- whose code making a table's rows runs ---- */

struct reach {
	struct gm_probe *p;
	char *rel;	/* the table's oid: its owner's code is trusted */
	char *foreign;	/* the first foreign code reached, or NULL */
};

/* Once foreign code is found, nothing more is read. */
static size_t reach_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	struct reach *r = ctx;
	size_t n;

	*defs = NULL;
	if (r->foreign)
		return 0;
	n = callees(r->p, how, schema, name, r->rel, defs, &r->foreign);
	if (n == GM_DEFINER_CALLEE_UNKNOWN)
		r->foreign = gm_xasprintf("code it cannot read (%s%s%s)", schema ? schema : "", schema ? "." : "", name);
	return n;
}

/* The first foreign code (allocated) that writing the tables of v marked
 * in group reaches, all of one owner, that of v[rel]; or NULL. */
static char *reached(struct gm_probe *p, const struct gm_policy_judge *j, const struct gm_ptable *v, size_t n,
		     const char *group, size_t rel)
{
	struct gm_strbuf text = GM_STRBUF_INIT;
	struct reach r = { p, NULL, NULL };
	char *table = NULL, *why = NULL;

	/* What the probe does to the tables as their owner, as a function
	 * the judge follows: their names are quoted, so the text says just
	 * that.  Every trigger of a written table is read whatever its
	 * event. */
	gm_strbuf_adds(&text, "CREATE FUNCTION pg_temp.gm_probe_rows() RETURNS void LANGUAGE sql BEGIN ATOMIC");
	for (size_t k = 0; k < n; k++)
		if (group[k])
			gm_strbuf_addf(&text, " INSERT INTO %s DEFAULT VALUES;", v[k].q);
	gm_strbuf_adds(&text, " END");
	r.rel = gm_xasprintf("%lu", v[rel].oid);
	gm_definer_judge(j, text.buf, gm_definer_nothing_protected, reach_callees, &r, &table, &why);
	free(r.rel);
	free(table);
	free(why);
	gm_strbuf_release(&text);
	return r.foreign;
}

static void skip_for(struct gm_ptable *t, char *foreign)
{
	t->skip = gm_xasprintf("its triggers, defaults or checks, through what they call, reach %s, which would run as"
			       " the table's owner while the probe makes its rows", foreign);
	free(foreign);
}

/* The tables are judged together, one owner's at a time, and one by one
 * only when their owner's reach foreign code: one walk of what they run
 * in the usual case, not one a table. */
void gm_probe_skip_foreign_code(struct gm_probe *p)
{
	struct gm_policy_judge *j = NULL;
	struct gm_error *err = gm_policy_judge_new(p->tenancy, &j);
	char *group = gm_xcalloc(p->t.n + 1, 1), *one = gm_xcalloc(p->t.n + 1, 1), *done = gm_xcalloc(p->t.n + 1, 1);
	char *foreign;
	size_t k, x;

	for (k = 0; k < p->t.n; k++) {
		struct gm_ptable *t = &p->t.v[k];
		if (done[k] || !t->needed || t->skip)
			continue;
		if (err) {
			t->skip = gm_xasprintf("whose code its triggers run cannot be told: %s", err->msg);
			continue;
		}
		for (x = k; x < p->t.n; x++) {
			const struct gm_ptable *o = &p->t.v[x];
			group[x] = !done[x] && o->needed && !o->skip && !strcmp(o->qowner, t->qowner);
			done[x] |= group[x];
		}
		if (!(foreign = reached(p, j, p->t.v, p->t.n, group, k)))
			continue;
		free(foreign);
		for (x = k; x < p->t.n; x++) {
			if (!group[x])
				continue;
			one[x] = 1;
			if ((foreign = reached(p, j, p->t.v, p->t.n, one, x)))
				skip_for(&p->t.v[x], foreign);
			one[x] = 0;
		}
	}
	gm_error_free(err);
	gm_policy_judge_free(j);
	free(group);
	free(one);
	free(done);
}
