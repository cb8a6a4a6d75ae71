/* Presets: round trip with unknown keys kept, placeholder expansion, precedence,
 * every malformed-file class with its message, the shipped set, folder overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sd.h"
#include "sd_preset.h"

static char tmpdir[256];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void expect_error(const char *json, const char *must_contain)
{
    sd_preset *p = NULL;
    sd_error err = {0};
    sd_status st = sd_preset_parse(json, "bad.json", &p, &err);
    CHECK(st != SD_OK && p == NULL, "malformed preset accepted: %s", json);
    CHECK(strstr(err.message, "bad.json") != NULL, "message names the file: %s", err.message);
    CHECK(strstr(err.message, must_contain) != NULL, "message '%s' should contain '%s'",
          err.message, must_contain);
}

static void test_round_trip(void)
{
    const char *text =
        "{\"version\": 1, \"name\": \"Fox\", \"description\": \"d\", "
        "\"prompt\": \"a {prompt} in snow\", \"negative_prompt\": \"blurry\", "
        "\"sampler\": \"dpmpp_2m_karras\", \"timestep_spacing\": \"trailing\", "
        "\"prediction\": \"v\", \"steps\": 12, \"cfg_scale\": 6.5, "
        "\"strength\": 0.5, \"seed\": 42, \"clip_skip\": 2, \"resolution\": 768, "
        "\"padding\": 32, \"feather\": 4.5, \"model\": \"/m.safetensors\", "
        "\"precision\": \"bf16\", \"masked_content\": \"fill\", \"rng\": \"philox\", "
        "\"vae_tile\": 512, \"x-future\": {\"nested\": [1, 2, 3]}}";
    sd_preset *p = NULL;
    sd_error err = {0};
    CHECK(sd_preset_parse(text, "fox.json", &p, &err) == SD_OK, "parse: %s", err.message);
    if (!p)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/fox.json", tmpdir);
    CHECK(sd_preset_save_file(p, path, &err) == SD_OK, "save: %s", err.message);
    sd_preset *q = NULL;
    CHECK(sd_preset_load_file(path, &q, &err) == SD_OK, "reload: %s", err.message);
    if (q) {
        sd_preset_settings a, b;
        sd_preset_get_settings(p, &a);
        sd_preset_get_settings(q, &b);
        CHECK(a.set == b.set && a.sampler == b.sampler && a.steps == b.steps &&
              a.cfg_scale == b.cfg_scale && a.strength == b.strength && a.seed == b.seed &&
              a.clip_skip == b.clip_skip && a.resolution == b.resolution &&
              a.padding == b.padding && a.feather == b.feather && strcmp(a.model, b.model) == 0,
              "settings equal after round trip");
        CHECK(b.steps == 12 && b.sampler == SD_SAMPLER_DPMPP_2M_KARRAS && b.seed == 42 &&
              b.clip_skip == 2 && b.resolution == 768, "values as written");
        CHECK((b.set & SD_PRESET_PRECISION) && b.precision == SD_PRECISION_BF16,
              "precision as written");
        CHECK((b.set & SD_PRESET_MASKED_CONTENT) && b.masked_content == SD_MASKED_FILL &&
                  (b.set & SD_PRESET_RNG) && b.rng == SD_RNG_PHILOX &&
                  (b.set & SD_PRESET_VAE_TILE) && b.vae_tile == 512,
              "masked_content, rng and vae_tile as written");
        CHECK((b.set & SD_PRESET_SPACING) && b.spacing == SD_SPACING_TRAILING
                  && (b.set & SD_PRESET_PREDICTION) && b.prediction == SD_PREDICTION_V,
              "timestep_spacing and prediction as written");
        char *j = sd_preset_to_json(q);
        CHECK(j && strstr(j, "x-future") && strstr(j, "nested"), "unknown key kept on re-save");
        free(j);
        CHECK(strcmp(sd_preset_name(q), "Fox") == 0 && strcmp(sd_preset_negative_prompt(q), "blurry") == 0,
              "name and negative");
        sd_preset_free(q);
    }
    /* Editing settings keeps unknown keys and validates. */
    sd_preset_settings s = {.set = SD_PRESET_STEPS | SD_PRESET_SEED, .steps = 30, .random_seed = 1};
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_OK, "set settings: %s", err.message);
    sd_preset_settings got;
    sd_preset_get_settings(p, &got);
    CHECK(got.steps == 30 && got.random_seed && got.clip_skip == 2, "edited settings");
    s = (sd_preset_settings){.set = SD_PRESET_CFG | SD_PRESET_FEATHER, .cfg_scale = 7.3f, .feather = 0.1f};
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_OK, "set floats: %s", err.message);
    char *saved = sd_preset_to_json(p);
    CHECK(saved && strstr(saved, "7.3,") && strstr(saved, "0.1,") && !strstr(saved, "7.3000"),
          "floats saved as their shortest decimal: %s", saved ? saved : "");
    free(saved);
    s = (sd_preset_settings){.set = SD_PRESET_VAE_TILE | SD_PRESET_MASKED_CONTENT | SD_PRESET_RNG,
                             .vae_tile = SD_VAE_TILE_OFF, .masked_content = SD_MASKED_LATENT_NOISE,
                             .rng = SD_RNG_TORCH_CPU};
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_OK, "set job options: %s", err.message);
    saved = sd_preset_to_json(p);
    CHECK(saved && strstr(saved, "\"vae_tile\":\t\"off\"") && strstr(saved, "\"noise\"") &&
              strstr(saved, "\"rng\":\t\"torch\""),
          "job options saved by name: %s", saved ? saved : "");
    free(saved);
    s = (sd_preset_settings){.set = SD_PRESET_VAE_TILE, .vae_tile = 100};
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_ERR_FORMAT, "vae_tile 100 refused");
    s = (sd_preset_settings){.set = SD_PRESET_STEPS, .steps = 0};
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_ERR_FORMAT, "steps 0 refused");
    sd_preset_get_settings(p, &got);
    CHECK(got.steps == 30, "rejected edit leaves the preset unchanged");
    sd_preset_free(p);
}

