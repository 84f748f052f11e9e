/* image.c: PNG (libpng) and JPEG (libjpeg) decoding to 8-bit gray or RGB,
 * separable area/bilinear resizing, and PNG/JPEG writing.
 *
 * Both libraries report fatal errors through a callback that must not
 * return; we longjmp back to the decoder with the message captured in a
 * per-call context (no globals, nothing printed). Every state that must
 * survive the longjmp lives in that context, not in locals. Warnings are
 * captured too: libjpeg pads a truncated stream and only warns, so the
 * warnings that mean "the pixels are wrong" are turned into errors. */
#include "image.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#define MAX_SIDE 16384                     /* bounds memory: at most 16384^2 * 3 bytes */
#define MAX_FILE ((size_t)1 << 30)         /* files are read whole; refuse more than 1 GiB */
#define PNG_MSG 256                        /* size of the libpng error message buffers */

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void ferc_image_free(ferc_image *im)
{
    if (!im)
        return;
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* ITU-R 601 luma, rounded: y = 0.299 r + 0.587 g + 0.114 b. */
static uint8_t luma(const uint8_t *p)
{
    return (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
}

/* Converts an interleaved buffer of n pixels from c_in to c_out channels
 * (1 or 3 each) in place when shrinking, or into a new buffer when growing.
 * Returns the (possibly new) buffer, NULL on allocation failure (px freed). */
static uint8_t *convert_channels(uint8_t *px, size_t n, int c_in, int c_out)
{
    if (c_in == c_out)
        return px;
    if (c_in == 3) { /* RGB -> gray, in place: output index i <= input index 3i */
        for (size_t i = 0; i < n; i++)
            px[i] = luma(px + 3 * i);
        return px;
    }
    uint8_t *out = malloc(n * 3);
    if (out)
        for (size_t i = 0; i < n; i++)
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = px[i];
    free(px);
    return out;
}

/* ---------------------------------------------------------------- PNG read */

typedef struct {
    const uint8_t *data;
    size_t n, pos;
    int truncated;          /* the read callback ran out of data */
    int plain;              /* msg is ours: no "corrupt PNG" prefix */
    char msg[PNG_MSG];      /* libpng's error message */
    uint8_t *px;            /* decoded pixels (owned until handed to the image) */
    png_bytep *rows;
} png_ctx;

/* The error pointer is a char[PNG_MSG] buffer that receives the message. */
static void png_err_cb(png_structp png, png_const_charp msg)
{
    char *buf = png_get_error_ptr(png);
    snprintf(buf, PNG_MSG, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn_cb(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings (e.g. a bad ancillary chunk) do not affect pixels */
    (void)msg;
}

static void png_read_cb(png_structp png, png_bytep out, png_size_t len)
{
    png_ctx *x = png_get_io_ptr(png);
    if (len > x->n - x->pos) {
        x->truncated = 1;
        png_error(png, "unexpected end of file");
    }
    memcpy(out, x->data + x->pos, len);
    x->pos += len;
}

/* Decodes a PNG to c_out (1 or 3) channels of 8 bits. */
static int png_decode(ferc_image *im, const uint8_t *data, size_t n, const char *name, int c_out,
                      ferc_err *e)
{
    png_ctx x;
    memset(&x, 0, sizeof x);
    x.data = data;
    x.n = n;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, x.msg, png_err_cb, png_warn_cb);
    if (!png)
        return ferc_errf(e, "%s: out of memory", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ferc_errf(e, "%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(x.rows);
        free(x.px);
        if (x.truncated)
            return ferc_errf(e, "%s: truncated PNG", name);
        if (x.plain)
            return ferc_errf(e, "%s: %s", name, x.msg);
        return ferc_errf(e, "%s: corrupt PNG: %s", name, x.msg);
    }
    png_set_read_fn(png, &x, png_read_cb);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w > MAX_SIDE || h > MAX_SIDE) {
        x.plain = 1;
        snprintf(x.msg, sizeof x.msg, "image too large (%ux%u, max %d per side)", (unsigned)w,
                 (unsigned)h, MAX_SIDE);
        png_longjmp(png, 1);
    }
    /* Normalise every colour type / bit depth to 8-bit gray or RGB. */
    png_set_expand(png);                 /* palette -> RGB, gray < 8 bit -> 8, tRNS -> alpha */
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png);               /* 16 -> 8 bit, rounded */
#else
    png_set_strip_16(png);
#endif
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int c = png_get_channels(png, info);
    if (c != 1 && c != 3)
        png_error(png, "unsupported channel layout");
    size_t stride = (size_t)w * (size_t)c;
    if (png_get_rowbytes(png, info) != stride)
        png_error(png, "unexpected row size");
    x.px = malloc(stride * h);
    x.rows = malloc(sizeof *x.rows * h);
    if (!x.px || !x.rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        x.rows[y] = x.px + (size_t)y * stride;
    png_read_image(png, x.rows);
    png_read_end(png, NULL); /* checks the rest of the stream (IEND, CRCs) */
    png_destroy_read_struct(&png, &info, NULL);
    free(x.rows);
    uint8_t *px = convert_channels(x.px, (size_t)w * h, c, c_out);
    if (!px)
        return ferc_errf(e, "%s: out of memory", name);
    im->w = (int)w;
    im->h = (int)h;
    im->c = c_out;
    im->px = px;
    return 0;
}

/* --------------------------------------------------------------- JPEG read */

typedef struct {
    struct jpeg_error_mgr pub;          /* must be first: libjpeg passes &pub */
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];          /* fatal error, or the first bad warning */
    int truncated;                      /* JWRN_JPEG_EOF seen: data was padded */
    int corrupt;                        /* a warning that means wrong pixels */
    int plain;                          /* msg is ours: no "corrupt JPEG" prefix */
    uint8_t *px;
} jpeg_ctx;

static void jpeg_error_exit_cb(j_common_ptr ci)
{
    jpeg_ctx *x = (jpeg_ctx *)ci->err;
    ci->err->format_message(ci, x->msg);
    longjmp(x->jmp, 1);
}

/* Called for warnings (level -1) and trace messages (level >= 0). */
static void jpeg_emit_cb(j_common_ptr ci, int level)
{
    jpeg_ctx *x = (jpeg_ctx *)ci->err;
    if (level >= 0)
        return;
    ci->err->num_warnings++;
    int code = ci->err->msg_code;
    if (code == JWRN_JPEG_EOF) {
        x->truncated = 1;
    } else if (code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
               code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC ||
               code == JWRN_NOT_SEQUENTIAL || code == JWRN_BOGUS_PROGRESSION) {
        if (!x->corrupt)
            ci->err->format_message(ci, x->msg);
        x->corrupt = 1;
    }
    /* Other warnings (unknown JFIF revision, extraneous bytes between
     * markers, bad ICC profile) leave the pixels intact. */
}

static void jpeg_output_cb(j_common_ptr ci) { (void)ci; }

/* In-memory source manager (portable to libjpeg versions without
 * jpeg_mem_src). At the end of data it warns JWRN_JPEG_EOF and inserts an EOI
 * marker, as libjpeg's own sources do. */
static void src_init(j_decompress_ptr ci) { (void)ci; }
static boolean src_fill(j_decompress_ptr ci)
{
    static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
    WARNMS(ci, JWRN_JPEG_EOF);
    ci->src->next_input_byte = eoi;
    ci->src->bytes_in_buffer = 2;
    return TRUE;
}
static void src_skip(j_decompress_ptr ci, long k)
{
    struct jpeg_source_mgr *s = ci->src;
    if (k <= 0)
        return;
    while ((size_t)k > s->bytes_in_buffer) {
        k -= (long)s->bytes_in_buffer;
        (void)s->fill_input_buffer(ci);
    }
    s->next_input_byte += k;
    s->bytes_in_buffer -= (size_t)k;
}
static void src_term(j_decompress_ptr ci) { (void)ci; }

/* Decodes a JPEG to c_out (1 or 3) channels. */
static int jpeg_decode(ferc_image *im, const uint8_t *data, size_t n, const char *name, int c_out,
                       ferc_err *e)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_source_mgr src;
    jpeg_ctx x;
    memset(&x, 0, sizeof x);
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&x.pub);
    x.pub.error_exit = jpeg_error_exit_cb;
    x.pub.emit_message = jpeg_emit_cb;
    x.pub.output_message = jpeg_output_cb;
    if (setjmp(x.jmp)) {
        jpeg_destroy_decompress(&ci);
        free(x.px);
        if (x.truncated)
            return ferc_errf(e, "%s: truncated JPEG", name);
        if (x.plain)
            return ferc_errf(e, "%s: %s", name, x.msg);
        return ferc_errf(e, "%s: corrupt JPEG: %s", name, x.msg);
    }
    jpeg_create_decompress(&ci);
    memset(&src, 0, sizeof src);
    src.init_source = src_init;
    src.fill_input_buffer = src_fill;
    src.skip_input_data = src_skip;
    src.resync_to_restart = jpeg_resync_to_restart;
    src.term_source = src_term;
    src.next_input_byte = data;
    src.bytes_in_buffer = n;
    ci.src = &src;
    jpeg_read_header(&ci, TRUE);
    if (ci.image_width > MAX_SIDE || ci.image_height > MAX_SIDE) {
        x.plain = 1;
        snprintf(x.msg, sizeof x.msg, "image too large (%ux%u, max %d per side)",
                 (unsigned)ci.image_width, (unsigned)ci.image_height, MAX_SIDE);
        longjmp(x.jmp, 1);
    }
    ci.out_color_space = c_out == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    if (ci.output_components != c_out) {
        snprintf(x.msg, sizeof x.msg, "unsupported colour space");
        longjmp(x.jmp, 1);
    }
    size_t stride = (size_t)ci.output_width * (size_t)c_out;
    x.px = malloc(stride * ci.output_height);
    if (!x.px) {
        x.plain = 1;
        snprintf(x.msg, sizeof x.msg, "out of memory");
        longjmp(x.jmp, 1);
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = x.px + (size_t)ci.output_scanline * stride;
        if (jpeg_read_scanlines(&ci, &row, 1) != 1)
            break; /* cannot happen with a memory source; guards an endless loop */
    }
    if (ci.output_scanline == ci.output_height)
        jpeg_finish_decompress(&ci);
    else
        x.truncated = 1;
    im->w = (int)ci.output_width;
    im->h = (int)ci.output_height;
    jpeg_destroy_decompress(&ci);
    if (x.truncated || x.corrupt) {
        free(x.px);
        memset(im, 0, sizeof *im);
        if (x.truncated)
            return ferc_errf(e, "%s: truncated JPEG", name);
        return ferc_errf(e, "%s: corrupt JPEG: %s", name, x.msg);
    }
    im->c = c_out;
    im->px = x.px;
    return 0;
}

