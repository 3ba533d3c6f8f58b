/* pgtest.h - helpers for integration tests against the throwaway server
 * started by scripts/with-postgres.sh (PGHOST, PGPORT, PGUSER are set). */
#ifndef PGTEST_H
#define PGTEST_H

#include <libpq-fe.h>

#include "testfs.h"

/* Project root (GM_ROOT, default ".") and the binary under test (GM_BIN). */
const char *pgt_root(void);
const char *pgt_bin(void);

/* A fresh database with a unique name starting with prefix (caller frees). */
char *pgt_create_db(const char *prefix);
/* A login role (made when missing) that may create in database db and in
 * its public schema, as a deployer would; returns db's conninfo as that
 * role (caller frees).  c is connected to db as the superuser. */
char *pgt_deployer(PGconn *c, const char *db, const char *role);
/* Drops database db, then runs then_sql (may be NULL) on the postgres
 * database: the roles a test made for it, once nothing refers to them. */
void pgt_drop_db(const char *db, const char *then_sql);
PGconn *pgt_connect(const char *dbname);

/* The test server's major version (14, 15, ...): the version matrix runs
 * the suite on each, and a few tests need what older majors lack. */
int pgt_server_major(void);
/* Skips the running test (cmocka's skip()) with why, when the server is
 * older than major. */
#define PGT_NEEDS_MAJOR(major, why)                                                              \
	do {                                                                                       \
		if (pgt_server_major() < (major)) {                                                \
			print_message("skipped on PostgreSQL %d: %s\n", pgt_server_major(), why); \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* Fails the test on error. */
void pgt_exec(PGconn *c, const char *sql);
/* First column of the first row, or NULL for no row / SQL NULL (caller
 * frees); fails the test on error. */
char *pgt_value(PGconn *c, const char *sql);
long pgt_count(PGconn *c, const char *sql);
/* Non-zero when sql yields no row or SQL NULL (e.g. to_regclass of a
 * relation that does not exist). */
int pgt_is_null(PGconn *c, const char *sql);
/* Runs sql expecting an error; returns its SQLSTATE (caller frees). */
char *pgt_error_state(PGconn *c, const char *sql);

/* Everything the schema defines in public, one fact a line, sorted, free of
 * OIDs: relations with their RLS flags, columns (type, NOT NULL, default),
 * constraints, indexes, enums with labels in order, functions, triggers
 * and policies.  Two databases with equal fingerprints have the same
 * schema (caller frees). */
char *pgt_catalog(PGconn *c);

/* Runs the binary under test on database db with the project's migrations
 * (pgt_gm) or those in dir (pgt_gm_dir); captures output like pgt_run. */
int pgt_gm(char **out, char **err, const char *db, const char *args);
int pgt_gm_dir(char **out, char **err, const char *db, const char *dir, const char *args);

/* Waits (up to 30 s; fails the test after) until a session on database db
 * matches condition, an SQL boolean over pg_stat_activity's columns, e.g.
 * "wait_event = 'advisory'" or "wait_event = 'PgSleep'".
 * Tests use it instead of sleeping, so slow runs (valgrind) stay right. */
void pgt_wait_for_session(const char *db, const char *condition);

/* The binary under test run in the background (on database db, the
 * migrations in dir), while a test does something meanwhile. */
struct pgt_bg {
	char *out_path, *rc_path;
};
void pgt_gm_start(struct pgt_bg *bg, const char *db, const char *dir, const char *args);
/* Waits (up to 30 s) for that run to end; returns its exit status, and
 * its output in *out (caller frees). */
int pgt_gm_finish(struct pgt_bg *bg, char **out);

/* Starts cmd in the background; its pid goes to pidfile, so a test can
 * kill it. */
void pgt_start(const char *cmd, const char *pidfile);

/* Runs a shell command line; captures stdout and stderr (caller frees,
 * either may be NULL); returns the exit status. */
int pgt_run(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));


#define assert_contains(hay, needle)                                              \
	do {                                                                      \
		const char *h_ = (hay), *n_ = (needle);                           \
		if (!h_ || !strstr(h_, n_))                                       \
			fail_msg("expected to find '%s' in:\n%s", n_, h_ ? h_ : "(null)"); \
	} while (0)

#define assert_not_contains(hay, needle)                                          \
	do {                                                                      \
		const char *h_ = (hay), *n_ = (needle);                           \
		if (h_ && strstr(h_, n_))                                         \
			fail_msg("did not expect '%s' in:\n%s", n_, h_);          \
	} while (0)

#endif
