/* kd.c: the soft labels of a distilling run (see kd.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "distill.h"
#include "kd.h"

static double kd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 1 when s holds cfg's soft labels for every training image tr[]: same
 * teachers, temperature and table shape, each training row a distribution
 * (a run on other images, e.g. another fold, left its rows at zero). */
static int kd_fits(const ferc_train_state *s, const ferc_config *cfg, const ferc_dataset *ds, const int *tr, int n_tr)
{
    const int K = cfg->n_classes;
    if (!s->kd || s->kd_n != ds->n || s->kd_k != K || s->kd_temp != cfg->distill_temp || !s->kd_teachers ||
        strcmp(s->kd_teachers, cfg->distill))
        return 0;
    for (int j = 0; j < n_tr; j++) {
        const float *t = s->kd + (size_t)tr[j] * K;
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += t[k];
        if (!(fabs(sum - 1.0) < 1e-3)) return 0;
    }
    return 1;
}

/* Moves the soft labels of `from` into st. */
static void kd_take(ferc_train_state *st, ferc_train_state *from)
{
    ferc_train_state_free_distill(st);
    st->kd = from->kd, st->kd_teachers = from->kd_teachers;
    st->kd_n = from->kd_n, st->kd_k = from->kd_k, st->kd_temp = from->kd_temp;
    from->kd = NULL, from->kd_teachers = NULL;
}

int ferc_kd_setup(const ferc_config *cfg, const char *resume, const char *init, int progress,
                  const ferc_dataset *ds, const int *tr, int n_tr, ferc_train_state *st)
{
    const int K = cfg->n_classes;
    const char *from = NULL;
    if (resume && kd_fits(st, cfg, ds, tr, n_tr))
        from = resume;
    else if (init) {
        ferc_train_state is;
        ferc_err e;
        memset(&is, 0, sizeof is);
        /* an export or an unreadable table only means scoring anew */
        if (!ferc_ckpt_read_state(init, &is, &e) && kd_fits(&is, cfg, ds, tr, n_tr)) {
            kd_take(st, &is);
            from = init;
        }
        ferc_train_state_free(&is);
    }
    if (from) {
        fprintf(stderr, "train: distilling from %s: soft labels (temperature %g) read from %s; weight %g\n",
                cfg->distill, (double)cfg->distill_temp, from, (double)cfg->distill_weight);
        return 0;
    }
    double t0 = kd_now();
    ferc_distill_info di;
    ferc_err e;
    ferc_train_state_free_distill(st);
    st->kd = calloc((size_t)ds->n * K, sizeof(float));
    st->kd_teachers = strdup(cfg->distill);
    if (!st->kd || !st->kd_teachers) {
        fprintf(stderr, "train: out of memory for the distillation targets\n");
        return -1;
    }
    st->kd_n = ds->n, st->kd_k = K, st->kd_temp = cfg->distill_temp;
    if (progress) fprintf(stderr, "train: scoring the %d training images with the teachers of train.distill\n", n_tr);
    if (ferc_distill_targets(cfg, ds, tr, n_tr, cfg->batch, st->kd, &di, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        return -1;
    }
    char accs[256];
    int al = 0;
    for (int i = 0; i < di.n_teachers && al < (int)sizeof accs - 16; i++)
        al += snprintf(accs + al, sizeof accs - al, "%s%.4f", i ? ", " : "", di.acc[i]);
    fprintf(stderr, "train: distilling from %d teacher(s) %s: accuracy on the training images %s, of their mean "
                    "%.4f; temperature %g, weight %g; %.1fs\n", di.n_teachers, cfg->distill, accs, di.acc_mean,
            (double)cfg->distill_temp, (double)cfg->distill_weight, kd_now() - t0);
    return 0;
}
