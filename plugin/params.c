#include "params.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define ALL_MODES ((1u << SD_MODE_IMG2IMG) | (1u << SD_MODE_INPAINT) | (1u << SD_MODE_TXT2IMG))
#define WITH_SOURCE ((1u << SD_MODE_IMG2IMG) | (1u << SD_MODE_INPAINT))

/* Mnemonics are unique, and avoid those of GIMP 3's dialog buttons (Help, Reset, Cancel,
 * OK, Load Saved Settings, Save Settings). */
const gd_arg gd_args[] = {
    { "prompt", "_Prompt", "What to paint", GD_ARG_TEXT, 0, 0, ALL_MODES },
    { "negative-prompt", "Ne_gative prompt", "What to avoid", GD_ARG_TEXT, 0, 0, ALL_MODES },
    { "strength", "S_trength", "How much the region changes: 0 keeps it, 1 repaints it",
      GD_ARG_DOUBLE, GD_STRENGTH_MIN, GD_STRENGTH_MAX, WITH_SOURCE },
    { "steps", "St_eps", "Denoising steps", GD_ARG_INT, GD_STEPS_MIN, GD_STEPS_MAX, ALL_MODES },
    { "cfg-scale", "G_uidance (CFG)", "How closely to follow the prompt (classifier-free guidance)",
      GD_ARG_DOUBLE, GD_CFG_MIN, GD_CFG_MAX, ALL_MODES },
    { "sampler", "Sa_mpler", "ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lms or lcm",
      GD_ARG_SAMPLER, 0, 0, ALL_MODES },
    { "seed", "See_d", "Seed of the noise (used when random-seed is off)", GD_ARG_INT, 0,
      GD_SEED_MAX, ALL_MODES },
    { "random-seed", "Ra_ndom seed", "Draw a new seed for each run", GD_ARG_BOOL, 0, 1, ALL_MODES },
    { "work-size", "_Working resolution", "Long side of the region while the engine runs, pixels",
      GD_ARG_INT, GD_WORK_SIZE_MIN, GD_WORK_SIZE_MAX, ALL_MODES },
    { "context-padding", "Conte_xt padding", "Pixels around the selection the engine also sees",
      GD_ARG_INT, 0, GD_PADDING_MAX, ALL_MODES },
    { "feather", "_Feather", "Width of the soft edge inside the selection, pixels", GD_ARG_DOUBLE,
      0, GD_FEATHER_MAX, ALL_MODES },
    { "color-match", "Colour m_atch", "Match the generated colours to the surroundings",
      GD_ARG_BOOL, 0, 1, ALL_MODES },
    { "model", "Model chec_kpoint", "Stable Diffusion 1.x .safetensors checkpoint (empty: GIMP_DIFFUSION_MODEL "
      "or ~/.config/gimp-diffusion/config.json)", GD_ARG_FILE, 0, 0, ALL_MODES },
    { "vocab", "_Vocabulary", "Folder of the CLIP vocabulary (empty: GIMP_DIFFUSION_VOCAB, the "
      "config file, or the model's folder)", GD_ARG_FOLDER, 0, 0, ALL_MODES },
};
const int gd_n_args = (int)(sizeof gd_args / sizeof gd_args[0]);

int gd_arg_in_mode(const gd_arg *a, sd_mode mode)
{
    return (a->modes >> mode) & 1u;
}

double gd_arg_default_number(const gd_arg *a, sd_mode mode)
{
    gd_params p;
    gd_params_defaults(&p, mode);
    if (!strcmp(a->name, "strength")) return p.strength;
    if (!strcmp(a->name, "steps")) return p.steps;
    if (!strcmp(a->name, "cfg-scale")) return p.cfg_scale;
    if (!strcmp(a->name, "seed")) return (double)p.seed;
    if (!strcmp(a->name, "random-seed")) return p.random_seed;
    if (!strcmp(a->name, "work-size")) return p.work_size;
    if (!strcmp(a->name, "context-padding")) return p.padding;
    if (!strcmp(a->name, "feather")) return p.feather;
    if (!strcmp(a->name, "color-match")) return p.color_match;
    return 0.0;
}

const char *gd_arg_default_string(const gd_arg *a, sd_mode mode)
{
    gd_params p;
    gd_params_defaults(&p, mode);
    if (!strcmp(a->name, "sampler")) return p.sampler;
    return "";
}

int gd_params_set_number(gd_params *p, const char *name, double v)
{
    if (!strcmp(name, "strength")) p->strength = v;
    else if (!strcmp(name, "steps")) p->steps = (int)v;
    else if (!strcmp(name, "cfg-scale")) p->cfg_scale = v;
    else if (!strcmp(name, "seed")) p->seed = (uint64_t)v;
    else if (!strcmp(name, "random-seed")) p->random_seed = v != 0.0;
    else if (!strcmp(name, "work-size")) p->work_size = (int)v;
    else if (!strcmp(name, "context-padding")) p->padding = (int)v;
    else if (!strcmp(name, "feather")) p->feather = v;
    else if (!strcmp(name, "color-match")) p->color_match = v != 0.0;
    else return -1;
    return 0;
}

int gd_params_set_string(gd_params *p, const char *name, const char *v)
{
    v = v ? v : "";
    if (!strcmp(name, "prompt")) p->prompt = v;
    else if (!strcmp(name, "negative-prompt")) p->negative_prompt = v;
    else if (!strcmp(name, "sampler")) p->sampler = v;
    else if (!strcmp(name, "model")) p->model_path = v;
    else if (!strcmp(name, "vocab")) p->vocab_path = v;
    else return -1;
    return 0;
}

void gd_params_defaults(gd_params *p, sd_mode mode)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->prompt = "";
    p->negative_prompt = "";
    /* inpainting repaints the selection from scratch; img2img keeps its composition */
    p->strength = mode == SD_MODE_INPAINT ? GD_INPAINT_STRENGTH_DEFAULT : GD_STRENGTH_DEFAULT;
    p->steps = GD_STEPS_DEFAULT;
    p->cfg_scale = GD_CFG_DEFAULT;
    p->sampler = GD_SAMPLER_DEFAULT;
    p->random_seed = 1;
    p->work_size = GD_WORK_SIZE_DEFAULT;
    p->padding = GD_PADDING_DEFAULT;
    p->feather = GD_FEATHER_DEFAULT;
    p->model_path = "";
    p->vocab_path = "";
    p->preset = "";
    p->clip_skip = SD_CLIP_SKIP_DEFAULT;
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
             (!p->preset || !*p->preset || cJSON_AddStringToObject(o, "preset", p->preset));
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
