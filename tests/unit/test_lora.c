/* LoRA files: key mapping, scales, the merge and its undo.
 *
 * - Every module of ../shared/golden-lora/lora_targets.tsv (written by the fixture generator
 *   from diffusers' own module tree and its LDM converter) maps, by its kohya name and by its
 *   PEFT name, onto the checkpoint weight the table gives; so does the LDM-named kohya form.
 * - kohya alpha / rank, PEFT LoraConfig (alpha_pattern), PEFT without metadata: the scales
 *   the README gives (0.5 linear, 0.25 3×3 for LoRA A; 1 baked).
 * - The merge of one module equals W + weight·alpha/r·up@down computed here in double; a
 *   second LoRA adds to the same copy; detach gives the checkpoint's values back, bit for bit,
 *   and the mapping is never written (the checkpoint file is unchanged). The merged copies'
 *   pages are handed back by sd_weights_release (spill memory) and read back unchanged.
 * argv[1]: the shared folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/spill.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "core/arena.h"
#include "nets/clip.h"
#include "nets/keys.h"
#include "nets/lora.h"
#include "nets/lora_internal.h"
#include "nets/model_config.h"
#include "text/tokenizer.h"

static char shared[2048];

static void path_of(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", shared, rel);
}

static void test_targets(const sd_weights *w, const sd_model_config *cfg)
{
    char path[4096], line[2048];
    path_of(path, sizeof path, "golden-lora/lora_targets.tsv");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    if (!f)
        return;
    int rows = 0, kohya_ok = 0, peft_ok = 0, ldm_ok = 0;
    while (fgets(line, sizeof line, f)) {
        char *cols[5] = {0}, *save = NULL;
        int n = 0;
        for (char *tok = strtok_r(line, "\t\n", &save); tok && n < 5; tok = strtok_r(NULL, "\t\n", &save))
            cols[n++] = tok;
        if (n < 4 || strcmp(cols[0], "lora") == 0)
            continue;
        rows++;
        char key[512], ldm[512];
        kohya_ok += sd_lora_target(w, cfg, cols[1], key, sizeof key) == 0 && strcmp(key, cols[3]) == 0;
        peft_ok += sd_lora_target(w, cfg, cols[2], key, sizeof key) == 0 && strcmp(key, cols[3]) == 0;
        /* the LDM-named kohya form: lora_unet_ / lora_te_ + the checkpoint path, '.' → '_' */
        const char *unet = "model.diffusion_model.", *te = "cond_stage_model.transformer.";
        const char *rest = strncmp(cols[3], unet, strlen(unet)) == 0 ? cols[3] + strlen(unet)
                                                                       : cols[3] + strlen(te);
        snprintf(ldm, sizeof ldm, "%s%.*s", rest == cols[3] + strlen(unet) ? "lora_unet_" : "lora_te_",
                 (int)(strlen(rest) - strlen(".weight")), rest);
        for (char *p = ldm; *p; p++)
            if (*p == '.')
                *p = '_';
        ldm_ok += sd_lora_target(w, cfg, ldm, key, sizeof key) == 0 && strcmp(key, cols[3]) == 0;
    }
    fclose(f);
    CHECK(rows > 400, "lora_targets.tsv has its modules (%d)", rows);
    CHECK(kohya_ok == rows, "kohya names → checkpoint keys: %d of %d", kohya_ok, rows);
    CHECK(peft_ok == rows, "PEFT names → checkpoint keys: %d of %d", peft_ok, rows);
    CHECK(ldm_ok == rows, "LDM-named kohya keys → checkpoint keys: %d of %d", ldm_ok, rows);
    char key[512];
    CHECK(sd_lora_target(w, cfg, "lora_unet_down_blocks_9_resnets_0_conv1", key, sizeof key) != 0,
          "a block the model does not have maps nowhere");
}

static const lora_module *module_named(const sd_lora_file *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->modules[i].name, name) == 0)
            return &l->modules[i];
    return NULL;
}

