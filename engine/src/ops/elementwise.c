/* Linear layers, activations and the cheap reshuffles between blocks. */
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#include "ops/exp.h"
#include "ops/gelu_body.h"
#include "ops/kernels_simd.h"
#include "ops/parallel.h"

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
    ops_sgemm(0, 1, rows, out, in, 1.0f, x, in, weight, in, bias ? 1.0f : 0.0f, y, out);
}

/* one of the builds of geglu_range / gelu_serial (gelu_body.h) */
static void (*geglu_kernel(void))(void *, int, int, int)
{
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        return ops_geglu_range_avx512;
#endif
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        return ops_geglu_range_avx2;
#endif
    return geglu_range;
}

static void (*gelu_kernel(void))(float *, size_t)
{
#ifdef SD_HAVE_AVX512
    if (ops_have_avx512())
        return ops_gelu_serial_avx512;
#endif
#ifdef SD_HAVE_AVX2
    if (ops_have_avx2())
        return ops_gelu_serial_avx2;
#endif
    return gelu_serial;
}

void op_geglu(const float *x, int rows, int d, float *y)
{
    geglu_args p = {x, d, y};
    ops_parallel_for(ops_workers_for((size_t)rows * d), rows, geglu_kernel(), &p);
}

/* An element-wise function applied in place to x[0..n), in blocks of OPS_BLOCK values
 * spread over the workers (block edges are multiples of OPS_LANES, so every value goes
 * through the same vector path whatever the split). */
#define OPS_BLOCK 4096
typedef struct {
    float *x;
    size_t n;
    void (*fn)(float *x, size_t n);
} map_args;

static void map_range(void *arg, int worker, int begin, int end)
{
    const map_args *p = arg;
    (void)worker;
    size_t i0 = (size_t)begin * OPS_BLOCK, i1 = (size_t)end * OPS_BLOCK;
    p->fn(p->x + i0, (i1 < p->n ? i1 : p->n) - i0);
}

static void map_parallel(float *x, size_t n, void (*fn)(float *x, size_t n))
{
    map_args p = {x, n, fn};
    ops_parallel_for(ops_workers_for(n), (int)((n + OPS_BLOCK - 1) / OPS_BLOCK), map_range, &p);
}

static void quick_gelu_serial(float *x, size_t n)
{
    /* CLIP's activation: x · sigmoid(1.702 x) */
    size_t i = 0;
    for (; i + OPS_LANES <= n; i += OPS_LANES)
        for (int l = 0; l < OPS_LANES; l++)
            x[i + l] *= ops_sigmoid(1.702f * x[i + l]);
    for (; i < n; i++)
        x[i] *= ops_sigmoid(1.702f * x[i]);
}

void op_silu(float *x, size_t n)
{
    map_parallel(x, n, ops_silu_serial);
}

void op_gelu_erf(float *x, size_t n)
{
    map_parallel(x, n, gelu_kernel());
}

void op_quick_gelu(float *x, size_t n)
{
    map_parallel(x, n, quick_gelu_serial);
}

/* The residual adds, the time-embedding bias and the transposes run on the workers too:
 * serial, they were ~2 % of a bf16 U-Net step's CPU time (perf), with the other core idle. */
typedef struct {
    const float *a, *b;
    float *y;
    size_t n;
} add_args;

static void add_range(void *arg, int worker, int begin, int end)
{
    const add_args *p = arg;
    const size_t i0 = (size_t)begin * OPS_BLOCK, i1 = (size_t)end * OPS_BLOCK;
    const size_t stop = i1 < p->n ? i1 : p->n;
    (void)worker;
    for (size_t i = i0; i < stop; i++)
        p->y[i] = p->a[i] + p->b[i];
}

void op_add(const float *a, const float *b, float *y, size_t n)
{
    add_args p = {a, b, y, n};
    ops_parallel_for(ops_workers_for(n), (int)((n + OPS_BLOCK - 1) / OPS_BLOCK), add_range, &p);
}

typedef struct {
    float *x;
    const float *v;
    int hw;
} channel_bias_args;

/* Planes begin..end-1 of the batch (item b, channel ch is b * c + ch: v's index too). */
static void channel_bias_range(void *arg, int worker, int begin, int end)
{
    const channel_bias_args *p = arg;
    (void)worker;
    for (int bc = begin; bc < end; bc++) {
        const float bias = p->v[bc];
        float *xc = p->x + (size_t)bc * p->hw;
        for (int i = 0; i < p->hw; i++)
            xc[i] += bias;
    }
}

void op_add_channel_bias(float *x, const float *v, int n, int c, int hw)
{
    channel_bias_args p = {x, v, hw};
    ops_parallel_for(ops_workers_for((size_t)n * c * hw), n * c, channel_bias_range, &p);
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

/* Tiled so both the reads and the writes stay within a few cache lines. */
#define TRANSPOSE_TILE 32
typedef struct {
    const float *x;
    int rows, cols;
    float *y;
} transpose_args;

/* Bands of TRANSPOSE_TILE rows begin..end-1. */
static void transpose_range(void *arg, int worker, int begin, int end)
{
    const transpose_args *p = arg;
    const int rows = p->rows, cols = p->cols, TILE = TRANSPOSE_TILE;
    const float *x = p->x;
    float *y = p->y;
    (void)worker;
    for (int r0 = begin * TILE; r0 < end * TILE && r0 < rows; r0 += TILE) {
        int r1 = r0 + TILE < rows ? r0 + TILE : rows;
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            int c1 = c0 + TILE < cols ? c0 + TILE : cols;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                    y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
        }
    }
}

void op_transpose(const float *x, int rows, int cols, float *y)
{
    transpose_args p = {x, rows, cols, y};
    ops_parallel_for(ops_workers_for((size_t)rows * cols),
                     (rows + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE, transpose_range, &p);
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
    float q = rintf(d * OPS_EXP_LOG2E);
    float s = fmaf(q, -OPS_EXP_LN2_HI, d);
    s = fmaf(q, -OPS_EXP_LN2_LO, s);
    float u = OPS_EXP_P5;
    u = fmaf(u, s, OPS_EXP_P4);
    u = fmaf(u, s, OPS_EXP_P3);
    u = fmaf(u, s, OPS_EXP_P2);
    u = fmaf(u, s, OPS_EXP_P1);
    u = fmaf(u, s, OPS_EXP_P0);
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
