/* LD_PRELOAD shim for the kill-safety test of gimp3-matrix.sh (where there is no gdb):
 * in the gimp-diffusion plug-in, the first gegl_buffer_set (the result layer's pixels,
 * gd_gegl_write) stops the process with SIGSTOP, so that the test can SIGKILL it in
 * the middle of the write phase. Any other process (GIMP itself) is left alone.
 * Build: cc -shared -fPIC -o stop_on_write.so stop_on_write.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef void (*buffer_set_fn)(void *buffer, const void *rect, int level, const void *format,
                              const void *src, int rowstride);

static int is_plugin(void)
{
    static int known = -1; /* GIMP itself calls gegl_buffer_set often: ask /proc once */
    if (known >= 0)
        return known;
    char comm[64] = "";
    FILE *f = fopen("/proc/self/comm", "r");
    if (f) {
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
    }
    known = strncmp(comm, "gimp-diffusion", 14) == 0;
    return known;
}

void gegl_buffer_set(void *buffer, const void *rect, int level, const void *format,
                     const void *src, int rowstride)
{
    if (is_plugin())
        raise(SIGSTOP);
    buffer_set_fn real = (buffer_set_fn)dlsym(RTLD_NEXT, "gegl_buffer_set");
    if (real)
        real(buffer, rect, level, format, src, rowstride);
}
