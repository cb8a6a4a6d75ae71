/* Helpers shared by the libFuzzer targets (header-only: each target is one binary). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sd.h"

/* A failure must come with its status and a message: the plug-in shows that text. */
static inline void fuzz_check_error(sd_status st, const sd_error *err)
{
    if (st == SD_OK)
        return;
    if (err->code != st || !err->message[0] || !memchr(err->message, '\0', sizeof err->message))
        abort();
}

/* A NUL-terminated copy of the input (prompts and JSON text are C strings). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Writes `size` bytes to `path` (replacing it); 0 on success. */
static inline int fuzz_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    return (fclose(f) == 0 && n == size) ? 0 : -1;
}

/* A private folder for the target's files, made once per process. */
static inline const char *fuzz_temp_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/sd-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}


/* The input as a file a reader can open by path: an anonymous memory file (memfd) named
 * `name`, its path written to path[path_size]. Returns the descriptor (the caller closes it),
 * or -1 when no memfd could be made; *whole is 0 when not every byte could be written. */
static inline int fuzz_memfd(const char *name, const uint8_t *data, size_t size, char *path,
                             size_t path_size, int *whole)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    *whole = done == size;
    return fd;
}

#endif
