/* The scheduler of a pipe_* case whose networks the engine cannot run yet (a model family
 * it refuses): the networks' part is reported as SKIP, and the scheduler is replayed on
 * the recorded tensors.
 *
 *   timesteps, steps run and init_noise_sigma against the json;
 *   the start latent from the recorded draws (txt2img / strength-1 inpaint: noise_0 x
 *   init_noise_sigma; img2img and inpaint below strength 1: the VAE sample of the recorded
 *   moments, add_noise at the first timestep);
 *   per step i: scale_model_input against unet_in_i (the latent channels of every row),
 *   the guidance (u + g (c - u), or none when guidance <= 1) of unet_out_i against
 *   noise_pred_i, then step(noise_pred_i) against latents_i, the engine's own latents
 *   carried from step to step;
 *   latents_final, decode_input, and the number of noise draws.
 * Tolerances are the pipeline runner's: 10x the float32 noise floor of latents_final. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "nets/vae.h"

/* The VAE scaling_factor of every SD 1.x / 2.x config. */
#define VAE_SCALING_FACTOR 0.18215f

typedef struct {
    const golden_case *c;
    golden_tally *t;
    sd_scheduler *s;
    size_t n;              /* floats per latent */
    double tol;
    int draws;             /* noise_<k> taken so far */
    int cfg;               /* classifier-free guidance: unet rows [negative, prompt] */
    float guidance;
    float *x, *scaled, *tmp;
} replay;

