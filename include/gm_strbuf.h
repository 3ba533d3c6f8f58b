/* gm_strbuf.h - one growable string type for the whole project.
 *
 * A strbuf initialised with GM_STRBUF_INIT is never NULL: buf points at a
 * static empty string until the first append, so callers can print it
 * without checking.  Allocation failure aborts (see gm_xmalloc): a CLI tool
 * that cannot allocate a few kilobytes has nothing sensible left to do, and
 * checking every append would drown the logic. */
#ifndef GM_STRBUF_H
#define GM_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct gm_strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char gm_strbuf_empty[];
#define GM_STRBUF_INIT { gm_strbuf_empty, 0, 0 }

void gm_strbuf_grow(struct gm_strbuf *sb, size_t extra);
/* Room for extra more bytes, allocated exactly rather than doubled: for a
 * buffer whose final size is known, so a huge one is not rounded up to the
 * next power of two. */
void gm_strbuf_reserve(struct gm_strbuf *sb, size_t extra);
void gm_strbuf_add(struct gm_strbuf *sb, const void *data, size_t len);
void gm_strbuf_adds(struct gm_strbuf *sb, const char *s);
void gm_strbuf_addch(struct gm_strbuf *sb, char c);
void gm_strbuf_addf(struct gm_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gm_strbuf_vaddf(struct gm_strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void gm_strbuf_reset(struct gm_strbuf *sb);
void gm_strbuf_release(struct gm_strbuf *sb);
/* The caller owns the returned string and must free() it; sb is reset. */
char *gm_strbuf_detach(struct gm_strbuf *sb, size_t *len);

/* Allocation helpers that abort on exhaustion. */
void *gm_xmalloc(size_t n);
void *gm_xcalloc(size_t n, size_t size);
void *gm_xrealloc(void *p, size_t n);
char *gm_xstrdup(const char *s);
char *gm_xstrndup(const char *s, size_t n);
char *gm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
