/* cmd_up.c - garage-migrate up: apply pending migrations. */
#include "cli.h"
#include "gm_engine.h"
#include "gm_report.h"
#include "gm_strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char up_usage[] =
	"usage: garage-migrate up [options]\n"
	"\n"
	"Apply pending migrations in version order.  Each runs in its own\n"
	"transaction together with its history row: it is applied and recorded,\n"
	"or neither.  Stops at the first failure.  Refuses to run when an applied\n"
	"migration's file was edited or is missing.  Migrations travel in batches\n"
	"(up to 100 per round trip, a transaction each); each is reported as it\n"
	"commits; on a terminal, the one under way is shown, its seconds ticking\n"
	"when it takes longer than one.\n"
	"\n"
	"Options:\n"
	"      --dry-run               print the SQL that would run; change nothing\n"
	"      --to VERSION            apply pending migrations up to VERSION only\n"
	"      --single-transaction    apply the whole run in one transaction\n"
	"      --out-of-order          also apply pending migrations older than the\n"
	"                              newest applied one\n"
	"      --allow-isolation-loss  apply a migration even when it leaves a table\n"
	"                              holding rows with RLS disabled, not forced or\n"
	"                              without policies (refused by default)\n"
	"      --format FORMAT         text (default) or json: one object at the end\n"
	"                              with what was applied, and the error if any\n"
	GM_LIMITS_HELP GM_GLOBAL_HELP
	"\n"
	"Before anything is sent, the migrations to apply are linted (see\n"
	"garage-migrate lint --help): warnings are printed on standard error (with\n"
	"--format json: in the object's \"lint\"), and an error stops up (exit 9),\n"
	"dry runs too.\n"
	"\n"
	"Output that cannot be written (a full disk; a closed pipe, as in\n"
	"up | head -1) does not stop the run: it goes on to its end as if the\n"
	"output were read, and a run that would exit 0 exits 6.\n";

/* --format json: the events, gathered for one object at the end. */
struct json_run {
	struct gm_strbuf applied, skipped;
	struct gm_strbuf lint;	/* the lint before up's object, once it ran */
};

/* The context of up's callbacks: the JSON gathered, what the lint before
 * up needs, and what it already passed: a run that plans again (another
 * run moved the history) lints only when the plan holds a migration it
 * has not seen. */
struct up_ctx {
	struct gm_cli *cli;
	struct json_run *json;	/* --format json: the events gathered; else NULL */
	struct gm_progress *progress;	/* text: the line of the migration under way */
	struct gm_db *db;
	const struct gm_migration_set *set;
	const char *lock_timeout;
	const struct gm_migration **linted;
	size_t nlinted;
};

static int was_linted(const struct up_ctx *u, const struct gm_migration *m)
{
	for (size_t k = 0; k < u->nlinted; k++)
		if (u->linted[k] == m)
			return 1;
	return 0;
}

static struct gm_error *lint_first(void *ctx, const struct gm_migration *const *todo, size_t n)
{
	struct up_ctx *u = ctx;
	struct gm_error *err;
	size_t k;

	for (k = 0; k < n && was_linted(u, todo[k]); k++)
		;
	if (k == n)
		return NULL;
	if ((err = gm_cli_lint_before_up(u->cli, u->db, u->set, u->lock_timeout, todo, n,
					 u->json ? &u->json->lint : NULL)))
		return err;
	u->linted = gm_xrealloc(u->linted, (u->nlinted + n) * sizeof(*u->linted));
	for (k = 0; k < n; k++)
		u->linted[u->nlinted++] = todo[k];
	return NULL;
}

static void json_migration(struct gm_strbuf *sb, const struct gm_migration *m, double ms)
{
	gm_report_migration_open(m, sb);
	if (ms >= 0)
		gm_strbuf_addf(sb, ",\"ms\":%.1f", ms);
	gm_strbuf_addch(sb, '}');
}

static void on_json_event(void *ctx, const struct gm_up_event *ev)
{
	struct json_run *j = ((struct up_ctx *)ctx)->json;

	if (ev->kind == GM_UP_APPLIED || ev->kind == GM_UP_DRY_RUN)
		json_migration(&j->applied, ev->m, ev->kind == GM_UP_APPLIED && !ev->reconciled ? ev->ms : -1);
	else if (ev->kind == GM_UP_SKIPPED)
		json_migration(&j->skipped, ev->m, -1);
}

/* {"format_version":1,"ok":...,"dry_run":...,"applied":[...],"skipped":[...],
 *  "lint":{...}|null,"pending":n,"error":{...}|null}: with dry_run,
 * "applied" lists what would be; "lint" is lint --format json's object
 * for what was to be applied (null when nothing was). */
static void print_json(struct json_run *j, int dry_run, size_t pending, const struct gm_error *err)
{
	struct gm_strbuf out = GM_STRBUF_INIT;

	gm_strbuf_addf(&out, "{" GM_JSON_FORMAT_FIELD "\"ok\":%s,\"dry_run\":%s,\"applied\":[%s],\"skipped\":[%s],"
			     "\"lint\":%s,\"pending\":%zu,", err ? "false" : "true", dry_run ? "true" : "false",
		       j->applied.len ? j->applied.buf : "", j->skipped.len ? j->skipped.buf : "",
		       j->lint.len ? j->lint.buf : "null", pending);
	gm_report_error_field(err, &out);
	gm_strbuf_adds(&out, "}\n");
	fputs(out.buf, stdout);
	gm_strbuf_release(&out);
	gm_strbuf_release(&j->applied);
	gm_strbuf_release(&j->skipped);
	gm_strbuf_release(&j->lint);
}

