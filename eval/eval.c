/* eval.c: ./eval CHECKPOINT... [options] -- evaluates trained models and
 * reports accuracy with its 95% interval, balanced accuracy, macro-F1,
 * per-class precision/recall/F1, the confusion matrix, top-2 accuracy and
 * the most confident mistakes; several checkpoints (e.g. the folds of
 * --folds all) give a per-checkpoint table, mean +- std and the summed
 * confusion matrix. Exit status: 0 done, 1 bad input (checkpoint, data,
 * output file), 2 bad command line. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "eval.h"

static const char *USAGE =
    "usage: bin/eval CHECKPOINT... [options]\n"
    "\n"
    "Evaluates checkpoints written by bin/train (training checkpoints and inference\n"
    "exports alike). By default each checkpoint is scored on its own held-out test\n"
    "fold, recreated from the split recorded in it (data.path, folds, fold, seed;\n"
    "data.path is relative to the folder training ran in).\n"
    "\n"
    "options:\n"
    "  --data DIR        score on a class-folder dataset instead (one folder of\n"
    "                    PNG/JPEG images per class); folder names are matched to the\n"
    "                    model's classes through emotion synonyms (angry=anger,\n"
    "                    happiness=happy, sad=sadness, ...) and the checkpoint's\n"
    "                    aliases; folders matching no class are reported and excluded\n"
    "  --json FILE       write the summary as JSON (metrics, confusion, per class,\n"
    "                    per checkpoint)\n"
    "  --csv FILE        write per-image predictions with all class probabilities\n"
    "  --png FILE        draw the confusion matrix as a heat map (PNG)\n"
    "  --curves FILE     plot the training history stored in the checkpoint(s)\n"
    "                    (loss and accuracy per epoch; PNG)\n"
    "  --tta MODE        test-time augmentation: none (default), flip (image +\n"
    "                    mirror) or tencrop (4 corner + centre crops of 87.5%, and\n"
    "                    mirrors); the report shows the plain figures beside it\n"
    "  --mistakes N      list the N most confident mistakes (default 10)\n"
    "  --threads N       OpenMP/BLAS threads (default: all cores)\n"
    "  --batch N         images per forward pass (default 64)\n"
    "  --quiet           no progress messages on stderr\n"
    "  -h, --help        this help\n"
    "\n"
    "With several checkpoints the report lists each one, mean +- std over them,\n"
    "and pools their confusion matrices. The last line of the report is\n"
    "\"accuracy: 0.xxxx\" (pooled, with test-time augmentation when asked for).\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int parse_int(const char *s, const char *opt, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "eval: %s expects an integer in %d..%d, got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* 0 when the folder of an output file exists and is writable, so a long
 * evaluation does not end in "cannot create". */
static int check_output(const char *opt, const char *path)
{
    if (!path) return 0;
    char dir[FERC_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) == 0) return 0;
    fprintf(stderr, "eval: %s %s: cannot write into %s: %s\n", opt, path, dir, strerror(errno));
    return -1;
}

/* Pools the runs: summed confusion matrices, mean +- std of the per-run figures. */
static int aggregate(const eval_run *runs, int n, eval_total *t, ferc_err *e)
{
    memset(t, 0, sizeof *t);
    t->n_runs = n;
    t->k = runs[0].k;
    for (int k = 0; k < t->k; k++) t->classes[k] = runs[0].cfg.classes[k];
    for (int r = 1; r < n; r++) {
        int same = runs[r].k == t->k;
        for (int k = 0; same && k < t->k; k++) same = !strcmp(runs[r].cfg.classes[k], t->classes[k]);
        if (!same)
            return ferc_errf(e, "%s and %s have different classes (or class order); evaluate them separately",
                             runs[0].path, runs[r].path);
    }
    if (ferc_confusion_init(&t->conf, t->k, e) || ferc_confusion_init(&t->conf_plain, t->k, e)) return -1;
    double *v = malloc(sizeof(double) * 8 * (size_t)n); /* [8][n]: 4 figures, then the same 4 without TTA */
    if (!v) return ferc_errf(e, "out of memory");
    for (int r = 0; r < n; r++) {
        const eval_run *u = &runs[r];
        if (ferc_confusion_sum(&t->conf, &u->conf, e) || ferc_confusion_sum(&t->conf_plain, &u->conf_plain, e)) {
            free(v);
            return -1;
        }
        t->fixed += u->fixed, t->broken += u->broken;
        t->overlap |= u->overlap;
        t->seconds += u->infer_s;
        t->n_images += u->n;
        const double fig[8] = {u->m.accuracy,       u->m.balanced_accuracy,       u->m.macro_f1,       u->m.top2,
                               u->m_plain.accuracy, u->m_plain.balanced_accuracy, u->m_plain.macro_f1, u->m_plain.top2};
        for (int i = 0; i < 8; i++) v[(size_t)i * n + r] = fig[i];
    }
    for (int i = 0; i < 4; i++) {
        ferc_mean_std(v + (size_t)i * n, n, &t->fold_mean[i], &t->fold_std[i]);
        ferc_mean_std(v + (size_t)(i + 4) * n, n, &t->fold_mean_plain[i], &t->fold_std_plain[i]);
    }
    free(v);
    if (ferc_metrics_compute(&t->conf, &t->m, e) || ferc_metrics_compute(&t->conf_plain, &t->m_plain, e)) return -1;
    return 0;
}

