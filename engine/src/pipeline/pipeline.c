/* img2img, inpaint (4- and 9-channel U-Net) and txt2img, as diffusers 0.30 runs them:
 *
 *   prompts → CLIP (CFG batch [negative, prompt])
 *   image → VAE encode → sample × 0.18215 → add_noise at the first timestep
 *   for each step: U-Net on both rows → CFG → scheduler step (→ 4-channel inpaint blend)
 *   latents / 0.18215 → VAE decode → clamp(x / 2 + 0.5, 0, 1)
 *
 * Every random draw goes through the noise source in diffusers' order, so the same seed
 * gives the same image as diffusers with a CPU torch generator. */
#include "pipeline/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "pipeline/draft.h"
#include "pipeline/image_prep.h"
#include "pipeline/memory.h"
#include "pipeline/model.h"
#include "pipeline/model_lora.h"
#include "pipeline/prompt_encode.h"
#include "pipeline/preview.h"
#include "pipeline/sampling.h"
#include "core/rng.h"
#include "sched/scheduler.h"

/* Everything one job holds between phases. Buffers come from the arena (sized on the
 * first use, reused by every step); the networks take their scratch above `mark`. */
typedef struct {
    sd_model *m;
    const sd_job *job;
    const sd_noise_source *noise;
    const sd_pipeline_trace *trace;
    sd_error *err;
    sd_arena arena;

    int width, height;        /* padded to multiples of 8 */
    int lh, lw;               /* latent size */
    int lat_c;                /* latent channels (4) */
    size_t lat_n;             /* lat_c * lh * lw */
    int cfg;                  /* classifier-free guidance: batch 2 */
    int ctx_len, ctx_dim;
    int vae_tile;             /* VAE tile side in pixels, or <= 0: untiled */
    int draft;                /* encode and decode with the TAESD (job.draft_vae) */

    float *context;           /* [batch, ctx_len, ctx_dim]: negative row first */
    float *image;             /* [1, 3, H, W] in [-1, 1] */
    float *mask_bin;          /* [H, W] (inpaint) */
    float *mask_latent;       /* [lh, lw] */
    float *masked_image_latents;  /* [1, 4, lh, lw] (9-channel inpaint) */
    float *image_latents;     /* [1, 4, lh, lw] clean, scaled */
    float *init_noise;        /* the latent noise; the 4-channel blend re-uses it */
    float *latents;
    sd_scheduler *sched;
} run;

static void trace(const run *r, const char *name, const float *x, size_t n)
{
    if (r->trace && r->trace->tensor)
        r->trace->tensor(r->trace->user, name, x, n);
}

static sd_status draw(run *r, float *out, size_t n)
{
    sd_status st = r->noise->draw(r->noise->user, out, n, r->err);
    return st == SD_OK ? st : sd_fail_context(r->err, st, "noise");
}

static int report(const run *r, sd_phase phase, int step, int total)
{
    return r->job->progress && r->job->progress(r->job->progress_user, phase, step, total);
}

static float *alloc_floats(run *r, size_t n)
{
    float *p = sd_arena_floats(&r->arena, n);
    if (!p)
        sd_fail(r->err, SD_ERR_NOMEM, "out of memory (%zu MiB more needed)",
                (n * sizeof(float)) >> 20);
    return p;
}

/* ---- validation ---------------------------------------------------------- */

/* The range of clip skip is the loaded text encoder's: SD 1.x's CLIP ViT-L runs 12 layers,
 * SD 2.x's OpenCLIP ViT-H 23 (SD_CLIP_SKIP_MAX, the static bound, admits both). */
static sd_status check_clip_skip(const sd_model *m, int clip_skip, sd_error *err)
{
    const int layers = m->cfg.clip.layers;
    if (clip_skip >= SD_CLIP_SKIP_MIN && clip_skip <= layers)
        return SD_OK;
    const sd_family_row *row = sd_family_row_of(m->cfg.family);
    return sd_fail(err, SD_ERR_INVALID_ARG,
                   "clip skip %d does not fit this model: its text encoder (%s) runs %d layers, "
                   "so clip skip is %d..%d (1 = the encoder's output)", clip_skip,
                   row && row->text_encoder_name ? row->text_encoder_name : "CLIP", layers,
                   SD_CLIP_SKIP_MIN, layers);
}

