/* track.c: greedy IoU matching of detections to tracks, exponential smoothing. */
#include <stdlib.h>
#include <string.h>
#include "track.h"

void ferc_tracker_init(ferc_tracker *tr, int K)
{
    memset(tr, 0, sizeof *tr);
    tr->K = K;
    tr->alpha = 0.3f;
    tr->min_iou = 0.3f;
    tr->max_missed = 5;
    tr->next_id = 1;
}

void ferc_tracker_reset(ferc_tracker *tr)
{
    tr->n = 0;
    tr->next_id = 1;
}

void ferc_tracker_free(ferc_tracker *tr)
{
    free(tr->t);
    tr->t = NULL;
    tr->n = tr->cap = 0;
}

int ferc_tracker_update(ferc_tracker *tr, const ferc_haar_box *boxes, const float *probs, int n, int *slot,
                        ferc_err *e)
{
    const int K = tr->K;
    /* drop tracks that stayed unseen too long (they were kept for one more chance last frame) */
    int m = 0;
    for (int i = 0; i < tr->n; i++)
        if (tr->t[i].missed <= tr->max_missed) tr->t[m++] = tr->t[i];
    tr->n = m;
    if (tr->n + n > tr->cap) {
        int cap = (tr->n + n) * 2;
        ferc_track *t = realloc(tr->t, sizeof *t * cap);
        if (!t) return ferc_errf(e, "tracker: out of memory");
        tr->t = t, tr->cap = cap;
    }
    const int nt = tr->n;
    for (int i = 0; i < n; i++) slot[i] = -1;
    /* greedy: repeatedly take the best remaining (detection, track) pair */
    unsigned char tused[256], *tu = nt <= 256 ? tused : calloc(nt, 1);
    if (!tu) return ferc_errf(e, "tracker: out of memory");
    if (tu == tused) memset(tused, 0, sizeof tused);
    for (;;) {
        double best = tr->min_iou;
        int bi = -1, bj = -1;
        for (int i = 0; i < n; i++) {
            if (slot[i] >= 0) continue;
            for (int j = 0; j < nt; j++) {
                if (tu[j]) continue;
                double iou = ferc_haar_iou(boxes[i], tr->t[j].box);
                if (iou >= best && (bi < 0 || iou > best)) best = iou, bi = i, bj = j;
            }
        }
        if (bi < 0) break;
        slot[bi] = bj;
        tu[bj] = 1;
        ferc_track *t = &tr->t[bj];
        t->box = boxes[bi];
        for (int k = 0; k < K; k++) t->prob[k] = tr->alpha * probs[bi * K + k] + (1.0f - tr->alpha) * t->prob[k];
        t->hits++;
        t->missed = 0;
    }
    for (int j = 0; j < nt; j++)
        if (!tu[j]) tr->t[j].missed++;
    if (tu != tused) free(tu);
    for (int i = 0; i < n; i++) {
        if (slot[i] >= 0) continue;
        ferc_track *t = &tr->t[tr->n];
        memset(t, 0, sizeof *t);
        t->id = tr->next_id++;
        t->box = boxes[i];
        memcpy(t->prob, probs + i * K, sizeof(float) * K);
        t->hits = 1;
        slot[i] = tr->n++;
    }
    return 0;
}
