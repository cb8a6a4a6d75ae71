/* 2-D convolution as matrix products: a 1x1 stride-1 convolution is one GEMM per
 * image; a 3x3 stride-1 one on a large enough image goes through Winograd F(4x4, 3x3)
 * (conv_winograd4.c) at the shapes where it pays, else F(2x2, 3x3) (conv_winograd.c);
 * anything else through im2col in bands of output rows so the unfolded matrix stays
 * bounded whatever the image size. */
#include "ops/ops.h"

#include <string.h>

#include "ops/im2col.h"
#include "ops/parallel.h"
#include "ops/winograd.h"
#include "ops/winograd4.h"

/* Upper bound on the im2col band, in floats (64 MB): a 512x512 VAE conv with 128
 * input channels would otherwise unfold into 1.2 GB. */
#define CONV_COL_MAX_FLOATS ((size_t)16 << 20)
/* Output pixels per image below which a batch is unfolded and multiplied in one GEMM. */
#define CONV_BATCH_MAX_HW 1024

int op_conv_out_size(int in, int k, int stride, int pad_before, int pad_after)
{
    return (in + pad_before + pad_after - k) / stride + 1;
}

sd_conv_params op_conv_params(int k, int stride, int pad)
{
    sd_conv_params p = {
        .kh = k, .kw = k, .stride = stride,
        .pad_top = pad, .pad_left = pad, .pad_bottom = pad, .pad_right = pad,
    };
    return p;
}

/* y[co, hw] = bias[co] broadcast, the starting value the GEMM accumulates onto. */
static void fill_bias(float *y, const float *bias, int co, size_t hw, size_t ld)
{
    for (int o = 0; o < co; o++) {
        float b = bias[o];
        float *row = y + (size_t)o * ld;
        for (size_t i = 0; i < hw; i++)
            row[i] = b;
    }
}

typedef struct {
    const float *x;
    int h, w;
    const sd_conv_params *p;
    int wo, oy0, rows;
    float *col;
    size_t ld;           /* floats between rows of col: rows*wo, or more when batched */
} im2col_args;

void ops_im2col_row(const float *x, int h, int w, const sd_conv_params *p, int wo, int oy0,
                    int rows, int kk, float *dst)
{
    const int s = p->stride, taps = p->kh * p->kw;
    const int c = kk / taps, ky = kk % taps / p->kw, kx = kk % p->kw;
    const float *xc = x + (size_t)c * h * w;
    /* Output columns ox whose input column ix = ox*s - pad_left + kx lies in [0, w). */
    int off = kx - p->pad_left;
    int ox_lo = off >= 0 ? 0 : (-off + s - 1) / s;
    int ox_hi = (w - 1 - off) < 0 ? 0 : (w - 1 - off) / s + 1;
    if (ox_hi > wo)
        ox_hi = wo;
    if (ox_lo > ox_hi)
        ox_lo = ox_hi;
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * wo;
        int iy = (oy0 + r) * s - p->pad_top + ky;
        if (iy < 0 || iy >= h) {
            memset(d, 0, (size_t)wo * sizeof *d);
            continue;
        }
        const float *src = xc + (size_t)iy * w;
        for (int ox = 0; ox < ox_lo; ox++)
            d[ox] = 0.0f;
        if (s == 1) {
            memcpy(d + ox_lo, src + ox_lo + off, (size_t)(ox_hi - ox_lo) * sizeof *d);
        } else {
            for (int ox = ox_lo; ox < ox_hi; ox++)
                d[ox] = src[ox * s + off];
        }
        for (int ox = ox_hi; ox < wo; ox++)
            d[ox] = 0.0f;
    }
}

/* Unfolds output rows oy0 .. oy0+rows-1 of input channels c0 .. c1-1 of one image
 * x[ci, h, w] into col[ci*kh*kw, rows*wo] (row stride ld); row (c, ky, kx) of col matches
 * weight[co, c, ky, kx]. */
static void im2col_band(void *arg, int worker, int c0, int c1)
{
    const im2col_args *a = arg;
    const int taps = a->p->kh * a->p->kw;
    (void)worker;
    for (int kk = c0 * taps; kk < c1 * taps; kk++)
        ops_im2col_row(a->x, a->h, a->w, a->p, a->wo, a->oy0, a->rows, kk,
                       a->col + (size_t)kk * a->ld);
}

/* Small images (the U-Net's 16x16 and 8x8 levels): one GEMM for the whole batch,
 * [co, n*hw] = [co, k] · [k, n*hw], so its n dimension is not a few hundred columns that
 * OpenBLAS runs at half speed; then each image's columns are copied into y with the bias. */
