/* sqllint.c - the migration lint's driver (see gm_sqllint.h): the rule
 * table, parsing the run, one catalog read for sizes, the walk through
 * the run, lint-ignore comments, and the levels findings end up with.
 *
 * The run is parsed first, statement by statement (gm_sqlstmt.h), and
 * kept: the catalog read needs every relation the run names before the
 * first rule runs, and the RLS rules need the whole run at the end. */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_sqlstmt.h"
#include "gm_text.h"
#include "sqllint_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the rules ---- */

#define E GM_LINT_ERROR
#define W GM_LINT_WARNING
#define N GM_LINT_NOTE

static const struct gm_lint_rule rules[] = {
	/* Locks and rewrites on existing tables; their level follows the
	 * table's size when a database tells it. */
	{ "alter_column_type", "lock", E, 1, 0,
	  "ALTER COLUMN ... TYPE rewrites the table and its indexes while holding ACCESS EXCLUSIVE",
	  "add a column of the new type, backfill it in batches, move the application to it, then drop the old one"
	  " (varchar(n) to text, or to a longer varchar, needs no rewrite: ignore it with that reason)" },
	{ "add_column_volatile_default", "lock", E, 1, 0,
	  "ADD COLUMN with a volatile default (or serial, identity, stored generated) rewrites the table while holding ACCESS EXCLUSIVE",
	  "add the column without a default (or with a constant one), set the default afterwards, and backfill the existing rows in batches" },
	{ "set_not_null", "lock", E, 1, 0,
	  "SET NOT NULL scans the whole table while holding ACCESS EXCLUSIVE",
	  "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c in another transaction, then SET NOT"
	  " NULL (it uses the validated check instead of a scan) and DROP CONSTRAINT c" },
	{ "constraint_without_not_valid", "lock", E, 1, 0,
	  "ADD CONSTRAINT ... FOREIGN KEY or CHECK checks every row while holding its lock",
	  "add it NOT VALID, then VALIDATE CONSTRAINT in another transaction (a later migration, or the next statement of a"
	  " -- garage:no-transaction one): validation takes a lock that lets reads and writes go on" },
	{ "add_constraint_builds_index", "lock", E, 1, 0,
	  "ADD PRIMARY KEY, UNIQUE or EXCLUDE builds an index while holding ACCESS EXCLUSIVE",
	  "CREATE UNIQUE INDEX CONCURRENTLY in a -- garage:no-transaction migration, then ADD CONSTRAINT ... USING INDEX" },
	{ "create_index_not_concurrently", "lock", E, 1, 0,
	  "CREATE INDEX without CONCURRENTLY blocks every write to the table for the whole build",
	  "CREATE INDEX CONCURRENTLY IF NOT EXISTS, in a migration of its own marked -- garage:no-transaction" },
	{ "blocking_maintenance", "lock", E, 1, 0,
	  "REINDEX, CLUSTER and VACUUM FULL rebuild while holding locks that block the application",
	  "REINDEX ... CONCURRENTLY in a -- garage:no-transaction migration; CLUSTER and VACUUM FULL belong to a maintenance window"
	  " (or pg_repack), not to a migration" },
	{ "lock_without_timeout", "lock", W, 0, 0,
	  "ACCESS EXCLUSIVE on an existing table without a lock timeout: while it waits for a long query, every query on the table waits behind it",
	  "run with --lock-timeout 5s (or timeouts.lock in garage-migrate.yaml), or start the migration with SET LOCAL lock_timeout = '5s'" },
	/* Destructive changes in an up section. */
	{ "drop_table", "destructive", E, 0, 0,
	  "DROP TABLE destroys the table and every row in it",
	  "first release the application without the table, back it up, then drop it in a later migration, saying so with a lint-ignore" },
	{ "drop_column", "destructive", E, 0, 0,
	  "DROP COLUMN destroys the column's data and breaks the running application while it still uses the column",
	  "first release the application without the column, then drop it in a later migration, saying so with a lint-ignore" },
	{ "drop_type", "destructive", E, 0, 0,
	  "DROP TYPE fails while a column uses the type, or drops those columns with CASCADE",
	  "first move the columns off the type, then drop it, saying so with a lint-ignore" },
	{ "truncate", "destructive", E, 0, 0,
	  "TRUNCATE deletes every row of the table (under ACCESS EXCLUSIVE)",
	  "back the rows up first, and say why with a lint-ignore" },
	{ "delete_without_where", "destructive", E, 0, 0,
	  "DELETE without WHERE deletes every row of the table",
	  "add the WHERE the change means; on a large table, delete in batches outside the migration's transaction" },
	{ "update_without_where", "destructive", E, 0, 0,
	  "UPDATE without WHERE rewrites every row and holds a lock on each until the migration commits",
	  "add the WHERE the change means; backfill a large table in batches outside the migration's transaction" },
	{ "rename_table", "destructive", E, 0, 0,
	  "renaming a table breaks the application that runs against the old name",
	  "expand and contract: add the new table (or a view under the new name), move the application, then drop the old name" },
	{ "rename_column", "destructive", E, 0, 0,
	  "renaming a column breaks the application that runs against the old name",
	  "expand and contract: add the new column, write both, backfill, move the readers, then drop the old one" },
	/* Transaction hazards. */
	{ "no_transaction_required", "transaction", E, 0, 0,
	  "a statement that cannot run inside a transaction block (VACUUM, CREATE DATABASE, ALTER SYSTEM, ...) in a migration that runs in one",
	  "move it to a migration of its own marked -- garage:no-transaction" },
	{ "concurrently_in_transaction", "transaction", E, 0, 0,
	  "CONCURRENTLY cannot run inside a transaction block, and this migration runs in one",
	  "move the statement to a migration of its own marked -- garage:no-transaction, written with IF NOT EXISTS so that it can run again" },
	/* Row-Level Security at migration time. */
	{ "tenant_table_without_rls", "rls", E, 0, 0,
	  "a tenant table created in an exposed schema that no migration enables Row-Level Security on: every tenant reads every tenant's rows",
	  "ENABLE and FORCE ROW LEVEL SECURITY with tenant policies (a YAML migration's rls:)" },
	{ "create_table_without_rls", "rls", W, 0, 0,
	  "a table created in an exposed schema, neither declared global nor given Row-Level Security by any migration: every role the API lets in reads every row",
	  "ENABLE ROW LEVEL SECURITY with policies (a YAML migration's rls:), or declare the table in tenancy.global_tables" },
	{ "create_table_rls_not_forced", "rls", E, 0, 0,
	  "a tenant table whose Row-Level Security is enabled but never forced: an application connected as its owner bypasses every policy",
	  "ALTER TABLE ... FORCE ROW LEVEL SECURITY (YAML: force: true)" },
	{ "current_setting_without_missing_ok", "rls", E, 0, 0,
	  "current_setting(name) without missing_ok raises an error wherever the tenant is not set",
	  "current_setting(name, true): NULL when unset, which matches no row (wrap it as NULLIF(..., '') for an empty one)" },
	{ "write_policy_not_tenant_bound", "rls", E, 0, 0,
	  "a permissive write policy (ALL, INSERT, UPDATE, DELETE) with an OR branch not bound to the tenant: any tenant can write the rows that branch lets through",
	  "bind every branch of a write policy to the tenant (tenant column = the tenancy expression); keep shared-row reads in a FOR SELECT policy" },
	{ "read_policy_not_tenant_bound", "rls", W, 0, 0,
	  "a permissive FOR SELECT policy with an OR branch neither bound to the tenant nor limited to shared rows (a column of tenancy.public_read_columns): any tenant can read the rows that branch lets through",
	  "bind every branch to the tenant (tenant column = the tenancy expression), or limit it to shared rows (is_public OR ...)" },
	{ "view_without_security_invoker", "rls", E, 0, 0,
	  "a view over a table with Row-Level Security, without security_invoker: it reads as its owner, past the policies (a materialized view keeps every tenant's rows)",
	  "CREATE VIEW ... WITH (security_invoker = true); do not materialize tenant tables" },
	{ "security_definer_without_search_path", "rls", E, 0, 0,
	  "a SECURITY DEFINER function without SET search_path runs with its owner's rights whatever the caller's path finds first",
	  "add SET search_path = pg_catalog, pg_temp (and name your own objects with their schema)" },
	{ "definer_function_bypasses_rls", "rls", E, 0, 0,
	  "a SECURITY DEFINER function with a statement on a tenant table (or one with RLS) that does not bind the rows to the tenant itself: it runs as its owner, and an owner that bypasses RLS lets any caller reach every tenant's rows",
	  "bind each of its statements on the table to the tenant (tenant column = the tenancy expression, not an argument), or make it SECURITY INVOKER" },
	{ "definer_function_not_analysed", "rls", W, 0, 0,
	  "a SECURITY DEFINER function whose body cannot be judged (dynamic SQL with EXECUTE, a language other than SQL and PL/pgSQL)",
	  "check by hand that it binds every tenant row it touches to the tenant, or make it SECURITY INVOKER" },
	{ "isolation_change_without_transaction", "rls", E, 0, 0,
	  "a statement that can take isolation from tenant rows (DISABLE or NO FORCE ROW LEVEL SECURITY, CREATE, ALTER or DROP POLICY) in a migration marked -- garage:no-transaction, where up's isolation guard cannot check it",
	  "move it to a migration that runs in a transaction: none of these statements needs to run outside one" },
	{ "tenant_table_bypass_grant", "rls", W, 0, 0,
	  "TRUNCATE or TRIGGER (or ALL) granted on a tenant table: TRUNCATE ignores row-level security and empties every tenant's rows, and the grantee's own trigger sees every row any tenant writes",
	  "grant only SELECT, INSERT, UPDATE, DELETE (what the policies govern) to the application's role" },
	{ "leakproof_function", "rls", W, 0, 0,
	  "a function made LEAKPROOF: the planner runs it on every tenant's rows before the policies, so what it lets out about its arguments (an error's message, a notice) any caller reads",
	  "leave it NOT LEAKPROOF (the default), unless no argument can reach an error, a notice or anything it writes" },
	{ "trigger_grant", "rls", W, 0, 0,
	  "TRIGGER (or ALL) granted on a table or view that is not a tenant table: the grantee may attach a trigger whose function runs as whoever writes there, a superuser's migration included",
	  "grant only what the role needs (SELECT, INSERT, UPDATE, DELETE)" },
	{ "grant_to_public", "rls", E, 0, 0,
	  "a privilege on a table granted to PUBLIC (or to a role of tenancy.anon_roles): every role, present and future, gets it",
	  "grant what the application needs to its own role instead" },
	/* About the lint itself. */
	{ "not_analysed", "lint", N, 0, 0,
	  "a statement PostgreSQL 15's grammar (libpg_query) cannot parse is not analysed; it runs as written",
	  "nothing to do when it is newer syntax your server accepts; otherwise the server will report the error" },
	{ "lint_ignore_invalid", "lint", E, 0, 1,
	  "a lint-ignore comment that names no known rule, or gives no reason",
	  "write -- garage:lint-ignore RULE reason, with one of the rules of garage-migrate(1) and why the finding does not apply" },
	{ "lint_ignore_unused", "lint", W, 0, 0,
	  "a lint-ignore comment with nothing to ignore in the statement after it",
	  "remove it, or move it to the line before the statement it is about" },
};

