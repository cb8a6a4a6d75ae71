/* Prompt presets: JSON files read and written with cJSON. The parsed cJSON object is
 * kept whole, so keys this version does not know survive a re-save. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "sd_preset.h"

#define PRESET_FORMAT_VERSION 1
#define PRESET_MAX_FILE_BYTES (1 << 20)

struct sd_preset {
    cJSON *json;              /* the whole document; the fields below point into it */
    char *source;
    sd_preset_settings settings;
};

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- validation ---------------------------------------------------------- */

typedef struct {
    const char *source;
    sd_error *err;
} ctx;

static sd_status bad(const ctx *c, const char *key, const char *problem)
{
    return sd_fail(c->err, SD_ERR_FORMAT, "%s: key \"%s\": %s", c->source, key, problem);
}

static int is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble;
}

static sd_status get_int(const ctx *c, const cJSON *obj, const char *key, int lo, int hi,
                         int *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v != NULL;
    if (!v)
        return SD_OK;
    char msg[96];
    snprintf(msg, sizeof msg, "must be an integer in %d..%d", lo, hi);
    if (!is_integer(v) || v->valuedouble < lo || v->valuedouble > hi)
        return bad(c, key, msg);
    *out = (int)v->valuedouble;
    return SD_OK;
}

static sd_status get_double(const ctx *c, const cJSON *obj, const char *key, double lo,
                            double hi, int lo_open, double *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v != NULL;
    if (!v)
        return SD_OK;
    char msg[96];
    snprintf(msg, sizeof msg, "must be a number in %s%g, %g]", lo_open ? "(" : "[", lo, hi);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble > hi ||
        (lo_open ? v->valuedouble <= lo : v->valuedouble < lo))
        return bad(c, key, msg);
    *out = v->valuedouble;
    return SD_OK;
}

static sd_status get_float(const ctx *c, const cJSON *obj, const char *key, double lo, double hi,
                           int lo_open, float *out, int *present)
{
    double d = 0.0;
    sd_status st = get_double(c, obj, key, lo, hi, lo_open, &d, present);
    if (st == SD_OK && *present)
        *out = (float)d;
    return st;
}

static sd_status get_string(const ctx *c, const cJSON *obj, const char *key, int required,
                            const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        if (required)
            return bad(c, key, "is required");
        *out = NULL;
        return SD_OK;
    }
    if (!cJSON_IsString(v))
        return bad(c, key, "must be a string");
    *out = v->valuestring;
    return SD_OK;
}

/* Reads and checks every known key of `obj` into s. */
/* "loras": [{"name": "file stem in the LoRA folder", "weight": number}] (weight 1 when
 * absent). A name goes into a <lora:name:weight> tag: no path, no ':' '<' '>'. */
#define PRESET_LORA_WEIGHT_MAX 10.0

static sd_status validate_loras(const ctx *c, const cJSON *obj)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "loras"), *item;
    if (!list)
        return SD_OK;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > SD_LORA_MAX)
        return bad(c, "loras", "must be a list of at most 16 {\"name\", \"weight\"}");
    cJSON_ArrayForEach(item, list)
    {
        const char *name = json_string(item, "name");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(item, "weight");
        if (!name || !name[0] || strpbrk(name, "/\\:<>"))
            return bad(c, "loras", "each needs a \"name\": a file name in the LoRA folder "
                                   "(no path, no ':', '<' or '>')");
        if (w && !(cJSON_IsNumber(w) && fabs(w->valuedouble) <= PRESET_LORA_WEIGHT_MAX))
            return bad(c, "loras", "\"weight\" must be a number in -10..10");
    }
    return SD_OK;
}

/* The preset's LoRAs appended to the prompt as <lora:name:weight> tags (malloc'd). */
static char *append_loras(const sd_preset *p, char *prompt)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p->json, "loras"), *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(item, "weight");
        char tag[512];
        int n = snprintf(tag, sizeof tag, " <lora:%s:%.9g>", json_string(item, "name"),
                         cJSON_IsNumber(w) ? w->valuedouble : 1.0);
        size_t len = strlen(prompt);
        char *grown = n > 0 && (size_t)n < sizeof tag ? realloc(prompt, len + (size_t)n + 1) : NULL;
        if (!grown) {
            free(prompt);
            return NULL;
        }
        memcpy(grown + len, tag, (size_t)n + 1);
        prompt = grown;
    }
    return prompt;
}