/* The names the CLI, presets and plug-in share for --rng, --masked-content, --vae-tile. */
static void test_job_option_names(void)
{
    for (int i = 0; i < SD_RNG_COUNT; i++) {
        sd_rng_kind r = SD_RNG_PHILOX;
        CHECK(sd_rng_name((sd_rng_kind)i) && sd_rng_parse(sd_rng_name((sd_rng_kind)i), &r) == 0 &&
                  r == (sd_rng_kind)i, "rng %d round trip", i);
    }
    for (int i = 0; i < SD_MASKED_CONTENT_COUNT; i++) {
        sd_masked_content m = SD_MASKED_LATENT_NOISE;
        const char *n = sd_masked_content_name((sd_masked_content)i);
        CHECK(n && sd_masked_content_parse(n, &m) == 0 && m == (sd_masked_content)i,
              "masked content %d round trip", i);
    }
    sd_rng_kind r;
    sd_masked_content m;
    CHECK(!strcmp(sd_rng_name(SD_RNG_PHILOX), "philox") &&
              !strcmp(sd_masked_content_name(SD_MASKED_LATENT_NOISE), "noise"), "CLI spellings");
    CHECK(sd_rng_name((sd_rng_kind)SD_RNG_COUNT) == NULL && sd_rng_parse("cuda", &r) == -1 &&
              sd_rng_parse(NULL, &r) == -1, "unknown rng");
    CHECK(sd_masked_content_name((sd_masked_content)SD_MASKED_CONTENT_COUNT) == NULL &&
              sd_masked_content_parse("blur", &m) == -1, "unknown masked content");
    static const struct { const char *text; int ok, value; } tiles[] = {
        {"auto", 1, SD_VAE_TILE_AUTO}, {"off", 1, SD_VAE_TILE_OFF}, {"64", 1, 64},
        {"512", 1, 512}, {"32768", 1, 32768}, {"0", 0, 0}, {"100", 0, 0}, {"32832", 0, 0},
        {"-64", 0, 0}, {"+64", 0, 0}, {" 64", 0, 0}, {"64px", 0, 0}, {"", 0, 0},
        {"0000064", 0, 0}, {"Auto", 0, 0},
    };
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        int v = 12345, ok = sd_vae_tile_parse(tiles[i].text, &v) == 0;
        CHECK(ok == tiles[i].ok && (!ok || v == tiles[i].value), "vae tile \"%s\": ok %d, %d",
              tiles[i].text, ok, v);
    }
}

