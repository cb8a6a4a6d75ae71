/* Every tensor op against a naive double-precision loop, over many shapes (odd ones
 * included), plus arena behaviour and the timestep sinusoid against diffusers' own
 * output (block.time_proj of the golden unet_case0). argv[1] = the shared/ folder. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "naive_ops.h"
#include "ops/ops.h"
#include "ops/parallel.h"
#include "ops/simd.h"
#include "ops/winograd.h"
#include "ops/winograd4.h"
#include "io/safetensors.h"
/* the element-wise bodies, built here for the baseline ISA, against their AVX2 and
 * AVX-512 builds (test_kernel_builds) */
#include "ops/gelu_body.h"
#include "ops/kernels_simd.h"
#include "ops/norm_body.h"

/* Ops built on sgemm: max |y - ref| must stay below this times max |ref|. */
#define TOL_GEMM 1e-5
/* Element-wise ops (one rounding or one libm call per value). */
#define TOL_ELEM 1e-6

/* max |y - ref| / max(max |ref|, tiny) */
static double rel_err(const float *y, const double *ref, size_t n)
{
    double err = 0.0, mag = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - ref[i]);
        if (!(d <= err))   /* NaN counts as failure */
            err = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > mag)
            mag = fabs(ref[i]);
    }
    return err / mag;
}

/* ---- conv2d ---------------------------------------------------------------- */

typedef struct {
    int n, ci, h, w, co;
    sd_conv_params p;
    int bias;
} conv_case;

static void check_conv(rng *r, sd_arena *a, const conv_case *c)
{
    const sd_conv_params *p = &c->p;
    int ho = op_conv_out_size(c->h, p->kh, p->stride, p->pad_top, p->pad_bottom);
    int wo = op_conv_out_size(c->w, p->kw, p->stride, p->pad_left, p->pad_right);
    size_t nx = (size_t)c->n * c->ci * c->h * c->w, ny = (size_t)c->n * c->co * ho * wo;
    float *x = rand_floats(r, nx, 1.0f);
    float *wt = rand_floats(r, (size_t)c->co * c->ci * p->kh * p->kw, 0.5f);
    float *bias = c->bias ? rand_floats(r, (size_t)c->co, 1.0f) : NULL;
    float *y = rand_floats(r, ny, 100.0f);   /* garbage: the op must overwrite it all */
    double *ref = new_doubles(ny);

    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_conv2d(a, x, c->n, c->ci, c->h, c->w, wt, bias, c->co, p, y);
    naive_conv(x, c->n, c->ci, c->h, c->w, wt, bias, c->co, p, ho, wo, ref);
    double e = rel_err(y, ref, ny);
    CHECK(rc == 0 && e <= TOL_GEMM,
          "conv n%d ci%d %dx%d co%d k%dx%d s%d pad t%d l%d b%d r%d bias%d: rc %d rel err %.3g",
          c->n, c->ci, c->h, c->w, c->co, p->kh, p->kw, p->stride, p->pad_top, p->pad_left,
          p->pad_bottom, p->pad_right, c->bias, rc, e);
    CHECK(sd_arena_get_mark(a) == m, "conv gives its scratch back");
    free(x);
    free(wt);
    free(bias);
    free(y);
    free(ref);
}

/* Winograd within a small scratch budget: the output channels in chunks (40 = 16 + 16 + 8)
 * and the image in bands of one tile row, U transformed again per band; against the
 * naive loops, and the scratch within the budget. */
static void check_winograd_chunks(rng *r)
{
    const int n = 2, ci = 12, co = 40, h = 19, w = 21;
    const sd_conv_params k3 = op_conv_params(3, 1, 1);
    const size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * h * w;
    /* U for all 40 channels and one tile row of V and M: 26496 floats; with 16 channels
     * 13440: chunks of 16, and bands of one tile row (10 of them) */
    const size_t budget = 16000;
    sd_arena arena, *a = &arena;
    sd_arena_init(a, 0);
    float *x = rand_floats(r, nx, 1.0f), *wt = rand_floats(r, (size_t)co * ci * 9, 0.5f);
    float *bias = rand_floats(r, (size_t)co, 1.0f), *y = rand_floats(r, ny, 100.0f);
    double *ref = new_doubles(ny);
    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = ops_conv3x3_winograd_budget(a, budget, x, n, ci, h, w, wt, bias, co, y);
    naive_conv(x, n, ci, h, w, wt, bias, co, &k3, h, w, ref);
    double e = rel_err(y, ref, ny);
    CHECK(rc == 0 && e <= TOL_GEMM, "winograd in chunks and bands: rc %d rel err %.3g", rc, e);
    CHECK(sd_arena_get_mark(a) == m, "winograd in chunks gives its scratch back");
    /* the budget, plus each worker's row buffers [8, tw + 1] and alignment */
    const size_t bound = (budget + (size_t)ops_workers() * 8 * 12) * sizeof(float) + 256;
    CHECK(a->peak <= bound, "winograd in chunks within its budget: peak %zu of %zu bytes",
          a->peak, bound);
    sd_arena_free(a);
    free(x), free(wt), free(bias), free(y), free(ref);
}

/* Winograd F(4x4, 3x3) called directly (op_conv2d takes it only at the shapes where it
 * pays): odd sizes that cut the last tiles (h, w not multiples of 4), no bias, batch 2; a
 * small budget for chunks of output channels and bands of one tile row; against the
 * naive loops, and the scratch given back. */
