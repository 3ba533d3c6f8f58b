/* cmd_lint.c - garage-migrate lint: dangerous migrations caught before
 * they run; and the same lint as the pre-flight of up. */
#include "cli.h"
#include "gm_engine.h"
#include "gm_history.h"
#include "gm_report.h"
#include "gm_sqllint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char lint_usage[] =
	"usage: garage-migrate lint [options] [FILE...]\n"
	"\n"
	"Find dangerous changes in migrations before they run, on PostgreSQL's own\n"
	"parse tree: locks and rewrites on existing tables, destructive changes,\n"
	"transaction hazards and Row-Level Security.  Without FILE, the pending\n"
	"migrations of the database (every migration with --all, or when no\n"
	"database is named); its catalog's table sizes set the level of the lock\n"
	"rules.  FILEs are linted alone, without a database unless -d or -e names\n"
	"one.  up runs the same lint first and stops on an error.  Silence a\n"
	"finding with a comment before the statement:\n"
	"    -- garage:lint-ignore RULE reason\n"
	"Exit 0 when nothing fails, 1 when an error is found (--strict: or a\n"
	"warning).\n"
	"\n"
	"Options:\n"
	"      --all               every migration, not only the pending ones\n"
	"      --offline           never connect: lint the files alone\n"
	"      --format FORMAT     text (default), json or sarif (SARIF 2.1.0)\n"
	"      --strict            warnings fail too\n"
	"      --show-ignored      also print the findings lint-ignore silences\n"
	"      --lock-timeout T    the lock timeout the run will set (as up's; default:\n"
	"                          the project file's timeouts.lock)\n" GM_GLOBAL_HELP;

enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

struct lint_args {
	int all, offline, strict, show_ignored, format;
	const char *lock_timeout;
};

/* A lock timeout that is set and not zero (0, 0s, 0ms turn it off). */
static int timeout_on(const char *t)
{
	if (!t)
		return 0;
	while (*t == '0')
		t++;
	return *t >= '1' && *t <= '9';
}

static int env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* Whether the user named a database: an option, the project's
 * environment, or the variables libpq reads.  Without one, lint does not
 * try libpq's defaults (a local socket): it lints the files alone. */
static int database_named(const struct gm_cli *cli)
{
	return cli->database_url || cli->env_name || env_set("DATABASE_URL") || env_set("PGHOST") ||
	       env_set("PGHOSTADDR") || env_set("PGDATABASE") || env_set("PGSERVICE");
}

/* ---- what to lint ---- */

struct targets {
	const struct gm_migration **v;
	size_t n;
	struct gm_migration **owned;	/* files read from the command line */
	size_t nowned;
};

