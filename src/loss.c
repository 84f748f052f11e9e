/* loss.c: softmax cross-entropy with class weights and label smoothing.
 * For sample i with target y: q = (1-s) onehot(y) + s/K, p = softmax(z),
 * CE_i = -sum_k q_k log p_k, loss = sum_i w_y CE_i / sum_i w_y,
 * dz_i = w_y (p - q) / sum_i w_y. */
#include <math.h>
#include "net.h"

float ferc_softmax_xent(const float *logits, const int *labels, int B, int K,
                        const float *class_w, float smoothing, float *dlogits, float *probs)
{
    double wsum = 0.0, loss = 0.0;
    for (int i = 0; i < B; i++) wsum += class_w ? class_w[labels[i]] : 1.0;
    if (wsum <= 0.0) wsum = 1.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K;
        float mx = z[0];
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        double se = 0.0;
        for (int k = 0; k < K; k++) se += exp((double)z[k] - mx);
        double lse = mx + log(se);
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
