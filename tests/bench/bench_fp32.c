/* fp32 kernels on SD 1.5 U-Net shapes (512², CFG batch 2). 3x3 stride-1 convolutions
 * timed through Winograd F(2x2, 3x3) and F(4x4, 3x3) directly, alternating in one process
 * so both see the same machine load (direct-equivalent GFLOP per CPU-second; which one
 * op_conv2d takes is printed); self- and cross-attention per batch item
 * (op_attention; wall and CPU time). Not a
 * test: prints medians of `runs` (argv[1], default 3); argv[2] "attn", "conv" or
 * "elem" (GEGLU, GroupNorm, LayerNorm): only those; "errors": the convolutions with their
 * error against a float64 direct sum. Built on demand: ninja -C BUILD tests/bench-fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/arena.h"
#include "ops/ops.h"
#include "ops/winograd.h"
#include "ops/winograd4.h"

#define MAX_RUNS 15

static float *random_floats(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = scale * ((float)rand() / (float)RAND_MAX - 0.5f);
    return p;
}

/* "errors": the two Winograds' outputs against a float64 direct sum over the first
 * ERR_CHANNELS output channels of image 0: max |y - ref| / max |ref|. */
#define ERR_CHANNELS 8
static int errors;

static double max_error(const float *x, int ci, int hw, const float *w, const float *bias,
                        int co, const float *y)
{
    double e = 0.0, mag = 0.0;
    for (int o = 0; o < ERR_CHANNELS && o < co; o++)
        for (int oy = 0; oy < hw; oy++)
            for (int ox = 0; ox < hw; ox++) {
                double acc = bias[o];
                for (int c = 0; c < ci; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            const int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy >= 0 && iy < hw && ix >= 0 && ix < hw)
                                acc += (double)w[((size_t)o * ci + c) * 9 + ky * 3 + kx] *
                                       x[((size_t)c * hw + iy) * hw + ix];
                        }
                const double d = fabs(y[((size_t)o * hw + oy) * hw + ox] - acc);
                e = d > e ? d : e;
                mag = fabs(acc) > mag ? fabs(acc) : mag;
            }
    return e / mag;
}

static void bench(sd_arena *a, int n, int ci, int co, int hw, int runs)
{
    const size_t in = (size_t)n * ci * hw * hw, out = (size_t)n * co * hw * hw;
    float *x = random_floats(in, 2.0f), *w = random_floats((size_t)co * ci * 9, 0.05f);
    float *bias = random_floats((size_t)co, 0.1f), *y = random_floats(out, 0.0f);
    double t2[MAX_RUNS], t4[MAX_RUNS];
    for (int r = 0; r < runs; r++) {   /* CPU-seconds: the steadier figure on a shared machine */
        double t0 = cpu_s();
        if (ops_conv3x3_winograd(a, x, n, ci, hw, hw, w, bias, co, y) != 0)
            exit(1);
        double t1 = cpu_s();
        if (ops_conv3x3_winograd4(a, OPS_WINOGRAD_MAX_FLOATS, x, n, ci, hw, hw, w, bias, co,
                                  y) != 0)
            exit(1);
        t2[r] = t1 - t0;
        t4[r] = cpu_s() - t1;
    }
    const double gflop = 2e-9 * n * co * (double)hw * hw * ci * 9;
    const double d2 = median(t2, runs), d4 = median(t4, runs);
    double e2 = 0.0, e4 = 0.0;
    if (errors) {   /* y holds F(4x4)'s output; F(2x2)'s again into y2 */
        float *y2 = random_floats(out, 0.0f);
        if (ops_conv3x3_winograd(a, x, n, ci, hw, hw, w, bias, co, y2) != 0)
            exit(1);
        e2 = max_error(x, ci, hw, w, bias, co, y2);
        e4 = max_error(x, ci, hw, w, bias, co, y);
        free(y2);
    }
    printf("%4d -> %4d @%3d² n=%d  op_conv2d takes %-8s  F(2x2) %7.1f CPU-ms %6.1f GFLOP per "
           "CPU-s   F(4x4) %7.1f CPU-ms %6.1f  F2/F4 x%.2f\n", ci, co, hw, n,
           !ops_winograd_fits(n, ci, co, hw, hw) ? "im2col"
           : ops_winograd4_fits(n, ci, co, hw, hw) ? "F(4x4)" : "F(2x2)",
           1e3 * d2, gflop / d2, 1e3 * d4, gflop / d4, d2 / d4);
    if (errors)
        printf("    max |error| / max |y| against float64, image 0, channels 0-%d: F(2x2) %.2e  "
               "F(4x4) %.2e  (x%.1f)\n", ERR_CHANNELS - 1, e2, e4, e4 / e2);
    free(x), free(w), free(bias), free(y);
}

