/* config.c: the run configuration (see config.h), driven by one table of keys.
 *
 * Every key has a type, a range and a default written as INI text; defaults are
 * applied through the same code path as the file's values, so the table is the
 * single source of truth for parsing, validation, default logging and render.
 *
 * model.widths is special: the struct keeps only the scaled widths
 * (block_width = max(1, round(width * width_mult))). Render writes back base
 * widths that reproduce block_width exactly under width_mult (preferring the
 * "roundest" candidate, so 32 under 0.5 renders as 64), so parse(render(c))
 * gives c again and a later `model.width_mult` override rescales the original
 * widths. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "ini.h"

#define CFG_MAX_WIDTH 65536

typedef enum {
    T_INT,     /* int in [lo, hi] */
    T_U64,     /* uint64_t */
    T_FLOAT,   /* float in lo..hi, ends open or closed by flags */
    T_BOOL,    /* int 0/1 */
    T_STR,     /* char[size] */
    T_CHOICE,  /* char[size], one of choices */
    T_INDEX,   /* int, index into choices */
    T_PATHS,   /* data.path */
    T_CLASSES, /* data.classes */
    T_ALIASES, /* data.aliases */
    T_BLOCKS,  /* model.blocks: int list into block_convs */
    T_WIDTHS,  /* model.widths: int list into the base widths (cfg_bases) */
    T_FC,      /* model.fc: int list into fc_width */
} cfg_type;

enum { F_REQUIRED = 1, F_NONEMPTY = 2, F_LO_OPEN = 4, F_HI_OPEN = 8, F_NOSLASH = 16 };

typedef struct {
    const char *sec, *key;
    cfg_type type;
    size_t off, size;     /* field in ferc_config */
    double lo, hi;        /* value range; for lists, the range of each item */
    int flags;
    const char *choices;  /* "a|b|c" */
    const char *def;      /* default as INI text; NULL for required keys */
} cfg_key;

/* Widths before width_mult; kept apart because the struct stores scaled ones. */
typedef struct {
    int n;
    int w[FERC_MAX_BLOCKS];
} cfg_bases;

#define FIELD(f) offsetof(ferc_config, f), sizeof(((ferc_config *)0)->f)
#define INF HUGE_VAL
#define K_INT(s, k, f, lo, hi, def) {s, k, T_INT, FIELD(f), lo, hi, 0, NULL, def}
#define K_FLT(s, k, f, lo, hi, fl, def) {s, k, T_FLOAT, FIELD(f), lo, hi, fl, NULL, def}
#define K_BOOL(s, k, f, def) {s, k, T_BOOL, FIELD(f), 0, 1, 0, NULL, def}
#define K_STR(s, k, f, fl, def) {s, k, T_STR, FIELD(f), 0, 0, fl, NULL, def}
#define K_CHO(s, k, f, ch, def) {s, k, T_CHOICE, FIELD(f), 0, 0, 0, ch, def}
#define K_IDX(s, k, f, ch, def) {s, k, T_INDEX, FIELD(f), 0, 0, 0, ch, def}
#define K_LIST(s, k, t, f, lo, hi, fl, def) {s, k, t, FIELD(f), lo, hi, fl, NULL, def}

