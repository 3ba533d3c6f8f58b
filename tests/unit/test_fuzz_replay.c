/* Replays every kept fuzz input (tests/fuzz/<target>/: seeds and the inputs
 * that once crashed a reader; for the lint also the corpus of tests/lint,
 * its seeds) through the fuzzers' entry points, so a fixed crash stays
 * fixed in make check and under the sanitizers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "gm_strbuf.h"
#include "testfs.h"

static const char *root(void)
{
	const char *r = getenv("GM_ROOT");

	return r && *r ? r : ".";
}

/* Every file of dir (its folders aside) through fn; takes dir. */
static size_t replay_dir(char *dir, void (*fn)(const uint8_t *, size_t))
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		char *path, *text;
		FILE *f;
		struct gm_strbuf sb = GM_STRBUF_INIT;
		char buf[65536];
		size_t got;

		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		path = gm_xasprintf("%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
			gm_strbuf_add(&sb, buf, got);
		fclose(f);
		text = gm_strbuf_detach(&sb, &got);
		fn((const uint8_t *)text, got);
		free(text);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	return n;
}

static size_t replay(const char *target, void (*fn)(const uint8_t *, size_t))
{
	return replay_dir(gm_xasprintf("%s/tests/fuzz/%s", root(), target), fn);
}

static void test_sql_inputs(void **state)
{
	(void)state;
	assert_true(replay("sql", gm_fuzz_sql) > 0);
}

static void test_yaml_inputs(void **state)
{
	(void)state;
	assert_true(replay("yaml", gm_fuzz_yaml) > 0);
}

static void test_snapshot_inputs(void **state)
{
	(void)state;
	assert_true(replay("snapshot", gm_fuzz_snapshot) > 0);
}

static void test_lint_inputs(void **state)
{
	(void)state;
	char *dir = gm_xasprintf("%s/tests/lint", root());
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = replay("lint", gm_fuzz_lint);

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && de->d_type == DT_DIR)
			n += replay_dir(gm_xasprintf("%s/%s", dir, de->d_name), gm_fuzz_lint);
	closedir(d);
	free(dir);
	assert_true(n > 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_inputs),
		cmocka_unit_test(test_yaml_inputs),
		cmocka_unit_test(test_snapshot_inputs),
		cmocka_unit_test(test_lint_inputs),
	};
	return cmocka_run_group_tests_name("fuzz inputs replayed", tests, NULL, NULL);
}
