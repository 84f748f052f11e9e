/* serve.h: ./demo --serve, the HTTP server behind the web page (serve.c). */
#ifndef FERC_SERVE_H
#define FERC_SERVE_H
#include <stddef.h>

/* A file of web/, embedded at build time (demo/embed.sh). */
typedef struct {
    const char *path;          /* "/", "/app.js", ... */
    const char *type;          /* Content-Type */
    const unsigned char *data;
    size_t size;
} demo_asset;
extern const demo_asset demo_assets[]; /* ends with a zeroed entry */

#endif
