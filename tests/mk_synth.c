/* mk_synth.c: writes a small synthetic class-folder dataset for tests that
 * must run without the research data: class k is a bright disc at one of K
 * positions, with noise, on a gray background; files are named like CK+'s
 * (S<subject>_<seq>_<frame>.png) so subject-wise folds apply.
 * usage: mk_synth DIR [classes=3] [subjects=12] [per_subject=4] [size=24] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "image.h"
#include "rng.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mk_synth DIR [classes] [subjects] [per_subject] [size]\n");
        return 2;
    }
    const char *dir = argv[1];
    int K = argc > 2 ? atoi(argv[2]) : 3, S = argc > 3 ? atoi(argv[3]) : 12;
    int P = argc > 4 ? atoi(argv[4]) : 4, size = argc > 5 ? atoi(argv[5]) : 24;
    static const char *names[] = {"anger", "happy", "surprise", "sadness", "fear", "disgust", "contempt"};
    if (K < 2 || K > 7 || S < 1 || P < 1 || size < 8 || size > 256) {
        fprintf(stderr, "mk_synth: bad arguments\n");
        return 2;
    }
    mkdir(dir, 0777);
    ferc_rng r;
    ferc_rng_seed(&r, 42);
    unsigned char *px = malloc((size_t)size * size);
    for (int k = 0; k < K; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        mkdir(path, 0777);
        for (int s = 0; s < S; s++)
            for (int p = 0; p < P; p++) {
                /* disc centre on a circle, angle by class */
                float cx = size * (0.5f + 0.25f * (k % 2 ? 1 : -1) * (k < 2 ? 1.0f : 0.3f));
                float cy = size * (0.5f + 0.25f * (k >= 2 ? 1.0f : -0.5f) * (k % 3 ? 1.0f : -1.0f));
                cx += (ferc_rng_uniform(&r) - 0.5f) * size * 0.1f;
                cy += (ferc_rng_uniform(&r) - 0.5f) * size * 0.1f;
                float rad = size * (0.12f + 0.04f * ferc_rng_uniform(&r));
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++) {
                        float d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                        float v = 90 + 20 * ferc_rng_normal(&r) + (d2 < rad * rad ? 120 : 0);
                        px[y * size + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
                    }
                snprintf(path, sizeof path, "%s/%s/S%03d_%03d_%08d.png", dir, names[k], s + 1, k + 1, p + 1);
                ferc_err e;
                if (ferc_png_write(path, px, size, size, 1, &e)) {
                    fprintf(stderr, "mk_synth: %s\n", e.msg);
                    return 1;
                }
            }
    }
    free(px);
    return 0;
}
