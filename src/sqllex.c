/* sqllex.c - statement splitting (see gm_sqllex.h for why). */
#include "gm_sqllex.h"
#include "gm_strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lexer {
	const char *s;
	size_t len, i;
	const char *problem;
	size_t problem_off;
};

static int ident_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int ident_cont(unsigned char c)
{
	return ident_start(c) || isdigit(c) || c == '$';
}

static int fail(struct lexer *lx, const char *what, size_t off)
{
	lx->problem = what;
	lx->problem_off = off;
	return -1;
}

/* Each skip_* starts at the opening character and leaves i past the end. */
static int skip_line_comment(struct lexer *lx)
{
	while (lx->i < lx->len && lx->s[lx->i] != '\n')
		lx->i++;
	return 0;
}

static int skip_block_comment(struct lexer *lx)
{
	size_t open = lx->i;
	int depth = 0;

	while (lx->i + 1 < lx->len) {
		if (lx->s[lx->i] == '/' && lx->s[lx->i + 1] == '*') {
			depth++;
			lx->i += 2;
		} else if (lx->s[lx->i] == '*' && lx->s[lx->i + 1] == '/') {
			lx->i += 2;
			if (--depth == 0)
				return 0;
		} else {
			lx->i++;
		}
	}
	return fail(lx, "unterminated /* comment", open);
}

/* Quoted string or identifier; backslash escapes only in E'' strings. */
static int skip_quoted(struct lexer *lx, char q, int backslash, const char *what)
{
	size_t open = lx->i;

	lx->i++;
	while (lx->i < lx->len) {
		char c = lx->s[lx->i];
		if (backslash && c == '\\') {
			lx->i += 2;
			continue;
		}
		lx->i++;
		if (c == q) {
			if (lx->i < lx->len && lx->s[lx->i] == q) {
				lx->i++;	/* doubled quote */
				continue;
			}
			return 0;
		}
	}
	lx->i = lx->len;
	return fail(lx, what, open);
}

/* Where a string literal that ended just before s[i] goes on, or 0.  Two
 * literals separated only by whitespace holding a newline (and -- comments
 * ending in one) are one literal to the server, which reads the second
 * part in the first one's mode: E'...' then '...' takes backslash escapes
 * in both parts ("quotecontinue" in PostgreSQL's scan.l). */
static size_t string_continues(const char *s, size_t len, size_t i)
{
	int newline = 0;

	while (i < len) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\f' || (newline && c == '\v')) {
			i++;
		} else if (c == '\n' || c == '\r') {
			newline = 1;
			i++;
		} else if (c == '-' && i + 1 < len && s[i + 1] == '-') {
			while (i < len && s[i] != '\n' && s[i] != '\r')
				i++;
		} else {
			break;
		}
	}
	return newline && i < len && s[i] == '\'' ? i : 0;
}

/* A string literal at lx->i, with its continuations. */
static int skip_string(struct lexer *lx, int backslash, const char *what)
{
	size_t next;

	if (skip_quoted(lx, '\'', backslash, what))
		return -1;
	while ((next = string_continues(lx->s, lx->len, lx->i)) > 0) {
		lx->i = next;
		if (skip_quoted(lx, '\'', backslash, what))
			return -1;
	}
	return 0;
}

/* Length of a dollar-quote delimiter ($tag$ or $$) at s[i], or 0. */
static size_t dollar_tag_len(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j < len && s[j] == '$')
		return 2;
	if (j >= len || !ident_start((unsigned char)s[j]))
		return 0;
	while (j < len && (ident_cont((unsigned char)s[j]) && s[j] != '$'))
		j++;
	return (j < len && s[j] == '$') ? j - i + 1 : 0;
}

static int skip_dollar(struct lexer *lx, size_t taglen)
{
	size_t open = lx->i;
	const char *tag = lx->s + lx->i;
	const char *end;

	lx->i += taglen;
	end = lx->i < lx->len ? memmem(lx->s + lx->i, lx->len - lx->i, tag, taglen) : NULL;
	if (!end) {
		lx->i = lx->len;
		return fail(lx, "unterminated dollar-quoted string", open);
	}
	lx->i = (size_t)(end - lx->s) + taglen;
	return 0;
}