/* "masked_content", "rng" and "vae_tile" (the CLI's --masked-content, --rng, --vae-tile). */
static sd_status validate_job_options(const ctx *c, const cJSON *obj, sd_preset_settings *s)
{
    sd_status st;
    const char *str = NULL;
    if ((st = get_string(c, obj, "masked_content", 0, &str)))
        return st;
    if (str) {
        if (sd_masked_content_parse(str, &s->masked_content))
            return bad(c, "masked_content", "must be \"original\", \"fill\" or \"noise\"");
        s->set |= SD_PRESET_MASKED_CONTENT;
    }
    if ((st = get_string(c, obj, "rng", 0, &str)))
        return st;
    if (str) {
        if (sd_rng_parse(str, &s->rng))
            return bad(c, "rng", "must be \"torch\" or \"philox\"");
        s->set |= SD_PRESET_RNG;
    }
    const cJSON *tile = cJSON_GetObjectItemCaseSensitive(obj, "vae_tile");
    if (tile) {
        char text[16] = "";
        if (cJSON_IsString(tile))
            snprintf(text, sizeof text, "%s", tile->valuestring);
        else if (is_integer(tile) && tile->valuedouble >= 0 && tile->valuedouble <= SD_VAE_TILE_MAX)
            snprintf(text, sizeof text, "%d", (int)tile->valuedouble);
        if (sd_vae_tile_parse(text, &s->vae_tile))
            return bad(c, "vae_tile", "must be \"auto\", \"off\" or a multiple of "
                       "64 in 64..32768 (pixels)");
        s->set |= SD_PRESET_VAE_TILE;
    }
    return SD_OK;
}