#undef E
#undef W
#undef N

const struct gm_lint_rule *gm_lint_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

const struct gm_lint_rule *gm_lint_rule_find(const char *id)
{
	for (size_t k = 0; k < sizeof(rules) / sizeof(rules[0]); k++)
		if (!strcmp(rules[k].id, id))
			return &rules[k];
	return NULL;
}

const char *gm_lint_level_name(enum gm_lint_level l)
{
	static const char *const names[] = { "off", "note", "warning", "error" };

	return (unsigned)l < GM_LINT_LEVELS ? names[l] : "?";
}

int gm_lint_level_parse(const char *s)
{
	for (int k = 0; k < GM_LINT_LEVELS; k++)
		if (!strcmp(s, gm_lint_level_name((enum gm_lint_level)k)))
			return k;
	return -1;
}

void gm_lint_levels_release(struct gm_lint_levels *l)
{
	for (size_t k = 0; k < l->n; k++)
		free(l->v[k].rule);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int gm_lint_levels_get(const struct gm_lint_levels *l, const char *rule)
{
	for (size_t k = 0; l && k < l->n; k++)
		if (!strcmp(l->v[k].rule, rule))
			return (int)l->v[k].level;
	return -1;
}

/* ---- relations ---- */

static char *key_of(const char *schema, const char *name)
{
	return gm_xasprintf("%s.%s", schema && *schema ? schema : "public", name ? name : "");
}

char *lint_key(const PgQuery__RangeVar *rv)
{
	return key_of(rv->schemaname, rv->relname);
}

char *lint_key_names(PgQuery__Node *const *names, size_t n)
{
	return key_of(n >= 2 ? gm_pgtree_str(names[n - 2]) : NULL, gm_pgtree_last_name(names, n));
}

const struct lint_rel *lint_rel_get(const struct lint *l, const char *key)
{
	for (size_t k = 0; key && k < l->nrels; k++)
		if (!strcmp(l->rels[k].key, key))
			return &l->rels[k];
	return NULL;
}

int lint_is_new(const struct lint *l, const char *key)
{
	return gm_strlist_has(&l->created, key);
}

static void rel_add(struct lint *l, const char *schema, const char *name)
{
	char *key = key_of(schema, name);
	struct lint_rel *r;

	if (!name || !*name || lint_rel_get(l, key)) {
		free(key);
		return;
	}
	l->rels = gm_xrealloc(l->rels, (l->nrels + 1) * sizeof(*l->rels));
	r = &l->rels[l->nrels++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->schema = schema && *schema ? gm_xstrdup(schema) : NULL;
	r->name = gm_xstrdup(name);
	r->rows = r->bytes = -1;
}

static int collect_rel(void *ctx, const ProtobufCMessage *m)
{
	struct lint *l = ctx;

	if (m->descriptor == &pg_query__range_var__descriptor) {
		const PgQuery__RangeVar *rv = (const PgQuery__RangeVar *)m;
		rel_add(l, rv->schemaname, rv->relname);
	} else if (m->descriptor == &pg_query__drop_stmt__descriptor) {
		/* DROP TABLE names its tables as lists of names, not RangeVars. */
		const PgQuery__DropStmt *d = (const PgQuery__DropStmt *)m;
		for (size_t k = 0; k < d->n_objects; k++) {
			const PgQuery__Node *o = d->objects[k];
			if (o->node_case != PG_QUERY__NODE__NODE_LIST || !o->list->n_items)
				continue;
			rel_add(l, o->list->n_items >= 2 ? gm_pgtree_str(o->list->items[o->list->n_items - 2]) : NULL,
				gm_pgtree_last_name(o->list->items, o->list->n_items));
		}
	}
	return 0;
}

/* ---- the catalog ---- */

/* The schemas of the user's search path, in order ("$user" as the
 * session's user), for names written without one. */
static void path_schemas(struct gm_db *db, struct gm_strlist *out)
{
	const char *p = db->search_path ? db->search_path : "";

	while (*p) {
		struct gm_strbuf s = GM_STRBUF_INIT;
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++;
				gm_strbuf_addch(&s, *p);
			}
			if (*p)
				p++;
		} else {
			for (; *p && *p != ','; p++)
				if (*p != ' ')
					gm_strbuf_addch(&s, *p);
		}
		if (s.len)
			gm_strlist_add(out, strcmp(s.buf, "$user") ? s.buf : PQuser(db->conn));
		gm_strbuf_release(&s);
	}
}

