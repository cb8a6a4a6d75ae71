/* Loading TAESD: which file layout, which half, which latent space, then every conv bound
 * by its key with its shape checked. The layer tables below are taesd.py's Encoder() and
 * Decoder() written as data (taesd.h has the same list in prose). */
#include "nets/taesd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "nets/keys.h"

/* RGB in, RGB out. */
#define TAESD_IMAGE_CHANNELS 3
/* The U-Net latent channels of SD 1.x / 2.x and SDXL. */
#define TAESD_SD_LATENT_CHANNELS 4
#define TAESD_KEY_MAX 160
#define TAESD_PATH_MAX 4096

/* Channel counts in the tables: the width C, or the image's / latent's channels. */
enum { CH_WIDTH = -1, CH_IMAGE = -2, CH_LATENT = -3 };

typedef struct {
    taesd_kind kind;
    int ci, co;     /* CH_* */
    int bias;       /* the conv has a bias */
} layer_row;

static const layer_row encoder_rows[SD_TAESD_ENCODER_LAYERS] = {
    {TAESD_CONV, CH_IMAGE, CH_WIDTH, 1},       /* 0 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 1 */
    {TAESD_CONV_DOWN, CH_WIDTH, CH_WIDTH, 0},  /* 2 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 5 */
    {TAESD_CONV_DOWN, CH_WIDTH, CH_WIDTH, 0},  /* 6 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 9 */
    {TAESD_CONV_DOWN, CH_WIDTH, CH_WIDTH, 0},  /* 10 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 13 */
    {TAESD_CONV, CH_WIDTH, CH_LATENT, 1},      /* 14 */
};

static const layer_row decoder_rows[SD_TAESD_DECODER_LAYERS] = {
    {TAESD_CLAMP, 0, 0, 0},                    /* 0 */
    {TAESD_CONV, CH_LATENT, CH_WIDTH, 1},      /* 1 */
    {TAESD_RELU, 0, 0, 0},                     /* 2 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 5 */
    {TAESD_UPSAMPLE, 0, 0, 0},                 /* 6 */
    {TAESD_CONV, CH_WIDTH, CH_WIDTH, 0},       /* 7 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 10 */
    {TAESD_UPSAMPLE, 0, 0, 0},                 /* 11 */
    {TAESD_CONV, CH_WIDTH, CH_WIDTH, 0},       /* 12 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 15 */
    {TAESD_UPSAMPLE, 0, 0, 0},                 /* 16 */
    {TAESD_CONV, CH_WIDTH, CH_WIDTH, 0},       /* 17 */
    {TAESD_BLOCK, CH_WIDTH, CH_WIDTH, 1},      /* 18 */
    {TAESD_CONV, CH_WIDTH, CH_IMAGE, 1},       /* 19 */
};

/* A Block's convs are its Sequential's entries 0, 2 and 4 (ReLUs between them). */
static const int block_conv_index[3] = {0, 2, 4};

static int channels_of(const sd_taesd *t, int ch)
{
    switch (ch) {
    case CH_WIDTH: return t->width;
    case CH_IMAGE: return TAESD_IMAGE_CHANNELS;
    case CH_LATENT: return t->latent_channels;
    default: return ch;
    }
}

/* A 3x3 conv, padding 1, of the given stride, with or without its bias. */
static sd_status bind_conv(sd_weights *w, sd_conv2d *cv, int ci, int co, int stride, int bias,
                           sd_error *err, const char *fmt, const char *prefix, int index)
{
    char key[TAESD_KEY_MAX];
    const int len = snprintf(key, sizeof key, fmt, prefix, index);
    if (len < 0 || len >= (int)sizeof key)
        return sd_fail(err, SD_ERR_INTERNAL, "TAESD: key too long (%s...)", key);
    const sd_conv_params p = op_conv_params(3, stride, 1);
    return bias ? sd_conv2d_bind(w, cv, ci, co, p, err, "%s", key)
                : sd_conv2d_bind_no_bias(w, cv, ci, co, p, err, "%s", key);
}

