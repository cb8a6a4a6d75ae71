/* The LoRA reader: safetensors (io/safetensors.c validates the container) → modules of
 * down/up/alpha, the format and family checked by name, every value finite. */
#include "nets/lora_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

enum { ROLE_DOWN, ROLE_UP, ROLE_ALPHA };

/* Tensor-name suffixes of the formats we run. */
static const struct {
    const char *suffix;
    int role;
} roles[] = {
    {".lora_down.weight", ROLE_DOWN}, {".lora_up.weight", ROLE_UP}, {".alpha", ROLE_ALPHA},
    {".lora_A.weight", ROLE_DOWN},    {".lora_B.weight", ROLE_UP},
};

/* Name fragments of formats we do not run, and what they are. */
static const struct {
    const char *fragment;
    const char *what;
} refused_formats[] = {
    {".hada_", "LoHa (LyCORIS Hadamard-product) weights"},
    {".lokr_", "LoKr (LyCORIS Kronecker-product) weights"},
    {".lora_mid.", "LoCon with a Tucker decomposition (lora_mid)"},
    {".diff", "full weight differences (LyCORIS 'full')"},
    {".dora_scale", "DoRA weights"},
    {".lora_magnitude_vector", "DoRA weights"},
    {".oft_", "OFT / BOFT weights"},
    {".on_input", "IA3 weights"},
    {".a1.weight", "GLoRA weights"},
    {"_lora.down.", "diffusers' old attention-processor LoRA format"},
    {"_lora.up.", "diffusers' old attention-processor LoRA format"},
    {".lora.down.", "diffusers' old attention-processor LoRA format"},
    {".lora.up.", "diffusers' old attention-processor LoRA format"},
    {".lora_linear_layer.", "diffusers' old attention-processor LoRA format"},
};

/* Key prefixes of LoRAs made for other model families. */
static const struct {
    const char *prefix;
    const char *family;
} other_families[] = {
    {"lora_te1_", "SDXL (two text encoders: lora_te1_/lora_te2_)"},
    {"lora_te2_", "SDXL (two text encoders: lora_te1_/lora_te2_)"},
    {"text_encoder_2.", "SDXL (two text encoders: text_encoder_2.)"},
    {"lora_unet_double_blocks_", "Flux"},
    {"lora_unet_single_blocks_", "Flux"},
    {"lora_transformer_", "a DiT model (Flux, SD3)"},
    {"transformer.", "a DiT model (Flux, SD3)"},
    {"lora_prior_unet_", "Stable Cascade"},
};

/* Training metadata that names another family (kohya's ss_*, the modelspec). */
static const char *metadata_family(const st_file *f)
{
    const char *v = st_metadata(f, "ss_base_model_version");
    if (v && strncmp(v, "sdxl", 4) == 0)
        return "SDXL (ss_base_model_version)";
    v = st_metadata(f, "modelspec.architecture");
    if (v && (strstr(v, "stable-diffusion-xl") ||
              strstr(v, "stable-diffusion-v3") || strstr(v, "flux")))
        return v;
    return NULL;
}

typedef struct {
    const st_tensor *t;
    size_t module_len;   /* the name without its role suffix */
    int role;
} part;

static int cmp_part(const void *a, const void *b)
{
    const part *x = a, *y = b;
    size_t n = x->module_len < y->module_len ? x->module_len : y->module_len;
    int c = strncmp(x->t->name, y->t->name, n);
    if (c)
        return c;
    if (x->module_len != y->module_len)
        return x->module_len < y->module_len ? -1 : 1;
    return x->role - y->role;
}

static int starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The role of tensor name s (-1: not a LoRA tensor we know), its module length. */
static int classify(const char *s, size_t *module_len)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        size_t k = strlen(roles[i].suffix);
        if (n > k && strcmp(s + n - k, roles[i].suffix) == 0) {
            *module_len = n - k;
            return roles[i].role;
        }
    }
    return -1;
}

