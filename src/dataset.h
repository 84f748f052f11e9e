/* dataset.h: class-folder datasets held in memory, subject-independent folds,
 * on-the-fly augmentation and a prefetching batch loader.
 *
 * A root holds one folder per class (folder names mapped to the config's
 * classes through its aliases); files are PNG or JPEG. Everything is loaded
 * once, resized to input_size^2, 8-bit gray. Files are visited in sorted
 * order so indices are deterministic. */
#ifndef FERC_DATASET_H
#define FERC_DATASET_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "err.h"
#include "rng.h"

typedef struct {
    int n;                  /* images */
    int size;               /* width = height */
    int n_classes;
    uint8_t *pixels;        /* n * size * size */
    int *label;             /* n: class index */
    int *subject;           /* n: index into subjects */
    int *root;              /* n: index of the root it came from */
    char **file;            /* n: path as opened */
    int n_subjects;
    char **subjects;        /* subject names ("S005"; the file stem when subject_prefix = 0) */
    int class_count[FERC_MAX_CLASSES];
} ferc_dataset;

/* Loads every class folder of the given roots. Folders that map to no class
 * are reported through log ("skipping folder X: not a class of this model")
 * and not loaded; so are counts of non-image files (hidden entries are
 * ignored). Images are .png/.jpg/.jpeg (any case), in order of root, folder
 * name, file name; decoding runs in parallel (OpenMP). Subjects are sorted
 * by name; subjects with the same name in several roots are the same
 * subject. A config with subject_prefix=0 makes each file its own subject,
 * named by its stem (files with the same stem in different folders share
 * one). Errors name the file (corrupt image; the first one in load order)
 * or the root (missing, no class folders, no images). log may be NULL. */
int ferc_dataset_load(ferc_dataset *d, const ferc_config *c, const char *const *roots, int n_roots,
                      ferc_log_fn log, void *log_ctx, ferc_err *e);
void ferc_dataset_free(ferc_dataset *d);

/* Assigns each subject to one of `folds` folds, deterministic given seed,
 * stratified by class as far as subjects allow (greedy: subjects sorted by
 * size, each placed in the fold that most needs its classes). fold_of[n_subjects].
 * folds <= 1 puts every subject in fold 0. */
void ferc_dataset_folds(const ferc_dataset *d, int folds, uint64_t seed, int *fold_of);

/* Splits image indices for fold k: test = images whose subject is in fold k;
 * of the remaining subjects a fraction inner_val (by subject, same seed) forms
 * the inner validation set; the rest is train. Arrays are malloc'ed by the
 * callee (free them); counts may be 0. folds <= 1: no test set, everything is
 * train except the inner validation subjects (none when inner_val = 0).
 * The inner split uses the same greedy stratification with targets
 * (1 - inner_val, inner_val) of the images; inner_val > 0 with at least two
 * subjects left always gives a non-empty validation set. Indices ascend.
 * Errors: k outside 0..folds-1, inner_val outside [0, 1), out of memory. */
int ferc_dataset_split(const ferc_dataset *d, int folds, int k, float inner_val, uint64_t seed,
                       int **train, int *n_train, int **val, int *n_val, int **test, int *n_test,
                       ferc_err *e);

/* Writes one normalised float image (size x size) from 8-bit src:
 * x = (p/255 - mean) / std. */
void ferc_normalize(const uint8_t *src, int size, float mean, float std, float *dst);
/* Random augmentation then normalisation, driven by the [augment] keys of c:
 * flip (p = 0.5), shift (+-shift*size px), rotate (+-deg), scale (1 +- scale)
 * as one affine warp about the centre (inverse mapping, bilinear, border
 * replicated); then in [0,1] pixel units brightness (add U(-b, b)) and
 * contrast (scale around the image mean by 1 + U(-c, c)); with probability
 * erase, random erasing: a rectangle of area U(0.02, erase_area) of the image,
 * aspect ratio log-uniform in [0.3, 3.3], filled with U(0, 1) noise; clamp to
 * [0, 1]; then (x - mean) / std. Deterministic given the rng state (always 12
 * draws, then one per erased pixel).
 * With every augment field 0 the result equals ferc_normalize bit for bit. */
void ferc_augment(const uint8_t *src, int size, const ferc_config *c, ferc_rng *r, float *dst);

/* Mixup of a batch in place (mixup.c): draws lam ~ Beta(alpha, alpha) and a
 * permutation p from r, sets x_i = lam x_i + (1 - lam) x_p(i) and
 * y2_i = y_p(i), and returns lam. x holds nb images of isz floats; scratch
 * holds as many. */
float ferc_mixup(float *x, float *scratch, int nb, size_t isz, const int *y, int *y2, float alpha, ferc_rng *r);

/* Batch loader. Each batch is produced on a background thread while the
 * previous one trains (double buffering). Sample order and augmentation are a
 * pure function of (seed, epoch, position), so results do not depend on
 * thread timing and an epoch can be restarted at any batch (exact resume). */
typedef struct ferc_loader ferc_loader;
/* idx[n]: image indices to iterate (copied); train = 1 shuffles and augments,
 * 0 keeps order and only normalises; batch: images per batch (last batch may
 * be smaller). c is copied (augment, mean, std); d must outlive the loader.
 * Starts one thread; ferc_loader_free stops it, also mid-epoch. */
ferc_loader *ferc_loader_new(const ferc_dataset *d, const ferc_config *c, const int *idx, int n,
                             int batch, int train, ferc_err *e);
void ferc_loader_free(ferc_loader *l);
int ferc_loader_batches(const ferc_loader *l);
/* Starts epoch `epoch` (order from seed and epoch) at batch `first`. */
void ferc_loader_start(ferc_loader *l, uint64_t seed, int epoch, int first);
/* Next batch: x (nb, 1, size, size) normalised, y (nb), and the dataset
 * indices of the images (for per-image reports; ids may be NULL). Returns nb,
 * 0 at the end of the epoch (and before the first ferc_loader_start).
 * Pointers stay valid until the next call of ferc_loader_next, _start or _free. */
int ferc_loader_next(ferc_loader *l, const float **x, const int **y, const int **ids);

#endif
