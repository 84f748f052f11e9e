/* fc.c: fully connected layer, out (B,O) = in (B,D) w^T + b, w (O,D).
 * Backward: dw (O,D) += dout^T in; db += colsum(dout); din (B,D) = dout w. */
#include <cblas.h>
#include "layers.h"

void ferc_fc_forward(float *out, const float *in, const float *w, const float *b, int B, int D, int O)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++) out[(size_t)n * O + o] = b ? b[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, O, D, 1.0f, in, D, w, D, 1.0f, out, O);
}

void ferc_fc_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                      const float *w, int B, int D, int O)
{
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, D, B, 1.0f, dout, O, in, D, 1.0f, dw, D);
    if (db)
        for (int n = 0; n < B; n++)
            for (int o = 0; o < O; o++) db[o] += dout[(size_t)n * O + o];
    if (din) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, O, 1.0f, dout, O, w, D, 0.0f, din, D);
}

void ferc_fc_forward_naive(float *out, const float *in, const float *w, const float *b, int B, int D, int O)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++) {
            double acc = b ? b[o] : 0.0;
            for (int i = 0; i < D; i++) acc += (double)in[(size_t)n * D + i] * w[(size_t)o * D + i];
            out[(size_t)n * O + o] = (float)acc;
        }
}
