/* test_metrics.c: metrics on hand-made predictions (values worked out by
 * hand), the Wilson interval against Newcombe (1998), McNemar, pooling of
 * confusion matrices over checkpoints, folder -> class mapping (synonyms,
 * aliases, unknown folders, partial and no overlap, through a real dataset
 * load), test-time augmentation views, the bitmap font, and the heat map and
 * line plot PNGs decoded back.
 *
 * Also the scorer of tests/sk_metrics.py:
 *   test_metrics --score FILE
 * reads "K" then lines "truth pred p_0 .. p_K-1" and prints the metrics as
 * JSON (doubles with 17 digits) for comparison with scikit-learn. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "classmap.h"
#include "config.h"
#include "dataset.h"
#include "font.h"
#include "image.h"
#include "metrics.h"
#include "plot.h"
#include "rng.h"
#include "test.h"
#include "tta.h"

static char tdir[64];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void fill(ferc_confusion *c, const int *t, const int *p, int n)
{
    for (int i = 0; i < n; i++) ferc_confusion_add(c, t[i], p[i], NULL, NULL);
}

/* 10 predictions over 3 classes; expected values worked out by hand:
 *   cm = [[3,1,0],[1,2,1],[0,0,2]]  (rows true)
 *   precision = 3/4, 2/3, 2/3; recall = 3/4, 2/4, 2/2
 *   f1 = 0.75, 2(2/3)(1/2)/(2/3+1/2) = 4/7, 2(2/3)(1)/(5/3) = 4/5 */
static int test_hand_made(void)
{
    const int t[10] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2}, p[10] = {0, 0, 0, 1, 0, 1, 1, 2, 2, 2};
    ferc_confusion c;
    ferc_metrics m;
    CHECK(ferc_confusion_init(&c, 3, NULL) == 0);
    fill(&c, t, p, 10);
    CHECK(ferc_metrics_compute(&c, &m, NULL) == 0);
    const int64_t want[3][3] = {{3, 1, 0}, {1, 2, 1}, {0, 0, 2}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) CHECK(c.cm[i][j] == want[i][j]);
    CHECK(m.n == 10 && m.correct == 7);
    CHECK_CLOSE(m.accuracy, 0.7, 1e-15, 0);
    CHECK_CLOSE(m.precision[0], 0.75, 1e-15, 0);
    CHECK_CLOSE(m.precision[1], 2.0 / 3, 1e-15, 0);
    CHECK_CLOSE(m.precision[2], 2.0 / 3, 1e-15, 0);
    CHECK_CLOSE(m.recall[0], 0.75, 1e-15, 0);
    CHECK_CLOSE(m.recall[1], 0.5, 1e-15, 0);
    CHECK_CLOSE(m.recall[2], 1.0, 1e-15, 0);
    CHECK_CLOSE(m.f1[0], 0.75, 1e-15, 0);
    CHECK_CLOSE(m.f1[1], 4.0 / 7, 1e-15, 0);
    CHECK_CLOSE(m.f1[2], 0.8, 1e-15, 0);
    CHECK_CLOSE(m.balanced_accuracy, (0.75 + 0.5 + 1.0) / 3, 1e-15, 0);
    CHECK_CLOSE(m.macro_f1, (0.75 + 4.0 / 7 + 0.8) / 3, 1e-15, 0);
    CHECK(m.support[1] == 4 && m.predicted[2] == 3 && m.n_present == 3);
    CHECK(isnan(m.top2)); /* no probabilities given */
    /* out-of-range class indices are refused */
    ferc_err e;
    CHECK(ferc_confusion_add(&c, 3, 0, NULL, &e) == -1 && strstr(e.msg, "out of range"));
    CHECK(ferc_confusion_add(&c, 0, -1, NULL, &e) == -1);
    CHECK(ferc_confusion_init(&c, 0, &e) == -1 && ferc_confusion_init(&c, FERC_MAX_CLASSES + 1, &e) == -1);
    ferc_confusion z;
    ferc_confusion_init(&z, 3, NULL);
    CHECK(ferc_metrics_compute(&z, &m, &e) == -1 && strstr(e.msg, "no predictions"));
    return 0;
}

