/* Hyper-parameters from the single-file LDM checkpoint layout, once the family table
 * (nets/family.c) has said which family the file is:
 *   model.diffusion_model.*                    U-Net (openaimodel.py names)
 *   first_stage_model.*                        VAE (AutoencoderKL, taming names)
 *   cond_stage_model.transformer.text_model.*  CLIP text encoder (transformers names)
 * Every width and depth is read from tensor shapes and counted from tensor names; only the
 * constants SD 1.x does not store (GroupNorm groups, head counts) are fixed, and the VAE
 * scale comes from the family's row. Messages name what is wrong, not the file: the
 * caller that opened the file adds its name. */
#include "nets/family.h"
#include "nets/keys.h"
#include "nets/model_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define UNET SD_KEY_UNET
#define VAE SD_KEY_VAE
#define CLIP SD_KEY_CLIP_L_TEXT

/* SD 1.x constants the checkpoint does not record (ldm configs v1-inference.yaml). */
#define SD1_GROUPS 32
#define SD1_UNET_HEADS 8
#define SD2_UNET_HEAD_DIM 64      /* v2-inference.yaml: num_head_channels */
#define SD2_TEST_UNET_HEAD_DIM 16 /* the narrow SD 2.x test model (golden-sd2) */
/* Text encoders (CLIPTextConfig / open_clip's ViT-H-14 text_cfg). */
#define CLIP_HEAD_DIM 64
#define CLIP_MIN_WIDTH_64 512     /* narrower towers are the test models: 4 heads */
#define CLIP_TEST_HEADS 4
#define CLIP_EOS_ID 49407         /* SD 1.x pads with <|endoftext|> */
#define OPENCLIP_PAD_ID 0         /* open_clip.tokenize pads with 0 */
#define OPENCLIP_H_DEPTH 24       /* ViT-H/14 text tower: 24 resblocks */
#define MAX_BLOCKS 64             /* bound on input_blocks / layer counts we scan for */

/* The tensor named by the format, or NULL. */
static const st_tensor *get(const st_file *f, const char *fmt, ...) SD_PRINTF(2, 3);
static const st_tensor *get(const st_file *f, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return NULL;
    return st_find(f, name);
}

/* Fetches a tensor that must exist with `ndim` dims; a missing or misshapen one means the
 * file is not the layout we read. */
static sd_status require(const st_file *f, const st_tensor **out, int ndim, sd_error *err,
                         const char *name)
{
    const st_tensor *t = st_find(f, name);
    if (!t)
        return sd_fail(err, SD_ERR_FORMAT, "missing tensor %s", name);
    if (t->ndim != ndim)
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s has %d dims, expected %d", name, t->ndim,
                       ndim);
    *out = t;
    return SD_OK;
}

static sd_status unsupported(sd_error *err, const char *why)
{
    return sd_fail(err, SD_ERR_UNSUPPORTED, "unsupported model: %s", why);
}

static sd_status unsupported_fmt(sd_error *err, const char *fmt, ...) SD_PRINTF(2, 3);
static sd_status unsupported_fmt(sd_error *err, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return unsupported(err, why);
}

/* input_blocks: 0 is conv_in; then per level `layers_per_block` res blocks (N.0, with a
 * spatial transformer at N.1 on attention levels), and a downsampler (N.0.op) between
 * levels. Walking them in order recovers levels, widths and attention. */
