/* optim.h: SGD (momentum, Nesterov) and Adam/AdamW over the flat parameter
 * arena, plus learning-rate schedules. State arrays share the params layout. */
#ifndef FERC_OPTIM_H
#define FERC_OPTIM_H
#include <stdint.h>
#include "net.h"

typedef enum { FERC_SGD, FERC_ADAM, FERC_ADAMW } ferc_optim_kind;

typedef struct {
    ferc_optim_kind kind;
    float lr, momentum, weight_decay, beta1, beta2, eps;
    int nesterov;
    int64_t t;          /* steps taken (Adam bias correction) */
    size_t n;
    float *m;           /* momentum / first moment, n floats */
    float *v;           /* second moment (Adam), n floats; NULL for SGD */
    float *avg;         /* running mean of the params at epoch ends (weight averaging,
                           train.swa_epochs), n floats; NULL when off */
    int64_t avg_n;      /* snapshots in avg */
} ferc_optim;

int ferc_optim_init(ferc_optim *o, ferc_optim_kind kind, size_t n, ferc_err *e);
void ferc_optim_free(ferc_optim *o);
/* One update of net->params from net->grads with learning rate lr. Frozen
 * tensors are skipped; tensors with no_decay get no weight decay. */
void ferc_optim_step(ferc_optim *o, ferc_net *net, float lr);

/* Weight averaging (Izmailov et al. 2018, "stochastic weight averaging"):
 * avg_init allocates avg (avg_n = 0); avg_add folds net->params in,
 * avg += (params - avg) / (avg_n + 1); avg_apply copies avg into net->params
 * (the caller then recomputes the batch-norm statistics, which are buffers
 * and not averaged). */
int ferc_optim_avg_init(ferc_optim *o, ferc_err *e);
void ferc_optim_avg_add(ferc_optim *o, const ferc_net *net);
void ferc_optim_avg_apply(const ferc_optim *o, ferc_net *net);

typedef enum { FERC_SCHED_CONSTANT, FERC_SCHED_STEP, FERC_SCHED_COSINE } ferc_sched_kind;
typedef struct {
    ferc_sched_kind kind;
    float base_lr, min_lr;
    float warmup;       /* epochs of linear warm-up from 0 */
    int step_epochs;
    float gamma;
    int epochs;
} ferc_sched;
/* Learning rate at fractional epoch position (epoch + batch/batches). */
float ferc_sched_lr(const ferc_sched *s, float epoch);

#endif
