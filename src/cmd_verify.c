/* cmd_verify.c - garage-migrate verify: fail the build on drift. */
#include "cli.h"
#include "gm_text.h"
#include "gm_report.h"
#include "gm_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char verify_usage[] =
	"usage: garage-migrate verify [options]\n"
	"\n"
	"Check, in one read-only transaction, that (1) every applied migration\n"
	"still has its file with the same checksum and nothing is pending, (2) the\n"
	"live schema matches the committed snapshot, whichever major (14 to 18) it\n"
	"was dumped on (skipped, not failed, when the default snapshot does not\n"
	"exist yet), and (3) tenant tables, their grants,\n"
	"views and SECURITY DEFINER functions pass the RLS lints; with --isolation,\n"
	"(4) no tenant can read or write another's rows.  Exit 0 when all hold, 1\n"
	"when anything is found.\n"
	"\n"
	"Options:\n"
	"      --snapshot FILE     the expected schema (default: the project file's\n"
	"                          snapshot, else " GM_CONFIG_DEFAULT_SNAPSHOT ")\n"
	"      --allow-pending     pending migrations are not a finding\n"
	"      --strict            warnings and skipped checks (isolation, or the\n"
	"                          schema check without a snapshot) fail too\n"
	"      --format FORMAT     text (default) or json\n"
	"      --junit FILE        also write a JUnit XML report to FILE\n"
	"      --isolation         also prove tenant isolation by acting as a tenant, in a\n"
	"                          transaction that is always rolled back\n"
	"      --as-role NAME      run the probe as this existing role instead of a\n"
	"                          temporary one (implies --isolation)\n"
	"      --app-role NAME     probe through the application's role (its policies and\n"
	"                          privileges) and check that it cannot bypass RLS\n"
	"                          (implies --isolation)\n" GM_GLOBAL_HELP
	"\n"
	"Connected as a superuser, the probe makes the rows of a superuser's (or\n"
	"BYPASSRLS role's) table as a temporary role of its own (BYPASSRLS, SELECT\n"
	"and INSERT only), never as that owner, so no code the table reaches runs as\n"
	"a superuser.  Other tables' rows their owner makes.  A table whose\n"
	"triggers, defaults, checks, indexes or rules call another role's code, as\n"
	"deep as the probe can read them, is skipped.\n";

enum { OPT_SNAPSHOT = 256, OPT_PENDING, OPT_STRICT, OPT_FORMAT, OPT_JUNIT, OPT_ISOLATION, OPT_AS_ROLE,
       OPT_APP_ROLE };

/* verify could not run (no connection, a bad project file): the JSON and
 * JUnit reports still say so, so CI's report step finds its file. */
static int stopped(struct gm_error *err, int json, const char *junit)
{
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *werr = NULL;

	if (json) {
		gm_report_error_json(err, &out);
		fputs(out.buf, stdout);
	}
	if (junit) {
		gm_strbuf_reset(&out);
		gm_report_error_junit("verify", err, &out);
		werr = gm_cli_write_file(junit, out.buf, out.len);
	}
	gm_strbuf_release(&out);
	if (werr)
		gm_cli_fail(werr);
	return gm_cli_fail(err);
}

/* On a terminal, the isolation probe's progress on stderr, redrawn in
 * place and cleared before the report; nothing in a pipe or a CI log. */
static void on_progress(void *ctx, size_t n, const struct gm_probe_check *last)
{
	char *table = gm_text_escape_line(last->table);

	(void)ctx;
	fprintf(stderr, "\r\033[Kisolation: %zu check%s, %s %s", n, n == 1 ? "" : "s", last->command, table);
	fflush(stderr);
	free(table);
}

int cmd_verify(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "allow-pending", no_argument, NULL, OPT_PENDING },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "isolation", no_argument, NULL, OPT_ISOLATION },
		{ "as-role", required_argument, NULL, OPT_AS_ROLE },
		{ "app-role", required_argument, NULL, OPT_APP_ROLE },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_verify_opts o = { .snapshot_path = NULL };
	struct gm_verify_result res;
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *err;
	const char *junit = NULL;
	int json = 0, strict = 0, ok, c;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(verify_usage);
		case OPT_SNAPSHOT:
			o.snapshot_path = optarg;
			break;
		case OPT_PENDING:
			o.allow_pending = 1;
			break;
		case OPT_STRICT:
			strict = 1;
			break;
		case OPT_FORMAT:
			if (gm_cli_parse_format(optarg, &json))
				return gm_cli_usage_error("verify", "--format is text or json, not '%s'", optarg);
			break;
		case OPT_JUNIT:
			junit = optarg;
			break;
		case OPT_ISOLATION:
			o.isolation = 1;
			break;
		case OPT_AS_ROLE:
			o.as_role = optarg;
			o.isolation = 1;
			break;
		case OPT_APP_ROLE:
			o.app_role = optarg;
			o.isolation = 1;
			break;
		default:
			return gm_cli_usage_error("verify", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);

	if ((err = gm_cli_configure(cli)))
		return stopped(err, json, junit);
	if (!o.snapshot_path) {
		/* A new project has no snapshot yet: the other checks still run. */
		o.snapshot_path = cli->config.snapshot;
		o.snapshot_optional = 1;
	}
	/* What to check when there is no snapshot to name the schemas: the
	 * exposed ones of the tenancy (public by default). */
	o.tenancy = cli->tenancy;
	o.lock_timeout = cli->config.lock_timeout;
	o.schemas = cli->tenancy->schemas.v;
	o.nschemas = cli->tenancy->schemas.n;
	if (o.isolation && gm_cli_terminal(stderr))
		o.on_progress = on_progress;
	err = gm_cli_open(cli, &set, &db);
	if (!err)
		err = gm_engine_verify(db, set, &o, &res);
	if (o.on_progress)
		fputs("\r\033[K", stderr);
	if (err) {
		gm_cli_close(set, db);
		return stopped(err, json, junit);
	}
	ok = gm_verify_passed(&res, strict);
	if (json)
		gm_report_verify_json(&res, o.snapshot_path, ok, &out);
	else
		gm_report_verify_text(&res, o.snapshot_path, ok, &out);
	if (json)
		fputs(out.buf, stdout);
	else
		gm_cli_puts(stdout, out.buf);	/* coloured on a terminal */
	err = NULL;
	if (junit) {
		gm_strbuf_reset(&out);
		gm_report_verify_junit(&res, o.snapshot_path, &out);
		err = gm_cli_write_file(junit, out.buf, out.len);
	}
	gm_strbuf_release(&out);
	gm_verify_result_release(&res);
	gm_cli_close(set, db);
	if (err)
		return gm_cli_fail(err);
	return ok ? GM_EXIT_OK : GM_ERR_DRIFT;
}
