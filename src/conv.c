/* conv.c: 2-D convolution lowered to cblas_sgemm through im2col.
 *
 * Forward, per chunk of nb images:
 *   col (K = C*k*k, N = nb*Ho*Wo) = im2col(in)
 *   tmp (O, N) = w (O, K) @ col                     [one sgemm]
 *   out[b, o, :] = tmp[o, b*HoWo : (b+1)*HoWo] + bias[o]
 * Backward, per chunk:
 *   tmp (O, N) = gather(dout)
 *   dw (O, K) += tmp @ col^T                        [sgemm, col recomputed]
 *   col = w^T @ tmp ; din = col2im(col)             [sgemm + scatter-add]
 * When nb == 1 the GEMM reads and writes the NCHW image directly (no tmp). */
#include <cblas.h>
#include <omp.h>
#include <string.h>
#include "layers.h"

/* GEMM width we aim for: enough columns for OpenBLAS to reach full speed. */
#define FERC_CONV_TARGET_N 2304

void ferc_conv_shape_init(ferc_conv_shape *s, int B, int C, int H, int W, int O, int k, int stride, int pad)
{
    s->B = B, s->C = C, s->H = H, s->W = W;
    s->O = O, s->k = k, s->stride = stride, s->pad = pad;
    s->Ho = (H + 2 * pad - k) / stride + 1;
    s->Wo = (W + 2 * pad - k) / stride + 1;
    s->threads = omp_get_max_threads();
}

int ferc_conv_chunk(const ferc_conv_shape *s)
{
    int hw = s->Ho * s->Wo;
    int nb = (FERC_CONV_TARGET_N + hw - 1) / hw;
    int per_thread = (s->B + s->threads - 1) / s->threads;
    if (nb > per_thread) nb = per_thread;
    if (nb < 1) nb = 1;
    return nb;
}

/* per-thread sizes */
static size_t col_per(const ferc_conv_shape *s)
{
    return (size_t)s->C * s->k * s->k * ferc_conv_chunk(s) * s->Ho * s->Wo;
}
static size_t tmp_per(const ferc_conv_shape *s)
{
    int nb = ferc_conv_chunk(s);
    return nb == 1 ? 0 : (size_t)s->O * nb * s->Ho * s->Wo;
}
static size_t acc_per(const ferc_conv_shape *s) { return (size_t)s->O * s->C * s->k * s->k + s->O; }

size_t ferc_conv_col_size(const ferc_conv_shape *s) { return col_per(s) * s->threads; }

size_t ferc_conv_tmp_size(const ferc_conv_shape *s)
{
    return tmp_per(s) * s->threads + acc_per(s) * (s->threads - 1);
}

void ferc_im2col(float *col, const float *in, int nb, const ferc_conv_shape *s)
{
    const int C = s->C, H = s->H, W = s->W, k = s->k, st = s->stride, pad = s->pad;
    const int Ho = s->Ho, Wo = s->Wo, HW = Ho * Wo;
    const int K = C * k * k;
    const size_t N = (size_t)nb * HW;
    for (int r = 0; r < K; r++) {
        for (int b = 0; b < nb; b++) {
            int c = r / (k * k), ki = (r / k) % k, kj = r % k;
            const float *src = in + ((size_t)b * C + c) * H * W;
            float *dst = col + (size_t)r * N + (size_t)b * HW;
            for (int ho = 0; ho < Ho; ho++) {
                int ih = ho * st - pad + ki;
                float *d = dst + ho * Wo;
                if (ih < 0 || ih >= H) {
                    memset(d, 0, sizeof(float) * Wo);
                    continue;
                }
                const float *srow = src + ih * W;
                if (st == 1) {
                    /* valid wo: 0 <= wo - pad + kj < W */
                    int lo = pad - kj, hi = W + pad - kj;
                    if (lo < 0) lo = 0;
                    if (hi > Wo) hi = Wo;
                    if (hi < lo) hi = lo;
                    for (int wo = 0; wo < lo; wo++) d[wo] = 0.0f;
                    if (hi > lo) memcpy(d + lo, srow + lo - pad + kj, sizeof(float) * (hi - lo));
                    for (int wo = hi; wo < Wo; wo++) d[wo] = 0.0f;
                } else {
                    for (int wo = 0; wo < Wo; wo++) {
                        int iw = wo * st - pad + kj;
                        d[wo] = (iw >= 0 && iw < W) ? srow[iw] : 0.0f;
                    }
                }
            }
        }
    }
}

