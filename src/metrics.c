/* metrics.c: confusion matrices and the metrics derived from them (see metrics.h). */
#include "metrics.h"
#include <math.h>
#include <string.h>

int ferc_confusion_init(ferc_confusion *c, int k, ferc_err *e)
{
    memset(c, 0, sizeof *c);
    if (k < 1 || k > FERC_MAX_CLASSES)
        return ferc_errf(e, "confusion: %d classes (1..%d supported)", k, FERC_MAX_CLASSES);
    c->k = k;
    return 0;
}

int ferc_topk_hit(const float *probs, int n_classes, int truth, int k)
{
    int above = 0;
    for (int j = 0; j < n_classes; j++)
        above += probs[j] > probs[truth];
    return above < k;
}

int ferc_confusion_add(ferc_confusion *c, int truth, int pred, const float *probs, ferc_err *e)
{
    if (truth < 0 || truth >= c->k || pred < 0 || pred >= c->k)
        return ferc_errf(e, "confusion: class index out of range (true %d, predicted %d, %d classes)", truth, pred,
                         c->k);
    c->cm[truth][pred]++;
    if (probs) {
        c->n_prob++;
        c->top2 += ferc_topk_hit(probs, c->k, truth, 2);
    }
    return 0;
}

int ferc_confusion_sum(ferc_confusion *dst, const ferc_confusion *src, ferc_err *e)
{
    if (dst->k != src->k)
        return ferc_errf(e, "confusion: cannot add a %d-class matrix to a %d-class one", src->k, dst->k);
    for (int t = 0; t < dst->k; t++)
        for (int p = 0; p < dst->k; p++)
            dst->cm[t][p] += src->cm[t][p];
    dst->top2 += src->top2;
    dst->n_prob += src->n_prob;
    return 0;
}

void ferc_wilson(int64_t x, int64_t n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0.0, *hi = 1.0;
        return;
    }
    double p = (double)x / (double)n, nn = (double)n, z2 = z * z;
    double den = 1.0 + z2 / nn;
    double centre = (p + z2 / (2.0 * nn)) / den;
    double half = z / den * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    *lo = centre - half < 0.0 ? 0.0 : centre - half;
    *hi = centre + half > 1.0 ? 1.0 : centre + half;
}

int ferc_metrics_compute(const ferc_confusion *c, ferc_metrics *m, ferc_err *e)
{
    memset(m, 0, sizeof *m);
    const int K = c->k;
    m->k = K;
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) {
            m->n += c->cm[t][p];
            m->support[t] += c->cm[t][p];
            m->predicted[p] += c->cm[t][p];
        }
    if (m->n == 0) return ferc_errf(e, "metrics: no predictions to score");
    double rsum = 0.0, fsum = 0.0;
    for (int k = 0; k < K; k++) {
        int64_t tp = c->cm[k][k];
        m->correct += tp;
        double p = m->predicted[k] ? (double)tp / (double)m->predicted[k] : 0.0;
        m->precision[k] = p;
        if (m->support[k] == 0) {
            m->recall[k] = m->f1[k] = NAN;
            continue;
        }
        double r = (double)tp / (double)m->support[k];
        m->recall[k] = r;
        m->f1[k] = p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
        m->n_present++;
        rsum += r;
        fsum += m->f1[k];
    }
    m->accuracy = (double)m->correct / (double)m->n;
    ferc_wilson(m->correct, m->n, FERC_Z95, &m->ci_lo, &m->ci_hi);
    m->balanced_accuracy = rsum / m->n_present;
    m->macro_f1 = fsum / m->n_present;
    m->top2 = c->n_prob ? (double)c->top2 / (double)c->n_prob : NAN;
    return 0;
}

void ferc_mean_std(const double *v, int n, double *mean, double *sd)
{
    double s = 0.0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) s += v[i], m++;
    if (m == 0) {
        *mean = *sd = NAN;
        return;
    }
    *mean = s / m;
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = m > 1 ? sqrt(ss / (m - 1)) : 0.0;
}

double ferc_mcnemar_p(int64_t b, int64_t c)
{
    int64_t n = b + c, k = b < c ? b : c;
    if (n == 0) return 1.0;
    /* P(X <= k) = sum_i C(n,i) 2^-n, summed in log space (n may be large) */
    double lg_n1 = lgamma((double)n + 1.0), cdf = 0.0;
    for (int64_t i = 0; i <= k; i++)
        cdf += exp(lg_n1 - lgamma((double)i + 1.0) - lgamma((double)(n - i) + 1.0) - (double)n * M_LN2);
    double p = 2.0 * cdf;
    return p > 1.0 ? 1.0 : p;
}
