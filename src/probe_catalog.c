/* probe_catalog.c - what the isolation probe needs of the catalog.
 *
 * Read by oid into structures, never by parsing the names of facts: a
 * table called `we'ird "tbl"; --` is a table like any other.  Functions
 * are qualified with pg_catalog, so a hostile search_path cannot put its
 * own in their place. */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_probe.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <stdlib.h>
#include <string.h>

/* The column that ties a row to its tenant (see issue 13: it will come
 * from the project file). */

static const char tables_sql[] =
	"SELECT c.oid, n.nspname, c.relname, r.rolname,"
	" r.rolsuper OR r.rolbypassrls, pg_catalog.pg_has_role(c.relowner, 'MEMBER'),"
	" c.relrowsecurity, c.relforcerowsecurity, c.relispartition,"
	/* A function of another role (not a superuser, not the owner) that
	 * the table's triggers (their functions and WHEN conditions),
	 * defaults, checks, indexes, its columns' domains' checks or (forced
	 * on an owner without bypass) its policies call, directly or as an
	 * operator's code: it would run as the table's owner when the probe
	 * makes its rows as the owner. */
	" (SELECT pg_catalog.format('%s of role %I', f.oid::pg_catalog.regprocedure, fo.rolname)"
	"  FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_roles fo ON fo.oid = f.proowner"
	"  WHERE NOT fo.rolsuper AND f.proowner <> c.relowner AND f.oid IN (SELECT t.tgfoid FROM pg_catalog.pg_trigger t"
	"   WHERE t.tgrelid = c.oid AND NOT t.tgisinternal"
	"   UNION ALL SELECT CASE WHEN d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.refobjid"
	"    ELSE (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o WHERE o.oid = d.refobjid) END"
	"   FROM pg_catalog.pg_depend d"
	"   WHERE d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_operator'::pg_catalog.regclass)"
	"   AND ((d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
	"    AND d.objid IN (SELECT ad.oid FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid = c.oid))"
	"    OR (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"
	"    AND d.objid IN (SELECT co.oid FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid"
	"     OR co.contypid IN (SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid)))"
	"    OR (d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass"
	"    AND d.objid IN (SELECT t.oid FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal))"
	"    OR (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	"    AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid))"
	/* policies run for an owner only when forced and it has no bypass */
	"    OR (d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND c.relforcerowsecurity"
	"    AND NOT (r.rolsuper OR r.rolbypassrls)"
	"    AND d.objid IN (SELECT pol.oid FROM pg_catalog.pg_policy pol WHERE pol.polrelid = c.oid))))"
	"  ORDER BY 1 LIMIT 1),"
	/* A column of a type of such a role (a domain, an enum), or of one
	 * built on it however deep (a domain over it, an array, a range, a
	 * composite type with an attribute of it): checks it adds to a
	 * domain later, casts it makes (the probe's row_to_json), run as the
	 * table's owner too. */
	" (WITH RECURSIVE ty(oid) AS (SELECT a.atttypid FROM pg_catalog.pg_attribute a"
	"   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	"  UNION SELECT x.next FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid"
	"   CROSS JOIN LATERAL (SELECT t.typbasetype UNION ALL SELECT t.typelem"
	"    UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid"
	"    UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid"
	"     AND a.attnum > 0 AND NOT a.attisdropped) x(next) WHERE x.next <> 0)"
	"  SELECT pg_catalog.format('columns are of type %s, of role %I', t.oid::pg_catalog.regtype, tr.rolname)"
	"  FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid JOIN pg_catalog.pg_roles tr ON tr.oid = t.typowner"
	"  WHERE NOT tr.rolsuper AND tr.oid <> c.relowner ORDER BY 1 LIMIT 1),"
	/* A foreign key whose columns are of a type of a role that is
	 * neither a superuser nor the referenced table's owner: PostgreSQL
	 * checks each new row's key as that owner, often a superuser, with
	 * the casts and operators of the column's type, the type's owner's
	 * code (an implicit cast from its enum to uuid). */
	" (SELECT pg_catalog.format('foreign key %I checks values of type %s, of role %I, as the owner of %s',"
	"   co.conname, t.oid::pg_catalog.regtype, tr.rolname, co.confrelid::pg_catalog.regclass)"
	"  FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid"
	"   AND a.attnum = ANY (co.conkey)"
	"  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_roles tr ON tr.oid = t.typowner"
	"  JOIN pg_catalog.pg_class pc ON pc.oid = co.confrelid"
	"  WHERE co.conrelid = c.oid AND co.contype = 'f' AND NOT tr.rolsuper AND tr.oid <> pc.relowner"
	"  ORDER BY 1 LIMIT 1)"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_catalog.pg_roles r ON r.oid = c.relowner"
	" WHERE n.nspname = ANY ($1::pg_catalog.text[]) AND c.relkind IN ('r', 'p')"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	"   AND d.objid = c.oid AND d.deptype = 'e')"
	" ORDER BY n.nspname, c.relname";

