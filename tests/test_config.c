/* test_config.c: the INI reader and the run configuration. Good files
 * (configs/ck.ini, configs/tiny.ini), defaults and their log lines, every
 * kind of malformed file (each message must carry file:line and the key),
 * render -> parse round trips, command-line overrides and folder -> class
 * lookup. Run from the project root. */
#include <glob.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "ini.h"
#include "test.h"

/* ---- fixtures ------------------------------------------------------------- */

static char g_dir[64]; /* scratch directory, removed at the end */
static int g_files;    /* files written there */

/* Writes text to a new file under g_dir; returns its path in path. */
static void write_tmp(const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/case%02d.ini", g_dir, g_files++);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

typedef struct {
    int n;
    char line[64][160];
} log_lines;

static void capture(void *ctx, const char *msg)
{
    log_lines *l = ctx;
    if (l->n < 64) snprintf(l->line[l->n], sizeof l->line[0], "%s", msg);
    l->n++;
}

static int logged(const log_lines *l, const char *msg)
{
    for (int i = 0; i < l->n && i < 64; i++)
        if (!strcmp(l->line[i], msg)) return 1;
    return 0;
}

/* Logged a line starting with prefix? */
static int logged_prefix(const log_lines *l, const char *prefix)
{
    for (int i = 0; i < l->n && i < 64; i++)
        if (!strncmp(l->line[i], prefix, strlen(prefix))) return 1;
    return 0;
}

/* Equal field for field (text aside)? */
static int same_config(const ferc_config *a, const ferc_config *b)
{
    static ferc_config x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    x.text = y.text = NULL;
    return !memcmp(&x, &y, sizeof x);
}

static const char *k_min = "[data]\npath = d\nclasses = a, b\n";

/* Loads text from a temp file; it must fail with a message that starts with
 * "<path>:<line>: " (line 0: "<path>: ") and contains both parts. */
static void expect_err_at(const char *text, int line, const char *part1, const char *part2, int src_line)
{
    char path[128], prefix[160];
    write_tmp(text, path, sizeof path);
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    ferc_config c;
    ferc_err e = {""};
    int rc = ferc_config_load(&c, path, NULL, NULL, &e);
    CHECKF(rc == -1, "(case at line %d) loaded a bad file", src_line);
    CHECKF(c.text == NULL, "(case at line %d) text left allocated", src_line);
    CHECKF(!strncmp(e.msg, prefix, strlen(prefix)), "(case at line %d) want prefix '%s', got '%s'", src_line, prefix,
           e.msg);
    CHECKF(!part1 || strstr(e.msg, part1), "(case at line %d) want '%s' in '%s'", src_line, part1, e.msg);
    CHECKF(!part2 || strstr(e.msg, part2), "(case at line %d) want '%s' in '%s'", src_line, part2, e.msg);
    ferc_config_free(&c);
}
#define EXPECT_ERR(text, line, p1, p2) expect_err_at(text, line, p1, p2, __LINE__)

/* k_min plus more text. */
static const char *with_min(const char *more)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", k_min, more);
    return buf;
}

/* ---- the INI reader --------------------------------------------------------------- */

static int test_ini_syntax(void)
{
    const char *text = "\xEF\xBB\xBF; comment\r\n"
                       "# another\n"
                       "[a]\n"
                       "  x   =  1  ; trailing\r\n"
                       "y = p#q   # kept '#', cut comment\n"
                       "z =\n"
                       "[ b ]  ; comment after header\n"
                       "x = 2\n"
                       "[a]\n"
                       "w = spaces inside  value\n";
    ferc_ini ini;
    ferc_err e = {""};
    CHECKF(ferc_ini_parse(&ini, text, "t.ini", &e) == 0, "%s", e.msg);
    CHECK(ini.n_entries == 5);
    CHECK(ini.n_sections == 2);
    const ferc_ini_entry *x = ferc_ini_get(&ini, "a", "x");
    CHECK(x && !strcmp(x->value, "1") && x->line == 4);
    const ferc_ini_entry *y = ferc_ini_get(&ini, "a", "y");
    CHECK(y && !strcmp(y->value, "p#q") && y->line == 5);
    const ferc_ini_entry *z = ferc_ini_get(&ini, "a", "z");
    CHECK(z && !strcmp(z->value, ""));
    const ferc_ini_entry *bx = ferc_ini_get(&ini, "b", "x");
    CHECK(bx && !strcmp(bx->value, "2") && bx->line == 8);
    const ferc_ini_entry *w = ferc_ini_get(&ini, "a", "w");
    CHECK(w && !strcmp(w->value, "spaces inside  value") && w->line == 10);
    CHECK(ini.sections[0].line == 3 && !strcmp(ini.sections[1].name, "b"));
    CHECK(!ferc_ini_get(&ini, "b", "y"));
    ferc_ini_free(&ini);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[a]\nx = 1\nnoequals\n", "t.ini:3: expected 'key = value'"},
        {"[a]\n[b\n", "t.ini:2: unterminated section header"},
        {"x = 1\n[a]\n", "t.ini:1: key 'x' is outside any [section]"},
        {"[a]\nx = 1\n[b]\nx = 2\n[a]\nx = 3\n", "t.ini:6: duplicate key 'a.x' (first set on line 2)"},
        {"[a]\n = 1\n", "t.ini:2: empty key"},
        {"[a]\n[ ]\n", "t.ini:2: empty section name"},
        {"[a] x = 1\n", "t.ini:1: unexpected text"},
        {"[a]\nx ; = 1\n", "t.ini:2: expected 'key = value'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        CHECK(ferc_ini_parse(&ini, bad[i].text, "t.ini", &e) == -1);
        CHECKF(!strncmp(e.msg, bad[i].want, strlen(bad[i].want)), "want '%s', got '%s'", bad[i].want, e.msg);
        CHECK(ini.buf == NULL && ini.entries == NULL);
    }
    return 0;
}

