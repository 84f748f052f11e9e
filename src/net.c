/* net.c: builds the VGG-style layer list from a ferc_arch, owns the parameter
 * arenas and batch-sized scratch, and runs forward and backward passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "layers.h"
#include "net.h"

static int add_tensor(ferc_net *net, int cap, const char *layer, const char *what, int ndim,
                      const int *shape, int is_buffer, int no_decay, int li)
{
    if (net->n_tensors >= cap) return -1;
    ferc_tensor *t = &net->tensors[net->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s/%s", layer, what);
    t->ndim = ndim;
    t->n = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->n *= (size_t)shape[i];
    }
    t->is_buffer = is_buffer;
    t->no_decay = no_decay;
    t->layer = li;
    if (is_buffer) {
        t->off = net->n_buffers;
        net->n_buffers += t->n;
    } else {
        t->off = net->n_params;
        net->n_params += t->n;
    }
    return net->n_tensors++;
}

static ferc_layer *add_layer(ferc_net *net, int cap, ferc_layer_type type, const char *name,
                             int c, int h, int w)
{
    if (net->n_layers >= cap) return NULL;
    ferc_layer *l = &net->layers[net->n_layers++];
    memset(l, 0, sizeof *l);
    l->type = type;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->c_in = l->c_out = c;
    l->h_in = l->h_out = h;
    l->w_in = l->w_out = w;
    l->t_w = l->t_b = l->t_rm = l->t_rv = -1;
    return l;
}

int ferc_net_init(ferc_net *net, const ferc_arch *a, ferc_rng *rng, ferc_err *e)
{
    memset(net, 0, sizeof *net);
    net->arch = *a;
    net->bn_momentum = 0.1f;
    net->bn_eps = 1e-5f;
    net->training = 1;
    if (a->n_blocks < 1 || a->n_blocks > 8 || a->n_fc < 0 || a->n_fc > 4 || a->n_classes < 2)
        return ferc_errf(e, "network: bad architecture (blocks %d, fc %d, classes %d)", a->n_blocks,
                         a->n_fc, a->n_classes);
    int n_conv = 0;
    for (int b = 0; b < a->n_blocks; b++) n_conv += a->block_convs[b];
    int lcap = n_conv * 3 + a->n_blocks + a->n_fc * 3 + 1;
    int tcap = n_conv * 6 + (a->n_fc + 1) * 2;
    net->layers = calloc((size_t)lcap, sizeof *net->layers);
    net->tensors = calloc((size_t)tcap, sizeof *net->tensors);
    if (!net->layers || !net->tensors) {
        ferc_net_free(net);
        return ferc_errf(e, "network: out of memory");
    }
    int c = a->in_c, h = a->in_h, w = a->in_w, conv_i = 0;
    char nm[32];
    for (int b = 0; b < a->n_blocks; b++) {
        for (int i = 0; i < a->block_convs[b]; i++) {
            int o = a->block_width[b];
            snprintf(nm, sizeof nm, "conv%d_%d", b + 1, i + 1);
            ferc_layer *l = add_layer(net, lcap, FERC_CONV, nm, c, h, w);
            l->k = 3, l->stride = 1, l->pad = 1;
            l->c_out = o;
            int li = net->n_layers - 1;
            int ks[4] = {o, c, 3, 3};
            l->t_w = add_tensor(net, tcap, nm, "kernel", 4, ks, 0, 0, li);
            l->t_b = add_tensor(net, tcap, nm, "bias", 1, &o, 0, 1, li);
            l->frozen = conv_i < a->freeze;
            snprintf(nm, sizeof nm, "bn%d_%d", b + 1, i + 1);
            l = add_layer(net, lcap, FERC_BN, nm, o, h, w);
            li = net->n_layers - 1;
            l->t_w = add_tensor(net, tcap, nm, "gamma", 1, &o, 0, 1, li);
            l->t_b = add_tensor(net, tcap, nm, "beta", 1, &o, 0, 1, li);
            l->t_rm = add_tensor(net, tcap, nm, "running_mean", 1, &o, 1, 1, li);
            l->t_rv = add_tensor(net, tcap, nm, "running_var", 1, &o, 1, 1, li);
            l->frozen = conv_i < a->freeze;
            snprintf(nm, sizeof nm, "relu%d_%d", b + 1, i + 1);
            l = add_layer(net, lcap, FERC_RELU, nm, o, h, w);
            l->inplace = 1;
            c = o;
            conv_i++;
        }
        if (h < 2 || w < 2) {
            ferc_net_free(net);
            return ferc_errf(e, "network: input %dx%d is too small for %d pooling blocks", a->in_h,
                             a->in_w, a->n_blocks);
        }
        snprintf(nm, sizeof nm, "pool%d", b + 1);
        ferc_layer *l = add_layer(net, lcap, FERC_MAXPOOL, nm, c, h, w);
        h /= 2, w /= 2;
        l->h_out = h, l->w_out = w;
    }
    int in = c * h * w;
    for (int f = 0; f <= a->n_fc; f++) {
        int last = f == a->n_fc;
        int o = last ? a->n_classes : a->fc_width[f];
        snprintf(nm, sizeof nm, "fc%d", f + 1);
        ferc_layer *l = add_layer(net, lcap, FERC_FC, nm, in, 1, 1);
        l->c_out = o;
        int li = net->n_layers - 1;
        int ks[2] = {o, in};
        l->t_w = add_tensor(net, tcap, nm, "kernel", 2, ks, 0, 0, li);
        l->t_b = add_tensor(net, tcap, nm, "bias", 1, &o, 0, 1, li);
        if (!last) {
            snprintf(nm, sizeof nm, "relu_fc%d", f + 1);
            l = add_layer(net, lcap, FERC_RELU, nm, o, 1, 1);
            l->inplace = 1;
            if (a->dropout > 0.0f) {
                snprintf(nm, sizeof nm, "drop%d", f + 1);
                l = add_layer(net, lcap, FERC_DROPOUT, nm, o, 1, 1);
                l->inplace = 1;
                l->p = a->dropout;
            }
        }
        in = o;
    }
    net->params = calloc(net->n_params, sizeof(float));
    net->grads = calloc(net->n_params, sizeof(float));
    net->buffers = calloc(net->n_buffers ? net->n_buffers : 1, sizeof(float));
    if (!net->params || !net->grads || !net->buffers) {
        ferc_net_free(net);
        return ferc_errf(e, "network: out of memory for %zu parameters", net->n_params);
    }
    for (int i = 0; i < net->n_layers; i++) ferc_net_init_layer(net, i, rng);
    ferc_rng_seed(&net->rng, ferc_rng_u64(rng));
    return 0;
}

void ferc_net_init_layer(ferc_net *net, int li, ferc_rng *rng)
{
    ferc_layer *l = &net->layers[li];
    if (l->type == FERC_CONV || l->type == FERC_FC) {
        ferc_tensor *t = &net->tensors[l->t_w];
        size_t fan_in = t->n / (size_t)t->shape[0];
        /* He (Kaiming normal, fan_in, ReLU gain) for layers followed by ReLU;
         * the classifier (last layer) gets gain 1 so initial logits stay O(1). */
        int last = li == net->n_layers - 1;
        float sd = sqrtf((last ? 1.0f : 2.0f) / (float)fan_in);
        for (size_t i = 0; i < t->n; i++) net->params[t->off + i] = sd * ferc_rng_normal(rng);
        t = &net->tensors[l->t_b];
        memset(net->params + t->off, 0, t->n * sizeof(float));
    } else if (l->type == FERC_BN) {
        ferc_tensor *t = &net->tensors[l->t_w];
        for (size_t i = 0; i < t->n; i++) net->params[t->off + i] = 1.0f;
        t = &net->tensors[l->t_b];
        memset(net->params + t->off, 0, t->n * sizeof(float));
        t = &net->tensors[l->t_rm];
        memset(net->buffers + t->off, 0, t->n * sizeof(float));
        t = &net->tensors[l->t_rv];
        for (size_t i = 0; i < t->n; i++) net->buffers[t->off + i] = 1.0f;
    }
}

