/* The decoders and the encoder behind image_io.h, one file per format. Internal to the tool.
 *
 * Each decoder reads a whole file held in memory and gives its pixels as they are stored
 * (after palette and low-bit-depth expansion): no colour management, no gamma. Every
 * warning its library gives is an error here: a damaged file is refused, never half-used.
 * On failure it returns -1 with the reason in `why` (a phrase without the file's name:
 * image_io.c names the file once), and nothing to free. */
#ifndef DIFFUSE_IMAGE_CODECS_H
#define DIFFUSE_IMAGE_CODECS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    int width, height;
    int channels;              /* 1 Y', 2 Y'A, 3 R'G'B', 4 R'G'B'A */
    int depth;                 /* bits per sample: 8, or 16 (big-endian, as PNG stores it) */
    unsigned char *pixels;     /* malloc'd, rows top to bottom, no padding */
} image_raw;

/* A picture larger than max_side on a side is refused from its header, before any pixel
 * is decoded; the message then starts with the size ("16384x16384 pixels"). */
int image_png_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                     char *why, size_t why_size);
int image_jpeg_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                      char *why, size_t why_size);
int image_webp_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                      char *why, size_t why_size);

/* Writes width*height*3 R'G'B' floats as an 8-bit sRGB PNG to `f` (values clamped to [0,1],
 * NaN as 0). Returns 0, or -1 with the reason; the caller closes `f`. */
int image_png_encode(FILE *f, const float *rgb, int width, int height, char *why, size_t why_size);

/* The size message of every decoder, so that all formats say it the same way. */
void image_size_refusal(char *why, size_t why_size, unsigned long width, unsigned long height,
                        int max_side);

#endif
