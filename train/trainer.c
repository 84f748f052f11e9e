/* trainer.c: the training loop behind ./train. */
#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "ckpt.h"
#include "dataset.h"
#include "dedup.h"
#include "kd.h"
#include "model.h"
#include "net.h"
#include "optim.h"
#include "trainer.h"

/* Set by SIGINT/SIGTERM; the loop saves a resumable checkpoint and stops. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void log_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  %s\n", msg);
}

static int mkdirs(const char *path)
{
    char tmp[FERC_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    return 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

typedef struct {
    double loss, acc;
    int n;
    double acc_clean; /* accuracy over the images not marked in `seen` (NAN without a mask) */
    int n_clean;
} eval_result;

/* Watches ferc_ckpt_init_from's log for shape mismatches outside the head. */
typedef struct {
    const char *head;     /* name of the classifier layer, e.g. "fc3" */
    char first_bad[512];
    int bad;
} init_check;

static void init_log(void *ctx, const char *msg)
{
    init_check *ic = ctx;
    fprintf(stderr, "  %s\n", msg);
    const char *p = strstr(msg, ": skipped ");
    if (!p) return;
    p += strlen(": skipped ");
    size_t hl = strlen(ic->head);
    if (strncmp(p, ic->head, hl) == 0 && p[hl] == '/') return;
    if (!ic->bad++) snprintf(ic->first_bad, sizeof ic->first_bad, "tensor %s", p);
}

/* Inference-mode loss and accuracy over one pass of a (non-augmenting) loader. */
static void evaluate(ferc_net *net, ferc_loader *ld, uint64_t seed, const unsigned char *seen, eval_result *r)
{
    int correct_c = 0, n_c = 0;
    const float *x;
    const int *y, *ids;
    int nb, K = net->arch.n_classes;
    double loss = 0.0;
    int correct = 0, n = 0;
    int saved = net->training;
    net->training = 0;
    ferc_loader_start(ld, seed, 0, 0);
    while ((nb = ferc_loader_next(ld, &x, &y, &ids)) > 0) {
        memcpy(net->input, x, sizeof(float) * nb * net->arch.in_h * net->arch.in_w);
        float *lg = ferc_net_forward(net, nb);
        loss += ferc_softmax_xent(lg, y, nb, K, NULL, 0.0f, NULL, NULL) * nb;
        for (int i = 0; i < nb; i++) {
            int ok = ferc_argmax(lg + i * K, K) == y[i];
            correct += ok;
            if (seen && !seen[ids[i]]) correct_c += ok, n_c++;
        }
        n += nb;
    }
    net->training = saved;
    r->n = n;
    r->loss = n ? loss / n : NAN;
    r->acc = n ? (double)correct / n : NAN;
    r->n_clean = n_c;
    r->acc_clean = seen && n_c ? (double)correct_c / n_c : NAN;
}

typedef struct {
    const ferc_config *cfg;
    const ferc_train_opts *o;
    const ferc_dataset *ds, *valds;
    double test_acc;
    int test_n;
    int interrupted;
} fold_job;

static uint64_t mix(uint64_t a, uint64_t b)
{
    ferc_rng r;
    ferc_rng_seed(&r, a * 0x9e3779b97f4a7c15ULL + b);
    return ferc_rng_u64(&r);
}

/* Batch-norm running statistics for weights that were never trained as they
 * are (a weight average): one pass over the augmented training loader in
 * training mode, no updates, momentum 1/(k+1) at batch k, so the running
 * mean and variance end as the plain mean of every batch's statistics. The
 * pass draws epoch `epoch` of the loader and its own dropout stream, so it
 * is the same on every run and after --resume. */
static void bn_recalibrate(ferc_net *net, ferc_loader *ld, const ferc_config *cfg, int epoch)
{
    const float *x;
    const int *y, *ids;
    const float mom = net->bn_momentum;
    const int saved = net->training;
    const size_t isz = (size_t)net->arch.in_h * net->arch.in_w;
    int nb;
    int64_t k = 0;
    net->training = 1;
    ferc_loader_start(ld, cfg->seed, epoch, 0);
    while ((nb = ferc_loader_next(ld, &x, &y, &ids)) > 0) {
        net->bn_momentum = 1.0f / (float)(k + 1);
        ferc_rng_seed(&net->rng, mix(cfg->seed ^ 0x626e726563ULL, (uint64_t)k));
        memcpy(net->input, x, sizeof(float) * nb * isz);
        ferc_net_forward(net, nb);
        k++;
    }
    net->bn_momentum = mom;
    net->training = saved;
}

