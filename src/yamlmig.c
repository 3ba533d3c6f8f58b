/* yamlmig.c - YAML migrations: declarative enums and Row-Level Security.
 *
 *   description: RLS for the orders
 *   transaction: true
 *   enums:
 *     Level: [LOW, HIGH]
 *   rls:
 *     public.orders:
 *       enable: true
 *       force: true
 *       policies:
 *         orders_select:
 *           command: SELECT
 *           as: permissive
 *           roles: [app_user]
 *           using: organization_id = (SELECT app_current_org_id())
 *   up: |
 *     -- raw SQL, after the declarative parts
 *   down: |
 *     -- raw SQL, before the generated down
 *
 * The file is read with libyaml's document loader, so every node keeps its
 * line and column: every error points into the file, and every generated
 * statement remembers the node it came from (gm_srcseg), so a server error
 * in generated SQL points at that node too.  Identifiers are quoted here,
 * without a connection (the file is checked before anything connects);
 * expressions are SQL and pass through as written, in parentheses.
 *
 * Aliases repeat what they name, so before loading, the event stream is
 * measured against gm_yamllimits.h (depth, nodes and text once aliases are
 * expanded, anchors): a small file cannot make the walk below build
 * gigabytes of SQL. */
#include "gm_checksum.h"
#include "gm_error.h"
#include "gm_migration.h"
#include "gm_strbuf.h"
#include "gm_text.h"
#include "gm_yamllimits.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* PostgreSQL truncates longer names (NAMEDATALEN - 1). */
#define MAX_IDENT_BYTES 63

/* A generated statement of the down, emitted in reverse at the end. */
struct down_item {
	char *sql;
	yaml_mark_t mark;
};

struct gen {
	struct gm_migration *m;
	yaml_document_t doc;
	struct gm_strbuf up, down;
	struct gm_srcseg *useg, *dseg;
	size_t nuseg, ndseg, capuseg, capdseg;
	struct down_item *items;
	size_t nitems, capitems;
	yaml_node_t *raw_up, *raw_down;
	size_t *bol;		/* byte offset of each line, built on first use */
	size_t nlines;
};

/* ---- errors ---- */

static struct gm_error *at(const struct gen *g, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct gm_error *at(const struct gen *g, yaml_mark_t mark, const char *fmt, ...)
{
	struct gm_error *err;
	size_t bol = 0, k;
	va_list ap;

	va_start(ap, fmt);
	err = gm_error_vat(GM_ERR_INPUT, g->m->path, (unsigned)mark.line + 1, (unsigned)mark.column + 1, fmt, ap);
	va_end(ap);
	for (k = 0; k < mark.line && bol < g->m->text_len; bol++)
		if (g->m->text[bol] == '\n')
			k++;
	err->src_line = gm_text_line_at(g->m->text, g->m->text_len, bol);
	return err;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a single value";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static struct gm_error *expect_type(const struct gen *g, const yaml_node_t *n, yaml_node_type_t type,
				    const char *what)
{
	static const char *const names[] = { "", "a single value", "a list", "a mapping" };

	if (n->type == type)
		return NULL;
	return at(g, n->start_mark, "%s must be %s, not %s", what, names[type], kind_name(n));
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* ---- duplicates ---- */

struct strpos {
	const char *s;
	size_t pos;
};

static int by_text_then_pos(const void *a, const void *b)
{
	const struct strpos *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	return c ? c : x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The position of the first string equal to an earlier one, or n.  Sorting
 * keeps it O(n log n): comparing each with all before it made a list of
 * 49,000 labels take 13 s. */
static size_t first_duplicate(const char *const *v, size_t n)
{
	struct strpos *sorted;
	size_t k, first = n;

	if (n < 2)
		return n;
	sorted = gm_xmalloc(n * sizeof(*sorted));
	for (k = 0; k < n; k++) {
		sorted[k].s = v[k];
		sorted[k].pos = k;
	}
	qsort(sorted, n, sizeof(*sorted), by_text_then_pos);
	/* Equal strings are neighbours, each after an earlier one. */
	for (k = 1; k < n; k++)
		if (sorted[k].pos < first && !strcmp(sorted[k].s, sorted[k - 1].s))
			first = sorted[k].pos;
	free(sorted);
	return first;
}

/* ---- walking mappings ---- */

/* Where the first key that is not a single value is (or n), and the first
 * repeated key before it (or n). */
static void scan_keys(const struct gen *g, yaml_node_t *map, size_t *not_scalar, size_t *dup)
{
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start), k;
	const char **keys = gm_xmalloc((n ? n : 1) * sizeof(*keys));

	for (k = 0; k < n; k++) {
		yaml_node_t *key = yaml_document_get_node((yaml_document_t *)&g->doc,
							  map->data.mapping.pairs.start[k].key);
		if (key->type != YAML_SCALAR_NODE)
			break;
		keys[k] = scalar(key);
	}
	*not_scalar = k;
	*dup = first_duplicate(keys, k);
	if (*dup == k)
		*dup = n;
	free(keys);
}

/* Keys must be single values and appear once (libyaml keeps duplicates).
 * Errors come in the order of the keys, the first problem first. */
static struct gm_error *check_keys(const struct gen *g, yaml_node_t *map, const char *const *allowed,
				   const char *where)
{
	yaml_node_pair_t *p;
	size_t not_scalar, dup;

	scan_keys(g, map, &not_scalar, &dup);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		size_t pos = (size_t)(p - map->data.mapping.pairs.start);
		yaml_node_t *k = yaml_document_get_node((yaml_document_t *)&g->doc, p->key);
		struct gm_error *err;
		if (pos == not_scalar)
			return expect_type(g, k, YAML_SCALAR_NODE, "a key");
		if (pos == dup)
			return at(g, k->start_mark, "duplicate key '%s'", scalar(k));
		if (allowed) {
			const char *const *a;
			for (a = allowed; *a && strcmp(*a, scalar(k)); a++)
				;
			if (!*a) {
				struct gm_strbuf list = GM_STRBUF_INIT;
				for (a = allowed; *a; a++)
					gm_strbuf_addf(&list, "%s%s", a == allowed ? "" : ", ", *a);
				err = at(g, k->start_mark, "unknown key '%s' in %s (expected %s)", scalar(k), where, list.buf);
				gm_strbuf_release(&list);
				return err;
			}
		}
	}
	return NULL;
}

static yaml_node_t *get(struct gen *g, yaml_node_t *map, const char *key, yaml_node_t **keynode)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&g->doc, p->key);
		if (!strcmp(scalar(k), key)) {
			if (keynode)
				*keynode = k;
			return yaml_document_get_node(&g->doc, p->value);
		}
	}
	return NULL;
}

