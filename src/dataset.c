/* dataset.c: loading class-folder datasets into memory, subject-independent
 * stratified folds and splits, normalisation and augmentation.
 * The batch loader is in loader.c. */
#include "dataset.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "image.h"

/* ------------------------------------------------------------ listing */

typedef struct {
    char **v;
    int n, cap;
} strvec;

static int strvec_push(strvec *s, const char *str)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        char **nv = realloc(s->v, sizeof *nv * (size_t)nc);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(str)))
        return -1;
    s->n++;
    return 0;
}

static void strvec_free(strvec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* Sorted names of the entries of dir that are directories (want_dir) or
 * regular files, following symlinks; hidden entries are left out. */
static int list_dir(const char *dir, int want_dir, strvec *out, ferc_err *e)
{
    memset(out, 0, sizeof *out);
    DIR *dp = opendir(dir);
    if (!dp)
        return ferc_errf(e, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = join(dir, de->d_name);
        struct stat st;
        int keep = p && stat(p, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(p);
        if (!p || (keep && strvec_push(out, de->d_name))) {
            closedir(dp);
            strvec_free(out);
            return ferc_errf(e, "%s: out of memory", dir);
        }
    }
    closedir(dp);
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return 0;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* Subject of a file: basename up to the first '_' (prefix), else the stem. */
static char *subject_of(const char *path, int prefix)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    if (prefix) {
        const char *us = memchr(base, '_', n);
        if (us && us != base)
            n = (size_t)(us - base);
    }
    return strndup(base, n);
}

static void logf_(ferc_log_fn log, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(ferc_log_fn log, void *ctx, const char *fmt, ...)
{
    if (!log)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log(ctx, buf);
}

/* ------------------------------------------------------------ loading */

void ferc_dataset_free(ferc_dataset *d)
{
    if (!d)
        return;
    if (d->file)
        for (int i = 0; i < d->n; i++)
            free(d->file[i]);
    if (d->subjects)
        for (int i = 0; i < d->n_subjects; i++)
            free(d->subjects[i]);
    free(d->file);
    free(d->subjects);
    free(d->pixels);
    free(d->label);
    free(d->subject);
    free(d->root);
    memset(d, 0, sizeof *d);
}

/* Decodes one file to size x size gray pixels at out. */
static int load_one(const char *path, int size, uint8_t *out, ferc_err *e)
{
    ferc_image im, rs;
    if (ferc_image_load(&im, path, e))
        return -1;
    if (im.w == size && im.h == size) {
        memcpy(out, im.px, (size_t)size * size);
        ferc_image_free(&im);
        return 0;
    }
    ferc_err re;
    int r = ferc_image_resize(&im, &rs, size, size, &re);
    ferc_image_free(&im);
    if (r)
        return ferc_errf(e, "%s: %s", path, re.msg);
    memcpy(out, rs.px, (size_t)size * size);
    ferc_image_free(&rs);
    return 0;
}

typedef struct {
    const char *name;
    int img;
} subj_ref;

static int cmp_subj_ref(const void *a, const void *b)
{
    const subj_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->img > y->img) - (x->img < y->img);
}

/* Fills d->subject / d->subjects from the file names: subjects sorted by name. */
static int assign_subjects(ferc_dataset *d, int prefix, ferc_err *e)
{
    char **names = calloc((size_t)d->n, sizeof *names);
    subj_ref *ref = malloc(sizeof *ref * (size_t)d->n);
    d->subjects = calloc((size_t)d->n, sizeof *d->subjects);
    int ok = names && ref && d->subjects;
    for (int i = 0; ok && i < d->n; i++) {
        names[i] = subject_of(d->file[i], prefix);
        ok = names[i] != NULL;
        if (ok) {
            ref[i].name = names[i];
            ref[i].img = i;
        }
    }
    if (ok) {
        qsort(ref, (size_t)d->n, sizeof *ref, cmp_subj_ref);
        for (int i = 0; ok && i < d->n; i++) {
            if (i == 0 || strcmp(ref[i].name, ref[i - 1].name)) {
                ok = (d->subjects[d->n_subjects] = strdup(ref[i].name)) != NULL;
                d->n_subjects += ok;
            }
            d->subject[ref[i].img] = d->n_subjects - 1;
        }
    }
    if (names)
        for (int i = 0; i < d->n; i++)
            free(names[i]);
    free(names);
    free(ref);
    return ok ? 0 : ferc_errf(e, "dataset: out of memory");
}

/* Appends the image files of every class folder of root to files/labels. */
static int scan_root(const ferc_config *c, const char *root, int root_idx, strvec *files,
                     int **label, int **rootv, int *cap, ferc_log_fn log, void *log_ctx, ferc_err *e)
{
    strvec dirs;
    struct stat st;
    if (stat(root, &st) != 0)
        return ferc_errf(e, "%s: dataset root not found: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ferc_errf(e, "%s: dataset root is not a folder", root);
    if (list_dir(root, 1, &dirs, e))
        return -1;
    int n_class_dirs = 0, n0 = files->n;
    for (int i = 0; i < dirs.n; i++) {
        int k = ferc_config_class_of(c, dirs.v[i]);
        if (k < 0 || k >= c->n_classes) {
            logf_(log, log_ctx, "skipping folder %s/%s: not a class of this model", root, dirs.v[i]);
            continue;
        }
        n_class_dirs++;
        char *dir = join(root, dirs.v[i]);
        strvec names;
        if (!dir || list_dir(dir, 0, &names, e)) {
            if (!dir)
                ferc_errf(e, "%s: out of memory", root);
            free(dir);
            strvec_free(&dirs);
            return -1;
        }
        int skipped = 0;
        for (int j = 0; j < names.n; j++) {
            if (!is_image_name(names.v[j])) {
                skipped++;
                continue;
            }
            if (files->n == *cap) {
                int nc = *cap ? *cap * 2 : 1024;
                int *nl = realloc(*label, sizeof(int) * (size_t)nc);
                if (nl)
                    *label = nl;
                int *nr = nl ? realloc(*rootv, sizeof(int) * (size_t)nc) : NULL;
                if (nr)
                    *rootv = nr;
                if (!nl || !nr)
                    goto oom;
                *cap = nc;
            }
            char *p = join(dir, names.v[j]);
            if (!p || strvec_push(files, p)) {
                free(p);
                goto oom;
            }
            free(p);
            (*label)[files->n - 1] = k;
            (*rootv)[files->n - 1] = root_idx;
        }
        if (skipped)
            logf_(log, log_ctx, "skipping %d non-image file%s in %s", skipped, skipped > 1 ? "s" : "", dir);
        strvec_free(&names);
        free(dir);
        continue;
    oom:
        strvec_free(&names);
        free(dir);
        strvec_free(&dirs);
        return ferc_errf(e, "%s: out of memory", root);
    }
    strvec_free(&dirs);
    if (n_class_dirs == 0)
        return ferc_errf(e, "%s: no class folders (expected folders named after the classes, e.g. %s/%s/)",
                         root, root, c->classes[0]);
    if (files->n == n0)
        return ferc_errf(e, "%s: no images (.png, .jpg, .jpeg) in its class folders", root);
    return 0;
}

int ferc_dataset_load(ferc_dataset *d, const ferc_config *c, const char *const *roots, int n_roots,
                      ferc_log_fn log, void *log_ctx, ferc_err *e)
{
    memset(d, 0, sizeof *d);
    if (n_roots < 1)
        return ferc_errf(e, "dataset: no data path given");
    if (c->n_classes < 1 || c->n_classes > FERC_MAX_CLASSES)
        return ferc_errf(e, "dataset: bad number of classes %d", c->n_classes);
    if (c->input_size < 1 || c->input_size > 4096)
        return ferc_errf(e, "dataset: bad input_size %d", c->input_size);
    strvec files = {0};
    int *label = NULL, *rootv = NULL, cap = 0;
    for (int r = 0; r < n_roots; r++)
        if (scan_root(c, roots[r], r, &files, &label, &rootv, &cap, log, log_ctx, e)) {
            strvec_free(&files);
            free(label);
            free(rootv);
            return -1;
        }
    const int n = files.n, size = c->input_size;
    const size_t isz = (size_t)size * size;
    d->n = n;
    d->size = size;
    d->n_classes = c->n_classes;
    d->file = files.v; /* ownership moves to d */
    d->label = label;
    d->root = rootv;
    d->subject = malloc(sizeof(int) * (size_t)n);
    d->pixels = malloc(isz * (size_t)n);
    if (!d->subject || !d->pixels) {
        ferc_dataset_free(d);
        return ferc_errf(e, "dataset: out of memory for %d images", n);
    }
    if (assign_subjects(d, c->subject_prefix, e)) {
        ferc_dataset_free(d);
        return -1;
    }
    for (int i = 0; i < n; i++)
        d->class_count[label[i]]++;

    /* Decode in parallel; the error with the lowest index is reported, so
     * the message does not depend on scheduling. */
    int first_bad = n;
    ferc_err bad = {{0}};
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < n; i++) {
        int fb;
#pragma omp atomic read
        fb = first_bad;
        if (i > fb)
            continue;
        ferc_err le;
        if (load_one(d->file[i], size, d->pixels + isz * (size_t)i, &le)) {
#pragma omp critical(ferc_dataset_load_err)
            {
                if (i < first_bad) {
#pragma omp atomic write
                    first_bad = i;
                    bad = le;
                }
            }
        }
    }
    if (first_bad < n) {
        ferc_dataset_free(d);
        if (e)
            *e = bad;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ folds */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    int subj, size, tie;
} subj_order;

static int cmp_subj_order(const void *a, const void *b)
{
    const subj_order *x = a, *y = b;
    if (x->size != y->size)
        return y->size - x->size;
    return x->tie - y->tie;
}

/* Greedy stratified assignment of subjects to bins with target fractions
 * frac[bins] (summing to 1). use[s] selects the subjects taking part (NULL:
 * all); others get -1. Subjects are visited largest first (ties in a seeded
 * random order) and each goes to the bin whose squared deviation from its
 * targets grows least:
 *   cost(b) = sum_k c_k (2 (h_bk - T_bk) + c_k) / N_k + n (2 (H_b - T_b) + n) / N
 * where c_k / n are the subject's image counts per class / in total, h / H
 * the bin's counts so far, T = frac[b] * (N_k or N) its targets. Ties go to
 * the first bin in a seeded random bin order. */
static int assign_bins(const ferc_dataset *d, const unsigned char *use, int bins,
                       const double *frac, uint64_t seed, int *bin_of)
{
    const int S = d->n_subjects, K = d->n_classes;
    int *cnt = calloc((size_t)S * K, sizeof(int));
    int *perm = malloc(sizeof(int) * (size_t)(bins > S ? bins : S));
    double *have = calloc((size_t)bins * (K + 1), sizeof(double));
    subj_order *ord = malloc(sizeof *ord * (size_t)(S ? S : 1));
    if (!cnt || !perm || !have || !ord) {
        free(cnt), free(perm), free(have), free(ord);
        return -1;
    }
    double tot[FERC_MAX_CLASSES + 1] = {0}; /* per class, then all */
    for (int i = 0; i < d->n; i++) {
        int s = d->subject[i];
        if (use && !use[s])
            continue;
        cnt[(size_t)s * K + d->label[i]]++;
        tot[d->label[i]]++;
        tot[K]++;
    }
    ferc_rng r;
    ferc_rng_seed(&r, mix64(seed ^ 0x666f6c6473ULL)); /* "folds" */
    for (int s = 0; s < S; s++)
        perm[s] = s;
    ferc_rng_shuffle(&r, perm, S);
    int m = 0;
    for (int j = 0; j < S; j++) {
        int s = perm[j];
        bin_of[s] = -1;
        if (use && !use[s])
            continue;
        int sz = 0;
        for (int k = 0; k < K; k++)
            sz += cnt[(size_t)s * K + k];
        ord[m++] = (subj_order){s, sz, j};
    }
    qsort(ord, (size_t)m, sizeof *ord, cmp_subj_order);
    for (int b = 0; b < bins; b++)
        perm[b] = b;
    ferc_rng_shuffle(&r, perm, bins);
    for (int j = 0; j < m; j++) {
        const int s = ord[j].subj, n = ord[j].size;
        const int *c = cnt + (size_t)s * K;
        int best = perm[0];
        double best_cost = INFINITY;
        for (int bi = 0; bi < bins; bi++) {
            int b = perm[bi];
            double *h = have + (size_t)b * (K + 1), cost = 0;
            for (int k = 0; k < K; k++)
                if (c[k])
                    cost += c[k] * (2 * (h[k] - frac[b] * tot[k]) + c[k]) / tot[k];
            cost += n * (2 * (h[K] - frac[b] * tot[K]) + n) / tot[K];
            if (cost < best_cost) {
                best_cost = cost;
                best = b;
            }
        }
        bin_of[s] = best;
        double *h = have + (size_t)best * (K + 1);
        for (int k = 0; k < K; k++)
            h[k] += c[k];
        h[K] += n;
    }
    free(cnt), free(perm), free(have), free(ord);
    return 0;
}

void ferc_dataset_folds(const ferc_dataset *d, int folds, uint64_t seed, int *fold_of)
{
    if (folds <= 1) {
        for (int s = 0; s < d->n_subjects; s++)
            fold_of[s] = 0;
        return;
    }
    double *frac = malloc(sizeof(double) * (size_t)folds);
    if (frac) {
        for (int b = 0; b < folds; b++)
            frac[b] = 1.0 / folds;
        if (assign_bins(d, NULL, folds, frac, seed, fold_of) == 0) {
            free(frac);
            return;
        }
        free(frac);
    }
    /* Out of memory (tiny allocations): fall back to round robin, still a
     * valid subject-independent assignment. */
    for (int s = 0; s < d->n_subjects; s++)
        fold_of[s] = s % folds;
}

int ferc_dataset_split(const ferc_dataset *d, int folds, int k, float inner_val, uint64_t seed,
                       int **train, int *n_train, int **val, int *n_val, int **test, int *n_test,
                       ferc_err *e)
{
    *train = *val = *test = NULL;
    *n_train = *n_val = *n_test = 0;
    if (folds > 1 && (k < 0 || k >= folds))
        return ferc_errf(e, "split: fold %d is not in 0..%d", k, folds - 1);
    if (!(inner_val >= 0 && inner_val < 1))
        return ferc_errf(e, "split: inner_val %g is not in [0, 1)", (double)inner_val);
    const int S = d->n_subjects, n = d->n;
    int *fold_of = malloc(sizeof(int) * (size_t)(S ? S : 1));
    int *bin_of = malloc(sizeof(int) * (size_t)(S ? S : 1));
    unsigned char *rest = calloc((size_t)(S ? S : 1), 1);
    int *tr = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *va = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *te = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!fold_of || !bin_of || !rest || !tr || !va || !te)
        goto oom;
    if (folds > 1) {
        ferc_dataset_folds(d, folds, seed, fold_of);
    } else {
        for (int s = 0; s < S; s++)
            fold_of[s] = -1; /* no test fold */
    }
    int n_rest = 0;
    for (int s = 0; s < S; s++) {
        rest[s] = fold_of[s] != k || folds <= 1;
        n_rest += rest[s];
        bin_of[s] = 0;
    }
    if (inner_val > 0 && n_rest >= 2) {
        const double frac[2] = {1.0 - inner_val, inner_val};
        if (assign_bins(d, rest, 2, frac, mix64(seed) ^ (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL,
                        bin_of))
            goto oom;
        /* inner_val > 0 promises a validation set: if the greedy left it
         * empty, move the smallest subject (the last one it placed). */
        int any = 0, last = -1, last_sz = 0;
        int *sz = calloc((size_t)S, sizeof(int));
        if (!sz)
            goto oom;
        for (int i = 0; i < n; i++)
            sz[d->subject[i]]++;
        for (int s = 0; s < S; s++)
            if (rest[s]) {
                any |= bin_of[s] == 1;
                if (last < 0 || sz[s] <= last_sz) {
                    last = s;
                    last_sz = sz[s];
                }
            }
        if (!any)
            bin_of[last] = 1;
        free(sz);
    }
    for (int i = 0; i < n; i++) {
        int s = d->subject[i];
        if (!rest[s])
            te[(*n_test)++] = i;
        else if (inner_val > 0 && bin_of[s] == 1)
            va[(*n_val)++] = i;
        else
            tr[(*n_train)++] = i;
    }
    free(fold_of);
    free(bin_of);
    free(rest);
    *train = tr;
    *val = va;
    *test = te;
    return 0;
oom:
    free(fold_of), free(bin_of), free(rest), free(tr), free(va), free(te);
    *n_train = *n_val = *n_test = 0;
    return ferc_errf(e, "split: out of memory");
}

/* ------------------------------------------------------------ augmentation */

/* Pixel to [0, 1]; shared by normalize and augment so that an identity
 * augmentation reproduces ferc_normalize bit for bit. */
static inline float unit(uint8_t p) { return (float)p * (1.0f / 255.0f); }

void ferc_normalize(const uint8_t *src, int size, float mean, float std, float *dst)
{
    const int n = size * size;
    for (int i = 0; i < n; i++)
        dst[i] = (unit(src[i]) - mean) / std;
}

/* U(-a, a) */
static float sym(ferc_rng *r, float a) { return (2.0f * ferc_rng_uniform(r) - 1.0f) * a; }

void ferc_augment(const uint8_t *src, int size, const ferc_config *c, ferc_rng *r, float *dst)
{
    /* Fixed draw order, every draw made whatever the settings, so a given rng
     * state always yields the same transform. */
    const float ang = sym(r, c->rotate) * (float)(3.14159265358979323846 / 180.0);
    const float sc = 1.0f + sym(r, c->scale);
    const float tx = sym(r, c->shift) * (float)size, ty = sym(r, c->shift) * (float)size;
    const float flip_u = ferc_rng_uniform(r);
    const int flip = c->flip && flip_u < 0.5f;
    const float bright = sym(r, c->brightness);
    const float contr = 1.0f + sym(r, c->contrast);
    /* random erasing (Zhong et al. 2017): a rectangle of area U(0.02, erase_area)
     * of the image and aspect ratio log-uniform in [0.3, 3.3] */
    const float erase_u = ferc_rng_uniform(r), area_u = ferc_rng_uniform(r), aspect_u = ferc_rng_uniform(r);
    const float ex_u = ferc_rng_uniform(r), ey_u = ferc_rng_uniform(r);
    const int n = size * size;

    if (ang == 0 && sc == 1 && tx == 0 && ty == 0 && !flip) {
        for (int i = 0; i < n; i++)
            dst[i] = unit(src[i]);
    } else {
        /* Output pixel (x, y), centred at cx: X = x - cx. Forward map:
         * out = s R(ang) F in + t (F mirrors x). Inverse, for sampling:
         * in = F R(-ang) (out - t) / s. Bilinear, border replicated. */
        const float cx = 0.5f * (float)(size - 1);
        const float ca = cosf(ang) / sc, sa = sinf(ang) / sc;
        const float hi = (float)(size - 1);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                float dx = (float)x - cx - tx, dy = (float)y - cx - ty;
                float u = ca * dx + sa * dy, v = -sa * dx + ca * dy;
                if (flip)
                    u = -u;
                u += cx;
                v += cx;
                u = u < 0 ? 0 : u > hi ? hi : u;
                v = v < 0 ? 0 : v > hi ? hi : v;
                int x0 = (int)u, y0 = (int)v;
                int x1 = x0 + 1 < size ? x0 + 1 : x0, y1 = y0 + 1 < size ? y0 + 1 : y0;
                float fx = u - (float)x0, fy = v - (float)y0;
                const uint8_t *r0 = src + (size_t)y0 * size, *r1 = src + (size_t)y1 * size;
                float top = unit(r0[x0]) + fx * (unit(r0[x1]) - unit(r0[x0]));
                float bot = unit(r1[x0]) + fx * (unit(r1[x1]) - unit(r1[x0]));
                dst[y * size + x] = top + fy * (bot - top);
            }
    }
    if (bright != 0)
        for (int i = 0; i < n; i++)
            dst[i] += bright;
    if (contr != 1) {
        double m = 0;
        for (int i = 0; i < n; i++)
            m += dst[i];
        const float mf = (float)(m / n);
        for (int i = 0; i < n; i++)
            dst[i] = (dst[i] - mf) * contr + mf;
    }
    if (erase_u < c->erase) {
        const float area = (0.02f + area_u * (c->erase_area - 0.02f)) * (float)n;
        const float aspect = expf(logf(0.3f) + aspect_u * (logf(3.3f) - logf(0.3f)));
        int eh = (int)lrintf(sqrtf(area * aspect)), ew = (int)lrintf(sqrtf(area / aspect));
        eh = eh < 1 ? 1 : eh > size ? size : eh;
        ew = ew < 1 ? 1 : ew > size ? size : ew;
        const int x0 = (int)(ex_u * (float)(size - ew + 1)), y0 = (int)(ey_u * (float)(size - eh + 1));
        for (int y = y0; y < y0 + eh && y < size; y++)
            for (int x = x0; x < x0 + ew && x < size; x++)
                dst[y * size + x] = ferc_rng_uniform(r);
    }
    const float mean = c->mean, std = c->std;
    for (int i = 0; i < n; i++) {
        float v = dst[i] < 0 ? 0 : dst[i] > 1 ? 1 : dst[i];
        dst[i] = (v - mean) / std;
    }
}
