/* plot.h: an RGB canvas with lines, rectangles and text (ferc's own 5x8 font,
 * font.h), and the two charts of ./eval: a confusion-matrix heat map and
 * line plots of training curves. Written out as PNG through libpng.
 *
 * Coordinates are pixels, x to the right, y down, (0,0) top-left; every
 * primitive clips to the canvas, so callers need no bounds checks.
 * Library code: errors through ferc_err, never prints. */
#ifndef FERC_PLOT_H
#define FERC_PLOT_H
#include <stdint.h>
#include "config.h"
#include "err.h"

typedef struct {
    uint8_t r, g, b;
} ferc_rgb;

typedef struct {
    int w, h;
    uint8_t *px;    /* h * w * 3 bytes, RGB, row-major */
} ferc_canvas;

int ferc_canvas_init(ferc_canvas *c, int w, int h, ferc_rgb bg, ferc_err *e);
void ferc_canvas_free(ferc_canvas *c);
void ferc_canvas_pixel(ferc_canvas *c, int x, int y, ferc_rgb col);
/* Filled rectangle [x, x+w) x [y, y+h). */
void ferc_canvas_rect(ferc_canvas *c, int x, int y, int w, int h, ferc_rgb col);
/* One-pixel outline of the same rectangle. */
void ferc_canvas_frame(ferc_canvas *c, int x, int y, int w, int h, ferc_rgb col);
/* Line from (x0,y0) to (x1,y1) (Bresenham), thick x thick pixels per step. */
void ferc_canvas_line(ferc_canvas *c, int x0, int y0, int x1, int y1, int thick, ferc_rgb col);
/* Text of one line at integer scale: width = 6*scale*len - scale, height 8*scale. */
int ferc_text_width(const char *s, int scale);
/* Draws s with its top-left corner at (x, y). */
void ferc_canvas_text(ferc_canvas *c, int x, int y, const char *s, int scale, ferc_rgb col);
/* Draws s rotated 90 degrees counter-clockwise (reading upwards), its box's
 * bottom-left corner at (x, y): it covers [x, x+8*scale) x (y-width, y]. */
void ferc_canvas_text_up(ferc_canvas *c, int x, int y, const char *s, int scale, ferc_rgb col);
/* 8-bit RGB PNG (temporary file + rename). */
int ferc_canvas_write_png(const ferc_canvas *c, const char *path, ferc_err *e);

/* Sequential colour map for f in [0, 1]: near-white to dark blue. */
ferc_rgb ferc_colormap_blues(double f);

/* Confusion-matrix heat map into a new canvas (freed by the caller):
 * cm[t * FERC_MAX_CLASSES + p] (the layout of ferc_confusion.cm) = images of
 * true class t predicted as p; classes[k] are the names.
 * One cell per (true row, predicted column), coloured by the row-normalised
 * fraction cm[t][p] / sum_p cm[t][p] (an empty row is gray), showing the count and
 * (unless 0) the row percentage; class names on the left (rows) and below (columns, upwards);
 * a colour bar on the right; title (may be NULL) on top.
 * Size: w = left + k*FERC_PLOT_CELL + right, h = top + k*FERC_PLOT_CELL + bottom,
 * with margins from the text sizes; ferc_plot_confusion_size gives it. */
#define FERC_PLOT_CELL 72
int ferc_plot_confusion(ferc_canvas *out, int k, const char *const *classes, const int64_t *cm, const char *title,
                        ferc_err *e);
void ferc_plot_confusion_size(int k, const char *const *classes, const char *title, int *w, int *h);

/* One line of a line plot: n points (x[i*stride], y[i*stride]); NaN y values
 * break the line. label (may be NULL) makes a legend entry. */
typedef struct {
    const float *x, *y;
    int n, stride;
    ferc_rgb color;
    int thick;
    const char *label;
} ferc_series;

/* Line plot into the panel [x, x+w) x [y, y+h) of c: frame, ticks with
 * "nice" steps (1, 2, 5 x 10^k), axis labels, legend (in the corner that
 * hides the fewest points). ymin/ymax NaN = from the data; values outside a
 * given range are drawn at its edge. Markers at the points of thick (> 1)
 * series of up to 60 points. Returns -1 when no series has a finite point. */
int ferc_plot_lines(ferc_canvas *c, int x, int y, int w, int h, const ferc_series *s, int n, const char *title,
                    const char *xlabel, const char *ylabel, double ymin, double ymax, ferc_err *e);

#endif
