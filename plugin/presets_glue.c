#include "presets_glue.h"

#include "loras.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set by plugin/meson.build; empty in builds that do not install presets. */
#ifndef GD_PRESETS_DIR
#define GD_PRESETS_DIR ""
#endif
#ifndef GD_PRESETS_SOURCE_DIR
#define GD_PRESETS_SOURCE_DIR ""
#endif

const gd_preset_mode_choice gd_preset_modes[] = {
    { GD_PRESET_MODE_AUTO, "Automatic: inpaint when the preset repaints fully" },
    { "img2img", "Image to image" },
    { "inpaint", "Inpaint" },
    { "txt2img", "Text to image" },
};
const int gd_n_preset_modes = (int)(sizeof gd_preset_modes / sizeof gd_preset_modes[0]);

static int is_dir(const char *path)
{
    struct stat st;
    return *path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

#ifdef GD_BUNDLE
/* The self-contained build (-Dbundle=true, for the Flatpak GIMP) carries its presets in
 * presets/ beside the executable: the sandbox's /usr is the Flatpak's own. */
static const char *bundle_presets_dir(char *buf, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", buf, n - sizeof "/presets");
    if (len <= 0)
        return "";
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return "";
    strcpy(slash, "/presets");
    return buf;
}
#endif

void gd_preset_dirs_init(gd_preset_dirs *d, const char *gimp_dir)
{
    const char *env = getenv("GIMP_DIFFUSION_PRESETS");
#ifdef GD_BUNDLE
    char exe_dir[sizeof d->shipped];
    const char *installed = bundle_presets_dir(exe_dir, sizeof exe_dir);
#else
    const char *installed = GD_PRESETS_DIR;
#endif
    const char *shipped = env && *env ? env
                          : is_dir(installed) ? installed
                                              : GD_PRESETS_SOURCE_DIR;
    snprintf(d->shipped, sizeof d->shipped, "%s", shipped);
    if (gimp_dir && *gimp_dir)
        snprintf(d->user, sizeof d->user, "%s/diffusion/presets", gimp_dir);
    else
        d->user[0] = '\0';
}

sd_status gd_presets_load(const gd_preset_dirs *d, sd_preset_list **out, sd_error *err)
{
    const char *dirs[2] = { d->shipped[0] ? d->shipped : NULL, d->user[0] ? d->user : NULL };
    return sd_preset_list_load(dirs, 2, out, err);
}

char *gd_presets_errors_text(const sd_preset_list *l)
{
    int n = sd_preset_list_error_count(l);
    if (n == 0)
        return NULL;
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(sd_preset_list_error(l, i)) + 1;
    char *text = malloc(len), *w = text;
    if (!text)
        return NULL;
    for (int i = 0; i < n; i++)
        w += sprintf(w, "%s%s", i ? "\n" : "", sd_preset_list_error(l, i));
    return text;
}

char *gd_presets_not_found_text(const sd_preset_list *l, const char *name)
{
    static const char head[] = "There is no preset named \"%s\". Presets:";
    char *errors = gd_presets_errors_text(l);
    size_t len = sizeof head + strlen(name) + (errors ? strlen(errors) + 16 : 0) + 1;
    for (int i = 0; i < sd_preset_list_count(l); i++)
        len += strlen(sd_preset_name(sd_preset_list_at(l, i))) + 2;
    char *text = malloc(len), *w = text;
    if (text) {
        w += sprintf(w, head, name);
        for (int i = 0; i < sd_preset_list_count(l); i++)
            w += sprintf(w, "%s %s", i ? "," : "", sd_preset_name(sd_preset_list_at(l, i)));
        if (errors)
            sprintf(w, ".\nSkipped:\n%s", errors);
    }
    free(errors);
    return text;
}

void gd_preset_strings_free(gd_preset_strings *s)
{
    free(s->prompt);
    free(s->negative_prompt);
    free(s->model);
    free(s->loras);
    memset(s, 0, sizeof *s);
}

/* The preset's LoRAs as the "loras" argument spells them: "name:weight;name:weight"
 * (malloc'd; NULL when out of memory). */
static char *loras_text(const sd_preset *preset)
{
    int n = sd_preset_lora_count(preset);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(sd_preset_lora_at(preset, i).path) + 32;
    char *text = malloc(len), *w = text;
    if (!text)
        return NULL;
    *w = '\0';
    for (int i = 0; i < n; i++) {
        sd_lora l = sd_preset_lora_at(preset, i);
        w += sprintf(w, "%s%s:%.9g", i ? ";" : "", l.path, gd_short_float(l.weight));
    }
    return text;
}

sd_status gd_preset_apply_params(const sd_preset *preset, const char *subject,
                                 unsigned explicit_fields, gd_params *p, gd_preset_strings *owned,
                                 sd_error *err)
{
    sd_preset_settings s;
    sd_preset_get_settings(preset, &s);
    unsigned take = s.set & ~explicit_fields;

    memset(owned, 0, sizeof *owned);
    owned->prompt = sd_preset_expand(sd_preset_prompt_template(preset), subject);
    if ((take & SD_PRESET_NEGATIVE) && owned->prompt)
        owned->negative_prompt = strdup(sd_preset_negative_prompt(preset));
    if ((take & SD_PRESET_MODEL) && owned->prompt)
        owned->model = strdup(s.model);
    if ((take & SD_PRESET_LORAS) && owned->prompt)
        owned->loras = loras_text(preset);
    if (!owned->prompt || (take & SD_PRESET_NEGATIVE && !owned->negative_prompt) ||
        (take & SD_PRESET_MODEL && !owned->model) || (take & SD_PRESET_LORAS && !owned->loras)) {
        gd_preset_strings_free(owned);
        return gd_fail(err, SD_ERR_NOMEM, "Out of memory applying the preset \"%s\".",
                    sd_preset_name(preset));
    }

    p->prompt = owned->prompt;
    if (take & SD_PRESET_NEGATIVE)
        p->negative_prompt = owned->negative_prompt;
    if (take & SD_PRESET_MODEL)
        p->model_path = owned->model;
    if (take & SD_PRESET_SAMPLER)
        p->sampler = sd_sampler_name(s.sampler);
    if (take & SD_PRESET_STEPS)
        p->steps = s.steps;
    if (take & SD_PRESET_CFG)
        p->cfg_scale = s.cfg_scale;
    if ((take & SD_PRESET_STRENGTH) && p->mode != SD_MODE_TXT2IMG)
        p->strength = s.strength;
    if (take & SD_PRESET_SEED) {
        p->random_seed = s.random_seed;
        if (!s.random_seed)
            p->seed = s.seed > GD_SEED_MAX ? GD_SEED_MAX : s.seed;
    }
    if (take & SD_PRESET_CLIP_SKIP)
        p->clip_skip = s.clip_skip;
    if (take & SD_PRESET_RESOLUTION)
        p->work_size = s.resolution;
    if (take & SD_PRESET_PADDING)
        p->padding = s.padding;
    if (take & SD_PRESET_FEATHER)
        p->feather = s.feather;
    if (take & SD_PRESET_SPACING)
        p->spacing = sd_spacing_name(s.spacing);
    if (take & SD_PRESET_PREDICTION)
        p->prediction = sd_prediction_name(s.prediction);
    if (take & SD_PRESET_DRAFT_VAE)
        p->draft_vae = s.draft_vae;
    if (take & SD_PRESET_PRECISION)
        p->precision = sd_precision_name(s.precision);
    if (take & SD_PRESET_MASKED_CONTENT)
        p->masked_content = sd_masked_content_name(s.masked_content);
    if (take & SD_PRESET_RNG)
        p->rng = sd_rng_name(s.rng);
    if (take & SD_PRESET_VAE_TILE) {
        gd_vae_tile_text(s.vae_tile, owned->vae_tile, sizeof owned->vae_tile);
        p->vae_tile = owned->vae_tile;
    }
    if (take & SD_PRESET_LORAS) {
        p->loras = owned->loras;
        for (int k = 0; k < GD_DIALOG_LORAS; k++)
            p->lora_file[k] = "";
    }
    /* a preset's ranges are the engine's; the plug-in's arguments are narrower */
    gd_params_clamp(p);
    return SD_OK;
}

int gd_preset_run_mode(const sd_preset *preset, const char *mode_name)
{
    if (!mode_name || !*mode_name || !strcmp(mode_name, GD_PRESET_MODE_AUTO)) {
        sd_preset_settings s;
        sd_preset_get_settings(preset, &s);
        return (s.set & SD_PRESET_STRENGTH) && s.strength >= 1.0 ? SD_MODE_INPAINT
                                                                  : SD_MODE_IMG2IMG;
    }
    for (int m = SD_MODE_IMG2IMG; m <= SD_MODE_TXT2IMG; m++)
        if (!strcmp(mode_name, gd_mode_name((sd_mode)m)))
            return m;
    return -1;
}

const char *gd_preset_picker_prompt(gd_preset_picker *pk, const sd_preset *preset,
                                    const char *current_prompt)
{
    const char *subject = current_prompt ? current_prompt : "";
    if (pk->written && pk->subject && !strcmp(subject, pk->written))
        subject = pk->subject;
    char *keep = strdup(subject);
    /* with nothing typed yet the template is shown as it is: {prompt} marks where the
       subject goes, and a preset saved from it keeps the placeholder */
    char *prompt = !*subject ? strdup(sd_preset_prompt_template(preset))
                             : sd_preset_expand(sd_preset_prompt_template(preset), subject);
    if (!keep || !prompt) {
        free(keep);
        free(prompt);
        return NULL;
    }
    gd_preset_picker_clear(pk);
    pk->subject = keep;
    pk->written = prompt;
    return prompt;
}

void gd_preset_picker_clear(gd_preset_picker *pk)
{
    free(pk->subject);
    free(pk->written);
    pk->subject = pk->written = NULL;
}

/* p's LoRAs (the argument's and the dialog's) into the preset, by the names the LoRA folder
 * knows them by. */
static sd_status set_loras(sd_preset *preset, const gd_params *p, sd_error *err)
{
    gd_lora_entry *given = malloc(SD_LORA_MAX * sizeof *given);
    char (*names)[256] = malloc(SD_LORA_MAX * sizeof *names);
    sd_lora loras[SD_LORA_MAX];
    int n = 0;
    sd_status st = given && names ? gd_loras_parse(p, given, &n, err)
                                  : gd_fail(err, SD_ERR_NOMEM, "out of memory");
    for (int i = 0; st == SD_OK && i < n; i++) {
        gd_lora_stem(given[i].file, names[i], sizeof names[i]);
        loras[i] = (sd_lora){ names[i], (float)given[i].weight };
    }
    if (st == SD_OK && n > 0)
        st = sd_preset_set_loras(preset, loras, n, err);
    free(given);
    free(names);
    return st;
}

sd_status gd_preset_from_params(const char *name, const char *description, const gd_params *p,
                                sd_preset **out, sd_error *err)
{
    *out = NULL;
    gd_schedule sched;
    sd_status st = gd_params_schedule(p, &sched, err);
    if (st != SD_OK)
        return st;
    sd_preset_settings s = {
        .set = SD_PRESET_SAMPLER | SD_PRESET_STEPS | SD_PRESET_CFG | SD_PRESET_SEED |
               SD_PRESET_RESOLUTION | SD_PRESET_PADDING | SD_PRESET_FEATHER |
               SD_PRESET_SPACING | SD_PRESET_PREDICTION | SD_PRESET_DRAFT_VAE |
               SD_PRESET_CLIP_SKIP | SD_PRESET_PRECISION | SD_PRESET_RNG | SD_PRESET_VAE_TILE,
        .clip_skip = p->clip_skip,
        .precision = sched.precision,
        .masked_content = sched.masked_content,
        .rng = sched.rng,
        .vae_tile = sched.vae_tile,
        .sampler = sched.sampler,
        .spacing = sched.spacing,
        .prediction = sched.prediction,
        .draft_vae = p->draft_vae != 0,
        .steps = p->steps,
        .cfg_scale = (float)p->cfg_scale,
        .strength = p->strength,
        .random_seed = p->random_seed,
        .seed = p->seed,
        /* presets hold multiples of 8; the engine rounds the working size the same way */
        .resolution = (p->work_size + 4) / 8 * 8,
        .padding = p->padding,
        .feather = (float)p->feather,
        .model = p->model_path,
    };
    if (p->mode != SD_MODE_TXT2IMG)
        s.set |= SD_PRESET_STRENGTH;
    if (p->mode == SD_MODE_INPAINT)
        s.set |= SD_PRESET_MASKED_CONTENT;
    if (p->model_path && *p->model_path)
        s.set |= SD_PRESET_MODEL;
    /* an empty negative prompt is left out, so applying the preset keeps the dialog's */
    const char *negative = p->negative_prompt && *p->negative_prompt ? p->negative_prompt : NULL;

    sd_preset *preset = NULL;
    st = sd_preset_new(name, p->prompt ? p->prompt : "", negative, &preset, err);
    if (st == SD_OK)
        st = sd_preset_set_settings(preset, &s, err);
    if (st == SD_OK && description && *description)
        st = sd_preset_set_description(preset, description, err);
    if (st == SD_OK)
        st = set_loras(preset, p, err);
    if (st != SD_OK) {
        sd_preset_free(preset);
        return st;
    }
    *out = preset;
    return SD_OK;
}

void gd_preset_file_name(const char *name, char *buf, size_t size)
{
    size_t n = 0, room = size > 6 ? size - 6 : 0; /* ".json" and the terminator */
    int dash = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c;) {
        /* UTF-8 letters stay as they are, whole sequences or nothing */
        size_t len = *c >= 0xF0 ? 4 : *c >= 0xE0 ? 3 : *c >= 0xC0 ? 2 : 1;
        if (len == 1 && !isalnum(*c)) {
            dash = 1;
            c++;
            continue;
        }
        size_t need = len + (dash && n > 0);
        if (n + need > room)
            break;
        if (dash && n > 0)
            buf[n++] = '-';
        dash = 0;
        for (size_t k = 0; k < len && *c; k++, c++)
            buf[n++] = (char)(len == 1 ? tolower(*c) : *c);
    }
    if (n == 0 && room >= 6) {
        memcpy(buf, "preset", 6);
        n = 6;
    }
    if (size > n)
        snprintf(buf + n, size - n, ".json");
}

