/* gm_policy.h - policy expressions judged by their parse tree.
 *
 * Whether a write policy binds every row it lets through to the current
 * tenant is decided on PostgreSQL's own parse tree (libpg_query), never on
 * the text: "organization_id = current_setting('app.org', true)::uuid" is
 * bound when that is the configured tenant expression, "is_public OR ..."
 * is not, whatever the names.  A branch is bound when one of its AND-ed
 * conditions is
 *   - a tenant column = the tenant expression (either side; a scalar
 *     subquery around a single expression, "(SELECT f())", and casts that
 *     keep values apart (text, uuid, integers) do not count, a cast that
 *     maps many to one (varchar(1)) does; a function of another schema is
 *     not the expression's, though its name is the same);
 *   - x IN (a subquery whose WHERE has "y = the tenant expression"), or
 *     x = ANY (ARRAY(such a subquery)): a parent's rows of the tenant
 *     (order_id of the tenant's orders), membership tables (Supabase);
 *     when it selects a tenant column, x must be one too;
 *   - EXISTS (a subquery whose WHERE has "column = the tenant
 *     expression", names a tenant column, and ties the judged row to it:
 *     "row's column, qualified = a column of the subquery": a bare one may
 *     be the subquery's own).
 * Anything else (a function of the row, NOT, a constant) is not bound:
 * the isolation probe shows what such a policy really does. */
#ifndef GM_POLICY_H
#define GM_POLICY_H

#include "gm_pgtree.h"

struct gm_error;
struct gm_tenancy;
struct gm_policy_judge;

enum gm_bound {
	GM_BOUND,	/* every OR branch is bound to the tenant */
	GM_UNBOUND,	/* a branch is not: *branch names it */
	GM_UNPARSED,	/* the expression did not parse: *branch says why */
};

/* Parses the tenancy's expression once; an error names it. */
struct gm_error *gm_policy_judge_new(const struct gm_tenancy *t, struct gm_policy_judge **out);
void gm_policy_judge_free(struct gm_policy_judge *j);

/* Judges a policy's USING or WITH CHECK, as pg_get_expr prints it.  For
 * GM_UNBOUND and GM_UNPARSED, *branch receives the unbound branch (as
 * PostgreSQL would print it) or the parser's message; the caller frees
 * it. */
enum gm_bound gm_policy_judge(const struct gm_policy_judge *j, const char *expr, char **branch);

/* The same for an expression already parsed, as the migration lint has
 * it from a CREATE POLICY statement: one judge for verify and lint. */
enum gm_bound gm_policy_judge_node(const struct gm_policy_judge *j, PgQuery__Node *expr, char **branch);

/* The same for a read policy's USING (FOR SELECT): a branch may also be
 * limited to rows every tenant may read, by one of its AND-ed conditions
 * being a column of tenancy.public_read_columns (alone, = true, IS TRUE):
 * "is_public OR organization_id = ...".  "status = 'archived'" is not. */
enum gm_bound gm_policy_judge_read(const struct gm_policy_judge *j, const char *expr, char **branch);
enum gm_bound gm_policy_judge_read_node(const struct gm_policy_judge *j, PgQuery__Node *expr, char **branch);

/* The first OR branch of a read policy's USING (as pg_get_expr prints
 * it) that does not look at the row and lets every row through to some:
 * constants that are true (true, 1 = 1, NOT false), or the tenant
 * expression with constants alone (auth.uid() IS NOT NULL: every signed-in
 * tenant reads every row).  Printed (caller frees), or NULL: a column, a
 * function call (is_admin()), a subquery may tell rows or users apart. */
char *gm_policy_open_branch(const struct gm_policy_judge *j, const char *expr);

/* For a statement's WHERE on relation qualifier (its alias, or name):
 * every OR branch holds "qualifier.tenant_col = the tenant expression",
 * or the column bare when bare is set (the statement's only relation).
 * A join's other table's tenant column does not bind this one. */
enum gm_bound gm_policy_judge_relation(const struct gm_policy_judge *j, PgQuery__Node *where, const char *qualifier,
				       int bare, char **branch);
/* Whether name is one of the tenancy's columns. */
int gm_policy_is_tenant_column_name(const struct gm_policy_judge *j, const char *name);
/* The tenancy j judges by. */
const struct gm_tenancy *gm_policy_judge_tenancy(const struct gm_policy_judge *j);

/* The columns of other relations a policy lets rows in through: for each
 * subquery of expr (IN, = ANY (ARRAY(...)), EXISTS) over plain tables,
 * the column it hands to the row (the selected one; in EXISTS, one tied by
 * an equality to the row's), with its relation as written (schema NULL
 * when unqualified), and the row's column it is compared with (NULL when
 * not a plain column).  Whoever may write that relation can name any
 * value there: another tenant's key, unless the row's column is a
 * foreign key to a unique column there (the row's own key's holder). */
typedef void (*gm_policy_link_fn)(void *ctx, const char *schema, const char *relation, const char *column,
				  const char *row_column);
void gm_policy_links(const char *expr, gm_policy_link_fn fn, void *ctx);

/* Whether expr is the tenant expression itself (casts that keep values
 * and scalar subqueries aside): coalesce(arg, auth.uid()) is not. */
int gm_policy_is_tenant_node(const struct gm_policy_judge *j, const PgQuery__Node *expr);

/* Whether expr uses the tenant expression anywhere (casts and scalar
 * subqueries aside): a policy that does is meant to isolate tenants. */
int gm_policy_mentions_tenant(const struct gm_policy_judge *j, const char *expr);
int gm_policy_mentions_tenant_node(const struct gm_policy_judge *j, const PgQuery__Node *expr);

#endif