static void test_expand(void)
{
    char *s = sd_preset_expand("watercolor of {prompt}, soft", "a fox");
    CHECK(s && strcmp(s, "watercolor of a fox, soft") == 0, "placeholder: %s", s);
    free(s);
    s = sd_preset_expand("{prompt} and {prompt}", "x");
    CHECK(s && strcmp(s, "x and x") == 0, "two placeholders: %s", s);
    free(s);
    s = sd_preset_expand("oil painting", "a boat");
    CHECK(s && strcmp(s, "oil painting, a boat") == 0, "no placeholder appends: %s", s);
    free(s);
    s = sd_preset_expand("oil painting", "");
    CHECK(s && strcmp(s, "oil painting") == 0, "empty subject: %s", s);
    free(s);
    s = sd_preset_expand("{prompt}, detailed", "");
    CHECK(s && strcmp(s, ", detailed") == 0, "empty subject in placeholder: %s", s);
    free(s);
}

static void test_precedence(void)
{
    sd_preset *p = NULL;
    sd_error err = {0};
    CHECK(sd_preset_parse("{\"version\":1,\"name\":\"P\",\"prompt\":\"style {prompt}\","
                          "\"negative_prompt\":\"neg\",\"steps\":33,\"cfg_scale\":4,"
                          "\"sampler\":\"ddim\",\"seed\":\"random\","
                          "\"timestep_spacing\":\"trailing\",\"prediction\":\"eps\","
                          "\"masked_content\":\"fill\",\"rng\":\"philox\",\"vae_tile\":\"off\"}",
                          "p.json", &p, &err) == SD_OK,
          "parse: %s", err.message);
    if (!p)
        return;
    sd_job job;
    sd_job_defaults(&job);
    job.cfg_scale = 9.0f;   /* the user typed --cfg 9 */
    job.seed = 5;
    char *prompt, *neg;
    job.prediction = SD_PREDICTION_V;   /* the user typed --prediction v */
    job.rng = SD_RNG_TORCH_CPU;         /* and --rng torch */
    CHECK(sd_preset_apply(p, "cat", SD_PRESET_CFG | SD_PRESET_PREDICTION | SD_PRESET_RNG, &job,
                          &prompt, &neg, &err) == SD_OK, "apply");
    CHECK(job.masked_content == SD_MASKED_FILL && job.vae_tile == SD_VAE_TILE_OFF &&
              job.rng == SD_RNG_TORCH_CPU,
          "masked content and VAE tiles from the preset, explicit rng kept");
    CHECK(job.spacing == SD_SPACING_TRAILING && job.prediction == SD_PREDICTION_V,
          "spacing from the preset, explicit prediction kept");
    CHECK(strcmp(job.prompt, "style cat") == 0 && strcmp(job.negative_prompt, "neg") == 0, "prompts");
    CHECK(job.steps == 33, "preset beats default");
    CHECK(job.cfg_scale == 9.0f, "explicit beats preset");
    CHECK(job.sampler == SD_SAMPLER_DDIM, "sampler from preset");
    CHECK(job.strength == 0.75, "default where the preset is silent");
    CHECK(job.seed == 5, "random seed in a preset leaves the seed to the caller");
    free(prompt);
    free(neg);
    sd_preset_free(p);
}

