/* ResBlock, SpatialTransformer (+ BasicTransformerBlock) and Upsample of the SD 1.x U-Net,
 * bound and computed as LDM's openaimodel.py / attention.py do, on the layer module. */
#include "nets/unet_blocks.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

/* ---- binding ---------------------------------------------------------------- */

/* LDM's attention.py: to_q / to_k / to_v without bias, to_out.0 with one. */
static const sd_attention_names unet_attention_names = {
    "to_q", "to_k", "to_v", "to_out.0", SD_LAYER_NO_BIAS,
};

sd_status unet_conv3x3_bind(sd_weights *w, sd_conv2d *c, int ci, int co, int stride,
                            const char *prefix, sd_error *err)
{
    return sd_conv2d_bind(w, c, ci, co, op_conv_params(3, stride, 1), err, "%s", prefix);
}

sd_status unet_resblock_load(sd_unet_resblock *rb, sd_weights *w, const char *prefix,
                             int in_channels, int out_channels, const sd_unet_config *cfg,
                             sd_error *err)
{
    const int ci = in_channels, co = out_channels, g = cfg->groups;
    const float eps = UNET_RESBLOCK_NORM_EPS;
    rb->in_channels = ci;
    rb->out_channels = co;
    /* LDM uses an identity skip when the width is unchanged, a 1x1 conv otherwise. */
    rb->has_skip_connection = ci != co;
    sd_status s;
    if ((s = sd_group_norm_bind(w, &rb->in_layers_0, ci, g, eps, err, "%s.in_layers.0",
                                prefix)) != SD_OK ||
        (s = sd_conv2d_bind(w, &rb->in_layers_2, ci, co, op_conv_params(3, 1, 1), err,
                            "%s.in_layers.2", prefix)) != SD_OK ||
        (s = sd_linear_bind(w, &rb->emb_layers_1, cfg->time_embed_dim, co, SD_LAYER_BIAS, err,
                            "%s.emb_layers.1", prefix)) != SD_OK ||
        (s = sd_group_norm_bind(w, &rb->out_layers_0, co, g, eps, err, "%s.out_layers.0",
                                prefix)) != SD_OK ||
        (s = sd_conv2d_bind(w, &rb->out_layers_3, co, co, op_conv_params(3, 1, 1), err,
                            "%s.out_layers.3", prefix)) != SD_OK)
        return s;
    if (rb->has_skip_connection)
        s = sd_conv2d_bind(w, &rb->skip_connection, ci, co, op_conv_params(1, 1, 0), err,
                           "%s.skip_connection", prefix);
    return s;
}

static sd_status transformer_block_load(sd_unet_transformer_block *tb, sd_weights *w,
                                        const char *prefix, int c, const sd_unet_config *cfg,
                                        sd_error *err)
{
    const float eps = UNET_LAYER_NORM_EPS;
    /* SD 1.x: a fixed head count; SD 2.x: heads of a fixed width */
    const int heads = cfg->head_dim > 0 ? c / cfg->head_dim : cfg->num_heads;
    if (cfg->head_dim > 0 && (c % cfg->head_dim != 0 || heads < 1))
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into heads of %d",
                       prefix, c, cfg->head_dim);
    sd_status s;
    if ((s = sd_layer_norm_bind(w, &tb->norm1, c, eps, err, "%s.norm1", prefix)) != SD_OK ||
        (s = sd_layer_norm_bind(w, &tb->norm2, c, eps, err, "%s.norm2", prefix)) != SD_OK ||
        (s = sd_layer_norm_bind(w, &tb->norm3, c, eps, err, "%s.norm3", prefix)) != SD_OK ||
        (s = sd_attention_bind(w, &tb->attn1, c, c, c, heads, &unet_attention_names, err,
                               "%s.attn1", prefix)) != SD_OK ||
        (s = sd_attention_bind(w, &tb->attn2, c, cfg->context_dim, c, heads,
                               &unet_attention_names, err, "%s.attn2", prefix)) != SD_OK)
        return s;
    /* GEGLU: ff.net.0.proj [2 * inner, C] (SD 1.x: inner = 4C), ff.net.2 [C, inner]. */
    return sd_geglu_ff_bind(w, &tb->ff, c, err, "%s.ff", prefix);
}