/* Domains take their base type's category; the base type's name tells
 * uuid from json within category 'U'. */
static const char columns_sql[] =
	"SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	" bt.typname, t.typcategory, a.attnotnull, a.atthasdef OR a.attidentity <> '',"
	" a.attidentity <> 'a' AND a.attgenerated = '',"
	" (SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = bt.oid ORDER BY e.enumsortorder LIMIT 1)"
	" FROM pg_catalog.pg_attribute a"
	" JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	" JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
	" WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped"
	" ORDER BY a.attrelid, a.attnum";

static const char keys_sql[] =
	"SELECT co.conrelid, co.contype, co.conkey[1], co.confrelid, co.confkey[1],"
	" pg_catalog.array_length(co.conkey, 1)"
	" FROM pg_catalog.pg_constraint co"
	" WHERE co.conrelid = ANY ($1::pg_catalog.oid[]) AND co.contype IN ('p', 'f')"
	" ORDER BY co.conrelid, co.conname";

static int find_oid(const struct gm_ptables *t, unsigned long oid)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->v[k].oid == oid)
			return (int)k;
	return -1;
}

const struct gm_ptable *gm_probe_table_of(const struct gm_probe *p, const char *oid_text)
{
	int k = find_oid(&p->t, strtoul(oid_text, NULL, 10));

	return k < 0 ? NULL : &p->t.v[k];
}

static int find_attnum(const struct gm_ptable *t, int attnum)
{
	for (size_t k = 0; k < t->ncols; k++)
		if (t->cols[k].attnum == attnum)
			return (int)k;
	return -1;
}

static int is_true(const PGresult *r, int row, int col)
{
	return !strcmp(PQgetvalue(r, row, col), "t");
}

static struct gm_error *query(struct gm_probe *p, const char *sql, const char *param, PGresult **r)
{
	const char *params[1] = { param };

	return gm_db_exec_params(p->db, sql, 1, params, "cannot read the catalog for the isolation probe", r);
}

static void load_table(struct gm_probe *p, const PGresult *r, int k, struct gm_ptable *t)
{
	char *qs = gm_db_quote_ident(p->db, PQgetvalue(r, k, 1));
	char *qt = gm_db_quote_ident(p->db, PQgetvalue(r, k, 2));

	memset(t, 0, sizeof(*t));
	t->oid = strtoul(PQgetvalue(r, k, 0), NULL, 10);
	t->name = gm_xasprintf("%s.%s", PQgetvalue(r, k, 1), PQgetvalue(r, k, 2));
	t->q = gm_xasprintf("%s.%s", qs, qt);
	t->qowner = gm_db_quote_ident(p->db, PQgetvalue(r, k, 3));
	t->owner_bypasses = is_true(r, k, 4);
	t->can_become_owner = is_true(r, k, 5);
	t->rls = is_true(r, k, 6);
	t->force = is_true(r, k, 7);
	t->partition = is_true(r, k, 8);
	if (!PQgetisnull(r, k, 9))
		t->skip = gm_xasprintf("its triggers, defaults, checks or indexes call function %s, which would run as"
				       " the table's owner while the probe makes its rows", PQgetvalue(r, k, 9));
	else if (!PQgetisnull(r, k, 10))
		t->skip = gm_xasprintf("its %s, whose checks and casts would run as the table's owner while the probe"
				       " makes its rows", PQgetvalue(r, k, 10));
	else if (!PQgetisnull(r, k, 11))
		t->skip = gm_xasprintf("its %s, whose casts and operators would run as that owner while the probe makes"
				       " its rows", PQgetvalue(r, k, 11));
	t->pk = t->org = t->cref = -1;
	free(qs);
	free(qt);
}

