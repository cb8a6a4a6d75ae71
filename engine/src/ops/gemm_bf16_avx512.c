/* bf16 GEMM with VDPBF16PS (AVX512-BF16), operands in the layouts of gemm_bf16.h.
 * Compiled with -mavx512f -mavx512bf16; gemm_bf16.c calls it only when the CPU runs it.
 *
 * Register tile: MR rows x NB blocks of 16 columns of C held in zmm accumulators, 6 x 4,
 * 8 x 3 or 12 x 2 (24 of them), 12 x 1. Each k-pair step loads NB zmm of B (one 64-byte row
 * of each block) and broadcasts one 32-bit pair of A per row: 24 dot products per 4 loads
 * + 6 broadcasts (6 x 4). A column range is cut into groups of 4 blocks, its tail into 3,
 * 2 or 1 with the tile of that width, so no product is computed for a block past the range
 * (attention's p·v, 40 columns, is 3 blocks: with one 6 x 4 tile a quarter of its products
 * were thrown away). The k loop runs in
 * passes of at most KC_PAIRS pairs: the NB B blocks of a pass (4 x 16 KB) stay in L2 (at
 * 4 loads per 24 products, L2 feeds them fast enough: 128 pairs per pass, L1-sized,
 * measured 3 % slower on a whole U-Net step, C being re-read and re-written once more)
 * while a band of MC rows of A goes past them, and the band stays in L2 while every
 * column block goes by; C is re-read between passes.
 * Each element's sum runs over the k pairs in order, one VDPBF16PS per pair, whichever
 * tile computes it: the values do not depend on the tiling. */
#include <immintrin.h>
#include <string.h>

#include "ops/bf16_avx512.h"
#include "ops/gemm_bf16.h"

#define MAX_NB 4   /* column blocks per tile */
#define KC_PAIRS 256   /* the most pairs per pass; the passes are of equal depth */
#define MC 96   /* rows of A per band: MC x KC_PAIRS pairs (96 KB) stay in L2; a multiple of
                   every tile's row count */

/* Rows per tile for nb column blocks: 24 accumulators where the blocks allow (6 x 4, 8 x 3,
 * 12 x 2), 12 for one block (each of its pair steps is 12 broadcasts and one load). */
static int tile_rows(int nb)
{
    return nb == 4 ? 6 : nb == 3 ? 8 : 12;
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)   /* 12 at most */

/* C[rows, 16 nb] (+)= A[rows, pairs] · B[pairs, 16 nb], rows <= MR_, nb == NB_, the last
 * block's columns masked by `last`. MR_, NB_ and ZERO_ (start from zero, not from C) are
 * constants where tile() is inlined, so each instance keeps only its own MR_ x NB_
 * accumulators, in registers (arrays of __m512 would live in memory). Rows past `rows`
 * repeat the last real one and are masked off at the load and the store of C. `next`:
 * the C of the tile that comes next (NULL if none), prefetched for writing while this one
 * multiplies: C comes from memory (the image or the tokens of a whole layer) and its
 * misses would otherwise stall the start and the end of every tile. */
static inline __attribute__((always_inline)) void
tile(const int MR_, const int NB_, const int ZERO_, int rows, int pairs, const uint16_t *a,
     size_t lda, const uint16_t *b, size_t block, float *c, size_t ldc, __mmask16 last,
     const float *next)
{
    const __mmask16 full = 0xffff;
    const __mmask16 m0 = NB_ == 1 ? last : full, m1 = NB_ == 2 ? last : full,
                    m2 = NB_ == 3 ? last : full, m3 = last;
    const uint16_t *b0 = b, *b1 = b + block, *b2 = b + 2 * block, *b3 = b + 3 * block;
    if (next)
        for (int r = 0; r < MR_; r++)
            for (int j = 0; j < NB_; j++)
                __builtin_prefetch(next + (size_t)r * ldc + 16 * j, 1, 3);
#define ROW_PTR(r) \
    const uint16_t *a##r = a + (size_t)(r < rows ? r : rows - 1) * lda; \
    float *c##r = c + (size_t)(r < rows ? r : 0) * ldc; \
    const __mmask16 v##r = r < rows ? full : 0;
    ROWS(ROW_PTR)
#undef ROW_PTR
#define INIT1(r, j) \
    __m512 s##r##j = _mm512_setzero_ps(); \
    if (!ZERO_ && r < MR_ && j < NB_) \
        s##r##j = _mm512_maskz_loadu_ps(v##r & m##j, c##r + 16 * j);
#define INIT(r) INIT1(r, 0) INIT1(r, 1) INIT1(r, 2) INIT1(r, 3)
    ROWS(INIT)
#undef INIT
#undef INIT1
    for (int p = 0; p < pairs; p++) {
        const size_t at = (size_t)p * 32;
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + at);
        const __m512bh w1 = NB_ > 1 ? (__m512bh)_mm512_loadu_si512(b1 + at) : w0;
        const __m512bh w2 = NB_ > 2 ? (__m512bh)_mm512_loadu_si512(b2 + at) : w0;
        const __m512bh w3 = NB_ > 3 ? (__m512bh)_mm512_loadu_si512(b3 + at) : w0;
#define DOT1(r, j) \
        if (j < NB_) \
            s##r##j = _mm512_dpbf16_ps(s##r##j, x, w##j);
#define DOT(r) \
        if (r < MR_) { \
            int32_t pair; \
            memcpy(&pair, a##r + 2 * (size_t)p, sizeof pair); \
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair); \
            DOT1(r, 0) DOT1(r, 1) DOT1(r, 2) DOT1(r, 3) \
        }
        ROWS(DOT)
#undef DOT
#undef DOT1
    }
