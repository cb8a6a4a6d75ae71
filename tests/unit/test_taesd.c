/* TAESD: every file layout the loader reads, the files it refuses (another latent space,
 * not a TAESD, half a TAESD), the draft VAE's job checks, and the live previews (when,
 * what size, which source, cancel from a preview) on the tiny model.
 * argv[1] = the shared folder (golden/ and golden-taesd/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nets/taesd.h"
#include "pipeline/pipeline.h"
#include "pipeline/preview.h"
#include "core/rng.h"
#include "sd.h"

static char dir_taesd[1024], model_path[1024], vocab_path[1024], tmp[1024];

/* ---- synthetic files -------------------------------------------------------------- */

typedef struct {
    char name[64];
    int ndim;
    int64_t shape[4];
} tensor_spec;

/* A safetensors file of F32 zeros holding these tensors. 0 on success. */
static int write_zeros(const char *path, const tensor_spec *t, int n)
{
    char *header = malloc(65536);
    if (!header)
        return -1;
    size_t len = 0, offset = 0;
    len += (size_t)snprintf(header + len, 65536 - len, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = 4;
        len += (size_t)snprintf(header + len, 65536 - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                i ? "," : "", t[i].name);
        for (int d = 0; d < t[i].ndim; d++) {
            bytes *= (size_t)t[i].shape[d];
            len += (size_t)snprintf(header + len, 65536 - len, "%s%lld", d ? "," : "",
                                    (long long)t[i].shape[d]);
        }
        len += (size_t)snprintf(header + len, 65536 - len, "],\"data_offsets\":[%zu,%zu]}",
                                offset, offset + bytes);
        offset += bytes;
    }
    len += (size_t)snprintf(header + len, 65536 - len, "}");
    while (len % 8)
        header[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(header);
        return -1;
    }
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(header, 1, len, f);
    for (size_t i = 0; i < offset; i++)
        fputc(0, f);
    fclose(f);
    free(header);
    return 0;
}

static void add(tensor_spec *t, int *n, int ndim, int64_t a, int64_t b, const char *fmt, int k,
                int j)
{
    snprintf(t[*n].name, sizeof t[*n].name, fmt, k, j);
    t[*n].ndim = ndim;
    t[*n].shape[0] = a;
    t[*n].shape[1] = b;
    t[*n].shape[2] = t[*n].shape[3] = 3;
    (*n)++;
}

/* taesd.py's Decoder of width c and `latent` latent channels as a file of zeros, without
 * the tensor named `drop` (NULL: complete) and with the tensor named `extra` added as a
 * bias [c] (NULL: none). */
static int write_decoder(const char *path, int c, int latent, const char *drop,
                         const char *extra)
{
    static const int blocks[] = {3, 4, 5, 8, 9, 10, 13, 14, 15, 18};
    static const int convs[] = {1, 7, 12, 17, 19};
    tensor_spec t[128];
    int n = 0;
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
        const int k = convs[i], ci = k == 1 ? latent : c, co = k == 19 ? 3 : c;
        add(t, &n, 4, co, ci, "%d.weight", k, 0);
        if (k == 1 || k == 19)   /* 7, 12, 17 (after the upsamples) have no bias */
            add(t, &n, 1, co, 0, "%d.bias", k, 0);
    }
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        for (int j = 0; j <= 4; j += 2) {
            add(t, &n, 4, c, c, "%d.conv.%d.weight", blocks[i], j);
            add(t, &n, 1, c, 0, "%d.conv.%d.bias", blocks[i], j);
        }
    if (extra) {
        snprintf(t[n].name, sizeof t[n].name, "%s", extra);
        t[n].ndim = 1;
        t[n++].shape[0] = c;
    }
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (!drop || strcmp(t[i].name, drop) != 0)
            t[kept++] = t[i];
    return write_zeros(path, t, kept);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b, ch;
    while (ok && (ch = fgetc(a)) != EOF)
        fputc(ch, b);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    return ok ? 0 : -1;
}

/* ---- loading ---------------------------------------------------------------------- */

static void expect_load(const char *path, int halves, const char *what)
{
    sd_taesd t;
    sd_error err = {0};
    sd_status st = sd_taesd_load(&t, path, SD_TAESD_LATENT_SD, &err);
    CHECK(st == SD_OK, "%s loads (%s)", what, err.message);
    if (st != SD_OK)
        return;
    CHECK(t.has_decoder && t.has_encoder == (halves == 2), "%s: %d halves", what, halves);
    CHECK(t.width == 32 && t.latent_channels == 4, "%s: width %d, %d latent channels", what,
          t.width, t.latent_channels);
    sd_taesd_free(&t);
}

