/* bench-taesd-bf16 TAESD [REPEAT] [LAYERS ...]: the draft VAE (TAESD) in bf16 against fp32,
 * in one process. Decodes a seeded 4 x 64 x 64 latent (N(0, 1), the U-Net's latent scale) to
 * 512² REPEAT times in fp32, packs the decoder's convs for bf16 and decodes REPEAT times
 * again; then encodes the fp32 decode's image in fp32 and with the encoder packed. Prints
 * the medians of the CPU-seconds and wall seconds and the error as the anchors measure it
 * (max |Δ| / max |fp32|) with the RMS error over the output's RMS.
 * LAYERS: each a decoder index of taesd.py (1..19) or "eN" for an encoder index, whose
 * convs then run fp32 (their bf16 hook cleared) for one more decode / encode each: where
 * the error comes from. "head" = decoder layers 1, 3, 4, 5 (before the first upsample).
 * Not a test: prints figures. Built on demand: ninja -C BUILD tests/bench-taesd-bf16. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "layers/layers_bf16.h"
#include "nets/taesd.h"
#include "ops/gemm_bf16.h"

#define LATENT 64
#define MAX_REPEAT 9
#define SEED 0x7ae5dull

static void errors(const float *got, const float *ref, size_t n, double *max_rel, double *rms_rel)
{
    double e = 0.0, m = 0.0, se = 0.0, sr = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        e = d > e || isnan(d) ? (isnan(d) ? INFINITY : d) : e;
        m = fabs((double)ref[i]) > m ? fabs((double)ref[i]) : m;
        se += d * d;
        sr += (double)ref[i] * ref[i];
    }
    *max_rel = e / (m > 0.0 ? m : 1.0);
    *rms_rel = sqrt(se / (sr > 0.0 ? sr : 1.0));
}

typedef sd_status (*pass_fn)(sd_taesd *t, sd_arena *a, const float *in, float *out,
                             sd_error *err);

static sd_status decode(sd_taesd *t, sd_arena *a, const float *in, float *out, sd_error *err)
{
    return sd_taesd_decode(t, a, in, LATENT, LATENT, out, NULL, err);
}

static sd_status encode(sd_taesd *t, sd_arena *a, const float *in, float *out, sd_error *err)
{
    return sd_taesd_encode(t, a, in, 8 * LATENT, 8 * LATENT, out, NULL, err);
}

/* REPEAT passes; the medians of their CPU and wall seconds. */
static int timed(pass_fn f, sd_taesd *t, sd_arena *a, const float *in, float *out, int repeat,
                 double *cpu, double *wall)
{
    double c[MAX_REPEAT], w[MAX_REPEAT];
    sd_error err = {0};
    for (int r = 0; r < repeat; r++) {
        const double c0 = cpu_s(), w0 = now_s();
        if (f(t, a, in, out, &err) != SD_OK) {
            fprintf(stderr, "bench-taesd-bf16: %s\n", err.message);
            return -1;
        }
        c[r] = cpu_s() - c0;
        w[r] = now_s() - w0;
    }
    *cpu = median(c, repeat);
    *wall = median(w, repeat);
    return 0;
}

/* Clears (on) or puts back the bf16 hooks of one layer's convs. */
static void layer_fp32(taesd_layer *l, const sd_layer_prepared **was, int clear)
{
    for (int j = 0; j < 3; j++) {
        if (clear) {
            was[j] = l->conv[j].p.prepared;
            l->conv[j].p.prepared = NULL;
        } else {
            l->conv[j].p.prepared = was[j];
        }
    }
}