sd_status sd_unet_config_detect(const st_file *f, sd_unet_config *u, sd_error *err)
{
    memset(u, 0, sizeof *u);
    const st_tensor *t = NULL;
    sd_status s = require(f, &t, 4, err, UNET "input_blocks.0.0.weight");
    if (s != SD_OK)
        return s;
    u->model_channels = (int)t->shape[0];  /* [model_channels, in_channels, 3, 3] */
    u->in_channels = (int)t->shape[1];
    if ((s = require(f, &t, 4, err, UNET "out.2.weight")) != SD_OK)
        return s;
    u->out_channels = (int)t->shape[0];  /* [out_channels, model_channels, 3, 3] */
    if ((s = require(f, &t, 2, err, UNET "time_embed.0.weight")) != SD_OK)
        return s;
    u->time_embed_dim = (int)t->shape[0];  /* [time_embed_dim, model_channels] */

    int level = 0, in_level = 0, attn_seen = 0;
    u->levels = 0;
    u->layers_per_block = 0;
    u->context_dim = 0;
    u->transformer_depth = 0;
    for (int n = 1; n < MAX_BLOCKS; n++) {
        if (get(f, UNET "input_blocks.%d.0.op.weight", n)) {
            if (u->layers_per_block == 0)
                u->layers_per_block = in_level;
            else if (in_level != u->layers_per_block)
                return sd_fail(err, SD_ERR_UNSUPPORTED,
                               "unsupported model: U-Net level %d has %d res blocks, "
                               "level 0 has %d", level, in_level, u->layers_per_block);
            level++;
            in_level = 0;
            continue;
        }
        const st_tensor *conv = get(f, UNET "input_blocks.%d.0.in_layers.2.weight", n);
        if (!conv)
            break;
        if (level >= SD_MAX_LEVELS)
            return sd_fail(err, SD_ERR_UNSUPPORTED,
                           "unsupported model: U-Net with more than %d levels", SD_MAX_LEVELS);
        if (conv->ndim != 4)
            return sd_fail(err, SD_ERR_FORMAT, "tensor " UNET
                           "input_blocks.%d.0.in_layers.2.weight has %d dims, expected 4",
                           n, conv->ndim);
        int width = (int)conv->shape[0];  /* [C_out, C_in, 3, 3] */
        if (in_level > 0 && width != u->channels[level])
            return sd_fail(err, SD_ERR_FORMAT,
                           "U-Net level %d: res blocks of widths %d and %d", level,
                           u->channels[level], width);
        u->channels[level] = width;

        const st_tensor *proj_in = get(f, UNET "input_blocks.%d.1.proj_in.weight", n);
        int has_attn = proj_in != NULL;
        if (in_level > 0 && has_attn != u->attention[level])
            return sd_fail(err, SD_ERR_FORMAT,
                           "U-Net level %d: attention on some res blocks only", level);
        u->attention[level] = has_attn;
        if (has_attn && !attn_seen) {
            attn_seen = 1;
            /* linear projections ([C, C] instead of a 1x1 conv) are SD 2.x's */
            u->use_linear_projection = proj_in->ndim == 2;
            const st_tensor *to_k = get(
                f, UNET "input_blocks.%d.1.transformer_blocks.0.attn2.to_k.weight", n);
            if (!to_k || to_k->ndim != 2)
                return sd_fail(err, SD_ERR_FORMAT, "missing tensor " UNET
                               "input_blocks.%d.1.transformer_blocks.0.attn2.to_k.weight", n);
            u->context_dim = (int)to_k->shape[1];  /* [C, context_dim] */
            while (u->transformer_depth < MAX_BLOCKS &&
                   get(f, UNET "input_blocks.%d.1.transformer_blocks.%d.norm1.weight", n,
                       u->transformer_depth))
                u->transformer_depth++;
        }
        in_level++;
    }
    if (in_level == 0 || (u->layers_per_block && in_level != u->layers_per_block))
        return sd_fail(err, SD_ERR_FORMAT, "U-Net input_blocks end in an incomplete level %d",
                       level);
    if (u->layers_per_block == 0)
        u->layers_per_block = in_level;
    u->levels = level + 1;
    u->num_heads = SD1_UNET_HEADS;
    u->groups = SD1_GROUPS;

    if (!attn_seen)
        return sd_fail(err, SD_ERR_FORMAT, "U-Net has no spatial transformers");
    if (u->use_linear_projection) {
        /* The checkpoint does not store the head width. SD 2.x fixes it at 64
         * (num_head_channels: 64, heads 5, 10, 20, 20); the narrow test model of
         * golden-sd2 (widths 32..128) uses 16. Rule: 64 when every attention width is a
         * multiple of 64, otherwise 16. */
        u->head_dim = SD2_UNET_HEAD_DIM;
        for (int l = 0; l < u->levels; l++)
            if (u->attention[l] && u->channels[l] % SD2_UNET_HEAD_DIM)
                u->head_dim = SD2_TEST_UNET_HEAD_DIM;
    }
    for (int l = 0; l < u->levels; l++)
        if (u->channels[l] % u->groups ||
            (u->attention[l] && u->channels[l] % (u->head_dim ? u->head_dim : u->num_heads)))
            return sd_fail(err, SD_ERR_FORMAT,
                           "U-Net level %d width %d is not a multiple of %d groups and %d "
                           "%s", l, u->channels[l], u->groups,
                           u->head_dim ? u->head_dim : u->num_heads,
                           u->head_dim ? "channels per head" : "heads");
    if (!get(f, UNET "middle_block.1.proj_in.weight") ||
        !get(f, UNET "output_blocks.%d.0.in_layers.2.weight",
             u->levels * (u->layers_per_block + 1) - 1))
        return sd_fail(err, SD_ERR_FORMAT, "U-Net middle_block or output_blocks incomplete");
    return SD_OK;
}

