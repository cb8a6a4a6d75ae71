#include "generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "region.h"

/* Room for sd_supported_families' phrase. */
#define GD_FAMILIES_MAX 160

/* Would the engine take the checkpoint (its family and files), whatever the load options? */
static int runnable(const char *path)
{
    sd_model_check *c = malloc(sizeof *c);
    int ok = c && sd_model_check_file(path, c, NULL) == SD_OK;
    free(c);
    return ok;
}

sd_status gd_load_model(const gd_config *cfg, int taesd, sd_model **out, sd_error *err)
{
    if (!*cfg->model)
        return gd_fail(err, SD_ERR_INVALID_ARG,
                    "No Stable Diffusion model is set. Choose a .safetensors checkpoint in the "
                    "dialog's Model field, set GIMP_DIFFUSION_MODEL, or run install.sh.");
    if (access(cfg->model, R_OK) != 0)
        return gd_fail(err, SD_ERR_IO, "The model file %.200s cannot be read.", cfg->model);

    sd_model_options opts = { .precision = cfg->precision };
    sd_error e = { 0 };
    sd_status st = sd_set_threads(cfg->threads, &e); /* process-wide, like OpenBLAS's */
    if (st == SD_OK)
        st = sd_model_load(cfg->model, cfg->vocab, &opts, out, &e);
    if (st == SD_ERR_UNSUPPORTED && cfg->precision == SD_PRECISION_BF16 && runnable(cfg->model))
        return gd_fail(err, st, "Precision bf16 cannot run on this computer: %.300s", e.message);
    if (st == SD_ERR_FORMAT || st == SD_ERR_UNSUPPORTED) {
        /* the engine's reason names the file first: once is enough */
        const char *why = e.message;
        size_t n = strlen(cfg->model);
        if (strncmp(why, cfg->model, n) == 0 && strncmp(why + n, ": ", 2) == 0)
            why += n + 2;
        char families[GD_FAMILIES_MAX];
        sd_supported_families(families, sizeof families);
        if (strstr(why, families))   /* a family refusal says what runs already */
            return gd_fail(err, st, "The model %.150s cannot be run by this plug-in: %.330s",
                           cfg->model, why);
        return gd_fail(err, st, "The model %.150s is not a checkpoint this plug-in can run (it "
                       "runs %s checkpoints, each a single .safetensors file): %.200s",
                       cfg->model, families, why);
    }
    if (st != SD_OK)
        return gd_fail(err, st, "Loading %.200s failed: %.280s", cfg->model, e.message);
    if (taesd && (st = sd_model_load_taesd(*out, cfg->taesd, &e)) != SD_OK) {
        sd_model_free(*out);
        *out = NULL;
        return gd_fail(err, st, "The TAESD %.200s (draft VAE) cannot be used: %.280s", cfg->taesd,
                       e.message);
    }
    return SD_OK;
}

size_t gd_region_bytes(int w, int h, int work_w, int work_h)
{
    /* region: rgba in + selection + alpha + generated rgb + rgba out;
       work size: rgb in + mask + rgb out */
    return ((size_t)w * h * (4 + 1 + 1 + 3 + 4) + (size_t)work_w * work_h * (3 + 1 + 3)) * sizeof(float);
}

sd_status gd_check_memory(int w, int h, int work_w, int work_h, sd_error *err)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return SD_OK; /* unknown: let the allocations decide */
    double need = (double)gd_region_bytes(w, h, work_w, work_h);
    double have = (double)pages * (double)page;
    if (need > have / 2)
        return gd_fail(err, SD_ERR_NOMEM,
                    "The region is %d x %d pixels: the plug-in needs %.1f GiB of memory for it, "
                    "more than half of this machine's %.1f GiB. Select a smaller area.",
                    w, h, need / 1073741824.0, have / 1073741824.0);
    return SD_OK;
}

typedef struct {
    gd_progress_fn fn;
    void *user;
} progress_ctx;

/* Engine phase -> a share of the whole run: the U-Net steps dominate. */
static int on_engine_progress(void *user, sd_phase phase, int step, int total)
{
    const progress_ctx *pc = user;
    if (!pc->fn)
        return 0;
    char text[64];
    double f, t = total > 0 ? (double)step / total : 0.0;
    if (phase == SD_PHASE_TEXT) {
        f = 0.05 * t;
        snprintf(text, sizeof text, "Encoding the prompt");
    } else if (phase == SD_PHASE_ENCODE) {
        f = 0.05 + 0.05 * t;
        snprintf(text, sizeof text, "Encoding the image");
    } else if (phase == SD_PHASE_DENOISE) {
        f = 0.10 + 0.85 * t;
        snprintf(text, sizeof text, "Denoising %d/%d", step, total);
    } else { /* SD_PHASE_DECODE */
        f = 0.95 + 0.05 * t;
        snprintf(text, sizeof text, "Decoding");
    }
    return pc->fn(pc->user, f, text);
}