static double num(const cJSON *json, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* The next recorded draw (numel n), or NULL after tallying a failure. */
static float *next_draw(replay *r)
{
    char name[32];
    snprintf(name, sizeof name, "noise_%d", r->draws++);
    int64_t numel = 0;
    float *noise = golden_f32(r->c, name, &numel);
    if (!noise || (size_t)numel != r->n) {
        golden_check(r->c, r->t, 0, "%s missing or not of %zu values", name, r->n);
        free(noise);
        return NULL;
    }
    return noise;
}

/* Channels 0..3 of every row of a U-Net input [rows, c_in, h, w] against `got`. */
static void compare_unet_rows(replay *r, const char *tensor, const float *got)
{
    int64_t numel = 0;
    float *ref = golden_f32(r->c, tensor, &numel);
    const st_tensor *info = golden_tensor(r->c, tensor);
    int rows = r->cfg ? 2 : 1;
    if (!ref || !info || info->ndim != 4 || info->shape[0] != rows
        || (size_t)numel % ((size_t)rows) != 0 || (size_t)(numel / rows) < r->n) {
        golden_check(r->c, r->t, 0, "%s missing or not [%d, C, h, w]", tensor, rows);
        free(ref);
        return;
    }
    size_t row = (size_t)numel / (size_t)rows;
    for (int b = 0; b < rows; b++) {
        char label[96];
        snprintf(label, sizeof label, "%s[%d] latent channels", tensor, b);
        golden_compare_arrays(r->c, r->t, label, ref + (size_t)b * row, got, r->n, r->tol);
    }
    free(ref);
}

/* The start latent; img2img-like starts read vae_encode0's moments. Returns 0 or -1. */
static int start_latent(replay *r, int mode, int nine, double strength)
{
    sd_error err = {0};
    int from_image = mode == SD_MODE_IMG2IMG || (mode == SD_MODE_INPAINT && strength < 1.0);
    if (mode == SD_MODE_INPAINT && !nine) {
        golden_check(r->c, r->t, 0, "4-channel inpaint blend: no scheduler replay for it");
        return -1;
    }
    if (from_image) {
        int64_t nm = 0, nl = 0;
        float *mean = golden_f32(r->c, "vae_encode0.mean", &nm);
        float *logvar = golden_f32(r->c, "vae_encode0.logvar", &nl);
        float *sample_noise = next_draw(r);
        float *noise = sample_noise ? next_draw(r) : NULL;
        int ok = mean && logvar && noise && (size_t)nm == r->n && (size_t)nl == r->n;
        if (ok) {
            sd_vae_sample(mean, logvar, sample_noise, r->n, VAE_SCALING_FACTOR, r->tmp);
            ok = sd_scheduler_add_noise(r->s, 0, r->tmp, noise, r->x, &err) == SD_OK;
        }
        if (!ok)
            golden_check(r->c, r->t, 0, "img2img start: vae_encode0 moments or draws missing%s%s",
                         err.message[0] ? ": " : "", err.message);
        free(mean);
        free(logvar);
        free(sample_noise);
        free(noise);
        if (!ok)
            return -1;
    } else {
        float *noise = next_draw(r);
        if (!noise)
            return -1;
        float sigma = sd_scheduler_init_noise_sigma(r->s);
        for (size_t j = 0; j < r->n; j++)
            r->x[j] = noise[j] * sigma;
        free(noise);
    }
    if (mode == SD_MODE_INPAINT) {
        /* the masked image's VAE sample: drawn, not a scheduler matter */
        free(next_draw(r));
    }
    return 0;
}

/* Loop step i. Returns 0 or -1. */
static int replay_step(replay *r, int i)
{
    char name[48];
    sd_error err = {0};
    if (sd_scheduler_scale_model_input(r->s, i, r->x, r->scaled, &err) != SD_OK) {
        golden_check(r->c, r->t, 0, "step %d: %s", i, err.message);
        return -1;
    }
    snprintf(name, sizeof name, "unet_in_%d", i);
    compare_unet_rows(r, name, r->scaled);

    snprintf(name, sizeof name, "unet_out_%d", i);
    int64_t n_out = 0;
    float *out = golden_f32(r->c, name, &n_out);
    snprintf(name, sizeof name, "noise_pred_%d", i);
    float *pred = golden_f32(r->c, name, NULL);
    if (!out || !pred || (size_t)n_out != r->n * (r->cfg ? 2 : 1)) {
        golden_check(r->c, r->t, 0, "step %d: unet_out / noise_pred missing or of another size", i);
        free(out);
        free(pred);
        return -1;
    }
    /* diffusers: noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond) */
    for (size_t j = 0; j < r->n; j++)
        r->tmp[j] = r->cfg ? out[j] + r->guidance * (out[r->n + j] - out[j]) : out[j];
    golden_compare(r->c, r->t, name, name, r->tmp, r->n, r->tol);

    float *noise = sd_scheduler_needs_noise(r->s, i) ? next_draw(r) : NULL;
    int ok = !sd_scheduler_needs_noise(r->s, i) || noise;
    if (ok && sd_scheduler_step(r->s, i, pred, r->x, noise, r->x, NULL, &err) != SD_OK) {
        golden_check(r->c, r->t, 0, "step %d: %s", i, err.message);
        ok = 0;
    }
    free(noise);
    free(out);
    free(pred);
    if (!ok)
        return -1;
    snprintf(name, sizeof name, "latents_%d", i);
    golden_compare(r->c, r->t, name, name, r->x, r->n, r->tol);
    return 0;
}

/* The json's timesteps, steps run and init_noise_sigma. */
static void compare_schedule(replay *r)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(r->c->json, "timesteps");
    int steps = sd_scheduler_num_steps(r->s);
    int same = cJSON_GetArraySize(ts) == steps;
    for (int i = 0; same && i < steps; i++)
        same = cJSON_GetArrayItem(ts, i)->valuedouble == (double)sd_scheduler_timestep(r->s, i);
    golden_check(r->c, r->t, same, "%-40s %d steps from t=%g (reference %d)", "timesteps", steps,
                 steps ? (double)sd_scheduler_timestep(r->s, 0) : -1.0, cJSON_GetArraySize(ts));
    double ref = num(r->c->json, "init_noise_sigma", NAN);
    double got = sd_scheduler_init_noise_sigma(r->s);
    double rel = fabs(got - ref) / fabs(ref);
    golden_check(r->c, r->t, rel <= 1e-6, "%-40s %.9g rel_err=%.3e", "init_noise_sigma", got, rel);
}

