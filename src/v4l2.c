/* v4l2.c: Video4Linux2 camera capture and camera listing.
 *
 * Capture uses mmap streaming I/O: CAM_NBUF driver buffers are queued, and a
 * capture thread loops poll() (CAM_POLL_MS timeout, so it notices a stop
 * request and a stalled camera) -> VIDIOC_DQBUF -> copy the raw frame into a
 * host slot -> VIDIOC_QBUF, so the driver always has buffers and capture never
 * waits for processing. Decoding (YUYV -> RGB, or MJPEG through libjpeg-turbo
 * via ferc_image_load_rgb_mem) happens in the caller's ferc_video_read.
 *
 * Host ring, newest-frame semantics: CAM_NSLOT = 3 slots; at any time one
 * may be `latest` (newest complete frame, unread) and one `reading` (being
 * decoded by the caller); the thread writes into the third, then publishes it
 * as `latest` under the mutex, dropping (and counting) an unread older one.
 * Only the thread changes `latest` to a new slot and only the reader sets
 * `reading`, so the slot being written is never latest or reading.
 *
 * Failures (no device, busy, permission, no YUYV/MJPG, unplugged: ENODEV or
 * POLLERR/POLLHUP from the device, no frame for CAM_STALL_S seconds) become
 * an error message naming the device and listing the /dev/video* that exist;
 * the thread stops and the reader returns -1. Nothing here prints. */
#include "video.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/videodev2.h>

#define CAM_NBUF 4          /* driver (mmap) buffers requested */
#define CAM_NSLOT 3         /* host ring: latest, reading, writing */
#define CAM_POLL_MS 100     /* capture thread wake-up period */
#define CAM_STALL_S 5       /* no frame for this long: error */
#define CAM_MAX_BAD 30      /* consecutive bad frames (EIO, undecodable) tolerated */
#define CAM_MAX_DEVS 64     /* /dev/video* entries listed */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    struct timeval ts;      /* driver timestamp (usually CLOCK_MONOTONIC) */
} cam_slot;

typedef struct {
    ferc_video base;
    int fd;
    uint32_t pixfmt;        /* V4L2_PIX_FMT_YUYV or _MJPEG/_JPEG */
    int full;               /* YUYV quantization is full range */
    uint32_t bpl;           /* YUYV bytes per line */
    void *map[CAM_NBUF];
    size_t maplen[CAM_NBUF];
    int nmap, streaming, thread_started, sync_ready;
    pthread_t thread;
    /* Shared with the capture thread, under mu: */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cam_slot slot[CAM_NSLOT];
    int latest, reading;    /* slot indices, -1 = none */
    int stop;               /* close() asks the thread to end */
    int done;               /* the thread has ended; terr says why */
    long captured, dropped;
    ferc_err terr;
    /* Reader only: */
    struct timeval t0;      /* timestamp of the first frame returned */
    long returned;
} cam;

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

static const char *fourcc_str(char out[8], uint32_t f)
{
    for (int i = 0; i < 4; i++) {
        int ch = (int)((f >> (8 * i)) & 0xff);
        out[i] = (char)(isprint(ch) ? ch : '?');
    }
    out[4] = 0;
    return out;
}

/* ------------------------------------------------------------ device list */

/* Fills names[] with "/dev/videoN" sorted by N; returns how many. */
static int video_nodes(char names[][32], int max)
{
    int nums[CAM_MAX_DEVS], n = 0;
    DIR *d = opendir("/dev");
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max && n < CAM_MAX_DEVS) {
        const char *s = de->d_name;
        if (strncmp(s, "video", 5) != 0 || !s[5] || strspn(s + 5, "0123456789") != strlen(s + 5) ||
            strlen(s + 5) > 6)
            continue;
        int v = atoi(s + 5), i = n++;
        for (; i > 0 && nums[i - 1] > v; i--)
            nums[i] = nums[i - 1];
        nums[i] = v;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        snprintf(names[i], 32, "/dev/video%d", nums[i]);
    return n;
}

