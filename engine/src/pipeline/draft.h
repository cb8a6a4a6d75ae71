/* Draft VAE: the pipeline's encode and decode done by the model's TAESD instead of the
 * full VAE (job.draft_vae), with diffusers' AutoencoderTiny conventions: images in
 * [-1, 1], latents in the U-Net's space as they are (scaling_factor 1: never x0.18215 or
 * /0.18215), and no sampling (no noise draw). */
#ifndef SD_DRAFT_H
#define SD_DRAFT_H

#include "core/arena.h"
#include "sd.h"

/* The job's TAESD needs: a decoder for draft_vae or TAESD previews, an encoder for a
 * draft img2img / inpaint. SD_ERR_INVALID_ARG naming what is missing. */
sd_status sd_draft_check(const sd_model *m, const sd_job *job, sd_error *err);

/* image [1, 3, h, w] in [-1, 1] → latents [1, 4, h/8, w/8] (AutoencoderTiny.encode:
 * TAESD's encoder on (x + 1) / 2). */
sd_status sd_draft_encode(const sd_model *m, sd_arena *arena, const float *image, int h, int w,
                          float *latents, sd_error *err);

/* latents [1, 4, lh, lw] → decoded [1, 3, 8lh, 8lw], nominally [-1, 1]
 * (AutoencoderTiny.decode: 2 · TAESD's decoder − 1). */
sd_status sd_draft_decode(const sd_model *m, sd_arena *arena, const float *latents, int lh,
                          int lw, float *decoded, sd_error *err);

#endif
