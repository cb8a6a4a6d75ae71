/* Tiled VAE encode and decode, as diffusers' AutoencoderKL.tiled_encode / tiled_decode
 * (tile_overlap_factor 0.25): the input is cut into overlapping square tiles, each tile
 * runs through the network alone, and neighbouring outputs are cross-faded over a quarter
 * of a tile before the overlap is cropped away. The network's working memory is then that
 * of one tile whatever the image size; only the small outputs of two tile rows are kept.
 *
 * A tile sees no context beyond its borders and the GroupNorm statistics are its own, so
 * the result is close to, not equal to, the untiled pass: the pipeline tiles only when
 * asked to, or when the untiled pass would not fit in memory. */
#include "nets/vae.h"

#include <string.h>

#include "core/error.h"

/* One network pass on a tile: in [c_in, h, w] → out [c_out, h·scale, w·scale]. */
typedef sd_status (*tile_pass)(const sd_vae *vae, sd_arena *a, const float *in, int h, int w,
                               float *out, sd_error *err);

typedef struct {
    int c_in, c_out;
    int tile_in;      /* input tile side */
    int up, down;     /* output side = input side · up / down */
} tiling;

typedef struct {
    float *data;      /* [c_out, h, w] */
    int h, w;
} tile_result;

/* diffusers' blend_v: the first `extent` rows of b fade in from the last rows of a. The
 * weights are float32 as torch applies a Python float to a float32 tensor. */
static void blend_v(const tile_result *a, tile_result *b, int c, int extent)
{
    if (extent > a->h)
        extent = a->h;
    if (extent > b->h)
        extent = b->h;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < extent; y++) {
            const float wb = (float)((double)y / extent), wa = (float)(1.0 - (double)y / extent);
            const float *ra = a->data + ((size_t)ch * a->h + (a->h - extent + y)) * a->w;
            float *rb = b->data + ((size_t)ch * b->h + y) * b->w;
            const int n = a->w < b->w ? a->w : b->w;
            for (int x = 0; x < n; x++)
                rb[x] = ra[x] * wa + rb[x] * wb;
        }
}

/* diffusers' blend_h: the first `extent` columns of b fade in from the last columns of a. */
static void blend_h(const tile_result *a, tile_result *b, int c, int extent)
{
    if (extent > a->w)
        extent = a->w;
    if (extent > b->w)
        extent = b->w;
    const int rows = a->h < b->h ? a->h : b->h;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < rows; y++) {
            const float *ra = a->data + ((size_t)ch * a->h + y) * a->w + (a->w - extent);
            float *rb = b->data + ((size_t)ch * b->h + y) * b->w;
            for (int x = 0; x < extent; x++) {
                const float wb = (float)((double)x / extent);
                const float wa = (float)(1.0 - (double)x / extent);
                rb[x] = ra[x] * wa + rb[x] * wb;
            }
        }
}

static sd_status run_tiled(const sd_vae *vae, sd_arena *a, const float *in, int h, int w,
                           const tiling *t, tile_pass pass, float *out, sd_error *err)
{
    const int stride = t->tile_in * 3 / 4;                /* int(tile · (1 − 0.25)) */
    const int tile_out = t->tile_in * t->up / t->down;
    const int extent = tile_out / 4, limit = tile_out - extent;
    const int ho = h * t->up / t->down, wo = w * t->up / t->down;
    const int rows = (h + stride - 1) / stride, cols = (w + stride - 1) / stride;
    const size_t in_floats = (size_t)t->c_in * t->tile_in * t->tile_in;
    const size_t out_floats = (size_t)t->c_out * tile_out * tile_out;
    const sd_arena_mark mark = sd_arena_get_mark(a);

    float *tile_in = sd_arena_floats(a, in_floats);         /* [c_in, tile, tile] */
    tile_result *prev = sd_arena_alloc(a, (size_t)cols * sizeof *prev);
    tile_result *cur = sd_arena_alloc(a, (size_t)cols * sizeof *cur);
    int ok = tile_in && prev && cur;
    for (int j = 0; ok && j < cols; j++) {
        prev[j].data = sd_arena_floats(a, out_floats);
        cur[j].data = sd_arena_floats(a, out_floats);
        ok = prev[j].data && cur[j].data;
    }
    if (!ok) {
        sd_arena_reset(a, mark);
        return sd_fail(err, SD_ERR_NOMEM, "VAE tiles: out of scratch memory (%d x %d tiles)",
                       rows, cols);
    }

    sd_status st = SD_OK;
    for (int ti = 0; ti < rows && st == SD_OK; ti++) {
        const int i = ti * stride, th = h - i < t->tile_in ? h - i : t->tile_in;
        for (int tj = 0; tj < cols && st == SD_OK; tj++) {
            const int j = tj * stride, tw = w - j < t->tile_in ? w - j : t->tile_in;
            for (int c = 0; c < t->c_in; c++)
                for (int y = 0; y < th; y++)
                    memcpy(tile_in + ((size_t)c * th + y) * tw,
                           in + ((size_t)c * h + i + y) * w + j, (size_t)tw * sizeof *in);
            tile_result *o = &cur[tj];
            o->h = th * t->up / t->down;
            o->w = tw * t->up / t->down;
            if ((st = pass(vae, a, tile_in, th, tw, o->data, err)) != SD_OK)
                break;
            if (ti > 0)
                blend_v(&prev[tj], o, t->c_out, extent);
            if (tj > 0)
                blend_h(&cur[tj - 1], o, t->c_out, extent);
            /* tile[:, :limit, :limit] lands at (ti · limit, tj · limit) */
            const int y0 = ti * limit, x0 = tj * limit;
            const int ch = o->h < limit ? o->h : limit, cw = o->w < limit ? o->w : limit;
            for (int c = 0; c < t->c_out; c++)
                for (int y = 0; y < ch && y0 + y < ho; y++)
                    memcpy(out + ((size_t)c * ho + y0 + y) * wo + x0,
                           o->data + ((size_t)c * o->h + y) * o->w,
                           (size_t)(x0 + cw <= wo ? cw : wo - x0) * sizeof *out);
        }
        tile_result *swap = prev;
        prev = cur;
        cur = swap;
    }
    sd_arena_reset(a, mark);
    return st;
}

