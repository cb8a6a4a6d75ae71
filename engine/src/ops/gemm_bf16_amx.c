/* bf16 GEMM on AMX tiles (TDPBF16PS), operands in the layouts of gemm_bf16.h.
 * Compiled with -mamx-tile -mamx-bf16; gemm_bf16.c calls it only after ops_bf16_best()
 * found AMX and Linux granted the tile state.
 *
 * Blocking as oneDNN's brgemm does for bf16 on AMX: C in 2 x 2 tiles of 16 x 16 fp32
 * (tmm0-3, a 32 x 32 block), two A tiles of 16 rows x 32 k (tmm4-5) and two B tiles of
 * 16 k-pairs x 16 columns (tmm6-7): four TDPBF16PS per four tile loads. The k loop runs
 * in passes of KC so a band of MC rows of A (MC x KC bf16, 128 KB) and the B panel of a
 * pass stay in L2 while the column blocks go by; C is re-read between passes.
 * Edges (rows or columns that do not fill a tile) get a tile configuration with fewer rows
 * or columns: nothing is read or written outside the operands, no copies. */
#include <immintrin.h>
#include <string.h>

#include "ops/gemm_bf16.h"

#define KC 512   /* k per pass, a multiple of OPS_BF16_KBLOCK */
#define MC 128   /* rows of A per band, a multiple of 32 */
#define TILE_ROWS 16
#define TILE_BYTES 64   /* bytes per tile row */

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static void set_tile(tile_config *t, int tmm, int rows, int colsb)
{
    /* a tile that is not used has both zero */
    t->rows[tmm] = (uint8_t)(rows && colsb ? rows : 0);
    t->colsb[tmm] = (uint16_t)(rows && colsb ? colsb : 0);
}

/* Tiles for a C block of (r0 + r1) rows x (c0 + c1) columns (r0, c0 in 1..16; r1, c1 in
 * 0..16), loaded only when it differs from the current one (cur). */
static void configure(tile_config *cur, int r0, int r1, int c0, int c1)
{
    tile_config t;
    memset(&t, 0, sizeof t);
    t.palette_id = 1;
    set_tile(&t, 0, r0, c0 * 4);
    set_tile(&t, 1, r0, c1 * 4);
    set_tile(&t, 2, r1, c0 * 4);
    set_tile(&t, 3, r1, c1 * 4);
    set_tile(&t, 4, r0, TILE_BYTES);   /* A: rows x 32 bf16 */
    set_tile(&t, 5, r1, TILE_BYTES);
    set_tile(&t, 6, TILE_ROWS, c0 * 4);   /* B: 16 k-pairs x columns pairs */
    set_tile(&t, 7, TILE_ROWS, c1 * 4);
    if (memcmp(&t, cur, sizeof t) != 0) {
        _tile_loadconfig(&t);
        *cur = t;
    }
}

/* C[i0 .. i0+r0+r1, j0 .. j0+c0+c1) (+)= A[.., k0 .. k1) · B[k0 .. k1, ..]. */
static void block32(tile_config *cur, int r0, int r1, int c0, int c1, const uint16_t *a,
                    size_t lda, const uint16_t *b0, const uint16_t *b1, int k0, int k1,
                    float *c, size_t ldc, int accumulate)
{
    configure(cur, r0, r1, c0, c1);
    const size_t sc = ldc * sizeof *c, sa = lda * sizeof *a;
    float *c1p = c + (size_t)TILE_ROWS * ldc;
    const uint16_t *a1 = a + (size_t)TILE_ROWS * lda;
    if (accumulate) {
        _tile_loadd(0, c, sc);
        if (c1)
            _tile_loadd(1, c + 16, sc);
        if (r1) {
            _tile_loadd(2, c1p, sc);
            if (c1)
                _tile_loadd(3, c1p + 16, sc);
        }
    } else {
        _tile_zero(0);
        if (c1)
            _tile_zero(1);
        if (r1) {
            _tile_zero(2);
            if (c1)
                _tile_zero(3);
        }
    }
    for (int kk = k0; kk < k1; kk += OPS_BF16_KBLOCK) {
        /* B block rows are k-pairs of 16 columns: k kk starts at kk / 2 * 32 = kk * 16 */
        _tile_loadd(4, a + kk, sa);
        _tile_loadd(6, b0 + (size_t)kk * OPS_BF16_NBLOCK, TILE_BYTES);
        _tile_dpbf16ps(0, 4, 6);
        if (c1) {
            _tile_loadd(7, b1 + (size_t)kk * OPS_BF16_NBLOCK, TILE_BYTES);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (r1) {
            _tile_loadd(5, a1 + kk, sa);
            _tile_dpbf16ps(2, 5, 6);
            if (c1)
                _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, sc);
    if (c1)
        _tile_stored(1, c + 16, sc);
    if (r1) {
        _tile_stored(2, c1p, sc);
        if (c1)
            _tile_stored(3, c1p + 16, sc);
    }
}

static int min_int(int x, int y)
{
    return x < y ? x : y;
}

void ops_gemm_bf16_amx(int m0, int m1, int n0, int n1, int n, int k, const uint16_t *a,
                       size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate)
{
    (void)n;
    const int kpad = ops_bf16_kpad(k);
    const size_t block = (size_t)kpad * OPS_BF16_NBLOCK;   /* bf16 per column block */
    tile_config cur;
    memset(&cur, 0, sizeof cur);   /* palette 0: the first configure() loads */
    for (int k0 = 0; k0 < kpad; k0 += KC) {
        const int k1 = min_int(kpad, k0 + KC), acc = accumulate || k0 > 0;
        for (int ib = m0; ib < m1; ib += MC) {
            const int ie = min_int(m1, ib + MC);
            for (int j0 = n0; j0 < n1; j0 += 2 * OPS_BF16_NBLOCK) {
                const int c0 = min_int(16, n1 - j0), c1 = min_int(16, n1 - j0 - c0);
                const uint16_t *b0 = b + (size_t)(j0 / OPS_BF16_NBLOCK) * block;
                for (int i0 = ib; i0 < ie; i0 += 2 * TILE_ROWS) {
                    const int r0 = min_int(16, ie - i0), r1 = min_int(16, ie - i0 - r0);
                    block32(&cur, r0, r1, c0, c1 > 0 ? c1 : 0, a + (size_t)i0 * lda, lda, b0,
                            b0 + block, k0, k1, c + (size_t)i0 * ldc + j0, ldc, acc);
                }
            }
        }
    }
    _tile_release();
}
