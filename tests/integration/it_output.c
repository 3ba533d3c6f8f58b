/* Integration tests: output files (dump -o, verify --junit) and stdout.
 * A device or FIFO is written in place and stays what it is, a symbolic
 * link is followed and stays a link, a file keeps its mode, and every
 * write error is reported with its real reason.  Issue 11, item 4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

struct fixture {
	char *db;
	char *dir;	/* a fresh temporary folder per test */
	char *dump;	/* what dump prints on stdout */
	char *full;	/* a node for /dev/full's device */
	char *null;	/* and /dev/null's */
};

/* A device node of our own in dir (as root): a regression that renames a
 * file over its target then ruins a throwaway node, not the machine's
 * /dev/full.  Others cannot replace /dev/full anyway, so they use it. */
static char *device(const char *dir, const char *name, unsigned minor)
{
	char *p = gm_xasprintf("%s/%s", dir, name);

	if (mknod(p, S_IFCHR | 0666, makedev(1, minor)) == 0)
		return p;
	free(p);
	return gm_xasprintf("/dev/%s", name);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err;

	f->db = pgt_create_db("gm_out");
	f->dir = tfs_tempdir();
	f->full = device(f->dir, "full", 7);
	f->null = device(f->dir, "null", 3);
	assert_int_equal(pgt_gm(NULL, NULL, f->db, "up"), 0);
	assert_int_equal(pgt_run(&f->dump, &err, "%s -d 'dbname=%s' dump", pgt_bin(), f->db), 0);
	assert_true(strlen(f->dump) > 4096);	/* more than one stdio buffer */
	free(err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tfs_rmdir(f->dir);
	free(f->full);
	free(f->null);
	free(f->db);
	free(f->dump);
	free(f);
	return 0;
}

static int dump_to(struct fixture *f, char **err, const char *path)
{
	return pgt_run(NULL, err, "%s -d 'dbname=%s' dump -o '%s'", pgt_bin(), f->db, path);
}

static char *in_dir(const struct fixture *f, const char *name)
{
	return gm_xasprintf("%s/%s", f->dir, name);
}

/* n entries in the folder besides the device nodes: no temporary file
 * left behind. */
static void assert_dir_holds(const struct fixture *f, size_t n)
{
	static const char *const ours[] = { ".", "..", "full", "null" };
	DIR *d = opendir(f->dir);
	struct dirent *de;
	size_t seen = 0, k;

	assert_non_null(d);
	while ((de = readdir(d))) {
		for (k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
			if (!strcmp(de->d_name, ours[k]))
				break;
		seen += k == sizeof(ours) / sizeof(ours[0]);
	}
	closedir(d);
	assert_int_equal(seen, n);
}

static void test_device(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *err, *want = gm_xasprintf("%s: error: cannot write: No space left on device\n", f->full);

	assert_int_equal(dump_to(f, &err, f->full), 6);
	assert_string_equal(err, want);	/* one line, path and reason */
	free(err);
	free(want);
	assert_int_equal(stat(f->full, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* A device that takes the bytes is written too. */
	assert_int_equal(dump_to(f, &err, f->null), 0);
	free(err);
	assert_int_equal(stat(f->null, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

static void test_fifo(void **state)
{
	struct fixture *f = *state;
	char *fifo = in_dir(f, "fifo"), *got = in_dir(f, "got"), *text, *err;
	struct stat st;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* The reader starts first; dump opens the FIFO and writes into it. */
	assert_int_equal(pgt_run(NULL, &err, "timeout 60 cat '%s' > '%s' & %s -d 'dbname=%s' dump -o '%s'; rc=$?; wait; exit $rc",
				 fifo, got, pgt_bin(), f->db, fifo), 0);
	free(err);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	text = tfs_read(got);
	assert_string_equal(text, f->dump);
	free(text);
	free(fifo);
	free(got);
}

static void test_symlink(void **state)
{
	struct fixture *f = *state;
	char *link = in_dir(f, "link.yaml"), *target = in_dir(f, "target.yaml"), *text, *err;
	char *dangling = in_dir(f, "dangling.yaml"), *created = in_dir(f, "created.yaml");
	struct stat st;

	tfs_write(f->dir, "target.yaml", "old\n");
	assert_int_equal(symlink("target.yaml", link), 0);
	assert_int_equal(dump_to(f, &err, link), 0);
	free(err);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = tfs_read(target);
	assert_string_equal(text, f->dump);
	free(text);
	/* A link to a file not there yet: the file is created, the link kept. */
	assert_int_equal(symlink(created, dangling), 0);
	assert_int_equal(dump_to(f, &err, dangling), 0);
	free(err);
	assert_int_equal(lstat(dangling, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = tfs_read(created);
	assert_string_equal(text, f->dump);
	free(text);
	assert_dir_holds(f, 4);
	free(link);
	free(target);
	free(dangling);
	free(created);
}

static void test_mode(void **state)
{
	struct fixture *f = *state;
	char *secret = in_dir(f, "private.yaml"), *fresh = in_dir(f, "fresh.yaml"), *text, *err;
	struct stat st;

	tfs_write(f->dir, "private.yaml", "old\n");
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(dump_to(f, &err, secret), 0);
	free(err);
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = tfs_read(secret);
	assert_string_equal(text, f->dump);
	free(text);
	/* A new file gets what fopen would give it: 0666 less the umask. */
	assert_int_equal(pgt_run(NULL, &err, "umask 027; %s -d 'dbname=%s' dump -o '%s'", pgt_bin(), f->db, fresh), 0);
	free(err);
	assert_int_equal(stat(fresh, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_dir_holds(f, 2);
	free(secret);
	free(fresh);
}

static void test_failures_name_the_path_and_reason(void **state)
{
	struct fixture *f = *state;
	char *missing = in_dir(f, "keep.yaml/folder/x.yaml"), *err, *want, *keep, *text;

	/* Missing folders are made (it_config.c), but not through a file. */
	tfs_write(f->dir, "keep.yaml", "old\n");
	assert_int_equal(dump_to(f, &err, missing), 6);
	want = gm_xasprintf("%s: error: cannot write", missing);
	assert_contains(err, want);
	assert_contains(err, "Not a directory");
	free(want);
	free(err);
	assert_int_equal(dump_to(f, &err, f->dir), 6);
	assert_contains(err, "Is a directory");
	free(err);
	/* A write that fails half way (file size limit) leaves the old file
	 * as it was, and no temporary file. */
	tfs_write(f->dir, "keep.yaml", "old\n");
	keep = in_dir(f, "keep.yaml");
	assert_int_equal(pgt_run(NULL, &err, "trap '' XFSZ; ulimit -f 1; %s -d 'dbname=%s' dump -o '%s'",
				 pgt_bin(), f->db, keep), 6);
	assert_contains(err, "keep.yaml: error: cannot write: File too large");
	free(err);
	text = tfs_read(keep);
	assert_string_equal(text, "old\n");
	free(text);
	assert_dir_holds(f, 1);
	free(keep);
	free(missing);
}

static void test_junit_on_a_device(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *err, *want = gm_xasprintf("%s: error: cannot write: No space left on device", f->full);
	char *args = gm_xasprintf("verify --snapshot '%s/schema/snapshot.yaml' --junit '%s'", pgt_root(), f->full);

	assert_int_equal(pgt_gm(NULL, &err, f->db, args), 6);
	assert_contains(err, want);
	free(err);
	free(want);
	free(args);
	assert_int_equal(stat(f->full, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

static void test_stdout_errors(void **state)
{
	struct fixture *f = *state;
	char *err;

	/* list's output fits one buffer, dump's does not: either way the
	 * reason is the real one, not a stale errno ("Success"). */
	assert_int_equal(pgt_run(NULL, &err, "%s -d 'dbname=%s' -m '%s/migrations' list > '%s'",
				 pgt_bin(), f->db, pgt_root(), f->full), 6);
	assert_string_equal(err, "garage-migrate: cannot write output: No space left on device\n");
	free(err);
	assert_int_equal(pgt_run(NULL, &err, "%s -d 'dbname=%s' dump > '%s'", pgt_bin(), f->db, f->full), 6);
	assert_string_equal(err, "garage-migrate: cannot write output: No space left on device\n");
	free(err);
	/* A reader that went away is not worth a message. */
	pgt_run(NULL, &err, "trap '' PIPE; %s -d 'dbname=%s' dump | true", pgt_bin(), f->db);
	assert_not_contains(err, "cannot write");
	free(err);
}

/* A reader that went away (up | head -1) does not end up between two
 * migrations: the first progress line used to kill it (SIGPIPE, 141)
 * with the rest unapplied.  The pipe's reader is closed before up starts,
 * so its first write fails whatever the timing. */
static void test_closed_pipe_does_not_stop_up(void **state)
{
	char *db = pgt_create_db("gm_pipe"), *err, *n;
	int fds[2];
	PGconn *c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	assert_int_equal(pgt_run(NULL, &err, "%s -d 'dbname=%s' -m '%s/migrations' up >&%d",
				 pgt_bin(), db, pgt_root(), fds[1]), 6);
	close(fds[1]);
	assert_string_equal(err, "");
	c = pgt_connect(db);
	n = pgt_value(c, "SELECT count(*) FROM garage_migrate.schema_history");
	assert_string_equal(n, "8");
	PQfinish(c);
	free(n);
	free(err);
	free(db);
}

/* Another user's link in a shared sticky folder (/tmp) is not followed:
 * it would have root replace a file of that user's choosing.  A file
 * with several names is written in place, and another user's file keeps
 * its owner.  A FIFO nobody reads is an error, not a hang. */
static void test_links_owners_and_readers(void **state)
{
	struct fixture *f = *state;
	char *sticky = in_dir(f, "sticky"), *victim = in_dir(f, "victim"), *err, *text;
	char *trap = gm_xasprintf("%s/report.yaml", sticky), *alias = in_dir(f, "alias"), *fifo = in_dir(f, "fifo");
	struct stat st;

	if (geteuid() != 0)
		skip();	/* needs a second user */
	tfs_write(f->dir, "victim", "root's secret\n");
	assert_int_equal(chmod(victim, 0600), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);	/* nobody may reach the sticky folder */
	assert_int_equal(mkdir(sticky, 01777), 0);
	assert_int_equal(chmod(sticky, 01777), 0);
	assert_int_equal(pgt_run(NULL, NULL, "runuser -u nobody -- ln -s '%s' '%s'", victim, trap), 0);
	assert_int_equal(dump_to(f, &err, trap), 6);
	assert_contains(err, "another user's symbolic link in a shared sticky folder is not followed");
	free(err);
	text = tfs_read(victim);
	assert_string_equal(text, "root's secret\n");
	free(text);
	/* Hard links stay one file. */
	assert_int_equal(link(victim, alias), 0);
	assert_int_equal(dump_to(f, &err, alias), 0);
	free(err);
	text = tfs_read(victim);
	assert_string_equal(text, f->dump);
	free(text);
	/* Another user's file keeps its owner. */
	assert_int_equal(chown(victim, 65534, 65534), 0);
	assert_int_equal(unlink(alias), 0);
	assert_int_equal(dump_to(f, &err, victim), 0);
	free(err);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	/* A FIFO without a reader. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(pgt_run(NULL, &err, "timeout 10 %s -d 'dbname=%s' dump -o '%s'", pgt_bin(), f->db, fifo), 6);
	assert_contains(err, "nothing reads from it");
	free(err);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(trap), 0);
	assert_int_equal(rmdir(sticky), 0);
	assert_int_equal(unlink(victim), 0);
	free(sticky);
	free(victim);
	free(trap);
	free(alias);
	free(fifo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_name_the_path_and_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit_on_a_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdout_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_owners_and_readers, setup, teardown),
		cmocka_unit_test(test_closed_pipe_does_not_stop_up),
	};
	return cmocka_run_group_tests_name("output files and stdout", tests, NULL, NULL);
}
