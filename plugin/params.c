#include "params.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_MODES ((1u << SD_MODE_IMG2IMG) | (1u << SD_MODE_INPAINT) | (1u << SD_MODE_TXT2IMG))
#define WITH_SOURCE ((1u << SD_MODE_IMG2IMG) | (1u << SD_MODE_INPAINT))

/* Where a row's value lives: the field's offset, and its C type read from the field itself
 * (the controlling expression of _Generic is not evaluated). */
#define GD_FIELD_KIND(f)                                                                    \
    _Generic(((gd_params *)0)->f, int: GD_FIELD_INT, uint64_t: GD_FIELD_U64,                 \
             double: GD_FIELD_DOUBLE, const char *: GD_FIELD_STRING)
#define FIELD(f) .offset = offsetof(gd_params, f), .field = GD_FIELD_KIND(f)
_Static_assert(GD_DIALOG_LORAS == 2, "one LORA_ROWS line per dialog LoRA");

static const char *sampler_choice(int index)
{
    return index >= 0 && index < SD_SAMPLER_COUNT ? sd_sampler_name((sd_sampler)index) : NULL;
}

static const char *spacing_choice(int index)
{
    return index >= 0 && index < SD_SPACING_COUNT ? sd_spacing_name((sd_spacing)index) : NULL;
}

static const char *prediction_choice(int index)
{
    return index >= 0 && index < SD_PREDICTION_COUNT ? sd_prediction_name((sd_prediction)index)
                                                     : NULL;
}

static const char *precision_choice(int index)
{
    return index >= 0 && index <= SD_PRECISION_BF16 ? sd_precision_name((sd_precision)index) : NULL;
}

static const char *masked_content_choice(int index)
{
    return index >= 0 && index < SD_MASKED_CONTENT_COUNT
               ? sd_masked_content_name((sd_masked_content)index)
               : NULL;
}

static const char *rng_choice(int index)
{
    return index >= 0 && index < SD_RNG_COUNT ? sd_rng_name((sd_rng_kind)index) : NULL;
}

/* A dialog LoRA chooser k (0-based) and its weight: aux rows, after every PDB argument. */
#define LORA_ROWS(k, file_nick, weight_nick)                                                 \
    { .name = "lora-" #k, .nick = file_nick,                                                 \
      .blurb = "A LoRA .safetensors file applied with the weight below (empty: none)",      \
      .type = GD_ARG_FILE, FIELD(lora_file[k - 1]), .modes = ALL_MODES, .aux = 1,            \
      .advanced = 1 },                                                                       \
    { .name = "lora-" #k "-weight", .nick = weight_nick,                                     \
      .blurb = "Weight of the LoRA above (1 = as trained; negative reverses it)",            \
      .type = GD_ARG_DOUBLE, .min = GD_LORA_WEIGHT_MIN, .max = GD_LORA_WEIGHT_MAX,          \
      .def = GD_LORA_WEIGHT_DEFAULT, FIELD(lora_weight[k - 1]), .modes = ALL_MODES,          \
      .aux = 1, .advanced = 1 }

/* One row per argument, in PDB order: new arguments go at the end, so that scripts calling
 * the procedures with positional arguments (Script-Fu) keep working.
 * Mnemonics are unique, and avoid those of GIMP 3's dialog buttons (Help, Reset, Cancel,
 * OK, Load Saved Settings, Save Settings); tests/unit/test_plugin_params.c checks both. */
