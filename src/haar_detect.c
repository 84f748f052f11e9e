/* haar_detect.c: the scale pyramid, integral images and the cascade
 * evaluators behind ferc_haar_windows (see haar.h for the algorithm).
 *
 * Memory layout. Like OpenCV, every pyramid level's integral image lives in
 * one of two shared buffers with a common row stride, so a feature corner is
 * a fixed offset from its window's top-left corner at every level and the
 * offsets are computed once per call:
 *   - levels with window step 1 (scale >= 2) use the plain layout: integral
 *     column c of row r at base + r*S + c;
 *   - levels with step 2 (scale < 2) use a split layout: even columns first,
 *     odd columns H elements later (S = 2H): column c at base + r*S + c/2
 *     (c even) or base + r*S + H + (c-1)/2 (c odd).
 * In both, the window of candidate j of a row (x = j*step) starts at row
 * base + j, so candidates j..j+15 are 16 consecutive elements: the vector
 * evaluator loads each feature corner for 16 windows with one load.
 * Levels are packed left to right in shelves (OpenCV's layer_ofs scheme).
 *
 * Integral values are uint32 and wrap (OpenCV's CV_32S sums do the same);
 * a rectangle sum p0 - p1 - p2 + p3 computed modulo 2^32 is exact because the
 * true value fits: windows are at most 256x256 (haar.c refuses larger), so a
 * sum is below 255 * 256^2 < 2^24 (exact in float too) and a sum of squares
 * over the normalisation area below 65025 * 254^2 < 2^32.
 *
 * Bit-exactness with OpenCV: feature values are w0*s0 + w1*s1 (+ w2*s2) in
 * float times the float normalisation factor (products of integer sums below
 * 2^24 with small integer weights are exact, so FMA contraction could not
 * change them, but it is switched off anyway); leaf values are summed in
 * double in stage order; comparisons as in OpenCV's predictOrdered[Stump]. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "haar.h"
#include "haar_impl.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
/* 64-byte vectors without AVX-512 would change the calling convention, but
 * every function taking or returning one is always inlined. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define VL 16            /* windows evaluated together */
#define SCALAR_CUT 1     /* a block with this few windows left finishes them one at a time */
#define MAX_LEVELS 4096  /* guards against scale factors extremely close to 1 */
#define INLINE static inline __attribute__((always_inline))

typedef int32_t vi __attribute__((vector_size(64)));   /* 16 lanes */
typedef uint32_t vu __attribute__((vector_size(64)));
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi8 __attribute__((vector_size(32)));  /* 8 lanes */
typedef uint32_t vu8 __attribute__((vector_size(32)));
typedef float vf8 __attribute__((vector_size(32)));
typedef double vd __attribute__((vector_size(64)));    /* 8 lanes */
typedef int64_t vl __attribute__((vector_size(64)));

#define LO8(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HI8(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)
#define CAT16(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

/* One level of the pyramid. */
typedef struct {
    float scale;        /* OpenCV keeps scales as float */
    int sw, sh;         /* resized image: round(w/scale) x round(h/scale) */
    int step;           /* window step in x and y: 2 below scale 2, else 1 */
    int split;          /* layout: 0 plain, 1 split (see top) */
    size_t base;        /* element (0, 0) of the level's integral image in its buffer */
    int nx, ny;         /* candidate columns (x = j*step) and rows (y = i*step) */
    int bw, bh;         /* window size in the image: round(win * scale) */
} level;

/* A weak classifier node with its feature, corners as offsets in one layout. */
typedef struct {
    int32_t o[12];      /* rect k: corners o[4k..4k+3] = (x,y) (x+w,y) (x,y+h) (x+w,y+h) */
    float w[3];         /* rect weights */
    float thr;          /* node threshold */
    float left, right;  /* stumps: leaf values (leaves 0 and 1 of the tree, as OpenCV) */
    int nr;             /* 3 when w[2] != 0, else 2 (OpenCV tests weight[2] != 0) */
    double dleft, dright; /* the same leaf values as double (exact) */
} knode;

typedef struct {
    int level, y, j;
} hit;

struct ferc_haar_ws {
    uint32_t *buf[2];   /* per layout: sum plane then squares plane */
    size_t cap[2];      /* elements per plane */
    knode *kn[2];
    int kn_cap;
    level *lev;
    int lev_cap;
    int *task;          /* (level, row) pairs of the evaluation loop */
    int task_cap;
};

ferc_haar_ws *ferc_haar_ws_new(void)
{
    return calloc(1, sizeof(ferc_haar_ws));
}

void ferc_haar_ws_free(ferc_haar_ws *ws)
{
    if (!ws)
        return;
    for (int k = 0; k < 2; k++) {
        free(ws->buf[k]);
        free(ws->kn[k]);
    }
    free(ws->lev);
    free(ws->task);
    free(ws);
}

/* ---- bit-exact bilinear resize (OpenCV INTER_LINEAR_EXACT, 8-bit, 1 channel) */