static sd_status validate(const ctx *c, const cJSON *obj, sd_preset_settings *s)
{
    sd_status st;
    int present;
    const char *str = NULL;  /* set by get_string; gcc 14/16 cannot see it (-Wmaybe-uninitialized) */
    memset(s, 0, sizeof *s);

    if (!cJSON_IsObject(obj))
        return sd_fail(c->err, SD_ERR_FORMAT, "%s: a preset must be a JSON object", c->source);
    int version = 0;
    if ((st = get_int(c, obj, "version", 1, 1000000, &version, &present)))
        return st;
    if (!present)
        return bad(c, "version", "is required");
    if (version > PRESET_FORMAT_VERSION)
        return sd_fail(c->err, SD_ERR_UNSUPPORTED,
                       "%s: key \"version\": format version %d is newer than this plug-in "
                       "understands (%d)", c->source, version, PRESET_FORMAT_VERSION);
    if ((st = get_string(c, obj, "name", 1, &str)))
        return st;
    if (!str[0])
        return bad(c, "name", "must not be empty");
    if ((st = get_string(c, obj, "prompt", 1, &str)) ||
        (st = get_string(c, obj, "description", 0, &str)))
        return st;
    if ((st = get_string(c, obj, "negative_prompt", 0, &str)))
        return st;
    if (str)
        s->set |= SD_PRESET_NEGATIVE;

    if ((st = get_string(c, obj, "sampler", 0, &str)))
        return st;
    if (str) {
        int k = sd_sampler_from_name(str);
        char list[SD_SAMPLER_LIST_SIZE], why[SD_SAMPLER_LIST_SIZE + 32];
        snprintf(why, sizeof why, "unknown sampler (%s)", sd_sampler_list(list, sizeof list));
        if (k < 0)
            return bad(c, "sampler", why);
        s->sampler = (sd_sampler)k;
        s->set |= SD_PRESET_SAMPLER;
    }
    if ((st = get_string(c, obj, "timestep_spacing", 0, &str)))
        return st;
    if (str) {
        int k = sd_spacing_from_name(str);
        if (k < 0)
            return bad(c, "timestep_spacing", "must be \"leading\", \"trailing\" or \"linspace\"");
        s->spacing = (sd_spacing)k;
        s->set |= SD_PRESET_SPACING;
    }
    if ((st = get_string(c, obj, "prediction", 0, &str)))
        return st;
    if (str) {
        int k = sd_prediction_from_name(str);
        if (k < 0)
            return bad(c, "prediction", "must be \"auto\", \"eps\" or \"v\"");
        s->prediction = (sd_prediction)k;
        s->set |= SD_PRESET_PREDICTION;
    }
    if ((st = get_int(c, obj, "steps", SD_STEPS_MIN, SD_STEPS_MAX, &s->steps, &present)))
        return st;
    s->set |= present ? SD_PRESET_STEPS : 0;
    if ((st = get_float(c, obj, "cfg_scale", SD_CFG_MIN, SD_CFG_MAX, 0, &s->cfg_scale, &present)))
        return st;
    s->set |= present ? SD_PRESET_CFG : 0;
    if ((st = get_double(c, obj, "strength", 0.0, SD_STRENGTH_MAX, 1, &s->strength, &present)))
        return st;
    s->set |= present ? SD_PRESET_STRENGTH : 0;

    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(obj, "seed");
    if (seed) {
        if (cJSON_IsString(seed) && strcmp(seed->valuestring, "random") == 0)
            s->random_seed = 1;
        else if (is_integer(seed) && seed->valuedouble >= 0 && seed->valuedouble <= 9007199254740992.0)
            s->seed = (uint64_t)seed->valuedouble;
        else
            return bad(c, "seed", "must be \"random\" or an integer in 0..2^53");
        s->set |= SD_PRESET_SEED;
    }
    if ((st = get_int(c, obj, "clip_skip", SD_CLIP_SKIP_MIN, SD_CLIP_SKIP_MAX, &s->clip_skip, &present)))
        return st;
    s->set |= present ? SD_PRESET_CLIP_SKIP : 0;
    if ((st = get_int(c, obj, "resolution", SD_RESOLUTION_MIN, SD_RESOLUTION_MAX, &s->resolution, &present)))
        return st;
    if (present && s->resolution % 8)
        return bad(c, "resolution", "must be a multiple of 8");
    s->set |= present ? SD_PRESET_RESOLUTION : 0;
    if ((st = get_int(c, obj, "padding", 0, SD_PADDING_MAX, &s->padding, &present)))
        return st;
    s->set |= present ? SD_PRESET_PADDING : 0;
    if ((st = get_float(c, obj, "feather", 0.0, SD_FEATHER_MAX, 0, &s->feather, &present)))
        return st;
    s->set |= present ? SD_PRESET_FEATHER : 0;
    if ((st = get_string(c, obj, "model", 0, &s->model)))
        return st;
    s->set |= s->model ? SD_PRESET_MODEL : 0;
    const cJSON *draft = cJSON_GetObjectItemCaseSensitive(obj, "draft_vae");
    if (draft) {
        if (!cJSON_IsBool(draft))
            return bad(c, "draft_vae", "must be true or false");
        s->draft_vae = cJSON_IsTrue(draft);
        s->set |= SD_PRESET_DRAFT_VAE;
    }
    if ((st = validate_loras(c, obj)))
        return st;
    s->set |= cJSON_GetObjectItemCaseSensitive(obj, "loras") ? SD_PRESET_LORAS : 0;
    if ((st = get_string(c, obj, "precision", 0, &str)))
        return st;
    if (str) {
        if (sd_precision_parse(str, &s->precision))
            return bad(c, "precision", "must be auto, fp32 or bf16");
        s->set |= SD_PRESET_PRECISION;
    }
    return validate_job_options(c, obj, s);
}

/* ---- one preset ---------------------------------------------------------- */

static sd_status adopt(cJSON *json, const char *source, sd_preset **out, sd_error *err)
{
    sd_preset *p = calloc(1, sizeof *p);
    char *src = strdup(source ? source : "");
    if (!p || !src) {
        free(p);
        free(src);
        cJSON_Delete(json);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory reading a preset");
    }
    p->json = json;
    p->source = src;
    ctx c = {p->source[0] ? p->source : "preset", err};
    sd_status st = validate(&c, json, &p->settings);
    if (st != SD_OK) {
        sd_preset_free(p);
        return st;
    }
    *out = p;
    return SD_OK;
}