/* "N" -> "/dev/videoN"; anything else is a path; NULL or "" -> /dev/video0. */
static void dev_path(char *path, size_t n, const char *dev)
{
    if (!dev || !*dev)
        dev = "0";
    if (strspn(dev, "0123456789") == strlen(dev) && strlen(dev) <= 6)
        snprintf(path, n, "/dev/video%s", dev);
    else
        snprintf(path, n, "%s", dev);
}

/* Opens a node for querying; fills cap; returns fd or -1 (errno set). */
static int query_node(const char *path, struct v4l2_capability *cap)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    memset(cap, 0, sizeof *cap);
    if (xioctl(fd, VIDIOC_QUERYCAP, cap) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static uint32_t node_caps(const struct v4l2_capability *cap)
{
    return (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ? cap->device_caps : cap->capabilities;
}

/* One-line summary of the devices present, for error messages:
 * "video devices present: /dev/video0 "HD Webcam", /dev/video1 (not capture)"
 * or "no video devices present (/dev/video* absent)". */
static void devices_present(char *buf, size_t n)
{
    char names[CAM_MAX_DEVS][32];
    int k = video_nodes(names, CAM_MAX_DEVS);
    if (k == 0) {
        snprintf(buf, n, "no video devices present (/dev/video* absent)");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "video devices present:");
    for (int i = 0; i < k && len < n; i++) {
        struct v4l2_capability cap;
        int fd = query_node(names[i], &cap);
        if (fd < 0)
            len += (size_t)snprintf(buf + len, n - len, "%s %s (%s)", i ? "," : "", names[i],
                                    strerror(errno));
        else if (!(node_caps(&cap) & V4L2_CAP_VIDEO_CAPTURE))
            len += (size_t)snprintf(buf + len, n - len, "%s %s (not a capture device)",
                                    i ? "," : "", names[i]);
        else
            len += (size_t)snprintf(buf + len, n - len, "%s %s \"%s\"", i ? "," : "", names[i],
                                    (const char *)cap.card);
        if (fd >= 0)
            close(fd);
    }
}

/* ferc_errf with "; <devices present>" appended. */
__attribute__((format(printf, 2, 3))) static int cam_errf(ferc_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char msg[600], devs[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    devices_present(devs, sizeof devs);
    return ferc_errf(e, "%s; %s", msg, devs);
}

/* Growable text for ferc_camera_list. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} strbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(strbuf *b, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (b->s && b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)k;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Frame rates of one discrete size, as " (30, 15 fps)". */
static void list_intervals(strbuf *b, int fd, uint32_t fmt, uint32_t w, uint32_t h)
{
    int any = 0;
    for (uint32_t i = 0; i < 32; i++) {
        struct v4l2_frmivalenum fi;
        memset(&fi, 0, sizeof fi);
        fi.index = i;
        fi.pixel_format = fmt;
        fi.width = w;
        fi.height = h;
        if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
            break;
        if (fi.type != V4L2_FRMIVAL_TYPE_DISCRETE) { /* stepwise/continuous */
            sb_printf(b, any ? ", variable fps)" : " (variable fps)");
            return;
        }
        if (fi.discrete.numerator == 0)
            continue;
        sb_printf(b, "%s%.4g", any ? ", " : " (", (double)fi.discrete.denominator /
                                                   fi.discrete.numerator);
        any = 1;
    }
    if (any)
        sb_printf(b, " fps)");
}

/* Formats and sizes of one capture device. */
static void list_formats(strbuf *b, int fd)
{
    for (uint32_t i = 0; i < 64; i++) {
        struct v4l2_fmtdesc fd_;
        memset(&fd_, 0, sizeof fd_);
        fd_.index = i;
        fd_.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(fd, VIDIOC_ENUM_FMT, &fd_) < 0)
            break;
        char f4[8];
        uint32_t pf = fd_.pixelformat;
        int ok = pf == V4L2_PIX_FMT_YUYV || pf == V4L2_PIX_FMT_MJPEG || pf == V4L2_PIX_FMT_JPEG;
        sb_printf(b, "  %s (%s)%s:", fourcc_str(f4, pf), (const char *)fd_.description,
                  ok ? "" : " [not supported by ferc]");
        for (uint32_t j = 0; j < 64; j++) {
            struct v4l2_frmsizeenum fs;
            memset(&fs, 0, sizeof fs);
            fs.index = j;
            fs.pixel_format = pf;
            if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
                break;
            if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                sb_printf(b, "%s %ux%u", j ? "," : "", fs.discrete.width, fs.discrete.height);
                list_intervals(b, fd, pf, fs.discrete.width, fs.discrete.height);
            } else {
                sb_printf(b, " %ux%u to %ux%u in steps of %ux%u", fs.stepwise.min_width,
                          fs.stepwise.min_height, fs.stepwise.max_width, fs.stepwise.max_height,
                          fs.stepwise.step_width, fs.stepwise.step_height);
                break;
            }
        }
        sb_printf(b, "\n");
    }
}

/* Appends one node's description; returns 1 for a capture device, 0 if not,
 * -1 if it cannot be opened or queried (the reason is appended too). */
static int describe_node(strbuf *b, const char *path)
{
    struct v4l2_capability cap;
    int fd = query_node(path, &cap);
    if (fd < 0) {
        sb_printf(b, "%s: cannot query: %s\n", path,
                  errno == ENOTTY ? "not a Video4Linux2 device" : strerror(errno));
        return -1;
    }
    uint32_t caps = node_caps(&cap);
    int capture = (caps & V4L2_CAP_VIDEO_CAPTURE) != 0;
    sb_printf(b, "%s: \"%s\" (%s, %s)", path, (const char *)cap.card, (const char *)cap.driver,
              (const char *)cap.bus_info);
    if (!capture) {
        sb_printf(b, ": not a capture device%s\n",
                  (caps & V4L2_CAP_META_CAPTURE) ? " (metadata)" : "");
    } else {
        sb_printf(b, "%s\n", (caps & V4L2_CAP_STREAMING) ? "" : ": no streaming I/O");
        list_formats(b, fd);
    }
    close(fd);
    return capture;
}

/* Hands the text over, or fails on out-of-memory. */
static int sb_finish(strbuf *b, char **report, int ret, ferc_err *e)
{
    if (b->oom || !b->s) {
        free(b->s);
        *report = NULL;
        return ferc_errf(e, "camera list: out of memory");
    }
    *report = b->s;
    return ret;
}

int ferc_camera_list(char **report, ferc_err *e)
{
    char names[CAM_MAX_DEVS][32];
    int k = video_nodes(names, CAM_MAX_DEVS), ncap = 0;
    strbuf b = {0};
    if (k == 0)
        sb_printf(&b, "no video devices (/dev/video* absent)\n");
    for (int i = 0; i < k; i++)
        ncap += describe_node(&b, names[i]) == 1;
    return sb_finish(&b, report, ncap, e);
}

int ferc_camera_describe(const char *dev, char **report, ferc_err *e)
{
    char path[256];
    dev_path(path, sizeof path, dev);
    *report = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return cam_errf(e, "%s: %s", path, errno == ENOENT ? "no such device" : strerror(errno));
    strbuf b = {0};
    int r = describe_node(&b, path);
    if (r < 0) {
        if (b.s)
            b.s[strcspn(b.s, "\n")] = 0;
        ferc_errf(e, "%s", b.s ? b.s : "out of memory");
        free(b.s);
        return -1;
    }
    return sb_finish(&b, report, r, e);
}

/* ------------------------------------------------------------ capture thread */

/* Ends the thread with an error in c->terr (under the mutex, waking the
 * reader); fmt describes the failure. Returns NULL for the thread's return. */
__attribute__((format(printf, 2, 3))) static void *cam_fail(cam *c, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ferc_err tmp;
    cam_errf(&tmp, "%s: %s after %ld frames", c->base.info.name, msg, c->captured);
    pthread_mutex_lock(&c->mu);
    c->terr = tmp;
    c->done = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void *cam_thread(void *arg)
{
    cam *c = arg;
    int bad = 0;
    double last = mono_now(); /* when the last frame (or the start) was */
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, CAM_POLL_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cam_fail(c, "poll failed (%s)", strerror(errno));
        if (mono_now() - last >= CAM_STALL_S) /* by the clock: also ends EAGAIN spins */
            return cam_fail(c, "no frames for %d seconds (camera stalled or unplugged?)",
                            CAM_STALL_S);
        if (r == 0)
            continue;
        struct v4l2_buffer vb;
        memset(&vb, 0, sizeof vb);
        vb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        vb.memory = V4L2_MEMORY_MMAP;
        if (xioctl(c->fd, VIDIOC_DQBUF, &vb) < 0) {
            int err = errno;
            if (err == EAGAIN && !(p.revents & (POLLERR | POLLHUP | POLLNVAL)))
                continue;
            if (err == EIO && ++bad < CAM_MAX_BAD)
                continue; /* transient per the V4L2 spec (e.g. signal loss) */
            if (err == ENODEV || (p.revents & POLLHUP))
                return cam_fail(c, "camera disconnected (%s)", strerror(ENODEV));
            return cam_fail(c, "capture failed (%s)",
                            err == EAGAIN ? "device reported an error" : strerror(err));
        }
        last = mono_now();
        if (vb.index < (uint32_t)c->nmap && !(vb.flags & V4L2_BUF_FLAG_ERROR) &&
            vb.bytesused > 0 && vb.bytesused <= c->maplen[vb.index]) {
            bad = 0;
            pthread_mutex_lock(&c->mu);
            int s = 0;
            while (s == c->latest || s == c->reading)
                s++;
            pthread_mutex_unlock(&c->mu);
            /* Slot s is neither latest nor reading: ours alone until published. */
            cam_slot *sl = &c->slot[s];
            if (sl->cap < vb.bytesused) {
                uint8_t *d = realloc(sl->data, vb.bytesused);
                if (!d)
                    return cam_fail(c, "out of memory");
                sl->data = d;
                sl->cap = vb.bytesused;
            }
            memcpy(sl->data, c->map[vb.index], vb.bytesused);
            sl->len = vb.bytesused;
            sl->ts = vb.timestamp;
            pthread_mutex_lock(&c->mu);
            if (c->latest >= 0)
                c->dropped++;
            c->latest = s;
            c->captured++;
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&c->mu);
        } else if (++bad >= CAM_MAX_BAD) {
            return cam_fail(c, "the driver keeps returning bad buffers");
        }
        if (xioctl(c->fd, VIDIOC_QBUF, &vb) < 0)
            return cam_fail(c, "%s (%s)", errno == ENODEV ? "camera disconnected" : "capture failed",
                            strerror(errno));
    }
    pthread_mutex_lock(&c->mu);
    c->done = 1;
    snprintf(c->terr.msg, sizeof c->terr.msg, "%s: capture stopped", c->base.info.name);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ------------------------------------------------------------ reading */

/* Decodes slot s into im; -1 with a message for a bad frame. */
static int cam_decode(cam *c, const cam_slot *sl, ferc_image *im, int ch, ferc_err *e)
{
    const ferc_video_info *in = &c->base.info;
    int w = in->width, h = in->height;
    if (c->pixfmt == V4L2_PIX_FMT_YUYV) {
        if (sl->len < (size_t)c->bpl * (size_t)h)
            return ferc_errf(e, "%s: short YUYV frame (%zu of %zu bytes)", in->name, sl->len,
                             (size_t)c->bpl * (size_t)h);
        if (ferc_video_image_ensure(im, w, h, ch, in->name, e))
            return -1;
        for (int j = 0; j < h; j++) {
            const uint8_t *p = sl->data + (size_t)j * c->bpl;
            uint8_t *out = im->px + (size_t)j * w * ch;
            if (ch == 3)
                ferc_yuv_row_to_rgb(out, p, p + 1, p + 3, w, 2, 4, 1, c->full);
            else
                ferc_y_row_to_gray(out, p, w, 2, c->full);
        }
        return 0;
    }
    char name[300];
    snprintf(name, sizeof name, "%s: frame %ld", in->name, c->returned);
    int jw, jh;
    if (ferc_jpeg_size(sl->data, sl->len, &jw, &jh))
        return ferc_errf(e, "%s: not a JPEG image (%zu bytes)", name, sl->len);
    if (jw != w || jh != h)
        return ferc_errf(e, "%s: JPEG is %dx%d, the driver said %dx%d", name, jw, jh, w, h);
    ferc_image tmp;
    if ((ch == 3 ? ferc_image_load_rgb_mem : ferc_image_load_mem)(&tmp, sl->data, sl->len, name, e))
        return -1;
    if (tmp.w != w || tmp.h != h) {
        ferc_errf(e, "%s: JPEG is %dx%d, the driver said %dx%d", name, tmp.w, tmp.h, w, h);
        ferc_image_free(&tmp);
        return -1;
    }
    ferc_image_free(im);
    *im = tmp;
    return 0;
}

static int cam_read(ferc_video *v, ferc_image *im, int ch, ferc_err *e)
{
    cam *c = (cam *)v;
    for (int bad = 0;;) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += CAM_STALL_S + 1; /* the thread gives up after CAM_STALL_S */
        pthread_mutex_lock(&c->mu);
        while (c->latest < 0 && !c->done)
            if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT)
                break;
        if (c->latest < 0) {
            int done = c->done;
            if (done)
                *e = c->terr;
            pthread_mutex_unlock(&c->mu);
            if (done)
                return -1;
            return cam_errf(e, "%s: no frame within %d seconds", v->info.name, CAM_STALL_S + 1);
        }
        int s = c->reading = c->latest;
        c->latest = -1;
        v->info.dropped = c->dropped;
        pthread_mutex_unlock(&c->mu);
        int rc = cam_decode(c, &c->slot[s], im, ch, e);
        struct timeval ts = c->slot[s].ts;
        pthread_mutex_lock(&c->mu);
        c->reading = -1;
        pthread_mutex_unlock(&c->mu);
        if (rc == 0) {
            if (c->returned == 0)
                c->t0 = ts;
            v->info.frame = c->returned++;
            v->info.time = (double)(ts.tv_sec - c->t0.tv_sec) + (ts.tv_usec - c->t0.tv_usec) * 1e-6;
            return 1;
        }
        if (++bad >= CAM_MAX_BAD)
            return -1; /* e holds the last frame's error */
    }
}

