/* The row softmax of attention's unfused path (attention.c) and of the bf16 path
 * (attention_bf16.c): the same arithmetic for both. */
#include "ops/softmax.h"

#include <string.h>

#include "ops/exp.h"

static float row_max(const float *x, int n)
{
    float lane[OPS_LANES];
    int j = 0;
    for (int l = 0; l < OPS_LANES; l++)
        lane[l] = x[0];
    for (; j + OPS_LANES <= n; j += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
    float m = lane[0];
    for (int l = 1; l < OPS_LANES; l++)
        m = lane[l] > m ? lane[l] : m;
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* x = exp(x - m) in place over n values. */
static void exp_shift(float *x, int n, float m)
{
    int j = 0;
    for (; j + OPS_LANES <= n; j += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            x[j + l] = ops_exp_nonpos(x[j + l] - m);
    for (; j < n; j++)
        x[j] = ops_exp_nonpos(x[j] - m);
}

/* Sum of n values, accumulated in double. */
static double row_sum(const float *x, int n)
{
    double lane[OPS_LANES] = {0};
    int j = 0;
    for (; j + OPS_LANES <= n; j += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            lane[l] += x[j + l];
    double sum = 0.0;
    for (; j < n; j++)
        sum += x[j];
    for (int l = 0; l < OPS_LANES; l++)
        sum += lane[l];
    return sum;
}

void ops_softmax_rows(float *s, int rows, int nk, int row0, int causal, float *inv_sum)
{
    for (int r = 0; r < rows; r++) {
        float *sr = s + (size_t)r * nk;
        int len = nk;
        if (causal) {
            len = row0 + r + 1;       /* query i sees keys 0..i */
            if (len > nk)
                len = nk;
        }
        exp_shift(sr, len, row_max(sr, len));
        double sum = row_sum(sr, len);
        memset(sr + len, 0, (size_t)(nk - len) * sizeof *sr);
        inv_sum[r] = (float)(1.0 / sum);
    }
}

