/* Winograd F(2x2, 3x3) for op_conv2d's 3x3 stride-1 pad-1 case (ops_conv_winograd.c).
 * Engine-internal. */
#ifndef SD_OPS_WINOGRAD_H
#define SD_OPS_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "ops/gemm_bf16.h"

/* Scratch bound, in floats (64 MB): transformed weights + one band of transformed input
 * and output. */
#define OPS_WINOGRAD_MAX_FLOATS ((size_t)16 << 20)
/* Below this many pixels per image the per-call weight transform (16 co ci values)
 * costs more than the multiplications it saves: the bf16 variant's bound. */
#define OPS_WINOGRAD_MIN_HW 1024
/* bf16 only: below this many input channels im2col is faster. Winograd's input and output
 * transforms (fp32, through memory) cost the same per channel whatever the precision, and
 * with bf16 products they outweigh the 2.25x fewer products: TAESD's 64-channel convs
 * (AVX512-BF16, 2 threads, 512² decode) took 2.10 CPU-s by Winograd against 1.68 by
 * im2col (fp32: 2.33), the encoder 1.88 against 1.35 (fp32: 2.05); perf: the two
 * transforms 50 % of the Winograd decode, its bf16 GEMM 10 %. 128 and wider (the SD VAE,
 * the U-Nets) keep Winograd, as measured there (w2-vaebf16: im2col +22 % CPU time).
 * Measured with the generic transforms: the AVX-512 ones (winograd_bf16_avx512.c) cut a
 * whole convolution's CPU time by 16-29 % on the U-Net's shapes, so 64 channels may now
 * favour Winograd too (not re-measured). */
#define OPS_WINOGRAD_BF16_MIN_CI 128
/* The fp32 variant's: its weight transform runs in vector loops, and from 16x16 up
 * (n = 2, 1280 channels) the 16 products beat im2col by 1.2-1.3x in CPU time (bench-fp32);
 * at 8x8 they lose (0.6x). */
#define OPS_WINOGRAD_FP32_MIN_HW 256

/* 1 when a conv of these sizes goes through Winograd: large enough an image, and the
 * transformed weights of at least 16 output channels plus one tile row of the batch fit
 * the scratch bound (the output channels are taken in chunks when all do not). */
int ops_winograd_fits(int n, int ci, int co, int h, int w);

/* y[n, co, h, w] = conv3x3(x[n, ci, h, w], weight[co, ci, 3, 3], stride 1, pad 1) + bias
 * (bias may be NULL). 0, or -1 when the arena cannot give the scratch. */
int ops_conv3x3_winograd(sd_arena *a, const float *x, int n, int ci, int h, int w,
                         const float *weight, const float *bias, int co, float *y);
/* The same within a scratch bound of `budget` floats instead of OPS_WINOGRAD_MAX_FLOATS
 * (tests: a small one takes the output channels in chunks and the image in bands). */
int ops_conv3x3_winograd_budget(sd_arena *a, size_t budget, const float *x, int n, int ci,
                                int h, int w, const float *weight, const float *bias, int co,
                                float *y);

/* The same with bf16 products (ops_bf16.h): weight the rows operand [co][kpad(9 ci)]; the
 * transformed weights and inputs are rounded to bf16, the products summed in fp32 by
 * ops_gemm_bf16 (isa), the output transform in fp32. _fits: 1 when a conv of these sizes
 * goes through it (also at least OPS_WINOGRAD_BF16_MIN_CI input channels). */
int ops_winograd_bf16_fits(int n, int ci, int co, int h, int w);
int ops_conv3x3_winograd_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int n, int ci,
                              int h, int w, const uint16_t *weight, const float *bias, int co,
                              float *y);

/* The bf16 variant's transforms in AVX-512 (winograd_bf16_avx512.c; conv_winograd.c calls
 * them where SD_HAVE_AVX512_BF16 is built), the same values as its generic ones.
 * _input: channel x [h, w] of one image, tile rows ty0 .. ty0+tb-1 (tw tiles each) into
 * half `half` (0: even channel, 1: odd) of a pair row of the cols operands: dst is that
 * pair row of position 0, position p's at dst + p * plane, `block` bf16 between column
 * blocks; tile (ty, tx) is column col0 + ty * tw + tx. Columns and halves not named are
 * not written.
 * _output: y[2 ty + i, 2 tx + j] (channel plane [h, w], tile rows ty0 .. ty0+tb-1) =
 * (Aᵀ m A)[i, j] + bias, m[p * plane + ty * tw + tx] the products of that channel and
 * image; the row and column past an odd h or w dropped. */
/* _weights: U[p][c] = bf16((G g_c Gᵀ)[p]) for the kernels g_c of one output channel, src
 * its row of the rows operand ([ci][9] bf16), into dst + p * plane + c for c < ci. */
/* The fp32 weight transform of one output channel in AVX-512 (winograd_weights_avx512.c;
 * conv_winograd.c calls it where SD_HAVE_AVX512 is built and the CPU has AVX-512F), the
 * same values as weight_tiles: U[p][c] = (G g_c Gᵀ)[p] for the kernels g_c of src
 * ([ci][9] floats) into dst + p * plane + c for c < ci. */
void ops_winograd_weights_avx512(const float *src, int ci, float *dst, size_t plane);
void ops_winograd_bf16_weights_avx512(const uint16_t *src, int ci, uint16_t *dst,
                                      size_t plane);
void ops_winograd_bf16_input_avx512(const float *x, int h, int w, int ty0, int tb, int tw,
                                    int col0, int half, uint16_t *dst, size_t plane,
                                    size_t block);
void ops_winograd_bf16_output_avx512(const float *m, size_t plane, int ty0, int tb, int tw,
                                     float bias, int h, int w, float *y);

#endif
