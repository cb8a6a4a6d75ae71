/* plugin/generate.c with the real engine and the tiny model, no GIMP: what the front ends
 * get back is a layer that leaves everything outside the selection alone, progress comes
 * as "Denoising k/N", a cancel writes nothing, and oversized regions are refused up front.
 * Then run.c, the front ends' one run path, with a fake host: the region it reads, the layer
 * it hands back, and each refusal with nothing read or written.
 * argv[1] is the shared folder (holding clip/ and golden/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "generate.h"
#include "model_pick.h"
#include "preview.h"
#include "region.h"
#include "run.h"

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

/* A fake GIMP for gd_run: an image of IW x IH whose pixels are a function of their image
 * coordinates, a layer at (LX, LY), a rectangular selection; it records what gd_run asks. */
enum { IW = 60, IH = 50, LX = 5, LY = 4, LW = 50, LH = 40 };

typedef struct {
    int reads, writes, progress_starts, warnings;
    int selection_value; /* the mask's value inside the selection (0: a selection of nothing) */
    region_rect read_rect, sel;
    gd_result res;
    char name[128], parasite[2048];
    float out_alpha_outside; /* the largest alpha written outside the selection */
} fake_host;

static void fake_pixel(int x, int y, float *p)
{
    p[0] = x / (IW - 1.0f);
    p[1] = 0.5f + 0.4f * sinf(x * 0.7f) * cosf(y * 0.5f);
    p[2] = y / (IH - 1.0f);
    p[3] = 1.0f;
}

static int in_rect(const region_rect *r, int x, int y)
{
    return x >= r->x && y >= r->y && x < r->x + r->width && y < r->y + r->height;
}

static void fake_read(void *user, const region_rect *rect, float *rgba, float *mask)
{
    fake_host *h = user;
    h->reads++;
    h->read_rect = *rect;
    for (int y = 0; y < rect->height; y++)
        for (int x = 0; x < rect->width; x++) {
            int ix = rect->x + x, iy = rect->y + y, i = y * rect->width + x;
            fake_pixel(ix, iy, rgba + 4 * i);
            mask[i] = in_rect(&h->sel, ix, iy) ? (float)h->selection_value : 0.0f;
        }
}

static int fake_progress(void *user, double fraction, const char *text)
{
    fake_host *h = user;
    (void)text;
    h->progress_starts += fraction < 0;
    return 0;
}

static void fake_warn(void *user, const char *text)
{
    (void)text;
    ((fake_host *)user)->warnings++;
}

static sd_status fake_write(void *user, const gd_result *res, sd_error *err)
{
    (void)err;
    fake_host *h = user;
    h->writes++;
    h->res = *res;
    snprintf(h->name, sizeof h->name, "%s", res->name);
    snprintf(h->parasite, sizeof h->parasite, "%s", res->parasite ? res->parasite : "");
    h->out_alpha_outside = 0.0f;
    for (int y = 0; y < res->rect.height; y++)
        for (int x = 0; x < res->rect.width; x++) {
            float a = res->rgba[4 * (y * res->rect.width + x) + 3];
            if (!in_rect(&h->sel, res->rect.x + x, res->rect.y + y) && a > h->out_alpha_outside)
                h->out_alpha_outside = a;
        }
    return SD_OK;
}

/* One gd_run on the fake image; the selection (x1, y1)-(x2, y2). */
static sd_status fake_run(fake_host *h, int base, int x1, int y1, int x2, int y2, gd_params *p,
                          sd_error *err)
{
    gd_target t;
    gd_target_init(&t, base, IW, IH, LX, LY, LW, LH, 1, x1, y1, x2, y2, 1234);
    h->sel = t.selection;
    gd_host host = { h, fake_read, fake_progress, fake_warn, fake_write, NULL };
    return gd_run(&host, &t, p, err);
}

/* What the live preview saw: its calls, last step, sizes; cancels at step cancel_at. */
typedef struct {
    int calls, last_step, total, width, height, in_range, cancel_at;
} preview_log;

static int on_preview(void *user, const sd_preview *pv)
{
    preview_log *l = user;
    l->calls++;
    l->last_step = pv->step;
    l->total = pv->total;
    l->width = pv->width;
    l->height = pv->height;
    for (int i = 0; i < pv->width * pv->height * 3; i++)
        l->in_range &= pv->rgb[i] >= 0.0f && pv->rgb[i] <= 1.0f;
    return l->cancel_at && pv->step >= l->cancel_at;
}

