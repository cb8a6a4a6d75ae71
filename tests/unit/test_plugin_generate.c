/* plugin/generate.c with the real engine and the tiny model, no GIMP: what the front ends
 * get back is a layer that leaves everything outside the selection alone, progress comes
 * as "Denoising k/N", a cancel writes nothing, and oversized regions are refused up front.
 * argv[1] is the shared folder (holding clip/ and golden/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "generate.h"
#include "region.h"

enum { W = 50, H = 40 };

typedef struct {
    int calls, last_step, monotonic, cancel_at;
    double last_fraction;
} progress_log;

static int on_progress(void *user, double fraction, const char *text)
{
    progress_log *pl = user;
    int k, n;
    pl->calls++;
    if (fraction < pl->last_fraction)
        pl->monotonic = 0;
    pl->last_fraction = fraction;
    if (sscanf(text, "Denoising %d/%d", &k, &n) == 2) {
        if (k < pl->last_step)
            pl->monotonic = 0;
        pl->last_step = k;
        if (pl->cancel_at && k >= pl->cancel_at)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    gd_config cfg = { 0 };
    snprintf(cfg.model, sizeof cfg.model, "%s/golden/tiny-sd1.safetensors", shared);
    snprintf(cfg.vocab, sizeof cfg.vocab, "%s/clip", shared);
    cfg.threads = 1;

    sd_model *model = NULL;
    sd_error err = { 0 };
    CHECK(gd_load_model(&cfg, &model, &err) == SD_OK, "load: %s", err.message);
    if (!model)
        return check_summary();

    /* a textured region with a disc selection (soft edge) */
    static float rgba[W * H * 4], sel[W * H], out[W * H * 4];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            float *p = rgba + 4 * (y * W + x);
            p[0] = x / (W - 1.0f);
            p[1] = 0.5f + 0.4f * sinf(x * 0.7f) * cosf(y * 0.5f);
            p[2] = y / (H - 1.0f);
            p[3] = 1.0f;
            float d = hypotf(x - 25.0f, y - 20.0f);
            sel[y * W + x] = d < 12.0f ? 1.0f : d < 14.0f ? (14.0f - d) / 2.0f : 0.0f;
        }
    }
    gd_region_pixels in = { W, H, rgba, sel, 0 };
    gd_params p;
    gd_params_defaults(&p, SD_MODE_INPAINT);
    p.prompt = "a blue lake";
    p.steps = 3;
    p.work_size = 64;
    p.seed = 11;
    p.color_match = 1;
    p.feather = 2.0;

    progress_log pl = { 0, 0, 1, 0, 0.0 };
    sd_status st = gd_generate_region(model, &p, &in, out, on_progress, &pl, &err);
    CHECK(st == SD_OK, "inpaint: %s", err.message);
    int outside = 0, kept = 0, inside = 0, changed = 0, bad = 0;
    for (int i = 0; i < W * H; i++) {
        const float *o = out + 4 * i, *s = rgba + 4 * i;
        bad += !(o[3] >= 0.0f && o[3] <= 1.0f && o[0] >= 0.0f && o[0] <= 1.0f);
        if (sel[i] == 0.0f) {
            outside++;
            kept += o[3] == 0.0f && o[0] == s[0] && o[1] == s[1] && o[2] == s[2];
        } else if (sel[i] == 1.0f && o[3] == 1.0f) {
            inside++;
            changed += fabsf(o[0] - s[0]) + fabsf(o[1] - s[1]) + fabsf(o[2] - s[2]) > 1e-3f;
        }
    }
    CHECK(kept == outside, "outside the selection: alpha 0 and the original colour (%d/%d)", kept, outside);
    CHECK(inside > 200 && changed > inside / 2, "inside: opaque and repainted (%d of %d)", changed, inside);
    CHECK(bad == 0, "values in [0,1] (%d not)", bad);
    CHECK(pl.calls >= 5 && pl.last_step == 3 && pl.monotonic && pl.last_fraction == 1.0,
          "progress: %d calls, last step %d, monotonic %d, ends at %g", pl.calls, pl.last_step,
          pl.monotonic, pl.last_fraction);

    /* cancel: SD_ERR_CANCELLED and nothing written */
    for (int i = 0; i < W * H * 4; i++)
        out[i] = -7.0f;
    progress_log pc = { 0, 0, 1, 2, 0.0 };
    p.mode = SD_MODE_IMG2IMG;
    st = gd_generate_region(model, &p, &in, out, on_progress, &pc, &err);
    int untouched = 0;
    for (int i = 0; i < W * H * 4; i++)
        untouched += out[i] == -7.0f;
    CHECK(st == SD_ERR_CANCELLED, "cancel gives SD_ERR_CANCELLED (%d: %s)", st, err.message);
    CHECK(untouched == W * H * 4, "a cancelled run writes nothing (%d/%d untouched)", untouched, W * H * 4);

    /* an unknown sampler is an error with its name */
    p.sampler = "warp";
    st = gd_generate_region(model, &p, &in, out, NULL, NULL, &err);
    CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, "warp"), "unknown sampler: %s", err.message);
    sd_model_free(model);

    /* a region far too big for any machine is refused with its size, before allocating */
    st = gd_check_memory(400000, 400000, 512, 512, &err);
    CHECK(st == SD_ERR_NOMEM && strstr(err.message, "400000 x 400000") && strstr(err.message, "GiB"),
          "too large: %s", err.message);
    CHECK(gd_check_memory(512, 512, 512, 512, &err) == SD_OK, "a normal region passes");

    /* a selection with no pixel on the layer is refused; one selected pixel is enough */
    float empty_sel[16] = { 0 };
    st = gd_check_selection(empty_sel, 16, &err);
    CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, "holds no pixels"), "empty selection: %s",
          err.message);
    empty_sel[15] = 0.1f;
    CHECK(gd_check_selection(empty_sel, 16, &err) == SD_OK, "one partly selected pixel passes");

    /* no model configured, missing file: messages that say what to do */
    gd_config none = { 0 };
    CHECK(gd_load_model(&none, &model, &err) != SD_OK && strstr(err.message, "GIMP_DIFFUSION_MODEL"),
          "no model: %s", err.message);
    snprintf(none.model, sizeof none.model, "/nonexistent.safetensors");
    CHECK(gd_load_model(&none, &model, &err) == SD_ERR_IO && strstr(err.message, "/nonexistent"),
          "missing model: %s", err.message);
    return check_summary();
}
