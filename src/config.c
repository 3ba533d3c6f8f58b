/* config.c - the project file, garage-migrate.yaml (see gm_config.h).
 *
 * Read from libyaml's event stream rather than its document loader: each
 * value is checked against the file's one shape as soon as it is read, so
 * the reader never goes deeper than that shape (three levels) however
 * deeply a file nests, and an alias, which a project file has no use for,
 * is refused instead of expanded (gm_yamllimits.h tells why expansion
 * needs bounds).  The file's size is bounded too.
 *
 * A URL could hold a password, so no message quotes a URL, a value read
 * where a URL or variable name belongs, or a line of the file (no caret
 * line: a syntax error on a line holding a password would show it). */
#include "gm_config.h"
#include "gm_db.h"
#include "gm_error.h"
#include "gm_history.h"
#include "gm_script.h"
#include "gm_strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

struct reader {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	const char *text;
	size_t len;
	struct gm_config *c;
	struct gm_config_env *env;	/* the environment being read */
	yaml_mark_t env_mark;		/* where its name is */
};

/* ---- defaults ---- */

void gm_config_defaults(struct gm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->migrations = gm_xstrdup(GM_CONFIG_DEFAULT_MIGRATIONS);
	c->snapshot = gm_xstrdup(GM_CONFIG_DEFAULT_SNAPSHOT);
	gm_tenancy_defaults(&c->tenancy);
}

void gm_config_release(struct gm_config *c)
{
	for (size_t k = 0; k < c->nenvs; k++) {
		free(c->envs[k].name);
		free(c->envs[k].url);
		free(c->envs[k].url_env);
	}
	free(c->envs);
	free(c->path);
	free(c->migrations);
	free(c->snapshot);
	free(c->lock_timeout);
	free(c->statement_timeout);
	free(c->wait_timeout);
	gm_tenancy_release(&c->tenancy);
	gm_strlist_release(&c->trusted_roles);
	gm_lint_levels_release(&c->lint);
	memset(c, 0, sizeof(*c));
}

/* ---- errors ---- */

