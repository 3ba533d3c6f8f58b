/* gm_error.h - errors are values.
 *
 * The core library never prints and never exits: a function that can fail
 * returns a struct gm_error * (NULL on success), allocated with everything a
 * user needs to act on it.  Only the CLI layer renders it, once. */
#ifndef GM_ERROR_H
#define GM_ERROR_H

#include <stdarg.h>

/* Each kind maps to one documented exit status (see gm_error_exit_code and
 * garage-migrate(1)); keep them stable, CI scripts test for them. */
enum gm_errkind {
	GM_ERR_DRIFT = 1,	/* history and files (or schema) disagree */
	GM_ERR_USAGE = 2,	/* bad command line */
	GM_ERR_CONNECT = 3,	/* cannot connect to the database */
	GM_ERR_MIGRATION = 4,	/* a migration's SQL failed; it was rolled back */
	GM_ERR_LOCK = 5,	/* lock or statement timeout */
	GM_ERR_INPUT = 6,	/* unreadable or invalid migration files */
	GM_ERR_DB = 7,		/* any other database error (bookkeeping, privileges) */
	GM_ERR_DATA_LOSS = 8,	/* refused: a rollback would destroy data, or cannot tell */
	GM_ERR_LINT = 9,	/* up refused: an error-level lint finding, nothing sent */
};

struct gm_error {
	enum gm_errkind kind;
	char *msg;		/* one line, lower case, no full stop */
	char *file;		/* file the error points into, or NULL */
	unsigned line, col;	/* 1-based; 0 when unknown */
	char *src_line;		/* text of that line, for the caret, or NULL */
	char *sqlstate;		/* server diagnostics, or NULL */
	char *detail;
	char *hint;
	char *context;
	char *advice;		/* what the user can do next, or NULL */
};

struct gm_error *gm_error_new(enum gm_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An error located in a file; line/col may be 0 when unknown. */
struct gm_error *gm_error_at(enum gm_errkind kind, const char *file,
			     unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same with a va_list, for the readers' own "error at" helpers (a
 * libyaml mark, a statement). */
struct gm_error *gm_error_vat(enum gm_errkind kind, const char *file, unsigned line, unsigned col,
			      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* Replace the advice line (takes a format). */
void gm_error_advise(struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gm_error_free(struct gm_error *err);
int gm_error_exit_code(const struct gm_error *err);

#endif
