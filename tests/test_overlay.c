/* test_overlay.c: the demo's overlay drawn on a flat gray 640x480 frame and
 * checked pixel by pixel: box outlines in the class colour, the inside of the
 * boxes untouched, bar lengths proportional to the probabilities, the status
 * panel alone when there are no faces, faces at and beyond the frame edges
 * (guard rows around the frame stay untouched), class colours keyed by name. */
#include <stdlib.h>
#include <string.h>
#include "overlay.h"
#include "test.h"

#define W 640
#define H 480
#define GRAY 128

static const char *const classes[7] = {"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"};

/* A frame with one guard row above and below, all filled with GRAY (guards: 0xA5). */
typedef struct {
    uint8_t *buf;
    ferc_canvas c;
} frame;

static void frame_new(frame *f)
{
    f->buf = malloc((size_t)(H + 2) * W * 3);
    memset(f->buf, 0xA5, (size_t)(H + 2) * W * 3);
    f->c.w = W, f->c.h = H, f->c.px = f->buf + (size_t)W * 3;
    memset(f->c.px, GRAY, (size_t)W * H * 3);
}

static int guards_ok(const frame *f)
{
    const uint8_t *lo = f->buf, *hi = f->buf + (size_t)(H + 1) * W * 3;
    for (size_t i = 0; i < (size_t)W * 3; i++)
        if (lo[i] != 0xA5 || hi[i] != 0xA5) return 0;
    return 1;
}

static const uint8_t *px(const frame *f, int x, int y)
{
    return f->c.px + ((size_t)y * W + x) * 3;
}

static int is_col(const frame *f, int x, int y, ferc_rgb c)
{
    const uint8_t *p = px(f, x, y);
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

static int is_gray(const frame *f, int x, int y)
{
    const uint8_t *p = px(f, x, y);
    return p[0] == GRAY && p[1] == GRAY && p[2] == GRAY;
}

static ferc_face face_at(int x, int y, int w, int h, int track, const float *p)
{
    ferc_face f;
    memset(&f, 0, sizeof f);
    f.box = (ferc_haar_box){x, y, w, h, 5};
    f.track = track;
    for (int k = 0; k < 7; k++) f.prob[k] = f.raw[k] = p[k];
    for (int k = 1; k < 7; k++)
        if (p[k] > p[f.label]) f.label = k;
    return f;
}

/* Longest horizontal run of colour col in rows [y0, y1) and columns [x0, x1). */
static int longest_run(const frame *f, ferc_rgb col, int x0, int x1, int y0, int y1)
{
    int best = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < H; y++)
        for (int x = x0 < 0 ? 0 : x0, run = 0; x < x1 && x < W; x++) {
            run = is_col(f, x, y, col) ? run + 1 : 0;
            if (run > best) best = run;
        }
    return best;
}

static const float p_a[7] = {0.05f, 0.02f, 0.03f, 0.10f, 0.60f, 0.15f, 0.05f};   /* happy */
static const float p_b[7] = {0.70f, 0.00f, 0.10f, 0.05f, 0.00f, 0.15f, 0.00f};   /* anger */

