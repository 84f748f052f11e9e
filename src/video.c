/* video.c: recorded-video frame sources (Motion-JPEG AVI, YUV4MPEG2), the
 * generic ferc_video calls, and BT.601 YCbCr -> RGB conversion.
 *
 * AVI (RIFF, little-endian): RIFF('AVI ' LIST('hdrl' avih LIST('strl' strh
 * strf ...)...) ... LIST('movi' {'NNdc' | LIST('rec ' ...) | JUNK ...}) [idx1])
 * [RIFF('AVIX' LIST('movi' ...))...]. Every chunk is id(4) size(4 LE) data,
 * padded to an even length; sizes exclude the header and the pad byte. Frames
 * are read by walking the movi lists in file order, so idx1 is never needed.
 * The video stream is the first strl whose strh type is 'vids'; its chunks
 * are 'NNdc'/'NNdb' with NN its decimal index; each holds one JPEG image. A
 * zero-length video chunk means "repeat the previous frame" (AVI drop frame).
 * Invariants of the walker: pos only grows (every step advances by >= 8
 * bytes), every list end is clamped to its parent's end and the file size,
 * nesting is bounded, so damaged files end in an error, never a loop.
 *
 * Y4M: "YUV4MPEG2 W<w> H<h> [F<n>:<d>] [I..] [A..] [C<space>] [X..]\n", then
 * per frame "FRAME[ params]\n" and the planes Y (w*h), Cb, Cr (each
 * ceil(w/2^sx) * ceil(h/2^sy)), and alpha (w*h) for C444alpha. Read through
 * stdio, so pipes work. Chroma siting (jpeg/paldv/mpeg2) is ignored: chroma
 * is replicated over the pixels it covers. */
#include "video.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AVI_MAX_DEPTH 8             /* LIST nesting inside movi (rec lists) */
#define AVI_MAX_HDRL ((uint32_t)1 << 20)   /* the hdrl list is read whole */
#define AVI_MAX_RIFFS 4096          /* movi lists: one per RIFF (AVI, OpenDML AVIX parts) */
#define Y4M_MAX_LINE 4096           /* stream and frame header lines */

/* ------------------------------------------------------------ conversions */

/* x is a 16.16 fixed-point value; returns it rounded and clamped to 0..255
 * (tests the sign before shifting: no right shift of negative numbers). */
static inline uint8_t fix_to_u8(int x)
{
    x += 1 << 15;
    if (x < 0)
        return 0;
    x >>= 16;
    return (uint8_t)(x > 255 ? 255 : x);
}

void ferc_yuv_row_to_rgb(uint8_t *rgb, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                         int w, int ystep, int cstep, int cshift, int full_range)
{
    /* 16.16 coefficients; limited range folds 255/219 (luma) and 255/224
     * (chroma) into them. */
    const double cs = full_range ? 1.0 : 255.0 / 224.0;
    const int ys = (int)((full_range ? 1.0 : 255.0 / 219.0) * 65536 + 0.5);
    const int yoff = full_range ? 0 : 16;
    const int rv = (int)(1.402 * cs * 65536 + 0.5);
    const int gu = (int)(0.344136 * cs * 65536 + 0.5);
    const int gv = (int)(0.714136 * cs * 65536 + 0.5);
    const int bu = (int)(1.772 * cs * 65536 + 0.5);
    for (int x = 0; x < w; x++) {
        int yy = (y[(size_t)x * ystep] - yoff) * ys;
        size_t ci = (size_t)(x >> cshift) * cstep;
        int uu = u[ci] - 128, vv = v[ci] - 128;
        rgb[3 * x + 0] = fix_to_u8(yy + rv * vv);
        rgb[3 * x + 1] = fix_to_u8(yy - gu * uu - gv * vv);
        rgb[3 * x + 2] = fix_to_u8(yy + bu * uu);
    }
}

void ferc_y_row_to_gray(uint8_t *gray, const uint8_t *y, int w, int ystep, int full_range)
{
    if (full_range) {
        for (int x = 0; x < w; x++)
            gray[x] = y[(size_t)x * ystep];
        return;
    }
    const int ys = (int)(255.0 / 219.0 * 65536 + 0.5);
    for (int x = 0; x < w; x++)
        gray[x] = fix_to_u8((y[(size_t)x * ystep] - 16) * ys);
}

/* ------------------------------------------------------------ generic */

int ferc_video_image_ensure(ferc_image *im, int w, int h, int c, const char *name, ferc_err *e)
{
    if (im->px && im->w == w && im->h == h && im->c == c)
        return 0;
    ferc_image_free(im);
    im->px = malloc((size_t)w * (size_t)h * (size_t)c);
    if (!im->px)
        return ferc_errf(e, "%s: out of memory for a %dx%d frame", name, w, h);
    im->w = w;
    im->h = h;
    im->c = c;
    return 0;
}