/* One batch item's attention (the U-Net runs them one at a time): 4 nq nk heads d flops. */
static void bench_attention(sd_arena *a, int nq, int nk, int heads, int d, int runs)
{
    const int inner = heads * d;
    float *q = random_floats((size_t)nq * inner, 2.0f), *kv = random_floats((size_t)nk * 2 * inner, 2.0f);
    float *out = random_floats((size_t)nq * inner, 0.0f);
    double t[MAX_RUNS], c[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double t0 = now_s(), c0 = cpu_s();
        if (op_attention(a, q, inner, kv, kv + inner, 2 * inner, nq, nk, heads, d, 0, out) != 0)
            exit(1);
        t[r] = now_s() - t0;
        c[r] = cpu_s() - c0;
    }
    const double s = median(t, runs), cs = median(c, runs);
    const double gflop = 4e-9 * nq * (double)nk * heads * d;
    printf("attention nq %4d nk %4d heads %d d %3d  %7.1f ms %6.1f GFLOP/s  %7.1f CPU-ms "
           "%6.1f GFLOP per CPU-s\n", nq, nk, heads, d, 1e3 * s, gflop / s, 1e3 * cs, gflop / cs);
    free(q), free(kv), free(out);
}

/* GEGLU's activation, GroupNorm + SiLU and LayerNorm at the U-Net's 64² level. */
static void bench_elementwise(int runs)
{
    const int rows = 4096, d = 1280, c = 320;
    float *x = random_floats((size_t)rows * 2 * d, 6.0f), *y = random_floats((size_t)rows * d, 0.0f);
    float *gamma = random_floats((size_t)c, 2.0f), *beta = random_floats((size_t)c, 1.0f);
    double t[3][MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double t0 = cpu_s();
        op_geglu(x, rows, d, y);
        double t1 = cpu_s();
        op_group_norm(x, 2, c, rows, 32, 1e-5f, gamma, beta, 1, y);   /* [2, 320, 64²] */
        double t2 = cpu_s();
        op_layer_norm(x, rows, c, 1e-5f, gamma, beta, y);
        t[0][r] = t1 - t0;
        t[1][r] = t2 - t1;
        t[2][r] = cpu_s() - t2;
    }
    printf("geglu 4096 x 1280 %6.2f CPU-ms   group norm + silu 2 x 320 x 64² %6.2f CPU-ms   "
           "layer norm 4096 x 320 %6.2f CPU-ms\n", 1e3 * median(t[0], runs),
           1e3 * median(t[1], runs), 1e3 * median(t[2], runs));
    free(x), free(y), free(gamma), free(beta);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    sd_arena a;
    sd_arena_init(&a, 0);
    const char *only = argc > 2 ? argv[2] : "";
    errors = strcmp(only, "errors") == 0;
    if (errors)
        only = "conv";
    if (strcmp(only, "elem") == 0 || !*only)
        bench_elementwise(runs);
    if (strcmp(only, "elem") == 0) {
        sd_arena_free(&a);
        return 0;
    }
    if (strcmp(only, "conv") != 0) {
        bench_attention(&a, 4096, 4096, 8, 40, runs);
        bench_attention(&a, 1024, 1024, 8, 80, runs);
        bench_attention(&a, 4096, 77, 8, 40, runs);
    }
    if (strcmp(only, "attn") == 0) {
        sd_arena_free(&a);
        return 0;
    }
    /* every 3x3 stride-1 conv shape of the SD 1.5 U-Net at 512² */
    static const int shapes[][3] = {
        {320, 320, 64}, {640, 320, 64}, {960, 320, 64},
        {320, 640, 32}, {640, 640, 32}, {960, 640, 32}, {1280, 640, 32},
        {640, 1280, 16}, {1280, 1280, 16}, {1920, 1280, 16}, {2560, 1280, 16},
        {1280, 1280, 8}, {2560, 1280, 8},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        bench(&a, 2, shapes[i][0], shapes[i][1], shapes[i][2], runs);
    sd_arena_free(&a);
    return 0;
}
