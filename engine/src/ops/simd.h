/* Kernels compiled for AVX2 + FMA (ops_*_avx2.c, built with -mavx2 -mfma). Call them
 * only when ops_have_avx2() says the CPU runs them. Engine-internal. */
#ifndef SD_OPS_SIMD_H
#define SD_OPS_SIMD_H

/* Query rows per attention tile: 6 rows x 16 columns of accumulators fill 12 of the 16
 * ymm registers. */
#define OPS_ATTN_ROWS 6

/* One head, one tile of rows <= OPS_ATTN_ROWS query rows, fused:
 *   out[r, 0..d) = softmax(scale · q[r] · kᵀ) · v    (r < rows)
 * q [rows, q_stride] (the head's d columns first); kt [nk16 / 16, d, 16] the head's keys
 * in blocks of 16 transposed (block b holds keys 16b .. 16b+15, [c, j] = k[16b + j, c]),
 * zero-padded to nk16 = nk rounded up to 16; vp [nk, d] the head's values;
 * out [rows, out_stride]. causal_row0 >= 0: row r sees keys 0..causal_row0 + r only.
 * scores [OPS_ATTN_ROWS, nk16] and qt [d, OPS_ATTN_ROWS] are the caller's scratch.
 * d must be a multiple of 8. */
void ops_attention_tile_avx2(const float *q, int q_stride, int rows, int d, const float *kt,
                             int nk, int nk16, const float *vp, float scale, int causal_row0,
                             float *scores, float *qt, float *out, int out_stride);

/* The same tile with AVX-512F (ops_attention_avx512.c, built with -mavx512f): same
 * arguments, same values up to the order of the softmax sum. Only when ops_have_avx512(). */
void ops_attention_tile_avx512(const float *q, int q_stride, int rows, int d, const float *kt,
                               int nk, int nk16, const float *vp, float scale, int causal_row0,
                               float *scores, float *qt, float *out, int out_stride);

#endif
