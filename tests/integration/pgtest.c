/* pgtest.c - integration test helpers (see pgtest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gm_strbuf.h"
#include "pgtest.h"

const char *pgt_root(void)
{
	const char *r = getenv("GM_ROOT");
	return r && *r ? r : ".";
}

const char *pgt_bin(void)
{
	const char *b = getenv("GM_BIN");
	if (!b || !*b)
		fail_msg("GM_BIN is not set: run through 'make check'");
	return b;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *pgt_connect(const char *dbname)
{
	const char *keys[] = { "dbname", NULL };
	const char *vals[] = { dbname, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 0);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s (is this run through 'make check'?)",
			 dbname, PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

int pgt_server_major(void)
{
	static int major;

	if (!major) {
		PGconn *c = pgt_connect("postgres");
		major = PQserverVersion(c) / 10000;
		PQfinish(c);
	}
	return major;
}

char *pgt_create_db(const char *prefix)
{
	static int seq;
	char *name = gm_xasprintf("%s_%d_%d", prefix, (int)getpid(), ++seq);
	char *sql = gm_xasprintf("CREATE DATABASE \"%s\"", name);
	PGconn *c = pgt_connect("postgres");

	pgt_exec(c, sql);
	PQfinish(c);
	free(sql);
	return name;
}

char *pgt_deployer(PGconn *c, const char *db, const char *role)
{
	char *sql = gm_xasprintf("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN"
				 " CREATE ROLE \"%s\" LOGIN; END IF; END $$;"
				 " GRANT CREATE, USAGE ON SCHEMA public TO \"%s\";"
				 " GRANT CREATE ON DATABASE \"%s\" TO \"%s\"", role, role, role, db, role);

	pgt_exec(c, sql);
	free(sql);
	return gm_xasprintf("%s user=%s", db, role);
}

void pgt_drop_db(const char *db, const char *then_sql)
{
	char *sql = gm_xasprintf("DROP DATABASE \"%s\"", db);
	PGconn *c = pgt_connect("postgres");

	pgt_exec(c, sql);
	if (then_sql)
		pgt_exec(c, then_sql);
	PQfinish(c);
	free(sql);
}

void pgt_gm_start(struct pgt_bg *bg, const char *db, const char *dir, const char *args)
{
	bg->out_path = gm_xasprintf("%s/bg.out", dir);
	bg->rc_path = gm_xasprintf("%s/bg.rc", dir);
	if (pgt_run(NULL, NULL, "(%s -d 'dbname=%s' -m '%s' %s > '%s' 2>&1; echo $? > '%s') &",
		    pgt_bin(), db, dir, args, bg->out_path, bg->rc_path) != 0)
		fail_msg("cannot start %s in the background", args);
}

int pgt_gm_finish(struct pgt_bg *bg, char **out)
{
	char *text;
	int k, rc;

	for (k = 0; k < 300 && access(bg->rc_path, F_OK) != 0; k++)
		usleep(100 * 1000);
	usleep(100 * 1000);	/* the status is written after the output */
	text = tfs_read(bg->rc_path);
	rc = atoi(text);
	free(text);
	*out = tfs_read(bg->out_path);
	free(bg->out_path);
	free(bg->rc_path);
	return rc;
}

void pgt_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("SQL failed: %s\n%s", PQresultErrorMessage(r), sql);
	PQclear(r);
}

char *pgt_value(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("query failed: %s\n%s", PQresultErrorMessage(r), sql);
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = gm_xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

int pgt_is_null(PGconn *c, const char *sql)
{
	char *v = pgt_value(c, sql);

	free(v);
	return v == NULL;
}

long pgt_count(PGconn *c, const char *sql)
{
	char *v = pgt_value(c, sql);
	long n;

	if (!v)
		fail_msg("no value from: %s", sql);
	n = strtol(v, NULL, 10);
	free(v);
	return n;
}

char *pgt_error_state(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	const char *s;
	char *out;

	if (PQresultStatus(r) != PGRES_FATAL_ERROR)
		fail_msg("expected an error from: %s", sql);
	s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	out = gm_xstrdup(s ? s : "");
	PQclear(r);
	return out;
}

int pgt_run(char **out, char **err, const char *fmt, ...)
{
	char ofile[] = "/tmp/gm-it-out-XXXXXX", efile[] = "/tmp/gm-it-err-XXXXXX";
	struct gm_strbuf cmd = GM_STRBUF_INIT;
	int fo = mkstemp(ofile), fe = mkstemp(efile), rc;
	va_list ap;

	assert_true(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	gm_strbuf_adds(&cmd, "( ");
	va_start(ap, fmt);
	gm_strbuf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	gm_strbuf_addf(&cmd, " ) >%s 2>%s </dev/null", ofile, efile);
	rc = system(cmd.buf);
	gm_strbuf_release(&cmd);
	if (out)
		*out = tfs_read(ofile);
	if (err)
		*err = tfs_read(efile);
	unlink(ofile);
	unlink(efile);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

static const char catalog_sql[] =
	"SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM ("
	" SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity"
	"  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
	" UNION ALL SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
	"  || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')"
	"  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
	"  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
	"  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND a.attnum > 0 AND NOT a.attisdropped"
	" UNION ALL SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
	"  FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
	" UNION ALL SELECT 'idx ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid"
	"  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace"
	" UNION ALL SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)"
	"  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname"
	" UNION ALL SELECT 'fn ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
	" UNION ALL SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
	"  WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace"
	" UNION ALL SELECT 'pol ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || permissive || ' ' || roles::text"
	"  || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')"
	"  FROM pg_policies WHERE schemaname = 'public'"
	") s(x)";

char *pgt_catalog(PGconn *c)
{
	char *v = pgt_value(c, catalog_sql);

	return v ? v : gm_xstrdup("");
}

int pgt_gm(char **out, char **err, const char *db, const char *args)
{
	return pgt_run(out, err, "%s -d 'dbname=%s' -m '%s/migrations' %s", pgt_bin(), db,
		       pgt_root(), args);
}

int pgt_gm_dir(char **out, char **err, const char *db, const char *dir, const char *args)
{
	return pgt_run(out, err, "%s -d 'dbname=%s' -m '%s' %s", pgt_bin(), db, dir, args);
}

void pgt_wait_for_session(const char *db, const char *condition)
{
	PGconn *c = pgt_connect("postgres");
	char *sql = gm_xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()"
				 " AND (%s)", db, condition);
	int k;

	for (k = 0; k < 600 && pgt_count(c, sql) == 0; k++)
		usleep(50 * 1000);
	if (k == 600)
		fail_msg("no session on %s came to: %s", db, condition);
	free(sql);
	PQfinish(c);
}

void pgt_start(const char *cmd, const char *pidfile)
{
	assert_int_equal(pgt_run(NULL, NULL, "%s & echo $! > '%s'", cmd, pidfile), 0);
}
