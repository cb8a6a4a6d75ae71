/* Packed (fp16/bf16) weights widened to fp32 scratch per use.
 *
 * A fp16 checkpoint's conv and linear weights stay 16-bit in RAM (weights.c); the op that
 * needs one gets an fp32 copy in the arena for the duration of the call. Both widenings
 * are exact, so a packed tensor gives the same fp32 values as a widened-at-load one. */
#include "io/weights.h"

#include <string.h>

#include "ops/parallel.h"
#ifdef SD_HAVE_F16C
#include <cpuid.h>

#include "io/weights_f16c.h"
#endif

/* Values per slice handed to a worker: whole cache lines of both buffers. */
#define WIDEN_CHUNK 16384

typedef struct {
    const uint16_t *src;
    float *dst;
    size_t numel;
    int bf16;
    int f16c;
    const float *narrow_src;   /* sd_weights_narrow: fp32 in, */
    uint16_t *narrow_dst;      /* 16-bit out */
} widen_job;

static int have_f16c(void)
{
#ifdef SD_HAVE_F16C
    unsigned eax, ebx, ecx, edx;
    /* ops_have_avx2 also says the OS saves the ymm registers vcvtph2ps writes. */
    return ops_have_avx2() && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
#else
    return 0;
#endif
}

static void widen_range(void *arg, int worker, int c0, int c1)
{
    (void)worker;
    const widen_job *j = arg;
    size_t i0 = (size_t)c0 * WIDEN_CHUNK, i1 = (size_t)c1 * WIDEN_CHUNK;
    if (i1 > j->numel)
        i1 = j->numel;
#ifdef SD_HAVE_F16C
    if (j->f16c) {
        weights_f16c_widen(j->src + i0, j->dst + i0, i1 - i0);
        return;
    }
#endif
    if (j->bf16)
        for (size_t i = i0; i < i1; i++)
            j->dst[i] = sd_bf16_to_f32(j->src[i]);
    else
        for (size_t i = i0; i < i1; i++)
            j->dst[i] = sd_f16_to_f32(j->src[i]);
}

static void narrow_range(void *arg, int worker, int c0, int c1)
{
    (void)worker;
    const widen_job *j = arg;
    size_t i0 = (size_t)c0 * WIDEN_CHUNK, i1 = (size_t)c1 * WIDEN_CHUNK;
    if (i1 > j->numel)
        i1 = j->numel;
#ifdef SD_HAVE_F16C
    if (j->f16c) {
        weights_f16c_narrow(j->narrow_src + i0, j->narrow_dst + i0, i1 - i0);
        return;
    }
#endif
    for (size_t i = i0; i < i1; i++)
        j->narrow_dst[i] = j->bf16 ? sd_f32_to_bf16(j->narrow_src[i]) : sd_f32_to_f16(j->narrow_src[i]);
}

void sd_weights_widen(const uint16_t *src, float *dst, size_t n, int bf16)
{
    widen_job j = {.src = src, .dst = dst, .numel = n, .bf16 = bf16, .f16c = !bf16 && have_f16c()};
    int chunks = (int)((n + WIDEN_CHUNK - 1) / WIDEN_CHUNK);
    ops_parallel_for(ops_workers_for(n), chunks, widen_range, &j);
}

void sd_weights_narrow(const float *src, uint16_t *dst, size_t n, int bf16)
{
    widen_job j = {.narrow_src = src, .narrow_dst = dst, .numel = n, .bf16 = bf16,
                   .f16c = !bf16 && have_f16c()};
    int chunks = (int)((n + WIDEN_CHUNK - 1) / WIDEN_CHUNK);
    ops_parallel_for(ops_workers_for(n), chunks, narrow_range, &j);
}

const float *sd_tensor_f32(const sd_tensor *t, sd_arena *a)
{
    if (!t->packed)
        return t->data;
    const size_t numel = (size_t)t->numel;
    float *dst = sd_arena_floats(a, numel);   /* [numel], the tensor's shape */
    if (!dst)
        return NULL;
    widen_job j = {.src = t->packed, .dst = dst, .numel = numel, .bf16 = t->packed_bf16,
                   .f16c = !t->packed_bf16 && have_f16c()};
    int chunks = (int)((numel + WIDEN_CHUNK - 1) / WIDEN_CHUNK);
    ops_parallel_for(ops_workers_for(numel), chunks, widen_range, &j);
    return dst;
}

void sd_tensor_row_f32(const sd_tensor *t, int64_t row, float *dst)
{
    const size_t cols = (size_t)t->shape[1], at = (size_t)row * cols;
    if (!t->packed) {
        memcpy(dst, t->data + at, cols * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < cols; i++)
        dst[i] = t->packed_bf16 ? sd_bf16_to_f32(t->packed[at + i]) : sd_f16_to_f32(t->packed[at + i]);
}