/* "draft_vae": parsed, applied unless given explicitly, saved back. */
static void test_draft_vae(void)
{
    sd_preset *p = NULL;
    sd_error err = {0};
    CHECK(sd_preset_parse("{\"version\":1,\"name\":\"D\",\"prompt\":\"{prompt}\",\"draft_vae\":true}",
                          "d.json", &p, &err) == SD_OK, "parse: %s", err.message);
    if (!p)
        return;
    sd_preset_settings s;
    sd_preset_get_settings(p, &s);
    CHECK((s.set & SD_PRESET_DRAFT_VAE) && s.draft_vae == 1, "draft_vae read");
    sd_job job;
    sd_job_defaults(&job);
    char *prompt, *neg;
    CHECK(sd_preset_apply(p, "cat", 0, &job, &prompt, &neg, &err) == SD_OK && job.draft_vae == 1,
          "draft_vae applied");
    free(prompt);
    free(neg);
    sd_job_defaults(&job);
    CHECK(sd_preset_apply(p, "cat", SD_PRESET_DRAFT_VAE, &job, &prompt, &neg, &err) == SD_OK &&
          job.draft_vae == 0, "an explicit choice wins over the preset's");
    free(prompt);
    free(neg);
    s.set = SD_PRESET_DRAFT_VAE;
    s.draft_vae = 0;
    CHECK(sd_preset_set_settings(p, &s, &err) == SD_OK, "set draft_vae false");
    char *json = sd_preset_to_json(p);
    CHECK(json && strstr(json, "\"draft_vae\":\tfalse") , "saved as false: %s", json ? json : "");
    free(json);
    sd_preset_free(p);
}

/* clip_skip up to SD 2.x's 23 text-encoder layers (the job checks the loaded model's). */
static void test_clip_skip_range(void)
{
    sd_preset *p = NULL;
    sd_error err = {0};
    CHECK(sd_preset_parse("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"clip_skip\": 23}",
                          "sd2.json", &p, &err) == SD_OK, "clip_skip 23 (SD 2.x) taken: %s",
          err.message);
    if (!p)
        return;
    sd_preset_settings s;
    sd_preset_get_settings(p, &s);
    CHECK(s.clip_skip == 23 && (s.set & SD_PRESET_CLIP_SKIP), "clip_skip 23 kept: %d", s.clip_skip);
    sd_preset_free(p);
}

static void test_malformed(void)
{
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\",", "syntax error");
    expect_error("[1, 2]", "JSON object");
    expect_error("{\"name\": \"x\", \"prompt\": \"p\"}", "\"version\": is required");
    expect_error("{\"version\": 99, \"name\": \"x\", \"prompt\": \"p\"}", "newer");
    expect_error("{\"version\": 1, \"prompt\": \"p\"}", "\"name\": is required");
    expect_error("{\"version\": 1, \"name\": \"\", \"prompt\": \"p\"}", "\"name\": must not be empty");
    expect_error("{\"version\": 1, \"name\": \"x\"}", "\"prompt\": is required");
    expect_error("{\"version\": 1, \"name\": 3, \"prompt\": \"p\"}", "\"name\": must be a string");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"steps\": \"20\"}", "\"steps\": must be an integer");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"steps\": 0}", "\"steps\": must be an integer in 1..999");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"steps\": 2.5}", "\"steps\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"strength\": 1.5}", "\"strength\": must be a number in (0, 1]");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"strength\": 0}", "\"strength\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"cfg_scale\": -1}", "\"cfg_scale\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"sampler\": \"warp\"}", "\"sampler\": unknown sampler");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"timestep_spacing\": \"even\"}", "\"timestep_spacing\": must be");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"prediction\": \"x0\"}", "\"prediction\": must be");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"seed\": -3}", "\"seed\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"seed\": \"lucky\"}", "\"seed\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"clip_skip\": 0}", "\"clip_skip\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"clip_skip\": 24}",
                 "\"clip_skip\": must be an integer in 1..23");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"resolution\": 500}", "\"resolution\": must be a multiple of 8");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"padding\": -1}", "\"padding\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"feather\": \"soft\"}", "\"feather\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"model\": 7}", "\"model\": must be a string");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"precision\": \"fp16\"}",
                 "\"precision\": must be auto, fp32 or bf16");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"draft_vae\": 1}", "\"draft_vae\": must be true or false");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"masked_content\": \"blur\"}",
                 "\"masked_content\": must be");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"rng\": \"cuda\"}", "\"rng\": must be");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"vae_tile\": 100}", "\"vae_tile\": must be");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"vae_tile\": -64}", "\"vae_tile\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"vae_tile\": \"64 \"}", "\"vae_tile\"");
    expect_error("{\"version\": 1, \"name\": \"x\", \"prompt\": \"p\", \"vae_tile\": true}", "\"vae_tile\"");

    sd_preset *p = NULL;
    sd_error err = {0};
    CHECK(sd_preset_load_file("/nonexistent/dir/x.json", &p, &err) == SD_ERR_IO &&
          strstr(err.message, "/nonexistent/dir/x.json"), "missing file: %s", err.message);
}

