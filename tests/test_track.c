/* test_track.c: the face tracker against a hand-computed reference: stable
 * ids for moving faces, exponential smoothing, expiry after max_missed,
 * fresh ids for new faces, greedy matching by highest IoU. */
#include <string.h>
#include "test.h"
#include "track.h"

static ferc_haar_box B(int x, int y, int s)
{
    ferc_haar_box b = {x, y, s, s, 0};
    return b;
}

static int test_ids_and_smoothing(void)
{
    ferc_tracker tr;
    ferc_err e;
    ferc_tracker_init(&tr, 2);
    tr.alpha = 0.5f;
    int slot[4];
    float p1[4] = {1, 0, 0, 1}; /* face A: class 0, face B: class 1 */
    ferc_haar_box b1[2] = {B(10, 10, 100), B(300, 10, 100)};
    CHECK(ferc_tracker_update(&tr, b1, p1, 2, slot, &e) == 0);
    CHECK(tr.t[slot[0]].id == 1 && tr.t[slot[1]].id == 2);
    /* both move a little, listed in the other order; A's probabilities flip */
    float p2[4] = {0, 1, 0, 1};
    ferc_haar_box b2[2] = {B(305, 12, 100), B(14, 12, 100)};
    float p2b[4] = {p2[2], p2[3], p2[0], p2[1]};
    CHECK(ferc_tracker_update(&tr, b2, p2b, 2, slot, &e) == 0);
    CHECK(tr.t[slot[0]].id == 2 && tr.t[slot[1]].id == 1);
    /* A: 0.5*[0,1] + 0.5*[1,0] = [0.5, 0.5]; B stays [0,1] */
    CHECK_CLOSE(tr.t[slot[1]].prob[0], 0.5, 1e-6, 0);
    CHECK_CLOSE(tr.t[slot[1]].prob[1], 0.5, 1e-6, 0);
    CHECK_CLOSE(tr.t[slot[0]].prob[1], 1.0, 1e-6, 0);
    CHECK(tr.t[slot[1]].box.x == 14 && tr.t[slot[1]].hits == 2);
    /* A again with [0,1]: 0.5*[0,1] + 0.5*[0.5,0.5] = [0.25, 0.75] */
    ferc_haar_box b3[1] = {B(16, 12, 100)};
    CHECK(ferc_tracker_update(&tr, b3, p2, 1, slot, &e) == 0);
    CHECK(tr.t[slot[0]].id == 1);
    CHECK_CLOSE(tr.t[slot[0]].prob[0], 0.25, 1e-6, 0);
    CHECK_CLOSE(tr.t[slot[0]].prob[1], 0.75, 1e-6, 0);
    /* B was not seen: missed = 1 */
    int bi = -1;
    for (int i = 0; i < tr.n; i++)
        if (tr.t[i].id == 2) bi = i;
    CHECK(bi >= 0 && tr.t[bi].missed == 1);
    ferc_tracker_free(&tr);
    return 0;
}

static int test_expiry_and_new_ids(void)
{
    ferc_tracker tr;
    ferc_err e;
    ferc_tracker_init(&tr, 2);
    tr.max_missed = 2;
    int slot[2];
    float p[2] = {0.7f, 0.3f};
    ferc_haar_box a = B(0, 0, 50);
    CHECK(ferc_tracker_update(&tr, &a, p, 1, slot, &e) == 0 && tr.t[slot[0]].id == 1);
    /* unseen for 2 frames: still there; the 3rd frame ends it */
    CHECK(ferc_tracker_update(&tr, NULL, NULL, 0, slot, &e) == 0 && tr.n == 1);
    CHECK(ferc_tracker_update(&tr, NULL, NULL, 0, slot, &e) == 0 && tr.n == 1 && tr.t[0].missed == 2);
    /* seen again within max_missed frames: same id */
    CHECK(ferc_tracker_update(&tr, &a, p, 1, slot, &e) == 0 && tr.t[slot[0]].id == 1 && tr.t[slot[0]].missed == 0);
    for (int k = 0; k < 3; k++) CHECK(ferc_tracker_update(&tr, NULL, NULL, 0, slot, &e) == 0);
    CHECK(ferc_tracker_update(&tr, NULL, NULL, 0, slot, &e) == 0 && tr.n == 0);
    /* the same place after expiry: a new id, probabilities not smoothed with the old */
    CHECK(ferc_tracker_update(&tr, &a, p, 1, slot, &e) == 0 && tr.t[slot[0]].id == 2);
    CHECK_CLOSE(tr.t[slot[0]].prob[0], 0.7, 1e-6, 0);
    /* a far-away box (IoU 0) does not take over the track */
    ferc_haar_box far = B(200, 200, 50);
    CHECK(ferc_tracker_update(&tr, &far, p, 1, slot, &e) == 0 && tr.t[slot[0]].id == 3);
    ferc_tracker_reset(&tr);
    CHECK(tr.n == 0 && tr.next_id == 1);
    ferc_tracker_free(&tr);
    return 0;
}

/* Two detections compete for one track: the higher IoU wins. */
static int test_greedy(void)
{
    ferc_tracker tr;
    ferc_err e;
    ferc_tracker_init(&tr, 1);
    int slot[2];
    float p[2] = {1, 1};
    ferc_haar_box a = B(100, 100, 100);
    CHECK(ferc_tracker_update(&tr, &a, p, 1, slot, &e) == 0);
    ferc_haar_box two[2] = {B(140, 100, 100), B(105, 100, 100)};
    CHECK(ferc_tracker_update(&tr, two, p, 2, slot, &e) == 0);
    CHECK(tr.t[slot[1]].id == 1 && tr.t[slot[0]].id == 2);
    /* many faces at once (grows the arrays) */
    ferc_haar_box many[40];
    float pm[40];
    for (int i = 0; i < 40; i++) many[i] = B(i * 60, 500, 50), pm[i] = 1;
    int sm[40];
    CHECK(ferc_tracker_update(&tr, many, pm, 40, sm, &e) == 0);
    for (int i = 0; i < 40; i++) CHECK(tr.t[sm[i]].box.x == i * 60);
    ferc_tracker_free(&tr);
    return 0;
}

int main(void)
{
    RUN(test_ids_and_smoothing);
    RUN(test_expiry_and_new_ids);
    RUN(test_greedy);
    return TEST_DONE("test_track");
}
