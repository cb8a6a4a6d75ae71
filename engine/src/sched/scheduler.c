/* Scheduler context: creation with the img2img slice, the queries the pipeline asks,
 * scale_model_input, add_noise, and the step dispatch to the family files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sched/internal.h"

/* LCM's distillation schedule has 50 timesteps to choose from. */
#define LCM_MAX_STEPS 50

static int uses_sigmas(sd_sampler sampler)
{
    return sampler == SD_SAMPLER_EULER || sampler == SD_SAMPLER_EULER_ANCESTRAL
           || sampler == SD_SAMPLER_LMS;
}

static int history_depth(sd_sampler sampler)
{
    switch (sampler) {
    case SD_SAMPLER_PNDM: return 4;             /* ets[-3:] + the new one */
    case SD_SAMPLER_LMS: return 4;              /* order 4 */
    case SD_SAMPLER_DPMPP_2M:
    case SD_SAMPLER_DPMPP_2M_KARRAS: return 2;  /* solver_order 2 */
    default: return 0;
    }
}

float sched_alpha_cumprod_at(const sd_scheduler *s, int t)
{
    return t >= 0 ? s->alphas_cumprod[t] : s->final_alpha_cumprod;
}

float *sched_history_push(sd_scheduler *s, int depth)
{
    if (s->n_history < depth)
        return s->history[s->n_history++];
    float *oldest = s->history[0];
    for (int j = 0; j + 1 < depth; j++)
        s->history[j] = s->history[j + 1];
    s->history[depth - 1] = oldest;
    return oldest;
}

void sd_scheduler_free(sd_scheduler *s)
{
    if (!s)
        return;
    for (int j = 0; j < SCHED_MAX_HISTORY; j++)
        free(s->history[j]);
    free(s->cur_sample);
    free(s->sigmas);
    free(s->timesteps);
    free(s);
}

static sd_status alloc_state(sd_scheduler *s, sd_error *err)
{
    int depth = history_depth(s->sampler);
    for (int j = 0; j < depth; j++) {
        s->history[j] = malloc(s->numel * sizeof(float));
        if (!s->history[j])
            return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for its history");
    }
    if (s->sampler == SD_SAMPLER_PNDM) {
        s->cur_sample = malloc(s->numel * sizeof(float));
        if (!s->cur_sample)
            return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for its history");
    }
    return SD_OK;
}

sd_status sd_scheduler_create(sd_sampler sampler, int num_inference_steps, double strength,
                              size_t numel, sd_scheduler **out, sd_error *err)
{
    *out = NULL;
    if ((int)sampler < 0 || sampler >= SD_SAMPLER_COUNT)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: unknown sampler %d", (int)sampler);
    int max_steps = sampler == SD_SAMPLER_LCM ? LCM_MAX_STEPS : SD_STEPS_MAX;
    if (num_inference_steps < 1 || num_inference_steps > max_steps)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler %s: steps %d outside 1..%d",
                       sd_sampler_name(sampler), num_inference_steps, max_steps);
    if (!(strength >= 0.0 && strength <= 1.0))
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: strength %g outside [0, 1]", strength);
    if (numel == 0)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: empty latent");

    sd_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory");
    s->sampler = sampler;
    s->num_inference_steps = num_inference_steps;
    s->numel = numel;
    sched_make_betas(s->betas, s->alphas_cumprod);
    s->final_alpha_cumprod = s->alphas_cumprod[0];
    sd_status st = sched_set_timesteps(s, err);
    if (st == SD_OK)
        st = alloc_state(s, err);
    if (st != SD_OK) {
        sd_scheduler_free(s);
        return st;
    }

    /* get_timesteps of the img2img / inpaint pipelines; every scheduler here has order 1. */
    int n = num_inference_steps;
    int init_timestep = (int)((double)n * strength);
    if (init_timestep > n)
        init_timestep = n;
    int t_start = n - init_timestep > 0 ? n - init_timestep : 0;
    s->begin_index = t_start;
    s->num_steps = s->n_timesteps - t_start;
    if (s->num_steps < 1) {
        sd_scheduler_free(s);
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "strength %g with %d steps leaves no denoising step to run", strength, n);
    }

    s->init_noise_sigma = 1.0f;
    if (uses_sigmas(sampler)) {
        /* (sigmas.max() ** 2 + 1) ** 0.5 for 'leading' spacing */
        float max_sigma = 0.0f;
        for (int j = 0; j <= s->n_timesteps; j++)
            max_sigma = fmaxf(max_sigma, s->sigmas[j]);
        s->init_noise_sigma = sqrtf(max_sigma * max_sigma + 1.0f);
    }
    *out = s;
    return SD_OK;
}

int sd_scheduler_num_steps(const sd_scheduler *s)
{
    return s->num_steps;
}

float sd_scheduler_timestep(const sd_scheduler *s, int i)
{
    return s->timesteps[s->begin_index + i];
}

float sd_scheduler_init_noise_sigma(const sd_scheduler *s)
{
    return s->init_noise_sigma;
}