static sd_status make_dirs(const char *dir, sd_error *err)
{
    char path[GD_PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *c = path + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char was = *c;
        *c = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return gd_fail(err, SD_ERR_IO, "Cannot create the folder %.300s: %s", path,
                        strerror(errno));
        *c = was;
        if (!was)
            return SD_OK;
    }
}

/* A free file name for the preset: its own file when one with the same preset name is
 * there already (saving again replaces it), never another preset's. */
static sd_status pick_path(const gd_preset_dirs *d, const char *name, char *path, size_t size,
                           sd_error *err)
{
    char base[256];
    gd_preset_file_name(name, base, sizeof base);
    base[strlen(base) - 5] = '\0';
    for (int k = 1; k < 100; k++) {
        if (k == 1)
            snprintf(path, size, "%s/%s.json", d->user, base);
        else
            snprintf(path, size, "%s/%s-%d.json", d->user, base, k);
        struct stat st;
        if (stat(path, &st) != 0)
            return SD_OK;
        sd_preset *other = NULL;
        int same = sd_preset_load_file(path, &other, NULL) == SD_OK &&
                   !strcmp(sd_preset_name(other), name);
        sd_preset_free(other);
        if (same)
            return SD_OK;
    }
    return gd_fail(err, SD_ERR_IO, "No free file name for the preset \"%s\" in %.300s.", name,
                d->user);
}

