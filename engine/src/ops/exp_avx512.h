/* ops_exp_nonpos (exp.h) sixteen at a time, for the files built with -mavx512f: the same
 * polynomial and constants, fused multiply-adds. Engine-internal. */
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

#endif
