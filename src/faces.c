/* faces.c: detect -> crop -> classify -> track, for video frames and stills. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ckpt.h"
#include "dataset.h"
#include "faces.h"
#include "model.h"
#include "net.h"
#include "track.h"

struct ferc_faces {
    ferc_faces_opts o;
    ferc_config cfg;                /* the model's stored config: classes, mean, std */
    const char *names[FERC_MAX_CLASSES];
    ferc_net net;
    ferc_haar *cascade;
    ferc_haar_ws *ws;
    ferc_tracker tr;
    long frame;                     /* video frames analysed since the last reset */
    /* per-frame scratch, grown as needed */
    uint8_t *gray;
    size_t gray_cap;
    float *x, *probs;
    uint8_t *crop;
    int *slot;
    ferc_face *out;
    int cap;                        /* faces the per-face buffers hold */
    ferc_faces_timing t;
};

void ferc_faces_opts_default(ferc_faces_opts *o)
{
    memset(o, 0, sizeof *o);
    o->crop = 1.0;
    o->full_scan_every = 10;
    o->smooth = 0.3f;
    ferc_haar_params_default(&o->det);
    o->det.min_w = o->det.min_h = 40;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

ferc_faces *ferc_faces_new(const ferc_faces_opts *o, ferc_err *e)
{
    if (!o->model || !*o->model) {
        ferc_errf(e, "no model given");
        return NULL;
    }
    if (!(o->crop > 0.2 && o->crop < 5.0)) {
        ferc_errf(e, "crop factor %g out of range (0.2, 5)", o->crop);
        return NULL;
    }
    if (!(o->smooth > 0.0f && o->smooth <= 1.0f)) {
        ferc_errf(e, "smoothing factor %g out of range (0, 1]", o->smooth);
        return NULL;
    }
    ferc_faces *f = calloc(1, sizeof *f);
    if (!f) {
        ferc_errf(e, "out of memory");
        return NULL;
    }
    f->o = *o;
    f->o.model = NULL, f->o.cascade = NULL; /* not owned; only used here */
    if (f->o.full_scan_every < 1) f->o.full_scan_every = 1;
    if (ferc_model_load(o->model, &f->cfg, &f->net, NULL, e)) goto fail;
    if (f->cfg.n_classes < 1) {
        ferc_errf(e, "%s: the model has no classes", o->model);
        goto fail;
    }
    for (int k = 0; k < f->cfg.n_classes; k++) f->names[k] = f->cfg.classes[k];
    if (ferc_net_reserve(&f->net, 4, e)) goto fail;
    const char *cp = o->cascade ? o->cascade : ferc_haar_default_path();
    if (!cp) {
        ferc_errf(e, "no face cascade: %s not found; install Debian's opencv-data or give --cascade FILE",
                  FERC_HAAR_DEFAULT_CASCADE);
        goto fail;
    }
    if (!(f->cascade = ferc_haar_load(cp, e))) goto fail;
    if (!(f->ws = ferc_haar_ws_new())) {
        ferc_errf(e, "out of memory");
        goto fail;
    }
    f->o.det.threads = o->threads;
    ferc_tracker_init(&f->tr, f->cfg.n_classes);
    f->tr.alpha = o->smooth;
    return f;
fail:
    ferc_faces_free(f);
    return NULL;
}

void ferc_faces_free(ferc_faces *f)
{
    if (!f) return;
    ferc_net_free(&f->net);
    ferc_config_free(&f->cfg);
    ferc_haar_free(f->cascade);
    ferc_haar_ws_free(f->ws);
    ferc_tracker_free(&f->tr);
    free(f->gray), free(f->x), free(f->probs), free(f->crop), free(f->slot), free(f->out);
    free(f);
}

int ferc_faces_classes(const ferc_faces *f, const char *const **names)
{
    if (names) *names = f->names;
    return f->cfg.n_classes;
}

int ferc_faces_input_size(const ferc_faces *f) { return f->cfg.input_size; }

const ferc_faces_timing *ferc_faces_last_timing(const ferc_faces *f) { return &f->t; }

void ferc_faces_reset(ferc_faces *f)
{
    ferc_tracker_reset(&f->tr);
    f->frame = 0;
}

/* Gray of an RGB pixel with OpenCV's fixed-point BT.601 weights
 * (cv::cvtColor RGB2GRAY), so the detector sees what OpenCV would. */
static inline uint8_t rgb_gray(const uint8_t *p)
{
    return (uint8_t)((p[0] * 4899 + p[1] * 9617 + p[2] * 1868 + 8192) >> 14);
}

/* Gray value of pixel (x, y) with coordinates clamped into the frame. */
static inline int px_gray(const ferc_image *im, int x, int y)
{
    x = x < 0 ? 0 : x >= im->w ? im->w - 1 : x;
    y = y < 0 ? 0 : y >= im->h ? im->h - 1 : y;
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
    return im->c == 1 ? p[0] : rgb_gray(p);
}

/* Resampling taps of output pixel o along one axis: source interval
 * [a + o*step, a + (o+1)*step). step >= 1 (shrinking): each source pixel
 * weighted by its overlap with the interval (area averaging, as OpenCV's
 * INTER_AREA); step < 1 (enlarging): bilinear at the interval's centre.
 * Returns the number of taps (at most FACES_TAPS). */
#define FACES_TAPS 64
static int taps(double a, double step, int o, int *idx, float *w)
{
    int n = 0;
    if (step >= 1.0) {
        double lo = a + o * step, hi = lo + step;
        for (int i = (int)floor(lo); i < hi && n < FACES_TAPS; i++) {
            double l = i > lo ? i : lo, h = i + 1 < hi ? i + 1 : hi;
            if (h > l) idx[n] = i, w[n++] = (float)((h - l) / step);
        }
    } else {
        double c = a + (o + 0.5) * step - 0.5;
        int i = (int)floor(c);
        double f = c - i;
        idx[n] = i, w[n++] = (float)(1.0 - f);
        idx[n] = i + 1, w[n++] = (float)f;
    }
    return n;
}

void ferc_faces_crop(const ferc_image *frame, ferc_haar_box box, double crop, int S, uint8_t *out)
{
    /* square crop of side `side` centred on the box, resampled separably;
     * source coordinates outside the frame are clamped (border replicated) */
    double side = (box.w > box.h ? box.w : box.h) * crop;
    double x0 = box.x + box.w * 0.5 - side * 0.5, y0 = box.y + box.h * 0.5 - side * 0.5;
    double step = side / S;
    /* a crop wider than FACES_TAPS source pixels per output pixel is first
     * sampled more coarsely (a face over 64 x S pixels across) */
    int sub = step > FACES_TAPS ? (int)ceil(step / FACES_TAPS) : 1;
    int xi[FACES_TAPS], yi[FACES_TAPS];
    float xw[FACES_TAPS], yw[FACES_TAPS];
    for (int oy = 0; oy < S; oy++) {
        int ny = taps(y0 / sub, step / sub, oy, yi, yw);
        for (int ox = 0; ox < S; ox++) {
            int nx = taps(x0 / sub, step / sub, ox, xi, xw);
            float acc = 0.0f;
            for (int j = 0; j < ny; j++) {
                float row = 0.0f;
                for (int i = 0; i < nx; i++) row += xw[i] * (float)px_gray(frame, xi[i] * sub, yi[j] * sub);
                acc += yw[j] * row;
            }
            int v = (int)lrintf(acc);
            out[oy * S + ox] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

static int grow(ferc_faces *f, int n, ferc_err *e)
{
    if (n <= f->cap) return 0;
    int cap = n < 8 ? 8 : n * 2;
    const int S = f->cfg.input_size, K = f->cfg.n_classes;
    float *x = realloc(f->x, sizeof(float) * (size_t)cap * S * S);
    if (x) f->x = x;
    float *p = realloc(f->probs, sizeof(float) * (size_t)cap * K);
    if (p) f->probs = p;
    uint8_t *c = realloc(f->crop, (size_t)S * S);
    if (c) f->crop = c;
    int *s = realloc(f->slot, sizeof(int) * cap);
    if (s) f->slot = s;
    ferc_face *o = realloc(f->out, sizeof(ferc_face) * cap);
    if (o) f->out = o;
    if (!x || !p || !c || !s || !o) return ferc_errf(e, "out of memory for %d faces", n);
    f->cap = cap;
    return 0;
}

static int cmp_face_x(const void *a, const void *b)
{
    const ferc_face *p = a, *q = b;
    return p->box.x != q->box.x ? (p->box.x > q->box.x) - (p->box.x < q->box.x) : (p->box.y > q->box.y) - (p->box.y < q->box.y);
}

int ferc_faces_analyze(ferc_faces *f, const ferc_image *frame, int video, ferc_face **faces, int *n,
                       ferc_err *e)
{
    *faces = NULL, *n = 0;
    memset(&f->t, 0, sizeof f->t);
    if (!frame || !frame->px || frame->w < 1 || frame->h < 1 || (frame->c != 1 && frame->c != 3))
        return ferc_errf(e, "analyze: expected a gray or RGB image");
    double t0 = now_ms();
    /* gray frame for the detector */
    const uint8_t *gray = frame->px;
    size_t np = (size_t)frame->w * frame->h;
    if (frame->c == 3) {
        if (np > f->gray_cap) {
            uint8_t *g = realloc(f->gray, np);
            if (!g) return ferc_errf(e, "out of memory for a %dx%d frame", frame->w, frame->h);
            f->gray = g, f->gray_cap = np;
        }
        const uint8_t *s = frame->px;
        for (size_t i = 0; i < np; i++, s += 3) f->gray[i] = rgb_gray(s);
        gray = f->gray;
    }
    /* detect: full scan, or only near the faces tracked in the previous frame */
    ferc_haar_box *boxes = NULL;
    int nb = 0, live = 0;
    if (video)
        for (int i = 0; i < f->tr.n; i++) live += f->tr.t[i].missed <= f->tr.max_missed;
    int full = !video || !live || f->frame % f->o.full_scan_every == 0;
    if (full) {
        if (ferc_haar_detect(f->cascade, f->ws, gray, frame->w, frame->h, frame->w, &f->o.det, &boxes, &nb, e))
            return -1;
    } else {
        ferc_haar_box rois[64];
        int nr = 0, mn = 1 << 30, mx = 0;
        for (int i = 0; i < f->tr.n && nr < 64; i++) {
            const ferc_haar_box b = f->tr.t[i].box;
            if (f->tr.t[i].missed > f->tr.max_missed) continue;
            rois[nr] = ferc_haar_expand(b, 1.6, frame->w, frame->h);
            if (rois[nr].w > 0) nr++;
            if (b.w < mn) mn = b.w;
            if (b.w > mx) mx = b.w;
        }
        ferc_haar_params p = f->o.det;
        int lo = (int)(mn * 0.7), hi = (int)(mx * 1.4 + 1);
        if (lo > p.min_w) p.min_w = p.min_h = lo;
        p.max_w = p.max_h = hi;
        if (ferc_haar_detect_rois(f->cascade, f->ws, gray, frame->w, frame->h, frame->w, rois, nr, &p, &boxes, &nb,
                                  e))
            return -1;
    }
    double t1 = now_ms();
    f->t.detect = t1 - t0;
    f->t.full_scan = full;
    if (grow(f, nb, e)) {
        free(boxes);
        return -1;
    }
    /* crop (from the gray frame the detector used), normalise as in training, classify */
    const int S = f->cfg.input_size, K = f->cfg.n_classes;
    const ferc_image g = {frame->w, frame->h, 1, (uint8_t *)gray};
    for (int i = 0; i < nb; i++) {
        ferc_faces_crop(&g, boxes[i], f->o.crop, S, f->crop);
        ferc_normalize(f->crop, S, f->cfg.mean, f->cfg.std, f->x + (size_t)i * S * S);
    }
    /* A single face runs on this thread alone: one image is one sgemm per
     * layer, too small to split, and a second thread only adds fork/join
     * waits, which grow to tens of ms when another process holds a core.
     * Two or more faces keep all threads (one image per thread). OpenBLAS's
     * OpenMP build reads the caller's omp_get_max_threads(), so this also
     * keeps BLAS on one thread. */
    if (nb == 1) {
        int nt = omp_get_max_threads();
        omp_set_num_threads(1);
        ferc_predict(&f->net, f->x, nb, f->probs, NULL);
        omp_set_num_threads(nt);
    } else if (nb) {
        ferc_predict(&f->net, f->x, nb, f->probs, NULL);
    }
    double t2 = now_ms();
    f->t.classify = t2 - t1;
    /* track and smooth */
    if (video) {
        if (ferc_tracker_update(&f->tr, boxes, f->probs, nb, f->slot, e)) {
            free(boxes);
            return -1;
        }
        f->frame++;
    }
    for (int i = 0; i < nb; i++) {
        ferc_face *o = &f->out[i];
        memset(o, 0, sizeof *o);
        o->box = boxes[i];
        memcpy(o->raw, f->probs + (size_t)i * K, sizeof(float) * K);
        if (video) {
            const ferc_track *t = &f->tr.t[f->slot[i]];
            o->track = t->id;
            memcpy(o->prob, t->prob, sizeof(float) * K);
        } else {
            memcpy(o->prob, o->raw, sizeof(float) * K);
        }
        o->label = ferc_argmax(o->prob, K);
    }
    free(boxes);
    qsort(f->out, nb, sizeof *f->out, cmp_face_x);
    f->t.track = now_ms() - t2;
    *faces = f->out, *n = nb;
    return 0;
}
