/* The family table and the detection that reads it (nets/family.h). Values from the
 * reference configs: ldm v1-inference.yaml / v2-inference(-v).yaml, Stability's
 * sd_xl_base.yaml, diffusers' scheduler and VAE configs (scaling_factor), and the default
 * sizes of the diffusers pipelines. */
#include "nets/family.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nets/keys.h"

/* Text widths (cross-attention context) at full size. */
#define CONTEXT_CLIP_L 768       /* CLIP ViT-L/14 */
#define CONTEXT_OPENCLIP_H 1024  /* OpenCLIP ViT-H/14 */
#define CONTEXT_SDXL 2048        /* CLIP ViT-L (768) and OpenCLIP bigG (1280), concatenated */
/* Latent scaling factors (diffusers AutoencoderKL config scaling_factor). */
#define VAE_SCALE_SD 0.18215f
#define VAE_SCALE_SDXL 0.13025f
/* Training resolutions (diffusers pipelines' default height/width). */
#define RES_512 512
#define RES_768 768
#define RES_1024 1024
/* SD-Turbo: one step, no guidance (its model card: guidance_scale=0.0). */
#define TURBO_STEPS 1
#define TURBO_CFG 0.0f
/* StableDiffusionXLPipeline's default guidance_scale. */
#define SDXL_CFG 5.0f
/* sd_job_defaults' sampler, the default of every family but SD-Turbo's. */
#define JOB_SAMPLER SD_SAMPLER_EULER_ANCESTRAL
#define UNET_IN 4          /* latent channels */
#define UNET_IN_INPAINT 9  /* latent + mask + masked-image latent */

