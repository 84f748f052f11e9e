/* serve.c: ./demo --serve [HOST:]PORT -- the web page and the JSON API.
 *
 *   GET  /, /app.js, /style.css   the page (web/, embedded at build time)
 *   GET  /api/v1/health           {"status":"ok"}
 *   GET  /api/v1/model            classes, input size, model card fields
 *   POST /api/v1/analyze          a JPEG or PNG body -> the faces as JSON
 *   GET  /api/v1/stream, /events  with --camera N or --video FILE: the
 *                                 server's own source, annotated, as MJPEG
 *                                 and as server-sent events (live.c)
 *
 * libmicrohttpd with a bounded thread pool and connection limit; analysers
 * (model + detector + buffers), one per core, each single-threaded, handed
 * out under a mutex.
 * Loopback only unless a host is given; any other bind needs a token (header
 * X-Ferc-Token, compared in constant time). Bodies over the size limit,
 * images over the pixel limit, malformed images and wrong content types get
 * a 4xx JSON error; slow clients are cut off by a connection timeout. Frames
 * are decoded in memory and never written or logged (nothing about requests
 * is logged; libmicrohttpd's own errors go to stderr). */
#include <arpa/inet.h>
#include <errno.h>
#include <cblas.h>
#include <microhttpd.h>
#include <omp.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "demo.h"
#include "image.h"
#include "json.h"
#include "live.h"
#include "serve.h"
#include "video.h"

#define SERVE_POOL 4                      /* HTTP worker threads */
#define SERVE_MAX_CONN 64
#define SERVE_TIMEOUT_S 10                /* idle/slow connections are closed */
#define SERVE_MAX_STREAMS 8               /* MJPEG/event clients of the server's own camera */

extern volatile sig_atomic_t demo_stop;   /* demo.c: set by SIGINT/SIGTERM */

typedef struct {
    const demo_opts *o;
    const char *model_path;
    ferc_faces *an[SERVE_POOL];           /* analysers, one per core (n_an) */
    int n_an;
    int busy[SERVE_POOL];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *const *classes;
    int K, input_size;
    const char *token;                    /* NULL: none required */
    live *live;                           /* the server's own camera or video, or NULL */
    int streams;                          /* stream clients now (under mu) */
} server;

typedef struct {
    char *body;
    size_t n, cap;
    int too_big;
} request;

/* ---- responses --------------------------------------------------------------- */

static void secure_headers(struct MHD_Response *r, int api)
{
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                            "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
                            "frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control", api ? "no-store" : "no-cache");
}

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                                size_t n, int copy, int api)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    secure_headers(r, api);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, const char *json)
{
    return send_buf(c, status, "application/json", json, strlen(json), 1, 1);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) return MHD_NO;
    fputs("{\"error\":", f);
    ferc_json_str(f, msg);
    fprintf(f, ",\"status\":%u}\n", status);
    fclose(f);
    enum MHD_Result r = send_json(c, status, s);
    free(s);
    return r;
}

/* ---- checks ---------------------------------------------------------------------- */

/* Constant-time comparison: the time does not depend on where they differ. */
static int token_ok(const char *want, const char *got)
{
    if (!got) return 0;
    size_t a = strlen(want), b = strlen(got);
    unsigned char d = (unsigned char)(a != b);
    for (size_t i = 0; i < a; i++) d |= (unsigned char)(want[i] ^ got[i < b ? i : 0]);
    return d == 0;
}

/* Image size from the header, before any decoding (PNG IHDR, JPEG SOF). */
static int peek_size(const unsigned char *d, size_t n, int *w, int *h)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 24 && !memcmp(d, png, 8) && !memcmp(d + 12, "IHDR", 4)) {
        unsigned long W = (unsigned long)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
        unsigned long H = (unsigned long)d[20] << 24 | d[21] << 16 | d[22] << 8 | d[23];
        *w = W > 1u << 30 ? 1 << 30 : (int)W, *h = H > 1u << 30 ? 1 << 30 : (int)H;
        return 0;
    }
    if (n >= 4 && d[0] == 0xff && d[1] == 0xd8) return ferc_jpeg_size(d, n, w, h);
    return -1;
}

