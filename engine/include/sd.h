/* gimp-diffusion engine: the one public header.
 *
 * Load a Stable Diffusion 1.x single-file checkpoint once (sd_model_load), then run
 * many jobs on it (sd_generate). No global state: everything lives in the model
 * context and in per-call scratch. One job at a time per model context; separate
 * contexts may run concurrently in separate threads.
 *
 * Every function that can fail returns an sd_status and, when given a non-NULL
 * sd_error, fills it with a human-readable message. Nothing here prints or exits.
 */
#ifndef SD_H
#define SD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SD_OK = 0,
    SD_ERR_INVALID_ARG,  /* a parameter out of range, NULL where not allowed */
    SD_ERR_IO,           /* a file could not be opened, read or mapped */
    SD_ERR_FORMAT,       /* a file is malformed (header, offsets, dtypes, shapes) */
    SD_ERR_UNSUPPORTED,  /* well-formed, but a model family or feature we do not run */
    SD_ERR_NOMEM,        /* an allocation failed or a memory budget was exceeded */
    SD_ERR_CANCELLED,    /* the progress callback asked to stop */
    SD_ERR_NUMERIC,      /* NaN or Inf appeared in a result */
    SD_ERR_INTERNAL
} sd_status;

typedef struct {
    sd_status code;
    char message[512];
} sd_error;

/* Short English name of a status code ("invalid argument", ...). */
const char *sd_status_name(sd_status code);

/* ---- model ------------------------------------------------------------ */

typedef enum {
    SD_FAMILY_SD1 = 1,         /* SD 1.x, 4-channel U-Net */
    SD_FAMILY_SD1_INPAINT = 2  /* SD 1.x inpainting, 9-channel U-Net */
} sd_family;

typedef struct sd_model sd_model;

/* The arithmetic of the U-Net's and the VAE decoder's matrix products (convolutions, linear
 * layers, attention's two products); norms, activations, softmax, residuals, the text
 * encoder, the VAE encoder and the scheduler are fp32 in every setting. */
typedef enum {
    SD_PRECISION_AUTO = 0,  /* bf16 where the CPU has native bf16 matrix instructions (AMX-BF16
                               or AVX512-BF16; environment SD_NO_BF16=1 says it has none),
                               else fp32 */
    SD_PRECISION_FP32 = 1,  /* float32 throughout: the reference path the golden tests run */
    SD_PRECISION_BF16 = 2   /* inputs of the products rounded to bfloat16, sums in float32
                               (weights packed once at load); SD_ERR_UNSUPPORTED at load on a
                               CPU without bf16 instructions */
} sd_precision;

/* "auto", "fp32", "bf16"; NULL for other values. */
const char *sd_precision_name(sd_precision p);
/* The inverse: 0 and *out set for one of those names, -1 otherwise. */
int sd_precision_parse(const char *name, sd_precision *out);

typedef struct {
    int threads;              /* worker threads for math; 0 = all cores (or OPENBLAS_NUM_THREADS).
                                 Process-wide, like the cores it describes: the last model
                                 loaded with a non-zero value sets it for every context.
                                 OpenBLAS runs single-threaded inside these workers */
    size_t memory_budget_mb;  /* working memory a job may use beyond the weights;
                                 0 = what the system has available when the job starts */
    sd_precision precision;   /* SD_PRECISION_AUTO when zero */
} sd_model_options;

/* What was read from the checkpoint's tensor names and shapes. */
typedef struct {
    sd_family family;
    const char *family_name;      /* "sd1", "sd1-inpaint" */
    int unet_in_channels;         /* 4 or 9 */
    int unet_model_channels;      /* 320 for SD 1.5 */
    int unet_context_dim;         /* 768 for SD 1.5 */
    int vae_base_channels;        /* 128 for SD 1.5 */
    int clip_hidden;              /* 768 for SD 1.5 */
    int clip_layers;              /* 12 for SD 1.5 */
    sd_precision precision;       /* what runs: SD_PRECISION_FP32 or SD_PRECISION_BF16 */
    const char *bf16_kernel;      /* "amx-bf16", "avx512-bf16"; "none" in fp32 */
} sd_model_info;

/* Loads a checkpoint (.safetensors, F32/F16/BF16) and the CLIP BPE vocabulary.
 * vocab_path is a folder holding vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz,
 * or the path of one of those files. opts may be NULL. The checkpoint stays mapped until
 * sd_model_free: its large tensors are read in place, and each network's pages are handed
 * back to the page cache after its phase of a job. Do not truncate or rewrite the file in
 * place while the model is loaded (replacing it by a rename is safe). */
sd_status sd_model_load(const char *checkpoint_path, const char *vocab_path,
                        const sd_model_options *opts, sd_model **out, sd_error *err);
void sd_model_free(sd_model *model);
void sd_model_get_info(const sd_model *model, sd_model_info *info);

/* ---- jobs ------------------------------------------------------------- */

