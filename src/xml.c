/* xml.c: the minimal XML reader of xml.h.
 *
 * One pass over a NUL-terminated copy of the input, with an explicit parent
 * pointer instead of recursion. Every node, name, attribute and text run is
 * allocated from an arena that ferc_xml_free releases at once. Line numbers
 * are counted incrementally (positions only move forward). */
#include "xml.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK ((size_t)1 << 16)
#define MAX_FILE ((size_t)1 << 30)   /* refuse files over 1 GiB (read whole) */

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    /* data follows, 16-byte aligned */
} chunk;

struct ferc_xml_doc {
    chunk *arena;
    ferc_xml_node *root;
    char *name;
};

/* Parser state. pos only moves forward; line is the line of lpos. */
typedef struct {
    ferc_xml_doc *d;
    const char *buf, *end;
    const char *lpos;
    int line;
    ferc_err *e;
} parser;

static void *arena_alloc(ferc_xml_doc *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk *c = d->arena;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof(chunk) + 16 + size);
        if (!c)
            return NULL;
        c->next = d->arena;
        c->used = 0;
        c->size = size;
        d->arena = c;
    }
    char *base = (char *)c + ((sizeof(chunk) + 15) & ~(size_t)15);
    void *p = base + c->used;
    c->used += n;
    return p;
}

