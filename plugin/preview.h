/* The live preview's host-neutral part: the engine's preview (sd_preview: R'G'B' floats at
 * the working size, or 1/8 of it for the latent→RGB projection) fitted into the preview
 * window's square and turned into 8-bit RGB for a GdkPixbuf. No GIMP, no GTK here. */
#ifndef GD_PREVIEW_H
#define GD_PREVIEW_H

#include <stdint.h>

#include "sd.h"

/* The side of the square the preview is fitted into, pixels: big enough to judge the
 * composition, small enough to sit beside the image window. */
#define GD_PREVIEW_BOX 320

/* The size of a w x h picture scaled (up or down, aspect kept) to fit a box x box square;
 * each side at least 1. */
void gd_preview_fit(int w, int h, int box, int *out_w, int *out_h);

/* Bilinear resampling of p->rgb to out_w x out_h 8-bit RGB rows of `stride` bytes (values
 * clamped to [0,1] first). */
void gd_preview_to_rgb8(const sd_preview *p, int out_w, int out_h, uint8_t *out, int stride);

/* The caption under the picture: "Estimate after step 7 of 20 (latent colours)". */
void gd_preview_caption(const sd_preview *p, char *buf, int size);

#endif
