/* Scheduler behaviour the golden runs do not pin down: the img2img step count from
 * strength (diffusers' float truncation), argument checking, the noise-draw pattern,
 * in-place steps with multistep state, the final DPM++ step onto sigma 0, every sampler
 * under every timestep spacing against diffusers' formulas, and v prediction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sched/scheduler.h"

#define NUMEL 64

static void fill(float *x, size_t n, float scale, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = scale * ((float)(seed >> 8) / (float)(1u << 24) - 0.5f);
    }
}

static sd_scheduler *make(sd_sampler sampler, int steps, double strength)
{
    sd_scheduler *s = NULL;
    sd_error err = {0};
    sd_status st = sd_scheduler_create(sampler, NULL, steps, strength, NUMEL, &s, &err);
    CHECK(st == SD_OK, "%s %d steps strength %g: %s", sd_sampler_name(sampler), steps,
          strength, err.message);
    return s;
}

static void test_strength_slice(void)
{
    /* init = int(12 * 0.6) = int(7.1999...) = 7: five leading steps skipped. */
    sd_scheduler *s = make(SD_SAMPLER_DDIM, 12, 0.6);
    if (s) {
        CHECK(sd_scheduler_num_steps(s) == 7, "12 x 0.6 runs 7 steps, got %d",
              sd_scheduler_num_steps(s));
        /* leading spacing, 1000 // 12 = 83: t = 6 * 83 + 1 */
        CHECK(sd_scheduler_timestep(s, 0) == 499.0f, "first timestep %g",
              sd_scheduler_timestep(s, 0));
        CHECK(sd_scheduler_timestep(s, 6) == 1.0f, "last timestep %g",
              sd_scheduler_timestep(s, 6));
    }
    sd_scheduler_free(s);

    s = make(SD_SAMPLER_EULER, 20, 1.0);
    if (s)
        CHECK(sd_scheduler_num_steps(s) == 20, "strength 1 runs every step");
    sd_scheduler_free(s);

    /* Strength 0 leaves nothing to run... */
    sd_scheduler *none = NULL;
    sd_error err = {0};
    CHECK(sd_scheduler_create(SD_SAMPLER_DDIM, NULL, 8, 0.0, NUMEL, &none, &err)
              == SD_ERR_INVALID_ARG && none == NULL && err.message[0],
          "strength 0 is refused with a message");
    /* ...except for PNDM, whose repeated entry leaves the last timestep in the slice. */
    s = make(SD_SAMPLER_PNDM, 8, 0.0);
    if (s)
        CHECK(sd_scheduler_num_steps(s) == 1 && sd_scheduler_timestep(s, 0) == 1.0f,
              "PNDM strength 0: one step at t=1");
    sd_scheduler_free(s);

    s = make(SD_SAMPLER_PNDM, 1, 1.0);
    if (s)
        CHECK(sd_scheduler_num_steps(s) == 1, "PNDM with one step has one timestep");
    sd_scheduler_free(s);
}

