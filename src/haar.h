/* haar.h: ferc's Viola-Jones face detector. Reads OpenCV's cascade XML files
 * (the "opencv-cascade-classifier" format written by opencv_traincascade, as
 * in haarcascade_frontalface_default.xml from Debian's opencv-data) and finds
 * the same windows as OpenCV 4's CascadeClassifier::detectMultiScale:
 *
 *   - scales factor^k (k = 0, 1, ...) while the scaled window fits the image;
 *     only those whose window (rounded) lies within [min, max] size are used;
 *   - at each scale the image is resized to round(W/scale) x round(H/scale)
 *     with OpenCV's bit-exact bilinear interpolation (INTER_LINEAR_EXACT) and
 *     its integral and squared integral images are built;
 *   - the window (win_w x win_h, 24x24 for faces) steps by 2 pixels in x and y
 *     at scales below 2, by 1 from 2 up; after a window that the first stage
 *     rejects, the next x position is skipped (as OpenCV does);
 *   - variance normalisation over the window shrunk by 1 pixel on each side
 *     (area A = (win_w-2)(win_h-2)): nf = sqrt(A*sqsum - sum^2); windows with
 *     nf <= 0 or A/nf >= 0.1 (pixel standard deviation below about 10) are
 *     rejected; each feature value sum_i(w_i * rectsum_i) / nf is compared with
 *     its node threshold; a stage passes when the sum of the chosen leaf values
 *     reaches the stage threshold minus 1e-5;
 *   - accepted windows (x*scale, y*scale, round(win*scale)) are grouped like
 *     cv::groupRectangles(min_neighbors, eps = 0.2) and clipped to the image.
 *
 * Raw window decisions are bit-identical to OpenCV's (same integer sums, the
 * same float/double operations in the same order); tests check that.
 *
 * The evaluator runs 16 windows of a row at once (GCC/Clang vector
 * extensions; AVX-512, AVX2 or SSE code depending on -march) for cascades of
 * stumps (frontalface_default, frontalface_alt); cascades of deeper trees
 * (frontalface_alt2, frontalface_alt_tree) use the scalar evaluator. Work is
 * spread over OpenMP threads (pyramid levels, then rows of all levels);
 * results do not depend on the thread count. Tilted (45-degree) features,
 * LBP/HOG cascades, windows over 256 pixels and the old
 * "opencv-haar-classifier" format are refused with a clear error.
 *
 * The library never prints; errors come back through ferc_err. */
#ifndef FERC_HAAR_H
#define FERC_HAAR_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* Where Debian's opencv-data installs the frontal face cascade. */
#define FERC_HAAR_DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

typedef struct ferc_haar ferc_haar;         /* a loaded cascade; immutable, shareable by threads */
typedef struct ferc_haar_ws ferc_haar_ws;   /* reusable buffers for one caller at a time */

typedef struct {
    int x, y, w, h;
    int neighbors;   /* raw windows merged into this box (0 for raw windows) */
} ferc_haar_box;

typedef struct {
    double scale_factor;   /* > 1; each pyramid level is scale_factor times coarser (1.1) */
    int min_neighbors;     /* groups of min_neighbors or fewer raw windows are dropped (3);
                            * 0 returns the raw windows ungrouped, as OpenCV does */
    int min_w, min_h;      /* smallest box searched (0, 0 = the cascade window) */
    int max_w, max_h;      /* largest box searched (0, 0 = the image size) */
    int threads;           /* OpenMP threads; 0 = omp_get_max_threads() */
} ferc_haar_params;

/* scale_factor 1.1, min_neighbors 3, no size limits, threads 0. */
void ferc_haar_params_default(ferc_haar_params *p);

/* The first standard location of haarcascade_frontalface_default.xml that
 * exists (opencv4, then opencv), or NULL. */
const char *ferc_haar_default_path(void);

/* Loads a cascade. Errors name the file and, for malformed content, the line:
 * "<path>: cannot open: No such file or directory",
 * "<path>:123: malformed XML: ...", "<path>:45: stage 3: ...". */
