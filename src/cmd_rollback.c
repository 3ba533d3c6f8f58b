/* cmd_rollback.c - garage-migrate rollback: step back safely. */
#include "cli.h"
#include "gm_rollback.h"
#include "gm_guard.h"
#include "gm_report.h"
#include "gm_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char rollback_usage[] =
	"usage: garage-migrate rollback [--steps N | --to VERSION] [options]\n"
	"\n"
	"Roll back the last applied migration (or the last N, or everything\n"
	"applied above VERSION) in reverse apply order, all in one transaction\n"
	"with the removal of their history rows.  The plan is checked first: a\n"
	"migration without a down section, or whose file is missing or edited,\n"
	"stops the rollback before anything runs.  On a terminal, the down under\n"
	"way is shown, its seconds ticking when it takes longer than one.\n"
	"\n"
	"Guard: every down is tried inside the transaction and what it would\n"
	"destroy is counted with row security off: dropped tables and columns,\n"
	"truncated or rewritten tables, values lost to a type change or changed\n"
	"by a rewrite, deleted and updated rows.  Tables that would keep rows\n"
	"without RLS isolation (disabled, not forced, no policy; a table rebuilt\n"
	"under an isolated one's name) count too.  When anything would be lost\n"
	"without being allowed, nothing is rolled back (exit 8), and every loss\n"
	"is named with its count.  Sequences a down moves (setval), which no\n"
	"ROLLBACK undoes, are named in a warning.\n"
	"\n"
	"Options:\n"
	"      --steps N               roll back the last N applied migrations\n"
	"      --to VERSION            roll back everything applied above VERSION\n"
	"                              (VERSION stays applied; 0 rolls back all)\n"
	"      --format FORMAT         text (default) or json: one object at the end\n"
	"                              with what was (or would be) rolled back\n"
	"      --dry-run               print the plan, the SQL and what the guard\n"
	"                              finds (in a transaction always rolled back)\n"
	"      --allow-data-loss       go on even when data would be destroyed\n"
	"      --allow-isolation-loss  go on even when tables would keep rows\n"
	"                              without RLS isolation\n"
	GM_LIMITS_HELP GM_GLOBAL_HELP;

static void print_losses(const char *label, const struct gm_removals *r)
{
	char *what, *esc;

	if (!r || !r->n)
		return;
	/* Names come from the catalog: escaped, like every text from it. */
	what = gm_guard_describe(r, 1);
	esc = gm_text_escape_line(what);
	printf("%s%s", label, esc);
	free(esc);
	free(what);
}

static void on_event(void *ctx, const struct gm_rollback_event *ev)
{
	struct gm_progress *pr = ctx;

	if (ev->kind == GM_RB_TRYING) {
		gm_progress_start(pr, "rolling back", ev->m->filename);
		return;
	}
	if (ev->kind == GM_RB_RUNNING) {
		gm_progress_tick(pr);
		return;
	}
	gm_progress_clear(pr);
	switch (ev->kind) {
	case GM_RB_TRYING:
	case GM_RB_RUNNING:
		break;
	case GM_RB_PLANNED:
		printf("-- %s (would roll back, applied %s)\n%s",
		       ev->m->path, ev->a->applied_at, ev->m->down.sql);
		if (ev->m->down.len && ev->m->down.sql[ev->m->down.len - 1] != '\n')
			putchar('\n');
		print_losses("-- guard: would remove ", ev->removed);
		if (ev->removed && ev->removed->n)
			putchar('\n');
		putchar('\n');
		break;
	case GM_RB_DONE:
		printf("rolled back %s (%.1f ms)", ev->m->filename, ev->ms);
		print_losses(": dropped ", ev->removed);
		putchar('\n');
		break;
	case GM_RB_ISOLATION:
		print_losses("isolation: ", ev->removed);
		putchar('\n');
		break;
	}
	fflush(stdout);
}

/* --format json: the events, gathered for one object at the end. */
struct json_run {
	struct gm_strbuf steps;
	char *isolation;
};

/* The guard's description of r, or NULL. */
static char *described(const struct gm_removals *r)
{
	return r && r->n ? gm_guard_describe(r, 1) : NULL;
}

static void on_json_event(void *ctx, const struct gm_rollback_event *ev)
{
	struct json_run *j = ctx;
	char *what;

	if (ev->kind == GM_RB_TRYING || ev->kind == GM_RB_RUNNING)
		return;	/* progress: the text output's */
	what = described(ev->removed);
	if (ev->kind == GM_RB_ISOLATION) {
		free(j->isolation);
		j->isolation = what;
		return;
	}
	gm_report_migration_open(ev->m, &j->steps);
	gm_strbuf_addf(&j->steps, ",\"ms\":%.1f,\"removed\":", ev->ms);
	gm_json_str(&j->steps, what);
	gm_strbuf_addch(&j->steps, '}');
	free(what);
}

