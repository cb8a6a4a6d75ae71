/* sched_<name> cases: the engine's schedulers against diffusers' on the recorded runs.
 *
 * For each run n<steps>_s<strength> the json lists: tables (betas, alphas_cumprod, the
 * full timesteps and sigmas: relative 1e-6, timesteps exact), then the trajectory fed with
 * the recorded model outputs and noises: x_init, and per step scaled_input, prev_sample,
 * pred_original_sample (LCM: denoised) and add_noise_next. The trajectory is the engine's
 * own (errors accumulate over the run), compared at TRAJ_ULPS float32 ulps of each
 * tensor's magnitude. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "sched/scheduler.h"

#define TABLE_REL_TOL 1e-6
/* Trajectory tolerance: this many float32 epsilons of max(1, max |reference|). */
#define TRAJ_ULPS 8.0

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* The sampler and scheduler config a case describes (class, extra_kwargs, config:
 * timestep_spacing, steps_offset, prediction_type), or -1 (with the reason tallied) when
 * it is a configuration the engine does not implement. Shared with the pipeline runner. */
int golden_sched_config(const golden_case *c, golden_tally *t, const char *cls,
                        const cJSON *kwargs, const cJSON *cfg, sd_sched_config *out)
{
    int karras = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kwargs, "use_karras_sigmas"))
                 || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "use_karras_sigmas"));
    double start = 0, end = 0, train = 0, offset = -1;
    const char *schedule = json_str(cfg, "beta_schedule");
    const char *spacing = json_str(cfg, "timestep_spacing");
    const char *prediction = json_str(cfg, "prediction_type");
    int spacing_id = sd_spacing_from_name(spacing);
    int prediction_id = sd_prediction_from_name(prediction);
    int cfg_ok = json_num(cfg, "beta_start", &start) && start == 0.00085
                 && json_num(cfg, "beta_end", &end) && end == 0.012
                 && json_num(cfg, "num_train_timesteps", &train) && train == SCHED_TRAIN_STEPS
                 && json_num(cfg, "steps_offset", &offset) && offset >= 0
                 && offset < SCHED_TRAIN_STEPS && offset == floor(offset)
                 && schedule && strcmp(schedule, "scaled_linear") == 0
                 && spacing_id >= 0 && (prediction_id == SD_PREDICTION_EPS
                                        || prediction_id == SD_PREDICTION_V);
    if (!cls || !cfg_ok) {
        golden_check(c, t, 0, "scheduler config is not one the engine implements (scaled_linear "
                              "0.00085..0.012 over 1000 steps; leading, trailing or linspace; "
                              "epsilon or v_prediction)");
        return -1;
    }
    const sd_sampler_info *info = sd_sampler_info_find(cls, karras);
    if (!info) {
        golden_check(c, t, 0, "unknown scheduler class %s%s", cls, karras ? " (Karras)" : "");
        return -1;
    }
    out->spacing = (sd_spacing)spacing_id;
    out->steps_offset = (int)offset;
    out->prediction = (sd_prediction)prediction_id;
    return (int)info->id;
}

static int case_sampler(const golden_case *c, golden_tally *t, sd_sched_config *cfg)
{
    return golden_sched_config(c, t, json_str(c->json, "class"),
                               cJSON_GetObjectItemCaseSensitive(c->json, "extra_kwargs"),
                               cJSON_GetObjectItemCaseSensitive(c->json, "config"), cfg);
}

/* Tables: max relative error, zeros must match exactly. */
static void compare_table(const golden_case *c, golden_tally *t, const char *label,
                          const char *tensor, const float *got, size_t n)
{
    int64_t numel = 0;
    float *ref = golden_f32(c, tensor, &numel);
    if (!ref || (size_t)numel != n) {
        golden_check(c, t, 0, "%-40s size %zu, reference %lld", label, n, (long long)numel);
        free(ref);
        return;
    }
    double max_rel = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double rel = ref[i] != 0.0f ? d / fabs((double)ref[i]) : (d == 0.0 ? 0.0 : INFINITY);
        if (!(rel <= max_rel))
            max_rel = rel;
    }
    golden_check(c, t, max_rel <= TABLE_REL_TOL, "%-40s max_rel_err=%.3e tol=%.3e", label,
                 max_rel, TABLE_REL_TOL);
    free(ref);
}