static void expect_refused(const char *path, sd_status code, const char *needle,
                           const char *what)
{
    sd_taesd t;
    sd_error err = {0};
    sd_status st = sd_taesd_load(&t, path, SD_TAESD_LATENT_SD, &err);
    CHECK(st == code && strstr(err.message, needle) && strstr(err.message, path),
          "%s refused with '%s' naming the file: got %d '%s'", what, needle, (int)st, err.message);
    if (st == SD_OK)
        sd_taesd_free(&t);
}

static void test_layouts(void)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/tiny-taesd", dir_taesd);
    expect_load(p, 2, "the diffusers folder");
    snprintf(p, sizeof p, "%s/tiny-taesd/diffusion_pytorch_model.safetensors", dir_taesd);
    expect_load(p, 2, "the diffusers file");
    snprintf(p, sizeof p, "%s/taesd_decoder.safetensors", dir_taesd);
    expect_load(p, 2, "taesd_decoder (+ the encoder beside it)");
    snprintf(p, sizeof p, "%s/taesd_encoder.safetensors", dir_taesd);
    expect_load(p, 2, "taesd_encoder (+ the decoder beside it)");

    /* the decoder alone: loads; the encoder alone: refused */
    char from[2048], cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/alone' '%s/enc' '%s/taesdxl'", tmp, tmp, tmp);
    CHECK(system(cmd) == 0, "temporary folders made");
    snprintf(from, sizeof from, "%s/taesd_decoder.safetensors", dir_taesd);
    snprintf(p, sizeof p, "%s/alone/taesd_decoder.safetensors", tmp);
    CHECK(copy_file(from, p) == 0, "copied the decoder");
    expect_load(p, 1, "a lone taesd_decoder");
    snprintf(p, sizeof p, "%s/alone", tmp);
    expect_load(p, 1, "a folder with only taesd_decoder");
    snprintf(from, sizeof from, "%s/taesd_encoder.safetensors", dir_taesd);
    snprintf(p, sizeof p, "%s/enc/taesd_encoder.safetensors", tmp);
    CHECK(copy_file(from, p) == 0, "copied the encoder");
    expect_refused(p, SD_ERR_FORMAT, "without its decoder", "a lone encoder");
}

/* Encoding any image size, as torch does: each strided conv gives ceil(x / 2). */
static void test_odd_sizes(void)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/tiny-taesd", dir_taesd);
    sd_taesd t;
    sd_error err = {0};
    if (sd_taesd_load(&t, p, SD_TAESD_LATENT_SD, &err) != SD_OK) {
        CHECK(0, "load: %s", err.message);
        return;
    }
    CHECK(sd_taesd_latent_size(64) == 8 && sd_taesd_latent_size(60) == 8 &&
          sd_taesd_latent_size(44) == 6 && sd_taesd_latent_size(1) == 1, "latent sizes");
    const int h = 44, w = 60, lh = 6, lw = 8;
    float *img = calloc((size_t)3 * h * w, sizeof *img);
    float *lat = malloc(((size_t)4 * lh * lw + 1) * sizeof *lat);
    sd_arena arena;
    sd_arena_init(&arena, 0);
    lat[4 * lh * lw] = 12345.0f;   /* guard: the encoder writes 4 x 6 x 8 values, no more */
    CHECK(sd_taesd_encode(&t, &arena, img, h, w, lat, NULL, &err) == SD_OK &&
          lat[4 * lh * lw] == 12345.0f, "a 60x44 image encodes to 8x6 latents (%s)", err.message);
    sd_arena_free(&arena);
    free(img);
    free(lat);
    sd_taesd_free(&t);
}

