/* gm_findings.h - what verify's checks found.
 *
 * Every problem is a finding with a stable name, a level, the object it is
 * about, a one-line message and, for lints, a one-line remedy.  The
 * history and drift checks, the lints and the probe write findings; the
 * reports read them. */
#ifndef GM_FINDINGS_H
#define GM_FINDINGS_H

#include <stddef.h>

enum gm_level {
	GM_LEVEL_ERROR,		/* fails verify */
	GM_LEVEL_WARNING,	/* reported; fails only with --strict */
};

const char *gm_level_name(enum gm_level level);

/* The checks, in the order they run and are reported. */
enum gm_check {
	GM_CHECK_HISTORY,
	GM_CHECK_SCHEMA,
	GM_CHECK_RLS,
	GM_CHECK_ISOLATION,	/* only with --isolation */
};
#define GM_CHECK_COUNT 4
const char *gm_check_name(enum gm_check check);

struct gm_finding {
	enum gm_check check;
	char *name;		/* stable: "missing", "rls_disabled", ... */
	enum gm_level level;
	char *object;		/* "table public.orders", "0003_x.sql", ... */
	char *message;
	char *remedy;		/* NULL when there is nothing generic to say */
};

struct gm_findings {
	struct gm_finding *v;
	size_t n, cap;
};

void gm_findings_add(struct gm_findings *f, enum gm_check check, const char *name,
		     enum gm_level level, const char *object, const char *remedy,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void gm_findings_release(struct gm_findings *f);
size_t gm_findings_count(const struct gm_findings *f, int check, enum gm_level level);

#endif
