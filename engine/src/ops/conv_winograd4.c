/* 3x3 stride-1 pad-1 convolution by Winograd F(4x4, 3x3) (Lavin & Gray 2015), fp32:
 *
 *   y_tile[4x4] = Aᵀ [ Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B) ] A     d: the 6x6 input patch of a tile
 *
 * As conv_winograd.c's F(2x2, 3x3), with 36 position GEMMs [co, ci] · [ci, tiles] over a
 * quarter of the tiles: 2.25 multiplications per output instead of 4, and a quarter of
 * F(2x2)'s transformed input and output per output pixel through memory. The transforms
 * scale by up to 8 and 2.5 (winograd4_body.h has the matrices), so the rounding error is
 * larger than F(2x2)'s; the fp32 goldens hold it at their unchanged tolerances (measured:
 * the notes of issue 17). Tiles are processed in bands of tile rows so the transformed
 * input and output stay within the scratch bound. */
#include "ops/winograd4.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "ops/parallel.h"
#include "ops/winograd.h"

#define POS 36   /* positions in a 6x6 transformed tile */
#define TILE 4   /* outputs per tile side */
/* Floats between the position planes of V and M beyond their size (conv_winograd.c):
 * planes a multiple of 64 KB apart would put the write streams in the same cache sets. */
#define PLANE_PAD 16

static const ops_winograd4_kernels *kernels(void)
{
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        return &ops_winograd4_avx512;
#endif
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        return &ops_winograd4_avx2;
#endif
    return &ops_winograd4_base;
}

typedef struct {
    const ops_winograd4_kernels *k;
    const float *x, *weight, *bias;
    int n, ci, h, w, co;
    int tw;              /* tiles per row */
    int ty0, tb;         /* first tile row of the band, tile rows in the band */
    int cols;            /* n * tb * tw */
    size_t v_plane, m_plane;   /* floats between positions: ci (co_chunk) * cols_max + PLANE_PAD */
    int o_base, o_count, co_chunk;   /* the output channels of this chunk (conv_winograd.c) */
    float *u;            /* [36, co_chunk, ci] */
    float *v;            /* [36, ci, cols] */
    float *m;            /* [36, co_chunk, cols] */
    float *scratch;      /* per worker scratch_floats */
    size_t scratch_floats;
    float *y;
} winograd4;

/* U[p, o, c] = (G weight[o_base + o, c] Gᵀ)[p] for the chunk's channels o0..o1-1,
 * WT4_LANES input channels at a time (the tail zero-filled). */
static void transform_weights(void *arg, int worker, int o0, int o1)
{
    const winograd4 *wg = arg;
    const size_t plane = (size_t)wg->co_chunk * wg->ci;
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512()) {   /* the same values, without the copies through scratch */
        for (int o = o0; o < o1; o++)
            ops_winograd4_weights_avx512(wg->weight + (size_t)(wg->o_base + o) * wg->ci * 9,
                                         wg->ci, wg->u + (size_t)o * wg->ci, plane);
        return;
    }
#endif
    double *g = (double *)(wg->scratch + (size_t)worker * wg->scratch_floats);   /* [9][L] */
    double *t = g + 9 * WT4_LANES;                                                /* [6][3][L] */
    float *u = (float *)(t + 18 * WT4_LANES);                                     /* [36][L] */
    for (int o = o0; o < o1; o++) {
        const float *src = wg->weight + (size_t)(wg->o_base + o) * wg->ci * 9;   /* [ci][9] */
        for (int c0 = 0; c0 < wg->ci; c0 += WT4_LANES) {
            const int lanes = wg->ci - c0 < WT4_LANES ? wg->ci - c0 : WT4_LANES;
            for (int l = 0; l < WT4_LANES; l++)
                for (int tap = 0; tap < 9; tap++)
                    g[tap * WT4_LANES + l] = l < lanes ? src[(size_t)(c0 + l) * 9 + tap] : 0.0;
            wg->k->weight_tiles(g, t, u);
            float *dst = wg->u + (size_t)o * wg->ci + c0;
            for (int p = 0; p < POS; p++)
                memcpy(dst + (size_t)p * plane, u + (size_t)p * WT4_LANES,
                       (size_t)lanes * sizeof *dst);
        }
    }
}