/* Render order. Ranges here are the documented validation rules. */
static const cfg_key cfg_keys[] = {
    K_LIST("data", "path", T_PATHS, paths, 0, 0, F_REQUIRED, NULL),
    K_STR("data", "val_path", val_path, 0, ""),
    K_LIST("data", "classes", T_CLASSES, classes, 0, 0, F_REQUIRED, NULL),
    K_LIST("data", "aliases", T_ALIASES, alias_from, 0, 0, 0, ""),
    K_INT("data", "input_size", input_size, 8, 512, "48"),
    K_IDX("data", "subject", subject_prefix, "none|prefix", "prefix"),
    K_INT("data", "folds", folds, 0, INT_MAX, "10"),
    K_INT("data", "fold", fold, 0, INT_MAX, "0"),
    K_FLT("data", "inner_val", inner_val, 0, 0.9, 0, "0"),
    K_FLT("data", "mean", mean, -1000, 1000, 0, "0.5"),
    K_FLT("data", "std", std, 0, INF, F_LO_OPEN, "0.25"),
    K_BOOL("data", "dedup", dedup, "0"),
    K_FLT("data", "min_std", min_std, 0, 255, 0, "0"),

    K_LIST("model", "blocks", T_BLOCKS, block_convs, 1, 16, 0, "2,2,3,3,3"),
    K_LIST("model", "widths", T_WIDTHS, block_width, 1, CFG_MAX_WIDTH, 0, "64,128,256,512,512"),
    K_FLT("model", "width_mult", width_mult, 0.015625, 16, 0, "1"),
    K_LIST("model", "fc", T_FC, fc_width, 1, CFG_MAX_WIDTH, 0, "512,512"),
    K_FLT("model", "dropout", dropout, 0, 1, F_HI_OPEN, "0.5"),
    K_INT("model", "freeze", freeze, 0, INT_MAX, "0"),

    K_INT("train", "epochs", epochs, 1, INT_MAX, "30"),
    K_INT("train", "batch", batch, 1, INT_MAX, "64"),
    K_CHO("train", "optimizer", optimizer, "sgd|adam|adamw", "sgd"),
    K_FLT("train", "lr", lr, 0, INF, F_LO_OPEN, "0.01"),
    K_FLT("train", "momentum", momentum, 0, 1, F_HI_OPEN, "0.9"),
    K_BOOL("train", "nesterov", nesterov, "1"),
    K_FLT("train", "weight_decay", weight_decay, 0, INF, 0, "5e-4"),
    K_FLT("train", "beta1", beta1, 0, 1, F_HI_OPEN, "0.9"),
    K_FLT("train", "beta2", beta2, 0, 1, F_HI_OPEN, "0.999"),
    K_FLT("train", "eps", eps, 0, INF, F_LO_OPEN, "1e-8"),
    K_CHO("train", "schedule", schedule, "constant|step|cosine", "cosine"),
    K_FLT("train", "warmup_epochs", warmup_epochs, 0, INF, 0, "1"),
    K_INT("train", "step_epochs", step_epochs, 1, INT_MAX, "10"),
    K_FLT("train", "step_gamma", step_gamma, 0, 1, F_LO_OPEN, "0.1"),
    K_FLT("train", "min_lr", min_lr, 0, INF, 0, "0"),
    K_FLT("train", "label_smoothing", label_smoothing, 0, 1, F_HI_OPEN, "0"),
    K_FLT("train", "mixup", mixup, 0, INF, 0, "0"),
    K_IDX("train", "class_weights", class_weights, "none|balanced|sqrt", "none"),
    {"train", "seed", T_U64, FIELD(seed), 0, 0, 0, NULL, "1"},
    K_INT("train", "threads", threads, 0, 4096, "0"),
    K_CHO("train", "select", select, "last|inner_val", "last"),
    K_INT("train", "swa_epochs", swa_epochs, 0, INT_MAX, "0"),
    K_FLT("train", "swa_lr", swa_lr, 0, INF, 0, "0"),
    K_STR("train", "distill", distill, 0, ""),
    K_FLT("train", "distill_weight", distill_weight, 0, 1, F_LO_OPEN, "0.5"),
    K_FLT("train", "distill_temp", distill_temp, 0, 100, F_LO_OPEN, "2"),

    K_BOOL("augment", "flip", flip, "1"),
    K_FLT("augment", "shift", shift, 0, 1, F_HI_OPEN, "0.1"),
    K_FLT("augment", "rotate", rotate, 0, 180, 0, "10"),
    K_FLT("augment", "scale", scale, 0, 1, F_HI_OPEN, "0.1"),
    K_FLT("augment", "brightness", brightness, 0, 1, 0, "0.1"),
    K_FLT("augment", "contrast", contrast, 0, 1, F_HI_OPEN, "0.1"),
    K_FLT("augment", "erase", erase, 0, 1, 0, "0"),
    K_FLT("augment", "erase_area", erase_area, 0.02, 1, 0, "0.25"),

    K_STR("output", "dir", out_dir, F_NONEMPTY, "checkpoints"),
    K_STR("output", "name", name, F_NONEMPTY | F_NOSLASH, "config"), /* load: the file's stem */
    K_IDX("output", "export_dtype", export_half, "float32|float16", "float32"),
};
#define CFG_N_KEYS ((int)(sizeof cfg_keys / sizeof cfg_keys[0]))

static const char *const cfg_sections[] = {"data", "model", "train", "augment", "output"};
#define CFG_N_SECTIONS ((int)(sizeof cfg_sections / sizeof cfg_sections[0]))

/* ---- small helpers --------------------------------------------------------- */

static void *cfg_at(ferc_config *c, const cfg_key *k) { return (char *)c + k->off; }
static const void *cfg_at_c(const ferc_config *c, const cfg_key *k) { return (const char *)c + k->off; }

/* Copies src into dst[size], zero-filling the rest so structs compare with memcmp. */
static void cfg_put(char *dst, size_t size, const char *src, size_t n)
{
    memset(dst, 0, size);
    memcpy(dst, src, n < size ? n : size - 1);
}

static int cfg_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v'; }

/* The slice s[0..n) trimmed: *b = start, returns length. */
static size_t cfg_trim(const char *s, size_t n, const char **b)
{
    while (n && cfg_space(*s)) s++, n--;
    while (n && cfg_space(s[n - 1])) n--;
    *b = s;
    return n;
}

static const cfg_key *cfg_find(const char *sec, const char *key)
{
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (!strcmp(cfg_keys[i].sec, sec) && !strcmp(cfg_keys[i].key, key)) return &cfg_keys[i];
    return NULL;
}

static int cfg_section_known(const char *sec)
{
    for (int i = 0; i < CFG_N_SECTIONS; i++)
        if (!strcmp(cfg_sections[i], sec)) return 1;
    return 0;
}

/* Optimal-string-alignment edit distance (a transposition counts 1); strings
 * longer than 63 characters count as far from everything. */
static int cfg_distance(const char *a, const char *b)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 63 || m > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* Error for an unknown sec.key at `where`, with a hint: the closest known key
 * within distance 2, the same key in another section, or the section's keys. */
static int cfg_unknown_key(ferc_err *e, const char *where, const char *sec, const char *key)
{
    char full[160], best[64] = "";
    snprintf(full, sizeof full, "%s.%s", sec, key);
    int best_d = 3;
    for (int i = 0; i < CFG_N_KEYS; i++) {
        char cand[64];
        snprintf(cand, sizeof cand, "%s.%s", cfg_keys[i].sec, cfg_keys[i].key);
        int d = cfg_distance(full, cand);
        if (!strcmp(cfg_keys[i].key, key)) d = d < 1 ? d : 1; /* right key, wrong section */
        if (d < best_d) best_d = d, snprintf(best, sizeof best, "%s", cand);
    }
    if (best[0]) return ferc_errf(e, "%s: unknown key '%s' (did you mean '%s'?)", where, full, best);
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; i < CFG_N_KEYS && len < sizeof list; i++)
        if (!strcmp(cfg_keys[i].sec, sec))
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", cfg_keys[i].key);
    if (list[0]) return ferc_errf(e, "%s: unknown key '%s' (keys of [%s]: %s)", where, full, sec, list);
    return ferc_errf(e, "%s: unknown key '%s'", where, full);
}

