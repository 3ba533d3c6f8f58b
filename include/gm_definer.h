/* gm_definer.h - what a SECURITY DEFINER function does to protected rows.
 *
 * A SECURITY DEFINER function runs as its owner.  An owner that bypasses
 * RLS (a superuser, a BYPASSRLS role, the table's owner when RLS is not
 * forced) reads and writes every tenant's rows for whoever may call it,
 * as a view without security_invoker does.  Such a function keeps tenants
 * apart only when each of its statements on a protected table binds the
 * rows to the tenant itself: its WHERE judged as a write policy's USING
 * (gm_policy_judge_node: "tenant_id = auth.uid()" is bound, "tenant_id =
 * $1" is not: the caller picks the tenant), an INSERT naming the tenant
 * expression.  The body is read with PostgreSQL's parsers (libpg_query):
 * LANGUAGE sql as a string or a SQL-standard body, and PL/pgSQL statement
 * by statement; dynamic SQL (EXECUTE) and other languages cannot be read.
 * One judge for verify (the catalog's definition) and the migration lint
 * (the CREATE FUNCTION statement). */
#ifndef GM_DEFINER_H
#define GM_DEFINER_H

#include <stddef.h>

struct gm_policy_judge;

enum gm_definer_verdict {
	GM_DEFINER_BOUND,	/* nothing it does to a protected table escapes the tenant */
	GM_DEFINER_UNBOUND,	/* a statement on *table is not bound: *why says how */
	GM_DEFINER_UNSEEN,	/* its body cannot be read: *why says why */
};

/* Whether relation schema.name (schema NULL when the text leaves it out)
 * is one whose rows policies guard: GM_DEFINER_GUARDED, 0 for one known
 * not to be, GM_DEFINER_UNKNOWN for one the caller cannot see (a view of
 * a schema it does not read may read a tenant table: the function is
 * then unseen, not bound). */
#define GM_DEFINER_GUARDED 1
#define GM_DEFINER_UNKNOWN 2
/* A relation whose rows let others' in (a membership table a policy
 * reads): any INSERT, UPDATE or MERGE of it is a finding, bound or not. */
#define GM_DEFINER_WRITTEN 3
typedef int (*gm_definer_protected)(void *ctx, const char *schema, const char *name);
/* Nothing is: for following what a function calls (its callees) alone. */
int gm_definer_nothing_protected(void *ctx, const char *schema, const char *name);

/* What else a SECURITY DEFINER function runs, as its owner too, whatever
 * that code's own SECURITY: what a call names (a function, a procedure
 * that CALL names, or the function attribute notation t.name reaches), an
 * operator's function, a cast's function (and a domain's checks), and
 * what writing a table runs (its triggers, column defaults and CHECK
 * constraints). */
enum gm_definer_reach {
	GM_REACH_CALL,		/* name: the function's */
	GM_REACH_OPERATOR,	/* name: the operator's symbol */
	GM_REACH_CAST,		/* name: the type cast to */
	GM_REACH_WRITE,		/* name: the table written to */
};

/* The texts (allocated, in an allocated array: the judge frees both) of
 * what reaching schema.name (schema NULL when the text leaves it out)
 * may run; 0 for none known (a built-in, an extension's).  Each text is
 * a CREATE FUNCTION statement (its body judged as the caller's), a
 * CREATE TRIGGER statement (its function followed, its WHEN read) or any
 * other statement, read for what it calls ("SELECT <a default>", a
 * CREATE TABLE).  Followed to GM_DEFINER_CALL_DEPTH steps deep (deeper,
 * the caller is unseen). */
typedef size_t (*gm_definer_callees)(void *ctx, enum gm_definer_reach how, const char *schema, const char *name,
				     char ***defs);
/* What gm_definer_callees returns for code it cannot see (of a schema
 * verify does not read): the caller is then unseen, not bound. */
#define GM_DEFINER_CALLEE_UNKNOWN ((size_t)-1)

#define GM_DEFINER_CALL_DEPTH 8

/* Judges text, a whole CREATE FUNCTION statement (pg_get_functiondef's, or
 * a migration's); callees (NULL: calls are not followed) finds what its
 * calls run, with the same ctx as is_protected.  For UNBOUND and UNSEEN, *why (and for UNBOUND *table,
 * as the text names it) receive allocated strings the caller frees; both
 * are NULL for BOUND.  A text that is not a CREATE FUNCTION is BOUND:
 * there is nothing of it to run. */
enum gm_definer_verdict gm_definer_judge(const struct gm_policy_judge *j, const char *text,
					 gm_definer_protected is_protected, gm_definer_callees callees,
					 void *ctx, char **table, char **why);

#endif
