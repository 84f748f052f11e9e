/* conv.c: 2-D convolution lowered to cblas_sgemm through im2col, or for 3x3
 * stride-1 pad-1 layers through Winograd F(2x2,3x3) (forward, backward-data
 * and weight gradient), see "Winograd" below.
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
#include <stdlib.h>
#include <string.h>
#include "layers.h"

/* GEMM width we aim for: enough columns for OpenBLAS to reach full speed. */
#define FERC_CONV_TARGET_N 2304
/* Winograd GEMM width (tiles per chunk) we aim for; 256..576 measured alike,
 * 1152 slower (V and M of a chunk outgrow the cache). */
#define FERC_WINO_TARGET_T 576

static int wino_able(const ferc_conv_shape *s) { return s->k == 3 && s->stride == 1 && s->pad == 1; }

/* Whether Winograd F(2x2,3x3) serves this shape: only 3x3 stride-1 pad-1, and
 * only where it measured faster than im2col (bench_ferc --profile). The
 * environment may force either path (for tests and benchmarks). */
static int wino_pick(const ferc_conv_shape *s)
{
    if (!wino_able(s)) return 0;
    const char *force = getenv("FERC_CONV_IM2COL");
    if (force && strcmp(force, "0") != 0) return 0;
    force = getenv("FERC_CONV_WINO");
    if (force && strcmp(force, "0") != 0) return 1;
    /* Measured (bench_ferc, 2 threads, C = O = 32..512): at batch 64 faster at
     * 48x48 down to 6x6, slower at 3x3, where the overhanging tiles waste 7/16
     * of the work. At batch 1 the filter transform (16*O*C floats, 16 MB at
     * 512 channels) is not paid back below about 36 tiles: slower at 6x6
     * (2.1 -> 3.0 ms at 512 channels), faster from 12x12 up. Widening from
     * fewer than 64 channels (32 -> 64 at 24x24) measured slower in both
     * passes: short K = 32 GEMMs, and the output transform of twice as many
     * channels (fwd 5.9 -> 6.9 ms, bwd 12.5 -> 15.2 ms at batch 64). */
    long tiles = (long)s->B * ((s->H + 1) / 2) * ((s->W + 1) / 2);
    if (s->C < 64 && s->O > s->C) return 0;
    return s->C >= 8 && s->O >= 8 && s->H * s->W >= 36 && tiles >= 36;
}

