/* rng.h: seeded random number generator objects (xoshiro256**). Never rand().
 * The whole state is four words, so it can be stored in a checkpoint. */
#ifndef FERC_RNG_H
#define FERC_RNG_H
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} ferc_rng;

void ferc_rng_seed(ferc_rng *r, uint64_t seed);     /* splitmix64 expansion */
uint64_t ferc_rng_u64(ferc_rng *r);
uint32_t ferc_rng_below(ferc_rng *r, uint32_t n);   /* uniform in [0, n) */
float ferc_rng_uniform(ferc_rng *r);                /* uniform in [0, 1) */
float ferc_rng_normal(ferc_rng *r);                 /* standard normal */
float ferc_rng_gamma(ferc_rng *r, float a);         /* Gamma(a, 1), a > 0 */
float ferc_rng_beta(ferc_rng *r, float a, float b); /* Beta(a, b), a, b > 0 */
/* Derives an independent stream, e.g. one per epoch or per worker. */
void ferc_rng_split(ferc_rng *parent, ferc_rng *child);
/* Fisher-Yates shuffle of an int array. */
void ferc_rng_shuffle(ferc_rng *r, int *a, int n);

#endif
