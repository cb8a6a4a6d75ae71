/* text_encoder case: the engine's CLIP text encoder against transformers' CLIPTextModel
 * on the recorded input_ids [B, 77] (SD 2.x's folder: open_clip's ViT-H text tower).
 *
 * SD 2.x: the encoder is bound with all the file's blocks (24) here, so that the run with
 * every block gives all_layers_final_layer_norm (the wrong answer, kept as a check that
 * the engine does not produce it) and one block earlier gives last_hidden_state = what
 * SD 2.x conditions on; the model as sd_model_load configures it (23 blocks, clip skip 1)
 * must give that bit for bit.
 *
 * last_hidden_state at 10x the float32 noise floor of precision.json;
 * penultimate_final_layer_norm (the same final LayerNorm one layer earlier, so no more
 * rounding) at the same bound; embeddings, every layer_N and penultimate_hidden_state
 * (the residual stream, not normalised) at 10x that floor relative to their magnitude.
 * Runs on the case's checkpoint and on its fp16 twin, which must agree bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/clip.h"
#include "golden.h"
#include "golden_model.h"
#include "nets/keys.h"
#include "nets/lora.h"

#define TOL_FACTOR 10.0
/* Used where a folder's precision.json lacks the case: the shared folder's relative
 * floor (1.44e-6 on max|last_hidden_state| = 3.28: 4.4e-7), rounded up. */
#define DEFAULT_REL_FLOOR 5e-7

/* What one run keeps: every traced hidden state of every prompt, [B, T, D] each. */
typedef struct {
    int batch, tokens, hidden, layers;
    int row;                 /* prompt being encoded */
    float *embeddings;
    float **layer;           /* layer[i]: hidden state after i + 1 layers */
    float *last;             /* last_hidden_state */
    float *penultimate_ln;   /* final LayerNorm of the penultimate layer */
    float *configured;       /* SD 2.x: the output of the encoder as the model loads it */
    int openclip;            /* SD 2.x's folder (tensor names differ, see compare_run) */
} clip_run;

static void clip_run_free(clip_run *r)
{
    for (int i = 0; r->layer && i < r->layers; i++)
        free(r->layer[i]);
    free(r->layer);
    free(r->embeddings);
    free(r->last);
    free(r->penultimate_ln);
    free(r->configured);
    memset(r, 0, sizeof *r);
}

static int clip_run_alloc(clip_run *r, int batch, int tokens, int hidden, int layers)
{
    const size_t n = (size_t)batch * tokens * hidden;
    r->batch = batch;
    r->tokens = tokens;
    r->hidden = hidden;
    r->layers = layers;
    r->embeddings = malloc(n * sizeof(float));
    r->last = malloc(n * sizeof(float));
    r->penultimate_ln = malloc(n * sizeof(float));
    r->configured = malloc(n * sizeof(float));
    r->layer = calloc((size_t)layers, sizeof *r->layer);
    if (!r->embeddings || !r->last || !r->penultimate_ln || !r->configured || !r->layer)
        return -1;
    for (int i = 0; i < layers; i++)
        if (!(r->layer[i] = malloc(n * sizeof(float))))
            return -1;
    return 0;
}

/* sd_clip_trace callback: files the hidden state under its prompt row. */
static void on_hidden(void *user, const char *name, const float *x, int tokens, int hidden)
{
    clip_run *r = user;
    if (tokens != r->tokens || hidden != r->hidden)
        return;   /* left unfilled: the comparison then fails */
    const size_t n = (size_t)tokens * hidden, at = (size_t)r->row * n;
    int layer = 0;
    if (strcmp(name, "embeddings") == 0)
        memcpy(r->embeddings + at, x, n * sizeof(float));
    else if (sscanf(name, "layer_%d", &layer) == 1 && layer >= 1 && layer <= r->layers)
        memcpy(r->layer[layer - 1] + at, x, n * sizeof(float));
}

static int encode_all(const golden_case *c, golden_tally *t, const char *path,
                      const char *label, clip_run *r)
{
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_clip clip = {0}, configured = {0};
    sd_arena arena;
    sd_error err;
    int64_t *ids64 = NULL;
    int32_t *ids = NULL;
    int ret = -1;
    sd_arena_init(&arena, 0);
    sd_status st = golden_open_model(path, &w, &cfg, &err);
    if (st == SD_OK && golden_apply_loras(c, t, w, &cfg, label) != 0)
        goto done;
    r->openclip = st == SD_OK && cfg.clip.kind == SD_TEXT_OPENCLIP_H;
    if (r->openclip) {
        st = sd_clip_load(&configured, w, &cfg.clip, &err);
        cfg.clip.layers = cfg.clip.stored_layers;   /* every block, see the top */
    }
    if (st == SD_OK)
        st = sd_clip_load(&clip, w, &cfg.clip, &err);
    if (st == SD_OK)
        st = sd_lora_attach(w, SD_KEY_TEXT_ENCODER, &err);   /* the case's LoRAs, if any */
    if (st != SD_OK) {
        golden_check(c, t, 0, "[%s] loading %s: %s", label, path, err.message);
        goto done;
    }
    const st_tensor *ids_t = golden_tensor(c, "input_ids");
    if (!ids_t || ids_t->ndim != 2 || !(ids64 = golden_i64(c, "input_ids", NULL))) {
        golden_check(c, t, 0, "[%s] input_ids missing or not [batch, tokens]", label);
        goto done;
    }
    const int batch = (int)ids_t->shape[0], tokens = (int)ids_t->shape[1];
    if (cfg.clip.layers < 2 || !(ids = malloc((size_t)tokens * sizeof *ids)) ||
        clip_run_alloc(r, batch, tokens, cfg.clip.hidden, cfg.clip.layers) != 0) {
        golden_check(c, t, 0, "[%s] out of memory or a one-layer encoder", label);
        goto done;
    }
    const size_t n = (size_t)tokens * cfg.clip.hidden;
    const sd_clip_trace trace = {on_hidden, r};
    for (r->row = 0; r->row < batch; r->row++) {
        for (int i = 0; i < tokens; i++)
            ids[i] = (int32_t)ids64[(size_t)r->row * tokens + i];
        st = sd_clip_encode(&clip, &arena, ids, tokens, 1, r->last + r->row * n, &trace, &err);
        if (st == SD_OK)
            st = sd_clip_encode(&clip, &arena, ids, tokens, 2, r->penultimate_ln + r->row * n,
                                NULL, &err);
        if (st == SD_OK && r->openclip)
            st = sd_clip_encode(&configured, &arena, ids, tokens, 1,
                                r->configured + r->row * n, NULL, &err);
        if (st != SD_OK) {
            golden_check(c, t, 0, "[%s] prompt %d: %s", label, r->row, err.message);
            goto done;
        }
    }
    ret = 0;
done:
    free(ids);
    free(ids64);
    sd_clip_free(&clip);
    sd_clip_free(&configured);
    sd_arena_free(&arena);
    sd_weights_free(w);
    return ret;
}

