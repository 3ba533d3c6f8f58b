/* cmd_init.c - garage-migrate init: write the project file. */
#include "cli.h"
#include "gm_config.h"
#include "gm_strbuf.h"

#include <stdio.h>

static const char init_usage[] =
	"usage: garage-migrate init [--force] [options]\n"
	"\n"
	"Write the project file, " GM_CONFIG_FILE " in the working directory (or\n"
	"the file named with -c), with every key at its default value and a\n"
	"comment saying what it does, and print its path.  An existing file is\n"
	"never replaced unless --force is given.  See PROJECT FILE in\n"
	"garage-migrate(5).\n"
	"\n"
	"Options:\n"
	"      --force             replace an existing project file\n" GM_HELP_CONFIG GM_HELP_HELP;

enum { OPT_FORCE = 256 };

int cmd_init(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_strbuf text = GM_STRBUF_INIT;
	struct gm_error *err;
	const char *path;
	int force = 0, exists = 0, c;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(init_usage);
		case OPT_FORCE:
			force = 1;
			break;
		default:
			return gm_cli_usage_error("init", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("init", "unexpected argument '%s'", argv[optind]);

	/* The file is written, not read: a broken one can be replaced. */
	path = cli->config_path ? cli->config_path : GM_CONFIG_FILE;
	gm_config_template(&text);
	if (force)
		err = gm_cli_write_file(path, text.buf, text.len);
	else
		err = gm_cli_create_file(path, text.buf, text.len, &exists);
	gm_strbuf_release(&text);
	if (err && exists) {
		gm_error_free(err);
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "the project file already exists: left as it is");
		gm_error_advise(err, "edit it, or replace it with the defaults: garage-migrate init --force");
	}
	if (err)
		return gm_cli_fail(err);
	printf("%s\n", path);
	return GM_EXIT_OK;
}