static sd_status check_job(const sd_model *m, const sd_job *j, sd_error *err)
{
    if (j->mode != SD_MODE_IMG2IMG && j->mode != SD_MODE_INPAINT && j->mode != SD_MODE_TXT2IMG)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown mode %d", (int)j->mode);
    if (j->width < SD_SIZE_MIN || j->height < SD_SIZE_MIN)
        return sd_fail(err, SD_ERR_INVALID_ARG, "image %dx%d is too small: at least %dx%d pixels",
                       j->width, j->height, SD_SIZE_MIN, SD_SIZE_MIN);
    if (j->width > SD_SIZE_MAX || j->height > SD_SIZE_MAX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "image %dx%d is too large: at most %d per side",
                       j->width, j->height, SD_SIZE_MAX);
    if (j->mode != SD_MODE_TXT2IMG && !j->image)
        return sd_fail(err, SD_ERR_INVALID_ARG, "no input image");
    if (j->mode == SD_MODE_INPAINT && !j->mask)
        return sd_fail(err, SD_ERR_INVALID_ARG, "inpainting needs a mask");
    if (j->steps < SD_STEPS_MIN || j->steps > SD_STEPS_MAX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "steps must be in %d..%d, got %d", SD_STEPS_MIN,
                       SD_STEPS_MAX, j->steps);
    if (j->mode != SD_MODE_TXT2IMG && !(j->strength > 0.0 && j->strength <= SD_STRENGTH_MAX))
        return sd_fail(err, SD_ERR_INVALID_ARG, "strength must be in (0, %g], got %g",
                       SD_STRENGTH_MAX, j->strength);
    if (!(j->cfg_scale >= SD_CFG_MIN && j->cfg_scale <= SD_CFG_MAX))
        return sd_fail(err, SD_ERR_INVALID_ARG, "CFG scale must be in %g..%g, got %g",
                       (double)SD_CFG_MIN, (double)SD_CFG_MAX, (double)j->cfg_scale);
    sd_status st = sd_job_check_sampling(j, err);
    if (st != SD_OK)
        return st;
    if ((st = check_clip_skip(m, j->clip_skip, err)) != SD_OK)
        return st;
    if (j->rng != SD_RNG_TORCH_CPU && j->rng != SD_RNG_PHILOX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown noise source %d", (int)j->rng);
    if (j->masked_content != SD_MASKED_ORIGINAL && j->masked_content != SD_MASKED_FILL &&
        j->masked_content != SD_MASKED_LATENT_NOISE)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown masked-content mode %d",
                       (int)j->masked_content);
    if (j->vae_tile != SD_VAE_TILE_AUTO && j->vae_tile != SD_VAE_TILE_OFF &&
        (j->vae_tile < SD_VAE_TILE_MIN || j->vae_tile > SD_VAE_TILE_MAX ||
         j->vae_tile % SD_VAE_TILE_MULTIPLE != 0))
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "VAE tile size must be a multiple of %d pixels in %d..%d, %d for "
                       "automatic or %d for never; got %d", SD_VAE_TILE_MULTIPLE,
                       SD_VAE_TILE_MIN, SD_VAE_TILE_MAX, SD_VAE_TILE_AUTO, SD_VAE_TILE_OFF,
                       j->vae_tile);
    return SD_OK;
}

/* ---- phases -------------------------------------------------------------- */

/* Row `row` of the CFG context [batch, ctx_len, ctx_dim]: the prompt's chunks, then (when
 * the other prompt has more) the empty prompt's encoding repeated, as A1111 pads cond and
 * uncond to the same length (pad_cond_uncond). */
static void fill_context_row(run *r, int row, const float *z, int n, const float *empty)
{
    size_t one = (size_t)SD_CLIP_CONTEXT * r->ctx_dim;
    float *dst = r->context + (size_t)row * r->ctx_len * r->ctx_dim;
    memcpy(dst, z, (size_t)n * one * sizeof *dst);
    for (int i = n; i < r->ctx_len / SD_CLIP_CONTEXT; i++)
        memcpy(dst + (size_t)i * one, empty, one * sizeof *dst);
}