const gd_arg gd_args[] = {
    { .name = "prompt", .nick = "_Prompt", .blurb = "What to paint", .type = GD_ARG_TEXT,
      FIELD(prompt), .modes = ALL_MODES },
    { .name = "negative-prompt", .nick = "Ne_gative prompt", .blurb = "What to avoid",
      .type = GD_ARG_TEXT, FIELD(negative_prompt), .modes = ALL_MODES },
    { .name = "strength", .nick = "S_trength",
      .blurb = "How much the region changes: 0 keeps it, 1 repaints it", .type = GD_ARG_DOUBLE,
      .min = GD_STRENGTH_MIN, .max = GD_STRENGTH_MAX, .def = GD_STRENGTH_DEFAULT,
      FIELD(strength), .modes = WITH_SOURCE },
    { .name = "steps", .nick = "St_eps", .blurb = "Denoising steps", .type = GD_ARG_INT,
      .min = GD_STEPS_MIN, .max = GD_STEPS_MAX, .def = GD_STEPS_DEFAULT, FIELD(steps),
      .modes = ALL_MODES },
    { .name = "cfg-scale", .nick = "G_uidance (CFG)",
      .blurb = "How closely to follow the prompt (classifier-free guidance)",
      .type = GD_ARG_DOUBLE, .min = GD_CFG_MIN, .max = GD_CFG_MAX, .def = GD_CFG_DEFAULT,
      FIELD(cfg_scale), .modes = ALL_MODES },
    { .name = "sampler", .nick = "Sa_mpler",
      .blurb = "ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lms or lcm",
      .type = GD_ARG_CHOICE, .def_str = GD_SAMPLER_DEFAULT, .choice = sampler_choice,
      FIELD(sampler), .modes = ALL_MODES },
    { .name = "seed", .nick = "See_d", .blurb = "Seed of the noise (used when random-seed is off)",
      .type = GD_ARG_INT, .min = 0, .max = GD_SEED_MAX, .def = 0, FIELD(seed),
      .modes = ALL_MODES },
    { .name = "random-seed", .nick = "Ra_ndom seed", .blurb = "Draw a new seed for each run",
      .type = GD_ARG_BOOL, .min = 0, .max = 1, .def = 1, FIELD(random_seed), .modes = ALL_MODES },
    { .name = "work-size", .nick = "_Working resolution",
      .blurb = "Long side of the region while the engine runs, pixels", .type = GD_ARG_INT,
      .min = GD_WORK_SIZE_MIN, .max = GD_WORK_SIZE_MAX, .def = GD_WORK_SIZE_DEFAULT,
      FIELD(work_size), .modes = ALL_MODES },
    { .name = "context-padding", .nick = "Conte_xt padding",
      .blurb = "Pixels around the selection the engine also sees", .type = GD_ARG_INT,
      .min = 0, .max = GD_PADDING_MAX, .def = GD_PADDING_DEFAULT, FIELD(padding),
      .modes = ALL_MODES },
    { .name = "feather", .nick = "_Feather",
      .blurb = "Width of the soft edge inside the selection, pixels", .type = GD_ARG_DOUBLE,
      .min = 0, .max = GD_FEATHER_MAX, .def = GD_FEATHER_DEFAULT, FIELD(feather),
      .modes = ALL_MODES },
    { .name = "color-match", .nick = "Colour m_atch",
      .blurb = "Match the generated colours to the surroundings", .type = GD_ARG_BOOL,
      .min = 0, .max = 1, .def = 0, FIELD(color_match), .modes = ALL_MODES },
    { .name = "model", .nick = "Model chec_kpoint",
      .blurb = "Stable Diffusion 1.x .safetensors checkpoint (empty: GIMP_DIFFUSION_MODEL "
               "or ~/.config/gimp-diffusion/config.json)",
      .type = GD_ARG_FILE, FIELD(model_path), .modes = ALL_MODES },
    { .name = "vocab", .nick = "_Vocabulary",
      .blurb = "Folder of the CLIP vocabulary (empty: GIMP_DIFFUSION_VOCAB, the config file, "
               "or the model's folder)",
      .type = GD_ARG_FOLDER, FIELD(vocab_path), .modes = ALL_MODES },
    { .name = "timestep-spacing", .nick = "T_imestep spacing",
      .blurb = "leading, trailing or linspace (diffusers' timestep_spacing; trailing for "
               "1-4 step models)",
      .type = GD_ARG_CHOICE, .def_str = "leading", .choice = spacing_choice, FIELD(spacing),
      .modes = ALL_MODES, .advanced = 1 },
    { .name = "prediction", .nick = "Prediction t_ype",
      .blurb = "What the U-Net predicts: auto (the model's), eps or v",
      .type = GD_ARG_CHOICE, .def_str = "auto", .choice = prediction_choice,
      FIELD(prediction), .modes = ALL_MODES, .advanced = 1 },
    { .name = "loras", .nick = "LoRAs _by name",
      .blurb = "LoRAs as file:weight;file:weight (a name without a folder is looked up in the "
               "config's lora_dir, .safetensors added; weight 1 when left out)",
      .type = GD_ARG_STRING, FIELD(loras), .modes = ALL_MODES, .advanced = 1 },
    { .name = "draft-vae", .nick = "_Quick draft VAE (TAESD)",
      .blurb = "Encode and decode with the configured TAESD instead of the full VAE: much "
               "faster, softer detail",
      .type = GD_ARG_BOOL, .min = 0, .max = 1, .def = 0, FIELD(draft_vae), .modes = ALL_MODES,
      .advanced = 1 },
    { .name = "precision", .nick = "Precision (_5)",
      .blurb = "Arithmetic of the U-Net and VAE decoder: auto (the config's \"precision\", else "
               "bf16 where the CPU has bf16 matrix instructions), fp32 (exact) or bf16 (faster)",
      .type = GD_ARG_CHOICE, .def_str = "auto", .choice = precision_choice, FIELD(precision),
      .modes = ALL_MODES, .advanced = 1 },
    { .name = "clip-skip", .nick = "CLIP skip (_6)",
      .blurb = "1 = the text encoder's output (SD 2.x: already its penultimate block), 2 = one "
               "layer earlier, ... (at most the model's text encoder layers: SD 1.x 12, "
               "SD 2.x 23)",
      .type = GD_ARG_INT, .min = SD_CLIP_SKIP_MIN, .max = SD_CLIP_SKIP_MAX,
      .def = SD_CLIP_SKIP_DEFAULT, FIELD(clip_skip), .modes = ALL_MODES, .advanced = 1 },
    { .name = "masked-content", .nick = "Masked content (_7)",
      .blurb = "What the selection starts from: original (its pixels), fill (blurred "
               "surroundings) or noise",
      .type = GD_ARG_CHOICE, .def_str = "original", .choice = masked_content_choice,
      FIELD(masked_content), .modes = 1u << SD_MODE_INPAINT, .advanced = 1 },
    { .name = "rng", .nick = "Noise generator (_8)",
      .blurb = "torch (CPU generator, as diffusers and ComfyUI) or philox (A1111's GPU noise): "
               "the same seed gives those tools' pictures",
      .type = GD_ARG_CHOICE, .def_str = "torch", .choice = rng_choice, FIELD(rng),
      .modes = ALL_MODES, .advanced = 1 },
    { .name = "vae-tile", .nick = "VAE tile si_ze",
      .blurb = "auto (tiles only when the region would not fit in memory), off, or a tile side "
               "in pixels (a multiple of 64): bounded memory, seams cross-faded",
      .type = GD_ARG_STRING, .def_str = "auto", FIELD(vae_tile), .modes = ALL_MODES,
      .advanced = 1 },
    LORA_ROWS(1, "LoRA _1", "LoRA 1 weight (_3)"),
    LORA_ROWS(2, "LoRA _2", "LoRA 2 weight (_4)"),
};
const int gd_n_args = (int)(sizeof gd_args / sizeof gd_args[0]);

