/* plugin/params.c and plugin/config.c: argument table, parasite JSON, layer names, and
 * where the model and vocabulary paths come from. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "loras.h"
#include "params.h"

static void test_arg_table(void)
{
    char seen[128] = { 0 };
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        const char *u = strchr(a->nick, '_');
        CHECK(u && u[1], "%s has a mnemonic", a->name);
        if (u && u[1]) {
            int c = tolower((unsigned char)u[1]);
            CHECK(!seen[c], "mnemonic '%c' of %s is unique", c, a->name);
            /* GIMP 3's dialog buttons: Help, Reset, Cancel, OK, Load/Save Settings */
            CHECK(!strchr("hrcols", c), "mnemonic '%c' of %s avoids the buttons", c, a->name);
            seen[c] = 1;
        }
        gd_params p;
        gd_params_defaults(&p, SD_MODE_IMG2IMG);
        int is_num = a->type == GD_ARG_INT || a->type == GD_ARG_DOUBLE || a->type == GD_ARG_BOOL;
        int rc = is_num ? gd_params_set_number(&p, a->name, gd_arg_default_number(a, SD_MODE_INPAINT))
                        : gd_params_set_string(&p, a->name, "x");
        CHECK(rc == 0, "%s can be set", a->name);
        if (is_num) {
            for (int m = 0; m < 3; m++) {
                double d = gd_arg_default_number(a, (sd_mode)m);
                CHECK(d >= a->min && d <= a->max, "%s default %g in [%g, %g]", a->name, d, a->min, a->max);
            }
        }
    }
    CHECK(gd_params_set_number(&(gd_params){ 0 }, "nope", 1) == -1, "unknown name refused");
    const gd_arg *strength = NULL;
    for (int i = 0; i < gd_n_args; i++)
        if (!strcmp(gd_args[i].name, "strength"))
            strength = &gd_args[i];
    CHECK(strength && !gd_arg_in_mode(strength, SD_MODE_TXT2IMG) &&
              gd_arg_in_mode(strength, SD_MODE_INPAINT),
          "strength: img2img and inpaint only");
    CHECK(strength && gd_arg_default_number(strength, SD_MODE_INPAINT) == 1.0 &&
              gd_arg_default_number(strength, SD_MODE_IMG2IMG) == 0.75,
          "inpaint repaints from scratch by default");
}

static void test_json(void)
{
    gd_params p;
    gd_params_defaults(&p, SD_MODE_INPAINT);
    p.prompt = "a \"quoted\" prompt\nwith a newline";
    p.seed = 18446744073709551615ull; /* 2^64 - 1: must not round through a double */
    char *s = gd_params_to_json(&p, 24, 14, 112, 92, 512, 424);
    CHECK(s != NULL, "json");
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    CHECK(o != NULL, "parses back: %s", s ? s : "(null)");
    if (o) {
        cJSON *r = cJSON_GetObjectItem(o, "region");
        CHECK(!strcmp(cJSON_GetObjectItem(o, "mode")->valuestring, "inpaint"), "mode");
        CHECK(!strcmp(cJSON_GetObjectItem(o, "prompt")->valuestring, p.prompt), "prompt round trip");
        CHECK(!strcmp(cJSON_GetObjectItem(o, "seed")->valuestring, "18446744073709551615"), "seed exact");
        CHECK(r && cJSON_GetObjectItem(r, "width")->valueint == 112 &&
                  cJSON_GetObjectItem(r, "y")->valueint == 14,
              "region");
        CHECK(cJSON_GetObjectItem(o, "work_height")->valueint == 424, "work size");
        CHECK(cJSON_GetObjectItem(o, "strength") != NULL, "strength stored");
        CHECK(!strcmp(cJSON_GetObjectItem(o, "precision")->valuestring, "auto") &&
                  !cJSON_GetObjectItem(o, "bf16_kernel") &&
                  !strcmp(cJSON_GetObjectItem(o, "masked_content")->valuestring, "original") &&
                  !strcmp(cJSON_GetObjectItem(o, "rng")->valuestring, "torch") &&
                  !strcmp(cJSON_GetObjectItem(o, "vae_tile")->valuestring, "auto") &&
                  cJSON_GetObjectItem(o, "clip_skip")->valueint == SD_CLIP_SKIP_DEFAULT,
              "precision, masked content, rng, VAE tiles and clip skip stored: %s", s);
    }
    /* a run records what ran */
    p.precision = "bf16";
    p.bf16_kernel = "avx512-bf16";
    free(s);
    s = gd_params_to_json(&p, 0, 0, 8, 8, 8, 8);
    CHECK(s && strstr(s, "\"precision\":\"bf16\"") && strstr(s, "\"bf16_kernel\":\"avx512-bf16\""),
          "the precision and kernel that ran: %s", s ? s : "");
    p.bf16_kernel = NULL;
    cJSON_Delete(o);
    free(s);

    gd_params_defaults(&p, SD_MODE_TXT2IMG);
    s = gd_params_to_json(&p, 0, 0, 8, 8, 8, 8);
    o = s ? cJSON_Parse(s) : NULL;
    CHECK(o && !cJSON_GetObjectItem(o, "strength"), "txt2img stores no strength");
    cJSON_Delete(o);
    free(s);
}

