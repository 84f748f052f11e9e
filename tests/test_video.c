/* test_video.c: frame sources. YCbCr conversion against a float reference;
 * the shared Motion-JPEG clip ($FERC_VIDEOS, default ../shared/videos);
 * tiny MJPEG AVIs written here (JPEGs from libjpeg, RIFF built by hand: an
 * audio stream first, JUNK, odd sizes, 'rec ' lists, a drop frame, a frame
 * without Huffman tables as webcams send them, an OpenDML AVIX part) read
 * back; Y4M written here in every colour space read back exactly (4:4:4,
 * mono, luma) or approximately (subsampled chroma), also through a FIFO;
 * malformed files (truncated at every length, corrupted bytes, wrong
 * fourccs, bad sizes) all end in 0 or an error naming the file; camera error
 * paths that work without a camera. */
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <jpeglib.h> /* needs stdio.h first */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "video.h"
#include "test.h"
#include "tutil.h"

static uint8_t clamp_u8(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5); }

/* Full-range BT.601 (JFIF) in floating point: the reference. */
static void ref_yuv_to_rgb(int y, int u, int v, uint8_t *rgb)
{
    rgb[0] = clamp_u8(y + 1.402 * (v - 128));
    rgb[1] = clamp_u8(y - 0.344136 * (u - 128) - 0.714136 * (v - 128));
    rgb[2] = clamp_u8(y + 1.772 * (u - 128));
}

static void ref_rgb_to_yuv(const uint8_t *p, double *y, double *u, double *v)
{
    *y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    *u = 128 - 0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2];
    *v = 128 + 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2];
}

/* A smooth synthetic RGB frame, different for each k. */
static void synth_rgb(uint8_t *px, int w, int h, int k)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + 3 * ((size_t)y * w + x);
            p[0] = (uint8_t)(20 + 200 * x / w);
            p[1] = (uint8_t)(20 + 200 * y / h);
            p[2] = (uint8_t)(30 + 40 * k);
        }
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs(a[i] - b[i]);
    return s / (double)n;
}

/* -------------------------------------------------------------- conversions */

static int test_yuv_convert(void)
{
    /* every (y, u, v) on a grid: fixed point within 1 of the float formula */
    uint8_t ys[256], us[256], vs[256], rgb[3 * 256], ref[3];
    int maxd = 0;
    for (int u = 0; u < 256; u += 5)
        for (int v = 0; v < 256; v += 3) {
            for (int y = 0; y < 256; y++)
                ys[y] = (uint8_t)y, us[y] = (uint8_t)u, vs[y] = (uint8_t)v;
            ferc_yuv_row_to_rgb(rgb, ys, us, vs, 256, 1, 1, 0, 1);
            for (int y = 0; y < 256; y++) {
                ref_yuv_to_rgb(y, u, v, ref);
                for (int k = 0; k < 3; k++) {
                    int d = abs(rgb[3 * y + k] - ref[k]);
                    maxd = d > maxd ? d : maxd;
                }
            }
        }
    CHECKF(maxd <= 1, "max diff %d", maxd);
    /* neutral chroma is exactly gray, in full range */
    for (int y = 0; y < 256; y++)
        ys[y] = (uint8_t)y, us[y] = vs[y] = 128;
    ferc_yuv_row_to_rgb(rgb, ys, us, vs, 256, 1, 1, 0, 1);
    int exact = 1;
    for (int y = 0; y < 256; y++)
        exact &= rgb[3 * y] == y && rgb[3 * y + 1] == y && rgb[3 * y + 2] == y;
    CHECK(exact);
    /* limited range: 16 -> 0, 235 -> 255, clamped outside */
    uint8_t g[4], yl[4] = {0, 16, 235, 255};
    ferc_y_row_to_gray(g, yl, 4, 1, 0);
    CHECK(g[0] == 0 && g[1] == 0 && g[2] == 255 && g[3] == 255);
    ferc_yuv_row_to_rgb(rgb, yl + 2, us, vs, 1, 1, 1, 0, 0);
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    /* packed YUYV through the strides equals the planar call */
    uint8_t yuyv[16] = {10, 90, 200, 160, 50, 30, 120, 220, 255, 128, 0, 128, 77, 0, 66, 255};
    uint8_t py[8], pu[4], pv[4], a[24], b[24];
    for (int i = 0; i < 4; i++) {
        py[2 * i] = yuyv[4 * i];
        pu[i] = yuyv[4 * i + 1];
        py[2 * i + 1] = yuyv[4 * i + 2];
        pv[i] = yuyv[4 * i + 3];
    }
    ferc_yuv_row_to_rgb(a, yuyv, yuyv + 1, yuyv + 3, 8, 2, 4, 1, 0);
    ferc_yuv_row_to_rgb(b, py, pu, pv, 8, 1, 1, 1, 0);
    CHECK(memcmp(a, b, 24) == 0);
    ferc_y_row_to_gray(a, yuyv, 8, 2, 1);
    CHECK(memcmp(a, py, 8) == 0);
    return 0;
}

/* -------------------------------------------------------------- the shared clip */

