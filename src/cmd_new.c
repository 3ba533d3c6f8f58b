/* cmd_new.c - garage-migrate new: start the next migration file. */
#include "cli.h"
#include "gm_strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char new_usage[] =
	"usage: garage-migrate new NAME [--yaml] [--timestamp] [options]\n"
	"\n"
	"Create the next migration file in the migrations folder, with a\n"
	"commented template, and print its path.  The version continues the\n"
	"folder's numbering: the next number with the same zero padding, or the\n"
	"current UTC time for timestamp versions.  NAME holds letters, digits,\n"
	"'_' and '-'.\n"
	"\n"
	"Options:\n"
	"      --yaml              a YAML migration (enums, RLS) instead of SQL\n"
	"      --timestamp         start timestamp versions (YYYYMMDDHHMMSS, UTC) in a\n"
	"                          folder without migrations\n"
	GM_HELP_CONFIG GM_HELP_MIGRATIONS GM_HELP_HELP;

static const char sql_template[] =
	"-- %s: what this migration does, and why.\n"
	"-- garage:up\n"
	"\n"
	"\n"
	"-- garage:down\n"
	"\n";

static const char yaml_template[] =
	"# %s: see garage-migrate(5) for every key.\n"
	"description: what this migration does, and why\n"
	"# enums:\n"
	"#   Level: [LOW, HIGH]\n"
	"# rls:\n"
	"#   public.orders:\n"
	"#     enable: true\n"
	"#     force: true\n"
	"#     policies:\n"
	"#       orders_select:\n"
	"#         command: SELECT\n"
	"#         using: organization_id = (SELECT app_current_org_id())\n"
	"# up: |\n"
	"#   -- SQL run after the declarative parts\n"
	"# down: |\n"
	"#   -- SQL run before the generated down\n";

enum { OPT_YAML = 256, OPT_TIMESTAMP };

int cmd_new(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "yaml", no_argument, NULL, OPT_YAML },
		{ "timestamp", no_argument, NULL, OPT_TIMESTAMP },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_error *err;
	char now[32], *version, *path, *newest_text = NULL;
	unsigned long long newest = 0;
	const char *dir, *name;
	int yaml = 0, timestamp = 0, c, fd;
	time_t t = time(NULL);
	FILE *f;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(new_usage);
		case OPT_YAML:
			yaml = 1;
			break;
		case OPT_TIMESTAMP:
			timestamp = 1;
			break;
		default:
			return gm_cli_usage_error("new", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind != argc - 1)
		return gm_cli_usage_error("new", "give exactly one NAME");
	name = argv[optind];
	if (!gm_migration_name_valid(name))
		return gm_cli_usage_error("new", "NAME may hold only letters, digits, '_' and '-', not '%s'", name);
	if ((err = gm_cli_configure(cli)))
		return gm_cli_fail(err);
	dir = cli->migrations_dir;
	/* The first migration of a project may start the folder. */
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return gm_cli_fail(gm_error_at(GM_ERR_INPUT, dir, 0, 0, "cannot create the migrations folder: %s",
					       strerror(errno)));
	if ((err = gm_migration_newest(dir, &newest, &newest_text)))
		return gm_cli_fail(err);
	strftime(now, sizeof(now), "%Y%m%d%H%M%S", gmtime(&t));
	/* Timestamp versions have 12 digits or more; a folder that numbers
	 * its migrations 0001, 0002 keeps doing so. */
	if (timestamp && newest_text && strlen(newest_text) < 12) {
		err = gm_error_at(GM_ERR_USAGE, dir, 0, 0, "--timestamp: the folder numbers its migrations (newest %s);"
				  " a timestamp would mix the two styles", newest_text);
		free(newest_text);
		return gm_cli_fail(err);
	}
	version = timestamp && !newest_text ? gm_xstrdup(now) : gm_migration_next_version(newest, newest_text, now);
	free(newest_text);
	path = gm_xasprintf("%s/%s_%s.%s", dir, version, name, yaml ? "yaml" : "sql");
	free(version);
	/* O_EXCL: never overwrite an existing migration. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot create: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return gm_cli_fail(err);
	}
	fprintf(f, yaml ? yaml_template : sql_template, name);
	if (fclose(f) != 0) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot write: %s", strerror(errno));
		free(path);
		return gm_cli_fail(err);
	}
	printf("%s\n", path);
	free(path);
	return GM_EXIT_OK;
}