static void check_winograd4(rng *r)
{
    static const struct {
        int n, ci, h, w, co, bias;
        size_t budget;
    } cases[] = {
        {2, 5, 33, 35, 3, 1, OPS_WINOGRAD_MAX_FLOATS},
        {1, 4, 32, 32, 6, 0, OPS_WINOGRAD_MAX_FLOATS},
        {2, 6, 16, 16, 5, 1, OPS_WINOGRAD_MAX_FLOATS},
        {1, 17, 6, 7, 9, 1, OPS_WINOGRAD_MAX_FLOATS},   /* a tail of 1 past WT4_LANES */
        {1, 3, 1, 2, 2, 1, OPS_WINOGRAD_MAX_FLOATS},    /* smaller than one tile */
        /* U for 40 channels and one tile row of V and M: 39744 floats; with 16: 25344.
         * Chunks of 16 channels, bands of one tile row (5 of them), U again per band. */
        {2, 12, 19, 21, 40, 1, 30000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int n = cases[i].n, ci = cases[i].ci, h = cases[i].h, w = cases[i].w;
        const int co = cases[i].co;
        const sd_conv_params k3 = op_conv_params(3, 1, 1);
        const size_t nx = (size_t)n * ci * h * w, ny = (size_t)n * co * h * w;
        sd_arena arena, *a = &arena;
        sd_arena_init(a, 0);
        float *x = rand_floats(r, nx, 1.0f), *wt = rand_floats(r, (size_t)co * ci * 9, 0.5f);
        float *bias = cases[i].bias ? rand_floats(r, (size_t)co, 1.0f) : NULL;
        float *y = rand_floats(r, ny, 100.0f);
        double *ref = new_doubles(ny);
        sd_arena_mark m = sd_arena_get_mark(a);
        int rc = ops_conv3x3_winograd4(a, cases[i].budget, x, n, ci, h, w, wt, bias, co, y);
        naive_conv(x, n, ci, h, w, wt, bias, co, &k3, h, w, ref);
        double e = rel_err(y, ref, ny);
        CHECK(rc == 0 && e <= TOL_GEMM, "winograd F(4x4) n%d ci%d %dx%d co%d bias%d budget %zu: "
              "rc %d rel err %.3g", n, ci, h, w, co, cases[i].bias, cases[i].budget, rc, e);
        CHECK(sd_arena_get_mark(a) == m, "winograd F(4x4) gives its scratch back");
        sd_arena_free(a);
        free(x), free(wt), free(bias), free(y), free(ref);
    }
}

/* The F(4x4) transforms' AVX2 and AVX-512 builds against the baseline build, bit for bit
 * (same operations in the same order, no contraction), where the CPU runs them: one tile
 * row of input (with the image's border), one of output, one weight block. */
static void check_winograd4_isas(rng *r)
{
    const ops_winograd4_kernels *builds[2] = {NULL, NULL};
    const char *names[2] = {"avx2", "avx512"};
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        builds[0] = &ops_winograd4_avx2;
#endif
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        builds[1] = &ops_winograd4_avx512;
#endif
    const int h = 13, w = 37, tw = (w + 3) / 4;   /* 10 tiles, the last cut to 1 column */
    const size_t plane = (size_t)tw + 3, scratch = W4_INPUT_SCRATCH(tw) + W4_OUTPUT_SCRATCH(tw);
    float *x = rand_floats(r, (size_t)h * w, 1.0f), *m = rand_floats(r, 36 * plane, 1.0f);
    float *s = rand_floats(r, scratch + W4_WEIGHT_SCRATCH, 1.0f);
    float *v[2], *y[2], *u[2];
    double *g = new_doubles(9 * WT4_LANES), *t = new_doubles(18 * WT4_LANES);
    float *gf = rand_floats(r, 9 * WT4_LANES, 1.0f);
    for (int i = 0; i < 9 * WT4_LANES; i++)
        g[i] = gf[i];
    free(gf);
    for (int b = 0; b < 2; b++) {
        v[b] = calloc(36 * plane, sizeof(float));   /* past tw in each plane: never written */
        y[b] = calloc((size_t)h * w, sizeof(float));
        u[b] = calloc(36 * WT4_LANES, sizeof(float));
        if (!v[b] || !y[b] || !u[b]) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    for (int k = 0; k < 2; k++) {
        if (!builds[k]) {
            printf("SKIP: winograd F(4x4) %s transforms: the CPU does not run them\n", names[k]);
            check_skipped++;
            continue;
        }
        const ops_winograd4_kernels *kk[2] = {&ops_winograd4_base, builds[k]};
        for (int b = 0; b < 2; b++) {
            for (int ty = 0; ty < (h + 3) / 4; ty++) {   /* first and last rows at the border */
                kk[b]->input_row(x, h, w, tw, ty, s, v[b], plane);
                kk[b]->output_row(m, plane, tw, ty, h, w, 0.25f, s, y[b]);
            }
            kk[b]->weight_tiles(g, t, u[b]);
        }
        CHECK(memcmp(v[0], v[1], 36 * plane * sizeof(float)) == 0,
              "winograd F(4x4) %s input transform bit-identical to the baseline build", names[k]);
        CHECK(memcmp(y[0], y[1], (size_t)h * w * sizeof(float)) == 0,
              "winograd F(4x4) %s output transform bit-identical to the baseline build", names[k]);
        CHECK(memcmp(u[0], u[1], 36 * WT4_LANES * sizeof(float)) == 0,
              "winograd F(4x4) %s weight transform bit-identical to the baseline build", names[k]);
    }
    free(x), free(m), free(s), free(g), free(t);
    for (int b = 0; b < 2; b++)
        free(v[b]), free(y[b]), free(u[b]);
}

/* The fp32 weight transforms in AVX-512 (winograd_weights_avx512.c) against the generic
 * ones bit for bit: F(4x4) against the baseline build's weight_tiles, F(2x2) against
 * conv_winograd.c's weight_tiles written out here (same operations, same order). 37 input
 * channels: two full blocks of 16 and a tail of 5; past ci in each plane never written. */
static void check_winograd_weights_avx512(rng *r)
{
#ifdef SD_HAVE_AVX512
    if (!ops_have_avx512()) {
        printf("SKIP: winograd fp32 AVX-512 weight transforms: the CPU does not run them\n");
        check_skipped++;
        return;
    }
    enum { CI = 37, PLANE = CI + 3 };
    float *wt = rand_floats(r, (size_t)CI * 9, 1.0f);
    float *u[2][2];   /* [F(2x2), F(4x4)][generic, avx512] */
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < 2; b++) {
            u[f][b] = malloc(36 * PLANE * sizeof(float));
            if (!u[f][b]) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            for (int i = 0; i < 36 * PLANE; i++)
                u[f][b][i] = -7.0f;   /* sentinel */
        }
    double g[9 * WT4_LANES], t[18 * WT4_LANES];
    float u4[36 * WT4_LANES];
    for (int c0 = 0; c0 < CI; c0 += WT4_LANES) {
        const int lanes = CI - c0 < WT4_LANES ? CI - c0 : WT4_LANES;
        for (int l = 0; l < WT4_LANES; l++)
            for (int tap = 0; tap < 9; tap++)
                g[tap * WT4_LANES + l] = l < lanes ? wt[(c0 + l) * 9 + tap] : 0.0;
        ops_winograd4_base.weight_tiles(g, t, u4);
        for (int p = 0; p < 36; p++)
            memcpy(u[1][0] + p * PLANE + c0, u4 + p * WT4_LANES, (size_t)lanes * sizeof(float));
        for (int l = 0; l < lanes; l++) {   /* F(2x2): G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1] */
            const float *k = wt + (c0 + l) * 9;
            float tt[4][3];
            for (int c = 0; c < 3; c++) {
                tt[0][c] = k[c];
                tt[1][c] = 0.5f * (k[c] + k[3 + c] + k[6 + c]);
                tt[2][c] = 0.5f * (k[c] - k[3 + c] + k[6 + c]);
                tt[3][c] = k[6 + c];
            }
            for (int i = 0; i < 4; i++) {
                float *d = u[0][0] + c0 + l;
                d[(4 * i + 0) * PLANE] = tt[i][0];
                d[(4 * i + 1) * PLANE] = 0.5f * (tt[i][0] + tt[i][1] + tt[i][2]);
                d[(4 * i + 2) * PLANE] = 0.5f * (tt[i][0] - tt[i][1] + tt[i][2]);
                d[(4 * i + 3) * PLANE] = tt[i][2];
            }
        }
    }
    ops_winograd_weights_avx512(wt, CI, u[0][1], PLANE);
    ops_winograd4_weights_avx512(wt, CI, u[1][1], PLANE);
    CHECK(memcmp(u[0][0], u[0][1], 36 * PLANE * sizeof(float)) == 0,
          "winograd F(2x2) fp32 AVX-512 weight transform bit-identical to the generic one");
    CHECK(memcmp(u[1][0], u[1][1], 36 * PLANE * sizeof(float)) == 0,
          "winograd F(4x4) fp32 AVX-512 weight transform bit-identical to the generic one");
    free(wt);
    for (int f = 0; f < 2; f++)
        free(u[f][0]), free(u[f][1]);
#else
    (void)r;
    printf("SKIP: winograd fp32 AVX-512 weight transforms: not built (no -mavx512f)\n");
    check_skipped++;
#endif
}

static void test_conv(rng *r)
{
    sd_arena a;
    sd_arena_init(&a, 0);

    CHECK(op_conv_out_size(64, 3, 1, 1, 1) == 64, "out size same pad");
    CHECK(op_conv_out_size(64, 3, 2, 0, 1) == 32, "out size VAE downsample");
    CHECK(op_conv_out_size(7, 3, 2, 0, 1) == 3, "out size odd downsample");
    sd_conv_params q = op_conv_params(3, 2, 1);
    CHECK(q.kh == 3 && q.kw == 3 && q.stride == 2 && q.pad_top == 1 && q.pad_left == 1 &&
              q.pad_bottom == 1 && q.pad_right == 1,
          "op_conv_params symmetric");

    const sd_conv_params k3 = op_conv_params(3, 1, 1), k1 = op_conv_params(1, 1, 0);
    const sd_conv_params down = {3, 3, 2, 0, 0, 1, 1};   /* VAE Downsample2D */
    const conv_case cases[] = {
        {1, 4, 8, 8, 6, k3, 1},
        {1, 3, 1, 1, 5, k3, 1},           /* 1x1 image through a padded 3x3 */
        {1, 5, 3, 5, 7, k3, 0},
        {2, 7, 5, 3, 3, k3, 1},           /* batch 2 */
        {2, 9, 6, 10, 4, k1, 1},          /* 1x1 fast path */
        {1, 13, 1, 1, 11, k1, 0},
        {2, 3, 4, 7, 2, k1, 0},
        {1, 4, 8, 8, 4, down, 1},         /* asymmetric pad, stride 2 */
        {2, 3, 7, 5, 5, down, 1},         /* odd sizes through the downsample */
        {1, 3, 2, 2, 2, down, 0},
        {1, 6, 9, 9, 3, op_conv_params(3, 2, 1), 1},
        {1, 5, 6, 7, 3, op_conv_params(1, 2, 0), 1},        /* 1x1 stride 2: general path */
        {1, 2, 4, 4, 3, op_conv_params(1, 1, 1), 1},        /* pad on a 1x1 kernel */
        {1, 3, 9, 6, 2, {4, 2, 3, 2, 0, 1, 3}, 1},          /* odd kernel, stride 3, uneven pads */
        {1, 4, 5, 5, 3, {5, 5, 1, 2, 2, 2, 2}, 1},
        {1, 8, 3, 3, 5, op_conv_params(3, 1, 0), 1},        /* valid conv down to 1x1 */
        {2, 5, 33, 35, 3, k3, 1},   /* Winograd F(2x2, 3x3): odd sizes cut the last tiles */
        {1, 4, 32, 32, 6, k3, 0},   /* Winograd, no bias */
        {2, 6, 16, 16, 5, k3, 1},   /* Winograd at its smallest image (fp32: 16x16) */
        {1, 3, 15, 17, 4, k3, 1},   /* just under 16x16 per side, 255 pixels: im2col */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv(r, &a, &cases[i]);
    check_winograd_chunks(r);
    check_winograd4(r);
    check_winograd4_isas(r);
    check_winograd_weights_avx512(r);

    /* A big conv: im2col in bands, scratch bounded near 64 MB rather than 9*ci*h*w
     * floats (here 288 MB unbanded), and the bands still give the right answer. */
    sd_arena big;
    sd_arena_init(&big, 0);
    const conv_case large = {1, 128, 256, 256, 2, k3, 1};
    check_conv(r, &big, &large);
    size_t unbanded = (size_t)9 * 128 * 256 * 256 * sizeof(float);
    CHECK(big.peak <= ((size_t)64 << 20) && big.peak < unbanded / 4,
          "large conv scratch bounded: peak %zu bytes", big.peak);
    sd_arena_free(&big);

    /* An arena too small for the im2col band: -1, no crash, arena unchanged. */
    sd_arena tiny;
    sd_arena_init(&tiny, 1024);
    float *x = rand_floats(r, 4 * 8 * 8, 1.0f), *wt = rand_floats(r, 4 * 4 * 9, 1.0f);
    float *y = rand_floats(r, 4 * 8 * 8, 1.0f);
    CHECK(op_conv2d(&tiny, x, 1, 4, 8, 8, wt, NULL, 4, &k3, y) == -1,
          "conv fails cleanly on a tiny arena");
    CHECK(tiny.used == 0, "failed conv leaves the arena as it was");
    /* Same on an arena that already holds something: the caller's data stays put. */
    sd_arena part;
    sd_arena_init(&part, 16 << 10);
    void *held = sd_arena_alloc(&part, 8 << 10);
    size_t used = part.used;
    CHECK(held && op_conv2d(&part, x, 1, 4, 8, 8, wt, NULL, 4, &k3, y) == -1 && part.used == used,
          "conv fails cleanly on a partly used arena");
    sd_arena_free(&part);
    /* The 1x1 path needs no scratch and still works there. */
    CHECK(op_conv2d(&tiny, x, 1, 4, 8, 8, wt, NULL, 4, &k1, y) == 0, "1x1 conv needs no scratch");
    free(x);
    free(wt);
    free(y);
    sd_arena_free(&tiny);
    sd_arena_free(&a);
}

/* ---- norms ----------------------------------------------------------------- */

static void naive_norm_slice(const float *x, size_t len, double *mean, double *var)
{
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < len; i++)
        s += x[i];
    *mean = s / (double)len;
    for (size_t i = 0; i < len; i++)
        q += ((double)x[i] - *mean) * ((double)x[i] - *mean);
    *var = q / (double)len;
}

static void test_group_norm(rng *r)
{
    const struct {
        int n, c, hw, groups, silu;
        float eps, offset;
    } cases[] = {
        {1, 32, 64, 32, 0, 1e-5f, 0.0f}, {1, 32, 64, 8, 1, 1e-6f, 0.0f},
        {2, 12, 15, 4, 1, 1e-5f, 0.0f},  {1, 6, 1, 3, 0, 1e-5f, 0.0f},  /* 1x1 image */
        {2, 64, 9, 32, 0, 1e-6f, 0.0f},
        {1, 8, 1000, 2, 0, 1e-5f, 30.0f},   /* large mean: the variance must not cancel */
        {1, 4, 3, 4, 1, 1e-5f, 0.0f},       /* one channel per group */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int n = cases[t].n, c = cases[t].c, hw = cases[t].hw, g = cases[t].groups;
        size_t len = (size_t)n * c * hw;
        float *x = rand_floats(r, len, 2.0f);
        for (size_t i = 0; i < len; i++)
            x[i] += cases[t].offset;
        float *gamma = rand_floats(r, (size_t)c, 1.0f), *beta = rand_floats(r, (size_t)c, 1.0f);
        float *y = malloc(len * sizeof *y);
        double *ref = new_doubles(len);
        if (!y)
            exit(2);
        int cg = c / g;
        for (int b = 0; b < n; b++)
            for (int gi = 0; gi < g; gi++) {
                size_t off = ((size_t)b * c + (size_t)gi * cg) * hw;
                double mean, var;
                naive_norm_slice(x + off, (size_t)cg * hw, &mean, &var);
                for (int j = 0; j < cg; j++)
                    for (int i = 0; i < hw; i++) {
                        int ch = gi * cg + j;
                        size_t k = off + (size_t)j * hw + i;
                        double v = (x[k] - mean) / sqrt(var + cases[t].eps) * gamma[ch] + beta[ch];
                        ref[k] = cases[t].silu ? v / (1.0 + exp(-v)) : v;
                    }
            }
        op_group_norm(x, n, c, hw, g, cases[t].eps, gamma, beta, cases[t].silu, y);
        double e = rel_err(y, ref, len);
        CHECK(e <= TOL_ELEM, "group_norm n%d c%d hw%d g%d silu%d: rel err %.3g", n, c, hw, g,
              cases[t].silu, e);
        /* In place gives the same bits. */
        op_group_norm(x, n, c, hw, g, cases[t].eps, gamma, beta, cases[t].silu, x);
        CHECK(memcmp(x, y, len * sizeof *y) == 0, "group_norm in place c%d g%d", c, g);
        free(x);
        free(gamma);
        free(beta);
        free(y);
        free(ref);
    }
}

static void test_layer_norm(rng *r)
{
    const int shapes[][2] = {{1, 1}, {3, 5}, {77, 64}, {10, 768}, {2, 3}, {4, 320}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int rows = shapes[t][0], dim = shapes[t][1];
        size_t len = (size_t)rows * dim;
        float *x = rand_floats(r, len, 3.0f);
        for (size_t i = 0; i < len; i++)
            x[i] += 5.0f;
        float *gamma = rand_floats(r, (size_t)dim, 1.0f), *beta = rand_floats(r, (size_t)dim, 1.0f);
        float *y = malloc(len * sizeof *y);
        double *ref = new_doubles(len);
        if (!y)
            exit(2);
        for (int i = 0; i < rows; i++) {
            double mean, var;
            naive_norm_slice(x + (size_t)i * dim, (size_t)dim, &mean, &var);
            for (int j = 0; j < dim; j++) {
                size_t k = (size_t)i * dim + j;
                ref[k] = (x[k] - mean) / sqrt(var + 1e-5) * gamma[j] + beta[j];
            }
        }
        op_layer_norm(x, rows, dim, 1e-5f, gamma, beta, y);
        double e = rel_err(y, ref, len);
        CHECK(e <= TOL_ELEM, "layer_norm %dx%d: rel err %.3g", rows, dim, e);
        op_layer_norm(x, rows, dim, 1e-5f, gamma, beta, x);
        CHECK(memcmp(x, y, len * sizeof *y) == 0, "layer_norm in place %dx%d", rows, dim);
        free(x);
        free(gamma);
        free(beta);
        free(y);
        free(ref);
    }
}

/* ---- linear, GEGLU, activations -------------------------------------------- */

static void test_linear(rng *r)
{
    const int shapes[][4] = {   /* rows, in, out, bias */
        {1, 1, 1, 1}, {3, 5, 7, 1}, {77, 64, 192, 1}, {2, 320, 1280, 0}, {64, 40, 3, 1},
        {5, 33, 17, 0},
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int rows = shapes[t][0], in = shapes[t][1], out = shapes[t][2];
        float *x = rand_floats(r, (size_t)rows * in, 1.0f);
        float *w = rand_floats(r, (size_t)out * in, 0.5f);
        float *b = shapes[t][3] ? rand_floats(r, (size_t)out, 1.0f) : NULL;
        float *y = rand_floats(r, (size_t)rows * out, 100.0f);
        double *ref = new_doubles((size_t)rows * out);
        naive_linear(x, rows, in, w, b, out, ref);
        op_linear(x, rows, in, w, b, out, y);
        double e = rel_err(y, ref, (size_t)rows * out);
        CHECK(e <= TOL_GEMM, "linear %dx%d -> %d bias%d: rel err %.3g", rows, in, out,
              shapes[t][3], e);
        free(x);
        free(w);
        free(b);
        free(y);
        free(ref);
    }
}

/* erfc form: exact in double down the negative tail, where 1 + erf cancels. */
static double gelu_ref(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }

/* Dense sweep of x over [lo, hi]: the worst per-value error |y - ref| / |ref| divided by
 * its allowance TOL_ELEM + tail(x) (tail: error that rounding x itself causes where the
 * function is ill-conditioned). <= 1 passes. The tails count, not just large values. */
static double sweep_err(void (*op)(float *, size_t), double (*ref)(double),
                        double (*tail)(double), float lo, float hi)
{
    enum { N = 100000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    if (!x || !y)
        exit(2);
    double worst = 0.0;
    for (int i = 0; i < N; i++)
        x[i] = lo + (hi - lo) * (float)i / N;
    memcpy(y, x, N * sizeof *y);
    op(y, N);
    for (int i = 0; i < N; i++) {
        double r = ref(x[i]);
        double e = fabs(y[i] - r) / fabs(r) / (TOL_ELEM + tail(x[i]));
        if (r != 0.0 && !(e <= worst))
            worst = isnan(e) ? INFINITY : e;
    }
    free(x);
    free(y);
    return worst;
}

static double no_tail(double x)
{
    (void)x;
    return 0.0;
}

/* erfc(z) has relative condition ~2z^2 in its tail, and z = x / sqrt 2 carries two
 * float roundings (the constant and the product): 2 z^2 * 2^-23 = x^2 * 2^-23. */
static double gelu_tail_tol(double x) { return x * x * ldexp(1.0, -23); }

static double silu_ref(double x) { return x / (1.0 + exp(-x)); }

static void test_activations(rng *r)
{
    const size_t n = 1001;
    float *x = rand_floats(r, n, 8.0f);
    x[0] = 0.0f;
    x[1] = -30.0f;   /* saturated tails */
    x[2] = 30.0f;
    double *ref = new_doubles(n);
    float *y = malloc(n * sizeof *y);
    if (!y)
        exit(2);

    memcpy(y, x, n * sizeof *y);
    op_silu(y, n);
    for (size_t i = 0; i < n; i++)
        ref[i] = x[i] / (1.0 + exp(-(double)x[i]));
    CHECK(rel_err(y, ref, n) <= TOL_ELEM, "silu: rel err %.3g", rel_err(y, ref, n));

    memcpy(y, x, n * sizeof *y);
    op_gelu_erf(y, n);
    for (size_t i = 0; i < n; i++)
        ref[i] = gelu_ref(x[i]);
    CHECK(rel_err(y, ref, n) <= TOL_ELEM, "gelu_erf: rel err %.3g", rel_err(y, ref, n));

    /* Per value, down to where the result leaves the normal float range (x ~ -87 for
     * SiLU, x ~ -13 for GELU). */
    double e = sweep_err(op_silu, silu_ref, no_tail, -80.0f, 100.0f);
    CHECK(e <= 1.0, "silu per value over [-80, 100]: %.3g of tolerance", e);
    e = sweep_err(op_gelu_erf, gelu_ref, gelu_tail_tol, -12.0f, 100.0f);
    CHECK(e <= 1.0, "gelu_erf per value over [-12, 100]: %.3g of tolerance", e);

    memcpy(y, x, n * sizeof *y);
    op_quick_gelu(y, n);
    for (size_t i = 0; i < n; i++)
        ref[i] = x[i] / (1.0 + exp(-1.702 * (double)x[i]));
    CHECK(rel_err(y, ref, n) <= TOL_ELEM, "quick_gelu: rel err %.3g", rel_err(y, ref, n));

    /* GEGLU: value = first d columns, gate = last d. */
    const int dims[][2] = {{1, 1}, {3, 5}, {2, 13}, {64, 40}, {7, 1280}};   /* tails of 8-wide blocks */
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        int rows = dims[t][0], d = dims[t][1];
        float *g = rand_floats(r, (size_t)rows * 2 * d, 4.0f);
        float *gy = malloc((size_t)rows * d * sizeof *gy);
        double *gref = new_doubles((size_t)rows * d);
        if (!gy)
            exit(2);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < d; j++)
                gref[(size_t)i * d + j] = (double)g[(size_t)i * 2 * d + j] *
                                          gelu_ref(g[(size_t)i * 2 * d + d + j]);
        op_geglu(g, rows, d, gy);
        double e = rel_err(gy, gref, (size_t)rows * d);
        CHECK(e <= TOL_ELEM, "geglu %dx%d: rel err %.3g", rows, d, e);
        free(g);
        free(gy);
        free(gref);
    }
    free(x);
    free(y);
    free(ref);
}