/* ---- good files ------------------------------------------------------------------- */

static int test_defaults(void)
{
    ferc_config c;
    ferc_config_defaults(&c);
    CHECK(c.text == NULL);
    CHECK(c.n_paths == 0 && c.n_classes == 0 && c.n_aliases == 0 && c.val_path[0] == 0);
    CHECK(c.input_size == 48 && c.subject_prefix == 1 && c.folds == 10 && c.fold == 0);
    CHECK(c.inner_val == 0 && c.mean == 0.5f && c.std == 0.25f && c.dedup == 0 && c.min_std == 0);
    CHECK(c.n_blocks == 5 && c.width_mult == 1.0f && c.n_fc == 2 && c.dropout == 0.5f && c.freeze == 0);
    static const int convs[] = {2, 2, 3, 3, 3}, widths[] = {64, 128, 256, 512, 512};
    for (int i = 0; i < 5; i++) CHECK(c.block_convs[i] == convs[i] && c.block_width[i] == widths[i]);
    CHECK(c.fc_width[0] == 512 && c.fc_width[1] == 512);
    CHECK(c.epochs == 30 && c.batch == 64 && !strcmp(c.optimizer, "sgd"));
    CHECK(c.lr == 0.01f && c.momentum == 0.9f && c.nesterov == 1 && c.weight_decay == 5e-4f);
    CHECK(c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f && !strcmp(c.schedule, "cosine"));
    CHECK(c.warmup_epochs == 1 && c.step_epochs == 10 && c.step_gamma == 0.1f && c.min_lr == 0);
    CHECK(c.label_smoothing == 0 && c.class_weights == 0 && c.seed == 1 && c.threads == 0);
    CHECK(!strcmp(c.select, "last"));
    CHECK(c.flip == 1 && c.shift == 0.1f && c.rotate == 10 && c.scale == 0.1f);
    CHECK(c.brightness == 0.1f && c.contrast == 0.1f);
    CHECK(!strcmp(c.out_dir, "checkpoints") && !strcmp(c.name, "config"));
    /* Render works on defaults too, and free is idempotent. */
    ferc_err e = {""};
    CHECKF(ferc_config_render(&c, &e) == 0, "%s", e.msg);
    CHECK(c.text && strstr(c.text, "[augment]\nflip = 1\n"));
    CHECK(strstr(c.text, "\npath =\n") && strstr(c.text, "\nval_path =\n"));
    ferc_config_free(&c);
    ferc_config_free(&c);
    CHECK(c.text == NULL);
    return 0;
}