/* A class absent from the data and a class never predicted. */
static int test_absent_classes(void)
{
    /* class 3 never occurs as truth but is predicted once; class 2 never predicted */
    const int t[6] = {0, 0, 1, 1, 2, 2}, p[6] = {0, 3, 1, 1, 0, 1};
    ferc_confusion c;
    ferc_metrics m;
    ferc_confusion_init(&c, 4, NULL);
    fill(&c, t, p, 6);
    CHECK(ferc_metrics_compute(&c, &m, NULL) == 0);
    CHECK(m.n_present == 3);
    CHECK(isnan(m.recall[3]) && isnan(m.f1[3]));  /* undefined: no support */
    CHECK(m.precision[3] == 0.0);                  /* predicted once, wrong */
    CHECK(m.precision[2] == 0.0 && m.recall[2] == 0.0 && m.f1[2] == 0.0);
    /* recalls 1/2, 1, 0 over the three present classes */
    CHECK_CLOSE(m.balanced_accuracy, 0.5, 1e-15, 0);
    /* f1: class 0 p=1/2 r=1/2 -> 1/2; class 1 p=2/3 r=1 -> 4/5; class 2 -> 0 */
    CHECK_CLOSE(m.macro_f1, (0.5 + 0.8 + 0.0) / 3, 1e-15, 0);
    return 0;
}

static int test_top2(void)
{
    const float p1[3] = {0.5f, 0.3f, 0.2f}, tie[3] = {0.4f, 0.3f, 0.3f};
    CHECK(ferc_topk_hit(p1, 3, 0, 2) && ferc_topk_hit(p1, 3, 1, 2) && !ferc_topk_hit(p1, 3, 2, 2));
    CHECK(ferc_topk_hit(p1, 3, 0, 1) && !ferc_topk_hit(p1, 3, 1, 1));
    CHECK(ferc_topk_hit(tie, 3, 2, 2)); /* tied with the second place: a hit */
    ferc_confusion c;
    ferc_metrics m;
    ferc_confusion_init(&c, 3, NULL);
    ferc_confusion_add(&c, 1, 0, p1, NULL); /* hit */
    ferc_confusion_add(&c, 2, 0, p1, NULL); /* miss */
    ferc_confusion_add(&c, 0, 0, p1, NULL); /* hit */
    ferc_confusion_add(&c, 0, 0, p1, NULL); /* hit */
    ferc_metrics_compute(&c, &m, NULL);
    CHECK_CLOSE(m.top2, 0.75, 1e-15, 0);
    return 0;
}

/* Wilson intervals published by Newcombe (1998), Stat. Med. 17:857, table I. */
static int test_wilson(void)
{
    const struct {
        int x, n;
        double lo, hi;
    } ref[4] = {{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0.0, 0.1611}, {1, 29, 0.0061, 0.1718}};
    for (int i = 0; i < 4; i++) {
        double lo, hi;
        ferc_wilson(ref[i].x, ref[i].n, FERC_Z95, &lo, &hi);
        CHECK_CLOSE(lo, ref[i].lo, 5e-5, 0);
        CHECK_CLOSE(hi, ref[i].hi, 5e-5, 0);
    }
    double lo, hi;
    ferc_wilson(20, 20, FERC_Z95, &lo, &hi);
    CHECK(hi == 1.0 && lo > 0.8 && lo < 0.85);
    ferc_wilson(0, 0, FERC_Z95, &lo, &hi);
    CHECK(lo == 0.0 && hi == 1.0);
    return 0;
}

