/* font.h: ferc's built-in bitmap font for printable ASCII (32..126), drawn
 * by hand for this project; used to put text into plots without a font
 * library. A glyph is 8 rows of 5 bits (bit 4 = leftmost column): capitals
 * and digits are 7 rows high on a baseline below row 6, and row 7 holds the
 * descenders of g, j, p, q, y and , ;. Text advances 6 columns per
 * character and 10 rows per line (times an integer scale). */
#ifndef FERC_FONT_H
#define FERC_FONT_H
#include <stdint.h>

#define FERC_GLYPH_W 5        /* glyph width in pixels (scale 1) */
#define FERC_GLYPH_H 8        /* glyph height, descender row included */
#define FERC_GLYPH_ADVANCE 6  /* horizontal advance per character */
#define FERC_GLYPH_LINE 10    /* vertical advance per line */

/* The 8 row bitmaps of ch; characters outside 32..126 draw as '?'. */
const uint8_t *ferc_font_glyph(int ch);

#endif
