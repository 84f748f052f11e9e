/* window.c: an SDL2 window showing RGB frames through a streaming RGB24
 * texture, letterboxed to keep the frame's aspect (see window.h). */
#include "window.h"
#include <SDL.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"

#define HINT "use --headless, or run under Xvfb / SDL_VIDEODRIVER=offscreen"
#define NO_DISPLAY_HINT "no display? " HINT

struct ferc_window {
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tw, th;          /* texture size; 0 before the first frame */
};

/* Clears to black and copies the texture into the largest rectangle of its
 * aspect that fits the output, centred. */
static int render(ferc_window *w)
{
    if (SDL_SetRenderDrawColor(w->ren, 0, 0, 0, 255) || SDL_RenderClear(w->ren)) return -1;
    if (!w->tex) return 0;
    int ow, oh;
    if (SDL_GetRendererOutputSize(w->ren, &ow, &oh)) return -1;
    SDL_Rect dst = {0, 0, ow, oh};
    if ((long long)ow * w->th > (long long)oh * w->tw) {     /* output wider: bars left and right */
        dst.w = (int)((long long)oh * w->tw / w->th);
        dst.x = (ow - dst.w) / 2;
    } else {
        dst.h = (int)((long long)ow * w->th / w->tw);
        dst.y = (oh - dst.h) / 2;
    }
    return SDL_RenderCopy(w->ren, w->tex, NULL, &dst);
}

ferc_window *ferc_window_open(const char *title, int w, int h, ferc_err *e)
{
    if (w <= 0 || h <= 0) {
        ferc_errf(e, "cannot open a window of %dx%d", w, h);
        return NULL;
    }
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO)) {
        ferc_errf(e, "cannot open a window: %s (" NO_DISPLAY_HINT ")", SDL_GetError());
        if (!SDL_WasInit(0)) SDL_Quit();
        return NULL;
    }
    /* with no display SDL quietly falls back to drivers that show nothing;
     * accept those only when asked for by name */
    const char *drv = SDL_GetCurrentVideoDriver(), *want = SDL_getenv("SDL_VIDEODRIVER");
    const int invisible = drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy"));
    if (invisible && !(want && strstr(want, drv))) {
        ferc_errf(e, "cannot open a window: no display found (SDL fell back to its '%s' driver, which shows "
                  "nothing): " HINT, drv);
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        if (!SDL_WasInit(0)) SDL_Quit();
        return NULL;
    }
    /* the software renderer's window surface, too, would go through OpenGL */
    if (invisible) SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    ferc_window *win = calloc(1, sizeof *win);
    if (!win) {
        ferc_errf(e, "out of memory");
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        if (!SDL_WasInit(0)) SDL_Quit();
        return NULL;
    }
    /* shrink (aspect kept) to the display's usable area, less a margin;
     * invisible drivers keep the frame's size, so screenshots are 1:1 */
    SDL_Rect ub;
    if (!invisible && !SDL_GetDisplayUsableBounds(0, &ub) && ub.w > 64 && ub.h > 64) {
        double f = 1.0, fw = 0.95 * ub.w / w, fh = 0.9 * ub.h / h;
        if (fw < f) f = fw;
        if (fh < f) f = fh;
        if (f < 1.0) w = (int)(w * f), h = (int)(h * f);
        if (w < 1) w = 1;
        if (h < 1) h = 1;
    }
    win->win = SDL_CreateWindow(title ? title : "ferc", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                                SDL_WINDOW_RESIZABLE);
    if (!win->win) {
        ferc_errf(e, "cannot open a window: %s (" NO_DISPLAY_HINT ")", SDL_GetError());
        ferc_window_close(win);
        return NULL;
    }
    /* invisible drivers draw in software: deterministic screenshots, and no
     * OpenGL driver is loaded (Mesa's allocations would trip LeakSanitizer) */
    if (!invisible) win->ren = SDL_CreateRenderer(win->win, -1, SDL_RENDERER_ACCELERATED);
    if (!win->ren) win->ren = SDL_CreateRenderer(win->win, -1, SDL_RENDERER_SOFTWARE);
    if (!win->ren) {
        ferc_errf(e, "cannot create a renderer for the window: %s (" NO_DISPLAY_HINT ")", SDL_GetError());
        ferc_window_close(win);
        return NULL;
    }
    render(win);
    SDL_RenderPresent(win->ren);
    return win;
}

