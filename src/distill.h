/* distill.h: the teacher's targets for knowledge distillation (train.distill).
 *
 * Every teacher checkpoint in the comma-separated list (a training checkpoint
 * or an export, of any width or depth) scores the given training images in
 * inference mode, each image as it is and mirrored. The target of image i is
 * the mean over teachers and both views of softmax(z / T): one soft label per
 * image, computed once before training, so distillation costs no teacher
 * forward pass per step (the student sees augmented images, the targets are
 * those of the plain image and its mirror).
 *
 * A teacher must have the student's classes in the same order, its input size
 * and channels, and its normalisation (data.mean, data.std); a mismatch is an
 * error naming the teacher file and the field. */
#ifndef FERC_DISTILL_H
#define FERC_DISTILL_H
#include "config.h"
#include "dataset.h"
#include "err.h"

#define FERC_MAX_TEACHERS 8

typedef struct {
    int n_teachers;
    double acc[FERC_MAX_TEACHERS]; /* each teacher's accuracy on the images (both views averaged) */
    double acc_mean;               /* accuracy of the targets themselves (argmax against the labels) */
} ferc_distill_info;

/* Fills target[idx[j] * K + k] (target holds ds->n rows of K = cfg->n_classes)
 * for the n images idx[] of ds, with temperature T = cfg->distill_temp and the
 * teachers of cfg->distill. Batches of `batch` images. Returns 0, or -1 with e
 * filled (a teacher that cannot be read or does not fit). */
int ferc_distill_targets(const ferc_config *cfg, const ferc_dataset *ds, const int *idx, int n, int batch,
                         float *target, ferc_distill_info *info, ferc_err *e);

#endif
