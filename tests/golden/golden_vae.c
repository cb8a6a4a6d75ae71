/* vae_encode* / vae_decode* cases: the engine's VAE against diffusers' AutoencoderKL.
 *
 * Inputs are the recorded ones (image and noise; latent_scaled); every tensor the case
 * holds is compared: the outputs at 10x the float32 noise floor of precision.json,
 * the per-block outputs of case 0 at 10x the same floor relative to their magnitude.
 * Each case runs on its checkpoint and on the fp16 twin, which must give bit-identical
 * results (its values are the same). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "golden_blocks.h"
#include "golden_model.h"
#include "nets/vae.h"

#define TOL_FACTOR 10.0
/* float32 rounding of one operation on values of magnitude 1 (2^-23): the z and
 * image01 checks are a division and an affine map away from an input. */
#define F32_ULP 1.1920929e-7

/* Relative noise floors (floor / max|output|) of the shared folder's precision.json,
 * rounded up: used where another folder's precision.json lacks a case. */
#define DEFAULT_REL_MEAN 5e-6      /* vae_encode0/1.mean: 4.6e-6, 4.2e-6 */
#define DEFAULT_REL_LOGVAR 6e-7    /* vae_encode0.logvar: 5.4e-7 */
#define DEFAULT_REL_DECODED 3.5e-6 /* vae_decode0/1.decoded: 3.1e-6, 2.9e-6 */

/* sd_vae_trace callback: compares a block output with block.<name> (or moments). */
static void on_block(void *user, const char *name, const float *x, int c, int h, int w)
{
    char tensor[96];
    if (strcmp(name, "quant_conv") == 0)
        snprintf(tensor, sizeof tensor, "moments");
    else
        snprintf(tensor, sizeof tensor, "block.%s", name);
    golden_blocks_compare(user, tensor, x, c, h, w, TOL_FACTOR);
}

/* Opens a checkpoint and binds its VAE; on failure tallies it and returns NULL. */
static sd_weights *load_vae(const golden_case *c, golden_tally *t, const char *path,
                            sd_vae *vae)
{
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_error err;
    sd_status st = golden_open_model(path, &w, &cfg, &err);
    if (st == SD_OK)
        st = sd_vae_load(vae, w, &cfg.vae, &err);
    if (st == SD_OK)
        st = golden_prepare(c, w, &vae->precision, &err);
    if (st != SD_OK) {
        golden_check(c, t, 0, "loading %s: %s", path, err.message);
        golden_unprepare(w);
        sd_weights_free(w);
        return NULL;
    }
    return w;
}

typedef struct {
    float *mean, *logvar;
    size_t n;
} encode_result;

static void encode_result_free(encode_result *r)
{
    free(r->mean);
    free(r->logvar);
}

/* One checkpoint: encode the image, compare moments, blocks, and the sampling chain. */
static int encode_one(const golden_case *c, golden_tally *t, const char *path,
                      const char *label, encode_result *res)
{
    sd_vae vae;
    sd_weights *weights = load_vae(c, t, path, &vae);
    if (!weights)
        return -1;
    int ret = -1, H, W;
    float *image = NULL, *noise = NULL, *std = NULL, *sample = NULL, *latent = NULL;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    if (golden_input_shape(c, t, "image", vae.cfg.in_channels, &H, &W) != 0)
        goto done;
    const int factor = 1 << (vae.cfg.levels - 1);
    const size_t n = (size_t)vae.cfg.latent_channels * (H / factor) * (W / factor);
    image = golden_f32(c, "image", NULL);
    noise = golden_f32(c, "noise", NULL);
    res->n = n;
    res->mean = malloc(n * sizeof(float));
    res->logvar = malloc(n * sizeof(float));
    std = malloc(n * sizeof(float));
    sample = malloc(n * sizeof(float));
    latent = malloc(n * sizeof(float));
    if (!image || !noise || !res->mean || !res->logvar || !std || !sample || !latent) {
        golden_check(c, t, 0, "[%s] inputs missing or out of memory", label);
        goto done;
    }

    golden_blocks bc = {c, t, label, golden_relative_floor(c, "mean", DEFAULT_REL_MEAN), 0};
    const sd_vae_trace trace = {on_block, &bc};
    sd_error err;
    if (sd_vae_encode(&vae, &arena, image, H, W, res->mean, res->logvar, &trace, &err) != SD_OK) {
        golden_check(c, t, 0, "[%s] encode: %s", label, err.message);
        goto done;
    }
    golden_blocks_seen(&bc, "block");

    char lab[96];
    const double tol_mean = TOL_FACTOR * golden_output_floor(c, "mean", DEFAULT_REL_MEAN);
    const double tol_logvar =
        TOL_FACTOR * golden_output_floor(c, "logvar", DEFAULT_REL_LOGVAR);
    snprintf(lab, sizeof lab, "mean [%s]", label);
    golden_compare(c, t, lab, "mean", res->mean, n, tol_mean);
    snprintf(lab, sizeof lab, "logvar [%s]", label);
    golden_compare(c, t, lab, "logvar", res->logvar, n, tol_logvar);

    /* std = exp(logvar / 2): an error e in logvar moves std by std * e / 2. */
    sd_vae_std(res->logvar, n, std);
    const double tol_std = 0.5 * golden_max_abs(std, n) * tol_logvar + F32_ULP;
    snprintf(lab, sizeof lab, "std [%s]", label);
    golden_compare(c, t, lab, "std", std, n, tol_std);

    /* sample = mean + std * noise, latent = scaling * sample: the errors add up. */
    const double tol_sample = tol_mean + golden_max_abs(noise, n) * tol_std;
    sd_vae_sample(res->mean, res->logvar, noise, n, 1.0f, sample);
    snprintf(lab, sizeof lab, "sample [%s]", label);
    golden_compare(c, t, lab, "sample", sample, n, tol_sample);
    sd_vae_sample(res->mean, res->logvar, noise, n, vae.cfg.scaling_factor, latent);
    snprintf(lab, sizeof lab, "latent_scaled [%s]", label);
    golden_compare(c, t, lab, "latent_scaled", latent, n,
                   vae.cfg.scaling_factor * tol_sample + F32_ULP * golden_max_abs(latent, n));
    ret = 0;
done:
    free(image);
    free(noise);
    free(std);
    free(sample);
    free(latent);
    sd_arena_free(&arena);
    golden_unprepare(weights);
    sd_weights_free(weights);
    return ret;
}