static void targets_release(struct targets *t)
{
	for (size_t k = 0; k < t->nowned; k++)
		gm_migration_free(t->owned[k]);
	free(t->owned);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct gm_error *load_files(char **files, int n, struct targets *t)
{
	t->owned = gm_xcalloc((size_t)n, sizeof(*t->owned));
	t->v = gm_xcalloc((size_t)n, sizeof(*t->v));
	for (int k = 0; k < n; k++) {
		struct gm_error *err = gm_migration_load_file(files[k], &t->owned[t->nowned]);
		if (err)
			return err;
		t->v[t->n++] = t->owned[t->nowned++];
	}
	return NULL;
}

/* Pending migrations as up would see them: without a history row, or a
 * no-transaction migration that failed and runs again. */
static struct gm_error *pending(struct gm_db *db, const struct gm_migration_set *set, struct targets *t)
{
	struct gm_history h;
	struct gm_status st;
	struct gm_error *err = gm_history_read(db, &h);

	if (err)
		return err;
	gm_status_build(set, &h, &st);
	t->v = gm_xcalloc(st.n ? st.n : 1, sizeof(*t->v));
	for (size_t k = 0; k < st.n; k++)
		if (st.v[k].m && (st.v[k].state == GM_STATE_PENDING || st.v[k].state == GM_STATE_FAILED))
			t->v[t->n++] = st.v[k].m;
	gm_status_release(&st);
	gm_history_release(&h);
	return NULL;
}

static void everything(const struct gm_migration_set *set, struct targets *t)
{
	t->v = gm_xcalloc(set->n ? set->n : 1, sizeof(*t->v));
	for (size_t k = 0; k < set->n; k++)
		t->v[t->n++] = set->v[k];
}

/* ---- running it ---- */

static void lint_opts(struct gm_cli *cli, const struct gm_migration_set *set, const char *lock_timeout,
		      struct gm_lint_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tenancy = cli->tenancy;
	o->levels = &cli->config.lint;
	o->run_lock_timeout = timeout_on(lock_timeout ? lock_timeout : cli->config.lock_timeout);
	if (set) {
		o->all = (const struct gm_migration *const *)set->v;
		o->nall = set->n;
	}
}

static void print(const struct gm_lint_result *r, const struct lint_args *a, int ok)
{
	struct gm_strbuf out = GM_STRBUF_INIT;

	if (a->format == FORMAT_JSON)
		gm_report_lint_json(r, ok, &out);
	else if (a->format == FORMAT_SARIF)
		gm_report_lint_sarif(r, GM_VERSION, &out);
	else
		gm_report_lint_text(r, a->show_ignored, ok, &out);
	if (a->format == FORMAT_TEXT)
		gm_cli_puts(stdout, out.buf);	/* coloured on a terminal */
	else
		fputs(out.buf, stdout);
	gm_strbuf_release(&out);
}

/* Sets up what lint reads: the folder (needed unless FILEs are given;
 * with FILEs, read when it can be, for the later migrations' RLS), the
 * database when one is named, and the migrations to lint. */
static struct gm_error *open_targets(struct gm_cli *cli, const struct lint_args *a, char **files, int nfiles,
				     struct gm_migration_set **set, struct gm_db **db, struct targets *t)
{
	struct gm_error *err;

	if (nfiles) {
		if ((err = load_files(files, nfiles, t)))
			return err;
		gm_error_free(gm_cli_load(cli, set));	/* context only */
		if (!a->offline && (cli->database_url || cli->env_name))
			return gm_cli_connect(cli, db);
		return NULL;
	}
	if ((err = gm_cli_load(cli, set)))
		return err;
	if (!a->offline && database_named(cli) && (err = gm_cli_connect(cli, db)))
		return err;
	if (*db && !a->all)
		return pending(*db, *set, t);
	everything(*set, t);
	return NULL;
}

static int run_lint(struct gm_cli *cli, const struct lint_args *a, char **files, int nfiles)
{
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct targets t = { NULL, 0, NULL, 0 };
	struct gm_lint_opts o;
	struct gm_lint_result r;
	struct gm_error *err;
	int ok = 0;

	if (!(err = gm_cli_configure(cli)) && !(err = open_targets(cli, a, files, nfiles, &set, &db, &t))) {
		lint_opts(cli, set, a->lock_timeout, &o);
		if (!(err = gm_lint_run(t.v, t.n, &o, db, &r))) {
			ok = !gm_lint_failed(&r, a->strict);
			print(&r, a, ok);
			gm_lint_result_release(&r);
		}
	}
	targets_release(&t);
	gm_cli_close(set, db);
	if (err)
		return gm_cli_fail(err);
	return ok ? GM_EXIT_OK : GM_ERR_DRIFT;
}

enum { OPT_ALL = 256, OPT_OFFLINE, OPT_FORMAT, OPT_STRICT, OPT_SHOW_IGNORED, OPT_LOCK_TIMEOUT };

int cmd_lint(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "all", no_argument, NULL, OPT_ALL },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "show-ignored", no_argument, NULL, OPT_SHOW_IGNORED },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct lint_args a = { 0, 0, 0, 0, FORMAT_TEXT, NULL };
	int c;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(lint_usage);
		case OPT_ALL:
			a.all = 1;
			break;
		case OPT_OFFLINE:
			a.offline = 1;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				a.format = FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				a.format = FORMAT_JSON;
			else if (!strcmp(optarg, "sarif"))
				a.format = FORMAT_SARIF;
			else
				return gm_cli_usage_error("lint", "--format is text, json or sarif, not '%s'", optarg);
			break;
		case OPT_STRICT:
			a.strict = 1;
			break;
		case OPT_SHOW_IGNORED:
			a.show_ignored = 1;
			break;
		case OPT_LOCK_TIMEOUT:
			if (!gm_timeout_valid(optarg))
				return gm_cli_usage_error("lint", "invalid --lock-timeout '%s' (use e.g. 500ms, 5s, 1min)", optarg);
			a.lock_timeout = optarg;
			break;
		default:
			return gm_cli_usage_error("lint", "unknown or incomplete option '%s' (options are never abbreviated)",
						  gm_cli_bad_option(argv));
		}
	}
	if (a.all && optind < argc)
		return gm_cli_usage_error("lint", "--all lints the migrations folder: give FILEs or --all, not both");
	return run_lint(cli, &a, argv + optind, argc - optind);
}

/* ---- the pre-flight of up ---- */

struct gm_error *gm_cli_lint_before_up(struct gm_cli *cli, struct gm_db *db, const struct gm_migration_set *set,
				       const char *lock_timeout, const struct gm_migration *const *todo, size_t n,
				       struct gm_strbuf *json)
{
	struct gm_lint_opts o;
	struct gm_lint_result r;
	struct gm_strbuf out = GM_STRBUF_INIT;
	struct gm_error *err;
	int failed;

	lint_opts(cli, set, lock_timeout, &o);
	if ((err = gm_lint_run(todo, n, &o, db, &r)))
		return err;
	failed = gm_lint_failed(&r, 0);
	if (json) {
		/* Inside up's object: its own format_version left out. */
		gm_report_lint_json(&r, !failed, &out);
		gm_strbuf_reset(json);
		gm_strbuf_addch(json, '{');
		gm_strbuf_adds(json, out.buf + strlen("{" GM_JSON_FORMAT_FIELD));
		while (json->len && json->buf[json->len - 1] == '\n')
			json->buf[--json->len] = '\0';
	} else {
		/* Findings go to standard error, like a compiler's; a clean
		 * lint says nothing. */
		for (size_t k = 0; k < r.n; k++)
			if (!r.v[k].ignored && r.v[k].level >= GM_LINT_WARNING) {
				gm_report_lint_text(&r, 0, !failed, &out);
				break;
			}
		fflush(stdout);
		gm_cli_puts(stderr, out.buf);
	}
	if (failed) {
		err = gm_error_new(GM_ERR_LINT, "up stopped by the lint before anything was sent: %zu error%s in the"
				   " migrations to apply", r.count[GM_LINT_ERROR], r.count[GM_LINT_ERROR] == 1 ? "" : "s");
		gm_error_advise(err, "fix them; or, where a finding does not apply, say why with -- garage:lint-ignore RULE"
				     " reason before the statement, or set the rule's level under lint: in garage-migrate.yaml");
	}
	gm_strbuf_release(&out);
	gm_lint_result_release(&r);
	return err;
}
