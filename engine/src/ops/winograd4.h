/* Winograd F(4x4, 3x3) for op_conv2d's fp32 3x3 stride-1 pad-1 case (conv_winograd4.c):
 * 36 products per 16 outputs (2.25 multiplications per output against F(2x2)'s 4), at the
 * cost of a larger rounding error than F(2x2, 3x3) (ops/winograd.h): the fp32 goldens hold
 * it at their tolerances (the notes of issue 17). Engine-internal. */
#ifndef SD_OPS_WINOGRAD4_H
#define SD_OPS_WINOGRAD4_H

#include <stddef.h>

#include "core/arena.h"

/* Input channels per weight-transform step (the lanes of w4_weight_tiles). */
#define WT4_LANES 16
/* Scratch floats of one worker's input (output) transform of a tile row of tw tiles. */
#define W4_INPUT_SCRATCH(tw) ((size_t)48 * ((size_t)(tw) + 1))
#define W4_OUTPUT_SCRATCH(tw) ((size_t)40 * (size_t)(tw))
/* Scratch floats of one worker's weight transform: g [9][lanes] and t [6][3][lanes] in
 * double, u [36][lanes] in float. */
#define W4_WEIGHT_SCRATCH ((size_t)2 * (9 + 18) * WT4_LANES + (size_t)36 * WT4_LANES)

/* From 32x32 pixels up F(4x4) runs the U-Net's 3x3 convs 1.3-1.7x faster than F(2x2) in
 * CPU time (bench-fp32, 2 threads, AVX-512; the whole fp32 VAE decode at 512² 1.6-1.7x);
 * at 16x16 its 36 products over 32 tile columns ([co, ci] · [ci, 32]) run 0.86-0.89x
 * F(2x2)'s speed, at 8x8 0.6x. */
#define OPS_WINOGRAD4_MIN_HW 1024

/* 1 when a conv of these sizes, one that F(2x2) would take (ops_winograd_fits), goes
 * through F(4x4, 3x3) instead: at least OPS_WINOGRAD4_MIN_HW pixels, and the transformed
 * weights of 16 output channels plus one tile row fit OPS_WINOGRAD_MAX_FLOATS.
 * SD_WINOGRAD=2 in the environment turns it off (every such conv by F(2x2)), SD_WINOGRAD=4
 * takes it for every 3x3 conv that F(2x2) would take (tests); read at each call. */
int ops_winograd4_fits(int n, int ci, int co, int h, int w);

/* y[n, co, h, w] = conv3x3(x[n, ci, h, w], weight[co, ci, 3, 3], stride 1, pad 1) + bias
 * (bias may be NULL), within a scratch bound of `budget` floats (the output channels in
 * chunks and the image in bands of tile rows when needed). 0, or -1 when the arena cannot
 * give the scratch. */
int ops_conv3x3_winograd4(sd_arena *a, size_t budget, const float *x, int n, int ci, int h,
                          int w, const float *weight, const float *bias, int co, float *y);

/* The transforms of one tile row / one weight block (winograd4_body.h), per ISA: the
 * baseline build, and the -mavx2 / -mavx512f builds where compiled in (bit-identical); each
 * built with the dynamic vectoriser cost model, so the loops over a tile row vectorise at
 * -O2 whatever their length. */
typedef struct {
    void (*input_row)(const float *xc, int h, int w, int tw, int ty, float *scratch, float *out,
                      size_t plane);
    void (*output_row)(const float *m, size_t plane, int tw, int ty, int h, int w, float bias,
                       float *scratch, float *yc);
    void (*weight_tiles)(const double *g, double *t, float *u);
} ops_winograd4_kernels;

/* F(4x4)'s weight transform of one output channel in AVX-512 (winograd_weights_avx512.c),
 * the same values as w4_weight_tiles: U[p][c] = float((G g_c Gᵀ)[p]) computed in double for
 * the kernels g_c of src ([ci][9] floats) into dst + p * plane + c for c < ci. */
void ops_winograd4_weights_avx512(const float *src, int ci, float *dst, size_t plane);

extern const ops_winograd4_kernels ops_winograd4_base;
extern const ops_winograd4_kernels ops_winograd4_avx2;
extern const ops_winograd4_kernels ops_winograd4_avx512;

#endif
