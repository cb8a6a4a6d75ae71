/* The pipeline through the public API and its trace seam, on the tiny model:
 * cancellation, the inpaint blend keeping the unmasked latents, sizes that are not
 * multiples of 8, txt2img, argument checks, one U-Net row per step without guidance, the
 * spacing and prediction fields. argv[1] = the shared folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipeline/pipeline.h"
#include "core/rng.h"
#include "sd.h"

static char model_path[1024], inpaint_path[1024], vocab_path[1024];

typedef struct {
    int cancel_at;            /* cancel when denoise reaches this step (-1: never) */
    int cancel_phase;         /* or cancel at the start of this phase (-1: none) */
    int last_denoise_step;
    int calls_after_cancel;
    int cancelled;
} progress_log;

static int on_progress(void *user, sd_phase phase, int step, int total)
{
    progress_log *p = user;
    (void)total;
    if (p->cancelled) {
        p->calls_after_cancel++;
        return 1;
    }
    if (phase == SD_PHASE_DENOISE)
        p->last_denoise_step = step;
    if ((int)phase == p->cancel_phase || (phase == SD_PHASE_DENOISE && step == p->cancel_at)) {
        p->cancelled = 1;
        return 1;
    }
    return 0;
}

static float *test_image(int w, int h)
{
    float *img = malloc((size_t)w * h * 3 * sizeof *img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = img + ((size_t)y * w + x) * 3;
            p[0] = (float)x / (float)w;
            p[1] = (float)y / (float)h;
            p[2] = 0.5f + 0.4f * sinf(0.3f * (float)(x + y));
        }
    return img;
}

static void test_cancel(sd_model *m)
{
    const sd_phase phases[] = {SD_PHASE_TEXT, SD_PHASE_ENCODE, SD_PHASE_DECODE};
    for (int k = -1; k < 3; k++) {
        sd_job job;
        sd_job_defaults(&job);
        job.width = job.height = 64;
        float *img = test_image(64, 64), *out = malloc(64 * 64 * 3 * sizeof *out);
        job.image = img;
        job.prompt = "a fox";
        job.steps = 8;
        progress_log log = {.cancel_at = k < 0 ? 2 : -1, .cancel_phase = k < 0 ? -1 : (int)phases[k]};
        job.progress = on_progress;
        job.progress_user = &log;
        sd_error err = {0};
        sd_status st = sd_generate(m, &job, out, &err);
        const char *where = k < 0 ? "denoise step 2" : sd_phase_name(phases[k]);
        CHECK(st == SD_ERR_CANCELLED, "cancel at %s gives SD_ERR_CANCELLED (got %d: %s)", where,
              (int)st, err.message);
        CHECK(log.calls_after_cancel == 0, "no progress after cancel at %s (%d calls)", where,
              log.calls_after_cancel);
        if (k < 0)
            CHECK(log.last_denoise_step == 2, "stopped within one step (last step %d)",
                  log.last_denoise_step);
        free(img);
        free(out);
    }
}

/* Captures named tensors of a run. */
typedef struct {
    const char *want[4];
    float *got[4];
    size_t n[4];
} capture;

static void on_tensor(void *user, const char *name, const float *data, size_t n)
{
    capture *c = user;
    for (int i = 0; i < 4 && c->want[i]; i++)
        if (strcmp(name, c->want[i]) == 0) {
            free(c->got[i]);
            c->got[i] = malloc(n * sizeof(float));
            memcpy(c->got[i], data, n * sizeof(float));
            c->n[i] = n;
        }
}

/* 4-channel inpaint: after the last step the unmasked latents are exactly the clean
 * image latents (the reference's definition of "untouched"), and the masked ones are not. */
