/* test_image.c: PNG/JPEG decoding of every colour type and bit depth (files
 * written here with libpng/libjpeg directly), corrupt and truncated files,
 * resizing, writing, and one real CK+ PNG and FER2013 JPEG when present. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <jpeglib.h> /* needs stdio.h first */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image.h"
#include "test.h"
#include "tutil.h"

/* Writes a PNG with libpng: rows is h rows of packed data in the given
 * format. palette/trans are used for PNG_COLOR_TYPE_PALETTE. */
static int write_png_raw(const char *path, int w, int h, int depth, int ctype, int interlace,
                         const uint8_t *data, size_t stride, const png_color *pal, int npal,
                         const uint8_t *trans, int ntrans)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, npal);
    if (trans)
        png_set_tRNS(png, info, trans, ntrans, NULL);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)(uintptr_t)(data + (size_t)y * stride);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return fclose(f);
}

static int write_jpeg_raw(const char *path, int w, int h, int c, const uint8_t *px, int q)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f);
}

static uint8_t luma601(int r, int g, int b) { return (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000); }

/* Deterministic pseudo-random bytes (xorshift) for incompressible images. */
static void noise(uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (uint8_t)(s >> 24);
    }
}

enum { W = 23, H = 17 }; /* odd sizes catch stride mistakes */

static int test_png_gray8(void)
{
    char p[256];
    uint8_t px[W * H];
    noise(px, sizeof px, 1);
    for (int il = 0; il < 2; il++) {
        tpath(p, sizeof p, il ? "gray8i.png" : "gray8.png");
        CHECK(write_png_raw(p, W, H, 8, PNG_COLOR_TYPE_GRAY, il, px, W, NULL, 0, NULL, 0) == 0);
        ferc_image im;
        ferc_err e = {{0}};
        CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.w == W && im.h == H && im.c == 1);
        CHECK(im.px && memcmp(im.px, px, sizeof px) == 0);
        ferc_image_free(&im);
        /* load_rgb expands gray */
        CHECKF(ferc_image_load_rgb(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.c == 3);
        int ok = 1;
        for (int i = 0; i < W * H; i++)
            ok &= im.px[3 * i] == px[i] && im.px[3 * i + 1] == px[i] && im.px[3 * i + 2] == px[i];
        CHECK(ok);
        ferc_image_free(&im);
    }
    return 0;
}