sd_status sd_preset_parse(const char *json_text, const char *source, sd_preset **out,
                          sd_error *err)
{
    *out = NULL;
    const char *name = source && source[0] ? source : "preset";
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(json_text, &end, 1);
    if (!json) {
        /* Line number of the syntax error, counted up to where cJSON stopped (its
         * parse-end pointer, not cJSON_GetErrorPtr(): that one is a global). */
        const char *at = end;
        int line = 1;
        for (const char *q = json_text; at && q < at && *q; q++)
            line += *q == '\n';
        return sd_fail(err, SD_ERR_FORMAT, "%s: JSON syntax error near line %d", name, line);
    }
    return adopt(json, source, out, err);
}

sd_status sd_preset_load_file(const char *path, sd_preset **out, sd_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sd_fail(err, SD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(PRESET_MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, PRESET_MAX_FILE_BYTES + 1, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error || n > PRESET_MAX_FILE_BYTES) {
        free(buf);
        return sd_fail(err, read_error ? SD_ERR_IO : SD_ERR_FORMAT, "%s: %s", path,
                       read_error ? "read error" : "larger than 1 MiB: not a preset");
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        return sd_fail(err, SD_ERR_FORMAT, "%s: contains NUL bytes: not a preset", path);
    }
    sd_status st = sd_preset_parse(buf, path, out, err);
    free(buf);
    return st;
}

char *sd_preset_to_json(const sd_preset *p) { return cJSON_Print(p->json); }

sd_status sd_preset_save_file(const sd_preset *p, const char *path, sd_error *err)
{
    char *text = sd_preset_to_json(p);
    size_t len = strlen(path) + 8;
    char *tmp = malloc(len);
    if (!text || !tmp) {
        free(text);
        free(tmp);
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    sd_status st = SD_OK;
    if (!f)
        st = sd_fail(err, SD_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    else {
        int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            st = sd_fail(err, SD_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            remove(tmp);
        }
    }
    free(text);
    free(tmp);
    return st;
}

void sd_preset_free(sd_preset *p)
{
    if (!p)
        return;
    cJSON_Delete(p->json);
    free(p->source);
    free(p);
}

sd_status sd_preset_new(const char *name, const char *prompt_template,
                        const char *negative_prompt, sd_preset **out, sd_error *err)
{
    *out = NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "version", PRESET_FORMAT_VERSION) ||
        !cJSON_AddStringToObject(j, "name", name ? name : "") ||
        !cJSON_AddStringToObject(j, "prompt", prompt_template ? prompt_template : "") ||
        (negative_prompt && !cJSON_AddStringToObject(j, "negative_prompt", negative_prompt))) {
        cJSON_Delete(j);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory creating a preset");
    }
    return adopt(j, "", out, err);
}

static int replace_item(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 1 : (cJSON_Delete(item), 0);
    return cJSON_AddItemToObject(obj, key, item) ? 1 : (cJSON_Delete(item), 0);
}

/* A float setting as the shortest decimal that reads back as the same float, so a CFG
 * of 7.3f is saved as 7.3 and not as 7.3000001907348633. */
static cJSON *float_number(float f)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return cJSON_CreateNumber(d);
    }
    return cJSON_CreateNumber((double)f);
}

/* The edited copy j validated and swapped in; a rejected edit leaves p as it was. */
static sd_status swap_checked(sd_preset *p, cJSON *j, sd_error *err)
{
    sd_preset_settings checked;
    ctx c = {p->source[0] ? p->source : sd_preset_name(p), err};
    sd_status st = validate(&c, j, &checked);
    if (st != SD_OK) {
        cJSON_Delete(j);
        return st;
    }
    cJSON_Delete(p->json);
    p->json = j;
    p->settings = checked;
    return SD_OK;
}