static void load_column(struct gm_probe *p, const PGresult *r, int k, struct gm_ptable *t)
{
	struct gm_pcol *c;

	t->cols = gm_xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
	c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->attnum = atoi(PQgetvalue(r, k, 1));
	c->name = gm_xstrdup(PQgetvalue(r, k, 2));
	c->q = gm_db_quote_ident(p->db, c->name);
	c->type = gm_xstrdup(PQgetvalue(r, k, 3));
	c->base = gm_xstrdup(PQgetvalue(r, k, 4));
	c->category = PQgetvalue(r, k, 5)[0];
	c->not_null = is_true(r, k, 6);
	c->has_default = is_true(r, k, 7);
	c->insertable = is_true(r, k, 8);
	c->label = PQgetisnull(r, k, 9) ? NULL : gm_xstrdup(PQgetvalue(r, k, 9));
	c->ref = -1;
	if (t->org < 0 && gm_strlist_has(&p->tenancy->columns, c->name))
		t->org = (int)t->ncols - 1;
}

static void load_key(struct gm_probe *p, const PGresult *r, int k)
{
	int ti = find_oid(&p->t, strtoul(PQgetvalue(r, k, 0), NULL, 10));
	struct gm_ptable *t = ti >= 0 ? &p->t.v[ti] : NULL;
	int col = t ? find_attnum(t, atoi(PQgetvalue(r, k, 2))) : -1;

	if (t && atoi(PQgetvalue(r, k, 5)) > 1) {
		/* Several columns: the probe cannot make rows through it, but
		 * it can tell the table is a tenant's. */
		if (PQgetvalue(r, k, 1)[0] == 'f' && t->cref < 0)
			t->cref = find_oid(&p->t, strtoul(PQgetvalue(r, k, 3), NULL, 10));
		return;
	}
	if (col < 0)
		return;
	if (PQgetvalue(r, k, 1)[0] == 'p') {
		t->pk = col;
	} else if (t->cols[col].ref < 0) {
		int ri = find_oid(&p->t, strtoul(PQgetvalue(r, k, 3), NULL, 10));
		t->cols[col].ref = ri;
		/* The referenced column is read once every key is loaded. */
		t->cols[col].ref_pk = -1 - atoi(PQgetvalue(r, k, 4));
	}
}

/* Foreign keys point at attnums until every primary key is known. */
static void resolve_refs(struct gm_ptables *t)
{
	for (size_t k = 0; k < t->n; k++)
		for (size_t j = 0; j < t->v[k].ncols; j++) {
			struct gm_pcol *c = &t->v[k].cols[j];
			const struct gm_ptable *ref = c->ref >= 0 ? &t->v[c->ref] : NULL;
			int attnum = -1 - c->ref_pk;
			c->ref_pk = ref && ref->pk >= 0 && ref->cols[ref->pk].attnum == attnum;
		}
}

/* A column an UPDATE may set to itself: the primary key, unless it
 * cannot be written (an identity or generated column), then the first one
 * that can. */
static void noop_updates(struct gm_ptables *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct gm_ptable *x = &t->v[k];
		const struct gm_pcol *c = x->pk >= 0 && x->cols[x->pk].insertable ? &x->cols[x->pk] : NULL;
		for (size_t j = 0; !c && j < x->ncols; j++)
			if (x->cols[j].insertable)
				c = &x->cols[j];
		x->noop = c ? gm_xasprintf("%s = %s", c->q, c->q) : NULL;
	}
}

/* The public-read columns (tenancy) the table has: the first makes a row
 * of A readable by every tenant; a second one, when the tenant column may
 * be NULL, marks rows of no tenant (AI Garage: is_public, is_system). */
static void public_columns(struct gm_probe *p, struct gm_ptable *x)
{
	const struct gm_strlist *l = &p->tenancy->public_read_columns;

	x->pubcol = x->syscol = -1;
	for (size_t k = 0; k < l->n; k++) {
		int c = gm_probe_column(x, l->v[k]);
		if (c < 0)
			continue;
		if (x->pubcol < 0)
			x->pubcol = c;
		else if (x->syscol < 0 && x->org >= 0 && !x->cols[x->org].not_null)
			x->syscol = c;
	}
	x->has_public = x->pubcol >= 0;
	x->has_system = x->syscol >= 0;
}

