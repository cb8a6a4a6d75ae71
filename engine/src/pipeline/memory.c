/* The working-memory estimate of a job. Each network keeps a few activations of its
 * widest layer alive at once (measured on the full-size SD 1.5 shapes: VAE decode at
 * 512² held 895 MB = 3 activations of 256 x 512 x 512 floats + the 64 MB conv scratch;
 * U-Net batch 2 at 64² held 319 MB), so the estimate is that many activations of the
 * widest full-resolution layer, plus the bounded scratch. It errs high, never low. */
#include "pipeline/memory.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/image_prep.h"
#include "pipeline/model.h"
#include "pipeline/preview.h"

#define CONV_SCRATCH_BYTES ((size_t)64 << 20)   /* the im2col band cap of ops_conv.c */
#define VAE_LIVE_ACTIVATIONS 3
#define UNET_LIVE_ACTIVATIONS 26   /* skips, transformer tokens, GEGLU's 8C-wide hidden */

size_t sd_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[128];
        unsigned long long kb = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                break;
        fclose(f);
        if (kb)
            return (size_t)kb * 1024;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

size_t sd_job_memory_estimate_tiled(const sd_model *m, const sd_job *job, int vae_tile)
{
    if (!m || !job || job->width <= 0 || job->height <= 0)
        return 0;
    const size_t f = sizeof(float);
    size_t w = (size_t)sd_pad8(job->width), h = (size_t)sd_pad8(job->height);
    size_t pixels = w * h, latents = pixels / 64;
    const sd_vae_config *vae = &m->cfg.vae;
    const sd_unet_config *unet = &m->cfg.unet;

    /* The decoder's widest full-resolution activation: level 1's channels after its
     * upsample (256 for SD 1.5), or level 0's when wider. Tiled, one tile's worth, plus
     * the decoded tiles of two tile rows. */
    size_t vae_c = (size_t)(vae->channels[1] > vae->channels[0] ? vae->channels[1]
                                                                 : vae->channels[0]);
    size_t vae_pixels = pixels, tile_rows = 0;
    if (vae_tile > 0 && (w > (size_t)vae_tile || h > (size_t)vae_tile)) {
        vae_pixels = (size_t)vae_tile * vae_tile;
        size_t cols = (w + (size_t)vae_tile * 3 / 4 - 1) / ((size_t)vae_tile * 3 / 4);
        tile_rows = 2 * cols * (size_t)vae->out_channels * vae_pixels * f;
    }
    /* The scratch twice: its pieces are large, and the arena does not put one into the
     * unused tail of a block (measured: a tiled decode under a budget of exactly one
     * scratch ran out). */
    size_t vae_bytes = VAE_LIVE_ACTIVATIONS * vae_c * vae_pixels * f + 2 * CONV_SCRATCH_BYTES +
                       tile_rows;
    /* The draft VAE runs TAESD instead, untiled (3 activations of 64 x H x W floats). */
    const sd_taesd *taesd = &m->taesd;
    size_t taesd_bytes = 0;
    if (taesd->has_decoder) {
        size_t enc = taesd->has_encoder ? sd_taesd_encode_bytes(taesd, (int)h, (int)w) : 0;
        size_t dec = sd_taesd_decode_bytes(taesd, (int)(h / 8), (int)(w / 8));
        taesd_bytes = enc > dec ? enc : dec;
    }
    if (job->draft_vae && taesd->has_decoder)
        vae_bytes = taesd_bytes;

    /* fp16 checkpoints keep weights 16-bit and widen the one in use into the arena: the
     * widest is a decoder conv over the concatenated skip (C x 2C x 3 x 3) or one spatial
     * transformer block's matrices (about 18 C^2 + 2 C x context), C the widest level. */
    size_t c_max = 0;
    for (int l = 0; l < unet->levels; l++)
        if ((size_t)unet->channels[l] > c_max)
            c_max = (size_t)unet->channels[l];
    size_t widened = (18 * c_max * c_max + 2 * c_max * (size_t)unet->context_dim) * f;

    size_t batch = job->cfg_scale > 1.0f ? 2 : 1;
    size_t unet_bytes = UNET_LIVE_ACTIVATIONS * batch * (size_t)unet->model_channels * latents * f +
                        CONV_SCRATCH_BYTES + widened;
    /* A TAESD preview decodes between two U-Net passes, in the same scratch. */
    if (job->preview && job->preview_every > 0 && sd_preview_uses_taesd(m, job) &&
        taesd_bytes > unet_bytes)
        unet_bytes = taesd_bytes;

    /* The pipeline's own buffers: the image, mask, masked image, decoded image, latents. */
    size_t pipeline_bytes = (3 + 1 + 3 + 3) * pixels * f + 16 * (size_t)vae->latent_channels * latents * f;
    return pipeline_bytes + (vae_bytes > unet_bytes ? vae_bytes : unet_bytes);
}

int sd_job_vae_tile(const sd_model *m, const sd_job *job, size_t budget)
{
    if (job->vae_tile != SD_VAE_TILE_AUTO)
        return job->vae_tile;
    if (!budget || sd_job_memory_estimate_tiled(m, job, SD_VAE_TILE_AUTO) <= budget)
        return SD_VAE_TILE_OFF;
    /* The sizes automatic tiling tries, largest (fewest seams) first. */
    static const int auto_tile_sizes[] = {512, 256, 128};
    for (size_t i = 0; i < sizeof auto_tile_sizes / sizeof auto_tile_sizes[0]; i++)
        if (sd_job_memory_estimate_tiled(m, job, auto_tile_sizes[i]) <= budget)
            return auto_tile_sizes[i];
    return SD_VAE_TILE_OFF;   /* nothing fits: the untiled estimate is reported */
}

size_t sd_job_budget(const sd_model *m)
{
    return m->memory_budget ? m->memory_budget : sd_memory_available();
}

size_t sd_job_memory_estimate(const sd_model *m, const sd_job *job)
{
    if (!m || !job)
        return 0;
    /* with the tiles sd_generate would choose, so the figure is the one it checks */
    return sd_job_memory_estimate_tiled(m, job, sd_job_vae_tile(m, job, sd_job_budget(m)));
}
