/* Reading a layer's 8- and 16-bit pixels as float the same way in every process.
 *
 * Why: babl picks its conversion path ("fish") per process, from timing measurements made at
 * run time (GIMP's plug-ins measure afresh while ~/.cache/babl has no entry), and accepts any
 * path within its tolerance. GIMP 3.0's babl (0.1.114) has a path for "R'G'B' u8" ->
 * "R'G'B'A float" that is off by up to 1 ulp on some values, taken by about 1 process in 12
 * under load; in bf16 that flips roundings and the result moves by ~0.3/255 (max 6/255). So
 * for the formats a layer usually has, the plug-in reads the buffer unconverted and divides
 * here (v / 255.0f, v / 65535.0f: correctly rounded, what babl's exact paths give). */
#ifndef GD_READ_EXACT_H
#define GD_READ_EXACT_H

#include <gegl.h>
#include <stdbool.h>

/* Reads `r` of `buf` as `want` ("R'G'B'A float" or "Y float", any space) into out
 * [r->height, r->width, components of want], exactly, when the buffer's own format is an
 * unpremultiplied u8 or u16 one of the same colour space and a matching model (R'G'B'A,
 * R'G'B', Y'A, Y' for R'G'B'A; Y for Y; a missing alpha reads 1). Returns false, having
 * written nothing, for anything else (or when the scratch cannot be allocated): the caller
 * then lets GEGL convert. */
bool gd_read_exact(GeglBuffer *buf, const GeglRectangle *r, const Babl *want, float *out);

#endif
