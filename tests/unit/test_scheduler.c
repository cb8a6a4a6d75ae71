/* Scheduler behaviour the golden runs do not pin down: the img2img step count from
 * strength (diffusers' float truncation), argument checking, the noise-draw pattern,
 * in-place steps with multistep state, and the final DPM++ step onto sigma 0. */
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
    sd_scheduler *euler = make(SD_SAMPLER_EULER, 8, 0.75);
    sd_scheduler *lcm = make(SD_SAMPLER_LCM, 8, 0.75);
    sd_scheduler *ddim = make(SD_SAMPLER_DDIM, 8, 0.75);
    if (euler && lcm && ddim) {
        int e = 0, l = 0, d = 0;
        for (int i = 0; i < 6; i++) {
            e += sd_scheduler_needs_noise(euler, i);
            l += sd_scheduler_needs_noise(lcm, i);
            d += sd_scheduler_needs_noise(ddim, i);
        }
        CHECK(e == 6 && l == 5 && d == 0, "draws over 6 steps: euler %d (6), lcm %d (5), ddim %d (0)",
              e, l, d);
        CHECK(!sd_scheduler_needs_noise(lcm, 5), "LCM draws none on its last step");
    }
    sd_scheduler_free(euler);
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

int main(void)
{
    test_strength_slice();
    test_arguments();
    test_noise_draws();
    test_in_place();
    test_lms_first_step_is_euler();
    test_dpm_final_step();
    return check_summary();
}
