/* Multi-head attention with bf16 products, flash-style and transposed: per head, the keys
 * packed as the rows operand K [nk, d] and the values, in blocks of KEYS keys, as rows
 * operands Vᵀ [d, keys] (once per call); per task of ROWS query rows of one head, qᵀ as
 * the cols operand [d, ROWS], then block by block of keys:
 *   Sᵀ = k_block · (scale · q)ᵀ                       (bf16 product, fp32 sums)
 *   m' = max(m, colmax Sᵀ), P = bf16(2^(Sᵀ - m')),  l = l · 2^(m - m') + Σ 2^(Sᵀ - m')
 *   Oᵀ = Oᵀ · 2^(m - m') + v_blockᵀ · P               (bf16 product, fp32 sums)
 * with scale = log2(e) / sqrt(d), so that 2^S is e^(q·kᵀ / sqrt(d)) (one multiplication
 * less per score than e^x; the factor goes into q before its rounding to bf16), and at
 * the end O = (Oᵀ)ᵀ / l (the online softmax of FlashAttention, Dao et al. 2022). The score
 * and P blocks of a task ([KEYS, ROWS] fp32 and bf16) stay in the core's cache.
 * Why transposed: the queries are the n side of both products, 64 = four whole column
 * blocks of the kernel's 4-block tile, where O = P · V had the head dim as n (40 = 2.5
 * blocks: 17 % of the columns padding, and 80 = 4 + 1 blocks, a thin second tile), and
 * the softmax runs down the columns, sixteen queries per vector, with no horizontal
 * reductions. The softmax sums: a block's in fp32 lanes, the blocks' in double. */
#include "ops/ops_bf16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/parallel.h"

#define ROWS 64          /* query rows per task: the n of both products, four blocks of 16 */
#define KEYS 256         /* keys per block: Sᵀ [KEYS, ROWS] fp32 is 64 KB */
#define ALIGN_BYTES 64   /* each scratch buffer on its own cache lines */

typedef struct {
    ops_bf16_isa isa;
    const float *q, *k, *v;
    int q_stride, kv_stride, nq, nk, d, tiles, causal, kblocks, ldv;
    float scale;
    uint16_t *kr;        /* [heads] rows operands K [nk][kpad(d)], kr_size apart */
    uint16_t *vt;        /* [heads][kblocks] rows operands Vᵀ [d][ldv] (k <= KEYS) */
    size_t kr_size, vblock_size;
    float *out;
    int out_stride;
    char *scratch;       /* per worker: qt, s (also q, and v's columns), p, ot, the state */
    size_t qt_bytes, s_bytes, p_bytes, ot_bytes, worker_bytes;
} attn_bf16;

static size_t aligned(size_t bytes)
{
    return (bytes + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
}

/* The worker's share of the scratch: its s buffer ([ROWS][max(KEYS, d)] floats). */
static float *worker_s(const attn_bf16 *t, int worker)
{
    return (float *)(t->scratch + (size_t)worker * t->worker_bytes + t->qt_bytes);
}

/* One block of the online softmax; y[r][0..n) = factor[r] · x[r][0..n) (y may be x); y =
 * xᵀ with column c scaled by scale[c]: softmax_bf16_avx512.c where the kernel exists;
 * every CPU with a bf16 kernel has AVX-512, so the other build never calls them. */
static void softmax_block(const float *s, int len, int vlen, int nc, int row0, int col0,
                          int causal, float *m, double *l, float *o, int d, uint16_t *p)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_softmax_block_avx512(s, ROWS, len, vlen, nc, row0, col0, causal, m, l, o, d, ROWS,
                                  p);
#else
    (void)s, (void)len, (void)vlen, (void)nc, (void)row0, (void)col0, (void)causal, (void)m;
    (void)l, (void)o, (void)d, (void)p;
    abort();   /* unreachable: ops_bf16_best() offers no kernel in this build */
#endif
}

static void scale_rows(const float *x, size_t ldx, int rows, int n, const float *factor, float *y,
                       size_t ldy)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_scale_rows_avx512(x, ldx, rows, n, factor, y, ldy);