static void stmts_push(struct gm_sql_stmts *out, size_t *cap, const struct gm_sql_stmt *st)
{
	if (out->n == *cap) {
		*cap = *cap ? *cap * 2 : 2;	/* most migrations hold a few */
		out->v = gm_xrealloc(out->v, *cap * sizeof(*out->v));
	}
	out->v[out->n++] = *st;
}

static void copy_word(char dst[32], const char *s, size_t n)
{
	size_t k;

	if (n > 31)
		n = 31;
	for (k = 0; k < n; k++)
		dst[k] = (char)toupper((unsigned char)s[k]);
	dst[n] = '\0';
}

/* Tokens kept per statement: enough for ROLLBACK TRANSACTION TO SAVEPOINT x. */
#define NTOKS 6

/* Per-statement state while scanning. */
struct stmt_state {
	struct gm_sql_stmt cur;
	int in_stmt;
	int paren;
	int atomic;		/* depth inside BEGIN ATOMIC ... END */
	int nwords;
	char prev[32];		/* previous keyword, upper-cased */
	char tok[NTOKS][64];	/* first tokens, identifiers normalised */
	int ntok;
};

/* Records an identifier token as the server would name it: unquoted
 * folded to lower case, quoted as written ("" read as "). */
static void on_token(struct stmt_state *st, const char *s, size_t n, int quoted)
{
	char *d;
	size_t k, j = 0;

	if (st->ntok >= NTOKS)
		return;
	d = st->tok[st->ntok++];
	for (k = 0; k < n && j < sizeof(st->tok[0]) - 1; k++) {
		if (quoted && s[k] == '"')
			k++;	/* the first of a doubled quote */
		if (k < n)
			d[j++] = quoted ? s[k] : (char)tolower((unsigned char)s[k]);
	}
	d[j] = '\0';
}

/* The savepoint a SAVEPOINT, RELEASE or ROLLBACK ... TO statement names. */
static void find_savepoint(struct stmt_state *st)
{
	const char *name = NULL;
	int k;

	if (st->ntok >= 2 && !strcmp(st->tok[0], "savepoint"))
		name = st->tok[1];
	else if (st->ntok >= 2 && !strcmp(st->tok[0], "release"))
		name = !strcmp(st->tok[1], "savepoint") && st->ntok >= 3 ? st->tok[2] : st->tok[1];
	else if (!strcmp(st->tok[0], "rollback"))
		for (k = 1; k + 1 < st->ntok && !name; k++)
			if (!strcmp(st->tok[k], "to"))
				name = !strcmp(st->tok[k + 1], "savepoint") && k + 2 < st->ntok ? st->tok[k + 2]
												: st->tok[k + 1];
	snprintf(st->cur.savepoint, sizeof(st->cur.savepoint), "%s", name ? name : "");
}

static void on_word(struct stmt_state *st, const char *w, size_t n)
{
	char up[32];

	copy_word(up, w, n);
	if (st->nwords == 0)
		memcpy(st->cur.word1, up, sizeof(up));
	else if (st->nwords == 1)
		memcpy(st->cur.word2, up, sizeof(up));
	st->nwords++;
	/* BEGIN ATOMIC bodies hold semicolons; CASE ... END nests inside them
	 * (the same rule psql applies). */
	if (strcmp(up, "ATOMIC") == 0 && strcmp(st->prev, "BEGIN") == 0 &&
	    strcmp(st->cur.word1, "CREATE") == 0)
		st->atomic++;
	else if (st->atomic > 0 && strcmp(up, "CASE") == 0)
		st->atomic++;
	else if (st->atomic > 0 && strcmp(up, "END") == 0)
		st->atomic--;
	memcpy(st->prev, up, sizeof(up));
}

static void begin_token(struct stmt_state *st, size_t off)
{
	if (!st->in_stmt) {
		memset(&st->cur, 0, sizeof(st->cur));
		st->cur.start = off;
		st->in_stmt = 1;
		st->paren = st->atomic = st->nwords = st->ntok = 0;
		st->prev[0] = '\0';
	}
}

