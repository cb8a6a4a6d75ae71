/* The VAE of Stable Diffusion 1.x (LDM AutoencoderKL): the encoder maps an image in
 * [-1, 1] to the mean and log-variance of a diagonal Gaussian over latents, the decoder
 * maps a latent back to pixels.
 *
 * Every parameter is bound at load time by its checkpoint key under "first_stage_model."
 * (encoder.down.N.block.M.conv1, decoder.up.N.upsample.conv, ...): the structs below
 * mirror those names. Activations come from the caller's arena and are given back
 * before a forward pass returns. One image at a time (batch 1). */
#ifndef SD_VAE_H
#define SD_VAE_H

#include <stddef.h>

#include "core/arena.h"
#include "layers/layers.h"
#include "nets/model_config.h"
#include "sd.h"
#include "io/weights.h"

/* The decoder has layers_per_block + 1 resnets per level: 3 for SD 1.x. */
#define SD_VAE_MAX_BLOCKS 4

/* ResnetBlock: norm1 → SiLU → conv1 → norm2 → SiLU → conv2, plus the input
 * (through nin_shortcut, a 1x1 conv, when the channel count changes). */
typedef struct {
    int in_channels, out_channels;
    sd_group_norm norm1;
    sd_conv2d conv1;
    sd_group_norm norm2;
    sd_conv2d conv2;
    int has_nin_shortcut;
    sd_conv2d nin_shortcut;
} vae_resnet_block;

/* AttnBlock: single-head self-attention over the h*w positions, head dim = channels;
 * q, k, v, proj_out are 1x1 convolutions [c, c, 1, 1], i.e. linear layers on the tokens. */
typedef struct {
    int channels;
    sd_group_norm norm;
    sd_attention attn;   /* q, k, v, proj_out */
} vae_attn_block;

typedef struct {
    vae_resnet_block block_1;
    vae_attn_block attn_1;
    vae_resnet_block block_2;
} vae_mid;

typedef struct {
    int n_blocks;
    vae_resnet_block block[SD_VAE_MAX_BLOCKS];
    int has_downsample;     /* every level but the last */
    sd_conv2d downsample;   /* downsample.conv: 3x3 stride 2 after a right/bottom pad */
} vae_encoder_level;

typedef struct {
    int n_blocks;
    vae_resnet_block block[SD_VAE_MAX_BLOCKS];
    int has_upsample;       /* every level but level 0 */
    sd_conv2d upsample;     /* upsample.conv: 3x3 after a nearest 2x */
} vae_decoder_level;

typedef struct {
    sd_conv2d conv_in;
    vae_encoder_level down[SD_MAX_LEVELS];
    vae_mid mid;
    sd_group_norm norm_out;
    sd_conv2d conv_out;     /* → 2 * latent_channels (mean | logvar) */
} vae_encoder;

typedef struct {
    sd_conv2d conv_in;
    vae_mid mid;
    vae_decoder_level up[SD_MAX_LEVELS];  /* up[levels-1] runs first */
    sd_group_norm norm_out;
    sd_conv2d conv_out;
} vae_decoder;

typedef struct {
    sd_vae_config cfg;
    vae_encoder encoder;
    sd_conv2d quant_conv;       /* 1x1, moments → moments */
    sd_conv2d post_quant_conv;  /* 1x1, z → z */
    vae_decoder decoder;
    sd_layer_precision precision;   /* SD_LAYER_FP32 after load; the model may prepare bf16 */
} sd_vae;

/* Optional observer of intermediate tensors (the golden tests compare them).
 * fn receives a name ("encoder.conv_in", "encoder.down.2", "encoder.mid",
 * "encoder.conv_out", "quant_conv", "post_quant_conv", "decoder.conv_in",
 * "decoder.mid", "decoder.up.3", "decoder.norm_out_silu") and a [1, c, h, w] tensor
 * that is only valid during the call. */
typedef struct {
    void (*fn)(void *user, const char *name, const float *x, int c, int h, int w);
    void *user;
} sd_vae_trace;

/* Binds every VAE tensor of the checkpoint for the widths and depths of cfg.
 * Returns SD_OK, or the loader's error naming the missing or misshapen key. */
sd_status sd_vae_load(sd_vae *vae, sd_weights *w, const sd_vae_config *cfg, sd_error *err);

/* Encoder + quant_conv. image [1, in_channels, height, width] in [-1, 1]; height and
 * width multiples of 8. mean and logvar receive [1, latent_channels, height/8, width/8];
 * logvar is clamped to [-30, 20] as the reference does.
 * Returns SD_OK, SD_ERR_INVALID_ARG for bad sizes, SD_ERR_NOMEM when the arena is out. */
sd_status sd_vae_encode(const sd_vae *vae, sd_arena *arena, const float *image, int height,
                        int width, float *mean, float *logvar, const sd_vae_trace *trace,
                        sd_error *err);

/* sd_vae_encode before the posterior: moments [1, 2 · latent_channels, height/8, width/8]
 * = mean | logvar, logvar not yet clamped (what tiled encoding blends). */
sd_status sd_vae_encode_moments(const sd_vae *vae, sd_arena *arena, const float *image,
                                int height, int width, float *moments,
                                const sd_vae_trace *trace, sd_error *err);

/* moments [2n] → mean [n] and logvar [n] clamped to [-30, 20]. */
void sd_vae_split_moments(const float *moments, size_t n, float *mean, float *logvar);

/* Tiles of tile_px pixels a side (a multiple of SD_VAE_TILE_MULTIPLE, at least
 * SD_VAE_TILE_MIN), overlapping by a quarter and cross-faded, as diffusers'
 * enable_tiling(): the working memory is one tile's whatever the image size. An image
 * that fits in one tile runs untiled (the same result as sd_vae_encode / decode). */
sd_status sd_vae_encode_tiled(const sd_vae *vae, sd_arena *arena, const float *image,
                              int height, int width, int tile_px, float *mean, float *logvar,
                              sd_error *err);
sd_status sd_vae_decode_tiled(const sd_vae *vae, sd_arena *arena, const float *z, int h,
                              int w, int tile_px, float *image, sd_error *err);

/* std = exp(0.5 · logvar) over n values. */
void sd_vae_std(const float *logvar, size_t n, float *std);

/* The reparameterisation trick of DiagonalGaussianDistribution.sample, then the
 * latent scaling: latent = scaling · (mean + exp(0.5 · logvar) · noise) over n values.
 * scaling = cfg.scaling_factor gives what the U-Net sees; 1 gives the raw sample. */
void sd_vae_sample(const float *mean, const float *logvar, const float *noise, size_t n,
                   float scaling, float *latent);

/* z = latent / scaling over n values: the decoder's input from a U-Net latent. */
void sd_vae_unscale(const float *latent, size_t n, float scaling, float *z);

/* post_quant_conv + decoder. z [1, latent_channels, h, w] (= U-Net latent / scaling
 * factor) → image [1, out_channels, 8h, 8w], unclamped (nominally [-1, 1]).
 * Returns SD_OK, SD_ERR_INVALID_ARG for bad sizes, SD_ERR_NOMEM when the arena is out. */
sd_status sd_vae_decode(const sd_vae *vae, sd_arena *arena, const float *z, int h, int w,
                        float *image, const sd_vae_trace *trace, sd_error *err);

/* The pipelines' post-processing: out = clamp(decoded / 2 + 0.5, 0, 1) over n values. */
void sd_vae_to_unit_range(const float *decoded, size_t n, float *out);

#endif
