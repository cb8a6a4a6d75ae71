/* bf16 GEMM with VDPBF16PS (AVX512-BF16), operands in the layouts of gemm_bf16.h.
 * Compiled with -mavx512f -mavx512bf16; gemm_bf16.c calls it only when the CPU runs it.
 *
 * Register tile: MR rows x NB blocks of 16 columns of C held in 24 zmm accumulators. Each
 * k-pair step loads NB zmm of B (one 64-byte row of each block) and broadcasts one 32-bit
 * pair of A per row: 24 dot products per 4 loads + 6 broadcasts. The k loop runs in
 * passes of at most KC_PAIRS pairs: the NB B blocks of a pass (4 x 16 KB) stay in L2 (at
 * 4 loads per 24 products, L2 feeds them fast enough: 128 pairs per pass, L1-sized,
 * measured 3 % slower on a whole U-Net step, C being re-read and re-written once more)
 * while a band of MC rows of A goes past them, and the band stays in L2 while every
 * column block goes by; C is re-read between passes. */
#include <immintrin.h>
#include <string.h>

#include "ops/bf16_avx512.h"
#include "ops/gemm_bf16.h"

#define MR 6
#define NB 4
#define KC_PAIRS 256   /* the most pairs per pass; the passes are of equal depth */
#define MC 96   /* rows of A per band: MC x KC_PAIRS pairs (96 KB) stay in L2 */

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)   /* MR of them */

/* C[rows, 16 nb] (+)= A[rows, 2 pairs] · B[2 pairs, 16 nb], rows <= MR, nb <= NB; the last
 * block's columns masked by `last`. Written out register by register (arrays of __m512
 * would live in memory): rows past `rows` and blocks past `nb` repeat the last real one
 * and are masked off at the load and the store of C. */
static void tile(int nb, int rows, int pairs, const uint16_t *a, size_t lda, const uint16_t *b,
                 size_t block, float *c, size_t ldc, __mmask16 last, int accumulate)
{
    const uint16_t *b0 = b, *b1 = b + (nb > 1 ? 1 : 0) * block,
                   *b2 = b + (nb > 2 ? 2 : nb - 1) * block, *b3 = b + (nb > 3 ? 3 : nb - 1) * block;
    const __mmask16 full = 0xffff;
    const __mmask16 m0 = nb == 1 ? last : full, m1 = nb < 2 ? 0 : nb == 2 ? last : full,
                    m2 = nb < 3 ? 0 : nb == 3 ? last : full, m3 = nb < 4 ? 0 : last;
#define ROW_PTR(r) \
    const uint16_t *a##r = a + (size_t)(r < rows ? r : rows - 1) * lda; \
    float *c##r = c + (size_t)(r < rows ? r : 0) * ldc; \
    const __mmask16 v##r = r < rows ? full : 0;
    ROWS(ROW_PTR)
#undef ROW_PTR
#define INIT(r) \
    __m512 s##r##0 = _mm512_maskz_loadu_ps(accumulate ? v##r & m0 : 0, c##r); \
    __m512 s##r##1 = _mm512_maskz_loadu_ps(accumulate ? v##r & m1 : 0, c##r + 16); \
    __m512 s##r##2 = _mm512_maskz_loadu_ps(accumulate ? v##r & m2 : 0, c##r + 32); \
    __m512 s##r##3 = _mm512_maskz_loadu_ps(accumulate ? v##r & m3 : 0, c##r + 48);
    ROWS(INIT)
#undef INIT
    for (int p = 0; p < pairs; p++) {
        const size_t at = (size_t)p * 32;
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + at);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(b1 + at);
        const __m512bh w2 = (__m512bh)_mm512_loadu_si512(b2 + at);
        const __m512bh w3 = (__m512bh)_mm512_loadu_si512(b3 + at);
#define DOT(r) \
        { \
            int32_t pair; \
            memcpy(&pair, a##r + 2 * (size_t)p, sizeof pair); \
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair); \
            s##r##0 = _mm512_dpbf16_ps(s##r##0, x, w0); \
            s##r##1 = _mm512_dpbf16_ps(s##r##1, x, w1); \
            s##r##2 = _mm512_dpbf16_ps(s##r##2, x, w2); \
            s##r##3 = _mm512_dpbf16_ps(s##r##3, x, w3); \
        }
        ROWS(DOT)
#undef DOT
    }