static sd_status projection_bind(sd_weights *w, sd_unet_projection *p, int linear, int c,
                                 const char *name, const char *prefix, sd_error *err)
{
    if (linear)
        return sd_linear_bind(w, &p->linear, c, c, SD_LAYER_BIAS, err, "%s.%s", prefix, name);
    return sd_conv2d_bind(w, &p->conv, c, c, op_conv_params(1, 1, 0), err, "%s.%s", prefix,
                          name);
}

sd_status unet_spatial_transformer_load(sd_unet_spatial_transformer *st, sd_weights *w,
                                        const char *prefix, int channels,
                                        const sd_unet_config *cfg, sd_error *err)
{
    const int c = channels;
    st->channels = c;
    st->depth = cfg->transformer_depth;
    st->linear_projection = cfg->use_linear_projection;
    sd_status s = sd_group_norm_bind(w, &st->norm, c, cfg->groups, UNET_TRANSFORMER_NORM_EPS,
                                     err, "%s.norm", prefix);
    if (s == SD_OK)
        s = projection_bind(w, &st->proj_in, st->linear_projection, c, "proj_in", prefix, err);
    if (s == SD_OK)
        s = projection_bind(w, &st->proj_out, st->linear_projection, c, "proj_out", prefix, err);
    if (s != SD_OK)
        return s;
    for (int d = 0; d < st->depth; d++) {
        char block_prefix[256];
        snprintf(block_prefix, sizeof block_prefix, "%s.transformer_blocks.%d", prefix, d);
        s = transformer_block_load(&st->transformer_blocks[d], w, block_prefix, c, cfg, err);
        if (s != SD_OK)
            return s;
    }
    return SD_OK;
}

/* ---- forward ---------------------------------------------------------------- */

/* Gives the block's scratch back and reports which block ran out. */
static sd_status out_of_scratch(sd_arena *a, sd_arena_mark mark, const char *block,
                                sd_error *err)
{
    size_t used = a->used;
    sd_arena_reset(a, mark);
    return sd_fail(err, SD_ERR_NOMEM, "unet %s: out of scratch memory (%zu bytes in use)",
                   block, used);
}

sd_status unet_resblock(const sd_unet_resblock *rb, sd_layer_ctx *ctx, const float *x, int n,
                        int h, int w, const float *emb_silu, float *y, sd_error *err)
{
    sd_arena *a = ctx->arena;
    const int ci = rb->in_channels, co = rb->out_channels, hw = h * w;
    const sd_arena_mark mark = sd_arena_get_mark(a);
    float *t = sd_arena_floats(a, (size_t)n * ci * hw);    /* [n, ci, h, w] */
    float *hid = sd_arena_floats(a, (size_t)n * co * hw);  /* [n, co, h, w] */
    float *emb = sd_arena_floats(a, (size_t)n * co);       /* [n, co] */
    if (!t || !hid || !emb)
        return out_of_scratch(a, mark, "resblock", err);

    /* in_layers: GroupNorm + SiLU, 3x3 conv */
    sd_group_norm_silu_forward(&rb->in_layers_0, x, n, hw, t);
    sd_status s = sd_conv2d_forward(&rb->in_layers_2, ctx, t, n, h, w, hid, err);
    if (s != SD_OK)                                                    /* [n, co, h, w] */
        goto done;

    /* emb_layers: Linear(SiLU(emb)) per channel; one timestep, so one row for all items */
    if ((s = sd_linear_forward(&rb->emb_layers_1, ctx, emb_silu, 1, emb, err)) != SD_OK)
        goto done;                                                     /* [1, co] */
    for (int i = 1; i < n; i++)
        memcpy(emb + (size_t)i * co, emb, (size_t)co * sizeof *emb);   /* [n, co] */
    op_add_channel_bias(hid, emb, n, co, hw);

    /* out_layers: GroupNorm + SiLU, dropout (identity at inference), 3x3 conv */
    sd_group_norm_silu_forward(&rb->out_layers_0, hid, n, hw, hid);
    if ((s = sd_conv2d_forward(&rb->out_layers_3, ctx, hid, n, h, w, y, err)) != SD_OK)
        goto done;                                                     /* [n, co, h, w] */

    /* + skip_connection(x) */
    if (rb->has_skip_connection) {
        if ((s = sd_conv2d_forward(&rb->skip_connection, ctx, x, n, h, w, hid, err)) != SD_OK)
            goto done;                                                 /* [n, co, h, w] */
        op_add(hid, y, y, (size_t)n * co * hw);
    } else {
        op_add(x, y, y, (size_t)n * co * hw);
    }
done:
    sd_arena_reset(a, mark);
    return s;
}