static int test_mcnemar_mean_std(void)
{
    CHECK(ferc_mcnemar_p(0, 0) == 1.0);
    CHECK_CLOSE(ferc_mcnemar_p(10, 0), 2.0 / 1024.0, 1e-12, 0); /* 2 * 0.5^10 */
    CHECK_CLOSE(ferc_mcnemar_p(0, 10), 2.0 / 1024.0, 1e-12, 0);
    CHECK(ferc_mcnemar_p(5, 5) == 1.0);
    /* b=2, c=8: 2 * (1 + 10 + 45) / 1024 */
    CHECK_CLOSE(ferc_mcnemar_p(2, 8), 2.0 * 56.0 / 1024.0, 1e-12, 0);
    double p = ferc_mcnemar_p(4000, 4200); /* large n stays finite */
    CHECK(p > 0.0 && p < 1.0);
    const double v[5] = {1, 2, 3, 4, NAN};
    double mean, sd;
    ferc_mean_std(v, 5, &mean, &sd);
    CHECK_CLOSE(mean, 2.5, 1e-15, 0);
    CHECK_CLOSE(sd, sqrt(5.0 / 3.0), 1e-15, 0);
    ferc_mean_std(v, 1, &mean, &sd);
    CHECK(mean == 1.0 && sd == 0.0);
    ferc_mean_std(v + 4, 1, &mean, &sd);
    CHECK(isnan(mean));
    return 0;
}

/* Pooling checkpoints: the summed confusion equals the confusion of all
 * predictions together, and its metrics are the pooled metrics. */
static int test_aggregation(void)
{
    ferc_rng r;
    ferc_rng_seed(&r, 7);
    enum { K = 5, F = 4, N = 300 };
    ferc_confusion fold[F], sum, all;
    ferc_confusion_init(&all, K, NULL);
    ferc_confusion_init(&sum, K, NULL);
    float probs[K];
    for (int f = 0; f < F; f++) {
        ferc_confusion_init(&fold[f], K, NULL);
        for (int i = 0; i < N + f * 13; i++) {
            int t = (int)ferc_rng_below(&r, K), p = ferc_rng_uniform(&r) < 0.6f ? t : (int)ferc_rng_below(&r, K);
            for (int k = 0; k < K; k++) probs[k] = ferc_rng_uniform(&r);
            probs[p] = 2.0f;
            ferc_confusion_add(&fold[f], t, p, probs, NULL);
            ferc_confusion_add(&all, t, p, probs, NULL);
        }
        CHECK(ferc_confusion_sum(&sum, &fold[f], NULL) == 0);
    }
    CHECK(memcmp(sum.cm, all.cm, sizeof sum.cm) == 0);
    CHECK(sum.top2 == all.top2 && sum.n_prob == all.n_prob);
    ferc_metrics ms, ma;
    ferc_metrics_compute(&sum, &ms, NULL);
    ferc_metrics_compute(&all, &ma, NULL);
    CHECK(ms.n == F * N + 13 * (0 + 1 + 2 + 3));
    CHECK(ms.accuracy == ma.accuracy && ms.macro_f1 == ma.macro_f1 && ms.top2 == ma.top2);
    int64_t tot = 0;
    for (int f = 0; f < F; f++) tot += fold[f].cm[2][3];
    CHECK(tot == sum.cm[2][3]);
    ferc_confusion other;
    ferc_confusion_init(&other, K + 1, NULL);
    ferc_err e;
    CHECK(ferc_confusion_sum(&sum, &other, &e) == -1 && strstr(e.msg, "6-class"));
    return 0;
}

static void set_classes(ferc_config *c, const char *const *names, int n)
{
    ferc_config_defaults(c);
    c->n_classes = n;
    for (int i = 0; i < n; i++) snprintf(c->classes[i], FERC_NAME, "%s", names[i]);
    c->n_aliases = 0;
}

