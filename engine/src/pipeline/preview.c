/* Live previews (preview.h).
 *
 * Cost per preview, measured (README, tests/bench): latent→RGB is 12 multiply-adds per
 * latent pixel (4096 at 512²: microseconds); TAESD is one TAESD decode at the job's size. */
#include "pipeline/preview.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "pipeline/image_prep.h"
#include "pipeline/model.h"

/* SD 1.x latent → R'G'B' factors, rows = latent channels, as ComfyUI's previewer uses them
 * (comfy/latent_formats.py, class SD15, latent_rgb_factors; applied to the sampler's x0 in
 * the U-Net's scaled space by latent_preview.py's Latent2RGBPreviewer, then (v + 1) / 2
 * clamped to [0, 1]). A1111's "Approx cheap" (sd_samplers_common.py) is the same kind of
 * 4x3 map with older factors (0.298, 0.207, 0.208; ...). */
static const float latent_rgb_factors[4][3] = {
    {0.3512f, 0.2297f, 0.3227f},
    {0.3250f, 0.4974f, 0.2350f},
    {-0.2829f, 0.1762f, 0.2721f},
    {-0.2120f, -0.2616f, -0.7177f},
};
#define PREVIEW_LATENT_CHANNELS 4

int sd_preview_due(const sd_job *job, int step, int total)
{
    if (!job->preview || job->preview_every < 1)
        return 0;
    return step % job->preview_every == 0 || step == total;
}

void sd_x0_from_eps(const float *x, const float *eps, size_t n, float alpha_cumprod, float *x0)
{
    const float a = sqrtf(alpha_cumprod), b = sqrtf(1.0f - alpha_cumprod);
    for (size_t i = 0; i < n; i++)
        x0[i] = (x[i] - b * eps[i]) / a;
}

void sd_x0_from_v(const float *x, const float *v, size_t n, float alpha_cumprod, float *x0)
{
    const float a = sqrtf(alpha_cumprod), b = sqrtf(1.0f - alpha_cumprod);
    for (size_t i = 0; i < n; i++)
        x0[i] = a * x[i] - b * v[i];
}

static float unit(float v)
{
    return fminf(fmaxf(v, 0.0f), 1.0f);
}

void sd_preview_latent_rgb(const float *latents, int lh, int lw, float *rgb)
{
    const size_t hw = (size_t)lh * lw;
    for (size_t i = 0; i < hw; i++)
        for (int k = 0; k < 3; k++) {
            float v = 0.0f;
            for (int c = 0; c < PREVIEW_LATENT_CHANNELS; c++)
                v += latents[(size_t)c * hw + i] * latent_rgb_factors[c][k];
            rgb[i * 3 + k] = unit((v + 1.0f) / 2.0f);
        }
}

int sd_preview_uses_taesd(const sd_model *m, const sd_job *job)
{
    if (job->preview_kind == SD_PREVIEW_LATENT_RGB)
        return 0;
    return job->preview_kind == SD_PREVIEW_TAESD || m->taesd.has_decoder;
}

sd_status sd_preview_emit(sd_model *m, sd_arena *arena, const sd_job *job, const float *x0,
                          int lh, int lw, int step, int total, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    sd_preview p = {.step = step, .total = total};
    sd_status st = SD_OK;
    if (sd_preview_uses_taesd(m, job)) {
        const int ph = lh * SD_TAESD_SCALE, pw = lw * SD_TAESD_SCALE;
        float *nchw = sd_arena_floats(arena, (size_t)3 * ph * pw);
        float *rgb = sd_arena_floats(arena, (size_t)3 * job->width * job->height);
        if (!nchw || !rgb) {
            sd_arena_reset(arena, mark);
            return sd_fail(err, SD_ERR_NOMEM, "preview: out of memory");
        }
        st = sd_taesd_decode(&m->taesd, arena, x0, lh, lw, nchw, NULL, err);
        if (st == SD_OK) {
            for (size_t i = 0; i < (size_t)3 * ph * pw; i++)
                nchw[i] = unit(nchw[i]);
            sd_nchw_to_rgb(nchw, pw, ph, job->width, job->height, rgb);
            p.width = job->width;
            p.height = job->height;
            p.rgb = rgb;
            p.source = "taesd";
        }
    } else {
        float *rgb = sd_arena_floats(arena, (size_t)3 * lh * lw);
        if (!rgb) {
            sd_arena_reset(arena, mark);
            return sd_fail(err, SD_ERR_NOMEM, "preview: out of memory");
        }
        sd_preview_latent_rgb(x0, lh, lw, rgb);
        p.width = lw;
        p.height = lh;
        p.rgb = rgb;
        p.source = "latent-rgb";
    }
    if (st == SD_OK && job->preview(job->preview_user, &p))
        st = SD_ERR_CANCELLED;
    sd_arena_reset(arena, mark);
    return st == SD_OK || st == SD_ERR_CANCELLED ? st : sd_fail_context(err, st, "preview");
}
