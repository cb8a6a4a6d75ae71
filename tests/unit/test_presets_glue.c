/* plugin/presets_glue.c: presets applied to the plug-in's parameters, the dialog's preset
 * picker, "Save as preset" and the user folder overriding the shipped one.
 * usage: test-presets-glue SHIPPED_PRESETS_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "presets_glue.h"

static char tmp[256];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "create %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static sd_preset *parse(const char *json)
{
    sd_preset *p = NULL;
    sd_error err = { 0 };
    CHECK(sd_preset_parse(json, "test.json", &p, &err) == SD_OK, "parse: %s", err.message);
    return p;
}

static void test_dirs(const char *shipped)
{
    gd_preset_dirs d;
    setenv("GIMP_DIFFUSION_PRESETS", shipped, 1);
    gd_preset_dirs_init(&d, "/home/u/.config/GIMP/3.0");
    CHECK(!strcmp(d.shipped, shipped), "env names the shipped folder: %s", d.shipped);
    CHECK(!strcmp(d.user, "/home/u/.config/GIMP/3.0/diffusion/presets"), "user folder: %s", d.user);
    unsetenv("GIMP_DIFFUSION_PRESETS");
    gd_preset_dirs_init(&d, NULL);
    CHECK(d.shipped[0] != '\0', "a shipped folder without the environment");
    CHECK(d.user[0] == '\0', "no profile, no user folder");
}

/* The user's folder overrides a shipped preset by name; a bad file is reported, by name,
 * and the others still load. */
static void test_load(const char *shipped)
{
    sd_preset_list *l = NULL;
    sd_error err = { 0 };
    gd_preset_dirs d;
    setenv("GIMP_DIFFUSION_PRESETS", shipped, 1);
    gd_preset_dirs_init(&d, "/nonexistent/profile");
    CHECK(gd_presets_load(&d, &l, &err) == SD_OK, "load shipped: %s", err.message);
    int n_shipped = l ? sd_preset_list_count(l) : 0;
    CHECK(n_shipped >= 8, "at least 8 shipped presets (%d)", n_shipped);
    CHECK(l && sd_preset_list_error_count(l) == 0, "shipped presets all valid");
    CHECK(l && gd_presets_errors_text(l) == NULL, "no error text");
    const sd_preset *water = l ? sd_preset_list_find(l, "Watercolour") : NULL;
    CHECK(water && strstr(sd_preset_source(water), shipped) == sd_preset_source(water),
          "Watercolour is shipped");
    sd_preset_list_free(l);

    char prof[512], user[600];
    snprintf(prof, sizeof prof, "%s/profile", tmp);
    gd_preset_dirs_init(&d, prof);
    snprintf(user, sizeof user, "%s/diffusion/presets", prof);
    CHECK(!strcmp(d.user, user), "user folder in the profile");
    sd_preset *mine;
    CHECK(gd_preset_from_params("Watercolour", NULL, &(gd_params){ 0 }, &mine, &err) != SD_OK,
          "a params without a sampler is refused");
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.prompt = "my own watercolour, {prompt}";
    char path[GD_PATH_MAX];
    CHECK(gd_preset_from_params("Watercolour", "mine", &p, &mine, &err) == SD_OK, "from params: %s",
          err.message);
    CHECK(gd_preset_save_user(&d, mine, path, sizeof path, &err) == SD_OK, "save (mkdir -p): %s",
          err.message);
    sd_preset_free(mine);
    write_file(user, "broken.json", "{\"version\": 1, \"name\": \"Broken\", \"prompt\": \"x\", \"steps\": \"ten\"}");

    CHECK(gd_presets_load(&d, &l, &err) == SD_OK, "load both: %s", err.message);
    CHECK(l && sd_preset_list_count(l) == n_shipped, "override, not addition: %d",
          l ? sd_preset_list_count(l) : -1);
    water = l ? sd_preset_list_find(l, "Watercolour") : NULL;
    CHECK(water && !strcmp(sd_preset_source(water), path), "the user's Watercolour wins: %s",
          water ? sd_preset_source(water) : "(none)");
    CHECK(water && !strcmp(sd_preset_prompt_template(water), "my own watercolour, {prompt}"),
          "its template");
    char *errors = l ? gd_presets_errors_text(l) : NULL;
    CHECK(errors && strstr(errors, "broken.json") && strstr(errors, "steps"),
          "the bad file and key are named: %s", errors ? errors : "(none)");
    char *missing = l ? gd_presets_not_found_text(l, "Broken") : NULL;
    CHECK(missing && strstr(missing, "no preset named \"Broken\"") &&
              strstr(missing, "Watercolour") && errors && strstr(missing, errors),
          "not found: the name, the presets there are and the skipped files: %s",
          missing ? missing : "(none)");
    free(missing);
    free(errors);
    sd_preset_list_free(l);
    unsetenv("GIMP_DIFFUSION_PRESETS");
}