static int test_synonyms(void)
{
    ferc_config c;
    const char *cls[5] = {"anger", "happy", "sadness", "surprise", "fear"};
    set_classes(&c, cls, 5);
    CHECK(ferc_classmap_class_of(&c, "anger") == 0);
    CHECK(ferc_classmap_class_of(&c, "Angry") == 0);
    CHECK(ferc_classmap_class_of(&c, "mad") == 0);
    CHECK(ferc_classmap_class_of(&c, "happiness") == 1);
    CHECK(ferc_classmap_class_of(&c, "joy") == 1);
    CHECK(ferc_classmap_class_of(&c, "sad") == 2);
    CHECK(ferc_classmap_class_of(&c, "SURPRISED") == 3);
    CHECK(ferc_classmap_class_of(&c, "afraid") == 4 && ferc_classmap_class_of(&c, "fearful") == 4);
    CHECK(ferc_classmap_class_of(&c, "neutral") == -1);  /* a synonym group the model lacks */
    CHECK(ferc_classmap_class_of(&c, "calm") == -1);
    CHECK(ferc_classmap_class_of(&c, "disgust") == -1);
    CHECK(ferc_classmap_class_of(&c, "cats") == -1);     /* in no group */
    CHECK(ferc_classmap_class_of(&c, "") == -1);
    CHECK(ferc_emotion_group("calm") == ferc_emotion_group("neutral") && ferc_emotion_group("cats") == -1);
    CHECK(!strcmp(ferc_emotion_canonical(ferc_emotion_group("joy")), "happy"));
    /* the checkpoint's own aliases come first; and a class known only by an alias */
    const char *cls2[2] = {"joyful", "grumpy"};
    set_classes(&c, cls2, 2);
    c.n_aliases = 2;
    snprintf(c.alias_from[0], FERC_NAME, "happy");
    snprintf(c.alias_to[0], FERC_NAME, "joyful");
    snprintf(c.alias_from[1], FERC_NAME, "cross");
    snprintf(c.alias_to[1], FERC_NAME, "grumpy");
    CHECK(ferc_classmap_class_of(&c, "happy") == 0);
    CHECK(ferc_classmap_class_of(&c, "happiness") == 0); /* happiness ~ happy = joyful */
    CHECK(ferc_classmap_class_of(&c, "cross") == 1);
    CHECK(ferc_classmap_class_of(&c, "anger") == -1);
    return 0;
}

/* Folder maps: unknown folders, partial overlap, none at all. */
static int test_folder_map(void)
{
    ferc_config c;
    const char *cls[4] = {"anger", "contempt", "happy", "surprise"};
    set_classes(&c, cls, 4);
    const char *f1[6] = {"surprised", "angry", "neutral", "happiness", "sad", "cats"};
    ferc_folder_map m;
    CHECK(ferc_classmap_build(&c, f1, 6, &m, NULL) == 0);
    CHECK(m.n == 6 && m.n_mapped == 3);
    /* sorted by name: angry cats happiness neutral sad surprised */
    CHECK(!strcmp(m.name[0], "angry") && m.cls[0] == 0);
    CHECK(!strcmp(m.name[1], "cats") && m.cls[1] == -1);
    CHECK(!strcmp(m.name[2], "happiness") && m.cls[2] == 2);
    CHECK(!strcmp(m.name[3], "neutral") && m.cls[3] == -1);
    CHECK(!strcmp(m.name[4], "sad") && m.cls[4] == -1);
    CHECK(!strcmp(m.name[5], "surprised") && m.cls[5] == 3);
    ferc_config d = c;
    d.text = NULL;
    CHECK(ferc_classmap_apply(&d, &m, "root", NULL) == 0);
    CHECK(d.n_aliases == 3);
    CHECK(ferc_config_class_of(&d, "angry") == 0 && ferc_config_class_of(&d, "surprised") == 3);
    CHECK(ferc_config_class_of(&d, "cats") == -1 && ferc_config_class_of(&d, "sad") == -1);
    /* no overlap at all: an error naming both sides */
    const char *f2[2] = {"cats", "dogs"};
    ferc_err e;
    CHECK(ferc_classmap_build(&c, f2, 2, &m, NULL) == 0 && m.n_mapped == 0);
    CHECK(ferc_classmap_apply(&d, &m, "pets", &e) == -1);
    CHECK(strstr(e.msg, "pets") && strstr(e.msg, "no folder matches") && strstr(e.msg, "dogs") &&
          strstr(e.msg, "contempt"));
    return 0;
}

