/* test_dataset.c: class-folder loading (aliases, skipped folders, subjects,
 * sorted order, errors), subject-independent folds and splits, augmentation
 * and the batch loader; then the real CK+48 set when it is present. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "dataset.h"
#include "image.h"
#include "test.h"

/* Real data: $FERC_DATASETS (as tests/run.sh sets it), else ../shared/datasets. */
static char CK48[512], CK48N[512];

static void data_paths(void)
{
    const char *root = getenv("FERC_DATASETS");
    if (!root || !*root)
        root = "../shared/datasets";
    snprintf(CK48, sizeof CK48, "%s/CK+48", root);
    snprintf(CK48N, sizeof CK48N, "%s/CK+48-neutral", root);
}

/* config.c (the parser) is written separately; until it is linked, this
 * stand-in gives the documented mapping: exact class name first, then the
 * aliases, both case-insensitive. Weak, so the real one wins when linked. */
__attribute__((weak)) int ferc_config_class_of(const ferc_config *c, const char *folder)
{
    for (int k = 0; k < c->n_classes; k++)
        if (!strcasecmp(c->classes[k], folder))
            return k;
    for (int a = 0; a < c->n_aliases; a++)
        if (!strcasecmp(c->alias_from[a], folder))
            for (int k = 0; k < c->n_classes; k++)
                if (!strcasecmp(c->classes[k], c->alias_to[a]))
                    return k;
    return -1;
}

/* A config filled by hand: classes from a comma list, aliases "from=to,...". */
static void cfg_init(ferc_config *c, const char *classes, const char *aliases, int size, int prefix)
{
    memset(c, 0, sizeof *c);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", classes);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        snprintf(c->classes[c->n_classes++], FERC_NAME, "%s", t);
    snprintf(buf, sizeof buf, "%s", aliases);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char *eq = strchr(t, '=');
        *eq = 0;
        snprintf(c->alias_from[c->n_aliases], FERC_NAME, "%s", t);
        snprintf(c->alias_to[c->n_aliases++], FERC_NAME, "%s", eq + 1);
    }
    c->input_size = size;
    c->subject_prefix = prefix;
    c->mean = 0.5f;
    c->std = 0.25f;
    c->folds = 10;
    c->seed = 1;
}