#define STORE1(r, j) \
    if (r < MR_ && j < NB_) \
        _mm512_mask_storeu_ps(c##r + 16 * j, v##r & m##j, s##r##j);
#define STORE(r) STORE1(r, 0) STORE1(r, 1) STORE1(r, 2) STORE1(r, 3)
    ROWS(STORE)
#undef STORE
#undef STORE1
}

/* The instances: nb blocks (1 .. MAX_NB), from zero or from C. */
#define TILE_ARGS int rows, int pairs, const uint16_t *a, size_t lda, const uint16_t *b, \
                  size_t block, float *c, size_t ldc, __mmask16 last, const float *next
#define TILE_PASS rows, pairs, a, lda, b, block, c, ldc, last, next
#define INSTANCE(nb, mr) \
    static void tile##nb##_zero(TILE_ARGS) { tile(mr, nb, 1, TILE_PASS); } \
    static void tile##nb##_acc(TILE_ARGS) { tile(mr, nb, 0, TILE_PASS); }
INSTANCE(1, 12)
INSTANCE(2, 12)
INSTANCE(3, 8)
INSTANCE(4, 6)
#undef INSTANCE

typedef void (*tile_fn)(TILE_ARGS);
static const tile_fn tiles_zero[MAX_NB] = {tile1_zero, tile2_zero, tile3_zero, tile4_zero};
static const tile_fn tiles_acc[MAX_NB] = {tile1_acc, tile2_acc, tile3_acc, tile4_acc};

/* Blocks in the column group that starts `left` blocks before the end: groups of 4, but
 * 5 left go as 3 + 2 (24 accumulators each) rather than 4 + 1 (then 12). */
static int group_blocks(int left)
{
    return left == 5 ? 3 : left < MAX_NB ? left : MAX_NB;
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
    const int nblocks = (n1 - n0 + 15) / 16;
    for (int p0 = 0; p0 < pairs; p0 += kc) {
        const int pc = pairs - p0 < kc ? pairs - p0 : kc;
        const tile_fn *fns = accumulate || p0 > 0 ? tiles_acc : tiles_zero;
        for (int ib = m0; ib < m1; ib += MC) {
            const int ie = m1 - ib < MC ? m1 : ib + MC;
            for (int jb = 0, nb; jb < nblocks; jb += nb) {
                nb = group_blocks(nblocks - jb);
                const int j0 = n0 + 16 * jb, cols = n1 - j0 < 16 * nb ? n1 - j0 : 16 * nb;
                const __mmask16 last = (__mmask16)((1u << (cols - (nb - 1) * 16)) - 1);
                const uint16_t *bb = b + (size_t)(j0 / 16) * block + (size_t)p0 * 32;
                const int mr = tile_rows(nb);
                const tile_fn fn = fns[nb - 1];
                for (int i0 = ib; i0 < ie; i0 += mr) {
                    const int rows = ie - i0 < mr ? ie - i0 : mr;
                    float *ct = c + (size_t)i0 * ldc + j0;
                    fn(rows, pc, a + (size_t)i0 * lda + 2 * (size_t)p0, lda, bb, block, ct, ldc,
                       last, i0 + mr < ie ? ct + (size_t)mr * ldc : NULL);
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

/* One column's 32 values from k0 (lanes lo, hi of the two halves; zero elsewhere), rounded
 * into 16 pair words: word q = bf16(row[2q]) | bf16(row[2q + 1]) << 16. */
static inline __m512i pair_words(const float *row, __mmask16 lo, __mmask16 hi)
{
    const __m256i l = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(lo, row)));
    const __m256i h = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(hi, row + 16)));
    return _mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1);
}

