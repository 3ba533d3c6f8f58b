/* gm_migration.h - migration files: find, order, parse, locate.
 *
 * Every migration, whatever its file format, ends up in one in-memory form:
 * version, name, the up text that is executed (and hashed), the down text,
 * whether it runs in a transaction, and a map from every byte of the up
 * text back to file:line:col so server errors point into the file. */
#ifndef GM_MIGRATION_H
#define GM_MIGRATION_H

#include <stddef.h>

#include "gm_checksum.h"
#include "gm_sqllex.h"

struct gm_error;

/* Versions are at most this many digits so they fit a signed 64-bit
 * integer in the history table (timestamps use 14). */
#define GM_VERSION_MAX_DIGITS 18

enum gm_format {
	GM_FORMAT_SQL,
	GM_FORMAT_YAML,
};

/* Where a stretch of generated SQL came from in a YAML file.  POINT: every
 * byte maps to (line, col), the node that produced it.  LINE: the text is
 * the file's text from (line, col) on one line (a plain scalar).  BLOCK: the
 * text is a literal block whose lines start at line, indented by col - 1. */
enum gm_seg_mode { GM_SEG_POINT, GM_SEG_LINE, GM_SEG_BLOCK };

struct gm_srcseg {
	size_t off, len;	/* bytes of the section's sql */
	unsigned line, col;	/* 1-based */
	enum gm_seg_mode mode;
};

/* A part of a migration that is executed: its SQL text, its statements
 * (offsets relative to sql), and where the text came from: verbatim from
 * src_off in the file (SQL files), or through segments (YAML files). */
struct gm_section {
	char *sql;		/* NUL-terminated */
	int shared;		/* sql points into the migration's text (not freed) */
	size_t len;
	size_t src_off;		/* byte offset of sql[0] in the file's text */
	struct gm_sql_stmts stmts;
	struct gm_srcseg *segs;	/* NULL for SQL files; innermost last */
	size_t nsegs;
};

struct gm_migration {
	unsigned long long version;
	char *version_text;	/* as written in the file name ("0003") */
	char *name;		/* "create_orders" */
	char *filename;		/* "0003_create_orders.sql" */
	char *path;		/* dir + "/" + filename, for messages */
	enum gm_format format;

	char *text;		/* whole file, normalised (BOM, CRLF) */
	size_t text_len;

	struct gm_section up;	/* executed by up, and hashed */
	int has_down;
	struct gm_section down;	/* executed by rollback */

	int transactional;
	char checksum[GM_CHECKSUM_LEN + 1];
};

struct gm_migration_set {
	char *dir;
	struct gm_migration **v;	/* sorted by version */
	size_t n;
};

/* Parses "<digits>_<name>.sql"; returns 0, or -1 with *why set to a static
 * explanation.  Outputs are malloc'd on success. */
int gm_migration_parse_name(const char *filename, unsigned long long *version,
			    char **version_text, char **name,
			    enum gm_format *format, const char **why);

/* Parses one migration from its contents (which it takes over: text must
 * be malloc'd and NUL-terminated at len, it is normalised in place).  path
 * names it in errors. */
struct gm_error *gm_migration_parse(const char *path, const char *filename,
				    char *text, size_t len,
				    struct gm_migration **out);

/* Reads every migration in dir, parsed and sorted; two files with one
 * version, a name that does not parse, or any invalid file is an error
 * naming the file(s), and nothing is returned. */
struct gm_error *gm_migration_set_load(const char *dir,
				       struct gm_migration_set **out);
void gm_migration_set_free(struct gm_migration_set *set);

/* Reads and parses one file named by the user (garage-migrate lint FILE),
 * anywhere: a regular file, or a link to one.  A name that is not a
 * migration's ("add_index.sql") is read as version 0 of its format. */
struct gm_error *gm_migration_load_file(const char *path, struct gm_migration **out);

/* The newest version among dir's migration file names, without reading
 * any file (a new migration's template does not parse yet).  *text is NULL
 * when there is none; caller frees it. */
struct gm_error *gm_migration_newest(const char *dir, unsigned long long *version, char **text);

/* The version for a new migration, continuing the folder's style: the
 * next number with the same zero padding (0008 -> 0009), or for timestamp
 * versions (12 digits or more) the UTC time now_utc ("YYYYMMDDHHMMSS"),
 * moved past the newest if needed; "0001" when newest_text is NULL.
 * Caller frees. */
char *gm_migration_next_version(unsigned long long newest, const char *newest_text,
				const char *now_utc);

/* Non-zero when name can follow the version in a file name. */
int gm_migration_name_valid(const char *name);
void gm_migration_free(struct gm_migration *m);
void gm_section_release(struct gm_section *sec);

/* Parses a YAML migration's text (already normalised and UTF-8 checked)
 * into m's sections (yamlmig.c). */
struct gm_error *gm_yaml_migration_parse(struct gm_migration *m);

/* Maps a byte offset in one of m's sections to the file: line, column
 * (characters) and a copy of the source line (caller frees; may be NULL). */
void gm_migration_locate(const struct gm_migration *m, const struct gm_section *sec,
			 size_t off, unsigned *line, unsigned *col, char **src_line);

#endif
