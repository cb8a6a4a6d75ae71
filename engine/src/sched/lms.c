/* LMS: linear multistep (order 4) on the derivatives d = (x - x0) / sigma (x0 from eps or
 * v), with the
 * coefficients integrated over [sigma_t, sigma_t+1] as scipy.integrate.quad does it. */
#include <math.h>
#include <string.h>

#include "sched/internal.h"

/* LMSDiscreteScheduler default order */
#define LMS_ORDER 4

/* The Lagrange basis polynomial of the reference's lms_derivative, evaluated as torch
 * does: tau is a Python float meeting float32 0-d sigmas, so every factor is float32. */
static double lagrange_basis(const float *sigmas, int order, int t, int current, double tau)
{
    float tau_f = (float)tau;
    float prod = 1.0f;
    for (int k = 0; k < order; k++) {
        if (k == current)
            continue;
        prod *= (tau_f - sigmas[t - k]) / (sigmas[t - current] - sigmas[t - k]);
    }
    return (double)prod;
}

/* QUADPACK's 21-point Gauss-Kronrod rule (qk21), what quad's QAGS applies first. The
 * basis is a cubic at most, which the rule integrates exactly, and the error estimate
 * from the float32 evaluation noise stays far below epsrel 1e-4, so QAGS returns this
 * first estimate without subdividing. */
static double gauss_kronrod_21(const float *sigmas, int order, int t, int current, double a,
                               double b)
{
    static const double xgk[11] = {
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
        0.000000000000000000000000000000000,
    };
    static const double wgk[11] = {
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    };
    double centr = 0.5 * (a + b);
    double hlgth = 0.5 * (b - a);
    double resk = wgk[10] * lagrange_basis(sigmas, order, t, current, centr);
    for (int j = 0; j < 10; j++) {
        double absc = hlgth * xgk[j];
        double f1 = lagrange_basis(sigmas, order, t, current, centr - absc);
        double f2 = lagrange_basis(sigmas, order, t, current, centr + absc);
        resk += wgk[j] * (f1 + f2);
    }
    return resk * hlgth;
}

void sched_lms_step(sd_scheduler *s, int i, const float *out, const float *x,
                    const float *noise, float *prev, float *pred_original)
{
    (void)noise;
    int idx = s->begin_index + i;
    float sigma = s->sigmas[idx];
    float *derivative = sched_history_push(s, LMS_ORDER);
    const sched_sigma_x0 c = sched_sigma_x0_make(s->cfg.prediction, sigma);
    for (size_t j = 0; j < s->numel; j++) {
        float x0 = sched_sigma_x0_at(&c, out[j], x[j]);
        derivative[j] = (x[j] - x0) / sigma;
        if (pred_original)
            pred_original[j] = x0;
    }

    /* order = min(step_index + 1, 4) on the absolute index: in an img2img slice the
     * polynomial reaches back into sigmas before the first step, while only the
     * derivatives of this run exist (zip stops at the shorter list). */
    int order = idx + 1 < LMS_ORDER ? idx + 1 : LMS_ORDER;
    int terms = order < s->n_history ? order : s->n_history;
    float coeff[LMS_ORDER];
    for (int c = 0; c < terms; c++)
        coeff[c] = (float)gauss_kronrod_21(s->sigmas, order, idx, c, s->sigmas[idx],
                                           s->sigmas[idx + 1]);
    /* sample + sum(coeff * derivative for newest .. oldest) */
    const int newest = s->n_history - 1;
    for (size_t j = 0; j < s->numel; j++) {
        float sum = coeff[0] * s->history[newest][j];
        for (int c = 1; c < terms; c++)
            sum += coeff[c] * s->history[newest - c][j];
        prev[j] = x[j] + sum;
    }
}
