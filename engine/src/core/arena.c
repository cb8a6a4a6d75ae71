#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t)64 << 20)

struct sd_arena_block {
    sd_arena_block *next;
    size_t start;      /* value of arena->used at this block's first byte */
    size_t size;
    unsigned char *data;
};

void sd_arena_init(sd_arena *a, size_t limit)
{
    a->head = a->cur = NULL;
    a->used = a->peak = a->reserved = 0;
    a->limit = limit;
}

void sd_arena_free(sd_arena *a)
{
    sd_arena_block *b = a->head;
    while (b) {
        sd_arena_block *next = b->next;
        free(b->data);
        free(b);
        b = next;
    }
    sd_arena_init(a, a->limit);
}

static size_t round_up(size_t x) { return (x + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

void *sd_arena_alloc(sd_arena *a, size_t bytes)
{
    size_t need = round_up(bytes ? bytes : 1);
    if (need < bytes)
        return NULL;
    /* Find a block (starting at the current one) with room after `used`. Blocks
     * are laid end to end in the "used" address space; skipping the tail of a
     * block wastes it until the next reset, which is fine for a scratch arena. */
    sd_arena_block *b = a->cur ? a->cur : a->head;
    while (b) {
        if (a->used < b->start)
            a->used = b->start;
        if (a->used + need <= b->start + b->size) {
            void *p = b->data + (a->used - b->start);
            a->used += need;
            a->cur = b;
            if (a->used > a->peak)
                a->peak = a->used;
            return p;
        }
        b = b->next;
        if (b)
            a->used = b->start;
    }
    /* No room: append a new block. */
    size_t size = need > ARENA_MIN_BLOCK ? need : ARENA_MIN_BLOCK;
    if (a->limit && a->reserved + size > a->limit) {
        if (a->reserved + need > a->limit)
            return NULL;
        size = need;
    }
    sd_arena_block *nb = malloc(sizeof *nb);
    if (!nb)
        return NULL;
    nb->data = aligned_alloc(ARENA_ALIGN, size);
    if (!nb->data) {
        free(nb);
        return NULL;
    }
    nb->next = NULL;
    nb->size = size;
    sd_arena_block *last = a->head;
    while (last && last->next)
        last = last->next;
    nb->start = last ? last->start + last->size : 0;
    if (last)
        last->next = nb;
    else
        a->head = nb;
    a->reserved += size;
    a->cur = nb;
    a->used = nb->start + need;
    if (a->used > a->peak)
        a->peak = a->used;
    return nb->data;
}

float *sd_arena_floats(sd_arena *a, size_t n)
{
    if (n > SIZE_MAX / sizeof(float))
        return NULL;
    return sd_arena_alloc(a, n * sizeof(float));
}

sd_arena_mark sd_arena_get_mark(const sd_arena *a) { return a->used; }

void sd_arena_reset(sd_arena *a, sd_arena_mark mark)
{
    a->used = mark;
    /* Point cur at the block that holds `mark` so the next alloc bumps from there. */
    sd_arena_block *b = a->head;
    a->cur = a->head;
    while (b) {
        if (mark >= b->start && mark <= b->start + b->size) {
            a->cur = b;
            break;
        }
        b = b->next;
    }
}

void sd_arena_trim(sd_arena *a)
{
    /* Blocks are in `used` order: the first block starting at or past `used` and every
     * block after it hold nothing live. */
    sd_arena_block **link = &a->head;
    while (*link && (*link)->start < a->used)
        link = &(*link)->next;
    sd_arena_block *b = *link;
    *link = NULL;
    while (b) {
        sd_arena_block *next = b->next;
        a->reserved -= b->size;
        free(b->data);
        free(b);
        b = next;
    }
    sd_arena_reset(a, a->used);
}
