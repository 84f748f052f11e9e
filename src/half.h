/* half.h: IEEE 754 binary16 ("float16") conversion, for inference exports
 * stored at half the size (ckpt.c). */
#ifndef FERC_HALF_H
#define FERC_HALF_H
#include <stdint.h>

/* Largest finite binary16 value. */
#define FERC_HALF_MAX 65504.0f

/* float -> binary16 bits, rounding to nearest, ties to even (as numpy's
 * float16 and the C _Float16 cast); subnormals kept; values that round past
 * FERC_HALF_MAX give infinity, NaN stays NaN. */
uint16_t ferc_half_from_float(float f);
/* binary16 bits -> float (exact). */
float ferc_half_to_float(uint16_t h);

#endif
