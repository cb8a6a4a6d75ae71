/* 3x3 stride-1 pad-1 convolution by Winograd F(2x2, 3x3) (Lavin & Gray 2015):
 *
 *   y_tile[2x2] = Aᵀ [ Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B) ] A     d: the 4x4 input patch of a tile
 *
 * The sum over input channels at each of the 16 tile positions is one GEMM
 * [co, ci] · [ci, tiles], so 16 GEMMs replace the im2col GEMM with 2.25x fewer
 * multiplications and no 9x unfolded copy of the input. The transforms only add,
 * subtract and halve, so the rounding stays that of a direct sum (measured against a
 * float64 reference: no worse than im2col). The fp32 convs from 32² up go through
 * F(4x4, 3x3) instead (conv_winograd4.c: 9-25x im2col's error, within the fp32 goldens'
 * tolerances); F(2x2) keeps the smaller images and bf16. Tiles are processed in
 * bands of tile rows so the transformed input and output stay within
 * OPS_WINOGRAD_MAX_FLOATS. */
#include "ops/winograd.h"

#include <cblas.h>
#include <string.h>

#include "core/float_bits.h"
#include "ops/parallel.h"

#define POS 16   /* positions in a 4x4 transformed tile */
/* Floats between the 16 position planes of V and M beyond their size: planes a multiple
 * of 64 KB apart would put the 16 write streams of a transform in the same cache sets. */
#define PLANE_PAD 16

typedef struct {
    const float *x, *weight, *bias;
    int n, ci, h, w, co;
    int tw;              /* tiles per row */
    int ty0, tb;         /* first tile row of the band, tile rows in the band */
    int cols;            /* n * tb * tw */
    size_t v_plane, m_plane;   /* floats between positions: ci (co) * cols_max + PLANE_PAD */
    /* the fp32 variant takes the output channels in chunks when U for all of them would
     * not fit the scratch bound (1280-channel layers): o_base, the chunk's first channel,
     * o_count its channels, co_chunk the most a chunk has (the stride of U's and M's
     * planes); 0, 0, co with one chunk. The bf16 variant leaves o_base 0. */
    int o_base, o_count, co_chunk;
    float *u;            /* [16, co_chunk, ci] */
    float *v;            /* [16, ci, cols] */
    float *m;            /* [16, co_chunk (bf16: co), cols] */
    float *rows;         /* per worker [8, tw + 1]: input rows split even / odd, or the
                          * four output runs of a tile row */
    float *y;
    /* the bf16 variant (ops_conv3x3_winograd_bf16) */
    ops_bf16_isa isa;
    const uint16_t *weight_bf16;   /* rows operand [co][kpad(9 ci)] */
    int ci_pad;                    /* ops_bf16_kpad(ci) */
    uint16_t *ub;                  /* [16][co][ci_pad] */
    uint16_t *vb;                  /* [16] cols operands [ci, cols], vb_plane apart */
    size_t vb_plane;
    float *vpair;                  /* per worker [2][16][vpair_plane]: two channels of V */
    size_t vpair_plane;            /* cols_max + PLANE_PAD */
} winograd;

/* u[p][l] = (G g_l Gᵀ)[p / 4, p % 4] for WT_LANES 3x3 kernels g_l (lane l of g[t]),
 * G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]: each operation in a loop over the lanes (innermost,
 * a fixed trip count) so that it vectorises. The fp32 and bf16 weight transforms share it. */
#define WT_LANES 16
static void weight_tiles(const float g[9][WT_LANES], float u[POS][WT_LANES])
{
    float t[4][3][WT_LANES];
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < WT_LANES; l++) {
            t[0][k][l] = g[k][l];
            t[1][k][l] = 0.5f * (g[k][l] + g[3 + k][l] + g[6 + k][l]);
            t[2][k][l] = 0.5f * (g[k][l] - g[3 + k][l] + g[6 + k][l]);
            t[3][k][l] = g[6 + k][l];
        }
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < WT_LANES; l++) {
            u[4 * i + 0][l] = t[i][0][l];
            u[4 * i + 1][l] = 0.5f * (t[i][0][l] + t[i][1][l] + t[i][2][l]);
            u[4 * i + 2][l] = 0.5f * (t[i][0][l] - t[i][1][l] + t[i][2][l]);
            u[4 * i + 3][l] = t[i][2][l];
        }
}

