/* test_camera.c: the V4L2 capture path (v4l2.c) against a fake camera, since
 * test machines have none (and no v4l2loopback). The test binary defines
 * ioctl(), poll(), mmap() and munmap(); being in the executable, they take
 * the place of libc's for the statically linked library. Calls on the fake
 * device's descriptor (the library opens /dev/null, a real character device)
 * are answered by a small V4L2 driver model below; all others go to the
 * kernel through syscall(). The model produces frames at 30 fps whose
 * content encodes their sequence number, so the test can check negotiation,
 * YUYV and MJPEG decoding, newest-frame semantics (frames dropped, never
 * stale), unplugging (ENODEV, POLLHUP), a stalled camera, bad frames, busy
 * devices and unsupported formats, and that every error names the device and
 * close() never hangs. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <jpeglib.h> /* needs stdio.h first */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/videodev2.h>
#include "video.h"
#include "test.h"

#define DEV "/dev/null"
#define NB 4
#define PERIOD_NS 33333333L     /* 30 fps */
#define NJPEG 8

/* The fake driver. Control flags are atomics: the capture thread reads them. */
static struct {
    atomic_int active, unplugged, stalled, bad_jpeg; /* bad_jpeg: 1 odd frames, 2 all */
    int busy;                   /* S_FMT fails with EBUSY */
    uint32_t offer[3];
    int noffer;
    uint32_t fmt;
    int w, h, bpl;
    uint8_t *mem[NB];
    size_t len;
    int nbuf, queued[NB], streaming;
    long seq;                   /* frames delivered */
    struct timespec t0;         /* stream start */
    dev_t rdev;                 /* /dev/null's device number */
    uint8_t *jpeg[NJPEG];       /* 640x480 gray JPEGs (no DHT), value 20 + 25k */
    size_t jlen[NJPEG];
} F;

static int is_fake(int fd)
{
    struct stat st;
    return atomic_load(&F.active) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
           st.st_rdev == F.rdev;
}

static double now_since_start(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - F.t0.tv_sec) + (t.tv_nsec - F.t0.tv_nsec) * 1e-9;
}

/* Fills buffer i with frame F.seq; returns bytes used. */
static size_t fake_fill(int i)
{
    long s = F.seq;
    if (F.fmt == V4L2_PIX_FMT_YUYV) {
        /* full-range luma: the first 4 pixels hold the sequence number in
         * base 256 (gray output reads it back exactly), the rest is 100. */
        uint8_t *p = F.mem[i];
        for (int y = 0; y < F.h; y++)
            for (int x = 0; x < F.w; x++) {
                uint8_t *q = p + (size_t)y * F.bpl + 2 * x;
                q[0] = 100;
                q[1] = 128;
            }
        for (int k = 0; k < 4; k++)
            p[2 * k] = (uint8_t)(s >> (8 * k));
        return (size_t)F.bpl * F.h;
    }
    int bad = atomic_load(&F.bad_jpeg);
    size_t n = F.jlen[s % NJPEG];
    memcpy(F.mem[i], F.jpeg[s % NJPEG], n);
    if (bad == 2 || (bad == 1 && (s & 1)))
        n = 300; /* cut short: "truncated JPEG" */
    return n;
}

