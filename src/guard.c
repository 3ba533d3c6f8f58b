/* guard.c - what a down removes, and whether it held data (gm_guard.h). */
#include "gm_guard.h"
#include "gm_db.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : gm_xstrdup(PQgetvalue(res, row, col));
}

int gm_snapshot_load(const PGresult *res, struct gm_snapshot *out)
{
	int k, n = PQntuples(res);

	memset(out, 0, sizeof(*out));
	if (PQnfields(res) != GM_GUARD_SNAPSHOT_COLS)
		return -1;
	out->v = gm_xcalloc((size_t)(n ? n : 1), sizeof(*out->v));
	for (k = 0; k < n; k++) {
		struct gm_relcol *rc = &out->v[k];
		rc->oid = strtoul(PQgetvalue(res, k, 0), NULL, 10);
		rc->attnum = atoi(PQgetvalue(res, k, 1));
		rc->nsp = gm_xstrdup(PQgetvalue(res, k, 2));
		rc->rel = gm_xstrdup(PQgetvalue(res, k, 3));
		rc->att = dup_or_null(res, k, 4);
		rc->filenode = strtoul(PQgetvalue(res, k, 5), NULL, 10);
		rc->type = dup_or_null(res, k, 6);
		rc->rls = !strcmp(PQgetvalue(res, k, 7), "t");
		rc->force = !strcmp(PQgetvalue(res, k, 8), "t");
		rc->policies = strtoll(PQgetvalue(res, k, 9), NULL, 10);
		rc->deleted = strtoll(PQgetvalue(res, k, 10), NULL, 10);
		rc->updated = strtoll(PQgetvalue(res, k, 11), NULL, 10);
		rc->lockable = !strcmp(PQgetvalue(res, k, 12), "t");
	}
	out->n = (size_t)n;
	return 0;
}

void gm_snapshot_release(struct gm_snapshot *s)
{
	size_t k;

	for (k = 0; k < s->n; k++) {
		free(s->v[k].nsp);
		free(s->v[k].rel);
		free(s->v[k].att);
		free(s->v[k].type);
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

/* The first row of table oid in s, or NULL. */
static const struct gm_relcol *table_in(const struct gm_snapshot *s, unsigned long oid)
{
	size_t i = lower_bound(s, oid, -1);
	return i < s->n && s->v[i].oid == oid ? &s->v[i] : NULL;
}

static const struct gm_relcol *column_in(const struct gm_snapshot *s, unsigned long oid, int attnum)
{
	size_t i = lower_bound(s, oid, attnum);
	return i < s->n && cmp_key(oid, attnum, &s->v[i]) == 0 ? &s->v[i] : NULL;
}

static struct gm_removal *push(struct gm_removals *r, enum gm_loss kind, const struct gm_relcol *rc, int column)
{
	struct gm_removal *x;

	r->v = gm_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->nsp = gm_xstrdup(rc->nsp);
	x->rel = gm_xstrdup(rc->rel);
	x->att = column && rc->att ? gm_xstrdup(rc->att) : NULL;
	x->before = x->after = x->rows = -1;
	x->lockable = rc->lockable;
	return x;
}

/* The columns of a rewritten table (its rows in before start at first)
 * that are still there with the same type: their values must be too. */
static void changed_columns(const struct gm_snapshot *before, size_t first, const struct gm_snapshot *after,
			    struct gm_removals *out)
{
	struct gm_removal *x = NULL;

	for (size_t k = first; k < before->n && before->v[k].oid == before->v[first].oid; k++) {
		const struct gm_relcol *b = &before->v[k], *a;

		if (b->attnum <= 0 || !(a = column_in(after, b->oid, b->attnum)) || !b->type || !a->type
		    || strcmp(b->type, a->type) != 0)
			continue;
		if (!x)
			x = push(out, GM_LOSS_CHANGED, b, 0);
		x->cols = gm_xrealloc(x->cols, (x->ncols + 1) * sizeof(*x->cols));
		x->cols[x->ncols++] = gm_xstrdup(b->att);
	}
}

/* A table that is still there: storage replaced, rows deleted or
 * updated (from the transaction's statistics, before - after). */
static void diff_table(const struct gm_relcol *b, const struct gm_relcol *a, struct gm_removals *out)
{
	if (b->filenode && a->filenode != b->filenode)
		push(out, GM_LOSS_REWRITE, b, 0);
	if (a->deleted > b->deleted)
		push(out, GM_LOSS_DELETED, b, 0)->rows = a->deleted - b->deleted;
	if (a->updated > b->updated)
		push(out, GM_LOSS_UPDATED, b, 0)->rows = a->updated - b->updated;
}

void gm_guard_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
		   struct gm_removals *out)
{
	size_t k;

	for (k = 0; k < before->n; k++) {
		const struct gm_relcol *rc = &before->v[k], *t, *c;
		int first_of_table = k == 0 || before->v[k - 1].oid != rc->oid;

		if (!(t = table_in(after, rc->oid))) {
			if (first_of_table)
				push(out, GM_LOSS_TABLE, rc, 0);
			continue;
		}
		if (first_of_table) {
			diff_table(rc, t, out);
			if (rc->filenode && t->filenode != rc->filenode)
				changed_columns(before, k, after, out);
		}
		if (rc->attnum <= 0)
			continue;
		if (!(c = column_in(after, rc->oid, rc->attnum)))
			push(out, GM_LOSS_COLUMN, rc, 1);
		else if (rc->type && c->type && strcmp(rc->type, c->type) != 0)
			push(out, GM_LOSS_RETYPE, rc, 1);
	}
}

/* How a is less isolated than b was, or NULL. */
static const char *weaker(const struct gm_relcol *b, const struct gm_relcol *a)
{
	if (b->rls && !a->rls)
		return "row level security disabled";
	if (b->force && !a->force)
		return "row level security no longer forced";
	if (b->policies > 0 && a->policies == 0)
		return "no policy left";
	return NULL;
}

/* The first row of the table named nsp.rel in s, or NULL. */
static const struct gm_relcol *table_named(const struct gm_snapshot *s, const char *nsp, const char *rel)
{
	for (size_t k = 0; k < s->n; k++)
		if (!strcmp(s->v[k].rel, rel) && !strcmp(s->v[k].nsp, nsp))
			return &s->v[k];
	return NULL;
}

void gm_guard_isolation_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
			     struct gm_removals *out)
{
	size_t k;