/* The CFG context: [negative, prompt], each encoded as A1111 (prompt_encode.h), as many
 * 77-token chunks as the longer needs. diffusers applies clip skip to the prompt only. */
static sd_status phase_text(run *r)
{
    float *z[2] = {NULL, NULL}, *empty[2] = {NULL, NULL};
    int n[2] = {0, 0}, n_empty = 0;
    const char *texts[2] = {r->job->negative_prompt, r->job->prompt};
    const int skips[2] = {1, r->job->clip_skip};
    sd_status st = SD_OK;
    for (int row = r->cfg ? 0 : 1; row < 2 && st == SD_OK; row++)
        st = sd_prompt_encode(r->m, &r->arena, texts[row], skips[row], &z[row], &n[row], r->err);
    int chunks = n[0] > n[1] ? n[0] : n[1];
    for (int row = r->cfg ? 0 : 1; row < 2 && st == SD_OK; row++)
        if (n[row] < chunks)
            st = sd_prompt_encode(r->m, &r->arena, "", skips[row], &empty[row], &n_empty, r->err);
    if (st == SD_OK) {
        r->ctx_len = chunks * SD_CLIP_CONTEXT;
        r->context = alloc_floats(r, (size_t)r->ctx_len * r->ctx_dim * (r->cfg ? 2 : 1));
        st = r->context ? SD_OK : SD_ERR_NOMEM;
    }
    for (int row = r->cfg ? 0 : 1; row < 2 && st == SD_OK; row++)
        fill_context_row(r, r->cfg ? row : 0, z[row], n[row], empty[row]);
    for (int row = 0; row < 2; row++) {
        free(z[row]);
        free(empty[row]);
    }
    if (st != SD_OK)
        return st;  /* the parser's and the text encoder's messages name them */
    size_t one = (size_t)r->ctx_len * r->ctx_dim;
    float *positive = r->cfg ? r->context + one : r->context;
    trace(r, "prompt_embeds", positive, one);
    if (r->cfg)
        trace(r, "negative_prompt_embeds", r->context, one);
    return SD_OK;
}

/* VAE encode of an image [1,3,H,W] in [-1,1] → scaled latent sample (one noise draw).
 * `index` numbers the encode calls as the fixtures do (vae_encode<index>). */
/* The draft VAE's encode: TAESD latents are the U-Net's as they are (no sampling, no
 * draw). Traced as the TAESD fixtures name it: taesd_encode (then taesd_encode1, ...). */
static sd_status encode_image_draft(run *r, const float *image, int index, float *latent)
{
    char name[48];
    snprintf(name, sizeof name, index ? "taesd_encode%d.input" : "taesd_encode.input", index);
    trace(r, name, image, (size_t)3 * r->height * r->width);
    sd_status st = sd_draft_encode(r->m, &r->arena, image, r->height, r->width, latent, r->err);
    if (st != SD_OK)
        return st;   /* TAESD's messages name it */
    snprintf(name, sizeof name, index ? "taesd_encode%d.latents" : "taesd_encode.latents", index);
    trace(r, name, latent, r->lat_n);
    return SD_OK;
}

static sd_status encode_image(run *r, const float *image, int index, float *latent)
{
    if (r->draft)
        return encode_image_draft(r, image, index, latent);
    sd_arena_mark mark = sd_arena_get_mark(&r->arena);
    float *mean = alloc_floats(r, r->lat_n), *logvar = alloc_floats(r, r->lat_n);
    float *noise = alloc_floats(r, r->lat_n);
    if (!mean || !logvar || !noise)
        return SD_ERR_NOMEM;
    sd_status st =
        r->vae_tile > 0
            ? sd_vae_encode_tiled(&r->m->vae, &r->arena, image, r->height, r->width,
                                  r->vae_tile, mean, logvar, r->err)
            : sd_vae_encode(&r->m->vae, &r->arena, image, r->height, r->width, mean, logvar,
                            NULL, r->err);
    if (st != SD_OK)
        return st;  /* the VAE's messages name it */
    char name[48];
    snprintf(name, sizeof name, "vae_encode%d.mean", index);
    trace(r, name, mean, r->lat_n);
    snprintf(name, sizeof name, "vae_encode%d.logvar", index);
    trace(r, name, logvar, r->lat_n);
    if ((st = draw(r, noise, r->lat_n)) != SD_OK)
        return st;
    sd_vae_sample(mean, logvar, noise, r->lat_n, r->m->cfg.vae.scaling_factor, latent);
    sd_arena_reset(&r->arena, mark);
    return SD_OK;
}

