/* gm_model.h - a schema as a sorted list of facts, its YAML snapshot, and
 * the difference between two schemas.
 *
 * A fact is (object, attribute, value), e.g.
 *   ("table public.orders column status", "default", "'DRAFT'::\"OrderStatus\"").
 * Objects are named "enum S.N", "function S.N(args)", "table S.T", and
 * "table S.T column|constraint|index|policy|trigger NAME", so that sorting
 * by object groups everything of a table together.  One representation
 * serves the catalog reader, the snapshot file, the diff and the lints. */
#ifndef GM_MODEL_H
#define GM_MODEL_H

#include <stddef.h>

#include "gm_strbuf.h"

struct gm_error;

struct gm_fact {
	char *object;
	char *attr;
	char *value;		/* "" when the server has none (no default) */
};

struct gm_model {
	char **schemas;		/* the managed schemas, e.g. { "public" } */
	size_t nschemas;
	struct gm_fact *v;	/* sorted by (object, attr), byte order */
	size_t n, cap;
	/* The PostgreSQL major the facts were read from (a snapshot's
	 * "postgresql:"), 0 when unknown: a format 1 snapshot does not say. */
	int server_major;
};

/* Format 2 adds "postgresql: MAJOR"; format 1 snapshots still read. */
#define GM_SNAPSHOT_FORMAT 2
/* The largest snapshot read (the project's is 38 KB for 727 facts). */
#define GM_SNAPSHOT_MAX_BYTES (64u << 20)

void gm_model_add(struct gm_model *m, const char *object, const char *attr, const char *value);
void gm_model_add_schema(struct gm_model *m, const char *schema);
/* Sorts the facts (byte order, whatever the database's collation). */
void gm_model_sort(struct gm_model *m);
void gm_model_release(struct gm_model *m);
/* The value of (object, attr), or NULL. */
const char *gm_model_get(const struct gm_model *m, const char *object, const char *attr);
/* Whether schema is one of the managed schemas (m->schemas). */
int gm_model_has_schema(const struct gm_model *m, const char *schema);

/* Deterministic YAML: one fact per line, objects in order. */
void gm_model_to_yaml(const struct gm_model *m, struct gm_strbuf *out);
/* Reads a snapshot; errors are "<path>:<line>:<col>: ..." from libyaml's
 * marks. */
struct gm_error *gm_model_from_yaml(const char *path, const char *text, size_t len,
				    struct gm_model *out);
struct gm_error *gm_model_load_file(const char *path, struct gm_model *out);

enum gm_diff_kind {
	GM_DIFF_MISSING,	/* in expected, not found */
	GM_DIFF_EXTRA,		/* found, not expected */
	GM_DIFF_CHANGED,	/* both, attr differs */
};

struct gm_diff {
	enum gm_diff_kind kind;
	const char *object;
	const char *attr;	/* CHANGED only */
	const char *expected;	/* CHANGED only */
	const char *found;	/* CHANGED only */
};

struct gm_diffs {
	struct gm_diff *v;
	size_t n;
};

/* Differences, object by object (a missing or extra object is one entry,
 * not one per attribute).  Points into both models. */
void gm_model_diff(const struct gm_model *expected, const struct gm_model *found,
		   struct gm_diffs *out);
void gm_diffs_release(struct gm_diffs *d);
/* One line naming the object and what differs (caller frees). */
char *gm_diff_describe(const struct gm_diff *d);

#endif
