/* Euler and Euler ancestral (k-diffusion samplers on the discrete sigma table), epsilon or
 * v prediction (x0 through c_out / c_skip). */
#include <math.h>

#include "sched/internal.h"

void sched_euler_step(sd_scheduler *s, int i, const float *out, const float *x,
                      const float *noise, float *prev, float *pred_original)
{
    (void)noise;  /* s_churn 0: gamma 0, no noise drawn */
    int idx = s->begin_index + i;
    float sigma = s->sigmas[idx];
    /* sigma_hat = sigma * (gamma + 1) = sigma */
    float sigma_hat = sigma * (0.0f + 1.0f);
    float dt = s->sigmas[idx + 1] - sigma_hat;
    /* eps: sample - sigma_hat * model_output; v: with sigma (equal here) */
    const sched_sigma_x0 c = sched_sigma_x0_make(s->cfg.prediction, sigma_hat);
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = sched_sigma_x0_at(&c, out[j], x[j]);
        float derivative = (x[j] - x0) / sigma_hat;
        if (pred_original)
            pred_original[j] = x0;
        prev[j] = x[j] + derivative * dt;
    }
}

void sched_euler_ancestral_step(sd_scheduler *s, int i, const float *out, const float *x,
                                const float *noise, float *prev, float *pred_original)
{
    int idx = s->begin_index + i;
    float sigma_from = s->sigmas[idx];
    float sigma_to = s->sigmas[idx + 1];
    float from2 = sigma_from * sigma_from, to2 = sigma_to * sigma_to;
    float sigma_up = sqrtf(to2 * (from2 - to2) / from2);
    float sigma_down = sqrtf(to2 - sigma_up * sigma_up);
    float dt = sigma_down - sigma_from;
    const sched_sigma_x0 c = sched_sigma_x0_make(s->cfg.prediction, sigma_from);
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = sched_sigma_x0_at(&c, out[j], x[j]);
        float derivative = (x[j] - x0) / sigma_from;
        if (pred_original)
            pred_original[j] = x0;
        prev[j] = (x[j] + derivative * dt) + noise[j] * sigma_up;
    }
}
