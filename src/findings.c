/* findings.c - what verify's checks found (gm_findings.h). */
#include "gm_findings.h"
#include "gm_strbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *gm_level_name(enum gm_level level)
{
	return level == GM_LEVEL_ERROR ? "error" : "warning";
}

const char *gm_check_name(enum gm_check check)
{
	static const char *const names[] = { "history", "schema", "rls", "isolation" };
	return (unsigned)check < GM_CHECK_COUNT ? names[check] : "unknown";
}

void gm_findings_add(struct gm_findings *f, enum gm_check check, const char *name,
		     enum gm_level level, const char *object, const char *remedy,
		     const char *fmt, ...)
{
	struct gm_strbuf msg = GM_STRBUF_INIT;
	struct gm_finding *x;
	va_list ap;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = gm_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	x = &f->v[f->n++];
	x->check = check;
	x->name = gm_xstrdup(name);
	x->level = level;
	x->object = gm_xstrdup(object);
	x->message = gm_strbuf_detach(&msg, NULL);
	x->remedy = remedy ? gm_xstrdup(remedy) : NULL;
}

void gm_findings_release(struct gm_findings *f)
{
	size_t k;

	for (k = 0; k < f->n; k++) {
		free(f->v[k].name);
		free(f->v[k].object);
		free(f->v[k].message);
		free(f->v[k].remedy);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

size_t gm_findings_count(const struct gm_findings *f, int check, enum gm_level level)
{
	size_t k, n = 0;

	for (k = 0; k < f->n; k++)
		if ((check < 0 || f->v[k].check == (enum gm_check)check) && f->v[k].level == level)
			n++;
	return n;
}
