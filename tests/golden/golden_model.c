#include "golden_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int golden_case_checkpoints(const golden_case *c, golden_tally *t, golden_checkpoints *cp)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    cp->count = 0;
    if (!cJSON_IsString(name)) {
        golden_check(c, t, 0, "the case json names no checkpoint");
        return -1;
    }
    golden_path(c, name->valuestring, cp->path[0], sizeof cp->path[0]);
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
