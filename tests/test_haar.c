/* test_haar.c: the face detector (src/haar.c, src/haar_detect.c) and its XML
 * reader (src/xml.c).
 *
 *  - XML: well-formed documents, and malformed ones refused with file:line;
 *  - cascade files: missing, truncated and malformed files refused with a
 *    message naming the file (and line); unsupported kinds named;
 *  - hand-made cascades with known answers, stumps and trees;
 *  - the bit-exact resize (2x = rounded 2x2 mean; equal to OpenCV's);
 *  - window grouping against hand cases;
 *  - the fast evaluator (16 windows at a time, threads) against the scalar
 *    reference: identical raw windows on many frames, scales and sizes;
 *  - synthetic frames with CK+48 faces pasted at known places: every face
 *    found (IoU >= 0.5 with the pasted square, see haar_synth.h for why that is
 *    the right box), nothing else found; nothing on the backgrounds alone;
 *  - tracking regions (ferc_haar_detect_rois);
 *  - OpenCV itself (python3-opencv, bench/detect_opencv.py) on the same
 *    frames: identical raw windows and identical grouped boxes.
 * Needs haarcascade_frontalface_default.xml (opencv-data) and CK+48 under
 * $FERC_DATASETS (default ../shared/datasets); skips, saying so, without. */
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "haar.h"
#include "haar_synth.h"
#include "image.h"
#include "rng.h"
#include "test.h"
#include "xml.h"

static char tdir[64];
static char ck48[4096];
static const char *cascade_path;
static ferc_haar *cascade;
static synth_faces faces;
static int have_faces;

/* ---- helpers ---------------------------------------------------------------- */

static int contains(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

static int box_cmp(const void *a, const void *b)
{
    const ferc_haar_box *p = a, *q = b;
    if (p->x != q->x) return p->x < q->x ? -1 : 1;
    if (p->y != q->y) return p->y < q->y ? -1 : 1;
    if (p->w != q->w) return p->w < q->w ? -1 : 1;
    return (p->h > q->h) - (p->h < q->h);
}

/* Same boxes (x, y, w, h) in the same order. */
static int same_boxes(const ferc_haar_box *a, int na, const ferc_haar_box *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (a[i].x != b[i].x || a[i].y != b[i].y || a[i].w != b[i].w || a[i].h != b[i].h)
            return 0;
    return 1;
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(text, 1, n, f);
        fclose(f);
    }
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = 0;
        *n = (size_t)len;
    }
    return buf;
}

/* ---- XML ---------------------------------------------------------------------- */

static int test_xml_ok(void)
{
    const char *doc = "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- a comment -->\n"
                      "<root kind=\"x &amp; y\" other='2'>\n"
                      "  <a>1 2 3</a>\n"
                      "  <b/>\n"
                      "  <c>&lt;tag&gt; &#65;&#x42;&quot;&apos;<![CDATA[ignored second run]]></c>\n"
                      "  <d><![CDATA[<raw> & stuff]]></d>\n"
                      "  <_><e>deep</e></_>\n"
                      "</root>\n<!-- trailing -->\n";
    ferc_err e = {{0}};
    ferc_xml_doc *d = ferc_xml_parse(doc, strlen(doc), "mem.xml", &e);
    CHECKF(d != NULL, "%s", e.msg);
    if (!d)
        return 0;
    const ferc_xml_node *r = ferc_xml_root(d);
    CHECK(!strcmp(r->name, "root") && r->n_child == 5 && r->line == 3);
    CHECK(!strcmp(ferc_xml_attr(r, "kind"), "x & y") && !strcmp(ferc_xml_attr(r, "other"), "2"));
    CHECK(ferc_xml_attr(r, "missing") == NULL);
    const ferc_xml_node *a = ferc_xml_child(r, "a"), *b = ferc_xml_child(r, "b"), *c = ferc_xml_child(r, "c");
    CHECK(a && !strcmp(a->text, "1 2 3") && a->line == 4);
    CHECK(b && b->n_child == 0 && !strcmp(b->text, "") && b->line == 5);
    CHECKF(c && !strcmp(c->text, "<tag> AB\"'"), "'%s'", c ? c->text : "");
    CHECK(!strcmp(ferc_xml_child(r, "d")->text, "<raw> & stuff"));
    const ferc_xml_node *u = ferc_xml_child(r, "_");
    CHECK(u && !strcmp(ferc_xml_child(u, "e")->text, "deep") && ferc_xml_child(u, "e")->line == 8);
    CHECK(ferc_xml_child(r, "zzz") == NULL);
    /* document order of children */
    const char *names[] = {"a", "b", "c", "d", "_"};
    int k = 0;
    for (const ferc_xml_node *n = r->first_child; n; n = n->next, k++)
        CHECK(k < 5 && !strcmp(n->name, names[k]) && n->parent == r);
    ferc_xml_free(d);
    return 0;
}

