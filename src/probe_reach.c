/* probe_reach.c - what code a call, an operator, a cast or a write runs in
 * the database, and whose code it is.
 *
 * Two readers share it.  The definer judge (gm_definer_judge) follows what
 * an outside SECURITY DEFINER function reaches (probe_roles.c).  And,
 * without the maker role, the probe makes its rows as each table's owner:
 * writing the table runs its triggers, defaults and checks, and whatever
 * their code calls, however deep, as that owner.  Code of another role (not a
 * superuser, not the table's owner) reached that way is code that role
 * may change at will, to run with the owner's rights: a function, an
 * operator, a type (a domain's checks, a cast) or a table (its triggers)
 * of that role.  probe_catalog.c's
 * tables_sql finds what the catalog records (pg_depend: a trigger's
 * function, a default's); gm_probe_skip_foreign_code follows the bodies too,
 * read as the definer judge reads them, from the tables' triggers,
 * defaults, checks, index expressions, rules and domain checks.  That
 * reading is partial (what an aggregate runs, dynamic SQL, bodies it
 * cannot parse are not followed).  A privileged owner's rows a
 * superuser's probe makes as the maker role (probe_roles.c), which lends
 * no owner's rights to what it runs, but reads every row: the skip guards
 * those tables too. */
#include "gm_db.h"
#include "gm_definer.h"
#include "gm_error.h"
#include "gm_policy.h"
#include "gm_probe.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"
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
 * temporary ones, which other sessions' code never searches, and the
 * probe's statements search last (see probe_exec.c).  A function's own
 * SET search_path may name pg_temp first, or leave it out, and then it is
 * searched first: what code planted there meanwhile is not seen here (a
 * limit of this reading, which only guards the owner's rows, see above). */
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

/* an operator's function, and the operator itself, whose owner may
 * change what it runs */
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

/* a written relation's triggers (but disabled ones), defaults, checks,
 * index expressions and predicates, rules and its columns' domains'
 * checks, and those of the tables inheriting from it or partitions of it,
 * and of what a view written reads, however deep: the write reaches them
 * too; and the relations themselves, whose owners may add triggers.  Each row
 * also names the relation written (root), whose rows it is of: seed
 * gives (oid, root) of the relations written. */
#define WRITE_SQL(seed)                                                                                          \
	"WITH RECURSIVE written(oid, root) AS (" seed                                                                 \
	" UNION SELECT x.oid, w.root FROM written w CROSS JOIN LATERAL ("                                             \
	"  SELECT i.inhrelid AS oid FROM pg_catalog.pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) w.oid"      \
	/* an updatable view writes the relations it reads */                                                          \
	"  UNION ALL SELECT d.refobjid FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_depend d"                     \
	"   ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) rw.oid" \
	"   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"                       \
	"  WHERE rw.ev_class OPERATOR(pg_catalog.=) w.oid AND rw.rulename OPERATOR(pg_catalog.=) '_RETURN'"            \
	"   AND d.refobjid OPERATOR(pg_catalog.<>) w.oid) x),"                                                       \
	/* the types of their columns, and those a domain among them is over */                                      \
	" doms(oid, root) AS (SELECT a.atttypid, w.root FROM written w JOIN pg_catalog.pg_attribute a"                \
	"  ON a.attrelid OPERATOR(pg_catalog.=) w.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"    \
	" UNION SELECT t.typbasetype, d.root FROM doms d JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) d.oid" \
	"  WHERE t.typbasetype OPERATOR(pg_catalog.<>) 0)"                                                            \
	" SELECT s.def, s.foreign, rn.nspname, rr.relname FROM ("                                                     \
	"  SELECT w.root, pg_catalog.pg_get_triggerdef(tg.oid) AS def, NULL AS foreign"                               \
	"  FROM written w JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) w.oid"                   \
	"  WHERE NOT tg.tgisinternal AND tg.tgenabled OPERATOR(pg_catalog.<>) 'D'"                                    \
	"  UNION ALL SELECT w.root, pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)), NULL"  \
	"  FROM written w JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) w.oid"                   \
	"  UNION ALL SELECT w.root, pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(co.conbin, co.conrelid)), NULL" \
	"  FROM written w JOIN pg_catalog.pg_constraint co ON co.conrelid OPERATOR(pg_catalog.=) w.oid"               \
	"  WHERE co.contype OPERATOR(pg_catalog.=) 'c'"                                                              \
	/* index expressions and predicates, rules, the columns' domains' checks */                                  \
	"  UNION ALL SELECT w.root, pg_catalog.pg_get_indexdef(i.indexrelid), NULL"                                    \
	"  FROM written w JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) w.oid"                       \
	"  WHERE i.indexprs IS NOT NULL OR i.indpred IS NOT NULL"                                                     \
	"  UNION ALL SELECT w.root, pg_catalog.pg_get_ruledef(rw.oid), NULL"                                          \
	"  FROM written w JOIN pg_catalog.pg_rewrite rw ON rw.ev_class OPERATOR(pg_catalog.=) w.oid"                   \
	"  WHERE rw.rulename OPERATOR(pg_catalog.<>) '_RETURN'"                                                       \
	"  UNION ALL SELECT d.root, pg_catalog.concat('SELECT ', pg_catalog.pg_get_expr(co.conbin, 0::pg_catalog.oid)), NULL" \
	"  FROM doms d JOIN pg_catalog.pg_constraint co ON co.contypid OPERATOR(pg_catalog.=) d.oid"                   \
	"  WHERE co.contype OPERATOR(pg_catalog.=) 'c'"                                                              \
	"  UNION ALL SELECT w.root, NULL, " FOREIGN("table", "r.oid::pg_catalog.regclass", "r.relowner")              \
	"  FROM written w JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) w.oid) s"                        \
	" JOIN pg_catalog.pg_class rr ON rr.oid OPERATOR(pg_catalog.=) s.root"                                        \
	" JOIN pg_catalog.pg_namespace rn ON rn.oid OPERATOR(pg_catalog.=) rr.relnamespace"

/* A write a statement names. */
static const char write_sql[] = WRITE_SQL(
	"SELECT r.oid, r.oid FROM pg_catalog.pg_class r"
	" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace WHERE " NAMED("r.relname"));

/* The probe's own writes, of the tables whose oids $1 lists, read at once
 * ($2 is not used: NULL). */
static const char writes_sql[] = WRITE_SQL(
	"SELECT r.oid, r.oid FROM pg_catalog.pg_class r"
	" WHERE r.oid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[]) AND $2::pg_catalog.text IS NULL");

static const char *const reach_sql[] = {
	[GM_REACH_CALL] = call_sql, [GM_REACH_OPERATOR] = operator_sql,
	[GM_REACH_CAST] = cast_sql, [GM_REACH_WRITE] = write_sql,
};

/* sql with three text parameters, in a savepoint: a failed read must not
 * end the probe's transaction.  NULL when it failed. */
static PGresult *read_catalog(struct gm_probe *p, const char *sql, const char *const *params)
{
	PGresult *r;

	gm_probe_plain(p, "SAVEPOINT gm_probe_reach");
	r = PQexecParams(p->db->conn, sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		r = NULL;
		gm_probe_plain(p, "ROLLBACK TO SAVEPOINT gm_probe_reach");
	}
	gm_probe_plain(p, "RELEASE SAVEPOINT gm_probe_reach");
	return r;
}

size_t gm_probe_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	const char *params[3] = { name, schema, NULL };
	PGresult *r = read_catalog(ctx, reach_sql[how], params);
	size_t n = 0;

	*defs = NULL;
	if (!r)
		return GM_DEFINER_CALLEE_UNKNOWN;
	*defs = gm_xmalloc(((size_t)PQntuples(r) + 1) * sizeof(**defs));
	for (int k = 0; k < PQntuples(r); k++)
		if (!PQgetisnull(r, k, 0))
			(*defs)[n++] = gm_xstrdup(PQgetvalue(r, k, 0));
	PQclear(r);
	return n;
}

