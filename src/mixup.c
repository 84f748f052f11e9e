/* mixup.c: mixup (Zhang et al., 2018) of one training batch.
 *   lam ~ Beta(alpha, alpha) once per batch, p a random permutation of 0..nb-1,
 *   x'_i = lam x_i + (1 - lam) x_p(i),  y2_i = y_p(i);
 * the caller trains on lam CE(y) + (1 - lam) CE(y2) (see ferc_softmax_xent). */
#include <string.h>
#include "dataset.h"

float ferc_mixup(float *x, float *scratch, int nb, size_t isz, const int *y, int *y2, float alpha, ferc_rng *r)
{
    /* Fixed draw order: lam, then the permutation. */
    const float lam = ferc_rng_beta(r, alpha, alpha);
    /* y2 holds the permutation until each entry is replaced by its label */
    for (int i = 0; i < nb; i++) y2[i] = i;
    ferc_rng_shuffle(r, y2, nb);
    memcpy(scratch, x, sizeof(float) * isz * (size_t)nb);
    for (int i = 0; i < nb; i++) {
        float *d = x + isz * (size_t)i;
        const float *o = scratch + isz * (size_t)y2[i];
        for (size_t j = 0; j < isz; j++) d[j] = lam * d[j] + (1.0f - lam) * o[j];
        y2[i] = y[y2[i]];
    }
    return lam;
}
