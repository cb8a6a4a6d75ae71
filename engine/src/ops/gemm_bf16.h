/* bf16 matrix products with fp32 accumulation, for CPUs with native bf16 dot products:
 * AMX (TDPBF16PS on 16x16 tiles) or AVX512-BF16 (VDPBF16PS on zmm registers).
 *
 *   C[m, n] (+)= A[m, k] · B[k, n]     A and B bf16, C and the sums fp32
 *
 * Both operands live in one layout that serves both kernels:
 *  - A, the "rows" operand: bf16 [m][lda], k values per row, zero from k up to
 *    ops_bf16_kpad(k) (lda >= that). A row's pairs (k, k+1) are what VDPBF16PS
 *    broadcasts and what an AMX A tile holds (16 rows x 32 k).
 *  - B, the "cols" operand, blocked in 16 columns and paired along k ("VNNI"):
 *    bf16 [ceil(n / 16)][kpad / 2][16][2], element (k, j) of block b at
 *    [b][k / 2][j - 16 b][k % 2], zero past k and past n. One 64-byte row of a block is a
 *    zmm register of VDPBF16PS or one row of an AMX B tile (16 k-pairs x 16 columns).
 * Which operand holds the weights depends on the op: a convolution y[co, hw] = W · col
 * keeps W as the rows operand (W[co][ci kh kw] is already row-major in k) and unfolds the
 * image into the cols layout; a linear layer y[rows, out] = x · Wᵀ keeps Wᵀ as the cols
 * operand and rounds x into the rows layout. Weights are packed once, activations per call.
 *
 * Rounding: fp32 → bf16 round to nearest, ties to even (NaN stays NaN), like PyTorch's
 * and oneDNN's conversion; every product and sum is fp32.
 *
 * Engine-internal. */
#ifndef SD_OPS_GEMM_BF16_H
#define SD_OPS_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "core/float_bits.h"

/* k is padded to a multiple of this in both layouts (the k extent of one AMX tile). */
#define OPS_BF16_KBLOCK 32
/* Columns per block of the cols layout (the n extent of one AMX tile, one zmm of fp32). */
#define OPS_BF16_NBLOCK 16

static inline int ops_bf16_kpad(int k)
{
    return (k + OPS_BF16_KBLOCK - 1) / OPS_BF16_KBLOCK * OPS_BF16_KBLOCK;
}

static inline int ops_bf16_nblocks(int n)
{
    return (n + OPS_BF16_NBLOCK - 1) / OPS_BF16_NBLOCK;
}

/* bf16 elements of a cols operand [n, k]. */
static inline size_t ops_bf16_cols_size(int k, int n)
{
    return (size_t)ops_bf16_nblocks(n) * OPS_BF16_NBLOCK * ops_bf16_kpad(k);
}

/* fp32 → bf16, round to nearest even; NaN stays a (quiet) NaN. Inline and branch-free
 * (a select), so loops over blocks of lanes that call it vectorise. */
static inline uint16_t ops_bf16_round(float f)
{
    const uint32_t u = f32_bits(f);
    /* add half an ulp of bf16, minus one unless the kept lsb is odd: ties go to even */
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet = (u >> 16) | 0x0040u;   /* a NaN stays one, quiet */
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
}

/* The bf16 kernels this CPU runs, best first. */
typedef enum {
    OPS_BF16_NONE = 0,   /* no native bf16 dot products (or SD_NO_BF16 set) */
    OPS_BF16_AVX512,     /* VDPBF16PS */
    OPS_BF16_AMX,        /* TDPBF16PS tiles */
} ops_bf16_isa;

/* What the CPU and the OS run, with these environment overrides for tests and users:
 *   SD_NO_BF16=1  no bf16 kernel at all (the fp32 path, as on a CPU without them);
 *   SD_AMX=1      the AMX kernel where the CPU has AMX-BF16. Opt-in until it has run on
 *                 real AMX hardware: it was written and built on a machine without AMX
 *                 (an AMD EPYC with AVX512-BF16), so its tests have only ever skipped;
 *                 without SD_AMX an AMX CPU runs the AVX512-BF16 kernel, which is tested;
 *   SD_NO_AMX=1   AVX512-BF16 even with SD_AMX.
 * Read once per process (the first call) and process-wide, like the CPU itself. The first
 * call that finds AMX also asks Linux for the tile state (arch_prctl
 * ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): a per-process permission, granted to every
 * thread; AMX counts as absent if it is refused. */
ops_bf16_isa ops_bf16_best(void);
const char *ops_bf16_isa_name(ops_bf16_isa isa);

/* Rows operand from fp32: dst[m][lda] = round(src[m][k] at row stride lds), zero-padded
 * to lda (lda >= ops_bf16_kpad(k), even). */
void ops_bf16_pack_rows(const float *src, int m, int k, size_t lds, uint16_t *dst, size_t lda);

/* The same on the calling thread only. */
void ops_bf16_pack_rows_serial(const float *src, int m, int k, size_t lds, uint16_t *dst,
                               size_t lda);