sd_status gd_check_selection(const float *selection, size_t n, sd_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (selection[i] > 0.0f)
            return SD_OK;
    return gd_fail(err, SD_ERR_INVALID_ARG,
                "The selection holds no pixels of the active layer: select part of the "
                "layer, or select nothing to work on the whole layer.");
}

sd_status gd_generate_region(sd_model *model, const gd_params *p, const gd_region_pixels *in,
                             float *out_rgba, gd_progress_fn progress, sd_preview_fn preview,
                             void *user, sd_error *err)
{
    int w = in->width, h = in->height, ww, wh;
    size_t n = (size_t)w * h, wn;
    region_work_size(w, h, p->work_size, &ww, &wh);
    wn = (size_t)ww * wh;

    gd_schedule sched;
    if (gd_params_schedule(p, &sched, err) != SD_OK)
        return SD_ERR_INVALID_ARG;
    if (gd_check_selection(in->selection, n, err) != SD_OK)
        return SD_ERR_INVALID_ARG;

    sd_status st = SD_ERR_NOMEM;
    float *rgb = malloc(n * 3 * sizeof *rgb);      /* [h, w, 3] */
    float *gen = malloc(n * 3 * sizeof *gen);      /* [h, w, 3] */
    float *alpha = malloc(n * sizeof *alpha);      /* [h, w] */
    float *work_in = malloc(wn * 3 * sizeof *work_in);   /* [wh, ww, 3] */
    float *work_mask = malloc(wn * sizeof *work_mask);   /* [wh, ww] */
    float *work_out = malloc(wn * 3 * sizeof *work_out); /* [wh, ww, 3] */
    if (!rgb || !gen || !alpha || !work_in || !work_mask || !work_out) {
        gd_fail(err, st, "Out of memory for a %d x %d region.", w, h);
        goto done;
    }

    region_rgba_to_rgb(in->rgba, n, rgb);
    if (region_resample(rgb, w, h, 3, work_in, ww, wh) != 0 ||
        region_resample(in->selection, w, h, 1, work_mask, ww, wh) != 0) {
        gd_fail(err, st, "Out of memory while scaling the region.");
        goto done;
    }

    sd_job job;
    sd_job_defaults(&job);
    job.mode = p->mode;
    job.width = ww;
    job.height = wh;
    job.image = p->mode == SD_MODE_TXT2IMG ? NULL : work_in;
    job.mask = p->mode == SD_MODE_INPAINT ? work_mask : NULL;
    job.prompt = p->prompt;
    job.negative_prompt = p->negative_prompt;
    job.strength = (float)p->strength;
    job.steps = p->steps;
    job.cfg_scale = (float)p->cfg_scale;
    job.sampler = sched.sampler;
    job.seed = p->seed;
    job.clip_skip = p->clip_skip;
    job.spacing = sched.spacing;
    job.prediction = sched.prediction;
    job.loras = p->engine_loras;
    job.n_loras = p->n_engine_loras;
    job.lora_dir = p->lora_dir && *p->lora_dir ? p->lora_dir : NULL;
    job.draft_vae = p->draft_vae;
    job.masked_content = sched.masked_content;
    job.rng = sched.rng;
    job.vae_tile = sched.vae_tile;
    progress_ctx pc = { progress, user };
    job.progress = on_engine_progress;
    job.progress_user = &pc;
    /* every step: the latent→RGB picture costs < 1 ms, a TAESD one a TAESD decode */
    job.preview = preview;
    job.preview_user = user;
    job.preview_every = preview ? 1 : 0;

    st = sd_generate(model, &job, work_out, err);
    if (st != SD_OK)
        goto done;

    st = SD_ERR_NOMEM;
    if (region_resample(work_out, ww, wh, 3, gen, w, h) != 0 ||
        region_feather(in->selection, w, h, (float)p->feather, in->open_edges, alpha) != 0) {
        gd_fail(err, st, "Out of memory while scaling the result back.");
        goto done;
    }
    if (p->color_match)
        region_color_match(gen, in->rgba, in->selection, n);
    region_compose(in->rgba, gen, alpha, n, out_rgba);
    st = SD_OK;

done:
    free(rgb);
    free(gen);
    free(alpha);
    free(work_in);
    free(work_mask);
    free(work_out);
    return st;
}