static const char *STYLE = "{\"version\": 1, \"name\": \"Style\", \"prompt\": \"ink drawing of {prompt}, "
                           "cross-hatching\", \"negative_prompt\": \"colour\", \"sampler\": \"ddim\", "
                           "\"steps\": 12, \"cfg_scale\": 9.5, \"strength\": 0.4, \"seed\": 1234, "
                           "\"padding\": 48, \"clip_skip\": 2, \"model\": \"/models/ink.safetensors\"}";

static void test_apply(void)
{
    sd_preset *style = parse(STYLE);
    if (!style)
        return;
    gd_params p;
    gd_preset_strings own;
    sd_error err = { 0 };

    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.negative_prompt = "dialog negative";
    CHECK(gd_preset_apply_params(style, "a heron", 0, &p, &own, &err) == SD_OK, "apply: %s",
          err.message);
    CHECK(!strcmp(p.prompt, "ink drawing of a heron, cross-hatching"), "prompt: %s", p.prompt);
    CHECK(!strcmp(p.negative_prompt, "colour"), "negative: %s", p.negative_prompt);
    CHECK(!strcmp(p.sampler, "ddim") && p.steps == 12 && p.cfg_scale == 9.5, "sampler, steps, cfg");
    CHECK(p.strength == 0.4, "strength %g", p.strength);
    CHECK(!p.random_seed && p.seed == 1234, "fixed seed %llu", (unsigned long long)p.seed);
    CHECK(p.padding == 48, "padding %d", p.padding);
    CHECK(p.clip_skip == 2, "clip skip %d", p.clip_skip);
    CHECK(!strcmp(p.model_path, "/models/ink.safetensors"), "model %s", p.model_path);
    /* what the preset leaves out keeps the dialog's value */
    CHECK(p.work_size == GD_WORK_SIZE_DEFAULT && p.feather == GD_FEATHER_DEFAULT,
          "work size %d, feather %g kept", p.work_size, p.feather);
    gd_preset_strings_free(&own);

    /* explicit arguments win over the preset */
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.steps = 33;
    p.model_path = "/explicit.safetensors";
    p.negative_prompt = "mine";
    CHECK(gd_preset_apply_params(style, "", SD_PRESET_STEPS | SD_PRESET_MODEL | SD_PRESET_NEGATIVE,
                                 &p, &own, &err) == SD_OK, "apply with explicit fields");
    CHECK(p.steps == 33 && !strcmp(p.model_path, "/explicit.safetensors") &&
          !strcmp(p.negative_prompt, "mine"), "explicit steps, model, negative kept");
    CHECK(p.cfg_scale == 9.5, "the rest from the preset");
    CHECK(!strcmp(p.prompt, "ink drawing of , cross-hatching"), "empty subject: %s", p.prompt);
    gd_preset_strings_free(&own);

    /* txt2img takes no strength */
    gd_params_defaults(&p, SD_MODE_TXT2IMG);
    double before = p.strength;
    gd_preset_apply_params(style, "x", 0, &p, &own, &err);
    CHECK(p.strength == before, "txt2img strength untouched");
    gd_preset_strings_free(&own);
    sd_preset_free(style);

    /* the engine's ranges are wider than the plug-in's: clamped */
    sd_preset *wide = parse("{\"version\": 1, \"name\": \"Wide\", \"prompt\": \"p\", \"steps\": 500, "
                            "\"cfg_scale\": 50, \"seed\": 1099511627776, \"resolution\": 4096, "
                            "\"padding\": 3000, \"feather\": 900}");
    if (wide) {
        gd_params_defaults(&p, SD_MODE_INPAINT);
        gd_preset_apply_params(wide, "s", 0, &p, &own, &err);
        CHECK(p.steps == GD_STEPS_MAX && p.cfg_scale == GD_CFG_MAX && p.seed == GD_SEED_MAX &&
              p.work_size == GD_WORK_SIZE_MAX && p.padding == GD_PADDING_MAX &&
              p.feather == GD_FEATHER_MAX, "clamped: steps %d cfg %g seed %llu work %d pad %d "
              "feather %g", p.steps, p.cfg_scale, (unsigned long long)p.seed, p.work_size,
              p.padding, p.feather);
        CHECK(!strcmp(p.prompt, "p, s"), "no placeholder: subject appended: %s", p.prompt);
        gd_preset_strings_free(&own);
        sd_preset_free(wide);
    }
    sd_preset *rnd = parse("{\"version\": 1, \"name\": \"R\", \"prompt\": \"p\", \"seed\": \"random\"}");
    if (rnd) {
        gd_params_defaults(&p, SD_MODE_IMG2IMG);
        p.random_seed = 0;
        gd_preset_apply_params(rnd, "", 0, &p, &own, &err);
        CHECK(p.random_seed == 1, "seed \"random\"");
        gd_preset_strings_free(&own);
        sd_preset_free(rnd);
    }
}

