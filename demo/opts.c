/* opts.c: command line of ./demo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "demo.h"

#define DEMO_MODEL "fer2013.h5" /* the shipped demo model, in checkpoints/ (why: README, "Which model the demo uses") */

static const char *USAGE =
    "usage: ./demo [source] [options]\n"
    "\n"
    "Real-time facial-expression recognition: finds faces (Viola-Jones, OpenCV's\n"
    "cascade files), classifies each with an exported ferc model, tracks faces and\n"
    "smooths their probabilities over time, and shows the result in a window.\n"
    "\n"
    "sources (default: --camera 0):\n"
    "  --camera N          Video4Linux2 camera /dev/videoN (or a device path)\n"
    "  --size WxH          camera frame size to ask for (default 640x480)\n"
    "  --format F          camera pixel format: auto, yuyv or mjpg (default auto)\n"
    "  --video FILE        a recorded video: Motion-JPEG AVI or YUV4MPEG2 (.y4m, '-' = stdin)\n"
    "  --images PATH...    still images (PNG, JPEG) or folders of them; one result per image\n"
    "  --list-cameras      list video devices with their formats and sizes, then exit\n"
    "\n"
    "output:\n"
    "  --headless          no window: one JSON line per frame (or image) on stdout\n"
    "  --output FILE       also write the annotated video (.avi Motion-JPEG or .y4m)\n"
    "  --snapshot-dir DIR  where the 's' key saves snapshot PNGs (default .)\n"
    "  --screenshot PNG    save the window's contents after --screenshot-frame frames\n"
    "                      (default 10) and go on; for tests under a virtual display\n"
    "  --stats             at exit, print mean milliseconds per frame by stage to stderr\n"
    "  --max-frames N      stop after N frames\n"
    "  --no-realtime       window mode: do not pace video files to their frame rate\n"
    "  --quiet             no informational messages on stderr\n"
    "\n"
    "web server (the page in web/ and a JSON API, see README):\n"
    "  --serve [HOST:]PORT serve http://HOST:PORT/ (default host 127.0.0.1: this\n"
    "                      machine only); any other host needs --token. With\n"
    "                      --camera N or --video FILE the page can also show that\n"
    "                      source (MJPEG + server-sent events; a video loops)\n"
    "  --token SECRET      clients must send the header X-Ferc-Token: SECRET\n"
    "                      (default: $FERC_TOKEN); the page takes #token=SECRET\n"
    "  --max-body BYTES    largest image upload (default 8388608)\n"
    "  --max-pixels N      largest image, in pixels (default 16777216)\n"
    "\n"
    "model and detector:\n"
    "  --model FILE        exported checkpoint (default: checkpoints/" DEMO_MODEL ")\n"
    "  --cascade FILE      OpenCV Haar cascade (default: Debian's opencv-data\n"
    "                      haarcascade_frontalface_default.xml)\n"
    "  --min-face N        smallest face searched, in pixels (default 40)\n"
    "  --scale-factor F    detector pyramid step (default 1.1)\n"
    "  --neighbors N       detector min neighbours (default 3)\n"
    "  --crop F            crop side / detector box side (default 1.0, as CK+48)\n"
    "  --smooth A          weight of the newest frame in the smoothed probabilities\n"
    "                      (default 0.3; 1 = no smoothing)\n"
    "  --full-scan N       video: full detector scan every N frames, otherwise search\n"
    "                      near the tracked faces (default 10; 1 = every frame)\n"
    "  --threads N         threads for the detector and for batches of faces (default:\n"
    "                      all cores; a single face is classified on one thread)\n"
    "  -h, --help          this help\n"
    "\n"
    "window keys: q or Esc quits, s saves a snapshot PNG.\n"
    "JSON line (video): {\"frame\":12,\"time\":0.4,\"faces\":[{\"box\":[x,y,w,h],\"track\":1,\n"
    "  \"label\":\"anger\",\"score\":0.81,\"probs\":{...},\"raw\":{...}}],\"ms\":{...}}\n"
    "JSON line (--images): {\"file\":\"a.png\",\"faces\":[...],\"ms\":{...}}\n"
    "exit status: 0 ok, 1 error (named on stderr), 2 usage error.\n";

static int bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "demo: %s expects %s, got '%s'\n", opt, want, val);
    return 2;
}

