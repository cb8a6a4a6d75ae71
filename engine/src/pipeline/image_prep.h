/* Pixel-side preparation of a job, as diffusers' image processors do it:
 * interleaved R'G'B' [0,1] ↔ NCHW [-1,1], padding to multiples of 8, the binarised
 * mask, the masked image, the latent-resolution mask, and the "fill" masked content. */
#ifndef SD_IMAGE_PREP_H
#define SD_IMAGE_PREP_H

#include <stddef.h>

/* Rounds up to a multiple of 8 (the VAE's downsampling factor). */
int sd_pad8(int x);

/* Interleaved RGB [h, w, 3] in [0,1] → NCHW [1, 3, ph, pw] in [-1, 1] (2x - 1); the area
 * beyond (w, h) is filled by repeating the last column / row (edge padding). */
void sd_rgb_to_nchw(const float *rgb, int w, int h, int pw, int ph, float *nchw);

/* NCHW [1, 3, ph, pw] in [0,1] → interleaved RGB [h, w, 3] (crop to w x h). */
void sd_nchw_to_rgb(const float *nchw, int pw, int ph, int w, int h, float *rgb);

/* Mask [h, w] in [0,1] → [ph, pw] padded with 0 (never repaint padding). */
void sd_mask_pad(const float *mask, int w, int h, int pw, int ph, float *out);

/* diffusers' mask_condition: < 0.5 → 0, >= 0.5 → 1. In place allowed. */
void sd_mask_binarize(const float *mask, size_t n, float *out);

/* masked_image = image · (mask_condition < 0.5): the repaint area becomes 0 (mid-grey in
 * [-1, 1]). image NCHW [1, 3, h, w]; mask [h, w] binarised. */
void sd_masked_image(const float *image, const float *mask_bin, int h, int w, float *out);

/* The mask at latent resolution as torch's nearest resize picks it: pixel (8i, 8j). */
void sd_mask_to_latent(const float *mask, int h, int w, float *latent_mask);

/* "fill" masked content: replaces the pixels under the binarised mask by a blur of the
 * surrounding unmasked pixels (normalised convolution at growing radii), NCHW [1,3,h,w]
 * in place. Returns 0, or -1 when out of memory. */
int sd_fill_masked(float *image, const float *mask_bin, int h, int w);

/* 1 when every value is finite. */
int sd_all_finite(const float *x, size_t n);

#endif
