/* Seeded normals equal to torch's CPU randn and to A1111's Philox noise (see rng.h).
 *
 * Every formula below repeats the reference's float/double operations one by one, in its
 * order and precision, so the results agree to the bit. That relies on the compiler not
 * fusing a*b+c on its own: the build uses -std=c11, under which GCC does not contract; the
 * fusions torch's binary does have are written as fmaf() explicitly. */
#include "core/float_bits.h"
#include "core/rng.h"

#include <math.h>
#include <string.h>

/* c10::pi<double> */
#define TORCH_PI 3.14159265358979323846

/* ---- mt19937, as at::mt19937 (aten/src/ATen/core/MT19937RNGEngine.h) ------------------- */

enum { MT_M = 397 };
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER_MASK 0x80000000u
#define MT_LOWER_MASK 0x7fffffffu

static void mt_seed(sd_mt19937 *mt, uint64_t seed)
{
    /* torch's init_with_uint32: the seed is a uint64 but only its low word is used. */
    mt->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (uint32_t j = 1; j < SD_MT19937_N; j++) {
        uint32_t prev = mt->state[j - 1];
        mt->state[j] = 1812433253u * (prev ^ (prev >> 30)) + j;
    }
    mt->next = SD_MT19937_N;
    mt->has_cached_normal = 0;
    mt->cached_normal = 0.0;
}

static uint32_t mt_twist(uint32_t u, uint32_t v)
{
    return (((u & MT_UPPER_MASK) | (v & MT_LOWER_MASK)) >> 1) ^ ((v & 1u) ? MT_MATRIX_A : 0u);
}

static void mt_next_state(sd_mt19937 *mt)
{
    uint32_t *s = mt->state;
    int j = 0;
    for (; j < SD_MT19937_N - MT_M; j++)
        s[j] = s[j + MT_M] ^ mt_twist(s[j], s[j + 1]);
    for (; j < SD_MT19937_N - 1; j++)
        s[j] = s[j + MT_M - SD_MT19937_N] ^ mt_twist(s[j], s[j + 1]);
    s[j] = s[j + MT_M - SD_MT19937_N] ^ mt_twist(s[j], s[0]);
    mt->next = 0;
}