#else
    (void)x, (void)ldx, (void)rows, (void)n, (void)factor, (void)y, (void)ldy;
    abort();   /* unreachable, as above */
#endif
}

static void transpose(const float *x, size_t ldx, int rows, int cols, const float *scale, float *y,
                      size_t ldy)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_transpose_avx512(x, ldx, rows, cols, scale, y, ldy);
#else
    (void)x, (void)ldx, (void)rows, (void)cols, (void)scale, (void)y, (void)ldy;
    abort();   /* unreachable, as above */
#endif
}

static void pack_heads(void *arg, int worker, int h0, int h1)
{
    const attn_bf16 *t = arg;
    const int d = t->d, chunk = ROWS;   /* dims of v gathered at a time, [chunk][KEYS] in s */
    float *col = worker_s(t, worker);
    for (int h = h0; h < h1; h++) {
        ops_bf16_pack_rows_serial(t->k + (size_t)h * d, t->nk, d, (size_t)t->kv_stride,
                                  t->kr + (size_t)h * t->kr_size, (size_t)ops_bf16_kpad(d));
        for (int kb = 0; kb < t->kblocks; kb++) {
            const int j0 = kb * KEYS, len = t->nk - j0 < KEYS ? t->nk - j0 : KEYS;
            uint16_t *dst = t->vt + ((size_t)h * t->kblocks + kb) * t->vblock_size;
            for (int c0 = 0; c0 < d; c0 += chunk) {   /* v's columns c0.. as rows of Vᵀ */
                const int cs = d - c0 < chunk ? d - c0 : chunk;
                transpose(t->v + (size_t)j0 * t->kv_stride + (size_t)h * d + c0,
                          (size_t)t->kv_stride, len, cs, NULL, col, KEYS);
                ops_bf16_pack_rows_serial(col, cs, len, KEYS, dst + (size_t)c0 * t->ldv,
                                          (size_t)t->ldv);
            }
        }
    }
}