/* ------------------------------------------------------------ open / close */

static void cam_close(ferc_video *v)
{
    cam *c = (cam *)v;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    if (c->streaming) {
        enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(c->fd, VIDIOC_STREAMOFF, &t);
    }
    for (int i = 0; i < c->nmap; i++)
        munmap(c->map[i], c->maplen[i]);
    if (c->fd >= 0)
        close(c->fd);
    for (int i = 0; i < CAM_NSLOT; i++)
        free(c->slot[i].data);
    if (c->sync_ready) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
    }
    free(c);
}

/* Tries one pixel format at w x h with VIDIOC_S_FMT; 1 if the driver accepted
 * it (c filled from what it granted), 0 to try another, -1 on a hard error. */
static int cam_set_format(cam *c, uint32_t pf, int w, int h, ferc_err *e)
{
    const char *name = c->base.info.name;
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = (uint32_t)w;
    f.fmt.pix.height = (uint32_t)h;
    f.fmt.pix.pixelformat = pf;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(c->fd, VIDIOC_S_FMT, &f) < 0) {
        if (errno == EBUSY)
            return cam_errf(e, "%s: device busy (in use by another program?)", name);
        if (errno == ENODEV)
            return cam_errf(e, "%s: camera disconnected", name);
        return 0;
    }
    uint32_t got = f.fmt.pix.pixelformat;
    if (got != V4L2_PIX_FMT_YUYV && got != V4L2_PIX_FMT_MJPEG && got != V4L2_PIX_FMT_JPEG)
        return 0;
    uint32_t gw = f.fmt.pix.width, gh = f.fmt.pix.height;
    if (gw == 0 || gh == 0 || gw > FERC_VIDEO_MAX_SIDE || gh > FERC_VIDEO_MAX_SIDE ||
        (long)gw * gh > FERC_VIDEO_MAX_PIXELS)
        return cam_errf(e, "%s: driver granted an unusable frame size %ux%u", name, gw, gh);
    c->pixfmt = got;
    c->base.info.width = (int)gw;
    c->base.info.height = (int)gh;
    /* a YUYV line holds (w+1)/2 macropixels of 4 bytes; the conversion reads
     * all of the last one, so a line is at least that long */
    uint32_t minbpl = 4 * ((gw + 1) / 2);
    c->bpl = f.fmt.pix.bytesperline >= minbpl ? f.fmt.pix.bytesperline : minbpl;
    c->full = f.fmt.pix.quantization == V4L2_QUANTIZATION_FULL_RANGE;
    return 1;
}

