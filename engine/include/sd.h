/* gimp-diffusion engine: the public header of the library.
 *
 * Load a Stable Diffusion 1.x single-file checkpoint once (sd_model_load), then run
 * many jobs on it (sd_generate). A model context holds the weights and each job its own
 * scratch; one job at a time per model context, and separate contexts may run
 * concurrently in separate threads. One setting is process-wide: the number of worker
 * threads (sd_set_threads), because OpenBLAS's thread count is.
 * Prompt presets (JSON files the CLI and plug-in share) are in sd_preset.h.
 *
 * Every function that can fail returns an sd_status and, when given a non-NULL
 * sd_error, fills it with a human-readable message: the file first, then each layer's
 * noun once ("model.safetensors: VAE: missing tensor first_stage_model..."). The status
 * is the same with or without an sd_error. Nothing here prints or exits.
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

/* ---- published limits and defaults -------------------------------------- */
/* The one place these ranges live: sd_generate checks a job against them, and the CLI,
 * the presets and the plug-in use the same names (the plug-in's dialog may offer a
 * narrower range inside them). */
#define SD_STEPS_MIN 1
#define SD_STEPS_MAX 999           /* every sampler. Not 1000: with diffusers' "leading"
                                      spacing and steps_offset 1, 1000 steps would start at
                                      t = 1000, past the 1000 training timesteps 0..999
                                      (diffusers' own DDIM fails there: alphas_cumprod[1000]) */
#define SD_STEPS_DEFAULT 20
#define SD_CFG_MIN 0.0f            /* classifier-free guidance scale; <= 1 runs no guidance */
#define SD_CFG_MAX 100.0f
#define SD_CFG_DEFAULT 7.5f
#define SD_STRENGTH_MAX 1.0        /* strength is in (0, SD_STRENGTH_MAX] */
#define SD_STRENGTH_DEFAULT 0.75
#define SD_SIZE_MIN 8              /* job width / height, pixels */
#define SD_SIZE_MAX 16384
#define SD_CLIP_SKIP_MIN 1
#define SD_CLIP_SKIP_MAX 23        /* the most layers a text encoder we load runs: SD 2.x's
                                      OpenCLIP ViT-H (23 of its 24); SD 1.x's CLIP ViT-L has
                                      12, and a job beyond the loaded model's clip_layers is
                                      refused (sd_model_info.clip_layers) */
#define SD_CLIP_SKIP_DEFAULT 1
#define SD_SEED_MAX UINT64_MAX     /* seeds are 0..SD_SEED_MAX */
#define SD_RESOLUTION_MIN 64       /* working resolution (long side) of presets, plug-in */
#define SD_RESOLUTION_MAX 4096
#define SD_PADDING_MAX 4096        /* context padding, pixels */
#define SD_FEATHER_MAX 1000.0      /* mask feather radius, pixels */
#define SD_THREADS_MAX 1024

/* ---- model ------------------------------------------------------------ */

/* Model families, told apart from the checkpoint's tensor names and shapes (never from
 * its file name). Only SD 1.x runs today; the others are recognised, so that a load
 * refuses them with the reason and `diffuse check` names them. */
typedef enum {
    SD_FAMILY_UNKNOWN = 0,
    SD_FAMILY_SD1 = 1,          /* SD 1.x, 4-channel U-Net */
    SD_FAMILY_SD1_INPAINT = 2,  /* SD 1.x inpainting, 9-channel U-Net */
    SD_FAMILY_SD2 = 3,          /* SD 2.x, ε-prediction (SD 2 base, 512) */
    SD_FAMILY_SD2_V = 4,        /* SD 2.x, v-prediction (SD 2.x 768-v) */
    SD_FAMILY_SD2_INPAINT = 5,  /* SD 2.x inpainting, 9-channel U-Net */
    SD_FAMILY_SD_TURBO = 6,     /* SD-Turbo: SD 2.1 in Stability's SGM layout */
    SD_FAMILY_SDXL = 7,         /* SDXL: two text encoders                    - refused */
    SD_FAMILY_COUNT
} sd_family;

/* What the U-Net predicts: the noise (epsilon) or v = sqrt(abar) eps - sqrt(1 - abar) x0
 * (SD 2.x 768-v). AUTO takes the model's own type. */
typedef enum {
    SD_PREDICTION_AUTO = 0,
    SD_PREDICTION_EPS,
    SD_PREDICTION_V,
    SD_PREDICTION_COUNT
} sd_prediction;

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
    size_t memory_budget_mb;  /* working memory a job may use beyond the weights;
                                 0 = what the system has available when the job starts */
    sd_precision precision;   /* SD_PRECISION_AUTO when zero */
} sd_model_options;