/* ---- attention ------------------------------------------------------------- */

typedef struct {
    int nq, nk, heads, d, causal, fused;
    float q_amp;   /* scale of q: large values give near one-hot rows with underflowing exps */
} attn_case;

static void check_attention(rng *r, sd_arena *a, const attn_case *c)
{
    int inner = c->heads * c->d;
    const float *q, *k, *v;
    int qs, kvs;
    float *buf0, *buf1 = NULL;
    if (c->fused) {
        /* CLIP-style [tokens, 3 * inner] with q | k | v side by side (self-attention). */
        buf0 = rand_floats(r, (size_t)c->nq * 3 * inner, 2.0f);
        for (int i = 0; i < c->nq; i++)
            for (int j = 0; j < inner; j++)
                buf0[(size_t)i * 3 * inner + j] *= c->q_amp;
        q = buf0;
        k = buf0 + inner;
        v = buf0 + 2 * inner;
        qs = kvs = 3 * inner;
    } else {
        /* Separate q [nq, inner]; k and v from one [nk, 2 * inner] buffer (cross-attention). */
        buf0 = rand_floats(r, (size_t)c->nq * inner, 2.0f * c->q_amp);
        buf1 = rand_floats(r, (size_t)c->nk * 2 * inner, 2.0f);
        q = buf0;
        k = buf1;
        v = buf1 + inner;
        qs = inner;
        kvs = 2 * inner;
    }
    size_t no = (size_t)c->nq * inner;
    float *out = rand_floats(r, no, 100.0f);
    double *ref = new_doubles(no);
    sd_arena_mark m = sd_arena_get_mark(a);
    int rc = op_attention(a, q, qs, k, v, kvs, c->nq, c->nk, c->heads, c->d, c->causal, out);
    naive_attention(q, qs, k, v, kvs, c->nq, c->nk, c->heads, c->d, c->causal, ref);
    double e = rel_err(out, ref, no);
    CHECK(rc == 0 && e <= TOL_GEMM,
          "attention nq%d nk%d heads%d d%d causal%d fused%d q_amp %g: rc %d rel err %.3g", c->nq,
          c->nk, c->heads, c->d, c->causal, c->fused, c->q_amp, rc, e);
    CHECK(sd_arena_get_mark(a) == m, "attention gives its scratch back");
    free(buf0);
    free(buf1);
    free(out);
    free(ref);
}

