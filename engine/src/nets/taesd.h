/* TAESD, the Tiny AutoEncoder for Stable Diffusion (madebyollin/taesd; diffusers'
 * AutoencoderTiny): a distilled VAE of plain 3x3 convolutions, ReLU and identity-skip
 * blocks, ~1.2 M parameters a half against the full VAE's 34 M / 49 M. Used for draft
 * encodes/decodes and for live previews.
 *
 * Latent convention: TAESD works in the U-Net's latent space. Its encoder takes an image
 * in [0, 1] and returns what the full VAE gives *after* x0.18215 (no sampling, no noise
 * draw); its decoder takes U-Net latents as they are (never / 0.18215), soft-clamps them
 * (tanh(x / 3) * 3) and returns an image nominally in [0, 1]. diffusers' AutoencoderTiny
 * wraps the same network for [-1, 1] images (scaling_factor 1.0).
 *
 * Structure (taesd.py's nn.Sequential indices; C = the width, 64 in the released files):
 *   Encoder: 0 conv 3→C | 1 Block | 2 conv stride 2 (no bias) | 3-5 Blocks | 6 down |
 *            7-9 Blocks | 10 down | 11-13 Blocks | 14 conv C→latent
 *   Decoder: 0 Clamp | 1 conv latent→C | 2 ReLU | 3-5 Blocks | 6 Upsample x2 |
 *            7 conv (no bias) | 8-10 Blocks | 11 up | 12 conv | 13-15 Blocks | 16 up |
 *            17 conv | 18 Block | 19 conv C→3
 *   Block(x) = ReLU(conv.4(ReLU(conv.2(ReLU(conv.0(x))))) + x), every conv 3x3 pad 1.
 *
 * Files: both layouts users download are read, by their tensor names:
 *   - diffusers (madebyollin/taesd on the Hub, stable-diffusion.cpp's --taesd):
 *     diffusion_pytorch_model.safetensors with encoder.layers.N.* and decoder.layers.N.*;
 *     the decoder's indices are taesd.py's minus one (the Clamp is not a layer there);
 *   - taesd.py (ComfyUI's models/vae_approx, A1111): taesd_encoder.safetensors and
 *     taesd_decoder.safetensors with bare indices N.*.
 * The width and the latent channel count come from the shapes. A TAESD for another
 * latent space is refused: by its latent channels (TAESD3 / TAEF1: 16), and, since
 * TAESDXL has the same shapes as TAESD, by its published file names (taesdxl_*, or a
 * folder named taesdxl): see sd_taesd_load.
 *
 * Activations come from the caller's arena and are given back before a pass returns.
 * One image at a time (batch 1). */
#ifndef SD_TAESD_H
#define SD_TAESD_H

#include <stddef.h>

#include "core/arena.h"
#include "io/weights.h"
#include "layers/layers.h"
#include "sd.h"

/* Sequential lengths of taesd.py's Encoder() and Decoder(). */
#define SD_TAESD_ENCODER_LAYERS 15
#define SD_TAESD_DECODER_LAYERS 20
/* The longest key prefix of a half ("encoder.layers.", "decoder.layers.") and its NUL. */
#define SD_TAESD_PREFIX_MAX 16
/* Each side halves or doubles the resolution three times. */
#define SD_TAESD_SCALE 8

/* The latent spaces a TAESD file can belong to. SD 1.x and 2.x share the SD VAE's. */
typedef enum {
    SD_TAESD_LATENT_SD = 1,    /* madebyollin/taesd: SD 1.x / 2.x */
    SD_TAESD_LATENT_SDXL = 2   /* madebyollin/taesdxl: same shapes, another space */
} sd_taesd_latent;

typedef enum {
    TAESD_CONV,        /* 3x3 conv, stride 1 */
    TAESD_CONV_DOWN,   /* 3x3 conv, stride 2 */
    TAESD_BLOCK,       /* three 3x3 convs with ReLUs, identity skip, ReLU */
    TAESD_RELU,
    TAESD_UPSAMPLE,    /* nearest x2 */
    TAESD_CLAMP        /* tanh(x / 3) * 3 */
} taesd_kind;

typedef struct {
    taesd_kind kind;
    sd_conv2d conv[3];   /* 3x3 pad 1. CONV / CONV_DOWN: conv[0] (the strided and upsampling
                            convs have no bias); BLOCK: conv.0, conv.2, conv.4 */
} taesd_layer;

