/* Whole pipelines (pipe_* cases): the fixture's recorded noises are injected in draw
 * order, and every intermediate the pipeline traces is compared with the tensor of the
 * same name: prompt embeddings, VAE moments, masks, U-Net inputs/outputs, guided eps,
 * latents after each step, the decoded and final image.
 *
 * A seeded case (no noise_0, "seed" and "generator" in its json) records no noise: the
 * engine's own seeded RNG draws it, first through the traced pipeline (so every step's
 * latents are compared), then once more through the public sd_generate, whose result
 * must be the same image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golden.h"
#include "golden_model.h"
#include "pipeline/pipeline.h"
#include "core/rng.h"
#include "sd.h"

/* One float32 rounding of a value of magnitude 1 (2^-23). */
#define F32_ULP 1.1920929e-7
/* AutoencoderKL's scaling factor (SD 1.x config), for cases that name no VAE */
#define KL_SCALING 0.18215

typedef struct {
    const golden_case *c;
    golden_tally *t;
    int next_draw;          /* index of the next noise_<k> to hand out */
    const cJSON *draws;     /* the json's noise_draws: shape and caller of each */
    int draw_errors;
    sd_rng *rng;            /* seeded case: draws come from here instead of noise_<k> */
    double tol_latents, tol_embeds, tol_vae, tol_decoded, tol_image;
    double vae_scaling;     /* the latents' scaling factor: 0.18215, or 1 for TAESD */
} pipe_ctx;

/* diffusers 0.30 (../golden) drew a noise tensor in every Euler step and left it unused
 * (s_churn 0); the engine, as diffusers 0.37 (../golden-sd2), draws none. Such recorded
 * draws are passed over: they change nothing but the count. */
static void skip_unused_draws(pipe_ctx *p)
{
    const cJSON *d;
    while ((d = cJSON_GetArrayItem(p->draws, p->next_draw)) != NULL) {
        const char *caller = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "caller"));
        if (!caller || strcmp(caller, "scheduling_euler_discrete.py:step") != 0)
            return;
        p->next_draw++;
    }
}

static sd_status draw_recorded(void *user, float *out, size_t n, sd_error *err)
{
    pipe_ctx *p = user;
    skip_unused_draws(p);
    char name[32];
    snprintf(name, sizeof name, "noise_%d", p->next_draw);
    int64_t numel = 0;
    float *noise = golden_f32(p->c, name, &numel);
    if (!noise || (size_t)numel != n) {
        free(noise);
        p->draw_errors++;
        if (err) {
            err->code = SD_ERR_INTERNAL;
            snprintf(err->message, sizeof err->message,
                     "draw %d of %zu values: the fixture has %s", p->next_draw, n,
                     noise ? "another size" : "no such draw");
        }
        return SD_ERR_INTERNAL;
    }
    memcpy(out, noise, n * sizeof *out);
    free(noise);
    p->next_draw++;
    return SD_OK;
}

static sd_status draw_seeded(void *user, float *out, size_t n, sd_error *err)
{
    (void)err;
    pipe_ctx *p = user;
    sd_rng_randn(p->rng, out, n);
    p->next_draw++;
    return SD_OK;
}

/* The case's checkpoint: checkpoint.location (relative to the case folder) when the case
 * gives one that exists (a folder may hold only a text link to another folder's base
 * model), else the file in the case folder, else in the --models folder. */
static const char *checkpoint_path(const golden_case *c, const char *file, char *buf, size_t size)
{
    struct stat st;
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    const cJSON *location = cJSON_GetObjectItemCaseSensitive(ck, "location");
    if (cJSON_IsString(location)) {
        golden_path(c, location->valuestring, buf, size);
        if (stat(buf, &st) == 0)
            return buf;
    }
    golden_path(c, file, buf, size);
    if (stat(buf, &st) != 0 && c->models_dir)
        snprintf(buf, size, "%s/%s", c->models_dir, file);
    return buf;
}

/* A seeded case's generator: "torch_cpu" (torch.Generator('cpu')) or "philox"; -1 if
 * the case names another. */
static int rng_of(const cJSON *json)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(json, "generator");
    if (!cJSON_IsString(g))
        return -1;
    if (strcmp(g->valuestring, "torch_cpu") == 0) return SD_RNG_TORCH_CPU;
    if (strcmp(g->valuestring, "philox") == 0) return SD_RNG_PHILOX;
    return -1;
}

