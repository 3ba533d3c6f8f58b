/* pgtree.c - PostgreSQL's parse trees through libpg_query (gm_pgtree.h). */
#include "gm_pgtree.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---- */

char *gm_pgtree_parse(const char *sql, struct gm_pgtree *t, size_t *cursor)
{
	PgQueryProtobufParseResult r = pg_query_parse_protobuf(sql);
	char *why = NULL;

	t->pr = NULL;
	*cursor = (size_t)-1;
	if (r.error) {
		why = gm_xstrdup(r.error->message ? r.error->message : "syntax error");
		/* cursorpos counts characters from 1, as the server's do. */
		if (r.error->cursorpos > 0)
			*cursor = gm_text_char_to_byte(sql, strlen(sql), (size_t)r.error->cursorpos - 1);
	} else {
		t->pr = pg_query__parse_result__unpack(NULL, r.parse_tree.len, (const uint8_t *)r.parse_tree.data);
		if (!t->pr)
			why = gm_xstrdup("the parse tree could not be read");
	}
	pg_query_free_protobuf_parse_result(r);
	return why;
}

void gm_pgtree_free(struct gm_pgtree *t)
{
	if (t->pr)
		pg_query__parse_result__free_unpacked(t->pr, NULL);
	t->pr = NULL;
}

const PgQuery__Node *gm_pgtree_stmt(const struct gm_pgtree *t)
{
	return t->pr && t->pr->n_stmts == 1 && t->pr->stmts[0] ? t->pr->stmts[0]->stmt : NULL;
}

const char *gm_pgtree_str(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string->sval ? n->string->sval : "";
}

const char *gm_pgtree_last_name(PgQuery__Node *const *names, size_t n)
{
	return n ? gm_pgtree_str(names[n - 1]) : "";
}

/* ---- walking, through protobuf-c's descriptors ---- */

/* Whether field f of m holds a value: a oneof member counts only when it
 * is the member set. */
static int field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	return !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
	       *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

static size_t repeated_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	return *(const size_t *)((const char *)m + f->quantifier_offset);
}

int gm_pgtree_walk_msgs(const ProtobufCMessage *m, gm_pgtree_visit_msg visit, void *ctx)
{
	const ProtobufCMessageDescriptor *d;
	int r;

	if (!m)
		return 0;
	if ((r = visit(ctx, m)))
		return r;
	d = m->descriptor;
	for (unsigned k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		const char *p = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE || !field_set(m, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = repeated_count(m, f);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)p;
			for (size_t i = 0; i < n; i++)
				if ((r = gm_pgtree_walk_msgs(v[i], visit, ctx)))
					return r;
		} else if ((r = gm_pgtree_walk_msgs(*(ProtobufCMessage *const *)p, visit, ctx))) {
			return r;
		}
	}
	return 0;
}

struct node_visit {
	gm_pgtree_visit visit;
	void *ctx;
};

static int visit_node(void *ctx, const ProtobufCMessage *m)
{
	const struct node_visit *nv = ctx;

	return m->descriptor == &pg_query__node__descriptor ? nv->visit(nv->ctx, (const PgQuery__Node *)m) : 0;
}

int gm_pgtree_walk(const ProtobufCMessage *m, gm_pgtree_visit visit, void *ctx)
{
	struct node_visit nv = { visit, ctx };

	return gm_pgtree_walk_msgs(m, visit_node, &nv);
}

static int min_location(void *ctx, const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "location");
	int *best = ctx, loc;

	if (f && f->type == PROTOBUF_C_TYPE_INT32) {
		loc = *(const int32_t *)((const char *)m + f->offset);
		if (loc >= 0 && (*best < 0 || loc < *best))
			*best = loc;
	}
	return 0;
}

int gm_pgtree_first_location(const ProtobufCMessage *m)
{
	int best = -1;

	gm_pgtree_walk_msgs(m, min_location, &best);
	return best;
}

/* ---- comparing ---- */

