/* probe_fixtures.c - the isolation probe's test rows.
 *
 * Two tenants, A and B, each with a row in every tenant table, derived
 * from the catalog: NOT NULL columns get a value of their type, enums
 * their first label, foreign keys the row of the same tenant; tables with
 * is_public / is_system get a public and a system row too.  Every value is
 * quoted through libpq.  Rows are made by the table's owner (see
 * gm_probe_maker), so the table's triggers and defaults never run with
 * more rights than its owner already has. */
#include "gm_db.h"
#include "gm_probe.h"
#include "gm_strbuf.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { PRIVATE, PUBLIC, SYSTEM };

static const char *const tenant_name[2] = { "A", "B" };

static char *random_uuid(struct gm_probe *p)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* Unique within the probe's transaction is all that is needed. */
		memset(b, 0, sizeof(b));
		memcpy(b, &p->serial, sizeof(p->serial));
		p->serial++;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	return gm_xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			    b[12], b[13], b[14], b[15]);
}

/* A value of the column's type as text, or NULL when the probe
 * cannot make one (the table is then skipped, saying so). */
static char *value_for(struct gm_probe *p, const struct gm_pcol *c, int tenant)
{
	if (c->label)
		return gm_xstrdup(c->label);
	if (!strcmp(c->base, "uuid"))
		return random_uuid(p);
	if (!strcmp(c->base, "json") || !strcmp(c->base, "jsonb"))
		return gm_xstrdup("{}");
	if (!strcmp(c->base, "bytea"))
		return gm_xstrdup("");
	switch (c->category) {
	case 'S':
		return gm_xasprintf("gmp-%s-%u", tenant_name[tenant], ++p->serial);
	case 'N':
		/* 1 fits the usual ranges (ratings, counts); a new primary
		 * key gets a unique number (gm_probe_new_value). */
		return gm_xstrdup("1");
	case 'B':
		return gm_xstrdup("false");
	case 'D':
		return gm_xstrdup("now");
	case 'T':
		return gm_xstrdup("1 day");
	case 'A':
		return gm_xstrdup("{}");
	case 'I':
		return gm_xstrdup("127.0.0.1");
	default:
		return NULL;
	}
}

char *gm_probe_new_value(struct gm_probe *p, const struct gm_pcol *c, int tenant)
{
	if (c->category == 'N' && !c->label)
		return gm_xasprintf("%u", 1000000000u + ++p->serial);
	return value_for(p, c, tenant);
}

/* The value a column gets in a fixture row; *set is 0 when the column is
 * left to its default.  Returns -1 (with *why) when it needs a value the
 * probe cannot make. */
static int column_value(struct gm_probe *p, const struct gm_ptable *t, size_t k, int tenant,
			enum kind kind, char **v, int *set, char **why)
{
	const struct gm_pcol *c = &t->cols[k];
	const struct gm_ptable *ref = c->ref >= 0 ? &p->t.v[c->ref] : NULL;

	*v = NULL;
	*set = 1;
	if ((int)k == t->org && t->tenant) {
		if (kind != SYSTEM)
			*v = gm_xstrdup(p->org[tenant]);	/* else NULL: no tenant */
	} else if (ref && ref != t && c->ref_pk && ref->row[tenant]) {
		*v = gm_xstrdup(ref->row[tenant]);
	} else if (t->tenant && (int)k == t->pubcol) {
		*v = gm_xstrdup(kind == PUBLIC ? "true" : "false");
	} else if (t->tenant && (int)k == t->syscol) {
		*v = gm_xstrdup(kind == SYSTEM ? "true" : "false");
	} else if (c->not_null && !c->has_default) {
		if (!(*v = value_for(p, c, tenant))) {
			*why = gm_xasprintf("no value for column %s of type %s", c->name, c->type);
			return -1;
		}
	} else {
		*set = 0;
	}
	return 0;
}

/* Inserts one fixture row as the table's maker; returns its primary key
 * (caller frees) or NULL with *why set. */