#ifdef SD_HAVE_AVX2
typedef void (*tile_fn)(const float *q, int q_stride, int rows, int d, const float *kt, int nk,
                        int nk16, const float *vp, float scale, int causal_row0, float *scores,
                        float *qt, float *out, int out_stride);

/* Each fused tile kernel compiled in and run by this CPU, called directly (the dispatch
 * picks only one of them), against the naive attention of one head. */
static void test_attention_tiles(rng *r)
{
    struct {
        tile_fn fn;
        const char *name;
        int runs;
    } kernels[] = {
        {ops_attention_tile_avx2, "avx2", ops_have_avx2()},
#ifdef SD_HAVE_AVX512
        {ops_attention_tile_avx512, "avx512", ops_have_avx512()},
#endif
    };
    const int shapes[][4] = {   /* rows, nk, d, causal */
        {6, 64, 40, 0}, {5, 77, 40, 0}, {6, 33, 80, 0}, {3, 100, 160, 0}, {6, 17, 64, 1},
        {1, 1, 8, 0},   {4, 48, 24, 0}, {6, 129, 48, 1},
    };
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!kernels[k].runs)
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int rows = shapes[s][0], nk = shapes[s][1], d = shapes[s][2];
            const int causal = shapes[s][3], nk16 = (nk + 15) / 16 * 16;
            float *q = rand_floats(r, (size_t)rows * d, 2.0f);
            float *kv = rand_floats(r, (size_t)nk * 2 * d, 2.0f);   /* k | v per token */
            float *kt = calloc((size_t)nk16 * d, sizeof *kt), *vp = malloc((size_t)nk * d * 4);
            float *scores = malloc((size_t)OPS_ATTN_ROWS * nk16 * 4);
            float *qt = malloc((size_t)OPS_ATTN_ROWS * d * 4), *out = malloc((size_t)rows * d * 4);
            double *ref = new_doubles((size_t)rows * d);
            for (int j = 0; j < nk; j++)
                for (int c = 0; c < d; c++) {
                    kt[(size_t)(j / 16) * d * 16 + (size_t)c * 16 + j % 16] = kv[(size_t)j * 2 * d + c];
                    vp[(size_t)j * d + c] = kv[(size_t)j * 2 * d + d + c];
                }
            kernels[k].fn(q, d, rows, d, kt, nk, nk16, vp, 1.0f / sqrtf((float)d),
                          causal ? 0 : -1, scores, qt, out, d);
            naive_attention(q, d, kv, kv + d, 2 * d, rows, nk, 1, d, causal, ref);
            double e = rel_err(out, ref, (size_t)rows * d);
            CHECK(e <= TOL_GEMM, "%s tile rows %d nk %d d %d causal %d: rel err %.3g",
                  kernels[k].name, rows, nk, d, causal, e);
            free(q), free(kv), free(kt), free(vp), free(scores), free(qt), free(out), free(ref);
        }
    }
}
#endif