static void write_img(const char *dir, const char *folder, const char *file, uint8_t v)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, folder);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/%s/%s", dir, folder, file);
    uint8_t px[64];
    memset(px, v, sizeof px);
    ferc_png_write(p, px, 8, 8, 1, NULL);
}

/* Scan a real folder tree, apply, and load it with the dataset loader: the
 * unknown folder is not loaded, synonyms carry their labels. */
static int test_scan_and_load(void)
{
    char root[128];
    snprintf(root, sizeof root, "%s/ds", tdir);
    mkdir(root, 0777);
    write_img(root, "angry", "a1.png", 10);
    write_img(root, "angry", "a2.png", 11);
    write_img(root, "happiness", "h1.png", 20);
    write_img(root, "neutral", "n1.png", 30);
    write_img(root, "neutral", "n2.png", 31);
    write_img(root, "surprise", "s1.png", 40);
    char hidden[160];
    snprintf(hidden, sizeof hidden, "%s/.cache", root);
    mkdir(hidden, 0777);
    ferc_config c;
    const char *cls[3] = {"anger", "happy", "surprise"};
    set_classes(&c, cls, 3);
    c.input_size = 8;
    ferc_folder_map m;
    ferc_err e;
    CHECK(ferc_classmap_scan(&c, root, &m, &e) == 0);
    CHECK(m.n == 4 && m.n_mapped == 3); /* .cache ignored; neutral unmapped */
    ferc_config d = c;
    d.text = NULL;
    CHECK(ferc_classmap_apply(&d, &m, root, &e) == 0);
    ferc_dataset ds;
    const char *roots[1] = {root};
    CHECK(ferc_dataset_load(&ds, &d, roots, 1, NULL, NULL, &e) == 0);
    CHECK(ds.n == 4);
    CHECK(ds.class_count[0] == 2 && ds.class_count[1] == 1 && ds.class_count[2] == 1);
    for (int i = 0; i < ds.n; i++) CHECK(!strstr(ds.file[i], "neutral"));
    for (int i = 0; i < ds.n; i++)
        if (strstr(ds.file[i], "angry")) CHECK(ds.label[i] == 0 && ds.pixels[(size_t)i * 64] / 10 == 1);
    ferc_dataset_free(&ds);
    /* errors: missing root, a file as root, no sub-folders */
    char p[160];
    snprintf(p, sizeof p, "%s/nowhere", tdir);
    CHECK(ferc_classmap_scan(&c, p, &m, &e) == -1 && strstr(e.msg, "not found"));
    snprintf(p, sizeof p, "%s/angry/a1.png", root);
    CHECK(ferc_classmap_scan(&c, p, &m, &e) == -1 && strstr(e.msg, "not a folder"));
    snprintf(p, sizeof p, "%s/happiness", root);
    CHECK(ferc_classmap_scan(&c, p, &m, &e) == -1 && strstr(e.msg, "no sub-folders"));
    return 0;
}

