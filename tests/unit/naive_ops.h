/* What the op tests share (test_ops, test_ops_bf16, test_gemm_bf16): a small deterministic
 * generator, random fills, the naive double-precision loops every kernel is checked
 * against, and which bf16 kernels a run tests. The loops follow the ops' layouts (ops/ops.h): images NCHW, weights
 * [co, ci, kh, kw] and [out, in], token rows [rows, features]. Allocation failures exit(2):
 * a test that cannot allocate has nothing to report. */
#ifndef NAIVE_OPS_H
#define NAIVE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/gemm_bf16.h"
#include "ops/ops.h"

/* xorshift64; seeded by the caller (any non-zero s); no global state. */
typedef struct {
    uint64_t s;
} rng;

float rng_uniform(rng *r);   /* [-1, 1) */

void *xmalloc(size_t bytes);
/* n values scale · rng_uniform, in a new buffer (free). */
float *rand_floats(rng *r, size_t n, float scale);
/* n zeros, in a new buffer (free). */
double *new_doubles(size_t n);

/* y [n, co, ho, wo] = conv(x [n, ci, h, w], wt [co, ci, kh, kw]) + bias [co] (or none). */
void naive_conv(const float *x, int n, int ci, int h, int w, const float *wt, const float *bias,
                int co, const sd_conv_params *p, int ho, int wo, double *y);

/* y [rows, out] = x [rows, in] · wtᵀ (wt [out, in]) + bias [out] (or none). */
void naive_linear(const float *x, int rows, int in, const float *wt, const float *bias, int out,
                  double *y);

/* out [nq, heads · d] = softmax(q kᵀ / √d [causal: key j <= query i]) v, per head; q's rows
 * qs floats apart, k's and v's kvs (rows wider than the heads, as the fused layouts are). */
void naive_attention(const float *q, int qs, const float *k, const float *v, int kvs, int nq,
                     int nk, int heads, int d, int causal, double *out);

/* The bf16 kernels this run tests, into isas (best first; returns the count): AMX-BF16
 * where ops_bf16_best offers it (opt-in, SD_AMX=1: gemm_bf16.h), then AVX512-BF16, which
 * every AMX CPU has; a skipped AMX kernel is said ("SKIP: amx-bf16 <what>: not offered").
 * 0, with the reason printed, where there is nothing to test: no bf16 kernel at all, or the
 * AMX run (SD_AMX=1) on a CPU without AMX; the test then exits CHECK_EXIT_SKIP. */
int bf16_test_isas(const char *what, ops_bf16_isa isas[2]);

#endif