static int cfg_unknown_section(ferc_err *e, const char *where, const char *sec)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < CFG_N_SECTIONS; i++) {
        int d = cfg_distance(sec, cfg_sections[i]);
        if (d < best_d) best_d = d, best = cfg_sections[i];
    }
    if (best) return ferc_errf(e, "%s: unknown section '[%.60s]' (did you mean '[%s]'?)", where, sec, best);
    return ferc_errf(e, "%s: unknown section '[%.60s]' (sections: data, model, train, augment, output)", where, sec);
}

/* Why s cannot be stored as a value that renders back to itself, or NULL. */
static const char *cfg_text_problem(const char *s, size_t n, int item)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) return "control characters are not allowed";
        if ((ch == ';' || ch == '#') && (i == 0 || cfg_space(s[i - 1])))
            return "';' or '#' at the start or after a space begins a comment";
        if (item && ch == ',') return "',' separates list items";
    }
    return NULL;
}

/* ---- value descriptions (used in messages) --------------------------------- */

static void cfg_describe_int(char *b, size_t n, double lo, double hi)
{
    if (lo == 1 && hi >= INT_MAX)
        snprintf(b, n, "a positive integer");
    else if (lo == 0 && hi >= INT_MAX)
        snprintf(b, n, "a non-negative integer");
    else
        snprintf(b, n, "an integer in %.0f..%.0f", lo, hi);
}

static void cfg_describe_float(char *b, size_t n, const cfg_key *k)
{
    int lo_open = !!(k->flags & F_LO_OPEN), hi_open = !!(k->flags & F_HI_OPEN);
    if (k->lo == 0 && k->hi == INF)
        snprintf(b, n, lo_open ? "a positive number" : "a non-negative number");
    else
        snprintf(b, n, "a number in %c%g, %g%c", lo_open ? '(' : '[', k->lo, k->hi, hi_open ? ')' : ']');
}

/* ---- scalar parsers: 0 on success ------------------------------------------ */

static int cfg_parse_long(const char *s, double lo, double hi, int *out)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || (double)v < lo || (double)v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int cfg_parse_float(const char *s, const cfg_key *k, float *out)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return -1;
    float lo = (float)k->lo, hi = (float)k->hi;
    if ((k->flags & F_LO_OPEN) ? v <= lo : v < lo) return -1;
    if ((k->flags & F_HI_OPEN) ? v >= hi : v > hi) return -1;
    *out = v == 0 ? 0.0f : v; /* no -0 */
    return 0;
}

static int cfg_parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"1", "true", "yes", "on"}, *const f[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, t[i])) return *out = 1, 0;
        if (!strcasecmp(s, f[i])) return *out = 0, 0;
    }
    return -1;
}

/* Index of s in "a|b|c" (case-insensitive), or -1. */
static int cfg_choice(const char *choices, const char *s)
{
    size_t n = strlen(s);
    int i = 0;
    for (const char *p = choices;; i++) {
        size_t m = strcspn(p, "|");
        if (m == n && !strncasecmp(p, s, n)) return i;
        if (!p[m]) return -1;
        p += m + 1;
    }
}

/* The i-th choice copied into out. */
static void cfg_choice_name(const char *choices, int i, char *out, size_t n)
{
    const char *p = choices;
    for (; i > 0 && strchr(p, '|'); i--) p = strchr(p, '|') + 1;
    snprintf(out, n, "%.*s", (int)strcspn(p, "|"), p);
}

/* ---- lists ------------------------------------------------------------------ */

typedef struct {
    int n;
    const char *s[FERC_MAX_ALIASES + 1]; /* trimmed items (not terminated) */
    size_t len[FERC_MAX_ALIASES + 1];
} cfg_items;

/* Splits v at commas into trimmed items; an empty value is an empty list.
 * Counts every item but keeps the first FERC_MAX_ALIASES + 1 (callers check
 * the count first). Returns -1 (with a message) on an empty item. */
static int cfg_split(const char *v, cfg_items *it, const char *where, const cfg_key *k, ferc_err *e)
{
    it->n = 0;
    if (!*v) return 0;
    for (const char *p = v;;) {
        size_t m = strcspn(p, ",");
        const char *b;
        size_t len = cfg_trim(p, m, &b);
        if (!len)
            return ferc_errf(e, "%s: %s.%s: item %d of '%.200s' is empty", where, k->sec, k->key, it->n + 1, v);
        if (it->n <= FERC_MAX_ALIASES) it->s[it->n] = b, it->len[it->n] = len;
        it->n++;
        if (!p[m]) return 0;
        p += m + 1;
    }
}

static int cfg_count(int n, int lo, int hi, const char *what, const char *where, const cfg_key *k, const char *v,
                     ferc_err *e)
{
    if (n >= lo && n <= hi) return 0;
    if (lo == hi) return ferc_errf(e, "%s: %s.%s: expected %d %s, got %d in '%.200s'", where, k->sec, k->key, lo, what, n, v);
    return ferc_errf(e, "%s: %s.%s: expected %d to %d %s, got %d in '%.200s'", where, k->sec, k->key, lo, hi, what, n,
                     v);
}