static int test_clip(void)
{
    const char *root = getenv("FERC_VIDEOS");
    char p[512];
    snprintf(p, sizeof p, "%s/face-neutral-to-anger.avi", root && *root ? root : "../shared/videos");
    if (access(p, R_OK) != 0)
        SKIP("%s not found (set FERC_VIDEOS or run from the project root)", p);
    ferc_err e = {{0}};
    ferc_video *v = ferc_video_open(p, &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return 0;
    const ferc_video_info *in = ferc_video_get_info(v);
    CHECKF(in->width == 720 && in->height == 480, "%dx%d", in->width, in->height);
    CHECK_CLOSE(in->fps, 30.0, 1e-9, 0);
    CHECKF(in->nframes == 67, "%ld", in->nframes);
    CHECKF(strcmp(in->format, "AVI MJPG") == 0, "%s", in->format);
    ferc_image im = {0}, gray = {0};
    long n = 0;
    int r;
    double first_mean = 0, last_mean = 0;
    while ((r = ferc_video_read(v, &im, 3, &e)) == 1) {
        CHECK(im.w == 720 && im.h == 480 && im.c == 3);
        CHECK(in->frame == n);
        size_t np = (size_t)im.w * im.h * 3;
        double s = 0;
        for (size_t i = 0; i < np; i++)
            s += im.px[i];
        if (n == 0) {
            int lo = 255, hi = 0;
            for (size_t i = 0; i < np; i++) {
                lo = im.px[i] < lo ? im.px[i] : lo;
                hi = im.px[i] > hi ? im.px[i] : hi;
            }
            CHECKF(hi - lo > 100, "frame 0 is flat: %d..%d", lo, hi);
            first_mean = s / np;
            printf("  frame 0: pixels %d..%d, mean %.1f\n", lo, hi, first_mean);
        }
        last_mean = s / np;
        n++;
    }
    CHECKF(r == 0, "%s", e.msg);
    CHECKF(n == 67, "%ld frames", n);
    CHECK_CLOSE(in->time, 66.0 / 30, 1e-9, 0);
    CHECK(ferc_video_read(v, &im, 3, &e) == 0); /* stays at the end */
    printf("  %s: %s %dx%d, %.3g fps, %ld frames (header %ld), %.3f s; last frame mean %.1f\n", p,
           in->format, in->width, in->height, in->fps, n, in->nframes, (n) / in->fps, last_mean);
    ferc_video_close(v);
    /* gray: the JPEG's own luma, close to the luma of the RGB frame */
    v = ferc_video_open(p, &e);
    CHECK(v && ferc_video_read(v, &im, 3, &e) == 1);
    ferc_video_close(v);
    v = ferc_video_open(p, &e);
    CHECK(v && ferc_video_read(v, &gray, 1, &e) == 1);
    CHECK(gray.c == 1 && gray.w == 720 && gray.h == 480);
    double d = 0;
    for (size_t i = 0; gray.px && im.px && i < (size_t)720 * 480; i++) {
        const uint8_t *q = im.px + 3 * i;
        d += fabs(0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2] - gray.px[i]);
    }
    CHECKF(d / (720 * 480) < 1.5, "gray vs luma of RGB: %.2f", d / (720 * 480));
    ferc_video_close(v);
    /* the clip cut in the middle of a frame: the frames before it, then "truncated" */
    size_t len;
    uint8_t *data = read_all(p, &len);
    char cut[128];
    tpath(cut, sizeof cut, "cut.avi");
    write_all(cut, data, 1000000);
    free(data);
    v = ferc_video_open(cut, &e);
    CHECKF(v, "%s", e.msg);
    long k = 0;
    while (v && (r = ferc_video_read(v, &im, 1, &e)) == 1)
        k++;
    CHECKF(v && r == -1 && k == 25 && strstr(e.msg, "truncated AVI") && strstr(e.msg, cut),
           "%ld frames, %s", k, e.msg);
    ferc_video_close(v);
    ferc_image_free(&im);
    ferc_image_free(&gray);
    return 0;
}

/* -------------------------------------------------------------- AVI writing */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->b = realloc(b->b, b->cap);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, q, 4);
}
static void set32(buf *b, size_t off, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    memcpy(b->b + off, q, 4);
}
/* Starts a chunk (id, size to patch); for RIFF/LIST also the type. Returns
 * the size field's offset for end_chunk. */
static size_t begin(buf *b, const char *id, const char *type)
{
    put(b, id, 4);
    size_t off = b->n;
    put32(b, 0);
    if (type)
        put(b, type, 4);
    return off;
}
static void end(buf *b, size_t off)
{
    uint32_t sz = (uint32_t)(b->n - off - 4);
    set32(b, off, sz);
    if (sz & 1)
        put(b, "", 1);
}
static void chunk(buf *b, const char *id, const void *p, size_t n)
{
    size_t o = begin(b, id, NULL);
    put(b, p, n);
    end(b, o);
}

/* JPEG of an RGB image, in memory (malloc'ed by libjpeg). */
static uint8_t *jpeg_mem(const uint8_t *px, int w, int h, int q, size_t *n)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out, &len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(px + (size_t)ci.next_scanline * w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *n = len;
    return out;
}