/* Coefficients along one axis, as OpenCV's interpolationLinear::getCoeffs:
 * f = (d + 0.5) * (1 / (dsize / ssize)) - 0.5 in double, i = floor(f);
 * c1 = round_half_even((f - i) * 256), c0 = 256 - c1 (8.8 fixed point);
 * destinations with i < 0 take the first source sample ([0, mn)), those with
 * i >= ssize - 1 the last one ([mx, dsize)). */
static void lin_coeffs(int ssize, int dsize, int *ofs, uint16_t *cf, int *mn, int *mx)
{
    double scale = 1.0 / ((double)dsize / ssize);
    int lo = 0, hi = dsize;
    for (int d = 0; d < dsize; d++) {
        double t = scale * ((double)d + 0.5);
        double f = t - 0.5; /* two roundings, as OpenCV's softdouble: no FMA */
        int i = (int)floor(f);
        ofs[d] = 0;
        cf[2 * d] = 256;
        cf[2 * d + 1] = 0;
        if (i >= 0 && ssize > 1) {
            if (i < ssize - 1) {
                int c1 = (int)lrint((f - i) * 256.0);
                ofs[d] = i;
                cf[2 * d] = (uint16_t)(256 - c1);
                cf[2 * d + 1] = (uint16_t)c1;
            } else {
                ofs[d] = ssize - 1;
                hi = d < hi ? d : hi;
            }
        } else {
            lo = d + 1 > lo ? d + 1 : lo;
        }
    }
    *mn = lo;
    *mx = hi;
}

/* A resize from sw x sh to dw x dh, produced one destination row at a time.
 * Horizontal pass first: h[d] = c0 * s[i] + c1 * s[i + 1] (8.8 fixed point,
 * at most 65280); then rows: (c0 * hA + c1 * hB + 2^15) >> 16, or
 * (h + 128) >> 8 above/below the interior rows, as OpenCV's vlineSet. */
typedef struct {
    const uint8_t *src;
    int sw, sh, sstride, dw, dh;
    int *xo, *yo;
    uint16_t *xc, *yc;
    int xmin, xmax, ymin, ymax;
    uint16_t *hrow[2];   /* cached horizontal passes of two source rows */
    int tag[2];          /* their source row indices (-1: empty) */
    void *mem;
} resizer;

static int resizer_init(resizer *r, const uint8_t *src, int sw, int sh, int sstride, int dw, int dh)
{
    size_t n = sizeof(int) * (size_t)(dw + dh) + sizeof(uint16_t) * (size_t)(2 * dw + 2 * dh + 2 * dw) + 64;
    r->mem = malloc(n);
    if (!r->mem)
        return -1;
    r->src = src;
    r->sw = sw, r->sh = sh, r->sstride = sstride, r->dw = dw, r->dh = dh;
    r->xo = r->mem;
    r->yo = r->xo + dw;
    r->xc = (uint16_t *)(r->yo + dh);
    r->yc = r->xc + 2 * dw;
    r->hrow[0] = r->yc + 2 * dh;
    r->hrow[1] = r->hrow[0] + dw;
    r->tag[0] = r->tag[1] = -1;
    lin_coeffs(sw, dw, r->xo, r->xc, &r->xmin, &r->xmax);
    lin_coeffs(sh, dh, r->yo, r->yc, &r->ymin, &r->ymax);
    return 0;
}

static void hpass(const resizer *r, const uint8_t *s, uint16_t *out)
{
    int d = 0;
    for (; d < r->xmin; d++)
        out[d] = (uint16_t)(s[0] << 8);
    for (; d < r->xmax; d++) {
        const uint8_t *p = s + r->xo[d];
        out[d] = (uint16_t)(r->xc[2 * d] * p[0] + r->xc[2 * d + 1] * p[1]);
    }
    for (; d < r->dw; d++)
        out[d] = (uint16_t)(s[r->sw - 1] << 8);
}

/* Horizontal pass of source row sy, kept in a slot other than `keep`. */
static const uint16_t *hrow_get(resizer *r, int sy, int keep)
{
    for (int k = 0; k < 2; k++)
        if (r->tag[k] == sy)
            return r->hrow[k];
    int k = keep == 0 ? 1 : 0;
    hpass(r, r->src + (size_t)sy * (size_t)r->sstride, r->hrow[k]);
    r->tag[k] = sy;
    return r->hrow[k];
}

static int slot_of(const resizer *r, const uint16_t *h)
{
    return h == r->hrow[0] ? 0 : 1;
}

/* Destination row dy into out[dw]. */
static void resize_row(resizer *r, int dy, uint8_t *out)
{
    int dw = r->dw;
    if (r->dw == r->sw && r->dh == r->sh) { /* cv::resize copies when sizes match */
        memcpy(out, r->src + (size_t)dy * (size_t)r->sstride, (size_t)dw);
        return;
    }
    if (dy < r->ymin || dy >= r->ymax) {
        const uint16_t *h = hrow_get(r, dy < r->ymin ? 0 : r->sh - 1, -1);
        for (int d = 0; d < dw; d++)
            out[d] = (uint8_t)((h[d] + 128u) >> 8);
        return;
    }
    int sy = r->yo[dy];
    const uint16_t *a = hrow_get(r, sy, -1);
    const uint16_t *b = hrow_get(r, sy + 1, slot_of(r, a));
    uint32_t c0 = r->yc[2 * dy], c1 = r->yc[2 * dy + 1];
    for (int d = 0; d < dw; d++)
        out[d] = (uint8_t)((c0 * a[d] + c1 * b[d] + 32768u) >> 16);
}