static int no_progress(void *user, double fraction, const char *text)
{
    (void)user;
    (void)fraction;
    (void)text;
    return 0;
}

/* The live preview through gd_generate_region: one per denoise step at the latent's size
 * (no TAESD loaded), and a cancel from it stops the run with nothing written. */
static void test_preview_run(sd_model *model, gd_params p, const gd_region_pixels *in, float *out)
{
    sd_error err = { 0 };
    p.mode = SD_MODE_IMG2IMG;
    p.strength = 1.0;
    p.steps = 4;
    preview_log l = { 0, 0, 0, 0, 0, 1, 0 };
    sd_status st = gd_generate_region(model, &p, in, out, no_progress, on_preview, &l, &err);
    CHECK(st == SD_OK, "run with a preview: %s", err.message);
    CHECK(l.calls == 4 && l.last_step == 4 && l.total == 4, "a preview every step (%d calls, last %d/%d)",
          l.calls, l.last_step, l.total);
    int ww, wh;
    region_work_size(in->width, in->height, p.work_size, &ww, &wh);
    CHECK(l.width == (ww + 7) / 8 && l.height == (wh + 7) / 8 && l.in_range,
          "latent preview %dx%d for a %dx%d working size, values in [0,1] %d", l.width, l.height,
          ww, wh, l.in_range);

    size_t n = (size_t)in->width * in->height * 4;
    for (size_t i = 0; i < n; i++)
        out[i] = -7.0f;
    preview_log c = { 0, 0, 0, 0, 0, 1, 2 };
    st = gd_generate_region(model, &p, in, out, no_progress, on_preview, &c, &err);
    size_t untouched = 0;
    for (size_t i = 0; i < n; i++)
        untouched += out[i] == -7.0f;
    CHECK(st == SD_ERR_CANCELLED && c.calls == 2, "cancel from the preview at step 2: %d after %d previews",
          st, c.calls);
    CHECK(untouched == n, "a run cancelled from the preview writes nothing (%zu/%zu untouched)",
          untouched, n);
}

/* The preview window's picture: fitted into its box, bilinear, clamped to 8 bits. */
static void test_preview_pixels(void)
{
    int w, h;
    gd_preview_fit(16, 8, 320, &w, &h);
    CHECK(w == 320 && h == 160, "16x8 fits 320 as 320x160 (%dx%d)", w, h);
    gd_preview_fit(600, 1000, 320, &w, &h);
    CHECK(w == 192 && h == 320, "600x1000 fits 320 as 192x320 (%dx%d)", w, h);
    gd_preview_fit(1, 5000, 320, &w, &h);
    CHECK(w == 1 && h == 320, "a sliver keeps one pixel (%dx%d)", w, h);

    /* 2x1: black, white (and out of range values clamped) -> 4x1 */
    const float rgb[6] = { -0.5f, 0.0f, 0.0f, 1.0f, 1.0f, 2.0f };
    sd_preview pv = { 1, 1, 2, 1, rgb, "latent-rgb" };
    uint8_t px[4 * 3];
    gd_preview_to_rgb8(&pv, 4, 1, px, 12);
    CHECK(px[0] == 0 && px[3] == 64 && px[6] == 191 && px[9] == 255 && px[11] == 255,
          "bilinear 2 -> 4: %d %d %d %d (blue end %d)", px[0], px[3], px[6], px[9], px[11]);
    char cap[96];
    gd_preview_caption(&pv, cap, sizeof cap);
    CHECK(!strcmp(cap, "Estimate after step 1 of 1 (latent colours)"), "caption: %s", cap);
}