static void free_batch(ferc_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        ferc_layer *l = &net->layers[i];
        if (!l->inplace) free(l->out);
        free(l->save);
        free(l->idx);
        l->out = l->save = NULL;
        l->idx = NULL;
    }
    free(net->input);
    free(net->gbuf[0]);
    free(net->gbuf[1]);
    free(net->col);
    free(net->tmp);
    net->input = net->gbuf[0] = net->gbuf[1] = net->col = net->tmp = NULL;
    net->cap = 0;
}

void ferc_net_free(ferc_net *net)
{
    if (net->layers) free_batch(net);
    free(net->layers);
    free(net->tensors);
    free(net->params);
    free(net->grads);
    free(net->buffers);
    memset(net, 0, sizeof *net);
}

int ferc_net_reserve(ferc_net *net, int B, ferc_err *e)
{
    if (B <= net->cap && omp_get_max_threads() <= net->threads) return 0;
    free_batch(net);
    size_t in_n = (size_t)B * net->arch.in_c * net->arch.in_h * net->arch.in_w;
    size_t maxact = in_n, col = 1, tmp = 1;
    net->input = malloc(in_n * sizeof(float));
    int ok = net->input != NULL;
    const float *prev = net->input;
    for (int i = 0; i < net->n_layers && ok; i++) {
        ferc_layer *l = &net->layers[i];
        size_t n = (size_t)B * l->c_out * l->h_out * l->w_out;
        if (n > maxact) maxact = n;
        if (l->inplace) {
            l->out = (float *)prev;
        } else {
            l->out = malloc(n * sizeof(float));
            ok &= l->out != NULL;
        }
        if (l->type == FERC_BN) {
            l->save = malloc(2 * (size_t)l->c_out * sizeof(float));
            ok &= l->save != NULL;
        } else if (l->type == FERC_DROPOUT) {
            l->save = malloc(n * sizeof(float));
            ok &= l->save != NULL;
        } else if (l->type == FERC_MAXPOOL) {
            l->idx = malloc(n);
            ok &= l->idx != NULL;
        } else if (l->type == FERC_CONV) {
            ferc_conv_shape s;
            ferc_conv_shape_init(&s, B, l->c_in, l->h_in, l->w_in, l->c_out, l->k, l->stride, l->pad);
            if (ferc_conv_col_size(&s) > col) col = ferc_conv_col_size(&s);
            if (ferc_conv_tmp_size(&s) > tmp) tmp = ferc_conv_tmp_size(&s);
        }
        prev = l->out;
    }
    if (ok) {
        net->gbuf[0] = malloc(maxact * sizeof(float));
        net->gbuf[1] = malloc(maxact * sizeof(float));
        net->col = malloc(col * sizeof(float));
        net->tmp = malloc(tmp * sizeof(float));
        ok = net->gbuf[0] && net->gbuf[1] && net->col && net->tmp;
    }
    if (!ok) {
        free_batch(net);
        return ferc_errf(e, "network: out of memory for batch %d", B);
    }
    net->threads = omp_get_max_threads();
    net->col_cap = col;
    net->tmp_cap = tmp;
    net->cap = B;
    return 0;
}