/* Every argument of the table reads back what gd_params_set_* stored. */
static void test_param_access(void)
{
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        if (a->type == GD_ARG_INT || a->type == GD_ARG_DOUBLE || a->type == GD_ARG_BOOL) {
            double v = a->type == GD_ARG_BOOL ? 1.0 : a->type == GD_ARG_INT ? a->min + 1 : a->min + 0.25;
            CHECK(gd_params_set_number(&p, a->name, v) == 0, "set %s", a->name);
            CHECK(gd_param_number(&p, a->name) == v, "%s reads back %g (got %g)", a->name, v,
                  gd_param_number(&p, a->name));
        } else {
            CHECK(gd_params_set_string(&p, a->name, a->blurb) == 0, "set %s", a->name);
            CHECK(!strcmp(gd_param_string(&p, a->name), a->blurb), "%s reads back", a->name);
        }
    }
    CHECK(gd_param_number(&p, "no-such") == 0.0 && !strcmp(gd_param_string(&p, "no-such"), ""),
          "unknown names");
}

/* The parasite names the preset of an Apply Preset run, and only then. */
static void test_parasite_preset(void)
{
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    char *json = gd_params_to_json(&p, 0, 0, 8, 8, 64, 64);
    CHECK(json && !strstr(json, "\"preset\""), "no preset key for a dialog run: %s", json);
    free(json);
    p.preset = "Watercolour";
    json = gd_params_to_json(&p, 0, 0, 8, 8, 64, 64);
    CHECK(json && strstr(json, "\"preset\":\"Watercolour\""), "the preset named: %s", json);
    free(json);
}

