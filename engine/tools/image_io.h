/* The CLI's image files. In: PNG, JPEG and WebP, recognised by their first bytes (not by
 * the name), each decoded by its own library with every decoder warning an error: a file
 * that is cut short, damaged, of another format or too large is refused with its name and
 * the reason, never half-used. Out: 8-bit sRGB PNG, written atomically. No GEGL: its
 * loaders fall back to ones that render any text file as a picture. */
#ifndef DIFFUSE_IMAGE_IO_H
#define DIFFUSE_IMAGE_IO_H

#include <stddef.h>

/* The longest side of an image the tool reads or makes (--width / --height). */
#define IMAGE_MAX_SIDE 8192

/* The formats image_read accepts, as the CLI's help and its refusals name them. */
#define IMAGE_FORMATS "PNG, JPEG and WebP"

/* Reads `path` as interleaved R'G'B' floats in [0,1] (channels 3) or Y' floats (channels 1:
 * grey as stored, colour as GIMP's luminance; alpha is dropped, colour profiles ignored).
 * Returns a malloc'd buffer and the size, or NULL with "cannot read image PATH: reason" in
 * msg (an image over IMAGE_MAX_SIDE on a side is refused from its header, before it is
 * decoded). */
float *image_read(const char *path, int channels, int *width, int *height,
                  char *msg, size_t msg_size);

/* The same from the file's bytes in memory; `name` is used in messages only, max_side
 * bounds both sides (the fuzzer uses a smaller bound than IMAGE_MAX_SIDE). */
float *image_decode(const unsigned char *data, size_t size, const char *name, int channels,
                    int max_side, int *width, int *height, char *msg, size_t msg_size);

/* Writes width*height*3 R'G'B' floats in [0,1] as an 8-bit PNG at `path`, atomically: into
 * a hidden temporary file in the same folder (".NAME.XXXXXX"), flushed to disk (fsync),
 * then renamed over `path`. A failure leaves `path` as it was and removes the temporary
 * file; so does SIGINT, SIGTERM or SIGHUP arriving during the write (handlers installed
 * only for the write's duration, then the signal's own action). Only SIGKILL or a crash
 * mid-write can leave the temporary file; `path` itself is always either untouched or
 * complete. Process-wide while it runs: those signal handlers, and the umask is read (set
 * and set back) to give the file the usual permissions; call it from one thread at a time.
 * Returns 0, or -1 with "cannot write PATH: reason" in msg. */
int image_io_write_png_atomic(const char *path, const float *rgb, int width, int height,
                              char *msg, size_t msg_size);

/* Checks before a long run that `path` could be written: its folder exists and takes a new
 * file (one is made and removed), and `path` is not a folder. Returns 0, or -1 + msg. */
int image_io_check_output(const char *path, char *msg, size_t msg_size);

#endif
