/* The F(4x4, 3x3) transforms (winograd4_body.h) for the baseline ISA (conv_winograd4.c
 * takes the -mavx2 / -mavx512f builds where the CPU runs them). */
#include "ops/winograd4_body.h"

const ops_winograd4_kernels ops_winograd4_base = {w4_input_row, w4_output_row, w4_weight_tiles};
