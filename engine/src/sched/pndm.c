/* PNDM (PLMS with skip_prk_steps): linear multistep on the model outputs, formula (9) of
 * the PNDM paper for the move from t to prev_t. With v prediction the combined output is
 * turned into eps inside that move, from the sample it starts at (diffusers'
 * _get_prev_sample), so the history keeps raw model outputs. */
#include <math.h>
#include <string.h>

#include "sched/internal.h"

/* _get_prev_sample: prev = coeff_x * x - (diff * eps) / denom. */
typedef struct {
    float coeff_x, diff, denom;
    sched_alpha_x0 conv;  /* the model output as eps */
} pndm_coeffs;

static pndm_coeffs pndm_prev_sample_coeffs(const sd_scheduler *s, int t, int prev_t)
{
    float alpha_prod_t = s->alphas_cumprod[t];
    float alpha_prod_t_prev = sched_alpha_cumprod_at(s, prev_t);
    float beta_prod_t = 1.0f - alpha_prod_t;
    float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;
    pndm_coeffs c;
    c.coeff_x = sqrtf(alpha_prod_t_prev / alpha_prod_t);
    c.denom = alpha_prod_t * sqrtf(beta_prod_t_prev)
              + sqrtf(alpha_prod_t * beta_prod_t * alpha_prod_t_prev);
    c.diff = alpha_prod_t_prev - alpha_prod_t;
    c.conv = sched_alpha_x0_make(s->cfg.prediction, alpha_prod_t);
    return c;
}

void sched_pndm_step(sd_scheduler *s, int i, const float *out, const float *x,
                     const float *noise, float *prev, float *pred_original)
{
    (void)noise;
    (void)pred_original;  /* PNDM returns no x0 */
    /* step_plms; the counter counts this run's steps, whatever the img2img slice. */
    const int counter = i;
    const int ratio = SCHED_TRAIN_STEPS / s->num_inference_steps;
    int t = (int)s->timesteps[s->begin_index + i];
    int prev_t = t - ratio;
    if (counter != 1) {
        /* ets = ets[-3:] + [model_output] */
        memcpy(sched_history_push(s, SCHED_MAX_HISTORY), out, s->numel * sizeof *out);
    } else {
        /* the second step redoes the first one from its sample, with the mean output */
        prev_t = t;
        t = t + ratio;
    }
    float *const *ets = s->history;  /* oldest first */
    const int n = s->n_history;
    const float *from = x;
    if (n == 1 && counter == 0)
        memcpy(s->cur_sample, x, s->numel * sizeof *x);
    else if (n == 1 && counter == 1)
        from = s->cur_sample;
    const pndm_coeffs c = pndm_prev_sample_coeffs(s, t, prev_t);
    const float one_24th = (float)(1.0 / 24.0);

    for (size_t j = 0; j < s->numel; j++) {
        float e;  /* the linear multistep combination of the outputs */
        if (n == 1 && counter == 0)
            e = out[j];
        else if (n == 1)
            e = (out[j] + ets[0][j]) / 2.0f;
        else if (n == 2)
            e = (3.0f * ets[1][j] - ets[0][j]) / 2.0f;
        else if (n == 3)
            e = (23.0f * ets[2][j] - 16.0f * ets[1][j] + 5.0f * ets[0][j]) / 12.0f;
        else
            e = one_24th * (55.0f * ets[3][j] - 59.0f * ets[2][j] + 37.0f * ets[1][j]
                            - 9.0f * ets[0][j]);
        e = sched_alpha_eps_at(&c.conv, e, from[j]);
        prev[j] = c.coeff_x * from[j] - (c.diff * e) / c.denom;
    }
}
