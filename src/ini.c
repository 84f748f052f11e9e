/* ini.c: the INI reader (see ini.h). The text is copied once and split in
 * place: every name and value is a NUL-terminated slice of ini->buf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ini.h"

#define INI_MAX_BYTES (1 << 20)

static int ini_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v'; }

/* Trims s in place; returns the first non-space character. */
static char *ini_trim(char *s)
{
    while (ini_space(*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && ini_space(s[n - 1])) s[--n] = 0;
    return s;
}

/* Cuts a trailing comment: `;` or `#` at the start or after whitespace. */
static void ini_cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if ((*p == ';' || *p == '#') && (p == s || ini_space(p[-1]))) {
            *p = 0;
            return;
        }
}

static int ini_add_entry(ferc_ini *ini, int *cap, const char *sec, const char *key, const char *value, int line)
{
    if (ini->n_entries == *cap) {
        int nc = *cap ? 2 * *cap : 32;
        ferc_ini_entry *v = realloc(ini->entries, (size_t)nc * sizeof *v);
        if (!v) return -1;
        ini->entries = v, *cap = nc;
    }
    ini->entries[ini->n_entries++] = (ferc_ini_entry){sec, key, value, line};
    return 0;
}

/* Returns the canonical name of section `name` (adding it if new), or NULL on OOM. */
static const char *ini_add_section(ferc_ini *ini, int *cap, const char *name, int line)
{
    for (int i = 0; i < ini->n_sections; i++)
        if (!strcmp(ini->sections[i].name, name)) return ini->sections[i].name;
    if (ini->n_sections == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        ferc_ini_section *v = realloc(ini->sections, (size_t)nc * sizeof *v);
        if (!v) return NULL;
        ini->sections = v, *cap = nc;
    }
    ini->sections[ini->n_sections++] = (ferc_ini_section){name, line};
    return name;
}

static int ini_fail(ferc_ini *ini)
{
    ferc_ini_free(ini);
    return -1;
}

int ferc_ini_parse(ferc_ini *ini, const char *text, const char *name, ferc_err *e)
{
    memset(ini, 0, sizeof *ini);
    if (!name) name = "<string>";
    if (!text) return ferc_errf(e, "%s: no text", name);
    ini->buf = strdup(text);
    if (!ini->buf) return ferc_errf(e, "%s: out of memory", name);
    int ecap = 0, scap = 0, line = 0;
    const char *section = NULL;
    char *p = ini->buf;
    if (!strncmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    while (p) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *next = nl ? nl + 1 : NULL;
        char *s = ini_trim(p);
        p = next;
        if (!*s || *s == ';' || *s == '#') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close) {
                ferc_errf(e, "%s:%d: unterminated section header '%.60s' (expected ']')", name, line, s);
                return ini_fail(ini);
            }
            char *rest = ini_trim(close + 1);
            if (*rest && *rest != ';' && *rest != '#') {
                ferc_errf(e, "%s:%d: unexpected text '%.60s' after section header", name, line, rest);
                return ini_fail(ini);
            }
            *close = 0;
            char *sec = ini_trim(s + 1);
            if (!*sec) {
                ferc_errf(e, "%s:%d: empty section name '[]'", name, line);
                return ini_fail(ini);
            }
            section = ini_add_section(ini, &scap, sec, line);
            if (!section) {
                ferc_errf(e, "%s: out of memory", name);
                return ini_fail(ini);
            }
            continue;
        }
        ini_cut_comment(s);
        char *eq = strchr(s, '=');
        if (!eq) {
            ferc_errf(e, "%s:%d: expected 'key = value' or '[section]', got '%.60s'", name, line, ini_trim(s));
            return ini_fail(ini);
        }
        *eq = 0;
        char *key = ini_trim(s), *value = ini_trim(eq + 1);
        if (!*key) {
            ferc_errf(e, "%s:%d: empty key before '='", name, line);
            return ini_fail(ini);
        }
        if (!section) {
            ferc_errf(e, "%s:%d: key '%.60s' is outside any [section]", name, line, key);
            return ini_fail(ini);
        }
        const ferc_ini_entry *dup = ferc_ini_get(ini, section, key);
        if (dup) {
            ferc_errf(e, "%s:%d: duplicate key '%s.%.60s' (first set on line %d)", name, line, section, key,
                      dup->line);
            return ini_fail(ini);
        }
        if (ini_add_entry(ini, &ecap, section, key, value, line) < 0) {
            ferc_errf(e, "%s: out of memory", name);
            return ini_fail(ini);
        }
    }
    return 0;
}

int ferc_ini_load(ferc_ini *ini, const char *path, ferc_err *e)
{
    memset(ini, 0, sizeof *ini);
    if (!path || !*path) return ferc_errf(e, "config: no file name given");
    FILE *f = fopen(path, "rb");
    if (!f) return ferc_errf(e, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int err = 0;
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > INI_MAX_BYTES) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb, cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) err = errno ? errno : EIO;
            break;
        }
    }
    fclose(f);
    if (!buf) return ferc_errf(e, "%s: out of memory", path);
    int rc = 0;
    if (err)
        rc = ferc_errf(e, "%s: cannot read: %s", path, strerror(err));
    else if (n > INI_MAX_BYTES)
        rc = ferc_errf(e, "%s: too large for a config file (over %d bytes)", path, INI_MAX_BYTES);
    else if (memchr(buf, 0, n))
        rc = ferc_errf(e, "%s: contains a NUL byte; not a text file?", path);
    if (rc == 0) {
        buf[n] = 0;
        rc = ferc_ini_parse(ini, buf, path, e);
    }
    free(buf);
    return rc;
}

const ferc_ini_entry *ferc_ini_get(const ferc_ini *ini, const char *section, const char *key)
{
    for (int i = 0; i < ini->n_entries; i++)
        if (!strcmp(ini->entries[i].section, section) && !strcmp(ini->entries[i].key, key)) return &ini->entries[i];
    return NULL;
}

void ferc_ini_free(ferc_ini *ini)
{
    free(ini->buf);
    free(ini->entries);
    free(ini->sections);
    memset(ini, 0, sizeof *ini);
}
