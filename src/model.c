/* model.c - facts, snapshots and diffs (see gm_model.h). */
#include "gm_model.h"
#include "gm_error.h"
#include "gm_sqlform.h"
#include "gm_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void gm_model_add(struct gm_model *m, const char *object, const char *attr, const char *value)
{
	struct gm_fact *f;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->v = gm_xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	f = &m->v[m->n++];
	f->object = gm_xstrdup(object);
	f->attr = gm_xstrdup(attr);
	f->value = gm_xstrdup(value ? value : "");
}

void gm_model_add_schema(struct gm_model *m, const char *schema)
{
	m->schemas = gm_xrealloc(m->schemas, (m->nschemas + 1) * sizeof(*m->schemas));
	m->schemas[m->nschemas++] = gm_xstrdup(schema);
}

static int by_key(const void *a, const void *b)
{
	const struct gm_fact *x = a, *y = b;
	int c = strcmp(x->object, y->object);

	return c ? c : strcmp(x->attr, y->attr);
}

void gm_model_sort(struct gm_model *m)
{
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), by_key);
}

void gm_model_release(struct gm_model *m)
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		free(m->v[k].object);
		free(m->v[k].attr);
		free(m->v[k].value);
	}
	for (k = 0; k < m->nschemas; k++)
		free(m->schemas[k]);
	free(m->schemas);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int gm_model_has_schema(const struct gm_model *m, const char *schema)
{
	for (size_t k = 0; k < m->nschemas; k++)
		if (!strcmp(m->schemas[k], schema))
			return 1;
	return 0;
}

const char *gm_model_get(const struct gm_model *m, const char *object, const char *attr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].object, object);
		if (!c)
			c = strcmp(m->v[mid].attr, attr);
		if (!c)
			return m->v[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- YAML out ---- */

/* Every value is written double-quoted with escapes, so any text (policy
 * expressions, multi-line function bodies) survives the round trip and
 * each fact stays on one line.  A JSON string is a valid YAML
 * double-quoted scalar, so the JSON writer serves. */
static void yaml_str(struct gm_strbuf *out, const char *s)
{
	gm_json_str(out, s);
}

/* Keys stay plain when that cannot change their meaning in YAML. */
static void yaml_key(struct gm_strbuf *out, const char *s)
{
	const char *p = s;

	if (isalnum((unsigned char)*p)) {
		while (*p && (isalnum((unsigned char)*p) || strchr("_ .,()-", *p)))
			p++;
		if (!*p && p[-1] != ' ') {
			gm_strbuf_adds(out, s);
			return;
		}
	}
	yaml_str(out, s);
}

/* libyaml reads a plain "key:" only when the key takes at most 1024
 * characters; past that (a function with many long parameters makes such
 * a fact name) the key is written explicitly ("? key" then ": value"). */
#define YAML_SIMPLE_KEY_MAX 1000

/* "<indent>key:" with a space before an inline value, or the explicit
 * form for a long key. */
static void yaml_key_line(struct gm_strbuf *out, const char *indent, const char *key, int inline_value)
{
	struct gm_strbuf k = GM_STRBUF_INIT;

	yaml_key(&k, key);
	if (k.len <= YAML_SIMPLE_KEY_MAX)
		gm_strbuf_addf(out, "%s%s:%s", indent, k.buf, inline_value ? " " : "\n");
	else
		gm_strbuf_addf(out, "%s? %s\n%s:%s", indent, k.buf, indent, inline_value ? " " : "\n");
	gm_strbuf_release(&k);
}

void gm_model_to_yaml(const struct gm_model *m, struct gm_strbuf *out)
{
	size_t k;

	gm_strbuf_adds(out,
		"# Schema snapshot written by `garage-migrate dump`; `garage-migrate verify`\n"
		"# compares the live database against it.  Regenerate it after changing\n"
		"# migrations and review its diff: every fact is one line.\n");
	gm_strbuf_addf(out, "format: %d\n", GM_SNAPSHOT_FORMAT);
	/* Which major printed the definitions: verify names it when the live
	 * server's differs and printed SQL still does not match. */
	if (m->server_major > 0)
		gm_strbuf_addf(out, "postgresql: %d\n", m->server_major);
	gm_strbuf_adds(out, "schemas:\n");
	for (k = 0; k < m->nschemas; k++) {
		gm_strbuf_adds(out, "  - ");
		yaml_str(out, m->schemas[k]);
		gm_strbuf_addch(out, '\n');
	}
	gm_strbuf_adds(out, m->n ? "objects:\n" : "objects: {}\n");
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		if (k == 0 || strcmp(f->object, m->v[k - 1].object) != 0)
			yaml_key_line(out, "  ", f->object, 0);
		yaml_key_line(out, "    ", f->attr, 1);
		yaml_str(out, f->value);
		gm_strbuf_addch(out, '\n');
	}
}

/* ---- YAML in ---- */

struct reader {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	const char *path;
};

