/* CLIP text encoder forward pass (transformers' CLIPTextModel as SD 1.x uses it:
 * causal mask, no padding mask, quick_gelu, pre-LN layers), and the same pass for SD 2.x's
 * OpenCLIP ViT-H tower (exact GELU; its binding is clip_openclip.c). */
#include "nets/keys.h"
#include "nets/clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

#define CLIP_PREFIX SD_KEY_CLIP_L_TEXT
#define CLIP_LAYER_NORM_EPS 1e-5f   /* CLIPTextConfig.layer_norm_eps */

/* ---- loading ------------------------------------------------------------ */

static const sd_attention_names clip_attention_names = {
    "q_proj", "k_proj", "v_proj", "out_proj", SD_LAYER_BIAS,
};

static sd_status bind_encoder_layer(sd_weights *w, clip_encoder_layer *l,
                                    const sd_clip_config *cfg, int index, sd_error *err)
{
    const int d = cfg->hidden, ff = cfg->intermediate;
    sd_status st;
    if ((st = sd_layer_norm_bind(w, &l->layer_norm1, d, CLIP_LAYER_NORM_EPS, err,
                                 CLIP_PREFIX "encoder.layers.%d.layer_norm1", index)) != SD_OK ||
        (st = sd_layer_norm_bind(w, &l->layer_norm2, d, CLIP_LAYER_NORM_EPS, err,
                                 CLIP_PREFIX "encoder.layers.%d.layer_norm2", index)) != SD_OK ||
        (st = sd_attention_bind(w, &l->self_attn, d, d, d, cfg->heads, &clip_attention_names,
                                err, CLIP_PREFIX "encoder.layers.%d.self_attn", index)) != SD_OK ||
        (st = sd_linear_bind(w, &l->mlp.fc1, d, ff, SD_LAYER_BIAS, err,
                             CLIP_PREFIX "encoder.layers.%d.mlp.fc1", index)) != SD_OK)
        return st;
    return sd_linear_bind(w, &l->mlp.fc2, ff, d, SD_LAYER_BIAS, err,
                          CLIP_PREFIX "encoder.layers.%d.mlp.fc2", index);
}

sd_status sd_clip_load(sd_clip *clip, sd_weights *w, const sd_clip_config *cfg, sd_error *err)
{
    if (!clip || !w || !cfg)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_clip_load: NULL argument");
    memset(clip, 0, sizeof *clip);
    if (cfg->layers < 1 || cfg->heads < 1 || cfg->hidden < 1 || cfg->hidden % cfg->heads ||
        cfg->vocab_size < 1 || cfg->max_positions < 1 || cfg->intermediate < 1)
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "unsupported model: text encoder with hidden %d, %d heads, %d layers",
                       cfg->hidden, cfg->heads, cfg->layers);
    clip->cfg = *cfg;
    if (cfg->kind == SD_TEXT_OPENCLIP_H)
        return sd_clip_bind_openclip(clip, w, err);
    const int d = cfg->hidden;
    sd_status st = sd_embedding_bind(w, &clip->token_embedding, cfg->vocab_size, d, err,
                                     CLIP_PREFIX "embeddings.token_embedding.weight");
    if (st == SD_OK)
        st = sd_embedding_bind(w, &clip->position_embedding, cfg->max_positions, d, err,
                               CLIP_PREFIX "embeddings.position_embedding.weight");
    if (st == SD_OK)
        st = sd_layer_norm_bind(w, &clip->final_layer_norm, d, CLIP_LAYER_NORM_EPS, err,
                                CLIP_PREFIX "final_layer_norm");
    if (st == SD_OK) {
        clip->layers = calloc((size_t)cfg->layers, sizeof *clip->layers);
        if (!clip->layers)
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; st == SD_OK && i < cfg->layers; i++)
        st = bind_encoder_layer(w, &clip->layers[i], cfg, i, err);
    if (st != SD_OK) {
        sd_clip_free(clip);
        return sd_fail_context(err, st, "text encoder");
    }
    return SD_OK;
}

void sd_clip_free(sd_clip *clip)
{
    if (!clip)
        return;
    free(clip->layers);
    clip->layers = NULL;
}

/* ---- forward ------------------------------------------------------------ */

/* Activations of one pass: x is the residual stream, h the branch. */
typedef struct {
    float *x;        /* [n, hidden] */
    float *h;        /* [n, hidden] */
    float *mlp;      /* [n, intermediate] */
} clip_state;

/* CLIPMLP: fc1 → quick_gelu → fc2 (OpenCLIP: c_fc → GELU (erf) → c_proj), x [n, d] →
 * y [n, d]. */
