/* Where the model and the CLIP vocabulary come from when the run does not name them:
 * the environment (GIMP_DIFFUSION_MODEL, GIMP_DIFFUSION_VOCAB, GIMP_DIFFUSION_THREADS,
 * GIMP_DIFFUSION_PRECISION), then the config file install.sh writes,
 *   $XDG_CONFIG_HOME/gimp-diffusion/config.json  (default ~/.config/...)
 *   {"model": "/path/model.safetensors", "vocab": "/path/clip", "threads": 4,
 *    "taesd": "/path/taesd", "lora_dir": "/path/loras", "precision": "fp32"}
 * and for the vocabulary, last, the model's own folder. The TAESD (draft VAE) comes from
 * GIMP_DIFFUSION_TAESD or "taesd" (none when neither is set); the LoRA folder, where a bare
 * LoRA name and <lora:name:w> in the prompt are found, from GIMP_DIFFUSION_LORA_DIR or
 * "lora_dir", else $XDG_DATA_HOME/gimp-diffusion/loras (default ~/.local/share/...), the
 * folder install.sh makes. No GIMP here. */
#ifndef GD_CONFIG_H
#define GD_CONFIG_H

#define GD_PATH_MAX 4096

#include "sd.h"

/* What the dialogs and a draft run without a TAESD tell the user. */
#define GD_NO_TAESD_TEXT                                                                       \
    "No TAESD (draft VAE) is configured: set \"taesd\" in "                                    \
    "~/.config/gimp-diffusion/config.json or GIMP_DIFFUSION_TAESD (install.sh --taesd)."

typedef struct {
    char model[GD_PATH_MAX];  /* "" when nothing is configured */
    char vocab[GD_PATH_MAX];
    char taesd[GD_PATH_MAX];  /* "" when none is configured */
    char lora_dir[GD_PATH_MAX];
    int threads;              /* 0 = all cores */
    sd_precision precision;   /* the machine's setting: SD_PRECISION_AUTO when none; a run's
                                 precision argument other than auto replaces it */
    int precision_set;        /* the environment set it: the config file's is not read */
    char warning[GD_PATH_MAX + 128]; /* set when the config file exists but cannot be used */
} gd_config;

/* The draft-VAE check box's label when no TAESD is configured (the tooltip says how). */
#define GD_NO_TAESD_LABEL "_Quick draft VAE (TAESD): none configured"

/* Does the environment or the config file name a TAESD? */
int gd_config_has_taesd(void);

/* Resolves the model and vocab paths: a non-empty argument wins, then the environment,
 * then the config file. */
void gd_config_resolve(const char *model_arg, const char *vocab_arg, gd_config *cfg);

#endif