	for (k = 0; k < before->n; k++) {
		const struct gm_relcol *b = &before->v[k], *same, *named;
		const char *why;

		if (k > 0 && before->v[k - 1].oid == b->oid)
			continue;
		/* The table itself, wherever it went, and whatever now has its
		 * name: a rebuilt table (renamed away, copied into a new one
		 * under the old name) must be as isolated as the old one. */
		same = table_in(after, b->oid);
		named = table_named(after, b->nsp, b->rel);
		if (same && (why = weaker(b, same)))
			push(out, GM_LOSS_ISOLATION, same, 0)->why = why;
		if (named && named != same && (why = weaker(b, named)))
			push(out, GM_LOSS_ISOLATION, named, 0)->why = why;
	}
}

void gm_removals_release(struct gm_removals *r)
{
	size_t k;

	for (k = 0; k < r->n; k++) {
		free(r->v[k].nsp);
		free(r->v[k].rel);
		free(r->v[k].att);
		for (size_t j = 0; j < r->v[k].ncols; j++)
			free(r->v[k].cols[j]);
		free(r->v[k].cols);
		free(r->v[k].fp_before);
		free(r->v[k].fp_after);
		free(r->v[k].changed);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Whether a removal is counted at that moment (see gm_guard.h). */
static int counted(const struct gm_removal *x, int after)
{
	switch (x->kind) {
	case GM_LOSS_TABLE:
	case GM_LOSS_COLUMN:
		return !after;
	case GM_LOSS_REWRITE:
	case GM_LOSS_RETYPE:
	case GM_LOSS_CHANGED:
		return 1;
	case GM_LOSS_ISOLATION:
		return after;
	default:
		return 0;
	}
}

/* One scan of the table, every compared column's fingerprint: its count
 * of non-NULL values and the sum of the hashes of their text.  The text
 * comes from the types' output functions (record_out of a one-column
 * row): a cast to text could be a function of whoever owns the type. */
static void fingerprint_sql(struct gm_db *db, const struct gm_removal *x, const char *nsp, const char *rel,
			    struct gm_strbuf *sql)
{
	gm_strbuf_adds(sql, "(SELECT pg_catalog.concat_ws(':'");
	for (size_t j = 0; j < x->ncols; j++) {
		char *c = gm_db_quote_ident(db, x->cols[j]);

		gm_strbuf_addf(sql, ", pg_catalog.count(%s), COALESCE(pg_catalog.sum(pg_catalog.hashtextextended("
				    "pg_catalog.textin(pg_catalog.record_out(ROW(%s))), 0)), 0)", c, c);
		free(c);
	}
	gm_strbuf_addf(sql, ") FROM ONLY %s.%s)", nsp, rel);
}

void gm_guard_count_sql(struct gm_db *db, const struct gm_removals *r, int after, struct gm_strbuf *sql)
{
	size_t k;
	int n = 0;

	for (k = 0; k < r->n; k++) {
		const struct gm_removal *x = &r->v[k];
		char *nsp, *rel, *att;
		/* Only whether dropped tables and columns (and unprotected
		 * ones) held data matters: a rollback should not scan a
		 * billion rows to say so.  Rewritten ones are counted in full. */
		int capped = x->kind == GM_LOSS_TABLE || x->kind == GM_LOSS_COLUMN || x->kind == GM_LOSS_ISOLATION;

		if (!counted(x, after))
			continue;
		/* Names come from the catalog: quoted through libpq. */
		nsp = gm_db_quote_ident(db, x->nsp);
		rel = gm_db_quote_ident(db, x->rel);
		att = x->att ? gm_db_quote_ident(db, x->att) : NULL;
		gm_strbuf_adds(sql, n++ ? ", " : "SELECT ");
		/* A table's own rows, except for isolation: a query on a
		 * partitioned or inheritance parent reaches its children's rows
		 * under the parent's policies alone. */
		if (x->kind == GM_LOSS_CHANGED)
			fingerprint_sql(db, x, nsp, rel, sql);
		else if (capped)
			gm_strbuf_addf(sql, "(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM %s%s.%s%s%s%s LIMIT %d) s)",
				       x->kind == GM_LOSS_ISOLATION ? "" : "ONLY ", nsp, rel, att ? " WHERE " : "",
				       att ? att : "", att ? " IS NOT NULL" : "", GM_GUARD_COUNT_CAP + 1);
		else
			gm_strbuf_addf(sql, "(SELECT pg_catalog.count(%s) FROM ONLY %s.%s)", att ? att : "*", nsp, rel);
		free(nsp);
		free(rel);
		free(att);
	}
}

size_t gm_guard_lock_sql(struct gm_db *db, const struct gm_removals *r, struct gm_strbuf *sql)
{
	size_t k, n = 0;

	for (k = 0; k < r->n; k++) {
		const struct gm_removal *x = &r->v[k];
		char *nsp, *rel;

		/* A table the role may drop but not lock (only its schema is
		 * the role's) is counted without the lock, as before it.  One
		 * the down deletes or updates rows of is locked too: the down
		 * runs again after the count, and a row committed meanwhile
		 * would go with the rows it was seen to remove. */
		if ((!counted(x, 0) && x->kind != GM_LOSS_DELETED && x->kind != GM_LOSS_UPDATED) || !x->lockable)
			continue;
		/* Names come from the catalog: quoted through libpq.  ONLY:
		 * the table the count reads (a child dropped with its parent
		 * is a removal of its own).  A table listed twice (two of its
		 * columns go) is locked once. */
		nsp = gm_db_quote_ident(db, x->nsp);
		rel = gm_db_quote_ident(db, x->rel);
		gm_strbuf_addf(sql, "%sONLY %s.%s", n++ ? ", " : "LOCK TABLE ", nsp, rel);
		free(nsp);
		free(rel);
	}
	if (n)
		gm_strbuf_adds(sql, " IN SHARE ROW EXCLUSIVE MODE;\n");
	return n ? 1 : 0;
}

int gm_guard_read_counts(const PGresult *res, struct gm_removals *r, int after)
{
	size_t k;
	int col = 0;

	if (PQntuples(res) != 1)
		return -1;
	for (k = 0; k < r->n; k++) {
		struct gm_removal *x = &r->v[k];
		long long v;
		if (!counted(x, after))
			continue;
		if (col >= PQnfields(res))
			return -1;
		if (x->kind == GM_LOSS_CHANGED) {
			char **fp = after ? &x->fp_after : &x->fp_before;
			free(*fp);
			*fp = gm_xstrdup(PQgetvalue(res, 0, col++));
			continue;
		}
		v = strtoll(PQgetvalue(res, 0, col++), NULL, 10);
		if (after)
			x->after = v;
		else
			x->before = v;
	}
	return col == PQnfields(res) ? 0 : -1;
}

/* Past the next ':' of s, or at its end. */
static const char *next_field(const char *s)
{
	const char *c = strchr(s, ':');
	return c ? c + 1 : s + strlen(s);
}

/* The columns whose fingerprints differ, joined ("a, b"), and how many;
 * NULL when none. */
static char *changed_names(const struct gm_removal *x, long long *n)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *b = x->fp_before, *a = x->fp_after;

	*n = 0;
	for (size_t j = 0; j < x->ncols; j++) {
		/* Two fields per column: count, then hash sum. */
		const char *bn = next_field(next_field(b)), *an = next_field(next_field(a));

		if (bn - b != an - a || memcmp(a, b, (size_t)(an - a)) != 0) {
			gm_strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", x->cols[j]);
			++*n;
		}
		b = bn;
		a = an;
	}
	if (*n)
		return gm_strbuf_detach(&sb, NULL);
	gm_strbuf_release(&sb);
	return NULL;
}

void gm_guard_settle(struct gm_removals *r)
{
	for (size_t k = 0; k < r->n; k++) {
		struct gm_removal *x = &r->v[k];
		switch (x->kind) {
		case GM_LOSS_TABLE:
		case GM_LOSS_COLUMN:
			x->rows = x->before;
			break;
		case GM_LOSS_REWRITE:
		case GM_LOSS_RETYPE:
			x->rows = x->before < 0 || x->after < 0 ? -1
				: x->before > x->after ? x->before - x->after : 0;
			break;
		case GM_LOSS_ISOLATION:
			x->rows = x->after;
			break;
		case GM_LOSS_CHANGED:
			free(x->changed);
			x->changed = NULL;
			if (!x->fp_before || !x->fp_after) {
				x->rows = -1;
			} else {
				x->changed = changed_names(x, &x->rows);
			}
			break;
		default:
			break;	/* DELETED, UPDATED: exact from the start */
		}
	}
}

int gm_guard_loses_data(const struct gm_removals *r)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->v[k].kind != GM_LOSS_ISOLATION && r->v[k].rows != 0)
			return 1;
	return 0;
}