/* Tenant tables: the tenant column, or a foreign key to a tenant table
 * (the same rule as the RLS lints). */
static void classify(struct gm_probe *p)
{
	struct gm_ptables *t = &p->t;
	int changed = 1;

	for (size_t k = 0; k < t->n; k++)
		t->v[k].tenant = t->v[k].org >= 0;
	while (changed) {
		changed = 0;
		for (size_t k = 0; k < t->n; k++) {
			struct gm_ptable *x = &t->v[k];
			for (size_t j = 0; !x->tenant && j < x->ncols; j++) {
				int ref = x->cols[j].ref;
				if (ref >= 0 && t->v[ref].tenant)
					x->tenant = changed = 1;
			}
			if (!x->tenant && x->cref >= 0 && t->v[x->cref].tenant) {
				x->tenant = changed = 1;
				free(x->skip);
				x->skip = gm_xasprintf("reached through a composite foreign key to %s: the probe makes"
						       " rows through single-column keys only", t->v[x->cref].name);
			}
		}
	}
	p->orgs = -1;
	for (size_t k = 0; k < t->n; k++) {
		struct gm_ptable *x = &t->v[k];
		if (!x->tenant || x->partition)
			continue;
		x->needed = 1;
		public_columns(p, x);
		if (x->org >= 0) {
			const struct gm_pcol *org = &x->cols[x->org];
			if (org->ref >= 0 && org->ref_pk && p->orgs < 0)
				p->orgs = org->ref;
		}
		/* Tables tenant rows refer to (organizations, users) get rows too. */
		for (size_t j = 0; j < x->ncols; j++)
			if (x->cols[j].ref >= 0)
				t->v[x->cols[j].ref].needed = 1;
	}
}

int gm_probe_column(const struct gm_ptable *t, const char *name)
{
	for (size_t k = 0; k < t->ncols; k++)
		if (!strcmp(t->cols[k].name, name))
			return (int)k;
	return -1;
}

static char *oid_array(const struct gm_ptables *t)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_strbuf_addch(&sb, '{');
	for (size_t k = 0; k < t->n; k++)
		gm_strbuf_addf(&sb, "%s%lu", k ? "," : "", t->v[k].oid);
	gm_strbuf_addch(&sb, '}');
	return gm_strbuf_detach(&sb, NULL);
}

struct gm_error *gm_probe_load(struct gm_probe *p, char *const *schemas, size_t nschemas)
{
	struct gm_strbuf arr = GM_STRBUF_INIT;
	struct gm_error *err;
	PGresult *r = NULL;
	char *oids = NULL;
	int k;

	gm_text_array(&arr, schemas, nschemas);
	err = query(p, tables_sql, arr.buf, &r);
	gm_strbuf_release(&arr);
	if (err)
		return err;
	p->t.v = gm_xcalloc((size_t)PQntuples(r) + 1, sizeof(*p->t.v));
	for (k = 0; k < PQntuples(r); k++)
		load_table(p, r, k, &p->t.v[p->t.n++]);
	PQclear(r);
	oids = oid_array(&p->t);
	if ((err = query(p, columns_sql, oids, &r)))
		goto done;
	for (k = 0; k < PQntuples(r); k++) {
		int ti = find_oid(&p->t, strtoul(PQgetvalue(r, k, 0), NULL, 10));
		if (ti >= 0)
			load_column(p, r, k, &p->t.v[ti]);
	}
	PQclear(r);
	if ((err = query(p, keys_sql, oids, &r)))
		goto done;
	for (k = 0; k < PQntuples(r); k++)
		load_key(p, r, k);
	PQclear(r);
	resolve_refs(&p->t);
	noop_updates(&p->t);
	classify(p);
done:
	free(oids);
	return err;
}

void gm_probe_tables_release(struct gm_ptables *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct gm_ptable *x = &t->v[k];
		for (size_t j = 0; j < x->ncols; j++) {
			free(x->cols[j].name);
			free(x->cols[j].q);
			free(x->cols[j].type);
			free(x->cols[j].base);
			free(x->cols[j].label);
		}
		free(x->cols);
		free(x->name);
		free(x->q);
		free(x->qowner);
		free(x->noop);
		free(x->row[0]);
		free(x->row[1]);
		free(x->pub);
		free(x->sys);
		free(x->sys_skip);
		free(x->skip);
		free(x->digest);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}
