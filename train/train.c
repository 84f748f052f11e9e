/* train.c: ./train CONFIG [options] -- trains the VGG-style network of a
 * config on a class-folder dataset with subject-independent folds.
 *
 * Determinism: the sample order and augmentation of an epoch are a function of
 * (seed, epoch); dropout is reseeded from (seed, global step); so a run with a
 * fixed seed and thread count is reproducible and --resume continues exactly,
 * even from the middle of an epoch (Ctrl-C saves such a checkpoint). */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ckpt.h"
#include "config.h"
#include "dataset.h"
#include "model.h"
#include "net.h"
#include "optim.h"
#include "trainer.h"

static const char *USAGE =
    "usage: ./train CONFIG [options]\n"
    "       ./train --half IN OUT\n"
    "\n"
    "Trains the network described by CONFIG (an INI file, see configs/ck.ini).\n"
    "--half rewrites the checkpoint or export IN as an inference export OUT with\n"
    "float16 weights: half the size, predictions within float16 rounding (new\n"
    "exports: output.export_dtype = float16).\n"
    "\n"
    "options:\n"
    "  --fold K          train on all folds but K and test on fold K (default: data.fold)\n"
    "  --folds all       run every fold in turn; prints per-fold accuracy and mean +- std\n"
    "  --all             train on all the data (no test fold): the release model\n"
    "  --epochs N        override train.epochs\n"
    "  --resume CKPT     continue a run exactly where CKPT stopped (weights, optimiser,\n"
    "                    epoch, position within the epoch), writing in CKPT's folder\n"
    "  --init CKPT       fine-tune: load the tensors of CKPT whose name and shape match,\n"
    "                    initialise the rest (freeze leading layers with model.freeze)\n"
    "  --out DIR         output directory (default: output.dir/output.name)\n"
    "  --export FILE     also write the final inference export to FILE\n"
    "  --threads N       OpenMP/BLAS threads (default: train.threads, 0 = all cores)\n"
    "  --seed S          override train.seed\n"
    "  --set KEY=VALUE   override any config key, e.g. --set train.lr=0.005\n"
    "  --max-steps N     stop after N batches in total, saving a resumable last.h5\n"
    "                    (time-boxed runs; --resume continues exactly)\n"
    "  --quiet           no live progress bar (epoch lines only)\n"
    "  -h, --help        this help\n"
    "\n"
    "Outputs in DIR/fold<K>/ (or DIR/all/): last.h5 (resumable, every epoch),\n"
    "best.h5 (the selected epoch, see train.select), model.h5 (inference export of\n"
    "the selected model) and history.csv. Ctrl-C saves last.h5 and exits.\n";

static void log_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  %s\n", msg);
}

