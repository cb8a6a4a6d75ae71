/* The samplers as data: one row per sampler with the traits the scheduler, the pipeline,
 * the CLI, the presets and the golden runner read (instead of a switch in each). */
#include <stddef.h>
#include <string.h>

#include "sched/internal.h"

/* LCM's distillation schedule has 50 timesteps to choose from (original_inference_steps). */
#define LCM_MAX_STEPS 50
/* 'leading' puts the last timestep at (N - 1) * (1000 // N) + 1: N = 1000 would reach
 * t = 1000, past the table, so every sampler stops one short. */
#define SPACED_MAX_STEPS (SCHED_TRAIN_STEPS - 1)

static const sd_sampler_info rows[SD_SAMPLER_COUNT] = {
    /* id, name, alias, diffusers class, karras,
     * space, timesteps, follows spacing, ancestral, history, max steps, img2img,
     * pred_original, step */
    {SD_SAMPLER_DDIM, "ddim", NULL, "DDIMScheduler", 0,
     SCHED_SPACE_ALPHA, SCHED_TIMESTEPS_DDIM, 1, 0, 0, SPACED_MAX_STEPS, 1,
     1, sched_ddim_step},
    {SD_SAMPLER_PNDM, "pndm", "plms", "PNDMScheduler", 0,
     SCHED_SPACE_ALPHA, SCHED_TIMESTEPS_PNDM, 1, 0, 4, SPACED_MAX_STEPS, 1,
     0, sched_pndm_step},
    {SD_SAMPLER_EULER, "euler", NULL, "EulerDiscreteScheduler", 0,
     SCHED_SPACE_SIGMA, SCHED_TIMESTEPS_SIGMA, 1, 0, 0, SPACED_MAX_STEPS, 1,
     1, sched_euler_step},
    {SD_SAMPLER_EULER_ANCESTRAL, "euler_a", "euler_ancestral", "EulerAncestralDiscreteScheduler",
     0, SCHED_SPACE_SIGMA, SCHED_TIMESTEPS_SIGMA, 1, 1, 0, SPACED_MAX_STEPS, 1,
     1, sched_euler_ancestral_step},
    {SD_SAMPLER_DPMPP_2M, "dpmpp_2m", NULL, "DPMSolverMultistepScheduler", 0,
     SCHED_SPACE_ALPHA, SCHED_TIMESTEPS_DPM, 1, 0, 2, SPACED_MAX_STEPS, 1,
     0, sched_dpm_step},
    {SD_SAMPLER_DPMPP_2M_KARRAS, "dpmpp_2m_karras", NULL, "DPMSolverMultistepScheduler", 1,
     SCHED_SPACE_ALPHA, SCHED_TIMESTEPS_KARRAS, 0, 0, 2, SPACED_MAX_STEPS, 1,
     0, sched_dpm_step},
    {SD_SAMPLER_LMS, "lms", NULL, "LMSDiscreteScheduler", 0,
     SCHED_SPACE_SIGMA, SCHED_TIMESTEPS_SIGMA, 1, 0, 4, SPACED_MAX_STEPS, 1,
     1, sched_lms_step},
    {SD_SAMPLER_LCM, "lcm", NULL, "LCMScheduler", 0,
     SCHED_SPACE_ALPHA, SCHED_TIMESTEPS_LCM, 0, 1, 0, LCM_MAX_STEPS, 1,
     1, sched_lcm_step},
};

const sd_sampler_info *sd_sampler_info_of(sd_sampler s)
{
    return (unsigned)s < SD_SAMPLER_COUNT ? &rows[s] : NULL;
}

const sd_sampler_info *sd_sampler_info_find(const char *diffusers_class, int karras)
{
    if (!diffusers_class)
        return NULL;
    for (int i = 0; i < SD_SAMPLER_COUNT; i++)
        if (strcmp(rows[i].diffusers_class, diffusers_class) == 0 && rows[i].karras == !!karras)
            return &rows[i];
    return NULL;
}

sd_sched_config sd_sched_config_default(void)
{
    sd_sched_config c = {SD_SPACING_LEADING, SCHED_STEPS_OFFSET, SD_PREDICTION_EPS};
    return c;
}
