/* The SD 1.x VAE (LDM AutoencoderKL), forward passes written as the architecture.
 *
 * Memory: a pass takes three activation buffers from the arena, each as large as the
 * largest activation of that pass, and ping-pongs between them (the running tensor
 * plus two scratch tensors); ops take their own scratch above them and give it back.
 * Nothing else is live, so a 512x512 decode of the full-size VAE holds 3 x 256 ch x
 * 512 x 512 floats (~0.8 GB) plus the convolution scratch. */
#include "nets/keys.h"
#include "nets/vae.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

#define VAE_PREFIX SD_KEY_VAE
#define VAE_GN_EPS 1e-6f          /* every VAE GroupNorm (diffusers: eps=1e-6) */
#define VAE_LOGVAR_MIN (-30.0f)   /* DiagonalGaussianDistribution clamps logvar */
#define VAE_LOGVAR_MAX 20.0f

/* ---- loading ------------------------------------------------------------ */

/* Checkpoint keys are printf-formatted into buffers of this size; the longest SD key
 * ("first_stage_model.decoder.up.3.block.0.nin_shortcut.weight") is well under it. */
#define VAE_KEY_MAX 192

static const sd_attention_names vae_attention_names = {
    "q", "k", "v", "proj_out", SD_LAYER_BIAS,
};

/* Same-size convolutions: 3x3 with padding 1, or 1x1. */
static sd_conv_params same_size(int k)
{
    return op_conv_params(k, 1, k / 2);
}

/* LDM Downsample: zero-pad right and bottom by one, then 3x3 stride 2 without padding. */
static const sd_conv_params vae_downsample_params = {
    .kh = 3, .kw = 3, .stride = 2, .pad_top = 0, .pad_left = 0, .pad_bottom = 1, .pad_right = 1,
};

static sd_status bind_resnet_block(sd_weights *w, vae_resnet_block *b, int ci, int co, int groups,
                                   sd_error *err, const char *fmt, ...) SD_PRINTF(7, 8);
