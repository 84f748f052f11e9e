/* track.h: faces tracked across video frames by box overlap, with their
 * class probabilities smoothed over time so labels do not flicker.
 *
 * Each frame, detections are matched to live tracks greedily by IoU
 * (highest first, IoU >= min_iou); a matched track takes the new box and
 * blends the new probabilities into its smoothed ones,
 *     p <- alpha * p_new + (1 - alpha) * p,
 * an unmatched detection starts a track with a fresh id (1, 2, ...) and
 * p = p_new, and a track unmatched for more than max_missed frames ends.
 * Deterministic; no allocation after the tracks array has grown. */
#ifndef FERC_TRACK_H
#define FERC_TRACK_H
#include "config.h"
#include "err.h"
#include "haar.h"

typedef struct {
    int id;                         /* 1, 2, ... in order of appearance */
    ferc_haar_box box;              /* latest box */
    float prob[FERC_MAX_CLASSES];   /* smoothed probabilities */
    int hits;                       /* frames matched, the first included */
    int missed;                     /* consecutive frames without a match */
} ferc_track;

typedef struct {
    int K;                          /* classes */
    float alpha;                    /* weight of the newest frame, (0, 1]; 1 = no smoothing */
    float min_iou;                  /* 0.3 */
    int max_missed;                 /* frames a track survives unseen (5) */
    int n, cap, next_id;
    ferc_track *t;
} ferc_tracker;

/* alpha 0.3, min_iou 0.3, max_missed 5 unless changed after init. */
void ferc_tracker_init(ferc_tracker *tr, int K);
/* boxes[n], probs[n*K] (each row sums to 1): the frame's detections. Writes
 * slot[i] = index into tr->t of detection i's track (valid until the next
 * update). Tracks not matched this frame have missed > 0 afterwards.
 * Errors: out of memory. */
int ferc_tracker_update(ferc_tracker *tr, const ferc_haar_box *boxes, const float *probs, int n, int *slot,
                        ferc_err *e);
void ferc_tracker_reset(ferc_tracker *tr);
void ferc_tracker_free(ferc_tracker *tr);

#endif