static int test_two_faces(void)
{
    frame f;
    frame_new(&f);
    /* face A: bars fit right of it; face B near the right edge: bars go left */
    ferc_face faces[2] = {face_at(60, 200, 120, 120, 3, p_a), face_at(490, 180, 130, 130, 4, p_b)};
    ferc_overlay_info info = {25.0, 3.0, 12.0, 4.0, 1.0, "camera 0", 42, 1};
    ferc_overlay_draw(&f.c, faces, 2, classes, 7, &info);
    CHECK(guards_ok(&f));
    for (int i = 0; i < 2; i++) {
        const ferc_haar_box *b = &faces[i].box;
        ferc_rgb col = ferc_overlay_color(classes[faces[i].label], faces[i].label);
        /* outline on all four edges, at the middle of each and at the corners */
        int bad = 0;
        for (int t = 0; t < 2; t++) {
            bad += !is_col(&f, b->x + t, b->y + b->h / 2, col);
            bad += !is_col(&f, b->x + b->w - 1 - t, b->y + b->h / 2, col);
            bad += !is_col(&f, b->x + b->w / 2, b->y + b->h - 1 - t, col);
            bad += !is_col(&f, b->x + b->w - 1, b->y + b->h - 1, col);
        }
        CHECKF(bad == 0, "face %d: %d outline pixels not in the class colour", i, bad);
        /* the top edge below the tag (the tag sits above the box) */
        CHECK(is_col(&f, b->x + b->w - 2, b->y, col));
        /* inside: untouched, away from the outline */
        int touched = 0;
        for (int y = b->y + 4; y < b->y + b->h - 4; y++)
            for (int x = b->x + 4; x < b->x + b->w - 4; x++) touched += !is_gray(&f, x, y);
        CHECKF(touched == 0, "face %d: %d pixels inside the box changed", i, touched);
        /* just outside the box's bottom edge: untouched (bars are beside, the tag above) */
        CHECK(is_gray(&f, b->x + b->w / 2, b->y + b->h + 1));
        /* tag: the class colour above the box */
        CHECK(is_col(&f, b->x + 1, b->y - 2, col));
    }
    /* bars: A's panel right of A, B's left of B (they do not meet); each
     * class's bar is the longest run of its colour there, proportional to p */
    const float *ps[2] = {p_a, p_b};
    const int xr[2][2] = {{182, 336}, {336, 488}};
    const int yr[2][2] = {{200, 320}, {180, 310}};
    for (int i = 0; i < 2; i++) {
        int len[7], kmax = faces[i].label;
        for (int k = 0; k < 7; k++)
            len[k] = longest_run(&f, ferc_overlay_color(classes[k], k), xr[i][0], xr[i][1], yr[i][0], yr[i][1]);
        CHECKF(len[kmax] >= 30, "face %d: longest bar %d px", i, len[kmax]);
        for (int k = 0; k < 7; k++) {
            double want = ps[i][k] / ps[i][kmax] * len[kmax];
            CHECKF(fabs(len[k] - want) <= 1.0, "face %d class %d: bar %d px, want %.1f", i, k, len[k], want);
        }
        /* the bar rows of A are on A's right, not its left (and B's on its left) */
        int other = longest_run(&f, ferc_overlay_color(classes[kmax], kmax), i ? 490 + 130 + 1 : 0,
                                i ? W : 56, yr[i][0], yr[i][1]);
        CHECKF(other == 0, "face %d: bar colour on the wrong side (%d px)", i, other);
    }
    /* the status panel: darkened pixels in the top-left corner */
    CHECK(px(&f, 6, 6)[0] < GRAY);
    free(f.buf);
    return 0;
}

/* No faces: only the status panel changes pixels, in the top-left corner. */
static int test_no_faces(void)
{
    frame f;
    frame_new(&f);
    ferc_overlay_info info = {0.0, 0.0, 5.0, 2.0, 0.5, "some/long/directory/with/a/file_name.png", 7, 1};
    ferc_overlay_draw(&f.c, NULL, 0, classes, 7, &info);
    int x0 = W, y0 = H, x1 = -1, y1 = -1, changed = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (!is_gray(&f, x, y)) {
                changed++;
                if (x < x0) x0 = x;
                if (y < y0) y0 = y;
                if (x > x1) x1 = x;
                if (y > y1) y1 = y;
            }
    CHECKF(changed > 1000, "%d pixels changed", changed);
    CHECKF(x0 >= 0 && x0 < 16 && y0 >= 0 && y0 < 16, "panel starts at %d,%d", x0, y0);
    CHECKF(x1 < W / 2 && y1 < H / 3, "panel ends at %d,%d", x1, y1);
    /* a dark translucent background: blended, neither black nor gray */
    const uint8_t *p = px(&f, x0, y0);
    CHECKF(p[0] > 0 && p[0] < GRAY && p[0] == p[1] && p[1] == p[2], "background %d,%d,%d", p[0], p[1], p[2]);
    CHECK(guards_ok(&f));
    /* show_stats 0 and info NULL draw nothing */
    memset(f.c.px, GRAY, (size_t)W * H * 3);
    info.show_stats = 0;
    ferc_overlay_draw(&f.c, NULL, 0, classes, 7, &info);
    ferc_overlay_draw(&f.c, NULL, 0, classes, 7, NULL);
    changed = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) changed += !is_gray(&f, x, y);
    CHECK(changed == 0);
    free(f.buf);
    return 0;
}

/* Faces at, across and beyond every edge: no writes outside the frame, the
 * visible parts drawn, panels pulled inside the frame. */
