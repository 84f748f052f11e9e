/* canvas.h: a dataset face as the detector would see it in a frame, shared by
 * margin.c and crop_sweep.c. The face (w x h, 8-bit gray) is enlarged to a
 * CANVAS_S square centred on a CANVAS_W canvas, nearest-neighbour, with its
 * border pixels replicated outwards so the paste leaves no artificial
 * contour; the detector (default cascade, scale 1.1, 3 neighbours, min 60 px)
 * then looks for the largest face on it. */
#ifndef FERC_BENCH_CANVAS_H
#define FERC_BENCH_CANVAS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "haar.h"

#define CANVAS_W 400 /* canvas side */
#define CANVAS_S 192 /* side of the pasted face */

static void canvas_paste(uint8_t *cv, const uint8_t *px, int w, int h)
{
    const int W = CANVAS_W, S = CANVAS_S, O = (W - S) / 2;
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
            int sx = (x - O) * w / S, sy = (y - O) * h / S;
            sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
            sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
            cv[y * W + x] = px[sy * w + sx];
        }
}

/* The cascade and parameters both tools use; NULL after printing the error
 * prefixed with prog. */
static ferc_haar *canvas_detector(const char *prog, ferc_haar_params *p)
{
    ferc_err e;
    const char *cp = ferc_haar_default_path();
    ferc_haar *c = cp ? ferc_haar_load(cp, &e) : NULL;
    if (!c) fprintf(stderr, "%s: %s\n", prog, cp ? e.msg : "no opencv-data cascade");
    ferc_haar_params_default(p);
    p->min_w = p->min_h = 60;
    return c;
}

/* The widest box found on the canvas cv: 0, or -1 when there is none. */
static int canvas_largest(ferc_haar *c, const ferc_haar_params *p, const uint8_t *cv, ferc_haar_box *box)
{
    ferc_err e;
    ferc_haar_box *b = NULL;
    int nb = 0;
    if (ferc_haar_detect(c, NULL, cv, CANVAS_W, CANVAS_W, CANVAS_W, p, &b, &nb, &e) || nb < 1) {
        free(b);
        return -1;
    }
    int bi = 0;
    for (int i = 1; i < nb; i++)
        if (b[i].w > b[bi].w) bi = i;
    *box = b[bi];
    free(b);
    return 0;
}

#endif
