/* What the scheduler files share: the context, the table builders, one step function
 * per family and the conversions of the model output (eps or v). Only sched/ includes
 * this. */
#ifndef SD_SCHEDULER_INTERNAL_H
#define SD_SCHEDULER_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "sched/scheduler.h"

/* Longest multistep history: PNDM keeps 4 eps, LMS 4 derivatives, DPM++ 2 x0. */
#define SCHED_MAX_HISTORY 4

struct sd_scheduler {
    const sd_sampler_info *info;        /* the sampler's row */
    sd_sched_config cfg;
    int num_inference_steps;            /* N given to set_timesteps */
    size_t numel;                       /* floats per latent */

    float betas[SCHED_TRAIN_STEPS];
    float alphas_cumprod[SCHED_TRAIN_STEPS];
    float final_alpha_cumprod;          /* abar before t = 0: alphas_cumprod[0] (set_alpha_to_one false) */

    float *timesteps;                   /* [n_timesteps] scheduler.timesteps */
    int n_timesteps;
    float *sigmas;                      /* [n_timesteps + 1] or NULL */
    int begin_index;                    /* t_start * order */
    int num_steps;                      /* n_timesteps - begin_index */
    float init_noise_sigma;

    int steps_done;                     /* loop steps taken; the next step must be this one */

    /* Multistep state, each buffer numel floats, oldest first. */
    float *history[SCHED_MAX_HISTORY];  /* PNDM ets, LMS derivatives, DPM++ model outputs */
    int n_history;                      /* entries in use */
    float *cur_sample;                  /* PNDM: the sample of its first step */
    int lower_order_nums;               /* DPM++: steps taken at lower order so far */
};

/* ---- tables (tables.c, spacing.c) ---- */

/* betas = torch.linspace(sqrt(0.00085), sqrt(0.012), 1000, float32) ** 2 and
 * alphas_cumprod = torch.cumprod(1 - betas) (float32 values, double accumulator). */
void sched_make_betas(float *betas, float *alphas_cumprod);

/* sigma(t) = ((1 - abar_t) / abar_t) ** 0.5, in float32 as torch computes it. */
float sched_train_sigma(float alpha_cumprod);

/* Fills s->timesteps (allocated here, n_timesteps set) and, for sigma schedulers,
 * s->sigmas, as set_timesteps(s->num_inference_steps) does. */
sd_status sched_set_timesteps(sd_scheduler *s, sd_error *err);

/* The N timesteps of a spacing, first (noisiest) first, as numpy computes them in float64
 * before the scheduler's cast: leading (k * (1000 // N)).round() + steps_offset; trailing
 * round(arange(1000, 0, -1000 / N)) - 1; linspace linspace(0, 999, N), rounded when
 * `round_linspace` (the integer-timestep schedulers). */
void sched_spaced_timesteps(sd_spacing spacing, int n, int steps_offset, int round_linspace,
                            double *t);

/* np.interp(t, arange(1000), sigma_table) at one point, in double. */
double sched_interp_sigma(const float *sigma_table, double t);

/* ---- family steps (sched_step_fn); i is the loop step, the absolute index is
 * begin_index + i ---- */

void sched_ddim_step(sd_scheduler *s, int i, const float *out, const float *x,
                     const float *noise, float *prev, float *pred_original);
void sched_pndm_step(sd_scheduler *s, int i, const float *out, const float *x,
                     const float *noise, float *prev, float *pred_original);
void sched_lcm_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *denoised);
void sched_euler_step(sd_scheduler *s, int i, const float *out, const float *x,
                      const float *noise, float *prev, float *pred_original);
void sched_euler_ancestral_step(sd_scheduler *s, int i, const float *out, const float *x,
                                const float *noise, float *prev, float *pred_original);
void sched_lms_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *pred_original);
void sched_dpm_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *pred_original);

/* DPM++'s alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t. */
void sched_dpm_alpha_sigma(float sigma, float *alpha_t, float *sigma_t);

/* abar at an integer timestep; t < 0 gives final_alpha_cumprod. */
float sched_alpha_cumprod_at(const sd_scheduler *s, int t);

/* Moves the oldest history buffer to the newest slot when all `depth` are in use, and
 * returns the newest slot (n_history grows up to depth). */
float *sched_history_push(sd_scheduler *s, int depth);

/* ---- the model output as x0, as diffusers converts it ---- */

/* Sigma space (Euler, Euler ancestral, LMS): eps: x0 = x - sigma out; v (c_out / c_skip
 * of the k-diffusion preconditioning): x0 = out * (-sigma / (sigma^2 + 1) ** 0.5)
 * + x / (sigma^2 + 1). */
typedef struct {
    int v;
    float sigma, c_out, c_skip_div;
} sched_sigma_x0;

static inline sched_sigma_x0 sched_sigma_x0_make(sd_prediction prediction, float sigma)
{
    sched_sigma_x0 c;
    c.v = prediction == SD_PREDICTION_V;
    c.sigma = sigma;
    c.c_out = -sigma / sqrtf(sigma * sigma + 1.0f);
    c.c_skip_div = sigma * sigma + 1.0f;
    return c;
}

static inline float sched_sigma_x0_at(const sched_sigma_x0 *c, float out, float x)
{
    return c->v ? out * c->c_out + x / c->c_skip_div : x - c->sigma * out;
}

/* Alpha space (DDIM, PNDM, LCM) with a = sqrt(abar_t), b = sqrt(1 - abar_t):
 * eps: x0 = (x - b out) / a; v: x0 = a x - b out and eps = a out + b x. */
typedef struct {
    int v;
    float a, b;
} sched_alpha_x0;

static inline sched_alpha_x0 sched_alpha_x0_make(sd_prediction prediction, float alpha_prod_t)
{
    sched_alpha_x0 c;
    c.v = prediction == SD_PREDICTION_V;
    c.a = sqrtf(alpha_prod_t);
    c.b = sqrtf(1.0f - alpha_prod_t);
    return c;
}

static inline float sched_alpha_x0_at(const sched_alpha_x0 *c, float out, float x)
{
    return c->v ? c->a * x - c->b * out : (x - c->b * out) / c->a;
}

static inline float sched_alpha_eps_at(const sched_alpha_x0 *c, float out, float x)
{
    return c->v ? c->a * out + c->b * x : out;
}

#endif
