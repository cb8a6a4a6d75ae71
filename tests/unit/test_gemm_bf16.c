/* The bf16 GEMM kernels (ops/gemm_bf16.h) against naive loops, over many shapes, odd
 * ones included (m, n, k not multiples of the register or tile blocks), for every kernel
 * this CPU runs; a kernel the CPU lacks is reported as SKIP, and with none at all the test
 * exits 77 (meson's SKIP). Also the fp32 → bf16 rounding, bit for bit.
 *
 * Two references per product:
 *  1. the same bf16-rounded inputs multiplied in double: only the kernel's fp32
 *     accumulation differs, so |C - ref| <= K · 2^-23 · Σ_k |a_k b_k| (a crude γ_K bound:
 *     each of K fp32 additions loses at most one half-ulp, 2^-24, of a partial sum no
 *     larger than Σ|a b|; the factor 2 covers the pairwise sums inside VDPBF16PS).
 *     This catches any indexing error, however small its effect;
 *  2. the unrounded fp32 inputs in double (what the fp32 path computes): the bf16 error.
 *     Rounding to bf16 (8 significant bits) changes each input by a factor (1 + δ),
 *     |δ| <= u = 2^-9, uniform and independent for random data, so each product a·b moves
 *     by a·b·(δa + δb) with variance <= (2 u² / 3)·(a b)² and a sum of K of them has
 *     σ <= u · √(2K / 3) · max|a| · max|b|. The tolerance is 6σ (a 6-sigma excursion has
 *     probability 2e-9 per element; these tests check about 10^6 elements) plus bound 1.
 *
 * With SD_NO_BF16=1 in the environment the test checks that no kernel is offered (the
 * forced fallback to the fp32 path) and exits. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "naive_ops.h"
#include "core/float_bits.h"
#include "ops/gemm_bf16.h"
#include "ops/parallel.h"

#define BF16_U (1.0 / 512.0)   /* 2^-9: half an ulp of bf16's 8-bit significand at 1.0 */
#define SIGMAS 6.0

static float bf16_value(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

static void test_rounding(void)
{
    const struct {
        uint32_t in;
        uint16_t want;
    } cases[] = {
        {0x3f800000u, 0x3f80},   /* 1.0 exact */
        {0x3f808000u, 0x3f80},   /* tie, kept lsb even: down */
        {0x3f818000u, 0x3f82},   /* tie, kept lsb odd: up */
        {0x3f808001u, 0x3f81},   /* just above the tie: up */
        {0x3f807fffu, 0x3f80},   /* just below: down */
        {0xbf808001u, 0xbf81},   /* negative, away from zero */
        {0x7f7fffffu, 0x7f80},   /* FLT_MAX rounds to infinity, as RNE does */
        {0x7f800000u, 0x7f80},   /* +inf */
        {0xff800000u, 0xff80},   /* -inf */
        {0x00000001u, 0x0000},   /* smallest denormal: to zero */
        {0x80000000u, 0x8000},   /* -0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = ops_bf16_round(f32_from_bits(cases[i].in));
        CHECK(got == cases[i].want, "bf16 round %08x: got %04x want %04x", cases[i].in, got,
              cases[i].want);
    }
    uint16_t nan = ops_bf16_round(f32_from_bits(0x7f800001u));   /* signalling NaN */
    CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0, "bf16 round of a NaN is a NaN (%04x)",
          nan);
}

/* The packed operands read back: every element where the layout says. */
static void test_layout(rng *r)
{
    const int m = 3, n = 19, k = 37, kpad = ops_bf16_kpad(k);
    float *src = rand_floats(r, (size_t)k * n, 1.0f), *srct = xmalloc((size_t)n * k * sizeof *srct);
    for (int kk = 0; kk < k; kk++)
        for (int j = 0; j < n; j++)
            srct[(size_t)j * k + kk] = src[(size_t)kk * n + j];
    uint16_t *b = xmalloc(ops_bf16_cols_size(k, n) * sizeof *b);
    uint16_t *bt = xmalloc(ops_bf16_cols_size(k, n) * sizeof *bt);
    ops_bf16_pack_cols(src, k, n, (size_t)n, b);
    ops_bf16_pack_cols_t(srct, k, n, (size_t)k, bt);
    int bad = 0;
    for (int kk = 0; kk < kpad; kk++)
        for (int j = 0; j < ops_bf16_nblocks(n) * 16; j++) {
            size_t at = (size_t)(j / 16) * kpad * 16 + (size_t)(kk / 2) * 32 + (j % 16) * 2 + kk % 2;
            uint16_t want = kk < k && j < n ? ops_bf16_round(src[(size_t)kk * n + j]) : 0;
            bad += b[at] != want || bt[at] != want;
        }
    CHECK(bad == 0, "cols layout [%d x %d]: %d elements misplaced", k, n, bad);
    uint16_t *a = xmalloc((size_t)m * (kpad + 2) * sizeof *a);
    ops_bf16_pack_rows(src, m, k, (size_t)n, a, (size_t)kpad + 2);
    bad = 0;
    for (int i = 0; i < m; i++)
        for (int kk = 0; kk < kpad + 2; kk++)
            bad += a[(size_t)i * (kpad + 2) + kk] !=
                   (kk < k ? ops_bf16_round(src[(size_t)i * n + kk]) : 0);
    CHECK(bad == 0, "rows layout [%d x %d]: %d elements misplaced", m, k, bad);
    free(src), free(srct), free(b), free(bt), free(a);
}

typedef struct {
    int m, n, k;
    int accumulate;
} gemm_case;

static void test_gemm_case(ops_bf16_isa isa, rng *r, const gemm_case *gc, int threaded)
{
    const int m = gc->m, n = gc->n, k = gc->k, kpad = ops_bf16_kpad(k);
    const size_t lda = (size_t)kpad + 32, ldc = (size_t)n + 3;   /* strides wider than rows */
    float *a = rand_floats(r, (size_t)m * k, 1.0f), *b = rand_floats(r, (size_t)k * n, 0.5f);
    float *c = rand_floats(r, (size_t)m * ldc, 1.0f), *c0 = xmalloc((size_t)m * ldc * sizeof *c0);
    memcpy(c0, c, (size_t)m * ldc * sizeof *c0);
    uint16_t *ap = xmalloc((size_t)m * lda * sizeof *ap);
    uint16_t *bp = xmalloc(ops_bf16_cols_size(k, n) * sizeof *bp);
    ops_bf16_pack_rows(a, m, k, (size_t)k, ap, lda);
    ops_bf16_pack_cols(b, k, n, (size_t)n, bp);
    if (threaded)
        ops_gemm_bf16(isa, m, n, k, ap, lda, bp, c, ldc, gc->accumulate);
    else
        ops_gemm_bf16_serial(isa, m, n, k, ap, lda, bp, c, ldc, gc->accumulate);

    double worst_exact = 0.0, worst_bf16 = 0.0;   /* error / allowed */
    int untouched = 1;
    const double amax = 1.0, bmax = 0.5;
    const double tol_bf16 = SIGMAS * BF16_U * sqrt(2.0 * k / 3.0) * amax * bmax;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double exact = gc->accumulate ? c0[(size_t)i * ldc + j] : 0.0, full = exact, mag = 0.0;
            for (int kk = 0; kk < k; kk++) {
                double ab = (double)bf16_value(ap[(size_t)i * lda + kk]) *
                            bf16_value(ops_bf16_round(b[(size_t)kk * n + j]));
                exact += ab;
                mag += fabs(ab);
                full += (double)a[(size_t)i * k + kk] * b[(size_t)kk * n + j];
            }
            const double got = c[(size_t)i * ldc + j];
            const double bound = (k + 1) * ldexp(1.0, -23) * (mag + fabs(exact)) + 1e-30;
            const double e1 = fabs(got - exact) / bound, e2 = fabs(got - full) / (tol_bf16 + bound);
            worst_exact = e1 > worst_exact || isnan(e1) ? (isnan(e1) ? INFINITY : e1) : worst_exact;
            worst_bf16 = e2 > worst_bf16 || isnan(e2) ? (isnan(e2) ? INFINITY : e2) : worst_bf16;
        }
        for (size_t j = (size_t)n; j < ldc; j++)   /* the stride's gap stays as it was */
            untouched &= c[(size_t)i * ldc + j] == c0[(size_t)i * ldc + j];
    }
    CHECK(worst_exact <= 1.0, "%s %s m=%d n=%d k=%d acc=%d: vs bf16 inputs %.3g of the fp32 bound",
          ops_bf16_isa_name(isa), threaded ? "threaded" : "serial", m, n, k, gc->accumulate,
          worst_exact);
    CHECK(worst_bf16 <= 1.0, "%s %s m=%d n=%d k=%d acc=%d: vs fp32 inputs %.3g of the bf16 tolerance",
          ops_bf16_isa_name(isa), threaded ? "threaded" : "serial", m, n, k, gc->accumulate,
          worst_bf16);
    CHECK(untouched, "%s m=%d n=%d k=%d: wrote past n", ops_bf16_isa_name(isa), m, n, k);
    free(a), free(b), free(c), free(c0), free(ap), free(bp);
}

