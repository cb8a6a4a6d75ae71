/* What the runners of the image networks (golden_vae.c, golden_taesd.c) share: a case's
 * [1, c, h, w] inputs, the comparison of every traced block output with the case's
 * block.<name> tensors, a decode's decoded and image01, and the run of one case on each
 * of its files (a checkpoint and its
 * fp16 twin, or TAESD's two layouts), whose results must be bit-identical. */
#ifndef GOLDEN_BLOCKS_H
#define GOLDEN_BLOCKS_H

#include <stddef.h>

#include "golden.h"
#include "golden_model.h"

/* The relative floor of `output`: its noise floor (golden_output_floor) over the
 * reference's magnitude; the per-block bound of the pass that produces it. */
double golden_relative_floor(const golden_case *c, const char *output, double default_rel);

/* Shape [1, channels, h, w] of an input tensor of the case: 0, or -1 (tallied). */
int golden_input_shape(const golden_case *c, golden_tally *t, const char *name, int channels,
                       int *h, int *w);

/* One pass's per-block comparisons (the user of a network's trace callback). */
typedef struct {
    const golden_case *c;
    golden_tally *t;
    const char *file;   /* label of the checkpoint or layout being run: "[<file>]" on lines */
    double rel_floor;   /* the relative noise floor of the pass's output */
    int compared;       /* block.* tensors compared so far */
} golden_blocks;

/* Compares a traced output x [1, ch, h, w] with the case's tensor `tensor` at `factor`
 * times bc->rel_floor relative to its magnitude (golden_compare_relative), when the case
 * holds it (only case 0 holds per-block outputs); a shape that differs is a
 * failure. A compared block.* tensor counts towards golden_blocks_seen. */
void golden_blocks_compare(golden_blocks *bc, const char *tensor, const float *x, int ch, int h,
                           int w, double factor);

/* Every block.* tensor of the case must have been compared: "[<file>] N of M <what>
 * outputs compared" ("block", "layer"), checked when the case holds any. */
void golden_blocks_seen(const golden_blocks *bc, const char *what);

/* The end of a decode: decoded [n] against the case's "decoded" at tol, then image01 =
 * clamp(decoded / 2 + 0.5) (sd_vae_to_unit_range, into the caller's n floats) against
 * "image01" at half of tol (the map halves the error) plus one float32 rounding. */
void golden_compare_decoded(const golden_case *c, golden_tally *t, const char *file,
                            const float *decoded, float *image01, size_t n, double tol);

/* Runs one file of a case: 0 with the result to compare across files in *out (malloc'd,
 * n values), or -1 (tallied). */
typedef int (*golden_run_file_fn)(const golden_case *c, golden_tally *t, const char *path,
                                  const char *label, float **out, size_t *n);

/* Runs `run` on each of `files` in turn (a case's checkpoints, golden_case_checkpoints, or
 * TAESD's layouts), stopping at a failure; every later result must equal the first bit for
 * bit ("<what> [<label> = <first label>]"). Returns 0, or the failing run's -1. */
int golden_run_files(const golden_case *c, golden_tally *t, const golden_checkpoints *files,
                     golden_run_file_fn run, const char *what);

#endif
