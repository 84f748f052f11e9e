/* overlay.h: draws recognition results onto an RGB frame for ./demo: per face
 * a box outline and a label tag ("#3 happy 87%") in the colour of its class,
 * and a panel of per-class probability bars beside the box; plus a status
 * panel (fps, per-stage latency, source, frame number) in the top-left.
 *
 *   ferc_canvas c = {im.w, im.h, im.px};        // wraps the frame, no copy
 *   ferc_overlay_draw(&c, faces, n, classes, K, &info);
 *
 * Layout, with text scale s (ferc_overlay_scale: 1 below 900 px of width,
 * 2 from 900, 3 from 2400):
 *   - box: an outline s+1 pixels thick, drawn inward from the box's edges;
 *   - tag: solid in the class colour, dark or white text, above the box (inside
 *     its top edge when there is no room above), kept inside the frame;
 *   - bars: one row per class (name, bar in the class's colour of length
 *     round(p * 60 s), percent) on a dark translucent background, right of the
 *     box if it fits, else left, else below (else as low as fits), kept inside
 *     the frame where it fits and clipped where it does not;
 *   - status (when info && info->show_stats): drawn last, over everything.
 * Text sits on dark translucent backgrounds (pixels blended, not replaced).
 * Faces' probabilities are prob[] (smoothed in video mode); the tag shows
 * label and prob[label]; track 0 (stills) has no "#id". Every primitive
 * clips to the canvas: boxes partly or wholly outside the frame are fine.
 * Nothing is allocated; never fails. */
#ifndef FERC_OVERLAY_H
#define FERC_OVERLAY_H
#include "faces.h"
#include "plot.h"

typedef struct {
    double fps;                 /* <= 0 shows "-" (stills) */
    double ms_capture, ms_detect, ms_classify, ms_draw;
    const char *source;         /* "camera 0", a file name; NULL = none */
    long frame;                 /* frame number (or image index) */
    int show_stats;             /* 0: no status panel */
} ferc_overlay_info;

/* Draws faces[0..n) (classes[0..K) their model's class names; NULL names are
 * shown as their index) and, if info is not NULL and info->show_stats, the
 * status panel. K is clamped to FERC_MAX_CLASSES. */
void ferc_overlay_draw(ferc_canvas *c, const ferc_face *faces, int n, const char *const *classes, int K,
                       const ferc_overlay_info *info);

/* Colour of class k named name: fixed per emotion, whatever its synonym
 * (anger red, contempt orange, disgust green, fear violet, happy yellow,
 * sadness blue, surprise cyan, neutral grey; classmap.h's synonym table),
 * else a fallback palette by k. */
ferc_rgb ferc_overlay_color(const char *name, int k);

/* Text scale used for a frame of width w. */
int ferc_overlay_scale(int w);

#endif
