/* test_xcheck.c: golden cross-check of the whole engine against PyTorch.
 *
 * A small VGG-style net (1x16x16 input, blocks {2,1} of widths {6,8}, one
 * hidden FC of 12, 5 classes, dropout 0 since masks cannot be matched) with
 * non-trivial conv/FC biases and BN gamma, beta and running statistics is
 * saved with ferc_ckpt_save. ferc then computes, on a seeded batch of 6 with
 * class weights and label smoothing 0.1:
 *   eval   inference mode (running stats): logits, loss, dlogits, every gradient
 *   train  training mode (batch stats): the same, plus the running stats after
 *          the forward
 *   sgd    two SGD steps (Nesterov, momentum 0.9, weight decay 5e-4 on kernels
 *          only) from the checkpoint: per-step losses, parameters, running stats
 *   adamw  the same with AdamW (decoupled weight decay 0.05, kernels only)
 * and writes it all to a second HDF5 file (layout in tests/xcheck_torch.py).
 * tests/xcheck_torch.py rebuilds the net in torch.nn from the checkpoint with
 * h5py alone, recomputes everything in float64 and exits 0 when every tensor
 * matches within its tolerance, 3 when one does not. A second run on a copy
 * of the data with one gradient value nudged by 5x the tolerance must then
 * fail, naming that tensor, which proves the comparison is live.
 *
 * Needs /usr/bin/python3 with torch and h5py (skips otherwise) and the
 * repository root as the working directory (tests/run.sh does that). Files
 * live in a mkdtemp directory under /tmp, kept when FERC_TEST_KEEP=1. */
#include <hdf5.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ckpt.h"
#include "config.h"
#include "model.h"
#include "net.h"
#include "optim.h"
#include "rng.h"
#include "test.h"

#define B 6             /* batch */
#define K 5             /* classes */
#define STEPS 2         /* optimiser steps per optimiser case */
#define SMOOTHING 0.1f
#define SCRIPT "tests/xcheck_torch.py"
#define PYTHON "/usr/bin/python3"

static const char *k_ini = "[data]\n"
                           "path = /tmp/ferc-xcheck-no-data\n"
                           "classes = anger, disgust, fear, happy, sad\n"
                           "input_size = 16\n"
                           "[model]\n"
                           "blocks = 2, 1\n"
                           "widths = 6, 8\n"
                           "fc = 12\n"
                           "dropout = 0\n";

static const int k_labels[B] = {0, 1, 2, 3, 4, 2};
static const float k_class_w[K] = {0.5f, 1.0f, 1.7f, 2.0f, 0.8f};

static char g_dir[64];          /* scratch directory, "" until created */
static char g_ckpt[128], g_data[128], g_bad[128], g_log[128];
static int g_ready;             /* 1: test_xcheck_torch wrote both files */

/* ---- HDF5 output --------------------------------------------------------- */

/* Writes dataset `name` (intermediate groups created) from native `mtype`
 * data as `ftype`; ndim 0 = scalar. */
static int h5_put(hid_t f, const char *name, hid_t mtype, hid_t ftype, int ndim, const hsize_t *dims,
                  const void *v)
{
    hid_t sp = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t ds = -1;
    herr_t r = -1;
    if (sp >= 0 && lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
        ds = H5Dcreate2(f, name, ftype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) r = H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0) H5Dclose(ds);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (sp >= 0) H5Sclose(sp);
    CHECKF(r >= 0, "cannot write %s", name);
    return r < 0 ? -1 : 0;
}

static void h5_floats(hid_t f, const char *name, const float *v, int ndim, const int *shape)
{
    hsize_t dims[4];
    for (int i = 0; i < ndim; i++) dims[i] = (hsize_t)shape[i];
    h5_put(f, name, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, ndim, dims, v);
}

static void h5_attr(hid_t f, const char *name, double v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t r = a >= 0 ? H5Awrite(a, H5T_NATIVE_DOUBLE, &v) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    CHECKF(r >= 0, "cannot write attribute %s", name);
}

/* Writes every tensor of the net under `prefix`: from params (what 'p'),
 * grads ('g') or buffers ('b'), named as in the checkpoint. */
