/* testfs.c - see testfs.h.  Failures fail the running cmocka test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "gm_strbuf.h"
#include "testfs.h"

char *tfs_tempdir(void)
{
	char tmpl[] = "/tmp/gm-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return gm_xstrdup(d);
}

void tfs_write(const char *dir, const char *name, const char *text)
{
	char *path = gm_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

void tfs_rmdir(char *dir)
{
	char *cmd = gm_xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

char *tfs_read(const char *path)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		fail_msg("cannot read %s", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		gm_strbuf_add(&sb, buf, n);
	fclose(f);
	return gm_strbuf_detach(&sb, NULL);
}