/* Binds the layers of `rows` under prefix + (taesd.py index + shift). */
static sd_status bind_net(sd_taesd *t, taesd_net *net, const layer_row *rows, int n,
                          sd_weights *w, const char *prefix, int shift, sd_error *err)
{
    sd_status st = SD_OK;
    net->n_layers = n;
    for (int i = 0; i < n && st == SD_OK; i++) {
        taesd_layer *l = &net->layer[i];
        const layer_row *r = &rows[i];
        const int ci = channels_of(t, r->ci), co = channels_of(t, r->co), idx = i + shift;
        l->kind = r->kind;
        if (r->kind == TAESD_CONV || r->kind == TAESD_CONV_DOWN)
            st = bind_conv(w, &l->conv[0], ci, co, r->kind == TAESD_CONV_DOWN ? 2 : 1, r->bias,
                           err, "%s%d", prefix, idx);
        else if (r->kind == TAESD_BLOCK)
            for (int j = 0; j < 3 && st == SD_OK; j++) {
                char fmt[32];
                snprintf(fmt, sizeof fmt, "%%s%%d.conv.%d", block_conv_index[j]);
                st = bind_conv(w, &l->conv[j], j ? co : ci, co, 1, 1, err, fmt, prefix, idx);
            }
        /* Block's skip is Identity when in = out (always here): a skip weight means a
         * network we do not know. */
        if (st == SD_OK && r->kind == TAESD_BLOCK && sd_weights_has(w, "%s%d.skip.weight", prefix, idx))
            st = sd_fail(err, SD_ERR_FORMAT, "%s%d.skip.weight: a Block with a 1x1 skip is not "
                         "TAESD's", prefix, idx);
    }
    return st;
}

/* The [co, ci, 3, 3] shape of `key` in dims[0..1], or -1 when absent or not 4-D 3x3. */
static int conv_dims(sd_weights *w, const char *key, int64_t dims[2])
{
    const st_file *f = sd_weights_file(w);
    const st_tensor *x = f ? st_find(f, key) : NULL;
    if (!x || x->ndim != 4 || x->shape[2] != 3 || x->shape[3] != 3)
        return -1;
    dims[0] = x->shape[0];
    dims[1] = x->shape[1];
    return 0;
}

/* Sets (or checks) the width and latent channels from a half's first conv. */
static sd_status take_dims(sd_taesd *t, int64_t width, int64_t latent, const char *what,
                           sd_error *err)
{
    if (width < 1 || width > 4096 || latent < 1 || latent > 64)
        return sd_fail(err, SD_ERR_FORMAT, "not a TAESD file: %s has %lld channels and %lld "
                       "latent channels", what, (long long)width, (long long)latent);
    if (t->width && (t->width != width || t->latent_channels != latent))
        return sd_fail(err, SD_ERR_FORMAT, "the TAESD encoder (width %d, %d latent channels) "
                       "and decoder (width %lld, %lld) do not belong together", t->width,
                       t->latent_channels, (long long)width, (long long)latent);
    t->width = (int)width;
    t->latent_channels = (int)latent;
    return SD_OK;
}

sd_status sd_taesd_bind_encoder(sd_taesd *t, sd_weights *w, const char *prefix, sd_error *err)
{
    char key[TAESD_KEY_MAX];
    int64_t first[2], last[2];
    if (strlen(prefix) >= sizeof t->encoder_prefix)
        return sd_fail(err, SD_ERR_INVALID_ARG, "TAESD encoder: key prefix %s is too long", prefix);
    snprintf(key, sizeof key, "%s0.weight", prefix);
    int ok = conv_dims(w, key, first) == 0;
    snprintf(key, sizeof key, "%s%d.weight", prefix, SD_TAESD_ENCODER_LAYERS - 1);
    if (!ok || conv_dims(w, key, last) != 0 || first[1] != TAESD_IMAGE_CHANNELS)
        return sd_fail(err, SD_ERR_FORMAT, "not a TAESD encoder: no 3x3 convs %s0 (from RGB) "
                       "and %s%d", prefix, prefix, SD_TAESD_ENCODER_LAYERS - 1);
    sd_status st = take_dims(t, first[0], last[0], "the encoder", err);
    if (st == SD_OK)
        st = bind_net(t, &t->encoder, encoder_rows, SD_TAESD_ENCODER_LAYERS, w, prefix, 0, err);
    if (st != SD_OK)
        return sd_fail_context(err, st, "TAESD encoder");
    t->has_encoder = 1;
    t->encoder_file = w;
    snprintf(t->encoder_prefix, sizeof t->encoder_prefix, "%s", prefix);
    return SD_OK;
}