static void test_inpaint_keeps_unmasked(sd_model *m)
{
    int w = 64, h = 64;
    float *img = test_image(w, h), *mask = calloc((size_t)w * h, sizeof *mask);
    float *out = malloc((size_t)w * h * 3 * sizeof *out);
    for (int y = 16; y < 40; y++)
        for (int x = 24; x < 56; x++)
            mask[y * w + x] = 1.0f;
    sd_job job;
    sd_job_defaults(&job);
    job.mode = SD_MODE_INPAINT;
    job.width = w;
    job.height = h;
    job.image = img;
    job.mask = mask;
    job.prompt = "a cat";
    job.steps = 6;
    job.strength = 1.0;
    job.sampler = SD_SAMPLER_DDIM;
    sd_rng rng;
    sd_rng_init(&rng, SD_RNG_TORCH_CPU, 3);
    sd_noise_source noise = sd_noise_from_rng(&rng);
    capture cap = {.want = {"latents_final", "mask_latent", "vae_encode0.mean", NULL}};
    sd_pipeline_trace trace = {on_tensor, &cap};
    sd_error err = {0};
    sd_status st = sd_pipeline_run(m, &job, &noise, &trace, out, &err);
    CHECK(st == SD_OK, "inpaint runs: %s", err.message);
    if (st == SD_OK && cap.got[0] && cap.got[1] && cap.got[2]) {
        /* Re-derive the clean image latents from the same seed: draw 0 is the VAE sample
         * noise of the image, and logvar is not traced here, so compare against a second
         * run's blend target instead: the unmasked latents must not depend on the prompt. */
        float *first = cap.got[0];
        cap.got[0] = NULL;
        job.prompt = "a completely different prompt";
        sd_rng_init(&rng, SD_RNG_TORCH_CPU, 3);
        st = sd_pipeline_run(m, &job, &noise, &trace, out, &err);
        CHECK(st == SD_OK && cap.got[0], "second inpaint runs");
        if (cap.got[0]) {
            size_t hw = cap.n[1];
            int same_unmasked = 1, differs_masked = 0;
            for (size_t c = 0; c < cap.n[0] / hw; c++)
                for (size_t i = 0; i < hw; i++) {
                    float a = first[c * hw + i], b = cap.got[0][c * hw + i];
                    if (cap.got[1][i] < 0.5f)
                        same_unmasked &= a == b;
                    else
                        differs_masked |= a != b;
                }
            CHECK(same_unmasked, "unmasked latents identical whatever the prompt (clean image latents)");
            CHECK(differs_masked, "masked latents follow the prompt");
        }
        free(first);
    }
    for (int i = 0; i < 4; i++)
        free(cap.got[i]);
    free(img);
    free(mask);
    free(out);
}

static void test_sizes_and_modes(sd_model *m, sd_model *inpaint)
{
    int sizes[][2] = {{8, 8}, {61, 47}, {9, 130}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        float *img = test_image(w, h), *out = malloc((size_t)w * h * 3 * sizeof *out);
        sd_job job;
        sd_job_defaults(&job);
        job.width = w;
        job.height = h;
        job.image = img;
        job.prompt = "x";
        job.steps = 2;
        job.strength = 1.0;
        sd_error err = {0};
        sd_status st = sd_generate(m, &job, out, &err);
        int in_range = 1;
        for (size_t i = 0; st == SD_OK && i < (size_t)w * h * 3; i++)
            in_range &= out[i] >= 0.0f && out[i] <= 1.0f;
        CHECK(st == SD_OK && in_range, "img2img %dx%d: %s", w, h, err.message);
        free(img);
        free(out);
    }
    /* txt2img needs no image. */
    float *out = malloc(40 * 24 * 3 * sizeof *out);
    sd_job job;
    sd_job_defaults(&job);
    job.mode = SD_MODE_TXT2IMG;
    job.width = 40;
    job.height = 24;
    job.prompt = "a lighthouse";
    job.steps = 3;
    job.cfg_scale = 1.0f;   /* no CFG: batch 1 */
    sd_error err = {0};
    CHECK(sd_generate(m, &job, out, &err) == SD_OK, "txt2img without CFG: %s", err.message);
    job.mode = SD_MODE_TXT2IMG;
    CHECK(sd_generate(inpaint, &job, out, &err) == SD_ERR_UNSUPPORTED &&
          strstr(err.message, "inpainting"), "inpainting model refuses txt2img: %s", err.message);
    free(out);
}