/* One BasicTransformerBlock on the tokens x[nq, C] of one image, in place:
 *   x += attn1(norm1(x));  x += attn2(norm2(x), context);  x += ff(norm3(x)). */
static sd_status transformer_block(const sd_unet_transformer_block *tb, sd_layer_ctx *ctx,
                                   float *x, int nq, int c, const float *context, int n_ctx,
                                   sd_error *err)
{
    const size_t xn = (size_t)nq * c;
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    float *norm = sd_arena_floats(ctx->arena, xn);            /* [nq, C] */
    if (!norm)
        return out_of_scratch(ctx->arena, mark, "transformer block", err);
    sd_status s;
    sd_layer_norm_forward(&tb->norm1, x, nq, norm);
    if ((s = sd_attention_forward(&tb->attn1, ctx, norm, nq, NULL, nq, 0, norm, err)) != SD_OK)
        goto done;
    op_add(x, norm, x, xn);
    /* attn2: cross-attention, keys and values from the text context [n_ctx, context_dim] */
    sd_layer_norm_forward(&tb->norm2, x, nq, norm);
    if ((s = sd_attention_forward(&tb->attn2, ctx, norm, nq, context, n_ctx, 0, norm,
                                  err)) != SD_OK)
        goto done;
    op_add(x, norm, x, xn);
    sd_layer_norm_forward(&tb->norm3, x, nq, norm);
    if ((s = sd_geglu_ff_forward(&tb->ff, ctx, norm, nq, norm, err)) != SD_OK)
        goto done;
    op_add(x, norm, x, xn);
done:
    sd_arena_reset(ctx->arena, mark);
    return s;
}

/* Pins one block's ten matrices, so a CFG batch widens them once, not per image. */
static sd_status transformer_block_pin(const sd_unet_transformer_block *tb, sd_layer_ctx *ctx,
                                       sd_error *err)
{
    sd_status s;
    if ((s = sd_attention_pin(ctx, &tb->attn1, err)) != SD_OK ||
        (s = sd_attention_pin(ctx, &tb->attn2, err)) != SD_OK)
        return s;
    return sd_geglu_ff_pin(ctx, &tb->ff, err);
}

/* tokens [n, hw, C] = proj_in(x [n, C, hw]), through scratch [n, C, hw]: SD 1.x's 1x1 conv
 * then the transpose, SD 2.x's transpose then the Linear. */
static sd_status proj_in(const sd_unet_spatial_transformer *st, sd_layer_ctx *ctx,
                         const float *x, int n, int h, int w, float *scratch, float *tokens,
                         sd_error *err)
{
    const int c = st->channels, hw = h * w;
    const size_t chw_n = (size_t)c * hw;
    if (st->linear_projection) {
        for (int b = 0; b < n; b++)
            op_transpose(x + b * chw_n, c, hw, scratch + b * chw_n);     /* [hw, C] */
        return sd_linear_forward(&st->proj_in.linear, ctx, scratch, n * hw, tokens, err);
    }
    sd_status s = sd_conv2d_forward(&st->proj_in.conv, ctx, x, n, h, w, scratch, err);
    for (int b = 0; b < n && s == SD_OK; b++)
        op_transpose(scratch + b * chw_n, c, hw, tokens + b * chw_n);   /* [hw, C] */
    return s;
}