sd_status sd_taesd_bind_decoder(sd_taesd *t, sd_weights *w, const char *prefix,
                                int index_shift, sd_error *err)
{
    char key[TAESD_KEY_MAX];
    int64_t first[2];
    if (strlen(prefix) >= sizeof t->decoder_prefix)
        return sd_fail(err, SD_ERR_INVALID_ARG, "TAESD decoder: key prefix %s is too long", prefix);
    snprintf(key, sizeof key, "%s%d.weight", prefix, 1 + index_shift);
    if (conv_dims(w, key, first) != 0)
        return sd_fail(err, SD_ERR_FORMAT, "not a TAESD decoder: no 3x3 conv %s", key);
    sd_status st = take_dims(t, first[0], first[1], "the decoder", err);
    if (st == SD_OK)
        st = bind_net(t, &t->decoder, decoder_rows, SD_TAESD_DECODER_LAYERS, w, prefix,
                      index_shift, err);
    if (st != SD_OK)
        return sd_fail_context(err, st, "TAESD decoder");
    t->has_decoder = 1;
    t->decoder_file = w;
    snprintf(t->decoder_prefix, sizeof t->decoder_prefix, "%s", prefix);
    return SD_OK;
}

/* ---- files ---------------------------------------------------------------- */

typedef enum { LAYOUT_NONE, LAYOUT_DIFFUSERS, LAYOUT_PY_ENCODER, LAYOUT_PY_DECODER } layout;

static layout layout_of(sd_weights *w)
{
    if (sd_weights_has(w, "encoder.layers.0.weight") || sd_weights_has(w, "decoder.layers.0.weight"))
        return LAYOUT_DIFFUSERS;
    if (sd_weights_has(w, "0.weight") && sd_weights_has(w, "1.conv.0.weight"))
        return LAYOUT_PY_ENCODER;
    if (sd_weights_has(w, "1.weight") && sd_weights_has(w, "3.conv.0.weight"))
        return LAYOUT_PY_DECODER;
    return LAYOUT_NONE;
}

/* The latent space a file's published name says (madebyollin's repositories name their
 * files and folders taesd*, taesdxl*), or 0 when the name says nothing. The tensors cannot
 * tell TAESD from TAESDXL: same shapes. */
static int latent_of_name(const char *path)
{
    char lower[TAESD_PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof lower)
        n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)path[i]);
    lower[n] = '\0';
    /* the file name and the folder it is in */
    char *slash = strrchr(lower, '/');
    const char *base = slash ? slash + 1 : lower;
    const char *folder = "";
    if (slash) {
        *slash = '\0';
        char *up = strrchr(lower, '/');
        folder = up ? up + 1 : lower;
    }
    if (strstr(base, "taesdxl") || strstr(folder, "taesdxl"))
        return SD_TAESD_LATENT_SDXL;
    if (strstr(base, "taesd") || strstr(folder, "taesd"))
        return SD_TAESD_LATENT_SD;
    return 0;
}

static const char *latent_name(int latent)
{
    return latent == SD_TAESD_LATENT_SDXL ? "SDXL (madebyollin/taesdxl)"
                                          : "SD 1.x / 2.x (madebyollin/taesd)";
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens one file and binds the halves it holds. */
static sd_status load_file(sd_taesd *t, const char *path, sd_taesd_latent want, layout *got,
                           sd_error *err)
{
    const int named = latent_of_name(path);
    if (named && named != (int)want)
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "%s: by its name a TAESD for the %s latent space, but this model's is "
                       "%s (the tensors look the same; rename the file if the name is wrong)",
                       path, latent_name(named), latent_name(want));
    sd_weights *w = NULL;
    sd_status st = sd_weights_open(path, &w, err);
    if (st != SD_OK)   /* the reader's message names the file */
        return sd_fail_context(err, st, "TAESD");
    t->files[t->files[0] ? 1 : 0] = w;
    *got = layout_of(w);
    switch (*got) {
    case LAYOUT_DIFFUSERS:
        if (sd_weights_has(w, "encoder.layers.0.weight"))
            st = sd_taesd_bind_encoder(t, w, "encoder.layers.", err);
        if (st == SD_OK && sd_weights_has(w, "decoder.layers.0.weight"))
            st = sd_taesd_bind_decoder(t, w, "decoder.layers.", -1, err);
        break;
    case LAYOUT_PY_ENCODER:
        st = sd_taesd_bind_encoder(t, w, "", err);
        break;
    case LAYOUT_PY_DECODER:
        st = sd_taesd_bind_decoder(t, w, "", 0, err);
        break;
    default:
        st = sd_fail(err, SD_ERR_FORMAT, "not a TAESD file: neither encoder.layers.* / "
                     "decoder.layers.* (diffusers) nor taesd.py's numbered layers");
    }
    if (st == SD_OK && t->latent_channels != TAESD_SD_LATENT_CHANNELS)
        st = sd_fail(err, SD_ERR_UNSUPPORTED,
                     "a TAESD for a %d-channel latent space (TAESD3 and TAEF1 are 16-channel); "
                     "this model's latents have %d channels: use madebyollin/taesd",
                     t->latent_channels, TAESD_SD_LATENT_CHANNELS);
    if (st != SD_OK)
        return sd_fail_context(err, st, "%s", path);
    return SD_OK;
}

