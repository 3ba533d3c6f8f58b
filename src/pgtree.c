/* pgtree.c - PostgreSQL's parse trees through libpg_query (gm_pgtree.h). */
#include "gm_pgtree.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---- */

/* Deeper trees are not analysed.  protobuf-c unpacks, and the walks
 * below visit, a tree recursively, about a kilobyte of stack a level:
 * "SELECT 1+1+...+1" with a few thousand terms, which the server itself
 * refuses at its default max_stack_depth, would overflow the stack.  Two
 * levels an operator (the Node and its A_Expr). */
#define MAX_DEPTH 2000

static int read_varint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*pos < len && shift < 64) {
		uint8_t c = b[(*pos)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* The nesting depth of a packed ParseResult, read without recursion
 * (the message types of its fields from protobuf-c's descriptors); more
 * than MAX_DEPTH stops the count.  -1 for bytes that are not a message. */
static int packed_depth(const uint8_t *b, size_t len)
{
	const ProtobufCMessageDescriptor *desc[MAX_DEPTH + 1];
	size_t end[MAX_DEPTH + 1], pos = 0;
	int top = 0, max = 0;

	desc[0] = &pg_query__parse_result__descriptor;
	end[0] = len;
	while (pos < len) {
		uint64_t key, n;
		const ProtobufCFieldDescriptor *f;

		while (top > 0 && pos >= end[top])
			top--;
		if (read_varint(b, len, &pos, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (read_varint(b, len, &pos, &n))
				return -1;
			break;
		case 1:
			pos += 8;
			break;
		case 5:
			pos += 4;
			break;
		case 2:
			if (read_varint(b, len, &pos, &n) || n > end[top] - pos)
				return -1;
			f = protobuf_c_message_descriptor_get_field(desc[top], (unsigned)(key >> 3));
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (top == MAX_DEPTH)
					return MAX_DEPTH + 1;
				top++;
				desc[top] = f->descriptor;
				end[top] = pos + (size_t)n;
				if (top > max)
					max = top;
			} else {
				pos += (size_t)n;
			}
			break;
		default:
			return -1;
		}
	}
	return max;
}

char *gm_pgtree_unpack(const uint8_t *data, size_t len, PgQuery__ParseResult **out)
{
	int depth = packed_depth(data, len);

	*out = NULL;
	if (depth > MAX_DEPTH)
		return gm_xasprintf("nested more than %d levels deep", MAX_DEPTH);
	if (depth < 0 || !(*out = pg_query__parse_result__unpack(NULL, len, data)))
		return gm_xstrdup("the parse tree could not be read");
	return NULL;
}

/* libpg_query itself turns its tree into protobuf recursively, before
 * MAX_DEPTH can be checked: a long statement is parsed on a thread of
 * its own with a stack that a statement of MAX_PARSED bytes cannot
 * exhaust (reserved, not used: pages are touched only as deep as the
 * tree goes).  Short ones, the usual, stay on this thread. */
#define THREAD_FROM (4 * 1024)
#define MAX_PARSED (256 * 1024)
#define PARSE_STACK ((size_t)1024 * 1024 * 1024)

struct parse_job {
	const char *sql;
	PgQueryProtobufParseResult r;
};

static void *parse_job_run(void *arg)
{
	struct parse_job *job = arg;

	/* libpg_query frees the thread's memory contexts when it exits. */
	job->r = pg_query_parse_protobuf(job->sql);
	return NULL;
}

static PgQueryProtobufParseResult parse(const char *sql, size_t len)
{
	struct parse_job job = { sql, { { 0, NULL }, NULL, NULL } };
	pthread_attr_t attr;
	pthread_t th;
	int started = 0;

	if (len < THREAD_FROM || pthread_attr_init(&attr))
		return pg_query_parse_protobuf(sql);
	if (!pthread_attr_setstacksize(&attr, PARSE_STACK))
		started = !pthread_create(&th, &attr, parse_job_run, &job);
	pthread_attr_destroy(&attr);
	if (!started)
		return pg_query_parse_protobuf(sql);
	pthread_join(th, NULL);
	return job.r;
}

char *gm_pgtree_parse(const char *sql, struct gm_pgtree *t, size_t *cursor)
{
	size_t len = strlen(sql);
	PgQueryProtobufParseResult r;
	char *why = NULL;

	t->pr = NULL;
	*cursor = (size_t)-1;
	if (len > MAX_PARSED)
		return gm_xasprintf("longer than %d bytes", MAX_PARSED);
	r = parse(sql, len);
	if (r.error) {
		why = gm_xstrdup(r.error->message ? r.error->message : "syntax error");
		/* cursorpos counts characters from 1, as the server's do. */
		if (r.error->cursorpos > 0)
			*cursor = gm_text_char_to_byte(sql, strlen(sql), (size_t)r.error->cursorpos - 1);
	} else {
		why = gm_pgtree_unpack((const uint8_t *)r.parse_tree.data, r.parse_tree.len, &t->pr);
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

const PgQuery__Constraint *gm_pgtree_foreign_key(const char *def, struct gm_pgtree *t)
{
	char *sql = gm_xasprintf("ALTER TABLE x ADD %s", def);	/* only parsed here, never sent */
	size_t cursor;
	char *why = gm_pgtree_parse(sql, t, &cursor);
	const PgQuery__Node *st = why ? NULL : gm_pgtree_stmt(t), *cmd;
	const PgQuery__Constraint *c = NULL;

	if (st && st->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_STMT && st->alter_table_stmt->n_cmds == 1 &&
	    (cmd = st->alter_table_stmt->cmds[0])->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD &&
	    cmd->alter_table_cmd->def && cmd->alter_table_cmd->def->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
	    cmd->alter_table_cmd->def->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
		c = cmd->alter_table_cmd->def->constraint;
	free(why);
	free(sql);
	return c;
}

const PgQuery__DefElem *gm_pgtree_function_option(const PgQuery__CreateFunctionStmt *f, const char *name)
{
	for (size_t k = 0; k < f->n_options; k++) {
		const PgQuery__Node *o = f->options[k];
		if (o && o->node_case == PG_QUERY__NODE__NODE_DEF_ELEM && o->def_elem->defname &&
		    !strcmp(o->def_elem->defname, name))
			return o->def_elem;
	}
	return NULL;
}

const PgQuery__Node *gm_pgtree_stmt(const struct gm_pgtree *t)
{
	return t->pr && t->pr->n_stmts == 1 && t->pr->stmts[0] ? t->pr->stmts[0]->stmt : NULL;
}

/* A value written as a constant: a literal, NULL, or one cast to a type. */
static int constant_value(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && n->type_cast)
		n = n->type_cast->arg;
	return n && n->node_case == PG_QUERY__NODE__NODE_A_CONST;
}

/* Whether rows [from, end) of a VALUES list hold constants only. */
static int constant_rows(const PgQuery__SelectStmt *sel, size_t from)
{
	for (size_t r = from; r < sel->n_values_lists; r++) {
		const PgQuery__Node *row = sel->values_lists[r];
		if (!row || row->node_case != PG_QUERY__NODE__NODE_LIST || !row->list)
			return 0;
		for (size_t k = 0; k < row->list->n_items; k++)
			if (!constant_value(row->list->items[k]))
				return 0;
	}
	return 1;
}

size_t gm_pgtree_drop_constant_rows(struct gm_pgtree *t, size_t from)
{
	PgQuery__Node *n = t->pr && t->pr->n_stmts == 1 && t->pr->stmts[0] ? t->pr->stmts[0]->stmt : NULL;
	PgQuery__SelectStmt *sel;
	size_t rows;

	if (!n || n->node_case != PG_QUERY__NODE__NODE_INSERT_STMT || !n->insert_stmt ||
	    !n->insert_stmt->select_stmt || n->insert_stmt->select_stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
		return 0;
	sel = n->insert_stmt->select_stmt->select_stmt;
	if (!sel || sel->n_values_lists <= from || !constant_rows(sel, from))
		return 0;
	/* The list's array stays, shorter: the tree's own free releases it. */
	for (size_t r = from; r < sel->n_values_lists; r++)
		protobuf_c_message_free_unpacked(&sel->values_lists[r]->base, NULL);
	rows = sel->n_values_lists - from;
	sel->n_values_lists = from;
	return rows;
}

const char *gm_pgtree_str(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string->sval ? n->string->sval : "";
}

const char *gm_pgtree_last_name(PgQuery__Node *const *names, size_t n)
{
	return n ? gm_pgtree_str(names[n - 1]) : "";
}

const char *gm_pgtree_rv_name(const PgQuery__RangeVar *rv)
{
	return rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? rv->alias->aliasname : rv->relname;
}

size_t gm_pgtree_from_leaves(PgQuery__Node *const *items, size_t n)
{
	size_t count = 0;

	for (size_t k = 0; k < n; k++)
		if (items[k] && items[k]->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR)
			count += gm_pgtree_from_leaves(&items[k]->join_expr->larg, 1) +
				 gm_pgtree_from_leaves(&items[k]->join_expr->rarg, 1);
		else if (items[k])
			count++;
	return count;
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
