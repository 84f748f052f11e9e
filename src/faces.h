/* faces.h: the recognition pipeline of ./demo (and of the web server):
 * detect faces (Viola-Jones, haar.h), crop each the way the training data was
 * cropped, classify with an exported model, and, for video, track faces and
 * smooth their probabilities (track.h).
 *
 *   ferc_faces_opts o;
 *   ferc_faces_opts_default(&o);
 *   o.model = "checkpoints/ck.h5";
 *   ferc_faces *f = ferc_faces_new(&o, &e);
 *   ferc_face *faces; int n;
 *   ferc_faces_analyze(f, &frame, 1, &faces, &n, &e);   // video: 1; stills: 0
 *
 * Crop: the detector's box scaled about its centre by opts.crop (1.0: the box
 * itself, which is how CK+48 was cropped; bench/margin.c measures it), made
 * square, clipped to the frame (the uncovered part replicates the border),
 * converted to gray, resized (area-weighted like OpenCV INTER_AREA when
 * shrinking, bilinear when enlarging) to the
 * model's input size and normalised with the model's mean and std.
 *
 * Video mode: a full detector scan runs every opts.full_scan_every frames and
 * whenever no face is tracked; other frames search only near the faces of
 * the previous frame (ferc_haar_detect_rois), which is several times cheaper.
 * The library never prints; errors come back through ferc_err. */
#ifndef FERC_FACES_H
#define FERC_FACES_H
#include "config.h"
#include "err.h"
#include "haar.h"
#include "image.h"

typedef struct {
    ferc_haar_box box;              /* in frame pixels */
    int track;                      /* track id (video mode), 0 for stills */
    int label;                      /* argmax of prob */
    float prob[FERC_MAX_CLASSES];   /* smoothed (video) or raw (stills) probabilities */
    float raw[FERC_MAX_CLASSES];    /* this frame's own probabilities */
} ferc_face;

/* Milliseconds spent in the last ferc_faces_analyze call, by stage. */
typedef struct {
    double detect;                  /* gray conversion + detector */
    double classify;                /* crop + resize + network */
    double track;                   /* tracking + smoothing */
    int full_scan;                  /* 1 if the detector scanned the whole frame */
} ferc_faces_timing;

typedef struct {
    const char *model;              /* exported checkpoint (required) */
    const char *cascade;            /* NULL: ferc_haar_default_path() */
    double crop;                    /* crop side / detector box side (1.0) */
    int full_scan_every;            /* video: full scan every N frames (10); 1 = always */
    float smooth;                   /* tracker alpha (0.3); 1 = no smoothing */
    ferc_haar_params det;           /* scale 1.1, neighbours 3, min size 40x40 */
    int threads;                    /* detector and network threads; 0 = all cores */
} ferc_faces_opts;

typedef struct ferc_faces ferc_faces;

void ferc_faces_opts_default(ferc_faces_opts *o);
/* Loads the model and the cascade. Errors name the file. */
ferc_faces *ferc_faces_new(const ferc_faces_opts *o, ferc_err *e);
void ferc_faces_free(ferc_faces *f);

/* The model's classes (names valid while f lives), input size, channels. */
int ferc_faces_classes(const ferc_faces *f, const char *const **names);
int ferc_faces_input_size(const ferc_faces *f);

/* Analyses one frame (gray c = 1 or RGB c = 3). video = 1 tracks and smooths
 * across calls; video = 0 treats the frame as a still (full scan, no
 * tracking, track = 0). *faces points into f (valid until the next call),
 * sorted by box x. Returns 0, or -1 on error (out of memory). */
int ferc_faces_analyze(ferc_faces *f, const ferc_image *frame, int video, ferc_face **faces, int *n,
                       ferc_err *e);
const ferc_faces_timing *ferc_faces_last_timing(const ferc_faces *f);
/* Forgets every track (e.g. when a new video starts). */
void ferc_faces_reset(ferc_faces *f);

/* The crop step alone: writes the S x S gray crop (8-bit) of box from frame
 * (c = 1 or 3) with the given crop factor. Used by tests to classify the same
 * pixels the pipeline sees. */
void ferc_faces_crop(const ferc_image *frame, ferc_haar_box box, double crop, int S, uint8_t *out);

#endif
