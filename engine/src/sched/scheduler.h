/* Noise schedulers, as diffusers computes them with the SD 1.x / 2.x scheduler configs:
 * scaled_linear betas sqrt(0.00085) -> sqrt(0.012) squared, 1000 training steps,
 * set_alpha_to_one false, and per run a timestep spacing (leading / trailing /
 * linspace), steps_offset (1) and prediction type (epsilon or v).
 *
 * The samplers and their traits are one table (samplers.c, sd_sampler_info): DDIM (eta 0),
 * PNDM (PLMS, skip_prk_steps), Euler, Euler ancestral, LMS (order 4), DPM++ 2M and DPM++ 2M
 * Karras (dpmsolver++, order 2, midpoint, final sigma 0), LCM (original_inference_steps 50,
 * timestep_scaling 10).
 *
 * A scheduler is made for one run: set_timesteps(N) and the img2img slice that `strength`
 * selects (diffusers' get_timesteps: init = min(int(N * strength), N),
 * t_start = max(N - init, 0), timesteps[t_start:], set_begin_index(t_start)). Loop step i
 * (0 .. num_steps - 1) is entry begin_index + i of the full tables.
 *
 * Tensors are flat float32 arrays of the `numel` elements given at creation (the latent,
 * NCHW; every step is element-wise). Ancestral noise is passed in by the caller, so a
 * recorded draw can be injected; needs_noise says at which steps diffusers draws one, so
 * the caller draws in the same order.
 *
 * Arithmetic follows the reference: tables in double where numpy works in float64,
 * everything torch computes in float32 (0-d tensors included) in float32, in the same
 * order of operations. */
#ifndef SD_SCHEDULER_H
#define SD_SCHEDULER_H

#include <stddef.h>

#include "sd.h"

/* num_train_timesteps of the SD 1.x / 2.x configs. */
#define SCHED_TRAIN_STEPS 1000
/* steps_offset of every SD 1.x / 2.x scheduler config (added to 'leading' timesteps). */
#define SCHED_STEPS_OFFSET 1

typedef struct sd_scheduler sd_scheduler;

/* Where a sampler works: on alphas_cumprod (x_t = sqrt(abar) x0 + sqrt(1 - abar) eps,
 * U-Net input unscaled) or on the k-diffusion sigma table (x_sigma = x0 + sigma eps,
 * U-Net input divided by sqrt(sigma^2 + 1)). */
typedef enum {
    SCHED_SPACE_ALPHA = 0,
    SCHED_SPACE_SIGMA
} sched_space;

/* The timesteps a sampler builds (tables.c). */
typedef enum {
    SCHED_TIMESTEPS_DDIM = 0,   /* spaced integers, N of them */
    SCHED_TIMESTEPS_PNDM,       /* spaced integers with the second repeated (N + 1) */
    SCHED_TIMESTEPS_SIGMA,      /* spaced (linspace: fractional) + interpolated sigmas */
    SCHED_TIMESTEPS_DPM,        /* spaced over N + 1 (leading / linspace) + sigmas */
    SCHED_TIMESTEPS_KARRAS,     /* Karras sigma ramp; spacing ignored */
    SCHED_TIMESTEPS_LCM         /* LCM's 50 distillation timesteps; spacing ignored */
} sched_timesteps_rule;

typedef void (*sched_step_fn)(sd_scheduler *s, int i, const float *model_output,
                              const float *x, const float *noise, float *prev,
                              float *pred_original);

/* One row per sampler: everything the engine, the CLI, the presets and the golden runner
 * need to know about it. */
typedef struct {
    sd_sampler id;
    const char *name;             /* canonical (sd_sampler_name) */
    const char *alias;            /* another accepted spelling, or NULL */
    const char *diffusers_class;  /* the diffusers scheduler it reproduces */
    int karras;                   /* use_karras_sigmas */
    sched_space space;
    sched_timesteps_rule timesteps;
    int follows_spacing;          /* its timesteps come from timestep_spacing */
    int ancestral;                /* adds fresh noise at every step (stochastic) */
    int history;                  /* past outputs kept (multistep order); 0: single-step */
    int max_steps;                /* num_inference_steps it accepts (1..max_steps) */
    int img2img;                  /* runs a strength < 1 slice (set_begin_index) */
    int has_pred_original;        /* step() returns x0 (pred_original_sample / denoised) */
    sched_step_fn step;
} sd_sampler_info;

