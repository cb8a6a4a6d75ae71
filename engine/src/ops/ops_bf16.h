/* The matrix ops with bf16 inputs and fp32 sums (gemm_bf16.h): op_conv2d, op_linear and
 * op_attention's two products, for the precision setting "bf16". Activations are rounded
 * to bf16 where they enter a product; the weights come packed once (functions below);
 * bias, softmax and everything between the products stay fp32. Same shapes, same
 * arguments and same return values (0, or -1 when the arena is exhausted) as the fp32 ops
 * in ops.h. isa: a kernel ops_bf16_best() offers (never OPS_BF16_NONE).
 * Engine-internal. */
#ifndef SD_OPS_BF16_H
#define SD_OPS_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "ops/gemm_bf16.h"
#include "ops/ops.h"

/* A convolution's weight [co, ci, kh, kw] as the rows operand [co][kpad(ci kh kw)]:
 * conv_weight_size elements, filled from fp32 by ops_bf16_pack_conv_weight. */
size_t ops_bf16_conv_weight_size(int co, int ci, int kh, int kw);
void ops_bf16_pack_conv_weight(const float *weight, int co, int ci, int kh, int kw,
                               uint16_t *dst);

/* A linear layer's weight [out, in] as the cols operand of Wᵀ: linear_weight_size
 * elements, filled from fp32 by ops_bf16_pack_linear_weight. */
size_t ops_bf16_linear_weight_size(int in, int out);
void ops_bf16_pack_linear_weight(const float *weight, int in, int out, uint16_t *dst);

/* op_conv2d with the weight packed as above. 3x3 stride-1 pad-1 convolutions on large
 * images go through Winograd F(2x2, 3x3) with the AVX512-BF16 kernel (the transformed
 * weights and inputs rounded to bf16), through im2col with AMX. */
int op_conv2d_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int n, int ci, int h, int w,
                   const uint16_t *weight, const float *bias, int co, const sd_conv_params *p,
                   float *y);

/* A 1x1 stride-1 unpadded convolution (weight packed as above) whose input comes token-major:
 * y[n, co, hw] = W · tokens[n, hw, ci]ᵀ + b, the tokens rounded and transposed straight
 * into the cols operand, the same operand op_conv2d_bf16 builds from the image [ci, hw]
 * (same values bit for bit, without the fp32 transpose in between). */
int op_conv1x1_tokens_bf16(sd_arena *a, ops_bf16_isa isa, const float *tokens, int n, int hw,
                           int ci, const uint16_t *weight, const float *bias, int co, float *y);

/* op_linear with the weight packed as above. */
int op_linear_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int in,
                   const uint16_t *weight, const float *bias, int out, float *y);

/* op_linear of `count` layers on the same input: y[i][rows, out[i]] = x · weight[i]ᵀ +
 * bias[i] (bias[i] may be NULL), x rounded into the rows operand once for all of them;
 * each y[i] the same values op_linear_bf16 gives. */
int op_linears_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int in, int count,
                    const uint16_t *const weight[], const float *const bias[], const int out[],
                    float *const y[]);

/* The feed-forward's GEGLU and second linear layer: y[rows, out] = (value · gelu_erf(gate))
 * · Wᵀ + b, x [rows, 2 d] = value | gate as op_geglu reads it, W packed as above (in = d).
 * The gated values go straight into the rows operand in bf16 (no fp32 copy). */
int op_geglu_linear_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int d,
                         const uint16_t *weight, const float *bias, int out, float *y);

/* op_attention with q·kᵀ and p·v in bf16 (scores, softmax and its sum in fp32). */
int op_attention_bf16(sd_arena *a, ops_bf16_isa isa, const float *q, int q_stride,
                      const float *k, const float *v, int kv_stride, int nq, int nk, int heads,
                      int head_dim, int causal, float *out);

#endif
