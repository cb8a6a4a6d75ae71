/* bf16 GEMM with VDPBF16PS (AVX512-BF16), operands in the layouts of gemm_bf16.h.
 * Compiled with -mavx512f -mavx512bf16; gemm_bf16.c calls it only when the CPU runs it.
 *
 * Register tile: MR rows x NB blocks of 16 columns of C held in 24 zmm accumulators. Each
 * k-pair step loads NB zmm of B (one 64-byte row of each block) and broadcasts one 32-bit
 * pair of A per row: 24 dot products per 4 loads + 6 broadcasts. The k loop runs in
 * passes of KC_PAIRS pairs so the NB B blocks of a pass (4 x 8 KB) stay in L1 while the
 * rows of A stream past them; C is re-read between passes (2 loads per 256 products). */
#include <immintrin.h>
#include <string.h>

#include "ops/gemm_bf16.h"

#define MR 6
#define NB 4
#define KC_PAIRS 128

static inline __attribute__((always_inline)) void
tile(int nb, int rows, int pairs, const uint16_t *a, size_t lda, const uint16_t *b,
     size_t block, float *c, size_t ldc, __mmask16 last, int accumulate)
{
    __m512 acc[MR][NB];
    const uint16_t *ar[MR];
    for (int r = 0; r < MR; r++) {
        /* rows past the edge recompute the last one; their sums are never stored */
        ar[r] = a + (size_t)(r < rows ? r : rows - 1) * lda;
        for (int j = 0; j < nb; j++) {
            const __mmask16 mk = j == nb - 1 ? last : (__mmask16)0xffff;
            acc[r][j] = accumulate && r < rows
                            ? _mm512_maskz_loadu_ps(mk, c + (size_t)r * ldc + 16 * j)
                            : _mm512_setzero_ps();
        }
    }
    for (int p = 0; p < pairs; p++) {
        __m512bh bv[NB];
        for (int j = 0; j < nb; j++)
            bv[j] = (__m512bh)_mm512_loadu_si512(b + (size_t)j * block + (size_t)p * 32);
        for (int r = 0; r < MR; r++) {
            int32_t pair;
            memcpy(&pair, ar[r] + 2 * (size_t)p, sizeof pair);
            const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            for (int j = 0; j < nb; j++)
                acc[r][j] = _mm512_dpbf16_ps(acc[r][j], av, bv[j]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nb; j++) {
            const __mmask16 mk = j == nb - 1 ? last : (__mmask16)0xffff;
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * j, mk, acc[r][j]);
        }
}

void ops_gemm_bf16_avx512(int m0, int m1, int n0, int n1, int n, int k, const uint16_t *a,
                          size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate)
{
    (void)n;
    const int pairs = (k + 1) / 2;
    const size_t block = (size_t)ops_bf16_kpad(k) * OPS_BF16_NBLOCK;   /* bf16 per block */
    for (int p0 = 0; p0 < pairs; p0 += KC_PAIRS) {
        const int pc = pairs - p0 < KC_PAIRS ? pairs - p0 : KC_PAIRS;
        const int acc = accumulate || p0 > 0;
        for (int j0 = n0; j0 < n1; j0 += NB * 16) {
            const int cols = n1 - j0 < NB * 16 ? n1 - j0 : NB * 16;
            const int nb = (cols + 15) / 16;
            const __mmask16 last = (__mmask16)((1u << (cols - (nb - 1) * 16)) - 1);
            const uint16_t *bb = b + (size_t)(j0 / 16) * block + (size_t)p0 * 32;
            for (int i0 = m0; i0 < m1; i0 += MR) {
                const int rows = m1 - i0 < MR ? m1 - i0 : MR;
                const uint16_t *ai = a + (size_t)i0 * lda + 2 * (size_t)p0;
                float *ci = c + (size_t)i0 * ldc + j0;
                switch (nb) {   /* one specialised register tile per width */
                case 4: tile(4, rows, pc, ai, lda, bb, block, ci, ldc, last, acc); break;
                case 3: tile(3, rows, pc, ai, lda, bb, block, ci, ldc, last, acc); break;
                case 2: tile(2, rows, pc, ai, lda, bb, block, ci, ldc, last, acc); break;
                default: tile(1, rows, pc, ai, lda, bb, block, ci, ldc, last, acc); break;
                }
            }
        }
    }
}
