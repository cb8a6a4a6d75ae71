#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "check.h"

int main(void)
{
    sd_arena a;
    sd_arena_init(&a, 0);

    /* Alignment and distinct regions. */
    float *x = sd_arena_floats(&a, 3);
    float *y = sd_arena_floats(&a, 5);
    CHECK(x && y, "alloc");
    CHECK(((uintptr_t)x % 64) == 0 && ((uintptr_t)y % 64) == 0, "64-byte aligned");
    CHECK(y >= x + 3, "no overlap");

    /* Mark/reset reuses the same memory: the second pass of the same shapes grows nothing. */
    sd_arena_mark m = sd_arena_get_mark(&a);
    void *big1 = sd_arena_alloc(&a, (size_t)100 << 20);   /* bigger than one block */
    void *small1 = sd_arena_alloc(&a, 1000);
    CHECK(big1 && small1, "big alloc");
    memset(big1, 1, (size_t)100 << 20);
    size_t reserved = a.reserved;
    sd_arena_reset(&a, m);
    void *big2 = sd_arena_alloc(&a, (size_t)100 << 20);
    void *small2 = sd_arena_alloc(&a, 1000);
    CHECK(big2 == big1 && small2 == small1, "same addresses after reset");
    CHECK(a.reserved == reserved, "no growth on the second pass (%zu vs %zu)", a.reserved, reserved);

    /* Trim: the blocks past the mark go back; what is below the mark stays; the arena
     * grows again when asked. */
    sd_arena_reset(&a, m);
    ((char *)y)[0] = 7;
    sd_arena_trim(&a);
    CHECK(a.reserved < reserved && a.used == m && ((char *)y)[0] == 7,
          "trim frees the unused blocks (%zu -> %zu bytes), keeps the live ones", reserved,
          a.reserved);
    void *big3 = sd_arena_alloc(&a, (size_t)100 << 20);
    CHECK(big3 != NULL && a.reserved >= ((size_t)100 << 20), "grows again after a trim");
    sd_arena_reset(&a, 0);
    sd_arena_trim(&a);
    CHECK(a.reserved == 0 && a.head == NULL, "trim at mark 0 frees everything");
    CHECK(sd_arena_floats(&a, 10) != NULL, "usable after a full trim");

    /* Limit. */
    sd_arena b;
    sd_arena_init(&b, 1 << 20);
    CHECK(sd_arena_alloc(&b, 2 << 20) == NULL, "limit refuses");
    CHECK(sd_arena_alloc(&b, 1000) != NULL, "limit allows small");
    sd_arena_free(&b);

    sd_arena_free(&a);
    return check_summary();
}
