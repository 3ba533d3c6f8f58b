/* guard.c - what a down removes, and whether it held data (gm_guard.h). */
#include "gm_guard.h"
#include "gm_db.h"

#include <stdlib.h>
#include <string.h>

void gm_snapshot_load(const PGresult *res, struct gm_snapshot *out)
{
	int k, n = PQntuples(res);

	memset(out, 0, sizeof(*out));
	out->v = gm_xcalloc((size_t)(n ? n : 1), sizeof(*out->v));
	for (k = 0; k < n; k++) {
		struct gm_relcol *rc = &out->v[k];
		rc->oid = strtoul(PQgetvalue(res, k, 0), NULL, 10);
		rc->attnum = atoi(PQgetvalue(res, k, 1));
		rc->nsp = gm_xstrdup(PQgetvalue(res, k, 2));
		rc->rel = gm_xstrdup(PQgetvalue(res, k, 3));
		rc->att = PQgetisnull(res, k, 4) ? NULL : gm_xstrdup(PQgetvalue(res, k, 4));
	}
	out->n = (size_t)n;
}

void gm_snapshot_release(struct gm_snapshot *s)
{
	size_t k;

	for (k = 0; k < s->n; k++) {
		free(s->v[k].nsp);
		free(s->v[k].rel);
		free(s->v[k].att);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_key(unsigned long oid, int attnum, const struct gm_relcol *rc)
{
	if (oid != rc->oid)
		return oid < rc->oid ? -1 : 1;
	if (attnum != rc->attnum)
		return attnum < rc->attnum ? -1 : 1;
	return 0;
}

/* Index of the first entry >= (oid, attnum). */
static size_t lower_bound(const struct gm_snapshot *s, unsigned long oid, int attnum)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_key(oid, attnum, &s->v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int has_table(const struct gm_snapshot *s, unsigned long oid)
{
	size_t i = lower_bound(s, oid, -1);
	return i < s->n && s->v[i].oid == oid;
}

static int has_column(const struct gm_snapshot *s, unsigned long oid, int attnum)
{
	size_t i = lower_bound(s, oid, attnum);
	return i < s->n && cmp_key(oid, attnum, &s->v[i]) == 0;
}

static void push(struct gm_removals *r, size_t *cap, const struct gm_relcol *rc, int whole)
{
	struct gm_removal *x;

	if (r->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		r->v = gm_xrealloc(r->v, *cap * sizeof(*r->v));
	}
	x = &r->v[r->n++];
	x->nsp = gm_xstrdup(rc->nsp);
	x->rel = gm_xstrdup(rc->rel);
	x->att = whole || !rc->att ? NULL : gm_xstrdup(rc->att);
	x->rows = -1;
}

void gm_guard_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
		   struct gm_removals *out)
{
	size_t k, cap = 0;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < before->n; k++) {
		const struct gm_relcol *rc = &before->v[k];
		int first_of_table = k == 0 || before->v[k - 1].oid != rc->oid;

		if (!has_table(after, rc->oid)) {
			if (first_of_table)
				push(out, &cap, rc, 1);
		} else if (rc->attnum > 0 && !has_column(after, rc->oid, rc->attnum)) {
			push(out, &cap, rc, 0);
		}
	}
}

void gm_removals_release(struct gm_removals *r)
{
	size_t k;

	for (k = 0; k < r->n; k++) {
		free(r->v[k].nsp);
		free(r->v[k].rel);
		free(r->v[k].att);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void gm_guard_count_sql(struct gm_db *db, const struct gm_removals *r, struct gm_strbuf *sql)
{
	size_t k;

	gm_strbuf_adds(sql, "SELECT ");
	for (k = 0; k < r->n; k++) {
		const struct gm_removal *x = &r->v[k];
		char *nsp = gm_db_quote_ident(db, x->nsp), *rel = gm_db_quote_ident(db, x->rel);
		char *att = x->att ? gm_db_quote_ident(db, x->att) : NULL;

		/* Counting stops past the cap: a rollback should not scan a
		 * billion rows to say "it has data".  Every name is quoted
		 * through libpq above (they come from the catalog). */
		gm_strbuf_addf(sql, "%s(SELECT count(*) FROM (SELECT 1 FROM ONLY %s.%s%s%s%s LIMIT %d) s)",
			       k ? ", " : "", nsp, rel, att ? " WHERE " : "", att ? att : "",
			       att ? " IS NOT NULL" : "", GM_GUARD_COUNT_CAP + 1);
		free(nsp);
		free(rel);
		free(att);
	}
}

int gm_guard_read_counts(const PGresult *res, struct gm_removals *r)
{
	size_t k;

	if (PQntuples(res) != 1 || (size_t)PQnfields(res) != r->n)
		return -1;
	for (k = 0; k < r->n; k++)
		r->v[k].rows = strtoll(PQgetvalue(res, 0, (int)k), NULL, 10);
	return 0;
}

int gm_guard_loses_data(const struct gm_removals *r)
{
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->v[k].rows != 0)
			return 1;
	return 0;
}

char *gm_guard_describe(const struct gm_removals *r, int all)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t k;

	for (k = 0; k < r->n; k++) {
		const struct gm_removal *x = &r->v[k];
		const char *unit = x->att ? "value" : "row";

		if (!all && x->rows == 0)
			continue;
		if (sb.len)
			gm_strbuf_adds(&sb, ", ");
		gm_strbuf_addf(&sb, "%s %s.%s%s%s", x->att ? "column" : "table", x->nsp, x->rel,
			       x->att ? "." : "", x->att ? x->att : "");
		if (x->rows < 0)
			gm_strbuf_adds(&sb, " (rows unknown)");
		else if (x->rows > GM_GUARD_COUNT_CAP)
			gm_strbuf_addf(&sb, " (more than %d %ss)", GM_GUARD_COUNT_CAP, unit);
		else
			gm_strbuf_addf(&sb, " (%lld %s%s)", x->rows, unit, x->rows == 1 ? "" : "s");
	}
	return gm_strbuf_detach(&sb, NULL);
}
