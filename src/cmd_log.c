/* cmd_log.c - garage-migrate log: who did what, and when. */
#include "cli.h"
#include "gm_history.h"
#include "gm_report.h"

#include <stdio.h>
#include <stdlib.h>

static const char log_usage[] =
	"usage: garage-migrate log [--format text|json] [--limit N] [options]\n"
	"\n"
	"Show the audit log: every up, rollback, baseline and repair, with when,\n"
	"who (database role and OS user), which version and checksum, the outcome\n"
	"and the duration, oldest first.  Read-only.\n"
	"\n"
	"Options:\n"
	"      --format FORMAT     text (default) or json\n"
	"      --limit N           only the newest N entries\n" GM_HELP_DB GM_HELP_CONFIG GM_HELP_HELP;

enum { OPT_FORMAT = 256, OPT_LIMIT };

int cmd_log(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_db *db = NULL;
	struct gm_audit audit;
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *err;
	unsigned long long limit = 0;
	int json = 0, c;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(log_usage);
		case OPT_FORMAT:
			if (gm_cli_parse_format(optarg, &json))
				return gm_cli_usage_error("log", "--format is text or json, not '%s'", optarg);
			break;
		case OPT_LIMIT:
			if (gm_cli_parse_version(optarg, &limit) || limit == 0)
				return gm_cli_usage_error("log", "--limit wants a positive number, not '%s'", optarg);
			break;
		default:
			return gm_cli_usage_error("log", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("log", "unexpected argument '%s'", argv[optind]);

	/* The log needs no migration files. */
	if ((err = gm_cli_connect(cli, &db)) ||
	    (err = gm_history_read_audit(db, (unsigned long)limit, &audit))) {
		gm_db_close(db);
		return gm_cli_fail(err);
	}
	if (json)
		gm_report_audit_json(&audit, &out);
	else
		gm_report_audit_text(&audit, &out);
	if (json)
		fputs(out.buf, stdout);
	else
		gm_cli_puts(stdout, out.buf);	/* coloured on a terminal */
	gm_strbuf_release(&out);
	gm_audit_release(&audit);
	gm_db_close(db);
	return GM_EXIT_OK;
}