static void test_run_mode(void)
{
    sd_preset *full = parse("{\"version\": 1, \"name\": \"F\", \"prompt\": \"p\", \"strength\": 1.0}");
    sd_preset *part = parse("{\"version\": 1, \"name\": \"P\", \"prompt\": \"p\", \"strength\": 0.5}");
    sd_preset *none = parse("{\"version\": 1, \"name\": \"N\", \"prompt\": \"p\"}");
    if (!full || !part || !none)
        return;
    CHECK(gd_preset_run_mode(full, "auto") == SD_MODE_INPAINT, "auto, strength 1: inpaint");
    CHECK(gd_preset_run_mode(full, "") == SD_MODE_INPAINT, "empty = auto");
    CHECK(gd_preset_run_mode(part, "auto") == SD_MODE_IMG2IMG, "auto, strength 0.5: img2img");
    CHECK(gd_preset_run_mode(none, "auto") == SD_MODE_IMG2IMG, "auto, no strength: img2img");
    CHECK(gd_preset_run_mode(full, "img2img") == SD_MODE_IMG2IMG, "named img2img");
    CHECK(gd_preset_run_mode(none, "txt2img") == SD_MODE_TXT2IMG, "named txt2img");
    CHECK(gd_preset_run_mode(none, "inpaint") == SD_MODE_INPAINT, "named inpaint");
    CHECK(gd_preset_run_mode(none, "outpaint") == -1, "unknown mode");
    CHECK(gd_n_preset_modes == 4 && !strcmp(gd_preset_modes[0].id, GD_PRESET_MODE_AUTO),
          "the dialog offers auto first");
    for (int i = 0; i < gd_n_preset_modes; i++)
        CHECK(gd_preset_run_mode(part, gd_preset_modes[i].id) >= 0 && *gd_preset_modes[i].label,
              "offered mode %s runs", gd_preset_modes[i].id);
    sd_preset_free(full);
    sd_preset_free(part);
    sd_preset_free(none);
}

static void test_picker(void)
{
    sd_preset *ink = parse("{\"version\": 1, \"name\": \"Ink\", \"prompt\": \"ink drawing of {prompt}\"}");
    sd_preset *oil = parse("{\"version\": 1, \"name\": \"Oil\", \"prompt\": \"oil painting of {prompt}, impasto\"}");
    if (!ink || !oil)
        return;
    gd_preset_picker pk = { 0 };
    const char *s = gd_preset_picker_prompt(&pk, ink, "");
    CHECK(s && !strcmp(s, "ink drawing of {prompt}"), "nothing typed: the template: %s", s);
    s = gd_preset_picker_prompt(&pk, ink, "a fox");
    CHECK(s && !strcmp(s, "ink drawing of a fox"), "typed subject dressed: %s", s);
    char *kept = strdup(s);
    s = gd_preset_picker_prompt(&pk, oil, kept);
    CHECK(s && !strcmp(s, "oil painting of a fox, impasto"), "re-dressed, not nested: %s", s);
    free(kept);
    s = gd_preset_picker_prompt(&pk, ink, "a wolf");
    CHECK(s && !strcmp(s, "ink drawing of a wolf"), "an edited prompt is the new subject: %s", s);
    gd_preset_picker_clear(&pk);
    CHECK(pk.subject == NULL && pk.written == NULL, "cleared");
    sd_preset_free(ink);
    sd_preset_free(oil);
}