static int test_png_rgb_rgba(void)
{
    char p[256];
    uint8_t rgb[W * H * 3], rgba[W * H * 4];
    noise(rgb, sizeof rgb, 2);
    noise(rgba, sizeof rgba, 3);
    ferc_err e = {{0}};
    ferc_image im;
    for (int il = 0; il < 2; il++) {
        tpath(p, sizeof p, "rgb.png");
        CHECK(write_png_raw(p, W, H, 8, PNG_COLOR_TYPE_RGB, il, rgb, W * 3, NULL, 0, NULL, 0) == 0);
        CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.w == W && im.h == H && im.c == 1);
        int ok = 1;
        for (int i = 0; i < W * H; i++)
            ok &= im.px[i] == luma601(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
        CHECK(ok);
        ferc_image_free(&im);
        CHECKF(ferc_image_load_rgb(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.c == 3 && memcmp(im.px, rgb, sizeof rgb) == 0);
        ferc_image_free(&im);

        tpath(p, sizeof p, "rgba.png");
        CHECK(write_png_raw(p, W, H, 8, PNG_COLOR_TYPE_RGBA, il, rgba, W * 4, NULL, 0, NULL, 0) == 0);
        CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.w == W && im.h == H && im.c == 1);
        ok = 1;
        for (int i = 0; i < W * H; i++) /* alpha is dropped, not composited */
            ok &= im.px[i] == luma601(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
        CHECK(ok);
        ferc_image_free(&im);
    }
    /* gray + alpha */
    uint8_t ga[W * H * 2];
    noise(ga, sizeof ga, 4);
    tpath(p, sizeof p, "ga.png");
    CHECK(write_png_raw(p, W, H, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, ga, W * 2, NULL, 0, NULL, 0) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    int ok = im.c == 1;
    for (int i = 0; ok && i < W * H; i++)
        ok &= im.px[i] == ga[2 * i];
    CHECK(ok);
    ferc_image_free(&im);
    return 0;
}

static int test_png_16bit_and_low_depth(void)
{
    char p[256];
    ferc_err e = {{0}};
    ferc_image im;
    /* 16-bit gray: value v*257 (big-endian) must come back as v exactly */
    uint8_t g8[W * H], g16[W * H * 2];
    noise(g8, sizeof g8, 5);
    for (int i = 0; i < W * H; i++)
        g16[2 * i] = g16[2 * i + 1] = g8[i];
    for (int il = 0; il < 2; il++) {
        tpath(p, sizeof p, "g16.png");
        CHECK(write_png_raw(p, W, H, 16, PNG_COLOR_TYPE_GRAY, il, g16, W * 2, NULL, 0, NULL, 0) == 0);
        CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
        CHECK(im.w == W && im.h == H && im.c == 1 && memcmp(im.px, g8, sizeof g8) == 0);
        ferc_image_free(&im);
    }
    /* 16-bit RGBA */
    uint8_t c8[W * H * 4], c16[W * H * 8];
    noise(c8, sizeof c8, 6);
    for (int i = 0; i < W * H * 4; i++)
        c16[2 * i] = c16[2 * i + 1] = c8[i];
    tpath(p, sizeof p, "rgba16.png");
    CHECK(write_png_raw(p, W, H, 16, PNG_COLOR_TYPE_RGBA, 1, c16, W * 8, NULL, 0, NULL, 0) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    int ok = im.c == 1;
    for (int i = 0; ok && i < W * H; i++)
        ok &= im.px[i] == luma601(c8[4 * i], c8[4 * i + 1], c8[4 * i + 2]);
    CHECK(ok);
    ferc_image_free(&im);
    /* 1-bit and 4-bit gray: scaled to 0..255 (1 -> 255, 4-bit v -> 17 v) */
    uint8_t b1[H][(W + 7) / 8], b4[H][(W + 1) / 2];
    memset(b1, 0, sizeof b1);
    memset(b4, 0, sizeof b4);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if ((x + y) % 3 == 0)
                b1[y][x / 8] |= (uint8_t)(0x80 >> (x % 8));
            b4[y][x / 2] |= (uint8_t)(((x + 2 * y) % 16) << (x % 2 ? 0 : 4));
        }
    tpath(p, sizeof p, "g1.png");
    CHECK(write_png_raw(p, W, H, 1, PNG_COLOR_TYPE_GRAY, 0, &b1[0][0], sizeof b1[0], NULL, 0, NULL, 0) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    ok = im.c == 1 && im.w == W;
    for (int y = 0; ok && y < H; y++)
        for (int x = 0; x < W; x++)
            ok &= im.px[y * W + x] == ((x + y) % 3 == 0 ? 255 : 0);
    CHECK(ok);
    ferc_image_free(&im);
    tpath(p, sizeof p, "g4.png");
    CHECK(write_png_raw(p, W, H, 4, PNG_COLOR_TYPE_GRAY, 1, &b4[0][0], sizeof b4[0], NULL, 0, NULL, 0) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    ok = im.c == 1 && im.w == W;
    for (int y = 0; ok && y < H; y++)
        for (int x = 0; x < W; x++)
            ok &= im.px[y * W + x] == 17 * ((x + 2 * y) % 16);
    CHECK(ok);
    ferc_image_free(&im);
    return 0;
}

static int test_png_palette(void)
{
    char p[256];
    ferc_err e = {{0}};
    ferc_image im;
    png_color pal[16];
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)(i * 16);
        pal[i].green = (png_byte)(255 - i * 13);
        pal[i].blue = (png_byte)(i * 7 + 3);
    }
    uint8_t trans[16];
    for (int i = 0; i < 16; i++)
        trans[i] = (uint8_t)(i * 17);
    uint8_t idx8[W * H], idx4[H][(W + 1) / 2];
    memset(idx4, 0, sizeof idx4);
    for (int i = 0; i < W * H; i++)
        idx8[i] = (uint8_t)((i * 7) % 16);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            idx4[y][x / 2] |= (uint8_t)(idx8[y * W + x] << (x % 2 ? 0 : 4));
    for (int v = 0; v < 3; v++) {
        tpath(p, sizeof p, "pal.png");
        if (v == 0) /* 8-bit palette */
            CHECK(write_png_raw(p, W, H, 8, PNG_COLOR_TYPE_PALETTE, 0, idx8, W, pal, 16, NULL, 0) == 0);
        else if (v == 1) /* 4-bit palette with transparency, interlaced */
            CHECK(write_png_raw(p, W, H, 4, PNG_COLOR_TYPE_PALETTE, 1, &idx4[0][0], sizeof idx4[0],
                                pal, 16, trans, 16) == 0);
        else
            CHECK(write_png_raw(p, W, H, 4, PNG_COLOR_TYPE_PALETTE, 0, &idx4[0][0], sizeof idx4[0],
                                pal, 16, NULL, 0) == 0);
        CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
        int ok = im.w == W && im.h == H && im.c == 1;
        for (int i = 0; ok && i < W * H; i++) {
            const png_color *c = &pal[idx8[i]];
            ok &= im.px[i] == luma601(c->red, c->green, c->blue);
        }
        CHECKF(ok, "palette variant %d", v);
        ferc_image_free(&im);
        CHECKF(ferc_image_load_rgb(&im, p, &e) == 0, "%s", e.msg);
        ok = im.c == 3;
        for (int i = 0; ok && i < W * H; i++) {
            const png_color *c = &pal[idx8[i]];
            ok &= im.px[3 * i] == c->red && im.px[3 * i + 1] == c->green && im.px[3 * i + 2] == c->blue;
        }
        CHECKF(ok, "palette rgb variant %d", v);
        ferc_image_free(&im);
    }
    return 0;
}

/* Smooth test pattern, JPEG-friendly. */
static void smooth(uint8_t *px, int w, int h, int c)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[(y * w + x) * c + k] = (uint8_t)(20 + x + y + 30 * k); /* <= 208 for 64x64 */
}

static int test_jpeg(void)
{
    enum { JW = 40, JH = 32 };
    char p[256];
    ferc_err e = {{0}};
    ferc_image im;
    uint8_t g[JW * JH], rgb[JW * JH * 3];
    smooth(g, JW, JH, 1);
    smooth(rgb, JW, JH, 3);
    tpath(p, sizeof p, "gray.jpg");
    CHECK(write_jpeg_raw(p, JW, JH, 1, g, 95) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    CHECK(im.w == JW && im.h == JH && im.c == 1);
    int maxd = 0;
    for (int i = 0; im.px && i < JW * JH; i++)
        maxd = abs(im.px[i] - g[i]) > maxd ? abs(im.px[i] - g[i]) : maxd;
    CHECKF(maxd <= 6, "gray JPEG max diff %d", maxd);
    ferc_image_free(&im);

    tpath(p, sizeof p, "rgb.jpeg");
    CHECK(write_jpeg_raw(p, JW, JH, 3, rgb, 95) == 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    CHECK(im.w == JW && im.h == JH && im.c == 1);
    maxd = 0;
    for (int i = 0; im.px && i < JW * JH; i++) {
        int d = abs(im.px[i] - luma601(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        maxd = d > maxd ? d : maxd;
    }
    CHECKF(maxd <= 6, "colour JPEG luma max diff %d", maxd);
    ferc_image_free(&im);
    CHECKF(ferc_image_load_rgb(&im, p, &e) == 0, "%s", e.msg);
    CHECK(im.c == 3);
    maxd = 0;
    for (int i = 0; im.px && i < JW * JH * 3; i++)
        maxd = abs(im.px[i] - rgb[i]) > maxd ? abs(im.px[i] - rgb[i]) : maxd;
    CHECKF(maxd <= 12, "colour JPEG rgb max diff %d", maxd);
    ferc_image_free(&im);

    /* from memory */
    size_t n;
    uint8_t *b = read_all(p, &n);
    CHECK(b != NULL);
    CHECKF(ferc_image_load_mem(&im, b, n, "mem.jpg", &e) == 0, "%s", e.msg);
    CHECK(im.w == JW && im.h == JH && im.c == 1);
    ferc_image_free(&im);
    free(b);
    return 0;
}

static int test_write_roundtrip(void)
{
    char p[256], t[300];
    ferc_err e = {{0}};
    ferc_image im;
    uint8_t g[W * H], rgb[W * H * 3];
    noise(g, sizeof g, 7);
    noise(rgb, sizeof rgb, 8);
    tpath(p, sizeof p, "w_gray.png");
    CHECKF(ferc_png_write(p, g, W, H, 1, &e) == 0, "%s", e.msg);
    snprintf(t, sizeof t, "%s.tmp", p);
    CHECK(access(t, F_OK) != 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    CHECK(im.w == W && im.h == H && memcmp(im.px, g, sizeof g) == 0);
    ferc_image_free(&im);
    tpath(p, sizeof p, "w_rgb.png");
    CHECKF(ferc_png_write(p, rgb, W, H, 3, &e) == 0, "%s", e.msg);
    CHECKF(ferc_image_load_rgb(&im, p, &e) == 0, "%s", e.msg);
    CHECK(im.c == 3 && memcmp(im.px, rgb, sizeof rgb) == 0);
    ferc_image_free(&im);

    uint8_t s[48 * 48];
    smooth(s, 48, 48, 1);
    tpath(p, sizeof p, "w.jpg");
    CHECKF(ferc_jpeg_write(p, s, 48, 48, 1, 95, &e) == 0, "%s", e.msg);
    snprintf(t, sizeof t, "%s.tmp", p);
    CHECK(access(t, F_OK) != 0);
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    int maxd = 0;
    for (int i = 0; im.px && i < 48 * 48; i++)
        maxd = abs(im.px[i] - s[i]) > maxd ? abs(im.px[i] - s[i]) : maxd;
    CHECKF(im.w == 48 && maxd <= 6, "max diff %d", maxd);
    ferc_image_free(&im);
    /* bad arguments and unwritable paths are errors, not crashes */
    CHECK(ferc_jpeg_write(p, s, 48, 48, 1, 0, &e) == -1);
    CHECK(ferc_png_write(p, s, 48, 48, 2, &e) == -1);
    CHECK(ferc_png_write("/nonexistent-dir/x.png", s, 48, 48, 1, &e) == -1);
    CHECK(strstr(e.msg, "/nonexistent-dir/x.png") != NULL);
    return 0;
}

/* Offset of the first chunk of the given type in a PNG buffer, or -1. */
static long png_chunk(const uint8_t *b, size_t n, const char *type, uint32_t *len)
{
    size_t off = 8;
    while (off + 8 <= n) {
        uint32_t l = (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 | (uint32_t)b[off + 2] << 8 | b[off + 3];
        if (memcmp(b + off + 4, type, 4) == 0) {
            *len = l;
            return (long)off;
        }
        off += 12 + l;
    }
    return -1;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Loads path, expects failure with the path and `what` in the message. */
static void expect_fail(const char *path, const char *what, int line)
{
    ferc_image im;
    ferc_err e = {{0}};
    int r = ferc_image_load(&im, path, &e);
    CHECKF(r == -1, "line %d: load of %s succeeded", line, path);
    CHECKF(strstr(e.msg, path) != NULL, "line %d: message lacks path: %s", line, e.msg);
    CHECKF(strstr(e.msg, what) != NULL, "line %d: message lacks '%s': %s", line, what, e.msg);
    CHECKF(im.px == NULL && im.w == 0, "line %d: image not zeroed", line);
    printf("  expected error: %s\n", e.msg);
    if (r == 0)
        ferc_image_free(&im);
}

static int test_corrupt(void)
{
    char p[256], q[256];
    enum { N = 64 };
    uint8_t px[N * N];
    noise(px, sizeof px, 9);
    tpath(p, sizeof p, "noise.png");
    CHECK(write_png_raw(p, N, N, 8, PNG_COLOR_TYPE_GRAY, 0, px, N, NULL, 0, NULL, 0) == 0);
    size_t n;
    uint8_t *b = read_all(p, &n);
    uint32_t len = 0;
    long idat = png_chunk(b, n, "IDAT", &len);
    CHECK(idat > 0 && len > 1000);

    /* cut in the middle of IDAT */
    tpath(q, sizeof q, "trunc.png");
    write_all(q, b, (size_t)idat + 8 + len / 2);
    expect_fail(q, "truncated PNG", __LINE__);
    /* cut just after the signature, and inside IHDR */
    write_all(q, b, 8);
    expect_fail(q, "truncated PNG", __LINE__);
    write_all(q, b, 20);
    expect_fail(q, "truncated PNG", __LINE__);

    /* flipped bytes in IDAT: CRC error */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    for (int i = 0; i < 8; i++)
        c[idat + 8 + len / 2 + i] ^= 0x5a;
    tpath(q, sizeof q, "crc.png");
    write_all(q, c, n);
    expect_fail(q, "corrupt PNG", __LINE__); /* zlib/filter damage or the CRC, whichever comes first */
    /* same with the CRC fixed: zlib reports the damage */
    uint32_t crc = crc32_png(c + idat + 4, len + 4);
    uint8_t *cp = c + idat + 8 + len;
    cp[0] = (uint8_t)(crc >> 24), cp[1] = (uint8_t)(crc >> 16), cp[2] = (uint8_t)(crc >> 8), cp[3] = (uint8_t)crc;
    tpath(q, sizeof q, "zlib.png");
    write_all(q, c, n);
    expect_fail(q, "corrupt PNG", __LINE__);
    /* intact pixels but a wrong zlib checksum (last 4 bytes of the stream), CRC fixed */
    memcpy(c, b, n);
    c[idat + 8 + len - 1] ^= 0x01;
    crc = crc32_png(c + idat + 4, len + 4);
    cp[0] = (uint8_t)(crc >> 24), cp[1] = (uint8_t)(crc >> 16), cp[2] = (uint8_t)(crc >> 8), cp[3] = (uint8_t)crc;
    tpath(q, sizeof q, "adler.png");
    write_all(q, c, n);
    expect_fail(q, "corrupt PNG", __LINE__);
    free(c);
    free(b);

    /* JPEG cut in half */
    uint8_t s[64 * 64];
    smooth(s, 64, 64, 1);
    tpath(p, sizeof p, "ok.jpg");
    CHECK(write_jpeg_raw(p, 64, 64, 1, s, 90) == 0);
    b = read_all(p, &n);
    tpath(q, sizeof q, "trunc.jpg");
    write_all(q, b, n / 2);
    expect_fail(q, "truncated JPEG", __LINE__);
    write_all(q, b, 4); /* only SOI and part of a marker */
    expect_fail(q, "JPEG", __LINE__);
    free(b);

    /* garbage with a .png name, empty file, missing file, a directory */
    tpath(q, sizeof q, "garbage.png");
    write_all(q, "this is not an image at all\n", 28);
    expect_fail(q, "not a PNG or JPEG", __LINE__);
    tpath(q, sizeof q, "empty.png");
    write_all(q, "", 0);
    expect_fail(q, "empty", __LINE__);
    tpath(q, sizeof q, "missing.png");
    expect_fail(q, "cannot open", __LINE__);
    expect_fail(tdir, tdir, __LINE__);

    /* absurd dimensions are refused before allocating */
    static uint8_t wide[20000];
    tpath(q, sizeof q, "wide.png");
    CHECK(write_png_raw(q, 20000, 1, 8, PNG_COLOR_TYPE_GRAY, 0, wide, sizeof wide, NULL, 0, NULL, 0) == 0);
    expect_fail(q, "too large", __LINE__);

    /* memory variants name the given name */
    ferc_image im;
    ferc_err e = {{0}};
    CHECK(ferc_image_load_mem(&im, "xx", 2, "buf.png", &e) == -1 && strstr(e.msg, "buf.png"));
    return 0;
}

static int test_resize(void)
{
    ferc_err e = {{0}};
    ferc_image src = {0}, dst = {0};
    /* constant stays constant, up and down, integer and fractional ratios */
    const int sizes[][4] = {{48, 48, 24, 24}, {48, 48, 37, 37}, {30, 30, 48, 48}, {100, 50, 48, 48},
                            {7, 5, 48, 13}, {640, 480, 48, 48}, {1, 1, 3, 3}, {5, 3, 1, 1}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        for (int c = 1; c <= 3; c += 2) {
            src.w = sizes[t][0], src.h = sizes[t][1], src.c = c;
            src.px = malloc((size_t)src.w * src.h * c);
            memset(src.px, 173, (size_t)src.w * src.h * c);
            CHECKF(ferc_image_resize(&src, &dst, sizes[t][2], sizes[t][3], &e) == 0, "%s", e.msg);
            CHECK(dst.w == sizes[t][2] && dst.h == sizes[t][3] && dst.c == c);
            int ok = 1;
            for (int i = 0; i < dst.w * dst.h * c; i++)
                ok &= dst.px[i] == 173;
            CHECKF(ok, "constant not kept for case %zu", t);
            ferc_image_free(&dst);
            free(src.px);
        }
    }
    /* 2x downscale of a 1-pixel checkerboard: every output averages 0 and 255 */
    src.w = src.h = 48, src.c = 1;
    src.px = malloc(48 * 48);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            src.px[y * 48 + x] = (x + y) % 2 ? 255 : 0;
    CHECK(ferc_image_resize(&src, &dst, 24, 24, &e) == 0);
    int ok = 1;
    for (int i = 0; i < 24 * 24; i++)
        ok &= dst.px[i] == 127 || dst.px[i] == 128;
    CHECK(ok);
    ferc_image_free(&dst);
    /* 2x downscale of 2x2 blocks is exact */
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            src.px[y * 48 + x] = (uint8_t)(((x / 2) * 5 + (y / 2) * 3) % 256);
    CHECK(ferc_image_resize(&src, &dst, 24, 24, &e) == 0);
    ok = 1;
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 24; x++)
            ok &= dst.px[y * 24 + x] == (uint8_t)((x * 5 + y * 3) % 256);
    CHECK(ok);
    ferc_image_free(&dst);
    /* same size is a copy */
    CHECK(ferc_image_resize(&src, &dst, 48, 48, &e) == 0 && memcmp(dst.px, src.px, 48 * 48) == 0);
    ferc_image_free(&dst);
    free(src.px);
    /* enlarging a horizontal ramp is bilinear: the interior stays a ramp */
    src.w = 8, src.h = 2, src.c = 1;
    src.px = malloc(16);
    for (int i = 0; i < 16; i++)
        src.px[i] = (uint8_t)(20 * (i % 8));
    CHECK(ferc_image_resize(&src, &dst, 16, 4, &e) == 0);
    /* output x maps to source (x + 0.5)/2 - 0.5; x = 3 -> 1.25 -> 25 */
    CHECK(dst.px[3] == 25 && dst.px[16 + 3] == 25 && dst.px[0] == 0 && dst.px[15] == 140);
    ok = 1;
    for (int x = 1; x < 16; x++)
        ok &= dst.px[x] >= dst.px[x - 1];
    CHECK(ok);
    ferc_image_free(&dst);
    /* bad sizes */
    CHECK(ferc_image_resize(&src, &dst, 0, 4, &e) == -1);
    CHECK(ferc_image_resize(&src, &dst, 4, 20000, &e) == -1);
    free(src.px);
    return 0;
}

static int load_real(const char *dir, const char *ext)
{
    char cmd[512], p[1024];
    /* first matching file, in a stable order */
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | grep -i '%s$' | head -1", dir, ext);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 1;
    char name[512] = "";
    if (!fgets(name, sizeof name, f))
        name[0] = 0;
    pclose(f);
    name[strcspn(name, "\n")] = 0;
    if (!name[0])
        return 1;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    ferc_image im;
    ferc_err e = {{0}};
    CHECKF(ferc_image_load(&im, p, &e) == 0, "%s", e.msg);
    CHECKF(im.w == 48 && im.h == 48 && im.c == 1, "%s is %dx%dx%d", p, im.w, im.h, im.c);
    int lo = 255, hi = 0;
    for (int i = 0; im.px && i < im.w * im.h; i++) {
        lo = im.px[i] < lo ? im.px[i] : lo;
        hi = im.px[i] > hi ? im.px[i] : hi;
    }
    CHECKF(hi - lo > 50, "%s: flat image (%d..%d)", p, lo, hi);
    printf("  %s: %dx%d, pixels %d..%d\n", p, im.w, im.h, lo, hi);
    ferc_image_free(&im);
    return 0;
}

/* $FERC_DATASETS (as tests/run.sh sets it), else ../shared/datasets. */
static void data_path(char *buf, size_t n, const char *sub)
{
    const char *root = getenv("FERC_DATASETS");
    snprintf(buf, n, "%s/%s", root && *root ? root : "../shared/datasets", sub);
}

static int test_real_ck(void)
{
    char p[512];
    data_path(p, sizeof p, "CK+48/happy");
    if (load_real(p, ".png"))
        SKIP("%s not found (set FERC_DATASETS or run from the project root)", p);
    return 0;
}

static int test_real_fer(void)
{
    char p[512];
    data_path(p, sizeof p, "fer2013/test/happy");
    if (load_real(p, ".jpg"))
        SKIP("%s not found (set FERC_DATASETS or run from the project root)", p);
    return 0;
}

int main(void)
{
    tdir_make("test_image");
    RUN(test_png_gray8);
    RUN(test_png_rgb_rgba);
    RUN(test_png_16bit_and_low_depth);
    RUN(test_png_palette);
    RUN(test_jpeg);
    RUN(test_write_roundtrip);
    RUN(test_corrupt);
    RUN(test_resize);
    RUN(test_real_ck);
    RUN(test_real_fer);
    tdir_remove();
    return TEST_DONE("test_image");
}
