/* Scratch memory for activations: a bump allocator with marks.
 *
 * A forward pass takes what it needs with arena_alloc and gives it back with
 * arena_reset(mark). The arena grows (in large blocks) only while the first pass of
 * a run reaches a new peak; later passes of the same shapes reuse the same memory,
 * so there is no malloc per op and no growth per step. */
#ifndef SD_ARENA_H
#define SD_ARENA_H

#include <stddef.h>

typedef struct sd_arena_block sd_arena_block;

typedef struct {
    sd_arena_block *head;    /* blocks in allocation order */
    sd_arena_block *cur;     /* block being bumped */
    size_t used;             /* bytes in use across all blocks (what a mark records) */
    size_t peak;             /* high-water mark of used */
    size_t reserved;         /* bytes obtained from malloc */
    size_t limit;            /* 0 = unlimited; otherwise arena_alloc fails past it */
} sd_arena;

typedef size_t sd_arena_mark;

void sd_arena_init(sd_arena *a, size_t limit);
void sd_arena_free(sd_arena *a);

/* 64-byte aligned memory of `bytes` bytes, or NULL when malloc fails or the limit is hit. */
void *sd_arena_alloc(sd_arena *a, size_t bytes);
/* Convenience: n floats. */
float *sd_arena_floats(sd_arena *a, size_t n);

sd_arena_mark sd_arena_get_mark(const sd_arena *a);
void sd_arena_reset(sd_arena *a, sd_arena_mark mark);

/* Frees the blocks that hold nothing below the current mark, so that the next phase of a
 * run, with differently sized buffers, gets blocks of its own sizes instead of the tails
 * of the last phase's (and the memory the last phase alone needed goes back). */
void sd_arena_trim(sd_arena *a);

#endif