static void test_attention(rng *r)
{
#ifdef SD_HAVE_AVX2
    test_attention_tiles(r);
#endif
    sd_arena a;
    sd_arena_init(&a, 0);
    const attn_case cases[] = {
        {1, 1, 1, 4, 0, 0, 1},   {7, 5, 2, 4, 0, 0, 1},  {5, 7, 3, 4, 0, 0, 1},
        {64, 77, 8, 40, 0, 0, 1},   /* cross-attention shape */
        {64, 64, 1, 40, 0, 0, 1},  {9, 9, 2, 4, 1, 1, 1},  {77, 77, 4, 16, 1, 1, 1},   /* CLIP causal */
        {12, 12, 3, 40, 0, 1, 1},  {3, 1, 2, 8, 0, 0, 1},
        {16, 21, 2, 8, 0, 0, 30},  {19, 19, 2, 8, 1, 1, 30},   /* scores in the hundreds */
        {40, 33, 2, 80, 0, 0, 1},  {30, 100, 1, 160, 0, 0, 1},   /* U-Net levels 1, 2 */
        {45, 45, 2, 64, 1, 1, 1},  {8, 17, 1, 24, 0, 0, 1},   /* CLIP heads; odd key tails */
        {1100, 1000, 1, 4, 0, 0, 1},   /* several query chunks */
        {1100, 1100, 1, 4, 1, 1, 1},   /* causal mask across chunk boundaries */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_attention(r, &a, &cases[i]);
    /* Score block bounded: never nq x nk for a 4096-token self-attention. */
    CHECK(a.peak <= ((size_t)8 << 20), "attention scratch peak %zu bytes", a.peak);
    sd_arena_free(&a);

    sd_arena tiny;
    sd_arena_init(&tiny, 256);
    float *x = rand_floats(r, 16 * 8, 1.0f), *o = rand_floats(r, 16 * 8, 1.0f);
    CHECK(op_attention(&tiny, x, 8, x, x, 8, 16, 16, 2, 4, 0, o) == -1,
          "attention fails cleanly on a tiny arena");
    CHECK(tiny.used == 0, "failed attention leaves the arena as it was");
    free(x);
    free(o);
    sd_arena_free(&tiny);
}

/* ---- layout ops ------------------------------------------------------------ */

static void test_layout(rng *r)
{
    /* add, add_channel_bias */
    float *a = rand_floats(r, 2 * 3 * 5, 1.0f), *b = rand_floats(r, 2 * 3 * 5, 1.0f);
    float *v = rand_floats(r, 2 * 3, 1.0f), *y = malloc(30 * sizeof *y);
    if (!y)
        exit(2);
    op_add(a, b, y, 30);
    int ok = 1;
    for (int i = 0; i < 30; i++)
        ok &= y[i] == a[i] + b[i];
    CHECK(ok, "add");
    op_add(a, b, a, 30);
    CHECK(memcmp(a, y, 30 * sizeof *y) == 0, "add in place");
    memcpy(y, b, 30 * sizeof *y);
    op_add_channel_bias(y, v, 2, 3, 5);
    ok = 1;
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 5; i++) {
                size_t k = ((size_t)n * 3 + c) * 5 + i;
                ok &= y[k] == b[k] + v[n * 3 + c];
            }
    CHECK(ok, "add_channel_bias");
    free(a);
    free(b);
    free(v);
    free(y);

    /* transpose, including non-square and tile-straddling sizes */
    const int tshapes[][2] = {{1, 1}, {3, 5}, {40, 33}, {320, 64}, {1, 70}};
    for (size_t t = 0; t < sizeof tshapes / sizeof tshapes[0]; t++) {
        int rows = tshapes[t][0], cols = tshapes[t][1];
        float *x = rand_floats(r, (size_t)rows * cols, 1.0f);
        float *tx = malloc((size_t)rows * cols * sizeof *tx);
        float *back = malloc((size_t)rows * cols * sizeof *back);
        if (!tx || !back)
            exit(2);
        op_transpose(x, rows, cols, tx);
        ok = 1;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                ok &= tx[(size_t)j * rows + i] == x[(size_t)i * cols + j];
        op_transpose(tx, cols, rows, back);
        CHECK(ok && memcmp(back, x, (size_t)rows * cols * sizeof *x) == 0, "transpose %dx%d",
              rows, cols);
        free(x);
        free(tx);
        free(back);
    }

    /* concat_channels */
    const int n = 2, ca = 3, cb = 5, hw = 7;
    float *ea = rand_floats(r, (size_t)n * ca * hw, 1.0f), *eb = rand_floats(r, (size_t)n * cb * hw, 1.0f);
    float *cat = malloc((size_t)n * (ca + cb) * hw * sizeof *cat);
    if (!cat)
        exit(2);
    op_concat_channels(ea, ca, eb, cb, n, hw, cat);
    ok = 1;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ca + cb; c++)
            for (int p = 0; p < hw; p++) {
                float want = c < ca ? ea[((size_t)i * ca + c) * hw + p]
                                    : eb[((size_t)i * cb + c - ca) * hw + p];
                ok &= cat[((size_t)i * (ca + cb) + c) * hw + p] == want;
            }
    CHECK(ok, "concat_channels");
    free(ea);
    free(eb);
    free(cat);
}