static void test_run_path(const char *model, const char *vocab)
{
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.prompt = "a red barn\nin a field";
    p.steps = 2;
    p.work_size = 64;
    p.padding = 8;
    p.model_path = model;
    p.vocab_path = vocab;
    sd_error err = { 0 };

    fake_host h = { .selection_value = 1 };
    sd_status st = fake_run(&h, 0, 20, 15, 40, 35, &p, &err);
    CHECK(st == SD_OK, "run: %s", err.message);
    /* the selection grown by the padding, inside the layer (5..55 x 4..44) */
    region_rect want = { 12, 7, 36, 36 };
    CHECK(h.reads == 1 && h.read_rect.x == want.x && h.read_rect.y == want.y &&
              h.read_rect.width == want.width && h.read_rect.height == want.height,
          "read once, the region %dx%d+%d+%d", h.read_rect.width, h.read_rect.height,
          h.read_rect.x, h.read_rect.y);
    CHECK(h.writes == 1 && h.res.rect.x == want.x && h.res.rect.width == want.width && !h.res.gray,
          "one layer over the region");
    CHECK(h.out_alpha_outside == 0.0f, "the layer is transparent outside the selection (%g)",
          h.out_alpha_outside);
    CHECK(!strcmp(h.name, "a red barn"), "layer named after the prompt's first line: '%s'", h.name);
    CHECK(strstr(h.parasite, "\"mode\":\"img2img\"") && strstr(h.parasite, "\"seed\":\"1234\"") &&
              strstr(h.parasite, "\"x\":12"),
          "parasite: %s", h.parasite);
    CHECK(p.seed == 1234, "random seed: the host's draw is the seed used (%llu)",
          (unsigned long long)p.seed);
    CHECK(h.progress_starts == 1, "the progress bar started once (%d)", h.progress_starts);
    CHECK(!strcmp(p.model_path, model), "the caller's parameters keep their own strings");

    /* grayscale: a GRAYA layer; a config file that cannot be used is a warning, not a stop */
    char cfg_home[] = "/tmp/gd-run-config.XXXXXX", cfg_dir[64], cfg_file[96];
    if (mkdtemp(cfg_home)) {
        snprintf(cfg_dir, sizeof cfg_dir, "%s/gimp-diffusion", cfg_home);
        snprintf(cfg_file, sizeof cfg_file, "%s/config.json", cfg_dir);
        FILE *f = mkdir(cfg_dir, 0700) == 0 ? fopen(cfg_file, "w") : NULL;
        if (f) {
            fputs("[not an object]", f);
            fclose(f);
        }
        setenv("XDG_CONFIG_HOME", cfg_home, 1);
    }
    fake_host g = { .selection_value = 1 };
    CHECK(fake_run(&g, 1, 20, 15, 40, 35, &p, &err) == SD_OK && g.res.gray, "grayscale run");
    CHECK(g.warnings == 1, "the broken config file was a warning (%d)", g.warnings);
    unsetenv("XDG_CONFIG_HOME");
    remove(cfg_file);
    remove(cfg_dir);
    remove(cfg_home);

    /* refusals: nothing read or written, a message that says why */
    fake_host r = { .selection_value = 1 };
    st = fake_run(&r, 2, 20, 15, 40, 35, &p, &err);
    CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, "Indexed images") && !r.reads && !r.writes,
          "indexed: %s", err.message);
    p.padding = 0; /* else the padding reaches into the layer */
    st = fake_run(&r, 0, 56, 45, 60, 50, &p, &err);
    CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, "does not touch") && !r.reads && !r.writes,
          "selection outside the layer: %s", err.message);
    p.padding = 8;
    fake_host e = { .selection_value = 0 };
    st = fake_run(&e, 0, 20, 15, 40, 35, &p, &err);
    CHECK(st == SD_ERR_INVALID_ARG && strstr(err.message, "holds no pixels") && !e.writes &&
              !e.progress_starts,
          "a selection of nothing, refused before the model loads: %s", err.message);
    p.model_path = "/nonexistent/model.safetensors";
    fake_host m = { .selection_value = 1 };
    st = fake_run(&m, 0, 20, 15, 40, 35, &p, &err);
    CHECK(st == SD_ERR_IO && strstr(err.message, "/nonexistent/model.safetensors") && !m.writes,
          "missing model: %s", err.message);
}

/* The precision setting reaches the load: fp32 runs fp32; bf16 runs bf16 where the CPU has
 * the instructions, and elsewhere (SD_NO_BF16=1: the plugin-generate-nobf16 test) fails with
 * the engine's reason, not as a checkpoint the plug-in cannot run. */
