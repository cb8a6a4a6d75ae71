#include "preview.h"

#include <stdio.h>
#include <string.h>

void gd_preview_fit(int w, int h, int box, int *out_w, int *out_h)
{
    int longest = w > h ? w : h;
    if (longest <= 0) {
        *out_w = *out_h = 1;
        return;
    }
    /* rounded to the nearest pixel; the longer side lands exactly on box */
    long ow = ((long)w * box + longest / 2) / longest;
    long oh = ((long)h * box + longest / 2) / longest;
    *out_w = ow < 1 ? 1 : (int)ow;
    *out_h = oh < 1 ? 1 : (int)oh;
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Source coordinate of destination pixel i of n over a source of m (pixel centres
 * aligned, as GEGL and PIL's bilinear), split into the left index and the weight. */
static void source_pos(int i, int n, int m, int *i0, int *i1, float *t)
{
    float s = ((float)i + 0.5f) * (float)m / (float)n - 0.5f;
    if (s < 0.0f)
        s = 0.0f;
    int a = (int)s;
    if (a > m - 1)
        a = m - 1;
    *i0 = a;
    *i1 = a + 1 < m ? a + 1 : m - 1;
    *t = s - (float)a;
}

void gd_preview_to_rgb8(const sd_preview *p, int out_w, int out_h, uint8_t *out, int stride)
{
    const int w = p->width, h = p->height;
    for (int y = 0; y < out_h; y++) {
        int y0, y1;
        float ty;
        source_pos(y, out_h, h, &y0, &y1, &ty);
        uint8_t *row = out + (size_t)y * stride;
        for (int x = 0; x < out_w; x++) {
            int x0, x1;
            float tx;
            source_pos(x, out_w, w, &x0, &x1, &tx);
            for (int c = 0; c < 3; c++) {
                float a = clamp01(p->rgb[((size_t)y0 * w + x0) * 3 + c]);
                float b = clamp01(p->rgb[((size_t)y0 * w + x1) * 3 + c]);
                float d = clamp01(p->rgb[((size_t)y1 * w + x0) * 3 + c]);
                float e = clamp01(p->rgb[((size_t)y1 * w + x1) * 3 + c]);
                float v = (a + (b - a) * tx) * (1.0f - ty) + (d + (e - d) * tx) * ty;
                row[x * 3 + c] = (uint8_t)(v * 255.0f + 0.5f);
            }
        }
    }
}

void gd_preview_caption(const sd_preview *p, char *buf, int size)
{
    const char *what = p->source && !strcmp(p->source, "taesd") ? "decoded by TAESD"
                                                                 : "latent colours";
    snprintf(buf, (size_t)size, "Estimate after step %d of %d (%s)", p->step, p->total, what);
}
