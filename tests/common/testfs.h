/* testfs.h - temporary folders and files for tests (unit and integration). */
#ifndef TESTFS_H
#define TESTFS_H

/* A new empty folder under /tmp (caller frees with tfs_rmdir). */
char *tfs_tempdir(void);
/* Writes text to dir/name, replacing it. */
void tfs_write(const char *dir, const char *name, const char *text);
/* The whole content of path (caller frees); fails the test when it cannot
 * be read. */
char *tfs_read(const char *path);
/* Removes dir and everything in it, and frees the string. */
void tfs_rmdir(char *dir);

#endif
