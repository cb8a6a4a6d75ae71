/* WebP (still pictures, lossy or lossless) through libwebp's one-shot decoder, into our
 * own buffer. libwebp has no warnings: a damaged or cut stream is a status, and so is an
 * error here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

#include "image_codecs.h"

/* RIFF header: "RIFF", the little-endian size of what follows it, "WEBP". */
enum { RIFF_HEADER_BYTES = 12, RIFF_SIZE_OFFSET = 4, RIFF_PREAMBLE_BYTES = 8 };

static const char *status_text(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_BITSTREAM_ERROR: return "damaged WebP data";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "a WebP feature libwebp cannot decode";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "the file ends early (truncated: cut short by a copy or a download?)";
    default: return "the WebP decoder failed";
    }
}

int image_webp_decode(const unsigned char *data, size_t size, int max_side, image_raw *out,
                      char *why, size_t why_size)
{
    why[0] = '\0';
    memset(out, 0, sizeof *out);
    /* libwebp reads what the RIFF header announces only if it is all there, else
     * decodes less; say so plainly instead */
    if (size < RIFF_HEADER_BYTES) {
        snprintf(why, why_size, "%s", status_text(VP8_STATUS_NOT_ENOUGH_DATA));
        return -1;
    }
    const unsigned char *p = data + RIFF_SIZE_OFFSET;
    uint64_t riff = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                    (uint64_t)p[3] << 24;
    if (riff + RIFF_PREAMBLE_BYTES > size) {
        snprintf(why, why_size, "%s", status_text(VP8_STATUS_NOT_ENOUGH_DATA));
        return -1;
    }

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        snprintf(why, why_size, "libwebp version mismatch");
        return -1;
    }
    VP8StatusCode st = WebPGetFeatures(data, size, &config.input);
    if (st != VP8_STATUS_OK) {
        snprintf(why, why_size, "%s", status_text(st));
        return -1;
    }
    if (config.input.has_animation) {
        snprintf(why, why_size, "animated WebP is not supported (export one frame)");
        return -1;
    }
    int w = config.input.width, h = config.input.height;
    if (w <= 0 || h <= 0) {
        snprintf(why, why_size, "%s", status_text(VP8_STATUS_BITSTREAM_ERROR));
        return -1;
    }
    if (w > max_side || h > max_side) {
        image_size_refusal(why, why_size, (unsigned long)w, (unsigned long)h, max_side);
        return -1;
    }
    int channels = config.input.has_alpha ? 4 : 3;
    size_t stride = (size_t)w * (size_t)channels, bytes = stride * (size_t)h;
    unsigned char *pixels = malloc(bytes);
    if (!pixels) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = pixels;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = bytes;
    st = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);   /* external memory: releases only libwebp's own */
    if (st != VP8_STATUS_OK) {
        free(pixels);
        snprintf(why, why_size, "%s", status_text(st));
        return -1;
    }
    *out = (image_raw){.width = w, .height = h, .channels = channels, .depth = 8,
                       .pixels = pixels};
    return 0;
}
