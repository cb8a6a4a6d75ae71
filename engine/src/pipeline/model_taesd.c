/* sd_model_load_taesd: a TAESD beside the model, for draft decodes and previews. */
#include "pipeline/model.h"

#include "core/error.h"
#include "pipeline/precision.h"

/* The TAESD latent space a model family's U-Net works in. */
static sd_taesd_latent latent_of(sd_family family)
{
    switch (family) {
    case SD_FAMILY_SDXL:
        return SD_TAESD_LATENT_SDXL;   /* madebyollin/taesdxl */
    default:
        return SD_TAESD_LATENT_SD;     /* SD 1.x and 2.x share the SD VAE's latent space */
    }
}

sd_status sd_model_load_taesd(sd_model *m, const char *path, sd_error *err)
{
    if (!m)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_model_load_taesd: model is NULL");
    /* Loaded in place: the weights file keeps pointers to the bound convs (the bf16 packing
     * finds them by key, layers.h), so a TAESD must not be moved after binding. The one
     * before is freed first; on failure the model has none. */
    sd_model_unprepare_taesd(m);
    sd_taesd_free(&m->taesd);
    sd_taesd *t = &m->taesd;
    sd_status st = sd_taesd_load(t, path, latent_of(m->cfg.family), err);
    if (st != SD_OK)
        return st;   /* the loader's messages name the file, or TAESD; *t holds nothing */
    if (t->latent_channels != m->cfg.vae.latent_channels) {
        const int channels = t->latent_channels;
        sd_taesd_free(t);
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: a TAESD for %d latent channels; this "
                       "model has %d", path, channels, m->cfg.vae.latent_channels);
    }
    /* bf16: its convs packed as the model's (pipeline/precision.c) */
    st = sd_model_prepare_taesd(m, err);
    if (st != SD_OK)
        sd_fail_context(err, st, "%s", path);
    return st;
}

int sd_model_taesd_halves(const sd_model *m)
{
    if (!m || !m->taesd.has_decoder)
        return 0;
    return m->taesd.has_encoder ? 2 : 1;
}