void ferc_col2im(float *din, const float *col, int nb, const ferc_conv_shape *s)
{
    const int C = s->C, H = s->H, W = s->W, k = s->k, st = s->stride, pad = s->pad;
    const int Ho = s->Ho, Wo = s->Wo, HW = Ho * Wo;
    const size_t N = (size_t)nb * HW;
    for (int b = 0; b < nb; b++) {
        for (int c = 0; c < C; c++) {
            float *dst = din + ((size_t)b * C + c) * H * W;
            memset(dst, 0, sizeof(float) * H * W);
            for (int ki = 0; ki < k; ki++) {
                for (int kj = 0; kj < k; kj++) {
                    int r = (c * k + ki) * k + kj;
                    const float *src = col + (size_t)r * N + (size_t)b * HW;
                    for (int ho = 0; ho < Ho; ho++) {
                        int ih = ho * st - pad + ki;
                        if (ih < 0 || ih >= H) continue;
                        float *drow = dst + ih * W;
                        const float *srow = src + ho * Wo;
                        if (st == 1) {
                            int lo = pad - kj, hi = W + pad - kj;
                            if (lo < 0) lo = 0;
                            if (hi > Wo) hi = Wo;
                            int off = kj - pad;
                            for (int wo = lo; wo < hi; wo++) drow[wo + off] += srow[wo];
                        } else {
                            for (int wo = 0; wo < Wo; wo++) {
                                int iw = wo * st - pad + kj;
                                if (iw >= 0 && iw < W) drow[iw] += srow[wo];
                            }
                        }
                    }
                }
            }
        }
    }
}

/* Batch-parallel: each thread takes whole chunks of images and runs im2col,
 * a single-threaded sgemm (OpenBLAS runs serially inside a parallel region)
 * and the scatter on its own scratch, so threads never wait on each other. */
/* One chunk of nb images starting at b0, on thread-private scratch. */
static void fwd_chunk(float *out, const float *in, const float *w, const float *b, const ferc_conv_shape *s,
                      int b0, int nb, float *mycol, float *mytmp)
{
    const int O = s->O, K = s->C * s->k * s->k, HW = s->Ho * s->Wo, N = nb * HW;
    const size_t in_img = (size_t)s->C * s->H * s->W, out_img = (size_t)O * HW;
    const float *src = in + b0 * in_img;
    /* 1x1 stride-1 unpadded convolution needs no im2col for one image */
    const float *cm = mycol;
    if (nb == 1 && s->k == 1 && s->stride == 1 && s->pad == 0)
        cm = src;
    else
        ferc_im2col(mycol, src, nb, s);
    float *dst = nb == 1 ? out + b0 * out_img : mytmp;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, N, K, 1.0f, w, K, cm, N, 0.0f, dst, N);
    for (int i = 0; i < nb; i++) {
        for (int o = 0; o < O; o++) {
            float *d = out + (b0 + i) * out_img + (size_t)o * HW;
            const float *g = nb == 1 ? d : mytmp + (size_t)o * N + (size_t)i * HW;
            float bias = b ? b[o] : 0.0f;
            for (int j = 0; j < HW; j++) d[j] = g[j] + bias;
        }
    }
}

/* Batch-parallel: each thread takes whole chunks of images and runs im2col,
 * a single-threaded sgemm (OpenBLAS runs serially inside a parallel region)
 * and the scatter on its own scratch, so threads never wait on each other.
 * A single chunk (e.g. batch-1 inference) runs outside any parallel region,
 * so that BLAS uses all threads for it. */
void ferc_conv_forward(float *out, const float *in, const float *w, const float *b,
                       const ferc_conv_shape *s, float *col, float *tmp)
{
    const int chunk = ferc_conv_chunk(s), nchunks = (s->B + chunk - 1) / chunk;
    const size_t cp = col_per(s), tp = tmp_per(s);
    if (nchunks == 1 || s->threads == 1) {
        for (int ci = 0; ci < nchunks; ci++)
            fwd_chunk(out, in, w, b, s, ci * chunk, s->B - ci * chunk < chunk ? s->B - ci * chunk : chunk, col, tmp);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int ci = 0; ci < nchunks; ci++) {
        int t = omp_get_thread_num(), b0 = ci * chunk;
        fwd_chunk(out, in, w, b, s, b0, s->B - b0 < chunk ? s->B - b0 : chunk, col + t * cp, tmp + t * tp);
    }
}

/* Batch-parallel like the forward pass; thread t > 0 accumulates dw/db into a
 * private buffer that is summed into dw/db at the end (in thread order, so
 * the result does not depend on timing). */