static void test_precision(gd_config cfg)
{
    sd_model *model = NULL;
    sd_error err = { 0 };
    sd_model_info info;
    cfg.precision = SD_PRECISION_FP32;
    CHECK(gd_load_model(&cfg, 0, &model, &err) == SD_OK, "fp32 load: %s", err.message);
    if (model) {
        sd_model_get_info(model, &info);
        CHECK(info.precision == SD_PRECISION_FP32 && !strcmp(info.bf16_kernel, "none"),
              "fp32 runs fp32 (%s)", info.bf16_kernel);
        sd_model_free(model);
        model = NULL;
    }
    const char *no_bf16 = getenv("SD_NO_BF16");
    cfg.precision = SD_PRECISION_BF16;
    sd_status st = gd_load_model(&cfg, 0, &model, &err);
    if (st == SD_OK) {
        sd_model_get_info(model, &info);
        CHECK(!(no_bf16 && *no_bf16) && info.precision == SD_PRECISION_BF16 &&
                  strcmp(info.bf16_kernel, "none") != 0,
              "bf16 runs bf16 (%s)", info.bf16_kernel);
        sd_model_free(model);
    } else {
        CHECK(st == SD_ERR_UNSUPPORTED && strstr(err.message, "Precision bf16 cannot run") &&
                  strstr(err.message, "AVX512-BF16") && !strstr(err.message, "checkpoint"),
              "bf16 without the instructions: the engine's reason: %s", err.message);
        CHECK(model == NULL, "no model after a refused load");
    }
    if (no_bf16 && *no_bf16)
        CHECK(st == SD_ERR_UNSUPPORTED, "SD_NO_BF16=1 refuses bf16");
}

/* A model picked in the dialog: its family's steps, CFG, sampler, spacing and resolution;
 * a file the engine would not run: its reason, the fields untouched. */
static void test_model_pick(const char *shared)
{
    char path[1024], note[GD_MODEL_NOTE_MAX];
    gd_params p;
    gd_params_defaults(&p, SD_MODE_IMG2IMG);
    p.steps = 3;
    p.cfg_scale = 0.0;
    p.sampler = "ddim";
    p.spacing = "trailing";
    p.work_size = 256;
    CHECK(gd_model_pick("", &p, note, sizeof note) == SD_OK && !note[0] && p.steps == 3,
          "no model: nothing changes");
    snprintf(path, sizeof path, "%s/golden/tiny-sd1.safetensors", shared);
    CHECK(gd_model_pick(path, &p, note, sizeof note) == SD_OK, "sd1: %s", note);
    CHECK(p.steps == SD_STEPS_DEFAULT && p.cfg_scale == SD_CFG_DEFAULT &&
              !strcmp(p.sampler, "euler_a") && !strcmp(p.spacing, "leading") && p.work_size == 512,
          "sd1 defaults: %d steps, CFG %g, %s, %s, %d px", p.steps, p.cfg_scale, p.sampler,
          p.spacing, p.work_size);
    CHECK(strstr(note, "SD 1") && strstr(note, "20 steps"), "sd1 note: %s", note);
    snprintf(path, sizeof path, "%s/golden-sd2/tiny-sd2-v.safetensors", shared);
    struct stat st;
    if (stat(path, &st) == 0) {
        CHECK(gd_model_pick(path, &p, note, sizeof note) == SD_OK && p.work_size == 768,
              "sd2-v: 768 px (%d): %s", p.work_size, note);
    }
    /* not a checkpoint: the engine's reason, the fields as they were */
    p.steps = 7;
    snprintf(path, sizeof path, "%s/clip/vocab.json", shared);
    if (stat(path, &st) != 0)
        snprintf(path, sizeof path, "%s/golden/README.md", shared);
    CHECK(gd_model_pick(path, &p, note, sizeof note) != SD_OK && p.steps == 7 &&
              strstr(note, "cannot be used"),
          "not a checkpoint: %s", note);
    CHECK(gd_model_pick("/nonexistent.safetensors", &p, note, sizeof note) == SD_ERR_IO &&
              strstr(note, "/nonexistent"), "missing file: %s", note);
}

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A file that is no checkpoint, and a safetensors file of no family: the message names the
 * file once, the families the plug-in runs (SD 2.x, Turbo and inpainting too, not "1.x"
 * alone) and the engine's reason. */
