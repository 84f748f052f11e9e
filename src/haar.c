/* haar.c: loading OpenCV cascade XML files, grouping of windows
 * (cv::groupRectangles), and the detection entry points. The pyramid and
 * the window evaluators are in haar_detect.c. */
#include "haar.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "haar_impl.h"
#include "xml.h"

#define MAX_WIN 256         /* largest window side: keeps window sums exact (see haar_detect.c) */
#define THRESHOLD_EPS 1e-5f /* OpenCV subtracts this from every stage threshold */

void ferc_haar_params_default(ferc_haar_params *p)
{
    memset(p, 0, sizeof *p);
    p->scale_factor = 1.1;
    p->min_neighbors = 3;
}

const char *ferc_haar_default_path(void)
{
    static const char *const paths[] = {
        FERC_HAAR_DEFAULT_CASCADE,
        "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
        "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

void ferc_haar_free(ferc_haar *c)
{
    if (!c)
        return;
    free(c->stage);
    free(c->tree);
    free(c->node);
    free(c->leaf);
    free(c->feat);
    free(c);
}

void ferc_haar_info(const ferc_haar *c, int *win_w, int *win_h, int *n_stages, int *n_weak,
                    int *n_features, int *stumps)
{
    if (win_w) *win_w = c->win_w;
    if (win_h) *win_h = c->win_h;
    if (n_stages) *n_stages = c->n_stages;
    if (n_weak) *n_weak = c->n_trees;
    if (n_features) *n_features = c->n_features;
    if (stumps) *stumps = c->stumps;
}

/* ---- reading the cascade ---------------------------------------------- */

typedef struct {
    const char *file;
    ferc_err *e;
    double *num;      /* scratch for number lists */
    int num_cap;
} loader;

/* Trimmed text of element n compared with word. */
static int text_is(const ferc_xml_node *n, const char *word)
{
    const char *t = n->text;
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
        t++;
    size_t k = strlen(word);
    if (strncmp(t, word, k))
        return 0;
    for (t += k; *t; t++)
        if (!(*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r'))
            return 0;
    return 1;
}

/* The child element `name` of n, or an error naming the file and n's line. */
static const ferc_xml_node *need(loader *L, const ferc_xml_node *n, const char *name)
{
    const ferc_xml_node *c = ferc_xml_child(n, name);
    if (!c)
        ferc_errf(L->e, "%s:%d: <%s> has no <%s> element", L->file, n->line, n->name, name);
    return c;
}

/* Parses the white-space separated numbers in n's text into L->num; returns
 * how many, or -1 with an error naming the line of the bad token. */
static int numbers(loader *L, const ferc_xml_node *n)
{
    const char *t = n->text;
    int k = 0, line = n->line;
    for (;;) {
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
            line += *t++ == '\n';
        if (!*t)
            return k;
        char *end;
        double v = strtod(t, &end);
        if (end == t || !(*end == 0 || *end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ||
            !isfinite(v)) {
            int len = 0;
            while (t[len] && !(t[len] == ' ' || t[len] == '\t' || t[len] == '\n' || t[len] == '\r') && len < 40)
                len++;
            return ferc_errf(L->e, "%s:%d: <%s>: '%.*s' is not a number", L->file, line, n->name, len, t);
        }
        if (k == L->num_cap) {
            int cap = L->num_cap ? 2 * L->num_cap : 256;
            double *p = realloc(L->num, sizeof *p * (size_t)cap);
            if (!p)
                return ferc_errf(L->e, "%s: out of memory", L->file);
            L->num = p;
            L->num_cap = cap;
        }
        L->num[k++] = v;
        t = end;
    }
}

/* A single integer element (height, width, maxCatCount). */
static int int_of(loader *L, const ferc_xml_node *n, int *out)
{
    int k = numbers(L, n);
    if (k < 0)
        return -1;
    if (k != 1 || L->num[0] != floor(L->num[0]) || fabs(L->num[0]) > 1e9)
        return ferc_errf(L->e, "%s:%d: <%s> must hold one integer", L->file, n->line, n->name);
    *out = (int)L->num[0];
    return 0;
}

/* Grows *p (elements of size sz) so that index need-1 fits. */
static int grow(void **p, int *cap, int need, size_t sz)
{
    if (need <= *cap)
        return 0;
    int c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, sz * (size_t)c);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int read_features(loader *L, ferc_haar *c, const ferc_xml_node *fs)
{
    c->n_features = fs->n_child;
    if (c->n_features == 0)
        return ferc_errf(L->e, "%s:%d: <features> is empty", L->file, fs->line);
    c->feat = calloc((size_t)c->n_features, sizeof *c->feat);
    if (!c->feat)
        return ferc_errf(L->e, "%s: out of memory", L->file);
    int i = 0;
    for (const ferc_xml_node *f = fs->first_child; f; f = f->next, i++) {
        const ferc_xml_node *tl = ferc_xml_child(f, "tilted");
        if (tl && !text_is(tl, "0")) {
            if (!text_is(tl, "1"))
                return ferc_errf(L->e, "%s:%d: feature %d: <tilted> must be 0 or 1", L->file, tl->line, i);
            return ferc_errf(L->e, "%s:%d: feature %d: tilted (45-degree) features are not supported "
                             "(use a cascade with upright features only, e.g. haarcascade_frontalface_default.xml)",
                             L->file, tl->line, i);
        }
        const ferc_xml_node *rs = need(L, f, "rects");
        if (!rs)
            return -1;
        if (rs->n_child < 1 || rs->n_child > 3)
            return ferc_errf(L->e, "%s:%d: feature %d: %d rectangles (1 to 3 expected)", L->file, rs->line, i,
                             rs->n_child);
        haar_feature *hf = &c->feat[i];
        hf->n_rect = rs->n_child;
        int k = 0;
        for (const ferc_xml_node *r = rs->first_child; r; r = r->next, k++) {
            int m = numbers(L, r);
            if (m < 0)
                return -1;
            if (m != 5)
                return ferc_errf(L->e, "%s:%d: feature %d, rectangle %d: %d numbers (x y w h weight expected)",
                                 L->file, r->line, i, k, m);
            const double *v = L->num;
            for (int q = 0; q < 4; q++)
                if (v[q] != floor(v[q]))
                    return ferc_errf(L->e, "%s:%d: feature %d, rectangle %d: coordinates must be integers",
                                     L->file, r->line, i, k);
            if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || v[0] + v[2] > c->win_w || v[1] + v[3] > c->win_h)
                return ferc_errf(L->e, "%s:%d: feature %d, rectangle %d: %g %g %g %g lies outside the %dx%d window",
                                 L->file, r->line, i, k, v[0], v[1], v[2], v[3], c->win_w, c->win_h);
            hf->r[k] = (haar_rect){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (float)v[4]};
        }
    }
    return 0;
}

static int read_stages(loader *L, ferc_haar *c, const ferc_xml_node *ss)
{
    int cap_t = 0, cap_n = 0, cap_l = 0;
    c->n_stages = ss->n_child;
    if (c->n_stages == 0)
        return ferc_errf(L->e, "%s:%d: <stages> is empty", L->file, ss->line);
    c->stage = calloc((size_t)c->n_stages, sizeof *c->stage);
    if (!c->stage)
        return ferc_errf(L->e, "%s: out of memory", L->file);
    c->stumps = 1;
    int si = 0;
    for (const ferc_xml_node *s = ss->first_child; s; s = s->next, si++) {
        const ferc_xml_node *th = need(L, s, "stageThreshold"), *wc = th ? need(L, s, "weakClassifiers") : NULL;
        if (!wc)
            return -1;
        int m = numbers(L, th);
        if (m < 0)
            return -1;
        if (m != 1)
            return ferc_errf(L->e, "%s:%d: stage %d: <stageThreshold> must hold one number", L->file, th->line, si);
        haar_stage *st = &c->stage[si];
        st->thr = (float)L->num[0] - THRESHOLD_EPS;
        st->first_tree = c->n_trees;
        st->n_trees = wc->n_child;
        if (st->n_trees == 0)
            return ferc_errf(L->e, "%s:%d: stage %d has no weak classifiers", L->file, wc->line, si);
        int wi = 0;
        for (const ferc_xml_node *w = wc->first_child; w; w = w->next, wi++) {
            const ferc_xml_node *in = need(L, w, "internalNodes"), *lv = in ? need(L, w, "leafValues") : NULL;
            if (!lv)
                return -1;
            int ni = numbers(L, in);
            if (ni < 0)
                return -1;
            if (ni == 0 || ni % 4)
                return ferc_errf(L->e, "%s:%d: stage %d, weak classifier %d: <internalNodes> holds %d numbers, "
                                 "not groups of 4 (left right feature threshold)%s",
                                 L->file, in->line, si, wi, ni, ni % 4 == 0 ? "" : "; categorical (LBP) nodes are not supported");
            int nn = ni / 4;
            if (grow((void **)&c->tree, &cap_t, c->n_trees + 1, sizeof *c->tree) ||
                grow((void **)&c->node, &cap_n, c->n_nodes + nn, sizeof *c->node))
                return ferc_errf(L->e, "%s: out of memory", L->file);
            haar_tree *t = &c->tree[c->n_trees++];
            t->first_node = c->n_nodes;
            t->n_nodes = nn;
            for (int k = 0; k < nn; k++) {
                const double *v = L->num + 4 * k;
                if (v[0] != floor(v[0]) || v[1] != floor(v[1]) || v[2] != floor(v[2]) || fabs(v[0]) > 1e6 ||
                    fabs(v[1]) > 1e6 || v[2] < 0 || v[2] > 1e9)
                    return ferc_errf(L->e, "%s:%d: stage %d, weak classifier %d, node %d: left, right and feature "
                                     "must be integers (feature >= 0)", L->file, in->line, si, wi, k);
                haar_node *nd = &c->node[c->n_nodes++];
                *nd = (haar_node){(int)v[2], (float)v[3], (int)v[0], (int)v[1]};
                int ch[2] = {nd->left, nd->right};
                for (int q = 0; q < 2; q++)
                    if (ch[q] > 0 && (ch[q] <= k || ch[q] >= nn))
                        return ferc_errf(L->e, "%s:%d: stage %d, weak classifier %d, node %d: child %d must be a "
                                         "later node of the tree (1..%d after %d) or a leaf (<= 0)",
                                         L->file, in->line, si, wi, k, ch[q], nn - 1, k);
            }
            int nl = numbers(L, lv);
            if (nl < 0)
                return -1;
            if (nl != nn + 1)
                return ferc_errf(L->e, "%s:%d: stage %d, weak classifier %d: %d leaf values for %d nodes (%d expected)",
                                 L->file, lv->line, si, wi, nl, nn, nn + 1);
            for (int k = 0; k < nn; k++) {
                const haar_node *nd = &c->node[t->first_node + k];
                if (-nd->left >= nl || -nd->right >= nl)
                    return ferc_errf(L->e, "%s:%d: stage %d, weak classifier %d, node %d: leaf index out of range",
                                     L->file, in->line, si, wi, k);
            }
            if (grow((void **)&c->leaf, &cap_l, c->n_leaves + nl, sizeof *c->leaf))
                return ferc_errf(L->e, "%s: out of memory", L->file);
            t->first_leaf = c->n_leaves;
            t->n_leaves = nl;
            for (int k = 0; k < nl; k++)
                c->leaf[c->n_leaves++] = (float)L->num[k];
            if (nn != 1)
                c->stumps = 0;
        }
    }
    return 0;
}

static ferc_haar *from_doc(loader *L, const ferc_xml_doc *d)
{
    const ferc_xml_node *root = ferc_xml_root(d), *cc;
    if (strcmp(root->name, "opencv_storage")) {
        ferc_errf(L->e, "%s:%d: not an OpenCV cascade: the root element is <%s>, not <opencv_storage>", L->file,
                  root->line, root->name);
        return NULL;
    }
    if (!(cc = root->first_child)) {
        ferc_errf(L->e, "%s:%d: <opencv_storage> is empty", L->file, root->line);
        return NULL;
    }
    const char *type = ferc_xml_attr(cc, "type_id");
    if (type && !strcmp(type, "opencv-haar-classifier")) {
        ferc_errf(L->e, "%s:%d: old-format cascade (type_id \"opencv-haar-classifier\") is not supported; "
                  "use a cascade in the opencv_traincascade format (type_id \"opencv-cascade-classifier\")",
                  L->file, cc->line);
        return NULL;
    }
    if (type && strcmp(type, "opencv-cascade-classifier")) {
        ferc_errf(L->e, "%s:%d: <%s> has type_id \"%s\", not \"opencv-cascade-classifier\"", L->file, cc->line,
                  cc->name, type);
        return NULL;
    }
    const ferc_xml_node *n;
    if (!(n = need(L, cc, "stageType")))
        return NULL;
    if (!text_is(n, "BOOST")) {
        ferc_errf(L->e, "%s:%d: stage type \"%s\" is not supported (BOOST expected)", L->file, n->line, n->text);
        return NULL;
    }
    if (!(n = need(L, cc, "featureType")))
        return NULL;
    if (!text_is(n, "HAAR")) {
        ferc_errf(L->e, "%s:%d: feature type \"%s\" is not supported (only HAAR cascades; LBP and HOG are not)",
                  L->file, n->line, n->text);
        return NULL;
    }
    ferc_haar *c = calloc(1, sizeof *c);
    if (!c) {
        ferc_errf(L->e, "%s: out of memory", L->file);
        return NULL;
    }
    const ferc_xml_node *hn = need(L, cc, "height"), *wn = hn ? need(L, cc, "width") : NULL;
    if (!wn || int_of(L, hn, &c->win_h) || int_of(L, wn, &c->win_w))
        goto fail;
    if (c->win_w < 3 || c->win_h < 3 || c->win_w > MAX_WIN || c->win_h > MAX_WIN) {
        ferc_errf(L->e, "%s:%d: window %dx%d out of range (3..%d per side)", L->file, hn->line, c->win_w, c->win_h,
                  MAX_WIN);
        goto fail;
    }
    const ferc_xml_node *fp = ferc_xml_child(cc, "featureParams"), *mc = fp ? ferc_xml_child(fp, "maxCatCount") : NULL;
    int ncat = 0;
    if (mc && int_of(L, mc, &ncat))
        goto fail;
    if (ncat != 0) {
        ferc_errf(L->e, "%s:%d: categorical features (maxCatCount %d) are not supported", L->file, mc->line, ncat);
        goto fail;
    }
    const ferc_xml_node *ss = need(L, cc, "stages"), *fs = ss ? need(L, cc, "features") : NULL;
    if (!fs || read_stages(L, c, ss) || read_features(L, c, fs))
        goto fail;
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].feat >= c->n_features) {
            ferc_errf(L->e, "%s:%d: a node uses feature %d, but <features> has only %d", L->file, ss->line,
                      c->node[i].feat, c->n_features);
            goto fail;
        }
    return c;
fail:
    ferc_haar_free(c);
    return NULL;
}

ferc_haar *ferc_haar_load_mem(const char *xml, size_t n, const char *name, ferc_err *e)
{
    ferc_xml_doc *d = ferc_xml_parse(xml, n, name, e);
    if (!d)
        return NULL;
    loader L = {ferc_xml_name(d), e, NULL, 0};
    ferc_haar *c = from_doc(&L, d);
    free(L.num);
    ferc_xml_free(d);
    return c;
}

ferc_haar *ferc_haar_load(const char *path, ferc_err *e)
{
    ferc_xml_doc *d = ferc_xml_load(path, e);
    if (!d)
        return NULL;
    loader L = {path, e, NULL, 0};
    ferc_haar *c = from_doc(&L, d);
    free(L.num);
    ferc_xml_free(d);
    return c;
}

/* ---- grouping (cv::groupRectangles and cv::partition) ------------------- */

/* cv::SimilarRects: every edge within delta = eps * (min w + min h) / 2. */
static int similar(const ferc_haar_box *a, const ferc_haar_box *b, double eps)
{
    double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

static int uf_find(int *parent, int i)
{
    int r = i;
    while (parent[r] != r)
        r = parent[r];
    while (parent[i] != r) { /* path compression */
        int n = parent[i];
        parent[i] = r;
        i = n;
    }
    return r;
}

int ferc_haar_group(ferc_haar_box *b, int n, int min_neighbors, double eps)
{
    if (min_neighbors <= 0 || n <= 0)
        return n;
    int *parent = malloc(sizeof *parent * (size_t)n), *label = malloc(sizeof *label * (size_t)n);
    int *cnt = calloc((size_t)n, sizeof *cnt);
    long long (*sum)[4] = calloc((size_t)n, sizeof *sum);
    ferc_haar_box *avg = malloc(sizeof *avg * (size_t)n);
    int out = -1;
    if (!parent || !label || !cnt || !sum || !avg)
        goto done;
    /* equivalence classes of the transitive closure of similar() */
    for (int i = 0; i < n; i++)
        parent[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (similar(&b[i], &b[j], eps)) {
                int ri = uf_find(parent, i), rj = uf_find(parent, j);
                if (ri != rj)
                    parent[rj > ri ? rj : ri] = rj > ri ? ri : rj;
            }
    /* classes numbered in order of their first member */
    int ncls = 0;
    for (int i = 0; i < n; i++)
        label[i] = -1;
    for (int i = 0; i < n; i++) {
        int r = uf_find(parent, i);
        if (label[r] < 0)
            label[r] = ncls++;
        int k = label[r];
        sum[k][0] += b[i].x;
        sum[k][1] += b[i].y;
        sum[k][2] += b[i].w;
        sum[k][3] += b[i].h;
        cnt[k]++;
    }
    /* averages: OpenCV computes saturate_cast<int>(sum * (1.f / n)) in float */
    for (int k = 0; k < ncls; k++) {
        float s = 1.f / (float)cnt[k];
        avg[k] = (ferc_haar_box){(int)lrintf((float)sum[k][0] * s), (int)lrintf((float)sum[k][1] * s),
                                 (int)lrintf((float)sum[k][2] * s), (int)lrintf((float)sum[k][3] * s), cnt[k]};
    }
    out = 0;
    for (int i = 0; i < ncls; i++) {
        const ferc_haar_box *r1 = &avg[i];
        int n1 = cnt[i], j;
        if (n1 <= min_neighbors)
            continue;
        /* drop a small box inside a bigger, better supported one */
        for (j = 0; j < ncls; j++) {
            int n2 = cnt[j];
            if (j == i || n2 <= min_neighbors)
                continue;
            const ferc_haar_box *r2 = &avg[j];
            int dx = (int)lrint(r2->w * eps), dy = (int)lrint(r2->h * eps);
            if (r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
                r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == ncls)
            b[out++] = *r1;
    }
done:
    free(parent);
    free(label);
    free(cnt);
    free(sum);
    free(avg);
    return out;
}

double ferc_haar_iou(ferc_haar_box a, ferc_haar_box b)
{
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0)
        return 0;
    int x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    int x1 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w, y1 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    double in = (double)(x1 - x0) * (y1 - y0);
    return in / ((double)a.w * a.h + (double)b.w * b.h - in);
}

ferc_haar_box ferc_haar_expand(ferc_haar_box b, double factor, int w, int h)
{
    double cx = b.x + b.w * 0.5, cy = b.y + b.h * 0.5, nw = b.w * factor, nh = b.h * factor;
    int x0 = (int)floor(cx - nw * 0.5 + 0.5), y0 = (int)floor(cy - nh * 0.5 + 0.5);
    int x1 = (int)floor(cx + nw * 0.5 + 0.5), y1 = (int)floor(cy + nh * 0.5 + 0.5);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w ? w : x1;
    y1 = y1 > h ? h : y1;
    if (x1 <= x0 || y1 <= y0)
        return (ferc_haar_box){0, 0, 0, 0, 0};
    return (ferc_haar_box){x0, y0, x1 - x0, y1 - y0, b.neighbors};
}

/* ---- detection ---------------------------------------------------------- */

/* Clips boxes to the w x h image and drops empty ones (cv::clipObjects). */
static int clip_boxes(ferc_haar_box *b, int n, int w, int h)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int x0 = b[i].x > 0 ? b[i].x : 0, y0 = b[i].y > 0 ? b[i].y : 0;
        int x1 = b[i].x + b[i].w < w ? b[i].x + b[i].w : w, y1 = b[i].y + b[i].h < h ? b[i].y + b[i].h : h;
        if (x1 > x0 && y1 > y0)
            b[k++] = (ferc_haar_box){x0, y0, x1 - x0, y1 - y0, b[i].neighbors};
    }
    return k;
}

int ferc_haar_detect(const ferc_haar *c, ferc_haar_ws *ws, const uint8_t *px, int w, int h, int stride,
                     const ferc_haar_params *p, ferc_haar_box **boxes, int *n, ferc_err *e)
{
    *boxes = NULL;
    *n = 0;
    ferc_haar_box *b;
    int nb;
    if (ferc_haar_windows(c, ws, px, w, h, stride, p, 0, &b, &nb, e))
        return -1;
    nb = ferc_haar_group(b, nb, p->min_neighbors, 0.2);
    if (nb < 0) {
        free(b);
        return ferc_errf(e, "haar detect: out of memory");
    }
    nb = clip_boxes(b, nb, w, h);
    if (nb == 0) {
        free(b);
        b = NULL;
    }
    *boxes = b;
    *n = nb;
    return 0;
}

int ferc_haar_detect_rois(const ferc_haar *c, ferc_haar_ws *ws, const uint8_t *px, int w, int h, int stride,
                          const ferc_haar_box *rois, int n_rois, const ferc_haar_params *p,
                          ferc_haar_box **boxes, int *n, ferc_err *e)
{
    *boxes = NULL;
    *n = 0;
    if (n_rois < 0 || (n_rois > 0 && !rois))
        return ferc_errf(e, "haar detect: bad region list (%d regions)", n_rois);
    if (!c || !p || !px || w < 0 || h < 0 || stride < w)
        return ferc_errf(e, "haar detect: no cascade, parameters or image, or bad geometry %dx%d (stride %d)", w, h,
                         stride);
    ferc_haar_box *all = NULL;
    int n_all = 0;
    for (int r = 0; r < n_rois; r++) {
        ferc_haar_box roi = rois[r];
        long long x0 = roi.x > 0 ? roi.x : 0, y0 = roi.y > 0 ? roi.y : 0; /* 64-bit: no overflow */
        long long x1 = (long long)roi.x + roi.w, y1 = (long long)roi.y + roi.h;
        x1 = x1 < w ? x1 : w;
        y1 = y1 < h ? y1 : h;
        if (x1 - x0 < c->win_w || y1 - y0 < c->win_h)
            continue;
        ferc_haar_box *b;
        int nb;
        if (ferc_haar_detect(c, ws, px + (size_t)y0 * (size_t)stride + (size_t)x0, (int)(x1 - x0), (int)(y1 - y0),
                             stride, p, &b, &nb, e)) {
            free(all);
            return -1;
        }
        ferc_haar_box *t = nb ? realloc(all, sizeof *all * (size_t)(n_all + nb)) : all;
        if (nb && !t) {
            free(b);
            free(all);
            return ferc_errf(e, "haar detect: out of memory");
        }
        all = t;
        for (int i = 0; i < nb; i++) {
            b[i].x += (int)x0;
            b[i].y += (int)y0;
            all[n_all++] = b[i];
        }
        free(b);
    }
    /* one box per object: the best supported one among similar or
     * overlapping boxes from different regions (ties: the earlier one) */
    char *keep = malloc((size_t)n_all + 1);
    if (!keep) {
        free(all);
        return ferc_errf(e, "haar detect: out of memory");
    }
    for (int i = 0; i < n_all; i++) {
        keep[i] = 1;
        for (int j = 0; j < n_all && keep[i]; j++) {
            if (j == i)
                continue;
            int over = similar(&all[i], &all[j], 0.2) || ferc_haar_iou(all[i], all[j]) > 0.5;
            if (over && (all[j].neighbors > all[i].neighbors || (all[j].neighbors == all[i].neighbors && j < i)))
                keep[i] = 0;
        }
    }
    int k = 0;
    for (int i = 0; i < n_all; i++)
        if (keep[i])
            all[k++] = all[i];
    free(keep);
    if (k == 0) {
        free(all);
        all = NULL;
    }
    *boxes = all;
    *n = k;
    return 0;
}