void ferc_haar_resize(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst, int dw, int dh)
{
    resizer r;
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || resizer_init(&r, src, sw, sh, sstride, dw, dh))
        return;
    for (int y = 0; y < dh; y++)
        resize_row(&r, y, dst + (size_t)y * (size_t)dw);
    free(r.mem);
}

/* ---- pyramid levels ------------------------------------------------------ */

/* The scales of OpenCV 4's detectMultiScaleNoGrouping: factor^k (double,
 * stored as float) while round(win * factor) fits the image; of those, the
 * ones whose window lies within [min, max] (max stops the list); when none
 * does, the one whose window is nearest (squared distance) to the minimum. */
static int make_levels(const ferc_haar *c, int w, int h, const ferc_haar_params *p, level **lev, int *cap,
                       int *n_out, ferc_err *e)
{
    *n_out = 0;
    int maxw = p->max_w, maxh = p->max_h;
    if (maxw == 0 || maxh == 0)
        maxw = w, maxh = h;
    if (w < c->win_w || h < c->win_h)
        return 0;
    float all[MAX_LEVELS];
    int n_all = 0;
    for (double f = 1;; f *= p->scale_factor) {
        if (lrint(c->win_w * f) > w || lrint(c->win_h * f) > h)
            break;
        if (n_all == MAX_LEVELS)
            return ferc_errf(e, "haar detect: scale factor %.9g gives more than %d pyramid levels", p->scale_factor,
                             MAX_LEVELS);
        all[n_all++] = (float)f;
    }
    if (*cap < n_all) {
        level *t = realloc(*lev, sizeof *t * (size_t)n_all);
        if (!t)
            return ferc_errf(e, "haar detect: out of memory");
        *lev = t;
        *cap = n_all;
    }
    int n = 0;
    for (int i = 0; i < n_all; i++) {
        long ww = lrintf((float)c->win_w * all[i]), wh = lrintf((float)c->win_h * all[i]);
        if (ww > maxw || wh > maxh)
            break;
        if (ww < p->min_w || wh < p->min_h)
            continue;
        (*lev)[n++].scale = all[i];
    }
    if (n == 0 && n_all > 0) {
        int best = 0;
        double bd = 0;
        for (int i = 0; i < n_all; i++) {
            long ww = lrintf((float)c->win_w * all[i]), wh = lrintf((float)c->win_h * all[i]);
            double d = (double)(p->min_w - ww) * (p->min_w - ww) + (double)(p->min_h - wh) * (p->min_h - wh);
            if (i == 0 || bd > d)
                best = i, bd = d;
        }
        (*lev)[n++].scale = all[best];
    }
    for (int i = 0; i < n; i++) {
        level *L = &(*lev)[i];
        float s = L->scale;
        L->sw = (int)lrintf((float)w / s);
        L->sh = (int)lrintf((float)h / s);
        L->step = s >= 2 ? 1 : 2;
        L->split = L->step == 2;
        int ww = L->sw + 1 - c->win_w, wh = L->sh + 1 - c->win_h; /* OpenCV's working size */
        L->nx = ww > 0 ? (ww + L->step - 1) / L->step : 0;
        L->ny = wh > 0 ? (wh + L->step - 1) / L->step : 0;
        L->bw = (int)lrintf((float)c->win_w * s);
        L->bh = (int)lrintf((float)c->win_h * s);
    }
    *n_out = n;
    return 0;
}

/* Places the levels of one layout in shelves of a buffer with row stride S
 * (set here); returns the rows needed, 0 when no level uses the layout. */
static size_t pack_levels(level *lev, int n, int split, int *S, int *H)
{
    int width = 0;
    for (int i = 0; i < n; i++)
        if (lev[i].split == split) {
            int lw = split ? lev[i].sw / 2 + 1 : lev[i].sw + 1;
            width = lw > width ? lw : width;
        }
    if (!width)
        return 0;
    width = (width + 15) & ~15;
    *H = width;
    *S = split ? 2 * width : width;
    size_t y = 0, shelf = 0;
    int x = 0;
    for (int i = 0; i < n; i++) {
        level *L = &lev[i];
        if (L->split != split)
            continue;
        int lw = split ? L->sw / 2 + 1 : L->sw + 1;
        if (x + lw > width) {
            y += shelf;
            x = 0;
            shelf = 0;
        }
        L->base = y * (size_t)*S + (size_t)x;
        x += lw;
        if ((size_t)L->sh + 1 > shelf)
            shelf = (size_t)L->sh + 1;
    }
    return y + shelf;
}

/* Position of integral column col in a row of the layout. */
static inline size_t colpos(int split, int H, int col)
{
    return split ? ((col & 1) ? (size_t)H + (size_t)(col >> 1) : (size_t)(col >> 1)) : (size_t)col;
}

/* Builds one level: resize, then integral sums and sums of squares
 * I[r+1][c+1] = I[r][c+1] + sum_{k<=c} px[r][k] (mod 2^32). */