/* V[p, c, col] for input channels c0..c1-1 of the band. */
static void transform_input(void *arg, int worker, int c0, int c1)
{
    const winograd4 *wg = arg;
    float *scratch = wg->scratch + (size_t)worker * wg->scratch_floats;
    const int per_image = wg->tb * wg->tw;
    for (int c = c0; c < c1; c++)
        for (int b = 0; b < wg->n; b++) {
            const float *xc = wg->x + ((size_t)b * wg->ci + c) * wg->h * wg->w;
            float *dst = wg->v + (size_t)c * wg->cols + (size_t)b * per_image;
            for (int ty = 0; ty < wg->tb; ty++)
                wg->k->input_row(xc, wg->h, wg->w, wg->tw, wg->ty0 + ty, scratch,
                                 dst + (size_t)ty * wg->tw, wg->v_plane);
        }
}

/* y[b, o_base + o] over the band's tile rows for the chunk's channels o0..o1-1. */
static void transform_output(void *arg, int worker, int o0, int o1)
{
    const winograd4 *wg = arg;
    float *scratch = wg->scratch + (size_t)worker * wg->scratch_floats;
    const int per_image = wg->tb * wg->tw;
    for (int o = o0; o < o1; o++) {
        const int oc = wg->o_base + o;
        const float bias = wg->bias ? wg->bias[oc] : 0.0f;
        for (int b = 0; b < wg->n; b++) {
            float *yc = wg->y + ((size_t)b * wg->co + oc) * wg->h * wg->w;
            const float *src = wg->m + (size_t)o * wg->cols + (size_t)b * per_image;
            for (int ty = 0; ty < wg->tb; ty++)
                wg->k->output_row(src + (size_t)ty * wg->tw, wg->m_plane, wg->tw, wg->ty0 + ty,
                                  wg->h, wg->w, bias, scratch, yc);
        }
    }
}

/* M[p] = U[p] · V[p]: [o_count, cols] = [o_count, ci] · [ci, cols] at positions p0..p1-1. */
static void multiply_positions(void *arg, int worker, int p0, int p1)
{
    const winograd4 *wg = arg;
    (void)worker;
    for (int p = p0; p < p1; p++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, wg->o_count, wg->cols, wg->ci,
                    1.0f, wg->u + (size_t)p * wg->co_chunk * wg->ci, wg->ci,
                    wg->v + (size_t)p * wg->v_plane, wg->cols, 0.0f,
                    wg->m + (size_t)p * wg->m_plane, wg->cols);
}

/* Output channels per chunk (conv_winograd.c's chunk_channels with 36 positions): all of
 * them when U and one tile row of the batch fit `budget` floats, else chunks of a multiple
 * of 16 channels whose U takes at most half of it. 0 when not even 16 fit. */
static int chunk_channels(int n, int ci, int co, int w, size_t budget)
{
    const size_t cols_min = (size_t)n * ((w + TILE - 1) / TILE);
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
    return ((co + chunks - 1) / chunks + 15) / 16 * 16;
}

/* SD_WINOGRAD: "2" F(2x2) only, "4" F(4x4) wherever Winograd runs, else (unset) by shape. */
static int forced(void)
{
    const char *e = getenv("SD_WINOGRAD");
    return e && (e[0] == '2' || e[0] == '4') && e[1] == '\0' ? e[0] - '0' : 0;
}

/* Output channels per chunk for this call: the whole image in one band when U for a
 * chunk and V and M for the whole image fit `budget` (the chunk as large as that allows,
 * the chunks as even as they can be), else chunk_channels' choice with bands of tile rows.
 * Bands are what cost: a 640-channel 32² conv with all of U (14.7M floats) beside bands of
 * 2 tile rows multiplied [640, 640] · [640, 32] 36 times per band and ran no faster than
 * F(2x2); in two chunks of 320 over the whole image, [320, 640] · [640, 128], 1.3x faster. */