/* Nearest source index by exact integer arithmetic: floor(dst * in / out). */
static int exact_src(int dst, int in, int out)
{
    int s = (int)(((long long)dst * in) / out);
    return s < in - 1 ? s : in - 1;
}

static void test_upsample(rng *r)
{
    const int sizes[][4] = {   /* h, w, ho, wo */
        {1, 1, 2, 2}, {4, 4, 8, 8}, {3, 5, 6, 10},   /* 2x */
        {2, 2, 3, 3}, {3, 3, 6, 6}, {6, 6, 12, 12},  /* the U-Net's skip-size rule */
        {2, 3, 3, 5}, {5, 7, 5, 7},                  /* identity */
        {4, 4, 7, 9}, {7, 5, 13, 10}, {3, 4, 5, 8}, {4, 3, 8, 5},   /* 2x on one axis only */
    };
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int h = sizes[t][0], w = sizes[t][1], ho = sizes[t][2], wo = sizes[t][3];
        const int n = 2, c = 3;
        float *x = rand_floats(r, (size_t)n * c * h * w, 1.0f);
        float *y = malloc((size_t)n * c * ho * wo * sizeof *y);
        if (!y)
            exit(2);
        op_upsample_nearest(x, n, c, h, w, ho, wo, y);
        int ok = 1;
        for (int p = 0; p < n * c; p++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    ok &= y[((size_t)p * ho + oy) * wo + ox] ==
                          x[((size_t)p * h + exact_src(oy, h, ho)) * w + exact_src(ox, w, wo)];
        CHECK(ok, "upsample_nearest %dx%d -> %dx%d", h, w, ho, wo);
        free(x);
        free(y);
    }
}