/* ---------------------------------------------------------------- loading */

static int decode(ferc_image *im, const void *data, size_t n, const char *name, int c_out,
                  ferc_err *e)
{
    const uint8_t *p = data;
    memset(im, 0, sizeof *im);
    if (n == 0)
        return ferc_errf(e, "%s: empty file", name);
    if (n >= 8 && memcmp(p, png_sig, 8) == 0)
        return png_decode(im, p, n, name, c_out, e);
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return jpeg_decode(im, p, n, name, c_out, e);
    return ferc_errf(e, "%s: not a PNG or JPEG file", name);
}

int ferc_image_load_mem(ferc_image *im, const void *data, size_t n, const char *name, ferc_err *e)
{
    return decode(im, data, n, name, 1, e);
}

int ferc_image_load_rgb_mem(ferc_image *im, const void *data, size_t n, const char *name,
                            ferc_err *e)
{
    return decode(im, data, n, name, 3, e);
}

/* Reads a whole file; *buf is malloc'ed (NULL and n = 0 for an empty file). */
static int read_file(const char *path, uint8_t **buf, size_t *n, ferc_err *e)
{
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ferc_errf(e, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, len = 0;
    uint8_t *b = NULL;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE) {
                free(b);
                fclose(f);
                return ferc_errf(e, "%s: file too large (over %zu bytes)", path, MAX_FILE);
            }
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                free(b);
                fclose(f);
                return ferc_errf(e, "%s: out of memory", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f), er = errno;
    fclose(f);
    if (bad) {
        free(b);
        return ferc_errf(e, "%s: read error: %s", path, strerror(er));
    }
    *buf = b;
    *n = len;
    return 0;
}

