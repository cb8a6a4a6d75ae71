/* `diffuse check MODEL...`: prints what sd_model_check_file detected. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "sd.h"

#define MIB (1024.0 * 1024.0)

static void print_report(const char *path, const sd_model_check *c)
{
    printf("%s\n", path);
    if (c->family != SD_FAMILY_UNKNOWN) {
        printf("  family        %s (%s)\n", c->family_name, c->family_title);
        printf("  prediction    %s (%s)\n", c->prediction == SD_PREDICTION_V ? "v" : "eps",
               c->prediction_source);
        printf("  text encoder  %s, context %d\n", c->text_encoder, c->context_dim);
        printf("  U-Net         %d input channels\n", c->unet_in_channels);
        printf("  defaults      %dx%d, %d step%s, CFG %g, VAE scale %g\n",
               c->default_resolution, c->default_resolution, c->default_steps,
               c->default_steps == 1 ? "" : "s", (double)c->default_cfg, (double)c->vae_scale);
    } else {
        printf("  family        unknown\n");
    }
    if (c->tensor_count) {
        printf("  tensors       %zu, %.1f MiB (%s)\n", c->tensor_count,
               (double)c->total_bytes / MIB, c->dtypes);
        printf("  sizes         U-Net %.1f MiB, VAE %.1f MiB, text encoder %.1f MiB, "
               "other %.1f MiB\n", (double)c->unet_bytes / MIB, (double)c->vae_bytes / MIB,
               (double)c->text_encoder_bytes / MIB, (double)c->other_bytes / MIB);
    }
    printf("  status        %s\n", c->runnable ? "ok: sd_model_load takes it" : "refused");
}

int diffuse_check(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "--help") == 0) {
        fputs("usage: diffuse check MODEL.safetensors...\n"
              "  prints the model family, prediction type, dtypes and sizes detected from each\n"
              "  checkpoint's tensor names and shapes, or why it is refused (exit status 1)\n",
              argc < 3 ? stderr : stdout);
        return argc < 3 ? 2 : 0;
    }
    int refused = 0;
    for (int i = 2; i < argc; i++) {
        sd_model_check c;
        sd_error err = {0};
        if (sd_model_check_file(argv[i], &c, &err) != SD_OK) {
            refused = 1;
            fprintf(stderr, "diffuse: %s\n", err.message);
        }
        print_report(argv[i], &c);
    }
    return refused;
}
