/* Multi-head attention with bf16 products, flash-style: per head, the keys packed as the
 * cols operand of kᵀ and the values, in blocks of KEYS keys, as cols operands of v (once
 * per call); per task of ROWS query rows of one head, block by block of keys:
 *   S = (scale · q) · k_blockᵀ                       (bf16 product, fp32 sums)
 *   m' = max(m, rowmax S), P = bf16(2^(S - m')),  l = l · 2^(m - m') + Σ 2^(S - m')
 *   O = O · 2^(m - m') + P · v_block                 (bf16 product, fp32 sums)
 * with scale = log2(e) / sqrt(d), so that 2^S is e^(q·kᵀ / sqrt(d)) (one multiplication
 * less per score than e^x; the factor goes into q before its rounding to bf16)
 * and at the end O /= l (the online softmax of FlashAttention, Dao et al. 2022). The
 * score and P blocks of a task ([ROWS, KEYS] fp32 and bf16) stay in the core's cache
 * instead of the [ROWS, nk] rows the whole-row softmax wrote out and read back. The
 * softmax sums: a block's in fp32 lanes, the blocks' in double. */
#include "ops/ops_bf16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/parallel.h"

#define ROWS 64          /* query rows per task */
#define KEYS 256         /* keys per block: S [ROWS, KEYS] fp32 is 64 KB */
#define ALIGN_BYTES 64   /* each scratch buffer on its own cache lines */

typedef struct {
    ops_bf16_isa isa;
    const float *q, *k, *v;
    int q_stride, kv_stride, nq, nk, d, tiles, causal, kblocks;
    float scale;
    uint16_t *kt;        /* [heads] cols operands of kᵀ (k = d, n = nk), kt_size apart */
    uint16_t *vp;        /* [heads][kblocks] cols operands of v (k <= KEYS, n = d) */
    size_t kt_size, vblock_size;
    float *out;
    int out_stride;
    char *scratch;       /* per worker: qa, s, pa, and the row state */
    size_t qa_bytes, s_bytes, pa_bytes, worker_bytes;
} attn_bf16;

static size_t aligned(size_t bytes)
{
    return (bytes + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
}

static void pack_heads(void *arg, int worker, int h0, int h1)
{
    const attn_bf16 *t = arg;
    (void)worker;
    for (int h = h0; h < h1; h++) {
        ops_bf16_pack_cols_t(t->k + (size_t)h * t->d, t->d, t->nk, (size_t)t->kv_stride,
                             t->kt + (size_t)h * t->kt_size);
        for (int kb = 0; kb < t->kblocks; kb++) {
            const int j0 = kb * KEYS, len = t->nk - j0 < KEYS ? t->nk - j0 : KEYS;
            ops_bf16_pack_cols(t->v + (size_t)j0 * t->kv_stride + (size_t)h * t->d, len, t->d,
                               (size_t)t->kv_stride,
                               t->vp + ((size_t)h * t->kblocks + kb) * t->vblock_size);
        }
    }
}

/* One block of the online softmax (softmax_bf16_avx512.c where the kernel exists; every
 * CPU with a bf16 kernel has AVX-512, so the other build never calls it). */
static void softmax_block(const float *s, int rows, int n, int row0, int col0, int causal,
                          float *m, double *l, float *rescale, uint16_t *p, size_t ldp)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_softmax_block_avx512(s, rows, n, row0, col0, causal, m, l, rescale, p, ldp);
#else
    (void)s, (void)rows, (void)n, (void)row0, (void)col0, (void)causal, (void)m, (void)l;
    (void)rescale, (void)p, (void)ldp;
    abort();   /* unreachable: ops_bf16_best() offers no kernel in this build */
#endif
}

/* y[r][0..n) = factor[r] · x[r][0..n) (y may be x): ops_bf16_scale_rows_avx512, like
 * softmax_block above. A vector kernel, as the loops here stayed scalar (6 % of the call):
 * -O2 vectorises no loop of unknown length that needs a remainder or an aliasing check. */
static void scale_rows(const float *x, size_t ldx, int rows, int n, const float *factor, float *y,
                       size_t ldy)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_scale_rows_avx512(x, ldx, rows, n, factor, y, ldy);
#else
    (void)x, (void)ldx, (void)rows, (void)n, (void)factor, (void)y, (void)ldy;
    abort();   /* unreachable, as softmax_block */
#endif
}

