#include "region.h"

#include <math.h>
#include <stdlib.h>

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int region_compute(const region_rect *selection, const region_rect *drawable,
                   int image_width, int image_height, int padding, region *out)
{
    /* The limit: the drawable, cut to the canvas (a layer may hang over the edges). */
    int lx0 = clampi(drawable->x, 0, image_width);
    int ly0 = clampi(drawable->y, 0, image_height);
    int lx1 = clampi(drawable->x + drawable->width, 0, image_width);
    int ly1 = clampi(drawable->y + drawable->height, 0, image_height);

    int x0 = lx0, y0 = ly0, x1 = lx1, y1 = ly1;
    if (selection && selection->width > 0 && selection->height > 0) {
        if (padding < 0)
            padding = 0;
        x0 = clampi(selection->x - padding, lx0, lx1);
        y0 = clampi(selection->y - padding, ly0, ly1);
        x1 = clampi(selection->x + selection->width + padding, lx0, lx1);
        y1 = clampi(selection->y + selection->height + padding, ly0, ly1);
    }

    out->open_edges = 0;
    if (x1 <= x0 || y1 <= y0) {
        out->rect = (region_rect){ 0, 0, 0, 0 };
        return 0;
    }
    out->rect = (region_rect){ x0, y0, x1 - x0, y1 - y0 };
    if (x0 == lx0)
        out->open_edges |= REGION_EDGE_LEFT;
    if (y0 == ly0)
        out->open_edges |= REGION_EDGE_TOP;
    if (x1 == lx1)
        out->open_edges |= REGION_EDGE_RIGHT;
    if (y1 == ly1)
        out->open_edges |= REGION_EDGE_BOTTOM;
    return 1;
}

static int round_to_8(double v)
{
    int r = (int)floor(v / 8.0 + 0.5) * 8;
    return r < 8 ? 8 : r;
}

void region_work_size(int width, int height, int long_side, int *work_width, int *work_height)
{
    int lng = round_to_8(long_side);
    if (width >= height) {
        *work_width = lng;
        *work_height = round_to_8((double)lng * height / width);
    } else {
        *work_height = lng;
        *work_width = round_to_8((double)lng * width / height);
    }
}

/* Source taps of one axis: output i reads src[idx[i*taps + k]] * w[i*taps + k]. */
typedef struct {
    int taps;
    int *idx;
    float *w;
} axis_filter;

static int axis_filter_make(int sn, int dn, axis_filter *f)
{
    double s = (double)sn / dn;
    f->taps = sn > dn ? (int)ceil(s) + 1 : 2;
    f->idx = calloc((size_t)dn * f->taps, sizeof *f->idx);
    f->w = calloc((size_t)dn * f->taps, sizeof *f->w);
    if (!f->idx || !f->w) {
        free(f->idx);
        free(f->w);
        return -1;
    }
    for (int i = 0; i < dn; i++) {
        int *idx = f->idx + (size_t)i * f->taps;
        float *w = f->w + (size_t)i * f->taps;
        if (sn > dn) {
            /* area: output i covers [i*s, (i+1)*s) of the source */
            double lo = i * s, hi = (i + 1) * s;
            int k = 0;
            for (int j = (int)floor(lo); j < sn && j < hi && k < f->taps; j++, k++) {
                double a = fmax(lo, j), b = fmin(hi, j + 1.0);
                idx[k] = j;
                w[k] = (float)((b - a) / s);
            }
        } else {
            double c = (i + 0.5) * s - 0.5;
            c = fmin(fmax(c, 0.0), sn - 1.0);
            int j0 = (int)floor(c);
            double fr = c - j0;
            idx[0] = j0;
            idx[1] = j0 + 1 < sn ? j0 + 1 : j0;
            w[0] = (float)(1.0 - fr);
            w[1] = (float)fr;
        }
    }
    return 0;
}

static void axis_filter_free(axis_filter *f)
{
    free(f->idx);
    free(f->w);
}

