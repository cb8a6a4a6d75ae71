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

/* The cols operand [kpad, rows * wo] of the job's band: its taps, then zero past k. */
static void unfold_band(const unfold_job *u)
{
    const int ncols = u->rows * u->wo, pairs = (u->k + 1) / 2, kpad = ops_bf16_kpad(u->k);
    ops_parallel_for(ops_workers_for((size_t)u->k * ncols), pairs, unfold_pairs, (void *)u);
    for (int blk = 0; blk < ops_bf16_nblocks(ncols); blk++)   /* pairs past k: zero */
        memset(u->col + blk * u->block + (size_t)pairs * 2 * OPS_BF16_NBLOCK, 0,
               (size_t)(kpad / 2 - pairs) * 2 * OPS_BF16_NBLOCK * sizeof *u->col);
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
            unfold_band(&u);
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

/* ---- 3x3 convolution of a nearest 2x upsampled image ------------------------------------ */

/* Output pixel (2y + a, 2x + b) of conv3x3(up2(x)) reads source rows y - 1 + a + i, i = 0, 1
 * only (and the same for columns): tap i of phase a gathers the kernel rows
 * up2_lo[a][i] .. up2_hi[a][i] (a = 0: {0}, {1, 2}; a = 1: {0, 1}, {2}). The zero border of
 * up2(x) is the zero border of x, so each phase is a 2x2 convolution of x padded by 1 - a
 * before and a after. */
static const int up2_lo[2][2] = {{0, 1}, {0, 2}};
static const int up2_hi[2][2] = {{0, 2}, {1, 2}};
#define UP2_PHASES 4   /* (a, b) = (row parity, column parity) */
#define UP2_TAPS 4     /* 2x2 */

typedef struct {
    const uint16_t *weight;   /* rows operand [co][kpad(9 ci)] */
    int ci, co;
    uint16_t *wq;             /* [UP2_PHASES][co][kpad(4 ci)] */
} up2_weights_job;

/* wq[a b][o][c 4 + i 2 + j] = bf16(Σ weight[o][c][ky][kx] over the kernel rows of tap i of
 * phase a and the kernel columns of tap j of phase b): up to 4 bf16 weights widened and
 * summed in fp32, the sum rounded once (as Winograd's transformed weights are). Once per
 * call: 16 ci values per output channel, against the 4 ci products per output pixel. */
static void up2_weights(void *arg, int worker, int o0, int o1)
{
    const up2_weights_job *j = arg;
    const size_t ld = (size_t)ops_bf16_kpad(9 * j->ci), ldq = (size_t)ops_bf16_kpad(4 * j->ci);
    (void)worker;
    for (int o = o0; o < o1; o++) {
        const uint16_t *src = j->weight + (size_t)o * ld;   /* [ci][3][3] */
        for (int ph = 0; ph < UP2_PHASES; ph++) {
            const int a = ph / 2, b = ph % 2;
            uint16_t *dst = j->wq + ((size_t)ph * j->co + o) * ldq;
            for (int c = 0; c < j->ci; c++)
                for (int t = 0; t < UP2_TAPS; t++) {
                    const int i = t / 2, jj = t % 2;
                    float sum = 0.0f;
                    for (int ky = up2_lo[a][i]; ky <= up2_hi[a][i]; ky++)
                        for (int kx = up2_lo[b][jj]; kx <= up2_hi[b][jj]; kx++)
                            sum += f32_from_bits((uint32_t)src[(size_t)c * 9 + 3 * ky + kx] << 16);
                    dst[(size_t)c * UP2_TAPS + t] = ops_bf16_round(sum);
                }
            memset(dst + (size_t)UP2_TAPS * j->ci, 0,
                   (ldq - (size_t)UP2_TAPS * j->ci) * sizeof *dst);
        }
    }
}

typedef struct {
    const float *t0, *t1;    /* phases (a, 0) and (a, 1) of the band: [co, rows * w] */
    const float *bias;
    float *y;                /* [co, 2h, 2w] of the image */
    int h, w, oy0, rows, a;
} up2_interleave_job;

/* y[o, 2 (oy0 + r) + a, 2x + b] = t_b[o, r w + x] + bias[o], channels o0 .. o1-1. */
static void up2_interleave(void *arg, int worker, int o0, int o1)
{
    const up2_interleave_job *j = arg;
    const size_t band = (size_t)j->rows * j->w, wo = 2 * (size_t)j->w;
    (void)worker;
    for (int o = o0; o < o1; o++) {
        const float bias = j->bias ? j->bias[o] : 0.0f;
        for (int r = 0; r < j->rows; r++) {
            const float *restrict s0 = j->t0 + (size_t)o * band + (size_t)r * j->w;
            const float *restrict s1 = j->t1 + (size_t)o * band + (size_t)r * j->w;
            const size_t oy = 2 * (size_t)(j->oy0 + r) + j->a;
            float *restrict dst = j->y + ((size_t)o * 2 * j->h + oy) * wo;
            for (int x = 0; x < j->w; x++) {
                dst[2 * x] = s0[x] + bias;
                dst[2 * x + 1] = s1[x] + bias;
            }
        }
    }
}

int op_conv2d_up2_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int n, int ci, int h,
                       int w, const uint16_t *weight, const float *bias, int co, float *y)
{
    const int k = UP2_TAPS * ci, kpad = ops_bf16_kpad(k);
    const size_t in_hw = (size_t)h * w, out_hw = 4 * in_hw;
    if (n <= 0 || co <= 0 || h <= 0 || w <= 0)
        return 0;
    /* input rows per band: the unfolded band fits CONV_BF16_COL_MAX */
    size_t band = CONV_BF16_COL_MAX / ((size_t)kpad * w + (size_t)kpad * OPS_BF16_NBLOCK);
    if (band < 1)
        band = 1;
    if (band > (size_t)h)
        band = (size_t)h;
    const size_t max_cols = band * w;
    const int workers = ops_workers();
    sd_arena_mark mark = sd_arena_get_mark(a);
    uint16_t *wq = sd_arena_alloc(a, (size_t)UP2_PHASES * co * kpad * sizeof *wq);
    uint16_t *col = sd_arena_alloc(a, ops_bf16_cols_size(k, (int)max_cols) * sizeof *col);
    float *tmp = sd_arena_floats(a, (size_t)workers * 2 * max_cols);
    float *t0 = sd_arena_floats(a, 2 * (size_t)co * max_cols);   /* then t1: phases (a, 0|1) */
    float *t1 = t0 ? t0 + (size_t)co * max_cols : NULL;
    if (!wq || !col || !tmp || !t0) {
        sd_arena_reset(a, mark);
        return -1;
    }
    up2_weights_job wj = {weight, ci, co, wq};
    ops_parallel_for(ops_workers_for((size_t)UP2_PHASES * co * k), co, up2_weights, &wj);
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * ci * in_hw;
        for (int ra = 0; ra < 2; ra++)
            for (int oy0 = 0; oy0 < h; oy0 += (int)band) {
                const int rows = h - oy0 < (int)band ? h - oy0 : (int)band, ncols = rows * w;
                for (int cb = 0; cb < 2; cb++) {
                    const sd_conv_params p = {.kh = 2, .kw = 2, .stride = 1, .pad_top = 1 - ra,
                                              .pad_left = 1 - cb, .pad_bottom = ra,
                                              .pad_right = cb};
                    unfold_job u = {xb, h, w, w, oy0, rows, k, &p, 0, col,
                                    (size_t)kpad * OPS_BF16_NBLOCK, tmp};
                    unfold_band(&u);
                    /* [co, rows*w] = [co, 4 ci] · [4 ci, rows*w] */
                    ops_gemm_bf16(isa, co, ncols, k, wq + (size_t)(2 * ra + cb) * co * kpad,
                                  (size_t)kpad, col, cb ? t1 : t0, (size_t)ncols, 0);
                }
                up2_interleave_job ij = {t0, t1, bias, y + (size_t)b * co * out_hw, h, w, oy0,
                                         rows, ra};
                ops_parallel_for(ops_workers_for((size_t)co * 2 * ncols), co, up2_interleave, &ij);
            }
    }
    sd_arena_reset(a, mark);
    return 0;
}
