/* The model's hyper-parameters, derived from the checkpoint's tensor names and shapes
 * (never from the file name). SD 1.5 values in comments. */
#ifndef SD_MODEL_CONFIG_H
#define SD_MODEL_CONFIG_H

#include "io/safetensors.h"
#include "nets/family.h"
#include "sd.h"

#define SD_MAX_LEVELS 4

typedef struct {
    int in_channels;          /* 4; 9 for inpainting */
    int out_channels;         /* 4 */
    int model_channels;       /* 320 */
    int levels;               /* 4 */
    int channels[SD_MAX_LEVELS];  /* 320 640 1280 1280 */
    int attention[SD_MAX_LEVELS]; /* 1 1 1 0: level has spatial transformers */
    int layers_per_block;     /* 2 */
    int num_heads;            /* 8 (SD 1.x: fixed head count, head dim = C/8) */
    int head_dim;             /* 0 (SD 1.x); SD 2.x: 64, heads = C/64 at every level */
    int context_dim;          /* 768 */
    int time_embed_dim;       /* 1280 = 4 * model_channels */
    int transformer_depth;    /* 1 */
    int use_linear_projection;/* 0: proj_in/proj_out are 1x1 convs */
    int groups;               /* 32 */
} sd_unet_config;

typedef struct {
    int in_channels;          /* 3 */
    int out_channels;         /* 3 */
    int latent_channels;      /* 4 */
    int levels;               /* 4 */
    int channels[SD_MAX_LEVELS];  /* 128 256 512 512 */
    int layers_per_block;     /* 2 (encoder); the decoder has one more */
    int groups;               /* 32 */
    float scaling_factor;     /* 0.18215 */
} sd_vae_config;

typedef struct {
    int vocab_size;           /* 49408 */
    int max_positions;        /* 77 */
    int hidden;               /* 768 */
    int layers;               /* 12 */
    int heads;                /* 12 */
    int intermediate;         /* 3072 */
    /* Which layout and activation (the family's text encoder, nets/family.h):
     *   SD_TEXT_CLIP_L      transformers' CLIPTextModel under `prefix` (text_model.),
     *                       quick_gelu, every layer run (layers = the stored count);
     *   SD_TEXT_OPENCLIP_H  OpenCLIP's TextTransformer under `prefix` (model.),
     *                       exact-erf GELU, fused in_proj; layers = the blocks SD 2.x runs
     *                       (the penultimate of 24: 23), stored_layers = what the file holds. */
    sd_text_encoder_kind kind;
    const char *prefix;       /* "cond_stage_model.transformer.text_model." */
    int stored_layers;        /* 12 (OpenCLIP ViT-H: 24) */
    int pad_id;               /* token id after <|endoftext|>: 49407 (SD 2.x: 0) */
} sd_clip_config;

typedef struct {
    sd_family family;
    sd_prediction prediction;
    sd_unet_config unet;
    sd_vae_config vae;
    sd_clip_config clip;
} sd_model_config;

/* Reads the family (the table's row, nets/family.h) and every width/depth from the
 * checkpoint. Families that do not run (SD 2.x, SDXL, ...) and files that match no row
 * give SD_ERR_UNSUPPORTED with "unsupported model: <why>". */
sd_status sd_model_config_detect(const st_file *f, sd_model_config *cfg, sd_error *err);

/* The U-Net's part alone (model.diffusion_model.*), SD 1.x or SD 2.x (linear proj_in /
 * proj_out, heads of a fixed width): what the U-Net runs on whatever the text encoder. */
sd_status sd_unet_config_detect(const st_file *f, sd_unet_config *u, sd_error *err);

#endif
