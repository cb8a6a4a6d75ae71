/* What the scheduler files share: the context, the table builders and one step function
 * per family. Only scheduler*.c include this. */
#ifndef SD_SCHEDULER_INTERNAL_H
#define SD_SCHEDULER_INTERNAL_H

#include <stddef.h>

#include "sched/scheduler.h"

/* Longest multistep history: PNDM keeps 4 eps, LMS 4 derivatives, DPM++ 2 x0. */
#define SCHED_MAX_HISTORY 4

struct sd_scheduler {
    sd_sampler sampler;
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

/* ---- tables (scheduler_tables.c) ---- */

/* betas = torch.linspace(sqrt(0.00085), sqrt(0.012), 1000, float32) ** 2 and
 * alphas_cumprod = torch.cumprod(1 - betas) (float32 values, double accumulator). */
void sched_make_betas(float *betas, float *alphas_cumprod);

/* sigma(t) = ((1 - abar_t) / abar_t) ** 0.5, in float32 as torch computes it. */
float sched_train_sigma(float alpha_cumprod);

/* Fills s->timesteps (allocated here, n_timesteps set) and, for sigma schedulers,
 * s->sigmas, as set_timesteps(s->num_inference_steps) does. */
sd_status sched_set_timesteps(sd_scheduler *s, sd_error *err);

/* ---- family steps; i is the loop step, the absolute index is begin_index + i ---- */

void sched_ddim_step(sd_scheduler *s, int i, const float *eps, const float *x, float *prev,
                     float *pred_original);
void sched_pndm_step(sd_scheduler *s, int i, const float *eps, const float *x, float *prev);
void sched_lcm_step(sd_scheduler *s, int i, const float *eps, const float *x,
                    const float *noise, float *prev, float *denoised);
void sched_euler_step(sd_scheduler *s, int i, const float *eps, const float *x,
                      float *prev, float *pred_original);
void sched_euler_ancestral_step(sd_scheduler *s, int i, const float *eps, const float *x,
                                const float *noise, float *prev, float *pred_original);
void sched_lms_step(sd_scheduler *s, int i, const float *eps, const float *x, float *prev,
                    float *pred_original);
void sched_dpm_step(sd_scheduler *s, int i, const float *eps, const float *x, float *prev);

/* DPM++'s alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t. */
void sched_dpm_alpha_sigma(float sigma, float *alpha_t, float *sigma_t);

/* abar at an integer timestep; t < 0 gives final_alpha_cumprod. */
float sched_alpha_cumprod_at(const sd_scheduler *s, int t);

/* Moves the oldest history buffer to the newest slot when all `depth` are in use, and
 * returns the newest slot (n_history grows up to depth). */
float *sched_history_push(sd_scheduler *s, int depth);

#endif
