/* ini.h: a small generic INI reader.
 *
 * Syntax: `[section]` headers, `key = value` lines, blank lines, and comments
 * that start with `;` or `#` at the beginning of a line or after whitespace
 * (`lr = 0.01   ; comment`). Keys, values and section names are trimmed;
 * "\r\n" line ends and a UTF-8 byte-order mark are accepted. A section may be
 * opened more than once; its keys merge. Errors, all "name:line: ...":
 * a line without `=`, an unterminated or empty `[section`, text after `]`,
 * a key before any section, an empty key, a key repeated within a section.
 * The reader knows nothing about which sections or keys are valid. */
#ifndef FERC_INI_H
#define FERC_INI_H
#include "err.h"

typedef struct {
    const char *section, *key, *value; /* point into the reader's buffer */
    int line;                          /* 1-based */
} ferc_ini_entry;

typedef struct {
    const char *name;
    int line;                          /* line of its first header */
} ferc_ini_section;

typedef struct {
    char *buf;                         /* owned copy of the text, split in place */
    ferc_ini_entry *entries;           /* in file order */
    int n_entries;
    ferc_ini_section *sections;        /* distinct sections, in order of first appearance */
    int n_sections;
} ferc_ini;

/* Parses text; name is used in messages. On error returns -1 and ini holds
 * nothing; on success free with ferc_ini_free. */
int ferc_ini_parse(ferc_ini *ini, const char *text, const char *name, ferc_err *e);
/* Reads and parses a file (at most 1 MiB); errors name the path. */
int ferc_ini_load(ferc_ini *ini, const char *path, ferc_err *e);
/* The entry for section/key, or NULL. */
const ferc_ini_entry *ferc_ini_get(const ferc_ini *ini, const char *section, const char *key);
void ferc_ini_free(ferc_ini *ini);

#endif
