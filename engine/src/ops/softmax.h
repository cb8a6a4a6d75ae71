/* Attention's row softmax, unnormalised. Engine-internal. */
#ifndef SD_OPS_SOFTMAX_H
#define SD_OPS_SOFTMAX_H

/* In place over s[rows, nk]: s = exp(s - rowmax) with keys past the causal limit
 * zeroed (causal: row r is query row0 + r and sees keys 0 .. row0 + r); inv_sum[r] =
 * 1 / row sum, applied after the product with V (cheaper on [rows, d] than on [rows, nk]). */
void ops_softmax_rows(float *s, int rows, int nk, int row0, int causal, float *inv_sum);

#endif