static void test_refusals(void)
{
    char p[2048], from[2048];
    /* TAESDXL: the same shapes; told apart by its published name */
    snprintf(from, sizeof from, "%s/taesd_decoder.safetensors", dir_taesd);
    snprintf(p, sizeof p, "%s/taesdxl_decoder.safetensors", tmp);
    CHECK(copy_file(from, p) == 0, "copied as taesdxl_decoder");
    expect_refused(p, SD_ERR_UNSUPPORTED, "SDXL", "a TAESDXL file");
    snprintf(p, sizeof p, "%s/taesdxl/diffusion_pytorch_model.safetensors", tmp);
    snprintf(from, sizeof from, "%s/tiny-taesd/diffusion_pytorch_model.safetensors", dir_taesd);
    CHECK(copy_file(from, p) == 0, "copied into a taesdxl folder");
    expect_refused(p, SD_ERR_UNSUPPORTED, "SDXL", "a diffusers file in a taesdxl folder");
    /* ...which is accepted when SDXL's space is the one wanted */
    sd_taesd t;
    sd_error err = {0};
    CHECK(sd_taesd_load(&t, p, SD_TAESD_LATENT_SDXL, &err) == SD_OK,
          "the same file loads for the SDXL latent space (%s)", err.message);
    sd_taesd_free(&t);

    /* TAESD3 / TAEF1: 16 latent channels */
    snprintf(p, sizeof p, "%s/taesd3_decoder.safetensors", tmp);
    CHECK(write_decoder(p, 8, 16, NULL, NULL) == 0, "wrote a 16-channel decoder");
    expect_refused(p, SD_ERR_UNSUPPORTED, "16-channel", "a 16-channel TAESD");
    /* a well-formed 4-channel decoder of width 8 loads */
    snprintf(p, sizeof p, "%s/small_decoder.safetensors", tmp);
    CHECK(write_decoder(p, 8, 4, NULL, NULL) == 0, "wrote a width-8 decoder");
    CHECK(sd_taesd_load(&t, p, SD_TAESD_LATENT_SD, &err) == SD_OK && t.width == 8,
          "a width-8 decoder loads (%s)", err.message);
    sd_taesd_free(&t);
    /* one conv missing */
    snprintf(p, sizeof p, "%s/broken_decoder.safetensors", tmp);
    CHECK(write_decoder(p, 8, 4, "14.conv.2.weight", NULL) == 0, "wrote a decoder missing a conv");
    expect_refused(p, SD_ERR_FORMAT, "14.conv.2.weight", "a decoder missing a conv");
    /* a bias where TAESD has none: another network */
    snprintf(p, sizeof p, "%s/other_decoder.safetensors", tmp);
    CHECK(write_decoder(p, 8, 4, NULL, "7.bias") == 0, "wrote a decoder with a bias too many");
    expect_refused(p, SD_ERR_FORMAT, "7.bias", "a decoder with a bias where TAESD has none");
    /* a Block with a 1x1 skip conv (in != out in taesd.py) */
    snprintf(p, sizeof p, "%s/skip_decoder.safetensors", tmp);
    CHECK(write_decoder(p, 8, 4, NULL, "3.skip.weight") == 0, "wrote a decoder with a skip conv");
    expect_refused(p, SD_ERR_FORMAT, "skip", "a Block with a skip conv");
    /* not a TAESD at all: the U-Net checkpoint */
    expect_refused(model_path, SD_ERR_FORMAT, "not a TAESD", "an SD checkpoint");
    snprintf(p, sizeof p, "%s/nothing-here", tmp);
    expect_refused(p, SD_ERR_IO, "", "a missing file");
    tensor_spec junk = {"weight", 1, {1, 1, 1, 1}};
    snprintf(p, sizeof p, "%s/junk.safetensors", tmp);
    CHECK(write_zeros(p, &junk, 1) == 0, "wrote an unrelated file");
    expect_refused(p, SD_ERR_FORMAT, "not a TAESD", "an unrelated safetensors file");
}

/* ---- jobs: draft VAE and previews ------------------------------------------------- */

typedef struct {
    int calls, cancel_at;
    int steps[16];
    int width, height;
    char source[16];
    int in_range;
} preview_log;

static int on_preview(void *user, const sd_preview *p)
{
    preview_log *l = user;
    if (l->calls < 16)
        l->steps[l->calls] = p->step;
    l->calls++;
    l->width = p->width;
    l->height = p->height;
    snprintf(l->source, sizeof l->source, "%s", p->source);
    for (int i = 0; i < p->width * p->height * 3; i++)
        if (!(p->rgb[i] >= 0.0f && p->rgb[i] <= 1.0f))
            l->in_range = 0;
    return l->cancel_at && p->step == l->cancel_at;
}

static float *test_image(int w, int h)
{
    float *img = malloc((size_t)w * h * 3 * sizeof *img);
    for (int i = 0; i < w * h * 3; i++)
        img[i] = 0.5f + 0.4f * sinf(0.37f * (float)i);
    return img;
}

