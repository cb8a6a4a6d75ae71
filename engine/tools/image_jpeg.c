/* JPEG through libjpeg(-turbo). Its warnings ("Premature end of JPEG file", "Corrupt JPEG
 * data: ...") are errors here: libjpeg fills what it could not decode with grey and goes on,
 * which is the half-decoded picture this reader exists to refuse. */
#include <setjmp.h>
#include <stdio.h>     /* before jpeglib.h, which uses FILE and size_t without them */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image_codecs.h"

/* A progressive JPEG may hold any number of scans, each a pass over the whole picture; a
 * few hundred bytes can ask for minutes of work. libjpeg-turbo's own TurboJPEG API refuses
 * more than 500 (TJPARAM_SCANLIMIT); a real encoder writes about 10. */
#define JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr mgr;     /* first: libjpeg hands back a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char *why;
    size_t why_size;
} jpeg_guard;

static void on_error(j_common_ptr c)
{
    jpeg_guard *g = (jpeg_guard *)c->err;
    if (!g->why[0]) {
        char m[JMSG_LENGTH_MAX];
        c->err->format_message(c, m);
        snprintf(g->why, g->why_size, "%s", m);
    }
    longjmp(g->jump, 1);
}

/* level -1 is a warning (corrupt or missing data); higher levels are trace output. */
static void on_message(j_common_ptr c, int level)
{
    if (level < 0)
        on_error(c);
}

static void on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    jpeg_guard *g = (jpeg_guard *)c->err;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        snprintf(g->why, g->why_size, "more than %d progressive scans (damaged or hostile file)",
                 JPEG_MAX_SCANS);
        longjmp(g->jump, 1);
    }
}

/* Asks libjpeg for RGB or grey; returns the channel count, or -1 with a reason. */
static int output_space(j_decompress_ptr d, char *why, size_t why_size)
{
    switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE:
        d->out_color_space = JCS_GRAYSCALE;
        return 1;
    case JCS_RGB:
    case JCS_YCbCr:
        d->out_color_space = JCS_RGB;
        return 3;
    case JCS_CMYK:
    case JCS_YCCK:
        snprintf(why, why_size, "CMYK JPEG is not supported (save it as RGB)");
        return -1;
    default:
        snprintf(why, why_size, "JPEG colour space %d is not supported", (int)d->jpeg_color_space);
        return -1;
    }
}

int image_jpeg_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                      char *why, size_t why_size)
{
    struct jpeg_decompress_struct d;
    jpeg_guard g = {.why = why, .why_size = why_size};
    why[0] = '\0';
    memset(out, 0, sizeof *out);
    d.err = jpeg_std_error(&g.mgr);
    g.mgr.error_exit = on_error;
    g.mgr.emit_message = on_message;
    g.progress.progress_monitor = on_progress;
    unsigned char *volatile pixels = NULL;   /* set after setjmp, freed after a longjmp */
    if (setjmp(g.jump)) {
        jpeg_destroy_decompress(&d);
        free(pixels);
        return -1;
    }
    jpeg_create_decompress(&d);
    d.progress = &g.progress;
    jpeg_mem_src(&d, data, (unsigned long)size);
    jpeg_read_header(&d, TRUE);   /* TRUE: a file of tables only is an error */
    if (d.image_width > (JDIMENSION)max_side || d.image_height > (JDIMENSION)max_side) {
        image_size_refusal(why, why_size, d.image_width, d.image_height, max_side);
        jpeg_destroy_decompress(&d);
        return -1;
    }
    int channels = output_space(&d, why, why_size);
    if (channels < 0) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    jpeg_start_decompress(&d);
    if ((int)d.output_components != channels || d.output_width != d.image_width ||
        d.output_height != d.image_height) {
        snprintf(why, why_size, "unexpected JPEG output layout");
        longjmp(g.jump, 1);
    }
    size_t rowbytes = (size_t)d.output_width * (size_t)channels;
    pixels = malloc(rowbytes * d.output_height);
    if (!pixels) {
        snprintf(why, why_size, "out of memory");
        longjmp(g.jump, 1);
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = pixels + (size_t)d.output_scanline * rowbytes;
        if (jpeg_read_scanlines(&d, &row, 1) != 1) {
            snprintf(why, why_size, "JPEG decoder stopped before the last row");
            longjmp(g.jump, 1);
        }
    }
    jpeg_finish_decompress(&d);   /* reads to the EOI marker: a cut file warns here */
    out->width = (int)d.output_width;
    out->height = (int)d.output_height;
    out->channels = channels;
    out->depth = 8;
    out->pixels = pixels;
    jpeg_destroy_decompress(&d);
    return 0;
}