/* Row estimate: reltuples once the table was vacuumed or analysed (the
 * statistics' live rows when they say more), else those live rows. */
static void rel_take(struct lint_rel *r, PGresult *res, int row)
{
	double reltuples = strtod(PQgetvalue(res, row, 2), NULL);
	double live = strtod(PQgetvalue(res, row, 4), NULL);

	r->found = 1;
	r->rows = reltuples >= 0 && reltuples > live ? reltuples : live;
	r->bytes = strtod(PQgetvalue(res, row, 3), NULL);
	r->rls = !strcmp(PQgetvalue(res, row, 5), "t");
	r->force = !strcmp(PQgetvalue(res, row, 6), "t");
	r->tenant = !strcmp(PQgetvalue(res, row, 7), "t");
}

/* Picks, for each relation, the catalog row it means: its schema as
 * written, else the first schema of the user's path that has it. */
static void resolve_rels(struct lint *l, struct gm_db *db, PGresult *res)
{
	struct gm_strlist path = { NULL, 0 };

	path_schemas(db, &path);
	for (size_t k = 0; k < l->nrels; k++) {
		struct lint_rel *r = &l->rels[k];
		int best = -1;
		size_t best_rank = (size_t)-1;

		for (int i = 0; i < PQntuples(res); i++) {
			const char *nsp = PQgetvalue(res, i, 0);
			if (strcmp(PQgetvalue(res, i, 1), r->name))
				continue;
			if (r->schema) {
				if (!strcmp(nsp, r->schema))
					best = i;
				continue;
			}
			for (size_t j = 0; j < path.n && j < best_rank; j++)
				if (!strcmp(path.v[j], nsp)) {
					best = i;
					best_rank = j;
				}
		}
		if (best >= 0)
			rel_take(r, res, best);
	}
	gm_strlist_release(&path);
}