/* Removes the DHT segments, as many webcams send MJPEG (the decoder must use
 * the standard tables). Works in place; returns the new length. */
static size_t strip_dht(uint8_t *j, size_t n)
{
    size_t r = 2, w = 2;
    while (r + 4 <= n && j[r] == 0xFF && j[r + 1] != 0xDA) {
        size_t len = 2 + ((size_t)j[r + 2] << 8 | j[r + 3]);
        if (j[r + 1] != 0xC4) {
            memmove(j + w, j + r, len);
            w += len;
        }
        r += len;
    }
    memmove(j + w, j + r, n - r);
    return w + n - r;
}

typedef struct {
    const char *codec;   /* strf compression (default "MJPG") */
    int w, h;            /* header size (default: the frames') */
    int audio_first;     /* an 'auds' stream 0, video is stream 1, audio chunks in movi */
    int rec_lists;       /* each frame inside LIST 'rec ' */
    int drop_frame;      /* a zero-length video chunk after frame 1 */
    int avix;            /* the last two frames in a RIFF 'AVIX' extension */
    int no_idx1;
} avi_opts;

#define NF 5
#define FW 64
#define FH 48

/* Writes a Motion-JPEG AVI of NF synthetic FW x FH frames (frame 2 without
 * Huffman tables); rgb receives the frames (NF * FW*FH*3). */
