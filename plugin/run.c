#include "run.h"

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "generate.h"
#include "loras.h"

/* A layer name's longest form, bytes (GIMP shows names in one line of the Layers dock). */
#define GD_LAYER_NAME_MAX 128

void gd_target_init(gd_target *t, int gimp_base_type, int image_w, int image_h, int layer_x,
                    int layer_y, int layer_w, int layer_h, int has_selection, int x1, int y1,
                    int x2, int y2, uint64_t random)
{
    static const gd_image_base bases[] = { GD_IMAGE_RGB, GD_IMAGE_GRAY, GD_IMAGE_INDEXED };
    t->base = gimp_base_type >= 0 && gimp_base_type <= 2 ? bases[gimp_base_type] : GD_IMAGE_INDEXED;
    t->image_width = image_w;
    t->image_height = image_h;
    t->layer = (region_rect){ layer_x, layer_y, layer_w, layer_h };
    t->has_selection = has_selection;
    t->selection = (region_rect){ x1, y1, x2 - x1, y2 - y1 };
    t->random = random;
}

/* What a run resolves before it starts, kept until it ends (too large for the stack). */
typedef struct {
    gd_config cfg;
    gd_lora_entry given[SD_LORA_MAX];
    sd_lora loras[SD_LORA_MAX];
} run_state;

/* The run's LoRAs (the argument's and the dialog's), bare names found in the LoRA folder,
 * into run->engine_loras; the folder for <lora:name:w> in the prompt into run->lora_dir. */
static sd_status resolve_loras(gd_params *run, run_state *rs, sd_error *err)
{
    int n = 0;
    sd_status st = gd_loras_parse(run, rs->given, &n, err);
    for (int i = 0; st == SD_OK && i < n; i++) {
        char path[GD_PATH_MAX];
        if ((st = gd_lora_resolve(rs->given[i].file, rs->cfg.lora_dir, path, sizeof path, err)))
            break;
        snprintf(rs->given[i].file, sizeof rs->given[i].file, "%s", path);
        rs->loras[i] = (sd_lora){ rs->given[i].file, (float)rs->given[i].weight };
    }
    run->engine_loras = rs->loras;
    run->n_engine_loras = st == SD_OK ? n : 0;
    run->lora_dir = rs->cfg.lora_dir;
    return st;
}

/* Everything before the pixels are read: the refusals that need no pixels, the region and
 * its working size, the memory it needs, the model, the TAESD, the LoRAs and the seed. */
static sd_status plan(const gd_host *host, const gd_target *t, gd_params *run, run_state *rs,
                      region *r, int *work_w, int *work_h, sd_error *err)
{
    gd_config *cfg = &rs->cfg;
    if (t->base == GD_IMAGE_INDEXED)
        return gd_fail(err, SD_ERR_INVALID_ARG,
                    "Indexed images are not supported: their palette cannot hold generated "
                    "colours. Convert the image with Image > Mode > RGB first.");
    if (!region_compute(t->has_selection ? &t->selection : NULL, &t->layer, t->image_width,
                        t->image_height, run->padding, r))
        return gd_fail(err, SD_ERR_INVALID_ARG,
                    "The selection does not touch the active layer inside the canvas.");
    region_work_size(r->rect.width, r->rect.height, run->work_size, work_w, work_h);
    sd_status st = gd_check_memory(r->rect.width, r->rect.height, *work_w, *work_h, err);
    if (st != SD_OK)
        return st;

    gd_config_resolve(run->model_path, run->vocab_path, cfg);
    if (*cfg->warning && host->warn)
        host->warn(host->user, cfg->warning);
    run->model_path = cfg->model;
    run->vocab_path = cfg->vocab;
    /* an explicit precision wins over the machine's; "auto" leaves it to the config */
    sd_precision asked = SD_PRECISION_AUTO;
    if (sd_precision_parse(run->precision, &asked))
        return gd_fail(err, SD_ERR_INVALID_ARG, "Unknown precision \"%.40s\" (auto, fp32, bf16).",
                       run->precision ? run->precision : "");
    if (asked != SD_PRECISION_AUTO)
        cfg->precision = asked;
    if (run->draft_vae && !*cfg->taesd) {
        /* as the draft presets say: the draft VAE when one is configured */
        if (host->warn)
            host->warn(host->user, GD_NO_TAESD_TEXT " This run decodes with the full VAE.");
        run->draft_vae = 0; /* the parasite records what ran */
    }
    if ((st = resolve_loras(run, rs, err)) != SD_OK)
        return st;
    if (run->random_seed)
        run->seed = t->random;
    return SD_OK;
}

sd_status gd_run(const gd_host *host, const gd_target *t, gd_params *p, sd_error *err)
{
    gd_params run = *p;
    run_state *rs = malloc(sizeof *rs);
    region r;
    int ww = 0, wh = 0;
    if (!rs)
        return gd_fail(err, SD_ERR_NOMEM, "Out of memory.");
    sd_status st = plan(host, t, &run, rs, &r, &ww, &wh, err);
    if (st != SD_OK) {
        free(rs);
        return st;
    }

    int w = r.rect.width, h = r.rect.height;
    size_t n = (size_t)w * h;
    float *rgba = malloc(n * 4 * sizeof *rgba);
    float *mask = malloc(n * sizeof *mask);
    float *out = malloc(n * 4 * sizeof *out);
    char *json = NULL;
    sd_model *model = NULL;
    if (!rgba || !mask || !out) {
        st = gd_fail(err, SD_ERR_NOMEM, "Out of memory for a %d x %d region.", w, h);
        goto done;
    }
    host->read(host->user, &r.rect, rgba, mask);
    if ((st = gd_check_selection(mask, n, err)) != SD_OK)
        goto done;

    host->progress(host->user, -1.0, "Stable Diffusion: loading the model");
    if ((st = gd_load_model(&rs->cfg, run.draft_vae, &model, err)) != SD_OK)
        goto done;
    /* the parasite records what runs */
    sd_model_info info;
    sd_model_get_info(model, &info);
    run.precision = sd_precision_name(info.precision) ? sd_precision_name(info.precision) : "?";
    run.bf16_kernel = info.bf16_kernel ? info.bf16_kernel : "none";
    /* the model's family, and for prediction "auto" the type detected in the file */
    run.family = info.family_name;
    if (sd_prediction_from_name(run.prediction) == SD_PREDICTION_AUTO)
        run.prediction = sd_prediction_name(info.prediction);
    gd_region_pixels in = { w, h, rgba, mask, r.open_edges };
    sd_error e = { 0 };
    st = gd_generate_region(model, &run, &in, out, host->progress, host->preview, host->user,
                            &e);
    if (st != SD_OK) {
        gd_fail(err, st, "Stable Diffusion failed: %s", e.message);
        goto done;
    }

    json = gd_params_to_json(&run, r.rect.x, r.rect.y, w, h, ww, wh);
    char name[GD_LAYER_NAME_MAX];
    gd_layer_name(run.prompt, name, sizeof name);
    gd_result res = { r.rect, out, name, json, t->base == GD_IMAGE_GRAY };
    st = host->write(host->user, &res, err);
    if (st == SD_OK)
        p->seed = run.seed;

done:
    if (model)
        sd_model_free(model);
    free(json);
    free(rgba);
    free(mask);
    free(out);
    free(rs);
    return st;
}
