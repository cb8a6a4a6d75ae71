/* The layers' forwards and pins (layers.h has the contract). This file is the only place
 * a Linear or Conv2d weight is read for compute: effective_f32 below. */
#include "layers/layers.h"

#include <stdio.h>
#include <string.h>

#include "core/float_bits.h"
#include "layers/layers_bf16.h"

#define KEY_MAX 224

sd_layer_ctx sd_layer_ctx_make(sd_arena *arena, sd_layer_precision precision)
{
    sd_layer_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arena = arena;
    ctx.precision = precision;
    return ctx;
}

/* The tensor the layer computes with: the merged one when a pass set it. */
static const sd_tensor *effective(const sd_layer_params *p)
{
    return p->merged.numel > 0 ? &p->merged : &p->weight;
}

/* The effective weight as fp32: pinned, read in place, or widened into the arena (valid
 * until the caller resets the arena below it). NULL when the arena is out. */
static const float *effective_f32(const sd_layer_params *p, const sd_layer_ctx *ctx)
{
    for (int i = ctx->n_pins - 1; i >= 0; i--)
        if (ctx->pins[i].layer == p)
            return ctx->pins[i].f32;
    return sd_tensor_f32(effective(p), ctx->arena);
}

static const float *bias_f32(const sd_layer_params *p)
{
    return p->bias.numel > 0 ? p->bias.data : NULL;
}

/* Scratch gone: give back what the forward took and name the module. */
static sd_status out_of_scratch(const sd_layer_params *p, const sd_layer_ctx *ctx,
                                sd_arena_mark mark, const char *what, sd_error *err)
{
    const size_t used = ctx->arena->used;
    char key[KEY_MAX];
    sd_arena_reset(ctx->arena, mark);
    return sd_fail(err, SD_ERR_NOMEM, "%s: out of scratch memory in %s (%zu bytes in use)",
                   sd_layer_key(p, key, sizeof key), what, used);
}

/* ---- Linear, Conv2d ----------------------------------------------------------------- */

sd_status sd_linear_forward(const sd_linear *l, const sd_layer_ctx *ctx, const float *x,
                            int rows, float *y, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    if (ctx->precision == SD_LAYER_BF16 && l->p.prepared) {
        if (sd_linear_forward_bf16(l, ctx, x, rows, y) != 0)
            return out_of_scratch(&l->p, ctx, mark, "a linear layer (bf16)", err);
        return SD_OK;
    }
    const float *weight = effective_f32(&l->p, ctx);   /* [out, in] */
    if (!weight)
        return out_of_scratch(&l->p, ctx, mark, "a linear layer", err);
    op_linear(x, rows, l->in, weight, bias_f32(&l->p), l->out, y);
    sd_arena_reset(ctx->arena, mark);
    return SD_OK;
}

void sd_conv2d_out_size(const sd_conv2d *c, int h, int w, int *ho, int *wo)
{
    const sd_conv_params *p = &c->params;
    *ho = op_conv_out_size(h, p->kh, p->stride, p->pad_top, p->pad_bottom);
    *wo = op_conv_out_size(w, p->kw, p->stride, p->pad_left, p->pad_right);
}

sd_status sd_conv2d_forward(const sd_conv2d *c, const sd_layer_ctx *ctx, const float *x, int n,
                            int h, int w, float *y, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    const int bf16 = sd_conv2d_bf16_ready(c, ctx);
    const float *weight = bf16 ? NULL : effective_f32(&c->p, ctx);   /* [co, ci, kh, kw] */
    if (bf16 ? sd_conv2d_forward_bf16(c, ctx, x, n, h, w, y) != 0 : !weight || op_conv2d(ctx->arena, x, n, c->ci, h, w, weight, bias_f32(&c->p), c->co,
                             &c->params, y) != 0) {
        char what[96];
        snprintf(what, sizeof what, "a %dx%d convolution %d -> %d at %dx%d", c->params.kh,
                 c->params.kw, c->ci, c->co, h, w);
        return out_of_scratch(&c->p, ctx, mark, what, err);
    }
    sd_arena_reset(ctx->arena, mark);
    return SD_OK;
}

