/* demo.h: shared pieces of ./demo (options, JSON output). */
#ifndef FERC_DEMO_H
#define FERC_DEMO_H
#include <stdio.h>
#include "faces.h"

#define DEMO_MAX_INPUTS 4096

typedef struct {
    const char *camera;          /* "0", "/dev/video2"; NULL unless --camera or no other source */
    const char *video;           /* --video FILE */
    const char *inputs[DEMO_MAX_INPUTS]; /* --images DIR|FILE... */
    int n_inputs;
    int list_cameras;
    const char *model;           /* NULL = the shipped demo model */
    const char *cascade;
    int width, height;           /* --size */
    const char *format;          /* --format auto|yuyv|mjpg */
    int headless;
    const char *output;          /* --output FILE (.avi or .y4m) */
    const char *snapshot_dir;    /* where 's' saves (default ".") */
    const char *screenshot;      /* --screenshot PNG: save the window after screenshot_frame frames */
    long screenshot_frame;
    long max_frames;             /* 0 = no limit */
    int threads;                 /* 0 = all cores */
    int stats;
    int realtime;                /* pace files to their frame rate in the window (default 1) */
    int quiet;
    const char *serve;           /* --serve [HOST:]PORT */
    const char *token;           /* --token (or FERC_TOKEN) */
    long max_body;               /* --max-body bytes (8 MiB) */
    long max_pixels;             /* --max-pixels (16 Mpixel) */
    ferc_faces_opts fo;
} demo_opts;

/* Parses argv; returns 0 to run, 1 when --help was printed, 2 on a usage error (printed). */
int demo_parse(int argc, char **argv, demo_opts *o);
/* The shipped demo model: checkpoints/<name> next to the working directory or
 * to the executable (../checkpoints). NULL if neither exists. */
const char *demo_default_model(char *buf, size_t n);

/* One analysis as the web API returns it (malloc'ed; NULL when out of
 * memory): {["frame":N,]"width":W,"height":H,"faces":[{box, label, score,
 * probs}],"ms":{detect, classify}}, then "\n" if newline; frame < 0 leaves
 * "frame" out. */
char *demo_json_analysis(long frame, int w, int h, const ferc_face *faces, int n, const char *const *classes, int K,
                         const ferc_faces_timing *t, int newline);
/* The HTTP server (serve.c): 0, 1 on error, 2 on a usage error. */
int demo_serve(const demo_opts *o, const ferc_faces_opts *fo);

/* One JSON object per line. file: the image (stills) or NULL; frame/time for video. */
void demo_json_faces(FILE *f, const char *file, long frame, double time, const ferc_face *faces, int n,
                     const char *const *classes, int K, const ferc_faces_timing *t, double ms_capture);

#endif