/* An error at a libyaml mark (0-based line and column). */
static struct gm_error *at_mark(const struct reader *r, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct gm_error *at_mark(const struct reader *r, yaml_mark_t mark, const char *fmt, ...)
{
	struct gm_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = gm_error_vat(GM_ERR_INPUT, r->path, (unsigned)mark.line + 1, (unsigned)mark.column + 1, fmt, ap);
	va_end(ap);
	return err;
}

/* Reads the next event into r->ev (freeing the previous one). */
static struct gm_error *next(struct reader *r)
{
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	r->have_ev = 0;
	if (!yaml_parser_parse(&r->parser, &r->ev)) {
		const char *problem = r->parser.problem ? r->parser.problem : "malformed YAML";
		return at_mark(r, r->parser.problem_mark, "%s", problem);
	}
	r->have_ev = 1;
	return NULL;
}

static struct gm_error *expect(struct reader *r, yaml_event_type_t type, const char *what)
{
	struct gm_error *err = next(r);

	if (err)
		return err;
	if (r->ev.type != type)
		return at_mark(r, r->ev.start_mark, "expected %s", what);
	return NULL;
}

static const char *scalar(const struct reader *r)
{
	return (const char *)r->ev.data.scalar.value;
}

/* objects: { object: { attr: value, ... }, ... } */
static struct gm_error *read_objects(struct reader *r, struct gm_model *m)
{
	struct gm_error *err;

	if ((err = next(r)))
		return err;
	if (r->ev.type == YAML_SCALAR_EVENT && r->ev.data.scalar.length == 0)
		return NULL;	/* "objects:" with nothing */
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return at_mark(r, r->ev.start_mark, "objects must be a mapping of objects");
	for (;;) {
		char *object;
		if ((err = next(r)))
			return err;
		if (r->ev.type == YAML_MAPPING_END_EVENT)
			return NULL;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return at_mark(r, r->ev.start_mark, "an object name must be a string");
		object = gm_xstrdup(scalar(r));
		if ((err = expect(r, YAML_MAPPING_START_EVENT, "a mapping of attributes"))) {
			free(object);
			return err;
		}
		for (;;) {
			char *attr;
			if ((err = next(r)))
				break;
			if (r->ev.type == YAML_MAPPING_END_EVENT)
				break;
			if (r->ev.type != YAML_SCALAR_EVENT) {
				err = at_mark(r, r->ev.start_mark, "an attribute name must be a string");
				break;
			}
			attr = gm_xstrdup(scalar(r));
			if ((err = expect(r, YAML_SCALAR_EVENT, "a string value"))) {
				free(attr);
				break;
			}
			gm_model_add(m, object, attr, scalar(r));
			free(attr);
		}
		free(object);
		if (err)
			return err;
	}
}

static struct gm_error *read_schemas(struct reader *r, struct gm_model *m)
{
	struct gm_error *err;

	if ((err = expect(r, YAML_SEQUENCE_START_EVENT, "a list of schema names")))
		return err;
	for (;;) {
		if ((err = next(r)))
			return err;
		if (r->ev.type == YAML_SEQUENCE_END_EVENT)
			return NULL;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return at_mark(r, r->ev.start_mark, "a schema name must be a string");
		gm_model_add_schema(m, scalar(r));
	}
}

/* "15" -> 15; 0 for anything but a plain number of a plausible major. */
static int major_of(const char *s)
{
	int v = 0;

	if (!*s || strlen(s) > 3)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v >= 10 ? v : 0;
}

static struct gm_error *read_document(struct reader *r, struct gm_model *m)
{
	struct gm_error *err;

	if ((err = expect(r, YAML_STREAM_START_EVENT, "a YAML stream")) ||
	    (err = expect(r, YAML_DOCUMENT_START_EVENT, "a snapshot document")) ||
	    (err = expect(r, YAML_MAPPING_START_EVENT, "a mapping with format, schemas and objects")))
		return err;
	for (;;) {
		if ((err = next(r)))
			return err;
		if (r->ev.type == YAML_MAPPING_END_EVENT)
			return NULL;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return at_mark(r, r->ev.start_mark, "expected a key");
		if (strcmp(scalar(r), "format") == 0) {
			if ((err = expect(r, YAML_SCALAR_EVENT, "a format number")))
				return err;
			if (strcmp(scalar(r), "1") != 0 && strcmp(scalar(r), "2") != 0)
				return at_mark(r, r->ev.start_mark, "unsupported snapshot format %s", scalar(r));
		} else if (strcmp(scalar(r), "postgresql") == 0) {
			if ((err = expect(r, YAML_SCALAR_EVENT, "a PostgreSQL major version")))
				return err;
			if ((m->server_major = major_of(scalar(r))) == 0)
				return at_mark(r, r->ev.start_mark, "'%s' is not a PostgreSQL major version (such as 15)",
					       scalar(r));
		} else if (strcmp(scalar(r), "schemas") == 0) {
			if ((err = read_schemas(r, m)))
				return err;
		} else if (strcmp(scalar(r), "objects") == 0) {
			if ((err = read_objects(r, m)))
				return err;
		} else {
			return at_mark(r, r->ev.start_mark, "unknown key '%s' (expected format, postgresql, schemas, objects)", scalar(r));
		}
	}
}

struct gm_error *gm_model_from_yaml(const char *path, const char *text, size_t len,
				    struct gm_model *out)
{
	struct reader r;
	struct gm_error *err;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.path = path;
	if (!yaml_parser_initialize(&r.parser))
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	err = read_document(&r, out);
	if (r.have_ev)
		yaml_event_delete(&r.ev);
	yaml_parser_delete(&r.parser);
	if (err) {
		gm_model_release(out);
		return err;
	}
	if (out->nschemas == 0) {
		gm_model_release(out);
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "the snapshot names no schemas");
	}
	gm_model_sort(out);
	return NULL;
}

