/* The bf16 Winograd F(2x2, 3x3)'s input and output transforms (conv_winograd.c) sixteen
 * tiles at a time, built with the bf16 library's -m flags. Same operations in the same
 * order as conv_winograd.c's transform_channel / transform_output (adds and subtracts
 * only, nothing to contract), so the same values bit for bit; what changes is that the
 * input transform writes its bf16 values straight into the products' cols operand (no
 * fp32 V planes and no second packing pass) and neither transform splits rows through
 * scalar loops. Every vector stays in a register or a named local (no __m512 arrays:
 * GCC gives those aligned moves, and ASan's fake stack only aligns frames to 32 bytes). */
#include <stddef.h>
#include <stdint.h>

#include "ops/bf16_avx512.h"
#include "ops/winograd.h"

#define LANES 16

/* Lanes j with 0 <= s0 + j < w: the columns of a row that a load at column s0 may read. */
static inline __mmask16 cols_mask(int s0, int w)
{
    const int lo = s0 < 0 ? -s0 : 0, hi = w - s0 < LANES ? w - s0 : LANES;
    if (hi <= lo)
        return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Columns s0 .. s0+15 of a row, zero outside 0 .. w-1 and for a row outside the image
 * (row NULL). Masked lanes are not read. */
static inline __m512 load_cols(const float *row, int s0, int w)
{
    const __mmask16 k = row ? cols_mask(s0, w) : 0;
    return k ? _mm512_maskz_loadu_ps(k, row + s0) : _mm512_setzero_ps();
}

/* The 32 bf16 element lanes of 16 dword lanes: bit j of m to bits 2j (half 0) or
 * 2j + 1 (half 1). */
static inline __mmask32 half_mask(unsigned m, int half)
{
    uint32_t x = m & 0xffffu;
    x = (x | x << 8) & 0x00ff00ffu;
    x = (x | x << 4) & 0x0f0f0f0fu;
    x = (x | x << 2) & 0x33333333u;
    x = (x | x << 1) & 0x55555555u;
    return (__mmask32)(x << half);
}

/* Tile values v (lane l: tile l of a run of nt tiles at column `col` of the cols operand)
 * into half `half` of their pair row: block col / 16, lane col % 16 onwards, the run
 * rotated across two blocks when it does not start a block. */
static inline __attribute__((always_inline)) void store_half(uint16_t *dst, size_t block, int col, int nt, int half, __m512 v)
{
    __m512i r = round16(v);
    if (half)
        r = _mm512_slli_epi32(r, 16);
    const int s = col % LANES;
    uint16_t *b0 = dst + (size_t)(col / LANES) * block;
    const unsigned run = (1u << nt) - 1u;   /* nt <= 16 lanes */
    if (s == 0) {
        _mm512_mask_storeu_epi16(b0, half_mask(run, half), r);
        return;
    }
    /* lane j of the rotated vector = tile (j - s) mod 16 */
    const __m512i rot = _mm512_and_si512(
        _mm512_sub_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(s)),
        _mm512_set1_epi32(LANES - 1));
    r = _mm512_permutexvar_epi32(rot, r);
    const unsigned first = (run << s) & 0xffffu, second = run >> (LANES - s);
    _mm512_mask_storeu_epi16(b0, half_mask(first, half), r);
    if (second)
        _mm512_mask_storeu_epi16(b0 + block, half_mask(second, half), r);
}

/* G g Gᵀ, G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], for 16 input channels of one output channel:
 * conv_winograd.c's weight_tiles in the same order of operations. The 3x3 kernels are
 * gathered from the rows operand [ci][9] (bf16): tap 0 as the low half of the dword at
 * its element, every other tap as the high half of the dword before it, so no gather
 * reads outside the row's 9 ci values. */
