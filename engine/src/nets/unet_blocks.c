/* ResBlock, SpatialTransformer (+ BasicTransformerBlock), Downsample and Upsample of
 * the SD 1.x U-Net, bound and computed as LDM's openaimodel.py / attention.py do. */
#include "nets/unet_blocks.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

/* ---- binding ---------------------------------------------------------------- */

static sd_status bind_norm(sd_weights *w, sd_unet_param *p, int c, const char *prefix,
                           const char *name, sd_error *err)
{
    sd_status s = sd_weights_bind(w, &p->weight, err, 1, SD_SHAPE(c), "%s.%s.weight", prefix,
                                  name);
    if (s == SD_OK)
        s = sd_weights_bind(w, &p->bias, err, 1, SD_SHAPE(c), "%s.%s.bias", prefix, name);
    return s;
}

/* weight [out, in]; bias [out] only when the module has one. */
static sd_status bind_linear(sd_weights *w, sd_tensor *weight, sd_tensor *bias, int out,
                             int in, const char *prefix, const char *name, sd_error *err)
{
    sd_status s = sd_weights_bind_packed(w, weight, err, 2, SD_SHAPE(out, in), "%s.%s.weight",
                                         prefix, name);
    if (s == SD_OK && bias)
        s = sd_weights_bind(w, bias, err, 1, SD_SHAPE(out), "%s.%s.bias", prefix, name);
    return s;
}

static sd_status bind_conv_named(sd_weights *w, sd_unet_param *p, int co, int ci, int k,
                                 const char *prefix, const char *name, sd_error *err)
{
    sd_status s = sd_weights_bind_packed(w, &p->weight, err, 4, SD_SHAPE(co, ci, k, k),
                                         "%s.%s.weight", prefix, name);
    if (s == SD_OK)
        s = sd_weights_bind(w, &p->bias, err, 1, SD_SHAPE(co), "%s.%s.bias", prefix, name);
    return s;
}

sd_status unet_bind_conv(sd_weights *w, sd_unet_param *p, int co, int ci, int k,
                         const char *prefix, sd_error *err)
{
    sd_status s = sd_weights_bind_packed(w, &p->weight, err, 4, SD_SHAPE(co, ci, k, k),
                                         "%s.weight", prefix);
    if (s == SD_OK)
        s = sd_weights_bind(w, &p->bias, err, 1, SD_SHAPE(co), "%s.bias", prefix);
    return s;
}

static sd_status check_groups(int channels, int groups, const char *prefix, sd_error *err)
{
    if (groups <= 0 || channels % groups != 0)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into %d groups",
                       prefix, channels, groups);
    return SD_OK;
}

sd_status unet_resblock_load(sd_unet_resblock *rb, sd_weights *w, const char *prefix,
                             int in_channels, int out_channels, const sd_unet_config *cfg,
                             sd_error *err)
{
    const int ci = in_channels, co = out_channels;
    rb->in_channels = ci;
    rb->out_channels = co;
    /* LDM uses an identity skip when the width is unchanged, a 1x1 conv otherwise. */
    rb->has_skip_connection = ci != co;
    sd_status s;
    if ((s = check_groups(ci, cfg->groups, prefix, err)) != SD_OK ||
        (s = check_groups(co, cfg->groups, prefix, err)) != SD_OK ||
        (s = bind_norm(w, &rb->in_layers_0, ci, prefix, "in_layers.0", err)) != SD_OK ||
        (s = bind_conv_named(w, &rb->in_layers_2, co, ci, 3, prefix, "in_layers.2", err)) != SD_OK ||
        (s = bind_linear(w, &rb->emb_layers_1.weight, &rb->emb_layers_1.bias, co,
                         cfg->time_embed_dim, prefix, "emb_layers.1", err)) != SD_OK ||
        (s = bind_norm(w, &rb->out_layers_0, co, prefix, "out_layers.0", err)) != SD_OK ||
        (s = bind_conv_named(w, &rb->out_layers_3, co, co, 3, prefix, "out_layers.3", err)) != SD_OK)
        return s;
    if (rb->has_skip_connection)
        s = bind_conv_named(w, &rb->skip_connection, co, ci, 1, prefix, "skip_connection", err);
    return s;
}