static int cfg_int_list(const char *v, int min_n, int max_n, const char *what, int *out, int *n_out, const char *where,
                        const cfg_key *k, ferc_err *e)
{
    cfg_items it;
    if (cfg_split(v, &it, where, k, e) < 0) return -1;
    if (cfg_count(it.n, min_n, max_n, what, where, k, v, e) < 0) return -1;
    int tmp[FERC_MAX_ALIASES];
    for (int i = 0; i < it.n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(it.len[i] < 63 ? it.len[i] : 63), it.s[i]);
        if (it.len[i] > 63 || cfg_parse_long(buf, k->lo, k->hi, &tmp[i]) < 0) {
            char d[64];
            cfg_describe_int(d, sizeof d, k->lo, k->hi);
            return ferc_errf(e, "%s: %s.%s: item %d: expected %s, got '%.*s'", where, k->sec, k->key, i + 1, d,
                             (int)(it.len[i] < 200 ? it.len[i] : 200), it.s[i]);
        }
    }
    for (int i = 0; i < it.n; i++) out[i] = tmp[i];
    *n_out = it.n;
    return 0;
}

/* Checks a name or path item; returns -1 with a message if unusable. */
static int cfg_check_item(const char *s, size_t len, size_t size, int item, const char *where, const cfg_key *k,
                          ferc_err *e)
{
    if (len >= size)
        return ferc_errf(e, "%s: %s.%s: '%.60s...' is too long (at most %zu characters)", where, k->sec, k->key, s,
                         size - 1);
    const char *why = cfg_text_problem(s, len, item);
    if (why) return ferc_errf(e, "%s: %s.%s: bad value '%.*s': %s", where, k->sec, k->key, (int)len, s, why);
    return 0;
}

/* ---- apply one value ---------------------------------------------------------- */

/* Parses v (already trimmed) for key k into c (and b for widths). `where` is
 * "file:line" or "command line". On error c may be partly changed. */
static int cfg_apply(ferc_config *c, cfg_bases *b, const cfg_key *k, const char *v, const char *where, ferc_err *e)
{
    char d[96];
    switch (k->type) {
    case T_INT:
        if (cfg_parse_long(v, k->lo, k->hi, (int *)cfg_at(c, k)) == 0) return 0;
        cfg_describe_int(d, sizeof d, k->lo, k->hi);
        break;
    case T_U64: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (*v >= '0' && *v <= '9' && !*end && !errno) {
            *(uint64_t *)cfg_at(c, k) = (uint64_t)x;
            return 0;
        }
        snprintf(d, sizeof d, "an unsigned 64-bit integer");
        break;
    }
    case T_FLOAT:
        if (cfg_parse_float(v, k, (float *)cfg_at(c, k)) == 0) return 0;
        cfg_describe_float(d, sizeof d, k);
        break;
    case T_BOOL:
        if (cfg_parse_bool(v, (int *)cfg_at(c, k)) == 0) return 0;
        snprintf(d, sizeof d, "a boolean (1/0/true/false/yes/no/on/off)");
        break;
    case T_STR: {
        size_t n = strlen(v);
        if (!n && (k->flags & F_NONEMPTY)) {
            snprintf(d, sizeof d, "a non-empty string");
            break;
        }
        if ((k->flags & F_NOSLASH) && strchr(v, '/')) {
            snprintf(d, sizeof d, "a name without '/'");
            break;
        }
        if (cfg_check_item(v, n, k->size, 0, where, k, e) < 0) return -1;
        cfg_put(cfg_at(c, k), k->size, v, n);
        return 0;
    }
    case T_CHOICE:
    case T_INDEX: {
        int i = cfg_choice(k->choices, v);
        if (i >= 0) {
            if (k->type == T_INDEX) {
                *(int *)cfg_at(c, k) = i;
            } else {
                char name[32];
                cfg_choice_name(k->choices, i, name, sizeof name);
                cfg_put(cfg_at(c, k), k->size, name, strlen(name));
            }
            return 0;
        }
        snprintf(d, sizeof d, "one of %s", k->choices);
        break;
    }
    case T_PATHS:
    case T_CLASSES: {
        const int paths = k->type == T_PATHS, max = paths ? FERC_MAX_PATHS : FERC_MAX_CLASSES;
        const size_t size = paths ? FERC_PATH : FERC_NAME;
        cfg_items it;
        if (cfg_split(v, &it, where, k, e) < 0) return -1;
        if (cfg_count(it.n, paths ? 1 : 2, max, paths ? "paths" : "class names", where, k, v, e) < 0) return -1;
        for (int i = 0; i < it.n; i++) {
            if (cfg_check_item(it.s[i], it.len[i], size, 1, where, k, e) < 0) return -1;
            if (!paths && memchr(it.s[i], '=', it.len[i]))
                return ferc_errf(e, "%s: data.classes: class name '%.*s' contains '='", where, (int)it.len[i], it.s[i]);
            for (int j = 0; j < i && !paths; j++)
                if (it.len[j] == it.len[i] && !strncasecmp(it.s[j], it.s[i], it.len[i]))
                    return ferc_errf(e, "%s: data.classes: duplicate class '%.*s'", where, (int)it.len[i], it.s[i]);
        }
        if (paths) {
            memset(c->paths, 0, sizeof c->paths);
            for (int i = 0; i < it.n; i++) cfg_put(c->paths[i], FERC_PATH, it.s[i], it.len[i]);
            c->n_paths = it.n;
        } else {
            memset(c->classes, 0, sizeof c->classes);
            for (int i = 0; i < it.n; i++) cfg_put(c->classes[i], FERC_NAME, it.s[i], it.len[i]);
            c->n_classes = it.n;
        }
        return 0;
    }
    case T_ALIASES: {
        cfg_items it;
        if (cfg_split(v, &it, where, k, e) < 0) return -1;
        if (cfg_count(it.n, 0, FERC_MAX_ALIASES, "aliases", where, k, v, e) < 0) return -1;
        char from[FERC_MAX_ALIASES][FERC_NAME], to[FERC_MAX_ALIASES][FERC_NAME];
        memset(from, 0, sizeof from), memset(to, 0, sizeof to);
        for (int i = 0; i < it.n; i++) {
            const char *s = it.s[i], *eq = memchr(s, '=', it.len[i]), *f = s, *t = s;
            size_t rest = eq ? it.len[i] - (size_t)(eq - s) - 1 : 0;
            size_t fl = eq ? cfg_trim(s, (size_t)(eq - s), &f) : 0, tl = eq ? cfg_trim(eq + 1, rest, &t) : 0;
            if (!eq || !fl || !tl || memchr(eq + 1, '=', rest))
                return ferc_errf(e, "%s: data.aliases: expected folder=class, got '%.*s'", where, (int)it.len[i], s);
            if (cfg_check_item(f, fl, FERC_NAME, 1, where, k, e) < 0 || cfg_check_item(t, tl, FERC_NAME, 1, where, k, e) < 0)
                return -1;
            cfg_put(from[i], FERC_NAME, f, fl);
            cfg_put(to[i], FERC_NAME, t, tl);
            for (int j = 0; j < i; j++)
                if (!strcasecmp(from[j], from[i]))
                    return ferc_errf(e, "%s: data.aliases: folder '%s' is aliased twice", where, from[i]);
        }
        memcpy(c->alias_from, from, sizeof from);
        memcpy(c->alias_to, to, sizeof to);
        c->n_aliases = it.n;
        return 0;
    }
    case T_BLOCKS: {
        int tmp[FERC_MAX_BLOCKS], n;
        if (cfg_int_list(v, 1, FERC_MAX_BLOCKS, "blocks", tmp, &n, where, k, e) < 0) return -1;
        memset(c->block_convs, 0, sizeof c->block_convs);
        memcpy(c->block_convs, tmp, (size_t)n * sizeof *tmp);
        c->n_blocks = n;
        return 0;
    }
    case T_WIDTHS: {
        int tmp[FERC_MAX_BLOCKS], n;
        if (cfg_int_list(v, 1, FERC_MAX_BLOCKS, "widths", tmp, &n, where, k, e) < 0) return -1;
        memset(b, 0, sizeof *b);
        memcpy(b->w, tmp, (size_t)n * sizeof *tmp);
        b->n = n;
        return 0;
    }
    case T_FC: {
        int tmp[FERC_MAX_FC], n;
        if (cfg_int_list(v, 0, FERC_MAX_FC, "hidden layer widths", tmp, &n, where, k, e) < 0) return -1;
        memset(c->fc_width, 0, sizeof c->fc_width);
        memcpy(c->fc_width, tmp, (size_t)n * sizeof *tmp);
        c->n_fc = n;
        return 0;
    }
    }
    return ferc_errf(e, "%s: %s.%s: expected %s, got '%.200s'", where, k->sec, k->key, d, v);
}