static sd_status check_name(const char *path, const char *name, sd_error *err)
{
    for (size_t i = 0; i < sizeof other_families / sizeof other_families[0]; i++)
        if (starts(name, other_families[i].prefix))
            return sd_fail(err, SD_ERR_UNSUPPORTED,
                           "%s: a LoRA for %s, not for SD 1.x or 2.x (tensor %s)", path,
                           other_families[i].family, name);
    for (size_t i = 0; i < sizeof refused_formats / sizeof refused_formats[0]; i++)
        if (strstr(name, refused_formats[i].fragment))
            return sd_fail(err, SD_ERR_UNSUPPORTED,
                           "%s: %s are not supported, only LoRA / LoCon (tensor %s)", path,
                           refused_formats[i].what, name);
    if (!starts(name, "lora_unet_") && !starts(name, "lora_te_") && !starts(name, "unet.") &&
        !starts(name, "text_encoder."))
        return sd_fail(err, SD_ERR_UNSUPPORTED,
                       "%s: tensor %s is neither kohya (lora_unet_, lora_te_) nor diffusers/PEFT "
                       "(unet., text_encoder.): not a LoRA for SD 1.x or 2.x", path, name);
    return SD_OK;
}

/* Values of t as fp32, malloc'd, every one finite. */
static sd_status read_values(const char *path, const st_tensor *t, float **out, sd_error *err)
{
    *out = NULL;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64)
        return sd_fail(err, SD_ERR_FORMAT, "%s: tensor %s: dtype %s, expected a float type",
                       path, t->name, st_dtype_name(t->dtype));
    float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
    if (!v)
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory reading %s", path, t->name);
    sd_status st = st_to_f32(t, v, err);
    if (st != SD_OK) {
        free(v);
        return sd_fail_context(err, st, "%s", path);
    }
    for (int64_t i = 0; i < t->numel; i++)
        if (!isfinite(v[i])) {
            const char *what = isnan(v[i]) ? "NaN" : "infinite";
            free(v);
            return sd_fail(err, SD_ERR_NUMERIC, "%s: tensor %s holds %s values", path, t->name,
                           what);
        }
    *out = v;
    return SD_OK;
}

/* down [r, in(, kh, kw)] and up [out, r(, 1, 1)] of one module. */
static sd_status check_shapes(const char *path, lora_module *m, const st_tensor *down,
                              const st_tensor *up, sd_error *err)
{
    if ((down->ndim != 2 && down->ndim != 4) || up->ndim != down->ndim)
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s: down has %d dims and up %d (expected 2 or 4 "
                       "each)", path, m->name, down->ndim, up->ndim);
    if (down->shape[0] < 1 || up->shape[1] != down->shape[0] || down->numel == 0 ||
        up->numel == 0 || (up->ndim == 4 && (up->shape[2] != 1 || up->shape[3] != 1)))
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s: down [%lld, %lld, …] and up [%lld, %lld, …] "
                       "do not make a low-rank pair", path, m->name, (long long)down->shape[0],
                       (long long)down->shape[1], (long long)up->shape[0], (long long)up->shape[1]);
    if (down->shape[0] > INT32_MAX)
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s: rank too large", path, m->name);
    m->rank = (int)down->shape[0];
    m->down_ndim = down->ndim;
    m->up_ndim = up->ndim;
    for (int i = 0; i < 4; i++) {
        m->down_shape[i] = i < down->ndim ? down->shape[i] : 1;
        m->up_shape[i] = i < up->ndim ? up->shape[i] : 1;
    }
    return SD_OK;
}

