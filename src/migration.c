/* migration.c - finding, ordering and parsing migration files. */
#include "gm_migration.h"
#include "gm_error.h"
#include "gm_sqlstmt.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int gm_migration_parse_name(const char *filename, unsigned long long *version,
			    char **version_text, char **name,
			    enum gm_format *format, const char **why)
{
	const char *p = filename, *us, *dot;
	size_t ndigits, k;
	unsigned long long v = 0;

	while (isdigit((unsigned char)*p))
		p++;
	ndigits = (size_t)(p - filename);
	if (ndigits == 0) {
		*why = "the name must start with a version number, as in 0001_create_users.sql";
		return -1;
	}
	if (ndigits > GM_VERSION_MAX_DIGITS) {
		*why = "the version has more than 18 digits";
		return -1;
	}
	if (*p != '_') {
		*why = "the version must be followed by '_' and a name, as in 0001_create_users.sql";
		return -1;
	}
	us = p;
	dot = strrchr(us, '.');
	if (!dot || dot == us + 1) {
		*why = "the name after the version is empty";
		return -1;
	}
	if (strcmp(dot, ".sql") == 0) {
		*format = GM_FORMAT_SQL;
	} else if (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0) {
		*format = GM_FORMAT_YAML;
	} else {
		*why = "the file must end in .sql or .yaml";
		return -1;
	}
	{
		char *name_part = gm_xstrndup(us + 1, (size_t)(dot - us - 1));
		int ok = gm_migration_name_valid(name_part);
		free(name_part);
		if (!ok) {
			*why = "the name may hold only letters, digits, '_' and '-'";
			return -1;
		}
	}
	for (k = 0; k < ndigits; k++)
		v = v * 10 + (unsigned)(filename[k] - '0');
	*version = v;
	*version_text = gm_xstrndup(filename, ndigits);
	*name = gm_xstrndup(us + 1, (size_t)(dot - us - 1));
	return 0;
}

/* ---- sections ---- */

enum directive { D_NONE, D_UP, D_DOWN, D_NOTX, D_BAD };

/* Recognises "-- garage:<word>" lines.  Anything that starts like a
 * directive but is not one is D_BAD, so a typo such as "garage:dwon" is an
 * error instead of a comment that silently makes the down part of up. */
static enum directive parse_directive(const char *l, size_t n)
{
	static const char prefix[] = "garage:";
	size_t i = 0, w;

	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i + 2 > n || l[i] != '-' || l[i + 1] != '-')
		return D_NONE;
	i += 2;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (n - i < sizeof(prefix) - 1 || memcmp(l + i, prefix, sizeof(prefix) - 1) != 0)
		return D_NONE;
	i += sizeof(prefix) - 1;
	w = i;
	while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '-'))
		i++;
	/* "-- garage:lint-ignore RULE reason" is a comment here: the lint
	 * reads it (and says when it is malformed). */
	if (i - w == 11 && memcmp(l + w, "lint-ignore", 11) == 0 && (i == n || isspace((unsigned char)l[i])))
		return D_NONE;
	for (size_t k = i; k < n; k++)
		if (!isspace((unsigned char)l[k]))
			return D_BAD;
	if (i - w == 2 && memcmp(l + w, "up", 2) == 0)
		return D_UP;
	if (i - w == 4 && memcmp(l + w, "down", 4) == 0)
		return D_DOWN;
	if (i - w == 14 && memcmp(l + w, "no-transaction", 14) == 0)
		return D_NOTX;
	return D_BAD;
}

static int blank_or_comment(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && isspace((unsigned char)l[i]))
		i++;
	return i == n || (i + 1 < n && l[i] == '-' && l[i + 1] == '-');
}

static struct gm_error *error_at_off(const struct gm_migration *m, size_t off,
				     const char *msg)
{
	unsigned line, col;
	struct gm_error *err;

	gm_text_line_col(m->text, m->text_len, off, &line, &col);
	err = gm_error_at(GM_ERR_INPUT, m->path, line, col, "%s", msg);
	err->src_line = gm_text_line_at(m->text, m->text_len, off);
	return err;
}

struct sections {
	size_t up_start, up_end;
	size_t down_start;	/* valid when has_down */
	size_t up_marker;	/* start of the -- garage:up line */
	int has_up_marker, has_down;
	int no_transaction;
};

