/* vwrite.c: video file writers, Motion-JPEG AVI and YUV4MPEG2 (see vwrite.h).
 *
 * AVI 1.0 layout, every integer little-endian (the reader's view is in
 * video.c); the 224-byte header is written with zero counts at open and
 * rewritten in place by close, once the sizes are known:
 *
 *   0   RIFF <file size - 8> 'AVI '
 *   12    LIST 192 'hdrl'
 *   24      avih 56   us/frame, max bytes/s, 0, flags HASINDEX, frames, 0,
 *                     1 stream, suggested buffer, w, h, 0 x4
 *   88      LIST 116 'strl'
 *   100       strh 56 'vids' 'MJPG', 0, 0, 0, scale, rate, 0, frames,
 *                     suggested buffer, quality -1, sample size 0, rect 0 0 w h
 *   164       strf 40 BITMAPINFOHEADER: 40, w, h, 1 plane, 24 bits, 'MJPG',
 *                     w*h*3, 0 x4
 *   212   LIST <size> 'movi'      ('movi' at offset 220)
 *   224     '00dc' <n> JPEG [pad to even] ...
 *         idx1 <16 * frames>  {'00dc', AVIIF_KEYFRAME, offset of the chunk
 *                              header from the 'movi' fourcc, n} per frame
 *
 * Y4M: "YUV4MPEG2 W<w> H<h> F<rate>:<scale> Ip A1:1 C420jpeg
 * XCOLORRANGE=FULL\n", then per frame "FRAME\n", Y (w*h), Cb, Cr (each
 * ceil(w/2) * ceil(h/2)). Full-range BT.601 in 16.16 fixed point:
 *   Y  =       0.299 R    + 0.587 G    + 0.114 B
 *   Cb = 128 - 0.168736 R - 0.331264 G + 0.5 B       (means over the 2x2
 *   Cr = 128 + 0.5 R      - 0.418688 G - 0.081312 B   block, or what of it
 * lies inside the frame), rounded; each row of coefficients sums to 65536
 * (Y) or 0 (Cb, Cr), so gray stays exactly gray. */
#include "vwrite.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "image.h"
#include "video.h"

#define AVI_HDR 224             /* bytes before the first frame chunk */
#define AVI_MOVI 220            /* offset of the 'movi' fourcc (idx1 offsets count from it) */
#define AVIF_HASINDEX 0x10
#define AVIIF_KEYFRAME 0x10