static int fake_ioctl(unsigned long req, void *arg)
{
    switch (req) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof *c);
        strcpy((char *)c->card, "Fake Camera");
        strcpy((char *)c->driver, "fake");
        strcpy((char *)c->bus_info, "test");
        c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->index >= (uint32_t)F.noffer)
            return errno = EINVAL, -1;
        d->pixelformat = F.offer[d->index];
        strcpy((char *)d->description, "fake format");
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: { /* 320x240, 640x480; GREY: stepwise */
        struct v4l2_frmsizeenum *f = arg;
        if (f->pixel_format == V4L2_PIX_FMT_GREY && f->index == 0) {
            f->type = V4L2_FRMSIZE_TYPE_STEPWISE;
            f->stepwise = (struct v4l2_frmsize_stepwise){16, 1920, 16, 16, 1080, 8};
            return 0;
        }
        if (f->index > 1)
            return errno = EINVAL, -1;
        f->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        f->discrete.width = f->index ? 640 : 320;
        f->discrete.height = f->index ? 480 : 240;
        return 0;
    }
    case VIDIOC_ENUM_FRAMEINTERVALS: { /* 30 and 15 fps */
        struct v4l2_frmivalenum *f = arg;
        if (f->index > 1)
            return errno = EINVAL, -1;
        f->type = V4L2_FRMIVAL_TYPE_DISCRETE;
        f->discrete.numerator = 1;
        f->discrete.denominator = f->index ? 15 : 30;
        return 0;
    }
    case VIDIOC_S_FMT: {
        struct v4l2_format *f = arg;
        if (F.busy)
            return errno = EBUSY, -1;
        uint32_t pf = f->fmt.pix.pixelformat;
        int ok = 0;
        for (int i = 0; i < F.noffer; i++)
            ok |= F.offer[i] == pf;
        F.fmt = ok ? pf : F.offer[0]; /* drivers substitute, they do not fail */
        /* two sizes: 640x480, or 320x240 when less is asked */
        F.w = f->fmt.pix.width >= 640 ? 640 : 320;
        F.h = F.w * 3 / 4;
        F.bpl = F.fmt == V4L2_PIX_FMT_YUYV ? 2 * F.w + 64 : 0; /* padded lines */
        F.len = F.fmt == V4L2_PIX_FMT_YUYV ? (size_t)F.bpl * F.h : 1 << 20;
        f->fmt.pix.pixelformat = F.fmt;
        f->fmt.pix.width = (uint32_t)F.w;
        f->fmt.pix.height = (uint32_t)F.h;
        f->fmt.pix.bytesperline = (uint32_t)F.bpl;
        f->fmt.pix.sizeimage = (uint32_t)F.len;
        f->fmt.pix.quantization = V4L2_QUANTIZATION_FULL_RANGE;
        return 0;
    }
    case VIDIOC_G_PARM: {
        struct v4l2_streamparm *p = arg;
        p->parm.capture.timeperframe.numerator = 1;
        p->parm.capture.timeperframe.denominator = 30;
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        for (int i = 0; i < F.nbuf; i++)
            free(F.mem[i]);
        F.nbuf = r->count > NB ? NB : (int)r->count;
        r->count = (uint32_t)F.nbuf;
        for (int i = 0; i < F.nbuf; i++) {
            F.mem[i] = calloc(1, F.len);
            F.queued[i] = 0;
        }
        return 0;
    }
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= (uint32_t)F.nbuf)
            return errno = EINVAL, -1;
        b->length = (uint32_t)F.len;
        b->m.offset = b->index << 20;
        return 0;
    }
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (atomic_load(&F.unplugged))
            return errno = ENODEV, -1;
        if (b->index >= (uint32_t)F.nbuf)
            return errno = EINVAL, -1;
        F.queued[b->index] = 1;
        return 0;
    }
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *b = arg;
        if (atomic_load(&F.unplugged))
            return errno = ENODEV, -1;
        if (atomic_load(&F.stalled) || now_since_start() < F.seq * (PERIOD_NS * 1e-9))
            return errno = EAGAIN, -1;
        for (int i = 0; i < F.nbuf; i++)
            if (F.queued[i]) {
                F.queued[i] = 0;
                b->index = (uint32_t)i;
                b->bytesused = (uint32_t)fake_fill(i);
                b->flags = 0;
                b->sequence = (uint32_t)F.seq;
                b->timestamp.tv_sec = F.seq / 30;
                b->timestamp.tv_usec = F.seq % 30 * 33333;
                F.seq++;
                return 0;
            }
        return errno = EAGAIN, -1;
    }
    case VIDIOC_STREAMON:
        F.streaming = 1;
        F.seq = 0;
        clock_gettime(CLOCK_MONOTONIC, &F.t0);
        return 0;
    case VIDIOC_STREAMOFF:
        F.streaming = 0;
        return 0;
    default:
        return errno = ENOTTY, -1;
    }
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (is_fake(fd))
        return fake_ioctl(req, arg);
    return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* glibc declares poll's fds write-only (an access attribute), so gcc
 * thinks reading fds[0].fd reads uninitialised memory. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/* Ready when the next frame is due (sleeping until then, within the
 * timeout); POLLERR|POLLHUP once unplugged; never ready while stalled. */
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (n != 1 || !is_fake(fds[0].fd))
        return (int)syscall(SYS_poll, fds, n, timeout);
    fds[0].revents = 0;
    if (atomic_load(&F.unplugged)) {
        fds[0].revents = POLLERR | POLLHUP;
        return 1;
    }
    double wait = F.seq * (PERIOD_NS * 1e-9) - now_since_start();
    if (atomic_load(&F.stalled) || wait > timeout * 1e-3) {
        struct timespec ts = {timeout / 1000, timeout % 1000 * 1000000L};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
    fds[0].revents = POLLIN;
    return 1;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (fd >= 0 && is_fake(fd)) {
        int i = (int)(off >> 20);
        return i < F.nbuf && len <= F.len ? F.mem[i] : MAP_FAILED;
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
    for (int i = 0; i < F.nbuf; i++)
        if (addr == F.mem[i])
            return 0;
    return (int)syscall(SYS_munmap, addr, len);
}

/* Resets the model: offered formats, flags; frees old buffers. */
static void fake_reset(int noffer, const uint32_t *offer)
{
    for (int i = 0; i < F.nbuf; i++)
        free(F.mem[i]);
    F.nbuf = 0;
    F.noffer = noffer;
    memcpy(F.offer, offer, sizeof *offer * (size_t)noffer);
    F.busy = 0;
    atomic_store(&F.unplugged, 0);
    atomic_store(&F.stalled, 0);
    atomic_store(&F.bad_jpeg, 0);
    atomic_store(&F.active, 1);
}

static const uint32_t both[2] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG};

