/* test_vwrite.c: the video writers. Motion-JPEG AVI and Y4M files written by
 * ferc_vwriter read back through ferc_video_open (size, rate, frame count,
 * pixels close to the source; gray exact through Y4M), the AVI's RIFF
 * sizes and idx1 checked byte by byte, OpenCV reading the AVI when
 * /usr/bin/python3 has cv2; ferc_jpeg_encode; errors: bad extension,
 * unwritable directory, bad size or rate, a write failing mid-file (file
 * size limit) that leaves neither a .tmp nor a half file behind. */
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "image.h"
#include "video.h"
#include "vwrite.h"
#include "test.h"
#include "tutil.h"

static int exists(const char *p) { return access(p, F_OK) == 0; }

static int tmp_exists(const char *p)
{
    char t[300];
    snprintf(t, sizeof t, "%s.tmp", p);
    return exists(t);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A smooth synthetic RGB frame, different for each k; constant over each
 * 2x2 block (x, y even), so 4:2:0 chroma loses nothing and the partial
 * blocks of odd sizes get colours of their own. */
static void synth_rgb(uint8_t *px, int w, int h, int k)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + 3 * ((size_t)y * w + x);
            p[0] = (uint8_t)(20 + 200 * (x & ~1) / w);
            p[1] = (uint8_t)(20 + 200 * (y & ~1) / h);
            p[2] = (uint8_t)(30 + 25 * k);
        }
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs(a[i] - b[i]);
    return s / (double)n;
}

/* Writes nf synthetic frames (frame k from synth_rgb, or gray level k*40
 * when gray) to p; 0 on success. */
static int write_clip(const char *p, int w, int h, double fps, int nf, int gray, ferc_err *e)
{
    ferc_vwriter *v = ferc_vwriter_open(p, w, h, fps, e);
    if (!v)
        return -1;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    int rc = 0;
    for (int k = 0; k < nf && !rc; k++) {
        if (gray)
            memset(rgb, k * 40, (size_t)w * h * 3);
        else
            synth_rgb(rgb, w, h, k);
        rc = ferc_vwriter_write(v, rgb, e);
    }
    CHECK(rc || ferc_vwriter_count(v) == nf);
    free(rgb);
    if (rc) {
        ferc_vwriter_close(v, NULL);
        return -1;
    }
    return ferc_vwriter_close(v, e);
}

/* Reads p back and compares with what write_clip wrote; returns the worst
 * mean abs difference per frame (-1 on a read error). */
static double read_back(const char *p, int w, int h, double fps, int nf, int gray,
                        const char *format)
{
    ferc_err e = {{0}};
    ferc_video *v = ferc_video_open(p, &e);
    CHECKF(v, "%s", e.msg);
    if (!v)
        return -1;
    const ferc_video_info *in = ferc_video_get_info(v);
    CHECKF(in->width == w && in->height == h, "%s: %dx%d", p, in->width, in->height);
    CHECKF(strcmp(in->format, format) == 0, "%s: format '%s'", p, in->format);
    CHECK_CLOSE(in->fps, fps, 1e-9, 0);
    CHECKF(in->nframes == nf, "%s: header says %ld frames", p, in->nframes);
    ferc_image im = {0};
    uint8_t *src = malloc((size_t)w * h * 3);
    double worst = 0;
    int k = 0, r;
    while ((r = ferc_video_read(v, &im, 3, &e)) == 1 && k < nf + 1) {
        if (gray)
            memset(src, k * 40, (size_t)w * h * 3);
        else
            synth_rgb(src, w, h, k);
        double d = mean_abs_diff(im.px, src, (size_t)w * h * 3);
        worst = d > worst ? d : worst;
        k++;
    }
    CHECKF(r == 0, "%s: %s", p, e.msg);
    CHECKF(k == nf, "%s: read %d frames, wrote %d", p, k, nf);
    free(src);
    ferc_image_free(&im);
    ferc_video_close(v);
    return r == 0 ? worst : -1;
}

/* -------------------------------------------------------------- AVI */