/* Save as preset, load it back, apply it to fresh defaults: the same run. */
static void test_save_round_trip(void)
{
    gd_preset_dirs d;
    char prof[512];
    snprintf(prof, sizeof prof, "%s/profile2", tmp);
    gd_preset_dirs_init(&d, prof);
    sd_error err = { 0 };

    gd_params p;
    gd_params_defaults(&p, SD_MODE_INPAINT);
    p.prompt = "a quiet harbour at dusk";
    p.negative_prompt = "people";
    p.strength = 0.85;
    p.steps = 17;
    p.cfg_scale = 6.5;
    p.sampler = "dpmpp_2m";
    p.random_seed = 0;
    p.seed = 98765;
    p.work_size = 500; /* presets hold multiples of 8, as the engine runs it */
    p.padding = 40;
    p.feather = 3.5;
    p.model_path = "/m/harbour.safetensors";
    p.spacing = "trailing";
    p.prediction = "v";
    p.draft_vae = 1;
    p.clip_skip = 2;
    p.precision = "fp32";
    p.rng = "philox";
    p.vae_tile = "256";
    p.masked_content = "fill";
    p.loras = "harbour-light:0.6";
    p.lora_file[0] = "/elsewhere/film grain.safetensors";
    p.lora_weight[0] = -0.5;

    sd_preset *saved;
    char path[GD_PATH_MAX];
    CHECK(gd_preset_from_params("Harbour: dusk", "evening light", &p, &saved, &err) == SD_OK,
          "from params: %s", err.message);
    CHECK(gd_preset_save_user(&d, saved, path, sizeof path, &err) == SD_OK, "save: %s", err.message);
    CHECK(strstr(path, "/diffusion/presets/harbour-dusk.json") != NULL, "file %s", path);
    sd_preset_free(saved);

    sd_preset *back = NULL;
    CHECK(sd_preset_load_file(path, &back, &err) == SD_OK, "load back: %s", err.message);
    if (!back)
        return;
    CHECK(!strcmp(sd_preset_name(back), "Harbour: dusk"), "name");
    CHECK(!strcmp(sd_preset_description(back), "evening light"), "description");
    gd_params q;
    gd_preset_strings own;
    gd_params_defaults(&q, SD_MODE_INPAINT);
    CHECK(gd_preset_apply_params(back, "", 0, &q, &own, &err) == SD_OK, "apply: %s", err.message);
    CHECK(!strcmp(q.prompt, p.prompt) && !strcmp(q.negative_prompt, p.negative_prompt),
          "prompts: %s / %s", q.prompt, q.negative_prompt);
    CHECK(q.strength == p.strength && q.steps == p.steps && q.cfg_scale == p.cfg_scale &&
          !strcmp(q.sampler, p.sampler), "strength %g steps %d cfg %g sampler %s", q.strength,
          q.steps, q.cfg_scale, q.sampler);
    CHECK(!q.random_seed && q.seed == p.seed, "seed %llu", (unsigned long long)q.seed);
    CHECK(q.work_size == 504 && q.padding == p.padding && fabs(q.feather - p.feather) < 1e-6,
          "work size %d padding %d feather %g", q.work_size, q.padding, q.feather);
    CHECK(!strcmp(q.model_path, p.model_path), "model %s", q.model_path);
    CHECK(!strcmp(q.spacing, "trailing") && !strcmp(q.prediction, "v") && q.draft_vae,
          "spacing %s prediction %s draft VAE %d", q.spacing, q.prediction, q.draft_vae);
    CHECK(q.clip_skip == 2 && !strcmp(q.precision, "fp32") && !strcmp(q.rng, "philox") &&
              !strcmp(q.vae_tile, "256") && !strcmp(q.masked_content, "fill"),
          "clip skip %d precision %s rng %s vae tile %s masked content %s",
          q.clip_skip, q.precision, q.rng, q.vae_tile, q.masked_content);
    /* LoRAs by the names the LoRA folder knows them by, in the LoRA argument */
    CHECK(q.loras && !strcmp(q.loras, "harbour-light:0.6;film grain:-0.5") && !*q.lora_file[0],
          "loras '%s', chooser '%s'", q.loras ? q.loras : "(null)", q.lora_file[0]);
    gd_preset_strings_free(&own);
    sd_preset_free(back);

    /* saving the same name again replaces the file; another name with the same file name
       gets its own file */
    char again[GD_PATH_MAX], other[GD_PATH_MAX];
    p.random_seed = 1;
    gd_preset_from_params("Harbour: dusk", NULL, &p, &saved, &err);
    CHECK(gd_preset_save_user(&d, saved, again, sizeof again, &err) == SD_OK && !strcmp(again, path),
          "same preset, same file: %s", again);
    sd_preset_free(saved);
    gd_preset_from_params("harbour dusk", NULL, &p, &saved, &err);
    CHECK(gd_preset_save_user(&d, saved, other, sizeof other, &err) == SD_OK &&
          strstr(other, "/harbour-dusk-2.json"), "another preset's file is not overwritten: %s", other);
    sd_preset_free(saved);
    CHECK(sd_preset_load_file(path, &back, &err) == SD_OK, "reload");
    if (back) {
        sd_preset_settings s;
        sd_preset_get_settings(back, &s);
        CHECK(s.random_seed == 1, "the re-save took the new values");
        sd_preset_free(back);
    }

    /* txt2img has no strength to save */
    gd_params_defaults(&p, SD_MODE_TXT2IMG);
    CHECK(gd_preset_from_params("T", NULL, &p, &saved, &err) == SD_OK, "txt2img preset");
    if (saved) {
        sd_preset_settings s;
        sd_preset_get_settings(saved, &s);
        CHECK(!(s.set & SD_PRESET_STRENGTH) && !(s.set & SD_PRESET_MODEL) &&
              !(s.set & SD_PRESET_NEGATIVE), "no strength, model or empty negative saved (%#x)", s.set);
        sd_preset_free(saved);
    }
}

