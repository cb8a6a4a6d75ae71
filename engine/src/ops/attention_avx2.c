/* Fused attention tile for AVX2 + FMA: scores, softmax and the product with V for a few
 * query rows at a time, so the score rows ([6, nk], 96 KB at 4096 tokens) stay in L2
 * and the short GEMMs (k = head_dim = 40) that OpenBLAS runs poorly become register-
 * blocked loops. Compiled with -mavx2 -mfma; ops_attention.c calls it only when the
 * CPU has them. */
#include <immintrin.h>
#include <stddef.h>

#include "ops/exp.h"
#include "ops/simd.h"

#define ROWS OPS_ATTN_ROWS   /* ACC_ROWS below lists as many */

/* e^x for x <= 0, eight at a time: ops_exp_nonpos (ops_exp.h) with FMAs. x is clamped
 * at -87 with the constant first, so a NaN passes through (maxps returns its second
 * operand when either is NaN) and a broken score still shows up as NaN downstream. */
static inline __m256 exp_nonpos8(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(OPS_EXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(OPS_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(OPS_EXP_LN2_LO), r);
    __m256 u = _mm256_set1_ps(OPS_EXP_P5);
    u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(OPS_EXP_P4));
    u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(OPS_EXP_P3));
    u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(OPS_EXP_P2));
    u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(OPS_EXP_P1));
    u = _mm256_fmadd_ps(u, r, _mm256_set1_ps(OPS_EXP_P0));
    u = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_mul_ps(r, r), u, r));
    const __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(u, _mm256_castsi256_ps(e));
}

/* The accumulators are named variables, not an array: GCC keeps an array of __m256 in
 * memory and stores it back on every iteration. */
#define ACC_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* s[r, j .. j+15] = scale · Σ_c qt[c, r] · k[j .., c] for the ROWS rows; kb is the
 * block of keys j .. j+15, [d, 16]. */