static sd_status phase_img2img_init(run *r)
{
    r->image_latents = alloc_floats(r, r->lat_n);
    r->init_noise = alloc_floats(r, r->lat_n);
    r->latents = alloc_floats(r, r->lat_n);
    if (!r->image_latents || !r->init_noise || !r->latents)
        return SD_ERR_NOMEM;
    if (report(r, SD_PHASE_ENCODE, 0, 1))
        return SD_ERR_CANCELLED;
    sd_status st = encode_image(r, r->image, 0, r->image_latents);
    if (st != SD_OK)
        return st;
    if (report(r, SD_PHASE_ENCODE, 1, 1))
        return SD_ERR_CANCELLED;
    if ((st = draw(r, r->init_noise, r->lat_n)) != SD_OK)
        return st;
    return sd_scheduler_add_noise(r->sched, 0, r->image_latents, r->init_noise, r->latents, r->err);
}

static sd_status phase_txt2img_init(run *r)
{
    r->init_noise = alloc_floats(r, r->lat_n);
    r->latents = alloc_floats(r, r->lat_n);
    if (!r->init_noise || !r->latents)
        return SD_ERR_NOMEM;
    sd_status st = draw(r, r->init_noise, r->lat_n);
    if (st != SD_OK)
        return st;
    float sigma = sd_scheduler_init_noise_sigma(r->sched);
    for (size_t i = 0; i < r->lat_n; i++)
        r->latents[i] = r->init_noise[i] * sigma;
    return SD_OK;
}

/* Inpainting as StableDiffusionInpaintPipeline: binarised mask, masked image, latent
 * mask at (8i, 8j), then the draws in its order (see pipeline.h). */
static sd_status phase_inpaint_init(run *r, const float *mask_padded)
{
    size_t plane = (size_t)r->width * r->height;
    int nine = r->m->cfg.unet.in_channels == 9;
    int full = r->job->strength >= 1.0;
    sd_status st;

    r->mask_bin = alloc_floats(r, plane);
    r->mask_latent = alloc_floats(r, (size_t)r->lh * r->lw);
    r->init_noise = alloc_floats(r, r->lat_n);
    r->latents = alloc_floats(r, r->lat_n);
    float *masked = alloc_floats(r, 3 * plane);
    if (!r->mask_bin || !r->mask_latent || !r->init_noise || !r->latents || !masked)
        return SD_ERR_NOMEM;
    sd_mask_binarize(mask_padded, plane, r->mask_bin);
    sd_masked_image(r->image, r->mask_bin, r->height, r->width, masked);
    sd_mask_to_latent(r->mask_bin, r->height, r->width, r->mask_latent);
    trace(r, "mask_condition", r->mask_bin, plane);
    trace(r, "masked_image", masked, 3 * plane);
    trace(r, "mask_latent", r->mask_latent, (size_t)r->lh * r->lw);

    if (r->job->masked_content == SD_MASKED_FILL &&
        sd_fill_masked(r->image, r->mask_bin, r->height, r->width) != 0)
        return sd_fail(r->err, SD_ERR_NOMEM, "out of memory filling the masked area");

    if (report(r, SD_PHASE_ENCODE, 0, 1))
        return SD_ERR_CANCELLED;
    int encode_index = 0;
    if (!nine || !full) {
        r->image_latents = alloc_floats(r, r->lat_n);
        if (!r->image_latents)
            return SD_ERR_NOMEM;
        if ((st = encode_image(r, r->image, encode_index++, r->image_latents)) != SD_OK)
            return st;
    }
    if ((st = draw(r, r->init_noise, r->lat_n)) != SD_OK)
        return st;
    if (full) {
        float sigma = sd_scheduler_init_noise_sigma(r->sched);
        for (size_t i = 0; i < r->lat_n; i++)
            r->latents[i] = r->init_noise[i] * sigma;
    } else if ((st = sd_scheduler_add_noise(r->sched, 0, r->image_latents, r->init_noise,
                                            r->latents, r->err)) != SD_OK)
        return st;

    if (nine) {
        r->masked_image_latents = alloc_floats(r, r->lat_n);
        if (!r->masked_image_latents)
            return SD_ERR_NOMEM;
        if ((st = encode_image(r, masked, encode_index, r->masked_image_latents)) != SD_OK)
            return st;
        trace(r, "masked_image_latents", r->masked_image_latents, r->lat_n);
    } else if (!r->draft) {
        /* diffusers encodes the masked image even for a 4-channel U-Net, which never uses
         * it; only its noise draw matters (it advances the generator). TAESD's encode
         * draws nothing. */
        sd_arena_mark mark = sd_arena_get_mark(&r->arena);
        float *unused = alloc_floats(r, r->lat_n);
        if (!unused)
            return SD_ERR_NOMEM;
        st = draw(r, unused, r->lat_n);
        sd_arena_reset(&r->arena, mark);
        if (st != SD_OK)
            return st;
    }

    if (r->job->masked_content == SD_MASKED_LATENT_NOISE && !full) {
        /* A1111's "latent noise": the start latent under the mask is fresh noise at the
         * first step's level instead of the noised image. */
        float sigma = sd_scheduler_init_noise_sigma(r->sched);
        for (int c = 0; c < r->lat_c; c++)
            for (int i = 0; i < r->lh * r->lw; i++)
                if (r->mask_latent[i] > 0.5f) {
                    size_t k = (size_t)c * r->lh * r->lw + i;
                    r->latents[k] = r->init_noise[k] * sigma;
                }
    }
    if (report(r, SD_PHASE_ENCODE, 1, 1))
        return SD_ERR_CANCELLED;
    return SD_OK;
}