static struct gm_error *find_sections(const struct gm_migration *m, struct sections *s)
{
	size_t bol = 0, first_code = (size_t)-1;

	memset(s, 0, sizeof(*s));
	s->up_end = m->text_len;
	while (bol < m->text_len) {
		const char *nl = memchr(m->text + bol, '\n', m->text_len - bol);
		size_t eol = nl ? (size_t)(nl - m->text) : m->text_len;
		size_t next = nl ? eol + 1 : eol;
		enum directive d = parse_directive(m->text + bol, eol - bol);

		switch (d) {
		case D_BAD:
			return error_at_off(m, bol, "unknown garage directive (expected -- garage:up, -- garage:down, -- garage:no-transaction"
						    " or -- garage:lint-ignore RULE reason)");
		case D_UP:
			if (s->has_up_marker)
				return error_at_off(m, bol, "second -- garage:up marker");
			if (s->has_down)
				return error_at_off(m, bol, "-- garage:up after -- garage:down");
			if (first_code != (size_t)-1)
				return error_at_off(m, first_code, "SQL before the -- garage:up marker");
			s->has_up_marker = 1;
			s->up_marker = bol;
			s->up_start = next;
			break;
		case D_DOWN:
			if (s->has_down)
				return error_at_off(m, bol, "second -- garage:down marker");
			s->has_down = 1;
			s->up_end = bol;
			s->down_start = next;
			break;
		case D_NOTX:
			if (s->has_down)
				return error_at_off(m, bol, "-- garage:no-transaction must come before -- garage:down");
			s->no_transaction = 1;
			break;
		case D_NONE:
			if (!s->has_up_marker && !s->has_down && first_code == (size_t)-1 &&
			    !blank_or_comment(m->text + bol, eol - bol))
				first_code = bol;
			break;
		}
		bol = next;
	}
	if (s->up_start > s->up_end)	/* "-- garage:up" on the last line */
		s->up_start = s->up_end;
	return NULL;
}

/* Cuts text[start, end) out as a section and splits it into statements;
 * statement offsets stay relative to the section.  A section that runs to
 * the end of the text (the up of a file without a down, often the whole
 * file) is not copied: it is the tail of the text, NUL and all, so a big
 * migration is held once. */
static struct gm_error *make_section(const struct gm_migration *m, size_t start, size_t end,
				     struct gm_section *sec)
{
	const char *problem = NULL;
	size_t poff = 0;

	sec->src_off = start;
	sec->len = end - start;
	sec->shared = end == m->text_len;
	sec->sql = sec->shared ? m->text + start : gm_xstrndup(m->text + start, sec->len);
	if (gm_sql_split(sec->sql, sec->len, &sec->stmts, &problem, &poff) == 0)
		return NULL;
	return error_at_off(m, start + poff, problem);
}

void gm_section_release(struct gm_section *sec)
{
	if (!sec->shared)
		free(sec->sql);
	free(sec->segs);
	gm_sql_stmts_free(&sec->stmts);
	memset(sec, 0, sizeof(*sec));
}

static struct gm_error *check_text(const struct gm_migration *m)
{
	size_t bad;

	const char *nul;

	if (m->text_len == 0)
		return gm_error_at(GM_ERR_INPUT, m->path, 0, 0, "empty file: a migration needs at least one SQL statement");
	/* A NUL anywhere says "binary file" better than its first odd byte. */
	if ((nul = memchr(m->text, '\0', m->text_len)))
		return error_at_off(m, (size_t)(nul - m->text), "NUL byte: this looks like a binary file, not SQL");
	bad = gm_text_invalid_at(m->text, m->text_len);
	if (bad == m->text_len)
		return NULL;
	return error_at_off(m, bad, "invalid UTF-8 (migration files must be UTF-8)");
}

static struct gm_error *check_statements(const struct gm_migration *m,
					 const struct sections *s)
{
	if (m->up.stmts.n == 0)
		return s->has_up_marker
			? error_at_off(m, s->up_marker, "the up section holds no SQL statement")
			: gm_error_at(GM_ERR_INPUT, m->path, 0, 0, "the file holds no SQL statement");
	return NULL;
}

