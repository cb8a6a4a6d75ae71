/* taesd_encode* / taesd_decode* cases: the engine's TAESD against diffusers'
 * AutoencoderTiny (checked by the fixture against madebyollin's taesd.py).
 *
 * Each case runs on both file layouts the case names ("model": the diffusers folder and
 * the separate taesd.py files), which hold the same values, so the two results must be
 * bit-identical. Outputs at 10x the float32 noise floor of precision.json; the per-layer
 * outputs of case 0 at 10x the same floor relative to their magnitude; the values derived
 * from an output (scaled latents, [0, 1] images) at the floor carried through their
 * affine map plus one rounding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "golden_blocks.h"
#include "golden_model.h"
#include "layers/layers_bf16.h"
#include "nets/taesd.h"
#include "ops/gemm_bf16.h"

#define TOL_FACTOR 10.0
/* One float32 rounding of a value of magnitude 1 (2^-23). */
#define F32_ULP 1.1920929e-7
/* tanh(x / 3) * 3 against torch's: a few roundings of values below 3 (libm's tanhf and
 * torch's differ by up to 2 ulp; 3 ulp of 3, ~4 ulp of the result, as the bound). */
#define CLAMP_TOL (4.0 * 3.0 * F32_ULP)
/* Relative noise floors (floor / max|output|) of the shared folder's precision.json,
 * rounded up: used where another folder's precision.json lacks a case. */
#define DEFAULT_REL_LATENTS 6e-7   /* taesd_encode0/1.latents: 4.4e-7, 4.8e-7 */
#define DEFAULT_REL_DECODED 1.1e-6 /* taesd_decode0/1.decoded: 7.6e-7, 1.0e-6 */
/* TAESD's 8-bit latent image format (taesd.py scale_latents): clamp(x / 6 + 0.5, 0, 1). */
#define LATENT_RANGE 6.0f
#define LATENT_SHIFT 0.5f
#define UINT8_MAX_F 255.0

/* The case's "model": diffusers (a folder, the json value's first word) and taesd.py (the
 * encoder's or the decoder's file; the loader finds the other half beside it). */
static int case_files(const golden_case *c, golden_tally *t, const char *py_key,
                      golden_checkpoints *f)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c->json, "model");
    const cJSON *diffusers = cJSON_GetObjectItemCaseSensitive(model, "diffusers");
    const cJSON *py = cJSON_GetObjectItemCaseSensitive(model, py_key);
    f->count = 0;
    if (cJSON_IsString(diffusers)) {
        char folder[1024];
        if (sscanf(diffusers->valuestring, "%1023s", folder) == 1) {
            size_t n = strlen(folder);
            if (n > 1 && folder[n - 1] == '/')
                folder[n - 1] = '\0';
            golden_path(c, folder, f->path[f->count], sizeof f->path[0]);
            snprintf(f->label[f->count++], sizeof f->label[0], "diffusers");
        }
    }
    if (cJSON_IsString(py)) {
        golden_path(c, py->valuestring, f->path[f->count], sizeof f->path[0]);
        snprintf(f->label[f->count++], sizeof f->label[0], "taesd.py");
    }
    if (!f->count) {
        golden_check(c, t, 0, "the case json names no TAESD model (model.diffusers, model.%s)",
                     py_key);
        return -1;
    }
    return 0;
}

/* sd_taesd_trace: compares a layer's output with block.<name> when the case holds it. */
static void on_layer(void *user, const char *name, const float *x, int ch, int h, int w)
{
    char tensor[96];
    snprintf(tensor, sizeof tensor, "block.%s", name);
    golden_blocks_compare(user, tensor, x, ch, h, w, TOL_FACTOR);
}

/* A loaded TAESD, and in bf16 mode its half's convs packed (as pipeline/precision.c packs
 * the model's: the whole half). */
typedef struct {
    sd_taesd taesd;
    sd_layers_bf16_pack *pack;
    sd_weights *packed;   /* the file the pack's layers are bound in */
} taesd_run;

static int load(const golden_case *c, golden_tally *t, const char *path, const char *label,
                int encoder, taesd_run *r)
{
    sd_error err;
    r->pack = NULL;
    r->packed = NULL;
    if (sd_taesd_load(&r->taesd, path, SD_TAESD_LATENT_SD, &err) != SD_OK) {
        golden_check(c, t, 0, "[%s] loading %s: %s", label, path, err.message);
        return -1;
    }
    if (c->bf16_rel <= 0.0)
        return 0;
    sd_taesd *taesd = &r->taesd;
    r->packed = encoder ? taesd->encoder_file : taesd->decoder_file;
    if (sd_layers_prepare_bf16(r->packed, encoder ? taesd->encoder_prefix : taesd->decoder_prefix,
                               ops_bf16_best(), &r->pack, &err) != SD_OK || !r->pack) {
        golden_check(c, t, 0, "[%s] packing %s for bf16: %s", label, path,
                     r->pack ? err.message : "no conv packed");
        sd_taesd_free(taesd);
        return -1;
    }
    taesd->precision = SD_LAYER_BF16;
    return 0;
}