/* One read of pg_class for every relation the run names, in one round
 * trip (gm_db_read_once): no lock is taken (sizes come from the catalog,
 * not from the files), so a table another session holds cannot stall the
 * lint.  The names are quoted literals (arrays of them), never spliced
 * raw. */
static struct gm_error *read_catalog(struct lint *l, struct gm_db *db)
{
	struct gm_strbuf names = GM_STRBUF_INIT, cols = GM_STRBUF_INIT;
	char *names_lit, *cols_lit, *sql;
	PGresult *res = NULL;
	struct gm_error *err;

	gm_strbuf_addch(&names, '{');
	for (size_t k = 0; k < l->nrels; k++)
		gm_text_array_add(&names, l->rels[k].name);
	gm_strbuf_addch(&names, '}');
	gm_text_array(&cols, l->tenancy->columns.v, l->tenancy->columns.n);
	names_lit = gm_db_quote_literal(db, names.buf);
	cols_lit = gm_db_quote_literal(db, cols.buf);
	sql = gm_xasprintf(
		"SELECT n.nspname, c.relname, c.reltuples::float8,"
		" c.relpages::float8 * pg_catalog.current_setting('block_size')::float8,"
		" pg_catalog.pg_stat_get_live_tuples(c.oid)::float8, c.relrowsecurity, c.relforcerowsecurity,"
		" EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0"
		" AND NOT a.attisdropped AND a.attname = ANY (%s::pg_catalog.name[]))"
		" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relname = ANY (%s::pg_catalog.name[]) AND c.relkind IN ('r', 'p', 'm', 'v', 'f')",
		cols_lit, names_lit);
	err = gm_db_read_once(db, sql, "cannot read table sizes for the lint", &res);
	if (!err) {
		resolve_rels(l, db, res);
		l->sized = 1;
	}
	PQclear(res);
	free(sql);
	free(names_lit);
	free(cols_lit);
	gm_strbuf_release(&names);
	gm_strbuf_release(&cols);
	return err;
}

/* ---- findings ---- */

/* "~2.1M rows, 1.4 GB" (caller frees). */
static char *size_text(const struct lint_rel *r)
{
	static const char *const units[] = { "bytes", "kB", "MB", "GB", "TB" };
	struct gm_strbuf sb = GM_STRBUF_INIT;
	double b = r->bytes;
	int u = 0;

	if (r->rows < 1000)
		gm_strbuf_addf(&sb, "~%.0f row%s", r->rows, r->rows == 1 ? "" : "s");
	else if (r->rows < 1e6)
		gm_strbuf_addf(&sb, "~%.3gk rows", r->rows / 1e3);
	else if (r->rows < 1e9)
		gm_strbuf_addf(&sb, "~%.3gM rows", r->rows / 1e6);
	else
		gm_strbuf_addf(&sb, "~%.3gG rows", r->rows / 1e9);
	if (b > 0) {
		while (b >= 1024 && u < 4) {
			b /= 1024;
			u++;
		}
		gm_strbuf_addf(&sb, ", %.3g %s", b, units[u]);
	}
	return gm_strbuf_detach(&sb, NULL);
}

static int rel_large(const struct lint_rel *r)
{
	return r->rows >= GM_LINT_LARGE_ROWS || r->bytes >= GM_LINT_LARGE_BYTES;
}

static struct gm_lint_finding *finding_new(struct gm_lint_result *out)
{
	out->v = gm_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	memset(&out->v[out->n], 0, sizeof(out->v[0]));
	return &out->v[out->n++];
}