/* What the trace saw of the U-Net: its calls and the rows (batch) of each. */
typedef struct {
    size_t lat_n;
    int unet_calls, unet_rows, negative_embeds;
    float final[4 * 4 * 4];
} unet_log;

static void count_unet(void *user, const char *name, const float *data, size_t n)
{
    unet_log *l = user;
    if (strncmp(name, "unet_out_", 9) == 0) {
        l->unet_calls++;
        l->unet_rows += (int)(n / l->lat_n);
    } else if (strcmp(name, "negative_prompt_embeds") == 0)
        l->negative_embeds++;
    else if (strcmp(name, "latents_final") == 0 && n == l->lat_n)
        memcpy(l->final, data, n * sizeof *data);
}

static sd_status run_logged(sd_model *m, const sd_job *job, unet_log *log, sd_error *err)
{
    float out[32 * 32 * 3];
    sd_rng rng;
    sd_rng_init(&rng, job->rng, job->seed);
    sd_noise_source noise = sd_noise_from_rng(&rng);
    sd_pipeline_trace trace = {count_unet, log};
    memset(log, 0, sizeof *log);
    log->lat_n = 4 * (size_t)(job->width / 8) * (size_t)(job->height / 8);
    return sd_pipeline_run(m, job, &noise, &trace, out, err);
}

/* Guidance <= 1 runs the U-Net on one row per step and encodes no negative prompt
 * (diffusers' do_classifier_free_guidance = guidance_scale > 1); above 1 two rows. The
 * spacing and prediction fields reach the scheduler. */
static void test_guidance_and_sampling_fields(sd_model *m)
{
    sd_job job;
    sd_job_defaults(&job);
    job.mode = SD_MODE_TXT2IMG;
    job.width = job.height = 32;
    job.prompt = "a lighthouse";
    job.negative_prompt = "blurry";
    job.steps = 3;
    job.seed = 7;
    const float scales[] = {0.0f, 1.0f, 1.5f, 7.5f};
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        job.cfg_scale = scales[k];
        unet_log log;
        sd_error err = {0};
        sd_status st = run_logged(m, &job, &log, &err);
        int rows = scales[k] > 1.0f ? 2 : 1;
        CHECK(st == SD_OK && log.unet_calls == 3 && log.unet_rows == 3 * rows
                  && log.negative_embeds == (rows == 2),
              "guidance %g: %d U-Net calls of %d rows in all (want 3 of %d each), negative "
              "prompt encoded %d times: %s", (double)scales[k], log.unet_calls, log.unet_rows,
              rows, log.negative_embeds, err.message);
    }

    /* One step, trailing spacing, no guidance: SD-Turbo's job. */
    job.cfg_scale = 0.0f;
    job.steps = 1;
    unet_log leading, trailing, v;
    sd_error err = {0};
    sd_status st = run_logged(m, &job, &leading, &err);
    job.spacing = SD_SPACING_TRAILING;
    st = st == SD_OK ? run_logged(m, &job, &trailing, &err) : st;
    job.prediction = SD_PREDICTION_V;
    st = st == SD_OK ? run_logged(m, &job, &v, &err) : st;
    CHECK(st == SD_OK && trailing.unet_calls == 1 && trailing.unet_rows == 1
              && memcmp(leading.final, trailing.final, sizeof leading.final) != 0
              && memcmp(trailing.final, v.final, sizeof v.final) != 0,
          "1-step trailing / v jobs run once and differ from leading / eps: %s", err.message);

    job.spacing = SD_SPACING_COUNT;
    CHECK(sd_generate(m, &job, (float[32 * 32 * 3]){0}, &err) == SD_ERR_INVALID_ARG
              && strstr(err.message, "spacing"), "unknown spacing refused: %s", err.message);
    job.spacing = SD_SPACING_LEADING;
    job.prediction = SD_PREDICTION_COUNT;
    CHECK(sd_generate(m, &job, (float[32 * 32 * 3]){0}, &err) == SD_ERR_INVALID_ARG
              && strstr(err.message, "prediction"), "unknown prediction refused: %s", err.message);
}