static int test_avi_roundtrip(void)
{
    static const struct {
        int w, h, nf;
        double fps;
    } cs[] = {{65, 49, 7, 30000.0 / 1001}, {64, 48, 3, 25}, {1, 1, 2, 12.5}, {320, 240, 1, 30}};
    for (size_t t = 0; t < sizeof cs / sizeof *cs; t++) {
        char p[128];
        snprintf(p, sizeof p, "%s/rt%zu.avi", tdir, t);
        ferc_err e = {{0}};
        CHECKF(write_clip(p, cs[t].w, cs[t].h, cs[t].fps, cs[t].nf, 0, &e) == 0, "%s", e.msg);
        CHECK(exists(p) && !tmp_exists(p));
        double d = read_back(p, cs[t].w, cs[t].h, cs[t].fps, cs[t].nf, 0, "AVI MJPG");
        CHECKF(d >= 0 && d < (cs[t].w < 8 ? 12 : 2.5), "%dx%d: mean abs diff %.2f", cs[t].w,
               cs[t].h, d);
        printf("  %dx%d, %d frames at %.3f fps: worst mean abs error %.2f\n", cs[t].w, cs[t].h,
               cs[t].nf, cs[t].fps, d);
    }
    /* the structure: RIFF and movi sizes, counts, idx1 entries pointing at the chunks */
    char p[128];
    tpath(p, sizeof p, "rt0.avi");
    size_t n = 0;
    uint8_t *b = read_all(p, &n);
    CHECK(b && n > 224);
    if (!b || n <= 224)
        return 0;
    CHECK(memcmp(b, "RIFF", 4) == 0 && le32(b + 4) == n - 8 && memcmp(b + 8, "AVI ", 4) == 0);
    CHECK(le32(b + 48) == 7 && le32(b + 140) == 7);                    /* avih, strh frames */
    CHECK(le32(b + 128) == 1001 && le32(b + 132) == 30000);            /* scale, rate */
    CHECK(le32(b + 32) == 33367);                                      /* us per frame */
    CHECK(memcmp(b + 212, "LIST", 4) == 0 && memcmp(b + 220, "movi", 4) == 0);
    size_t movi_end = 220 + le32(b + 216);
    CHECK(movi_end + 8 + 16 * 7 == n);
    CHECK(movi_end + 8 <= n && memcmp(b + movi_end, "idx1", 4) == 0 &&
          le32(b + movi_end + 4) == 16 * 7);
    uint32_t maxc = 0;
    int idx_ok = 1;
    size_t pos = 224;
    for (int k = 0; k < 7 && movi_end + 8 + 16 * 7 == n; k++) {
        const uint8_t *ix = b + movi_end + 8 + 16 * k;
        uint32_t off = le32(ix + 8) + 220, len = le32(ix + 12);
        idx_ok &= memcmp(ix, "00dc", 4) == 0 && le32(ix + 4) == 0x10 && off == pos &&
                  memcmp(b + off, "00dc", 4) == 0 && le32(b + off + 4) == len &&
                  b[off + 8] == 0xFF && b[off + 9] == 0xD8;
        pos += 8 + len + (len & 1);
        maxc = len > maxc ? len : maxc;
    }
    CHECK(idx_ok && pos == movi_end);
    CHECK(le32(b + 60) == maxc + 8 && le32(b + 144) == maxc + 8); /* suggested buffer */
    free(b);
    return 0;
}

/* OpenCV (cv2.VideoCapture) reads the AVI: frame count, size, colours. */
static int test_avi_opencv(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP("/usr/bin/python3 not found");
    if (system("/usr/bin/python3 -c 'import cv2' >/dev/null 2>&1") != 0)
        SKIP("/usr/bin/python3 has no cv2 (apt-get install python3-opencv)");
    enum { W = 65, H = 49, NF = 7 };
    char p[128], cmd[1024];
    tpath(p, sizeof p, "cv.avi");
    ferc_err e = {{0}};
    CHECKF(write_clip(p, W, H, 24, NF, 0, &e) == 0, "%s", e.msg);
    /* prints: header frame count, frames read, width, height, fps, mean R G B of frame 0 */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import sys, cv2\n"
             "c = cv2.VideoCapture(sys.argv[1])\n"
             "n = int(c.get(cv2.CAP_PROP_FRAME_COUNT)); fps = c.get(cv2.CAP_PROP_FPS)\n"
             "k = 0; m = None\n"
             "while True:\n"
             "    ok, f = c.read()\n"
             "    if not ok: break\n"
             "    if k == 0: h, w = f.shape[:2]; m = f.reshape(-1, 3).mean(0)\n"
             "    k += 1\n"
             "print(n, k, w, h, fps, m[2], m[1], m[0])\n' %s 2>&1",
             p);
    FILE *f = popen(cmd, "r");
    CHECK(f);
    if (!f)
        return 0;
    char line[512] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    pclose(f);
    long hn = -1, rn = -1;
    int w = 0, h = 0;
    double fps = 0, m[3] = {0, 0, 0};
    int got = sscanf(line, "%ld %ld %d %d %lf %lf %lf %lf", &hn, &rn, &w, &h, &fps, &m[0], &m[1], &m[2]);
    CHECKF(got == 8, "OpenCV output: %s", line);
    CHECKF(hn == NF && rn == NF && w == W && h == H, "OpenCV: %ld/%ld frames, %dx%d", hn, rn, w, h);
    CHECK_CLOSE(fps, 24, 1e-6, 0);
    uint8_t src[W * H * 3];
    synth_rgb(src, W, H, 0);
    for (int c = 0; c < 3; c++) {
        double s = 0;
        for (int i = 0; i < W * H; i++)
            s += src[3 * i + c];
        CHECK_CLOSE(m[c], s / (W * H), 2.0, 0);
    }
    printf("  OpenCV %s: %ld frames (header %ld), %dx%d, %.3g fps, frame 0 mean RGB %.1f %.1f %.1f\n",
           p, rn, hn, w, h, fps, m[0], m[1], m[2]);
    return 0;
}