sd_status sd_preset_set_settings(sd_preset *p, const sd_preset_settings *s, sd_error *err)
{
    /* Edit a copy, validate it, then swap: a rejected value leaves the preset as it was. */
    cJSON *j = cJSON_Duplicate(p->json, 1);
    int ok = j != NULL;
    unsigned set = s->set;
    if (ok && (set & SD_PRESET_SAMPLER))
        ok = replace_item(j, "sampler", cJSON_CreateString(sd_sampler_name(s->sampler)));
    if (ok && (set & SD_PRESET_SPACING))
        ok = replace_item(j, "timestep_spacing", cJSON_CreateString(sd_spacing_name(s->spacing)));
    if (ok && (set & SD_PRESET_PREDICTION))
        ok = replace_item(j, "prediction", cJSON_CreateString(sd_prediction_name(s->prediction)));
    if (ok && (set & SD_PRESET_STEPS))
        ok = replace_item(j, "steps", cJSON_CreateNumber(s->steps));
    if (ok && (set & SD_PRESET_CFG))
        ok = replace_item(j, "cfg_scale", float_number(s->cfg_scale));
    if (ok && (set & SD_PRESET_STRENGTH))
        ok = replace_item(j, "strength", cJSON_CreateNumber(s->strength));
    if (ok && (set & SD_PRESET_SEED))
        ok = replace_item(j, "seed", s->random_seed ? cJSON_CreateString("random")
                                                    : cJSON_CreateNumber((double)s->seed));
    if (ok && (set & SD_PRESET_CLIP_SKIP))
        ok = replace_item(j, "clip_skip", cJSON_CreateNumber(s->clip_skip));
    if (ok && (set & SD_PRESET_RESOLUTION))
        ok = replace_item(j, "resolution", cJSON_CreateNumber(s->resolution));
    if (ok && (set & SD_PRESET_PADDING))
        ok = replace_item(j, "padding", cJSON_CreateNumber(s->padding));
    if (ok && (set & SD_PRESET_FEATHER))
        ok = replace_item(j, "feather", float_number(s->feather));
    if (ok && (set & SD_PRESET_MODEL))
        ok = replace_item(j, "model", cJSON_CreateString(s->model ? s->model : ""));
    if (ok && (set & SD_PRESET_DRAFT_VAE))
        ok = replace_item(j, "draft_vae", cJSON_CreateBool(s->draft_vae != 0));
    if (ok && (set & SD_PRESET_PRECISION))
        ok = replace_item(j, "precision", cJSON_CreateString(sd_precision_name(s->precision)
                                                                 ? sd_precision_name(s->precision)
                                                                 : "?"));
    if (ok && (set & SD_PRESET_MASKED_CONTENT))
        ok = replace_item(j, "masked_content", cJSON_CreateString(
                                                   sd_masked_content_name(s->masked_content)
                                                       ? sd_masked_content_name(s->masked_content)
                                                       : "?"));
    if (ok && (set & SD_PRESET_RNG))
        ok = replace_item(j, "rng", cJSON_CreateString(sd_rng_name(s->rng) ? sd_rng_name(s->rng)
                                                                           : "?"));
    if (ok && (set & SD_PRESET_VAE_TILE))
        ok = replace_item(j, "vae_tile", s->vae_tile == SD_VAE_TILE_AUTO  ? cJSON_CreateString("auto")
                                         : s->vae_tile == SD_VAE_TILE_OFF ? cJSON_CreateString("off")
                                                                          : cJSON_CreateNumber(s->vae_tile));
    if (!ok) {
        cJSON_Delete(j);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory editing a preset");
    }
    return swap_checked(p, j, err);
}

sd_status sd_preset_set_description(sd_preset *p, const char *description, sd_error *err)
{
    if (!replace_item(p->json, "description", cJSON_CreateString(description ? description : "")))
        return sd_fail(err, SD_ERR_NOMEM, "out of memory editing a preset");
    return SD_OK;
}

const char *sd_preset_name(const sd_preset *p) { return json_string(p->json, "name"); }
const char *sd_preset_prompt_template(const sd_preset *p) { return json_string(p->json, "prompt"); }
const char *sd_preset_source(const sd_preset *p) { return p->source; }

const char *sd_preset_description(const sd_preset *p)
{
    const char *s = json_string(p->json, "description");
    return s ? s : "";
}

const char *sd_preset_negative_prompt(const sd_preset *p)
{
    const char *s = json_string(p->json, "negative_prompt");
    return s ? s : "";
}

void sd_preset_get_settings(const sd_preset *p, sd_preset_settings *s)
{
    *s = p->settings;
    /* The model string lives in the JSON, which set_settings may have replaced. */
    s->model = json_string(p->json, "model");
}

/* ---- prompts ------------------------------------------------------------- */

#define PLACEHOLDER "{prompt}"

