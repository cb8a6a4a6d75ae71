/* One row of the im2col unfolding, shared by the fp32 (conv.c) and bf16 (conv_bf16.c)
 * convolutions. Engine-internal. */
#ifndef SD_OPS_IM2COL_H
#define SD_OPS_IM2COL_H

#include "ops/ops.h"

/* Row kk = (c, ky, kx) of the unfolded image x[ci, h, w] for output rows oy0 ..
 * oy0+rows-1: dst[rows * wo], the input value under tap (ky, kx) of each output pixel
 * (zero in the padding). Row kk matches weight[co, c, ky, kx]. */
void ops_im2col_row(const float *x, int h, int w, const sd_conv_params *p, int wo, int oy0,
                    int rows, int kk, float *dst);

#endif
