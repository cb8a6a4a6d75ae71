/* Memory the engine writes once and reads back in phases (the bf16 packed weights, LoRA-merged
 * weights): a shared mapping of an unlinked file in SD_SPILL_DIR, so that its pages can leave
 * RAM between the phases that read them (sd_spill_release) and come back from the page cache,
 * or from disk, on the next read; anonymous memory where no such file can be made (then its
 * pages stay resident). */
#ifndef SD_SPILL_H
#define SD_SPILL_H

#include <stddef.h>

/* On disk, so that its pages can leave memory (/tmp may be a tmpfs, whose pages stay in
 * memory). */
#define SD_SPILL_DIR "/var/tmp"

typedef struct {
    void *data;        /* page-aligned, zero-filled; NULL when mapping failed */
    size_t bytes;
    int file_backed;   /* 1: a shared file mapping, whose pages sd_spill_release hands back */
} sd_spill;

/* Maps `bytes` (> 0) of spill memory into *s; -1 (s->data NULL) when even anonymous memory
 * cannot be mapped. */
int sd_spill_map(sd_spill *s, size_t bytes);
/* Unmaps it (the file goes with its last mapping); s is zeroed. No-op on a zeroed s. */
void sd_spill_unmap(sd_spill *s);
/* Hands back the resident pages wholly inside [p, p + bytes) of a file-backed spill: the
 * values stay in the file. Does nothing on anonymous memory (MADV_DONTNEED would zero it). */
void sd_spill_release(const sd_spill *s, const void *p, size_t bytes);

#endif
