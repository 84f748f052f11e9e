/* config.h: the resolved run configuration, parsed from an INI file.
 *
 * Sections and keys (all optional unless marked; defaults in config.c):
 *   [data]    path (required; comma-separated list of class-folder roots),
 *             val_path (optional separate validation root, e.g. fer2013/test),
 *             classes (required; comma list, order = model output order),
 *             aliases (comma list of folder=class, e.g. "happiness=happy, angry=anger"),
 *             input_size, subject (prefix|none), folds, fold, inner_val,
 *             mean, std, dedup, min_std
 *   [model]   blocks (comma list of convs per block, e.g. "2,2,3,3,3"),
 *             widths (comma list, one per block, e.g. "64,128,256,512,512"),
 *             width_mult, fc (comma list of hidden FC widths, e.g. "512,512"),
 *             dropout, freeze (number of leading conv layers kept fixed)
 *   [train]   epochs, batch, optimizer (sgd|adam|adamw), lr, momentum,
 *             nesterov, weight_decay, beta1, beta2, eps, schedule
 *             (constant|step|cosine), warmup_epochs, step_epochs, step_gamma,
 *             min_lr, label_smoothing, mixup, class_weights (none|balanced|sqrt), seed,
 *             swa_epochs, swa_lr, distill (teacher checkpoints), distill_weight,
 *             distill_temp,
 *             threads, select (last|inner_val)
 *   [augment] flip, shift, rotate, scale, brightness, contrast, erase, erase_area
 *   [output]  dir, name
 * Unknown sections/keys, bad values and out-of-range values are errors naming
 * file:line. Every default that was used is reported through a log callback. */
#ifndef FERC_CONFIG_H
#define FERC_CONFIG_H
#include <stdint.h>
#include "err.h"

#define FERC_MAX_CLASSES 16
#define FERC_MAX_ALIASES 64
#define FERC_MAX_BLOCKS 8
#define FERC_MAX_FC 4
#define FERC_MAX_PATHS 4
#define FERC_NAME 48
#define FERC_PATH 1024

typedef struct {
    /* [data] */
    int n_paths;
    char paths[FERC_MAX_PATHS][FERC_PATH];
    char val_path[FERC_PATH];          /* "" = none: validation is the held-out fold */
    int n_classes;
    char classes[FERC_MAX_CLASSES][FERC_NAME];
    int n_aliases;
    char alias_from[FERC_MAX_ALIASES][FERC_NAME]; /* folder name */
    char alias_to[FERC_MAX_ALIASES][FERC_NAME];   /* class name (must be in classes) */
    int input_size;                    /* 48: images are resized to input_size^2 */
    int subject_prefix;                /* 1: subject = file name up to first '_' (CK+); 0: each file its own subject */
    int folds;                         /* 10; 0 or 1 = train on everything (no test fold) */
    int fold;                          /* 0..folds-1 */
    float inner_val;                   /* fraction of training subjects held out for model selection (0 = none) */
    float mean, std;                   /* input normalisation: x = (pixel/255 - mean) / std */
    int dedup;                         /* 1: drop training images that duplicate validation images
                                          and repeated copies inside the training set (all copies
                                          when their labels disagree); validation is also reported
                                          without the images training contains */
    float min_std;                     /* drop training images whose pixel std (0..255) is below this */

    /* [model] */
    int n_blocks;
    int block_convs[FERC_MAX_BLOCKS];
    int block_width[FERC_MAX_BLOCKS];  /* after width_mult is applied */
    float width_mult;
    int n_fc;                          /* hidden FC layers (the classifier layer is extra) */
    int fc_width[FERC_MAX_FC];
    float dropout;
    int freeze;                        /* first `freeze` conv layers (with their BN) are frozen */

    /* [train] */
    int epochs, batch;
    char optimizer[16];                /* sgd | adam | adamw */
    float lr, momentum;
    int nesterov;
    float weight_decay, beta1, beta2, eps;
    char schedule[16];                 /* constant | step | cosine */
    float warmup_epochs;
    int step_epochs;
    float step_gamma, min_lr;
    float label_smoothing;
    float mixup;                       /* mixup Beta(alpha, alpha) parameter; 0 = off */
    int class_weights;                 /* 0 none, 1 balanced (n / (k * n_c)), 2 sqrt of balanced */
    uint64_t seed;
    int threads;                       /* 0 = all cores */
    char select[16];                   /* last | inner_val: which epoch's model is "best" */
    int swa_epochs;                    /* average the weights of the last N epochs (0 = off) */
    float swa_lr;                      /* constant lr during those epochs (0 = keep the schedule) */
    char distill[FERC_PATH];           /* teacher checkpoints (comma list; "" = no distillation) */
    float distill_weight;              /* share of the teacher term in the loss, (0, 1] */
    float distill_temp;                /* softmax temperature of both sides of that term */

    /* [augment] */
    int flip;                          /* horizontal flip with p = 0.5 */
    float shift;                       /* max shift, fraction of input size */
    float rotate;                      /* max rotation, degrees */
    float scale;                       /* max relative scale change */
    float brightness, contrast;        /* max jitter (additive / multiplicative) */
    float erase;                       /* random erasing: probability per image */
    float erase_area;                  /* its largest area, fraction of the image */

    /* [output] */
    char out_dir[FERC_PATH];
    char name[FERC_NAME];
    int export_half;                   /* output.export_dtype: 0 float32, 1 float16 exports (model.h5, --export) */

    /* The resolved configuration as INI text (every key, defaults included),
     * stored in checkpoints so a run can be reproduced from them. */
    char *text;
} ferc_config;

typedef void (*ferc_log_fn)(void *ctx, const char *msg);

/* Fills c with defaults. */
void ferc_config_defaults(ferc_config *c);
/* Parses an INI file over the defaults. log (may be NULL) receives one line
 * for every default used, e.g. "default: train.momentum = 0.9". On error
 * returns -1 with "file:line: ..." in e. The caller frees with ferc_config_free. */
int ferc_config_load(ferc_config *c, const char *path, ferc_log_fn log, void *log_ctx, ferc_err *e);
/* Same, from a string (name used in messages); used for configs stored in checkpoints. */
int ferc_config_parse(ferc_config *c, const char *text, const char *name, ferc_log_fn log, void *log_ctx, ferc_err *e);
/* Overrides one key after loading ("train.epochs", "5"); used by command-line options.
 * Regenerates c->text. */
int ferc_config_set(ferc_config *c, const char *key, const char *value, ferc_err *e);
/* Rebuilds c->text from the struct. */
int ferc_config_render(ferc_config *c, ferc_err *e);
/* Calls fn(ctx, "section.key", value in now, value in was) for every key whose
 * value differs (values as the rendered INI text gives them); returns how many
 * differ, or -1 with e set. */
typedef void (*ferc_config_diff_fn)(void *ctx, const char *key, const char *now, const char *was);
int ferc_config_diff(const ferc_config *now, const ferc_config *was, ferc_config_diff_fn fn, void *ctx, ferc_err *e);
/* Class index of a folder name through aliases and exact class names, or -1. */
int ferc_config_class_of(const ferc_config *c, const char *folder);
void ferc_config_free(ferc_config *c);

#endif
