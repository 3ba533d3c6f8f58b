/* cli.c - helpers shared by the subcommands. */
#include "cli.h"
#include "gm_db.h"
#include "gm_history.h"
#include "gm_report.h"
#include "gm_strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *bad_option;

int gm_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int idx = -1, c = getopt_long(argc, argv, shortopts, longopts, &idx);
	const char *text, *eq;
	size_t n;

	bad_option = NULL;
	if (c == -1 || c == '?' || idx < 0)
		return c;
	/* The element just read: the option itself, or the one before its
	 * separate argument. */
	text = optarg && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
	eq = strchr(text, '=');
	n = eq ? (size_t)(eq - text) : strlen(text);
	if (n < 2 || strncmp(text, "--", 2) != 0 || strlen(longopts[idx].name) != n - 2 ||
	    strncmp(text + 2, longopts[idx].name, n - 2) != 0) {
		bad_option = text;
		return '?';
	}
	return c;
}

const char *gm_cli_bad_option(char **argv)
{
	return bad_option ? bad_option : argv[optind - 1];
}

int gm_cli_global_opt(struct gm_cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'd':
		cli->database_url = arg;
		return 1;
	case 'm':
		cli->migrations_dir = arg;
		return 1;
	case 'c':
		cli->config_path = arg;
		return 1;
	case 'e':
		cli->env_name = arg;
		return 1;
	case GM_OPT_COLOR:
		/* The CLI layer may exit: a usage error, before anything ran. */
		if (gm_cli_set_color(arg) != 0)
			exit(gm_cli_usage_error(NULL, "--color is auto, always or never, not '%s'", arg));
		return 1;
	default:
		return 0;
	}
}

void gm_cli_init(struct gm_cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	gm_config_defaults(&cli->config);
	cli->tenancy = &cli->config.tenancy;
}

void gm_cli_release(struct gm_cli *cli)
{
	gm_config_release(&cli->config);
}

static struct gm_error *unknown_env(const struct gm_cli *cli)
{
	char *names;
	struct gm_error *err;

	if (!cli->config.path) {
		err = gm_error_new(GM_ERR_USAGE, "--env %s: there is no project file (%s) to define environments",
				   cli->env_name, GM_CONFIG_FILE);
		gm_error_advise(err, "write one with garage-migrate init, or name it with -c FILE");
		return err;
	}
	names = gm_config_env_names(&cli->config);
	err = gm_error_new(GM_ERR_USAGE, "unknown environment '%s': %s defines %s", cli->env_name,
			   cli->config.path, names);
	free(names);
	return err;
}

struct gm_error *gm_cli_configure(struct gm_cli *cli)
{
	struct gm_error *err;

	if (cli->configured)
		return NULL;
	/* gm_config_load leaves the defaults on error: tenancy stays valid. */
	gm_config_release(&cli->config);
	if ((err = gm_config_load(cli->config_path ? cli->config_path : GM_CONFIG_FILE, !cli->config_path,
				  &cli->config)))
		return err;
	if (!cli->migrations_dir)
		cli->migrations_dir = cli->config.migrations;
	if (cli->env_name && !gm_config_find_env(&cli->config, cli->env_name))
		return unknown_env(cli);
	cli->configured = 1;
	return NULL;
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

struct gm_error *gm_cli_limits(struct gm_cli *cli, struct gm_txn_limits *lim)
{
	struct gm_error *err = gm_cli_configure(cli);

