/* dedup.h: exact-duplicate and near-blank image detection for datasets.
 *
 * FER2013 has byte-identical images within its training split (some with
 * conflicting labels) and across train and test, and a few near-blank
 * images. These helpers find them so training can drop them and validation
 * can be reported with and without the images training has seen. */
#ifndef FERC_DEDUP_H
#define FERC_DEDUP_H
#include "dataset.h"

/* For every image i of a: dup[i] = the lowest index j of b whose pixels equal
 * a's image i exactly, or -1. When b == a, j < i is required (so dup[i] >= 0
 * marks the second and later copies, pointing at an earlier copy, not
 * necessarily the first). Both must have the same image size.
 * Hashes (FNV-1a) then compares bytes, so collisions cannot produce false
 * matches. Returns the number of images of a with a match, -1 on error. */
int ferc_dedup_find(const ferc_dataset *a, const ferc_dataset *b, int *dup, ferc_err *e);

/* Standard deviation of an image's pixels (0..255 units); near-blank images
 * (a single colour, or nearly) have a value close to 0. */
double ferc_pixel_std(const uint8_t *px, int n);

/* Filters training indices idx[n] in place and returns the new count:
 * drops images that duplicate any image of `other` (when other != NULL),
 * later copies of images duplicated inside d (every copy when the copies
 * disagree on the label), and images with pixel std < min_std (0 = keep).
 * Counts of each reason go to the optional out-parameters. -1 on error. */
int ferc_dedup_filter(const ferc_dataset *d, int *idx, int n, const ferc_dataset *other, float min_std,
                      int *n_cross, int *n_internal, int *n_conflict, int *n_blank, ferc_err *e);

#endif