/* The level before the project file: the rule's own, or for the rules
 * that follow size, error on a large table and warning on a small one. */
static enum gm_lint_level sized_level(const struct gm_lint_rule *rule, const struct lint_rel *r)
{
	if (!rule->sized || !r || !r->found)
		return rule->level;
	return rel_large(r) ? GM_LINT_ERROR : GM_LINT_WARNING;
}

static void vreport(struct lint *l, const struct lint_stmt *s, const char *rule_id, size_t off, const char *key,
		    const char *fmt, va_list ap)
{
	const struct gm_lint_rule *rule = gm_lint_rule_find(rule_id);
	const struct lint_rel *r = lint_rel_get(l, key);
	struct gm_lint_finding *f;
	struct gm_strbuf msg = GM_STRBUF_INIT;

	gm_strbuf_vaddf(&msg, fmt, ap);
	if (r && r->found) {
		char *size = size_text(r);
		gm_strbuf_addf(&msg, " (%s: %s%s)", key, size,
			       rule->sized ? (rel_large(r) ? ": a large table" : ": a small table, the lock is brief") : "");
		free(size);
	} else if (key && l->sized && !lint_is_new(l, key)) {
		gm_strbuf_addf(&msg, " (%s: not in the database)", key);
	}
	f = finding_new(l->out);
	f->rule = rule;
	f->level = sized_level(rule, r);
	f->m = s->m;
	f->mi = s->mi;
	f->stmt = s->k;
	f->off = off;
	f->object = key ? gm_xstrdup(key) : NULL;
	f->message = gm_strbuf_detach(&msg, NULL);
}

void lint_report(struct lint *l, const char *rule, size_t off, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, l->cur, rule, off, key, fmt, ap);
	va_end(ap);
}

void lint_report_at(struct lint *l, const struct lint_stmt *s, const char *rule, size_t off, const char *key,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, s, rule, off, key, fmt, ap);
	va_end(ap);
}

size_t lint_at(const struct lint *l, int location)
{
	const struct gm_sql_stmt *st = &l->cur->m->up.stmts.v[l->cur->k];

	if (location < 0 || (size_t)location >= st->end - st->start)
		return st->start;
	return st->start + (size_t)location;
}

