/* LoRA modules → checkpoint weights (sd_lora_map) and the merge W += w·scale·up@down
 * (sd_lora_apply), one GEMM per module into the weight's writable copy. */
#include "nets/lora_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "layers/layers.h"
#include "ops/parallel.h"

/* A fused in_proj_weight holds q, k and v (lora_module.part 1..3). */
#define FUSED_PARTS 3

/* The weight's shape against the module's: up [out, r], down [r, in(, kh, kw)]. */
static int shapes_match(const lora_module *m, int ndim, const int64_t *shape)
{
    if (m->up_shape[0] != shape[0] || m->down_shape[1] != shape[1])
        return 0;
    if (ndim == 2)
        return m->down_ndim == 2;
    /* conv: a 4-D down with the kernel's size, or a 2-D one on a 1×1 conv */
    if (m->down_ndim == 4)
        return m->down_shape[2] == shape[2] && m->down_shape[3] == shape[3];
    return shape[2] == 1 && shape[3] == 1;
}

static const char *format_shape(char *buf, size_t size, int ndim, const int64_t *s)
{
    if (ndim == 2)
        snprintf(buf, size, "[%lld, %lld]", (long long)s[0], (long long)s[1]);
    else
        snprintf(buf, size, "[%lld, %lld, %lld, %lld]", (long long)s[0], (long long)s[1],
                 (long long)s[2], (long long)s[3]);
    return buf;
}

/* Shape of checkpoint tensor `key` (its index found by a binary search on the names). */
static int key_shape(const sd_weights *w, const char *key, int *ndim, int64_t shape[4])
{
    size_t lo = 0, hi = sd_weights_count(w);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = sd_weights_key(w, mid, ndim, shape);
        int c = strcmp(key, name);
        if (c == 0)
            return 0;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

sd_status sd_lora_map(sd_lora_file *l, const sd_weights *w, const sd_model_config *cfg,
                      sd_error *err)
{
    lora_targets t;
    sd_status st = lora_targets_build(w, cfg, &t, err);
    if (st != SD_OK)
        return sd_fail_context(err, st, "%s", l->path);
    int missing = 0, mismatched = 0;
    const lora_module *first_missing = NULL, *first_mismatched = NULL;
    int64_t mismatched_shape[4] = {0};
    int mismatched_ndim = 0;
    for (int i = 0; i < l->count && st == SD_OK; i++) {
        lora_module *m = &l->modules[i];
        int part = 0;
        const char *key = lora_targets_find(&t, m->name, &part);
        int ndim;
        int64_t shape[4];
        if (!key || key_shape(w, key, &ndim, shape) != 0) {
            if (!missing++)
                first_missing = m;
            continue;
        }
        if (part)
            shape[0] /= FUSED_PARTS;   /* the module's third of the fused rows */
        if (!shapes_match(m, ndim, shape)) {
            if (!mismatched++) {
                first_mismatched = m;
                mismatched_ndim = ndim;
                memcpy(mismatched_shape, shape, sizeof shape);
            }
            continue;
        }
        free(m->target);
        m->part = part;
        if (!(m->target = strdup(key)))
            st = sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", l->path);
    }
    lora_targets_free(&t);
    if (st != SD_OK)
        return st;
    if (missing)
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "%s: %d of its %d modules name no layer of this model (first: %s): a "
                       "LoRA for another model family?", l->path, missing, l->count,
                       first_missing->name);
    if (mismatched) {
        char want[64], got[64];
        int64_t lora_shape[4] = {first_mismatched->up_shape[0], first_mismatched->down_shape[1],
                                 first_mismatched->down_shape[2], first_mismatched->down_shape[3]};
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "%s: %d of its %d modules do not fit this model's shapes (first: %s, "
                       "LoRA %s, model %s): a LoRA for another model family?", l->path,
                       mismatched, l->count, first_mismatched->name,
                       format_shape(got, sizeof got, first_mismatched->down_ndim, lora_shape),
                       format_shape(want, sizeof want, mismatched_ndim, mismatched_shape));
    }
    return SD_OK;
}

/* One module's delta to apply: which file, which module, at what user weight. */
typedef struct {
    const sd_lora_file *file;
    const lora_module *m;
    float weight;
    size_t order;   /* file order: deltas to one target add up in the order the files come */
} contribution;

