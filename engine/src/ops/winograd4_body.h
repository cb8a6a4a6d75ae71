/* The transforms of Winograd F(4x4, 3x3) (conv_winograd4.c has the contract), included by
 * winograd4_base.c (the baseline ISA), winograd4_avx2.c and winograd4_avx512.c (wider
 * vectors; conv_winograd4.c picks one at run time: ops/winograd4.h).
 * Every value goes through the same IEEE operations in the same order in the three builds
 * (no FMA contraction), so they give bit-identical results. Each loop runs over the tiles
 * of a tile row (or, for the weights, over WT4_LANES input channels), innermost, so that
 * it vectorises. Engine-internal; static functions only.
 *
 * Interpolation points 0, 1, -1, 1/2, -2 and infinity rather than Lavin's 0, ±1, ±2 (point
 * choice as studied by Barabasz et al. 2020): simulated at the U-Net's shapes against
 * float64 (tests/bench/winograd_error.py), max error 0.35-0.65x Lavin's:
 *   Bᵀ = [1 -3/2 -2  3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0;
 *         0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
 *   G  = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15; 1/15 -2/15 4/15; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1]
 * The constants of Bᵀ and Aᵀ are exact in binary; G's are applied in double and rounded
 * once. */
#ifndef SD_OPS_WINOGRAD4_BODY_H
#define SD_OPS_WINOGRAD4_BODY_H

#include <stddef.h>
#include <string.h>

#include "ops/winograd4.h"

/* o_k = (Bᵀ d)_k for six operands (one column or row of a 6x6 patch). */
#define W4_BT(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                  \
    do {                                                                                       \
        o0 = (d0 + d4) + (1.5f * (d3 - d1) - 2.0f * d2);                                       \
        o1 = (d4 - d1) + (0.5f * d2 + 2.5f * d3);                                              \
        o2 = (d4 + d1) + (0.5f * d3 - 2.5f * d2);                                              \
        o3 = (d4 - d2) + 2.0f * (d3 - d1);                                                     \
        o4 = (d4 - d2) + 0.5f * (d1 - d3);                                                     \
        o5 = (d5 + d1) + (1.5f * (d4 - d2) - 2.0f * d3);                                       \
    } while (0)

/* y_k = (Aᵀ m)_k for six operands. */
#define W4_AT(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                          \
    do {                                                                                       \
        const float s_ = m1 + m2, t_ = m1 - m2;                                                \
        y0 = (m0 + s_) + (m3 + m4);                                                            \
        y1 = t_ + (0.5f * m3 - 2.0f * m4);                                                     \
        y2 = s_ + (0.25f * m3 + 4.0f * m4);                                                    \
        y3 = (t_ + m5) + (0.125f * m3 - 8.0f * m4);                                            \
    } while (0)

/* o_k[i] = (Bᵀ (d_0[i] .. d_5[i]))_k for i < n: one pass of the input transform over runs. */
static void w4_bt_runs(const float *restrict d0, const float *restrict d1,
                       const float *restrict d2, const float *restrict d3,
                       const float *restrict d4, const float *restrict d5, float *restrict o0,
                       float *restrict o1, float *restrict o2, float *restrict o3,
                       float *restrict o4, float *restrict o5, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float a0 = d0[i], a1 = d1[i], a2 = d2[i], a3 = d3[i], a4 = d4[i], a5 = d5[i];
        float r0, r1, r2, r3, r4, r5;
        W4_BT(a0, a1, a2, a3, a4, a5, r0, r1, r2, r3, r4, r5);
        o0[i] = r0, o1[i] = r1, o2[i] = r2, o3[i] = r3, o4[i] = r4, o5[i] = r5;
    }
}

/* One tile row of one image channel: out[p * plane + tx] = (Bᵀ d B)[p / 6, p % 6] for the
 * tw tiles of tile row ty, d the 6x6 input patch at rows 4ty - 1 .., columns 4tx - 1 ..
 * (zero outside the image). scratch: W4_INPUT_SCRATCH(tw) floats. The six input rows are
 * first split into four phases (phase k, entry i: column 4i - 1 + k) so that the column
 * pass reads contiguous runs: columns 4tx - 1 .. 4tx + 4 of a tile are phases 0-3 at tx and
 * phases 0-1 at tx + 1. */
