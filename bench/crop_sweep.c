/* crop_sweep.c: which --crop suits a model in ./demo's pipeline. Each face of
 * a class-folder dataset is pasted onto a 400x400 canvas as margin.c does
 * (canvas.h), the detector runs (scale 1.1, 3 neighbours, min 60 px), and the
 * largest box is cropped at each crop factor exactly as ./demo crops
 * (ferc_faces_crop), normalised and classified. Printed per factor: accuracy
 * and balanced accuracy over the faces found, next to the model's accuracy on
 * the same faces as stored (the 48x48 file itself, as bin/eval sees it).
 *   usage: crop_sweep MODEL DATADIR [--crops 0.9,1.0,1.1,1.2] [--every K]
 * --every K keeps every K-th image (file order) to shorten the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "canvas.h"
#include "dataset.h"
#include "faces.h"
#include "haar.h"
#include "model.h"

#define MAX_CROPS 16

static void usage(FILE *f)
{
    fprintf(f, "usage: crop_sweep MODEL DATADIR [--crops 0.9,1.0,1.1,1.2] [--every K]\n"
               "  classifies each face of DATADIR (class folders) as ./demo would see it pasted\n"
               "  into a frame, at each crop factor, and prints accuracy per factor\n");
}

/* accuracy and balanced accuracy of pred against label over n items */
static void score(const int *pred, const int *label, int n, int K, double *acc, double *bal)
{
    int right = 0, cr[FERC_MAX_CLASSES] = {0}, cn[FERC_MAX_CLASSES] = {0};
    for (int i = 0; i < n; i++) {
        cn[label[i]]++;
        if (pred[i] == label[i]) right++, cr[label[i]]++;
    }
    double b = 0;
    int k_seen = 0;
    for (int k = 0; k < K; k++)
        if (cn[k]) b += (double)cr[k] / cn[k], k_seen++;
    *acc = n ? (double)right / n : 0;
    *bal = k_seen ? b / k_seen : 0;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *data = NULL;
    double crops[MAX_CROPS] = {0.9, 1.0, 1.1, 1.2};
    int n_crops = 4, every = 1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[a], "--crops") && a + 1 < argc) {
            char *s = argv[++a], *end;
            n_crops = 0;
            while (*s && n_crops < MAX_CROPS) {
                double v = strtod(s, &end);
                if (end == s || !(v > 0.2 && v < 5.0)) {
                    fprintf(stderr, "crop_sweep: --crops: bad factor at \"%s\" (want numbers in (0.2, 5))\n", s);
                    return 2;
                }
                crops[n_crops++] = v;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') {
                    fprintf(stderr, "crop_sweep: --crops: expected ',' at \"%s\"\n", end);
                    return 2;
                }
            }
        } else if (!strcmp(argv[a], "--every") && a + 1 < argc) {
            every = atoi(argv[++a]);
            if (every < 1) {
                fprintf(stderr, "crop_sweep: --every: want a positive integer\n");
                return 2;
            }
        } else if (argv[a][0] == '-') {
            fprintf(stderr, "crop_sweep: unknown option %s\n", argv[a]);
            usage(stderr);
            return 2;
        } else if (!model) {
            model = argv[a];
        } else if (!data) {
            data = argv[a];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!model || !data) {
        usage(stderr);
        return 2;
    }
    ferc_err e;
    ferc_config cfg;
    ferc_net net;
    if (ferc_model_load(model, &cfg, &net, NULL, &e)) {
        fprintf(stderr, "crop_sweep: %s\n", e.msg);
        return 1;
    }
    ferc_dataset d;
    const char *roots[1] = {data};
    if (ferc_dataset_load(&d, &cfg, roots, 1, NULL, NULL, &e) || ferc_net_reserve(&net, 64, &e)) {
        fprintf(stderr, "crop_sweep: %s\n", e.msg);
        return 1;
    }
    ferc_haar_params p;
    ferc_haar *c = canvas_detector("crop_sweep", &p);
    if (!c) return 1;
    const int W = CANVAS_W, Z = cfg.input_size, ZZ = Z * Z, K = d.n_classes;
    int n_max = (d.n + every - 1) / every, n = 0, tot = 0;
    uint8_t *cv = malloc((size_t)W * W), *c8 = malloc((size_t)ZZ);
    float *x = malloc(sizeof(float) * ZZ * (size_t)n_max * (n_crops + 1));
    int *label = malloc(sizeof(int) * n_max), *pred = malloc(sizeof(int) * n_max);
    if (!cv || !c8 || !x || !label || !pred) {
        fprintf(stderr, "crop_sweep: out of memory\n");
        return 1;
    }
    /* x: block 0 the stored faces, block 1 + j the crops at crops[j] */
    for (int i = 0; i < d.n; i += every) {
        tot++;
        const uint8_t *px = d.pixels + (size_t)i * d.size * d.size;
        canvas_paste(cv, px, d.size, d.size);
        ferc_haar_box b;
        if (canvas_largest(c, &p, cv, &b)) continue;
        ferc_image frame = {W, W, 1, cv};
        ferc_normalize(px, Z, cfg.mean, cfg.std, x + (size_t)n * ZZ);
        for (int j = 0; j < n_crops; j++) {
            ferc_faces_crop(&frame, b, crops[j], Z, c8);
            ferc_normalize(c8, Z, cfg.mean, cfg.std, x + ((size_t)(j + 1) * n_max + n) * ZZ);
        }
        label[n++] = d.label[i];
    }
    printf("model %s, data %s: faces found %d/%d", model, data, n, tot);
    if (every > 1)
        printf(" (images 1, %d, %d, ... of %d)", 1 + every, 1 + 2 * every, d.n);
    printf("\n");
    printf("%-22s %9s %9s\n", "input", "accuracy", "balanced");
    for (int j = -1; j < n_crops; j++) {
        double acc, bal;
        ferc_predict(&net, x + (size_t)(j + 1) * n_max * ZZ, n, NULL, pred);
        score(pred, label, n, K, &acc, &bal);
        char name[32];
        if (j < 0)
            snprintf(name, sizeof name, "stored %dx%d", Z, Z);
        else
            snprintf(name, sizeof name, "--crop %.2f", crops[j]);
        printf("%-22s %9.4f %9.4f\n", name, acc, bal);
    }
    free(cv), free(c8), free(x), free(label), free(pred);
    ferc_haar_free(c);
    ferc_dataset_free(&d);
    ferc_net_free(&net);
    ferc_config_free(&cfg);
    return 0;
}