/* ---- widths under width_mult -------------------------------------------------- */

static int cfg_scale(int base, float mult)
{
    long w = lround((double)base * (double)mult);
    return w < 1 ? 1 : (int)w;
}

static int cfg_ctz(int x)
{
    int n = 0;
    while (x > 0 && !(x & 1)) x >>= 1, n++;
    return n;
}

/* A base width that scales to w under mult (the one with most trailing zero
 * bits, then the one nearest w / mult), or -1 if there is none. */
static int cfg_base_width(int w, float mult)
{
    if (w < 1 || !(mult > 0) || !isfinite(mult)) return -1;
    double m = (double)mult, guess = (double)w / m;
    double dlo = w == 1 ? 1 : floor((w - 0.5) / m) - 1, dhi = ceil((w + 0.5) / m) + 1;
    if (dlo < 1) dlo = 1;
    if (dhi > CFG_MAX_WIDTH) dhi = CFG_MAX_WIDTH;
    if (dlo > dhi) return -1;
    long lo = (long)dlo, hi = (long)dhi;
    int best = -1;
    for (long x = lo; x <= hi; x++) {
        if (cfg_scale((int)x, mult) != w) continue;
        if (best < 0 || cfg_ctz((int)x) > cfg_ctz(best) ||
            (cfg_ctz((int)x) == cfg_ctz(best) && fabs((double)x - guess) < fabs((double)best - guess)))
            best = (int)x;
    }
    return best;
}

static int cfg_recover_bases(const ferc_config *c, cfg_bases *b, ferc_err *e)
{
    memset(b, 0, sizeof *b);
    if (c->n_blocks < 0 || c->n_blocks > FERC_MAX_BLOCKS)
        return ferc_errf(e, "config: bad number of blocks %d", c->n_blocks);
    b->n = c->n_blocks;
    for (int i = 0; i < c->n_blocks; i++) {
        b->w[i] = cfg_base_width(c->block_width[i], c->width_mult);
        if (b->w[i] < 0)
            return ferc_errf(e, "config: model.widths: block width %d is not any integer width times width_mult %g",
                             c->block_width[i], (double)c->width_mult);
    }
    return 0;
}

