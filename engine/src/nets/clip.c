/* CLIP text encoder forward pass (transformers' CLIPTextModel as SD 1.x uses it:
 * causal mask, no padding mask, quick_gelu, pre-LN layers). */
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

static sd_status bind_layer_norm(sd_weights *w, clip_layer_norm *n, int dim, const char *key,
                                 sd_error *err)
{
    sd_status st = sd_weights_bind(w, &n->weight, err, 1, SD_SHAPE(dim), "%s.weight", key);
    if (st != SD_OK)
        return st;
    return sd_weights_bind(w, &n->bias, err, 1, SD_SHAPE(dim), "%s.bias", key);
}

static sd_status bind_linear(sd_weights *w, clip_linear *l, int in, int out, const char *key,
                             sd_error *err)
{
    sd_status st = sd_weights_bind_packed(w, &l->weight, err, 2, SD_SHAPE(out, in), "%s.weight",
                                          key);
    if (st != SD_OK)
        return st;
    return sd_weights_bind(w, &l->bias, err, 1, SD_SHAPE(out), "%s.bias", key);
}

static sd_status bind_encoder_layer(sd_weights *w, clip_encoder_layer *l,
                                    const sd_clip_config *cfg, int index, sd_error *err)
{
    const int d = cfg->hidden, ff = cfg->intermediate;
    struct {
        clip_linear *linear;
        const char *name;
        int in, out;
    } const linears[] = {
        {&l->self_attn.q_proj, "self_attn.q_proj", d, d},
        {&l->self_attn.k_proj, "self_attn.k_proj", d, d},
        {&l->self_attn.v_proj, "self_attn.v_proj", d, d},
        {&l->self_attn.out_proj, "self_attn.out_proj", d, d},
        {&l->mlp.fc1, "mlp.fc1", d, ff},
        {&l->mlp.fc2, "mlp.fc2", ff, d},
    };
    char key[192];
    sd_status st;
    snprintf(key, sizeof key, CLIP_PREFIX "encoder.layers.%d.layer_norm1", index);
    if ((st = bind_layer_norm(w, &l->layer_norm1, d, key, err)) != SD_OK)
        return st;
    snprintf(key, sizeof key, CLIP_PREFIX "encoder.layers.%d.layer_norm2", index);
    if ((st = bind_layer_norm(w, &l->layer_norm2, d, key, err)) != SD_OK)
        return st;
    for (size_t i = 0; i < sizeof linears / sizeof linears[0]; i++) {
        snprintf(key, sizeof key, CLIP_PREFIX "encoder.layers.%d.%s", index, linears[i].name);
        st = bind_linear(w, linears[i].linear, linears[i].in, linears[i].out, key, err);
        if (st != SD_OK)
            return st;
    }
    return SD_OK;
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
    const int d = cfg->hidden;
    /* 49408 x 768 floats (150 MB) widened: kept 16-bit, its rows widened on lookup */
    sd_status st = sd_weights_bind_packed(w, &clip->token_embedding, err, 2,
                                   SD_SHAPE(cfg->vocab_size, d),
                                   CLIP_PREFIX "embeddings.token_embedding.weight");
    if (st == SD_OK)
        st = sd_weights_bind(w, &clip->position_embedding, err, 2,
                             SD_SHAPE(cfg->max_positions, d),
                             CLIP_PREFIX "embeddings.position_embedding.weight");
    if (st == SD_OK)
        st = bind_layer_norm(w, &clip->final_layer_norm, d, CLIP_PREFIX "final_layer_norm",
                             err);
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

/* Activations of one pass: x is the residual stream, the rest is scratch. */
typedef struct {
    float *x;        /* [n, hidden] */
    float *h;        /* [n, hidden] */
    float *q, *k, *v; /* [n, hidden] each */
    float *attn;     /* [n, hidden] */
    float *mlp;      /* [n, intermediate] */
} clip_state;

/* x [n, in] → y [n, out], the weight widened for the call when packed; -1 when the arena
 * cannot hold the widened weight. */
static int linear(const clip_linear *l, sd_arena *arena, const float *x, int n, float *y)
{
    const int in = (int)l->weight.shape[1], out = (int)l->weight.shape[0];
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    const float *weight = sd_tensor_f32(&l->weight, arena);   /* [out, in] */
    if (weight)
        op_linear(x, n, in, weight, l->bias.data, out, y);
    sd_arena_reset(arena, mark);
    return weight ? 0 : -1;
}

/* CLIPAttention with the causal mask: x [n, d] → y [n, d]. */
static sd_status self_attn(const clip_attention *a, const sd_clip_config *cfg, sd_arena *arena,
                           clip_state *s, const float *x, int n, float *y, sd_error *err)
{
    const int d = cfg->hidden, heads = cfg->heads;
    /* softmax(q kᵀ / sqrt(d / heads) + causal) v per head: [n, d] */
    if (linear(&a->q_proj, arena, x, n, s->q) != 0 || linear(&a->k_proj, arena, x, n, s->k) != 0 ||
        linear(&a->v_proj, arena, x, n, s->v) != 0 ||
        op_attention(arena, s->q, d, s->k, s->v, d, n, n, heads, d / heads, 1, s->attn) != 0 ||
        linear(&a->out_proj, arena, s->attn, n, y) != 0)
        return sd_fail(err, SD_ERR_NOMEM, "text encoder: out of scratch memory");
    return SD_OK;
}

/* CLIPMLP: fc1 → quick_gelu → fc2, x [n, d] → y [n, d]. */
static sd_status mlp(const clip_mlp *m, const sd_clip_config *cfg, sd_arena *arena,
                     clip_state *s, const float *x, int n, float *y, sd_error *err)
{
    const int ff = cfg->intermediate;
    if (linear(&m->fc1, arena, x, n, s->mlp) != 0)                      /* [n, ff] */
        return sd_fail(err, SD_ERR_NOMEM, "text encoder: out of scratch memory");
    op_quick_gelu(s->mlp, (size_t)n * ff);
    if (linear(&m->fc2, arena, s->mlp, n, y) != 0)                      /* [n, d] */
        return sd_fail(err, SD_ERR_NOMEM, "text encoder: out of scratch memory");
    return SD_OK;
}

static void layer_norm(const clip_layer_norm *ln, const float *x, int n, int d, float *y)
{
    op_layer_norm(x, n, d, CLIP_LAYER_NORM_EPS, ln->weight.data, ln->bias.data, y);
}

/* CLIPEncoderLayer (pre-LN): x += self_attn(layer_norm1(x)); x += mlp(layer_norm2(x)). */
static sd_status encoder_layer(const clip_encoder_layer *l, const sd_clip_config *cfg,
                               sd_arena *arena, clip_state *s, int n, sd_error *err)
{
    const int d = cfg->hidden;
    const size_t nd = (size_t)n * d;
    layer_norm(&l->layer_norm1, s->x, n, d, s->h);
    sd_status st = self_attn(&l->self_attn, cfg, arena, s, s->h, n, s->h, err);
    if (st != SD_OK)
        return st;
    op_add(s->x, s->h, s->x, nd);
    layer_norm(&l->layer_norm2, s->x, n, d, s->h);
    if ((st = mlp(&l->mlp, cfg, arena, s, s->h, n, s->h, err)) != SD_OK)
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
        .q = sd_arena_floats(arena, nd),
        .k = sd_arena_floats(arena, nd),
        .v = sd_arena_floats(arena, nd),
        .attn = sd_arena_floats(arena, nd),
        .mlp = sd_arena_floats(arena, (size_t)n * cfg->intermediate),
    };
    if (!s.x || !s.h || !s.q || !s.k || !s.v || !s.attn || !s.mlp) {
        sd_arena_reset(arena, mark);
        return sd_fail(err, SD_ERR_NOMEM, "text encoder: out of scratch memory");
    }

    /* embeddings: token_embedding[ids] + position_embedding[0..n): [n, d] */
    for (int i = 0; i < n; i++) {
        float *row = s.x + (size_t)i * d;
        sd_tensor_row_f32(&clip->token_embedding, ids[i], row);
        op_add(row, clip->position_embedding.data + (size_t)i * d, row, (size_t)d);
    }
    trace_emit(trace, "embeddings", s.x, n, d);

    sd_status st = SD_OK;
    const int run_layers = cfg->layers - clip_skip + 1;
    char name[32];
    for (int i = 0; i < run_layers && st == SD_OK; i++) {
        st = encoder_layer(&clip->layers[i], cfg, arena, &s, n, err);
        snprintf(name, sizeof name, "layer_%d", i + 1);
        if (st == SD_OK)
            trace_emit(trace, name, s.x, n, d);
    }
    if (st == SD_OK)
        layer_norm(&clip->final_layer_norm, s.x, n, d, out);   /* [n, d] */
    sd_arena_reset(arena, mark);
    return st;
}