/* A trajectory tensor, at TRAJ_ULPS float32 ulps of its magnitude. */
static void compare_traj(const golden_case *c, golden_tally *t, const char *label,
                         const char *tensor, const float *got, size_t n)
{
    int64_t numel = 0;
    float *ref = golden_f32(c, tensor, &numel);
    if (!ref) {
        golden_check(c, t, 0, "%-40s reference tensor missing", label);
        return;
    }
    double scale = 1.0;
    for (int64_t i = 0; i < numel; i++)
        scale = fmax(scale, fabs((double)ref[i]));
    if ((size_t)numel != n)
        golden_check(c, t, 0, "%-40s size %zu, reference %lld", label, n, (long long)numel);
    else
        golden_compare_arrays(c, t, label, ref, got, n, TRAJ_ULPS * FLT_EPSILON * scale);
    free(ref);
}

static int has_tensor(const golden_case *c, const char *name)
{
    return golden_tensor(c, name) != NULL;
}

/* The clean latents add_noise_next starts from: the run's image_latents, else those of
 * another run of the case (strength-1 runs record none; the case draws them once). */
static const char *find_image_latents(const golden_case *c, const char *prefix, char *buf,
                                      size_t size)
{
    snprintf(buf, size, "%s.image_latents", prefix);
    if (has_tensor(c, buf))
        return buf;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(c->json, "runs");
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        const char *p = json_str(run, "prefix");
        snprintf(buf, size, "%s.image_latents", p ? p : "");
        if (p && has_tensor(c, buf))
            return buf;
    }
    return NULL;
}

typedef struct {
    float *x, *scaled, *prev, *pred, *noisy, *x0_clean, *noise_init;
} run_buffers;

static void buffers_free(run_buffers *b)
{
    free(b->x);
    free(b->scaled);
    free(b->prev);
    free(b->pred);
    free(b->noisy);
    free(b->x0_clean);
    free(b->noise_init);
}

static void compare_tables(const golden_case *c, golden_tally *t, const sd_scheduler *s,
                           const char *prefix, int first_run)
{
    char name[128];
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    if (first_run) {
        compare_table(c, t, "betas", "betas", tab.betas, SCHED_TRAIN_STEPS);
        compare_table(c, t, "alphas_cumprod", "alphas_cumprod", tab.alphas_cumprod,
                      SCHED_TRAIN_STEPS);
    }
    snprintf(name, sizeof name, "%s.timesteps_full", prefix);
    golden_compare(c, t, name, name, tab.timesteps, (size_t)tab.n_timesteps, 0.0);
    int n = sd_scheduler_num_steps(s);
    float *slice = malloc((size_t)n * sizeof *slice);
    if (slice) {
        for (int i = 0; i < n; i++)
            slice[i] = sd_scheduler_timestep(s, i);
        snprintf(name, sizeof name, "%s.timesteps", prefix);
        golden_compare(c, t, name, name, slice, (size_t)n, 0.0);
    }
    free(slice);
    snprintf(name, sizeof name, "%s.sigmas", prefix);
    if (has_tensor(c, name) || tab.sigmas) {
        if (!tab.sigmas)
            golden_check(c, t, 0, "%-40s the engine has no sigma table", name);
        else
            compare_table(c, t, name, name, tab.sigmas, (size_t)tab.n_timesteps + 1);
    }
}