static inline __mmask16 lanes(int count)   /* the first count lanes, count clamped to 0 .. 16 */
{
    return count <= 0 ? 0 : count >= 16 ? 0xffff : first(count);
}

/* Bᵀ[n][k] (row stride lds) into the cols layout, 16 columns x 16 pairs at a time: each
 * column's 32 values rounded into 16 pair words (r0 .. r15, one per column), the 16 x 16
 * words transposed (unpack 32, unpack 64, two 128-bit lane shuffles) and stored as 16 pair
 * rows of the block. Values past k and columns past n are zero. Named registers, not an
 * array: an array of __m512i would live on the stack, 64-byte aligned (see
 * geglu_bf16_avx512.c for what that does under ASan). */
void ops_bf16_pack_cols_t_avx512(const float *src, int k, int n, size_t lds, uint16_t *dst)
{
    const int kpad = ops_bf16_kpad(k), nb = ops_bf16_nblocks(n);
    const __m512i zero = _mm512_setzero_si512();
    for (int b = 0; b < nb; b++) {
        uint16_t *blk = dst + (size_t)b * kpad * OPS_BF16_NBLOCK;   /* [kpad/2][16][2] */
        const float *col = src + (size_t)16 * b * lds;
        const int cols = n - 16 * b < 16 ? n - 16 * b : 16;
        for (int k0 = 0; k0 < kpad; k0 += 32) {
            const __mmask16 lo = lanes(k - k0), hi = lanes(k - k0 - 16);
            const __m512i r0 = 0 < cols ? pair_words(col + 0 * lds + k0, lo, hi) : zero;
            const __m512i r1 = 1 < cols ? pair_words(col + 1 * lds + k0, lo, hi) : zero;
            const __m512i r2 = 2 < cols ? pair_words(col + 2 * lds + k0, lo, hi) : zero;
            const __m512i r3 = 3 < cols ? pair_words(col + 3 * lds + k0, lo, hi) : zero;
            const __m512i r4 = 4 < cols ? pair_words(col + 4 * lds + k0, lo, hi) : zero;
            const __m512i r5 = 5 < cols ? pair_words(col + 5 * lds + k0, lo, hi) : zero;
            const __m512i r6 = 6 < cols ? pair_words(col + 6 * lds + k0, lo, hi) : zero;
            const __m512i r7 = 7 < cols ? pair_words(col + 7 * lds + k0, lo, hi) : zero;
            const __m512i r8 = 8 < cols ? pair_words(col + 8 * lds + k0, lo, hi) : zero;
            const __m512i r9 = 9 < cols ? pair_words(col + 9 * lds + k0, lo, hi) : zero;
            const __m512i r10 = 10 < cols ? pair_words(col + 10 * lds + k0, lo, hi) : zero;
            const __m512i r11 = 11 < cols ? pair_words(col + 11 * lds + k0, lo, hi) : zero;
            const __m512i r12 = 12 < cols ? pair_words(col + 12 * lds + k0, lo, hi) : zero;
            const __m512i r13 = 13 < cols ? pair_words(col + 13 * lds + k0, lo, hi) : zero;
            const __m512i r14 = 14 < cols ? pair_words(col + 14 * lds + k0, lo, hi) : zero;
            const __m512i r15 = 15 < cols ? pair_words(col + 15 * lds + k0, lo, hi) : zero;
            const __m512i t0 = _mm512_unpacklo_epi32(r0, r1), t1 = _mm512_unpackhi_epi32(r0, r1);
            const __m512i t2 = _mm512_unpacklo_epi32(r2, r3), t3 = _mm512_unpackhi_epi32(r2, r3);
            const __m512i t4 = _mm512_unpacklo_epi32(r4, r5), t5 = _mm512_unpackhi_epi32(r4, r5);
            const __m512i t6 = _mm512_unpacklo_epi32(r6, r7), t7 = _mm512_unpackhi_epi32(r6, r7);
            const __m512i t8 = _mm512_unpacklo_epi32(r8, r9), t9 = _mm512_unpackhi_epi32(r8, r9);
            const __m512i t10 = _mm512_unpacklo_epi32(r10, r11);
            const __m512i t11 = _mm512_unpackhi_epi32(r10, r11);
            const __m512i t12 = _mm512_unpacklo_epi32(r12, r13);
            const __m512i t13 = _mm512_unpackhi_epi32(r12, r13);
            const __m512i t14 = _mm512_unpacklo_epi32(r14, r15);
            const __m512i t15 = _mm512_unpackhi_epi32(r14, r15);
            const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
            const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
            const __m512i u4 = _mm512_unpacklo_epi64(t4, t6), u5 = _mm512_unpackhi_epi64(t4, t6);
            const __m512i u6 = _mm512_unpacklo_epi64(t5, t7), u7 = _mm512_unpackhi_epi64(t5, t7);
            const __m512i u8 = _mm512_unpacklo_epi64(t8, t10), u9 = _mm512_unpackhi_epi64(t8, t10);
            const __m512i u10 = _mm512_unpacklo_epi64(t9, t11);
            const __m512i u11 = _mm512_unpackhi_epi64(t9, t11);
            const __m512i u12 = _mm512_unpacklo_epi64(t12, t14);
            const __m512i u13 = _mm512_unpackhi_epi64(t12, t14);
            const __m512i u14 = _mm512_unpacklo_epi64(t13, t15);
            const __m512i u15 = _mm512_unpackhi_epi64(t13, t15);
            const __m512i v0 = _mm512_shuffle_i32x4(u0, u4, 0x88);
            const __m512i v4 = _mm512_shuffle_i32x4(u0, u4, 0xdd);
            const __m512i v1 = _mm512_shuffle_i32x4(u1, u5, 0x88);
            const __m512i v5 = _mm512_shuffle_i32x4(u1, u5, 0xdd);
            const __m512i v2 = _mm512_shuffle_i32x4(u2, u6, 0x88);
            const __m512i v6 = _mm512_shuffle_i32x4(u2, u6, 0xdd);
            const __m512i v3 = _mm512_shuffle_i32x4(u3, u7, 0x88);
            const __m512i v7 = _mm512_shuffle_i32x4(u3, u7, 0xdd);
            const __m512i v8 = _mm512_shuffle_i32x4(u8, u12, 0x88);
            const __m512i v12 = _mm512_shuffle_i32x4(u8, u12, 0xdd);
            const __m512i v9 = _mm512_shuffle_i32x4(u9, u13, 0x88);
            const __m512i v13 = _mm512_shuffle_i32x4(u9, u13, 0xdd);
            const __m512i v10 = _mm512_shuffle_i32x4(u10, u14, 0x88);
            const __m512i v14 = _mm512_shuffle_i32x4(u10, u14, 0xdd);
            const __m512i v11 = _mm512_shuffle_i32x4(u11, u15, 0x88);
            const __m512i v15 = _mm512_shuffle_i32x4(u11, u15, 0xdd);
            uint16_t *d = blk + (size_t)k0 * OPS_BF16_NBLOCK;   /* pair row k0 / 2 */
            _mm512_storeu_si512(d + 0 * 32, _mm512_shuffle_i32x4(v0, v8, 0x88));
            _mm512_storeu_si512(d + 8 * 32, _mm512_shuffle_i32x4(v0, v8, 0xdd));
            _mm512_storeu_si512(d + 1 * 32, _mm512_shuffle_i32x4(v1, v9, 0x88));
            _mm512_storeu_si512(d + 9 * 32, _mm512_shuffle_i32x4(v1, v9, 0xdd));
            _mm512_storeu_si512(d + 2 * 32, _mm512_shuffle_i32x4(v2, v10, 0x88));
            _mm512_storeu_si512(d + 10 * 32, _mm512_shuffle_i32x4(v2, v10, 0xdd));
            _mm512_storeu_si512(d + 3 * 32, _mm512_shuffle_i32x4(v3, v11, 0x88));
            _mm512_storeu_si512(d + 11 * 32, _mm512_shuffle_i32x4(v3, v11, 0xdd));
            _mm512_storeu_si512(d + 4 * 32, _mm512_shuffle_i32x4(v4, v12, 0x88));
            _mm512_storeu_si512(d + 12 * 32, _mm512_shuffle_i32x4(v4, v12, 0xdd));
            _mm512_storeu_si512(d + 5 * 32, _mm512_shuffle_i32x4(v5, v13, 0x88));
            _mm512_storeu_si512(d + 13 * 32, _mm512_shuffle_i32x4(v5, v13, 0xdd));
            _mm512_storeu_si512(d + 6 * 32, _mm512_shuffle_i32x4(v6, v14, 0x88));
            _mm512_storeu_si512(d + 14 * 32, _mm512_shuffle_i32x4(v6, v14, 0xdd));
            _mm512_storeu_si512(d + 7 * 32, _mm512_shuffle_i32x4(v7, v15, 0x88));
            _mm512_storeu_si512(d + 15 * 32, _mm512_shuffle_i32x4(v7, v15, 0xdd));
        }
    }
}
