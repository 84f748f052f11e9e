/* test_ckpt.c: HDF5 checkpoints. Hand-built fake networks (no net.c needed):
 * bit-exact round trips, export vs train, refusal of mismatched, missing,
 * extra, truncated, corrupt, foreign and future-version files, atomic saving,
 * fine-tuning initialisation, and a layout check with h5py alone.
 * Links src/ckpt.c, src/config.c, src/ini.c, src/err.c and HDF5. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ckpt.h"
#include "half.h"
#include "test.h"

/* ---- fixtures ----------------------------------------------------------- */

static char g_dir[64];  /* per-run scratch directory */

typedef struct {
    const char *name;
    int ndim, shape[4];
    int is_buffer;
} spec;

/* The reference layout: conv + BN + classifier. */
static const spec base_specs[] = {
    {"conv1_1/kernel", 4, {4, 1, 3, 3}, 0}, {"conv1_1/bias", 1, {4}, 0},
    {"bn1_1/gamma", 1, {4}, 0},             {"bn1_1/beta", 1, {4}, 0},
    {"bn1_1/running_mean", 1, {4}, 1},      {"bn1_1/running_var", 1, {4}, 1},
    {"fc1/kernel", 2, {3, 36}, 0},          {"fc1/bias", 1, {3}, 0},
};
#define N_BASE ((int)(sizeof base_specs / sizeof base_specs[0]))

/* Builds a net from specs; values are distinct and depend on `salt`
 * (salt 0: all zero). */
static void make_net(ferc_net *net, const spec *s, int n, float salt)
{
    memset(net, 0, sizeof *net);
    net->arch.in_c = 1, net->arch.in_h = net->arch.in_w = 6, net->arch.n_classes = 3;
    net->tensors = calloc((size_t)n, sizeof *net->tensors);
    net->n_tensors = n;
    for (int i = 0; i < n; i++) {
        ferc_tensor *t = &net->tensors[i];
        snprintf(t->name, sizeof t->name, "%s", s[i].name);
        t->ndim = s[i].ndim;
        t->n = 1;
        for (int d = 0; d < t->ndim; d++) t->shape[d] = s[i].shape[d], t->n *= (size_t)t->shape[d];
        t->is_buffer = s[i].is_buffer;
        t->layer = i;
        t->off = t->is_buffer ? net->n_buffers : net->n_params;
        if (t->is_buffer)
            net->n_buffers += t->n;
        else
            net->n_params += t->n;
    }
    net->params = calloc(net->n_params + 1, sizeof(float));
    net->buffers = calloc(net->n_buffers + 1, sizeof(float));
    for (size_t i = 0; i < net->n_params; i++) net->params[i] = salt ? salt * (float)(i + 1) + 0.125f : 0;
    for (size_t i = 0; i < net->n_buffers; i++) net->buffers[i] = salt ? -salt * (float)(i + 1) - 0.5f : 0;
}

static void free_net(ferc_net *net)
{
    free(net->tensors);
    free(net->params);
    free(net->buffers);
    memset(net, 0, sizeof *net);
}

static const char *k_ini = "[data]\n"
                           "path = /tmp/ferc-test-data\n"
                           "classes = anger, happy, neutral\n";

static ferc_config *make_cfg(void)
{
    ferc_config *c = calloc(1, sizeof *c);
    c->n_classes = 3;
    strcpy(c->classes[0], "anger");
    strcpy(c->classes[1], "happy");
    strcpy(c->classes[2], "neutral");
    c->input_size = 48;
    c->mean = 0.5f, c->std = 0.25f;
    c->folds = 10, c->fold = 2, c->seed = 42;
    c->text = strdup(k_ini);
    return c;
}

static void free_cfg(ferc_config *c)
{
    free(c->text);
    free(c);
}

static void make_opt(ferc_optim *o, ferc_optim_kind kind, size_t n, float salt)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n = n;
    o->m = calloc(n + 1, sizeof(float));
    if (kind != FERC_SGD) o->v = calloc(n + 1, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        o->m[i] = salt * 0.001f * (float)i - 1.0f / 3.0f;
        if (o->v) o->v[i] = salt * 1e-6f * (float)(i * i) + 1e-9f;
    }
    o->t = salt ? 1234 : 0;
}

static void free_opt(ferc_optim *o)
{
    free(o->m);
    free(o->v);
}

static void make_state(ferc_train_state *st)
{
    memset(st, 0, sizeof *st);
    st->epoch = 7, st->step = 3, st->global_step = 12345678901LL;
    st->fold = 2, st->folds = 10, st->seed = 0xDEADBEEFCAFEF00DULL;
    st->n_hist = 7;
    st->hist = malloc(7 * FERC_HIST_COLS * sizeof(float));
    for (int i = 0; i < 7 * FERC_HIST_COLS; i++) st->hist[i] = 0.1f * (float)i + 1.0f / 7.0f;
}

static void tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int tmp_exists(const char *p)
{
    char t[600];
    snprintf(t, sizeof t, "%s.tmp", p);
    return exists(t);
}

/* Reads a whole file (caller frees); *n gets its size. */
static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

