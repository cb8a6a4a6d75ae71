/* The bf16 hook of the layer module: packing at load, the forwards' bf16 branch
 * (layers_bf16.h has the contract). */
#include "layers/layers_bf16.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/spill.h"

#define PACK_ALIGN 64
#define PREFIX_MAX 64

struct sd_layer_prepared {
    ops_bf16_isa isa;
    int conv;            /* rows operand [co][kpad(ci kh kw)]; else cols operand of Wᵀ */
    uint16_t *data;      /* in the pack's mapping */
};

struct sd_layers_bf16_pack {
    char prefix[PREFIX_MAX];
    sd_spill map;        /* the packed values, 64-byte aligned per layer (its pages can be
                            given back: core/spill.h) */
    int n_layers;
    sd_layer_prepared *layers;   /* [n_layers] */
};

static const sd_tensor *effective(const sd_layer_params *p)
{
    return p->merged.numel > 0 ? &p->merged : &p->weight;
}

/* bf16 values of a layer's packed weight, and whether it is the conv (rows) layout. */
static size_t packed_elems(const sd_layer_params *p, int *conv)
{
    const sd_tensor *t = effective(p);
    const int out = (int)t->shape[0], in = (int)t->shape[1];
    const int kh = t->ndim == 4 ? (int)t->shape[2] : 1, kw = t->ndim == 4 ? (int)t->shape[3] : 1;
    /* a Conv2d's, 1x1 included: it reads the image [ci, hw] as the cols operand in place */
    *conv = p->conv;
    return *conv ? ops_bf16_conv_weight_size(out, in, kh, kw) : ops_bf16_linear_weight_size(in, out);
}

static size_t aligned(size_t bytes)
{
    return (bytes + PACK_ALIGN - 1) / PACK_ALIGN * PACK_ALIGN;
}

typedef struct {
    sd_weights *w;
    sd_layers_bf16_pack *pack;
    ops_bf16_isa isa;
    size_t bytes;        /* pass 1: the mapping's size; pass 2: where the next layer goes */
    int count;
    sd_arena scratch;    /* the widened fp32 weight, one at a time */
    sd_status status;
    sd_error *err;
} pack_job;

static void measure_one(void *user, sd_layer_params *p)
{
    pack_job *j = user;
    int conv;
    j->bytes += aligned(packed_elems(p, &conv) * sizeof(uint16_t));
    j->count++;
}

static void pack_one(void *user, sd_layer_params *p)
{
    pack_job *j = user;
    if (j->status != SD_OK || j->count >= j->pack->n_layers)
        return;
    const sd_tensor *t = effective(p);
    int conv;
    const size_t elems = packed_elems(p, &conv);
    const sd_arena_mark mark = sd_arena_get_mark(&j->scratch);
    const float *f32 = sd_tensor_f32(t, &j->scratch);
    if (!f32) {
        j->status = sd_fail(j->err, SD_ERR_NOMEM, "%s: out of memory packing it for bf16",
                            t->name ? t->name : "a weight");
        return;
    }
    sd_layer_prepared *prep = &j->pack->layers[j->count++];
    prep->isa = j->isa;
    prep->conv = conv;
    prep->data = (uint16_t *)((char *)j->pack->map.data + j->bytes);
    j->bytes += aligned(elems * sizeof(uint16_t));
    if (conv)
        ops_bf16_pack_conv_weight(f32, (int)t->shape[0], (int)t->shape[1], (int)t->shape[2],
                                  (int)t->shape[3], prep->data);
    else
        ops_bf16_pack_linear_weight(f32, (int)t->shape[1], (int)t->shape[0], prep->data);
    sd_arena_reset(&j->scratch, mark);
    p->prepared = prep;
    /* Neither the checkpoint's pages of this weight nor the packed ones are needed in memory
     * now: without this, packing a network would hold both at once (3.3 GB for SD 1.5). */
    if (t->name)
        sd_weights_release(j->w, t->name);
    sd_spill_release(&j->pack->map, prep->data, elems * sizeof(uint16_t));
}

static void clear_one(void *user, sd_layer_params *p)
{
    (void)user;
    p->prepared = NULL;
}

