/* half.c: float <-> IEEE 754 binary16, bit by bit (no compiler _Float16,
 * which clang 14 lacks on x86-64). binary16: 1 sign bit, 5 exponent bits
 * (bias 15), 10 mantissa bits; float: 1, 8 (bias 127), 23. */
#include <string.h>
#include "half.h"

/* Shifts m right by s (1 <= s <= 31) rounding to nearest, ties to even. */
static uint32_t shift_round(uint32_t m, int s)
{
    uint32_t r = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
    return r + (rem > half || (rem == half && (r & 1)));
}

uint16_t ferc_half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffffu;
    const int e = (int)(ax >> 23); /* biased float exponent */
    if (e == 255) return (uint16_t)(sign | 0x7c00 | (ax & 0x7fffff ? 0x200 : 0)); /* inf, NaN */
    if (e > 142) return (uint16_t)(sign | 0x7c00);                              /* >= 2^16: inf */
    if (e >= 113) {
        /* normal binary16 (2^-14 <= |f| < 2^16): rebias the exponent by
         * 127 - 15 = 112 and round away 13 mantissa bits; a carry moves into
         * the exponent, past 0x7bff (65504) into infinity, as it should */
        return (uint16_t)(sign | shift_round(ax - (112u << 23), 13));
    }
    if (e < 102) return sign; /* |f| < 2^-25: rounds to zero */
    /* subnormal binary16: |f| = m * 2^(e - 150) with the implicit bit in m;
     * in units of 2^-24 that is m >> (126 - e), shifts of 14..24 bits; a
     * carry to 0x400 is the smallest normal, correctly encoded */
    const uint32_t m = (ax & 0x7fffff) | 0x800000;
    return (uint16_t)(sign | shift_round(m, 126 - e));
}

float ferc_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const int e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff, x;
    if (e == 31) {
        x = sign | 0x7f800000u | (m << 13); /* inf, NaN */
    } else if (e > 0) {
        x = sign | ((uint32_t)(e + 112) << 23) | (m << 13);
    } else if (m == 0) {
        x = sign;
    } else {
        /* subnormal: normalise the mantissa */
        int s = 0;
        while (!(m & 0x400)) m <<= 1, s++;
        x = sign | ((uint32_t)(113 - s) << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}