static void test_arguments(void)
{
    sd_scheduler *s = NULL;
    sd_error err = {0};
    CHECK(sd_scheduler_create(SD_SAMPLER_LCM, NULL, 51, 1.0, NUMEL, &s, &err) == SD_ERR_INVALID_ARG,
          "LCM beyond its 50 distillation steps is refused");
    CHECK(sd_scheduler_create(SD_SAMPLER_DDIM, NULL, 0, 1.0, NUMEL, &s, &err) == SD_ERR_INVALID_ARG,
          "0 steps refused");
    CHECK(sd_scheduler_create(SD_SAMPLER_DDIM, NULL, 8, 1.5, NUMEL, &s, &err) == SD_ERR_INVALID_ARG,
          "strength above 1 refused");
    CHECK(sd_scheduler_create(SD_SAMPLER_COUNT, NULL, 8, 1.0, NUMEL, &s, &err) == SD_ERR_INVALID_ARG,
          "unknown sampler refused");

    float x[NUMEL], eps[NUMEL], out[NUMEL];
    fill(x, NUMEL, 2.0f, 1);
    fill(eps, NUMEL, 2.0f, 2);
    s = make(SD_SAMPLER_EULER_ANCESTRAL, 8, 1.0);
    if (!s)
        return;
    CHECK(sd_scheduler_step(s, 1, eps, x, eps, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "a step out of order is refused");
    CHECK(sd_scheduler_step(s, 0, eps, x, NULL, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "a step that draws noise refuses a NULL noise");
    CHECK(sd_scheduler_add_noise(s, 8, x, eps, out, &err) == SD_ERR_INVALID_ARG,
          "add_noise past the last step refused");
    CHECK(sd_scheduler_scale_model_input(s, -1, x, out, &err) == SD_ERR_INVALID_ARG,
          "scale_model_input before step 0 refused");
    sd_scheduler_free(s);
}

static void test_noise_draws(void)
{
    /* diffusers 0.37: Euler (s_churn 0) draws nothing, Euler ancestral draws every step
     * (also the last, where sigma_up is 0), LCM every step but its last. */
    sd_scheduler *euler = make(SD_SAMPLER_EULER, 8, 0.75);
    sd_scheduler *ancestral = make(SD_SAMPLER_EULER_ANCESTRAL, 8, 0.75);
    sd_scheduler *lcm = make(SD_SAMPLER_LCM, 8, 0.75);
    sd_scheduler *ddim = make(SD_SAMPLER_DDIM, 8, 0.75);
    if (euler && ancestral && lcm && ddim) {
        int e = 0, a = 0, l = 0, d = 0;
        for (int i = 0; i < 6; i++) {
            e += sd_scheduler_needs_noise(euler, i);
            a += sd_scheduler_needs_noise(ancestral, i);
            l += sd_scheduler_needs_noise(lcm, i);
            d += sd_scheduler_needs_noise(ddim, i);
        }
        CHECK(e == 0 && a == 6 && l == 5 && d == 0,
              "draws over 6 steps: euler %d (0), euler_a %d (6), lcm %d (5), ddim %d (0)", e, a,
              l, d);
        CHECK(!sd_scheduler_needs_noise(lcm, 5), "LCM draws none on its last step");
    }
    sd_scheduler_free(euler);
    sd_scheduler_free(ancestral);
    sd_scheduler_free(lcm);
    sd_scheduler_free(ddim);
}

/* The same run stepped in place and into separate buffers must agree bit for bit, for
 * every sampler (PNDM, LMS and DPM++ keep copies of past tensors). */
static void test_in_place(void)
{
    for (int sampler = 0; sampler < SD_SAMPLER_COUNT; sampler++) {
        sd_scheduler *a = make((sd_sampler)sampler, 6, 1.0);
        sd_scheduler *b = make((sd_sampler)sampler, 6, 1.0);
        if (!a || !b) {
            sd_scheduler_free(a);
            sd_scheduler_free(b);
            continue;
        }
        float xa[NUMEL], xb[NUMEL], prev[NUMEL], eps[NUMEL], noise[NUMEL];
        fill(xa, NUMEL, 8.0f, 3);
        memcpy(xb, xa, sizeof xa);
        int same = 1, ok = 1;
        for (int i = 0; i < sd_scheduler_num_steps(a) && ok; i++) {
            fill(eps, NUMEL, 2.0f, 10u + (unsigned)i);
            fill(noise, NUMEL, 2.0f, 100u + (unsigned)i);
            ok = sd_scheduler_step(a, i, eps, xa, noise, xa, NULL, NULL) == SD_OK
                 && sd_scheduler_step(b, i, eps, xb, noise, prev, NULL, NULL) == SD_OK;
            memcpy(xb, prev, sizeof prev);
            same = same && memcmp(xa, xb, sizeof xa) == 0;
        }
        CHECK(ok && same, "%s: in-place steps equal out-of-place ones",
              sd_sampler_name((sd_sampler)sampler));
        sd_scheduler_free(a);
        sd_scheduler_free(b);
    }
}

/* LMS's first step integrates the constant basis polynomial: it is the Euler step. */
static void test_lms_first_step_is_euler(void)
{
    sd_scheduler *lms = make(SD_SAMPLER_LMS, 8, 1.0);
    sd_scheduler *euler = make(SD_SAMPLER_EULER, 8, 1.0);
    if (lms && euler) {
        float x[NUMEL], eps[NUMEL], noise[NUMEL], a[NUMEL], b[NUMEL];
        fill(x, NUMEL, 8.0f, 5);
        fill(eps, NUMEL, 2.0f, 6);
        fill(noise, NUMEL, 2.0f, 7);
        sd_scheduler_step(lms, 0, eps, x, NULL, a, NULL, NULL);
        sd_scheduler_step(euler, 0, eps, x, noise, b, NULL, NULL);
        CHECK(memcmp(a, b, sizeof a) == 0, "LMS step 0 equals Euler step 0");
    }
    sd_scheduler_free(lms);
    sd_scheduler_free(euler);
}

/* DPM++'s last step goes to sigma 0 through log(0) = -inf: it must land on the data
 * prediction x0 = (x - sigma_t eps) / alpha_t, finite. */
static void test_dpm_final_step(void)
{
    for (int karras = 0; karras < 2; karras++) {
        sd_sampler sampler = karras ? SD_SAMPLER_DPMPP_2M_KARRAS : SD_SAMPLER_DPMPP_2M;
        sd_scheduler *s = make(sampler, 4, 1.0);
        if (!s)
            continue;
        float x[NUMEL], eps[NUMEL], prev[NUMEL];
        fill(x, NUMEL, 4.0f, 8);
        int n = sd_scheduler_num_steps(s);
        for (int i = 0; i < n - 1; i++) {
            fill(eps, NUMEL, 2.0f, 20u + (unsigned)i);
            sd_scheduler_step(s, i, eps, x, NULL, x, NULL, NULL);
        }
        sd_scheduler_tables tab;
        sd_scheduler_get_tables(s, &tab);
        double sigma = tab.sigmas[n - 1];
        double alpha_t = 1.0 / sqrt(sigma * sigma + 1.0), sigma_t = sigma * alpha_t;
        fill(eps, NUMEL, 2.0f, 99);
        sd_scheduler_step(s, n - 1, eps, x, NULL, prev, NULL, NULL);
        double max_rel = 0.0;
        int finite = 1;
        for (int j = 0; j < NUMEL; j++) {
            double x0 = ((double)x[j] - sigma_t * eps[j]) / alpha_t;
            finite = finite && isfinite(prev[j]);
            max_rel = fmax(max_rel, fabs(prev[j] - x0) / fmax(fabs(x0), 1.0));
        }
        CHECK(finite && max_rel < 1e-5, "%s final step lands on x0 (max rel err %.2e)",
              sd_sampler_name(sampler), max_rel);
        CHECK(tab.sigmas[tab.n_timesteps] == 0.0f, "%s sigma table ends with 0",
              sd_sampler_name(sampler));
        sd_scheduler_free(s);
    }
}


/* ---- timestep spacing: every sampler x every spacing against diffusers' formulas ---- */

static sd_scheduler *make_cfg(sd_sampler sampler, sd_spacing spacing, int offset,
                              sd_prediction prediction, int steps, double strength)
{
    sd_sched_config cfg = {spacing, offset, prediction};
    sd_scheduler *s = NULL;
    sd_error err = {0};
    sd_status st = sd_scheduler_create(sampler, &cfg, steps, strength, NUMEL, &s, &err);
    CHECK(st == SD_OK, "%s %s offset %d %d steps: %s", sd_sampler_name(sampler),
          sd_spacing_name(spacing), offset, steps, err.message);
    return s;
}

/* Python's round() and numpy's .round(): halves go to the even neighbour. */
static double round_half_even(double v)
{
    double f = floor(v), d = v - f;
    if (d != 0.5)
        return d < 0.5 ? f : f + 1.0;
    return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

/* The timesteps diffusers 0.37's set_timesteps(n) gives, first (noisiest) first; returns
 * their count. Written from the sources, independently of the engine's spacing.c:
 *   DDIMScheduler / PNDMScheduler (scheduling_ddim.py, scheduling_pndm.py):
 *     leading  (np.arange(0, n) * (1000 // n)).round()[::-1] + steps_offset
 *     trailing np.round(np.arange(1000, 0, -1000 / n)) - 1
 *     linspace np.linspace(0, 999, n).round()[::-1]
 *     PNDM (skip_prk_steps) repeats the second entry: n + 1 of them;
 *   Euler / Euler ancestral / LMS (scheduling_euler_discrete.py, ...): the same, but
 *     linspace is np.linspace(0, 999, n, dtype=float32), not rounded;
 *   DPMSolverMultistep (scheduling_dpmsolver_multistep.py): leading and linspace spread
 *     n + 1 points and drop the last: (np.arange(0, n + 1) * (1000 // (n + 1))).round()
 *     [::-1][:-1] + steps_offset, np.linspace(0, 999, n + 1).round()[::-1][:-1];
 *     trailing as above. */
static int expected_timesteps(const sd_sampler_info *info, sd_spacing spacing, int offset,
                              int n, double *t)
{
    int dpm = info->timesteps == SCHED_TIMESTEPS_DPM && spacing != SD_SPACING_TRAILING;
    for (int k = 0; k < n; k++) {
        if (spacing == SD_SPACING_LEADING)
            t[k] = dpm ? (double)((n - k) * (1000 / (n + 1)) + offset)
                       : (double)((n - 1 - k) * (1000 / n) + offset);
        else if (spacing == SD_SPACING_TRAILING)
            t[k] = round_half_even(1000.0 - (double)k * (1000.0 / n)) - 1.0;
        else if (dpm)
            t[k] = round_half_even((double)(n - k) * (999.0 / n));
        else {
            double y = n == 1 ? 0.0 : k == 0 ? 999.0 : (double)(n - 1 - k) * (999.0 / (n - 1));
            t[k] = info->space == SCHED_SPACE_SIGMA ? (double)(float)y : round_half_even(y);
        }
    }
    if (info->timesteps == SCHED_TIMESTEPS_PNDM && n >= 2) {
        for (int k = n; k > 1; k--)
            t[k] = t[k - 1];
        return n + 1;
    }
    return n;
}

/* np.interp(t, arange(1000), sigmas) on the float32 training sigmas, in double. */
static double expected_sigma(const float *alphas_cumprod, double t)
{
    int j = (int)floor(t);
    float lo = sqrtf((1.0f - alphas_cumprod[j]) / alphas_cumprod[j]);
    if (j >= 999 || t == (double)j)
        return lo;
    float hi = sqrtf((1.0f - alphas_cumprod[j + 1]) / alphas_cumprod[j + 1]);
    return ((double)hi - (double)lo) * (t - j) + (double)lo;
}

static void check_spaced(sd_sampler sampler, sd_spacing spacing, int offset, int n)
{
    const sd_sampler_info *info = sd_sampler_info_of(sampler);
    sd_scheduler *s = make_cfg(sampler, spacing, offset, SD_PREDICTION_EPS, n, 1.0);
    if (!s)
        return;
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    double want[1001];
    int count;
    if (info->follows_spacing) {
        count = expected_timesteps(info, spacing, offset, n, want);
    } else {
        /* Karras ramp and LCM: the same timesteps whatever the spacing and offset */
        sd_scheduler *ref = make_cfg(sampler, SD_SPACING_LEADING, SCHED_STEPS_OFFSET,
                                     SD_PREDICTION_EPS, n, 1.0);
        sd_scheduler_tables rt;
        if (!ref) {
            sd_scheduler_free(s);
            return;
        }
        sd_scheduler_get_tables(ref, &rt);
        count = rt.n_timesteps;
        for (int k = 0; k < count; k++)
            want[k] = rt.timesteps[k];
        sd_scheduler_free(ref);
    }
    int same = tab.n_timesteps == count, first_diff = -1;
    for (int k = 0; same && k < count; k++)
        if ((double)tab.timesteps[k] != want[k]) {
            same = 0;
            first_diff = k;
        }
    CHECK(same, "%s %s offset %d, %d steps: %d timesteps (want %d)%s%d: %g, want %g",
          info->name, sd_spacing_name(spacing), offset, n, tab.n_timesteps, count,
          first_diff >= 0 ? ", first difference at " : "", first_diff,
          first_diff >= 0 ? (double)tab.timesteps[first_diff] : 0.0,
          first_diff >= 0 ? want[first_diff] : 0.0);
    if (same && info->timesteps == SCHED_TIMESTEPS_SIGMA) {
        double max_rel = 0.0, max_sigma = 0.0;
        for (int k = 0; k < count; k++) {
            double e = expected_sigma(tab.alphas_cumprod, want[k]);
            max_rel = fmax(max_rel, fabs(tab.sigmas[k] - e) / e);
            max_sigma = fmax(max_sigma, tab.sigmas[k]);
        }
        CHECK(max_rel < 1e-6 && tab.sigmas[count] == 0.0f,
              "%s %s %d steps: sigmas interpolated at the timesteps (max rel err %.2e), then 0",
              info->name, sd_spacing_name(spacing), n, max_rel);
        /* init_noise_sigma: sigmas.max() for linspace / trailing, else (max ** 2 + 1) ** 0.5 */
        double init = spacing == SD_SPACING_LEADING ? sqrt(max_sigma * max_sigma + 1.0) : max_sigma;
        CHECK(fabs(sd_scheduler_init_noise_sigma(s) - init) <= 1e-6 * init,
              "%s %s %d steps: init_noise_sigma %g, want %g", info->name,
              sd_spacing_name(spacing), n, (double)sd_scheduler_init_noise_sigma(s), init);
    } else if (same) {
        CHECK(sd_scheduler_init_noise_sigma(s) == 1.0f, "%s: init_noise_sigma 1", info->name);
    }
    sd_scheduler_free(s);
}

static void test_spacing_every_sampler(void)
{
    static const int steps[] = {1, 2, 3, 4, 7, 8, 10, 16, 20, 25, 30, 50};
    for (int sampler = 0; sampler < SD_SAMPLER_COUNT; sampler++)
        for (int sp = 0; sp < SD_SPACING_COUNT; sp++)
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
                for (int offset = 0; offset <= 1; offset++)
                    check_spaced((sd_sampler)sampler, (sd_spacing)sp, offset, steps[k]);
}

/* Figures stated by the SD 2.x fixture README (golden-sd2) and the SD-Turbo pipeline. */
static void test_spacing_known_values(void)
{
    static const float trailing3[] = {999.0f, 666.0f, 332.0f};
    sd_scheduler *s = make_cfg(SD_SAMPLER_EULER_ANCESTRAL, SD_SPACING_TRAILING, 1,
                               SD_PREDICTION_EPS, 3, 1.0);
    if (s) {
        int ok = sd_scheduler_num_steps(s) == 3;
        for (int i = 0; ok && i < 3; i++)
            ok = sd_scheduler_timestep(s, i) == trailing3[i];
        CHECK(ok, "trailing, 3 steps: 999, 666, 332");
        /* sigma(999) of the SD schedule, 14.6146 */
        CHECK(fabsf(sd_scheduler_init_noise_sigma(s) - 14.6146f) < 1e-3f,
              "trailing init_noise_sigma = sigma_max = 14.6146, got %g",
              (double)sd_scheduler_init_noise_sigma(s));
    }
    sd_scheduler_free(s);
    s = make_cfg(SD_SAMPLER_EULER, SD_SPACING_LEADING, 1, SD_PREDICTION_EPS, 8, 1.0);
    if (s)
        CHECK(fabsf(sd_scheduler_init_noise_sigma(s) - 7.4394f) < 1e-3f && sd_scheduler_timestep(s, 0) == 876.0f,
              "leading, 8 steps: t0 = 876, init_noise_sigma = sqrt(sigma(876)^2 + 1) = 7.4394");
    sd_scheduler_free(s);

    /* SD-Turbo img2img: 2 steps x strength 0.5 run int(1.0) = 1 step, at t = 499 */
    s = make_cfg(SD_SAMPLER_EULER_ANCESTRAL, SD_SPACING_TRAILING, 1, SD_PREDICTION_EPS, 2, 0.5);
    if (s)
        CHECK(sd_scheduler_num_steps(s) == 1 && sd_scheduler_timestep(s, 0) == 499.0f,
              "turbo img2img 2 x 0.5: one step at t = 499");
    sd_scheduler_free(s);
    s = make_cfg(SD_SAMPLER_EULER_ANCESTRAL, SD_SPACING_TRAILING, 1, SD_PREDICTION_EPS, 4, 0.5);
    if (s)
        CHECK(sd_scheduler_num_steps(s) == 2 && sd_scheduler_timestep(s, 0) == 499.0f
                  && sd_scheduler_timestep(s, 1) == 249.0f,
              "trailing 4 x 0.5: steps at t = 499, 249");
    sd_scheduler_free(s);

    /* steps x strength < 1: diffusers' get_timesteps leaves an empty slice (no step, no
     * image); refused with what would work. */
    sd_scheduler *none = NULL;
    sd_error err = {0};
    sd_sched_config cfg = {SD_SPACING_TRAILING, 1, SD_PREDICTION_EPS};
    CHECK(sd_scheduler_create(SD_SAMPLER_EULER_ANCESTRAL, &cfg, 3, 0.3, NUMEL, &none, &err)
              == SD_ERR_INVALID_ARG && !none && strstr(err.message, "at least 4 steps")
              && strstr(err.message, "1/3"),
          "3 steps x 0.3 refused, naming 4 steps or strength 1/3: %s", err.message);
    cfg.prediction = SD_PREDICTION_AUTO;
    CHECK(sd_scheduler_create(SD_SAMPLER_DDIM, &cfg, 3, 1.0, NUMEL, &none, &err)
              == SD_ERR_INVALID_ARG, "an unresolved prediction type is refused");
    cfg.prediction = SD_PREDICTION_EPS;
    cfg.spacing = SD_SPACING_COUNT;
    CHECK(sd_scheduler_create(SD_SAMPLER_DDIM, &cfg, 3, 1.0, NUMEL, &none, &err)
              == SD_ERR_INVALID_ARG, "an unknown spacing is refused");
}

/* ---- v prediction: the same denoiser given as eps and as v must step alike ---- */

/* The noise level of loop step i as (a, b) with x = a x0 + b eps in the sampler's own
 * coordinates scaled to unit variance: alpha samplers a = sqrt(abar_t), b = sqrt(1 - abar_t);
 * sigma samplers and DPM++ a = 1 / sqrt(sigma^2 + 1), b = sigma a (Euler's x_sigma is
 * x / a). */
static void level(const sd_scheduler *s, int i, double *a, double *b, double *sigma)
{
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    int idx = tab.begin_index + i;
    if (tab.sigmas) {
        *sigma = tab.sigmas[idx];
        *a = 1.0 / sqrt(*sigma * *sigma + 1.0);
        *b = *sigma * *a;
    } else {
        double abar = tab.alphas_cumprod[(int)tab.timesteps[idx]];
        *a = sqrt(abar);
        *b = sqrt(1.0 - abar);
        *sigma = 0.0;
    }
}

/* One step of a run fed as eps (s_eps) and as v (s_v) with v = a eps - b x0, x0 taken
 * from the v run's own sample. Returns the max relative difference of the two samples. */
static double step_both(sd_scheduler *s_eps, sd_scheduler *s_v, int i, float *x_eps,
                        float *x_v, float *pred_eps, float *pred_v)
{
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s_v, &tab);
    const sd_sampler_info *info = sd_sampler_info_of(tab.sampler);
    double a, b, sigma;
    level(s_v, i, &a, &b, &sigma);
    float eps[NUMEL], v[NUMEL], noise[NUMEL];
    fill(eps, NUMEL, 2.0f, 40u + (unsigned)i);
    fill(noise, NUMEL, 2.0f, 60u + (unsigned)i);
    for (int j = 0; j < NUMEL; j++) {
        /* sigma samplers: x_sigma = x0 + sigma eps; the others: x = a x0 + b eps */
        double x0 = info->space == SCHED_SPACE_SIGMA ? x_v[j] - sigma * eps[j]
                                                      : (x_v[j] - b * eps[j]) / a;
        v[j] = (float)(a * eps[j] - b * x0);
    }
    sd_scheduler_step(s_eps, i, eps, x_eps, noise, x_eps, pred_eps, NULL);
    sd_scheduler_step(s_v, i, v, x_v, noise, x_v, pred_v, NULL);
    double max_rel = 0.0;
    for (int j = 0; j < NUMEL; j++)
        max_rel = fmax(max_rel, fabs((double)x_eps[j] - x_v[j]) / fmax(fabs(x_eps[j]), 1.0));
    return max_rel;
}

static void test_v_prediction(void)
{
    for (int sampler = 0; sampler < SD_SAMPLER_COUNT; sampler++) {
        for (int sp = 0; sp < SD_SPACING_COUNT; sp++) {
            const sd_sampler_info *info = sd_sampler_info_of((sd_sampler)sampler);
            sd_scheduler *e = make_cfg((sd_sampler)sampler, (sd_spacing)sp, 1, SD_PREDICTION_EPS,
                                       6, 0.8);
            sd_scheduler *v = make_cfg((sd_sampler)sampler, (sd_spacing)sp, 1, SD_PREDICTION_V,
                                       6, 0.8);
            if (!e || !v) {
                sd_scheduler_free(e);
                sd_scheduler_free(v);
                continue;
            }
            float xe[NUMEL], xv[NUMEL], pe[NUMEL], pv[NUMEL];
            fill(xe, NUMEL, 6.0f, 30);
            memcpy(xv, xe, sizeof xe);
            /* PNDM combines raw outputs of different timesteps before converting them
             * (diffusers' _get_prev_sample), so only its first step is the same denoiser;
             * its second step is checked against the formula below. */
            int steps = info->timesteps == SCHED_TIMESTEPS_PNDM ? 1 : sd_scheduler_num_steps(v);
            double worst = 0.0, worst_pred = 0.0;
            for (int i = 0; i < steps; i++) {
                worst = fmax(worst, step_both(e, v, i, xe, xv, pe, pv));
                if (info->has_pred_original)
                    for (int j = 0; j < NUMEL; j++)
                        worst_pred = fmax(worst_pred, fabs((double)pe[j] - pv[j])
                                                          / fmax(fabs(pe[j]), 1.0));
            }
            CHECK(worst < 2e-5 && worst_pred < 2e-5,
                  "%s %s: v steps as eps over %d steps (max rel diff %.2e, x0 %.2e)", info->name,
                  sd_spacing_name((sd_spacing)sp), steps, worst, worst_pred);
            sd_scheduler_free(e);
            sd_scheduler_free(v);
        }
    }
}

/* PNDM's second step with v: diffusers' step_plms averages the raw outputs
 * ((v1 + v0) / 2), then _get_prev_sample converts that to eps at the first step's t from
 * the first step's sample: eps = sqrt(abar_t) v + sqrt(1 - abar_t) x, and
 * prev = sqrt(abar_prev / abar_t) x - (abar_prev - abar_t) eps /
 *        (abar_t sqrt(1 - abar_prev) + sqrt(abar_t (1 - abar_t) abar_prev)). */
static void test_pndm_v_second_step(void)
{
    const int n = 8;
    sd_scheduler *s = make_cfg(SD_SAMPLER_PNDM, SD_SPACING_LEADING, 1, SD_PREDICTION_V, n, 1.0);
    if (!s)
        return;
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    float x[NUMEL], v0[NUMEL], v1[NUMEL], x1[NUMEL], got[NUMEL];
    fill(x, NUMEL, 6.0f, 71);
    fill(v0, NUMEL, 2.0f, 72);
    fill(v1, NUMEL, 2.0f, 73);
    sd_scheduler_step(s, 0, v0, x, NULL, x1, NULL, NULL);
    sd_scheduler_step(s, 1, v1, x1, NULL, got, NULL, NULL);
    int t = (int)tab.timesteps[0], prev_t = (int)tab.timesteps[1];
    double at = tab.alphas_cumprod[t], ap = tab.alphas_cumprod[prev_t];
    double max_rel = 0.0;
    for (int j = 0; j < NUMEL; j++) {
        double mean = ((double)v1[j] + v0[j]) / 2.0;
        double eps = sqrt(at) * mean + sqrt(1.0 - at) * x[j];
        double want = sqrt(ap / at) * x[j]
                      - (ap - at) * eps / (at * sqrt(1.0 - ap) + sqrt(at * (1.0 - at) * ap));
        max_rel = fmax(max_rel, fabs(got[j] - want) / fmax(fabs(want), 1.0));
    }
    CHECK(t == 876 && prev_t == 751 && max_rel < 1e-5,
          "PNDM v, second step: mean raw output converted at t=%d from the first sample "
          "(max rel err %.2e)", t, max_rel);
    sd_scheduler_free(s);
}

int main(void)
{
    test_strength_slice();
    test_arguments();
    test_noise_draws();
    test_in_place();
    test_lms_first_step_is_euler();
    test_dpm_final_step();
    test_spacing_every_sampler();
    test_spacing_known_values();
    test_v_prediction();
    test_pndm_v_second_step();
    return check_summary();
}