sd_status sd_layers_prepare_bf16(sd_weights *w, const char *prefix, ops_bf16_isa isa,
                                 sd_layers_bf16_pack **out, sd_error *err)
{
    *out = NULL;
    pack_job j = {.w = w, .isa = isa, .status = SD_OK, .err = err};
    sd_layer_each(w, prefix, measure_one, &j);
    if (j.count == 0)
        return SD_OK;
    sd_layers_bf16_pack *pack = calloc(1, sizeof *pack);
    if (!pack || strlen(prefix) >= sizeof pack->prefix ||
        !(pack->layers = calloc((size_t)j.count, sizeof *pack->layers))) {
        if (pack)
            free(pack->layers);
        free(pack);
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory packing the weights for bf16",
                       prefix);
    }
    strcpy(pack->prefix, prefix);
    pack->n_layers = j.count;
    if (sd_spill_map(&pack->map, j.bytes) != 0) {
        free(pack->layers);
        free(pack);
        return sd_fail(err, SD_ERR_NOMEM, "%s: cannot map %zu MB for the bf16 weights", prefix,
                       j.bytes >> 20);
    }
    j.pack = pack;
    j.bytes = 0;
    j.count = 0;
    sd_arena_init(&j.scratch, 0);
    sd_layer_each(w, prefix, pack_one, &j);
    sd_arena_free(&j.scratch);
    if (j.status != SD_OK) {
        sd_layers_bf16_free(w, pack);
        return j.status;
    }
    *out = pack;
    return SD_OK;
}

void sd_layers_bf16_free(sd_weights *w, sd_layers_bf16_pack *pack)
{
    if (!pack)
        return;
    sd_layer_each(w, pack->prefix, clear_one, NULL);
    sd_spill_unmap(&pack->map);
    free(pack->layers);
    free(pack);
}

void sd_layers_bf16_release(sd_layers_bf16_pack *pack)
{
    if (pack)
        sd_spill_release(&pack->map, pack->map.data, pack->map.bytes);
}

size_t sd_layers_bf16_bytes(const sd_layers_bf16_pack *pack)
{
    return pack ? pack->map.bytes : 0;
}

/* ---- forwards ---------------------------------------------------------------------------- */

int sd_linear_forward_bf16(const sd_linear *l, const sd_layer_ctx *ctx, const float *x,
                           int rows, float *y)
{
    const sd_layer_prepared *prep = l->p.prepared;
    const float *bias = l->p.bias.numel > 0 ? l->p.bias.data : NULL;
    return op_linear_bf16(ctx->arena, prep->isa, x, rows, l->in, prep->data, bias, l->out, y);
}

int sd_geglu_out_forward_bf16(const sd_linear *l, const sd_layer_ctx *ctx, const float *proj,
                              int rows, int d, float *y)
{
    const sd_layer_prepared *prep = l->p.prepared;
    const float *bias = l->p.bias.numel > 0 ? l->p.bias.data : NULL;
    return op_geglu_linear_bf16(ctx->arena, prep->isa, proj, rows, d, prep->data, bias, l->out,
                                y);
}

int sd_conv2d_bf16_ready(const sd_conv2d *c, const sd_layer_ctx *ctx)
{
    const sd_layer_prepared *prep = c->p.prepared;
    return ctx->precision == SD_LAYER_BF16 && prep && prep->conv;   /* rows layout */
}

int sd_conv2d_forward_bf16(const sd_conv2d *c, const sd_layer_ctx *ctx, const float *x, int n,
                           int h, int w, float *y)
{
    const sd_layer_prepared *prep = c->p.prepared;
    const float *bias = c->p.bias.numel > 0 ? c->p.bias.data : NULL;
    return op_conv2d_bf16(ctx->arena, prep->isa, x, n, c->ci, h, w, prep->data, bias, c->co,
                          &c->params, y);
}

int sd_conv1x1_tokens_forward_bf16(const sd_conv2d *c, const sd_layer_ctx *ctx,
                                   const float *tokens, int n, int hw, float *y)
{
    const sd_layer_prepared *prep = c->p.prepared;
    const float *bias = c->p.bias.numel > 0 ? c->p.bias.data : NULL;
    return op_conv1x1_tokens_bf16(ctx->arena, prep->isa, tokens, n, hw, c->ci, prep->data, bias,
                                  c->co, y);
}

#define LINEARS_MAX 3   /* q, k and v */

int sd_linears_forward_bf16(const sd_linear *const l[], int count, const sd_layer_ctx *ctx,
                            const float *x, int rows, float *const y[])
{
    const uint16_t *weight[LINEARS_MAX];
    const float *bias[LINEARS_MAX];
    int out[LINEARS_MAX];
    const sd_layer_prepared *first = l[0]->p.prepared;
    if (ctx->precision != SD_LAYER_BF16 || count > LINEARS_MAX || !first)
        return 1;
    for (int i = 0; i < count; i++) {
        const sd_layer_prepared *p = l[i]->p.prepared;
        if (!p || p->conv || p->isa != first->isa || l[i]->in != l[0]->in)
            return 1;
        weight[i] = p->data;
        bias[i] = l[i]->p.bias.numel > 0 ? l[i]->p.bias.data : NULL;
        out[i] = l[i]->out;
    }
    return op_linears_bf16(ctx->arena, first->isa, x, rows, l[0]->in, count, weight, bias, out,
                           y) != 0 ? -1 : 0;
}