const gd_arg *gd_arg_find(const char *name)
{
    for (int i = 0; name && i < gd_n_args; i++)
        if (!strcmp(gd_args[i].name, name))
            return &gd_args[i];
    return NULL;
}

int gd_arg_in_mode(const gd_arg *a, sd_mode mode)
{
    return (a->modes >> mode) & 1u;
}

int gd_arg_is_string(const gd_arg *a)
{
    return a->field == GD_FIELD_STRING;
}

double gd_arg_get_number(const gd_arg *a, const gd_params *p)
{
    const char *base = (const char *)p + a->offset;
    switch (a->field) {
    case GD_FIELD_INT: return *(const int *)(const void *)base;
    case GD_FIELD_U64: return (double)*(const uint64_t *)(const void *)base;
    case GD_FIELD_DOUBLE: return *(const double *)(const void *)base;
    case GD_FIELD_STRING: break;
    }
    return 0.0;
}

const char *gd_arg_get_string(const gd_arg *a, const gd_params *p)
{
    if (a->field != GD_FIELD_STRING)
        return "";
    const char *s = *(const char *const *)(const void *)((const char *)p + a->offset);
    return s ? s : "";
}

void gd_arg_set_number(const gd_arg *a, gd_params *p, double v)
{
    char *base = (char *)p + a->offset;
    if (a->type == GD_ARG_BOOL)
        v = v != 0.0;
    switch (a->field) {
    case GD_FIELD_INT: *(int *)(void *)base = (int)v; break;
    case GD_FIELD_U64: *(uint64_t *)(void *)base = v > 0 ? (uint64_t)v : 0; break;
    case GD_FIELD_DOUBLE: *(double *)(void *)base = v; break;
    case GD_FIELD_STRING: break;
    }
}