char *sd_preset_expand(const char *tmpl, const char *subject)
{
    if (!tmpl)
        tmpl = "";
    if (!subject)
        subject = "";
    size_t plen = strlen(PLACEHOLDER), slen = strlen(subject), count = 0;
    for (const char *q = strstr(tmpl, PLACEHOLDER); q; q = strstr(q + plen, PLACEHOLDER))
        count++;
    size_t len = strlen(tmpl);
    if (count == 0) {
        /* No placeholder: the subject comes after the style, comma-separated. */
        int sep = slen && len;
        char *out = malloc(len + (sep ? 2 : 0) + slen + 1);
        if (!out)
            return NULL;
        snprintf(out, len + (sep ? 2 : 0) + slen + 1, "%s%s%s", tmpl, sep ? ", " : "", subject);
        return out;
    }
    char *out = malloc(len - count * plen + count * slen + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *r = tmpl;;) {
        const char *q = strstr(r, PLACEHOLDER);
        size_t n = q ? (size_t)(q - r) : strlen(r);
        memcpy(w, r, n);
        w += n;
        if (!q)
            break;
        memcpy(w, subject, slen);
        w += slen;
        r = q + plen;
    }
    *w = '\0';
    return out;
}

sd_status sd_preset_apply(const sd_preset *p, const char *subject, unsigned explicit_fields,
                          sd_job *job, char **owned_prompt, char **owned_negative,
                          sd_error *err)
{
    *owned_prompt = *owned_negative = NULL;
    const sd_preset_settings *s = &p->settings;
    unsigned take = s->set & ~explicit_fields;

    *owned_prompt = sd_preset_expand(sd_preset_prompt_template(p), subject);
    if (*owned_prompt && (take & SD_PRESET_LORAS))
        *owned_prompt = append_loras(p, *owned_prompt);
    if (!*owned_prompt)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory expanding preset %s", sd_preset_name(p));
    job->prompt = *owned_prompt;
    if (take & SD_PRESET_NEGATIVE) {
        *owned_negative = strdup(sd_preset_negative_prompt(p));
        if (!*owned_negative) {
            free(*owned_prompt);
            *owned_prompt = NULL;
            return sd_fail(err, SD_ERR_NOMEM, "out of memory");
        }
        job->negative_prompt = *owned_negative;
    }
    if (take & SD_PRESET_SAMPLER) job->sampler = s->sampler;
    if (take & SD_PRESET_SPACING) job->spacing = s->spacing;
    if (take & SD_PRESET_PREDICTION) job->prediction = s->prediction;
    if (take & SD_PRESET_STEPS) job->steps = s->steps;
    if (take & SD_PRESET_CFG) job->cfg_scale = s->cfg_scale;
    if ((take & SD_PRESET_STRENGTH) && job->mode != SD_MODE_TXT2IMG) job->strength = s->strength;
    if ((take & SD_PRESET_SEED) && !s->random_seed) job->seed = s->seed;
    if (take & SD_PRESET_CLIP_SKIP) job->clip_skip = s->clip_skip;
    if (take & SD_PRESET_DRAFT_VAE) job->draft_vae = s->draft_vae;
    if (take & SD_PRESET_MASKED_CONTENT) job->masked_content = s->masked_content;
    if (take & SD_PRESET_RNG) job->rng = s->rng;
    if (take & SD_PRESET_VAE_TILE) job->vae_tile = s->vae_tile;
    return SD_OK;
}

/* ---- lists --------------------------------------------------------------- */

struct sd_preset_list {
    sd_preset **items;
    int count, cap;
    char **errors;
    int n_errors, cap_errors;
};

static int push_error(sd_preset_list *l, const char *msg)
{
    if (l->n_errors == l->cap_errors) {
        int cap = l->cap_errors ? 2 * l->cap_errors : 8;
        char **e = realloc(l->errors, (size_t)cap * sizeof *e);
        if (!e)
            return -1;
        l->errors = e;
        l->cap_errors = cap;
    }
    if (!(l->errors[l->n_errors] = strdup(msg)))
        return -1;
    l->n_errors++;
    return 0;
}

/* Adds p, replacing a preset of the same name (later folders override earlier ones). */
static int push_preset(sd_preset_list *l, sd_preset *p)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(sd_preset_name(l->items[i]), sd_preset_name(p)) == 0) {
            sd_preset_free(l->items[i]);
            l->items[i] = p;
            return 0;
        }
    if (l->count == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        sd_preset **it = realloc(l->items, (size_t)cap * sizeof *it);
        if (!it)
            return -1;
        l->items = it;
        l->cap = cap;
    }
    l->items[l->count++] = p;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_preset(const void *a, const void *b)
{
    return strcasecmp(sd_preset_name(*(sd_preset *const *)a), sd_preset_name(*(sd_preset *const *)b));
}