static char *arena_strndup(ferc_xml_doc *d, const char *s, size_t n)
{
    char *p = arena_alloc(d, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void ferc_xml_free(ferc_xml_doc *d)
{
    if (!d)
        return;
    for (chunk *c = d->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(d->name);
    free(d);
}

/* Line of position p (p >= every position asked before). */
static int line_at(parser *ps, const char *p)
{
    for (; ps->lpos < p; ps->lpos++)
        if (*ps->lpos == '\n')
            ps->line++;
    return ps->line;
}

static int perr(parser *ps, const char *p, const char *what, const char *arg)
{
    return ferc_errf(ps->e, "%s:%d: malformed XML: %s%s", ps->d->name, line_at(ps, p), what, arg ? arg : "");
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

static int starts(const char *p, const char *end, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* Returns the position after the first occurrence of term at or after p, or
 * NULL when there is none. */
static const char *find_after(const char *p, const char *end, const char *term)
{
    size_t n = strlen(term);
    for (; (size_t)(end - p) >= n; p++)
        if (memcmp(p, term, n) == 0)
            return p + n;
    return NULL;
}

/* Appends the UTF-8 encoding of code point cp to out; returns bytes written. */
static int put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Copies [p, q) into the arena with entities decoded (decoding never makes
 * text longer: every reference is at least as long as its UTF-8 encoding).
 * '<' is refused (it cannot occur in text or attribute values). */
static char *decode(parser *ps, const char *p, const char *q)
{
    char *out = arena_alloc(ps->d, (size_t)(q - p) + 1), *o = out;
    if (!out) {
        ferc_errf(ps->e, "%s: out of memory", ps->d->name);
        return NULL;
    }
    while (p < q) {
        if (*p == '<') {
            perr(ps, p, "'<' inside an attribute value", NULL);
            return NULL;
        }
        if (*p != '&') {
            *o++ = *p++;
            continue;
        }
        const char *semi = memchr(p, ';', (size_t)(q - p));
        if (!semi || semi - p > 12) {
            perr(ps, p, "'&' that does not start an entity reference", NULL);
            return NULL;
        }
        size_t n = (size_t)(semi - p - 1);
        const char *ent = p + 1;
        if (n == 2 && !memcmp(ent, "lt", 2)) *o++ = '<';
        else if (n == 2 && !memcmp(ent, "gt", 2)) *o++ = '>';
        else if (n == 3 && !memcmp(ent, "amp", 3)) *o++ = '&';
        else if (n == 4 && !memcmp(ent, "quot", 4)) *o++ = '"';
        else if (n == 4 && !memcmp(ent, "apos", 4)) *o++ = '\'';
        else if (n >= 2 && ent[0] == '#') {
            int hex = ent[1] == 'x';
            const char *d = ent + 1 + hex;
            unsigned long cp = 0;
            if (d == semi)
                return perr(ps, p, "empty character reference", NULL), NULL;
            for (; d < semi; d++) {
                int v = (*d >= '0' && *d <= '9') ? *d - '0'
                        : hex && (*d | 32) >= 'a' && (*d | 32) <= 'f' ? (*d | 32) - 'a' + 10 : -1;
                if (v < 0)
                    return perr(ps, p, "bad character reference", NULL), NULL;
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                if (cp > 0x10FFFF)
                    return perr(ps, p, "character reference out of range", NULL), NULL;
            }
            if (cp == 0)
                return perr(ps, p, "character reference to NUL", NULL), NULL;
            o += put_utf8(o, cp);
        } else {
            char nm[16];
            snprintf(nm, sizeof nm, "%.*s", (int)n, ent);
            perr(ps, p, "unknown entity &", nm);
            return NULL;
        }
        p = semi + 1;
    }
    *o = 0;
    return out;
}

/* Skips a comment, processing instruction or DOCTYPE-free markup declaration
 * starting at p ("<!--" or "<?"); returns the position after it or NULL. */
static const char *skip_misc(parser *ps, const char *p)
{
    if (starts(p, ps->end, "<!--")) {
        const char *q = find_after(p + 4, ps->end, "-->");
        if (!q)
            perr(ps, p, "comment not closed", NULL);
        return q;
    }
    const char *q = find_after(p + 2, ps->end, "?>");
    if (!q)
        perr(ps, p, "processing instruction not closed", NULL);
    return q;
}

/* Parses a start tag at p (p[0] == '<'). On success returns the position
 * after it, sets *node and *empty (1 for "<x/>"). */
static const char *start_tag(parser *ps, const char *p, ferc_xml_node **node, int *empty)
{
    const char *tag = p++, *end = ps->end;
    if (p >= end || !is_name_start((unsigned char)*p))
        return perr(ps, tag, "expected an element name after '<'", NULL), NULL;
    const char *n0 = p;
    while (p < end && is_name_char((unsigned char)*p))
        p++;
    ferc_xml_node *nd = arena_alloc(ps->d, sizeof *nd);
    if (!nd)
        return ferc_errf(ps->e, "%s: out of memory", ps->d->name), NULL;
    memset(nd, 0, sizeof *nd);
    nd->line = line_at(ps, tag);
    nd->text = "";
    if (!(nd->name = arena_strndup(ps->d, n0, (size_t)(p - n0))))
        return ferc_errf(ps->e, "%s: out of memory", ps->d->name), NULL;
    /* attributes: collected in a small growable array, then copied */
    const char **attr = NULL;
    int na = 0, cap = 0;
    for (;;) {
        const char *q = skip_space(p, end);
        if (q >= end) {
            free(attr);
            return perr(ps, tag, "unexpected end of file in start tag <", nd->name), NULL;
        }
        if (*q == '>' || (*q == '/' && q + 1 < end && q[1] == '>')) {
            *empty = *q == '/';
            p = q + (*empty ? 2 : 1);
            break;
        }
        if (q == p || !is_name_start((unsigned char)*q)) {
            free(attr);
            return perr(ps, q, "bad attribute or unterminated start tag <", nd->name), NULL;
        }
        const char *a0 = q;
        while (q < end && is_name_char((unsigned char)*q))
            q++;
        const char *a1 = q;
        q = skip_space(q, end);
        if (q >= end || *q != '=') {
            free(attr);
            return perr(ps, q, "expected '=' after attribute name in <", nd->name), NULL;
        }
        q = skip_space(q + 1, end);
        if (q >= end || (*q != '"' && *q != '\'')) {
            free(attr);
            return perr(ps, q, "attribute value must be quoted in <", nd->name), NULL;
        }
        const char *v0 = q + 1, *v1 = memchr(v0, *q, (size_t)(end - v0));
        if (!v1) {
            free(attr);
            return perr(ps, q, "attribute value not closed in <", nd->name), NULL;
        }
        if (na + 2 > cap) {
            cap = cap ? 2 * cap : 8;
            const char **t = realloc(attr, sizeof *attr * (size_t)cap);
            if (!t) {
                free(attr);
                return ferc_errf(ps->e, "%s: out of memory", ps->d->name), NULL;
            }
            attr = t;
        }
        attr[na] = arena_strndup(ps->d, a0, (size_t)(a1 - a0));
        attr[na + 1] = decode(ps, v0, v1);
        if (!attr[na] || !attr[na + 1]) {
            free(attr);
            return NULL;
        }
        na += 2;
        p = v1 + 1;
    }
    if (na) {
        nd->attr = arena_alloc(ps->d, sizeof *nd->attr * (size_t)na);
        if (!nd->attr) {
            free(attr);
            return ferc_errf(ps->e, "%s: out of memory", ps->d->name), NULL;
        }
        memcpy(nd->attr, attr, sizeof *attr * (size_t)na);
        nd->n_attr = na / 2;
    }
    free(attr);
    *node = nd;
    return p;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!is_space(*s))
            return 0;
    return 1;
}

ferc_xml_doc *ferc_xml_parse(const char *buf, size_t n, const char *name, ferc_err *e)
{
    ferc_xml_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name ? name : "<memory>"))) {
        free(d);
        ferc_errf(e, "%s: out of memory", name ? name : "<memory>");
        return NULL;
    }
    parser ps = {d, buf, buf + n, buf, 1, e};
    const char *p = buf, *end = buf + n;
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    if (memchr(buf, 0, n)) {
        perr(&ps, (const char *)memchr(buf, 0, n), "NUL byte in the file (not a text file?)", NULL);
        goto fail;
    }
    /* prolog: white space, <?xml ...?>, comments, processing instructions */
    for (;;) {
        p = skip_space(p, end);
        if (p >= end) {
            perr(&ps, p, n ? "no root element" : "empty file", NULL);
            goto fail;
        }
        if (starts(p, end, "<?") || starts(p, end, "<!--")) {
            if (!(p = skip_misc(&ps, p)))
                goto fail;
        } else if (starts(p, end, "<!")) {
            perr(&ps, p, "DOCTYPE and other declarations are not supported", NULL);
            goto fail;
        } else if (*p == '<') {
            break;
        } else {
            perr(&ps, p, "text before the root element", NULL);
            goto fail;
        }
    }
    /* elements: cur is the open element whose content is being read */
    ferc_xml_node *cur = NULL, *last_child = NULL;
    int depth = 0;
    for (;;) {
        if (p >= end) {
            if (cur) {
                char what[160];
                snprintf(what, sizeof what, "<%.64s> (line %d) is not closed", cur->name, cur->line);
                perr(&ps, p, "unexpected end of file: ", what);
                goto fail;
            }
            break;
        }
        if (*p != '<') {
            const char *q = memchr(p, '<', (size_t)(end - p));
            if (!q)
                q = end;
            if (!cur) { /* unreachable: the loop ends when the root closes */
                perr(&ps, p, "content after the root element", NULL);
                goto fail;
            } else if (skip_space(p, q) != q) { /* white space between elements is not kept */
                char *t = decode(&ps, p, q);
                if (!t)
                    goto fail;
                if (!cur->text[0] && !blank(t))
                    cur->text = t;
            }
            p = q;
            continue;
        }
        if (starts(p, end, "<!--") || starts(p, end, "<?")) {
            if (!(p = skip_misc(&ps, p)))
                goto fail;
            continue;
        }
        if (starts(p, end, "<![CDATA[")) {
            const char *q = find_after(p + 9, end, "]]>");
            if (!q || !cur) {
                perr(&ps, p, cur ? "CDATA section not closed" : "CDATA outside the root element", NULL);
                goto fail;
            }
            char *t = arena_strndup(d, p + 9, (size_t)(q - 3 - (p + 9)));
            if (!t) {
                ferc_errf(e, "%s: out of memory", d->name);
                goto fail;
            }
            if (!cur->text[0] && !blank(t))
                cur->text = t;
            p = q;
            continue;
        }
        if (starts(p, end, "<!")) {
            perr(&ps, p, "declarations are not supported inside elements", NULL);
            goto fail;
        }
        if (starts(p, end, "</")) {
            const char *q = p + 2, *n0 = q;
            while (q < end && is_name_char((unsigned char)*q))
                q++;
            size_t nl = (size_t)(q - n0);
            if (!cur) {
                perr(&ps, p, "end tag without a start tag", NULL);
                goto fail;
            }
            if (nl != strlen(cur->name) || memcmp(n0, cur->name, nl)) {
                char what[200];
                snprintf(what, sizeof what, "</%.*s> does not close <%.64s> (line %d)", (int)(nl > 64 ? 64 : nl), n0,
                         cur->name, cur->line);
                perr(&ps, p, "", what);
                goto fail;
            }
            q = skip_space(q, end);
            if (q >= end || *q != '>') {
                perr(&ps, p, "end tag not closed: </", cur->name);
                goto fail;
            }
            p = q + 1;
            last_child = cur;
            cur = cur->parent;
            depth--;
            if (!cur) {
                /* epilog: only white space, comments and PIs */
                for (;;) {
                    p = skip_space(p, end);
                    if (p >= end)
                        break;
                    if (starts(p, end, "<!--") || starts(p, end, "<?")) {
                        if (!(p = skip_misc(&ps, p)))
                            goto fail;
                    } else {
                        perr(&ps, p, "content after the root element", NULL);
                        goto fail;
                    }
                }
                break;
            }
            continue;
        }
        ferc_xml_node *nd;
        int empty;
        if (!cur && d->root) {
            perr(&ps, p, "more than one root element", NULL);
            goto fail;
        }
        if (!(p = start_tag(&ps, p, &nd, &empty)))
            goto fail;
        nd->parent = cur;
        if (!cur) {
            d->root = nd;
        } else {
            /* last_child is cur's last child whenever cur has children: the
             * child closed or self-closed just before this one */
            if (!cur->first_child)
                cur->first_child = nd;
            else
                last_child->next = nd;
            cur->n_child++;
        }
        last_child = nd;
        if (!empty) {
            if (++depth > FERC_XML_MAX_DEPTH) {
                perr(&ps, p, "elements nested too deeply", NULL);
                goto fail;
            }
            cur = nd;
            last_child = NULL;
        } else if (!cur) {
            /* a self-closing root element: the epilog follows */
            for (;;) {
                p = skip_space(p, end);
                if (p >= end)
                    break;
                if (starts(p, end, "<!--") || starts(p, end, "<?")) {
                    if (!(p = skip_misc(&ps, p)))
                        goto fail;
                } else {
                    perr(&ps, p, "content after the root element", NULL);
                    goto fail;
                }
            }
            break;
        }
    }
    return d;
fail:
    ferc_xml_free(d);
    return NULL;
}

ferc_xml_doc *ferc_xml_load(const char *path, ferc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ferc_errf(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE) {
                fclose(f);
                free(buf);
                ferc_errf(e, "%s: larger than 1 GiB, refused", path);
                return NULL;
            }
            cap = cap ? 2 * cap : (size_t)1 << 20;
            char *t = realloc(buf, cap);
            if (!t) {
                fclose(f);
                free(buf);
                ferc_errf(e, "%s: out of memory", path);
                return NULL;
            }
            buf = t;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        ferc_errf(e, "%s: read error", path);
        return NULL;
    }
    ferc_xml_doc *d = ferc_xml_parse(buf, n, path, e);
    free(buf);
    return d;
}

const ferc_xml_node *ferc_xml_root(const ferc_xml_doc *d)
{
    return d ? d->root : NULL;
}

const char *ferc_xml_name(const ferc_xml_doc *d)
{
    return d ? d->name : "";
}

const ferc_xml_node *ferc_xml_child(const ferc_xml_node *n, const char *name)
{
    for (const ferc_xml_node *c = n ? n->first_child : NULL; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

const char *ferc_xml_attr(const ferc_xml_node *n, const char *name)
{
    for (int i = 0; n && i < n->n_attr; i++)
        if (!strcmp(n->attr[2 * i], name))
            return n->attr[2 * i + 1];
    return NULL;
}