int region_resample(const float *src, int sw, int sh, int channels,
                    float *dst, int dw, int dh)
{
    axis_filter fx, fy;
    if (axis_filter_make(sw, dw, &fx) != 0)
        return -1;
    if (axis_filter_make(sh, dh, &fy) != 0) {
        axis_filter_free(&fx);
        return -1;
    }
    float *tmp = malloc((size_t)dw * sh * channels * sizeof *tmp); /* [sh, dw, C] */
    if (!tmp) {
        axis_filter_free(&fx);
        axis_filter_free(&fy);
        return -1;
    }

    for (int y = 0; y < sh; y++) {
        const float *row = src + (size_t)y * sw * channels;
        for (int x = 0; x < dw; x++) {
            float *o = tmp + ((size_t)y * dw + x) * channels;
            for (int c = 0; c < channels; c++)
                o[c] = 0.0f;
            for (int k = 0; k < fx.taps; k++) {
                float w = fx.w[(size_t)x * fx.taps + k];
                const float *p = row + (size_t)fx.idx[(size_t)x * fx.taps + k] * channels;
                for (int c = 0; c < channels; c++)
                    o[c] += w * p[c];
            }
        }
    }
    for (int y = 0; y < dh; y++) {
        float *o = dst + (size_t)y * dw * channels;
        for (size_t i = 0; i < (size_t)dw * channels; i++)
            o[i] = 0.0f;
        for (int k = 0; k < fy.taps; k++) {
            float w = fy.w[(size_t)y * fy.taps + k];
            if (w == 0.0f)
                continue;
            const float *r = tmp + (size_t)fy.idx[(size_t)y * fy.taps + k] * dw * channels;
            for (size_t i = 0; i < (size_t)dw * channels; i++)
                o[i] += w * r[i];
        }
    }

    free(tmp);
    axis_filter_free(&fx);
    axis_filter_free(&fy);
    return 0;
}

#define EDT_INF 1e20f

/* Exact 1-D squared distance transform (Felzenszwalb & Huttenlocher 2012) of f[0..n)
 * with stride `stride`, in place: f[q] <- min_p (q - p)^2 + f[p].
 * d, v: scratch of n; z: scratch of n + 1. */
static void edt_1d(float *f, int n, size_t stride, float *d, int *v, float *z)
{
    int k = 0;
    v[0] = 0;
    z[0] = -EDT_INF;
    z[1] = EDT_INF;
    for (int q = 1; q < n; q++) {
        double fq = (double)f[q * stride] + (double)q * q;
        double s;
        for (;;) {
            int p = v[k];
            s = (fq - ((double)f[p * stride] + (double)p * p)) / (2.0 * (q - p));
            if (s > z[k])
                break;
            k--; /* z[0] = -inf ends this */
        }
        k++;
        v[k] = q;
        z[k] = (float)s;
        z[k + 1] = EDT_INF;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        while (z[k + 1] < q)
            k++;
        float dq = (float)(q - v[k]);
        d[q] = dq * dq + f[v[k] * stride];
    }
    for (int q = 0; q < n; q++)
        f[q * stride] = d[q];
}

