/* The fused attention tile of ops_attention_avx2.c with 512-bit registers: the same
 * operand layouts and the same arithmetic per value (each score an FMA chain over the
 * head's channels in order, each output an FMA chain over the keys in order, the same
 * exp polynomial), twice the lanes and twice the registers. Compiled with -mavx512f;
 * ops_attention.c calls it only when the CPU (and the OS) run AVX-512. */
#include <immintrin.h>
#include <stddef.h>

#include "ops/exp_avx512.h"
#include "ops/simd.h"

#define ROWS OPS_ATTN_ROWS   /* ACC_ROWS below lists as many */

#define ACC_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* s[r, j .. j+31] = scale · Σ_c qt[c, r] · k[j .., c]: two blocks of 16 keys at once
 * (kb0, kb1 each [d, 16]); with `one`, only the first. */
static void scores_blocks(const float *qt, int d, const float *kb0, const float *kb1, int one,
                          int nk16, int j, float scale, float *s)
{
#define DECL(r) __m512 a##r##0 = _mm512_setzero_ps(), a##r##1 = _mm512_setzero_ps();
    ACC_ROWS(DECL)
#undef DECL
    if (one) {
        for (int c = 0; c < d; c++) {
            const __m512 k0 = _mm512_loadu_ps(kb0 + (size_t)c * 16);
            const float *qc = qt + (size_t)c * ROWS;
#define FMA(r) a##r##0 = _mm512_fmadd_ps(_mm512_set1_ps(qc[r]), k0, a##r##0);
            ACC_ROWS(FMA)
#undef FMA
        }
    } else {
        for (int c = 0; c < d; c++) {
            const __m512 k0 = _mm512_loadu_ps(kb0 + (size_t)c * 16);
            const __m512 k1 = _mm512_loadu_ps(kb1 + (size_t)c * 16);
            const float *qc = qt + (size_t)c * ROWS;
#define FMA(r)                                          \
            {                                           \
                const __m512 b = _mm512_set1_ps(qc[r]); \
                a##r##0 = _mm512_fmadd_ps(b, k0, a##r##0); \
                a##r##1 = _mm512_fmadd_ps(b, k1, a##r##1); \
            }
            ACC_ROWS(FMA)
#undef FMA
        }
    }
    const __m512 sc = _mm512_set1_ps(scale);
#define STORE(r)                                                                     \
    _mm512_storeu_ps(s + (size_t)r * nk16 + j, _mm512_mul_ps(a##r##0, sc));          \
    if (!one)                                                                        \
        _mm512_storeu_ps(s + (size_t)r * nk16 + j + 16, _mm512_mul_ps(a##r##1, sc));
    ACC_ROWS(STORE)
#undef STORE
}

/* s[0..len) = exp(s - max) and s[len..nk) = 0; returns 1 / Σ (the sum in double). */
static float softmax_row(float *s, int len, int nk)
{
    int j = 0;
    __m512 m16 = _mm512_set1_ps(s[0]);
    for (; j + 16 <= len; j += 16)
        m16 = _mm512_max_ps(_mm512_loadu_ps(s + j), m16);
    float m = _mm512_reduce_max_ps(m16);
    for (; j < len; j++)
        m = s[j] > m ? s[j] : m;

    const __m512 mv = _mm512_set1_ps(m);
    __m512d sum_lo = _mm512_setzero_pd(), sum_hi = _mm512_setzero_pd();
    for (j = 0; j + 16 <= len; j += 16) {
        const __m512 e = exp_nonpos16(_mm512_sub_ps(_mm512_loadu_ps(s + j), mv));
        _mm512_storeu_ps(s + j, e);
        sum_lo = _mm512_add_pd(sum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum_hi = _mm512_add_pd(
            sum_hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    double tail = 0.0;
    if (j < len) {   /* the tail through one masked block */
        const __mmask16 k = (__mmask16)((1u << (len - j)) - 1u);
        const __m512 e = exp_nonpos16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mv));
        float t[16];
        _mm512_storeu_ps(t, e);
        for (int l = 0; j + l < len; l++) {
            s[j + l] = t[l];
            tail += (double)t[l];
        }
    }
    for (j = len; j < nk; j++)
        s[j] = 0.0f;
    return (float)(1.0 / (_mm512_reduce_add_pd(_mm512_add_pd(sum_lo, sum_hi)) + tail));
}

/* out[r, c0 .. c0 + w) = inv[r] · Σ_j p[r, j] · vp[j, c0 ..] for w = 16 · blocks columns,
 * the last block masked to `last` columns (blocks 1..3). */
static void pv_blocks(const float *p, int nk16, int nk, const float *vp, int d, int c0,
                      int blocks, __mmask16 last, const float *inv, int rows, float *out,
                      int out_stride)
{
#define DECL(r) __m512 a##r##0 = _mm512_setzero_ps(), a##r##1 = _mm512_setzero_ps(), \
                       a##r##2 = _mm512_setzero_ps();
    ACC_ROWS(DECL)
#undef DECL
    const float *vj = vp + c0;
    const __mmask16 m0 = blocks == 1 ? last : 0xffff, m1 = blocks == 2 ? last : 0xffff;
    if (blocks == 1) {
        for (int j = 0; j < nk; j++, vj += d) {
            const __m512 v0 = _mm512_maskz_loadu_ps(m0, vj);
#define FMA(r) a##r##0 = _mm512_fmadd_ps(_mm512_set1_ps(p[(size_t)r * nk16 + j]), v0, a##r##0);
            ACC_ROWS(FMA)
#undef FMA
        }
    } else if (blocks == 2) {
        for (int j = 0; j < nk; j++, vj += d) {
            const __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_maskz_loadu_ps(m1, vj + 16);
#define FMA(r)                                                          \
            {                                                           \
                const __m512 b = _mm512_set1_ps(p[(size_t)r * nk16 + j]); \
                a##r##0 = _mm512_fmadd_ps(b, v0, a##r##0);              \
                a##r##1 = _mm512_fmadd_ps(b, v1, a##r##1);              \
            }
            ACC_ROWS(FMA)
#undef FMA
        }
    } else {
        for (int j = 0; j < nk; j++, vj += d) {
            const __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + 16);
            const __m512 v2 = _mm512_maskz_loadu_ps(last, vj + 32);
#define FMA(r)                                                          \
            {                                                           \
                const __m512 b = _mm512_set1_ps(p[(size_t)r * nk16 + j]); \
                a##r##0 = _mm512_fmadd_ps(b, v0, a##r##0);              \
                a##r##1 = _mm512_fmadd_ps(b, v1, a##r##1);              \
                a##r##2 = _mm512_fmadd_ps(b, v2, a##r##2);              \
            }
            ACC_ROWS(FMA)
#undef FMA
        }
    }
    float *o = out + c0;
#define STORE(r)                                                                          \
    if (r < rows) {                                                                       \
        const __m512 f = _mm512_set1_ps(inv[r]);                                          \
        float *orow = o + (size_t)r * out_stride;                                         \
        _mm512_mask_storeu_ps(orow, m0, _mm512_mul_ps(a##r##0, f));                       \
        if (blocks > 1)                                                                   \
            _mm512_mask_storeu_ps(orow + 16, m1, _mm512_mul_ps(a##r##1, f));              \
        if (blocks > 2)                                                                   \
            _mm512_mask_storeu_ps(orow + 32, last, _mm512_mul_ps(a##r##2, f));            \
    }
    ACC_ROWS(STORE)
#undef STORE
}

void ops_attention_tile_avx512(const float *q, int q_stride, int rows, int d, const float *kt,
                               int nk, int nk16, const float *vp, float scale, int causal_row0,
                               float *scores, float *qt, float *out, int out_stride)
{
    for (int c = 0; c < d; c++)
        for (int r = 0; r < ROWS; r++)
            qt[(size_t)c * ROWS + r] = r < rows ? q[(size_t)r * q_stride + c] : 0.0f;
    for (int j = 0; j < nk16; j += 32) {
        const int one = j + 16 >= nk16;
        scores_blocks(qt, d, kt + (size_t)j * d, one ? NULL : kt + (size_t)(j + 16) * d, one,
                      nk16, j, scale, scores);
    }

    float inv[ROWS];
    for (int r = 0; r < rows; r++) {
        int len = nk;
        if (causal_row0 >= 0 && causal_row0 + r + 1 < nk)
            len = causal_row0 + r + 1;   /* query i sees keys 0..i */
        inv[r] = softmax_row(scores + (size_t)r * nk16, len, nk);
    }
    for (int c0 = 0; c0 < d; c0 += 48) {   /* up to three blocks of 16 columns */
        const int w = d - c0 < 48 ? d - c0 : 48;
        const int blocks = (w + 15) / 16;
        const int tail = w - 16 * (blocks - 1);
        const __mmask16 last = (__mmask16)(tail == 16 ? 0xffffu : (1u << tail) - 1u);
        pv_blocks(scores, nk16, nk, vp, d, c0, blocks, last, inv, rows, out, out_stride);
    }
}