static int spit(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Saves the reference training checkpoint (salt 1.5) to `name`. */
static int save_ref(const char *name, char *path, size_t np, int export_only)
{
    ferc_net net;
    ferc_optim opt;
    ferc_train_state st;
    ferc_err e = {""};
    ferc_config *cfg = make_cfg();
    make_net(&net, base_specs, N_BASE, 1.5f);
    make_opt(&opt, FERC_ADAMW, net.n_params, 1.5f);
    make_state(&st);
    tpath(path, np, name);
    int rc = ferc_ckpt_save(path, &net, cfg, &opt, &st, export_only, &e);
    CHECKF(rc == 0, "%s", e.msg);
    free_net(&net);
    free_opt(&opt);
    ferc_train_state_free(&st);
    free_cfg(cfg);
    return rc;
}

static int contains(const char *msg, const char *part)
{
    return strstr(msg, part) != NULL;
}

/* ---- tests -------------------------------------------------------------- */

static int test_roundtrip(void)
{
    for (int kind = 0; kind < 3; kind++) {
        ferc_net a, b;
        ferc_optim oa, ob;
        ferc_train_state sa, sb;
        ferc_err e = {""};
        ferc_config *cfg = make_cfg();
        char p[512];
        tpath(p, sizeof p, "rt.h5");
        make_net(&a, base_specs, N_BASE, 1.5f);
        make_net(&b, base_specs, N_BASE, 0);
        make_opt(&oa, (ferc_optim_kind)kind, a.n_params, 2.5f);
        make_opt(&ob, (ferc_optim_kind)kind, b.n_params, 0);
        make_state(&sa);
        memset(&sb, 0, sizeof sb);
        CHECKF(ferc_ckpt_save(p, &a, cfg, &oa, &sa, 0, &e) == 0, "%s", e.msg);
        CHECK(!tmp_exists(p));
        CHECKF(ferc_ckpt_load(p, &b, &ob, &sb, &e) == 0, "%s", e.msg);
        CHECK(!memcmp(a.params, b.params, a.n_params * sizeof(float)));
        CHECK(!memcmp(a.buffers, b.buffers, a.n_buffers * sizeof(float)));
        CHECK(!memcmp(oa.m, ob.m, a.n_params * sizeof(float)));
        if (kind != FERC_SGD) CHECK(!memcmp(oa.v, ob.v, a.n_params * sizeof(float)));
        CHECK(ob.t == 1234);
        CHECK(sb.epoch == 7 && sb.step == 3 && sb.global_step == 12345678901LL);
        CHECK(sb.fold == 2 && sb.folds == 10 && sb.seed == 0xDEADBEEFCAFEF00DULL);
        CHECK(sb.n_hist == 7);
        CHECK(sb.hist && !memcmp(sa.hist, sb.hist, 7 * FERC_HIST_COLS * sizeof(float)));
        /* the optimiser kind must match the run's */
        ferc_optim oc;
        make_opt(&oc, (ferc_optim_kind)((kind + 1) % 3), b.n_params, 0);
        CHECK(ferc_ckpt_load(p, &b, &oc, NULL, &e) == -1);
        CHECKF(contains(e.msg, p) && contains(e.msg, "optimiser state is for"), "%s", e.msg);
        free_opt(&oc);
        free_net(&a), free_net(&b), free_opt(&oa), free_opt(&ob);
        ferc_train_state_free(&sa), ferc_train_state_free(&sb);
        free_cfg(cfg);
    }
    return 0;
}

static int test_train_without_optim_or_state(void)
{
    ferc_net a, b;
    ferc_err e = {""};
    ferc_config *cfg = make_cfg();
    char p[512];
    tpath(p, sizeof p, "bare.h5");
    make_net(&a, base_specs, N_BASE, 0.75f);
    make_net(&b, base_specs, N_BASE, 0);
    CHECKF(ferc_ckpt_save(p, &a, cfg, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    /* opt given but the file has none: left untouched (documented) */
    ferc_optim o;
    ferc_train_state st;
    make_opt(&o, FERC_SGD, b.n_params, 3.0f);
    float m0 = o.m[5];
    CHECKF(ferc_ckpt_load(p, &b, &o, &st, &e) == 0, "%s", e.msg);
    CHECK(o.m[5] == m0 && o.t == 1234);
    CHECK(!memcmp(a.params, b.params, a.n_params * sizeof(float)));
    CHECK(st.n_hist == 0 && st.hist == NULL && st.epoch == 0 && st.fold == 2 && st.folds == 10 && st.seed == 42);
    ferc_train_state_free(&st);
    free_opt(&o);
    free_net(&a), free_net(&b);
    free_cfg(cfg);
    return 0;
}

static int test_export(void)
{
    char p[512];
    ferc_err e = {""};
    if (save_ref("export.h5", p, sizeof p, 1) < 0) return 0;
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f >= 0) {
        CHECK(H5Lexists(f, "/optim", H5P_DEFAULT) == 0);
        CHECK(H5Lexists(f, "/history", H5P_DEFAULT) > 0);
        CHECK(H5Lexists(f, "/params", H5P_DEFAULT) > 0 && H5Lexists(f, "/buffers", H5P_DEFAULT) > 0);
        H5Fclose(f);
    }
    ferc_net b;
    ferc_optim o;
    ferc_train_state st;
    make_net(&b, base_specs, N_BASE, 0);
    make_opt(&o, FERC_ADAMW, b.n_params, 0);
    CHECK(ferc_ckpt_load(p, &b, &o, NULL, &e) == -1);
    char want[600];
    snprintf(want, sizeof want, "%s: is an inference export, it has no optimiser state to resume from", p);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    CHECK(b.params[0] == 0); /* refused before touching the net */
    CHECKF(ferc_ckpt_load(p, &b, NULL, &st, &e) == 0, "%s", e.msg);
    CHECK(b.params[0] == 1.5f + 0.125f && b.buffers[0] == -2.0f);
    CHECK(st.n_hist == 7 && st.epoch == 7);
    ferc_train_state_free(&st);
    free_opt(&o);
    free_net(&b);
    return 0;
}

/* Values float16 cannot hold exactly (and a few it can), for the float16
 * export tests: params[i] = sin(i) * 3 + i * 1e-5, buffers tiny and large. */
static void awkward_values(ferc_net *n)
{
    for (size_t i = 0; i < n->n_params; i++) n->params[i] = sinf((float)i) * 3.0f + (float)i * 1e-5f;
    for (size_t i = 0; i < n->n_buffers; i++) n->buffers[i] = (i % 2 ? 1e-6f : 3000.3f) * (float)(i + 1);
}

/* A float16 export: stored as 2-byte floats, read back as exactly the
 * rounded values; refused for training checkpoints and for values beyond
 * float16's range, leaving nothing behind. */
static int test_export_half(void)
{
    char p[512], q[512];
    ferc_err e = {""};
    ferc_config *cfg = make_cfg();
    ferc_net a, b;
    ferc_train_state st;
    make_net(&a, base_specs, N_BASE, 1.0f);
    awkward_values(&a);
    make_state(&st);
    tpath(p, sizeof p, "half.h5");
    CHECKF(ferc_ckpt_save(p, &a, cfg, NULL, &st, FERC_CKPT_EXPORT | FERC_CKPT_HALF, &e) == 0, "%s", e.msg);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f >= 0) {
        hid_t d = H5Dopen2(f, "/params/conv1_1/kernel", H5P_DEFAULT), t = H5Dget_type(d);
        CHECK(H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2);
        H5Tclose(t), H5Dclose(d);
        d = H5Dopen2(f, "/history", H5P_DEFAULT), t = H5Dget_type(d);
        CHECK(H5Tget_size(t) == 4); /* the history stays float32 */
        H5Tclose(t), H5Dclose(d);
        H5Fclose(f);
    }
    make_net(&b, base_specs, N_BASE, 0);
    ferc_train_state sb;
    CHECKF(ferc_ckpt_load(p, &b, NULL, &sb, &e) == 0, "%s", e.msg);
    int same = 1, changed = 0;
    for (size_t i = 0; i < a.n_params; i++) {
        float want = ferc_half_to_float(ferc_half_from_float(a.params[i]));
        same &= b.params[i] == want;
        changed += b.params[i] != a.params[i];
    }
    for (size_t i = 0; i < a.n_buffers; i++) same &= b.buffers[i] == ferc_half_to_float(ferc_half_from_float(a.buffers[i]));
    CHECK(same && changed > 0);
    CHECK(sb.n_hist == 7 && !memcmp(sb.hist, st.hist, 7 * FERC_HIST_COLS * sizeof(float)));
    ferc_train_state_free(&sb);
    /* float16 training checkpoints would not resume exactly: refused */
    tpath(q, sizeof q, "half-train.h5");
    CHECK(ferc_ckpt_save(q, &a, cfg, NULL, &st, FERC_CKPT_HALF, &e) == -1 && contains(e.msg, "exports only"));
    CHECK(!exists(q) && !tmp_exists(q));
    /* a value beyond +-65504: refused, naming the tensor and the element */
    a.buffers[5] = 70000.0f;
    tpath(q, sizeof q, "half-range.h5");
    CHECK(ferc_ckpt_save(q, &a, cfg, NULL, &st, FERC_CKPT_EXPORT | FERC_CKPT_HALF, &e) == -1);
    CHECKF(contains(e.msg, "/buffers/bn1_1/running_var") && contains(e.msg, "element 1 is 70000"), "%s", e.msg);
    CHECK(!exists(q) && !tmp_exists(q));
    ferc_train_state_free(&st);
    free_net(&a);
    free_net(&b);
    free_cfg(cfg);
    return 0;
}

static int test_read_config(void)
{
    char p[512];
    ferc_err e = {""};
    if (save_ref("cfg.h5", p, sizeof p, 0) < 0) return 0;
    ferc_config *c = calloc(1, sizeof *c);
    CHECKF(ferc_ckpt_read_config(p, c, &e) == 0, "%s", e.msg);
    CHECK(c->n_classes == 3);
    CHECK(!strcmp(c->classes[0], "anger") && !strcmp(c->classes[2], "neutral"));
    CHECK(c->text && contains(c->text, "anger"));
    ferc_config_free(c);
    free(c);
    return 0;
}

/* Loads p into a net built from specs and returns the error message. */
static int load_specs(const char *p, const spec *s, int n, ferc_err *e)
{
    ferc_net b;
    make_net(&b, s, n, 0);
    int rc = ferc_ckpt_load(p, &b, NULL, NULL, e);
    int untouched = 1;
    for (size_t i = 0; i < b.n_params; i++) untouched &= b.params[i] == 0;
    if (rc < 0) CHECK(untouched);
    free_net(&b);
    return rc;
}

static int test_shape_mismatch(void)
{
    char p[512], want[700];
    ferc_err e = {""};
    if (save_ref("shape.h5", p, sizeof p, 0) < 0) return 0;
    spec s[N_BASE];
    memcpy(s, base_specs, sizeof s);
    s[0].shape[0] = 8; /* conv1_1/kernel [8,1,3,3] */
    CHECK(load_specs(p, s, N_BASE, &e) == -1);
    snprintf(want, sizeof want, "%s: tensor conv1_1/kernel has shape [4,1,3,3], the model expects [8,1,3,3]", p);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    memcpy(s, base_specs, sizeof s);
    s[6].ndim = 4, s[6].shape[0] = 3, s[6].shape[1] = 4, s[6].shape[2] = 3, s[6].shape[3] = 3;
    CHECK(load_specs(p, s, N_BASE, &e) == -1);
    CHECKF(contains(e.msg, "tensor fc1/kernel has shape [3,36], the model expects [3,4,3,3]"), "%s", e.msg);
    return 0;
}

static int test_missing_tensor(void)
{
    char p[512], want[700];
    ferc_err e = {""};
    if (save_ref("missing.h5", p, sizeof p, 0) < 0) return 0;
    spec s[N_BASE + 1];
    memcpy(s, base_specs, sizeof base_specs);
    s[N_BASE] = (spec){"fc2/kernel", 2, {3, 3}, 0};
    CHECK(load_specs(p, s, N_BASE + 1, &e) == -1);
    snprintf(want, sizeof want, "%s: missing tensor fc2/kernel", p);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    /* a buffer the file keeps under /params is missing from /buffers */
    memcpy(s, base_specs, sizeof base_specs);
    s[2].is_buffer = 1;
    CHECK(load_specs(p, s, N_BASE, &e) == -1);
    CHECKF(contains(e.msg, "missing tensor bn1_1/gamma"), "%s", e.msg);
    return 0;
}

static int test_extra_tensor(void)
{
    char p[512];
    ferc_err e = {""};
    if (save_ref("extra.h5", p, sizeof p, 0) < 0) return 0;
    spec s[N_BASE];
    memcpy(s, base_specs, sizeof s);
    /* drop fc1/bias and bn1_1/running_var */
    CHECK(load_specs(p, s, N_BASE - 1, &e) == -1);
    CHECKF(contains(e.msg, p) && contains(e.msg, "1 tensor the model does not: fc1/bias"), "%s", e.msg);
    spec t[N_BASE - 2];
    int k = 0;
    for (int i = 0; i < N_BASE; i++)
        if (strcmp(base_specs[i].name, "fc1/bias") && strcmp(base_specs[i].name, "bn1_1/running_var"))
            t[k++] = base_specs[i];
    CHECK(load_specs(p, t, k, &e) == -1);
    CHECKF(contains(e.msg, "2 tensors") && contains(e.msg, "fc1/bias") && contains(e.msg, "bn1_1/running_var"),
           "%s", e.msg);
    return 0;
}

/* Every way of reading must fail cleanly, naming the file. */
static void expect_bad(const char *p, const char *part)
{
    ferc_err e = {""};
    ferc_net b;
    ferc_optim o;
    ferc_train_state st;
    ferc_config *c = calloc(1, sizeof *c);
    make_net(&b, base_specs, N_BASE, 0);
    make_opt(&o, FERC_ADAMW, b.n_params, 0);
    CHECK(ferc_ckpt_load(p, &b, &o, &st, &e) == -1);
    CHECKF(contains(e.msg, p) && (!part || contains(e.msg, part)), "%s", e.msg);
    e.msg[0] = 0;
    CHECK(ferc_ckpt_read_config(p, c, &e) == -1);
    CHECKF(contains(e.msg, p) && (!part || contains(e.msg, part)), "%s", e.msg);
    e.msg[0] = 0;
    CHECK(ferc_ckpt_init_from(p, &b, NULL, NULL, &e) == -1);
    CHECKF(contains(e.msg, p) && (!part || contains(e.msg, part)), "%s", e.msg);
    free_opt(&o);
    free_net(&b);
    free(c);
}

static int test_truncated(void)
{
    char p[512], q[512];
    size_t n;
    if (save_ref("full.h5", p, sizeof p, 0) < 0) return 0;
    unsigned char *b = slurp(p, &n);
    tpath(q, sizeof q, "trunc.h5");
    size_t cuts[] = {n / 2, n - 1, n * 3 / 4, 2048, 100, 8, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK(spit(q, b, n) == 0);
        CHECK(truncate(q, (off_t)cuts[i]) == 0);
        expect_bad(q, NULL);
    }
    free(b);
    return 0;
}

static int test_garbage(void)
{
    char p[512];
    tpath(p, sizeof p, "garbage.h5");
    unsigned char buf[8192];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    CHECK(spit(p, buf, sizeof buf) == 0);
    expect_bad(p, "not a ferc checkpoint");
    /* the HDF5 signature followed by garbage */
    memcpy(buf, "\x89HDF\r\n\x1a\n", 8);
    CHECK(spit(p, buf, sizeof buf) == 0);
    expect_bad(p, NULL);
    tpath(p, sizeof p, "does-not-exist.h5");
    expect_bad(p, "No such file");
    expect_bad(g_dir, "not a regular file");
    return 0;
}

/* Flips bytes of a valid file: the CRC-32 seal must catch tensor data and
 * HDF5 metadata alike; no position may crash (HDF5 alone does, on a damaged
 * global heap). */
static int test_corrupt(void)
{
    char p[512], q[512];
    size_t n;
    ferc_err e = {""};
    if (save_ref("good.h5", p, sizeof p, 0) < 0) return 0;
    unsigned char *b = slurp(p, &n);
    tpath(q, sizeof q, "corrupt.h5");
    /* find fc1/kernel's data: params are salt*(i+1)+0.125 with salt 1.5 */
    ferc_net ref;
    make_net(&ref, base_specs, N_BASE, 1.5f);
    int fc = 6;
    const float *want = ref.params + ref.tensors[fc].off;
    unsigned char *hit = memmem(b, n, want, 16 * sizeof(float));
    CHECK(hit != NULL);
    if (hit) {
        unsigned char *c = malloc(n);
        memcpy(c, b, n);
        c[hit - b + 41] ^= 0x10;
        CHECK(spit(q, c, n) == 0);
        ferc_net t;
        make_net(&t, base_specs, N_BASE, 0);
        CHECK(ferc_ckpt_load(q, &t, NULL, NULL, &e) == -1);
        CHECKF(contains(e.msg, q) && contains(e.msg, "checksum mismatch"), "%s", e.msg);
        free_net(&t);
        free(c);
    }
    free_net(&ref);
    /* every 17th byte: load must either fail naming the file or succeed (the
     * zero padding of the 512-byte header is not covered) */
    int failed = 0, tried = 0;
    for (size_t i = 0; i < n; i += 17) {
        b[i] ^= 0xA5;
        CHECK(spit(q, b, n) == 0);
        b[i] ^= 0xA5;
        ferc_net t;
        ferc_optim o;
        ferc_train_state st;
        make_net(&t, base_specs, N_BASE, 0);
        make_opt(&o, FERC_ADAMW, t.n_params, 0);
        e.msg[0] = 0;
        int rc = ferc_ckpt_load(q, &t, &o, &st, &e);
        if (rc == 0)
            ferc_train_state_free(&st);
        else {
            failed++;
            CHECKF(contains(e.msg, q), "byte %zu: %s", i, e.msg);
        }
        tried++;
        free_opt(&o);
        free_net(&t);
    }
    printf("  corrupt: %d of %d single-byte corruptions refused\n", failed, tried);
    free(b);
    return 0;
}

/* Replaces dataset `name` of checkpoint p with a float32 table of shape
 * dims (ndim 1 or 2) filled with v, keeping attributes teachers and
 * temperature when keep_attrs, and re-seals the file. */
static int put_table(const char *p, const char *name, int ndim, const hsize_t *dims, float v, int keep_attrs)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return -1;
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    size_t n = dims[0] * (ndim > 1 ? dims[1] : 1);
    float *buf = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) buf[i] = v;
    herr_t w = H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (keep_attrs) {
        hid_t as = H5Screate(H5S_SCALAR), st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, 4);
        hid_t a = H5Acreate2(d, "teachers", st, as, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, st, "t.h5");
        H5Aclose(a);
        float T = 2.0f;
        a = H5Acreate2(d, "temperature", H5T_NATIVE_FLOAT, as, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_FLOAT, &T);
        H5Aclose(a), H5Tclose(st), H5Sclose(as);
    }
    free(buf);
    H5Dclose(d), H5Sclose(sp), H5Fclose(f);
    ferc_err e;
    return w < 0 || ferc_ckpt_seal(p, &e) ? -1 : 0;
}