static uint32_t mt_random(sd_mt19937 *mt)
{
    if (mt->next >= SD_MT19937_N)
        mt_next_state(mt);
    uint32_t y = mt->state[mt->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* CPUGeneratorImpl::random64: the first word is the high half. */
static uint64_t mt_random64(sd_mt19937 *mt)
{
    uint64_t hi = mt_random(mt);
    uint64_t lo = mt_random(mt);
    return (hi << 32) | lo;
}

/* at::uniform_real_distribution<float>(0, 1): the low 24 bits of one word, times 2^-24. */
static float uniform_float(sd_mt19937 *mt)
{
    return (float)(mt_random(mt) & 0xffffffu) * (1.0f / 16777216.0f);
}

/* at::uniform_real_distribution<double>(0, 1): the low 53 bits of random64, times 2^-53. */
static double uniform_double(sd_mt19937 *mt)
{
    const uint64_t mask = (UINT64_C(1) << 53) - 1;
    return (double)(mt_random64(mt) & mask) * (1.0 / 9007199254740992.0);
}

/* ---- torch's AVX2 log/sincos (aten/src/ATen/native/cpu/avx_mathfun.h), one lane ----------
 * Cephes polynomials. torch builds these with GCC -mavx2 -mfma, and GCC fuses each multiply
 * whose only use is an add into an FMA; fmaf() stands exactly where it did. The placement was
 * checked against torch over every possible u1 and u2 (tests/fixtures/rng/
 * verify_against_torch.py): without the fusions ~6000 of the 2^25 inputs differ by an ulp. */

static const float cephes_SQRTHF = 0.707106781186547524;
static const float cephes_log_p0 = 7.0376836292E-2;
static const float cephes_log_p1 = -1.1514610310E-1;
static const float cephes_log_p2 = 1.1676998740E-1;
static const float cephes_log_p3 = -1.2420140846E-1;
static const float cephes_log_p4 = +1.4249322787E-1;
static const float cephes_log_p5 = -1.6668057665E-1;
static const float cephes_log_p6 = +2.0000714765E-1;
static const float cephes_log_p7 = -2.4999993993E-1;
static const float cephes_log_p8 = +3.3333331174E-1;
static const float cephes_log_q1 = -2.12194440e-4;
static const float cephes_log_q2 = 0.693359375;

/* log256_ps for x in (0, 1] (u1 = 1 - uniform never reaches 0). */
static float avx2_logf(float x)
{
    if (x < 1.17549435e-38f)  /* _ps256_min_norm_pos: cut off denormals */
        x = 1.17549435e-38f;
    int32_t imm0 = (int32_t)(f32_bits(x) >> 23);
    /* keep the mantissa, exponent of 0.5: x in [0.5, 1) */
    x = f32_from_bits((f32_bits(x) & ~0x7f800000u) | f32_bits(0.5f));
    imm0 -= 0x7f;
    float e = (float)imm0;
    e = e + 1.0f;

    int below = x < cephes_SQRTHF;
    float tmp = below ? x : 0.0f;
    x = x - 1.0f;
    e = e - (below ? 1.0f : 0.0f);
    x = x + tmp;

    float z = x * x;
    float y = cephes_log_p0;
    y = fmaf(y, x, cephes_log_p1);
    y = fmaf(y, x, cephes_log_p2);
    y = fmaf(y, x, cephes_log_p3);
    y = fmaf(y, x, cephes_log_p4);
    y = fmaf(y, x, cephes_log_p5);
    y = fmaf(y, x, cephes_log_p6);
    y = fmaf(y, x, cephes_log_p7);
    y = fmaf(y, x, cephes_log_p8);
    y = y * x;
    tmp = e * cephes_log_q1;
    y = fmaf(y, z, tmp);  /* GCC fuses y*z, the first of the two products, not e*q1 */
    tmp = z * 0.5f;  /* exact, so whether it is fused does not matter */
    y = y - tmp;
    tmp = e * cephes_log_q2;  /* exact: q2 has 9 significant bits, e is a small integer */
    x = x + y;
    x = x + tmp;
    return x;
}

static const float minus_cephes_DP1 = -0.78515625;
static const float minus_cephes_DP2 = -2.4187564849853515625e-4;
static const float minus_cephes_DP3 = -3.77489497744594108e-8;
static const float sincof_p0 = -1.9515295891E-4;
static const float sincof_p1 = 8.3321608736E-3;
static const float sincof_p2 = -1.6666654611E-1;
static const float coscof_p0 = 2.443315711809948E-005;
static const float coscof_p1 = -1.388731625493765E-003;
static const float coscof_p2 = 4.166664568298827E-002;
static const float cephes_FOPI = 1.27323954473516;  /* 4 / pi */

/* sincos256_ps, one lane, bit operations included (they decide the signs of zeros). */
static void avx2_sincosf(float xin, float *s, float *c)
{
    uint32_t sign_bit_sin = f32_bits(xin) & 0x80000000u;
    float x = f32_from_bits(f32_bits(xin) & 0x7fffffffu);

    float y = x * cephes_FOPI;
    int32_t j = (int32_t)y;  /* cvttps: truncation */
    j = (j + 1) & ~1;
    y = (float)j;

    uint32_t swap_sign_bit_sin = ((uint32_t)j & 4u) << 29;
    int poly_cos = ((uint32_t)j & 2u) == 0;  /* poly_mask */

    /* extended-precision reduction x - y*pi/4; DP1, DP2 products are exact */
    x = fmaf(y, minus_cephes_DP1, x);
    x = fmaf(y, minus_cephes_DP2, x);
    x = fmaf(y, minus_cephes_DP3, x);

    uint32_t sign_bit_cos = (~((uint32_t)j - 2u) & 4u) << 29;
    sign_bit_sin ^= swap_sign_bit_sin;

    float z = x * x;
    float yc = coscof_p0;
    yc = fmaf(yc, z, coscof_p1);
    yc = fmaf(yc, z, coscof_p2);
    yc = yc * z;
    yc = fmaf(yc, z, -(z * 0.5f));
    yc = yc + 1.0f;

    float ys = sincof_p0;
    ys = fmaf(ys, z, sincof_p1);
    ys = fmaf(ys, z, sincof_p2);
    ys = ys * z;
    ys = fmaf(ys, x, x);

    /* select by poly_mask exactly as the and/andnot/sub/add sequence does */
    float ysin2 = poly_cos ? ys : 0.0f;
    float ysin1 = poly_cos ? 0.0f : yc;
    ys = ys - ysin2;
    yc = yc - ysin1;
    float xmm1 = ysin1 + ysin2;
    float xmm2 = yc + ys;
    *s = f32_from_bits(f32_bits(xmm1) ^ sign_bit_sin);
    *c = f32_from_bits(f32_bits(xmm2) ^ sign_bit_cos);
}

/* ---- torch.randn on CPU (aten/src/ATen/native/cpu/DistributionTemplates.h) -------------- */

/* normal_fill_16_AVX2: uniforms in data[0..16) become 16 normals; u1 from the first eight,
 * u2 from the last eight. */
static void normal_fill_16(float *data)
{
    const float two_pi = (float)(2.0f * TORCH_PI);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - data[j];  /* [0, 1) -> (0, 1] for log */
        float u2 = data[j + 8];
        float radius = sqrtf(-2.0f * avx2_logf(u1));
        float theta = two_pi * u2;
        float sin_t, cos_t;
        avx2_sincosf(theta, &sin_t, &cos_t);
        /* _mm256_fmadd_ps(n, std = 1, mean = 0) */
        data[j] = radius * cos_t + 0.0f;
        data[j + 8] = radius * sin_t + 0.0f;
    }
}

/* normal_fill_AVX2: all uniforms first; a partial last block redraws 16 fresh uniforms over
 * the last 16 slots (overwriting normals already made there). */
static void torch_normal_fill(sd_mt19937 *mt, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = uniform_float(mt);
    for (size_t i = 0; i + 16 <= n; i += 16)
        normal_fill_16(out + i);
    if (n % 16 != 0) {
        float *last = out + n - 16;
        for (int i = 0; i < 16; i++)
            last[i] = uniform_float(mt);
        normal_fill_16(last);
    }
}

/* at::normal_distribution<double>: Box-Muller in double; the sine half is cached in the
 * generator and returned by the next scalar draw, even one in a later randn call. */
static double torch_normal_double(sd_mt19937 *mt)
{
    if (mt->has_cached_normal) {
        mt->has_cached_normal = 0;
        return mt->cached_normal * 1.0 + 0.0;  /* transformation::normal(x, mean 0, std 1) */
    }
    double u1 = uniform_double(mt);
    double u2 = uniform_double(mt);
    double r = sqrt(-2.0 * log(1.0 - u2));
    double theta = 2.0 * TORCH_PI * u1;
    mt->cached_normal = r * sin(theta);
    mt->has_cached_normal = 1;
    return r * cos(theta) * 1.0 + 0.0;
}

static void torch_randn(sd_mt19937 *mt, float *out, size_t n)
{
    if (n >= 16) {
        torch_normal_fill(mt, out, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (float)torch_normal_double(mt);
}

/* ---- A1111's Philox (modules/rng_philox.py) ---------------------------------------------- */

static const uint32_t philox_m[2] = {0xD2511F53u, 0xCD9E8D57u};
static const uint32_t philox_w[2] = {0x9E3779B9u, 0xBB67AE85u};

static void philox4x32_10(uint32_t ctr[4], const uint32_t key_in[2])
{
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            key[0] += philox_w[0];
            key[1] += philox_w[1];
        }
        uint64_t v1 = (uint64_t)ctr[0] * philox_m[0];
        uint64_t v2 = (uint64_t)ctr[2] * philox_m[1];
        ctr[0] = (uint32_t)(v2 >> 32) ^ ctr[1] ^ key[0];
        ctr[1] = (uint32_t)v2;
        ctr[2] = (uint32_t)(v1 >> 32) ^ ctr[3] ^ key[1];
        ctr[3] = (uint32_t)v1;
    }
}

/* box_muller(): numpy promotes uint32 * float32 to float64, so the float32 constants are
 * widened and everything after the integer is double; only the first output is kept. Each
 * numpy ufunc rounds its result, hence one operation per statement (no contraction). */
static float philox_box_muller(uint32_t x, uint32_t y)
{
    const float two_pow32_inv = (float)2.3283064e-10;
    const float two_pow32_inv_2pi = (float)(2.3283064e-10 * 6.2831855);
    double u = (double)x * (double)two_pow32_inv;
    u = u + (double)(two_pow32_inv / 2.0f);
    double v = (double)y * (double)two_pow32_inv_2pi;
    v = v + (double)(two_pow32_inv_2pi / 2.0f);
    double s = sqrt(-2.0 * log(u));
    return (float)(s * sin(v));
}

static void philox_randn(sd_philox *p, float *out, size_t n)
{
    const uint32_t key[2] = {(uint32_t)p->seed, (uint32_t)(p->seed >> 32)};
    for (size_t i = 0; i < n; i++) {
        /* the index lives in a uint32 counter word, as np.arange(n, dtype=np.uint32) */
        uint32_t ctr[4] = {p->offset, 0u, (uint32_t)i, 0u};
        philox4x32_10(ctr, key);
        out[i] = philox_box_muller(ctr[0], ctr[1]);
    }
    p->offset++;
}

/* ---- API ---------------------------------------------------------------------------------- */

void sd_rng_init(sd_rng *r, sd_rng_kind kind, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->kind = kind == SD_RNG_PHILOX ? SD_RNG_PHILOX : SD_RNG_TORCH_CPU;
    if (r->kind == SD_RNG_PHILOX) {
        r->philox.seed = seed;
        r->philox.offset = 0;
    } else {
        mt_seed(&r->mt, seed);
    }
}

void sd_rng_randn(sd_rng *r, float *out, size_t n)
{
    if (r->kind == SD_RNG_PHILOX)
        philox_randn(&r->philox, out, n);
    else
        torch_randn(&r->mt, out, n);
}
