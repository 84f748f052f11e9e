#include <string.h>
#include "model.h"
#include "rng.h"

void ferc_arch_from_config(ferc_arch *a, const ferc_config *c)
{
    memset(a, 0, sizeof *a);
    a->in_c = 1;
    a->in_h = a->in_w = c->input_size;
    a->n_classes = c->n_classes;
    a->n_blocks = c->n_blocks;
    for (int i = 0; i < c->n_blocks; i++) {
        a->block_convs[i] = c->block_convs[i];
        a->block_width[i] = c->block_width[i];
    }
    a->n_fc = c->n_fc;
    for (int i = 0; i < c->n_fc; i++) a->fc_width[i] = c->fc_width[i];
    a->dropout = c->dropout;
    a->freeze = c->freeze;
}

int ferc_model_load(const char *path, ferc_config *cfg, ferc_net *net, ferc_train_state *st, ferc_err *e)
{
    memset(cfg, 0, sizeof *cfg);
    memset(net, 0, sizeof *net);
    if (ferc_ckpt_read_config(path, cfg, e)) return -1;
    ferc_arch arch;
    ferc_arch_from_config(&arch, cfg);
    /* every tensor is then overwritten by the file: the seed is irrelevant */
    ferc_rng rng;
    ferc_rng_seed(&rng, 1);
    if (ferc_net_init(net, &arch, &rng, e) || ferc_ckpt_load(path, net, NULL, st, e)) {
        ferc_net_free(net);
        ferc_config_free(cfg);
        return -1;
    }
    return 0;
}

int ferc_argmax(const float *z, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

void ferc_predict(ferc_net *net, const float *x, int n, float *probs, int *pred)
{
    int saved = net->training;
    net->training = 0;
    const int K = net->arch.n_classes;
    const size_t img = (size_t)net->arch.in_c * net->arch.in_h * net->arch.in_w;
    for (int b0 = 0; b0 < n; b0 += net->cap) {
        int nb = n - b0 < net->cap ? n - b0 : net->cap;
        memcpy(net->input, x + b0 * img, nb * img * sizeof(float));
        float *lg = ferc_net_forward(net, nb);
        for (int i = 0; i < nb; i++) {
            const float *z = lg + (size_t)i * K;
            int best = ferc_argmax(z, K);
            if (pred) pred[b0 + i] = best;
            if (probs) ferc_softmax_xent(z, &best, 1, K, NULL, 0.0f, NULL, probs + (size_t)(b0 + i) * K);
        }
    }
    net->training = saved;
}
