/* test_dedup.c: exact duplicates planted in random images are found (within
 * a set, across sets, with conflicting labels), nothing else is; near-blank
 * images are dropped by pixel std; on real FER2013 the counts agree with a
 * brute-force byte comparison. */
#include <string.h>
#include "dedup.h"
#include "rng.h"
#include "test.h"

#define S 8
#define PX (S * S)

static void make_set(ferc_dataset *d, int n, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->n = n, d->size = S, d->n_classes = 3;
    d->pixels = malloc((size_t)n * PX);
    d->label = malloc(sizeof(int) * n);
    ferc_rng r;
    ferc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < PX; p++) d->pixels[i * PX + p] = (uint8_t)(ferc_rng_u64(&r) & 255);
        d->label[i] = i % 3;
    }
}

static void free_set(ferc_dataset *d) { free(d->pixels), free(d->label); }

static void copy_img(ferc_dataset *dst, int i, const ferc_dataset *src, int j)
{
    memcpy(dst->pixels + i * PX, src->pixels + j * PX, PX);
}

/* Brute force reference: lowest j (j < i when a == b) with equal bytes. */
static int brute(const ferc_dataset *a, int i, const ferc_dataset *b)
{
    const int px = a->size * a->size;
    for (int j = 0; j < b->n && (a != b || j < i); j++)
        if (!memcmp(a->pixels + (size_t)px * i, b->pixels + (size_t)px * j, px)) return j;
    return -1;
}

static int test_planted(void)
{
    ferc_dataset tr, va;
    ferc_err e;
    make_set(&tr, 200, 1);
    make_set(&va, 50, 2);
    /* within train: 10 -> 20, 20 -> 30 (three copies, same label 1 ... set labels) */
    copy_img(&tr, 20, &tr, 10), copy_img(&tr, 30, &tr, 10);
    tr.label[10] = tr.label[20] = tr.label[30] = 1;
    /* conflicting labels: 40 and 41 */
    copy_img(&tr, 41, &tr, 40);
    tr.label[40] = 0, tr.label[41] = 2;
    /* across: train 100 and 150 equal validation 5 and 7 */
    copy_img(&tr, 100, &va, 5), copy_img(&tr, 150, &va, 7);
    /* a near-blank image */
    memset(tr.pixels + 60 * PX, 128, PX);
    tr.pixels[60 * PX] = 129;

    int dup[200], dv[50];
    CHECK(ferc_dedup_find(&tr, &tr, dup, &e) == 3);
    CHECK(dup[20] == 10 && dup[30] == 10 && dup[41] == 40 && dup[10] == -1 && dup[40] == -1);
    for (int i = 0; i < tr.n; i++) CHECK(dup[i] == brute(&tr, i, &tr));
    CHECK(ferc_dedup_find(&tr, &va, dup, &e) == 2);
    CHECK(dup[100] == 5 && dup[150] == 7);
    for (int i = 0; i < tr.n; i++) CHECK(dup[i] == brute(&tr, i, &va));
    CHECK(ferc_dedup_find(&va, &tr, dv, &e) == 2);
    CHECK(dv[5] == 100 && dv[7] == 150);

    int idx[200];
    for (int i = 0; i < 200; i++) idx[i] = i;
    int nc, ni, nf, nb;
    int m = ferc_dedup_filter(&tr, idx, 200, &va, 2.0f, &nc, &ni, &nf, &nb, &e);
    CHECK(m == 200 - 2 - 2 - 2 - 1);
    CHECK(nc == 2 && ni == 2 && nf == 2 && nb == 1);
    int kept10 = 0;
    for (int t = 0; t < m; t++) {
        CHECK(idx[t] != 20 && idx[t] != 30 && idx[t] != 40 && idx[t] != 41);
        CHECK(idx[t] != 100 && idx[t] != 150 && idx[t] != 60);
        kept10 += idx[t] == 10;
        if (t) CHECK(idx[t] > idx[t - 1]);
    }
    CHECK(kept10 == 1);
    /* a subset of indices: only what is in it is filtered */
    int sub[3] = {20, 30, 61};
    CHECK(ferc_dedup_filter(&tr, sub, 3, NULL, 0.0f, &nc, &ni, &nf, &nb, &e) == 1 && sub[0] == 61);
    CHECK(nc == 0 && ni == 2 && nb == 0);
    /* no duplicates: nothing found */
    ferc_dataset other;
    make_set(&other, 30, 3);
    CHECK(ferc_dedup_find(&other, &va, dv, &e) == 0);
    free_set(&other);
    /* size mismatch is an error */
    va.size = 4;
    CHECK(ferc_dedup_find(&tr, &va, dup, &e) == -1 && strstr(e.msg, "sizes differ"));
    free_set(&tr), free_set(&va);
    return 0;
}

static int test_pixel_std(void)
{
    uint8_t a[4] = {0, 0, 0, 0}, b[4] = {0, 255, 0, 255};
    CHECK_CLOSE(ferc_pixel_std(a, 4), 0.0, 1e-12, 0);
    CHECK_CLOSE(ferc_pixel_std(b, 4), 127.5, 1e-9, 0);
    return 0;
}

/* Real FER2013: the hash-based counts equal a brute-force comparison of the
 * validation set against training (3589 x 28709 memcmp). */
static int test_fer2013(void)
{
    const char *base = getenv("FERC_DATASETS");
    char tr_root[1024], va_root[1024];
    snprintf(tr_root, sizeof tr_root, "%s/fer2013/train", base ? base : "../shared/datasets");
    snprintf(va_root, sizeof va_root, "%s/fer2013/test", base ? base : "../shared/datasets");
    FILE *f = fopen(va_root, "r");
    if (!f) SKIP("%s not found (set FERC_DATASETS)", va_root);
    fclose(f);
    ferc_config c;
    ferc_err e;
    ferc_config_defaults(&c);
    c.n_classes = 7;
    const char *names[7] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
    for (int k = 0; k < 7; k++) snprintf(c.classes[k], FERC_NAME, "%s", names[k]);
    c.subject_prefix = 0;
    ferc_dataset tr, va;
    const char *r1 = tr_root, *r2 = va_root;
    CHECK(ferc_dataset_load(&tr, &c, &r1, 1, NULL, NULL, &e) == 0);
    CHECK(ferc_dataset_load(&va, &c, &r2, 1, NULL, NULL, &e) == 0);
    int *dv = malloc(sizeof(int) * va.n);
    int n = ferc_dedup_find(&va, &tr, dv, &e);
    int bad = 0, nb = 0;
    for (int i = 0; i < va.n; i++) {
        int j = brute(&va, i, &tr);
        bad += j != dv[i];
        nb += j >= 0;
    }
    printf("  fer2013: %d of %d test images also in train (brute force %d)\n", n, va.n, nb);
    CHECK(n == nb && bad == 0);
    CHECK(n > 0); /* FER2013 is known to have cross-split duplicates */
    free(dv);
    ferc_dataset_free(&tr), ferc_dataset_free(&va);
    ferc_config_free(&c);
    return 0;
}

int main(void)
{
    RUN(test_planted);
    RUN(test_pixel_std);
    RUN(test_fer2013);
    return TEST_DONE("test_dedup");
}
