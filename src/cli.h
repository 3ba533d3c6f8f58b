/* cli.h - what the subcommands share: global options, loading, connecting
 * and reporting.  Only the CLI layer prints. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "gm_config.h"
#include "gm_db.h"
#include "gm_error.h"
#include "gm_migration.h"
#include "gm_script.h"

#define GM_VERSION "0.1.0"

/* Exit statuses besides those of gm_errkind (see garage-migrate(1)). */
#define GM_EXIT_OK 0

struct gm_cli {
	const char *database_url;	/* -d; else --env's, $DATABASE_URL, libpq's env */
	const char *migrations_dir;	/* -m; else the project file's (gm_cli_configure) */
	const char *config_path;	/* -c; else ./garage-migrate.yaml when it exists */
	const char *env_name;		/* -e */
	struct gm_config config;	/* the project file, or the defaults */
	/* The tenancy conventions, always valid: AI Garage's until
	 * gm_cli_configure has read the project file, then the file's. */
	const struct gm_tenancy *tenancy;
	int configured;
};

/* Colour (color.c): the CLI's text only, never the library's. */
/* auto, always or never; -1 for anything else. */
int gm_cli_set_color(const char *when);
/* Whether what goes to f is coloured. */
int gm_cli_color(FILE *f);
/* Whether f is a terminal that takes control codes (not TERM=dumb): for
 * progress lines redrawn in place. */
int gm_cli_terminal(FILE *f);
/* fputs, colouring error, warning, ok, FAIL, SKIP at the starts of lines
 * when gm_cli_color(f). */
void gm_cli_puts(FILE *f, const char *text);

/* The line of the step under way (progress.c): drawn on a terminal only,
 * erased before the step's final line is printed in its place. */
struct gm_progress {
	FILE *f;
	int on;			/* f is a terminal */
	int drawn;		/* a line is on the screen, not ended */
	long shown_s;		/* the elapsed seconds drawn, 0 for none */
	char *label;		/* "applying 0004_x.sql" */
	double t0;		/* when it started (gm_monotonic_ms) */
};
void gm_progress_init(struct gm_progress *p, FILE *f);
/* Draws "VERB NAME ...". */
void gm_progress_start(struct gm_progress *p, const char *verb, const char *name);
/* Redraws with the whole seconds since the start, from one second on. */
void gm_progress_tick(struct gm_progress *p);
/* Erases the line, if drawn: call before printing anything else. */
void gm_progress_clear(struct gm_progress *p);
void gm_progress_release(struct gm_progress *p);

/* Accepted by every command, before or after its name. */
enum { GM_OPT_COLOR = 2000 };
#define GM_GLOBAL_SHORTOPTS "d:m:c:e:h"
#define GM_GLOBAL_LONGOPTS                                   \
	{ "database-url", required_argument, NULL, 'd' },    \
	{ "migrations", required_argument, NULL, 'm' },      \
	{ "config", required_argument, NULL, 'c' },          \
	{ "env", required_argument, NULL, 'e' },             \
	{ "color", required_argument, NULL, GM_OPT_COLOR },  \
	{ "help", no_argument, NULL, 'h' }

/* The global options' help, in parts: a command lists those that apply
 * to it (all are accepted everywhere). */
#define GM_HELP_DB                                                                  \
	"  -d, --database-url URL  database to work on (default: --env's, else\n"          \
	"                          $DATABASE_URL, else libpq's PGHOST, PGPORT, PGUSER,\n"  \
	"                          PGDATABASE, service files and .pgpass)\n"             \
	"  -e, --env NAME          the project file's environment NAME\n"
#define GM_HELP_CONFIG                                                              \
	"  -c, --config FILE       the project file (default: ./garage-migrate.yaml,\n"   \
	"                          when it exists)\n"
#define GM_HELP_MIGRATIONS                                                          \
	"  -m, --migrations DIR    migrations folder (default: the project file's,\n"     \
	"                          else ./migrations)\n"
#define GM_HELP_HELP                                                                \
	"      --color WHEN        auto (on a terminal, unless NO_COLOR), always, never\n" \
	"  -h, --help              show this help\n"
#define GM_GLOBAL_HELP GM_HELP_DB GM_HELP_CONFIG GM_HELP_MIGRATIONS GM_HELP_HELP

/* The bounds of migration transactions, for up and rollback. */
enum { GM_OPT_LOCK_TIMEOUT = 1000, GM_OPT_STATEMENT_TIMEOUT, GM_OPT_WAIT_TIMEOUT };
#define GM_LIMITS_LONGOPTS                                                              \
	{ "lock-timeout", required_argument, NULL, GM_OPT_LOCK_TIMEOUT },               \
	{ "statement-timeout", required_argument, NULL, GM_OPT_STATEMENT_TIMEOUT },     \
	{ "wait-timeout", required_argument, NULL, GM_OPT_WAIT_TIMEOUT }
#define GM_LIMITS_HELP                                                                    \
	"      --lock-timeout T        bound each statement's wait for a lock (5s, 500ms;\n"  \
	"                              default: the project file's timeouts.lock, else\n"    \
	"                              none)\n"                                                \
	"      --statement-timeout T   bound each statement's run time (default: the\n"       \
	"                              project file's timeouts.statement, else the\n"         \
	"                              server's statement_timeout)\n"                          \
	"      --wait-timeout T        bound the wait for another garage-migrate run\n"        \
	"                              (default: the project file's timeouts.wait, else\n"    \
	"                              " GM_DEFAULT_WAIT_TIMEOUT ")\n"