int ferc_window_show(ferc_window *win, const uint8_t *rgb, int w, int h, ferc_err *e)
{
    if (!win || !rgb || w <= 0 || h <= 0) return ferc_errf(e, "window: no frame to show (%dx%d)", w, h);
    if (!win->tex || win->tw != w || win->th != h) {
        if (win->tex) SDL_DestroyTexture(win->tex);
        win->tex = SDL_CreateTexture(win->ren, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, w, h);
        win->tw = win->tex ? w : 0, win->th = win->tex ? h : 0;
        if (!win->tex) return ferc_errf(e, "window: cannot create a %dx%d texture: %s", w, h, SDL_GetError());
    }
    if (SDL_UpdateTexture(win->tex, NULL, rgb, w * 3))
        return ferc_errf(e, "window: cannot update the texture: %s", SDL_GetError());
    if (render(win)) return ferc_errf(e, "window: cannot draw: %s", SDL_GetError());
    SDL_RenderPresent(win->ren);
    return 0;
}

static int is_modifier(SDL_Keycode k)
{
    switch (k) {
    case SDLK_LSHIFT: case SDLK_RSHIFT: case SDLK_LCTRL: case SDLK_RCTRL: case SDLK_LALT: case SDLK_RALT:
    case SDLK_LGUI: case SDLK_RGUI: case SDLK_CAPSLOCK: case SDLK_NUMLOCKCLEAR: case SDLK_MODE:
        return 1;
    default:
        return 0;
    }
}

int ferc_window_poll(ferc_window *win)
{
    if (!win) return 0;
    int r = 0, redraw = 0;
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        switch (ev.type) {
        case SDL_QUIT:
            r |= FERC_WIN_QUIT;
            break;
        case SDL_WINDOWEVENT:
            if (ev.window.event == SDL_WINDOWEVENT_CLOSE) r |= FERC_WIN_QUIT;
            if (ev.window.event == SDL_WINDOWEVENT_EXPOSED || ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
                redraw = 1;
            break;
        case SDL_KEYDOWN: {
            SDL_Keycode k = ev.key.keysym.sym;
            if (k == SDLK_q || k == SDLK_ESCAPE)
                r |= FERC_WIN_QUIT;
            else if (k == SDLK_s)
                r |= ev.key.repeat ? 0 : FERC_WIN_SNAPSHOT;
            else if (!is_modifier(k))
                r |= FERC_WIN_NEXT;
            break;
        }
        default:
            break;
        }
    }
    if (redraw && !render(win)) SDL_RenderPresent(win->ren);
    return r;
}

int ferc_window_screenshot(ferc_window *win, const char *png_path, ferc_err *e)
{
    if (!win) return ferc_errf(e, "window screenshot: no window");
    int ow, oh;
    if (SDL_GetRendererOutputSize(win->ren, &ow, &oh) || ow <= 0 || oh <= 0)
        return ferc_errf(e, "window screenshot: %s", SDL_GetError());
    uint8_t *px = malloc((size_t)ow * oh * 3);
    if (!px) return ferc_errf(e, "window screenshot: out of memory (%dx%d)", ow, oh);
    /* draw the current frame again and read it before presenting: after a
     * present the back buffer's contents are undefined */
    int rc = 0;
    if (render(win) || SDL_RenderReadPixels(win->ren, NULL, SDL_PIXELFORMAT_RGB24, px, ow * 3))
        rc = ferc_errf(e, "window screenshot: cannot read the window back: %s", SDL_GetError());
    else
        SDL_RenderPresent(win->ren);
    if (!rc && ferc_png_write(png_path, px, ow, oh, 3, e)) rc = -1;
    free(px);
    return rc;
}

void ferc_window_close(ferc_window *win)
{
    if (!win) return;
    if (win->tex) SDL_DestroyTexture(win->tex);
    if (win->ren) SDL_DestroyRenderer(win->ren);
    if (win->win) SDL_DestroyWindow(win->win);
    free(win);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    if (!SDL_WasInit(0)) SDL_Quit();
}