int ferc_image_load(ferc_image *im, const char *path, ferc_err *e)
{
    uint8_t *buf;
    size_t n;
    memset(im, 0, sizeof *im);
    if (read_file(path, &buf, &n, e))
        return -1;
    int r = decode(im, buf, n, path, 1, e);
    free(buf);
    return r;
}

int ferc_image_load_rgb(ferc_image *im, const char *path, ferc_err *e)
{
    uint8_t *buf;
    size_t n;
    memset(im, 0, sizeof *im);
    if (read_file(path, &buf, &n, e))
        return -1;
    int r = decode(im, buf, n, path, 3, e);
    free(buf);
    return r;
}

/* --------------------------------------------------------------- resizing */

/* Resampling weights for one axis, src samples -> dst samples.
 * Output j reads src[first[j] .. first[j]+count[j]-1] with weights
 * w[j*taps ..]; each output's weights sum to 1.
 *   shrinking (dst < src): area averaging, output j covers the source
 *     interval [j*s/d, (j+1)*s/d) and each source pixel weighs by overlap;
 *   enlarging (dst > src): bilinear with pixel centres aligned,
 *     x = (j + 0.5) * s/d - 0.5, clamped to the border;
 *   equal: identity. */
typedef struct {
    int taps;
    int *first, *count;
    float *w;
} axis_weights;