/* The row of a sampler, or NULL when out of range. */
const sd_sampler_info *sd_sampler_info_of(sd_sampler s);
/* The row for a diffusers class name (+ use_karras_sigmas), or NULL. */
const sd_sampler_info *sd_sampler_info_find(const char *diffusers_class, int karras);

/* What a run takes from the model's scheduler config. */
typedef struct {
    sd_spacing spacing;          /* timestep_spacing */
    int steps_offset;            /* steps_offset: added to 'leading' timesteps only */
    sd_prediction prediction;    /* EPS or V (the caller resolves AUTO) */
} sd_sched_config;

/* The SD 1.5 config: leading, steps_offset 1, epsilon. */
sd_sched_config sd_sched_config_default(void);

/* Builds the schedule for `num_inference_steps` (1..max_steps of the sampler's row) and
 * img2img `strength` in [0, 1] (1 = from pure noise: txt2img and strength-1 inpaint) and
 * allocates the multistep state for latents of `numel` floats. cfg NULL: the default.
 * Fails with SD_ERR_INVALID_ARG when the strength leaves no step to run (diffusers then
 * runs nothing and returns no image), SD_ERR_NOMEM when an allocation fails.
 * `strength` is taken as a double because the step count depends on the truncation of
 * N * strength (12 * 0.6 = 7.1999… -> 7): pass the value the user typed, not a float. */
sd_status sd_scheduler_create(sd_sampler sampler, const sd_sched_config *cfg,
                              int num_inference_steps, double strength, size_t numel,
                              sd_scheduler **out, sd_error *err);
void sd_scheduler_free(sd_scheduler *s);

/* Number of denoising loop steps (len of the img2img timestep slice). */
int sd_scheduler_num_steps(const sd_scheduler *s);

/* The timestep value the U-Net gets at loop step i (0 <= i < num_steps). Integer-valued
 * except for sigma samplers with linspace spacing (float32 linspace); for DPM++ 2M Karras
 * the rounded inverse-interpolated t of its Karras sigma. */
float sd_scheduler_timestep(const sd_scheduler *s, int i);

/* init_noise_sigma: the factor on the initial noise when strength is 1. Sigma samplers:
 * sqrt(sigma_max^2 + 1) with leading spacing, sigma_max with trailing and linspace (as
 * diffusers); 1 otherwise. */
float sd_scheduler_init_noise_sigma(const sd_scheduler *s);

/* 1 when diffusers' step() draws a noise tensor at loop step i: Euler ancestral (every
 * step, also the last where it is multiplied by 0), LCM (every step but the last of its
 * schedule). 0 otherwise; Euler with s_churn 0 draws none (diffusers 0.30 drew one and
 * left it unused: the golden runners skip those recorded draws). */
int sd_scheduler_needs_noise(const sd_scheduler *s, int i);

/* 1 when step() also returns a predicted x0 (the row's has_pred_original). */
int sd_scheduler_has_pred_original(const sd_scheduler *s);

/* out = scale_model_input(x) at loop step i: x / sqrt(sigma^2 + 1) for sigma samplers
 * (Euler, Euler ancestral, LMS), a copy of x otherwise. out may equal x. */
sd_status sd_scheduler_scale_model_input(const sd_scheduler *s, int i, const float *x,
                                         float *out, sd_error *err);

/* One scheduler step at loop step i; steps must be taken in order 0, 1, 2, ...
 * model_output: the (guided) U-Net output, eps or v as the config says; sample: the
 * current latent; noise: numel N(0,1) values where needs_noise(i), else ignored (may be
 * NULL). Writes prev_sample (may equal sample) and, when non-NULL and has_pred_original,
 * pred_original. */
sd_status sd_scheduler_step(sd_scheduler *s, int i, const float *model_output,
                            const float *sample, const float *noise, float *prev_sample,
                            float *pred_original, sd_error *err);

/* out = add_noise(x0, noise, timesteps[k]) as the pipelines call it: k = 0 for the
 * img2img initial latent (before any step), k = i + 1 for the 4-channel inpaint blend
 * right after step i (0 <= k < num_steps).
 * Alpha samplers: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise; Euler, Euler ancestral, LMS:
 * x0 + sigma noise; DPM++: alpha_t x0 + sigma_t noise from its own sigma table.
 * out may equal x0 or noise. */
sd_status sd_scheduler_add_noise(const sd_scheduler *s, int k, const float *x0,
                                 const float *noise, float *out, sd_error *err);

/* The tables behind the schedule, for tests and diagnostics. Pointers stay valid until
 * sd_scheduler_free. */
typedef struct {
    sd_sampler sampler;
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
