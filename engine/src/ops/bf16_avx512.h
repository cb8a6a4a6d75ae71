/* fp32 → bf16 rounding sixteen at a time, bit for bit as ops_bf16_round (round to nearest
 * even, NaN kept quiet), for the files built with the bf16 library's -m flags. Not
 * VCVTNEPS2BF16: that one treats denormal inputs as zero. Engine-internal. */
#ifndef SD_OPS_BF16_AVX512_H
#define SD_OPS_BF16_AVX512_H

#include <immintrin.h>

/* The rounded values in the low 16 bits of each 32-bit lane. */
static inline __m512i round16(__m512 x)
{
    const __m512i u = _mm512_castps_si512(x);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    const __m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    const __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(
        _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
}

#endif
