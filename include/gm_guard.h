/* gm_guard.h - the data-loss guard of rollback.
 *
 * What a down removes is found by comparing the catalog inside the
 * rollback's transaction before and after running it, so it works for any
 * SQL, written or generated: a table whose oid disappeared was dropped (a
 * table dropped and re-created under the same name counts too: its data is
 * gone), a column whose (table oid, attnum) disappeared was dropped.  Then,
 * with the down rolled back to a savepoint, each removed table's rows and
 * each removed column's non-NULL values are counted with row_security off,
 * so Row-Level Security cannot hide rows from the count. */
#ifndef GM_GUARD_H
#define GM_GUARD_H

#include <libpq-fe.h>
#include <stddef.h>

#include "gm_strbuf.h"

struct gm_db;

/* Columns of every user table (one row per column, attnum 0 for a table
 * without columns), ordered by table oid and attnum.  Temporary tables,
 * system schemas and garage-migrate's own schema are left out. */
#define GM_GUARD_SNAPSHOT_SQL                                                        \
	"SELECT c.oid, coalesce(a.attnum, 0), n.nspname, c.relname, a.attname"      \
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"            \
	" LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped" \
	" WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'"                \
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'garage_migrate')" \
	" AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"   \
	" ORDER BY 1, 2"

struct gm_relcol {
	unsigned long oid;
	int attnum;		/* 0: the table itself (no columns) */
	char *nsp, *rel, *att;	/* att NULL when attnum is 0 */
};

struct gm_snapshot {
	struct gm_relcol *v;	/* sorted by (oid, attnum) */
	size_t n;
};

/* Most rows counted per table: past it the report says "more than". */
#define GM_GUARD_COUNT_CAP 1000000

struct gm_removal {
	char *nsp, *rel;
	char *att;		/* NULL: the whole table */
	long long rows;		/* rows (table) or non-NULL values (column); -1 unknown */
};

struct gm_removals {
	struct gm_removal *v;
	size_t n;
};

/* Copies a GM_GUARD_SNAPSHOT_SQL result. */
void gm_snapshot_load(const PGresult *res, struct gm_snapshot *out);
void gm_snapshot_release(struct gm_snapshot *s);

/* Tables and columns of before that after lacks (columns of a dropped
 * table are not listed separately). */
void gm_guard_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
		   struct gm_removals *out);
void gm_removals_release(struct gm_removals *r);

/* One SELECT returning one row with one count column per removal. */
void gm_guard_count_sql(struct gm_db *db, const struct gm_removals *r, struct gm_strbuf *sql);
/* Stores the counts of that SELECT's result; returns -1 on a bad shape. */
int gm_guard_read_counts(const PGresult *res, struct gm_removals *r);
/* Non-zero when any removal held data. */
int gm_guard_loses_data(const struct gm_removals *r);
/* "public.t (3 rows), public.u.c (1 value)" (caller frees); only those
 * that held data unless all is set. */
char *gm_guard_describe(const struct gm_removals *r, int all);

#endif
