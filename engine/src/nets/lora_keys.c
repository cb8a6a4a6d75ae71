/* LoRA module names → checkpoint keys. kohya and PEFT name the U-Net's modules by their
 * diffusers paths (down_blocks.0.resnets.0.conv1), the checkpoint by LDM paths
 * (input_blocks.1.0.in_layers.2): each LDM weight's diffusers path is derived here with
 * the block layout of the model's config (diffusers' convert_ldm_unet_checkpoint, run
 * backwards). The text encoder keeps transformers' names under cond_stage_model.transformer.
 * (SD 1.x); SD 2.x's OpenCLIP tower is named back to them, its fused in_proj_weight once per
 * q / k / v third (kohya's lora_te_text_model_encoder_layers_N_self_attn_q_proj …). */
#include "nets/lora_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nets/keys.h"

/* ResBlock sub-modules: LDM name → diffusers name. */
static const char *const resnet_names[][2] = {
    {"in_layers.0", "norm1"},   {"in_layers.2", "conv1"},  {"emb_layers.1", "time_emb_proj"},
    {"out_layers.0", "norm2"},  {"out_layers.3", "conv2"}, {"skip_connection", "conv_shortcut"},
};

/* Top-level modules: LDM → diffusers. */
static const char *const top_names[][2] = {
    {"time_embed.0", "time_embedding.linear_1"}, {"time_embed.2", "time_embedding.linear_2"},
    {"input_blocks.0.0", "conv_in"}, {"out.0", "conv_norm_out"}, {"out.2", "conv_out"},
};

static int resnet_to_diffusers(const char *rest, const char *block, char *out, size_t size)
{
    for (size_t i = 0; i < sizeof resnet_names / sizeof resnet_names[0]; i++)
        if (strcmp(rest, resnet_names[i][0]) == 0)
            return snprintf(out, size, "%s.%s", block, resnet_names[i][1]) < (int)size ? 0 : -1;
    return -1;
}

/* The diffusers path of U-Net module `ldm` (LDM path, no prefix or ".weight"); -1 if none. */
static int unet_to_diffusers(const char *ldm, int lpb, char *out, size_t size)
{
    for (size_t i = 0; i < sizeof top_names / sizeof top_names[0]; i++)
        if (strcmp(ldm, top_names[i][0]) == 0)
            return snprintf(out, size, "%s", top_names[i][1]) < (int)size ? 0 : -1;
    int n, m, used = 0;
    char block[64];
    if (sscanf(ldm, "input_blocks.%d.%d.%n", &n, &m, &used) == 2 && used > 0 && n >= 1) {
        const char *rest = ldm + used;
        int i = (n - 1) / (lpb + 1), j = (n - 1) % (lpb + 1);
        if (j == lpb)   /* the level's downsampler */
            return m == 0 && strcmp(rest, "op") == 0 &&
                   snprintf(out, size, "down_blocks.%d.downsamplers.0.conv", i) < (int)size ? 0 : -1;
        if (m == 0) {
            snprintf(block, sizeof block, "down_blocks.%d.resnets.%d", i, j);
            return resnet_to_diffusers(rest, block, out, size);
        }
        return m == 1 && snprintf(out, size, "down_blocks.%d.attentions.%d.%s", i, j, rest) <
                         (int)size ? 0 : -1;
    }
    if (sscanf(ldm, "middle_block.%d.%n", &m, &used) == 1 && used > 0) {
        const char *rest = ldm + used;
        if (m == 1)
            return snprintf(out, size, "mid_block.attentions.0.%s", rest) < (int)size ? 0 : -1;
        snprintf(block, sizeof block, "mid_block.resnets.%d", m / 2);
        return m == 0 || m == 2 ? resnet_to_diffusers(rest, block, out, size) : -1;
    }
    if (sscanf(ldm, "output_blocks.%d.%d.%n", &n, &m, &used) == 2 && used > 0 && n >= 0) {
        const char *rest = ldm + used;
        int i = n / (lpb + 1), j = n % (lpb + 1);
        if (strcmp(rest, "conv") == 0 && (m == 1 || m == 2))   /* the level's upsampler */
            return snprintf(out, size, "up_blocks.%d.upsamplers.0.conv", i) < (int)size ? 0 : -1;
        if (m == 0) {
            snprintf(block, sizeof block, "up_blocks.%d.resnets.%d", i, j);
            return resnet_to_diffusers(rest, block, out, size);
        }
        return m == 1 && snprintf(out, size, "up_blocks.%d.attentions.%d.%s", i, j, rest) <
                         (int)size ? 0 : -1;
    }
    return -1;
}

static int add_alias(lora_targets *t, size_t *cap, const char *prefix, const char *path,
                     int underscores, const char *key, int part)
{
    if (t->n == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        lora_alias *v = realloc(t->v, c * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        *cap = c;
    }
    size_t lp = strlen(prefix), ln = strlen(path);
    char *s = malloc(lp + ln + 1);
    if (!s)
        return -1;
    memcpy(s, prefix, lp);
    for (size_t i = 0; i <= ln; i++)
        s[lp + i] = underscores && path[i] == '.' ? '_' : path[i];
    t->v[t->n].alias = s;
    t->v[t->n].key = key;
    t->v[t->n].part = part;
    t->n++;
    return 0;
}

static int cmp_alias(const void *a, const void *b)
{
    return strcmp(((const lora_alias *)a)->alias, ((const lora_alias *)b)->alias);
}

/* OpenCLIP resblock modules → transformers' CLIPTextModel names (diffusers'
 * convert_open_clip_checkpoint, run backwards); the fused in_proj is q, k, v by rows. */
static const char *const openclip_names[][2] = {
    {"attn.out_proj.weight", "self_attn.out_proj"},
    {"mlp.c_fc.weight", "mlp.fc1"},
    {"mlp.c_proj.weight", "mlp.fc2"},
};
static const char openclip_in_proj[] = "attn.in_proj_weight";
static const char *const qkv_names[3] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};

