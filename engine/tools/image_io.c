/* Reading the CLI's images: the whole file into memory (a short read is an error), its
 * format from its first bytes, the decoder for that format (image_png.c, image_jpeg.c,
 * image_webp.c), then the decoded samples to floats. */
#include "image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_codecs.h"

/* Far above any PNG, JPEG or WebP of IMAGE_MAX_SIDE pixels a side that an editor writes
 * (a 16-bit RGBA PNG stored without compression is 512 MiB): a bigger file is a mistake. */
#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

/* How much of an unrecognised file is looked at to call it text. */
#define TEXT_SNIFF_BYTES 512

typedef int (*image_decoder)(const unsigned char *, size_t, int, image_raw *, char *, size_t);

/* Every kind of file recognised by its first bytes: the ones we read, and common image
 * formats that get a plain refusal. A second magic (offset2) must match too where given. */
static const struct {
    const char *name;
    size_t offset;
    const char *magic;
    size_t len;
    size_t offset2;
    const char *magic2;
    size_t len2;
    image_decoder decode;   /* NULL: recognised but not read */
} kinds[] = {
    {"PNG", 0, "\x89PNG\r\n\x1a\n", 8, 0, NULL, 0, image_png_decode},
    {"JPEG", 0, "\xff\xd8\xff", 3, 0, NULL, 0, image_jpeg_decode},
    {"WebP", 0, "RIFF", 4, 8, "WEBP", 4, image_webp_decode},
    {"GIF", 0, "GIF8", 4, 0, NULL, 0, NULL},
    {"TIFF", 0, "II*\0", 4, 0, NULL, 0, NULL},
    {"TIFF", 0, "MM\0*", 4, 0, NULL, 0, NULL},
    {"BMP", 0, "BM", 2, 0, NULL, 0, NULL},
    {"GIMP XCF", 0, "gimp xcf", 8, 0, NULL, 0, NULL},
    {"Photoshop PSD", 0, "8BPS", 4, 0, NULL, 0, NULL},
    {"OpenEXR", 0, "\x76\x2f\x31\x01", 4, 0, NULL, 0, NULL},
    {"JPEG XL", 0, "\xff\x0a", 2, 0, NULL, 0, NULL},
    {"JPEG XL", 0, "\0\0\0\x0cJXL ", 8, 0, NULL, 0, NULL},
    {"JPEG 2000", 0, "\0\0\0\x0cjP  ", 8, 0, NULL, 0, NULL},
    {"HEIF/AVIF", 4, "ftyp", 4, 0, NULL, 0, NULL},
    {"QOI", 0, "qoif", 4, 0, NULL, 0, NULL},
    {"PDF", 0, "%PDF", 4, 0, NULL, 0, NULL},
    {"gzip-compressed", 0, "\x1f\x8b", 2, 0, NULL, 0, NULL},
};

static int has_magic(const unsigned char *data, size_t size, size_t offset, const char *magic,
                     size_t len)
{
    return size >= offset + len && memcmp(data + offset, magic, len) == 0;
}

static int kind_of(const unsigned char *data, size_t size)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (has_magic(data, size, kinds[i].offset, kinds[i].magic, kinds[i].len) &&
            (!kinds[i].magic2 ||
             has_magic(data, size, kinds[i].offset2, kinds[i].magic2, kinds[i].len2)))
            return (int)i;
    return -1;
}

/* No control characters but tabs and line ends (bytes >= 0x80 may be UTF-8): text. */
static int looks_like_text(const unsigned char *data, size_t size)
{
    size_t n = size < TEXT_SNIFF_BYTES ? size : TEXT_SNIFF_BYTES;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = data[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 0;
        if (c == 0x7f)
            return 0;
    }
    return n > 0;
}