static int value_equal(const ProtobufCFieldDescriptor *f, const void *a, const void *b, gm_pgtree_node_eq node_eq)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return *(const uint32_t *)a == *(const uint32_t *)b;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)a == *(const uint64_t *)b;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)a == !*(const protobuf_c_boolean *)b;
	case PROTOBUF_C_TYPE_FLOAT:
		return !memcmp(a, b, sizeof(float));
	case PROTOBUF_C_TYPE_DOUBLE:
		return !memcmp(a, b, sizeof(double));
	case PROTOBUF_C_TYPE_STRING: {
		const char *x = *(char *const *)a, *y = *(char *const *)b;
		return !strcmp(x ? x : "", y ? y : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *x = a, *y = b;
		return x->len == y->len && (!x->len || !memcmp(x->data, y->data, x->len));
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *x = *(ProtobufCMessage *const *)a, *y = *(ProtobufCMessage *const *)b;
		if (!x || !y)
			return x == y;
		if (f->descriptor == &pg_query__node__descriptor)
			return node_eq((const PgQuery__Node *)x, (const PgQuery__Node *)y);
		return gm_pgtree_msg_equal(x, y, node_eq);
	}
	}
	return 0;
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	default:
		return 4;
	}
}

int gm_pgtree_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b, gm_pgtree_node_eq node_eq)
{
	const ProtobufCMessageDescriptor *d = a->descriptor;

	if (d != b->descriptor)
		return 0;
	for (unsigned k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;

		if (!strcmp(f->name, "location"))
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t ca = *(const uint32_t *)((const char *)a + f->quantifier_offset);
			uint32_t cb = *(const uint32_t *)((const char *)b + f->quantifier_offset);
			if (ca != cb)
				return 0;
			if (ca != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t na = repeated_count(a, f), nb = repeated_count(b, f);
			const char *va = *(const char *const *)pa, *vb = *(const char *const *)pb;
			size_t sz = value_size(f);
			if (na != nb)
				return 0;
			for (size_t i = 0; i < na; i++)
				if (!value_equal(f, va + i * sz, vb + i * sz, node_eq))
					return 0;
		} else if (!value_equal(f, pa, pb, node_eq)) {
			return 0;
		}
	}
	return 1;
}

/* ---- printing ---- */

/* Deparses "SELECT <expr>", built around the node for the moment (nothing
 * is copied or freed: the wrappers live on the stack), and drops the
 * SELECT. */
char *gm_pgtree_deparse_expr(PgQuery__Node *expr)
{
	PgQuery__ResTarget target = PG_QUERY__RES_TARGET__INIT;
	PgQuery__Node target_node = PG_QUERY__NODE__INIT, select_node = PG_QUERY__NODE__INIT;
	PgQuery__Node *targets[1] = { &target_node };
	PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
	PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
	PgQuery__RawStmt *raws[1] = { &raw };
	PgQuery__ParseResult pr = PG_QUERY__PARSE_RESULT__INIT;
	PgQueryProtobuf pb;
	PgQueryDeparseResult d;
	uint8_t *buf;
	char *out;
	size_t len;

	target.val = expr;
	target_node.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
	target_node.res_target = &target;
	select.n_target_list = 1;
	select.target_list = targets;
	select.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
	select.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
	select_node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
	select_node.select_stmt = &select;
	raw.stmt = &select_node;
	pr.version = PG_VERSION_NUM;
	pr.n_stmts = 1;
	pr.stmts = raws;
	len = pg_query__parse_result__get_packed_size(&pr);
	buf = gm_xmalloc(len ? len : 1);
	pg_query__parse_result__pack(&pr, buf);
	pb.len = len;
	pb.data = (char *)buf;
	d = pg_query_deparse_protobuf(pb);
	out = d.error || !d.query ? gm_xstrdup("(an expression that cannot be printed)")
		: gm_xstrdup(strncmp(d.query, "SELECT ", 7) ? d.query : d.query + 7);
	pg_query_free_deparse_result(d);
	free(buf);
	return out;
}
