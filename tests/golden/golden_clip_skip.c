/* clip_skip case: the engine's clip skip against diffusers' (StableDiffusionPipeline
 * .encode_prompt(prompt, clip_skip=k) = final_layer_norm(hidden_states[-(k + 1)])), through
 * the path a job takes (sd_model_load, sd_prompt_encode). The engine counts from 1 = the
 * encoder's output, so diffusers' k is the engine's k + 1 (null, diffusers' default, is 1);
 * the case's "text_encoder_layers" must be the model's clip_layers, the largest clip skip.
 * Each tensor at 10x its float32 noise floor (the json's max_abs_diff_vs_float64). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "golden.h"
#include "golden_model.h"
#include "pipeline/prompt_encode.h"

#define TOL_FACTOR 10.0

static void check_one(const golden_case *c, golden_tally *t, sd_model *m, sd_arena *a,
                      const char *prompt, const cJSON *k)
{
    char tensor[64], theirs[16], lab[160];
    int ours = 1;
    if (cJSON_IsNumber(k)) {
        ours = k->valueint + 1;
        snprintf(tensor, sizeof tensor, "prompt_embeds_skip%d", k->valueint);
        snprintf(theirs, sizeof theirs, "%d", k->valueint);
    } else {
        snprintf(tensor, sizeof tensor, "prompt_embeds_default");
        snprintf(theirs, sizeof theirs, "None");
    }
    const cJSON *floors = cJSON_GetObjectItemCaseSensitive(c->json, "max_abs_diff_vs_float64");
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(floors, tensor);
    const st_tensor *ref = golden_tensor(c, tensor);
    if (!cJSON_IsNumber(fl) || !ref) {
        golden_check(c, t, 0, "%s: tensor or its noise floor missing", tensor);
        return;
    }
    float *got = NULL;
    int n_chunks = 0;
    sd_error err = {0};
    if (sd_prompt_encode(m, a, prompt, ours, &got, &n_chunks, &err) != SD_OK) {
        golden_check(c, t, 0, "%s (engine clip skip %d): %s", tensor, ours, err.message);
        return;
    }
    snprintf(lab, sizeof lab, "%s (diffusers clip_skip %s = engine %d)", tensor, theirs, ours);
    golden_compare(c, t, lab, tensor, got, (size_t)n_chunks * (size_t)ref->shape[1] *
                   (size_t)ref->shape[2], TOL_FACTOR * fl->valuedouble);
    free(got);
}

int golden_run_clip_skip(const golden_case *c, golden_tally *t)
{
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(c->json, "prompt");
    const cJSON *skips = cJSON_GetObjectItemCaseSensitive(c->json, "clip_skips");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(c->json, "text_encoder_layers");
    if (!cJSON_IsString(file) || !cJSON_IsString(prompt) || !cJSON_IsArray(skips) ||
        !cJSON_IsNumber(layers)) {
        golden_check(c, t, 0, "case json lacks checkpoint, prompt, clip_skips or "
                              "text_encoder_layers");
        return -1;
    }
    char path[4096];   /* beside the case, else in --models */
    golden_path(c, file->valuestring, path, sizeof path);
    if (access(path, R_OK) != 0 && c->models_dir)
        snprintf(path, sizeof path, "%s/%s", c->models_dir, file->valuestring);
    sd_model *m = NULL;
    sd_error err = {0};
    const sd_model_options opts = {.precision = SD_PRECISION_FP32};
    if (sd_model_load(path, c->vocab_dir, &opts, &m, &err) != SD_OK) {
        golden_check(c, t, 0, "load %s: %s", path, err.message);
        return -1;
    }
    sd_model_info info;
    sd_model_get_info(m, &info);
    golden_check(c, t, info.clip_layers == layers->valueint,
                 "clip_layers %d (the largest clip skip) = diffusers' text encoder's %d layers",
                 info.clip_layers, layers->valueint);
    sd_arena a;
    sd_arena_init(&a, 0);
    const cJSON *k;
    cJSON_ArrayForEach(k, skips)
        check_one(c, t, m, &a, prompt->valuestring, k);
    sd_arena_free(&a);
    sd_model_free(m);
    return 0;
}