/* Tokens of the current statement, comments left out. */
static PgQuery__ScanResult *scan_stmt(const struct lint *l)
{
	const struct gm_sql_stmt *st = &l->cur->m->up.stmts.v[l->cur->k];
	char *sql = gm_xstrndup(l->cur->m->up.sql + st->start, st->end - st->start);
	PgQueryScanResult r = pg_query_scan(sql);
	PgQuery__ScanResult *sr = NULL;

	if (!r.error)
		sr = pg_query__scan_result__unpack(NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	pg_query_free_scan_result(r);
	free(sql);
	return sr;
}

static int is_comment(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT || t->token == PG_QUERY__TOKEN__C_COMMENT;
}

size_t lint_alter_cmd_at(const struct lint *l, const PgQuery__AlterTableStmt *a, size_t cmd)
{
	PgQuery__ScanResult *sr = scan_stmt(l);
	int rel = a->relation ? a->relation->location : -1, depth = 0;
	size_t k = 0, commas = 0, at = lint_at(l, -1);

	if (!sr)
		return at;
	/* Past the table's name (schema.name: dots and parts)... */
	while (k < sr->n_tokens && (sr->tokens[k]->start < rel || is_comment(sr->tokens[k])))
		k++;
	for (k++; k + 1 < sr->n_tokens && sr->tokens[k]->token == PG_QUERY__TOKEN__ASCII_46; k += 2)
		;
	/* ... then past cmd top-level commas. */
	for (; k < sr->n_tokens; k++) {
		const PgQuery__ScanToken *t = sr->tokens[k];
		if (is_comment(t))
			continue;
		if (commas == cmd) {
			at = lint_at(l, t->start);
			break;
		}
		if (t->token == PG_QUERY__TOKEN__ASCII_40)
			depth++;
		else if (t->token == PG_QUERY__TOKEN__ASCII_41)
			depth--;
		else if (t->token == PG_QUERY__TOKEN__ASCII_44 && depth == 0)
			commas++;
	}
	pg_query__scan_result__free_unpacked(sr, NULL);
	return at;
}

int lint_option_true(PgQuery__Node *const *opts, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++) {
		const PgQuery__DefElem *d;
		const PgQuery__Node *a;
		if (opts[k]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
			continue;
		d = opts[k]->def_elem;
		if (!d->defname || strcmp(d->defname, name))
			continue;
		a = d->arg;
		if (!a)
			return 1;
		if (a->node_case == PG_QUERY__NODE__NODE_BOOLEAN)
			return a->boolean->boolval;
		if (a->node_case == PG_QUERY__NODE__NODE_STRING)
			return !strcmp(a->string->sval, "true") || !strcmp(a->string->sval, "on");
		if (a->node_case == PG_QUERY__NODE__NODE_INTEGER)
			return a->integer->ival != 0;
		if (a->node_case == PG_QUERY__NODE__NODE_TYPE_NAME)	/* (security_invoker = true) */
			return !strcmp(gm_pgtree_last_name(a->type_name->names, a->type_name->n_names), "true") ||
			       !strcmp(gm_pgtree_last_name(a->type_name->names, a->type_name->n_names), "on");
		return 0;
	}
	return 0;
}

/* ---- parsing the run ---- */

static void parse_run(struct lint *l, const struct gm_migration *const *run, size_t n)
{
	size_t cap = 0;

	for (size_t mi = 0; mi < n; mi++) {
		const struct gm_section *sec = &run[mi]->up;
		for (size_t k = 0; k < sec->stmts.n; k++) {
			struct lint_stmt *s;
			if (l->nstmts == cap) {
				cap = cap ? cap * 2 : 64;
				l->stmts = gm_xrealloc(l->stmts, cap * sizeof(*l->stmts));
			}
			s = &l->stmts[l->nstmts++];
			memset(s, 0, sizeof(*s));
			s->m = run[mi];
			s->mi = mi;
			s->k = k;
			s->start = sec->stmts.v[k].start;
			s->parse_error = gm_sql_stmt_parse(sec->sql, &sec->stmts.v[k], &s->tree, &s->parse_error_off);
			/* Every tree is kept for the whole run (the rules look
			 * across statements); an INSERT's rows of constants are
			 * looked at by none, and would make the peak memory of a
			 * large seed migration many times its size. */
			gm_pgtree_drop_constant_rows(&s->tree, 0);
			s->node = gm_pgtree_stmt(&s->tree);
			if (!s->parse_error && !s->node) {
				s->parse_error = gm_xstrdup("not one statement");
				s->parse_error_off = s->start;
			}
		}
	}
	l->out->statements = l->nstmts;
	l->out->migrations = n;
}

static void not_analysed(struct lint *l, const struct lint_stmt *s)
{
	l->out->not_analysed++;
	lint_report_at(l, s, "not_analysed", s->parse_error_off, NULL,
		       "not analysed: libpg_query (PostgreSQL %s) cannot parse this statement: %s; it runs as written",
		       PG_MAJORVERSION, s->parse_error);
}

/* ---- the walk ---- */

/* SET [LOCAL] lock_timeout = <not 0>, or set_config('lock_timeout', ...). */
static int is_zero_timeout(const PgQuery__Node *v)
{
	if (!v || v->node_case != PG_QUERY__NODE__NODE_A_CONST)
		return 0;
	if (v->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL)
		return !v->a_const->ival->ival;
	if (v->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL) {
		/* '0', '0s', '0ms': zeros, then a unit or nothing. */
		const char *t = v->a_const->sval->sval;
		if (*t != '0')
			return 0;
		while (*t == '0')
			t++;
		return *t < '0' || *t > '9';
	}
	return 0;
}

static int find_set_config(void *ctx, const PgQuery__Node *n)
{
	const PgQuery__FuncCall *f;

	(void)ctx;
	if (n->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
		return 0;
	f = n->func_call;
	return !strcmp(gm_pgtree_last_name(f->funcname, f->n_funcname), "set_config") && f->n_args >= 2 &&
	       f->args[0]->node_case == PG_QUERY__NODE__NODE_A_CONST &&
	       f->args[0]->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
	       !strcmp(f->args[0]->a_const->sval->sval, "lock_timeout") && !is_zero_timeout(f->args[1]);
}

static int sets_lock_timeout(const PgQuery__Node *n)
{
	if (n->node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT) {
		const PgQuery__VariableSetStmt *v = n->variable_set_stmt;
		return v->name && !strcmp(v->name, "lock_timeout") &&
		       v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE && v->n_args == 1 && !is_zero_timeout(v->args[0]);
	}
	return n->node_case == PG_QUERY__NODE__NODE_SELECT_STMT && gm_pgtree_walk(&n->base, find_set_config, NULL);
}

static void walk_run(struct lint *l)
{
	for (size_t k = 0; k < l->nstmts; k++) {
		const struct lint_stmt *s = &l->stmts[k];

		if (k == 0 || s->mi != l->cur_mi) {
			l->cur_mi = s->mi;
			l->mig_lock_timeout = l->o->run_lock_timeout;
			l->mig_lock_reported = 0;
		}
		l->cur = s;
		if (!s->node) {
			not_analysed(l, s);
			continue;
		}
		if (sets_lock_timeout(s->node))
			l->mig_lock_timeout = 1;
		lint_rules_stmt(l);
		lint_rls_stmt(l);
		lint_track(l);
	}
}

/* ---- lint-ignore comments ---- */

struct ignore {
	const struct gm_lint_rule *rule;	/* NULL: invalid */
	char *reason;
	const char *why_invalid;
	size_t off;			/* in the section, or... */
	unsigned line, col;		/* ... in the file (YAML comments) */
	int in_file;
	int used;
};

struct ignores {
	struct ignore *v;
	size_t n;
};

/* Parses "garage:lint-ignore RULE reason" after a comment's marker;
 * returns 0 when the comment is not a lint-ignore at all. */
static int parse_ignore(const char *p, const char *end, struct ignore *ig)
{
	static const char word[] = "garage:lint-ignore";
	const char *r0, *r1;
	char *rule;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < sizeof(word) - 1 || memcmp(p, word, sizeof(word) - 1))
		return 0;
	p += sizeof(word) - 1;
	if (p < end && *p != ' ' && *p != '\t')
		return 0;	/* garage:lint-ignored: not ours (the file loader says so) */
	memset(ig, 0, sizeof(*ig));
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (r0 = p; p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'); p++)
		;
	r1 = p;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	rule = gm_xstrndup(r0, (size_t)(r1 - r0));
	ig->rule = gm_lint_rule_find(rule);
	if (r1 == r0)
		ig->why_invalid = "names no rule";
	else if (!ig->rule)
		ig->why_invalid = "names an unknown rule";
	else if (ig->rule->fixed)
		ig->why_invalid = "names a rule that cannot be ignored";
	else if (p == end || (r1 < end && !isspace((unsigned char)*r1)))
		ig->why_invalid = p == end ? "gives no reason" : "names an unknown rule";
	if (ig->why_invalid)
		ig->rule = NULL;
	ig->reason = p < end ? gm_xstrndup(p, (size_t)(end - p)) : gm_xstrdup(rule);
	free(rule);
	return 1;
}

static void ignores_push(struct ignores *igs, const struct ignore *ig)
{
	igs->v = gm_xrealloc(igs->v, (igs->n + 1) * sizeof(*igs->v));
	igs->v[igs->n++] = *ig;
}

/* "-- garage:lint-ignore" lines of the section between the previous
 * statement's end and this statement. */
static void section_ignores(const struct gm_section *sec, size_t k, struct ignores *igs)
{
	size_t from = k ? sec->stmts.v[k - 1].end : 0, to = sec->stmts.v[k].start, i = from;

	while (i < to) {
		const char *nl = memchr(sec->sql + i, '\n', to - i);
		size_t eol = nl ? (size_t)(nl - sec->sql) : to, p = i;
		struct ignore ig;
		while (p < eol && (sec->sql[p] == ' ' || sec->sql[p] == '\t'))
			p++;
		if (p + 1 < eol && sec->sql[p] == '-' && sec->sql[p + 1] == '-' &&
		    parse_ignore(sec->sql + p + 2, sec->sql + eol, &ig)) {
			ig.off = p;
			ignores_push(igs, &ig);
		}
		i = eol + 1;
	}
}

/* For a YAML migration: "# garage:lint-ignore" comment lines right above
 * the line a generated statement came from. */
static void yaml_ignores(const struct gm_migration *m, unsigned line, struct ignores *igs)
{
	const char *t = m->text, *end = m->text + m->text_len;
	const char **bol = NULL;
	unsigned n = 0;

	/* Starts of lines 1 .. line - 1. */
	bol = gm_xcalloc(line ? line : 1, sizeof(*bol));
	bol[0] = t;
	for (const char *p = t; p < end && n + 1 < line; p++)
		if (*p == '\n')
			bol[++n] = p + 1;
	for (unsigned ln = line - 1; ln >= 1 && ln - 1 <= n; ln--) {
		const char *p = bol[ln - 1], *e = memchr(p, '\n', (size_t)(end - p));
		struct ignore ig;
		if (!e)
			e = end;
		while (p < e && *p == ' ')
			p++;
		if (p == e || *p != '#')
			break;
		if (parse_ignore(p + 1, e, &ig)) {
			ig.in_file = 1;
			ig.line = ln;
			ig.col = (unsigned)(p - bol[ln - 1]) + 1;
			ignores_push(igs, &ig);
		}
	}
	free(bol);
}

/* Byte offset of the start of 1-based line in text. */
static size_t line_offset(const char *text, size_t len, unsigned line)
{
	size_t off = 0;

	for (unsigned ln = 1; ln < line && off < len; off++)
		if (text[off] == '\n')
			ln++;
	return off;
}

static void report_ignore(struct lint *l, const struct lint_stmt *s, const struct ignore *ig, const char *rule,
			  const char *fmt, const char *arg)
{
	size_t before = l->out->n;

	lint_report_at(l, s, rule, ig->in_file ? s->start : ig->off, NULL, fmt, arg);
	if (ig->in_file) {
		/* A YAML comment: located in the file, not in the SQL. */
		struct gm_lint_finding *f = &l->out->v[before];
		f->line = ig->line;
		f->col = ig->col;
		f->src_line = gm_text_line_at(s->m->text, s->m->text_len, line_offset(s->m->text, s->m->text_len, ig->line));
	}
}

/* Marks the findings of statement s that its ignores name; reports the
 * ignores that are invalid or ignore nothing.  first..last: s's findings. */
static void apply_ignores(struct lint *l, const struct lint_stmt *s, size_t first, size_t last)
{
	const struct gm_section *sec = &s->m->up;
	struct ignores igs = { NULL, 0 };

	section_ignores(sec, s->k, &igs);
	if (sec->segs) {
		unsigned line, col;
		gm_migration_locate(s->m, sec, s->start, &line, &col, NULL);
		yaml_ignores(s->m, line, &igs);
	}
	for (size_t i = 0; i < igs.n; i++) {
		struct ignore *ig = &igs.v[i];
		if (!ig->rule) {
			report_ignore(l, s, ig, "lint_ignore_invalid", "lint-ignore %s", ig->why_invalid);
			continue;
		}
		for (size_t f = first; f < last; f++)
			if (l->out->v[f].rule == ig->rule && !l->out->v[f].ignored) {
				l->out->v[f].ignored = gm_xstrdup(ig->reason);
				ig->used = 1;
			}
		/* Nothing can be said of a statement that was not analysed, nor
		 * of a rule the project file turned off. */
		if (!ig->used && s->node && gm_lint_levels_get(l->o->levels, ig->rule->id) != GM_LINT_OFF)
			report_ignore(l, s, ig, "lint_ignore_unused", "lint-ignore %s: the statement after it has no such finding",
				      ig->rule->id);
	}
	for (size_t i = 0; i < igs.n; i++)
		free(igs.v[i].reason);
	free(igs.v);
}

/* Findings are made in walk order, except the RLS rules that run at the
 * end; sorted by statement first, they can be matched with the ignores
 * statement by statement. */
static int by_place(const void *a, const void *b)
{
	const struct gm_lint_finding *x = a, *y = b;

	if (x->mi != y->mi)
		return x->mi < y->mi ? -1 : 1;
	if (x->stmt != y->stmt)
		return x->stmt < y->stmt ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return strcmp(x->rule->id, y->rule->id);
}

static void ignore_all(struct lint *l)
{
	size_t f = 0;

	if (l->out->n)		/* else v is NULL, which qsort must not get */
		qsort(l->out->v, l->out->n, sizeof(*l->out->v), by_place);
	for (size_t k = 0, n = l->out->n; k < l->nstmts; k++) {
		const struct lint_stmt *s = &l->stmts[k];
		size_t first = f;
		while (f < n && l->out->v[f].mi == s->mi && l->out->v[f].stmt == s->k)
			f++;
		apply_ignores(l, s, first, f);
	}
	if (l->out->n)
		qsort(l->out->v, l->out->n, sizeof(*l->out->v), by_place);
}

/* ---- levels and places ---- */

static void finish(struct lint *l)
{
	struct gm_lint_result *out = l->out;
	size_t keep = 0;

	for (size_t k = 0; k < out->n; k++) {
		struct gm_lint_finding *f = &out->v[k];
		int set = f->rule->fixed ? -1 : gm_lint_levels_get(l->o->levels, f->rule->id);
		if (set >= 0)
			f->level = (enum gm_lint_level)set;
		if (f->level == GM_LINT_OFF) {
			free(f->object);
			free(f->message);
			free(f->ignored);
			free(f->src_line);
			continue;
		}
		if (!f->line)
			gm_migration_locate(f->m, &f->m->up, f->off, &f->line, &f->col, &f->src_line);
		if (f->ignored)
			out->ignored++;
		else
			out->count[f->level]++;
		out->v[keep++] = *f;
	}
	out->n = keep;
	out->sized = l->sized;
}

/* ---- the interface ---- */

static void lint_release(struct lint *l)
{
	for (size_t k = 0; k < l->nstmts; k++) {
		gm_pgtree_free(&l->stmts[k].tree);
		free(l->stmts[k].parse_error);
	}
	free(l->stmts);
	for (size_t k = 0; k < l->nrels; k++) {
		free(l->rels[k].key);
		free(l->rels[k].schema);
		free(l->rels[k].name);
	}
	free(l->rels);
	for (size_t k = 0; k < l->ntables; k++) {
		free(l->tables[k].key);
		gm_strlist_release(&l->tables[k].refs);
	}
	free(l->tables);
	for (size_t k = 0; k < l->nviews; k++) {
		free(l->views[k].key);
		gm_strlist_release(&l->views[k].reads);
	}
	free(l->views);
	gm_strlist_release(&l->created);
	gm_strlist_release(&l->created_types);
	gm_strlist_release(&l->not_null_checks);
	gm_strlist_release(&l->not_valid_added);
	gm_strlist_release(&l->valid_checks);
	gm_strlist_release(&l->rls_enabled);
	gm_strlist_release(&l->rls_forced);
	gm_policy_judge_free(l->judge);
}

struct gm_error *gm_lint_run(const struct gm_migration *const *run, size_t n, const struct gm_lint_opts *o,
			     struct gm_db *db, struct gm_lint_result *out)
{
	struct gm_tenancy defaults;
	struct lint l;
	struct gm_error *err = NULL;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	gm_tenancy_defaults(&defaults);
	l.o = o;
	l.out = out;
	l.tenancy = o->tenancy ? o->tenancy : &defaults;
	if ((err = gm_policy_judge_new(l.tenancy, &l.judge)))
		goto done;
	parse_run(&l, run, n);
	if (db) {
		for (size_t k = 0; k < l.nstmts; k++)
			if (l.stmts[k].node)
				gm_pgtree_walk_msgs(&l.stmts[k].node->base, collect_rel, &l);
		if (l.nrels && (err = read_catalog(&l, db)))
			goto done;
		l.sized = 1;
	}
	walk_run(&l);
	lint_rls_end(&l);
	ignore_all(&l);
	finish(&l);
done:
	lint_release(&l);
	gm_tenancy_release(&defaults);
	if (err)
		gm_lint_result_release(out);
	return err;
}

void gm_lint_result_release(struct gm_lint_result *r)
{
	for (size_t k = 0; k < r->n; k++) {
		free(r->v[k].object);
		free(r->v[k].message);
		free(r->v[k].ignored);
		free(r->v[k].src_line);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int gm_lint_failed(const struct gm_lint_result *r, int strict)
{
	return r->count[GM_LINT_ERROR] > 0 || (strict && r->count[GM_LINT_WARNING] > 0);
}
