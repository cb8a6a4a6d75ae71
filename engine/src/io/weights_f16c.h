/* fp16 -> fp32 widening with the F16C instructions (weights_f16c.c, built with -mf16c).
 * Call it only when weights_have_f16c() says the CPU runs it. Engine-internal. */
#ifndef SD_WEIGHTS_F16C_H
#define SD_WEIGHTS_F16C_H

#include <stddef.h>
#include <stdint.h>

/* dst[i] = (float)src[i] for i < n; exact, like sd_f16_to_f32. */
void weights_f16c_widen(const uint16_t *src, float *dst, size_t n);

/* dst[i] = fp16(src[i]), rounded to nearest even; like sd_f32_to_f16 for every value
 * (NaNs aside: the sign and payload of a NaN may differ). */
void weights_f16c_narrow(const float *src, uint16_t *dst, size_t n);

#endif
