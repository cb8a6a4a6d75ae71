#include "read_exact.h"

#include <stdint.h>
#include <string.h>

#define U8_MAX_F 255.0f
#define U16_MAX_F 65535.0f
#define MAX_CHANNELS 4

/* How a source model's channels fill the wanted model's: src_of[k] is the source channel of
 * output channel k, or -1 for an alpha of 1. */
typedef struct {
    const char *want_model, *src_model;
    int src_channels;
    int src_of[MAX_CHANNELS];
} channel_map;

static const channel_map MAPS[] = {
    { "R'G'B'A", "R'G'B'A", 4, { 0, 1, 2, 3 } },
    { "R'G'B'A", "R'G'B'", 3, { 0, 1, 2, -1 } },
    /* grey in the same space: Y' is R' = G' = B' (the space's own TRC on both sides) */
    { "R'G'B'A", "Y'A", 2, { 0, 0, 0, 1 } },
    { "R'G'B'A", "Y'", 1, { 0, 0, 0, -1 } },
    { "Y", "Y", 1, { 0 } },
};

static const channel_map *find_map(const Babl *want, const Babl *src)
{
    const char *wm = babl_get_name(babl_format_get_model(want));
    const char *sm = babl_get_name(babl_format_get_model(src));
    for (size_t i = 0; i < sizeof MAPS / sizeof MAPS[0]; i++)
        if (!strcmp(MAPS[i].want_model, wm) && !strcmp(MAPS[i].src_model, sm) &&
            babl_format_get_n_components(src) == MAPS[i].src_channels)
            return &MAPS[i];
    return NULL;
}

bool gd_read_exact(GeglBuffer *buf, const GeglRectangle *r, const Babl *want, float *out)
{
    const Babl *src = gegl_buffer_get_format(buf);
    if (babl_format_is_palette(src) || babl_format_get_space(src) != babl_format_get_space(want) ||
        babl_format_get_type(want, 0) != babl_type("float"))
        return false;
    const channel_map *map = find_map(want, src);
    if (!map)
        return false;
    const Babl *type = babl_format_get_type(src, 0);
    bool u8 = type == babl_type("u8");
    if (!u8 && type != babl_type("u16"))
        return false;
    for (int c = 1; c < map->src_channels; c++)
        if (babl_format_get_type(src, c) != type)
            return false;

    size_t n = (size_t)r->width * (size_t)r->height;
    int wc = babl_format_get_n_components(want);
    void *raw = g_try_malloc(n * (size_t)babl_format_get_bytes_per_pixel(src));
    if (!raw)
        return false;
    /* the buffer's own format: GEGL copies, babl converts nothing */
    gegl_buffer_get(buf, r, 1.0, src, raw, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    const uint8_t *p8 = raw;
    const uint16_t *p16 = raw;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < wc; k++) {
            int s = map->src_of[k];
            size_t at = i * (size_t)map->src_channels + (size_t)s;
            out[i * (size_t)wc + (size_t)k] = s < 0 ? 1.0f
                                              : u8  ? (float)p8[at] / U8_MAX_F
                                                    : (float)p16[at] / U16_MAX_F;
        }
    g_free(raw);
    return true;
}
