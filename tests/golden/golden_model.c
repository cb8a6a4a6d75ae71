#include "golden_model.h"

#include "nets/lora.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers/layers_bf16.h"
#include "nets/keys.h"
#include "ops/gemm_bf16.h"
#include "pipeline/precision.h"

int golden_case_checkpoints(const golden_case *c, golden_tally *t, golden_checkpoints *cp)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    cp->count = 0;
    if (!cJSON_IsString(name)) {
        golden_check(c, t, 0, "the case json names no checkpoint");
        return -1;
    }
    golden_path(c, name->valuestring, cp->path[0], sizeof cp->path[0]);
    if (access(cp->path[0], R_OK) != 0 && c->models_dir)   /* --models holds it */
        snprintf(cp->path[0], sizeof cp->path[0], "%s/%s", c->models_dir, name->valuestring);
    snprintf(cp->label[0], sizeof cp->label[0], "f32");
    cp->count = 1;

    const char *ext = ".safetensors";
    size_t len = strlen(name->valuestring), ext_len = strlen(ext);
    if (len > ext_len && strcmp(name->valuestring + len - ext_len, ext) == 0) {
        char twin[4096];
        snprintf(twin, sizeof twin, "%.*s-fp16%s", (int)(len - ext_len), name->valuestring,
                 ext);
        golden_path(c, twin, cp->path[1], sizeof cp->path[1]);
        if (access(cp->path[1], R_OK) == 0) {
            snprintf(cp->label[1], sizeof cp->label[1], "fp16");
            cp->count = 2;
        }
    }
    return 0;
}

sd_status golden_open_model(const char *path, sd_weights **w, sd_model_config *cfg,
                            sd_error *err)
{
    sd_status st = sd_weights_open(path, w, err);
    if (st != SD_OK)
        return st;
    st = sd_model_config_detect(sd_weights_file(*w), cfg, err);
    if (st != SD_OK) {
        sd_weights_free(*w);
        *w = NULL;
    }
    return st;
}

double golden_max_abs(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)x[i]) > m)
            m = fabs((double)x[i]);
    return m;
}

double golden_output_floor(const golden_case *c, const char *tensor, double default_rel)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", c->name, tensor);
    double floor = golden_noise_floor(c, key);
    if (floor > 0.0)
        return floor;
    int64_t n = 0;
    float *ref = golden_f32(c, tensor, &n);
    floor = ref ? default_rel * golden_max_abs(ref, (size_t)n) : 0.0;
    free(ref);
    printf("%-28s (precision.json lists no %s: floor %.3e from the default relative %.1e)\n",
           c->name, key, floor, default_rel);
    return floor;
}

int golden_compare_relative(const golden_case *c, golden_tally *t, const char *label,
                            const char *tensor, const float *got, size_t n, double factor,
                            double rel_floor)
{
    int64_t numel = 0;
    float *ref = golden_f32(c, tensor, &numel);
    if (!ref || (size_t)numel != n) {
        golden_check(c, t, 0, "%s: reference %s missing or of another size", label, tensor);
        free(ref);
        return 0;
    }
    double tol = factor * rel_floor * golden_max_abs(ref, n);
    int ok = golden_compare_arrays(c, t, label, ref, got, n, tol);
    free(ref);
    return ok;
}

/* as the model packs them (pipeline/precision.c): the VAE encoder and the decoder's head
 * stay fp32 */
#define N_PREFIXES SD_MODEL_BF16_PACKS

/* The packs of the checkpoints open at once (a runner has one or two), by weights. Test
 * code, one thread: a small table instead of threading the packs through every runner. */
#define MAX_OPEN 4
static struct {
    const sd_weights *w;
    sd_layers_bf16_pack *packs[N_PREFIXES];
} open_packs[MAX_OPEN];