/* U-Net input rows [batch, C_in, lh, lw]: the scaled latents, then for the 9-channel
 * U-Net the latent mask and the masked-image latents (not scaled). */
static void build_unet_input(const run *r, const float *scaled, int batch, int c_in, float *in)
{
    size_t hw = (size_t)r->lh * r->lw;
    for (int b = 0; b < batch; b++) {
        float *row = in + (size_t)b * c_in * hw;
        memcpy(row, scaled, r->lat_n * sizeof *row);
        if (c_in == 9) {
            memcpy(row + r->lat_n, r->mask_latent, hw * sizeof *row);
            memcpy(row + r->lat_n + hw, r->masked_image_latents, r->lat_n * sizeof *row);
        }
    }
}

/* x0 for samplers whose step returns none (PNDM, DPM++, on alphas_cumprod): from the
 * model output (ε or v) at the step's timestep, with the latents before the step. */
static void preview_x0(const run *r, int i, const float *model_output, float *x0)
{
    sd_scheduler_tables tab;
    sd_scheduler_get_tables(r->sched, &tab);
    int t = (int)lrintf(sd_scheduler_timestep(r->sched, i));
    t = t < 0 ? 0 : t >= SCHED_TRAIN_STEPS ? SCHED_TRAIN_STEPS - 1 : t;
    if (sd_job_sched_config(r->m, r->job).prediction == SD_PREDICTION_V)
        sd_x0_from_v(r->latents, model_output, r->lat_n, tab.alphas_cumprod[t], x0);
    else
        sd_x0_from_eps(r->latents, model_output, r->lat_n, tab.alphas_cumprod[t], x0);
}

/* The preview of x0; the 4-channel inpaint shows the original outside the mask, as the
 * result will. */
static sd_status emit_preview(run *r, float *x0, int step, int steps)
{
    const size_t hw = (size_t)r->lh * r->lw;
    if (r->job->mode == SD_MODE_INPAINT && r->image_latents && r->mask_latent)
        for (int c = 0; c < r->lat_c; c++)
            for (size_t k = 0; k < hw; k++) {
                const size_t q = (size_t)c * hw + k;
                const float m = r->mask_latent[k];
                x0[q] = (1.0f - m) * r->image_latents[q] + m * x0[q];
            }
    return sd_preview_emit(r->m, &r->arena, r->job, x0, r->lh, r->lw, step, steps, r->err);
}

