/* gm_guard.h - the data-loss and isolation-loss guard of rollback.
 *
 * What a down does is found by comparing the catalog inside the rollback's
 * transaction before and after running it, so it works for any SQL,
 * written or generated:
 *   - a table whose oid disappeared was dropped (dropped and re-created
 *     under the same name counts too: its data is gone);
 *   - a column whose (table oid, attnum) disappeared was dropped;
 *   - a table whose storage (relfilenode) changed was truncated or
 *     rewritten: its rows are counted before and after;
 *   - a column whose type changed was rewritten: its non-NULL values are
 *     counted before and after (ALTER ... TYPE ... USING NULL loses them);
 *   - the other columns of a rewritten table keep their values: each is
 *     fingerprinted before and after (its count of non-NULL values and
 *     the sum of the hashes of their text), so ALTER ... TYPE text USING
 *     NULL on a column that already was text is caught too;
 *   - rows deleted and updated are read from the transaction's own
 *     statistics (pg_stat_xact_user_tables), exactly.
 * Rows and values are counted with row_security off, so Row-Level
 * Security cannot hide them.  What it cannot see: a value overwritten by a
 * type change with another non-NULL value (USING 0), and changes to
 * tables outside the snapshot (temporary ones, garage-migrate's own).
 * Deleted and updated rows need the server's track_counts, which the
 * rollback turns on for its transaction (or refuses without it).
 *
 * After the whole plan, tables that still hold rows but lost their
 * isolation (RLS disabled, no longer forced, or left without policies),
 * and tables that took the name of an isolated one with less isolation,
 * are isolation losses; their rows are counted with the children of a
 * partitioned or inheritance parent, which a query on it reaches. */
#ifndef GM_GUARD_H
#define GM_GUARD_H

#include <libpq-fe.h>
#include <stddef.h>

#include "gm_strbuf.h"

struct gm_db;

/* Columns of every user table (one row per column, attnum 0 for a table
 * without columns), ordered by table oid and attnum, with the table's
 * storage, RLS state, number of policies and what this transaction has
 * deleted and updated in it.  Temporary tables, system schemas and
 * garage-migrate's own schema are left out. */
#define GM_GUARD_SNAPSHOT_SQL                                                                       \
	"SELECT c.oid, coalesce(a.attnum, 0), n.nspname, c.relname, a.attname, c.relfilenode,"      \
	" a.atttypid::pg_catalog.text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) a.atttypmod::pg_catalog.text," \
	" c.relrowsecurity, c.relforcerowsecurity,"                                                 \
	" (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid),"       \
	" coalesce(s.n_tup_del, 0), coalesce(s.n_tup_upd, 0),"                                     \
	" pg_catalog.has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE')"                       \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"     \
	" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped" \
	" LEFT JOIN pg_catalog.pg_stat_xact_user_tables s ON s.relid = c.oid"                      \
	" WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'"                                \
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'garage_migrate')"              \
	" AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"                  \
	" ORDER BY 1, 2"
#define GM_GUARD_SNAPSHOT_COLS 13

struct gm_relcol {
	unsigned long oid;
	int attnum;		/* 0: the table itself (no columns) */
	char *nsp, *rel, *att;	/* att NULL when attnum is 0 */
	unsigned long filenode;
	char *type;		/* "typeoid:typmod", NULL when attnum is 0 */
	int rls, force;
	long long policies;
	long long deleted, updated;	/* by this transaction so far */
	int lockable;		/* LOCK ... SHARE ROW EXCLUSIVE is allowed (it needs
				   UPDATE, DELETE or TRUNCATE; DROP needs only
				   ownership of the table or its schema) */
};

struct gm_snapshot {
	struct gm_relcol *v;	/* sorted by (oid, attnum) */
	size_t n;
};

/* Most rows counted per dropped table: past it the report says "more
 * than".  Rows of truncated tables and values of retyped columns are
 * counted in full (the down already rewrote the table). */