void ferc_conv_shape_init(ferc_conv_shape *s, int B, int C, int H, int W, int O, int k, int stride, int pad)
{
    s->B = B, s->C = C, s->H = H, s->W = W;
    s->O = O, s->k = k, s->stride = stride, s->pad = pad;
    s->Ho = (H + 2 * pad - k) / stride + 1;
    s->Wo = (W + 2 * pad - k) / stride + 1;
    s->threads = omp_get_max_threads();
    s->wino = wino_pick(s);
    s->wino_dw = s->wino; /* the same rule and switches; not yet measured apart */
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

static size_t wino_vper(const ferc_conv_shape *s);
static size_t wino_rper(const ferc_conv_shape *s);

/* Per-thread scratch. col: the im2col buffer, or Winograd V and a row buffer;
 * tmp: the gathered dout / GEMM output, or Winograd M. Shared, at the end of
 * tmp: (threads-1) dw|db accumulators, then U (16*O*C), then threads
 * Winograd dw accumulators dU (16*O*C each). The Winograd parts
 * are counted for every 3x3 stride-1 pad-1 shape, whichever path s->wino
 * names, so that scratch sized under one setting of FERC_CONV_* serves the
 * other. */
static size_t col_per(const ferc_conv_shape *s)
{
    size_t n = (size_t)s->C * s->k * s->k * ferc_conv_chunk(s) * s->Ho * s->Wo;
    if (wino_able(s) && wino_vper(s) + wino_rper(s) > n) n = wino_vper(s) + wino_rper(s);
    return n;
}
static size_t tmp_per(const ferc_conv_shape *s)
{
    int nb = ferc_conv_chunk(s);
    size_t n = nb == 1 ? 0 : (size_t)s->O * nb * s->Ho * s->Wo;
    if (wino_able(s) && wino_vper(s) > n) n = wino_vper(s);
    return n;
}
static size_t acc_per(const ferc_conv_shape *s) { return (size_t)s->O * s->C * s->k * s->k + s->O; }
static size_t u_size(const ferc_conv_shape *s) { return wino_able(s) ? (size_t)16 * s->O * s->C : 0; }
/* U in the shared end of tmp, after the per-thread parts and the accumulators */
static float *wino_u(const ferc_conv_shape *s, float *tmp)
{
    return tmp + tmp_per(s) * s->threads + acc_per(s) * (s->threads - 1);
}
/* Layout of the shared end of tmp: accumulators, U, then one Winograd dw
 * accumulator dU (16*O*C) per thread. */

size_t ferc_conv_col_size(const ferc_conv_shape *s) { return col_per(s) * s->threads; }

size_t ferc_conv_tmp_size(const ferc_conv_shape *s)
{
    return tmp_per(s) * s->threads + acc_per(s) * (s->threads - 1) + u_size(s) * (1 + s->threads);
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

/* ---- Winograd F(2x2,3x3) for 3x3 stride-1 pad-1 convolutions -------------
 * Each 2x2 output tile comes from a 4x4 input tile d (rows 2ty-1..2ty+2, zero
 * outside the image) and each 3x3 filter g (Lavin & Gray 2015):
 *   U = G g G^T (4x4)   V = B^T d B (4x4)   Y = A^T (U .* V) A (2x2)
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Summed over input channels, the 16 element-wise products become 16 GEMMs:
 *   M_e (Co, T) = U_e (Co, Ci) @ V_e (Ci, T),  e = 0..15,  T = tiles of a chunk
 * with U (16, Co, Ci), V (Ci, 16, T), M (Co, 16, T): each channel's 16 planes
 * lie together, so the transforms touch one small block at a time, and the
 * GEMMs read and write them with leading dimension 16*T. Odd sizes: the last tile
 * row/column overhangs; its inputs are zero and its extra outputs dropped.
 * The backward-data pass is the same convolution of dout with the filters
 * rotated by 180 degrees and in/out channels swapped (U built flipped). */

/* Tiles per image for an H x W map. */
static int wino_tiles(const ferc_conv_shape *s) { return ((s->H + 1) / 2) * ((s->W + 1) / 2); }

/* Images per Winograd chunk: T = nb * tiles near FERC_WINO_TARGET_T (or below),
 * at least one chunk per thread. */
static int wino_chunk(const ferc_conv_shape *s)
{
    int p = wino_tiles(s);
    /* chunks: a multiple of the thread count, so that threads get equal shares */
    long want = ((long)s->B * p + FERC_WINO_TARGET_T - 1) / FERC_WINO_TARGET_T;
    long nch = (want + s->threads - 1) / s->threads * s->threads;
    if (nch > s->B) nch = s->B;
    int nb = (int)((s->B + nch - 1) / nch);
    return nb < 1 ? 1 : nb;
}

/* per-thread V (or M) floats, for both directions (Ci, Co = C, O or O, C)
 * and both chunkings (forward: wino_chunk; backward: ferc_conv_chunk, shared
 * with the dw pass) */
static size_t wino_vper(const ferc_conv_shape *s)
{
    int ch = s->C > s->O ? s->C : s->O;
    int nb = wino_chunk(s) > ferc_conv_chunk(s) ? wino_chunk(s) : ferc_conv_chunk(s);
    return (size_t)16 * ch * nb * wino_tiles(s);
}
/* per-thread row buffer: 4 padded input rows (or 2 output rows) */
static size_t wino_rper(const ferc_conv_shape *s) { return (size_t)4 * (2 * ((s->W + 1) / 2) + 2); }

/* U (16, Co, Ci) from w (O, C, 3, 3). flip = 0: Co = O, Ci = C (forward);
 * flip = 1: Co = C, Ci = O and g = w rotated by 180 degrees (backward-data). */
static void wino_weights(float *U, const float *w, int O, int C, int flip, int threads)
{
    enum { QB = 64 };
    const int rows = flip ? C : O, cols = flip ? O : C;
    const size_t es = (size_t)O * C;
    /* A block of QB filters of one row of U at a time into u, then 16 contiguous
     * copies: storing straight into the 16 U_e (es apart, often a power of two)
     * thrashes the cache sets. */
#pragma omp parallel for schedule(static) num_threads(threads) if (es >= 4096)
    for (int r = 0; r < rows; r++) {
        float u[16][QB];
        for (int q0 = 0; q0 < cols; q0 += QB) {
            int nq = cols - q0 < QB ? cols - q0 : QB;
            for (int q = 0; q < nq; q++) {
                const float *src = flip ? w + ((size_t)(q0 + q) * C + r) * 9 : w + ((size_t)r * C + q0 + q) * 9;
                float g[9], t[4][3];
                for (int i = 0; i < 9; i++) g[i] = flip ? src[8 - i] : src[i];
                for (int j = 0; j < 3; j++) { /* t = G g */
                    t[0][j] = g[j];
                    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                    t[3][j] = g[6 + j];
                }
                for (int i = 0; i < 4; i++) { /* U = t G^T */
                    u[4 * i][q] = t[i][0];
                    u[4 * i + 1][q] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                    u[4 * i + 2][q] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                    u[4 * i + 3][q] = t[i][2];
                }
            }
            for (int e = 0; e < 16; e++) memcpy(U + e * es + (size_t)r * cols + q0, u[e], sizeof(float) * nq);
        }
    }
}

/* V[c, e, t0 + ty*tw + tx] for one H x W input plane; es = stride between the
 * 16 e (T); row: 4*(2*tw+2) floats of scratch. */
static void wino_in_plane(float *v, size_t es, const float *src, int H, int W, float *row)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2, wp = 2 * tw + 2;
    float *r0 = row, *r1 = row + wp, *r2 = row + 2 * wp, *r3 = row + 3 * wp;
    float *r[4] = {r0, r1, r2, r3};
    for (int ty = 0; ty < th; ty++) {
        /* padded rows: r[k][p] = in[2ty-1+k][p-1], zero outside */
        for (int k = 0; k < 4; k++) {
            int y = 2 * ty - 1 + k;
            if (y < 0 || y >= H) {
                memset(r[k], 0, sizeof(float) * wp);
                continue;
            }
            r[k][0] = 0.0f;
            memcpy(r[k] + 1, src + (size_t)y * W, sizeof(float) * W);
            for (int p = W + 1; p < wp; p++) r[k][p] = 0.0f;
        }
        /* rows of B^T d, in place */
        for (int p = 0; p < wp; p++) {
            float a = r0[p], b = r1[p], c = r2[p], d = r3[p];
            r0[p] = a - c, r1[p] = b + c, r2[p] = c - b, r3[p] = b - d;
        }
        /* columns: (B^T d) B */
        float *dst = v + (size_t)ty * tw;
        for (int k = 0; k < 4; k++) {
            const float *q = r[k];
            float *d0 = dst + (4 * k) * es, *d1 = d0 + es, *d2 = d1 + es, *d3 = d2 + es;
            for (int tx = 0; tx < tw; tx++) {
                float a = q[2 * tx], b = q[2 * tx + 1], c = q[2 * tx + 2], d = q[2 * tx + 3];
                d0[tx] = a - c, d1[tx] = b + c, d2[tx] = c - b, d3[tx] = b - d;
            }
        }
    }
}

/* out plane (H, W) = A^T M A + bias from M[o, e, t0 + tile]; es = T; row:
 * 4*(2*tw+2) floats of scratch (two output rows, overhang included). */
static void wino_out_plane(float *out, const float *m, size_t es, int H, int W, float bias, float *row)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2;
    float *r0 = row, *r1 = row + 2 * tw;
    for (int ty = 0; ty < th; ty++) {
        const float *q = m + (size_t)ty * tw;
        for (int tx = 0; tx < tw; tx++) {
            float s0[4], s1[4];
            for (int j = 0; j < 4; j++) { /* A^T M */
                float a = q[j * es + tx], b = q[(4 + j) * es + tx], c = q[(8 + j) * es + tx],
                      d = q[(12 + j) * es + tx];
                s0[j] = a + b + c, s1[j] = b - c - d;
            }
            r0[2 * tx] = s0[0] + s0[1] + s0[2], r0[2 * tx + 1] = s0[1] - s0[2] - s0[3];
            r1[2 * tx] = s1[0] + s1[1] + s1[2], r1[2 * tx + 1] = s1[1] - s1[2] - s1[3];
        }
        float *y0 = out + (size_t)(2 * ty) * W;
        for (int x = 0; x < W; x++) y0[x] = r0[x] + bias;
        if (2 * ty + 1 < H)
            for (int x = 0; x < W; x++) y0[W + x] = r1[x] + bias;
    }
}

