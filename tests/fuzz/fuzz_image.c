/* libFuzzer target: the bytes of an image file given to diffuse as --init or --mask, through
 * the code the CLI runs (image_decode: the format from the first bytes, then libpng, libjpeg
 * or libwebp with every warning an error, then the samples to floats).
 *
 * Each input is read as R'G'B' (init) and as Y' (mask). Both must agree: both fail, or both
 * give the same size. A result must be within the size bound, every value in [0,1]; it is
 * then written as PNG (in memory) and read back, which must give it again to within the
 * 8-bit step. A failure must name the file and give a reason. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_codecs.h"
#include "image_io.h"

/* Smaller than the CLI's IMAGE_MAX_SIDE: the decoders' time and memory grow with the pixel
 * count, and the bound is checked by the same code whatever its value. */
#define FUZZ_MAX_SIDE 1024

static const char name[] = "fuzz-input.img";

static void check_failure(const float *pixels, const char *msg)
{
    static const char prefix[] = "cannot read image fuzz-input.img";
    if (pixels)
        return;
    /* names the file, then says why after ": " */
    if (strncmp(msg, prefix, sizeof prefix - 1) != 0 || !strstr(msg, ": ") ||
        strlen(strstr(msg, ": ")) < 4)
        abort();
}

static void check_values(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(v[i] >= 0.0f && v[i] <= 1.0f))
            abort();
}

/* PNG out and back in: the CLI's writer must give back what it was handed, to 8 bits. */
static void check_roundtrip(const float *rgb, int w, int h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    char why[512];
    int rc = image_png_encode(f, rgb, w, h, why, sizeof why);
    if (fclose(f) != 0 || rc != 0)
        abort();
    char msg[1024];
    int w2 = 0, h2 = 0;
    float *back = image_decode((const unsigned char *)buf, len, name, 3, FUZZ_MAX_SIDE, &w2, &h2,
                               msg, sizeof msg);
    if (!back || w2 != w || h2 != h)
        abort();
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++)
        if (fabsf(back[i] - rgb[i]) > 0.5f / 255.0f + 1e-6f)
            abort();
    free(back);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg_rgb[1024], msg_y[1024];
    int w = 0, h = 0, wy = 0, hy = 0;
    float *rgb = image_decode(data, size, name, 3, FUZZ_MAX_SIDE, &w, &h, msg_rgb, sizeof msg_rgb);
    float *y = image_decode(data, size, name, 1, FUZZ_MAX_SIDE, &wy, &hy, msg_y, sizeof msg_y);
    check_failure(rgb, msg_rgb);
    check_failure(y, msg_y);
    if (!rgb != !y)
        abort();
    if (rgb) {
        if (w < 1 || h < 1 || w > FUZZ_MAX_SIDE || h > FUZZ_MAX_SIDE || w != wy || h != hy)
            abort();
        check_values(rgb, (size_t)w * (size_t)h * 3);
        check_values(y, (size_t)w * (size_t)h);
        check_roundtrip(rgb, w, h);
    }
    free(rgb);
    free(y);
    return 0;
}