static void w4_input_row(const float *xc, int h, int w, int tw, int ty, float *scratch,
                         float *out, size_t plane)
{
    const size_t s = (size_t)tw + 1;
    float *ph = scratch;            /* [6 rows][4 phases][s] */
    float *q = scratch + 24 * s;    /* [6 (Bᵀ rows)][4 phases][s] */
    for (int r = 0; r < 6; r++) {
        const int iy = 4 * ty - 1 + r;
        float *pr = ph + (size_t)r * 4 * s;
        if (iy < 0 || iy >= h) {
            memset(pr, 0, 4 * s * sizeof *pr);
            continue;
        }
        const float *src = xc + (size_t)iy * w;
        for (int k = 0; k < 4; k++) {
            float *p = pr + (size_t)k * s;
            for (int i = 0; i <= tw; i++) {
                const int ix = 4 * i - 1 + k;
                p[i] = ix >= 0 && ix < w ? src[ix] : 0.0f;
            }
        }
    }
    /* the row pass: q[a][k][i] = Σ_r Bᵀ[a][r] ph[r][k][i] */
    for (int k = 0; k < 4; k++) {
        const float *d = ph + (size_t)k * s;   /* row r at d + 4 r s */
        float *o = q + (size_t)k * s;
        w4_bt_runs(d, d + 4 * s, d + 8 * s, d + 12 * s, d + 16 * s, d + 20 * s, o, o + 4 * s,
                   o + 8 * s, o + 12 * s, o + 16 * s, o + 20 * s, s);
    }
    /* the column pass, into the 36 position planes: columns 4 and 5 of a tile are phases
     * 0 and 1 of the next */
    for (int a = 0; a < 6; a++) {
        const float *c = q + (size_t)a * 4 * s;   /* phase k at c + k s */
        float *v = out + (size_t)6 * a * plane;
        w4_bt_runs(c, c + s, c + 2 * s, c + 3 * s, c + 1, c + s + 1, v, v + plane,
                   v + 2 * plane, v + 3 * plane, v + 4 * plane, v + 5 * plane, (size_t)tw);
    }
}

/* y_k[i] = (Aᵀ (m_0[i] .. m_5[i]))_k + bias for i < n: one pass of the output transform. */
static void w4_at_runs(const float *restrict m0, const float *restrict m1,
                       const float *restrict m2, const float *restrict m3,
                       const float *restrict m4, const float *restrict m5, float bias,
                       float *restrict y0, float *restrict y1, float *restrict y2,
                       float *restrict y3, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float a0 = m0[i], a1 = m1[i], a2 = m2[i], a3 = m3[i], a4 = m4[i], a5 = m5[i];
        float e0, e1, e2, e3;
        W4_AT(a0, a1, a2, a3, a4, a5, e0, e1, e2, e3);
        y0[i] = e0 + bias, y1[i] = e1 + bias, y2[i] = e2 + bias, y3[i] = e3 + bias;
    }
}

/* One tile row of one output channel: y rows 4ty .. 4ty + 3 (those inside the image) =
 * (Aᵀ m A) + bias for the tw tiles, m[p * plane + tx] the products at position p.
 * scratch: W4_OUTPUT_SCRATCH(tw) floats. */
