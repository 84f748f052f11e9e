/* pool.c: 2x2 max-pooling with stride 2 (floor mode, as PyTorch's default).
 * out (B,C,H/2,W/2); idx records which of the 4 window positions won
 * (first maximum on ties), so backward is a scatter. */
#include <string.h>
#include "layers.h"

void ferc_maxpool_forward(float *out, uint8_t *idx, const float *in, int B, int C, int H, int W)
{
    const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < B * C; p++) {
        const float *x = in + (size_t)p * H * W;
        float *y = out + (size_t)p * Ho * Wo;
        uint8_t *id = idx + (size_t)p * Ho * Wo;
        for (int i = 0; i < Ho; i++) {
            const float *r0 = x + (2 * i) * W, *r1 = r0 + W;
            for (int j = 0; j < Wo; j++) {
                float m = r0[2 * j];
                uint8_t a = 0;
                if (r0[2 * j + 1] > m) m = r0[2 * j + 1], a = 1;
                if (r1[2 * j] > m) m = r1[2 * j], a = 2;
                if (r1[2 * j + 1] > m) m = r1[2 * j + 1], a = 3;
                y[i * Wo + j] = m;
                id[i * Wo + j] = a;
            }
        }
    }
}

void ferc_maxpool_backward(float *din, const float *dout, const uint8_t *idx, int B, int C, int H, int W)
{
    const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < B * C; p++) {
        float *dx = din + (size_t)p * H * W;
        const float *dy = dout + (size_t)p * Ho * Wo;
        const uint8_t *id = idx + (size_t)p * Ho * Wo;
        memset(dx, 0, sizeof(float) * H * W);
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                int a = id[i * Wo + j];
                dx[(2 * i + (a >> 1)) * W + 2 * j + (a & 1)] = dy[i * Wo + j];
            }
    }
}

void ferc_maxpool_forward_naive(float *out, const float *in, int B, int C, int H, int W)
{
    const int Ho = H / 2, Wo = W / 2;
    for (int p = 0; p < B * C; p++)
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                float m = -1e30f;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) {
                        float v = in[(size_t)p * H * W + (2 * i + a) * W + 2 * j + b];
                        if (v > m) m = v;
                    }
                out[(size_t)p * Ho * Wo + i * Wo + j] = m;
            }
}
