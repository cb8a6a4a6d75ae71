/* What the op tests share (test_ops, test_ops_bf16, test_gemm_bf16): a small deterministic
 * generator, random fills, and the naive double-precision loops every kernel is checked
 * against. The loops follow the ops' layouts (ops/ops.h): images NCHW, weights
 * [co, ci, kh, kw] and [out, in], token rows [rows, features]. Allocation failures exit(2):
 * a test that cannot allocate has nothing to report. */
#ifndef NAIVE_OPS_H
#define NAIVE_OPS_H

#include <stddef.h>
#include <stdint.h>

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

#endif