/* U[p, o, c] = (G weight[o_base + o, c] Gᵀ)[p] for the chunk's output channels o0..o1-1,
 * WT_LANES input channels at a time: this runs on every weight of the layer
 * once per call (one kernel at a time, scalar, it was 15 % of a 640-channel 32²
 * convolution; the AVX-512 one gives the same values without the copies). */
static void transform_weights(void *arg, int worker, int o0, int o1)
{
    const winograd *wg = arg;
    const size_t plane = (size_t)wg->co_chunk * wg->ci;
    (void)worker;
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512()) {
        for (int o = o0; o < o1; o++)
            ops_winograd_weights_avx512(wg->weight + (size_t)(wg->o_base + o) * wg->ci * 9,
                                        wg->ci, wg->u + (size_t)o * wg->ci, plane);
        return;
    }
#endif
    for (int o = o0; o < o1; o++) {
        const float *src = wg->weight + (size_t)(wg->o_base + o) * wg->ci * 9;   /* [ci][9] */
        for (int c0 = 0; c0 < wg->ci; c0 += WT_LANES) {
            const int lanes = wg->ci - c0 < WT_LANES ? wg->ci - c0 : WT_LANES;
            float g[9][WT_LANES], u[POS][WT_LANES];
            for (int l = 0; l < WT_LANES; l++)
                for (int t = 0; t < 9; t++)
                    g[t][l] = l < lanes ? src[(size_t)(c0 + l) * 9 + t] : 0.0f;
            weight_tiles(g, u);
            float *dst = wg->u + (size_t)o * wg->ci + c0;
            for (int p = 0; p < POS; p++)
                memcpy(dst + (size_t)p * plane, u[p], (size_t)lanes * sizeof *dst);
        }
    }
}

/* v_c[p * plane + col] = (Bᵀ d B)[p / 4, p % 4] for input channel c over the band,
 * Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. The four input rows under a tile row are
 * first split into even and odd columns of a zero-bordered copy (even, odd: [4, tw + 1]),
 * so the tile loop reads and writes contiguous runs (it vectorises) and has no bounds
 * checks. */
static void transform_channel(const winograd *wg, int c, float *even, float *odd,
                              float *v_c, size_t plane)
{
    const int h = wg->h, w = wg->w, tw = wg->tw, per_image = wg->tb * tw;
    for (int b = 0; b < wg->n; b++) {
        const float *xc = wg->x + ((size_t)b * wg->ci + c) * h * w;   /* [h, w] */
        float *dst = v_c + (size_t)b * per_image;
        for (int ty = 0; ty < wg->tb; ty++) {
            const int iy0 = 2 * (wg->ty0 + ty) - 1;
            for (int r = 0; r < 4; r++) {
                float *e = even + (size_t)r * (tw + 1), *o = odd + (size_t)r * (tw + 1);
                const int iy = iy0 + r;
                const float *src = iy >= 0 && iy < h ? xc + (size_t)iy * w : NULL;
                for (int i = 0; i <= tw; i++) {   /* e[i] = column 2i - 1, o[i] = 2i */
                    const int xe = 2 * i - 1, xo = 2 * i;
                    e[i] = src && xe >= 0 && xe < w ? src[xe] : 0.0f;
                    o[i] = src && xo < w ? src[xo] : 0.0f;
                }
            }
            float *restrict out = dst + (size_t)ty * tw;
            const float *restrict e0 = even, *restrict e1 = even + (tw + 1);
            const float *restrict e2 = even + 2 * (tw + 1), *restrict e3 = even + 3 * (tw + 1);
            const float *restrict o0 = odd, *restrict o1 = odd + (tw + 1);
            const float *restrict o2 = odd + 2 * (tw + 1), *restrict o3 = odd + 3 * (tw + 1);
            for (int tx = 0; tx < tw; tx++) {
                /* d[r] = row r, columns 2tx-1 .. 2tx+2: e[tx], o[tx], e[tx+1], o[tx+1] */
                float t[4][4];
                const float d0[4] = {e0[tx], o0[tx], e0[tx + 1], o0[tx + 1]};
                const float d1[4] = {e1[tx], o1[tx], e1[tx + 1], o1[tx + 1]};
                const float d2[4] = {e2[tx], o2[tx], e2[tx + 1], o2[tx + 1]};
                const float d3[4] = {e3[tx], o3[tx], e3[tx + 1], o3[tx + 1]};
                for (int q = 0; q < 4; q++) {
                    t[0][q] = d0[q] - d2[q];
                    t[1][q] = d1[q] + d2[q];
                    t[2][q] = d2[q] - d1[q];
                    t[3][q] = d1[q] - d3[q];
                }
                for (int i = 0; i < 4; i++) {
                    out[(size_t)(4 * i + 0) * plane + tx] = t[i][0] - t[i][2];
                    out[(size_t)(4 * i + 1) * plane + tx] = t[i][1] + t[i][2];
                    out[(size_t)(4 * i + 2) * plane + tx] = t[i][2] - t[i][1];
                    out[(size_t)(4 * i + 3) * plane + tx] = t[i][1] - t[i][3];
                }
            }
        }
    }
}

