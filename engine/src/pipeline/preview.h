/* Live previews: the scheduler's estimate of the final latents (x0) made into a small
 * picture and handed to the job's preview callback. */
#ifndef SD_PREVIEW_H
#define SD_PREVIEW_H

#include <stddef.h>

#include "core/arena.h"
#include "sd.h"

/* 1 when the job wants a preview after denoise step `step` (1-based) of `total`: every
 * preview_every-th step, and the last. */
int sd_preview_due(const sd_job *job, int step, int total);

/* x0 = (x − sqrt(1 − ᾱ) · eps) / sqrt(ᾱ) over n values: the predicted clean latents of an
 * ε-prediction model at a timestep whose cumulative alpha is ᾱ (DDPM eq. 15), for the
 * samplers whose step returns none (PNDM, DPM++). */
void sd_x0_from_eps(const float *x, const float *eps, size_t n, float alpha_cumprod, float *x0);

/* x0 = sqrt(ᾱ) · x − sqrt(1 − ᾱ) · v over n values: the same for a v-prediction model
 * (v = sqrt(ᾱ) · eps − sqrt(1 − ᾱ) · x0). */
void sd_x0_from_v(const float *x, const float *v, size_t n, float alpha_cumprod, float *x0);

/* Latents [4, lh, lw] (U-Net space) → interleaved RGB [lh, lw, 3] in [0, 1] by the SD 1.5
 * latent→RGB factors (see preview.c for their source): 12 multiply-adds a latent pixel. */
void sd_preview_latent_rgb(const float *latents, int lh, int lw, float *rgb);

/* Makes the preview of x0 [4, lh, lw] for the job (TAESD or latent→RGB, job->preview_kind)
 * and calls job->preview. Scratch from `arena`, given back. Returns SD_OK,
 * SD_ERR_CANCELLED when the callback asks to stop, or the TAESD decoder's error. */
sd_status sd_preview_emit(sd_model *m, sd_arena *arena, const sd_job *job, const float *x0,
                          int lh, int lw, int step, int total, sd_error *err);

/* The job's preview source: 1 for TAESD, 0 for latent→RGB. */
int sd_preview_uses_taesd(const sd_model *m, const sd_job *job);

#endif
