/* The bf16 ops (ops/ops_bf16.h: convolution by im2col and by Winograd, linear, attention)
 * against naive double loops on the unrounded fp32 inputs, over many shapes (odd ones
 * included), with every kernel this CPU runs; exit 77 (SKIP) where it runs none.
 *
 * Tolerances, from bf16's rounding (u = 2^-9, half an ulp of an 8-bit significand, each
 * rounding a factor (1 + δ) with δ uniform in [-u, u], variance u²/3):
 *  - a sum of K products whose operands went through R roundings in all (independent
 *    errors) has σ <= u · √(R K / 3) · max|a| · max|b|; we allow 6σ (probability 2e-9 per
 *    value, about 10^6 values checked), plus K · 2^-23 · Σ|a b| for the fp32 sums.
 *  - im2col and linear: K = ci kh kw (or in), R = 2 (input and weight).
 *  - Winograd F(2x2, 3x3): each of the 16 position sums has K = ci, R = 3 (the weight, its
 *    transform U and the input transform V rounded), |U| <= 2.25 max|w| (G's rows sum to
 *    at most 1.5 in magnitude, applied twice), |V| <= 4 max|x| (Bᵀ's rows: 2, twice); the
 *    output transform adds up to 9 of those sums, whose independent errors add as √9 = 3.
 *  - GEGLU then linear: as linear with a = value · gelu(gate) (max|a| measured), plus the
 *    fp32 gelu's own error (within 1.2e-6 relative, elementwise.c) on every term.
 *  - attention: a score's error from q·kᵀ (K = d, R = 2, q scaled by 1/√d first) shifts
 *    each probability by a relative exp(δs) - 1 ≈ δs, and P itself and v are rounded
 *    (2u); an output is a convex combination of v's rows, so |Δout| <= max|v| ·
 *    (6σ_s + 2u) as a worst case, not a random walk. The online softmax over key blocks
 *    (attention_bf16.c) adds only fp32 rescalings by exp(m - m') (a few ulp per block,
 *    under the nk · 2^-23 allowed for the sums). Its exponential (exp2_bf16_nonpos16) is
 *    checked on its own below: within EXP2_REL_TOL relative, on p and on its sum alike,
 *    which moves an output by at most 2 · EXP2_REL_TOL · max|v|, 5 % of the 2u above. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "naive_ops.h"
#include "ops/ops.h"
#include "ops/ops_bf16.h"
#include "ops/winograd.h"
#include "ops/parallel.h"

#define BF16_U (1.0 / 512.0)
#define SIGMAS 6.0
#define WINO_U_GAIN 2.25   /* max |G g Gᵀ| / max |g| */
#define WINO_V_GAIN 4.0    /* max |Bᵀ d B| / max |d| */
#define WINO_OUT_TERMS 9.0
/* The bf16 softmax's 2^x: its cubic's 7.5e-5 (exp_avx512.h) plus fp32 rounding. */
#define EXP2_REL_TOL 1e-4

static double sigma(int roundings, double k, double amax, double bmax)
{
    return BF16_U * sqrt(roundings * k / 3.0) * amax * bmax;
}

/* The worst error seen per kind, as a fraction of its tolerance, printed at the end. */
enum { SEEN_IM2COL, SEEN_WINOGRAD, SEEN_LINEAR, SEEN_GEGLU, SEEN_ATTENTION, SEEN_KINDS };
static double seen[SEEN_KINDS];
static const char *const seen_name[SEEN_KINDS] = {"conv im2col", "conv winograd", "linear",
                                                  "geglu linear", "attention"};

static void saw(int kind, double e)
{
    seen[kind] = e > seen[kind] ? e : seen[kind];
}

/* max over values of |y - ref| / tol */
static double worst(const float *y, const double *ref, size_t n, double tol)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - ref[i]) / tol;
        if (!(d <= e))
            e = isnan(d) ? INFINITY : d;
    }
    return e;
}

/* ---- convolution ----------------------------------------------------------------------- */

typedef struct {
    int n, ci, h, w, co, k, stride, pad;
    int bias;
} conv_case;

