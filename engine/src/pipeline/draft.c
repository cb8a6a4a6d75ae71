/* Draft VAE (draft.h). */
#include "pipeline/draft.h"

#include "core/error.h"
#include "pipeline/model.h"

sd_status sd_draft_check(const sd_model *m, const sd_job *job, sd_error *err)
{
    if (job->draft_vae != 0 && job->draft_vae != 1)
        return sd_fail(err, SD_ERR_INVALID_ARG, "draft_vae must be 0 or 1, got %d",
                       job->draft_vae);
    if (job->preview_every < 0)
        return sd_fail(err, SD_ERR_INVALID_ARG, "preview_every must be >= 0, got %d",
                       job->preview_every);
    if (job->preview_kind != SD_PREVIEW_AUTO && job->preview_kind != SD_PREVIEW_LATENT_RGB &&
        job->preview_kind != SD_PREVIEW_TAESD)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown preview kind %d", (int)job->preview_kind);
    const int want_decoder =
        job->draft_vae || (job->preview && job->preview_every > 0 &&
                           job->preview_kind == SD_PREVIEW_TAESD);
    if (want_decoder && !m->taesd.has_decoder)
        return sd_fail(err, SD_ERR_INVALID_ARG, "%s needs a TAESD, and none is loaded "
                       "(--taesd FILE, or the \"taesd\" key of the config; madebyollin/taesd)",
                       job->draft_vae ? "the draft VAE" : "a TAESD preview");
    if (job->draft_vae && job->mode != SD_MODE_TXT2IMG && !m->taesd.has_encoder)
        return sd_fail(err, SD_ERR_INVALID_ARG, "a draft %s needs the TAESD encoder too: only "
                       "its decoder is loaded (put taesd_encoder.safetensors beside it)",
                       job->mode == SD_MODE_INPAINT ? "inpaint" : "image to image");
    return SD_OK;
}

sd_status sd_draft_encode(const sd_model *m, sd_arena *arena, const float *image, int h, int w,
                          float *latents, sd_error *err)
{
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    const size_t n = (size_t)3 * h * w;
    float *image01 = sd_arena_floats(arena, n);
    if (!image01)
        return sd_fail(err, SD_ERR_NOMEM, "TAESD encode: out of memory");
    /* diffusers' EncoderTiny: x.add(1).div(2) */
    for (size_t i = 0; i < n; i++)
        image01[i] = (image[i] + 1.0f) / 2.0f;
    sd_status st = sd_taesd_encode(&m->taesd, arena, image01, h, w, latents, NULL, err);
    sd_arena_reset(arena, mark);
    return st;
}

sd_status sd_draft_decode(const sd_model *m, sd_arena *arena, const float *latents, int lh,
                          int lw, float *decoded, sd_error *err)
{
    sd_status st = sd_taesd_decode(&m->taesd, arena, latents, lh, lw, decoded, NULL, err);
    if (st != SD_OK)
        return st;
    /* AutoencoderTiny.decode: output.mul_(2).sub_(1) */
    const size_t n = (size_t)3 * lh * SD_TAESD_SCALE * lw * SD_TAESD_SCALE;
    for (size_t i = 0; i < n; i++)
        decoded[i] = decoded[i] * 2.0f - 1.0f;
    return SD_OK;
}