/* Both names (kohya lora_te_…, PEFT text_encoder.…) of transformers' module `path`. */
static int add_text_aliases(lora_targets *t, size_t *cap, const char *path, const char *key,
                            int part)
{
    return add_alias(t, cap, "lora_te_", path, 1, key, part) != 0 ||
                   add_alias(t, cap, "text_encoder.", path, 0, key, part) != 0
               ? -1 : 0;
}

/* An OpenCLIP text tower weight under `prefix` (SD 2.x / SD-Turbo): resblocks the model runs
 * (index < layers) get transformers' names; others, and its other tensors, none. */
static int add_openclip_key(lora_targets *t, size_t *cap, const char *key, const char *prefix,
                            int layers)
{
    int n, used = 0;
    char path[256];
    const char *rest = key + strlen(prefix);
    if (sscanf(rest, "transformer.resblocks.%d.%n", &n, &used) != 1 || used == 0 || n < 0 ||
        n >= layers)
        return 0;
    rest += used;
    if (strcmp(rest, openclip_in_proj) == 0) {
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "text_model.encoder.layers.%d.%s", n, qkv_names[i]);
            if (add_text_aliases(t, cap, path, key, i + 1) != 0)
                return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof openclip_names / sizeof openclip_names[0]; i++)
        if (strcmp(rest, openclip_names[i][0]) == 0) {
            snprintf(path, sizeof path, "text_model.encoder.layers.%d.%s", n, openclip_names[i][1]);
            return add_text_aliases(t, cap, path, key, 0);
        }
    return 0;
}

/* The aliases of one checkpoint weight `key` (a linear [out, in] or conv [out, in, kh, kw]). */
static int add_key(lora_targets *t, size_t *cap, const char *key, int lpb, int text_layers)
{
    static const char *const openclip_prefixes[] = {SD_KEY_OPENCLIP, SD_KEY_SGM_OPENCLIP};
    for (size_t i = 0; i < sizeof openclip_prefixes / sizeof openclip_prefixes[0]; i++)
        if (strncmp(key, openclip_prefixes[i], strlen(openclip_prefixes[i])) == 0)
            return add_openclip_key(t, cap, key, openclip_prefixes[i], text_layers);
    static const char suffix[] = ".weight";
    size_t n = strlen(key), k = sizeof suffix - 1;
    char path[256], diffusers[256];
    if (n <= k || n - k >= sizeof path || strcmp(key + n - k, suffix) != 0)
        return 0;
    if (strncmp(key, SD_KEY_UNET, strlen(SD_KEY_UNET)) == 0) {
        size_t p = strlen(SD_KEY_UNET);
        snprintf(path, sizeof path, "%.*s", (int)(n - k - p), key + p);
        if (add_alias(t, cap, "lora_unet_", path, 1, key, 0) != 0)
            return -1;
        if (unet_to_diffusers(path, lpb, diffusers, sizeof diffusers) == 0 &&
            (add_alias(t, cap, "lora_unet_", diffusers, 1, key, 0) != 0 ||
             add_alias(t, cap, "unet.", diffusers, 0, key, 0) != 0))
            return -1;
    } else if (strncmp(key, SD_KEY_CLIP_L, strlen(SD_KEY_CLIP_L)) == 0) {
        size_t p = strlen(SD_KEY_CLIP_L);
        snprintf(path, sizeof path, "%.*s", (int)(n - k - p), key + p);
        if (add_alias(t, cap, "lora_te_", path, 1, key, 0) != 0 ||
            add_alias(t, cap, "text_encoder.", path, 0, key, 0) != 0)
            return -1;
    }
    return 0;
}

sd_status lora_targets_build(const sd_weights *w, const sd_model_config *cfg, lora_targets *t,
                             sd_error *err)
{
    memset(t, 0, sizeof *t);
    size_t cap = 0;
    for (size_t i = 0; i < sd_weights_count(w); i++) {
        int ndim;
        int64_t shape[4];
        const char *key = sd_weights_key(w, i, &ndim, shape);
        if ((ndim == 2 || ndim == 4) &&
            add_key(t, &cap, key, cfg->unet.layers_per_block, cfg->clip.layers) != 0) {
            lora_targets_free(t);
            return sd_fail(err, SD_ERR_NOMEM, "out of memory listing the model's layers");
        }
    }
    qsort(t->v, t->n, sizeof *t->v, cmp_alias);
    return SD_OK;
}

const char *lora_targets_find(const lora_targets *t, const char *name, int *part)
{
    lora_alias probe = {.alias = (char *)(uintptr_t)name};
    const lora_alias *hit = bsearch(&probe, t->v, t->n, sizeof *t->v, cmp_alias);
    if (part)
        *part = hit ? hit->part : 0;
    return hit ? hit->key : NULL;
}

void lora_targets_free(lora_targets *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].alias);
    free(t->v);
    memset(t, 0, sizeof *t);
}