static void axis_free(axis_weights *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
}

static int axis_init(axis_weights *a, int s, int d)
{
    double ratio = (double)s / d;
    a->taps = d < s ? (int)ceil(ratio) + 1 : 2;
    a->first = malloc(sizeof(int) * (size_t)d);
    a->count = malloc(sizeof(int) * (size_t)d);
    a->w = calloc((size_t)d * (size_t)a->taps, sizeof(float));
    if (!a->first || !a->count || !a->w) {
        axis_free(a);
        return -1;
    }
    for (int j = 0; j < d; j++) {
        float *w = a->w + (size_t)j * a->taps;
        if (d < s) {
            /* j * s is exact, so integer bounds stay exact after the division */
            double lo = (double)j * s / d, hi = (double)(j + 1) * s / d;
            int i0 = (int)floor(lo), i1 = (int)ceil(hi);
            if (i1 > s)
                i1 = s;
            if (i1 - i0 > a->taps) /* cannot happen; keeps the writes in bounds */
                i1 = i0 + a->taps;
            a->first[j] = i0;
            a->count[j] = i1 - i0;
            for (int i = i0; i < i1; i++) {
                double ov = fmin(hi, i + 1.0) - fmax(lo, (double)i);
                w[i - i0] = (float)(ov > 0 ? ov / ratio : 0.0);
            }
        } else if (d > s) {
            double x = (j + 0.5) * ratio - 0.5;
            if (x < 0)
                x = 0;
            if (x > s - 1)
                x = s - 1;
            int i0 = (int)floor(x);
            double f = x - i0;
            a->first[j] = i0;
            if (i0 + 1 < s) {
                a->count[j] = 2;
                w[0] = (float)(1.0 - f);
                w[1] = (float)f;
            } else {
                a->count[j] = 1;
                w[0] = 1.0f;
            }
        } else {
            a->first[j] = j;
            a->count[j] = 1;
            w[0] = 1.0f;
        }
    }
    return 0;
}