static double tolerance_for(const pipe_ctx *p, const char *name)
{
    if (strcmp(name, "mask_condition") == 0 || strcmp(name, "masked_image") == 0 ||
        strcmp(name, "mask_latent") == 0)
        return 0.0;   /* thresholds and products of exact inputs: no rounding at all */
    if (strstr(name, "prompt_embeds"))
        return p->tol_embeds;
    if (strncmp(name, "vae_encode", 10) == 0 || strcmp(name, "masked_image_latents") == 0 ||
        (strncmp(name, "taesd_encode", 12) == 0 && strstr(name, ".latents")))
        return p->tol_vae;
    if (strncmp(name, "taesd_encode", 12) == 0)
        return F32_ULP;   /* the input, 2 · image − 1: one rounding */
    if (strcmp(name, "decode_input") == 0)
        return p->tol_latents / p->vae_scaling;   /* latents ÷ scaling factor: errors grow with it */
    if (strcmp(name, "decoded") == 0)
        return p->tol_decoded;
    if (strcmp(name, "image_out") == 0)
        return p->tol_image;
    return p->tol_latents;   /* unet_in/out, noise_pred, latents_<i>, latents_final */
}

static void on_tensor(void *user, const char *name, const float *data, size_t n)
{
    pipe_ctx *p = user;
    if (!golden_tensor(p->c, name))
        return;   /* the fixture did not record this one */
    golden_compare(p->c, p->t, name, name, data, n, tolerance_for(p, name));
}

/* The noise floor of `key` from the case folder's precision.json, else from the one beside
 * the checkpoint (its real path: a case folder may link the base model of another folder,
 * whose precision.json measured the networks the case shares with it). */
static double floor_or_base(const golden_case *c, const char *checkpoint, const char *key)
{
    double floor = golden_noise_floor(c, key);
    char real[4096], path[4200];
    if (floor > 0.0 || !realpath(checkpoint, real))
        return floor;
    char *slash = strrchr(real, '/');
    if (!slash)
        return floor;
    *slash = '\0';
    snprintf(path, sizeof path, "%s/precision.json", real);
    FILE *f = fopen(path, "rb");
    if (!f)
        return floor;
    char *text = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1)) &&
        fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = '\0';
        golden_case base = {.precision = cJSON_Parse(text)};
        floor = golden_noise_floor(&base, key);
        cJSON_Delete(base.precision);
    }
    free(text);
    fclose(f);
    return floor;
}

/* A case whose VAE is diffusers' AutoencoderTiny (TAESD): its folder, from "vae": {"kind":
 * "AutoencoderTiny", "files": {"diffusers": "<folder>/ (...)"}} (or files.taesd_decoder), into buf; 0 when the
 * case uses the checkpoint's own VAE, -1 when the description is unusable. */
static int taesd_of(const golden_case *c, char *buf, size_t size)
{
    const cJSON *vae = cJSON_GetObjectItemCaseSensitive(c->json, "vae");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(vae, "kind");
    if (!cJSON_IsString(kind))
        return 0;
    if (strcmp(kind->valuestring, "AutoencoderTiny") != 0)
        return -1;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(vae, "files");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(files, "diffusers");
    if (!cJSON_IsString(d))   /* else taesd.py's decoder (its encoder is found beside it) */
        d = cJSON_GetObjectItemCaseSensitive(files, "taesd_decoder");
    char folder[1024];
    if (!cJSON_IsString(d) || sscanf(d->valuestring, "%1023s", folder) != 1)
        return -1;
    golden_path(c, folder, buf, size);
    return 1;
}

/* The case's sampler and scheduler config (scheduler, scheduler_kwargs,
 * scheduler_config), or -1 after tallying why not. */
static int sampler_of(const golden_case *c, golden_tally *t, sd_sched_config *cfg)
{
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(c->json, "scheduler");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c->json, "scheduler_config");
    if (!sc) {
        /* ../golden's pipelines name no config: the SD 1.5 one */
        *cfg = sd_sched_config_default();
        const sd_sampler_info *info = sd_sampler_info_find(
            cJSON_GetStringValue(cls),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(c->json, "scheduler_kwargs"),
                "use_karras_sigmas")));
        if (!info)
            golden_check(c, t, 0, "unknown scheduler %s", cJSON_GetStringValue(cls)
                                                               ? cJSON_GetStringValue(cls) : "?");
        return info ? (int)info->id : -1;
    }
    return golden_sched_config(c, t, cJSON_GetStringValue(cls),
                               cJSON_GetObjectItemCaseSensitive(c->json, "scheduler_kwargs"), sc,
                               cfg);
}

static int mode_of(const cJSON *json)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(json, "pipeline");
    if (!cJSON_IsString(p))
        return -1;
    if (strcmp(p->valuestring, "StableDiffusionImg2ImgPipeline") == 0) return SD_MODE_IMG2IMG;
    if (strcmp(p->valuestring, "StableDiffusionInpaintPipeline") == 0) return SD_MODE_INPAINT;
    if (strcmp(p->valuestring, "StableDiffusionPipeline") == 0) return SD_MODE_TXT2IMG;
    return -1;
}