static void h5_tensors(hid_t f, const char *prefix, const ferc_net *net, char what)
{
    char name[160];
    for (int i = 0; i < net->n_tensors; i++) {
        const ferc_tensor *t = &net->tensors[i];
        if (t->is_buffer != (what == 'b')) continue;
        const float *base = what == 'p' ? net->params : what == 'g' ? net->grads : net->buffers;
        snprintf(name, sizeof name, "%s/%s", prefix, t->name);
        h5_floats(f, name, base + t->off, t->ndim, t->shape);
    }
}

/* ---- the ferc side ------------------------------------------------------- */

/* Forward on x, loss and backward into zeroed grads; writes logits, loss and
 * dlogits under `group` when group != NULL. Returns the loss. */
static float pass(hid_t f, const char *group, ferc_net *net, const float *x)
{
    const size_t nx = (size_t)B * net->arch.in_c * net->arch.in_h * net->arch.in_w;
    float dlogits[B * K];
    memcpy(net->input, x, nx * sizeof(float));
    const float *lg = ferc_net_forward(net, B);
    float loss = ferc_softmax_xent(lg, k_labels, B, K, k_class_w, SMOOTHING, dlogits, NULL);
    if (group) {
        char name[96];
        const int shape[2] = {B, K};
        snprintf(name, sizeof name, "%s/logits", group);
        h5_floats(f, name, lg, 2, shape);
        snprintf(name, sizeof name, "%s/loss", group);
        h5_floats(f, name, &loss, 0, NULL);
        snprintf(name, sizeof name, "%s/dlogits", group);
        h5_floats(f, name, dlogits, 2, shape);
    }
    ferc_net_zero_grad(net);
    ferc_net_backward(net, dlogits, B);
    return loss;
}

/* STEPS optimiser steps from the current state (pass, step, pass, step, ...);
 * writes the per-step losses, the parameters and the running stats.
 * zero_conv_bias: every conv bias gradient is set to 0 before each step. They
 * are exactly 0 in exact arithmetic (each conv feeds training-mode BN, which
 * removes any per-channel constant); Adam turns their float32 rounding noise
 * (~1e-7) into steps of about lr, its sign, which no reference can match. */
static void optimise(hid_t f, const char *group, ferc_net *net, ferc_optim *o, float lr, const float *x,
                     int zero_conv_bias)
{
    float losses[STEPS];
    for (int s = 0; s < STEPS; s++) {
        losses[s] = pass(f, NULL, net, x);
        for (int i = 0; zero_conv_bias && i < net->n_layers; i++)
            if (net->layers[i].type == FERC_CONV) {
                const ferc_tensor *t = &net->tensors[net->layers[i].t_b];
                memset(net->grads + t->off, 0, t->n * sizeof(float));
            }
        ferc_optim_step(o, net, lr);
    }
    char name[96];
    const int n = STEPS;
    snprintf(name, sizeof name, "%s/loss", group);
    h5_floats(f, name, losses, 1, &n);
    snprintf(name, sizeof name, "%s/params", group);
    h5_tensors(f, name, net, 'p');
    snprintf(name, sizeof name, "%s/buffers", group);
    h5_tensors(f, name, net, 'b');
}

/* Moves conv/FC biases, BN gamma and beta and the running statistics away
 * from their initial 0/1 so each of them matters; kernels keep He init. */
static void perturb(ferc_net *net, ferc_rng *r)
{
    for (int i = 0; i < net->n_tensors; i++) {
        const ferc_tensor *t = &net->tensors[i];
        float *v = (t->is_buffer ? net->buffers : net->params) + t->off;
        const char *what = strchr(t->name, '/') + 1;
        for (size_t j = 0; j < t->n; j++) {
            if (!strcmp(what, "bias"))
                v[j] = 0.1f * ferc_rng_normal(r);
            else if (!strcmp(what, "gamma"))
                v[j] = 0.5f + ferc_rng_uniform(r);
            else if (!strcmp(what, "beta"))
                v[j] = 0.3f * ferc_rng_normal(r);
            else if (!strcmp(what, "running_mean"))
                v[j] = 0.2f * ferc_rng_normal(r);
            else if (!strcmp(what, "running_var"))
                v[j] = 0.5f + ferc_rng_uniform(r);
        }
    }
}

/* Builds the net, saves the checkpoint, computes every case into g_data.
 * Returns 0 when both files were written. */