/* A section that runs in the tool's transaction must not leave it: no
 * BEGIN, COMMIT, ROLLBACK, END, ABORT, PREPARE TRANSACTION, and no
 * RELEASE or ROLLBACK TO of a savepoint it did not make.  Checked for
 * every format before anything reaches the server. */
static struct gm_error *check_txn_escape(const struct gm_migration *m, const struct gm_section *sec,
					 const char *which)
{
	const char *why = NULL;
	size_t k = gm_sql_txn_escape(sec->sql, &sec->stmts, &why);
	unsigned line, col;
	struct gm_error *err;
	char *src = NULL;

	if (k == sec->stmts.n)
		return NULL;
	gm_migration_locate(m, sec, sec->stmts.v[k].start, &line, &col, &src);
	err = gm_error_at(GM_ERR_INPUT, m->path, line, col, "%s (%s section)", why, which);
	err->src_line = src;
	gm_error_advise(err, "remove it: garage-migrate wraps each migration's up, and each down, in a transaction of its own"
			     " (use -- garage:no-transaction for statements that cannot run in one)");
	return err;
}

static struct gm_error *parse_sql(struct gm_migration *m)
{
	struct sections s;
	struct gm_error *err;

	if ((err = find_sections(m, &s)))
		return err;
	m->transactional = !s.no_transaction;
	if ((err = make_section(m, s.up_start, s.up_end, &m->up)))
		return err;
	if ((err = check_statements(m, &s)))
		return err;
	if (s.has_down) {
		m->has_down = 1;
		if ((err = make_section(m, s.down_start, m->text_len, &m->down)))
			return err;
	}
	return gm_checksum(m->up.sql, m->up.len, m->checksum);
}

struct gm_error *gm_migration_parse(const char *path, const char *filename,
				    char *text, size_t len,
				    struct gm_migration **out)
{
	struct gm_migration *m = gm_xcalloc(1, sizeof(*m));
	struct gm_error *err = NULL;
	const char *why = NULL;

	*out = NULL;
	m->path = gm_xstrdup(path);
	m->filename = gm_xstrdup(filename);
	m->text = text;
	m->text_len = gm_text_normalize(text, len);
	if (gm_migration_parse_name(filename, &m->version, &m->version_text,
				    &m->name, &m->format, &why)) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "bad migration file name: %s", why);
		goto done;
	}
	if ((err = check_text(m)))
		goto done;
	err = m->format == GM_FORMAT_YAML ? gm_yaml_migration_parse(m) : parse_sql(m);
	if (!err && m->transactional)
		err = check_txn_escape(m, &m->up, "up");
	if (!err && m->has_down)
		err = check_txn_escape(m, &m->down, "down");
done:
	if (err)
		gm_migration_free(m);
	else
		*out = m;
	return err;
}

/* Byte offset of the start of 1-based line in text (or its end). */
static size_t line_start(const char *text, size_t len, unsigned line)
{
	size_t i = 0;

	while (line > 1 && i < len) {
		if (text[i++] == '\n')
			line--;
	}
	return i;
}

/* Through the innermost segment that holds off (YAML files). */
static void locate_seg(const struct gm_migration *m, const struct gm_section *sec, size_t off,
		       unsigned *line, unsigned *col)
{
	const struct gm_srcseg *g = NULL;
	size_t k, bol, nl = 0;

	for (k = sec->nsegs; k-- > 0;)
		if (off >= sec->segs[k].off && off < sec->segs[k].off + sec->segs[k].len) {
			g = &sec->segs[k];
			break;
		}
	if (!g) {
		*line = 1;
		*col = 1;
		return;
	}
	*line = g->line;
	*col = g->col;
	if (g->mode == GM_SEG_POINT)
		return;
	bol = g->off;
	for (k = g->off; k < off; k++)
		if (sec->sql[k] == '\n') {
			nl++;
			bol = k + 1;
		}
	if (g->mode == GM_SEG_LINE && nl == 0) {
		*col = g->col + (unsigned)gm_text_count_chars(sec->sql + g->off, off - g->off);
	} else if (g->mode == GM_SEG_BLOCK) {
		*line = g->line + (unsigned)nl;
		*col = g->col + (unsigned)gm_text_count_chars(sec->sql + bol, off - bol);
	}
	(void)m;
}