static void test_folders(const char *shipped_dir)
{
    /* The shipped set: at least 8, all valid. */
    sd_preset_list *l = NULL;
    sd_error err = {0};
    const char *dirs1[] = {shipped_dir};
    CHECK(sd_preset_list_load(dirs1, 1, &l, &err) == SD_OK, "load shipped: %s", err.message);
    if (l) {
        CHECK(sd_preset_list_count(l) >= 8, "at least 8 shipped presets (%d)", sd_preset_list_count(l));
        CHECK(sd_preset_list_error_count(l) == 0, "shipped presets all valid: %s",
              sd_preset_list_error_count(l) ? sd_preset_list_error(l, 0) : "");
        const char *wanted[] = {"Photo", "Illustration", "Watercolour", "Oil painting", "Line art",
                                "Object removal", "Sky replacement", "Texture and detail refine"};
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
            CHECK(sd_preset_list_find(l, wanted[i]) != NULL, "shipped preset %s", wanted[i]);
        /* SD-Turbo's one-step draft: what diffusers' turbo examples run */
        const sd_preset *turbo = sd_preset_list_find(l, "Turbo draft");
        sd_preset_settings ts = {0};
        if (turbo)
            sd_preset_get_settings(turbo, &ts);
        CHECK(turbo && ts.steps == 1 && ts.cfg_scale <= 1.0f &&
                  ts.sampler == SD_SAMPLER_EULER_ANCESTRAL && ts.spacing == SD_SPACING_TRAILING &&
                  (ts.set & (SD_PRESET_STEPS | SD_PRESET_CFG | SD_PRESET_SAMPLER |
                             SD_PRESET_SPACING)) == (SD_PRESET_STEPS | SD_PRESET_CFG |
                                                     SD_PRESET_SAMPLER | SD_PRESET_SPACING),
              "shipped Turbo draft: 1 step, CFG <= 1, euler_a, trailing");
        sd_preset_list_free(l);
    }

    /* A user folder overrides a shipped preset of the same name; a bad file does not
     * stop the others and its error names the file and the key. */
    char user[300];
    snprintf(user, sizeof user, "%s/user", tmpdir);
    mkdir(user, 0700);
    write_file(user, "mine.json", "{\"version\":1,\"name\":\"Photo\",\"prompt\":\"my photo {prompt}\"}");
    write_file(user, "broken.json", "{\"version\":1,\"name\":\"B\",\"prompt\":\"p\",\"steps\":-4}");
    write_file(user, "extra.json", "{\"version\":1,\"name\":\"Extra\",\"prompt\":\"e\"}");
    const char *dirs2[] = {shipped_dir, user, "/nonexistent-folder"};
    CHECK(sd_preset_list_load(dirs2, 3, &l, &err) == SD_OK, "load both: %s", err.message);
    if (l) {
        const sd_preset *p = sd_preset_list_find(l, "Photo");
        CHECK(p && strcmp(sd_preset_prompt_template(p), "my photo {prompt}") == 0, "user overrides shipped");
        CHECK(sd_preset_list_find(l, "Extra") != NULL, "good user preset loaded");
        CHECK(sd_preset_list_find(l, "watercolour") != NULL, "case-insensitive find");
        CHECK(sd_preset_list_error_count(l) == 1, "one error (%d)", sd_preset_list_error_count(l));
        const char *e = sd_preset_list_error(l, 0);
        CHECK(e && strstr(e, "broken.json") && strstr(e, "\"steps\""), "error names file and key: %s", e);
        sd_preset_list_free(l);
    }
}

