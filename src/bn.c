/* bn.c: batch normalisation over (B, H, W) for each channel, NCHW.
 * Forward (train): mu = mean(x), var = mean((x-mu)^2), xh = (x-mu)/sqrt(var+eps),
 *   y = gamma*xh + beta; running: r = (1-m) r + m stat (var unbiased, as PyTorch).
 * Backward (train), with N = B*HW:
 *   dbeta = sum dy, dgamma = sum dy*xh,
 *   dx = gamma*invstd/N * (N dy - dbeta - xh dgamma)
 * Inference uses the running statistics: dx = dy * gamma * invstd. */
#include <math.h>
#include <string.h>
#include "layers.h"

void ferc_bn_forward(float *out, float *save_mean, float *save_invstd, float *rm, float *rv,
                     const float *in, const float *gamma, const float *beta,
                     int B, int C, int HW, int train, float momentum, float eps)
{
    const size_t N = (size_t)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float mean, invstd;
        if (train) {
            double s = 0.0;
            for (int b = 0; b < B; b++) {
                const float *x = in + ((size_t)b * C + c) * HW;
                float t = 0.0f;
                for (int j = 0; j < HW; j++) t += x[j];
                s += t;
            }
            mean = (float)(s / N);
            double v = 0.0;
            for (int b = 0; b < B; b++) {
                const float *x = in + ((size_t)b * C + c) * HW;
                float t = 0.0f;
                for (int j = 0; j < HW; j++) {
                    float d = x[j] - mean;
                    t += d * d;
                }
                v += t;
            }
            float var = (float)(v / N);
            invstd = 1.0f / sqrtf(var + eps);
            if (rm) {
                float unbiased = N > 1 ? (float)(v / (N - 1)) : var;
                rm[c] = (1.0f - momentum) * rm[c] + momentum * mean;
                rv[c] = (1.0f - momentum) * rv[c] + momentum * unbiased;
            }
        } else {
            mean = rm[c];
            invstd = 1.0f / sqrtf(rv[c] + eps);
        }
        if (save_mean) save_mean[c] = mean;
        if (save_invstd) save_invstd[c] = invstd;
        float scale = gamma[c] * invstd, shift = beta[c] - mean * scale;
        for (int b = 0; b < B; b++) {
            const float *x = in + ((size_t)b * C + c) * HW;
            float *y = out + ((size_t)b * C + c) * HW;
            for (int j = 0; j < HW; j++) y[j] = x[j] * scale + shift;
        }
    }
}

void ferc_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                      const float *gamma, const float *save_mean, const float *save_invstd,
                      int B, int C, int HW, int train)
{
    const size_t N = (size_t)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        double sdy = 0.0, sdyxh = 0.0;
        for (int b = 0; b < B; b++) {
            const float *x = in + ((size_t)b * C + c) * HW;
            const float *dy = dout + ((size_t)b * C + c) * HW;
            float t1 = 0.0f, t2 = 0.0f;
            for (int j = 0; j < HW; j++) {
                t1 += dy[j];
                t2 += dy[j] * (x[j] - mean);
            }
            sdy += t1;
            sdyxh += t2;
        }
        sdyxh *= invstd;
        if (dgamma) dgamma[c] += (float)sdyxh;
        if (dbeta) dbeta[c] += (float)sdy;
        if (!din) continue;
        float g = gamma[c] * invstd;
        if (train) {
            float a = (float)(sdy / N), k = (float)(sdyxh / N);
            for (int b = 0; b < B; b++) {
                const float *x = in + ((size_t)b * C + c) * HW;
                const float *dy = dout + ((size_t)b * C + c) * HW;
                float *dx = din + ((size_t)b * C + c) * HW;
                for (int j = 0; j < HW; j++) dx[j] = g * (dy[j] - a - (x[j] - mean) * invstd * k);
            }
        } else {
            for (int b = 0; b < B; b++) {
                const float *dy = dout + ((size_t)b * C + c) * HW;
                float *dx = din + ((size_t)b * C + c) * HW;
                for (int j = 0; j < HW; j++) dx[j] = g * dy[j];
            }
        }
    }
}

void ferc_bn_forward_naive(float *out, float *save_mean, float *save_invstd, float *rm, float *rv,
                           const float *in, const float *gamma, const float *beta,
                           int B, int C, int HW, int train, float momentum, float eps)
{
    const double N = (double)B * HW;
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (train) {
            double s = 0.0, s2 = 0.0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < HW; j++) s += in[((size_t)b * C + c) * HW + j];
            mean = s / N;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < HW; j++) {
                    double d = in[((size_t)b * C + c) * HW + j] - mean;
                    s2 += d * d;
                }
            var = s2 / N;
            if (rm) {
                rm[c] = (float)((1.0 - momentum) * rm[c] + momentum * mean);
                rv[c] = (float)((1.0 - momentum) * rv[c] + momentum * (N > 1 ? s2 / (N - 1) : var));
            }
        } else {
            mean = rm[c];
            var = rv[c];
        }
        double invstd = 1.0 / sqrt(var + eps);
        if (save_mean) save_mean[c] = (float)mean;
        if (save_invstd) save_invstd[c] = (float)invstd;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                size_t i = ((size_t)b * C + c) * HW + j;
                out[i] = (float)(gamma[c] * (in[i] - mean) * invstd + beta[c]);
            }
    }
}

void ferc_bn_backward_naive(float *din, float *dgamma, float *dbeta, const float *dout,
                            const float *in, const float *gamma, const float *save_mean,
                            const float *save_invstd, int B, int C, int HW, int train)
{
    const double N = (double)B * HW;
    for (int c = 0; c < C; c++) {
        double sdy = 0.0, sdyxh = 0.0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                size_t i = ((size_t)b * C + c) * HW + j;
                double xh = (in[i] - save_mean[c]) * save_invstd[c];
                sdy += dout[i];
                sdyxh += dout[i] * xh;
            }
        if (dgamma) dgamma[c] += (float)sdyxh;
        if (dbeta) dbeta[c] += (float)sdy;
        if (!din) continue;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                size_t i = ((size_t)b * C + c) * HW + j;
                double xh = (in[i] - save_mean[c]) * save_invstd[c];
                din[i] = train ? (float)(gamma[c] * save_invstd[c] / N * (N * dout[i] - sdy - xh * sdyxh))
                               : (float)(gamma[c] * save_invstd[c] * dout[i]);
            }
    }
}
