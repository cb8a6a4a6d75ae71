/* TAESD forward passes: taesd.py's Encoder() and Decoder() run layer by layer from the
 * tables bound by taesd_load.c.
 *
 * Memory: three activation buffers of the pass's widest activation (C x full resolution:
 * 64 x 512 x 512 floats = 64 MiB at 512²), ping-ponged; the convolutions take their
 * scratch above them and give it back. */
#include "nets/taesd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

/* taesd.py Clamp(): tanh(x / 3) * 3, a soft clamp of the latents to (-3, 3). */
#define TAESD_LATENT_MAGNITUDE 3.0f
/* Images up to 32768 pixels a side keep every size_t product far from overflow. */
#define TAESD_MAX_PIXELS (1 << 15)
/* The bounded conv scratch (ops/conv.c's im2col band) and Winograd's, with slack: the
 * arena does not fit a piece into a block's unused tail. */
#define TAESD_CONV_SCRATCH_BYTES ((size_t)128 << 20)
#define TAESD_LIVE_ACTIVATIONS 3

typedef struct {
    float *x, *t0, *t1;   /* running activation and two scratch buffers */
    int c, h, w;
    sd_arena *arena;
    sd_layer_ctx ctx;     /* the convolutions' scratch (arena) and kernels */
    const sd_taesd_trace *trace;
    const char *side;     /* "encoder" / "decoder" */
    int trace_shift;      /* taesd.py index → diffusers' layer index */
} taesd_state;

static void swap_in(taesd_state *s, float **slot)
{
    float *old = s->x;
    s->x = *slot;
    *slot = old;
}

static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static sd_status conv(const sd_conv2d *cv, taesd_state *s, const float *x, float *y,
                      sd_error *err)
{
    return sd_conv2d_forward(cv, &s->ctx, x, 1, s->h, s->w, y, err);
}

/* Block: x ← ReLU(conv.4(ReLU(conv.2(ReLU(conv.0(x))))) + x). [C, h, w] → [C, h, w] */
static sd_status block(const taesd_layer *l, taesd_state *s, sd_error *err)
{
    const size_t n = (size_t)l->conv[2].co * s->h * s->w;
    sd_status st = conv(&l->conv[0], s, s->x, s->t0, err);
    if (st == SD_OK) {
        relu(s->t0, n);
        st = conv(&l->conv[1], s, s->t0, s->t1, err);
    }
    if (st == SD_OK) {
        relu(s->t1, n);
        st = conv(&l->conv[2], s, s->t1, s->t0, err);
    }
    if (st != SD_OK)
        return st;
    op_add(s->t0, s->x, s->x, n);
    relu(s->x, n);
    return SD_OK;
}

static sd_status layer_forward(const taesd_layer *l, taesd_state *s, float *out, sd_error *err)
{
    const size_t n = (size_t)s->c * s->h * s->w;
    sd_status st = SD_OK;
    switch (l->kind) {
    case TAESD_CONV:
        /* [ci, h, w] → [co, h, w]; the last conv writes straight into `out` */
        st = conv(&l->conv[0], s, s->x, out ? out : s->t0, err);
        if (st == SD_OK && !out)
            swap_in(s, &s->t0);
        s->c = l->conv[0].co;
        break;
    case TAESD_CONV_DOWN: {
        /* [C, h, w] → [C, ceil(h/2), ceil(w/2)] (torch: stride 2, padding 1) */
        st = conv(&l->conv[0], s, s->x, s->t0, err);
        swap_in(s, &s->t0);
        s->h = op_conv_out_size(s->h, 3, 2, 1, 1);
        s->w = op_conv_out_size(s->w, 3, 2, 1, 1);
        s->c = l->conv[0].co;
        break;
    }
    case TAESD_BLOCK:
        st = block(l, s, err);
        break;
    case TAESD_RELU:
        relu(s->x, n);
        break;
    case TAESD_UPSAMPLE:
        /* [C, h, w] → [C, 2h, 2w] */
        op_upsample_nearest(s->x, 1, s->c, s->h, s->w, 2 * s->h, 2 * s->w, s->t0);
        swap_in(s, &s->t0);
        s->h *= 2;
        s->w *= 2;
        break;
    case TAESD_CLAMP:
        for (size_t i = 0; i < n; i++)
            s->x[i] = tanhf(s->x[i] / TAESD_LATENT_MAGNITUDE) * TAESD_LATENT_MAGNITUDE;
        break;
    }
    return st;
}

static sd_status net_forward(const taesd_net *net, taesd_state *s, float *out, sd_error *err)
{
    char name[48];
    for (int i = 0; i < net->n_layers; i++) {
        const int last = i == net->n_layers - 1;
        sd_status st = layer_forward(&net->layer[i], s, last ? out : NULL, err);
        if (st != SD_OK)
            return st;
        const int index = i + s->trace_shift;
        if (s->trace && s->trace->fn && index >= 0) {
            snprintf(name, sizeof name, "%s.layers.%d", s->side, index);
            s->trace->fn(s->trace->user, name, last ? out : s->x, s->c, s->h, s->w);
        }
    }
    return SD_OK;
}

