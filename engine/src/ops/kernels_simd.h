/* The element-wise kernels of norm.c and elementwise.c (norm_body.h, gelu_body.h) built
 * again for wider vectors: *_avx2 in norm_avx2.c / gelu_avx2.c (-mavx2), *_avx512 in
 * norm_avx512.c / gelu_avx512.c (-mavx512f), each with -ffp-contract=off so the values
 * are bit-identical to the baseline build's. Call one only when ops_have_avx2() /
 * ops_have_avx512() (ops/parallel.h) says the CPU runs it. The range functions are
 * ops_parallel_for tasks over the arguments structs of the bodies. Engine-internal. */
#ifndef SD_OPS_KERNELS_SIMD_H
#define SD_OPS_KERNELS_SIMD_H

#include <stddef.h>

void ops_group_norm_range_avx2(void *arg, int worker, int begin, int end);
void ops_layer_norm_range_avx2(void *arg, int worker, int begin, int end);
void ops_geglu_range_avx2(void *arg, int worker, int begin, int end);
void ops_gelu_serial_avx2(float *x, size_t n);

void ops_group_norm_range_avx512(void *arg, int worker, int begin, int end);
void ops_layer_norm_range_avx512(void *arg, int worker, int begin, int end);
void ops_geglu_range_avx512(void *arg, int worker, int begin, int end);
void ops_gelu_serial_avx512(float *x, size_t n);

#endif
