/* make-checkpoint: writes a single-file SD checkpoint of the real structure with random
 * weights, to test loading at full size without shipping or downloading a model.
 *
 *   make-checkpoint --keys sd15-fullsize.keys.txt --dtype f16|f32|bf16 [--inpaint]
 *                   [--scale-widths K] [--seed N] --out FILE
 *   make-checkpoint --check FILE [--bind-all]
 *
 * The key file lists `name<TAB>dtype<TAB>[d0, d1, ...]` per tensor (as the golden
 * *.keys.txt). Weights are uniform with std 0.02, 1-D `.weight`s (the norms) 1 + that; the
 * LDM schedule buffers get their real values; position_ids count 0..n-1. Values depend
 * only on the seed and the tensor name.
 *
 * --inpaint widens the U-Net's conv_in to 9 input channels. --scale-widths K divides every
 * width (a dim that is a multiple of 64, the vocabulary excepted) by K: K = 2 gives a
 * quarter-size model that still has SD's GroupNorm and head layout.
 *
 * --check opens FILE with sd_weights_open, detects the model config and prints the family,
 * the widths and the time taken; --bind-all then converts every float tensor to fp32 and
 * prints the peak resident memory against the fp32 size. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nets/model_config.h"
#include "io/safetensors.h"
#include "io/weights.h"

#define MAX_NAME 256
#define CHUNK_VALUES (1 << 20)
#define WEIGHT_STD 0.02
#define VOCAB_SIZE 49408  /* CLIP's token count: a multiple of 64 that is not a width */
#define SCHEDULE_STEPS 1000
/* LDM's linear-in-sqrt beta schedule (v1-inference.yaml linear_start / linear_end) */
#define LINEAR_START 0.00085
#define LINEAR_END 0.012

typedef struct {
    char name[MAX_NAME];
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;
} entry;

typedef struct {
    const char *keys, *out, *check;
    st_dtype dtype;
    int inpaint, bind_all;
    int scale;
    uint64_t seed;
} options;

/* ---- deterministic random numbers ------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t hash_name(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* ---- the key list ---------------------------------------------------------- */

static int parse_dtype(const char *s, st_dtype *out)
{
    static const struct {
        const char *name;
        st_dtype d;
    } names[] = {{"F32", ST_F32}, {"F16", ST_F16}, {"BF16", ST_BF16}, {"I64", ST_I64},
                 {"f32", ST_F32}, {"f16", ST_F16}, {"bf16", ST_BF16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].d;
            return 1;
        }
    return 0;
}

static int is_float(st_dtype d)
{
    return d == ST_F32 || d == ST_F16 || d == ST_BF16;
}

/* One `name\tdtype\t[d0, d1]` line into e; 0 on a malformed line. */
static int parse_line(char *line, entry *e)
{
    char *name = strtok(line, "\t");
    char *dtype = strtok(NULL, "\t");
    char *shape = strtok(NULL, "\t\r\n");
    if (!name || !dtype || !shape || strlen(name) >= MAX_NAME || !parse_dtype(dtype, &e->dtype))
        return 0;
    snprintf(e->name, sizeof e->name, "%s", name);
    char *p = strchr(shape, '[');
    if (!p)
        return 0;
    p++;
    e->ndim = 0;
    e->numel = 1;
    while (*p && *p != ']') {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || e->ndim >= ST_MAX_DIMS)
            return 0;
        e->shape[e->ndim++] = v;
        e->numel *= v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return *p == ']';
}

static void apply_edits(entry *e, const options *o)
{
    if (is_float(e->dtype))
        e->dtype = o->dtype;
    if (o->inpaint && strcmp(e->name, "model.diffusion_model.input_blocks.0.0.weight") == 0)
        e->shape[1] = 9;  /* 4 latent + 4 masked-image latent + 1 mask */
    if (o->scale > 1)
        for (int d = 0; d < e->ndim; d++)
            if (e->shape[d] % 64 == 0 && e->shape[d] != VOCAB_SIZE)
                e->shape[d] /= o->scale;
    e->numel = 1;
    for (int d = 0; d < e->ndim; d++)
        e->numel *= e->shape[d];
}

