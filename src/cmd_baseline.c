/* cmd_baseline.c - garage-migrate baseline: adopt an existing database. */
#include "cli.h"
#include "gm_repair.h"
#include "gm_script.h"

#include <stdio.h>

static const char baseline_usage[] =
	"usage: garage-migrate baseline --version VERSION [options]\n"
	"\n"
	"Mark every migration up to and including VERSION as applied without\n"
	"running it, for a database that already has those objects (say users and\n"
	"organizations from an existing application).  Refuses when the history\n"
	"already records anything, and when the database does not hold what\n"
	"those migrations make: each is tried, statement by statement, in a\n"
	"transaction that is always rolled back, and must create nothing.\n"
	"The check goes by names (a table with other columns passes): run\n"
	"verify afterwards.  The check runs on live tables: each statement waits\n"
	"at most " GM_BASELINE_LOCK_TIMEOUT " for a lock unless --lock-timeout (or the project\n"
	"file) says otherwise, and one calling setval() is not run.  Prints what\n"
	"it marks; recorded in the audit log.\n"
	"\n"
	"Options:\n"
	"      --version VERSION   the last migration the database already has\n"
	"      --force             skip the check: mark them applied anyway\n" GM_LIMITS_HELP GM_GLOBAL_HELP;

enum { OPT_VERSION = 256, OPT_FORCE };

int cmd_baseline(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		GM_LIMITS_LONGOPTS,
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_txn_limits limits = { NULL, NULL, NULL };
	struct gm_error *err;
	unsigned long long version = 0;
	int has_version = 0, force = 0, c;
	size_t n = 0;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg) || gm_cli_limits_opt(&limits, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(baseline_usage);
		case OPT_VERSION:
			if (gm_cli_parse_version(optarg, &version))
				return gm_cli_usage_error("baseline", "--version wants a version number, not '%s'", optarg);
			has_version = 1;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		default:
			return gm_cli_usage_error("baseline", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("baseline", "unexpected argument '%s'", argv[optind]);
	if (!has_version)
		return gm_cli_usage_error("baseline", "--version is required");

	if ((err = gm_cli_limits(cli, &limits)) || (err = gm_cli_open(cli, &set, &db)) ||
	    (err = gm_engine_baseline(db, set, version, force, &limits, gm_cli_os_user(), &n))) {
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	for (size_t k = 0; k < set->n && set->v[k]->version <= version; k++)
		printf("marked %s applied (baseline)\n", set->v[k]->filename);
	printf("marked %zu migration%s applied without running %s (up to version %llu);"
	       " now run garage-migrate verify: the check went by names, not definitions\n",
	       n, n == 1 ? "" : "s", n == 1 ? "it" : "them", version);
	gm_cli_close(set, db);
	return GM_EXIT_OK;
}