int gm_guard_loses_isolation(const struct gm_removals *r)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->v[k].kind == GM_LOSS_ISOLATION && r->v[k].rows != 0)
			return 1;
	return 0;
}

static void describe_count(struct gm_strbuf *sb, long long n, const char *unit, int cap)
{
	if (n < 0)
		gm_strbuf_addf(sb, " (%ss unknown)", unit);
	else if (cap && n > GM_GUARD_COUNT_CAP)
		gm_strbuf_addf(sb, " (more than %d %ss)", GM_GUARD_COUNT_CAP, unit);
	else
		gm_strbuf_addf(sb, " (%lld %s%s)", n, unit, n == 1 ? "" : "s");
}

static void describe_one(struct gm_strbuf *sb, const struct gm_removal *x)
{
	switch (x->kind) {
	case GM_LOSS_TABLE:
		gm_strbuf_addf(sb, "table %s.%s", x->nsp, x->rel);
		describe_count(sb, x->rows, "row", 1);
		break;
	case GM_LOSS_COLUMN:
		gm_strbuf_addf(sb, "column %s.%s.%s", x->nsp, x->rel, x->att);
		describe_count(sb, x->rows, "value", 1);
		break;
	case GM_LOSS_REWRITE:
		gm_strbuf_addf(sb, "rows of table %s.%s removed (truncated or rewritten)", x->nsp, x->rel);
		describe_count(sb, x->rows, "row", 0);
		break;
	case GM_LOSS_RETYPE:
		gm_strbuf_addf(sb, "values of column %s.%s.%s lost to its new type", x->nsp, x->rel, x->att);
		describe_count(sb, x->rows, "value", 0);
		break;
	case GM_LOSS_CHANGED:
		if (x->rows < 0)
			gm_strbuf_addf(sb, "values of table %s.%s rewritten (cannot be compared)", x->nsp, x->rel);
		else
			gm_strbuf_addf(sb, "values of table %s.%s changed by a rewrite (column%s %s)", x->nsp, x->rel,
				       x->rows == 1 ? "" : "s", x->changed ? x->changed : "none");
		break;
	case GM_LOSS_DELETED:
		gm_strbuf_addf(sb, "rows deleted from table %s.%s", x->nsp, x->rel);
		describe_count(sb, x->rows, "row", 0);
		break;
	case GM_LOSS_UPDATED:
		gm_strbuf_addf(sb, "rows overwritten in table %s.%s", x->nsp, x->rel);
		describe_count(sb, x->rows, "row", 0);
		break;
	case GM_LOSS_ISOLATION:
		gm_strbuf_addf(sb, "table %s.%s, %s,", x->nsp, x->rel, x->why);
		if (x->rows < 0)
			gm_strbuf_adds(sb, " whose rows cannot be counted");
		else if (x->rows > GM_GUARD_COUNT_CAP)
			gm_strbuf_addf(sb, " keeps more than %d rows", GM_GUARD_COUNT_CAP);
		else
			gm_strbuf_addf(sb, " keeps %lld row%s", x->rows, x->rows == 1 ? "" : "s");
		break;
	}
}

char *gm_guard_describe(const struct gm_removals *r, int all)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t k;

	for (k = 0; k < r->n; k++) {
		if (!all && r->v[k].rows == 0)
			continue;
		if (sb.len)
			gm_strbuf_adds(&sb, ", ");
		describe_one(&sb, &r->v[k]);
	}
	return gm_strbuf_detach(&sb, NULL);
}