/* Negotiates the format: the preferred order, then S_FMT until one sticks. */
static int cam_negotiate(cam *c, int w, int h, const char *format, ferc_err *e)
{
    const char *name = c->base.info.name;
    int has_yuyv = 0, has_mjpg = 0;
    char offered[256] = "";
    size_t olen = 0;
    for (uint32_t i = 0; i < 64; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof d);
        d.index = i;
        d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(c->fd, VIDIOC_ENUM_FMT, &d) < 0)
            break;
        char f4[8];
        if (olen < sizeof offered)
            olen += (size_t)snprintf(offered + olen, sizeof offered - olen, "%s%s",
                                     olen ? ", " : "", fourcc_str(f4, d.pixelformat));
        has_yuyv |= d.pixelformat == V4L2_PIX_FMT_YUYV;
        has_mjpg |= d.pixelformat == V4L2_PIX_FMT_MJPEG || d.pixelformat == V4L2_PIX_FMT_JPEG;
    }
    int any = !format || !strcasecmp(format, "auto");
    int want_yuyv = any || !strcasecmp(format, "yuyv");
    int want_mjpg = any || !strcasecmp(format, "mjpg") || !strcasecmp(format, "mjpeg");
    /* auto: YUYV (no decoding) up to 640x480, where USB 2 still gives ~30 fps;
     * MJPG above, where YUYV frame rates collapse. */
    int mjpg_first = !want_yuyv || (long)w * h > 640L * 480;
    uint32_t order[4];
    int n = 0;
    if (want_mjpg && has_mjpg && mjpg_first)
        order[n++] = V4L2_PIX_FMT_MJPEG;
    if (want_yuyv && has_yuyv)
        order[n++] = V4L2_PIX_FMT_YUYV;
    if (want_mjpg && has_mjpg && !mjpg_first)
        order[n++] = V4L2_PIX_FMT_MJPEG;
    if (want_mjpg && has_mjpg)
        order[n++] = V4L2_PIX_FMT_JPEG;
    for (int i = 0; i < n; i++) {
        int r = cam_set_format(c, order[i], w, h, e);
        if (r)
            return r > 0 ? 0 : -1;
    }
    return cam_errf(e, "%s: unsupported format: the camera offers %s; ferc reads %s", name,
                    olen ? offered : "no formats",
                    want_yuyv && want_mjpg ? "YUYV and MJPG" : want_yuyv ? "YUYV" : "MJPG");
}

