/* model.h: glue between a config and the network it describes. */
#ifndef FERC_MODEL_H
#define FERC_MODEL_H
#include "config.h"
#include "net.h"

/* The VGG-style architecture described by c's [model] and [data] keys. */
void ferc_arch_from_config(ferc_arch *a, const ferc_config *c);

/* Index of the largest of z[0..K-1] (the first on ties). */
int ferc_argmax(const float *z, int K);

/* Evaluates net (inference mode) on n normalised images x (n,1,S,S) in
 * batches of up to net->cap; writes probabilities (n, K) when probs != NULL
 * and predictions pred[n] when != NULL. Restores net->training. */
void ferc_predict(ferc_net *net, const float *x, int n, float *probs, int *pred);

#endif