static void end_statement(struct stmt_state *st, struct gm_sql_stmts *out, size_t *cap, size_t end)
{
	st->cur.end = end;
	find_savepoint(st);
	stmts_push(out, cap, &st->cur);
	st->in_stmt = 0;
}

int gm_sql_split(const char *text, size_t len, struct gm_sql_stmts *out,
		 const char **problem, size_t *problem_off)
{
	struct lexer lx = { text, len, 0, NULL, 0 };
	struct stmt_state st;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	while (lx.i < len) {
		unsigned char c = (unsigned char)text[lx.i];
		size_t tl;

		if (isspace(c)) {
			lx.i++;
			continue;
		}
		if (c == '-' && lx.i + 1 < len && text[lx.i + 1] == '-') {
			skip_line_comment(&lx);
			continue;
		}
		if (c == '/' && lx.i + 1 < len && text[lx.i + 1] == '*') {
			if (skip_block_comment(&lx))
				goto error;
			continue;
		}
		if (c == ';' && st.paren == 0 && st.atomic == 0) {
			lx.i++;
			/* A ';' with nothing before it is an empty statement,
			 * which the server skips too. */
			if (st.in_stmt)
				end_statement(&st, out, &cap, lx.i);
			continue;
		}
		begin_token(&st, lx.i);
		if (c == '\'') {
			if (skip_string(&lx, 0, "unterminated quoted string"))
				goto error;
		} else if (c == '"') {
			size_t q = lx.i;
			if (skip_quoted(&lx, '"', 0, "unterminated quoted identifier"))
				goto error;
			on_token(&st, text + q + 1, lx.i - q - 2, 1);
		} else if (c == '$' && (tl = dollar_tag_len(text, len, lx.i)) > 0) {
			if (skip_dollar(&lx, tl))
				goto error;
		} else if (ident_start(c)) {
			size_t w = lx.i;
			while (lx.i < len && ident_cont((unsigned char)text[lx.i]))
				lx.i++;
			/* E'...' (and e'...') strings take backslash escapes. */
			if (lx.i - w == 1 && (c == 'E' || c == 'e') && lx.i < len &&
			    text[lx.i] == '\'') {
				if (skip_string(&lx, 1, "unterminated quoted string")) {
					lx.problem_off = w;	/* point at the E */
					goto error;
				}
				continue;
			}
			on_word(&st, text + w, lx.i - w);
			on_token(&st, text + w, lx.i - w, 0);
		} else {
			if (c == '(')
				st.paren++;
			else if (c == ')' && st.paren > 0)
				st.paren--;
			lx.i++;
			/* Digits and operators: skip the rest of a number or a
			 * $n parameter so its '$' is not read as a quote. */
			if (c == '$' || isdigit(c))
				while (lx.i < len && isalnum((unsigned char)text[lx.i]))
					lx.i++;
		}
	}
	if (st.in_stmt)
		end_statement(&st, out, &cap, len);
	return 0;
error:
	*problem = lx.problem;
	*problem_off = lx.problem_off;
	return -1;
}

void gm_sql_stmts_free(struct gm_sql_stmts *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int gm_sql_is_txn_control(const struct gm_sql_stmt *st)
{
	static const char *const words[] = { "BEGIN", "START", "COMMIT", "END", "ABORT" };
	size_t k;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strcmp(st->word1, words[k]) == 0)
			return 1;
	if (strcmp(st->word1, "ROLLBACK") == 0)
		return st->savepoint[0] == '\0';	/* ROLLBACK [WORK] TO x is not */
	if (strcmp(st->word1, "PREPARE") == 0)
		return strcmp(st->word2, "TRANSACTION") == 0;
	return 0;
}

/* ---- INSERT ... VALUES rows of constants ---- */

/* Skips spaces and comments from lx->i; 0, or -1 at an unterminated one. */
static int skip_blank(struct lexer *lx)
{
	while (lx->i < lx->len) {
		const char *s = lx->s + lx->i;
		if (isspace((unsigned char)*s))
			lx->i++;
		else if (s[0] == '-' && lx->i + 1 < lx->len && s[1] == '-')
			skip_line_comment(lx);
		else if (s[0] == '/' && lx->i + 1 < lx->len && s[1] == '*') {
			if (skip_block_comment(lx))
				return -1;
		} else
			break;
	}
	return 0;
}