/* ---- timestep embedding ------------------------------------------------------ */

static void test_timestep_embedding(const char *shared)
{
    /* Against float64 truth: [cos(t f_i) | sin(t f_i)], f_i = 10000^(-i/half). */
    const float ts[] = {0.0f, 1.0f, 250.0f, 999.0f};
    const int dims[] = {2, 8, 32, 320, 7};
    for (size_t a = 0; a < sizeof ts / sizeof ts[0]; a++)
        for (size_t b = 0; b < sizeof dims / sizeof dims[0]; b++) {
            int dim = dims[b], half = dim / 2;
            float out[320];
            double ref[320] = {0};
            op_timestep_embedding(ts[a], dim, out);
            for (int i = 0; i < half; i++) {
                double f = exp(-log(10000.0) * i / half);
                ref[i] = cos(ts[a] * f);
                ref[half + i] = sin(ts[a] * f);
            }
            /* float32 frequencies are off by an ulp: error grows with t. */
            double tol = 1e-6 + 1e-7 * ts[a];
            double e = rel_err(out, ref, (size_t)dim);
            CHECK(e <= tol, "timestep_embedding t=%g dim %d: err %.3g", ts[a], dim, e);
        }

    /* Against diffusers' own float32 result: same frequencies bit for bit; cos/sin
     * from libm may differ from PyTorch's SLEEF by one ulp (6e-8 near 1). */
    char path[4096];
    if (!check_fixture(shared, "golden/unet_case0.safetensors", path, sizeof path))
        return;
    st_file *f = NULL;
    sd_error err;
    if (st_open(path, &f, &err) != SD_OK) {
        CHECK(0, "open %s: %s", path, err.message);
        return;
    }
    const st_tensor *tp = st_find(f, "block.time_proj"), *tt = st_find(f, "timestep");
    CHECK(tp && tt && tp->numel == 32 && tt->numel == 1, "golden time_proj present");
    if (tp && tt && tp->numel == 32 && tt->numel == 1) {
        float want[32], out[32];
        int64_t t64 = 0;
        float tf = 0.0f;
        if (tt->dtype == ST_F32 || tt->dtype == ST_F64 || tt->dtype == ST_F16)
            st_to_f32(tt, &tf, &err);
        else if (st_to_i64(tt, &t64, &err) == SD_OK)
            tf = (float)t64;
        st_to_f32(tp, want, &err);
        op_timestep_embedding(tf, 32, out);
        double e = 0.0;
        for (int i = 0; i < 32; i++)
            e = fmax(e, fabs((double)out[i] - want[i]));
        CHECK(tf == 999.0f && e <= 1.2e-7, "timestep_embedding vs diffusers t=%g: max abs err %.3g",
              tf, e);
    }
    st_close(f);
}

