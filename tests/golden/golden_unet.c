/* U-Net parity: eps = unet(sample, timestep, context) against diffusers.
 *
 * Each case runs on its own checkpoint ("checkpoint" in the case json) and on every
 * other file the folder's model description (<checkpoint stem>.json, "checks") gives
 * the same model type: the F16 copy holds identical values, so the same tolerance
 * applies. Cases that recorded block outputs (block.*) are compared block by block.
 * An inpainting sibling is the same U-Net with conv_in widened to 9 input channels
 * ([:, :4] equal), so with the extra channels zero it must give the same eps: that
 * checks the 9-channel path against the 4-channel reference.
 *
 * Tolerance: 10x the case's float32 noise floor (precision.json, "<case>.out") for
 * eps; a block output gets the same relative bound, 10x floor x max|block| / max|eps|
 * (float32 rounding noise scales with the magnitude of the values carried). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "golden.h"
#include "golden_model.h"
#include "nets/keys.h"
#include "nets/lora.h"
#include "nets/model_config.h"
#include "nets/unet.h"
#include "io/weights.h"

typedef struct {
    float *sample;    /* [batch, channels, h, w] */
    float *context;   /* [batch, n_ctx, ctx_dim] */
    float timestep;
    int batch, channels, h, w, n_ctx, ctx_dim;
    double tol;       /* for eps */
    double out_max;   /* max |eps| of the reference */
} unet_inputs;

typedef struct {
    const golden_case *c;
    golden_tally *t;
    const char *variant;
    const unet_inputs *in;
} block_checker;

static double max_abs(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > m)
            m = fabs(x[i]);
    return m;
}

/* sd_unet_trace callback: compares the block with block.<name> when the case has it. */
static void compare_block(void *user, const char *name, const float *x, int n, int c, int h,
                          int w)
{
    const block_checker *bc = user;
    char tensor[96], label[160];
    snprintf(tensor, sizeof tensor, "block.%s", name);
    if (!golden_tensor(bc->c, tensor))
        return;
    snprintf(label, sizeof label, "%s %s", bc->variant, tensor);
    int64_t numel = 0;
    float *ref = golden_f32(bc->c, tensor, &numel);
    const size_t got = (size_t)n * c * h * w;
    if (!ref || (size_t)numel != got) {
        golden_check(bc->c, bc->t, 0, "%s: %zu values, reference %lld", label, got,
                     (long long)numel);
        free(ref);
        return;
    }
    const double tol = bc->in->tol * max_abs(ref, got) / bc->in->out_max;
    golden_compare_arrays(bc->c, bc->t, label, ref, x, got, tol);
    free(ref);
}

static int shape_is(const st_tensor *t, int ndim)
{
    return t && t->ndim == ndim;
}

static int read_inputs(const golden_case *c, golden_tally *t, unet_inputs *in)
{
    const st_tensor *sample = golden_tensor(c, "sample");
    const st_tensor *context = golden_tensor(c, "context");
    const st_tensor *timestep = golden_tensor(c, "timestep");
    const st_tensor *out = golden_tensor(c, "out");
    if (!shape_is(sample, 4) || !shape_is(context, 3) || !timestep || timestep->numel != 1 ||
        !shape_is(out, 4) || context->shape[0] != sample->shape[0]) {
        golden_check(c, t, 0, "sample [B,C,h,w], context [B,T,D], timestep [1], out missing");
        return -1;
    }
    in->batch = (int)sample->shape[0];
    in->channels = (int)sample->shape[1];
    in->h = (int)sample->shape[2];
    in->w = (int)sample->shape[3];
    in->n_ctx = (int)context->shape[1];
    in->ctx_dim = (int)context->shape[2];

    char key[128];
    snprintf(key, sizeof key, "%s.out", c->name);
    const double floor = golden_noise_floor(c, key);
    if (floor <= 0.0) {
        golden_check(c, t, 0, "no float32 noise floor for %s in precision.json", key);
        return -1;
    }
    in->tol = 10.0 * floor;

    float *ts = golden_f32(c, "timestep", NULL);
    float *ref = golden_f32(c, "out", NULL);
    in->sample = golden_f32(c, "sample", NULL);
    in->context = golden_f32(c, "context", NULL);
    int ok = ts && ref && in->sample && in->context;
    if (ok) {
        in->timestep = ts[0];
        in->out_max = max_abs(ref, (size_t)out->numel);
    }
    free(ts);
    free(ref);
    if (!ok) {
        golden_check(c, t, 0, "cannot read the case tensors");
        return -1;
    }
    return 0;
}

/* Runs the case on checkpoint `file` of the folder. zero_pad: the checkpoint takes more
 * input channels than the sample has, filled with zeros. check_blocks: compare block.*;
 * check_arena: run a second pass and require the same memory and bit-identical eps. */
