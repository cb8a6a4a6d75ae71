/* bf16 attention on the SD 1.5 U-Net's shapes (issue 17): the whole op (op_attention_bf16:
 * packing, q·kᵀ, online softmax, p·v) and its two products alone, in the blocks the op
 * runs them (per task of 64 query rows, keys in blocks of 256, transposed: [256, 64] =
 * k_block [256, d] · qᵀ, then [d, 64] += v_blockᵀ [d, 256] · P), on one thread. GFLOP per CPU-second
 * (one core busy for a second: the bf16 kernel's peak on a VDPBF16PS core is ~235 here),
 * medians of `runs` (argv[1], default 3); and the op's error against the fp32 op_attention
 * on the same inputs: max |Δ| / max |fp32| and ‖Δ‖ / ‖fp32‖ (RMS). Not a test; built on demand:
 * ninja -C BUILD tests/bench-attn. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "core/arena.h"
#include "ops/gemm_bf16.h"
#include "ops/ops.h"
#include "ops/ops_bf16.h"
#include "ops/parallel.h"

#define MAX_RUNS 15
#define TASK_ROWS 64    /* attention_bf16.c's ROWS */
#define BLOCK_KEYS 256  /* attention_bf16.c's KEYS */

static void fill(float *x, size_t n, unsigned mul)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * mul) % 1000) / 500.0f - 1.0f;
}

/* The two products of one head as the op runs them, every task and key block, serially:
 * GFLOP per CPU-second of Sᵀ = k_block · qᵀ (returned) and of Oᵀ += v_blockᵀ · P (*pv_rate). */
static double products(ops_bf16_isa isa, int nq, int nk, int d, int runs, double *pv_rate)
{
    const int dpad = ops_bf16_kpad(d), kblocks = (nk + BLOCK_KEYS - 1) / BLOCK_KEYS;
    const int ldv = ops_bf16_kpad(nk < BLOCK_KEYS ? nk : BLOCK_KEYS);
    float *k = xmalloc((size_t)nk * d * sizeof *k), *vt = xmalloc((size_t)d * nk * sizeof *vt);
    float *q = xmalloc((size_t)TASK_ROWS * d * sizeof *q);
    float *s = xmalloc((size_t)BLOCK_KEYS * TASK_ROWS * sizeof *s);
    float *o = xmalloc((size_t)d * TASK_ROWS * sizeof *o);
    uint16_t *qt = xmalloc(ops_bf16_cols_size(d, TASK_ROWS) * sizeof *qt);
    const size_t pblock = ops_bf16_cols_size(BLOCK_KEYS, TASK_ROWS);
    uint16_t *pa = xmalloc(pblock * sizeof *pa);
    uint16_t *kr = xmalloc((size_t)nk * dpad * sizeof *kr);
    uint16_t *vr = xmalloc((size_t)kblocks * d * ldv * sizeof *vr);
    fill(k, (size_t)nk * d, 40503u);
    fill(vt, (size_t)d * nk, 2654435761u);
    fill(q, (size_t)TASK_ROWS * d, 97u);
    for (size_t i = 0; i < pblock; i++)
        pa[i] = ops_bf16_round(1.0f / (float)(1 + i % 7));
    ops_bf16_pack_rows_serial(k, nk, d, (size_t)d, kr, (size_t)dpad);
    for (int kb = 0; kb < kblocks; kb++) {
        const int j0 = kb * BLOCK_KEYS, len = nk - j0 < BLOCK_KEYS ? nk - j0 : BLOCK_KEYS;
        ops_bf16_pack_rows_serial(vt + j0, d, len, (size_t)nk, vr + (size_t)kb * d * ldv,
                                  (size_t)ldv);
    }
    ops_bf16_pack_cols_t(q, d, TASK_ROWS, (size_t)d, qt);
    const int tiles = (nq + TASK_ROWS - 1) / TASK_ROWS;
    double tqk[MAX_RUNS], tpv[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        const double t0 = cpu_s();
        for (int tile = 0; tile < tiles; tile++)
            for (int kb = 0; kb < kblocks; kb++) {
                const int j0 = kb * BLOCK_KEYS, len = nk - j0 < BLOCK_KEYS ? nk - j0 : BLOCK_KEYS;
                ops_gemm_bf16_serial(isa, len, TASK_ROWS, d, kr + (size_t)j0 * dpad, (size_t)dpad,
                                     qt, s, TASK_ROWS, 0);
            }
        const double t1 = cpu_s();
        for (int tile = 0; tile < tiles; tile++)
            for (int kb = 0; kb < kblocks; kb++) {
                const int len = nk - kb * BLOCK_KEYS < BLOCK_KEYS ? nk - kb * BLOCK_KEYS : BLOCK_KEYS;
                ops_gemm_bf16_serial(isa, d, TASK_ROWS, len, vr + (size_t)kb * d * ldv,
                                     (size_t)ldv, pa, o, TASK_ROWS, kb > 0);
            }
        tqk[r] = t1 - t0;
        tpv[r] = cpu_s() - t1;
    }
    free(k), free(vt), free(q), free(s), free(o), free(qt), free(pa), free(kr), free(vr);
    const double gflop = 2.0 * tiles * TASK_ROWS * (double)nk * d * 1e-9;
    *pv_rate = gflop / median(tpv, runs);
    return gflop / median(tqk, runs);
}

