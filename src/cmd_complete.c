/* cmd_complete.c - garage-migrate __complete: words for shell completion.
 *
 * The bash and zsh completion scripts (completion/) ask the tool itself
 * for what only it can read well: the environment names of the project
 * file and the versions of the migration files.  Hidden from --help; it
 * never connects to a database, and prints nothing (exit 0) when it
 * cannot tell, so a broken project file never breaks the user's shell. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_complete(int argc, char **argv, struct gm_cli *cli)
{
	struct gm_migration_set *set = NULL;
	struct gm_error *err;

	if (argc != 2)
		return GM_ERR_USAGE;
	if (!strcmp(argv[1], "envs")) {
		if ((err = gm_cli_configure(cli))) {
			gm_error_free(err);
			return GM_EXIT_OK;
		}
		for (size_t k = 0; k < cli->config.nenvs; k++)
			printf("%s\n", cli->config.envs[k].name);
		return GM_EXIT_OK;
	}
	if (!strcmp(argv[1], "versions")) {
		if ((err = gm_cli_load(cli, &set))) {
			gm_error_free(err);
			return GM_EXIT_OK;
		}
		for (size_t k = 0; k < set->n; k++)
			printf("%s\n", set->v[k]->version_text);
		gm_migration_set_free(set);
		return GM_EXIT_OK;
	}
	return GM_ERR_USAGE;
}
