/* The U-Net's building blocks, each named after the LDM module it computes and
 * bound by that module's checkpoint prefix ("model.diffusion_model.input_blocks.1.0").
 * unet.c composes them; nothing outside the U-Net uses them. */
#ifndef SD_UNET_BLOCKS_H
#define SD_UNET_BLOCKS_H

#include "nets/unet.h"

/* Constants as the LDM / diffusers modules set them. */
#define UNET_RESBLOCK_NORM_EPS 1e-5f      /* normalization(): GroupNorm32, torch default */
#define UNET_TRANSFORMER_NORM_EPS 1e-6f   /* SpatialTransformer.norm = Normalize(eps=1e-6) */
#define UNET_LAYER_NORM_EPS 1e-5f         /* BasicTransformerBlock norm1..3, torch default */

/* ---- binding (all return SD_OK or SD_ERR_FORMAT naming the key) ---- */

/* A 3x3 convolution, padding 1, of the given stride at `prefix` (conv_in, .op, .conv, out.2). */
sd_status unet_conv3x3_bind(sd_weights *w, sd_conv2d *c, int ci, int co, int stride,
                            const char *prefix, sd_error *err);
sd_status unet_resblock_load(sd_unet_resblock *rb, sd_weights *w, const char *prefix,
                             int in_channels, int out_channels, const sd_unet_config *cfg,
                             sd_error *err);
sd_status unet_spatial_transformer_load(sd_unet_spatial_transformer *st, sd_weights *w,
                                        const char *prefix, int channels,
                                        const sd_unet_config *cfg, sd_error *err);

/* ---- forward (all return SD_OK, or SD_ERR_NOMEM when the arena cannot grow) ---- */

/* y[n, out_channels, h, w] = resblock(x[n, in_channels, h, w], emb_silu[time_embed_dim]).
 * emb_silu is SiLU(time embedding), shared by the whole batch. y must not alias x. */
sd_status unet_resblock(const sd_unet_resblock *rb, sd_layer_ctx *ctx, const float *x, int n,
                        int h, int w, const float *emb_silu, float *y, sd_error *err);

/* x[n, C, h, w] = spatial_transformer(x, context[n, n_ctx, context_dim]), in place. */
sd_status unet_spatial_transformer(const sd_unet_spatial_transformer *st,
                                   const sd_unet_config *cfg, sd_layer_ctx *ctx, float *x,
                                   int n, int h, int w, const float *context, int n_ctx,
                                   sd_error *err);

/* y[n, c, ho, wo] = 3x3 conv of nearest(x[n, c, h, w] → ho x wo). */
sd_status unet_upsample(const sd_conv2d *conv, sd_layer_ctx *ctx, const float *x, int n, int c,
                        int h, int w, int ho, int wo, float *y, sd_error *err);

#endif
