/* One key block of the bf16 attention's online softmax (attention_bf16.c), written
 * straight into the rows operand of P · V: per row the block's max updates the running
 * max, then one pass computes 2^(s - max) sixteen at a time (the scores come scaled by
 * log2(e), so this is e^(score - max); exp2_bf16_nonpos16 in exp_avx512.h, within 1e-4
 * relative, 26 times under bf16's rounding), adds it to the block's sum and stores it
 * rounded to bf16; the scores are only read.
 *  - The rounding is VCVTNEPS2BF16 (round to nearest even, as ops_bf16_round): it treats
 *    denormal inputs as zero, which only 2^x below 2^-126 are (zero next to the row's
 *    max, 1, in any softmax); scores are finite.
 *  - A block's sum (at most 256 values <= 1) is added in sixteen fp32 lanes (relative
 *    error under 16 · 2^-24, far below bf16's 2^-9), the blocks' sums in double.
 * Compiled with the bf16 library's -m flags. */
#include <math.h>
#include <string.h>

#include "ops/exp_avx512.h"
#include "ops/gemm_bf16.h"

static inline __mmask16 first(int count)   /* lanes 0 .. count-1, count <= 16 */
{
    return (__mmask16)((1u << count) - 1u);
}

static float row_max(const float *s, int len)
{
    __m512 m16 = _mm512_set1_ps(s[0]);
    int j = 0;
    for (; j + 16 <= len; j += 16)
        m16 = _mm512_max_ps(_mm512_loadu_ps(s + j), m16);
    if (j < len)
        m16 = _mm512_mask_max_ps(m16, first(len - j), _mm512_maskz_loadu_ps(first(len - j), s + j),
                                 m16);
    return _mm512_reduce_max_ps(m16);
}

void ops_bf16_softmax_block_avx512(const float *s, int rows, int n, int row0, int col0,
                                   int causal, float *m, double *l, float *rescale, uint16_t *p,
                                   size_t ldp)
{
    for (int r = 0; r < rows; r++) {
        const float *sr = s + (size_t)r * n;
        uint16_t *pr = p + (size_t)r * ldp;
        int len = n;
        if (causal) {   /* query row0 + r sees keys 0 .. row0 + r */
            len = row0 + r + 1 - col0;
            len = len < 0 ? 0 : len > n ? n : len;
        }
        if (len == 0) {   /* no key of this block: nothing changes */
            memset(pr, 0, ldp * sizeof *pr);
            rescale[r] = 1.0f;
            continue;
        }
        const float bm = row_max(sr, len), mn = bm > m[r] ? bm : m[r];
        rescale[r] = exp2f(m[r] - mn);   /* -inf (no block yet): 0, times l = 0 */
        const __m512 mv = _mm512_set1_ps(mn);
        __m512 sum = _mm512_setzero_ps();
        int j = 0;
        for (; j + 16 <= len; j += 16) {
            const __m512 e = exp2_bf16_nonpos16(_mm512_sub_ps(_mm512_loadu_ps(sr + j), mv));
            sum = _mm512_add_ps(sum, e);
            _mm256_storeu_si256((__m256i *)(pr + j), (__m256i)_mm512_cvtneps_pbh(e));
        }
        if (j < len) {   /* the tail through one masked block: lanes past it are zero */
            const __mmask16 k = first(len - j);
            const __m512 e = _mm512_maskz_mov_ps(
                k, exp2_bf16_nonpos16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sr + j), mv)));
            sum = _mm512_add_ps(sum, e);
            _mm256_mask_storeu_epi16(pr + j, k, (__m256i)_mm512_cvtneps_pbh(e));
            j = len;
        }
        memset(pr + j, 0, (ldp - (size_t)j) * sizeof *pr);   /* past the causal limit, pad */
        l[r] = l[r] * rescale[r] + (double)_mm512_reduce_add_ps(sum);
        m[r] = mn;
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