/* The train state's tables, /history and /distill/targets: a round trip, and
 * mis-shaped or out-of-range tables refused with the file and table named,
 * nothing left allocated. */
static int test_state_tables(void)
{
    char p[512];
    ferc_err e = {""};
    ferc_net net;
    ferc_train_state st, rd;
    ferc_config *cfg = make_cfg();
    make_net(&net, base_specs, N_BASE, 1.5f);
    make_state(&st);
    st.kd_n = 5, st.kd_k = 3, st.kd_temp = 2.0f;
    st.kd = malloc(15 * sizeof(float));
    st.kd_teachers = strdup("a.h5, b.h5");
    for (int i = 0; i < 15; i++) st.kd[i] = i % 3 == 0 ? 0.5f : 0.25f;
    tpath(p, sizeof p, "tables.h5");
    CHECKF(ferc_ckpt_save(p, &net, cfg, NULL, &st, 0, &e) == 0, "%s", e.msg);
    CHECKF(ferc_ckpt_read_state(p, &rd, &e) == 0, "%s", e.msg);
    CHECK(rd.n_hist == 7 && rd.hist && !memcmp(rd.hist, st.hist, 7 * FERC_HIST_COLS * sizeof(float)));
    CHECK(rd.kd_n == 5 && rd.kd_k == 3 && rd.kd_temp == 2.0f && rd.kd && !memcmp(rd.kd, st.kd, 15 * sizeof(float)));
    CHECK(rd.kd_teachers && !strcmp(rd.kd_teachers, "a.h5, b.h5"));
    ferc_train_state_free(&rd);
    static const struct {
        const char *name;
        int ndim;
        hsize_t dims[2];
        float v;
        const char *want;
    } bad[] = {
        {"/distill/targets", 2, {5, 3}, 1.5f, "/distill/targets holds 1.5, not a probability"},
        {"/distill/targets", 1, {15, 0}, 0.5f, "/distill/targets is not a [images, classes] table"},
        {"/distill/targets", 2, {5, 17}, 0.5f, "/distill/targets is not a [images, classes] table"},
        {"/history", 2, {3, 5}, 0.5f, "/history is not a [epochs, "},
    };
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        CHECK(ferc_ckpt_save(p, &net, cfg, NULL, &st, 0, &e) == 0);
        CHECK(put_table(p, bad[i].name, bad[i].ndim, bad[i].dims, bad[i].v, 1) == 0);
        memset(&rd, 0x5a, sizeof rd);
        e.msg[0] = 0;
        CHECK(ferc_ckpt_read_state(p, &rd, &e) == -1);
        CHECKF(contains(e.msg, p) && contains(e.msg, bad[i].want), "case %d: %s", i, e.msg);
        CHECK(rd.kd == NULL && rd.kd_teachers == NULL && rd.hist == NULL);
    }
    /* an empty history is no history */
    const hsize_t none[2] = {0, FERC_HIST_COLS};
    CHECK(ferc_ckpt_save(p, &net, cfg, NULL, &st, 0, &e) == 0);
    CHECK(put_table(p, "/history", 2, none, 0.0f, 0) == 0);
    CHECKF(ferc_ckpt_read_state(p, &rd, &e) == 0, "%s", e.msg);
    CHECK(rd.n_hist == 0 && rd.hist == NULL && rd.kd_n == 5);
    ferc_train_state_free(&rd);
    ferc_train_state_free(&st);
    free_net(&net);
    free_cfg(cfg);
    return 0;
}