static struct gm_error *at(const struct reader *r, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct gm_error *at(const struct reader *r, yaml_mark_t mark, const char *fmt, ...)
{
	struct gm_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = gm_error_vat(GM_ERR_INPUT, r->c->path, (unsigned)mark.line + 1, (unsigned)mark.column + 1, fmt, ap);
	va_end(ap);
	return err;
}

/* ---- events ---- */

/* Reads the next event into r->ev (freeing the previous one). */
static struct gm_error *next(struct reader *r)
{
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	r->have_ev = 0;
	if (!yaml_parser_parse(&r->parser, &r->ev)) {
		yaml_mark_t mark = r->parser.problem_mark;
		const char *problem = r->parser.problem ? r->parser.problem : "malformed YAML";
		if (mark.index < r->len && r->text[mark.index] == '\t')
			return at(r, mark, "tab character: YAML is indented with spaces");
		if (r->parser.context)
			return at(r, mark, "%s %s", problem, r->parser.context);
		return at(r, mark, "%s", problem);
	}
	r->have_ev = 1;
	if (r->ev.type == YAML_ALIAS_EVENT)
		return at(r, r->ev.start_mark, "alias '*%s': a project file has no aliases, write the value out",
			  (const char *)r->ev.data.alias.anchor);
	if (r->ev.type == YAML_SCALAR_EVENT && memchr(r->ev.data.scalar.value, '\0', r->ev.data.scalar.length))
		return at(r, r->ev.start_mark, "NUL character in a value");
	return NULL;
}

static const char *text_of(const struct reader *r)
{
	return (const char *)r->ev.data.scalar.value;
}

/* An empty plain value ("key:" with nothing after it), ~ or null. */
static int is_null(const struct reader *r)
{
	const char *v = text_of(r);

	if (r->ev.type != YAML_SCALAR_EVENT || r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *kind_of(const struct reader *r)
{
	switch (r->ev.type) {
	case YAML_SCALAR_EVENT: return is_null(r) ? "nothing" : "a single value";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_MAPPING_START_EVENT: return "a mapping";
	default: return "nothing";
	}
}

static struct gm_error *wrong_type(const struct reader *r, const char *what, const char *want)
{
	return at(r, r->ev.start_mark, "%s must be %s, not %s", what, want, kind_of(r));
}

/* ---- values ---- */

/* A single non-empty value; r->ev stays on it. */
static struct gm_error *read_text(struct reader *r, const char *what, char **out)
{
	struct gm_error *err = next(r);

	if (err)
		return err;
	if (r->ev.type != YAML_SCALAR_EVENT || is_null(r))
		return wrong_type(r, what, "a single value");
	if (!r->ev.data.scalar.length)
		return at(r, r->ev.start_mark, "%s must not be empty", what);
	free(*out);
	*out = gm_xstrdup(text_of(r));
	return NULL;
}

/* A list of distinct non-empty names, replacing *out (not added to it:
 * a list in the file says all there is).  Nothing is an empty list. */
static struct gm_error *read_names(struct reader *r, const char *what, int at_least_one,
				   struct gm_strlist *out)
{
	struct gm_strlist l = { NULL, 0 };
	struct gm_error *err;
	yaml_mark_t start;

	if ((err = next(r)))
		return err;
	start = r->ev.start_mark;
	if (!is_null(r)) {
		if (r->ev.type != YAML_SEQUENCE_START_EVENT)
			return wrong_type(r, what, "a list of names");
		while (!(err = next(r)) && r->ev.type != YAML_SEQUENCE_END_EVENT) {
			if (r->ev.type != YAML_SCALAR_EVENT || is_null(r) || !r->ev.data.scalar.length) {
				err = at(r, r->ev.start_mark, "each entry of %s must be a name, not %s", what,
					 r->ev.type == YAML_SCALAR_EVENT && !is_null(r) ? "an empty value" : kind_of(r));
				break;
			}
			if (gm_strlist_has(&l, text_of(r))) {
				err = at(r, r->ev.start_mark, "%s names '%s' twice", what, text_of(r));
				break;
			}
			gm_strlist_add(&l, text_of(r));
		}
	}
	if (!err && at_least_one && !l.n)
		err = at(r, start, "%s must name at least one", what);
	if (err) {
		gm_strlist_release(&l);
		return err;
	}
	gm_strlist_release(out);
	*out = l;
	return NULL;
}

/* A path, relative to the file's folder when not absolute. */
static char *resolve(const char *file, const char *p)
{
	const char *slash = file ? strrchr(file, '/') : NULL;

	if (p[0] == '/' || !slash)
		return gm_xstrdup(p);
	if (slash == file)
		return gm_xasprintf("/%s", p);
	return gm_xasprintf("%.*s/%s", (int)(slash - file), file, p);
}

static struct gm_error *read_path(struct reader *r, const char *what, char **out)
{
	char *p = NULL;
	struct gm_error *err = read_text(r, what, &p);

	if (!err) {
		free(*out);
		*out = resolve(r->c->path, p);
	}
	free(p);
	return err;
}

/* A PostgreSQL interval as the command-line options take it; nothing
 * keeps the default. */
static struct gm_error *read_timeout(struct reader *r, const char *what, char **out)
{
	struct gm_error *err = next(r);

	if (err || is_null(r))
		return err;
	if (r->ev.type != YAML_SCALAR_EVENT)
		return wrong_type(r, what, "a duration such as 500ms, 5s or 1min");
	if (!gm_timeout_valid(text_of(r)))
		return at(r, r->ev.start_mark, "%s must be a duration such as 500ms, 5s or 1min, not '%s'", what,
			  text_of(r));
	free(*out);
	*out = gm_xstrdup(text_of(r));
	return NULL;
}

/* ---- mappings with fixed keys ---- */

struct field {
	const char *key;
	struct gm_error *(*read)(struct reader *r);
	int unlisted;		/* left out of "expected ..." (a key only refused) */
};

static struct gm_error *unknown_key(const struct reader *r, const char *what, const struct field *fields)
{
	struct gm_strbuf list = GM_STRBUF_INIT;
	struct gm_error *err;
	const char *key = text_of(r);

	for (const struct field *f = fields; f->key; f++)
		if (!f->unlisted)
			gm_strbuf_addf(&list, "%s%s", list.len ? ", " : "", f->key);
	err = at(r, r->ev.start_mark, "unknown key '%s' in %s (expected %s)", key, what, list.buf);
	if (!strcmp(key, "history_schema"))
		gm_error_advise(err, "the history schema is not configurable in this version: it is always "
				GM_HISTORY_SCHEMA);
	gm_strbuf_release(&list);
	return err;
}

/* The pairs of a mapping whose start was just read: keys among fields,
 * each at most once, each field's reader reading its value. */
static struct gm_error *read_pairs(struct reader *r, const char *what, const struct field *fields)
{
	unsigned long seen = 0;
	struct gm_error *err;

	while (!(err = next(r)) && r->ev.type != YAML_MAPPING_END_EVENT) {
		size_t k;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return at(r, r->ev.start_mark, "a key in %s must be a single value, not %s", what, kind_of(r));
		for (k = 0; fields[k].key && strcmp(fields[k].key, text_of(r)); k++)
			;
		if (!fields[k].key)
			return unknown_key(r, what, fields);
		if (seen & (1ul << k))
			return at(r, r->ev.start_mark, "duplicate key '%s' in %s", fields[k].key, what);
		seen |= 1ul << k;
		if ((err = fields[k].read(r)))
			return err;
	}
	return err;
}

/* A mapping of fields (see read_pairs); nothing is an empty mapping. */
static struct gm_error *read_fields(struct reader *r, const char *what, const struct field *fields)
{
	struct gm_error *err = next(r);

	if (err || is_null(r))
		return err;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return wrong_type(r, what, "a mapping");
	return read_pairs(r, what, fields);
}

/* ---- environments ---- */

enum url_verdict { URL_OK, URL_PASSWORD, URL_UNREADABLE };

static int is_uri(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

/* Whether a connection string holds a password, found by structure, never
 * by searching the text: a URL's user:password part or password parameter
 * (gm_db_url_blanked finds them as libpq does, and gives up on an
 * unencoded '@', which libpq would cut inside the password), then libpq's
 * own parse for key=value strings (password, sslpassword).  *why gets
 * libpq's message for an unreadable URL that holds no password (caller
 * frees), else NULL. */
static enum url_verdict judge_url(const char *url, char **why)
{
	char *blanked = gm_db_url_blanked(url), *perr = NULL;
	enum url_verdict v = URL_OK;
	PQconninfoOption *opts;
	int differs = !blanked || strcmp(blanked, url) != 0;

	*why = NULL;
	free(blanked);
	if (is_uri(url) && differs)
		return URL_PASSWORD;
	if (!(opts = PQconninfoParse(url, &perr))) {
		if (is_uri(url) && perr) {
			size_t n = strcspn(perr, "\n");
			*why = gm_xstrndup(perr, n);
		}
		PQfreemem(perr);
		return URL_UNREADABLE;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if ((!strcmp(o->keyword, "password") || !strcmp(o->keyword, "sslpassword")) && o->val && *o->val)
			v = URL_PASSWORD;
	PQconninfoFree(opts);
	return v;
}

static struct gm_error *password_refused(const struct reader *r, yaml_mark_t mark)
{
	struct gm_error *err = at(r, mark, "environment '%s' has a password in the project file (not shown): "
				  "the file is shared, so it holds none", r->env->name);

	gm_error_advise(err, "remove the password and give it with PGPASSWORD or ~/.pgpass, or put the "
			"whole URL in an environment variable and name it with url_env");
	return err;
}

static struct gm_error *check_url(const struct reader *r, yaml_mark_t mark)
{
	char *why = NULL;
	struct gm_error *err = NULL;

	switch (judge_url(r->env->url, &why)) {
	case URL_OK:
		break;
	case URL_PASSWORD:
		err = password_refused(r, mark);
		break;
	case URL_UNREADABLE:
		if (why)
			err = at(r, mark, "environment '%s': invalid database URL: %s", r->env->name, why);
		else
			err = at(r, mark, "environment '%s': invalid connection string (not shown: it may hold a password)",
				 r->env->name);
		gm_error_advise(err, "the form is postgresql://user@host:port/dbname?param=value, or key=value "
				"pairs separated by spaces");
		break;
	}
	free(why);
	return err;
}

static struct gm_error *read_env_url(struct reader *r)
{
	char *what = gm_xasprintf("environments.%s.url", r->env->name);
	struct gm_error *err = read_text(r, what, &r->env->url);

	free(what);
	return err ? err : check_url(r, r->ev.start_mark);
}

/* A variable's name as the shell writes it: the value is never quoted back
 * (someone may have put the URL itself here). */
static int is_var_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static struct gm_error *read_env_var(struct reader *r)
{
	char *what = gm_xasprintf("environments.%s.url_env", r->env->name);
	struct gm_error *err = read_text(r, what, &r->env->url_env);

	free(what);
	if (err || is_var_name(r->env->url_env))
		return err;
	err = at(r, r->ev.start_mark, "environment '%s': url_env must name an environment variable "
		 "(letters, digits and '_'); what it holds is not shown", r->env->name);
	gm_error_advise(err, "write the variable's name, e.g. url_env: PROD_DATABASE_URL (no '$', not the URL)");
	return err;
}

/* password: under an environment is refused, not merely unknown. */
static struct gm_error *read_env_password(struct reader *r)
{
	return password_refused(r, r->ev.start_mark);
}

static const struct field env_fields[] = {
	{ "url", read_env_url, 0 },
	{ "url_env", read_env_var, 0 },
	{ "password", read_env_password, 1 },
	{ NULL, NULL, 0 },
};

/* NAME: URL, or NAME: { url: URL } or { url_env: VARIABLE }. */
static struct gm_error *read_env(struct reader *r)
{
	struct gm_config_env *e = r->env;
	struct gm_error *err;
	char *what;

	if ((err = next(r)))
		return err;
	if (r->ev.type == YAML_SCALAR_EVENT && !is_null(r) && r->ev.data.scalar.length) {
		e->url = gm_xstrdup(text_of(r));
		return check_url(r, r->ev.start_mark);
	}
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return at(r, r->ev.start_mark, "environment '%s' must be a URL or a mapping with url or url_env, not %s",
			  e->name, r->ev.type == YAML_SCALAR_EVENT && !is_null(r) ? "an empty value" : kind_of(r));
	what = gm_xasprintf("environment '%s'", e->name);
	err = read_pairs(r, what, env_fields);
	if (!err && e->url && e->url_env)
		err = at(r, r->env_mark, "%s has both url and url_env: keep one", what);
	else if (!err && !e->url && !e->url_env)
		err = at(r, r->env_mark, "%s needs url or url_env", what);
	free(what);
	return err;
}

static int is_env_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return 0;
	return 1;
}

static struct gm_error *read_environments(struct reader *r)
{
	struct gm_config *c = r->c;
	struct gm_error *err;

	if ((err = next(r)) || is_null(r))
		return err;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return wrong_type(r, "environments", "a mapping of names to URLs");
	while (!(err = next(r)) && r->ev.type != YAML_MAPPING_END_EVENT) {
		if (r->ev.type != YAML_SCALAR_EVENT || !is_env_name(text_of(r)))
			return at(r, r->ev.start_mark, "an environment's name is letters, digits, '_', '-' and '.'");
		if (gm_config_find_env(c, text_of(r)))
			return at(r, r->ev.start_mark, "environment '%s' defined twice", text_of(r));
		c->envs = gm_xrealloc(c->envs, (c->nenvs + 1) * sizeof(*c->envs));
		r->env = &c->envs[c->nenvs++];
		memset(r->env, 0, sizeof(*r->env));
		r->env->name = gm_xstrdup(text_of(r));
		r->env_mark = r->ev.start_mark;
		if ((err = read_env(r)))
			return err;
	}
	return err;
}

/* ---- timeouts ---- */

static struct gm_error *read_lock(struct reader *r)
{
	return read_timeout(r, "timeouts.lock", &r->c->lock_timeout);
}

static struct gm_error *read_statement(struct reader *r)
{
	return read_timeout(r, "timeouts.statement", &r->c->statement_timeout);
}

static struct gm_error *read_wait(struct reader *r)
{
	return read_timeout(r, "timeouts.wait", &r->c->wait_timeout);
}

static const struct field timeout_fields[] = {
	{ "lock", read_lock, 0 },
	{ "statement", read_statement, 0 },
	{ "wait", read_wait, 0 },
	{ NULL, NULL, 0 },
};

static struct gm_error *read_timeouts(struct reader *r)
{
	return read_fields(r, "timeouts", timeout_fields);
}

/* ---- tenancy ---- */

static struct gm_error *read_columns(struct reader *r)
{
	return read_names(r, "tenancy.columns", 1, &r->c->tenancy.columns);
}

static struct gm_error *read_expression(struct reader *r)
{
	return read_text(r, "tenancy.expression", &r->c->tenancy.expression);
}

/* The statement gets the tenant as its only parameter: $1, and no $2 (or
 * $10) that would fail when the probe runs it. */
static int one_parameter(const char *sql)
{
	int ones = 0;

	for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$')) {
		if (!isdigit((unsigned char)p[1]))
			continue;
		if (p[1] != '1' || isdigit((unsigned char)p[2]))
			return 0;
		ones++;
	}
	return ones > 0;
}

static struct gm_error *read_set_tenant(struct reader *r)
{
	struct gm_error *err = read_text(r, "tenancy.set_tenant", &r->c->tenancy.set_tenant);

	if (err || one_parameter(r->c->tenancy.set_tenant))
		return err;
	err = at(r, r->ev.start_mark, "tenancy.set_tenant must take the tenant as $1, and no other parameter");
	gm_error_advise(err, "e.g. SELECT set_config('app.current_org_id', $1, true)");
	return err;
}

static struct gm_error *read_schemas(struct reader *r)
{
	r->c->tenancy.schemas_declared = 1;
	return read_names(r, "tenancy.schemas", 1, &r->c->tenancy.schemas);
}

static struct gm_error *read_public_read(struct reader *r)
{
	return read_names(r, "tenancy.public_read_columns", 0, &r->c->tenancy.public_read_columns);
}

static struct gm_error *read_global(struct reader *r)
{
	return read_names(r, "tenancy.global_tables", 0, &r->c->tenancy.global_tables);
}

static struct gm_error *read_anon(struct reader *r)
{
	return read_names(r, "tenancy.anon_roles", 0, &r->c->tenancy.anon_roles);
}

static const struct field tenancy_fields[] = {
	{ "columns", read_columns, 0 },
	{ "expression", read_expression, 0 },
	{ "set_tenant", read_set_tenant, 0 },
	{ "schemas", read_schemas, 0 },
	{ "public_read_columns", read_public_read, 0 },
	{ "global_tables", read_global, 0 },
	{ "anon_roles", read_anon, 0 },
	{ NULL, NULL, 0 },
};

static struct gm_error *read_tenancy(struct reader *r)
{
	return read_fields(r, "tenancy", tenancy_fields);
}

/* ---- lint ---- */

/* The level of one rule; the rule is the key just read. */
static struct gm_error *read_rule_level(struct reader *r, const struct gm_lint_rule *rule, yaml_mark_t key)
{
	struct gm_lint_levels *l = &r->c->lint;
	struct gm_error *err;
	int level;

	if (rule->fixed)
		return at(r, key, "lint rule %s cannot be given a level: a malformed lint-ignore is always an error", rule->id);
	if ((err = next(r)))
		return err;
	if (r->ev.type != YAML_SCALAR_EVENT || is_null(r))
		return wrong_type(r, "a lint rule's level", "error, warning, note or off");
	if ((level = gm_lint_level_parse(text_of(r))) < 0)
		return at(r, r->ev.start_mark, "lint.%s must be error, warning, note or off, not '%s'", rule->id, text_of(r));
	/* What the parser cannot read, the server may accept: it never
	 * stops a migration. */
	if (level == GM_LINT_ERROR && !strcmp(rule->id, "not_analysed"))
		return at(r, r->ev.start_mark, "lint.not_analysed cannot be an error: a statement libpg_query cannot"
			  " parse may be newer syntax the server accepts");
	l->v = gm_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].rule = gm_xstrdup(rule->id);
	l->v[l->n++].level = (enum gm_lint_level)level;
	return NULL;
}

static struct gm_error *read_lint(struct reader *r)
{
	struct gm_error *err;

	if ((err = next(r)) || is_null(r))
		return err;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return wrong_type(r, "lint", "a mapping of rules to levels");
	while (!(err = next(r)) && r->ev.type != YAML_MAPPING_END_EVENT) {
		const struct gm_lint_rule *rule;
		yaml_mark_t key = r->ev.start_mark;
		if (r->ev.type != YAML_SCALAR_EVENT)
			return at(r, key, "a key in lint must be a rule's name, not %s", kind_of(r));
		if (!(rule = gm_lint_rule_find(text_of(r)))) {
			err = at(r, key, "unknown lint rule '%s'", text_of(r));
			gm_error_advise(err, "the rules are listed in garage-migrate(1), LINT RULES");
			return err;
		}
		if (gm_lint_levels_get(&r->c->lint, rule->id) >= 0)
			return at(r, key, "duplicate key '%s' in lint", rule->id);
		if ((err = read_rule_level(r, rule, key)))
			return err;
	}
	return err;
}

/* ---- the file ---- */

static struct gm_error *read_migrations(struct reader *r)
{
	return read_path(r, "migrations", &r->c->migrations);
}

static struct gm_error *read_snapshot(struct reader *r)
{
	return read_path(r, "snapshot", &r->c->snapshot);
}

static struct gm_error *read_trusted_roles(struct reader *r)
{
	return read_names(r, "trusted_roles", 0, &r->c->trusted_roles);
}

static const struct field file_fields[] = {
	{ "environments", read_environments, 0 },
	{ "migrations", read_migrations, 0 },
	{ "snapshot", read_snapshot, 0 },
	{ "timeouts", read_timeouts, 0 },
	{ "tenancy", read_tenancy, 0 },
	{ "trusted_roles", read_trusted_roles, 0 },
	{ "lint", read_lint, 0 },
	{ NULL, NULL, 0 },
};

static struct gm_error *read_document(struct reader *r)
{
	struct gm_error *err;

	if ((err = next(r)) || (err = next(r)))	/* the stream's start, then... */
		return err;
	if (r->ev.type == YAML_STREAM_END_EVENT)
		return NULL;			/* nothing but comments */
	if ((err = read_fields(r, "the project file", file_fields)) || (err = next(r)) || (err = next(r)))
		return err;
	/* A second document (after "---") would be ignored without a word. */
	if (r->ev.type == YAML_DOCUMENT_START_EVENT)
		return at(r, r->ev.start_mark, "a second YAML document: the project file is one document");
	return NULL;
}

struct gm_error *gm_config_parse(const char *path, const char *text, size_t len, struct gm_config *out)
{
	struct reader r;
	struct gm_error *err;

	gm_config_defaults(out);
	free(out->migrations);
	free(out->snapshot);
	out->path = gm_xstrdup(path);
	/* The defaults are paths too: in the file's folder, the project's. */
	out->migrations = resolve(path, GM_CONFIG_DEFAULT_MIGRATIONS);
	out->snapshot = resolve(path, GM_CONFIG_DEFAULT_SNAPSHOT);
	memset(&r, 0, sizeof(r));
	r.text = text;
	r.len = len;
	r.c = out;
	if (!yaml_parser_initialize(&r.parser))
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	err = read_document(&r);
	if (r.have_ev)
		yaml_event_delete(&r.ev);
	yaml_parser_delete(&r.parser);
	if (err) {
		gm_config_release(out);
		gm_config_defaults(out);
	}
	return err;
}

static struct gm_error *read_all(const char *path, int fd, struct gm_strbuf *sb)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot read the project file: %s", strerror(errno));
		gm_strbuf_add(sb, buf, (size_t)n);
		if (sb->len > GM_CONFIG_MAX_BYTES)
			return gm_error_at(GM_ERR_INPUT, path, 0, 0, "the project file is larger than %s",
					   GM_CONFIG_MAX_BYTES_TEXT);
	}
	return NULL;
}