static double num(const cJSON *json, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* NCHW [1, ch, h, w] → interleaved [h, w, ch]. */
static float *to_interleaved(const float *nchw, int ch, int h, int w)
{
    float *out = malloc((size_t)ch * h * w * sizeof *out);
    if (out)
        for (int c = 0; c < ch; c++)
            for (int i = 0; i < h * w; i++)
                out[(size_t)i * ch + c] = nchw[(size_t)c * h * w + i];
    return out;
}

int golden_run_pipeline(const golden_case *c, golden_tally *t)
{
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(ck, "file");
    int mode = mode_of(c->json);
    if (!cJSON_IsString(file) || mode < 0) {
        golden_check(c, t, 0, "case json lacks checkpoint.file, or has an unknown pipeline");
        return -1;
    }
    sd_sched_config sched;
    int sampler = sampler_of(c, t, &sched);
    if (sampler < 0)
        return -1;
    char why[600];
    if (golden_checkpoint_unsupported(c, file->valuestring, why, sizeof why))
        return golden_run_pipeline_scheduler(c, t, (sd_sampler)sampler, &sched, why);
    if (sched.steps_offset != SCHED_STEPS_OFFSET) {
        golden_check(c, t, 0, "steps_offset %d: the engine's pipelines use %d",
                     sched.steps_offset, SCHED_STEPS_OFFSET);
        return -1;
    }
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(c->json, "seed");
    int seeded = !golden_tensor(c, "noise_0") && cJSON_IsNumber(seed);
    int rng_kind = seeded ? rng_of(c->json) : SD_RNG_TORCH_CPU;
    /* cJSON keeps numbers as doubles: a seed is exact up to 2^53. */
    if (seeded && (rng_kind < 0 || !(seed->valuedouble >= 0 && seed->valuedouble <= 0x1p53) ||
                   seed->valuedouble != floor(seed->valuedouble))) {
        golden_check(c, t, 0, "seeded case with an unknown generator, or a seed that is not "
                              "an integer in 0..2^53");
        return -1;
    }
    char path[4096], taesd_path[4096];
    checkpoint_path(c, file->valuestring, path, sizeof path);
    const int taesd = taesd_of(c, taesd_path, sizeof taesd_path);
    if (taesd < 0) {
        golden_check(c, t, 0, "case json names a VAE this runner does not know");
        return -1;
    }
    sd_model *model = NULL;
    sd_error err = {0};
    /* fp32 unless --precision bf16: the goldens are float32 torch */
    const sd_model_options opts = {.precision = c->bf16_rel > 0.0 ? SD_PRECISION_BF16
                                                                   : SD_PRECISION_FP32};
    if (sd_model_load(path, c->vocab_dir, &opts, &model, &err) != SD_OK) {
        golden_check(c, t, 0, "load %s: %s", path, err.message);
        return -1;
    }
    if (taesd && sd_model_load_taesd(model, taesd_path, &err) != SD_OK) {
        golden_check(c, t, 0, "load TAESD %s: %s", taesd_path, err.message);
        sd_model_free(model);
        return -1;
    }

    int w = (int)num(c->json, "width", 0), h = (int)num(c->json, "height", 0);
    int64_t n_image = 0, n_mask = 0;
    /* txt2img (StableDiffusionPipeline) cases have no input image */
    float *image_nchw = mode == SD_MODE_TXT2IMG ? NULL : golden_f32(c, "image", &n_image);
    float *mask = mode == SD_MODE_INPAINT ? golden_f32(c, "mask", &n_mask) : NULL;
    float *image = image_nchw ? to_interleaved(image_nchw, 3, h, w) : NULL;
    float *out = malloc((size_t)w * h * 3 * sizeof *out);
    int rc = -1;
    if (!out || (mode == SD_MODE_INPAINT && (!mask || n_mask != (int64_t)w * h)) ||
        (mode != SD_MODE_TXT2IMG && (!image || n_image != (int64_t)3 * w * h))) {
        golden_check(c, t, 0, "fixture image/mask missing or not %dx%d", w, h);
        goto done;
    }

    const char *case_name = c->name;
    char key[128];
    pipe_ctx p = {.c = c, .t = t, .vae_scaling = taesd ? 1.0 : KL_SCALING,
                  .draws = cJSON_GetObjectItemCaseSensitive(c->json, "noise_draws")};
    /* 10x the float32 noise floor of precision.json (the final latents' floor for every
     * per-step tensor: it is the largest along the trajectory). */
    snprintf(key, sizeof key, "%s.latents_final", case_name);
    p.tol_latents = 10.0 * golden_noise_floor(c, key);
    snprintf(key, sizeof key, "%s.image_out", case_name);
    p.tol_image = 10.0 * golden_noise_floor(c, key);
    p.tol_decoded = 2.0 * p.tol_image;   /* image_out = decoded / 2 + 0.5 */
    p.tol_embeds = 10.0 * floor_or_base(c, path, "text_encoder.last_hidden_state");
    p.tol_vae = taesd ? 10.0 * fmax(golden_noise_floor(c, "taesd_encode0.latents"),
                                    golden_noise_floor(c, "taesd_encode1.latents"))
                      : 10.0 * fmax(floor_or_base(c, path, "vae_encode0.mean"),
                                    floor_or_base(c, path, "vae_encode1.mean"));
    if (p.tol_latents <= 0 || p.tol_image <= 0 || p.tol_embeds <= 0 ||
        (p.tol_vae <= 0 && mode != SD_MODE_TXT2IMG)) {   /* txt2img encodes nothing */
        golden_check(c, t, 0, "precision.json has no noise floor for this case");
        goto done;
    }

    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(c->json, "prompt");
    const cJSON *negative = cJSON_GetObjectItemCaseSensitive(c->json, "negative_prompt");
    sd_job job;
    sd_job_defaults(&job);
    job.mode = (sd_mode)mode;
    job.sampler = (sd_sampler)sampler;
    job.spacing = sched.spacing;
    job.prediction = sched.prediction;
    job.width = w;
    job.height = h;
    job.image = image;
    job.mask = mask;
    job.prompt = cJSON_IsString(prompt) ? prompt->valuestring : "";
    job.negative_prompt = cJSON_IsString(negative) ? negative->valuestring : "";
    job.strength = num(c->json, "strength", 1.0);
    job.steps = (int)num(c->json, "num_inference_steps", 0);
    job.cfg_scale = (float)num(c->json, "guidance_scale", 7.5);
    job.rng = (sd_rng_kind)rng_kind;
    job.seed = seeded ? (uint64_t)seed->valuedouble : 0;
    enum { MAX_LORAS = 8 };
    static char lora_paths[MAX_LORAS][4096];
    sd_lora loras[MAX_LORAS];
    job.n_loras = golden_case_loras(c, loras, lora_paths, MAX_LORAS);
    job.loras = loras;
    if (job.n_loras < 0) {
        golden_check(c, t, 0, "the case's \"lora\" list is malformed");
        goto done;
    }
    job.draft_vae = taesd;

    sd_rng rng;
    sd_rng_init(&rng, job.rng, job.seed);
    p.rng = &rng;
    sd_noise_source noise = {seeded ? draw_seeded : draw_recorded, &p};
    sd_pipeline_trace trace = {on_tensor, &p};
    sd_status st = sd_pipeline_run(model, &job, &noise, &trace, out, &err);
    golden_check(c, t, st == SD_OK, "pipeline ran (%s)", st == SD_OK ? "ok" : err.message);
    if (st != SD_OK)
        goto done;

    const cJSON *draws = p.draws;
    if (!seeded)
        skip_unused_draws(&p);
    int expected_draws = cJSON_GetArraySize(draws);
    golden_check(c, t, p.next_draw == expected_draws && p.draw_errors == 0,
                 "noise draws %d, reference %d", p.next_draw, expected_draws);

    /* The public result: interleaved RGB, compared with image_out. */
    float *out_nchw = malloc((size_t)w * h * 3 * sizeof *out_nchw);
    if (out_nchw) {
        for (int ch = 0; ch < 3; ch++)
            for (int i = 0; i < w * h; i++)
                out_nchw[(size_t)ch * w * h + i] = out[(size_t)i * 3 + ch];
        golden_compare(c, t, "result (public RGB)", "image_out", out_nchw, (size_t)3 * w * h,
                       p.tol_image);
    }

    /* Seeded: the public entry point, given only the seed, must make the same image. */
    if (seeded && out_nchw) {
        memset(out, 0, (size_t)w * h * 3 * sizeof *out);   /* no stale pass from the first run */
        st = sd_generate(model, &job, out, &err);
        golden_check(c, t, st == SD_OK, "sd_generate with seed %llu ran (%s)",
                     (unsigned long long)job.seed, st == SD_OK ? "ok" : err.message);
        if (st == SD_OK) {
            for (int ch = 0; ch < 3; ch++)
                for (int i = 0; i < w * h; i++)
                    out_nchw[(size_t)ch * w * h + i] = out[(size_t)i * 3 + ch];
            golden_compare(c, t, "result (public sd_generate, seeded)", "image_out", out_nchw,
                           (size_t)3 * w * h, p.tol_image);
        }
    }
    free(out_nchw);
    rc = 0;
done:
    free(out);
    free(image);
    free(image_nchw);
    free(mask);
    sd_model_free(model);
    return rc;
}
