/* The model's precision setting (sd.h, sd_precision): resolved once at load, and for bf16
 * the U-Net's and the VAE decoder's Linear / Conv2d weights packed once for the bf16
 * kernels (layers/layers_bf16.h). The text encoder stays fp32 (77 tokens, under 1 % of a
 * job), and so does the VAE encoder: its bf16 error on the golden model (2.1-2.4 % of the
 * latent mean's largest value, measured; 2.10 % of the moments on the full-size random
 * checkpoint) is above the 1.9 % the U-Net keeps, and it lands in the initial latent every
 * later step starts from, for one pass per job.
 *
 * The VAE decoder's head at the latent's resolution stays fp32 too: post_quant_conv,
 * conv_in, the mid block's two resnets and level 3's resnets (not the mid attention, nor
 * level 3's upsample conv, which runs at twice the resolution). A rounding there is
 * amplified by every layer after it: on the full-size random SD 1.5 checkpoint, one 512²
 * decode all in bf16 is 2.41 % max |Δ| / max |fp32| (RMS 2.17 % of the output's RMS), and
 * running one group of layers in fp32 takes the squared RMS error down by: mid resnets +
 * attention 38 %, level 3 23 %, level 2 12 %, post_quant_conv + conv_in 10 %, level 0 8 %,
 * level 1 8 %, the attention alone 1 %, conv_out 1 % (tests/bench/bench_vae_bf16.c). With
 * this head in fp32 the decode is 1.49 % (RMS 1.36 %; post_quant_conv, conv_in and the mid
 * resnets alone: 1.72 %; bench-precision's latent: 2.50 % -> 1.79 %), below the 1.9 % the
 * U-Net keeps, for about 8 % of the decoder's multiply-adds run in fp32: 15.2 CPU-seconds
 * per decode against 15.1 all in bf16 (one decode each, same process, loaded 2-core
 * machine: within the noise).
 * Measured again with the Upsample in one op (op_conv2d_up2_bf16; bench-precision's latent,
 * loaded 2-core machine): this head 1.52 %, 12.84 CPU-s; level 3's resnets moved to bf16
 * 1.79 %, 12.53 CPU-s (bench-vae-bf16: 1.45 % -> 1.65 %, the mid resnets alone fp32
 * 1.75 %): 2.4 % of the decode for a margin of 0.1 point to 1.9 %, so they stay fp32.
 *
 * The TAESD (draft VAE, previews) is packed whole, encoder and decoder: it is shallow (four
 * blocks a resolution, no normalisation), and nothing amplifies its roundings as the VAE's
 * resnets do. On the full-size random TAESD (64 channels), 512²: decode 0.27 % max |Δ| /
 * max |fp32| (RMS 0.10 %), encode 0.25 % (RMS 0.09 %); 1.39x fewer CPU-seconds decoding,
 * 1.46x encoding (its 64-channel convs through bf16 im2col, ops/winograd.h says why;
 * tests/bench/bench_taesd_bf16.c). */
#include "pipeline/precision.h"

#include <string.h>

#include "core/error.h"
#include "layers/layers_bf16.h"
#include "nets/keys.h"
#include "ops/gemm_bf16.h"

static const char *const names[] = {
    [SD_PRECISION_AUTO] = "auto", [SD_PRECISION_FP32] = "fp32", [SD_PRECISION_BF16] = "bf16"};

const char *sd_precision_name(sd_precision p)
{
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : NULL;
}

int sd_precision_parse(const char *name, sd_precision *out)
{
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (sd_precision)i;
            return 0;
        }
    return -1;
}

/* The layers that run in bf16, by key prefix (nets/keys.h), and the phase each is
 * released with (sd_model_release). SD's VAE decoder has levels up.3 (first, at the
 * latent's resolution) .. up.0. */
static const struct {
    const char *prefix;
    sd_network net;
} bf16_nets[SD_MODEL_BF16_PACKS] = {
    {SD_KEY_UNET, SD_NET_UNET},
    {SD_KEY_VAE_DECODER "mid.attn_1.", SD_NET_VAE_DECODER},
    {SD_KEY_VAE_DECODER "up.3.upsample.", SD_NET_VAE_DECODER},
    {SD_KEY_VAE_DECODER "up.2.", SD_NET_VAE_DECODER},
    {SD_KEY_VAE_DECODER "up.1.", SD_NET_VAE_DECODER},
    {SD_KEY_VAE_DECODER "up.0.", SD_NET_VAE_DECODER},
    {SD_KEY_VAE_DECODER "conv_out.", SD_NET_VAE_DECODER},
};