/* Sequence number encoded in a gray YUYV frame's first 4 pixels. */
static long seq_of(const ferc_image *im)
{
    return im->px[0] | (long)im->px[1] << 8 | (long)im->px[2] << 16 | (long)im->px[3] << 24;
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int test_yuyv_newest(void)
{
    fake_reset(2, both);
    ferc_err e = {{0}};
    ferc_video *v = ferc_camera_open("/dev/null", 0, 0, NULL, &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return 0;
    const ferc_video_info *in = ferc_video_get_info(v);
    CHECKF(!strcmp(in->format, "V4L2 YUYV") && !strcmp(in->device, "Fake Camera"), "%s %s",
           in->format, in->device);
    CHECK(in->width == 640 && in->height == 480 && in->fps == 30 && in->nframes == -1);
    ferc_image im = {0};
    long last = -1;
    for (int i = 0; i < 5; i++) {
        CHECKF(ferc_video_read(v, &im, 1, &e) == 1, "%s", e.msg);
        long s = seq_of(&im);
        CHECKF(s > last, "frame %ld after %ld", s, last);
        CHECK(im.px[640 * 479 + 639] == 100 && in->frame == i);
        last = s;
    }
    /* RGB: neutral chroma, full range: R = G = B = Y */
    CHECK(ferc_video_read(v, &im, 3, &e) == 1 && im.c == 3);
    CHECK(im.px && im.px[3 * 1000] == 100 && im.px[3 * 1000 + 1] == 100 && im.px[3 * 1000 + 2] == 100);
    /* a slow consumer gets the newest frame, not a queued old one */
    CHECK(ferc_video_read(v, &im, 1, &e) == 1);
    last = seq_of(&im);
    struct timespec ts = {0, 300000000L};
    nanosleep(&ts, NULL);
    CHECK(ferc_video_read(v, &im, 1, &e) == 1);
    long jump = seq_of(&im) - last;
    CHECKF(jump >= 6, "after 300 ms the next frame is only %ld newer", jump);
    CHECKF(in->dropped >= 5, "dropped %ld", in->dropped);
    CHECK(in->time > 0.3);
    printf("  after a 300 ms pause: %ld frames newer, %ld dropped so far, t = %.3f s\n", jump,
           in->dropped, in->time);
    ferc_image_free(&im);
    double t = mono_ms();
    ferc_video_close(v);
    CHECKF(mono_ms() - t < 500, "close took %.0f ms", mono_ms() - t);
    return 0;
}

static int test_mjpeg(void)
{
    fake_reset(2, both);
    ferc_err e = {{0}};
    /* auto above 640x480 prefers MJPG; the driver grants 640x480 */
    ferc_video *v = ferc_camera_open("/dev/null", 1280, 720, "auto", &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return 0;
    const ferc_video_info *in = ferc_video_get_info(v);
    CHECKF(!strcmp(in->format, "V4L2 MJPG") && in->width == 640 && in->height == 480, "%s %dx%d",
           in->format, in->width, in->height);
    ferc_image im = {0};
    for (int i = 0; i < 4; i++) {
        CHECKF(ferc_video_read(v, &im, i & 1 ? 3 : 1, &e) == 1, "%s", e.msg);
        if (!im.px)
            break;
        int val = im.px[im.c * (240 * 640 + 320)];
        CHECKF((val - 20) % 25 <= 1 || (val - 20) % 25 >= 24, "pixel %d", val);
    }
    /* every other frame corrupt: reads skip them */
    atomic_store(&F.bad_jpeg, 1);
    for (int i = 0; i < 4; i++)
        CHECKF(ferc_video_read(v, &im, 3, &e) == 1, "%s", e.msg);
    /* all corrupt: an error naming the device and the JPEG problem */
    atomic_store(&F.bad_jpeg, 2);
    int r;
    double t = mono_ms();
    while ((r = ferc_video_read(v, &im, 3, &e)) == 1 && mono_ms() - t < 3000)
        ;
    CHECK(r == -1);
    CHECKF(strstr(e.msg, "/dev/null: frame") && strstr(e.msg, "JPEG"), "%s", e.msg);
    printf("  %s\n", e.msg);
    ferc_image_free(&im);
    ferc_video_close(v);
    /* small request: 320x240, YUYV preferred; explicit mjpg honoured */
    fake_reset(2, both);
    v = ferc_camera_open("/dev/null", 320, 240, "mjpg", &e);
    CHECK(v && !strcmp(ferc_video_get_info(v)->format, "V4L2 MJPG"));
    ferc_video_close(v);
    v = ferc_camera_open("/dev/null", 320, 200, NULL, &e);
    CHECK(v && !strcmp(ferc_video_get_info(v)->format, "V4L2 YUYV"));
    CHECK(v && ferc_video_get_info(v)->width == 320 && ferc_video_get_info(v)->height == 240);
    CHECK(v && ferc_video_read(v, &im, 3, &e) == 1 && im.w == 320 && im.h == 240);
    ferc_image_free(&im);
    ferc_video_close(v);
    return 0;
}

static int test_unplug(void)
{
    fake_reset(2, both);
    ferc_err e = {{0}};
    ferc_video *v = ferc_camera_open("/dev/null", 640, 480, "yuyv", &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return 0;
    ferc_image im = {0};
    CHECK(ferc_video_read(v, &im, 3, &e) == 1);
    CHECK(ferc_video_read(v, &im, 3, &e) == 1);
    atomic_store(&F.unplugged, 1);
    double t = mono_ms();
    int r;
    while ((r = ferc_video_read(v, &im, 3, &e)) == 1 && mono_ms() - t < 3000)
        ; /* at most the frame already captured */
    CHECK(r == -1);
    CHECKF(mono_ms() - t < 1000, "noticed after %.0f ms", mono_ms() - t);
    CHECKF(strstr(e.msg, "/dev/null: camera disconnected") &&
           strstr(e.msg, "video devices present"), "%s", e.msg);
    printf("  %s\n", e.msg);
    ferc_err e2 = {{0}};
    CHECK(ferc_video_read(v, &im, 3, &e2) == -1 && !strcmp(e.msg, e2.msg)); /* sticky */
    ferc_image_free(&im);
    ferc_video_close(v);
    return 0;
}

static int test_stall(void)
{
    fake_reset(1, both);
    ferc_err e = {{0}};
    ferc_video *v = ferc_camera_open("/dev/null", 640, 480, NULL, &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return 0;
    ferc_image im = {0};
    CHECK(ferc_video_read(v, &im, 3, &e) == 1);
    atomic_store(&F.stalled, 1);
    double t = mono_ms();
    int r;
    while ((r = ferc_video_read(v, &im, 3, &e)) == 1 && mono_ms() - t < 10000)
        ;
    double dt = mono_ms() - t;
    CHECK(r == -1);
    CHECKF(dt > 4000 && dt < 7000, "gave up after %.0f ms", dt);
    CHECKF(strstr(e.msg, "/dev/null: no frames for 5 seconds"), "%s", e.msg);
    /* close while stalled returns promptly */
    t = mono_ms();
    ferc_video_close(v);
    CHECKF(mono_ms() - t < 500, "close took %.0f ms", mono_ms() - t);
    ferc_image_free(&im);
    return 0;
}

static int test_refusals(void)
{
    ferc_err e = {{0}};
    static const uint32_t nv12[2] = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_GREY};
    fake_reset(2, nv12);
    CHECK(!ferc_camera_open("/dev/null", 0, 0, NULL, &e));
    CHECKF(strstr(e.msg, "/dev/null: unsupported format: the camera offers NV12, GREY; ferc "
                         "reads YUYV and MJPG"), "%s", e.msg);
    printf("  %s\n", e.msg);
    fake_reset(1, both); /* YUYV only */
    CHECK(!ferc_camera_open("/dev/null", 0, 0, "mjpg", &e));
    CHECKF(strstr(e.msg, "offers YUYV; ferc reads MJPG"), "%s", e.msg);
    fake_reset(2, both);
    F.busy = 1;
    CHECK(!ferc_camera_open("/dev/null", 0, 0, NULL, &e));
    CHECKF(strstr(e.msg, "/dev/null: device busy"), "%s", e.msg);
    atomic_store(&F.active, 0);
    CHECK(!ferc_camera_open("/dev/null", 0, 0, NULL, &e)); /* the real /dev/null */
    CHECKF(strstr(e.msg, "/dev/null: not a Video4Linux2 device"), "%s", e.msg);
    return 0;
}

static int test_describe(void)
{
    ferc_err e = {{0}};
    char *rep = NULL;
    static const uint32_t three[3] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_GREY};
    fake_reset(3, three);
    CHECKF(ferc_camera_describe("/dev/null", &rep, &e) == 1, "%s", e.msg);
    printf("%s", rep ? rep : "(null)\n");
    CHECK(rep && strstr(rep, "/dev/null: \"Fake Camera\" (fake, test)\n"));
    CHECK(rep && strstr(rep, "  YUYV (fake format): 320x240 (30, 15 fps), 640x480 (30, 15 fps)\n"));
    CHECK(rep && strstr(rep, "  MJPG (fake format): 320x240"));
    CHECK(rep && strstr(rep, "  GREY (fake format) [not supported by ferc]: 16x16 to 1920x1080 "
                             "in steps of 16x8\n"));
    free(rep);
    atomic_store(&F.active, 0);
    CHECK(ferc_camera_describe("/dev/null", &rep, &e) == -1 && !rep);
    CHECKF(strstr(e.msg, "/dev/null: cannot query: not a Video4Linux2 device"), "%s", e.msg);
    if (access("/dev/video9", F_OK) != 0) {
        CHECK(ferc_camera_describe("9", &rep, &e) == -1 && !rep);
        CHECKF(strstr(e.msg, "/dev/video9: no such device; "), "%s", e.msg);
    }
    return 0;
}

/* 640x480 gray JPEGs of value 20 + 25k, Huffman tables stripped as webcams do. */
static void make_jpegs(void)
{
    uint8_t *px = malloc(640 * 480);
    for (int k = 0; k < NJPEG; k++) {
        memset(px, 20 + 25 * k, 640 * 480);
        struct jpeg_compress_struct ci;
        struct jpeg_error_mgr jerr;
        unsigned char *out = NULL;
        unsigned long len = 0;
        ci.err = jpeg_std_error(&jerr);
        jpeg_create_compress(&ci);
        jpeg_mem_dest(&ci, &out, &len);
        ci.image_width = 640;
        ci.image_height = 480;
        ci.input_components = 1;
        ci.in_color_space = JCS_GRAYSCALE;
        jpeg_set_defaults(&ci);
        jpeg_start_compress(&ci, TRUE);
        while (ci.next_scanline < 480) {
            JSAMPROW row = px + (size_t)ci.next_scanline * 640;
            jpeg_write_scanlines(&ci, &row, 1);
        }
        jpeg_finish_compress(&ci);
        jpeg_destroy_compress(&ci);
        size_t r = 2, w = 2; /* drop DHT (FFC4) segments before the scan */
        while (r + 4 <= len && out[r] == 0xFF && out[r + 1] != 0xDA) {
            size_t l = 2 + ((size_t)out[r + 2] << 8 | out[r + 3]);
            if (out[r + 1] != 0xC4) {
                memmove(out + w, out + r, l);
                w += l;
            }
            r += l;
        }
        memmove(out + w, out + r, len - r);
        F.jpeg[k] = out;
        F.jlen[k] = w + len - r;
    }
    free(px);
}

int main(void)
{
    struct stat st;
    if (stat(DEV, &st) != 0 || !S_ISCHR(st.st_mode)) {
        printf("SKIP all: %s is not a character device\n", DEV);
        return TEST_DONE("test_camera");
    }
    F.rdev = st.st_rdev;
    make_jpegs();
    RUN(test_yuyv_newest);
    RUN(test_mjpeg);
    RUN(test_unplug);
    RUN(test_stall);
    RUN(test_refusals);
    RUN(test_describe);
    fake_reset(0, both);
    atomic_store(&F.active, 0);
    for (int k = 0; k < NJPEG; k++)
        free(F.jpeg[k]);
    return TEST_DONE("test_camera");
}