static int test_load_ck(void)
{
    ferc_config c;
    ferc_err e = {""};
    log_lines l = {0};
    CHECKF(ferc_config_load(&c, "configs/ck.ini", capture, &l, &e) == 0, "%s", e.msg);
    CHECK(c.n_paths == 1 && !strcmp(c.paths[0], "datasets/CK+48") && c.val_path[0] == 0);
    static const char *const cls[] = {"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"};
    CHECK(c.n_classes == 7);
    for (int i = 0; i < 7; i++) CHECK(!strcmp(c.classes[i], cls[i]));
    CHECK(c.n_aliases == 4 && !strcmp(c.alias_from[0], "happiness") && !strcmp(c.alias_to[0], "happy"));
    CHECK(!strcmp(c.alias_from[3], "surprised") && !strcmp(c.alias_to[3], "surprise"));
    CHECK(c.input_size == 48 && c.subject_prefix == 1 && c.folds == 10 && c.fold == 0);
    static const int convs[] = {2, 2, 3, 3, 3}, widths[] = {16, 32, 64, 128, 128};
    CHECK(c.n_blocks == 5 && c.width_mult == 0.25f);
    for (int i = 0; i < 5; i++) CHECK(c.block_convs[i] == convs[i] && c.block_width[i] == widths[i]);
    CHECK(c.n_fc == 2 && c.fc_width[0] == 128 && c.fc_width[1] == 128 && c.dropout == 0.2f);
    CHECK(!strcmp(c.optimizer, "sgd") && c.lr == 0.01f && c.momentum == 0.9f && c.nesterov == 1);
    CHECK(c.weight_decay == 5e-4f && !strcmp(c.schedule, "cosine") && c.warmup_epochs == 1);
    CHECK(c.epochs == 50 && c.batch == 32 && c.label_smoothing == 0.1f && c.class_weights == 1);
    CHECK(c.flip == 1 && c.shift == 0.1f && c.rotate == 10 && c.scale == 0.1f);
    CHECK(c.brightness == 0.2f && c.contrast == 0.2f);
    CHECK(!strcmp(c.out_dir, "runs") && !strcmp(c.name, "ck"));
    CHECK(c.text && strstr(c.text, "widths = 64,128,256,512,512\nwidth_mult = 0.25\n"));
    CHECK(strstr(c.text, "\nrotate = 10\n") && strstr(c.text, "\nweight_decay = 0.0005\n"));
    /* Defaults used are logged; keys in the file are not. */
    CHECK(logged(&l, "default: train.seed = 1"));
    CHECK(logged(&l, "default: data.inner_val = 0"));
    CHECK(logged(&l, "default: train.eps = 1e-08"));
    CHECK(logged(&l, "default: train.weight_decay = 0.0005") == 0); /* in the file */
    CHECK(!logged_prefix(&l, "default: train.momentum"));
    CHECK(logged(&l, "default: model.freeze = 0"));
    CHECK(!logged_prefix(&l, "default: model.widths") && !logged_prefix(&l, "default: model.width_mult"));
    ferc_config_free(&c);
    return 0;
}

static int test_load_tiny(void)
{
    ferc_config c;
    ferc_err e = {""};
    log_lines l = {0};
    CHECKF(ferc_config_load(&c, "configs/tiny.ini", capture, &l, &e) == 0, "%s", e.msg);
    CHECK(c.n_classes == 7 && c.n_aliases == 4 && c.folds == 5 && c.fold == 0);
    CHECK(c.n_blocks == 2 && c.block_convs[0] == 1 && c.block_convs[1] == 1);
    CHECK(c.block_width[0] == 8 && c.block_width[1] == 16 && c.block_width[2] == 0);
    CHECK(c.n_fc == 1 && c.fc_width[0] == 32 && c.epochs == 15 && c.batch == 32 && c.dropout == 0.0f);
    CHECK(!strcmp(c.name, "tiny") && !strcmp(c.out_dir, "runs") && c.lr == 0.02f);
    CHECK(c.momentum == 0.9f && c.input_size == 48);
    /* 56 keys, 12 in the file: one log line for each of the other 44. */
    CHECKF(l.n == 44, "%d lines", l.n);
    for (int i = 0; i < l.n && i < 64; i++) CHECKF(!strncmp(l.line[i], "default: ", 9), "%s", l.line[i]);
    CHECK(logged(&l, "default: train.momentum = 0.9"));
    CHECK(logged(&l, "default: train.weight_decay = 0.0005"));
    CHECK(logged(&l, "default: model.width_mult = 1"));
    CHECK(logged(&l, "default: data.input_size = 48"));
    CHECK(logged(&l, "default: data.subject = prefix"));
    CHECK(logged(&l, "default: output.export_dtype = float32") && c.export_half == 0);
    CHECK(logged(&l, "default: train.optimizer = sgd"));
    CHECK(logged(&l, "default: output.name = tiny"));
    CHECK(logged(&l, "default: data.val_path = (empty)"));
    CHECK(!logged_prefix(&l, "default: train.epochs") && !logged_prefix(&l, "default: data.folds"));
    /* Reading the rendered text back uses no defaults. */
    ferc_config d;
    log_lines l2 = {0};
    CHECKF(ferc_config_parse(&d, c.text, "<stored>", capture, &l2, &e) == 0, "%s", e.msg);
    CHECK(l2.n == 0);
    ferc_config_free(&d);
    ferc_config_free(&c);
    return 0;
}

