/* sd_model_check_file: what a checkpoint is, from its header alone (`diffuse check`,
 * install.sh). The family comes from the table (nets/family.c), the verdict from the same
 * detection sd_model_load runs, so the two never disagree. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "nets/family.h"
#include "nets/keys.h"
#include "nets/model_config.h"

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Tensor count, bytes per network (by the family's prefixes, SD 1.x's when unknown) and
 * the dtypes present with their counts. */
static void tally(const st_file *f, const sd_family_row *row, sd_model_check *out)
{
    const char *unet = row ? row->unet_prefix : SD_KEY_UNET;
    const char *vae = row ? row->vae_prefix : SD_KEY_VAE;
    const char *text = row ? row->text_prefix : SD_KEY_TEXT_ENCODER;
    size_t per_dtype[ST_BOOL + 1] = {0};
    out->tensor_count = st_count(f);
    out->total_bytes = out->unet_bytes = out->vae_bytes = out->text_encoder_bytes = 0;
    out->other_bytes = 0;
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        uint64_t n = t->nbytes;
        out->total_bytes += n;
        if (starts(t->name, unet))
            out->unet_bytes += n;
        else if (starts(t->name, vae))
            out->vae_bytes += n;
        else if (starts(t->name, text))
            out->text_encoder_bytes += n;
        else
            out->other_bytes += n;
        if ((unsigned)t->dtype <= ST_BOOL)
            per_dtype[t->dtype]++;
    }
    size_t len = 0;
    out->dtypes[0] = '\0';
    for (int d = 0; d <= ST_BOOL; d++) {
        if (!per_dtype[d] || len >= sizeof out->dtypes)
            continue;
        int n = snprintf(out->dtypes + len, sizeof out->dtypes - len, "%s%s %zu",
                         len ? ", " : "", st_dtype_name((st_dtype)d), per_dtype[d]);
        if (n > 0)
            len += (size_t)n;
    }
}

static void describe(const sd_family_match *m, sd_model_check *out)
{
    const sd_family_row *r = m->row;
    out->family = r->family;
    out->family_name = r->name;
    out->family_title = r->title;
    out->text_encoder = r->text_encoder_name;
    out->prediction = m->prediction;
    snprintf(out->prediction_source, sizeof out->prediction_source, "%s",
             m->prediction_source);
    out->context_dim = r->context_dim;
    out->unet_in_channels = m->unet_in_channels;
    out->default_resolution = r->default_resolution;
    out->default_steps = r->default_steps;
    out->default_cfg = r->default_cfg;
    out->vae_scale = r->vae_scale;
}

sd_status sd_model_check_file(const char *path, sd_model_check *out, sd_error *err)
{
    if (!out)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_model_check_file: out is NULL");
    memset(out, 0, sizeof *out);
    out->family_name = "unknown";
    out->family_title = "unknown";
    out->text_encoder = "unknown";
    sd_error local = {0};
    sd_error *e = err ? err : &local;  /* out->reason wants the message even without err */
    if (!path || !path[0]) {
        sd_status s = sd_fail(e, SD_ERR_INVALID_ARG, "no model file given");
        snprintf(out->reason, sizeof out->reason, "%s", e->message);
        return s;
    }
    st_file *f = NULL;
    sd_status s = st_open(path, &f, e);  /* its messages name the file */
    if (s == SD_OK) {
        sd_family_match m;
        if (sd_family_detect(f, &m, NULL) == SD_OK)
            describe(&m, out);
        tally(f, sd_family_row_of(out->family), out);
        sd_model_config cfg;
        s = sd_model_config_detect(f, &cfg, e);  /* the load's own verdict */
        if (s != SD_OK)
            sd_fail_context(e, s, "%s", path);
        st_close(f);
    }
    out->runnable = s == SD_OK;
    if (s != SD_OK)
        snprintf(out->reason, sizeof out->reason, "%s", e->message);
    return s;
}

void sd_supported_families(char *buf, size_t size)
{
    sd_family_runnable_titles(buf, size);
}
