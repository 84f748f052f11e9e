/* tutil.h: file helpers shared by the test binaries: a temporary folder per
 * binary (tdir, removed at the end), paths in it, whole-file reads/writes. */
#ifndef FERC_TUTIL_H
#define FERC_TUTIL_H
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tdir[64];

/* Creates /tmp/ferc_<name>_XXXXXX as tdir; exits the test binary on failure. */
static inline void tdir_make(const char *name)
{
    snprintf(tdir, sizeof tdir, "/tmp/ferc_%s_XXXXXX", name);
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline int tdir_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static inline void tdir_remove(void) { nftw(tdir, tdir_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static inline void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tdir, name); }

/* Writes n bytes as a fresh file (removed first: ext4 flushes files that are
 * truncated and rewritten, which is slow). 0 or -1. */
static inline int write_all(const char *path, const void *b, size_t n)
{
    remove(path);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(b, 1, n, f);
    return fclose(f);
}

/* The whole file, malloc'ed (one spare byte), or NULL. */
static inline uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    *n = b ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    return b;
}

#endif