static int test_not_ferc(void)
{
    char p[512];
    tpath(p, sizeof p, "plain.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0);
    hsize_t d = 4;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t ds = H5Dcreate2(f, "data", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds), H5Sclose(sp), H5Fclose(f);
    char want[600];
    snprintf(want, sizeof want, "%s: not a ferc checkpoint", p);
    ferc_err e = {""};
    ferc_net b;
    make_net(&b, base_specs, N_BASE, 0);
    CHECK(ferc_ckpt_load(p, &b, NULL, NULL, &e) == -1);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    free_net(&b);
    expect_bad(p, "not a ferc checkpoint");
    CHECK(ferc_ckpt_seal(p, &e) == -1);
    CHECKF(contains(e.msg, "cannot seal"), "%s", e.msg);
    return 0;
}

/* Rewrites the root attribute `name` of p as an int64. */
static void set_int_attr(const char *p, const char *name, int64_t v)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0);
    H5Adelete(f, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a), H5Sclose(sp), H5Fclose(f);
}

static int test_wrong_version(void)
{
    char p[512], want[600];
    ferc_err e = {""};
    if (save_ref("v2.h5", p, sizeof p, 0) < 0) return 0;
    set_int_attr(p, "version", 2);
    /* changed behind ferc's back: the seal no longer matches */
    snprintf(want, sizeof want, "%s: checksum mismatch: the file is corrupt, or was changed after ferc wrote it", p);
    ferc_net b;
    make_net(&b, base_specs, N_BASE, 0);
    CHECK(ferc_ckpt_load(p, &b, NULL, NULL, &e) == -1);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    CHECKF(ferc_ckpt_seal(p, &e) == 0, "%s", e.msg);
    snprintf(want, sizeof want, "%s: checkpoint format version 2, this ferc reads 1", p);
    CHECK(ferc_ckpt_load(p, &b, NULL, NULL, &e) == -1);
    CHECKF(!strcmp(e.msg, want), "%s", e.msg);
    free_net(&b);
    expect_bad(p, "checkpoint format version 2, this ferc reads 1");
    return 0;
}

