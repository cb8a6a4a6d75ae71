#include "gegl_io.h"

void gd_gegl_read_region(GeglBuffer *src, const GeglRectangle *src_rect, const Babl *rgba_format,
                         GeglBuffer *sel, const GeglRectangle *sel_rect, float *rgba, float *mask)
{
    gegl_buffer_get(src, src_rect, 1.0, rgba_format, rgba, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    if (sel) {
        gegl_buffer_get(sel, sel_rect, 1.0, babl_format("Y float"), mask, GEGL_AUTO_ROWSTRIDE,
                        GEGL_ABYSS_NONE);
    } else {
        for (gsize i = 0; i < (gsize)src_rect->width * src_rect->height; i++)
            mask[i] = 1.0f;
    }
}

void gd_gegl_write_layer(GeglBuffer *dst, const Babl *rgba_format, const float *rgba, int w, int h)
{
    GeglRectangle rect = { 0, 0, w, h };
    gegl_buffer_set(dst, &rect, 0, rgba_format, rgba, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(dst);
}