static int test_xml_errors(void)
{
    static const struct {
        const char *doc, *want;
    } cases[] = {
        {"", "mem.xml:1: malformed XML: empty file"},
        {"  \n ", "no root element"},
        {"<a>", "mem.xml:1: malformed XML: unexpected end of file: <a> (line 1) is not closed"},
        {"<a>\n<b>\n</a>", "mem.xml:3: malformed XML: </a> does not close <b> (line 2)"},
        {"<a>&foo;</a>", "unknown entity &foo"},
        {"<a>AT&T</a>", "'&' that does not start an entity"},
        {"<a>&#0;</a>", "character reference to NUL"},
        {"<a>&#xZZ;</a>", "bad character reference"},
        {"<a></a>junk", "content after the root element"},
        {"<a></a>\n<b/>", "mem.xml:2: malformed XML: content after the root element"},
        {"<a x=1></a>", "attribute value must be quoted"},
        {"<a x=\"1></a>", "attribute value not closed"},
        {"<a x></a>", "expected '=' after attribute name"},
        {"<a><!-- x</a>", "comment not closed"},
        {"<a><?pi </a>", "processing instruction not closed"},
        {"<a><![CDATA[x</a>", "CDATA section not closed"},
        {"text<a/>", "text before the root element"},
        {"<!DOCTYPE a><a/>", "DOCTYPE"},
        {"<1a/>", "expected an element name"},
        {"</a>", "end tag without a start tag"},
        {"<a></a", "end tag not closed"},
        {"<a b=\"<\"/>", "'<' inside an attribute value"},
        {"<a", "unexpected end of file in start tag"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ferc_err e = {{0}};
        ferc_xml_doc *d = ferc_xml_parse(cases[i].doc, strlen(cases[i].doc), "mem.xml", &e);
        CHECKF(d == NULL && contains(e.msg, cases[i].want), "case %zu: got '%s', want '%s'", i, e.msg, cases[i].want);
        ferc_xml_free(d);
    }
    /* NUL byte, deep nesting: refused, no crash */
    ferc_err e = {{0}};
    CHECK(ferc_xml_parse("<a>\0</a>", 8, "mem.xml", &e) == NULL && contains(e.msg, "NUL byte"));
    size_t n = 0;
    char *deep = malloc(10000);
    for (int k = 0; k < 1000; k++)
        n += (size_t)sprintf(deep + n, "<a>");
    CHECK(ferc_xml_parse(deep, n, "deep.xml", &e) == NULL && contains(e.msg, "nested too deeply"));
    free(deep);
    /* a missing file names the file */
    CHECK(ferc_xml_load("/nonexistent/dir/c.xml", &e) == NULL && contains(e.msg, "/nonexistent/dir/c.xml: cannot open"));
    return 0;
}

/* ---- cascade files ------------------------------------------------------------ */

/* A tiny 8x8 cascade: feature 0 = (bottom half) - (top half) of the window,
 * feature 1 = (right half) - (left half). One stage; node/tree text given. */
static void tiny_xml(char *buf, size_t n, const char *cascade_attr, const char *ftype, const char *stage_thr,
                     const char *weak, const char *feat0_extra, const char *rect0)
{
    snprintf(buf, n,
             "<?xml version=\"1.0\"?>\n"
             "<opencv_storage>\n"
             "<cascade%s><stageType>BOOST</stageType>\n"
             "  <featureType>%s</featureType>\n"
             "  <height>8</height>\n"
             "  <width>8</width>\n"
             "  <featureParams><maxCatCount>0</maxCatCount></featureParams>\n"
             "  <stageNum>1</stageNum>\n"
             "  <stages>\n"
             "    <_>\n"
             "      <maxWeakCount>1</maxWeakCount>\n"
             "      <stageThreshold>%s</stageThreshold>\n"
             "      <weakClassifiers>\n"
             "%s"
             "      </weakClassifiers></_></stages>\n"
             "  <features>\n"
             "    <_><rects><_>%s</_><_>0 4 8 4 2.</_></rects>%s</_>\n"
             "    <_><rects><_>0 0 8 8 -1.</_><_>4 0 4 8 2.</_></rects></_>\n"
             "  </features></cascade>\n"
             "</opencv_storage>\n",
             cascade_attr, ftype, stage_thr, weak, rect0, feat0_extra);
}

#define STUMP "        <_><internalNodes>0 -1 0 1.0</internalNodes><leafValues>-1. 1.</leafValues></_>\n"
/* node 0: feature 0 >= 1 goes to node 1 (feature 1 >= 0.5: leaf 2, else
 * leaf 1); feature 0 < 1: leaf 0 */
#define TREE "        <_><internalNodes>0 1 0 1.0 -1 -2 1 0.5</internalNodes><leafValues>-1. -0.5 1.</leafValues></_>\n"

static ferc_haar *tiny(const char *attr, const char *ftype, const char *thr, const char *weak, const char *extra,
                       const char *rect0, ferc_err *e)
{
    char buf[4096];
    tiny_xml(buf, sizeof buf, attr, ftype, thr, weak, extra, rect0);
    return ferc_haar_load_mem(buf, strlen(buf), "tiny.xml", e);
}

static int test_cascade_errors(void)
{
    ferc_err e = {{0}};
    ferc_haar *c = tiny(" type_id=\"opencv-cascade-classifier\"", "HAAR", "0.", STUMP, "", "0 0 8 8 -1.", &e);
    CHECKF(c != NULL, "%s", e.msg);
    if (c) {
        int ww, wh, ns, nw, nf, st;
        ferc_haar_info(c, &ww, &wh, &ns, &nw, &nf, &st);
        CHECK(ww == 8 && wh == 8 && ns == 1 && nw == 1 && nf == 2 && st == 1);
        ferc_haar_free(c);
    }
    c = tiny("", "HAAR", "0.", TREE, "", "0 0 8 8 -1.", &e); /* no type_id (as catface files): fine */
    CHECKF(c != NULL, "%s", e.msg);
    if (c) {
        int st;
        ferc_haar_info(c, NULL, NULL, NULL, NULL, NULL, &st);
        CHECK(st == 0);
        ferc_haar_free(c);
    }
    static const struct {
        const char *attr, *ftype, *thr, *weak, *extra, *rect0, *want;
    } bad[] = {
        {" type_id=\"opencv-haar-classifier\"", "HAAR", "0.", STUMP, "", "0 0 8 8 -1.", "tiny.xml:3: old-format cascade"},
        {" type_id=\"something\"", "HAAR", "0.", STUMP, "", "0 0 8 8 -1.", "type_id \"something\""},
        {"", "LBP", "0.", STUMP, "", "0 0 8 8 -1.", "tiny.xml:4: feature type \"LBP\" is not supported"},
        {"", "HAAR", "abc", STUMP, "", "0 0 8 8 -1.", "tiny.xml:12: <stageThreshold>: 'abc' is not a number"},
        {"", "HAAR", "0.", STUMP, "<tilted>1</tilted>", "0 0 8 8 -1.", "tiny.xml:17: feature 0: tilted (45-degree) features are not supported"},
        {"", "HAAR", "0.", STUMP, "", "0 0 9 8 -1.", "tiny.xml:17: feature 0, rectangle 0: 0 0 9 8 lies outside the 8x8 window"},
        {"", "HAAR", "0.", STUMP, "", "0 0 8 -1.", "feature 0, rectangle 0: 4 numbers"},
        {"", "HAAR", "0.", "        <_><internalNodes>0 -1 0</internalNodes><leafValues>-1. 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "tiny.xml:14: stage 0, weak classifier 0: <internalNodes> holds 3 numbers"},
        {"", "HAAR", "0.", "        <_><internalNodes>0 -1 0 1.0</internalNodes><leafValues>-1.</leafValues></_>\n", "", "0 0 8 8 -1.", "1 leaf values for 1 nodes (2 expected)"},
        {"", "HAAR", "0.", "        <_><internalNodes>0 -1 7 1.0</internalNodes><leafValues>-1. 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "a node uses feature 7, but <features> has only 2"},
        {"", "HAAR", "0.", "        <_><internalNodes>0 2 0 1.0 -1 -2 1 0.5</internalNodes><leafValues>-1. -0.5 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "stage 0, weak classifier 0, node 0: child 2 must be a later node"},
        {"", "HAAR", "0.", "        <_><internalNodes>1 -1 0 1.0</internalNodes><leafValues>-1. 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "node 0: child 1 must be a later node"},
        {"", "HAAR", "0.", "        <_><internalNodes>0 -5 0 1.0</internalNodes><leafValues>-1. 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "leaf index out of range"},
        {"", "HAAR", "0.", "        <_><leafValues>-1. 1.</leafValues></_>\n", "", "0 0 8 8 -1.", "tiny.xml:14: <_> has no <internalNodes> element"},
        {"", "HAAR", "0.", "", "", "0 0 8 8 -1.", "stage 0 has no weak classifiers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = tiny(bad[i].attr, bad[i].ftype, bad[i].thr, bad[i].weak, bad[i].extra, bad[i].rect0, &e);
        CHECKF(c == NULL && contains(e.msg, bad[i].want), "case %zu: got '%s', want '%s'", i, e.msg, bad[i].want);
        ferc_haar_free(c);
    }
    /* structure errors */
    static const struct {
        const char *doc, *want;
    } docs[] = {
        {"<notopencv/>", "not an OpenCV cascade: the root element is <notopencv>"},
        {"<opencv_storage/>", "<opencv_storage> is empty"},
        {"<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>"
         "<height>24</height><width>24</width></cascade></opencv_storage>", "<cascade> has no <stages> element"},
        {"<opencv_storage><cascade><stageType>GAB</stageType></cascade></opencv_storage>", "stage type \"GAB\""},
        {"<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>"
         "<height>2</height><width>24</width></cascade></opencv_storage>", "window 24x2 out of range"},
        {"<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>"
         "<height>24</height><width>24</width><featureParams><maxCatCount>256</maxCatCount></featureParams>"
         "</cascade></opencv_storage>", "categorical features (maxCatCount 256)"},
        {"<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>"
         "<height>24.5</height><width>24</width></cascade></opencv_storage>", "<height> must hold one integer"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        c = ferc_haar_load_mem(docs[i].doc, strlen(docs[i].doc), "doc.xml", &e);
        CHECKF(c == NULL && contains(e.msg, docs[i].want), "doc %zu: got '%s', want '%s'", i, e.msg, docs[i].want);
        ferc_haar_free(c);
    }
    /* files: missing, malformed with line, not XML at all, truncated real cascade */
    char p[512];
    CHECK(ferc_haar_load("/nonexistent/haar.xml", &e) == NULL &&
          contains(e.msg, "/nonexistent/haar.xml: cannot open: No such file or directory"));
    snprintf(p, sizeof p, "%s/bad.xml", tdir);
    char buf[4096];
    tiny_xml(buf, sizeof buf, "", "HAAR", "0.", STUMP, "", "0 0 8 x -1.");
    write_file(p, buf, strlen(buf));
    char want[600];
    snprintf(want, sizeof want, "%s:17: <_>: 'x' is not a number", p);
    CHECKF(ferc_haar_load(p, &e) == NULL && contains(e.msg, want), "got '%s', want '%s'", e.msg, want);
    write_file(p, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    CHECKF(ferc_haar_load(p, &e) == NULL && contains(e.msg, p) && contains(e.msg, "malformed XML"), "%s", e.msg);
    if (cascade_path) {
        size_t n;
        char *x = read_file(cascade_path, &n);
        CHECK(x != NULL);
        if (x) {
            for (size_t cut = n / 7; cut < n; cut += n / 7) { /* cut anywhere: refused, naming file and line */
                write_file(p, x, cut);
                ferc_haar *t = ferc_haar_load(p, &e);
                CHECKF(t == NULL && contains(e.msg, p) && contains(e.msg, "malformed XML"), "cut %zu: %s", cut, e.msg);
                ferc_haar_free(t);
            }
            free(x);
        }
        /* a cascade with tilted features (OpenCV's own file) is refused, naming the line */
        const char *tilted = "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml";
        if (access(tilted, R_OK) == 0) {
            CHECK(ferc_haar_load(tilted, &e) == NULL && contains(e.msg, "tilted (45-degree) features are not supported"));
        }
    }
    return 0;
}

/* ---- hand-made cascades with known answers --------------------------------------- */

/* An image whose lower part (from row edge) is bright, with mild noise so the
 * variance test passes everywhere. */
static void edge_image(uint8_t *px, int w, int h, int edge, ferc_rng *r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            px[(size_t)y * w + x] = (uint8_t)((y >= edge ? 190 : 60) + (int)ferc_rng_below(r, 51) - 25);
}

static int test_tiny_cascades(void)
{
    ferc_err e = {{0}};
    ferc_haar *st = tiny("", "HAAR", "0.", STUMP, "", "0 0 8 8 -1.", &e);
    ferc_haar *tr = tiny("", "HAAR", "0.", TREE, "", "0 0 8 8 -1.", &e);
    CHECKF(st && tr, "%s", e.msg);
    if (!st || !tr)
        return 0;
    enum { W = 97, H = 61, EDGE = 29 };
    uint8_t *px = malloc((size_t)W * H);
    ferc_rng r;
    ferc_rng_seed(&r, 5);
    edge_image(px, W, H, EDGE, &r);
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_neighbors = 0;
    ferc_haar_box *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    /* stump: the feature (bottom - top)/nf must reach 1: only windows that
     * straddle the edge, and every column at scale 1 has one */
    CHECK(ferc_haar_windows(st, NULL, px, W, H, W, &p, 0, &a, &na, &e) == 0);
    CHECK(ferc_haar_windows(st, NULL, px, W, H, W, &p, 1, &b, &nb, &e) == 0);
    CHECK(na > 0 && same_boxes(a, na, b, nb));
    int cols = 0;
    for (int i = 0; i < na; i++) {
        int slack = a[i].w / 8; /* one pixel of the window's pyramid level */
        CHECKF(a[i].y - slack < EDGE && a[i].y + a[i].h + slack > EDGE, "window %d %d %d %d misses the edge", a[i].x,
               a[i].y, a[i].w, a[i].h);
        cols += a[i].w == 8;
    }
    CHECKF(cols >= (W - 8) / 2 / 2, "%d windows at scale 1", cols); /* step 2 at scale 1; skips allowed */
    free(a), free(b);
    /* the same image upside down: nothing (feature negative) */
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W; x++) {
            uint8_t t = px[(size_t)y * W + x];
            px[(size_t)y * W + x] = px[(size_t)(H - 1 - y) * W + x];
            px[(size_t)(H - 1 - y) * W + x] = t;
        }
    CHECK(ferc_haar_windows(st, NULL, px, W, H, W, &p, 0, &a, &na, &e) == 0 && na == 0);
    free(a);
    /* tree: the scalar tree walk against the reference, several images */
    for (int k = 0; k < 4; k++) {
        edge_image(px, W, H, 10 + 10 * k, &r);
        for (int q = 0; q < W * H; q += 7) /* some vertical structure for feature 1 */
            px[q] = (uint8_t)(px[q] / 2);
        CHECK(ferc_haar_windows(tr, NULL, px, W, H, W, &p, 0, &a, &na, &e) == 0);
        CHECK(ferc_haar_windows(tr, NULL, px, W, H, W, &p, 1, &b, &nb, &e) == 0);
        CHECKF(same_boxes(a, na, b, nb), "tree: %d vs %d windows", na, nb);
        free(a), free(b);
    }
    /* flat image: the variance test rejects everything */
    memset(px, 128, (size_t)W * H);
    CHECK(ferc_haar_windows(st, NULL, px, W, H, W, &p, 0, &a, &na, &e) == 0 && na == 0);
    free(a);
    free(px);
    ferc_haar_free(st);
    ferc_haar_free(tr);
    return 0;
}

/* ---- resize ------------------------------------------------------------------------ */

static int test_resize(void)
{
    ferc_rng r;
    ferc_rng_seed(&r, 3);
    enum { W = 97, H = 61 };
    uint8_t src[W * H], dst[200 * 150], ref[200 * 150];
    for (int i = 0; i < W * H; i++)
        src[i] = (uint8_t)ferc_rng_below(&r, 256);
    /* same size: a copy */
    ferc_haar_resize(src, W, H, W, dst, W, H);
    CHECK(!memcmp(src, dst, sizeof src));
    /* exactly half: the rounded mean of 2x2 blocks (OpenCV: INTER_AREA equals
     * the bit-exact bilinear here) */
    ferc_haar_resize(src, 96, 60, W, dst, 48, 30);
    int bad = 0;
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 48; x++) {
            const uint8_t *s = src + (size_t)(2 * y) * W + 2 * x;
            bad += dst[y * 48 + x] != (s[0] + s[1] + s[W] + s[W + 1] + 2) >> 2;
        }
    CHECKF(bad == 0, "%d pixels differ from the 2x2 mean", bad);
    /* constant stays constant; enlarging works too */
    memset(ref, 77, sizeof ref);
    ferc_haar_resize(ref, 40, 30, 40, dst, 133, 101);
    bad = 0;
    for (int i = 0; i < 133 * 101; i++)
        bad += dst[i] != 77;
    CHECK(bad == 0);
    return 0;
}

/* ---- grouping ------------------------------------------------------------------------ */

static int test_group(void)
{
    ferc_haar_box b[16];
    /* four near-identical windows: kept as their rounded mean with min 3 */
    ferc_haar_box four[4] = {{100, 100, 50, 50, 0}, {102, 101, 50, 50, 0}, {101, 99, 52, 52, 0}, {103, 100, 50, 50, 0}};
    memcpy(b, four, sizeof four);
    int n = ferc_haar_group(b, 4, 3, 0.2);
    /* mean x = 406/4 = 101.5 -> 102 (half to even), y = 100, w = 50.5 -> 50, h = 50.5 -> 50 */
    CHECKF(n == 1 && b[0].x == 102 && b[0].y == 100 && b[0].w == 50 && b[0].h == 50 && b[0].neighbors == 4,
           "n %d: %d %d %d %d (%d)", n, b[0].x, b[0].y, b[0].w, b[0].h, b[0].neighbors);
    /* three: dropped with min 3, kept with min 2 */
    memcpy(b, four, sizeof four);
    CHECK(ferc_haar_group(b, 3, 3, 0.2) == 0);
    memcpy(b, four, sizeof four);
    CHECK(ferc_haar_group(b, 3, 2, 0.2) == 1 && b[0].neighbors == 3);
    /* min 0: untouched */
    memcpy(b, four, sizeof four);
    CHECK(ferc_haar_group(b, 4, 0, 0.2) == 4 && !memcmp(b, four, sizeof four));
    /* two separate groups */
    int k = 0;
    for (int i = 0; i < 5; i++)
        b[k++] = (ferc_haar_box){10 + i, 10, 40, 40, 0};
    for (int i = 0; i < 5; i++)
        b[k++] = (ferc_haar_box){200, 150 + i, 60, 60, 0};
    n = ferc_haar_group(b, k, 3, 0.2);
    CHECK(n == 2 && b[0].x == 12 && b[0].neighbors == 5 && b[1].y == 152 && b[1].neighbors == 5);
    /* a small group inside a bigger, better supported one is dropped */
    k = 0;
    for (int i = 0; i < 6; i++)
        b[k++] = (ferc_haar_box){100, 100, 60, 60, 0};
    for (int i = 0; i < 4; i++)
        b[k++] = (ferc_haar_box){110, 110, 24, 24, 0};
    n = ferc_haar_group(b, k, 3, 0.2);
    CHECK(n == 1 && b[0].w == 60 && b[0].neighbors == 6);
    /* similarity is transitive: a~b, b~c, a!~c -> one class */
    ferc_haar_box chain[4] = {{0, 0, 50, 50, 0}, {8, 0, 50, 50, 0}, {16, 0, 50, 50, 0}, {16, 0, 50, 50, 0}};
    n = ferc_haar_group(chain, 4, 3, 0.2);
    CHECK(n == 1 && chain[0].neighbors == 4);
    /* iou and expand */
    CHECK(fabs(ferc_haar_iou((ferc_haar_box){0, 0, 10, 10, 0}, (ferc_haar_box){5, 0, 10, 10, 0}) - 50.0 / 150) < 1e-12);
    CHECK(ferc_haar_iou((ferc_haar_box){0, 0, 10, 10, 0}, (ferc_haar_box){10, 0, 10, 10, 0}) == 0);
    ferc_haar_box x = ferc_haar_expand((ferc_haar_box){100, 100, 40, 40, 0}, 1.5, 640, 480);
    CHECK(x.x == 90 && x.y == 90 && x.w == 60 && x.h == 60);
    x = ferc_haar_expand((ferc_haar_box){0, 0, 40, 40, 0}, 1.5, 640, 480);
    CHECK(x.x == 0 && x.y == 0 && x.w == 50 && x.h == 50);
    x = ferc_haar_expand((ferc_haar_box){700, 0, 40, 40, 0}, 1.5, 640, 480);
    CHECK(x.w == 0 && x.h == 0);
    return 0;
}

/* ---- the real cascade ------------------------------------------------------------------- */

#define NEED_CASCADE()                                                                             \
    do {                                                                                           \
        if (!cascade)                                                                              \
            SKIP("no cascade at %s (apt-get install opencv-data)", FERC_HAAR_DEFAULT_CASCADE);      \
    } while (0)
#define NEED_FACES()                                                                               \
    do {                                                                                           \
        NEED_CASCADE();                                                                            \
        if (!have_faces)                                                                           \
            SKIP("no CK+48 faces under %s (set FERC_DATASETS)", ck48);                             \
    } while (0)

static int test_params(void)
{
    NEED_CASCADE();
    ferc_err e = {{0}};
    uint8_t px[100 * 80];
    memset(px, 90, sizeof px);
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    ferc_haar_box *b = (ferc_haar_box *)1;
    int n = -1;
    double bad_scale[] = {1.0, 0.5, NAN, INFINITY, -2};
    for (size_t i = 0; i < sizeof bad_scale / sizeof *bad_scale; i++) {
        p.scale_factor = bad_scale[i];
        CHECK(ferc_haar_detect(cascade, NULL, px, 100, 80, 100, &p, &b, &n, &e) == -1 && contains(e.msg, "scale factor"));
        CHECK(b == NULL && n == 0);
    }
    ferc_haar_params_default(&p);
    p.scale_factor = 1.0000001;
    CHECK(ferc_haar_detect(cascade, NULL, px, 100, 80, 100, &p, &b, &n, &e) == -1 && contains(e.msg, "pyramid levels"));
    ferc_haar_params_default(&p);
    p.min_neighbors = -1;
    CHECK(ferc_haar_detect(cascade, NULL, px, 100, 80, 100, &p, &b, &n, &e) == -1);
    ferc_haar_params_default(&p);
    CHECK(ferc_haar_detect(cascade, NULL, px, 100, 80, 99, &p, &b, &n, &e) == -1 && contains(e.msg, "stride"));
    CHECK(ferc_haar_detect(cascade, NULL, px, -1, 80, 100, &p, &b, &n, &e) == -1);
    CHECK(ferc_haar_detect(cascade, NULL, NULL, 100, 80, 100, &p, &b, &n, &e) == -1);
    /* images smaller than the window, exactly the window, empty: no error, nothing found */
    CHECK(ferc_haar_detect(cascade, NULL, px, 23, 80, 100, &p, &b, &n, &e) == 0 && n == 0 && b == NULL);
    CHECK(ferc_haar_detect(cascade, NULL, px, 24, 24, 100, &p, &b, &n, &e) == 0 && n == 0);
    CHECK(ferc_haar_detect(cascade, NULL, px, 0, 0, 0, &p, &b, &n, &e) == 0 && n == 0);
    /* min size above the image: OpenCV then searches the nearest scale; fine */
    p.min_w = p.min_h = 1000;
    CHECK(ferc_haar_detect(cascade, NULL, px, 100, 80, 100, &p, &b, &n, &e) == 0 && n == 0);
    return 0;
}

/* Raw windows of the fast evaluator (with 1 and 3 threads, a reused
 * workspace) against the scalar reference, on frames of every kind, odd
 * sizes, several scale factors and size limits. */
static int test_fast_vs_naive(void)
{
    NEED_FACES();
    ferc_err e = {{0}};
    ferc_rng r;
    ferc_rng_seed(&r, 11);
    ferc_haar_ws *ws = ferc_haar_ws_new();
    static const struct {
        int w, h;
        double sf;
        int minw, maxw;
    } cfg[] = {
        {200, 150, 1.1, 0, 0}, {211, 157, 1.25, 0, 0}, {160, 240, 1.05, 30, 0}, {256, 192, 1.3, 0, 90},
        {97, 300, 1.15, 0, 0},  {320, 100, 2.5, 0, 0},  {240, 180, 1.1, 40, 80},
    };
    int total = 0;
    for (int kind = 0; kind < SYNTH_KINDS; kind++)
        for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
            int w = cfg[c].w, h = cfg[c].h;
            uint8_t *px = malloc((size_t)w * h);
            ferc_haar_box truth[3];
            int smax = (w < h ? w : h) - 10;
            if (synth_frame(px, w, h, kind, &faces, 2, 30, smax < 90 ? smax : 90, &r, truth, &e) < 0) {
                CHECKF(0, "%s", e.msg);
                free(px);
                continue;
            }
            ferc_haar_params p;
            ferc_haar_params_default(&p);
            p.scale_factor = cfg[c].sf;
            p.min_w = p.min_h = cfg[c].minw;
            p.max_w = p.max_h = cfg[c].maxw;
            ferc_haar_box *a = NULL, *b = NULL, *d = NULL;
            int na = 0, nb = 0, nd = 0;
            p.threads = 1;
            CHECK(ferc_haar_windows(cascade, ws, px, w, h, w, &p, 0, &a, &na, &e) == 0);
            p.threads = 3;
            CHECK(ferc_haar_windows(cascade, ws, px, w, h, w, &p, 0, &d, &nd, &e) == 0);
            CHECK(ferc_haar_windows(cascade, NULL, px, w, h, w, &p, 1, &b, &nb, &e) == 0);
            CHECKF(same_boxes(a, na, b, nb) && same_boxes(a, na, d, nd),
                   "%s %dx%d scale %.2f: fast %d / %d (3 threads), naive %d windows", synth_kind_name[kind], w, h,
                   cfg[c].sf, na, nd, nb);
            total += na;
            free(a), free(b), free(d);
            free(px);
        }
    CHECKF(total > 100, "only %d windows in all frames", total);
    /* a sub-image (stride > width) gives the windows of the copied crop */
    uint8_t *big = malloc(300 * 200), *crop = malloc(180 * 150);
    ferc_haar_box t[3];
    synth_frame(big, 300, 200, SYNTH_GRADIENT, &faces, 2, 50, 90, &r, t, &e);
    for (int y = 0; y < 150; y++)
        memcpy(crop + y * 180, big + (y + 20) * 300 + 70, 180);
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    ferc_haar_box *a, *b;
    int na, nb;
    CHECK(ferc_haar_windows(cascade, ws, big + 20 * 300 + 70, 180, 150, 300, &p, 0, &a, &na, &e) == 0);
    CHECK(ferc_haar_windows(cascade, ws, crop, 180, 150, 180, &p, 0, &b, &nb, &e) == 0);
    CHECK(same_boxes(a, na, b, nb));
    free(a), free(b), free(big), free(crop);
    ferc_haar_ws_free(ws);
    return 0;
}

/* Matches detections to pasted faces: every face needs a box with IoU >= 0.5;
 * returns the number of boxes matching no face (false positives). */
static int match_faces(const ferc_haar_box *truth, int nt, const ferc_haar_box *got, int ng, int *missed)
{
    *missed = 0;
    for (int i = 0; i < nt; i++) {
        int ok = 0;
        for (int j = 0; j < ng; j++)
            ok |= ferc_haar_iou(truth[i], got[j]) >= 0.5;
        *missed += !ok;
    }
    int fp = 0;
    for (int j = 0; j < ng; j++) {
        int ok = 0;
        for (int i = 0; i < nt; i++)
            ok |= ferc_haar_iou(truth[i], got[j]) >= 0.5;
        fp += !ok;
    }
    return fp;
}

static int test_faces_found(void)
{
    NEED_FACES();
    ferc_err e = {{0}};
    ferc_rng r;
    ferc_rng_seed(&r, 2024);
    enum { W = 640, H = 480 };
    uint8_t *px = malloc((size_t)W * H);
    ferc_haar_ws *ws = ferc_haar_ws_new();
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_w = p.min_h = 30;
    int n_faces = 0, n_missed = 0, n_fp = 0;
    for (int f = 0; f < 8; f++) {
        int kind = f % SYNTH_KINDS;
        ferc_haar_box truth[4];
        int nt = synth_frame(px, W, H, kind, &faces, 2 + f % 3, 80, 160, &r, truth, &e);
        CHECKF(nt >= 2, "frame %d: %s", f, nt < 0 ? e.msg : "no room");
        ferc_haar_box *b;
        int nb, missed;
        CHECK(ferc_haar_detect(cascade, ws, px, W, H, W, &p, &b, &nb, &e) == 0);
        int fp = match_faces(truth, nt, b, nb, &missed);
        CHECKF(missed == 0 && fp == 0, "frame %d (%s): %d faces, %d missed, %d false positives", f,
               synth_kind_name[kind], nt, missed, fp);
        n_faces += nt, n_missed += missed, n_fp += fp;
        free(b);
    }
    printf("  %d faces in 8 frames: %d missed, %d false positives\n", n_faces, n_missed, n_fp);
    free(px);
    ferc_haar_ws_free(ws);
    return 0;
}

static int test_no_faces(void)
{
    NEED_CASCADE();
    ferc_err e = {{0}};
    ferc_rng r;
    ferc_rng_seed(&r, 77);
    enum { W = 640, H = 480 };
    uint8_t *px = malloc((size_t)W * H);
    ferc_haar_ws *ws = ferc_haar_ws_new();
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_w = p.min_h = 30;
    for (int f = 0; f < 2 * SYNTH_KINDS; f++) {
        synth_background(px, W, H, f % SYNTH_KINDS, &r);
        ferc_haar_box *b;
        int nb;
        CHECK(ferc_haar_detect(cascade, ws, px, W, H, W, &p, &b, &nb, &e) == 0);
        CHECKF(nb == 0, "%s background: %d detections (first %d %d %d %d)", synth_kind_name[f % SYNTH_KINDS], nb,
               nb ? b[0].x : 0, nb ? b[0].y : 0, nb ? b[0].w : 0, nb ? b[0].h : 0);
        free(b);
    }
    free(px);
    ferc_haar_ws_free(ws);
    return 0;
}

static int test_rois(void)
{
    NEED_FACES();
    ferc_err e = {{0}};
    ferc_rng r;
    ferc_rng_seed(&r, 99);
    enum { W = 640, H = 480 };
    uint8_t *px = malloc((size_t)W * H);
    ferc_haar_box truth[3];
    int nt = synth_frame(px, W, H, SYNTH_NOISE, &faces, 3, 70, 150, &r, truth, &e);
    CHECK(nt == 3);
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_w = p.min_h = 30;
    ferc_haar_ws *ws = ferc_haar_ws_new();
    ferc_haar_box *full, *b;
    int nf, nb;
    CHECK(ferc_haar_detect(cascade, ws, px, W, H, W, &p, &full, &nf, &e) == 0 && nf == nt);
    /* regions 1.5x the previous boxes; sizes 0.7..1.4 of them */
    ferc_haar_box rois[6];
    int minw = 1 << 30, maxw = 0;
    for (int i = 0; i < nf; i++) {
        rois[i] = ferc_haar_expand(full[i], 1.5, W, H);
        rois[nf + i] = rois[i]; /* the same regions twice: still one box per face */
        minw = full[i].w < minw ? full[i].w : minw;
        maxw = full[i].w > maxw ? full[i].w : maxw;
    }
    ferc_haar_params q = p;
    q.min_w = q.min_h = (int)(0.7 * minw);
    q.max_w = q.max_h = (int)(1.4 * maxw);
    CHECK(ferc_haar_detect_rois(cascade, ws, px, W, H, W, rois, 2 * nf, &q, &b, &nb, &e) == 0);
    CHECKF(nb == nf, "%d boxes in regions, %d in the full scan", nb, nf);
    for (int i = 0; i < nf; i++) {
        double best = 0;
        for (int j = 0; j < nb; j++)
            best = fmax(best, ferc_haar_iou(full[i], b[j]));
        CHECKF(best >= 0.7, "face %d: best IoU %.2f with the full-scan box", i, best);
    }
    free(b);
    /* regions outside the image, too small, or none: nothing, no error */
    ferc_haar_box odd[3] = {{700, 500, 100, 100, 0}, {10, 10, 20, 20, 0}, {-50, -50, 60, 60, 0}};
    CHECK(ferc_haar_detect_rois(cascade, ws, px, W, H, W, odd, 3, &q, &b, &nb, &e) == 0 && nb == 0 && b == NULL);
    CHECK(ferc_haar_detect_rois(cascade, ws, px, W, H, W, NULL, 0, &q, &b, &nb, &e) == 0 && nb == 0);
    CHECK(ferc_haar_detect_rois(cascade, ws, px, W, H, W, NULL, 2, &q, &b, &nb, &e) == -1);
    free(full);
    free(px);
    ferc_haar_ws_free(ws);
    return 0;
}

/* ---- OpenCV ---------------------------------------------------------------------------- */

/* Parses detect_opencv.py's JSON lines: boxes[i] / counts[i] per image. */
static int read_ocv(const char *path, int n_img, ferc_haar_box **boxes, int *counts)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int i = 0;
    while (i < n_img && getline(&line, &cap, f) > 0) {
        char *p = strstr(line, "\"boxes\": [");
        if (!p)
            continue;
        p += strlen("\"boxes\": [");
        char *end = strstr(p, "], \"ms\"");
        int n = 0, m = 0;
        for (char *q = p; q && q < end; q = strchr(q + 1, '['))
            m++;
        boxes[i] = malloc(sizeof **boxes * (size_t)(m + 1));
        for (char *q = strchr(p, '['); q && q < end; q = strchr(q + 1, '[')) {
            ferc_haar_box b = {0};
            if (sscanf(q, "[%d, %d, %d, %d]", &b.x, &b.y, &b.w, &b.h) == 4)
                boxes[i][n++] = b;
        }
        counts[i++] = n;
    }
    free(line);
    fclose(f);
    return i == n_img ? 0 : -1;
}

static int have_opencv(char *script, size_t n)
{
    const char *src = __FILE__, *sl = strrchr(src, '/');
    snprintf(script, n, "%.*s../bench/detect_opencv.py", sl ? (int)(sl - src + 1) : 0, src);
    if (access(script, R_OK))
        return -1;
    return system("/usr/bin/python3 -c 'import cv2' >/dev/null 2>&1") == 0 ? 0 : -2;
}

/* Runs OpenCV on files[n] with the given cascade and options and compares
 * its boxes with ferc_haar_detect's (same parameters), as sorted lists. */
static void compare_opencv(const char *script, const char *casc_path, const ferc_haar *c, char files[][512],
                           uint8_t **imgs, const int *ws_, const int *hs_, int n, const ferc_haar_params *p,
                           const char *tag)
{
    char cmd[16384], out[600];
    snprintf(out, sizeof out, "%s/ocv_%s.jsonl", tdir, tag);
    int k = snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --cascade %s --scale %.17g --neighbors %d --min-size %d %d"
                     " --max-size %d %d", script, casc_path, p->scale_factor, p->min_neighbors, p->min_w, p->min_h,
                     p->max_w, p->max_h);
    for (int i = 0; i < n; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " %s", files[i]);
    snprintf(cmd + k, sizeof cmd - (size_t)k, " > %s", out);
    int rc = system(cmd);
    CHECKF(rc == 0, "%s: exit %d", cmd, rc);
    ferc_haar_box *ob[16] = {0};
    int oc[16] = {0};
    CHECK(read_ocv(out, n, ob, oc) == 0);
    ferc_err e = {{0}};
    int total = 0;
    for (int i = 0; i < n; i++) {
        ferc_haar_box *b = NULL;
        int nb = 0;
        CHECK(ferc_haar_detect(c, NULL, imgs[i], ws_[i], hs_[i], ws_[i], p, &b, &nb, &e) == 0);
        if (nb)
            qsort(b, (size_t)nb, sizeof *b, box_cmp);
        if (oc[i])
            qsort(ob[i], (size_t)oc[i], sizeof *ob[i], box_cmp);
        int same = same_boxes(b, nb, ob[i], oc[i]);
        CHECKF(same, "%s, %s: ferc %d boxes, OpenCV %d", tag, files[i], nb, oc[i]);
        if (!same)
            for (int j = 0; j < nb + oc[i] && j < 6; j++)
                fprintf(stderr, "    %s %d %d %d %d\n", j < nb ? "ferc" : "ocv ", j < nb ? b[j].x : ob[i][j - nb].x,
                        j < nb ? b[j].y : ob[i][j - nb].y, j < nb ? b[j].w : ob[i][j - nb].w,
                        j < nb ? b[j].h : ob[i][j - nb].h);
        total += nb;
        free(b);
        free(ob[i]);
    }
    printf("  %s: %d boxes in %d images, all identical to OpenCV's\n", tag, total, n);
}

static int test_opencv(void)
{
    NEED_FACES();
    char script[512];
    int h = have_opencv(script, sizeof script);
    if (h == -1)
        SKIP("%s not found (run from the repository root)", script);
    if (h == -2)
        SKIP("/usr/bin/python3 cannot import cv2 (apt-get install python3-opencv)");
    ferc_err e = {{0}};
    ferc_rng r;
    ferc_rng_seed(&r, 4242);
    enum { N = 6 };
    char files[N][512];
    uint8_t *imgs[N];
    int ws_[N], hs_[N];
    for (int i = 0; i < N; i++) {
        ws_[i] = i < 4 ? 640 : 320;
        hs_[i] = i < 4 ? 480 : 240;
        imgs[i] = malloc((size_t)ws_[i] * hs_[i]);
        ferc_haar_box t[3];
        synth_frame(imgs[i], ws_[i], hs_[i], i % SYNTH_KINDS, &faces, 3, 40, i < 4 ? 160 : 90, &r, t, &e);
        snprintf(files[i], sizeof files[i], "%s/frame%d.png", tdir, i);
        CHECK(ferc_png_write(files[i], imgs[i], ws_[i], hs_[i], 1, &e) == 0);
    }
    ferc_haar_params p;
    ferc_haar_params_default(&p);
    p.min_neighbors = 0; /* raw windows (clipped to the image, as OpenCV does) */
    compare_opencv(script, cascade_path, cascade, files, imgs, ws_, hs_, N, &p, "raw");
    p.min_neighbors = 3;
    p.min_w = p.min_h = 30;
    compare_opencv(script, cascade_path, cascade, files, imgs, ws_, hs_, N, &p, "grouped");
    p.scale_factor = 1.2;
    p.min_neighbors = 5;
    p.max_w = p.max_h = 120;
    compare_opencv(script, cascade_path, cascade, files, imgs, ws_, hs_, N, &p, "scale1.2_max120");
    /* two more cascades: alt (stumps), alt_tree (trees: the scalar tree path) */
    static const char *const others[] = {"/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml",
                                         "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt_tree.xml"};
    for (int k = 0; k < 2; k++) {
        ferc_haar *c = access(others[k], R_OK) == 0 ? ferc_haar_load(others[k], &e) : NULL;
        if (!c) {
            printf("  skip: %s not usable\n", others[k]);
            continue;
        }
        ferc_haar_params_default(&p);
        p.min_neighbors = 0;
        compare_opencv(script, others[k], c, files + 4, imgs + 4, ws_ + 4, hs_ + 4, 2, &p, k ? "alt_tree" : "alt");
        ferc_haar_free(c);
    }
    for (int i = 0; i < N; i++)
        free(imgs[i]);
    /* the resize against cv2.resize(INTER_LINEAR_EXACT) */
    enum { SW = 97, SH = 61 };
    uint8_t src[SW * SH];
    for (int i = 0; i < SW * SH; i++)
        src[i] = (uint8_t)ferc_rng_below(&r, 256);
    char in[600], outp[600], cmd[2048];
    snprintf(in, sizeof in, "%s/rs_src.png", tdir);
    CHECK(ferc_png_write(in, src, SW, SH, 1, &e) == 0);
    static const int sizes[][2] = {{50, 30}, {37, 23}, {96, 60}, {13, 9}, {48, 31}, {200, 150}, {97, 20}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int dw = sizes[s][0], dh = sizes[s][1];
        snprintf(outp, sizeof outp, "%s/rs_%dx%d.png", tdir, dw, dh);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --resize %d %d %s %s", script, dw, dh, outp, in);
        CHECK(system(cmd) == 0);
        ferc_image ref;
        if (ferc_image_load(&ref, outp, &e)) {
            CHECKF(0, "%s", e.msg);
            continue;
        }
        uint8_t *mine = malloc((size_t)dw * dh);
        ferc_haar_resize(src, SW, SH, SW, mine, dw, dh);
        int bad = 0;
        for (int i = 0; i < dw * dh; i++)
            bad += mine[i] != ref.px[i];
        CHECKF(ref.w == dw && ref.h == dh && bad == 0, "resize to %dx%d: %d pixels differ from cv2.resize", dw, dh, bad);
        free(mine);
        ferc_image_free(&ref);
    }
    return 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int main(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/ferc-test-haar-XXXXXX");
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *root = getenv("FERC_DATASETS");
    snprintf(ck48, sizeof ck48, "%s/CK+48", root && *root ? root : "../shared/datasets");
    have_faces = synth_faces_list(&faces, ck48) > 0;
    cascade_path = ferc_haar_default_path();
    ferc_err e = {{0}};
    if (cascade_path && !(cascade = ferc_haar_load(cascade_path, &e)))
        fprintf(stderr, "cannot load %s: %s\n", cascade_path, e.msg);
    RUN(test_xml_ok);
    RUN(test_xml_errors);
    RUN(test_cascade_errors);
    RUN(test_tiny_cascades);
    RUN(test_resize);
    RUN(test_group);
    RUN(test_params);
    RUN(test_fast_vs_naive);
    RUN(test_faces_found);
    RUN(test_no_faces);
    RUN(test_rois);
    RUN(test_opencv);
    ferc_haar_free(cascade);
    synth_faces_free(&faces);
    if (getenv("FERC_TEST_KEEP"))
        printf("kept %s (FERC_TEST_KEEP)\n", tdir);
    else
        nftw(tdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE("test_haar");
}