static int make_files(void)
{
    ferc_err e = {{0}};
    ferc_config cfg;
    ferc_arch arch;
    ferc_net net;
    ferc_rng r;
    int ok = 0;
    if (ferc_config_parse(&cfg, k_ini, "<xcheck>", NULL, NULL, &e) < 0) {
        CHECKF(0, "config: %s", e.msg);
        return -1;
    }
    ferc_arch_from_config(&arch, &cfg);
    ferc_rng_seed(&r, 20240611);
    if (ferc_net_init(&net, &arch, &r, &e) < 0 || ferc_net_reserve(&net, B, &e) < 0) {
        CHECKF(0, "net: %s", e.msg);
        ferc_config_free(&cfg);
        return -1;
    }
    CHECK(net.arch.n_classes == K && net.arch.dropout == 0.0f);
    perturb(&net, &r);
    const size_t nx = (size_t)B * arch.in_c * arch.in_h * arch.in_w;
    float *x = malloc(nx * sizeof(float));
    float *p0 = malloc(net.n_params * sizeof(float)), *b0 = malloc(net.n_buffers * sizeof(float));
    if (!x || !p0 || !b0) {
        CHECKF(0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nx; i++) x[i] = ferc_rng_normal(&r);
    memcpy(p0, net.params, net.n_params * sizeof(float));
    memcpy(b0, net.buffers, net.n_buffers * sizeof(float));
    if (ferc_ckpt_save(g_ckpt, &net, &cfg, NULL, NULL, 1, &e) < 0) {
        CHECKF(0, "ckpt: %s", e.msg);
        goto done;
    }

    hid_t f = H5Fcreate(g_data, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        CHECKF(0, "cannot create %s", g_data);
        goto done;
    }
    const int xs[4] = {B, arch.in_c, arch.in_h, arch.in_w}, nk = K;
    const hsize_t nb = B;
    h5_floats(f, "input", x, 4, xs);
    h5_put(f, "labels", H5T_NATIVE_INT, H5T_STD_I32LE, 1, &nb, k_labels);
    h5_floats(f, "class_weights", k_class_w, 1, &nk);
    h5_attr(f, "smoothing", SMOOTHING);
    h5_attr(f, "steps", STEPS);

    /* eval: running statistics, which the forward leaves untouched */
    net.training = 0;
    pass(f, "eval", &net, x);
    h5_tensors(f, "eval/grad", &net, 'g');

    /* train: batch statistics; the forward updates the running stats */
    net.training = 1;
    pass(f, "train", &net, x);
    h5_tensors(f, "train/grad", &net, 'g');
    h5_tensors(f, "train/buffers", &net, 'b');

    ferc_optim o;
    const float sgd_lr = 0.05f;
    memcpy(net.params, p0, net.n_params * sizeof(float));
    memcpy(net.buffers, b0, net.n_buffers * sizeof(float));
    if (ferc_optim_init(&o, FERC_SGD, net.n_params, &e) == 0) {
        o.momentum = 0.9f, o.nesterov = 1, o.weight_decay = 5e-4f;
        h5_attr(f, "sgd_lr", sgd_lr);
        h5_attr(f, "sgd_momentum", o.momentum);
        h5_attr(f, "sgd_nesterov", o.nesterov);
        h5_attr(f, "sgd_wd", o.weight_decay);
        optimise(f, "sgd", &net, &o, sgd_lr, x, 0);
        ferc_optim_free(&o);
    } else {
        CHECKF(0, "sgd: %s", e.msg);
    }

    const float adamw_lr = 0.01f;
    memcpy(net.params, p0, net.n_params * sizeof(float));
    memcpy(net.buffers, b0, net.n_buffers * sizeof(float));
    if (ferc_optim_init(&o, FERC_ADAMW, net.n_params, &e) == 0) {
        o.weight_decay = 0.05f;
        h5_attr(f, "adamw_lr", adamw_lr);
        h5_attr(f, "adamw_beta1", o.beta1);
        h5_attr(f, "adamw_beta2", o.beta2);
        h5_attr(f, "adamw_eps", o.eps);
        h5_attr(f, "adamw_wd", o.weight_decay);
        optimise(f, "adamw", &net, &o, adamw_lr, x, 1);
        ferc_optim_free(&o);
    } else {
        CHECKF(0, "adamw: %s", e.msg);
    }
    CHECKF(H5Fclose(f) >= 0, "cannot close %s", g_data);
    ok = !t_cur_fail; /* no write failed (the flag is reset per test) */
done:
    free(x), free(p0), free(b0);
    ferc_net_free(&net);
    ferc_config_free(&cfg);
    return ok ? 0 : -1;
}

/* Runs the script on (g_ckpt, data), output to log (NULL: inherited);
 * returns its exit status, or -1 when it did not exit normally. */
static int run_script(const char *data, const char *log)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, PYTHON " " SCRIPT " '%s' '%s'%s%s%s", g_ckpt, data, log ? " >'" : "",
             log ? log : "", log ? "' 2>&1" : "");
    fflush(stdout);
    fflush(stderr);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- tests --------------------------------------------------------------- */