/* Step counts and init_noise_sigma against the json of the run. */
static void compare_run_facts(const golden_case *c, golden_tally *t, const sd_scheduler *s,
                              const cJSON *run, const char *prefix)
{
    double t_start = 0, init_sigma = 0, n_run = 0;
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    int steps = sd_scheduler_num_steps(s);
    if (json_num(run, "t_start", &t_start))
        golden_check(c, t, (int)t_start == tab.begin_index, "%-40s t_start %d (reference %d)",
                     prefix, tab.begin_index, (int)t_start);
    if (json_num(run, "n_steps_run", &n_run))
        golden_check(c, t, (int)n_run == steps, "%-40s %d loop steps (reference %d)", prefix,
                     steps, (int)n_run);
    if (json_num(run, "init_noise_sigma", &init_sigma)) {
        double got = sd_scheduler_init_noise_sigma(s);
        double rel = fabs(got - init_sigma) / fabs(init_sigma);
        golden_check(c, t, rel <= TABLE_REL_TOL, "%-40s init_noise_sigma %.9g rel_err=%.3e",
                     prefix, got, rel);
    }
}

/* x_init: noise * init_noise_sigma from pure noise, add_noise at the first timestep
 * (img2img) otherwise. Returns 0, or -1 after tallying a failure. */
static int init_sample(const golden_case *c, golden_tally *t, const sd_scheduler *s,
                       const char *prefix, run_buffers *b, size_t n)
{
    char name[192];
    sd_error err = {0};
    snprintf(name, sizeof name, "%s.image_latents", prefix);
    if (has_tensor(c, name) && b->x0_clean) {
        if (sd_scheduler_add_noise(s, 0, b->x0_clean, b->noise_init, b->x, &err) != SD_OK) {
            golden_check(c, t, 0, "%s: %s", prefix, err.message);
            return -1;
        }
    } else {
        float sigma = sd_scheduler_init_noise_sigma(s);
        for (size_t j = 0; j < n; j++)
            b->x[j] = b->noise_init[j] * sigma;
    }
    snprintf(name, sizeof name, "%s.x_init", prefix);
    compare_traj(c, t, name, name, b->x, n);
    return 0;
}

/* Loop step i: scale_model_input, step with the recorded eps and noise, add_noise_next.
 * b->x advances to the engine's prev_sample. Returns 0, or -1 after tallying a failure. */
static int run_step(const golden_case *c, golden_tally *t, sd_scheduler *s,
                    const char *prefix, int i, run_buffers *b, size_t n)
{
    char label[128], name[192];
    sd_error err = {0};
    snprintf(label, sizeof label, "%s.step%d", prefix, i);
    snprintf(name, sizeof name, "%s.scaled_input", label);
    if (sd_scheduler_scale_model_input(s, i, b->x, b->scaled, &err) != SD_OK) {
        golden_check(c, t, 0, "%s: %s", label, err.message);
        return -1;
    }
    compare_traj(c, t, name, name, b->scaled, n);

    snprintf(name, sizeof name, "%s.model_output", label);
    float *eps = golden_f32(c, name, NULL);
    snprintf(name, sizeof name, "%s.noise", label);
    int recorded_noise = has_tensor(c, name);
    int needs_noise = sd_scheduler_needs_noise(s, i);
    float *noise = recorded_noise ? golden_f32(c, name, NULL) : NULL;
    /* diffusers 0.30 (../golden) drew a noise tensor in every Euler step and left it
     * unused (s_churn 0); the engine, as diffusers 0.37, draws none: such a recorded draw
     * is skipped, not a difference. */
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(s, &tab);
    int unused_euler_draw = recorded_noise && !needs_noise && tab.sampler == SD_SAMPLER_EULER;
    if (recorded_noise != needs_noise && !unused_euler_draw)
        golden_check(c, t, 0, "%-40s the engine %s a noise draw here, the reference %s", label,
                     needs_noise ? "wants" : "wants no", recorded_noise ? "drew one" : "did not");
    sd_status st = eps ? sd_scheduler_step(s, i, eps, b->x, noise, b->prev, b->pred, &err)
                       : SD_ERR_FORMAT;
    free(noise);
    if (st != SD_OK) {
        golden_check(c, t, 0, "%s: %s", label, eps ? err.message : "model_output missing");
        free(eps);
        return -1;
    }
    free(eps);
    snprintf(name, sizeof name, "%s.prev_sample", label);
    compare_traj(c, t, name, name, b->prev, n);
    snprintf(name, sizeof name, "%s.pred_original_sample", label);
    if (has_tensor(c, name) || sd_scheduler_has_pred_original(s)) {
        if (sd_scheduler_has_pred_original(s))
            compare_traj(c, t, name, name, b->pred, n);
        else
            golden_check(c, t, 0, "%-40s the engine returns no pred_original", name);
    }
    memcpy(b->x, b->prev, n * sizeof *b->x);

    snprintf(name, sizeof name, "%s.add_noise_next", label);
    if (!has_tensor(c, name))
        return 0;
    if (!b->x0_clean)
        golden_check(c, t, 0, "%-40s no image_latents in the case", name);
    else if (sd_scheduler_add_noise(s, i + 1, b->x0_clean, b->noise_init, b->noisy, &err)
             != SD_OK)
        golden_check(c, t, 0, "%s: %s", name, err.message);
    else
        compare_traj(c, t, name, name, b->noisy, n);
    return 0;
}

