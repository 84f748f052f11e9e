/* json.h: writing JSON text (reports, demo output, the web API). */
#ifndef FERC_JSON_H
#define FERC_JSON_H
#include <stdio.h>

/* Writes s as a JSON string literal: quotes and backslashes escaped, control
 * characters as \u00XX; other bytes (UTF-8) as they are. */
void ferc_json_str(FILE *f, const char *s);

#endif