static sd_status transformer_block_load(sd_unet_transformer_block *tb, sd_weights *w,
                                        const char *prefix, int c, int context_dim,
                                        sd_error *err)
{
    sd_status s;
    if ((s = bind_norm(w, &tb->norm1, c, prefix, "norm1", err)) != SD_OK ||
        (s = bind_norm(w, &tb->norm2, c, prefix, "norm2", err)) != SD_OK ||
        (s = bind_norm(w, &tb->norm3, c, prefix, "norm3", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn1_to_q, NULL, c, c, prefix, "attn1.to_q", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn1_to_k, NULL, c, c, prefix, "attn1.to_k", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn1_to_v, NULL, c, c, prefix, "attn1.to_v", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn1_to_out_0.weight, &tb->attn1_to_out_0.bias, c, c, prefix,
                         "attn1.to_out.0", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn2_to_q, NULL, c, c, prefix, "attn2.to_q", err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn2_to_k, NULL, c, context_dim, prefix, "attn2.to_k",
                         err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn2_to_v, NULL, c, context_dim, prefix, "attn2.to_v",
                         err)) != SD_OK ||
        (s = bind_linear(w, &tb->attn2_to_out_0.weight, &tb->attn2_to_out_0.bias, c, c, prefix,
                         "attn2.to_out.0", err)) != SD_OK)
        return s;

    /* GEGLU: ff.net.0.proj [2 * inner, C] (SD 1.x: inner = 4C), ff.net.2 [C, inner]. */
    s = sd_weights_bind_packed(w, &tb->ff_net_0_proj.weight, err, 2, SD_SHAPE(-1, c),
                               "%s.ff.net.0.proj.weight", prefix);
    if (s != SD_OK)
        return s;
    const int64_t proj_rows = tb->ff_net_0_proj.weight.shape[0];
    if (proj_rows <= 0 || proj_rows % 2 != 0)
        return sd_fail(err, SD_ERR_FORMAT, "%s.ff.net.0.proj.weight: %lld rows, not 2 x inner",
                       prefix, (long long)proj_rows);
    tb->ff_inner = (int)(proj_rows / 2);
    if ((s = sd_weights_bind(w, &tb->ff_net_0_proj.bias, err, 1, SD_SHAPE(proj_rows),
                             "%s.ff.net.0.proj.bias", prefix)) != SD_OK ||
        (s = bind_linear(w, &tb->ff_net_2.weight, &tb->ff_net_2.bias, c, tb->ff_inner, prefix,
                         "ff.net.2", err)) != SD_OK)
        return s;
    return SD_OK;
}

