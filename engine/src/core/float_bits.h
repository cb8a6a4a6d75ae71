/* Reinterpreting a float's bits (memcpy: the defined way in C; compiles to a move). */
#ifndef SD_FLOAT_BITS_H
#define SD_FLOAT_BITS_H

#include <stdint.h>
#include <string.h>

static inline float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

#endif