/* ---- analysers ------------------------------------------------------------------ */

static int acquire(server *s)
{
    pthread_mutex_lock(&s->mu);
    int k = -1;
    for (;;) {
        for (int i = 0; i < s->n_an && k < 0; i++)
            if (!s->busy[i]) k = i;
        if (k >= 0) break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    s->busy[k] = 1;
    pthread_mutex_unlock(&s->mu);
    return k;
}

static void release(server *s, int k)
{
    pthread_mutex_lock(&s->mu);
    s->busy[k] = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result analyze(server *s, struct MHD_Connection *c, request *rq)
{
    int w = 0, h = 0;
    if (peek_size((const unsigned char *)rq->body, rq->n, &w, &h))
        return send_error(c, 400, "the body is not a PNG or JPEG image (no image header found)");
    if (w < 1 || h < 1 || (long long)w * h > s->o->max_pixels) {
        char msg[160];
        snprintf(msg, sizeof msg, "image of %dx%d pixels: the limit is %ld pixels", w, h, s->o->max_pixels);
        return send_error(c, 413, msg);
    }
    ferc_image im = {0, 0, 0, NULL};
    ferc_err e;
    if (ferc_image_load_rgb_mem(&im, rq->body, rq->n, "request body", &e)) return send_error(c, 400, e.msg);
    /* one thread per analysis: requests run side by side, one per core;
     * OpenMP teams inside each would fight over the cores and spin */
    omp_set_num_threads(1);
    int k = acquire(s);
    ferc_face *faces;
    int n;
    int rc = ferc_faces_analyze(s->an[k], &im, 0, &faces, &n, &e);
    char *out = rc ? NULL : demo_json_analysis(-1, im.w, im.h, faces, n, s->classes, s->K,
                                               ferc_faces_last_timing(s->an[k]), 1);
    release(s, k);
    ferc_image_free(&im);
    if (rc) return send_error(c, 500, e.msg);
    if (!out) return send_error(c, 500, "out of memory");
    enum MHD_Result r = send_json(c, 200, out);
    free(out);
    return r;
}

static enum MHD_Result model_info(server *s, struct MHD_Connection *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return MHD_NO;
    fputs("{\"classes\":[", f);
    for (int k = 0; k < s->K; k++) {
        fputs(k ? "," : "", f);
        ferc_json_str(f, s->classes[k]);
    }
    const char *base = strrchr(s->model_path, '/');
    fprintf(f, "],\"input_size\":%d,\"model\":", s->input_size);
    ferc_json_str(f, base ? base + 1 : s->model_path);
    fprintf(f, ",\"camera\":%s,", s->live ? "true" : "false");
    fprintf(f, "\"limits\":{\"max_body_bytes\":%ld,\"max_pixels\":%ld}}\n", s->o->max_body,
            s->o->max_pixels);
    fclose(f);
    enum MHD_Result r = send_json(c, 200, out);
    free(out);
    return r;
}

/* ---- the server's own camera: MJPEG and server-sent events ------------------------ */

typedef struct {
    server *s;
    int kind;
    long seen;
    char *buf;
    size_t n, off;
} stream_client;

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    stream_client *sc = cls;
    if (sc->off == sc->n) {
        free(sc->buf);
        sc->buf = NULL, sc->n = sc->off = 0;
        if (!live_next(sc->s->live, &sc->seen, sc->kind, &sc->buf, &sc->n)) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t k = sc->n - sc->off < max ? sc->n - sc->off : max;
    memcpy(out, sc->buf + sc->off, k);
    sc->off += k;
    return (ssize_t)k;
}

static void stream_free(void *cls)
{
    stream_client *sc = cls;
    pthread_mutex_lock(&sc->s->mu);
    sc->s->streams--;
    pthread_mutex_unlock(&sc->s->mu);
    free(sc->buf);
    free(sc);
}

static enum MHD_Result stream(server *s, struct MHD_Connection *c, int kind)
{
    pthread_mutex_lock(&s->mu);
    int full = s->streams >= SERVE_MAX_STREAMS;
    if (!full) s->streams++;
    pthread_mutex_unlock(&s->mu);
    if (full) return send_error(c, 503, "too many stream clients");
    stream_client *sc = calloc(1, sizeof *sc);
    struct MHD_Response *r =
        sc ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, sc, stream_free) : NULL;
    if (!r) {
        if (sc) {
            sc->s = s;
            stream_free(sc);
        } else {
            pthread_mutex_lock(&s->mu);
            s->streams--;
            pthread_mutex_unlock(&s->mu);
        }
        return MHD_NO;
    }
    sc->s = s, sc->kind = kind;
    MHD_add_response_header(r, "Content-Type",
                            kind == LIVE_MJPEG ? "multipart/x-mixed-replace; boundary=ferc" : "text/event-stream");
    secure_headers(r, 1);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the handler ------------------------------------------------------------------ */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq))) return MHD_NO;
        *con_cls = rq;
        return MHD_YES; /* headers only so far */
    }
    int is_post = !strcmp(method, "POST");
    if (is_post && *upload_size) {
        /* accumulate the body, up to the limit; beyond it only count */
        if (!rq->too_big && rq->n + *upload_size > (size_t)s->o->max_body) rq->too_big = 1;
        if (!rq->too_big) {
            if (rq->n + *upload_size > rq->cap) {
                size_t cap = rq->cap ? rq->cap * 2 : 65536;
                while (cap < rq->n + *upload_size) cap *= 2;
                char *b = realloc(rq->body, cap);
                if (!b) return MHD_NO;
                rq->body = b, rq->cap = cap;
            }
            memcpy(rq->body + rq->n, upload, *upload_size);
            rq->n += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is here: answer it */
    int api = !strncmp(url, "/api/", 5);
    if (!api) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD")) return send_error(c, 405, "method not allowed");
        for (const demo_asset *a = demo_assets; a->path; a++)
            if (!strcmp(url, a->path)) return send_buf(c, 200, a->type, a->data, a->size, 0, 0);
        return send_error(c, 404, "not found");
    }
    const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Ferc-Token");
    if (!tok && !strcmp(url, "/api/v1/stream")) /* an <img> cannot send headers */
        tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (s->token && !token_ok(s->token, tok))
        return send_error(c, 401, "missing or wrong X-Ferc-Token header");
    if (!strcmp(url, "/api/v1/health")) {
        if (strcmp(method, "GET")) return send_error(c, 405, "use GET");
        return send_json(c, 200, "{\"status\":\"ok\"}\n");
    }
    if (!strcmp(url, "/api/v1/model")) {
        if (strcmp(method, "GET")) return send_error(c, 405, "use GET");
        return model_info(s, c);
    }
    if (!strcmp(url, "/api/v1/stream") || !strcmp(url, "/api/v1/events")) {
        if (strcmp(method, "GET")) return send_error(c, 405, "use GET");
        if (!s->live) return send_error(c, 404, "no server camera: start bin/demo with --camera N or --video FILE");
        const char *le = live_error(s->live);
        if (le) return send_error(c, 503, le);
        return stream(s, c, !strcmp(url, "/api/v1/stream") ? LIVE_MJPEG : LIVE_EVENTS);
    }
    if (!strcmp(url, "/api/v1/analyze")) {
        if (!is_post) return send_error(c, 405, "use POST with a JPEG or PNG body");
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || (strncasecmp(ct, "image/jpeg", 10) && strncasecmp(ct, "image/png", 9)))
            return send_error(c, 415, "Content-Type must be image/jpeg or image/png");
        if (rq->too_big) {
            char msg[96];
            snprintf(msg, sizeof msg, "body over %ld bytes", s->o->max_body);
            return send_error(c, 413, msg);
        }
        if (!rq->n) return send_error(c, 400, "empty body: send a JPEG or PNG image");
        return analyze(s, c, rq);
    }
    return send_error(c, 404, "no such API endpoint");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    request *rq = *con_cls;
    if (rq) free(rq->body), free(rq);
    *con_cls = NULL;
}

