/* plugin/region.c against hand-worked cases and naive reference loops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "region.h"

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65535.0f;
}

static void test_compute(void)
{
    region r;
    region_rect drw = { 0, 0, 200, 150 };
    region_rect sel = { 40, 30, 80, 60 };

    CHECK(region_compute(&sel, &drw, 200, 150, 16, &r), "padded selection");
    CHECK(r.rect.x == 24 && r.rect.y == 14 && r.rect.width == 112 && r.rect.height == 92,
          "padding 16: got %d,%d %dx%d", r.rect.x, r.rect.y, r.rect.width, r.rect.height);
    CHECK(r.open_edges == 0, "no open edges inside (%u)", r.open_edges);

    region_rect corner = { 190, 140, 30, 30 }; /* hangs over the canvas */
    region_compute(&corner, &drw, 200, 150, 8, &r);
    CHECK(r.rect.x == 182 && r.rect.y == 132 && r.rect.width == 18 && r.rect.height == 18,
          "clamped: got %d,%d %dx%d", r.rect.x, r.rect.y, r.rect.width, r.rect.height);
    CHECK(r.open_edges == (REGION_EDGE_RIGHT | REGION_EDGE_BOTTOM), "open right+bottom (%u)",
          r.open_edges);

    CHECK(region_compute(NULL, &drw, 200, 150, 32, &r), "no selection");
    CHECK(r.rect.x == 0 && r.rect.y == 0 && r.rect.width == 200 && r.rect.height == 150,
          "whole drawable");
    CHECK(r.open_edges == 15, "all edges open (%u)", r.open_edges);

    /* a layer offset partly off-canvas: limit = layer ∩ canvas */
    region_rect off = { -50, 20, 100, 300 };
    region_compute(NULL, &off, 200, 150, 0, &r);
    CHECK(r.rect.x == 0 && r.rect.y == 20 && r.rect.width == 50 && r.rect.height == 130,
          "layer ∩ canvas: got %d,%d %dx%d", r.rect.x, r.rect.y, r.rect.width, r.rect.height);

    region_rect away = { 150, 0, 20, 20 };
    region_rect small = { 0, 0, 100, 100 };
    CHECK(!region_compute(&away, &small, 200, 150, 0, &r), "selection outside the layer");
    CHECK(r.rect.width == 0 && r.rect.height == 0, "empty rect");
}

static void test_work_size(void)
{
    int w, h;
    region_work_size(1000, 600, 512, &w, &h);
    CHECK(w == 512 && h == 304, "1000x600 -> %dx%d", w, h); /* 307.2 -> 304 */
    region_work_size(80, 60, 512, &w, &h);
    CHECK(w == 512 && h == 384, "80x60 upscales -> %dx%d", w, h);
    region_work_size(10, 1000, 512, &w, &h);
    CHECK(w == 8 && h == 512, "thin -> %dx%d", w, h);
    region_work_size(300, 300, 500, &w, &h);
    CHECK(w == 504 && h == 504, "500 rounds to 504 -> %dx%d", w, h);
    for (int s = 1; s < 700; s += 37) {
        region_work_size(s, 333, 384, &w, &h);
        CHECK(w % 8 == 0 && h % 8 == 0 && w >= 8 && h >= 8, "multiple of 8: %dx%d", w, h);
    }
}

/* Area average over the exact source footprint, by 64x supersampling of each output pixel. */
static float naive_area(const float *src, int sw, int sh, int dw, int dh, int x, int y)
{
    double acc = 0;
    int n = 64;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < n; i++) {
            double sx = (x + (i + 0.5) / n) * sw / dw;
            double sy = (y + (j + 0.5) / n) * sh / dh;
            acc += src[(int)sy * sw + (int)sx];
        }
    }
    return (float)(acc / (n * n));
}