int sd_scheduler_needs_noise(const sd_scheduler *s, int i)
{
    switch (s->sampler) {
    case SD_SAMPLER_EULER:
    case SD_SAMPLER_EULER_ANCESTRAL:
        return 1;
    case SD_SAMPLER_LCM:
        /* no noise on the final timestep of the schedule */
        return s->begin_index + i != s->num_inference_steps - 1;
    default:
        return 0;
    }
}

int sd_scheduler_has_pred_original(const sd_scheduler *s)
{
    return s->sampler != SD_SAMPLER_PNDM && s->sampler != SD_SAMPLER_DPMPP_2M
           && s->sampler != SD_SAMPLER_DPMPP_2M_KARRAS;
}

void sd_scheduler_get_tables(const sd_scheduler *s, sd_scheduler_tables *t)
{
    t->betas = s->betas;
    t->alphas_cumprod = s->alphas_cumprod;
    t->timesteps = s->timesteps;
    t->n_timesteps = s->n_timesteps;
    t->sigmas = s->sigmas;
    t->begin_index = s->begin_index;
}

sd_status sd_scheduler_scale_model_input(const sd_scheduler *s, int i, const float *x,
                                         float *out, sd_error *err)
{
    if (i < 0 || i >= s->num_steps)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: step %d outside 0..%d", i,
                       s->num_steps - 1);
    if (!uses_sigmas(s->sampler)) {
        if (out != x)
            memcpy(out, x, s->numel * sizeof *out);
        return SD_OK;
    }
    float sigma = s->sigmas[s->begin_index + i];
    float scale = sqrtf(sigma * sigma + 1.0f);  /* (sigma ** 2 + 1) ** 0.5 */
    for (size_t j = 0; j < s->numel; j++)
        out[j] = x[j] / scale;
    return SD_OK;
}

sd_status sd_scheduler_add_noise(const sd_scheduler *s, int k, const float *x0,
                                 const float *noise, float *out, sd_error *err)
{
    if (k < 0 || k >= s->num_steps)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: add_noise at %d outside 0..%d", k,
                       s->num_steps - 1);
    int idx = s->begin_index + k;
    float a, b;  /* out = a * x0 + b * noise */
    switch (s->sampler) {
    case SD_SAMPLER_EULER:
    case SD_SAMPLER_EULER_ANCESTRAL:
    case SD_SAMPLER_LMS: {
        /* original_samples + noise * sigma */
        float sigma = s->sigmas[idx];
        for (size_t j = 0; j < s->numel; j++)
            out[j] = x0[j] + noise[j] * sigma;
        return SD_OK;
    }
    case SD_SAMPLER_DPMPP_2M:
    case SD_SAMPLER_DPMPP_2M_KARRAS:
        sched_dpm_alpha_sigma(s->sigmas[idx], &a, &b);
        break;
    default: {
        /* alphas_cumprod[t] ** 0.5 and (1 - alphas_cumprod[t]) ** 0.5 */
        float abar = s->alphas_cumprod[(int)s->timesteps[idx]];
        a = sqrtf(abar);
        b = sqrtf(1.0f - abar);
        break;
    }
    }
    for (size_t j = 0; j < s->numel; j++)
        out[j] = a * x0[j] + b * noise[j];
    return SD_OK;
}

sd_status sd_scheduler_step(sd_scheduler *s, int i, const float *model_output,
                            const float *sample, const float *noise, float *prev_sample,
                            float *pred_original, sd_error *err)
{
    if (i != s->steps_done || i >= s->num_steps)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "scheduler: step %d out of order (next is %d of %d)", i, s->steps_done,
                       s->num_steps);
    if (sd_scheduler_needs_noise(s, i) && !noise)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler %s: step %d needs a noise tensor",
                       sd_sampler_name(s->sampler), i);
    switch (s->sampler) {
    case SD_SAMPLER_DDIM:
        sched_ddim_step(s, i, model_output, sample, prev_sample, pred_original);
        break;
    case SD_SAMPLER_PNDM:
        sched_pndm_step(s, i, model_output, sample, prev_sample);
        break;
    case SD_SAMPLER_EULER:
        sched_euler_step(s, i, model_output, sample, prev_sample, pred_original);
        break;
    case SD_SAMPLER_EULER_ANCESTRAL:
        sched_euler_ancestral_step(s, i, model_output, sample, noise, prev_sample, pred_original);
        break;
    case SD_SAMPLER_DPMPP_2M:
    case SD_SAMPLER_DPMPP_2M_KARRAS:
        sched_dpm_step(s, i, model_output, sample, prev_sample);
        break;
    case SD_SAMPLER_LMS:
        sched_lms_step(s, i, model_output, sample, prev_sample, pred_original);
        break;
    case SD_SAMPLER_LCM:
        sched_lcm_step(s, i, model_output, sample, noise, prev_sample, pred_original);
        break;
    default:
        return sd_fail(err, SD_ERR_INTERNAL, "scheduler: unknown sampler %d", (int)s->sampler);
    }
    s->steps_done++;
    return SD_OK;
}