/* true / false only: YAML 1.1's yes, no, on, off surprise people. */
static struct gm_error *get_bool(struct gen *g, yaml_node_t *n, const char *what, int *out)
{
	struct gm_error *err = expect_type(g, n, YAML_SCALAR_NODE, what);

	if (err)
		return err;
	if (!strcmp(scalar(n), "true"))
		*out = 1;
	else if (!strcmp(scalar(n), "false"))
		*out = 0;
	else
		return at(g, n->start_mark, "%s must be true or false, not '%s'", what, scalar(n));
	return NULL;
}

/* ---- SQL text ---- */

static struct gm_error *check_ident(struct gen *g, const yaml_node_t *n, size_t len)
{
	if (len == 0)
		return at(g, n->start_mark, "empty name");
	if (len > MAX_IDENT_BYTES)
		return at(g, n->start_mark, "name longer than %d bytes (PostgreSQL would truncate it)", MAX_IDENT_BYTES);
	return NULL;
}

static void quote_ident(struct gm_strbuf *sb, const char *s, size_t len)
{
	gm_strbuf_addch(sb, '"');
	for (size_t k = 0; k < len; k++) {
		if (s[k] == '"')
			gm_strbuf_addch(sb, '"');
		gm_strbuf_addch(sb, s[k]);
	}
	gm_strbuf_addch(sb, '"');
}

/* "name" or "schema"."name" from "name" / "schema.name". */
static struct gm_error *qualified(struct gen *g, const yaml_node_t *n, struct gm_strbuf *sb)
{
	const char *s = scalar(n), *dot = strchr(s, '.');
	struct gm_error *err;

	if (dot) {
		if ((err = check_ident(g, n, (size_t)(dot - s))) || (err = check_ident(g, n, strlen(dot + 1))))
			return err;
		quote_ident(sb, s, (size_t)(dot - s));
		gm_strbuf_addch(sb, '.');
		quote_ident(sb, dot + 1, strlen(dot + 1));
		return NULL;
	}
	if ((err = check_ident(g, n, strlen(s))))
		return err;
	quote_ident(sb, s, strlen(s));
	return NULL;
}

/* A string literal that means the same whatever the server's
 * standard_conforming_strings.  With it off, a backslash in '...' is an
 * escape, and the label \'); DROP TABLE victim; -- ended its literal early
 * and ran the rest.  Text without a backslash keeps the plain '...' form
 * (and existing migrations their checksums); text with one is
 * dollar-quoted, where nothing is an escape.  Not E'...' with doubled
 * backslashes: read in a client encoding whose two-byte characters can end
 * in 0x5c (SJIS, BIG5, GBK), half of a doubled backslash can be taken into
 * the character before it, and the quote after it ends the literal; no
 * such character ends in '$'.  The text is at most 63 bytes (an enum
 * label), so a delimiter it lacks is found at once: $gm$, $gm_$, ... */
static void quote_literal(struct gm_strbuf *sb, const char *s)
{
	struct gm_strbuf tag = GM_STRBUF_INIT;

	if (!strchr(s, '\\')) {
		gm_strbuf_addch(sb, '\'');
		for (; *s; s++) {
			if (*s == '\'')
				gm_strbuf_addch(sb, '\'');
			gm_strbuf_addch(sb, *s);
		}
		gm_strbuf_addch(sb, '\'');
		return;
	}
	/* "$tag" absent (without its closing '$') means "$tag$" cannot be
	 * found in the text, nor across its end. */
	gm_strbuf_adds(&tag, "$gm");
	while (strstr(s, tag.buf))
		gm_strbuf_addch(&tag, '_');
	gm_strbuf_addch(&tag, '$');
	gm_strbuf_addf(sb, "%s%s%s", tag.buf, s, tag.buf);
	gm_strbuf_release(&tag);
}