static int test_atomic_nodir(void)
{
    char p[512], d[256];
    ferc_err e = {""};
    ferc_net a;
    ferc_config *cfg = make_cfg();
    make_net(&a, base_specs, N_BASE, 1.0f);
    tpath(d, sizeof d, "no-such-dir");
    snprintf(p, sizeof p, "%s/ck.h5", d);
    CHECK(ferc_ckpt_save(p, &a, cfg, NULL, NULL, 0, &e) == -1);
    CHECKF(contains(e.msg, p), "%s", e.msg);
    CHECK(!exists(d) && !exists(p) && !tmp_exists(p));
    free_net(&a);
    free_cfg(cfg);
    return 0;
}

static int test_atomic_overwrite(void)
{
    char p[512];
    size_t n0, n1;
    ferc_err e = {""};
    if (save_ref("keep.h5", p, sizeof p, 0) < 0) return 0;
    unsigned char *before = slurp(p, &n0);
    ferc_config *cfg = make_cfg();
    ferc_net bad, good;
    /* a duplicated tensor name makes HDF5 fail half-way through the file */
    spec s[N_BASE + 1];
    memcpy(s, base_specs, sizeof base_specs);
    s[N_BASE] = base_specs[N_BASE - 1];
    make_net(&bad, s, N_BASE + 1, 9.0f);
    CHECK(ferc_ckpt_save(p, &bad, cfg, NULL, NULL, 0, &e) == -1);
    CHECKF(contains(e.msg, p) && contains(e.msg, "/params/fc1/bias"), "%s", e.msg);
    CHECK(!tmp_exists(p));
    unsigned char *after = slurp(p, &n1);
    CHECK(after && n0 == n1 && !memcmp(before, after, n0));
    make_net(&good, base_specs, N_BASE, 0);
    CHECKF(ferc_ckpt_load(p, &good, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(good.params[0] == 1.625f);
    /* a bad tensor name is refused before any file is created */
    snprintf(bad.tensors[0].name, sizeof bad.tensors[0].name, "conv1_1/./kernel");
    CHECK(ferc_ckpt_save(p, &bad, cfg, NULL, NULL, 0, &e) == -1);
    CHECKF(contains(e.msg, "bad tensor name"), "%s", e.msg);
    /* "<path>.tmp" being a directory: creation fails, path untouched */
    char t[600];
    snprintf(t, sizeof t, "%s.tmp", p);
    CHECK(mkdir(t, 0755) == 0);
    CHECK(ferc_ckpt_save(p, &good, cfg, NULL, NULL, 0, &e) == -1);
    CHECKF(contains(e.msg, p), "%s", e.msg);
    rmdir(t);
    free(after);
    after = slurp(p, &n1);
    CHECK(after && n0 == n1 && !memcmp(before, after, n0));
    /* and a successful save replaces it */
    CHECKF(ferc_ckpt_save(p, &good, cfg, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    CHECK(!tmp_exists(p));
    free(before);
    free(after);
    free_net(&bad);
    free_net(&good);
    free_cfg(cfg);
    return 0;
}

typedef struct {
    int n;
    char lines[32][700];
} logbuf;

static void log_cb(void *ctx, const char *msg)
{
    logbuf *l = ctx;
    if (l->n < 32) snprintf(l->lines[l->n++], sizeof l->lines[0], "%s", msg);
}

static int log_has(const logbuf *l, const char *a, const char *b)
{
    for (int i = 0; i < l->n; i++)
        if (contains(l->lines[i], a) && contains(l->lines[i], b)) return 1;
    return 0;
}

static int test_init_from(void)
{
    char p[512];
    ferc_err e = {""};
    if (save_ref("pre.h5", p, sizeof p, 1) < 0) return 0;
    /* fine-tune to 5 classes, with an extra hidden fc and no bn1_1/beta */
    spec s[N_BASE + 1];
    int k = 0;
    for (int i = 0; i < N_BASE; i++)
        if (strcmp(base_specs[i].name, "bn1_1/beta")) s[k++] = base_specs[i];
    s[5].shape[0] = 5; /* fc1/kernel [5,36] */
    s[6].shape[0] = 5; /* fc1/bias [5] */
    s[k++] = (spec){"fc0/kernel", 2, {36, 36}, 0};
    ferc_net t, ref;
    make_net(&t, s, k, 0.25f);
    make_net(&ref, base_specs, N_BASE, 1.5f);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    int n = ferc_ckpt_init_from(p, &t, log_cb, &lg, &e);
    CHECKF(n == 5, "%d: %s", n, e.msg);
    CHECKF(lg.n == 9, "%d log lines", lg.n);
    CHECK(log_has(&lg, "loaded conv1_1/kernel", "[4,1,3,3]"));
    CHECK(log_has(&lg, "loaded bn1_1/running_var", ""));
    CHECK(log_has(&lg, "skipped fc1/kernel", "shape [3,36] in the file, the model has [5,36]"));
    CHECK(log_has(&lg, "skipped fc1/bias", ""));
    CHECK(log_has(&lg, "missing fc0/kernel", "keeps its initialisation"));
    CHECK(log_has(&lg, "unused bn1_1/beta", "[4]"));
    /* loaded tensors hold the file's values, skipped ones keep theirs */
    for (int i = 0; i < t.n_tensors; i++) {
        const ferc_tensor *tt = &t.tensors[i];
        int j = -1;
        for (int r = 0; r < ref.n_tensors; r++)
            if (!strcmp(ref.tensors[r].name, tt->name)) j = r;
        const float *got = (tt->is_buffer ? t.buffers : t.params) + tt->off;
        if (!strncmp(tt->name, "fc", 2)) {
            CHECK(got[0] == (tt->is_buffer ? -0.25f : 0.25f) * (float)(tt->off + 1) + (tt->is_buffer ? -0.5f : 0.125f));
        } else {
            CHECK(j >= 0);
            const ferc_tensor *rt = &ref.tensors[j];
            const float *w = (rt->is_buffer ? ref.buffers : ref.params) + rt->off;
            CHECK(!memcmp(got, w, tt->n * sizeof(float)));
        }
    }
    /* no log: still works */
    CHECK(ferc_ckpt_init_from(p, &t, NULL, NULL, &e) == 5);
    free_net(&t);
    free_net(&ref);
    return 0;
}

/* Fine-tuning to other classes: the classifier rows follow the class names.
 * The file (save_ref) has classes anger, happy, neutral and fc1 [3,36]; the
 * model has surprise, neutral, anger, so row 0 is new, row 1 is the file's
 * row 2 and row 2 the file's row 0. */
static int test_init_head(void)
{
    char p[512];
    ferc_err e = {""};
    if (save_ref("head.h5", p, sizeof p, 1) < 0) return 0;
    ferc_net t, ref;
    make_net(&t, base_specs, N_BASE, 0.25f);
    make_net(&ref, base_specs, N_BASE, 1.5f);
    /* one layer entry: the classifier fc1 (tensors 6 and 7) */
    ferc_layer head;
    memset(&head, 0, sizeof head);
    head.type = FERC_FC, head.t_w = 6, head.t_b = 7;
    snprintf(head.name, sizeof head.name, "fc1");
    t.layers = &head, t.n_layers = 1;
    ferc_config *c = make_cfg();
    strcpy(c->classes[0], "surprise"), strcpy(c->classes[1], "neutral"), strcpy(c->classes[2], "anger");
    ferc_rng r;
    ferc_rng_seed(&r, 3);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    CHECKF(ferc_ckpt_init_from(p, &t, NULL, NULL, &e) == N_BASE, "%s", e.msg);
    int n = ferc_ckpt_init_head(p, &t, c, &r, log_cb, &lg, &e);
    CHECKF(n == 2, "%d: %s", n, e.msg);
    CHECK(log_has(&lg, "classifier fc1 mapped by class name", "surprise (new) neutral anger, happy dropped"));
    const ferc_tensor *kw = &t.tensors[6], *kb = &t.tensors[7];
    const float *W = t.params + kw->off, *B = t.params + kb->off;
    const float *RW = ref.params + ref.tensors[6].off, *RB = ref.params + ref.tensors[7].off;
    CHECK(!memcmp(W + 36, RW + 2 * 36, 36 * sizeof(float)) && B[1] == RB[2]);
    CHECK(!memcmp(W + 2 * 36, RW, 36 * sizeof(float)) && B[2] == RB[0]);
    /* the new class: fresh (random, zero bias), neither the file's rows nor what was loaded */
    int fresh = B[0] == 0.0f;
    for (int j = 0; j < 3; j++) fresh &= memcmp(W, RW + j * 36, 36 * sizeof(float)) != 0;
    double ss = 0;
    for (int i = 0; i < 36; i++) ss += (double)W[i] * W[i];
    CHECK(fresh && ss > 0);
    /* the rest of the network is the file's */
    CHECK(!memcmp(t.params, ref.params, kw->off * sizeof(float)));
    /* the same classes in the same order: the loaded head is kept as it is */
    strcpy(c->classes[0], "anger"), strcpy(c->classes[1], "happy"), strcpy(c->classes[2], "neutral");
    CHECK(ferc_ckpt_init_from(p, &t, NULL, NULL, &e) == N_BASE);
    CHECK(ferc_ckpt_init_head(p, &t, c, &r, NULL, NULL, &e) == 3);
    CHECK(!memcmp(t.params, ref.params, t.n_params * sizeof(float)));
    /* the same classes in another order: permuted rows */
    strcpy(c->classes[0], "neutral"), strcpy(c->classes[2], "anger");
    CHECK(ferc_ckpt_init_head(p, &t, c, &r, NULL, NULL, &e) == 3);
    CHECK(!memcmp(W, RW + 2 * 36, 36 * sizeof(float)) && !memcmp(W + 2 * 36, RW, 36 * sizeof(float)));
    CHECK(!memcmp(W + 36, RW + 36, 36 * sizeof(float)));
    t.layers = NULL, t.n_layers = 0;
    free_cfg(c);
    free_net(&t);
    free_net(&ref);
    return 0;
}

/* Opens a checkpoint with h5py alone (tests/ckpt_h5py.py). */
static int test_h5py(void)
{
    if (system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") != 0)
        SKIP("/usr/bin/python3 cannot import h5py and numpy (apt-get install python3-h5py)");
    char script[512], p[512], q[512], cmd[4096];
    const char *src = __FILE__;
    const char *sl = strrchr(src, '/');
    snprintf(script, sizeof script, "%.*sckpt_h5py.py", sl ? (int)(sl - src + 1) : 0, src);
    if (!exists(script)) SKIP("%s not found (run this test from the repository root)", script);
    if (save_ref("h5py_train.h5", p, sizeof p, 0) < 0) return 0;
    if (save_ref("h5py_export.h5", q, sizeof q, 1) < 0) return 0;
    /* a float16 export and its float32 twin with values float16 cannot hold:
     * h5py must read float16 and every value must be numpy's own rounding */
    char h[512], t[512];
    ferc_err e = {""};
    ferc_config *cfg = make_cfg();
    ferc_net n;
    make_net(&n, base_specs, N_BASE, 1.0f);
    awkward_values(&n);
    tpath(h, sizeof h, "h5py_half.h5");
    tpath(t, sizeof t, "h5py_twin.h5");
    CHECKF(ferc_ckpt_save(h, &n, cfg, NULL, NULL, FERC_CKPT_EXPORT | FERC_CKPT_HALF, &e) == 0 &&
               ferc_ckpt_save(t, &n, cfg, NULL, NULL, FERC_CKPT_EXPORT, &e) == 0,
           "%s", e.msg);
    free_net(&n);
    free_cfg(cfg);
    /* stdout (the listing) is dropped; a failed assertion shows on stderr */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s %s train >/dev/null && /usr/bin/python3 %s %s export >/dev/null && "
             "/usr/bin/python3 %s %s export %s >/dev/null",
             script, p, script, q, script, h, t);
    int rc = system(cmd);
    CHECKF(rc == 0, "%s exited with %d", cmd, rc);
    return 0;
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ferc-test-ckpt-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_roundtrip);
    RUN(test_train_without_optim_or_state);
    RUN(test_export);
    RUN(test_export_half);
    RUN(test_read_config);
    RUN(test_shape_mismatch);
    RUN(test_missing_tensor);
    RUN(test_extra_tensor);
    RUN(test_truncated);
    RUN(test_garbage);
    RUN(test_corrupt);
    RUN(test_state_tables);
    RUN(test_not_ferc);
    RUN(test_wrong_version);
    RUN(test_atomic_nodir);
    RUN(test_atomic_overwrite);
    RUN(test_init_from);
    RUN(test_init_head);
    RUN(test_h5py);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (getenv("FERC_TEST_KEEP"))
        printf("kept %s (FERC_TEST_KEEP)\n", g_dir);
    else if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return TEST_DONE("test_ckpt");
}