int ferc_jpeg_size(const uint8_t *d, size_t n, int *w, int *h)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return -1;
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xFF)
            return -1;
        uint8_t m = d[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* markers without a length */
            i += 2;
            continue;
        }
        if (m == 0xD9 || m == 0xDA) /* EOI, SOS: no SOF before the data */
            return -1;
        size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (len < 7 || i + 9 > n)
                return -1;
            *h = d[i + 5] << 8 | d[i + 6];
            *w = d[i + 7] << 8 | d[i + 8];
            return 0;
        }
        if (len < 2)
            return -1;
        i += 2 + len;
    }
    return -1;
}

int ferc_video_read(ferc_video *v, ferc_image *im, int c, ferc_err *e)
{
    if (!v || !im)
        return ferc_errf(e, "ferc_video_read: NULL argument");
    if (v->failed) {
        if (e)
            *e = v->err;
        return -1;
    }
    if (c != 1 && c != 3)
        return ferc_errf(e, "%s: ferc_video_read: c must be 1 or 3, not %d", v->info.name, c);
    int r = v->read(v, im, c, &v->err);
    if (r < 0) {
        v->failed = 1;
        if (e)
            *e = v->err;
    }
    return r;
}

const ferc_video_info *ferc_video_get_info(const ferc_video *v)
{
    return v ? &v->info : NULL;
}

void ferc_video_close(ferc_video *v)
{
    if (v)
        v->close(v);
}

/* Sets the fields every backend shares. */
static void info_init(ferc_video_info *in, const char *name)
{
    memset(in, 0, sizeof *in);
    snprintf(in->name, sizeof in->name, "%s", name);
    in->nframes = -1;
    in->frame = -1;
}

/* ------------------------------------------------------------ AVI */

static int avi_read(ferc_video *v, ferc_image *im, int c, ferc_err *e);

typedef struct {
    uint64_t start, end;    /* movi payload [start, end), after the 'movi' type */
    int truncated;          /* the file ends before the list's declared end */
} avi_range;

typedef struct {
    uint64_t end;           /* payload end of this LIST (clamped) */
    uint64_t next;          /* where the parent continues after it (end + pad) */
    int truncated;          /* the file ends before the declared end */
} avi_level;

typedef struct {
    ferc_video base;
    FILE *f;
    int fd;
    uint64_t fsize;
    char sid[2];            /* decimal stream number of the video stream */
    avi_range *movi;
    int nmovi, cur;         /* ranges; the next one to enter */
    uint64_t pos;           /* file offset of the next chunk header */
    avi_level stack[AVI_MAX_DEPTH];
    int depth;              /* 0: between movi ranges */
    uint8_t *buf;           /* the last frame's JPEG data (kept for drop frames) */
    size_t cap, len;
    long index;             /* frames emitted so far (drop frames included) */
    int at_end;
} avi_reader;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A fourcc for messages: printable ASCII as is, anything else as \xNN. */
static const char *fcc_str(char out[20], const uint8_t *p)
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '\\')
            *o++ = (char)p[i];
        else
            o += sprintf(o, "\\x%02x", p[i]);
    }
    *o = 0;
    return out;
}

static int fcc_is(const uint8_t *p, const char *s) { return memcmp(p, s, 4) == 0; }

/* Reads exactly n bytes at off; 0 on success, -1 (with a message) on an I/O
 * error or a short read (which cannot happen within fsize, barring a file
 * that shrinks while open). */
