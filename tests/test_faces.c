/* test_faces.c: the demo's pipeline (src/faces.c): crops reproduce the pasted
 * pixels, stills give one face per pasted dataset face with the model's own
 * prediction on the crop (bit for bit) and, for most faces, the prediction on
 * the original 48x48 image; video frames keep one track id while a face
 * moves, with full scans only every N frames; errors name the file.
 * Needs checkpoints/ck.h5, the opencv-data cascade and CK+48 (else skips). */
#include <omp.h>
#include <string.h>
#include <unistd.h>
#include "faces.h"
#include "haar_synth.h"
#include "model.h"
#include "test.h"
#include "ckpt.h"
#include "dataset.h"
#include "net.h"

static const char *model_path = "checkpoints/ck.h5";
static char ck_root[1024];

static int have_all(void)
{
    return !access(model_path, R_OK) && ferc_haar_default_path() && !access(ck_root, R_OK);
}

/* The pipeline with default options and the shipped model. */
static ferc_faces *open_default(ferc_err *e)
{
    ferc_faces_opts o;
    ferc_faces_opts_default(&o);
    o.model = model_path;
    return ferc_faces_new(&o, e);
}

/* 4x nearest-neighbour enlargement pasted at (x, y); the crop of exactly that
 * square must give the original back (area averaging of 4x4 equal pixels). */
static int test_crop(void)
{
    ferc_image face = {48, 48, 1, malloc(48 * 48)};
    for (int i = 0; i < 48 * 48; i++) face.px[i] = (uint8_t)(i * 7 + (i / 48) * 3);
    ferc_image fr = {320, 240, 3, calloc(320 * 240 * 3, 1)};
    for (int y = 0; y < 192; y++)
        for (int x = 0; x < 192; x++)
            for (int c = 0; c < 3; c++) fr.px[((size_t)(y + 20) * 320 + x + 100) * 3 + c] = face.px[(y / 4) * 48 + x / 4];
    uint8_t out[48 * 48];
    ferc_haar_box b = {100, 20, 192, 192, 0};
    ferc_faces_crop(&fr, b, 1.0, 48, out);
    CHECK(memcmp(out, face.px, sizeof out) == 0);
    /* crop 0.5 of a box twice the size centred on the face square: same square */
    ferc_haar_box b2 = {4, -76, 384, 384, 0};
    ferc_faces_crop(&fr, b2, 0.5, 48, out);
    CHECK(memcmp(out, face.px, sizeof out) == 0);
    /* beyond the frame the border is replicated: a box hanging off the left edge */
    ferc_haar_box b3 = {-40, 0, 80, 80, 0};
    ferc_faces_crop(&fr, b3, 1.0, 8, out);
    CHECK(out[0] == out[1] && out[1] == out[2]); /* columns 0..3 of 8 map to x < 0 -> column 0 */
    /* non-integer shrink (2.5 source pixels per output pixel) of a ramp,
     * against a brute-force supersampled area average */
    ferc_image ramp = {120, 10, 1, malloc(1200)};
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 120; x++) ramp.px[y * 120 + x] = (uint8_t)(x * 2 + (x % 3) * 5);
    ferc_haar_box rb = {0, -55, 120, 120, 0};
    uint8_t ro[48 * 48];
    ferc_faces_crop(&ramp, rb, 1.0, 48, ro);
    int worst = 0;
    for (int ox = 0; ox < 48; ox++) {
        double sum = 0;
        for (int k = 0; k < 10000; k++) sum += ramp.px[(int)((ox + (k + 0.5) / 10000) * 2.5)];
        int d = abs((int)ro[20 * 48 + ox] - (int)lround(sum / 10000));
        if (d > worst) worst = d;
    }
    CHECKF(worst <= 1, "worst difference %d", worst);
    free(ramp.px);
    free(face.px), free(fr.px);
    return 0;
}