void ferc_conv_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, const ferc_conv_shape *s, float *col, float *tmp)
{
    const int O = s->O, K = s->C * s->k * s->k, HW = s->Ho * s->Wo;
    const size_t in_img = (size_t)s->C * s->H * s->W, out_img = (size_t)O * HW;
    const int chunk = ferc_conv_chunk(s), nchunks = (s->B + chunk - 1) / chunk;
    const int nt = s->threads < nchunks ? s->threads : nchunks;
    const size_t cp = col_per(s), tp = tmp_per(s), ap = acc_per(s);
    float *acc = tmp + tp * s->threads; /* (threads-1) private dw|db accumulators */
    const int need_w = dw != NULL;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = omp_get_thread_num();
        float *mycol = col + t * cp, *mytmp = tmp + t * tp;
        float *mydw = t == 0 ? dw : acc + (t - 1) * ap;
        float *mydb = t == 0 ? db : acc + (t - 1) * ap + (size_t)O * K;
        if (t > 0 && need_w) memset(mydw, 0, ap * sizeof(float));
#pragma omp for schedule(static)
        for (int ci = 0; ci < nchunks; ci++) {
            int b0 = ci * chunk, nb = s->B - b0 < chunk ? s->B - b0 : chunk;
            int N = nb * HW;
            const float *g;
            if (nb == 1) {
                g = dout + b0 * out_img;
            } else {
                for (int i = 0; i < nb; i++)
                    for (int o = 0; o < O; o++)
                        memcpy(mytmp + (size_t)o * N + (size_t)i * HW, dout + (b0 + i) * out_img + (size_t)o * HW,
                               sizeof(float) * HW);
                g = mytmp;
            }
            if (need_w) {
                if (db)
                    for (int o = 0; o < O; o++) {
                        const float *go = g + (size_t)o * N;
                        float sum = 0.0f;
                        for (int j = 0; j < N; j++) sum += go[j];
                        mydb[o] += sum;
                    }
                ferc_im2col(mycol, in + b0 * in_img, nb, s);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, N, 1.0f, g, N, mycol, N, 1.0f, mydw, K);
            }
            if (din) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, O, 1.0f, w, K, g, N, 0.0f, mycol, N);
                ferc_col2im(din + b0 * in_img, mycol, nb, s);
            }
        }
    }
    if (need_w && nt > 1) {
        const long n = (long)O * K;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++)
            for (int t = 1; t < nt; t++) dw[i] += acc[(t - 1) * ap + i];
        if (db)
            for (int o = 0; o < O; o++)
                for (int t = 1; t < nt; t++) db[o] += acc[(t - 1) * ap + n + o];
    }
}

void ferc_conv_forward_naive(float *out, const float *in, const float *w, const float *b,
                             const ferc_conv_shape *s)
{
    for (int n = 0; n < s->B; n++)
        for (int o = 0; o < s->O; o++)
            for (int y = 0; y < s->Ho; y++)
                for (int x = 0; x < s->Wo; x++) {
                    double acc = b ? b[o] : 0.0;
                    for (int c = 0; c < s->C; c++)
                        for (int i = 0; i < s->k; i++)
                            for (int j = 0; j < s->k; j++) {
                                int iy = y * s->stride - s->pad + i, ix = x * s->stride - s->pad + j;
                                if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W) continue;
                                acc += (double)in[((size_t)(n * s->C + c) * s->H + iy) * s->W + ix] *
                                       w[((size_t)(o * s->C + c) * s->k + i) * s->k + j];
                            }
                    out[((size_t)(n * s->O + o) * s->Ho + y) * s->Wo + x] = (float)acc;
                }
}

void ferc_conv_backward_naive(float *din, float *dw, float *db, const float *dout, const float *in,
                              const float *w, const ferc_conv_shape *s)
{
    if (din) memset(din, 0, sizeof(float) * s->B * s->C * s->H * s->W);
    for (int n = 0; n < s->B; n++)
        for (int o = 0; o < s->O; o++)
            for (int y = 0; y < s->Ho; y++)
                for (int x = 0; x < s->Wo; x++) {
                    float g = dout[((size_t)(n * s->O + o) * s->Ho + y) * s->Wo + x];
                    if (db) db[o] += g;
                    for (int c = 0; c < s->C; c++)
                        for (int i = 0; i < s->k; i++)
                            for (int j = 0; j < s->k; j++) {
                                int iy = y * s->stride - s->pad + i, ix = x * s->stride - s->pad + j;
                                if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W) continue;
                                size_t ii = ((size_t)(n * s->C + c) * s->H + iy) * s->W + ix;
                                size_t wi = ((size_t)(o * s->C + c) * s->k + i) * s->k + j;
                                if (dw) dw[wi] += g * in[ii];
                                if (din) din[ii] += g * w[wi];
                            }
                }
}