static int test_tta(void)
{
    enum { S = 12 };
    uint8_t img[S * S];
    for (int i = 0; i < S * S; i++) img[i] = (uint8_t)(i * 7 % 256);
    float v[FERC_TTA_MAX_VIEWS * S * S], ref[S * S];
    ferc_normalize(img, S, 0.5f, 0.25f, ref);
    CHECK(ferc_tta_views(FERC_TTA_NONE) == 1 && ferc_tta_views(FERC_TTA_FLIP) == 2);
    CHECK(ferc_tta_views(FERC_TTA_TENCROP) == 11 && ferc_tta_first(FERC_TTA_TENCROP) == 1);
    CHECK(ferc_tta_parse("flip") == FERC_TTA_FLIP && ferc_tta_parse("ten-crop") == FERC_TTA_TENCROP);
    CHECK(ferc_tta_parse("rotate") == -1 && ferc_tta_parse("none") == FERC_TTA_NONE);
    ferc_tta_make(FERC_TTA_FLIP, img, S, 0.5f, 0.25f, v);
    CHECK(memcmp(v, ref, sizeof ref) == 0); /* view 0 is exactly ferc_normalize */
    int mirror = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) mirror &= v[S * S + y * S + x] == ref[y * S + (S - 1 - x)];
    CHECK(mirror);
    /* ten-crop: a constant image gives constant views; crop 0 of a gradient starts at the corner */
    uint8_t flat[S * S];
    memset(flat, 200, sizeof flat);
    ferc_tta_make(FERC_TTA_TENCROP, flat, S, 0.0f, 1.0f, v);
    int constant = 1;
    for (int i = 0; i < 11 * S * S; i++) constant &= fabsf(v[i] - 200.0f / 255.0f) < 1e-6f;
    CHECK(constant);
    uint8_t ramp[S * S];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) ramp[y * S + x] = (uint8_t)(x * 20);
    ferc_tta_make(FERC_TTA_TENCROP, ramp, S, 0.0f, 1.0f, v);
    /* crop side round(0.875*12) = 11: the top-left crop spans x 0..10, the top-right 1..11 */
    CHECK(fabsf(v[1 * S * S + 0] * 255.0f - 0.0f) < 1e-3f);
    CHECK(fabsf(v[2 * S * S + S - 1] * 255.0f - 220.0f) < 1e-3f);
    /* mirrored top-left crop: its last column is the crop's first */
    CHECK(fabsf(v[6 * S * S + S - 1] - v[1 * S * S + 0]) < 1e-6f);
    const float pv[3 * 2] = {0.2f, 0.8f, 0.6f, 0.4f, 0.0f, 0.0f};
    float avg[2];
    ferc_tta_average(FERC_TTA_FLIP, pv, 2, avg);
    CHECK_CLOSE(avg[0], 0.4, 1e-6, 0);
    CHECK_CLOSE(avg[1], 0.6, 1e-6, 0);
    return 0;
}

static int test_font(void)
{
    int blank = 0;
    for (int ch = 33; ch < 127; ch++) {
        const uint8_t *g = ferc_font_glyph(ch);
        int ink = 0;
        for (int r = 0; r < FERC_GLYPH_H; r++) {
            ink |= g[r];
            CHECK((g[r] & ~0x1f) == 0);
        }
        blank += !ink;
    }
    CHECK(blank == 0);
    const uint8_t *sp = ferc_font_glyph(' ');
    int ink = 0;
    for (int r = 0; r < FERC_GLYPH_H; r++) ink |= sp[r];
    CHECK(ink == 0);
    CHECK(ferc_font_glyph(200) == ferc_font_glyph('?') && ferc_font_glyph(7) == ferc_font_glyph('?'));
    /* distinct glyphs for characters that are easy to confuse */
    CHECK(memcmp(ferc_font_glyph('0'), ferc_font_glyph('O'), FERC_GLYPH_H) != 0);
    CHECK(memcmp(ferc_font_glyph('1'), ferc_font_glyph('l'), FERC_GLYPH_H) != 0);
    CHECK(ferc_text_width("abc", 2) == (3 * FERC_GLYPH_ADVANCE - 1) * 2 && ferc_text_width("", 3) == 0);
    return 0;
}

