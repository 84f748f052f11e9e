/* run.c: evaluates one checkpoint: reads its config and train state, builds
 * and loads the network, loads the images (its own test fold, or a --data
 * folder mapped onto its classes), predicts with optional test-time
 * augmentation and fills the per-image results and confusion matrices. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <time.h>
#include "eval.h"
#include "model.h"
#include "net.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void eval_cache_free(eval_cache *c)
{
    free(c->key);
    free(c->uses);
    ferc_dataset_free(&c->ds);
    memset(c, 0, sizeof *c);
}

void eval_run_free(eval_run *r)
{
    if (r->file)
        for (int i = 0; i < r->n; i++) free(r->file[i]);
    free(r->file);
    free(r->truth), free(r->pred), free(r->pred_plain);
    free(r->probs), free(r->probs_plain);
    ferc_config_free(&r->cfg);
    ferc_train_state_free(&r->st);
    memset(r, 0, sizeof *r);
}

/* Appends printf output to a growing string; returns -1 when out of memory. */
static int cat(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cat(char **s, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = realloc(*s, *len + (size_t)n + 1);
    if (!p) return -1;
    *s = p;
    va_start(ap, fmt);
    vsnprintf(p + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return 0;
}

/* Everything that decides which images a dataset load yields and their labels. */
static char *dataset_key(const ferc_config *c, const char *const *roots, int n_roots)
{
    char *s = NULL;
    size_t len = 0;
    int bad = 0;
    for (int i = 0; i < n_roots; i++) bad |= cat(&s, &len, "root=%s\n", roots[i]);
    for (int k = 0; k < c->n_classes; k++) bad |= cat(&s, &len, "class=%s\n", c->classes[k]);
    for (int i = 0; i < c->n_aliases; i++) bad |= cat(&s, &len, "alias=%s=%s\n", c->alias_from[i], c->alias_to[i]);
    bad |= cat(&s, &len, "size=%d subject=%d\n", c->input_size, c->subject_prefix);
    if (bad) {
        free(s);
        return NULL;
    }
    return s;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* Image files (by extension) directly in root/folder; -1 if unreadable. */
static int count_images(const char *root, const char *folder)
{
    char p[FERC_PATH + FERC_NAME + 2];
    snprintf(p, sizeof p, "%s/%s", root, folder);
    DIR *d = opendir(p);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' && is_image_name(de->d_name);
    closedir(d);
    return n;
}

static void log_stderr(void *ctx, const char *msg)
{
    const eval_opts *o = ctx;
    if (o->quiet || !strncmp(msg, "skipping folder", 15)) return; /* folders: reported by the mapping */
    fprintf(stderr, "eval:   %s\n", msg);
}

/* Loads (or reuses) the dataset described by c over roots into cache. */
static int load_cached(const eval_opts *o, eval_cache *cache, const ferc_config *c, const char *const *roots,
                       int n_roots, ferc_err *e)
{
    char *key = dataset_key(c, roots, n_roots);
    if (!key) return ferc_errf(e, "out of memory");
    if (cache->key && !strcmp(cache->key, key)) {
        free(key);
        return 0;
    }
    eval_cache_free(cache);
    double t0 = now();
    if (ferc_dataset_load(&cache->ds, c, roots, n_roots, log_stderr, (void *)o, e)) {
        free(key);
        return -1;
    }
    cache->uses = calloc((size_t)cache->ds.n, sizeof(int));
    if (!cache->uses) {
        free(key);
        ferc_dataset_free(&cache->ds);
        return ferc_errf(e, "out of memory");
    }
    cache->key = key;
    cache->load_s = now() - t0;
    if (!o->quiet)
        fprintf(stderr, "eval: loaded %d images from %s%s in %.1fs\n", cache->ds.n, roots[0], n_roots > 1 ? ", ..." : "",
                cache->load_s);
    return 0;
}

/* Selects the images to evaluate: the checkpoint's test fold or all of --data. */
static int select_images(const eval_opts *o, eval_cache *cache, eval_run *r, int **idx, int *n, ferc_err *e)
{
    const ferc_config *c = &r->cfg;
    *idx = NULL, *n = 0;
    if (o->data) {
        if (ferc_classmap_scan(c, o->data, &r->map, e)) return -1;
        ferc_config mc = *c;
        mc.text = NULL;
        if (ferc_classmap_apply(&mc, &r->map, o->data, e)) return -1;
        for (int i = 0; i < r->map.n; i++)
            r->excluded_images[i] = r->map.cls[i] < 0 ? count_images(o->data, r->map.name[i]) : 0;
        if (load_cached(o, cache, &mc, &o->data, 1, e)) return -1;
        snprintf(r->source, sizeof r->source, "%s", o->data);
        *idx = malloc(sizeof(int) * (size_t)(cache->ds.n ? cache->ds.n : 1));
        if (!*idx) return ferc_errf(e, "out of memory");
        for (int i = 0; i < cache->ds.n; i++) (*idx)[i] = i;
        *n = cache->ds.n;
        return 0;
    }
    const ferc_train_state *st = &r->st;
    if (st->folds <= 1)
        return ferc_errf(e, "%s: this model was trained on all its data (no held-out test fold); "
                            "HINT: evaluate it on other images with --data DIR",
                         r->path);
    if (st->fold < 0 || st->fold >= st->folds)
        return ferc_errf(e, "%s: the checkpoint's fold %d is outside 0..%d", r->path, st->fold, st->folds - 1);
    if (c->n_paths < 1) return ferc_errf(e, "%s: the stored config names no data.path", r->path);
    const char *roots[FERC_MAX_PATHS];
    for (int i = 0; i < c->n_paths; i++) roots[i] = c->paths[i];
    if (load_cached(o, cache, c, roots, c->n_paths, e)) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        return ferc_errf(e, "%s; HINT: the checkpoint's data.path is relative to the folder training ran in: run "
                            "./eval from there, or evaluate on a folder with --data DIR",
                         msg);
    }
    int *tr = NULL, *va = NULL;
    int n_tr = 0, n_va = 0;
    if (ferc_dataset_split(&cache->ds, st->folds, st->fold, c->inner_val, c->seed, &tr, &n_tr, &va, &n_va, idx, n,
                           e))
        return -1;
    free(tr), free(va);
    int len = snprintf(r->source, sizeof r->source, "test fold %d of %d of %s", st->fold, st->folds, c->paths[0]);
    for (int i = 1; i < c->n_paths && len < (int)sizeof r->source; i++)
        len += snprintf(r->source + len, sizeof r->source - (size_t)len, ", %s", c->paths[i]);
    if (*n == 0) return ferc_errf(e, "%s: its test fold %d holds no images", r->path, st->fold);
    return 0;
}

/* Test accuracy the training history recorded for the weights of this file,
 * when that is unambiguous: with train.select = last every file of a run
 * (last.h5, best.h5, model.h5) holds the weights of the epoch in its state. */
static void recorded_accuracy(eval_run *r)
{
    r->recorded_acc = NAN;
    r->recorded_epoch = 0;
    if (strcmp(r->cfg.select, "last") != 0 || !r->st.hist || r->st.step != 0) return;
    for (int i = 0; i < r->st.n_hist; i++) {
        const float *h = r->st.hist + (size_t)i * FERC_HIST_COLS;
        if ((int)h[0] == r->st.epoch && isfinite(h[7])) {
            r->recorded_acc = h[7];
            r->recorded_epoch = r->st.epoch;
        }
    }
}

static int argmax(const float *p, int k)
{
    int b = 0;
    for (int j = 1; j < k; j++)
        if (p[j] > p[b]) b = j;
    return b;
}

/* Predicts every selected image; fills r's per-image arrays. */
static int predict_all(const eval_opts *o, ferc_net *net, const ferc_dataset *ds, const int *idx, eval_run *r,
                       ferc_err *e)
{
    const int K = r->k, S = ds->size, V = ferc_tta_views(o->tta), n = r->n;
    const size_t img = (size_t)S * S;
    int chunk = o->batch / V;
    if (chunk < 1) chunk = 1;
    if (ferc_net_reserve(net, chunk * V, e)) return -1;
    float *x = malloc(sizeof(float) * img * (size_t)chunk * V);
    float *pv = malloc(sizeof(float) * (size_t)K * chunk * V);
    if (!x || !pv) {
        free(x), free(pv);
        return ferc_errf(e, "out of memory for a batch of %d views", chunk * V);
    }
    double t0 = now(), last = t0;
    for (int b0 = 0; b0 < n; b0 += chunk) {
        int nb = n - b0 < chunk ? n - b0 : chunk;
#pragma omp parallel for schedule(static)
        for (int j = 0; j < nb; j++)
            ferc_tta_make(o->tta, ds->pixels + img * (size_t)idx[b0 + j], S, r->cfg.mean, r->cfg.std,
                          x + img * (size_t)j * V);
        ferc_predict(net, x, nb * V, pv, NULL);
        for (int j = 0; j < nb; j++) {
            const int i = b0 + j;
            const float *p0 = pv + (size_t)j * V * K;
            float *pt = r->probs + (size_t)i * K;
            ferc_tta_average(o->tta, p0, K, pt);
            r->pred[i] = argmax(pt, K);
            if (o->tta != FERC_TTA_NONE) {
                memcpy(r->probs_plain + (size_t)i * K, p0, sizeof(float) * K);
                r->pred_plain[i] = argmax(p0, K);
            }
        }
        double t = now();
        if (!o->quiet && t - last > 2.0) {
            fprintf(stderr, "eval:   %d/%d images, %.0f img/s\n", b0 + nb, n, (b0 + nb) / (t - t0));
            last = t;
        }
    }
    r->infer_s = now() - t0;
    free(x), free(pv);
    return 0;
}

int eval_checkpoint(const eval_opts *o, const char *path, eval_cache *cache, eval_run *r, ferc_err *e)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->recorded_acc = NAN;
    ferc_net net;
    int *idx = NULL, rc = -1;
    if (ferc_model_load(path, &r->cfg, &net, &r->st, e)) return -1;
    r->k = r->cfg.n_classes;
    if ((r->weight_bits = ferc_ckpt_weight_bits(path, e)) < 0) goto done;
    if (select_images(o, cache, r, &idx, &r->n, e)) goto done;
    const int n = r->n, K = r->k, tta = o->tta != FERC_TTA_NONE;
    r->file = calloc((size_t)n, sizeof *r->file);
    r->truth = malloc(sizeof(int) * (size_t)n);
    r->pred = malloc(sizeof(int) * (size_t)n);
    r->probs = malloc(sizeof(float) * (size_t)n * K);
    if (tta) {
        r->pred_plain = malloc(sizeof(int) * (size_t)n);
        r->probs_plain = malloc(sizeof(float) * (size_t)n * K);
    }
    if (!r->file || !r->truth || !r->pred || !r->probs || (tta && (!r->pred_plain || !r->probs_plain))) {
        ferc_errf(e, "out of memory for %d results", n);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        r->truth[i] = cache->ds.label[idx[i]];
        r->overlap |= cache->uses[idx[i]]++ > 0;
        if (!(r->file[i] = strdup(cache->ds.file[idx[i]]))) {
            ferc_errf(e, "out of memory");
            goto done;
        }
    }
    if (predict_all(o, &net, &cache->ds, idx, r, e)) goto done;
    if (ferc_confusion_init(&r->conf, K, e) || ferc_confusion_init(&r->conf_plain, K, e)) goto done;
    for (int i = 0; i < n; i++) {
        if (ferc_confusion_add(&r->conf, r->truth[i], r->pred[i], r->probs + (size_t)i * K, e)) goto done;
        if (tta) {
            if (ferc_confusion_add(&r->conf_plain, r->truth[i], r->pred_plain[i], r->probs_plain + (size_t)i * K, e))
                goto done;
            int a = r->pred[i] == r->truth[i], b = r->pred_plain[i] == r->truth[i];
            r->fixed += a && !b;
            r->broken += b && !a;
        }
    }
    if (!tta) r->conf_plain = r->conf;
    if (ferc_metrics_compute(&r->conf, &r->m, e) || ferc_metrics_compute(&r->conf_plain, &r->m_plain, e)) goto done;
    if (!o->data) recorded_accuracy(r);
    rc = 0;
done:
    free(idx);
    ferc_net_free(&net);
    return rc;
}