/* Tasks begin..end-1 of heads x tiles, head-major. */
static void attend_tiles(void *arg, int worker, int begin, int end)
{
    const attn_bf16 *t = arg;
    const int d = t->d, dpad = ops_bf16_kpad(d);
    char *base = t->scratch + (size_t)worker * t->worker_bytes;
    uint16_t *qa = (uint16_t *)base;                                      /* [ROWS][dpad] */
    float *s = (float *)(base + t->qa_bytes);                 /* [ROWS][KEYS] or [ROWS][d] */
    uint16_t *pa = (uint16_t *)(base + t->qa_bytes + t->s_bytes);         /* [ROWS][KEYS] */
    char *state = base + t->qa_bytes + t->s_bytes + t->pa_bytes;
    double *l = (double *)state;                                          /* [ROWS] */
    float *m = (float *)(state + ROWS * sizeof(double)), *rescale = m + ROWS;   /* [ROWS] */
    for (int task = begin; task < end; task++) {
        const int h = task / t->tiles, i0 = (task % t->tiles) * ROWS;
        const int rows = t->nq - i0 < ROWS ? t->nq - i0 : ROWS;
        for (int r = 0; r < rows; r++) {
            rescale[r] = t->scale;
            m[r] = -INFINITY;
            l[r] = 0.0;
        }
        /* q scaled by log2(e)/sqrt(d) (in s), then rounded */
        scale_rows(t->q + (size_t)i0 * t->q_stride + (size_t)h * d, (size_t)t->q_stride, rows, d,
                   rescale, s, (size_t)d);
        ops_bf16_pack_rows_serial(s, rows, d, (size_t)d, qa, (size_t)dpad);
        float *o = t->out + (size_t)i0 * t->out_stride + (size_t)h * d;   /* [rows, d] */
        /* causal: the last query row of the task sees keys up to i0 + rows - 1 */
        const int kend = t->causal && i0 + rows < t->nk ? i0 + rows : t->nk;
        for (int kb = 0; kb * KEYS < kend; kb++) {
            const int j0 = kb * KEYS, len = kend - j0 < KEYS ? kend - j0 : KEYS;
            /* the block of v as packed (causal rows may stop short of it: P is zero there) */
            const int vlen = t->nk - j0 < KEYS ? t->nk - j0 : KEYS, ldp = ops_bf16_kpad(vlen);
            /* [rows, len] = q_h · k_hᵀ over keys j0 .. j0+len-1 (whole column blocks) */
            ops_gemm_bf16_serial(t->isa, rows, len, d, qa, (size_t)dpad,
                                 t->kt + (size_t)h * t->kt_size +
                                     (size_t)(j0 / OPS_BF16_NBLOCK) * dpad * OPS_BF16_NBLOCK,
                                 s, (size_t)len, 0);
            softmax_block(s, rows, len, i0, j0, t->causal, m, l, rescale, pa, (size_t)ldp);
            if (kb > 0)
                scale_rows(o, (size_t)t->out_stride, rows, d, rescale, o, (size_t)t->out_stride);
            /* [rows, d] (+)= p · v_block */
            ops_gemm_bf16_serial(t->isa, rows, d, vlen, pa, (size_t)ldp,
                                 t->vp + ((size_t)h * t->kblocks + kb) * t->vblock_size, o,
                                 (size_t)t->out_stride, kb > 0);
        }
        for (int r = 0; r < rows; r++)
            rescale[r] = (float)(1.0 / l[r]);
        scale_rows(o, (size_t)t->out_stride, rows, d, rescale, o, (size_t)t->out_stride);
    }
}

int op_attention_bf16(sd_arena *a, ops_bf16_isa isa, const float *q, int q_stride,
                      const float *k, const float *v, int kv_stride, int nq, int nk, int heads,
                      int head_dim, int causal, float *out)
{
    const int d = head_dim, out_stride = heads * d;
    if (nq <= 0 || heads <= 0 || d <= 0)
        return 0;
    if (nk <= 0) {   /* nothing to attend to: a zero output rather than 0/0 */
        for (int i = 0; i < nq; i++)
            memset(out + (size_t)i * out_stride, 0, (size_t)out_stride * sizeof *out);
        return 0;
    }
    const int workers = ops_workers();
    attn_bf16 t = {
        .isa = isa, .q = q, .k = k, .v = v, .q_stride = q_stride, .kv_stride = kv_stride,
        .nq = nq, .nk = nk, .d = d, .tiles = (nq + ROWS - 1) / ROWS, .causal = causal,
        .kblocks = (nk + KEYS - 1) / KEYS,
        .scale = (float)(M_LOG2E / sqrt((double)d)), .out = out, .out_stride = out_stride,
        .kt_size = ops_bf16_cols_size(d, nk), .vblock_size = ops_bf16_cols_size(KEYS, d),
        .qa_bytes = aligned((size_t)ROWS * ops_bf16_kpad(d) * sizeof(uint16_t)),
        .s_bytes = aligned((size_t)ROWS * (KEYS > d ? KEYS : d) * sizeof(float)),   /* or q */
        .pa_bytes = aligned((size_t)ROWS * KEYS * sizeof(uint16_t)),
    };
    t.worker_bytes = t.qa_bytes + t.s_bytes + t.pa_bytes +
                     aligned(ROWS * (sizeof(double) + 2 * sizeof(float)));
    sd_arena_mark mark = sd_arena_get_mark(a);
    t.kt = sd_arena_alloc(a, (size_t)heads * t.kt_size * sizeof *t.kt);
    t.vp = sd_arena_alloc(a, (size_t)heads * t.kblocks * t.vblock_size * sizeof *t.vp);
    t.scratch = sd_arena_alloc(a, (size_t)workers * t.worker_bytes + ALIGN_BYTES);
    if (!t.kt || !t.vp || !t.scratch) {
        sd_arena_reset(a, mark);
        return -1;
    }
    t.scratch += (ALIGN_BYTES - (uintptr_t)t.scratch % ALIGN_BYTES) % ALIGN_BYTES;
    ops_parallel_for(ops_workers_for((size_t)heads * nk * d), heads, pack_heads, &t);
    ops_parallel_for(workers, heads * t.tiles, attend_tiles, &t);
    sd_arena_reset(a, mark);
    return 0;
}