static void scores_block(const float *qt, int d, const float *kb, int nk16, int j, float scale,
                         float *s)
{
#define DECL(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = _mm256_setzero_ps();
    ACC_ROWS(DECL)
#undef DECL
    for (int c = 0; c < d; c++) {
        const float *kr = kb + (size_t)c * 16;
        const float *qc = qt + (size_t)c * ROWS;
        const __m256 k0 = _mm256_loadu_ps(kr), k1 = _mm256_loadu_ps(kr + 8);
#define FMA(r)                                              \
        {                                                   \
            const __m256 b = _mm256_broadcast_ss(qc + r);   \
            a##r##0 = _mm256_fmadd_ps(b, k0, a##r##0);      \
            a##r##1 = _mm256_fmadd_ps(b, k1, a##r##1);      \
        }
        ACC_ROWS(FMA)
#undef FMA
    }
    const __m256 sc = _mm256_set1_ps(scale);
#define STORE(r)                                                                    \
    _mm256_storeu_ps(s + (size_t)r * nk16 + j, _mm256_mul_ps(a##r##0, sc));         \
    _mm256_storeu_ps(s + (size_t)r * nk16 + j + 8, _mm256_mul_ps(a##r##1, sc));
    ACC_ROWS(STORE)
#undef STORE
}

/* s[0..len) = exp(s - max) and s[len..nk) = 0; returns 1 / Σ (the sum in double). */
static float softmax_row(float *s, int len, int nk)
{
    int j = 0;
    __m256 m8 = _mm256_set1_ps(s[0]);
    for (; j + 8 <= len; j += 8)
        m8 = _mm256_max_ps(_mm256_loadu_ps(s + j), m8);
    float lane[8];
    _mm256_storeu_ps(lane, m8);
    float m = lane[0];
    for (int l = 1; l < 8; l++)
        m = lane[l] > m ? lane[l] : m;
    for (; j < len; j++)
        m = s[j] > m ? s[j] : m;

    const __m256 mv = _mm256_set1_ps(m);
    __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
    for (j = 0; j + 8 <= len; j += 8) {
        const __m256 e = exp_nonpos8(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
        _mm256_storeu_ps(s + j, e);
        sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    if (j < len) {   /* the tail through one padded block */
        float t[8] = {0};
        for (int l = 0; j + l < len; l++)
            t[l] = s[j + l] - m;
        _mm256_storeu_ps(t, exp_nonpos8(_mm256_loadu_ps(t)));
        for (int l = 0; j + l < len; l++) {
            s[j + l] = t[l];
            sum_lo = _mm256_add_pd(sum_lo, _mm256_set_pd(0.0, 0.0, 0.0, (double)t[l]));
        }
    }
    for (j = len; j < nk; j++)
        s[j] = 0.0f;
    double d4[4];
    _mm256_storeu_pd(d4, _mm256_add_pd(sum_lo, sum_hi));
    return (float)(1.0 / ((d4[0] + d4[1]) + (d4[2] + d4[3])));
}

/* out[r, c0 .. c0 + 16) = inv[r] · Σ_j p[r, j] · vp[j, c0 ..]; with `half`, only
 * c0 .. c0 + 8 (d = 40 ends on a half block). */
static void pv_block(const float *p, int nk16, int nk, const float *vp, int d, int c0,
                     int half, const float *inv, int rows, float *out, int out_stride)
{
#define DECL(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = _mm256_setzero_ps();
    ACC_ROWS(DECL)
#undef DECL
    const float *vj = vp + c0;
    if (half) {
        for (int j = 0; j < nk; j++, vj += d) {
            const __m256 v0 = _mm256_loadu_ps(vj);
#define FMA(r) \
    a##r##0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + (size_t)r * nk16 + j), v0, a##r##0);
            ACC_ROWS(FMA)
#undef FMA
        }
    } else {
        for (int j = 0; j < nk; j++, vj += d) {
            const __m256 v0 = _mm256_loadu_ps(vj), v1 = _mm256_loadu_ps(vj + 8);
#define FMA(r)                                                              \
            {                                                               \
                const __m256 b = _mm256_broadcast_ss(p + (size_t)r * nk16 + j); \
                a##r##0 = _mm256_fmadd_ps(b, v0, a##r##0);                  \
                a##r##1 = _mm256_fmadd_ps(b, v1, a##r##1);                  \
            }
            ACC_ROWS(FMA)
#undef FMA
        }
    }
    float *o = out + c0;
#define STORE(r)                                                                   \
    if (r < rows) {                                                                \
        const __m256 f = _mm256_set1_ps(inv[r]);                                   \
        _mm256_storeu_ps(o + (size_t)r * out_stride, _mm256_mul_ps(a##r##0, f));   \
        if (!half)                                                                 \
            _mm256_storeu_ps(o + (size_t)r * out_stride + 8, _mm256_mul_ps(a##r##1, f)); \
    }
    ACC_ROWS(STORE)
#undef STORE
}

void ops_attention_tile_avx2(const float *q, int q_stride, int rows, int d, const float *kt,
                             int nk, int nk16, const float *vp, float scale, int causal_row0,
                             float *scores, float *qt, float *out, int out_stride)
{
    /* qt [d, ROWS]: the tile's queries transposed, so each k step broadcasts from one line;
     * rows past `rows` are zero and their results are never stored. */
    for (int c = 0; c < d; c++)
        for (int r = 0; r < ROWS; r++)
            qt[(size_t)c * ROWS + r] = r < rows ? q[(size_t)r * q_stride + c] : 0.0f;
    for (int j = 0; j < nk16; j += 16)
        scores_block(qt, d, kt + (size_t)j * d, nk16, j, scale, scores);

    float inv[ROWS];
    for (int r = 0; r < rows; r++) {
        int len = nk;
        if (causal_row0 >= 0 && causal_row0 + r + 1 < nk)
            len = causal_row0 + r + 1;   /* query i sees keys 0..i */
        inv[r] = softmax_row(scores + (size_t)r * nk16, len, nk);
    }
    for (int c0 = 0; c0 < d; c0 += 16)   /* d is a multiple of 8 */
        pv_block(scores, nk16, nk, vp, d, c0, d - c0 < 16, inv, rows, out, out_stride);
}
