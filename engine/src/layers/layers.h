/* The layers every network is made of, as torch.nn's modules: Linear, Conv2d, GroupNorm
 * (+ the fused GroupNorm + SiLU), LayerNorm, Embedding, and the two blocks several networks
 * share, multi-head attention (q / k / v / out projections) and the GEGLU feed-forward.
 * One struct, one bind function and one forward each, used by CLIP, the U-Net and the VAE
 * and by every later network.
 *
 * Contract
 *
 * - Binding. sd_<layer>_bind(w, layer, sizes..., err, key_fmt, ...) binds the module whose
 *   checkpoint key is key_fmt (printf-style, e.g. "%s.in_layers.2" → "<key>.weight" and
 *   "<key>.bias"), checking each shape against the sizes. Sizes always come in (in, out)
 *   order: Linear (in, out), Conv2d (ci, co, params), Attention (q_dim, kv_dim, ...).
 *   Returns SD_OK, SD_ERR_FORMAT naming the key and both shapes (a missing tensor:
 *   "missing tensor <key>.weight"), SD_ERR_INVALID_ARG for a key that does not fit.
 *   A bound layer points into sd_weights (which must outlive it); nothing to free.
 *
 * - The only reader. The forwards below are the only place in the engine where a weight
 *   is read for compute. Linear and Conv2d weights of a F16/BF16 checkpoint stay 16-bit
 *   (sd_tensor.packed) and are widened into the arena per forward (exactly: the same values
 *   as widened at load); norm parameters and biases are bound as fp32.
 *
 * - Hooks for the passes that change what a layer computes (LoRA, bf16 kernels). Every
 *   Linear and Conv2d holds an sd_layer_params:
 *     key       the module's checkpoint key (sd_layer_key), and each layer is recorded as
 *               the reader of its weight tensor: sd_layer_find(w, "<key>.weight") and
 *               sd_layer_each find the bound layers again by key (io/weights.h). Valid
 *               while the network that bound them lives and is not moved.
 *     merged    a tensor of the weight's shape (fp32 or packed) that replaces the bound
 *               one when set (numel > 0): LoRA merged into a writable copy.
 *     prepared  a kernel-specific layout of the effective weight (bf16 packing); opaque
 *               here, defined by the kernels that make and read it. A forward uses it only
 *               when ctx->precision selects those kernels; today's fp32 path never does.
 *   All are zero after bind. Whoever sets merged or prepared owns that memory and keeps it
 *   alive while the layer runs; a pass sets them between forwards, never during one (a
 *   model runs one job at a time). A LoRA side path (y += up(down(x)) beside the weight)
 *   would be one more field here, read by sd_linear_forward / sd_conv2d_forward.
 *
 * - Forwards take an sd_layer_ctx: the arena their scratch comes from (given back before
 *   they return) and the run's precision. They return SD_OK, or SD_ERR_NOMEM naming the
 *   module when the arena cannot grow. Images are NCHW ([n, c, h, w]); token sequences
 *   [rows, features] row-major. No forward allocates anything that outlives it.
 *
 * - Pins. Widening a packed weight is a pass over it; a network that runs the same layers
 *   on several batch items one at a time (the U-Net's transformer blocks under CFG) pins
 *   them once per call inside a scope: the forwards then read the pinned fp32 copy. The
 *   scope's end unpins and gives the memory back. */
#ifndef SD_LAYERS_H
#define SD_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "io/weights.h"
#include "ops/ops.h"
#include "sd.h"

/* Which kernels a forward may use. SD_LAYER_FP32: today's exact path (every golden test
 * runs it). SD_LAYER_BF16: the layers that sd_layers_prepare_bf16 packed (layers_bf16.h)
 * multiply in bf16 with fp32 sums, attention's two products too; the rest stays fp32. */
typedef enum {
    SD_LAYER_FP32 = 0,
    SD_LAYER_BF16 = 1,
} sd_layer_precision;

