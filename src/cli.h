/* cli.h - what the subcommands share: global options, loading, connecting
 * and reporting.  Only the CLI layer prints. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <getopt.h>

#include "gm_db.h"
#include "gm_error.h"
#include "gm_migration.h"
#include "gm_script.h"

#define GM_VERSION "0.1.0"

/* Exit statuses besides those of gm_errkind (see garage-migrate(1)). */
#define GM_EXIT_OK 0

struct gm_cli {
	const char *database_url;	/* NULL: $DATABASE_URL, then libpq's env */
	const char *migrations_dir;
};

/* Accepted by every command, before or after its name. */
#define GM_GLOBAL_SHORTOPTS "d:m:h"
#define GM_GLOBAL_LONGOPTS                                   \
	{ "database-url", required_argument, NULL, 'd' },    \
	{ "migrations", required_argument, NULL, 'm' },      \
	{ "help", no_argument, NULL, 'h' }

#define GM_GLOBAL_HELP                                                              \
	"  -d, --database-url URL  database to work on (default: $DATABASE_URL, else\n"   \
	"                          libpq's PGHOST, PGPORT, PGUSER, PGDATABASE, service\n"  \
	"                          files and .pgpass)\n"                                  \
	"  -m, --migrations DIR    migrations folder (default: ./migrations)\n"           \
	"  -h, --help              show this help\n"

/* The bounds of migration transactions, for up and rollback. */
enum { GM_OPT_LOCK_TIMEOUT = 1000, GM_OPT_STATEMENT_TIMEOUT, GM_OPT_WAIT_TIMEOUT };
#define GM_LIMITS_LONGOPTS                                                              \
	{ "lock-timeout", required_argument, NULL, GM_OPT_LOCK_TIMEOUT },               \
	{ "statement-timeout", required_argument, NULL, GM_OPT_STATEMENT_TIMEOUT },     \
	{ "wait-timeout", required_argument, NULL, GM_OPT_WAIT_TIMEOUT }
#define GM_LIMITS_HELP                                                                    \
	"      --lock-timeout T        bound each statement's wait for a lock (5s, 500ms)\n"  \
	"      --statement-timeout T   bound each statement's run time\n"                     \
	"      --wait-timeout T        bound the wait for another garage-migrate run\n"        \
	"                              (default: " GM_DEFAULT_WAIT_TIMEOUT ")\n"
struct gm_txn_limits;
/* Handles a limits option; returns 1 when c was one. */
int gm_cli_limits_opt(struct gm_txn_limits *lim, int c, const char *arg);

/* getopt_long, but a long option must be written in full: glibc takes
 * any unique prefix, so "rollback --a" would mean --allow-data-loss.  An
 * abbreviation is returned as '?', like an unknown option. */
int gm_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* The option text the last '?' of gm_cli_getopt was about. */
const char *gm_cli_bad_option(char **argv);

/* Handles a global option; returns 1 when c was one. */
int gm_cli_global_opt(struct gm_cli *cli, int c, const char *arg);

/* Prints usage to stdout (help) and returns 0. */
int gm_cli_help(const char *text);
/* Prints "garage-migrate: msg" and a pointer to --help; returns 2. */
int gm_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports err on stderr (once), frees it, returns its exit status. */
int gm_cli_fail(struct gm_error *err);

struct gm_error *gm_cli_load(const struct gm_cli *cli, struct gm_migration_set **set);
struct gm_error *gm_cli_connect(const struct gm_cli *cli, struct gm_db **db);
/* Loads the migrations (first: bad files never reach the database), then
 * connects.  On error both outputs are NULL. */
struct gm_error *gm_cli_open(const struct gm_cli *cli, struct gm_migration_set **set,
			     struct gm_db **db);
void gm_cli_close(struct gm_migration_set *set, struct gm_db *db);

/* Writes len bytes to path.  A symbolic link is followed (its final target
 * is written; the link stays).  A regular or new file is replaced through a
 * temporary file in the same folder, synced and renamed, so a reader never
 * sees half a file; it keeps its mode (a new file gets 0666 less the
 * umask).  Anything else that exists (a device, a FIFO) is written in
 * place.  Every failure is a GM_ERR_INPUT error naming path and errno. */
struct gm_error *gm_cli_write_file(const char *path, const char *buf, size_t len);

/* Parses --format text|json; returns -1 for anything else. */
int gm_cli_parse_format(const char *arg, int *json);

/* The OS user running us, for the history and audit log. */
const char *gm_cli_os_user(void);

/* Parses a version argument ("0003" or "3"). */
int gm_cli_parse_version(const char *s, unsigned long long *v);

int cmd_up(int argc, char **argv, struct gm_cli *cli);
int cmd_list(int argc, char **argv, struct gm_cli *cli);
int cmd_rollback(int argc, char **argv, struct gm_cli *cli);
int cmd_baseline(int argc, char **argv, struct gm_cli *cli);
int cmd_repair(int argc, char **argv, struct gm_cli *cli);
int cmd_log(int argc, char **argv, struct gm_cli *cli);
int cmd_verify(int argc, char **argv, struct gm_cli *cli);
int cmd_dump(int argc, char **argv, struct gm_cli *cli);
int cmd_new(int argc, char **argv, struct gm_cli *cli);

#endif
