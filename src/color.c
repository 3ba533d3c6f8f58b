/* color.c - colour on a terminal, for the CLI's text output only.
 *
 * The core library renders plain text; the CLI colours a few words at the
 * start (or end) of its lines when the stream is a terminal: error and
 * FAIL red, warning and SKIP yellow, ok and passed green; in a compiler's
 * "file:line:col: level:" line, the level.  --color=auto
 * (the default) also honours NO_COLOR (https://no-color.org) and
 * TERM=dumb; --color=always and never decide alone.  Text from the
 * server or the catalog was escaped before it got here (no ESC of its
 * own), so the only control codes are these. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RED "\033[31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static enum { AUTO, ALWAYS, NEVER } mode = AUTO;

int gm_cli_set_color(const char *when)
{
	if (!strcmp(when, "auto"))
		mode = AUTO;
	else if (!strcmp(when, "always"))
		mode = ALWAYS;
	else if (!strcmp(when, "never"))
		mode = NEVER;
	else
		return -1;
	return 0;
}

int gm_cli_terminal(FILE *f)
{
	/* main.c routes stdout through a cookie stream, which has no fd. */
	int fd = f == stdout ? STDOUT_FILENO : f == stderr ? STDERR_FILENO : fileno(f);
	const char *term = getenv("TERM");

	return fd >= 0 && isatty(fd) && !(term && !strcmp(term, "dumb"));
}

int gm_cli_color(FILE *f)
{
	const char *no = getenv("NO_COLOR");

	if (mode != AUTO)
		return mode == ALWAYS;
	return gm_cli_terminal(f) && !(no && *no);
}

struct mark {
	const char *prefix;	/* the line starts with it */
	size_t skip;		/* the coloured word starts this far in */
	size_t len;		/* and is this long */
	const char *color;
};

static const struct mark marks[] = {
	{ "  error ", 2, 5, RED },
	{ "  warning ", 2, 7, YELLOW },
	{ "  ok   ", 2, 2, GREEN },
	{ "  FAIL ", 2, 4, RED },
	{ "  SKIP ", 2, 4, YELLOW },
	{ "verify passed", 7, 6, GREEN },
	{ "verify FAILED", 7, 6, RED },
	{ "lint passed", 5, 6, GREEN },
	{ "lint FAILED", 5, 6, RED },
	{ "garage-migrate: warning:", 16, 7, YELLOW },
	{ "garage-migrate: ", 0, 14, BOLD },
};

/* "file:line:col: LEVEL: message" (a compiler's diagnostics: the lint's
 * and the errors at a position): the level coloured; 0 if s is not one. */
static int put_diagnostic(FILE *f, const char *s, size_t n)
{
	static const struct {
		const char *word;
		const char *color;
	} levels[] = { { ": error: ", RED BOLD }, { ": warning: ", YELLOW BOLD }, { ": note: ", BOLD } };

	for (size_t k = 0; k < sizeof(levels) / sizeof(levels[0]); k++) {
		size_t wl = strlen(levels[k].word);
		const char *at = memmem(s, n, levels[k].word, wl);
		if (at) {
			fprintf(f, "%.*s: %s%.*s" RESET ":%.*s", (int)(at - s), s, levels[k].color, (int)(wl - 4),
				at + 2, (int)(n - (size_t)(at - s) - (wl - 1)), at + wl - 1);
			return 1;
		}
	}
	return 0;
}

/* One line, without its newline. */
static void put_line(FILE *f, const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
		const struct mark *m = &marks[k];
		size_t pl = strlen(m->prefix);
		if (n >= pl && !memcmp(s, m->prefix, pl)) {
			fprintf(f, "%.*s%s%.*s" RESET "%.*s", (int)m->skip, s, m->color, (int)m->len, s + m->skip,
				(int)(n - m->skip - m->len), s + m->skip + m->len);
			return;
		}
	}
	if (put_diagnostic(f, s, n))
		return;
	/* "check: ... - ok". */
	if (n > 5 && !memcmp(s + n - 5, " - ok", 5))
		fprintf(f, "%.*s - " GREEN "ok" RESET, (int)(n - 5), s);
	else
		fwrite(s, 1, n, f);
}

void gm_cli_puts(FILE *f, const char *text)
{
	if (!gm_cli_color(f)) {
		fputs(text, f);
		return;
	}
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		put_line(f, text, n);
		if (nl)
			fputc('\n', f);
		text += n + (nl != NULL);
	}
}
