/* font.h: ferc's built-in 5x7 bitmap font for printable ASCII (32..126),
 * drawn by hand for this project; used to put text into plots without a
 * font library. A glyph is 7 rows of 5 bits, bit 4 = leftmost column; text
 * advances 6 columns per character and 9 rows per line (scaled by an integer). */
#ifndef FERC_FONT_H
#define FERC_FONT_H
#include <stdint.h>

#define FERC_FONT_W 5        /* glyph width in pixels (scale 1) */
#define FERC_FONT_H 7        /* glyph height */
#define FERC_FONT_ADVANCE 6  /* horizontal advance per character */
#define FERC_FONT_LINE 9     /* vertical advance per line */

/* The 7 row bitmaps of ch; characters outside 32..126 draw as '?'. */
const uint8_t *ferc_font_glyph(int ch);

#endif