static void write_avi(const char *path, const avi_opts *o, uint8_t *rgb)
{
    uint8_t *jp[NF];
    size_t jn[NF];
    for (int k = 0; k < NF; k++) {
        synth_rgb(rgb + (size_t)k * FW * FH * 3, FW, FH, k);
        jp[k] = jpeg_mem(rgb + (size_t)k * FW * FH * 3, FW, FH, 95, &jn[k]);
        if (k == 2)
            jn[k] = strip_dht(jp[k], jn[k]);
    }
    int vs = o->audio_first ? 1 : 0;
    char vid[5] = {(char)('0' + vs / 10), (char)('0' + vs % 10), 'd', 'c', 0};
    buf b = {0};
    size_t riff = begin(&b, "RIFF", "AVI ");
    size_t hdrl = begin(&b, "LIST", "hdrl");
    size_t avih = begin(&b, "avih", NULL);
    uint32_t av[14] = {33333, 0, 0, 0x10, NF, 0, (uint32_t)(1 + vs), 0,
                       (uint32_t)(o->w ? o->w : FW), (uint32_t)(o->h ? o->h : FH)};
    for (int i = 0; i < 14; i++)
        put32(&b, av[i]);
    end(&b, avih);
    if (o->audio_first) {
        size_t strl = begin(&b, "LIST", "strl");
        size_t strh = begin(&b, "strh", NULL);
        put(&b, "auds\0\0\0\0", 8);
        for (int i = 0; i < 12; i++)
            put32(&b, i == 3 ? 1 : i == 4 ? 8000 : 0);
        end(&b, strh);
        uint8_t wfx[18] = {1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0, 0, 0};
        chunk(&b, "strf", wfx, sizeof wfx);
        end(&b, strl);
    }
    size_t strl = begin(&b, "LIST", "strl");
    size_t strh = begin(&b, "strh", NULL);
    put(&b, "vids", 4);
    put(&b, o->codec ? o->codec : "MJPG", 4);
    uint32_t sh[12] = {0, 0, 0, 1001, 25000, 0, NF, 0, 0xFFFFFFFF, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        put32(&b, sh[i]);
    end(&b, strh);
    size_t strf = begin(&b, "strf", NULL);
    uint32_t bi[10] = {40, (uint32_t)(o->w ? o->w : FW), (uint32_t)(o->h ? o->h : FH),
                       1 | 24 << 16, 0, FW * FH * 3, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++) {
        if (i == 4)
            put(&b, o->codec ? o->codec : "MJPG", 4);
        else
            put32(&b, bi[i]);
    }
    end(&b, strf);
    chunk(&b, "strn", "video\0", 6);
    end(&b, strl);
    end(&b, hdrl);
    chunk(&b, "JUNK", "padding", 7); /* odd: one pad byte */
    size_t movi = begin(&b, "LIST", "movi");
    size_t riff2 = 0, movi2 = 0;
    for (int k = 0; k < NF; k++) {
        if (o->avix && k == NF - 2) {
            end(&b, movi);
            if (!o->no_idx1)
                chunk(&b, "idx1", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
            end(&b, riff);
            riff2 = begin(&b, "RIFF", "AVIX");
            movi2 = begin(&b, "LIST", "movi");
        }
        if (o->audio_first)
            chunk(&b, "00wb", "\1\2\3", 3);
        size_t rec = o->rec_lists ? begin(&b, "LIST", "rec ") : 0;
        chunk(&b, vid, jp[k], jn[k]);
        if (o->rec_lists)
            end(&b, rec);
        if (o->drop_frame && k == 1)
            chunk(&b, vid, NULL, 0);
        free(jp[k]);
    }
    if (o->avix) {
        end(&b, movi2);
        end(&b, riff2);
    } else {
        end(&b, movi);
        if (!o->no_idx1)
            chunk(&b, "idx1", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16); /* content unused */
        end(&b, riff);
    }
    write_all(path, b.b, b.n);
    free(b.b);
}

/* Reads every frame; returns the count, -1 on error (message in e). */
static long read_all_frames(ferc_video *v, int c, ferc_image *frames, ferc_err *e)
{
    ferc_image im = {0};
    long n = 0;
    int r;
    while ((r = ferc_video_read(v, &im, c, e)) == 1 && n < 1000) {
        if (frames && n < NF + 1) {
            frames[n] = im;
            memset(&im, 0, sizeof im);
        }
        n++;
    }
    ferc_image_free(&im);
    return r < 0 ? -1 : n;
}

static int test_avi_roundtrip(void)
{
    static const avi_opts variants[] = {
        {0},
        {.audio_first = 1, .rec_lists = 1, .no_idx1 = 1},
        {.drop_frame = 1, .codec = "mjpg"},
        {.avix = 1, .rec_lists = 1},
    };
    uint8_t *rgb = malloc((size_t)NF * FW * FH * 3);
    for (size_t t = 0; t < sizeof variants / sizeof *variants; t++) {
        const avi_opts *o = &variants[t];
        char p[128];
        snprintf(p, sizeof p, "%s/t%zu.avi", tdir, t);
        write_avi(p, o, rgb);
        ferc_err e = {{0}};
        ferc_video *v = ferc_video_open(p, &e);
        CHECKF(v, "variant %zu: %s", t, e.msg);
        if (!v)
            continue;
        const ferc_video_info *in = ferc_video_get_info(v);
        CHECK(in->width == FW && in->height == FH);
        CHECK_CLOSE(in->fps, 25000.0 / 1001, 1e-9, 0);
        CHECK(in->nframes == NF);
        ferc_image fr[NF + 1];
        memset(fr, 0, sizeof fr);
        long n = read_all_frames(v, 3, fr, &e);
        int want = NF + (o->drop_frame ? 1 : 0);
        CHECKF(n == want, "variant %zu: %ld frames, want %d: %s", t, n, want, e.msg);
        CHECK_CLOSE(in->time, (want - 1) * 1001 / 25000.0, 1e-9, 0);
        static const int with_drop[NF + 1] = {0, 1, 1, 2, 3, 4}; /* drop repeats frame 1 */
        for (int k = 0; k < n && k < want; k++) {
            int src = o->drop_frame ? with_drop[k] : k;
            double d = mean_abs_diff(fr[k].px, rgb + (size_t)src * FW * FH * 3, FW * FH * 3);
            CHECKF(d < 2.0, "variant %zu frame %d: mean abs diff %.2f", t, k, d);
        }
        for (int k = 0; k < NF + 1; k++)
            ferc_image_free(&fr[k]);
        ferc_video_close(v);
    }
    free(rgb);
    return 0;
}

/* An error message must name the file. */
#define CHECK_NAMES(msg, path) \
    CHECKF(strstr((msg), (path)) != NULL, "message lacks the name: %s", (msg))

/* Opens and reads p to the end; 0 if all read, -1 on error; never hangs. */
static int open_read(const char *p, ferc_err *e, long *nframes)
{
    ferc_video *v = ferc_video_open(p, e);
    *nframes = 0;
    if (!v)
        return -1;
    long n = read_all_frames(v, 3, NULL, e);
    ferc_video_close(v);
    if (n < 0)
        return -1;
    *nframes = n;
    return 0;
}

static int test_avi_malformed(void)
{
    char good[128], p[128];
    uint8_t *rgb = malloc((size_t)NF * FW * FH * 3);
    avi_opts o = {.rec_lists = 1};
    tpath(good, sizeof good, "good.avi");
    write_avi(good, &o, rgb);
    size_t n;
    uint8_t *d = read_all(good, &n);
    ferc_err e = {{0}};
    long nf;
    tpath(p, sizeof p, "bad.avi");

    /* cut in the middle of movi: frames, then "truncated" */
    write_all(p, d, n - 700);
    ferc_video *v = ferc_video_open(p, &e);
    CHECKF(v, "%s", e.msg);
    if (v) {
        long k = read_all_frames(v, 3, NULL, &e);
        CHECK(k == -1 && ferc_video_get_info(v)->frame >= 1);
        CHECK_NAMES(e.msg, p);
        CHECKF(strstr(e.msg, "truncated"), "%s", e.msg);
        ferc_video_close(v);
    }
    printf("  cut in movi: %s\n", e.msg);
    /* truncated at every length: open/read never crash, errors name the file;
     * only cuts inside the trailing idx1 (not needed) read cleanly */
    size_t idx1 = n - 4;
    while (idx1 > 0 && memcmp(d + idx1, "idx1", 4) != 0)
        idx1--;
    int ok = 1, early = 0;
    for (size_t len = 0; len < n; len++) {
        write_all(p, d, len);
        memset(&e, 0, sizeof e);
        if (open_read(p, &e, &nf) != 0)
            ok &= strstr(e.msg, p) != NULL;
        else if (len < idx1 || nf != NF)
            early++;
    }
    CHECK(ok);
    CHECKF(early == 0, "%d cuts before idx1 read without error", early);
    /* corrupted bytes (a fixed xorshift sequence): no crash, errors name it */
    uint32_t s = 12345;
    uint8_t *c = malloc(n);
    ok = 1;
    for (int it = 0; it < 1500; it++) {
        memcpy(c, d, n);
        for (int j = 0; j < 1 + it % 4; j++) {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            size_t at = it < 750 ? s % 400 : s % n; /* half in the headers */
            c[at] = (uint8_t)(s >> 8);
        }
        write_all(p, c, n);
        memset(&e, 0, sizeof e);
        if (open_read(p, &e, &nf) != 0)
            ok &= strstr(e.msg, p) != NULL;
    }
    CHECK(ok);
    free(c);

    struct {
        const char *what, *data, *expect;
        size_t n;
    } cases[] = {
        {"garbage", "\x13\x37garbage bytes, not a video at all", "not an AVI or Y4M", 34},
        {"RIFF WAVE", "RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\1\0\1\0", "not an AVI", 24},
        {"empty", "", "empty file", 0},
        {"short RIFF", "RIFF\0\0", "truncated RIFF header", 6},
        {"no hdrl", "RIFF\x10\0\0\0AVI JUNK\x04\0\0\0abcd", "no header list", 24},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_all(p, cases[i].data, cases[i].n);
        CHECK(open_read(p, &e, &nf) == -1);
        CHECK_NAMES(e.msg, p);
        CHECKF(strstr(e.msg, cases[i].expect), "%s: %s", cases[i].what, e.msg);
    }
    /* another codec; zero, absurd and mismatched sizes */
    avi_opts h264 = {.codec = "H264"}, huge = {.w = 100000, .h = 100000}, other = {.w = 32, .h = 48};
    write_avi(p, &h264, rgb);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECK_NAMES(e.msg, p);
    CHECKF(strstr(e.msg, "unsupported video codec 'H264'"), "%s", e.msg);
    printf("  codec: %s\n", e.msg);
    write_avi(p, &o, rgb);
    size_t zn;
    uint8_t *z = read_all(p, &zn);
    for (size_t i = 0; i + 8 <= zn; i++)
        if (memcmp(z + i, "strf", 4) == 0)
            memset(z + i + 12, 0, 4); /* biWidth = 0 */
    write_all(p, z, zn);
    free(z);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "frame size 0x48 out of range") && strstr(e.msg, p), "%s", e.msg);
    write_avi(p, &huge, rgb);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "out of range") && strstr(e.msg, p), "%s", e.msg);
    write_avi(p, &other, rgb);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "frame 0: JPEG is 64x48 but the AVI header says 32x48"), "%s", e.msg);
    /* a corrupt JPEG in a frame chunk: the error names file and frame */
    write_avi(p, &o, rgb);
    z = read_all(p, &zn);
    for (size_t i = 0; i + 8 <= zn; i++)
        if (memcmp(z + i, "00dc", 4) == 0) {
            memset(z + i + 8, 0x55, 16); /* smash the SOI and what follows */
            break;
        }
    write_all(p, z, zn);
    free(z);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "frame 0: not a JPEG") && strstr(e.msg, p), "%s", e.msg);
    /* LISTs nested 20 deep inside movi */
    size_t mv = 12;
    while (mv + 12 <= n && (memcmp(d + mv, "LIST", 4) || memcmp(d + mv + 8, "movi", 4)))
        mv++;
    buf b = {0};
    put(&b, d, mv + 12);
    for (int i = 0; i < 20; i++) {
        put(&b, "LIST", 4);
        put32(&b, (uint32_t)(12 * (19 - i) + 4));
        put(&b, "rec ", 4);
    }
    set32(&b, mv + 4, (uint32_t)(b.n - mv - 8));
    set32(&b, 4, (uint32_t)(b.n - 8));
    write_all(p, b.b, b.n);
    free(b.b);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "nested deeper") && strstr(e.msg, p), "%s", e.msg);
    /* missing file, directory, AVI through a FIFO */
    tpath(p, sizeof p, "missing.avi");
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "cannot open") && strstr(e.msg, p), "%s", e.msg);
    CHECK(open_read(tdir, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "is a directory") && strstr(e.msg, tdir), "%s", e.msg);
    free(d);
    free(rgb);
    return 0;
}