sd_status gd_preset_save_user(const gd_preset_dirs *d, const sd_preset *preset, char *path_out,
                              size_t path_size, sd_error *err)
{
    if (!d->user[0])
        return gd_fail(err, SD_ERR_INVALID_ARG, "There is no GIMP profile folder to save presets in.");
    sd_status st = make_dirs(d->user, err);
    if (st == SD_OK)
        st = pick_path(d, sd_preset_name(preset), path_out, path_size, err);
    if (st == SD_OK)
        st = sd_preset_save_file(preset, path_out, err);
    return st;
}

sd_status gd_preset_prepare(const sd_preset_list *l, const gd_preset_call *call, gd_params *p,
                            gd_preset_strings *owned, sd_error *err)
{
    memset(owned, 0, sizeof *owned);
    const char *name = call->preset ? call->preset : "";
    const sd_preset *preset = sd_preset_list_find(l, name);
    if (!preset) {
        char *missing = gd_presets_not_found_text(l, name);
        gd_fail(err, SD_ERR_INVALID_ARG, "%s", missing ? missing : "Out of memory.");
        free(missing);
        return SD_ERR_INVALID_ARG;
    }
    int mode = gd_preset_run_mode(preset, call->mode);
    if (mode < 0)
        return gd_fail(err, SD_ERR_INVALID_ARG,
                    "Unknown mode \"%.100s\" (auto, img2img, inpaint, txt2img).", call->mode);
    gd_params_defaults(p, (sd_mode)mode);
    const char *model = call->model ? call->model : "";
    p->model_path = model;
    p->vocab_path = call->vocab ? call->vocab : "";
    sd_status st = gd_preset_apply_params(preset, call->subject ? call->subject : "",
                                          *model ? SD_PRESET_MODEL : 0, p, owned, err);
    if (st == SD_OK)
        p->preset = sd_preset_name(preset); /* recorded in the layer's parasite */
    return st;
}

