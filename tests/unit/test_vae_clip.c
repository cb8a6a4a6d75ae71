/* Contracts of the VAE and the CLIP text encoder that the golden cases do not reach:
 * argument checks, out-of-memory from a capped arena (a clean error, the arena given
 * back), no arena growth on a repeated pass, odd and non-square sizes, the order of
 * the traced blocks, and load errors that name the checkpoint key. Numerical parity is
 * the golden runner's job (golden-check: vae_*, text_encoder).
 *
 * argv[1] is the shared folder (holding golden/tiny-sd1.safetensors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nets/clip.h"
#include "nets/model_config.h"
#include "nets/vae.h"
#include "io/weights.h"

#define MAX_TRACE 32

typedef struct {
    int count;
    char names[MAX_TRACE][32];
} trace_log;

static void log_block(void *user, const char *name, const float *x, int c, int h, int w)
{
    trace_log *log = user;
    (void)x, (void)c, (void)h, (void)w;
    if (log->count < MAX_TRACE)
        snprintf(log->names[log->count++], sizeof log->names[0], "%s", name);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] == x[i]) || x[i] > 3e38f || x[i] < -3e38f)
            return 0;
    return 1;
}

static void test_vae(sd_weights *w, const sd_model_config *cfg)
{
    sd_vae vae;
    sd_error err;
    CHECK(sd_vae_load(&vae, w, &cfg->vae, &err) == SD_OK, "VAE load: %s", err.message);

    const int H = 16, W = 24;   /* non-square, the smallest multiple of 8 x 8 */
    float image[3 * 16 * 24], mean[4 * 2 * 3], logvar[4 * 2 * 3], decoded[3 * 24 * 40];
    for (size_t i = 0; i < sizeof image / sizeof image[0]; i++)
        image[i] = (float)((int)(i * 37 % 200) - 100) / 100.0f;

    sd_arena arena;
    sd_arena_init(&arena, 0);
    trace_log log = {0};
    const sd_vae_trace trace = {log_block, &log};
    CHECK(sd_vae_encode(&vae, &arena, image, H, W, mean, logvar, &trace, &err) == SD_OK,
          "encode 16x24: %s", err.message);
    CHECK(all_finite(mean, 24) && all_finite(logvar, 24), "encode 16x24 gives finite moments");
    CHECK(arena.used == 0, "encode gives its arena back (%zu bytes held)", arena.used);
    static const char *const encode_order[] = {
        "encoder.conv_in", "encoder.down.0", "encoder.down.1", "encoder.down.2",
        "encoder.down.3", "encoder.mid", "encoder.conv_out", "quant_conv"};
    CHECK(log.count == 8, "encode traces 8 blocks (got %d)", log.count);
    for (int i = 0; i < 8 && i < log.count; i++)
        CHECK(strcmp(log.names[i], encode_order[i]) == 0, "trace %d: %s, expected %s", i,
              log.names[i], encode_order[i]);

    /* Same shapes again: the arena already holds enough, it must not grow. */
    const size_t reserved = arena.reserved;
    CHECK(sd_vae_encode(&vae, &arena, image, H, W, mean, logvar, NULL, &err) == SD_OK,
          "second encode: %s", err.message);
    CHECK(arena.reserved == reserved, "a repeated encode does not grow the arena (%zu -> %zu)",
          reserved, arena.reserved);

    /* An odd latent size decodes to 8x its size. */
    float z[4 * 3 * 5];
    for (int i = 0; i < 60; i++)
        z[i] = (float)(i % 7 - 3) * 0.5f;
    log.count = 0;
    CHECK(sd_vae_decode(&vae, &arena, z, 3, 5, decoded, &trace, &err) == SD_OK,
          "decode 3x5: %s", err.message);
    CHECK(all_finite(decoded, sizeof decoded / sizeof decoded[0]), "decode 3x5 is finite");
    CHECK(log.count == 8 && strcmp(log.names[0], "post_quant_conv") == 0 &&
              strcmp(log.names[3], "decoder.up.3") == 0 &&
              strcmp(log.names[7], "decoder.norm_out_silu") == 0,
          "decode traces post_quant_conv, conv_in, mid, up.3 .. up.0, norm_out_silu");

    /* Bad sizes. */
    CHECK(sd_vae_encode(&vae, &arena, image, 12, 24, mean, logvar, NULL, &err) ==
              SD_ERR_INVALID_ARG, "encode 12x24 (not a multiple of 8) is refused");
    CHECK(sd_vae_encode(&vae, &arena, image, 0, 0, mean, logvar, NULL, &err) ==
              SD_ERR_INVALID_ARG, "encode 0x0 is refused");
    CHECK(sd_vae_decode(&vae, &arena, z, 0, 5, decoded, NULL, &err) == SD_ERR_INVALID_ARG,
          "decode 0x5 is refused");
    CHECK(sd_vae_decode(&vae, &arena, NULL, 3, 5, decoded, NULL, &err) == SD_ERR_INVALID_ARG,
          "decode of NULL is refused");
    sd_arena_free(&arena);

    /* A capped arena: out of memory is an error, and the arena is left as found. */
    sd_arena small;
    sd_arena_init(&small, 64 << 10);
    CHECK(sd_vae_encode(&vae, &small, image, H, W, mean, logvar, NULL, &err) == SD_ERR_NOMEM,
          "encode in a 64 KB arena reports out of memory");
    CHECK(small.used == 0, "failed encode gives its arena back");
    CHECK(sd_vae_decode(&vae, &small, z, 3, 5, decoded, NULL, &err) == SD_ERR_NOMEM,
          "decode in a 64 KB arena reports out of memory");
    CHECK(small.used == 0, "failed decode gives its arena back");
    sd_arena_free(&small);

    /* Sampling: the reparameterisation trick and the latent scaling. */
    const float m[2] = {1.0f, -2.0f}, lv[2] = {0.0f, 2.0f}, noise[2] = {0.5f, -1.0f};
    float lat[2], std[2], unit[3];
    sd_vae_sample(m, lv, noise, 2, 0.5f, lat);
    CHECK(lat[0] == 0.5f * (1.0f + 0.5f), "sample 0: %g", lat[0]);
    sd_vae_std(lv, 2, std);
    CHECK(std[0] == 1.0f && std[1] > 2.7182f && std[1] < 2.7183f, "std = exp(logvar/2)");
    const float dec[3] = {-3.0f, 0.0f, 0.5f};
    sd_vae_to_unit_range(dec, 3, unit);
    CHECK(unit[0] == 0.0f && unit[1] == 0.5f && unit[2] == 0.75f, "to [0,1]: clamp(x/2+0.5)");

    /* A configuration the checkpoint does not hold: the error names the key. */
    sd_vae_config deeper = cfg->vae;
    deeper.layers_per_block = 3;
    CHECK(sd_vae_load(&vae, w, &deeper, &err) == SD_ERR_FORMAT &&
              strstr(err.message, "first_stage_model.encoder.down.0.block.2") != NULL,
          "a missing key is named: %s", err.message);
    sd_vae_config wider = cfg->vae;
    wider.latent_channels = 8;
    CHECK(sd_vae_load(&vae, w, &wider, &err) == SD_ERR_FORMAT &&
              strstr(err.message, "first_stage_model.encoder.conv_out") != NULL,
          "a shape mismatch is named: %s", err.message);
}