typedef enum {
    SD_MODE_IMG2IMG = 0,
    SD_MODE_INPAINT,
    SD_MODE_TXT2IMG
} sd_mode;

typedef enum {
    SD_SAMPLER_DDIM = 0,
    SD_SAMPLER_PNDM,
    SD_SAMPLER_EULER,
    SD_SAMPLER_EULER_ANCESTRAL,
    SD_SAMPLER_DPMPP_2M,
    SD_SAMPLER_DPMPP_2M_KARRAS,
    SD_SAMPLER_LMS,
    SD_SAMPLER_LCM,
    SD_SAMPLER_COUNT
} sd_sampler;

/* Canonical names: "ddim", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras",
 * "lms", "lcm". Parsing also accepts "euler_ancestral". Returns -1 when unknown. */
const char *sd_sampler_name(sd_sampler s);
int sd_sampler_from_name(const char *name);

typedef enum {
    SD_RNG_TORCH_CPU = 0,  /* torch.randn on a CPU generator (diffusers, ComfyUI) */
    SD_RNG_PHILOX          /* Philox4x32-10, as A1111 draws on GPU */
} sd_rng_kind;

typedef enum {
    SD_MASKED_ORIGINAL = 0,  /* keep the original pixels under the mask */
    SD_MASKED_FILL,          /* replace them by blurred surroundings */
    SD_MASKED_LATENT_NOISE   /* replace the masked latents by noise */
} sd_masked_content;

/* Progress of a job, phase by phase, in this order:
 *   "text"    text encoding           (0, 1) at its start, (1, 1) at its end
 *   "encode"  VAE encoding            (0, 1), (1, 1)   (img2img and inpaint only)
 *   "denoise" U-Net steps             (0, N) at its start, (k, N) after step k
 *   "decode"  VAE decoding            (0, 1), (1, 1)
 * Return non-zero to cancel: the job stops within one step and returns SD_ERR_CANCELLED
 * with everything it allocated freed. */
typedef int (*sd_progress_fn)(void *user, const char *phase, int step, int total);

typedef struct {
    sd_mode mode;
    int width, height;            /* pixels; any size >= 8, padded to multiples of 8 inside */
    const float *image;           /* width*height*3, interleaved R'G'B' in [0,1] (sRGB-encoded);
                                     may be NULL for txt2img */
    const float *mask;            /* width*height, 1 = repaint; inpaint only */
    const char *prompt;
    const char *negative_prompt;  /* NULL = "" */
    double strength;              /* (0,1]; img2img and inpaint. A double, as in diffusers:
                                     the first step is int(steps * strength), and 0.7f*10
                                     truncates to 6 where 0.7*10 gives 7 */
    int steps;
    float cfg_scale;
    sd_sampler sampler;
    uint64_t seed;
    sd_rng_kind rng;
    int clip_skip;                /* 1 = last layer (default), 2 = penultimate, ... */
    sd_masked_content masked_content;
    int vae_tile;                 /* VAE encode/decode in overlapping tiles of this many pixels
                                     a side (a multiple of 64, at least 64), cross-faded as
                                     diffusers' enable_tiling(): memory stays that of one tile
                                     whatever the region, at a small cost in fidelity (seams
                                     are blended, not exact). 0 = automatic: untiled (exact)
                                     unless the untiled pass would not fit in the memory
                                     budget, then the largest of 512/256/128 that fits;
                                     -1 = never tile */
    sd_progress_fn progress;
    void *progress_user;
} sd_job;

/* Fills a job with the defaults: img2img, strength 0.75, 20 steps, CFG 7.5, euler_a,
 * seed 0, torch-CPU RNG, clip skip 1, masked content original. */
void sd_job_defaults(sd_job *job);

/* Working memory in bytes (beyond the model's weights) that a job needs: what
 * sd_generate checks against the budget before it starts, so a job that cannot fit is
 * refused at once ("needs about N MiB") instead of failing late or waking the OOM killer.
 * With vae_tile 0 (automatic) it is the estimate with the tiles sd_generate would choose
 * under the model's budget now. Allocations during the run are bounded by the same budget. */
size_t sd_job_memory_estimate(const sd_model *model, const sd_job *job);

/* Runs one job. out_rgb receives width*height*3 interleaved R'G'B' in [0,1]. */
sd_status sd_generate(sd_model *model, const sd_job *job, float *out_rgb, sd_error *err);

/* ---- prompt presets ---------------------------------------------------- */
/* A preset is a JSON file (format in README.md, "version": 1): name, description,
 * prompt template with a {prompt} placeholder, negative prompt and optional generation
 * settings. Unknown keys are kept when a preset is saved again. */

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
    SD_PRESET_PRECISION = 1u << 11   /* "precision": "auto" | "fp32" | "bf16" (model load) */
};

typedef struct {
    unsigned set;            /* SD_PRESET_* bits of the settings the preset gives */
    sd_sampler sampler;
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
    sd_precision precision;  /* a model-load setting, like model */
} sd_preset_settings;

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
