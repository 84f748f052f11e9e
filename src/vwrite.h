/* vwrite.h: writing RGB frames to a video file (the demo's --output), in a
 * format that ferc_video_open (video.h) and common players read back:
 *
 *   ".avi"  Motion-JPEG AVI 1.0 (libjpeg-turbo, quality 85, 4:2:0), one video
 *           stream '00dc', with an idx1 index; at most 2 GiB per file.
 *   ".y4m"  YUV4MPEG2 C420jpeg XCOLORRANGE=FULL (BT.601 full-range YCbCr,
 *           chroma averaged over 2x2 blocks; odd sizes round the chroma
 *           planes up); uncompressed, no size limit.
 *
 * The extension (case-insensitive) picks the format. Frames go to
 * "<path>.tmp", which a successful ferc_vwriter_close renames to path; a
 * failed one removes it, so path never holds a half-written file.
 *
 *   ferc_err e;
 *   ferc_vwriter *v = ferc_vwriter_open("out.avi", w, h, 30.0, &e);
 *   if (!v) ...;                                  // e.msg names the file
 *   for (...) if (ferc_vwriter_write(v, rgb, &e)) break;
 *   if (ferc_vwriter_close(v, &e)) ...;            // writes the headers, renames
 *
 * Library code: errors fill the ferc_err (every message starts with the path)
 * and return -1/NULL; nothing is printed. One thread at a time per writer. */
#ifndef FERC_VWRITE_H
#define FERC_VWRITE_H
#include <stdint.h>
#include "err.h"

/* Largest AVI written (RIFF sizes are 32-bit; many readers take them as
 * signed): a frame that would push the file past this is refused. */
#define FERC_VWRITE_AVI_MAX ((uint64_t)0x7fffffff)
#define FERC_VWRITE_JPEG_QUALITY 85

typedef struct ferc_vwriter ferc_vwriter;

/* Creates "<path>.tmp" for w x h frames (1..FERC_VIDEO_MAX_SIDE per side, at
 * most FERC_VIDEO_MAX_PIXELS) at fps frames per second (0 < fps <= 1000;
 * stored as a rational: n/1, n*1000/1001 or round(fps*1000)/1000).
 * Errors: "<path>: unsupported output format '.mp4' (supported: .avi =
 * Motion-JPEG AVI, .y4m = YUV4MPEG2)", "<path>: cannot create <path>.tmp:
 * <strerror>", bad size or fps. */
ferc_vwriter *ferc_vwriter_open(const char *path, int w, int h, double fps, ferc_err *e);

/* Appends one frame: rgb is h rows of w*3 bytes (interleaved 8-bit RGB).
 * Returns 0, or -1 on error. An I/O error is sticky: every later write fails
 * with it and close removes the file. A frame refused before any of it is
 * written (JPEG encoding out of memory, the AVI reaching FERC_VWRITE_AVI_MAX)
 * is not: close still finishes a valid file with the frames before it. */
int ferc_vwriter_write(ferc_vwriter *v, const uint8_t *rgb, ferc_err *e);

/* Frames written so far (0 for NULL). */
long ferc_vwriter_count(const ferc_vwriter *v);

/* Finishes the file (AVI: RIFF and movi sizes, avih/strh frame counts and
 * buffer sizes, the idx1 index), closes it, renames "<path>.tmp" to path
 * and frees v. Returns 0, or -1 after an earlier sticky error or an I/O
 * error now (the tmp file is then removed; v is freed either way). NULL is
 * allowed (returns 0). */
int ferc_vwriter_close(ferc_vwriter *v, ferc_err *e);

#endif
