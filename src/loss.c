/* loss.c: softmax cross-entropy with class weights and label smoothing.
 * For sample i with target y: q = (1-s) onehot(y) + s/K, p = softmax(z),
 * CE_i = -sum_k q_k log p_k, loss = sum_i w_y CE_i / sum_i w_y,
 * dz_i = w_y (p - q) / sum_i w_y.
 * Mixup: lam * loss(y) + (1 - lam) * loss(y2), gradients mixed the same way;
 * without class weights this is the loss of the soft target lam q(y) + (1 - lam) q(y2).
 * Distillation: T^2 mean_i KL(t_i || softmax(z_i / T)), dz_i = T (softmax(z_i / T) - t_i) / B. */
#include <math.h>
#include "net.h"

double ferc_logsumexp(const float *z, int K, double T)
{
    double mx = z[0] / T, se = 0.0;
    for (int k = 1; k < K; k++) mx = z[k] / T > mx ? z[k] / T : mx;
    for (int k = 0; k < K; k++) se += exp(z[k] / T - mx);
    return mx + log(se);
}

float ferc_softmax_xent(const float *logits, const int *labels, int B, int K,
                        const float *class_w, float smoothing, float *dlogits, float *probs)
{
    double wsum = 0.0, loss = 0.0;
    for (int i = 0; i < B; i++) wsum += class_w ? class_w[labels[i]] : 1.0;
    if (wsum <= 0.0) wsum = 1.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K;
        const double lse = ferc_logsumexp(z, K, 1.0);
        double w = class_w ? class_w[labels[i]] : 1.0;
        double ce = 0.0;
        for (int k = 0; k < K; k++) {
            double q = smoothing / K + (k == labels[i] ? 1.0 - smoothing : 0.0);
            double lp = (double)z[k] - lse;
            ce -= q * lp;
            double p = exp(lp);
            if (probs) probs[(size_t)i * K + k] = (float)p;
            if (dlogits) dlogits[(size_t)i * K + k] = (float)(w * (p - q) / wsum);
        }
        loss += w * ce;
    }
    return (float)(loss / wsum);
}

float ferc_softmax_xent_mix(const float *logits, const int *y, const int *y2, float lam, int B, int K,
                            const float *class_w, float smoothing, float *dlogits, float *scratch)
{
    float l = ferc_softmax_xent(logits, y, B, K, class_w, smoothing, dlogits, NULL);
    float l2 = ferc_softmax_xent(logits, y2, B, K, class_w, smoothing, scratch, NULL);
    for (int i = 0; i < B * K; i++) dlogits[i] = lam * dlogits[i] + (1.0f - lam) * scratch[i];
    return lam * l + (1.0f - lam) * l2;
}

float ferc_distill_kl(const float *logits, const float *target, int B, int K, float T, float *dlogits)
{
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K, *t = target + (size_t)i * K;
        const double lse = ferc_logsumexp(z, K, T);
        double kl = 0.0;
        for (int k = 0; k < K; k++) {
            double lp = z[k] / (double)T - lse;
            if (t[k] > 0.0f) kl += t[k] * (log((double)t[k]) - lp);
            if (dlogits) dlogits[(size_t)i * K + k] = (float)(T * (exp(lp) - t[k]) / B);
        }
        loss += kl;
    }
    return (float)((double)T * T * loss / (B > 0 ? B : 1));
}