/* y [n, C, hw] = proj_out(tokens [n, hw, C]), through scratch [n, C, hw]. */
static sd_status proj_out(const sd_unet_spatial_transformer *st, sd_layer_ctx *ctx,
                          const float *tokens, int n, int h, int w, float *scratch, float *y,
                          sd_error *err)
{
    const int c = st->channels, hw = h * w;
    const size_t chw_n = (size_t)c * hw;
    if (st->linear_projection) {
        sd_status s = sd_linear_forward(&st->proj_out.linear, ctx, tokens, n * hw, scratch, err);
        for (int b = 0; b < n && s == SD_OK; b++)
            op_transpose(scratch + b * chw_n, hw, c, y + b * chw_n);     /* [C, hw] */
        return s;
    }
    return sd_conv1x1_tokens_forward(&st->proj_out.conv, ctx, tokens, n, h, w, scratch, y, err);
}

sd_status unet_spatial_transformer(const sd_unet_spatial_transformer *st,
                                   const sd_unet_config *cfg, sd_layer_ctx *ctx, float *x,
                                   int n, int h, int w, const float *context, int n_ctx,
                                   sd_error *err)
{
    sd_arena *a = ctx->arena;
    const int c = st->channels, hw = h * w;
    const size_t chw_n = (size_t)c * hw;
    /* The whole batch's tokens at once, so each block's matrices are widened once per call;
     * attention never mixes batch items, and the block's own scratch (the feed-forward's
     * [hw, 8C] above all) stays one image large. */
    const sd_arena_mark mark = sd_arena_get_mark(a);
    float *chw = sd_arena_floats(a, (size_t)n * chw_n);                    /* [n, C, hw] */
    float *proj = sd_arena_floats(a, (size_t)n * chw_n);                   /* [n, C, hw] */
    float *tokens = sd_arena_floats(a, (size_t)n * chw_n);                 /* [n, hw, C] */
    if (!chw || !proj || !tokens)
        return out_of_scratch(a, mark, "spatial transformer", err);

    sd_group_norm_forward(&st->norm, x, n, hw, chw);
    sd_status s = proj_in(st, ctx, chw, n, h, w, proj, tokens, err);        /* [n, hw, C] */
    for (int d = 0; d < st->depth && s == SD_OK; d++) {
        const sd_unet_transformer_block *tb = &st->transformer_blocks[d];
        const sd_layer_scope scope = sd_layer_scope_begin(ctx);
        s = transformer_block_pin(tb, ctx, err);
        for (int b = 0; b < n && s == SD_OK; b++) {
            const float *ctx_b = context + (size_t)b * n_ctx * cfg->context_dim; /* [n_ctx, ctx] */
            s = transformer_block(tb, ctx, tokens + b * chw_n, hw, c, ctx_b, n_ctx, err);
        }
        sd_layer_scope_end(ctx, scope);
    }
    if (s == SD_OK)
        s = proj_out(st, ctx, tokens, n, h, w, chw, proj, err);             /* [n, C, hw] */
    if (s == SD_OK)
        op_add(x, proj, x, (size_t)n * chw_n);
    sd_arena_reset(a, mark);
    return s;
}

sd_status unet_upsample(const sd_conv2d *conv, sd_layer_ctx *ctx, const float *x, int n, int c,
                        int h, int w, int ho, int wo, float *y, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    float *up = sd_arena_floats(ctx->arena, (size_t)n * c * ho * wo);  /* [n, c, ho, wo] */
    if (!up)
        return out_of_scratch(ctx->arena, mark, "upsample", err);
    op_upsample_nearest(x, n, c, h, w, ho, wo, up);
    sd_status s = sd_conv2d_forward(conv, ctx, up, n, ho, wo, y, err);  /* [n, c, ho, wo] */
    sd_arena_reset(ctx->arena, mark);
    return s;
}
