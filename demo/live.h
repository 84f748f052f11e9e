/* live.h: the server's own camera or video for --serve (live.c). */
#ifndef FERC_LIVE_H
#define FERC_LIVE_H
#include <signal.h>
#include <stddef.h>
#include "demo.h"

typedef struct live live;
enum { LIVE_MJPEG, LIVE_EVENTS };

/* Opens o->camera or o->video and starts analysing it on a thread of its own. */
live *live_start(const demo_opts *o, const ferc_faces_opts *fo, ferc_err *e);
void live_stop(live *L);
/* The next frame after *seen: LIVE_MJPEG gives one multipart part (boundary
 * "ferc"), LIVE_EVENTS one "data: {json}\n\n" event. 1 with *out malloc'ed,
 * 0 when the source ended or the server stops. */
int live_next(live *L, long *seen, int kind, char **out, size_t *n);
/* The source's error once it has failed, else NULL. */
const char *live_error(live *L);

#endif