static sd_status decode_pass(const sd_vae *vae, sd_arena *a, const float *z, int h, int w,
                             float *image, sd_error *err)
{
    return sd_vae_decode(vae, a, z, h, w, image, NULL, err);
}

static sd_status encode_pass(const sd_vae *vae, sd_arena *a, const float *image, int h, int w,
                             float *moments, sd_error *err)
{
    return sd_vae_encode_moments(vae, a, image, h, w, moments, NULL, err);
}

static sd_status check_tile(int tile_px, const char *what, sd_error *err)
{
    if (tile_px < SD_VAE_TILE_MIN || tile_px % SD_VAE_TILE_MULTIPLE)
        return sd_fail(err, SD_ERR_INVALID_ARG,
                       "VAE %s tiles of %d pixels: the size must be a multiple of %d, at least %d",
                       what, tile_px, SD_VAE_TILE_MULTIPLE, SD_VAE_TILE_MIN);
    return SD_OK;
}

sd_status sd_vae_decode_tiled(const sd_vae *vae, sd_arena *arena, const float *z, int h,
                              int w, int tile_px, float *image, sd_error *err)
{
    if (!vae || !arena || !z || !image)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_decode_tiled: NULL argument");
    sd_status st = check_tile(tile_px, "decode", err);
    if (st != SD_OK)
        return st;
    const int factor = 1 << (vae->cfg.levels - 1), tile_latent = tile_px / factor;
    if (h <= tile_latent && w <= tile_latent)   /* diffusers tiles only what exceeds a tile */
        return sd_vae_decode(vae, arena, z, h, w, image, NULL, err);
    const tiling t = {.c_in = vae->cfg.latent_channels, .c_out = vae->cfg.out_channels,
                      .tile_in = tile_latent, .up = factor, .down = 1};
    return run_tiled(vae, arena, z, h, w, &t, decode_pass, image, err);
}

sd_status sd_vae_encode_tiled(const sd_vae *vae, sd_arena *arena, const float *image,
                              int height, int width, int tile_px, float *mean, float *logvar,
                              sd_error *err)
{
    if (!vae || !arena || !image || !mean || !logvar)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_vae_encode_tiled: NULL argument");
    sd_status st = check_tile(tile_px, "encode", err);
    if (st != SD_OK)
        return st;
    if (height <= tile_px && width <= tile_px)
        return sd_vae_encode(vae, arena, image, height, width, mean, logvar, NULL, err);
    const int factor = 1 << (vae->cfg.levels - 1);
    const int lc = vae->cfg.latent_channels;
    const size_t n = (size_t)lc * (height / factor) * (width / factor);
    const sd_arena_mark mark = sd_arena_get_mark(arena);
    float *moments = sd_arena_floats(arena, 2 * n);   /* [2 lc, h/8, w/8] = mean | logvar */
    if (!moments)
        return sd_fail(err, SD_ERR_NOMEM, "VAE tiled encode: out of scratch memory");
    const tiling t = {.c_in = vae->cfg.in_channels, .c_out = 2 * lc, .tile_in = tile_px,
                      .up = 1, .down = factor};
    st = run_tiled(vae, arena, image, height, width, &t, encode_pass, moments, err);
    if (st == SD_OK)
        sd_vae_split_moments(moments, n, mean, logvar);
    sd_arena_reset(arena, mark);
    return st;
}
