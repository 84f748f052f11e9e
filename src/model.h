/* model.h: glue between a config and the network it describes. */
#ifndef FERC_MODEL_H
#define FERC_MODEL_H
#include "ckpt.h"
#include "config.h"
#include "net.h"

/* The VGG-style architecture described by c's [model] and [data] keys. */
void ferc_arch_from_config(ferc_arch *a, const ferc_config *c);

/* Builds the network a checkpoint or export describes and loads its weights:
 * cfg gets the stored config (free with ferc_config_free), net the network
 * (ferc_net_free), st (may be NULL) the train state. On error, -1 with e
 * filled and cfg and net left empty (freeing them again is harmless). */
int ferc_model_load(const char *path, ferc_config *cfg, ferc_net *net, ferc_train_state *st, ferc_err *e);

/* Index of the largest of z[0..K-1] (the first on ties). */
int ferc_argmax(const float *z, int K);

/* Evaluates net (inference mode) on n normalised images x (n,1,S,S) in
 * batches of up to net->cap; writes probabilities (n, K) when probs != NULL
 * and predictions pred[n] when != NULL. Restores net->training. */
void ferc_predict(ferc_net *net, const float *x, int n, float *probs, int *pred);

#endif