/* One module from its sorted parts [p, p + n). */
static sd_status read_module(const char *path, const part *p, int n, lora_module *m,
                             sd_error *err)
{
    const st_tensor *t[3] = {NULL, NULL, NULL};
    m->name = strndup(p[0].t->name, p[0].module_len);
    if (!m->name)
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++) {
        if (t[p[i].role])
            return sd_fail(err, SD_ERR_FORMAT, "%s: %s: two %s tensors (kohya and PEFT names "
                           "mixed?)", path, m->name, p[i].role == ROLE_ALPHA ? "alpha" :
                           p[i].role == ROLE_DOWN ? "down" : "up");
        t[p[i].role] = p[i].t;
    }
    if (!t[ROLE_DOWN] || !t[ROLE_UP])
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s has no %s tensor", path, m->name,
                       t[ROLE_DOWN] ? "up (lora_up / lora_B)" : "down (lora_down / lora_A)");
    m->text_encoder = starts(m->name, "lora_te_") || starts(m->name, "text_encoder.");
    sd_status st = check_shapes(path, m, t[ROLE_DOWN], t[ROLE_UP], err);
    if (st == SD_OK)
        st = read_values(path, t[ROLE_DOWN], &m->down, err);
    if (st == SD_OK)
        st = read_values(path, t[ROLE_UP], &m->up, err);
    m->scale = 1.0;   /* alpha = rank */
    if (st == SD_OK && t[ROLE_ALPHA]) {
        float *alpha = NULL;
        if (t[ROLE_ALPHA]->numel != 1)
            return sd_fail(err, SD_ERR_FORMAT, "%s: %s.alpha has %lld values, expected 1", path,
                           m->name, (long long)t[ROLE_ALPHA]->numel);
        if ((st = read_values(path, t[ROLE_ALPHA], &alpha, err)) == SD_OK)
            m->scale = (double)alpha[0] / m->rank;
        free(alpha);
    }
    return st;
}

/* ---- PEFT: the LoraConfig diffusers writes into the header ---- */

/* PEFT's get_pattern_key: a pattern that is the module path or a suffix of it after '.'. */
static const cJSON *pattern_value(const cJSON *patterns, const char *module)
{
    const cJSON *p;
    size_t n = strlen(module);
    cJSON_ArrayForEach(p, patterns)
    {
        size_t k = strlen(p->string);
        if (k <= n && strcmp(module + n - k, p->string) == 0 &&
            (k == n || module[n - k - 1] == '.'))
            return p;
    }
    return NULL;
}

static const cJSON *config_item(const cJSON *cfg, const char *prefix, const char *key)
{
    char name[96];
    snprintf(name, sizeof name, "%s%s", prefix, key);
    return cJSON_GetObjectItemCaseSensitive(cfg, name);
}

/* scale = lora_alpha / r (rsLoRA: / √r) with the module's alpha_pattern / rank_pattern. */
static sd_status peft_scale(const char *path, const cJSON *cfg, lora_module *m, sd_error *err)
{
    const char *prefix = m->text_encoder ? "text_encoder." : "unet.";
    const char *module = m->name + strlen(prefix);
    const cJSON *r = config_item(cfg, prefix, "r"), *alpha = config_item(cfg, prefix, "lora_alpha");
    if (!cJSON_IsNumber(r) || !cJSON_IsNumber(alpha))
        return SD_OK;   /* no config for this network: alpha = r */
    if (cJSON_IsTrue(config_item(cfg, prefix, "use_dora")))
        return sd_fail(err, SD_ERR_UNSUPPORTED, "%s: DoRA weights are not supported, only LoRA",
                       path);
    const cJSON *rp = pattern_value(config_item(cfg, prefix, "rank_pattern"), module);
    const cJSON *ap = pattern_value(config_item(cfg, prefix, "alpha_pattern"), module);
    double rank = cJSON_IsNumber(rp) ? rp->valuedouble : r->valuedouble;
    double a = cJSON_IsNumber(ap) ? ap->valuedouble : alpha->valuedouble;
    if (rank != m->rank)
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s: rank %d, but its LoraConfig says %g", path,
                       m->name, m->rank, rank);
    m->scale = a / (cJSON_IsTrue(config_item(cfg, prefix, "use_rslora")) ? sqrt(rank) : rank);
    if (!isfinite(m->scale))
        return sd_fail(err, SD_ERR_NUMERIC, "%s: %s: LoraConfig alpha %g is not finite", path,
                       m->name, a);
    return SD_OK;
}