#define STORE(r) \
    _mm512_mask_storeu_ps(c##r, v##r & m0, s##r##0); \
    _mm512_mask_storeu_ps(c##r + 16, v##r & m1, s##r##1); \
    _mm512_mask_storeu_ps(c##r + 32, v##r & m2, s##r##2); \
    _mm512_mask_storeu_ps(c##r + 48, v##r & m3, s##r##3);
    ROWS(STORE)
#undef STORE
}

void ops_gemm_bf16_avx512(int m0, int m1, int n0, int n1, int n, int k, const uint16_t *a,
                          size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate)
{
    (void)n;
    const int pairs = (k + 1) / 2;
    const size_t block = (size_t)ops_bf16_kpad(k) * OPS_BF16_NBLOCK;   /* bf16 per block */
    /* passes of equal depth: no short last pass that re-reads and re-writes all of C */
    const int passes = (pairs + KC_PAIRS - 1) / KC_PAIRS;
    const int kc = (pairs + passes - 1) / passes;
    for (int p0 = 0; p0 < pairs; p0 += kc) {
        const int pc = pairs - p0 < kc ? pairs - p0 : kc;
        const int acc = accumulate || p0 > 0;
        for (int ib = m0; ib < m1; ib += MC) {
            const int ie = m1 - ib < MC ? m1 : ib + MC;
            for (int j0 = n0; j0 < n1; j0 += NB * 16) {
                const int cols = n1 - j0 < NB * 16 ? n1 - j0 : NB * 16;
                const int nb = (cols + 15) / 16;
                const __mmask16 last = (__mmask16)((1u << (cols - (nb - 1) * 16)) - 1);
                const uint16_t *bb = b + (size_t)(j0 / 16) * block + (size_t)p0 * 32;
                for (int i0 = ib; i0 < ie; i0 += MR) {
                    const int rows = ie - i0 < MR ? ie - i0 : MR;
                    tile(nb, rows, pc, a + (size_t)i0 * lda + 2 * (size_t)p0, lda, bb, block,
                         c + (size_t)i0 * ldc + j0, ldc, last, acc);
                }
            }
        }
    }
}

/* ---- packing: fp32 → bf16 sixteen at a time, bit for bit as ops_bf16_round -------------- */

static inline __mmask16 first(int count)   /* lanes 0 .. count-1, count <= 16 */
{
    return (__mmask16)((1u << count) - 1);
}

void ops_bf16_pack_row_avx512(const float *src, int k, uint16_t *dst, size_t lda)
{
    int j = 0;
    for (; j + 16 <= k; j += 16)
        _mm256_storeu_si256((__m256i *)(dst + j),
                            _mm512_cvtepi32_epi16(round16(_mm512_loadu_ps(src + j))));
    if (j < k)
        _mm256_mask_storeu_epi16(dst + j, first(k - j),
                                 _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(first(k - j), src + j))));
    memset(dst + k, 0, (lda - (size_t)k) * sizeof *dst);
}

void ops_bf16_pack_pair_avx512(const float *k0, const float *k1, int n, uint16_t *dst,
                               size_t block)
{
    const int nb = ops_bf16_nblocks(n);
    for (int b = 0; b < nb; b++) {
        const int cols = n - 16 * b < 16 ? n - 16 * b : 16;
        const __mmask16 mk = first(cols);
        const __m512i lo = round16(_mm512_maskz_loadu_ps(mk, k0 + 16 * b));
        const __m512i hi = k1 ? round16(_mm512_maskz_loadu_ps(mk, k1 + 16 * b)) : _mm512_setzero_si512();
        _mm512_storeu_si512(dst + (size_t)b * block, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
}