/* A word at lx->i (left past it); its length, 0 when none is there. */
static size_t take_word(struct lexer *lx)
{
	size_t w = lx->i;

	if (lx->i >= lx->len || !ident_start((unsigned char)lx->s[lx->i]))
		return 0;
	while (lx->i < lx->len && ident_cont((unsigned char)lx->s[lx->i]))
		lx->i++;
	return lx->i - w;
}

static int word_is(const struct lexer *lx, size_t n, const char *kw)
{
	return strlen(kw) == n && !strncasecmp(lx->s + lx->i - n, kw, n);
}

/* A number as PostgreSQL 15 reads one: digits, a fraction, an exponent,
 * and nothing of a word or another number right after it ("1.2.3",
 * "0x1F" and "1isnull" are not one).  0, or -1. */
static int take_number(struct lexer *lx)
{
	const char *s = lx->s;
	size_t i = lx->i, digits = 0;

	for (; i < lx->len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < lx->len && s[i] == '.' && !(i + 1 < lx->len && s[i + 1] == '.'))
		for (i++; i < lx->len && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (!digits)
		return -1;
	if (i < lx->len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = i + 1;
		if (e < lx->len && (s[e] == '+' || s[e] == '-'))
			e++;
		if (e >= lx->len || !isdigit((unsigned char)s[e]))
			return -1;
		for (i = e; i < lx->len && isdigit((unsigned char)s[i]); i++)
			;
	}
	if (i < lx->len && (ident_cont((unsigned char)s[i]) || s[i] == '.'))
		return -1;
	lx->i = i;
	return 0;
}

static int at_cast(const struct lexer *lx)
{
	return lx->i + 1 < lx->len && lx->s[lx->i] == ':' && lx->s[lx->i + 1] == ':';
}

/* One value of a row: a literal ('...', E'...', $$...$$, a number, NULL,
 * TRUE, FALSE), cast at most once to a type named by one word
 * (schema-qualified, quoted or not), or a number with minus signs and no cast: what the grammar
 * makes a constant of (it folds a minus into a number, into nothing else,
 * and never a plus; -1::t is the minus operator on 1::t).  0, or -1 for
 * anything else.  Lenient past that: a word the grammar refuses as a type
 * name passes here, and the server reports it when up runs. */
static int constant_value_at(struct lexer *lx)
{
	size_t n, tl;
	int signed_ = 0;
	char c;

	while (!skip_blank(lx) && lx->i < lx->len && lx->s[lx->i] == '-' &&
	       !(lx->i + 1 < lx->len && lx->s[lx->i + 1] == '-')) {
		lx->i++;
		signed_ = 1;
	}
	if (skip_blank(lx) || lx->i >= lx->len)
		return -1;
	c = lx->s[lx->i];
	if (signed_ && !isdigit((unsigned char)c) && c != '.')
		return -1;
	if (isdigit((unsigned char)c) || c == '.') {
		if (take_number(lx))
			return -1;
		/* -1::type is -(1::type): an operator, not a constant. */
		if (signed_)
			return skip_blank(lx) || at_cast(lx) ? -1 : 0;
	} else if (c == '\'') {
		if (skip_string(lx, 0, ""))
			return -1;
	} else if (c == '$' && (tl = dollar_tag_len(lx->s, lx->len, lx->i)) > 0) {
		if (skip_dollar(lx, tl))
			return -1;
	} else if ((n = take_word(lx)) > 0) {
		if (n == 1 && (c == 'E' || c == 'e') && lx->i < lx->len && lx->s[lx->i] == '\'') {
			if (skip_string(lx, 1, ""))
				return -1;
		} else if (!word_is(lx, n, "NULL") && !word_is(lx, n, "TRUE") && !word_is(lx, n, "FALSE")) {
			return -1;
		}
	} else {
		return -1;
	}
	/* ::type, ::schema.type, ::"type": one cast (the tree of 'x'::a::b
	 * is a cast of a cast, not of a constant). */
	if (!skip_blank(lx) && at_cast(lx)) {
		do {
			lx->i += lx->s[lx->i] == '.' ? 1 : 2;
			if (skip_blank(lx) || lx->i >= lx->len)
				return -1;
			if (lx->s[lx->i] == '"') {
				if (skip_quoted(lx, '"', 0, ""))
					return -1;
			} else if (!take_word(lx)) {
				return -1;
			}
		} while (!skip_blank(lx) && lx->i < lx->len && lx->s[lx->i] == '.');
	}
	return skip_blank(lx);
}

/* A row of constants at lx->i: "(" value ["," value ...] ")". */
static int constant_row_at(struct lexer *lx)
{
	if (skip_blank(lx) || lx->i >= lx->len || lx->s[lx->i] != '(')
		return -1;
	lx->i++;
	for (;;) {
		if (constant_value_at(lx) || lx->i >= lx->len)
			return -1;
		if (lx->s[lx->i++] == ')')
			return 0;
		if (lx->s[lx->i - 1] != ',')
			return -1;
	}
}

/* Past the parenthesised group opening at lx->i, whatever it holds. */
static int skip_group(struct lexer *lx)
{
	int depth = 0;
	size_t tl, w, n;

	for (;;) {
		char c;
		if (skip_blank(lx))
			return -1;
		if (lx->i >= lx->len)
			return -1;
		c = lx->s[lx->i];
		w = lx->i;
		if (c == '\'') {
			if (skip_string(lx, 0, ""))
				return -1;
		} else if (c == '"') {
			if (skip_quoted(lx, '"', 0, ""))
				return -1;
		} else if (c == '$' && (tl = dollar_tag_len(lx->s, lx->len, lx->i)) > 0) {
			if (skip_dollar(lx, tl))
				return -1;
		} else if (isdigit((unsigned char)c)) {
			/* A number whole, so "1$x$" opens no dollar quote. */
			while (lx->i < lx->len && isalnum((unsigned char)lx->s[lx->i]))
				lx->i++;
		} else if ((n = take_word(lx)) > 0) {
			/* E'...' takes backslash escapes. */
			if (n == 1 && (c == 'E' || c == 'e') && lx->i < lx->len && lx->s[lx->i] == '\'' &&
			    skip_string(lx, 1, ""))
				return -1;
		} else {
			lx->i = w + 1;
			if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				return 0;
		}
	}
}

size_t gm_sql_constant_rows_from(const char *text, size_t start, size_t end)
{
	struct lexer lx = { text, end, start, NULL, 0 };
	size_t n, first_end;
	int rows = 0;

	/* INSERT ... up to VALUES, outside any parentheses. */
	if (skip_blank(&lx) || !(n = take_word(&lx)) || !word_is(&lx, n, "INSERT"))
		return 0;
	for (;;) {
		if (skip_blank(&lx) || lx.i >= lx.len)
			return 0;
		if (lx.s[lx.i] == '(') {
			if (skip_group(&lx))
				return 0;
		} else if (lx.s[lx.i] == '"') {
			if (skip_quoted(&lx, '"', 0, ""))
				return 0;
		} else if ((n = take_word(&lx)) > 0) {
			if (word_is(&lx, n, "VALUES"))
				break;
		} else if (lx.s[lx.i] == '.') {
			lx.i++;
		} else {
			return 0;
		}
	}
	/* The first row, whatever it holds: it is parsed. */
	if (skip_blank(&lx) || lx.i >= lx.len || lx.s[lx.i] != '(' || skip_group(&lx))
		return 0;
	first_end = lx.i;
	/* Then only rows of constants, and the end. */
	for (;;) {
		if (skip_blank(&lx))
			return 0;
		if (lx.i >= lx.len || lx.s[lx.i] == ';')
			break;
		if (lx.s[lx.i] != ',')
			return 0;
		lx.i++;
		if (constant_row_at(&lx))
			return 0;
		rows++;
	}
	if (lx.i < lx.len) {
		lx.i++;	/* the ';' */
		if (skip_blank(&lx) || lx.i < lx.len)
			return 0;
	}
	return rows ? first_end : 0;
}
