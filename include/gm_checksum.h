/* gm_checksum.h - the checksum recorded for every applied migration.
 *
 * "sha256:" followed by 64 lower-case hex digits of the SHA-256 of the
 * migration's normalised up text (see garage-migrate(5)).  The algorithm tag
 * lets a future algorithm be told apart from this one in old histories. */
#ifndef GM_CHECKSUM_H
#define GM_CHECKSUM_H

#include <stddef.h>

#define GM_CHECKSUM_PREFIX "sha256:"
#define GM_CHECKSUM_LEN (sizeof(GM_CHECKSUM_PREFIX) - 1 + 64)

struct gm_error;

/* Writes GM_CHECKSUM_LEN characters and a NUL into out. */
struct gm_error *gm_checksum(const char *data, size_t len,
			     char out[GM_CHECKSUM_LEN + 1]);

#endif