static void run_checkpoint(const golden_case *c, golden_tally *t, const unet_inputs *in,
                           const char *file, int zero_pad, int check_blocks, int check_arena)
{
    char path[4096], variant[128];
    golden_path(c, file, path, sizeof path);
    snprintf(variant, sizeof variant, "%.*s", (int)strcspn(file, "."), file);

    sd_error err = {0};
    sd_weights *weights = NULL;
    sd_unet *unet = malloc(sizeof *unet);
    sd_model_config cfg;
    float *x = NULL, *eps = NULL, *eps2 = NULL;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    if (!unet) {
        golden_check(c, t, 0, "%s: out of memory", variant);
        goto done;
    }
    if (sd_weights_open(path, &weights, &err) != SD_OK ||
        sd_unet_config_detect(sd_weights_file(weights), &cfg.unet, &err) != SD_OK ||
        golden_apply_loras(c, t, weights, &cfg, variant) != 0 ||
        sd_unet_load(unet, weights, &cfg.unet, &err) != SD_OK ||
        sd_lora_attach(weights, SD_KEY_UNET, &err) != SD_OK ||
        golden_prepare(c, weights, &unet->precision, &err) != SD_OK) {
        golden_check(c, t, 0, "%s: loading the U-Net: %s", variant, err.message);
        goto done;
    }
    const int cin = cfg.unet.in_channels, cout = cfg.unet.out_channels;
    if (cin != in->channels && !(zero_pad && cin > in->channels)) {
        golden_check(c, t, 0, "%s: U-Net takes %d channels, sample has %d", variant, cin,
                     in->channels);
        goto done;
    }
    const size_t hw = (size_t)in->h * in->w, n_out = (size_t)in->batch * cout * hw;
    x = calloc((size_t)in->batch * cin * hw, sizeof *x);
    eps = malloc(n_out * sizeof *eps);
    eps2 = malloc(n_out * sizeof *eps2);
    if (!x || !eps || !eps2) {
        golden_check(c, t, 0, "%s: out of memory", variant);
        goto done;
    }
    for (int b = 0; b < in->batch; b++)  /* [B, cin, h, w]: the sample, then zeros */
        memcpy(x + (size_t)b * cin * hw, in->sample + (size_t)b * in->channels * hw,
               (size_t)in->channels * hw * sizeof *x);

    block_checker bc = {c, t, variant, in};
    const sd_unet_trace trace = {compare_block, &bc};
    if (sd_unet_forward(unet, &arena, x, in->batch, in->h, in->w, in->timestep, in->context,
                        in->n_ctx, eps, check_blocks ? &trace : NULL, &err) != SD_OK) {
        golden_check(c, t, 0, "%s: forward: %s", variant, err.message);
        goto done;
    }
    char label[160];
    snprintf(label, sizeof label, "%s out%s", variant,
             cin != in->channels ? ", extra channels 0" : "");
    golden_compare(c, t, label, "out", eps, n_out, in->tol);

    if (check_arena) {
        const size_t reserved = arena.reserved;
        sd_status s = sd_unet_forward(unet, &arena, x, in->batch, in->h, in->w, in->timestep,
                                      in->context, in->n_ctx, eps2, NULL, &err);
        golden_check(c, t, s == SD_OK && arena.reserved == reserved && arena.used == 0 &&
                     memcmp(eps, eps2, n_out * sizeof *eps) == 0,
                     "%s second pass: arena %zu bytes (peak %zu) reused, nothing held, "
                     "eps bit-identical", variant, reserved, arena.peak);
    }
done:
    sd_arena_free(&arena);
    free(x);
    free(eps);
    free(eps2);
    golden_unprepare(weights);   /* walks the layers bound in *unet: before freeing it */
    free(unet);
    sd_weights_free(weights);
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cJSON *j = NULL;
    char *text = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = '\0';
        j = cJSON_Parse(text);
    }
    free(text);
    fclose(f);
    return j;
}

static const char *model_type(const cJSON *checks, const char *file)
{
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(checks, file);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(entry, "diffusers_infer_model_type");
    return cJSON_IsString(type) ? type->valuestring : NULL;
}

int golden_run_unet(const golden_case *c, golden_tally *t)
{
    const cJSON *ckpt = cJSON_GetObjectItemCaseSensitive(c->json, "checkpoint");
    if (!cJSON_IsString(ckpt)) {
        golden_check(c, t, 0, "no \"checkpoint\" in the case json");
        return -1;
    }
    const char *file = ckpt->valuestring;
    unet_inputs in = {0};
    if (read_inputs(c, t, &in) != 0) {
        free(in.sample);
        free(in.context);
        return -1;
    }
    run_checkpoint(c, t, &in, file, 0, 1, 1);

    /* Other files of the same model, from the folder's description of the checkpoint
     * (<stem>.json next to <stem>.safetensors) */
    const char *ext = strstr(file, ".safetensors");
    cJSON *model = NULL;
    if (ext) {
        char name[512], path[4096];
        snprintf(name, sizeof name, "%.*s.json", (int)(ext - file), file);
        model = read_json(golden_path(c, name, path, sizeof path));
    }
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(model, "checks");
    const char *type = model_type(checks, file);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, checks) {
        const char *other = entry->string, *other_type = model_type(checks, other);
        if (!type || !other_type || strcmp(other, file) == 0)
            continue;
        if (strcmp(other_type, type) == 0)
            run_checkpoint(c, t, &in, other, 0, 1, 0);
        else if (strcmp(other_type, "inpainting") == 0)
            run_checkpoint(c, t, &in, other, 1, 0, 0);
    }
    cJSON_Delete(model);
    free(in.sample);
    free(in.context);
    return 0;
}
