/* Shared helpers of the golden runner: a case is <name>.json + <name>.safetensors in a
 * fixture folder; runners compare what the engine computes with the reference tensors
 * and print one line per comparison. */
#ifndef GOLDEN_H
#define GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "io/safetensors.h"
#include "sched/scheduler.h"

typedef struct {
    const char *dir;        /* fixture folder */
    const char *name;       /* case name, e.g. "unet_case0" */
    cJSON *json;            /* parsed <name>.json */
    st_file *tensors;       /* <name>.safetensors, or NULL when the case has none */
    cJSON *precision;       /* parsed precision.json of the folder, or NULL */
    const char *vocab_dir;  /* CLIP vocabulary folder (--vocab, default <dir>/../clip) */
    const char *models_dir; /* where checkpoints live when <dir> lacks them (--models), or NULL */
    double bf16_rel;        /* --precision bf16: U-Net, VAE and pipelines run bf16 and every
                             * comparison allows bf16_rel x max|reference|; 0: fp32 */
    int bf16_report;        /* bf16: every comparison of the case is printed, not asserted
                             * (pipelines: one network's error compounds over the steps);
                             * intermediates ("block." labels) are reported in any bf16 case */
} golden_case;

typedef struct {
    int passed, failed;
    int skipped;   /* checks the engine cannot run yet (a model family it refuses) */
} golden_tally;

/* Returns a malloc'd fp32 copy of tensor `name` of the case (numel in *numel if
 * non-NULL), or NULL with a message on stderr when absent. */
float *golden_f32(const golden_case *c, const char *name, int64_t *numel);
int64_t *golden_i64(const golden_case *c, const char *name, int64_t *numel);
const st_tensor *golden_tensor(const golden_case *c, const char *name);

/* Path of a file in the fixture folder (static buffer per call site is not used:
 * writes into buf). */
const char *golden_path(const golden_case *c, const char *file, char *buf, size_t size);

/* The float32 noise floor of `key` ("unet_case0.out") from precision.json, or 0. */
double golden_noise_floor(const golden_case *c, const char *key);

/* Compares got[0..n) with the case's tensor `tensor`; prints
 *   "<case> <label>: max_abs_err=… tol=… PASS|FAIL" and tallies it.
 * A shape/size mismatch or non-finite value is a failure. Returns 1 on pass. */
int golden_compare(const golden_case *c, golden_tally *t, const char *label,
                   const char *tensor, const float *got, size_t n, double tol);

/* Compares two arrays that are both in memory (e.g. expected ids). */
int golden_compare_arrays(const golden_case *c, golden_tally *t, const char *label,
                          const float *expected, const float *got, size_t n, double tol);

/* Records a pass/fail with a free-form message (for non-numeric checks). */
void golden_check(const golden_case *c, golden_tally *t, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a check that was not run, with the reason ("<case> <reason> SKIP"). */
void golden_skip(const golden_case *c, golden_tally *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Why the engine cannot run the networks of checkpoint `file` (a name in the case folder,
 * else in --models): 1 with the loader's reason in `why` when the file is well-formed but
 * of a family the engine refuses (SD_ERR_UNSUPPORTED), 0 otherwise (it loads, or fails
 * for another reason the runner reports). */
int golden_checkpoint_unsupported(const golden_case *c, const char *file, char *why,
                                  size_t size);
/* As golden_checkpoint_unsupported for the U-Net alone (sd_unet_config_detect): the
 * U-Net of a family whose other networks do not run yet (SD 2.x) is checked on its own. */
int golden_unet_unsupported(const golden_case *c, const char *file, char *why, size_t size);

/* The sampler and scheduler config of a diffusers scheduler (class name, extra kwargs,
 * scheduler config json), or -1 after tallying why the engine does not implement it. */
int golden_sched_config(const golden_case *c, golden_tally *t, const char *cls,
                        const cJSON *kwargs, const cJSON *cfg, sd_sched_config *out);

/* A pipe_* case whose networks the engine cannot run yet: only its scheduler, checked
 * against the recorded U-Net outputs (golden_pipe_sched.c). */
int golden_run_pipeline_scheduler(const golden_case *c, golden_tally *t, sd_sampler sampler,
                                  const sd_sched_config *cfg, const char *why);

/* Runners, one per kind of case. Each returns 0 when it ran (results in the tally),
 * -1 when it could not run the case at all (it has then tallied a failure). */
int golden_run_tokenizer(const golden_case *c, golden_tally *t);
int golden_run_text_encoder(const golden_case *c, golden_tally *t);
int golden_run_clip_skip(const golden_case *c, golden_tally *t);
int golden_run_scheduler(const golden_case *c, golden_tally *t);
int golden_run_unet(const golden_case *c, golden_tally *t);
int golden_run_vae_encode(const golden_case *c, golden_tally *t);
int golden_run_vae_decode(const golden_case *c, golden_tally *t);
int golden_run_taesd_encode(const golden_case *c, golden_tally *t);
int golden_run_taesd_decode(const golden_case *c, golden_tally *t);
int golden_run_pipeline(const golden_case *c, golden_tally *t);

#endif
