#include "pipeline/image_prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sd_pad8(int x) { return (x + 7) & ~7; }

void sd_rgb_to_nchw(const float *rgb, int w, int h, int pw, int ph, float *nchw)
{
    size_t plane = (size_t)pw * ph;
    for (int y = 0; y < ph; y++) {
        int sy = y < h ? y : h - 1;
        for (int x = 0; x < pw; x++) {
            int sx = x < w ? x : w - 1;
            const float *p = rgb + ((size_t)sy * w + sx) * 3;
            for (int c = 0; c < 3; c++)
                nchw[c * plane + (size_t)y * pw + x] = 2.0f * p[c] - 1.0f;
        }
    }
}

void sd_nchw_to_rgb(const float *nchw, int pw, int ph, int w, int h, float *rgb)
{
    size_t plane = (size_t)pw * ph;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                rgb[((size_t)y * w + x) * 3 + c] = nchw[c * plane + (size_t)y * pw + x];
}

void sd_mask_pad(const float *mask, int w, int h, int pw, int ph, float *out)
{
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            out[(size_t)y * pw + x] = (y < h && x < w) ? mask[(size_t)y * w + x] : 0.0f;
}

void sd_mask_binarize(const float *mask, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = mask[i] < 0.5f ? 0.0f : 1.0f;
}

void sd_masked_image(const float *image, const float *mask_bin, int h, int w, float *out)
{
    size_t plane = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++)
            out[c * plane + i] = mask_bin[i] < 0.5f ? image[c * plane + i] : 0.0f;
}

void sd_mask_to_latent(const float *mask, int h, int w, float *latent_mask)
{
    int lh = h / 8, lw = w / 8;
    for (int i = 0; i < lh; i++)
        for (int j = 0; j < lw; j++)
            latent_mask[(size_t)i * lw + j] = mask[(size_t)(8 * i) * w + 8 * j];
}

/* Separable box blur of `src` [h, w] with radius r into dst, via a running sum. */
static void box_blur(const float *src, float *dst, float *tmp, int h, int w, int r)
{
    for (int y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        float *t = tmp + (size_t)y * w;
        double acc = 0.0;
        for (int x = -r; x <= r; x++)
            acc += (x >= 0 && x < w) ? s[x] : 0.0f;
        for (int x = 0; x < w; x++) {
            t[x] = (float)acc;
            int out = x - r, in = x + r + 1;
            if (out >= 0) acc -= s[out];
            if (in < w) acc += s[in];
        }
    }
    for (int x = 0; x < w; x++) {
        double acc = 0.0;
        for (int y = -r; y <= r; y++)
            acc += (y >= 0 && y < h) ? tmp[(size_t)y * w + x] : 0.0f;
        for (int y = 0; y < h; y++) {
            dst[(size_t)y * w + x] = (float)acc;
            int out = y - r, in = y + r + 1;
            if (out >= 0) acc -= tmp[(size_t)out * w + x];
            if (in < h) acc += tmp[(size_t)in * w + x];
        }
    }
}

int sd_fill_masked(float *image, const float *mask_bin, int h, int w)
{
    size_t plane = (size_t)h * w;
    float *weight = malloc(plane * sizeof *weight);
    float *wsum = malloc(plane * sizeof *wsum);
    float *vsum = malloc(plane * sizeof *vsum);
    float *tmp = malloc(plane * sizeof *tmp);
    float *val = malloc(plane * sizeof *val);
    unsigned char *done = calloc(plane, 1);
    int rc = -1;
    if (!weight || !wsum || !vsum || !tmp || !val || !done)
        goto out;

    size_t todo = 0;
    for (size_t i = 0; i < plane; i++) {
        weight[i] = mask_bin[i] < 0.5f ? 1.0f : 0.0f;
        done[i] = weight[i] > 0.0f;
        todo += !done[i];
    }
    if (todo == plane) {
        /* Nothing to borrow from: the whole region is repainted; mid-grey. */
        for (int c = 0; c < 3; c++)
            memset(image + c * plane, 0, plane * sizeof(float));
        rc = 0;
        goto out;
    }
    /* Normalised convolution: each masked pixel takes the weighted mean of the
     * unmasked pixels within the smallest radius (growing ×2) that reaches any,
     * then one more pass at that radius smooths the seams between radii. */
    for (int r = 2; todo > 0; r *= 2) {
        box_blur(weight, wsum, tmp, h, w, r);
        for (int c = 0; c < 3; c++) {
            float *chan = image + c * plane;
            for (size_t i = 0; i < plane; i++)
                val[i] = chan[i] * weight[i];
            box_blur(val, vsum, tmp, h, w, r);
            for (size_t i = 0; i < plane; i++)
                if (!done[i] && wsum[i] > 0.5f)
                    chan[i] = vsum[i] / wsum[i];
        }
        for (size_t i = 0; i < plane; i++)
            if (!done[i] && wsum[i] > 0.5f) {
                done[i] = 1;
                todo--;
            }
        if (r > 2 * (h > w ? h : w))
            break;
    }
    rc = 0;
out:
    free(weight);
    free(wsum);
    free(vsum);
    free(tmp);
    free(val);
    free(done);
    return rc;
}

int sd_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