/* V[p, c, col] for input channels c0..c1-1 of the band (transform_channel). */
static void transform_input(void *arg, int worker, int c0, int c1)
{
    const winograd *wg = arg;
    /* per worker: even / odd columns of the 4 rows, column -1 .. 2 tw, [2, 4, tw + 1] */
    float *even = wg->rows + (size_t)worker * 8 * (wg->tw + 1), *odd = even + 4 * (wg->tw + 1);
    for (int c = c0; c < c1; c++)
        transform_channel(wg, c, even, odd, wg->v + (size_t)c * wg->cols, wg->v_plane);
}

/* y[b, o_base + o, 2ty + i, 2tx + j] = (Aᵀ m A)[i, j] + bias[o_base + o] for the chunk's
 * output channels o0..o1-1 (m holds the chunk's),
 * Aᵀ = [1 1 1 0; 0 1 -1 -1]; the last row / column of a tile past the image is dropped.
 * A tile row is computed into four runs (y[i, j] for every tile), which vectorises, then
 * interleaved into the two image rows. */
static void transform_output(void *arg, int worker, int o0, int o1)
{
    const winograd *wg = arg;
    const int h = wg->h, w = wg->w, tw = wg->tw, per_image = wg->tb * tw;
    const size_t plane = wg->m_plane;
    float *y00 = wg->rows + (size_t)worker * 8 * (tw + 1);   /* [4, tw], within the worker's rows */
    float *y01 = y00 + tw, *y10 = y00 + 2 * tw, *y11 = y00 + 3 * tw;
    for (int o = o0; o < o1; o++) {
        const int oc = wg->o_base + o;   /* the channel of y */
        const float bias = wg->bias ? wg->bias[oc] : 0.0f;
        for (int b = 0; b < wg->n; b++) {
            float *yc = wg->y + ((size_t)b * wg->co + oc) * h * w;   /* [h, w] */
            const float *src = wg->m + (size_t)o * wg->cols + (size_t)b * per_image;
            for (int ty = 0; ty < wg->tb; ty++) {
                const float *restrict m = src + (size_t)ty * tw;
                float *restrict r00 = y00, *restrict r01 = y01, *restrict r10 = y10;
                float *restrict r11 = y11;
                for (int tx = 0; tx < tw; tx++) {
                    float mm[4][4], t[2][4];
                    for (int p = 0; p < POS; p++)
                        mm[p / 4][p % 4] = m[(size_t)p * plane + tx];
                    for (int j = 0; j < 4; j++) {
                        t[0][j] = mm[0][j] + mm[1][j] + mm[2][j];
                        t[1][j] = mm[1][j] - mm[2][j] - mm[3][j];
                    }
                    r00[tx] = (t[0][0] + t[0][1] + t[0][2]) + bias;
                    r01[tx] = (t[0][1] - t[0][2] - t[0][3]) + bias;
                    r10[tx] = (t[1][0] + t[1][1] + t[1][2]) + bias;
                    r11[tx] = (t[1][1] - t[1][2] - t[1][3]) + bias;
                }
                const int oy = 2 * (wg->ty0 + ty);
                float *row0 = yc + (size_t)oy * w, *row1 = row0 + w;
                const int pairs = w / 2;   /* full 2-column tiles; an odd w drops one column */
                for (int tx = 0; tx < pairs; tx++) {
                    row0[2 * tx] = y00[tx];
                    row0[2 * tx + 1] = y01[tx];
                }
                if (w % 2)
                    row0[w - 1] = y00[tw - 1];
                if (oy + 1 < h) {
                    for (int tx = 0; tx < pairs; tx++) {
                        row1[2 * tx] = y10[tx];
                        row1[2 * tx + 1] = y11[tx];
                    }
                    if (w % 2)
                        row1[w - 1] = y10[tw - 1];
                }
            }
        }
    }
}

