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
    if (cJSON_IsString(m))
        set_path(cfg->model, m->valuestring);
    if (cJSON_IsString(v))
        set_path(cfg->vocab, v->valuestring);
    if (cJSON_IsNumber(t) && cfg->threads == 0 && t->valuedouble >= 0 && t->valuedouble <= SD_THREADS_MAX)
        cfg->threads = (int)t->valuedouble;
    cJSON_Delete(root);
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
    read_config_file(cfg);

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
