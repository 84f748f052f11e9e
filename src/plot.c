/* plot.c: RGB canvas primitives, text in the built-in font, the confusion
 * heat map and line plots (see plot.h). */
#include "plot.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "font.h"
#include "image.h"

static const ferc_rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255}, GRAY = {120, 120, 120},
                      LIGHT = {225, 225, 225}, INK = {30, 30, 30}, EMPTY = {236, 236, 236};

/* ------------------------------------------------------------ primitives */

int ferc_canvas_init(ferc_canvas *c, int w, int h, ferc_rgb bg, ferc_err *e)
{
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1 || w > 16384 || h > 16384) return ferc_errf(e, "canvas: bad size %dx%d", w, h);
    c->px = malloc((size_t)w * h * 3);
    if (!c->px) return ferc_errf(e, "canvas: out of memory for %dx%d", w, h);
    c->w = w, c->h = h;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        c->px[3 * i] = bg.r, c->px[3 * i + 1] = bg.g, c->px[3 * i + 2] = bg.b;
    }
    return 0;
}

void ferc_canvas_free(ferc_canvas *c)
{
    if (!c) return;
    free(c->px);
    memset(c, 0, sizeof *c);
}

void ferc_canvas_pixel(ferc_canvas *c, int x, int y, ferc_rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] = col.r, p[1] = col.g, p[2] = col.b;
}

void ferc_canvas_rect(ferc_canvas *c, int x, int y, int w, int h, ferc_rgb col)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) {
            uint8_t *p = c->px + ((size_t)yy * c->w + xx) * 3;
            p[0] = col.r, p[1] = col.g, p[2] = col.b;
        }
}

void ferc_canvas_frame(ferc_canvas *c, int x, int y, int w, int h, ferc_rgb col)
{
    ferc_canvas_rect(c, x, y, w, 1, col);
    ferc_canvas_rect(c, x, y + h - 1, w, 1, col);
    ferc_canvas_rect(c, x, y, 1, h, col);
    ferc_canvas_rect(c, x + w - 1, y, 1, h, col);
}

