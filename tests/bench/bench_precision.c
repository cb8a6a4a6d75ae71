/* bench-precision MODEL VOCAB [REPEAT [fp32|unet-bf16|vae]]: one U-Net step (512², CFG batch 2: 2 x 4 x 64 x 64
 * latent, 77 x 768 context, timestep 500) and one VAE decode (4 x 64 x 64 → 512²) on the
 * same model in fp32 and in bf16, medians of REPEAT (default 3), timed in the same process
 * so the ratio sees the same machine load; the bf16 outputs' error against fp32 as the
 * anchors measure it (../shared/anchors: max |bf16 - fp32| / max |fp32|); the time and
 * memory the bf16 packing takes. Inputs are seeded random normals (a U-Net latent and
 * CLIP-like context). With "fp32" after REPEAT only the fp32 figures, wall and CPU time
 * (no packing: the run to profile, or to time the fp32 path with SD_NO_AVX512); with
 * "unet-bf16" only the bf16 U-Net steps, nothing else (for a profiler); with "vae" the U-Net
 * is left out (its line then reads 0). Not a test: prints figures. Built on demand:
 * ninja -C BUILD tests/bench-precision. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#include "core/arena.h"
#include "pipeline/model.h"
#include "pipeline/precision.h"
#include "sd.h"

#define MAX_RUNS 9
#define LATENT 64      /* 512² / 8 */
#define BATCH 2        /* CFG: conditional and unconditional */
#define N_CTX 77
#define TIMESTEP 500.0f

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double rel_err(const float *got, const float *ref, size_t n)
{
    double e = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        e = d > e || isnan(d) ? (isnan(d) ? INFINITY : d) : e;
        m = fabs((double)ref[i]) > m ? fabs((double)ref[i]) : m;
    }
    return e / (m > 0.0 ? m : 1.0);
}

typedef struct {
    double unet_s, decode_s, unet_cpu_s, decode_cpu_s;
} timing;