static sd_status bind_resnet_block(sd_weights *w, vae_resnet_block *b, int ci, int co, int groups,
                                   sd_error *err, const char *fmt, ...)
{
    char key[VAE_KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    if (len < 0 || len >= (int)sizeof key)
        return sd_fail(err, SD_ERR_INTERNAL, "VAE: checkpoint key too long (%s...)", key);
    b->in_channels = ci;
    b->out_channels = co;
    b->has_nin_shortcut = ci != co;
    sd_status st;
    if ((st = sd_group_norm_bind(w, &b->norm1, ci, groups, VAE_GN_EPS, err, "%s.norm1",
                                 key)) != SD_OK ||
        (st = sd_conv2d_bind(w, &b->conv1, ci, co, same_size(3), err, "%s.conv1", key)) != SD_OK ||
        (st = sd_group_norm_bind(w, &b->norm2, co, groups, VAE_GN_EPS, err, "%s.norm2",
                                 key)) != SD_OK ||
        (st = sd_conv2d_bind(w, &b->conv2, co, co, same_size(3), err, "%s.conv2", key)) != SD_OK)
        return st;
    if (b->has_nin_shortcut)
        st = sd_conv2d_bind(w, &b->nin_shortcut, ci, co, same_size(1), err, "%s.nin_shortcut",
                            key);
    return st;
}

/* mid.block_1, mid.attn_1, mid.block_2 under `key` (encoder.mid or decoder.mid). */
static sd_status bind_mid(sd_weights *w, vae_mid *m, int c, int groups, const char *key,
                          sd_error *err)
{
    vae_attn_block *a = &m->attn_1;
    a->channels = c;
    sd_status st = bind_resnet_block(w, &m->block_1, c, c, groups, err, "%s.block_1", key);
    if (st == SD_OK)
        st = sd_group_norm_bind(w, &a->norm, c, groups, VAE_GN_EPS, err, "%s.attn_1.norm", key);
    if (st == SD_OK)   /* one head as wide as the channels */
        st = sd_attention_bind(w, &a->attn, c, c, c, 1, &vae_attention_names, err,
                               "%s.attn_1", key);
    if (st == SD_OK)
        st = bind_resnet_block(w, &m->block_2, c, c, groups, err, "%s.block_2", key);
    return st;
}

static sd_status bind_encoder(sd_weights *w, vae_encoder *e, const sd_vae_config *cfg,
                              sd_error *err)
{
    const int L = cfg->levels, top = cfg->channels[L - 1], g = cfg->groups;
    sd_status st = sd_conv2d_bind(w, &e->conv_in, cfg->in_channels, cfg->channels[0],
                                  same_size(3), err, VAE_PREFIX "encoder.conv_in");
    int ci = cfg->channels[0];
    for (int i = 0; i < L && st == SD_OK; i++) {
        vae_encoder_level *lv = &e->down[i];
        const int co = cfg->channels[i];
        lv->n_blocks = cfg->layers_per_block;
        for (int j = 0; j < lv->n_blocks && st == SD_OK; j++, ci = co)
            st = bind_resnet_block(w, &lv->block[j], ci, co, g, err,
                                   VAE_PREFIX "encoder.down.%d.block.%d", i, j);
        lv->has_downsample = i < L - 1;
        if (st == SD_OK && lv->has_downsample)
            st = sd_conv2d_bind(w, &lv->downsample, co, co, vae_downsample_params, err,
                                VAE_PREFIX "encoder.down.%d.downsample.conv", i);
    }
    if (st == SD_OK)
        st = bind_mid(w, &e->mid, top, g, VAE_PREFIX "encoder.mid", err);
    if (st == SD_OK)
        st = sd_group_norm_bind(w, &e->norm_out, top, g, VAE_GN_EPS, err,
                                VAE_PREFIX "encoder.norm_out");
    if (st == SD_OK)
        st = sd_conv2d_bind(w, &e->conv_out, top, 2 * cfg->latent_channels, same_size(3), err,
                            VAE_PREFIX "encoder.conv_out");
    return st;
}

static sd_status bind_decoder(sd_weights *w, vae_decoder *d, const sd_vae_config *cfg,
                              sd_error *err)
{
    const int L = cfg->levels, top = cfg->channels[L - 1], c0 = cfg->channels[0];
    const int g = cfg->groups;
    sd_status st = sd_conv2d_bind(w, &d->conv_in, cfg->latent_channels, top, same_size(3), err,
                                  VAE_PREFIX "decoder.conv_in");
    if (st == SD_OK)
        st = bind_mid(w, &d->mid, top, g, VAE_PREFIX "decoder.mid", err);
    int ci = top;
    for (int i = L - 1; i >= 0 && st == SD_OK; i--) {
        vae_decoder_level *lv = &d->up[i];
        const int co = cfg->channels[i];
        lv->n_blocks = cfg->layers_per_block + 1;
        for (int j = 0; j < lv->n_blocks && st == SD_OK; j++, ci = co)
            st = bind_resnet_block(w, &lv->block[j], ci, co, g, err,
                                   VAE_PREFIX "decoder.up.%d.block.%d", i, j);
        lv->has_upsample = i > 0;
        if (st == SD_OK && lv->has_upsample)
            st = sd_conv2d_bind(w, &lv->upsample, co, co, same_size(3), err,
                                VAE_PREFIX "decoder.up.%d.upsample.conv", i);
    }
    if (st == SD_OK)
        st = sd_group_norm_bind(w, &d->norm_out, c0, g, VAE_GN_EPS, err,
                                VAE_PREFIX "decoder.norm_out");
    if (st == SD_OK)
        st = sd_conv2d_bind(w, &d->conv_out, c0, cfg->out_channels, same_size(3), err,
                            VAE_PREFIX "decoder.conv_out");
    return st;
}

sd_status sd_vae_load(sd_vae *vae, sd_weights *w, const sd_vae_config *cfg, sd_error *err)
{
    if (!vae || !w || !cfg)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_load: NULL argument");
    memset(vae, 0, sizeof *vae);
    if (cfg->levels < 1 || cfg->levels > SD_MAX_LEVELS || cfg->layers_per_block < 1 ||
        cfg->layers_per_block + 1 > SD_VAE_MAX_BLOCKS || cfg->groups < 1 ||
        cfg->latent_channels < 1 || cfg->in_channels < 1 || cfg->out_channels < 1)
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "unsupported model: VAE with %d levels, %d blocks per level",
                       cfg->levels, cfg->layers_per_block);
    for (int i = 0; i < cfg->levels; i++)
        if (cfg->channels[i] < cfg->groups || cfg->channels[i] % cfg->groups != 0)
            return sd_fail(err, SD_ERR_UNSUPPORTED,
                           "unsupported model: VAE level %d has %d channels, not a multiple "
                           "of %d groups", i, cfg->channels[i], cfg->groups);
    vae->cfg = *cfg;
    const int lc2 = 2 * cfg->latent_channels, lc = cfg->latent_channels;
    sd_status st = bind_encoder(w, &vae->encoder, cfg, err);
    if (st == SD_OK)
        st = sd_conv2d_bind(w, &vae->quant_conv, lc2, lc2, same_size(1), err,
                            VAE_PREFIX "quant_conv");
    if (st == SD_OK)
        st = sd_conv2d_bind(w, &vae->post_quant_conv, lc, lc, same_size(1), err,
                            VAE_PREFIX "post_quant_conv");
    if (st == SD_OK)
        st = bind_decoder(w, &vae->decoder, cfg, err);
    if (st != SD_OK)
        return sd_fail_context(err, st, "VAE");
    return SD_OK;
}

