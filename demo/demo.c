/* demo.c: ./demo -- real-time facial-expression recognition from a camera, a
 * video file or still images, shown in a window (SDL2) or written as JSON
 * lines (--headless), optionally recorded (--output). */
#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "demo.h"
#include "faces.h"
#include "image.h"
#include "overlay.h"
#include "plot.h"
#include "video.h"
#include "vwrite.h"
#include "window.h"

volatile sig_atomic_t demo_stop; /* also read by serve.c */
static void on_signal(int sig)
{
    (void)sig;
    demo_stop = 1;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Per-stage means over frames after the first few (warm-up). */
typedef struct {
    long frames, faces, full;
    double capture, detect, classify, track, draw;
} stats;
#define STATS_SKIP 5

static void stats_add(stats *s, long frame, int nfaces, const ferc_faces_timing *t, double cap, double draw)
{
    if (frame < STATS_SKIP) return;
    s->frames++, s->faces += nfaces, s->full += t->full_scan;
    s->capture += cap, s->detect += t->detect, s->classify += t->classify, s->track += t->track, s->draw += draw;
}

static void stats_print(const stats *s)
{
    double n = s->frames ? (double)s->frames : 1.0;
    fprintf(stderr,
            "stats: frames %ld faces %ld ms/frame total %.3f detect %.3f classify %.3f track %.3f full_scans %ld "
            "(capture %.3f draw %.3f; first %d frames not counted)\n",
            s->frames, s->faces, (s->detect + s->classify + s->track) / n, s->detect / n, s->classify / n,
            s->track / n, s->full, s->capture / n, s->draw / n, STATS_SKIP);
}

static int save_snapshot(const char *dir, const ferc_image *im, int quiet)
{
    char path[4096];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    ferc_err e;
    for (int k = 0; k < 1000; k++) {
        snprintf(path, sizeof path, k ? "%s/ferc-snapshot-%s-%d.png" : "%s/ferc-snapshot-%s.png", dir, stamp, k);
        if (access(path, F_OK)) break;
    }
    if (ferc_png_write(path, im->px, im->w, im->h, im->c, &e)) {
        fprintf(stderr, "demo: snapshot: %s\n", e.msg);
        return -1;
    }
    if (!quiet) fprintf(stderr, "demo: saved %s\n", path);
    return 0;
}

/* ---- video and camera ---------------------------------------------------- */

static int run_stream(const demo_opts *o, ferc_faces *f)
{
    ferc_err e;
    ferc_video *v = o->video ? ferc_video_open(o->video, &e)
                             : ferc_camera_open(o->camera, o->width, o->height, o->format, &e);
    if (!v) {
        fprintf(stderr, "demo: %s\n", e.msg);
        return 1;
    }
    const ferc_video_info *vi = ferc_video_get_info(v);
    if (!o->quiet)
        fprintf(stderr, "demo: %s: %s %dx%d%s%s, %.3g fps\n", vi->name, vi->format, vi->width, vi->height,
                vi->device[0] ? " " : "", vi->device, vi->fps);
    const char *const *classes;
    const int K = ferc_faces_classes(f, &classes);
    const int want_draw = !o->headless || o->output;
    ferc_window *win = NULL;
    ferc_vwriter *vw = NULL;
    ferc_image im = {0, 0, 0, NULL};
    stats st;
    memset(&st, 0, sizeof st);
    int rc = 1, shot_done = 0;
    char source[300];
    snprintf(source, sizeof source, "%s", o->video ? o->video : vi->name);
    double fps_ema = 0.0, t_prev = 0.0, t_start = now_ms();
    for (long fr = 0; !demo_stop && (!o->max_frames || fr < o->max_frames); fr++) {
        double t0 = now_ms();
        int r = ferc_video_read(v, &im, want_draw ? 3 : 1, &e);
        if (r < 0) {
            fprintf(stderr, "demo: %s\n", e.msg);
            goto done;
        }
        if (r == 0) break;
        double t1 = now_ms();
        ferc_face *faces;
        int n;
        if (ferc_faces_analyze(f, &im, 1, &faces, &n, &e)) {
            fprintf(stderr, "demo: %s\n", e.msg);
            goto done;
        }
        const ferc_faces_timing *t = ferc_faces_last_timing(f);
        double t2 = now_ms(), t3 = t2;
        if (fr > 0) {
            double inst = 1000.0 / (t2 - t_prev > 1e-3 ? t2 - t_prev : 1e-3);
            fps_ema = fps_ema > 0 ? 0.9 * fps_ema + 0.1 * inst : inst;
        }
        t_prev = t2;
        if (o->headless) {
            demo_json_faces(stdout, NULL, vi->frame, vi->time, faces, n, classes, K, t, t1 - t0);
            fflush(stdout);
        }
        if (want_draw) {
            ferc_canvas c = {im.w, im.h, im.px};
            ferc_overlay_info info;
            memset(&info, 0, sizeof info);
            info.fps = fps_ema, info.ms_capture = t1 - t0, info.ms_detect = t->detect;
            info.ms_classify = t->classify + t->track, info.ms_draw = st.frames ? st.draw / st.frames : 0.0;
            info.source = source, info.frame = vi->frame, info.show_stats = 1;
            ferc_overlay_draw(&c, faces, n, classes, K, &info);
            if (o->output) {
                if (!vw && !(vw = ferc_vwriter_open(o->output, im.w, im.h, vi->fps > 0 ? vi->fps : 30.0, &e))) {
                    fprintf(stderr, "demo: %s\n", e.msg);
                    goto done;
                }
                if (ferc_vwriter_write(vw, im.px, &e)) {
                    fprintf(stderr, "demo: %s\n", e.msg);
                    goto done;
                }
            }
            if (!o->headless) {
                if (!win && !(win = ferc_window_open("ferc demo", im.w, im.h, &e))) {
                    fprintf(stderr, "demo: %s\n", e.msg);
                    goto done;
                }
                if (ferc_window_show(win, im.px, im.w, im.h, &e)) {
                    fprintf(stderr, "demo: %s\n", e.msg);
                    goto done;
                }
                int ev = ferc_window_poll(win);
                if (ev & FERC_WIN_SNAPSHOT) save_snapshot(o->snapshot_dir, &im, o->quiet);
                if (o->screenshot && !shot_done && fr + 1 >= o->screenshot_frame) {
                    if (ferc_window_screenshot(win, o->screenshot, &e)) {
                        fprintf(stderr, "demo: %s\n", e.msg);
                        goto done;
                    }
                    shot_done = 1;
                    if (!o->quiet) fprintf(stderr, "demo: window screenshot saved to %s\n", o->screenshot);
                }
                if (ev & FERC_WIN_QUIT) break;
                /* files play at their own frame rate unless --no-realtime */
                if (o->video && o->realtime && vi->fps > 0) {
                    double due = t_start + (fr + 1) * 1000.0 / vi->fps, wait = due - now_ms();
                    if (wait > 0) usleep((useconds_t)(wait * 1000));
                }
            }
            t3 = now_ms();
        }
        stats_add(&st, fr, n, t, t1 - t0, t3 - t2);
    }
    if (o->screenshot && !shot_done && win) {
        /* short input: take the screenshot of the last frame shown */
        if (ferc_window_screenshot(win, o->screenshot, &e)) {
            fprintf(stderr, "demo: %s\n", e.msg);
            goto done;
        }
        if (!o->quiet) fprintf(stderr, "demo: window screenshot saved to %s\n", o->screenshot);
    }
    rc = 0;
done:
    if (vw) {
        if (ferc_vwriter_close(vw, &e)) {
            fprintf(stderr, "demo: %s\n", e.msg);
            rc = 1;
        } else if (!o->quiet) {
            fprintf(stderr, "demo: wrote %s\n", o->output);
        }
    }
    if (demo_stop && !o->quiet) fprintf(stderr, "demo: interrupted\n");
    if (o->stats) stats_print(&st);
    ferc_window_close(win);
    ferc_image_free(&im);
    ferc_video_close(v);
    return rc;
}

/* ---- still images ---------------------------------------------------------- */

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Expands the --images arguments: files as given, folders to their image files
 * (sorted, not recursive). */
static char **expand_inputs(const demo_opts *o, int *n_out)
{
    int n = 0, cap = 64;
    char **list = malloc(sizeof(char *) * cap);
    for (int i = 0; list && i < o->n_inputs; i++) {
        struct stat sb;
        const char *p = o->inputs[i];
        if (stat(p, &sb) || !S_ISDIR(sb.st_mode)) {
            if (n == cap) list = realloc(list, sizeof(char *) * (cap *= 2));
            if (list) list[n++] = strdup(p);
            continue;
        }
        DIR *d = opendir(p);
        if (!d) {
            if (n == cap) list = realloc(list, sizeof(char *) * (cap *= 2));
            if (list) list[n++] = strdup(p); /* the error is reported when it is read */
            continue;
        }
        int first = n;
        struct dirent *de;
        while (list && (de = readdir(d))) {
            if (de->d_name[0] == '.' || !is_image_name(de->d_name)) continue;
            if (n == cap) list = realloc(list, sizeof(char *) * (cap *= 2));
            if (!list) break;
            size_t len = strlen(p) + strlen(de->d_name) + 2;
            list[n] = malloc(len);
            snprintf(list[n++], len, "%s/%s", p, de->d_name);
        }
        closedir(d);
        if (list) qsort(list + first, n - first, sizeof(char *), cmp_str);
    }
    *n_out = list ? n : -1;
    return list;
}

static int run_images(const demo_opts *o, ferc_faces *f)
{
    int n_files;
    char **files = expand_inputs(o, &n_files);
    if (!files) {
        fprintf(stderr, "demo: out of memory\n");
        return 1;
    }
    if (n_files == 0) {
        fprintf(stderr, "demo: --images: no PNG or JPEG files in the given folder(s)\n");
        free(files);
        return 1;
    }
    const char *const *classes;
    const int K = ferc_faces_classes(f, &classes);
    ferc_window *win = NULL;
    ferc_image im = {0, 0, 0, NULL};
    int failed = 0, quit = 0;
    ferc_err e;
    for (int i = 0; i < n_files && !quit && !demo_stop; i++) {
        ferc_image_free(&im); /* the previous image */
        if (ferc_image_load_rgb(&im, files[i], &e)) {
            fprintf(stderr, "demo: %s\n", e.msg);
            failed++;
            continue;
        }
        ferc_face *faces;
        int n;
        if (ferc_faces_analyze(f, &im, 0, &faces, &n, &e)) {
            fprintf(stderr, "demo: %s: %s\n", files[i], e.msg);
            failed++;
            continue;
        }
        const ferc_faces_timing *t = ferc_faces_last_timing(f);
        if (o->headless) {
            demo_json_faces(stdout, files[i], 0, 0.0, faces, n, classes, K, t, 0.0);
            fflush(stdout);
            continue;
        }
        ferc_canvas c = {im.w, im.h, im.px};
        ferc_overlay_info info;
        memset(&info, 0, sizeof info);
        info.ms_detect = t->detect, info.ms_classify = t->classify;
        info.source = files[i], info.frame = i, info.show_stats = 1;
        ferc_overlay_draw(&c, faces, n, classes, K, &info);
        if (!win && !(win = ferc_window_open("ferc demo", im.w, im.h, &e))) {
            fprintf(stderr, "demo: %s\n", e.msg);
            failed++;
            break;
        }
        if (ferc_window_show(win, im.px, im.w, im.h, &e)) {
            fprintf(stderr, "demo: %s\n", e.msg);
            failed++;
            break;
        }
        if (o->screenshot && i + 1 == (o->screenshot_frame < n_files ? o->screenshot_frame : n_files)) {
            if (ferc_window_screenshot(win, o->screenshot, &e))
                fprintf(stderr, "demo: %s\n", e.msg), failed++;
            else if (!o->quiet)
                fprintf(stderr, "demo: window screenshot saved to %s\n", o->screenshot);
        }
        /* each image stays up until a key (any key goes on); with --screenshot it does not wait */
        double until = now_ms() + (o->screenshot ? 0.0 : 1e12);
        for (;;) {
            int ev = ferc_window_poll(win);
            if (ev & FERC_WIN_SNAPSHOT) save_snapshot(o->snapshot_dir, &im, o->quiet);
            if (ev & FERC_WIN_QUIT) {
                quit = 1;
                break;
            }
            if ((ev & FERC_WIN_NEXT) || now_ms() >= until || demo_stop) break;
            usleep(10000);
        }
    }
    ferc_window_close(win);
    ferc_image_free(&im);
    for (int i = 0; i < n_files; i++) free(files[i]);
    free(files);
    if (failed) fprintf(stderr, "demo: %d of %d images failed\n", failed, n_files);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    demo_opts o;
    int pr = demo_parse(argc, argv, &o);
    if (pr == 1) return 0;
    if (pr) return pr;
    ferc_err e;
    if (o.list_cameras) {
        char *report = NULL;
        int n = ferc_camera_list(&report, &e);
        if (n < 0) {
            fprintf(stderr, "demo: %s\n", e.msg);
            return 1;
        }
        fputs(report, stdout);
        free(report);
        return 0;
    }
    int threads = o.threads > 0 ? o.threads : omp_get_num_procs();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    char mbuf[4096];
    o.fo.model = o.model ? o.model : demo_default_model(mbuf, sizeof mbuf);
    if (!o.fo.model) {
        fprintf(stderr, "demo: no model: checkpoints/ not found here or beside the executable; give --model FILE\n");
        return 1;
    }
    o.fo.cascade = o.cascade;
    ferc_faces *f = ferc_faces_new(&o.fo, &e);
    if (!f) {
        fprintf(stderr, "demo: %s\n", e.msg);
        return 1;
    }
    if (!o.quiet) {
        const char *const *cl;
        int K = ferc_faces_classes(f, &cl);
        fprintf(stderr, "demo: model %s (%d classes:", o.fo.model, K);
        for (int k = 0; k < K; k++) fprintf(stderr, " %s", cl[k]);
        fprintf(stderr, "), %d threads\n", threads);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc;
    if (o.serve) {
        ferc_faces_free(f); /* the server makes one per worker */
        return demo_serve(&o, &o.fo);
    }
    rc = o.n_inputs ? run_images(&o, f) : run_stream(&o, f);
    ferc_faces_free(f);
    return rc;
}