static int conv_batched(sd_arena *a, const float *x, int n, int ci, int h, int w,
                        const float *weight, const float *bias, int co, const sd_conv_params *p,
                        int ho, int wo, float *y)
{
    const size_t in_hw = (size_t)h * w, out_hw = (size_t)ho * wo, ld = (size_t)n * out_hw;
    const int k = ci * p->kh * p->kw;
    sd_arena_mark mark = sd_arena_get_mark(a);
    float *col = sd_arena_floats(a, (size_t)k * ld);    /* [k, n*hw] */
    float *out = sd_arena_floats(a, (size_t)co * ld);   /* [co, n*hw] */
    if (!col || !out) {
        sd_arena_reset(a, mark);
        return -1;
    }
    for (int b = 0; b < n; b++) {
        im2col_args unfold = {x + (size_t)b * ci * in_hw, h, w, p, wo, 0, ho,
                              col + (size_t)b * out_hw, ld};
        ops_parallel_for(ops_workers_for((size_t)k * out_hw), ci, im2col_band, &unfold);
    }
    ops_sgemm(0, 0, co, (int)ld, k, 1.0f, weight, k, col, (int)ld, 0.0f, out, (int)ld);
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++) {
            const float *src = out + (size_t)o * ld + (size_t)b * out_hw;
            float *dst = y + ((size_t)b * co + o) * out_hw;
            const float bo = bias ? bias[o] : 0.0f;
            for (size_t i = 0; i < out_hw; i++)
                dst[i] = src[i] + bo;
        }
    sd_arena_reset(a, mark);
    return 0;
}

int op_conv2d(sd_arena *a, const float *x, int n, int ci, int h, int w,
              const float *weight, const float *bias, int co, const sd_conv_params *p,
              float *y)
{
    const int ho = op_conv_out_size(h, p->kh, p->stride, p->pad_top, p->pad_bottom);
    const int wo = op_conv_out_size(w, p->kw, p->stride, p->pad_left, p->pad_right);
    const size_t in_hw = (size_t)h * w, out_hw = (size_t)ho * wo;
    const int k = ci * p->kh * p->kw;
    const float beta = bias ? 1.0f : 0.0f;
    if (n <= 0 || co <= 0 || ho <= 0 || wo <= 0)
        return 0;

    if (p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad_top == 0 && p->pad_left == 0 &&
        p->pad_bottom == 0 && p->pad_right == 0) {
        for (int b = 0; b < n; b++) {
            float *yb = y + (size_t)b * co * out_hw;
            if (bias)
                fill_bias(yb, bias, co, out_hw, out_hw);
            /* [co, hw] = [co, ci] · [ci, hw] */
            ops_sgemm(0, 0, co, (int)out_hw, ci, 1.0f, weight, ci, x + (size_t)b * ci * in_hw,
                      (int)in_hw, beta, yb, (int)out_hw);
        }
        return 0;
    }

    if (p->kh == 3 && p->kw == 3 && p->stride == 1 && p->pad_top == 1 && p->pad_left == 1 &&
        p->pad_bottom == 1 && p->pad_right == 1 && ops_winograd_fits(n, ci, co, h, w)) {
        if (ops_winograd4_fits(n, ci, co, h, w))
            return ops_conv3x3_winograd4(a, OPS_WINOGRAD_MAX_FLOATS, x, n, ci, h, w, weight,
                                         bias, co, y);
        return ops_conv3x3_winograd(a, x, n, ci, h, w, weight, bias, co, y);
    }

    if (n > 1 && out_hw < CONV_BATCH_MAX_HW &&
        (size_t)n * k * out_hw + (size_t)n * co * out_hw <= CONV_COL_MAX_FLOATS)
        return conv_batched(a, x, n, ci, h, w, weight, bias, co, p, ho, wo, y);

    const size_t row_floats = (size_t)k * wo;
    size_t band = CONV_COL_MAX_FLOATS / row_floats;
    if (band < 1)
        band = 1;
    if (band > (size_t)ho)
        band = (size_t)ho;
    sd_arena_mark mark = sd_arena_get_mark(a);
    float *col = sd_arena_floats(a, band * row_floats);   /* [ci*kh*kw, band*wo] */
    if (!col) {
        sd_arena_reset(a, mark);   /* a failed alloc may have moved past a block's tail */
        return -1;
    }

    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * ci * in_hw;
        float *yb = y + (size_t)b * co * out_hw;
        for (int oy0 = 0; oy0 < ho; oy0 += (int)band) {
            int rows = ho - oy0 < (int)band ? ho - oy0 : (int)band;
            int ncols = rows * wo;
            float *yband = yb + (size_t)oy0 * wo;
            im2col_args unfold = {xb, h, w, p, wo, oy0, rows, col, (size_t)ncols};
            ops_parallel_for(ops_workers_for((size_t)k * ncols), ci, im2col_band, &unfold);
            if (bias)
                fill_bias(yband, bias, co, (size_t)ncols, out_hw);
            /* [co, rows*wo] = [co, ci*kh*kw] · [ci*kh*kw, rows*wo], written into the band of y */
            ops_sgemm(0, 0, co, ncols, k, 1.0f, weight, k, col, ncols, beta, yband,
                      (int)out_hw);
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}