static int avi_pread(avi_reader *a, void *buf, size_t n, uint64_t off, ferc_err *e)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(a->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ferc_errf(e, "%s: read error at offset %llu: %s", a->base.info.name,
                             (unsigned long long)off, strerror(errno));
        if (r == 0)
            return ferc_errf(e, "%s: unexpected end of file at offset %llu (file shrank?)",
                             a->base.info.name, (unsigned long long)off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static void avi_close(ferc_video *v)
{
    avi_reader *a = (avi_reader *)v;
    if (a->f)
        fclose(a->f);
    free(a->movi);
    free(a->buf);
    free(a);
}

/* What the header list says about the video stream. */
typedef struct {
    int have_avih, stream, nstreams;   /* stream: index of the video strl, -1 none */
    uint32_t us_per_frame, avih_frames, avih_w, avih_h, dmlh_frames;
    uint8_t handler[4], compression[4];
    int have_strf;
    uint32_t scale, rate, length;
    int32_t bi_w, bi_h;
} avi_hdr;

/* Walks the chunks of one list held in memory, [p, p+n). depth 0 is hdrl. */
static int avi_parse_list(avi_reader *a, avi_hdr *h, const uint8_t *p, uint32_t n,
                          const char *list, int depth, ferc_err *e)
{
    const char *name = a->base.info.name;
    char f1[20];
    uint32_t off = 0;
    while (n - off >= 8) {
        const uint8_t *id = p + off;
        uint32_t sz = le32(p + off + 4);
        if (sz > n - off - 8)
            return ferc_errf(e, "%s: malformed AVI header: chunk '%s' (%u bytes) overruns the "
                             "'%s' list", name, fcc_str(f1, id), sz, list);
        const uint8_t *d = p + off + 8;
        if (fcc_is(id, "LIST") && sz >= 4 && depth < 2) {
            int strl = fcc_is(d, "strl");
            if (strl)
                h->nstreams++;
            if (strl || fcc_is(d, "odml"))
                if (avi_parse_list(a, h, d + 4, sz - 4, strl ? "strl" : "odml", depth + 1, e))
                    return -1;
        } else if (fcc_is(id, "avih") && depth == 0) {
            if (sz < 56)
                return ferc_errf(e, "%s: malformed AVI header: 'avih' has %u bytes, needs 56",
                                 name, sz);
            h->have_avih = 1;
            h->us_per_frame = le32(d);
            h->avih_frames = le32(d + 16);
            h->avih_w = le32(d + 32);
            h->avih_h = le32(d + 36);
        } else if (fcc_is(id, "dmlh") && sz >= 4) {
            h->dmlh_frames = le32(d);
        } else if (fcc_is(id, "strh") && depth == 1 && h->stream < 0) {
            if (sz < 36)
                return ferc_errf(e, "%s: malformed AVI header: 'strh' has %u bytes, needs 36",
                                 name, sz);
            if (fcc_is(d, "vids")) {
                h->stream = h->nstreams - 1;
                memcpy(h->handler, d + 4, 4);
                h->scale = le32(d + 20);
                h->rate = le32(d + 24);
                h->length = le32(d + 32);
            }
        } else if (fcc_is(id, "strf") && depth == 1 && h->stream == h->nstreams - 1 &&
                   !h->have_strf) {
            if (sz < 40)
                return ferc_errf(e, "%s: malformed AVI header: video 'strf' has %u bytes, "
                                 "needs 40 (BITMAPINFOHEADER)", name, sz);
            h->have_strf = 1;
            h->bi_w = (int32_t)le32(d + 4);
            h->bi_h = (int32_t)le32(d + 8);
            memcpy(h->compression, d + 16, 4);
        }
        off += 8 + sz + (sz & 1);
        if (off > n)
            break;
    }
    return 0;
}

/* Case-insensitive fourcc test for the Motion-JPEG codes we accept. */
static int is_mjpeg(const uint8_t *p)
{
    char s[5];
    for (int i = 0; i < 4; i++)
        s[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i]);
    s[4] = 0;
    return strcmp(s, "MJPG") == 0 || strcmp(s, "JPEG") == 0;
}

/* Scans the chunks of one RIFF body [pos, end): the hdrl list (first RIFF
 * only, into h) and the movi list(s) (appended to a->movi). riff_cut: the
 * file ends before the RIFF's declared end. */
static int avi_scan_riff(avi_reader *a, avi_hdr *h, int *have_hdrl, uint64_t pos, uint64_t end,
                         int riff_cut, ferc_err *e)
{
    const char *name = a->base.info.name;
    while (pos + 8 <= end) {
        uint8_t hd[12];
        int list = 0;
        if (avi_pread(a, hd, 8, pos, e))
            return -1;
        uint32_t sz = le32(hd + 4);
        uint64_t data = pos + 8, cend = data + sz;
        if (fcc_is(hd, "LIST") && sz >= 4 && data + 4 <= end) {
            if (avi_pread(a, hd + 8, 4, data, e))
                return -1;
            list = 1;
        }
        if (list && fcc_is(hd + 8, "movi")) {
            if (a->nmovi >= AVI_MAX_RIFFS)
                return ferc_errf(e, "%s: malformed AVI: more than %d 'movi' lists", name,
                                 AVI_MAX_RIFFS);
            avi_range *r = realloc(a->movi, sizeof *r * (size_t)(a->nmovi + 1));
            if (!r)
                return ferc_errf(e, "%s: out of memory", name);
            a->movi = r;
            r += a->nmovi++;
            r->start = data + 4;
            r->end = cend;
            r->truncated = 0;
            /* size 0: written by a recorder that never finished; runs to the end */
            if (sz == 0 || cend > end) {
                r->end = end;
                r->truncated = sz != 0 && riff_cut;
            }
        } else if (list && fcc_is(hd + 8, "hdrl") && !*have_hdrl) {
            if (cend > end)
                return ferc_errf(e, "%s: truncated AVI: the file ends inside the header list "
                                 "('hdrl', %u bytes at offset %llu)", name, sz,
                                 (unsigned long long)pos);
            if (sz > AVI_MAX_HDRL)
                return ferc_errf(e, "%s: malformed AVI: header list of %u bytes (max %u)",
                                 name, sz, AVI_MAX_HDRL);
            uint8_t *buf = malloc(sz);
            if (!buf)
                return ferc_errf(e, "%s: out of memory", name);
            int rc = avi_pread(a, buf, sz, data, e);
            if (!rc)
                rc = avi_parse_list(a, h, buf + 4, sz - 4, "hdrl", 0, e);
            free(buf);
            if (rc)
                return -1;
            *have_hdrl = 1;
        }
        if (cend > end) /* a trailing chunk (idx1, JUNK) cut short: not needed */
            break;
        pos = cend + (sz & 1);
    }
    return 0;
}

/* Opens the AVI; f is positioned after the 12-byte RIFF header in sig. */
static ferc_video *avi_open(FILE *f, const char *path, const struct stat *st, const uint8_t *sig,
                            ferc_err *e)
{
    char f1[20], f2[20];
    if (!S_ISREG(st->st_mode)) {
        fclose(f);
        ferc_errf(e, "%s: an AVI must be a regular (seekable) file", path);
        return NULL;
    }
    avi_reader *a = calloc(1, sizeof *a);
    if (!a) {
        fclose(f);
        ferc_errf(e, "%s: out of memory", path);
        return NULL;
    }
    info_init(&a->base.info, path);
    a->base.read = avi_read;
    a->base.close = avi_close;
    a->f = f;
    a->fd = fileno(f);
    a->fsize = (uint64_t)st->st_size;
    avi_hdr h;
    memset(&h, 0, sizeof h);
    h.stream = -1;
    int have_hdrl = 0;
    uint32_t riff_size = le32(sig + 4);
    uint64_t riff_end = 8 + (uint64_t)riff_size;
    int riff_cut = riff_end > a->fsize;
    if (riff_size < 4) {
        ferc_errf(e, "%s: malformed AVI: RIFF size %u", path, riff_size);
        goto fail;
    }
    if (avi_scan_riff(a, &h, &have_hdrl, 12, riff_cut ? a->fsize : riff_end, riff_cut, e))
        goto fail;
    /* OpenDML: further RIFF 'AVIX' chunks, each with its own movi list. */
    for (uint64_t pos = riff_end + (riff_size & 1); pos + 12 <= a->fsize;) {
        uint8_t hd[12];
        if (avi_pread(a, hd, 12, pos, e))
            goto fail;
        if (!fcc_is(hd, "RIFF") || !fcc_is(hd + 8, "AVIX"))
            break; /* trailing bytes that are not an extension: ignored */
        uint32_t sz = le32(hd + 4);
        uint64_t end = pos + 8 + sz;
        int cut = end > a->fsize;
        if (sz < 4 || avi_scan_riff(a, &h, &have_hdrl, pos + 12, cut ? a->fsize : end, cut, e))
            goto fail;
        pos = end + (sz & 1);
    }
    if (!have_hdrl || !h.have_avih) {
        ferc_errf(e, "%s: malformed AVI: no header list ('hdrl' with 'avih')", path);
        goto fail;
    }
    if (h.stream < 0) {
        ferc_errf(e, "%s: AVI has no video stream (%d streams, none of type 'vids')", path,
                  h.nstreams);
        goto fail;
    }
    const uint8_t *codec = h.have_strf ? h.compression : h.handler;
    if (!is_mjpeg(codec)) {
        if (le32(codec) == 0)
            ferc_errf(e, "%s: unsupported video codec: uncompressed (BI_RGB); only Motion-JPEG "
                      "('MJPG') AVI is supported", path);
        else
            ferc_errf(e, "%s: unsupported video codec '%s' (handler '%s'); only Motion-JPEG "
                      "('MJPG') AVI is supported (convert with: ffmpeg -i IN -c:v mjpeg -q:v 3 "
                      "OUT.avi)", path, fcc_str(f1, codec), fcc_str(f2, h.handler));
        goto fail;
    }
    if (h.stream > 99) {
        ferc_errf(e, "%s: malformed AVI: video stream number %d", path, h.stream);
        goto fail;
    }
    a->sid[0] = (char)('0' + h.stream / 10);
    a->sid[1] = (char)('0' + h.stream % 10);
    /* Frame size: strf's BITMAPINFOHEADER (negative height = top-down), else avih. */
    long w = h.have_strf ? h.bi_w : (long)h.avih_w;
    long ht = h.have_strf ? h.bi_h : (long)h.avih_h;
    if (ht < 0)
        ht = -ht;
    if (w <= 0 || ht <= 0 || w > FERC_VIDEO_MAX_SIDE || ht > FERC_VIDEO_MAX_SIDE ||
        w * ht > FERC_VIDEO_MAX_PIXELS) {
        ferc_errf(e, "%s: frame size %ldx%ld out of range (1..%d per side, at most %ld pixels)",
                  path, w, ht, FERC_VIDEO_MAX_SIDE, FERC_VIDEO_MAX_PIXELS);
        goto fail;
    }
    if (a->nmovi == 0) {
        ferc_errf(e, "%s: malformed AVI: no 'movi' list (no frames)", path);
        goto fail;
    }
    ferc_video_info *in = &a->base.info;
    snprintf(in->format, sizeof in->format, "AVI %s", fcc_str(f1, codec));
    in->width = (int)w;
    in->height = (int)ht;
    if (h.rate > 0 && h.scale > 0)
        in->fps = (double)h.rate / h.scale;
    else if (h.us_per_frame > 0)
        in->fps = 1e6 / h.us_per_frame;
    in->nframes = h.dmlh_frames   ? (long)h.dmlh_frames
                  : h.length      ? (long)h.length
                  : h.avih_frames ? (long)h.avih_frames
                                  : -1;
    return &a->base;
fail:
    avi_close(&a->base);
    return NULL;
}

/* Decodes the JPEG in a->buf[0..len) as frame a->index. */
static int avi_decode(avi_reader *a, ferc_image *im, int c, ferc_err *e)
{
    const ferc_video_info *in = &a->base.info;
    char name[300];
    snprintf(name, sizeof name, "%s: frame %ld", in->name, a->index);
    if (a->len < 2 || a->buf[0] != 0xFF || a->buf[1] != 0xD8)
        return ferc_errf(e, "%s: not a JPEG image (%zu bytes)", name, a->len);
    int jw, jh;
    if (ferc_jpeg_size(a->buf, a->len, &jw, &jh))
        return ferc_errf(e, "%s: corrupt JPEG: no frame header (SOF)", name);
    if (jw != in->width || jh != in->height)
        return ferc_errf(e, "%s: JPEG is %dx%d but the AVI header says %dx%d", name, jw, jh,
                         in->width, in->height);
    ferc_image tmp;
    int rc = c == 3 ? ferc_image_load_rgb_mem(&tmp, a->buf, a->len, name, e)
                    : ferc_image_load_mem(&tmp, a->buf, a->len, name, e);
    if (rc)
        return -1;
    if (tmp.w != in->width || tmp.h != in->height) { /* cannot happen: SOF checked */
        ferc_errf(e, "%s: JPEG decoded to %dx%d, expected %dx%d", name, tmp.w, tmp.h,
                  in->width, in->height);
        ferc_image_free(&tmp);
        return -1;
    }
    ferc_image_free(im);
    *im = tmp;
    return 0;
}

static int avi_truncated(avi_reader *a, ferc_err *e)
{
    return ferc_errf(e, "%s: truncated AVI: the file (%llu bytes) ends inside the 'movi' list "
                     "after %ld frames", a->base.info.name, (unsigned long long)a->fsize,
                     a->index);
}

static int avi_read(ferc_video *v, ferc_image *im, int c, ferc_err *e)
{
    avi_reader *a = (avi_reader *)v;
    const char *name = v->info.name;
    char f1[20];
    while (!a->at_end) {
        if (a->depth == 0) { /* enter the next movi list */
            if (a->cur >= a->nmovi) {
                a->at_end = 1;
                break;
            }
            avi_range *r = &a->movi[a->cur++];
            a->stack[0] = (avi_level){r->end, r->end, r->truncated};
            a->depth = 1;
            a->pos = r->start;
        }
        avi_level *lv = &a->stack[a->depth - 1];
        if (a->pos + 8 > lv->end) { /* this list is done */
            if (lv->truncated)
                return avi_truncated(a, e);
            a->pos = lv->next;
            a->depth--;
            continue;
        }
        uint8_t hd[12];
        if (avi_pread(a, hd, 8, a->pos, e))
            return -1;
        uint32_t sz = le32(hd + 4);
        uint64_t data = a->pos + 8, cend = data + sz;
        if (cend > lv->end) {
            if (lv->truncated)
                return avi_truncated(a, e);
            return ferc_errf(e, "%s: malformed AVI: chunk '%s' at offset %llu (%u bytes) "
                             "overruns its list", name, fcc_str(f1, hd),
                             (unsigned long long)a->pos, sz);
        }
        if (fcc_is(hd, "LIST")) { /* e.g. LIST 'rec ': descend */
            if (sz < 4)
                return ferc_errf(e, "%s: malformed AVI: LIST of %u bytes at offset %llu", name,
                                 sz, (unsigned long long)a->pos);
            if (a->depth >= AVI_MAX_DEPTH)
                return ferc_errf(e, "%s: malformed AVI: LISTs nested deeper than %d at offset "
                                 "%llu", name, AVI_MAX_DEPTH, (unsigned long long)a->pos);
            a->stack[a->depth++] = (avi_level){cend, cend + (sz & 1), 0};
            a->pos = data + 4;
            continue;
        }
        a->pos = cend + (sz & 1);
        if (hd[0] != (uint8_t)a->sid[0] || hd[1] != (uint8_t)a->sid[1] || hd[2] != 'd' ||
            (hd[3] != 'c' && hd[3] != 'b'))
            continue; /* audio, JUNK, ix## index chunks, ... */
        if (sz > FERC_VIDEO_MAX_CHUNK)
            return ferc_errf(e, "%s: frame %ld: chunk of %u bytes is too large (max %u)", name,
                             a->index, sz, FERC_VIDEO_MAX_CHUNK);
        if (sz == 0 && a->len == 0) { /* drop frame before any image: nothing to repeat */
            a->index++;
            continue;
        }
        if (sz > 0) {
            if (sz > a->cap) {
                uint8_t *b = realloc(a->buf, sz);
                if (!b)
                    return ferc_errf(e, "%s: out of memory", name);
                a->buf = b;
                a->cap = sz;
            }
            if (avi_pread(a, a->buf, sz, data, e))
                return -1;
            a->len = sz;
        }
        if (avi_decode(a, im, c, e))
            return -1;
        v->info.frame = a->index++;
        v->info.time = v->info.fps > 0 ? v->info.frame / v->info.fps : 0;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ Y4M */

static int y4m_read(ferc_video *v, ferc_image *im, int c, ferc_err *e);

typedef struct {
    ferc_video base;
    FILE *f;
    int sx, sy;             /* chroma subsampling shifts (420: 1,1; 422: 1,0; 411: 2,0) */
    int mono, alpha, full;  /* luma only; alpha plane follows; full-range YCbCr */
    int cw, ch;             /* chroma plane size */
    size_t ysize, csize, fbytes;   /* plane and whole-frame sizes in bytes */
    long long left;         /* regular files: bytes left after the last read; -1 pipes */
    uint8_t *buf;           /* one frame's planes (allocated at the first frame) */
    long index;
    int at_end;
} y4m_reader;

static void y4m_close(ferc_video *v)
{
    y4m_reader *y = (y4m_reader *)v;
    if (y->f)
        fclose(y->f);
    free(y->buf);
    free(y);
}

/* Reads one '\n'-terminated line (without it) into buf[n]. Returns its length,
 * -1 at EOF before any byte, -2 at EOF/error mid-line, -3 if too long. */
static int read_line(FILE *f, char *buf, int n)
{
    int len = 0, ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (len >= n - 1)
            return -3;
        buf[len++] = (char)ch;
    }
    buf[len] = 0;
    if (ch == EOF)
        return len == 0 && !ferror(f) ? -1 : -2;
    return len;
}

/* Parses a decimal integer that must fill all of s; -1 if malformed or > max. */
static long parse_int(const char *s, long max)
{
    if (*s < '0' || *s > '9')
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v;
}

/* Parses the stream header line (after "YUV4MPEG2") into y. */
static int y4m_parse_header(y4m_reader *y, char *line, ferc_err *e)
{
    const char *name = y->base.info.name;
    ferc_video_info *in = &y->base.info;
    long w = -1, h = -1;
    const char *cs = "420jpeg";
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        switch (t[0]) {
        case 'W':
        case 'H': {
            long val = parse_int(t + 1, 1L << 30);
            if (val < 0)
                return ferc_errf(e, "%s: bad Y4M header: '%s' is not a size", name, t);
            *(t[0] == 'W' ? &w : &h) = val;
            break;
        }
        case 'F': {
            char *colon = strchr(t + 1, ':');
            long n = -1, d = -1;
            if (colon) {
                *colon = 0;
                n = parse_int(t + 1, 1L << 30);
                d = parse_int(colon + 1, 1L << 30);
                *colon = ':';
            }
            if (n < 0 || d < 0)
                return ferc_errf(e, "%s: bad Y4M header: frame rate '%s' (expected F<n>:<d>)",
                                 name, t);
            in->fps = n > 0 && d > 0 ? (double)n / d : 0; /* F0:0 = unknown */
            break;
        }
        case 'C':
            cs = t + 1;
            break;
        case 'X':
            if (strcmp(t, "XCOLORRANGE=FULL") == 0)
                y->full = 1;
            else if (strcmp(t, "XCOLORRANGE=LIMITED") == 0)
                y->full = 0;
            break;
        default: /* I (interlacing), A (aspect) and unknown tags: ignored, as the format asks */
            break;
        }
    }
    if (w < 0 || h < 0)
        return ferc_errf(e, "%s: bad Y4M header: no %s", name, w < 0 ? "width (W)" : "height (H)");
    if (w == 0 || h == 0 || w > FERC_VIDEO_MAX_SIDE || h > FERC_VIDEO_MAX_SIDE ||
        w * h > FERC_VIDEO_MAX_PIXELS)
        return ferc_errf(e, "%s: frame size %ldx%ld out of range (1..%d per side, at most %ld "
                         "pixels)", name, w, h, FERC_VIDEO_MAX_SIDE, FERC_VIDEO_MAX_PIXELS);
    if (!strcmp(cs, "420jpeg") || !strcmp(cs, "420paldv") || !strcmp(cs, "420mpeg2") ||
        !strcmp(cs, "420"))
        y->sx = y->sy = 1;
    else if (!strcmp(cs, "422"))
        y->sx = 1;
    else if (!strcmp(cs, "411"))
        y->sx = 2;
    else if (!strcmp(cs, "444alpha"))
        y->alpha = 1;
    else if (!strcmp(cs, "mono"))
        y->mono = 1;
    else if (strcmp(cs, "444") != 0)
        return ferc_errf(e, "%s: unsupported Y4M colour space 'C%s' (8-bit only: 420jpeg, "
                         "420paldv, 420mpeg2, 420, 422, 411, 444, 444alpha, mono)", name, cs);
    in->width = (int)w;
    in->height = (int)h;
    snprintf(in->format, sizeof in->format, "Y4M C%s%s", cs, y->full ? " full-range" : "");
    y->ysize = (size_t)w * (size_t)h;
    y->cw = (int)((w + (1 << y->sx) - 1) >> y->sx);
    y->ch = (int)((h + (1 << y->sy) - 1) >> y->sy);
    y->csize = y->mono ? 0 : (size_t)y->cw * (size_t)y->ch;
    y->fbytes = y->ysize + 2 * y->csize + (y->alpha ? y->ysize : 0);
    return 0;
}

static ferc_video *y4m_open(FILE *f, const char *path, const struct stat *st, ferc_err *e)
{
    y4m_reader *y = calloc(1, sizeof *y);
    char *line = malloc(Y4M_MAX_LINE);
    if (!y || !line) {
        free(y);
        free(line);
        fclose(f);
        ferc_errf(e, "%s: out of memory", path);
        return NULL;
    }
    info_init(&y->base.info, path);
    y->base.read = y4m_read;
    y->base.close = y4m_close;
    y->f = f;
    int len = read_line(f, line, Y4M_MAX_LINE);
    if (len < 0) {
        ferc_errf(e, "%s: bad Y4M header: %s", path,
                  len == -3 ? "line longer than 4096 bytes" : "no end of line (file cut short?)");
        goto fail;
    }
    if (y4m_parse_header(y, line, e))
        goto fail;
    /* Frame count: exact when every frame header is a bare "FRAME\n". */
    long hdr = 10 + len + 1;
    y->left = -1;
    if (S_ISREG(st->st_mode) && st->st_size >= hdr) {
        y->left = (long long)st->st_size - hdr;
        if ((uint64_t)y->left % (6 + y->fbytes) == 0)
            y->base.info.nframes = (long)((uint64_t)y->left / (6 + y->fbytes));
    }
    free(line);
    return &y->base;
fail:
    free(line);
    y4m_close(&y->base);
    return NULL;
}

static int y4m_read(ferc_video *v, ferc_image *im, int c, ferc_err *e)
{
    y4m_reader *y = (y4m_reader *)v;
    const char *name = v->info.name;
    char line[Y4M_MAX_LINE];
    if (y->at_end)
        return 0;
    int len = read_line(y->f, line, sizeof line);
    if (len == -1) {
        y->at_end = 1;
        return 0;
    }
    if (len == -2 && ferror(y->f))
        return ferc_errf(e, "%s: read error before frame %ld: %s", name, y->index,
                         strerror(errno));
    if (len == -2)
        return ferc_errf(e, "%s: truncated Y4M: the file ends inside the header of frame %ld",
                         name, y->index);
    if (len == -3 || strncmp(line, "FRAME", 5) != 0 || (line[5] != 0 && line[5] != ' '))
        return ferc_errf(e, "%s: bad Y4M frame header before frame %ld (expected 'FRAME')",
                         name, y->index);
    if (y->left >= 0) {
        y->left -= len + 1;
        if (y->left < (long long)y->fbytes) /* known short: no need to allocate */
            return ferc_errf(e, "%s: truncated Y4M: frame %ld has %lld of its %zu bytes", name,
                             y->index, y->left > 0 ? y->left : 0, y->fbytes);
        y->left -= (long long)y->fbytes;
    }
    if (!y->buf && !(y->buf = malloc(y->fbytes)))
        return ferc_errf(e, "%s: out of memory for %zu-byte frames", name, y->fbytes);
    size_t got = fread(y->buf, 1, y->fbytes, y->f);
    if (got < y->fbytes) {
        if (ferror(y->f))
            return ferc_errf(e, "%s: read error in frame %ld: %s", name, y->index,
                             strerror(errno));
        return ferc_errf(e, "%s: truncated Y4M: frame %ld has %zu of its %zu bytes", name,
                         y->index, got, y->fbytes);
    }
    int w = v->info.width, h = v->info.height;
    if (ferc_video_image_ensure(im, w, h, c, name, e))
        return -1;
    const uint8_t *U = y->buf + y->ysize, *V = U + y->csize;
    for (int j = 0; j < h; j++) {
        const uint8_t *yr = y->buf + (size_t)j * w;
        uint8_t *out = im->px + (size_t)j * w * c;
        if (c == 1 || y->mono) {
            ferc_y_row_to_gray(out, yr, w, 1, y->full);
            if (c == 3) /* expand in place, from the right */
                for (int x = w - 1; x >= 0; x--)
                    out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = out[x];
        } else {
            size_t co = (size_t)(j >> y->sy) * y->cw;
            ferc_yuv_row_to_rgb(out, yr, U + co, V + co, w, 1, 1, y->sx, y->full);
        }
    }
    v->info.frame = y->index++;
    v->info.time = v->info.fps > 0 ? v->info.frame / v->info.fps : 0;
    return 1;
}

/* ------------------------------------------------------------ open */

ferc_video *ferc_video_open(const char *path, ferc_err *e)
{
    if (!path || !*path) {
        ferc_errf(e, "ferc_video_open: empty file name");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        ferc_errf(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        ferc_errf(e, "%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        ferc_errf(e, "%s: is a directory, not a video file", path);
        fclose(f);
        return NULL;
    }
    /* 10 bytes decide Y4M; read 2 more only for RIFF, so a Y4M header line
     * continues right after what was consumed. */
    uint8_t sig[12];
    size_t n = fread(sig, 1, 10, f);
    if (n == 10 && memcmp(sig, "YUV4MPEG2 ", 10) == 0) {
        return y4m_open(f, path, &st, e);
    }
    if (n == 10)
        n += fread(sig + 10, 1, 2, f);
    if (ferror(f))
        ferc_errf(e, "%s: read error: %s", path, strerror(errno));
    else if (n == 0)
        ferc_errf(e, "%s: empty file", path);
    else if (n >= 4 && memcmp(sig, "RIFF", 4) == 0 && n < 12)
        ferc_errf(e, "%s: truncated RIFF header (%zu bytes)", path, n);
    else if (n == 12 && memcmp(sig, "RIFF", 4) == 0 && memcmp(sig + 8, "AVI ", 4) != 0) {
        char f1[20];
        ferc_errf(e, "%s: RIFF file of type '%s', not an AVI", path, fcc_str(f1, sig + 8));
    } else if (n == 12 && memcmp(sig, "RIFF", 4) == 0) {
        return avi_open(f, path, &st, sig, e);
    } else if (n >= 4 && memcmp(sig, "RIFX", 4) == 0)
        ferc_errf(e, "%s: big-endian RIFF (RIFX) is not supported", path);
    else
        ferc_errf(e, "%s: not an AVI or Y4M file (supported: Motion-JPEG AVI, YUV4MPEG2)", path);
    fclose(f);
    return NULL;
}
