/* probe.c - verify --isolation: prove tenant isolation by acting as a
 * tenant.
 *
 * Reading policy text cannot prove isolation; acting as a tenant can.  In
 * one transaction that always ends in ROLLBACK (roles, grants, rows and
 * settings included, whatever happens), the probe:
 *   1. takes a role subject to RLS: a temporary one (NOLOGIN, no
 *      BYPASSRLS) with the privileges an application has, or --as-role;
 *   2. creates two tenants, A and B, with rows in every tenant table,
 *      derived from the catalog: NOT NULL columns get a value of their type,
 *      enums their first label, foreign keys the row of the same tenant;
 *      tables with is_public / is_system get public and system rows too;
 *   3. as tenant B (app.current_org_id set per transaction, as applications
 *      must) checks every command on every tenant table against A's rows;
 *   4. checks that an empty and an unset tenant show nothing private and
 *      raise no error;
 *   5. checks, as the connecting user, that A's rows are byte for byte as
 *      they were.
 * Every statement runs in a savepoint, so an expected refusal (42501) does
 * not end the probe. */
#include "gm_db.h"
#include "gm_error.h"
#include "gm_verify.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SQLSTATE_RLS_VIOLATION "42501"

struct pcol {
	const char *name, *type, *not_null, *def;
	struct ptable *ref;	/* single-column foreign key target, or NULL */
};

struct ptable {
	char *name;		/* "public.orders", as in the model */
	char *q;		/* quoted for SQL */
	struct pcol *cols;
	size_t ncols;
	const char *pk;		/* single-column primary key, or NULL */
	int tenant, has_org, has_public, has_system, org_nullable;
	int needed;		/* gets fixture rows */
	char *row[2];		/* tenant A's and B's private (or only) row */
	char *pub;		/* A's public row */
	char *sys;		/* a system row */
	char *not_covered;	/* why it has no fixtures */
	char *digest;		/* of A's rows, before B acted */
};

struct probe {
	struct gm_db *db;
	const struct gm_model *m;
	struct gm_verify_result *res;
	struct ptable *t;
	size_t nt;
	int bypass;		/* the connecting user bypasses RLS */
	char *role;		/* quoted probe role */
	struct ptable *orgs;	/* the table organization_id refers to */
	char *org[2];		/* A's and B's organization ids */
	unsigned serial;	/* for unique text values */
};

static const char *const tenant_name[2] = { "A", "B" };

/* ---- the catalog, from the model ---- */

static struct ptable *find_table(struct probe *p, const char *name)
{
	for (size_t k = 0; k < p->nt; k++)
		if (!strcmp(p->t[k].name, name))
			return &p->t[k];
	return NULL;
}

static struct ptable *add_table(struct probe *p, const char *name, size_t len)
{
	struct ptable *t;
	char *n = gm_xstrndup(name, len);

	if ((t = find_table(p, n))) {
		free(n);
		return t;
	}
	p->t = gm_xrealloc(p->t, (p->nt + 1) * sizeof(*p->t));
	t = &p->t[p->nt++];
	memset(t, 0, sizeof(*t));
	t->name = n;
	return t;
}

static struct pcol *find_col(struct ptable *t, const char *name)
{
	for (size_t k = 0; k < t->ncols; k++)
		if (!strcmp(t->cols[k].name, name))
			return &t->cols[k];
	return NULL;
}

