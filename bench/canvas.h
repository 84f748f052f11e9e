/* canvas.h: a dataset face as the detector would see it in a frame. The
 * face (w x h, 8-bit gray) is enlarged to a S x S square centred on a W x W
 * canvas, nearest-neighbour, with its border pixels replicated outwards so
 * the paste leaves no artificial contour. Used by margin.c and crop_sweep.c. */
#ifndef FERC_BENCH_CANVAS_H
#define FERC_BENCH_CANVAS_H
#include <stdint.h>

static void canvas_paste(uint8_t *cv, int W, int S, const uint8_t *px, int w, int h)
{
    const int O = (W - S) / 2;
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
            int sx = (x - O) * w / S, sy = (y - O) * h / S;
            sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
            sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
            cv[y * W + x] = px[sy * w + sx];
        }
}

#endif