/* -------------------------------------------------------------- Y4M */

/* Writes a Y4M with the given header parameters and nf frames of fbytes,
 * frame k at planes + k * stride. */
static void write_y4m(const char *path, const char *params, const uint8_t *planes, int nf,
                      size_t fbytes, size_t stride, const char *frame_hdr)
{
    buf b = {0};
    put(&b, "YUV4MPEG2 ", 10);
    put(&b, params, strlen(params));
    put(&b, "\n", 1);
    for (int k = 0; k < nf; k++) {
        put(&b, frame_hdr, strlen(frame_hdr));
        put(&b, planes + (size_t)k * stride, fbytes);
    }
    write_all(path, b.b, b.n);
    free(b.b);
}

/* Planes of RGB frame rgb in the given subsampling (sx, sy shifts, sx < 0:
 * mono), full or limited range; chroma is the average over its block.
 * Returns the frame size. */
static size_t make_planes(uint8_t *out, const uint8_t *rgb, int w, int h, int sx, int sy, int full)
{
    double ls = full ? 1 : 219.0 / 255, cs = full ? 1 : 224.0 / 255, lo = full ? 0 : 16;
    for (int i = 0; i < w * h; i++) {
        double y, u, v;
        ref_rgb_to_yuv(rgb + 3 * i, &y, &u, &v);
        out[i] = clamp_u8(lo + ls * y);
    }
    if (sx < 0)
        return (size_t)w * h;
    int cw = (w + (1 << sx) - 1) >> sx, ch = (h + (1 << sy) - 1) >> sy;
    uint8_t *U = out + (size_t)w * h, *V = U + (size_t)cw * ch;
    for (int cy = 0; cy < ch; cy++)
        for (int cx = 0; cx < cw; cx++) {
            double su = 0, sv = 0;
            int k = 0;
            for (int y = cy << sy; y < ((cy + 1) << sy) && y < h; y++)
                for (int x = cx << sx; x < ((cx + 1) << sx) && x < w; x++, k++) {
                    double yy, u, v;
                    ref_rgb_to_yuv(rgb + 3 * ((size_t)y * w + x), &yy, &u, &v);
                    su += u;
                    sv += v;
                }
            U[cy * cw + cx] = clamp_u8(128 + cs * (su / k - 128));
            V[cy * cw + cx] = clamp_u8(128 + cs * (sv / k - 128));
        }
    return (size_t)w * h + 2 * (size_t)cw * ch;
}