static int side(const char *name, pass_fn f, sd_taesd *t, sd_arena *a, const float *in,
                size_t n_out, int repeat, int argc, char **argv, int encoder)
{
    float *ref = malloc(n_out * sizeof(float)), *got = malloc(n_out * sizeof(float));
    sd_error err = {0};
    sd_layers_bf16_pack *pack = NULL;
    sd_weights *file = encoder ? t->encoder_file : t->decoder_file;
    const char *prefix = encoder ? t->encoder_prefix : t->decoder_prefix;
    double c32, w32, c16, w16, e_max, e_rms;
    int ret = -1;
    t->precision = SD_LAYER_FP32;
    if (!ref || !got || timed(f, t, a, in, ref, repeat, &c32, &w32) != 0)
        goto done;
    double p0 = now_s();
    if (sd_layers_prepare_bf16(file, prefix, ops_bf16_best(), &pack, &err) != SD_OK) {
        fprintf(stderr, "bench-taesd-bf16: %s\n", err.message);
        goto done;
    }
    const double pack_s = now_s() - p0;
    t->precision = SD_LAYER_BF16;
    if (timed(f, t, a, in, got, repeat, &c16, &w16) != 0)
        goto done;
    errors(got, ref, n_out, &e_max, &e_rms);
    printf("%s: fp32 %.3f CPU-s (wall %.3f)  bf16 %.3f CPU-s (wall %.3f)  x%.2f CPU  "
           "error max %.3f %% rms %.3f %%  (pack %.3f s, %zu KiB)\n", name, c32, w32, c16, w16,
           c32 / c16, 100 * e_max, 100 * e_rms, pack_s, sd_layers_bf16_bytes(pack) >> 10);
    taesd_net *net = encoder ? &t->encoder : &t->decoder;
    for (int i = 0; i < argc; i++) {
        const int enc_arg = argv[i][0] == 'e';
        const int head = strcmp(argv[i], "head") == 0;
        if (enc_arg != encoder || (head && encoder))
            continue;
        static const int head_layers[] = {1, 3, 4, 5};
        int idx[4] = {atoi(argv[i] + enc_arg)}, n = 1;
        if (head) {
            memcpy(idx, head_layers, sizeof idx);
            n = 4;
        }
        const sd_layer_prepared *was[4][3];
        int ok = 1;
        for (int k = 0; k < n; k++)
            ok &= idx[k] >= 0 && idx[k] < net->n_layers;
        if (!ok)
            continue;
        for (int k = 0; k < n; k++)
            layer_fp32(&net->layer[idx[k]], was[k], 1);
        double c, w;
        if (timed(f, t, a, in, got, 1, &c, &w) != 0)
            goto done;
        for (int k = 0; k < n; k++)
            layer_fp32(&net->layer[idx[k]], was[k], 0);
        errors(got, ref, n_out, &e_max, &e_rms);
        printf("  %s %s fp32: %.3f CPU-s  error max %.3f %% rms %.3f %%\n", name, argv[i], c,
               100 * e_max, 100 * e_rms);
    }
    ret = 0;
done:
    sd_layers_bf16_free(file, pack);
    t->precision = SD_LAYER_FP32;
    free(ref), free(got);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-taesd-bf16 TAESD [REPEAT] [LAYERS ...]\n");
        return 2;
    }
    if (ops_bf16_best() == OPS_BF16_NONE) {
        printf("no bf16 kernel on this CPU\n");
        return 0;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 3;
    repeat = repeat < 1 ? 1 : repeat > MAX_REPEAT ? MAX_REPEAT : repeat;
    sd_taesd t;
    sd_error err = {0};
    if (sd_taesd_load(&t, argv[1], SD_TAESD_LATENT_SD, &err) != SD_OK) {
        fprintf(stderr, "bench-taesd-bf16: %s\n", err.message);
        return 1;
    }
    const size_t n_lat = (size_t)t.latent_channels * LATENT * LATENT;
    const size_t n_img = (size_t)3 * 8 * LATENT * 8 * LATENT;
    float *lat = malloc(n_lat * sizeof(float)), *img = malloc(n_img * sizeof(float));
    sd_arena a;
    sd_arena_init(&a, 0);
    uint64_t s = SEED;
    int ret = 1;
    if (!lat || !img)
        goto done;
    randn(&s, lat, n_lat, 1.0f);
    printf("TAESD width %d, %dx%d latent -> %dx%d, medians of %d, load %.1f\n", t.width, LATENT,
           LATENT, 8 * LATENT, 8 * LATENT, repeat, load_average());
    if (side("decoder", decode, &t, &a, lat, n_img, repeat, argc - 3, argv + 3, 0) != 0)
        goto done;
    if (t.has_encoder) {
        /* an image from the fp32 decode, clamped to [0, 1] as the pipeline hands images in */
        t.precision = SD_LAYER_FP32;
        if (decode(&t, &a, lat, img, &err) != SD_OK)
            goto done;
        for (size_t i = 0; i < n_img; i++)
            img[i] = img[i] < 0.0f ? 0.0f : img[i] > 1.0f ? 1.0f : img[i];
        if (side("encoder", encode, &t, &a, img, n_lat, repeat, argc - 3, argv + 3, 1) != 0)
            goto done;
    }
    printf("load %.1f\n", load_average());
    ret = 0;
done:
    sd_arena_free(&a);
    sd_taesd_free(&t);
    free(lat), free(img);
    return ret;
}
