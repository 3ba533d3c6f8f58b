/* error.c - construction and destruction of error values. */
#include "gm_error.h"
#include "gm_strbuf.h"

#include <stdarg.h>
#include <stdlib.h>

static char *vformat(const char *fmt, va_list ap)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	gm_strbuf_vaddf(&sb, fmt, ap);
	return gm_strbuf_detach(&sb, NULL);
}

struct gm_error *gm_error_new(enum gm_errkind kind, const char *fmt, ...)
{
	struct gm_error *err = gm_xcalloc(1, sizeof(*err));
	va_list ap;

	err->kind = kind;
	va_start(ap, fmt);
	err->msg = vformat(fmt, ap);
	va_end(ap);
	return err;
}

struct gm_error *gm_error_vat(enum gm_errkind kind, const char *file, unsigned line, unsigned col,
			      const char *fmt, va_list ap)
{
	struct gm_error *err = gm_xcalloc(1, sizeof(*err));

	err->kind = kind;
	err->file = file ? gm_xstrdup(file) : NULL;
	err->line = line;
	err->col = col;
	err->msg = vformat(fmt, ap);
	return err;
}

struct gm_error *gm_error_at(enum gm_errkind kind, const char *file,
			     unsigned line, unsigned col, const char *fmt, ...)
{
	struct gm_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = gm_error_vat(kind, file, line, col, fmt, ap);
	va_end(ap);
	return err;
}

void gm_error_advise(struct gm_error *err, const char *fmt, ...)
{
	va_list ap;

	free(err->advice);
	va_start(ap, fmt);
	err->advice = vformat(fmt, ap);
	va_end(ap);
}

void gm_error_free(struct gm_error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err->file);
	free(err->src_line);
	free(err->sqlstate);
	free(err->detail);
	free(err->hint);
	free(err->context);
	free(err->advice);
	free(err);
}

int gm_error_exit_code(const struct gm_error *err)
{
	return err ? (int)err->kind : 0;
}