static sd_status phase_denoise(run *r)
{
    const sd_unet_config *ucfg = &r->m->cfg.unet;
    int batch = r->cfg ? 2 : 1, c_in = ucfg->in_channels;
    int steps = sd_scheduler_num_steps(r->sched);
    size_t hw = (size_t)r->lh * r->lw;
    int blend = r->job->mode == SD_MODE_INPAINT && c_in == 4;
    float guidance = r->job->cfg_scale;

    float *scaled = alloc_floats(r, r->lat_n);
    float *unet_in = alloc_floats(r, (size_t)batch * c_in * hw);
    float *eps = alloc_floats(r, (size_t)batch * r->lat_n);
    float *noise_pred = alloc_floats(r, r->lat_n);
    float *step_noise = alloc_floats(r, r->lat_n);
    float *proper = blend ? alloc_floats(r, r->lat_n) : NULL;
    float *x0 = r->job->preview && r->job->preview_every > 0 ? alloc_floats(r, r->lat_n) : NULL;
    if (!scaled || !unet_in || !eps || !noise_pred || !step_noise || (blend && !proper) ||
        (r->job->preview && r->job->preview_every > 0 && !x0))
        return SD_ERR_NOMEM;
    sd_arena_mark mark = sd_arena_get_mark(&r->arena);

    if (report(r, SD_PHASE_DENOISE, 0, steps))
        return SD_ERR_CANCELLED;
    char name[48];
    for (int i = 0; i < steps; i++) {
        sd_status st = sd_scheduler_scale_model_input(r->sched, i, r->latents, scaled, r->err);
        if (st != SD_OK)
            return st;
        build_unet_input(r, scaled, batch, c_in, unet_in);
        snprintf(name, sizeof name, "unet_in_%d", i);
        trace(r, name, unet_in, (size_t)batch * c_in * hw);

        st = sd_unet_forward(&r->m->unet, &r->arena, unet_in, batch, r->lh, r->lw,
                             sd_scheduler_timestep(r->sched, i), r->context, r->ctx_len, eps,
                             NULL, r->err);
        sd_arena_reset(&r->arena, mark);
        if (st != SD_OK)
            return sd_fail_context(r->err, st, "step %d", i + 1);  /* "unet ...: " follows */
        snprintf(name, sizeof name, "unet_out_%d", i);
        trace(r, name, eps, (size_t)batch * r->lat_n);

        /* CFG: eps = e_neg + g · (e_prompt − e_neg), in this order as diffusers. */
        if (r->cfg)
            for (size_t k = 0; k < r->lat_n; k++)
                noise_pred[k] = eps[k] + guidance * (eps[r->lat_n + k] - eps[k]);
        else
            memcpy(noise_pred, eps, r->lat_n * sizeof *eps);
        snprintf(name, sizeof name, "noise_pred_%d", i);
        trace(r, name, noise_pred, r->lat_n);

        int needs = sd_scheduler_needs_noise(r->sched, i);
        if (needs && (st = draw(r, step_noise, r->lat_n)) != SD_OK)
            return st;
        const int preview = sd_preview_due(r->job, i + 1, steps);
        if (preview && !sd_scheduler_has_pred_original(r->sched))
            preview_x0(r, i, noise_pred, x0);
        st = sd_scheduler_step(r->sched, i, noise_pred, r->latents, needs ? step_noise : NULL,
                               r->latents, preview ? x0 : NULL, r->err);
        if (st != SD_OK)
            return st;

        if (blend) {
            /* Keep the unmasked area on the image's own trajectory: the clean latents
             * noised to the next timestep (clean after the last step). */
            if (i + 1 < steps) {
                st = sd_scheduler_add_noise(r->sched, i + 1, r->image_latents, r->init_noise,
                                            proper, r->err);
                if (st != SD_OK)
                    return st;
            } else
                memcpy(proper, r->image_latents, r->lat_n * sizeof *proper);
            for (int c = 0; c < r->lat_c; c++)
                for (size_t k = 0; k < hw; k++) {
                    size_t q = (size_t)c * hw + k;
                    float m = r->mask_latent[k];
                    r->latents[q] = (1.0f - m) * proper[q] + m * r->latents[q];
                }
        }
        snprintf(name, sizeof name, "latents_%d", i);
        trace(r, name, r->latents, r->lat_n);
        if (!sd_all_finite(r->latents, r->lat_n))
            return sd_fail(r->err, SD_ERR_NUMERIC,
                           "the latents became NaN or Inf at step %d of %d (a broken model "
                           "file, or an unstable sampler setting)", i + 1, steps);
        if (report(r, SD_PHASE_DENOISE, i + 1, steps))
            return SD_ERR_CANCELLED;
        if (preview && (st = emit_preview(r, x0, i + 1, steps)) != SD_OK)
            return st;
    }
    trace(r, "latents_final", r->latents, r->lat_n);
    return SD_OK;
}

