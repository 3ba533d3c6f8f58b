/* text.c - normalisation, UTF-8 checks and position arithmetic. */
#include "gm_text.h"
#include "gm_strbuf.h"

#include <string.h>

size_t gm_text_normalize(char *text, size_t len)
{
	size_t r = 0, w = 0;

	if (len >= 3 && (unsigned char)text[0] == 0xEF &&
	    (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
		r = 3;
	for (; r < len; r++) {
		if (text[r] == '\r' && r + 1 < len && text[r + 1] == '\n')
			continue;
		text[w++] = text[r];
	}
	if (w < len)
		text[w] = '\0';
	return w;
}

/* Length of the UTF-8 sequence starting at s (at most avail bytes), or 0
 * when it is not a valid, shortest-form encoding of a scalar value. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned cp;

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

size_t gm_text_invalid_at(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

static int is_continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

size_t gm_text_char_to_byte(const char *text, size_t len, size_t nchars)
{
	size_t i = 0;

	while (i < len && nchars > 0) {
		i++;
		while (i < len && is_continuation(text[i]))
			i++;
		nchars--;
	}
	return i;
}

size_t gm_text_count_chars(const char *text, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (!is_continuation(text[i]))
			n++;
	return n;
}

void gm_text_line_col(const char *text, size_t len, size_t off,
		      unsigned *line, unsigned *col)
{
	size_t i, bol = 0;
	unsigned l = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			bol = i + 1;
		}
	}
	*line = l;
	*col = (unsigned)gm_text_count_chars(text + bol, off - bol) + 1;
}

char *gm_text_line_at(const char *text, size_t len, size_t off)
{
	size_t bol, eol;

	if (off > len)
		off = len;
	bol = off;
	while (bol > 0 && text[bol - 1] != '\n')
		bol--;
	eol = off;
	while (eol < len && text[eol] != '\n')
		eol++;
	return gm_xstrndup(text + bol, eol - bol);
}

/* The length of a bidirectional formatting character at s (within n
 * bytes of valid UTF-8), or 0: U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069.  They reorder what a terminal or a CI log shows ("Trojan
 * Source"): a table's name could read as another's. */
static size_t bidi_at(const unsigned char *s, size_t n)
{
	if (n >= 2 && s[0] == 0xD8 && s[1] == 0x9C)
		return 2;
	if (n >= 3 && s[0] == 0xE2 && ((s[1] == 0x80 && (s[2] == 0x8E || s[2] == 0x8F || (s[2] >= 0xAA && s[2] <= 0xAE))) ||
				       (s[1] == 0x81 && s[2] >= 0xA6 && s[2] <= 0xA9)))
		return 3;
	return 0;
}

/* How many bytes at s (of n of valid UTF-8) make a character that must
 * be escaped: C0 controls but line break and tab (unless keep_lines),
 * DEL, the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F), and the
 * bidirectional formatting characters; 0 for any other. */
static size_t escaped_len(const unsigned char *s, size_t n, int keep_lines)
{
	if ((s[0] < 0x20 && !(keep_lines && (s[0] == '\n' || s[0] == '\t'))) || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xC2 && n > 1 && s[1] <= 0x9F)
		return 2;
	return bidi_at(s, n);
}

static void add_hex(struct gm_strbuf *sb, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	gm_strbuf_addf(sb, "\\x%c%c", hex[c >> 4], hex[c & 0xF]);
}

static char *escape(const char *s, int keep_lines)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t good = i + gm_text_invalid_at(s + i, len - i), esc;
		while (i < good) {
			if ((esc = escaped_len((const unsigned char *)s + i, good - i, keep_lines)))
				for (; esc; esc--)
					add_hex(&sb, (unsigned char)s[i++]);
			else
				gm_strbuf_addch(&sb, s[i++]);
		}
		if (i < len)	/* a byte that is not UTF-8 */
			add_hex(&sb, (unsigned char)s[i++]);
	}
	return gm_strbuf_detach(&sb, NULL);
}

char *gm_text_escape_controls(const char *s)
{
	return escape(s, 1);
}

char *gm_text_escape_line(const char *s)
{
	return escape(s ? s : "", 0);
}

/* The code point of a character that YAML reads as a line break or does
 * not allow raw (C1 controls, NEL, U+2028, U+2029, U+FFFE, U+FFFF), or 0.
 * s points at a lead byte; *len receives the sequence's length. */
static unsigned yaml_unsafe(const unsigned char *s, size_t *len)
{
	if (s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F) {
		*len = 2;
		return 0x80u + (s[1] - 0x80u);
	}
	if (s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
		*len = 3;
		return 0x2000u + (s[2] - 0x80u);
	}
	if (s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)) {
		*len = 3;
		return 0xFFC0u + (s[2] - 0x80u);
	}
	return 0;
}

void gm_json_str(struct gm_strbuf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		gm_strbuf_adds(out, "null");
		return;
	}
	gm_strbuf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t len = 0;
		unsigned cp;

		switch (c) {
		case '"': gm_strbuf_adds(out, "\\\""); break;
		case '\\': gm_strbuf_adds(out, "\\\\"); break;
		case '\n': gm_strbuf_adds(out, "\\n"); break;
		case '\r': gm_strbuf_adds(out, "\\r"); break;
		case '\t': gm_strbuf_adds(out, "\\t"); break;
		default:
			/* DEL and the characters YAML (which reads these
			 * strings as well) does not keep raw: \u escapes are
			 * the same in both. */
			if (c < 0x20 || c == 0x7f) {
				gm_strbuf_addf(out, "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
			} else if (c >= 0xC2 && (cp = yaml_unsafe((const unsigned char *)s, &len))) {
				gm_strbuf_addf(out, "\\u%04x", cp);
				s += len - 1;
			} else {
				gm_strbuf_addch(out, (char)c);
			}
		}
	}
	gm_strbuf_addch(out, '"');
}

void gm_text_array_add(struct gm_strbuf *out, const char *s)
{
	gm_strbuf_adds(out, out->len > 1 ? ",\"" : "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			gm_strbuf_addch(out, '\\');
		gm_strbuf_addch(out, *s);
	}
	gm_strbuf_addch(out, '"');
}

void gm_text_array(struct gm_strbuf *out, char *const *v, size_t n)
{
	struct gm_strbuf a = GM_STRBUF_INIT;

	gm_strbuf_addch(&a, '{');
	for (size_t k = 0; k < n; k++)
		gm_text_array_add(&a, v[k]);
	gm_strbuf_addch(&a, '}');
	gm_strbuf_adds(out, a.buf);
	gm_strbuf_release(&a);
}