ferc_haar *ferc_haar_load(const char *path, ferc_err *e);
/* Same from memory; name is used in messages. */
ferc_haar *ferc_haar_load_mem(const char *xml, size_t n, const char *name, ferc_err *e);
void ferc_haar_free(ferc_haar *c);
/* Window size, number of stages, weak classifiers and features, and whether
 * every weak classifier is a stump (the vectorised path). Pointers may be NULL. */
void ferc_haar_info(const ferc_haar *c, int *win_w, int *win_h, int *n_stages, int *n_weak,
                    int *n_features, int *stumps);

ferc_haar_ws *ferc_haar_ws_new(void);
void ferc_haar_ws_free(ferc_haar_ws *ws);

/* Detects objects in an 8-bit gray image px (w x h, rows `stride` bytes
 * apart). *boxes is malloc'ed here (free() it; NULL when *n == 0). ws may be
 * NULL (buffers are then allocated for this call only); a ws must not be
 * used by two calls at once. Errors: bad parameters, out of memory. */
int ferc_haar_detect(const ferc_haar *c, ferc_haar_ws *ws, const uint8_t *px, int w, int h, int stride,
                     const ferc_haar_params *p, ferc_haar_box **boxes, int *n, ferc_err *e);

/* Tracking between full scans: searches only the regions rois[n_rois]
 * (image coordinates, clipped to the image; e.g. ferc_haar_expand of the
 * previous frame's boxes). Each region is searched as an image of its own
 * with p (typically with min/max sizes around the previous box); of boxes
 * that overlap (IoU > 0.5, or similar as in grouping), as when regions
 * overlap, only the one with the most neighbours is reported. Regions smaller
 * than the cascade window are skipped. Same output and errors as
 * ferc_haar_detect. */
int ferc_haar_detect_rois(const ferc_haar *c, ferc_haar_ws *ws, const uint8_t *px, int w, int h, int stride,
                          const ferc_haar_box *rois, int n_rois, const ferc_haar_params *p,
                          ferc_haar_box **boxes, int *n, ferc_err *e);

/* The box b scaled by factor about its centre (1.5: a region for tracking),
 * clipped to a w x h image; w = h = 0 when nothing is left. */
ferc_haar_box ferc_haar_expand(ferc_haar_box b, double factor, int w, int h);

/* The raw windows before grouping, in pyramid level, row, column order; the
 * same set as OpenCV's detectMultiScale with minNeighbors = 0 (before it clips
 * them to the image). naive = 1 uses the slow scalar reference evaluator
 * (one window at a time, straight from the formulas; single-threaded). */
int ferc_haar_windows(const ferc_haar *c, ferc_haar_ws *ws, const uint8_t *px, int w, int h, int stride,
                      const ferc_haar_params *p, int naive, ferc_haar_box **boxes, int *n, ferc_err *e);

/* cv::groupRectangles(boxes, min_neighbors, eps) in place: windows are
 * partitioned into classes of similar boxes (|dx|, |dy|, |dright|, |dbottom|
 * all <= eps * (min width + min height) / 2, transitively); each class of
 * more than min_neighbors windows becomes its average box (rounded, with
 * neighbors = its size), unless it lies within eps of a bigger class that has
 * more than max(3, its own) windows. min_neighbors <= 0 leaves the list as is.
 * Returns the new count, or -1 when out of memory. */
int ferc_haar_group(ferc_haar_box *boxes, int n, int min_neighbors, double eps);

/* OpenCV's bit-exact bilinear resize (cv::resize with INTER_LINEAR_EXACT) of
 * an 8-bit gray image; dst is dw x dh with rows dw bytes apart. Used for the
 * pyramid; exposed for tests. */
void ferc_haar_resize(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst, int dw, int dh);

/* Intersection over union of two boxes (0 when either is empty). */
double ferc_haar_iou(ferc_haar_box a, ferc_haar_box b);

#endif