/* Why a file that no decoder of ours takes is refused. */
static void refusal(const unsigned char *data, size_t size, int kind, char *why, size_t why_size)
{
    if (kind >= 0)
        snprintf(why, why_size, "it is a %s file; diffuse reads " IMAGE_FORMATS
                 " (export it as one of those)", kinds[kind].name);
    else if (looks_like_text(data, size))
        snprintf(why, why_size, "it is a text file, not an image; diffuse reads " IMAGE_FORMATS);
    else {
        char hex[3 * 8 + 1] = "";
        for (size_t i = 0; i < size && i < 8; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%s%02x", i ? " " : "", data[i]);
        snprintf(why, why_size, "not an image diffuse reads (" IMAGE_FORMATS
                 "): it starts with bytes %s", hex);
    }
}

void image_size_refusal(char *why, size_t why_size, unsigned long width, unsigned long height,
                        int max_side)
{
    snprintf(why, why_size, "%lux%lu pixels: at most %d pixels a side are supported", width,
             height, max_side);
}

/* ---- samples to floats -------------------------------------------------------------- */

static float sample(const image_raw *r, size_t i)
{
    if (r->depth == 16)
        return (float)((unsigned)r->pixels[2 * i] << 8 | r->pixels[2 * i + 1]) / 65535.0f;
    return (float)r->pixels[i] / 255.0f;
}

/* sRGB's transfer function (IEC 61966-2-1) and its inverse. */
static float srgb_to_linear(float v)
{
    return v <= 0.04045f ? v / 12.92f : powf((v + 0.055f) / 1.055f, 2.4f);
}

static float linear_to_srgb(float v)
{
    return v <= 0.0031308f ? v * 12.92f : 1.055f * powf(v, 1.0f / 2.4f) - 0.055f;
}

/* The luminance GIMP's "Y'" gives for an R'G'B' pixel: babl weighs the linear values with
 * the Y row of sRGB's D50-adapted RGB -> XYZ matrix (Bradford), then re-encodes. Grey
 * pixels stay exactly as they are. */
static float luminance(float r, float g, float b)
{
    static const float kr = 0.2225045f, kg = 0.7168786f, kb = 0.0606169f;
    if (r == g && g == b)
        return r;
    float y = kr * srgb_to_linear(r) + kg * srgb_to_linear(g) + kb * srgb_to_linear(b);
    float v = linear_to_srgb(y);
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* R'G'B' (channels 3) or Y' (channels 1) floats from any decoded layout; alpha dropped. */
static float *to_floats(const image_raw *r, int channels)
{
    size_t n = (size_t)r->width * (size_t)r->height;
    float *out = malloc(n * (size_t)channels * sizeof *out);
    if (!out)
        return NULL;
    int colour = r->channels >= 3;
    for (size_t p = 0; p < n; p++) {
        size_t s = p * (size_t)r->channels;
        float c0 = sample(r, s);
        float c1 = colour ? sample(r, s + 1) : c0, c2 = colour ? sample(r, s + 2) : c0;
        if (channels == 1)
            out[p] = luminance(c0, c1, c2);
        else {
            out[3 * p] = c0;
            out[3 * p + 1] = c1;
            out[3 * p + 2] = c2;
        }
    }
    return out;
}

float *image_decode(const unsigned char *data, size_t size, const char *name, int channels,
                    int max_side, int *width, int *height, char *msg, size_t msg_size)
{
    char why[512] = "";
    if (size == 0) {
        snprintf(msg, msg_size, "cannot read image %s: the file is empty", name);
        return NULL;
    }
    int kind = kind_of(data, size);
    if (kind < 0 || !kinds[kind].decode) {
        refusal(data, size, kind, why, sizeof why);
        snprintf(msg, msg_size, "cannot read image %s: %s", name, why);
        return NULL;
    }
    image_raw raw;
    if (kinds[kind].decode(data, size, max_side, &raw, why, sizeof why) != 0) {
        snprintf(msg, msg_size, "cannot read image %s (%s): %s", name, kinds[kind].name,
                 why[0] ? why : "the decoder failed without a reason");
        return NULL;
    }
    float *out = to_floats(&raw, channels);
    free(raw.pixels);
    if (!out) {
        snprintf(msg, msg_size, "cannot read image %s: out of memory for %dx%d pixels", name,
                 raw.width, raw.height);
        return NULL;
    }
    *width = raw.width;
    *height = raw.height;
    return out;
}

/* ---- the file ----------------------------------------------------------------------- */

/* The whole of `path`, or NULL with the reason in why. O_NONBLOCK: a FIFO named by mistake
 * is refused instead of waiting for a writer. */
static unsigned char *read_file(const char *path, size_t *size, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    unsigned char *data = NULL;
    if (fstat(fd, &st) != 0)
        snprintf(why, why_size, "%s", strerror(errno));
    else if (S_ISDIR(st.st_mode))
        snprintf(why, why_size, "it is a folder");
    else if (!S_ISREG(st.st_mode))
        snprintf(why, why_size, "not a regular file");
    else if ((uintmax_t)st.st_size > IMAGE_MAX_FILE_BYTES)
        snprintf(why, why_size, "the file is %jd bytes, more than any image of at most %d "
                 "pixels a side should be", (intmax_t)st.st_size, IMAGE_MAX_SIDE);
    else if (!(data = malloc(st.st_size ? (size_t)st.st_size : 1)))
        snprintf(why, why_size, "out of memory for %jd bytes", (intmax_t)st.st_size);
    size_t want = data ? (size_t)st.st_size : 0, got = 0;
    while (data && got < want) {
        ssize_t n = read(fd, data + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, why_size, "short read: %zu of %zu bytes (%s)", got, want,
                     n < 0 ? strerror(errno) : "the file shrank while it was read");
            free(data);
            data = NULL;
        } else
            got += (size_t)n;
    }
    close(fd);
    *size = want;
    return data;
}

float *image_read(const char *path, int channels, int *width, int *height,
                  char *msg, size_t msg_size)
{
    char why[512];
    size_t size;
    unsigned char *data = read_file(path, &size, why, sizeof why);
    if (!data) {
        snprintf(msg, msg_size, "cannot read image %s: %s", path, why);
        return NULL;
    }
    float *out = image_decode(data, size, path, channels, IMAGE_MAX_SIDE, width, height, msg,
                              msg_size);
    free(data);
    return out;
}
