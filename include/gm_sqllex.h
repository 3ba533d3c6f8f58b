/* gm_sqllex.h - split SQL text into statements, the way the server does.
 *
 * Why a lexer in a migration tool: the up text goes to the server as one
 * string, and an error without a position (a duplicate table, a constraint
 * violation) only tells us how many statements succeeded before it.  Knowing
 * where each statement starts turns that count into file:line.  It also
 * catches unterminated quotes and comments before anything reaches the
 * database, and finds transaction-control statements that would break the
 * one-transaction-per-migration promise.
 *
 * It follows the server's rules for what ends a statement: semicolons
 * outside quotes ('', E'', "", $tag$), comments (--, nested slash-star),
 * parentheses and BEGIN ATOMIC ... END bodies.  Empty statements are
 * skipped, as the server skips them. */
#ifndef GM_SQLLEX_H
#define GM_SQLLEX_H

#include <stddef.h>

struct gm_sql_stmt {
	size_t start;		/* byte offset of its first token */
	size_t end;		/* byte offset just past its ';' (or end of text) */
	char word1[32];		/* first keyword, upper-cased ("CREATE") */
	char word2[32];		/* second keyword, upper-cased, or "" */
	char savepoint[64];	/* SAVEPOINT, RELEASE, ROLLBACK TO: the name
				 * (unquoted folded to lower case), or "" */
};

struct gm_sql_stmts {
	struct gm_sql_stmt *v;
	size_t n;
};

/* Returns 0, or -1 with *problem (static text) and *problem_off (byte offset
 * of the opening quote or comment) set.  out must be freed with
 * gm_sql_stmts_free even on failure. */
int gm_sql_split(const char *text, size_t len, struct gm_sql_stmts *out,
		 const char **problem, size_t *problem_off);
void gm_sql_stmts_free(struct gm_sql_stmts *s);

/* Non-zero when stmt starts or ends a transaction (BEGIN, START, COMMIT,
 * END, ABORT, ROLLBACK without TO, PREPARE TRANSACTION), by its first
 * keywords: the answer for a statement libpg_query cannot parse (see
 * gm_sqlstmt.h, which answers from the parse tree otherwise). */
int gm_sql_is_txn_control(const struct gm_sql_stmt *stmt);

/* For an INSERT ... VALUES statement text[start, end) whose rows after the
 * first hold constants only (quoted strings, numbers, NULL, TRUE, FALSE,
 * minus signs before a number, one cast to a type named by one word): the
 * offset just past the first row.  0 for any other statement, or one row
 * alone.  Such rows are data no analysis reads: the statement up to there
 * is what the lint needs, at a fraction of the cost of parsing a seed
 * migration's thousands of rows.  Lenient about type names: a row the
 * grammar would refuse for one is left to the server to refuse. */
size_t gm_sql_constant_rows_from(const char *text, size_t start, size_t end);

#endif