sd_status unet_spatial_transformer_load(sd_unet_spatial_transformer *st, sd_weights *w,
                                        const char *prefix, int channels,
                                        const sd_unet_config *cfg, sd_error *err)
{
    const int c = channels;
    st->channels = c;
    st->depth = cfg->transformer_depth;
    if (cfg->num_heads <= 0 || c % cfg->num_heads != 0)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into %d heads",
                       prefix, c, cfg->num_heads);
    sd_status s;
    if ((s = check_groups(c, cfg->groups, prefix, err)) != SD_OK ||
        (s = bind_norm(w, &st->norm, c, prefix, "norm", err)) != SD_OK ||
        (s = bind_conv_named(w, &st->proj_in, c, c, 1, prefix, "proj_in", err)) != SD_OK ||
        (s = bind_conv_named(w, &st->proj_out, c, c, 1, prefix, "proj_out", err)) != SD_OK)
        return s;
    for (int d = 0; d < st->depth; d++) {
        char block_prefix[256];
        snprintf(block_prefix, sizeof block_prefix, "%s.transformer_blocks.%d", prefix, d);
        s = transformer_block_load(&st->transformer_blocks[d], w, block_prefix, c,
                                   cfg->context_dim, err);
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

/* op_linear with the weight [out, in] widened for the call when it is packed;
 * -1 when the arena cannot hold the widened weight. */
static int linear(sd_arena *a, const float *x, int rows, int in, const sd_tensor *weight,
                  const float *bias, int out, float *y)
{
    const sd_arena_mark mark = sd_arena_get_mark(a);
    const float *wt = sd_tensor_f32(weight, a);   /* [out, in] */
    if (wt)
        op_linear(x, rows, in, wt, bias, out, y);
    sd_arena_reset(a, mark);
    return wt ? 0 : -1;
}

sd_status unet_conv(const sd_unet_param *p, sd_arena *a, const float *x, int n, int h, int w,
                    int stride, float *y, sd_error *err)
{
    const int co = (int)p->weight.shape[0], ci = (int)p->weight.shape[1];
    const int k = (int)p->weight.shape[2];
    const sd_conv_params cp = op_conv_params(k, stride, k / 2);
    const sd_arena_mark mark = sd_arena_get_mark(a);
    const float *weight = sd_tensor_f32(&p->weight, a);   /* [co, ci, k, k] */
    int failed = !weight || op_conv2d(a, x, n, ci, h, w, weight, p->bias.data, co, &cp, y) != 0;
    sd_arena_reset(a, mark);
    if (failed)
        return sd_fail(err, SD_ERR_NOMEM, "unet conv %dx%d %d→%d at %dx%d: out of scratch memory",
                       k, k, ci, co, h, w);
    return SD_OK;
}

sd_status unet_resblock(const sd_unet_resblock *rb, const sd_unet_config *cfg, sd_arena *a,
                        const float *x, int n, int h, int w, const float *emb_silu,
                        float *y, sd_error *err)
{
    const int ci = rb->in_channels, co = rb->out_channels, hw = h * w;
    const sd_arena_mark mark = sd_arena_get_mark(a);
    float *t = sd_arena_floats(a, (size_t)n * ci * hw);    /* [n, ci, h, w] */
    float *hid = sd_arena_floats(a, (size_t)n * co * hw);  /* [n, co, h, w] */
    float *emb = sd_arena_floats(a, (size_t)n * co);       /* [n, co] */
    if (!t || !hid || !emb)
        return out_of_scratch(a, mark, "resblock", err);

    /* in_layers: GroupNorm + SiLU, 3x3 conv */
    op_group_norm(x, n, ci, hw, cfg->groups, UNET_RESBLOCK_NORM_EPS,
                  rb->in_layers_0.weight.data, rb->in_layers_0.bias.data, 1, t);
    sd_status s = unet_conv(&rb->in_layers_2, a, t, n, h, w, 1, hid, err);  /* [n, co, h, w] */
    if (s != SD_OK)
        goto done;

    /* emb_layers: Linear(SiLU(emb)) per channel; one timestep, so one row for all items */
    if (linear(a, emb_silu, 1, cfg->time_embed_dim, &rb->emb_layers_1.weight,
               rb->emb_layers_1.bias.data, co, emb) != 0) {            /* [1, co] */
        s = sd_fail(err, SD_ERR_NOMEM, "unet resblock: out of scratch memory");
        goto done;
    }
    for (int i = 1; i < n; i++)
        memcpy(emb + (size_t)i * co, emb, (size_t)co * sizeof *emb);   /* [n, co] */
    op_add_channel_bias(hid, emb, n, co, hw);

    /* out_layers: GroupNorm + SiLU, dropout (identity at inference), 3x3 conv */
    op_group_norm(hid, n, co, hw, cfg->groups, UNET_RESBLOCK_NORM_EPS,
                  rb->out_layers_0.weight.data, rb->out_layers_0.bias.data, 1, hid);
    if ((s = unet_conv(&rb->out_layers_3, a, hid, n, h, w, 1, y, err)) != SD_OK)
        goto done;                                                     /* [n, co, h, w] */

    /* + skip_connection(x) */
    if (rb->has_skip_connection) {
        if ((s = unet_conv(&rb->skip_connection, a, x, n, h, w, 1, hid, err)) != SD_OK)
            goto done;                                                 /* [n, co, h, w] */
        op_add(hid, y, y, (size_t)n * co * hw);
    } else {
        op_add(x, y, y, (size_t)n * co * hw);
    }
done:
    sd_arena_reset(a, mark);
    return s;
}

/* A BasicTransformerBlock's matrices as fp32 (widened once per spatial transformer call
 * when packed, so a CFG batch widens them once, not per image). */
typedef struct {
    const float *attn1_to_q, *attn1_to_k, *attn1_to_v, *attn1_to_out_0;  /* [C, C] */
    const float *attn2_to_q, *attn2_to_out_0;                            /* [C, C] */
    const float *attn2_to_k, *attn2_to_v;                                /* [C, ctx] */
    const float *ff_net_0_proj;                                          /* [2 inner, C] */
    const float *ff_net_2;                                               /* [C, inner] */
} transformer_block_f32;

/* -1 when the arena cannot hold the widened matrices. */
static int transformer_block_widen(const sd_unet_transformer_block *tb, sd_arena *a,
                                   transformer_block_f32 *f)
{
    f->attn1_to_q = sd_tensor_f32(&tb->attn1_to_q, a);
    f->attn1_to_k = sd_tensor_f32(&tb->attn1_to_k, a);
    f->attn1_to_v = sd_tensor_f32(&tb->attn1_to_v, a);
    f->attn1_to_out_0 = sd_tensor_f32(&tb->attn1_to_out_0.weight, a);
    f->attn2_to_q = sd_tensor_f32(&tb->attn2_to_q, a);
    f->attn2_to_k = sd_tensor_f32(&tb->attn2_to_k, a);
    f->attn2_to_v = sd_tensor_f32(&tb->attn2_to_v, a);
    f->attn2_to_out_0 = sd_tensor_f32(&tb->attn2_to_out_0.weight, a);
    f->ff_net_0_proj = sd_tensor_f32(&tb->ff_net_0_proj.weight, a);
    f->ff_net_2 = sd_tensor_f32(&tb->ff_net_2.weight, a);
    return f->attn1_to_q && f->attn1_to_k && f->attn1_to_v && f->attn1_to_out_0 &&
                   f->attn2_to_q && f->attn2_to_k && f->attn2_to_v && f->attn2_to_out_0 &&
                   f->ff_net_0_proj && f->ff_net_2
               ? 0
               : -1;
}

/* One BasicTransformerBlock on the tokens x[nq, C] of one image, in place:
 *   x += attn1(norm1(x));  x += attn2(norm2(x), context);  x += ff(norm3(x)). */
static sd_status transformer_block(const sd_unet_transformer_block *tb,
                                   const transformer_block_f32 *f, const sd_unet_config *cfg,
                                   sd_arena *a, float *x, int nq, int c, const float *context,
                                   int n_ctx, sd_error *err)
{
    const int heads = cfg->num_heads, head_dim = c / heads, ctx_dim = cfg->context_dim;
    const int nk_max = nq > n_ctx ? nq : n_ctx;
    const size_t xn = (size_t)nq * c;
    const sd_arena_mark mark = sd_arena_get_mark(a);
    float *norm = sd_arena_floats(a, xn);                     /* [nq, C] */
    if (!norm)
        return out_of_scratch(a, mark, "transformer block", err);
    const sd_arena_mark attn_mark = sd_arena_get_mark(a);
    float *q = sd_arena_floats(a, xn);                        /* [nq, C] */
    float *k = sd_arena_floats(a, (size_t)nk_max * c);        /* [nk, C] */
    float *v = sd_arena_floats(a, (size_t)nk_max * c);        /* [nk, C] */
    float *o = sd_arena_floats(a, xn);                        /* [nq, C] */
    if (!q || !k || !v || !o)
        return out_of_scratch(a, mark, "transformer block", err);

    /* attn1: self-attention */
    op_layer_norm(x, nq, c, UNET_LAYER_NORM_EPS, tb->norm1.weight.data, tb->norm1.bias.data,
                  norm);
    op_linear(norm, nq, c, f->attn1_to_q, NULL, c, q);
    op_linear(norm, nq, c, f->attn1_to_k, NULL, c, k);
    op_linear(norm, nq, c, f->attn1_to_v, NULL, c, v);
    if (op_attention(a, q, c, k, v, c, nq, nq, heads, head_dim, 0, o) != 0)
        return out_of_scratch(a, mark, "self-attention", err);
    op_linear(o, nq, c, f->attn1_to_out_0, tb->attn1_to_out_0.bias.data, c, norm);
    op_add(x, norm, x, xn);

    /* attn2: cross-attention, keys and values from the text context [n_ctx, ctx_dim] */
    op_layer_norm(x, nq, c, UNET_LAYER_NORM_EPS, tb->norm2.weight.data, tb->norm2.bias.data,
                  norm);
    op_linear(norm, nq, c, f->attn2_to_q, NULL, c, q);
    op_linear(context, n_ctx, ctx_dim, f->attn2_to_k, NULL, c, k);  /* [n_ctx, C] */
    op_linear(context, n_ctx, ctx_dim, f->attn2_to_v, NULL, c, v);  /* [n_ctx, C] */
    if (op_attention(a, q, c, k, v, c, nq, n_ctx, heads, head_dim, 0, o) != 0)
        return out_of_scratch(a, mark, "cross-attention", err);
    op_linear(o, nq, c, f->attn2_to_out_0, tb->attn2_to_out_0.bias.data, c, norm);
    op_add(x, norm, x, xn);
    sd_arena_reset(a, attn_mark);

    /* ff: GEGLU (value · GELU(gate)) then Linear back to C */
    const int inner = tb->ff_inner;
    float *proj = sd_arena_floats(a, (size_t)nq * 2 * inner); /* [nq, 2 inner] */
    float *gated = sd_arena_floats(a, (size_t)nq * inner);    /* [nq, inner] */
    if (!proj || !gated)
        return out_of_scratch(a, mark, "feed-forward", err);
    op_layer_norm(x, nq, c, UNET_LAYER_NORM_EPS, tb->norm3.weight.data, tb->norm3.bias.data,
                  norm);
    op_linear(norm, nq, c, f->ff_net_0_proj, tb->ff_net_0_proj.bias.data, 2 * inner, proj);
    op_geglu(proj, nq, inner, gated);
    op_linear(gated, nq, inner, f->ff_net_2, tb->ff_net_2.bias.data, c, norm);
    op_add(x, norm, x, xn);

    sd_arena_reset(a, mark);
    return SD_OK;
}

sd_status unet_spatial_transformer(const sd_unet_spatial_transformer *st,
                                   const sd_unet_config *cfg, sd_arena *a, float *x, int n,
                                   int h, int w, const float *context, int n_ctx,
                                   sd_error *err)
{
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

    op_group_norm(x, n, c, hw, cfg->groups, UNET_TRANSFORMER_NORM_EPS, st->norm.weight.data,
                  st->norm.bias.data, 0, chw);
    sd_status s = unet_conv(&st->proj_in, a, chw, n, h, w, 1, proj, err);  /* [n, C, hw] */
    for (int b = 0; b < n && s == SD_OK; b++)
        op_transpose(proj + b * chw_n, c, hw, tokens + b * chw_n);          /* [hw, C] */
    for (int d = 0; d < st->depth && s == SD_OK; d++) {
        const sd_unet_transformer_block *tb = &st->transformer_blocks[d];
        const sd_arena_mark block_mark = sd_arena_get_mark(a);
        transformer_block_f32 f;
        if (transformer_block_widen(tb, a, &f) != 0) {
            s = out_of_scratch(a, block_mark, "transformer block", err);
            break;
        }
        for (int b = 0; b < n && s == SD_OK; b++) {
            const float *ctx = context + (size_t)b * n_ctx * cfg->context_dim; /* [n_ctx, ctx] */
            s = transformer_block(tb, &f, cfg, a, tokens + b * chw_n, hw, c, ctx, n_ctx, err);
        }
        sd_arena_reset(a, block_mark);
    }
    for (int b = 0; b < n && s == SD_OK; b++)
        op_transpose(tokens + b * chw_n, hw, c, chw + b * chw_n);           /* [C, hw] */
    if (s == SD_OK)
        s = unet_conv(&st->proj_out, a, chw, n, h, w, 1, proj, err);       /* [n, C, hw] */
    if (s == SD_OK)
        op_add(x, proj, x, (size_t)n * chw_n);
    sd_arena_reset(a, mark);
    return s;
}

sd_status unet_downsample(const sd_unet_param *op, sd_arena *a, const float *x, int n, int h,
                          int w, float *y, sd_error *err)
{
    return unet_conv(op, a, x, n, h, w, 2, y, err);  /* [n, c, (h+1)/2, (w+1)/2] */
}

sd_status unet_upsample(const sd_unet_param *conv, sd_arena *a, const float *x, int n, int c,
                        int h, int w, int ho, int wo, float *y, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(a);
    float *up = sd_arena_floats(a, (size_t)n * c * ho * wo);  /* [n, c, ho, wo] */
    if (!up)
        return out_of_scratch(a, mark, "upsample", err);
    op_upsample_nearest(x, n, c, h, w, ho, wo, up);
    sd_status s = unet_conv(conv, a, up, n, ho, wo, 1, y, err);  /* [n, c, ho, wo] */
    sd_arena_reset(a, mark);
    return s;
}
