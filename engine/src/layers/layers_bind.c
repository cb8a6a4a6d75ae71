/* Binding layers by checkpoint key, and finding them again (layers.h has the contract). */
#include "layers/layers.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Keys are printf-formatted into buffers of this size; the longest SD 1.x key
 * ("model.diffusion_model.output_blocks.11.1.transformer_blocks.0.attn2.to_out.0.weight")
 * is well under it. */
#define LAYER_KEY_MAX 224
#define WEIGHT_SUFFIX ".weight"

/* Formats a module key; a key that would not fit is reported, never truncated. */
static sd_status format_key(char *key, sd_error *err, const char *fmt, va_list ap)
{
    int len = vsnprintf(key, LAYER_KEY_MAX, fmt, ap);
    if (len < 0 || len >= LAYER_KEY_MAX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "checkpoint key too long (%.64s...)", key);
    return SD_OK;
}

/* The body of every sd_<layer>_bind below: zeroes *layer, formats the caller's key_fmt and
 * variadic arguments into `key`, then returns `bind` (a call of the layer's *_bind_key,
 * which reads `key`), or the formatting failure. A macro because va_start must run in the
 * variadic function itself. */
#define BIND_WITH_KEY(layer, err, key_fmt, key, bind)                                        \
    do {                                                                                    \
        char key[LAYER_KEY_MAX];                                                            \
        va_list key_args;                                                                   \
        memset((layer), 0, sizeof *(layer));                                                \
        va_start(key_args, key_fmt);                                                        \
        sd_status key_status = format_key(key, (err), (key_fmt), key_args);                 \
        va_end(key_args);                                                                   \
        return key_status == SD_OK ? (bind) : key_status;                                   \
    } while (0)

/* Records p as the reader of its weight tensor (sd_layer_find). */
static void record(sd_weights *w, sd_layer_params *p)
{
    sd_weights_set_reader(w, p->weight.name, p);
}

/* <key>.weight, 16-bit kept packed, of `ndim` dims `shape`. */
static sd_status bind_weight(sd_weights *w, sd_tensor *t, int ndim, const int64_t *shape,
                             const char *key, sd_error *err)
{
    return sd_weights_bind_packed(w, t, err, ndim, shape, "%s" WEIGHT_SUFFIX, key);
}

static sd_status bind_bias(sd_weights *w, sd_tensor *t, int64_t n, const char *key,
                           sd_error *err)
{
    return sd_weights_bind(w, t, err, 1, SD_SHAPE(n), "%s.bias", key);
}

/* A matrix [out, in], or the same matrix stored as a 1x1 convolution [out, in, 1, 1]. */
static sd_status bind_matrix(sd_weights *w, sd_tensor *t, int in, int out, const char *key,
                             sd_error *err)
{
    sd_error first = {0};
    sd_status s = bind_weight(w, t, 2, SD_SHAPE(out, in), key, &first);
    if (s == SD_ERR_FORMAT && sd_weights_has(w, "%s" WEIGHT_SUFFIX, key) &&
        bind_weight(w, t, 4, SD_SHAPE(out, in, 1, 1), key, NULL) == SD_OK)
        return SD_OK;
    if (s != SD_OK && err)
        *err = first;
    return s;
}

/* ---- each layer's bind, given its formatted key ---------------------------------------- */

static sd_status linear_bind_key(sd_weights *w, sd_linear *l, int in, int out,
                                 sd_layer_bias bias, const char *key, sd_error *err)
{
    sd_status s = bind_matrix(w, &l->p.weight, in, out, key, err);
    if (s != SD_OK)
        return s;
    l->in = in;
    l->out = (int)l->p.weight.shape[0];
    if (bias == SD_LAYER_BIAS && (s = bind_bias(w, &l->p.bias, l->out, key, err)) != SD_OK)
        return s;
    record(w, &l->p);
    return SD_OK;
}

/* With SD_LAYER_NO_BIAS (a Conv2d made with bias=False: TAESD's strided and upsampling
 * convs) a bias in the file is an error: it belongs to another network. */
static sd_status conv2d_bind_key(sd_weights *w, sd_conv2d *c, int ci, int co,
                                 sd_conv_params params, sd_layer_bias bias, const char *key,
                                 sd_error *err)
{
    sd_status s = bind_weight(w, &c->p.weight, 4, SD_SHAPE(co, ci, params.kh, params.kw), key, err);
    if (s == SD_OK && bias == SD_LAYER_BIAS)
        s = bind_bias(w, &c->p.bias, co, key, err);
    else if (s == SD_OK && sd_weights_has(w, "%s.bias", key))
        s = sd_fail(err, SD_ERR_FORMAT, "%s.bias: this convolution has no bias", key);
    if (s != SD_OK)
        return s;
    c->ci = ci;
    c->co = co;
    c->params = params;
    c->p.conv = 1;
    record(w, &c->p);
    return SD_OK;
}

/* weight and bias [dim] of a norm, fp32. */
static sd_status bind_affine(sd_weights *w, sd_tensor *weight, sd_tensor *bias, int dim,
                             const char *key, sd_error *err)
{
    sd_status s = sd_weights_bind(w, weight, err, 1, SD_SHAPE(dim), "%s" WEIGHT_SUFFIX, key);
    return s == SD_OK ? bind_bias(w, bias, dim, key, err) : s;
}