static void test_load_errors(gd_config cfg)
{
    char dir[] = "/tmp/gd-load-errors.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char png[96], other[96];
    snprintf(png, sizeof png, "%s/in.png", dir);
    snprintf(other, sizeof other, "%s/other.safetensors", dir);
    static const char header[] = "{\"foo\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    FILE *f = fopen(png, "wb");
    int ok = f && fwrite("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 1, 16, f) == 16;
    ok = f && fclose(f) == 0 && ok;
    f = fopen(other, "wb");
    const unsigned char len[8] = {sizeof header - 1};
    ok = ok && f && fwrite(len, 1, 8, f) == 8 && fwrite(header, 1, sizeof header - 1, f) ==
         sizeof header - 1 && fwrite("\0\0\0\0", 1, 4, f) == 4;
    ok = f && fclose(f) == 0 && ok;
    CHECK(ok, "fixture files written in %s", dir);
    const struct {
        const char *path, *why;
        sd_status st;
    } cases[] = {
        {png, "not a checkpoint this plug-in can run", SD_ERR_FORMAT},
        {other, "not a Stable Diffusion checkpoint (no model.diffusion_model.* tensors)",
         SD_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; ok && i < sizeof cases / sizeof cases[0]; i++) {
        sd_model *model = NULL;
        sd_error err = { 0 };
        snprintf(cfg.model, sizeof cfg.model, "%s", cases[i].path);
        sd_status st = gd_load_model(&cfg, 0, &model, &err);
        CHECK(st == cases[i].st && !model && count_of(err.message, cases[i].path) == 1 &&
                  strstr(err.message, cases[i].why) && strstr(err.message, "SD 1.x") &&
                  strstr(err.message, "SD 2.x") && strstr(err.message, "SD-Turbo") &&
                  strstr(err.message, "inpainting") && !strstr(err.message, "1.x checkpoint"),
              "%s: the file once, the families that run, the reason: %s", cases[i].path,
              err.message);
        sd_model_free(model);
    }
    remove(png);
    remove(other);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    check_require_fixtures(shared, "golden/tiny-sd1.safetensors", "clip", (const char *)NULL);
    gd_config cfg = { 0 };
    snprintf(cfg.model, sizeof cfg.model, "%s/golden/tiny-sd1.safetensors", shared);
    snprintf(cfg.vocab, sizeof cfg.vocab, "%s/clip", shared);
    cfg.threads = 1;
    test_precision(cfg);
    test_model_pick(shared);
    test_load_errors(cfg);
    if (argc > 2 && !strcmp(argv[2], "precision"))
        return check_summary(); /* plugin-generate-nobf16: the rest runs in plugin-generate */

    sd_model *model = NULL;
    sd_error err = { 0 };
    CHECK(gd_load_model(&cfg, 0, &model, &err) == SD_OK, "load: %s", err.message);
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
    sd_status st = gd_generate_region(model, &p, &in, out, on_progress, NULL, &pl, &err);
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
    st = gd_generate_region(model, &p, &in, out, on_progress, NULL, &pc, &err);
    int untouched = 0;
    for (int i = 0; i < W * H * 4; i++)
        untouched += out[i] == -7.0f;
    CHECK(st == SD_ERR_CANCELLED, "cancel gives SD_ERR_CANCELLED (%d: %s)", st, err.message);
    CHECK(untouched == W * H * 4, "a cancelled run writes nothing (%d/%d untouched)", untouched, W * H * 4);

    test_preview_run(model, p, &in, out);
    test_preview_pixels();

    /* an unknown sampler is an error with its name */
    p.sampler = "warp";
    st = gd_generate_region(model, &p, &in, out, NULL, NULL, NULL, &err);
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
    CHECK(gd_load_model(&none, 0, &model, &err) != SD_OK && strstr(err.message, "GIMP_DIFFUSION_MODEL"),
          "no model: %s", err.message);
    snprintf(none.model, sizeof none.model, "/nonexistent.safetensors");
    CHECK(gd_load_model(&none, 0, &model, &err) == SD_ERR_IO && strstr(err.message, "/nonexistent"),
          "missing model: %s", err.message);
    test_run_path(cfg.model, cfg.vocab);
    return check_summary();
}
