/* Job defaults and the names of samplers, spacings, prediction types, noise sources,
 * masked content and VAE tiles: the vocabulary shared by the CLI, presets and plug-in. Sampler names come from the sampler table. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sched/scheduler.h"
#include "sd.h"

const char *sd_sampler_name(sd_sampler s)
{
    const sd_sampler_info *info = sd_sampler_info_of(s);
    return info ? info->name : "unknown";
}

int sd_sampler_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SD_SAMPLER_COUNT; i++) {
        const sd_sampler_info *info = sd_sampler_info_of((sd_sampler)i);
        if (strcasecmp(name, info->name) == 0 || (info->alias && strcasecmp(name, info->alias) == 0))
            return i;
    }
    return -1;
}

const char *sd_sampler_list(char *buf, size_t size)
{
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < SD_SAMPLER_COUNT && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 sd_sampler_info_of((sd_sampler)i)->name);
    return buf;
}

static const char *const spacing_names[SD_SPACING_COUNT] = {
    [SD_SPACING_LEADING] = "leading",
    [SD_SPACING_TRAILING] = "trailing",
    [SD_SPACING_LINSPACE] = "linspace",
};

const char *sd_spacing_name(sd_spacing s)
{
    return (unsigned)s < SD_SPACING_COUNT ? spacing_names[s] : "unknown";
}

int sd_spacing_from_name(const char *name)
{
    for (int i = 0; name && i < SD_SPACING_COUNT; i++)
        if (strcasecmp(name, spacing_names[i]) == 0)
            return i;
    return -1;
}

static const char *const prediction_names[SD_PREDICTION_COUNT] = {
    [SD_PREDICTION_AUTO] = "auto",
    [SD_PREDICTION_EPS] = "eps",
    [SD_PREDICTION_V] = "v",
};

const char *sd_prediction_name(sd_prediction p)
{
    return (unsigned)p < SD_PREDICTION_COUNT ? prediction_names[p] : "unknown";
}

int sd_prediction_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SD_PREDICTION_COUNT; i++)
        if (strcasecmp(name, prediction_names[i]) == 0)
            return i;
    /* diffusers' scheduler_config spellings */
    if (strcasecmp(name, "epsilon") == 0)
        return SD_PREDICTION_EPS;
    if (strcasecmp(name, "v_prediction") == 0)
        return SD_PREDICTION_V;
    return -1;
}

static const char *const rng_names[SD_RNG_COUNT] = {
    [SD_RNG_TORCH_CPU] = "torch",
    [SD_RNG_PHILOX] = "philox",
};

const char *sd_rng_name(sd_rng_kind r)
{
    return (unsigned)r < SD_RNG_COUNT ? rng_names[r] : NULL;
}

int sd_rng_parse(const char *name, sd_rng_kind *out)
{
    for (int i = 0; name && i < SD_RNG_COUNT; i++)
        if (strcmp(name, rng_names[i]) == 0) {
            *out = (sd_rng_kind)i;
            return 0;
        }
    return -1;
}

static const char *const masked_content_names[SD_MASKED_CONTENT_COUNT] = {
    [SD_MASKED_ORIGINAL] = "original",
    [SD_MASKED_FILL] = "fill",
    [SD_MASKED_LATENT_NOISE] = "noise",
};

const char *sd_masked_content_name(sd_masked_content m)
{
    return (unsigned)m < SD_MASKED_CONTENT_COUNT ? masked_content_names[m] : NULL;
}

int sd_masked_content_parse(const char *name, sd_masked_content *out)
{
    for (int i = 0; name && i < SD_MASKED_CONTENT_COUNT; i++)
        if (strcmp(name, masked_content_names[i]) == 0) {
            *out = (sd_masked_content)i;
            return 0;
        }
    return -1;
}

int sd_vae_tile_parse(const char *text, int *out)
{
    if (!text)
        return -1;
    if (strcmp(text, "auto") == 0) {
        *out = SD_VAE_TILE_AUTO;
        return 0;
    }
    if (strcmp(text, "off") == 0) {
        *out = SD_VAE_TILE_OFF;
        return 0;
    }
    /* digits only: no sign, no spaces, no more than the maximum's digits */
    long v = 0;
    int digits = 0;
    for (const char *c = text; *c; c++, digits++) {
        if (*c < '0' || *c > '9' || digits >= 6)
            return -1;
        v = v * 10 + (*c - '0');
    }
    if (digits == 0 || v < SD_VAE_TILE_MIN || v > SD_VAE_TILE_MAX || v % SD_VAE_TILE_MULTIPLE)
        return -1;
    *out = (int)v;
    return 0;
}

const char *sd_phase_name(sd_phase phase)
{
    static const char *const names[SD_PHASE_COUNT] = {
        [SD_PHASE_TEXT] = "text",
        [SD_PHASE_ENCODE] = "encode",
        [SD_PHASE_DENOISE] = "denoise",
        [SD_PHASE_DECODE] = "decode",
    };
    return (unsigned)phase < SD_PHASE_COUNT ? names[phase] : "unknown";
}

void sd_job_defaults(sd_job *job)
{
    memset(job, 0, sizeof *job);
    job->mode = SD_MODE_IMG2IMG;
    job->strength = SD_STRENGTH_DEFAULT;
    job->steps = SD_STEPS_DEFAULT;
    job->cfg_scale = SD_CFG_DEFAULT;
    job->sampler = SD_SAMPLER_EULER_ANCESTRAL;
    job->spacing = SD_SPACING_LEADING;
    job->prediction = SD_PREDICTION_AUTO;
    job->seed = 0;
    job->rng = SD_RNG_TORCH_CPU;
    job->clip_skip = SD_CLIP_SKIP_DEFAULT;
    job->masked_content = SD_MASKED_ORIGINAL;
    job->vae_tile = SD_VAE_TILE_AUTO;
}

void sd_job_apply_model_defaults(sd_job *job, const sd_model_defaults *d)
{
    job->steps = d->steps;
    job->cfg_scale = d->cfg_scale;
    job->sampler = d->sampler;
    job->spacing = d->spacing;
}
