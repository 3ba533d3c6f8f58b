/* gm_pgtree.h - PostgreSQL's own parse trees (libpg_query), shared by the
 * policy judge (policy.c) and the migration lint (sqllint*.c).
 *
 * libpg_query runs the server's grammar (PostgreSQL 15 here) outside the
 * server and hands the tree over as protobuf messages; protobuf-c's
 * descriptors let one generic walker and one generic comparison visit
 * every node without a case per node type.  Locations in the tree are
 * byte offsets into the text that was parsed. */
#ifndef GM_PGTREE_H
#define GM_PGTREE_H

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stddef.h>
#include <stdint.h>

struct gm_pgtree {
	PgQuery__ParseResult *pr;	/* NULL when nothing parsed */
};

/* Parses sql (NUL-terminated).  Returns NULL, or the parser's message
 * (caller frees) with *cursor set to the byte offset it points at (or
 * (size_t)-1 when it points nowhere); t is then empty. */
char *gm_pgtree_parse(const char *sql, struct gm_pgtree *t, size_t *cursor);
/* Unpacks libpg_query's packed tree into *out; NULL, or why not (caller
 * frees): not a tree, or nested too deep to walk on the stack. */
char *gm_pgtree_unpack(const uint8_t *data, size_t len, PgQuery__ParseResult **out);
void gm_pgtree_free(struct gm_pgtree *t);

/* The statement of a one-statement tree, or NULL. */
const PgQuery__Node *gm_pgtree_stmt(const struct gm_pgtree *t);

/* An INSERT's VALUES rows, when every value in them is a constant (a
 * literal, possibly cast), are data no analysis here reads (a cast names a
 * type, whose input function and domain checks the server runs when it
 * inserts them; none of that is the lint's business).  A seed migration's
 * thousands of rows would stay in memory as trees (hundreds of bytes a
 * value) for as long as t lives; this frees rows from index from on and
 * leaves the INSERT with the rows before.  Returns how many rows it
 * dropped (0 when any of them holds anything else, there are none, or t
 * is not such an INSERT). */
size_t gm_pgtree_drop_constant_rows(struct gm_pgtree *t, size_t from);

/* The foreign key a constraint definition (pg_get_constraintdef's,
 * "FOREIGN KEY (a) REFERENCES t(b) ON DELETE CASCADE") holds, parsed into
 * t (the caller frees t either way; the text is only parsed, never
 * sent), or NULL for any other definition. */
const PgQuery__Constraint *gm_pgtree_foreign_key(const char *def, struct gm_pgtree *t);

/* A CREATE FUNCTION's option name ("language", "as", "security"), or
 * NULL when it has none. */
const PgQuery__DefElem *gm_pgtree_function_option(const PgQuery__CreateFunctionStmt *f, const char *name);
/* The text of a String node, or "" for anything else. */
const char *gm_pgtree_str(const PgQuery__Node *n);
/* The last part of a qualified name (a list of String nodes), or "". */
const char *gm_pgtree_last_name(PgQuery__Node *const *names, size_t n);
/* The name a FROM item's relation is known by: its alias, else its name. */
const char *gm_pgtree_rv_name(const PgQuery__RangeVar *rv);
/* How many relations FROM items name (a join's both sides). */
size_t gm_pgtree_from_leaves(PgQuery__Node *const *items, size_t n);

/* Calls visit on every Node below m (m itself when it is one), depth
 * first, until visit returns non-zero; returns that value, or 0. */
typedef int (*gm_pgtree_visit)(void *ctx, const PgQuery__Node *n);
int gm_pgtree_walk(const ProtobufCMessage *m, gm_pgtree_visit visit, void *ctx);
/* The same for every message, Node or not: a statement's RangeVar is often
 * a field of its own type (AlterTableStmt.relation), not a Node. */
typedef int (*gm_pgtree_visit_msg)(void *ctx, const ProtobufCMessage *m);
int gm_pgtree_walk_msgs(const ProtobufCMessage *m, gm_pgtree_visit_msg visit, void *ctx);

/* The smallest source location in m and below (where the text it came
 * from starts), or -1 when none is known. */
int gm_pgtree_first_location(const ProtobufCMessage *m);

/* Whether two messages are equal field by field, source locations aside;
 * fields holding a Node are compared with node_eq (so a caller can fold
 * spellings that mean the same). */
typedef int (*gm_pgtree_node_eq)(const PgQuery__Node *a, const PgQuery__Node *b);
int gm_pgtree_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b, gm_pgtree_node_eq node_eq);

/* An expression as PostgreSQL's deparser prints it (caller frees); a
 * fixed text when it cannot be printed. */
char *gm_pgtree_deparse_expr(PgQuery__Node *expr);

#endif
