/* json.c: the --headless output, one JSON object per line. */
#include <math.h>
#include <stdlib.h>
#include "demo.h"
#include "json.h"

static void num(FILE *f, double v, int digits)
{
    if (isfinite(v))
        fprintf(f, "%.*f", digits, v);
    else
        fputs("null", f);
}

/* ,"name":{"class":p,...} */
static void probs(FILE *f, const char *name, const float *p, const char *const *classes, int K)
{
    fprintf(f, ",\"%s\":{", name);
    for (int k = 0; k < K; k++) {
        fputs(k ? "," : "", f);
        ferc_json_str(f, classes[k]);
        fputc(':', f);
        num(f, p[k], 4);
    }
    fputc('}', f);
}

/* One face: box, [track,] label, score, probs[, raw]. video adds the track
 * id and this frame's own probabilities (before smoothing). */
static void face(FILE *f, const ferc_face *a, const char *const *classes, int K, int video)
{
    fprintf(f, "{\"box\":[%d,%d,%d,%d]", a->box.x, a->box.y, a->box.w, a->box.h);
    if (video) fprintf(f, ",\"track\":%d", a->track);
    fputs(",\"label\":", f);
    ferc_json_str(f, classes[a->label]);
    fputs(",\"score\":", f);
    num(f, a->prob[a->label], 4);
    probs(f, "probs", a->prob, classes, K);
    if (video) probs(f, "raw", a->raw, classes, K);
    fputc('}', f);
}

static void face_list(FILE *f, const ferc_face *faces, int n, const char *const *classes, int K, int video)
{
    fputs("\"faces\":[", f);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        face(f, &faces[i], classes, K, video);
    }
    fputc(']', f);
}

void demo_json_faces(FILE *f, const char *file, long frame, double time, const ferc_face *faces, int n,
                     const char *const *classes, int K, const ferc_faces_timing *t, double ms_capture)
{
    fputc('{', f);
    if (file) {
        fputs("\"file\":", f);
        ferc_json_str(f, file);
    } else {
        fprintf(f, "\"frame\":%ld,\"time\":", frame);
        num(f, time, 3);
    }
    fputc(',', f);
    face_list(f, faces, n, classes, K, !file);
    fputs(",\"ms\":{", f);
    if (!file) {
        fputs("\"capture\":", f);
        num(f, ms_capture, 2);
        fputc(',', f);
    }
    fputs("\"detect\":", f);
    num(f, t->detect, 2);
    fputs(",\"classify\":", f);
    num(f, t->classify, 2);
    fputs(",\"track\":", f);
    num(f, t->track, 3);
    fputs("}}\n", f);
}

char *demo_json_analysis(long frame, int w, int h, const ferc_face *faces, int n, const char *const *classes, int K,
                         const ferc_faces_timing *t, int newline)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    fputc('{', f);
    if (frame >= 0) fprintf(f, "\"frame\":%ld,", frame);
    fprintf(f, "\"width\":%d,\"height\":%d,", w, h);
    face_list(f, faces, n, classes, K, 0);
    fputs(",\"ms\":{\"detect\":", f);
    num(f, t->detect, 2);
    fputs(",\"classify\":", f);
    num(f, t->classify, 2);
    fputs(newline ? "}}\n" : "}}", f);
    if (fclose(f)) {
        free(out);
        return NULL;
    }
    return out;
}