static int cmp_contribution(const void *a, const void *b)
{
    const contribution *x = a, *y = b;
    int c = strcmp(x->m->target, y->m->target);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* W[out, in·kh·kw] += (weight · scale) · up[out, r] @ down[r, in·kh·kw] for each of the
 * contributions [c, c + n) to the same target, then the copy is sealed. A module on a third
 * of a fused in_proj (part p) adds to rows [(p - 1)·out/3, p·out/3) only: transformers'
 * separate q / k / v Linears are these rows (A1111 adds vstack(Δq, Δk, Δv) alike). */
static sd_status merge_target(const contribution *c, size_t n, sd_weights *w, sd_error *err)
{
    int ndim;
    int64_t shape[4];
    float *dst = sd_weights_patch(w, c[0].m->target, &ndim, shape, err);
    if (!dst)
        return sd_fail_context(err, err ? err->code : SD_ERR_NOMEM, "%s", c[0].file->path);
    const int k = (int)(shape[1] * shape[2] * shape[3]);
    for (size_t i = 0; i < n; i++) {
        const int part = c[i].m->part;
        const int out = (int)(part ? shape[0] / FUSED_PARTS : shape[0]);
        float *rows = dst + (size_t)(part ? part - 1 : 0) * (size_t)out * (size_t)k;
        ops_sgemm(0, 0, out, k, c[i].m->rank, (float)(c[i].weight * c[i].m->scale), c[i].m->up,
                  c[i].m->rank, c[i].m->down, k, 1.0f, rows, k);
    }
    sd_status st = sd_weights_patch_seal(w, c[0].m->target, err);
    /* the copy's pages leave memory now (they stay in its spill file): merging a whole
     * U-Net does not hold all of its copies resident before a phase reads them */
    if (st == SD_OK)
        sd_weights_release(w, c[0].m->target);
    return st;
}

sd_status sd_lora_merge(const sd_lora_file *const *files, const float *weights, int n_files,
                        sd_weights *w, sd_error *err)
{
    size_t total = 0;
    for (int f = 0; f < n_files; f++)
        total += (size_t)files[f]->count;
    contribution *c = malloc((total ? total : 1) * sizeof *c);
    if (!c)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory merging %d LoRAs", n_files);
    size_t n = 0;
    for (int f = 0; f < n_files; f++)
        for (int i = 0; i < files[f]->count; i++) {
            const lora_module *m = &files[f]->modules[i];
            if (!m->target) {
                free(c);
                return sd_fail(err, SD_ERR_INTERNAL, "%s: %s applied before it was mapped",
                               files[f]->path, m->name);
            }
            c[n] = (contribution){files[f], m, weights[f], n};
            n++;
        }
    qsort(c, n, sizeof *c, cmp_contribution);
    sd_status st = SD_OK;
    for (size_t i = 0; i < n && st == SD_OK;) {
        size_t j = i + 1;
        while (j < n && strcmp(c[j].m->target, c[i].m->target) == 0)
            j++;
        st = merge_target(c + i, j - i, w, err);
        i = j;
    }
    free(c);
    sd_status end = sd_weights_patch_end(w, err);
    return st != SD_OK ? st : end;
}

sd_status sd_lora_apply(const sd_lora_file *l, sd_weights *w, float weight, sd_error *err)
{
    return sd_lora_merge(&l, &weight, 1, w, err);
}

int sd_lora_target(const sd_weights *w, const sd_model_config *cfg, const char *module,
                   char *buf, size_t size)
{
    lora_targets t;
    if (lora_targets_build(w, cfg, &t, NULL) != SD_OK)
        return -1;
    const char *key = lora_targets_find(&t, module, NULL);
    int rc = key && snprintf(buf, size, "%s", key) < (int)size ? 0 : -1;
    lora_targets_free(&t);
    return rc;
}

typedef struct {
    sd_weights *w;
    const char *prefix;
    sd_error *err;
    sd_status st;
} attach_state;

static void attach_one(void *user, const sd_tensor *patched)
{
    attach_state *s = user;
    if (s->st != SD_OK || strncmp(patched->name, s->prefix, strlen(s->prefix)) != 0)
        return;
    sd_layer_params *p = sd_layer_find(s->w, patched->name);
    if (!p) {
        s->st = sd_fail(s->err, SD_ERR_UNSUPPORTED,
                        "LoRA on %s, which no Linear or Conv2d of the model reads", patched->name);
        return;
    }
    sd_layer_set_merged(p, patched);   /* a fused in_proj: its q, k and v rows */
}

sd_status sd_lora_attach(sd_weights *w, const char *prefix, sd_error *err)
{
    attach_state s = {.w = w, .prefix = prefix, .err = err, .st = SD_OK};
    sd_weights_each_patch(w, attach_one, &s);
    return s.st;
}

static void detach_one(void *user, sd_layer_params *p)
{
    (void)user;
    sd_layer_clear_merged(p);
}

void sd_lora_detach(sd_weights *w)
{
    sd_layer_each(w, "", detach_one, NULL);
    sd_weights_unpatch(w);
}
