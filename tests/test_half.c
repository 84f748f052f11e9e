/* test_half.c: float <-> binary16 (src/half.c) against an independent oracle:
 * the value of a binary16 bit pattern computed with ldexp from the IEEE
 * definition, and "the nearest representable value, ties to the even
 * mantissa" checked against the neighbours of the result. Exhaustive over
 * all 65536 binary16 patterns; over floats, every 211th bit pattern plus
 * every tie and boundary case. */
#include <stdint.h>
#include <string.h>
#include "half.h"
#include "test.h"

/* IEEE 754 binary16 value of h (NaN for the NaN patterns), by definition. */
static double oracle(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 31 ? (m ? NAN : INFINITY) : e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return s ? -v : v;
}

static float bits_float(uint32_t x)
{
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static int test_decode_all(void)
{
    int bad = 0, trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        double want = oracle((uint16_t)h);
        float got = ferc_half_to_float((uint16_t)h);
        if (isnan(want) ? !isnan(got) : (double)got != want || !signbit(got) != !signbit(want)) bad++;
        /* every non-NaN pattern survives float and back, -0 included */
        if (!isnan(want) && ferc_half_from_float(got) != h) trip++;
    }
    CHECKF(bad == 0 && trip == 0, "%d patterns decode wrongly, %d do not round-trip", bad, trip);
    return 0;
}

/* Checks one float: the result is the nearest binary16 (ties: even
 * mantissa), infinity beyond the rounding boundary 65520, NaN for NaN. */
static int check_one(float f)
{
    uint16_t h = ferc_half_from_float(f);
    double r = oracle(h), x = f;
    if (isnan(x)) return isnan(r);
    if (!signbit(r) != !signbit(x)) return 0;
    double ax = fabs(x);
    if (ax >= 65520.0) return isinf(r);
    if (isinf(r)) return 0;
    uint16_t mag = h & 0x7fff;
    double d = fabs(ax - fabs(r));
    double below = mag ? fabs(ax - oracle((uint16_t)(mag - 1))) : INFINITY;
    double above = mag < 0x7bff ? fabs(ax - oracle((uint16_t)(mag + 1))) : INFINITY;
    if (d > below || d > above) return 0;
    if ((d == below || d == above) && (mag & 1)) return 0; /* a tie goes to the even one */
    return 1;
}

static int test_encode(void)
{
    long n = 0, bad = 0;
    float first_bad = 0;
    for (uint64_t x = 0; x < (1ull << 32); x += 211, n++)
        if (!check_one(bits_float((uint32_t)x)) && !bad++) first_bad = bits_float((uint32_t)x);
    /* exact ties and their neighbours between every pair of adjacent
     * binary16 values (normal and subnormal), and the extremes */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double lo = oracle((uint16_t)h), hi = oracle((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2); /* exact in float: 11-bit mantissas plus one */
        uint32_t mb;
        memcpy(&mb, &mid, sizeof mb);
        for (int dlt = -1; dlt <= 1; dlt++)
            for (int s = 0; s < 2; s++, n++) {
                float f = bits_float((mb + (uint32_t)dlt) | (s ? 0x80000000u : 0));
                if (!check_one(f) && !bad++) first_bad = f;
            }
    }
    const float edge[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN,
                          5.9604645e-8f, 2.9802322e-8f, 2.98023259e-8f, 6.1035156e-5f, 6.1032e-5f, 1e-45f};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++, n++)
        if (!check_one(edge[i]) && !bad++) first_bad = edge[i];
    printf("  %ld floats, %ld not rounded to the nearest binary16\n", n, bad);
    CHECKF(bad == 0, "first: %.9g", (double)first_bad);
    /* a few values by hand */
    CHECK(ferc_half_from_float(1.0f) == 0x3c00 && ferc_half_from_float(-2.0f) == 0xc000);
    CHECK(ferc_half_from_float(65504.0f) == 0x7bff && ferc_half_from_float(65520.0f) == 0x7c00);
    CHECK(ferc_half_from_float(5.9604645e-8f) == 0x0001);  /* 2^-24, the smallest subnormal */
    CHECK(ferc_half_from_float(2.9802322e-8f) == 0x0000);  /* 2^-25: a tie, to even (zero) */
    CHECK(ferc_half_from_float(1.0f + 1.0f / 2048) == 0x3c00); /* tie below an even mantissa */
    CHECK(ferc_half_from_float(1.0f + 3.0f / 2048) == 0x3c02); /* tie above an odd one */
    return 0;
}

int main(void)
{
    RUN(test_decode_all);
    RUN(test_encode);
    return TEST_DONE("test_half");
}