static int build_level(const level *L, const uint8_t *px, int w, int h, int stride, uint32_t *sum, uint32_t *sq,
                       int S, int H)
{
    resizer r;
    if (resizer_init(&r, px, w, h, stride, L->sw, L->sh))
        return -1;
    uint8_t *row = malloc((size_t)L->sw + 1);
    if (!row) {
        free(r.mem);
        return -1;
    }
    uint32_t *s0 = sum + L->base, *q0 = sq + L->base;
    for (int col = 0; col <= L->sw; col++)
        s0[colpos(L->split, H, col)] = q0[colpos(L->split, H, col)] = 0;
    for (int y = 0; y < L->sh; y++) {
        resize_row(&r, y, row);
        uint32_t *sp = s0 + (size_t)y * S, *qp = q0 + (size_t)y * S;
        uint32_t *sr = sp + S, *qr = qp + S;
        uint32_t a = 0, aq = 0;
        sr[0] = qr[0] = 0;
        if (!L->split) {
            for (int x = 0; x < L->sw; x++) {
                uint32_t v = row[x];
                a += v;
                aq += v * v;
                sr[x + 1] = sp[x + 1] + a;
                qr[x + 1] = qp[x + 1] + aq;
            }
        } else {
            for (int x = 0; x < L->sw; x++) {
                uint32_t v = row[x];
                a += v;
                aq += v * v;
                size_t c = colpos(1, H, x + 1);
                sr[c] = sp[c] + a;
                qr[c] = qp[c] + aq;
            }
        }
    }
    free(row);
    free(r.mem);
    return 0;
}

/* Corner offsets of every node's feature for layout (split, S, H). */
static void make_knodes(const ferc_haar *c, int split, int S, int H, knode *kn, int32_t no[4])
{
#define OFS(cx, cy) ((int32_t)((cy) * S + (int32_t)colpos(split, H, (cx))))
    for (int i = 0; i < c->n_nodes; i++) {
        const haar_node *nd = &c->node[i];
        const haar_feature *f = &c->feat[nd->feat];
        knode *k = &kn[i];
        memset(k, 0, sizeof *k);
        for (int r = 0; r < 3; r++) {
            haar_rect q = r < f->n_rect ? f->r[r] : (haar_rect){0, 0, 0, 0, 0.f};
            k->o[4 * r + 0] = OFS(q.x, q.y);
            k->o[4 * r + 1] = OFS(q.x + q.w, q.y);
            k->o[4 * r + 2] = OFS(q.x, q.y + q.h);
            k->o[4 * r + 3] = OFS(q.x + q.w, q.y + q.h);
            k->w[r] = q.wt;
        }
        k->nr = k->w[2] != 0.f ? 3 : 2;
        k->thr = nd->thr;
    }
    if (c->stumps)
        for (int t = 0; t < c->n_trees; t++) {
            kn[t].left = c->leaf[c->tree[t].first_leaf];
            kn[t].right = c->leaf[c->tree[t].first_leaf + 1];
            kn[t].dleft = kn[t].left;
            kn[t].dright = kn[t].right;
        }
    int nw = c->win_w - 2, nh = c->win_h - 2;
    no[0] = OFS(1, 1);
    no[1] = OFS(1 + nw, 1);
    no[2] = OFS(1, 1 + nh);
    no[3] = OFS(1 + nw, 1 + nh);
#undef OFS
}

/* ---- scalar evaluation of one window -------------------------------------- */