/* REPEAT U-Net steps and decodes at the model's current precision; outputs of the last. */
static int run(sd_model *m, sd_arena *a, int repeat, int unet, const float *x, const float *ctx,
               const float *z, float *eps, float *image, timing *t)
{
    double tu[MAX_RUNS], td[MAX_RUNS], cu[MAX_RUNS], cd[MAX_RUNS];
    sd_error err = {0};
    for (int r = 0; r < repeat; r++) {
        double t0 = now(), c0 = cpu_s();
        if (unet && sd_unet_forward(&m->unet, a, x, BATCH, LATENT, LATENT, TIMESTEP, ctx, N_CTX, eps,
                            NULL, &err) != SD_OK)
            goto fail;
        double t1 = now(), c1 = cpu_s();
        if (sd_vae_decode(&m->vae, a, z, LATENT, LATENT, image, NULL, &err) != SD_OK)
            goto fail;
        tu[r] = t1 - t0;
        td[r] = now() - t1;
        cu[r] = c1 - c0;
        cd[r] = cpu_s() - c1;
        sd_arena_trim(a);
    }
    t->unet_s = median(tu, repeat);
    t->decode_s = median(td, repeat);
    t->unet_cpu_s = median(cu, repeat);
    t->decode_cpu_s = median(cd, repeat);
    return 0;
fail:
    fprintf(stderr, "bench-precision: %s\n", err.message);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-precision MODEL VOCAB [REPEAT [fp32|unet-bf16|vae]]\n");
        return 2;
    }
    int repeat = argc > 3 ? atoi(argv[3]) : 3;
    if (repeat < 1 || repeat > MAX_RUNS)
        repeat = 3;
    const int unet_only = argc > 4 && strcmp(argv[4], "unet-bf16") == 0;
    const int unet = !(argc > 4 && strcmp(argv[4], "vae") == 0);
    const sd_model_options opts = {.precision = unet_only ? SD_PRECISION_BF16 : SD_PRECISION_FP32};
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(argv[1], argv[2], &opts, &m, &err) != SD_OK) {
        fprintf(stderr, "bench-precision: %s\n", err.message);
        return 1;
    }
    const int cin = m->cfg.unet.in_channels, cout = m->cfg.unet.out_channels;
    const int ctx_dim = m->cfg.unet.context_dim, lc = m->cfg.vae.latent_channels;
    const size_t nx = (size_t)BATCH * cin * LATENT * LATENT, neps = (size_t)BATCH * cout * LATENT * LATENT;
    const size_t nctx = (size_t)BATCH * N_CTX * ctx_dim, nz = (size_t)lc * LATENT * LATENT;
    const size_t nimg = (size_t)3 * 8 * LATENT * 8 * LATENT;
    float *x = malloc(nx * sizeof *x), *ctx = malloc(nctx * sizeof *ctx), *z = malloc(nz * sizeof *z);
    float *eps32 = calloc(neps, sizeof(float)), *eps16 = calloc(neps, sizeof(float));
    float *img32 = malloc(nimg * sizeof(float)), *img16 = malloc(nimg * sizeof(float));
    if (!x || !ctx || !z || !eps32 || !eps16 || !img32 || !img16) {
        fprintf(stderr, "bench-precision: out of memory\n");
        return 1;
    }
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    randn(&seed, x, nx, 1.0f);
    randn(&seed, ctx, nctx, 1.0f);
    randn(&seed, z, nz, 1.0f / 0.18215f * 0.5f);   /* a latent of typical size, unscaled */

    sd_arena a;
    sd_arena_init(&a, 0);
    timing f32, b16;
    const double la0 = load_average();
    if (unet_only) {
        double tu[MAX_RUNS], cu[MAX_RUNS];
        for (int r = 0; r < repeat; r++) {
            double t0 = now(), c0 = cpu_s();
            if (sd_unet_forward(&m->unet, &a, x, BATCH, LATENT, LATENT, TIMESTEP, ctx, N_CTX,
                                eps16, NULL, &err) != SD_OK) {
                fprintf(stderr, "bench-precision: %s\n", err.message);
                return 1;
            }
            tu[r] = now() - t0;
            cu[r] = cpu_s() - c0;
            printf("U-Net step bf16 %.2f s, %.2f CPU-s\n", tu[r], cu[r]);
        }
        /* FNV-1a of the output's bits: equal across two builds = the same values bit for bit */
        uint64_t hash = 0xcbf29ce484222325ull;
        const unsigned char *bytes = (const unsigned char *)eps16;
        for (size_t i = 0; i < neps * sizeof *eps16; i++)
            hash = (hash ^ bytes[i]) * 0x100000001b3ull;
        printf("median %.2f s, %.2f CPU-s; load average %.2f before, %.2f after; output %016llx\n",
               median(tu, repeat), median(cu, repeat), la0, load_average(),
               (unsigned long long)hash);
        return 0;
    }
    if (run(m, &a, repeat, unet, x, ctx, z, eps32, img32, &f32) != 0)
        return 1;
    const double rss32 = peak_rss_mib();
    if (argc > 4 && strcmp(argv[4], "fp32") == 0) {
        printf("fp32 only; medians of %d; load average %.2f before, %.2f after\n", repeat, la0,
               load_average());
        printf("U-Net step (512², batch 2)  fp32 %6.2f s  %6.2f CPU-s\n", f32.unet_s,
               f32.unet_cpu_s);
        printf("VAE decode (64² → 512²)    fp32 %6.2f s  %6.2f CPU-s\n", f32.decode_s,
               f32.decode_cpu_s);
        printf("peak RSS %.0f MiB\n", peak_rss_mib());
        sd_arena_free(&a);
        sd_model_free(m);
        free(x), free(ctx), free(z), free(eps32), free(eps16), free(img32), free(img16);
        return 0;
    }
    double t0 = now();
    if (sd_model_set_precision(m, SD_PRECISION_BF16, &err) != SD_OK) {
        fprintf(stderr, "bench-precision: %s\n", err.message);
        return 1;
    }
    const double pack_s = now() - t0;
    const size_t packed = sd_model_packed_bytes(m);
    sd_model_info info;
    sd_model_get_info(m, &info);
    if (run(m, &a, repeat, unet, x, ctx, z, eps16, img16, &b16) != 0)
        return 1;
    printf("bf16 kernel %s; medians of %d; load average %.2f before, %.2f after\n",
           info.bf16_kernel, repeat, la0, load_average());
    printf("U-Net step (512², batch 2)  fp32 %6.2f s  bf16 %6.2f s  x%.2f  rel err %.2f %%\n",
           f32.unet_s, b16.unet_s, f32.unet_s / b16.unet_s, 100.0 * rel_err(eps16, eps32, neps));
    printf("VAE decode (64² → 512²)    fp32 %6.2f s  bf16 %6.2f s  x%.2f  rel err %.2f %%\n",
           f32.decode_s, b16.decode_s, f32.decode_s / b16.decode_s,
           100.0 * rel_err(img16, img32, nimg));
    printf("U-Net step CPU-seconds      fp32 %6.2f    bf16 %6.2f    x%.2f\n", f32.unet_cpu_s,
           b16.unet_cpu_s, b16.unet_cpu_s > 0.0 ? f32.unet_cpu_s / b16.unet_cpu_s : 0.0);
    printf("VAE decode CPU-seconds      fp32 %6.2f    bf16 %6.2f    x%.2f\n", f32.decode_cpu_s,
           b16.decode_cpu_s, f32.decode_cpu_s / b16.decode_cpu_s);
    printf("bf16 packing at load: %.1f s, %.0f MiB packed; peak RSS %.0f MiB after fp32, "
           "%.0f MiB after bf16\n", pack_s, (double)packed / 1048576.0, rss32, peak_rss_mib());
    sd_arena_free(&a);
    sd_model_free(m);
    free(x), free(ctx), free(z), free(eps32), free(eps16), free(img32), free(img16);
    return 0;
}