/* Room for one more element; doubling, so aliases that repeat a table's
 * statements thousands of times cost amortised constant time each. */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return gm_xrealloc(v, *cap * size);
}

static void seg_push(struct gm_srcseg **v, size_t *n, size_t *cap, size_t off, size_t len, unsigned line,
		     unsigned col, enum gm_seg_mode mode)
{
	*v = grow(*v, *n, cap, sizeof(**v));
	(*v)[*n].off = off;
	(*v)[*n].len = len;
	(*v)[*n].line = line;
	(*v)[*n].col = col;
	(*v)[*n].mode = mode;
	(*n)++;
}

/* Byte offset where 0-based line starts (the end of the text past the
 * last line).  The table is built once: a literal block repeated by aliases
 * asks for its line every time, and scanning the file each time made a
 * 2 MB file with 15,000 aliases take 38 s. */
static size_t line_offset(struct gen *g, size_t line)
{
	if (!g->bol) {
		size_t cap = 0;
		g->bol = grow(NULL, 0, &cap, sizeof(*g->bol));
		g->bol[g->nlines++] = 0;
		for (size_t i = 0; i < g->m->text_len; i++)
			if (g->m->text[i] == '\n') {
				g->bol = grow(g->bol, g->nlines, &cap, sizeof(*g->bol));
				g->bol[g->nlines++] = i + 1;
			}
	}
	return line < g->nlines ? g->bol[line] : g->m->text_len;
}

/* Leading spaces of 0-based line in the file. */
static unsigned indent_of(struct gen *g, size_t line)
{
	size_t i = line_offset(g, line);
	unsigned n = 0;

	while (i < g->m->text_len && g->m->text[i] == ' ') {
		n++;
		i++;
	}
	return n;
}

/* Appends a value node's text to a script, mapped back to it as precisely
 * as its style allows; trim drops trailing white space (a block's last
 * newline inside an expression's parentheses). */
static void add_mapped(struct gen *g, struct gm_strbuf *sb, struct gm_srcseg **segs, size_t *nsegs,
		       size_t *cap, const yaml_node_t *n, int trim)
{
	size_t off = sb->len, len = n->data.scalar.length;

	while (trim && len > 0 && strchr(" \t\n", scalar(n)[len - 1]))
		len--;
	unsigned line = (unsigned)n->start_mark.line + 1, col = (unsigned)n->start_mark.column + 1;
	enum gm_seg_mode mode = GM_SEG_POINT;

	gm_strbuf_add(sb, scalar(n), len);
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n->start_mark.line == n->end_mark.line) {
		mode = GM_SEG_LINE;
	} else if (n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE) {
		/* The block's text starts on the line after its '|'. */
		mode = GM_SEG_BLOCK;
		line = (unsigned)n->start_mark.line + 2;
		col = indent_of(g, n->start_mark.line + 1) + 1;
	}
	seg_push(segs, nsegs, cap, off, len, line, col, mode);
}

/* A whole generated statement maps to the node that asked for it.  Its
 * segment is pushed before the statement's text, so segments pushed while
 * writing it (its expressions) are found first: lookup is innermost-last. */
static size_t stmt_begin(struct gen *g, yaml_mark_t mark)
{
	seg_push(&g->useg, &g->nuseg, &g->capuseg, g->up.len, 0, (unsigned)mark.line + 1,
		 (unsigned)mark.column + 1, GM_SEG_POINT);
	return g->nuseg - 1;
}

static void stmt_end(struct gen *g, size_t seg)
{
	g->useg[seg].len = g->up.len - g->useg[seg].off;
}

static void down_item(struct gen *g, struct gm_strbuf *sql, yaml_mark_t mark)
{
	g->items = grow(g->items, g->nitems, &g->capitems, sizeof(*g->items));
	g->items[g->nitems].sql = gm_strbuf_detach(sql, NULL);
	g->items[g->nitems].mark = mark;
	g->nitems++;
}

/* ---- enums ---- */

/* Labels are non-empty single values of at most 63 bytes (the server's
 * limit, checked here so the error points into the file), each once.
 * Errors come in the order of the labels. */
static struct gm_error *check_labels(struct gen *g, yaml_node_t *key, yaml_node_t *labels)
{
	size_t n = (size_t)(labels->data.sequence.items.top - labels->data.sequence.items.start), k, dup;
	const char **text = gm_xmalloc((n ? n : 1) * sizeof(*text));
	yaml_node_t *l = NULL;
	struct gm_error *err = NULL;

	for (k = 0; k < n; k++) {
		l = yaml_document_get_node(&g->doc, labels->data.sequence.items.start[k]);
		if (l->type != YAML_SCALAR_NODE || !*scalar(l) || l->data.scalar.length > MAX_IDENT_BYTES)
			break;
		text[k] = scalar(l);
	}
	/* A repeat before the first bad label is the first problem. */
	if ((dup = first_duplicate(text, k)) < k) {
		yaml_node_t *d = yaml_document_get_node(&g->doc, labels->data.sequence.items.start[dup]);
		err = at(g, d->start_mark, "duplicate label '%s' in enum '%s'", scalar(d), scalar(key));
	} else if (k < n && !(err = expect_type(g, l, YAML_SCALAR_NODE, "an enum label"))) {
		err = !*scalar(l) ? at(g, l->start_mark, "empty enum label")
				  : at(g, l->start_mark, "enum label longer than %d bytes (PostgreSQL's limit)",
				       MAX_IDENT_BYTES);
	}
	free(text);
	return err;
}