int ferc_net_find(const ferc_net *net, const char *name)
{
    for (int i = 0; i < net->n_tensors; i++)
        if (strcmp(net->tensors[i].name, name) == 0) return i;
    return -1;
}

size_t ferc_net_count(const ferc_net *net) { return net->n_params; }

double ferc_net_flops(const ferc_net *net)
{
    double f = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        const ferc_layer *l = &net->layers[i];
        if (l->type == FERC_CONV)
            f += 2.0 * l->c_out * l->h_out * l->w_out * l->c_in * l->k * l->k;
        else if (l->type == FERC_FC)
            f += 2.0 * l->c_out * l->c_in;
    }
    return f;
}

#define P(t) (net->params + net->tensors[t].off)
#define G(t) (net->grads + net->tensors[t].off)
#define BUF(t) (net->buffers + net->tensors[t].off)

float *ferc_net_forward(ferc_net *net, int B)
{
    const float *x = net->input;
    for (int i = 0; i < net->n_layers; i++) {
        ferc_layer *l = &net->layers[i];
        size_t n = (size_t)B * l->c_out * l->h_out * l->w_out;
        double t0 = net->prof ? omp_get_wtime() : 0;
        switch (l->type) {
        case FERC_CONV: {
            ferc_conv_shape s;
            ferc_conv_shape_init(&s, B, l->c_in, l->h_in, l->w_in, l->c_out, l->k, l->stride, l->pad);
            if (s.threads > net->threads) s.threads = net->threads;
            ferc_conv_forward(l->out, x, P(l->t_w), P(l->t_b), &s, net->col, net->tmp);
            break;
        }
        case FERC_BN: {
            /* Frozen BN layers use their running statistics and never update them. */
            int train = net->training && !l->frozen;
            ferc_bn_forward(l->out, l->save, l->save + l->c_out, BUF(l->t_rm), BUF(l->t_rv), x, P(l->t_w),
                            P(l->t_b), B, l->c_out, l->h_out * l->w_out, train, net->bn_momentum, net->bn_eps);
            break;
        }
        case FERC_RELU:
            ferc_relu_forward(l->out, x, n);
            break;
        case FERC_MAXPOOL:
            ferc_maxpool_forward(l->out, l->idx, x, B, l->c_in, l->h_in, l->w_in);
            break;
        case FERC_DROPOUT:
            if (net->training) {
                float keep = 1.0f - l->p, scale = 1.0f / keep;
                for (size_t j = 0; j < n; j++) l->save[j] = ferc_rng_uniform(&net->rng) < keep ? scale : 0.0f;
                ferc_dropout_apply(l->out, x, l->save, n);
            }
            break;
        case FERC_FC:
            ferc_fc_forward(l->out, x, P(l->t_w), P(l->t_b), B, l->c_in * l->h_in * l->w_in, l->c_out);
            break;
        }
        x = l->out;
        if (net->prof) net->prof[2 * i] += omp_get_wtime() - t0;
    }
    return (float *)x;
}

