/* margin.c: how a dataset's faces were cropped, relative to the Viola-Jones
 * box. Each 48x48 face is enlarged 4x onto a 400x400 canvas (border pixels
 * replicated, so the crop edge leaves no artificial contour), the detector runs
 * (scale 1.1, 3 neighbours, min 60 px), and the size and centre of the pasted
 * square are compared with the largest box found (canvas.h). ./demo crops detector boxes
 * by this ratio (--crop) so the model sees faces framed as in training.
 *   usage: margin IMG...     (e.g. the PNG files of datasets/CK+48/anger) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "canvas.h"
#include "haar.h"
#include "image.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: margin IMG...\n");
        return 2;
    }
    ferc_err e;
    ferc_haar_params p;
    ferc_haar *c = canvas_detector("margin", &p);
    if (!c) return 1;
    const int S = CANVAS_S, W = CANVAS_W, O = (W - S) / 2;
    uint8_t *cv = malloc(W * W);
    double sr = 0, sr2 = 0, sdx = 0, sdy = 0;
    int n = 0, tot = 0;
    for (int a = 1; a < argc; a++) {
        ferc_image im;
        if (ferc_image_load(&im, argv[a], &e)) {
            fprintf(stderr, "margin: %s\n", e.msg);
            continue;
        }
        canvas_paste(cv, im.px, im.w, im.h);
        ferc_image_free(&im);
        tot++;
        ferc_haar_box b;
        if (canvas_largest(c, &p, cv, &b)) continue;
        double r = (double)S / b.w;
        sr += r, sr2 += r * r;
        sdx += (O + S / 2.0 - (b.x + b.w / 2.0)) / b.w;
        sdy += (O + S / 2.0 - (b.y + b.h / 2.0)) / b.w;
        n++;
    }
    free(cv);
    ferc_haar_free(c);
    if (!n) {
        printf("no face found in %d images\n", tot);
        return 1;
    }
    double m = sr / n, sd = n > 1 ? sqrt((sr2 - n * m * m) / (n - 1)) : 0;
    printf("faces found %d/%d; crop side / box side %.3f +- %.3f; crop centre - box centre: dx %+.3f dy %+.3f "
           "(box widths)\n", n, tot, m, sd, sdx / n, sdy / n);
    return 0;
}
