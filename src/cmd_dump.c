/* cmd_dump.c - garage-migrate dump: the live schema as a snapshot. */
#include "cli.h"
#include "gm_model.h"
#include "gm_verify.h"

#include <stdio.h>
#include <stdlib.h>

static const char dump_usage[] =
	"usage: garage-migrate dump [--schema NAME]... [--output FILE] [options]\n"
	"\n"
	"Write the live schema (enums, tables with their RLS flags, columns,\n"
	"constraints, indexes, triggers, rules, policies, grants, views, foreign\n"
	"tables, functions, and the functions elsewhere that these call, such as\n"
	"an auth.uid()) as the YAML snapshot\n"
	"that verify compares against: deterministic, one fact per line, so a\n"
	"review shows every policy change.  It names the PostgreSQL major it was\n"
	"dumped on, and verifies on any supported one (14 to 18).  Read-only.\n"
	"\n"
	"Options:\n"
	"      --schema NAME       a schema to include (repeatable; default: the\n"
	"                          project file's tenancy.schemas, else public)\n"
	"  -o, --output FILE       write to FILE instead of standard output (missing\n"
	"                          folders on the way are created)\n" GM_HELP_DB GM_HELP_CONFIG GM_HELP_HELP;

enum { OPT_SCHEMA = 256 };

int cmd_dump(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "schema", required_argument, NULL, OPT_SCHEMA },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static char public_schema[] = "public";
	char **schemas = NULL;
	size_t nschemas = 0;
	const char *output = NULL;
	struct gm_db *db = NULL;
	struct gm_model model;
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *err;
	int c, rc = GM_EXIT_OK;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS "o:", longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			free(schemas);
			return gm_cli_help(dump_usage);
		case OPT_SCHEMA:
			schemas = gm_xrealloc(schemas, (nschemas + 1) * sizeof(*schemas));
			schemas[nschemas++] = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			free(schemas);
			return gm_cli_usage_error("dump", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc) {
		free(schemas);
		return gm_cli_usage_error("dump", "unexpected argument '%s'", argv[optind]);
	}
	/* By default the schemas the project exposes (tenancy.schemas,
	 * public unless the project file says otherwise): verify fails on an
	 * exposed schema the snapshot leaves out. */
	if ((err = gm_cli_configure(cli))) {
		free(schemas);
		return gm_cli_fail(err);
	}
	if (!nschemas && cli->tenancy->schemas.n) {
		schemas = gm_xrealloc(schemas, cli->tenancy->schemas.n * sizeof(*schemas));
		while (nschemas < cli->tenancy->schemas.n) {
			schemas[nschemas] = cli->tenancy->schemas.v[nschemas];
			nschemas++;
		}
	}
	if (!nschemas) {
		schemas = gm_xrealloc(schemas, sizeof(*schemas));
		schemas[nschemas++] = public_schema;
	}

	/* dump needs no migration files: it describes the database. */
	if ((err = gm_cli_connect(cli, &db)) || (err = gm_engine_dump(db, schemas, nschemas, cli->config.lock_timeout, &model))) {
		gm_db_close(db);
		free(schemas);
		return gm_cli_fail(err);
	}
	gm_model_to_yaml(&model, &out);
	if (output)
		err = gm_cli_write_file(output, out.buf, out.len);
	else
		fputs(out.buf, stdout);
	if (err)
		rc = gm_cli_fail(err);
	else if (output)
		fprintf(stderr, "wrote %zu facts to %s\n", model.n, output);
	gm_strbuf_release(&out);
	gm_model_release(&model);
	gm_db_close(db);
	free(schemas);
	return rc;
}