/* ---- cross-key checks ------------------------------------------------------------ */

/* Where a value came from: a parsed file (ini != NULL) or the command line. */
typedef struct {
    const char *name;
    const ferc_ini *ini;
} cfg_origin;

/* "file:line" of the first of key1/key2 present in the file, else "file";
 * "command line" for overrides. */
static const char *cfg_where(const cfg_origin *o, const char *key1, const char *key2, char *buf, size_t n)
{
    if (!o->ini) return "command line";
    const char *keys[2] = {key1, key2};
    for (int i = 0; i < 2; i++) {
        if (!keys[i]) continue;
        char sec[16];
        const char *dot = strchr(keys[i], '.');
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - keys[i]), keys[i]);
        const ferc_ini_entry *en = ferc_ini_get(o->ini, sec, dot + 1);
        if (en) {
            snprintf(buf, n, "%s:%d", o->name, en->line);
            return buf;
        }
    }
    return o->name;
}

static int cfg_class_index(const ferc_config *c, const char *name)
{
    for (int i = 0; i < c->n_classes; i++)
        if (!strcasecmp(c->classes[i], name)) return i;
    return -1;
}

/* Checks rules between keys and computes block_width. */
static int cfg_finish(ferc_config *c, const cfg_bases *b, const cfg_origin *o, ferc_err *e)
{
    char w[FERC_PATH + 32];
    if (b->n != c->n_blocks)
        return ferc_errf(e, "%s: model.widths has %d entries but model.blocks has %d; give one width per block",
                         cfg_where(o, "model.widths", "model.blocks", w, sizeof w), b->n, c->n_blocks);
    memset(c->block_width, 0, sizeof c->block_width);
    int convs = 0;
    for (int i = 0; i < c->n_blocks; i++) {
        c->block_width[i] = cfg_scale(b->w[i], c->width_mult);
        convs += c->block_convs[i];
    }
    if (c->freeze > convs)
        return ferc_errf(e, "%s: model.freeze: %d conv layers to freeze but model.blocks has only %d",
                         cfg_where(o, "model.freeze", NULL, w, sizeof w), c->freeze, convs);
    if (c->folds <= 1 ? c->fold != 0 : c->fold >= c->folds)
        return ferc_errf(e, "%s: data.fold: must be in 0..%d for data.folds = %d, got %d",
                         cfg_where(o, "data.fold", "data.folds", w, sizeof w), c->folds > 1 ? c->folds - 1 : 0,
                         c->folds, c->fold);
    for (int i = 0; i < c->n_aliases; i++) {
        if (cfg_class_index(c, c->alias_to[i]) < 0)
            return ferc_errf(e, "%s: data.aliases: '%s=%s': '%s' is not in data.classes",
                             cfg_where(o, "data.aliases", NULL, w, sizeof w), c->alias_from[i], c->alias_to[i],
                             c->alias_to[i]);
        if (cfg_class_index(c, c->alias_from[i]) >= 0)
            return ferc_errf(e, "%s: data.aliases: '%s=%s': '%s' is already a class name",
                             cfg_where(o, "data.aliases", NULL, w, sizeof w), c->alias_from[i], c->alias_to[i],
                             c->alias_from[i]);
    }
    if (!strcmp(c->select, "inner_val") && !(c->inner_val > 0))
        return ferc_errf(e, "%s: train.select = inner_val needs data.inner_val > 0",
                         cfg_where(o, "train.select", "data.inner_val", w, sizeof w));
    if (c->swa_epochs > c->epochs)
        return ferc_errf(e, "%s: train.swa_epochs (%d) is more than train.epochs (%d)",
                         cfg_where(o, "train.swa_epochs", "train.epochs", w, sizeof w), c->swa_epochs, c->epochs);
    if (c->swa_epochs > 0 && !strcmp(c->select, "inner_val"))
        return ferc_errf(e, "%s: train.swa_epochs averages the last epochs, so it cannot be combined with "
                            "train.select = inner_val",
                         cfg_where(o, "train.swa_epochs", "train.select", w, sizeof w));
    if (c->distill[0] && c->mixup > 0)
        return ferc_errf(e, "%s: train.distill cannot be combined with train.mixup (the teacher's targets "
                            "are those of the unmixed images)",
                         cfg_where(o, "train.distill", "train.mixup", w, sizeof w));
    if (c->min_lr > c->lr)
        return ferc_errf(e, "%s: train.min_lr (%g) is above train.lr (%g)",
                         cfg_where(o, "train.min_lr", "train.lr", w, sizeof w), (double)c->min_lr, (double)c->lr);
    return 0;
}

/* ---- rendering ---------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} cfg_buf;

static void cfg_printf(cfg_buf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfg_printf(cfg_buf *s, const char *fmt, ...)
{
    if (s->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t nc = s->cap ? s->cap : 1024;
        while (nc <= s->n + (size_t)k) nc *= 2;
        char *np = realloc(s->p, nc);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np, s->cap = nc;
    }
}

/* The shortest %g form (from 6 digits, so 10 is not "1e+01") that reads back
 * as exactly v; 9 digits always do. */
static void cfg_float_str(float v, char *out, size_t n)
{
    for (int p = 6; p <= 9; p++) {
        snprintf(out, n, "%.*g", p, (double)v);
        if (strtof(out, NULL) == v) return;
    }
}