static int replay_run(replay *r, int mode, int nine, double strength)
{
    compare_schedule(r);
    if (start_latent(r, mode, nine, strength) != 0)
        return -1;
    for (int i = 0; i < sd_scheduler_num_steps(r->s); i++)
        if (replay_step(r, i) != 0)
            return -1;
    golden_compare(r->c, r->t, "latents_final", "latents_final", r->x, r->n, r->tol);
    sd_vae_unscale(r->x, r->n, VAE_SCALING_FACTOR, r->tmp);
    golden_compare(r->c, r->t, "decode_input", "decode_input", r->tmp, r->n,
                   r->tol / VAE_SCALING_FACTOR);
    int expected = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->c->json, "noise_draws"));
    golden_check(r->c, r->t, r->draws == expected, "noise draws %d, reference %d", r->draws,
                 expected);
    return 0;
}

int golden_run_pipeline_scheduler(const golden_case *c, golden_tally *t, sd_sampler sampler,
                                  const sd_sched_config *cfg, const char *why)
{
    golden_skip(c, t, "text encoder, U-Net, VAE not run (%s); scheduler replayed on the "
                      "recorded U-Net outputs", why);
    const char *pipeline = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c->json, "pipeline"));
    int mode = !pipeline ? -1
               : strcmp(pipeline, "StableDiffusionPipeline") == 0 ? SD_MODE_TXT2IMG
               : strcmp(pipeline, "StableDiffusionImg2ImgPipeline") == 0 ? SD_MODE_IMG2IMG
               : strcmp(pipeline, "StableDiffusionInpaintPipeline") == 0 ? SD_MODE_INPAINT : -1;
    double strength = mode == SD_MODE_TXT2IMG ? 1.0 : num(c->json, "strength", 1.0);
    int steps = (int)num(c->json, "num_inference_steps", 0);
    int nine = num(c->json, "unet_in_channels", 4) == 9;
    char key[160];
    snprintf(key, sizeof key, "%s.latents_final", c->name);
    replay r = {.c = c, .t = t, .tol = 10.0 * golden_noise_floor(c, key),
                .guidance = (float)num(c->json, "guidance_scale", 7.5)};
    int64_t numel = 0;
    float *final = golden_f32(c, "latents_final", &numel);
    free(final);
    if (mode < 0 || steps < 1 || numel <= 0 || r.tol <= 0) {
        golden_check(c, t, 0, "pipeline, num_inference_steps, latents_final or its noise floor "
                              "missing");
        return -1;
    }
    r.n = (size_t)numel;
    /* diffusers' do_classifier_free_guidance: guidance_scale > 1 */
    r.cfg = r.guidance > 1.0f;
    const cJSON *dcfg = cJSON_GetObjectItemCaseSensitive(c->json, "do_classifier_free_guidance");
    if (cJSON_IsBool(dcfg))
        golden_check(c, t, cJSON_IsTrue(dcfg) == r.cfg, "%-40s guidance %g: %s", "CFG batch",
                     (double)r.guidance, r.cfg ? "two rows" : "one row, no negative prompt");

    sd_error err = {0};
    if (sd_scheduler_create(sampler, cfg, steps, strength, r.n, &r.s, &err) != SD_OK) {
        golden_check(c, t, 0, "scheduler: %s", err.message);
        return -1;
    }
    r.x = malloc(r.n * sizeof *r.x);
    r.scaled = malloc(r.n * sizeof *r.scaled);
    r.tmp = malloc(r.n * sizeof *r.tmp);
    int rc = -1;
    if (!r.x || !r.scaled || !r.tmp)
        golden_check(c, t, 0, "out of memory");
    else
        rc = replay_run(&r, mode, nine, strength);
    free(r.x);
    free(r.scaled);
    free(r.tmp);
    sd_scheduler_free(r.s);
    return rc;
}
