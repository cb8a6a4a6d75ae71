/* 2-D convolution with bf16 products: the weight is the rows operand [co][ci kh kw] (packed
 * once), the image is unfolded straight into the cols layout (im2col, two taps at a time,
 * rounded to bf16 on the way), one GEMM per band of output rows writes y[co, hw] in place.
 * 3x3 stride-1 convolutions on large images take Winograd instead where the kernel is
 * AVX512-BF16 (conv_winograd.c): its 2.25x fewer products matter at VDPBF16PS's rate,
 * while AMX tiles run im2col's products faster than Winograd's transforms. */
#include "ops/ops_bf16.h"

#include <string.h>

#include "ops/im2col.h"
#include "ops/parallel.h"
#include "ops/winograd.h"

/* Upper bound on the unfolded band, in bf16 values (32 MB). */
#define CONV_BF16_COL_MAX ((size_t)16 << 20)

size_t ops_bf16_conv_weight_size(int co, int ci, int kh, int kw)
{
    return (size_t)co * ops_bf16_kpad(ci * kh * kw);
}

void ops_bf16_pack_conv_weight(const float *weight, int co, int ci, int kh, int kw,
                               uint16_t *dst)
{
    const int k = ci * kh * kw;
    ops_bf16_pack_rows(weight, co, k, (size_t)k, dst, (size_t)ops_bf16_kpad(k));
}

typedef struct {
    const float *x;          /* one image [ci, h, w] */
    int h, w, wo, oy0, rows, k;
    const sd_conv_params *p;
    int direct;              /* 1x1 stride 1 unpadded: the rows of x are the taps */
    uint16_t *col;           /* cols operand [k, rows * wo] */
    size_t block;            /* bf16 between its column blocks */
    float *tmp;              /* per worker [2, rows * wo] */
} unfold_job;

/* Tap pairs q0 .. q1-1: taps 2q and 2q + 1 unfolded, then rounded into pair row q. */
static void unfold_pairs(void *arg, int worker, int q0, int q1)
{
    const unfold_job *u = arg;
    const int ncols = u->rows * u->wo;
    float *r0 = u->tmp + (size_t)worker * 2 * ncols, *r1 = r0 + ncols;
    for (int q = q0; q < q1; q++) {
        const int k0 = 2 * q, k1 = 2 * q + 1;
        const float *t0 = r0, *t1 = k1 < u->k ? r1 : NULL;
        if (u->direct) {
            const size_t at = (size_t)u->oy0 * u->w;
            t0 = u->x + (size_t)k0 * u->h * u->w + at;
            t1 = t1 ? u->x + (size_t)k1 * u->h * u->w + at : NULL;
        } else {
            ops_im2col_row(u->x, u->h, u->w, u->p, u->wo, u->oy0, u->rows, k0, r0);
            if (t1)
                ops_im2col_row(u->x, u->h, u->w, u->p, u->wo, u->oy0, u->rows, k1, r1);
        }
        ops_bf16_pack_pair(t0, t1, ncols, u->col + (size_t)q * 2 * OPS_BF16_NBLOCK, u->block);
    }
}

static void fill_bias(float *y, const float *bias, int co, size_t cols, size_t ld)
{
    for (int o = 0; o < co; o++)
        for (size_t i = 0; i < cols; i++)
            y[(size_t)o * ld + i] = bias[o];
}

