/* Checkpoints for the model-level golden runners (text encoder, U-Net, VAE): each case
 * names its checkpoint in its json ("checkpoint", relative to the case folder); the
 * runners also run the same case on its fp16 twin ("<name>-fp16.safetensors" beside
 * it), which holds identical values, so the results must be the same. */
#ifndef GOLDEN_MODEL_H
#define GOLDEN_MODEL_H

#include "golden.h"
#include "nets/model_config.h"
#include "io/weights.h"
#include "layers/layers.h"

#define GOLDEN_MAX_CHECKPOINTS 2

typedef struct {
    int count;
    char path[GOLDEN_MAX_CHECKPOINTS][4096];
    char label[GOLDEN_MAX_CHECKPOINTS][16];   /* "f32", "fp16" (TAESD: its layouts): tags lines */
} golden_checkpoints;

/* Fills cp with the case's checkpoint and, when it exists, its fp16 twin.
 * Returns 0, or -1 (message tallied as a failure) when the json names no checkpoint. */
int golden_case_checkpoints(const golden_case *c, golden_tally *t, golden_checkpoints *cp);

/* Opens a checkpoint and reads its model description.
 * Returns SD_OK with *w to free with sd_weights_free, or the loader's error. */
sd_status golden_open_model(const char *path, sd_weights **w, sd_model_config *cfg,
                            sd_error *err);

/* --precision bf16 (c->bf16_rel > 0): packs the U-Net's and the VAE's layers of w for the
 * bf16 kernels and sets *precision to SD_LAYER_BF16; fp32 mode: nothing. golden_unprepare
 * frees the packing (call it before sd_weights_free; harmless when nothing was packed). */
sd_status golden_prepare(const golden_case *c, sd_weights *w, sd_layer_precision *precision,
                         sd_error *err);
void golden_unprepare(sd_weights *w);

/* Merges the case's LoRAs (json "lora": [{"file", "weight"}], files beside the case) into
 * patched copies in w with nets/lora.h; sd_lora_attach after the network is bound points
 * its layers at them. Returns 0 (also when the case has none), or
 * -1 with the failure tallied. */
int golden_apply_loras(const golden_case *c, golden_tally *t, sd_weights *w,
                       const sd_model_config *cfg, const char *label);

/* The case's LoRAs as the public API takes them (paths resolved beside the case), up to
 * max; returns the count. paths[i] receives the path storage. */
int golden_case_loras(const golden_case *c, sd_lora *loras, char (*paths)[4096], int max);

/* The largest |x| over n values (tolerances scale with the magnitude of a tensor). */
double golden_max_abs(const float *x, size_t n);

/* The float32 noise floor of the case's output `tensor` (precision.json key
 * "<case>.<tensor>"). A folder whose precision.json does not list it gets
 * default_rel x max|reference| (the caller's figure from the shared folder), with a
 * note on stdout. */
double golden_output_floor(const golden_case *c, const char *tensor, double default_rel);

/* Compares got[0..n) with the case's tensor `tensor` at a tolerance proportional to the
 * reference's magnitude: tol = factor * rel_floor * max|reference|, for intermediates
 * that precision.json does not list (rel_floor: the relative noise floor of the case's
 * final output). Prints and tallies like golden_compare. Returns 1 on pass. */
int golden_compare_relative(const golden_case *c, golden_tally *t, const char *label,
                            const char *tensor, const float *got, size_t n, double factor,
                            double rel_floor);

#endif
