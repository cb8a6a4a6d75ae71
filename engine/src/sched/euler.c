/* Euler and Euler ancestral (k-diffusion samplers on the discrete sigma table). */
#include <math.h>

#include "sched/internal.h"

void sched_euler_step(sd_scheduler *s, int i, const float *eps, const float *x, float *prev,
                      float *pred_original)
{
    int idx = s->begin_index + i;
    float sigma = s->sigmas[idx];
    /* s_churn 0: gamma 0, sigma_hat = sigma * (gamma + 1) = sigma; the noise diffusers
     * draws is unused. */
    float sigma_hat = sigma * (0.0f + 1.0f);
    float dt = s->sigmas[idx + 1] - sigma_hat;
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = x[j] - sigma_hat * eps[j];
        float derivative = (x[j] - x0) / sigma_hat;
        if (pred_original)
            pred_original[j] = x0;
        prev[j] = x[j] + derivative * dt;
    }
}

void sched_euler_ancestral_step(sd_scheduler *s, int i, const float *eps, const float *x,
                                const float *noise, float *prev, float *pred_original)
{
    int idx = s->begin_index + i;
    float sigma_from = s->sigmas[idx];
    float sigma_to = s->sigmas[idx + 1];
    float from2 = sigma_from * sigma_from, to2 = sigma_to * sigma_to;
    float sigma_up = sqrtf(to2 * (from2 - to2) / from2);
    float sigma_down = sqrtf(to2 - sigma_up * sigma_up);
    float dt = sigma_down - sigma_from;
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = x[j] - sigma_from * eps[j];
        float derivative = (x[j] - x0) / sigma_from;
        if (pred_original)
            pred_original[j] = x0;
        prev[j] = (x[j] + derivative * dt) + noise[j] * sigma_up;
    }
}
