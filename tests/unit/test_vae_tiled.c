/* Tiled VAE encode/decode (vae_tiled.c) against a transcription of diffusers'
 * AutoencoderKL.tiled_decode / tiled_encode on the tiny model: every tile run alone
 * through the untiled pass, all tiles first, then blend_v / blend_h in place in row-major
 * order and the crop, exactly as the Python does. The streaming implementation (two tile
 * rows held) must give the same numbers. Also: an image within one tile is the untiled
 * pass bit for bit, bad tile sizes are refused, and the working memory follows the tile,
 * not the image.
 *
 * argv[1] is the shared folder (holding golden/tiny-sd1.safetensors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nets/model_config.h"
#include "nets/vae.h"
#include "io/weights.h"

typedef struct {
    float *x;   /* [c, h, w] */
    int h, w;
} tile;

/* diffusers: b[:, :, y, :] = a[:, :, -e + y, :] * (1 - y / e) + b[:, :, y, :] * (y / e) */
static void ref_blend_v(const tile *a, tile *b, int c, int e)
{
    e = e < a->h ? e : a->h;
    e = e < b->h ? e : b->h;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < e; y++)
            for (int x = 0; x < b->w; x++) {
                float *pb = &b->x[((size_t)ch * b->h + y) * b->w + x];
                const float pa = a->x[((size_t)ch * a->h + a->h - e + y) * a->w + x];
                *pb = pa * (float)(1.0 - (double)y / e) + *pb * (float)((double)y / e);
            }
}

static void ref_blend_h(const tile *a, tile *b, int c, int e)
{
    e = e < a->w ? e : a->w;
    e = e < b->w ? e : b->w;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < b->h; y++)
            for (int x = 0; x < e; x++) {
                float *pb = &b->x[((size_t)ch * b->h + y) * b->w + x];
                const float pa = a->x[((size_t)ch * a->h + y) * a->w + a->w - e + x];
                *pb = pa * (float)(1.0 - (double)x / e) + *pb * (float)((double)x / e);
            }
}

#define MAX_TILES 8

/* diffusers' tiled loop around `pass` (untiled decode or encode-moments of one tile):
 * in [c_in, h, w] with input tiles of `t_in`, output scale up/down. */
typedef int (*pass_fn)(const sd_vae *vae, sd_arena *a, const float *in, int h, int w,
                       float *out);

static int decode_pass(const sd_vae *vae, sd_arena *a, const float *in, int h, int w,
                       float *out)
{
    sd_error err;
    return sd_vae_decode(vae, a, in, h, w, out, NULL, &err) == SD_OK ? 0 : -1;
}

static int encode_pass(const sd_vae *vae, sd_arena *a, const float *in, int h, int w,
                       float *out)
{
    sd_error err;
    return sd_vae_encode_moments(vae, a, in, h, w, out, NULL, &err) == SD_OK ? 0 : -1;
}

static int reference_tiled(const sd_vae *vae, const float *in, int c_in, int h, int w, int t_in,
                           int c_out, int up, int down, pass_fn pass, float *out)
{
    const int overlap = t_in * 3 / 4, t_out = t_in * up / down;
    const int extent = t_out / 4, limit = t_out - extent;
    const int ho = h * up / down, wo = w * up / down;
    tile tiles[MAX_TILES][MAX_TILES];
    int rows = 0, cols = 0, failed = 0;
    sd_arena arena;
    sd_arena_init(&arena, 0);
    for (int i = 0; i < h; i += overlap, rows++) {
        cols = 0;
        for (int j = 0; j < w; j += overlap, cols++) {
            const int th = h - i < t_in ? h - i : t_in, tw = w - j < t_in ? w - j : t_in;
            float *src = malloc((size_t)c_in * th * tw * sizeof *src);
            tile *t = &tiles[rows][cols];
            t->h = th * up / down;
            t->w = tw * up / down;
            t->x = malloc((size_t)c_out * t->h * t->w * sizeof *t->x);
            for (int c = 0; c < c_in; c++)
                for (int y = 0; y < th; y++)
                    memcpy(src + ((size_t)c * th + y) * tw, in + ((size_t)c * h + i + y) * w + j,
                           (size_t)tw * sizeof *src);
            failed |= pass(vae, &arena, src, th, tw, t->x);
            free(src);
        }
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            tile *t = &tiles[i][j];
            if (i > 0)
                ref_blend_v(&tiles[i - 1][j], t, c_out, extent);
            if (j > 0)
                ref_blend_h(&tiles[i][j - 1], t, c_out, extent);
            for (int c = 0; c < c_out; c++)
                for (int y = 0; y < limit && y < t->h; y++)
                    for (int x = 0; x < limit && x < t->w; x++)
                        out[((size_t)c * ho + i * limit + y) * wo + j * limit + x] =
                            t->x[((size_t)c * t->h + y) * t->w + x];
        }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            free(tiles[i][j].x);
    sd_arena_free(&arena);
    return failed;
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m))
            m = d;
    }
    return m;
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

