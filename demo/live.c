/* live.c: the server's own frame source for ./demo --serve with --camera or
 * --video: one thread reads frames, analyses them (with tracking), draws the
 * overlay and encodes a JPEG; HTTP clients follow the newest frame as a
 * Motion-JPEG stream (multipart/x-mixed-replace) or as server-sent events
 * (one JSON result per frame). Clients skip frames they are too slow for;
 * nothing queues. A video file is played at its frame rate and loops. */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "demo.h"
#include "image.h"
#include "live.h"
#include "overlay.h"
#include "plot.h"
#include "video.h"

extern volatile sig_atomic_t demo_stop;

struct live {
    const demo_opts *o;
    ferc_video *v;
    ferc_faces *f;
    pthread_t th;
    int started, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *jpeg;
    size_t jpeg_n;
    char *json;
    long seq;                  /* frames published */
    int done;                  /* the source ended with an error */
    char err[1024];
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static void fail(live *L, const char *msg)
{
    pthread_mutex_lock(&L->mu);
    snprintf(L->err, sizeof L->err, "%s", msg);
    L->done = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void *run(void *arg)
{
    live *L = arg;
    omp_set_num_threads(1);
    ferc_image im = {0, 0, 0, NULL};
    ferc_err e;
    const char *const *classes;
    const int K = ferc_faces_classes(L->f, &classes);
    double t_start = now_ms(), fps = 0.0, t_prev = 0.0;
    long n = 0;
    while (!L->quit && !demo_stop) {
        double t0 = now_ms();
        int r = ferc_video_read(L->v, &im, 3, &e);
        if (r == 0 && L->o->video) { /* a file: play it again */
            ferc_video_close(L->v);
            if (!(L->v = ferc_video_open(L->o->video, &e))) {
                fail(L, e.msg);
                break;
            }
            ferc_faces_reset(L->f);
            t_start = now_ms(), n = 0;
            continue;
        }
        if (r <= 0) {
            fail(L, r < 0 ? e.msg : "the source ended");
            break;
        }
        double t1 = now_ms();
        ferc_face *faces;
        int nf;
        if (ferc_faces_analyze(L->f, &im, 1, &faces, &nf, &e)) {
            fail(L, e.msg);
            break;
        }
        const ferc_faces_timing *t = ferc_faces_last_timing(L->f);
        const ferc_video_info *vi = ferc_video_get_info(L->v);
        char *js = demo_json_analysis(vi->frame, im.w, im.h, faces, nf, classes, K, t, 0);
        double t2 = now_ms();
        if (t_prev > 0) fps = fps > 0 ? 0.9 * fps + 0.1 * 1000.0 / (t2 - t_prev) : 1000.0 / (t2 - t_prev);
        t_prev = t2;
        ferc_canvas c = {im.w, im.h, im.px};
        ferc_overlay_info info;
        memset(&info, 0, sizeof info);
        info.fps = fps, info.ms_capture = t1 - t0, info.ms_detect = t->detect, info.ms_classify = t->classify;
        info.source = L->o->video ? L->o->video : vi->name, info.frame = vi->frame, info.show_stats = 1;
        ferc_overlay_draw(&c, faces, nf, classes, K, &info);
        uint8_t *jp = NULL;
        size_t jpn = 0;
        if (!js || ferc_jpeg_encode(im.px, im.w, im.h, 3, 80, &jp, &jpn, &e)) {
            free(js);
            fail(L, js ? e.msg : "out of memory");
            break;
        }
        pthread_mutex_lock(&L->mu);
        free(L->jpeg), free(L->json);
        L->jpeg = jp, L->jpeg_n = jpn, L->json = js;
        L->seq++;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        n++;
        if (L->o->video && vi->fps > 0) {
            double wait = t_start + n * 1000.0 / vi->fps - now_ms();
            if (wait > 0) usleep((useconds_t)(wait * 1000));
        }
    }
    ferc_image_free(&im);
    return NULL;
}

live *live_start(const demo_opts *o, const ferc_faces_opts *fo, ferc_err *e)
{
    live *L = calloc(1, sizeof *L);
    if (!L) {
        ferc_errf(e, "out of memory");
        return NULL;
    }
    L->o = o;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    ferc_faces_opts f1 = *fo;
    f1.threads = 1;
    if (!(L->f = ferc_faces_new(&f1, e))) goto fail;
    L->v = o->video ? ferc_video_open(o->video, e) : ferc_camera_open(o->camera, o->width, o->height, o->format, e);
    if (!L->v) goto fail;
    if (pthread_create(&L->th, NULL, run, L)) {
        ferc_errf(e, "cannot start the capture thread");
        goto fail;
    }
    L->started = 1;
    return L;
fail:
    live_stop(L);
    return NULL;
}

void live_stop(live *L)
{
    if (!L) return;
    if (L->started) {
        L->quit = 1;
        pthread_join(L->th, NULL);
    }
    ferc_video_close(L->v);
    ferc_faces_free(L->f);
    free(L->jpeg), free(L->json);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
    free(L);
}

/* Waits for a frame newer than *seen and copies the chosen part of it.
 * Returns 1 with *out malloc'ed, 0 when the source has ended or the server
 * stops. */
int live_next(live *L, long *seen, int kind, char **out, size_t *n)
{
    pthread_mutex_lock(&L->mu);
    while (L->seq == *seen && !L->done && !demo_stop && !L->quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&L->cv, &L->mu, &ts);
    }
    int ok = L->seq != *seen && !demo_stop && !L->quit;
    if (ok) {
        char *b = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&b, &len);
        if (f && kind == LIVE_MJPEG) {
            fprintf(f, "--ferc\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n", L->jpeg_n);
            fwrite(L->jpeg, 1, L->jpeg_n, f);
            fputs("\r\n", f);
        } else if (f) {
            fprintf(f, "data: %s\n\n", L->json);
        }
        if (f) fclose(f);
        *out = b, *n = len;
        *seen = L->seq;
        ok = b != NULL;
    }
    pthread_mutex_unlock(&L->mu);
    return ok;
}

const char *live_error(live *L)
{
    pthread_mutex_lock(&L->mu);
    const char *r = L->done ? L->err : NULL;
    pthread_mutex_unlock(&L->mu);
    return r;
}