sd_status sd_conv1x1_tokens_forward(const sd_conv2d *c, const sd_layer_ctx *ctx,
                                    const float *tokens, int n, int h, int w, float *scratch,
                                    float *y, sd_error *err)
{
    const int hw = h * w;
    const sd_conv_params *p = &c->params;
    const int pointwise = p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad_top == 0 &&
                          p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
    if (pointwise && sd_conv2d_bf16_ready(c, ctx)) {
        const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
        if (sd_conv1x1_tokens_forward_bf16(c, ctx, tokens, n, hw, y) != 0)
            return out_of_scratch(&c->p, ctx, mark, "a 1x1 convolution on tokens (bf16)", err);
        return SD_OK;
    }
    const size_t chw = (size_t)c->ci * hw;
    for (int b = 0; b < n; b++)
        op_transpose(tokens + b * chw, hw, c->ci, scratch + b * chw);   /* [ci, hw] */
    return sd_conv2d_forward(c, ctx, scratch, n, h, w, y, err);
}

/* ---- norms, embeddings -------------------------------------------------------------- */

void sd_group_norm_forward(const sd_group_norm *g, const float *x, int n, int hw, float *y)
{
    op_group_norm(x, n, g->channels, hw, g->groups, g->eps, g->weight.data, g->bias.data, 0, y);
}

void sd_group_norm_silu_forward(const sd_group_norm *g, const float *x, int n, int hw,
                                float *y)
{
    op_group_norm(x, n, g->channels, hw, g->groups, g->eps, g->weight.data, g->bias.data, 1, y);
}

void sd_layer_norm_forward(const sd_layer_norm *ln, const float *x, int rows, float *y)
{
    op_layer_norm(x, rows, ln->dim, ln->eps, ln->weight.data, ln->bias.data, y);
}

void sd_embedding_set_row(const sd_embedding *e, int index, float *dst)
{
    sd_tensor_row_f32(&e->weight, index, dst);
}

void sd_embedding_add_row(const sd_embedding *e, int index, float *dst)
{
    const size_t d = (size_t)e->dim;
    if (e->weight.data) {
        op_add(dst, e->weight.data + (size_t)index * d, dst, d);
        return;
    }
    /* packed: widened a slice at a time (exactly), then added */
    enum { SLICE = 256 };
    float row[SLICE];
    const uint16_t *src = e->weight.packed + (size_t)index * d;
    for (size_t i0 = 0; i0 < d; i0 += SLICE) {
        const size_t m = d - i0 < SLICE ? d - i0 : SLICE;
        for (size_t i = 0; i < m; i++)
            row[i] = e->weight.packed_bf16 ? sd_bf16_to_f32(src[i0 + i])
                                           : sd_f16_to_f32(src[i0 + i]);
        op_add(dst + i0, row, dst + i0, m);
    }
}

/* ---- attention, feed-forward -------------------------------------------------------- */

sd_status sd_attention_forward(const sd_attention *a, const sd_layer_ctx *ctx, const float *x,
                               int nq, const float *context, int nk, int causal, float *y,
                               sd_error *err)
{
    const int inner = a->heads * a->head_dim;
    const float *kv_in = context ? context : x;
    if (!context)
        nk = nq;
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    float *q = sd_arena_floats(ctx->arena, (size_t)nq * inner);   /* [nq, inner] */
    float *k = sd_arena_floats(ctx->arena, (size_t)nk * inner);   /* [nk, inner] */
    float *v = sd_arena_floats(ctx->arena, (size_t)nk * inner);   /* [nk, inner] */
    float *o = sd_arena_floats(ctx->arena, (size_t)nq * inner);   /* [nq, inner] */
    if (!q || !k || !v || !o)
        return out_of_scratch(&a->q.p, ctx, mark, "attention", err);
    sd_status s = SD_OK;
    /* in bf16 an input shared by projections is rounded once for all of them */
    const sd_linear *qkv[3] = {&a->q, &a->k, &a->v};
    float *const qkv_out[3] = {q, k, v};
    const int shared = context ? sd_linears_forward_bf16(qkv + 1, 2, ctx, kv_in, nk, qkv_out + 1)
                               : sd_linears_forward_bf16(qkv, 3, ctx, x, nq, qkv_out);
    if (shared < 0)
        return out_of_scratch(&a->q.p, ctx, mark, "attention (bf16 projections)", err);
    if (shared == 0 && context)   /* k and v done: q from its own input */
        s = sd_linear_forward(&a->q, ctx, x, nq, q, err);
    else if (shared > 0 && (s = sd_linear_forward(&a->q, ctx, x, nq, q, err)) == SD_OK &&
             (s = sd_linear_forward(&a->k, ctx, kv_in, nk, k, err)) == SD_OK)
        s = sd_linear_forward(&a->v, ctx, kv_in, nk, v, err);
    if (s != SD_OK) {
        sd_arena_reset(ctx->arena, mark);
        return s;
    }
    /* softmax(q kᵀ / sqrt(head_dim) [+ causal]) v per head: [nq, inner] */
    const ops_bf16_isa isa = ctx->precision == SD_LAYER_BF16 && a->q.p.prepared ? ops_bf16_best()
                                                                                : OPS_BF16_NONE;
    if (isa != OPS_BF16_NONE
            ? op_attention_bf16(ctx->arena, isa, q, inner, k, v, inner, nq, nk, a->heads,
                                a->head_dim, causal, o) != 0
            : op_attention(ctx->arena, q, inner, k, v, inner, nq, nk, a->heads, a->head_dim,
                           causal, o) != 0)
        return out_of_scratch(&a->q.p, ctx, mark, "attention", err);
    s = sd_linear_forward(&a->out, ctx, o, nq, y, err);   /* [nq, q_dim] */
    sd_arena_reset(ctx->arena, mark);
    return s;
}

