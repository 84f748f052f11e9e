/* err.h: error reporting for library code. Library functions never print or
 * exit; they fill a ferc_err and return -1 (or NULL). Only main() prints. */
#ifndef FERC_ERR_H
#define FERC_ERR_H

typedef struct {
    char msg[1024];
} ferc_err;

/* Formats msg into e (if e != NULL) and returns -1, so callers can write
 *   return ferc_errf(e, "%s:%d: bad value", file, line); */
int ferc_errf(ferc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
