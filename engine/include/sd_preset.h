/* gimp-diffusion engine: prompt presets, shared by the CLI and the plug-in.
 *
 * A preset is a JSON file (format in README.md, "version": 1): name, description,
 * prompt template with a {prompt} placeholder, negative prompt and optional generation
 * settings. Unknown keys are kept when a preset is saved again. The settings' ranges are
 * the published limits of sd.h (SD_STEPS_MAX, SD_RESOLUTION_MAX, ...).
 */
#ifndef SD_PRESET_H
#define SD_PRESET_H

#include "sd.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_preset sd_preset;

enum {
    SD_PRESET_SAMPLER = 1u << 0,
    SD_PRESET_STEPS = 1u << 1,
    SD_PRESET_CFG = 1u << 2,
    SD_PRESET_STRENGTH = 1u << 3,
    SD_PRESET_SEED = 1u << 4,        /* seed or "random" */
    SD_PRESET_CLIP_SKIP = 1u << 5,
    SD_PRESET_RESOLUTION = 1u << 6,
    SD_PRESET_PADDING = 1u << 7,
    SD_PRESET_FEATHER = 1u << 8,
    SD_PRESET_MODEL = 1u << 9,
    SD_PRESET_NEGATIVE = 1u << 10,
    SD_PRESET_SPACING = 1u << 11,    /* "timestep_spacing": leading, trailing, linspace */
    SD_PRESET_PREDICTION = 1u << 12, /* "prediction": auto, eps, v */
    SD_PRESET_DRAFT_VAE = 1u << 13,  /* "draft_vae": true / false */
    SD_PRESET_LORAS = 1u << 14,      /* "loras": [{"name", "weight"}], LoRA-folder names;
                                        sd_preset_apply adds them to the prompt as
                                        <lora:name:weight> */
    SD_PRESET_PRECISION = 1u << 15,  /* "precision": auto, fp32, bf16 (a model-load setting) */
    SD_PRESET_MASKED_CONTENT = 1u << 16, /* "masked_content": original, fill, noise (inpaint) */
    SD_PRESET_RNG = 1u << 17,        /* "rng": torch, philox */
    SD_PRESET_VAE_TILE = 1u << 18    /* "vae_tile": "auto", "off" or a tile side in pixels */
};

typedef struct {
    unsigned set;            /* SD_PRESET_* bits of the settings the preset gives */
    sd_sampler sampler;
    sd_spacing spacing;
    sd_prediction prediction;
    int steps;
    float cfg_scale;
    double strength;
    int random_seed;         /* 1: "seed": "random" */
    uint64_t seed;
    int clip_skip;
    int resolution;          /* working resolution, long side in pixels */
    int padding;             /* context padding in pixels */
    float feather;           /* mask feather radius in pixels */
    const char *model;       /* owned by the preset */
    int draft_vae;           /* 1: decode with TAESD (job.draft_vae) when one is configured */
    sd_precision precision;  /* a model-load setting, like model */
    sd_masked_content masked_content;
    sd_rng_kind rng;
    int vae_tile;            /* as sd_job.vae_tile: 0 auto, -1 off, else pixels */
} sd_preset_settings;

/* The preset's "loras" (SD_PRESET_LORAS): how many, and the i-th as a LoRA-folder name (in
 * .path, pointing into the preset) and its weight; {NULL, 0} past the last. */
int sd_preset_lora_count(const sd_preset *p);
sd_lora sd_preset_lora_at(const sd_preset *p, int i);
/* Replaces the preset's "loras" with n names and weights (n = 0 removes the key); each
 * .path is a LoRA-folder name, validated like a parsed file. */
sd_status sd_preset_set_loras(sd_preset *p, const sd_lora *loras, int n, sd_error *err);

/* Parses a preset from JSON text; `source` names the file in error messages
 * ("watercolour.json: key \"steps\": must be an integer in 1..1000"). */
sd_status sd_preset_parse(const char *json_text, const char *source, sd_preset **out,
                          sd_error *err);
sd_status sd_preset_load_file(const char *path, sd_preset **out, sd_error *err);
/* Writes the preset (unknown keys kept), atomically (temp file + rename). */
sd_status sd_preset_save_file(const sd_preset *p, const char *path, sd_error *err);
/* The preset as formatted JSON (malloc'd), or NULL when out of memory. */
char *sd_preset_to_json(const sd_preset *p);
void sd_preset_free(sd_preset *p);

/* A new preset with name and prompt template (negative may be NULL), no settings. */
sd_status sd_preset_new(const char *name, const char *prompt_template,
                        const char *negative_prompt, sd_preset **out, sd_error *err);
/* Sets the settings whose bits are in s->set (validated like a parsed file). */
sd_status sd_preset_set_settings(sd_preset *p, const sd_preset_settings *s, sd_error *err);
sd_status sd_preset_set_description(sd_preset *p, const char *description, sd_error *err);

const char *sd_preset_name(const sd_preset *p);
const char *sd_preset_description(const sd_preset *p);     /* "" when absent */
const char *sd_preset_prompt_template(const sd_preset *p);
const char *sd_preset_negative_prompt(const sd_preset *p); /* "" when absent */
const char *sd_preset_source(const sd_preset *p);          /* file it came from, or "" */
void sd_preset_get_settings(const sd_preset *p, sd_preset_settings *s);

/* The prompt for `subject`: the template with every {prompt} replaced by subject; a
 * template without the placeholder gets ", subject" appended (nothing when subject is
 * empty). malloc'd; NULL when out of memory. */
char *sd_preset_expand(const char *prompt_template, const char *subject);

/* Applies a preset to a job with the precedence explicit argument > preset > default:
 * fields whose SD_PRESET_* bit is in `explicit_fields` are left as they are. The
 * expanded prompt (and negative prompt) are malloc'd into *owned_prompt and
 * *owned_negative, which the caller frees after the job. */
sd_status sd_preset_apply(const sd_preset *p, const char *subject, unsigned explicit_fields,
                          sd_job *job, char **owned_prompt, char **owned_negative,
                          sd_error *err);

/* A set of presets read from folders in order: a later folder's preset overrides an
 * earlier one of the same name (shipped first, then the user's). Bad files do not stop
 * the others from loading; their errors are kept, one per file. */
typedef struct sd_preset_list sd_preset_list;

sd_status sd_preset_list_load(const char *const *dirs, int n_dirs, sd_preset_list **out,
                              sd_error *err);
void sd_preset_list_free(sd_preset_list *l);
int sd_preset_list_count(const sd_preset_list *l);
const sd_preset *sd_preset_list_at(const sd_preset_list *l, int i);   /* sorted by name */
const sd_preset *sd_preset_list_find(const sd_preset_list *l, const char *name);
int sd_preset_list_error_count(const sd_preset_list *l);
const char *sd_preset_list_error(const sd_preset_list *l, int i);

#ifdef __cplusplus
}
#endif
#endif