/* ---- whose code making a table's rows runs ---- */

/* What a reach runs, read once for every walk of one owner's tables. */
struct known {
	char *key;		/* the reach (key_of) */
	struct gm_strlist defs;
	char *foreign;		/* the first foreign code among it, or NULL */
	int unknown;		/* the catalog could not be read */
};

struct reach {
	struct gm_probe *p;
	char *rel;		/* a table's oid: its owner's code is trusted */
	char *foreign;		/* the first foreign code the walk reached, or NULL */
	struct known *v;
	size_t n;
};

/* Lengths first: names may hold any character. */
static char *key_of(enum gm_definer_reach how, const char *schema, const char *name)
{
	return schema ? gm_xasprintf("%d %zu:%s %s", (int)how, strlen(schema), schema, name)
		      : gm_xasprintf("%d - %s", (int)how, name);
}

static struct known *known_add(struct reach *r, char *key)
{
	struct known *k;

	r->v = gm_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	k = &r->v[r->n++];
	memset(k, 0, sizeof(*k));
	k->key = key;
	return k;
}

static struct known *known_find(const struct reach *r, const char *key)
{
	for (size_t k = 0; k < r->n; k++)
		if (!strcmp(r->v[k].key, key))
			return &r->v[k];
	return NULL;
}

/* Row row of a reach's read into k: a definition, whose code it is. */
static void known_row(struct known *k, const PGresult *res, int row)
{
	if (!PQgetisnull(res, row, 0))
		gm_strlist_add(&k->defs, PQgetvalue(res, row, 0));
	if (!k->foreign && !PQgetisnull(res, row, 1))
		k->foreign = gm_xstrdup(PQgetvalue(res, row, 1));
}

