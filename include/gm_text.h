/* gm_text.h - text normalisation, UTF-8 and line/column arithmetic.
 *
 * Migration files are UTF-8.  Line and column numbers are 1-based; columns
 * count characters (code points), like editors and compilers do, and the
 * server's error positions, which are character positions too. */
#ifndef GM_TEXT_H
#define GM_TEXT_H

#include <stddef.h>

/* Normalise in place: drop a leading UTF-8 BOM and turn every CRLF into LF.
 * Returns the new length.  Line numbers are unchanged by this. */
size_t gm_text_normalize(char *text, size_t len);

/* Returns len when text is valid UTF-8 without NUL bytes, else the byte
 * offset of the first offending byte. */
size_t gm_text_invalid_at(const char *text, size_t len);

/* Byte offset of the character with 0-based index nchars, counting from
 * text; clamps to len. */
size_t gm_text_char_to_byte(const char *text, size_t len, size_t nchars);

/* Number of characters in text[0..len). */
size_t gm_text_count_chars(const char *text, size_t len);

/* Line and column (1-based, column in characters) of byte offset off. */
void gm_text_line_col(const char *text, size_t len, size_t off,
		      unsigned *line, unsigned *col);

/* A malloc'd copy of the line that contains byte offset off, without its
 * line break. */
char *gm_text_line_at(const char *text, size_t len, size_t off);

/* A malloc'd copy of s that is safe to print on a terminal: control
 * characters (C0 but line break and tab, DEL, C1), bidirectional
 * formatting characters (U+202E and its kind) and bytes that are not
 * UTF-8 become \xNN, one per byte, so text from the server, the catalog
 * or a file name cannot move the cursor, recolour or retitle the
 * terminal, nor reorder what it shows.  Everything else, backslashes included, is kept as is. */
char *gm_text_escape_controls(const char *s);
/* The same for text that must stay on its line (a name, a message in a
 * table): line breaks and tabs become \x0a and \x09 too, so a name
 * cannot start a line that looks like the tool's own. */
char *gm_text_escape_line(const char *s);

/* A JSON string literal, quotes included; NULL renders as null.  Also a
 * valid YAML double-quoted scalar (control characters are escaped). */
struct gm_strbuf;
void gm_json_str(struct gm_strbuf *out, const char *s);

/* Appends s as one element of a PostgreSQL array literal being built in
 * out, which holds its opening '{' and the elements so far: quoted, with
 * '"' and '\\' escaped, after a comma when it is not the first.  The
 * caller closes it with '}'.  For text[] query parameters. */
void gm_text_array_add(struct gm_strbuf *out, const char *s);
/* Appends the whole array literal of v's n strings ("{\"a\",\"b\"}"). */
void gm_text_array(struct gm_strbuf *out, char *const *v, size_t n);

#endif