INLINE int32_t rsum_s(const uint32_t *p, const int32_t *o)
{
    return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

/* OpenCV's HaarEvaluator::setWindow: nf = A*sqsum - sum^2 (exact in double);
 * the window is kept when nf > 0 and A * (float)(1/sqrt(nf)) < 0.1. */
static inline int var_s(const uint32_t *S, const uint32_t *Q, const int32_t *no, double area, float *vnf)
{
    int32_t s = rsum_s(S, no);
    uint32_t q = Q[no[0]] - Q[no[1]] - Q[no[2]] + Q[no[3]];
    double nf = area * q - (double)s * s;
    if (nf > 0.) {
        *vnf = (float)(1. / sqrt(nf));
        return area * *vnf < 1e-1;
    }
    *vnf = 1.f;
    return 0;
}

INLINE float feat_s(const knode *k, const uint32_t *S)
{
    float f = k->w[0] * (float)rsum_s(S, k->o) + k->w[1] * (float)rsum_s(S, k->o + 4);
    if (k->nr > 2)
        f += k->w[2] * (float)rsum_s(S, k->o + 8);
    return f;
}

/* lt ? a : b without a branch (the outcome is data-dependent and a
 * mispredicted branch per stump costs more than the whole stump). */
INLINE float pick(int lt, float a, float b)
{
    uint32_t m = (uint32_t)-(int32_t)(lt != 0), ua, ub, r;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    r = (ua & m) | (ub & ~m);
    float f;
    memcpy(&f, &r, 4);
    return f;
}

/* Stages s0.. of the window at S: 1 when all pass, else -(failing stage). */
static int stages_s(const ferc_haar *c, const knode *kn, const uint32_t *S, float vnf, int s0)
{
    for (int s = s0; s < c->n_stages; s++) {
        const haar_stage *st = &c->stage[s];
        double acc = 0;
        if (c->stumps) {
            const knode *k = kn + st->first_tree;
            for (int t = 0; t < st->n_trees; t++, k++)
                acc += pick(feat_s(k, S) * vnf < k->thr, k->left, k->right);
        } else {
            for (int t = st->first_tree; t < st->first_tree + st->n_trees; t++) {
                const haar_tree *tr = &c->tree[t];
                int idx = 0;
                do {
                    const knode *k = kn + tr->first_node + idx;
                    idx = feat_s(k, S) * vnf < k->thr ? c->node[tr->first_node + idx].left
                                                      : c->node[tr->first_node + idx].right;
                } while (idx > 0);
                acc += c->leaf[tr->first_leaf - idx];
            }
        }
        if (acc < st->thr)
            return -s;
    }
    return 1;
}

/* ---- vector evaluation of 16 consecutive windows ------------------------- */

INLINE vu vload(const uint32_t *p)
{
    vu v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE vu rsum_v(const uint32_t *p, const int32_t *o)
{
    return vload(p + o[0]) - vload(p + o[1]) - vload(p + o[2]) + vload(p + o[3]);
}

INLINE vf tofloat(vu v)
{
    return __builtin_convertvector((vi)v, vf);
}

INLINE unsigned bits8(vl m)
{
#if defined(__AVX512DQ__)
    return _mm512_movepi64_mask((__m512i)m);
#elif defined(__AVX2__)
    typedef int64_t vl4 __attribute__((vector_size(32)));
    vl4 lo = __builtin_shufflevector(m, m, 0, 1, 2, 3), hi = __builtin_shufflevector(m, m, 4, 5, 6, 7);
    return (unsigned)_mm256_movemask_pd((__m256d)lo) | (unsigned)_mm256_movemask_pd((__m256d)hi) << 4;
#else
    unsigned b = 0;
    for (int k = 0; k < 8; k++)
        b |= (unsigned)(m[k] & 1) << k;
    return b;
#endif
}

INLINE vd vsqrt(vd a)
{
#if defined(__AVX512F__)
    return (vd)_mm512_sqrt_pd((__m512d)a);
#elif defined(__AVX__)
    typedef double vd4 __attribute__((vector_size(32)));
    vd4 lo = __builtin_shufflevector(a, a, 0, 1, 2, 3), hi = __builtin_shufflevector(a, a, 4, 5, 6, 7);
    lo = (vd4)_mm256_sqrt_pd((__m256d)lo);
    hi = (vd4)_mm256_sqrt_pd((__m256d)hi);
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
#else
    for (int k = 0; k < 8; k++)
        a[k] = sqrt(a[k]);
    return a;
#endif
}

/* var_s for 16 windows: returns the mask of kept windows and their factors. */
INLINE unsigned var_v(const uint32_t *S, const uint32_t *Q, const int32_t *no, double area, vf *vnf)
{
    vi s = (vi)rsum_v(S, no);
    vu q = rsum_v(Q, no);
    vd r[2];
    vl pos[2];
    for (int h = 0; h < 2; h++) {
        vi8 sh = h ? HI8(s) : LO8(s);
        vu8 qh = h ? HI8(q) : LO8(q);
        vd sd = __builtin_convertvector(sh, vd), qd = __builtin_convertvector(qh, vd);
        vd a = area * qd;
        vd b = sd * sd;
        vd nf = a - b;
        pos[h] = nf > 0.;
        nf = (vd)(((vl)nf & pos[h]) | ((vl)(vd){1, 1, 1, 1, 1, 1, 1, 1} & ~pos[h]));
        r[h] = 1. / vsqrt(nf);
    }
    vf8 f0 = __builtin_convertvector(r[0], vf8), f1 = __builtin_convertvector(r[1], vf8);
    vd k0 = area * __builtin_convertvector(f0, vd), k1 = area * __builtin_convertvector(f1, vd);
    unsigned ok = (bits8(pos[0] & (k0 < 1e-1)) | bits8(pos[1] & (k1 < 1e-1)) << 8);
    *vnf = CAT16(f0, f1);
    return ok;
}

/* One stage of stumps for 16 windows: mask of windows whose leaf sum (double,
 * stump order) reaches the stage threshold. */
INLINE unsigned stage_v(const knode *k, int n, float sthr, const uint32_t *S, vf vnf)
{
    vd a0 = {0}, a1 = {0};
    for (int t = 0; t < n; t++, k++) {
        vf f = k->w[0] * tofloat(rsum_v(S, k->o));
        vf g = k->w[1] * tofloat(rsum_v(S, k->o + 4));
        f = f + g;
        if (k->nr > 2) {
            vf u = k->w[2] * tofloat(rsum_v(S, k->o + 8));
            f = f + u;
        }
        vf val = f * vnf;
#if defined(__AVX512F__)
        /* select the leaf directly in double under the compare mask */
        __mmask16 lt = _mm512_cmp_ps_mask((__m512)val, _mm512_set1_ps(k->thr), _CMP_LT_OQ);
        __m512d L = _mm512_set1_pd(k->dleft), R = _mm512_set1_pd(k->dright);
        a0 += (vd)_mm512_mask_blend_pd((__mmask8)lt, R, L);
        a1 += (vd)_mm512_mask_blend_pd((__mmask8)(lt >> 8), R, L);
#else
        vi lt = val < k->thr;
        vf leaf = (vf)((lt & (vi)((vf){0} + k->left)) | (~lt & (vi)((vf){0} + k->right)));
        a0 += __builtin_convertvector(LO8(leaf), vd);
        a1 += __builtin_convertvector(HI8(leaf), vd);
#endif
    }
    return bits8(a0 >= (double)sthr) | bits8(a1 >= (double)sthr) << 8;
}

/* ---- evaluation of one row of one level ----------------------------------- */

typedef struct {
    const ferc_haar *c;
    const knode *kn[2];
    int32_t no[2][4];
    uint32_t *sum[2], *sq[2];
    int S[2];
    double area;
} ctx;

typedef struct {
    hit *h;
    int n, cap;
    int oom;
} hits;

typedef struct {
    hits out;
} worker;

static void push_hit(hits *H, int level, int y, int j)
{
    if (H->n == H->cap) {
        int cap = H->cap ? 2 * H->cap : 256;
        hit *t = realloc(H->h, sizeof *t * (size_t)cap);
        if (!t) {
            H->oom = 1;
            return;
        }
        H->h = t;
        H->cap = cap;
    }
    H->h[H->n++] = (hit){level, y, j};
}

/* Windows of row y (a multiple of step) in OpenCV's order: x = 0, step, ...;
 * after a window rejected by stage 0 the next x is skipped. */
static void row_scalar(const ctx *X, const level *L, int li, int y, hits *out)
{
    int lay = L->split;
    size_t rb = L->base + (size_t)y * (size_t)X->S[lay];
    const uint32_t *S = X->sum[lay] + rb, *Q = X->sq[lay] + rb;
    for (int j = 0; j < L->nx; j++) {
        float vnf;
        int r = var_s(S + j, Q + j, X->no[lay], X->area, &vnf) ? stages_s(X->c, X->kn[lay], S + j, vnf, 0) : -1;
        if (r > 0)
            push_hit(out, li, y, j);
        if (r == 0)
            j++;
    }
}

static void row_vector(const ctx *X, const level *L, int li, int y, worker *W)
{
    hits *out = &W->out;
    const ferc_haar *c = X->c;
    int lay = L->split;
    size_t rb = L->base + (size_t)y * (size_t)X->S[lay];
    const uint32_t *S = X->sum[lay] + rb, *Q = X->sq[lay] + rb;
    const knode *kn = X->kn[lay];
    int skip = 0; /* the next candidate is skipped (stage 0 rejected the last one) */
    for (int j0 = 0; j0 < L->nx; j0 += VL) {
        int nv = L->nx - j0 < VL ? L->nx - j0 : VL;
        const uint32_t *Sj = S + j0;
        vf vnf;
        unsigned ok = var_v(Sj, Q + j0, X->no[lay], X->area, &vnf) & ((1u << nv) - 1);
        if (!ok) { /* no window here reaches stage 0, so none sets a skip */
            skip = 0;
            continue;
        }
        unsigned pass = stage_v(kn, c->stage[0].n_trees, c->stage[0].thr, Sj, vnf);
        unsigned rej0 = ok & ~pass, vis = 0;
        for (int k = 0; k < nv; k++) {
            if (skip) {
                skip = 0;
                continue;
            }
            vis |= 1u << k;
            skip = (rej0 >> k) & 1;
        }
        unsigned alive = vis & ok & pass;
        for (int s = 1; s < c->n_stages && alive; s++) {
            if (__builtin_popcount(alive) <= SCALAR_CUT) {
                float f[VL];
                memcpy(f, &vnf, sizeof f);
                for (unsigned a = alive; a; a &= a - 1) {
                    int k = __builtin_ctz(a);
                    if (stages_s(c, kn, Sj + k, f[k], s) <= 0)
                        alive &= ~(1u << k);
                }
                break;
            }
            const haar_stage *st = &c->stage[s];
            alive &= stage_v(kn + st->first_tree, st->n_trees, st->thr, Sj, vnf);
        }
        for (; alive; alive &= alive - 1)
            push_hit(out, li, y, j0 + __builtin_ctz(alive));
    }
}

/* ---- the reference evaluator: one window at a time, from the formulas ---- */

static long long rect_sum(const long long *I, int W1, int x, int y, int w, int h)
{
    return I[(size_t)y * W1 + x] - I[(size_t)y * W1 + x + w] - I[(size_t)(y + h) * W1 + x] +
           I[(size_t)(y + h) * W1 + x + w];
}

/* OpenCV's runAt for the window at (x, y) of integral images I, Q (64-bit,
 * row length W1): -1 when the variance test fails, -s when stage s rejects,
 * 1 when every stage passes. */
static int window_naive(const ferc_haar *c, const long long *I, const long long *Q, int W1, int x, int y)
{
    double area = (double)(c->win_w - 2) * (c->win_h - 2);
    long long s = rect_sum(I, W1, x + 1, y + 1, c->win_w - 2, c->win_h - 2);
    long long q = rect_sum(Q, W1, x + 1, y + 1, c->win_w - 2, c->win_h - 2);
    double nf = area * (double)q - (double)s * (double)s;
    if (!(nf > 0.))
        return -1;
    float vnf = (float)(1. / sqrt(nf));
    if (!(area * vnf < 1e-1))
        return -1;
    for (int si = 0; si < c->n_stages; si++) {
        const haar_stage *st = &c->stage[si];
        double acc = 0;
        for (int t = st->first_tree; t < st->first_tree + st->n_trees; t++) {
            const haar_tree *tr = &c->tree[t];
            int idx = 0;
            for (;;) {
                const haar_node *nd = &c->node[tr->first_node + idx];
                const haar_feature *f = &c->feat[nd->feat];
                float v = 0;
                for (int r = 0; r < f->n_rect; r++) {
                    const haar_rect *q3 = &f->r[r];
                    float term = q3->wt * (float)rect_sum(I, W1, x + q3->x, y + q3->y, q3->w, q3->h);
                    if (r == 0)
                        v = term;
                    else if (r == 1 || q3->wt != 0.f)
                        v = v + term;
                }
                v = v * vnf;
                int go_left = v < nd->thr;
                if (c->stumps) { /* OpenCV's stump path: leaves 0 and 1 */
                    acc += c->leaf[tr->first_leaf + (go_left ? 0 : 1)];
                    break;
                }
                idx = go_left ? nd->left : nd->right;
                if (idx <= 0) {
                    acc += c->leaf[tr->first_leaf - idx];
                    break;
                }
            }
        }
        if (acc < st->thr)
            return -si;
    }
    return 1;
}

static int windows_naive(const ferc_haar *c, const level *lev, int n, const uint8_t *px, int w, int h, int stride,
                         hits *out)
{
    for (int li = 0; li < n; li++) {
        const level *L = &lev[li];
        int W1 = L->sw + 1;
        uint8_t *img = malloc((size_t)L->sw * L->sh + 1);
        long long *I = calloc((size_t)W1 * (L->sh + 1), sizeof *I), *Q = calloc((size_t)W1 * (L->sh + 1), sizeof *Q);
        if (!img || !I || !Q) {
            free(img), free(I), free(Q);
            return -1;
        }
        ferc_haar_resize(px, w, h, stride, img, L->sw, L->sh);
        for (int y = 0; y < L->sh; y++)
            for (int x = 0; x < L->sw; x++) {
                long long v = img[(size_t)y * L->sw + x];
                size_t o = (size_t)(y + 1) * W1 + x + 1;
                I[o] = v + I[o - 1] + I[o - W1] - I[o - W1 - 1];
                Q[o] = v * v + Q[o - 1] + Q[o - W1] - Q[o - W1 - 1];
            }
        for (int y = 0; y < L->sh + 1 - c->win_h; y += L->step)
            for (int x = 0; x < L->sw + 1 - c->win_w; x += L->step) {
                int r = window_naive(c, I, Q, W1, x, y);
                if (r > 0)
                    push_hit(out, li, y, x / L->step);
                if (r == 0)
                    x += L->step;
            }
        free(img), free(I), free(Q);
    }
    return out->oom ? -1 : 0;
}

/* ---- entry point ------------------------------------------------------------ */

static int hit_cmp(const void *a, const void *b)
{
    const hit *p = a, *q = b;
    if (p->level != q->level)
        return p->level < q->level ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    return (p->j > q->j) - (p->j < q->j);
}

static int grow_buf(uint32_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    free(*b);
    *cap = 0;
    /* zeroed, so masked lanes past a level never read indeterminate memory */
    if (!(*b = calloc(2 * need, sizeof **b)))
        return -1;
    *cap = need;
    return 0;
}

int ferc_haar_windows(const ferc_haar *c, ferc_haar_ws *ws_in, const uint8_t *px, int w, int h, int stride,
                      const ferc_haar_params *p, int naive, ferc_haar_box **boxes, int *n_boxes, ferc_err *e)
{
    *boxes = NULL;
    *n_boxes = 0;
    if (!c || !p || (!px && w > 0 && h > 0))
        return ferc_errf(e, "haar detect: no cascade, parameters or image");
    if (w < 0 || h < 0 || w > 1 << 16 || h > 1 << 16 || stride < w)
        return ferc_errf(e, "haar detect: bad image geometry %dx%d, stride %d", w, h, stride);
    if (!(p->scale_factor > 1.0) || !isfinite(p->scale_factor))
        return ferc_errf(e, "haar detect: scale factor %g must be greater than 1", p->scale_factor);
    if (p->min_neighbors < 0 || p->min_w < 0 || p->min_h < 0 || p->max_w < 0 || p->max_h < 0 || p->threads < 0)
        return ferc_errf(e, "haar detect: negative min_neighbors, size limit or thread count");
    ferc_haar_ws *ws = ws_in ? ws_in : ferc_haar_ws_new();
    if (!ws)
        return ferc_errf(e, "haar detect: out of memory");
    int rc = -1, nlev, n_th = 0;
    hits all = {0};
    worker *th = NULL;
    if (make_levels(c, w, h, p, &ws->lev, &ws->lev_cap, &nlev, e))
        goto done;
    level *lev = ws->lev;
    if (naive) {
        if (windows_naive(c, lev, nlev, px, w, h, stride, &all)) {
            ferc_errf(e, "haar detect: out of memory");
            goto done;
        }
    } else if (nlev > 0) {
        ctx X = {.c = c, .area = (double)(c->win_w - 2) * (c->win_h - 2)};
        int H[2] = {0, 0};
        for (int lay = 0; lay < 2; lay++) {
            size_t rows = pack_levels(lev, nlev, lay, &X.S[lay], &H[lay]);
            if (!rows)
                continue;
            size_t need = rows * (size_t)X.S[lay] + 2 * (size_t)X.S[lay] + 4 * VL;
            if (need > (size_t)INT32_MAX) { /* corner offsets are int32 */
                ferc_errf(e, "haar detect: image %dx%d too large", w, h);
                goto done;
            }
            if (grow_buf(&ws->buf[lay], &ws->cap[lay], need)) {
                ferc_errf(e, "haar detect: out of memory");
                goto done;
            }
            X.sum[lay] = ws->buf[lay];
            X.sq[lay] = ws->buf[lay] + ws->cap[lay];
            if (ws->kn_cap < c->n_nodes) {
                for (int k = 0; k < 2; k++) {
                    free(ws->kn[k]);
                    ws->kn[k] = NULL;
                }
                ws->kn_cap = 0;
                if (!(ws->kn[0] = malloc(sizeof(knode) * (size_t)c->n_nodes)) ||
                    !(ws->kn[1] = malloc(sizeof(knode) * (size_t)c->n_nodes))) {
                    ferc_errf(e, "haar detect: out of memory");
                    goto done;
                }
                ws->kn_cap = c->n_nodes;
            }
            make_knodes(c, lay, X.S[lay], H[lay], ws->kn[lay], X.no[lay]);
            X.kn[lay] = ws->kn[lay];
        }
        int ntask = 0;
        for (int i = 0; i < nlev; i++)
            ntask += lev[i].ny;
        if (ws->task_cap < ntask) {
            int *t = realloc(ws->task, sizeof *t * 2 * (size_t)ntask);
            if (!t) {
                ferc_errf(e, "haar detect: out of memory");
                goto done;
            }
            ws->task = t;
            ws->task_cap = ntask;
        }
        for (int i = 0, k = 0; i < nlev; i++)
            for (int r = 0; r < lev[i].ny; r++, k++) {
                ws->task[2 * k] = i;
                ws->task[2 * k + 1] = r * lev[i].step;
            }
        int nt = p->threads > 0 ? p->threads : omp_get_max_threads();
        n_th = nt;
        th = calloc((size_t)nt, sizeof *th);
        if (!th) {
            ferc_errf(e, "haar detect: out of memory");
            goto done;
        }
        int fail = 0;
#pragma omp parallel num_threads(nt)
        {
            worker *mine = &th[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < nlev; i++) {
                int lay = lev[i].split;
                if (build_level(&lev[i], px, w, h, stride, X.sum[lay], X.sq[lay], X.S[lay], H[lay])) {
#pragma omp atomic write
                    fail = 1;
                }
            }
            /* implicit barrier: every level is built */
#pragma omp for schedule(dynamic, 2)
            for (int k = 0; k < ntask; k++) {
                const level *L = &lev[ws->task[2 * k]];
                if (c->stumps)
                    row_vector(&X, L, ws->task[2 * k], ws->task[2 * k + 1], mine);
                else
                    row_scalar(&X, L, ws->task[2 * k], ws->task[2 * k + 1], &mine->out);
            }
        }
        for (int t = 0; t < nt; t++) {
            fail |= th[t].out.oom;
            for (int i = 0; i < th[t].out.n && !all.oom; i++)
                push_hit(&all, th[t].out.h[i].level, th[t].out.h[i].y, th[t].out.h[i].j);
        }
        if (fail || all.oom) {
            ferc_errf(e, "haar detect: out of memory");
            goto done;
        }
        if (all.n > 1)
            qsort(all.h, (size_t)all.n, sizeof *all.h, hit_cmp);
    }
    if (all.n) {
        ferc_haar_box *b = malloc(sizeof *b * (size_t)all.n);
        if (!b) {
            ferc_errf(e, "haar detect: out of memory");
            goto done;
        }
        /* OpenCV: Rect(cvRound(x * scale), cvRound(y * scale), round(win * scale)) in float */
        for (int i = 0; i < all.n; i++) {
            const level *L = &lev[all.h[i].level];
            int x = all.h[i].j * L->step, y = all.h[i].y;
            b[i] = (ferc_haar_box){(int)lrintf((float)x * L->scale), (int)lrintf((float)y * L->scale), L->bw, L->bh,
                                   0};
        }
        *boxes = b;
        *n_boxes = all.n;
    }
    rc = 0;
done:
    for (int t = 0; th && t < n_th; t++) {
        free(th[t].out.h);
    }
    free(th);
    free(all.h);
    if (!ws_in)
        ferc_haar_ws_free(ws);
    return rc;
}