void gm_migration_locate(const struct gm_migration *m, const struct gm_section *sec,
			 size_t off, unsigned *line, unsigned *col, char **src_line)
{
	if (off > sec->len)
		off = sec->len;
	if (sec->segs) {
		locate_seg(m, sec, off, line, col);
		if (src_line)
			*src_line = gm_text_line_at(m->text, m->text_len, line_start(m->text, m->text_len, *line));
		return;
	}
	off += sec->src_off;
	gm_text_line_col(m->text, m->text_len, off, line, col);
	if (src_line)
		*src_line = gm_text_line_at(m->text, m->text_len, off);
}

void gm_migration_free(struct gm_migration *m)
{
	if (!m)
		return;
	free(m->version_text);
	free(m->name);
	free(m->filename);
	free(m->path);
	free(m->text);
	gm_section_release(&m->up);
	gm_section_release(&m->down);
	free(m);
}

/* ---- the folder ---- */

/* Reads fd to its end.  size is what fstat said: the buffer is allocated
 * once, for size + 1 bytes, and a read that returns exactly size bytes
 * ends it (a regular file returns less than asked only at its end), so a
 * file costs one read and no copy; a file that grew since goes on in
 * chunks. */
static struct gm_error *read_fd(const char *path, int fd, size_t size, char **text, size_t *len)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t want = size + 1;
	ssize_t n;

	gm_strbuf_reserve(&sb, want);
	for (;;) {
		if (sb.alloc - sb.len - 1 == 0)
			gm_strbuf_grow(&sb, 65536);
		n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			struct gm_error *err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot read: %s", strerror(errno));
			gm_strbuf_release(&sb);
			return err;
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		if (sb.len == size && sb.len < want)
			break;
	}
	sb.buf[sb.len] = '\0';
	*text = gm_strbuf_detach(&sb, len);
	return NULL;
}

/* The extension of a name that looks like a migration: .sql, .yaml or
 * .yml in any case, not a hidden file.  NULL otherwise. */
static const char *migration_ext(const char *name)
{
	static const char *const exts[] = { ".sql", ".yaml", ".yml" };
	size_t n = strlen(name), k;

	if (name[0] == '.')
		return NULL;
	for (k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
		size_t e = strlen(exts[k]);
		if (n > e && strcasecmp(name + n - e, exts[k]) == 0)
			return name + n - e;
	}
	return NULL;
}

static int looks_like_migration(const char *name)
{
	return migration_ext(name) != NULL;
}

/* 0001_a.SQL would be skipped by a case-sensitive glob elsewhere (and a
 * case-insensitive file system cannot hold it beside 0001_a.sql): one
 * spelling, lower case, is accepted. */
static struct gm_error *check_ext_case(const char *path, const char *name, const char *ext)
{
	struct gm_error *err;
	char *fixed;
	size_t k;

	for (k = 0; ext[k]; k++)
		if (isupper((unsigned char)ext[k]))
			break;
	if (!ext[k])
		return NULL;
	fixed = gm_xstrdup(name);
	for (k = (size_t)(ext - name); fixed[k]; k++)
		fixed[k] = (char)tolower((unsigned char)fixed[k]);
	err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "the extension must be lower case");
	gm_error_advise(err, "rename it to %s", fixed);
	free(fixed);
	return err;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static struct gm_error *not_regular(const char *path, mode_t mode, const char *via)
{
	struct gm_error *err = gm_error_at(GM_ERR_INPUT, path, 0, 0,
		"not a migration file: %s%s (migrations are regular files)", via, file_kind(mode));

	gm_error_advise(err, "remove it, or rename it so it does not end in .sql, .yaml or .yml");
	return err;
}

/* Whether real (a resolved path) lies inside the folder real_dir. */
static int inside(const char *real, const char *real_dir)
{
	size_t n = strlen(real_dir);

	if (n == 1 && real_dir[0] == '/')
		return real[0] == '/' && real[1];
	return strncmp(real, real_dir, n) == 0 && real[n] == '/';
}