	if (err)
		return err;
	if (!lim->lock_timeout)
		lim->lock_timeout = cli->config.lock_timeout;
	if (!lim->statement_timeout)
		lim->statement_timeout = cli->config.statement_timeout;
	if (!lim->wait_timeout)
		lim->wait_timeout = cli->config.wait_timeout;
	return NULL;
}

int gm_cli_help(const char *text)
{
	fputs(text, stdout);
	return GM_EXIT_OK;
}

/* ---- arguments that may hold a password ----
 *
 * A connection URL given where something else was expected (the psql
 * habit "up postgresql://u:pw@h/db", "--database=...", "-e URL") is
 * echoed by usage errors and by errors naming a file, an environment or
 * a version.  Every argument that looks like a connection string is
 * noted once, with the form it may be shown in: a URL with its password
 * blanked (gm_db_url_blanked), anything else naming a password not at
 * all.  Messages are mended by replacing each such argument, whole, as it
 * was given: no search for the password itself. */
struct secret_arg {
	const char *given;
	char *shown;
};
static struct secret_arg *secret_args;
static size_t nsecret_args;

/* The form arg may be shown in, or NULL when it holds no secret. */
static char *shown_form(const char *arg)
{
	const char *url = NULL;
	char *blanked, *out;

	for (const char *p = arg; *p && !url; p++)
		if (!strncasecmp(p, "postgresql://", 13) || !strncasecmp(p, "postgres://", 11))
			url = p;
	if (url) {
		if (!(blanked = gm_db_url_blanked(url)))
			return gm_xasprintf("%.*s(a connection URL, not shown)", (int)(url - arg), arg);
		out = gm_xasprintf("%.*s%s", (int)(url - arg), arg, blanked);
		free(blanked);
		return out;
	}
	if (strchr(arg, '=') && strcasestr(arg, "password"))
		return gm_xstrdup("(not shown: it may hold a password)");
	return NULL;
}

static void note_secret(const char *given)
{
	char *shown = shown_form(given);

	if (!shown || !strcmp(shown, given)) {
		free(shown);	/* nothing to hide */
		return;
	}
	secret_args = gm_xrealloc(secret_args, (nsecret_args + 1) * sizeof(*secret_args));
	secret_args[nsecret_args].given = given;
	secret_args[nsecret_args++].shown = shown;
}

void gm_cli_note_args(int argc, char **argv)
{
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k], *eq = strchr(a, '=');
		note_secret(a);
		/* getopt hands on the value alone: "--opt=value", "-Xvalue",
		 * "-X=value" */
		if (!strncmp(a, "--", 2) && eq)
			note_secret(eq + 1);
		else if (a[0] == '-' && a[1] && a[1] != '-' && a[2])
			note_secret(a + 2 + (a[2] == '='));
	}
}

void gm_cli_forget_args(void)
{
	for (size_t k = 0; k < nsecret_args; k++)
		free(secret_args[k].shown);
	free(secret_args);
	secret_args = NULL;
	nsecret_args = 0;
}

/* text with every noted argument replaced by its shown form, longest
 * first (an option's whole text before its value). */
static void mend(struct gm_strbuf *text)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < nsecret_args; k++) {
			const char *given = secret_args[k].given, *hit;
			size_t n = strlen(given);
			/* the first pass takes options whole, the second the rest */
			if ((pass == 0) != (given[0] == '-') || !n)
				continue;
			for (size_t from = 0; (hit = strstr(text->buf + from, given));) {
				struct gm_strbuf out = GM_STRBUF_INIT;
				gm_strbuf_add(&out, text->buf, (size_t)(hit - text->buf));
				gm_strbuf_adds(&out, secret_args[k].shown);
				from = out.len;	/* past the shown form, which may hold given */
				gm_strbuf_adds(&out, hit + n);
				gm_strbuf_release(text);
				*text = out;
			}
		}
	}
}

int gm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	struct gm_strbuf msg = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	mend(&msg);
	fprintf(stderr, "garage-migrate: %s\nTry 'garage-migrate %s%s--help'.\n", msg.buf, cmd ? cmd : "",
		cmd ? " " : "");
	gm_strbuf_release(&msg);
	return GM_ERR_USAGE;
}

int gm_cli_fail(struct gm_error *err)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	int code = gm_error_exit_code(err);

	fflush(stdout);
	gm_report_error(err, &sb);
	mend(&sb);
	gm_cli_puts(stderr, sb.buf);
	gm_strbuf_release(&sb);
	gm_error_free(err);
	return code;
}

struct gm_error *gm_cli_load(struct gm_cli *cli, struct gm_migration_set **set)
{
	struct gm_error *err = gm_cli_configure(cli);

	*set = NULL;
	return err ? err : gm_migration_set_load(cli->migrations_dir, set);
}

/* -d, then --env, then $DATABASE_URL, then (NULL) libpq's variables. */
struct gm_error *gm_cli_connect(struct gm_cli *cli, struct gm_db **db)
{
	const char *url = cli->database_url;
	struct gm_error *err;

	*db = NULL;
	if ((err = gm_cli_configure(cli)))
		return err;
	if (!url && cli->env_name &&
	    (err = gm_config_env_url(&cli->config, gm_config_find_env(&cli->config, cli->env_name), &url)))
		return err;
	if (!url)
		url = getenv("DATABASE_URL");
	if ((err = gm_db_connect(url, db)))
		return err;
	gm_db_trust_roles(*db, &cli->config.trusted_roles);
	return NULL;
}

