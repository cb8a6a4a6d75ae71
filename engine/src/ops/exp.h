/* Branch-free exponential and sigmoid for the ops' hot loops. Called inside blocks of
 * OPS_LANES with a fixed trip count, they become vector code at -O2 (where a loop of
 * unknown length, or one calling expf, stays scalar). Engine-internal. */
#ifndef SD_OPS_EXP_H
#define SD_OPS_EXP_H

#include <stdint.h>
#include <string.h>

/* SLEEF's expf: x = n ln2 + r (ln2 split in two so n ln2 is exact), e^r = 1 + r + r^2 p(r)
 * with p of degree 5 (Horner from P5 down to P0), 2^n put in the exponent bits. Every exp
 * of the engine evaluates these constants: the scalar one below, the AVX2 and AVX-512
 * attention tiles, and the timestep embedding's expf_torch. */
#define OPS_EXP_LOG2E 1.44269504088896341f
#define OPS_EXP_LN2_HI 0.693145751953125f
#define OPS_EXP_LN2_LO 1.428606765330187045e-06f
#define OPS_EXP_P5 0.000198527617612853646278381f
#define OPS_EXP_P4 0.00139304355252534151077271f
#define OPS_EXP_P3 0.00833336077630519866943359f
#define OPS_EXP_P2 0.0416664853692054748535156f
#define OPS_EXP_P1 0.166666671633720397949219f
#define OPS_EXP_P0 0.5f

/* Width of the blocked loops that use these functions. */
#define OPS_LANES 8

/* e^x for x <= 0: x = n ln2 + r with |r| <= ln2/2, e^r by SLEEF's expf polynomial, 2^n
 * put together in the exponent bits. Within 2 ulp of expf. x is first clamped at -87
 * (so 2^n stays a normal number; e^-87 ~ 2e-38 is 0 next to the 1 a softmax or a
 * sigmoid adds it to), and the clamp compares bit patterns: for x <= 0 a larger
 * pattern is a more negative number, and an integer select vectorises where a float
 * compare (which may trap) does not. */
static inline float ops_exp_nonpos(float x)
{
    const float log2e = OPS_EXP_LOG2E;
    const float ln2_hi = OPS_EXP_LN2_HI, ln2_lo = OPS_EXP_LN2_LO;
    const float round_magic = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    const uint32_t minus_87 = 0xC2AE0000u;   /* bits of -87.0f */
    uint32_t xb;
    memcpy(&xb, &x, sizeof xb);
    xb = xb > minus_87 ? minus_87 : xb;
    memcpy(&x, &xb, sizeof x);
    float n = (x * log2e + round_magic) - round_magic;
    float r = x - n * ln2_hi - n * ln2_lo;
    float u = OPS_EXP_P5;
    u = u * r + OPS_EXP_P4;
    u = u * r + OPS_EXP_P3;
    u = u * r + OPS_EXP_P2;
    u = u * r + OPS_EXP_P1;
    u = u * r + OPS_EXP_P0;
    u = 1.0f + (r * r * u + r);
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return u * scale;
}

/* 1 / (1 + e^-x) from e = e^-|x| (never overflows): 1/(1+e) for x >= 0, e/(1+e) below. */
static inline float ops_sigmoid(float x)
{
    uint32_t xb, mag;
    memcpy(&xb, &x, sizeof xb);
    mag = xb | 0x80000000u;                  /* -|x| */
    float neg_abs;
    memcpy(&neg_abs, &mag, sizeof neg_abs);
    float e = ops_exp_nonpos(neg_abs);
    float p = 1.0f / (1.0f + e), q = e * p;
    /* Select by mask: a float select would not vectorise (see above). */
    uint32_t pb, qb, neg = 0u - (xb >> 31);
    memcpy(&pb, &p, sizeof pb);
    memcpy(&qb, &q, sizeof qb);
    uint32_t sb = (qb & neg) | (pb & ~neg);
    float s;
    memcpy(&s, &sb, sizeof s);
    return s;
}

/* x = x · sigmoid(x) over n values, in the calling thread (op_silu spreads this over
 * the cores; code already running on a worker calls it directly). */
static inline void ops_silu_serial(float *x, size_t n)
{
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            x[i + l] *= ops_sigmoid(x[i + l]);
    for (; i < n; i++)
        x[i] *= ops_sigmoid(x[i]);
}

#endif
