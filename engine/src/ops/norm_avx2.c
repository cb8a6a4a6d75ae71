/* GroupNorm and LayerNorm (norm_body.h) built with -mavx2 -ffp-contract=off:
 * bit-identical to norm.c's baseline build, wider vectors. */
#include "ops/kernels_simd.h"
#include "ops/norm_body.h"

void ops_group_norm_range_avx2(void *arg, int worker, int begin, int end)
{
    group_norm_range(arg, worker, begin, end);
}

void ops_layer_norm_range_avx2(void *arg, int worker, int begin, int end)
{
    layer_norm_range(arg, worker, begin, end);
}