/* Dimensions of one Winograd convolution: in (B, Ci, H, W) -> out (B, Co, H, W). */
typedef struct {
    int B, Ci, Co, H, W, P, nb, threads;
    size_t cp, tp, vper; /* per-thread strides of col (V, then row) and tmp (M); row at V + vper */
} wino_dims;

static wino_dims wino_dims_for(const ferc_conv_shape *s, int flip)
{
    wino_dims d = {.B = s->B, .Ci = flip ? s->O : s->C, .Co = flip ? s->C : s->O, .H = s->H, .W = s->W,
                   .P = wino_tiles(s), .nb = wino_chunk(s), .threads = s->threads,
                   .cp = col_per(s), .tp = tmp_per(s), .vper = wino_vper(s)};
    return d;
}

/* One chunk of nb images from b0 on one thread's scratch (v, m, row). */
static void wino_chunk_run(float *out, const float *in, const float *U, const float *bias, const wino_dims *d,
                           int b0, int nb, float *v, float *m, float *row)
{
    const int T = nb * d->P, HW = d->H * d->W;
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < d->Ci; c++)
            wino_in_plane(v + (size_t)c * 16 * T + (size_t)i * d->P, T, in + ((size_t)(b0 + i) * d->Ci + c) * HW,
                          d->H, d->W, row);
    for (int e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Co, T, d->Ci, 1.0f, U + (size_t)e * d->Co * d->Ci,
                    d->Ci, v + (size_t)e * T, 16 * T, 0.0f, m + (size_t)e * T, 16 * T);
    for (int i = 0; i < nb; i++)
        for (int o = 0; o < d->Co; o++)
            wino_out_plane(out + ((size_t)(b0 + i) * d->Co + o) * HW, m + (size_t)o * 16 * T + (size_t)i * d->P, T,
                           d->H, d->W, bias ? bias[o] : 0.0f, row);
}

