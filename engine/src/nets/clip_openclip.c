/* Binding OpenCLIP ViT-H/14's text tower (SD 2.x: cond_stage_model.model.*; SD-Turbo's
 * SGM file: conditioner.embedders.0.model.*) into the CLIP text encoder's structs; the
 * forward is clip.c's. Key map (open_clip TextTransformer → transformers CLIPTextModel,
 * as diffusers' convert_open_clip_checkpoint):
 *   token_embedding.weight                   embeddings.token_embedding.weight
 *   positional_embedding [77, width]         embeddings.position_embedding.weight
 *   transformer.resblocks.N.ln_1 / ln_2      encoder.layers.N.layer_norm1 / layer_norm2
 *   transformer.resblocks.N.attn.in_proj_*   self_attn.q/k/v_proj (rows [q; k; v])
 *   transformer.resblocks.N.attn.out_proj    self_attn.out_proj
 *   transformer.resblocks.N.mlp.c_fc/c_proj  mlp.fc1 / fc2
 *   ln_final                                 final_layer_norm
 * text_projection and logit_scale are not used by SD 2.x; blocks past cfg.layers (the
 * last of 24) are never run and not bound. */
#include "nets/clip.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define OPENCLIP_LAYER_NORM_EPS 1e-5f   /* torch.nn.LayerNorm's default (open_clip) */

static sd_status bind_resblock(sd_weights *w, clip_encoder_layer *l, const sd_clip_config *cfg,
                               int index, sd_error *err)
{
    const int d = cfg->hidden, ff = cfg->intermediate;
    const char *p = cfg->prefix;
    sd_status st;
    if ((st = sd_layer_norm_bind(w, &l->layer_norm1, d, OPENCLIP_LAYER_NORM_EPS, err,
                                 "%stransformer.resblocks.%d.ln_1", p, index)) != SD_OK ||
        (st = sd_layer_norm_bind(w, &l->layer_norm2, d, OPENCLIP_LAYER_NORM_EPS, err,
                                 "%stransformer.resblocks.%d.ln_2", p, index)) != SD_OK ||
        (st = sd_attention_bind_fused(w, &l->self_attn, d, cfg->heads, err,
                                      "%stransformer.resblocks.%d.attn", p, index)) != SD_OK ||
        (st = sd_linear_bind(w, &l->mlp.fc1, d, ff, SD_LAYER_BIAS, err,
                             "%stransformer.resblocks.%d.mlp.c_fc", p, index)) != SD_OK)
        return st;
    return sd_linear_bind(w, &l->mlp.fc2, ff, d, SD_LAYER_BIAS, err,
                          "%stransformer.resblocks.%d.mlp.c_proj", p, index);
}

sd_status sd_clip_bind_openclip(sd_clip *clip, sd_weights *w, sd_error *err)
{
    const sd_clip_config *cfg = &clip->cfg;
    const int d = cfg->hidden;
    const char *p = cfg->prefix;
    if (!p || cfg->layers > cfg->stored_layers)
        return sd_fail(err, SD_ERR_INVALID_ARG, "text encoder: %d of %d OpenCLIP blocks",
                       cfg->layers, cfg->stored_layers);
    sd_status st = sd_embedding_bind(w, &clip->token_embedding, cfg->vocab_size, d, err,
                                     "%stoken_embedding.weight", p);
    if (st == SD_OK)
        st = sd_embedding_bind(w, &clip->position_embedding, cfg->max_positions, d, err,
                               "%spositional_embedding", p);
    if (st == SD_OK)
        st = sd_layer_norm_bind(w, &clip->final_layer_norm, d, OPENCLIP_LAYER_NORM_EPS, err,
                                "%sln_final", p);
    if (st == SD_OK) {
        clip->layers = calloc((size_t)cfg->layers, sizeof *clip->layers);
        if (!clip->layers)
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; st == SD_OK && i < cfg->layers; i++)
        st = bind_resblock(w, &clip->layers[i], cfg, i, err);
    if (st != SD_OK) {
        sd_clip_free(clip);
        return sd_fail_context(err, st, "text encoder");
    }
    return SD_OK;
}