/* Bias or not, for the modules that have a bias= argument in torch. */
typedef enum {
    SD_LAYER_NO_BIAS = 0,
    SD_LAYER_BIAS = 1,
} sd_layer_bias;

/* Opaque: a weight in a layout one set of kernels wants (bf16 tiles, ...). */
typedef struct sd_layer_prepared sd_layer_prepared;

/* The parameters a Linear or a Conv2d reads. */
typedef struct sd_layer_params {
    sd_tensor weight;   /* as bound: Linear [out, in] (or [out, in, 1, 1]), Conv2d [co, ci, kh, kw] */
    sd_tensor bias;     /* [out]; numel 0 when the module has none */
    sd_tensor merged;   /* hook: replaces weight when numel > 0 (LoRA merged) */
    const sd_layer_prepared *prepared;   /* hook: bf16 layout, NULL when none */
    int conv;           /* 1 when a Conv2d reads it (a 1x1 weight is a Linear's or a Conv2d's) */
    struct sd_layer_params *fused_next;   /* a fused in_proj's q → k → v (row views of one
                                             tensor; the chain's head is its reader); NULL */
} sd_layer_params;

typedef struct {
    sd_layer_params p;
    int in, out;
} sd_linear;

typedef struct {
    sd_layer_params p;
    int ci, co;
    sd_conv_params params;   /* kernel, stride, padding (the module's) */
} sd_conv2d;

typedef struct {
    sd_tensor weight, bias;   /* [channels], fp32 */
    int channels, groups;
    float eps;
} sd_group_norm;

typedef struct {
    sd_tensor weight, bias;   /* [dim], fp32 */
    int dim;
    float eps;
} sd_layer_norm;

typedef struct {
    sd_tensor weight;   /* [count, dim], fp32 or packed (rows widened on lookup) */
    int count, dim;
} sd_embedding;

/* Multi-head scaled-dot-product attention with its four projections:
 *   y = out(softmax(q(x) · k(c)ᵀ / sqrt(head_dim) [+ causal]) · v(c)), c = context or x.
 * q [inner, q_dim], k and v [inner, kv_dim], out [q_dim, inner]; inner = heads · head_dim. */
typedef struct {
    sd_linear q, k, v, out;
    int heads, head_dim;
} sd_attention;

/* The checkpoint names of an attention's four projections under its key, and whether
 * q, k and v carry a bias (the output projection always does). */
typedef struct {
    const char *q, *k, *v, *out;
    sd_layer_bias qkv_bias;
} sd_attention_names;

/* GEGLU feed-forward (diffusers' FeedForward with GEGLU, LDM's ff.net):
 *   y = net.2(value · gelu_erf(gate)), [value | gate] = net.0.proj(x). */
typedef struct {
    sd_linear proj;   /* net.0.proj [2 · inner, dim]: value rows, then gate rows */
    sd_linear out;    /* net.2 [dim, inner] */
    int dim, inner;
} sd_geglu_ff;

/* Most pinned weights held at once (one transformer block's ten matrices). */
#define SD_LAYER_MAX_PINS 16

typedef struct {
    const sd_layer_params *layer;
    const float *f32;   /* the effective weight as fp32, in the arena */
} sd_layer_pin;

/* How forwards run. Made with sd_layer_ctx_make, passed down a network's forward. */
typedef struct {
    sd_arena *arena;                 /* every forward's scratch */
    sd_layer_precision precision;    /* which kernels (SD_LAYER_FP32) */
    int n_pins;
    sd_layer_pin pins[SD_LAYER_MAX_PINS];
} sd_layer_ctx;

sd_layer_ctx sd_layer_ctx_make(sd_arena *arena, sd_layer_precision precision);

/* ---- binding ------------------------------------------------------------------------ */

/* in / out: the sizes; out = -1 takes the file's (the feed-forward's width is read so).
 * A 1x1 convolution's weight [out, in, 1, 1] is the same matrix and binds too. */
