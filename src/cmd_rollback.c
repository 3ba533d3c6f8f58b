/* cmd_rollback.c - garage-migrate rollback: step back safely. */
#include "cli.h"
#include "gm_engine.h"
#include "gm_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char rollback_usage[] =
	"usage: garage-migrate rollback [--steps N | --to VERSION] [options]\n"
	"\n"
	"Roll back the last applied migration (or the last N, or everything\n"
	"applied above VERSION) in reverse apply order.  Each down runs in its\n"
	"own transaction together with the removal of its history row.  The whole\n"
	"plan is checked first: a migration without a down section, or whose file\n"
	"is missing or edited, stops the rollback before anything runs.\n"
	"\n"
	"Data-loss guard: a down that drops a table or column holding data is\n"
	"refused (its transaction rolled back, every such table and column named\n"
	"with its row count) unless --allow-data-loss is given.\n"
	"\n"
	"Options:\n"
	"      --steps N               roll back the last N applied migrations\n"
	"      --to VERSION            roll back everything applied above VERSION\n"
	"                              (VERSION stays applied; 0 rolls back all)\n"
	"      --dry-run               print the plan and the SQL; change nothing\n"
	"      --allow-data-loss       drop tables and columns even when they hold data\n"
	GM_LIMITS_HELP GM_GLOBAL_HELP;

static void on_event(void *ctx, const struct gm_rollback_event *ev)
{
	(void)ctx;
	switch (ev->kind) {
	case GM_RB_PLANNED:
		printf("-- %s (would roll back, applied %s, in its own transaction)\n%s",
		       ev->m->path, ev->a->applied_at, ev->m->down.sql);
		if (ev->m->down.len && ev->m->down.sql[ev->m->down.len - 1] != '\n')
			putchar('\n');
		putchar('\n');
		break;
	case GM_RB_DONE:
		printf("rolled back %s (%.1f ms)", ev->m->filename, ev->ms);
		if (ev->removed && ev->removed->n) {
			char *what = gm_guard_describe(ev->removed, 1);
			printf(": dropped %s", what);
			free(what);
		}
		putchar('\n');
		break;
	case GM_RB_SKIPPED:
		printf("skipped %s: another garage-migrate run rolled it back\n", ev->m->filename);
		break;
	}
	fflush(stdout);
}

enum { OPT_STEPS = 256, OPT_TO, OPT_DRY_RUN, OPT_ALLOW };

int cmd_rollback(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "steps", required_argument, NULL, OPT_STEPS },
		{ "to", required_argument, NULL, OPT_TO },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "allow-data-loss", no_argument, NULL, OPT_ALLOW },
		GM_LIMITS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct gm_rollback_opts o;
	struct gm_rollback_result res;
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_error *err;
	int c;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, GM_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
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
		default:
			return gm_cli_usage_error("rollback", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("rollback", "unexpected argument '%s'", argv[optind]);
	if (o.steps && o.has_target)
		return gm_cli_usage_error("rollback", "--steps and --to exclude each other");

	o.os_user = gm_cli_os_user();
	o.on_event = on_event;
	if ((err = gm_cli_open(cli, &set, &db)) || (err = gm_engine_rollback(db, set, &o, &res))) {
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	if (res.planned == 0)
		printf("nothing to roll back: %s\n",
		       o.has_target && o.target ? "nothing is applied above that version" : "no migration is applied");
	else if (o.dry_run)
		printf("-- dry run: %zu migration%s would be rolled back; nothing was changed\n"
		       "-- (the data-loss guard checks row counts when the rollback runs)\n",
		       res.planned, res.planned == 1 ? "" : "s");
	else
		printf("%zu migration%s rolled back%s\n", res.done, res.done == 1 ? "" : "s",
		       res.skipped ? " (others were rolled back by a concurrent run)" : "");
	gm_cli_close(set, db);
	return GM_EXIT_OK;
}