static void test_jobs(void)
{
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(model_path, vocab_path, NULL, &m, &err) != SD_OK) {
        CHECK(0, "tiny model loads: %s", err.message);
        return;
    }
    const int w = 40, h = 24;
    float *img = test_image(w, h), *out = malloc((size_t)w * h * 3 * sizeof *out);
    sd_job job;
    sd_job_defaults(&job);
    job.width = w;
    job.height = h;
    job.image = img;
    job.prompt = "a fox";
    job.steps = 5;
    job.strength = 1.0;
    job.sampler = SD_SAMPLER_DPMPP_2M;   /* a sampler whose step gives no x0 */

    /* without a TAESD: the draft VAE is refused, latent->RGB previews work */
    job.draft_vae = 1;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "TAESD"),
          "draft VAE without a TAESD refused: %s", err.message);
    job.draft_vae = 0;
    CHECK(sd_model_taesd_halves(m) == 0, "no TAESD yet");
    preview_log log = {.in_range = 1};
    job.preview = on_preview;
    job.preview_user = &log;
    job.preview_every = 2;
    CHECK(sd_generate(m, &job, out, &err) == SD_OK, "run with latent previews (%s)", err.message);
    CHECK(log.calls == 3 && log.steps[0] == 2 && log.steps[1] == 4 && log.steps[2] == 5,
          "previews after steps 2, 4 and the last (5): %d calls", log.calls);
    CHECK(log.width == 5 && log.height == 3 && strcmp(log.source, "latent-rgb") == 0,
          "latent preview is %dx%d (%s), the latent's size", log.width, log.height, log.source);
    CHECK(log.in_range, "preview values in [0, 1]");
    job.preview_kind = SD_PREVIEW_TAESD;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG,
          "TAESD previews without a TAESD refused: %s", err.message);
    job.preview_kind = SD_PREVIEW_AUTO;

    /* with the decoder only: txt2img drafts, img2img drafts need the encoder */
    char p[2048];
    snprintf(p, sizeof p, "%s/alone", tmp);
    CHECK(sd_model_load_taesd(m, p, &err) == SD_OK && sd_model_taesd_halves(m) == 1,
          "decoder-only TAESD added (%s)", err.message);
    job.draft_vae = 1;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG && strstr(err.message, "encoder"),
          "draft img2img without the encoder refused: %s", err.message);
    job.mode = SD_MODE_TXT2IMG;
    job.image = NULL;
    log = (preview_log){.in_range = 1};
    CHECK(sd_generate(m, &job, out, &err) == SD_OK, "draft txt2img with TAESD previews (%s)",
          err.message);
    CHECK(log.calls == 3 && log.width == w && log.height == h && strcmp(log.source, "taesd") == 0,
          "TAESD preview at the job's size %dx%d (%s)", log.width, log.height, log.source);

    /* both halves; cancel from a preview stops the run */
    snprintf(p, sizeof p, "%s/tiny-taesd", dir_taesd);
    CHECK(sd_model_load_taesd(m, p, &err) == SD_OK && sd_model_taesd_halves(m) == 2,
          "full TAESD replaces it (%s)", err.message);
    job.mode = SD_MODE_IMG2IMG;
    job.image = img;
    job.strength = 0.8;
    job.sampler = SD_SAMPLER_EULER_ANCESTRAL;
    log = (preview_log){.in_range = 1, .cancel_at = 2};
    job.preview_every = 1;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_CANCELLED && log.calls == 2,
          "cancel from the preview at step 2: status %d, %d previews", (int)err.code, log.calls);
    job.preview = NULL;
    CHECK(sd_generate(m, &job, out, &err) == SD_OK, "draft img2img (%s)", err.message);
    job.draft_vae = 2;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG, "draft_vae 2 refused");
    job.draft_vae = 0;
    job.preview_every = -1;
    job.preview = on_preview;
    CHECK(sd_generate(m, &job, out, &err) == SD_ERR_INVALID_ARG, "preview_every -1 refused");
    free(img);
    free(out);
    sd_model_free(m);
}

/* Counts the pipeline's noise draws (a seeded generator underneath). */
typedef struct {
    sd_rng rng;
    int draws;
} counting_noise;

static sd_status draw_counted(void *user, float *out, size_t n, sd_error *err)
{
    (void)err;
    counting_noise *c = user;
    sd_rng_randn(&c->rng, out, n);
    c->draws++;
    return SD_OK;
}

/* TAESD's encode draws no noise (AutoencoderTiny has no posterior to sample): a draft
 * inpaint with the 4-channel U-Net draws the latent noise and the sampler's, not the two
 * VAE samples (image, masked image) the full VAE draws. */
