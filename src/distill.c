/* distill.c: the teacher's targets for knowledge distillation (see distill.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "distill.h"
#include "model.h"

/* Checks that teacher config tc fits the student's cfg. */
static int teacher_fits(const char *path, const ferc_config *tc, const ferc_net *tn, const ferc_config *cfg,
                        ferc_err *e)
{
    if (tc->n_classes != cfg->n_classes)
        return ferc_errf(e, "train.distill: teacher %s has %d classes, data.classes has %d", path, tc->n_classes,
                         cfg->n_classes);
    for (int k = 0; k < cfg->n_classes; k++)
        if (strcmp(tc->classes[k], cfg->classes[k]))
            return ferc_errf(e, "train.distill: teacher %s: class %d is '%s', data.classes has '%s' there", path,
                             k + 1, tc->classes[k], cfg->classes[k]);
    if (tc->input_size != cfg->input_size || tn->arch.in_c != 1)
        return ferc_errf(e, "train.distill: teacher %s takes %dx%d images with %d channel(s), data.input_size is %d",
                         path, tc->input_size, tc->input_size, tn->arch.in_c, cfg->input_size);
    if (tc->mean != cfg->mean || tc->std != cfg->std)
        return ferc_errf(e, "train.distill: teacher %s normalises with data.mean %g, data.std %g; this run with "
                            "%g, %g", path, (double)tc->mean, (double)tc->std, (double)cfg->mean, (double)cfg->std);
    return 0;
}

/* Adds softmax(z / T) of the nb rows of lg to the targets of images ids[]. */
static void add_probs(const float *lg, int nb, int K, float T, const int *ids, float *target)
{
    for (int i = 0; i < nb; i++) {
        const float *z = lg + (size_t)i * K;
        const double lse = ferc_logsumexp(z, K, T);
        float *t = target + (size_t)ids[i] * K;
        for (int k = 0; k < K; k++) t[k] += (float)exp(z[k] / (double)T - lse);
    }
}

/* Mirrors nb images of s x s floats left to right, in place. */
static void mirror(float *x, int nb, int s)
{
    for (int i = 0; i < nb * s; i++) {
        float *r = x + (size_t)i * s;
        for (int a = 0, b = s - 1; a < b; a++, b--) {
            float v = r[a];
            r[a] = r[b], r[b] = v;
        }
    }
}

/* Scores images idx[0..n) with teacher tn, both views, adding to target; acc
 * gets the teacher's accuracy (the argmax of its two views' mean). */
static int score(ferc_net *tn, const ferc_config *cfg, const ferc_dataset *ds, const int *idx, int n, int batch,
                 float *target, double *acc, ferc_err *e)
{
    const int K = cfg->n_classes, S = cfg->input_size;
    const size_t isz = (size_t)S * S;
    float *x = malloc(sizeof(float) * isz * batch), *p = malloc(sizeof(float) * K * batch);
    int *ids = malloc(sizeof(int) * batch), *loc = malloc(sizeof(int) * batch);
    if (!x || !p || !ids || !loc) {
        free(x), free(p), free(ids), free(loc);
        return ferc_errf(e, "train.distill: out of memory");
    }
    for (int j = 0; j < batch; j++) loc[j] = j;
    long right = 0;
    tn->training = 0;
    for (int b0 = 0; b0 < n; b0 += batch) {
        int nb = n - b0 < batch ? n - b0 : batch;
        for (int j = 0; j < nb; j++) {
            ids[j] = idx[b0 + j];
            ferc_normalize(ds->pixels + (size_t)ids[j] * isz, S, cfg->mean, cfg->std, x + j * isz);
        }
        memset(p, 0, sizeof(float) * K * nb);
        for (int v = 0; v < 2; v++) {
            if (v) mirror(x, nb, S);
            memcpy(tn->input, x, sizeof(float) * isz * nb);
            const float *lg = ferc_net_forward(tn, nb);
            add_probs(lg, nb, K, cfg->distill_temp, ids, target);
            add_probs(lg, nb, K, 1.0f, loc, p);
        }
        for (int j = 0; j < nb; j++) right += ferc_argmax(p + (size_t)j * K, K) == ds->label[ids[j]];
    }
    *acc = n ? (double)right / n : 0.0;
    free(x), free(p), free(ids), free(loc);
    return 0;
}

int ferc_distill_targets(const ferc_config *cfg, const ferc_dataset *ds, const int *idx, int n, int batch,
                         float *target, ferc_distill_info *info, ferc_err *e)
{
    const int K = cfg->n_classes;
    memset(info, 0, sizeof *info);
    for (int j = 0; j < n; j++) memset(target + (size_t)idx[j] * K, 0, sizeof(float) * K);
    const char *s = cfg->distill;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char path[FERC_PATH];
        while (len && (*s == ' ' || *s == '\t')) s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        snprintf(path, sizeof path, "%.*s", (int)len, s);
        s = end ? end + 1 : s + strlen(s);
        if (!path[0]) return ferc_errf(e, "train.distill: an empty path in '%s'", cfg->distill);
        if (info->n_teachers == FERC_MAX_TEACHERS)
            return ferc_errf(e, "train.distill: more than %d teachers", FERC_MAX_TEACHERS);
        ferc_config tc;
        ferc_net tn;
        if (ferc_model_load(path, &tc, &tn, NULL, e)) return -1;
        int rc = teacher_fits(path, &tc, &tn, cfg, e);
        if (!rc) rc = ferc_net_reserve(&tn, batch, e);
        if (!rc) rc = score(&tn, cfg, ds, idx, n, batch, target, &info->acc[info->n_teachers], e);
        ferc_net_free(&tn);
        ferc_config_free(&tc);
        if (rc) return -1;
        info->n_teachers++;
    }
    if (!info->n_teachers) return ferc_errf(e, "train.distill: no teacher checkpoint given");
    long right = 0;
    const float w = 1.0f / (2.0f * info->n_teachers);
    for (int j = 0; j < n; j++) {
        float *t = target + (size_t)idx[j] * K;
        for (int k = 0; k < K; k++) t[k] *= w;
        right += ferc_argmax(t, K) == ds->label[idx[j]];
    }
    info->acc_mean = n ? (double)right / n : 0.0;
    return 0;
}
