/* The bodies of GroupNorm and LayerNorm (norm.c has the contract), included by norm.c
 * (built for the baseline ISA) and by norm_avx2.c / norm_avx512.c (built again with wider
 * vectors, chosen at run time: ops/kernels_simd.h). Only the vector width changes: every
 * value goes through the same IEEE operations in the same order (no FMA contraction), so
 * the three builds give bit-identical results. Engine-internal; static functions only. */
#ifndef SD_OPS_NORM_BODY_H
#define SD_OPS_NORM_BODY_H

#include <math.h>
#include <stddef.h>

#include "ops/exp.h"

/* Mean and biased variance (as torch) of x[0..n-1]. */
static void moments(const float *x, size_t n, double *mean, double *var)
{
    double lane[OPS_LANES] = {0}, s = 0.0;
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            lane[l] += x[i + l];
    for (; i < n; i++)
        s += x[i];
    for (int l = 0; l < OPS_LANES; l++)
        s += lane[l];
    const double m = s / (double)n;

    double q = 0.0;
    for (int l = 0; l < OPS_LANES; l++)
        lane[l] = 0.0;
    for (i = 0; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++) {
            double d = (double)x[i + l] - m;
            lane[l] += d * d;
        }
    for (; i < n; i++) {
        double d = (double)x[i] - m;
        q += d * d;
    }
    for (int l = 0; l < OPS_LANES; l++)
        q += lane[l];
    *mean = m;
    *var = q / (double)n;
}

/* y = (x - mean) * scale + shift over n values (y may be x). */
static void normalize(const float *x, size_t n, double mean, double scale, double shift,
                      float *y)
{
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES) {
        /* All loads before any store: y may alias x, and this order lets the block
         * vectorise without an overlap check. */
        float t[OPS_LANES];
        for (int l = 0; l < OPS_LANES; l++)
            t[l] = x[i + l];
        for (int l = 0; l < OPS_LANES; l++)
            y[i + l] = (float)(((double)t[l] - mean) * scale + shift);
    }
    for (; i < n; i++)
        y[i] = (float)(((double)x[i] - mean) * scale + shift);
}

typedef struct {
    const float *x;
    int c, hw, groups, fuse_silu;
    float eps;
    const float *gamma, *beta;
    float *y;
} group_norm_args;

/* Groups begin..end-1, counted over the batch (item b, group g is b * groups + g). */
static void group_norm_range(void *arg, int worker, int begin, int end)
{
    const group_norm_args *p = arg;
    const int cg = p->c / p->groups;             /* channels per group */
    const size_t group_len = (size_t)cg * p->hw;
    (void)worker;
    for (int bg = begin; bg < end; bg++) {
        const int g = bg % p->groups;
        const size_t off = (size_t)bg * group_len;   /* [cg, hw] slice of x[b] */
        double mean, var;
        moments(p->x + off, group_len, &mean, &var);
        double rstd = 1.0 / sqrt(var + (double)p->eps);
        for (int j = 0; j < cg; j++) {
            int ch = g * cg + j;
            size_t o = off + (size_t)j * p->hw;
            double scale = p->gamma ? rstd * p->gamma[ch] : rstd;
            double shift = p->beta ? p->beta[ch] : 0.0;
            normalize(p->x + o, (size_t)p->hw, mean, scale, shift, p->y + o);
            if (p->fuse_silu)   /* while the channel is still in cache */
                ops_silu_serial(p->y + o, (size_t)p->hw);
        }
    }
}

typedef struct {
    const float *x;
    int dim;
    float eps;
    const float *gamma, *beta;
    float *y;
} layer_norm_args;

static void layer_norm_range(void *arg, int worker, int begin, int end)
{
    const layer_norm_args *p = arg;
    (void)worker;
    for (int r = begin; r < end; r++) {
        const float *xr = p->x + (size_t)r * p->dim;
        float *yr = p->y + (size_t)r * p->dim;
        double mean, var;
        moments(xr, (size_t)p->dim, &mean, &var);
        double rstd = 1.0 / sqrt(var + (double)p->eps);
        for (int i = 0; i < p->dim; i++) {
            double v = ((double)xr[i] - mean) * rstd;
            yr[i] = (float)((p->gamma ? v * p->gamma[i] : v) + (p->beta ? p->beta[i] : 0.0));
        }
    }
}

#endif
