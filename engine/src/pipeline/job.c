/* Job defaults and sampler names: the vocabulary shared by the CLI, presets and plug-in. */
#include <string.h>
#include <strings.h>

#include "sd.h"

static const char *const sampler_names[SD_SAMPLER_COUNT] = {
    [SD_SAMPLER_DDIM] = "ddim",
    [SD_SAMPLER_PNDM] = "pndm",
    [SD_SAMPLER_EULER] = "euler",
    [SD_SAMPLER_EULER_ANCESTRAL] = "euler_a",
    [SD_SAMPLER_DPMPP_2M] = "dpmpp_2m",
    [SD_SAMPLER_DPMPP_2M_KARRAS] = "dpmpp_2m_karras",
    [SD_SAMPLER_LMS] = "lms",
    [SD_SAMPLER_LCM] = "lcm",
};

const char *sd_sampler_name(sd_sampler s)
{
    return (unsigned)s < SD_SAMPLER_COUNT ? sampler_names[s] : "unknown";
}

int sd_sampler_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SD_SAMPLER_COUNT; i++)
        if (strcasecmp(name, sampler_names[i]) == 0)
            return i;
    if (strcasecmp(name, "euler_ancestral") == 0)
        return SD_SAMPLER_EULER_ANCESTRAL;
    return -1;
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
    job->seed = 0;
    job->rng = SD_RNG_TORCH_CPU;
    job->clip_skip = SD_CLIP_SKIP_DEFAULT;
    job->masked_content = SD_MASKED_ORIGINAL;
    job->vae_tile = SD_VAE_TILE_AUTO;
}