/* Text: the final line of each migration; on a terminal, a progress line
 * before it (progress.c). */
static void on_event(void *ctx, const struct gm_up_event *ev)
{
	struct gm_progress *pr = ((struct up_ctx *)ctx)->progress;

	if (ev->kind == GM_UP_STARTING) {
		gm_progress_start(pr, "applying", ev->m->filename);
		return;
	}
	if (ev->kind == GM_UP_RUNNING) {
		/* --single-transaction: no migration starts on its own. */
		if (!ev->m && !pr->label)
			gm_progress_start(pr, "applying", "the run in one transaction");
		gm_progress_tick(pr);
		return;
	}
	gm_progress_clear(pr);
	switch (ev->kind) {
	case GM_UP_STARTING:
	case GM_UP_RUNNING:
		break;
	case GM_UP_APPLIED:
		if (ev->reconciled)
			printf("applied %s (its commit was not answered: the history, read after reconnecting, says so)\n",
			       ev->m->filename);
		else
			printf("applied %s (%.1f ms)\n", ev->m->filename, ev->ms);
		break;
	case GM_UP_SKIPPED:
		printf("skipped %s: another garage-migrate run applied it\n", ev->m->filename);
		break;
	case GM_UP_DRY_RUN:
		printf("-- %s (would run in %s)\n%s", ev->m->path,
		       ev->m->transactional ? "its own transaction" : "no transaction",
		       ev->m->up.sql);
		if (ev->m->up.len && ev->m->up.sql[ev->m->up.len - 1] != '\n')
			putchar('\n');
		putchar('\n');
		break;
	}
	fflush(stdout);
}

enum { OPT_DRY_RUN = 256, OPT_TO, OPT_SINGLE, OPT_OOO, OPT_ALLOW_ISOLATION, OPT_FORMAT };

int cmd_up(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "to", required_argument, NULL, OPT_TO },
		{ "single-transaction", no_argument, NULL, OPT_SINGLE },
		{ "out-of-order", no_argument, NULL, OPT_OOO },
		{ "allow-isolation-loss", no_argument, NULL, OPT_ALLOW_ISOLATION },
		{ "format", required_argument, NULL, OPT_FORMAT },
		GM_LIMITS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct gm_up_opts o;
	struct gm_up_result res;
	struct json_run j = { GM_STRBUF_INIT, GM_STRBUF_INIT, GM_STRBUF_INIT };
	struct up_ctx u = { cli, NULL, NULL, NULL, NULL, NULL, NULL, 0 };
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_error *err;
	struct gm_progress progress;
	int c, json = 0;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg) || gm_cli_limits_opt(&o.limits, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(up_usage);
		case OPT_DRY_RUN:
			o.dry_run = 1;
			break;
		case OPT_TO:
			if (gm_cli_parse_version(optarg, &o.target))
				return gm_cli_usage_error("up", "--to wants a version number, not '%s'", optarg);
			o.has_target = 1;
			break;
		case OPT_SINGLE:
			o.single_transaction = 1;
			break;
		case OPT_OOO:
			o.allow_out_of_order = 1;
			break;
		case OPT_ALLOW_ISOLATION:
			o.allow_isolation_loss = 1;
			break;
		case OPT_FORMAT:
			if (gm_cli_parse_format(optarg, &json))
				return gm_cli_usage_error("up", "--format is text or json, not '%s'", optarg);
			break;
		default:
			return gm_cli_usage_error("up", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("up", "unexpected argument '%s'", argv[optind]);

	o.os_user = gm_cli_os_user();
	o.on_event = json ? on_json_event : on_event;
	u.json = json ? &j : NULL;
	u.progress = &progress;
	o.preflight = lint_first;
	o.ctx = &u;
	gm_progress_init(&progress, stdout);
	if (!(err = gm_cli_limits(cli, &o.limits)) && !(err = gm_cli_open(cli, &set, &db))) {
		u.db = db;
		u.set = set;
		u.lock_timeout = o.limits.lock_timeout;
		err = gm_engine_up(db, set, &o, &res);
	}
	gm_progress_release(&progress);	/* before any other line */
	free(u.linted);
	if (err) {
		if (json)
			print_json(&j, o.dry_run, res.pending, err);
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	if (json) {
		print_json(&j, o.dry_run, res.pending, NULL);
		gm_cli_close(set, db);
		return GM_EXIT_OK;
	}
	if (res.pending == 0)
		printf("nothing to apply: the database is up to date (%zu migration%s)\n",
		       set->n, set->n == 1 ? "" : "s");
	else if (o.dry_run)
		printf("-- dry run: %zu migration%s would be applied; nothing was changed\n",
		       res.pending, res.pending == 1 ? "" : "s");
	else
		printf("%zu migration%s applied%s\n", res.applied, res.applied == 1 ? "" : "s",
		       res.skipped ? " (others were applied by a concurrent run)" : "");
	gm_cli_close(set, db);
	return GM_EXIT_OK;
}