/* Requests, maps and queues the driver buffers, and starts streaming. */
static int cam_start(cam *c, ferc_err *e)
{
    const char *name = c->base.info.name;
    struct v4l2_requestbuffers rb;
    memset(&rb, 0, sizeof rb);
    rb.count = CAM_NBUF;
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    if (xioctl(c->fd, VIDIOC_REQBUFS, &rb) < 0)
        return cam_errf(e, "%s: cannot allocate capture buffers (%s)", name,
                        errno == EBUSY ? "device busy: in use by another program?"
                                       : strerror(errno));
    if (rb.count < 2)
        return cam_errf(e, "%s: the driver gave %u capture buffers, need 2", name, rb.count);
    uint32_t nb = rb.count < CAM_NBUF ? rb.count : CAM_NBUF;
    for (uint32_t i = 0; i < nb; i++) {
        struct v4l2_buffer vb;
        memset(&vb, 0, sizeof vb);
        vb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        vb.memory = V4L2_MEMORY_MMAP;
        vb.index = i;
        if (xioctl(c->fd, VIDIOC_QUERYBUF, &vb) < 0)
            return cam_errf(e, "%s: VIDIOC_QUERYBUF failed (%s)", name, strerror(errno));
        void *p = mmap(NULL, vb.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, vb.m.offset);
        if (p == MAP_FAILED)
            return cam_errf(e, "%s: cannot map capture buffer (%s)", name, strerror(errno));
        c->map[i] = p;
        c->maplen[i] = vb.length;
        c->nmap = (int)i + 1;
        if (xioctl(c->fd, VIDIOC_QBUF, &vb) < 0)
            return cam_errf(e, "%s: VIDIOC_QBUF failed (%s)", name, strerror(errno));
    }
    enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c->fd, VIDIOC_STREAMON, &t) < 0)
        return cam_errf(e, "%s: cannot start streaming (%s)", name,
                        errno == ENOSPC ? "not enough USB bandwidth: try a smaller --size, "
                                          "MJPG, or another USB port"
                                        : strerror(errno));
    c->streaming = 1;
    return 0;
}

