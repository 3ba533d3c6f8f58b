/* strbuf.c - growable strings and allocation helpers. */
#include "gm_strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char gm_strbuf_empty[1];

static void die_oom(size_t n)
{
	/* The only place the library ever exits: there is no error value to
	 * build without memory. */
	fprintf(stderr, "garage-migrate: out of memory (%zu bytes)\n", n);
	abort();
}

void *gm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

void *gm_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(n * size);
	return p;
}

void *gm_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom(n);
	return q;
}

char *gm_xstrndup(const char *s, size_t n)
{
	char *p = gm_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *gm_xstrdup(const char *s)
{
	return gm_xstrndup(s, strlen(s));
}

char *gm_xasprintf(const char *fmt, ...)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return gm_strbuf_detach(&sb, NULL);
}

void gm_strbuf_grow(struct gm_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	/* Doubling keeps appends amortised O(1): hashing and reading stay
	 * linear in the size of the input. */
	size_t alloc = sb->alloc ? sb->alloc : 64;
	while (alloc < need)
		alloc *= 2;
	if (sb->alloc == 0) {
		sb->buf = gm_xmalloc(alloc);
		sb->buf[0] = '\0';
	} else {
		sb->buf = gm_xrealloc(sb->buf, alloc);
	}
	sb->alloc = alloc;
}

void gm_strbuf_reserve(struct gm_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	if (sb->alloc == 0) {
		sb->buf = gm_xmalloc(need);
		sb->buf[0] = '\0';
	} else {
		sb->buf = gm_xrealloc(sb->buf, need);
	}
	sb->alloc = need;
}

void gm_strbuf_add(struct gm_strbuf *sb, const void *data, size_t len)
{
	gm_strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void gm_strbuf_adds(struct gm_strbuf *sb, const char *s)
{
	gm_strbuf_add(sb, s, strlen(s));
}

void gm_strbuf_addch(struct gm_strbuf *sb, char c)
{
	gm_strbuf_add(sb, &c, 1);
}

void gm_strbuf_vaddf(struct gm_strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	gm_strbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void gm_strbuf_addf(struct gm_strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void gm_strbuf_reset(struct gm_strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

void gm_strbuf_release(struct gm_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sb->buf = gm_strbuf_empty;
	sb->len = sb->alloc = 0;
}

char *gm_strbuf_detach(struct gm_strbuf *sb, size_t *len)
{
	char *s;

	if (len)
		*len = sb->len;
	s = sb->alloc ? sb->buf : gm_xstrdup("");
	sb->buf = gm_strbuf_empty;
	sb->len = sb->alloc = 0;
	return s;
}
