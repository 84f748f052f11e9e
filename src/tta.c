/* tta.c: test-time augmentation views (see tta.h). */
#include "tta.h"
#include <math.h>
#include <string.h>
#include <strings.h>
#include "dataset.h"

int ferc_tta_parse(const char *s)
{
    if (!s) return -1;
    if (!strcasecmp(s, "none") || !strcasecmp(s, "off")) return FERC_TTA_NONE;
    if (!strcasecmp(s, "flip")) return FERC_TTA_FLIP;
    if (!strcasecmp(s, "tencrop") || !strcasecmp(s, "ten-crop") || !strcasecmp(s, "10crop")) return FERC_TTA_TENCROP;
    return -1;
}

const char *ferc_tta_name(ferc_tta m)
{
    return m == FERC_TTA_FLIP ? "flip" : m == FERC_TTA_TENCROP ? "tencrop" : "none";
}

int ferc_tta_views(ferc_tta m)
{
    return m == FERC_TTA_FLIP ? 2 : m == FERC_TTA_TENCROP ? 11 : 1;
}

int ferc_tta_first(ferc_tta m)
{
    return m == FERC_TTA_TENCROP ? 1 : 0;
}

/* Normalised crop [x0, x0+cs) x [y0, y0+cs) of src resized to size x size:
 * bilinear, pixel centres aligned (u = x0 + (i + 0.5) * cs / size - 0.5,
 * clamped to the crop), mirrored when flip. */
static void crop_view(const uint8_t *src, int size, int x0, int y0, int cs, int flip, float mean, float std,
                      float *dst)
{
    const float sc = (float)cs / (float)size;
    for (int i = 0; i < size; i++) {
        float v = y0 + (i + 0.5f) * sc - 0.5f;
        v = fminf(fmaxf(v, (float)y0), (float)(y0 + cs - 1));
        int r0 = (int)v, r1 = r0 + 1 < y0 + cs ? r0 + 1 : r0;
        float fy = v - r0;
        for (int j = 0; j < size; j++) {
            float u = x0 + (j + 0.5f) * sc - 0.5f;
            u = fminf(fmaxf(u, (float)x0), (float)(x0 + cs - 1));
            int c0 = (int)u, c1 = c0 + 1 < x0 + cs ? c0 + 1 : c0;
            float fx = u - c0;
            float p = (1 - fy) * ((1 - fx) * src[r0 * size + c0] + fx * src[r0 * size + c1]) +
                      fy * ((1 - fx) * src[r1 * size + c0] + fx * src[r1 * size + c1]);
            dst[i * size + (flip ? size - 1 - j : j)] = (p * (1.0f / 255.0f) - mean) / std;
        }
    }
}


void ferc_tta_make(ferc_tta m, const uint8_t *src, int size, float mean, float std, float *dst)
{
    const size_t img = (size_t)size * size;
    ferc_normalize(src, size, mean, std, dst); /* view 0: exactly what training evaluated */
    if (m == FERC_TTA_FLIP)
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++) dst[img + (size_t)i * size + (size - 1 - j)] = dst[(size_t)i * size + j];
    if (m != FERC_TTA_TENCROP) return;
    int cs = (int)lround(FERC_TTA_CROP * size);
    if (cs < 1) cs = 1;
    const int o = size - cs, pos[5][2] = {{0, 0}, {o, 0}, {0, o}, {o, o}, {o / 2, o / 2}};
    for (int f = 0; f < 2; f++)
        for (int p = 0; p < 5; p++)
            crop_view(src, size, pos[p][0], pos[p][1], cs, f, mean, std, dst + img * (size_t)(1 + f * 5 + p));
}

void ferc_tta_average(ferc_tta m, const float *probs_views, int k, float *out)
{
    const int v0 = ferc_tta_first(m), V = ferc_tta_views(m);
    for (int c = 0; c < k; c++) {
        float s = 0.0f;
        for (int v = v0; v < V; v++) s += probs_views[v * k + c];
        out[c] = s / (float)(V - v0);
    }
}
