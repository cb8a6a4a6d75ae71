/* libFuzzer target: an arbitrary file handed to the TAESD reader (sd_taesd_load), as a
 * downloaded taesd_decoder.safetensors / diffusion_pytorch_model.safetensors would be;
 * a file it accepts is run: one decode of a 1x1 latent and, when it has an encoder, one
 * encode of an 8x8 image, so shapes the reader let through that the forward cannot take
 * show up as ASan reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "nets/taesd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int whole;
    int fd = fuzz_memfd("fuzz-tae.safetensors", data, size, path, sizeof path, &whole);
    if (fd < 0)
        return 0;
    sd_taesd t;
    sd_error err = {0};
    sd_status st = whole ? sd_taesd_load(&t, path, SD_TAESD_LATENT_SD, &err) : SD_ERR_IO;
    if (whole)
        fuzz_check_error(st, &err);
    if (st == SD_OK) {
        if (!t.has_decoder || t.latent_channels != 4 || t.width < 1)
            abort();   /* the reader's promises */
        sd_arena arena;
        sd_arena_init(&arena, (size_t)256 << 20);
        float latents[4] = {0.5f, -1.0f, 2.0f, 4.0f}, image[3 * 8 * 8];
        st = sd_taesd_decode(&t, &arena, latents, 1, 1, image, NULL, &err);
        fuzz_check_error(st, &err);
        if (t.has_encoder) {
            for (int i = 0; i < 3 * 8 * 8; i++)
                image[i] = (float)(i % 7) / 7.0f;
            st = sd_taesd_encode(&t, &arena, image, 8, 8, latents, NULL, &err);
            fuzz_check_error(st, &err);
        }
        sd_arena_free(&arena);
        sd_taesd_free(&t);
    }
    close(fd);
    return 0;
}