static int test_edges(void)
{
    frame f;
    frame_new(&f);
    ferc_face faces[6] = {
        face_at(-30, -30, 100, 100, 1, p_a), face_at(0, 0, W, H, 3, p_a),
        face_at(-500, 100, 100, 100, 4, p_b), face_at(300, 700, 50, 50, 5, p_a),
        face_at(600, -10, 40, 490, 6, p_b),  face_at(560, 400, 120, 120, 2, p_b),   /* last: on top */
    };
    ferc_overlay_info info = {30.0, 1.0, 2.0, 3.0, 4.0, "camera 0", 1, 1};
    ferc_overlay_draw(&f.c, faces, 6, classes, 7, &info);
    CHECK(guards_ok(&f));
    /* the last face (anger, bottom-right, cut): its visible left and top edges */
    ferc_rgb anger = ferc_overlay_color("anger", 0);
    CHECK(is_col(&f, 560, 450, anger));
    CHECK(is_col(&f, 600, 401, anger) || is_col(&f, 600, 400, anger));
    /* its bars were moved inside the frame: the anger bar is whole (0.7 of the longest) */
    CHECK(longest_run(&f, anger, 400, 559, 300, H) == (int)lrintf(0.7f * 60));
    /* a tiny frame and odd inputs: no crash */
    uint8_t tiny[5 * 4 * 3];
    memset(tiny, GRAY, sizeof tiny);
    ferc_canvas tc = {5, 4, tiny};
    ferc_face odd = face_at(1, 1, 2, 2, 9, p_a);
    odd.label = 99;
    odd.prob[0] = NAN;
    odd.prob[1] = -3.0f;
    odd.prob[2] = 7.0f;
    ferc_overlay_draw(&tc, &odd, 1, classes, 7, &info);
    ferc_overlay_draw(&tc, &odd, 1, NULL, 40, &info);
    const char *names[3] = {"a-very-long-class-name-indeed", NULL, "neutral"};
    ferc_overlay_draw(&f.c, &odd, 1, names, 3, &info);
    ferc_overlay_draw(NULL, &odd, 1, names, 3, &info);
    CHECK(guards_ok(&f));
    free(f.buf);
    return 0;
}

/* Colours follow the emotion whatever the synonym or the class index. */
static int test_colors(void)
{
    ferc_rgb a = ferc_overlay_color("anger", 0), b = ferc_overlay_color("Angry", 5);
    CHECK(a.r == b.r && a.g == b.g && a.b == b.b);
    CHECK(a.r > 200 && a.g < 100 && a.b < 100);   /* red */
    ferc_rgb h = ferc_overlay_color("happiness", 2);
    CHECK(h.r > 200 && h.g > 200 && h.b < 100);   /* yellow */
    ferc_rgb n = ferc_overlay_color("neutral", 1);
    CHECK(n.r == n.g && n.g == n.b);              /* gray */
    ferc_rgb s1 = ferc_overlay_color("sad", 0), s2 = ferc_overlay_color("sadness", 3);
    CHECK(s1.r == s2.r && s1.g == s2.g && s1.b == s2.b && s1.b > 200);
    /* the seven CK+ classes and neutral are all different colours */
    const char *all[8] = {"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise", "neutral"};
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++) {
            ferc_rgb x = ferc_overlay_color(all[i], i), y = ferc_overlay_color(all[j], j);
            CHECKF(x.r != y.r || x.g != y.g || x.b != y.b, "%s and %s", all[i], all[j]);
        }
    /* unknown names: the fallback palette, also for negative indices */
    ferc_rgb u0 = ferc_overlay_color("blue-steel", 0), u1 = ferc_overlay_color(NULL, 1);
    CHECK(u0.r != u1.r || u0.g != u1.g || u0.b != u1.b);
    (void)ferc_overlay_color(NULL, -3);
    CHECK(ferc_overlay_scale(320) == 1 && ferc_overlay_scale(640) == 1 && ferc_overlay_scale(1280) == 2);
    return 0;
}

/* At 1280x720 the text scale is 2: the outline is 3 px thick and bars twice as long. */
static int test_scale2(void)
{
    const int w = 1280, h = 720;
    uint8_t *buf = malloc((size_t)w * h * 3);
    memset(buf, GRAY, (size_t)w * h * 3);
    ferc_canvas c = {w, h, buf};
    ferc_face fc = face_at(200, 200, 240, 240, 1, p_b);
    ferc_overlay_draw(&c, &fc, 1, classes, 7, NULL);
    ferc_rgb anger = ferc_overlay_color("anger", 0);
    const uint8_t *p2 = buf + ((size_t)320 * w + 202) * 3, *p3 = buf + ((size_t)320 * w + 203) * 3;
    CHECK(p2[0] == anger.r && p2[1] == anger.g && p2[2] == anger.b);
    CHECK(p3[0] == GRAY && p3[1] == GRAY && p3[2] == GRAY);
    int best = 0;
    for (int y = 200; y < 440; y++)
        for (int x = 444, run = 0; x < w; x++) {
            const uint8_t *q = buf + ((size_t)y * w + x) * 3;
            run = q[0] == anger.r && q[1] == anger.g && q[2] == anger.b ? run + 1 : 0;
            if (run > best) best = run;
        }
    CHECKF(best == (int)lrintf(0.7f * 120), "anger bar %d px", best);
    free(buf);
    return 0;
}

int main(void)
{
    RUN(test_two_faces);
    RUN(test_no_faces);
    RUN(test_edges);
    RUN(test_colors);
    RUN(test_scale2);
    return TEST_DONE("test_overlay");
}
