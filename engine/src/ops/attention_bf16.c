/* Multi-head attention with bf16 products: per head, the keys packed as the cols operand
 * of kᵀ and the values as the cols operand of v (once per call); per task of ROWS query
 * rows of one head, S = (scale · q) · kᵀ, the softmax in fp32 (ops_softmax_rows, as the
 * fp32 path), P rounded to bf16, O = P · v, O /= the row sums. The score block held per
 * worker is [ROWS, nk], never [heads, nq, nk]. */
#include "ops/ops_bf16.h"

#include <math.h>
#include <string.h>

#include "ops/parallel.h"
#include "ops/softmax.h"

#define ROWS 64          /* query rows per task */
#define ALIGN_BYTES 64   /* each scratch buffer on its own cache lines */

typedef struct {
    ops_bf16_isa isa;
    const float *q, *k, *v;
    int q_stride, kv_stride, nq, nk, d, tiles, causal;
    float scale;
    uint16_t *kt;        /* [heads] cols operands of kᵀ (k = d, n = nk), kt_size apart */
    uint16_t *vp;        /* [heads] cols operands of v (k = nk, n = d), vp_size apart */
    size_t kt_size, vp_size;
    float *out;
    int out_stride;
    char *scratch;       /* per worker: qa, s, pa, inv */
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
        ops_bf16_pack_cols(t->v + (size_t)h * t->d, t->nk, t->d, (size_t)t->kv_stride,
                           t->vp + (size_t)h * t->vp_size);
    }
}

/* p[rows][ldp] = bf16(exp(s - rowmax)), inv = 1 / row sums: in one AVX-512 pass where
 * the kernel exists (every CPU with a bf16 kernel has AVX-512), else the portable softmax
 * in place and then the rounding. */
static void softmax_pack(float *s, int rows, int nk, int row0, int causal, uint16_t *p,
                         size_t ldp, float *inv)
{
#ifdef SD_HAVE_AVX512_BF16
    ops_bf16_softmax_pack_avx512(s, rows, nk, row0, causal, p, ldp, inv);
#else
    ops_softmax_rows(s, rows, nk, row0, causal, inv);
    ops_bf16_pack_rows_serial(s, rows, nk, (size_t)nk, p, ldp);
#endif
}

/* Tasks begin..end-1 of heads x tiles, head-major. */
static void attend_tiles(void *arg, int worker, int begin, int end)
{
    const attn_bf16 *t = arg;
    const int d = t->d, nk = t->nk, dpad = ops_bf16_kpad(d), nkpad = ops_bf16_kpad(nk);
    char *base = t->scratch + (size_t)worker * t->worker_bytes;
    uint16_t *qa = (uint16_t *)base;                                      /* [ROWS][dpad] */
    float *s = (float *)(base + t->qa_bytes);                    /* [ROWS][nk] or [ROWS][d] */
    uint16_t *pa = (uint16_t *)(base + t->qa_bytes + t->s_bytes);         /* [ROWS][nkpad] */
    float *inv = (float *)(base + t->qa_bytes + t->s_bytes + t->pa_bytes);   /* [ROWS] */
    for (int task = begin; task < end; task++) {
        const int h = task / t->tiles, i0 = (task % t->tiles) * ROWS;
        const int rows = t->nq - i0 < ROWS ? t->nq - i0 : ROWS;
        for (int r = 0; r < rows; r++) {   /* q scaled by 1/sqrt(d) (in s, free till the
                                              * product), then rounded */
            const float *qr = t->q + (size_t)(i0 + r) * t->q_stride + (size_t)h * d;
            for (int c = 0; c < d; c++)
                s[(size_t)r * d + c] = t->scale * qr[c];
        }
        ops_bf16_pack_rows_serial(s, rows, d, (size_t)d, qa, (size_t)dpad);
        /* [rows, nk] = q_h · k_hᵀ */
        ops_gemm_bf16_serial(t->isa, rows, nk, d, qa, (size_t)dpad,
                             t->kt + (size_t)h * t->kt_size, s, (size_t)nk, 0);
        softmax_pack(s, rows, nk, i0, t->causal, pa, (size_t)nkpad, inv);
        /* [rows, d] = p · v_h, then each row over its sum */
        float *o = t->out + (size_t)i0 * t->out_stride + (size_t)h * d;
        ops_gemm_bf16_serial(t->isa, rows, d, nk, pa, (size_t)nkpad,
                             t->vp + (size_t)h * t->vp_size, o, (size_t)t->out_stride, 0);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < d; c++)
                o[(size_t)r * t->out_stride + c] *= inv[r];
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
        .scale = 1.0f / sqrtf((float)d), .out = out, .out_stride = out_stride,
        .kt_size = ops_bf16_cols_size(d, nk), .vp_size = ops_bf16_cols_size(nk, d),
        .qa_bytes = aligned((size_t)ROWS * ops_bf16_kpad(d) * sizeof(uint16_t)),
        .s_bytes = aligned((size_t)ROWS * (nk > d ? nk : d) * sizeof(float)),   /* scores, or q */
        .pa_bytes = aligned((size_t)ROWS * ops_bf16_kpad(nk) * sizeof(uint16_t)),
    };
    t.worker_bytes = t.qa_bytes + t.s_bytes + t.pa_bytes + aligned(ROWS * sizeof(float));
    sd_arena_mark mark = sd_arena_get_mark(a);
    t.kt = sd_arena_alloc(a, (size_t)heads * t.kt_size * sizeof *t.kt);
    t.vp = sd_arena_alloc(a, (size_t)heads * t.vp_size * sizeof *t.vp);
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