static void unload(taesd_run *r)
{
    sd_layers_bf16_free(r->packed, r->pack);
    sd_taesd_free(&r->taesd);
}

/* The tolerance of a comparison with `tensor` (golden_compare_arrays's): in bf16 mode at
 * least bf16_rel of the reference's largest value. */
static double effective_tol(const golden_case *c, const char *tensor, double tol)
{
    if (c->bf16_rel <= 0.0)
        return tol;
    int64_t numel = 0;
    float *ref = golden_f32(c, tensor, &numel);
    double mag = 0.0;
    for (int64_t i = 0; ref && i < numel; i++)
        mag = fabs((double)ref[i]) > mag ? fabs((double)ref[i]) : mag;
    free(ref);
    return tol > c->bf16_rel * mag ? tol : c->bf16_rel * mag;
}

/* latents_uint8 = round(255 · clamp(latents / 6 + 0.5)): exact, except where the reference's
 * unrounded value is within the latents' tolerance of a rounding boundary (x.5), where
 * the neighbouring integer is as right. */
static void compare_uint8(const golden_case *c, golden_tally *t, const char *label,
                          const float *scaled01, size_t n, double tol01)
{
    int64_t numel = 0;
    float *ref = golden_f32(c, "latents_uint8", &numel);
    if (!ref || (size_t)numel != n) {
        golden_check(c, t, 0, "%s: reference latents_uint8 missing or of another size", label);
        free(ref);
        return;
    }
    size_t bad = 0, at_boundary = 0;
    for (size_t i = 0; i < n; i++) {
        const double u = UINT8_MAX_F * scaled01[i], got = nearbyint(u);
        if (got == ref[i])
            continue;
        const double boundary = 0.5 * (got + ref[i]);
        if (fabs(got - ref[i]) == 1.0 && fabs(u - boundary) <= UINT8_MAX_F * tol01)
            at_boundary++;
        else
            bad++;
    }
    golden_check(c, t, bad == 0, "%s: %zu of %zu values differ (%zu at a rounding boundary, "
                 "within tolerance)", label, bad, n, at_boundary);
    free(ref);
}

static int encode_one(const golden_case *c, golden_tally *t, const char *path,
                      const char *label, float **latents_out, size_t *n_out)
{
    taesd_run run;
    if (load(c, t, path, label, 1, &run) != 0)
        return -1;
    const sd_taesd *taesd = &run.taesd;
    int ret = -1, H, W;
    float *image = NULL, *image01 = NULL, *latents = NULL, *scaled = NULL;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    if (golden_input_shape(c, t, "image", 3, &H, &W) != 0)
        goto done;
    const size_t n_img = (size_t)3 * H * W;
    const size_t n = (size_t)taesd->latent_channels * sd_taesd_latent_size(H) *
                     sd_taesd_latent_size(W);
    image = golden_f32(c, "image", NULL);
    image01 = malloc(n_img * sizeof *image01);
    latents = malloc(n * sizeof *latents);
    scaled = malloc(n * sizeof *scaled);
    if (!image || !image01 || !latents || !scaled) {
        golden_check(c, t, 0, "[%s] inputs missing or out of memory", label);
        goto done;
    }
    /* AutoencoderTiny.encode: image in [-1, 1] → (x + 1) / 2, TAESD's own [0, 1] */
    for (size_t i = 0; i < n_img; i++)
        image01[i] = (image[i] + 1.0f) / 2.0f;
    char lab[96];
    snprintf(lab, sizeof lab, "image01 [%s]", label);
    golden_compare(c, t, lab, "image01", image01, n_img, F32_ULP);

    const double rel_floor = golden_relative_floor(c, "latents", DEFAULT_REL_LATENTS);
    golden_blocks blocks = {c, t, label, rel_floor, 0};
    const sd_taesd_trace trace = {on_layer, &blocks};
    sd_error err;
    if (sd_taesd_encode(taesd, &arena, image01, H, W, latents, &trace, &err) != SD_OK) {
        golden_check(c, t, 0, "[%s] encode: %s", label, err.message);
        goto done;
    }
    golden_blocks_seen(&blocks, "layer");
    const double tol = TOL_FACTOR * golden_output_floor(c, "latents", DEFAULT_REL_LATENTS);
    snprintf(lab, sizeof lab, "latents [%s]", label);
    golden_compare(c, t, lab, "latents", latents, n, tol);

    for (size_t i = 0; i < n; i++)
        scaled[i] = fminf(fmaxf(latents[i] / LATENT_RANGE + LATENT_SHIFT, 0.0f), 1.0f);
    /* bf16: the latents' bound carried through the same map */
    const double tol01 = effective_tol(c, "latents", tol) / LATENT_RANGE + F32_ULP;
    snprintf(lab, sizeof lab, "latents_scaled01 [%s]", label);
    golden_compare(c, t, lab, "latents_scaled01", scaled, n, tol01);
    snprintf(lab, sizeof lab, "latents_uint8 [%s]", label);
    compare_uint8(c, t, lab, scaled, n, tol01);
    *latents_out = latents;
    *n_out = n;
    latents = NULL;
    ret = 0;
done:
    free(image);
    free(image01);
    free(latents);
    free(scaled);
    sd_arena_free(&arena);
    unload(&run);
    return ret;
}