static sd_status state_init(taesd_state *s, const sd_taesd *t, sd_arena *arena, size_t floats,
                            sd_error *err)
{
    s->arena = arena;
    s->ctx = sd_layer_ctx_make(arena, t->precision);
    s->x = sd_arena_floats(arena, floats);
    s->t0 = sd_arena_floats(arena, floats);
    s->t1 = sd_arena_floats(arena, floats);
    if (!s->x || !s->t0 || !s->t1)
        return sd_fail(err, SD_ERR_NOMEM, "TAESD: cannot allocate 3 x %zu MiB of activations",
                       (floats * sizeof(float)) >> 20);
    return SD_OK;
}

static sd_status check_size(int h, int w, int multiple, int max, const char *what, sd_error *err)
{
    if (h < multiple || w < multiple || h % multiple || w % multiple || h > max || w > max)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "TAESD %s: size %dx%d is not a positive multiple of %d (at most %d)",
                       what, h, w, multiple, max);
    return SD_OK;
}

/* The widest activation of a pass, in floats: C at full resolution (the image side). */
static size_t peak_floats(const sd_taesd *t, int height, int width)
{
    size_t c = (size_t)(t->width > 3 ? t->width : 3);
    return c * (size_t)height * (size_t)width;
}

int sd_taesd_latent_size(int pixels)
{
    for (int i = 0; i < 3; i++)
        pixels = op_conv_out_size(pixels, 3, 2, 1, 1);
    return pixels;
}

sd_status sd_taesd_encode(const sd_taesd *t, sd_arena *arena, const float *image01, int height,
                          int width, float *latents, const sd_taesd_trace *trace,
                          sd_error *err)
{
    if (!t || !arena || !image01 || !latents)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_taesd_encode: NULL argument");
    if (!t->has_encoder)
        return sd_fail(err, SD_ERR_INVALID_ARG, "this TAESD has no encoder (only "
                       "taesd_decoder was found): put taesd_encoder.safetensors beside it");
    /* any size: each strided conv gives ceil(x / 2), as torch's (pad 1, stride 2) */
    sd_status st = check_size(height, width, 1, TAESD_MAX_PIXELS, "encode", err);
    if (st != SD_OK)
        return st;
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    taesd_state s = {.c = 3, .h = height, .w = width, .arena = arena, .trace = trace,
                     .side = "encoder", .trace_shift = 0};
    st = state_init(&s, t, arena, peak_floats(t, height, width), err);
    if (st == SD_OK) {
        memcpy(s.x, image01, (size_t)3 * height * width * sizeof(float));
        st = net_forward(&t->encoder, &s, latents, err);
        if (st != SD_OK)
            sd_fail_context(err, st, "TAESD encoder");
    }
    sd_arena_reset(arena, mark);
    return st;
}

sd_status sd_taesd_decode(const sd_taesd *t, sd_arena *arena, const float *latents, int h,
                          int w, float *image01, const sd_taesd_trace *trace, sd_error *err)
{
    if (!t || !arena || !latents || !image01)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_taesd_decode: NULL argument");
    if (!t->has_decoder)
        return sd_fail(err, SD_ERR_INVALID_ARG, "this TAESD has no decoder");
    sd_status st = check_size(h, w, 1, TAESD_MAX_PIXELS / SD_TAESD_SCALE, "decode", err);
    if (st != SD_OK)
        return st;
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    /* diffusers numbers the decoder's layers from taesd.py's index 1 (its Clamp is not one) */
    taesd_state s = {.c = t->latent_channels, .h = h, .w = w, .arena = arena, .trace = trace,
                     .side = "decoder", .trace_shift = -1};
    st = state_init(&s, t, arena, peak_floats(t, h * SD_TAESD_SCALE, w * SD_TAESD_SCALE), err);
    if (st == SD_OK) {
        memcpy(s.x, latents, (size_t)t->latent_channels * h * w * sizeof(float));
        st = net_forward(&t->decoder, &s, image01, err);
        if (st != SD_OK)
            sd_fail_context(err, st, "TAESD decoder");
    }
    sd_arena_reset(arena, mark);
    return st;
}

size_t sd_taesd_encode_bytes(const sd_taesd *t, int height, int width)
{
    return TAESD_LIVE_ACTIVATIONS * peak_floats(t, height, width) * sizeof(float) +
           TAESD_CONV_SCRATCH_BYTES;
}

size_t sd_taesd_decode_bytes(const sd_taesd *t, int h, int w)
{
    return TAESD_LIVE_ACTIVATIONS *
               peak_floats(t, h * SD_TAESD_SCALE, w * SD_TAESD_SCALE) * sizeof(float) +
           TAESD_CONV_SCRATCH_BYTES;
}