static int test_y4m(void)
{
    enum { W = 37, H = 23, K = 3 }; /* odd sizes: partial chroma blocks */
    static const struct {
        const char *cs;
        int sx, sy, full;
        double tol;  /* mean abs RGB error against the source */
    } sp[] = {
        {"C444 XCOLORRANGE=FULL", 0, 0, 1, 0.8}, {"C444", 0, 0, 0, 1.0},
        {"C420jpeg XCOLORRANGE=FULL", 1, 1, 1, 3}, {"C420paldv", 1, 1, 0, 3},
        {"C420mpeg2", 1, 1, 0, 3}, {"", 1, 1, 0, 3}, {"C420", 1, 1, 0, 3},
        {"C422", 1, 0, 0, 3}, {"C411", 2, 0, 0, 4}, {"Cmono XCOLORRANGE=FULL", -1, 0, 1, 1e9},
    };
    uint8_t rgb[K][W * H * 3], planes[K][W * H * 3];
    char p[128], params[128];
    tpath(p, sizeof p, "t.y4m");
    for (size_t t = 0; t < sizeof sp / sizeof *sp; t++) {
        size_t fb = 0;
        for (int k = 0; k < K; k++) {
            synth_rgb(rgb[k], W, H, k);
            fb = make_planes(planes[k], rgb[k], W, H, sp[t].sx, sp[t].sy, sp[t].full);
        }
        snprintf(params, sizeof params, "W%d H%d F25:1 Ip A1:1 %s", W, H, sp[t].cs);
        write_y4m(p, params, planes[0], K, fb, sizeof planes[0], t == 3 ? "FRAME Ixyz\n" : "FRAME\n");
        ferc_err e = {{0}};
        ferc_video *v = ferc_video_open(p, &e);
        CHECKF(v, "%s: %s", sp[t].cs, e.msg);
        if (!v)
            continue;
        const ferc_video_info *in = ferc_video_get_info(v);
        CHECK(in->width == W && in->height == H && in->fps == 25);
        CHECKF(in->nframes == (t == 3 ? -1 : K), "%s: %ld", sp[t].cs, in->nframes);
        ferc_image im = {0};
        double worst = 0;
        for (int k = 0; k < K; k++) {
            /* luma: exact in full range, the documented mapping in limited */
            CHECKF(ferc_video_read(v, &im, k == 1 ? 1 : 3, &e) == 1, "%s", e.msg);
            if (!im.px)
                break;
            if (k == 1) {
                int exact = 1;
                for (int i = 0; i < W * H; i++) {
                    int want = sp[t].full ? planes[k][i]
                                          : clamp_u8((planes[k][i] - 16) * 255.0 / 219);
                    exact &= abs(im.px[i] - want) <= (sp[t].full ? 0 : 1);
                }
                CHECKF(exact, "%s: luma", sp[t].cs);
                continue;
            }
            if (sp[t].sx == 0 && sp[t].full) { /* 4:4:4 full range: the formula, pixel by pixel */
                int maxd = 0;
                for (int i = 0; i < W * H; i++) {
                    uint8_t ref[3];
                    const uint8_t *pl = planes[k];
                    ref_yuv_to_rgb(pl[i], pl[W * H + i], pl[2 * W * H + i], ref);
                    for (int j = 0; j < 3; j++) {
                        int dd = abs(im.px[3 * i + j] - ref[j]);
                        maxd = dd > maxd ? dd : maxd;
                    }
                }
                CHECKF(maxd <= 1, "%s: max diff %d from the formula", sp[t].cs, maxd);
            }
            if (sp[t].sx < 0) { /* mono: R = G = B = Y exactly */
                int exact = 1;
                for (int i = 0; i < W * H; i++)
                    exact &= im.px[3 * i] == planes[k][i] && im.px[3 * i + 1] == planes[k][i] &&
                             im.px[3 * i + 2] == planes[k][i];
                CHECK(exact);
            } else {
                double d = mean_abs_diff(im.px, rgb[k], (size_t)W * H * 3);
                CHECKF(d < sp[t].tol, "%s frame %d: mean abs diff %.2f", sp[t].cs, k, d);
                worst = d > worst ? d : worst;
            }
        }
        CHECKF(ferc_video_read(v, &im, 3, &e) == 0, "%s: %s", sp[t].cs, e.msg);
        CHECK(in->frame == K - 1 && fabs(in->time - (K - 1) / 25.0) < 1e-9);
        if (sp[t].sx >= 0)
            printf("  %-26s RGB round trip: mean abs error %.2f\n",
                   sp[t].cs[0] ? sp[t].cs : "(no C: 420jpeg)", worst);
        ferc_image_free(&im);
        ferc_video_close(v);
    }
    return 0;
}