/* {"format_version":1,"ok":...,"dry_run":...,"rolled_back":[{"version",
 * "name","file","ms","removed"}],"isolation":...,"sequences_moved":...,
 * "error":{...}|null}; with dry_run, "rolled_back" lists what would be. */
static void print_json(struct json_run *j, int dry_run, const char *moved, const struct gm_error *err)
{
	struct gm_strbuf out = GM_STRBUF_INIT;

	gm_strbuf_addf(&out, "{" GM_JSON_FORMAT_FIELD "\"ok\":%s,\"dry_run\":%s,\"rolled_back\":[%s],\"isolation\":",
		       err ? "false" : "true", dry_run ? "true" : "false", j->steps.len ? j->steps.buf : "");
	gm_json_str(&out, j->isolation);
	gm_strbuf_adds(&out, ",\"sequences_moved\":");
	gm_json_str(&out, moved);
	gm_strbuf_addch(&out, ',');
	gm_report_error_field(err, &out);
	gm_strbuf_adds(&out, "}\n");
	fputs(out.buf, stdout);
	gm_strbuf_release(&out);
	gm_strbuf_release(&j->steps);
	free(j->isolation);
}

enum { OPT_STEPS = 256, OPT_TO, OPT_DRY_RUN, OPT_ALLOW, OPT_ALLOW_ISOLATION, OPT_FORMAT };

int cmd_rollback(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "steps", required_argument, NULL, OPT_STEPS },
		{ "to", required_argument, NULL, OPT_TO },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "allow-data-loss", no_argument, NULL, OPT_ALLOW },
		{ "allow-isolation-loss", no_argument, NULL, OPT_ALLOW_ISOLATION },
		{ "format", required_argument, NULL, OPT_FORMAT },
		GM_LIMITS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct gm_rollback_opts o;
	struct gm_rollback_result res = { 0 };
	struct json_run j = { GM_STRBUF_INIT, NULL };
	struct gm_progress progress;
	int moved_seqs = 0, json = 0;
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_error *err;
	int c;

	memset(&o, 0, sizeof(o));
	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg) || gm_cli_limits_opt(&o.limits, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(rollback_usage);
		case OPT_STEPS:
			if (gm_cli_parse_version(optarg, &o.steps) || o.steps == 0)
				return gm_cli_usage_error("rollback", "--steps wants a positive number, not '%s'", optarg);
			break;
		case OPT_TO:
			if (gm_cli_parse_version(optarg, &o.target))
				return gm_cli_usage_error("rollback", "--to wants a version number, not '%s'", optarg);
			o.has_target = 1;
			break;
		case OPT_DRY_RUN:
			o.dry_run = 1;
			break;
		case OPT_ALLOW:
			o.allow_data_loss = 1;
			break;
		case OPT_ALLOW_ISOLATION:
			o.allow_isolation_loss = 1;
			break;
		case OPT_FORMAT:
			if (gm_cli_parse_format(optarg, &json))
				return gm_cli_usage_error("rollback", "--format is text or json, not '%s'", optarg);
			break;
		default:
			return gm_cli_usage_error("rollback", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("rollback", "unexpected argument '%s'", argv[optind]);
	if (o.steps && o.has_target)
		return gm_cli_usage_error("rollback", "--steps and --to exclude each other");

	o.os_user = gm_cli_os_user();
	o.on_event = json ? on_json_event : on_event;
	o.ctx = json ? (void *)&j : (void *)&progress;
	gm_progress_init(&progress, stdout);
	if (!(err = gm_cli_limits(cli, &o.limits)) && !(err = gm_cli_open(cli, &set, &db)))
		err = gm_engine_rollback(db, set, &o, &res);
	gm_progress_release(&progress);
	if (json)
		print_json(&j, o.dry_run, res.sequences_moved, err);
	if (res.sequences_moved) {
		char *moved = gm_text_escape_line(res.sequences_moved);
		fprintf(stderr, "garage-migrate: warning: sequences moved while the downs were tried, and no ROLLBACK"
				" undoes that (setval, nextval): %s\n", moved);
		free(moved);
		free(res.sequences_moved);
		moved_seqs = 1;
	}
	if (err) {
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	if (json) {
		gm_cli_close(set, db);
		return GM_EXIT_OK;
	}
	if (res.planned == 0)
		printf("nothing to roll back: %s\n",
		       o.has_target && o.target ? "nothing is applied above that version" : "no migration is applied");
	else if (o.dry_run)
		printf("-- dry run: %zu migration%s would be rolled back, and the guard allows it;"
		       " nothing was changed%s\n", res.planned, res.planned == 1 ? "" : "s",
		       moved_seqs ? " but the sequences named above" : "");
	else
		printf("%zu migration%s rolled back\n", res.done, res.done == 1 ? "" : "s");
	gm_cli_close(set, db);
	return GM_EXIT_OK;
}
