/* GFLOP/s of the bf16 GEMM (ops_gemm_bf16) against the fp32 path (ops_sgemm: OpenBLAS
 * split over the engine's workers) on SD 1.5 shapes. Not a test: prints figures, medians
 * of `runs` (argv[1], default 3). "bf16 + pack" includes rounding the activation operand
 * into its layout, as every call of a layer pays it; the weight operand is packed once,
 * outside the timing. "bench-gemm RUNS unet": the kernel alone on one thread at each of
 * the bf16 U-Net's product shapes, in GFLOP per CPU-second (a figure the load of other
 * processes moves far less than wall time). Built on demand: ninja -C BUILD tests/bench-gemm. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "core/arena.h"
#include "ops/gemm_bf16.h"
#include "ops/ops.h"
#include "ops/ops_bf16.h"
#include "ops/parallel.h"

#define MAX_RUNS 15

/* C[m, n] = A[m, k] · B[k, n]; A the activations, B the weights (as a linear layer, or a
 * convolution with tokens as rows). */
static void bench(const char *what, int m, int n, int k, int runs, ops_bf16_isa isa)
{
    float *a = xmalloc((size_t)m * k * sizeof *a), *b = xmalloc((size_t)k * n * sizeof *b);
    float *c = xmalloc((size_t)m * n * sizeof *c);
    const size_t lda = (size_t)ops_bf16_kpad(k);
    uint16_t *ap = xmalloc((size_t)m * lda * sizeof *ap);
    uint16_t *bp = xmalloc(ops_bf16_cols_size(k, n) * sizeof *bp);
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    ops_bf16_pack_cols(b, k, n, (size_t)n, bp);
    double t32[MAX_RUNS], t16[MAX_RUNS], t16p[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        ops_sgemm(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double t1 = now_s();
        ops_bf16_pack_rows(a, m, k, (size_t)k, ap, lda);
        double t2 = now_s();
        ops_gemm_bf16(isa, m, n, k, ap, lda, bp, c, (size_t)n, 0);
        double t3 = now_s();
        t32[r] = t1 - t0;
        t16[r] = t3 - t2;
        t16p[r] = t3 - t1;
    }
    const double flop = 2.0 * m * n * k * 1e-9;
    const double f32 = median(t32, runs), f16 = median(t16, runs), f16p = median(t16p, runs);
    printf("%-28s %5d %5d %6d | fp32 %7.1f | bf16 %7.1f  + pack %7.1f GFLOP/s | x%.2f\n", what, m,
           n, k, flop / f32, flop / f16, flop / f16p, f32 / f16p);
    free(a), free(b), free(c), free(ap), free(bp);
}

/* CPU seconds of the calling thread (the kernel alone, on one core: load on the other
 * cores moves it little). */
static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define KERNEL_MIN_S 0.05   /* each timing repeats the product for at least this long */

/* The kernel alone on one thread (ops_gemm_bf16_serial), operands packed outside the
 * timing: GFLOP per CPU-second, median of `runs`. C[m, n] = A[m, k] · B[k, n] as the layer
 * calls it (a linear layer: A the tokens, B the weight; a 1x1 convolution: A the weight,
 * B the image; attention: A 64 query rows, B the keys or the values). */
static void bench_kernel(const char *what, int m, int n, int k, int runs, ops_bf16_isa isa)
{
    float *a = xmalloc((size_t)m * k * sizeof *a), *b = xmalloc((size_t)k * n * sizeof *b);
    float *c = xmalloc((size_t)m * n * sizeof *c);
    const size_t lda = (size_t)ops_bf16_kpad(k);
    uint16_t *ap = xmalloc((size_t)m * lda * sizeof *ap);
    uint16_t *bp = xmalloc(ops_bf16_cols_size(k, n) * sizeof *bp);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    randn(&seed, a, (size_t)m * k, 1.0f);
    randn(&seed, b, (size_t)k * n, 1.0f);
    ops_bf16_pack_rows_serial(a, m, k, (size_t)k, ap, lda);
    ops_bf16_pack_cols(b, k, n, (size_t)n, bp);
    double t[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        int reps = 0;
        const double t0 = thread_cpu_s();
        double t1;
        do {
            ops_gemm_bf16_serial(isa, m, n, k, ap, lda, bp, c, (size_t)n, 0);
            reps++;
        } while ((t1 = thread_cpu_s()) - t0 < KERNEL_MIN_S);
        t[r] = (t1 - t0) / reps;
    }
    printf("%-30s %5d %5d %6d | %9.1f CPU-us %6.1f GFLOP/CPU-s\n", what, m, n, k,
           1e6 * median(t, runs), 2.0 * m * n * k * 1e-9 / median(t, runs));
    free(a), free(b), free(c), free(ap), free(bp);
}

/* The bf16 U-Net's products (SD 1.5, 512²: the 64², 32², 16² and 8² levels; one image, as
 * the layers run them), kernel alone. */
static void bench_unet_shapes(int runs, ops_bf16_isa isa)
{
    static const struct {
        const char *what;
        int m, n, k;
    } shapes[] = {
        {"to_q/k/v/out 64x64", 4096, 320, 320},       {"to_q/k/v/out 32x32", 1024, 640, 640},
        {"to_q/k/v/out 16x16", 256, 1280, 1280},      {"to_q/k/v/out 8x8", 64, 1280, 1280},
        {"ff geglu 320->2560 64x64", 4096, 2560, 320}, {"ff geglu 640->5120 32x32", 1024, 5120, 640},
        {"ff geglu 1280->10240 16x16", 256, 10240, 1280},
        {"ff out 1280->320 64x64", 4096, 320, 1280},   {"ff out 2560->640 32x32", 1024, 640, 2560},
        {"ff out 5120->1280 16x16", 256, 1280, 5120},
        {"cross to_k/v 77x768->320", 77, 320, 768},    {"cross to_k/v 77x768->1280", 77, 1280, 768},
        {"proj 1x1 320 64x64", 320, 4096, 320},        {"proj 1x1 640 32x32", 640, 1024, 640},
        {"proj 1x1 1280 16x16", 1280, 256, 1280},      {"proj 1x1 1280 8x8", 1280, 64, 1280},
        {"skip 1x1 960->320 64x64", 320, 4096, 960},   {"skip 1x1 1920->640 32x32", 640, 1024, 1920},
        {"skip 1x1 2560->1280 8x8", 1280, 64, 2560},
        {"attn q.kT d40 256 keys", 64, 256, 40},       {"attn q.kT d80 256 keys", 64, 256, 80},
        {"attn q.kT d160 256 keys", 64, 256, 160},     {"attn q.kT d40 77 keys", 64, 77, 40},
        {"attn p.v d40 256 keys", 64, 40, 256},        {"attn p.v d80 256 keys", 64, 80, 256},
        {"attn p.v d160 256 keys", 64, 160, 256},      {"attn p.v d40 77 keys", 64, 40, 77},
    };
    printf("kernel alone, one thread, medians of %d (GFLOP per CPU-second)\n", runs);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        bench_kernel(shapes[i].what, shapes[i].m, shapes[i].n, shapes[i].k, runs, isa);
}

/* A whole convolution, batch 2 (CFG), fp32 op_conv2d vs op_conv2d_bf16. */
static void bench_conv(int ci, int co, int hw, int k, int runs, ops_bf16_isa isa)
{
    const int n = 2;
    const sd_conv_params p = op_conv_params(k, 1, k / 2);
    float *x = xmalloc((size_t)n * ci * hw * hw * sizeof *x);
    float *w = xmalloc((size_t)co * ci * k * k * sizeof *w), *y = xmalloc((size_t)n * co * hw * hw * sizeof *y);
    for (size_t i = 0; i < (size_t)n * ci * hw * hw; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)co * ci * k * k; i++)
        w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    uint16_t *wp = xmalloc(ops_bf16_conv_weight_size(co, ci, k, k) * sizeof *wp);
    ops_bf16_pack_conv_weight(w, co, ci, k, k, wp);
    sd_arena a;
    sd_arena_init(&a, 0);
    double t32[MAX_RUNS], t16[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        int rc = op_conv2d(&a, x, n, ci, hw, hw, w, NULL, co, &p, y);
        double t1 = now_s();
        rc |= op_conv2d_bf16(&a, isa, x, n, ci, hw, hw, wp, NULL, co, &p, y);
        double t2 = now_s();
        if (rc) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        t32[r] = t1 - t0;
        t16[r] = t2 - t1;
    }
    const double gflop = 2.0 * n * co * ci * k * k * hw * hw * 1e-9;   /* direct-conv count */
    const double f32 = median(t32, runs), f16 = median(t16, runs);
    printf("conv%dx%d %4d->%4d %3dx%-3d x2       | fp32 %6.1f ms %6.1f | bf16 %6.1f ms %6.1f GFLOP/s | x%.2f\n",
           k, k, ci, co, hw, hw, 1e3 * f32, gflop / f32, 1e3 * f16, gflop / f16, f32 / f16);
    sd_arena_free(&a);
    free(x), free(w), free(y), free(wp);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    const ops_bf16_isa isa = ops_bf16_best();
    if (isa == OPS_BF16_NONE) {
        printf("no bf16 kernel on this CPU\n");
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "unet") == 0) {
        printf("kernel %s\n", ops_bf16_isa_name(isa));
        bench_unet_shapes(runs, isa);
        return 0;
    }
    printf("kernel %s, %d workers, medians of %d\n", ops_bf16_isa_name(isa), ops_workers(), runs);
    printf("%-28s %5s %5s %6s\n", "shape", "M", "N", "K");
    bench("conv3x3 320ch 64x64", 4096, 320, 320 * 9, runs, isa);
    bench("conv3x3 640ch 32x32", 1024, 640, 640 * 9, runs, isa);
    bench("conv3x3 1280ch 32x32", 1024, 1280, 1280 * 9, runs, isa);
    bench("linear ff 4096x320->1280", 4096, 1280, 320, runs, isa);
    bench("linear ff 4096x1280->320", 4096, 320, 1280, runs, isa);
    bench("linear geglu 4096x320->2560", 4096, 2560, 320, runs, isa);
    bench("attn q.kT 4096x4096 d40", 4096, 4096, 40, runs, isa);
    bench("attn p.v 4096x40 k4096", 4096, 40, 4096, runs, isa);
    printf("whole convolutions (GFLOP/s counted as direct convolution: Winograd does fewer)\n");
    bench_conv(320, 320, 64, 3, runs, isa);
    bench_conv(640, 640, 32, 3, runs, isa);
    bench_conv(1280, 1280, 16, 3, runs, isa);
    bench_conv(1280, 1280, 8, 3, runs, isa);
    bench_conv(512, 512, 128, 3, runs, isa);
    bench_conv(320, 320, 64, 1, runs, isa);
    return 0;
}
