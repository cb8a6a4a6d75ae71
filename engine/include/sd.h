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

typedef struct {
    int threads;  /* worker threads for math; 0 = all cores */
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
} sd_model_info;

/* Loads a checkpoint (.safetensors, F32/F16/BF16) and the CLIP BPE vocabulary.
 * vocab_path is a folder holding vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz,
 * or the path of one of those files. opts may be NULL. */
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

/* Called after model loading phases and after each denoising step.
 * Return non-zero to cancel: the job stops and returns SD_ERR_CANCELLED. */
typedef int (*sd_progress_fn)(void *user, const char *phase, int step, int total);

typedef struct {
    sd_mode mode;
    int width, height;            /* pixels; any size >= 8, padded to multiples of 8 inside */
    const float *image;           /* width*height*3, interleaved R'G'B' in [0,1] (sRGB-encoded);
                                     may be NULL for txt2img */
    const float *mask;            /* width*height, 1 = repaint; inpaint only */
    const char *prompt;
    const char *negative_prompt;  /* NULL = "" */
    float strength;               /* (0,1]; img2img and inpaint */
    int steps;
    float cfg_scale;
    sd_sampler sampler;
    uint64_t seed;
    sd_rng_kind rng;
    int clip_skip;                /* 1 = last layer (default), 2 = penultimate, ... */
    sd_masked_content masked_content;
    sd_progress_fn progress;
    void *progress_user;
} sd_job;

/* Fills a job with the defaults: img2img, strength 0.75, 20 steps, CFG 7.5, euler_a,
 * seed 0, torch-CPU RNG, clip skip 1, masked content original. */
void sd_job_defaults(sd_job *job);

/* Runs one job. out_rgb receives width*height*3 interleaved R'G'B' in [0,1]. */
sd_status sd_generate(sd_model *model, const sd_job *job, float *out_rgb, sd_error *err);

#ifdef __cplusplus
}
#endif
#endif