int region_feather(const float *mask, int width, int height, float radius,
                   unsigned open_edges, float *alpha)
{
    /* A one-pixel frame around the region stands for what lies beyond each side. */
    int gw = width + 2, gh = height + 2;
    int gmax = gw > gh ? gw : gh;
    float *g = malloc((size_t)gw * gh * sizeof *g);
    float *d = malloc((size_t)gmax * sizeof *d);
    float *z = malloc((size_t)(gmax + 1) * sizeof *z);
    int *v = malloc((size_t)gmax * sizeof *v);
    if (!g || !d || !z || !v) {
        free(g);
        free(d);
        free(z);
        free(v);
        return -1;
    }
    if (radius < REGION_MIN_FEATHER)
        radius = REGION_MIN_FEATHER;

    for (int y = 0; y < gh; y++) {
        for (int x = 0; x < gw; x++) {
            float val;
            if (x == 0 || y == 0 || x == gw - 1 || y == gh - 1) {
                int open = (x == 0 && (open_edges & REGION_EDGE_LEFT)) ||
                           (y == 0 && (open_edges & REGION_EDGE_TOP)) ||
                           (x == gw - 1 && (open_edges & REGION_EDGE_RIGHT)) ||
                           (y == gh - 1 && (open_edges & REGION_EDGE_BOTTOM));
                val = open ? EDT_INF : 0.0f;
            } else {
                val = mask[(size_t)(y - 1) * width + (x - 1)] < 0.5f ? 0.0f : EDT_INF;
            }
            g[(size_t)y * gw + x] = val;
        }
    }
    for (int x = 0; x < gw; x++)
        edt_1d(g + x, gh, (size_t)gw, d, v, z);
    for (int y = 0; y < gh; y++)
        edt_1d(g + (size_t)y * gw, gw, 1, d, v, z);

    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            size_t i = (size_t)y * width + x;
            float dist = g[(size_t)(y + 1) * gw + (x + 1)];
            /* the first selected pixel sits 1 away from the edge: its ramp value is 0.5/r */
            float ramp = dist >= EDT_INF * 0.5f ? 1.0f : clampf((sqrtf(dist) - 0.5f) / radius, 0.0f, 1.0f);
            alpha[i] = clampf(mask[i], 0.0f, 1.0f) * ramp;
        }
    }
    free(g);
    free(d);
    free(z);
    free(v);
    return 0;
}

void region_color_match(float *gen_rgb, const float *orig_rgba, const float *mask, size_t n)
{
    double sg[3] = { 0 }, sg2[3] = { 0 }, wg = 0.0;
    double st[3] = { 0 }, st2[3] = { 0 }, wt = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: the surroundings; pass 1 (only when there are none): under the mask */
        for (size_t i = 0; i < n; i++) {
            double m = clampf(mask[i], 0.0f, 1.0f);
            double w = (pass == 0 ? 1.0 - m : m) * orig_rgba[4 * i + 3];
            if (pass == 0 && m > 0.0) {
                for (int c = 0; c < 3; c++) {
                    sg[c] += m * gen_rgb[3 * i + c];
                    sg2[c] += m * gen_rgb[3 * i + c] * gen_rgb[3 * i + c];
                }
                wg += m;
            }
            for (int c = 0; c < 3; c++) {
                st[c] += w * orig_rgba[4 * i + c];
                st2[c] += w * orig_rgba[4 * i + c] * orig_rgba[4 * i + c];
            }
            wt += w;
        }
        if (wt >= 1.0)
            break;
    }
    if (wg < 1e-6 || wt < 1e-6)
        return;

    float gain[3], mu_g[3], mu_t[3];
    for (int c = 0; c < 3; c++) {
        mu_g[c] = (float)(sg[c] / wg);
        mu_t[c] = (float)(st[c] / wt);
        double sd_g = sqrt(fmax(sg2[c] / wg - (double)mu_g[c] * mu_g[c], 0.0));
        double sd_t = sqrt(fmax(st2[c] / wt - (double)mu_t[c] * mu_t[c], 0.0));
        /* a flat generated area has no contrast to stretch: shift it only */
        gain[c] = sd_g > 1e-3 ? (float)(sd_t / sd_g) : 1.0f;
    }
    for (size_t i = 0; i < n; i++) {
        if (mask[i] <= 0.0f)
            continue;
        for (int c = 0; c < 3; c++) {
            float *p = &gen_rgb[3 * i + c];
            *p = clampf((*p - mu_g[c]) * gain[c] + mu_t[c], 0.0f, 1.0f);
        }
    }
}

void region_rgba_to_rgb(const float *rgba, size_t n, float *rgb)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            rgb[3 * i + c] = clampf(rgba[4 * i + c], 0.0f, 1.0f);
}

void region_compose(const float *orig_rgba, const float *gen_rgb, const float *alpha,
                    size_t n, float *out_rgba)
{
    for (size_t i = 0; i < n; i++) {
        const float *rgb = alpha[i] > 0.0f ? gen_rgb + 3 * i : NULL;
        for (int c = 0; c < 3; c++)
            out_rgba[4 * i + c] = rgb ? rgb[c] : orig_rgba[4 * i + c];
        out_rgba[4 * i + 3] = alpha[i];
    }
}
