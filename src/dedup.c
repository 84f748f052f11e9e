/* dedup.c: exact duplicates by hash + byte compare, near-blank images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dedup.h"

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Open-addressing table of b's images: slot -> image index + 1 (0 = empty). */
int ferc_dedup_find(const ferc_dataset *a, const ferc_dataset *b, int *dup, ferc_err *e)
{
    if (a->size != b->size) {
        ferc_errf(e, "dedup: image sizes differ (%d vs %d)", a->size, b->size);
        return -1;
    }
    const size_t px = (size_t)a->size * a->size;
    size_t cap = 16;
    while (cap < (size_t)b->n * 2 + 1) cap <<= 1;
    int *slot = calloc(cap, sizeof *slot);
    uint64_t *hb = malloc(sizeof *hb * (b->n ? b->n : 1));
    if (!slot || !hb) {
        free(slot), free(hb);
        ferc_errf(e, "dedup: out of memory");
        return -1;
    }
    for (int j = 0; j < b->n; j++) hb[j] = fnv1a(b->pixels + px * j, px);
    /* insert in ascending order so a probe meets the lowest matching index first */
    for (int j = 0; j < b->n; j++) {
        size_t s = hb[j] & (cap - 1);
        int dupe = 0;
        while (slot[s]) {
            int k = slot[s] - 1;
            if (hb[k] == hb[j] && !memcmp(b->pixels + px * k, b->pixels + px * j, px)) {
                dupe = 1; /* keep only the lowest index of each distinct image */
                break;
            }
            s = (s + 1) & (cap - 1);
        }
        if (!dupe) slot[s] = j + 1;
    }
    int found = 0;
    for (int i = 0; i < a->n; i++) {
        const uint8_t *pi = a->pixels + px * i;
        uint64_t h = a == b ? hb[i] : fnv1a(pi, px);
        size_t s = h & (cap - 1);
        dup[i] = -1;
        while (slot[s]) {
            int k = slot[s] - 1;
            if (hb[k] == h && !memcmp(b->pixels + px * k, pi, px)) {
                if (a != b || k < i) dup[i] = k;
                break;
            }
            s = (s + 1) & (cap - 1);
        }
        found += dup[i] >= 0;
    }
    free(slot), free(hb);
    return found;
}

double ferc_pixel_std(const uint8_t *px, int n)
{
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++) s += px[i], s2 += (double)px[i] * px[i];
    double m = n ? s / n : 0.0, v = n ? s2 / n - m * m : 0.0;
    return v > 0.0 ? sqrt(v) : 0.0;
}

int ferc_dedup_filter(const ferc_dataset *d, int *idx, int n, const ferc_dataset *other, float min_std,
                      int *n_cross, int *n_internal, int *n_conflict, int *n_blank, ferc_err *e)
{
    int nc = 0, ni = 0, nf = 0, nb = 0;
    int *cross = other ? malloc(sizeof(int) * (d->n ? d->n : 1)) : NULL;
    int *self = malloc(sizeof(int) * (d->n ? d->n : 1));
    /* conflict[j]: the group whose first copy is j has more than one label */
    unsigned char *conflict = calloc(d->n ? d->n : 1, 1);
    if ((other && !cross) || !self || !conflict) {
        free(cross), free(self), free(conflict);
        ferc_errf(e, "dedup: out of memory");
        return -1;
    }
    if ((other && ferc_dedup_find(d, other, cross, e) < 0) || ferc_dedup_find(d, d, self, e) < 0) {
        free(cross), free(self), free(conflict);
        return -1;
    }
    /* self[i] points at the lowest index of its group (the table keeps only it) */
    for (int i = 0; i < d->n; i++)
        if (self[i] >= 0 && d->label[i] != d->label[self[i]]) conflict[self[i]] = 1;
    const int px = d->size * d->size;
    int m = 0;
    for (int t = 0; t < n; t++) {
        int i = idx[t];
        int root = self[i] >= 0 ? self[i] : i;
        if (cross && cross[i] >= 0)
            nc++;
        else if (conflict[root])
            nf++;
        else if (self[i] >= 0)
            ni++;
        else if (min_std > 0.0f && ferc_pixel_std(d->pixels + (size_t)px * i, px) < min_std)
            nb++;
        else
            idx[m++] = i;
    }
    free(cross), free(self), free(conflict);
    if (n_cross) *n_cross = nc;
    if (n_internal) *n_internal = ni;
    if (n_conflict) *n_conflict = nf;
    if (n_blank) *n_blank = nb;
    return m;
}
