/* The SD 1.x / 2.x U-Net (LDM's openaimodel.UNetModel): eps = unet(x, t, context).
 *
 * Weights are bound once, by the checkpoint's own keys under model.diffusion_model
 * (input_blocks.N.M..., middle_block.M..., output_blocks.N.M..., time_embed, out), so the
 * structs below mirror the LDM module tree:
 *
 *   input_blocks.0       conv_in (3x3, in_channels → model_channels)
 *   input_blocks.1..     per level: layers_per_block × [resblock (+ spatial transformer)],
 *                        then a downsample (.0.op) except at the last level
 *   middle_block         resblock, spatial transformer, resblock
 *   output_blocks.0..    per level, deepest first: (layers_per_block + 1) ×
 *                        [resblock on concat(h, skip) (+ spatial transformer)],
 *                        the last one followed by an upsample (.1.conv or .2.conv)
 *   out                  GroupNorm + SiLU (out.0), 3x3 conv (out.2)
 *
 * A forward pass takes every activation from the caller's arena and gives it all back
 * before returning; nothing is allocated per op. */
#ifndef SD_UNET_H
#define SD_UNET_H

#include "core/arena.h"
#include "layers/layers.h"
#include "nets/model_config.h"
#include "sd.h"
#include "io/weights.h"

/* Bounds of the fixed block tables (SD 1.x: 2 layers per block, depth 1). */
#define SD_UNET_MAX_LAYERS 3
#define SD_UNET_MAX_DEPTH 2
#define SD_UNET_MAX_BLOCKS (1 + SD_MAX_LEVELS * (SD_UNET_MAX_LAYERS + 1))

/* ResBlock: in_layers (GN, SiLU, conv) → + emb_layers (SiLU, Linear) → out_layers
 * (GN, SiLU, dropout, conv) → + skip_connection(x) (1x1 conv when channels change). */
typedef struct {
    int in_channels, out_channels;
    sd_group_norm in_layers_0;
    sd_conv2d in_layers_2;
    sd_linear emb_layers_1;
    sd_group_norm out_layers_0;
    sd_conv2d out_layers_3;
    int has_skip_connection;
    sd_conv2d skip_connection;
} sd_unet_resblock;

/* BasicTransformerBlock: self-attention, cross-attention on the text context, GEGLU FF. */
typedef struct {
    sd_layer_norm norm1, norm2, norm3;
    sd_attention attn1;   /* to_q, to_k, to_v [C, C] (no bias), to_out.0 */
    sd_attention attn2;   /* to_q [C, C], to_k, to_v [C, context_dim], to_out.0 */
    sd_geglu_ff ff;       /* ff.net.0.proj [2 · inner, C], ff.net.2 [C, inner] */
} sd_unet_transformer_block;

/* proj_in / proj_out: a 1x1 conv on [C, hw] (SD 1.x) or a Linear on the tokens (SD 2.x). */
typedef union {
    sd_conv2d conv;       /* [C, C, 1, 1] */
    sd_linear linear;     /* [C, C] */
} sd_unet_projection;

/* SpatialTransformer: GN → proj_in → tokens → transformer_blocks → proj_out → + x; SD 1.x
 * projects before making tokens (1x1 conv), SD 2.x after (use_linear_projection). */
typedef struct {
    int channels;
    int linear_projection;
    sd_group_norm norm;
    sd_unet_projection proj_in, proj_out;
    int depth;
    sd_unet_transformer_block transformer_blocks[SD_UNET_MAX_DEPTH];
} sd_unet_spatial_transformer;

/* One entry of input_blocks / middle_block / output_blocks: the modules it holds, in order. */
typedef struct {
    int has_resblock, has_transformer, has_downsample, has_upsample;
    sd_unet_resblock resblock;
    sd_unet_spatial_transformer transformer;
    sd_conv2d sample_conv;         /* downsample .op (stride 2) or upsample .conv */
} sd_unet_block;

typedef struct {
    sd_unet_config cfg;
    sd_linear time_embed_0, time_embed_2;
    sd_conv2d conv_in;                             /* input_blocks.0.0 */
    int n_input_blocks, n_output_blocks;
    sd_unet_block input_blocks[SD_UNET_MAX_BLOCKS];  /* [0] unused: conv_in */
    sd_unet_resblock middle_block_0;
    sd_unet_spatial_transformer middle_block_1;
    sd_unet_resblock middle_block_2;
    sd_unet_block output_blocks[SD_UNET_MAX_BLOCKS];
    sd_group_norm out_0;                           /* + SiLU (out.1) */
    sd_conv2d out_2;
    sd_layer_precision precision;   /* SD_LAYER_FP32 after load; the model may prepare bf16 */
} sd_unet;

/* Optional observer of intermediate activations (the golden test compares them).
 * Called with LDM module paths: "time_proj" and "time_embedding" [1, dim, 1, 1],
 * "input_blocks.N", "middle_block", "output_blocks.N", "out.1" [n, c, h, w]. */
typedef struct {
    void (*fn)(void *user, const char *name, const float *x, int n, int c, int h, int w);
    void *user;
} sd_unet_trace;

/* Binds every U-Net tensor of `w` for the architecture `cfg` (sd_model_config_detect),
 * checking each shape. u keeps pointers into w: w must outlive u (nothing to free).
 * Returns SD_OK; SD_ERR_FORMAT naming the key on a missing tensor or wrong shape;
 * SD_ERR_UNSUPPORTED for configurations outside SD 1.x / 2.x (more layers or depth than
 * the tables hold, channels not divisible by the head count or width). */
sd_status sd_unet_load(sd_unet *u, sd_weights *w, const sd_unet_config *cfg, sd_error *err);

/* eps_out[B, out_channels, h, w] = unet(x[B, in_channels, h, w], timestep,
 * context[B, n_ctx, context_dim]). One timestep for the whole batch; any h, w ≥ 1
 * (sides that do not halve evenly are upsampled back to the skip sizes). Scratch comes
 * from `a` and is all given back. trace may be NULL.
 * Returns SD_OK; SD_ERR_INVALID_ARG on bad sizes; SD_ERR_NOMEM when the arena cannot grow. */
sd_status sd_unet_forward(const sd_unet *u, sd_arena *a, const float *x, int batch, int h,
                          int w, float timestep, const float *context, int n_ctx,
                          float *eps_out, const sd_unet_trace *trace, sd_error *err);

#endif