static void w4_output_row(const float *m, size_t plane, int tw, int ty, int h, int w,
                          float bias, float *scratch, float *yc)
{
    const size_t s = (size_t)tw;
    float *t = scratch;             /* [4 (Aᵀ rows)][6 columns][s] */
    float *yy = scratch + 24 * s;   /* [4 rows][4 columns][s] */
    /* the row pass: t[a][b][tx] = Σ_j Aᵀ[a][j] m[6j + b][tx] (adding 0: exact) */
    for (int b = 0; b < 6; b++) {
        const float *mb = m + (size_t)b * plane;   /* row j at mb + 6 j plane */
        float *tb = t + (size_t)b * s;             /* Aᵀ row a at tb + 6 a s */
        w4_at_runs(mb, mb + 6 * plane, mb + 12 * plane, mb + 18 * plane, mb + 24 * plane,
                   mb + 30 * plane, 0.0f, tb, tb + 6 * s, tb + 12 * s, tb + 18 * s, s);
    }
    /* the column pass, plus the bias */
    for (int a = 0; a < 4; a++) {
        const float *c = t + (size_t)a * 6 * s;
        float *e = yy + (size_t)a * 4 * s;
        w4_at_runs(c, c + s, c + 2 * s, c + 3 * s, c + 4 * s, c + 5 * s, bias, e, e + s,
                   e + 2 * s, e + 3 * s, s);
    }
    /* interleaved into the image rows; columns and rows past the image dropped */
    const int full = w / 4;   /* tiles whose four columns are all inside */
    for (int a = 0; a < 4; a++) {
        const int oy = 4 * ty + a;
        if (oy >= h)
            break;
        float *restrict row = yc + (size_t)oy * w;
        const float *restrict e0 = yy + (size_t)(a * 4) * s, *restrict e1 = e0 + s;
        const float *restrict e2 = e0 + 2 * s, *restrict e3 = e0 + 3 * s;
        for (int tx = 0; tx < full; tx++) {
            row[4 * tx] = e0[tx];
            row[4 * tx + 1] = e1[tx];
            row[4 * tx + 2] = e2[tx];
            row[4 * tx + 3] = e3[tx];
        }
        for (int x = 4 * full; x < w; x++)
            row[x] = yy[(size_t)(a * 4 + x % 4) * s + full];
    }
}

/* u[p][l] = (G g_l Gᵀ)[p / 6, p % 6] for WT4_LANES 3x3 kernels g_l (lane l of g[t]), in
 * double, rounded once. t: [6][3][WT4_LANES] doubles of scratch. */
static void w4_weight_tiles(const double *g, double *t, float *u)
{
    const double third = 1.0 / 3.0, f15 = 1.0 / 15.0;
#define G9(tap) (g + (size_t)(tap) * WT4_LANES)
#define T(i, k) (t + ((size_t)(i) * 3 + (k)) * WT4_LANES)
    for (int k = 0; k < 3; k++) {   /* t = G g: the rows of g combined, column k */
        const double *restrict g0 = G9(k), *restrict g1 = G9(3 + k), *restrict g2 = G9(6 + k);
        double *restrict t0 = T(0, k), *restrict t1 = T(1, k), *restrict t2 = T(2, k);
        double *restrict t3 = T(3, k), *restrict t4 = T(4, k), *restrict t5 = T(5, k);
        for (int l = 0; l < WT4_LANES; l++) {
            t0[l] = g0[l];
            t1[l] = third * (g0[l] + g1[l] + g2[l]);
            t2[l] = third * (g1[l] - g0[l] - g2[l]);
            t3[l] = -f15 * (16.0 * g0[l] + 8.0 * g1[l] + 4.0 * g2[l]);
            t4[l] = f15 * (g0[l] - 2.0 * g1[l] + 4.0 * g2[l]);
            t5[l] = g2[l];
        }
    }
    for (int i = 0; i < 6; i++) {   /* u = t Gᵀ: the columns of t combined */
        const double *restrict a0 = T(i, 0), *restrict a1 = T(i, 1), *restrict a2 = T(i, 2);
        float *restrict u0 = u + (size_t)(6 * i + 0) * WT4_LANES;
        float *restrict u1 = u + (size_t)(6 * i + 1) * WT4_LANES;
        float *restrict u2 = u + (size_t)(6 * i + 2) * WT4_LANES;
        float *restrict u3 = u + (size_t)(6 * i + 3) * WT4_LANES;
        float *restrict u4 = u + (size_t)(6 * i + 4) * WT4_LANES;
        float *restrict u5 = u + (size_t)(6 * i + 5) * WT4_LANES;
        for (int l = 0; l < WT4_LANES; l++) {
            u0[l] = (float)a0[l];
            u1[l] = (float)(third * (a0[l] + a1[l] + a2[l]));
            u2[l] = (float)(third * (a1[l] - a0[l] - a2[l]));
            u3[l] = (float)(-f15 * (16.0 * a0[l] + 8.0 * a1[l] + 4.0 * a2[l]));
            u4[l] = (float)(f15 * (a0[l] - 2.0 * a1[l] + 4.0 * a2[l]));
            u5[l] = (float)a2[l];
        }
    }
#undef G9
#undef T
}

#endif