struct gm_error *gm_config_load(const char *path, int optional, struct gm_config *out)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	struct gm_error *err;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	gm_config_defaults(out);
	if (fd < 0 && optional && errno == ENOENT)
		return NULL;
	if (fd < 0) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open the project file: %s", strerror(errno));
		if (errno == ENOENT)
			gm_error_advise(err, "write one with garage-migrate -c %s init, or check the path", path);
		return err;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "the project file is a folder");
	else
		err = read_all(path, fd, &sb);
	close(fd);
	if (!err) {
		gm_config_release(out);
		err = gm_config_parse(path, sb.buf, sb.len, out);
	}
	gm_strbuf_release(&sb);
	return err;
}

/* ---- environments, for the command line ---- */

const struct gm_config_env *gm_config_find_env(const struct gm_config *c, const char *name)
{
	for (size_t k = 0; k < c->nenvs; k++)
		if (!strcmp(c->envs[k].name, name))
			return &c->envs[k];
	return NULL;
}

char *gm_config_env_names(const struct gm_config *c)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;

	for (size_t k = 0; k < c->nenvs; k++)
		gm_strbuf_addf(&sb, "%s%s", k ? ", " : "", c->envs[k].name);
	if (!c->nenvs)
		gm_strbuf_adds(&sb, "none");
	return gm_strbuf_detach(&sb, NULL);
}

