#include "rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ferc_rng_seed(ferc_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ferc_rng_u64(ferc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t ferc_rng_below(ferc_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift; bias is below 2^-32 and irrelevant here. */
    return (uint32_t)(((ferc_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

float ferc_rng_uniform(ferc_rng *r)
{
    return (float)(ferc_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform in (0, 1], 53 bits: safe to take the log of. */
static double open01(ferc_rng *r) { return ((double)(ferc_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0); }

float ferc_rng_normal(ferc_rng *r)
{
    /* Box-Muller; one value per call keeps the state simple to checkpoint. */
    double u1 = open01(r);
    double u2 = (double)(ferc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float ferc_rng_gamma(ferc_rng *r, float a)
{
    /* Marsaglia and Tsang (2000); for a < 1, Gamma(a) = Gamma(a + 1) * U^(1/a). */
    double boost = 1.0;
    if (a < 1.0f) {
        boost = pow(open01(r), 1.0 / a);
        a += 1.0f;
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = ferc_rng_normal(r), v = 1.0 + c * z;
        if (v <= 0.0) continue;
        v = v * v * v;
        if (log(open01(r)) < 0.5 * z * z + d - d * v + d * log(v)) return (float)(d * v * boost);
    }
}

float ferc_rng_beta(ferc_rng *r, float a, float b)
{
    double x = ferc_rng_gamma(r, a), y = ferc_rng_gamma(r, b);
    return x + y > 0.0 ? (float)(x / (x + y)) : 0.5f;
}

void ferc_rng_split(ferc_rng *parent, ferc_rng *child)
{
    ferc_rng_seed(child, ferc_rng_u64(parent));
}

void ferc_rng_shuffle(ferc_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ferc_rng_below(r, (uint32_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