/* M[p] = U[p] · V[p]: [o_count, cols] = [o_count, ci] · [ci, cols] at tile positions
 * p0..p1-1. */
static void multiply_positions(void *arg, int worker, int p0, int p1)
{
    const winograd *wg = arg;
    (void)worker;
    for (int p = p0; p < p1; p++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, wg->o_count, wg->cols, wg->ci,
                    1.0f, wg->u + (size_t)p * wg->co_chunk * wg->ci, wg->ci,
                    wg->v + (size_t)p * wg->v_plane,
                    wg->cols, 0.0f, wg->m + (size_t)p * wg->m_plane, wg->cols);
}

/* Output channels per chunk of the fp32 variant: all of them when U [16, co, ci] and one
 * tile row of the batch fit the scratch bound (`budget` floats); else chunks of a multiple
 * of 16 channels whose U takes at most half of it (the rest for the bands of V and M),
 * as even as that allows. 0 when not even 16 channels fit. */
static int chunk_channels(int n, int ci, int co, int w, size_t budget)
{
    const size_t cols_min = (size_t)n * ((w + 1) / 2);   /* one tile row of the batch */
    const size_t pads = (size_t)2 * POS * PLANE_PAD;
#define FITS(cc) ((size_t)POS * (cc) * ci + (size_t)POS * (ci + (cc)) * cols_min + pads <= budget)
    if (FITS(co))
        return co;
    int cc = (int)(budget / 2 / ((size_t)POS * ci)) / 16 * 16;
    if (cc > co)
        cc = co / 16 * 16;
    while (cc >= 16 && !FITS(cc))
        cc -= 16;
#undef FITS
    if (cc < 16)
        return 0;
    const int chunks = (co + cc - 1) / cc;
    return ((co + chunks - 1) / chunks + 15) / 16 * 16;   /* <= cc, a multiple of 16 */
}

int ops_winograd_fits(int n, int ci, int co, int h, int w)
{
    return (size_t)h * w >= OPS_WINOGRAD_FP32_MIN_HW &&
           chunk_channels(n, ci, co, w, OPS_WINOGRAD_MAX_FLOATS) > 0;
}

int ops_conv3x3_winograd(sd_arena *a, const float *x, int n, int ci, int h, int w,
                         const float *weight, const float *bias, int co, float *y)
{
    return ops_conv3x3_winograd_budget(a, OPS_WINOGRAD_MAX_FLOATS, x, n, ci, h, w, weight, bias,
                                       co, y);
}