struct ferc_vwriter {
    char *path, *tmp;           /* final name, "<path>.tmp" */
    FILE *f;
    int avi;                    /* 1: AVI, 0: Y4M */
    int w, h;
    uint32_t rate, scale;       /* fps = rate / scale */
    long count;                 /* frames written */
    int failed;                 /* sticky error, held in err */
    ferc_err err;
    /* AVI */
    uint64_t pos;               /* bytes written: the next chunk's offset */
    uint32_t max_chunk;         /* largest JPEG so far */
    uint8_t *idx;               /* idx1 entries, 16 bytes per frame */
    size_t idx_cap;             /* entries allocated */
    /* Y4M */
    uint8_t *yuv;               /* one frame's planes */
    size_t ysize, csize;        /* luma and each chroma plane, bytes */
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Records the first I/O error (errno er) as sticky and returns -1. */
static int io_fail(ferc_vwriter *v, const char *what, int er, ferc_err *e)
{
    if (!v->failed) {
        v->failed = 1;
        ferc_errf(&v->err, "%s: %s %s: %s", v->path, what, v->tmp,
                  er ? strerror(er) : "I/O error");
    }
    if (e)
        *e = v->err;
    return -1;
}

static int put_bytes(ferc_vwriter *v, const void *p, size_t n, ferc_err *e)
{
    errno = 0;
    if (n && fwrite(p, 1, n, v->f) != n)
        return io_fail(v, "cannot write", errno, e);
    return 0;
}

/* fps as rate/scale: whole numbers exactly, NTSC-style n*1000/1001 rates
 * exactly, anything else to 1/1000. 0 if it does not fit. */
static int fps_rational(double fps, uint32_t *rate, uint32_t *scale)
{
    double r = round(fps);
    if (r >= 1 && fabs(fps - r) <= 1e-6) {
        *rate = (uint32_t)r;
        *scale = 1;
        return 1;
    }
    r = round(fps * 1.001);
    if (r >= 1 && fabs(fps - r * 1000 / 1001) <= 1e-6) {
        *rate = (uint32_t)r * 1000;
        *scale = 1001;
        return 1;
    }
    r = round(fps * 1000);
    *rate = (uint32_t)r;
    *scale = 1000;
    return r >= 1;
}

/* ------------------------------------------------------------ AVI */

/* The 224-byte header for the current counts; movi_end: the file offset
 * where the movi list ends (idx1 starts); file_end: the total size. */
static void avi_header(uint8_t *b, const ferc_vwriter *v, uint64_t movi_end, uint64_t file_end)
{
    uint32_t us = (uint32_t)llround(1e6 * v->scale / v->rate);
    uint32_t buf = v->max_chunk + 8;
    double bps = (double)buf * v->rate / v->scale;
    memset(b, 0, AVI_HDR);
    memcpy(b, "RIFF", 4);
    put32(b + 4, (uint32_t)(file_end - 8));
    memcpy(b + 8, "AVI LIST", 8);
    put32(b + 16, 192);
    memcpy(b + 20, "hdrlavih", 8);
    put32(b + 28, 56);
    put32(b + 32, us);
    put32(b + 36, bps < 4e9 ? (uint32_t)bps : 0xffffffffu);
    put32(b + 44, AVIF_HASINDEX);
    put32(b + 48, (uint32_t)v->count);
    put32(b + 56, 1);
    put32(b + 60, buf);
    put32(b + 64, (uint32_t)v->w);
    put32(b + 68, (uint32_t)v->h);
    memcpy(b + 88, "LIST", 4);
    put32(b + 92, 116);
    memcpy(b + 96, "strlstrh", 8);
    put32(b + 104, 56);
    memcpy(b + 108, "vidsMJPG", 8);
    put32(b + 128, v->scale);
    put32(b + 132, v->rate);
    put32(b + 140, (uint32_t)v->count);
    put32(b + 144, buf);
    put32(b + 148, 0xffffffffu);            /* quality: default */
    put16(b + 160, (uint32_t)v->w);         /* rcFrame right, bottom */
    put16(b + 162, (uint32_t)v->h);
    memcpy(b + 164, "strf", 4);
    put32(b + 168, 40);
    put32(b + 172, 40);
    put32(b + 176, (uint32_t)v->w);
    put32(b + 180, (uint32_t)v->h);
    put16(b + 184, 1);
    put16(b + 186, 24);
    memcpy(b + 188, "MJPG", 4);
    put32(b + 192, (uint32_t)v->w * (uint32_t)v->h * 3);
    memcpy(b + 212, "LIST", 4);
    put32(b + 216, (uint32_t)(movi_end - AVI_MOVI));
    memcpy(b + 220, "movi", 4);
}

static int avi_write(ferc_vwriter *v, const uint8_t *rgb, ferc_err *e)
{
    uint8_t *jpg;
    size_t n;
    ferc_err sub;
    if (ferc_jpeg_encode(rgb, v->w, v->h, 3, FERC_VWRITE_JPEG_QUALITY, &jpg, &n, &sub))
        return ferc_errf(e, "%s: frame %ld not written: %s", v->path, v->count, sub.msg);
    uint64_t pad = n & 1;
    uint64_t end = v->pos + 8 + n + pad + 8 + 16 * (uint64_t)(v->count + 1);
    if (end > FERC_VWRITE_AVI_MAX) {
        free(jpg);
        return ferc_errf(e, "%s: frame %ld not written: the AVI would exceed %llu bytes (the "
                         "AVI 1.0 limit; the %ld frames before it are kept; record to .y4m "
                         "or in shorter parts)", v->path, v->count,
                         (unsigned long long)FERC_VWRITE_AVI_MAX, v->count);
    }
    if ((size_t)v->count >= v->idx_cap) {
        size_t cap = v->idx_cap ? v->idx_cap * 2 : 1024;
        uint8_t *p = realloc(v->idx, cap * 16);
        if (!p) {
            free(jpg);
            return ferc_errf(e, "%s: out of memory for the frame index", v->path);
        }
        v->idx = p;
        v->idx_cap = cap;
    }
    uint8_t hd[8];
    memcpy(hd, "00dc", 4);
    put32(hd + 4, (uint32_t)n);
    int rc = put_bytes(v, hd, 8, e) || put_bytes(v, jpg, n, e) || put_bytes(v, "", pad, e);
    free(jpg);
    if (rc)
        return -1;
    uint8_t *ix = v->idx + (size_t)v->count * 16;
    memcpy(ix, "00dc", 4);
    put32(ix + 4, AVIIF_KEYFRAME);
    put32(ix + 8, (uint32_t)(v->pos - AVI_MOVI));
    put32(ix + 12, (uint32_t)n);
    v->pos += 8 + n + pad;
    if (n > v->max_chunk)
        v->max_chunk = (uint32_t)n;
    return 0;
}

/* Writes idx1 and the final header. */
static int avi_finish(ferc_vwriter *v, ferc_err *e)
{
    uint8_t hd[AVI_HDR];
    uint32_t isz = (uint32_t)(16 * v->count);
    memcpy(hd, "idx1", 4);
    put32(hd + 4, isz);
    if (put_bytes(v, hd, 8, e) || put_bytes(v, v->idx, isz, e))
        return -1;
    avi_header(hd, v, v->pos, v->pos + 8 + isz);
    errno = 0;
    if (fseek(v->f, 0, SEEK_SET) != 0)
        return io_fail(v, "cannot seek in", errno, e);
    return put_bytes(v, hd, AVI_HDR, e);
}

/* ------------------------------------------------------------ Y4M */

/* Full-range BT.601 4:2:0 planes of an RGB frame (see the top comment). */
static void rgb_to_yuv420(uint8_t *Y, uint8_t *U, uint8_t *V, const uint8_t *rgb, int w, int h)
{
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = rgb + 3 * i;
        Y[i] = (uint8_t)((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + 32768) >> 16);
    }
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (int cy = 0; cy < ch; cy++)
        for (int cx = 0; cx < cw; cx++) {
            int r = 0, g = 0, b = 0, k = 0;
            for (int y = 2 * cy; y < 2 * cy + 2 && y < h; y++)
                for (int x = 2 * cx; x < 2 * cx + 2 && x < w; x++, k++) {
                    const uint8_t *p = rgb + 3 * ((size_t)y * w + x);
                    r += p[0];
                    g += p[1];
                    b += p[2];
                }
            /* numerators are >= 0: 128 * 65536 * k outweighs the negative terms */
            int d = 65536 * k, base = 128 * d + d / 2;
            int u = (base - 11059 * r - 21709 * g + 32768 * b) / d;
            int vv = (base + 32768 * r - 27439 * g - 5329 * b) / d;
            U[(size_t)cy * cw + cx] = (uint8_t)(u > 255 ? 255 : u);
            V[(size_t)cy * cw + cx] = (uint8_t)(vv > 255 ? 255 : vv);
        }
}

