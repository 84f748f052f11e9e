/* overlay.c: boxes, tags, probability bars and the status panel of ./demo
 * drawn onto an RGB frame (see overlay.h for the layout). */
#include "overlay.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "classmap.h"
#include "font.h"

#define BAR_LEN 60          /* bar length at scale 1, pixels */
#define NAME_MAX_CHARS 10   /* longer class names are cut */
#define SHADE_ALPHA 160     /* of 256: opacity of the dark text background */

static const ferc_rgb TEXT_LIGHT = {240, 240, 240};
static const ferc_rgb TEXT_DARK = {16, 16, 16};
static const ferc_rgb BAR_TRACK = {72, 72, 72};

/* Colours keyed by the canonical emotion name (classmap.h). */
static const struct {
    const char *name;
    ferc_rgb col;
} named[] = {
    {"anger", {235, 50, 45}},    {"contempt", {240, 140, 30}}, {"disgust", {50, 175, 70}},
    {"fear", {160, 100, 240}},   {"happy", {250, 220, 40}},    {"sad", {50, 120, 245}},
    {"sadness", {50, 120, 245}}, {"surprise", {40, 215, 225}}, {"neutral", {175, 175, 175}},
};

static const ferc_rgb fallback[] = {
    {245, 105, 180}, {150, 230, 110}, {255, 175, 120}, {120, 165, 210},
    {210, 190, 120}, {100, 220, 170}, {200, 120, 120}, {170, 140, 220},
};

ferc_rgb ferc_overlay_color(const char *name, int k)
{
    const char *canon = ferc_emotion_canonical(ferc_emotion_group(name));
    if (canon)
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (!strcmp(named[i].name, canon)) return named[i].col;
    int nf = (int)(sizeof fallback / sizeof fallback[0]);
    return fallback[((k % nf) + nf) % nf];
}

int ferc_overlay_scale(int w)
{
    return w >= 2400 ? 3 : w >= 900 ? 2 : 1;
}

/* Blends col over [x, x+w) x [y, y+h) (clipped) with opacity a/256. */
static void shade(ferc_canvas *c, int x, int y, int w, int h, ferc_rgb col, int a)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    const int na = 256 - a;
    for (int yy = y0; yy < y1; yy++) {
        uint8_t *p = c->px + ((size_t)yy * c->w + x0) * 3;
        for (int xx = x0; xx < x1; xx++, p += 3) {
            p[0] = (uint8_t)((p[0] * na + col.r * a) >> 8);
            p[1] = (uint8_t)((p[1] * na + col.g * a) >> 8);
            p[2] = (uint8_t)((p[2] * na + col.b * a) >> 8);
        }
    }
}

/* Clamps v so that [v, v+len) lies in [0, lim) when it can; 0 when len > lim. */
static int clampi(int v, int len, int lim)
{
    if (v + len > lim) v = lim - len;
    return v < 0 ? 0 : v;
}

static float prob01(float p)
{
    return p > 0.0f ? (p < 1.0f ? p : 1.0f) : 0.0f;   /* NaN -> 0 */
}

/* Class name for display, cut to NAME_MAX_CHARS. */
static void class_name(char *buf, size_t n, const char *const *classes, int k)
{
    if (classes && classes[k])
        snprintf(buf, n, "%.*s", NAME_MAX_CHARS, classes[k]);
    else
        snprintf(buf, n, "%d", k);
}

static void draw_tag(ferc_canvas *c, const ferc_face *f, const char *const *classes, int K, int s)
{
    const ferc_haar_box *b = &f->box;
    char name[NAME_MAX_CHARS + 8], txt[64];
    int lab = f->label >= 0 && f->label < K ? f->label : 0;
    class_name(name, sizeof name, classes, lab);
    int pct = (int)lrintf(100.0f * prob01(f->prob[lab]));
    if (f->track > 0)
        snprintf(txt, sizeof txt, "#%d %s %d%%", f->track, name, pct);
    else
        snprintf(txt, sizeof txt, "%s %d%%", name, pct);
    ferc_rgb col = ferc_overlay_color(classes ? classes[lab] : NULL, lab);
    const int pad = 2 * s, tw = ferc_text_width(txt, s) + 2 * pad, th = FERC_GLYPH_H * s + 2 * pad;
    int x = b->x, y = b->y - th;
    if (y < 0) y = b->y;                  /* no room above: inside the top edge */
    x = clampi(x, tw, c->w);
    y = clampi(y, th, c->h);
    ferc_canvas_rect(c, x, y, tw, th, col);
    /* luma decides the text colour: dark on bright tags, white on dark ones */
    int luma = (299 * col.r + 587 * col.g + 114 * col.b) / 1000;
    ferc_canvas_text(c, x + pad, y + pad, txt, s, luma > 110 ? TEXT_DARK : TEXT_LIGHT);
}