static int pixel_is(const ferc_image *im, int x, int y, ferc_rgb c)
{
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

/* The heat map PNG decodes to the documented size; cell colours follow the
 * row percentages; text was drawn (dark pixels inside a light cell). */
static int test_heatmap_png(void)
{
    const char *cls[3] = {"anger", "happy", "surprise"};
    int64_t cm[FERC_MAX_CLASSES * FERC_MAX_CLASSES] = {0};
    cm[0 * FERC_MAX_CLASSES + 0] = 8, cm[0 * FERC_MAX_CLASSES + 1] = 2;   /* row 0: 80% 20% 0% */
    cm[1 * FERC_MAX_CLASSES + 1] = 5;                                     /* row 1: 0 100% 0 */
    cm[2 * FERC_MAX_CLASSES + 0] = 1, cm[2 * FERC_MAX_CLASSES + 2] = 3;   /* row 2: 25% 0 75% */
    ferc_canvas c;
    ferc_err e;
    const char *title = "test: accuracy 0.8421, n = 19";
    CHECK(ferc_plot_confusion(&c, 3, cls, cm, title, &e) == 0);
    int w, h;
    ferc_plot_confusion_size(3, cls, title, &w, &h);
    CHECK(c.w == w && c.h == h);
    /* the grid is 3 cells of FERC_PLOT_CELL; margins hold the labels */
    const int lab = ferc_text_width("surprise", 2);
    CHECK(w > 3 * FERC_PLOT_CELL + lab && h > 3 * FERC_PLOT_CELL + lab);
    char path[128];
    snprintf(path, sizeof path, "%s/cm.png", tdir);
    CHECK(ferc_canvas_write_png(&c, path, &e) == 0);
    ferc_image im;
    CHECK(ferc_image_load_rgb(&im, path, &e) == 0);
    CHECK(im.w == w && im.h == h && im.c == 3);
    CHECK(memcmp(im.px, c.px, (size_t)w * h * 3) == 0);
    /* find the grid: the top-left cell's corner pixel has the 80% colour */
    ferc_rgb c80 = ferc_colormap_blues(0.8), c100 = ferc_colormap_blues(1.0), c0 = ferc_colormap_blues(0.0);
    int gx = -1, gy = -1;
    for (int y = 0; y < h && gx < 0; y++)
        for (int x = 0; x < w; x++)
            if (pixel_is(&im, x, y, c80)) {
                gx = x, gy = y;
                break;
            }
    CHECK(gx > 0 && gy > 0);
    if (gx > 0) {
        const int C = FERC_PLOT_CELL;
        CHECK(pixel_is(&im, gx + C + 2, gy + C + 2, c100));           /* (1,1): 100% */
        CHECK(pixel_is(&im, gx + 2 * C + 2, gy + 2, c0));             /* (0,2): 0% */
        CHECK(pixel_is(&im, gx + 2 * C + 2, gy + 2 * C + 2, ferc_colormap_blues(0.75)));
        int dark = 0; /* the count "0" drawn in the empty cell (0,2) */
        for (int y = gy; y < gy + C; y++)
            for (int x = gx + 2 * C; x < gx + 3 * C; x++) dark += im.px[((size_t)y * w + x) * 3] < 160;
        CHECK(dark > 10);
    }
    ferc_image_free(&im);
    ferc_canvas_free(&c);
    CHECK(ferc_plot_confusion(&c, 0, cls, cm, NULL, &e) == -1);
    return 0;
}

static int test_line_plot(void)
{
    ferc_canvas c;
    ferc_err e;
    CHECK(ferc_canvas_init(&c, 600, 400, (ferc_rgb){255, 255, 255}, &e) == 0);
    float xy[2 * 10];
    for (int i = 0; i < 10; i++) xy[2 * i] = (float)(i + 1), xy[2 * i + 1] = 1.0f / (float)(i + 1);
    xy[2 * 4 + 1] = NAN; /* a gap */
    ferc_series s = {xy, xy + 1, 10, 2, {200, 0, 0}, 2, "loss"};
    CHECK(ferc_plot_lines(&c, 0, 0, 600, 400, &s, 1, "loss", "epoch", "value", NAN, NAN, &e) == 0);
    int red = 0;
    for (size_t i = 0; i < (size_t)600 * 400; i++) red += c.px[3 * i] == 200 && c.px[3 * i + 1] == 0;
    CHECK(red > 200);
    char path[128];
    snprintf(path, sizeof path, "%s/lines.png", tdir);
    CHECK(ferc_canvas_write_png(&c, path, &e) == 0);
    ferc_image im;
    CHECK(ferc_image_load_rgb(&im, path, &e) == 0 && im.w == 600 && im.h == 400);
    ferc_image_free(&im);
    float nan2[2] = {NAN, NAN};
    ferc_series none = {nan2, nan2 + 1, 1, 2, {0, 0, 0}, 1, NULL};
    CHECK(ferc_plot_lines(&c, 0, 0, 600, 400, &none, 1, "x", NULL, NULL, NAN, NAN, &e) == -1);
    CHECK(ferc_plot_lines(&c, 0, 0, 40, 30, &s, 1, "x", NULL, NULL, NAN, NAN, &e) == -1);
    ferc_canvas_free(&c);
    CHECK(ferc_canvas_init(&c, 0, 10, (ferc_rgb){0, 0, 0}, &e) == -1);
    return 0;
}

/* --score FILE: the scorer used by tests/sk_metrics.py. */
static int score(const char *path)
{
    FILE *f = fopen(path, "r");
    int K;
    if (!f || fscanf(f, "%d", &K) != 1 || K < 1 || K > FERC_MAX_CLASSES) {
        fprintf(stderr, "test_metrics --score: cannot read %s\n", path);
        return 2;
    }
    ferc_confusion c;
    ferc_confusion_init(&c, K, NULL);
    int t, p;
    float probs[FERC_MAX_CLASSES];
    while (fscanf(f, "%d %d", &t, &p) == 2) {
        for (int k = 0; k < K; k++)
            if (fscanf(f, "%f", &probs[k]) != 1) return 2;
        ferc_err e;
        if (ferc_confusion_add(&c, t, p, probs, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 2;
        }
    }
    fclose(f);
    ferc_metrics m;
    ferc_err e;
    if (ferc_metrics_compute(&c, &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    printf("{\"n\": %lld, \"accuracy\": %.17g, \"balanced_accuracy\": %.17g, \"macro_f1\": %.17g, \"top2\": %.17g,\n",
           (long long)m.n, m.accuracy, m.balanced_accuracy, m.macro_f1, m.top2);
    const char *names[3] = {"precision", "recall", "f1"};
    const double *arr[3] = {m.precision, m.recall, m.f1};
    for (int a = 0; a < 3; a++) {
        printf(" \"%s\": [", names[a]);
        for (int k = 0; k < K; k++) {
            if (isnan(arr[a][k]))
                printf("%snull", k ? ", " : "");
            else
                printf("%s%.17g", k ? ", " : "", arr[a][k]);
        }
        printf("],\n");
    }
    printf(" \"confusion\": [");
    for (int i = 0; i < K; i++) {
        printf("%s[", i ? ", " : "");
        for (int j = 0; j < K; j++) printf("%s%lld", j ? ", " : "", (long long)c.cm[i][j]);
        printf("]");
    }
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--score")) return score(argv[2]);
    snprintf(tdir, sizeof tdir, "/tmp/ferc_test_metrics_XXXXXX");
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_hand_made);
    RUN(test_absent_classes);
    RUN(test_top2);
    RUN(test_wilson);
    RUN(test_mcnemar_mean_std);
    RUN(test_aggregation);
    RUN(test_synonyms);
    RUN(test_folder_map);
    RUN(test_scan_and_load);
    RUN(test_tta);
    RUN(test_font);
    RUN(test_heatmap_png);
    RUN(test_line_plot);
    nftw(tdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE("test_metrics");
}
