/* image.h: 8-bit grayscale images: PNG (libpng) and JPEG (libjpeg-turbo)
 * decoding from files or memory, bilinear/area resizing, PNG and JPEG writing. */
#ifndef FERC_IMAGE_H
#define FERC_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef struct {
    int w, h, c;        /* c = 1 (gray) or 3 (RGB) */
    uint8_t *px;        /* h*w*c bytes, row-major, interleaved */
} ferc_image;

/* Decodes a PNG or JPEG (detected by signature, not extension) to grayscale
 * (c = 1; colour converted with ITU-R 601 luma, alpha dropped, 16-bit reduced).
 * Corrupt, truncated or unsupported data is an error naming the file
 * ("<name>: truncated PNG", "<name>: corrupt JPEG: ...", "<name>: empty file",
 * "<name>: not a PNG or JPEG file", "<name>: cannot open: ..."); images over
 * 16384 pixels per side are refused. On error *im is zeroed. */
int ferc_image_load(ferc_image *im, const char *path, ferc_err *e);
/* Same as ferc_image_load, but keeps colour as RGB (c = 3; gray is expanded). */
int ferc_image_load_rgb(ferc_image *im, const char *path, ferc_err *e);
int ferc_image_load_mem(ferc_image *im, const void *data, size_t n, const char *name, ferc_err *e);
/* Same, but keeps colour as RGB (c = 3; gray is expanded). */
int ferc_image_load_rgb_mem(ferc_image *im, const void *data, size_t n, const char *name, ferc_err *e);
void ferc_image_free(ferc_image *im);
/* Resizes src to w x h (area averaging when shrinking, bilinear when enlarging;
 * each axis separately). dst is allocated here and must not be src. */
int ferc_image_resize(const ferc_image *src, ferc_image *dst, int w, int h, ferc_err *e);
/* Writes an 8-bit PNG, c = 1 (gray) or 3 (RGB). Temporary file + rename. */
int ferc_png_write(const char *path, const uint8_t *px, int w, int h, int c, ferc_err *e);
/* Encodes a baseline JPEG (quality 1..100, 4:2:0 chroma for c = 3) of an
 * 8-bit image, c = 1 or 3, in memory: *out is malloc'ed (the caller frees
 * it), *n its length. On error *out is NULL and *n 0. */
int ferc_jpeg_encode(const uint8_t *px, int w, int h, int c, int quality, uint8_t **out,
                     size_t *n, ferc_err *e);
/* Writes a baseline JPEG (quality 1..100), c = 1 or 3. Temporary file + rename. */
int ferc_jpeg_write(const char *path, const uint8_t *px, int w, int h, int c, int quality, ferc_err *e);

#endif
