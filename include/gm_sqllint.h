/* gm_sqllint.h - the migration lint: dangerous migrations caught before
 * they run (garage-migrate lint, and the pre-flight of up).
 *
 * Rules look at PostgreSQL's own parse tree of every statement (libpg_query,
 * gm_sqlstmt.h), never at the text: lock and rewrite hazards on existing
 * tables, destructive changes, transaction hazards and Row-Level Security
 * at migration time, the RLS rules reading the project's tenancy and
 * judging write policies with verify's judge (gm_policy.h).  A migration
 * is linted in the context of the run it belongs to: a table created
 * earlier in the same run is new, and nothing done to it can block anyone.
 * Given a database, one catalog read tells each table's size and row
 * estimate (pg_class), which set the level of the lock rules and appear in
 * every message about the table.
 *
 * Opt-outs are explicit and reviewable: a comment
 *     -- garage:lint-ignore RULE reason
 * in the lines before a statement (YAML: "# garage:lint-ignore RULE
 * reason" above the key that generates it), and per-rule levels in the
 * project file (gm_config.h, lint:).  The rules, their explanations and
 * fixes are in garage-migrate(1), LINT RULES. */
#ifndef GM_SQLLINT_H
#define GM_SQLLINT_H

#include <stddef.h>

#include "gm_migration.h"
#include "gm_tenancy.h"

struct gm_db;
struct gm_error;

enum gm_lint_level {
	GM_LINT_OFF,		/* not reported */
	GM_LINT_NOTE,		/* for information; never fails anything */
	GM_LINT_WARNING,	/* printed; fails lint only with --strict */
	GM_LINT_ERROR,		/* fails lint; stops up before anything is sent */
};
#define GM_LINT_LEVELS 4

const char *gm_lint_level_name(enum gm_lint_level l);
/* "error", "warning", "off" (and "note"); -1 for anything else. */
int gm_lint_level_parse(const char *s);

struct gm_lint_rule {
	const char *id;			/* stable: "alter_column_type" */
	const char *group;		/* lock, destructive, transaction, rls, lint */
	enum gm_lint_level level;	/* without a database or a project file */
	int sized;			/* its level follows the table's size */
	int fixed;			/* cannot be ignored nor given a level */
	const char *title;		/* one line: what it finds */
	const char *fix;		/* one line: how to fix it */
};

/* Every rule, in the order of the man page. */
const struct gm_lint_rule *gm_lint_rules(size_t *n);
const struct gm_lint_rule *gm_lint_rule_find(const char *id);

/* The project file's levels, by rule id. */
struct gm_lint_levels {
	struct gm_lint_level_entry {
		char *rule;
		enum gm_lint_level level;
	} *v;
	size_t n;
};
void gm_lint_levels_release(struct gm_lint_levels *l);
/* The level set for rule, or -1. */
int gm_lint_levels_get(const struct gm_lint_levels *l, const char *rule);

/* Above this many estimated rows, or bytes, a table is large: the lock
 * rules are errors on it, warnings on smaller ones. */
#define GM_LINT_LARGE_ROWS 100000.0
#define GM_LINT_LARGE_BYTES (100.0 * 1024 * 1024)

struct gm_lint_finding {
	const struct gm_lint_rule *rule;
	enum gm_lint_level level;	/* after size and the project file */
	const struct gm_migration *m;
	size_t mi;			/* m's place in the run */
	size_t stmt;			/* index in m->up.stmts */
	size_t off;			/* byte offset in m->up.sql */
	unsigned line, col;		/* in m's file (a YAML file: where the text came from) */
	char *src_line;			/* that line, or NULL */
	char *object;			/* "public.orders", or NULL */
	char *message;			/* what and why, sizes included */
	char *ignored;			/* the reason of a lint-ignore, or NULL */
};

struct gm_lint_result {
	struct gm_lint_finding *v;	/* in file order */
	size_t n;
	size_t migrations, statements;
	size_t not_analysed;		/* statements libpg_query could not parse */
	size_t count[GM_LINT_LEVELS];	/* reported (not ignored) findings per level */
	size_t ignored;
	int sized;			/* sizes came from a database */
};

struct gm_lint_opts {
	const struct gm_tenancy *tenancy;	/* NULL: AI Garage's */
	const struct gm_lint_levels *levels;	/* NULL: every rule's own */
	/* The run sets a lock timeout for every migration (--lock-timeout, or
	 * the project file's timeouts.lock): statements need none of their
	 * own. */
	int run_lock_timeout;
	/* Every migration the project has, in order (may be NULL): a table
	 * created by the run may get its RLS in a later migration. */
	const struct gm_migration *const *all;
	size_t nall;
};

/* Lints the up sections of run[0..n), in that order, as one run.  With a
 * database (db non-NULL) the tables the statements name are looked up
 * once in pg_class; an error is returned only when that read fails. */
struct gm_error *gm_lint_run(const struct gm_migration *const *run, size_t n, const struct gm_lint_opts *o,
			     struct gm_db *db, struct gm_lint_result *out);
void gm_lint_result_release(struct gm_lint_result *r);

/* Whether the result fails: an error, or with strict a warning. */
int gm_lint_failed(const struct gm_lint_result *r, int strict);

#endif