struct gm_error *gm_cli_open(struct gm_cli *cli, struct gm_migration_set **set,
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

/* The other thread of gm_cli_open_history: connecting and reading the
 * history.  It touches nothing the loading thread does: the project file
 * was read before it started, and each side builds its own values. */
struct history_job {
	struct gm_cli *cli;
	struct gm_db *db;
	struct gm_history hist;
	struct gm_error *err;
};

static void *connect_and_read(void *arg)
{
	struct history_job *job = arg;

	job->err = gm_cli_connect(job->cli, &job->db);
	if (!job->err)
		job->err = gm_history_read(job->db, &job->hist);
	return NULL;
}

struct gm_error *gm_cli_open_history(struct gm_cli *cli, struct gm_migration_set **set,
				     struct gm_db **db, struct gm_history *hist)
{
	struct history_job job = { cli, NULL, { 0, NULL, 0 }, NULL };
	struct gm_error *err;
	pthread_t th;
	int threaded;

	*set = NULL;
	*db = NULL;
	memset(hist, 0, sizeof(*hist));
	if ((err = gm_cli_configure(cli)))
		return err;
#ifdef M_ARENA_MAX
	/* One malloc arena for both threads: glibc would give the second
	 * its own, grown a page (and a system call) at a time. */
	mallopt(M_ARENA_MAX, 1);
#endif
	threaded = pthread_create(&th, NULL, connect_and_read, &job) == 0;
	err = gm_migration_set_load(cli->migrations_dir, set);
	if (threaded)
		pthread_join(th, NULL);
	else if (!err)
		connect_and_read(&job);
	if (!err && job.err) {
		err = job.err;
		job.err = NULL;
	}
	gm_error_free(job.err);
	if (err) {
		gm_migration_set_free(*set);
		*set = NULL;
		gm_history_release(&job.hist);
		gm_db_close(job.db);
		return err;
	}
	*db = job.db;
	*hist = job.hist;
	return NULL;
}

void gm_cli_close(struct gm_migration_set *set, struct gm_db *db)
{
	gm_db_close(db);
	gm_migration_set_free(set);
}

/* ---- output files ---- */

static struct gm_error *write_error(const char *path, const char *what, int e)
{
	return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot write: %s%s%s", what,
			   *what ? ": " : "", strerror(e));
}

/* Whether a link may be followed, as the kernel's protected_symlinks
 * rule has it: in a sticky, world-writable folder (/tmp) only a link owned
 * by the follower or by the folder's owner.  Another user's link there is
 * a trap: it would have garage-migrate replace a file of its choosing. */
static int link_trusted(const char *link, const struct stat *lst)
{
	const char *slash = strrchr(link, '/');
	char *dir = slash ? gm_xstrndup(link, slash == link ? 1 : (size_t)(slash - link)) : gm_xstrdup(".");
	struct stat dst;
	int ok = stat(dir, &dst) != 0 || !(dst.st_mode & S_ISVTX) || !(dst.st_mode & S_IWOTH) ||
		 lst->st_uid == geteuid() || lst->st_uid == dst.st_uid;

	free(dir);
	return ok;
}

/* Where path leads: the file at the end of its chain of symbolic links
 * (which need not exist yet), so writing it keeps the links.  NULL with
 * errno set when the chain cannot be followed (a loop, ELOOP; another
 * user's link in a sticky folder, EACCES). */
static char *follow_links(const char *path)
{
	char *p = gm_xstrdup(path);
	int hops;

	for (hops = 0; hops < 40; hops++) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;
		char *slash, *next;

		if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
			return p;
		if (!link_trusted(p, &st)) {
			free(p);
			errno = EACCES;
			return NULL;
		}
		if ((n = readlink(p, target, sizeof(target) - 1)) < 0) {
			free(p);
			return NULL;
		}
		target[n] = '\0';
		slash = strrchr(p, '/');
		if (target[0] == '/' || !slash)
			next = gm_xstrdup(target);
		else
			next = gm_xasprintf("%.*s/%s", (int)(slash - p), p, target);
		free(p);
		p = next;
	}
	free(p);
	errno = ELOOP;
	return NULL;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A device or FIFO is written where it is: renaming a file over it would
 * replace it (and a reader of the FIFO would never see a byte). */
static struct gm_error *write_in_place(const char *path, const char *target,
				       const char *buf, size_t len, int truncate)
{
	/* Non-blocking open: a FIFO without a reader fails (ENXIO) instead of
	 * waiting for one forever; the writes block as usual. */
	int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (truncate ? O_TRUNC : 0)), e;

	if (fd < 0)
		return write_error(path, errno == ENXIO ? "nothing reads from it" : "", errno);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (write_all(fd, buf, len) != 0) {
		e = errno;
		close(fd);
		return write_error(path, "", e);
	}
	if (close(fd) != 0)
		return write_error(path, "", errno);
	return NULL;
}

