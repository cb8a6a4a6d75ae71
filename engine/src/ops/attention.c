/* Multi-head scaled-dot-product attention. With AVX2 + FMA: fused tiles of a few query
 * rows (ops_attention_avx2.c, or ops_attention_avx512.c where AVX-512 runs) spread over
 * the cores. Otherwise one head and one band of
 * query rows at a time through cblas_sgemm. Either way the score block held at once is
 * small, never [heads, nq, nk]. */
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#include "ops/exp.h"
#include "ops/parallel.h"
#include "ops/simd.h"
#include "ops/softmax.h"

/* Floats per score block (4 MB): large enough for efficient GEMMs, small enough to
 * stay in cache-friendly territory for a 4096-token self-attention. */
#define ATTN_SCORE_FLOATS ((size_t)1 << 20)
/* Widest head the fused tiles take (SD 1.x: 40, 80, 160 in the U-Net, 64 in CLIP). */
#define ATTN_FUSED_MAX_DIM 160

#ifdef SD_HAVE_AVX2
/* The fused path's operands: every head's keys transposed and values packed. */
typedef void (*attention_tile_fn)(const float *q, int q_stride, int rows, int d,
                                  const float *kt, int nk, int nk16, const float *vp,
                                  float scale, int causal_row0, float *scores, float *qt,
                                  float *out, int out_stride);

typedef struct {
    attention_tile_fn tile;   /* the AVX2 or the AVX-512 kernel */
    const float *q;
    int q_stride;
    const float *kt;     /* [heads, nk16 / 16, d, 16] */
    const float *vp;     /* [heads, nk, d] */
    int nq, nk, nk16, d, tiles, causal;
    float scale;
    float *out;
    int out_stride;
    float *scratch;      /* per worker: scores [ROWS, nk16], qt [d, ROWS] */
    size_t scratch_floats;
} fused_attention;

/* Tasks begin..end-1 of heads x tiles, head-major. */
static void fused_tiles(void *arg, int worker, int begin, int end)
{
    const fused_attention *f = arg;
    float *scores = f->scratch + (size_t)worker * f->scratch_floats;
    float *qt = scores + (size_t)OPS_ATTN_ROWS * f->nk16;
    for (int task = begin; task < end; task++) {
        const int h = task / f->tiles, i0 = (task % f->tiles) * OPS_ATTN_ROWS;
        const int rows = f->nq - i0 < OPS_ATTN_ROWS ? f->nq - i0 : OPS_ATTN_ROWS;
        f->tile(f->q + (size_t)i0 * f->q_stride + (size_t)h * f->d, f->q_stride, rows, f->d,
                f->kt + (size_t)h * f->d * f->nk16, f->nk, f->nk16,
                f->vp + (size_t)h * f->nk * f->d, f->scale, f->causal ? i0 : -1, scores, qt,
                f->out + (size_t)i0 * f->out_stride + (size_t)h * f->d, f->out_stride);
    }
}

static int attention_fused(sd_arena *a, const float *q, int q_stride, const float *k,
                           const float *v, int kv_stride, int nq, int nk, int heads, int d,
                           int causal, float *out)
{
    const int nk16 = (nk + 15) / 16 * 16, workers = ops_workers();
    fused_attention f = {
#ifdef SD_HAVE_AVX512
        .tile = ops_have_avx512() ? ops_attention_tile_avx512 : ops_attention_tile_avx2,
#else
        .tile = ops_attention_tile_avx2,
#endif
        .q = q, .q_stride = q_stride, .nq = nq, .nk = nk, .nk16 = nk16, .d = d,
        .tiles = (nq + OPS_ATTN_ROWS - 1) / OPS_ATTN_ROWS, .causal = causal,
        .scale = 1.0f / sqrtf((float)d), .out = out, .out_stride = heads * d,
        .scratch_floats = (size_t)OPS_ATTN_ROWS * (nk16 + d),
    };
    sd_arena_mark mark = sd_arena_get_mark(a);
    float *kt = sd_arena_floats(a, (size_t)heads * d * nk16);   /* [heads, nk16/16, d, 16] */
    float *vp = sd_arena_floats(a, (size_t)heads * nk * d);     /* [heads, nk, d] */
    f.scratch = sd_arena_floats(a, (size_t)workers * f.scratch_floats);
    if (!kt || !vp || !f.scratch) {
        sd_arena_reset(a, mark);
        return -1;
    }
    for (int h = 0; h < heads; h++) {
        float *kth = kt + (size_t)h * d * nk16, *vph = vp + (size_t)h * nk * d;
        /* keys in blocks of 16, each [d, 16]: a score block reads one contiguous run */
        for (int j = 0; j < nk16; j++) {
            float *dst = kth + (size_t)(j / 16) * d * 16 + j % 16;
            const float *kj = k + (size_t)j * kv_stride + (size_t)h * d;
            for (int c = 0; c < d; c++)   /* padding keys: zero scores, never summed */
                dst[(size_t)c * 16] = j < nk ? kj[c] : 0.0f;
        }
        for (int j = 0; j < nk; j++)
            memcpy(vph + (size_t)j * d, v + (size_t)j * kv_stride + (size_t)h * d,
                   (size_t)d * sizeof *vph);
    }
    f.kt = kt;
    f.vp = vp;
    ops_parallel_for(workers, heads * f.tiles, fused_tiles, &f);
    sd_arena_reset(a, mark);
    return 0;
}

