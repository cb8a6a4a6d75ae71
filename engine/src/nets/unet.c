/* The SD 1.x / 2.x U-Net: binds the LDM module tree and runs it (see unet.h for the layout). */
#include "nets/keys.h"
#include "nets/unet.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"
#include "nets/unet_blocks.h"

#define UNET_KEY SD_KEY_UNET

/* ---- loading ---------------------------------------------------------------- */

static sd_status check_config(const sd_unet_config *cfg, sd_error *err)
{
    if (cfg->levels < 1 || cfg->levels > SD_MAX_LEVELS)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%d levels (1..%d supported)", cfg->levels,
                       SD_MAX_LEVELS);
    if (cfg->layers_per_block < 1 || cfg->layers_per_block > SD_UNET_MAX_LAYERS)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%d res blocks per level (1..%d supported)",
                       cfg->layers_per_block, SD_UNET_MAX_LAYERS);
    if (cfg->transformer_depth < 1 || cfg->transformer_depth > SD_UNET_MAX_DEPTH)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "transformer depth %d (1..%d supported)",
                       cfg->transformer_depth, SD_UNET_MAX_DEPTH);
    if (cfg->head_dim < 0 || (cfg->head_dim == 0 && cfg->num_heads <= 0))
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%d heads of width %d", cfg->num_heads,
                       cfg->head_dim);
    if (cfg->model_channels <= 0 || cfg->time_embed_dim <= 0 || cfg->context_dim <= 0 ||
        cfg->in_channels <= 0 || cfg->out_channels <= 0 || cfg->model_channels % 2 != 0)
        return sd_fail(err, SD_ERR_FORMAT, "bad widths (model %d, time %d, context %d)",
                       cfg->model_channels, cfg->time_embed_dim, cfg->context_dim);
    return SD_OK;
}

/* A resblock, then a spatial transformer when the level has attention, at `prefix`. */
static sd_status load_res_attn(sd_unet_block *b, sd_weights *w, const char *prefix, int ci,
                               int co, int attention, const sd_unet_config *cfg, sd_error *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s.0", prefix);
    b->has_resblock = 1;
    sd_status s = unet_resblock_load(&b->resblock, w, key, ci, co, cfg, err);
    if (s != SD_OK || !attention)
        return s;
    snprintf(key, sizeof key, "%s.1", prefix);
    b->has_transformer = 1;
    return unet_spatial_transformer_load(&b->transformer, w, key, co, cfg, err);
}