static int write_history(const char *path, const ferc_train_state *st)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,seconds\n");
    for (int i = 0; i < st->n_hist; i++) {
        const float *h = st->hist + i * FERC_HIST_COLS;
        fprintf(f, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f\n", (int)h[0], h[1], h[2], h[3], h[4], h[5], h[6],
                h[7], h[8]);
    }
    return fclose(f);
}

/* The command that continues this run: its config, --resume, and every
 * option that changed the config (--set, --epochs, --seed, --threads). */
static void print_continue(const ferc_train_opts *o, const char *ckpt)
{
    fprintf(stderr, "       continue with: bin/train %s --resume %s", o->config_path, ckpt);
    if (o->epochs > 0) fprintf(stderr, " --epochs %d", o->epochs);
    if (o->threads >= 0) fprintf(stderr, " --threads %d", o->threads);
    if (o->seed >= 0) fprintf(stderr, " --seed %lld", o->seed);
    for (int i = 0; i < o->n_sets; i++) fprintf(stderr, " --set %s", o->sets[i]);
    fprintf(stderr, "\n");
}

/* On --resume: names every key whose value differs from the run stored in
 * ckpt, so that a resume without the original --set options is not silent. */
static void note_change(void *ctx, const char *key, const char *now, const char *was)
{
    fprintf(stderr, "train: note: %s is now '%s'; the run in %s had '%s'\n", key, now, (const char *)ctx, was);
}

static void note_config_changes(const char *ckpt, const ferc_config *cfg)
{
    ferc_config old;
    ferc_err e;
    memset(&old, 0, sizeof old);
    if (!ferc_ckpt_read_config(ckpt, &old, &e) && ferc_config_diff(cfg, &old, note_change, (void *)ckpt, &e) > 0)
        fprintf(stderr, "HINT: to continue the same run, resume with the config and --set options it started "
                        "with (stored in the checkpoint's \"config\" attribute)\n");
    ferc_config_free(&old);
}