static int parse_int(const char *s, const char *opt, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 1000000) {
        fprintf(stderr, "train: %s expects a non-negative integer, got '%s'\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* ./train --half IN OUT: IN's network, config and history as a float16 export. */
static int half_export(const char *in, const char *out)
{
    ferc_config cfg;
    ferc_train_state st;
    ferc_net net;
    ferc_err e;
    memset(&st, 0, sizeof st);
    int rc = 1;
    if (ferc_model_load(in, &cfg, &net, &st, &e) || ferc_config_set(&cfg, "output.export_dtype", "float16", &e) ||
        ferc_ckpt_save(out, &net, &cfg, NULL, &st, FERC_CKPT_EXPORT | FERC_CKPT_HALF, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    struct stat a, b;
    if (!stat(in, &a) && !stat(out, &b))
        printf("%s (%.1f MB) -> %s (%.1f MB, float16 weights)\n", in, a.st_size / 1e6, out, b.st_size / 1e6);
    rc = 0;
done:
    ferc_net_free(&net);
    ferc_train_state_free(&st);
    ferc_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--half")) {
        if (argc != 4) {
            fprintf(stderr, "train: usage: ./train --half IN OUT (see --help)\n");
            return 2;
        }
        return half_export(argv[2], argv[3]);
    }
    ferc_train_opts o;
    memset(&o, 0, sizeof o);
    o.fold = -1;
    o.epochs = -1;
    o.threads = -1;
    o.progress = isatty(2);
    const char *sets[64];
    int n_sets = 0;
    long long seed = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG                                                          \
    if (!v) {                                                             \
        fprintf(stderr, "train: %s needs a value (see --help)\n", a);     \
        return 2;                                                         \
    }                                                                     \
    i++;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--fold")) {
            NEED_ARG
            if (parse_int(v, a, &o.fold)) return 2;
        } else if (!strcmp(a, "--folds")) {
            NEED_ARG
            if (strcmp(v, "all") != 0) {
                fprintf(stderr, "train: --folds expects 'all' (use --fold K for one fold)\n");
                return 2;
            }
            o.all_folds = 1;
        } else if (!strcmp(a, "--all")) {
            o.train_all = 1;
        } else if (!strcmp(a, "--epochs")) {
            NEED_ARG
            if (parse_int(v, a, &o.epochs) || o.epochs == 0) {
                fprintf(stderr, "train: --epochs must be at least 1\n");
                return 2;
            }
        } else if (!strcmp(a, "--resume")) {
            NEED_ARG
            o.resume = v;
        } else if (!strcmp(a, "--init")) {
            NEED_ARG
            o.init = v;
        } else if (!strcmp(a, "--out")) {
            NEED_ARG
            o.out = v;
        } else if (!strcmp(a, "--export")) {
            NEED_ARG
            o.export_path = v;
        } else if (!strcmp(a, "--threads")) {
            NEED_ARG
            if (parse_int(v, a, &o.threads)) return 2;
        } else if (!strcmp(a, "--seed")) {
            NEED_ARG
            char *end;
            seed = strtoll(v, &end, 10);
            if (*end || end == v || seed < 0) {
                fprintf(stderr, "train: --seed expects a non-negative integer, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--set")) {
            NEED_ARG
            if (n_sets == 64 || !strchr(v, '=')) {
                fprintf(stderr, "train: --set expects KEY=VALUE, got '%s'\n", v);
                return 2;
            }
            sets[n_sets++] = v;
        } else if (!strcmp(a, "--max-steps")) {
            NEED_ARG
            int ms;
            if (parse_int(v, a, &ms) || ms == 0) {
                fprintf(stderr, "train: --max-steps must be at least 1\n");
                return 2;
            }
            o.max_steps = ms;
        } else if (!strcmp(a, "--quiet")) {
            o.progress = 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "train: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!o.config_path) {
            o.config_path = a;
        } else {
            fprintf(stderr, "train: unexpected argument '%s' (one CONFIG only; see --help)\n", a);
            return 2;
        }
    }
    if (!o.config_path) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (o.all_folds + o.train_all + (o.fold >= 0) > 1) {
        fprintf(stderr, "train: --fold, --folds all and --all exclude each other\n");
        return 2;
    }
    if (o.resume && (o.all_folds || o.init)) {
        fprintf(stderr, "train: --resume continues one run; it cannot be combined with --folds all or --init\n");
        return 2;
    }
    if (o.resume && o.out) {
        fprintf(stderr, "train: --resume continues in the folder of %s; it cannot be combined with --out "
                        "(copy the checkpoint there first)\n", o.resume);
        return 2;
    }

    ferc_config cfg;
    ferc_err e;
    fprintf(stderr, "train: config %s\n", o.config_path);
    if (ferc_config_load(&cfg, o.config_path, log_stderr, NULL, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        return 1;
    }
    o.sets = sets, o.n_sets = n_sets, o.seed = seed;
    for (int i = 0; i < n_sets; i++) {
        char key[128];
        const char *eq = strchr(sets[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
        if (ferc_config_set(&cfg, key, eq + 1, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            ferc_config_free(&cfg);
            return 1;
        }
        /* after the config's "default:" lines, so the log shows what won */
        fprintf(stderr, "train: --set %s = %s\n", key, eq + 1);
    }
    char buf[64];
    if (o.epochs > 0) {
        snprintf(buf, sizeof buf, "%d", o.epochs);
        ferc_config_set(&cfg, "train.epochs", buf, &e);
    }
    if (seed >= 0) {
        snprintf(buf, sizeof buf, "%lld", seed);
        ferc_config_set(&cfg, "train.seed", buf, &e);
    }
    if (o.threads >= 0) {
        snprintf(buf, sizeof buf, "%d", o.threads);
        ferc_config_set(&cfg, "train.threads", buf, &e);
    }
    if (cfg.freeze > 0 && !o.init && !o.resume) {
        fprintf(stderr, "train: %s: model.freeze = %d freezes layers that only --init fills; without it they would "
                        "stay random\nHINT: fine-tune with --init CKPT, or train from scratch with --set model.freeze=0\n",
                o.config_path, cfg.freeze);
        ferc_config_free(&cfg);
        return 2;
    }
    int rc = ferc_train_main(&cfg, &o);
    ferc_config_free(&cfg);
    return rc;
}
