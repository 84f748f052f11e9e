/* test_distill.c: the teacher's targets of train.distill (src/distill.c).
 * A small random network saved as an export is the teacher; its targets must
 * equal, image by image, the mean of ferc_predict's probabilities (model.c,
 * the inference path bin/eval uses) on the image and on its mirror made here;
 * two teachers in the list (the same file twice) give the same targets; a
 * higher temperature flattens them; a teacher with other classes, another
 * input size or normalisation, or a missing file is refused with a message
 * naming it. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "ckpt.h"
#include "distill.h"
#include "model.h"
#include "rng.h"
#include "test.h"

#define S 12
#define N 10
#define K 3

static char g_dir[64];
static char g_teacher[128];

static const char *k_ini = "[data]\n"
                           "path = /nonexistent\n"
                           "classes = anger, happy, neutral\n"
                           "input_size = 12\n"
                           "[model]\n"
                           "blocks = 1,1\n"
                           "widths = 4,8\n"
                           "fc = 8\n"
                           "dropout = 0\n";

static ferc_dataset g_ds;
static uint8_t g_pix[N * S * S];
static int g_label[N];

/* A random teacher, saved as an export under g_dir; returns 0 on success. */
static int make_teacher(const char *ini, const char *path)
{
    ferc_config c;
    ferc_err e;
    if (ferc_config_parse(&c, ini, "teacher.ini", NULL, NULL, &e)) {
        fprintf(stderr, "  %s\n", e.msg);
        return -1;
    }
    ferc_arch a;
    ferc_arch_from_config(&a, &c);
    ferc_rng r;
    ferc_rng_seed(&r, 7);
    ferc_net net;
    int rc = ferc_net_init(&net, &a, &r, &e);
    /* non-trivial BN statistics, so inference mode matters */
    for (size_t i = 0; !rc && i < net.n_buffers; i++) net.buffers[i] = 0.1f + 0.05f * (float)(i % 7);
    if (!rc) rc = ferc_ckpt_save(path, &net, &c, NULL, NULL, FERC_CKPT_EXPORT, &e);
    if (rc) fprintf(stderr, "  %s\n", e.msg);
    ferc_net_free(&net);
    ferc_config_free(&c);
    return rc;
}

static int student_cfg(ferc_config *c, const char *distill, float T)
{
    ferc_err e;
    if (ferc_config_parse(c, k_ini, "student.ini", NULL, NULL, &e)) {
        fprintf(stderr, "  %s\n", e.msg);
        return -1;
    }
    snprintf(c->distill, sizeof c->distill, "%s", distill);
    c->distill_temp = T;
    return 0;
}

static int test_targets_match_predict(void)
{
    ferc_config c;
    if (student_cfg(&c, g_teacher, 1.0f)) return 1;
    /* every other image, as a training split would pick them */
    int idx[N / 2];
    for (int j = 0; j < N / 2; j++) idx[j] = 2 * j + 1;
    float *t = calloc((size_t)N * K, sizeof(float));
    ferc_distill_info info;
    ferc_err e;
    CHECKF(ferc_distill_targets(&c, &g_ds, idx, N / 2, 4, t, &info, &e) == 0, "%s", e.msg);
    CHECK(info.n_teachers == 1);
    /* the independent path: ferc_predict on the image and its mirror */
    ferc_config tc;
    ferc_net tn;
    CHECKF(ferc_model_load(g_teacher, &tc, &tn, NULL, &e) == 0, "%s", e.msg);
    CHECK(ferc_net_reserve(&tn, 2, &e) == 0);
    double worst = 0.0;
    int right = 0, untouched = 1;
    for (int j = 0; j < N / 2; j++) {
        float x[2 * S * S], p[2 * K];
        ferc_normalize(g_pix + (size_t)idx[j] * S * S, S, c.mean, c.std, x);
        for (int r = 0; r < S; r++)
            for (int q = 0; q < S; q++) x[S * S + r * S + q] = x[r * S + (S - 1 - q)];
        ferc_predict(&tn, x, 2, p, NULL);
        float m[K];
        for (int k = 0; k < K; k++) {
            m[k] = (p[k] + p[K + k]) / 2;
            double d = fabs((double)m[k] - t[idx[j] * K + k]);
            worst = d > worst ? d : worst;
        }
        right += ferc_argmax(m, K) == g_label[idx[j]];
    }
    for (int j = 0; j < N; j += 2)
        for (int k = 0; k < K; k++) untouched &= t[j * K + k] == 0.0f;
    CHECKF(worst < 1e-6, "largest difference from ferc_predict %g", worst);
    CHECK(untouched);
    CHECK_CLOSE(info.acc[0], right / (double)(N / 2), 1e-12, 0);
    CHECK_CLOSE(info.acc_mean, right / (double)(N / 2), 1e-12, 0);

    /* the same teacher twice: the same targets, two teachers counted */
    ferc_config c2;
    char two[300];
    snprintf(two, sizeof two, " %s ,%s", g_teacher, g_teacher);
    if (student_cfg(&c2, two, 1.0f)) return 1;
    float *t2 = calloc((size_t)N * K, sizeof(float));
    CHECKF(ferc_distill_targets(&c2, &g_ds, idx, N / 2, 3, t2, &info, &e) == 0, "%s", e.msg);
    CHECK(info.n_teachers == 2);
    worst = 0.0;
    for (int i = 0; i < N * K; i++) worst = fmax(worst, fabs((double)t[i] - t2[i]));
    CHECKF(worst < 1e-6, "two copies differ from one by %g", worst);

    /* temperature 4: rows still sum to 1, and are flatter (higher entropy) */
    c2.distill_temp = 4.0f;
    CHECKF(ferc_distill_targets(&c2, &g_ds, idx, N / 2, 3, t2, &info, &e) == 0, "%s", e.msg);
    int flatter = 1;
    for (int j = 0; j < N / 2; j++) {
        double s = 0.0, h1 = 0.0, h4 = 0.0;
        for (int k = 0; k < K; k++) {
            double a = t[idx[j] * K + k], b = t2[idx[j] * K + k];
            s += b;
            h1 -= a > 0 ? a * log(a) : 0;
            h4 -= b > 0 ? b * log(b) : 0;
        }
        CHECK_CLOSE(s, 1.0, 1e-5, 0);
        flatter &= h4 > h1;
    }
    CHECK(flatter);
    free(t), free(t2);
    ferc_net_free(&tn);
    ferc_config_free(&tc);
    ferc_config_free(&c);
    ferc_config_free(&c2);
    return 0;
}

