/* ops_exp_nonpos (exp.h) sixteen at a time, for the files built with -mavx512f: the same
 * polynomial and constants, fused multiply-adds. And a coarser 2^x for values that are
 * rounded to bf16 next (the bf16 attention's softmax). Engine-internal. */
#ifndef SD_OPS_EXP_AVX512_H
#define SD_OPS_EXP_AVX512_H

#include <immintrin.h>

#include "ops/exp.h"

static inline __m512 exp_nonpos16(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(OPS_EXP_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(OPS_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(OPS_EXP_LN2_LO), r);
    __m512 u = _mm512_set1_ps(OPS_EXP_P5);
    u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(OPS_EXP_P4));
    u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(OPS_EXP_P3));
    u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(OPS_EXP_P2));
    u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(OPS_EXP_P1));
    u = _mm512_fmadd_ps(u, r, _mm512_set1_ps(OPS_EXP_P0));
    u = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_mul_ps(r, r), u, r));
    const __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(u, _mm512_castsi512_ps(e));
}

/* 2^f on [0, 1) as C0 + f (C1 + f (C2 + f C3)): the cubic of least maximum relative error
 * (Remez; 7.5e-5 in exact arithmetic). */
#define OPS_EXP2_C0 0.999925218566f
#define OPS_EXP2_C1 0.695833540479f
#define OPS_EXP2_C2 0.226067155397f
#define OPS_EXP2_C3 0.0780245226895f
/* Below this, 2^x is zero in the result anyway (2^-150 is under half the least denormal). */
#define OPS_EXP2_MIN (-150.0f)

/* 2^x for x <= 0, within 1e-4 relative (test_ops_bf16 measures it against exp2 in double:
 * the cubic's 7.5e-5 plus fp32 rounding) wherever the result is a normal number (x >=
 * -126). For values rounded to bf16 next: its rounding is up to 2^-9 = 2e-3 relative, 26
 * times more, so this is the exponential of the bf16 softmax, with log2(e) folded into
 * the scores' scale. x = n + f, n = floor(x), f in [0, 1): 2^f by the cubic, times 2^n by
 * VSCALEFPS (exponent arithmetic without integer conversion or overflow: below 2^-126 the
 * result goes denormal, then zero). x is first clamped at OPS_EXP2_MIN, so -inf gives 0
 * rather than inf - inf = NaN. 7 vector instructions, against 15 for exp_nonpos16. */
static inline __m512 exp2_bf16_nonpos16(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(OPS_EXP2_MIN), x);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(OPS_EXP2_C3), f, _mm512_set1_ps(OPS_EXP2_C2));
    u = _mm512_fmadd_ps(u, f, _mm512_set1_ps(OPS_EXP2_C1));
    u = _mm512_fmadd_ps(u, f, _mm512_set1_ps(OPS_EXP2_C0));
    return _mm512_scalef_ps(u, n);
}

#endif