static int test_y4m_malformed(void)
{
    char p[128];
    tpath(p, sizeof p, "bad.y4m");
    static const struct {
        const char *hdr, *expect;
    } bad[] = {
        {"YUV4MPEG2 W64\n", "no height"},
        {"YUV4MPEG2 H64 F30:1\n", "no width"},
        {"YUV4MPEG2 W0 H64\n", "frame size 0x64 out of range"},
        {"YUV4MPEG2 W100000 H100000\n", "out of range"},
        {"YUV4MPEG2 W99999999999 H2\n", "'W99999999999' is not a size"},
        {"YUV4MPEG2 W16 Hx\n", "'Hx' is not a size"},
        {"YUV4MPEG2 W16 H16 F30\n", "frame rate 'F30'"},
        {"YUV4MPEG2 W16 H16 C420p10\n", "unsupported Y4M colour space 'C420p10'"},
        {"YUV4MPEG2 W16 H16 Cmono16\n", "unsupported"},
        {"YUV4MPEG2 W16 H16", "no end of line"},
    };
    ferc_err e = {{0}};
    long nf;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_all(p, bad[i].hdr, strlen(bad[i].hdr));
        CHECK(open_read(p, &e, &nf) == -1);
        CHECK_NAMES(e.msg, p);
        CHECKF(strstr(e.msg, bad[i].expect), "%s -> %s", bad[i].hdr, e.msg);
    }
    /* a header line without end */
    char *longh = malloc(10000);
    memcpy(longh, "YUV4MPEG2 ", 10);
    memset(longh + 10, 'X', 9990);
    write_all(p, longh, 10000);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "longer than") && strstr(e.msg, p), "%s", e.msg);
    free(longh);
    /* good file: 2 frames of 8x6 4:2:0, 72 bytes each */
    uint8_t fr[2 * 72];
    for (int i = 0; i < 144; i++)
        fr[i] = (uint8_t)(i * 7);
    write_y4m(p, "W8 H6 F30:1 C420jpeg", fr, 2, 72, 72, "FRAME\n");
    size_t n;
    uint8_t *d = read_all(p, &n);
    CHECK(open_read(p, &e, &nf) == 0 && nf == 2);
    /* a truncated last frame: one frame, then "truncated" */
    write_all(p, d, n - 10);
    CHECK(open_read(p, &e, &nf) == -1 && nf == 0);
    CHECKF(strstr(e.msg, "truncated Y4M: frame 1 has 62 of its 72 bytes") && strstr(e.msg, p), "%s",
           e.msg);
    /* cut at every length: exactly the frame boundaries read cleanly */
    int ok = 1, clean = 0;
    for (size_t len = 0; len < n; len++) {
        write_all(p, d, len);
        memset(&e, 0, sizeof e);
        if (open_read(p, &e, &nf) == 0)
            clean++;
        else
            ok &= strstr(e.msg, p) != NULL;
    }
    CHECK(ok);
    CHECKF(clean == 2, "%d", clean); /* after the header, after frame 0 */
    /* a bad frame header */
    memcpy(d + n - 72 - 6, "FRAMX\n", 6);
    write_all(p, d, n);
    CHECK(open_read(p, &e, &nf) == -1);
    CHECKF(strstr(e.msg, "bad Y4M frame header before frame 1") && strstr(e.msg, p), "%s", e.msg);
    free(d);
    return 0;
}

/* A Y4M read through a FIFO (as from `ffmpeg ... -f yuv4mpegpipe`); an AVI
 * through one is refused. */
