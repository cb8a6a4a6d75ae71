/* Where the bf16 Winograd's time goes on the U-Net's 3x3 shapes (issue 17): the whole
 * convolution (ops_conv3x3_winograd_bf16, both workers) in CPU-seconds, then one of its 16
 * position products alone on one core, [co, ci] · [ci, cols] at the band widths the
 * convolution uses and at others, beside the same product with the roles swapped
 * ([cols, ci] · [ci, co]: activations as rows, as the linear layers run). GFLOP per
 * CPU-second (one core busy for a second). Not a test: prints figures, medians of `runs`
 * (argv[1], default 5); with a second argument only
 * the convolutions (for a profiler), and with "cold" each call after a sweep through
 * 64 MiB that evicts the caches, as the layers before it do in a U-Net step. Built on demand: ninja -C BUILD tests/bench-winograd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "ops/gemm_bf16.h"
#include "ops/ops_bf16.h"
#include "ops/parallel.h"
#include "ops/winograd.h"

#define MAX_RUNS 15
#define BATCH 2   /* CFG */
#define POS_COUNT 16   /* positions of a 4x4 transformed tile: 16 products */

static void fill(float *v, size_t count, unsigned mul)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)((i * mul) % 1000) / 1000.0f - 0.5f;
}

/* One serial product C[m, n] = A[m, k] · B[k, n], both operands packed outside the timing;
 * `reps` products per timing so that one timing is well above the clock's resolution. */
static void product(const char *what, int m, int n, int k, int runs, ops_bf16_isa isa)
{
    float *a = xmalloc((size_t)m * k * sizeof *a), *b = xmalloc((size_t)k * n * sizeof *b);
    float *c = xmalloc((size_t)m * n * sizeof *c);
    const size_t lda = (size_t)ops_bf16_kpad(k);
    uint16_t *ap = xmalloc((size_t)m * lda * sizeof *ap);
    uint16_t *bp = xmalloc(ops_bf16_cols_size(k, n) * sizeof *bp);
    fill(a, (size_t)m * k, 2654435761u);
    fill(b, (size_t)k * n, 40503u);
    ops_bf16_pack_rows(a, m, k, (size_t)k, ap, lda);
    ops_bf16_pack_cols(b, k, n, (size_t)n, bp);
    const double flop = 2.0 * m * n * k;
    const int reps = flop < 4e8 ? (int)(4e8 / flop) + 1 : 1;
    double t[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        const double t0 = cpu_s();
        for (int i = 0; i < reps; i++)
            ops_gemm_bf16_serial(isa, m, n, k, ap, lda, bp, c, (size_t)n, 0);
        t[r] = (cpu_s() - t0) / reps;
    }
    printf("  %-34s %5d %5d %5d | %6.2f ms | %6.1f GFLOP/CPU-s\n", what, m, n, k,
           1e3 * median(t, runs), flop * 1e-9 / median(t, runs));
    free(a), free(b), free(c), free(ap), free(bp);
}

/* The whole convolution: CPU-seconds of the process (both workers) and wall. */
static int cold;   /* argv[2] "cold": every call after a 64 MiB sweep, as a step's layers leave the caches */
#define SWEEP_FLOATS ((size_t)16 << 20)

static void convolution(int ci, int co, int hw, int runs, ops_bf16_isa isa)
{
    float *sweep = cold ? xmalloc(SWEEP_FLOATS * sizeof *sweep) : NULL;
    float *x = xmalloc((size_t)BATCH * ci * hw * hw * sizeof *x);
    float *w = xmalloc((size_t)co * ci * 9 * sizeof *w);
    float *y = xmalloc((size_t)BATCH * co * hw * hw * sizeof *y);
    fill(x, (size_t)BATCH * ci * hw * hw, 2654435761u);
    fill(w, (size_t)co * ci * 9, 40503u);
    uint16_t *wp = xmalloc(ops_bf16_conv_weight_size(co, ci, 3, 3) * sizeof *wp);
    ops_bf16_pack_conv_weight(w, co, ci, 3, 3, wp);
    sd_arena a;
    sd_arena_init(&a, 0);
    double tc[MAX_RUNS], tw[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        if (sweep)
            for (size_t i = 0; i < SWEEP_FLOATS; i++)
                sweep[i] = (float)(i + (size_t)r);
        const double c0 = cpu_s(), w0 = now_s();
        if (ops_conv3x3_winograd_bf16(&a, isa, x, BATCH, ci, hw, hw, wp, NULL, co, y)) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        tc[r] = cpu_s() - c0;
        tw[r] = now_s() - w0;
    }
    /* the 16 products' FLOPs: 16 [co, ci] · [ci, tiles] */
    const int tiles = BATCH * ((hw + 1) / 2) * ((hw + 1) / 2);
    const double gflop = 2.0 * POS_COUNT * co * ci * tiles * 1e-9;
    printf("conv3x3 %4d->%4d %3dx%-3d x%d: %6.1f CPU-ms, %6.1f ms wall; products alone at "
           "kernel peak would be %.1f GFLOP\n",
           ci, co, hw, hw, BATCH, 1e3 * median(tc, runs), 1e3 * median(tw, runs), gflop);
    sd_arena_free(&a);
    free(x), free(w), free(y), free(wp), free(sweep);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 5;
    cold = argc > 2 && strcmp(argv[2], "cold") == 0;
    const ops_bf16_isa isa = ops_bf16_best();
    if (isa == OPS_BF16_NONE) {
        printf("no bf16 kernel on this CPU\n");
        return 0;
    }
    printf("kernel %s, %d workers, medians of %d, load %.1f\n", ops_bf16_isa_name(isa),
           ops_workers(), runs, load_average());
    /* the U-Net's Winograd layers, batch 2 (64²: bands of 30 and 2 tile rows; 32²: one) */
    convolution(320, 320, 64, runs, isa);
    convolution(640, 640, 32, runs, isa);
    /* the up blocks' concatenated inputs and upsamplers: narrower bands under the bound */
    convolution(1920, 640, 32, runs, isa);
    convolution(960, 320, 64, runs, isa);
    convolution(640, 640, 64, runs, isa);
    convolution(1280, 1280, 32, runs, isa);
    if (argc > 2)   /* "conv": the convolutions only (for a profiler) */
        return 0;
    printf("one position product, one core (m = co, n = band columns, k = ci)\n");
    product("320ch 64x64, band of 30 tile rows", 320, 1920, 320, runs, isa);
    product("320ch 64x64, band of 2 tile rows", 320, 128, 320, runs, isa);
    product("320ch 64x64, whole image (32 rows)", 320, 2048, 320, runs, isa);
    product("320ch 64x64, band of 8 tile rows", 320, 512, 320, runs, isa);
    product("640ch 32x32, whole image", 640, 512, 640, runs, isa);
    product("1920->640 32x32, band of 8 rows", 640, 256, 1920, runs, isa);
    product("1280ch 32x32, band of 3 rows", 1280, 96, 1280, runs, isa);
    product("1280ch 32x32, band of 16 rows", 1280, 512, 1280, runs, isa);
    printf("the same products, roles swapped (tiles as rows, as a linear layer)\n");
    product("320ch 64x64, 30 rows, swapped", 1920, 320, 320, runs, isa);
    product("640ch 32x32, swapped", 512, 640, 640, runs, isa);
    product("linear 4096x320->320", 4096, 320, 320, runs, isa);
    return 0;
}
