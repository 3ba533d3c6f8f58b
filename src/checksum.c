/* checksum.c - SHA-256 through libcrypto's EVP interface. */
#include "gm_checksum.h"
#include "gm_error.h"

#include <openssl/evp.h>
#include <string.h>

/* The digest is fetched from the default provider once: a fetch looks it
 * up by name in libcrypto's method store, which costs more than hashing a
 * small migration, and EVP_sha256() would do it again at every call.
 * Held until exit (the tool is single-threaded). */
static const EVP_MD *sha256(void)
{
	static EVP_MD *md;

	if (!md)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md;
}

struct gm_error *gm_checksum(const char *data, size_t len,
			     char out[GM_CHECKSUM_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	const EVP_MD *type = sha256();

	if (!type || EVP_Digest(data, len, md, &mdlen, type, NULL) != 1 || mdlen != 32)
		return gm_error_new(GM_ERR_INPUT, "SHA-256 failed in libcrypto");

	memcpy(out, GM_CHECKSUM_PREFIX, sizeof(GM_CHECKSUM_PREFIX) - 1);
	out += sizeof(GM_CHECKSUM_PREFIX) - 1;
	for (i = 0; i < mdlen; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 0xF];
	}
	*out = '\0';
	return NULL;
}