static void cfg_int_join(cfg_buf *s, const int *v, int n)
{
    for (int i = 0; i < n; i++) cfg_printf(s, "%s%d", i ? "," : "", v[i]);
}

/* Appends the value of k as INI text. */
static void cfg_value(cfg_buf *s, const ferc_config *c, const cfg_bases *b, const cfg_key *k)
{
    char t[64];
    switch (k->type) {
    case T_INT:
    case T_BOOL: cfg_printf(s, "%d", *(const int *)cfg_at_c(c, k)); break;
    case T_U64: cfg_printf(s, "%" PRIu64, *(const uint64_t *)cfg_at_c(c, k)); break;
    case T_FLOAT:
        cfg_float_str(*(const float *)cfg_at_c(c, k), t, sizeof t);
        cfg_printf(s, "%s", t);
        break;
    case T_STR:
    case T_CHOICE: cfg_printf(s, "%.*s", (int)k->size, (const char *)cfg_at_c(c, k)); break;
    case T_INDEX:
        cfg_choice_name(k->choices, *(const int *)cfg_at_c(c, k), t, sizeof t);
        cfg_printf(s, "%s", t);
        break;
    case T_PATHS:
        for (int i = 0; i < c->n_paths && i < FERC_MAX_PATHS; i++)
            cfg_printf(s, "%s%.*s", i ? ", " : "", FERC_PATH, c->paths[i]);
        break;
    case T_CLASSES:
        for (int i = 0; i < c->n_classes && i < FERC_MAX_CLASSES; i++)
            cfg_printf(s, "%s%.*s", i ? ", " : "", FERC_NAME, c->classes[i]);
        break;
    case T_ALIASES:
        for (int i = 0; i < c->n_aliases && i < FERC_MAX_ALIASES; i++)
            cfg_printf(s, "%s%.*s=%.*s", i ? ", " : "", FERC_NAME, c->alias_from[i], FERC_NAME, c->alias_to[i]);
        break;
    case T_BLOCKS: cfg_int_join(s, c->block_convs, c->n_blocks); break;
    case T_WIDTHS: cfg_int_join(s, b->w, b->n); break;
    case T_FC: cfg_int_join(s, c->fc_width, c->n_fc < FERC_MAX_FC ? c->n_fc : FERC_MAX_FC); break;
    }
}

int ferc_config_diff(const ferc_config *now, const ferc_config *was, ferc_config_diff_fn fn, void *ctx, ferc_err *e)
{
    cfg_bases bn, bw;
    if (cfg_recover_bases(now, &bn, e) < 0 || cfg_recover_bases(was, &bw, e) < 0) return -1;
    cfg_buf a = {0}, b = {0};
    char key[96];
    int n = 0;
    for (int i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &cfg_keys[i];
        a.n = b.n = 0;
        cfg_printf(&a, "%s", ""), cfg_printf(&b, "%s", ""); /* "" for an empty value */
        cfg_value(&a, now, &bn, k);
        cfg_value(&b, was, &bw, k);
        if (a.oom || b.oom) {
            free(a.p), free(b.p);
            return ferc_errf(e, "config: out of memory comparing configurations");
        }
        if (strcmp(a.p, b.p)) {
            snprintf(key, sizeof key, "%s.%s", k->sec, k->key);
            if (fn) fn(ctx, key, a.p, b.p);
            n++;
        }
    }
    free(a.p), free(b.p);
    return n;
}

int ferc_config_render(ferc_config *c, ferc_err *e)
{
    if (c->n_blocks < 0 || c->n_blocks > FERC_MAX_BLOCKS || c->n_fc < 0 || c->n_fc > FERC_MAX_FC)
        return ferc_errf(e, "config: cannot render: bad model.blocks or model.fc count");
    cfg_bases b;
    if (cfg_recover_bases(c, &b, e) < 0) return -1;
    cfg_buf s = {0};
    cfg_printf(&s, "; ferc configuration: every key, defaults included (see src/config.h)\n");
    for (int i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (!i || strcmp(k->sec, cfg_keys[i - 1].sec)) cfg_printf(&s, "%s[%s]\n", i ? "\n" : "", k->sec);
        cfg_printf(&s, "%s = ", k->key);
        size_t mark = s.n;
        cfg_value(&s, c, &b, k);
        if (!s.oom && s.n == mark) s.n = mark - 1, s.p[s.n] = 0; /* "key =" for an empty value */
        cfg_printf(&s, "\n");
    }
    if (s.oom) {
        free(s.p);
        return ferc_errf(e, "config: out of memory rendering the configuration");
    }
    free(c->text);
    c->text = s.p;
    return 0;
}

/* ---- public API ------------------------------------------------------------------------- */

/* Defaults into c and b (c->text NULL). The table's defaults are valid by
 * construction (tested), so errors are impossible here. */
static void cfg_defaults(ferc_config *c, cfg_bases *b)
{
    memset(c, 0, sizeof *c);
    memset(b, 0, sizeof *b);
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (cfg_keys[i].def) cfg_apply(c, b, &cfg_keys[i], cfg_keys[i].def, "default", NULL);
    for (int i = 0; i < c->n_blocks; i++) c->block_width[i] = cfg_scale(b->w[i], c->width_mult);
}

void ferc_config_defaults(ferc_config *c)
{
    cfg_bases b;
    cfg_defaults(c, &b);
}

/* output.name's default: the stem of the file name ("configs/ck.ini" -> "ck"),
 * or "config" for "<...>" names and stems unusable as names. */