/* The LoRA argument and the dialog's choosers: one list, weights parsed, bare names found in
 * the LoRA folder, bad entries refused with the entry named; the parasite names each file. */
static void test_loras(void)
{
    static gd_lora_entry e[SD_LORA_MAX];
    gd_params p;
    sd_error err = { 0 };
    int n = -1;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    CHECK(gd_loras_parse(&p, e, &n, &err) == SD_OK && n == 0, "no LoRAs by default: %d", n);
    p.loras = " /a/x.safetensors:0.5 ; style ;; y:-1.25 ";
    p.lora_file[1] = "/b/z.safetensors";
    p.lora_weight[1] = 0.75;
    CHECK(gd_loras_parse(&p, e, &n, &err) == SD_OK && n == 4, "four LoRAs: %d %s", n, err.message);
    if (n == 4)
        CHECK(!strcmp(e[0].file, "/a/x.safetensors") && e[0].weight == 0.5 &&
                  !strcmp(e[1].file, "style") && e[1].weight == 1.0 && !strcmp(e[2].file, "y") &&
                  e[2].weight == -1.25 && !strcmp(e[3].file, "/b/z.safetensors") &&
                  e[3].weight == 0.75,
              "entries: %s %g, %s %g, %s %g, %s %g", e[0].file, e[0].weight, e[1].file,
              e[1].weight, e[2].file, e[2].weight, e[3].file, e[3].weight);
    p.loras = "x:heavy";
    CHECK(gd_loras_parse(&p, e, &n, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "x:heavy"),
          "a weight that is no number: %s", err.message);
    p.loras = "a;a;a;a;a;a;a;a;a;a;a;a;a;a;a;a";
    CHECK(gd_loras_parse(&p, e, &n, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "16"),
          "at most SD_LORA_MAX: %s", err.message);

    char path[GD_PATH_MAX], stem[64];
    CHECK(gd_lora_resolve("style", "/l", path, sizeof path, &err) == SD_OK &&
              !strcmp(path, "/l/style.safetensors"), "a name in the folder: %s", path);
    CHECK(gd_lora_resolve("s.safetensors", "/l", path, sizeof path, &err) == SD_OK &&
              !strcmp(path, "/l/s.safetensors"), "a file name in the folder: %s", path);
    CHECK(gd_lora_resolve("/a/x.safetensors", "", path, sizeof path, &err) == SD_OK &&
              !strcmp(path, "/a/x.safetensors"), "a path as it is: %s", path);
    CHECK(gd_lora_resolve("style", "", path, sizeof path, &err) == SD_ERR_INVALID_ARG &&
              strstr(err.message, "lora_dir"), "no folder: %s", err.message);
    gd_lora_stem("/a/b/my style.safetensors", stem, sizeof stem);
    CHECK(!strcmp(stem, "my style"), "stem: %s", stem);

    sd_lora applied[2] = { { "/a/x.safetensors", 0.8f }, { "/l/style.safetensors", -1.0f } };
    gd_params_defaults(&p, SD_MODE_TXT2IMG);
    p.engine_loras = applied;
    p.n_engine_loras = 2;
    p.spacing = "trailing";
    p.draft_vae = 1;
    char *no_family = gd_params_to_json(&p, 0, 0, 8, 8, 8, 8);
    CHECK(no_family && !strstr(no_family, "\"family\""), "no family before a model ran: %s",
          no_family ? no_family : "(null)");
    free(no_family);
    p.family = "sd2-v"; /* gd_run: the loaded model's */
    char *s = gd_params_to_json(&p, 0, 0, 8, 8, 8, 8);
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    cJSON *l = o ? cJSON_GetObjectItem(o, "loras") : NULL;
    cJSON *first = cJSON_GetArrayItem(l, 0);
    CHECK(cJSON_GetArraySize(l) == 2 && first &&
              !strcmp(cJSON_GetObjectItem(first, "file")->valuestring, "x.safetensors") &&
              cJSON_GetObjectItem(first, "weight")->valuedouble == 0.8,
          "parasite LoRAs: %s", s ? s : "(null)");
    CHECK(o && !strcmp(cJSON_GetObjectItem(o, "timestep_spacing")->valuestring, "trailing") &&
              !strcmp(cJSON_GetObjectItem(o, "prediction")->valuestring, "auto") &&
              cJSON_IsTrue(cJSON_GetObjectItem(o, "draft_vae")) &&
              !strcmp(cJSON_GetObjectItem(o, "family")->valuestring, "sd2-v"),
          "parasite spacing, prediction, draft VAE, family: %s", s ? s : "(null)");
    cJSON_Delete(o);
    free(s);
}