/* What the reach runs, from what was read, else read now. */
static struct known *known(struct reach *r, enum gm_definer_reach how, const char *schema, const char *name)
{
	char *key = key_of(how, schema, name);
	const char *params[3] = { name, schema, r->rel };
	struct known *k = known_find(r, key);
	PGresult *res;

	if (k) {
		free(key);
		return k;
	}
	k = known_add(r, key);
	if (!(res = read_catalog(r->p, reach_sql[how], params))) {
		k->unknown = 1;
		return k;
	}
	for (int row = 0; row < PQntuples(res); row++)
		known_row(k, res, row);
	PQclear(res);
	return k;
}

/* What writing each of the tables marked in group runs, in one read: the
 * probe writes every one of them, each a reach of the walk. */
static void know_writes(struct reach *r, const struct gm_ptable *v, size_t n, const char *group)
{
	struct gm_strbuf oids = GM_STRBUF_INIT;
	const char *params[3] = { NULL, NULL, r->rel };
	PGresult *res;

	gm_strbuf_addch(&oids, '{');
	for (size_t k = 0; k < n; k++)
		if (group[k])
			gm_strbuf_addf(&oids, "%s%lu", oids.len > 1 ? "," : "", v[k].oid);
	gm_strbuf_addch(&oids, '}');
	params[0] = oids.buf;
	/* Unread, each is read on its own when the walk reaches it. */
	if ((res = read_catalog(r->p, writes_sql, params))) {
		for (int row = 0; row < PQntuples(res); row++) {
			char *key = key_of(GM_REACH_WRITE, PQgetvalue(res, row, 2), PQgetvalue(res, row, 3));
			struct known *k = known_find(r, key);
			if (k)
				free(key);
			else
				k = known_add(r, key);
			known_row(k, res, row);
		}
		PQclear(res);
	}
	gm_strbuf_release(&oids);
}

static void known_release(struct reach *r)
{
	for (size_t k = 0; k < r->n; k++) {
		free(r->v[k].key);
		gm_strlist_release(&r->v[k].defs);
		free(r->v[k].foreign);
	}
	free(r->v);
	free(r->rel);
	r->v = NULL;
	r->n = 0;
	r->rel = NULL;
}

/* Once foreign code is found, nothing more is read. */
static size_t reach_callees(void *ctx, enum gm_definer_reach how, const char *schema, const char *name, char ***defs)
{
	struct reach *r = ctx;
	const struct known *k;

	*defs = NULL;
	if (r->foreign)
		return 0;
	k = known(r, how, schema, name);
	if (k->unknown) {
		r->foreign = gm_xasprintf("code it cannot read (%s%s%s)", schema ? schema : "", schema ? "." : "", name);
		return GM_DEFINER_CALLEE_UNKNOWN;
	}
	if (k->foreign)
		r->foreign = gm_xstrdup(k->foreign);
	*defs = gm_xmalloc((k->defs.n + 1) * sizeof(**defs));
	for (size_t d = 0; d < k->defs.n; d++)
		(*defs)[d] = gm_xstrdup(k->defs.v[d]);
	return k->defs.n;
}