/* ---- forward ------------------------------------------------------------ */

/* The running activation x [c, h, w] and two scratch buffers of the same capacity. */
typedef struct {
    float *x, *t0, *t1;
    int c, h, w;
    sd_layer_ctx ctx;   /* the arena every layer's scratch comes from */
    const sd_vae_trace *trace;
} vae_state;

static void trace_emit(const vae_state *s, const char *name, const float *x, int c, int h,
                       int w)
{
    if (s->trace && s->trace->fn)
        s->trace->fn(s->trace->user, name, x, c, h, w);
}

/* y = cv(x) on the one image of the pass, x [cv.ci, h, w]. */
static sd_status conv(const sd_conv2d *cv, vae_state *s, const float *x, int h, int w,
                      float *y, sd_error *err)
{
    return sd_conv2d_forward(cv, &s->ctx, x, 1, h, w, y, err);
}

static void swap_in(vae_state *s, float **slot)
{
    float *old = s->x;
    s->x = *slot;
    *slot = old;
}

static sd_status resnet_block(const vae_resnet_block *b, vae_state *s, sd_error *err)
{
    const int h = s->h, w = s->w;
    sd_status st;
    /* [ci, h, w] → [co, h, w] */
    sd_group_norm_silu_forward(&b->norm1, s->x, 1, h * w, s->t0);
    if ((st = conv(&b->conv1, s, s->t0, h, w, s->t1, err)) != SD_OK)
        return st;
    sd_group_norm_silu_forward(&b->norm2, s->t1, 1, h * w, s->t1);
    if ((st = conv(&b->conv2, s, s->t1, h, w, s->t0, err)) != SD_OK)
        return st;
    const size_t n = (size_t)b->out_channels * h * w;
    if (b->has_nin_shortcut) {
        if ((st = conv(&b->nin_shortcut, s, s->x, h, w, s->t1, err)) != SD_OK)
            return st;
        op_add(s->t1, s->t0, s->t0, n);
    } else {
        op_add(s->x, s->t0, s->t0, n);
    }
    swap_in(s, &s->t0);
    s->c = b->out_channels;
    return SD_OK;
}

/* Single-head attention over the h*w positions: tokens are pixels, channels are the
 * head dimension, so the 1x1 q/k/v/proj_out convolutions are linear layers on the
 * [hw, c] transpose. */
