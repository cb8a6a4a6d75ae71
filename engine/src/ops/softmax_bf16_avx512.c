/* One key block of the bf16 attention's online softmax (attention_bf16.c), written
 * straight into the rows operand of P · V: per row the block's max updates the running
 * max, then one pass computes exp(s - max) sixteen at a time (exp_avx512.h, the engine's
 * exp polynomial), adds it to the running sum (in double, as ops_softmax_rows) and stores
 * it rounded to bf16; the scores are only read. Compiled with the bf16 library's -m
 * flags. */
#include <string.h>

#include "ops/bf16_avx512.h"
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

/* sum_lo_hi += e, the sixteen values widened to double in two halves. */
static inline void add_halves(__m512d sum_lo_hi[2], __m512 e)
{
    sum_lo_hi[0] = _mm512_add_pd(sum_lo_hi[0], _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    sum_lo_hi[1] = _mm512_add_pd(
        sum_lo_hi[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
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
        rescale[r] = ops_exp_nonpos(m[r] - mn);   /* -inf (no block yet): e^-87, times l = 0 */
        const __m512 mv = _mm512_set1_ps(mn);
        __m512d sum[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
        int j = 0;
        for (; j + 16 <= len; j += 16) {
            const __m512 e = exp_nonpos16(_mm512_sub_ps(_mm512_loadu_ps(sr + j), mv));
            add_halves(sum, e);
            _mm256_storeu_si256((__m256i *)(pr + j), _mm512_cvtepi32_epi16(round16(e)));
        }
        if (j < len) {   /* the tail through one masked block: lanes past it are zero */
            const __mmask16 k = first(len - j);
            const __m512 e = _mm512_maskz_mov_ps(
                k, exp_nonpos16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sr + j), mv)));
            add_halves(sum, e);
            _mm256_mask_storeu_epi16(pr + j, k, _mm512_cvtepi32_epi16(round16(e)));
            j = len;
        }
        memset(pr + j, 0, (ldp - (size_t)j) * sizeof *pr);   /* past the causal limit, pad */
        l[r] = l[r] * rescale[r] + _mm512_reduce_add_pd(_mm512_add_pd(sum[0], sum[1]));
        m[r] = mn;
    }
}
