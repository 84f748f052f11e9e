/* tta.h: test-time augmentation views of one 8-bit gray image.
 *
 * A mode produces V normalised views (each size x size floats); view 0 is
 * always the plain image, so one pass gives both the plain prediction and the
 * augmented one. The augmented prediction averages the softmax probabilities
 * of views first..V-1:
 *   none     V = 1:  the image                          (first = 0)
 *   flip     V = 2:  the image and its mirror            (first = 0)
 *   tencrop  V = 11: the image, then crops of side round(0.875*size) at the
 *                    four corners and the centre, each resized back to size
 *                    (bilinear), and their mirrors        (first = 1)
 * Normalisation as ferc_normalize: x = (p/255 - mean) / std. */
#ifndef FERC_TTA_H
#define FERC_TTA_H
#include <stdint.h>

typedef enum { FERC_TTA_NONE = 0, FERC_TTA_FLIP = 1, FERC_TTA_TENCROP = 2 } ferc_tta;

#define FERC_TTA_MAX_VIEWS 11
#define FERC_TTA_CROP 0.875

/* "none", "flip", "tencrop" (also "ten-crop", "10crop") -> mode; -1 if unknown. */
int ferc_tta_parse(const char *s);
const char *ferc_tta_name(ferc_tta m);
int ferc_tta_views(ferc_tta m);
int ferc_tta_first(ferc_tta m);
/* Writes ferc_tta_views(m) views of src (size x size) to dst, view v at
 * dst + v*size*size. */
void ferc_tta_make(ferc_tta m, const uint8_t *src, int size, float mean, float std, float *dst);
/* Averages the probabilities of views first..V-1: probs_views (V, k) -> out (k). */
void ferc_tta_average(ferc_tta m, const float *probs_views, int k, float *out);

#endif
