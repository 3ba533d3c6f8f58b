/* progress.c - the line of the step under way, on a terminal only.
 *
 * up and rollback draw "applying 0004_x.sql ..." when a migration starts,
 * redraw it with the elapsed seconds while it runs longer than a second,
 * and erase it just before the caller prints the step's final line in its
 * place ("applied 0004_x.sql (12.3 ms)").  The transcript a terminal ends
 * with is then the one a pipe gets; a pipe or a CI log (or TERM=dumb) sees
 * only those final lines, never a control code. */
#include "cli.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <stdlib.h>

void gm_progress_init(struct gm_progress *p, FILE *f)
{
	p->f = f;
	p->on = gm_cli_terminal(f);
	p->drawn = 0;
	p->shown_s = 0;
	p->label = NULL;
}

static void draw(struct gm_progress *p)
{
	fprintf(p->f, "\r\033[K%s ...", p->label);
	if (p->shown_s > 0)
		fprintf(p->f, " %lds", p->shown_s);
	fflush(p->f);
	p->drawn = 1;
}

void gm_progress_start(struct gm_progress *p, const char *verb, const char *name)
{
	char *safe;

	if (!p->on)
		return;
	/* A file name could carry control codes of its own. */
	safe = gm_text_escape_line(name);
	free(p->label);
	p->label = gm_xasprintf("%s %s", verb, safe);
	free(safe);
	p->shown_s = 0;
	p->t0 = gm_monotonic_ms();
	draw(p);
}

void gm_progress_tick(struct gm_progress *p)
{
	long s = p->label ? (long)((gm_monotonic_ms() - p->t0) / 1000.0) : 0;

	/* Under a second nothing changes: most migrations take milliseconds. */
	if (!p->on || !p->label || s < 1 || s == p->shown_s)
		return;
	p->shown_s = s;
	draw(p);
}

void gm_progress_clear(struct gm_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", p->f);
		fflush(p->f);
	}
	p->drawn = 0;
}

void gm_progress_release(struct gm_progress *p)
{
	gm_progress_clear(p);
	free(p->label);
	p->label = NULL;
}