/* out = wino conv of in with U; col, tmp: per-thread scratch (see col_per).
 * Several chunks: each thread takes whole chunks. One chunk (e.g. batch-1
 * inference): the threads share it, split by plane and by e. Every output
 * element is computed by one fixed sequence of operations, so the result does
 * not depend on thread timing. */
static void wino_run(float *out, const float *in, const float *U, const float *bias, const wino_dims *d, float *col,
                     float *tmp)
{
    const int chunk = d->nb, nchunks = (d->B + chunk - 1) / chunk;
    if (d->threads == 1) {
        for (int ci = 0; ci < nchunks; ci++) {
            int b0 = ci * chunk;
            wino_chunk_run(out, in, U, bias, d, b0, d->B - b0 < chunk ? d->B - b0 : chunk, col, tmp, col + d->vper);
        }
        return;
    }
    if (nchunks > 1) {
#pragma omp parallel for schedule(static) num_threads(d->threads)
        for (int ci = 0; ci < nchunks; ci++) {
            int t = omp_get_thread_num(), b0 = ci * chunk;
            float *v = col + t * d->cp;
            wino_chunk_run(out, in, U, bias, d, b0, d->B - b0 < chunk ? d->B - b0 : chunk, v, tmp + t * d->tp,
                           v + d->vper);
        }
        return;
    }
    const int nb = d->B, T = nb * d->P, HW = d->H * d->W;
    float *v = col, *m = tmp;
#pragma omp parallel num_threads(d->threads)
    {
        float *row = col + omp_get_thread_num() * d->cp + d->vper;
#pragma omp for schedule(static)
        for (int ic = 0; ic < nb * d->Ci; ic++) {
            int i = ic / d->Ci, c = ic % d->Ci;
            wino_in_plane(v + (size_t)c * 16 * T + (size_t)i * d->P, T, in + (size_t)ic * HW, d->H, d->W, row);
        }
#pragma omp for schedule(static)
        for (int e = 0; e < 16; e++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Co, T, d->Ci, 1.0f,
                        U + (size_t)e * d->Co * d->Ci, d->Ci, v + (size_t)e * T, 16 * T, 0.0f, m + (size_t)e * T,
                        16 * T);
#pragma omp for schedule(static)
        for (int io = 0; io < nb * d->Co; io++) {
            int i = io / d->Co, o = io % d->Co;
            wino_out_plane(out + (size_t)io * HW, m + (size_t)o * 16 * T + (size_t)i * d->P, T, d->H, d->W,
                           bias ? bias[o] : 0.0f, row);
        }
    }
}