sd_status gd_preset_row_init(gd_preset_row *row, sd_mode mode, const gd_form *form,
                             const char *gimp_dir, char **skipped, sd_error *err)
{
    memset(row, 0, sizeof *row);
    row->mode = mode;
    row->form = *form;
    *skipped = NULL;
    gd_preset_dirs_init(&row->dirs, gimp_dir);
    sd_status st = gd_presets_load(&row->dirs, &row->list, err);
    if (st == SD_OK)
        *skipped = gd_presets_errors_text(row->list);
    return st;
}

void gd_preset_row_free(gd_preset_row *row)
{
    sd_preset_list_free(row->list);
    gd_preset_picker_clear(&row->picker);
    row->list = NULL;
}

sd_status gd_preset_row_pick(gd_preset_row *row, const char *name, sd_error *err)
{
    const sd_preset *preset = row->list && name ? sd_preset_list_find(row->list, name) : NULL;
    if (!preset)
        return SD_OK; /* nothing picked */
    gd_strings owned = { 0 };
    gd_params p;
    gd_preset_strings strings;
    sd_error e = { 0 };
    gd_params_defaults(&p, row->mode);
    row->form.read(row->form.user, &p, &owned);
    const char *prompt = gd_preset_picker_prompt(&row->picker, preset, p.prompt);
    sd_status st = prompt ? gd_preset_apply_params(preset, "", 0, &p, &strings, &e)
                          : gd_fail(&e, SD_ERR_NOMEM, "out of memory");
    if (st == SD_OK) {
        p.prompt = prompt;
        row->form.write(row->form.user, &p);
        gd_preset_strings_free(&strings);
    } else {
        gd_fail(err, st, "The preset \"%.100s\" could not be applied: %.300s",
             sd_preset_name(preset), e.message);
    }
    gd_strings_free(&owned);
    return st;
}