/* Index of the first layer that backward must reach: the first layer with
 * trainable parameters. Layers before it need no gradients at all. */
static int first_trainable(const ferc_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        const ferc_layer *l = &net->layers[i];
        if (l->t_w >= 0 && !l->frozen) return i;
    }
    return net->n_layers;
}

void ferc_net_backward(ferc_net *net, const float *dlogits, int B)
{
    int stop = first_trainable(net);
    int L = net->n_layers;
    size_t nlog = (size_t)B * net->layers[L - 1].c_out;
    int cur = 0;
    memcpy(net->gbuf[cur], dlogits, nlog * sizeof(float));
    for (int i = L - 1; i >= stop; i--) {
        ferc_layer *l = &net->layers[i];
        const float *x = i > 0 ? net->layers[i - 1].out : net->input;
        float *dy = net->gbuf[cur];
        float *dx = i > stop ? net->gbuf[cur ^ 1] : NULL;
        size_t n = (size_t)B * l->c_out * l->h_out * l->w_out;
        double t0 = net->prof ? omp_get_wtime() : 0;
        switch (l->type) {
        case FERC_CONV: {
            ferc_conv_shape s;
            ferc_conv_shape_init(&s, B, l->c_in, l->h_in, l->w_in, l->c_out, l->k, l->stride, l->pad);
            if (s.threads > net->threads) s.threads = net->threads;
            ferc_conv_backward(dx, l->frozen ? NULL : G(l->t_w), l->frozen ? NULL : G(l->t_b), dy, x,
                               P(l->t_w), &s, net->col, net->tmp);
            break;
        }
        case FERC_BN: {
            int train = net->training && !l->frozen;
            ferc_bn_backward(dx, l->frozen ? NULL : G(l->t_w), l->frozen ? NULL : G(l->t_b), dy, x, P(l->t_w),
                             l->save, l->save + l->c_out, B, l->c_out, l->h_out * l->w_out, train);
            break;
        }
        case FERC_RELU:
            if (dx) ferc_relu_backward(dy, dy, l->out, n);
            dx = dy; /* in place: stays in the same buffer */
            break;
        case FERC_MAXPOOL:
            if (dx) ferc_maxpool_backward(dx, dy, l->idx, B, l->c_in, l->h_in, l->w_in);
            break;
        case FERC_DROPOUT:
            if (net->training) ferc_dropout_apply(dy, dy, l->save, n);
            dx = dy;
            break;
        case FERC_FC:
            ferc_fc_backward(dx, l->frozen ? NULL : G(l->t_w), l->frozen ? NULL : G(l->t_b), dy, x, P(l->t_w),
                             B, l->c_in * l->h_in * l->w_in, l->c_out);
            break;
        }
        if (dx && dx != dy) cur ^= 1;
        if (net->prof) net->prof[2 * i + 1] += omp_get_wtime() - t0;
    }
}

void ferc_net_zero_grad(ferc_net *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }
