/* main.c - global options and the command table. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct gm_cli *cli);
	const char *summary;	/* NULL: an alias, not listed */
};

static const struct command commands[] = {
	{ "up", cmd_up, "apply pending migrations, each in its own transaction" },
	{ "lint", cmd_lint, "find dangerous changes in migrations before they run" },
	{ "list", cmd_list, "show every migration and its state" },
	{ "rollback", cmd_rollback, "roll back applied migrations, guarding against data loss" },
	{ "baseline", cmd_baseline, "mark migrations applied without running them" },
	{ "repair", cmd_repair, "record intentional edits of applied migrations" },
	{ "verify", cmd_verify, "check history, schema drift and RLS; read-only, for CI" },
	{ "dump", cmd_dump, "write the live schema as a snapshot" },
	{ "log", cmd_log, "show the audit log" },
	{ "new", cmd_new, "create the next migration file from a template" },
	{ "init", cmd_init, "write a commented project file, garage-migrate.yaml" },
	/* What users of dbmate and Flyway type for list. */
	{ "status", cmd_list, NULL },
	{ "info", cmd_list, NULL },
	/* For the shell completion scripts (completion/). */
	{ "__complete", cmd_complete, NULL },
};

static const char usage_head[] =
	"usage: garage-migrate [-c FILE] [-e NAME | -d URL] [-m DIR] <command> [options]\n"
	"       garage-migrate help [COMMAND]\n"
	"       garage-migrate -V | --version\n"
	"\n"
	"Schema migrations and Row-Level Security for PostgreSQL.\n"
	"\n"
	"Global options (also accepted after the command):\n" GM_GLOBAL_HELP
	"  -V, --version           print the version\n"
	"\n"
	"The database is -d URL if given, else the URL of environment -e NAME,\n"
	"else $DATABASE_URL, else where libpq's PGHOST, PGPORT, PGUSER, PGDATABASE\n"
	"(and service files, .pgpass) lead.\n"
	"\n"
	"Commands:\n";

static int main_help(void)
{
	size_t k;

	fputs(usage_head, stdout);
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (commands[k].summary)
			printf("  %-9s %s\n", commands[k].name, commands[k].summary);
	fputs("  (status and info are other names of list)\n"
	      "\nRun 'garage-migrate help <command>' or 'garage-migrate <command> --help' for a\n"
	      "command's options; see garage-migrate(1) and garage-migrate(5).\n", stdout);
	return GM_EXIT_OK;
}

/* The first error writing stdout, as stdio's error flag does not keep it:
 * by the time main checks, errno tells about some later call. */
static int stdout_errno;

static ssize_t write_stdout(void *cookie, const char *buf, size_t len)
{
	size_t done = 0;

	(void)cookie;
	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!stdout_errno)
				stdout_errno = n < 0 ? errno : EIO;
			return 0;	/* glibc: 0 is the error return */
		}
		done += (size_t)n;
	}
	return (ssize_t)len;
}

/* Routes stdout through write_stdout, keeping its usual buffering (lines on
 * a terminal, blocks otherwise).  Left alone when that is not possible. */
static void track_stdout_errors(void)
{
	cookie_io_functions_t io = { NULL, write_stdout, NULL, NULL };
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		return;
	setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
	stdout = f;
}

/* Like git: a full disk or closed pipe on stdout is an error, not silence. */
static int finish(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = stdout_errno ? stdout_errno : errno;
		if (e != EPIPE)
			fprintf(stderr, "garage-migrate: cannot write output: %s\n",
				e ? strerror(e) : "unknown error");
		return code ? code : GM_ERR_INPUT;
	}
	return code;
}

static const struct command *find_command(const char *name)
{
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(name, commands[k].name) == 0)
			return &commands[k];
	return NULL;
}

/* help, or help COMMAND: that command's --help. */
static int help(int argc, char **argv, struct gm_cli *cli)
{
	const struct command *cmd;
	char *sub[] = { NULL, (char *)"--help", NULL };

	if (argc < 2)
		return main_help();
	if (argc > 2)
		return gm_cli_usage_error("help", "help takes one command name");
	if (!(cmd = find_command(argv[1])))
		return gm_cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	sub[0] = argv[1];
	optind = 0;
	return cmd->fn(2, sub, cli);
}

static int run(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	int c;

	/* '+': stop at the command name; the command parses the rest. */
	while ((c = gm_cli_getopt(argc, argv, "+V" GM_GLOBAL_SHORTOPTS, longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		if (c == 'h')
			return finish(main_help());
		if (c == 'V') {
			printf("garage-migrate %s\n", GM_VERSION);
			return finish(GM_EXIT_OK);
		}
		return gm_cli_usage_error(NULL, "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
	}
	if (optind >= argc)
		return gm_cli_usage_error(NULL, "no command given (try up, list or --help)");
	if (!strcmp(argv[optind], "help"))
		return finish(help(argc - optind, argv + optind, cli));
	if ((cmd = find_command(argv[optind]))) {
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0;	/* glibc: reinitialise for the command */
		return finish(cmd->fn(sub_argc, sub_argv, cli));
	}
	return gm_cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	struct gm_cli cli;
	int rc;

	/* A reader that goes away (up | head -1) must not kill a run between
	 * two migrations, leaving the rest unapplied: a write then fails
	 * with EPIPE instead, the run goes on, and finish() reports it. */
	signal(SIGPIPE, SIG_IGN);
	track_stdout_errors();
	opterr = 0;
	gm_cli_note_args(argc, argv);
	gm_cli_init(&cli);
	rc = run(argc, argv, &cli);
	gm_cli_release(&cli);
	gm_cli_forget_args();
	return rc;
}
