/* What the LoRA reader (lora_file.c) hands to the mapping and merge (lora_apply.c,
 * lora_keys.c). Not for use outside nets/lora*.c. */
#ifndef SD_LORA_INTERNAL_H
#define SD_LORA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nets/lora.h"

typedef struct {
    char *name;            /* the module as the file names it, suffix cut: "lora_unet_…", "unet.…" */
    int text_encoder;      /* 1: lora_te_ / text_encoder. */
    int rank;
    int down_ndim, up_ndim;
    int64_t down_shape[4], up_shape[4];   /* 1-padded */
    float *down;           /* [rank, in·kh·kw] */
    float *up;             /* [out, rank] */
    double scale;          /* alpha / rank (kohya), lora_alpha / r (PEFT), 1 without either */
    char *target;          /* checkpoint key, set by sd_lora_map */
    int part;              /* 0: the whole target; 1..3: its q / k / v third of rows (a fused
                              OpenCLIP in_proj_weight), set by sd_lora_map */
} lora_module;

struct sd_lora_file {
    char *path;
    lora_module *modules;
    int count;
};

/* Every name a LoRA module may give a linear / conv weight of the model, sorted:
 * kohya (diffusers and LDM paths, '.' → '_') and PEFT names, each with its checkpoint key
 * (pointing into w's names: valid while w lives). */
typedef struct {
    char *alias;
    const char *key;
    int part;        /* as lora_module.part */
} lora_alias;

typedef struct {
    lora_alias *v;
    size_t n;
} lora_targets;

sd_status lora_targets_build(const sd_weights *w, const sd_model_config *cfg, lora_targets *t,
                             sd_error *err);
/* The checkpoint key of module `name`, NULL when the model has no such layer; *part (may
 * be NULL) the rows it covers, as lora_module.part. */
const char *lora_targets_find(const lora_targets *t, const char *name, int *part);
void lora_targets_free(lora_targets *t);

#endif