static void test_file_name(void)
{
    static const struct {
        const char *name, *file;
    } cases[] = {
        { "Oil painting", "oil-painting.json" },
        { "  Hello, World!! ", "hello-world.json" },
        { "Été à Paris", "Été-à-paris.json" }, /* only ASCII is lowercased */
        { "!!!", "preset.json" },
        { "a/../b", "a-b.json" },
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gd_preset_file_name(cases[i].name, buf, sizeof buf);
        CHECK(!strcmp(buf, cases[i].file), "\"%s\" -> %s (want %s)", cases[i].name, buf, cases[i].file);
    }
    /* cut short on a UTF-8 boundary: 7 bytes of room hold three 2-byte letters, not 3.5 */
    char small[13];
    gd_preset_file_name("ééééééé", small, sizeof small);
    CHECK(!strcmp(small, "ééé.json"), "short buffer: %s", small);
}

/* Apply Preset's plan, as both front ends run it. */
static void test_prepare(const char *shipped)
{
    sd_preset_list *l = NULL;
    sd_error err = { 0 };
    gd_preset_dirs d;
    setenv("GIMP_DIFFUSION_PRESETS", shipped, 1);
    gd_preset_dirs_init(&d, NULL);
    CHECK(gd_presets_load(&d, &l, &err) == SD_OK, "load: %s", err.message);
    unsetenv("GIMP_DIFFUSION_PRESETS");
    gd_params p;
    gd_preset_strings s;

    gd_preset_call call = { "watercolour", "a lighthouse", "auto", "", "/v" };
    CHECK(gd_preset_prepare(l, &call, &p, &s, &err) == SD_OK, "prepare: %s", err.message);
    CHECK(p.mode == SD_MODE_IMG2IMG && p.steps == 25 && fabs(p.strength - 0.65) < 1e-9 &&
              !strcmp(p.preset, "Watercolour") && !strcmp(p.vocab_path, "/v") &&
              strstr(p.prompt, "watercolor painting of a lighthouse"),
          "auto = img2img for strength 0.65, the preset's settings, the name recorded (%s)",
          p.prompt);
    gd_preset_strings_free(&s);

    call.mode = "inpaint";
    call.model = "/explicit.safetensors";
    CHECK(gd_preset_prepare(l, &call, &p, &s, &err) == SD_OK && p.mode == SD_MODE_INPAINT &&
              !strcmp(p.model_path, "/explicit.safetensors"),
          "an explicit mode and model win");
    gd_preset_strings_free(&s);

    call.mode = "sideways";
    CHECK(gd_preset_prepare(l, &call, &p, &s, &err) == SD_ERR_INVALID_ARG &&
              strstr(err.message, "sideways"),
          "unknown mode, a calling error: %s", err.message);
    call.preset = "No such preset";
    call.mode = "auto";
    CHECK(gd_preset_prepare(l, &call, &p, &s, &err) == SD_ERR_INVALID_ARG &&
              strstr(err.message, "There is no preset named \"No such preset\"") &&
              strstr(err.message, "Watercolour"),
          "unknown preset, with the names there are: %s", err.message);
    sd_preset_list_free(l);
}