static void test_layer_name(void)
{
    char buf[32];
    gd_layer_name("  a red barn\nsecond line", buf, sizeof buf);
    CHECK(!strcmp(buf, "a red barn"), "first line, leading blanks cut: '%s'", buf);
    gd_layer_name("", buf, sizeof buf);
    CHECK(!strcmp(buf, "Stable Diffusion"), "empty prompt: '%s'", buf);
    /* "ééééééééé" = 18 bytes; a cut at 15 must not split the 8th é */
    gd_layer_name("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, 16);
    CHECK(strlen(buf) == 14, "UTF-8 boundary: %zu bytes", strlen(buf));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_config(void)
{
    char dir[] = "/tmp/gd-config-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char sub[256], file[300];
    snprintf(sub, sizeof sub, "%s/gimp-diffusion", dir);
    snprintf(file, sizeof file, "%s/config.json", sub);
    mkdir(sub, 0700);
    setenv("XDG_CONFIG_HOME", dir, 1);
    unsetenv("GIMP_DIFFUSION_MODEL");
    unsetenv("GIMP_DIFFUSION_VOCAB");
    unsetenv("GIMP_DIFFUSION_THREADS");

    gd_config c;
    gd_config_resolve("", "", &c);
    CHECK(!*c.model && !*c.vocab && !*c.warning, "nothing configured");

    write_file(file, "{\"model\": \"/m/sd15.safetensors\", \"threads\": 3}");
    gd_config_resolve(NULL, NULL, &c);
    CHECK(!strcmp(c.model, "/m/sd15.safetensors") && c.threads == 3, "config file: %s %d", c.model, c.threads);
    CHECK(!strcmp(c.vocab, "/m"), "vocab defaults to the model's folder: '%s'", c.vocab);

    setenv("GIMP_DIFFUSION_MODEL", "/env/model.safetensors", 1);
    setenv("GIMP_DIFFUSION_VOCAB", "/env/clip", 1);
    gd_config_resolve("", "", &c);
    CHECK(!strcmp(c.model, "/env/model.safetensors") && !strcmp(c.vocab, "/env/clip"),
          "environment over the file: %s %s", c.model, c.vocab);
    gd_config_resolve("/arg/model.safetensors", "/arg/clip", &c);
    CHECK(!strcmp(c.model, "/arg/model.safetensors") && !strcmp(c.vocab, "/arg/clip"),
          "arguments over everything: %s %s", c.model, c.vocab);

    unsetenv("GIMP_DIFFUSION_MODEL");
    unsetenv("GIMP_DIFFUSION_VOCAB");
    write_file(file, "[1, 2");
    gd_config_resolve("", "", &c);
    CHECK(!*c.model && strstr(c.warning, "config.json"), "a broken file is reported: '%s'", c.warning);

    /* precision: the machine's setting, the environment over the file; a bad value warns */
    unsetenv("GIMP_DIFFUSION_PRECISION");
    write_file(file, "{\"model\": \"/m/a.safetensors\"}");
    gd_config_resolve("", "", &c);
    CHECK(c.precision == SD_PRECISION_AUTO && !*c.warning, "precision: auto when none is set");
    write_file(file, "{\"precision\": \"fp32\"}");
    gd_config_resolve("", "", &c);
    CHECK(c.precision == SD_PRECISION_FP32, "precision from the file: %d", (int)c.precision);
    setenv("GIMP_DIFFUSION_PRECISION", "bf16", 1);
    gd_config_resolve("", "", &c);
    CHECK(c.precision == SD_PRECISION_BF16 && !*c.warning, "the environment over the file: %d",
          (int)c.precision);
    setenv("GIMP_DIFFUSION_PRECISION", "fp16", 1);
    gd_config_resolve("", "", &c);
    CHECK(c.precision == SD_PRECISION_FP32 && strstr(c.warning, "GIMP_DIFFUSION_PRECISION"),
          "a bad environment value is ignored with a warning: '%s'", c.warning);
    unsetenv("GIMP_DIFFUSION_PRECISION");
    write_file(file, "{\"precision\": 16}");
    gd_config_resolve("", "", &c);
    CHECK(c.precision == SD_PRECISION_AUTO && strstr(c.warning, "\"precision\""),
          "a bad file value is ignored with a warning: '%s'", c.warning);

    /* the TAESD and the LoRA folder: the file's keys, the environment over them, and
       install.sh's folder under the data folder when nothing names one */
    unsetenv("GIMP_DIFFUSION_TAESD");
    unsetenv("GIMP_DIFFUSION_LORA_DIR");
    setenv("XDG_DATA_HOME", "/data", 1);
    write_file(file, "{\"model\": \"/m/a.safetensors\"}");
    gd_config_resolve("", "", &c);
    CHECK(!*c.taesd && !strcmp(c.lora_dir, "/data/gimp-diffusion/loras") && !gd_config_has_taesd(),
          "defaults: taesd '%s', lora_dir '%s'", c.taesd, c.lora_dir);
    write_file(file, "{\"taesd\": \"/t/taesd\", \"lora_dir\": \"/l\"}");
    gd_config_resolve("", "", &c);
    CHECK(!strcmp(c.taesd, "/t/taesd") && !strcmp(c.lora_dir, "/l") && gd_config_has_taesd(),
          "config keys: taesd '%s', lora_dir '%s'", c.taesd, c.lora_dir);
    setenv("GIMP_DIFFUSION_TAESD", "/env/taesd", 1);
    setenv("GIMP_DIFFUSION_LORA_DIR", "/env/loras", 1);
    gd_config_resolve("", "", &c);
    CHECK(!strcmp(c.taesd, "/env/taesd") && !strcmp(c.lora_dir, "/env/loras"),
          "environment over the file: taesd '%s', lora_dir '%s'", c.taesd, c.lora_dir);
    unsetenv("GIMP_DIFFUSION_TAESD");
    unsetenv("GIMP_DIFFUSION_LORA_DIR");
    unsetenv("XDG_DATA_HOME");

    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

/* Each row says where its value lives: the field kind matches the argument type, numbers
 * round trip through the row's offset, a choice row's default is one of its choices, and the
 * table fits the front ends' widget arrays. */
static void test_rows(void)
{
    CHECK(gd_n_args <= GD_N_ARGS_MAX, "%d rows fit GD_N_ARGS_MAX %d", gd_n_args, GD_N_ARGS_MAX);
    for (int i = 0; i < gd_n_args; i++) {
        const gd_arg *a = &gd_args[i];
        int string_type = a->type == GD_ARG_TEXT || a->type == GD_ARG_STRING ||
                          a->type == GD_ARG_CHOICE || a->type == GD_ARG_FILE ||
                          a->type == GD_ARG_FOLDER;
        CHECK(string_type == (a->field == GD_FIELD_STRING), "%s: field kind fits its type", a->name);
        CHECK(a->type != GD_ARG_DOUBLE || a->field == GD_FIELD_DOUBLE, "%s: a double", a->name);
        CHECK(gd_arg_find(a->name) == a, "%s found by name", a->name);
        gd_params p;
        gd_params_defaults(&p, SD_MODE_IMG2IMG);
        if (a->type == GD_ARG_CHOICE) {
            int found = 0;
            const char *c;
            for (int k = 0; a->choice && (c = a->choice(k)) != NULL; k++)
                found |= !strcmp(c, gd_arg_get_string(a, &p));
            CHECK(found, "%s: the default %s is a choice", a->name, gd_arg_get_string(a, &p));
        } else if (!string_type) {
            gd_arg_set_number(a, &p, a->max);
            CHECK(gd_arg_get_number(a, &p) == a->max, "%s: max %g round trips", a->name, a->max);
        }
    }
    CHECK(gd_arg_find("no-such") == NULL, "unknown names are not found");
    for (int i = 0; i < gd_n_procs; i++)
        CHECK(gd_proc_find(gd_procs[i].proc) == &gd_procs[i] &&
                  !strcmp(gd_mode_name(gd_procs[i].mode), strrchr(gd_procs[i].proc, '-') + 1),
              "procedure %s runs its mode", gd_procs[i].proc);

    /* out-of-range numbers are clamped into each row's range */
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.steps = 500;
    p.cfg_scale = -3;
    p.seed = 1ull << 40;
    p.feather = 1e9;
    gd_params_clamp(&p);
    CHECK(p.steps == GD_STEPS_MAX && p.cfg_scale == GD_CFG_MIN && p.seed == GD_SEED_MAX &&
              p.feather == GD_FEATHER_MAX,
          "clamped: steps %d cfg %g seed %llu feather %g", p.steps, p.cfg_scale,
          (unsigned long long)p.seed, p.feather);
}

/* GIMP 2.10's last values: the mode's arguments as JSON and back; other keys and values of
 * the wrong kind are left out. */
static void test_values_json(void)
{
    gd_params p, q;
    gd_strings owned = { 0 };
    gd_params_defaults(&p, SD_MODE_TXT2IMG);
    p.prompt = "a \"quoted\" heron";
    p.steps = 7;
    p.seed = 42;
    p.random_seed = 0;
    p.model_path = "/m/model.safetensors";
    char *json = gd_params_values_json(&p);
    CHECK(json && !strstr(json, "strength"), "txt2img's values hold no strength: %s", json ? json : "");
    gd_params_defaults(&q, SD_MODE_TXT2IMG);
    gd_params_values_from_json(json, &q, &owned);
    CHECK(!strcmp(q.prompt, p.prompt) && q.steps == 7 && q.seed == 42 && !q.random_seed &&
              !strcmp(q.model_path, p.model_path),
          "values round trip");
    free(json);
    gd_params_defaults(&q, SD_MODE_IMG2IMG);
    gd_params_values_from_json("{\"steps\": \"many\", \"prompt\": 3, \"nope\": 1, \"cfg-scale\": 4}", &q,
                               &owned);
    CHECK(q.steps == GD_STEPS_DEFAULT && !strcmp(q.prompt, "") && q.cfg_scale == 4.0,
          "values of the wrong kind are left out (steps %d, prompt '%s', cfg %g)", q.steps,
          q.prompt, q.cfg_scale);
    gd_params_values_from_json("not json", &q, &owned);
    gd_params_values_from_json(NULL, &q, &owned);
    CHECK(q.cfg_scale == 4.0, "broken last values change nothing");
    gd_strings_free(&owned);
}

/* The job options' spellings into the engine's values; a wrong one named in the error. */
static void test_schedule(void)
{
    gd_params p;
    gd_schedule sc;
    sd_error err = { 0 };
    gd_params_defaults(&p, SD_MODE_INPAINT);
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_OK && sc.precision == SD_PRECISION_AUTO &&
              sc.masked_content == SD_MASKED_ORIGINAL && sc.rng == SD_RNG_TORCH_CPU &&
              sc.vae_tile == SD_VAE_TILE_AUTO,
          "defaults: %s", err.message);
    p.precision = "bf16";
    p.masked_content = "noise";
    p.rng = "philox";
    p.vae_tile = "off";
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_OK && sc.precision == SD_PRECISION_BF16 &&
              sc.masked_content == SD_MASKED_LATENT_NOISE && sc.rng == SD_RNG_PHILOX &&
              sc.vae_tile == SD_VAE_TILE_OFF,
          "named values");
    p.vae_tile = "192";
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_OK && sc.vae_tile == 192, "a tile side");
    p.vae_tile = "100";
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_ERR_INVALID_ARG &&
              strstr(err.message, "\"100\"") && strstr(err.message, "multiple of 64"),
          "a tile side off the grid: %s", err.message);
    p.vae_tile = "auto";
    p.rng = "cuda";
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "cuda"),
          "unknown rng: %s", err.message);
    p.rng = "torch";
    p.precision = "fp16";
    CHECK(gd_params_schedule(&p, &sc, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "fp16"),
          "unknown precision: %s", err.message);
    const gd_arg *cs = gd_arg_find("clip-skip");
    /* dialog field and PDB argument: up to SD 2.x's 23 text-encoder layers (the job refuses
       more than the loaded model's) */
    CHECK(cs && cs->min == SD_CLIP_SKIP_MIN && cs->max == SD_CLIP_SKIP_MAX && cs->max >= 23,
          "clip skip: the engine's range, SD 2.x's 23 included (max %g)", cs ? cs->max : 0.0);
    const gd_arg *mc = gd_arg_find("masked-content");
    CHECK(mc && gd_arg_in_mode(mc, SD_MODE_INPAINT) && !gd_arg_in_mode(mc, SD_MODE_IMG2IMG),
          "masked content: inpaint only");
    CHECK(gd_arg_find("cfg-scale")->min == 0.0, "CFG 0 allowed (SD-Turbo)");
}

int main(void)
{
    test_rows();
    test_values_json();
    test_arg_table();
    test_json();
    test_layer_name();
    test_config();
    test_loras();
    test_schedule();
    return check_summary();
}