static sd_status phase_decode(run *r, float *out_rgb)
{
    size_t plane = (size_t)r->width * r->height;
    float *z = alloc_floats(r, r->lat_n);
    float *decoded = alloc_floats(r, 3 * plane);
    if (!z || !decoded)
        return SD_ERR_NOMEM;
    if (report(r, SD_PHASE_DECODE, 0, 1))
        return SD_ERR_CANCELLED;
    /* TAESD decodes U-Net latents as they are (AutoencoderTiny scaling_factor 1) */
    if (r->draft)
        memcpy(z, r->latents, r->lat_n * sizeof *z);
    else
        sd_vae_unscale(r->latents, r->lat_n, r->m->cfg.vae.scaling_factor, z);
    trace(r, "decode_input", z, r->lat_n);
    sd_status st =
        r->draft ? sd_draft_decode(r->m, &r->arena, z, r->lh, r->lw, decoded, r->err)
        : r->vae_tile > 0
            ? sd_vae_decode_tiled(&r->m->vae, &r->arena, z, r->lh, r->lw, r->vae_tile, decoded,
                                  r->err)
            : sd_vae_decode(&r->m->vae, &r->arena, z, r->lh, r->lw, decoded, NULL, r->err);
    if (st != SD_OK)
        return st;  /* the VAE's messages name it */
    trace(r, "decoded", decoded, 3 * plane);
    if (!sd_all_finite(decoded, 3 * plane))
        return sd_fail(r->err, SD_ERR_NUMERIC, "the decoded image holds NaN or Inf values");
    sd_vae_to_unit_range(decoded, 3 * plane, decoded);
    trace(r, "image_out", decoded, 3 * plane);
    sd_nchw_to_rgb(decoded, r->width, r->height, r->job->width, r->job->height, out_rgb);
    if (report(r, SD_PHASE_DECODE, 1, 1))
        return SD_ERR_CANCELLED;
    return SD_OK;
}

/* ---- entry points -------------------------------------------------------- */

static sd_status run_phases(run *r, float *out_rgb)
{
    const sd_job *j = r->job;
    sd_status st;
    double strength = j->mode == SD_MODE_TXT2IMG ? 1.0 : j->strength;
    const sd_sched_config sched = sd_job_sched_config(r->m, j);
    if ((st = sd_scheduler_create(j->sampler, &sched, j->steps, strength, r->lat_n, &r->sched,
                                  r->err)))
        return st;

    size_t plane = (size_t)r->width * r->height;
    float *mask_padded = NULL;
    if (j->mode != SD_MODE_TXT2IMG) {
        r->image = alloc_floats(r, 3 * plane);
        if (!r->image)
            return SD_ERR_NOMEM;
        sd_rgb_to_nchw(j->image, j->width, j->height, r->width, r->height, r->image);
    }
    if (j->mode == SD_MODE_INPAINT) {
        mask_padded = alloc_floats(r, plane);
        if (!mask_padded)
            return SD_ERR_NOMEM;
        sd_mask_pad(j->mask, j->width, j->height, r->width, r->height, mask_padded);
    }

    if (report(r, SD_PHASE_TEXT, 0, 1))
        return SD_ERR_CANCELLED;
    st = phase_text(r);
    sd_model_release(r->m, SD_NET_TEXT_ENCODER);
    if (st != SD_OK)
        return st;
    if (report(r, SD_PHASE_TEXT, 1, 1))
        return SD_ERR_CANCELLED;

    if (j->mode == SD_MODE_IMG2IMG)
        st = phase_img2img_init(r);
    else if (j->mode == SD_MODE_INPAINT)
        st = phase_inpaint_init(r, mask_padded);
    else
        st = phase_txt2img_init(r);
    sd_model_release(r->m, SD_NET_VAE_ENCODER);
    if (st != SD_OK)
        return st;
    sd_arena_trim(&r->arena);
    st = phase_denoise(r);
    sd_model_release(r->m, SD_NET_UNET);
    if (st != SD_OK)
        return st;
    sd_arena_trim(&r->arena);
    st = phase_decode(r, out_rgb);
    sd_model_release(r->m, SD_NET_VAE_DECODER);
    return st;
}