sd_status sd_linear_bind(sd_weights *w, sd_linear *l, int in, int out, sd_layer_bias bias,
                         sd_error *err, const char *key_fmt, ...) SD_PRINTF(7, 8);

/* weight [co, ci, params.kh, params.kw] and bias [co]. */
sd_status sd_conv2d_bind(sd_weights *w, sd_conv2d *c, int ci, int co, sd_conv_params params,
                         sd_error *err, const char *key_fmt, ...) SD_PRINTF(7, 8);
/* The same for a Conv2d with bias=False: weight only (bias numel 0); a bias in the file
 * is an error. */
sd_status sd_conv2d_bind_no_bias(sd_weights *w, sd_conv2d *c, int ci, int co,
                                 sd_conv_params params, sd_error *err, const char *key_fmt, ...)
    SD_PRINTF(7, 8);

/* weight and bias [channels]; channels must split into `groups`. */
sd_status sd_group_norm_bind(sd_weights *w, sd_group_norm *g, int channels, int groups,
                             float eps, sd_error *err, const char *key_fmt, ...) SD_PRINTF(7, 8);

sd_status sd_layer_norm_bind(sd_weights *w, sd_layer_norm *ln, int dim, float eps,
                             sd_error *err, const char *key_fmt, ...) SD_PRINTF(6, 7);

/* key_fmt names the weight itself (embeddings have no bias): "...token_embedding.weight". */
sd_status sd_embedding_bind(sd_weights *w, sd_embedding *e, int count, int dim, sd_error *err,
                            const char *key_fmt, ...) SD_PRINTF(6, 7);

/* The four projections under key_fmt (".<names.q>" ...); heads must divide inner. */
sd_status sd_attention_bind(sd_weights *w, sd_attention *a, int q_dim, int kv_dim, int inner,
                            int heads, const sd_attention_names *names, sd_error *err,
                            const char *key_fmt, ...) SD_PRINTF(9, 10);

/* torch.nn.MultiheadAttention's fused layout (OpenCLIP): <key>.in_proj_weight [3 · dim, dim]
 * = rows [q; k; v], <key>.in_proj_bias [3 · dim], <key>.out_proj [dim, dim]. q, k and v are
 * bound as views of the fused tensors (no copy). q is recorded as the reader of
 * <key>.in_proj_weight with k and v chained behind it (fused_next): sd_layer_set_merged splits
 * a merged copy of the fused weight into the three. */
sd_status sd_attention_bind_fused(sd_weights *w, sd_attention *a, int dim, int heads,
                                  sd_error *err, const char *key_fmt, ...) SD_PRINTF(6, 7);

/* <key>.net.0.proj [2 · inner, dim] (inner read from the file, checked even) and
 * <key>.net.2 [dim, inner]. */
sd_status sd_geglu_ff_bind(sd_weights *w, sd_geglu_ff *ff, int dim, sd_error *err,
                           const char *key_fmt, ...) SD_PRINTF(5, 6);

/* ---- finding bound layers (the hooks' way in) -------------------------------------- */

/* The module key of a bound Linear / Conv2d ("model.diffusion_model.out.2") into buf;
 * returns buf ("" when unbound or too long). */
const char *sd_layer_key(const sd_layer_params *p, char *buf, size_t size);

/* The layer that binds weight `weight_key` ("<module key>.weight"), NULL when none. */
sd_layer_params *sd_layer_find(const sd_weights *w, const char *weight_key);

/* Sets the merged hook of the layer(s) reading `merged`'s tensor: p's own, or, for a fused
 * weight (p the head of a fused_next chain, merged rows = the chain's rows together), each
 * view its rows of merged in order. sd_layer_clear_merged clears them all. */
void sd_layer_set_merged(sd_layer_params *p, const sd_tensor *merged);
void sd_layer_clear_merged(sd_layer_params *p);

