/* PNG through libpng, both ways. Reading is strict: libpng's warnings (a CRC error, "Too
 * much image data", a bad tRNS, ...) and its "benign" errors stop the read, and the file
 * must run to its IEND chunk. Ancillary chunks are skipped unread (their CRC is still
 * checked): we take pixel values as sRGB, as GIMP exports them, so a colour profile or a
 * gamma chunk would not change what we do, and a broken text chunk should not refuse a
 * picture whose pixels are intact. */
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_codecs.h"

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    char *why;
    size_t why_size;
} png_source;

/* The first message wins: it is the cause, later ones are consequences. */
static void note(png_source *s, const char *m)
{
    if (!s->why[0])
        snprintf(s->why, s->why_size, "%s", m);
}

static void on_error(png_structp png, png_const_charp m)
{
    note(png_get_error_ptr(png), m);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp m)
{
    on_error(png, m);
}

static void on_read(png_structp png, png_bytep out, size_t n)
{
    png_source *s = png_get_io_ptr(png);
    if (n > s->size - s->pos)
        png_error(png, "the file ends early (truncated: cut short by a copy or a download?)");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

/* After png_read_info: expansions, then the size and layout of the rows libpng gives. */
static int setup_transforms(png_structp png, png_infop info, int max_side, image_raw *out,
                            size_t *rowbytes, png_source *src)
{
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w > (png_uint_32)max_side || h > (png_uint_32)max_side) {
        image_size_refusal(src->why, src->why_size, w, h, max_side);
        return -1;
    }
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    out->width = (int)w;
    out->height = (int)h;
    out->channels = png_get_channels(png, info);
    out->depth = png_get_bit_depth(png, info);
    *rowbytes = png_get_rowbytes(png, info);
    /* what the transforms above promise: whole bytes, 8 or 16 bits, 1-4 samples */
    if ((out->depth != 8 && out->depth != 16) || out->channels < 1 || out->channels > 4 ||
        *rowbytes != (size_t)w * (size_t)out->channels * (size_t)(out->depth / 8)) {
        note(src, "unexpected pixel layout after expansion");
        return -1;
    }
    return 0;
}

int image_png_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                     char *why, size_t why_size)
{
    png_source src = {.data = data, .size = size, .why = why, .why_size = why_size};
    why[0] = '\0';
    memset(out, 0, sizeof *out);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    /* volatile: set after setjmp and read after a longjmp back to it */
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        if (!why[0])
            snprintf(why, why_size, "damaged PNG data");
        return -1;
    }
    png_set_read_fn(png, &src, on_read);
    png_set_benign_errors(png, 0);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);

    png_read_info(png, info);
    size_t rowbytes;
    if (setup_transforms(png, info, max_side, out, &rowbytes, &src) != 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    pixels = malloc(rowbytes * (size_t)out->height);
    rows = malloc(sizeof(png_bytep) * (size_t)out->height);
    if (!pixels || !rows)
        png_error(png, "out of memory");
    for (int y = 0; y < out->height; y++)
        rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);   /* the last IDAT's CRC, the chunks after it, IEND */

    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = pixels;
    return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

static void on_write_error(png_structp png, png_const_charp m)
{
    char **why = png_get_error_ptr(png);
    snprintf(why[0], (size_t)(why[1] - why[0]), "%s", m);
    png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp m)
{
    on_write_error(png, m);
}

/* [0,1] to 0..255, rounding to nearest as babl does for GEGL's "R'G'B' u8". */
static png_byte to_u8(float v)
{
    if (!(v > 0.0f))
        return 0;                       /* also NaN */
    if (v >= 1.0f)
        return 255;
    return (png_byte)(v * 255.0f + 0.5f);
}

int image_png_encode(FILE *f, const float *rgb, int width, int height, char *why, size_t why_size)
{
    char *why_span[2] = {why, why + why_size};
    why[0] = '\0';
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, why_span, on_write_error,
                                              on_write_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    png_bytep volatile row = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(row);
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* sRGB + its gAMA and cHRM, as GEGL's png-save wrote them: the values are sRGB */
    png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_RELATIVE);
    png_write_info(png, info);
    row = malloc((size_t)width * 3);
    if (!row)
        png_error(png, "out of memory");
    for (int y = 0; y < height; y++) {
        const float *src = rgb + (size_t)y * (size_t)width * 3;
        for (size_t i = 0; i < (size_t)width * 3; i++)
            row[i] = to_u8(src[i]);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    free(row);
    png_destroy_write_struct(&png, &info);
    return 0;
}