/* Tasks begin..end-1 of heads x tiles, head-major. */
static void attend_tiles(void *arg, int worker, int begin, int end)
{
    const attn_bf16 *t = arg;
    const int d = t->d, dpad = ops_bf16_kpad(d);
    char *base = t->scratch + (size_t)worker * t->worker_bytes;
    uint16_t *qt = (uint16_t *)base;                          /* qᵀ cols operand [d, ROWS] */
    float *s = worker_s(t, worker);                           /* Sᵀ [KEYS][ROWS], or q */
    uint16_t *p = (uint16_t *)(base + t->qt_bytes + t->s_bytes);   /* P cols [KEYS, ROWS] */
    float *ot = (float *)(base + t->qt_bytes + t->s_bytes + t->p_bytes);   /* Oᵀ [d][ROWS] */
    char *state = base + t->qt_bytes + t->s_bytes + t->p_bytes + t->ot_bytes;
    double *l = (double *)state;                                          /* [ROWS] */
    float *m = (float *)(state + ROWS * sizeof(double)), *factor = m + ROWS;   /* [ROWS] */
    for (int task = begin; task < end; task++) {
        const int h = task / t->tiles, i0 = (task % t->tiles) * ROWS;
        const int rows = t->nq - i0 < ROWS ? t->nq - i0 : ROWS;
        const int nc = ops_bf16_nblocks(rows) * OPS_BF16_NBLOCK;   /* columns computed */
        for (int r = 0; r < ROWS; r++) {
            factor[r] = t->scale;
            m[r] = -INFINITY;
            l[r] = 0.0;
        }
        /* q scaled by log2(e)/sqrt(d) (in s), then rounded into qᵀ (zero past rows) */
        scale_rows(t->q + (size_t)i0 * t->q_stride + (size_t)h * d, (size_t)t->q_stride, rows, d,
                   factor, s, (size_t)d);
        ops_bf16_pack_cols_t(s, d, rows, (size_t)d, qt);
        /* causal: the last query row of the task sees keys up to i0 + rows - 1 */
        const int kend = t->causal && i0 + rows < t->nk ? i0 + rows : t->nk;
        for (int kb = 0; kb * KEYS < kend; kb++) {
            const int j0 = kb * KEYS, len = kend - j0 < KEYS ? kend - j0 : KEYS;
            /* the block of v as packed (causal rows may stop short of it: P is zero there) */
            const int vlen = t->nk - j0 < KEYS ? t->nk - j0 : KEYS;
            /* Sᵀ [len, nc] = k_block · qᵀ */
            ops_gemm_bf16_serial(t->isa, len, nc, d,
                                 t->kr + (size_t)h * t->kr_size + (size_t)j0 * dpad,
                                 (size_t)dpad, qt, s, ROWS, 0);
            softmax_block(s, len, vlen, nc, i0, j0, t->causal, m, l, kb > 0 ? ot : NULL, d, p);
            /* Oᵀ [d, nc] (+)= v_blockᵀ · P */
            ops_gemm_bf16_serial(t->isa, d, nc, vlen,
                                 t->vt + ((size_t)h * t->kblocks + kb) * t->vblock_size,
                                 (size_t)t->ldv, p, ot, ROWS, kb > 0);
        }
        /* O [rows, d] = (Oᵀ)ᵀ / l */
        float *o = t->out + (size_t)i0 * t->out_stride + (size_t)h * d;
        for (int r = 0; r < rows; r++)
            factor[r] = (float)(1.0 / l[r]);
        transpose(ot, ROWS, d, rows, factor, o, (size_t)t->out_stride);
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
    const int ldv = ops_bf16_kpad(nk < KEYS ? nk : KEYS);   /* Vᵀ rows: the widest block */
    attn_bf16 t = {
        .isa = isa, .q = q, .k = k, .v = v, .q_stride = q_stride, .kv_stride = kv_stride,
        .nq = nq, .nk = nk, .d = d, .tiles = (nq + ROWS - 1) / ROWS, .causal = causal,
        .kblocks = (nk + KEYS - 1) / KEYS, .ldv = ldv,
        .scale = (float)(M_LOG2E / sqrt((double)d)), .out = out, .out_stride = out_stride,
        .kr_size = (size_t)nk * ops_bf16_kpad(d), .vblock_size = (size_t)d * ldv,
        .qt_bytes = aligned(ops_bf16_cols_size(d, ROWS) * sizeof(uint16_t)),
        /* Sᵀ [KEYS][ROWS], q [ROWS][d], or v's columns [ROWS][KEYS] */
        .s_bytes = aligned((size_t)ROWS * (KEYS > d ? KEYS : d) * sizeof(float)),
        .p_bytes = aligned(ops_bf16_cols_size(KEYS, ROWS) * sizeof(uint16_t)),
        .ot_bytes = aligned((size_t)d * ROWS * sizeof(float)),
    };
    t.worker_bytes = t.qt_bytes + t.s_bytes + t.p_bytes + t.ot_bytes +
                     aligned(ROWS * (sizeof(double) + 2 * sizeof(float)));
    sd_arena_mark mark = sd_arena_get_mark(a);
    t.kr = sd_arena_alloc(a, (size_t)heads * t.kr_size * sizeof *t.kr);
    t.vt = sd_arena_alloc(a, (size_t)heads * t.kblocks * t.vblock_size * sizeof *t.vt);
    t.scratch = sd_arena_alloc(a, (size_t)workers * t.worker_bytes + ALIGN_BYTES);
    if (!t.kr || !t.vt || !t.scratch) {
        sd_arena_reset(a, mark);
        return -1;
    }
    t.scratch += (ALIGN_BYTES - (uintptr_t)t.scratch % ALIGN_BYTES) % ALIGN_BYTES;
    ops_parallel_for(ops_workers_for((size_t)heads * nk * d), heads, pack_heads, &t);
    ops_parallel_for(workers, heads * t.tiles, attend_tiles, &t);
    sd_arena_reset(a, mark);
    return 0;
}