static char *insert_row(struct gm_probe *p, struct gm_ptable *t, int tenant, enum kind kind, char **why)
{
	struct gm_strbuf cols = GM_STRBUF_INIT, vals = GM_STRBUF_INIT, sql = GM_STRBUF_INIT;
	struct gm_poutcome o;
	char *pk = NULL;

	for (size_t k = 0; k < t->ncols; k++) {
		char *v, *lit;
		int set;
		if (!t->cols[k].insertable)
			continue;
		if (column_value(p, t, k, tenant, kind, &v, &set, why) != 0)
			goto done;
		if (!set)
			continue;
		lit = v ? gm_db_quote_literal(p->db, v) : gm_xstrdup("NULL");
		gm_strbuf_addf(&cols, "%s%s", cols.len ? ", " : "", t->cols[k].q);
		gm_strbuf_addf(&vals, "%s%s", vals.len ? ", " : "", lit);
		free(lit);
		free(v);
	}
	/* Names quoted through libpq when the catalog was read, values just
	 * above. */
	if (cols.len)
		gm_strbuf_addf(&sql, "INSERT INTO %s (%s) VALUES (%s)", t->q, cols.buf, vals.buf);
	else
		gm_strbuf_addf(&sql, "INSERT INTO %s DEFAULT VALUES", t->q);
	gm_strbuf_addf(&sql, " RETURNING %s::pg_catalog.text", t->cols[t->pk].q);
	if (!gm_probe_maker_bypasses(p, t))
		gm_probe_set_tenant(p, tenant);
	gm_probe_exec_as(p, gm_probe_maker(p, t), sql.buf, 1, &o);
	if (o.ok && o.value) {
		pk = o.value;
		o.value = NULL;
	} else {
		*why = gm_xasprintf("cannot insert a %s row: %s",
				    kind == SYSTEM ? "system" : kind == PUBLIC ? "public" : "test",
				    o.message ? o.message : "no row returned");
	}
	gm_poutcome_release(&o);
done:
	gm_strbuf_release(&cols);
	gm_strbuf_release(&vals);
	gm_strbuf_release(&sql);
	return pk;
}

/* A table can get rows once the rows its foreign keys need exist. */
static int ready(const struct gm_probe *p, const struct gm_ptable *t)
{
	if (!t->needed || t->row[0] || t->skip)
		return 0;
	if (t->tenant && t->org >= 0 && !p->org[1])
		return 0;
	for (size_t j = 0; j < t->ncols; j++) {
		const struct gm_pcol *c = &t->cols[j];
		const struct gm_ptable *ref = c->ref >= 0 ? &p->t.v[c->ref] : NULL;
		if (ref && ref != t && ref->needed && !ref->row[1])
			return 0;
	}
	return 1;
}

static void make_rows(struct gm_probe *p, struct gm_ptable *t)
{
	for (int x = 0; x < 2 && !t->skip; x++) {
		t->row[x] = insert_row(p, t, x, PRIVATE, &t->skip);
		/* The tenants are rows of the organizations table. */
		if ((int)(t - p->t.v) == p->orgs && t->row[x])
			p->org[x] = gm_xstrdup(t->row[x]);
	}
	if (t->has_public && !t->skip)
		t->pub = insert_row(p, t, 0, PUBLIC, &t->skip);
	/* Without a system row only the checks that need one are skipped. */
	if (t->has_system && !t->skip)
		t->sys = insert_row(p, t, 0, SYSTEM, &t->sys_skip);
}

/* Without an organizations table to refer to, tenants are two values of
 * the tenant column's type. */
static void invent_tenants(struct gm_probe *p)
{
	for (size_t k = 0; k < p->t.n && p->orgs < 0 && !p->org[0]; k++) {
		const struct gm_ptable *t = &p->t.v[k];
		if (t->needed && t->org >= 0) {
			p->org[0] = value_for(p, &t->cols[t->org], 0);
			p->org[1] = p->org[0] ? value_for(p, &t->cols[t->org], 1) : NULL;
		}
	}
}

void gm_probe_make_fixtures(struct gm_probe *p)
{
	int progress = 1;
	size_t k;

	for (k = 0; k < p->t.n; k++)
		if (p->t.v[k].needed && p->t.v[k].pk < 0 && !p->t.v[k].skip)
			p->t.v[k].skip = gm_xstrdup("no single-column primary key");
	/* Their maker is their owner, or the maker role, which reads every
	 * row: a table's code must not reach another role's. */
	gm_probe_skip_foreign_code(p);
	invent_tenants(p);
	while (progress && !p->broken) {
		progress = 0;
		for (k = 0; k < p->t.n && !p->broken; k++) {
			if (!ready(p, &p->t.v[k]))
				continue;
			make_rows(p, &p->t.v[k]);
			progress = 1;
		}
	}
	for (k = 0; k < p->t.n; k++)
		if (p->t.v[k].needed && !p->t.v[k].row[1] && !p->t.v[k].skip)
			p->t.v[k].skip = gm_xstrdup("its parent rows could not be made");
}
