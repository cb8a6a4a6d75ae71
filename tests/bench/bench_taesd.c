/* bench taesd: TAESD encode and decode at full size, and the cost of a live preview.
 *
 *   bench taesd --taesd PATH [--size S]... [--repeat R] [--threads T] [--vae CHECKPOINT]
 *
 * PATH: a TAESD (real, or the random full-size one run_bench.sh makes with make-checkpoint
 * from tests/bench/taesd_*.keys.txt). For each size (default 512 and 1024): the median
 * over R runs (default 3) of one encode of an S x S image and one decode of its S/8 latent,
 * with the FLOPs of the pass counted from its convolutions; then a preview's cost per step:
 * the TAESD decode (as above) and the latent→RGB projection (median of 100). With --vae, the
 * full VAE's decode of the same latent in the same process, at sizes up to 512 (its decode
 * is ~18x the FLOPs), for the ratio. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "io/weights.h"
#include "nets/model_config.h"
#include "nets/taesd.h"
#include "nets/vae.h"
#include "ops/parallel.h"
#include "pipeline/preview.h"

#define TAESD_BENCH_MAX_SIZES 8
#define TAESD_BENCH_MAX_REPEAT 16
#define PROJECTION_RUNS 100
#define VAE_BENCH_MAX_SIZE 512

int bench_taesd(int argc, char **argv);

/* FLOPs of a pass (2 per multiply-add of every 3x3 conv) at input h x w. */
static double net_gflop(const taesd_net *net, int h, int w)
{
    double flop = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        const taesd_layer *l = &net->layer[i];
        const int convs = l->kind == TAESD_BLOCK ? 3
                          : l->kind == TAESD_CONV || l->kind == TAESD_CONV_DOWN ? 1 : 0;
        if (l->kind == TAESD_CONV_DOWN) {
            h /= 2;
            w /= 2;
        } else if (l->kind == TAESD_UPSAMPLE) {
            h *= 2;
            w *= 2;
        }
        for (int j = 0; j < convs; j++)
            flop += 2.0 * 9.0 * l->conv[j].ci * l->conv[j].co * (double)h * w;
    }
    return flop * 1e-9;
}