static void test_decode(const sd_vae *vae)
{
    /* latent 14 x 20 → 112 x 160 pixels in tiles of 64 (latent 8, stride 6): 3 x 4 tiles,
     * the last ones 2 latents (16 px) wide, down to the blend extent */
    enum { LH = 14, LW = 20, LC = 4, H = LH * 8, W = LW * 8 };
    static float z[LC * LH * LW], tiled[3 * H * W], ref[3 * H * W], whole[3 * H * W];
    fill(z, sizeof z / sizeof z[0], 7);
    sd_arena arena;
    sd_arena_init(&arena, 0);
    sd_error err;
    CHECK(sd_vae_decode_tiled(vae, &arena, z, LH, LW, 64, tiled, &err) == SD_OK,
          "tiled decode: %s", err.message);
    CHECK(arena.used == 0, "tiled decode gives its arena back");
    const size_t tiled_peak = arena.peak;
    CHECK(reference_tiled(vae, z, LC, LH, LW, 8, 3, 8, 1, decode_pass, ref) == 0,
          "reference tiles decode");
    float d = max_abs_diff(tiled, ref, sizeof ref / sizeof ref[0]);
    CHECK(d <= 1e-6f, "tiled decode == diffusers' tiled_decode transcribed (max |diff| %g)",
          (double)d);

    sd_arena whole_arena;
    sd_arena_init(&whole_arena, 0);
    CHECK(sd_vae_decode(vae, &whole_arena, z, LH, LW, whole, NULL, &err) == SD_OK,
          "untiled decode: %s", err.message);
    CHECK(tiled_peak < whole_arena.peak,
          "tiles need less working memory: %zu vs %zu bytes untiled", tiled_peak,
          whole_arena.peak);
    d = max_abs_diff(tiled, whole, sizeof whole / sizeof whole[0]);
    CHECK(d > 0.0f, "tiles are not the untiled pass (GroupNorm per tile): max |diff| %g",
          (double)d);

    /* within one tile: untiled, bit for bit */
    static float one[3 * H * W];
    CHECK(sd_vae_decode_tiled(vae, &arena, z, LH, LW, 192, one, &err) == SD_OK &&
              memcmp(one, whole, sizeof one) == 0,
          "an image within one tile decodes untiled");
    CHECK(sd_vae_decode_tiled(vae, &arena, z, LH, LW, 96, one, &err) == SD_ERR_INVALID_ARG &&
              strstr(err.message, "multiple of 64"),
          "tile of 96 refused: %s", err.message);
    CHECK(sd_vae_decode_tiled(vae, &arena, z, LH, LW, 0, one, &err) == SD_ERR_INVALID_ARG,
          "tile of 0 refused");
    sd_arena_free(&whole_arena);
    sd_arena_free(&arena);
}

static void test_encode(const sd_vae *vae)
{
    /* 160 x 224 pixels in tiles of 64 (stride 48): 4 x 5 tiles, last ones 16 px */
    enum { H = 160, W = 224, LH = H / 8, LW = W / 8, LC = 4 };
    static float image[3 * H * W], mean[LC * LH * LW], logvar[LC * LH * LW];
    static float moments[2 * LC * LH * LW];
    fill(image, sizeof image / sizeof image[0], 11);
    sd_arena arena;
    sd_arena_init(&arena, 0);
    sd_error err;
    CHECK(sd_vae_encode_tiled(vae, &arena, image, H, W, 64, mean, logvar, &err) == SD_OK,
          "tiled encode: %s", err.message);
    CHECK(reference_tiled(vae, image, 3, H, W, 64, 2 * LC, 1, 8, encode_pass, moments) == 0,
          "reference tiles encode");
    const size_t n = (size_t)LC * LH * LW;
    float d = max_abs_diff(mean, moments, n);
    int clamped_ok = 1;
    for (size_t i = 0; i < n; i++)
        clamped_ok &= logvar[i] == fminf(fmaxf(moments[n + i], -30.0f), 20.0f);
    CHECK(d <= 1e-6f && clamped_ok,
          "tiled encode == diffusers' tiled_encode transcribed, logvar clamped after the blend "
          "(mean max |diff| %g)", (double)d);

    static float m1[LC * LH * LW], l1[LC * LH * LW], m2[LC * LH * LW], l2[LC * LH * LW];
    CHECK(sd_vae_encode_tiled(vae, &arena, image, H, W, 256, m1, l1, &err) == SD_OK &&
              sd_vae_encode(vae, &arena, image, H, W, m2, l2, NULL, &err) == SD_OK &&
              memcmp(m1, m2, sizeof m1) == 0 && memcmp(l1, l2, sizeof l1) == 0,
          "an image within one tile encodes untiled");
    sd_arena_free(&arena);
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
    sd_vae vae;
    int ok = sd_weights_open(path, &w, &err) == SD_OK &&
             sd_model_config_detect(sd_weights_file(w), &cfg, &err) == SD_OK &&
             sd_vae_load(&vae, w, &cfg.vae, &err) == SD_OK;
    CHECK(ok, "open %s: %s", path, err.message);
    if (ok) {
        test_decode(&vae);
        test_encode(&vae);
    }
    sd_weights_free(w);
    return check_summary();
}