static void log_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (strstr(msg, "no longer available")) return; /* a stream client went away: normal */
    fprintf(stderr, "demo: http: %s", msg);
}

/* ---- binding --------------------------------------------------------------------------- */

/* "[HOST:]PORT" -> a socket address. Loopback hosts: 127.0.0.0/8, ::1, localhost. */
static int parse_bind(const char *spec, struct sockaddr_storage *ss, socklen_t *len, int *loopback, char *shown,
                      size_t shown_n)
{
    char host[256] = "127.0.0.1";
    const char *colon = strrchr(spec, ':');
    const char *port = spec;
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (hl >= sizeof host) return -1;
        memcpy(host, spec, hl);
        host[hl] = 0;
        if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') memmove(host, host + 1, hl - 2), host[hl - 2] = 0;
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 1 || p > 65535 || !host[0]) return -1;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) || !res) return -2;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    snprintf(shown, shown_n, strchr(host, ':') ? "[%s]:%ld" : "%s:%ld", host, p);
    return 0;
}

int demo_serve(const demo_opts *o, const ferc_faces_opts *fo)
{
    server s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.model_path = fo->model;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int loopback = 0;
    char shown[300];
    int pr = parse_bind(o->serve, &ss, &sl, &loopback, shown, sizeof shown);
    if (pr) {
        fprintf(stderr, pr == -1 ? "demo: --serve expects [HOST:]PORT (PORT 1..65535), got '%s'\n"
                                 : "demo: --serve %s: cannot resolve the host\n",
                o->serve);
        return 2;
    }
    s.token = o->token && *o->token ? o->token : NULL;
    if (!loopback && !s.token) {
        fprintf(stderr, "demo: --serve %s listens beyond this machine: give --token SECRET (clients send it as the "
                        "X-Ferc-Token header; the page reads it from #token=SECRET)\n", shown);
        return 2;
    }
    ferc_err e;
    openblas_set_num_threads(1);
    s.n_an = o->threads > 0 ? o->threads : omp_get_num_procs();
    if (s.n_an > SERVE_POOL) s.n_an = SERVE_POOL;
    if (s.n_an < 1) s.n_an = 1;
    for (int i = 0; i < s.n_an; i++) {
        ferc_faces_opts f1 = *fo;
        f1.threads = 1; /* the pool gives the parallelism */
        if (!(s.an[i] = ferc_faces_new(&f1, &e))) {
            fprintf(stderr, "demo: %s\n", e.msg);
            for (int j = 0; j < i; j++) ferc_faces_free(s.an[j]);
            return 1;
        }
    }
    s.K = ferc_faces_classes(s.an[0], &s.classes);
    s.input_size = ferc_faces_input_size(s.an[0]);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    if (o->camera || o->video) {
        if (!(s.live = live_start(o, fo, &e))) {
            fprintf(stderr, "demo: %s\n", e.msg);
            for (int i = 0; i < s.n_an; i++) ferc_faces_free(s.an[i]);
            return 1;
        }
    }
    /* streams block in their reader until the next frame: with a server
     * camera every connection gets a thread (at most SERVE_MAX_CONN) */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (s.live) flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, &s, MHD_OPTION_EXTERNAL_LOGGER, log_error, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
        s.live ? MHD_OPTION_CONNECTION_LIMIT : MHD_OPTION_THREAD_POOL_SIZE,
        s.live ? (unsigned)SERVE_MAX_CONN : (unsigned)SERVE_POOL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONN,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    int rc = 0;
    if (!d) {
        fprintf(stderr, "demo: cannot listen on %s: %s (port in use, or not allowed)\n", shown,
                errno ? strerror(errno) : "libmicrohttpd refused");
        rc = 1;
    } else {
        if (!o->quiet)
            fprintf(stderr, "demo: serving http://%s/ (%s; %d HTTP threads, %d analysers; Ctrl-C stops)\n", shown,
                    loopback ? "this machine only" : "token required", SERVE_POOL, s.n_an);
        while (!demo_stop) usleep(100000);
        MHD_stop_daemon(d);
        if (!o->quiet) fprintf(stderr, "demo: server stopped\n");
    }
    live_stop(s.live);
    for (int i = 0; i < s.n_an; i++) ferc_faces_free(s.an[i]);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return rc;
}