static int have_torch(void)
{
    return system(PYTHON " -c 'import torch, h5py' >/dev/null 2>&1") == 0;
}

static int test_xcheck_torch(void)
{
    if (!have_torch()) SKIP("/usr/bin/python3 cannot import torch and h5py");
    if (access(SCRIPT, R_OK) != 0) {
        CHECKF(0, "%s not found: run the test from the repository root", SCRIPT);
        return 0;
    }
    if (!g_dir[0]) {
        CHECKF(0, "no scratch directory");
        return 0;
    }
    if (make_files() < 0) return 0;
    g_ready = 1;
    int rc = run_script(g_data, NULL);
    CHECKF(rc == 0, "%s exited with %d: ferc and PyTorch differ (see the MISMATCH lines above)", SCRIPT, rc);
    return 0;
}

/* Copies g_data to g_bad and adds `delta` x max|g| to element `at` of
 * dataset `name` there. */
static int nudge(const char *name, size_t at, double delta)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", g_data, g_bad);
    if (system(cmd) != 0) return -1;
    hid_t f = H5Fopen(g_bad, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return -1;
    int rc = -1;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    float *v = n > 0 ? malloc((size_t)n * sizeof(float)) : NULL;
    if (v && (size_t)n > at && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
        float mx = 0.0f;
        for (hssize_t i = 0; i < n; i++) mx = fabsf(v[i]) > mx ? fabsf(v[i]) : mx;
        v[at] += (float)(delta * mx);
        rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    }
    free(v);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    if (H5Fclose(f) < 0) rc = -1;
    return rc;
}

/* The comparison is live: one gradient value of the first conv kernel (the
 * end of the backward chain) moved by 1e-4 x max|g|, 5x the script's RTOL,
 * must make the script exit 3 and name that tensor. */
static int test_xcheck_detects(void)
{
    if (!g_ready) SKIP("no ferc data: test_xcheck_torch did not run");
    const char *victim = "train/grad/conv1_1/kernel";
    if (nudge(victim, 7, 1e-4) < 0) {
        CHECKF(0, "cannot perturb %s in %s", victim, g_bad);
        return 0;
    }
    int rc = run_script(g_bad, g_log);
    CHECKF(rc == 3, "%s on a perturbed gradient exited with %d, want 3 (numbers differ); log %s", SCRIPT, rc,
           g_log);
    char line[512], want[128];
    int named = 0, others = 0;
    snprintf(want, sizeof want, "%s ", victim);
    FILE *lf = fopen(g_log, "r");
    while (lf && fgets(line, sizeof line, lf)) {
        if (!strstr(line, "MISMATCH")) continue;
        if (strstr(line, want))
            named = 1;
        else
            others++;
    }
    if (lf) fclose(lf);
    CHECKF(named, "the script did not report %s as a MISMATCH (log %s)", victim, g_log);
    CHECKF(others == 0, "%d other tensors reported as MISMATCH (log %s)", others, g_log);
    return 0;
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ferc-xcheck-XXXXXX");
    if (!mkdtemp(g_dir)) g_dir[0] = 0;
    snprintf(g_ckpt, sizeof g_ckpt, "%s/net.h5", g_dir);
    snprintf(g_data, sizeof g_data, "%s/ferc.h5", g_dir);
    snprintf(g_bad, sizeof g_bad, "%s/ferc-perturbed.h5", g_dir);
    snprintf(g_log, sizeof g_log, "%s/perturbed.log", g_dir);
    RUN(test_xcheck_torch);
    RUN(test_xcheck_detects);
    const char *keep = getenv("FERC_TEST_KEEP");
    if (g_dir[0] && keep && !strcmp(keep, "1")) {
        printf("kept %s\n", g_dir);
    } else if (g_dir[0]) {
        const char *files[] = {g_ckpt, g_data, g_bad, g_log};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(files[i]);
        rmdir(g_dir);
    }
    return TEST_DONE("test_xcheck");
}