static void draw_bars(ferc_canvas *c, const ferc_face *f, const char *const *classes, int K, int s)
{
    const ferc_haar_box *b = &f->box;
    char name[NAME_MAX_CHARS + 8], pct[16];
    int nw = 0;
    for (int k = 0; k < K; k++) {
        class_name(name, sizeof name, classes, k);
        int w = ferc_text_width(name, s);
        if (w > nw) nw = w;
    }
    const int pad = 3 * s, gap = 4 * s, rh = FERC_GLYPH_LINE * s, bw = BAR_LEN * s, pw = ferc_text_width("100%", s);
    const int W = pad + nw + gap + bw + gap + pw + pad, H = 2 * pad + K * rh - (rh - FERC_GLYPH_H * s);
    int x, y;
    if (b->x + b->w + gap + W <= c->w) {          /* right of the box */
        x = b->x + b->w + gap, y = clampi(b->y, H, c->h);
    } else if (b->x - gap - W >= 0) {             /* left */
        x = b->x - gap - W, y = clampi(b->y, H, c->h);
    } else {                                      /* below, else as low as fits */
        x = clampi(b->x, W, c->w), y = b->y + b->h + gap;
        y = clampi(y, H, c->h);
    }
    x = clampi(x, W, c->w);
    shade(c, x, y, W, H, (ferc_rgb){0, 0, 0}, SHADE_ALPHA);
    for (int k = 0; k < K; k++) {
        int ry = y + pad + k * rh;
        class_name(name, sizeof name, classes, k);
        ferc_canvas_text(c, x + pad, ry, name, s, TEXT_LIGHT);
        float p = prob01(f->prob[k]);
        int bx = x + pad + nw + gap, len = (int)lrintf(p * (float)bw);
        ferc_canvas_rect(c, bx, ry + s, bw, FERC_GLYPH_H * s - 2 * s, BAR_TRACK);
        ferc_canvas_rect(c, bx, ry + s, len, FERC_GLYPH_H * s - 2 * s, ferc_overlay_color(classes ? classes[k] : NULL, k));
        snprintf(pct, sizeof pct, "%d%%", (int)lrintf(100.0f * p));
        ferc_canvas_text(c, x + W - pad - ferc_text_width(pct, s), ry, pct, s, TEXT_LIGHT);
    }
}

static void draw_face(ferc_canvas *c, const ferc_face *f, const char *const *classes, int K, int s)
{
    const ferc_haar_box *b = &f->box;
    int lab = f->label >= 0 && f->label < K ? f->label : 0;
    ferc_rgb col = ferc_overlay_color(classes ? classes[lab] : NULL, lab);
    int t = s + 1;
    if (b->w > 0 && b->h > 0) {
        ferc_canvas_rect(c, b->x, b->y, b->w, t, col);
        ferc_canvas_rect(c, b->x, b->y + b->h - t, b->w, t, col);
        ferc_canvas_rect(c, b->x, b->y, t, b->h, col);
        ferc_canvas_rect(c, b->x + b->w - t, b->y, t, b->h, col);
    }
    draw_bars(c, f, classes, K, s);
    draw_tag(c, f, classes, K, s);
}

/* "...tail" of s that fits max_px at scale s (whole s when it fits). */
static void fit_tail(char *out, size_t n, const char *src, int max_px, int s)
{
    snprintf(out, n, "%s", src);
    size_t len = strlen(out);
    if (ferc_text_width(out, s) <= max_px) return;
    int chars = (max_px / s + 1) / FERC_GLYPH_ADVANCE - 3;   /* room left after "..." */
    if (chars < 1) chars = 1;
    if ((size_t)chars > len) chars = (int)len;
    memmove(out + 3, out + len - (size_t)chars, (size_t)chars + 1);
    memcpy(out, "...", 3);
}

static void draw_status(ferc_canvas *c, const ferc_overlay_info *in, int s)
{
    char lines[7][160], src[160];
    int nl = 0;
    const int m = 4 * s, pad = 3 * s, lh = FERC_GLYPH_LINE * s;
    if (in->fps > 0)
        snprintf(lines[nl++], sizeof lines[0], "fps      %6.1f", in->fps);
    else
        snprintf(lines[nl++], sizeof lines[0], "fps           -");
    snprintf(lines[nl++], sizeof lines[0], "capture  %6.1f ms", in->ms_capture);
    snprintf(lines[nl++], sizeof lines[0], "detect   %6.1f ms", in->ms_detect);
    snprintf(lines[nl++], sizeof lines[0], "classify %6.1f ms", in->ms_classify);
    snprintf(lines[nl++], sizeof lines[0], "draw     %6.1f ms", in->ms_draw);
    snprintf(lines[nl++], sizeof lines[0], "frame    %ld", in->frame);
    if (in->source && in->source[0]) {
        int max_px = c->w / 2 > 2 * m + 2 * pad ? c->w / 2 - 2 * m - 2 * pad : 1;
        fit_tail(src, sizeof src, in->source, max_px, s);
        snprintf(lines[nl++], sizeof lines[0], "%s", src);
    }
    int w = 0;
    for (int i = 0; i < nl; i++) {
        int tw = ferc_text_width(lines[i], s);
        if (tw > w) w = tw;
    }
    const int W = w + 2 * pad, H = 2 * pad + nl * lh - (lh - FERC_GLYPH_H * s);
    shade(c, m, m, W, H, (ferc_rgb){0, 0, 0}, SHADE_ALPHA);
    for (int i = 0; i < nl; i++) ferc_canvas_text(c, m + pad, m + pad + i * lh, lines[i], s, TEXT_LIGHT);
}

void ferc_overlay_draw(ferc_canvas *c, const ferc_face *faces, int n, const char *const *classes, int K,
                       const ferc_overlay_info *info)
{
    if (!c || !c->px || c->w <= 0 || c->h <= 0) return;
    if (K > FERC_MAX_CLASSES) K = FERC_MAX_CLASSES;
    const int s = ferc_overlay_scale(c->w);
    if (faces && K > 0)
        for (int i = 0; i < n; i++) draw_face(c, &faces[i], classes, K, s);
    if (info && info->show_stats) draw_status(c, info, s);
}