static struct gm_error *gen_enum(struct gen *g, yaml_node_t *key, yaml_node_t *labels)
{
	struct gm_strbuf name = GM_STRBUF_INIT, drop = GM_STRBUF_INIT;
	struct gm_error *err;
	size_t seg;
	yaml_node_item_t *it;

	if ((err = expect_type(g, labels, YAML_SEQUENCE_NODE, "an enum's labels")) ||
	    (err = qualified(g, key, &name)))
		goto done;
	if (labels->data.sequence.items.start == labels->data.sequence.items.top) {
		err = at(g, labels->start_mark, "enum '%s' has no labels", scalar(key));
		goto done;
	}
	if ((err = check_labels(g, key, labels)))
		goto done;
	seg = stmt_begin(g, key->start_mark);
	/* name was quoted as an identifier by qualified(); labels go
	 * through quote_literal. */
	gm_strbuf_addf(&g->up, "CREATE TYPE %s AS ENUM (", name.buf);
	for (it = labels->data.sequence.items.start; it < labels->data.sequence.items.top; it++) {
		yaml_node_t *l = yaml_document_get_node(&g->doc, *it);
		if (it > labels->data.sequence.items.start)
			gm_strbuf_adds(&g->up, ", ");
		quote_literal(&g->up, scalar(l));
	}
	gm_strbuf_adds(&g->up, ");\n");
	stmt_end(g, seg);
	gm_strbuf_addf(&drop, "DROP TYPE %s;\n", name.buf);
	down_item(g, &drop, key->start_mark);
done:
	gm_strbuf_release(&name);
	gm_strbuf_release(&drop);
	return err;
}

/* ---- RLS ---- */

/* An expression goes into "USING (...)" as written; a ';' outside quotes
 * would end the statement around it, so it is refused here. */
static struct gm_error *check_expression(struct gen *g, const yaml_node_t *n, const char *what)
{
	struct gm_sql_stmts st;
	const char *problem = NULL;
	size_t off = 0;
	struct gm_error *err = expect_type(g, n, YAML_SCALAR_NODE, what);

	if (err)
		return err;
	if (gm_sql_split(scalar(n), n->data.scalar.length, &st, &problem, &off) != 0)
		err = at(g, n->start_mark, "%s: %s", what, problem);
	else if (st.n == 0)
		err = at(g, n->start_mark, "%s is empty", what);
	else if (st.n > 1 || scalar(n)[st.v[0].end - 1] == ';')
		err = at(g, n->start_mark, "%s must be one SQL expression (it contains ';')", what);
	gm_sql_stmts_free(&st);
	return err;
}

static struct gm_error *gen_roles(struct gen *g, yaml_node_t *roles, struct gm_strbuf *sb)
{
	yaml_node_item_t *it;
	struct gm_error *err;

	if (roles->type == YAML_SCALAR_NODE) {
		/* roles: app_user is a list of one. */
		static const char *const kw[] = { "public", "current_user", "session_user", "current_role" };
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(scalar(roles), kw[k])) {
				gm_strbuf_addf(sb, " TO %s", kw[k]);
				return NULL;
			}
		if ((err = check_ident(g, roles, strlen(scalar(roles)))))
			return err;
		gm_strbuf_adds(sb, " TO ");
		quote_ident(sb, scalar(roles), strlen(scalar(roles)));
		return NULL;
	}
	if ((err = expect_type(g, roles, YAML_SEQUENCE_NODE, "roles")))
		return err;
	if (roles->data.sequence.items.start == roles->data.sequence.items.top)
		return at(g, roles->start_mark, "roles is empty (leave it out for every role)");
	gm_strbuf_adds(sb, " TO ");
	for (it = roles->data.sequence.items.start; it < roles->data.sequence.items.top; it++) {
		yaml_node_t *r = yaml_document_get_node(&g->doc, *it);
		if ((err = expect_type(g, r, YAML_SCALAR_NODE, "a role")))
			return err;
		if (it > roles->data.sequence.items.start)
			gm_strbuf_adds(sb, ", ");
		if (!strcmp(scalar(r), "public") || !strcmp(scalar(r), "current_user") ||
		    !strcmp(scalar(r), "session_user") || !strcmp(scalar(r), "current_role")) {
			gm_strbuf_adds(sb, scalar(r));
			continue;
		}
		if ((err = check_ident(g, r, strlen(scalar(r)))))
			return err;
		quote_ident(sb, scalar(r), strlen(scalar(r)));
	}
	return NULL;
}