ferc_video *ferc_camera_open(const char *dev, int width, int height, const char *format,
                             ferc_err *e)
{
    char path[256];
    dev_path(path, sizeof path, dev);
    if (width == 0 && height == 0) {
        width = 640;
        height = 480;
    }
    if (width <= 0 || height <= 0 || width > FERC_VIDEO_MAX_SIDE || height > FERC_VIDEO_MAX_SIDE) {
        ferc_errf(e, "%s: bad requested size %dx%d", path, width, height);
        return NULL;
    }
    if (format && strcasecmp(format, "auto") && strcasecmp(format, "yuyv") &&
        strcasecmp(format, "mjpg") && strcasecmp(format, "mjpeg")) {
        ferc_errf(e, "%s: unknown camera format '%s' (auto, yuyv or mjpg)", path, format);
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        cam_errf(e, "%s: %s", path, errno == ENOENT ? "no such device" : strerror(errno));
        return NULL;
    }
    if (!S_ISCHR(st.st_mode)) {
        cam_errf(e, "%s: not a video device (not a character device)", path);
        return NULL;
    }
    cam *c = calloc(1, sizeof *c);
    if (!c) {
        ferc_errf(e, "%s: out of memory", path);
        return NULL;
    }
    snprintf(c->base.info.name, sizeof c->base.info.name, "%s", path);
    c->base.info.nframes = -1;
    c->base.info.frame = -1;
    c->base.read = cam_read;
    c->base.close = cam_close;
    c->latest = c->reading = -1;
    c->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (c->fd < 0) {
        int err = errno;
        cam_errf(e, "%s: cannot open: %s", path,
                 err == EBUSY    ? "device busy (in use by another program?)"
                 : err == EACCES ? "permission denied (is your user in the 'video' group?)"
                                 : strerror(err));
        goto fail;
    }
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(c->fd, VIDIOC_QUERYCAP, &cap) < 0) {
        cam_errf(e, "%s: not a Video4Linux2 device (%s)", path, strerror(errno));
        goto fail;
    }
    uint32_t caps = node_caps(&cap);
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
        cam_errf(e, "%s: \"%s\" is not a video capture device%s", path, (const char *)cap.card,
                 (caps & V4L2_CAP_META_CAPTURE) ? " (a metadata node; try the other number)" : "");
        goto fail;
    }
    if (!(caps & V4L2_CAP_STREAMING)) {
        cam_errf(e, "%s: \"%s\" does not support streaming I/O", path, (const char *)cap.card);
        goto fail;
    }
    snprintf(c->base.info.device, sizeof c->base.info.device, "%s", (const char *)cap.card);
    if (cam_negotiate(c, width, height, format, e))
        goto fail;
    char f4[8];
    snprintf(c->base.info.format, sizeof c->base.info.format, "V4L2 %s",
             fourcc_str(f4, c->pixfmt));
    struct v4l2_streamparm sp;
    memset(&sp, 0, sizeof sp);
    sp.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c->fd, VIDIOC_G_PARM, &sp) == 0 && sp.parm.capture.timeperframe.numerator > 0)
        c->base.info.fps = (double)sp.parm.capture.timeperframe.denominator /
                           sp.parm.capture.timeperframe.numerator;
    if (cam_start(c, e))
        goto fail;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->sync_ready = 1;
    if (pthread_create(&c->thread, NULL, cam_thread, c) != 0) {
        ferc_errf(e, "%s: cannot start the capture thread", path);
        goto fail;
    }
    c->thread_started = 1;
    return &c->base;
fail:
    cam_close(&c->base);
    return NULL;
}