static void test_bad_jobs(sd_model *m)
{
    float *img = test_image(16, 16), *out = malloc(16 * 16 * 3 * sizeof *out);
    struct {
        const char *what, *msg;
        void (*edit)(sd_job *);
    } cases[] = {
        {"steps 0", "steps", NULL}, {"strength 0", "strength", NULL}, {"strength 1.5", "strength", NULL},
        {"no image", "image", NULL}, {"tiny", "too small", NULL}, {"inpaint without mask", "mask", NULL},
        {"clip skip 0", "clip skip", NULL}, {"cfg -1", "CFG", NULL}, {"few steps", "strength", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        sd_job job;
        sd_job_defaults(&job);
        job.width = job.height = 16;
        job.image = img;
        job.prompt = "x";
        switch (k) {
        case 0: job.steps = 0; break;
        case 1: job.strength = 0.0; break;
        case 2: job.strength = 1.5; break;
        case 3: job.image = NULL; break;
        case 4: job.width = 4; break;
        case 5: job.mode = SD_MODE_INPAINT; break;
        case 6: job.clip_skip = 0; break;
        case 7: job.cfg_scale = -1.0f; break;
        case 8: job.steps = 3; job.strength = 0.2; break;   /* int(3 * 0.2) = 0 steps */
        }
        sd_error err = {0};
        sd_status st = sd_generate(m, &job, out, &err);
        CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, cases[k].msg),
              "%s refused with a message about %s (got %d: %s)", cases[k].what, cases[k].msg,
              (int)st, err.message);
    }
    free(img);
    free(out);
}

/* A job beyond the memory budget is refused up front with the size it needs; the
 * estimate grows with the image and covers what a run really takes. */
static void test_memory_budget(void)
{
    sd_model_options opts = {.memory_budget_mb = 2};
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(model_path, vocab_path, &opts, &m, &err) != SD_OK) {
        CHECK(0, "load with a budget: %s", err.message);
        return;
    }
    float *img = test_image(256, 256), *out = malloc(256 * 256 * 3 * sizeof *out);
    sd_job job;
    sd_job_defaults(&job);
    job.width = job.height = 256;
    job.image = img;
    job.prompt = "x";
    job.steps = 2;
    job.strength = 1.0;
    size_t need = sd_job_memory_estimate(m, &job);
    sd_status st = sd_generate(m, &job, out, &err);
    CHECK(st == SD_ERR_NOMEM && strstr(err.message, "needs about") && strstr(err.message, "budget"),
          "over-budget job refused with its size (%d: %s)", (int)st, err.message);
    job.width = job.height = 1024;
    CHECK(sd_job_memory_estimate(m, &job) > 2 * need, "estimate grows with the pixels");
    sd_model_free(m);

    /* With a budget just at the estimate, a real run fits. */
    job.width = job.height = 64;
    if (sd_model_load(model_path, vocab_path, NULL, &m, &err) == SD_OK) {
        size_t fit = sd_job_memory_estimate(m, &job);
        sd_model_free(m);
        opts.memory_budget_mb = (fit >> 20) + 1;
        if (sd_model_load(model_path, vocab_path, &opts, &m, &err) == SD_OK) {
            st = sd_generate(m, &job, out, &err);
            CHECK(st == SD_OK, "a job within its estimate runs under that budget: %s", err.message);
            sd_model_free(m);
        }
    }
    free(img);
    free(out);
}