static struct gm_error *gen_policy(struct gen *g, const char *table, yaml_node_t *key, yaml_node_t *pol)
{
	static const char *const keys[] = { "command", "as", "roles", "using", "with_check", NULL };
	static const char *const cmds[] = { "SELECT", "INSERT", "UPDATE", "DELETE", "ALL" };
	struct gm_strbuf name = GM_STRBUF_INIT, drop = GM_STRBUF_INIT;
	yaml_node_t *cmd, *as, *roles, *using, *check;
	struct gm_error *err;
	const char *command = NULL;
	size_t seg, k;

	if ((err = expect_type(g, pol, YAML_MAPPING_NODE, "a policy")) ||
	    (err = check_keys(g, pol, keys, "a policy")) ||
	    (err = check_ident(g, key, strlen(scalar(key)))))
		goto done;
	quote_ident(&name, scalar(key), strlen(scalar(key)));
	cmd = get(g, pol, "command", NULL);
	as = get(g, pol, "as", NULL);
	roles = get(g, pol, "roles", NULL);
	using = get(g, pol, "using", NULL);
	check = get(g, pol, "with_check", NULL);
	if (!cmd) {
		err = at(g, key->start_mark, "policy '%s' needs a command (SELECT, INSERT, UPDATE, DELETE or ALL)", scalar(key));
		goto done;
	}
	if ((err = expect_type(g, cmd, YAML_SCALAR_NODE, "command")))
		goto done;
	for (k = 0; k < 5; k++)
		if (!strcasecmp(scalar(cmd), cmds[k]))
			command = cmds[k];
	if (!command) {
		err = at(g, cmd->start_mark, "unknown policy command '%s' (expected SELECT, INSERT, UPDATE, DELETE or ALL)", scalar(cmd));
		goto done;
	}
	if (as && ((err = expect_type(g, as, YAML_SCALAR_NODE, "as")) ||
		   (strcmp(scalar(as), "permissive") && strcmp(scalar(as), "restrictive") &&
		    (err = at(g, as->start_mark, "as must be permissive or restrictive, not '%s'", scalar(as))))))
		goto done;
	if (!using && !check) {
		err = at(g, key->start_mark, "policy '%s' needs using or with_check", scalar(key));
		goto done;
	}
	if (using && !strcmp(command, "INSERT")) {
		err = at(g, using->start_mark, "an INSERT policy takes with_check, not using");
		goto done;
	}
	if (check && (!strcmp(command, "SELECT") || !strcmp(command, "DELETE"))) {
		err = at(g, check->start_mark, "a %s policy takes using, not with_check", command);
		goto done;
	}
	if ((using && (err = check_expression(g, using, "using"))) ||
	    (check && (err = check_expression(g, check, "with_check"))))
		goto done;

	seg = stmt_begin(g, key->start_mark);
	/* Both names quoted as identifiers (quote_ident, qualified). */
	gm_strbuf_addf(&g->up, "CREATE POLICY %s ON %s", name.buf, table);
	if (as && !strcmp(scalar(as), "restrictive"))
		gm_strbuf_adds(&g->up, " AS RESTRICTIVE");
	gm_strbuf_addf(&g->up, " FOR %s", command);
	if (roles && (err = gen_roles(g, roles, &g->up)))
		goto done;
	if (using) {
		gm_strbuf_adds(&g->up, "\n  USING (");
		add_mapped(g, &g->up, &g->useg, &g->nuseg, &g->capuseg, using, 1);
		gm_strbuf_adds(&g->up, ")");
	}
	if (check) {
		gm_strbuf_adds(&g->up, "\n  WITH CHECK (");
		add_mapped(g, &g->up, &g->useg, &g->nuseg, &g->capuseg, check, 1);
		gm_strbuf_adds(&g->up, ")");
	}
	gm_strbuf_adds(&g->up, ";\n");
	stmt_end(g, seg);
	gm_strbuf_addf(&drop, "DROP POLICY %s ON %s;\n", name.buf, table);
	down_item(g, &drop, key->start_mark);
done:
	gm_strbuf_release(&name);
	gm_strbuf_release(&drop);
	return err;
}

static struct gm_error *gen_table(struct gen *g, yaml_node_t *key, yaml_node_t *spec)
{
	static const char *const keys[] = { "enable", "force", "policies", NULL };
	struct gm_strbuf table = GM_STRBUF_INIT, sql = GM_STRBUF_INIT;
	yaml_node_t *enable, *force, *policies, *ekey = NULL, *fkey = NULL;
	struct gm_error *err;
	int on = 0;

