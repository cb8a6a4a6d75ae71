/* Issue 17's fallback: on a CPU without bf16 matrix instructions — forced here with
 * SD_NO_BF16=1, as meson's precision-fallback-nobf16 does — the default precision (auto)
 * runs the fp32 path, with results identical bit for bit to asking for fp32, and asking for
 * bf16 is refused with the reason. Without SD_NO_BF16 on a CPU that has bf16, auto runs
 * bf16: the output must then differ from fp32's (the bf16 path really ran) and stay close
 * to it. A whole img2img job on the tiny SD 1 model, every layer the precision reaches
 * (U-Net, VAE decoder). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sd.h"

#define W 64
#define H 48
#define PIXELS ((size_t)W * H * 3)
/* bf16 against fp32 on this job: pixels in [0, 1]; bf16's 2^-9 rounding amplified through
 * three U-Net steps and the decoder stays under this (measured 0.049 on this job). */
#define BF16_MAX_PIXEL_DIFF 0.1

static char vocab[1100], model[1200];

static float *test_image(void)
{
    float *img = malloc(PIXELS * sizeof *img);
    for (int y = 0; img && y < H; y++)
        for (int x = 0; x < W; x++) {
            float *p = img + ((size_t)y * W + x) * 3;
            p[0] = (float)x / W;
            p[1] = (float)y / H;
            p[2] = (float)((x * 7 + y * 3) % 17) / 17.0f;
        }
    return img;
}

/* Loads the model at `precision`, runs the job into out; 0, or -1 with the load's or the
 * job's error in err (and *info what ran). */
static int run(sd_precision precision, const float *image, float *out, sd_model_info *info,
               sd_error *err)
{
    sd_model_options opts = {.precision = precision};
    sd_model *m = NULL;
    if (sd_model_load(model, vocab, &opts, &m, err) != SD_OK)
        return -1;
    sd_model_get_info(m, info);
    sd_job job;
    sd_job_defaults(&job);
    job.width = W;
    job.height = H;
    job.image = image;
    job.prompt = "a red barn";
    job.negative_prompt = "blurry";
    job.strength = 0.6f;
    job.steps = 5;   /* 3 run */
    job.cfg_scale = 7.5f;
    job.sampler = SD_SAMPLER_EULER;
    job.seed = 42;
    const sd_status st = sd_generate(m, &job, out, err);
    sd_model_free(m);
    return st == SD_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-precision-fallback SHARED_DIR\n");
        return 2;
    }
    snprintf(vocab, sizeof vocab, "%s/clip", argv[1]);
    snprintf(model, sizeof model, "%s/golden/tiny-sd1.safetensors", argv[1]);
    check_require_fixtures(argv[1], "golden/tiny-sd1.safetensors", "clip", NULL);
    const char *off = getenv("SD_NO_BF16");
    const int forced_off = off && *off && strcmp(off, "0") != 0;

    float *image = test_image(), *fp32 = malloc(PIXELS * sizeof *fp32),
          *autop = malloc(PIXELS * sizeof *autop);
    if (!image || !fp32 || !autop) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    sd_model_info info32 = {0}, info_auto = {0};
    sd_error err = {0};
    CHECK(run(SD_PRECISION_FP32, image, fp32, &info32, &err) == 0, "fp32 job: %s", err.message);
    CHECK(info32.precision == SD_PRECISION_FP32 && strcmp(info32.bf16_kernel, "none") == 0,
          "fp32 asked for, %s (%s) ran", sd_precision_name(info32.precision), info32.bf16_kernel);
    CHECK(run(SD_PRECISION_AUTO, image, autop, &info_auto, &err) == 0, "auto job: %s",
          err.message);
    const int auto_bf16 = info_auto.precision == SD_PRECISION_BF16;
    printf("auto runs %s (kernel %s)%s\n", sd_precision_name(info_auto.precision),
           info_auto.bf16_kernel, forced_off ? " with SD_NO_BF16 set" : "");
    if (forced_off)
        CHECK(!auto_bf16 && strcmp(info_auto.bf16_kernel, "none") == 0,
              "SD_NO_BF16 set, yet auto ran %s (%s)", sd_precision_name(info_auto.precision),
              info_auto.bf16_kernel);
    if (!auto_bf16) {
        CHECK(memcmp(fp32, autop, PIXELS * sizeof *fp32) == 0,
              "auto without bf16 is not the fp32 path bit for bit");
        sd_model_info info16 = {0};
        sd_error e16 = {0};
        CHECK(run(SD_PRECISION_BF16, image, autop, &info16, &e16) != 0 &&
                  strstr(e16.message, "bf16") && strstr(e16.message, "fp32"),
              "bf16 asked for without bf16 instructions: not refused with the reason (%s)",
              e16.message);
    } else {
        double diff = 0.0;
        for (size_t i = 0; i < PIXELS; i++) {
            const double d = fabs((double)autop[i] - fp32[i]);
            diff = d > diff || isnan(d) ? (isnan(d) ? INFINITY : d) : diff;
        }
        printf("auto (bf16) against fp32: max pixel difference %.4f\n", diff);
        CHECK(diff > 0.0, "auto ran bf16 (%s) yet the pixels equal fp32's bit for bit",
              info_auto.bf16_kernel);
        CHECK(diff < BF16_MAX_PIXEL_DIFF, "bf16 pixels %.4f from fp32's (bound %.2f)", diff,
              BF16_MAX_PIXEL_DIFF);
    }
    free(image), free(fp32), free(autop);
    return check_summary();
}