/* -------------------------------------------------------------- Y4M */

static int test_y4m_roundtrip(void)
{
    static const struct {
        int w, h, nf;
        double fps;
    } cs[] = {{37, 23, 4, 25}, {64, 48, 2, 29.97}, {1, 1, 2, 60}, {2, 3, 1, 1}, {3, 2, 1, 0.5}};
    for (size_t t = 0; t < sizeof cs / sizeof *cs; t++) {
        for (int gray = 0; gray < 2; gray++) {
            char p[128];
            snprintf(p, sizeof p, "%s/rt%zu%s.Y4M", tdir, t, gray ? "g" : "");
            ferc_err e = {{0}};
            CHECKF(write_clip(p, cs[t].w, cs[t].h, cs[t].fps, cs[t].nf, gray, &e) == 0, "%s",
                   e.msg);
            CHECK(exists(p) && !tmp_exists(p));
            double d = read_back(p, cs[t].w, cs[t].h, cs[t].fps, cs[t].nf, gray,
                                 "Y4M C420jpeg full-range");
            /* gray: Y = level, Cb = Cr = 128 exactly, so exact; colour: rounding only */
            CHECKF(gray ? d == 0 : d >= 0 && d < 1, "%dx%d%s: mean abs diff %.3f", cs[t].w,
                   cs[t].h, gray ? " gray" : "", d);
            if (!gray)
                printf("  %dx%d, %d frames: worst mean abs error %.2f\n", cs[t].w, cs[t].h,
                       cs[t].nf, d);
        }
    }
    /* the header and the exact file size: 4:2:0 planes rounded up for odd sizes */
    char p[128];
    tpath(p, sizeof p, "rt0.Y4M");
    size_t n = 0;
    uint8_t *b = read_all(p, &n);
    const char *hdr = "YUV4MPEG2 W37 H23 F25:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL\n";
    CHECK(b && n > strlen(hdr) && memcmp(b, hdr, strlen(hdr)) == 0);
    CHECKF(n == strlen(hdr) + 4 * (6 + 37 * 23 + 2 * 19 * 12), "%zu bytes", n);
    free(b);
    tpath(p, sizeof p, "rt1.Y4M");
    b = read_all(p, &n);
    CHECK(b && memcmp(b, "YUV4MPEG2 W64 H48 F29970:1000 ", 30) == 0);
    free(b);
    return 0;
}

/* -------------------------------------------------------------- JPEG encoding */