static void check_conv(ops_bf16_isa isa, rng *r, sd_arena *a, const conv_case *c)
{
    const sd_conv_params p = op_conv_params(c->k, c->stride, c->pad);
    const int ho = op_conv_out_size(c->h, p.kh, p.stride, p.pad_top, p.pad_bottom);
    const int wo = op_conv_out_size(c->w, p.kw, p.stride, p.pad_left, p.pad_right);
    const size_t nx = (size_t)c->n * c->ci * c->h * c->w, ny = (size_t)c->n * c->co * ho * wo;
    const int kk = c->ci * c->k * c->k;
    float *x = rand_floats(r, nx, 1.0f), *wt = rand_floats(r, (size_t)c->co * kk, 0.5f);
    float *bias = c->bias ? rand_floats(r, (size_t)c->co, 1.0f) : NULL;
    float *y = rand_floats(r, ny, 100.0f);   /* garbage: the op must overwrite it all */
    double *ref = xmalloc(ny * sizeof *ref);
    uint16_t *wp = xmalloc(ops_bf16_conv_weight_size(c->co, c->ci, c->k, c->k) * sizeof *wp);
    ops_bf16_pack_conv_weight(wt, c->co, c->ci, c->k, c->k, wp);

    const int winograd = isa == OPS_BF16_AVX512 && c->k == 3 && c->stride == 1 && c->pad == 1 &&
                         ops_winograd_bf16_fits(c->n, c->ci, c->co, c->h, c->w);
    const double direct = sigma(2, kk, 1.0, 0.5);
    const double wino = sqrt(WINO_OUT_TERMS) * sigma(3, c->ci, WINO_V_GAIN, WINO_U_GAIN * 0.5);
    const double tol = SIGMAS * (winograd ? wino : direct) + (kk + 1) * ldexp(1.0, -23) * kk * 0.5;

    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_conv2d_bf16(a, isa, x, c->n, c->ci, c->h, c->w, wp, bias, c->co, &p, y);
    naive_conv(x, c->n, c->ci, c->h, c->w, wt, bias, c->co, &p, ho, wo, ref);
    const double e = worst(y, ref, ny, tol);
    CHECK(rc == 0 && e <= 1.0,
          "%s conv%s n%d ci%d %dx%d co%d k%d s%d p%d bias%d: rc %d, error %.3g of the tolerance "
          "(%.3g of the direct 6 sigma)",
          ops_bf16_isa_name(isa), winograd ? " (winograd)" : "", c->n, c->ci, c->h, c->w,
          c->co, c->k, c->stride, c->pad, c->bias, rc, e, e * tol / (SIGMAS * direct));
    CHECK(sd_arena_get_mark(a) == m, "bf16 conv gives its scratch back");
    saw(winograd ? SEEN_WINOGRAD : SEEN_IM2COL, e);
    free(x), free(wt), free(bias), free(y), free(ref), free(wp);
}

