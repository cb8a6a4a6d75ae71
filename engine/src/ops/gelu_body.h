/* The body of the erf GELU and of GEGLU's rows (elementwise.c has the contract), included
 * by elementwise.c (built for the baseline ISA) and by gelu_avx2.c / gelu_avx512.c (built
 * again with wider vectors, chosen at run time: ops/kernels_simd.h). Only the vector width
 * changes: the same IEEE operations in the same order (no FMA contraction), so the builds
 * give bit-identical results. Engine-internal; static functions only. */
#ifndef SD_OPS_GELU_BODY_H
#define SD_OPS_GELU_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ops/exp.h"
#include "ops/gelu.h"

/* y[0..OPS_LANES-1] = gelu(x[...]): the one place gelu_erf1 is expanded, as vector
 * code (y may be x). Tails go through it padded, so no scalar copy is needed. */
static void gelu_block(const float *x, float *y)
{
    float t[OPS_LANES];
    for (int l = 0; l < OPS_LANES; l++)
        t[l] = gelu_erf1(x[l]);
    memcpy(y, t, sizeof t);
}

/* gelu over a tail of n < OPS_LANES values. */
static void gelu_tail(const float *x, size_t n, float *y)
{
    float t[OPS_LANES] = {0};
    memcpy(t, x, n * sizeof *t);
    gelu_block(t, t);
    memcpy(y, t, n * sizeof *t);
}

typedef struct {
    const float *x;
    int d;
    float *y;
} geglu_args;

static void geglu_range(void *arg, int worker, int begin, int end)
{
    const geglu_args *p = arg;
    const int d = p->d;
    (void)worker;
    for (int r = begin; r < end; r++) {
        const float *value = p->x + (size_t)r * 2 * d;   /* [d] */
        const float *gate = value + d;                   /* [d] */
        float *yr = p->y + (size_t)r * d;
        float g[OPS_LANES];
        int j = 0;
        for (; j + OPS_LANES <= d; j += OPS_LANES) {
            gelu_block(gate + j, g);
            for (int l = 0; l < OPS_LANES; l++)
                yr[j + l] = value[j + l] * g[l];
        }
        gelu_tail(gate + j, (size_t)(d - j), g);
        for (int l = 0; j + l < d; l++)
            yr[j + l] = value[j + l] * g[l];
    }
}

static void gelu_serial(float *x, size_t n)
{
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        gelu_block(x + i, x + i);
    gelu_tail(x + i, n - i, x + i);
}

#endif