static void run_case(const golden_case *c, golden_tally *t, sd_sampler sampler,
                     const sd_sched_config *cfg, const cJSON *run, int first_run)
{
    double steps_d = 0, strength = 0;
    const char *prefix = json_str(run, "prefix");
    if (!prefix || !json_num(run, "num_inference_steps", &steps_d)
        || !json_num(run, "strength", &strength)) {
        golden_check(c, t, 0, "run without prefix / num_inference_steps / strength");
        return;
    }
    char name[192];
    snprintf(name, sizeof name, "%s.noise_init", prefix);
    int64_t numel = 0;
    run_buffers b = {0};
    b.noise_init = golden_f32(c, name, &numel);
    if (!b.noise_init) {
        golden_check(c, t, 0, "%s: noise_init missing", prefix);
        return;
    }
    size_t n = (size_t)numel;
    sd_error err = {0};
    sd_scheduler *s = NULL;
    if (sd_scheduler_create(sampler, cfg, (int)steps_d, strength, n, &s, &err) != SD_OK) {
        golden_check(c, t, 0, "%s: %s", prefix, err.message);
        buffers_free(&b);
        return;
    }
    compare_tables(c, t, s, prefix, first_run);
    compare_run_facts(c, t, s, run, prefix);

    b.x = malloc(n * sizeof(float));
    b.scaled = malloc(n * sizeof(float));
    b.prev = malloc(n * sizeof(float));
    b.pred = malloc(n * sizeof(float));
    b.noisy = malloc(n * sizeof(float));
    const char *latents = find_image_latents(c, prefix, name, sizeof name);
    if (latents)
        b.x0_clean = golden_f32(c, latents, NULL);
    if (!b.x || !b.scaled || !b.prev || !b.pred || !b.noisy)
        golden_check(c, t, 0, "%s: out of memory", prefix);
    else if (init_sample(c, t, s, prefix, &b, n) == 0)
        for (int i = 0; i < sd_scheduler_num_steps(s); i++)
            if (run_step(c, t, s, prefix, i, &b, n) != 0)
                break;
    buffers_free(&b);
    sd_scheduler_free(s);
}

int golden_run_scheduler(const golden_case *c, golden_tally *t)
{
    sd_sched_config cfg;
    int sampler = case_sampler(c, t, &cfg);
    if (sampler < 0)
        return -1;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(c->json, "runs");
    if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0) {
        golden_check(c, t, 0, "no runs listed in the json");
        return -1;
    }
    int first = 1;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        run_case(c, t, (sd_sampler)sampler, &cfg, run, first);
        first = 0;
    }
    return 0;
}