sd_status sd_pipeline_run(sd_model *m, const sd_job *job, const sd_noise_source *noise,
                          const sd_pipeline_trace *tr, float *out_rgb, sd_error *err)
{
    if (!m || !job || !noise || !out_rgb)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_generate: model, job and output are required");
    sd_status st = check_job(m, job, err);
    if (st == SD_OK)
        st = sd_draft_check(m, job, err);
    if (st != SD_OK)
        return st;
    /* sd1-inpaint and sd2-inpaint: the 9-channel U-Net needs the mask and masked image */
    if (m->cfg.unet.in_channels == 9 && job->mode != SD_MODE_INPAINT)
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "this is an inpainting checkpoint (9-channel U-Net): use it for "
                       "inpainting, or load an ordinary %s checkpoint for %s",
                       m->cfg.family == SD_FAMILY_SD2_INPAINT ? "SD 2.x" : "SD 1.x",
                       job->mode == SD_MODE_IMG2IMG ? "image to image" : "text to image");

    /* Refuse up front what cannot fit, with the size it needs; bound the run by the same
     * budget so that an underestimate fails cleanly rather than waking the OOM killer. */
    size_t budget = sd_job_budget(m);
    const int vae_tile = sd_job_vae_tile(m, job, budget);
    size_t need = sd_job_memory_estimate_tiled(m, job, vae_tile);
    if (budget && need > budget)
        return sd_fail(err, SD_ERR_NOMEM,
                       "a %dx%d job needs about %zu MiB of working memory, but only %zu MiB %s; "
                       "use a smaller region or working resolution", job->width, job->height,
                       need >> 20, budget >> 20,
                       m->memory_budget ? "are allowed (memory budget)" : "are available");

    if ((st = sd_model_use_loras(m, job, err)) != SD_OK)
        return sd_fail_context(err, st, "LoRA");

    run r = {.m = m, .job = job, .noise = noise, .trace = tr, .err = err};
    r.width = sd_pad8(job->width);
    r.height = sd_pad8(job->height);
    r.lh = r.height / 8;
    r.lw = r.width / 8;
    r.lat_c = m->cfg.vae.latent_channels;
    r.lat_n = (size_t)r.lat_c * r.lh * r.lw;
    r.cfg = job->cfg_scale > 1.0f;   /* diffusers: do_classifier_free_guidance */
    r.ctx_len = SD_CLIP_CONTEXT;
    r.ctx_dim = m->cfg.clip.hidden;
    r.vae_tile = vae_tile;
    r.draft = job->draft_vae;
    sd_arena_init(&r.arena, budget);

    st = run_phases(&r, out_rgb);
    if (st == SD_ERR_CANCELLED)
        sd_fail(err, SD_ERR_CANCELLED, "cancelled");
    sd_scheduler_free(r.sched);
    sd_arena_free(&r.arena);
    return st;
}

static sd_status draw_rng(void *user, float *out, size_t n, sd_error *err)
{
    (void)err;
    sd_rng_randn(user, out, n);
    return SD_OK;
}

sd_noise_source sd_noise_from_rng(void *rng)
{
    return (sd_noise_source){draw_rng, rng};
}

sd_status sd_generate(sd_model *m, const sd_job *job, float *out_rgb, sd_error *err)
{
    if (!job)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_generate: job is NULL");
    sd_rng rng;
    sd_rng_init(&rng, job->rng, job->seed);
    sd_noise_source noise = sd_noise_from_rng(&rng);
    return sd_pipeline_run(m, job, &noise, NULL, out_rgb, err);
}
