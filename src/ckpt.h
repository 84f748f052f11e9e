/* ckpt.h: HDF5 checkpoints, self-describing and readable by h5py alone.
 *
 * Layout of a file:
 *   attributes on /: format ("ferc-checkpoint"), version (int, 1), kind
 *     ("train" or "export"), config (resolved INI text), classes (string list),
 *     input_size, channels, mean, std, epoch, step (batch within epoch),
 *     global_step, fold, folds, seed, created (ISO time); when step > 0 also
 *     epoch_loss_sum, epoch_correct, epoch_seen, epoch_seconds (the stopped
 *     epoch's running training figures; absent in older files, read as 0)
 *   /params/<tensor name>    float32 datasets, e.g. /params/conv1_1/kernel [out,in,kh,kw]
 *   /buffers/<tensor name>   e.g. /buffers/bn1_1/running_mean
 *                            (an export saved with FERC_CKPT_HALF stores both as IEEE
 *                            binary16, h5py's float16; readers convert to float)
 *   /optim/m/<name>, /optim/v/<name>, attrs kind, t      ("train" only)
 *   /optim/avg/<name>, attr avg_n   the weight average (train.swa_epochs runs only)
 *   /history                 float32 [epochs, FERC_HIST_COLS] with a "columns" attribute
 *                            (written whenever st is given, exports included)
 *   /distill/targets         float32 [images, classes]: train.distill's soft labels, attrs
 *                            teachers (string), temperature (float32) ("train" only, distilling runs)
 *   bytes 0..511: an HDF5 user block (skipped by HDF5 and h5py) holding the text
 *     "ferc-checkpoint\nsize <bytes>\ncrc32 <hex>\n", zlib's CRC-32 of bytes
 *     [512, size). Readers check it before HDF5 parses anything, so truncated or
 *     corrupt files are refused with a message instead of crashing HDF5.
 * Strings are variable-length UTF-8 (h5py reads str); ints are int64, seed
 * uint64, mean/std float32; /optim kind is 0 sgd, 1 adam, 2 adamw.
 * Files are written to "<path>.tmp", sealed, fsync'ed and renamed, so a crash
 * never leaves a broken checkpoint and a failed save leaves path untouched. A
 * file whose tensors do not match the network is refused with a message
 * naming the tensor and both shapes. All functions return -1 with e filled on
 * error, never print, and are not thread-safe (serial HDF5). */
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
    /* the current epoch's running figures when step > 0, so that a run
     * stopped mid-epoch logs the whole epoch's training loss, accuracy and
     * time after --resume, not only the batches after it */
    double ep_loss_sum;     /* sum over the epoch's images of the loss */
    int64_t ep_correct, ep_seen;
    double ep_seconds;      /* wall-clock spent on the epoch so far */
    /* train.distill's soft labels (kd_n dataset images x kd_k classes, at
     * temperature kd_temp, from the teachers listed in kd_teachers), kept in
     * training checkpoints so that --resume need not score the teachers again;
     * NULL when the run does not distil. Owned (malloc'ed) by the state. */
    int kd_n, kd_k;
    float *kd;
    float kd_temp;
    char *kd_teachers;
} ferc_train_state;

/* ferc_ckpt_save flags */
#define FERC_CKPT_EXPORT 1 /* an inference export: params + buffers + config + classes, no optimiser */
#define FERC_CKPT_HALF 2   /* with EXPORT: params and buffers as float16 (half the size; values rounded
                              to nearest even, a value beyond +-65504 is an error) */
/* Saves a training checkpoint (flags 0; opt and st may be NULL) or an
 * inference export (FERC_CKPT_EXPORT, optionally | FERC_CKPT_HALF). */
int ferc_ckpt_save(const char *path, const ferc_net *net, const ferc_config *cfg,
                   const ferc_optim *opt, const ferc_train_state *st, int flags, ferc_err *e);
/* Reads the stored config (so the caller can build the matching net). */
int ferc_ckpt_read_config(const char *path, ferc_config *cfg, ferc_err *e);
/* Loads params/buffers (and optimiser state and train state when given and present)
 * into a net built from that config. Every tensor must exist with the same shape,
 * and the file may hold no tensor the net lacks. opt: its kind must match the
 * file's; an export gives an error; a "train" file saved without optimiser
 * state leaves opt untouched. st is overwritten (free a previous one first);
 * attributes absent from the file read as 0, no history as n_hist 0. Everything
 * is checked before anything is written, so a refused file leaves net, opt and
 * st untouched (only an I/O error while reading the data can leave the net or
 * opt partly loaded). */
int ferc_ckpt_load(const char *path, ferc_net *net, ferc_optim *opt, ferc_train_state *st, ferc_err *e);
/* Fine-tuning: copies every tensor of the file whose name and shape match a
 * tensor of net; calls log (may be NULL) for each tensor loaded / skipped (shape
 * differs) / missing, and for each file tensor the net does not have (unused).
 * Returns the number of tensors loaded, or -1 on error (not ferc's file). */
int ferc_ckpt_init_from(const char *path, ferc_net *net, ferc_log_fn log, void *log_ctx, ferc_err *e);
/* Fine-tuning between class lists: when the file's classes differ from cfg's
 * (names or order), re-initialises the classifier (the last fc layer) with rng
 * and copies the file's kernel row and bias of every class both lists name;
 * classes only cfg has keep the fresh initialisation. Call after
 * ferc_ckpt_init_from. Logs the mapping; returns the number of classes taken
 * from the file (all of them when the lists are equal), -1 on error. */
int ferc_ckpt_init_head(const char *path, ferc_net *net, const ferc_config *cfg, ferc_rng *rng, ferc_log_fn log,
                        void *log_ctx, ferc_err *e);
void ferc_train_state_free(ferc_train_state *st);
/* Frees only st's distillation targets (kd, kd_teachers). */
void ferc_train_state_free_distill(ferc_train_state *st);
/* Reads only the train-state attributes and history (no tensors): used to
 * find the fold and epoch of a checkpoint before building its network. */
int ferc_ckpt_read_state(const char *path, ferc_train_state *st, ferc_err *e);
/* Bits per stored weight: 32, or 16 for a float16 export (the widest type
 * under /params; 0 when it holds none). -1 with e filled on error. */
int ferc_ckpt_weight_bits(const char *path, ferc_err *e);
/* Re-seals a checkpoint changed by other tools (e.g. attributes edited with
 * h5py): rewrites the size and CRC-32 in its 512-byte header. Readers refuse a
 * file whose seal does not match ("checksum mismatch"). */
int ferc_ckpt_seal(const char *path, ferc_err *e);

#endif
