/* gm_sqlstmt.h - what one statement of a migration is, from PostgreSQL's
 * own parse tree.
 *
 * The split of duties between the project's lexer (gm_sqllex.h) and
 * libpg_query (gm_pgtree.h):
 *
 *  - the lexer splits a section into statements, finds unterminated quotes
 *    and comments at the line and column where they open, and gives every
 *    statement's offsets for mapping server errors back into the file.  It
 *    knows tokens only, so it splits any syntax the server accepts,
 *    including syntax newer than libpg_query's PostgreSQL 15 grammar: such
 *    a migration always splits and runs.  libpg_query's own splitters
 *    cannot take that role: the parser's gives up on the whole text at the
 *    first statement it cannot parse, and the scanner's reports no
 *    unterminated quote where it opens;
 *  - the parser says what a statement is: transaction control and the
 *    savepoint it names, the relations it names, and everything the
 *    migration lint looks at.  Each statement is parsed on its own, so one
 *    it cannot parse costs only that statement its analysis: it keeps the
 *    lexer's answer (transaction control by its first keywords), the lint
 *    reports it as not analysed, and nothing the server would accept is
 *    refused because of it.
 *
 * The fuzz target for the lint checks that the two agree on statement
 * boundaries wherever the parser can split the text. */
#ifndef GM_SQLSTMT_H
#define GM_SQLSTMT_H

#include <stddef.h>

#include "gm_pgtree.h"
#include "gm_sqllex.h"

/* Parses statement st of text on its own; node locations in the tree are
 * then byte offsets from st->start.  A long INSERT whose rows after the
 * first are constants (gm_sql_constant_rows_from) is parsed up to its
 * first row: the tree has that row only.  Returns NULL, or the parser's
 * message (caller frees) with *err_off the byte offset in text it points
 * at (st->start when it points nowhere). */
char *gm_sql_stmt_parse(const char *text, const struct gm_sql_stmt *st, struct gm_pgtree *t, size_t *err_off);

/* The first statement of s (split from text) that would step out of the
 * transaction the tool wraps it in: transaction control, or RELEASE /
 * ROLLBACK TO of a savepoint s did not make before (the tool's own, or
 * the transaction's).  Judged on the parse tree; the lexer's first
 * keywords for a statement the parser cannot read.  Returns its index,
 * or s->n when there is none; *why is a static explanation. */
size_t gm_sql_txn_escape(const char *text, const struct gm_sql_stmts *s, const char **why);

/* The relations statement st of text names, as a PostgreSQL text[]
 * literal for a query parameter ("{\"orders\",\"idx_orders\"}"): tables,
 * views and indexes it reads, changes, creates or drops, by their last
 * name.  NULL when the statement does not parse; caller frees. */
char *gm_sql_stmt_relations(const char *text, const struct gm_sql_stmt *st);

/* gm_pgtree_walk over statement st of text, parsed alone: visit's first
 * non-zero answer, or 0 (also for a statement that does not parse). */
int gm_sql_stmt_walk(const char *text, const struct gm_sql_stmt *st, gm_pgtree_visit visit, void *ctx);

#endif
