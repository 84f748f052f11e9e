/* haar_synth.h: synthetic frames for the face detector, shared by
 * tests/test_haar.c and bench/bench_detect.c: dataset faces (48x48 crops from
 * CK+48), enlarged and pasted at known places and sizes on backgrounds that
 * stress different parts of the cascade (flat: the variance test rejects
 * almost everything; gradient; noise: most windows pass the variance test;
 * checkerboard: strong edges). Deterministic given the seed.
 *
 * CK+48's crops come from this very cascade: pasted alone, the box OpenCV
 * finds is the pasted square to within a few pixels (measured: size ratio
 * 1.01 +- 0.04, offset < 2% of the size), so a found box must overlap the
 * pasted square with IoU >= 0.5. */
#ifndef FERC_HAAR_SYNTH_H
#define FERC_HAAR_SYNTH_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "haar.h"
#include "image.h"
#include "rng.h"

enum { SYNTH_FLAT, SYNTH_GRADIENT, SYNTH_NOISE, SYNTH_CHECKER, SYNTH_KINDS };
static const char *const synth_kind_name[SYNTH_KINDS] = {"flat", "gradient", "noise", "checker"};

typedef struct {
    int n;
    char **path;   /* sorted */
} synth_faces;

static inline int synth_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void synth_faces_free(synth_faces *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    f->n = 0;
    f->path = NULL;
}

/* Lists root/<class>/<file>.png (one level of class folders), sorted.
 * Returns the count (0 when root is missing or empty). */
static inline int synth_faces_list(synth_faces *f, const char *root)
{
    memset(f, 0, sizeof *f);
    DIR *d = opendir(root);
    if (!d)
        return 0;
    int cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4608]; /* root (< 4096) + name (< 256) */
        snprintf(sub, sizeof sub, "%s/%s", root, de->d_name);
        DIR *s = opendir(sub);
        if (!s)
            continue;
        struct dirent *fe;
        while ((fe = readdir(s))) {
            size_t L = strlen(fe->d_name);
            if (fe->d_name[0] == '.' || L < 5 || strcmp(fe->d_name + L - 4, ".png"))
                continue;
            if (f->n == cap) {
                cap = cap ? 2 * cap : 256;
                char **t = realloc(f->path, sizeof *t * (size_t)cap);
                if (!t)
                    break;
                f->path = t;
            }
            size_t n = strlen(sub) + L + 2;
            if ((f->path[f->n] = malloc(n)))
                snprintf(f->path[f->n++], n, "%s/%s", sub, fe->d_name);
        }
        closedir(s);
    }
    closedir(d);
    if (f->n)
        qsort(f->path, (size_t)f->n, sizeof *f->path, synth_cmp);
    return f->n;
}

/* Fills a w x h background of the given kind. */
static inline void synth_background(uint8_t *px, int w, int h, int kind, ferc_rng *r)
{
    int base = 70 + (int)ferc_rng_below(r, 100);
    int cell = 24 + (int)ferc_rng_below(r, 40);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = base;
            switch (kind) {
            case SYNTH_GRADIENT: v = 30 + (190 * x) / (w > 1 ? w - 1 : 1) + (20 * y) / (h > 1 ? h - 1 : 1); break;
            case SYNTH_NOISE: v = base - 50 + (int)ferc_rng_below(r, 101); break;
            case SYNTH_CHECKER: v = ((x / cell + y / cell) & 1) ? base + 60 : base - 50; break;
            default: break;
            }
            px[(size_t)y * w + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

/* Pastes face (48x48 gray) enlarged to size x size at (x, y). */
static inline int synth_paste(uint8_t *px, int w, int h, const ferc_image *face, int x, int y, int size, ferc_err *e)
{
    ferc_image big;
    if (ferc_image_resize(face, &big, size, size, e))
        return -1;
    for (int j = 0; j < size; j++)
        if (y + j >= 0 && y + j < h)
            for (int i = 0; i < size; i++)
                if (x + i >= 0 && x + i < w)
                    px[(size_t)(y + j) * w + x + i] = big.px[(size_t)j * size + i];
    ferc_image_free(&big);
    return 0;
}

/* Builds a frame: background `kind`, then n_faces faces (random files of fs,
 * sizes in [smin, smax], places that keep 25% of the larger size between
 * faces and 4 px from the borders). boxes[n_faces] receives the pasted squares;
 * returns the number of faces placed (fewer when no room was found), -1 on error. */
static inline int synth_frame(uint8_t *px, int w, int h, int kind, const synth_faces *fs, int n_faces, int smin, int smax,
                       ferc_rng *r, ferc_haar_box *boxes, ferc_err *e)
{
    synth_background(px, w, h, kind, r);
    int placed = 0;
    for (int k = 0; k < n_faces; k++) {
        int size = smin + (int)ferc_rng_below(r, (uint32_t)(smax - smin + 1));
        if (size + 8 > w || size + 8 > h)
            continue;
        int ok = 0, x = 0, y = 0;
        for (int tries = 0; tries < 200 && !ok; tries++) {
            x = 4 + (int)ferc_rng_below(r, (uint32_t)(w - size - 7));
            y = 4 + (int)ferc_rng_below(r, (uint32_t)(h - size - 7));
            ok = 1;
            for (int q = 0; q < placed && ok; q++) {
                const ferc_haar_box *b = &boxes[q];
                int gap = (size > b->w ? size : b->w) / 4;
                if (x < b->x + b->w + gap && b->x < x + size + gap && y < b->y + b->h + gap && b->y < y + size + gap)
                    ok = 0;
            }
        }
        if (!ok)
            continue;
        ferc_image face;
        const char *path = fs->path[ferc_rng_below(r, (uint32_t)fs->n)];
        if (ferc_image_load(&face, path, e))
            return -1;
        int rc = synth_paste(px, w, h, &face, x, y, size, e);
        ferc_image_free(&face);
        if (rc)
            return -1;
        boxes[placed++] = (ferc_haar_box){x, y, size, size, 0};
    }
    return placed;
}

#endif