static void test_clip(sd_weights *w, const sd_model_config *cfg)
{
    sd_clip clip;
    sd_error err;
    CHECK(sd_clip_load(&clip, w, &cfg->clip, &err) == SD_OK, "CLIP load: %s", err.message);
    const int d = cfg->clip.hidden, n = cfg->clip.max_positions;
    int32_t ids[77];
    for (int i = 0; i < 77; i++)
        ids[i] = i == 0 ? 49406 : i < 5 ? 320 + i : 49407;
    float *out = malloc((size_t)n * d * sizeof *out), *again = malloc((size_t)n * d * sizeof *out);
    sd_arena arena;
    sd_arena_init(&arena, 0);
    CHECK(out && again && n == 77, "buffers (max positions %d)", n);
    if (!out || !again || n != 77)
        goto done;

    CHECK(sd_clip_encode(&clip, &arena, ids, n, 1, out, NULL, &err) == SD_OK, "encode: %s",
          err.message);
    CHECK(arena.used == 0, "encode gives its arena back");
    /* Causal mask: the first 5 outputs depend on the first 5 tokens only. */
    CHECK(sd_clip_encode(&clip, &arena, ids, 5, 1, again, NULL, &err) == SD_OK,
          "encode 5 tokens: %s", err.message);
    /* Only the GEMM sizes differ between the two runs: allow float32 rounding. */
    float max_diff = 0.0f;
    for (size_t i = 0; i < 5 * (size_t)d; i++)
        if (fabsf(out[i] - again[i]) > max_diff)
            max_diff = fabsf(out[i] - again[i]);
    CHECK(max_diff <= 1e-5f, "a prefix encodes as the start of the full sequence (causal "
          "mask): max diff %g", max_diff);
    CHECK(sd_clip_encode(&clip, &arena, ids, n, cfg->clip.layers, again, NULL, &err) == SD_OK,
          "clip skip = layers (embeddings + one layer): %s", err.message);

    ids[3] = cfg->clip.vocab_size;
    CHECK(sd_clip_encode(&clip, &arena, ids, n, 1, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "an id past the vocabulary is refused");
    ids[3] = -1;
    CHECK(sd_clip_encode(&clip, &arena, ids, n, 1, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "a negative id is refused");
    ids[3] = 320;
    CHECK(sd_clip_encode(&clip, &arena, ids, n + 1, 1, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "more tokens than positions are refused");
    CHECK(sd_clip_encode(&clip, &arena, ids, 0, 1, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "zero tokens are refused");
    CHECK(sd_clip_encode(&clip, &arena, ids, n, 0, out, NULL, &err) == SD_ERR_INVALID_ARG,
          "clip skip 0 is refused");
    CHECK(sd_clip_encode(&clip, &arena, ids, n, cfg->clip.layers + 1, out, NULL, &err) ==
              SD_ERR_INVALID_ARG, "clip skip past the layer count is refused");

    sd_arena small;
    sd_arena_init(&small, 4 << 10);
    CHECK(sd_clip_encode(&clip, &small, ids, n, 1, out, NULL, &err) == SD_ERR_NOMEM &&
              small.used == 0, "a 4 KB arena reports out of memory and is given back");
    sd_arena_free(&small);

    sd_clip bad;
    sd_clip_config more = cfg->clip;
    more.layers = cfg->clip.layers + 1;
    CHECK(sd_clip_load(&bad, w, &more, &err) == SD_ERR_FORMAT && bad.layers == NULL &&
              strstr(err.message, "encoder.layers.") != NULL,
          "a missing layer is named and nothing is left allocated: %s", err.message);
done:
    free(out);
    free(again);
    sd_arena_free(&arena);
    sd_clip_free(&clip);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    check_require_fixtures(shared, "golden/tiny-sd1.safetensors", (const char *)NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/tiny-sd1.safetensors", shared);
    sd_weights *w = NULL;
    sd_model_config cfg;
    sd_error err;
    int ok = sd_weights_open(path, &w, &err) == SD_OK &&
             sd_model_config_detect(sd_weights_file(w), &cfg, &err) == SD_OK;
    CHECK(ok, "open %s: %s", path, err.message);
    if (ok) {
        test_vae(w, &cfg);
        test_clip(w, &cfg);
    }
    sd_weights_free(w);
    return check_summary();
}