/* Reads tables, columns, primary keys and single-column foreign keys. */
static void load_tables(struct probe *p)
{
	const struct gm_model *m = p->m;
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *rest, *sp;
		struct ptable *t;

		if (strncmp(f->object, "table ", 6))
			continue;
		rest = f->object + 6;
		sp = strchr(rest, ' ');
		t = add_table(p, rest, sp ? (size_t)(sp - rest) : strlen(rest));
		if (sp && !strncmp(sp, " column ", 8)) {
			const char *cname = sp + 8;
			struct pcol *c = find_col(t, cname);
			if (!c) {
				t->cols = gm_xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
				c = &t->cols[t->ncols++];
				memset(c, 0, sizeof(*c));
				c->name = cname;
			}
			if (!strcmp(f->attr, "type")) c->type = f->value;
			else if (!strcmp(f->attr, "not_null")) c->not_null = f->value;
			else if (!strcmp(f->attr, "default")) c->def = f->value;
		}
	}
	/* Keys need every table first (a foreign key may point forward). */
	for (k = 0; k < m->n; k++) {
		const struct gm_fact *f = &m->v[k];
		const char *rest = f->object + 6, *sp = strchr(rest, ' ');
		char *tname, *cname;
		const char *type, *cols, *ref;
		struct ptable *t;

		if (strncmp(f->object, "table ", 6) || !sp || strncmp(sp, " constraint ", 12) ||
		    strcmp(f->attr, "type"))
			continue;
		tname = gm_xstrndup(rest, (size_t)(sp - rest));
		t = find_table(p, tname);
		free(tname);
		type = f->value;
		cols = gm_model_get(m, f->object, "columns");
		ref = gm_model_get(m, f->object, "references");
		if (!t || !cols || strchr(cols, ','))
			continue;
		cname = gm_xstrdup(cols);
		if (!strcmp(type, "primary key")) {
			struct pcol *c = find_col(t, cname);
			t->pk = c ? c->name : NULL;
		} else if (!strcmp(type, "foreign key") && ref) {
			struct pcol *c = find_col(t, cname);
			if (c)
				c->ref = find_table(p, ref);
		}
		free(cname);
	}
}

/* "public.orders" -> "public"."orders" */
static char *quote_qualified(struct gm_db *db, const char *name)
{
	const char *dot = strchr(name, '.');
	char *schema = gm_xstrndup(name, dot ? (size_t)(dot - name) : 0);
	char *qs = gm_db_quote_ident(db, schema), *qt = gm_db_quote_ident(db, dot ? dot + 1 : name);
	char *q = gm_xasprintf("%s.%s", qs, qt);

	free(schema);
	free(qs);
	free(qt);
	return q;
}

static void classify(struct probe *p)
{
	size_t n, k, j;
	char **tenants = gm_tenant_tables(p->m, &n);

	for (k = 0; k < n; k++) {
		struct ptable *t = find_table(p, tenants[k]);
		if (t) {
			struct pcol *org = find_col(t, "organization_id");
			t->tenant = t->needed = 1;
			t->has_org = org != NULL;
			t->org_nullable = org && org->not_null && !strcmp(org->not_null, "false");
			t->has_public = find_col(t, "is_public") != NULL;
			t->has_system = find_col(t, "is_system") != NULL && t->org_nullable;
		}
		free(tenants[k]);
	}
	free(tenants);
	/* Tables tenant rows refer to (organizations, users) get rows too. */
	for (k = 0; k < p->nt; k++)
		for (j = 0; p->t[k].tenant && j < p->t[k].ncols; j++)
			if (p->t[k].cols[j].ref)
				p->t[k].cols[j].ref->needed = 1;
	for (k = 0; k < p->nt; k++) {
		struct pcol *org = p->t[k].tenant ? find_col(&p->t[k], "organization_id") : NULL;
		p->t[k].q = quote_qualified(p->db, p->t[k].name);
		if (org && org->ref && !p->orgs)
			p->orgs = org->ref;
	}
}

/* ---- running statements ---- */

struct outcome {
	int ok;
	long affected;
	char *value;		/* first column of the first row */
	char *sqlstate;
	char *message;
};