void gd_arg_set_string(const gd_arg *a, gd_params *p, const char *v)
{
    if (a->field == GD_FIELD_STRING)
        *(const char **)(void *)((char *)p + a->offset) = v ? v : "";
}

int gd_params_set_number(gd_params *p, const char *name, double v)
{
    const gd_arg *a = gd_arg_find(name);
    if (!a || gd_arg_is_string(a))
        return -1;
    gd_arg_set_number(a, p, v);
    return 0;
}

int gd_params_set_string(gd_params *p, const char *name, const char *v)
{
    const gd_arg *a = gd_arg_find(name);
    if (!a || !gd_arg_is_string(a))
        return -1;
    gd_arg_set_string(a, p, v);
    return 0;
}

double gd_param_number(const gd_params *p, const char *name)
{
    const gd_arg *a = gd_arg_find(name);
    return a ? gd_arg_get_number(a, p) : 0.0;
}

const char *gd_param_string(const gd_params *p, const char *name)
{
    const gd_arg *a = gd_arg_find(name);
    return a ? gd_arg_get_string(a, p) : "";
}

void gd_params_clamp(gd_params *p)
{
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (gd_arg_is_string(a))
            continue;
        double v = gd_arg_get_number(a, p);
        if (v < a->min || v > a->max)
            gd_arg_set_number(a, p, v < a->min ? a->min : a->max);
    }
}

double gd_arg_default_number(const gd_arg *a, sd_mode mode)
{
    gd_params p;
    gd_params_defaults(&p, mode);
    return gd_arg_get_number(a, &p);
}

const char *gd_arg_default_string(const gd_arg *a, sd_mode mode)
{
    gd_params p;
    gd_params_defaults(&p, mode);
    return gd_arg_get_string(a, &p);
}

char *gd_params_values_json(const gd_params *p)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int i = 0; ok && i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (!gd_arg_in_mode(a, p->mode))
            continue;
        ok = gd_arg_is_string(a) ? cJSON_AddStringToObject(o, a->name, gd_arg_get_string(a, p)) != NULL
                                 : cJSON_AddNumberToObject(o, a->name, gd_arg_get_number(a, p)) != NULL;
    }
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

void gd_params_values_from_json(const char *json, gd_params *p, gd_strings *owned)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    for (int i = 0; cJSON_IsObject(o) && i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        cJSON *it = cJSON_GetObjectItemCaseSensitive(o, a->name);
        if (!gd_arg_in_mode(a, p->mode))
            continue;
        if (cJSON_IsNumber(it) && !gd_arg_is_string(a))
            gd_arg_set_number(a, p, it->valuedouble);
        else if (cJSON_IsString(it) && gd_arg_is_string(a))
            gd_arg_set_string(a, p, gd_strings_add(owned, it->valuestring));
    }
    cJSON_Delete(o);
}

void gd_params_defaults(gd_params *p, sd_mode mode)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    for (int i = 0; i < gd_n_args; i++) {
        if (gd_arg_is_string(&gd_args[i]))
            gd_arg_set_string(&gd_args[i], p, gd_args[i].def_str);
        else
            gd_arg_set_number(&gd_args[i], p, gd_args[i].def);
    }
    /* the one default that depends on the procedure: inpainting repaints the selection
       from scratch, img2img keeps its composition */
    if (mode == SD_MODE_INPAINT)
        p->strength = GD_INPAINT_STRENGTH_DEFAULT;
    /* fields no argument sets (Apply Preset does) */
    p->preset = "";
}

const gd_proc_info gd_procs[] = {
    { GD_PROC_IMG2IMG, SD_MODE_IMG2IMG, "_Image to Image...", "Image to Image",
      "Repaint the selection (or the layer) guided by a prompt" },
    { GD_PROC_INPAINT, SD_MODE_INPAINT, "I_npaint Selection...", "Inpaint Selection",
      "Fill the selection with new content described by a prompt, matching its surroundings" },
    { GD_PROC_TXT2IMG, SD_MODE_TXT2IMG, "_Text to Image...", "Text to Image",
      "Paint a new picture described by a prompt into the selection" },
};
const int gd_n_procs = (int)(sizeof gd_procs / sizeof gd_procs[0]);