/* For a taesd.py file, the sibling half: ".../X_encoder.Y" ↔ ".../X_decoder.Y" (last
 * occurrence in the file name). 0 and the path in buf, or -1 when the name has neither. */
static int sibling_path(const char *path, layout have, char *buf, size_t size)
{
    const char *from = have == LAYOUT_PY_ENCODER ? "encoder" : "decoder";
    const char *to = have == LAYOUT_PY_ENCODER ? "decoder" : "encoder";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *hit = NULL;
    for (const char *p = strstr(base, from); p; p = strstr(p + 1, from))
        hit = p;
    if (!hit || strlen(path) >= size)
        return -1;
    snprintf(buf, size, "%.*s%s%s", (int)(hit - path), path, to, hit + strlen(from));
    return 0;
}

void sd_taesd_free(sd_taesd *t)
{
    if (!t)
        return;
    sd_weights_free(t->files[0]);
    sd_weights_free(t->files[1]);
    memset(t, 0, sizeof *t);
}

sd_status sd_taesd_load(sd_taesd *t, const char *path, sd_taesd_latent want, sd_error *err)
{
    if (!t || !path || !path[0])
        return sd_fail(err, SD_ERR_INVALID_ARG, "no TAESD file given");
    memset(t, 0, sizeof *t);
    char first[TAESD_PATH_MAX], second[TAESD_PATH_MAX];
    second[0] = '\0';
    sd_status st = SD_OK;
    if (is_dir(path)) {
        const int named = latent_of_name(path);
        if (snprintf(first, sizeof first, "%s/diffusion_pytorch_model.safetensors", path) >=
            (int)sizeof first)
            return sd_fail(err, SD_ERR_INVALID_ARG, "TAESD path too long");
        if (!is_file(first)) {
            const char *prefix = named == SD_TAESD_LATENT_SDXL ? "taesdxl" : "taesd";
            snprintf(first, sizeof first, "%s/%s_decoder.safetensors", path, prefix);
            snprintf(second, sizeof second, "%s/%s_encoder.safetensors", path, prefix);
            if (!is_file(first))
                return sd_fail(err, SD_ERR_IO, "%s: no TAESD here (neither "
                               "diffusion_pytorch_model.safetensors nor %s_decoder.safetensors)",
                               path, prefix);
            if (!is_file(second))
                second[0] = '\0';
        }
    } else {
        snprintf(first, sizeof first, "%s", path);
    }
    layout got = LAYOUT_NONE;
    st = load_file(t, first, want, &got, err);
    if (st == SD_OK && !second[0] && (got == LAYOUT_PY_ENCODER || got == LAYOUT_PY_DECODER) &&
        sibling_path(first, got, second, sizeof second) == 0 && !is_file(second))
        second[0] = '\0';
    if (st == SD_OK && second[0]) {
        layout other = LAYOUT_NONE;
        st = load_file(t, second, want, &other, err);
        if (st == SD_OK && (other == got || other == LAYOUT_DIFFUSERS))
            st = sd_fail(err, SD_ERR_FORMAT, "%s and %s are not the two halves of one TAESD",
                         first, second);
    }
    if (st == SD_OK && !t->has_decoder)
        st = sd_fail(err, SD_ERR_FORMAT, "%s: a TAESD encoder without its decoder (put "
                     "taesd_decoder.safetensors beside it)", first);
    if (st != SD_OK)
        sd_taesd_free(t);
    return st;
}