#endif

int op_attention(sd_arena *a, const float *q, int q_stride, const float *k, const float *v,
                 int kv_stride, int nq, int nk, int heads, int head_dim, int causal,
                 float *out)
{
    const int out_stride = heads * head_dim;
    if (nq <= 0 || heads <= 0 || head_dim <= 0)
        return 0;
    if (nk <= 0) {   /* nothing to attend to: a zero output rather than 0/0 */
        for (int i = 0; i < nq; i++)
            memset(out + (size_t)i * out_stride, 0, (size_t)out_stride * sizeof *out);
        return 0;
    }
    /* Wide heads (the VAE's single 512-wide head) stay on sgemm: there the fused tile would
     * stream V from memory once per 16 columns, and OpenBLAS's long-k GEMMs do well. */
#ifdef SD_HAVE_AVX2
    if (head_dim % 8 == 0 && head_dim <= ATTN_FUSED_MAX_DIM && ops_have_avx2())
        return attention_fused(a, q, q_stride, k, v, kv_stride, nq, nk, heads, head_dim,
                               causal, out);
#endif
    const float scale = 1.0f / sqrtf((float)head_dim);
    size_t chunk = ATTN_SCORE_FLOATS / (size_t)nk;
    if (chunk < 1)
        chunk = 1;
    if (chunk > (size_t)nq)
        chunk = (size_t)nq;

    sd_arena_mark mark = sd_arena_get_mark(a);
    float *scores = sd_arena_floats(a, chunk * (size_t)nk);   /* [chunk, nk] */
    float *inv_sum = sd_arena_floats(a, chunk);               /* [chunk] */
    if (!scores || !inv_sum) {
        sd_arena_reset(a, mark);
        return -1;
    }

    for (int h = 0; h < heads; h++) {
        const float *qh = q + (size_t)h * head_dim;
        const float *kh = k + (size_t)h * head_dim;
        const float *vh = v + (size_t)h * head_dim;
        float *oh = out + (size_t)h * head_dim;
        for (int i0 = 0; i0 < nq; i0 += (int)chunk) {
            int rows = nq - i0 < (int)chunk ? nq - i0 : (int)chunk;
            float *orows = oh + (size_t)i0 * out_stride;
            /* [rows, nk] = scale · q_h[rows, d] · k_h[nk, d]ᵀ */
            ops_sgemm(0, 1, rows, nk, head_dim, scale, qh + (size_t)i0 * q_stride, q_stride, kh,
                      kv_stride, 0.0f, scores, nk);
            ops_softmax_rows(scores, rows, nk, i0, causal, inv_sum);
            /* [rows, d] = p[rows, nk] · v_h[nk, d] */
            ops_sgemm(0, 0, rows, head_dim, nk, 1.0f, scores, nk, vh, kv_stride, 0.0f, orows,
                      out_stride);
            for (int r = 0; r < rows; r++) {
                float *o = orows + (size_t)r * out_stride;
                for (int j = 0; j < head_dim; j++)
                    o[j] *= inv_sum[r];
            }
        }
    }
    sd_arena_reset(a, mark);
    return 0;
}