static void test_resample(void)
{
    unsigned seed = 7;
    /* shrink 13x11 -> 5x4: area averaging */
    float src[13 * 11], dst[5 * 4];
    for (int i = 0; i < 13 * 11; i++)
        src[i] = frand(&seed);
    CHECK(region_resample(src, 13, 11, 1, dst, 5, 4) == 0, "resample ok");
    float maxerr = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
            maxerr = fmaxf(maxerr, fabsf(dst[y * 5 + x] - naive_area(src, 13, 11, 5, 4, x, y)));
    /* supersampling at 64 per axis is exact to ~1/64 of a source pixel's share */
    CHECK(maxerr < 2e-2f, "area shrink vs supersampled reference: max err %g", maxerr);

    /* 4x4 -> 2x2 is an exact 2x2 box average */
    float a[16], b[4];
    for (int i = 0; i < 16; i++)
        a[i] = (float)i;
    region_resample(a, 4, 4, 1, b, 2, 2);
    CHECK(fabsf(b[0] - 2.5f) < 1e-6f && fabsf(b[3] - 12.5f) < 1e-6f, "box: %g %g", b[0], b[3]);

    /* grow 2 -> 4: bilinear at aligned centres, clamped edges */
    float g[2] = { 0.0f, 1.0f }, gg[4];
    region_resample(g, 2, 1, 1, gg, 4, 1);
    CHECK(fabsf(gg[0]) < 1e-6f && fabsf(gg[1] - 0.25f) < 1e-6f && fabsf(gg[2] - 0.75f) < 1e-6f &&
              fabsf(gg[3] - 1.0f) < 1e-6f,
          "bilinear: %g %g %g %g", gg[0], gg[1], gg[2], gg[3]);

    /* same size is the identity; constant stays constant through down and up, all channels */
    float id[13 * 11];
    region_resample(src, 13, 11, 1, id, 13, 11);
    CHECK(memcmp(id, src, sizeof id) == 0, "identity");
    float c3[9 * 7 * 3], d3[24 * 3 * 3];
    for (int i = 0; i < 9 * 7 * 3; i++)
        c3[i] = (i % 3) * 0.25f + 0.1f;
    region_resample(c3, 9, 7, 3, d3, 24, 3);
    float cerr = 0;
    for (int i = 0; i < 24 * 3 * 3; i++)
        cerr = fmaxf(cerr, fabsf(d3[i] - ((i % 3) * 0.25f + 0.1f)));
    CHECK(cerr < 1e-6f, "constant through mixed up/down: %g", cerr);

    /* area shrink preserves the mean */
    float big[64 * 48], sm[16 * 12];
    double sb = 0, ss = 0;
    for (int i = 0; i < 64 * 48; i++)
        sb += big[i] = frand(&seed);
    region_resample(big, 64, 48, 1, sm, 16, 12);
    for (int i = 0; i < 16 * 12; i++)
        ss += sm[i];
    CHECK(fabs(sb / (64 * 48) - ss / (16 * 12)) < 1e-5, "mean kept");
}

/* Brute force: distance to the nearest unselected pixel, the frame counting as unselected
 * on closed sides. */
static float naive_alpha(const float *mask, int w, int h, float r, unsigned open, int x, int y)
{
    double best = 1e30;
    for (int j = -1; j <= h; j++) {
        for (int i = -1; i <= w; i++) {
            int inside = i >= 0 && j >= 0 && i < w && j < h;
            int unsel;
            if (inside) {
                unsel = mask[j * w + i] < 0.5f;
            } else {
                int is_open = (i < 0 && (open & REGION_EDGE_LEFT)) ||
                              (j < 0 && (open & REGION_EDGE_TOP)) ||
                              (i >= w && (open & REGION_EDGE_RIGHT)) ||
                              (j >= h && (open & REGION_EDGE_BOTTOM));
                unsel = !is_open;
            }
            if (unsel) {
                double d = sqrt((double)(i - x) * (i - x) + (double)(j - y) * (j - y));
                if (d < best)
                    best = d;
            }
        }
    }
    if (r < REGION_MIN_FEATHER)
        r = REGION_MIN_FEATHER;
    double ramp = best > 1e29 ? 1.0 : fmin(fmax((best - 0.5) / r, 0.0), 1.0);
    return (float)(mask[y * w + x] * ramp);
}