static sd_status mlp(const clip_mlp *m, const sd_clip_config *cfg, const sd_layer_ctx *ctx,
                     clip_state *s, const float *x, int n, float *y, sd_error *err)
{
    sd_status st = sd_linear_forward(&m->fc1, ctx, x, n, s->mlp, err);   /* [n, ff] */
    if (st != SD_OK)
        return st;
    if (cfg->kind == SD_TEXT_OPENCLIP_H)
        op_gelu_erf(s->mlp, (size_t)n * cfg->intermediate);
    else
        op_quick_gelu(s->mlp, (size_t)n * cfg->intermediate);
    return sd_linear_forward(&m->fc2, ctx, s->mlp, n, y, err);            /* [n, d] */
}

/* CLIPEncoderLayer (pre-LN): x += self_attn(layer_norm1(x)); x += mlp(layer_norm2(x)),
 * self_attn with the causal mask. */
static sd_status encoder_layer(const clip_encoder_layer *l, const sd_clip_config *cfg,
                               const sd_layer_ctx *ctx, clip_state *s, int n, sd_error *err)
{
    const size_t nd = (size_t)n * cfg->hidden;
    sd_layer_norm_forward(&l->layer_norm1, s->x, n, s->h);
    sd_status st = sd_attention_forward(&l->self_attn, ctx, s->h, n, NULL, n, 1, s->h, err);
    if (st != SD_OK)
        return st;
    op_add(s->x, s->h, s->x, nd);
    sd_layer_norm_forward(&l->layer_norm2, s->x, n, s->h);
    if ((st = mlp(&l->mlp, cfg, ctx, s, s->h, n, s->h, err)) != SD_OK)
        return st;
    op_add(s->x, s->h, s->x, nd);
    return SD_OK;
}

static void trace_emit(const sd_clip_trace *trace, const char *name, const float *x, int n,
                       int d)
{
    if (trace && trace->fn)
        trace->fn(trace->user, name, x, n, d);
}

sd_status sd_clip_encode(const sd_clip *clip, sd_arena *arena, const int32_t *ids,
                         int n_tokens, int clip_skip, float *out, const sd_clip_trace *trace,
                         sd_error *err)
{
    if (!clip || !clip->layers || !arena || !ids || !out)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_clip_encode: NULL argument");
    const sd_clip_config *cfg = &clip->cfg;
    const int n = n_tokens, d = cfg->hidden;
    if (n < 1 || n > cfg->max_positions)
        return sd_fail(err, SD_ERR_INVALID_ARG, "text encoder: %d tokens (1..%d allowed)", n,
                       cfg->max_positions);
    if (clip_skip < 1 || clip_skip > cfg->layers)
        return sd_fail(err, SD_ERR_INVALID_ARG, "text encoder: clip skip %d (1..%d allowed)",
                       clip_skip, cfg->layers);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= cfg->vocab_size)
            return sd_fail(err, SD_ERR_INVALID_ARG,
                           "text encoder: token id %d at position %d is outside the "
                           "vocabulary of %d", (int)ids[i], i, cfg->vocab_size);

    const sd_arena_mark mark = sd_arena_get_mark(arena);
    const size_t nd = (size_t)n * d;
    clip_state s = {
        .x = sd_arena_floats(arena, nd),
        .h = sd_arena_floats(arena, nd),
        .mlp = sd_arena_floats(arena, (size_t)n * cfg->intermediate),
    };
    if (!s.x || !s.h || !s.mlp) {
        sd_arena_reset(arena, mark);
        return sd_fail(err, SD_ERR_NOMEM, "text encoder: out of scratch memory");
    }

    /* embeddings: token_embedding[ids] + position_embedding[0..n): [n, d] */
    for (int i = 0; i < n; i++) {
        float *row = s.x + (size_t)i * d;
        sd_embedding_set_row(&clip->token_embedding, ids[i], row);
        sd_embedding_add_row(&clip->position_embedding, i, row);
    }
    trace_emit(trace, "embeddings", s.x, n, d);

    const sd_layer_ctx ctx = sd_layer_ctx_make(arena, SD_LAYER_FP32);
    sd_status st = SD_OK;
    const int run_layers = cfg->layers - clip_skip + 1;
    char name[32];
    for (int i = 0; i < run_layers && st == SD_OK; i++) {
        st = encoder_layer(&clip->layers[i], cfg, &ctx, &s, n, err);
        snprintf(name, sizeof name, "layer_%d", i + 1);
        if (st == SD_OK)
            trace_emit(trace, name, s.x, n, d);
    }
    if (st == SD_OK)
        sd_layer_norm_forward(&clip->final_layer_norm, s.x, n, out);   /* [n, d] */
    sd_arena_reset(arena, mark);
    return st;
}
