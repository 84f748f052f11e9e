/* eval.h: types shared by the files of ./eval (eval.c: options and the
 * overall flow; run.c: evaluating one checkpoint; report.c: the stdout
 * report, JSON and CSV; pictures.c: heat map and training curves). */
#ifndef FERC_EVAL_H
#define FERC_EVAL_H
#include <stdint.h>
#include <stdio.h>
#include "ckpt.h"
#include "classmap.h"
#include "config.h"
#include "dataset.h"
#include "metrics.h"
#include "tta.h"

typedef struct {
    const char **ckpts;   /* checkpoint paths */
    int n_ckpts;
    const char *data;     /* --data DIR, NULL: each checkpoint's own test fold */
    const char *json, *csv, *png, *curves;
    ferc_tta tta;
    int threads;          /* OpenMP/BLAS threads (0 = all cores) */
    int batch;            /* images per forward pass */
    int mistakes;         /* most confident mistakes listed */
    int quiet;            /* no progress lines on stderr */
} eval_opts;

/* The dataset of the last checkpoint, reused by the next one when its key
 * (roots, classes, folder mapping, size, subject rule) is the same. */
typedef struct {
    char *key;
    ferc_dataset ds;
    int *uses;            /* per image: evaluations that included it */
    double load_s;
} eval_cache;

/* One checkpoint's evaluation. Arrays have n entries (probs n*k). */
typedef struct {
    const char *path;
    ferc_config cfg;      /* stored config; classes/aliases as the checkpoint's */
    ferc_train_state st;  /* fold, folds, seed, history */
    int weight_bits;      /* 32, or 16 for a float16 export */
    int k;                /* classes */
    char source[FERC_PATH + 64];   /* "test fold 3 of 10 of datasets/CK+48" or the --data folder */
    ferc_folder_map map;  /* --data: folder -> class */
    int excluded_images[FERC_MAX_FOLDERS]; /* --data: image files in unmapped folders */
    int n;
    char **file;          /* owned copies */
    int *truth, *pred, *pred_plain;
    float *probs, *probs_plain;   /* probs: with TTA when on; probs_plain only with TTA */
    ferc_confusion conf, conf_plain;
    ferc_metrics m, m_plain;
    int fixed, broken;    /* TTA: wrong->right, right->wrong versus plain */
    int overlap;          /* some image was already evaluated by an earlier checkpoint */
    double infer_s;       /* seconds of inference */
    double recorded_acc;  /* test accuracy the training history recorded for these weights, NaN if unknown */
    int recorded_epoch;
} eval_run;

/* run.c */
int eval_checkpoint(const eval_opts *o, const char *path, eval_cache *cache, eval_run *r, ferc_err *e);
void eval_run_free(eval_run *r);
void eval_cache_free(eval_cache *c);

/* The aggregate over all runs (every run has the same classes). */
typedef struct {
    int n_runs, k;
    const char *classes[FERC_MAX_CLASSES];
    ferc_confusion conf, conf_plain;
    ferc_metrics m, m_plain;
    int64_t fixed, broken;
    int overlap;          /* some image was evaluated by more than one checkpoint */
    double fold_mean[4], fold_std[4];   /* accuracy, balanced accuracy, macro-F1, top-2 over runs */
    double fold_mean_plain[4], fold_std_plain[4];
    double seconds;
    int64_t n_images;
} eval_total;

/* report.c */
void eval_report(FILE *f, const eval_opts *o, const eval_run *runs, const eval_total *t);
int eval_write_json(const char *path, const eval_opts *o, const eval_run *runs, const eval_total *t, ferc_err *e);
int eval_write_csv(const char *path, const eval_opts *o, const eval_run *runs, int n_runs, ferc_err *e);

/* pictures.c */
int eval_write_heatmap(const char *path, const eval_opts *o, const eval_run *runs, const eval_total *t,
                       ferc_err *e);
int eval_write_curves(const char *path, const eval_run *runs, int n_runs, ferc_err *e);

#endif
