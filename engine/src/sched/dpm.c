/* DPM-Solver++ (2M): multistep second order in log-SNR, data (x0) prediction (from eps or
 * v), midpoint
 * solver type, first order on the first step of a run and on the final step. */
#include <math.h>

#include "sched/internal.h"

/* DPMSolverMultistepScheduler solver_order */
#define DPM_SOLVER_ORDER 2

void sched_dpm_alpha_sigma(float sigma, float *alpha_t, float *sigma_t)
{
    *alpha_t = 1.0f / sqrtf(sigma * sigma + 1.0f);
    *sigma_t = sigma * *alpha_t;
}

/* lambda = log(alpha_t) - log(sigma_t): +inf at the final sigma 0, which makes the last
 * update return x0 exactly (exp(-h) = 0, sigma_t / sigma_s = 0). */
static float dpm_lambda(float alpha_t, float sigma_t)
{
    return logf(alpha_t) - logf(sigma_t);
}

void sched_dpm_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *pred_original)
{
    (void)noise;
    (void)pred_original;  /* DPM++ returns no x0 */
    int idx = s->begin_index + i;
    int lower_order_final = idx == s->n_timesteps - 1;  /* final_sigmas_type "zero" */
    int first_order = s->lower_order_nums < 1 || lower_order_final;

    /* convert_model_output: eps: x0 = (sample - sigma_t * eps) / alpha_t;
     * v: x0 = alpha_t * sample - sigma_t * v */
    float alpha_s0, sigma_s0;
    sched_dpm_alpha_sigma(s->sigmas[idx], &alpha_s0, &sigma_s0);
    float *m0 = sched_history_push(s, DPM_SOLVER_ORDER);
    if (s->cfg.prediction == SD_PREDICTION_V)
        for (size_t j = 0; j < s->numel; j++)
            m0[j] = alpha_s0 * x[j] - sigma_s0 * out[j];
    else
        for (size_t j = 0; j < s->numel; j++)
            m0[j] = (x[j] - sigma_s0 * out[j]) / alpha_s0;

    float alpha_t, sigma_t;
    sched_dpm_alpha_sigma(s->sigmas[idx + 1], &alpha_t, &sigma_t);
    float lambda_t = dpm_lambda(alpha_t, sigma_t);
    float lambda_s0 = dpm_lambda(alpha_s0, sigma_s0);
    float h = lambda_t - lambda_s0;
    float sample_coeff = sigma_t / sigma_s0;
    float d0_coeff = alpha_t * (expf(-h) - 1.0f);

    if (first_order) {
        for (size_t j = 0; j < s->numel; j++)
            prev[j] = sample_coeff * x[j] - d0_coeff * m0[j];
    } else {
        float alpha_s1, sigma_s1;
        sched_dpm_alpha_sigma(s->sigmas[idx - 1], &alpha_s1, &sigma_s1);
        float lambda_s1 = dpm_lambda(alpha_s1, sigma_s1);
        float h_0 = lambda_s0 - lambda_s1;
        float r0 = h_0 / h;
        float inv_r0 = 1.0f / r0;
        float d1_coeff = 0.5f * d0_coeff;
        const float *m1 = s->history[0];
        for (size_t j = 0; j < s->numel; j++) {
            float d1 = inv_r0 * (m0[j] - m1[j]);
            prev[j] = sample_coeff * x[j] - d0_coeff * m0[j] - d1_coeff * d1;
        }
    }
    if (s->lower_order_nums < DPM_SOLVER_ORDER)
        s->lower_order_nums++;
}