static void test_feather(void)
{
    unsigned seed = 99;
    int w = 37, h = 23;
    float *mask = malloc(sizeof(float) * w * h);
    float *alpha = malloc(sizeof(float) * w * h);
    CHECK(mask && alpha, "alloc");
    if (!mask || !alpha)
        return;

    unsigned opens[3] = { 0, REGION_EDGE_LEFT | REGION_EDGE_BOTTOM, 15 };
    float radii[3] = { 0.0f, 3.0f, 7.5f };
    for (int t = 0; t < 3; t++) {
        /* two overlapping discs plus random speckle, some soft values */
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float d1 = hypotf(x - 10.0f, y - 12.0f), d2 = hypotf(x - 26.0f, y - 8.0f);
                float m = (d1 < 9 || d2 < 7) ? 1.0f : 0.0f;
                if (frand(&seed) < 0.05f)
                    m = frand(&seed);
                mask[y * w + x] = m;
            }
        }
        CHECK(region_feather(mask, w, h, radii[t], opens[t], alpha) == 0, "feather ok");
        float err = 0;
        int leaked = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                err = fmaxf(err, fabsf(alpha[y * w + x] - naive_alpha(mask, w, h, radii[t], opens[t], x, y)));
                leaked += mask[y * w + x] == 0.0f && alpha[y * w + x] != 0.0f;
            }
        }
        CHECK(err < 1e-5f, "feather r=%g open=%u vs brute force: max err %g", radii[t], opens[t], err);
        CHECK(leaked == 0, "alpha 0 where the mask is 0 (%d leaked)", leaked);
    }

    /* a full selection with every side open is untouched; with closed sides it ramps */
    for (int i = 0; i < w * h; i++)
        mask[i] = 1.0f;
    region_feather(mask, w, h, 4.0f, 15, alpha);
    int ones = 0;
    for (int i = 0; i < w * h; i++)
        ones += alpha[i] == 1.0f;
    CHECK(ones == w * h, "all open: alpha 1 everywhere (%d/%d)", ones, w * h);
    region_feather(mask, w, h, 4.0f, 0, alpha);
    CHECK(fabsf(alpha[0] - 0.5f / 4.0f) < 1e-6f, "edge pixel ramps from 0.5/r: %g", alpha[0]);
    CHECK(alpha[(h / 2) * w + w / 2] == 1.0f, "centre opaque");
    /* minimum transition: radius 0 still ramps over REGION_MIN_FEATHER */
    region_feather(mask, w, h, 0.0f, 0, alpha);
    CHECK(alpha[0] > 0.0f && alpha[0] < 1.0f, "minimum feather: %g", alpha[0]);

    free(mask);
    free(alpha);
}

static void test_color_match(void)
{
    enum { N = 400 };
    static float orig[N * 4], gen[N * 3], mask[N];
    unsigned seed = 3;
    /* left half selected; surroundings ~ N(0.6, sd), generated area darker and flatter */
    for (int i = 0; i < N; i++) {
        mask[i] = i < N / 2 ? 1.0f : 0.0f;
        for (int c = 0; c < 3; c++) {
            orig[4 * i + c] = 0.4f + 0.4f * frand(&seed) + 0.05f * c;
            gen[3 * i + c] = 0.1f + 0.1f * frand(&seed);
        }
        orig[4 * i + 3] = 1.0f;
    }
    float keep = gen[3 * (N - 1)];
    region_color_match(gen, orig, mask, N);
    for (int c = 0; c < 3; c++) {
        double mg = 0, mt = 0, vg = 0, vt = 0;
        for (int i = 0; i < N / 2; i++)
            mg += gen[3 * i + c];
        for (int i = N / 2; i < N; i++)
            mt += orig[4 * i + c];
        mg /= N / 2;
        mt /= N / 2;
        for (int i = 0; i < N / 2; i++)
            vg += (gen[3 * i + c] - mg) * (gen[3 * i + c] - mg);
        for (int i = N / 2; i < N; i++)
            vt += (orig[4 * i + c] - mt) * (orig[4 * i + c] - mt);
        CHECK(fabs(mg - mt) < 1e-4, "channel %d mean %g vs %g", c, mg, mt);
        CHECK(fabs(sqrt(vg / (N / 2)) - sqrt(vt / (N / 2))) < 1e-4, "channel %d std", c);
    }
    CHECK(gen[3 * (N - 1)] == keep, "pixels outside the mask untouched");
}

static void test_compose(void)
{
    float orig[3 * 4] = { 0.1f, 0.2f, 0.3f, 1.0f, 0.4f, 0.5f, 0.6f, 1.0f, 0.7f, 0.8f, 0.9f, 0.5f };
    float gen[3 * 3] = { 1, 1, 1, 0, 0, 0, 0.5f, 0.5f, 0.5f };
    float alpha[3] = { 0.0f, 0.25f, 1.0f };
    float out[3 * 4];
    region_compose(orig, gen, alpha, 3, out);
    CHECK(out[0] == 0.1f && out[1] == 0.2f && out[2] == 0.3f && out[3] == 0.0f,
          "alpha 0 keeps the original colour");
    CHECK(out[4] == 0.0f && out[7] == 0.25f, "partial alpha: generated colour");
    CHECK(out[8] == 0.5f && out[11] == 1.0f, "opaque: generated colour");

    float rgb[3 * 3];
    float wild[3 * 4] = { -0.5f, 2.0f, 0.5f, 1, 0, 0, 0, 1, 1, 1, 1, 1 };
    region_rgba_to_rgb(wild, 3, rgb);
    CHECK(rgb[0] == 0.0f && rgb[1] == 1.0f && rgb[2] == 0.5f, "clamped to [0,1]");
}

int main(void)
{
    test_compute();
    test_work_size();
    test_resample();
    test_feather();
    test_color_match();
    test_compose();
    return check_summary();
}