struct gm_error *gm_config_env_url(const struct gm_config *c, const struct gm_config_env *e,
				   const char **url)
{
	const char *v;
	struct gm_error *err;

	*url = e->url;
	if (e->url)
		return NULL;
	v = getenv(e->url_env);
	if (v && *v) {
		*url = v;
		return NULL;
	}
	/* An empty variable is no URL: libpq would take it for "the local
	 * defaults" and connect somewhere else than meant. */
	err = gm_error_new(GM_ERR_USAGE, "environment '%s' takes its URL from $%s, which is %s", e->name,
			   e->url_env, v ? "empty" : "not set");
	gm_error_advise(err, "set %s (a CI secret, say), or give the database with -d URL; see url_env in %s",
			e->url_env, c->path ? c->path : GM_CONFIG_FILE);
	return err;
}

/* ---- the template `init` writes ---- */

/* Whether s reads back as itself written plain (in a [flow] list when
 * flow is set); else it is written double-quoted. */
static int plain_ok(const char *s, int flow)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "true", "false" };
	size_t n = strlen(s);

	if (!n || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':' ||
	    strstr(s, ": ") || strstr(s, " #"))
		return 0;
	for (size_t k = 0; k < sizeof(nulls) / sizeof(nulls[0]); k++)
		if (!strcmp(s, nulls[k]))
			return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || (flow && strchr(",[]{}", *p)))
			return 0;
	return 1;
}

