#include "golden_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/vae.h"

/* The prefix of the per-block tensors in a case. */
#define BLOCK_PREFIX "block."
/* One float32 rounding of a value of magnitude 1 (2^-23). */
#define F32_ULP 1.1920929e-7

double golden_relative_floor(const golden_case *c, const char *output, double default_rel)
{
    int64_t n = 0;
    float *ref = golden_f32(c, output, &n);
    double mag = ref ? golden_max_abs(ref, (size_t)n) : 0.0;
    free(ref);
    return mag > 0.0 ? golden_output_floor(c, output, default_rel) / mag : default_rel;
}

int golden_input_shape(const golden_case *c, golden_tally *t, const char *name, int channels,
                       int *h, int *w)
{
    const st_tensor *ref = golden_tensor(c, name);
    if (!ref || ref->ndim != 4 || ref->shape[0] != 1 || ref->shape[1] != channels) {
        golden_check(c, t, 0, "input %s missing or not [1, %d, h, w]", name, channels);
        return -1;
    }
    *h = (int)ref->shape[2];
    *w = (int)ref->shape[3];
    return 0;
}

void golden_blocks_compare(golden_blocks *bc, const char *tensor, const float *x, int ch, int h,
                           int w, double factor)
{
    const st_tensor *ref = golden_tensor(bc->c, tensor);
    if (!ref)
        return;
    char label[128];
    snprintf(label, sizeof label, "%s [%s]", tensor, bc->file);
    if (ref->ndim != 4 || ref->shape[0] != 1 || ref->shape[1] != ch || ref->shape[2] != h ||
        ref->shape[3] != w) {
        golden_check(bc->c, bc->t, 0, "%s: engine shape [1,%d,%d,%d] differs from the reference",
                     label, ch, h, w);
        return;
    }
    golden_compare_relative(bc->c, bc->t, label, tensor, x, (size_t)ch * h * w, factor,
                            bc->rel_floor);
    if (strncmp(tensor, BLOCK_PREFIX, strlen(BLOCK_PREFIX)) == 0)
        bc->compared++;
}

void golden_blocks_seen(const golden_blocks *bc, const char *what)
{
    int in_case = 0;
    for (size_t i = 0; bc->c->tensors && i < st_count(bc->c->tensors); i++)
        if (strncmp(st_at(bc->c->tensors, i)->name, BLOCK_PREFIX, strlen(BLOCK_PREFIX)) == 0)
            in_case++;
    if (in_case > 0)
        golden_check(bc->c, bc->t, bc->compared == in_case, "[%s] %d of %d %s outputs compared",
                     bc->file, bc->compared, in_case, what);
}

void golden_compare_decoded(const golden_case *c, golden_tally *t, const char *file,
                            const float *decoded, float *image01, size_t n, double tol)
{
    char lab[96];
    snprintf(lab, sizeof lab, "decoded [%s]", file);
    golden_compare(c, t, lab, "decoded", decoded, n, tol);
    sd_vae_to_unit_range(decoded, n, image01);
    snprintf(lab, sizeof lab, "image01 [%s]", file);
    golden_compare(c, t, lab, "image01", image01, n, 0.5 * tol + F32_ULP);
}

int golden_run_files(const golden_case *c, golden_tally *t, const golden_checkpoints *files,
                     golden_run_file_fn run, const char *what)
{
    float *first = NULL;
    size_t n = 0;
    int ret = run(c, t, files->path[0], files->label[0], &first, &n);
    for (int i = 1; ret == 0 && i < files->count; i++) {
        float *again = NULL;
        size_t n_again = 0;
        ret = run(c, t, files->path[i], files->label[i], &again, &n_again);
        if (ret == 0) {
            /* The same values in every file: bit-identical results. */
            char lab[96];
            snprintf(lab, sizeof lab, "%s [%s = %s]", what, files->label[i], files->label[0]);
            if (n_again == n)
                golden_compare_arrays(c, t, lab, first, again, n, 0.0);
            else
                golden_check(c, t, 0, "%s: %zu values, not %zu", lab, n_again, n);
        }
        free(again);
    }
    free(first);
    return ret;
}