/* One k-pair of a cols operand: rows k0 and k1 of B (fp32 [n] each; k1 NULL for the zero
 * padding past an odd k) into pair row q of every block, dst = the operand + q * 32,
 * block = ops_bf16_kpad(k) * OPS_BF16_NBLOCK (the distance between blocks). Columns past
 * n are zero. What an im2col writes the cols layout with. */
void ops_bf16_pack_pair(const float *k0, const float *k1, int n, uint16_t *dst, size_t block);

/* Cols operand from fp32 given as B[k, n] row-major (row stride lds): dst as above,
 * ops_bf16_cols_size(k, n) elements. */
void ops_bf16_pack_cols(const float *src, int k, int n, size_t lds, uint16_t *dst);
/* Cols operand from fp32 given transposed, Bᵀ[n, k] row-major (row stride lds): the
 * layout of a linear layer's weight[out, in] or of attention's keys. */
void ops_bf16_pack_cols_t(const float *src, int k, int n, size_t lds, uint16_t *dst);

/* C[m, n] (row stride ldc) = (accumulate ? C : 0) + A · B, k the real depth (the zero
 * padding beyond it may or may not be multiplied). Split over the engine's workers.
 * Needs isa != OPS_BF16_NONE, one that ops_bf16_best() allows. */
void ops_gemm_bf16(ops_bf16_isa isa, int m, int n, int k, const uint16_t *a, size_t lda,
                   const uint16_t *b, float *c, size_t ldc, int accumulate);
/* The same on the calling thread only (for callers that already split the work). */
void ops_gemm_bf16_serial(ops_bf16_isa isa, int m, int n, int k, const uint16_t *a,
                          size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate);

/* The kernels, each in its own library built with its own -m flags (gemm_bf16_avx512.c,
 * gemm_bf16_amx.c). Columns n0 .. n1-1 (n0 a multiple of 16) and rows m0 .. m1-1 of C. */
void ops_gemm_bf16_avx512(int m0, int m1, int n0, int n1, int n, int k, const uint16_t *a,
                          size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate);
void ops_bf16_pack_row_avx512(const float *src, int k, uint16_t *dst, size_t lda);
void ops_bf16_pack_pair_avx512(const float *k0, const float *k1, int n, uint16_t *dst,
                               size_t block);
void ops_bf16_pack_cols_t_avx512(const float *src, int k, int n, size_t lds, uint16_t *dst);
/* One key block of attention's online softmax, transposed, straight into bf16
 * (softmax_bf16_avx512.c). Scores s[len][lds] in log2 units (scaled by log2(e)): row j
 * for key col0 + j, column c for query row0 + c, c < nc (a multiple of 16); with causal,
 * query i sees keys <= i (every query must see key 0 in its first block). Per query c,
 * with m' = max(m[c], max of the scores it sees): P (the cols operand of depth vlen >=
 * len and nc columns) gets bf16(2^(s - m')) for the keys it sees, zero for the others and
 * from len up to the padding of vlen; Oᵀ (o [d][ldo], columns 0 .. nc-1; NULL: none yet)
 * is multiplied by 2^(m[c] - m'); l[c] = l[c] · 2^(m[c] - m') + Σ 2^(s - m') (a block's
 * fp32 sum, added in double); m[c] = m'. Start with m = -inf, l = 0. s is not written. */
void ops_bf16_softmax_block_avx512(const float *s, size_t lds, int len, int vlen, int nc,
                                   int row0, int col0, int causal, float *m, double *l,
                                   float *o, int d, size_t ldo, uint16_t *p);
/* y[r][0..n) = factor[r] · x[r][0..n) for rows r < rows (y may be x): the attention's
 * scaling of q and rescaling of its output (softmax_bf16_avx512.c). */
void ops_bf16_scale_rows_avx512(const float *x, size_t ldx, int rows, int n, const float *factor,
                                float *y, size_t ldy);
/* y[c][r] = x[r][c] · scale[c] (scale NULL: 1) for r < rows, c < cols, sixteen by
 * sixteen in registers: the attention's Vᵀ and its output (softmax_bf16_avx512.c). */
void ops_bf16_transpose_avx512(const float *x, size_t ldx, int rows, int cols, const float *scale,
                               float *y, size_t ldy);
/* y[0..n) = 2^x[0..n), x <= 0: the softmax's exponential alone (exp_avx512.h), for tests. */
void ops_bf16_exp2_avx512(const float *x, int n, float *y);
/* One row of GEGLU into a rows operand (geglu_bf16_avx512.c): x [2 d] = value | gate,
 * y[0..d) = bf16(value · gelu_erf(gate)), zero from d up to ldy; scratch: the caller's
 * 2 × OPS_BF16_GEGLU_LANES floats (see geglu_bf16_avx512.c for why). */
#define OPS_BF16_GEGLU_LANES 16
void ops_bf16_geglu_row_avx512(const float *x, int d, uint16_t *y, size_t ldy,
                               float scratch[2 * OPS_BF16_GEGLU_LANES]);
void ops_gemm_bf16_amx(int m0, int m1, int n0, int n1, int n, int k, const uint16_t *a,
                       size_t lda, const uint16_t *b, float *c, size_t ldc, int accumulate);

#endif
