/* sqllint_int.h - what the lint's files share (sqllint.c: the driver, the
 * catalog read and the rule table; sqllint_rules.c: locks, rewrites,
 * destructive changes and transactions; sqllint_rls.c: Row-Level Security
 * at migration time).  Not part of the library's interface. */
#ifndef GM_SQLLINT_INT_H
#define GM_SQLLINT_INT_H

#include "gm_pgtree.h"
#include "gm_policy.h"
#include "gm_sqllint.h"
#include "gm_strbuf.h"

/* A relation the run names, and what the catalog says about it. */
struct lint_rel {
	char *key;		/* "public.orders": unqualified names are public's */
	char *schema;		/* as written, or NULL */
	char *name;
	int found;		/* the database has it (only with a database) */
	double rows;		/* estimate; < 0 unknown */
	double bytes;		/* estimate; < 0 unknown */
	int rls, force, tenant;	/* RLS enabled, forced; has a tenant column */
};

/* One statement of the run, parsed. */
struct lint_stmt {
	const struct gm_migration *m;
	size_t mi;			/* the migration's place in the run */
	size_t k;			/* index in m->up.stmts */
	size_t start;			/* its offset in m->up.sql */
	struct gm_pgtree tree;		/* empty when it does not parse */
	const PgQuery__Node *node;	/* the statement, or NULL */
	char *parse_error;		/* why not, or NULL */
	size_t parse_error_off;
};

/* A table created by the run: what the RLS rules need at the end. */
struct lint_table {
	char *key;
	size_t stmt;			/* the CREATE's index in lint.stmts */
	size_t loc;			/* offset of its name in the section */
	int exposed, tenant, temp;
	int dropped;			/* dropped again by the run */
	struct gm_strlist refs;		/* keys of the tables its foreign keys reference */
};

/* A view or materialized view created by the run, and what it reads. */
struct lint_view {
	char *key;
	size_t stmt, loc;
	int materialized, invoker;
	struct gm_strlist reads;
};

struct lint {
	const struct gm_lint_opts *o;
	const struct gm_tenancy *tenancy;
	struct gm_policy_judge *judge;
	struct gm_lint_result *out;
	int sized;			/* a database answered */

	struct lint_stmt *stmts;	/* the whole run, in order */
	size_t nstmts;
	struct lint_rel *rels;
	size_t nrels;

	/* While walking the run. */
	const struct lint_stmt *cur;
	struct gm_strlist created;	/* relations created so far */
	struct gm_strlist created_types;
	struct gm_strlist not_null_checks;	/* "key\tconstraint\tcolumn" of IS NOT NULL checks */
	struct gm_strlist valid_checks;	/* "key\tconstraint" validated (or added valid) */
	struct gm_strlist not_valid_added;	/* "migration\tkey\tconstraint" added NOT VALID */
	struct gm_strlist rls_enabled;	/* keys given ENABLE ROW LEVEL SECURITY */
	struct gm_strlist rls_forced;
	int mig_lock_timeout;		/* the current migration set a lock timeout */
	int mig_lock_reported;		/* lock_without_timeout reported for it */
	size_t cur_mi;

	struct lint_table *tables;
	size_t ntables;
	struct lint_view *views;
	size_t nviews;
};

/* "public.orders" for a RangeVar (caller frees). */
char *lint_key(const PgQuery__RangeVar *rv);
/* "public.orders" for a qualified name list (String nodes). */
char *lint_key_names(PgQuery__Node *const *names, size_t n);
/* The catalog's answer for key, or NULL (unknown, or no database). */
const struct lint_rel *lint_rel_get(const struct lint *l, const char *key);
/* Created earlier in the run (and not dropped since). */
int lint_is_new(const struct lint *l, const char *key);

/* The offset in the section of a location inside the current statement
 * (a node's location; -1: the statement's start). */
size_t lint_at(const struct lint *l, int location);
/* The offset of subcommand cmd of the current ALTER TABLE (its first
 * token), found with libpg_query's scanner. */
size_t lint_alter_cmd_at(const struct lint *l, const PgQuery__AlterTableStmt *a, size_t cmd);

/* Reports rule at off about the relation key (may be NULL), whose size,
 * when known, goes into the message and, for the rules that follow it,
 * the level. */
void lint_report(struct lint *l, const char *rule, size_t off, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same for a statement other than the current one. */
void lint_report_at(struct lint *l, const struct lint_stmt *s, const char *rule, size_t off, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Rules on one parsed statement (sqllint_rules.c, sqllint_rls.c). */
void lint_rules_stmt(struct lint *l);
void lint_rls_stmt(struct lint *l);
/* Rules that need the whole run (tables without RLS, views over them). */
void lint_rls_end(struct lint *l);
/* Keeps track of what the statement creates, for "new" (after the rules). */
void lint_track(struct lint *l);

/* Whether a DefElem list holds name = true (or on, or no value). */
int lint_option_true(PgQuery__Node *const *opts, size_t n, const char *name);

#endif