static int to_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int to_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int demo_parse(int argc, char **argv, demo_opts *o)
{
    memset(o, 0, sizeof *o);
    ferc_faces_opts_default(&o->fo);
    o->snapshot_dir = ".";
    o->screenshot_frame = 10;
    o->realtime = 1;
    o->max_body = 8L << 20;
    o->max_pixels = 16L << 20;
    o->token = getenv("FERC_TOKEN");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        double d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        /* flags without a value */
        if (!strcmp(a, "--headless")) { o->headless = 1; continue; }
        if (!strcmp(a, "--list-cameras")) { o->list_cameras = 1; continue; }
        if (!strcmp(a, "--stats")) { o->stats = 1; continue; }
        if (!strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!strcmp(a, "--no-realtime")) { o->realtime = 0; continue; }
        if (!strcmp(a, "--images")) {
            int j = i + 1;
            for (; j < argc && strncmp(argv[j], "--", 2); j++) {
                if (o->n_inputs == DEMO_MAX_INPUTS) {
                    fprintf(stderr, "demo: more than %d --images arguments\n", DEMO_MAX_INPUTS);
                    return 2;
                }
                o->inputs[o->n_inputs++] = argv[j];
            }
            if (j == i + 1) {
                fprintf(stderr, "demo: --images expects at least one file or folder\n");
                return 2;
            }
            i = j - 1;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            fprintf(stderr, "demo: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        static const char *const with_value[] = {
            "--camera", "--video", "--model", "--cascade", "--output", "--snapshot-dir", "--screenshot",
            "--format", "--size", "--screenshot-frame", "--max-frames", "--threads", "--min-face",
            "--neighbors", "--full-scan", "--scale-factor", "--crop", "--smooth", "--serve", "--token",
            "--max-body", "--max-pixels", NULL};
        int known = 0;
        for (int k = 0; with_value[k] && !known; k++) known = !strcmp(a, with_value[k]);
        if (!known) {
            fprintf(stderr, "demo: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "demo: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--camera")) o->camera = v;
        else if (!strcmp(a, "--video")) o->video = v;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--cascade")) o->cascade = v;
        else if (!strcmp(a, "--output")) o->output = v;
        else if (!strcmp(a, "--snapshot-dir")) o->snapshot_dir = v;
        else if (!strcmp(a, "--screenshot")) o->screenshot = v;
        else if (!strcmp(a, "--serve")) o->serve = v;
        else if (!strcmp(a, "--token")) o->token = v;
        else if (!strcmp(a, "--max-body")) {
            if (to_long(v, 1024, 1L << 30, &l)) return bad(a, v, "a byte count 1024..1073741824");
            o->max_body = l;
        } else if (!strcmp(a, "--max-pixels")) {
            if (to_long(v, 64, 1L << 28, &l)) return bad(a, v, "a pixel count 64..268435456");
            o->max_pixels = l;
        }
        else if (!strcmp(a, "--format")) {
            if (strcmp(v, "auto") && strcmp(v, "yuyv") && strcmp(v, "mjpg")) return bad(a, v, "auto, yuyv or mjpg");
            o->format = v;
        } else if (!strcmp(a, "--size")) {
            int w, h;
            char c;
            if (sscanf(v, "%dx%d%c", &w, &h, &c) != 2 || w < 16 || h < 16 || w > 8192 || h > 8192)
                return bad(a, v, "WxH, e.g. 640x480");
            o->width = w, o->height = h;
        } else if (!strcmp(a, "--screenshot-frame")) {
            if (to_long(v, 1, 1L << 40, &l)) return bad(a, v, "a positive integer");
            o->screenshot_frame = l;
        } else if (!strcmp(a, "--max-frames")) {
            if (to_long(v, 1, 1L << 40, &l)) return bad(a, v, "a positive integer");
            o->max_frames = l;
        } else if (!strcmp(a, "--threads")) {
            if (to_long(v, 0, 1024, &l)) return bad(a, v, "an integer 0..1024");
            o->threads = (int)l;
        } else if (!strcmp(a, "--min-face")) {
            if (to_long(v, 1, 100000, &l)) return bad(a, v, "a positive integer (pixels)");
            o->fo.det.min_w = o->fo.det.min_h = (int)l;
        } else if (!strcmp(a, "--neighbors")) {
            if (to_long(v, 0, 1000, &l)) return bad(a, v, "an integer 0..1000");
            o->fo.det.min_neighbors = (int)l;
        } else if (!strcmp(a, "--full-scan")) {
            if (to_long(v, 1, 1000000, &l)) return bad(a, v, "a positive integer");
            o->fo.full_scan_every = (int)l;
        } else if (!strcmp(a, "--scale-factor")) {
            if (to_double(v, 1.01, 4.0, &d)) return bad(a, v, "a number in [1.01, 4]");
            o->fo.det.scale_factor = d;
        } else if (!strcmp(a, "--crop")) {
            if (to_double(v, 0.25, 4.0, &d)) return bad(a, v, "a number in [0.25, 4]");
            o->fo.crop = d;
        } else if (!strcmp(a, "--smooth")) {
            if (to_double(v, 0.01, 1.0, &d)) return bad(a, v, "a number in [0.01, 1]");
            o->fo.smooth = (float)d;
        } else {
            fprintf(stderr, "demo: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    int sources = !!o->camera + !!o->video + (o->n_inputs > 0);
    if (sources > 1) {
        fprintf(stderr, "demo: give one source: --camera, --video or --images\n");
        return 2;
    }
    if (o->serve && o->n_inputs) {
        fprintf(stderr, "demo: --serve takes --camera or --video as its own source, not --images\n");
        return 2;
    }
    if (!sources && !o->list_cameras && !o->serve) o->camera = "0";
    if (o->output && o->n_inputs) {
        fprintf(stderr, "demo: --output writes a video; it does not apply to --images\n");
        return 2;
    }
    o->fo.threads = o->threads;
    return 0;
}

const char *demo_default_model(char *buf, size_t n)
{
    snprintf(buf, n, "checkpoints/%s", DEMO_MODEL);
    if (!access(buf, R_OK)) return buf;
    /* next to the executable: bin/demo -> bin/../checkpoints */
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return NULL;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    snprintf(buf, n, "%s/../checkpoints/%s", exe, DEMO_MODEL);
    return access(buf, R_OK) ? NULL : buf;
}