struct gm_txn_limits;
/* Handles a limits option; returns 1 when c was one. */
int gm_cli_limits_opt(struct gm_txn_limits *lim, int c, const char *arg);
/* Configures (gm_cli_configure), then gives every limit not set by an
 * option the project file's value. */
struct gm_error *gm_cli_limits(struct gm_cli *cli, struct gm_txn_limits *lim);

/* getopt_long, but a long option must be written in full: glibc takes
 * any unique prefix, so "rollback --a" would mean --allow-data-loss.  An
 * abbreviation is returned as '?', like an unknown option. */
int gm_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* The option text the last '?' of gm_cli_getopt was about. */
const char *gm_cli_bad_option(char **argv);

/* Handles a global option; returns 1 when c was one. */
int gm_cli_global_opt(struct gm_cli *cli, int c, const char *arg);

/* Before the options: no project file read yet, AI Garage's tenancy. */
void gm_cli_init(struct gm_cli *cli);
void gm_cli_release(struct gm_cli *cli);
/* After the options: reads the project file (-c FILE, which must exist,
 * else ./garage-migrate.yaml when it exists), takes its migrations folder
 * unless -m was given, and checks that --env names one of its
 * environments (else a GM_ERR_USAGE error listing them).  Runs once; the
 * helpers below that need it call it themselves. */
struct gm_error *gm_cli_configure(struct gm_cli *cli);

/* Prints usage to stdout (help) and returns 0. */
int gm_cli_help(const char *text);
/* Prints "garage-migrate: msg" and a pointer to --help; returns 2. */
/* Notes the arguments that look like connection strings, so that no
 * message printed through gm_cli_usage_error or gm_cli_fail shows their
 * password (cli.c says how); forgotten again at exit. */
void gm_cli_note_args(int argc, char **argv);
void gm_cli_forget_args(void);

int gm_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports err on stderr (once), frees it, returns its exit status. */
int gm_cli_fail(struct gm_error *err);

struct gm_error *gm_cli_load(struct gm_cli *cli, struct gm_migration_set **set);
/* Connects to -d URL, else to --env's URL, else to $DATABASE_URL, else
 * where libpq's own variables say. */
struct gm_error *gm_cli_connect(struct gm_cli *cli, struct gm_db **db);
/* Loads the migrations (first: bad files never reach the database), then
 * connects.  On error both outputs are NULL. */
struct gm_error *gm_cli_open(struct gm_cli *cli, struct gm_migration_set **set,
			     struct gm_db **db);
/* gm_cli_open for a command that reads the history first (list): the
 * files are read while another thread connects and reads the history, so
 * the server's work (starting a session, reading the history) overlaps
 * with reading the files.  Nothing from the files reaches the database;
 * a bad file is still the error reported, before any connection error.
 * On error every output is empty. */
struct gm_history;
struct gm_error *gm_cli_open_history(struct gm_cli *cli, struct gm_migration_set **set,
				     struct gm_db **db, struct gm_history *hist);
void gm_cli_close(struct gm_migration_set *set, struct gm_db *db);

/* Writes len bytes to path, creating the folders leading to it that do not
 * exist (like mkdir -p, 0777 less the umask).  A symbolic link is followed
 * (its final target is written; the link stays).  A regular or new file is replaced through a
 * temporary file in the same folder, synced and renamed, so a reader never
 * sees half a file; it keeps its mode (a new file gets 0666 less the
 * umask).  Anything else that exists (a device, a FIFO) is written in
 * place.  Every failure is a GM_ERR_INPUT error naming path and errno. */
struct gm_error *gm_cli_write_file(const char *path, const char *buf, size_t len);
/* Creates path with len bytes (0666 less the umask), creating missing
 * folders likewise, and never replaces anything: when path exists (a
 * dangling symbolic link counts) the error's kind is GM_ERR_INPUT and
 * *exists is set. */
struct gm_error *gm_cli_create_file(const char *path, const char *buf, size_t len, int *exists);

/* Parses --format text|json; returns -1 for anything else. */
int gm_cli_parse_format(const char *arg, int *json);

/* The OS user running us, for the history and audit log. */
const char *gm_cli_os_user(void);

/* Parses a version argument ("0003" or "3"). */
int gm_cli_parse_version(const char *s, unsigned long long *v);

int cmd_up(int argc, char **argv, struct gm_cli *cli);
int cmd_complete(int argc, char **argv, struct gm_cli *cli);
int cmd_list(int argc, char **argv, struct gm_cli *cli);
int cmd_rollback(int argc, char **argv, struct gm_cli *cli);
int cmd_baseline(int argc, char **argv, struct gm_cli *cli);
int cmd_repair(int argc, char **argv, struct gm_cli *cli);
int cmd_log(int argc, char **argv, struct gm_cli *cli);
int cmd_verify(int argc, char **argv, struct gm_cli *cli);
int cmd_dump(int argc, char **argv, struct gm_cli *cli);
int cmd_new(int argc, char **argv, struct gm_cli *cli);
int cmd_init(int argc, char **argv, struct gm_cli *cli);
int cmd_lint(int argc, char **argv, struct gm_cli *cli);

/* up's pre-flight (cmd_lint.c): lints the migrations about to be applied
 * as one run, with the database's table sizes and the run's lock timeout;
 * prints warnings and errors on stderr (json non-NULL: replaces json's
 * text with lint --format json's object, every finding, and prints
 * nothing); a GM_ERR_LINT error when one is an error. */
struct gm_error *gm_cli_lint_before_up(struct gm_cli *cli, struct gm_db *db, const struct gm_migration_set *set,
				       const char *lock_timeout, const struct gm_migration *const *todo, size_t n,
				       struct gm_strbuf *json);

#endif