/* Parses the command line into o (o->ckpts allocated here). Returns 0 to
 * run, 1 after --help, 2 on a usage error (message printed). */
static int parse_args(int argc, char **argv, eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 64;
    o->mistakes = 10;
    o->ckpts = calloc((size_t)argc, sizeof *o->ckpts);
    if (!o->ckpts) {
        fprintf(stderr, "eval: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG                                                       \
    if (!v) {                                                          \
        fprintf(stderr, "eval: %s needs a value (see --help)\n", a);   \
        return 2;                                                      \
    }                                                                  \
    i++;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        } else if (!strcmp(a, "--data")) {
            NEED_ARG
            o->data = v;
        } else if (!strcmp(a, "--json")) {
            NEED_ARG
            o->json = v;
        } else if (!strcmp(a, "--csv")) {
            NEED_ARG
            o->csv = v;
        } else if (!strcmp(a, "--png")) {
            NEED_ARG
            o->png = v;
        } else if (!strcmp(a, "--curves")) {
            NEED_ARG
            o->curves = v;
        } else if (!strcmp(a, "--tta")) {
            NEED_ARG
            int m = ferc_tta_parse(v);
            if (m < 0) {
                fprintf(stderr, "eval: --tta expects none, flip or tencrop, got '%s'\n", v);
                return 2;
            }
            o->tta = (ferc_tta)m;
        } else if (!strcmp(a, "--mistakes")) {
            NEED_ARG
            if (parse_int(v, a, 0, 1000000, &o->mistakes)) return 2;
        } else if (!strcmp(a, "--threads")) {
            NEED_ARG
            if (parse_int(v, a, 0, 4096, &o->threads)) return 2;
        } else if (!strcmp(a, "--batch")) {
            NEED_ARG
            if (parse_int(v, a, 1, 65536, &o->batch)) return 2;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "eval: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            o->ckpts[o->n_ckpts++] = a;
        }
#undef NEED_ARG
    }
    if (o->n_ckpts == 0) {
        fprintf(stderr, "eval: no checkpoint given\n%s", USAGE);
        return 2;
    }
    if (check_output("--json", o->json) || check_output("--csv", o->csv) || check_output("--png", o->png) ||
        check_output("--curves", o->curves))
        return 3;
    return 0;
}

int main(int argc, char **argv)
{
    eval_opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr) {
        free(o.ckpts);
        return pr == 1 ? 0 : pr == 3 ? 1 : 2;
    }
    int threads = o.threads > 0 ? o.threads : omp_get_num_procs();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    if (!o.quiet) fprintf(stderr, "eval: %d threads, batch %d\n", threads, o.batch);

    eval_run *runs = calloc((size_t)o.n_ckpts, sizeof *runs);
    eval_cache cache;
    memset(&cache, 0, sizeof cache);
    ferc_err e;
    int rc = 1;
    double t0 = now();
    if (!runs) goto out;
    /* refuse a bad checkpoint (missing, not ferc's, truncated, other version)
     * before spending time on the others */
    for (int i = 0; i < o.n_ckpts; i++) {
        ferc_train_state st;
        if (ferc_ckpt_read_state(o.ckpts[i], &st, &e)) {
            fprintf(stderr, "eval: %s\n", e.msg);
            goto out;
        }
        ferc_train_state_free(&st);
    }
    for (int i = 0; i < o.n_ckpts; i++) {
        if (!o.quiet) fprintf(stderr, "eval: %s\n", o.ckpts[i]);
        if (eval_checkpoint(&o, o.ckpts[i], &cache, &runs[i], &e)) {
            fprintf(stderr, "eval: %s\n", e.msg);
            goto out;
        }
    }
    eval_total t;
    if (aggregate(runs, o.n_ckpts, &t, &e)) {
        fprintf(stderr, "eval: %s\n", e.msg);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "eval: %lld predictions in %.1fs (%.0f img/s inference)\n", (long long)t.n_images,
                now() - t0, t.seconds > 0 ? t.n_images / t.seconds : 0.0);
    eval_report(stdout, &o, runs, &t);
    fflush(stdout);
    rc = 0;
    if (o.json && eval_write_json(o.json, &o, runs, &t, &e)) rc = 1, fprintf(stderr, "eval: %s\n", e.msg);
    if (o.csv && eval_write_csv(o.csv, &o, runs, o.n_ckpts, &e)) rc = 1, fprintf(stderr, "eval: %s\n", e.msg);
    if (o.png && eval_write_heatmap(o.png, &o, runs, &t, &e)) rc = 1, fprintf(stderr, "eval: %s\n", e.msg);
    if (o.curves && eval_write_curves(o.curves, runs, o.n_ckpts, &e)) rc = 1, fprintf(stderr, "eval: %s\n", e.msg);
out:
    for (int i = 0; runs && i < o.n_ckpts; i++) eval_run_free(&runs[i]); /* calloc'ed: safe on unused */
    free(runs);
    eval_cache_free(&cache);
    free(o.ckpts);
    return rc;
}