static void compare_run(const golden_case *c, golden_tally *t, const char *label,
                        const clip_run *r)
{
    const size_t n = (size_t)r->batch * r->tokens * r->hidden;
    char lab[160], tensor[32];
    const double floor = golden_output_floor(c, "last_hidden_state", DEFAULT_REL_FLOOR);
    int64_t n_ref = 0;
    float *ref = golden_f32(c, "last_hidden_state", &n_ref);
    const double mag = ref ? golden_max_abs(ref, (size_t)n_ref) : 0.0;
    free(ref);
    const double rel = mag > 0.0 ? floor / mag : DEFAULT_REL_FLOOR;

    /* A LoRA case (json "lora") records last_hidden_state only; every other case records
     * the intermediates too and must match them. SD 2.x's is one block earlier (the run
     * here binds every block, see the top). */
    if (cJSON_GetObjectItemCaseSensitive(c->json, "lora") &&
        !golden_tensor(c, "penultimate_final_layer_norm")) {
        snprintf(lab, sizeof lab, "last_hidden_state [%s]", label);
        golden_compare(c, t, lab, "last_hidden_state", r->openclip ? r->penultimate_ln : r->last,
                       n, TOL_FACTOR * floor);
        return;
    }
    /* SD 1.x: last_hidden_state is every layer's, penultimate_final_layer_norm one layer
     * earlier; SD 2.x: last_hidden_state is the penultimate's, and every block's result is
     * all_layers_final_layer_norm. */
    const char *all = r->openclip ? "all_layers_final_layer_norm" : "last_hidden_state";
    const char *one_less = r->openclip ? "last_hidden_state" : "penultimate_final_layer_norm";
    snprintf(lab, sizeof lab, "%s [%s]", all, label);
    golden_compare(c, t, lab, all, r->last, n, TOL_FACTOR * floor);
    snprintf(lab, sizeof lab, "%s [%s]", one_less, label);
    golden_compare(c, t, lab, one_less, r->penultimate_ln, n, TOL_FACTOR * floor);
    if (r->openclip) {
        snprintf(lab, sizeof lab, "last_hidden_state [%s, as the model loads: %d blocks = %s "
                 "above]", label, r->layers - 1, one_less);
        golden_compare_arrays(c, t, lab, r->penultimate_ln, r->configured, n, 0.0);
    }
    snprintf(lab, sizeof lab, "embeddings [%s]", label);
    golden_compare_relative(c, t, lab, "embeddings", r->embeddings, n, TOL_FACTOR, rel);
    for (int i = 0; i < r->layers; i++) {
        snprintf(tensor, sizeof tensor, "layer_%d", i + 1);
        if (!golden_tensor(c, tensor))
            continue;
        snprintf(lab, sizeof lab, "%s [%s]", tensor, label);
        golden_compare_relative(c, t, lab, tensor, r->layer[i], n, TOL_FACTOR, rel);
    }
    if (r->openclip)
        return;   /* layer_23 above is the penultimate hidden state */
    snprintf(lab, sizeof lab, "penultimate_hidden_state [%s]", label);
    golden_compare_relative(c, t, lab, "penultimate_hidden_state", r->layer[r->layers - 2], n,
                            TOL_FACTOR, rel);
}

int golden_run_text_encoder(const golden_case *c, golden_tally *t)
{
    golden_checkpoints cp;
    if (golden_case_checkpoints(c, t, &cp) != 0)
        return -1;
    clip_run first = {0};
    int ret = encode_all(c, t, cp.path[0], cp.label[0], &first);
    if (ret == 0)
        compare_run(c, t, cp.label[0], &first);
    for (int i = 1; ret == 0 && i < cp.count; i++) {
        clip_run again = {0};
        ret = encode_all(c, t, cp.path[i], cp.label[i], &again);
        if (ret == 0) {
            compare_run(c, t, cp.label[i], &again);
            /* The same values in both files: bit-identical results. */
            char lab[96];
            snprintf(lab, sizeof lab, "last_hidden_state [%s = %s]", cp.label[i], cp.label[0]);
            golden_compare_arrays(c, t, lab, first.openclip ? first.penultimate_ln : first.last,
                                  again.openclip ? again.penultimate_ln : again.last,
                                  (size_t)first.batch * first.tokens * first.hidden, 0.0);
        }
        clip_run_free(&again);
    }
    clip_run_free(&first);
    return ret;
}
