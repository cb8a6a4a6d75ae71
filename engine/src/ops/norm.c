/* GroupNorm and LayerNorm (gamma/beta may be NULL: no affine). Statistics are
 * accumulated in double (two passes: mean, then squared deviations) so that the result
 * sits near the float64 truth rather than inheriting float32 summation error over
 * 262144-value groups. Loops run in blocks of OPS_LANES so they vectorise at -O2; the
 * bodies (norm_body.h) are built for the baseline ISA here and again for AVX2 and AVX-512
 * (bit-identical, the widest the CPU runs is taken). */
#include "ops/ops.h"

#include "ops/kernels_simd.h"
#include "ops/norm_body.h"
#include "ops/parallel.h"

/* one of the builds of group_norm_range / layer_norm_range (norm_body.h) */
static void (*group_norm_kernel(void))(void *, int, int, int)
{
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        return ops_group_norm_range_avx512;
#endif
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        return ops_group_norm_range_avx2;
#endif
    return group_norm_range;
}

static void (*layer_norm_kernel(void))(void *, int, int, int)
{
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        return ops_layer_norm_range_avx512;
#endif
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        return ops_layer_norm_range_avx2;
#endif
    return layer_norm_range;
}

void op_group_norm(const float *x, int n, int c, int hw, int groups, float eps,
                   const float *gamma, const float *beta, int fuse_silu, float *y)
{
    group_norm_args p = {x, c, hw, groups, fuse_silu, eps, gamma, beta, y};
    ops_parallel_for(ops_workers_for((size_t)n * c * hw), n * groups, group_norm_kernel(), &p);
}

void op_layer_norm(const float *x, int rows, int dim, float eps,
                   const float *gamma, const float *beta, float *y)
{
    layer_norm_args p = {x, dim, eps, gamma, beta, y};
    ops_parallel_for(ops_workers_for((size_t)rows * dim), rows, layer_norm_kernel(), &p);
}