static int y4m_write(ferc_vwriter *v, const uint8_t *rgb, ferc_err *e)
{
    uint8_t *U = v->yuv + v->ysize, *V = U + v->csize;
    rgb_to_yuv420(v->yuv, U, V, rgb, v->w, v->h);
    if (put_bytes(v, "FRAME\n", 6, e) || put_bytes(v, v->yuv, v->ysize + 2 * v->csize, e))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ public */

static void vw_free(ferc_vwriter *v)
{
    if (v->f)
        fclose(v->f);
    free(v->path);
    free(v->tmp);
    free(v->idx);
    free(v->yuv);
    free(v);
}

ferc_vwriter *ferc_vwriter_open(const char *path, int w, int h, double fps, ferc_err *e)
{
    if (!path || !*path) {
        ferc_errf(e, "ferc_vwriter_open: empty file name");
        return NULL;
    }
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    int avi = dot && !strcasecmp(dot, ".avi");
    if (!avi && !(dot && !strcasecmp(dot, ".y4m"))) {
        ferc_errf(e, "%s: unsupported output format '%s' (supported: .avi = Motion-JPEG AVI, "
                  ".y4m = YUV4MPEG2)", path, dot ? dot : "(no extension)");
        return NULL;
    }
    if (w < 1 || h < 1 || w > FERC_VIDEO_MAX_SIDE || h > FERC_VIDEO_MAX_SIDE ||
        (long)w * h > FERC_VIDEO_MAX_PIXELS) {
        ferc_errf(e, "%s: frame size %dx%d out of range (1..%d per side, at most %ld pixels)",
                  path, w, h, FERC_VIDEO_MAX_SIDE, FERC_VIDEO_MAX_PIXELS);
        return NULL;
    }
    uint32_t rate, scale;
    if (!(fps >= 0.001 && fps <= 1000) || !fps_rational(fps, &rate, &scale)) {
        ferc_errf(e, "%s: frame rate %g out of range (0.001..1000)", path, fps);
        return NULL;
    }
    ferc_vwriter *v = calloc(1, sizeof *v);
    size_t n = strlen(path);
    if (v) {
        v->path = strdup(path);
        v->tmp = malloc(n + 5);
    }
    if (!v || !v->path || !v->tmp) {
        if (v)
            vw_free(v);
        ferc_errf(e, "%s: out of memory", path);
        return NULL;
    }
    memcpy(v->tmp, path, n);
    memcpy(v->tmp + n, ".tmp", 5);
    v->avi = avi;
    v->w = w;
    v->h = h;
    v->rate = rate;
    v->scale = scale;
    if (!avi) {
        v->ysize = (size_t)w * h;
        v->csize = (size_t)((w + 1) / 2) * (size_t)((h + 1) / 2);
        if (!(v->yuv = malloc(v->ysize + 2 * v->csize))) {
            vw_free(v);
            ferc_errf(e, "%s: out of memory for %dx%d frames", path, w, h);
            return NULL;
        }
    }
    if (!(v->f = fopen(v->tmp, "wb"))) {
        ferc_errf(e, "%s: cannot create %s: %s", path, v->tmp, strerror(errno));
        vw_free(v);
        return NULL;
    }
    int rc;
    if (avi) {
        uint8_t hd[AVI_HDR];
        avi_header(hd, v, AVI_HDR, AVI_HDR);
        rc = put_bytes(v, hd, AVI_HDR, e);
        v->pos = AVI_HDR;
    } else {
        char hd[160];
        int len = snprintf(hd, sizeof hd, "YUV4MPEG2 W%d H%d F%u:%u Ip A1:1 C420jpeg "
                           "XCOLORRANGE=FULL\n", w, h, (unsigned)rate, (unsigned)scale);
        rc = put_bytes(v, hd, (size_t)len, e);
    }
    if (rc) {
        fclose(v->f);
        v->f = NULL;
        remove(v->tmp);
        vw_free(v);
        return NULL;
    }
    return v;
}

int ferc_vwriter_write(ferc_vwriter *v, const uint8_t *rgb, ferc_err *e)
{
    if (!v || !rgb)
        return ferc_errf(e, "ferc_vwriter_write: NULL argument");
    if (v->failed) {
        if (e)
            *e = v->err;
        return -1;
    }
    if (v->count == 0x7fffffffL)
        return ferc_errf(e, "%s: too many frames", v->path);
    if (v->avi ? avi_write(v, rgb, e) : y4m_write(v, rgb, e))
        return -1;
    v->count++;
    return 0;
}

long ferc_vwriter_count(const ferc_vwriter *v) { return v ? v->count : 0; }

int ferc_vwriter_close(ferc_vwriter *v, ferc_err *e)
{
    if (!v)
        return 0;
    if (!v->failed && v->avi)
        avi_finish(v, e); /* on failure v->failed is set */
    if (!v->failed) {
        errno = 0;
        int bad = fflush(v->f) != 0 || ferror(v->f);
        int er = errno;
        if (fclose(v->f) != 0 && !bad) {
            bad = 1;
            er = errno;
        }
        v->f = NULL;
        if (bad)
            io_fail(v, "cannot write", er, NULL);
    }
    if (!v->failed && rename(v->tmp, v->path) != 0)
        io_fail(v, "cannot rename", errno, NULL);
    int rc = 0;
    if (v->failed) {
        if (v->f) {
            fclose(v->f);
            v->f = NULL;
        }
        remove(v->tmp);
        if (e)
            *e = v->err;
        rc = -1;
    }
    vw_free(v);
    return rc;
}