static int test_jpeg_encode(void)
{
    enum { W = 40, H = 30 };
    uint8_t rgb[W * H * 3], noise[W * H * 3];
    synth_rgb(rgb, W, H, 1);
    uint32_t s = 12345;
    for (int i = 0; i < W * H * 3; i++) {
        s = s * 1664525u + 1013904223u;
        noise[i] = (uint8_t)(s >> 24);
    }
    ferc_err e = {{0}};
    uint8_t *j = NULL;
    size_t n = 0;
    ferc_image im = {0};
    CHECKF(ferc_jpeg_encode(rgb, W, H, 3, 90, &j, &n, &e) == 0, "%s", e.msg);
    CHECK(j && n > 100 && j[0] == 0xFF && j[1] == 0xD8 && j[n - 2] == 0xFF && j[n - 1] == 0xD9);
    CHECKF(ferc_image_load_rgb_mem(&im, j, n, "enc", &e) == 0, "%s", e.msg);
    CHECK(im.w == W && im.h == H && im.c == 3);
    if (im.px)
        CHECKF(mean_abs_diff(im.px, rgb, sizeof rgb) < 3, "%.2f", mean_abs_diff(im.px, rgb, sizeof rgb));
    ferc_image_free(&im);
    free(j);
    /* noise at quality 100 outgrows the first buffer (w*h*c/4): it must grow */
    CHECKF(ferc_jpeg_encode(noise, W, H, 3, 100, &j, &n, &e) == 0, "%s", e.msg);
    CHECKF(n > W * H * 3 / 4 + 1024, "%zu bytes", n);
    CHECKF(ferc_image_load_rgb_mem(&im, j, n, "noise", &e) == 0, "%s", e.msg);
    CHECK(im.w == W && im.h == H && im.c == 3);
    ferc_image_free(&im);
    free(j);
    /* gray (no chroma to lose): close even for noise */
    CHECKF(ferc_jpeg_encode(noise, W, H, 1, 100, &j, &n, &e) == 0, "%s", e.msg);
    CHECKF(ferc_image_load_mem(&im, j, n, "gray", &e) == 0, "%s", e.msg);
    CHECK(im.w == W && im.h == H && im.c == 1);
    if (im.px)
        CHECKF(mean_abs_diff(im.px, noise, (size_t)W * H) < 1.5, "%.2f",
               mean_abs_diff(im.px, noise, (size_t)W * H));
    ferc_image_free(&im);
    free(j);
    /* errors */
    CHECK(ferc_jpeg_encode(rgb, W, H, 3, 0, &j, &n, &e) == -1 && !j && n == 0);
    CHECKF(strstr(e.msg, "quality 0"), "%s", e.msg);
    CHECK(ferc_jpeg_encode(rgb, W, H, 2, 80, &j, &n, &e) == -1 && !j);
    CHECK(ferc_jpeg_encode(rgb, 0, H, 3, 80, &j, &n, &e) == -1 && !j);
    CHECK(ferc_jpeg_encode(NULL, W, H, 3, 80, &j, &n, &e) == -1 && !j);
    CHECK(ferc_jpeg_encode(rgb, W, H, 3, 80, NULL, &n, &e) == -1);
    return 0;
}

/* -------------------------------------------------------------- errors */

static int test_open_errors(void)
{
    ferc_err e = {{0}};
    char p[256];
    static const char *bad[] = {"x.mp4", "x", "noext.", "dir.avi/clip", "x.avi.mkv"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tpath(p, sizeof p, bad[i]);
        CHECK(!ferc_vwriter_open(p, 16, 16, 30, &e));
        CHECKF(strstr(e.msg, p) && strstr(e.msg, "unsupported output format") &&
                   strstr(e.msg, ".avi") && strstr(e.msg, ".y4m"),
               "%s", e.msg);
        CHECK(!exists(p) && !tmp_exists(p));
    }
    printf("  %s\n", e.msg);
    /* a directory that does not exist */
    tpath(p, sizeof p, "nodir/out.avi");
    CHECK(!ferc_vwriter_open(p, 16, 16, 30, &e));
    CHECKF(strstr(e.msg, p) && strstr(e.msg, "cannot create"), "%s", e.msg);
    printf("  %s\n", e.msg);
    /* one without write permission (root writes anyway: checked only as a user) */
    char ro[200];
    tpath(ro, sizeof ro, "ro");
    mkdir(ro, 0500);
    snprintf(p, sizeof p, "%s/out.y4m", ro);
    if (geteuid() != 0) {
        CHECK(!ferc_vwriter_open(p, 16, 16, 30, &e));
        CHECKF(strstr(e.msg, p) && strstr(e.msg, "Permission denied"), "%s", e.msg);
        printf("  %s\n", e.msg);
    } else {
        printf("  (running as root: the read-only directory case is not checked)\n");
    }
    chmod(ro, 0700);
    /* sizes and rates */
    tpath(p, sizeof p, "args.avi");
    CHECK(!ferc_vwriter_open(p, 0, 16, 30, &e) && strstr(e.msg, "frame size 0x16") &&
          strstr(e.msg, p));
    CHECK(!ferc_vwriter_open(p, 16, 20000, 30, &e) && strstr(e.msg, "out of range"));
    CHECK(!ferc_vwriter_open(p, 16, 16, 0, &e) && strstr(e.msg, "frame rate 0"));
    CHECK(!ferc_vwriter_open(p, 16, 16, NAN, &e) && strstr(e.msg, "frame rate"));
    CHECK(!ferc_vwriter_open(p, 16, 16, 5000, &e) && strstr(e.msg, "frame rate"));
    CHECK(!ferc_vwriter_open("", 16, 16, 30, &e));
    CHECK(!ferc_vwriter_open(NULL, 16, 16, 30, &e));
    CHECK(!exists(p) && !tmp_exists(p));
    /* NULL handles */
    CHECK(ferc_vwriter_close(NULL, &e) == 0);
    CHECK(ferc_vwriter_write(NULL, (const uint8_t *)"", &e) == -1);
    CHECK(ferc_vwriter_count(NULL) == 0);
    ferc_vwriter *v = ferc_vwriter_open(p, 4, 4, 30, &e);
    CHECK(v && exists(p) == 0 && tmp_exists(p)); /* only the tmp while open */
    CHECK(ferc_vwriter_write(v, NULL, &e) == -1);
    CHECK(ferc_vwriter_close(v, &e) == 0 && exists(p) && !tmp_exists(p)); /* 0 frames: valid */
    long nf = -1;
    ferc_video *r = ferc_video_open(p, &e);
    ferc_image im = {0};
    CHECKF(r, "%s", e.msg);
    if (r) {
        nf = ferc_video_get_info(r)->nframes;
        CHECK(ferc_video_read(r, &im, 3, &e) == 0);
    }
    CHECKF(nf <= 0, "%ld", nf);
    ferc_video_close(r);
    return 0;
}

