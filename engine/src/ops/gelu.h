/* The exact (erf) GELU, x Phi(x), as one branch-free inline function: elementwise.c's
 * op_geglu / op_gelu and the bf16 path's GEGLU (geglu_bf16_avx512.c) expand it in their
 * blocks of lanes. Engine-internal. */
#ifndef SD_OPS_GELU_H
#define SD_OPS_GELU_H

#include <stdint.h>
#include <string.h>

#include "ops/exp.h"

/* Chebyshev coefficients of the Mills ratio M(t) = Phi(-t) e^(t^2/2) sqrt(2 pi) on
 * t in [0, GELU_T_MAX], in the variable u = GELU_U_SCALE * t / (t + 3) - 1 (which maps
 * the interval to [-1, 1] and makes M nearly polynomial). Chebyshev interpolation at
 * 200 nodes against double erfc, truncated at degree 11: fit error 3.3e-9 relative. */
#define GELU_T_MAX 13.2f
#define GELU_U_SCALE 2.4545454545454546f   /* 2 (T_MAX + 3) / T_MAX */
static const float mills_cheb[12] = {
    5.376770336e-01f,  -5.733068654e-01f, 1.262983120e-01f,  -1.586511118e-02f,
    3.564376950e-04f,  1.832616872e-04f,  -9.783546063e-06f, -3.400465452e-06f,
    9.907575274e-08f,  8.175673262e-08f,  3.325193283e-09f,  -1.843437167e-09f,
};

/* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), branch-free so a block vectorises. With
 * t = |x|: Phi(-t) = e^(-t^2/2) M(t) / sqrt(2 pi) holds its relative accuracy deep in
 * the negative tail (where 1 + erf cancels to nothing in float), and Phi(t) = 1 - Phi(-t).
 * t^2/2 is exact in double and split into two floats, so the exponential does not
 * inherit the rounding of t^2. Within ~4e-7 relative of the float64 value (1.2e-6 where
 * the result nears the denormal range); the selects are bit masks for the reason
 * given in ops_exp.h. */
static inline float gelu_erf1(float x)
{
    uint32_t xb, tb;
    memcpy(&xb, &x, sizeof xb);
    const uint32_t t_max_bits = 0x41533333u;   /* bits of GELU_T_MAX: Phi(-t) ~ 0 past it */
    tb = xb & 0x7fffffffu;
    tb = tb > t_max_bits ? t_max_bits : tb;
    float t;
    memcpy(&t, &tb, sizeof t);

    /* Clenshaw's recurrence b_k = 2u b_(k+1) - b_(k+2) + c_k, written out: a loop here
     * would keep the caller's block from vectorising. */
    const float u = GELU_U_SCALE * (t / (t + 3.0f)) - 1.0f, u2 = 2.0f * u;
    const float *c = mills_cheb;
    const float b11 = c[11];
    const float b10 = u2 * b11 + c[10];
    const float b9 = u2 * b10 - b11 + c[9];
    const float b8 = u2 * b9 - b10 + c[8];
    const float b7 = u2 * b8 - b9 + c[7];
    const float b6 = u2 * b7 - b8 + c[6];
    const float b5 = u2 * b6 - b7 + c[5];
    const float b4 = u2 * b5 - b6 + c[4];
    const float b3 = u2 * b4 - b5 + c[3];
    const float b2 = u2 * b3 - b4 + c[2];
    const float b1 = u2 * b2 - b3 + c[1];
    const float mills = u * b1 - b2 + c[0];

    const double half_t2 = 0.5 * (double)t * (double)t;
    const float hi = (float)half_t2, lo = (float)(half_t2 - (double)hi);
    const float phi_neg = ops_exp_nonpos(-hi) * (1.0f - lo) * mills * 0.398942280401432678f;
    const float phi_pos = 1.0f - phi_neg;

    uint32_t nb, pb, neg = 0u - (xb >> 31);
    memcpy(&nb, &phi_neg, sizeof nb);
    memcpy(&pb, &phi_pos, sizeof pb);
    uint32_t phib = (nb & neg) | (pb & ~neg);
    float phi;
    memcpy(&phi, &phib, sizeof phi);
    return x * phi;
}

#endif
