/* One key block of the bf16 attention's online softmax (attention_bf16.c), on the scores
 * transposed (a row per key, a column per query), written straight into the cols operand
 * of Oᵀ = Vᵀ · P: every step works on sixteen queries at once, down their columns, so
 * the running max, the sums and the rescaling are plain vector operations (no horizontal
 * reductions, no per-row scalar state). Per block of sixteen queries: the block's max
 * over its keys updates the running max, then one pass computes 2^(s - max) for two keys
 * at a time (the scores come scaled by log2(e), so this is e^(score - max);
 * exp2_bf16_nonpos16 in exp_avx512.h, within 1e-4 relative, 26 times under bf16's
 * rounding), adds them to the sums and stores them rounded to bf16, interleaved as the
 * pair (k, k+1) of the cols layout; the scores are only read.
 *  - The rounding is VCVTNE2PS2BF16 (round to nearest even, as ops_bf16_round): it treats
 *    denormal inputs as zero, which only 2^x below 2^-126 are (zero next to the row's
 *    max, 1, in any softmax); scores are finite.
 *  - A block's sum (at most 256 values <= 1 per query) is added in fp32 lanes (relative
 *    error under 256 · 2^-24, far below bf16's 2^-9), the blocks' sums in double.
 * Compiled with the bf16 library's -m flags. */
#include <math.h>
#include <string.h>

#include "ops/exp_avx512.h"
#include "ops/gemm_bf16.h"

static inline __mmask16 first(int count)   /* lanes 0 .. count-1, count <= 16 */
{
    return (__mmask16)((1u << count) - 1u);
}

/* The queries (lanes) of column block `qcol` (first query index) that see key `key`:
 * all, or with causal those at or after it. */
static inline __mmask16 sees(int causal, int qcol, int key)
{
    if (!causal || key <= qcol)
        return 0xffff;
    return key - qcol >= 16 ? 0 : (__mmask16)~first(key - qcol);
}

/* Lanes i and i+16 of a 32-word vector side by side: (k, k+1) pairs of sixteen columns. */
static inline __m512i pair_index(void)
{
    return _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                            22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
}

/* Lanes 8 h .. 8 h + 7 (AVX-512F only: VEXTRACTF32X8 would need DQ). */
static inline __m256 half(__m512 x, int h)
{
    return h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))
             : _mm512_castps512_ps256(x);
}

void ops_bf16_softmax_block_avx512(const float *s, size_t lds, int len, int vlen, int nc,
                                   int row0, int col0, int causal, float *m, double *l,
                                   float *o, int d, size_t ldo, uint16_t *p)
{
    const __m512i interleave = pair_index();
    const int pairs = (len + 1) / 2, vpairs = ops_bf16_kpad(vlen) / 2;
    const size_t block = (size_t)ops_bf16_kpad(vlen) * OPS_BF16_NBLOCK;
    for (int cb = 0; cb < nc / 16; cb++) {
        const int c0 = cb * 16, qcol = row0 + c0;
        const float *sc = s + c0;
        uint16_t *pb = p + (size_t)cb * block;
        /* the running max: two chains (even and odd keys) */
        const __m512 m_old = _mm512_loadu_ps(m + c0);
        __m512 mx0 = m_old, mx1 = m_old;
        int j = 0;
        for (; j + 1 < len; j += 2) {
            mx0 = _mm512_mask_max_ps(mx0, sees(causal, qcol, col0 + j), mx0,
                                     _mm512_loadu_ps(sc + (size_t)j * lds));
            mx1 = _mm512_mask_max_ps(mx1, sees(causal, qcol, col0 + j + 1), mx1,
                                     _mm512_loadu_ps(sc + (size_t)(j + 1) * lds));
        }
        if (j < len)
            mx0 = _mm512_mask_max_ps(mx0, sees(causal, qcol, col0 + j), mx0,
                                     _mm512_loadu_ps(sc + (size_t)j * lds));
        /* every query sees key 0 (in the first block): the max is finite from then on */
        const __m512 mx = _mm512_max_ps(mx0, mx1);
        const __m512 rescale = exp2_bf16_nonpos16(_mm512_sub_ps(m_old, mx));   /* -inf: 0 */
        __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
        for (int q = 0; q < pairs; q++) {
            const int k0 = 2 * q, k1 = 2 * q + 1;
            const __m512 e0 = _mm512_maskz_mov_ps(
                sees(causal, qcol, col0 + k0),
                exp2_bf16_nonpos16(_mm512_sub_ps(_mm512_loadu_ps(sc + (size_t)k0 * lds), mx)));
            const __m512 e1 = k1 < len ? _mm512_maskz_mov_ps(sees(causal, qcol, col0 + k1),
                                                             exp2_bf16_nonpos16(_mm512_sub_ps(
                                                                 _mm512_loadu_ps(sc + (size_t)k1 * lds), mx)))
                                       : _mm512_setzero_ps();
            sum0 = _mm512_add_ps(sum0, e0);
            sum1 = _mm512_add_ps(sum1, e1);
            _mm512_storeu_si512(pb + (size_t)q * 32,
                                _mm512_permutexvar_epi16(interleave,
                                                         (__m512i)_mm512_cvtne2ps_pbh(e1, e0)));
        }
        /* keys past the causal limit and the padding up to the operand's depth: zero */
        if (pairs < vpairs)
            memset(pb + (size_t)pairs * 32, 0, (size_t)(vpairs - pairs) * 32 * sizeof *pb);
        /* l = l · rescale + the block's sum (in double), m = the new max */
        const __m512 sum = _mm512_add_ps(sum0, sum1);
        for (int h = 0; h < 2; h++) {
            const __m256 r8 = half(rescale, h), s8 = half(sum, h);
            const __m512d lv = _mm512_loadu_pd(l + c0 + 8 * h);
            _mm512_storeu_pd(l + c0 + 8 * h,
                             _mm512_fmadd_pd(lv, _mm512_cvtps_pd(r8), _mm512_cvtps_pd(s8)));
        }
        _mm512_storeu_ps(m + c0, mx);
        if (o)   /* the output so far, Oᵀ [d][ldo], times rescale */
            for (int c = 0; c < d; c++)
                _mm512_storeu_ps(o + (size_t)c * ldo + c0,
                                 _mm512_mul_ps(rescale, _mm512_loadu_ps(o + (size_t)c * ldo + c0)));
    }
}

void ops_bf16_scale_rows_avx512(const float *x, size_t ldx, int rows, int n, const float *factor,
                                float *y, size_t ldy)
{
    const __mmask16 tail = first(n % 16);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *yr = y + (size_t)r * ldy;
        const __m512 f = _mm512_set1_ps(factor[r]);
        int c = 0;
        for (; c + 16 <= n; c += 16)
            _mm512_storeu_ps(yr + c, _mm512_mul_ps(f, _mm512_loadu_ps(xr + c)));
        if (c < n)
            _mm512_mask_storeu_ps(yr + c, tail, _mm512_mul_ps(f, _mm512_maskz_loadu_ps(tail, xr + c)));
    }
}

void ops_bf16_exp2_avx512(const float *x, int n, float *y)
{
    int j = 0;
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(y + j, exp2_bf16_nonpos16(_mm512_loadu_ps(x + j)));
    if (j < n)
        _mm512_mask_storeu_ps(y + j, first(n - j),
                              exp2_bf16_nonpos16(_mm512_maskz_loadu_ps(first(n - j), x + j)));
}