/* The first foreign code (allocated) that writing the tables of v marked
 * in group reaches; or NULL. */
static char *reached(struct reach *r, const struct gm_policy_judge *j, const struct gm_ptable *v, size_t n,
		     const char *group)
{
	struct gm_strbuf text = GM_STRBUF_INIT;
	char *table = NULL, *why = NULL, *foreign;

	/* What the probe does to the tables as their owner, as a function
	 * the judge follows: their names are quoted, so the text says just
	 * that.  Every trigger of a written table is read whatever its
	 * event. */
	gm_strbuf_adds(&text, "CREATE FUNCTION pg_temp.gm_probe_rows() RETURNS void LANGUAGE sql BEGIN ATOMIC");
	for (size_t k = 0; k < n; k++)
		if (group[k])
			gm_strbuf_addf(&text, " INSERT INTO %s DEFAULT VALUES;", v[k].q);
	gm_strbuf_adds(&text, " END");
	gm_definer_judge(j, text.buf, gm_definer_nothing_protected, reach_callees, r, &table, &why);
	free(table);
	free(why);
	gm_strbuf_release(&text);
	foreign = r->foreign;
	r->foreign = NULL;
	return foreign;
}

static void skip_for(struct gm_ptable *t, char *foreign)
{
	t->skip = gm_xasprintf("its triggers, defaults or checks, through what they call, reach %s, which would run as"
			       " the table's owner (or, reading every row, as the probe's maker) while the probe makes its"
			       " rows", foreign);
	free(foreign);
}

/* Whether t's code is to be followed: that of every table needing rows.
 * The maker role, which makes privileged owners' rows, has no owner's
 * rights to lend, but reads every row: code of another role it runs
 * could carry rows out in what no rollback undoes (a setval). */
static int walked(const struct gm_ptable *t)
{
	return t->needed && !t->skip;
}

/* The tables of one owner (v[first]'s) needing rows, not yet judged:
 * judged together, and one by one only when together they reach foreign
 * code: one walk of what they run in the usual case, not one a table,
 * and what each reach runs read once. */
static void judge_owner(struct gm_probe *p, const struct gm_policy_judge *j, size_t first, char *done)
{
	const struct gm_ptable *t = &p->t.v[first];
	char *group = gm_xcalloc(p->t.n + 1, 1), *one = gm_xcalloc(p->t.n + 1, 1), *foreign;
	struct reach r = { p, NULL, NULL, NULL, 0 };
	size_t x;

	for (x = first; x < p->t.n; x++) {
		const struct gm_ptable *o = &p->t.v[x];
		group[x] = !done[x] && walked(o) && !strcmp(o->qowner, t->qowner);
		done[x] |= group[x];
	}
	r.rel = gm_xasprintf("%lu", t->oid);
	know_writes(&r, p->t.v, p->t.n, group);
	if ((foreign = reached(&r, j, p->t.v, p->t.n, group))) {
		free(foreign);
		for (x = first; x < p->t.n; x++) {
			if (!group[x])
				continue;
			one[x] = 1;
			if ((foreign = reached(&r, j, p->t.v, p->t.n, one)))
				skip_for(&p->t.v[x], foreign);
			one[x] = 0;
		}
	}
	known_release(&r);
	free(group);
	free(one);
}

void gm_probe_skip_foreign_code(struct gm_probe *p)
{
	struct gm_policy_judge *j = NULL;
	struct gm_error *err;
	char *done;

	err = gm_policy_judge_new(p->tenancy, &j);
	done = gm_xcalloc(p->t.n + 1, 1);

	for (size_t k = 0; k < p->t.n; k++) {
		struct gm_ptable *t = &p->t.v[k];
		if (done[k] || !walked(t))
			continue;
		if (err)
			t->skip = gm_xasprintf("whose code its triggers run cannot be told: %s", err->msg);
		else
			judge_owner(p, j, k, done);
	}
	gm_error_free(err);
	gm_policy_judge_free(j);
	free(done);
}
