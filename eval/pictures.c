/* pictures.c: --png (confusion-matrix heat map of the pooled result) and
 * --curves (training history of each checkpoint: loss and accuracy per
 * epoch for the train, validation and test columns it recorded). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval.h"
#include "plot.h"

int eval_write_heatmap(const char *path, const eval_opts *o, const eval_run *runs, const eval_total *t,
                       ferc_err *e)
{
    char title[FERC_PATH + 160], what[FERC_PATH + 64];
    if (o->data)
        snprintf(what, sizeof what, "%s", o->data);
    else if (t->n_runs == 1)
        snprintf(what, sizeof what, "test fold %d of %d", runs[0].st.fold, runs[0].st.folds);
    else
        snprintf(what, sizeof what, "%d test folds", t->n_runs);
    int len = snprintf(title, sizeof title, "%s%s: accuracy %.4f, n = %lld", what,
                       o->data && t->n_runs > 1 ? ", pooled" : "", t->m.accuracy, (long long)t->m.n);
    if (o->tta != FERC_TTA_NONE && len < (int)sizeof title)
        snprintf(title + len, sizeof title - (size_t)len, " (tta %s)", ferc_tta_name(o->tta));
    ferc_canvas c;
    if (ferc_plot_confusion(&c, t->k, t->classes, &t->conf.cm[0][0], title, e)) return -1;
    int rc = ferc_canvas_write_png(&c, path, e);
    ferc_canvas_free(&c);
    return rc;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Upper end of the loss axis: the largest loss, but at most 1.5 x the 90th
 * percentile, so one diverging early epoch (a loss of 20 against 0.5) does
 * not flatten every other curve; larger values are drawn at the top edge.
 * *clipped tells whether that happened. NaN when there is no loss. */
static double loss_top(const eval_run *runs, int n_runs, int *clipped)
{
    size_t n = 0, m = 0;
    for (int r = 0; r < n_runs; r++) n += (size_t)runs[r].st.n_hist * 3;
    float *v = malloc(sizeof(float) * (n ? n : 1));
    *clipped = 0;
    if (!v) return NAN;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < runs[r].st.n_hist; i++)
            for (int col = 2; col <= 6; col += 2) {
                float x = runs[r].st.hist[(size_t)i * FERC_HIST_COLS + col];
                if (isfinite(x)) v[m++] = x;
            }
    double top = NAN;
    if (m) {
        qsort(v, m, sizeof *v, cmp_float);
        double p90 = v[(size_t)(0.9 * (double)(m - 1))], mx = v[m - 1];
        top = mx > 1.5 * p90 && p90 > 0 ? 1.5 * p90 : mx * 1.05;
        *clipped = mx > top;
    }
    free(v);
    return top;
}

int eval_write_curves(const char *path, const eval_run *runs, int n_runs, ferc_err *e)
{
    /* history columns (ckpt.h): 0 epoch, 2 train_loss, 3 train_acc, 4 val_loss, 5 val_acc, 6 test_loss, 7 test_acc */
    static const ferc_rgb colors[3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}};
    static const char *const names[3] = {"train", "validation", "test fold"};
    int have = 0;
    for (int r = 0; r < n_runs; r++) have += runs[r].st.n_hist > 0;
    if (!have)
        return ferc_errf(e, "%s: no training history stored in the checkpoint%s", runs[0].path,
                         n_runs > 1 ? "s (or any of the others)" : "");
    ferc_series *s = calloc((size_t)n_runs * 3, sizeof *s);
    if (!s) return ferc_errf(e, "out of memory");
    const int W = 1200, H = 480, top = 40;
    ferc_canvas c;
    if (ferc_canvas_init(&c, W, H, (ferc_rgb){255, 255, 255}, e)) {
        free(s);
        return -1;
    }
    char title[FERC_PATH + 64];
    if (n_runs == 1)
        snprintf(title, sizeof title, "training history of %s", runs[0].path);
    else
        snprintf(title, sizeof title, "training history of %d checkpoints (one line per checkpoint)", n_runs);
    ferc_canvas_text(&c, 16, 14, title, 2, (ferc_rgb){0, 0, 0});
    int rc = 0, clipped;
    double ltop = loss_top(runs, n_runs, &clipped);
    for (int panel = 0; panel < 2 && rc == 0; panel++) {
        int ns = 0, labelled[3] = {0, 0, 0};
        for (int r = 0; r < n_runs; r++) {
            const ferc_train_state *st = &runs[r].st;
            if (!st->n_hist) continue;
            for (int j = 0; j < 3; j++) {
                int col = 2 + 2 * j + panel, finite = 0;
                for (int i = 0; i < st->n_hist; i++) finite |= isfinite(st->hist[(size_t)i * FERC_HIST_COLS + col]);
                if (!finite) continue;
                s[ns] = (ferc_series){st->hist, st->hist + col, st->n_hist, FERC_HIST_COLS, colors[j],
                                      n_runs > 1 ? 1 : 2, labelled[j] ? NULL : names[j]};
                labelled[j] = 1;
                ns++;
            }
        }
        const char *pt = panel ? "accuracy" : clipped ? "loss (larger values drawn at the top)" : "loss";
        rc = ferc_plot_lines(&c, panel * W / 2, top, W / 2, H - top, s, ns, pt, "epoch",
                             panel ? "accuracy" : "cross-entropy", 0.0, panel ? 1.0 : ltop, e);
    }
    if (rc == 0) rc = ferc_canvas_write_png(&c, path, e);
    ferc_canvas_free(&c);
    free(s);
    return rc;
}
