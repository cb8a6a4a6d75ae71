/* DDIM (eta 0): a deterministic step on alphas_cumprod, epsilon or v prediction.
 * Every 0-d tensor of the reference is a float32 here, computed in its order. */
#include <math.h>

#include "sched/internal.h"

void sched_ddim_step(sd_scheduler *s, int i, const float *out, const float *x,
                     const float *noise, float *prev, float *pred_original)
{
    (void)noise;  /* eta 0: no variance noise */
    int t = (int)s->timesteps[s->begin_index + i];
    /* prev_timestep = timestep - 1000 // N, whatever the spacing (as diffusers) */
    int prev_t = t - SCHED_TRAIN_STEPS / s->num_inference_steps;
    float alpha_prod_t = s->alphas_cumprod[t];
    float alpha_prod_t_prev = sched_alpha_cumprod_at(s, prev_t);
    const sched_alpha_x0 c = sched_alpha_x0_make(s->cfg.prediction, alpha_prod_t);
    float sqrt_alpha_prev = sqrtf(alpha_prod_t_prev);
    /* eta 0: std_dev_t = 0, so (1 - alpha_prod_t_prev - std_dev_t ** 2) ** 0.5 */
    float direction_coeff = sqrtf(1.0f - alpha_prod_t_prev - 0.0f);
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = sched_alpha_x0_at(&c, out[j], x[j]);
        float direction = direction_coeff * sched_alpha_eps_at(&c, out[j], x[j]);
        if (pred_original)
            pred_original[j] = x0;
        prev[j] = sqrt_alpha_prev * x0 + direction;
    }
}