/* ---- Winograd weight gradient ----------------------------------------------
 * With M = U .* V and Y = A^T M A per tile, dL/dM = A dY A^T =: Z, so
 * dL/dU = sum over tiles of Z .* V and dL/dg = G^T (dL/dU) G. Per input and
 * output channel pair, summed over the tiles of a chunk, that is 16 GEMMs
 *   dU_e (O, C) += Z_e (O, T) @ V_e^T (T, C)
 * with V as in the forward pass (C, 16, T) and Z (O, 16, T). Outputs of the
 * overhanging tiles do not exist, so their dY is zero. */

/* Z[o, e, t0 + ty*tw + tx] = A dY A^T for one H x W dout plane; es = T;
 * row: 2*(2*tw) floats of scratch. A = [1 0; 1 1; 1 -1; 0 -1]. */
static void wino_dout_plane(float *z, size_t es, const float *src, int H, int W, float *row)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2, wp = 2 * tw;
    float *r0 = row, *r1 = row + wp;
    for (int ty = 0; ty < th; ty++) {
        memcpy(r0, src + (size_t)(2 * ty) * W, sizeof(float) * W);
        if (2 * ty + 1 < H)
            memcpy(r1, src + (size_t)(2 * ty + 1) * W, sizeof(float) * W);
        else
            memset(r1, 0, sizeof(float) * W);
        for (int p = W; p < wp; p++) r0[p] = r1[p] = 0.0f;
        float *dst = z + (size_t)ty * tw;
        for (int tx = 0; tx < tw; tx++) {
            float y00 = r0[2 * tx], y01 = r0[2 * tx + 1], y10 = r1[2 * tx], y11 = r1[2 * tx + 1];
            /* t = A dY (4x2) */
            float t[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};
            for (int i = 0; i < 4; i++) { /* Z = t A^T */
                dst[(4 * i) * es + tx] = t[i][0];
                dst[(4 * i + 1) * es + tx] = t[i][0] + t[i][1];
                dst[(4 * i + 2) * es + tx] = t[i][0] - t[i][1];
                dst[(4 * i + 3) * es + tx] = -t[i][1];
            }
        }
    }
}

/* One chunk's contribution to dU (16, O, C); v, z: scratch (see col_per). */
static void wino_dw_chunk(float *dU, const float *dout, const float *in, const ferc_conv_shape *s, int b0, int nb,
                          float *v, float *z, float *row)
{
    const int P = wino_tiles(s), T = nb * P, HW = s->H * s->W, O = s->O, C = s->C;
    for (int i = 0; i < nb; i++) {
        for (int c = 0; c < C; c++)
            wino_in_plane(v + (size_t)c * 16 * T + (size_t)i * P, T, in + ((size_t)(b0 + i) * C + c) * HW, s->H,
                          s->W, row);
        for (int o = 0; o < O; o++)
            wino_dout_plane(z + (size_t)o * 16 * T + (size_t)i * P, T, dout + ((size_t)(b0 + i) * O + o) * HW,
                            s->H, s->W, row);
    }
    for (int e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, C, T, 1.0f, z + (size_t)e * T, 16 * T,
                    v + (size_t)e * T, 16 * T, 1.0f, dU + (size_t)e * O * C, C);
}

/* dw (O, C, 3, 3) += G^T dU G, dU = the sum of nt per-thread accumulators
 * (16, O, C), es = O*C apart, in thread order. */
