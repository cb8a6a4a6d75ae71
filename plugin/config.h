/* Where the model and the CLIP vocabulary come from when the run does not name them:
 * the environment (GIMP_DIFFUSION_MODEL, GIMP_DIFFUSION_VOCAB, GIMP_DIFFUSION_THREADS),
 * then the config file install.sh writes,
 *   $XDG_CONFIG_HOME/gimp-diffusion/config.json  (default ~/.config/...)
 *   {"model": "/path/model.safetensors", "vocab": "/path/clip", "threads": 4}
 * and for the vocabulary, last, the model's own folder. No GIMP here. */
#ifndef GD_CONFIG_H
#define GD_CONFIG_H

#define GD_PATH_MAX 4096

typedef struct {
    char model[GD_PATH_MAX];  /* "" when nothing is configured */
    char vocab[GD_PATH_MAX];
    int threads;              /* 0 = all cores */
    char warning[GD_PATH_MAX + 128]; /* set when the config file exists but cannot be used */
} gd_config;

/* Resolves the model and vocab paths: a non-empty argument wins, then the environment,
 * then the config file. */
void gd_config_resolve(const char *model_arg, const char *vocab_arg, gd_config *cfg);

#endif