static int decode_one(const golden_case *c, golden_tally *t, const char *path,
                      const char *label, float **decoded_out, size_t *n_out)
{
    taesd_run run;
    if (load(c, t, path, label, 0, &run) != 0)
        return -1;
    const sd_taesd *taesd = &run.taesd;
    int ret = -1, h, w;
    float *latents = NULL, *clamped = NULL, *out01 = NULL, *decoded = NULL, *image01 = NULL;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    if (golden_input_shape(c, t, "latents", taesd->latent_channels, &h, &w) != 0)
        goto done;
    const size_t n_lat = (size_t)taesd->latent_channels * h * w;
    const size_t n_img = (size_t)3 * (h * SD_TAESD_SCALE) * (w * SD_TAESD_SCALE);
    latents = golden_f32(c, "latents", NULL);
    clamped = malloc(n_lat * sizeof *clamped);
    out01 = malloc(n_img * sizeof *out01);
    decoded = malloc(n_img * sizeof *decoded);
    image01 = malloc(n_img * sizeof *image01);
    if (!latents || !clamped || !out01 || !decoded || !image01) {
        golden_check(c, t, 0, "[%s] inputs missing or out of memory", label);
        goto done;
    }
    char lab[96];
    /* The Clamp, as the decoder's first layer computes it. */
    for (size_t i = 0; i < n_lat; i++)
        clamped[i] = tanhf(latents[i] / 3.0f) * 3.0f;
    snprintf(lab, sizeof lab, "clamped [%s]", label);
    golden_compare(c, t, lab, "clamped", clamped, n_lat, CLAMP_TOL);

    const double rel_floor = golden_relative_floor(c, "decoded", DEFAULT_REL_DECODED);
    golden_blocks blocks = {c, t, label, rel_floor, 0};
    const sd_taesd_trace trace = {on_layer, &blocks};
    sd_error err;
    if (sd_taesd_decode(taesd, &arena, latents, h, w, out01, &trace, &err) != SD_OK) {
        golden_check(c, t, 0, "[%s] decode: %s", label, err.message);
        goto done;
    }
    golden_blocks_seen(&blocks, "layer");
    /* decoded = 2 · Decoder(x) − 1 (AutoencoderTiny.decode), so the decoder's own output
     * carries half of decoded's floor. */
    const double tol = TOL_FACTOR * golden_output_floor(c, "decoded", DEFAULT_REL_DECODED);
    const double tol_out = effective_tol(c, "taesd_decoder_out", 0.5 * tol + F32_ULP);
    snprintf(lab, sizeof lab, "taesd_decoder_out [%s]", label);
    golden_compare(c, t, lab, "taesd_decoder_out", out01, n_img, tol_out);
    for (size_t i = 0; i < n_img; i++)
        decoded[i] = 2.0f * out01[i] - 1.0f;
    /* bf16: the decoder output's bound carried through the same map (not bf16_rel of the
     * shifted values' magnitude) */
    golden_compare_decoded(c, t, label, decoded, image01, n_img,
                           c->bf16_rel > 0.0 ? 2.0 * tol_out : tol);
    *decoded_out = out01;
    *n_out = n_img;
    out01 = NULL;
    ret = 0;
done:
    free(latents);
    free(clamped);
    free(out01);
    free(decoded);
    free(image01);
    sd_arena_free(&arena);
    unload(&run);
    return ret;
}

/* Every layout the case names; the results of all must be bit-identical to the first. */
static int run_layouts(const golden_case *c, golden_tally *t, const char *py_key,
                       golden_run_file_fn run, const char *what)
{
    golden_checkpoints f;
    if (case_files(c, t, py_key, &f) != 0)
        return -1;
    return golden_run_files(c, t, &f, run, what);
}

int golden_run_taesd_encode(const golden_case *c, golden_tally *t)
{
    return run_layouts(c, t, "taesd_encoder", encode_one, "latents");
}

int golden_run_taesd_decode(const golden_case *c, golden_tally *t)
{
    return run_layouts(c, t, "taesd_decoder", decode_one, "taesd_decoder_out");
}
