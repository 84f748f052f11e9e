/* net.h: a sequential network over NCHW float32 tensors.
 *
 * Memory (llm.c style): every learnable tensor lives in one arena `params`,
 * with gradients in `grads` at the same offsets, so optimisers, weight decay
 * and checkpoint I/O are single loops. Non-learnable state (BN running
 * statistics) lives in `buffers`. Activations are allocated once per batch
 * capacity by ferc_net_reserve(), never per call. The network owns all its
 * memory; there are no globals.
 *
 * Tensor names (checkpoint dataset names): conv<b>_<i>/kernel [out,in,kh,kw],
 * conv<b>_<i>/bias [out], bn<b>_<i>/gamma|beta|running_mean|running_var [C],
 * fc<k>/kernel [out,in], fc<k>/bias [out]; the classifier is the last fc<k>. */
#ifndef FERC_NET_H
#define FERC_NET_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "rng.h"

typedef enum {
    FERC_CONV,     /* k x k convolution, stride, pad; kernel + bias */
    FERC_BN,       /* batch norm over (N,H,W) per channel; gamma, beta + running stats */
    FERC_RELU,     /* in place */
    FERC_MAXPOOL,  /* 2x2 stride 2 */
    FERC_DROPOUT,  /* inverted dropout, in place */
    FERC_FC        /* fully connected over the flattened C*H*W input */
} ferc_layer_type;

typedef struct {
    char name[64];      /* e.g. "conv1_1/kernel" */
    int ndim;
    int shape[4];
    size_t off;         /* offset in params (or buffers when is_buffer) */
    size_t n;           /* element count */
    int is_buffer;      /* 1: in buffers (not learnable) */
    int layer;          /* index of the owning layer */
    int no_decay;       /* 1: excluded from weight decay (biases, BN) */
} ferc_tensor;

typedef struct {
    ferc_layer_type type;
    char name[32];                 /* "conv1_1", "bn1_1", "relu1_1", "pool1", "fc1", "drop1" */
    int c_in, h_in, w_in;          /* input shape per image */
    int c_out, h_out, w_out;       /* output shape per image */
    int k, stride, pad;            /* conv */
    float p;                       /* dropout probability */
    int t_w, t_b;                  /* tensor indices: kernel/gamma and bias/beta (-1 if none) */
    int t_rm, t_rv;                /* BN running mean / var tensors */
    int frozen;                    /* no parameter updates, no parameter gradients */
    int inplace;                   /* output aliases input (ReLU, dropout) */
    /* per-batch scratch owned by the net (see ferc_net_reserve) */
    float *out;                    /* output activations (B, c_out, h_out, w_out) */
    float *save;                   /* BN: mean[C], invstd[C]; dropout: mask (B*C*H*W) */
    uint8_t *idx;                  /* maxpool: argmax position 0..3 per output */
} ferc_layer;

typedef struct {
    int in_c, in_h, in_w;
    int n_classes;
    int n_blocks;
    int block_convs[8];
    int block_width[8];
    int n_fc;
    int fc_width[4];
    float dropout;
    int freeze;                    /* leading conv layers frozen */
} ferc_arch;

typedef struct {
    ferc_arch arch;
    int n_layers;
    ferc_layer *layers;
    int n_tensors;
    ferc_tensor *tensors;
    size_t n_params, n_buffers;
    float *params, *grads, *buffers;
    /* batch-sized memory */
    int cap;                       /* batch capacity currently allocated */
    float *input;                  /* (cap, in_c, in_h, in_w): caller fills, then ferc_net_forward */
    float *gbuf[2];                /* ping-pong gradient buffers, max activation size */
    float *logits_grad;            /* alias of the gradient w.r.t. logits */
    float *col;                    /* im2col scratch */
    size_t col_cap;                /* floats in col */
    float *tmp;                    /* GEMM output scratch for batched conv */
    size_t tmp_cap;
    int threads;                   /* OpenMP threads the scratch was sized for (at reserve) */
    int training;                  /* 1: BN uses batch stats and updates running stats; dropout on */
    float bn_momentum;             /* 0.1 as in PyTorch */
    float bn_eps;                  /* 1e-5 */
    ferc_rng rng;                  /* dropout; reseeded per step by the trainer */
    double *prof;                  /* optional (NULL): forward adds each layer's seconds to
                                    * prof[2*i], backward to prof[2*i+1] (2*n_layers doubles) */
} ferc_net;

/* Builds the layer list and tensor table for arch, allocates params/grads/buffers,
 * and He-initialises with rng (BN gamma=1, beta=0, running var=1, biases 0). */
int ferc_net_init(ferc_net *net, const ferc_arch *arch, ferc_rng *rng, ferc_err *e);
void ferc_net_free(ferc_net *net);
/* Ensures activations for batches up to `batch` images; reallocates only on growth. */
int ferc_net_reserve(ferc_net *net, int batch, ferc_err *e);
/* Re-initialises one layer's parameters (used by fine-tuning for unmatched tensors). */
void ferc_net_init_layer(ferc_net *net, int layer, ferc_rng *rng);
/* Tensor index by name, or -1. */
int ferc_net_find(const ferc_net *net, const char *name);
/* Number of learnable scalars. */
size_t ferc_net_count(const ferc_net *net);
/* Training FLOPs (multiply-add = 2) per image for forward; backward is about 2x. */
double ferc_net_flops(const ferc_net *net);

/* Forward over net->input (B images); returns the logits (B, n_classes). */
float *ferc_net_forward(ferc_net *net, int B);
/* Backward from dlogits (B, n_classes), accumulating into net->grads
 * (the caller zeroes grads first, see ferc_net_zero_grad). */
void ferc_net_backward(ferc_net *net, const float *dlogits, int B);
void ferc_net_zero_grad(ferc_net *net);

/* log sum_k exp(z_k / T) of one row of K logits, shifted by its maximum so
 * that no exp overflows: softmax(z / T)_k = exp(z_k / T - lse). The one
 * softmax of loss.c and distill.c. */
double ferc_logsumexp(const float *z, int K, double T);
/* Softmax cross-entropy with optional class weights (NULL = 1) and label smoothing.
 * logits (B,K), labels (B) -> returns mean loss; writes dlogits (B,K) of the mean loss;
 * probs (B,K) may be NULL. Loss = sum_i w_yi * CE_i / sum_i w_yi. */
float ferc_softmax_xent(const float *logits, const int *labels, int B, int K,
                        const float *class_w, float smoothing, float *dlogits, float *probs);
/* Mixup loss (loss.c): lam * xent(y) + (1 - lam) * xent(y2) with the gradient
 * mixed alike into dlogits (B,K); scratch holds B*K floats. */
float ferc_softmax_xent_mix(const float *logits, const int *y, const int *y2, float lam, int B, int K,
                            const float *class_w, float smoothing, float *dlogits, float *scratch);
/* Distillation term (loss.c): T^2 times the mean over the batch of
 * KL(t_i || softmax(z_i / T)), for targets t (B,K), rows that sum to 1 (the
 * teacher's probabilities at temperature T). Writes dlogits (B,K) of it:
 * T (softmax(z_i / T) - t_i) / B. The T^2 keeps the gradient's size roughly
 * independent of T (Hinton et al., "Distilling the knowledge in a neural network"). */
float ferc_distill_kl(const float *logits, const float *target, int B, int K, float T, float *dlogits);

#endif
