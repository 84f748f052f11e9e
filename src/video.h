/* video.h: frame sources for the demo: recorded video (Motion-JPEG AVI and
 * YUV4MPEG2 files, video.c) and Video4Linux2 cameras (v4l2.c), behind one
 * handle that yields 8-bit RGB (c = 3) or gray (c = 1) ferc_images.
 *
 *   ferc_err e;
 *   ferc_video *v = ferc_video_open("clip.avi", &e);     // or ferc_camera_open("0", 0, 0, NULL, &e)
 *   ferc_image im = {0};
 *   int r;
 *   while ((r = ferc_video_read(v, &im, 3, &e)) == 1) { ... im.w x im.h x 3 ... }
 *   if (r < 0) fprintf(stderr, "%s\n", e.msg);        // names the file or device
 *   ferc_image_free(&im);
 *   ferc_video_close(v);
 *
 * Library code never prints: every failure fills the ferc_err with a message
 * that starts with the file or device name. A handle is used by one thread at
 * a time (a camera handle owns a capture thread of its own, internally). */
#ifndef FERC_VIDEO_H
#define FERC_VIDEO_H
#include <stdint.h>
#include "err.h"
#include "image.h"

/* Limits on what a source may declare; larger is refused as corrupt/absurd. */
#define FERC_VIDEO_MAX_SIDE 16384                   /* pixels per side */
#define FERC_VIDEO_MAX_PIXELS ((long)1 << 26)       /* 64 Mpixel per frame */
#define FERC_VIDEO_MAX_CHUNK ((uint32_t)64 << 20)   /* one compressed frame, bytes */

typedef struct {
    char name[256];     /* the path or device, as opened */
    char format[64];    /* e.g. "AVI MJPG", "Y4M C420jpeg", "V4L2 YUYV", "V4L2 MJPG" */
    char device[64];    /* camera: the driver's card name; files: "" */
    int width, height;  /* frame size (cameras: what the driver granted) */
    double fps;         /* nominal frame rate; 0 when the source does not say */
    long nframes;       /* frames per the header, -1 when unknown (cameras, pipes) */
    /* Updated by every successful ferc_video_read: */
    long frame;         /* 0-based index of the frame last returned, -1 before any */
    double time;        /* its time in seconds: frame / fps for files (0 if fps
                         * unknown); capture timestamp relative to the first
                         * frame for cameras */
    long dropped;       /* cameras: frames captured but never returned because a
                         * newer one arrived first (newest-frame policy) */
} ferc_video_info;

typedef struct ferc_video ferc_video;

/* Opens a recorded video, detected by signature (not extension): a RIFF AVI
 * whose video stream is Motion-JPEG ('MJPG'/'JPEG', including OpenDML 'AVIX'
 * extensions), or YUV4MPEG2 (C420jpeg, C420paldv, C420mpeg2, C420, C422,
 * C411, C444, C444alpha, Cmono; 8-bit only; XCOLORRANGE=FULL honoured, else
 * BT.601 limited range). Y4M may come from a pipe; AVI needs a regular file.
 * Errors: "<path>: cannot open: ...", "<path>: empty file", "<path>: not an
 * AVI or Y4M file", "<path>: unsupported video codec 'H264' ...", "<path>:
 * bad Y4M header: ...", "<path>: frame size 0x480 out of range", ... */
ferc_video *ferc_video_open(const char *path, ferc_err *e);

/* Opens a V4L2 camera: dev is "/dev/videoN" or just "N". width/height: the
 * requested size (0, 0 = 640x480); the driver may grant another, which info
 * reports. format: NULL or "auto" (YUYV up to 640x480, MJPG above, else
 * whichever the camera has), "yuyv" or "mjpg". Starts a capture thread that
 * keeps a small ring of the newest frames. Errors name the device and list the
 * devices that do exist: no such device, busy (EBUSY), permission, not a V4L2
 * capture device, no YUYV/MJPG format. Implemented in v4l2.c. */