/* The preset row on a fake dialog: a pick changes the fields the preset gives and dresses the
 * typed subject; Save as Preset writes the dialog's values and the list then holds them. */
typedef struct {
    gd_params values;
    gd_strings kept; /* the dialog's own copies of its strings */
    int reads, writes;
} fake_form;

static void form_read(void *user, gd_params *p, gd_strings *owned)
{
    fake_form *f = user;
    f->reads++;
    sd_mode mode = p->mode;
    *p = f->values;
    p->mode = mode;
    p->prompt = gd_strings_add(owned, f->values.prompt);
}

static void form_write(void *user, const gd_params *p)
{
    fake_form *f = user;
    f->writes++;
    f->values = *p;
    f->values.prompt = gd_strings_add(&f->kept, p->prompt);
    f->values.negative_prompt = gd_strings_add(&f->kept, p->negative_prompt);
    f->values.sampler = gd_strings_add(&f->kept, p->sampler);
    f->values.model_path = gd_strings_add(&f->kept, p->model_path);
}

static void test_row(const char *shipped)
{
    fake_form f = { .reads = 0 };
    gd_params_defaults(&f.values, SD_MODE_IMG2IMG);
    f.values.prompt = "a heron";
    f.values.feather = 3.0;
    gd_form form = { &f, form_read, form_write };
    gd_preset_row row;
    char *skipped = NULL, prof[512];
    sd_error err = { 0 };
    snprintf(prof, sizeof prof, "%s/profile-row", tmp);
    setenv("GIMP_DIFFUSION_PRESETS", shipped, 1);
    CHECK(gd_preset_row_init(&row, SD_MODE_IMG2IMG, &form, prof, &skipped, &err) == SD_OK &&
              !skipped && sd_preset_list_count(row.list) >= 8,
          "row: the presets load (%s)", err.message);
    unsetenv("GIMP_DIFFUSION_PRESETS");

    CHECK(gd_preset_row_pick(&row, "Watercolour", &err) == SD_OK && f.writes == 1, "pick: %s",
          err.message);
    CHECK(strstr(f.values.prompt, "watercolor painting of a heron") && f.values.steps == 25 &&
              f.values.feather == 3.0,
          "picked: the subject dressed, the preset's steps, the feather kept (%s)",
          f.values.prompt);
    CHECK(gd_preset_row_pick(&row, "Oil painting", &err) == SD_OK &&
              !strstr(f.values.prompt, "watercolor") && strstr(f.values.prompt, "a heron"),
          "a second pick re-dresses the same subject: %s", f.values.prompt);
    CHECK(gd_preset_row_pick(&row, "nothing of that name", &err) == SD_OK && f.writes == 2,
          "an unknown name picks nothing");

    f.values.steps = 9;
    CHECK(gd_preset_row_save(&row, "Row saved", "from the test", &err) == SD_OK, "save: %s",
          err.message);
    const sd_preset *saved = sd_preset_list_find(row.list, "row saved");
    sd_preset_settings st;
    if (saved)
        sd_preset_get_settings(saved, &st);
    CHECK(saved && st.steps == 9 && !strcmp(sd_preset_prompt_template(saved), f.values.prompt),
          "the list holds the saved preset, with the dialog's values");
    char *tip = gd_preset_tooltip(saved);
    CHECK(tip && strstr(tip, "from the test") && strstr(tip, "row-saved.json"), "tooltip: %s",
          tip ? tip : "");
    free(tip);
    gd_preset_row_free(&row);
    gd_strings_free(&f.kept);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHIPPED_PRESETS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s/gd-presets-glue.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_dirs(argv[1]);
    test_load(argv[1]);
    test_apply();
    test_param_access();
    test_parasite_preset();
    test_run_mode();
    test_picker();
    test_save_round_trip();
    test_file_name();
    test_prepare(argv[1]);
    test_row(argv[1]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary();
}