#define GM_GUARD_COUNT_CAP 1000000

enum gm_loss {
	GM_LOSS_TABLE,		/* dropped table: rows */
	GM_LOSS_COLUMN,		/* dropped column: non-NULL values */
	GM_LOSS_REWRITE,	/* truncated or rewritten table: rows before - after */
	GM_LOSS_RETYPE,		/* retyped column: non-NULL values before - after */
	GM_LOSS_CHANGED,	/* rewritten table: columns of unchanged type whose
				   values differ (a fingerprint before and after) */
	GM_LOSS_DELETED,	/* rows deleted */
	GM_LOSS_UPDATED,	/* rows updated (overwritten) */
	GM_LOSS_ISOLATION,	/* rows left without RLS isolation */
};

struct gm_removal {
	enum gm_loss kind;
	char *nsp, *rel;
	char *att;		/* the column, or NULL */
	long long before, after;	/* counts, for REWRITE and RETYPE; -1 unknown */
	long long rows;		/* what is lost; -1 when it could not be counted
				   (CHANGED: columns that changed) */
	const char *why;	/* ISOLATION: "row level security disabled", ... */
	char **cols;		/* CHANGED: the columns compared */
	size_t ncols;
	char *fp_before, *fp_after;	/* CHANGED: "count:hashsum" per column, ':'-joined */
	char *changed;		/* CHANGED: "a, b", once settled */
	int lockable;		/* of the table, from the snapshot before the down */
};

struct gm_removals {
	struct gm_removal *v;
	size_t n;
};

/* Copies a GM_GUARD_SNAPSHOT_SQL result; -1 on a bad shape. */
int gm_snapshot_load(const PGresult *res, struct gm_snapshot *out);
void gm_snapshot_release(struct gm_snapshot *s);

/* What a down did, from the snapshots before and after it (columns of a
 * dropped table are not listed separately).  Appends to out. */
void gm_guard_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
		   struct gm_removals *out);
/* Tables of before whose isolation is weaker in after (RLS disabled, no
 * longer forced, or left without policies): the same table (by oid), and
 * a different table now under its name (a rebuilt table).  Appends. */
void gm_guard_isolation_diff(const struct gm_snapshot *before, const struct gm_snapshot *after,
			     struct gm_removals *out);
void gm_removals_release(struct gm_removals *r);

/* One SELECT returning one row with a count column for each removal
 * that is counted at that moment: before the down (TABLE, COLUMN,
 * REWRITE, RETYPE) or after it (REWRITE, RETYPE, ISOLATION).  Empty when
 * nothing is to be counted. */
void gm_guard_count_sql(struct gm_db *db, const struct gm_removals *r, int after, struct gm_strbuf *sql);
/* Appends LOCK TABLE of every table whose rows the count before a down
 * (after = 0) reads, in a mode no other session can write them under,
 * or nothing: counted and then dropped in the same transaction, with the
 * lock held from before the count to the commit, no row can come in
 * between.  Returns the statements appended (0 or 1). */
size_t gm_guard_lock_sql(struct gm_db *db, const struct gm_removals *r, struct gm_strbuf *sql);
/* Stores that SELECT's counts; -1 on a bad shape. */
int gm_guard_read_counts(const PGresult *res, struct gm_removals *r, int after);
/* Works out what each removal lost once the counts are in. */
void gm_guard_settle(struct gm_removals *r);
/* Non-zero when any data removal (not isolation) lost rows or values, or
 * could not be counted. */
int gm_guard_loses_data(const struct gm_removals *r);
/* Non-zero when any isolation removal keeps rows, or could not be
 * counted. */
int gm_guard_loses_isolation(const struct gm_removals *r);
/* "table public.t (3 rows), column public.u.c (1 value)" (caller frees);
 * only those that lost something unless all is set. */
char *gm_guard_describe(const struct gm_removals *r, int all);

#endif