struct gm_error *gm_model_load_file(const char *path, struct gm_model *out)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	struct gm_error *err;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	memset(out, 0, sizeof(*out));
	if (!f) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open the schema snapshot: %s", strerror(errno));
		gm_error_advise(err, "write it with garage-migrate dump --output %s, or pass --snapshot FILE", path);
		return err;
	}
	/* A snapshot is a file of bounded size: not a folder, not an endless
	 * device. */
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len <= GM_SNAPSHOT_MAX_BYTES)
		gm_strbuf_add(&sb, buf, n);
	if (ferror(f) || sb.len > GM_SNAPSHOT_MAX_BYTES) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot read the schema snapshot: %s",
				  ferror(f) ? strerror(errno) : "larger than 64 MiB");
		fclose(f);
		gm_strbuf_release(&sb);
		return err;
	}
	fclose(f);
	err = gm_model_from_yaml(path, sb.buf, sb.len, out);
	gm_strbuf_release(&sb);
	return err;
}

/* ---- diff ---- */

static void diff_push(struct gm_diffs *d, size_t *cap, enum gm_diff_kind kind, const struct gm_fact *f,
		      const char *expected, const char *found)
{
	struct gm_diff *x;

	if (d->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		d->v = gm_xrealloc(d->v, *cap * sizeof(*d->v));
	}
	x = &d->v[d->n++];
	x->kind = kind;
	x->object = f->object;
	x->attr = kind == GM_DIFF_CHANGED ? f->attr : NULL;
	x->expected = expected;
	x->found = found;
}

/* Index just past the facts of the object starting at i. */
static size_t object_end(const struct gm_model *m, size_t i)
{
	size_t j = i + 1;

	while (j < m->n && strcmp(m->v[j].object, m->v[i].object) == 0)
		j++;
	return j;
}

/* Both models hold object o at [i, ie) and [j, je): compare attributes. */
static void diff_attrs(const struct gm_model *e, size_t i, size_t ie, const struct gm_model *f,
		       size_t j, size_t je, struct gm_diffs *d, size_t *cap)
{
	while (i < ie || j < je) {
		int c = i >= ie ? 1 : j >= je ? -1 : strcmp(e->v[i].attr, f->v[j].attr);
		if (c < 0) {
			diff_push(d, cap, GM_DIFF_CHANGED, &e->v[i], e->v[i].value, NULL);
			i++;
		} else if (c > 0) {
			diff_push(d, cap, GM_DIFF_CHANGED, &f->v[j], NULL, f->v[j].value);
			j++;
		} else {
			/* SQL the server printed is compared in a form that does not
			 * depend on the major that printed it (gm_sqlform.h). */
			if (!gm_sql_same(e->v[i].value, f->v[j].value, gm_sql_kind_of(e->v[i].object, e->v[i].attr)))
				diff_push(d, cap, GM_DIFF_CHANGED, &e->v[i], e->v[i].value, f->v[j].value);
			i++;
			j++;
		}
	}
}

void gm_model_diff(const struct gm_model *e, const struct gm_model *f, struct gm_diffs *out)
{
	size_t i = 0, j = 0, cap = 0;

	memset(out, 0, sizeof(*out));
	while (i < e->n || j < f->n) {
		int c = i >= e->n ? 1 : j >= f->n ? -1 : strcmp(e->v[i].object, f->v[j].object);
		size_t ie = i < e->n ? object_end(e, i) : i, je = j < f->n ? object_end(f, j) : j;

		if (c < 0) {
			diff_push(out, &cap, GM_DIFF_MISSING, &e->v[i], NULL, NULL);
			i = ie;
		} else if (c > 0) {
			diff_push(out, &cap, GM_DIFF_EXTRA, &f->v[j], NULL, NULL);
			j = je;
		} else {
			diff_attrs(e, i, ie, f, j, je, out, &cap);
			i = ie;
			j = je;
		}
	}
}

void gm_diffs_release(struct gm_diffs *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static const char *shown(const char *v)
{
	return !v ? "(no such attribute)" : *v ? v : "(none)";
}

char *gm_diff_describe(const struct gm_diff *d)
{
	switch (d->kind) {
	case GM_DIFF_MISSING:
		return gm_xasprintf("%s: missing (in the snapshot, not in the database)", d->object);
	case GM_DIFF_EXTRA:
		return gm_xasprintf("%s: unexpected (in the database, not in the snapshot)", d->object);
	case GM_DIFF_CHANGED:
	default:
		return gm_xasprintf("%s: %s differs: expected %s, found %s", d->object, d->attr,
				    shown(d->expected), shown(d->found));
	}
}
