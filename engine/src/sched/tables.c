/* The tables of the schedulers: betas and alphas_cumprod of the SD 1.x / 2.x config, the
 * timesteps set_timesteps(N) gives each scheduler (spaced as spacing.c computes), and the
 * sigma tables. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "sched/internal.h"

/* SD 1.x / 2.x scheduler_config */
static const double beta_start = 0.00085;
static const double beta_end = 0.012;
/* LCMScheduler defaults */
static const int lcm_original_inference_steps = 50;
/* Karras et al. rho */
static const double karras_rho = 7.0;

void sched_make_betas(float *betas, float *alphas_cumprod)
{
    /* torch.linspace(beta_start ** 0.5, beta_end ** 0.5, 1000, dtype=float32) as the
     * reference's torch 1.13 CPU kernel (AVX2 build) computes it: float32 step, blocks of
     * 8 values whose first is start + step * idx below the halfway point and
     * end - step * (steps - 1 - idx) above it, the others base + j * step, every
     * multiply-add fused. This reproduces the reference betas bit for bit (a plain
     * linspace is 1 ulp off on about a third of them). */
    const int steps = SCHED_TRAIN_STEPS, halfway = SCHED_TRAIN_STEPS / 2, block = 8;
    const float start = (float)sqrt(beta_start);
    const float end = (float)sqrt(beta_end);
    const float step = (end - start) / (float)(steps - 1);
    for (int base = 0; base < steps; base += block) {
        float first = base < halfway ? fmaf(step, (float)base, start)
                                     : fmaf(-step, (float)(steps - 1 - base), end);
        for (int j = 0; j < block && base + j < steps; j++) {
            float root = fmaf((float)j, step, first);
            betas[base + j] = root * root;  /* ** 2 */
        }
    }
    /* torch.cumprod on CPU accumulates float32 in double and rounds each output. */
    double acc = 1.0;
    for (int t = 0; t < steps; t++) {
        acc *= (double)(1.0f - betas[t]);
        alphas_cumprod[t] = (float)acc;
    }
}

float sched_train_sigma(float alpha_cumprod)
{
    return sqrtf((1.0f - alpha_cumprod) / alpha_cumprod);
}

/* DDIM: the spaced timesteps as int64 (linspace rounded). */
static void ddim_timesteps(const sd_scheduler *s, int n, double *scratch)
{
    sched_spaced_timesteps(s->cfg.spacing, n, s->cfg.steps_offset, 1, scratch);
    for (int j = 0; j < n; j++)
        s->timesteps[j] = (float)scratch[j];
}

/* PNDM with skip_prk_steps: the ascending _timesteps t, then
 * concatenate(t[:-1], t[-2:-1], t[-1:])[::-1]: the spaced timesteps with the second one
 * repeated. */
static int pndm_timesteps(const sd_scheduler *s, int n, double *scratch)
{
    ddim_timesteps(s, n, scratch);
    if (n < 2)
        return n;
    for (int j = n; j > 1; j--)
        s->timesteps[j] = s->timesteps[j - 1];
    return n + 1;
}

/* DPMSolverMultistep: linspace and leading spread N + 1 points and drop the last
 * (linspace(0, last_timestep - 1, N + 1).round()[::-1][:-1]; (arange(0, N + 1) *
 * (last_timestep // (N + 1))).round()[::-1][:-1] + steps_offset); trailing as the others.
 * last_timestep is 1000 since lambda_min_clipped is -inf. */
static void dpm_timesteps(const sd_scheduler *s, int n, double *scratch)
{
    if (s->cfg.spacing == SD_SPACING_TRAILING) {
        ddim_timesteps(s, n, scratch);
        return;
    }
    sched_spaced_timesteps(s->cfg.spacing, n + 1, s->cfg.steps_offset, 1, scratch);
    for (int j = 0; j < n; j++)
        s->timesteps[j] = (float)scratch[j];
}

/* LCM: the 50 distillation timesteps 999, 979, ..., 19, of which indices
 * floor(linspace(0, 50, N, endpoint=False)) are taken. */
static void lcm_timesteps(int n, float *timesteps)
{
    const int k = SCHED_TRAIN_STEPS / lcm_original_inference_steps;
    const int len = lcm_original_inference_steps;
    double step = (double)len / (double)n;
    for (int j = 0; j < n; j++) {
        int idx = (int)floor((double)j * step);
        timesteps[j] = (float)((len - idx) * k - 1);
    }
}

/* _sigma_to_t: the fractional timestep whose log sigma interpolates log_sigma between the
 * two nearest entries of the (float32) log sigma table, as numpy computes it. */
static double sigma_to_t(double sigma, const float *log_sigmas)
{
    double log_sigma = log(fmax(sigma, 1e-10));
    int low_idx = 0;
    /* argmax(cumsum(dists >= 0)): the last index whose log sigma is <= log_sigma, or 0. */
    for (int j = 0; j < SCHED_TRAIN_STEPS; j++)
        if (log_sigma - (double)log_sigmas[j] >= 0.0)
            low_idx = j;
    if (low_idx > SCHED_TRAIN_STEPS - 2)
        low_idx = SCHED_TRAIN_STEPS - 2;
    int high_idx = low_idx + 1;
    float low = log_sigmas[low_idx], high = log_sigmas[high_idx];
    double w = ((double)low - log_sigma) / (double)(low - high);  /* low - high: float32 */
    w = fmin(fmax(w, 0.0), 1.0);
    return (1.0 - w) * low_idx + w * high_idx;
}