/* "loras": validated, added to the prompt as <lora:name:weight> tags (issue 15). */
static void test_loras(const char *shipped_dir)
{
    sd_preset *p = NULL;
    sd_error err = {0};
    const char *json = "{\"version\":1,\"name\":\"L\",\"prompt\":\"{prompt}, ink\","
                       "\"loras\":[{\"name\":\"style\",\"weight\":0.75},{\"name\":\"detail\"}]}";
    CHECK(sd_preset_parse(json, "l.json", &p, &err) == SD_OK, "preset with loras: %s", err.message);
    if (p) {
        sd_job job;
        sd_job_defaults(&job);
        char *prompt = NULL, *neg = NULL;
        CHECK(sd_preset_apply(p, "a cat", 0, &job, &prompt, &neg, &err) == SD_OK &&
                  strcmp(job.prompt, "a cat, ink <lora:style:0.75> <lora:detail:1>") == 0,
              "loras become prompt tags: %s", job.prompt ? job.prompt : "(null)");
        sd_preset_settings s;
        sd_preset_get_settings(p, &s);
        CHECK(s.set & SD_PRESET_LORAS, "SD_PRESET_LORAS set");
        char *again = sd_preset_to_json(p);
        CHECK(again && strstr(again, "\"loras\""), "loras kept on save");
        free(again);
        sd_lora first = sd_preset_lora_at(p, 0), second = sd_preset_lora_at(p, 1);
        CHECK(sd_preset_lora_count(p) == 2 && !strcmp(first.path, "style") &&
                  first.weight == 0.75f && !strcmp(second.path, "detail") &&
                  second.weight == 1.0f && !sd_preset_lora_at(p, 2).path,
              "loras read back: %d", sd_preset_lora_count(p));
        /* the setter validates like a parsed file and leaves the preset as it was on refusal */
        sd_lora bad = {"a/b", 1.0f}, good[2] = {{"grain", -0.5f}, {"ink", 0.3f}};
        CHECK(sd_preset_set_loras(p, &bad, 1, &err) == SD_ERR_FORMAT && strstr(err.message, "no path") &&
                  sd_preset_lora_count(p) == 2, "a path refused: %s", err.message);
        CHECK(sd_preset_set_loras(p, good, 2, &err) == SD_OK && sd_preset_lora_count(p) == 2 &&
                  !strcmp(sd_preset_lora_at(p, 0).path, "grain") &&
                  sd_preset_lora_at(p, 1).weight == 0.3f, "loras replaced: %s", err.message);
        CHECK(sd_preset_set_loras(p, NULL, 0, &err) == SD_OK && sd_preset_lora_count(p) == 0,
              "loras removed");
        sd_preset_get_settings(p, &s);
        CHECK(!(s.set & SD_PRESET_LORAS), "SD_PRESET_LORAS cleared with them");
        free(prompt);
        free(neg);
        sd_preset_free(p);
    }
    expect_error("{\"version\":1,\"name\":\"x\",\"prompt\":\"p\",\"loras\":{}}", "loras");
    expect_error("{\"version\":1,\"name\":\"x\",\"prompt\":\"p\",\"loras\":[{\"name\":\"../a\"}]}",
                 "no path");
    expect_error("{\"version\":1,\"name\":\"x\",\"prompt\":\"p\",\"loras\":[{\"name\":\"a\",\"weight\":\"1\"}]}",
                 "weight");
    char path[1024];
    snprintf(path, sizeof path, "%s/fast-lcm-lora.json", shipped_dir);
    p = NULL;
    CHECK(sd_preset_load_file(path, &p, &err) == SD_OK, "shipped Fast (LCM-LoRA): %s", err.message);
    if (p) {
        sd_preset_settings s;
        sd_preset_get_settings(p, &s);
        CHECK(strcmp(sd_preset_name(p), "Fast (LCM-LoRA)") == 0 && s.sampler == SD_SAMPLER_LCM &&
                  s.steps == 4 && s.cfg_scale == 1.0f && (s.set & SD_PRESET_LORAS),
              "Fast (LCM-LoRA): lcm, 4 steps, CFG 1, the LCM-LoRA");
        sd_preset_free(p);
    }
}

int main(int argc, char **argv)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test-presets-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *shipped = argc > 1 ? argv[1] : "presets";
    test_round_trip();
    test_expand();
    test_job_option_names();
    test_precedence();
    test_malformed();
    test_clip_skip_range();
    test_draft_vae();
    test_folders(shipped);
    test_loras(shipped);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary();
}
