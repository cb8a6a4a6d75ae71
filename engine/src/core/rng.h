/* Seeded N(0,1) noise that reproduces the reference stacks bit for bit.
 *
 * SD_RNG_TORCH_CPU: torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed)) for
 *   float32, as diffusers and ComfyUI draw it: torch's mt19937 and its two normal layouts (numel
 *   >= 16: uniforms for the whole tensor, then Box-Muller in blocks of 16 with the AVX2 kernel's
 *   log/sincos; numel < 16: double Box-Muller with a cached second value). Consecutive calls on
 *   one sd_rng continue the stream exactly as consecutive torch.randn calls on one generator.
 * SD_RNG_PHILOX: A1111's "NV" noise (modules/rng_philox.py): Philox4x32-10 keyed by the 64-bit
 *   seed, counter (offset, 0, index, 0), one Box-Muller output per counter; every call uses the
 *   next offset. Box-Muller is in double with libm's log/sin, as that file's numpy does; where
 *   numpy's own SIMD log/sin differ from libm in the last double bit the float32 result can
 *   differ by 1 ulp (about one value in 10^7).
 *
 * All state lives in the struct: no heap, no globals; copy it to fork a stream. */
#ifndef SD_RNG_H
#define SD_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "sd.h"

enum { SD_MT19937_N = 624 };

typedef struct {
    uint32_t state[SD_MT19937_N];
    int next;                  /* next word of state to temper; SD_MT19937_N = twist first */
    int has_cached_normal;     /* torch's next_double_normal_sample_ (scalar path only) */
    double cached_normal;
} sd_mt19937;

typedef struct {
    uint64_t seed;             /* the key: low word key[0], high word key[1] */
    uint32_t offset;           /* counter[0]; rng_philox.py's Generator.offset */
} sd_philox;

typedef struct {
    sd_rng_kind kind;
    sd_mt19937 mt;             /* SD_RNG_TORCH_CPU */
    sd_philox philox;          /* SD_RNG_PHILOX */
} sd_rng;

/* Seeds r as torch's manual_seed(seed) (mt19937 keeps only the low 32 bits of the seed, as
 * torch does) or as rng_philox.Generator(seed). An unknown kind behaves as SD_RNG_TORCH_CPU. */
void sd_rng_init(sd_rng *r, sd_rng_kind kind, uint64_t seed);

/* Fills out[0..n) with the next tensor of n standard normals: equals randn of any shape with
 * n elements. n == 0 draws nothing. */
void sd_rng_randn(sd_rng *r, float *out, size_t n);

#endif
