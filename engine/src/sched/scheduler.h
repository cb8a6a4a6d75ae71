/* Noise schedulers, as diffusers 0.30.3 computes them with the SD 1.5 scheduler config:
 * scaled_linear betas sqrt(0.00085) -> sqrt(0.012) squared, 1000 training steps,
 * steps_offset 1, 'leading' timestep spacing, epsilon prediction, set_alpha_to_one false.
 *
 *   DDIM (eta 0), PNDM (PLMS, skip_prk_steps), Euler, Euler ancestral, LMS (order 4),
 *   DPM++ 2M and DPM++ 2M Karras (dpmsolver++, order 2, midpoint, final sigma 0),
 *   LCM (original_inference_steps 50, timestep_scaling 10).
 *
 * A scheduler is made for one run: set_timesteps(N) and the img2img slice that `strength`
 * selects (diffusers' get_timesteps: init = min(int(N * strength), N),
 * t_start = max(N - init, 0), timesteps[t_start:], set_begin_index(t_start)). Loop step i
 * (0 .. num_steps - 1) is entry begin_index + i of the full tables.
 *
 * Tensors are flat float32 arrays of the `numel` elements given at creation (the latent,
 * NCHW; every step is element-wise). Ancestral noise is
 * passed in by the caller, so a recorded draw can be injected; needs_noise says at which
 * steps diffusers draws one, so the caller draws in the same order.
 *
 * Arithmetic follows the reference: tables in double where numpy works in float64,
 * everything torch computes in float32 (0-d tensors included) in float32, in the same
 * order of operations. */
#ifndef SD_SCHEDULER_H
#define SD_SCHEDULER_H

#include <stddef.h>

#include "sd.h"

/* num_train_timesteps of the SD 1.x config. */
#define SCHED_TRAIN_STEPS 1000

typedef struct sd_scheduler sd_scheduler;

/* Builds the schedule for `num_inference_steps` (1..999; LCM 1..50) and img2img
 * `strength` in [0, 1] (1 = from pure noise: txt2img and strength-1 inpaint) and allocates
 * the multistep state for latents of `numel` floats. Fails with SD_ERR_INVALID_ARG when
 * the strength leaves no step to run, SD_ERR_NOMEM when an allocation fails.
 * `strength` is taken as a double because the step count depends on the truncation of
 * N * strength (12 * 0.6 = 7.1999… -> 7): pass the value the user typed, not a float. */
sd_status sd_scheduler_create(sd_sampler sampler, int num_inference_steps, double strength,
                              size_t numel, sd_scheduler **out, sd_error *err);
void sd_scheduler_free(sd_scheduler *s);

/* Number of denoising loop steps (len of the img2img timestep slice). */
int sd_scheduler_num_steps(const sd_scheduler *s);

/* The timestep value the U-Net gets at loop step i (0 <= i < num_steps). Integer-valued;
 * for DPM++ 2M Karras the rounded inverse-interpolated t of its Karras sigma. */
float sd_scheduler_timestep(const sd_scheduler *s, int i);

/* init_noise_sigma: the factor on the initial noise when strength is 1
 * (sqrt(sigma_max^2 + 1) for Euler, Euler ancestral and LMS; 1 otherwise). */
float sd_scheduler_init_noise_sigma(const sd_scheduler *s);

/* 1 when diffusers' step() draws a noise tensor at loop step i: Euler (every step, even
 * though s_churn 0 leaves it unused), Euler ancestral (every step), LCM (every step but
 * the last of its schedule). 0 otherwise. */
int sd_scheduler_needs_noise(const sd_scheduler *s, int i);

/* 1 when step() also returns a predicted x0 (DDIM, Euler, Euler ancestral, LMS:
 * pred_original_sample; LCM: denoised). PNDM and DPM++ return none. */
int sd_scheduler_has_pred_original(const sd_scheduler *s);

/* out = scale_model_input(x) at loop step i: x / sqrt(sigma^2 + 1) for Euler, Euler
 * ancestral and LMS, a copy of x otherwise. out may equal x. */
sd_status sd_scheduler_scale_model_input(const sd_scheduler *s, int i, const float *x,
                                         float *out, sd_error *err);

/* One scheduler step at loop step i; steps must be taken in order 0, 1, 2, ...
 * model_output: the (guided) eps; sample: the current latent; noise: numel N(0,1) values
 * where needs_noise(i), else ignored (may be NULL). Writes prev_sample (may equal sample)
 * and, when non-NULL and has_pred_original, pred_original. */
sd_status sd_scheduler_step(sd_scheduler *s, int i, const float *model_output,
                            const float *sample, const float *noise, float *prev_sample,
                            float *pred_original, sd_error *err);

/* out = add_noise(x0, noise, timesteps[k]) as the pipelines call it: k = 0 for the
 * img2img initial latent (before any step), k = i + 1 for the 4-channel inpaint blend
 * right after step i (0 <= k < num_steps).
 * DDIM, PNDM, LCM: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise; Euler, Euler ancestral,
 * LMS: x0 + sigma noise; DPM++: alpha_t x0 + sigma_t noise from its own sigma table.
 * out may equal x0 or noise. */
sd_status sd_scheduler_add_noise(const sd_scheduler *s, int k, const float *x0,
                                 const float *noise, float *out, sd_error *err);

/* The tables behind the schedule, for tests and diagnostics. Pointers stay valid until
 * sd_scheduler_free. */
typedef struct {
    const float *betas;           /* [SCHED_TRAIN_STEPS] */
    const float *alphas_cumprod;  /* [SCHED_TRAIN_STEPS] */
    const float *timesteps;       /* [n_timesteps]: scheduler.timesteps after set_timesteps */
    int n_timesteps;
    const float *sigmas;          /* [n_timesteps + 1] incl. the final 0; NULL for DDIM,
                                     PNDM and LCM */
    int begin_index;              /* first entry the img2img slice runs */
} sd_scheduler_tables;

void sd_scheduler_get_tables(const sd_scheduler *s, sd_scheduler_tables *t);

#endif