static sd_status load_unet(sd_unet *u, sd_weights *w, const sd_unet_config *cfg, sd_error *err)
{
    memset(u, 0, sizeof *u);
    sd_status s = check_config(cfg, err);
    if (s != SD_OK)
        return s;
    u->cfg = *cfg;
    const int mc = cfg->model_channels, temb = cfg->time_embed_dim;
    char prefix[128];

    /* time_embed: Linear(mc → temb), SiLU, Linear(temb → temb) */
    if ((s = sd_linear_bind(w, &u->time_embed_0, mc, temb, SD_LAYER_BIAS, err,
                            UNET_KEY "time_embed.0")) != SD_OK ||
        (s = sd_linear_bind(w, &u->time_embed_2, temb, temb, SD_LAYER_BIAS, err,
                            UNET_KEY "time_embed.2")) != SD_OK ||
        (s = unet_conv3x3_bind(w, &u->conv_in, cfg->in_channels, mc, 1,
                               UNET_KEY "input_blocks.0.0", err)) != SD_OK)
        return s;

    /* input_blocks: the width of every block output, i.e. of every skip tensor */
    int skip_channels[SD_UNET_MAX_BLOCKS];
    int n_skips = 0, ch = mc, idx = 1;
    skip_channels[n_skips++] = mc;
    for (int level = 0; level < cfg->levels; level++) {
        const int co = cfg->channels[level];
        for (int j = 0; j < cfg->layers_per_block; j++, idx++) {
            snprintf(prefix, sizeof prefix, UNET_KEY "input_blocks.%d", idx);
            s = load_res_attn(&u->input_blocks[idx], w, prefix, ch, co, cfg->attention[level],
                              cfg, err);
            if (s != SD_OK)
                return s;
            ch = co;
            skip_channels[n_skips++] = ch;
        }
        if (level != cfg->levels - 1) {
            snprintf(prefix, sizeof prefix, UNET_KEY "input_blocks.%d.0.op", idx);
            u->input_blocks[idx].has_downsample = 1;
            s = unet_conv3x3_bind(w, &u->input_blocks[idx].sample_conv, ch, ch, 2, prefix, err);
            if (s != SD_OK)
                return s;
            skip_channels[n_skips++] = ch;
            idx++;
        }
    }
    u->n_input_blocks = idx;

    /* middle_block: resblock, spatial transformer, resblock */
    if ((s = unet_resblock_load(&u->middle_block_0, w, UNET_KEY "middle_block.0", ch, ch, cfg,
                                err)) != SD_OK ||
        (s = unet_spatial_transformer_load(&u->middle_block_1, w, UNET_KEY "middle_block.1",
                                           ch, cfg, err)) != SD_OK ||
        (s = unet_resblock_load(&u->middle_block_2, w, UNET_KEY "middle_block.2", ch, ch, cfg,
                                err)) != SD_OK)
        return s;

    /* output_blocks: each consumes the last skip tensor not yet used */
    idx = 0;
    for (int level = cfg->levels - 1; level >= 0; level--) {
        const int co = cfg->channels[level];
        for (int j = 0; j <= cfg->layers_per_block; j++, idx++) {
            sd_unet_block *b = &u->output_blocks[idx];
            const int skip = skip_channels[--n_skips];
            snprintf(prefix, sizeof prefix, UNET_KEY "output_blocks.%d", idx);
            s = load_res_attn(b, w, prefix, ch + skip, co, cfg->attention[level], cfg, err);
            if (s != SD_OK)
                return s;
            ch = co;
            if (level > 0 && j == cfg->layers_per_block) {
                /* LDM puts the upsampler after the resblock (.1) or the transformer (.2) */
                snprintf(prefix, sizeof prefix, UNET_KEY "output_blocks.%d.%d.conv", idx,
                         b->has_transformer ? 2 : 1);
                b->has_upsample = 1;
                s = unet_conv3x3_bind(w, &b->sample_conv, ch, ch, 1, prefix, err);
                if (s != SD_OK)
                    return s;
            }
        }
    }
    u->n_output_blocks = idx;

    /* out: GroupNorm + SiLU, 3x3 conv to the eps channels */
    if ((s = sd_group_norm_bind(w, &u->out_0, ch, cfg->groups, UNET_RESBLOCK_NORM_EPS, err,
                                UNET_KEY "out.0")) != SD_OK ||
        (s = unet_conv3x3_bind(w, &u->out_2, ch, cfg->out_channels, 1, UNET_KEY "out.2",
                               err)) != SD_OK)
        return s;
    return SD_OK;
}

sd_status sd_unet_load(sd_unet *u, sd_weights *w, const sd_unet_config *cfg, sd_error *err)
{
    sd_status s = load_unet(u, w, cfg, err);
    return s == SD_OK ? s : sd_fail_context(err, s, "U-Net");
}

/* ---- forward ---------------------------------------------------------------- */

typedef struct {
    float *data;   /* [batch, c, h, w] */
    int c, h, w;
} activation;

static void trace_emit(const sd_unet_trace *trace, const char *name, const activation *t,
                       int n)
{
    if (trace && trace->fn)
        trace->fn(trace->user, name, t->data, n, t->c, t->h, t->w);
}

static void trace_block(const sd_unet_trace *trace, const char *kind, int idx,
                        const activation *t, int n)
{
    char name[48];
    snprintf(name, sizeof name, "%s.%d", kind, idx);
    trace_emit(trace, name, t, n);
}

static size_t numel(int n, const activation *t)
{
    return (size_t)n * t->c * t->h * t->w;
}

/* Largest activation between the middle block and the output head: the size of the
 * two buffers the decoder half alternates between. */
