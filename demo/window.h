/* window.h: the SDL2 window of ./demo.
 *   ferc_window *win = ferc_window_open("ferc demo", w, h, &e);   // NULL + e.msg (with a hint) if no display
 *   while (!(ferc_window_poll(win) & FERC_WIN_QUIT)) ferc_window_show(win, rgb, w, h, &e);
 *
 * The window is resizable; the frame is scaled to fit it with its aspect kept
 * (black bars). SDL picks the video driver (SDL_VIDEODRIVER overrides it;
 * "offscreen" works without a display) and the renderer (accelerated if it
 * can, else software; always software under "offscreen" and "dummy"). SDL's silent fallback to its invisible "offscreen" or
 * "dummy" driver when there is no display is refused unless SDL_VIDEODRIVER
 * names it. SDL's own SIGINT/SIGTERM handlers are turned off: the
 * caller handles signals. The window is redrawn from the last frame when it
 * is exposed or resized (inside ferc_window_poll). One window at a time;
 * call from the thread that opened it. Never prints. */
#ifndef FERC_WINDOW_H
#define FERC_WINDOW_H
#include <stdint.h>
#include "err.h"

typedef struct ferc_window ferc_window;

/* Bits returned by ferc_window_poll. */
#define FERC_WIN_QUIT 1       /* window closed, q, Escape (or SDL_QUIT) */
#define FERC_WIN_SNAPSHOT 2   /* s */
#define FERC_WIN_NEXT 4       /* any other key (space, Enter, n, arrows, ...): next image */

/* Opens a w x h window (shrunk, aspect kept, to fit the display's usable
 * area; never under the offscreen/dummy drivers, so screenshots there are
 * pixel for pixel the frame). On error returns NULL; e names SDL's reason and suggests
 * --headless, Xvfb or SDL_VIDEODRIVER=offscreen. */
ferc_window *ferc_window_open(const char *title, int w, int h, ferc_err *e);
/* Shows a w x h RGB frame (rgb: h rows of w*3 bytes, copied; the texture is
 * recreated when the size changes). Returns 0, or -1 on an SDL error. */
int ferc_window_show(ferc_window *win, const uint8_t *rgb, int w, int h, ferc_err *e);
/* Handles pending events without waiting; returns FERC_WIN_* bits. */
int ferc_window_poll(ferc_window *win);
/* Reads back what the renderer shows (the whole window: the frame as scaled,
 * with any black bars) and writes it as an RGB PNG. Returns 0 or -1. */
int ferc_window_screenshot(ferc_window *win, const char *png_path, ferc_err *e);
/* Closes the window and SDL's video subsystem; NULL is fine. */
void ferc_window_close(ferc_window *win);

#endif