int ops_conv3x3_winograd_budget(sd_arena *a, size_t budget, const float *x, int n, int ci,
                                int h, int w, const float *weight, const float *bias, int co,
                                float *y)
{
    const int th = (h + 1) / 2, tw = (w + 1) / 2, workers = ops_workers();
    int cc = chunk_channels(n, ci, co, w, budget);
    if (cc <= 0)   /* past the budget (a caller that did not ask): the smallest chunk */
        cc = co < 16 ? co : 16;
    const size_t u_floats = (size_t)POS * cc * ci, per_col = (size_t)POS * (ci + cc);
    const size_t pads = (size_t)2 * POS * PLANE_PAD;
    /* tile rows per band: as many as fit beside U (chunk_channels checked that one does) */
    size_t tb = u_floats + pads < budget ? (budget - u_floats - pads) / (per_col * (size_t)n * tw)
                                         : 1;
    if (tb < 1)
        tb = 1;
    if (tb > (size_t)th)
        tb = (size_t)th;
    const size_t cols_max = (size_t)n * tb * tw;

    sd_arena_mark mark = sd_arena_get_mark(a);
    winograd wg = {
        .x = x, .weight = weight, .bias = bias, .n = n, .ci = ci, .h = h, .w = w, .co = co,
        .tw = tw, .o_count = cc, .co_chunk = cc,
        .u = sd_arena_floats(a, u_floats),                     /* [16, cc, ci] */
        .v_plane = (size_t)ci * cols_max + PLANE_PAD,
        .m_plane = (size_t)cc * cols_max + PLANE_PAD,
        .v = sd_arena_floats(a, (size_t)POS * ((size_t)ci * cols_max + PLANE_PAD)),
        .m = sd_arena_floats(a, (size_t)POS * ((size_t)cc * cols_max + PLANE_PAD)),
        .rows = sd_arena_floats(a, (size_t)workers * 8 * (tw + 1)),
        .y = y,
    };
    if (!wg.u || !wg.v || !wg.m || !wg.rows) {
        sd_arena_reset(a, mark);
        return -1;
    }
    if (cc == co)   /* one chunk: U once for every band */
        ops_parallel_for(workers, co, transform_weights, &wg);
    for (int ty0 = 0; ty0 < th; ty0 += (int)tb) {
        wg.ty0 = ty0;
        wg.tb = th - ty0 < (int)tb ? th - ty0 : (int)tb;
        wg.cols = n * wg.tb * tw;
        ops_parallel_for(workers, ci, transform_input, &wg);
        for (int o0 = 0; o0 < co; o0 += cc) {
            wg.o_base = o0;
            wg.o_count = co - o0 < cc ? co - o0 : cc;
            if (cc < co)   /* U again per band: with 1280 channels the image is one band */
                ops_parallel_for(workers, wg.o_count, transform_weights, &wg);
            /* the 16 position GEMMs are independent: one worker takes whole GEMMs */
            ops_parallel_for(workers, POS, multiply_positions, &wg);
            ops_parallel_for(workers, wg.o_count, transform_output, &wg);
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}

/* ---- bf16: U and V rounded to bf16, the 16 products by the bf16 kernel ------------------ */

/* Ub[p, o, c] = bf16(weight_tiles(g)[p]), g the bf16 weight widened (exactly); the transform
 * itself runs in fp32 and its result is rounded once. WT_LANES input channels at a time
 * (the tail zero-filled): this runs once per call, on every weight of the layer. */
static void transform_weights_bf16(void *arg, int worker, int o0, int o1)
{
    const winograd *wg = arg;
    const size_t plane = (size_t)wg->co * wg->ci_pad, ld = (size_t)ops_bf16_kpad(9 * wg->ci);
    (void)worker;
    for (int o = o0; o < o1; o++) {
        for (int p = 0; p < POS; p++)   /* the k padding of each row */
            memset(wg->ub + p * plane + (size_t)o * wg->ci_pad + wg->ci, 0,
                   (size_t)(wg->ci_pad - wg->ci) * sizeof *wg->ub);
        const uint16_t *src = wg->weight_bf16 + (size_t)o * ld;   /* [ci][9] */
#ifdef SD_HAVE_AVX512_BF16
        ops_winograd_bf16_weights_avx512(src, wg->ci, wg->ub + (size_t)o * wg->ci_pad, plane);
#else
        for (int c0 = 0; c0 < wg->ci; c0 += WT_LANES) {
            const int lanes = wg->ci - c0 < WT_LANES ? wg->ci - c0 : WT_LANES;
            float g[9][WT_LANES], u[POS][WT_LANES];
            uint16_t b[POS][WT_LANES];
            for (int l = 0; l < WT_LANES; l++)
                for (int t = 0; t < 9; t++)
                    g[t][l] = l < lanes ? f32_from_bits((uint32_t)src[(size_t)(c0 + l) * 9 + t] << 16)
                                        : 0.0f;
            weight_tiles(g, u);
            for (int p = 0; p < POS; p++)
                for (int l = 0; l < WT_LANES; l++)
                    b[p][l] = ops_bf16_round(u[p][l]);
            uint16_t *dst = wg->ub + (size_t)o * wg->ci_pad + c0;
            for (int p = 0; p < POS; p++)
                memcpy(dst + (size_t)p * plane, b[p], (size_t)lanes * sizeof *dst);
        }
#endif
    }
}

/* Vb[p] = V[p] [ci, cols] in the cols layout, for channel pairs q0..q1-1 (channels 2q,
 * 2q + 1). With the AVX-512 transform each channel goes straight into its half of pair row
 * q of every position; else the pair's 16 transformed rows go through the worker's own
 * fp32 scratch [2][16][cols_max] (it stays in cache) and are packed from there. Either
 * way the band's fp32 V never travels through memory. */
static void transform_pack_pairs(void *arg, int worker, int q0, int q1)
{
    const winograd *wg = arg;
    const size_t block = (size_t)wg->ci_pad * OPS_BF16_NBLOCK;
#ifdef SD_HAVE_AVX512_BF16
    (void)worker;
    const int per_image = wg->tb * wg->tw, tail = wg->cols % OPS_BF16_NBLOCK;
    for (int q = q0; q < q1; q++) {
        uint16_t *dst = wg->vb + (size_t)q * 2 * OPS_BF16_NBLOCK;
        for (int half = 0; half < 2; half++) {
            const int c = 2 * q + half;
            for (int b = 0; b < wg->n; b++) {
                if (c < wg->ci)
                    ops_winograd_bf16_input_avx512(
                        wg->x + ((size_t)b * wg->ci + c) * wg->h * wg->w, wg->h, wg->w, wg->ty0,
                        wg->tb, wg->tw, b * per_image, half, dst, wg->vb_plane, block);
            }
        }
        if (2 * q + 1 >= wg->ci || tail)   /* the odd channel's half, the columns past cols */
            for (int p = 0; p < POS; p++) {
                uint16_t *pp = dst + (size_t)p * wg->vb_plane;
                if (2 * q + 1 >= wg->ci)
                    for (int col = 0; col < wg->cols; col++)
                        pp[(size_t)(col / OPS_BF16_NBLOCK) * block + 2 * (col % OPS_BF16_NBLOCK) + 1] = 0;
                if (tail)
                    memset(pp + (size_t)(wg->cols / OPS_BF16_NBLOCK) * block + 2 * tail, 0,
                           (size_t)(OPS_BF16_NBLOCK - tail) * 2 * sizeof *pp);
            }
    }
#else
    float *even = wg->rows + (size_t)worker * 8 * (wg->tw + 1), *odd = even + 4 * (wg->tw + 1);
    const size_t plane = wg->vpair_plane;
    float *pair = wg->vpair + (size_t)worker * 2 * POS * plane;   /* [2][16][plane] */
    for (int q = q0; q < q1; q++) {
        const int c0 = 2 * q, has1 = c0 + 1 < wg->ci;
        float *v0 = pair, *v1 = pair + POS * plane;
        transform_channel(wg, c0, even, odd, v0, plane);
        if (has1)
            transform_channel(wg, c0 + 1, even, odd, v1, plane);
        for (int p = 0; p < POS; p++)
            ops_bf16_pack_pair(v0 + (size_t)p * plane, has1 ? v1 + (size_t)p * plane : NULL,
                               wg->cols, wg->vb + (size_t)p * wg->vb_plane +
                                             (size_t)q * 2 * OPS_BF16_NBLOCK, block);
    }
#endif
}

/* transform_output for the bf16 variant: the AVX-512 one where it is built (the same
 * values), else transform_output itself. */
static void transform_output_bf16(void *arg, int worker, int o0, int o1)
{
#ifdef SD_HAVE_AVX512_BF16
    const winograd *wg = arg;
    const int per_image = wg->tb * wg->tw;
    (void)worker;
    for (int o = o0; o < o1; o++)
        for (int b = 0; b < wg->n; b++)
            ops_winograd_bf16_output_avx512(
                wg->m + (size_t)o * wg->cols + (size_t)b * per_image, wg->m_plane, wg->ty0,
                wg->tb, wg->tw, wg->bias ? wg->bias[o] : 0.0f, wg->h, wg->w,
                wg->y + ((size_t)b * wg->co + o) * wg->h * wg->w);
#else
    transform_output(arg, worker, o0, o1);
#endif
}

static void multiply_positions_bf16(void *arg, int worker, int p0, int p1)
{
    const winograd *wg = arg;
    (void)worker;
    for (int p = p0; p < p1; p++)
        ops_gemm_bf16_serial(wg->isa, wg->co, wg->cols, wg->ci,
                             wg->ub + (size_t)p * wg->co * wg->ci_pad, (size_t)wg->ci_pad,
                             wg->vb + (size_t)p * wg->vb_plane, wg->m + (size_t)p * wg->m_plane,
                             (size_t)wg->cols, 0);
}

/* Bytes of the bf16 variant's scratch: Ub, and per column of a band Vb, M and each
 * worker's two channels of V (fp32; the generic input transform's, counted either way so
 * that which convolutions fit and their bands do not depend on the build). */
static size_t bf16_fixed_bytes(int ci, int co)
{
    return (size_t)POS * co * ops_bf16_kpad(ci) * sizeof(uint16_t) +
           (size_t)POS * ((2 * (size_t)ops_workers() + 1) * PLANE_PAD * sizeof(float) +
                          (size_t)ops_bf16_kpad(ci) * OPS_BF16_NBLOCK * sizeof(uint16_t));
}

static size_t bf16_col_bytes(int ci, int co)
{
    return (size_t)POS * ((2 * (size_t)ops_workers() + co) * sizeof(float) +
                          (size_t)ops_bf16_kpad(ci) * sizeof(uint16_t));
}

int ops_winograd_bf16_fits(int n, int ci, int co, int h, int w)
{
    const size_t cols_min = (size_t)n * ((w + 1) / 2);
    return (size_t)h * w >= OPS_WINOGRAD_MIN_HW && ci >= OPS_WINOGRAD_BF16_MIN_CI &&
           bf16_fixed_bytes(ci, co) + bf16_col_bytes(ci, co) * cols_min <=
               OPS_WINOGRAD_MAX_FLOATS * sizeof(float);
}

int ops_conv3x3_winograd_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int n, int ci,
                              int h, int w, const uint16_t *weight, const float *bias, int co,
                              float *y)
{
    const int th = (h + 1) / 2, tw = (w + 1) / 2, workers = ops_workers();
    const size_t budget = OPS_WINOGRAD_MAX_FLOATS * sizeof(float);
    size_t tb = (budget - bf16_fixed_bytes(ci, co)) / (bf16_col_bytes(ci, co) * (size_t)n * tw);
    if (tb < 1)
        tb = 1;
    if (tb > (size_t)th)
        tb = (size_t)th;
    const size_t cols_max = (size_t)n * tb * tw;
    const int ci_pad = ops_bf16_kpad(ci);

    sd_arena_mark mark = sd_arena_get_mark(a);
    winograd wg = {
        .x = x, .bias = bias, .n = n, .ci = ci, .h = h, .w = w, .co = co, .tw = tw,
        .vpair_plane = cols_max + PLANE_PAD,   /* no V: transform_pack_pairs */
        .m_plane = (size_t)co * cols_max + PLANE_PAD,
        .m = sd_arena_floats(a, (size_t)POS * ((size_t)co * cols_max + PLANE_PAD)),
        .rows = sd_arena_floats(a, (size_t)workers * 8 * (tw + 1)),
        .y = y,
        .isa = isa, .weight_bf16 = weight, .ci_pad = ci_pad,
        .ub = sd_arena_alloc(a, (size_t)POS * co * ci_pad * sizeof(uint16_t)),
        .vb_plane = ops_bf16_cols_size(ci, (int)cols_max) + 2 * PLANE_PAD,
    };
    wg.vb = sd_arena_alloc(a, (size_t)POS * wg.vb_plane * sizeof(uint16_t));
#ifdef SD_HAVE_AVX512_BF16   /* the AVX-512 input transform needs no fp32 pair */
    const int pair_ok = 1;
#else
    wg.vpair = sd_arena_floats(a, (size_t)workers * 2 * POS * (cols_max + PLANE_PAD));
    const int pair_ok = wg.vpair != NULL;
#endif
    if (!pair_ok || !wg.m || !wg.rows || !wg.ub || !wg.vb) {
        sd_arena_reset(a, mark);
        return -1;
    }
    ops_parallel_for(workers, co, transform_weights_bf16, &wg);
    /* the k padding of every position's Vb, past the last pair: zero once, never written */
    const int pairs = (ci + 1) / 2;
    for (int p = 0; p < POS; p++)
        for (int blk = 0; blk < ops_bf16_nblocks((int)cols_max); blk++)
            memset(wg.vb + (size_t)p * wg.vb_plane + (size_t)blk * ci_pad * OPS_BF16_NBLOCK +
                       (size_t)pairs * 2 * OPS_BF16_NBLOCK,
                   0, (size_t)(ci_pad / 2 - pairs) * 2 * OPS_BF16_NBLOCK * sizeof *wg.vb);
    for (int ty0 = 0; ty0 < th; ty0 += (int)tb) {
        wg.ty0 = ty0;
        wg.tb = th - ty0 < (int)tb ? th - ty0 : (int)tb;
        wg.cols = n * wg.tb * tw;
        ops_parallel_for(workers, pairs, transform_pack_pairs, &wg);
        ops_parallel_for(workers, POS, multiply_positions_bf16, &wg);
        ops_parallel_for(workers, co, transform_output_bf16, &wg);
    }
    sd_arena_reset(a, mark);
    return 0;
}
