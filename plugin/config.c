#include "config.h"

#include "sd.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_path(char *dst, const char *src)
{
    if (src && *src && !*dst)
        snprintf(dst, GD_PATH_MAX, "%s", src);
}

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        /* a config file is a few hundred bytes: refuse anything absurd */
        if (n >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
                buf[n] = '\0';
            } else {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf;
}

static void read_config_file(gd_config *cfg)
{
    char path[GD_PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/gimp-diffusion/config.json", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.config/gimp-diffusion/config.json", home);
    else
        return;

    char *text = read_small_file(path);
    if (!text)
        return;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        snprintf(cfg->warning, sizeof cfg->warning, "%s is not a JSON object; ignored", path);
        cJSON_Delete(root);
        return;
    }
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "vocab");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "threads");
    cJSON *taesd = cJSON_GetObjectItemCaseSensitive(root, "taesd");
    cJSON *loras = cJSON_GetObjectItemCaseSensitive(root, "lora_dir");
    cJSON *precision = cJSON_GetObjectItemCaseSensitive(root, "precision");
    if (cJSON_IsString(m))
        set_path(cfg->model, m->valuestring);
    if (cJSON_IsString(v))
        set_path(cfg->vocab, v->valuestring);
    if (cJSON_IsString(taesd))
        set_path(cfg->taesd, taesd->valuestring);
    if (cJSON_IsString(loras))
        set_path(cfg->lora_dir, loras->valuestring);
    if (cJSON_IsNumber(t) && cfg->threads == 0 && t->valuedouble >= 0 && t->valuedouble <= SD_THREADS_MAX)
        cfg->threads = (int)t->valuedouble;
    if (precision && !cfg->precision_set) {
        if (!cJSON_IsString(precision) || sd_precision_parse(precision->valuestring, &cfg->precision))
            snprintf(cfg->warning, sizeof cfg->warning,
                     "%s: \"precision\" must be \"auto\", \"fp32\" or \"bf16\"; ignored", path);
    }
    cJSON_Delete(root);
}

/* install.sh's LoRA folder, under the user's data folder, when nothing names another */
static void default_lora_dir(gd_config *cfg)
{
    const char *data = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (cfg->lora_dir[0])
        return;
    if (data && *data)
        snprintf(cfg->lora_dir, GD_PATH_MAX, "%s/gimp-diffusion/loras", data);
    else if (home && *home)
        snprintf(cfg->lora_dir, GD_PATH_MAX, "%s/.local/share/gimp-diffusion/loras", home);
}

void gd_config_resolve(const char *model_arg, const char *vocab_arg, gd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    set_path(cfg->model, model_arg);
    set_path(cfg->vocab, vocab_arg);
    set_path(cfg->model, getenv("GIMP_DIFFUSION_MODEL"));
    set_path(cfg->vocab, getenv("GIMP_DIFFUSION_VOCAB"));
    const char *th = getenv("GIMP_DIFFUSION_THREADS");
    if (th && *th)
        cfg->threads = atoi(th) > 0 ? atoi(th) : 0;
    const char *prec = getenv("GIMP_DIFFUSION_PRECISION");
    if (prec && *prec) {
        if (sd_precision_parse(prec, &cfg->precision) == 0)
            cfg->precision_set = 1;
        else
            snprintf(cfg->warning, sizeof cfg->warning,
                     "GIMP_DIFFUSION_PRECISION must be auto, fp32 or bf16 (not \"%.100s\"); ignored",
                     prec);
    }
    set_path(cfg->taesd, getenv("GIMP_DIFFUSION_TAESD"));
    set_path(cfg->lora_dir, getenv("GIMP_DIFFUSION_LORA_DIR"));
    read_config_file(cfg);
    default_lora_dir(cfg);

    if (!*cfg->vocab && *cfg->model) {
        /* the engine accepts a folder holding vocab.json + merges.txt or the .gz */
        snprintf(cfg->vocab, GD_PATH_MAX, "%s", cfg->model);
        char *slash = strrchr(cfg->vocab, '/');
        if (slash)
            *(slash == cfg->vocab ? slash + 1 : slash) = '\0';
        else
            snprintf(cfg->vocab, GD_PATH_MAX, ".");
    }
}

int gd_config_has_taesd(void)
{
    gd_config *cfg = malloc(sizeof *cfg); /* paths of GD_PATH_MAX: not on the stack */
    if (!cfg)
        return 1; /* unknown: say nothing */
    gd_config_resolve("", "", cfg);
    int has = cfg->taesd[0] != '\0';
    free(cfg);
    return has;
}