static sd_status group_norm_bind_key(sd_weights *w, sd_group_norm *g, int channels, int groups,
                                     float eps, const char *key, sd_error *err)
{
    if (groups <= 0 || channels % groups != 0)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into %d groups",
                       key, channels, groups);
    sd_status s = bind_affine(w, &g->weight, &g->bias, channels, key, err);
    if (s != SD_OK)
        return s;
    g->channels = channels;
    g->groups = groups;
    g->eps = eps;
    return SD_OK;
}

static sd_status layer_norm_bind_key(sd_weights *w, sd_layer_norm *ln, int dim, float eps,
                                     const char *key, sd_error *err)
{
    sd_status s = bind_affine(w, &ln->weight, &ln->bias, dim, key, err);
    if (s != SD_OK)
        return s;
    ln->dim = dim;
    ln->eps = eps;
    return SD_OK;
}

static sd_status embedding_bind_key(sd_weights *w, sd_embedding *e, int count, int dim,
                                    const char *key, sd_error *err)
{
    /* SD 1.x's token table is 49408 x 768 (150 MB as fp32): kept 16-bit, rows widened */
    sd_status s = sd_weights_bind_packed(w, &e->weight, err, 2, SD_SHAPE(count, dim), "%s", key);
    if (s != SD_OK)
        return s;
    e->count = count;
    e->dim = dim;
    return SD_OK;
}

static sd_status attention_bind_key(sd_weights *w, sd_attention *a, int q_dim, int kv_dim,
                                    int inner, int heads, const sd_attention_names *names,
                                    const char *key, sd_error *err)
{
    if (heads <= 0 || inner <= 0 || inner % heads != 0)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into %d heads",
                       key, inner, heads);
    sd_status s;
    if ((s = sd_linear_bind(w, &a->q, q_dim, inner, names->qkv_bias, err, "%s.%s", key,
                            names->q)) != SD_OK ||
        (s = sd_linear_bind(w, &a->k, kv_dim, inner, names->qkv_bias, err, "%s.%s", key,
                            names->k)) != SD_OK ||
        (s = sd_linear_bind(w, &a->v, kv_dim, inner, names->qkv_bias, err, "%s.%s", key,
                            names->v)) != SD_OK ||
        (s = sd_linear_bind(w, &a->out, inner, q_dim, SD_LAYER_BIAS, err, "%s.%s", key,
                            names->out)) != SD_OK)
        return s;
    a->heads = heads;
    a->head_dim = inner / heads;
    return SD_OK;
}

/* Rows [row0, row0 + rows) of a bound 2-D tensor (or of a 1-D one: elements), as a tensor
 * of its own pointing into the same memory. */
static sd_tensor tensor_rows(const sd_tensor *t, int64_t row0, int64_t rows)
{
    sd_tensor v = *t;
    const int64_t row_len = t->ndim == 2 ? t->shape[1] : 1;
    const int64_t skip = row0 * row_len;
    if (v.data)
        v.data += skip;
    if (v.packed)
        v.packed += skip;
    v.shape[0] = rows;
    v.numel = rows * row_len;
    return v;
}

static sd_status attention_fused_bind_key(sd_weights *w, sd_attention *a, int dim, int heads,
                                          const char *key, sd_error *err)
{
    if (heads <= 0 || dim <= 0 || dim % heads != 0)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: %d channels do not split into %d heads",
                       key, dim, heads);
    sd_tensor weight, bias;
    sd_status s;
    if ((s = sd_weights_bind_packed(w, &weight, err, 2, SD_SHAPE(3 * (int64_t)dim, dim),
                                    "%s.in_proj_weight", key)) != SD_OK ||
        (s = sd_weights_bind(w, &bias, err, 1, SD_SHAPE(3 * (int64_t)dim), "%s.in_proj_bias",
                             key)) != SD_OK)
        return s;
    sd_linear *qkv[3] = {&a->q, &a->k, &a->v};
    for (int i = 0; i < 3; i++) {
        qkv[i]->p.weight = tensor_rows(&weight, (int64_t)i * dim, dim);   /* [dim, dim] */
        qkv[i]->p.bias = tensor_rows(&bias, (int64_t)i * dim, dim);       /* [dim] */
        qkv[i]->in = dim;
        qkv[i]->out = dim;
    }
    a->q.p.fused_next = &a->k.p;
    a->k.p.fused_next = &a->v.p;
    record(w, &a->q.p);   /* under the fused name: LoRA finds the three through q */
    if ((s = sd_linear_bind(w, &a->out, dim, dim, SD_LAYER_BIAS, err, "%s.out_proj", key)) !=
        SD_OK)
        return s;
    a->heads = heads;
    a->head_dim = dim / heads;
    return SD_OK;
}