static sd_status attn_block(const vae_attn_block *b, vae_state *s, sd_error *err)
{
    const int c = b->channels, hw = s->h * s->w;
    sd_group_norm_forward(&b->norm, s->x, 1, hw, s->t0);        /* [c, hw] */
    op_transpose(s->t0, c, hw, s->t1);                          /* [hw, c] */
    /* proj_out(softmax(q kᵀ / sqrt(c)) v): [hw, c] */
    sd_status st = sd_attention_forward(&b->attn, &s->ctx, s->t1, hw, NULL, hw, 0, s->t1, err);
    if (st != SD_OK)
        return st;
    op_transpose(s->t1, hw, c, s->t0);                          /* [c, hw] */
    op_add(s->x, s->t0, s->x, (size_t)c * hw);
    return SD_OK;
}

static sd_status mid_forward(const vae_mid *m, vae_state *s, sd_error *err)
{
    sd_status st = resnet_block(&m->block_1, s, err);
    if (st == SD_OK)
        st = attn_block(&m->attn_1, s, err);
    if (st == SD_OK)
        st = resnet_block(&m->block_2, s, err);
    return st;
}

/* LDM Downsample: zero-pad right and bottom by one, then 3x3 stride 2 without padding
 * (the padding is the conv's own: vae_downsample_params). */
static sd_status downsample(const sd_conv2d *cv, vae_state *s, sd_error *err)
{
    int ho, wo;
    sd_conv2d_out_size(cv, s->h, s->w, &ho, &wo);
    sd_status st = conv(cv, s, s->x, s->h, s->w, s->t0, err);
    if (st != SD_OK)
        return st;
    swap_in(s, &s->t0);
    s->h = ho;
    s->w = wo;
    return SD_OK;
}

/* LDM Upsample: nearest 2x, then 3x3 conv. */
static sd_status upsample(const sd_conv2d *cv, vae_state *s, sd_error *err)
{
    const int ho = 2 * s->h, wo = 2 * s->w;
    /* [c, h, w] → (t0: [c, 2h, 2w], fp32 only) → [c, 2h, 2w] */
    sd_status st = sd_conv2d_up2_forward(cv, &s->ctx, s->x, 1, s->h, s->w, s->t0, s->t1, err);
    if (st != SD_OK)
        return st;
    swap_in(s, &s->t1);
    s->h = ho;
    s->w = wo;
    return SD_OK;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Largest activation of the encoder at height x width, in floats. */
static size_t encoder_peak(const sd_vae_config *cfg, int height, int width)
{
    size_t peak = 0, hw = (size_t)height * width;
    int ci = cfg->channels[0];
    for (int i = 0; i < cfg->levels; i++) {
        peak = max_size(peak, (size_t)max_size(ci, cfg->channels[i]) * hw);
        ci = cfg->channels[i];
        if (i < cfg->levels - 1)
            hw /= 4;
    }
    return max_size(peak, (size_t)2 * cfg->latent_channels * hw);
}

/* Largest activation of the decoder for a latent of h x w, in floats. */
static size_t decoder_peak(const sd_vae_config *cfg, int h, int w)
{
    size_t peak = (size_t)cfg->latent_channels * h * w, hw = (size_t)h * w;
    int ci = cfg->channels[cfg->levels - 1];
    for (int i = cfg->levels - 1; i >= 0; i--) {
        peak = max_size(peak, (size_t)max_size(ci, cfg->channels[i]) * hw);
        ci = cfg->channels[i];
        if (i > 0) {
            hw *= 4;
            peak = max_size(peak, (size_t)ci * hw);
        }
    }
    return peak;
}

static sd_status state_init(vae_state *s, sd_arena *arena, sd_layer_precision precision,
                            size_t floats, const sd_vae_trace *trace, sd_error *err)
{
    s->ctx = sd_layer_ctx_make(arena, precision);
    s->trace = trace;
    s->x = sd_arena_floats(arena, floats);
    s->t0 = sd_arena_floats(arena, floats);
    s->t1 = sd_arena_floats(arena, floats);
    if (!s->x || !s->t0 || !s->t1)
        return sd_fail(err, SD_ERR_NOMEM, "VAE: cannot allocate 3 x %zu MB of activations",
                       floats * sizeof(float) >> 20);
    return SD_OK;
}

/* Images up to 32768 pixels a side: keeps every size_t product far from overflow. */
#define VAE_MAX_PIXELS (1 << 15)

static sd_status check_size(int h, int w, int multiple, int max, const char *what,
                            sd_error *err)
{
    if (h < multiple || w < multiple || h % multiple || w % multiple || h > max || w > max)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "VAE %s: size %dx%d is not a positive multiple of %d (at most %d)",
                       what, h, w, multiple, max);
    return SD_OK;
}