void ops_winograd_bf16_weights_avx512(const uint16_t *src, int ci, uint16_t *dst,
                                      size_t plane)
{
    const __m512 half = _mm512_set1_ps(0.5f);
    const __m512i nine = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(9));
    const __m512i hi16 = _mm512_set1_epi32((int)0xffff0000u);
    for (int c0 = 0; c0 < ci; c0 += LANES) {
        const int lanes = ci - c0 < LANES ? ci - c0 : LANES;
        const __mmask16 k = (__mmask16)((1u << lanes) - 1u);
        const uint16_t *g = src + (size_t)c0 * 9;
        const __m512i zero = _mm512_setzero_si512();
        const __m512 g0 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_mask_i32gather_epi32(zero, k, nine, g, 2), 16));
#define TAP(t) \
        const __m512 g##t = _mm512_castsi512_ps(_mm512_and_si512( \
            _mm512_mask_i32gather_epi32(zero, k, _mm512_add_epi32(nine, _mm512_set1_epi32(t - 1)), g, 2), \
            hi16));
        TAP(1) TAP(2) TAP(3) TAP(4) TAP(5) TAP(6) TAP(7) TAP(8)
#undef TAP
        /* t<i><k> = (G g)[i][k] */
#define GCOL(c) \
        const __m512 t0##c = g##c; \
        const __m512 t1##c = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(g##c, GP3_##c), GP6_##c)); \
        const __m512 t2##c = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(g##c, GP3_##c), GP6_##c)); \
        const __m512 t3##c = GP6_##c;
#define GP3_0 g3
#define GP3_1 g4
#define GP3_2 g5
#define GP6_0 g6
#define GP6_1 g7
#define GP6_2 g8
        GCOL(0) GCOL(1) GCOL(2)
#undef GCOL
#undef GP3_0
#undef GP3_1
#undef GP3_2
#undef GP6_0
#undef GP6_1
#undef GP6_2
        uint16_t *d = dst + c0;
#define PUT(p, v) \
        _mm256_mask_storeu_epi16(d + (size_t)(p) * plane, k, _mm512_cvtepi32_epi16(round16(v)));
