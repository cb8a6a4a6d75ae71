/* The erf GELU and GEGLU's rows (gelu_body.h) built with -mavx512f -ffp-contract=off:
 * bit-identical to elementwise.c's baseline build, wider vectors. */
#include "ops/gelu_body.h"
#include "ops/kernels_simd.h"

void ops_geglu_range_avx512(void *arg, int worker, int begin, int end)
{
    geglu_range(arg, worker, begin, end);
}

void ops_gelu_serial_avx512(float *x, size_t n)
{
    gelu_serial(x, n);
}
