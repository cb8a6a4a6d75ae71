/* GEGLU for the bf16 path, written straight into the rows operand of the feed-forward's
 * second linear layer: value · gelu(gate) (gelu.h, the fp32 path's function, here in
 * 16-lane blocks built with AVX-512 and FMA) rounded to bf16. Replaces op_geglu's fp32
 * output and the rounding pass over it. Compiled with the bf16 library's -m flags. */
#include <string.h>

#include "ops/bf16_avx512.h"
#include "ops/gelu.h"
#include "ops/gemm_bf16.h"

#define LANES OPS_BF16_GEGLU_LANES

/* The lanes go through the caller's scratch, not 64-byte stack arrays here: GCC gives
 * those aligned moves, and ASan's fake stack (detect_stack_use_after_return) only aligns
 * frames to 32 bytes, so the sanitizer build faulted on them. */
void ops_bf16_geglu_row_avx512(const float *x, int d, uint16_t *y, size_t ldy,
                               float scratch[2 * OPS_BF16_GEGLU_LANES])
{
    const float *value = x, *gate = x + d;   /* [d] each */
    float *g = scratch, *t = scratch + LANES;
    for (int j = 0; j < d; j += LANES) {
        const int n = d - j < LANES ? d - j : LANES;
        const __mmask16 k = (__mmask16)((1u << n) - 1u);
        _mm512_storeu_ps(t, _mm512_maskz_loadu_ps(k, gate + j));   /* tail lanes 0 */
        for (int l = 0; l < LANES; l++)
            g[l] = gelu_erf1(t[l]);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, value + j), _mm512_loadu_ps(g));
        _mm256_mask_storeu_epi16(y + j, k, _mm512_cvtepi32_epi16(round16(v)));
    }
    memset(y + d, 0, (ldy - (size_t)d) * sizeof *y);
}