/* Which file to read for the entry at path: the entry itself when it is a
 * regular file; the target of a symbolic link only when that is a regular
 * file inside the migrations folder (a link must not feed /etc/passwd or a
 * file from elsewhere to the server, whose errors would echo it).  *open_path
 * is malloc'd. */
static struct gm_error *resolve_entry(const char *path, const char *real_dir, char **open_path)
{
	struct stat st;
	char *real;
	struct gm_error *err;

	*open_path = NULL;
	if (lstat(path, &st) != 0)
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open: %s", strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*open_path = gm_xstrdup(path);
		return NULL;
	}
	if (!S_ISLNK(st.st_mode))
		return not_regular(path, st.st_mode, "");
	if (!(real = realpath(path, NULL))) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "broken symbolic link: %s", strerror(errno));
		gm_error_advise(err, "remove it, or point it at a migration file inside the migrations folder");
		return err;
	}
	if (!inside(real, real_dir)) {
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0,
				  "symbolic link to %s, outside the migrations folder", real);
		gm_error_advise(err, "copy the migration into the folder instead: a link may only point at a file inside it");
		free(real);
		return err;
	}
	err = NULL;
	if (stat(real, &st) != 0)
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		err = not_regular(path, st.st_mode, "a symbolic link to ");
	if (err) {
		free(real);
		return err;
	}
	*open_path = real;
	return NULL;
}

static struct gm_error *read_open(const char *path, int fd, char **text, size_t *len)
{
	struct gm_error *err;
	struct stat st;

	if (fstat(fd, &st) != 0)
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot read: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		err = not_regular(path, st.st_mode, "");
	else
		err = read_fd(path, fd, (size_t)st.st_size, text, len);
	close(fd);
	return err;
}

/* Reads the migration at path (the entry name of the folder open as dfd,
 * whose resolved path is real_dir; type is the entry's d_type).  The file
 * is opened without following a link and checked again, so what is read
 * is what was checked.  An entry the folder listing says is a regular
 * file is opened straight, relative to the folder: four system calls
 * (open, fstat, read, close), no walk of the whole path; anything else
 * (a link, or a file system that does not say) is looked at first. */
static struct gm_error *read_migration(const char *path, int dfd, const char *name, unsigned char type,
				       const char *real_dir, char **text, size_t *len)
{
	struct gm_error *err;
	char *open_path;
	int fd;

	if (type == DT_REG) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return read_open(path, fd, text, len);
		if (errno != ELOOP)
			return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open: %s", strerror(errno));
		/* Replaced by a link since the listing: the slow way. */
	}
	if ((err = resolve_entry(path, real_dir, &open_path)))
		return err;
	fd = open(open_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(open_path);
	if (fd < 0)
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open: %s", strerror(errno));
	return read_open(path, fd, text, len);
}

static int by_version(const void *a, const void *b)
{
	const struct gm_migration *x = *(struct gm_migration *const *)a;
	const struct gm_migration *y = *(struct gm_migration *const *)b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->filename, y->filename);
}

static struct gm_error *check_duplicates(const struct gm_migration_set *set)
{
	size_t k;

	for (k = 1; k < set->n; k++) {
		const struct gm_migration *a = set->v[k - 1], *b = set->v[k];
		if (a->version == b->version) {
			struct gm_error *err = gm_error_at(GM_ERR_INPUT, b->path, 0, 0,
				"duplicate version %llu: also used by %s",
				b->version, a->path);
			gm_error_advise(err, "give one of them a new version number");
			return err;
		}
	}
	return NULL;
}

static void set_push(struct gm_migration_set *set, size_t *cap, struct gm_migration *m)
{
	if (set->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		set->v = gm_xrealloc(set->v, *cap * sizeof(*set->v));
	}
	set->v[set->n++] = m;
}

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (n > 0 && dir[n - 1] == '/')
		return gm_xasprintf("%s%s", dir, name);
	return gm_xasprintf("%s/%s", dir, name);
}

struct gm_error *gm_migration_set_load(const char *dir, struct gm_migration_set **out)
{
	struct gm_migration_set *set = gm_xcalloc(1, sizeof(*set));
	struct gm_error *err = NULL;
	struct dirent *de;
	char *real_dir = NULL;
	size_t cap = 0;
	DIR *d;