int op_conv2d_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int n, int ci, int h, int w,
                   const uint16_t *weight, const float *bias, int co, const sd_conv_params *p,
                   float *y)
{
    const int ho = op_conv_out_size(h, p->kh, p->stride, p->pad_top, p->pad_bottom);
    const int wo = op_conv_out_size(w, p->kw, p->stride, p->pad_left, p->pad_right);
    const size_t in_hw = (size_t)h * w, out_hw = (size_t)ho * wo;
    const int k = ci * p->kh * p->kw, kpad = ops_bf16_kpad(k);
    if (n <= 0 || co <= 0 || ho <= 0 || wo <= 0)
        return 0;
    if (isa == OPS_BF16_AVX512 && p->kh == 3 && p->kw == 3 && p->stride == 1 &&
        p->pad_top == 1 && p->pad_left == 1 && p->pad_bottom == 1 && p->pad_right == 1 &&
        ops_winograd_bf16_fits(n, ci, co, h, w))
        return ops_conv3x3_winograd_bf16(a, isa, x, n, ci, h, w, weight, bias, co, y);

    /* output rows per band: the unfolded band [kpad, band * wo rounded up to 16] fits */
    size_t band = CONV_BF16_COL_MAX / ((size_t)kpad * wo + (size_t)kpad * OPS_BF16_NBLOCK);
    if (band < 1)
        band = 1;
    if (band > (size_t)ho)
        band = (size_t)ho;
    const size_t max_cols = band * wo;
    const int workers = ops_workers();
    sd_arena_mark mark = sd_arena_get_mark(a);
    uint16_t *col = sd_arena_alloc(a, ops_bf16_cols_size(k, (int)max_cols) * sizeof *col);
    float *tmp = sd_arena_floats(a, (size_t)workers * 2 * max_cols);
    if (!col || !tmp) {
        sd_arena_reset(a, mark);
        return -1;
    }
    const int direct = p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad_top == 0 &&
                       p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t)b * co * out_hw;
        for (int oy0 = 0; oy0 < ho; oy0 += (int)band) {
            const int rows = ho - oy0 < (int)band ? ho - oy0 : (int)band, ncols = rows * wo;
            const size_t block = (size_t)kpad * OPS_BF16_NBLOCK;
            unfold_job u = {x + (size_t)b * ci * in_hw, h, w, wo, oy0, rows, k, p, direct,
                            col, block, tmp};
            const int pairs = (k + 1) / 2;
            ops_parallel_for(ops_workers_for((size_t)k * ncols), pairs, unfold_pairs, &u);
            for (int blk = 0; blk < ops_bf16_nblocks(ncols); blk++)   /* pairs past k: zero */
                memset(col + blk * block + (size_t)pairs * 2 * OPS_BF16_NBLOCK, 0,
                       (size_t)(kpad / 2 - pairs) * 2 * OPS_BF16_NBLOCK * sizeof *col);
            float *yband = yb + (size_t)oy0 * wo;
            if (bias)
                fill_bias(yband, bias, co, (size_t)ncols, out_hw);
            /* [co, rows*wo] = [co, k] · [k, rows*wo], into the band of y */
            ops_gemm_bf16(isa, co, ncols, k, weight, (size_t)kpad, col, yband, out_hw,
                          bias != NULL);
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}

typedef struct {
    const float *tokens;     /* the band's first token [cols][ci] */
    int ci, cols;
    uint16_t *col;           /* cols operand [ci, cols] */
    size_t block;
} tokens_job;

/* Column blocks b0 .. b1-1 of the band: 16 tokens each, rounded and transposed into the
 * cols layout (ops_bf16_pack_cols_t). */
static void pack_token_blocks(void *arg, int worker, int b0, int b1)
{
    const tokens_job *t = arg;
    (void)worker;
    const int j0 = b0 * OPS_BF16_NBLOCK;
    const int j1 = b1 * OPS_BF16_NBLOCK < t->cols ? b1 * OPS_BF16_NBLOCK : t->cols;
    ops_bf16_pack_cols_t(t->tokens + (size_t)j0 * t->ci, t->ci, j1 - j0, (size_t)t->ci,
                         t->col + (size_t)b0 * t->block);
}

int op_conv1x1_tokens_bf16(sd_arena *a, ops_bf16_isa isa, const float *tokens, int n, int hw,
                           int ci, const uint16_t *weight, const float *bias, int co, float *y)
{
    if (n <= 0 || hw <= 0 || co <= 0)
        return 0;
    const int kpad = ops_bf16_kpad(ci);
    const size_t block = (size_t)kpad * OPS_BF16_NBLOCK;
    /* tokens per band: whole column blocks, the band's cols operand within the bound */
    size_t band = CONV_BF16_COL_MAX / block * OPS_BF16_NBLOCK;
    if (band < OPS_BF16_NBLOCK)
        band = OPS_BF16_NBLOCK;
    if (band > (size_t)hw)
        band = (size_t)hw;
    sd_arena_mark mark = sd_arena_get_mark(a);
    uint16_t *col = sd_arena_alloc(a, ops_bf16_cols_size(ci, (int)band) * sizeof *col);
    if (!col) {
        sd_arena_reset(a, mark);
        return -1;
    }
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t)b * co * hw;
        for (int j0 = 0; j0 < hw; j0 += (int)band) {
            const int cols = hw - j0 < (int)band ? hw - j0 : (int)band;
            tokens_job t = {tokens + ((size_t)b * hw + j0) * ci, ci, cols, col, block};
            ops_parallel_for(ops_workers_for((size_t)ci * cols), ops_bf16_nblocks(cols),
                             pack_token_blocks, &t);
            if (bias)
                fill_bias(yb + j0, bias, co, (size_t)cols, (size_t)hw);
            /* [co, cols] = [co, ci] · [ci, cols], into the band of y */
            ops_gemm_bf16(isa, co, cols, ci, weight, (size_t)kpad, col, yb + j0, (size_t)hw,
                          bias != NULL);
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}