static sd_status geglu_ff_bind_key(sd_weights *w, sd_geglu_ff *ff, int dim, const char *key,
                                   sd_error *err)
{
    /* net.0.proj [2 · inner, dim] (SD 1.x and 2.x: inner = 4 · dim) */
    sd_status s = sd_linear_bind(w, &ff->proj, dim, -1, SD_LAYER_BIAS, err, "%s.net.0.proj", key);
    if (s != SD_OK)
        return s;
    if (ff->proj.out % 2 != 0)
        return sd_fail(err, SD_ERR_FORMAT, "%s.net.0.proj.weight: %d rows, not 2 x inner", key,
                       ff->proj.out);
    ff->dim = dim;
    ff->inner = ff->proj.out / 2;
    return sd_linear_bind(w, &ff->out, ff->inner, dim, SD_LAYER_BIAS, err, "%s.net.2", key);
}

/* ---- the public binds: key_fmt formatted, then the layer's bind -------------------------- */

sd_status sd_linear_bind(sd_weights *w, sd_linear *l, int in, int out, sd_layer_bias bias,
                         sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(l, err, key_fmt, key, linear_bind_key(w, l, in, out, bias, key, err));
}

sd_status sd_conv2d_bind(sd_weights *w, sd_conv2d *c, int ci, int co, sd_conv_params params,
                         sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(c, err, key_fmt, key,
                  conv2d_bind_key(w, c, ci, co, params, SD_LAYER_BIAS, key, err));
}

sd_status sd_conv2d_bind_no_bias(sd_weights *w, sd_conv2d *c, int ci, int co,
                                 sd_conv_params params, sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(c, err, key_fmt, key,
                  conv2d_bind_key(w, c, ci, co, params, SD_LAYER_NO_BIAS, key, err));
}

sd_status sd_group_norm_bind(sd_weights *w, sd_group_norm *g, int channels, int groups,
                             float eps, sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(g, err, key_fmt, key,
                  group_norm_bind_key(w, g, channels, groups, eps, key, err));
}

sd_status sd_layer_norm_bind(sd_weights *w, sd_layer_norm *ln, int dim, float eps,
                             sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(ln, err, key_fmt, key, layer_norm_bind_key(w, ln, dim, eps, key, err));
}

sd_status sd_embedding_bind(sd_weights *w, sd_embedding *e, int count, int dim, sd_error *err,
                            const char *key_fmt, ...)
{
    BIND_WITH_KEY(e, err, key_fmt, key, embedding_bind_key(w, e, count, dim, key, err));
}

sd_status sd_attention_bind(sd_weights *w, sd_attention *a, int q_dim, int kv_dim, int inner,
                            int heads, const sd_attention_names *names, sd_error *err,
                            const char *key_fmt, ...)
{
    BIND_WITH_KEY(a, err, key_fmt, key,
                  attention_bind_key(w, a, q_dim, kv_dim, inner, heads, names, key, err));
}

sd_status sd_attention_bind_fused(sd_weights *w, sd_attention *a, int dim, int heads,
                                  sd_error *err, const char *key_fmt, ...)
{
    BIND_WITH_KEY(a, err, key_fmt, key, attention_fused_bind_key(w, a, dim, heads, key, err));
}

sd_status sd_geglu_ff_bind(sd_weights *w, sd_geglu_ff *ff, int dim, sd_error *err,
                           const char *key_fmt, ...)
{
    BIND_WITH_KEY(ff, err, key_fmt, key, geglu_ff_bind_key(w, ff, dim, key, err));
}

/* ---- finding bound layers ------------------------------------------------------------- */

const char *sd_layer_key(const sd_layer_params *p, char *buf, size_t size)
{
    const size_t suffix = sizeof WEIGHT_SUFFIX - 1;
    const size_t len = p->weight.name ? strlen(p->weight.name) : 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (len > suffix && len - suffix < size &&
        strcmp(p->weight.name + len - suffix, WEIGHT_SUFFIX) == 0) {
        memcpy(buf, p->weight.name, len - suffix);
        buf[len - suffix] = '\0';
    }
    return buf;
}

void sd_layer_set_merged(sd_layer_params *p, const sd_tensor *merged)
{
    if (!p->fused_next) {
        p->merged = *merged;
        return;
    }
    int64_t row0 = 0;
    for (sd_layer_params *q = p; q; q = q->fused_next) {
        q->merged = tensor_rows(merged, row0, q->weight.shape[0]);
        row0 += q->weight.shape[0];
    }
}

void sd_layer_clear_merged(sd_layer_params *p)
{
    for (sd_layer_params *q = p; q; q = q->fused_next)
        memset(&q->merged, 0, sizeof q->merged);
}

sd_layer_params *sd_layer_find(const sd_weights *w, const char *weight_key)
{
    return sd_weights_reader(w, weight_key);
}

typedef struct {
    void (*fn)(void *user, sd_layer_params *p);
    void *user;
} each_layer;

static void each_reader(void *user, const char *name, void *reader)
{
    (void)name;
    const each_layer *e = user;
    e->fn(e->user, reader);
}

void sd_layer_each(const sd_weights *w, const char *prefix,
                   void (*fn)(void *user, sd_layer_params *p), void *user)
{
    each_layer e = {fn, user};
    sd_weights_each_reader(w, prefix, each_reader, &e);
}

