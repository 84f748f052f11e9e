/* act.c: element-wise layers: ReLU and inverted dropout (both may run in place). */
#include "layers.h"

void ferc_relu_forward(float *out, const float *in, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void ferc_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void ferc_dropout_apply(float *out, const float *in, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = in[i] * mask[i];
}
