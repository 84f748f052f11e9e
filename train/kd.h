/* kd.h: the trainer's side of knowledge distillation (train.distill): where
 * a run's soft labels come from. */
#ifndef FERC_TRAIN_KD_H
#define FERC_TRAIN_KD_H
#include "ckpt.h"
#include "config.h"
#include "dataset.h"

/* Fills st->kd (ds->n rows of cfg->n_classes; rows of the n_tr training
 * images tr[] set) with the soft labels of cfg->distill, kept in st so that
 * every checkpoint of the run carries them. In order of preference: those
 * already in st (resumed from `resume`), those in the --init checkpoint
 * `init` (a run continued with another config, e.g. weight averaging), both
 * only when made by the same teachers at the same temperature for every
 * training image; else the teachers score the images now (distill.h).
 * Progress and the teachers' accuracies go to stderr. Returns 0, or -1 with
 * the message printed. */
int ferc_kd_setup(const ferc_config *cfg, const char *resume, const char *init, int progress,
                  const ferc_dataset *ds, const int *tr, int n_tr, ferc_train_state *st);

#endif