/* The mode a new file gets from fopen: 0666 less the umask. */
static mode_t new_file_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

/* A regular (or new) file: written to a temporary file next to it, synced,
 * then renamed over it, so a reader sees the old file or the whole new
 * one and a failure leaves the old one as it was. */
static struct gm_error *write_replace(const char *path, const char *target,
				      const struct stat *old, const char *buf, size_t len)
{
	const char *slash = strrchr(target, '/');
	char *tmp = slash ? gm_xasprintf("%.*s/.%s.tmp-XXXXXX", (int)(slash - target), target, slash + 1)
			  : gm_xasprintf(".%s.tmp-XXXXXX", target);
	struct gm_error *err = NULL;
	int fd = mkstemp(tmp);

	if (fd < 0) {
		err = write_error(path, "cannot create a temporary file next to it", errno);
		free(tmp);
		return err;
	}
	/* The new file takes the old one's owner when we may give it (as
	 * root), so replacing another user's file does not make it ours. */
	if (old && old->st_uid != geteuid() && fchown(fd, old->st_uid, old->st_gid) != 0 && geteuid() == 0)
		err = write_error(path, "cannot keep its owner", errno);
	else if (fchmod(fd, old ? old->st_mode & 07777 : new_file_mode()) != 0)
		err = write_error(path, "cannot set the mode", errno);
	else if (write_all(fd, buf, len) != 0)
		err = write_error(path, "", errno);
	else if (fsync(fd) != 0)
		err = write_error(path, "", errno);
	if (close(fd) != 0 && !err)
		err = write_error(path, "", errno);
	if (!err && rename(tmp, target) != 0)
		err = write_error(path, "", errno);
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

/* mkdir -p dir (each folder 0777 less the umask); errors name path, the
 * file being written. */
static struct gm_error *mkdir_p(const char *path, char *dir)
{
	size_t n = strlen(dir);
	struct gm_error *err = NULL;

	/* Each prefix that ends before a '/', then the whole folder. */
	for (size_t k = 1; k <= n && !err; k++) {
		if (dir[k] != '/' && dir[k] != '\0')
			continue;
		dir[k] = '\0';
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			char *what = gm_xasprintf("cannot create the folder %s", dir);
			err = write_error(path, what, errno);
			free(what);
		}
		dir[k] = k < n ? '/' : '\0';
	}
	return err;
}

/* Creates the folders leading to target that do not exist yet, so that
 * dump -o schema/snapshot.yaml works in a new project.  A component that
 * exists but is no folder is left for the write to report (ENOTDIR). */
static struct gm_error *make_parents(const char *path, const char *target)
{
	const char *slash = strrchr(target, '/');
	struct gm_error *err = NULL;
	struct stat st;
	char *dir;

	if (!slash || slash == target)
		return NULL;
	dir = gm_xstrndup(target, (size_t)(slash - target));
	if (stat(dir, &st) != 0)
		err = mkdir_p(path, dir);
	free(dir);
	return err;
}

struct gm_error *gm_cli_create_file(const char *path, const char *buf, size_t len, int *exists)
{
	struct gm_error *err;
	int fd, e;

	*exists = 0;
	if ((err = make_parents(path, path)))
		return err;
	/* O_EXCL: an existing file, or a symbolic link even to nothing, is
	 * never replaced. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0666);
	if (fd < 0) {
		*exists = errno == EEXIST;
		return write_error(path, "", errno);
	}
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(path);
		return write_error(path, "", e);
	}
	if (close(fd) != 0) {
		e = errno;
		unlink(path);
		return write_error(path, "", e);
	}
	return NULL;
}

struct gm_error *gm_cli_write_file(const char *path, const char *buf, size_t len)
{
	char *target = follow_links(path);
	struct gm_error *err;
	struct stat st;
	int exists, e;

	if (!target)
		return write_error(path, errno == EACCES ? "another user's symbolic link in a shared sticky folder is not followed"
							 : "cannot follow the symbolic link", errno);
	exists = stat(target, &st) == 0;
	e = exists ? 0 : errno;
	if (e && e != ENOENT)
		err = write_error(path, "", e);
	else if (exists && S_ISDIR(st.st_mode))
		err = write_error(path, "", EISDIR);
	else if (exists && !S_ISREG(st.st_mode))
		err = write_in_place(path, target, buf, len, 0);
	else if (exists && st.st_nlink > 1)
		/* Replacing it would cut it off from its other names. */
		err = write_in_place(path, target, buf, len, 1);
	else if (!(err = exists ? NULL : make_parents(path, target)))
		err = write_replace(path, target, exists ? &st : NULL, buf, len);
	free(target);
	return err;
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