static char tdir[64];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void mkdirs(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tdir, rel);
    for (char *s = p + strlen(tdir) + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

/* Writes a 20x20 image of constant value v at tdir/rel (PNG, or JPEG by name). */
static void put_image(const char *rel, int v)
{
    char p[512];
    uint8_t px[20 * 20];
    memset(px, v, sizeof px);
    snprintf(p, sizeof p, "%s/%s", tdir, rel);
    ferc_err e;
    const char *dot = strrchr(rel, '.');
    int r = !strcasecmp(dot, ".jpg") ? ferc_jpeg_write(p, px, 20, 20, 1, 100, &e)
                                     : ferc_png_write(p, px, 20, 20, 1, &e);
    if (r)
        fprintf(stderr, "setup: %s\n", e.msg);
}

static void put_file(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tdir, rel);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

typedef struct {
    char lines[16][512];
    int n;
} logbuf;

static void log_cb(void *ctx, const char *msg)
{
    logbuf *l = ctx;
    if (l->n < 16)
        snprintf(l->lines[l->n++], sizeof l->lines[0], "%s", msg);
}

static int log_has(const logbuf *l, const char *a, const char *b)
{
    for (int i = 0; i < l->n; i++)
        if (strstr(l->lines[i], a) && strstr(l->lines[i], b))
            return 1;
    return 0;
}

/* The synthetic two-root dataset; see test_load for the expected layout. */
static void make_synthetic(void)
{
    mkdirs("r1/anger");
    mkdirs("r1/happiness");
    mkdirs("r1/surprise");
    mkdirs("r1/junk");
    mkdirs("r2/happy");
    put_image("r1/anger/S002_001_00000001.png", 10);
    put_image("r1/anger/S001_001_00000002.png", 20);
    put_image("r1/anger/S001_001_00000001.png", 30);
    put_image("r1/happiness/S003_001_00000002.jpg", 40);
    put_image("r1/happiness/S003_001_00000001.PNG", 50);
    put_image("r1/happiness/S001_002_00000001.png", 60);
    put_image("r1/surprise/S004_001_00000001.png", 70);
    put_image("r1/surprise/S002_002_00000001.png", 80);
    put_file("r1/surprise/notes.txt", "not an image\n");
    put_file("r1/surprise/.hidden.png", "hidden files are ignored\n");
    put_image("r1/junk/S009_001_00000001.png", 90);
    put_image("r2/happy/S001_003_00000001.png", 100);
}

static int test_load(void)
{
    ferc_config c;
    cfg_init(&c, "anger,happy,surprise", "happiness=happy,angry=anger", 16, 1);
    char r1[128], r2[128];
    snprintf(r1, sizeof r1, "%s/r1", tdir);
    snprintf(r2, sizeof r2, "%s/r2", tdir);
    const char *roots[2] = {r1, r2};
    ferc_dataset d;
    ferc_err e = {{0}};
    logbuf lg = {0};
    CHECKF(ferc_dataset_load(&d, &c, roots, 2, log_cb, &lg, &e) == 0, "%s", e.msg);
    if (d.n != 9) {
        CHECKF(0, "n = %d, expected 9", d.n);
        ferc_dataset_free(&d);
        return 0;
    }
    /* folders sorted (anger, happiness, [junk], surprise), files sorted by name */
    static const char *files[9] = {
        "r1/anger/S001_001_00000001.png",     "r1/anger/S001_001_00000002.png",
        "r1/anger/S002_001_00000001.png",     "r1/happiness/S001_002_00000001.png",
        "r1/happiness/S003_001_00000001.PNG", "r1/happiness/S003_001_00000002.jpg",
        "r1/surprise/S002_002_00000001.png",  "r1/surprise/S004_001_00000001.png",
        "r2/happy/S001_003_00000001.png"};
    static const int label[9] = {0, 0, 0, 1, 1, 1, 2, 2, 1};
    static const int value[9] = {30, 20, 10, 60, 50, 40, 80, 70, 100};
    static const char *subj[9] = {"S001", "S001", "S002", "S001", "S003", "S003", "S002", "S004", "S001"};
    for (int i = 0; i < 9; i++) {
        char want[512];
        snprintf(want, sizeof want, "%s/%s", tdir, files[i]);
        CHECKF(!strcmp(d.file[i], want), "file %d: %s, expected %s", i, d.file[i], want);
        CHECKF(d.label[i] == label[i], "label %d: %d", i, d.label[i]);
        CHECKF(!strcmp(d.subjects[d.subject[i]], subj[i]), "subject %d: %s", i, d.subjects[d.subject[i]]);
        CHECK(d.root[i] == (i == 8));
        /* constant images stay constant through decoding and 20 -> 16 resize */
        int ok = 1;
        for (int p = 0; p < 16 * 16; p++)
            ok &= abs(d.pixels[i * 256 + p] - value[i]) <= (i == 5 ? 2 : 0);
        CHECKF(ok, "pixels of image %d", i);
    }
    CHECK(d.size == 16 && d.n_classes == 3);
    CHECK(d.n_subjects == 4);
    for (int s = 0; s < d.n_subjects && s < 4; s++) {
        char want[16];
        snprintf(want, sizeof want, "S%03d", s + 1);
        CHECKF(!strcmp(d.subjects[s], want), "subjects[%d] = %s", s, d.subjects[s]);
    }
    CHECK(d.class_count[0] == 3 && d.class_count[1] == 4 && d.class_count[2] == 2);
    CHECKF(log_has(&lg, "junk", "not a class"), "no log line about junk/ (%d lines)", lg.n);
    CHECKF(log_has(&lg, "non-image", "surprise"), "no log line about notes.txt");
    CHECK(!log_has(&lg, "hidden", ""));
    for (int i = 0; i < lg.n; i++)
        printf("  log: %s\n", lg.lines[i]);
    ferc_dataset_free(&d);

    /* subject_prefix = 0: every file is its own subject, named by its stem */
    c.subject_prefix = 0;
    CHECKF(ferc_dataset_load(&d, &c, roots, 1, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(d.n == 8 && d.n_subjects == 8);
    for (int i = 0; i < d.n && i < 8; i++) {
        const char *base = strrchr(d.file[i], '/') + 1;
        CHECKF(!strncmp(d.subjects[d.subject[i]], base, strlen(base) - 4) &&
                   strlen(d.subjects[d.subject[i]]) == strlen(base) - 4,
               "%s vs %s", d.subjects[d.subject[i]], base);
    }
    ferc_dataset_free(&d);
    return 0;
}

static void expect_load_fail(const ferc_config *c, const char *root, const char *what, int line)
{
    ferc_dataset d;
    ferc_err e = {{0}};
    const char *roots[1] = {root};
    int r = ferc_dataset_load(&d, c, roots, 1, NULL, NULL, &e);
    CHECKF(r == -1, "line %d: load of %s succeeded", line, root);
    CHECKF(strstr(e.msg, what) != NULL, "line %d: message lacks '%s': %s", line, what, e.msg);
    CHECKF(d.n == 0 && d.pixels == NULL, "line %d: dataset not cleared", line);
    printf("  expected error: %s\n", e.msg);
    if (r == 0)
        ferc_dataset_free(&d);
}

static int test_load_errors(void)
{
    ferc_config c;
    cfg_init(&c, "anger,happy,surprise", "happiness=happy", 16, 1);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/none", tdir);
    expect_load_fail(&c, p, p, __LINE__);
    /* a root with only unknown folders, and one with empty class folders */
    mkdirs("e1/junk");
    put_image("e1/junk/S001_001_00000001.png", 1);
    snprintf(p, sizeof p, "%s/e1", tdir);
    expect_load_fail(&c, p, "no class folders", __LINE__);
    mkdirs("e2/anger");
    mkdirs("e2/happy");
    put_file("e2/happy/readme.txt", "x");
    snprintf(p, sizeof p, "%s/e2", tdir);
    expect_load_fail(&c, p, "no images", __LINE__);
    /* a file as root */
    snprintf(p, sizeof p, "%s/e2/happy/readme.txt", tdir);
    expect_load_fail(&c, p, "not a folder", __LINE__);

    /* corrupt images: the first by index is reported, whatever the threads do */
    mkdirs("e3/anger");
    mkdirs("e3/happy");
    for (int i = 0; i < 60; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "e3/%s/S%03d_001_00000001.png", i < 30 ? "anger" : "happy", i);
        put_image(rel, i);
    }
    put_file("e3/anger/S005_001_00000001.png", "garbage");      /* index 5 */
    put_file("e3/happy/S040_001_00000001.png", "\x89PNG\r\n\x1a\n"); /* index 40 */
    snprintf(p, sizeof p, "%s/e3", tdir);
    snprintf(q, sizeof q, "%s/e3/anger/S005_001_00000001.png", tdir);
    for (int rep = 0; rep < 5; rep++)
        expect_load_fail(&c, p, q, __LINE__);
    put_image("e3/anger/S005_001_00000001.png", 5);
    snprintf(q, sizeof q, "%s/e3/happy/S040_001_00000001.png: truncated PNG", tdir);
    expect_load_fail(&c, p, q, __LINE__);
    return 0;
}

/* An in-memory dataset: S subjects with pseudo-random class counts. */
static void fake_dataset(ferc_dataset *d, int S, int K, int size, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    ferc_rng r;
    ferc_rng_seed(&r, seed);
    int cap = S * K * 6 + 1;
    d->label = malloc(sizeof(int) * (size_t)cap);
    d->subject = malloc(sizeof(int) * (size_t)cap);
    d->subjects = calloc((size_t)S, sizeof(char *));
    for (int s = 0; s < S; s++) {
        d->subjects[s] = malloc(16);
        snprintf(d->subjects[s], 16, "S%03d", s);
        int m = 1 + (int)ferc_rng_below(&r, 3); /* classes per subject */
        for (int j = 0; j < m; j++) {
            int k = (int)ferc_rng_below(&r, (uint32_t)K), cnt = 1 + (int)ferc_rng_below(&r, 6);
            for (int t = 0; t < cnt && d->n < cap; t++) {
                d->label[d->n] = k;
                d->subject[d->n++] = s;
                d->class_count[k]++;
            }
        }
    }
    d->n_subjects = S;
    d->n_classes = K;
    d->size = size;
    d->pixels = malloc((size_t)d->n * size * size);
    for (size_t i = 0; i < (size_t)d->n * size * size; i++)
        d->pixels[i] = (uint8_t)(ferc_rng_u64(&r) >> 56);
}

static int test_folds(void)
{
    ferc_dataset d;
    fake_dataset(&d, 60, 5, 4, 7);
    const int F = 10, S = d.n_subjects;
    int a[60], b[60], c2[60];
    ferc_dataset_folds(&d, F, 1, a);
    ferc_dataset_folds(&d, F, 1, b);
    ferc_dataset_folds(&d, F, 2, c2);
    int ok = 1, same = 1, diff = 0;
    for (int s = 0; s < S; s++) {
        ok &= a[s] >= 0 && a[s] < F;
        same &= a[s] == b[s];
        diff += a[s] != c2[s];
    }
    CHECK(ok);
    CHECK(same);
    CHECKF(diff > 0, "seed 2 gives the same folds as seed 1");
    int size[10] = {0}, cls[10][5] = {{0}};
    for (int i = 0; i < d.n; i++) {
        size[a[d.subject[i]]]++;
        cls[a[d.subject[i]]][d.label[i]]++;
    }
    int lo = d.n, hi = 0;
    for (int f = 0; f < F; f++) {
        lo = size[f] < lo ? size[f] : lo;
        hi = size[f] > hi ? size[f] : hi;
    }
    printf("  %d images, %d subjects, fold sizes %d..%d (mean %.1f)\n", d.n, S, lo, hi, d.n / 10.0);
    CHECKF(lo >= 0.7 * d.n / F && hi <= 1.3 * d.n / F, "unbalanced folds %d..%d", lo, hi);
    /* stratification: each class in every fold, near its share */
    for (int k = 0; k < 5; k++) {
        int present = 0;
        for (int f = 0; f < F; f++)
            present += cls[f][k] > 0;
        CHECKF(present >= F - 1, "class %d in only %d folds", k, present);
    }
    /* folds <= 1: everything in fold 0 */
    ferc_dataset_folds(&d, 1, 1, a);
    ok = 1;
    for (int s = 0; s < S; s++)
        ok &= a[s] == 0;
    CHECK(ok);
    ferc_dataset_free(&d);
    return 0;
}

/* Checks a split: disjoint, complete, subject-independent, test = fold k. */
static void check_split(const ferc_dataset *d, const int *tr, int ntr, const int *va, int nva,
                        const int *te, int nte, const int *fold_of, int k, int line)
{
    int *side = calloc((size_t)d->n, sizeof(int));       /* 1 train, 2 val, 3 test */
    int *sside = calloc((size_t)d->n_subjects, sizeof(int));
    int ok = ntr + nva + nte == d->n, sorted = 1;
    const int *sets[3] = {tr, va, te};
    const int cnt[3] = {ntr, nva, nte};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < cnt[t]; i++) {
            int id = sets[t][i];
            sorted &= i == 0 || sets[t][i - 1] < id;
            ok &= id >= 0 && id < d->n && side[id] == 0;
            if (id < 0 || id >= d->n)
                continue;
            side[id] = t + 1;
            int s = d->subject[id];
            ok &= sside[s] == 0 || sside[s] == t + 1;
            sside[s] = t + 1;
            if (fold_of)
                ok &= (t == 2) == (fold_of[s] == k);
        }
    CHECKF(ok, "line %d: split is not a subject-independent partition", line);
    CHECKF(sorted, "line %d: split indices not ascending", line);
    free(side);
    free(sside);
}

static int test_split(void)
{
    ferc_dataset d;
    fake_dataset(&d, 50, 4, 4, 11);
    int fold_of[50];
    ferc_dataset_folds(&d, 5, 3, fold_of);
    ferc_err e = {{0}};
    int *tr, *va, *te, ntr, nva, nte;
    int total_test = 0;
    for (int k = 0; k < 5; k++) {
        CHECKF(ferc_dataset_split(&d, 5, k, 0.2f, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0, "%s", e.msg);
        check_split(&d, tr, ntr, va, nva, te, nte, fold_of, k, __LINE__);
        total_test += nte;
        int vs[50] = {0}, nvs = 0, rs = 0;
        for (int i = 0; i < nva; i++)
            vs[d.subject[va[i]]] = 1;
        for (int s = 0; s < 50; s++) {
            nvs += vs[s];
            rs += fold_of[s] != k;
        }
        CHECKF(nva > 0 && nvs >= 0.1 * rs && nvs <= 0.35 * rs, "fold %d: %d of %d subjects in val", k, nvs, rs);
        CHECKF(nva >= 0.1 * (nva + ntr) && nva <= 0.3 * (nva + ntr), "fold %d: %d val / %d train images", k, nva, ntr);
        /* deterministic */
        int *tr2, *va2, *te2, ntr2, nva2, nte2;
        CHECK(ferc_dataset_split(&d, 5, k, 0.2f, 3, &tr2, &ntr2, &va2, &nva2, &te2, &nte2, &e) == 0);
        CHECK(ntr2 == ntr && nva2 == nva && nte2 == nte && !memcmp(va, va2, sizeof(int) * (size_t)nva) &&
              !memcmp(te, te2, sizeof(int) * (size_t)nte));
        free(tr2), free(va2), free(te2);
        free(tr), free(va), free(te);
    }
    CHECK(total_test == d.n); /* every image is tested exactly once over the folds */
    /* no inner validation */
    CHECK(ferc_dataset_split(&d, 5, 2, 0, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0);
    check_split(&d, tr, ntr, va, nva, te, nte, fold_of, 2, __LINE__);
    CHECK(nva == 0 && nte > 0);
    free(tr), free(va), free(te);
    /* folds <= 1: no test set; everything is train (inner_val still applies) */
    CHECK(ferc_dataset_split(&d, 0, 0, 0, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0);
    CHECK(ntr == d.n && nva == 0 && nte == 0);
    free(tr), free(va), free(te);
    CHECK(ferc_dataset_split(&d, 1, 0, 0.1f, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0);
    check_split(&d, tr, ntr, va, nva, te, nte, NULL, 0, __LINE__);
    CHECK(nte == 0 && nva > 0 && ntr > nva);
    free(tr), free(va), free(te);
    /* bad arguments */
    CHECK(ferc_dataset_split(&d, 5, 5, 0, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == -1);
    CHECK(ferc_dataset_split(&d, 5, 0, 1.0f, 3, &tr, &ntr, &va, &nva, &te, &nte, &e) == -1);
    ferc_dataset_free(&d);
    return 0;
}

static int test_augment(void)
{
    enum { Z = 24 };
    uint8_t src[Z * Z];
    ferc_rng r;
    ferc_rng_seed(&r, 5);
    for (int i = 0; i < Z * Z; i++)
        src[i] = (uint8_t)(ferc_rng_u64(&r) >> 56);
    ferc_config c;
    cfg_init(&c, "a", "", Z, 1);
    float ref[Z * Z], out[Z * Z], out2[Z * Z];
    ferc_normalize(src, Z, c.mean, c.std, ref);
    CHECK_CLOSE(ref[0], (src[0] / 255.0 - 0.5) / 0.25, 1e-6, 0);
    /* all augment fields 0: exactly ferc_normalize, whatever the rng */
    for (uint64_t s = 0; s < 5; s++) {
        ferc_rng_seed(&r, s);
        ferc_augment(src, Z, &c, &r, out);
        CHECK(!memcmp(out, ref, sizeof ref));
    }
    /* flip only: identity or exact mirror, both seen */
    c.flip = 1;
    int seen_id = 0, seen_mirror = 0;
    for (uint64_t s = 0; s < 20; s++) {
        ferc_rng_seed(&r, s);
        ferc_augment(src, Z, &c, &r, out);
        int id = !memcmp(out, ref, sizeof ref), mir = 1;
        for (int y = 0; y < Z; y++)
            for (int x = 0; x < Z; x++)
                mir &= fabsf(out[y * Z + x] - ref[y * Z + Z - 1 - x]) < 1e-5f;
        CHECK(id || mir);
        seen_id |= id;
        seen_mirror |= mir && !id;
    }
    CHECK(seen_id && seen_mirror);
    /* everything on: deterministic per rng state, different across states,
     * within the normalised [0, 1] range */
    c.shift = 0.1f, c.rotate = 15, c.scale = 0.1f, c.brightness = 0.2f, c.contrast = 0.3f;
    ferc_rng_seed(&r, 9);
    ferc_augment(src, Z, &c, &r, out);
    ferc_rng_seed(&r, 9);
    ferc_augment(src, Z, &c, &r, out2);
    CHECK(!memcmp(out, out2, sizeof out));
    ferc_rng_seed(&r, 10);
    ferc_augment(src, Z, &c, &r, out2);
    CHECK(memcmp(out, out2, sizeof out) != 0);
    int ok = 1;
    for (int i = 0; i < Z * Z; i++)
        ok &= out[i] >= (0 - 0.5f) / 0.25f - 1e-5f && out[i] <= (1 - 0.5f) / 0.25f + 1e-5f;
    CHECK(ok);
    /* brightness only on a constant image: a uniform shift, clamped */
    memset(src, 128, sizeof src);
    c.flip = 0;
    c.shift = c.rotate = c.scale = c.contrast = 0;
    c.brightness = 0.1f;
    ferc_normalize(src, Z, c.mean, c.std, ref);
    ferc_rng_seed(&r, 3);
    ferc_augment(src, Z, &c, &r, out);
    ok = 1;
    for (int i = 0; i < Z * Z; i++)
        ok &= fabsf(out[i] - out[0]) < 1e-6f;
    CHECK(ok && fabsf(out[0] - ref[0]) <= 0.1f / 0.25f + 1e-5f && out[0] != ref[0]);
    /* a constant image stays constant under any geometric warp (border replication) */
    c.brightness = 0, c.shift = 0.2f, c.rotate = 30, c.scale = 0.2f, c.flip = 1;
    ferc_rng_seed(&r, 4);
    ferc_augment(src, Z, &c, &r, out);
    ok = 1;
    for (int i = 0; i < Z * Z; i++)
        ok &= fabsf(out[i] - ref[i]) < 1e-5f;
    CHECK(ok);
    /* erasing only, on the constant image: the changed pixels form one
     * rectangle of 2%..erase_area of the image, aspect within [0.3, 3.3]
     * up to rounding, filled with varied noise; p = 0.5 erases about half */
    c.shift = c.rotate = c.scale = 0, c.flip = 0;
    c.erase = 0.5f, c.erase_area = 0.25f;
    int erased = 0, trials = 400;
    for (uint64_t s = 0; s < (uint64_t)trials; s++) {
        ferc_rng_seed(&r, 100 + s);
        ferc_augment(src, Z, &c, &r, out);
        int x0 = Z, y0 = Z, x1 = -1, y1 = -1, cnt = 0;
        for (int y = 0; y < Z; y++)
            for (int x = 0; x < Z; x++)
                if (fabsf(out[y * Z + x] - ref[0]) > 1e-6f) {
                    cnt++;
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                }
        if (!cnt)
            continue;
        erased++;
        int w = x1 - x0 + 1, h = y1 - y0 + 1;
        /* noise can hit the constant's value exactly only by chance: allow a few */
        CHECK(cnt >= w * h - 3 && cnt <= w * h);
        CHECK(w * h >= 0.02 * Z * Z * 0.5 && w * h <= 0.25 * Z * Z * 1.5 + 2 * Z);
        CHECK((double)h / w <= 3.3 * 1.6 && (double)w / h <= 3.3 * 1.6);
    }
    CHECK(erased > trials * 0.4 && erased < trials * 0.6);
    /* p = 1 always erases; the rest of the transform is the same as without erasing */
    c.erase = 1, c.brightness = 0.2f, c.shift = 0.1f;
    for (int i = 0; i < Z * Z; i++)
        src[i] = (uint8_t)(i * 7);
    c.erase = 0;
    ferc_rng_seed(&r, 21);
    ferc_augment(src, Z, &c, &r, out);
    c.erase = 1;
    ferc_rng_seed(&r, 21);
    ferc_augment(src, Z, &c, &r, out2);
    int differ = 0, same = 0;
    for (int i = 0; i < Z * Z; i++)
        out[i] == out2[i] ? same++ : differ++;
    CHECK(differ >= 0.02 * Z * Z * 0.5 && same > 0);
    return 0;
}

/* Gamma and Beta sampling (mixup's lam): sample moments against the known
 * mean and variance; then ferc_mixup on images that each hold one value. */
static int test_mixup(void)
{
    ferc_rng r;
    ferc_rng_seed(&r, 11);
    const int n = 40000;
    const float as[3] = {0.2f, 1.0f, 3.5f};
    for (int t = 0; t < 3; t++) {
        double m = 0, v = 0, bm = 0, bv = 0;
        int in01 = 1;
        for (int i = 0; i < n; i++) {
            double g = ferc_rng_gamma(&r, as[t]), b = ferc_rng_beta(&r, as[t], as[t]);
            m += g, v += g * g, bm += b, bv += b * b;
            in01 &= b >= 0 && b <= 1;
        }
        m /= n, v = v / n - m * m, bm /= n, bv = bv / n - bm * bm;
        const double a = as[t], bvar = 1.0 / (4.0 * (2.0 * a + 1.0));
        /* Gamma(a): mean a, variance a; Beta(a, a): mean 1/2, variance 1/(4(2a+1)) */
        CHECK_CLOSE(m, a, 0.03 * a + 0.01, 0);
        CHECK_CLOSE(v, a, 0.08 * a + 0.01, 0);
        CHECK_CLOSE(bm, 0.5, 0.01, 0);
        CHECK_CLOSE(bv, bvar, 0.05 * bvar, 0);
        CHECK(in01);
    }
    /* a skewed Beta(2, 5): mean 2/7 */
    double bm = 0;
    for (int i = 0; i < n; i++) bm += ferc_rng_beta(&r, 2, 5);
    CHECK_CLOSE(bm / n, 2.0 / 7.0, 0.01, 0);

    enum { NB = 9, ISZ = 5 };
    float x[NB * ISZ], scratch[NB * ISZ], x2[NB * ISZ];
    int y[NB], y2[NB], y2b[NB];
    for (int i = 0; i < NB; i++) {
        y[i] = 100 + i;
        for (int j = 0; j < ISZ; j++) x[i * ISZ + j] = (float)i;
    }
    memcpy(x2, x, sizeof x);
    ferc_rng_seed(&r, 5);
    float lam = ferc_mixup(x, scratch, NB, ISZ, y, y2, 0.4f, &r);
    CHECK(lam >= 0 && lam <= 1);
    int seen[NB] = {0}, ok = 1, moved = 0;
    for (int i = 0; i < NB; i++) {
        int j = y2[i] - 100; /* the partner image, by its label */
        CHECK(j >= 0 && j < NB);
        if (j < 0 || j >= NB) return 0;
        seen[j]++;
        moved += j != i;
        for (int k = 0; k < ISZ; k++) ok &= fabsf(x[i * ISZ + k] - (lam * i + (1 - lam) * j)) < 1e-5f;
    }
    CHECK(ok);
    for (int i = 0; i < NB; i++) CHECK(seen[i] == 1); /* a permutation */
    CHECK(moved > 0);
    /* the same rng state gives the same lam, pairs and pixels */
    ferc_rng_seed(&r, 5);
    float lam2 = ferc_mixup(x2, scratch, NB, ISZ, y, y2b, 0.4f, &r);
    CHECK(lam2 == lam && !memcmp(y2, y2b, sizeof y2) && !memcmp(x, x2, sizeof x));
    return 0;
}

/* Runs one epoch (or its tail from batch `first`) and returns a malloc'ed
 * copy of everything: per batch its count, ids, labels and pixels. */
typedef struct {
    int nb, cnt[64], ids[64][16], y[64][16];
    float *x; /* nb * batch * isz */
} epoch_rec;

static void run_epoch(ferc_loader *l, const ferc_dataset *d, int batch, uint64_t seed, int epoch,
                      int first, epoch_rec *rec)
{
    const size_t isz = (size_t)d->size * d->size;
    memset(rec, 0, sizeof *rec);
    rec->x = calloc(64 * (size_t)batch * isz, sizeof(float));
    ferc_loader_start(l, seed, epoch, first);
    const float *x;
    const int *y, *ids;
    int nb;
    while ((nb = ferc_loader_next(l, &x, &y, &ids)) > 0 && rec->nb < 64) {
        int b = rec->nb++;
        rec->cnt[b] = nb;
        memcpy(rec->ids[b], ids, sizeof(int) * (size_t)nb);
        memcpy(rec->y[b], y, sizeof(int) * (size_t)nb);
        memcpy(rec->x + (size_t)b * batch * isz, x, sizeof(float) * (size_t)nb * isz);
    }
}

/* Batches b.. of `a` equal batches 0.. of `b`. */
static int same_batches(const epoch_rec *a, int from, const epoch_rec *b, int batch, size_t isz)
{
    if (a->nb - from != b->nb)
        return 0;
    for (int i = 0; i < b->nb; i++) {
        const int j = i + from;
        if (a->cnt[j] != b->cnt[i] || memcmp(a->ids[j], b->ids[i], sizeof(int) * (size_t)b->cnt[i]) ||
            memcmp(a->y[j], b->y[i], sizeof(int) * (size_t)b->cnt[i]) ||
            memcmp(a->x + (size_t)j * batch * isz, b->x + (size_t)i * batch * isz,
                   sizeof(float) * (size_t)b->cnt[i] * isz))
            return 0;
    }
    return 1;
}

static int test_loader(void)
{
    ferc_dataset d;
    fake_dataset(&d, 30, 3, 8, 3);
    const size_t isz = 64;
    ferc_config c;
    cfg_init(&c, "a,b,c", "", 8, 1);
    c.flip = 1, c.shift = 0.1f, c.rotate = 10, c.scale = 0.1f, c.brightness = 0.1f, c.contrast = 0.1f;
    /* iterate over every other image */
    int idx[512], n = 0;
    for (int i = 0; i < d.n && n < 100; i += 2)
        idx[n++] = i;
    const int B = 7;
    ferc_err e = {{0}};
    ferc_loader *l = ferc_loader_new(&d, &c, idx, n, B, 1, &e);
    CHECKF(l != NULL, "%s", e.msg);
    if (!l) {
        ferc_dataset_free(&d);
        return 0;
    }
    CHECK(ferc_loader_batches(l) == (n + B - 1) / B);
    const float *x;
    const int *y, *ids;
    CHECK(ferc_loader_next(l, &x, &y, &ids) == 0); /* not started yet */

    epoch_rec *a = malloc(sizeof *a), *b = malloc(sizeof *b), *t = malloc(sizeof *t);
    run_epoch(l, &d, B, 42, 3, 0, a);
    /* covers every index once; labels match; last batch smaller */
    int *seen = calloc((size_t)d.n, sizeof(int)), total = 0, ok = 1;
    for (int bi = 0; bi < a->nb; bi++)
        for (int i = 0; i < a->cnt[bi]; i++) {
            seen[a->ids[bi][i]]++;
            ok &= a->y[bi][i] == d.label[a->ids[bi][i]];
            total++;
        }
    for (int i = 0; i < n; i++)
        ok &= seen[idx[i]] == 1;
    CHECK(ok && total == n);
    CHECK(a->nb == ferc_loader_batches(l) && a->cnt[a->nb - 1] == n - (a->nb - 1) * B);
    free(seen);
    /* same (seed, epoch): same batches; another epoch: another order */
    run_epoch(l, &d, B, 42, 3, 0, b);
    CHECK(same_batches(a, 0, b, B, isz));
    free(b->x);
    run_epoch(l, &d, B, 42, 4, 0, b);
    CHECK(memcmp(a->ids, b->ids, sizeof a->ids) != 0);
    free(b->x);
    /* restart at batch k == the uninterrupted epoch from k on, also when the
     * restart interrupts an epoch in progress */
    for (int k = 0; k <= a->nb; k++) {
        ferc_loader_start(l, 42, 7, 0);
        ferc_loader_next(l, &x, &y, &ids); /* leave an epoch half-done */
        run_epoch(l, &d, B, 42, 3, k, t);
        CHECKF(same_batches(a, k, t, B, isz), "restart at batch %d differs", k);
        free(t->x);
    }
    free(a->x);
    /* freeing mid-epoch, with the thread busy, is clean */
    ferc_loader_start(l, 1, 1, 0);
    ferc_loader_next(l, &x, &y, &ids);
    ferc_loader_free(l);

    /* train = 0: identity order, plain normalisation */
    l = ferc_loader_new(&d, &c, idx, n, B, 0, &e);
    CHECKF(l != NULL, "%s", e.msg);
    run_epoch(l, &d, B, 42, 3, 0, a);
    ok = 1;
    float ref[64];
    for (int bi = 0, p = 0; bi < a->nb; bi++)
        for (int i = 0; i < a->cnt[bi]; i++, p++) {
            ok &= a->ids[bi][i] == idx[p];
            ferc_normalize(d.pixels + isz * (size_t)idx[p], 8, c.mean, c.std, ref);
            ok &= !memcmp(ref, a->x + ((size_t)bi * B + i) * isz, sizeof ref);
        }
    CHECK(ok);
    free(a->x);
    ferc_loader_free(l);
    /* never started, and bad arguments */
    l = ferc_loader_new(&d, &c, idx, n, B, 1, &e);
    ferc_loader_free(l);
    idx[0] = d.n;
    CHECK(ferc_loader_new(&d, &c, idx, n, B, 1, &e) == NULL && strstr(e.msg, "out of range"));
    CHECK(ferc_loader_new(&d, &c, idx, n, 0, 1, &e) == NULL);
    free(a), free(b), free(t);
    ferc_dataset_free(&d);
    return 0;
}

static int dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Real CK+48: counts, subjects and 10 subject-independent folds. */
static int test_ck48(void)
{
    if (!dir_exists(CK48))
        SKIP("%s not found (set FERC_DATASETS or run from the project root)", CK48);
    ferc_config c;
    cfg_init(&c, "anger,contempt,disgust,fear,happy,sadness,surprise", "", 48, 1);
    const char *roots[1] = {CK48};
    ferc_dataset d;
    ferc_err e = {{0}};
    CHECKF(ferc_dataset_load(&d, &c, roots, 1, NULL, NULL, &e) == 0, "%s", e.msg);
    printf("  CK+48: %d images, %d subjects, classes:", d.n, d.n_subjects);
    for (int k = 0; k < d.n_classes; k++)
        printf(" %s %d", c.classes[k], d.class_count[k]);
    printf("\n");
    CHECK(d.n == 861 && d.n_classes == 7 && d.n_subjects == 106);
    static const int want[7] = {120, 48, 159, 57, 192, 69, 216};
    for (int k = 0; k < 7; k++)
        CHECK(d.class_count[k] == want[k]);
    if (d.n != 861) {
        ferc_dataset_free(&d);
        return 0;
    }
    int fold_of[200], size[10] = {0}, cls[10][7] = {{0}};
    ferc_dataset_folds(&d, 10, 1, fold_of);
    for (int i = 0; i < d.n; i++) {
        size[fold_of[d.subject[i]]]++;
        cls[fold_of[d.subject[i]]][d.label[i]]++;
    }
    printf("  fold sizes (seed 1):");
    for (int f = 0; f < 10; f++) {
        printf(" %d", size[f]);
        CHECKF(size[f] >= 50 && size[f] <= 130, "fold %d has %d images", f, size[f]);
    }
    printf("\n  folds holding each class:");
    for (int k = 0; k < 7; k++) {
        int present = 0;
        for (int f = 0; f < 10; f++)
            present += cls[f][k] > 0;
        printf(" %s %d", c.classes[k], present);
        CHECKF(present >= 8, "class %s in only %d folds", c.classes[k], present);
    }
    printf("\n");
    /* the 10 test sets partition the images, with no subject on both sides */
    int tested = 0;
    for (int k = 0; k < 10; k++) {
        int *tr, *va, *te, ntr, nva, nte;
        CHECK(ferc_dataset_split(&d, 10, k, 0.1f, 1, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0);
        check_split(&d, tr, ntr, va, nva, te, nte, fold_of, k, __LINE__);
        CHECK(nte == size[k] && nva > 0);
        tested += nte;
        free(tr), free(va), free(te);
    }
    CHECK(tested == d.n);
    ferc_dataset_free(&d);
    return 0;
}

/* CK+48 and CK+48-neutral together: same subjects across roots are merged. */
static int test_ck48_both(void)
{
    if (!dir_exists(CK48) || !dir_exists(CK48N))
        SKIP("%s or %s not found (set FERC_DATASETS or run from the project root)", CK48, CK48N);
    ferc_config c;
    cfg_init(&c, "anger,contempt,disgust,fear,happy,neutral,sadness,surprise", "happiness=happy", 48, 1);
    const char *roots[2] = {CK48, CK48N};
    ferc_dataset d;
    ferc_err e = {{0}};
    CHECKF(ferc_dataset_load(&d, &c, roots, 2, NULL, NULL, &e) == 0, "%s", e.msg);
    int in[2][200];
    memset(in, 0, sizeof in);
    for (int i = 0; i < d.n; i++)
        if (d.subject[i] < 200)
            in[d.root[i]][d.subject[i]] = 1;
    int shared = 0;
    for (int s = 0; s < d.n_subjects && s < 200; s++)
        shared += in[0][s] && in[1][s];
    printf("  CK+48 + CK+48-neutral: %d images, %d subjects (%d in both roots), neutral %d, happy %d\n",
           d.n, d.n_subjects, shared, d.class_count[5], d.class_count[4]);
    CHECK(d.n == 861 + 786 && d.class_count[5] == 510 && d.class_count[4] == 192 + 61);
    CHECK(shared > 90 && d.n_subjects < 106 + 111);
    int fold_of[200];
    ferc_dataset_folds(&d, 10, 1, fold_of);
    int *tr, *va, *te, ntr, nva, nte;
    CHECK(ferc_dataset_split(&d, 10, 3, 0.1f, 1, &tr, &ntr, &va, &nva, &te, &nte, &e) == 0);
    check_split(&d, tr, ntr, va, nva, te, nte, fold_of, 3, __LINE__);
    free(tr), free(va), free(te);
    ferc_dataset_free(&d);
    return 0;
}

int main(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/ferc_test_dataset_XXXXXX");
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        return 1;
    }
    data_paths();
    make_synthetic();
    RUN(test_load);
    RUN(test_load_errors);
    RUN(test_folds);
    RUN(test_split);
    RUN(test_augment);
    RUN(test_mixup);
    RUN(test_loader);
    RUN(test_ck48);
    RUN(test_ck48_both);
    nftw(tdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE("test_dataset");
}