int ferc_image_resize(const ferc_image *src, ferc_image *dst, int w, int h, ferc_err *e)
{
    memset(dst, 0, sizeof *dst);
    if (!src->px || src->w < 1 || src->h < 1 || (src->c != 1 && src->c != 3))
        return ferc_errf(e, "resize: invalid source image");
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
        return ferc_errf(e, "resize: invalid size %dx%d", w, h);
    const int c = src->c, sw = src->w, sh = src->h;
    uint8_t *out = malloc((size_t)w * h * c);
    if (!out)
        return ferc_errf(e, "resize: out of memory");
    if (w == sw && h == sh) {
        memcpy(out, src->px, (size_t)w * h * c);
    } else {
        axis_weights ax = {0}, ay = {0};
        float *tmp = malloc(sizeof(float) * (size_t)sh * w * c); /* (sh, w, c) */
        if (!tmp || axis_init(&ax, sw, w) || axis_init(&ay, sh, h)) {
            free(tmp);
            free(out);
            axis_free(&ax);
            axis_free(&ay);
            return ferc_errf(e, "resize: out of memory");
        }
        /* horizontal pass: (sh, sw, c) -> (sh, w, c) */
        for (int y = 0; y < sh; y++)
            for (int j = 0; j < w; j++) {
                const float *wt = ax.w + (size_t)j * ax.taps;
                const uint8_t *s = src->px + ((size_t)y * sw + ax.first[j]) * c;
                for (int ch = 0; ch < c; ch++) {
                    float acc = 0;
                    for (int t = 0; t < ax.count[j]; t++)
                        acc += wt[t] * s[t * c + ch];
                    tmp[((size_t)y * w + j) * c + ch] = acc;
                }
            }
        /* vertical pass: (sh, w, c) -> (h, w, c), rounded and clamped */
        for (int i = 0; i < h; i++) {
            const float *wt = ay.w + (size_t)i * ay.taps;
            for (int k = 0; k < w * c; k++) {
                float acc = 0;
                for (int t = 0; t < ay.count[i]; t++)
                    acc += wt[t] * tmp[(size_t)(ay.first[i] + t) * w * c + k];
                long v = lroundf(acc);
                out[(size_t)i * w * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        free(tmp);
        axis_free(&ax);
        axis_free(&ay);
    }
    dst->w = w;
    dst->h = h;
    dst->c = c;
    dst->px = out;
    return 0;
}

/* ---------------------------------------------------------------- writing */

static int check_write_args(const char *path, const uint8_t *px, int w, int h, int c, ferc_err *e)
{
    if (!px || w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || (c != 1 && c != 3))
        return ferc_errf(e, "%s: cannot write a %dx%dx%d image", path, w, h, c);
    return 0;
}

/* "<path>.tmp", malloc'ed. */
static char *tmp_name(const char *path)
{
    size_t n = strlen(path);
    char *t = malloc(n + 5);
    if (t) {
        memcpy(t, path, n);
        memcpy(t + n, ".tmp", 5);
    }
    return t;
}

/* Closes f and moves tmp to path; removes tmp on any failure. */
static int finish_write(FILE *f, const char *tmp, const char *path, ferc_err *e)
{
    int bad = ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        int er = errno;
        remove(tmp);
        return ferc_errf(e, "%s: write failed: %s", tmp, strerror(er));
    }
    if (rename(tmp, path) != 0) {
        int er = errno;
        remove(tmp);
        return ferc_errf(e, "%s: cannot rename %s: %s", path, tmp, strerror(er));
    }
    return 0;
}

typedef struct {
    char msg[PNG_MSG];
    png_bytep *rows;
} png_wctx;

int ferc_png_write(const char *path, const uint8_t *px, int w, int h, int c, ferc_err *e)
{
    if (check_write_args(path, px, w, h, c, e))
        return -1;
    char *tmp = tmp_name(path);
    if (!tmp)
        return ferc_errf(e, "%s: out of memory", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int er = errno;
        free(tmp);
        return ferc_errf(e, "%s: cannot create: %s", path, strerror(er));
    }
    png_wctx x;
    memset(&x, 0, sizeof x);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, x.msg, png_err_cb, png_warn_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        remove(tmp);
        free(tmp);
        return ferc_errf(e, "%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(x.rows);
        fclose(f);
        remove(tmp);
        free(tmp);
        return ferc_errf(e, "%s: PNG write failed: %s", path, x.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    x.rows = malloc(sizeof *x.rows * (size_t)h);
    if (!x.rows)
        png_error(png, "out of memory");
    for (int y = 0; y < h; y++)
        x.rows[y] = (png_bytep)(uintptr_t)(px + (size_t)y * w * c);
    png_set_rows(png, info, x.rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(x.rows);
    int r = finish_write(f, tmp, path, e);
    free(tmp);
    return r;
}

/* Destination manager that grows a malloc'ed buffer (the libjpeg-turbo
 * jpeg_mem_dest loses track of its buffer when a longjmp aborts it). */
typedef struct {
    struct jpeg_destination_mgr pub;    /* must be first: libjpeg passes &pub */
    uint8_t *buf;
    size_t cap;
} jpeg_dest;

static void jdest_init(j_compress_ptr ci)
{
    jpeg_dest *d = (jpeg_dest *)ci->dest;
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

/* Called when the buffer is full (free_in_buffer is ignored: all of it is). */
static boolean jdest_empty(j_compress_ptr ci)
{
    jpeg_dest *d = (jpeg_dest *)ci->dest;
    size_t ncap = d->cap * 2;
    uint8_t *b = ncap > d->cap ? realloc(d->buf, ncap) : NULL;
    if (!b)
        ERREXIT1(ci, JERR_OUT_OF_MEMORY, 10);
    d->buf = b;
    d->pub.next_output_byte = b + d->cap;
    d->pub.free_in_buffer = ncap - d->cap;
    d->cap = ncap;
    return TRUE;
}

static void jdest_term(j_compress_ptr ci) { (void)ci; }

int ferc_jpeg_encode(const uint8_t *px, int w, int h, int c, int quality, uint8_t **out,
                     size_t *n, ferc_err *e)
{
    if (!out || !n)
        return ferc_errf(e, "ferc_jpeg_encode: NULL output argument");
    *out = NULL;
    *n = 0;
    if (check_write_args("JPEG encode", px, w, h, c, e))
        return -1;
    if (quality < 1 || quality > 100)
        return ferc_errf(e, "JPEG encode: quality %d is not in 1..100", quality);
    struct jpeg_compress_struct ci;
    jpeg_ctx x;
    jpeg_dest d;
    memset(&x, 0, sizeof x);
    memset(&ci, 0, sizeof ci);
    memset(&d, 0, sizeof d);
    /* A first guess that fits most frames at quality <= 90 in one piece. */
    d.cap = (size_t)w * (size_t)h * (size_t)c / 4 + 1024;
    d.buf = malloc(d.cap);
    if (!d.buf)
        return ferc_errf(e, "JPEG encode: out of memory for a %dx%d image", w, h);
    d.pub.init_destination = jdest_init;
    d.pub.empty_output_buffer = jdest_empty;
    d.pub.term_destination = jdest_term;
    ci.err = jpeg_std_error(&x.pub);
    x.pub.error_exit = jpeg_error_exit_cb;
    x.pub.emit_message = jpeg_emit_cb;
    x.pub.output_message = jpeg_output_cb;
    if (setjmp(x.jmp)) {
        jpeg_destroy_compress(&ci);
        free(d.buf);
        return ferc_errf(e, "JPEG encode failed: %s", x.msg);
    }
    jpeg_create_compress(&ci);
    ci.dest = &d.pub;
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    *n = d.cap - d.pub.free_in_buffer;
    jpeg_destroy_compress(&ci);
    *out = d.buf;
    return 0;
}

int ferc_jpeg_write(const char *path, const uint8_t *px, int w, int h, int c, int quality,
                    ferc_err *e)
{
    if (check_write_args(path, px, w, h, c, e))
        return -1;
    if (quality < 1 || quality > 100)
        return ferc_errf(e, "%s: JPEG quality %d is not in 1..100", path, quality);
    uint8_t *jpg;
    size_t n;
    ferc_err sub;
    if (ferc_jpeg_encode(px, w, h, c, quality, &jpg, &n, &sub))
        return ferc_errf(e, "%s: %s", path, sub.msg);
    char *tmp = tmp_name(path);
    if (!tmp) {
        free(jpg);
        return ferc_errf(e, "%s: out of memory", path);
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int er = errno;
        free(jpg);
        free(tmp);
        return ferc_errf(e, "%s: cannot create: %s", path, strerror(er));
    }
    fwrite(jpg, 1, n, f);
    free(jpg);
    int r = finish_write(f, tmp, path, e);
    free(tmp);
    return r;
}