static int test_parse_string(void)
{
    ferc_config c;
    ferc_err e = {""};
    CHECKF(ferc_config_parse(&c, k_min, "<stored>", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(!strcmp(c.name, "config") && c.n_paths == 1 && !strcmp(c.paths[0], "d") && c.n_classes == 2);
    ferc_config_free(&c);
    CHECKF(ferc_config_parse(&c, k_min, "runs/fold3.h5", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(!strcmp(c.name, "fold3"));
    ferc_config_free(&c);
    /* Lists, spaces, booleans and enum spellings. */
    const char *text = "[data]\n"
                       "path = /abs/one , rel/two,three with space\n"
                       "val_path = fer2013/test\n"
                       "classes = Anger,happy\n"
                       "aliases = angry = Anger ,joy=HAPPY\n"
                       "subject = NONE\n"
                       "folds = 1\n"
                       "inner_val = 0.2\n"
                       "dedup = yes\n"
                       "min_std = 2.5\n"
                       "[model]\n"
                       "fc =\n"
                       "freeze = 12\n"
                       "[train]\n"
                       "optimizer = AdamW\n"
                       "nesterov = off\n"
                       "seed = 18446744073709551615\n"
                       "select = inner_val\n"
                       "class_weights = SQRT\n"
                       "[augment]\n"
                       "flip = false\n";
    CHECKF(ferc_config_parse(&c, text, "<stored>", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(c.n_paths == 3 && !strcmp(c.paths[0], "/abs/one") && !strcmp(c.paths[2], "three with space"));
    CHECK(!strcmp(c.val_path, "fer2013/test"));
    CHECK(c.n_aliases == 2 && !strcmp(c.alias_from[0], "angry") && !strcmp(c.alias_to[0], "Anger"));
    CHECK(c.subject_prefix == 0 && c.folds == 1 && c.inner_val == 0.2f && c.dedup == 1 && c.min_std == 2.5f);
    CHECK(c.class_weights == 2);
    CHECK(c.n_fc == 0 && c.freeze == 12 && !strcmp(c.optimizer, "adamw") && c.nesterov == 0);
    CHECK(c.seed == UINT64_MAX && !strcmp(c.select, "inner_val") && c.flip == 0);
    CHECK(c.text && strstr(c.text, "\nfc =\n") && strstr(c.text, "optimizer = adamw\n"));
    ferc_config_free(&c);
    return 0;
}

/* ---- malformed files -------------------------------------------------------------- */

static int test_bad_syntax(void)
{
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\n[train]\nepochs 5\n", 5, "expected 'key = value'", "epochs 5");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\n\n[train\nepochs = 5\n", 5, "unterminated section header", NULL);
    EXPECT_ERR("; leading comment\nepochs = 5\n[data]\npath = d\nclasses = a, b\n", 2, "outside any [section]", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\npath = e\n", 4, "duplicate key 'data.path'", "line 2");
    EXPECT_ERR(with_min("[train]\n= 5\n"), 5, "empty key", NULL);
    return 0;
}

static int test_unknown(void)
{
    EXPECT_ERR(with_min("[trian]\nepochs = 3\n"), 4, "unknown section '[trian]'", "did you mean '[train]'");
    EXPECT_ERR(with_min("[network]\nx = 3\n"), 4, "unknown section '[network]'", "sections: data, model");
    EXPECT_ERR(with_min("[train]\nbatch = 8\nepoch = 3\n"), 6, "unknown key 'train.epoch'",
               "did you mean 'train.epochs'?");
    EXPECT_ERR(with_min("[train]\nlerning_rate = 0.1\n"), 5, "unknown key 'train.lerning_rate'", "keys of [train]");
    EXPECT_ERR(with_min("[train]\nflip = 1\n"), 5, "unknown key 'train.flip'", "did you mean 'augment.flip'?");
    EXPECT_ERR("[data]\npth = d\nclasses = a, b\n", 2, "unknown key 'data.pth'", "did you mean 'data.path'?");
    /* no suggestion for far-off keys */
    char path[128];
    write_tmp(with_min("[train]\nlerning_rate = 0.1\n"), path, sizeof path);
    ferc_config c;
    ferc_err e = {""};
    CHECK(ferc_config_load(&c, path, NULL, NULL, &e) == -1);
    CHECKF(!strstr(e.msg, "did you mean"), "%s", e.msg);
    return 0;
}

static int test_bad_values(void)
{
    EXPECT_ERR(with_min("[train]\nepochs = 3\nbatch = abc\n"), 6, "train.batch: expected a positive integer, got 'abc'",
               NULL);
    EXPECT_ERR(with_min("[train]\nbatch = 0\n"), 5, "train.batch: expected a positive integer, got '0'", NULL);
    EXPECT_ERR(with_min("[train]\nbatch = -4\n"), 5, "train.batch", "'-4'");
    EXPECT_ERR(with_min("[train]\nbatch = 12.5\n"), 5, "train.batch", "'12.5'");
    EXPECT_ERR(with_min("[train]\nbatch = 99999999999999999999\n"), 5, "train.batch", NULL);
    EXPECT_ERR(with_min("[train]\nepochs =\n"), 5, "train.epochs: expected a positive integer, got ''", NULL);
    EXPECT_ERR(with_min("[train]\nlr = 0.0x1\n"), 5, "train.lr: expected a positive number, got '0.0x1'", NULL);
    EXPECT_ERR(with_min("[train]\nlr = 0\n"), 5, "train.lr: expected a positive number", NULL);
    EXPECT_ERR(with_min("[train]\nlr = -0.1\n"), 5, "train.lr", NULL);
    EXPECT_ERR(with_min("[train]\nlr = nan\n"), 5, "train.lr", NULL);
    EXPECT_ERR(with_min("[train]\nlr = 1e99\n"), 5, "train.lr", NULL);
    EXPECT_ERR(with_min("[train]\nnesterov = maybe\n"), 5, "train.nesterov: expected a boolean", "'maybe'");
    EXPECT_ERR(with_min("[train]\noptimizer = rmsprop\n"), 5, "train.optimizer: expected one of sgd|adam|adamw",
               "'rmsprop'");
    EXPECT_ERR(with_min("[train]\nschedule = linear\n"), 5, "train.schedule: expected one of constant|step|cosine",
               NULL);
    EXPECT_ERR(with_min("[train]\nclass_weights = inverse\n"), 5, "train.class_weights", "none|balanced|sqrt");
    EXPECT_ERR(with_min("[train]\nselect = best\n"), 5, "train.select", "last|inner_val");
    EXPECT_ERR(with_min("[train]\nseed = -1\n"), 5, "train.seed", NULL);
    return 0;
}

static int test_out_of_range(void)
{
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\nsubject = folder\n", 4, "data.subject", "none|prefix");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\n[output]\nexport_dtype = half\n", 5, "output.export_dtype",
               "float32|float16");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\ninput_size = 4\n", 4, "data.input_size", "8..512");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\ninput_size = 513\n", 4, "data.input_size", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\nfolds = -1\n", 4, "data.folds", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\nfolds = 10\nfold = 10\n", 5, "data.fold", "0..9");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\nfold = 3\nfolds = 0\n", 4, "data.fold", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\ninner_val = 0.95\n", 4, "data.inner_val", "[0, 0.9]");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\nstd = 0\n", 4, "data.std", NULL);
    EXPECT_ERR(with_min("[model]\ndropout = 1\n"), 5, "model.dropout: expected a number in [0, 1)", NULL);
    EXPECT_ERR(with_min("[model]\ndropout = -0.1\n"), 5, "model.dropout", NULL);
    EXPECT_ERR(with_min("[model]\nwidths = 64,0,256,512,512\n"), 5, "model.widths: item 2", "got '0'");
    EXPECT_ERR(with_min("[model]\nwidths = 64,-8,256,512,512\n"), 5, "model.widths", NULL);
    EXPECT_ERR(with_min("[model]\nwidths = 64,,256,512,512\n"), 5, "model.widths: item 2", "empty");
    EXPECT_ERR(with_min("[model]\nwidth_mult = 0\n"), 5, "model.width_mult", NULL);
    EXPECT_ERR(with_min("[model]\nblocks = 1,1,1,1,1,1,1,1,1\nwidths = 1,1,1,1,1,1,1,1,1\n"), 5, "model.blocks",
               "expected 1 to 8 blocks, got 9");
    EXPECT_ERR(with_min("[model]\nblocks = 1,1,0\nwidths=1,2,3\n"), 5, "model.blocks: item 3", NULL);
    EXPECT_ERR(with_min("[model]\nfc = 1,2,3,4,5\n"), 5, "model.fc", "got 5");
    EXPECT_ERR(with_min("[model]\nfreeze = 14\n"), 5, "model.freeze", "only 13"); /* 2+2+3+3+3 convs */
    return 0;
}

static int test_cross_checks(void)
{
    /* blocks/widths of different length: blamed on widths, or on blocks when widths is default */
    EXPECT_ERR(with_min("[model]\nblocks = 1,1\nwidths = 8,16,32\n"), 6, "model.widths has 3 entries",
               "model.blocks has 2");
    EXPECT_ERR(with_min("[model]\nfc = 32\nblocks = 1,1\n"), 6, "model.widths has 5 entries", "model.blocks has 2");
    EXPECT_ERR(with_min("[model]\nblocks = 1,1\nwidths = 8,16\nfreeze = 3\n"), 7, "model.freeze", "only 2");
    EXPECT_ERR("[data]\npath = d\naliases = joy=joyful\nclasses = a, b\n", 3, "data.aliases", "'joyful' is not in data.classes");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\naliases = b=a\n", 4, "data.aliases", "already a class name");
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\naliases = joy\n", 4, "data.aliases: expected folder=class", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b\naliases = x=a, X=b\n", 4, "aliased twice", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a, b, A\n", 3, "data.classes: duplicate class 'A'", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a\n", 3, "data.classes: expected 2 to 16 class names, got 1", NULL);
    EXPECT_ERR("[data]\npath = d\nclasses = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", 3, "data.classes",
               "expected 2 to 16 class names, got 17");
    EXPECT_ERR("[data]\npath = a,b,c,d,e\nclasses = a, b\n", 2, "data.path: expected 1 to 4 paths, got 5", NULL);
    EXPECT_ERR("[data]\npath =\nclasses = a, b\n", 2, "data.path", NULL);
    EXPECT_ERR(with_min("[train]\nselect = inner_val\n"), 5, "train.select", "data.inner_val > 0");
    EXPECT_ERR(with_min("[train]\nlr = 0.01\nmin_lr = 0.1\n"), 6, "train.min_lr", NULL);
    EXPECT_ERR(with_min("[train]\nepochs = 5\nswa_epochs = 6\n"), 6, "train.swa_epochs (6) is more than train.epochs (5)",
               NULL);
    EXPECT_ERR(with_min("[data]\ninner_val = 0.2\n[train]\nselect = inner_val\nswa_epochs = 2\n"), 8,
               "train.swa_epochs", "train.select = inner_val");
    EXPECT_ERR(with_min("[output]\nname = a/b\n"), 5, "output.name", NULL);
    EXPECT_ERR(with_min("[output]\ndir =\n"), 5, "output.dir", NULL);
    return 0;
}

static int test_missing(void)
{
    EXPECT_ERR("[data]\npath = d\n", 0, "missing required key 'data.classes'", NULL);
    EXPECT_ERR("[data]\nclasses = a, b\n[train]\nepochs = 1\n", 0, "missing required key 'data.path'", NULL);
    EXPECT_ERR("", 0, "missing required key 'data.path'", NULL);
    ferc_config c;
    ferc_err e = {""};
    CHECK(ferc_config_load(&c, "/nonexistent/dir/ck.ini", NULL, NULL, &e) == -1);
    CHECKF(strstr(e.msg, "/nonexistent/dir/ck.ini") && strstr(e.msg, "No such file"), "%s", e.msg);
    CHECK(c.text == NULL);
    CHECK(ferc_config_load(&c, g_dir, NULL, NULL, &e) == -1); /* a directory */
    CHECKF(strstr(e.msg, g_dir), "%s", e.msg);
    CHECK(ferc_config_parse(&c, "[data]\npath = d\n", "<stored>", NULL, NULL, &e) == -1);
    CHECKF(strstr(e.msg, "<stored>") && strstr(e.msg, "data.classes"), "%s", e.msg);
    return 0;
}

/* ---- round trip -------------------------------------------------------------------- */

/* parse(render(c)) == c, and rendering again gives the same text. */
static void check_roundtrip(ferc_config *c, const char *what)
{
    ferc_config d;
    ferc_err e = {""};
    CHECKF(ferc_config_render(c, &e) == 0, "%s: %s", what, e.msg);
    CHECKF(ferc_config_parse(&d, c->text, "<stored>", NULL, NULL, &e) == 0, "%s: %s", what, e.msg);
    CHECKF(same_config(c, &d), "%s: differs after the round trip:\n%s\n---\n%s", what, c->text, d.text);
    CHECKF(d.text && !strcmp(c->text, d.text), "%s: text differs", what);
    ferc_config_free(&d);
}

static int test_roundtrip(void)
{
    ferc_config c;
    ferc_err e = {""};
    const char *files[] = {"configs/ck.ini", "configs/tiny.ini"};
    for (int i = 0; i < 2; i++) {
        CHECKF(ferc_config_load(&c, files[i], NULL, NULL, &e) == 0, "%s", e.msg);
        check_roundtrip(&c, files[i]);
        ferc_config_free(&c);
    }
    /* awkward values: odd width_mult, tiny and long floats, big seed, many lists */
    const char *text = "[data]\n"
                       "path = a b/c, /x/y#z, ./w\n"
                       "val_path = v\n"
                       "classes = Alpha, beta, gamma, δέλτα\n"
                       "aliases = a=alpha, B=beta\n"
                       "folds = 7\nfold = 6\ninner_val = 0.15\nmean = -0.123456789\nstd = 3.3333333\n"
                       "[model]\n"
                       "blocks = 1,2,3\nwidths = 64,33,100\nwidth_mult = 0.3\nfc = 7,5,3,1\n"
                       "dropout = 0.999\nfreeze = 6\n"
                       "[train]\n"
                       "optimizer = adam\nlr = 3e-4\nmin_lr = 1.17549435e-38\neps = 1e-12\nseed = 12345678901234\n"
                       "warmup_epochs = 0.5\nschedule = step\nstep_gamma = 1\nlabel_smoothing = 0.05\n"
                       "select = inner_val\nthreads = 4\n"
                       "[augment]\nrotate = 180\nbrightness = 1\nshift = 0.33\n"
                       "[output]\ndir = out dir\nname = x.y\n";
    CHECKF(ferc_config_parse(&c, text, "<stored>", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(c.block_width[0] == 19 && c.block_width[1] == 10 && c.block_width[2] == 30);
    CHECK(c.n_paths == 3 && !strcmp(c.paths[1], "/x/y#z") && !strcmp(c.name, "x.y"));
    check_roundtrip(&c, "awkward");
    /* rendered widths: the roundest base giving the same scaled width (33 -> 32: both give 10) */
    CHECKF(strstr(c.text, "widths = 64,32,100\n"), "%s", c.text);
    ferc_config_free(&c);
    for (int m = 1; m <= 32; m++) { /* width_mult from 0.0625 to 2 */
        char t[256];
        snprintf(t, sizeof t, "%s[model]\nblocks = 1,1,1,1\nwidths = 1,3,17,500\nwidth_mult = %g\n", k_min, m / 16.0);
        CHECKF(ferc_config_parse(&c, t, "<stored>", NULL, NULL, &e) == 0, "%s", e.msg);
        check_roundtrip(&c, t);
        ferc_config_free(&c);
    }
    return 0;
}

/* ---- command-line overrides -------------------------------------------------------- */

static int test_set(void)
{
    ferc_config c;
    ferc_err e = {""};
    CHECKF(ferc_config_load(&c, "configs/ck.ini", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECKF(ferc_config_set(&c, "train.epochs", "5", &e) == 0, "%s", e.msg);
    CHECK(c.epochs == 5 && strstr(c.text, "\nepochs = 5\n"));
    CHECKF(ferc_config_set(&c, "train.optimizer", " Adam ", &e) == 0, "%s", e.msg);
    CHECK(!strcmp(c.optimizer, "adam"));
    CHECKF(ferc_config_set(&c, "model.width_mult", "1", &e) == 0, "%s", e.msg);
    CHECK(c.block_width[0] == 64 && c.block_width[4] == 512);
    CHECKF(ferc_config_set(&c, "model.width_mult", "0.25", &e) == 0, "%s", e.msg);
    CHECK(c.block_width[0] == 16 && c.block_width[4] == 128);
    CHECKF(ferc_config_set(&c, "model.widths", "8,8,8,8,8", &e) == 0, "%s", e.msg);
    CHECK(c.block_width[0] == 2 && strstr(c.text, "widths = 8,8,8,8,8\n"));
    CHECKF(ferc_config_set(&c, "data.path", "a, b", &e) == 0, "%s", e.msg);
    CHECK(c.n_paths == 2 && !strcmp(c.paths[1], "b"));
    CHECKF(ferc_config_set(&c, "data.fold", "9", &e) == 0, "%s", e.msg);
    CHECK(c.fold == 9);
    check_roundtrip(&c, "after set");

    /* failures name the key, say "command line", and leave c alone */
    ferc_config before;
    memcpy(&before, &c, sizeof c);
    char *text = strdup(c.text);
    static const struct {
        const char *key, *value, *want1, *want2;
    } bad[] = {
        {"train.epochs", "x", "command line: train.epochs: expected a positive integer, got 'x'", NULL},
        {"train.epochs", "0", "train.epochs", NULL},
        {"train.lr", "-1", "train.lr", "positive"},
        {"train.epoch", "3", "command line: unknown key 'train.epoch'", "did you mean 'train.epochs'"},
        {"trian.epochs", "3", "command line: unknown section '[trian]'", NULL},
        {"epochs", "3", "command line", "section.key"},
        {"model.blocks", "1,1", "command line", "model.widths has 5 entries but model.blocks has 2"},
        {"data.fold", "10", "command line: data.fold", "0..9"},
        {"data.folds", "5", "command line: data.fold", "0..4"},
        {"data.aliases", "joy=joyful", "command line: data.aliases", "not in data.classes"},
        {"data.classes", "a,b", "command line: data.aliases", "not in data.classes"},
        {"model.dropout", "1.5", "command line: model.dropout", NULL},
        {"output.dir", "a ;b", "command line: output.dir", "comment"},
        {"output.dir", "a\nb", "command line: output.dir", "control"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        CHECKF(ferc_config_set(&c, bad[i].key, bad[i].value, &e) == -1, "%s=%s accepted", bad[i].key, bad[i].value);
        CHECKF(strstr(e.msg, bad[i].want1) && (!bad[i].want2 || strstr(e.msg, bad[i].want2)), "%s=%s: '%s'",
               bad[i].key, bad[i].value, e.msg);
        CHECK(same_config(&c, &before) && c.text == before.text && !strcmp(c.text, text));
    }
    free(text);

    /* every rendered key can be set to its own value, with no change */
    char *copy = strdup(c.text), sec[32] = "", *save = NULL;
    int n_set = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ';') continue;
        if (line[0] == '[') {
            snprintf(sec, sizeof sec, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
            continue;
        }
        char key[96];
        size_t klen = strcspn(line, " =");
        snprintf(key, sizeof key, "%s.%.*s", sec, (int)klen, line);
        const char *v = strchr(line, '=') + 1;
        memcpy(&before, &c, sizeof c);
        CHECKF(ferc_config_set(&c, key, v, &e) == 0, "%s: %s", key, e.msg);
        CHECKF(same_config(&c, &before), "%s changed", key);
        n_set++;
    }
    CHECK(n_set == 56);
    free(copy);
    ferc_config_free(&c);
    return 0;
}

/* ---- folder -> class ------------------------------------------------------------- */

/* ferc_config_diff names exactly the keys whose values differ, with both values. */
typedef struct {
    int n;
    char seen[4][160];
} diff_rec;
static void diff_cb(void *ctx, const char *key, const char *now, const char *was)
{
    diff_rec *d = ctx;
    if (d->n < 4) snprintf(d->seen[d->n], sizeof d->seen[0], "%s|%s|%s", key, now, was);
    d->n++;
}

static int test_diff(void)
{
    ferc_config a, b;
    ferc_err e;
    CHECKF(ferc_config_parse(&a, k_min, "a", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECKF(ferc_config_parse(&b, k_min, "a", NULL, NULL, &e) == 0, "%s", e.msg); /* same name: output.name */
    diff_rec d = {0};
    CHECK(ferc_config_diff(&a, &b, diff_cb, &d, &e) == 0 && d.n == 0);
    CHECK(ferc_config_set(&a, "train.mixup", "0.4", &e) == 0);
    CHECK(ferc_config_set(&b, "model.fc", "32,16", &e) == 0);
    CHECK(ferc_config_diff(&a, &b, diff_cb, &d, &e) == 2 && d.n == 2);
    CHECK(!strcmp(d.seen[0], "model.fc|512,512|32,16") || !strcmp(d.seen[1], "model.fc|512,512|32,16"));
    CHECK(!strcmp(d.seen[0], "train.mixup|0.4|0") || !strcmp(d.seen[1], "train.mixup|0.4|0"));
    ferc_config_free(&a);
    ferc_config_free(&b);
    return 0;
}

static int test_class_of(void)
{
    ferc_config c;
    ferc_err e = {""};
    CHECKF(ferc_config_load(&c, "configs/ck.ini", NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(ferc_config_class_of(&c, "anger") == 0);
    CHECK(ferc_config_class_of(&c, "surprise") == 6);
    CHECK(ferc_config_class_of(&c, "HAPPY") == 4);
    CHECK(ferc_config_class_of(&c, "happiness") == 4);
    CHECK(ferc_config_class_of(&c, "Happiness") == 4);
    CHECK(ferc_config_class_of(&c, "angry") == 0);
    CHECK(ferc_config_class_of(&c, "SAD") == 5);
    CHECK(ferc_config_class_of(&c, "surprised") == 6);
    CHECK(ferc_config_class_of(&c, "neutral") == -1);
    CHECK(ferc_config_class_of(&c, "") == -1);
    CHECK(ferc_config_class_of(&c, NULL) == -1);
    ferc_config_free(&c);
    /* aliases may name the class in another case */
    CHECKF(ferc_config_parse(&c, "[data]\npath = d\nclasses = Neutral, Joy\naliases = happy=joy\n", "<s>", NULL, NULL,
                             &e) == 0,
           "%s", e.msg);
    CHECK(ferc_config_class_of(&c, "happy") == 1 && ferc_config_class_of(&c, "neutral") == 0);
    ferc_config_free(&c);
    return 0;
}

/* every config the repository ships loads (a typo in a key or value of a
 * config that takes hours to run should fail here, not at its start) */
static int test_shipped_configs(void)
{
    glob_t g;
    CHECK(glob("configs/*.ini", 0, NULL, &g) == 0);
    CHECKF(g.gl_pathc >= 8, "only %zu configs", (size_t)g.gl_pathc);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        ferc_config c;
        ferc_err e = {""};
        int rc = ferc_config_load(&c, g.gl_pathv[i], NULL, NULL, &e);
        CHECKF(rc == 0, "%s", e.msg);
        if (rc == 0) ferc_config_free(&c);
    }
    globfree(&g);
    return 0;
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ferc_test_config_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_ini_syntax);
    RUN(test_defaults);
    RUN(test_load_ck);
    RUN(test_load_tiny);
    RUN(test_parse_string);
    RUN(test_bad_syntax);
    RUN(test_unknown);
    RUN(test_bad_values);
    RUN(test_out_of_range);
    RUN(test_cross_checks);
    RUN(test_missing);
    RUN(test_roundtrip);
    RUN(test_set);
    RUN(test_diff);
    RUN(test_class_of);
    RUN(test_shipped_configs);
    for (int i = 0; i < g_files; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/case%02d.ini", g_dir, i);
        unlink(path);
    }
    rmdir(g_dir);
    return TEST_DONE("test_config");
}
