/* json.c: the --headless output, one JSON object per line. */
#include <math.h>
#include "demo.h"

void demo_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void num(FILE *f, double v, int digits)
{
    if (isfinite(v))
        fprintf(f, "%.*f", digits, v);
    else
        fputs("null", f);
}

void demo_json_faces(FILE *f, const char *file, long frame, double time, const ferc_face *faces, int n,
                     const char *const *classes, int K, const ferc_faces_timing *t, double ms_capture)
{
    fputc('{', f);
    if (file) {
        fputs("\"file\":", f);
        demo_json_str(f, file);
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
        demo_json_str(f, classes[a->label]);
        fputs(",\"score\":", f);
        num(f, a->prob[a->label], 4);
        fputs(",\"probs\":{", f);
        for (int k = 0; k < K; k++) {
            fputs(k ? "," : "", f);
            demo_json_str(f, classes[k]);
            fputc(':', f);
            num(f, a->prob[k], 4);
        }
        fputc('}', f);
        if (!file) {
            /* this frame's own probabilities, before smoothing */
            fputs(",\"raw\":{", f);
            for (int k = 0; k < K; k++) {
                fputs(k ? "," : "", f);
                demo_json_str(f, classes[k]);
                fputc(':', f);
                num(f, a->raw[k], 4);
            }
            fputc('}', f);
        }
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
