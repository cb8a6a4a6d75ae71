/* GroupNorm and LayerNorm (gamma/beta may be NULL: no affine). Statistics are
 * accumulated in double (two passes: mean, then squared deviations) so that the result
 * sits near the float64 truth rather than inheriting float32 summation error over
 * 262144-value groups. Loops run in blocks of OPS_LANES so they vectorise at -O2. */
#include "ops.h"

#include <math.h>

#include "ops_exp.h"

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

void op_group_norm(const float *x, int n, int c, int hw, int groups, float eps,
                   const float *gamma, const float *beta, int fuse_silu, float *y)
{
    const int cg = c / groups;               /* channels per group */
    const size_t group_len = (size_t)cg * hw;
    for (int b = 0; b < n; b++) {
        for (int g = 0; g < groups; g++) {
            /* [cg, hw] slice of x[b] */
            size_t off = ((size_t)b * c + (size_t)g * cg) * hw;
            double mean, var;
            moments(x + off, group_len, &mean, &var);
            double rstd = 1.0 / sqrt(var + (double)eps);
            for (int j = 0; j < cg; j++) {
                int ch = g * cg + j;
                size_t o = off + (size_t)j * hw;
                double scale = gamma ? rstd * gamma[ch] : rstd;
                double shift = beta ? beta[ch] : 0.0;
                normalize(x + o, (size_t)hw, mean, scale, shift, y + o);
                if (fuse_silu)   /* while the channel is still in cache */
                    op_silu(y + o, (size_t)hw);
            }
        }
    }
}

void op_layer_norm(const float *x, int rows, int dim, float eps,
                   const float *gamma, const float *beta, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        double mean, var;
        moments(xr, (size_t)dim, &mean, &var);
        double rstd = 1.0 / sqrt(var + (double)eps);
        for (int i = 0; i < dim; i++) {
            double v = ((double)xr[i] - mean) * rstd;
            yr[i] = (float)((gamma ? v * gamma[i] : v) + (beta ? beta[i] : 0.0));
        }
    }
}
