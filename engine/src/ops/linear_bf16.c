/* Linear layer with bf16 products: y[rows, out] = x · Wᵀ + b, Wᵀ the cols operand (packed
 * once), x rounded into the rows layout per call. */
#include "ops/ops_bf16.h"

#include <string.h>

#include "ops/parallel.h"

size_t ops_bf16_linear_weight_size(int in, int out)
{
    return ops_bf16_cols_size(in, out);
}

void ops_bf16_pack_linear_weight(const float *weight, int in, int out, uint16_t *dst)
{
    ops_bf16_pack_cols_t(weight, in, out, (size_t)in, dst);   /* B[in, out] = weightᵀ */
}

/* y[rows, out] (= or +=) the rows operand xa · weightᵀ + bias */
static void product(ops_bf16_isa isa, const uint16_t *xa, size_t lda, int rows, int in,
                    const uint16_t *weight, const float *bias, int out, float *y)
{
    if (bias)
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * out, bias, (size_t)out * sizeof *y);
    ops_gemm_bf16(isa, rows, out, in, xa, lda, weight, y, (size_t)out, bias != NULL);
}

int op_linears_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int in, int count,
                    const uint16_t *const weight[], const float *const bias[], const int out[],
                    float *const y[])
{
    if (rows <= 0)
        return 0;
    const size_t lda = (size_t)ops_bf16_kpad(in);
    sd_arena_mark mark = sd_arena_get_mark(a);
    uint16_t *xa = sd_arena_alloc(a, (size_t)rows * lda * sizeof *xa);   /* [rows][kpad(in)] */
    if (!xa) {
        sd_arena_reset(a, mark);   /* a failed alloc may have moved past a block's tail */
        return -1;
    }
    ops_bf16_pack_rows(x, rows, in, (size_t)in, xa, lda);
    for (int i = 0; i < count; i++)
        if (out[i] > 0)
            product(isa, xa, lda, rows, in, weight[i], bias[i], out[i], y[i]);
    sd_arena_reset(a, mark);
    return 0;
}

int op_linear_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int in,
                   const uint16_t *weight, const float *bias, int out, float *y)
{
    return op_linears_bf16(a, isa, x, rows, in, 1, &weight, &bias, &out, &y);
}

typedef struct {
    const float *x;
    int d;
    uint16_t *xa;
    size_t lda;
} geglu_job;

static void geglu_rows(void *arg, int worker, int r0, int r1)
{
    const geglu_job *g = arg;
    (void)worker;
    for (int r = r0; r < r1; r++) {
        const float *xr = g->x + (size_t)r * 2 * g->d;
        uint16_t *dst = g->xa + (size_t)r * g->lda;
#ifdef SD_HAVE_AVX512_BF16
        float scratch[2 * OPS_BF16_GEGLU_LANES];
        ops_bf16_geglu_row_avx512(xr, g->d, dst, g->lda, scratch);
#else   /* unreachable without a bf16 kernel; kept correct: the fp32 op, then rounding */
        for (int j = 0; j < g->d; j++) {
            const float pair[2] = {xr[j], xr[g->d + j]};   /* value | gate of one column */
            float v;
            op_geglu(pair, 1, 1, &v);
            dst[j] = ops_bf16_round(v);
        }
        memset(dst + g->d, 0, (g->lda - (size_t)g->d) * sizeof *dst);
#endif
    }
}

int op_geglu_linear_bf16(sd_arena *a, ops_bf16_isa isa, const float *x, int rows, int d,
                         const uint16_t *weight, const float *bias, int out, float *y)
{
    if (rows <= 0 || out <= 0)
        return 0;
    const size_t lda = (size_t)ops_bf16_kpad(d);
    sd_arena_mark mark = sd_arena_get_mark(a);
    uint16_t *xa = sd_arena_alloc(a, (size_t)rows * lda * sizeof *xa);   /* [rows][kpad(d)] */
    if (!xa) {
        sd_arena_reset(a, mark);
        return -1;
    }
    geglu_job g = {x, d, xa, lda};
    ops_parallel_for(ops_workers_for((size_t)rows * 2 * d), rows, geglu_rows, &g);
    product(isa, xa, lda, rows, d, weight, bias, out, y);
    sd_arena_reset(a, mark);
    return 0;
}