static int plan_channels(int n, int ci, int co, int h, int w, size_t budget)
{
    const size_t cols_all = (size_t)n * ((h + TILE - 1) / TILE) * ((w + TILE - 1) / TILE);
    const size_t pads = (size_t)2 * POS * PLANE_PAD;
#define WHOLE(cc) ((size_t)POS * (cc) * ci + (size_t)POS * (ci + (cc)) * cols_all + pads <= budget)
    if (WHOLE(co))
        return co;
    int cc = co / 16 * 16;
    while (cc >= 16 && !WHOLE(cc))
        cc -= 16;
#undef WHOLE
    if (cc < 16)
        return chunk_channels(n, ci, co, w, budget);
    const int chunks = (co + cc - 1) / cc;
    return ((co + chunks - 1) / chunks + 15) / 16 * 16;
}

int ops_winograd4_fits(int n, int ci, int co, int h, int w)
{
    const int f = forced();
    if (f == 2 || chunk_channels(n, ci, co, w, OPS_WINOGRAD_MAX_FLOATS) <= 0)
        return 0;
    if (f == 4)
        return 1;
    return (size_t)h * w >= OPS_WINOGRAD4_MIN_HW;
}

int ops_conv3x3_winograd4(sd_arena *a, size_t budget, const float *x, int n, int ci, int h,
                          int w, const float *weight, const float *bias, int co, float *y)
{
    const int th = (h + TILE - 1) / TILE, tw = (w + TILE - 1) / TILE, workers = ops_workers();
    int cc = plan_channels(n, ci, co, h, w, budget);
    if (cc <= 0)   /* past the budget (a caller that did not ask): the smallest chunk */
        cc = co < 16 ? co : 16;
    const size_t u_floats = (size_t)POS * cc * ci, per_col = (size_t)POS * (ci + cc);
    const size_t pads = (size_t)2 * POS * PLANE_PAD;
    size_t tb = u_floats + pads < budget ? (budget - u_floats - pads) / (per_col * (size_t)n * tw)
                                         : 1;
    if (tb < 1)
        tb = 1;
    if (tb > (size_t)th)
        tb = (size_t)th;
    const size_t cols_max = (size_t)n * tb * tw;
    size_t scratch = W4_INPUT_SCRATCH(tw);
    if (scratch < W4_OUTPUT_SCRATCH(tw))
        scratch = W4_OUTPUT_SCRATCH(tw);
    if (scratch < W4_WEIGHT_SCRATCH)
        scratch = W4_WEIGHT_SCRATCH;
    scratch = (scratch + 15) / 16 * 16;   /* each worker's on its own cache lines */

    sd_arena_mark mark = sd_arena_get_mark(a);
    winograd4 wg = {
        .k = kernels(),
        .x = x, .weight = weight, .bias = bias, .n = n, .ci = ci, .h = h, .w = w, .co = co,
        .tw = tw, .o_count = cc, .co_chunk = cc,
        .u = sd_arena_floats(a, u_floats),
        .v_plane = (size_t)ci * cols_max + PLANE_PAD,
        .m_plane = (size_t)cc * cols_max + PLANE_PAD,
        .v = sd_arena_floats(a, (size_t)POS * ((size_t)ci * cols_max + PLANE_PAD)),
        .m = sd_arena_floats(a, (size_t)POS * ((size_t)cc * cols_max + PLANE_PAD)),
        .scratch = sd_arena_floats(a, (size_t)workers * scratch),
        .scratch_floats = scratch,
        .y = y,
    };
    if (!wg.u || !wg.v || !wg.m || !wg.scratch) {
        sd_arena_reset(a, mark);
        return -1;
    }
    if (cc == co)
        ops_parallel_for(workers, co, transform_weights, &wg);
    for (int ty0 = 0; ty0 < th; ty0 += (int)tb) {
        wg.ty0 = ty0;
        wg.tb = th - ty0 < (int)tb ? th - ty0 : (int)tb;
        wg.cols = n * wg.tb * tw;
        ops_parallel_for(workers, ci, transform_input, &wg);
        for (int o0 = 0; o0 < co; o0 += cc) {
            wg.o_base = o0;
            wg.o_count = co - o0 < cc ? co - o0 : cc;
            if (cc < co)
                ops_parallel_for(workers, wg.o_count, transform_weights, &wg);
            ops_parallel_for(workers, POS, multiply_positions, &wg);
            ops_parallel_for(workers, wg.o_count, transform_output, &wg);
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}