static sd_status apply_peft_config(const st_file *f, sd_lora_file *l, sd_error *err)
{
    const char *text = st_metadata(f, "lora_adapter_metadata");
    if (!text)
        return SD_OK;
    cJSON *cfg = cJSON_Parse(text);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return sd_fail(err, SD_ERR_FORMAT, "%s: __metadata__.lora_adapter_metadata is not a "
                       "JSON object", l->path);
    }
    sd_status st = SD_OK;
    for (int i = 0; i < l->count && st == SD_OK; i++)
        if (starts(l->modules[i].name, "unet.") || starts(l->modules[i].name, "text_encoder."))
            st = peft_scale(l->path, cfg, &l->modules[i], err);
    cJSON_Delete(cfg);
    return st;
}

/* ---- the file ---- */

static sd_status read_parts(st_file *f, sd_lora_file *l, sd_error *err)
{
    size_t n = st_count(f);
    if (n == 0)
        return sd_fail(err, SD_ERR_FORMAT, "%s: holds no tensors", l->path);
    part *parts = malloc(n * sizeof *parts);
    if (!parts)
        return sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", l->path);
    sd_status st = SD_OK;
    for (size_t i = 0; i < n && st == SD_OK; i++) {
        parts[i].t = st_at(f, i);
        if ((st = check_name(l->path, parts[i].t->name, err)) != SD_OK)
            break;
        parts[i].role = classify(parts[i].t->name, &parts[i].module_len);
        if (parts[i].role < 0)
            st = sd_fail(err, SD_ERR_UNSUPPORTED, "%s: tensor %s is not part of a LoRA we run "
                         "(lora_down/lora_up/alpha or lora_A/lora_B)", l->path, parts[i].t->name);
    }
    if (st == SD_OK) {
        qsort(parts, n, sizeof *parts, cmp_part);
        l->modules = calloc(n, sizeof *l->modules);
        if (!l->modules)
            st = sd_fail(err, SD_ERR_NOMEM, "%s: out of memory", l->path);
    }
    for (size_t i = 0; i < n && st == SD_OK;) {
        size_t j = i + 1;
        while (j < n && parts[j].module_len == parts[i].module_len &&
               strncmp(parts[j].t->name, parts[i].t->name, parts[i].module_len) == 0)
            j++;
        st = read_module(l->path, parts + i, (int)(j - i), &l->modules[l->count++], err);
        i = j;
    }
    free(parts);
    return st;
}

sd_status sd_lora_read(const char *path, sd_lora_file **out, sd_error *err)
{
    *out = NULL;
    if (!path || !path[0])
        return sd_fail(err, SD_ERR_INVALID_ARG, "no LoRA file given");
    sd_lora_file *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        free(l);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory opening %s", path);
    }
    st_file *f = NULL;
    sd_status st = st_open(path, &f, err);
    if (st != SD_OK && err && !strstr(err->message, path))
        sd_fail_context(err, st, "%s", path);
    const char *family = st == SD_OK ? metadata_family(f) : NULL;
    if (family)
        st = sd_fail(err, SD_ERR_UNSUPPORTED, "%s: a LoRA for %s, not for SD 1.x or 2.x", path,
                     family);
    if (st == SD_OK)
        st = read_parts(f, l, err);
    if (st == SD_OK)
        st = apply_peft_config(f, l, err);
    st_close(f);
    if (st != SD_OK) {
        sd_lora_free(l);
        return st;
    }
    *out = l;
    return SD_OK;
}

void sd_lora_free(sd_lora_file *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->count; i++) {
        free(l->modules[i].name);
        free(l->modules[i].down);
        free(l->modules[i].up);
        free(l->modules[i].target);
    }
    free(l->modules);
    free(l->path);
    free(l);
}

int sd_lora_modules(const sd_lora_file *l, int *text_encoder)
{
    int te = 0;
    for (int i = 0; i < l->count; i++)
        te += l->modules[i].text_encoder;
    if (text_encoder)
        *text_encoder = te;
    return l->count;
}
