/* The bf16 hook of the layer module (layers.h, sd_layer_params.prepared): every Linear and
 * Conv2d of a network packed once, at load, into the layout of the bf16 kernels
 * (ops/ops_bf16.h), and the forwards that read it when the context's precision is
 * SD_LAYER_BF16.
 *
 * What is packed, decided by the layer that reads the weight (sd_layer_params.conv):
 *  - a Linear's [out, in] (or [out, in, 1, 1]): the cols operand of Wᵀ
 *    (ops_bf16_pack_linear_weight), the tokens [rows, in] rounded into the rows operand;
 *  - a Conv2d's [co, ci, kh, kw], 1x1 included: the rows operand
 *    (ops_bf16_pack_conv_weight); a 1x1 convolution reads the image [ci, hw] straight
 *    into the cols operand (no token-major copies).
 * The packed copy has the bf16 size of the weight (as the fp16 checkpoint's), rounded from
 * the effective weight (merged, else bound) widened exactly; its fp16 pages in the
 * checkpoint are then never read for compute. A pass that changes the effective weight
 * (a LoRA merge) prepares the layer again. */
#ifndef SD_LAYERS_BF16_H
#define SD_LAYERS_BF16_H

#include <stddef.h>

#include "layers/layers.h"
#include "ops/ops_bf16.h"

/* The packed weights of one network (one key prefix), in one mapping of an unlinked temp
 * file in /var/tmp (anonymous memory when no file can be made): like the checkpoint's own
 * pages, sd_layers_bf16_release hands their resident memory back while another network
 * runs (they stay in the page cache, or go back to the file under memory pressure) and the
 * next forward faults them in again. */
typedef struct sd_layers_bf16_pack sd_layers_bf16_pack;

/* Packs every bound Linear / Conv2d under `prefix` (nets/keys.h) for kernel isa (not
 * OPS_BF16_NONE) and points their prepared hooks at it. *out is NULL when the prefix has
 * no such layer. SD_ERR_NOMEM / SD_ERR_IO naming the weight or the temp file when memory
 * or disk runs out (nothing is then prepared). */
sd_status sd_layers_prepare_bf16(sd_weights *w, const char *prefix, ops_bf16_isa isa,
                                 sd_layers_bf16_pack **out, sd_error *err);
/* Clears the hooks of the layers under the pack's prefix (they run fp32 again) and frees
 * the pack. NULL is allowed. The network's layers must still be bound. */
void sd_layers_bf16_free(sd_weights *w, sd_layers_bf16_pack *pack);
/* Gives back the resident pages of the pack (values unchanged). NULL is allowed. */
void sd_layers_bf16_release(sd_layers_bf16_pack *pack);
/* Bytes of packed weights held. */
size_t sd_layers_bf16_bytes(const sd_layers_bf16_pack *pack);

/* The forwards' bf16 branch (layers.c calls them when ctx->precision is SD_LAYER_BF16 and
 * the layer is prepared). 0, or -1 when the arena is out. */
int sd_linear_forward_bf16(const sd_linear *l, const sd_layer_ctx *ctx, const float *x,
                           int rows, float *y);
int sd_conv2d_forward_bf16(const sd_conv2d *c, const sd_layer_ctx *ctx, const float *x, int n,
                           int h, int w, float *y);
/* The feed-forward's GEGLU and its second linear layer l (prepared): y = l(value ·
 * gelu_erf(gate)), proj [rows, 2 d] = value | gate, the gated values rounded straight to
 * bf16 (op_geglu_linear_bf16). */
int sd_geglu_out_forward_bf16(const sd_linear *l, const sd_layer_ctx *ctx, const float *proj,
                              int rows, int d, float *y);
/* A 1x1 stride-1 unpadded convolution (prepared) on token-major input: y[n, co, hw] from
 * tokens [n, hw, ci] (op_conv1x1_tokens_bf16). */
int sd_conv1x1_tokens_forward_bf16(const sd_conv2d *c, const sd_layer_ctx *ctx,
                                   const float *tokens, int n, int hw, float *y);
/* `count` Linears l[i] on the same x, y[i] = l[i](x), x rounded once (op_linears_bf16):
 * 0 done, -1 arena out, 1 when one of them is not prepared as a Linear for one kernel or
 * their inputs differ (nothing done). */
int sd_linears_forward_bf16(const sd_linear *const l[], int count, const sd_layer_ctx *ctx,
                            const float *x, int rows, float *const y[]);
/* 1 when sd_conv2d_forward_bf16 runs this convolution (else the fp32 path does). */
int sd_conv2d_bf16_ready(const sd_conv2d *c, const sd_layer_ctx *ctx);

#endif
