/* metrics.h: classification metrics from a confusion matrix.
 *
 * A ferc_confusion counts predictions: cm[t][p] = images of true class t
 * predicted as p (rows = true class, as in scikit-learn), plus top-2 hits.
 * Confusions of several evaluations (folds, checkpoints) are summed
 * element-wise, and every metric is a function of the (summed) counts.
 *
 * Definitions (K classes, n = sum of cm, tp_k = cm[k][k],
 * support_k = row sum, predicted_k = column sum):
 *   accuracy          = sum_k tp_k / n, with a 95% Wilson score interval
 *   precision_k       = tp_k / predicted_k  (0 when predicted_k = 0, scikit-learn's zero_division=0)
 *   recall_k          = tp_k / support_k    (NaN when support_k = 0: undefined)
 *   f1_k              = 2 p r / (p + r)     (0 when p + r = 0; NaN when support_k = 0)
 *   balanced_accuracy = mean of recall_k over classes with support_k > 0
 *   macro_f1          = mean of f1_k over classes with support_k > 0
 * The two macro averages run over the classes present in the evaluated data,
 * so a class the data does not contain (e.g. contempt in FER2013) neither
 * counts as 0 nor raises the mean; scikit-learn gives the same numbers with
 * balanced_accuracy_score(y, p) and f1_score(y, p, labels=present, average="macro").
 *   top2 = fraction of images whose true class is among the two most probable
 *          (a tie with the second place counts as a hit); NaN without probabilities.
 * Library code: returns -1 with e filled on error, never prints. */
#ifndef FERC_METRICS_H
#define FERC_METRICS_H
#include <stdint.h>
#include "config.h"
#include "err.h"

#define FERC_Z95 1.959963984540054 /* standard normal 97.5% quantile */

typedef struct {
    int k;                                               /* classes, 1..FERC_MAX_CLASSES */
    int64_t cm[FERC_MAX_CLASSES][FERC_MAX_CLASSES];     /* [true][predicted] */
    int64_t top2;                                        /* top-2 hits */
    int64_t n_prob;                                      /* images added with probabilities */
} ferc_confusion;

typedef struct {
    int k;
    int64_t n, correct;
    double accuracy, ci_lo, ci_hi;     /* Wilson 95% interval of accuracy */
    double balanced_accuracy, macro_f1;
    double top2;                       /* NaN when no probabilities were given */
    int n_present;                     /* classes with support > 0 */
    int64_t support[FERC_MAX_CLASSES], predicted[FERC_MAX_CLASSES];
    double precision[FERC_MAX_CLASSES], recall[FERC_MAX_CLASSES], f1[FERC_MAX_CLASSES];
} ferc_metrics;

/* Empties c for k classes; -1 when k is outside 1..FERC_MAX_CLASSES. */
int ferc_confusion_init(ferc_confusion *c, int k, ferc_err *e);
/* Counts one prediction; probs (k values, may be NULL) feeds top-2.
 * -1 when truth or pred is outside 0..k-1. */
int ferc_confusion_add(ferc_confusion *c, int truth, int pred, const float *probs, ferc_err *e);
/* dst += src (counts and top-2); -1 when the class counts differ. */
int ferc_confusion_sum(ferc_confusion *dst, const ferc_confusion *src, ferc_err *e);
/* 1 when fewer than k classes have a probability above probs[truth]. */
int ferc_topk_hit(const float *probs, int n_classes, int truth, int k);

/* All metrics of c; -1 when c holds no predictions. */
int ferc_metrics_compute(const ferc_confusion *c, ferc_metrics *m, ferc_err *e);

/* Wilson score interval for a binomial proportion x/n at normal quantile z:
 *   centre = (p + z^2/2n) / (1 + z^2/n),
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
 * n = 0 gives [0, 1]. */
void ferc_wilson(int64_t x, int64_t n, double z, double *lo, double *hi);
/* Mean and sample standard deviation (n - 1 in the denominator; 0 when n = 1)
 * of v[n], skipping NaNs; NaN when no value is left. */
void ferc_mean_std(const double *v, int n, double *mean, double *sd);
/* Exact two-sided McNemar test of paired predictions: b images right only
 * under method A, c right only under B; p = min(1, 2 * P(X <= min(b,c))),
 * X ~ Binomial(b + c, 1/2). 1 when b + c = 0. */
double ferc_mcnemar_p(int64_t b, int64_t c);

#endif