static void cfg_stem(const char *name, char *out, size_t n)
{
    snprintf(out, n, "config");
    if (!name || name[0] == '<') return;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (!len || len >= n || cfg_text_problem(base, len, 0) || cfg_space(base[0]) || cfg_space(base[len - 1])) return;
    cfg_put(out, n, base, len);
}

static int cfg_from_ini(ferc_config *c, const ferc_ini *ini, const char *name, ferc_log_fn log, void *log_ctx,
                        ferc_err *e)
{
    cfg_bases b;
    cfg_defaults(c, &b);
    cfg_stem(name, c->name, sizeof c->name);
    char w[FERC_PATH + 32];
    for (int i = 0; i < ini->n_sections; i++)
        if (!cfg_section_known(ini->sections[i].name)) {
            snprintf(w, sizeof w, "%s:%d", name, ini->sections[i].line);
            return cfg_unknown_section(e, w, ini->sections[i].name);
        }
    for (int i = 0; i < ini->n_entries; i++) {
        const ferc_ini_entry *en = &ini->entries[i];
        snprintf(w, sizeof w, "%s:%d", name, en->line);
        const cfg_key *k = cfg_find(en->section, en->key);
        if (!k) return cfg_unknown_key(e, w, en->section, en->key);
        if (cfg_apply(c, &b, k, en->value, w, e) < 0) return -1;
    }
    for (int i = 0; i < CFG_N_KEYS; i++)
        if ((cfg_keys[i].flags & F_REQUIRED) && !ferc_ini_get(ini, cfg_keys[i].sec, cfg_keys[i].key))
            return ferc_errf(e, "%s: missing required key '%s.%s' (add '%s = ...' under [%s])", name, cfg_keys[i].sec,
                             cfg_keys[i].key, cfg_keys[i].key, cfg_keys[i].sec);
    cfg_origin o = {name, ini};
    if (cfg_finish(c, &b, &o, e) < 0) return -1;
    if (log) {
        cfg_buf s = {0};
        for (int i = 0; i < CFG_N_KEYS; i++) {
            const cfg_key *k = &cfg_keys[i];
            if (ferc_ini_get(ini, k->sec, k->key)) continue;
            s.n = 0;
            cfg_printf(&s, "default: %s.%s = ", k->sec, k->key);
            size_t mark = s.n;
            cfg_value(&s, c, &b, k);
            if (s.n == mark) cfg_printf(&s, "(empty)");
            if (!s.oom) log(log_ctx, s.p);
        }
        free(s.p);
    }
    return ferc_config_render(c, e);
}

int ferc_config_parse(ferc_config *c, const char *text, const char *name, ferc_log_fn log, void *log_ctx, ferc_err *e)
{
    if (!name) name = "<string>";
    ferc_ini ini;
    memset(c, 0, sizeof *c);
    if (ferc_ini_parse(&ini, text, name, e) < 0) return -1;
    int rc = cfg_from_ini(c, &ini, name, log, log_ctx, e);
    ferc_ini_free(&ini);
    if (rc < 0) ferc_config_free(c);
    return rc;
}

int ferc_config_load(ferc_config *c, const char *path, ferc_log_fn log, void *log_ctx, ferc_err *e)
{
    ferc_ini ini;
    memset(c, 0, sizeof *c);
    if (ferc_ini_load(&ini, path, e) < 0) return -1;
    int rc = cfg_from_ini(c, &ini, path, log, log_ctx, e);
    ferc_ini_free(&ini);
    if (rc < 0) ferc_config_free(c);
    return rc;
}

int ferc_config_set(ferc_config *c, const char *key, const char *value, ferc_err *e)
{
    if (!key || !value) return ferc_errf(e, "command line: no key or value to set");
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || !dot[1])
        return ferc_errf(e, "command line: bad key '%.100s' (expected section.key, e.g. train.epochs)", key);
    char sec[64];
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - key < 63 ? dot - key : 63), key);
    if (!cfg_section_known(sec)) return cfg_unknown_section(e, "command line", sec);
    const cfg_key *k = cfg_find(sec, dot + 1);
    if (!k) return cfg_unknown_key(e, "command line", sec, dot + 1);

    const char *vb;
    size_t vl = cfg_trim(value, strlen(value), &vb);
    char *v = malloc(vl + 1);
    ferc_config *t = malloc(sizeof *t);
    if (!v || !t) {
        free(v), free(t);
        return ferc_errf(e, "command line: out of memory");
    }
    memcpy(v, vb, vl);
    v[vl] = 0;
    memcpy(t, c, sizeof *t);
    t->text = NULL;
    cfg_bases b;
    cfg_origin o = {"command line", NULL};
    int rc = cfg_recover_bases(t, &b, e);
    if (rc == 0) rc = cfg_apply(t, &b, k, v, "command line", e);
    if (rc == 0) rc = cfg_finish(t, &b, &o, e);
    if (rc == 0) rc = ferc_config_render(t, e);
    if (rc == 0) {
        free(c->text);
        memcpy(c, t, sizeof *c);
    }
    free(v);
    free(t);
    return rc;
}

int ferc_config_class_of(const ferc_config *c, const char *folder)
{
    if (!folder) return -1;
    int k = cfg_class_index(c, folder);
    if (k >= 0) return k;
    for (int i = 0; i < c->n_aliases && i < FERC_MAX_ALIASES; i++)
        if (!strcasecmp(c->alias_from[i], folder)) return cfg_class_index(c, c->alias_to[i]);
    return -1;
}

void ferc_config_free(ferc_config *c)
{
    free(c->text);
    c->text = NULL;
}