sd_status sd_geglu_ff_forward(const sd_geglu_ff *ff, const sd_layer_ctx *ctx, const float *x,
                              int rows, float *y, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    float *proj = sd_arena_floats(ctx->arena, (size_t)rows * 2 * ff->inner);  /* [rows, 2 inner] */
    float *gated = sd_arena_floats(ctx->arena, (size_t)rows * ff->inner);     /* [rows, inner] */
    if (!proj || !gated)
        return out_of_scratch(&ff->proj.p, ctx, mark, "the feed-forward", err);
    sd_status s = sd_linear_forward(&ff->proj, ctx, x, rows, proj, err);
    if (s == SD_OK && ctx->precision == SD_LAYER_BF16 && ff->out.p.prepared) {
        /* the gated values go straight into bf16 for the second product */
        if (sd_geglu_out_forward_bf16(&ff->out, ctx, proj, rows, ff->inner, y) != 0)
            return out_of_scratch(&ff->out.p, ctx, mark, "the feed-forward (bf16)", err);
    } else if (s == SD_OK) {
        op_geglu(proj, rows, ff->inner, gated);   /* value · gelu_erf(gate) */
        s = sd_linear_forward(&ff->out, ctx, gated, rows, y, err);   /* [rows, dim] */
    }
    sd_arena_reset(ctx->arena, mark);
    return s;
}

/* ---- pins --------------------------------------------------------------------------- */

sd_layer_scope sd_layer_scope_begin(const sd_layer_ctx *ctx)
{
    return (sd_layer_scope){sd_arena_get_mark(ctx->arena), ctx->n_pins};
}

void sd_layer_scope_end(sd_layer_ctx *ctx, sd_layer_scope scope)
{
    ctx->n_pins = scope.n_pins;
    sd_arena_reset(ctx->arena, scope.mark);
}

sd_status sd_layer_pin_params(sd_layer_ctx *ctx, const sd_layer_params *p, sd_error *err)
{
    const sd_tensor *t = effective(p);
    if (!t->packed || (ctx->precision == SD_LAYER_BF16 && p->prepared))
        return SD_OK;   /* read in place, or by the bf16 kernels: nothing to widen */
    char key[KEY_MAX];
    if (ctx->n_pins == SD_LAYER_MAX_PINS)
        return sd_fail(err, SD_ERR_INTERNAL, "%s: more than %d weights pinned at once",
                       sd_layer_key(p, key, sizeof key), SD_LAYER_MAX_PINS);
    const float *f32 = sd_tensor_f32(t, ctx->arena);
    if (!f32)
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of scratch memory widening the weight "
                       "(%zu bytes in use)", sd_layer_key(p, key, sizeof key), ctx->arena->used);
    ctx->pins[ctx->n_pins++] = (sd_layer_pin){p, f32};
    return SD_OK;
}

sd_status sd_attention_pin(sd_layer_ctx *ctx, const sd_attention *a, sd_error *err)
{
    sd_status s;
    if ((s = sd_layer_pin_params(ctx, &a->q.p, err)) != SD_OK ||
        (s = sd_layer_pin_params(ctx, &a->k.p, err)) != SD_OK ||
        (s = sd_layer_pin_params(ctx, &a->v.p, err)) != SD_OK)
        return s;
    return sd_layer_pin_params(ctx, &a->out.p, err);
}

sd_status sd_geglu_ff_pin(sd_layer_ctx *ctx, const sd_geglu_ff *ff, sd_error *err)
{
    sd_status s = sd_layer_pin_params(ctx, &ff->proj.p, err);
    return s == SD_OK ? sd_layer_pin_params(ctx, &ff->out.p, err) : s;
}
