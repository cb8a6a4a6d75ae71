/* Model families as data: one row per family (what its checkpoint holds, how it is run,
 * its defaults), and the detection that reads the rows. Adding a family is one row here
 * (and, to run it, its networks); nothing else names a family's keys or widths.
 *
 * Detection is from tensor names and shapes, never from the file name: a file matches the
 * row whose U-Net, VAE and text-encoder key prefixes it has (and whose `absent_prefix` it
 * has not), with the row's U-Net input channels. Rows that differ only in prediction type
 * (sd2 / sd2-v) are told apart by sd_family_prediction. */
#ifndef SD_NETS_FAMILY_H
#define SD_NETS_FAMILY_H

#include <stddef.h>

#include "io/safetensors.h"
#include "sd.h"

/* The text encoders the families condition on. */
typedef enum {
    SD_TEXT_CLIP_L,            /* CLIP ViT-L/14, last layer (transformers layout) */
    SD_TEXT_OPENCLIP_H,        /* OpenCLIP ViT-H/14, penultimate layer + ln_final */
    SD_TEXT_CLIP_L_OPENCLIP_G  /* SDXL: CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 */
} sd_text_encoder_kind;

typedef struct {
    sd_family family;
    const char *name;             /* "sd1": CLI, presets, messages */
    const char *title;            /* "SD 1.x": messages say "<title> (<evidence>)" */
    const char *evidence;         /* what in a file says so, for messages */
    /* key prefixes a file of this family has (nets/keys.h) */
    const char *unet_prefix, *vae_prefix, *text_prefix;
    const char *absent_prefix;    /* a prefix it must not have, or NULL: every row but
                                     sdxl refuses SDXL's label_emb */
    sd_text_encoder_kind text_encoder;
    const char *text_encoder_name;
    int context_dim;              /* text width the U-Net attends to, full size: 768 / 1024 /
                                     2048 (the tiny test models are narrower: not matched) */
    int unet_in_channels;         /* 4, 9 (inpainting); 0 = any */
    int linear_projection;        /* proj_in / proj_out Linear (SD 2.x, SDXL) or 1x1 conv */
    sd_prediction prediction;
    int prediction_detected;      /* 1: the file decides between this row and its twin */
    int default_resolution;       /* pixels, a side */
    int default_steps;
    float default_cfg;
    sd_sampler default_sampler;   /* every row sets it (euler_a: sd_job_defaults') */
    sd_spacing default_spacing;   /* leading (0) unless the row says: trailing for turbo */
    float vae_scale;              /* latent scaling factor */
    const char *not_runnable;     /* NULL: sd_model_load runs it; else why not ("recognised,
                                     but not supported yet (...)") */
} sd_family_row;

/* 1 when some tensor's name starts with prefix. */
int sd_has_prefix(const st_file *f, const char *prefix);

/* The table, in sd_family order (row i has family i + 1). */
const sd_family_row *sd_family_rows(size_t *count);
/* The row of a family, or NULL for SD_FAMILY_UNKNOWN / out of range. */
const sd_family_row *sd_family_row_of(sd_family f);
/* "sd1", ... ; "unknown" for anything else. */
const char *sd_family_name(sd_family f);
/* The families sd_model_load runs, for messages: "SD 1.x, SD 1.x inpainting, SD 2.x, SD 2.x
 * inpainting and SD-Turbo" (each title once, in table order), cut to fit buf. */
void sd_family_runnable_titles(char *buf, size_t size);
/* SD_ERR_UNSUPPORTED with "unsupported model: <why>; this engine runs <those families>
 * checkpoints": every refusal of a family says what would be taken. */
sd_status sd_family_refuse(sd_error *err, const char *why);

typedef struct {
    const sd_family_row *row;
    int unet_in_channels;         /* read from conv_in */
    sd_prediction prediction;     /* = row->prediction */
    char prediction_source[128];  /* "family", "v_pred key", "norm1.bias std ..." */
} sd_family_match;

/* Finds the family of an open checkpoint. SD_OK with m->row set when a row matches
 * (runnable or not: the caller decides what to refuse); otherwise SD_ERR_UNSUPPORTED (or
 * SD_ERR_FORMAT when conv_in is misshapen) with "unsupported model: <why>". */
sd_status sd_family_detect(const st_file *f, sd_family_match *m, sd_error *err);

/* ComfyUI's SD 2.x rule: std (population) of the U-Net's last transformer norm1.bias
 * (SD_FAMILY_V_RULE_TENSOR); a v-prediction model has it above SD_FAMILY_V_RULE_STD.
 * SD_ERR_FORMAT when the tensor is absent or not a float vector. */
#define SD_FAMILY_V_RULE_TENSOR "output_blocks.11.1.transformer_blocks.0.norm1.bias"
#define SD_FAMILY_V_RULE_STD 0.09
sd_status sd_family_norm1_bias_std(const st_file *f, const char *unet_prefix, double *std,
                                   sd_error *err);

#endif