typedef struct {
    int n_layers;
    taesd_layer layer[SD_TAESD_DECODER_LAYERS];
} taesd_net;

typedef struct {
    int width;              /* C: channels inside (64 in the released TAESD) */
    int latent_channels;    /* 4 */
    int has_encoder, has_decoder;
    taesd_net encoder, decoder;
    sd_weights *files[2];   /* owned: one diffusers file, or the encoder and decoder files */
    /* Where each half is bound (for packing it by key prefix, layers/layers_bf16.h): the
     * file (one of files[], not owned) and the key prefix ("" or "decoder.layers."). */
    sd_weights *encoder_file, *decoder_file;
    char encoder_prefix[SD_TAESD_PREFIX_MAX], decoder_prefix[SD_TAESD_PREFIX_MAX];
    /* SD_LAYER_BF16: the convs that were packed (pipeline/precision.c) run bf16; fp32 after
     * loading. */
    sd_layer_precision precision;
} sd_taesd;

/* Loads a TAESD for the latent space `want` from `path`:
 *   - a diffusers file (encoder.layers.* / decoder.layers.*: both halves, or one);
 *   - a taesd.py file (taesd_encoder.* or taesd_decoder.*): the other half is taken from
 *     the sibling file of the same name with encoder ↔ decoder, when it exists;
 *   - a folder holding diffusion_pytorch_model.safetensors, or taesd_encoder.safetensors
 *     and/or taesd_decoder.safetensors.
 * At least the decoder must be there (previews and draft decodes need only it).
 * Errors (SD_ERR_IO, SD_ERR_FORMAT "not a TAESD file", SD_ERR_UNSUPPORTED "another latent
 * space") name the file and the reason. On failure *t holds nothing to free. */
sd_status sd_taesd_load(sd_taesd *t, const char *path, sd_taesd_latent want, sd_error *err);
void sd_taesd_free(sd_taesd *t);

/* Binds one half from an opened file: `prefix` "" (taesd.py) or "encoder.layers." /
 * "decoder.layers." (diffusers; index_shift -1 for the decoder). For tests and the fuzzer;
 * sd_taesd_load does this for both halves. */
sd_status sd_taesd_bind_encoder(sd_taesd *t, sd_weights *w, const char *prefix, sd_error *err);
sd_status sd_taesd_bind_decoder(sd_taesd *t, sd_weights *w, const char *prefix,
                                int index_shift, sd_error *err);

/* Optional observer of the output of every layer: name "encoder.layers.N" /
 * "decoder.layers.N" in diffusers' numbering, x [1, c, h, w] valid during the call. */
typedef struct {
    void (*fn)(void *user, const char *name, const float *x, int c, int h, int w);
    void *user;
} sd_taesd_trace;

/* The encoder's latent side for an image side: ceil(x / 8) through its three stride-2
 * convs (x / 8 for the multiples of 8 the pipeline uses). */
int sd_taesd_latent_size(int pixels);

/* image01 [1, 3, height, width] in [0, 1] (any size; the pipeline's are multiples of 8) →
 * latents [1, latent_channels, sd_taesd_latent_size(height), sd_taesd_latent_size(width)]
 * in the U-Net's space (taesd.py Encoder).
 * Returns SD_OK, SD_ERR_INVALID_ARG (sizes, no encoder), SD_ERR_NOMEM (arena). */
sd_status sd_taesd_encode(const sd_taesd *t, sd_arena *arena, const float *image01, int height,
                          int width, float *latents, const sd_taesd_trace *trace,
                          sd_error *err);

/* U-Net latents [1, latent_channels, h, w] → image [1, 3, 8h, 8w], nominally [0, 1] and
 * unclamped (taesd.py Decoder, its Clamp included). */
sd_status sd_taesd_decode(const sd_taesd *t, sd_arena *arena, const float *latents, int h,
                          int w, float *image01, const sd_taesd_trace *trace, sd_error *err);

/* Bytes of arena a pass needs at that size (activations and conv scratch), for the job's
 * memory estimate. */
size_t sd_taesd_encode_bytes(const sd_taesd *t, int height, int width);
size_t sd_taesd_decode_bytes(const sd_taesd *t, int h, int w);

#endif
