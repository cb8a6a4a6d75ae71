/* Spill memory (spill.h): an O_TMPFILE file mapped shared, else anonymous memory. */
#include "core/spill.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int sd_spill_map(sd_spill *s, size_t bytes)
{
    memset(s, 0, sizeof *s);
    if (bytes == 0)
        return -1;
    int fd = open(SD_SPILL_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        void *p = MAP_FAILED;
        if (ftruncate(fd, (off_t)bytes) == 0)
            p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);   /* the mapping keeps the file */
        if (p != MAP_FAILED) {
            *s = (sd_spill){p, bytes, 1};
            return 0;
        }
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    *s = (sd_spill){p, bytes, 0};
    return 0;
}

void sd_spill_unmap(sd_spill *s)
{
    if (s->data)
        munmap(s->data, s->bytes);
    memset(s, 0, sizeof *s);
}

void sd_spill_release(const sd_spill *s, const void *p, size_t bytes)
{
    if (!s->file_backed || !p)
        return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = ((uintptr_t)p + page - 1) / page * page;
    const uintptr_t hi = ((uintptr_t)p + bytes) / page * page;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
