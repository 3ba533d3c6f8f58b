/* sqlform.c - printed SQL in a major-independent form (gm_sqlform.h). */
#include "gm_sqlform.h"
#include "gm_pgtree.h"
#include "gm_strbuf.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

enum gm_sql_kind gm_sql_kind_of(const char *object, const char *attr)
{
	/* A hostile name can only make a fact look like another kind of SQL:
	 * then it does not parse as that kind and is compared as text. */
	if (!strcmp(attr, "using") || !strcmp(attr, "with_check"))
		return starts(object, "table ") ? GM_SQL_EXPR : GM_SQL_NONE;
	if (!strcmp(attr, "default"))
		return starts(object, "table ") ? GM_SQL_EXPR : GM_SQL_NONE;
	if (strcmp(attr, "definition") != 0)
		return GM_SQL_NONE;
	if (starts(object, "view ") || starts(object, "materialized view ") || starts(object, "function "))
		return GM_SQL_STATEMENT;
	if (starts(object, "table "))
		return strstr(object, " constraint ") ? GM_SQL_CONSTRAINT : GM_SQL_STATEMENT;
	return GM_SQL_NONE;
}

/* ---- dropping qualifiers the server may leave out ---- */

/* The name a query's only FROM item is known by, or NULL when it reads
 * several (a join needs its qualifiers) or one without a name. */
static const char *only_relation(const PgQuery__SelectStmt *s)
{
	const PgQuery__Node *n;

	if (s->n_from_clause != 1 || !(n = s->from_clause[0]))
		return NULL;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_RANGE_VAR:
		return n->range_var->alias && n->range_var->alias->aliasname ? n->range_var->alias->aliasname
									      : n->range_var->relname;
	case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
		return n->range_subselect->alias ? n->range_subselect->alias->aliasname : NULL;
	case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
		return n->range_function->alias ? n->range_function->alias->aliasname : NULL;
	default:
		return NULL;
	}
}

/* "q.col" or "q.*" where q is scope becomes "col" or "*". */
static void unqualify(PgQuery__ColumnRef *c, const char *scope)
{
	PgQuery__Node *q;

	if (!scope || c->n_fields != 2 || !(q = c->fields[0]) || q->node_case != PG_QUERY__NODE__NODE_STRING ||
	    !q->string->sval || strcmp(q->string->sval, scope) != 0)
		return;
	protobuf_c_message_free_unpacked(&q->base, NULL);
	c->fields[0] = c->fields[1];
	c->n_fields = 1;
}

/* Walks every message below m.  scope is the name of the only relation
 * of the nearest enclosing query that reads any (NULL: none, or several):
 * a query without FROM resolves its columns in the enclosing one. */
static void walk(ProtobufCMessage *m, const char *scope)
{
	const ProtobufCMessageDescriptor *d;

	if (!m)
		return;
	d = m->descriptor;
	if (d == &pg_query__select_stmt__descriptor && ((PgQuery__SelectStmt *)m)->n_from_clause)
		scope = only_relation((PgQuery__SelectStmt *)m);
	else if (d == &pg_query__column_ref__descriptor)
		unqualify((PgQuery__ColumnRef *)m, scope);
	for (unsigned k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		char *p = (char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage **v = *(ProtobufCMessage ***)p;
			for (size_t i = 0; i < n; i++)
				walk(v[i], scope);
		} else {
			walk(*(ProtobufCMessage **)p, scope);
		}
	}
}

char *gm_sql_form(const char *text, enum gm_sql_kind kind)
{
	PgQueryProtobufParseResult r;
	PgQueryDeparseResult dr;
	PgQuery__ParseResult *pr = NULL;
	PgQueryProtobuf pb = { 0, NULL };
	char *sql, *out = NULL;
	uint8_t *buf = NULL;
	size_t len;

	switch (kind) {
	case GM_SQL_EXPR:
		sql = gm_xasprintf("SELECT (%s)", text);
		break;
	case GM_SQL_CONSTRAINT:
		sql = gm_xasprintf("ALTER TABLE t ADD %s", text);
		break;
	case GM_SQL_STATEMENT:
		sql = gm_xstrdup(text);
		break;
	case GM_SQL_NONE:
	default:
		return NULL;
	}
	r = pg_query_parse_protobuf(sql);
	free(sql);
	if (!r.error)
		free(gm_pgtree_unpack((const uint8_t *)r.parse_tree.data, r.parse_tree.len, &pr));
	pg_query_free_protobuf_parse_result(r);
	/* One statement, or the text was not what its kind says. */
	if (!pr || pr->n_stmts != 1)
		goto done;
	walk(&pr->base, NULL);
	len = pg_query__parse_result__get_packed_size(pr);
	buf = gm_xmalloc(len ? len : 1);
	pg_query__parse_result__pack(pr, buf);
	pb.len = len;
	pb.data = (char *)buf;
	dr = pg_query_deparse_protobuf(pb);
	if (!dr.error && dr.query)
		out = gm_xstrdup(dr.query);
	pg_query_free_deparse_result(dr);
done:
	if (pr)
		pg_query__parse_result__free_unpacked(pr, NULL);
	free(buf);
	return out;
}

int gm_sql_same(const char *a, const char *b, enum gm_sql_kind kind)
{
	char *fa, *fb;
	int same;

	if (!strcmp(a, b))
		return 1;
	if (kind == GM_SQL_NONE || !*a || !*b)
		return 0;
	fa = gm_sql_form(a, kind);
	fb = fa ? gm_sql_form(b, kind) : NULL;
	same = fa && fb && !strcmp(fa, fb);
	free(fa);
	free(fb);
	return same;
}