static entry *read_keys(const options *o, size_t *count)
{
    FILE *fp = fopen(o->keys, "r");
    if (!fp) {
        fprintf(stderr, "make-checkpoint: cannot open %s: %s\n", o->keys, strerror(errno));
        return NULL;
    }
    size_t cap = 2048, n = 0;
    entry *es = malloc(cap * sizeof *es);
    char line[1024];
    int lineno = 0;
    while (es && fgets(line, sizeof line, fp)) {
        lineno++;
        if (line[0] == '\n' || line[0] == '#')
            continue;
        if (n == cap) {
            entry *grown = realloc(es, 2 * cap * sizeof *es);
            if (!grown) {
                free(es);
                es = NULL;
                break;
            }
            es = grown;
            cap *= 2;
        }
        if (!parse_line(line, &es[n])) {
            fprintf(stderr, "make-checkpoint: %s:%d: malformed line\n", o->keys, lineno);
            free(es);
            fclose(fp);
            return NULL;
        }
        apply_edits(&es[n], o);
        n++;
    }
    fclose(fp);
    if (!es)
        fprintf(stderr, "make-checkpoint: out of memory reading %s\n", o->keys);
    *count = n;
    return es;
}

/* ---- values -------------------------------------------------------------------- */

/* The LDM DDPM buffers (ldm/models/diffusion/ddpm.py register_schedule), in double. */
static int schedule_value(const char *name, int64_t i, double *out)
{
    double b = 0, acp = 1, acp_prev = 1;
    for (int64_t k = 0; k <= i; k++) {
        double s = sqrt(LINEAR_START) +
                   (sqrt(LINEAR_END) - sqrt(LINEAR_START)) * (double)k / (SCHEDULE_STEPS - 1);
        b = s * s;
        acp_prev = acp;
        acp *= 1.0 - b;
    }
    double post_var = b * (1.0 - acp_prev) / (1.0 - acp);
    if (!strcmp(name, "betas")) *out = b;
    else if (!strcmp(name, "alphas_cumprod")) *out = acp;
    else if (!strcmp(name, "alphas_cumprod_prev")) *out = acp_prev;
    else if (!strcmp(name, "sqrt_alphas_cumprod")) *out = sqrt(acp);
    else if (!strcmp(name, "sqrt_one_minus_alphas_cumprod")) *out = sqrt(1.0 - acp);
    else if (!strcmp(name, "log_one_minus_alphas_cumprod")) *out = log(1.0 - acp);
    else if (!strcmp(name, "sqrt_recip_alphas_cumprod")) *out = sqrt(1.0 / acp);
    else if (!strcmp(name, "sqrt_recipm1_alphas_cumprod")) *out = sqrt(1.0 / acp - 1.0);
    else if (!strcmp(name, "posterior_variance")) *out = post_var;
    else if (!strcmp(name, "posterior_log_variance_clipped")) *out = log(fmax(post_var, 1e-20));
    else if (!strcmp(name, "posterior_mean_coef1")) *out = b * sqrt(acp_prev) / (1.0 - acp);
    else if (!strcmp(name, "posterior_mean_coef2"))
        *out = (1.0 - acp_prev) * sqrt(1.0 - b) / (1.0 - acp);
    else return 0;
    return 1;
}

static int is_schedule(const entry *e)
{
    double v;
    return e->ndim == 1 && e->shape[0] == SCHEDULE_STEPS && strchr(e->name, '.') == NULL &&
           schedule_value(e->name, 0, &v);
}

/* Values [from, from + n) of float tensor e into v. */
static void fill_floats(const entry *e, int64_t from, int64_t n, uint64_t *rng, float *v)
{
    if (is_schedule(e)) {
        for (int64_t i = 0; i < n; i++) {
            double d = 0;
            schedule_value(e->name, from + i, &d);
            v[i] = (float)d;
        }
        return;
    }
    /* uniform on [-a, a] has std a / sqrt(3); two 24-bit uniforms per 64-bit draw */
    const float a = (float)(WEIGHT_STD * sqrt(3.0)), step = 2.0f * a / 16777216.0f;
    const size_t len = strlen(e->name);
    const int is_norm = e->ndim == 1 && len > 7 && strcmp(e->name + len - 7, ".weight") == 0;
    const float base = (is_norm ? 1.0f : 0.0f) - a;
    for (int64_t i = 0; i < n; i += 2) {
        uint64_t r = splitmix64(rng);
        v[i] = base + (float)(r >> 40) * step;
        if (i + 1 < n)
            v[i + 1] = base + (float)(r & 0xffffffu) * step;
    }
}