static sd_status encoder_forward(const sd_vae *vae, vae_state *s, const float *image,
                                 sd_error *err)
{
    const vae_encoder *e = &vae->encoder;
    char name[64];
    sd_status st;
    /* [3, H, W] → [ch0, H, W] */
    if ((st = conv(&e->conv_in, s, image, s->h, s->w, s->x, err)) != SD_OK)
        return st;
    s->c = e->conv_in.co;
    trace_emit(s, "encoder.conv_in", s->x, s->c, s->h, s->w);
    for (int i = 0; i < vae->cfg.levels; i++) {
        const vae_encoder_level *lv = &e->down[i];
        for (int j = 0; j < lv->n_blocks; j++)
            if ((st = resnet_block(&lv->block[j], s, err)) != SD_OK)
                return st;
        /* [ch_i, h, w] → [ch_i, h/2, w/2] */
        if (lv->has_downsample && (st = downsample(&lv->downsample, s, err)) != SD_OK)
            return st;
        snprintf(name, sizeof name, "encoder.down.%d", i);
        trace_emit(s, name, s->x, s->c, s->h, s->w);
    }
    if ((st = mid_forward(&e->mid, s, err)) != SD_OK)
        return st;
    trace_emit(s, "encoder.mid", s->x, s->c, s->h, s->w);
    sd_group_norm_silu_forward(&e->norm_out, s->x, 1, s->h * s->w, s->x);
    /* [top, h, w] → [2 * latent, h, w] */
    if ((st = conv(&e->conv_out, s, s->x, s->h, s->w, s->t0, err)) != SD_OK)
        return st;
    swap_in(s, &s->t0);
    s->c = e->conv_out.co;
    trace_emit(s, "encoder.conv_out", s->x, s->c, s->h, s->w);
    return SD_OK;
}

sd_status sd_vae_encode_moments(const sd_vae *vae, sd_arena *arena, const float *image,
                                int height, int width, float *moments,
                                const sd_vae_trace *trace, sd_error *err)
{
    if (!vae || !arena || !image || !moments)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_encode: NULL argument");
    const int factor = 1 << (vae->cfg.levels - 1);
    sd_status st = check_size(height, width, factor, VAE_MAX_PIXELS, "encode", err);
    if (st != SD_OK)
        return st;
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    vae_state s = {.h = height, .w = width, .c = vae->cfg.in_channels};
    st = state_init(&s, arena, vae->precision, encoder_peak(&vae->cfg, height, width), trace, err);
    if (st == SD_OK)
        st = encoder_forward(vae, &s, image, err);
    /* moments = quant_conv(h): [2 * latent, h, w] = mean | logvar */
    if (st == SD_OK)
        st = conv(&vae->quant_conv, &s, s.x, s.h, s.w, moments, err);
    if (st == SD_OK)
        trace_emit(&s, "quant_conv", moments, s.c, s.h, s.w);
    sd_arena_reset(arena, mark);
    return st;
}