/* Trains one fold (fold = -1: all data). Returns 0, 1 on error, 130 when interrupted. */
static int run_fold(fold_job *job, int fold, const char *dir)
{
    const ferc_config *cfg = job->cfg;
    const ferc_train_opts *o = job->o;
    const ferc_dataset *ds = job->ds;
    ferc_err e;
    int rc = 1;
    float *dl = NULL, *mixbuf = NULL; /* mixbuf: mixup's copy of the batch */
    const float *kd_t = NULL;          /* train.distill: targets per image (ds->n, K), owned by st */
    float *kd_b = NULL;                /* a batch's targets (batch, K) */
    int *y2 = NULL;                   /* mixup's second labels */
    int folds = fold < 0 ? 0 : cfg->folds;
    int *tr = NULL, *va = NULL, *te = NULL, n_tr = 0, n_va = 0, n_te = 0;
    ferc_loader *ld_tr = NULL, *ld_va = NULL, *ld_te = NULL;
    unsigned char *val_seen = NULL; /* [valds->n]: 1 = also in the training folders */
    ferc_net net;
    ferc_optim opt;
    ferc_train_state st;
    int resumed_at = 0; /* epoch this process started at, when --resume */
    memset(&net, 0, sizeof net);
    memset(&opt, 0, sizeof opt);
    memset(&st, 0, sizeof st);
    char p_last[FERC_PATH + 160], p_best[FERC_PATH + 160], p_model[FERC_PATH + 160], p_hist[FERC_PATH + 160];
    snprintf(p_last, sizeof p_last, "%s/last.h5", dir);
    snprintf(p_best, sizeof p_best, "%s/best.h5", dir);
    snprintf(p_model, sizeof p_model, "%s/model.h5", dir);
    snprintf(p_hist, sizeof p_hist, "%s/history.csv", dir);
    if (mkdirs(dir)) {
        fprintf(stderr, "train: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }

    if (ferc_dataset_split(ds, folds, fold < 0 ? 0 : fold, cfg->inner_val, cfg->seed, &tr, &n_tr, &va, &n_va, &te,
                           &n_te, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    if (cfg->dedup || cfg->min_std > 0.0f) {
        int nc, ni, nf, nbl, was = n_tr;
        n_tr = ferc_dedup_filter(ds, tr, n_tr, cfg->dedup ? job->valds : NULL, cfg->min_std, &nc, &ni, &nf, &nbl,
                                 &e);
        if (n_tr < 0) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
        fprintf(stderr, "train: kept %d of %d training images: dropped %d also in validation, %d repeated copies, "
                        "%d with conflicting labels, %d near-blank (pixel std < %g)\n",
                n_tr, was, nc, ni, nf, nbl, cfg->min_std);
    }
    if (cfg->dedup && job->valds && n_va == 0) {
        /* validation images that training has seen (identical pixels), so
         * validation can be reported with and without them */
        int *dv = malloc(sizeof(int) * (job->valds->n ? job->valds->n : 1));
        val_seen = calloc(job->valds->n ? job->valds->n : 1, 1);
        if (!dv || !val_seen || ferc_dedup_find(job->valds, ds, dv, &e) < 0) {
            free(dv);
            fprintf(stderr, "train: %s\n", dv && val_seen ? e.msg : "out of memory");
            goto done;
        }
        int ns = 0;
        for (int i = 0; i < job->valds->n; i++) ns += val_seen[i] = dv[i] >= 0;
        free(dv);
        fprintf(stderr, "train: %d of %d validation images also occur in the training folders; \"val*\" excludes "
                        "them\n", ns, job->valds->n);
    }
    if (n_tr == 0) {
        fprintf(stderr, "train: fold %d leaves no training images\n", fold);
        goto done;
    }
    ld_tr = ferc_loader_new(ds, cfg, tr, n_tr, cfg->batch, 1, &e);
    if (ld_tr && n_va) ld_va = ferc_loader_new(ds, cfg, va, n_va, cfg->batch, 0, &e);
    if (ld_tr && !n_va && job->valds) {
        free(va);
        n_va = job->valds->n;
        va = malloc(sizeof(int) * n_va);
        for (int i = 0; i < n_va; i++) va[i] = i;
        ld_va = ferc_loader_new(job->valds, cfg, va, n_va, cfg->batch, 0, &e);
    }
    if (ld_tr && n_te) ld_te = ferc_loader_new(ds, cfg, te, n_te, cfg->batch, 0, &e);
    if (!ld_tr || (n_va && !ld_va) || (n_te && !ld_te)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }

    /* balanced class weights from the training split: n / (K * n_c) */
    float cw[FERC_MAX_CLASSES];
    int cnt[FERC_MAX_CLASSES] = {0};
    for (int i = 0; i < n_tr; i++) cnt[ds->label[tr[i]]]++;
    for (int k = 0; k < cfg->n_classes; k++) {
        cw[k] = cnt[k] ? (float)n_tr / ((float)cfg->n_classes * cnt[k]) : 0.0f;
        if (cfg->class_weights == 2) cw[k] = sqrtf(cw[k]);
    }

    ferc_arch arch;
    ferc_arch_from_config(&arch, cfg);
    ferc_rng rng;
    ferc_rng_seed(&rng, cfg->seed);
    if (ferc_net_init(&net, &arch, &rng, &e) || ferc_net_reserve(&net, cfg->batch, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    ferc_optim_kind ok = !strcmp(cfg->optimizer, "adam") ? FERC_ADAM
                         : !strcmp(cfg->optimizer, "adamw") ? FERC_ADAMW
                                                            : FERC_SGD;
    if (ferc_optim_init(&opt, ok, net.n_params, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    opt.momentum = cfg->momentum;
    opt.nesterov = cfg->nesterov;
    opt.weight_decay = cfg->weight_decay;
    opt.beta1 = cfg->beta1, opt.beta2 = cfg->beta2, opt.eps = cfg->eps;
    /* weight averaging over the last swa_epochs epochs (kept in checkpoints) */
    const int swa_from = cfg->swa_epochs > 0 ? cfg->epochs - cfg->swa_epochs : INT_MAX;
    if (cfg->swa_epochs > 0 && ferc_optim_avg_init(&opt, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    ferc_sched sched = {!strcmp(cfg->schedule, "step")     ? FERC_SCHED_STEP
                        : !strcmp(cfg->schedule, "cosine") ? FERC_SCHED_COSINE
                                                           : FERC_SCHED_CONSTANT,
                        cfg->lr, cfg->min_lr, cfg->warmup_epochs, cfg->step_epochs, cfg->step_gamma, cfg->epochs};

    if (o->init) {
        /* Only the classifier head may differ in shape: a mismatch anywhere
         * else means the checkpoint is from another architecture. */
        init_check ic = {net.layers[net.n_layers - 1].name, "", 0};
        int n = ferc_ckpt_init_from(o->init, &net, init_log, &ic, &e);
        if (n < 0) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
        if (ic.bad) {
            fprintf(stderr, "train: --init %s: %s\nHINT: the checkpoint is from another architecture; only the "
                            "classifier head (%s) may differ\n", o->init, ic.first_bad, ic.head);
            goto done;
        }
        fprintf(stderr, "train: initialised %d tensors from %s\n", n, o->init);
        /* other classes (e.g. FER2013's to CK+'s, 7 each but not the same 7):
         * the head's rows follow the class names, not their positions */
        if (ferc_ckpt_init_head(o->init, &net, cfg, &rng, init_log, &ic, &e) < 0) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
    }
    st.fold = fold;
    st.folds = folds;
    st.seed = cfg->seed;
    if (o->resume) {
        if (ferc_ckpt_load(o->resume, &net, &opt, &st, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
        fprintf(stderr, "train: resuming %s at epoch %d, batch %d\n", o->resume, st.epoch + 1, st.step);
        resumed_at = st.epoch + 1;
        note_config_changes(o->resume, cfg);
        /* the average must hold every averaged epoch completed so far; a
         * mismatch would only show after the last epoch */
        int64_t want = st.epoch > swa_from ? st.epoch - swa_from : 0;
        if (opt.avg && opt.avg_n != want) {
            fprintf(stderr, "train: --resume %s: its weight average holds %lld epochs, but with train.swa_epochs = %d "
                            "it should hold %lld after epoch %d\nHINT: resume with the train.swa_epochs and "
                            "train.epochs the run started with\n", o->resume, (long long)opt.avg_n, cfg->swa_epochs,
                    (long long)want, st.epoch);
            goto done;
        }
    }
    if (cfg->distill[0]) {
        /* the teachers' soft labels (kd.h) */
        const int K = cfg->n_classes;
        kd_b = malloc(sizeof(float) * cfg->batch * K);
        if (!kd_b) {
            fprintf(stderr, "train: out of memory for the distillation targets\n");
            goto done;
        }
        if (ferc_kd_setup(cfg, o->resume, o->init, o->progress, ds, tr, n_tr, &st)) goto done;
        kd_t = st.kd;
    } else
        ferc_train_state_free_distill(&st); /* resumed from a distilling run without it: not carried on */
    if (!st.hist) st.hist = malloc(sizeof(float) * FERC_HIST_COLS * (cfg->epochs + 1));
    else st.hist = realloc(st.hist, sizeof(float) * FERC_HIST_COLS * (cfg->epochs + st.n_hist + 1));

    const int nbatches = ferc_loader_batches(ld_tr);
    const int select_val = !strcmp(cfg->select, "inner_val") && ld_va;
    double best_val = -1.0;
    for (int i = 0; i < st.n_hist; i++)
        if (st.hist[i * FERC_HIST_COLS + 5] > best_val) best_val = st.hist[i * FERC_HIST_COLS + 5];
    if (fold >= 0)
        fprintf(stderr, "train: fold %d of %d: ", fold, folds);
    else
        fprintf(stderr, "train: all data: ");
    fprintf(stderr, "%d train, %d validation, %d test images; %d batches of %d; %zu parameters\n", n_tr, n_va, n_te,
            nbatches, cfg->batch, net.n_params);

    const float *x;
    const int *y, *ids;
    const size_t isz = (size_t)cfg->input_size * cfg->input_size;
    dl = malloc(sizeof(float) * 2 * cfg->batch * cfg->n_classes); /* dl, then mixup's second term */
    if (cfg->mixup > 0) {
        mixbuf = malloc(sizeof(float) * cfg->batch * isz);
        y2 = malloc(sizeof(int) * cfg->batch);
    }
    if (!dl || (cfg->mixup > 0 && (!mixbuf || !y2))) {
        fprintf(stderr, "train: out of memory for the batch buffers\n");
        goto done;
    }
    double t_run = now();
    while (st.epoch < cfg->epochs) {
        int ep = st.epoch;
        double t0 = now(), loss_sum = 0.0;
        int correct = 0, seen = 0, nb;
        if (st.step > 0) { /* resumed mid-epoch: carry on with the stopped part's figures */
            loss_sum = st.ep_loss_sum, correct = (int)st.ep_correct, seen = (int)st.ep_seen;
            t0 -= st.ep_seconds;
        }
        float lr = 0.0f;
        ferc_loader_start(ld_tr, cfg->seed, ep, st.step);
        net.training = 1;
        int b = st.step;
        while ((nb = ferc_loader_next(ld_tr, &x, &y, &ids)) > 0) {
            ferc_rng_seed(&net.rng, mix(cfg->seed, (uint64_t)st.global_step));
            memcpy(net.input, x, sizeof(float) * nb * isz);
            float lam = 1.0f;
            if (cfg->mixup > 0) {
                /* its own stream per step, so --resume replays it exactly */
                ferc_rng mr;
                ferc_rng_seed(&mr, mix(cfg->seed ^ 0x6d69787570ULL, (uint64_t)st.global_step));
                lam = ferc_mixup(net.input, mixbuf, nb, isz, y, y2, cfg->mixup, &mr);
            }
            float *lg = ferc_net_forward(&net, nb);
            /* train accuracy: against the label with the larger share */
            const int *ya = lam >= 0.5f ? y : y2;
            for (int i = 0; i < nb; i++) correct += ferc_argmax(lg + i * cfg->n_classes, cfg->n_classes) == ya[i];
            const float *cwp = cfg->class_weights ? cw : NULL;
            float l = cfg->mixup > 0
                          ? ferc_softmax_xent_mix(lg, y, y2, lam, nb, cfg->n_classes, cwp, cfg->label_smoothing, dl,
                                                  dl + (size_t)cfg->batch * cfg->n_classes)
                          : ferc_softmax_xent(lg, y, nb, cfg->n_classes, cwp, cfg->label_smoothing, dl, NULL);
            if (kd_t) {
                /* (1 - a) hard-label loss + a teacher term, gradients alike */
                const int K = cfg->n_classes;
                for (int i = 0; i < nb; i++) memcpy(kd_b + (size_t)i * K, kd_t + (size_t)ids[i] * K, sizeof(float) * K);
                float *dk = dl + (size_t)cfg->batch * K;
                float lk = ferc_distill_kl(lg, kd_b, nb, K, cfg->distill_temp, dk);
                const float a = cfg->distill_weight;
                for (int i = 0; i < nb * K; i++) dl[i] = (1.0f - a) * dl[i] + a * dk[i];
                l = (1.0f - a) * l + a * lk;
            }
            ferc_net_zero_grad(&net);
            ferc_net_backward(&net, dl, nb);
            lr = ep >= swa_from && cfg->swa_lr > 0 ? cfg->swa_lr : ferc_sched_lr(&sched, ep + (float)b / nbatches);
            ferc_optim_step(&opt, &net, lr);
            loss_sum += (double)l * nb;
            seen += nb;
            b++;
            st.step = b;
            st.global_step++;
            if (!isfinite(l)) {
                fprintf(stderr, "\ntrain: loss became %g at epoch %d batch %d; HINT: lower train.lr\n", l, ep + 1, b);
                goto done;
            }
            if (o->progress) {
                double dt = now() - t0;
                char eta[32];
                fmt_time(eta, sizeof eta, dt / seen * (double)(n_tr - (double)b / nbatches * n_tr));
                int w = 24, fill = (int)((double)b / nbatches * w);
                char bar[32];
                for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
                bar[w] = 0;
                fprintf(stderr, "\r  epoch %d/%d [%s] %d/%d loss %.4f acc %.3f %.0f img/s ETA %s   ", ep + 1,
                        cfg->epochs, bar, b, nbatches, loss_sum / seen, (double)correct / seen, seen / dt, eta);
            }
            if (stop_requested || (o->max_steps > 0 && st.global_step >= o->max_steps)) break;
        }
        if (o->progress) fprintf(stderr, "\r%*s\r", 110, "");
        if (stop_requested || (o->max_steps > 0 && st.global_step >= o->max_steps && b < nbatches)) {
            st.ep_loss_sum = loss_sum, st.ep_correct = correct, st.ep_seen = seen, st.ep_seconds = now() - t0;
            if (ferc_ckpt_save(p_last, &net, cfg, &opt, &st, 0, &e)) {
                fprintf(stderr, "train: %s\n", e.msg);
                goto done;
            }
            fprintf(stderr, "train: %s at epoch %d batch %d; saved %s\n",
                    stop_requested ? "interrupted" : "stopped (--max-steps)", ep + 1, b, p_last);
            print_continue(o, p_last);
            job->interrupted = 1;
            rc = stop_requested ? 130 : 0;
            goto done;
        }
        double t_train = now() - t0;
        eval_result rv = {NAN, NAN, 0, NAN, 0}, rt = {NAN, NAN, 0, NAN, 0};
        if (ld_va) evaluate(&net, ld_va, cfg->seed, val_seen, &rv);
        if (ld_te) evaluate(&net, ld_te, cfg->seed, NULL, &rt);
        float *h = st.hist + st.n_hist * FERC_HIST_COLS;
        h[0] = ep + 1, h[1] = lr, h[2] = (float)(loss_sum / seen), h[3] = (float)correct / seen;
        h[4] = (float)rv.loss, h[5] = (float)rv.acc, h[6] = (float)rt.loss, h[7] = (float)rt.acc;
        if (ep >= swa_from) ferc_optim_avg_add(&opt, &net);
        h[8] = (float)(now() - t0);
        st.n_hist++;
        st.epoch = ep + 1;
        st.step = 0;
        char line[256];
        int len = snprintf(line, sizeof line, "epoch %3d/%d  lr %.5f  train loss %.4f acc %.4f", ep + 1, cfg->epochs,
                           lr, h[2], h[3]);
        if (ld_va) len += snprintf(line + len, sizeof line - len, "  val loss %.4f acc %.4f", rv.loss, rv.acc);
        if (val_seen) len += snprintf(line + len, sizeof line - len, " val* %.4f", rv.acc_clean);
        if (ld_te) len += snprintf(line + len, sizeof line - len, "  test loss %.4f acc %.4f", rt.loss, rt.acc);
        len += snprintf(line + len, sizeof line - len, "  %.1fs %.0f img/s", h[8], seen / t_train);
        if (ep >= swa_from) snprintf(line + len, sizeof line - len, "  avg %lld", (long long)opt.avg_n);
        fprintf(stderr, "%s\n", line);
        if (ferc_ckpt_save(p_last, &net, cfg, &opt, &st, 0, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
        if (o->max_steps > 0 && st.global_step >= o->max_steps && st.epoch < cfg->epochs) {
            fprintf(stderr, "train: stopped (--max-steps) after epoch %d; saved %s\n", st.epoch, p_last);
            print_continue(o, p_last);
            job->interrupted = 1;
            rc = 0;
            goto done;
        }
        if (select_val && rv.acc > best_val) {
            best_val = rv.acc;
            if (ferc_ckpt_save(p_best, &net, cfg, &opt, &st, 0, &e)) {
                fprintf(stderr, "train: %s\n", e.msg);
                goto done;
            }
        }
    }
    /* The selected model: the last epoch, the weight average of the last
     * swa_epochs, or the best inner-validation epoch. The test fold never
     * takes part in the choice. */
    if (opt.avg) {
        if (opt.avg_n != cfg->swa_epochs) {
            fprintf(stderr, "train: the weight average holds %lld epochs, train.swa_epochs is %d (a run resumed "
                            "with another train.swa_epochs or train.epochs?)\n", (long long)opt.avg_n,
                    cfg->swa_epochs);
            goto done;
        }
        ferc_optim_avg_apply(&opt, &net);
        bn_recalibrate(&net, ld_tr, cfg, cfg->epochs);
        eval_result ra = {NAN, NAN, 0, NAN, 0};
        char line[256];
        int len = snprintf(line, sizeof line, "train: weight average of epochs %d-%d, batch-norm statistics "
                           "recomputed on the training images", cfg->epochs - cfg->swa_epochs + 1, cfg->epochs);
        if (ld_va) {
            evaluate(&net, ld_va, cfg->seed, val_seen, &ra);
            len += snprintf(line + len, sizeof line - len, ": val loss %.4f acc %.4f", ra.loss, ra.acc);
            if (val_seen) snprintf(line + len, sizeof line - len, " val* %.4f", ra.acc_clean);
        }
        fprintf(stderr, "%s\n", line);
    }
    if (select_val) {
        ferc_train_state bst;
        memset(&bst, 0, sizeof bst);
        if (ferc_ckpt_load(p_best, &net, NULL, &bst, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            goto done;
        }
        fprintf(stderr, "train: selected epoch %d by inner validation accuracy %.4f\n", bst.epoch, best_val);
        ferc_train_state_free(&bst);
    } else if (ferc_ckpt_save(p_best, &net, cfg, &opt, &st, 0, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    const int xflags = FERC_CKPT_EXPORT | (cfg->export_half ? FERC_CKPT_HALF : 0);
    if (ferc_ckpt_save(p_model, &net, cfg, NULL, &st, xflags, &e) ||
        (o->export_path && ferc_ckpt_save(o->export_path, &net, cfg, NULL, &st, xflags, &e))) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto done;
    }
    write_history(p_hist, &st);
    eval_result rt = {NAN, NAN, 0, NAN, 0};
    if (ld_te) evaluate(&net, ld_te, cfg->seed, NULL, &rt);
    job->test_acc = rt.acc;
    job->test_n = rt.n;
    char el[32];
    fmt_time(el, sizeof el, now() - t_run);
    if (fold >= 0)
        printf("fold %d: test accuracy %.4f (%d images, %s model) in %s\n", fold, rt.acc, rt.n,
               select_val ? "inner-val-selected" : "last-epoch", el);
    else if (resumed_at > 0) {
        /* el is this process only; the history has every epoch's seconds */
        double all = 0.0;
        for (int i = 0; i < st.n_hist; i++) all += st.hist[i * FERC_HIST_COLS + 8];
        char el_all[32];
        fmt_time(el_all, sizeof el_all, all);
        printf("trained on all %d images in %s (epochs %d-%d, resumed; all %d epochs: %s, the sum of the history's epoch times)\n",
               n_tr, el, resumed_at, st.epoch, st.n_hist, el_all);
    } else
        printf("trained on all %d images in %s\n", n_tr, el);
    printf("  model: %s\n", p_model);
    if (o->export_path) printf("  export: %s\n", o->export_path);
    fflush(stdout);
    rc = 0;
done:
    free(dl);
    free(mixbuf);
    free(kd_b); /* kd_t is st.kd */
    free(y2);
    ferc_loader_free(ld_tr);
    ferc_loader_free(ld_va);
    ferc_loader_free(ld_te);
    free(tr), free(va), free(te);
    free(val_seen);
    ferc_train_state_free(&st);
    ferc_optim_free(&opt);
    ferc_net_free(&net);
    return rc;
}

int ferc_train_main(ferc_config *cfg, const ferc_train_opts *o)
{
    ferc_err e;
    int threads = cfg->threads > 0 ? cfg->threads : omp_get_num_procs();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    fprintf(stderr, "train: seed %llu, %d threads, BLAS core %s (OPENBLAS_CORETYPE=%s)\n",
            (unsigned long long)cfg->seed, threads, openblas_get_corename(), ct ? ct : "unset");

    int fold = o->fold >= 0 ? o->fold : cfg->fold;
    if (o->resume) {
        ferc_train_state st;
        memset(&st, 0, sizeof st);
        /* the fold comes from the checkpoint (read_state also checks it is ferc's) */
        if (ferc_ckpt_read_state(o->resume, &st, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            return 1;
        }
        fold = st.fold;
        ferc_train_state_free(&st);
    }
    int train_all = o->train_all || cfg->folds <= 1 || fold < 0;
    if (!train_all && fold >= cfg->folds) {
        fprintf(stderr, "train: --fold %d is out of range: the config has %d folds (0..%d)\n", fold, cfg->folds,
                cfg->folds - 1);
        return 2;
    }

    const char *roots[FERC_MAX_PATHS];
    for (int i = 0; i < cfg->n_paths; i++) roots[i] = cfg->paths[i];
    ferc_dataset ds, valds;
    memset(&valds, 0, sizeof valds);
    double t0 = now();
    fprintf(stderr, "train: loading %s", cfg->paths[0]);
    for (int i = 1; i < cfg->n_paths; i++) fprintf(stderr, ", %s", cfg->paths[i]);
    fprintf(stderr, "\n");
    if (ferc_dataset_load(&ds, cfg, roots, cfg->n_paths, log_stderr, NULL, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        if (strstr(e.msg, "datasets/"))
            fprintf(stderr, "HINT: run 'make datasets' to link ../shared/datasets, or see datasets/README.md\n");
        return 1;
    }
    fprintf(stderr, "train: %d images, %d subjects, %d classes in %.1fs:", ds.n, ds.n_subjects, ds.n_classes,
            now() - t0);
    for (int k = 0; k < cfg->n_classes; k++) fprintf(stderr, " %s %d", cfg->classes[k], ds.class_count[k]);
    fprintf(stderr, "\n");
    if (cfg->val_path[0]) {
        const char *vr = cfg->val_path;
        if (ferc_dataset_load(&valds, cfg, &vr, 1, log_stderr, NULL, &e)) {
            fprintf(stderr, "train: %s\n", e.msg);
            ferc_dataset_free(&ds);
            return 1;
        }
        fprintf(stderr, "train: validation set %s: %d images\n", vr, valds.n);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char base[FERC_PATH + 64];
    if (o->out)
        snprintf(base, sizeof base, "%s", o->out);
    else
        snprintf(base, sizeof base, "%s/%s", cfg->out_dir, cfg->name);
    fold_job job = {cfg, o, &ds, cfg->val_path[0] ? &valds : NULL, NAN, 0, 0};
    char dir[FERC_PATH + 128];
    int rc = 0;
    if (o->all_folds && cfg->folds > 1) {
        double acc[64], t_all = now();
        int nf = cfg->folds < 64 ? cfg->folds : 64, total_n = 0;
        double total_correct = 0.0;
        for (int k = 0; k < nf && rc == 0; k++) {
            snprintf(dir, sizeof dir, "%s/fold%d", base, k);
            fprintf(stderr, "train: ---- fold %d of %d -> %s\n", k, nf, dir);
            rc = run_fold(&job, k, dir);
            acc[k] = job.test_acc;
            total_correct += job.test_acc * job.test_n;
            total_n += job.test_n;
        }
        if (rc == 0) {
            double mean = 0.0, sd = 0.0;
            for (int k = 0; k < nf; k++) mean += acc[k] / nf;
            for (int k = 0; k < nf; k++) sd += (acc[k] - mean) * (acc[k] - mean) / (nf > 1 ? nf - 1 : 1);
            sd = sqrt(sd);
            char el[32];
            fmt_time(el, sizeof el, now() - t_all);
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            char sp[FERC_PATH + 96];
            snprintf(sp, sizeof sp, "%s/summary.txt", base);
            FILE *f = fopen(sp, "w");
            for (int pass = 0; pass < 2; pass++) {
                FILE *out = pass ? f : stdout;
                if (!out) continue;
                fprintf(out, "%d-fold subject-independent cross-validation of %s (seed %llu, %s model)\n", nf,
                        o->config_path, (unsigned long long)cfg->seed,
                        !strcmp(cfg->select, "inner_val") && cfg->inner_val > 0 ? "inner-val-selected" : "last-epoch");
                fprintf(out, "fold  accuracy\n");
                for (int k = 0; k < nf; k++) fprintf(out, "%4d  %.4f\n", k, acc[k]);
                fprintf(out, "mean accuracy %.4f +- %.4f (std over folds); pooled %.4f over %d images\n", mean, sd,
                        total_n ? total_correct / total_n : NAN, total_n);
                fprintf(out, "wall-clock %s, %d threads, peak RSS %ld MB\n", el, threads, ru.ru_maxrss / 1024);
            }
            if (f) fclose(f);
        }
    } else {
        if (train_all)
            snprintf(dir, sizeof dir, "%s/all", base);
        else
            snprintf(dir, sizeof dir, "%s/fold%d", base, fold);
        if (o->resume) {
            /* continue in the directory the checkpoint lives in */
            snprintf(dir, sizeof dir, "%s", o->resume);
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = 0;
            else
                snprintf(dir, sizeof dir, ".");
        }
        rc = run_fold(&job, train_all ? -1 : fold, dir);
    }
    ferc_dataset_free(&ds);
    if (cfg->val_path[0]) ferc_dataset_free(&valds);
    return rc;
}