static sd_status load_dir(sd_preset_list *l, const char *dir, sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return SD_OK;   /* a folder that does not exist (yet) holds no presets */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    sd_status st = SD_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                st = sd_fail(err, SD_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st == SD_OK)
        qsort(names, n, sizeof *names, cmp_name);   /* deterministic override order */
    for (size_t i = 0; i < n && st == SD_OK; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        sd_preset *p;
        sd_error perr = {0};
        if (sd_preset_load_file(path, &p, &perr) == SD_OK) {
            if (push_preset(l, p) != 0) {
                sd_preset_free(p);
                st = sd_fail(err, SD_ERR_NOMEM, "out of memory");
            }
        } else if (push_error(l, perr.message) != 0)
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory");
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

sd_status sd_preset_list_load(const char *const *dirs, int n_dirs, sd_preset_list **out,
                              sd_error *err)
{
    *out = NULL;
    sd_preset_list *l = calloc(1, sizeof *l);
    if (!l)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_dirs; i++) {
        if (!dirs[i])
            continue;
        sd_status st = load_dir(l, dirs[i], err);
        if (st != SD_OK) {
            sd_preset_list_free(l);
            return st;
        }
    }
    if (l->count > 1)
        qsort(l->items, (size_t)l->count, sizeof *l->items, cmp_preset);
    *out = l;
    return SD_OK;
}

void sd_preset_list_free(sd_preset_list *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->count; i++)
        sd_preset_free(l->items[i]);
    for (int i = 0; i < l->n_errors; i++)
        free(l->errors[i]);
    free(l->items);
    free(l->errors);
    free(l);
}

int sd_preset_list_count(const sd_preset_list *l) { return l->count; }
const sd_preset *sd_preset_list_at(const sd_preset_list *l, int i)
{
    return i >= 0 && i < l->count ? l->items[i] : NULL;
}

const sd_preset *sd_preset_list_find(const sd_preset_list *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(sd_preset_name(l->items[i]), name) == 0)
            return l->items[i];
    for (int i = 0; i < l->count; i++)   /* then case-insensitively, as a user types it */
        if (strcasecmp(sd_preset_name(l->items[i]), name) == 0)
            return l->items[i];
    return NULL;
}

int sd_preset_list_error_count(const sd_preset_list *l) { return l->n_errors; }
const char *sd_preset_list_error(const sd_preset_list *l, int i)
{
    return i >= 0 && i < l->n_errors ? l->errors[i] : NULL;
}

/* ---- LoRAs ------------------------------------------------------------- */

int sd_preset_lora_count(const sd_preset *p)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p->json, "loras");
    return cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
}

sd_lora sd_preset_lora_at(const sd_preset *p, int i)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p->json, "loras");
    const cJSON *item = i >= 0 && cJSON_IsArray(list) ? cJSON_GetArrayItem(list, i) : NULL;
    if (!item)
        return (sd_lora){ NULL, 0.0f };
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(item, "weight");
    return (sd_lora){ json_string(item, "name"), cJSON_IsNumber(w) ? (float)w->valuedouble : 1.0f };
}

sd_status sd_preset_set_loras(sd_preset *p, const sd_lora *loras, int n, sd_error *err)
{
    /* as sd_preset_set_settings: edit a copy, validate it, then swap */
    cJSON *j = cJSON_Duplicate(p->json, 1);
    cJSON *list = n > 0 ? cJSON_CreateArray() : NULL;
    int ok = j && (n == 0 || list);
    for (int i = 0; ok && i < n; i++) {
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(list, item) &&
             cJSON_AddStringToObject(item, "name", loras[i].path ? loras[i].path : "") &&
             cJSON_AddItemToObject(item, "weight", float_number(loras[i].weight));
        if (!item)
            break;
    }
    if (ok && n > 0)
        ok = replace_item(j, "loras", list);
    else if (ok)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "loras");
    else
        cJSON_Delete(list);
    if (!ok) {
        cJSON_Delete(j);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory editing a preset");
    }
    return swap_checked(p, j, err);
}
