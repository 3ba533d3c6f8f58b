/* sqlstmt.c - what a statement is, from its parse tree (see gm_sqlstmt.h
 * for how this divides the work with the lexer). */
#include "gm_sqlstmt.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements shorter than this are parsed whole: looking for rows of
 * constants would cost about what it saves. */
#define ROWS_FROM (16 * 1024)

char *gm_sql_stmt_parse(const char *text, const struct gm_sql_stmt *st, struct gm_pgtree *t, size_t *err_off)
{
	size_t cut = 0, cursor;
	char *sql, *why;

	/* libpg_query hands its tree over as protobuf, and packing and
	 * unpacking a seed migration's thousands of rows costs many times
	 * what the server takes to insert them: an INSERT whose later rows
	 * are constants is parsed up to its first row. */
	if (st->end - st->start >= ROWS_FROM && !strcmp(st->word1, "INSERT"))
		cut = gm_sql_constant_rows_from(text, st->start, st->end);
	sql = gm_xstrndup(text + st->start, (cut ? cut : st->end) - st->start);

	why = gm_pgtree_parse(sql, t, &cursor);
	*err_off = st->start + (cursor == (size_t)-1 ? 0 : cursor);
	free(sql);
	return why;
}

/* ---- transaction control ---- */

enum txn_kind { TXN_NONE, TXN_CONTROL, TXN_SAVEPOINT, TXN_RELEASE, TXN_ROLLBACK_TO };

struct txn {
	enum txn_kind kind;
	char savepoint[64];	/* as the server names it */
};

/* Only statements starting with these can be transaction statements in
 * the grammar (TransactionStmt): the lexer's first keyword decides which
 * statements are worth a parse. */
static int txn_keyword(const char *w)
{
	static const char *const words[] = { "ABORT", "BEGIN", "START", "COMMIT", "END", "ROLLBACK",
					     "SAVEPOINT", "RELEASE", "PREPARE" };

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (!strcmp(w, words[k]))
			return 1;
	return 0;
}

static enum txn_kind kind_of_tree(const PgQuery__TransactionStmt *ts)
{
	switch (ts->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
		return TXN_SAVEPOINT;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
		return TXN_RELEASE;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
		return TXN_ROLLBACK_TO;
	default:
		return TXN_CONTROL;
	}
}

/* The lexer's answer, for a statement the parser cannot read. */
static void txn_by_words(const struct gm_sql_stmt *st, struct txn *out)
{
	if (gm_sql_is_txn_control(st))
		out->kind = TXN_CONTROL;
	else if (!strcmp(st->word1, "SAVEPOINT"))
		out->kind = TXN_SAVEPOINT;
	else if (!strcmp(st->word1, "RELEASE"))
		out->kind = TXN_RELEASE;
	else if (!strcmp(st->word1, "ROLLBACK") && st->savepoint[0])
		out->kind = TXN_ROLLBACK_TO;
	snprintf(out->savepoint, sizeof(out->savepoint), "%s", st->savepoint);
}

static void txn_of(const char *text, const struct gm_sql_stmt *st, struct txn *out)
{
	struct gm_pgtree t;
	const PgQuery__Node *n;
	size_t off;
	char *why;

	memset(out, 0, sizeof(*out));
	if (!txn_keyword(st->word1))
		return;
	if ((why = gm_sql_stmt_parse(text, st, &t, &off))) {
		free(why);
		txn_by_words(st, out);
		return;
	}
	n = gm_pgtree_stmt(&t);
	if (n && n->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT) {
		out->kind = kind_of_tree(n->transaction_stmt);
		snprintf(out->savepoint, sizeof(out->savepoint), "%s",
			 n->transaction_stmt->savepoint_name ? n->transaction_stmt->savepoint_name : "");
	}
	gm_pgtree_free(&t);
}

size_t gm_sql_txn_escape(const char *text, const struct gm_sql_stmts *s, const char **why)
{
	struct gm_strbuf made = GM_STRBUF_INIT;	/* savepoints made so far, NUL-separated */
	size_t k;

	for (k = 0; k < s->n; k++) {
		struct txn tx;
		size_t at;

		txn_of(text, &s->v[k], &tx);
		if (tx.kind == TXN_CONTROL) {
			*why = "transaction control statement in a migration that runs in a transaction";
			break;
		}
		if (tx.kind == TXN_SAVEPOINT) {
			/* The rollback's guard returns to its own savepoints by
			 * name (gm_step): one of the same name made by the text
			 * would be the one returned to, after what it undid. */
			if (!strncmp(tx.savepoint, "gm_", 3)) {
				*why = "a savepoint named gm_...: names beginning gm_ are garage-migrate's own";
				break;
			}
			gm_strbuf_add(&made, tx.savepoint, strlen(tx.savepoint) + 1);
			continue;
		}
		if (tx.kind == TXN_NONE)
			continue;
		/* Only a savepoint this text made itself is its to release or
		 * return to. */
		for (at = 0; at < made.len && tx.savepoint[0]; at += strlen(made.buf + at) + 1)
			if (!strcmp(made.buf + at, tx.savepoint))
				break;
		if (!tx.savepoint[0] || at >= made.len) {
			*why = tx.kind == TXN_RELEASE ? "RELEASE of a savepoint this section did not make"
						      : "ROLLBACK TO a savepoint this section did not make";
			break;
		}
	}
	gm_strbuf_release(&made);
	return k;
}

/* ---- relations ---- */

static void add_name(struct gm_strbuf *sb, const char *name)
{
	if (name && *name)
		gm_text_array_add(sb, name);
}

static int collect_relation(void *ctx, const ProtobufCMessage *m)
{
	struct gm_strbuf *sb = ctx;

	if (m->descriptor == &pg_query__range_var__descriptor) {
		add_name(sb, ((const PgQuery__RangeVar *)m)->relname);
	} else if (m->descriptor == &pg_query__index_stmt__descriptor) {
		add_name(sb, ((const PgQuery__IndexStmt *)m)->idxname);
	} else if (m->descriptor == &pg_query__reindex_stmt__descriptor) {
		add_name(sb, ((const PgQuery__ReindexStmt *)m)->name);
	} else if (m->descriptor == &pg_query__drop_stmt__descriptor) {
		const PgQuery__DropStmt *d = (const PgQuery__DropStmt *)m;
		for (size_t k = 0; k < d->n_objects; k++)
			if (d->objects[k]->node_case == PG_QUERY__NODE__NODE_LIST)
				add_name(sb, gm_pgtree_last_name(d->objects[k]->list->items, d->objects[k]->list->n_items));
	}
	return 0;
}

char *gm_sql_stmt_relations(const char *text, const struct gm_sql_stmt *st)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	struct gm_pgtree t;
	size_t off;
	char *why = gm_sql_stmt_parse(text, st, &t, &off);

	if (why) {
		free(why);
		return NULL;
	}
	gm_strbuf_addch(&sb, '{');
	gm_pgtree_walk_msgs(&t.pr->base, collect_relation, &sb);
	gm_strbuf_addch(&sb, '}');
	gm_pgtree_free(&t);
	return gm_strbuf_detach(&sb, NULL);
}

int gm_sql_stmt_walk(const char *text, const struct gm_sql_stmt *st, gm_pgtree_visit visit, void *ctx)
{
	struct gm_pgtree t;
	size_t off;
	char *why = gm_sql_stmt_parse(text, st, &t, &off);
	int found = !why && t.pr ? gm_pgtree_walk(&t.pr->base, visit, ctx) : 0;

	free(why);
	gm_pgtree_free(&t);
	return found;
}
