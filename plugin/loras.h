/* The LoRAs of a run, host-neutral: the "loras" argument ("file:weight;file:weight") and the
 * dialog's choosers, read into one list; a bare name resolved in the LoRA folder; the list
 * for the layer's parasite and for a preset. No GIMP here. */
#ifndef GD_LORAS_H
#define GD_LORAS_H

#include <stddef.h>

#include "config.h"
#include "params.h"
#include "sd.h"

typedef struct {
    char file[GD_PATH_MAX]; /* as given: a path, or a bare name in the LoRA folder */
    double weight;
} gd_lora_entry;

/* The run's LoRAs as the user gave them: the entries of p->loras (';'-separated, each
 * "file" or "file:weight", blanks around them ignored, weight 1 when left out), then each
 * dialog chooser holding a file. out holds SD_LORA_MAX entries. SD_ERR_INVALID_ARG (err
 * names the entry) for a weight that is not a number, or more than SD_LORA_MAX LoRAs. */
sd_status gd_loras_parse(const gd_params *p, gd_lora_entry *out, int *n, sd_error *err);

/* Is `file` a bare name (no folder), looked up in the LoRA folder? */
int gd_lora_is_name(const char *file);

/* The path the engine loads for `file`: a path as it is; a bare name as
 * lora_dir/name, with ".safetensors" added when the name lacks it. SD_ERR_INVALID_ARG when a
 * bare name has no folder to be found in. */
sd_status gd_lora_resolve(const char *file, const char *lora_dir, char *path, size_t size,
                          sd_error *err);

/* The LoRA's name as a preset or a <lora:name:w> tag says it: the file name without its
 * folder and without ".safetensors". Writes into buf. */
void gd_lora_stem(const char *file, char *buf, size_t size);

#endif