static void outcome_release(struct outcome *o)
{
	free(o->value);
	free(o->sqlstate);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

/* Runs sql in a savepoint: an error is an outcome, not the end. */
static void run(struct probe *p, struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void run(struct probe *p, struct outcome *o, const char *fmt, ...)
{
	struct gm_strbuf sql = GM_STRBUF_INIT;
	PGresult *r;
	va_list ap;

	memset(o, 0, sizeof(*o));
	va_start(ap, fmt);
	gm_strbuf_vaddf(&sql, fmt, ap);
	va_end(ap);
	PQclear(PQexec(p->db->conn, "SAVEPOINT gm_probe"));
	r = PQexec(p->db->conn, sql.buf);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
		o->ok = 1;
		o->affected = strtol(PQcmdTuples(r), NULL, 10);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			o->value = gm_xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		PQclear(PQexec(p->db->conn, "RELEASE SAVEPOINT gm_probe"));
	} else {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		o->sqlstate = gm_xstrdup(st ? st : "");
		o->message = gm_xstrdup(msg ? msg : PQerrorMessage(p->db->conn));
		PQclear(r);
		PQclear(PQexec(p->db->conn, "ROLLBACK TO SAVEPOINT gm_probe"));
		PQclear(PQexec(p->db->conn, "RELEASE SAVEPOINT gm_probe"));
	}
	gm_strbuf_release(&sql);
}

/* Becomes the probe role with tenant i (0 A, 1 B), '' for -1, or no
 * tenant setting at all for -2. */
static void act_as(struct probe *p, int tenant)
{
	struct outcome o;

	if (tenant >= 0)
		run(p, &o, "SELECT set_config('app.current_org_id', '%s', true)", p->org[tenant]);
	else if (tenant == -1)
		run(p, &o, "SELECT set_config('app.current_org_id', '', true)");
	else
		o.ok = 1, o.value = NULL, o.sqlstate = NULL, o.message = NULL;
	outcome_release(&o);
	run(p, &o, "SET LOCAL ROLE %s", p->role);
	outcome_release(&o);
}

static void act_as_self(struct probe *p, int tenant)
{
	struct outcome o;

	run(p, &o, "RESET ROLE");
	outcome_release(&o);
	if (tenant >= 0) {
		run(p, &o, "SELECT set_config('app.current_org_id', '%s', true)", p->org[tenant]);
		outcome_release(&o);
	}
}

/* ---- reporting ---- */

/* Records a check.  A failed check is a finding: "isolation_breach" when
 * a tenant reached what it must not, "isolation_denied" when it was kept
 * from what it must reach (its own rows, shared rows). */
static void check(struct probe *p, const struct ptable *t, const char *cmd, int ok,
		  const char *expectation, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void check(struct probe *p, const struct ptable *t, const char *cmd, int ok,
		  const char *expectation, const char *fmt, ...)
{
	int denied = strstr(expectation, " can ") != NULL;
	struct gm_verify_result *res = p->res;
	struct gm_probe_check *c;
	struct gm_strbuf msg = GM_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	res->probe = gm_xrealloc(res->probe, (res->nprobe + 1) * sizeof(*res->probe));
	c = &res->probe[res->nprobe++];
	c->table = gm_xstrdup(t ? t->name : "-");
	c->command = gm_xstrdup(cmd);
	c->expectation = gm_xstrdup(expectation);
	c->ok = ok;
	c->result = gm_xstrdup(msg.buf);
	if (!ok) {
		char *obj = gm_xasprintf("table %s", c->table);
		gm_findings_add(&res->findings, GM_CHECK_ISOLATION, denied ? "isolation_denied" : "isolation_breach",
			GM_LEVEL_ERROR, obj,
			denied ? "widen the table's policy for that command: tenants must reach their own and shared rows"
			       : "bind the table's policy for that command to (SELECT app_current_org_id()), then verify --isolation again",
			"%s: %s, but %s", cmd, expectation, msg.buf);
		free(obj);
	}
	gm_strbuf_release(&msg);
}

/* ---- fixtures ---- */

static const char *first_enum_label(const struct gm_model *m, const char *type, char *buf, size_t size)
{
	char name[256];
	size_t n = strlen(type), k;

	if (n >= 2 && type[0] == '"' && type[n - 1] == '"') {
		type++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, type, n);
	name[n] = '\0';
	for (k = 0; k < m->n; k++) {
		const char *o = m->v[k].object, *dot;
		if (strncmp(o, "enum ", 5) || strcmp(m->v[k].attr, "labels"))
			continue;
		dot = strrchr(o, '.');
		if (dot && !strcmp(dot + 1, name)) {
			const char *labels = m->v[k].value, *comma = strstr(labels, ", ");
			size_t len = comma ? (size_t)(comma - labels) : strlen(labels);
			if (len >= size)
				return NULL;
			memcpy(buf, labels, len);
			buf[len] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* A SQL literal of the column's type, or NULL when the probe cannot make
 * one (the table is then reported as not covered). */
static char *value_for(struct probe *p, const struct pcol *c, int tenant)
{
	const char *t = c->type;
	char label[128];

	if (!strncmp(t, "character varying", 17) || !strcmp(t, "text") || !strncmp(t, "character(", 10) ||
	    !strcmp(t, "citext"))
		return gm_xasprintf("'gmp-%s-%u'", tenant_name[tenant], ++p->serial);
	if (!strcmp(t, "uuid"))
		return gm_xstrdup("gen_random_uuid()");
	if (!strcmp(t, "integer") || !strcmp(t, "bigint") || !strcmp(t, "smallint") ||
	    !strncmp(t, "numeric", 7) || !strcmp(t, "real") || !strcmp(t, "double precision"))
		return gm_xstrdup("1");
	if (!strcmp(t, "boolean"))
		return gm_xstrdup("false");
	if (!strcmp(t, "jsonb") || !strcmp(t, "json"))
		return gm_xstrdup("'{}'");
	if (!strncmp(t, "timestamp", 9) || !strcmp(t, "date"))
		return gm_xstrdup("now()");
	if (strlen(t) > 2 && !strcmp(t + strlen(t) - 2, "[]"))
		return gm_xstrdup("'{}'");
	if (first_enum_label(p->m, t, label, sizeof(label)))
		return gm_xasprintf("'%s'", label);
	return NULL;
}

enum kind { PRIVATE, PUBLIC, SYSTEM };

/* Inserts one fixture row; returns its primary key (caller frees) or NULL
 * with t->not_covered set. */
static char *insert_row(struct probe *p, struct ptable *t, int tenant, enum kind kind)
{
	struct gm_strbuf cols = GM_STRBUF_INIT, vals = GM_STRBUF_INIT;
	struct outcome o;
	char *pk = NULL;
	size_t k;

	for (k = 0; k < t->ncols; k++) {
		const struct pcol *c = &t->cols[k];
		char *v = NULL;
		int required = c->not_null && !strcmp(c->not_null, "true") && c->def && !*c->def;

		if (t->tenant && !strcmp(c->name, "organization_id"))
			v = kind == SYSTEM ? gm_xstrdup("NULL") : gm_xasprintf("'%s'", p->org[tenant]);
		else if (c->ref && c->ref->row[tenant] && c->ref != t)
			v = gm_xasprintf("'%s'", c->ref->row[tenant]);
		else if (!strcmp(c->name, "is_public") && t->tenant)
			v = gm_xstrdup(kind == PUBLIC ? "true" : "false");
		else if (!strcmp(c->name, "is_system") && t->tenant)
			v = gm_xstrdup(kind == SYSTEM ? "true" : "false");
		else if (required && !(v = value_for(p, c, tenant))) {
			free(t->not_covered);
			t->not_covered = gm_xasprintf("no value for column %s of type %s", c->name, c->type);
			goto done;
		}
		if (!v)
			continue;
		gm_strbuf_addf(&cols, "%s%s", cols.len ? ", " : "", c->name);
		gm_strbuf_addf(&vals, "%s%s", vals.len ? ", " : "", v);
		free(v);
	}
	if (t->tenant && !p->bypass)
		act_as_self(p, tenant);
	if (cols.len)
		run(p, &o, "INSERT INTO %s (%s) VALUES (%s) RETURNING %s::text", t->q, cols.buf, vals.buf, t->pk);
	else
		run(p, &o, "INSERT INTO %s DEFAULT VALUES RETURNING %s::text", t->q, t->pk);
	if (o.ok && o.value) {
		pk = o.value;
		o.value = NULL;
	} else {
		free(t->not_covered);
		t->not_covered = gm_xasprintf("cannot insert a %s row: %s", kind == SYSTEM ? "system" : "test",
					      o.message ? o.message : "no row returned");
	}
	outcome_release(&o);
done:
	gm_strbuf_release(&cols);
	gm_strbuf_release(&vals);
	return pk;
}

/* Parents before children: repeat until nothing more can be made. */
static void make_fixtures(struct probe *p)
{
	int progress = 1;
	size_t k, j;

	for (k = 0; k < p->nt; k++)
		if (p->t[k].needed && !p->t[k].pk)
			p->t[k].not_covered = gm_xstrdup("no single-column primary key");
	while (progress) {
		progress = 0;
		for (k = 0; k < p->nt; k++) {
			struct ptable *t = &p->t[k];
			int ready = t->needed && !t->row[0] && !t->not_covered;
			for (j = 0; ready && j < t->ncols; j++)
				if (t->cols[j].ref && t->cols[j].ref != t && t->cols[j].ref->needed &&
				    !t->cols[j].ref->row[1])
					ready = 0;
			if (!ready)
				continue;
			for (int x = 0; x < 2 && !t->not_covered; x++) {
				t->row[x] = insert_row(p, t, x, PRIVATE);
				/* The tenants are rows of the organizations table. */
				if (t == p->orgs && t->row[x])
					p->org[x] = gm_xstrdup(t->row[x]);
			}
			if (t->has_public && !t->not_covered)
				t->pub = insert_row(p, t, 0, PUBLIC);
			if (t->has_system && !t->not_covered)
				t->sys = insert_row(p, t, 0, SYSTEM);
			progress = 1;
		}
	}
	for (k = 0; k < p->nt; k++)
		if (p->t[k].needed && !p->t[k].row[1] && !p->t[k].not_covered)
			p->t[k].not_covered = gm_xstrdup("its parent rows could not be made");
}

/* ---- the checks ---- */

/* Like run, but always undone (B deleting its own row must not break the
 * checks of the tables below it). */
static void run_undone(struct probe *p, struct outcome *o, const char *sql)
{
	PQclear(PQexec(p->db->conn, "SAVEPOINT gm_probe_undo"));
	run(p, o, "%s", sql);
	PQclear(PQexec(p->db->conn, "ROLLBACK TO SAVEPOINT gm_probe_undo"));
	PQclear(PQexec(p->db->conn, "RELEASE SAVEPOINT gm_probe_undo"));
}

/* 'id1', 'id2' for the rows given (NULLs skipped). */
static char *id_list(const char *a, const char *b, const char *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	const char *v[3] = { a, b, c };

	for (int k = 0; k < 3; k++)
		if (v[k])
			gm_strbuf_addf(&sb, "%s'%s'", sb.len ? ", " : "", v[k]);
	return gm_strbuf_detach(&sb, NULL);
}

static void expect_count(struct probe *p, struct ptable *t, const char *cmd, const char *ids,
			 long want, const char *expectation)
{
	struct outcome o;
	char *sql = gm_xasprintf("SELECT count(*) FROM %s WHERE %s IN (%s)", t->q, t->pk, ids);

	run(p, &o, "%s", sql);
	if (!o.ok)
		check(p, t, cmd, 0, expectation, "the query failed: %s", o.message);
	else if (strtol(o.value, NULL, 10) != want)
		check(p, t, cmd, 0, expectation, "%s row%s visible", o.value, strcmp(o.value, "1") ? "s were" : " was");
	else
		check(p, t, cmd, 1, expectation, "%ld visible", want);
	outcome_release(&o);
	free(sql);
}

/* A write that must touch nothing: refused (42501) or zero rows. */
static void expect_no_write(struct probe *p, struct ptable *t, const char *cmd, const char *sql,
			    const char *expectation)
{
	struct outcome o;

	run(p, &o, "%s", sql);
	if (o.ok && o.affected == 0)
		check(p, t, cmd, 1, expectation, "0 rows affected");
	else if (o.ok)
		check(p, t, cmd, 0, expectation, "%ld row%s affected", o.affected, o.affected == 1 ? " was" : "s were");
	else if (!strcmp(o.sqlstate, SQLSTATE_RLS_VIOLATION))
		check(p, t, cmd, 1, expectation, "refused by row level security");
	else
		check(p, t, cmd, 0, expectation, "it failed in another way, so it cannot be told: %s", o.message);
	outcome_release(&o);
}

/* A write that must be refused by RLS. */
static void expect_refused(struct probe *p, struct ptable *t, const char *cmd, const char *sql,
			   const char *expectation)
{
	struct outcome o;

	run(p, &o, "%s", sql);
	if (!o.ok && !strcmp(o.sqlstate, SQLSTATE_RLS_VIOLATION))
		check(p, t, cmd, 1, expectation, "refused by row level security");
	else if (o.ok && o.affected == 0)
		check(p, t, cmd, 1, expectation, "0 rows affected");
	else if (o.ok)
		check(p, t, cmd, 0, expectation, "%ld row%s written", o.affected, o.affected == 1 ? " was" : "s were");
	else
		check(p, t, cmd, 0, expectation, "it failed in another way, so it cannot be told: %s", o.message);
	outcome_release(&o);
}

static void expect_own_write(struct probe *p, struct ptable *t, const char *cmd, const char *sql,
			     const char *expectation)
{
	struct outcome o;

	run_undone(p, &o, sql);
	if (o.ok && o.affected == 1)
		check(p, t, cmd, 1, expectation, "1 row affected");
	else
		check(p, t, cmd, 0, expectation, "%s", o.ok ? "no row was affected" : o.message);
	outcome_release(&o);
}

/* The column tying a row to its tenant: organization_id, or the foreign
 * key to a tenant table. */
static const struct pcol *tenant_key(const struct ptable *t)
{
	for (size_t k = 0; k < t->ncols; k++)
		if (t->has_org ? !strcmp(t->cols[k].name, "organization_id")
			       : (t->cols[k].ref && t->cols[k].ref->tenant && t->cols[k].ref->row[0]))
			return &t->cols[k];
	return NULL;
}

/* The value that would make a row tenant A's. */
static const char *a_value(struct probe *p, const struct ptable *t, const struct pcol *key)
{
	return t->has_org ? p->org[0] : key->ref->row[0];
}

static void check_table_as_b(struct probe *p, struct ptable *t)
{
	const struct pcol *key = tenant_key(t);
	const struct pcol *pkcol = find_col(t, t->pk);
	char *a_all = id_list(t->row[0], t->pub, t->sys), *sql, *exp;
	long shared = (t->pub != NULL) + (t->sys != NULL);

	act_as(p, 1);
	sql = id_list(t->row[0], NULL, NULL);
	expect_count(p, t, "SELECT", sql, 0, "tenant B cannot read tenant A's private rows");
	free(sql);
	if (shared) {
		sql = id_list(t->pub, t->sys, NULL);
		expect_count(p, t, "SELECT", sql, shared, "tenant B can read shared (public, system) rows");
		free(sql);
	}
	sql = id_list(t->row[1], NULL, NULL);
	expect_count(p, t, "SELECT", sql, 1, "tenant B can read its own rows");
	free(sql);

	sql = gm_xasprintf("UPDATE %s SET %s = %s WHERE %s IN (%s)", t->q, t->pk, t->pk, t->pk, a_all);
	expect_no_write(p, t, "UPDATE", sql, shared ? "tenant B cannot update tenant A's rows, public and system ones included"
						    : "tenant B cannot update tenant A's rows");
	free(sql);
	sql = gm_xasprintf("DELETE FROM %s WHERE %s IN (%s)", t->q, t->pk, a_all);
	expect_no_write(p, t, "DELETE", sql, shared ? "tenant B cannot delete tenant A's rows, public and system ones included"
						    : "tenant B cannot delete tenant A's rows");
	free(sql);

	if (key && pkcol && !strcmp(pkcol->type, "uuid")) {
		/* A copy of B's own row, made tenant A's. */
		sql = gm_xasprintf("INSERT INTO %s SELECT (jsonb_populate_record(NULL::%s, to_jsonb(t) || "
				   "jsonb_build_object('%s', gen_random_uuid(), '%s', '%s'))).* FROM %s t WHERE %s = '%s'",
				   t->q, t->q, t->pk, key->name, a_value(p, t, key), t->q, t->pk, t->row[1]);
		exp = t->has_org ? gm_xstrdup("tenant B cannot insert rows for tenant A")
				 : gm_xasprintf("tenant B cannot insert rows under tenant A's %s", key->ref->name);
		expect_refused(p, t, "INSERT", sql, exp);
		free(sql);
		free(exp);
	} else {
		check(p, t, "INSERT", 1, "tenant B cannot insert rows for tenant A", "not covered: no tenant key or uuid primary key");
	}
	if (key) {
		sql = gm_xasprintf("UPDATE %s SET %s = '%s' WHERE %s = '%s'", t->q, key->name, a_value(p, t, key),
				   t->pk, t->row[1]);
		expect_refused(p, t, "UPDATE", sql, "tenant B cannot move its own rows to tenant A");
		free(sql);
	}
	sql = gm_xasprintf("UPDATE %s SET %s = %s WHERE %s = '%s'", t->q, t->pk, t->pk, t->pk, t->row[1]);
	expect_own_write(p, t, "UPDATE", sql, "tenant B can update its own rows");
	free(sql);
	sql = gm_xasprintf("DELETE FROM %s WHERE %s = '%s'", t->q, t->pk, t->row[1]);
	expect_own_write(p, t, "DELETE", sql, "tenant B can delete its own rows");
	free(sql);
	act_as_self(p, -1);
	free(a_all);
}

/* With tenant '' (-1) or none at all (-2): nothing private, no error. */
static void check_without_tenant(struct probe *p, int how)
{
	const char *what = how == -1 ? "an empty tenant context" : "no tenant context";
	size_t k;

	act_as(p, how);
	for (k = 0; k < p->nt; k++) {
		struct ptable *t = &p->t[k];
		struct outcome o;
		char *exp, *ids;

		if (!t->tenant || t->not_covered)
			continue;
		exp = gm_xasprintf("%s shows no private row and raises no error", what);
		ids = id_list(t->row[0], t->row[1], NULL);
		run(p, &o, "SELECT count(*) FROM %s WHERE %s IN (%s)", t->q, t->pk, ids);
		if (!o.ok)
			check(p, t, "SELECT", 0, exp, "it raised an error: %s", o.message);
		else if (strcmp(o.value, "0"))
			check(p, t, "SELECT", 0, exp, "%s private rows were visible", o.value);
		else
			check(p, t, "SELECT", 1, exp, "0 visible");
		outcome_release(&o);
		free(ids);
		free(exp);
	}
	act_as_self(p, -1);
}

/* Before any fixture exists (when fixtures need a tenant setting): an
 * unset tenant must not make queries fail. */
static void check_unset_before_fixtures(struct probe *p)
{
	size_t k;

	act_as(p, -2);
	for (k = 0; k < p->nt; k++) {
		struct outcome o;
		if (!p->t[k].tenant)
			continue;
		run(p, &o, "SELECT count(*) FROM %s", p->t[k].q);
		check(p, &p->t[k], "SELECT", o.ok, "no tenant context raises no error",
		      "%s", o.ok ? "no error" : o.message);
		outcome_release(&o);
	}
	act_as_self(p, -1);
}

static char *digest(struct probe *p, struct ptable *t)
{
	struct outcome o;
	char *ids = id_list(t->row[0], t->pub, t->sys), *d;

	if (!p->bypass)
		act_as_self(p, 0);
	run(p, &o, "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) || ':' || count(*)"
		   " FROM %s t WHERE %s IN (%s)", t->q, t->pk, ids);
	d = o.ok && o.value ? gm_xstrdup(o.value) : gm_xstrdup(o.message ? o.message : "?");
	outcome_release(&o);
	free(ids);
	return d;
}

static void check_app_role(struct probe *p, const char *role)
{
	struct outcome o;
	char *lit = gm_db_quote_literal(p->db, role);
	size_t k;

	run(p, &o, "SELECT CASE WHEN rolsuper THEN 'superuser' WHEN rolbypassrls THEN 'BYPASSRLS' ELSE '' END"
		   " FROM pg_roles WHERE rolname = %s", lit);
	if (!o.ok || !o.value)
		check(p, NULL, "ROLE", 0, "the application role is subject to row level security",
		      "role %s does not exist", role);
	else if (*o.value)
		check(p, NULL, "ROLE", 0, "the application role is subject to row level security",
		      "role %s is %s and bypasses every policy", role, o.value);
	else
		check(p, NULL, "ROLE", 1, "the application role is subject to row level security",
		      "role %s is neither superuser nor BYPASSRLS", role);
	outcome_release(&o);
	for (k = 0; k < p->nt; k++) {
		struct ptable *t = &p->t[k];
		char *tl;
		if (!t->tenant)
			continue;
		tl = gm_db_quote_literal(p->db, t->q);
		run(p, &o, "SELECT r.rolname = %s AND NOT c.relforcerowsecurity FROM pg_class c"
			   " JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = %s::regclass", lit, tl);
		if (o.ok && o.value && !strcmp(o.value, "t"))
			check(p, t, "ALL", 0, "the application role does not own the table without FORCE ROW LEVEL SECURITY",
			      "role %s owns it and RLS is not forced, so its policies do not apply to that role", role);
		outcome_release(&o);
		free(tl);
	}
	free(lit);
}

static struct gm_error *prepare_role(struct probe *p, const struct gm_verify_opts *o)
{
	struct outcome r;
	struct gm_error *err = NULL;
	size_t k;

	if (o->as_role) {
		p->role = gm_db_quote_ident(p->db, o->as_role);
		run(p, &r, "SET LOCAL ROLE %s", p->role);
		if (!r.ok)
			err = gm_error_new(GM_ERR_DB, "cannot act as role %s: %s", o->as_role, r.message);
		outcome_release(&r);
		act_as_self(p, -1);
		return err;
	}
	{
		char *name = gm_xasprintf("gm_probe_%d_%ld", (int)getpid(), (long)time(NULL));
		p->role = gm_db_quote_ident(p->db, name);
		free(name);
	}
	run(p, &r, "CREATE ROLE %s NOLOGIN NOSUPERUSER NOBYPASSRLS", p->role);
	if (!r.ok) {
		err = gm_error_new(GM_ERR_DB, "cannot create a temporary role for the isolation probe: %s", r.message);
		gm_error_advise(err, "connect as a role with CREATEROLE, or pass --as-role NAME (a role subject to RLS with the application's privileges)");
		outcome_release(&r);
		return err;
	}
	outcome_release(&r);
	run(p, &r, "GRANT %s TO CURRENT_USER", p->role);
	outcome_release(&r);
	for (k = 0; k < p->m->nschemas && !err; k++) {
		char *s = gm_db_quote_ident(p->db, p->m->schemas[k]);
		run(p, &r, "GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s;"
			   " GRANT USAGE ON ALL SEQUENCES IN SCHEMA %s TO %s", s, p->role, s, p->role, s, p->role);
		if (!r.ok)
			err = gm_error_new(GM_ERR_DB, "cannot grant the probe role what an application has: %s", r.message);
		outcome_release(&r);
		free(s);
	}
	return err;
}

static void release_probe(struct probe *p)
{
	for (size_t k = 0; k < p->nt; k++) {
		struct ptable *t = &p->t[k];
		free(t->name);
		free(t->q);
		free(t->cols);
		free(t->row[0]);
		free(t->row[1]);
		free(t->pub);
		free(t->sys);
		free(t->not_covered);
		free(t->digest);
	}
	free(p->t);
	free(p->role);
	free(p->org[0]);
	free(p->org[1]);
}

static void run_checks(struct probe *p, const struct gm_verify_opts *o)
{
	struct outcome r;
	size_t k;

	if (!p->bypass)
		check_unset_before_fixtures(p);
	make_fixtures(p);
	if (!p->org[0] || !p->org[1]) {
		check(p, NULL, "INSERT", 0, "the probe can create two tenants",
		      "no organizations table was found or it refused rows");
		return;
	}
	if (p->bypass)
		check_without_tenant(p, -2);
	for (k = 0; k < p->nt; k++)
		if (p->t[k].tenant && !p->t[k].not_covered)
			p->t[k].digest = digest(p, &p->t[k]);
	for (k = 0; k < p->nt; k++) {
		struct ptable *t = &p->t[k];
		if (!t->tenant)
			continue;
		if (t->not_covered) {
			char *obj = gm_xasprintf("table %s", t->name);
			gm_findings_add(&p->res->findings, GM_CHECK_ISOLATION, "isolation_not_covered", GM_LEVEL_WARNING,
					obj, "give the table a single-column uuid primary key and NOT NULL columns of common types",
					"the probe could not make test rows: %s", t->not_covered);
			free(obj);
			continue;
		}
		check_table_as_b(p, t);
	}
	check_without_tenant(p, -1);
	for (k = 0; k < p->nt; k++) {
		struct ptable *t = &p->t[k];
		char *after;
		if (!t->digest)
			continue;
		after = digest(p, t);
		check(p, t, "ALL", !strcmp(after, t->digest), "tenant A's rows are unchanged afterwards",
		      "%s", strcmp(after, t->digest) ? "they changed" : "byte for byte identical");
		free(after);
	}
	act_as_self(p, -1);
	if (o->app_role)
		check_app_role(p, o->app_role);
	(void)r;
}

struct gm_error *gm_probe_run(struct gm_db *db, const struct gm_model *m,
			      const struct gm_verify_opts *o, struct gm_verify_result *res)
{
	struct probe p;
	struct gm_error *err;
	PGresult *r;

	memset(&p, 0, sizeof(p));
	p.db = db;
	p.m = m;
	p.res = res;
	/* Whatever happens below, this transaction is rolled back: nothing
	 * the probe made (role, grants, rows, settings) survives it. */
	if ((err = gm_db_exec(db, "BEGIN", "cannot start the isolation probe", NULL)))
		return err;
	r = PQexec(db->conn, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user");
	p.bypass = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	load_tables(&p);
	classify(&p);
	if (!(err = prepare_role(&p, o)))
		run_checks(&p, o);
	PQclear(PQexec(db->conn, "ROLLBACK"));
	res->ran[GM_CHECK_ISOLATION] = 1;
	release_probe(&p);
	return err;
}
