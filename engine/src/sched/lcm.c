/* LCM (latent consistency model) multistep sampling: denoise with the consistency
 * boundary scalings, then re-noise to the next timestep with fresh noise. */
#include <math.h>
#include <stdint.h>

#include "sched/internal.h"

/* LCMScheduler defaults */
static const float sigma_data = 0.5f;
static const int64_t timestep_scaling = 10;

void sched_lcm_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *denoised)
{
    int idx = s->begin_index + i;
    int t = (int)s->timesteps[idx];
    int prev_t = idx + 1 < s->n_timesteps ? (int)s->timesteps[idx + 1] : t;
    float alpha_prod_t = s->alphas_cumprod[t];
    float alpha_prod_t_prev = sched_alpha_cumprod_at(s, prev_t);
    float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;

    /* get_scalings_for_boundary_condition_discrete: the timestep is an int64 tensor, so
     * scaled ** 2 is exact and becomes float32 when sigma_data ** 2 is added. */
    int64_t scaled = (int64_t)t * timestep_scaling;
    float denom = (float)(scaled * scaled) + sigma_data * sigma_data;
    float c_skip = sigma_data * sigma_data / denom;
    float c_out = (float)scaled / sqrtf(denom);

    /* eps: (sample - beta_prod_t.sqrt() * out) / alpha_prod_t.sqrt();
     * v: alpha_prod_t.sqrt() * sample - beta_prod_t.sqrt() * out */
    const sched_alpha_x0 conv = sched_alpha_x0_make(s->cfg.prediction, alpha_prod_t);
    float sqrt_alpha_prev = sqrtf(alpha_prod_t_prev), sqrt_beta_prev = sqrtf(beta_prod_t_prev);
    /* no noise on the final timestep of the schedule */
    int last = idx == s->num_inference_steps - 1;
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = sched_alpha_x0_at(&conv, out[j], x[j]);
        float d = c_out * x0 + c_skip * x[j];
        if (denoised)
            denoised[j] = d;
        prev[j] = last ? d : sqrt_alpha_prev * d + sqrt_beta_prev * noise[j];
    }
}
