/* The family table (nets/family.c) and the detection that reads it: the rows' facts,
 * every family on the fixture files (../shared/golden, ../shared/golden-sd2), the SD 2.x
 * prediction rule, and errors that keep their status without an sd_error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "nets/family.h"
#include "nets/keys.h"
#include "nets/model_config.h"

static void test_table(void)
{
    size_t n = 0;
    const sd_family_row *rows = sd_family_rows(&n);
    CHECK(n == SD_FAMILY_COUNT - 1, "one row per family: %zu", n);
    for (size_t i = 0; i < n; i++) {
        const sd_family_row *r = &rows[i];
        CHECK(r->family == (sd_family)(i + 1) && sd_family_row_of(r->family) == r,
              "row %zu is family %d", i, (int)r->family);
        CHECK(strcmp(sd_family_name(r->family), r->name) == 0, "%s: name", r->name);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(rows[k].name, r->name) != 0, "%s: unique name", r->name);
        CHECK(r->unet_prefix && strcmp(r->unet_prefix, SD_KEY_UNET) == 0 && r->vae_prefix &&
              strcmp(r->vae_prefix, SD_KEY_VAE) == 0 && r->text_prefix && r->text_encoder_name,
              "%s: key prefixes", r->name);
        int runs = r->family != SD_FAMILY_SDXL;
        CHECK(runs == (r->not_runnable == NULL), "%s: runnable for SD 1.x / 2.x (%s)", r->name,
              r->not_runnable ? r->not_runnable : "runs");
        CHECK(r->default_steps >= SD_STEPS_MIN && r->default_steps <= SD_STEPS_MAX &&
              r->default_cfg >= SD_CFG_MIN && r->default_cfg <= SD_CFG_MAX &&
              r->default_resolution >= SD_RESOLUTION_MIN &&
              r->default_resolution <= SD_RESOLUTION_MAX, "%s: defaults inside the limits",
              r->name);
    }
    static const struct {
        sd_family f;
        int context, in_ch, res, linear;
        sd_prediction pred;
        float vae_scale;
        sd_text_encoder_kind te;
    } want[] = {
        {SD_FAMILY_SD1, 768, 4, 512, 0, SD_PREDICTION_EPS, 0.18215f, SD_TEXT_CLIP_L},
        {SD_FAMILY_SD1_INPAINT, 768, 9, 512, 0, SD_PREDICTION_EPS, 0.18215f, SD_TEXT_CLIP_L},
        {SD_FAMILY_SD2, 1024, 4, 512, 1, SD_PREDICTION_EPS, 0.18215f, SD_TEXT_OPENCLIP_H},
        {SD_FAMILY_SD2_V, 1024, 4, 768, 1, SD_PREDICTION_V, 0.18215f, SD_TEXT_OPENCLIP_H},
        {SD_FAMILY_SD2_INPAINT, 1024, 9, 512, 1, SD_PREDICTION_EPS, 0.18215f,
         SD_TEXT_OPENCLIP_H},
        {SD_FAMILY_SD_TURBO, 1024, 4, 512, 1, SD_PREDICTION_EPS, 0.18215f, SD_TEXT_OPENCLIP_H},
        {SD_FAMILY_SDXL, 2048, 0, 1024, 1, SD_PREDICTION_EPS, 0.13025f,
         SD_TEXT_CLIP_L_OPENCLIP_G},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sd_family_row *r = sd_family_row_of(want[i].f);
        CHECK(r && r->context_dim == want[i].context && r->unet_in_channels == want[i].in_ch &&
              r->default_resolution == want[i].res && r->linear_projection == want[i].linear &&
              r->prediction == want[i].pred && r->vae_scale == want[i].vae_scale &&
              r->text_encoder == want[i].te, "%s: context %d, in %d, %dpx, linear %d, pred %d, "
              "VAE %g", r ? r->name : "?", r ? r->context_dim : 0, r ? r->unet_in_channels : 0,
              r ? r->default_resolution : 0, r ? r->linear_projection : 0,
              r ? (int)r->prediction : 0, r ? (double)r->vae_scale : 0.0);
    }
    const sd_family_row *turbo = sd_family_row_of(SD_FAMILY_SD_TURBO);
    CHECK(turbo && turbo->default_steps == 1 && turbo->default_cfg == 0.0f &&
              turbo->default_sampler == SD_SAMPLER_EULER_ANCESTRAL &&
              turbo->default_spacing == SD_SPACING_TRAILING,
          "sd-turbo: 1 step, no guidance, euler_a, trailing");
    sd_model_defaults d;
    sd_family_get_defaults(SD_FAMILY_SD_TURBO, &d);
    sd_job job;
    sd_job_defaults(&job);
    sd_job_apply_model_defaults(&job, &d);
    CHECK(d.resolution == 512 && job.steps == 1 && job.cfg_scale == 0.0f &&
              job.sampler == SD_SAMPLER_EULER_ANCESTRAL && job.spacing == SD_SPACING_TRAILING,
          "sd-turbo defaults reach a job");
    sd_family_get_defaults(SD_FAMILY_SD2_V, &d);
    CHECK(d.resolution == 768 && d.steps == SD_STEPS_DEFAULT && d.spacing == SD_SPACING_LEADING,
          "sd2-v: 768, leading");
    CHECK(sd_family_row_of(SD_FAMILY_UNKNOWN) == NULL && sd_family_row_of(SD_FAMILY_COUNT) == NULL &&
          strcmp(sd_family_name(SD_FAMILY_UNKNOWN), "unknown") == 0, "no row for unknown");
}

/* Each fixture file: its family, prediction, and whether the config detection runs it. */
static void test_fixtures(const char *shared)
{
    static const struct {
        const char *file;
        sd_family family;
        sd_prediction pred;
        const char *source;   /* in the prediction source */
        sd_status config;     /* sd_model_config_detect */
    } cases[] = {
        {"golden/tiny-sd1.safetensors", SD_FAMILY_SD1, SD_PREDICTION_EPS, "family", SD_OK},
        {"golden/tiny-sd1-fp16.safetensors", SD_FAMILY_SD1, SD_PREDICTION_EPS, "family", SD_OK},
        {"golden/tiny-sd1-inpaint.safetensors", SD_FAMILY_SD1_INPAINT, SD_PREDICTION_EPS,
         "family", SD_OK},
        {"golden-sd2/tiny-sd2.safetensors", SD_FAMILY_SD2, SD_PREDICTION_EPS, "std 0.050 <=",
         SD_OK},
        {"golden-sd2/tiny-sd2-v.safetensors", SD_FAMILY_SD2_V, SD_PREDICTION_V, "v_pred key",
         SD_OK},
        {"golden-sd2/tiny-sd2-inpaint.safetensors", SD_FAMILY_SD2_INPAINT, SD_PREDICTION_EPS,
         "family", SD_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", shared, cases[i].file);
        st_file *f = NULL;
        sd_error err = {0};
        if (st_open(path, &f, &err) != SD_OK) {
            CHECK(0, "open %s: %s", path, err.message);
            continue;
        }
        sd_family_match m;
        sd_status s = sd_family_detect(f, &m, &err);
        CHECK(s == SD_OK && m.row && m.row->family == cases[i].family &&
              m.prediction == cases[i].pred && strstr(m.prediction_source, cases[i].source),
              "%s: %s, prediction %d (%s)", cases[i].file, m.row ? m.row->name : err.message,
              (int)m.prediction, m.prediction_source);
        sd_model_config cfg;
        s = sd_model_config_detect(f, &cfg, &err);
        CHECK(s == cases[i].config &&
              (s != SD_OK || (cfg.family == cases[i].family && cfg.prediction == cases[i].pred)) &&
              (s == SD_OK || strstr(err.message, "not supported")),
              "%s: config %d (want %d): %s", cases[i].file, (int)s, (int)cases[i].config,
              s == SD_OK ? "ok" : err.message);
        /* the same status without an sd_error */
        CHECK(sd_model_config_detect(f, &cfg, NULL) == cases[i].config,
              "%s: status kept with a NULL error", cases[i].file);
        st_close(f);
    }
}

/* ComfyUI's rule on the two files that differ only in that tensor (README: 0.050, 0.150). */
static void test_v_rule(const char *shared)
{
    static const struct {
        const char *file;
        double std;
    } cases[] = {{"tiny-sd2.safetensors", 0.050}, {"tiny-sd2-v.safetensors", 0.150}};
    for (size_t i = 0; i < 2; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/golden-sd2/%s", shared, cases[i].file);
        st_file *f = NULL;
        sd_error err = {0};
        if (st_open(path, &f, &err) != SD_OK) {
            CHECK(0, "open %s: %s", path, err.message);
            continue;
        }
        double std = -1.0;
        sd_status s = sd_family_norm1_bias_std(f, SD_KEY_UNET, &std, &err);
        CHECK(s == SD_OK && fabs(std - cases[i].std) < 0.001 &&
              (std > SD_FAMILY_V_RULE_STD) == (i == 1), "%s: norm1.bias std %.4f (want %.3f)",
              cases[i].file, std, cases[i].std);
        st_close(f);
    }
}

/* A header-only checkpoint: the named tensors (shape [1], F16; conv_in [4, in_ch, 3, 3])
 * over zero bytes. Detection reads names and conv_in's shape only. Returns 0 on success. */
static int write_keys(const char *path, const char *const *names, int in_ch)
{
    char json[4096];
    size_t len = 0, offset = 0;
    len += (size_t)snprintf(json + len, sizeof json - len,
                            "{\"" SD_KEY_UNET "input_blocks.0.0.weight\":{\"dtype\":\"F16\","
                            "\"shape\":[4,%d,3,3],\"data_offsets\":[0,%zu]}", in_ch,
                            (size_t)(4 * in_ch * 9 * 2));
    offset = (size_t)(4 * in_ch * 9 * 2);
    for (int i = 0; names[i]; i++) {
        len += (size_t)snprintf(json + len, sizeof json - len,
                                ",\"%s\":{\"dtype\":\"F16\",\"shape\":[1],"
                                "\"data_offsets\":[%zu,%zu]}", names[i], offset, offset + 2);
        offset += 2;
    }
    len += (size_t)snprintf(json + len, sizeof json - len, "}");
    if (len >= sizeof json)
        return -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t n = len;
    int ok = fwrite(&n, sizeof n, 1, f) == 1 && fwrite(json, 1, len, f) == len;
    for (size_t i = 0; ok && i < offset; i++)
        ok = fputc(0, f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Families the fixtures do not hold, and files no row takes, from their key names. */
static void test_key_sets(void)
{
    static const char *const turbo[] = {SD_KEY_VAE "x", SD_KEY_SGM_OPENCLIP "ln_final.weight",
                                        NULL};
    static const char *const sdxl[] = {SD_KEY_VAE "x", SD_KEY_SGM_TEXT "0.transformer.x",
                                       SD_KEY_SGM_TEXT "1.model.ln_final.weight",
                                       SD_KEY_UNET_LABEL_EMB "0.0.weight", NULL};
    static const char *const refiner[] = {SD_KEY_VAE "x", SD_KEY_SGM_OPENCLIP "ln_final.weight",
                                          SD_KEY_UNET_LABEL_EMB "0.0.weight", NULL};
    static const char *const clip_l_label_emb[] = {SD_KEY_VAE "x", SD_KEY_CLIP_L_TEXT "x",
                                                   SD_KEY_UNET_LABEL_EMB "0.0.weight", NULL};
    static const char *const sd2_v[] = {SD_KEY_VAE "x", SD_KEY_OPENCLIP "ln_final.weight",
                                        SD_KEY_V_PRED, NULL};
    static const char *const sd2_no_norm[] = {SD_KEY_VAE "x", SD_KEY_OPENCLIP "x", NULL};
    static const char *const no_vae[] = {SD_KEY_CLIP_L_TEXT "x", NULL};
    static const char *const no_text[] = {SD_KEY_VAE "x", NULL};
    static const char *const sd1[] = {SD_KEY_VAE "x", SD_KEY_CLIP_L_TEXT "x", NULL};
    static const struct {
        const char *what;
        const char *const *names;
        int in_ch;
        sd_status status;
        sd_family family;
        sd_prediction pred;
        const char *needle;  /* in the error or the prediction source */
    } cases[] = {
        {"sd-turbo (SGM layout)", turbo, 4, SD_OK, SD_FAMILY_SD_TURBO, SD_PREDICTION_EPS,
         "family"},
        {"sdxl base", sdxl, 4, SD_OK, SD_FAMILY_SDXL, SD_PREDICTION_EPS, "family"},
        {"sdxl refiner (OpenCLIP at 0, label_emb)", refiner, 4, SD_OK, SD_FAMILY_SDXL,
         SD_PREDICTION_EPS, "family"},
        {"CLIP-L with label_emb", clip_l_label_emb, 4, SD_ERR_UNSUPPORTED, SD_FAMILY_UNKNOWN,
         SD_PREDICTION_EPS, "SDXL-style U-Net"},
        {"sd2 with v_pred", sd2_v, 4, SD_OK, SD_FAMILY_SD2_V, SD_PREDICTION_V, "v_pred key"},
        {"sd2 without the norm1.bias", sd2_no_norm, 4, SD_OK, SD_FAMILY_SD2, SD_PREDICTION_EPS,
         "no usable"},
        {"sd2 inpainting with v_pred", sd2_v, 9, SD_OK, SD_FAMILY_SD2_INPAINT,
         SD_PREDICTION_EPS, "family"},
        {"no VAE", no_vae, 4, SD_ERR_UNSUPPORTED, SD_FAMILY_UNKNOWN, SD_PREDICTION_EPS,
         "no VAE"},
        {"no text encoder", no_text, 4, SD_ERR_UNSUPPORTED, SD_FAMILY_UNKNOWN,
         SD_PREDICTION_EPS, "no CLIP text encoder"},
        {"8 input channels (InstructPix2Pix)", sd1, 8, SD_ERR_UNSUPPORTED, SD_FAMILY_UNKNOWN,
         SD_PREDICTION_EPS, "U-Net with 8 input channels"},
    };
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/test-family-%ld.safetensors", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_file *f = NULL;
        sd_error err = {0};
        if (write_keys(path, cases[i].names, cases[i].in_ch) != 0 ||
            st_open(path, &f, &err) != SD_OK) {
            CHECK(0, "%s: write/open: %s", cases[i].what, err.message);
            continue;
        }
        sd_family_match m;
        sd_status s = sd_family_detect(f, &m, &err);
        const char *said = s == SD_OK ? m.prediction_source : err.message;
        CHECK(s == cases[i].status &&
              (s != SD_OK || (m.row->family == cases[i].family &&
                              m.prediction == cases[i].pred)) &&
              strstr(said, cases[i].needle),
              "%s: status %d, family %s, prediction %d: %s", cases[i].what, (int)s,
              s == SD_OK ? m.row->name : "-", (int)m.prediction, said);
        /* and the load refuses every one of them with a reason: a family that does not
         * run, or (the key lists are a few names, not a checkpoint) a missing tensor */
        sd_model_config cfg;
        sd_error_clear(&err);
        sd_status ls = sd_model_config_detect(f, &cfg, &err);
        CHECK((ls == SD_ERR_UNSUPPORTED && strstr(err.message, "unsupported model: ")) ||
                  (ls == SD_ERR_FORMAT && strstr(err.message, "missing tensor ")),
              "%s: load refuses: %s", cases[i].what, err.message);
        st_close(f);
    }
    remove(path);
}

static void test_error_context(void)
{
    sd_error err = {0};
    sd_fail(&err, SD_ERR_FORMAT, "missing tensor %s", "first_stage_model.decoder.x");
    sd_status s = sd_fail_context(&err, SD_ERR_FORMAT, "VAE");
    s = sd_fail_context(&err, s, "%s", "model.safetensors");
    CHECK(s == SD_ERR_FORMAT && err.code == SD_ERR_FORMAT &&
          strcmp(err.message, "model.safetensors: VAE: missing tensor first_stage_model.decoder.x")
              == 0, "each layer's noun once: \"%s\"", err.message);
    CHECK(sd_fail_context(NULL, SD_ERR_NOMEM, "VAE") == SD_ERR_NOMEM,
          "the real status without an sd_error");
    sd_error_clear(&err);
    CHECK(sd_fail_context(&err, SD_ERR_IO, "file.bin") == SD_ERR_IO &&
          strcmp(err.message, "file.bin") == 0, "no dangling separator: \"%s\"", err.message);
    char longer[600];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    sd_fail(&err, SD_ERR_FORMAT, "%s", longer);
    sd_fail_context(&err, SD_ERR_FORMAT, "VAE");
    CHECK(strlen(err.message) == sizeof err.message - 1 && strncmp(err.message, "VAE: x", 6) == 0,
          "truncated to the buffer, context first");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
        return 2;
    }
    test_table();
    test_key_sets();
    test_error_context();
    char probe[600];
    snprintf(probe, sizeof probe, "%s/golden-sd2/tiny-sd2.safetensors", argv[1]);
    if (access(probe, R_OK) != 0) {
        printf("SKIP (fixture part): %s is missing (the shared fixtures)\n", probe);
    } else {
        test_fixtures(argv[1]);
        test_v_rule(argv[1]);
    }
    return check_summary();
}