/* The U-Net of a file the family table took: its projections must be the row's. */
static sd_status detect_unet(const st_file *f, const sd_family_row *row, sd_unet_config *u,
                             sd_error *err)
{
    sd_status s = sd_unet_config_detect(f, u, err);
    if (s != SD_OK)
        return s;
    if (u->use_linear_projection != row->linear_projection) {
        char why[200];
        snprintf(why, sizeof why, "%s U-Net (%s proj_in, context dim %d) under the %s's "
                 "text encoder", u->use_linear_projection ? "SD 2.x" : "SD 1.x",
                 u->use_linear_projection ? "linear" : "conv", u->context_dim, row->title);
        return unsupported(err, why);
    }
    return SD_OK;
}

/* encoder.down.L.block.B: res blocks per level; the decoder mirrors it with one more
 * block per level (decoder.up.L.block.0..layers). */
static sd_status detect_vae(const st_file *f, float scaling_factor, sd_vae_config *v,
                            sd_error *err)
{
    const st_tensor *t = NULL;
    sd_status s = require(f, &t, 4, err, VAE "encoder.conv_in.weight");
    if (s != SD_OK)
        return s;
    v->in_channels = (int)t->shape[1];  /* [C0, 3, 3, 3] */
    if ((s = require(f, &t, 4, err, VAE "decoder.conv_out.weight")) != SD_OK)
        return s;
    v->out_channels = (int)t->shape[0];  /* [3, C0, 3, 3] */
    if ((s = require(f, &t, 4, err, VAE "post_quant_conv.weight")) != SD_OK)
        return s;
    v->latent_channels = (int)t->shape[0];  /* [4, 4, 1, 1] */

    v->levels = 0;
    while (get(f, VAE "encoder.down.%d.block.0.conv2.weight", v->levels)) {
        if (v->levels >= SD_MAX_LEVELS)
            return sd_fail(err, SD_ERR_UNSUPPORTED,
                           "unsupported model: VAE with more than %d levels", SD_MAX_LEVELS);
        v->levels++;
    }
    if (v->levels == 0)
        return sd_fail(err, SD_ERR_FORMAT, "missing tensor " VAE
                       "encoder.down.0.block.0.conv2.weight");
    for (int l = 0; l < v->levels; l++) {
        t = get(f, VAE "encoder.down.%d.block.0.conv2.weight", l);
        if (t->ndim != 4)
            return sd_fail(err, SD_ERR_FORMAT, "VAE encoder level %d conv2 is not a conv", l);
        v->channels[l] = (int)t->shape[0];  /* [C_l, C_l, 3, 3] */
        if (v->channels[l] % SD1_GROUPS)
            return sd_fail(err, SD_ERR_FORMAT,
                           "VAE level %d width %d is not a multiple of %d groups", l,
                           v->channels[l], SD1_GROUPS);
    }
    v->layers_per_block = 0;
    while (v->layers_per_block < MAX_BLOCKS &&
           get(f, VAE "encoder.down.0.block.%d.conv1.weight", v->layers_per_block))
        v->layers_per_block++;
    for (int l = 0; l < v->levels; l++)
        if (!get(f, VAE "encoder.down.%d.block.%d.conv1.weight", l, v->layers_per_block - 1) ||
            !get(f, VAE "decoder.up.%d.block.%d.conv1.weight", l, v->layers_per_block))
            return sd_fail(err, SD_ERR_FORMAT,
                           "VAE level %d lacks its %d encoder / %d decoder res blocks", l,
                           v->layers_per_block, v->layers_per_block + 1);
    if (!get(f, VAE "encoder.mid.attn_1.q.weight") || !get(f, VAE "decoder.mid.attn_1.q.weight"))
        return sd_fail(err, SD_ERR_FORMAT, "VAE mid-block attention missing");
    v->groups = SD1_GROUPS;
    v->scaling_factor = scaling_factor;
    return SD_OK;
}

