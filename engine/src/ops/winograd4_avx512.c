/* The F(4x4, 3x3) transforms (winograd4_body.h) built with -mavx512 -ffp-contract=off:
 * bit-identical to conv_winograd4.c's baseline build, wider vectors. */
#include "ops/winograd4_body.h"

const ops_winograd4_kernels ops_winograd4_avx512 = {w4_input_row, w4_output_row, w4_weight_tiles};