static void test_scales(void)
{
    static const struct {
        const char *file, *linear, *conv;
        double linear_scale, conv_scale;
    } cases[] = {
        {"lora_a_kohya.safetensors", "lora_unet_down_blocks_0_attentions_0_proj_in",
         "lora_unet_down_blocks_0_resnets_0_conv1", 0.5, 0.25},
        {"lora_a_peft.safetensors", "unet.down_blocks.0.attentions.0.proj_in",
         "unet.down_blocks.0.resnets.0.conv1", 0.5, 0.25},
        {"lora_a_peft_baked.safetensors", "unet.down_blocks.0.attentions.0.proj_in",
         "unet.down_blocks.0.resnets.0.conv1", 1.0, 1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[4096], rel[256];
        snprintf(rel, sizeof rel, "golden-lora/%s", cases[i].file);
        path_of(path, sizeof path, rel);
        sd_lora_file *l = NULL;
        sd_error err = {0};
        sd_status st = sd_lora_read(path, &l, &err);
        CHECK(st == SD_OK, "read %s: %s", cases[i].file, err.message);
        if (st != SD_OK)
            continue;
        int te = 0, n = sd_lora_modules(l, &te);
        const lora_module *lin = module_named(l, cases[i].linear), *conv = module_named(l, cases[i].conv);
        CHECK(n == 296 && te == 18, "%s: 296 modules, 18 on the text encoder (%d, %d)",
              cases[i].file, n, te);
        CHECK(lin && conv && lin->scale == cases[i].linear_scale && conv->scale == cases[i].conv_scale &&
                  conv->down_ndim == 4 && conv->down_shape[2] == 3,
              "%s: scale %g (1x1) and %g (3x3 LoCon)", cases[i].file, lin ? lin->scale : -1.0,
              conv ? conv->scale : -1.0);
        sd_lora_free(l);
    }
}

/* W'[o, k] = W[o, k] + s · Σ_r up[o, r] · down[r, k], in double. */
/* The process's resident set (/proc/self/statm), in bytes; 0 when unknown. */
static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static double merge_error(const float *w0, const float *w1, const float *up, const float *down,
                          int out, int rank, int k, double s)
{
    double worst = 0.0;
    for (int o = 0; o < out; o++)
        for (int j = 0; j < k; j++) {
            double d = 0.0;
            for (int r = 0; r < rank; r++)
                d += (double)up[o * rank + r] * down[r * k + j];
            worst = fmax(worst, fabs((double)w1[o * k + j] - ((double)w0[o * k + j] + s * d)));
        }
    return worst;
}

/* Reads every byte of a patched copy (faults its pages in); *user sums them. */
static void touch_patch(void *user, const sd_tensor *t)
{
    unsigned *sum = user;
    const unsigned char *b = t->data ? (const void *)t->data : (const void *)t->packed;
    const size_t n = (size_t)t->numel * (t->data ? sizeof(float) : sizeof(uint16_t));
    for (size_t i = 0; b && i < n; i++)
        *sum += b[i];
}

/* The merged copies are spill memory, handed back after each merge and with the
 * checkpoint's pages after a phase (sd_model_release → sd_weights_release): once read again
 * (a phase faults them in) the resident set shrinks by them (where /var/tmp takes an
 * unlinked file), and `copy` (copy_bytes, one merged copy) reads back unchanged. */
static void check_release(sd_weights *w, const void *copy, size_t copy_bytes, size_t patched,
                          const char *what)
{
    sd_spill probe;
    const int file_backed = sd_spill_map(&probe, 1) == 0 && probe.file_backed;
    sd_spill_unmap(&probe);
    void *values = copy ? malloc(copy_bytes) : NULL;
    if (!values) {
        CHECK(0, "%s: no merged copy to release", what);
        return;
    }
    memcpy(values, copy, copy_bytes);
    unsigned sum = 0;
    sd_weights_each_patch(w, touch_patch, &sum);
    const long before = resident_bytes();
    const size_t released = sd_weights_release(w, "");
    const long after = resident_bytes();
    if (file_backed)
        CHECK(released >= patched && before - after >= (long)patched / 2,
              "%s: sd_weights_release hands back the merged copies' pages (%zu of %zu bytes; "
              "resident %ld -> %ld kB, sum %u)", what, released, patched, before >> 10,
              after >> 10, sum);
    else
        printf("note: no O_TMPFILE in %s: merged copies stay resident (not checked)\n",
               SD_SPILL_DIR);
    CHECK(memcmp(copy, values, copy_bytes) == 0, "%s: a released merged copy reads back the "
          "same values", what);
    free(values);
}

static void test_merge(sd_weights *w, const sd_model_config *cfg)
{
    static const char *target = "model.diffusion_model.input_blocks.1.0.in_layers.2.weight";
    static const char *module = "lora_unet_down_blocks_0_resnets_0_conv1";
    char pa[4096], pb[4096];
    path_of(pa, sizeof pa, "golden-lora/lora_a_kohya.safetensors");
    path_of(pb, sizeof pb, "golden-lora/lora_b_kohya.safetensors");
    sd_lora_file *a = NULL, *b = NULL;
    sd_error err = {0};
    sd_status st = sd_lora_read(pa, &a, &err);
    if (st == SD_OK)
        st = sd_lora_map(a, w, cfg, &err);
    if (st == SD_OK)
        st = sd_lora_read(pb, &b, &err);
    if (st == SD_OK)
        st = sd_lora_map(b, w, cfg, &err);
    CHECK(st == SD_OK, "read and map LoRA A and B: %s", err.message);
    sd_tensor base;
    if (st != SD_OK || sd_weights_bind(w, &base, &err, 4, NULL, "%s", target) != SD_OK) {
        sd_lora_free(a);
        sd_lora_free(b);
        return;
    }
    const size_t n = (size_t)base.numel;
    float *w0 = malloc(n * sizeof *w0);
    memcpy(w0, base.data, n * sizeof *w0);
    const lora_module *m = module_named(a, module);
    CHECK(sd_lora_apply(a, w, 0.7f, &err) == SD_OK, "apply A at 0.7: %s", err.message);
    int ndim;
    int64_t shape[4];
    float *w1 = sd_weights_patch(w, target, &ndim, shape, &err);
    const int k = (int)(shape[1] * shape[2] * shape[3]);
    double e = m && w1 ? merge_error(w0, w1, m->up, m->down, (int)shape[0], m->rank, k,
                                     0.7 * m->scale) : INFINITY;
    CHECK(e < 1e-6, "3x3 LoCon merge = W + 0.7·alpha/r·up@down (max err %.3g)", e);
    CHECK(memcmp(base.data, w0, n * sizeof *w0) == 0, "the checkpoint's own values are untouched");
    size_t bytes = 0;
    CHECK(sd_weights_patched(w, &bytes) == 296 && bytes > 0,
          "one writable copy per touched weight (%zu, %zu bytes)", sd_weights_patched(w, NULL), bytes);

    check_release(w, w1, n * sizeof *w1, bytes, "fp32 checkpoint");

    /* B touches attn1/attn2 q/k/v/out: the copy of attn1.to_q gets both deltas */
    static const char *q = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight";
    float *qa = sd_weights_patch(w, q, &ndim, shape, &err);
    float *q_after_a = qa ? malloc((size_t)(shape[0] * shape[1]) * sizeof *q_after_a) : NULL;
    if (q_after_a)
        memcpy(q_after_a, qa, (size_t)(shape[0] * shape[1]) * sizeof *q_after_a);
    CHECK(sd_lora_apply(b, w, 0.5f, &err) == SD_OK, "apply B at 0.5 on top: %s", err.message);
    const lora_module *mb = module_named(b, "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
    float *qab = sd_weights_patch(w, q, &ndim, shape, &err);
    e = mb && q_after_a && qab ? merge_error(q_after_a, qab, mb->up, mb->down, (int)shape[0],
                                             mb->rank, (int)shape[1], 0.5 * mb->scale) : INFINITY;
    CHECK(e < 1e-6, "two LoRAs add up in the same copy (max err %.3g)", e);
    free(q_after_a);

    sd_lora_detach(w);
    CHECK(sd_weights_patched(w, NULL) == 0, "detach frees every copy");
    sd_tensor again;
    CHECK(sd_weights_bind(w, &again, &err, 4, NULL, "%s", target) == SD_OK &&
              memcmp(again.data, w0, n * sizeof *w0) == 0,
          "after detach the weight is the checkpoint's again, bit for bit");
    free(w0);
    sd_lora_free(a);
    sd_lora_free(b);
}

struct find {
    const char *name;
    sd_tensor t;
    int found;
};

static void on_patch(void *user, const sd_tensor *t)
{
    struct find *f = user;
    if (strcmp(t->name, f->name) == 0) {
        f->t = *t;
        f->found = 1;
    }
}

/* On a fp16 checkpoint the merged copy is sealed back to fp16: round-to-nearest-even of
 * W + w·alpha/r·up@down (a value on a rounding boundary may land one fp16 step away, as the
 * sum is fp32), the size of the checkpoint's tensor. */
static void test_seal_fp16(void)
{
    static const char *target = "model.diffusion_model.input_blocks.1.0.in_layers.2.weight";
    static const char *module = "lora_unet_down_blocks_0_resnets_0_conv1";
    char ck[4096], lp[4096];
    path_of(ck, sizeof ck, "golden/tiny-sd1-fp16.safetensors");
    path_of(lp, sizeof lp, "golden-lora/lora_a_kohya.safetensors");
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_lora_file *l = NULL;
    sd_error err = {0};
    sd_tensor base;
    if (sd_weights_open(ck, &w, &err) != SD_OK ||
        sd_model_config_detect(sd_weights_file(w), &cfg, &err) != SD_OK ||
        sd_weights_bind_packed(w, &base, &err, 4, NULL, "%s", target) != SD_OK || !base.packed ||
        sd_lora_read(lp, &l, &err) != SD_OK || sd_lora_map(l, w, &cfg, &err) != SD_OK ||
        sd_lora_apply(l, w, 1.0f, &err) != SD_OK) {
        CHECK(0, "fp16 twin + LoRA A: %s", err.message);
        sd_lora_free(l);
        sd_weights_free(w);
        return;
    }
    size_t bytes = 0;
    sd_weights_patched(w, &bytes);
    CHECK(bytes == 0 || bytes % 2 == 0, "sealed copies are 16-bit");
    const sd_tensor *sealed = NULL;
    struct find f = {target, {0}, 0};
    sd_weights_each_patch(w, on_patch, &f);
    sealed = f.found ? &f.t : NULL;
    const lora_module *m = module_named(l, module);
    int exact = 0, near = 0;
    const int out = (int)base.shape[0], k = (int)(base.numel / base.shape[0]);
    for (int o = 0; sealed && sealed->packed && m && o < out; o++)
        for (int j = 0; j < k; j++) {
            double d = 0.0;
            for (int r = 0; r < m->rank; r++)
                d += (double)m->up[o * m->rank + r] * m->down[r * k + j];
            double want = sd_f16_to_f32(base.packed[o * k + j]) + m->scale * d;
            uint16_t got = sealed->packed[o * k + j], ref = sd_f32_to_f16((float)want);
            exact += got == ref;
            near += abs((int)got - (int)ref) <= 1;
        }
    CHECK(sealed && sealed->packed && near == out * k && exact >= out * k * 99 / 100,
          "fp16 checkpoint: merged weight sealed to fp16 = round(W + delta) (%d of %d exact, "
          "%d within one step)", exact, out * k, near);
    check_release(w, sealed ? sealed->packed : NULL, (size_t)base.numel * sizeof(uint16_t),
                  bytes, "fp16 checkpoint (sealed copies)");
    sd_lora_free(l);
    sd_weights_free(w);
}

/* SD 2.x text encoder (OpenCLIP, q / k / v fused in in_proj_weight [3·d, d] = rows [q; k; v]):
 * a kohya LoRA names transformers' self_attn.{q,k,v}_proj (lora_te_text_model_encoder_layers_N_
 * ...), each of which is that third of the rows. Checked against the original algorithm (A1111's
 * networks.py adds vstack(Δq, Δk, Δv) to in_proj_weight; diffusers' separate q/k/v Linears are
 * those rows): W' = round_fp16(W + w·alpha/r·up@down) on the module's third only. A golden made
 * by diffusers/peft is still to come (the closing note of w3-fixes says how). */
#define SD2_RANK 2
#define SD2_ALPHA 1.0f
#define SD2_WEIGHT 0.8f

typedef struct {
    const char *module;   /* kohya module name */
    int out, in;
} sd2_module;

/* A kohya LoRA (F32; down [r, in], up [out, r], alpha) with deterministic values. */
static int write_kohya(const char *path, const sd2_module *m, int n)
{
    char header[8192];
    size_t used = 0, off = 0;
    used += (size_t)snprintf(header + used, sizeof header - used, "{");
    for (int i = 0; i < n; i++) {
        const size_t down = (size_t)SD2_RANK * m[i].in * 4, up = (size_t)m[i].out * SD2_RANK * 4;
        used += (size_t)snprintf(header + used, sizeof header - used,
            "%s\"%s.lora_down.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]},"
            "\"%s.lora_up.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]},"
            "\"%s.alpha\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[%zu,%zu]}",
            i ? "," : "", m[i].module, SD2_RANK, m[i].in, off, off + down,
            m[i].module, m[i].out, SD2_RANK, off + down, off + down + up,
            m[i].module, off + down + up, off + down + up + 4);
        off += down + up + 4;
        if (used >= sizeof header)
            return -1;
    }
    used += (size_t)snprintf(header + used, sizeof header - used, "}");
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t len = used;
    int ok = fwrite(&len, 8, 1, f) == 1 && fwrite(header, 1, used, f) == used;
    for (int i = 0; i < n && ok; i++) {
        const int count = SD2_RANK * m[i].in + m[i].out * SD2_RANK;
        for (int j = 0; j < count && ok; j++) {
            float v = 0.05f * (float)((j * 7 + i * 13) % 11 - 5);
            ok = fwrite(&v, 4, 1, f) == 1;
        }
        float alpha = SD2_ALPHA;
        ok = ok && fwrite(&alpha, 4, 1, f) == 1;
    }
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The fraction of the [rows, k] block of `sealed` (from row0) within one fp16 step of
 * round(base + s·up@down), and whether the other rows of the tensor kept base's values. */
static int third_matches(const sd_tensor *base, const sd_tensor *sealed, const lora_module *m,
                         int row0, int rows)
{
    const int k = (int)base->shape[1], all = (int)base->shape[0];
    for (int o = 0; o < all; o++)
        for (int j = 0; j < k; j++) {
            uint16_t got = sealed->packed[(size_t)o * k + j], w0 = base->packed[(size_t)o * k + j];
            if (o < row0 || o >= row0 + rows)
                continue;   /* other thirds: checked by their own module */
            double d = 0.0;
            for (int r = 0; r < m->rank; r++)
                d += (double)m->up[(o - row0) * m->rank + r] * m->down[r * k + j];
            uint16_t ref = sd_f32_to_f16((float)(sd_f16_to_f32(w0) + SD2_WEIGHT * m->scale * d));
            if (abs((int)got - (int)ref) > 1)
                return 0;
        }
    return 1;
}

static void test_sd2_text_encoder(void)
{
    char ck[4096], lp[4096], bad[4096];
    path_of(ck, sizeof ck, "golden-sd2/tiny-sd2.safetensors");
    snprintf(lp, sizeof lp, "/tmp/test-lora-sd2-%d.safetensors", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/test-lora-sd2-bad-%d.safetensors", (int)getpid());
    if (access(ck, R_OK) != 0) {
        printf("SKIP: SD 2.x LoRA: no %s\n", ck);
        return;
    }
    enum { D = 64, FF = 256 };   /* tiny-sd2's text width and MLP width */
    static const sd2_module mods[] = {
        {"lora_te_text_model_encoder_layers_0_self_attn_q_proj", D, D},
        {"lora_te_text_model_encoder_layers_0_self_attn_k_proj", D, D},
        {"lora_te_text_model_encoder_layers_0_self_attn_v_proj", D, D},
        {"lora_te_text_model_encoder_layers_0_self_attn_out_proj", D, D},
        {"lora_te_text_model_encoder_layers_0_mlp_fc1", FF, D},
        {"lora_te_text_model_encoder_layers_22_self_attn_v_proj", D, D},
    };
    static const sd2_module unrun[] = {   /* resblock 23 is stored but SD 2.x never runs it */
        {"lora_te_text_model_encoder_layers_23_self_attn_q_proj", D, D},
    };
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_lora_file *l = NULL, *lb = NULL;
    sd_error err = {0};
    sd_clip clip = {0};
    sd_arena arena;
    sd_arena_init(&arena, 0);
    float *plain = malloc((size_t)SD_CLIP_CONTEXT * D * sizeof *plain);
    float *with = malloc((size_t)SD_CLIP_CONTEXT * D * sizeof *with);
    int32_t ids[SD_CLIP_CONTEXT] = {49406, 320, 8853, 49407};
    if (!plain || !with || write_kohya(lp, mods, 6) != 0 || write_kohya(bad, unrun, 1) != 0 ||
        sd_weights_open(ck, &w, &err) != SD_OK ||
        sd_model_config_detect(sd_weights_file(w), &cfg, &err) != SD_OK ||
        sd_clip_load(&clip, w, &cfg.clip, &err) != SD_OK ||
        sd_clip_encode(&clip, &arena, ids, SD_CLIP_CONTEXT, 1, plain, NULL, &err) != SD_OK ||
        sd_lora_read(lp, &l, &err) != SD_OK) {
        CHECK(0, "SD 2.x LoRA setup: %s", err.message);
        goto done;
    }
    CHECK(sd_lora_read(bad, &lb, &err) == SD_OK && sd_lora_map(lb, w, &cfg, &err) ==
              SD_ERR_UNSUPPORTED && strstr(err.message, "layers_23"),
          "a module on the unrun resblock 23 names no layer: %s", err.message);
    CHECK(sd_lora_map(l, w, &cfg, &err) == SD_OK, "map the SD 2.x text-encoder LoRA: %s",
          err.message);
    static const char *in_proj = SD_KEY_OPENCLIP "transformer.resblocks.0.attn.in_proj_weight";
    const struct {
        const char *module, *target;
        int part;
    } want[] = {
        {mods[0].module, in_proj, 1}, {mods[1].module, in_proj, 2}, {mods[2].module, in_proj, 3},
        {mods[3].module, SD_KEY_OPENCLIP "transformer.resblocks.0.attn.out_proj.weight", 0},
        {mods[4].module, SD_KEY_OPENCLIP "transformer.resblocks.0.mlp.c_fc.weight", 0},
        {mods[5].module, SD_KEY_OPENCLIP "transformer.resblocks.22.attn.in_proj_weight", 3},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const lora_module *m = module_named(l, want[i].module);
        CHECK(m && m->target && !strcmp(m->target, want[i].target) && m->part == want[i].part,
              "%s -> %s part %d (got %s part %d)", want[i].module, want[i].target, want[i].part,
              m && m->target ? m->target : "none", m ? m->part : -1);
    }
    sd_tensor base;
    if (sd_weights_bind_packed(w, &base, &err, 2, NULL, "%s", in_proj) != SD_OK || !base.packed ||
        sd_lora_apply(l, w, SD2_WEIGHT, &err) != SD_OK ||
        sd_lora_attach(w, SD_KEY_TEXT_ENCODER, &err) != SD_OK) {
        CHECK(0, "apply and attach: %s", err.message);
        goto done;
    }
    struct find f = {in_proj, {0}, 0};
    sd_weights_each_patch(w, on_patch, &f);
    for (int part = 1; part <= 3; part++) {
        const lora_module *m = module_named(l, mods[part - 1].module);
        CHECK(f.found && f.t.packed && m && third_matches(&base, &f.t, m, (part - 1) * D, D),
              "in_proj rows %d..%d = round_fp16(W + %g·alpha/r·up@down) of %s", (part - 1) * D,
              part * D - 1, (double)SD2_WEIGHT, mods[part - 1].module);
    }
    const sd_attention *a = &clip.layers[0].self_attn;
    CHECK(f.found && a->q.p.merged.packed == f.t.packed &&
              a->k.p.merged.packed == f.t.packed + D * D &&
              a->v.p.merged.packed == f.t.packed + 2 * D * D && a->q.p.merged.shape[0] == D,
          "attach: q, k and v read their thirds of the merged in_proj");
    CHECK(sd_clip_encode(&clip, &arena, ids, SD_CLIP_CONTEXT, 1, with, NULL, &err) == SD_OK &&
              memcmp(plain, with, (size_t)SD_CLIP_CONTEXT * D * sizeof *with) != 0,
          "the LoRA changes the text encoder's output: %s", err.message);
    sd_lora_detach(w);
    CHECK(a->q.p.merged.numel == 0 && a->k.p.merged.numel == 0 && a->v.p.merged.numel == 0,
          "detach clears q, k and v");
    CHECK(sd_clip_encode(&clip, &arena, ids, SD_CLIP_CONTEXT, 1, with, NULL, &err) == SD_OK &&
              memcmp(plain, with, (size_t)SD_CLIP_CONTEXT * D * sizeof *with) == 0,
          "after detach the output is the plain model's, bit for bit");
done:
    sd_clip_free(&clip);
    sd_arena_free(&arena);
    sd_lora_free(l);
    sd_lora_free(lb);
    sd_weights_free(w);
    free(plain);
    free(with);
    remove(lp);
    remove(bad);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-lora SHARED_DIR\n");
        return 2;
    }
    snprintf(shared, sizeof shared, "%s", argv[1]);
    char path[4096];
    path_of(path, sizeof path, "golden/tiny-sd1.safetensors");
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_error err = {0};
    if (sd_weights_open(path, &w, &err) != SD_OK ||
        sd_model_config_detect(sd_weights_file(w), &cfg, &err) != SD_OK) {
        CHECK(0, "open %s: %s", path, err.message);
        return check_summary();
    }
    test_targets(w, &cfg);
    test_scales();
    test_merge(w, &cfg);
    test_seal_fp16();
    test_sd2_text_encoder();
    sd_weights_free(w);
    return check_summary();
}