const gd_proc_info *gd_proc_find(const char *proc)
{
    for (int i = 0; proc && i < gd_n_procs; i++)
        if (!strcmp(gd_procs[i].proc, proc))
            return &gd_procs[i];
    return NULL;
}

sd_status gd_fail(sd_error *err, sd_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *gd_mode_name(sd_mode mode)
{
    switch (mode) {
    case SD_MODE_IMG2IMG: return "img2img";
    case SD_MODE_INPAINT: return "inpaint";
    case SD_MODE_TXT2IMG: return "txt2img";
    }
    return "?";
}

sd_status gd_params_schedule(const gd_params *p, gd_schedule *out, sd_error *err)
{
    int sampler = sd_sampler_from_name(p->sampler);
    int spacing = sd_spacing_from_name(p->spacing);
    int prediction = sd_prediction_from_name(p->prediction);
    if (sampler < 0)
        return gd_fail(err, SD_ERR_INVALID_ARG, "Unknown sampler \"%s\".", p->sampler);
    if (spacing < 0)
        return gd_fail(err, SD_ERR_INVALID_ARG,
                       "Unknown timestep spacing \"%s\" (leading, trailing, linspace).", p->spacing);
    if (prediction < 0)
        return gd_fail(err, SD_ERR_INVALID_ARG, "Unknown prediction type \"%s\" (auto, eps, v).",
                       p->prediction);
    *out = (gd_schedule){ (sd_sampler)sampler, (sd_spacing)spacing, (sd_prediction)prediction,
                          SD_PRECISION_AUTO, SD_MASKED_ORIGINAL, SD_RNG_TORCH_CPU,
                          SD_VAE_TILE_AUTO };
    if (sd_precision_parse(p->precision, &out->precision))
        return gd_fail(err, SD_ERR_INVALID_ARG, "Unknown precision \"%s\" (auto, fp32, bf16).",
                       p->precision ? p->precision : "");
    if (sd_masked_content_parse(p->masked_content, &out->masked_content))
        return gd_fail(err, SD_ERR_INVALID_ARG,
                       "Unknown masked content \"%s\" (original, fill, noise).",
                       p->masked_content ? p->masked_content : "");
    if (sd_rng_parse(p->rng, &out->rng))
        return gd_fail(err, SD_ERR_INVALID_ARG, "Unknown noise generator \"%s\" (torch, philox).",
                       p->rng ? p->rng : "");
    if (sd_vae_tile_parse(p->vae_tile, &out->vae_tile))
        return gd_fail(err, SD_ERR_INVALID_ARG,
                       "VAE tile size \"%s\" is none of auto, off or a multiple of %d pixels in "
                       "%d..%d.", p->vae_tile ? p->vae_tile : "", SD_VAE_TILE_MULTIPLE,
                       SD_VAE_TILE_MIN, SD_VAE_TILE_MAX);
    return SD_OK;
}

void gd_vae_tile_text(int vae_tile, char *buf, size_t size)
{
    if (vae_tile == SD_VAE_TILE_AUTO)
        snprintf(buf, size, "auto");
    else if (vae_tile == SD_VAE_TILE_OFF)
        snprintf(buf, size, "off");
    else
        snprintf(buf, size, "%d", vae_tile);
}

double gd_short_float(float f)
{
    char buf[32];
    for (int digits = 1; digits < 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    return strtod(buf, NULL);
}

/* "loras": [{"file": the file's name without its folder, "weight"}] of the LoRAs the run
 * applied (those the prompt names are in the prompt). */
static int add_loras(cJSON *o, const gd_params *p)
{
    cJSON *list = cJSON_AddArrayToObject(o, "loras");
    for (int i = 0; list && i < p->n_engine_loras; i++) {
        const char *path = p->engine_loras[i].path, *slash = strrchr(path, '/');
        cJSON *item = cJSON_CreateObject();
        if (!item || !cJSON_AddItemToArray(list, item) ||
            !cJSON_AddStringToObject(item, "file", slash ? slash + 1 : path) ||
            !cJSON_AddNumberToObject(item, "weight", gd_short_float(p->engine_loras[i].weight)))
            return 0;
    }
    return list != NULL;
}

char *gd_params_to_json(const gd_params *p, int region_x, int region_y, int region_w,
                        int region_h, int work_w, int work_h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    int ok = cJSON_AddStringToObject(o, "generator", "gimp-diffusion") &&
             cJSON_AddStringToObject(o, "mode", gd_mode_name(p->mode)) &&
             cJSON_AddStringToObject(o, "prompt", p->prompt) &&
             cJSON_AddStringToObject(o, "negative_prompt", p->negative_prompt) &&
             (p->mode == SD_MODE_TXT2IMG || cJSON_AddNumberToObject(o, "strength", p->strength)) &&
             cJSON_AddNumberToObject(o, "steps", p->steps) &&
             cJSON_AddNumberToObject(o, "cfg_scale", p->cfg_scale) &&
             cJSON_AddStringToObject(o, "sampler", p->sampler) &&
             /* as a string: JSON numbers are doubles and a 64-bit seed would round */
             cJSON_AddStringToObject(o, "seed", seed) &&
             cJSON_AddNumberToObject(o, "work_width", work_w) &&
             cJSON_AddNumberToObject(o, "work_height", work_h) &&
             cJSON_AddNumberToObject(o, "padding", p->padding) &&
             cJSON_AddNumberToObject(o, "feather", p->feather) &&
             cJSON_AddBoolToObject(o, "color_match", p->color_match) &&
             cJSON_AddNumberToObject(o, "clip_skip", p->clip_skip) &&
             cJSON_AddStringToObject(o, "model", p->model_path) &&
             (!p->family || cJSON_AddStringToObject(o, "family", p->family)) &&
             (!p->preset || !*p->preset || cJSON_AddStringToObject(o, "preset", p->preset)) &&
             cJSON_AddStringToObject(o, "timestep_spacing", p->spacing ? p->spacing : "") &&
             cJSON_AddStringToObject(o, "prediction", p->prediction ? p->prediction : "") &&
             cJSON_AddBoolToObject(o, "draft_vae", p->draft_vae) && add_loras(o, p) &&
             cJSON_AddStringToObject(o, "precision", p->precision ? p->precision : "") &&
             (!p->bf16_kernel || cJSON_AddStringToObject(o, "bf16_kernel", p->bf16_kernel)) &&
             (p->mode != SD_MODE_INPAINT ||
              cJSON_AddStringToObject(o, "masked_content",
                                      p->masked_content ? p->masked_content : "")) &&
             cJSON_AddStringToObject(o, "rng", p->rng ? p->rng : "") &&
             cJSON_AddStringToObject(o, "vae_tile", p->vae_tile ? p->vae_tile : "");
    cJSON *r = ok ? cJSON_AddObjectToObject(o, "region") : NULL;
    ok = r && cJSON_AddNumberToObject(r, "x", region_x) && cJSON_AddNumberToObject(r, "y", region_y) &&
         cJSON_AddNumberToObject(r, "width", region_w) &&
         cJSON_AddNumberToObject(r, "height", region_h);
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

void gd_layer_name(const char *prompt, char *buf, int max)
{
    size_t n = 0;
    while (prompt && (prompt[n] == ' ' || prompt[n] == '\t'))
        prompt++;
    if (!prompt || !*prompt || *prompt == '\n') {
        snprintf(buf, (size_t)max, "Stable Diffusion");
        return;
    }
    while (prompt[n] && prompt[n] != '\n' && prompt[n] != '\r' && n + 1 < (size_t)max)
        n++;
    /* never split a UTF-8 sequence: back up over continuation bytes */
    if (prompt[n] && prompt[n] != '\n' && prompt[n] != '\r')
        while (n > 0 && ((unsigned char)prompt[n] & 0xC0) == 0x80)
            n--;
    memcpy(buf, prompt, n);
    buf[n] = '\0';
}

const char *gd_strings_add(gd_strings *s, const char *str)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(str ? str : "");
    if (copy)
        s->v[s->n++] = copy;
    return copy;
}

void gd_strings_free(gd_strings *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