	*out = NULL;
	set->dir = gm_xstrdup(dir);
	if (!(d = opendir(dir)) || !(real_dir = realpath(dir, NULL))) {
		err = gm_error_at(GM_ERR_INPUT, dir, 0, 0, "cannot open migrations folder: %s", strerror(errno));
		gm_error_advise(err, "run from the project root or pass --migrations DIR");
		if (d)
			closedir(d);
		goto done;
	}
	/* Everything named like a migration is one, or an error: a file that
	 * is skipped in silence is a migration that never runs. */
	while (!err && (de = readdir(d))) {
		const char *ext = migration_ext(de->d_name);
		char *path, *text = NULL;
		size_t len = 0;
		struct gm_migration *m;

		if (!ext)
			continue;
		path = join_path(dir, de->d_name);
		err = check_ext_case(path, de->d_name, ext);
		if (!err)
			err = read_migration(path, dirfd(d), de->d_name, de->d_type, real_dir, &text, &len);
		if (!err)
			err = gm_migration_parse(path, de->d_name, text, len, &m);
		if (!err)
			set_push(set, &cap, m);
		free(path);
	}
	closedir(d);
	if (err)
		goto done;
	if (set->n > 1)
		qsort(set->v, set->n, sizeof(*set->v), by_version);
	err = check_duplicates(set);
done:
	free(real_dir);
	if (err)
		gm_migration_set_free(set);
	else
		*out = set;
	return err;
}

struct gm_error *gm_migration_load_file(const char *path, struct gm_migration **out)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path, *ext = migration_ext(base), *why;
	unsigned long long v;
	char *vt = NULL, *name = NULL, *text = NULL, *filename;
	enum gm_format f;
	struct gm_error *err;
	struct stat st;
	size_t len = 0;
	int fd;

	*out = NULL;
	if (!ext)
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "not a migration file: the name must end in .sql, .yaml or .yml");
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0)
		err = gm_error_at(GM_ERR_INPUT, path, 0, 0, "cannot read: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		err = not_regular(path, st.st_mode, "");
	else
		err = read_fd(path, fd, (size_t)st.st_size, &text, &len);
	close(fd);
	if (err)
		return err;
	if (gm_migration_parse_name(base, &v, &vt, &name, &f, &why) == 0)
		filename = gm_xstrdup(base);
	else
		filename = gm_xasprintf("0_%s%s", "file", strcasecmp(ext, ".sql") ? ".yaml" : ".sql");
	free(vt);
	free(name);
	err = gm_migration_parse(path, filename, text, len, out);
	free(filename);
	return err;
}

void gm_migration_set_free(struct gm_migration_set *set)
{
	size_t k;

	if (!set)
		return;
	for (k = 0; k < set->n; k++)
		gm_migration_free(set->v[k]);
	free(set->v);
	free(set->dir);
	free(set);
}

struct gm_error *gm_migration_newest(const char *dir, unsigned long long *version, char **text)
{
	struct dirent *de;
	DIR *d;

	*version = 0;
	*text = NULL;
	if (!(d = opendir(dir)))
		return gm_error_at(GM_ERR_INPUT, dir, 0, 0, "cannot open migrations folder: %s", strerror(errno));
	while ((de = readdir(d))) {
		unsigned long long v;
		char *vt, *name;
		enum gm_format f;
		const char *why;

		if (!looks_like_migration(de->d_name) ||
		    gm_migration_parse_name(de->d_name, &v, &vt, &name, &f, &why))
			continue;
		if (!*text || v > *version) {
			free(*text);
			*text = vt;
			*version = v;
		} else {
			free(vt);
		}
		free(name);
	}
	closedir(d);
	return NULL;
}

char *gm_migration_next_version(unsigned long long newest, const char *newest_text,
				const char *now_utc)
{
	size_t width;
	unsigned long long next;

	if (!newest_text)
		return gm_xstrdup("0001");
	width = strlen(newest_text);
	next = newest + 1;
	if (width >= 12) {
		unsigned long long now = strtoull(now_utc, NULL, 10);
		if (now > next)
			next = now;
	}
	return gm_xasprintf("%0*llu", (int)width, next);
}

int gm_migration_name_valid(const char *name)
{
	const char *p = name;

	if (!*p)
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return 0;
	return 1;
}
