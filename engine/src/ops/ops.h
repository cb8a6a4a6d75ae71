/* Tensor operations on float32 data. Images are NCHW, token sequences are
 * [tokens, channels] row-major. Every op writes to caller-provided memory; ops that
 * need temporary space take it from the arena and give it back before returning.
 * Ops that can fail on scratch memory return 0 on success, -1 when the arena is exhausted.
 * In-place use (y == x) is allowed where a comment says so. */
#ifndef SD_OPS_H
#define SD_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* y[n, co, ho, wo] = conv2d(x[n, ci, h, w], weight[co, ci, kh, kw]) + bias[co]
 * ho = (h + pad_top + pad_bottom - kh) / stride + 1, likewise wo.
 * bias may be NULL. 3x3 and 1x1 go through cblas_sgemm (3x3 stride 1 on images of
 * 32x32 and up by Winograd F(2x2, 3x3)). */
typedef struct {
    int kh, kw;
    int stride;
    int pad_top, pad_left, pad_bottom, pad_right;
} sd_conv_params;

int op_conv2d(sd_arena *a, const float *x, int n, int ci, int h, int w,
              const float *weight, const float *bias, int co, const sd_conv_params *p,
              float *y);
/* Output size of a convolution along one axis. */
int op_conv_out_size(int in, int k, int stride, int pad_before, int pad_after);
/* Symmetric padding helper: sd_conv_params for a k x k kernel, stride s, padding pad. */
sd_conv_params op_conv_params(int k, int stride, int pad);

/* GroupNorm over x[n, c, hw] with `groups` groups; gamma/beta [c]; optional fused SiLU.
 * In-place allowed. */
void op_group_norm(const float *x, int n, int c, int hw, int groups, float eps,
                   const float *gamma, const float *beta, int fuse_silu, float *y);

/* LayerNorm over the last dim of x[rows, dim]. In-place allowed. */
void op_layer_norm(const float *x, int rows, int dim, float eps,
                   const float *gamma, const float *beta, float *y);

/* y[rows, out] = x[rows, in] · weight[out, in]ᵀ + bias[out] (bias may be NULL). */
void op_linear(const float *x, int rows, int in, const float *weight, const float *bias,
               int out, float *y);

/* Multi-head scaled-dot-product attention:
 *   out[i, h*d:(h+1)*d] = softmax(q_h[i] · k_hᵀ / sqrt(d) [+ causal mask]) · v_h
 * q [nq, q_stride], k and v [nk, kv_stride]; head h reads columns h*d .. h*d+d-1.
 * out [nq, heads*d]. Computed in chunks of query rows so the score matrix held at
 * once stays small (never nq x nk x heads). causal: query i sees keys 0..i. */
int op_attention(sd_arena *a, const float *q, int q_stride, const float *k, const float *v,
                 int kv_stride, int nq, int nk, int heads, int head_dim, int causal,
                 float *out);

/* GEGLU: x[rows, 2d] → y[rows, d] = x[:, :d] · gelu_erf(x[:, d:]). */
void op_geglu(const float *x, int rows, int d, float *y);

/* Element-wise, in place over n values. */
void op_silu(float *x, size_t n);
void op_gelu_erf(float *x, size_t n);
void op_quick_gelu(float *x, size_t n);   /* x · sigmoid(1.702 x) */

/* y = a + b over n values (y may alias a or b). */
void op_add(const float *a, const float *b, float *y, size_t n);
/* x[n, c, hw] += v[n, c] broadcast over hw (the res-block time injection). */
void op_add_channel_bias(float *x, const float *v, int n, int c, int hw);

/* Nearest-neighbour resize x[n, c, h, w] → y[n, c, ho, wo] with PyTorch's rule
 * (src = floor(dst * in / out)): 2x upsample and the U-Net's skip-size rule. */
void op_upsample_nearest(const float *x, int n, int c, int h, int w, int ho, int wo, float *y);

/* [c, hw] ↔ [hw, c] for one batch item (the spatial transformer's token layout). */
void op_transpose(const float *x, int rows, int cols, float *y);

/* Copies channel blocks side by side: y[n, ca + cb, hw] = concat(a[n, ca, hw], b[n, cb, hw]). */
void op_concat_channels(const float *a, int ca, const float *b, int cb, int n, int hw, float *y);

/* Sinusoidal timestep embedding as diffusers (flip_sin_to_cos, freq_shift 0):
 * freq_i = exp(-ln(10000) * i / half), out = [cos(t·freq) | sin(t·freq)], dim = 2·half. */
void op_timestep_embedding(float t, int dim, float *out);

#endif
