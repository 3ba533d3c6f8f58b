/* gm_config.h - the project file, garage-migrate.yaml.
 *
 *   environments:
 *     local: postgresql://postgres@localhost:5432/garage
 *     production:
 *       url_env: PROD_DATABASE_URL
 *   migrations: migrations
 *   snapshot: schema/snapshot.yaml
 *   timeouts:
 *     lock: 5s
 *     statement: 1min
 *     wait: 10min
 *   tenancy:
 *     columns: [organization_id]
 *     expression: (SELECT app_current_org_id())
 *     set_tenant: SELECT set_config('app.current_org_id', $1, true)
 *     schemas: [public]
 *     public_read_columns: [is_public, is_system]
 *     global_tables: []
 *     anon_roles: []
 *   lint:
 *     lock_without_timeout: error
 *     rename_column: off
 *
 * Every key is optional: what is absent keeps its default, and the
 * defaults (gm_tenancy_defaults) are AI Garage's conventions, so the
 * shipped project needs no file.  Unknown keys, repeated keys and wrong
 * types are GM_ERR_INPUT errors at file:line:col.  A password written in
 * the file is refused: the file is committed and shared.  Messages never
 * quote a URL or a line of the file, which could hold one.  See PROJECT
 * FILE in garage-migrate(5). */
#ifndef GM_CONFIG_H
#define GM_CONFIG_H

#include <stddef.h>

#include "gm_sqllint.h"
#include "gm_strbuf.h"
#include "gm_tenancy.h"

struct gm_error;

/* Read from the working directory when no -c FILE is given. */
#define GM_CONFIG_FILE "garage-migrate.yaml"

/* Paths when the file does not give them (relative to its folder). */
#define GM_CONFIG_DEFAULT_MIGRATIONS "migrations"
#define GM_CONFIG_DEFAULT_SNAPSHOT "schema/snapshot.yaml"

/* The largest project file read; a real one is a few hundred bytes. */
#define GM_CONFIG_MAX_BYTES (1u << 20)
#define GM_CONFIG_MAX_BYTES_TEXT "1 MiB"

struct gm_config_env {
	char *name;
	char *url;		/* the URL written in the file, or NULL */
	char *url_env;		/* the variable holding the URL, or NULL */
};

struct gm_config {
	char *path;		/* the file read, or NULL (no file: defaults) */
	struct gm_config_env *envs;
	size_t nenvs;
	/* Paths, resolved against the file's folder (given or default: the
	 * file's folder is the project's); never NULL. */
	char *migrations;
	char *snapshot;
	/* PostgreSQL intervals ("5s"), checked; NULL when not given. */
	char *lock_timeout;
	char *statement_timeout;
	char *wait_timeout;
	struct gm_tenancy tenancy;
	/* Roles whose code migrations may run as the connecting role (their
	 * triggers' functions, schemas of the path), besides those
	 * PostgreSQL makes trusted: gm_db_trust_roles. */
	struct gm_strlist trusted_roles;
	/* The lint's rule levels the file sets (error, warning or off); a
	 * rule not named keeps its own. */
	struct gm_lint_levels lint;
};

/* No file: the default paths (relative to the working directory), no
 * environment, no timeout, the default tenancy. */
void gm_config_defaults(struct gm_config *c);
void gm_config_release(struct gm_config *c);

/* Reads a project file's text; path names it in errors and anchors its
 * relative paths.  On error *out holds the defaults. */
struct gm_error *gm_config_parse(const char *path, const char *text, size_t len,
				 struct gm_config *out);

/* Reads the file at path.  When optional is set, a file that does not
 * exist is no error: *out holds the defaults (and path NULL).  On error
 * *out holds the defaults. */
struct gm_error *gm_config_load(const char *path, int optional, struct gm_config *out);

/* The environment called name, or NULL. */
const struct gm_config_env *gm_config_find_env(const struct gm_config *c, const char *name);
/* "local, production" (or "none"); caller frees. */
char *gm_config_env_names(const struct gm_config *c);
/* The URL of an environment: as written, or read from its variable (an
 * unset or empty one is a GM_ERR_USAGE error naming it).  *url points into
 * e or into the process environment. */
struct gm_error *gm_config_env_url(const struct gm_config *c, const struct gm_config_env *e,
				   const char **url);

/* The commented project file `garage-migrate init` writes: every key,
 * with its default value. */
void gm_config_template(struct gm_strbuf *out);

#endif