/* A write that fails mid-file (the file size limit, RLIMIT_FSIZE, in a
 * child process): the error names the file, is sticky, close fails, and
 * neither the tmp nor a new file is left; an older file of the same name
 * is untouched. Exit status: 0 ok, else the number of the failed check. */
static int fsize_child(const char *p)
{
    FILE *f = fopen(p, "wb");
    if (!f || fputs("old", f) < 0 || fclose(f) != 0)
        return 1;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {20000, 20000};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 2;
    ferc_err e = {{0}};
    enum { W = 96, H = 80 };
    ferc_vwriter *v = ferc_vwriter_open(p, W, H, 30, &e);
    if (!v)
        return 3;
    static uint8_t rgb[W * H * 3];
    int failed_at = -1;
    for (int k = 0; k < 50 && failed_at < 0; k++) {
        synth_rgb(rgb, W, H, k);
        if (ferc_vwriter_write(v, rgb, &e))
            failed_at = k;
    }
    if (failed_at >= 0) {
        if (!strstr(e.msg, p) || !strstr(e.msg, "cannot write"))
            return 4;
        ferc_err e2 = {{0}};
        if (ferc_vwriter_write(v, rgb, &e2) != -1 || strcmp(e.msg, e2.msg) != 0)
            return 5; /* sticky */
    }
    ferc_err e3 = {{0}};
    if (ferc_vwriter_close(v, &e3) != -1 || !strstr(e3.msg, p))
        return 6;
    char t[300];
    snprintf(t, sizeof t, "%s.tmp", p);
    if (exists(t))
        return 7;
    size_t n = 0;
    uint8_t *b = read_all(p, &n);
    int same = b && n == 3 && memcmp(b, "old", 3) == 0;
    free(b);
    if (!same)
        return 8;
    printf("  write failure at frame %d: %s\n", failed_at, e3.msg);
    return 0;
}

static int test_write_failure(void)
{
    const char *ext[] = {"avi", "y4m"};
    for (int i = 0; i < 2; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/full.%s", tdir, ext[i]);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            int rc = fsize_child(p);
            fflush(stdout);
            _exit(rc);
        }
        int st = 0;
        CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status %d", ext[i], st);
    }
    return 0;
}

int main(void)
{
    tdir_make("test_vwrite");
    RUN(test_avi_roundtrip);
    RUN(test_avi_opencv);
    RUN(test_y4m_roundtrip);
    RUN(test_jpeg_encode);
    RUN(test_open_errors);
    RUN(test_write_failure);
    tdir_remove();
    return TEST_DONE("test_vwrite");
}