static int test_stills(void)
{
    if (!have_all()) SKIP("needs %s, the opencv-data cascade and %s", model_path, ck_root);
    ferc_err e;
    ferc_faces *f = open_default(&e);
    CHECK(f != NULL);
    if (!f) return 0;
    /* an independent copy of the network to classify the originals */
    ferc_config cfg;
    ferc_net net;
    memset(&net, 0, sizeof net);
    CHECK(ferc_ckpt_read_config(model_path, &cfg, &e) == 0);
    ferc_arch arch;
    ferc_arch_from_config(&arch, &cfg);
    ferc_rng rng;
    ferc_rng_seed(&rng, 7);
    CHECK(ferc_net_init(&net, &arch, &rng, &e) == 0 && ferc_ckpt_load(model_path, &net, NULL, NULL, &e) == 0 &&
          ferc_net_reserve(&net, 1, &e) == 0);
    const int K = cfg.n_classes;
    synth_faces fs;
    synth_faces_list(&fs, ck_root);
    const int W = 640, H = 480;
    ferc_image fr = {W, H, 1, malloc(W * H)};
    int n_img = 0, one_face = 0, overlap = 0, same_crop = 0, same_orig = 0;
    ferc_rng_seed(&rng, 3);
    for (int i = 0; i < fs.n; i += fs.n / 40) {
        ferc_image face;
        CHECK(ferc_image_load(&face, fs.path[i], &e) == 0);
        int size = 120 + (int)ferc_rng_below(&rng, 140);
        int x = (int)ferc_rng_below(&rng, (uint32_t)(W - size)), y = (int)ferc_rng_below(&rng, (uint32_t)(H - size));
        synth_background(fr.px, W, H, (int)(i % 3), &rng);
        synth_paste(fr.px, W, H, &face, x, y, size, &e);
        ferc_face *faces;
        int n;
        CHECK(ferc_faces_analyze(f, &fr, 0, &faces, &n, &e) == 0);
        n_img++;
        one_face += n == 1;
        if (n >= 1) {
            ferc_haar_box want = {x, y, size, size, 0};
            overlap += ferc_haar_iou(faces[0].box, want) >= 0.5;
            CHECK(faces[0].track == 0);
            /* the same crop through the independent net, on one thread as the
             * pipeline classifies a single face: identical probabilities */
            uint8_t crop[48 * 48];
            float xin[48 * 48], p[FERC_MAX_CLASSES], po[FERC_MAX_CLASSES];
            ferc_faces_crop(&fr, faces[0].box, 1.0, 48, crop);
            ferc_normalize(crop, 48, cfg.mean, cfg.std, xin);
            const int nt = omp_get_max_threads();
            omp_set_num_threads(1);
            ferc_predict(&net, xin, 1, p, NULL);
            omp_set_num_threads(nt);
            same_crop += !memcmp(p, faces[0].prob, sizeof(float) * K) && faces[0].label == ferc_argmax(p, K);
            ferc_normalize(face.px, 48, cfg.mean, cfg.std, xin);
            ferc_predict(&net, xin, 1, po, NULL);
            same_orig += faces[0].label == ferc_argmax(po, K);
        }
        ferc_image_free(&face);
    }
    printf("  %d images: %d with one face, %d overlapping the paste, %d identical to the crop's prediction, "
           "%d with the original's label\n", n_img, one_face, overlap, same_crop, same_orig);
    CHECK(one_face == n_img && overlap == n_img && same_crop == n_img);
    CHECK(same_orig >= n_img * 9 / 10);
    /* a face-free frame: nothing */
    synth_background(fr.px, W, H, SYNTH_GRADIENT, &rng);
    ferc_face *faces;
    int n = -1;
    CHECK(ferc_faces_analyze(f, &fr, 0, &faces, &n, &e) == 0 && n == 0);
    synth_faces_free(&fs);
    free(fr.px);
    ferc_net_free(&net);
    ferc_config_free(&cfg);
    ferc_faces_free(f);
    return 0;
}

