/* The fp32 Winograd weight transforms, G g Gᵀ for the 3x3 kernels of one output channel,
 * sixteen input channels at a time in AVX-512: F(2x2, 3x3) (conv_winograd.c's weight_tiles)
 * and F(4x4, 3x3) (winograd4_body.h's w4_weight_tiles, in double). The same operations in
 * the same order (no contraction: the project builds with -ffp-contract=off), so the same
 * values bit for bit; what changes is that the taps are gathered straight from the
 * weight's [ci][9] rows and the 16 or 36 positions stored straight into U's planes, where
 * the generic path copied them through scalar loops and per-position memcpy (2.5 % of the
 * samples of a 512² fp32 U-Net step + VAE decode, 1.6 % after: what is left is writing U).
 * Runs once per call on every weight of the layer. Every
 * vector stays in a register or a named local (no __m512 arrays: GCC gives those aligned
 * moves, and ASan's fake stack only aligns frames to 32 bytes). */
#include <immintrin.h>
#include <stddef.h>

#include "ops/winograd.h"
#include "ops/winograd4.h"

#define LANES 16

/* Lane l: 9 l, the first tap of input channel l in a [ci][9] row. */
static inline __m512i tap0_index(void)
{
    return _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32(9));
}

void ops_winograd_weights_avx512(const float *src, int ci, float *dst, size_t plane)
{
    const __m512 half = _mm512_set1_ps(0.5f);
    const __m512i nine = tap0_index();
    for (int c0 = 0; c0 < ci; c0 += LANES) {
        const int lanes = ci - c0 < LANES ? ci - c0 : LANES;
        const __mmask16 k = (__mmask16)((1u << lanes) - 1u);
        const float *g = src + (size_t)c0 * 9;
        const __m512 zero = _mm512_setzero_ps();
#define TAP(t) \
        const __m512 g##t = _mm512_mask_i32gather_ps(zero, k, \
            _mm512_add_epi32(nine, _mm512_set1_epi32(t)), g, 4);
        TAP(0) TAP(1) TAP(2) TAP(3) TAP(4) TAP(5) TAP(6) TAP(7) TAP(8)
#undef TAP
        /* t<i><c> = (G g)[i][c], as weight_tiles: 0.5 (g_c + g_3+c + g_6+c) ... */
#define GCOL(c, a, b) \
        const __m512 t0##c = g##c; \
        const __m512 t1##c = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(g##c, g##a), g##b)); \
        const __m512 t2##c = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(g##c, g##a), g##b)); \
        const __m512 t3##c = g##b;
        GCOL(0, 3, 6) GCOL(1, 4, 7) GCOL(2, 5, 8)
#undef GCOL
        float *d = dst + c0;
#define PUT(p, v) _mm512_mask_storeu_ps(d + (size_t)(p) * plane, k, v);
#define UROW(i) \
        PUT(4 * i + 0, t##i##0) \
        PUT(4 * i + 1, _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(t##i##0, t##i##1), t##i##2))) \
        PUT(4 * i + 2, _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(t##i##0, t##i##1), t##i##2))) \
        PUT(4 * i + 3, t##i##2)
        UROW(0) UROW(1) UROW(2) UROW(3)
#undef UROW
#undef PUT
    }
}

/* Row j of F(4x4)'s G applied to (a0, a1, a2), in winograd4_body.h's order of operations. */
static inline __attribute__((always_inline)) __m512d g_row(int j, __m512d a0, __m512d a1,
                                                           __m512d a2)
{
    const __m512d third = _mm512_set1_pd(1.0 / 3.0), f15 = _mm512_set1_pd(1.0 / 15.0);
    const __m512d mf15 = _mm512_set1_pd(-(1.0 / 15.0));
    switch (j) {
    case 0:
        return a0;
    case 1:
        return _mm512_mul_pd(third, _mm512_add_pd(_mm512_add_pd(a0, a1), a2));
    case 2:
        return _mm512_mul_pd(third, _mm512_sub_pd(_mm512_sub_pd(a1, a0), a2));
    case 3:
        return _mm512_mul_pd(mf15, _mm512_add_pd(
            _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(16.0), a0),
                          _mm512_mul_pd(_mm512_set1_pd(8.0), a1)),
            _mm512_mul_pd(_mm512_set1_pd(4.0), a2)));
    case 4:
        return _mm512_mul_pd(f15, _mm512_add_pd(
            _mm512_sub_pd(a0, _mm512_mul_pd(_mm512_set1_pd(2.0), a1)),
            _mm512_mul_pd(_mm512_set1_pd(4.0), a2)));
    default:
        return a2;
    }
}

/* Lanes 0-7 (lo) and 8-15 (hi) of a float vector in double. */
static inline __m512d lo_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

static inline __m512d hi_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* Two halves of eight doubles rounded to float, lanes 0-7 from lo. */
static inline __m512 join_ps(__m512d lo, __m512d hi)
{
    const __m512d l = _mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)));
    return _mm512_castpd_ps(_mm512_insertf64x4(l, _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1));
}

void ops_winograd4_weights_avx512(const float *src, int ci, float *dst, size_t plane)
{
    const __m512i nine = tap0_index();
    for (int c0 = 0; c0 < ci; c0 += LANES) {
        const int lanes = ci - c0 < LANES ? ci - c0 : LANES;
        const __mmask16 k = (__mmask16)((1u << lanes) - 1u);
        const float *g = src + (size_t)c0 * 9;
        const __m512 zero = _mm512_setzero_ps();
#define TAP(t) \
        const __m512 g##t = _mm512_mask_i32gather_ps(zero, k, \
            _mm512_add_epi32(nine, _mm512_set1_epi32(t)), g, 4); \
        const __m512d l##t = lo_pd(g##t), h##t = hi_pd(g##t);
        TAP(0) TAP(1) TAP(2) TAP(3) TAP(4) TAP(5) TAP(6) TAP(7) TAP(8)
#undef TAP
        float *d = dst + c0;
        for (int i = 0; i < 6; i++) {
            /* row i of t = G g: columns 0..2, from the kernel's rows (taps c, 3 + c, 6 + c) */
            const __m512d tl0 = g_row(i, l0, l3, l6), th0 = g_row(i, h0, h3, h6);
            const __m512d tl1 = g_row(i, l1, l4, l7), th1 = g_row(i, h1, h4, h7);
            const __m512d tl2 = g_row(i, l2, l5, l8), th2 = g_row(i, h2, h5, h8);
            for (int j = 0; j < 6; j++)   /* u = t Gᵀ */
                _mm512_mask_storeu_ps(d + (size_t)(6 * i + j) * plane, k,
                                      join_ps(g_row(j, tl0, tl1, tl2), g_row(j, th0, th1, th2)));
        }
    }
}