static void add_scalar(struct gm_strbuf *out, const char *s, int flow)
{
	if (plain_ok(s, flow)) {
		gm_strbuf_adds(out, s);
		return;
	}
	gm_strbuf_addch(out, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			gm_strbuf_addf(out, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			gm_strbuf_addf(out, "\\x%02x", (unsigned char)*p);
		else
			gm_strbuf_addch(out, *p);
	}
	gm_strbuf_addch(out, '"');
}

static void add_list(struct gm_strbuf *out, const char *key, const struct gm_strlist *l)
{
	gm_strbuf_addf(out, "  %s: [", key);
	for (size_t k = 0; k < l->n; k++) {
		if (k)
			gm_strbuf_adds(out, ", ");
		add_scalar(out, l->v[k], 1);
	}
	gm_strbuf_adds(out, "]\n");
}

/* Every rule with its own level, commented out: naming a rule here fixes
 * its level, and the lock rules' own depends on the table's size. */
static void add_lint_levels(struct gm_strbuf *out)
{
	size_t n;
	const struct gm_lint_rule *rules = gm_lint_rules(&n);

	gm_strbuf_adds(out,
		"\n"
		"# Levels of the lint's rules (garage-migrate lint, and up before it sends\n"
		"# anything): error stops up, warning and note are printed, off is not\n"
		"# checked.  Each rule is listed with its own level; one named here keeps\n"
		"# the level given (the lock rules' own follows the table's size: error on\n"
		"# a large table).\n"
		"# Rules are explained in garage-migrate(1), LINT RULES.\n"
		"lint:\n");
	for (size_t k = 0; k < n; k++) {
		if (rules[k].fixed)
			continue;
		gm_strbuf_addf(out, "  # %s: %s%s\n", rules[k].id, gm_lint_level_name(rules[k].level),
			       rules[k].sized ? "   # warning on a small table" : "");
	}
}

void gm_config_template(struct gm_strbuf *out)
{
	struct gm_tenancy t;

	gm_tenancy_defaults(&t);
	gm_strbuf_adds(out,
		"# garage-migrate.yaml: the project file of garage-migrate; every key is\n"
		"# explained in garage-migrate(5), PROJECT FILE.  Every key is optional and\n"
		"# the values below are the defaults.  Relative paths are relative to this\n"
		"# file's folder.\n"
		"\n"
		"# Databases, picked with -e NAME: a URL without a password, or (url_env)\n"
		"# the name of the environment variable that holds the URL.  A password\n"
		"# never goes in this file: use PGPASSWORD, ~/.pgpass or url_env.  The\n"
		"# database is -d URL if given, else -e NAME's, else $DATABASE_URL, else\n"
		"# libpq's PGHOST, PGPORT, PGUSER, PGDATABASE.\n"
		"environments:\n"
		"  # local: postgresql://postgres@localhost:5432/garage\n"
		"  # production:\n"
		"  #   url_env: PROD_DATABASE_URL\n"
		"\n"
		"# The migrations folder (-m DIR overrides it).\n"
		"migrations: ");
	add_scalar(out, GM_CONFIG_DEFAULT_MIGRATIONS, 0);
	gm_strbuf_adds(out,
		"\n"
		"\n"
		"# The schema snapshot verify compares against (--snapshot overrides it).\n"
		"snapshot: ");
	add_scalar(out, GM_CONFIG_DEFAULT_SNAPSHOT, 0);
	gm_strbuf_adds(out,
		"\n"
		"\n"
		"# Bounds of up and rollback, e.g. 500ms, 5s, 1min (--lock-timeout,\n"
		"# --statement-timeout and --wait-timeout override them).\n"
		"timeouts:\n"
		"  lock:        # each statement's wait for a lock; empty: no limit (30s\n"
		"               # for the catalog reads of verify and dump)\n"
		"  statement:   # each statement's run time; empty: the server's setting\n"
		"  wait: ");
	add_scalar(out, GM_DEFAULT_WAIT_TIMEOUT, 0);
	gm_strbuf_adds(out,
		"  # the wait for another garage-migrate run\n"
		"\n"
		"# How the schema isolates its tenants: what verify's RLS lints and\n"
		"# isolation probe check.\n"
		"tenancy:\n"
		"  # Columns that tie a row to its tenant.\n");
	add_list(out, "columns", &t.columns);
	gm_strbuf_adds(out, "  # The SQL expression that yields the current tenant, as policies write it.\n"
			    "  expression: ");
	add_scalar(out, t.expression, 0);
	gm_strbuf_adds(out, "\n  # The statement that makes $1 the current tenant for a transaction.\n"
			    "  set_tenant: ");
	add_scalar(out, t.set_tenant, 0);
	gm_strbuf_adds(out, "\n  # Schemas an API exposes: every table in them gets a verdict.\n");
	add_list(out, "schemas", &t.schemas);
	gm_strbuf_adds(out, "  # Boolean columns that make a row readable by every tenant.\n");
	add_list(out, "public_read_columns", &t.public_read_columns);
	gm_strbuf_adds(out, "  # Tables meant to be global (no tenant): schema.table, or table in any\n"
			    "  # exposed schema.\n");
	add_list(out, "global_tables", &t.global_tables);
	gm_strbuf_adds(out, "  # Roles anyone may act as (Supabase's anon): their grants on tenant\n"
			    "  # tables are checked like grants to PUBLIC.\n");
	add_list(out, "anon_roles", &t.anon_roles);
	gm_tenancy_release(&t);
	gm_strbuf_adds(out, "\n# Roles whose code migrations may run as you (a trigger's function, a\n"
			    "# schema of the search path), besides superusers, you, the database's\n"
			    "# owner and a table's owner: only roles you trust as yourself (Supabase's\n"
			    "# webhooks: supabase_functions_admin).\n"
			    "trusted_roles: []\n");
	add_lint_levels(out);
}