static const sd_family_row rows[] = {
    {
        .family = SD_FAMILY_SD1, .name = "sd1", .title = "SD 1.x",
        .evidence = "CLIP text encoder " SD_KEY_CLIP_L "*",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_CLIP_L,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB,
        .text_encoder = SD_TEXT_CLIP_L, .text_encoder_name = "CLIP ViT-L/14",
        .context_dim = CONTEXT_CLIP_L, .unet_in_channels = UNET_IN,
        .prediction = SD_PREDICTION_EPS, .default_resolution = RES_512,
        .default_steps = SD_STEPS_DEFAULT, .default_cfg = SD_CFG_DEFAULT,
        .default_sampler = JOB_SAMPLER, .vae_scale = VAE_SCALE_SD,
    },
    {
        .family = SD_FAMILY_SD1_INPAINT, .name = "sd1-inpaint",
        .title = "SD 1.x inpainting",
        .evidence = "CLIP text encoder " SD_KEY_CLIP_L "*, 9-channel U-Net",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_CLIP_L,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB,
        .text_encoder = SD_TEXT_CLIP_L, .text_encoder_name = "CLIP ViT-L/14",
        .context_dim = CONTEXT_CLIP_L, .unet_in_channels = UNET_IN_INPAINT,
        .prediction = SD_PREDICTION_EPS, .default_resolution = RES_512,
        .default_steps = SD_STEPS_DEFAULT, .default_cfg = SD_CFG_DEFAULT,
        .default_sampler = JOB_SAMPLER, .vae_scale = VAE_SCALE_SD,
    },
    {
        .family = SD_FAMILY_SD2, .name = "sd2", .title = "SD 2.x",
        .evidence = "OpenCLIP text encoder " SD_KEY_OPENCLIP "*",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_OPENCLIP,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB,
        .text_encoder = SD_TEXT_OPENCLIP_H,
        .text_encoder_name = "OpenCLIP ViT-H/14 (penultimate layer + ln_final)",
        .context_dim = CONTEXT_OPENCLIP_H, .unet_in_channels = UNET_IN, .linear_projection = 1,
        .prediction = SD_PREDICTION_EPS, .prediction_detected = 1,
        .default_resolution = RES_512, .default_steps = SD_STEPS_DEFAULT,
        .default_cfg = SD_CFG_DEFAULT, .default_sampler = JOB_SAMPLER,
        .vae_scale = VAE_SCALE_SD,
    },
    {
        .family = SD_FAMILY_SD2_V, .name = "sd2-v", .title = "SD 2.x",
        .evidence = "OpenCLIP text encoder " SD_KEY_OPENCLIP "*",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_OPENCLIP,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB,
        .text_encoder = SD_TEXT_OPENCLIP_H,
        .text_encoder_name = "OpenCLIP ViT-H/14 (penultimate layer + ln_final)",
        .context_dim = CONTEXT_OPENCLIP_H, .unet_in_channels = UNET_IN, .linear_projection = 1,
        .prediction = SD_PREDICTION_V, .prediction_detected = 1,
        .default_resolution = RES_768, .default_steps = SD_STEPS_DEFAULT,
        .default_cfg = SD_CFG_DEFAULT, .default_sampler = JOB_SAMPLER,
        .vae_scale = VAE_SCALE_SD,
    },
    {
        .family = SD_FAMILY_SD2_INPAINT, .name = "sd2-inpaint",
        .title = "SD 2.x inpainting",
        .evidence = "OpenCLIP text encoder " SD_KEY_OPENCLIP "*, 9-channel U-Net",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_OPENCLIP,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB,
        .text_encoder = SD_TEXT_OPENCLIP_H,
        .text_encoder_name = "OpenCLIP ViT-H/14 (penultimate layer + ln_final)",
        .context_dim = CONTEXT_OPENCLIP_H, .unet_in_channels = UNET_IN_INPAINT,
        .linear_projection = 1, .prediction = SD_PREDICTION_EPS,  /* always ε (ComfyUI) */
        .default_resolution = RES_512, .default_steps = SD_STEPS_DEFAULT,
        .default_cfg = SD_CFG_DEFAULT, .default_sampler = JOB_SAMPLER,
        .vae_scale = VAE_SCALE_SD,
    },
    {
        /* Stability's sd_turbo.safetensors: SD 2.1 weights saved from generative-models;
         * the same weights in the LDM layout cannot be told from sd2 (ε, 512). */
        .family = SD_FAMILY_SD_TURBO, .name = "sd-turbo", .title = "SD-Turbo",
        .evidence = "OpenCLIP text encoder " SD_KEY_SGM_OPENCLIP "*, no label_emb",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_SGM_OPENCLIP,
        .absent_prefix = SD_KEY_UNET_LABEL_EMB, .text_encoder = SD_TEXT_OPENCLIP_H,
        .text_encoder_name = "OpenCLIP ViT-H/14 (penultimate layer + ln_final)",
        .context_dim = CONTEXT_OPENCLIP_H, .unet_in_channels = UNET_IN, .linear_projection = 1,
        .prediction = SD_PREDICTION_EPS, .default_resolution = RES_512,
        .default_steps = TURBO_STEPS, .default_cfg = TURBO_CFG, .vae_scale = VAE_SCALE_SD,
        .default_sampler = SD_SAMPLER_EULER_ANCESTRAL, .default_spacing = SD_SPACING_TRAILING,
    },
    {
        .family = SD_FAMILY_SDXL, .name = "sdxl", .title = "SDXL",
        .evidence = SD_KEY_SGM_TEXT "* / label_emb tensors",
        .unet_prefix = SD_KEY_UNET, .vae_prefix = SD_KEY_VAE, .text_prefix = SD_KEY_SGM_TEXT,
        .text_encoder = SD_TEXT_CLIP_L_OPENCLIP_G,
        .text_encoder_name = "CLIP ViT-L/14 + OpenCLIP ViT-bigG/14",
        .context_dim = CONTEXT_SDXL, .unet_in_channels = 0, .linear_projection = 1,
        .prediction = SD_PREDICTION_EPS, .default_resolution = RES_1024,
        .default_steps = SD_STEPS_DEFAULT, .default_cfg = SDXL_CFG, .default_sampler = JOB_SAMPLER, .vae_scale = VAE_SCALE_SDXL,
        .not_runnable = "not supported (two text encoders, size and crop "
                        "conditioning, a 2048-wide context)",
    },
};

#define ROW_COUNT (sizeof rows / sizeof rows[0])
_Static_assert(ROW_COUNT == SD_FAMILY_COUNT - 1, "one row per family, in sd_family order");

