/* GEGL side of both front ends: the region's pixels and selection in, the result out.
 * GEGL is the same library under GIMP 2.10 and GIMP 3, so this is shared. */
#ifndef GD_GEGL_IO_H
#define GD_GEGL_IO_H

#include <gegl.h>

/* Reads src_rect of `src` (the layer's own coordinates) as `rgba_format` (an R'G'B'A float
 * format, in the image's colour space) into rgba [h, w, 4], and sel_rect of the selection
 * channel (image coordinates) as "Y float" into mask [h, w]. sel == NULL (no selection)
 * gives a mask of 1 everywhere. */
void gd_gegl_read_region(GeglBuffer *src, const GeglRectangle *src_rect, const Babl *rgba_format,
                         GeglBuffer *sel, const GeglRectangle *sel_rect, float *rgba, float *mask);

/* Writes rgba [h, w, 4] (R'G'B'A float in `rgba_format`) to the top-left of dst; GEGL
 * converts to the layer's own type and precision (grayscale, 8/16/32 bit). */
void gd_gegl_write_layer(GeglBuffer *dst, const Babl *rgba_format, const float *rgba, int w, int h);

#endif
