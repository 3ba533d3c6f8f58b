/* checksum.c - SHA-256 through libcrypto's EVP interface. */
#include "gm_checksum.h"
#include "gm_error.h"

#include <openssl/evp.h>
#include <string.h>

struct gm_error *gm_checksum(const char *data, size_t len,
			     char out[GM_CHECKSUM_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return gm_error_new(GM_ERR_INPUT, "cannot allocate a SHA-256 context");
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, data, len) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
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
