/* cmd_list.c - garage-migrate list: every migration and its state. */
#include "cli.h"
#include "gm_engine.h"
#include "gm_history.h"
#include "gm_report.h"

#include <stdio.h>
#include <string.h>

static const char list_usage[] =
	"usage: garage-migrate list [--format text|json] [options]\n"
	"\n"
	"Show every migration, from the files and the history table, with its\n"
	"version, name, state (applied, pending, modified, missing) and when it\n"
	"was applied.  Read-only: it never creates the history table.\n"
	"\n"
	"Options:\n"
	"      --format FORMAT     text (default) or json\n" GM_GLOBAL_HELP;

enum { OPT_FORMAT = 256 };

int cmd_list(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_history hist = { 0, NULL, 0 };
	struct gm_status st;
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *err;
	int json = 0, c;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(list_usage);
		case OPT_FORMAT:
			if (gm_cli_parse_format(optarg, &json))
				return gm_cli_usage_error("list", "--format is text or json, not '%s'", optarg);
			break;
		default:
			return gm_cli_usage_error("list", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("list", "unexpected argument '%s'", argv[optind]);

	if ((err = gm_cli_open_history(cli, &set, &db, &hist))) {
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	gm_status_build(set, &hist, &st);
	if (json)
		gm_report_status_json(&st, &out);
	else
		gm_report_status_text(&st, &out);
	if (json)
		fputs(out.buf, stdout);
	else
		gm_cli_puts(stdout, out.buf);	/* coloured on a terminal */
	gm_strbuf_release(&out);
	gm_status_release(&st);
	gm_history_release(&hist);
	gm_cli_close(set, db);
	return GM_EXIT_OK;
}