static void test_draft_draws(void)
{
    sd_model *m = NULL;
    sd_error err = {0};
    char p[2048];
    snprintf(p, sizeof p, "%s/tiny-taesd", dir_taesd);
    if (sd_model_load(model_path, vocab_path, NULL, &m, &err) != SD_OK ||
        sd_model_load_taesd(m, p, &err) != SD_OK) {
        CHECK(0, "tiny model and TAESD load: %s", err.message);
        sd_model_free(m);
        return;
    }
    const int w = 32, h = 32;
    float *img = test_image(w, h), *mask = calloc((size_t)w * h, sizeof *mask);
    float *out = malloc((size_t)w * h * 3 * sizeof *out);
    for (int i = 0; i < w * h / 2; i++)
        mask[i] = 1.0f;
    sd_job job;
    sd_job_defaults(&job);
    job.mode = SD_MODE_INPAINT;
    job.width = w;
    job.height = h;
    job.image = img;
    job.mask = mask;
    job.prompt = "a fox";
    job.steps = 4;
    job.strength = 0.5;          /* 2 steps run */
    job.sampler = SD_SAMPLER_DDIM;   /* no per-step draws */
    for (int draft = 0; draft <= 1; draft++) {
        counting_noise c = {.draws = 0};
        sd_rng_init(&c.rng, SD_RNG_TORCH_CPU, 1);
        sd_noise_source noise = {draw_counted, &c};
        job.draft_vae = draft;
        sd_status st = sd_pipeline_run(m, &job, &noise, NULL, out, &err);
        CHECK(st == SD_OK && c.draws == (draft ? 1 : 3),
              "%s inpaint: %d noise draws (want %d): %s", draft ? "draft" : "full-VAE", c.draws,
              draft ? 1 : 3, st == SD_OK ? "ok" : err.message);
    }
    free(img);
    free(mask);
    free(out);
    sd_model_free(m);
}

static void test_helpers(void)
{
    /* x0 = (x - sqrt(1 - a) eps) / sqrt(a) */
    const float x[2] = {1.0f, -0.5f}, eps[2] = {0.2f, 0.4f};
    float x0[2];
    sd_x0_from_eps(x, eps, 2, 0.25f, x0);
    CHECK(fabsf(x0[0] - (1.0f - sqrtf(0.75f) * 0.2f) / 0.5f) < 1e-6f &&
          fabsf(x0[1] - (-0.5f - sqrtf(0.75f) * 0.4f) / 0.5f) < 1e-6f, "x0 from eps");
    /* x = sqrt(a) x0 + sqrt(1-a) eps and v = sqrt(a) eps - sqrt(1-a) x0 give x0 back */
    {
        const float a = 0.36f, x0_true = 0.7f, e = -1.3f;
        const float xt = sqrtf(a) * x0_true + sqrtf(1 - a) * e, v = sqrtf(a) * e - sqrtf(1 - a) * x0_true;
        float got_eps, got_v;
        sd_x0_from_eps(&xt, &e, 1, a, &got_eps);
        sd_x0_from_v(&xt, &v, 1, a, &got_v);
        CHECK(fabsf(got_eps - x0_true) < 1e-6f && fabsf(got_v - x0_true) < 1e-6f,
              "x0 from eps %g and from v %g (want %g)", (double)got_eps, (double)got_v,
              (double)x0_true);
    }
    /* a zero latent is mid-grey; channel 0 alone moves each colour by its factor */
    float lat[4] = {0, 0, 0, 0}, rgb[3];
    sd_preview_latent_rgb(lat, 1, 1, rgb);
    CHECK(rgb[0] == 0.5f && rgb[1] == 0.5f && rgb[2] == 0.5f, "zero latent -> grey");
    lat[0] = 1.0f;
    sd_preview_latent_rgb(lat, 1, 1, rgb);
    CHECK(fabsf(rgb[0] - (0.3512f + 1.0f) / 2.0f) < 1e-6f && fabsf(rgb[2] - (0.3227f + 1.0f) / 2.0f) < 1e-6f,
          "latent channel 0 -> ComfyUI's SD15 factors");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-taesd SHARED_DIR\n");
        return 2;
    }
    snprintf(dir_taesd, sizeof dir_taesd, "%s/golden-taesd", argv[1]);
    snprintf(model_path, sizeof model_path, "%s/golden/tiny-sd1.safetensors", argv[1]);
    snprintf(vocab_path, sizeof vocab_path, "%s/clip", argv[1]);
    if (access(dir_taesd, R_OK) != 0) {
        printf("SKIP: no %s (the TAESD fixtures)\n", dir_taesd);
        return CHECK_EXIT_SKIP;
    }
    snprintf(tmp, sizeof tmp, "/tmp/test-taesd-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_helpers();
    test_layouts();
    test_odd_sizes();
    test_refusals();
    test_jobs();
    test_draft_draws();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary();
}
