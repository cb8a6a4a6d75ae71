/* PNG (and any format GEGL reads) in and out through GEGL, as float buffers. */
#ifndef DIFFUSE_IMAGE_IO_H
#define DIFFUSE_IMAGE_IO_H

#include <stddef.h>

/* Starts GEGL once for the process. */
void image_io_init(void);
void image_io_exit(void);

/* The longest side of an image the tool reads or makes (--width / --height). */
#define IMAGE_MAX_SIDE 8192

/* Reads `path` as interleaved "R'G'B' float" (channels 3) or "Y' float" (channels 1).
 * Returns a malloc'd buffer and the size, or NULL with a message in msg (also for an image
 * over IMAGE_MAX_SIDE on a side, refused from its header before it is decoded). */
float *image_read(const char *path, int channels, int *width, int *height,
                  char *msg, size_t msg_size);

/* Writes width*height*3 R'G'B' floats in [0,1] as an 8-bit PNG. Returns 0 or -1 + msg. */
int image_write_png(const char *path, const float *rgb, int width, int height,
                    char *msg, size_t msg_size);

#endif
