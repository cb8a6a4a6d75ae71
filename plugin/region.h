/* Host-neutral region logic of the plug-in: which rectangle of the image the engine sees,
 * how it is scaled to the working resolution and back, and how the result layer is
 * assembled (feathered alpha, untouched pixels copied from the original, colour match).
 *
 * No GIMP or GEGL here: both front ends (GIMP 3 and GIMP 2.10) read pixels into plain
 * float arrays and call these functions, and the unit tests drive them directly.
 * Pixel arrays are row-major and interleaved: RGBA = 4 floats per pixel, RGB = 3,
 * masks = 1 (0 = not selected, 1 = selected / repaint).
 */
#ifndef GD_REGION_H
#define GD_REGION_H

#include <stddef.h>

/* Smallest transition of the result's alpha at a selection edge, in image pixels: even a
 * hard selection gets this much of a ramp, so the generated area never shows a seam. */
#define REGION_MIN_FEATHER 2.0f

/* Sides of a region (bit flags). */
enum {
    REGION_EDGE_LEFT = 1,
    REGION_EDGE_TOP = 2,
    REGION_EDGE_RIGHT = 4,
    REGION_EDGE_BOTTOM = 8
};

typedef struct {
    int x, y;           /* top-left, image coordinates */
    int width, height;  /* 0 = empty */
} region_rect;

typedef struct {
    region_rect rect;     /* what the engine sees, image coordinates */
    unsigned open_edges;  /* REGION_EDGE_* sides lying on the drawable/image border: the
                             selection is taken to continue beyond them (no feather there) */
} region;

/* The region for a run: the selection's bounding box (or the whole drawable when
 * `selection` is NULL or empty) grown by `padding` pixels on every side, then clamped
 * to the part of the drawable inside the image. Returns 0 and an empty rect when nothing
 * is left (selection outside the drawable), 1 otherwise. */
int region_compute(const region_rect *selection, const region_rect *drawable,
                   int image_width, int image_height, int padding, region *out);

/* The engine's working size for a region of width x height: the long side becomes
 * `long_side` (rounded to a multiple of 8), the short side keeps the aspect ratio, rounded
 * to the nearest multiple of 8 and at least 8. */
void region_work_size(int width, int height, int long_side, int *work_width, int *work_height);

/* Resamples a `channels`-channel image from sw x sh to dw x dh, each axis on its own:
 * area averaging where the axis shrinks (no aliasing), bilinear where it grows
 * (pixel centres aligned, edges clamped). Returns 0, or -1 when out of memory. */
int region_resample(const float *src, int sw, int sh, int channels,
                    float *dst, int dw, int dh);

/* Alpha of the result layer: the selection mask faded in over `radius` pixels (at least
 * REGION_MIN_FEATHER) from the selection's edge inwards, so alpha is 0 wherever the mask
 * is 0 and pixels outside the selection stay exactly as they were. The fade is the
 * Euclidean distance to the nearest unselected pixel (mask < 0.5); outside the region
 * counts as unselected except across `open_edges`. Returns 0, or -1 when out of memory. */
int region_feather(const float *mask, int width, int height, float radius,
                   unsigned open_edges, float *alpha);

/* Shifts the colours of the generated pixels so their per-channel mean and standard
 * deviation match the original's surroundings (original pixels weighted by 1 - mask;
 * the original under the mask when there are no surroundings). Statistics of the
 * generated area are weighted by the mask; pixels with mask 0 are left alone. */
void region_color_match(float *gen_rgb, const float *orig_rgba, const float *mask, size_t n);

/* R'G'B'A -> R'G'B' clamped to [0,1], what the engine takes. */
void region_rgba_to_rgb(const float *rgba, size_t n, float *rgb);

/* The result layer's pixels: generated colour where alpha > 0, the original colour where
 * alpha is 0 (so a later run on the layer sees untouched pixels), alpha = `alpha`. */
void region_compose(const float *orig_rgba, const float *gen_rgb, const float *alpha,
                    size_t n, float *out_rgba);

#endif