	if ((err = expect_type(g, spec, YAML_MAPPING_NODE, "a table's RLS")) ||
	    (err = check_keys(g, spec, keys, "a table's RLS")) || (err = qualified(g, key, &table)))
		goto done;
	enable = get(g, spec, "enable", &ekey);
	force = get(g, spec, "force", &fkey);
	policies = get(g, spec, "policies", NULL);
	if (enable && (err = get_bool(g, enable, "enable", &on)))
		goto done;
	/* table was quoted as an identifier by qualified(). */
	if (on) {
		size_t seg = stmt_begin(g, ekey->start_mark);
		gm_strbuf_addf(&g->up, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", table.buf);
		stmt_end(g, seg);
		gm_strbuf_addf(&sql, "ALTER TABLE %s DISABLE ROW LEVEL SECURITY;\n", table.buf);
		down_item(g, &sql, ekey->start_mark);
	}
	if (force && (err = get_bool(g, force, "force", &on)))
		goto done;
	if (force && on) {
		size_t seg = stmt_begin(g, fkey->start_mark);
		gm_strbuf_addf(&g->up, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", table.buf);
		stmt_end(g, seg);
		gm_strbuf_addf(&sql, "ALTER TABLE %s NO FORCE ROW LEVEL SECURITY;\n", table.buf);
		down_item(g, &sql, fkey->start_mark);
	}
	if (policies) {
		yaml_node_pair_t *p;
		if ((err = expect_type(g, policies, YAML_MAPPING_NODE, "policies")) ||
		    (err = check_keys(g, policies, NULL, "policies")))
			goto done;
		for (p = policies->data.mapping.pairs.start; p < policies->data.mapping.pairs.top && !err; p++)
			err = gen_policy(g, table.buf, yaml_document_get_node(&g->doc, p->key),
					 yaml_document_get_node(&g->doc, p->value));
	}
	if (!err && !enable && !force && !policies)
		err = at(g, key->start_mark, "table '%s' declares nothing (enable, force or policies)", scalar(key));
done:
	gm_strbuf_release(&table);
	gm_strbuf_release(&sql);
	return err;
}

/* ---- the document ---- */

static struct gm_error *each_pair(struct gen *g, yaml_node_t *map, const char *what,
				  struct gm_error *(*fn)(struct gen *, yaml_node_t *, yaml_node_t *))
{
	yaml_node_pair_t *p;
	struct gm_error *err;

	if ((err = expect_type(g, map, YAML_MAPPING_NODE, what)) || (err = check_keys(g, map, NULL, what)))
		return err;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
		if ((err = fn(g, yaml_document_get_node(&g->doc, p->key), yaml_document_get_node(&g->doc, p->value))))
			return err;
	return NULL;
}

/* ---- limits (gm_yamllimits.h) ---- */

/* What a node weighs once expanded; an anchor's is known at its end. */
struct weight {
	size_t nodes, bytes;
	unsigned height;	/* levels of mappings and lists, 0 for a value */
};

struct anchor {
	char *name;
	struct weight w;
	int open;		/* still being read: an alias to it is a cycle */
};

struct frame {
	size_t nodes, bytes;	/* the totals before the collection began */
	unsigned height;	/* of its deepest child so far */
	size_t anchor;		/* index in anchors, or SIZE_MAX */
};

struct measure {
	struct gen *g;
	size_t nodes, bytes;
	struct frame stack[GM_YAML_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors;
	size_t nanchors, cap;
};

static struct gm_error *limit_error(struct gen *g, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct gm_error *limit_error(struct gen *g, yaml_mark_t mark, const char *fmt, ...)
{
	struct gm_strbuf msg = GM_STRBUF_INIT;
	struct gm_error *err;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	err = at(g, mark, "%s", msg.buf);
	gm_error_advise(err, "a YAML migration may nest %d levels, hold %d anchors, and expand to %d nodes "
			"and %s of text, an alias counting as all it repeats (see LIMITS in garage-migrate(5))",
			GM_YAML_MAX_DEPTH, GM_YAML_MAX_ANCHORS, GM_YAML_MAX_NODES, GM_YAML_MAX_TEXT_TEXT);
	gm_strbuf_release(&msg);
	return err;
}

/* Adds a node, or what an alias repeats, to the totals. */
static struct gm_error *add_weight(struct measure *ms, const struct weight *w, yaml_mark_t mark,
				   const char *alias)
{
	ms->nodes += w->nodes;
	ms->bytes += w->bytes;
	if (ms->depth > 0 && w->height > ms->stack[ms->depth - 1].height)
		ms->stack[ms->depth - 1].height = w->height;
	if (ms->depth + w->height > GM_YAML_MAX_DEPTH)
		return alias ? limit_error(ms->g, mark, "alias '*%s' nests the migration deeper than %d levels",
					   alias, GM_YAML_MAX_DEPTH)
			     : limit_error(ms->g, mark, "mappings and lists nested deeper than %d levels",
					   GM_YAML_MAX_DEPTH);
	if (ms->nodes > GM_YAML_MAX_NODES)
		return alias ? limit_error(ms->g, mark, "alias '*%s' expands the migration past %d nodes",
					   alias, GM_YAML_MAX_NODES)
			     : limit_error(ms->g, mark, "more than %d nodes in the migration", GM_YAML_MAX_NODES);
	if (ms->bytes > GM_YAML_MAX_TEXT)
		return alias ? limit_error(ms->g, mark, "alias '*%s' expands the migration past %s of text",
					   alias, GM_YAML_MAX_TEXT_TEXT)
			     : limit_error(ms->g, mark, "more than %s of text in the migration",
					   GM_YAML_MAX_TEXT_TEXT);
	return NULL;
}

/* Remembers &name; its weight is filled in when its node ends. */
static struct gm_error *add_anchor(struct measure *ms, const yaml_char_t *name, yaml_mark_t mark,
				   size_t *index)
{
	*index = SIZE_MAX;
	if (!name)
		return NULL;
	if (ms->nanchors == GM_YAML_MAX_ANCHORS)
		return limit_error(ms->g, mark, "more than %d anchors in the migration", GM_YAML_MAX_ANCHORS);
	ms->anchors = grow(ms->anchors, ms->nanchors, &ms->cap, sizeof(*ms->anchors));
	ms->anchors[ms->nanchors].name = gm_xstrdup((const char *)name);
	ms->anchors[ms->nanchors].open = 1;
	*index = ms->nanchors++;
	return NULL;
}

static struct gm_error *measure_alias(struct measure *ms, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	static const struct weight unknown = { 1, 0, 0 };

	/* The latest definition counts (YAML); an unknown name is left to
	 * the loader, which reports it. */
	for (size_t k = ms->nanchors; k-- > 0;)
		if (!strcmp(ms->anchors[k].name, name)) {
			if (ms->anchors[k].open)
				return limit_error(ms->g, ev->start_mark, "alias '*%s' refers to a node that contains it",
						   name);
			return add_weight(ms, &ms->anchors[k].w, ev->start_mark, name);
		}
	return add_weight(ms, &unknown, ev->start_mark, name);
}

static struct gm_error *measure_start(struct measure *ms, const yaml_event_t *ev, const yaml_char_t *anchor)
{
	static const struct weight one = { 1, 0, 1 };
	struct frame *f;
	struct gm_error *err;

	if ((err = add_weight(ms, &one, ev->start_mark, NULL)))
		return err;
	f = &ms->stack[ms->depth++];
	f->nodes = ms->nodes - 1;
	f->bytes = ms->bytes;
	f->height = 0;
	return add_anchor(ms, anchor, ev->start_mark, &f->anchor);
}

static void measure_end(struct measure *ms)
{
	struct frame *f = &ms->stack[--ms->depth];
	unsigned height = f->height + 1;

	if (ms->depth > 0 && height > ms->stack[ms->depth - 1].height)
		ms->stack[ms->depth - 1].height = height;
	if (f->anchor != SIZE_MAX) {
		struct anchor *a = &ms->anchors[f->anchor];
		a->w.nodes = ms->nodes - f->nodes;
		a->w.bytes = ms->bytes - f->bytes;
		a->w.height = height;
		a->open = 0;
	}
}

static struct gm_error *measure_scalar(struct measure *ms, const yaml_event_t *ev)
{
	struct weight w = { 1, ev->data.scalar.length, 0 };
	struct gm_error *err;
	size_t index;

	/* "\0" in a quoted value: SQL text cannot hold it, and a C string
	 * would end there (a name cut short, a statement cut off). */
	if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
		return at(ms->g, ev->start_mark, "NUL character in a value: SQL text cannot hold one");
	if ((err = add_weight(ms, &w, ev->start_mark, NULL)) ||
	    (err = add_anchor(ms, ev->data.scalar.anchor, ev->start_mark, &index)))
		return err;
	if (index != SIZE_MAX) {
		ms->anchors[index].w = w;
		ms->anchors[index].open = 0;
	}
	return NULL;
}

static struct gm_error *measure_event(struct measure *ms, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return measure_scalar(ms, ev);
	case YAML_ALIAS_EVENT:
		return measure_alias(ms, ev);
	case YAML_SEQUENCE_START_EVENT:
		return measure_start(ms, ev, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return measure_start(ms, ev, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		measure_end(ms);
		return NULL;
	default:
		return NULL;
	}
}

/* Measures the first document (the one the loader reads) from the event
 * stream, and stops at the first node past a limit: the loader and the
 * walk that follow then cost no more than the limits allow.  Malformed
 * YAML is not an error here: the loader stops at the same place and says
 * so in its own words. */
static struct gm_error *check_limits(struct gen *g)
{
	struct measure ms;
	yaml_parser_t parser;
	yaml_event_t ev;
	struct gm_error *err = NULL;
	int done = 0;

	memset(&ms, 0, sizeof(ms));
	ms.g = g;
	if (!yaml_parser_initialize(&parser))
		return gm_error_at(GM_ERR_INPUT, g->m->path, 0, 0, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)g->m->text, g->m->text_len);
	while (!err && !done && yaml_parser_parse(&parser, &ev)) {
		done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		err = measure_event(&ms, &ev);
		yaml_event_delete(&ev);
	}
	/* The loader reads one document: a second one (after "---") would be
	 * ignored without a word, with whatever it declares. */
	if (!err && done && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			err = at(g, ev.start_mark, "a second YAML document: a migration is one document (its declarations would be ignored)");
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	for (size_t k = 0; k < ms.nanchors; k++)
		free(ms.anchors[k].name);
	free(ms.anchors);
	return err;
}

static struct gm_error *load(struct gen *g)
{
	yaml_parser_t parser;
	struct gm_error *err = NULL;

	if ((err = check_limits(g)))
		return err;
	if (!yaml_parser_initialize(&parser))
		return gm_error_at(GM_ERR_INPUT, g->m->path, 0, 0, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)g->m->text, g->m->text_len);
	if (!yaml_parser_load(&parser, &g->doc)) {
		yaml_mark_t mark = parser.problem_mark;
		const char *problem = parser.problem ? parser.problem : "malformed YAML";
		int tab = mark.index < g->m->text_len && g->m->text[mark.index] == '\t';
		if (tab)
			err = at(g, mark, "tab character: YAML is indented with spaces");
		else if (parser.context)
			err = at(g, mark, "%s %s", problem, parser.context);
		else
			err = at(g, mark, "%s", problem);
		memset(&g->doc, 0, sizeof(g->doc));
	}
	yaml_parser_delete(&parser);
	return err;
}

static struct gm_error *generate(struct gen *g)
{
	static const char *const keys[] = { "description", "transaction", "enums", "rls", "up", "down", NULL };
	yaml_node_t *root = yaml_document_get_root_node(&g->doc), *n;
	struct gm_error *err;
	int tx = 1;

	if (!root)
		return gm_error_at(GM_ERR_INPUT, g->m->path, 0, 0, "empty YAML migration: it declares nothing");
	if ((err = expect_type(g, root, YAML_MAPPING_NODE, "a YAML migration")) ||
	    (err = check_keys(g, root, keys, "a migration")))
		return err;
	if ((n = get(g, root, "description", NULL)) && (err = expect_type(g, n, YAML_SCALAR_NODE, "description")))
		return err;
	if ((n = get(g, root, "transaction", NULL)) && (err = get_bool(g, n, "transaction", &tx)))
		return err;
	g->m->transactional = tx;
	if ((n = get(g, root, "enums", NULL)) && (err = each_pair(g, n, "enums", gen_enum)))
		return err;
	if ((n = get(g, root, "rls", NULL)) && (err = each_pair(g, n, "rls", gen_table)))
		return err;
	if ((g->raw_up = get(g, root, "up", NULL)) && (err = expect_type(g, g->raw_up, YAML_SCALAR_NODE, "up")))
		return err;
	if ((g->raw_down = get(g, root, "down", NULL)) && (err = expect_type(g, g->raw_down, YAML_SCALAR_NODE, "down")))
		return err;
	if (g->raw_up) {
		if (g->up.len)
			gm_strbuf_addch(&g->up, '\n');
		add_mapped(g, &g->up, &g->useg, &g->nuseg, &g->capuseg, g->raw_up, 0);
		gm_strbuf_addch(&g->up, '\n');
	}
	if (!g->up.len)
		return at(g, root->start_mark, "the migration declares nothing (enums, rls or up)");
	/* Raw down first (it undoes the raw up, which ran last), then the
	 * generated statements in reverse. */
	if (g->raw_down) {
		add_mapped(g, &g->down, &g->dseg, &g->ndseg, &g->capdseg, g->raw_down, 0);
		gm_strbuf_addch(&g->down, '\n');
	}
	for (size_t k = g->nitems; k-- > 0;) {
		size_t start = g->down.len;
		gm_strbuf_adds(&g->down, g->items[k].sql);
		seg_push(&g->dseg, &g->ndseg, &g->capdseg, start, g->down.len - start,
			 (unsigned)g->items[k].mark.line + 1, (unsigned)g->items[k].mark.column + 1, GM_SEG_POINT);
	}
	/* Arbitrary SQL in up can only be undone by what down says. */
	g->m->has_down = !g->raw_up || g->raw_down;
	return NULL;
}

/* Hands a generated text and its segments to a section. */
static struct gm_error *finish_section(struct gen *g, struct gm_strbuf *sb, struct gm_srcseg **segs,
				       size_t *nsegs, struct gm_section *sec, const yaml_node_t *where)
{
	const char *problem = NULL;
	size_t off = 0;

	sec->len = sb->len;
	sec->sql = gm_strbuf_detach(sb, NULL);
	sec->segs = *segs ? *segs : gm_xcalloc(1, sizeof(*sec->segs));
	sec->nsegs = *nsegs;
	*segs = NULL;
	*nsegs = 0;
	if (gm_sql_split(sec->sql, sec->len, &sec->stmts, &problem, &off) != 0)
		return where ? at(g, where->start_mark, "%s", problem)
			     : gm_error_at(GM_ERR_INPUT, g->m->path, 0, 0, "%s", problem);
	return NULL;
}

struct gm_error *gm_yaml_migration_parse(struct gm_migration *m)
{
	struct gen g;
	struct gm_error *err;

	memset(&g, 0, sizeof(g));
	g.m = m;
	g.up = (struct gm_strbuf)GM_STRBUF_INIT;
	g.down = (struct gm_strbuf)GM_STRBUF_INIT;
	if (!(err = load(&g)) && !(err = generate(&g)) &&
	    !(err = finish_section(&g, &g.up, &g.useg, &g.nuseg, &m->up, g.raw_up)) &&
	    !(err = finish_section(&g, &g.down, &g.dseg, &g.ndseg, &m->down, g.raw_down)))
		/* What is hashed is the up SQL the file declares (see
		 * garage-migrate(5)): description and down do not count. */
		err = gm_checksum(m->up.sql, m->up.len, m->checksum);
	for (size_t k = 0; k < g.nitems; k++)
		free(g.items[k].sql);
	free(g.items);
	free(g.useg);
	free(g.dseg);
	free(g.bol);
	gm_strbuf_release(&g.up);
	gm_strbuf_release(&g.down);
	yaml_document_delete(&g.doc);
	return err;
}