#define UROW(i) \
        PUT(4 * i + 0, t##i##0) \
        PUT(4 * i + 1, _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(t##i##0, t##i##1), t##i##2))) \
        PUT(4 * i + 2, _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(t##i##0, t##i##1), t##i##2))) \
        PUT(4 * i + 3, t##i##2)
        UROW(0) UROW(1) UROW(2) UROW(3)
#undef UROW
#undef PUT
    }
}

void ops_winograd_bf16_input_avx512(const float *x, int h, int w, int ty0, int tb, int tw,
                                    int col0, int half, uint16_t *dst, size_t plane,
                                    size_t block)
{
    /* even / odd lanes of two concatenated vectors */
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int ty = 0; ty < tb; ty++) {
        const int iy0 = 2 * (ty0 + ty) - 1;
        const float *row0 = iy0 >= 0 && iy0 < h ? x + (size_t)iy0 * w : NULL;
        const float *row1 = iy0 + 1 < h ? x + (size_t)(iy0 + 1) * w : NULL;   /* iy0 + 1 >= 0 */
        const float *row2 = iy0 + 2 < h ? x + (size_t)(iy0 + 2) * w : NULL;
        const float *row3 = iy0 + 3 < h ? x + (size_t)(iy0 + 3) * w : NULL;
        for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
            const int nt = tw - tx0 < LANES ? tw - tx0 : LANES, s0 = 2 * tx0 - 1;
            /* d<r><q>: row r, column 2 tx - 1 + q of the 16 tiles tx0 .. tx0+15 */
#define ROW(r) \
            const __m512 a##r = load_cols(row##r, s0, w), b##r = load_cols(row##r, s0 + 16, w); \
            const __m512 c##r = load_cols(row##r, s0 + 2, w), e##r = load_cols(row##r, s0 + 18, w); \
            const __m512 d##r##0 = _mm512_permutex2var_ps(a##r, ie, b##r); \
            const __m512 d##r##1 = _mm512_permutex2var_ps(a##r, io, b##r); \
            const __m512 d##r##2 = _mm512_permutex2var_ps(c##r, ie, e##r); \
            const __m512 d##r##3 = _mm512_permutex2var_ps(c##r, io, e##r);
            ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
            /* t = Bᵀ d, then each row of t times B, as transform_channel */
#define TCOL(q) \
            const __m512 t0##q = _mm512_sub_ps(d0##q, d2##q), t1##q = _mm512_add_ps(d1##q, d2##q); \
            const __m512 t2##q = _mm512_sub_ps(d2##q, d1##q), t3##q = _mm512_sub_ps(d1##q, d3##q);
            TCOL(0) TCOL(1) TCOL(2) TCOL(3)
#undef TCOL
            const int col = col0 + ty * tw + tx0;
#define TROW(i) \
            store_half(dst + (size_t)(4 * i + 0) * plane, block, col, nt, half, \
                       _mm512_sub_ps(t##i##0, t##i##2)); \
            store_half(dst + (size_t)(4 * i + 1) * plane, block, col, nt, half, \
                       _mm512_add_ps(t##i##1, t##i##2)); \
            store_half(dst + (size_t)(4 * i + 2) * plane, block, col, nt, half, \
                       _mm512_sub_ps(t##i##2, t##i##1)); \
            store_half(dst + (size_t)(4 * i + 3) * plane, block, col, nt, half, \
                       _mm512_sub_ps(t##i##1, t##i##3));
            TROW(0) TROW(1) TROW(2) TROW(3)
#undef TROW
        }
    }
}

void ops_winograd_bf16_output_avx512(const float *m, size_t plane, int ty0, int tb, int tw,
                                     float bias, int h, int w, float *y)
{
    /* lanes 0-7 / 8-15 of two vectors interleaved: a0 b0 a1 b1 ... */
    const __m512i ilo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i ihi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 vb = _mm512_set1_ps(bias);
    for (int ty = 0; ty < tb; ty++) {
        const float *mt = m + (size_t)ty * tw;
        const int oy = 2 * (ty0 + ty);
        float *yrow0 = y + (size_t)oy * w, *yrow1 = yrow0 + w;
        for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
            const int nt = tw - tx0 < LANES ? tw - tx0 : LANES;
            const __mmask16 k = (__mmask16)((1u << nt) - 1u);
            const float *src = mt + tx0;
#define LOAD(i) \
            const __m512 m##i##0 = _mm512_maskz_loadu_ps(k, src + (size_t)(4 * i + 0) * plane); \
            const __m512 m##i##1 = _mm512_maskz_loadu_ps(k, src + (size_t)(4 * i + 1) * plane); \
            const __m512 m##i##2 = _mm512_maskz_loadu_ps(k, src + (size_t)(4 * i + 2) * plane); \
            const __m512 m##i##3 = _mm512_maskz_loadu_ps(k, src + (size_t)(4 * i + 3) * plane);
            LOAD(0) LOAD(1) LOAD(2) LOAD(3)
#undef LOAD
            /* t = Aᵀ m, Aᵀ = [1 1 1 0; 0 1 -1 -1], as transform_output */
#define TCOL(j) \
            const __m512 t0##j = _mm512_add_ps(_mm512_add_ps(m0##j, m1##j), m2##j); \
            const __m512 t1##j = _mm512_sub_ps(_mm512_sub_ps(m1##j, m2##j), m3##j);
            TCOL(0) TCOL(1) TCOL(2) TCOL(3)
#undef TCOL
#define OUT_ROW(i, yrow) \
            { \
                const __m512 even = _mm512_add_ps( \
                    _mm512_add_ps(_mm512_add_ps(t##i##0, t##i##1), t##i##2), vb); \
                const __m512 odd = _mm512_add_ps( \
                    _mm512_sub_ps(_mm512_sub_ps(t##i##1, t##i##2), t##i##3), vb); \
                _mm512_mask_storeu_ps(yrow + 2 * tx0, cols_mask(2 * tx0, w), \
                                      _mm512_permutex2var_ps(even, ilo, odd)); \
                _mm512_mask_storeu_ps(yrow + 2 * tx0 + LANES, cols_mask(2 * tx0 + LANES, w), \
                                      _mm512_permutex2var_ps(even, ihi, odd)); \
            }
            OUT_ROW(0, yrow0)
            if (oy + 1 < h)
                OUT_ROW(1, yrow1)
#undef OUT_ROW
        }
    }
}
