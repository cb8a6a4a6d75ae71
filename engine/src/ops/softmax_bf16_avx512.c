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

/* e = 2^(s - mx) for the queries that see key `key` (zero for the others). */
static inline __m512 prob(const float *srow, __m512 mx, int causal, int qcol, int key)
{
    const __m512 e = exp2_bf16_nonpos16(_mm512_sub_ps(_mm512_loadu_ps(srow), mx));
    return causal ? _mm512_maskz_mov_ps(sees(1, qcol, key), e) : e;
}

/* One column block of sixteen queries (ops_bf16_softmax_block_avx512 below); inlined
 * twice, with causal 0 and 1, so the common case carries no masks or branches. */
static inline __attribute__((always_inline)) void
column_block(const float *sc, size_t lds, int len, int vpairs, int qcol, int col0, int causal,
             __m512i interleave, float *mc, double *lc, float *oc, int d, size_t ldo, uint16_t *pb)
{
    /* the running max: two chains (even and odd keys) */
    const __m512 m_old = _mm512_loadu_ps(mc);
    __m512 mx0 = m_old, mx1 = m_old;
    int j = 0;
    for (; j + 1 < len; j += 2) {
        const __m512 a = _mm512_loadu_ps(sc + (size_t)j * lds);
        const __m512 b = _mm512_loadu_ps(sc + (size_t)(j + 1) * lds);
        if (causal) {
            mx0 = _mm512_mask_max_ps(mx0, sees(1, qcol, col0 + j), mx0, a);
            mx1 = _mm512_mask_max_ps(mx1, sees(1, qcol, col0 + j + 1), mx1, b);
        } else {
            mx0 = _mm512_max_ps(mx0, a);
            mx1 = _mm512_max_ps(mx1, b);
        }
    }
    if (j < len)
        mx0 = _mm512_mask_max_ps(mx0, sees(causal, qcol, col0 + j), mx0,
                                 _mm512_loadu_ps(sc + (size_t)j * lds));
    /* every query sees key 0 (in the first block): the max is finite from then on */
    const __m512 mx = _mm512_max_ps(mx0, mx1);
    const __m512 rescale = exp2_bf16_nonpos16(_mm512_sub_ps(m_old, mx));   /* -inf: 0 */
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    int q = 0;
    for (; 2 * q + 1 < len; q++) {   /* keys 2q and 2q+1 into pair q */
        const __m512 e0 = prob(sc + (size_t)(2 * q) * lds, mx, causal, qcol, col0 + 2 * q);
        const __m512 e1 = prob(sc + (size_t)(2 * q + 1) * lds, mx, causal, qcol, col0 + 2 * q + 1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
        _mm512_storeu_si512(pb + (size_t)q * 32,
                            _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(e1, e0)));
    }
    if (2 * q < len) {   /* an odd last key: its pair's second half zero */
        const __m512 e0 = prob(sc + (size_t)(2 * q) * lds, mx, causal, qcol, col0 + 2 * q);
        sum0 = _mm512_add_ps(sum0, e0);
        _mm512_storeu_si512(pb + (size_t)q * 32,
                            _mm512_permutexvar_epi16(interleave,
                                                     (__m512i)_mm512_cvtne2ps_pbh(_mm512_setzero_ps(), e0)));
        q++;
    }
    /* keys past the causal limit and the padding up to the operand's depth: zero */
    if (q < vpairs)
        memset(pb + (size_t)q * 32, 0, (size_t)(vpairs - q) * 32 * sizeof *pb);
    /* l = l · rescale + the block's sum (in double), m = the new max */
    const __m512 sum = _mm512_add_ps(sum0, sum1);
    for (int h = 0; h < 2; h++) {
        const __m256 r8 = half(rescale, h), s8 = half(sum, h);
        const __m512d lv = _mm512_loadu_pd(lc + 8 * h);
        _mm512_storeu_pd(lc + 8 * h, _mm512_fmadd_pd(lv, _mm512_cvtps_pd(r8), _mm512_cvtps_pd(s8)));
    }
    _mm512_storeu_ps(mc, mx);
    if (oc)   /* the output so far, Oᵀ [d][ldo], times rescale */
        for (int c = 0; c < d; c++)
            _mm512_storeu_ps(oc + (size_t)c * ldo,
                             _mm512_mul_ps(rescale, _mm512_loadu_ps(oc + (size_t)c * ldo)));
}

