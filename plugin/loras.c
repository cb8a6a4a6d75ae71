#include "loras.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LORA_EXT ".safetensors"

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

/* One entry "file[:weight]" of length len into e. */
static sd_status parse_entry(const char *s, size_t len, gd_lora_entry *e, sd_error *err)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    char item[GD_PATH_MAX];
    snprintf(item, sizeof item, "%.*s", (int)len, s);
    e->weight = GD_LORA_WEIGHT_DEFAULT;
    char *colon = strrchr(item, ':');
    if (colon) {
        char *end = NULL;
        double w = strtod(colon + 1, &end);
        if (end == colon + 1 || *end != '\0' || !isfinite(w))
            return gd_fail(err, SD_ERR_INVALID_ARG,
                           "LoRA \"%.300s\": the weight after the last ':' must be a number.",
                           item);
        e->weight = w;
        *colon = '\0';
    }
    if (!item[0])
        return gd_fail(err, SD_ERR_INVALID_ARG, "A LoRA entry names no file (\"%.300s\").", s);
    snprintf(e->file, sizeof e->file, "%s", item);
    return SD_OK;
}

static sd_status too_many(sd_error *err)
{
    return gd_fail(err, SD_ERR_INVALID_ARG, "More than %d LoRAs: the engine applies at most %d.",
                   SD_LORA_MAX, SD_LORA_MAX);
}

sd_status gd_loras_parse(const gd_params *p, gd_lora_entry *out, int *n, sd_error *err)
{
    *n = 0;
    for (const char *s = p->loras ? p->loras : ""; *s;) {
        size_t len = strcspn(s, ";");
        if (strspn(s, " \t") < len) {
            if (*n >= SD_LORA_MAX)
                return too_many(err);
            sd_status st = parse_entry(s, len, &out[*n], err);
            if (st != SD_OK)
                return st;
            (*n)++;
        }
        s += len + (s[len] == ';');
    }
    for (int k = 0; k < GD_DIALOG_LORAS; k++) {
        if (!p->lora_file[k] || !p->lora_file[k][0])
            continue;
        if (*n >= SD_LORA_MAX)
            return too_many(err);
        snprintf(out[*n].file, sizeof out[*n].file, "%s", p->lora_file[k]);
        out[*n].weight = p->lora_weight[k];
        (*n)++;
    }
    return SD_OK;
}

int gd_lora_is_name(const char *file)
{
    return !strchr(file, '/');
}

sd_status gd_lora_resolve(const char *file, const char *lora_dir, char *path, size_t size,
                          sd_error *err)
{
    if (!gd_lora_is_name(file)) {
        snprintf(path, size, "%s", file);
        return SD_OK;
    }
    if (!lora_dir || !*lora_dir)
        return gd_fail(err, SD_ERR_INVALID_ARG,
                       "The LoRA \"%.200s\" has no folder, and no LoRA folder is set (\"lora_dir\" "
                       "in ~/.config/gimp-diffusion/config.json).", file);
    snprintf(path, size, "%s/%s%s", lora_dir, file, ends_with(file, LORA_EXT) ? "" : LORA_EXT);
    return SD_OK;
}

void gd_lora_stem(const char *file, char *buf, size_t size)
{
    const char *slash = strrchr(file, '/');
    snprintf(buf, size, "%s", slash ? slash + 1 : file);
    if (ends_with(buf, LORA_EXT))
        buf[strlen(buf) - strlen(LORA_EXT)] = '\0';
}
