/* fuzz_entry.h - what the fuzzers feed: the readers of every input a user
 * can hand garage-migrate without a database. */
#ifndef FUZZ_ENTRY_H
#define FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* Each parses data as one kind of file and, when it parses, exercises what
 * depends on the result (statement offsets, position mapping, rendering). */
void gm_fuzz_sql(const uint8_t *data, size_t size);
void gm_fuzz_yaml(const uint8_t *data, size_t size);
void gm_fuzz_snapshot(const uint8_t *data, size_t size);
/* data as an SQL migration (and, from its first byte, sometimes as a YAML
 * one) through the lint and its three reports; where libpg_query can
 * split a section, its statement ends must be the lexer's. */
void gm_fuzz_lint(const uint8_t *data, size_t size);
/* Where gm_sql_constant_rows_from finds rows of constants in the
 * statement text[start, end), the statement parsed up to its first row
 * must be the whole statement's tree less its later rows, and those rows
 * constants only (when the whole parses at all).  1 when so (or nothing
 * was found), 0 when not. */
int gm_fuzz_rows_agree(const char *text, size_t start, size_t end);

#endif
