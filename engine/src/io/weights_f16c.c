/* fp16 -> fp32 with vcvtph2ps: eight values per instruction, so widening a packed weight
 * per use runs at memory speed. Every fp16 value is exact in fp32, so this matches the
 * software sd_f16_to_f32 bit for bit, NaNs aside (vcvtph2ps quiets a signalling one). */
#include "io/weights_f16c.h"

#include <immintrin.h>

void weights_f16c_widen(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    if (i < n) {
        uint16_t tail[8] = {0};
        float out[8];
        for (size_t j = i; j < n; j++)
            tail[j - i] = src[j];
        _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(void *)tail)));
        for (size_t j = i; j < n; j++)
            dst[j] = out[j - i];
    }
}

void weights_f16c_narrow(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
    }
    if (i < n) {
        float tail[8] = {0};
        uint16_t out[8];
        for (size_t j = i; j < n; j++)
            tail[j - i] = src[j];
        _mm_storeu_si128((__m128i *)(void *)out,
                         _mm256_cvtps_ph(_mm256_loadu_ps(tail), _MM_FROUND_TO_NEAREST_INT));
        for (size_t j = i; j < n; j++)
            dst[j] = out[j - i];
    }
}
