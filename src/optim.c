/* optim.c: optimisers over the flat parameter arena, matching PyTorch:
 *   SGD:   g = grad + wd*p; m = mu*m + g; step = nesterov ? g + mu*m : m; p -= lr*step
 *   Adam:  g = grad + wd*p (L2); AdamW: p -= lr*wd*p (decoupled), g = grad;
 *          m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *          p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * Learning-rate schedules: linear warm-up, then constant, step or cosine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "optim.h"

int ferc_optim_init(ferc_optim *o, ferc_optim_kind kind, size_t n, ferc_err *e)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n = n;
    o->momentum = 0.9f;
    o->beta1 = 0.9f, o->beta2 = 0.999f, o->eps = 1e-8f;
    o->m = calloc(n ? n : 1, sizeof(float));
    if (kind != FERC_SGD) o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || (kind != FERC_SGD && !o->v)) {
        ferc_optim_free(o);
        return ferc_errf(e, "optimiser: out of memory for %zu parameters", n);
    }
    return 0;
}

void ferc_optim_free(ferc_optim *o)
{
    free(o->m);
    free(o->v);
    free(o->avg);
    o->m = o->v = o->avg = NULL;
}

int ferc_optim_avg_init(ferc_optim *o, ferc_err *e)
{
    free(o->avg);
    o->avg_n = 0;
    o->avg = calloc(o->n ? o->n : 1, sizeof(float));
    if (!o->avg) return ferc_errf(e, "optimiser: out of memory for the weight average of %zu parameters", o->n);
    return 0;
}

void ferc_optim_avg_add(ferc_optim *o, const ferc_net *net)
{
    /* in double so that a long run's mean does not drift from the exact one */
    const double inv = 1.0 / (double)(o->avg_n + 1);
    for (size_t i = 0; i < o->n; i++) o->avg[i] += (float)(((double)net->params[i] - o->avg[i]) * inv);
    o->avg_n++;
}

void ferc_optim_avg_apply(const ferc_optim *o, ferc_net *net)
{
    memcpy(net->params, o->avg, o->n * sizeof(float));
}

void ferc_optim_step(ferc_optim *o, ferc_net *net, float lr)
{
    o->t++;
    const float mu = o->momentum, b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    const float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
    for (int ti = 0; ti < net->n_tensors; ti++) {
        const ferc_tensor *t = &net->tensors[ti];
        if (t->is_buffer || net->layers[t->layer].frozen) continue;
        float wd = t->no_decay ? 0.0f : o->weight_decay;
        float *p = net->params + t->off, *g = net->grads + t->off;
        float *m = o->m + t->off, *v = o->v ? o->v + t->off : NULL;
        const long n = (long)t->n;
        if (o->kind == FERC_SGD) {
#pragma omp parallel for schedule(static) if (n > 65536)
            for (long i = 0; i < n; i++) {
                float gi = g[i] + wd * p[i];
                m[i] = mu * m[i] + gi;
                p[i] -= lr * (o->nesterov ? gi + mu * m[i] : m[i]);
            }
        } else {
            int decoupled = o->kind == FERC_ADAMW;
#pragma omp parallel for schedule(static) if (n > 65536)
            for (long i = 0; i < n; i++) {
                float gi = g[i];
                if (decoupled)
                    p[i] -= lr * wd * p[i];
                else
                    gi += wd * p[i];
                m[i] = b1 * m[i] + (1.0f - b1) * gi;
                v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
                p[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
            }
        }
    }
}

float ferc_sched_lr(const ferc_sched *s, float epoch)
{
    float lr = s->base_lr;
    if (s->warmup > 0.0f && epoch < s->warmup) return s->base_lr * (epoch + 1e-3f) / s->warmup;
    switch (s->kind) {
    case FERC_SCHED_CONSTANT:
        break;
    case FERC_SCHED_STEP:
        if (s->step_epochs > 0) lr = s->base_lr * powf(s->gamma, floorf(epoch / (float)s->step_epochs));
        break;
    case FERC_SCHED_COSINE: {
        float span = (float)s->epochs - s->warmup;
        float t = span > 0.0f ? (epoch - s->warmup) / span : 1.0f;
        if (t > 1.0f) t = 1.0f;
        lr = s->min_lr + 0.5f * (s->base_lr - s->min_lr) * (1.0f + cosf(3.14159265358979f * t));
        break;
    }
    }
    return lr;
}