static void test_gemm(ops_bf16_isa isa, rng *r)
{
    const gemm_case cases[] = {
        {1, 1, 1, 0},     {1, 1, 1, 1},    {5, 7, 3, 0},     {6, 16, 32, 0},   {7, 17, 33, 1},
        {16, 16, 32, 0},  {17, 31, 31, 0}, {32, 32, 64, 1},  {33, 65, 70, 0},  {13, 64, 64, 1},
        {100, 48, 320, 0}, {6, 200, 257, 1}, {45, 130, 600, 0}, {2, 3, 1100, 1},
        {40, 77, 40, 0},  {77, 40, 77, 0},  /* attention's Q·Kᵀ and P·V with a 40-wide head */
        {64, 4, 36, 0},   /* conv_in: 4 channels x 3x3 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_gemm_case(isa, r, &cases[i], 0);
    /* large enough to split over the workers, both ways; 1100 pairs cross KC passes */
    const gemm_case split[] = {{200, 70, 1100, 0}, {70, 300, 500, 1}, {193, 190, 129, 1}};
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++)
        test_gemm_case(isa, r, &split[i], 1);
}

int main(void)
{
    rng r = {0x2545F4914F6CDD1Dull};
    test_rounding();
    test_layout(&r);
    const ops_bf16_isa best = ops_bf16_best();
    const char *no_bf16 = getenv("SD_NO_BF16");
    if (no_bf16 && *no_bf16 && strcmp(no_bf16, "0") != 0) {
        CHECK(best == OPS_BF16_NONE, "SD_NO_BF16 set, yet %s offered", ops_bf16_isa_name(best));
        return check_summary();
    }
    ops_bf16_isa isas[2];
    const int n = bf16_test_isas("kernel", isas);
    if (n == 0) {
        check_summary();   /* the rounding and layout checks above ran */
        return CHECK_EXIT_SKIP;
    }
    for (int i = 0; i < n; i++)
        test_gemm(isas[i], &r);
    printf("bf16 kernels tested: %s%s (workers %d)\n", best == OPS_BF16_AMX ? "amx-bf16, " : "",
           "avx512-bf16", ops_workers());
    return check_summary();
}