/* The checkpoint does not store the head count. CLIP ViT-L/14 (SD 1.x) and OpenCLIP
 * ViT-H/14 (SD 2.x) use heads of 64 (768 = 12 x 64, 1024 = 16 x 64); the narrow test models
 * use 4 heads (64 = 4 x 16). Rule: head dim 64 when the width is a multiple of 64 and at
 * least 512, otherwise 4 heads. */
static sd_status text_heads(sd_clip_config *c, sd_error *err)
{
    if (c->hidden >= CLIP_MIN_WIDTH_64 && c->hidden % CLIP_HEAD_DIM == 0)
        c->heads = c->hidden / CLIP_HEAD_DIM;
    else
        c->heads = CLIP_TEST_HEADS;
    if (c->hidden % c->heads)
        return sd_fail(err, SD_ERR_FORMAT, "text encoder width %d does not split into %d heads",
                       c->hidden, c->heads);
    return SD_OK;
}

static sd_status detect_clip(const st_file *f, sd_clip_config *c, sd_error *err)
{
    const st_tensor *t = NULL;
    c->kind = SD_TEXT_CLIP_L;
    c->prefix = CLIP;
    c->pad_id = CLIP_EOS_ID;
    sd_status s = require(f, &t, 2, err, CLIP "embeddings.token_embedding.weight");
    if (s != SD_OK)
        return s;
    c->vocab_size = (int)t->shape[0];  /* [vocab, hidden] */
    c->hidden = (int)t->shape[1];
    if ((s = require(f, &t, 2, err, CLIP "embeddings.position_embedding.weight")) != SD_OK)
        return s;
    c->max_positions = (int)t->shape[0];  /* [77, hidden] */
    if ((s = require(f, &t, 2, err, CLIP "encoder.layers.0.mlp.fc1.weight")) != SD_OK)
        return s;
    c->intermediate = (int)t->shape[0];  /* [intermediate, hidden] */
    c->layers = 0;
    while (c->layers < MAX_BLOCKS &&
           get(f, CLIP "encoder.layers.%d.self_attn.q_proj.weight", c->layers))
        c->layers++;
    c->stored_layers = c->layers;
    return text_heads(c, err);
}

/* OpenCLIP's TextTransformer (SD 2.x): <prefix>token_embedding.weight [vocab, width],
 * positional_embedding [77, width], transformer.resblocks.N.*, ln_final. */