static void test_conv(ops_bf16_isa isa, rng *r)
{
    sd_arena a;
    sd_arena_init(&a, 0);
    const conv_case cases[] = {
        {1, 1, 1, 1, 1, 1, 1, 0, 0},    {1, 3, 5, 7, 2, 3, 1, 1, 1},    {2, 4, 9, 6, 5, 3, 2, 1, 1},
        {1, 7, 8, 8, 17, 1, 1, 0, 1},   {2, 33, 6, 5, 19, 1, 1, 0, 0},  {1, 5, 11, 13, 7, 3, 1, 0, 1},
        {2, 4, 16, 16, 32, 3, 1, 1, 1}, /* conv_in: 4 channels */
        {1, 16, 13, 9, 8, 3, 2, 0, 1},  /* the VAE's asymmetric-pad downsample shape */
        {2, 24, 32, 32, 20, 3, 1, 1, 1}, {1, 17, 33, 35, 9, 3, 1, 1, 0},   /* im2col: < 128 ci */
        {2, 64, 32, 32, 64, 3, 1, 1, 1}, {1, 40, 40, 36, 24, 1, 1, 0, 1},
        {2, 128, 32, 32, 20, 3, 1, 1, 1}, {1, 131, 33, 35, 9, 3, 1, 1, 0},   /* Winograd sizes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv(isa, r, &a, &cases[i]);
    sd_arena_free(&a);
}

/* ---- linear ---------------------------------------------------------------------------- */

static void check_linear(ops_bf16_isa isa, rng *r, sd_arena *a, int rows, int in, int out,
                         int has_bias)
{
    float *x = rand_floats(r, (size_t)rows * in, 1.0f), *wt = rand_floats(r, (size_t)out * in, 0.5f);
    float *bias = has_bias ? rand_floats(r, (size_t)out, 1.0f) : NULL;
    float *y = rand_floats(r, (size_t)rows * out, 100.0f);
    double *ref = xmalloc((size_t)rows * out * sizeof *ref);
    uint16_t *wp = xmalloc(ops_bf16_linear_weight_size(in, out) * sizeof *wp);
    ops_bf16_pack_linear_weight(wt, in, out, wp);
    naive_linear(x, rows, in, wt, bias, out, ref);
    const double tol = SIGMAS * sigma(2, in, 1.0, 0.5) + (in + 1) * ldexp(1.0, -23) * in * 0.5;
    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_linear_bf16(a, isa, x, rows, in, wp, bias, out, y);
    const double e = worst(y, ref, (size_t)rows * out, tol);
    CHECK(rc == 0 && e <= 1.0, "%s linear %dx%d -> %d bias%d: rc %d, error %.3g of the tolerance",
          ops_bf16_isa_name(isa), rows, in, out, has_bias, rc, e);
    CHECK(sd_arena_get_mark(a) == m, "bf16 linear gives its scratch back");
    saw(SEEN_LINEAR, e);
    free(x), free(wt), free(bias), free(y), free(ref), free(wp);
}

static void test_linear(ops_bf16_isa isa, rng *r)
{
    sd_arena a;
    sd_arena_init(&a, 0);
    const int shapes[][4] = {{1, 1, 1, 0},    {3, 5, 7, 1},      {77, 64, 192, 1}, {2, 320, 1280, 0},
                             {64, 40, 3, 1},  {130, 100, 70, 1}, {7, 768, 33, 0},  {300, 320, 96, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_linear(isa, r, &a, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    sd_arena_free(&a);
}

/* ---- GEGLU then linear -------------------------------------------------------------------- */

#define GELU_REL 1.2e-6   /* gelu_erf1's relative error bound (elementwise.c) */

static void check_geglu(ops_bf16_isa isa, rng *r, sd_arena *a, int rows, int d, int out,
                        int has_bias)
{
    float *x = rand_floats(r, (size_t)rows * 2 * d, 3.0f);   /* gates over gelu's bend */
    float *wt = rand_floats(r, (size_t)out * d, 0.5f);
    float *bias = has_bias ? rand_floats(r, (size_t)out, 1.0f) : NULL;
    float *y = rand_floats(r, (size_t)rows * out, 100.0f);
    double *g = xmalloc((size_t)rows * d * sizeof *g), *ref = xmalloc((size_t)rows * out * sizeof *ref);
    uint16_t *wp = xmalloc(ops_bf16_linear_weight_size(d, out) * sizeof *wp);
    ops_bf16_pack_linear_weight(wt, d, out, wp);
    double gmax = 0.0;
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < d; c++) {
            const double v = x[(size_t)i * 2 * d + c], t = x[(size_t)i * 2 * d + d + c];
            g[(size_t)i * d + c] = v * 0.5 * t * (1.0 + erf(t / sqrt(2.0)));
            gmax = fmax(gmax, fabs(g[(size_t)i * d + c]));
        }
    for (int i = 0; i < rows; i++)
        for (int o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < d; c++)
                s += g[(size_t)i * d + c] * wt[(size_t)o * d + c];
            ref[(size_t)i * out + o] = s;
        }
    const double tol = SIGMAS * sigma(2, d, gmax, 0.5) + (d + 1) * ldexp(1.0, -23) * d * gmax * 0.5 +
                       GELU_REL * d * gmax * 0.5;
    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_geglu_linear_bf16(a, isa, x, rows, d, wp, bias, out, y);
    const double e = worst(y, ref, (size_t)rows * out, tol);
    CHECK(rc == 0 && e <= 1.0, "%s geglu linear %dx%d -> %d bias%d: rc %d, error %.3g of the tolerance",
          ops_bf16_isa_name(isa), rows, d, out, has_bias, rc, e);
    CHECK(sd_arena_get_mark(a) == m, "bf16 geglu linear gives its scratch back");
    saw(SEEN_GEGLU, e);
    free(x), free(wt), free(bias), free(y), free(g), free(ref), free(wp);
}

static void test_geglu(ops_bf16_isa isa, rng *r)
{
    sd_arena a;
    sd_arena_init(&a, 0);
    /* d: one value, a tail under 16 lanes, 16 exactly, several blocks and a tail, SD's 1280 */
    const int shapes[][4] = {{1, 1, 1, 0}, {3, 5, 7, 1}, {17, 16, 33, 1}, {64, 40, 48, 0},
                             {130, 100, 70, 1}, {70, 1280, 320, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_geglu(isa, r, &a, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    sd_arena_free(&a);
}

/* ---- attention ------------------------------------------------------------------------- */

static void check_attention(ops_bf16_isa isa, rng *r, sd_arena *a, int nq, int nk, int heads,
                            int d, int causal)
{
    const int inner = heads * d, stride = inner + 3;   /* rows wider than the heads */
    const float qk_amp = 2.0f;
    float *q = rand_floats(r, (size_t)nq * stride, qk_amp), *k = rand_floats(r, (size_t)nk * stride, qk_amp);
    float *v = rand_floats(r, (size_t)nk * stride, 1.0f);
    float *out = rand_floats(r, (size_t)nq * inner, 100.0f);
    double *ref = xmalloc((size_t)nq * inner * sizeof *ref);
    naive_attention(q, stride, k, v, stride, nq, nk, heads, d, causal, ref);
    const double sig_s = sigma(2, d, qk_amp / sqrt((double)d), qk_amp);
    const double tol = 1.0 * (SIGMAS * sig_s + 2.0 * BF16_U) + nk * ldexp(1.0, -23);
    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_attention_bf16(a, isa, q, stride, k, v, stride, nq, nk, heads, d, causal, out);
    const double e = worst(out, ref, (size_t)nq * inner, tol);
    CHECK(rc == 0 && e <= 1.0, "%s attention nq%d nk%d heads%d d%d causal%d: rc %d, error %.3g of the tolerance",
          ops_bf16_isa_name(isa), nq, nk, heads, d, causal, rc, e);
    CHECK(sd_arena_get_mark(a) == m, "bf16 attention gives its scratch back");
    saw(SEEN_ATTENTION, e);
    free(q), free(k), free(v), free(out), free(ref);
}

static void test_attention(ops_bf16_isa isa, rng *r)
{
    sd_arena a;
    sd_arena_init(&a, 0);
    const int cases[][5] = {
        {1, 1, 1, 8, 0},    {6, 64, 1, 40, 0},  {64, 77, 8, 40, 0},   /* cross-attention */
        {77, 77, 4, 16, 1}, /* CLIP causal */   {130, 130, 2, 80, 0}, {9, 300, 1, 160, 0},
        {70, 33, 3, 7, 1},  {256, 256, 1, 512, 0},                     /* the VAE's one head */
        /* several key blocks of the online softmax (256 keys each): whole, partial, causal
         * rows whose keys end inside a block or before it */
        {70, 512, 2, 40, 0}, {130, 1100, 1, 24, 0}, {300, 600, 2, 40, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_attention(isa, r, &a, cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4]);
    sd_arena_free(&a);
}

/* ---- the softmax's exponential -------------------------------------------------------- */

/* Against exp2 in double over the range the softmax sees, x = score - max <= 0: densely on
 * [-1, 0] (the reduced argument's whole range, at 2^-20 steps) and 4096 points in each
 * octave-sized step [-j-1, -j) down to -126 (below it the results are denormal, zero in
 * bf16); past the clamp, and -inf, give 0. */
static void test_exp2(void)
{
#ifdef SD_HAVE_AVX512_BF16
    enum { DENSE = 1 << 20, PER_STEP = 4096, STEPS = 126 };
    const size_t n = DENSE + (size_t)PER_STEP * STEPS;
    float *x = xmalloc(n * sizeof *x), *y = xmalloc(n * sizeof *y);
    for (int i = 0; i < DENSE; i++)
        x[i] = -(float)i / DENSE;
    for (int j = 0; j < STEPS; j++)
        for (int i = 0; i < PER_STEP; i++)
            x[DENSE + (size_t)j * PER_STEP + i] = -(float)j - (float)(i + 1) / PER_STEP;
    ops_bf16_exp2_avx512(x, (int)n, y);
    double worst_rel = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double ref = exp2((double)x[i]), rel = fabs((double)y[i] - ref) / ref;
        worst_rel = rel > worst_rel ? rel : worst_rel;
    }
    CHECK(worst_rel <= EXP2_REL_TOL, "bf16 softmax exp2: relative error %.3g over [-126, 0] (bound %g)",
          worst_rel, EXP2_REL_TOL);
    printf("bf16 softmax exp2: worst relative error %.3g over [-126, 0]\n", worst_rel);
    const float edge[] = {-150.0f, -1000.0f, -3e38f, -INFINITY};
    float out[4];
    ops_bf16_exp2_avx512(edge, 4, out);
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == 0.0f, "bf16 softmax exp2(%g) = %g, not 0", (double)edge[i], (double)out[i]);
    free(x), free(y);
#endif
}

static void test_isa(ops_bf16_isa isa, rng *r)
{
    memset(seen, 0, sizeof seen);
    test_conv(isa, r);
    test_linear(isa, r);
    test_geglu(isa, r);
    test_attention(isa, r);
    for (int i = 0; i < SEEN_KINDS; i++)
        printf("%s %s: worst error %.3f of its tolerance\n", ops_bf16_isa_name(isa), seen_name[i],
               seen[i]);
}

int main(void)
{
    rng r = {0x9E3779B97F4A7C15ull};
    ops_bf16_isa isas[2];
    const int n = bf16_test_isas("ops", isas);
    if (n == 0)
        return CHECK_EXIT_SKIP;
    test_exp2();   /* every CPU with a bf16 kernel has AVX-512, where the softmax runs */
    for (int i = 0; i < n; i++)
        test_isa(isas[i], &r);
    return check_summary();
}