void ferc_canvas_line(ferc_canvas *c, int x0, int y0, int x1, int y1, int thick, ferc_rgb col)
{
    if (thick < 1) thick = 1;
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    int off = (thick - 1) / 2;
    for (;;) {
        ferc_canvas_rect(c, x0 - off, y0 - off, thick, thick, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

int ferc_text_width(const char *s, int scale)
{
    int n = (int)strlen(s);
    return n ? (FERC_GLYPH_ADVANCE * n - 1) * scale : 0;
}

/* Draws s; rotate = 0 normal, 1 = 90 degrees counter-clockwise. For rotate = 1,
 * glyph pixel (gx, gy) of the character at pen position `pen` lands at
 * (x + gy, y - pen - gx). */
static void draw_text(ferc_canvas *c, int x, int y, const char *s, int scale, ferc_rgb col, int rotate)
{
    for (int i = 0; s[i]; i++) {
        const uint8_t *g = ferc_font_glyph((unsigned char)s[i]);
        int pen = i * FERC_GLYPH_ADVANCE * scale;
        for (int gy = 0; gy < FERC_GLYPH_H; gy++)
            for (int gx = 0; gx < FERC_GLYPH_W; gx++) {
                if (!(g[gy] >> (FERC_GLYPH_W - 1 - gx) & 1)) continue;
                if (rotate)
                    ferc_canvas_rect(c, x + gy * scale, y - pen - (gx + 1) * scale + 1, scale, scale, col);
                else
                    ferc_canvas_rect(c, x + pen + gx * scale, y + gy * scale, scale, scale, col);
            }
    }
}

void ferc_canvas_text(ferc_canvas *c, int x, int y, const char *s, int scale, ferc_rgb col)
{
    draw_text(c, x, y, s, scale, col, 0);
}

void ferc_canvas_text_up(ferc_canvas *c, int x, int y, const char *s, int scale, ferc_rgb col)
{
    draw_text(c, x, y, s, scale, col, 1);
}

int ferc_canvas_write_png(const ferc_canvas *c, const char *path, ferc_err *e)
{
    return ferc_png_write(path, c->px, c->w, c->h, 3, e);
}

ferc_rgb ferc_colormap_blues(double f)
{
    /* stops of a sequential blue ramp (like ColorBrewer "Blues") */
    static const double st[5][3] = {
        {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    if (!(f > 0.0)) f = 0.0;
    if (f > 1.0) f = 1.0;
    double t = f * 4.0;
    int i = (int)t;
    if (i > 3) i = 3;
    double u = t - i;
    ferc_rgb r;
    r.r = (uint8_t)lround(st[i][0] + u * (st[i + 1][0] - st[i][0]));
    r.g = (uint8_t)lround(st[i][1] + u * (st[i + 1][1] - st[i][1]));
    r.b = (uint8_t)lround(st[i][2] + u * (st[i + 1][2] - st[i][2]));
    return r;
}

/* ------------------------------------------------------------ heat map */

#define TS 2                         /* text scale of the charts */
#define TH (FERC_GLYPH_H * TS)        /* text height */
#define PAD 16
#define GAP 10
#define BAR_W 16

typedef struct {
    int left, top, right, bottom, w, h, maxlab;
} cm_layout;

static void cm_layout_of(int k, const char *const *classes, const char *title, cm_layout *L)
{
    L->maxlab = 0;
    for (int i = 0; i < k; i++) {
        int tw = ferc_text_width(classes[i], TS);
        if (tw > L->maxlab) L->maxlab = tw;
    }
    L->top = PAD + (title && title[0] ? TH + 2 * GAP : GAP);
    L->left = PAD + TH + GAP + L->maxlab + GAP;
    L->right = 2 * GAP + BAR_W + 8 + ferc_text_width("100%", TS) + PAD;
    L->bottom = GAP + L->maxlab + GAP + TH + PAD;
    L->w = L->left + k * FERC_PLOT_CELL + L->right;
    L->h = L->top + k * FERC_PLOT_CELL + L->bottom;
    int tw = title ? ferc_text_width(title, TS) + 2 * PAD : 0;
    if (tw > L->w) L->w = tw;
}

void ferc_plot_confusion_size(int k, const char *const *classes, const char *title, int *w, int *h)
{
    cm_layout L;
    cm_layout_of(k, classes, title, &L);
    *w = L.w, *h = L.h;
}

static void text_centered(ferc_canvas *c, int cx, int y, const char *s, int scale, ferc_rgb col)
{
    ferc_canvas_text(c, cx - ferc_text_width(s, scale) / 2, y, s, scale, col);
}

int ferc_plot_confusion(ferc_canvas *out, int k, const char *const *classes, const int64_t *cm, const char *title,
                        ferc_err *e)
{
    memset(out, 0, sizeof *out);
    if (k < 1 || k > FERC_MAX_CLASSES) return ferc_errf(e, "heat map: %d classes", k);
    cm_layout L;
    cm_layout_of(k, classes, title, &L);
    if (ferc_canvas_init(out, L.w, L.h, WHITE, e)) return -1;
    const int C = FERC_PLOT_CELL, G = k * C, x0 = L.left, y0 = L.top;
    if (title && title[0]) ferc_canvas_text(out, PAD, PAD, title, TS, BLACK);
    char buf[64];
    for (int t = 0; t < k; t++) {
        int64_t row = 0;
        for (int p = 0; p < k; p++) row += cm[t * FERC_MAX_CLASSES + p];
        for (int p = 0; p < k; p++) {
            int64_t v = cm[t * FERC_MAX_CLASSES + p];
            double f = row ? (double)v / (double)row : 0.0;
            int cx = x0 + p * C, cy = y0 + t * C;
            ferc_canvas_rect(out, cx, cy, C, C, row ? ferc_colormap_blues(f) : EMPTY); /* gray: no images of t */
            ferc_rgb tc = f > 0.5 ? WHITE : v ? INK : GRAY;
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            int sc = ferc_text_width(buf, TS) <= C - 6 ? TS : 1;
            int cyt = v ? cy + C / 2 - TH - 3 : cy + C / 2 - FERC_GLYPH_H * sc / 2;
            text_centered(out, cx + C / 2, cyt, buf, sc, tc);
            if (v) { /* empty cells show only their 0 */
                snprintf(buf, sizeof buf, "%.0f%%", 100.0 * f);
                text_centered(out, cx + C / 2, cy + C / 2 + 3, buf, TS, tc);
            }
        }
    }
    /* cell separators and frame */
    for (int i = 1; i < k; i++) {
        ferc_canvas_rect(out, x0 + i * C, y0, 1, G, WHITE);
        ferc_canvas_rect(out, x0, y0 + i * C, G, 1, WHITE);
    }
    ferc_canvas_frame(out, x0 - 1, y0 - 1, G + 2, G + 2, GRAY);
    /* row labels (true class), right-aligned; column labels (predicted), upwards */
    for (int i = 0; i < k; i++) {
        int tw = ferc_text_width(classes[i], TS);
        ferc_canvas_text(out, x0 - GAP - tw, y0 + i * C + C / 2 - TH / 2, classes[i], TS, BLACK);
        ferc_canvas_text_up(out, x0 + i * C + C / 2 - TH / 2, y0 + G + GAP + tw, classes[i], TS, BLACK);
    }
    ferc_canvas_text_up(out, PAD, y0 + G / 2 + ferc_text_width("true", TS) / 2, "true", TS, GRAY);
    text_centered(out, x0 + G / 2, y0 + G + GAP + L.maxlab + GAP, "predicted", TS, GRAY);
    /* colour bar: row percentage, 100% at the top */
    int bx = x0 + G + 2 * GAP;
    for (int yy = 0; yy < G; yy++)
        ferc_canvas_rect(out, bx, y0 + yy, BAR_W, 1, ferc_colormap_blues(1.0 - (double)yy / (G - 1 > 0 ? G - 1 : 1)));
    ferc_canvas_frame(out, bx - 1, y0 - 1, BAR_W + 2, G + 2, GRAY);
    ferc_canvas_text(out, bx + BAR_W + 8, y0, "100%", TS, BLACK);
    ferc_canvas_text(out, bx + BAR_W + 8, y0 + G / 2 - TH / 2, "50%", TS, BLACK);
    ferc_canvas_text(out, bx + BAR_W + 8, y0 + G - TH, "0%", TS, BLACK);
    return 0;
}

/* ------------------------------------------------------------ line plots */

/* A step of 1, 2 or 5 x 10^k giving about `target` intervals over range. */
static double nice_step(double range, int target)
{
    if (!(range > 0.0)) return 1.0;
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void fmt_tick(char *buf, size_t n, double v, double step)
{
    int dec = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-6) v = 0.0; /* no "-0" */
    snprintf(buf, n, "%.*f", dec, v);
}

int ferc_plot_lines(ferc_canvas *c, int x, int y, int w, int h, const ferc_series *s, int n, const char *title,
                    const char *xlabel, const char *ylabel, double ymin, double ymax, ferc_err *e)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int xint = 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            double xv = s[i].x[(size_t)j * s[i].stride], yv = s[i].y[(size_t)j * s[i].stride];
            if (!isfinite(xv) || !isfinite(yv)) continue;
            xlo = fmin(xlo, xv), xhi = fmax(xhi, xv), ylo = fmin(ylo, yv), yhi = fmax(yhi, yv);
            xint &= xv == floor(xv);
        }
    if (!(xlo <= xhi)) return ferc_errf(e, "plot '%s': no finite data points", title ? title : "");
    if (isfinite(ymin)) ylo = ymin;
    if (isfinite(ymax)) yhi = ymax;
    if (!isfinite(ymin) || !isfinite(ymax)) { /* auto: 5% margin, never a zero range */
        double m = (yhi - ylo) * 0.05;
        if (!(m > 0.0)) m = fabs(yhi) > 0 ? fabs(yhi) * 0.1 : 0.5;
        if (!isfinite(ymin)) ylo -= m;
        if (!isfinite(ymax)) yhi += m;
    }
    if (xhi == xlo) xlo -= 1.0, xhi += 1.0;
    double ys = nice_step(yhi - ylo, 5), xs = nice_step(xhi - xlo, 6);
    if (xint && xs < 1.0) xs = 1.0;

    char buf[64];
    int tick_w = 0;
    for (double v = ceil(ylo / ys - 1e-9) * ys; v <= yhi + ys * 1e-9; v += ys) {
        fmt_tick(buf, sizeof buf, v, ys);
        int tw = ferc_text_width(buf, TS);
        if (tw > tick_w) tick_w = tw;
    }
    /* plot area */
    int px0 = x + GAP + TH + GAP + tick_w + 6, py0 = y + (title ? TH + 2 * GAP : GAP);
    int px1 = x + w - GAP - 3 * FERC_GLYPH_ADVANCE * TS / 2, py1 = y + h - (GAP + TH + 6 + TH + GAP);
    if (px1 - px0 < 20 || py1 - py0 < 20) return ferc_errf(e, "plot '%s': panel too small", title ? title : "");
    const int pw = px1 - px0, ph = py1 - py0;
#define MAPX(v) (px0 + (int)lround(((v) - xlo) / (xhi - xlo) * (pw - 1)))
#define MAPY(v) (py1 - 1 - (int)lround(((v) - ylo) / (yhi - ylo) * (ph - 1)))
    if (title) text_centered(c, px0 + pw / 2, y + GAP, title, TS, BLACK);
    /* grid and ticks */
    for (double v = ceil(ylo / ys - 1e-9) * ys; v <= yhi + ys * 1e-9; v += ys) {
        int yy = MAPY(v);
        ferc_canvas_rect(c, px0, yy, pw, 1, LIGHT);
        ferc_canvas_rect(c, px0 - 4, yy, 4, 1, GRAY);
        fmt_tick(buf, sizeof buf, v, ys);
        ferc_canvas_text(c, px0 - 6 - ferc_text_width(buf, TS), yy - TH / 2, buf, TS, BLACK);
    }
    for (double v = ceil(xlo / xs - 1e-9) * xs; v <= xhi + xs * 1e-9; v += xs) {
        int xx = MAPX(v);
        ferc_canvas_rect(c, xx, py0, 1, ph, LIGHT);
        ferc_canvas_rect(c, xx, py1, 1, 4, GRAY);
        fmt_tick(buf, sizeof buf, v, xs);
        text_centered(c, xx, py1 + 6, buf, TS, BLACK);
    }
    ferc_canvas_frame(c, px0 - 1, py0 - 1, pw + 2, ph + 2, GRAY);
    if (xlabel) text_centered(c, px0 + pw / 2, py1 + 6 + TH + 6, xlabel, TS, GRAY);
    if (ylabel) ferc_canvas_text_up(c, x + GAP, py0 + ph / 2 + ferc_text_width(ylabel, TS) / 2, ylabel, TS, GRAY);
    /* series, clamped to the plot area; NaN breaks a line */
    for (int i = 0; i < n; i++) {
        int have = 0, lx = 0, ly = 0;
        for (int j = 0; j < s[i].n; j++) {
            double xv = s[i].x[(size_t)j * s[i].stride], yv = s[i].y[(size_t)j * s[i].stride];
            if (!isfinite(xv) || !isfinite(yv)) {
                have = 0;
                continue;
            }
            int xx = MAPX(xv), yy = MAPY(fmin(fmax(yv, ylo), yhi));
            if (have)
                ferc_canvas_line(c, lx, ly, xx, yy, s[i].thick, s[i].color);
            if (s[i].n <= 60 && s[i].thick > 1) ferc_canvas_rect(c, xx - s[i].thick, yy - s[i].thick, 2 * s[i].thick + 1,
                                               2 * s[i].thick + 1, s[i].color);
            have = 1, lx = xx, ly = yy;
        }
    }
    /* legend: in the corner of the plot area that covers the fewest data points
     * (tried in the order top right, bottom right, top left, bottom left) */
    int n_lab = 0, lab_w = 0;
    for (int i = 0; i < n; i++)
        if (s[i].label) {
            n_lab++;
            int tw = ferc_text_width(s[i].label, TS);
            if (tw > lab_w) lab_w = tw;
        }
    if (n_lab) {
        int bw = 8 + 24 + 6 + lab_w + 8, bh = 6 + n_lab * (TH + 6);
        const int cx[4] = {px1 - bw - 6, px1 - bw - 6, px0 + 6, px0 + 6}, cy[4] = {py0 + 6, py1 - bh - 6, py0 + 6, py1 - bh - 6};
        int best = 0, best_n = -1;
        for (int q = 0; q < 4; q++) {
            int cnt = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s[i].n; j++) {
                    double xv = s[i].x[(size_t)j * s[i].stride], yv = s[i].y[(size_t)j * s[i].stride];
                    if (!isfinite(xv) || !isfinite(yv)) continue;
                    int xx = MAPX(xv), yy = MAPY(fmin(fmax(yv, ylo), yhi));
                    cnt += xx >= cx[q] - 4 && xx < cx[q] + bw + 4 && yy >= cy[q] - 4 && yy < cy[q] + bh + 4;
                }
            if (best_n < 0 || cnt < best_n) best = q, best_n = cnt;
        }
        int bx = cx[best], by = cy[best], row = 0;
        ferc_canvas_rect(c, bx, by, bw, bh, WHITE);
        ferc_canvas_frame(c, bx, by, bw, bh, GRAY);
        for (int i = 0; i < n; i++) {
            if (!s[i].label) continue;
            int ly = by + 6 + row * (TH + 6);
            ferc_canvas_rect(c, bx + 8, ly + TH / 2 - 1, 24, 3, s[i].color);
            ferc_canvas_text(c, bx + 8 + 24 + 6, ly, s[i].label, TS, BLACK);
            row++;
        }
    }
#undef MAPX
#undef MAPY
    return 0;
}