sd_status gd_preset_row_save(gd_preset_row *row, const char *name, const char *description,
                             sd_error *err)
{
    gd_strings owned = { 0 };
    gd_params p;
    sd_preset *preset = NULL;
    sd_error e = { 0 };
    char path[GD_PATH_MAX];
    gd_params_defaults(&p, row->mode);
    row->form.read(row->form.user, &p, &owned);
    sd_status st = gd_preset_from_params(name, description, &p, &preset, &e);
    if (st == SD_OK)
        st = gd_preset_save_user(&row->dirs, preset, path, sizeof path, &e);
    sd_preset_free(preset);
    gd_strings_free(&owned);
    if (st != SD_OK)
        return gd_fail(err, st, "The preset \"%.100s\" could not be saved: %.300s", name,
                    e.message);
    sd_preset_list *l = NULL;
    if (gd_presets_load(&row->dirs, &l, &e) == SD_OK) {
        sd_preset_list_free(row->list);
        row->list = l;
    }
    /* the fields hold the new preset already: the next pick starts afresh */
    gd_preset_picker_clear(&row->picker);
    return SD_OK;
}

char *gd_preset_tooltip(const sd_preset *preset)
{
    if (!preset)
        return strdup("Fills the fields from a saved preset");
    const char *d = sd_preset_description(preset), *f = sd_preset_source(preset);
    size_t n = strlen(d) + strlen(f) + 2;
    char *tip = malloc(n);
    if (tip)
        snprintf(tip, n, "%s\n%s", d, f);
    return tip;
}