/* A teacher that does not fit is refused, naming the file and the field. */
static int expect_refused(const char *ini, const char *name, const char *want)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    if (ini && make_teacher(ini, path)) return -1;
    ferc_config c;
    if (student_cfg(&c, path, 2.0f)) return -1;
    int idx[2] = {0, 1};
    float t[N * K];
    ferc_distill_info info;
    ferc_err e;
    memset(&e, 0, sizeof e);
    int rc = ferc_distill_targets(&c, &g_ds, idx, 2, 2, t, &info, &e);
    CHECKF(rc == -1 && strstr(e.msg, name) && strstr(e.msg, want), "rc %d, message '%s', wanted '%s'", rc, e.msg,
           want);
    ferc_config_free(&c);
    return 0;
}

static int test_refusals(void)
{
    static const char other_classes[] = "[data]\npath = /x\nclasses = anger, neutral, happy\ninput_size = 12\n"
                                        "[model]\nblocks = 1,1\nwidths = 4,8\nfc = 8\n";
    static const char fewer_classes[] = "[data]\npath = /x\nclasses = anger, happy\ninput_size = 12\n"
                                        "[model]\nblocks = 1,1\nwidths = 4,8\nfc = 8\n";
    static const char other_size[] = "[data]\npath = /x\nclasses = anger, happy, neutral\ninput_size = 16\n"
                                     "[model]\nblocks = 1,1\nwidths = 4,8\nfc = 8\n";
    static const char other_norm[] = "[data]\npath = /x\nclasses = anger, happy, neutral\ninput_size = 12\n"
                                     "mean = 0.4\n[model]\nblocks = 1,1\nwidths = 4,8\nfc = 8\n";
    expect_refused(other_classes, "order.h5", "class 2 is 'neutral', data.classes has 'happy'");
    expect_refused(fewer_classes, "two.h5", "has 2 classes, data.classes has 3");
    expect_refused(other_size, "size16.h5", "takes 16x16 images");
    expect_refused(other_norm, "norm.h5", "data.mean 0.4");
    expect_refused(NULL, "missing.h5", "missing.h5");
    /* an empty entry in the list */
    ferc_config c;
    char list[300];
    snprintf(list, sizeof list, "%s,,%s", g_teacher, g_teacher);
    if (student_cfg(&c, list, 2.0f)) return 1;
    int idx[1] = {0};
    float t[N * K];
    ferc_distill_info info;
    ferc_err e;
    CHECK(ferc_distill_targets(&c, &g_ds, idx, 1, 1, t, &info, &e) == -1 && strstr(e.msg, "empty path"));
    ferc_config_free(&c);
    return 0;
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ferc-test-distill-%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_dir);
    if (system(cmd)) return 1;
    snprintf(g_teacher, sizeof g_teacher, "%s/teacher.h5", g_dir);
    /* random images that are not mirror-symmetric */
    ferc_rng r;
    ferc_rng_seed(&r, 3);
    for (int i = 0; i < N * S * S; i++) g_pix[i] = (uint8_t)ferc_rng_below(&r, 256);
    for (int i = 0; i < N; i++) g_label[i] = i % K;
    g_ds.n = N, g_ds.size = S, g_ds.n_classes = K, g_ds.pixels = g_pix, g_ds.label = g_label;
    if (make_teacher(k_ini, g_teacher)) return 1;
    RUN(test_targets_match_predict);
    RUN(test_refusals);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd)) return 1;
    return TEST_DONE("test_distill");
}