static sd_status detect_openclip(const st_file *f, const char *prefix, sd_clip_config *c,
                                 sd_error *err)
{
    char name[160];
    const st_tensor *t = NULL;
    c->kind = SD_TEXT_OPENCLIP_H;
    c->prefix = prefix;
    c->pad_id = OPENCLIP_PAD_ID;
    snprintf(name, sizeof name, "%stoken_embedding.weight", prefix);
    sd_status s = require(f, &t, 2, err, name);
    if (s != SD_OK)
        return s;
    c->vocab_size = (int)t->shape[0];  /* [vocab, width] */
    c->hidden = (int)t->shape[1];
    snprintf(name, sizeof name, "%spositional_embedding", prefix);
    if ((s = require(f, &t, 2, err, name)) != SD_OK)
        return s;
    c->max_positions = (int)t->shape[0];  /* [77, width] */
    snprintf(name, sizeof name, "%stransformer.resblocks.0.mlp.c_fc.weight", prefix);
    if ((s = require(f, &t, 2, err, name)) != SD_OK)
        return s;
    c->intermediate = (int)t->shape[0];  /* [mlp, width] */
    c->stored_layers = 0;
    while (c->stored_layers < MAX_BLOCKS &&
           get(f, "%stransformer.resblocks.%d.attn.in_proj_weight", prefix, c->stored_layers))
        c->stored_layers++;
    /* SD 2.x conditions on the penultimate block of ViT-H's 24 (ldm
     * FrozenOpenCLIPEmbedder(layer="penultimate")): 23 are run. Real files hold all 24;
     * files written back from diffusers hold the 23 it keeps. */
    if (c->stored_layers != OPENCLIP_H_DEPTH && c->stored_layers != OPENCLIP_H_DEPTH - 1)
        return unsupported_fmt(err, "OpenCLIP text encoder with %d blocks (ViT-H/14 has %d)",
                               c->stored_layers, OPENCLIP_H_DEPTH);
    c->layers = OPENCLIP_H_DEPTH - 1;
    return text_heads(c, err);
}

sd_status sd_model_config_detect(const st_file *f, sd_model_config *cfg, sd_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    sd_family_match m;
    sd_status s = sd_family_detect(f, &m, err);
    if (s != SD_OK)
        return s;
    const sd_family_row *row = m.row;
    if (row->not_runnable) {
        char why[320];
        snprintf(why, sizeof why, "%s (%s): %s", row->title, row->evidence, row->not_runnable);
        return sd_family_refuse(err, why);
    }
    if (row->text_encoder == SD_TEXT_CLIP_L && !sd_has_prefix(f, CLIP))
        return unsupported(err, "text encoder without the text_model. prefix (an old "
                                "transformers layout)");
    if ((s = detect_unet(f, row, &cfg->unet, err)) != SD_OK ||
        (s = detect_vae(f, row->vae_scale, &cfg->vae, err)) != SD_OK ||
        (s = row->text_encoder == SD_TEXT_OPENCLIP_H
                 ? detect_openclip(f, row->text_prefix, &cfg->clip, err)
                 : detect_clip(f, &cfg->clip, err)) != SD_OK) {
        /* a damaged file of a newer family: say which family it looked like */
        if (row->text_encoder != SD_TEXT_CLIP_L)
            sd_fail_context(err, s, "%s (%s)", row->title, row->evidence);
        return s;
    }
    if (cfg->clip.hidden != cfg->unet.context_dim)
        return sd_fail(err, SD_ERR_FORMAT, "CLIP width %d differs from the U-Net context dim %d",
                       cfg->clip.hidden, cfg->unet.context_dim);
    if (cfg->vae.latent_channels != cfg->unet.out_channels)
        return sd_fail(err, SD_ERR_FORMAT,
                       "VAE latent channels %d differ from the U-Net output channels %d",
                       cfg->vae.latent_channels, cfg->unet.out_channels);
    cfg->family = row->family;
    cfg->prediction = m.prediction;
    return SD_OK;
}