int golden_run_vae_encode(const golden_case *c, golden_tally *t)
{
    golden_checkpoints cp;
    if (golden_case_checkpoints(c, t, &cp) != 0)
        return -1;
    encode_result first = {0};
    int ret = encode_one(c, t, cp.path[0], cp.label[0], &first);
    for (int i = 1; ret == 0 && i < cp.count; i++) {
        encode_result again = {0};
        ret = encode_one(c, t, cp.path[i], cp.label[i], &again);
        if (ret == 0) {
            /* The same values in both files: bit-identical results. */
            char lab[96];
            snprintf(lab, sizeof lab, "mean [%s = %s]", cp.label[i], cp.label[0]);
            golden_compare_arrays(c, t, lab, first.mean, again.mean, first.n, 0.0);
            snprintf(lab, sizeof lab, "logvar [%s = %s]", cp.label[i], cp.label[0]);
            golden_compare_arrays(c, t, lab, first.logvar, again.logvar, first.n, 0.0);
        }
        encode_result_free(&again);
    }
    encode_result_free(&first);
    return ret;
}

/* One checkpoint: z from latent_scaled, decode, compare blocks, decoded and image01. */
static int decode_one(const golden_case *c, golden_tally *t, const char *path,
                      const char *label, float **decoded_out, size_t *n_out)
{
    sd_vae vae;
    sd_weights *weights = load_vae(c, t, path, &vae);
    if (!weights)
        return -1;
    int ret = -1, h, w;
    float *latent = NULL, *z = NULL, *decoded = NULL, *image01 = NULL;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    if (golden_input_shape(c, t, "latent_scaled", vae.cfg.latent_channels, &h, &w) != 0)
        goto done;
    const int factor = 1 << (vae.cfg.levels - 1);
    const size_t n_lat = (size_t)vae.cfg.latent_channels * h * w;
    const size_t n_img = (size_t)vae.cfg.out_channels * (h * factor) * (w * factor);
    latent = golden_f32(c, "latent_scaled", NULL);
    z = malloc(n_lat * sizeof(float));
    decoded = malloc(n_img * sizeof(float));
    image01 = malloc(n_img * sizeof(float));
    if (!latent || !z || !decoded || !image01) {
        golden_check(c, t, 0, "[%s] inputs missing or out of memory", label);
        goto done;
    }

    char lab[96];
    sd_vae_unscale(latent, n_lat, vae.cfg.scaling_factor, z);
    snprintf(lab, sizeof lab, "z [%s]", label);
    golden_compare(c, t, lab, "z", z, n_lat, F32_ULP * golden_max_abs(z, n_lat));

    golden_blocks bc = {c, t, label, golden_relative_floor(c, "decoded", DEFAULT_REL_DECODED), 0};
    const sd_vae_trace trace = {on_block, &bc};
    sd_error err;
    if (sd_vae_decode(&vae, &arena, z, h, w, decoded, &trace, &err) != SD_OK) {
        golden_check(c, t, 0, "[%s] decode: %s", label, err.message);
        goto done;
    }
    golden_blocks_seen(&bc, "block");

    const double tol_decoded =
        TOL_FACTOR * golden_output_floor(c, "decoded", DEFAULT_REL_DECODED);
    golden_compare_decoded(c, t, label, decoded, image01, n_img, tol_decoded);
    *decoded_out = decoded;
    *n_out = n_img;
    decoded = NULL;
    ret = 0;
done:
    free(latent);
    free(z);
    free(decoded);
    free(image01);
    sd_arena_free(&arena);
    golden_unprepare(weights);
    sd_weights_free(weights);
    return ret;
}

int golden_run_vae_decode(const golden_case *c, golden_tally *t)
{
    golden_checkpoints cp;
    if (golden_case_checkpoints(c, t, &cp) != 0)
        return -1;
    return golden_run_files(c, t, &cp, decode_one, "decoded");
}
