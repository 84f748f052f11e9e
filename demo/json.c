/* json.c: the --headless output, one JSON object per line. */
#include <math.h>
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
    fputs(",\"faces\":[", f);
    for (int i = 0; i < n; i++) {
        const ferc_face *a = &faces[i];
        fprintf(f, "%s{\"box\":[%d,%d,%d,%d]", i ? "," : "", a->box.x, a->box.y, a->box.w, a->box.h);
        if (!file) fprintf(f, ",\"track\":%d", a->track);
        fputs(",\"label\":", f);
        ferc_json_str(f, classes[a->label]);
        fputs(",\"score\":", f);
        num(f, a->prob[a->label], 4);
        probs(f, "probs", a->prob, classes, K);
        if (!file) probs(f, "raw", a->raw, classes, K); /* this frame's own, before smoothing */
        fputc('}', f);
    }
    fputs("],\"ms\":{", f);
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

void demo_json_faces_body(FILE *f, const ferc_face *faces, int n, const char *const *classes, int K,
                          const ferc_faces_timing *t)
{
    fputs("\"faces\":[", f);
    for (int i = 0; i < n; i++) {
        const ferc_face *a = &faces[i];
        fprintf(f, "%s{\"box\":[%d,%d,%d,%d],\"label\":", i ? "," : "", a->box.x, a->box.y, a->box.w, a->box.h);
        ferc_json_str(f, classes[a->label]);
        fputs(",\"score\":", f);
        num(f, a->prob[a->label], 4);
        probs(f, "probs", a->prob, classes, K);
        fputc('}', f);
    }
    fputs("],\"ms\":{\"detect\":", f);
    num(f, t->detect, 2);
    fputs(",\"classify\":", f);
    num(f, t->classify, 2);
    fputs("}", f);
}