int bench_taesd(int argc, char **argv)
{
    const char *path = NULL, *vae_path = NULL;
    int sizes[TAESD_BENCH_MAX_SIZES], n_sizes = 0, repeat = 3, threads = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--taesd") == 0) path = argv[i + 1];
        else if (strcmp(argv[i], "--size") == 0 && n_sizes < TAESD_BENCH_MAX_SIZES)
            sizes[n_sizes++] = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--repeat") == 0) repeat = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--vae") == 0) vae_path = argv[i + 1];
        else {
            fprintf(stderr, "bench taesd: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 512;
        sizes[n_sizes++] = 1024;
    }
    if (!path || repeat < 1 || repeat > TAESD_BENCH_MAX_REPEAT) {
        fprintf(stderr, "usage: bench taesd --taesd PATH [--size S]... [--repeat R<=16] "
                        "[--threads T]\n");
        return 2;
    }
    ops_set_threads(threads);
    sd_taesd t;
    sd_error err = {0};
    if (sd_taesd_load(&t, path, SD_TAESD_LATENT_SD, &err) != SD_OK) {
        fprintf(stderr, "bench taesd: %s\n", err.message);
        return 1;
    }
    printf("TAESD %s: width %d, encoder %s, %d repeats (medians)\n", path, t.width,
           t.has_encoder ? "yes" : "no", repeat);
    sd_weights *vae_w = NULL;
    sd_model_config cfg;
    sd_vae vae;
    if (vae_path && (sd_weights_open(vae_path, &vae_w, &err) != SD_OK ||
                     sd_model_config_detect(sd_weights_file(vae_w), &cfg, &err) != SD_OK ||
                     sd_vae_load(&vae, vae_w, &cfg.vae, &err) != SD_OK)) {
        fprintf(stderr, "bench taesd: %s: %s\n", vae_path, err.message);
        sd_weights_free(vae_w);
        sd_taesd_free(&t);
        return 1;
    }
    sd_arena arena;
    sd_arena_init(&arena, 0);
    int rc = 0;
    for (int k = 0; k < n_sizes && rc == 0; k++) {
        const int s = sizes[k], ls = s / SD_TAESD_SCALE;
        const size_t n_img = (size_t)3 * s * s, n_lat = (size_t)4 * ls * ls;
        float *image = malloc(n_img * sizeof *image), *lat = malloc(n_lat * sizeof *lat);
        float *rgb = malloc((size_t)3 * ls * ls * sizeof *rgb);
        double enc[TAESD_BENCH_MAX_REPEAT], dec[TAESD_BENCH_MAX_REPEAT], proj[PROJECTION_RUNS];
        double enc_cpu[TAESD_BENCH_MAX_REPEAT], dec_cpu[TAESD_BENCH_MAX_REPEAT];
        if (!image || !lat || !rgb) {
            fprintf(stderr, "bench taesd: out of memory at %d\n", s);
            rc = 1;
        }
        for (size_t i = 0; rc == 0 && i < n_img; i++)
            image[i] = 0.5f + 0.5f * sinf(0.001f * (float)i);
        for (size_t i = 0; rc == 0 && i < n_lat; i++)
            lat[i] = 2.0f * sinf(0.01f * (float)i);
        for (int r = 0; rc == 0 && r < repeat; r++) {
            double t0 = now_s(), c0 = cpu_s();
            if (t.has_encoder &&
                sd_taesd_encode(&t, &arena, image, s, s, lat, NULL, &err) != SD_OK)
                rc = 1;
            double t1 = now_s(), c1 = cpu_s();
            if (rc == 0 && sd_taesd_decode(&t, &arena, lat, ls, ls, image, NULL, &err) != SD_OK)
                rc = 1;
            enc[r] = t1 - t0;
            dec[r] = now_s() - t1;
            enc_cpu[r] = c1 - c0;
            dec_cpu[r] = cpu_s() - c1;
            sd_arena_trim(&arena);
        }
        if (rc) {
            fprintf(stderr, "bench taesd: %d²: %s\n", s, err.message);
        } else {
            for (int r = 0; r < PROJECTION_RUNS; r++) {
                double t0 = now_s();
                sd_preview_latent_rgb(lat, ls, ls, rgb);
                proj[r] = now_s() - t0;
            }
            const double ge = net_gflop(&t.encoder, s, s), gd = net_gflop(&t.decoder, ls, ls);
            const double me = median(enc, repeat), md = median(dec, repeat);
            const double mec = median(enc_cpu, repeat), mdc = median(dec_cpu, repeat);
            if (t.has_encoder)
                printf("  %4d²  encode %7.3f s  (%6.1f GFLOP, %5.1f GFLOP/s; %.2f CPU-s, %5.1f "
                       "GFLOP per CPU-s)\n", s, me, ge, ge / me, mec, ge / mec);
            printf("  %4d²  decode %7.3f s  (%6.1f GFLOP, %5.1f GFLOP/s; %.2f CPU-s, %5.1f "
                   "GFLOP per CPU-s)\n", s, md, gd, gd / md, mdc, gd / mdc);
            printf("  %4d²  preview per step: TAESD %.3f s, latent->RGB %.6f s (%dx%d)\n", s, md,
                   median(proj, PROJECTION_RUNS), ls, ls);
        }
        if (rc == 0 && vae_w && s <= VAE_BENCH_MAX_SIZE) {
            /* the same latent through the full VAE (z = latent / 0.18215 as the pipeline) */
            float *decoded = malloc(n_img * sizeof *decoded);
            double vd[TAESD_BENCH_MAX_REPEAT], vdc[TAESD_BENCH_MAX_REPEAT];
            sd_vae_unscale(lat, n_lat, cfg.vae.scaling_factor, lat);
            for (int r = 0; decoded && rc == 0 && r < repeat; r++) {
                double t0 = now_s(), c0 = cpu_s();
                if (sd_vae_decode(&vae, &arena, lat, ls, ls, decoded, NULL, &err) != SD_OK)
                    rc = 1;
                vd[r] = now_s() - t0;
                vdc[r] = cpu_s() - c0;
                sd_arena_trim(&arena);
            }
            if (!decoded || rc) {
                fprintf(stderr, "bench taesd: full VAE at %d²: %s\n", s, err.message);
                rc = 1;
            } else {
                const double mv = median(vd, repeat), mvc = median(vdc, repeat);
                const double md = median(dec, repeat), mdc = median(dec_cpu, repeat);
                printf("  %4d²  full VAE decode %7.3f s (%.2f CPU-s): TAESD takes %.3fx the "
                       "time, %.3fx the CPU-s\n", s, mv, mvc, md / mv, mdc / mvc);
            }
            free(decoded);
        }
        free(image);
        free(lat);
        free(rgb);
    }
    sd_arena_free(&arena);
    sd_taesd_free(&t);
    sd_weights_free(vae_w);
    return rc;
}