ferc_video *ferc_camera_open(const char *dev, int width, int height, const char *format,
                             ferc_err *e);

/* Lists /dev/video* with, for each capture device, its card name, formats
 * (VIDIOC_ENUM_FMT) and frame sizes (VIDIOC_ENUM_FRAMESIZES, with frame rates
 * of discrete sizes). *report is a malloc'ed multi-line text the caller frees
 * ("no video devices (/dev/video* absent)\n" when there are none). Returns
 * the number of capture-capable devices, or -1 on error (out of memory). */
int ferc_camera_list(char **report, ferc_err *e);

/* Describes one device the way ferc_camera_list does (dev as for
 * ferc_camera_open). Returns 1 for a capture device, 0 for another V4L2 node,
 * -1 on error (no such device, not V4L2; the message names it). */
int ferc_camera_describe(const char *dev, char **report, ferc_err *e);

/* Reads the next frame into *im as c = 3 (RGB) or c = 1 (gray, the source's
 * luma scaled to full range). *im must be zeroed or hold an image from an
 * earlier call (its buffer is reused or freed). Returns 1 with a frame, 0 at
 * the end of a file (never for cameras), -1 on error; after an error every
 * later call fails with the same message. Files: a frame cut short by the end
 * of the file is an error ("truncated"), not a silent end. Cameras: blocks
 * until a frame newer than the last one returned arrives (at most a few
 * seconds, then "no frames"); an unplugged camera is an error naming it. */
int ferc_video_read(ferc_video *v, ferc_image *im, int c, ferc_err *e);

const ferc_video_info *ferc_video_get_info(const ferc_video *v);

/* Stops capture (cameras), closes and frees. NULL is allowed. */
void ferc_video_close(ferc_video *v);

/* ------------------------------------------------------------ conversions
 * BT.601 YCbCr to 8-bit RGB, in 16-bit fixed point, rounded and clamped:
 *   full range (JPEG):  R = Y + 1.402 V', G = Y - 0.344136 U' - 0.714136 V',
 *                       B = Y + 1.772 U'                (U' = U-128, V' = V-128)
 *   limited (video):    Y' = 255/219 (Y-16), chroma scaled by 255/224, same matrix.
 * One row of w pixels: luma sample x is y[x*ystep]; its chroma samples are
 * u[(x >> cshift)*cstep] and v[...] (planar 4:2:0/4:2:2: ystep 1, cstep 1,
 * cshift 1; 4:4:4: cshift 0; packed YUYV: y = p, u = p+1, v = p+3, ystep 2,
 * cstep 4, cshift 1). Chroma is replicated, not interpolated. */
void ferc_yuv_row_to_rgb(uint8_t *rgb, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                         int w, int ystep, int cstep, int cshift, int full_range);
/* Luma row to gray: full range copies, limited range maps 16..235 to 0..255. */
void ferc_y_row_to_gray(uint8_t *gray, const uint8_t *y, int w, int ystep, int full_range);

/* ------------------------------------------------ backend interface
 * For video.c and v4l2.c only. A backend allocates a struct whose first
 * member is a ferc_video, fills info and the two functions. read() returns
 * 1/0/-1 as ferc_video_read, with c already checked to be 1 or 3. */
struct ferc_video {
    ferc_video_info info;
    int (*read)(ferc_video *v, ferc_image *im, int c, ferc_err *e);
    void (*close)(ferc_video *v);          /* frees everything, v included */
    int failed;                            /* sticky error: err holds it */
    ferc_err err;
};

/* Reads the frame size from a JPEG's SOF marker without decoding, so a
 * corrupt frame claiming a huge size is refused before any allocation.
 * Returns 0 with *w, *h set, -1 if no SOF precedes the scan data. */
int ferc_jpeg_size(const uint8_t *d, size_t n, int *w, int *h);

/* Makes *im a w x h x c image, reusing its buffer when the size matches. */
int ferc_video_image_ensure(ferc_image *im, int w, int h, int c, const char *name, ferc_err *e);

#endif