void ops_bf16_softmax_block_avx512(const float *s, size_t lds, int len, int vlen, int nc,
                                   int row0, int col0, int causal, float *m, double *l,
                                   float *o, int d, size_t ldo, uint16_t *p)
{
    const __m512i interleave = pair_index();
    const int vpairs = ops_bf16_kpad(vlen) / 2;
    const size_t block = (size_t)ops_bf16_kpad(vlen) * OPS_BF16_NBLOCK;
    for (int cb = 0; cb < nc / 16; cb++) {
        const int c0 = cb * 16;
        if (causal)
            column_block(s + c0, lds, len, vpairs, row0 + c0, col0, 1, interleave, m + c0, l + c0,
                         o ? o + c0 : NULL, d, ldo, p + (size_t)cb * block);
        else
            column_block(s + c0, lds, len, vpairs, row0 + c0, col0, 0, interleave, m + c0, l + c0,
                         o ? o + c0 : NULL, d, ldo, p + (size_t)cb * block);
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

/* 16 x 16 floats transposed in registers (unpack, shuffle, two 128-bit lane shuffles):
 * x0..x15 the rows in, the columns out. Named registers, not an array (an array of
 * __m512 lives on the stack, 64-byte aligned: see geglu_bf16_avx512.c). */
#define TRANSPOSE16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15) \
    do { \
        __m512 t0 = _mm512_unpacklo_ps(x0, x1), t1 = _mm512_unpackhi_ps(x0, x1); \
        __m512 t2 = _mm512_unpacklo_ps(x2, x3), t3 = _mm512_unpackhi_ps(x2, x3); \
        __m512 t4 = _mm512_unpacklo_ps(x4, x5), t5 = _mm512_unpackhi_ps(x4, x5); \
        __m512 t6 = _mm512_unpacklo_ps(x6, x7), t7 = _mm512_unpackhi_ps(x6, x7); \
        __m512 t8 = _mm512_unpacklo_ps(x8, x9), t9 = _mm512_unpackhi_ps(x8, x9); \
        __m512 t10 = _mm512_unpacklo_ps(x10, x11), t11 = _mm512_unpackhi_ps(x10, x11); \
        __m512 t12 = _mm512_unpacklo_ps(x12, x13), t13 = _mm512_unpackhi_ps(x12, x13); \
        __m512 t14 = _mm512_unpacklo_ps(x14, x15), t15 = _mm512_unpackhi_ps(x14, x15); \
        x0 = _mm512_shuffle_ps(t0, t2, 0x44), x1 = _mm512_shuffle_ps(t0, t2, 0xee); \
        x2 = _mm512_shuffle_ps(t1, t3, 0x44), x3 = _mm512_shuffle_ps(t1, t3, 0xee); \
        x4 = _mm512_shuffle_ps(t4, t6, 0x44), x5 = _mm512_shuffle_ps(t4, t6, 0xee); \
        x6 = _mm512_shuffle_ps(t5, t7, 0x44), x7 = _mm512_shuffle_ps(t5, t7, 0xee); \
        x8 = _mm512_shuffle_ps(t8, t10, 0x44), x9 = _mm512_shuffle_ps(t8, t10, 0xee); \
        x10 = _mm512_shuffle_ps(t9, t11, 0x44), x11 = _mm512_shuffle_ps(t9, t11, 0xee); \
        x12 = _mm512_shuffle_ps(t12, t14, 0x44), x13 = _mm512_shuffle_ps(t12, t14, 0xee); \
        x14 = _mm512_shuffle_ps(t13, t15, 0x44), x15 = _mm512_shuffle_ps(t13, t15, 0xee); \
        t0 = _mm512_shuffle_f32x4(x0, x4, 0x88), t1 = _mm512_shuffle_f32x4(x1, x5, 0x88); \
        t2 = _mm512_shuffle_f32x4(x2, x6, 0x88), t3 = _mm512_shuffle_f32x4(x3, x7, 0x88); \
        t4 = _mm512_shuffle_f32x4(x0, x4, 0xdd), t5 = _mm512_shuffle_f32x4(x1, x5, 0xdd); \
        t6 = _mm512_shuffle_f32x4(x2, x6, 0xdd), t7 = _mm512_shuffle_f32x4(x3, x7, 0xdd); \
        t8 = _mm512_shuffle_f32x4(x8, x12, 0x88), t9 = _mm512_shuffle_f32x4(x9, x13, 0x88); \
        t10 = _mm512_shuffle_f32x4(x10, x14, 0x88), t11 = _mm512_shuffle_f32x4(x11, x15, 0x88); \
        t12 = _mm512_shuffle_f32x4(x8, x12, 0xdd), t13 = _mm512_shuffle_f32x4(x9, x13, 0xdd); \
        t14 = _mm512_shuffle_f32x4(x10, x14, 0xdd), t15 = _mm512_shuffle_f32x4(x11, x15, 0xdd); \
        x0 = _mm512_shuffle_f32x4(t0, t8, 0x88), x1 = _mm512_shuffle_f32x4(t1, t9, 0x88); \
        x2 = _mm512_shuffle_f32x4(t2, t10, 0x88), x3 = _mm512_shuffle_f32x4(t3, t11, 0x88); \
        x4 = _mm512_shuffle_f32x4(t4, t12, 0x88), x5 = _mm512_shuffle_f32x4(t5, t13, 0x88); \
        x6 = _mm512_shuffle_f32x4(t6, t14, 0x88), x7 = _mm512_shuffle_f32x4(t7, t15, 0x88); \
        x8 = _mm512_shuffle_f32x4(t0, t8, 0xdd), x9 = _mm512_shuffle_f32x4(t1, t9, 0xdd); \
        x10 = _mm512_shuffle_f32x4(t2, t10, 0xdd), x11 = _mm512_shuffle_f32x4(t3, t11, 0xdd); \
        x12 = _mm512_shuffle_f32x4(t4, t12, 0xdd), x13 = _mm512_shuffle_f32x4(t5, t13, 0xdd); \
        x14 = _mm512_shuffle_f32x4(t6, t14, 0xdd), x15 = _mm512_shuffle_f32x4(t7, t15, 0xdd); \
    } while (0)

void ops_bf16_transpose_avx512(const float *x, size_t ldx, int rows, int cols, const float *scale,
                               float *y, size_t ldy)
{
    for (int r0 = 0; r0 < rows; r0 += 16) {
        const int rn = rows - r0 < 16 ? rows - r0 : 16;
        const __mmask16 rmask = first(rn);
        for (int c0 = 0; c0 < cols; c0 += 16) {
            const int cn = cols - c0 < 16 ? cols - c0 : 16;
            const __mmask16 cmask = first(cn);
            const float *xb = x + (size_t)r0 * ldx + c0;
            const __m512 f = scale ? _mm512_maskz_loadu_ps(cmask, scale + c0) : _mm512_set1_ps(1.0f);
            /* rows past rn: zero (a load with an empty mask touches no memory) */
#define LOAD(i) __m512 x##i = _mm512_mul_ps(f, _mm512_maskz_loadu_ps(i < rn ? cmask : 0, \
                                                                   xb + (size_t)(i < rn ? i : 0) * ldx));
            LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
            LOAD(8) LOAD(9) LOAD(10) LOAD(11) LOAD(12) LOAD(13) LOAD(14) LOAD(15)
#undef LOAD
            TRANSPOSE16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15);
            float *yb = y + (size_t)c0 * ldy + r0;
#define STORE(i) if (i < cn) _mm512_mask_storeu_ps(yb + (size_t)i * ldy, rmask, x##i);
            STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
            STORE(8) STORE(9) STORE(10) STORE(11) STORE(12) STORE(13) STORE(14) STORE(15)
#undef STORE
        }
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
