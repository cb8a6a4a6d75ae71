#include "naive_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float rng_uniform(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (float)((double)(r->s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

static void out_of_memory(void)
{
    fprintf(stderr, "out of memory\n");
    exit(2);
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        out_of_memory();
    return p;
}

float *rand_floats(rng *r, size_t n, float scale)
{
    float *x = xmalloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * rng_uniform(r);
    return x;
}

double *new_doubles(size_t n)
{
    double *x = calloc(n ? n : 1, sizeof *x);
    if (!x)
        out_of_memory();
    return x;
}

void naive_conv(const float *x, int n, int ci, int h, int w, const float *wt, const float *bias,
                int co, const sd_conv_params *p, int ho, int wo, double *y)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < co; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int c = 0; c < ci; c++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int iy = oy * p->stride - p->pad_top + ky;
                                int ix = ox * p->stride - p->pad_left + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                s += (double)x[(((size_t)b * ci + c) * h + iy) * w + ix] *
                                     wt[(((size_t)o * ci + c) * p->kh + ky) * p->kw + kx];
                            }
                    y[(((size_t)b * co + o) * ho + oy) * wo + ox] = s;
                }
}

void naive_linear(const float *x, int rows, int in, const float *wt, const float *bias, int out,
                  double *y)
{
    for (int i = 0; i < rows; i++)
        for (int o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < in; c++)
                s += (double)x[(size_t)i * in + c] * wt[(size_t)o * in + c];
            y[(size_t)i * out + o] = s;
        }
}

void naive_attention(const float *q, int qs, const float *k, const float *v, int kvs, int nq,
                     int nk, int heads, int d, int causal, double *out)
{
    double *s = new_doubles((size_t)nk);
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < nq; i++) {
            int len = causal ? (i + 1 < nk ? i + 1 : nk) : nk;
            double m = -INFINITY, sum = 0.0;
            for (int j = 0; j < len; j++) {
                double dot = 0.0;
                for (int c = 0; c < d; c++)
                    dot += (double)q[(size_t)i * qs + h * d + c] * k[(size_t)j * kvs + h * d + c];
                s[j] = dot / sqrt((double)d);
                m = s[j] > m ? s[j] : m;
            }
            for (int j = 0; j < len; j++) {
                s[j] = exp(s[j] - m);
                sum += s[j];
            }
            for (int c = 0; c < d; c++) {
                double o = 0.0;
                for (int j = 0; j < len; j++)
                    o += s[j] * v[(size_t)j * kvs + h * d + c];
                out[(size_t)i * heads * d + h * d + c] = o / sum;
            }
        }
    free(s);
}

int bf16_test_isas(const char *what, ops_bf16_isa isas[2])
{
    const ops_bf16_isa best = ops_bf16_best();
    if (best == OPS_BF16_NONE) {
        printf("SKIP: no bf16 kernel here (the CPU or build lacks AMX-BF16 and AVX512-BF16, "
               "or SD_NO_BF16 is set)\n");
        return 0;
    }
    const char *amx = getenv("SD_AMX");
    if (amx && *amx && strcmp(amx, "0") != 0 && best != OPS_BF16_AMX) {
        printf("SKIP: SD_AMX=1 (the AMX run): this CPU, OS or build has no AMX-BF16\n");
        return 0;
    }
    int n = 0;
    if (best == OPS_BF16_AMX)
        isas[n++] = OPS_BF16_AMX;
    else
        printf("SKIP: amx-bf16 %s: not offered (no AMX-BF16 here, or SD_AMX=1 not set: the "
               "AMX kernel is opt-in until verified on AMX hardware)\n", what);
    isas[n++] = OPS_BF16_AVX512;
    return n;
}
