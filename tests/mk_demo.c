/* mk_demo.c: inputs for tests/t_demo.sh.
 *   mk_demo canvases OUTDIR MODEL IMG...
 *     pastes each 48x48 dataset face, enlarged 3-5x, on a 480x360 background
 *     (flat, gradient or noise) at a varied place, writes OUTDIR/<stem>.png or
 *     .jpg (alternating) and prints "<canvas> <label>" where label is the
 *     model's prediction on the original 48x48 image (not on the canvas).
 *   mk_demo corrupt OUT.avi
 *     writes a RIFF AVI header that claims a Motion-JPEG stream, then garbage. */
#include <stdio.h>
#include <string.h>
#include "ckpt.h"
#include "dataset.h"
#include "haar_synth.h"
#include "model.h"
#include "net.h"

static int canvases(const char *dir, const char *model, char **imgs, int n)
{
    ferc_err e;
    ferc_config cfg;
    ferc_net net;
    memset(&net, 0, sizeof net);
    if (ferc_ckpt_read_config(model, &cfg, &e)) {
        fprintf(stderr, "mk_demo: %s\n", e.msg);
        return 1;
    }
    ferc_arch arch;
    ferc_arch_from_config(&arch, &cfg);
    ferc_rng rng;
    ferc_rng_seed(&rng, 11);
    if (ferc_net_init(&net, &arch, &rng, &e) || ferc_ckpt_load(model, &net, NULL, NULL, &e) ||
        ferc_net_reserve(&net, 1, &e)) {
        fprintf(stderr, "mk_demo: %s\n", e.msg);
        return 1;
    }
    const int W = 480, H = 360, S = cfg.input_size;
    uint8_t *px = malloc((size_t)W * H);
    float *x = malloc(sizeof(float) * S * S);
    for (int i = 0; i < n; i++) {
        ferc_image face, small;
        if (ferc_image_load(&face, imgs[i], &e) || ferc_image_resize(&face, &small, S, S, &e)) {
            fprintf(stderr, "mk_demo: %s\n", e.msg);
            return 1;
        }
        ferc_normalize(small.px, S, cfg.mean, cfg.std, x);
        int pred;
        ferc_predict(&net, x, 1, NULL, &pred);
        int size = 144 + (int)ferc_rng_below(&rng, 97);
        synth_background(px, W, H, i % 3, &rng);
        synth_paste(px, W, H, &face, (int)ferc_rng_below(&rng, (uint32_t)(W - size)),
                    (int)ferc_rng_below(&rng, (uint32_t)(H - size)), size, &e);
        const char *base = strrchr(imgs[i], '/');
        base = base ? base + 1 : imgs[i];
        char out[4096];
        snprintf(out, sizeof out, "%s/%.*s.%s", dir, (int)strcspn(base, "."), base, i % 2 ? "jpg" : "png");
        int rc = i % 2 ? ferc_jpeg_write(out, px, W, H, 1, 95, &e) : ferc_png_write(out, px, W, H, 1, &e);
        if (rc) {
            fprintf(stderr, "mk_demo: %s\n", e.msg);
            return 1;
        }
        printf("%s %s\n", out, cfg.classes[pred]);
        ferc_image_free(&face), ferc_image_free(&small);
    }
    free(px), free(x);
    ferc_net_free(&net);
    ferc_config_free(&cfg);
    return 0;
}

static int corrupt(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    static const char hdr[] = "RIFF\x00\x10\x00\x00" "AVI LIST\x40\x00\x00\x00hdrlavih";
    fwrite(hdr, 1, sizeof hdr - 1, f);
    for (int i = 0; i < 600; i++) fputc((i * 37 + 11) & 255, f);
    return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "canvases")) return canvases(argv[2], argv[3], argv + 4, argc - 4);
    if (argc == 3 && !strcmp(argv[1], "corrupt")) return corrupt(argv[2]);
    fprintf(stderr, "usage: mk_demo canvases OUTDIR MODEL IMG... | mk_demo corrupt OUT.avi\n");
    return 2;
}
