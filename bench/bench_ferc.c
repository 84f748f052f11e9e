/* bench_ferc.c: ferc's side of the training/inference speed comparison.
 * Trains the VGG16 layout on random 48x48 inputs (same work as PyTorch's
 * bench/torch_vgg.py) and prints one key=value line for bench/run.sh. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "net.h"
#include "optim.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int width = 64, batch = 64, threads = 2, iters = 10, warmup = 3, size = 48, classes = 7, profile = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (v && !strcmp(argv[i], "--width")) width = atoi(v), i++;
        else if (v && !strcmp(argv[i], "--batch")) batch = atoi(v), i++;
        else if (v && !strcmp(argv[i], "--threads")) threads = atoi(v), i++;
        else if (v && !strcmp(argv[i], "--iters")) iters = atoi(v), i++;
        else {
            fprintf(stderr, "usage: bench_ferc [--width W] [--batch B] [--threads T] [--iters N] [--profile]\n");
            return 2;
        }
    }
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    ferc_arch a = {1, size, size, classes, 5, {2, 2, 3, 3, 3},
                   {width, width * 2, width * 4, width * 8, width * 8}, 2, {width * 8, width * 8}, 0.5f, 0};
    ferc_net net;
    ferc_optim opt;
    ferc_err e;
    ferc_rng r;
    ferc_rng_seed(&r, 1);
    if (ferc_net_init(&net, &a, &r, &e) || ferc_net_reserve(&net, batch, &e) ||
        ferc_optim_init(&opt, FERC_SGD, net.n_params, &e)) {
        fprintf(stderr, "bench_ferc: %s\n", e.msg);
        return 1;
    }
    opt.momentum = 0.9f, opt.weight_decay = 5e-4f;
    int *y = malloc(sizeof(int) * batch);
    float *d = malloc(sizeof(float) * batch * classes);
    for (int i = 0; i < batch * size * size; i++) net.input[i] = ferc_rng_normal(&r);
    for (int i = 0; i < batch; i++) y[i] = (int)ferc_rng_below(&r, classes);
    double t0 = 0;
    double *prof = profile ? calloc(2 * (size_t)net.n_layers, sizeof(double)) : NULL;
    for (int it = 0; it < warmup + iters; it++) {
        if (it == warmup) t0 = now(), net.prof = prof;
        float *lg = ferc_net_forward(&net, batch);
        ferc_softmax_xent(lg, y, batch, classes, NULL, 0.0f, d, NULL);
        ferc_net_zero_grad(&net);
        ferc_net_backward(&net, d, batch);
        ferc_optim_step(&opt, &net, 0.01f);
    }
    double train_ips = batch * iters / (now() - t0);
    net.prof = NULL;
    if (prof) {
        /* per-layer milliseconds per batch, forward and backward, to stderr */
        double tf = 0, tb = 0;
        for (int i = 0; i < net.n_layers; i++) tf += prof[2 * i], tb += prof[2 * i + 1];
        fprintf(stderr, "%-10s %6s %6s %9s %9s %6s\n", "layer", "C", "HxW", "fwd ms", "bwd ms", "share");
        for (int i = 0; i < net.n_layers; i++) {
            const ferc_layer *l = &net.layers[i];
            fprintf(stderr, "%-10s %6d %3dx%-3d %9.2f %9.2f %5.1f%%\n", l->name, l->c_out, l->h_out, l->w_out,
                    prof[2 * i] * 1e3 / iters, prof[2 * i + 1] * 1e3 / iters,
                    100.0 * (prof[2 * i] + prof[2 * i + 1]) / (tf + tb));
        }
        fprintf(stderr, "%-10s %6s %7s %9.2f %9.2f  (batch total %.2f ms)\n", "sum", "", "", tf * 1e3 / iters,
                tb * 1e3 / iters, batch * 1e3 / train_ips);
        free(prof);
    }
    /* training FLOPs: forward + backward (dW and dX), about 3x forward */
    double gflops = 3.0 * ferc_net_flops(&net) * train_ips / 1e9;
    net.training = 0;
    for (int it = 0; it < 10; it++) ferc_net_forward(&net, 1);
    int n = 100;
    t0 = now();
    for (int it = 0; it < n; it++) ferc_net_forward(&net, 1);
    double lat = (now() - t0) / n * 1e3;
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("engine=ferc width=%d batch=%d threads=%d train_img_s=%.1f train_gflops=%.1f infer1_ms=%.3f "
           "gflop_per_img=%.4f params=%zu coretype=%s blas_core=%s\n",
           width, batch, threads, train_ips, gflops, lat, 3.0 * ferc_net_flops(&net) / 1e9, net.n_params,
           ct ? ct : "unset", openblas_get_corename());
    free(y), free(d);
    ferc_optim_free(&opt);
    ferc_net_free(&net);
    return 0;
}