static int write_tensor(FILE *fp, const entry *e, uint64_t seed, void *buf, float *vals)
{
    uint64_t rng = hash_name(e->name, seed);
    size_t esize = st_dtype_size(e->dtype);
    for (int64_t from = 0; from < e->numel; from += CHUNK_VALUES) {
        int64_t n = e->numel - from < CHUNK_VALUES ? e->numel - from : CHUNK_VALUES;
        if (e->dtype == ST_I64) {
            int64_t *out = buf;
            /* position_ids [1, n] count up; other integer tensors are zeros */
            int counting = strstr(e->name, "position_ids") != NULL;
            for (int64_t i = 0; i < n; i++)
                out[i] = counting ? from + i : 0;
        } else {
            fill_floats(e, from, n, &rng, vals);
            if (e->dtype == ST_F32) {
                memcpy(buf, vals, (size_t)n * sizeof *vals);
            } else {
                uint16_t *out = buf;
                for (int64_t i = 0; i < n; i++)
                    out[i] = e->dtype == ST_F16 ? sd_f32_to_f16(vals[i])
                                                : sd_f32_to_bf16(vals[i]);
            }
        }
        /* the writer runs on little-endian hosts, like the format */
        if (fwrite(buf, esize, (size_t)n, fp) != (size_t)n)
            return 0;
    }
    return 1;
}

/* ---- header ---------------------------------------------------------------------- */

static char *make_header(entry *es, size_t n, const options *o, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    if (!meta || !cJSON_AddStringToObject(meta, "format", "pt") ||
        !cJSON_AddStringToObject(meta, "generator", "gimp-diffusion make-checkpoint") ||
        !cJSON_AddStringToObject(meta, "seed", seed)) {
        cJSON_Delete(root);
        return NULL;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        entry *e = &es[i];
        e->begin = offset;
        e->end = offset + (uint64_t)e->numel * st_dtype_size(e->dtype);
        offset = e->end;
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON *shape = t ? cJSON_AddArrayToObject(t, "shape") : NULL;
        cJSON *offs = t ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
        if (!offs || !cJSON_AddStringToObject(t, "dtype", st_dtype_name(e->dtype))) {
            cJSON_Delete(root);
            return NULL;
        }
        for (int d = 0; d < e->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)e->begin));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)e->end));
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return NULL;
    /* pad with spaces so the data area starts 8-byte aligned, as safetensors writes it */
    size_t raw = strlen(json), padded = (raw + 7) / 8 * 8;
    char *out = malloc(padded + 1);
    if (out) {
        memcpy(out, json, raw);
        memset(out + raw, ' ', padded - raw);
        out[padded] = '\0';
        *len = padded;
    }
    free(json);
    return out;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_checkpoint(const options *o)
{
    double t0 = now_s();
    size_t n = 0;
    entry *es = read_keys(o, &n);
    if (!es)
        return 1;
    size_t hlen = 0;
    char *header = make_header(es, n, o, &hlen);
    FILE *fp = header ? fopen(o->out, "wb") : NULL;
    void *buf = malloc(CHUNK_VALUES * sizeof(int64_t));
    float *vals = malloc(CHUNK_VALUES * sizeof(float));
    int ok = fp && buf && vals;
    if (!ok)
        fprintf(stderr, "make-checkpoint: cannot write %s: %s\n", o->out,
                header ? strerror(errno) : "header");
    if (ok)
        setvbuf(fp, NULL, _IOFBF, 8 << 20);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    ok = ok && fwrite(len, 1, 8, fp) == 8 && fwrite(header, 1, hlen, fp) == hlen;
    uint64_t bytes = 0, params = 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = write_tensor(fp, &es[i], o->seed, buf, vals);
        bytes += es[i].end - es[i].begin;
        params += (uint64_t)es[i].numel;
    }
    if (fp && fclose(fp) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "make-checkpoint: writing %s failed: %s\n", o->out, strerror(errno));
    else
        printf("wrote %s: %zu tensors, %.1f M values, %.2f GB, %.1f s\n", o->out, n,
               (double)params / 1e6, (double)(bytes + hlen + 8) / 1e9, now_s() - t0);
    free(vals);
    free(buf);
    free(header);
    free(es);
    return ok ? 0 : 1;
}

