/* Linear layers, activations and the cheap reshuffles between blocks. */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops_exp.h"

void op_linear(const float *x, int rows, int in, const float *weight, const float *bias,
               int out, float *y)
{
    if (rows <= 0 || out <= 0)
        return;
    if (bias) {
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * out, bias, (size_t)out * sizeof *y);
    }
    /* [rows, out] = [rows, in] · [out, in]ᵀ (+ the bias already in y) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x, in, weight, in,
                bias ? 1.0f : 0.0f, y, out);
}

/* 0.5 x (1 + erf(x / sqrt 2)), written with erfc: 1 + erf cancels to nothing in float
 * below x ~ -5, erfc(-x / sqrt 2) keeps the tail. */
static inline float gelu_erf1(float x) { return 0.5f * x * erfcf(-x * (float)M_SQRT1_2); }

void op_geglu(const float *x, int rows, int d, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *value = x + (size_t)r * 2 * d;    /* [d] */
        const float *gate = value + d;                 /* [d] */
        float *yr = y + (size_t)r * d;
        for (int j = 0; j < d; j++)
            yr[j] = value[j] * gelu_erf1(gate[j]);
    }
}

void op_silu(float *x, size_t n)
{
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            x[i + l] *= ops_sigmoid(x[i + l]);
    for (; i < n; i++)
        x[i] *= ops_sigmoid(x[i]);
}

void op_gelu_erf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = gelu_erf1(x[i]);
}

void op_quick_gelu(float *x, size_t n)
{
    /* CLIP's activation: x · sigmoid(1.702 x) */
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            x[i + l] *= ops_sigmoid(1.702f * x[i + l]);
    for (; i < n; i++)
        x[i] *= ops_sigmoid(1.702f * x[i]);
}

void op_add(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void op_add_channel_bias(float *x, const float *v, int n, int c, int hw)
{
    for (int b = 0; b < n; b++) {
        for (int ch = 0; ch < c; ch++) {
            float bias = v[(size_t)b * c + ch];
            float *xc = x + ((size_t)b * c + ch) * hw;
            for (int i = 0; i < hw; i++)
                xc[i] += bias;
        }
    }
}

/* PyTorch's nearest source index (upsample_nearest2d with an explicit output size):
 * identity and exact 2x are special-cased there, otherwise scale = (float)in / out and
 * src = floor(dst * scale) evaluated in float. */
static int nearest_src(int dst, int in, int out)
{
    if (out == in)
        return dst;
    if (out == 2 * in)
        return dst >> 1;
    float scale = (float)in / (float)out;
    int s = (int)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

void op_upsample_nearest(const float *x, int n, int c, int h, int w, int ho, int wo, float *y)
{
    for (int p = 0; p < n * c; p++) {
        const float *xp = x + (size_t)p * h * w;    /* [h, w] plane */
        float *yp = y + (size_t)p * ho * wo;        /* [ho, wo] plane */
        int prev_src = -1;
        for (int oy = 0; oy < ho; oy++) {
            int sy = nearest_src(oy, h, ho);
            float *dst = yp + (size_t)oy * wo;
            if (sy == prev_src) {   /* a repeated source row: copy the row just made */
                memcpy(dst, dst - wo, (size_t)wo * sizeof *dst);
                continue;
            }
            prev_src = sy;
            const float *src = xp + (size_t)sy * w;
            if (wo == 2 * w) {
                for (int ox = 0; ox < w; ox++)
                    dst[2 * ox] = dst[2 * ox + 1] = src[ox];
            } else {
                for (int ox = 0; ox < wo; ox++)
                    dst[ox] = src[nearest_src(ox, w, wo)];
            }
        }
    }
}

void op_transpose(const float *x, int rows, int cols, float *y)
{
    /* Tiled so both the reads and the writes stay within a few cache lines. */
    enum { TILE = 32 };
    for (int r0 = 0; r0 < rows; r0 += TILE) {
        int r1 = r0 + TILE < rows ? r0 + TILE : rows;
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            int c1 = c0 + TILE < cols ? c0 + TILE : cols;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                    y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
        }
    }
}

void op_concat_channels(const float *a, int ca, const float *b, int cb, int n, int hw, float *y)
{
    const size_t la = (size_t)ca * hw, lb = (size_t)cb * hw;
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * (la + lb);
        memcpy(yi, a + (size_t)i * la, la * sizeof *y);
        memcpy(yi + la, b + (size_t)i * lb, lb * sizeof *y);
    }
}

/* expf as PyTorch's vectorised CPU kernel evaluates it (SLEEF's xexpf, 1-ulp, FMA):
 * glibc's correctly rounded expf differs by an ulp on some frequencies, and at t = 999
 * an ulp of frequency moves the sinusoid by ~2e-6. */
static float expf_torch(float d)
{
    const float r_ln2 = 1.442695040888963407359924681001892137426645954152985934f;
    const float l2u = 0.693145751953125f, l2l = 1.428606765330187045e-06f;
    float q = rintf(d * r_ln2);
    float s = fmaf(q, -l2u, d);
    s = fmaf(q, -l2l, s);
    float u = 0.000198527617612853646278381f;
    u = fmaf(u, s, 0.00139304355252534151077271f);
    u = fmaf(u, s, 0.00833336077630519866943359f);
    u = fmaf(u, s, 0.0416664853692054748535156f);
    u = fmaf(u, s, 0.166666671633720397949219f);
    u = fmaf(u, s, 0.5f);
    u = 1.0f + fmaf(s * s, u, s);
    return ldexpf(u, (int)q);
}

void op_timestep_embedding(float t, int dim, float *out)
{
    /* diffusers get_timestep_embedding, evaluated in the same float32 order:
     * exponent = -ln(10000) * i / half; emb = t * exp(exponent); [cos | sin]. */
    const int half = dim / 2;
    const float neg_log_max_period = (float)-9.210340371976184;   /* -math.log(10000) */
    for (int i = 0; i < half; i++) {
        float exponent = neg_log_max_period * (float)i;
        exponent = exponent / (float)half;
        float arg = t * expf_torch(exponent);
        out[i] = cosf(arg);
        out[half + i] = sinf(arg);
    }
    if (dim % 2)
        out[dim - 1] = 0.0f;   /* diffusers zero-pads an odd dimension */
}