/* A face drifting across 30 frames: one track id throughout; full scans on
 * frames 0, 10, 20 only; an RGB frame gives the same boxes as its gray copy. */
static int test_video(void)
{
    if (!have_all()) SKIP("needs %s, the opencv-data cascade and %s", model_path, ck_root);
    ferc_err e;
    ferc_faces *f = open_default(&e);
    CHECK(f != NULL);
    if (!f) return 0;
    synth_faces fs;
    synth_faces_list(&fs, ck_root);
    ferc_image face;
    CHECK(ferc_image_load(&face, fs.path[fs.n / 2], &e) == 0);
    const int W = 480, H = 360;
    ferc_image fr = {W, H, 1, malloc(W * H)}, rgb = {W, H, 3, malloc(W * H * 3)};
    ferc_rng rng;
    ferc_rng_seed(&rng, 5);
    int found = 0, same_id = 0, full = 0, full_at_10 = 1, rgb_same = 0;
    /* a single face is classified on one thread; the caller's count comes back */
    const int nt = omp_get_max_threads();
    for (int t = 0; t < 30; t++) {
        synth_background(fr.px, W, H, SYNTH_GRADIENT, &rng);
        synth_paste(fr.px, W, H, &face, 40 + 5 * t, 60 + 2 * t, 150, &e);
        ferc_face *faces;
        int n;
        CHECK(ferc_faces_analyze(f, &fr, 1, &faces, &n, &e) == 0);
        const ferc_faces_timing *tm = ferc_faces_last_timing(f);
        found += n == 1;
        same_id += n == 1 && faces[0].track == 1;
        full += tm->full_scan;
        if ((t % 10 == 0) != tm->full_scan) full_at_10 = 0;
    }
    for (int i = 0; i < W * H; i++) rgb.px[3 * i] = rgb.px[3 * i + 1] = rgb.px[3 * i + 2] = fr.px[i];
    printf("  30 frames: face found in %d, track 1 in %d, %d full scans\n", found, same_id, full);
    CHECK(found == 30 && same_id == 30 && full == 3 && full_at_10);
    CHECK(omp_get_max_threads() == nt);
    /* RGB input: gray weights keep equal channels unchanged, so the result equals the gray frame's */
    ferc_face *fa, *fb;
    int na, nb;
    ferc_faces_reset(f);
    CHECK(ferc_faces_analyze(f, &fr, 0, &fa, &na, &e) == 0);
    ferc_face a0 = na ? fa[0] : (ferc_face){0};
    CHECK(ferc_faces_analyze(f, &rgb, 0, &fb, &nb, &e) == 0);
    rgb_same = na == nb && na == 1 && !memcmp(&a0, &fb[0], sizeof a0);
    CHECK(rgb_same);
    ferc_image_free(&face);
    free(fr.px), free(rgb.px);
    synth_faces_free(&fs);
    ferc_faces_free(f);
    return 0;
}

static int test_errors(void)
{
    ferc_err e;
    ferc_faces_opts o;
    ferc_faces_opts_default(&o);
    o.model = "/nonexistent/model.h5";
    CHECK(ferc_faces_new(&o, &e) == NULL && strstr(e.msg, "/nonexistent/model.h5"));
    if (access(model_path, R_OK)) SKIP("needs %s", model_path);
    o.model = model_path;
    o.cascade = "/nonexistent/cascade.xml";
    CHECK(ferc_faces_new(&o, &e) == NULL && strstr(e.msg, "/nonexistent/cascade.xml"));
    o.cascade = NULL;
    o.crop = 0;
    CHECK(ferc_faces_new(&o, &e) == NULL && strstr(e.msg, "crop"));
    return 0;
}

int main(void)
{
    const char *base = getenv("FERC_DATASETS");
    snprintf(ck_root, sizeof ck_root, "%s/CK+48", base ? base : "../shared/datasets");
    RUN(test_crop);
    RUN(test_stills);
    RUN(test_video);
    RUN(test_errors);
    return TEST_DONE("test_faces");
}
