/* The CLIP text encoder of Stable Diffusion 1.x (transformers' CLIPTextModel) and SD 2.x
 * (OpenCLIP ViT-H/14's text tower: the same graph with exact GELU):
 * token ids [77] → token + position embeddings → pre-LN transformer layers with a
 * causal mask → final LayerNorm → the [77, hidden] conditioning the U-Net attends to.
 *
 * Parameters are bound at load time by their checkpoint keys under
 * "cond_stage_model.transformer.text_model." (embeddings.token_embedding,
 * encoder.layers.N.self_attn.q_proj, ...): the structs below mirror those names. The
 * OpenCLIP layout binds into the same structs (clip_openclip.c has the key map:
 * resblocks.N.ln_1 → layer_norm1, attn.in_proj_weight rows → q/k/v_proj views,
 * mlp.c_fc / c_proj → fc1 / fc2, ln_final → final_layer_norm). */
#ifndef SD_CLIP_H
#define SD_CLIP_H

#include <stdint.h>

#include "core/arena.h"
#include "layers/layers.h"
#include "nets/model_config.h"
#include "sd.h"
#include "io/weights.h"

typedef struct {
    sd_linear fc1;    /* [intermediate, hidden] */
    sd_linear fc2;    /* [hidden, intermediate] */
} clip_mlp;

typedef struct {
    sd_layer_norm layer_norm1;
    sd_attention self_attn;   /* q_proj, k_proj, v_proj, out_proj [hidden, hidden] */
    sd_layer_norm layer_norm2;
    clip_mlp mlp;
} clip_encoder_layer;

typedef struct {
    sd_clip_config cfg;
    sd_embedding token_embedding;      /* [vocab, hidden] */
    sd_embedding position_embedding;   /* [positions, hidden] */
    clip_encoder_layer *layers;        /* cfg.layers of them */
    sd_layer_norm final_layer_norm;
} sd_clip;

/* Optional observer of intermediate tensors (the golden tests compare them).
 * fn receives "embeddings" or "layer_N" (the hidden state after N encoder layers,
 * N = 1..layers, i.e. transformers' hidden_states[N]) as [tokens, hidden]; the data
 * is only valid during the call. */
typedef struct {
    void (*fn)(void *user, const char *name, const float *x, int tokens, int hidden);
    void *user;
} sd_clip_trace;

/* Binds every text-encoder tensor of the checkpoint for the sizes of cfg.
 * Returns SD_OK, SD_ERR_NOMEM, or the loader's error naming the key. On failure
 * nothing needs freeing; on success release with sd_clip_free. */
sd_status sd_clip_load(sd_clip *clip, sd_weights *w, const sd_clip_config *cfg, sd_error *err);
void sd_clip_free(sd_clip *clip);

/* sd_clip_load's OpenCLIP half (clip_openclip.c): clip->cfg set, the rest zero. */
sd_status sd_clip_bind_openclip(sd_clip *clip, sd_weights *w, sd_error *err);

/* Encodes one sequence of n_tokens ids (1..cfg.max_positions; SD pads to 77).
 * clip_skip 1 runs cfg.layers layers (SD 1.x: every one; SD 2.x: the 23 of 24 it
 * conditions on); clip_skip k stops after layers - k + 1 layers (2 = one layer earlier,
 * as A1111 and diffusers' clip_skip=1: diffusers' SD 2.x text encoder also holds the 23
 * layers, so its clip_skip=1 is our 2 there too). Either way the final LayerNorm is
 * applied. out receives [n_tokens, hidden].
 * Returns SD_OK, SD_ERR_INVALID_ARG (id out of vocabulary, bad length or clip_skip),
 * SD_ERR_NOMEM when the arena is out. */
sd_status sd_clip_encode(const sd_clip *clip, sd_arena *arena, const int32_t *ids,
                         int n_tokens, int clip_skip, float *out, const sd_clip_trace *trace,
                         sd_error *err);

#endif