/* ---- the loader check -------------------------------------------------------------- */

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int check_checkpoint(const options *o)
{
    double t0 = now_s();
    sd_weights *w = NULL;
    sd_error err = {0};
    sd_model_config c;
    if (sd_weights_open(o->check, &w, &err) != SD_OK ||
        sd_model_config_detect(sd_weights_file(w), &c, &err) != SD_OK) {
        fprintf(stderr, "make-checkpoint: %s: %s\n", o->check, err.message);
        sd_weights_free(w);
        return 1;
    }
    double t1 = now_s();
    const sd_unet_config *u = &c.unet;
    printf("%s: family %s, %zu tensors, detected in %.3f s\n", o->check,
           sd_family_name(c.family), st_count(sd_weights_file(w)), t1 - t0);
    printf("  unet: in %d out %d, widths %d %d %d %d, attention %d %d %d %d, %d res blocks, "
           "%d heads, context %d, time %d, depth %d\n",
           u->in_channels, u->out_channels, u->channels[0], u->channels[1], u->channels[2],
           u->channels[3], u->attention[0], u->attention[1], u->attention[2], u->attention[3],
           u->layers_per_block, u->num_heads, u->context_dim, u->time_embed_dim,
           u->transformer_depth);
    printf("  vae: widths %d %d %d %d, %d res blocks, latent %d\n", c.vae.channels[0],
           c.vae.channels[1], c.vae.channels[2], c.vae.channels[3], c.vae.layers_per_block,
           c.vae.latent_channels);
    printf("  clip: hidden %d, %d layers, %d heads, mlp %d, vocab %d, positions %d\n",
           c.clip.hidden, c.clip.layers, c.clip.heads, c.clip.intermediate, c.clip.vocab_size,
           c.clip.max_positions);

    int status = 0;
    if (o->bind_all) {
        const st_file *f = sd_weights_file(w);
        size_t fp32_bytes = 0;
        for (size_t i = 0; i < st_count(f) && !status; i++) {
            const st_tensor *t = st_at(f, i);
            sd_tensor out;
            if (!is_float(t->dtype) || t->ndim > 4)
                continue;
            if (sd_weights_bind(w, &out, &err, t->ndim, NULL, "%s", t->name) != SD_OK) {
                fprintf(stderr, "make-checkpoint: %s\n", err.message);
                status = 1;
            }
            fp32_bytes += (size_t)t->numel * sizeof(float);
        }
        sd_weights_drop_file(w);
        long rss = peak_rss_kb();
        printf("  bound every float tensor in %.1f s: fp32 %.2f GB, peak RSS %.2f GB "
               "(%.2fx fp32)\n", now_s() - t1, (double)fp32_bytes / 1e9, (double)rss * 1024 / 1e9,
               (double)rss * 1024 / (double)fp32_bytes);
    }
    sd_weights_free(w);
    return status;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: make-checkpoint --keys FILE --dtype f16|f32|bf16 [--inpaint] "
            "[--scale-widths K] [--seed N] --out FILE\n"
            "       make-checkpoint --check FILE [--bind-all]\n");
    return 2;
}

int main(int argc, char **argv)
{
    options o = {.dtype = ST_F16, .scale = 1, .seed = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--inpaint")) {
            o.inpaint = 1;
        } else if (!strcmp(a, "--bind-all")) {
            o.bind_all = 1;
        } else if (v && !strcmp(a, "--keys")) {
            o.keys = v, i++;
        } else if (v && !strcmp(a, "--out")) {
            o.out = v, i++;
        } else if (v && !strcmp(a, "--check")) {
            o.check = v, i++;
        } else if (v && !strcmp(a, "--dtype")) {
            if (!parse_dtype(v, &o.dtype) || !is_float(o.dtype))
                return usage();
            i++;
        } else if (v && !strcmp(a, "--scale-widths")) {
            o.scale = atoi(v), i++;
            if (o.scale < 1)
                return usage();
        } else if (v && !strcmp(a, "--seed")) {
            o.seed = strtoull(v, NULL, 10), i++;
        } else {
            return usage();
        }
    }
    if (o.check)
        return check_checkpoint(&o);
    if (!o.keys || !o.out)
        return usage();
    return write_checkpoint(&o);
}