/* Worker threads for the math, process-wide: OpenBLAS's thread count is a process-wide
 * setting, and the engine runs OpenBLAS single-threaded inside its own workers, so one
 * count serves every model context. 0 = all cores (or OPENBLAS_NUM_THREADS); at most
 * SD_THREADS_MAX. Set it between jobs, not while one runs. sd_threads gives the count in
 * use. */
sd_status sd_set_threads(int threads, sd_error *err);
int sd_threads(void);

/* What was read from the checkpoint's tensor names and shapes. */
typedef struct {
    sd_family family;
    const char *family_name;      /* "sd1", "sd1-inpaint", "sd2", "sd2-v", "sd2-inpaint",
                                     "sd-turbo" */
    sd_prediction prediction;     /* ε, or v (sd2-v) */
    int default_resolution;       /* what the family was trained at: 512 (sd2-v: 768); the
                                     other defaults: sd_model_get_defaults */
    int unet_in_channels;         /* 4 or 9 */
    int unet_model_channels;      /* 320 for SD 1.5 */
    int unet_context_dim;         /* 768 for SD 1.5 */
    int vae_base_channels;        /* 128 for SD 1.5 */
    int clip_hidden;              /* 768 for SD 1.5 (SD 2.x: 1024) */
    int clip_layers;              /* layers run: 12 for SD 1.5 (SD 2.x: 23 of OpenCLIP's 24);
                                     the largest clip skip */
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

/* What a checkpoint is, without loading it: the family detected from its tensor names and
 * shapes, and whether sd_model_load would take it (what `diffuse check` prints). */
typedef struct {
    sd_family family;              /* SD_FAMILY_UNKNOWN when no family matched */
    const char *family_name;       /* "sd1", ..., "unknown" */
    const char *family_title;      /* "Stable Diffusion 1.x", ... */
    const char *text_encoder;      /* "CLIP ViT-L/14", ... */
    sd_prediction prediction;
    char prediction_source[128];   /* why: "family", "v_pred key", "... std 0.150 > 0.09" */
    int context_dim;               /* the family's (full-size) text width: 768, 1024, 2048 */
    int unet_in_channels;          /* read from the file */
    int default_resolution, default_steps;
    float default_cfg;
    float vae_scale;               /* latent scaling factor: 0.18215; SDXL 0.13025 */
    size_t tensor_count;
    uint64_t total_bytes;          /* tensor data */
    uint64_t unet_bytes, vae_bytes, text_encoder_bytes, other_bytes;
    char dtypes[96];               /* "F16 1239, F32 1" */
    int runnable;                  /* 1: sd_model_load takes it */
    char reason[512];              /* when not runnable: why ("... not supported yet") */
} sd_model_check;

/* Fills *out for the checkpoint at path. SD_OK when sd_model_load would take it (weights
 * are not bound, so a wrong shape deep in a network still only shows at load); otherwise
 * the status the load would give, out->reason and err saying why, and out filled as far as
 * the file could be read (family, sizes). */
sd_status sd_model_check_file(const char *path, sd_model_check *out, sd_error *err);
/* The families sd_model_load runs, as a phrase for messages: "SD 1.x, SD 1.x inpainting,
 * SD 2.x, SD 2.x inpainting and SD-Turbo" (from the family table), cut to fit buf. */
void sd_supported_families(char *buf, size_t size);

/* Adds a TAESD (madebyollin/taesd, the Tiny AutoEncoder) to a loaded model, for draft
 * decodes (job.draft_vae) and live previews. path: diffusers' file
 * (diffusion_pytorch_model.safetensors), taesd_decoder.safetensors or taesd_encoder.safetensors
 * (the other half is taken from beside it), or a folder holding them. The decoder is
 * required; the encoder only for draft img2img/inpaint. A TAESD for another latent space
 * is refused with the reason: TAESD3/TAEF1 by their 16 latent channels, TAESDXL (same
 * shapes as TAESD) by its published names taesdxl_* or a folder named taesdxl. Replaces a
 * TAESD loaded before (freed first: on failure the model has none). */
sd_status sd_model_load_taesd(sd_model *model, const char *path, sd_error *err);
/* 0: no TAESD; 1: its decoder only; 2: encoder and decoder. */
int sd_model_taesd_halves(const sd_model *model);

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
/* Writes every canonical name, ", "-separated ("ddim, pndm, ..."), for help texts and
 * errors, into buf (truncated to size; SD_SAMPLER_LIST_SIZE always fits); returns buf. */
#define SD_SAMPLER_LIST_SIZE 256
const char *sd_sampler_list(char *buf, size_t size);

/* How the N inference timesteps are spread over the 1000 training steps: diffusers'
 * `timestep_spacing` (Table 2 of "Common Diffusion Noise Schedules and Sample Steps are
 * Flawed"). leading: k * (1000 // N) + steps_offset (SD 1.x / 2.x default); trailing:
 * round(1000 - k * 1000 / N) - 1, starting at t = 999 (SD-Turbo, few-step models);
 * linspace: linspace(0, 999, N). DPM++ 2M Karras and LCM have their own ramps and
 * ignore it, as in diffusers. */
typedef enum {
    SD_SPACING_LEADING = 0,
    SD_SPACING_TRAILING,
    SD_SPACING_LINSPACE,
    SD_SPACING_COUNT
} sd_spacing;


/* "leading", "trailing", "linspace" / "auto", "eps", "v" ("epsilon" and "v_prediction",
 * diffusers' spellings, are accepted too). from_name returns -1 when unknown. */
const char *sd_spacing_name(sd_spacing s);
int sd_spacing_from_name(const char *name);
const char *sd_prediction_name(sd_prediction p);
int sd_prediction_from_name(const char *name);

typedef enum {
    SD_RNG_TORCH_CPU = 0,  /* torch.randn on a CPU generator (diffusers, ComfyUI) */
    SD_RNG_PHILOX          /* Philox4x32-10, as A1111 draws on GPU */
} sd_rng_kind;

typedef enum {
    SD_MASKED_ORIGINAL = 0,  /* keep the original pixels under the mask */
    SD_MASKED_FILL,          /* replace them by blurred surroundings */
    SD_MASKED_LATENT_NOISE   /* replace the masked latents by noise */
} sd_masked_content;
#define SD_RNG_COUNT 2
#define SD_MASKED_CONTENT_COUNT 3

/* "torch", "philox" / "original", "fill", "noise": the CLI's, presets' and plug-in's
 * spellings; name gives NULL out of range, parse 0 and *out set for a name, -1 otherwise. */
const char *sd_rng_name(sd_rng_kind r);
int sd_rng_parse(const char *name, sd_rng_kind *out);
const char *sd_masked_content_name(sd_masked_content m);
int sd_masked_content_parse(const char *name, sd_masked_content *out);

/* Progress of a job, phase by phase, in this order:
 *   SD_PHASE_TEXT     text encoding   (0, 1) at its start, (1, 1) at its end
 *   SD_PHASE_ENCODE   VAE encoding    (0, 1), (1, 1)   (img2img and inpaint only)
 *   SD_PHASE_DENOISE  U-Net steps     (0, N) at its start, (k, N) after step k
 *   SD_PHASE_DECODE   VAE decoding    (0, 1), (1, 1)
 * Return non-zero to cancel: the job stops within one step and returns SD_ERR_CANCELLED
 * with everything it allocated freed. */
typedef enum {
    SD_PHASE_TEXT = 0,
    SD_PHASE_ENCODE,
    SD_PHASE_DENOISE,
    SD_PHASE_DECODE,
    SD_PHASE_COUNT
} sd_phase;

/* "text", "encode", "denoise", "decode"; "unknown" out of range. */
const char *sd_phase_name(sd_phase phase);

typedef int (*sd_progress_fn)(void *user, sd_phase phase, int step, int total);

/* sd_job.vae_tile: automatic, never, or a tile side in pixels. */
#define SD_VAE_TILE_AUTO 0        /* untiled unless the untiled pass would not fit the budget */
#define SD_VAE_TILE_OFF (-1)      /* never tile */
#define SD_VAE_TILE_MIN 64        /* a tile side is at least this, */
#define SD_VAE_TILE_MULTIPLE 64   /* a multiple of this (the latent is 1/8, kept a multiple of 8) */
#define SD_VAE_TILE_MAX 32768     /* and at most this */

/* "auto", "off" or a tile side in pixels (a multiple of SD_VAE_TILE_MULTIPLE in
 * SD_VAE_TILE_MIN..SD_VAE_TILE_MAX) into *out as sd_job.vae_tile: 0, or -1 when the text is
 * none of those. */
int sd_vae_tile_parse(const char *text, int *out);

/* A live preview of the picture forming: the current estimate of the final image (the
 * scheduler's predicted x0), shown while the denoise phase runs. */
typedef enum {
    SD_PREVIEW_AUTO = 0,     /* TAESD when the model has one (sd_model_load_taesd), else the
                                latent→RGB projection */
    SD_PREVIEW_LATENT_RGB,   /* the latent→RGB linear projection: 1/8 of the size, free */
    SD_PREVIEW_TAESD         /* decoded by TAESD at full size (refused without a TAESD) */
} sd_preview_kind;

typedef struct {
    int step, total;         /* after denoise step `step` (1..total) */
    int width, height;       /* pixels of rgb: the job's size (TAESD), or the latent's
                                (width / 8 rounded up; latent→RGB) */
    const float *rgb;        /* width*height*3 interleaved R'G'B' in [0,1]; valid during the
                                call only */
    const char *source;      /* "taesd" or "latent-rgb" */
} sd_preview;

/* Called after every job.preview_every-th denoise step (and after the last one), on the
 * thread running sd_generate. Return non-zero to cancel, as the progress callback. */
typedef int (*sd_preview_fn)(void *user, const sd_preview *preview);

/* A LoRA file (kohya-ss or diffusers/PEFT .safetensors, LoRA and LoCon) and its weight:
 * W' = W + weight · alpha/rank · up·down on the U-Net and the text encoder. */
typedef struct {
    const char *path;
    float weight;                 /* 1.0 = as trained; may be negative */
} sd_lora;

#define SD_LORA_MAX 16            /* LoRAs one job may apply (its own plus the prompt's) */

typedef struct {
    sd_mode mode;
    int width, height;            /* pixels, SD_SIZE_MIN..SD_SIZE_MAX; padded to multiples
                                     of 8 inside */
    const float *image;           /* width*height*3, interleaved R'G'B' in [0,1] (sRGB-encoded);
                                     may be NULL for txt2img */
    const float *mask;            /* width*height, 1 = repaint; inpaint only */
    const char *prompt;
    const char *negative_prompt;  /* NULL = "" */
    double strength;              /* (0, SD_STRENGTH_MAX]; img2img and inpaint. A double, as in diffusers:
                                     the first step is int(steps * strength), and 0.7f*10
                                     truncates to 6 where 0.7*10 gives 7 */
    int steps;                    /* SD_STEPS_MIN..SD_STEPS_MAX (LCM: at most 50) */
    float cfg_scale;              /* SD_CFG_MIN..SD_CFG_MAX */
    sd_sampler sampler;
    sd_spacing spacing;           /* timestep spacing (default leading) */
    sd_prediction prediction;     /* U-Net output type (default auto: the model's) */
    uint64_t seed;
    sd_rng_kind rng;
    int clip_skip;                /* 1 = the text encoder's output (default: SD 1.x its last
                                     layer, SD 2.x the penultimate of 24 blocks), 2 = one
                                     layer earlier (diffusers' clip_skip=1), ...; at most the
                                     model's clip_layers (SD_CLIP_SKIP_MAX) */
    sd_masked_content masked_content;
    int vae_tile;                 /* VAE encode/decode in overlapping tiles of this many pixels
                                     a side (SD_VAE_TILE_MIN..SD_VAE_TILE_MAX, a multiple of
                                     SD_VAE_TILE_MULTIPLE), cross-faded as diffusers'
                                     enable_tiling(): memory stays that of one tile whatever
                                     the region, at a small cost in fidelity (seams are
                                     blended, not exact). SD_VAE_TILE_AUTO (0): untiled
                                     (exact) unless the untiled pass would not fit in the
                                     memory budget, then the largest of 512/256/128 that
                                     fits; SD_VAE_TILE_OFF (-1): never tile */
    const sd_lora *loras;         /* n_loras LoRAs to apply, with those the prompt names */
    int n_loras;
    const char *lora_dir;         /* folder where <lora:name:weight> in the prompt finds
                                     name.safetensors; NULL: such a prompt is refused */
    sd_progress_fn progress;
    void *progress_user;
    int draft_vae;                /* 1: encode and decode with the model's TAESD instead of the
                                     full VAE (sd_model_load_taesd; refused without one):
                                     a small fraction of the full VAE's time (README,
                                     Performance), softer detail. 0 (default): the full VAE */
    sd_preview_fn preview;        /* NULL = no previews */
    void *preview_user;
    int preview_every;            /* a preview every N denoise steps (>= 1; 0 = never) */
    sd_preview_kind preview_kind;
} sd_job;

/* Fills a job with the defaults: img2img, strength SD_STRENGTH_DEFAULT (0.75),
 * SD_STEPS_DEFAULT (20) steps, CFG SD_CFG_DEFAULT (7.5), euler_a, leading spacing, the
 * model's prediction type, seed 0, torch-CPU RNG, clip skip 1, masked content original, VAE
 * tiles automatic. CFG 1 or less runs the U-Net once per step, without the negative prompt
 * (diffusers' do_classifier_free_guidance = guidance_scale > 1). */
void sd_job_defaults(sd_job *job);

/* What a model's family runs best with (its row in the family table): the resolution it
 * was trained at, steps, CFG, sampler and timestep spacing. SD 1.x / 2.x: 512 (2.x 768-v:
 * 768), 20 steps, CFG 7.5, euler_a, leading; SD-Turbo: 512, 1 step, CFG 0 (no guidance,
 * as diffusers' turbo examples), euler_a, trailing. */
typedef struct {
    int resolution;
    int steps;
    float cfg_scale;
    sd_sampler sampler;
    sd_spacing spacing;
} sd_model_defaults;

void sd_model_get_defaults(const sd_model *model, sd_model_defaults *out);
/* The same for a family (SD_FAMILY_UNKNOWN: sd_job_defaults' values, 512). */
void sd_family_get_defaults(sd_family family, sd_model_defaults *out);
/* Sets the job's steps, cfg_scale, sampler and spacing from d (front ends call it before
 * applying what the user gave, so only what the user left alone follows the model). */
void sd_job_apply_model_defaults(sd_job *job, const sd_model_defaults *d);

/* Working memory in bytes (beyond the model's weights) that a job needs: what
 * sd_generate checks against the budget before it starts, so a job that cannot fit is
 * refused at once ("needs about N MiB") instead of failing late or waking the OOM killer.
 * With vae_tile 0 (automatic) it is the estimate with the tiles sd_generate would choose
 * under the model's budget now. Allocations during the run are bounded by the same budget. */
size_t sd_job_memory_estimate(const sd_model *model, const sd_job *job);

/* Runs one job. out_rgb receives width*height*3 interleaved R'G'B' in [0,1].
 * The prompt may use A1111's syntax: (word:1.3), [word], BREAK, prompts past 75 tokens,
 * <lora:name:weight>. The job's LoRAs are merged into the model's weights before the job
 * runs and stay merged until a job asks for another set; a LoRA that cannot be applied
 * fails the job with the model back to the checkpoint's weights. */
sd_status sd_generate(sd_model *model, const sd_job *job, float *out_rgb, sd_error *err);

#ifdef __cplusplus
}
#endif
#endif