sd_status golden_prepare(const golden_case *c, sd_weights *w, sd_layer_precision *precision,
                         sd_error *err)
{
    *precision = SD_LAYER_FP32;
    if (c->bf16_rel <= 0.0)
        return SD_OK;
    int slot = 0;
    while (slot < MAX_OPEN && open_packs[slot].w)
        slot++;
    if (slot == MAX_OPEN)
        return sd_fail(err, SD_ERR_INTERNAL, "golden: more than %d checkpoints packed", MAX_OPEN);
    open_packs[slot].w = w;
    for (size_t i = 0; i < N_PREFIXES; i++) {
        sd_status s = sd_layers_prepare_bf16(w, sd_precision_bf16_prefix((int)i), ops_bf16_best(),
                                             &open_packs[slot].packs[i], err);
        if (s != SD_OK) {
            golden_unprepare(w);
            return s;
        }
    }
    *precision = SD_LAYER_BF16;
    return SD_OK;
}

void golden_unprepare(sd_weights *w)
{
    for (int slot = 0; w && slot < MAX_OPEN; slot++) {
        if (open_packs[slot].w != w)
            continue;
        for (size_t i = 0; i < N_PREFIXES; i++) {
            sd_layers_bf16_free(w, open_packs[slot].packs[i]);
            open_packs[slot].packs[i] = NULL;
        }
        open_packs[slot].w = NULL;
    }
}

int golden_case_loras(const golden_case *c, sd_lora *loras, char (*paths)[4096], int max)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(c->json, "lora"), *item;
    int n = 0;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(item, "file");
        const cJSON *weight = cJSON_GetObjectItemCaseSensitive(item, "weight");
        if (n == max || !cJSON_IsString(file) || !cJSON_IsNumber(weight))
            return -1;
        golden_path(c, file->valuestring, paths[n], sizeof paths[n]);
        loras[n].path = paths[n];
        loras[n].weight = (float)weight->valuedouble;
        n++;
    }
    return n;
}

int golden_apply_loras(const golden_case *c, golden_tally *t, sd_weights *w,
                       const sd_model_config *cfg, const char *label)
{
    enum { MAX_LORAS = 8 };
    sd_lora loras[MAX_LORAS];
    char paths[MAX_LORAS][4096];
    int n = golden_case_loras(c, loras, paths, MAX_LORAS);
    if (n < 0) {
        golden_check(c, t, 0, "[%s] the case's \"lora\" list is malformed", label);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        sd_error err = {0};
        sd_lora_file *l = NULL;
        sd_status st = sd_lora_read(loras[i].path, &l, &err);
        if (st == SD_OK)
            st = sd_lora_map(l, w, cfg, &err);
        if (st == SD_OK)
            st = sd_lora_apply(l, w, loras[i].weight, &err);
        sd_lora_free(l);
        if (st != SD_OK) {
            golden_check(c, t, 0, "[%s] LoRA %s: %s", label, loras[i].path, err.message);
            return -1;
        }
    }
    return 0;
}

int golden_unet_unsupported(const golden_case *c, const char *file, char *why, size_t size)
{
    char path[4096];
    golden_path(c, file, path, sizeof path);
    if (access(path, R_OK) != 0 && c->models_dir)
        snprintf(path, sizeof path, "%s/%s", c->models_dir, file);
    sd_weights *w = NULL;
    sd_unet_config cfg;
    sd_error err = {0};
    sd_status st = sd_weights_open(path, &w, &err);
    if (st == SD_OK)
        st = sd_unet_config_detect(sd_weights_file(w), &cfg, &err);
    sd_weights_free(w);
    if (st != SD_ERR_UNSUPPORTED)
        return 0;
    snprintf(why, size, "%s", err.message);
    return 1;
}

int golden_checkpoint_unsupported(const golden_case *c, const char *file, char *why,
                                  size_t size)
{
    char path[4096];
    golden_path(c, file, path, sizeof path);
    if (access(path, R_OK) != 0 && c->models_dir)
        snprintf(path, sizeof path, "%s/%s", c->models_dir, file);
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_error err = {0};
    sd_status st = golden_open_model(path, &w, &cfg, &err);
    sd_weights_free(w);
    if (st != SD_ERR_UNSUPPORTED)
        return 0;
    snprintf(why, size, "%s", err.message);
    return 1;
}
