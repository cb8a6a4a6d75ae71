/* Scheduler context: creation with the img2img slice, the queries the pipeline asks,
 * scale_model_input, add_noise, and the step dispatch to the family files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sched/internal.h"

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
    int depth = s->info->history;
    for (int j = 0; j < depth; j++) {
        s->history[j] = malloc(s->numel * sizeof(float));
        if (!s->history[j])
            return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for its history");
    }
    if (s->info->timesteps == SCHED_TIMESTEPS_PNDM) {
        s->cur_sample = malloc(s->numel * sizeof(float));
        if (!s->cur_sample)
            return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for its history");
    }
    return SD_OK;
}

static sd_status check_config(const sd_sched_config *c, sd_error *err)
{
    if ((unsigned)c->spacing >= SD_SPACING_COUNT)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: unknown timestep spacing %d",
                       (int)c->spacing);
    if (c->prediction != SD_PREDICTION_EPS && c->prediction != SD_PREDICTION_V)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "scheduler: prediction type %d is neither eps nor v", (int)c->prediction);
    if (c->steps_offset < 0 || c->steps_offset >= SCHED_TRAIN_STEPS)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: steps_offset %d outside 0..%d",
                       c->steps_offset, SCHED_TRAIN_STEPS - 1);
    return SD_OK;
}

/* The message when strength leaves nothing to run: diffusers' get_timesteps then gives an
 * empty slice, and its pipeline runs no step and returns an empty batch (no image). */
static sd_status no_step_error(int n, double strength, sd_error *err)
{
    int min_steps = n;
    while (min_steps < SCHED_TRAIN_STEPS && (int)((double)min_steps * strength) < 1)
        min_steps++;
    return sd_fail(err, SD_ERR_INVALID_ARG,
                   "strength %g with %d steps leaves no denoising step to run "
                   "(int(%d x %g) = 0; diffusers runs nothing and returns no image): use at "
                   "least %d steps, or a strength of at least 1/%d",
                   strength, n, n, strength, min_steps, n);
}

sd_status sd_scheduler_create(sd_sampler sampler, const sd_sched_config *cfg,
                              int num_inference_steps, double strength, size_t numel,
                              sd_scheduler **out, sd_error *err)
{
    *out = NULL;
    const sd_sampler_info *info = sd_sampler_info_of(sampler);
    if (!info)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: unknown sampler %d", (int)sampler);
    sd_sched_config c = cfg ? *cfg : sd_sched_config_default();
    sd_status st = check_config(&c, err);
    if (st != SD_OK)
        return st;
    if (num_inference_steps < 1 || num_inference_steps > info->max_steps)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler %s: steps %d outside 1..%d",
                       info->name, num_inference_steps, info->max_steps);
    if (!(strength >= 0.0 && strength <= 1.0))
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: strength %g outside [0, 1]", strength);
    if (strength < 1.0 && !info->img2img)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler %s: runs from pure noise only "
                       "(strength 1)", info->name);
    if (numel == 0)
        return sd_fail(err, SD_ERR_INVALID_ARG, "scheduler: empty latent");

    sd_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory");
    s->info = info;
    s->cfg = c;
    s->num_inference_steps = num_inference_steps;
    s->numel = numel;
    sched_make_betas(s->betas, s->alphas_cumprod);
    s->final_alpha_cumprod = s->alphas_cumprod[0];
    st = sched_set_timesteps(s, err);
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
        return no_step_error(n, strength, err);
    }

    s->init_noise_sigma = 1.0f;
    if (info->space == SCHED_SPACE_SIGMA) {
        float max_sigma = 0.0f;
        for (int j = 0; j <= s->n_timesteps; j++)
            max_sigma = fmaxf(max_sigma, s->sigmas[j]);
        /* sigmas.max() for linspace and trailing, (sigmas.max() ** 2 + 1) ** 0.5 for leading */
        s->init_noise_sigma = c.spacing == SD_SPACING_LEADING
                                  ? sqrtf(max_sigma * max_sigma + 1.0f) : max_sigma;
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
    if (!s->info->ancestral)
        return 0;
    /* LCM adds no noise on the final timestep of its schedule */
    if (s->info->timesteps == SCHED_TIMESTEPS_LCM)
        return s->begin_index + i != s->num_inference_steps - 1;
    return 1;
}

int sd_scheduler_has_pred_original(const sd_scheduler *s)
{
    return s->info->has_pred_original;
}

void sd_scheduler_get_tables(const sd_scheduler *s, sd_scheduler_tables *t)
{
    t->sampler = s->info->id;
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
    if (s->info->space != SCHED_SPACE_SIGMA) {
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
    if (s->info->space == SCHED_SPACE_SIGMA) {
        /* original_samples + noise * sigma */
        float sigma = s->sigmas[idx];
        for (size_t j = 0; j < s->numel; j++)
            out[j] = x0[j] + noise[j] * sigma;
        return SD_OK;
    }
    if (s->sigmas) {
        /* DPM++: alpha_t, sigma_t of its own sigma table */
        sched_dpm_alpha_sigma(s->sigmas[idx], &a, &b);
    } else {
        /* alphas_cumprod[t] ** 0.5 and (1 - alphas_cumprod[t]) ** 0.5 */
        float abar = s->alphas_cumprod[(int)s->timesteps[idx]];
        a = sqrtf(abar);
        b = sqrtf(1.0f - abar);
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
                       s->info->name, i);
    s->info->step(s, i, model_output, sample, noise, prev_sample,
                  s->info->has_pred_original ? pred_original : NULL);
    s->steps_done++;
    return SD_OK;
}