/* VAE tiling: a job whose untiled VAE pass does not fit the budget runs in tiles when
 * vae_tile is automatic (0), and is refused when tiling is off (-1). */
static void test_auto_vae_tiles(void)
{
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(model_path, vocab_path, NULL, &m, &err) != SD_OK) {
        CHECK(0, "load: %s", err.message);
        return;
    }
    enum { S = 768 };
    float *img = test_image(S, S), *out = malloc((size_t)S * S * 3 * sizeof *out);
    sd_job job;
    sd_job_defaults(&job);
    job.width = job.height = S;
    job.image = img;
    job.prompt = "x";
    job.steps = 1;
    job.strength = 1.0;
    job.vae_tile = -1;
    const size_t untiled = sd_job_memory_estimate(m, &job);
    job.vae_tile = 128;
    const size_t tiled = sd_job_memory_estimate(m, &job);
    sd_model_free(m);
    const size_t budget_mb = (tiled >> 20) + 1;
    CHECK(tiled < untiled && (budget_mb << 20) < untiled,
          "tiles of 128 need less (%zu vs %zu bytes untiled)", tiled, untiled);
    sd_model_options opts = {.memory_budget_mb = budget_mb};
    if (sd_model_load(model_path, vocab_path, &opts, &m, &err) == SD_OK) {
        job.vae_tile = -1;
        sd_status st = sd_generate(m, &job, out, &err);
        CHECK(st == SD_ERR_NOMEM && strstr(err.message, "needs about"),
              "untiled over the budget: refused (%s)", err.message);
        job.vae_tile = 0;
        CHECK(sd_job_memory_estimate(m, &job) <= (budget_mb << 20),
              "automatic: the estimate is that of the tiles sd_generate picks (%zu bytes)",
              sd_job_memory_estimate(m, &job));
        st = sd_generate(m, &job, out, &err);
        int finite = 1;
        for (size_t i = 0; st == SD_OK && i < (size_t)S * S * 3; i++)
            finite &= out[i] >= 0.0f && out[i] <= 1.0f;
        CHECK(st == SD_OK && finite, "automatic: the same job runs in VAE tiles (%s)",
              st == SD_OK ? "ok" : err.message);
        job.vae_tile = 100;
        CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG &&
                  strstr(err.message, "multiple of 64"),
              "a tile size off the grid is refused: %s", err.message);
        sd_model_free(m);
    }
    free(img);
    free(out);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    check_require_fixtures(shared, "golden/tiny-sd1.safetensors", "golden/tiny-sd1-inpaint.safetensors", "clip", (const char *)NULL);
    snprintf(model_path, sizeof model_path, "%s/golden/tiny-sd1.safetensors", shared);
    snprintf(inpaint_path, sizeof inpaint_path, "%s/golden/tiny-sd1-inpaint.safetensors", shared);
    snprintf(vocab_path, sizeof vocab_path, "%s/clip", shared);
    sd_model *m = NULL, *inpaint = NULL;
    sd_error err = {0};
    if (sd_model_load(model_path, vocab_path, NULL, &m, &err) != SD_OK ||
        sd_model_load(inpaint_path, vocab_path, NULL, &inpaint, &err) != SD_OK) {
        fprintf(stderr, "cannot load the tiny models: %s\n", err.message);
        return 1;
    }
    sd_model_info info;
    sd_model_get_info(inpaint, &info);
    CHECK(info.family == SD_FAMILY_SD1_INPAINT && info.unet_in_channels == 9 &&
          strcmp(info.family_name, "sd1-inpaint") == 0, "inpaint model info");
    test_cancel(m);
    test_inpaint_keeps_unmasked(m);
    test_sizes_and_modes(m, inpaint);
    test_bad_jobs(m);
    test_guidance_and_sampling_fields(m);
    test_memory_budget();
    test_auto_vae_tiles();
    sd_model_free(m);
    sd_model_free(inpaint);
    return check_summary();
}
