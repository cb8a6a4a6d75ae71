/* A job's LoRA set merged into the model (see model_lora.h). */
#include "pipeline/model_lora.h"
#include "pipeline/precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nets/lora.h"
#include "text/prompt_parse.h"

#define LORA_EXT ".safetensors"

typedef struct {
    char *path[SD_LORA_MAX];
    float weight[SD_LORA_MAX];
    int n;
} lora_set;

static void set_clear(lora_set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->path[i]);
    s->n = 0;
}

static sd_status set_add(lora_set *s, const char *path, float weight, sd_error *err)
{
    if (!isfinite(weight))
        return sd_fail(err, SD_ERR_INVALID_ARG, "LoRA %s: weight is not a number", path);
    if (s->n == SD_LORA_MAX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "more than %d LoRAs in one job", SD_LORA_MAX);
    if (!(s->path[s->n] = strdup(path)))
        return sd_fail(err, SD_ERR_NOMEM, "out of memory");
    s->weight[s->n++] = weight;
    return SD_OK;
}

/* <lora:name> → <dir>/name.safetensors (the name as A1111 shows it: the file's stem). */
static sd_status tag_path(const char *dir, const char *name, char *buf, size_t size,
                          sd_error *err)
{
    if (!dir || !dir[0])
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "the prompt names <lora:%s>, but no LoRA folder is set", name);
    if (strchr(name, '/') || strchr(name, '\\') || strcmp(name, "..") == 0 ||
        strcmp(name, ".") == 0)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "<lora:%s>: a LoRA name is a file name in the LoRA folder, not a path",
                       name);
    size_t n = strlen(name), k = strlen(LORA_EXT);
    int has_ext = n > k && strcmp(name + n - k, LORA_EXT) == 0;
    if (snprintf(buf, size, "%s/%s%s", dir, name, has_ext ? "" : LORA_EXT) >= (int)size)
        return sd_fail(err, SD_ERR_INVALID_ARG, "<lora:%s>: path too long", name);
    return SD_OK;
}

/* The job's LoRAs, then the prompt's. */
static sd_status wanted_set(const sd_job *job, lora_set *s, sd_error *err)
{
    sd_status st = SD_OK;
    if (job->n_loras < 0 || (job->n_loras > 0 && !job->loras))
        return sd_fail(err, SD_ERR_INVALID_ARG, "bad LoRA list (%d entries)", job->n_loras);
    for (int i = 0; i < job->n_loras && st == SD_OK; i++)
        st = job->loras[i].path && job->loras[i].path[0]
                 ? set_add(s, job->loras[i].path, job->loras[i].weight, err)
                 : sd_fail(err, SD_ERR_INVALID_ARG, "LoRA %d has no file", i + 1);
    char *plain = NULL;
    sd_prompt_lora *tags = NULL;
    int n_tags = 0;
    if (st == SD_OK)
        st = sd_prompt_strip_loras(job->prompt, &plain, &tags, &n_tags, err);
    for (int i = 0; i < n_tags && st == SD_OK; i++) {
        char path[4096];
        st = tag_path(job->lora_dir, tags[i].name, path, sizeof path, err);
        if (st == SD_OK)
            st = set_add(s, path, (float)tags[i].weight, err);
    }
    for (int i = 0; i < n_tags; i++)
        free(tags[i].name);
    free(tags);
    free(plain);
    return st;
}

static int same_set(const sd_model *m, const lora_set *s)
{
    if (m->n_loras != s->n)
        return 0;
    for (int i = 0; i < s->n; i++)
        if (strcmp(m->lora_paths[i], s->path[i]) != 0 || m->lora_weights[i] != s->weight[i])
            return 0;
    return 1;
}

static sd_status merge(sd_model *m, const lora_set *s, sd_error *err)
{
    sd_lora_file *files[SD_LORA_MAX] = {NULL};
    sd_status st = SD_OK;
    for (int i = 0; i < s->n && st == SD_OK; i++) {
        st = sd_lora_read(s->path[i], &files[i], err);
        if (st == SD_OK)
            st = sd_lora_map(files[i], m->weights, &m->cfg, err);
    }
    if (st == SD_OK)
        st = sd_lora_merge((const sd_lora_file *const *)files, s->weight, s->n, m->weights, err);
    for (int i = 0; i < s->n; i++)
        sd_lora_free(files[i]);
    return st;
}

sd_status sd_model_use_loras(sd_model *m, const sd_job *job, sd_error *err)
{
    lora_set want = {0};
    sd_status st = wanted_set(job, &want, err);
    if (st != SD_OK || same_set(m, &want)) {
        set_clear(&want);
        return st;
    }
    sd_model_loras_free(m);
    sd_lora_detach(m->weights);
    st = merge(m, &want, err);
    if (st == SD_OK)
        st = sd_lora_attach(m->weights, "", err);
    if (st != SD_OK) {
        sd_lora_detach(m->weights);
        set_clear(&want);
        sd_model_repack(m, NULL);   /* bf16: the packed copies follow the weights back */
        return st;
    }
    for (int i = 0; i < want.n; i++) {
        m->lora_paths[i] = want.path[i];
        m->lora_weights[i] = want.weight[i];
    }
    m->n_loras = want.n;
    return sd_model_repack(m, err);   /* bf16: pack the merged weights */
}

void sd_model_loras_free(sd_model *m)
{
    for (int i = 0; i < m->n_loras; i++)
        free(m->lora_paths[i]);
    m->n_loras = 0;
}
