/* sd_model_load: checkpoint → config → tokenizer → text encoder, U-Net, VAE. */
#include "nets/keys.h"
#include "pipeline/model.h"
#include "pipeline/model_lora.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/gemm_bf16.h"
#include "pipeline/precision.h"

/* Resolution of a model without a family row (none loads): SD 1.x's. */
#define FALLBACK_RESOLUTION 512

sd_status sd_model_load(const char *checkpoint_path, const char *vocab_path,
                        const sd_model_options *opts, sd_model **out, sd_error *err)
{
    if (!out)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_model_load: out is NULL");
    *out = NULL;
    if (!checkpoint_path || !checkpoint_path[0])
        return sd_fail(err, SD_ERR_INVALID_ARG, "no model file given");
    if (!vocab_path || !vocab_path[0])
        return sd_fail(err, SD_ERR_INVALID_ARG, "no CLIP vocabulary path given");

    sd_model *m = calloc(1, sizeof *m);
    if (!m)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory loading %s", checkpoint_path);
    m->memory_budget = opts ? opts->memory_budget_mb << 20 : 0;

    /* The file's layer (safetensors) names the file in its own messages; below it each
     * network adds its noun ("VAE: missing tensor ..."), and this layer the file name. */
    sd_status st = sd_weights_open(checkpoint_path, &m->weights, err);
    if (st == SD_OK)
        st = sd_model_config_detect(sd_weights_file(m->weights), &m->cfg, err);
    if (st == SD_OK && (st = sd_clip_load(&m->clip, m->weights, &m->cfg.clip, err)) == SD_OK &&
        (st = sd_unet_load(&m->unet, m->weights, &m->cfg.unet, err)) == SD_OK)
        st = sd_vae_load(&m->vae, m->weights, &m->cfg.vae, err);
    if (st != SD_OK && m->weights)
        sd_fail_context(err, st, "%s", checkpoint_path);
    if (st == SD_OK)
        st = sd_tokenizer_load(vocab_path, &m->tokenizer, err);
    if (st == SD_OK &&
        (st = sd_model_set_precision(m, opts ? opts->precision : SD_PRECISION_AUTO, err)) != SD_OK)
        sd_fail_context(err, st, "%s", checkpoint_path);
    if (st != SD_OK) {
        sd_model_free(m);
        return st;
    }
    /* Every tensor is bound: unless some are read in place, the mapping is no longer
     * needed. Reading the small converted tensors faulted in their neighbours' pages too
     * (the kernel maps around a fault): handing those back leaves no network resident
     * before a job needs it (measured on SD 1.5: 43 → 25 MB after load, for 0.1 s). */
    sd_weights_drop_file(m->weights);
    for (int net = 0; net < SD_NET_COUNT; net++)
        sd_model_release(m, (sd_network)net);
    *out = m;
    return SD_OK;
}

/* Checkpoint key prefixes of each network (LDM single-file layout). */
static const char *const network_prefixes[SD_NET_COUNT][3] = {
    [SD_NET_TEXT_ENCODER] = {SD_KEY_TEXT_ENCODER, SD_KEY_SGM_TEXT, NULL},
    [SD_NET_VAE_ENCODER] = {SD_KEY_VAE_ENCODER, SD_KEY_VAE_QUANT_CONV, NULL},
    [SD_NET_UNET] = {SD_KEY_UNET, NULL},
    [SD_NET_VAE_DECODER] = {SD_KEY_VAE_DECODER, SD_KEY_VAE_POST_QUANT_CONV,
                            NULL},
};

void sd_model_release(sd_model *m, sd_network net)
{
    if (!m || net < 0 || net >= SD_NET_COUNT)
        return;
    for (int i = 0; network_prefixes[net][i]; i++)
        sd_weights_release(m->weights, network_prefixes[net][i]);
    sd_model_release_packed(m, net);
}

void sd_model_free(sd_model *m)
{
    if (!m)
        return;
    if (m->weights)
        sd_model_unprepare(m);
    sd_clip_free(&m->clip);
    sd_model_loras_free(m);
    sd_taesd_free(&m->taesd);
    sd_tokenizer_free(m->tokenizer);
    sd_weights_free(m->weights);
    free(m);
}

void sd_model_get_info(const sd_model *m, sd_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->family = m->cfg.family;
    info->family_name = sd_family_name(m->cfg.family);
    info->prediction = m->cfg.prediction;
    const sd_family_row *row = sd_family_row_of(m->cfg.family);
    info->default_resolution = row ? row->default_resolution : 0;
    info->unet_in_channels = m->cfg.unet.in_channels;
    info->unet_model_channels = m->cfg.unet.model_channels;
    info->unet_context_dim = m->cfg.unet.context_dim;
    info->vae_base_channels = m->cfg.vae.channels[0];
    info->clip_hidden = m->cfg.clip.hidden;
    info->clip_layers = m->cfg.clip.layers;
    info->precision = m->precision;
    info->bf16_kernel = ops_bf16_isa_name((ops_bf16_isa)m->bf16_isa);
}

void sd_family_get_defaults(sd_family family, sd_model_defaults *out)
{
    const sd_family_row *row = sd_family_row_of(family);
    if (!row) {
        sd_job job;
        sd_job_defaults(&job);
        *out = (sd_model_defaults){FALLBACK_RESOLUTION, job.steps, job.cfg_scale, job.sampler,
                                   job.spacing};
        return;
    }
    *out = (sd_model_defaults){row->default_resolution, row->default_steps, row->default_cfg,
                               row->default_sampler, row->default_spacing};
}

void sd_model_get_defaults(const sd_model *m, sd_model_defaults *out)
{
    sd_family_get_defaults(m ? m->cfg.family : SD_FAMILY_UNKNOWN, out);
}
