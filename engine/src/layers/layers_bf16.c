/* The bf16 hook of the layer module: packing at load, the forwards' bf16 branch
 * (layers_bf16.h has the contract). */
#include "layers/layers_bf16.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct sd_layer_prepared {
    ops_bf16_isa isa;
    int conv;            /* rows operand [co][kpad(ci kh kw)]; else cols operand of Wᵀ */
    size_t bytes;
    uint16_t data[];
};

static const sd_tensor *effective(const sd_layer_params *p)
{
    return p->merged.numel > 0 ? &p->merged : &p->weight;
}

typedef struct {
    ops_bf16_isa isa;
    sd_arena scratch;    /* the widened fp32 weight, one at a time */
    sd_status status;
    sd_error *err;
    size_t bytes;
} prepare_job;

static void unprepare_one(void *user, sd_layer_params *p)
{
    (void)user;
    free((void *)p->prepared);
    p->prepared = NULL;
}

static void prepare_one(void *user, sd_layer_params *p)
{
    prepare_job *j = user;
    if (j->status != SD_OK)
        return;
    const sd_tensor *t = effective(p);
    const int out = (int)t->shape[0], in = (int)t->shape[1];
    const int kh = t->ndim == 4 ? (int)t->shape[2] : 1, kw = t->ndim == 4 ? (int)t->shape[3] : 1;
    const int conv = kh * kw > 1;
    const size_t elems = conv ? ops_bf16_conv_weight_size(out, in, kh, kw)
                              : ops_bf16_linear_weight_size(in, out);
    sd_layer_prepared *prep = malloc(sizeof *prep + elems * sizeof(uint16_t));
    const sd_arena_mark mark = sd_arena_get_mark(&j->scratch);
    const float *f32 = prep ? sd_tensor_f32(t, &j->scratch) : NULL;
    if (!prep || !f32) {
        free(prep);
        sd_arena_reset(&j->scratch, mark);
        j->status = sd_fail(j->err, SD_ERR_NOMEM, "%s: out of memory packing it for bf16",
                            t->name ? t->name : "a weight");
        return;
    }
    prep->isa = j->isa;
    prep->conv = conv;
    prep->bytes = sizeof *prep + elems * sizeof(uint16_t);
    if (conv)
        ops_bf16_pack_conv_weight(f32, out, in, kh, kw, prep->data);
    else
        ops_bf16_pack_linear_weight(f32, in, out, prep->data);
    sd_arena_reset(&j->scratch, mark);
    unprepare_one(NULL, p);
    p->prepared = prep;
    j->bytes += prep->bytes;
}

sd_status sd_layers_prepare_bf16(sd_weights *w, const char *prefix, ops_bf16_isa isa,
                                 sd_error *err)
{
    prepare_job j = {.isa = isa, .status = SD_OK, .err = err};
    sd_arena_init(&j.scratch, 0);
    sd_layer_each(w, prefix, prepare_one, &j);
    sd_arena_free(&j.scratch);
    return j.status;
}

void sd_layers_unprepare(sd_weights *w, const char *prefix)
{
    sd_layer_each(w, prefix, unprepare_one, NULL);
}

static void count_one(void *user, sd_layer_params *p)
{
    if (p->prepared)
        *(size_t *)user += p->prepared->bytes;
}

size_t sd_layers_prepared_bytes(const sd_weights *w, const char *prefix)
{
    size_t bytes = 0;
    sd_layer_each(w, prefix, count_one, &bytes);
    return bytes;
}

/* ---- forwards ---------------------------------------------------------------------------- */

int sd_linear_forward_bf16(const sd_linear *l, const sd_layer_ctx *ctx, const float *x,
                           int rows, float *y)
{
    const sd_layer_prepared *prep = l->p.prepared;
    const float *bias = l->p.bias.numel > 0 ? l->p.bias.data : NULL;
    return op_linear_bf16(ctx->arena, prep->isa, x, rows, l->in, prep->data, bias, l->out, y);
}

int sd_conv2d_bf16_ready(const sd_conv2d *c, const sd_layer_ctx *ctx)
{
    const sd_layer_prepared *prep = c->p.prepared;
    const sd_conv_params *q = &c->params;
    if (ctx->precision != SD_LAYER_BF16 || !prep)
        return 0;
    /* a 1x1 weight is packed for the token-major product: stride 1, no padding only */
    return prep->conv || (q->stride == 1 && q->pad_top == 0 && q->pad_left == 0 &&
                          q->pad_bottom == 0 && q->pad_right == 0);
}

int sd_conv2d_forward_bf16(const sd_conv2d *c, const sd_layer_ctx *ctx, const float *x, int n,
                           int h, int w, float *y)
{
    const sd_layer_prepared *prep = c->p.prepared;
    const float *bias = c->p.bias.numel > 0 ? c->p.bias.data : NULL;
    if (prep->conv)
        return op_conv2d_bf16(ctx->arena, prep->isa, x, n, c->ci, h, w, prep->data, bias, c->co,
                              &c->params, y);
    /* 1x1: y[b] = (x[b]ᵀ · Wᵀ)ᵀ, [co, hw] ← [hw, co] ← [hw, ci] ← [ci, hw] */
    const int hw = h * w;
    const sd_arena_mark mark = sd_arena_get_mark(ctx->arena);
    float *xt = sd_arena_floats(ctx->arena, (size_t)hw * c->ci);   /* [hw, ci] */
    float *yt = sd_arena_floats(ctx->arena, (size_t)hw * c->co);   /* [hw, co] */
    int rc = xt && yt ? 0 : -1;
    for (int b = 0; b < n && rc == 0; b++) {
        op_transpose(x + (size_t)b * c->ci * hw, c->ci, hw, xt);
        rc = op_linear_bf16(ctx->arena, prep->isa, xt, hw, c->ci, prep->data, bias, c->co, yt);
        if (rc == 0)
            op_transpose(yt, hw, c->co, y + (size_t)b * c->co * hw);
    }
    sd_arena_reset(ctx->arena, mark);
    return rc;
}
