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
    const char *cp = ferc_haar_default_path();
    ferc_haar *c = cp ? ferc_haar_load(cp, &e) : NULL;
    if (!c) {
        fprintf(stderr, "margin: %s\n", cp ? e.msg : "no opencv-data cascade");
        return 1;
    }
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_w = p.min_h = 60;
    const int S = 192, W = 400, O = (W - S) / 2;
    uint8_t *cv = malloc(W * W);
    double sr = 0, sr2 = 0, sdx = 0, sdy = 0;
    int n = 0, tot = 0;
    for (int a = 1; a < argc; a++) {
        ferc_image im;
        if (ferc_image_load(&im, argv[a], &e)) {
            fprintf(stderr, "margin: %s\n", e.msg);
            continue;
        }
        canvas_paste(cv, W, S, im.px, im.w, im.h);
        ferc_image_free(&im);
        ferc_haar_box *b;
        int nb;
        tot++;
        if (ferc_haar_detect(c, NULL, cv, W, W, W, &p, &b, &nb, &e) || nb < 1) continue;
        int bi = 0;
        for (int i = 1; i < nb; i++)
            if (b[i].w > b[bi].w) bi = i;
        double r = (double)S / b[bi].w;
        sr += r, sr2 += r * r;
        sdx += (O + S / 2.0 - (b[bi].x + b[bi].w / 2.0)) / b[bi].w;
        sdy += (O + S / 2.0 - (b[bi].y + b[bi].h / 2.0)) / b[bi].w;
        n++;
        free(b);
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