static size_t decoder_buffer_floats(const sd_unet *u, int n, const activation *skips)
{
    size_t most = numel(n, &skips[u->n_input_blocks - 1]);
    for (int i = 0; i < u->n_output_blocks; i++) {
        const sd_unet_block *b = &u->output_blocks[i];
        const int s = u->n_input_blocks - 1 - i;
        const activation *size = b->has_upsample && s > 0 ? &skips[s - 1] : &skips[s];
        const size_t here = (size_t)n * b->resblock.out_channels * size->h * size->w;
        if (here > most)
            most = here;
    }
    return most;
}

sd_status sd_unet_forward(const sd_unet *u, sd_arena *a, const float *x, int batch, int h,
                          int w, float timestep, const float *context, int n_ctx,
                          float *eps_out, const sd_unet_trace *trace, sd_error *err)
{
    if (!u || !a || !x || !context || !eps_out || batch < 1 || h < 1 || w < 1 || n_ctx < 1)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unet forward: bad arguments (batch %d, %dx%d, "
                       "%d context tokens)", batch, h, w, n_ctx);
    const sd_unet_config *cfg = &u->cfg;
    const int n = batch, mc = cfg->model_channels, temb_dim = cfg->time_embed_dim;
    const sd_arena_mark start = sd_arena_get_mark(a);
    sd_layer_ctx ctx = sd_layer_ctx_make(a, u->precision);
    sd_status s = SD_OK;

    /* time_embed: [cos | sin] sinusoid → Linear → SiLU → Linear; one timestep per batch */
    activation t_proj = {sd_arena_floats(a, (size_t)mc), mc, 1, 1};        /* [1, mc] */
    activation t_emb = {sd_arena_floats(a, (size_t)temb_dim), temb_dim, 1, 1};  /* [1, temb] */
    float *hidden = sd_arena_floats(a, (size_t)temb_dim);                  /* [1, temb] */
    float *emb_silu = sd_arena_floats(a, (size_t)temb_dim);                /* [1, temb] */
    if (!t_proj.data || !t_emb.data || !hidden || !emb_silu)
        goto nomem;
    op_timestep_embedding(timestep, mc, t_proj.data);
    trace_emit(trace, "time_proj", &t_proj, 1);
    if ((s = sd_linear_forward(&u->time_embed_0, &ctx, t_proj.data, 1, hidden, err)) != SD_OK)
        goto fail;
    op_silu(hidden, (size_t)temb_dim);
    if ((s = sd_linear_forward(&u->time_embed_2, &ctx, hidden, 1, t_emb.data, err)) != SD_OK)
        goto fail;
    trace_emit(trace, "time_embedding", &t_emb, 1);
    /* every resblock's emb_layers starts with SiLU: apply it once */
    memcpy(emb_silu, t_emb.data, (size_t)temb_dim * sizeof *emb_silu);
    op_silu(emb_silu, (size_t)temb_dim);

    /* input_blocks: every output is kept as a skip tensor for the decoder half */
    activation skips[SD_UNET_MAX_BLOCKS];
    skips[0] = (activation){sd_arena_floats(a, (size_t)n * mc * h * w), mc, h, w};
    if (!skips[0].data)
        goto nomem;
    if ((s = sd_conv2d_forward(&u->conv_in, &ctx, x, n, h, w, skips[0].data, err)) != SD_OK)
        goto fail;                                                    /* [n, mc, h, w] */
    trace_block(trace, "input_blocks", 0, &skips[0], n);
    for (int i = 1; i < u->n_input_blocks; i++) {
        const sd_unet_block *b = &u->input_blocks[i];
        const activation *in = &skips[i - 1];
        activation *out = &skips[i];
        if (b->has_downsample) {
            /* [n, c, h, w] → [n, c, (h + 1) / 2, (w + 1) / 2] */
            *out = (activation){NULL, in->c, 0, 0};
            sd_conv2d_out_size(&b->sample_conv, in->h, in->w, &out->h, &out->w);
            if (!(out->data = sd_arena_floats(a, numel(n, out))))
                goto nomem;
            s = sd_conv2d_forward(&b->sample_conv, &ctx, in->data, n, in->h, in->w, out->data,
                                  err);
        } else {
            *out = (activation){NULL, b->resblock.out_channels, in->h, in->w};
            if (!(out->data = sd_arena_floats(a, numel(n, out))))
                goto nomem;
            s = unet_resblock(&b->resblock, &ctx, in->data, n, in->h, in->w, emb_silu,
                              out->data, err);
            if (s == SD_OK && b->has_transformer)
                s = unet_spatial_transformer(&b->transformer, cfg, &ctx, out->data, n, out->h,
                                             out->w, context, n_ctx, err);
        }
        if (s != SD_OK)
            goto fail;
        trace_block(trace, "input_blocks", i, out, n);
    }

    /* middle_block and output_blocks alternate between two buffers */
    const activation *deepest = &skips[u->n_input_blocks - 1];
    const size_t buf_floats = decoder_buffer_floats(u, n, skips);
    float *buf[2] = {sd_arena_floats(a, buf_floats), sd_arena_floats(a, buf_floats)};
    if (!buf[0] || !buf[1])
        goto nomem;
    activation hs = {buf[0], deepest->c, deepest->h, deepest->w};
    if ((s = unet_resblock(&u->middle_block_0, &ctx, deepest->data, n, hs.h, hs.w, emb_silu,
                           buf[0], err)) != SD_OK ||
        (s = unet_spatial_transformer(&u->middle_block_1, cfg, &ctx, buf[0], n, hs.h, hs.w,
                                      context, n_ctx, err)) != SD_OK ||
        (s = unet_resblock(&u->middle_block_2, &ctx, buf[0], n, hs.h, hs.w, emb_silu,
                           buf[1], err)) != SD_OK)
        goto fail;
    hs.data = buf[1];
    trace_emit(trace, "middle_block", &hs, n);

    for (int i = 0; i < u->n_output_blocks; i++) {
        const sd_unet_block *b = &u->output_blocks[i];
        const activation *skip = &skips[u->n_input_blocks - 1 - i];
        float *other = hs.data == buf[0] ? buf[1] : buf[0];
        const int cat_c = hs.c + skip->c, hw = hs.h * hs.w;

        /* concat [h, skip] along channels, then resblock (+ spatial transformer) */
        const sd_arena_mark mark = sd_arena_get_mark(a);
        float *cat = sd_arena_floats(a, (size_t)n * cat_c * hw);  /* [n, c + c_skip, h, w] */
        if (!cat)
            goto nomem;
        op_concat_channels(hs.data, hs.c, skip->data, skip->c, n, hw, cat);
        s = unet_resblock(&b->resblock, &ctx, cat, n, hs.h, hs.w, emb_silu, other, err);
        sd_arena_reset(a, mark);
        activation out = {other, b->resblock.out_channels, hs.h, hs.w};
        if (s == SD_OK && b->has_transformer)
            s = unet_spatial_transformer(&b->transformer, cfg, &ctx, out.data, n, out.h, out.w,
                                         context, n_ctx, err);
        /* upsample to the size of the skip tensor the next block concatenates */
        if (s == SD_OK && b->has_upsample) {
            const activation *next = &skips[u->n_input_blocks - 2 - i];
            s = unet_upsample(&b->sample_conv, &ctx, out.data, n, out.c, out.h, out.w, next->h,
                              next->w, hs.data, err);
            out = (activation){hs.data, out.c, next->h, next->w};
        }
        if (s != SD_OK)
            goto fail;
        hs = out;
        trace_block(trace, "output_blocks", i, &hs, n);
    }

    /* out: GroupNorm + SiLU into the free buffer, 3x3 conv */
    activation head = {hs.data == buf[0] ? buf[1] : buf[0], hs.c, hs.h, hs.w};
    sd_group_norm_silu_forward(&u->out_0, hs.data, n, hs.h * hs.w, head.data);
    trace_emit(trace, "out.1", &head, n);
    s = sd_conv2d_forward(&u->out_2, &ctx, head.data, n, h, w, eps_out, err); /* [n, out, h, w] */
    if (s != SD_OK)
        goto fail;
    sd_arena_reset(a, start);
    return SD_OK;

nomem:
    s = sd_fail(err, SD_ERR_NOMEM, "unet forward: out of scratch memory (%zu bytes in use)",
                a->used);
fail:
    sd_arena_reset(a, start);
    return s;
}