/* One attention call of `heads` heads (CFG's two batch elements are two calls). */
static void bench(const char *what, int nq, int nk, int heads, int d, int runs, ops_bf16_isa isa)
{
    const int inner = heads * d;
    float *q = xmalloc((size_t)nq * inner * sizeof *q), *k = xmalloc((size_t)nk * inner * sizeof *k);
    float *v = xmalloc((size_t)nk * inner * sizeof *v), *o = xmalloc((size_t)nq * inner * sizeof *o);
    uint64_t seed = 17;   /* normals: scores of standard deviation ~1, rows not repeating */
    randn(&seed, q, (size_t)nq * inner, 1.0f);
    randn(&seed, k, (size_t)nk * inner, 1.0f);
    randn(&seed, v, (size_t)nk * inner, 1.0f);
    sd_arena a;
    sd_arena_init(&a, 0);
    double cpu[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        const double c0 = cpu_s();
        if (op_attention_bf16(&a, isa, q, inner, k, v, inner, nq, nk, heads, d, 0, o)) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        cpu[r] = cpu_s() - c0;
    }
    const double gflop = 4.0 * nq * (double)nk * inner * 1e-9;
    const double cpu_ms = 1e3 * median(cpu, runs);
    float *ref = xmalloc((size_t)nq * inner * sizeof *ref);
    if (op_attention(&a, q, inner, k, v, inner, nq, nk, heads, d, 0, ref)) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    double dmax = 0.0, rmax = 0.0, d2 = 0.0, r2 = 0.0;
    for (size_t i = 0; i < (size_t)nq * inner; i++) {
        const double e = fabs((double)o[i] - ref[i]), r = fabs((double)ref[i]);
        dmax = e > dmax ? e : dmax;
        rmax = r > rmax ? r : rmax;
        d2 += e * e;
        r2 += r * r;
    }
    free(ref);
    double pv;
    const double qk = products(isa, nq, nk, d, runs, &pv);
    printf("%-16s %5d %5d %2d %4d | op %7.2f CPU-ms %6.1f GFLOP/CPU-s | alone: q.kT %6.1f p.v %6.1f"
           " | vs fp32: max %.2e rms %.2e\n",
           what, nq, nk, heads, d, cpu_ms, gflop / median(cpu, runs), qk, pv, dmax / rmax,
           sqrt(d2 / r2));
    sd_arena_free(&a);
    free(q), free(k), free(v), free(o);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    const ops_bf16_isa isa = ops_bf16_best();
    if (isa == OPS_BF16_NONE) {
        printf("no bf16 kernel on this CPU\n");
        return 0;
    }
    printf("kernel %s, %d workers, medians of %d, load average %.2f\n", ops_bf16_isa_name(isa),
           ops_workers(), runs, load_average());
    printf("%-16s %5s %5s %2s %4s\n", "shape", "nq", "nk", "h", "d");
    bench("self 64x64", 4096, 4096, 8, 40, runs, isa);
    bench("self 32x32", 1024, 1024, 8, 80, runs, isa);
    bench("self 16x16", 256, 256, 8, 160, runs, isa);
    bench("self 8x8 (mid)", 64, 64, 8, 160, runs, isa);
    bench("cross 64x64", 4096, 77, 8, 40, runs, isa);
    bench("cross 32x32", 1024, 77, 8, 80, runs, isa);
    bench("cross 16x16", 256, 77, 8, 160, runs, isa);
    return 0;
}