static void wino_dw_finish(float *dw, const float *dU, int nt, size_t es, int threads)
{
#pragma omp parallel for schedule(static) num_threads(threads) if (es >= 4096)
    for (long q = 0; q < (long)es; q++) {
        float u[16], sg[3][4];
        for (int e = 0; e < 16; e++) {
            const float *p = dU + (size_t)e * es + q;
            float a = p[0];
            for (int t = 1; t < nt; t++) a += p[(size_t)t * 16 * es];
            u[e] = a;
        }
        for (int j = 0; j < 4; j++) { /* sg = G^T u (3x4) */
            float u0 = u[j], u1 = u[4 + j], u2 = u[8 + j], u3 = u[12 + j];
            sg[0][j] = u0 + 0.5f * (u1 + u2);
            sg[1][j] = 0.5f * (u1 - u2);
            sg[2][j] = 0.5f * (u1 + u2) + u3;
        }
        float *g = dw + (size_t)q * 9;
        for (int a = 0; a < 3; a++) { /* g += sg G */
            g[3 * a] += sg[a][0] + 0.5f * (sg[a][1] + sg[a][2]);
            g[3 * a + 1] += 0.5f * (sg[a][1] - sg[a][2]);
            g[3 * a + 2] += 0.5f * (sg[a][1] + sg[a][2]) + sg[a][3];
        }
    }
}

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
    if (s->wino) {
        float *U = wino_u(s, tmp);
        wino_dims d = wino_dims_for(s, 0);
        wino_weights(U, w, s->O, s->C, 0, s->threads);
        wino_run(out, in, U, b, &d, col, tmp);
        return;
    }
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
    const int need_w = dw != NULL, wino = din && s->wino, wdw = need_w && s->wino_dw;
    if (!need_w && !din) return;
    /* Winograd din: U of the rotated, transposed filters; each chunk right
     * after its dw, while its dout is in cache */
    float *U = wino_u(s, tmp);
    float *dU = U + u_size(s); /* Winograd dw: one (16, O, C) accumulator per thread */
    const size_t es = (size_t)O * s->C;
    wino_dims wd = wino_dims_for(s, 1);
    if (wino) wino_weights(U, w, O, s->C, 1, s->threads);
    if (wino && !need_w) {
        wino_run(din, dout, U, NULL, &wd, col, tmp);
        return;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = omp_get_thread_num();
        float *mycol = col + t * cp, *mytmp = tmp + t * tp;
        float *mydw = t == 0 ? dw : acc + (t - 1) * ap;
        float *mydb = t == 0 ? db : acc + (t - 1) * ap + (size_t)O * K;
        float *mydU = dU + (size_t)t * 16 * es;
        if (t > 0 && need_w) memset(mydw, 0, ap * sizeof(float));
        if (wdw) memset(mydU, 0, 16 * es * sizeof(float));
#pragma omp for schedule(static)
        for (int ci = 0; ci < nchunks; ci++) {
            int b0 = ci * chunk, nb = s->B - b0 < chunk ? s->B - b0 : chunk;
            int N = nb * HW;
            if (need_w && db) /* read from dout, image by image: both dw paths share it */
                for (int o = 0; o < O; o++) {
                    float sum = 0.0f;
                    for (int i = 0; i < nb; i++) {
                        const float *go = dout + (b0 + i) * out_img + (size_t)o * HW;
                        for (int j = 0; j < HW; j++) sum += go[j];
                    }
                    mydb[o] += sum;
                }
            if (wdw) wino_dw_chunk(mydU, dout, in, s, b0, nb, mycol, mytmp, mycol + wd.vper);
            const float *g = NULL;
            if ((need_w && !wdw) || (din && !wino)) {
                if (nb == 1) {
                    g = dout + b0 * out_img;
                } else {
                    for (int i = 0; i < nb; i++)
                        for (int o = 0; o < O; o++)
                            memcpy(mytmp + (size_t)o * N + (size_t)i * HW,
                                   dout + (b0 + i) * out_img + (size_t)o * HW, sizeof(float) * HW);
                    g = mytmp;
                }
            }
            if (need_w && !wdw) {
                ferc_im2col(mycol, in + b0 * in_img, nb, s);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, N, 1.0f, g, N, mycol, N, 1.0f, mydw, K);
            }
            if (wino) {
                wino_chunk_run(din, dout, U, NULL, &wd, b0, nb, mycol, mytmp, mycol + wd.vper);
            } else if (din) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, O, 1.0f, w, K, g, N, 0.0f, mycol, N);
                ferc_col2im(din + b0 * in_img, mycol, nb, s);
            }
        }
    }
    if (wdw) wino_dw_finish(dw, dU, nt, es, s->threads);
    if (need_w && nt > 1) {
        const long n = (long)O * K;
        if (!wdw) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < n; i++)
                for (int t = 1; t < nt; t++) dw[i] += acc[(t - 1) * ap + i];
        }
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