/* fn for every bound Linear / Conv2d under `prefix` (a key prefix from nets/keys.h). */
void sd_layer_each(const sd_weights *w, const char *prefix,
                   void (*fn)(void *user, sd_layer_params *p), void *user);

/* ---- forwards ----------------------------------------------------------------------- */

/* y[rows, out] = x[rows, in] · Wᵀ + b. y must not alias x. */
sd_status sd_linear_forward(const sd_linear *l, const sd_layer_ctx *ctx, const float *x,
                            int rows, float *y, sd_error *err);

/* y[n, co, ho, wo] = conv2d(x[n, ci, h, w]); ho, wo from sd_conv2d_out_size. */
sd_status sd_conv2d_forward(const sd_conv2d *c, const sd_layer_ctx *ctx, const float *x, int n,
                            int h, int w, float *y, sd_error *err);
void sd_conv2d_out_size(const sd_conv2d *c, int h, int w, int *ho, int *wo);

/* y[n, co, h, w] = conv2d(x) for a 1x1 stride-1 unpadded convolution whose input x comes
 * token-major, tokens[n, hw, ci]. In bf16 the tokens go straight into the product's operand;
 * otherwise they are transposed into scratch [n, ci, hw] first (scratch unused in bf16). */
sd_status sd_conv1x1_tokens_forward(const sd_conv2d *c, const sd_layer_ctx *ctx,
                                    const float *tokens, int n, int h, int w, float *scratch,
                                    float *y, sd_error *err);

/* y[n, channels, hw] = GroupNorm(x) (then SiLU); in place allowed. */
void sd_group_norm_forward(const sd_group_norm *g, const float *x, int n, int hw, float *y);
void sd_group_norm_silu_forward(const sd_group_norm *g, const float *x, int n, int hw,
                                float *y);

/* y[rows, dim] = LayerNorm(x) over the last dim; in place allowed. */
void sd_layer_norm_forward(const sd_layer_norm *ln, const float *x, int rows, float *y);

/* dst[dim] = weight[index] (set_row) or dst += weight[index] (add_row); index in
 * 0..count-1, checked by the caller. */
void sd_embedding_set_row(const sd_embedding *e, int index, float *dst);
void sd_embedding_add_row(const sd_embedding *e, int index, float *dst);

/* y[nq, q_dim] = attention(x[nq, q_dim], context[nk, kv_dim]); context NULL: self-attention
 * (nk = nq). causal: query i sees keys 0..i. y may alias x. */
sd_status sd_attention_forward(const sd_attention *a, const sd_layer_ctx *ctx, const float *x,
                               int nq, const float *context, int nk, int causal, float *y,
                               sd_error *err);

/* y[rows, dim] = ff(x[rows, dim]); y may alias x. */
sd_status sd_geglu_ff_forward(const sd_geglu_ff *ff, const sd_layer_ctx *ctx, const float *x,
                              int rows, float *y, sd_error *err);

/* ---- pins --------------------------------------------------------------------------- */

typedef struct {
    sd_arena_mark mark;
    int n_pins;
} sd_layer_scope;

sd_layer_scope sd_layer_scope_begin(const sd_layer_ctx *ctx);
/* Unpins what was pinned since `scope` began and resets the arena to its mark. */
void sd_layer_scope_end(sd_layer_ctx *ctx, sd_layer_scope scope);

/* The layer's effective weight widened once into ctx->arena for the forwards that follow
 * (nothing to do for a fp32 weight). SD_ERR_NOMEM when the arena or the pin table is
 * full. The attention and feed-forward versions pin their projections. */
sd_status sd_layer_pin_params(sd_layer_ctx *ctx, const sd_layer_params *p, sd_error *err);
sd_status sd_attention_pin(sd_layer_ctx *ctx, const sd_attention *a, sd_error *err);
sd_status sd_geglu_ff_pin(sd_layer_ctx *ctx, const sd_geglu_ff *ff, sd_error *err);

#endif