const sd_family_row *sd_family_rows(size_t *count)
{
    if (count)
        *count = ROW_COUNT;
    return rows;
}

const sd_family_row *sd_family_row_of(sd_family f)
{
    if (f <= SD_FAMILY_UNKNOWN || f >= SD_FAMILY_COUNT)
        return NULL;
    return &rows[f - 1];
}

const char *sd_family_name(sd_family f)
{
    const sd_family_row *r = sd_family_row_of(f);
    return r ? r->name : "unknown";
}

void sd_family_runnable_titles(char *buf, size_t size)
{
    const char *titles[ROW_COUNT];
    size_t n = 0, used = 0;
    for (size_t i = 0; i < ROW_COUNT; i++) {
        int seen = rows[i].not_runnable != NULL;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(titles[j], rows[i].title) == 0;
        if (!seen)
            titles[n++] = rows[i].title;
    }
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        int w = snprintf(buf + used, size - used, "%s%s", sep, titles[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

int sd_has_prefix(const st_file *f, const char *prefix)
{
    size_t len = strlen(prefix);
    for (size_t i = 0; i < st_count(f); i++)
        if (strncmp(st_at(f, i)->name, prefix, len) == 0)
            return 1;
    return 0;
}

sd_status sd_family_norm1_bias_std(const st_file *f, const char *unet_prefix, double *std,
                                   sd_error *err)
{
    char name[160];
    snprintf(name, sizeof name, "%s" SD_FAMILY_V_RULE_TENSOR, unet_prefix);
    const st_tensor *t = st_find(f, name);
    if (!t)
        return sd_fail(err, SD_ERR_FORMAT, "missing tensor %s", name);
    if (t->ndim != 1 || t->numel < 1 ||
        (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64))
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s is not a float vector", name);
    float *v = malloc((size_t)t->numel * sizeof *v);
    if (!v)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory reading %s", name);
    sd_status s = st_to_f32(t, v, err);
    if (s == SD_OK) {
        /* torch.std(x, unbiased=False), in double */
        double mean = 0.0, var = 0.0;
        for (int64_t i = 0; i < t->numel; i++)
            mean += v[i];
        mean /= (double)t->numel;
        for (int64_t i = 0; i < t->numel; i++)
            var += (v[i] - mean) * (v[i] - mean);
        *std = sqrt(var / (double)t->numel);
    }
    free(v);
    return s;
}

/* Between a row and its twin of the other prediction type: the `v_pred` marker, else
 * ComfyUI's rule for 4-channel U-Nets; 9-channel (inpainting) U-Nets are ε. */
static sd_prediction detect_prediction(const st_file *f, const sd_family_row *row, int in_ch,
                                       char *why, size_t cap)
{
    if (st_find(f, SD_KEY_V_PRED)) {
        snprintf(why, cap, "%s key", SD_KEY_V_PRED);
        return SD_PREDICTION_V;
    }
    double std = 0.0;
    if (in_ch != UNET_IN || sd_family_norm1_bias_std(f, row->unet_prefix, &std, NULL) != SD_OK) {
        snprintf(why, cap, "no %s key, no usable %s: ε", SD_KEY_V_PRED, SD_FAMILY_V_RULE_TENSOR);
        return SD_PREDICTION_EPS;
    }
    int v = std > SD_FAMILY_V_RULE_STD;
    snprintf(why, cap, "%s std %.3f %s %.2f", SD_FAMILY_V_RULE_TENSOR, std, v ? ">" : "<=",
             SD_FAMILY_V_RULE_STD);
    return v ? SD_PREDICTION_V : SD_PREDICTION_EPS;
}

static int row_matches(const st_file *f, const sd_family_row *r, int in_ch)
{
    return sd_has_prefix(f, r->unet_prefix) && sd_has_prefix(f, r->vae_prefix) &&
           sd_has_prefix(f, r->text_prefix) && !(r->absent_prefix && sd_has_prefix(f, r->absent_prefix)) &&
           (r->unet_in_channels == 0 || r->unet_in_channels == in_ch);
}

/* Room for sd_family_runnable_titles' sentence. */
#define TITLES_MAX 160

sd_status sd_family_refuse(sd_error *err, const char *why)
{
    char runs[TITLES_MAX];
    sd_family_runnable_titles(runs, sizeof runs);
    return sd_fail(err, SD_ERR_UNSUPPORTED, "unsupported model: %s; this engine runs %s "
                   "checkpoints", why, runs);
}

static sd_status unsupported(sd_error *err, const char *why)
{
    return sd_family_refuse(err, why);
}

/* No row matched: say what is missing, most basic first. */
static sd_status explain_no_match(const st_file *f, int in_ch, sd_error *err)
{
    if (!sd_has_prefix(f, SD_KEY_UNET)) {
        if (st_find(f, "conv_in.weight") && sd_has_prefix(f, "down_blocks."))
            return unsupported(err, "a diffusers-format component file (conv_in / "
                                    "down_blocks.*); use a single-file checkpoint");
        return unsupported(err, "not a Stable Diffusion checkpoint "
                                "(no " SD_KEY_UNET "* tensors)");
    }
    if (sd_has_prefix(f, SD_KEY_UNET_LABEL_EMB))
        return unsupported(err, "an SDXL-style U-Net (label_emb tensors)");
    if (!sd_has_prefix(f, SD_KEY_VAE))
        return unsupported(err, "the checkpoint has no VAE (" SD_KEY_VAE "* tensors)");
    if (!sd_has_prefix(f, SD_KEY_TEXT_ENCODER))
        return unsupported(err, "the checkpoint has no CLIP text encoder "
                                "(" SD_KEY_CLIP_L_TEXT "* tensors)");
    if (!sd_has_prefix(f, SD_KEY_CLIP_L) && !sd_has_prefix(f, SD_KEY_OPENCLIP))
        return unsupported(err, "a text encoder in a layout we do not know (" SD_KEY_TEXT_ENCODER
                                "* without transformer. or model.)");
    char why[96];
    snprintf(why, sizeof why, "U-Net with %d input channels (4 = text-to-image, 9 = inpainting)",
             in_ch);
    return unsupported(err, why);
}

sd_status sd_family_detect(const st_file *f, sd_family_match *m, sd_error *err)
{
    memset(m, 0, sizeof *m);
    int in_ch = 0;
    const st_tensor *conv_in = st_find(f, SD_KEY_UNET "input_blocks.0.0.weight");
    if (conv_in) {
        if (conv_in->ndim != 4)
            return sd_fail(err, SD_ERR_FORMAT,
                           "tensor " SD_KEY_UNET "input_blocks.0.0.weight has %d dims, "
                           "expected 4", conv_in->ndim);
        in_ch = (int)conv_in->shape[1];  /* [model_channels, in_channels, 3, 3] */
    } else if (sd_has_prefix(f, SD_KEY_UNET)) {
        return sd_fail(err, SD_ERR_FORMAT, "missing tensor " SD_KEY_UNET "input_blocks.0.0.weight");
    }
    /* Rows are tried in table order; the first match wins (sd-turbo before sdxl, whose
     * text prefixes overlap; only sdxl allows SDXL's label_emb), and a row whose prediction the file decides hands over to its
     * twin when the file says the other type. */
    for (size_t i = 0; i < ROW_COUNT; i++) {
        const sd_family_row *r = &rows[i];
        if (!row_matches(f, r, in_ch))
            continue;
        m->row = r;
        m->unet_in_channels = in_ch;
        m->prediction = r->prediction;
        snprintf(m->prediction_source, sizeof m->prediction_source, "family");
        if (r->prediction_detected) {
            sd_prediction p = detect_prediction(f, r, in_ch, m->prediction_source,
                                                sizeof m->prediction_source);
            for (size_t k = 0; p != r->prediction && k < ROW_COUNT; k++)
                if (rows[k].prediction_detected && rows[k].prediction == p &&
                    strcmp(rows[k].text_prefix, r->text_prefix) == 0 &&
                    rows[k].unet_in_channels == r->unet_in_channels)
                    m->row = &rows[k];
            m->prediction = m->row->prediction;
        }
        return SD_OK;
    }
    return explain_no_match(f, in_ch, err);
}
