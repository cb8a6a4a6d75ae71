#include "image_io.h"

#include <errno.h>
#include <gegl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void image_io_init(void) { gegl_init(NULL, NULL); }
void image_io_exit(void) { gegl_exit(); }

float *image_read(const char *path, int channels, int *width, int *height,
                  char *msg, size_t msg_size)
{
    struct stat st;
    FILE *probe = fopen(path, "rb");
    if (!probe || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, msg_size, "cannot read image %s: %s", path,
                 probe ? "not a regular file" : strerror(errno));
        if (probe)
            fclose(probe);
        return NULL;
    }
    fclose(probe);

    GeglBuffer *buffer = NULL;
    GeglNode *graph = gegl_node_new();
    GeglNode *load = gegl_node_new_child(graph, "operation", "gegl:load", "path", path, NULL);
    /* The size from the file's header, before anything is decoded: a huge picture is
     * refused here instead of being read whole into memory first. */
    GeglRectangle bounds = gegl_node_get_bounding_box(load);
    if (bounds.width > IMAGE_MAX_SIDE || bounds.height > IMAGE_MAX_SIDE) {
        snprintf(msg, msg_size, "image %s is %dx%d: at most %d pixels a side are supported",
                 path, bounds.width, bounds.height, IMAGE_MAX_SIDE);
        g_object_unref(graph);
        return NULL;
    }
    GeglNode *sink = gegl_node_new_child(graph, "operation", "gegl:buffer-sink",
                                         "buffer", &buffer, NULL);
    gegl_node_link(load, sink);
    gegl_node_process(sink);
    g_object_unref(graph);

    /* gegl:load gives an empty buffer for a file it cannot decode. */
    const GeglRectangle *r = buffer ? gegl_buffer_get_extent(buffer) : NULL;
    if (!r || r->width <= 0 || r->height <= 0) {
        snprintf(msg, msg_size, "cannot decode image %s (not a PNG/JPEG/... or corrupt)", path);
        if (buffer)
            g_object_unref(buffer);
        return NULL;
    }
    size_t n = (size_t)r->width * (size_t)r->height * (size_t)channels;
    float *data = malloc(n * sizeof *data);
    if (!data) {
        snprintf(msg, msg_size, "out of memory reading %s (%dx%d)", path, r->width, r->height);
        g_object_unref(buffer);
        return NULL;
    }
    const Babl *format = babl_format(channels == 1 ? "Y' float" : "R'G'B' float");
    GeglRectangle rect = *r;
    gegl_buffer_get(buffer, &rect, 1.0, format, data, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    *width = r->width;
    *height = r->height;
    g_object_unref(buffer);
    return data;
}

int image_write_png(const char *path, const float *rgb, int width, int height,
                    char *msg, size_t msg_size)
{
    const Babl *format = babl_format("R'G'B' float");
    GeglBuffer *buffer = gegl_buffer_new(GEGL_RECTANGLE(0, 0, width, height), format);
    if (!buffer) {
        snprintf(msg, msg_size, "cannot create a %dx%d image buffer", width, height);
        return -1;
    }
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, width, height), 0, format, rgb,
                    GEGL_AUTO_ROWSTRIDE);

    /* Write to a temporary name and rename, so a failed save never leaves a
     * half-written file under the requested name. */
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp) {
        g_object_unref(buffer);
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    snprintf(tmp, len, "%s.tmp.png", path);
    remove(tmp);

    GeglNode *graph = gegl_node_new();
    GeglNode *src = gegl_node_new_child(graph, "operation", "gegl:buffer-source",
                                        "buffer", buffer, NULL);
    GeglNode *save = gegl_node_new_child(graph, "operation", "gegl:png-save",
                                         "path", tmp, "bitdepth", 8, "compression", 6, NULL);
    gegl_node_link(src, save);
    gegl_node_process(save);
    g_object_unref(graph);
    g_object_unref(buffer);

    struct stat st;
    int ok = stat(tmp, &st) == 0 && st.st_size > 0 && rename(tmp, path) == 0;
    if (!ok) {
        snprintf(msg, msg_size, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}
