/* ckpt.h: HDF5 checkpoints, self-describing and readable by h5py alone.
 *
 * Layout of a file:
 *   attributes on /: format ("ferc-checkpoint"), version (int, 1), kind
 *     ("train" or "export"), config (resolved INI text), classes (string list),
 *     input_size, channels, mean, std, epoch, step (batch within epoch),
 *     global_step, fold, folds, seed, created (ISO time)
 *   /params/<tensor name>    float32 datasets, e.g. /params/conv1_1/kernel [out,in,kh,kw]
 *   /buffers/<tensor name>   e.g. /buffers/bn1_1/running_mean
 *   /optim/m/<name>, /optim/v/<name>, attrs kind, t      ("train" only)
 *   /history                 float32 [epochs, FERC_HIST_COLS] with a "columns" attribute
 * Files are written to "<path>.tmp" and renamed, so a crash never leaves a
 * broken checkpoint. A file whose tensors do not match the network is refused
 * with a message naming the tensor and both shapes. */
#ifndef FERC_CKPT_H
#define FERC_CKPT_H
#include <stdint.h>
#include "config.h"
#include "err.h"
#include "net.h"
#include "optim.h"

#define FERC_CKPT_VERSION 1
/* history columns: epoch, lr, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, seconds */
#define FERC_HIST_COLS 9

typedef struct {
    int epoch;              /* epochs completed */
    int step;               /* batches completed within the current epoch (0 at boundaries) */
    int64_t global_step;
    int fold, folds;
    uint64_t seed;
    int n_hist;
    float *hist;            /* n_hist * FERC_HIST_COLS, malloc'ed */
} ferc_train_state;

/* Saves a training checkpoint (opt and st may be NULL) or, with export_only,
 * an inference export (params + buffers + config + classes, no optimiser). */
int ferc_ckpt_save(const char *path, const ferc_net *net, const ferc_config *cfg,
                   const ferc_optim *opt, const ferc_train_state *st, int export_only, ferc_err *e);
/* Reads the stored config (so the caller can build the matching net). */
int ferc_ckpt_read_config(const char *path, ferc_config *cfg, ferc_err *e);
/* Loads params/buffers (and optimiser state and train state when given and present)
 * into a net built from that config. Every tensor must exist with the same shape. */
int ferc_ckpt_load(const char *path, ferc_net *net, ferc_optim *opt, ferc_train_state *st, ferc_err *e);
/* Fine-tuning: copies every tensor of the file whose name and shape match a
 * tensor of net; calls log for each tensor loaded / skipped (shape differs) /
 * missing. Returns the number of tensors loaded, or -1 on error (not ferc's file). */
int ferc_ckpt_init_from(const char *path, ferc_net *net, ferc_log_fn log, void *log_ctx, ferc_err *e);
void ferc_train_state_free(ferc_train_state *st);

#endif