/* DPM++ with use_karras_sigmas: sigmas on the Karras ramp between sigma(t=0) and
 * sigma(t=999), timesteps the rounded (half to even) inverse-interpolated t of each. */
static void karras_schedule(const float *alphas_cumprod, int n, float *timesteps,
                            float *sigmas)
{
    float log_sigmas[SCHED_TRAIN_STEPS];
    for (int t = 0; t < SCHED_TRAIN_STEPS; t++)
        log_sigmas[t] = logf(sched_train_sigma(alphas_cumprod[t]));
    double sigma_min = sched_train_sigma(alphas_cumprod[0]);
    double sigma_max = sched_train_sigma(alphas_cumprod[SCHED_TRAIN_STEPS - 1]);
    double min_inv_rho = pow(sigma_min, 1.0 / karras_rho);
    double max_inv_rho = pow(sigma_max, 1.0 / karras_rho);
    double ramp_step = n > 1 ? 1.0 / (double)(n - 1) : 0.0;
    for (int j = 0; j < n; j++) {
        double ramp = (n > 1 && j == n - 1) ? 1.0 : (double)j * ramp_step;
        double sigma = pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), karras_rho);
        timesteps[j] = (float)nearbyint(sigma_to_t(sigma, log_sigmas));
        sigmas[j] = (float)sigma;
    }
}

/* Euler, Euler ancestral, LMS: the spaced timesteps as float32 (linspace fractional),
 * sigmas = np.interp(timesteps, arange(1000), train sigmas) + [0], cast to float32. */
static void sigma_timesteps(sd_scheduler *s, int n, double *scratch)
{
    float table[SCHED_TRAIN_STEPS];
    for (int t = 0; t < SCHED_TRAIN_STEPS; t++)
        table[t] = sched_train_sigma(s->alphas_cumprod[t]);
    sched_spaced_timesteps(s->cfg.spacing, n, s->cfg.steps_offset, 0, scratch);
    for (int j = 0; j < n; j++) {
        s->timesteps[j] = (float)scratch[j];
        s->sigmas[j] = (float)sched_interp_sigma(table, (double)s->timesteps[j]);
    }
    s->sigmas[n] = 0.0f;  /* final_sigmas_type "zero" */
}

/* DPM++ (no Karras): sigmas interpolated at its integer timesteps. */
static void dpm_sigmas(sd_scheduler *s, int n)
{
    for (int j = 0; j < n; j++)
        s->sigmas[j] = sched_train_sigma(s->alphas_cumprod[(int)s->timesteps[j]]);
    s->sigmas[n] = 0.0f;  /* final_sigmas_type "zero" */
}

sd_status sched_set_timesteps(sd_scheduler *s, sd_error *err)
{
    int n = s->num_inference_steps;
    sched_timesteps_rule rule = s->info->timesteps;
    int has_sigmas = s->info->space == SCHED_SPACE_SIGMA || rule == SCHED_TIMESTEPS_DPM
                     || rule == SCHED_TIMESTEPS_KARRAS;
    /* PNDM has one more entry than N, DPM's spacing spreads N + 1 points. */
    s->timesteps = malloc((size_t)(n + 1) * sizeof *s->timesteps);
    double *scratch = malloc((size_t)(n + 1) * sizeof *scratch);
    if (!s->timesteps || !scratch) {
        free(scratch);
        return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for %d timesteps", n);
    }
    if (has_sigmas) {
        s->sigmas = malloc((size_t)(n + 1) * sizeof *s->sigmas);
        if (!s->sigmas) {
            free(scratch);
            return sd_fail(err, SD_ERR_NOMEM, "scheduler: out of memory for %d sigmas", n);
        }
    }
    s->n_timesteps = n;
    switch (rule) {
    case SCHED_TIMESTEPS_DDIM:
        ddim_timesteps(s, n, scratch);
        break;
    case SCHED_TIMESTEPS_PNDM:
        s->n_timesteps = pndm_timesteps(s, n, scratch);
        break;
    case SCHED_TIMESTEPS_SIGMA:
        sigma_timesteps(s, n, scratch);
        break;
    case SCHED_TIMESTEPS_DPM:
        dpm_timesteps(s, n, scratch);
        dpm_sigmas(s, n);
        break;
    case SCHED_TIMESTEPS_KARRAS:
        karras_schedule(s->alphas_cumprod, n, s->timesteps, s->sigmas);
        s->sigmas[n] = 0.0f;  /* final_sigmas_type "zero" */
        break;
    case SCHED_TIMESTEPS_LCM:
        lcm_timesteps(n, s->timesteps);
        break;
    }
    free(scratch);
    return SD_OK;
}
