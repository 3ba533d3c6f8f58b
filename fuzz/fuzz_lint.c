/* fuzz_lint.c - libFuzzer target: see fuzz_entry.h. */
#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gm_fuzz_lint(data, size);
	return 0;
}