static int test_fifo(void)
{
    char p[128];
    tpath(p, sizeof p, "fifo");
    if (mkfifo(p, 0600) != 0)
        SKIP("mkfifo failed");
    static const char data[] =
        "YUV4MPEG2 W4 H2 F10:1 Cmono XCOLORRANGE=FULL\nFRAME\nABCDEFGHFRAME\n12345678";
    for (int t = 0; t < 2; t++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(p, O_WRONLY);
            if (fd >= 0) {
                const char *avi = "RIFF\x10\0\0\0AVI JUNK\x04\0\0\0abcd";
                ssize_t r = t == 0 ? write(fd, data, sizeof data - 1) : write(fd, avi, 24);
                (void)r;
                close(fd);
            }
            _exit(0);
        }
        ferc_err e = {{0}};
        ferc_video *v = ferc_video_open(p, &e);
        if (t == 0) {
            CHECKF(v, "%s", e.msg);
            ferc_image im = {0};
            CHECK(v && ferc_video_get_info(v)->nframes == -1);
            CHECK(v && ferc_video_read(v, &im, 1, &e) == 1 && memcmp(im.px, "ABCDEFGH", 8) == 0);
            CHECK(v && ferc_video_read(v, &im, 1, &e) == 1 && memcmp(im.px, "12345678", 8) == 0);
            CHECK(v && ferc_video_read(v, &im, 1, &e) == 0);
            ferc_image_free(&im);
        } else {
            CHECK(!v);
            CHECKF(strstr(e.msg, "regular") && strstr(e.msg, p), "%s", e.msg);
        }
        ferc_video_close(v);
        waitpid(pid, NULL, 0);
    }
    return 0;
}

/* -------------------------------------------------------------- camera, API misuse */

static int test_camera_errors(void)
{
    ferc_err e = {{0}};
    char *rep = NULL;
    int ncam = ferc_camera_list(&rep, &e);
    CHECK(ncam >= 0 && rep);
    printf("  --list-cameras: %s", rep ? rep : "(null)\n");
    glob_t g;
    int none = glob("/dev/video*", 0, NULL, &g) != 0; /* no video nodes at all */
    if (!none)
        globfree(&g);
    if (none)
        CHECK(rep && strstr(rep, "no video devices"));
    free(rep);
    if (access("/dev/video9", F_OK) == 0)
        SKIP("/dev/video9 exists here");
    const char *names[] = {"/dev/video9", "9"};
    for (int i = 0; i < 2; i++) {
        ferc_video *v = ferc_camera_open(names[i], 0, 0, NULL, &e);
        CHECK(!v);
        CHECKF(strstr(e.msg, "/dev/video9: no such device"), "%s", e.msg);
        CHECKF(strstr(e.msg, "video devices present"), "%s", e.msg);
        if (none)
            CHECKF(strstr(e.msg, "no video devices present"), "%s", e.msg);
    }
    printf("  %s\n", e.msg);
    char p[128];
    tpath(p, sizeof p, "notacamera");
    write_all(p, "x", 1);
    CHECK(!ferc_camera_open(p, 640, 480, NULL, &e));
    CHECKF(strstr(e.msg, p) && strstr(e.msg, "not a video device"), "%s", e.msg);
    CHECK(!ferc_camera_open("/dev/null", 640, 480, "auto", &e));
    CHECKF(strstr(e.msg, "/dev/null: not a Video4Linux2 device"), "%s", e.msg);
    CHECK(!ferc_camera_open("/dev/video9", 640, -1, NULL, &e));
    CHECKF(strstr(e.msg, "/dev/video9: bad requested size"), "%s", e.msg);
    CHECK(!ferc_camera_open("/dev/video9", 0, 0, "h264", &e));
    CHECKF(strstr(e.msg, "/dev/video9: unknown camera format 'h264'"), "%s", e.msg);
    return 0;
}

static int test_api_misuse(void)
{
    ferc_err e = {{0}};
    char p[128];
    tpath(p, sizeof p, "m.y4m");
    uint8_t fr[6] = {1, 2, 3, 4, 5, 6};
    write_y4m(p, "W2 H3 Cmono", fr, 1, 6, 6, "FRAME\n");
    ferc_video *v = ferc_video_open(p, &e);
    CHECK(v);
    ferc_image im = {0};
    CHECK(ferc_video_read(v, &im, 2, &e) == -1 && strstr(e.msg, "c must be 1 or 3"));
    CHECK(ferc_video_read(v, &im, 1, &e) == 1 && im.c == 1); /* not sticky */
    CHECK(ferc_video_read(NULL, &im, 1, &e) == -1);
    CHECK(ferc_video_get_info(NULL) == NULL);
    ferc_video_close(NULL);
    ferc_video_close(v);
    CHECK(!ferc_video_open("", &e));
    ferc_image_free(&im);
    return 0;
}

int main(void)
{
    tdir_make("test_video");
    RUN(test_yuv_convert);
    RUN(test_clip);
    RUN(test_avi_roundtrip);
    RUN(test_avi_malformed);
    RUN(test_y4m);
    RUN(test_y4m_malformed);
    RUN(test_fifo);
    RUN(test_camera_errors);
    RUN(test_api_misuse);
    tdir_remove();
    return TEST_DONE("test_video");
}
