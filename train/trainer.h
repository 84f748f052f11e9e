/* trainer.h: the training loop behind ./train (one fold, or all folds). */
#ifndef FERC_TRAINER_H
#define FERC_TRAINER_H
#include "config.h"

typedef struct {
    const char *config_path;
    int fold;             /* -1: the config's data.fold */
    int all_folds;        /* --folds all */
    int train_all;        /* --all: no test fold */
    int epochs;           /* -1: config */
    int threads;          /* -1: config */
    const char *resume;   /* checkpoint to continue */
    const char *init;     /* checkpoint to fine-tune from */
    const char *out;      /* output directory override */
    const char *export_path;
    int progress;         /* live progress bar on stderr */
    long max_steps;       /* > 0: stop (resumably) once this many batches were trained in total */
    const char *const *sets; /* the --set KEY=VALUE options, repeated in "continue with" hints */
    int n_sets;
    long long seed;       /* --seed, -1 if not given */
} ferc_train_opts;

/* Runs what the options ask for; prints progress on stderr and results on
 * stdout. Returns the process exit status (0 ok, 1 error, 130 interrupted). */
int ferc_train_main(ferc_config *cfg, const ferc_train_opts *o);

#endif