void sd_vae_split_moments(const float *moments, size_t n, float *mean, float *logvar)
{
    memcpy(mean, moments, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        logvar[i] = fminf(fmaxf(moments[n + i], VAE_LOGVAR_MIN), VAE_LOGVAR_MAX);
}

sd_status sd_vae_encode(const sd_vae *vae, sd_arena *arena, const float *image, int height,
                        int width, float *mean, float *logvar, const sd_vae_trace *trace,
                        sd_error *err)
{
    if (!vae || !arena || !image || !mean || !logvar)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_encode: NULL argument");
    const int factor = 1 << (vae->cfg.levels - 1);
    sd_status st = check_size(height, width, factor, VAE_MAX_PIXELS, "encode", err);
    if (st != SD_OK)
        return st;
    const size_t n = (size_t)vae->cfg.latent_channels * (height / factor) * (width / factor);
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    float *moments = sd_arena_floats(arena, 2 * n);   /* [2 * latent, h, w] */
    if (!moments)
        return sd_fail(err, SD_ERR_NOMEM, "VAE encode: out of scratch memory");
    st = sd_vae_encode_moments(vae, arena, image, height, width, moments, trace, err);
    if (st == SD_OK)
        sd_vae_split_moments(moments, n, mean, logvar);
    sd_arena_reset(arena, mark);
    return st;
}

void sd_vae_std(const float *logvar, size_t n, float *std)
{
    for (size_t i = 0; i < n; i++)
        std[i] = expf(0.5f * logvar[i]);
}

void sd_vae_sample(const float *mean, const float *logvar, const float *noise, size_t n,
                   float scaling, float *latent)
{
    for (size_t i = 0; i < n; i++) {
        const float sample = mean[i] + expf(0.5f * logvar[i]) * noise[i];
        latent[i] = scaling * sample;
    }
}

void sd_vae_unscale(const float *latent, size_t n, float scaling, float *z)
{
    for (size_t i = 0; i < n; i++)
        z[i] = latent[i] / scaling;
}

static sd_status decoder_forward(const sd_vae *vae, vae_state *s, float *image, sd_error *err)
{
    const vae_decoder *d = &vae->decoder;
    char name[64];
    sd_status st;
    /* [latent, h, w] → [top, h, w] */
    if ((st = conv(&d->conv_in, s, s->x, s->h, s->w, s->t0, err)) != SD_OK)
        return st;
    swap_in(s, &s->t0);
    s->c = d->conv_in.co;
    trace_emit(s, "decoder.conv_in", s->x, s->c, s->h, s->w);
    if ((st = mid_forward(&d->mid, s, err)) != SD_OK)
        return st;
    trace_emit(s, "decoder.mid", s->x, s->c, s->h, s->w);
    for (int i = vae->cfg.levels - 1; i >= 0; i--) {
        const vae_decoder_level *lv = &d->up[i];
        for (int j = 0; j < lv->n_blocks; j++)
            if ((st = resnet_block(&lv->block[j], s, err)) != SD_OK)
                return st;
        /* [ch_i, h, w] → [ch_i, 2h, 2w] */
        if (lv->has_upsample && (st = upsample(&lv->upsample, s, err)) != SD_OK)
            return st;
        snprintf(name, sizeof name, "decoder.up.%d", i);
        trace_emit(s, name, s->x, s->c, s->h, s->w);
    }
    sd_group_norm_silu_forward(&d->norm_out, s->x, 1, s->h * s->w, s->x);
    trace_emit(s, "decoder.norm_out_silu", s->x, s->c, s->h, s->w);
    /* [ch0, H, W] → [3, H, W] */
    return conv(&d->conv_out, s, s->x, s->h, s->w, image, err);
}

sd_status sd_vae_decode(const sd_vae *vae, sd_arena *arena, const float *z, int h, int w,
                        float *image, const sd_vae_trace *trace, sd_error *err)
{
    if (!vae || !arena || !z || !image)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_decode: NULL argument");
    const int factor = 1 << (vae->cfg.levels - 1);
    sd_status st = check_size(h, w, 1, VAE_MAX_PIXELS / factor, "decode", err);
    if (st != SD_OK)
        return st;
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    vae_state s = {.h = h, .w = w, .c = vae->cfg.latent_channels};
    st = state_init(&s, arena, vae->precision, decoder_peak(&vae->cfg, h, w), trace, err);
    /* [latent, h, w] → [latent, h, w] */
    if (st == SD_OK)
        st = conv(&vae->post_quant_conv, &s, z, h, w, s.x, err);
    if (st == SD_OK) {
        trace_emit(&s, "post_quant_conv", s.x, s.c, s.h, s.w);
        st = decoder_forward(vae, &s, image, err);
    }
    sd_arena_reset(arena, mark);
    return st;
}

void sd_vae_to_unit_range(const float *decoded, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fminf(fmaxf(decoded[i] / 2.0f + 0.5f, 0.0f), 1.0f);
}
