/* cli.c - helpers shared by the subcommands. */
#include "cli.h"
#include "gm_report.h"
#include "gm_strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gm_cli_global_opt(struct gm_cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'd':
		cli->database_url = arg;
		return 1;
	case 'm':
		cli->migrations_dir = arg;
		return 1;
	default:
		return 0;
	}
}

int gm_cli_limits_opt(struct gm_txn_limits *lim, int c, const char *arg)
{
	switch (c) {
	case GM_OPT_LOCK_TIMEOUT:
		lim->lock_timeout = arg;
		return 1;
	case GM_OPT_STATEMENT_TIMEOUT:
		lim->statement_timeout = arg;
		return 1;
	case GM_OPT_WAIT_TIMEOUT:
		lim->wait_timeout = arg;
		return 1;
	default:
		return 0;
	}
}

int gm_cli_help(const char *text)
{
	fputs(text, stdout);
	return GM_EXIT_OK;
}

int gm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("garage-migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'garage-migrate %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return GM_ERR_USAGE;
}

int gm_cli_fail(struct gm_error *err)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int code = gm_error_exit_code(err);

	fflush(stdout);
	gm_report_error(err, &sb);
	fputs(sb.buf, stderr);
	gm_strbuf_release(&sb);
	gm_error_free(err);
	return code;
}

struct gm_error *gm_cli_load(const struct gm_cli *cli, struct gm_migration_set **set)
{
	return gm_migration_set_load(cli->migrations_dir ? cli->migrations_dir : "migrations", set);
}

struct gm_error *gm_cli_connect(const struct gm_cli *cli, struct gm_db **db)
{
	const char *url = cli->database_url;

	if (!url)
		url = getenv("DATABASE_URL");
	return gm_db_connect(url, db);
}

struct gm_error *gm_cli_open(const struct gm_cli *cli, struct gm_migration_set **set,
			     struct gm_db **db)
{
	struct gm_error *err;

	*set = NULL;
	*db = NULL;
	if ((err = gm_cli_load(cli, set)))
		return err;
	if ((err = gm_cli_connect(cli, db))) {
		gm_migration_set_free(*set);
		*set = NULL;
	}
	return err;
}

void gm_cli_close(struct gm_migration_set *set, struct gm_db *db)
{
	gm_db_close(db);
	gm_migration_set_free(set);
}

struct gm_error *gm_cli_write_file(const char *path, const char *buf, size_t len)
{
	char *tmp = gm_xasprintf("%s.tmp-%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	int ok;

	if (!f) {
		struct gm_error *err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot write: %s", strerror(errno));
		free(tmp);
		return err;
	}
	ok = fwrite(buf, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		struct gm_error *err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot write: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		return err;
	}
	free(tmp);
	return NULL;
}

int gm_cli_parse_format(const char *arg, int *json)
{
	if (strcmp(arg, "json") == 0)
		*json = 1;
	else if (strcmp(arg, "text") == 0)
		*json = 0;
	else
		return -1;
	return 0;
}

const char *gm_cli_os_user(void)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *u = pw ? pw->pw_name : getenv("USER");

	return u ? u : "";
}

int gm_cli_parse_version(const char *s, unsigned long long *v)
{
	const char *p = s;
	unsigned long long x = 0;

	if (!*p || strlen(p) > GM_VERSION_MAX_DIGITS)
		return -1;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		x = x * 10 + (unsigned)(*p - '0');
	}
	*v = x;
	return 0;
}
