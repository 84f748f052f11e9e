/* layers.h: forward/backward kernels over raw float arrays, each paired with
 * a slow obviously-correct _naive reference that tests hold it to.
 * Conventions (llm.c): outputs first, then inputs, then dimensions. Backward
 * ACCUMULATES parameter gradients (dw += ...), and OVERWRITES input gradients
 * (din = ...). All tensors are NCHW. */
#ifndef FERC_LAYERS_H
#define FERC_LAYERS_H
#include <stddef.h>
#include <stdint.h>

/* ---- convolution: im2col + cblas_sgemm, or Winograd F(2x2,3x3) ------------ */
typedef struct {
    int B, C, H, W;       /* input (B,C,H,W) */
    int O, k, stride, pad;/* kernel (O,C,k,k), bias (O) */
    int Ho, Wo;           /* output (B,O,Ho,Wo) */
    int threads;          /* OpenMP threads the scratch is sized for (omp_get_max_threads() at init) */
    int wino;             /* 1: forward and backward-data run Winograd F(2x2,3x3) (3x3, stride 1, pad 1,
                             where it is faster); 0: im2col. FERC_CONV_IM2COL=1 in the environment
                             forces 0, FERC_CONV_WINO=1 forces 1 wherever the shape allows it. */
    int wino_dw;          /* 1: the weight gradient runs Winograd F(2x2,3x3) too (for now the same
                             shapes as wino, where it measured faster; same environment switches);
                             0: im2col */
} ferc_conv_shape;

void ferc_conv_shape_init(ferc_conv_shape *s, int B, int C, int H, int W, int O, int k, int stride, int pad);
/* Images processed per GEMM so that N = nb*Ho*Wo is large enough for BLAS,
 * while leaving at least one chunk per thread. */
int ferc_conv_chunk(const ferc_conv_shape *s);
/* Scratch sizes in floats for col and tmp (per-thread im2col buffers, GEMM
 * outputs and private dw/db accumulators, for s->threads threads). */
size_t ferc_conv_col_size(const ferc_conv_shape *s);
size_t ferc_conv_tmp_size(const ferc_conv_shape *s);

/* out (B,O,Ho,Wo) = conv(in (B,C,H,W), w (O,C,k,k)) + b (O); b may be NULL */
void ferc_conv_forward(float *out, const float *in, const float *w, const float *b,
                       const ferc_conv_shape *s, float *col, float *tmp);
/* din (B,C,H,W) (NULL: not needed), dw (O,C,k,k) += , db (O) += (dw and db both NULL: frozen) */
void ferc_conv_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, const ferc_conv_shape *s, float *col, float *tmp);
void ferc_conv_forward_naive(float *out, const float *in, const float *w, const float *b,
                             const ferc_conv_shape *s);
void ferc_conv_backward_naive(float *din, float *dw, float *db, const float *dout, const float *in,
                              const float *w, const ferc_conv_shape *s);
/* col (C*k*k, nb*Ho*Wo) from images in (nb,C,H,W); and its adjoint (din = col2im(col)) */
void ferc_im2col(float *col, const float *in, int nb, const ferc_conv_shape *s);
void ferc_col2im(float *din, const float *col, int nb, const ferc_conv_shape *s);

/* ---- batch normalisation over (B,H,W) per channel ---------------------- */
/* Training: batch statistics; saves mean[C], invstd[C] for backward and
 * updates running stats (rm, rv; unbiased var) with momentum. Inference
 * (train = 0): uses rm, rv. out may equal in. */
void ferc_bn_forward(float *out, float *save_mean, float *save_invstd, float *rm, float *rv,
                     const float *in, const float *gamma, const float *beta,
                     int B, int C, int HW, int train, float momentum, float eps);
/* din (B,C,HW); dgamma, dbeta (C) +=  (NULL: frozen). in = the forward input.
 * train selects which statistics were used in forward. */
void ferc_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                      const float *gamma, const float *save_mean, const float *save_invstd,
                      int B, int C, int HW, int train);
void ferc_bn_forward_naive(float *out, float *save_mean, float *save_invstd, float *rm, float *rv,
                           const float *in, const float *gamma, const float *beta,
                           int B, int C, int HW, int train, float momentum, float eps);
void ferc_bn_backward_naive(float *din, float *dgamma, float *dbeta, const float *dout,
                            const float *in, const float *gamma, const float *save_mean,
                            const float *save_invstd, int B, int C, int HW, int train);

/* ---- ReLU (in place allowed) ------------------------------------------- */
void ferc_relu_forward(float *out, const float *in, size_t n);
/* din = dout * (out > 0); din may equal dout */
void ferc_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* ---- 2x2 max-pool, stride 2 (floor) ------------------------------------ */
/* out (B,C,H/2,W/2); idx: position 0..3 of the max in each window */
void ferc_maxpool_forward(float *out, uint8_t *idx, const float *in, int B, int C, int H, int W);
void ferc_maxpool_backward(float *din, const float *dout, const uint8_t *idx, int B, int C, int H, int W);
void ferc_maxpool_forward_naive(float *out, const float *in, int B, int C, int H, int W);

/* ---- fully connected ---------------------------------------------------- */
/* out (B,O) = in (B,D) w^T (w: O,I) + b (O) */
void ferc_fc_forward(float *out, const float *in, const float *w, const float *b, int B, int D, int O);
/* din (B,D) (NULL: not needed); dw (O,D) +=; db (O) += (NULL: frozen) */
void ferc_fc_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                      const float *w, int B, int D, int O);
void ferc_fc_forward_naive(float *out, const float *in, const float *w, const float *b, int B, int D, int O);

/* ---- inverted dropout (in place allowed) -------------------------------- */
/* mask[n] receives 0 or 1/(1-p); out = in * mask */
void ferc_dropout_apply(float *out, const float *in, const float *mask, size_t n);

#endif