/* ---- the element-wise kernels' builds -------------------------------------------- */

/* The GELU / GEGLU and norm bodies built for AVX2 and AVX-512 (kernels_simd.h) give the
 * same bits as their baseline build (compiled into this test), whichever the dispatch
 * picks; each build the CPU runs is checked, odd lengths included. */
static void test_kernel_builds(rng *r)
{
    typedef struct {
        const char *name;
        int runs;
        void (*geglu)(void *, int, int, int);
        void (*gelu)(float *, size_t);
        void (*group_norm)(void *, int, int, int);
        void (*layer_norm)(void *, int, int, int);
    } build;
    const build builds[] = {
#ifdef SD_HAVE_AVX2
        {"avx2", ops_have_avx2(), ops_geglu_range_avx2, ops_gelu_serial_avx2,
         ops_group_norm_range_avx2, ops_layer_norm_range_avx2},
#endif
#ifdef SD_HAVE_AVX512
        {"avx512", ops_have_avx512(), ops_geglu_range_avx512, ops_gelu_serial_avx512,
         ops_group_norm_range_avx512, ops_layer_norm_range_avx512},
#endif
        {"none", 0, NULL, NULL, NULL, NULL},
    };
    const int rows = 7, d = 333, c = 6, hw = 97, groups = 3;   /* odd: tails everywhere */
    const size_t nx = (size_t)rows * 2 * d;
    float *x = rand_floats(r, nx, 8.0f);
    float *gamma = rand_floats(r, (size_t)d, 2.0f), *beta = rand_floats(r, (size_t)d, 1.0f);
    float *ref = malloc(nx * sizeof *ref), *got = malloc(nx * sizeof *got);
    if (!ref || !got)
        exit(2);
    for (size_t b = 0; b + 1 < sizeof builds / sizeof builds[0]; b++) {
        if (!builds[b].runs)
            continue;
        geglu_args ga = {x, d, ref};
        geglu_range(&ga, 0, 0, rows);
        ga.y = got;
        builds[b].geglu(&ga, 0, 0, rows);
        CHECK(memcmp(ref, got, (size_t)rows * d * sizeof *ref) == 0, "%s geglu bit-identical",
              builds[b].name);

        memcpy(ref, x, nx * sizeof *ref);
        memcpy(got, x, nx * sizeof *got);
        gelu_serial(ref, nx - 5);
        builds[b].gelu(got, nx - 5);
        CHECK(memcmp(ref, got, nx * sizeof *ref) == 0, "%s gelu bit-identical", builds[b].name);

        for (int silu = 0; silu <= 1; silu++) {
            group_norm_args gn = {x, c, hw, groups, silu, 1e-5f, gamma, beta, ref};
            group_norm_range(&gn, 0, 0, 2 * groups);   /* a batch of 2 */
            gn.y = got;
            builds[b].group_norm(&gn, 0, 0, 2 * groups);
            CHECK(memcmp(ref, got, (size_t)2 * c * hw * sizeof *ref) == 0,
                  "%s group norm (silu %d) bit-identical", builds[b].name, silu);
        }
        layer_norm_args ln = {x, d, 1e-5f, gamma, beta, ref};
        layer_norm_range(&ln, 0, 0, rows);
        ln.y = got;
        builds[b].layer_norm(&ln, 0, 0, rows);
        CHECK(memcmp(ref, got, (size_t)rows * d * sizeof *ref) == 0,
              "%s layer norm bit-identical", builds[b].name);
    }
    free(x), free(gamma), free(beta), free(ref), free(got);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    rng r = {0x9E3779B97F4A7C15ull};
    test_conv(&r);
    test_group_norm(&r);
    test_layer_norm(&r);
    test_linear(&r);
    test_activations(&r);
    test_kernel_builds(&r);
    test_attention(&r);
    test_layout(&r);
    test_upsample(&r);
    test_timestep_embedding(shared);
    return check_summary();
}
