/* bench_detect.c: ferc's face detector (src/haar.c) on PNG frames, printing
 * the same JSON lines as bench/detect_opencv.py so bench/detect.sh can put the
 * two side by side; also makes the synthetic 640x480 frames.
 *
 *   bench_detect --make-frames DIR [--n 30] [--seed 1] [--data ROOT]
 *       writes DIR/frame_NN.png (backgrounds flat, gradient, noise, checker in
 *       turn, 1-3 CK+48 faces of 48-160 px each) and DIR/truth.jsonl
 *       ({"file": F, "faces": [[x, y, w, h], ...]} per frame)
 *   bench_detect [--cascade F] [--scale 1.1] [--neighbors 3] [--min-size W H]
 *                [--max-size W H] [--threads N] [--repeat R] IMAGE...
 *       one line per image {"file": F, "boxes": [...], "ms": M} (mean of R
 *       timed calls after one warm-up, workspace reused as a video loop
 *       would), then {"summary": {"images", "ms_per_image", "threads", "simd"}}
 *
 * The data root defaults to $FERC_DATASETS/CK+48 (FERC_DATASETS defaults to
 * ../shared/datasets). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "haar.h"
#include "image.h"
#include "rng.h"
#include "../tests/haar_synth.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static const char *simd_name(void)
{
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX2__)
    return "avx2";
#elif defined(__AVX__)
    return "avx";
#else
    return "sse2";
#endif
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_detect --make-frames DIR [--n 30] [--seed 1] [--data ROOT]\n"
                    "       bench_detect [--cascade F] [--scale 1.1] [--neighbors 3] [--min-size W H]\n"
                    "                    [--max-size W H] [--threads N] [--repeat R] IMAGE...\n");
    exit(2);
}

static int make_frames(const char *dir, int n, unsigned long long seed, const char *root)
{
    synth_faces fs;
    if (!synth_faces_list(&fs, root)) {
        fprintf(stderr, "bench_detect: no PNG faces under %s/<class>/\nHINT: set FERC_DATASETS or --data\n", root);
        return 1;
    }
    if (mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "bench_detect: cannot create %s: %s\n", dir, strerror(errno));
        synth_faces_free(&fs);
        return 1;
    }
    char tp[4096];
    snprintf(tp, sizeof tp, "%s/truth.jsonl", dir);
    FILE *truth = fopen(tp, "w");
    if (!truth) {
        fprintf(stderr, "bench_detect: cannot write %s: %s\n", tp, strerror(errno));
        synth_faces_free(&fs);
        return 1;
    }
    enum { W = 640, H = 480 };
    uint8_t *px = malloc((size_t)W * H);
    ferc_rng r;
    ferc_rng_seed(&r, seed);
    ferc_err e;
    int rc = 0;
    for (int i = 0; i < n && px; i++) {
        ferc_haar_box b[3];
        int nf = synth_frame(px, W, H, i % SYNTH_KINDS, &fs, 1 + (int)ferc_rng_below(&r, 3), 48, 160, &r, b, &e);
        char fp[4096];
        snprintf(fp, sizeof fp, "%s/frame_%02d.png", dir, i);
        if (nf < 0 || ferc_png_write(fp, px, W, H, 1, &e)) {
            fprintf(stderr, "bench_detect: %s\n", e.msg);
            rc = 1;
            break;
        }
        fprintf(truth, "{\"file\": \"%s\", \"kind\": \"%s\", \"faces\": [", fp, synth_kind_name[i % SYNTH_KINDS]);
        for (int k = 0; k < nf; k++)
            fprintf(truth, "%s[%d, %d, %d, %d]", k ? ", " : "", b[k].x, b[k].y, b[k].w, b[k].h);
        fprintf(truth, "]}\n");
    }
    if (!px)
        rc = 1;
    free(px);
    fclose(truth);
    synth_faces_free(&fs);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cascade = NULL, *frames_dir = NULL, *data = NULL;
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    int repeat = 1, n_frames = 30, first = argc;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = argc - i - 1;
        if (!strcmp(a, "--cascade") && more >= 1) cascade = argv[++i];
        else if (!strcmp(a, "--scale") && more >= 1) p.scale_factor = atof(argv[++i]);
        else if (!strcmp(a, "--neighbors") && more >= 1) p.min_neighbors = atoi(argv[++i]);
        else if (!strcmp(a, "--min-size") && more >= 2) p.min_w = atoi(argv[++i]), p.min_h = atoi(argv[++i]);
        else if (!strcmp(a, "--max-size") && more >= 2) p.max_w = atoi(argv[++i]), p.max_h = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && more >= 1) p.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--repeat") && more >= 1) repeat = atoi(argv[++i]);
        else if (!strcmp(a, "--make-frames") && more >= 1) frames_dir = argv[++i];
        else if (!strcmp(a, "--n") && more >= 1) n_frames = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && more >= 1) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--data") && more >= 1) data = argv[++i];
        else if (a[0] == '-' && a[1] == '-') usage();
        else {
            first = i;
            break;
        }
    }
    if (frames_dir) {
        char root[4096];
        if (!data) {
            const char *ds = getenv("FERC_DATASETS");
            snprintf(root, sizeof root, "%s/CK+48", ds && *ds ? ds : "../shared/datasets");
            data = root;
        }
        return make_frames(frames_dir, n_frames, seed, data);
    }
    if (first >= argc || repeat < 1)
        usage();
    if (!cascade && !(cascade = ferc_haar_default_path())) {
        fprintf(stderr, "bench_detect: no cascade at %s\nHINT: apt-get install opencv-data, or --cascade FILE\n",
                FERC_HAAR_DEFAULT_CASCADE);
        return 1;
    }
    ferc_err e;
    ferc_haar *c = ferc_haar_load(cascade, &e);
    ferc_haar_ws *ws = ferc_haar_ws_new();
    if (!c || !ws) {
        fprintf(stderr, "bench_detect: %s\n", c ? "out of memory" : e.msg);
        return 1;
    }
    double total = 0;
    int n_img = 0, rc = 0;
    for (int i = first; i < argc; i++) {
        ferc_image im;
        if (ferc_image_load(&im, argv[i], &e)) {
            fprintf(stderr, "bench_detect: %s\n", e.msg);
            rc = 1;
            break;
        }
        ferc_haar_box *b;
        int nb;
        if (ferc_haar_detect(c, ws, im.px, im.w, im.h, im.w, &p, &b, &nb, &e)) { /* warm-up and result */
            fprintf(stderr, "bench_detect: %s: %s\n", argv[i], e.msg);
            ferc_image_free(&im);
            rc = 1;
            break;
        }
        double t0 = now_ms();
        for (int k = 0; k < repeat; k++) {
            ferc_haar_box *b2;
            int n2;
            if (ferc_haar_detect(c, ws, im.px, im.w, im.h, im.w, &p, &b2, &n2, &e)) {
                fprintf(stderr, "bench_detect: %s: %s\n", argv[i], e.msg);
                rc = 1;
                break;
            }
            free(b2);
        }
        double ms = (now_ms() - t0) / repeat;
        total += ms;
        n_img++;
        printf("{\"file\": \"%s\", \"boxes\": [", argv[i]);
        for (int k = 0; k < nb; k++)
            printf("%s[%d, %d, %d, %d]", k ? ", " : "", b[k].x, b[k].y, b[k].w, b[k].h);
        printf("], \"ms\": %.4f}\n", ms);
        free(b);
        ferc_image_free(&im);
        if (rc)
            break;
    }
    printf("{\"summary\": {\"images\": %d, \"ms_per_image\": %.4f, \"threads\": %d, \"simd\": \"%s\"}}\n", n_img,
           n_img ? total / n_img : 0.0, p.threads, simd_name());
    ferc_haar_ws_free(ws);
    ferc_haar_free(c);
    return rc;
}
