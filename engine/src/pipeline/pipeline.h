/* The pipelines behind sd_generate, with their two seams exposed for tests:
 * where the noise comes from, and a trace of every intermediate tensor. */
#ifndef SD_PIPELINE_H
#define SD_PIPELINE_H

#include <stddef.h>

#include "sd.h"

/* Fills out[0..n) with the next N(0,1) draw. The pipelines draw in diffusers' order:
 *   img2img:  VAE sample of the image, latent noise, then one per step the scheduler draws;
 *   inpaint:  [VAE sample of the image: 4-channel U-Net or strength < 1], latent noise,
 *             VAE sample of the masked image (drawn with the 4-channel U-Net too), then
 *             the scheduler's per-step draws;
 *   txt2img:  latent noise, then the scheduler's per-step draws. */
typedef struct {
    sd_status (*draw)(void *user, float *out, size_t n, sd_error *err);
    void *user;
} sd_noise_source;

/* The noise source of sd_generate: consecutive draws of one seeded generator
 * (rng.h's sd_rng, passed as void so this header needs no RNG types). */
sd_noise_source sd_noise_from_rng(void *rng);

/* Called with each intermediate, named as the golden fixtures name them:
 * prompt_embeds, negative_prompt_embeds, vae_encode<k>.mean / .logvar, mask_condition,
 * masked_image, mask_latent, masked_image_latents, unet_in_<i>, unet_out_<i>,
 * noise_pred_<i>, latents_<i>, latents_final, decoded, image_out (NCHW in [0,1],
 * before cropping). */
typedef struct {
    void (*tensor)(void *user, const char *name, const float *data, size_t n);
    void *user;
} sd_pipeline_trace;

sd_status sd_pipeline_run(sd_model *model, const sd_job *job, const sd_noise_source *noise,
                          const sd_pipeline_trace *trace, float *out_rgb, sd_error *err);

#endif