const char *sd_precision_bf16_prefix(int i)
{
    return i >= 0 && i < SD_MODEL_BF16_PACKS ? bf16_nets[i].prefix : NULL;
}

sd_status sd_model_set_precision(sd_model *m, sd_precision wanted, sd_error *err)
{
    const ops_bf16_isa isa = ops_bf16_best();
    if (!sd_precision_name(wanted))
        return sd_fail(err, SD_ERR_INVALID_ARG, "precision %d is none of auto, fp32, bf16",
                       (int)wanted);
    if (wanted == SD_PRECISION_BF16 && isa == OPS_BF16_NONE)
        return sd_fail(err, SD_ERR_UNSUPPORTED, "precision bf16: this CPU has neither AMX-BF16 "
                       "nor AVX512-BF16 (or SD_NO_BF16 is set); use fp32 or auto");
    sd_model_unprepare(m);
    if (wanted == SD_PRECISION_FP32 || isa == OPS_BF16_NONE)
        return SD_OK;
    for (int i = 0; i < SD_MODEL_BF16_PACKS; i++) {
        sd_status s = sd_layers_prepare_bf16(m->weights, bf16_nets[i].prefix, isa,
                                             &m->bf16_packs[i], err);
        if (s != SD_OK) {
            sd_model_unprepare(m);
            return s;
        }
    }
    m->precision = SD_PRECISION_BF16;
    m->bf16_isa = isa;
    m->unet.precision = m->vae.precision = SD_LAYER_BF16;
    sd_status s = sd_model_prepare_taesd(m, err);
    if (s != SD_OK)
        sd_model_unprepare(m);
    return s;
}

sd_status sd_model_prepare_taesd(sd_model *m, sd_error *err)
{
    sd_model_unprepare_taesd(m);
    if (m->precision != SD_PRECISION_BF16)
        return SD_OK;
    sd_taesd *t = &m->taesd;
    sd_weights *files[2] = {t->has_encoder ? t->encoder_file : NULL,
                            t->has_decoder ? t->decoder_file : NULL};
    const char *prefixes[2] = {t->encoder_prefix, t->decoder_prefix};
    for (int i = 0; i < 2; i++) {
        if (!files[i])
            continue;
        sd_status s = sd_layers_prepare_bf16(files[i], prefixes[i],
                                             (ops_bf16_isa)m->bf16_isa, &m->taesd_packs[i], err);
        if (s != SD_OK) {
            sd_model_unprepare_taesd(m);
            return sd_fail_context(err, s, "TAESD");
        }
    }
    t->precision = SD_LAYER_BF16;
    return SD_OK;
}

void sd_model_unprepare_taesd(sd_model *m)
{
    sd_weights *files[2] = {m->taesd.encoder_file, m->taesd.decoder_file};
    for (int i = 0; i < 2; i++) {
        sd_layers_bf16_free(files[i], m->taesd_packs[i]);
        m->taesd_packs[i] = NULL;
    }
    m->taesd.precision = SD_LAYER_FP32;
}

void sd_model_unprepare(sd_model *m)
{
    sd_model_unprepare_taesd(m);
    for (int i = 0; i < SD_MODEL_BF16_PACKS; i++) {
        sd_layers_bf16_free(m->weights, m->bf16_packs[i]);
        m->bf16_packs[i] = NULL;
    }
    m->precision = SD_PRECISION_FP32;
    m->bf16_isa = OPS_BF16_NONE;
    m->unet.precision = m->vae.precision = SD_LAYER_FP32;
}

void sd_model_release_packed(sd_model *m, sd_network net)
{
    for (int i = 0; i < SD_MODEL_BF16_PACKS; i++)
        if (bf16_nets[i].net == net)
            sd_layers_bf16_release(m->bf16_packs[i]);
}

size_t sd_model_packed_bytes(const sd_model *m)
{
    size_t bytes = 0;
    for (int i = 0; i < SD_MODEL_BF16_PACKS; i++)
        bytes += sd_layers_bf16_bytes(m->bf16_packs[i]);
    for (int i = 0; i < 2; i++)
        bytes += sd_layers_bf16_bytes(m->taesd_packs[i]);
    return bytes;
}

sd_status sd_model_repack(sd_model *m, sd_error *err)
{
    return m->precision == SD_PRECISION_BF16 ? sd_model_set_precision(m, SD_PRECISION_BF16, err)
                                             : SD_OK;
}
