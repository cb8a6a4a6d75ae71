/* A LoRA through whole jobs (issue 15: the GIMP options scenario once gave the prompt's
 * <lora:…> other pixels than the same LoRA from the job's list).
 *
 * For each checkpoint (tiny SD 1 in fp32 and fp16) and each precision this CPU runs (fp32;
 * bf16 where it has the instructions), on 2 worker threads (and 1, fp32 checkpoint):
 * - a fresh model per job: the LoRA named in the prompt (<lora:lora_a_kohya:0.8> found in
 *   the LoRA folder) and the same file at 0.8 in sd_job.loras give the same pixels, bit for
 *   bit, and differ from no LoRA; repeated runs give the same pixels again;
 * - one model kept across a sequence of jobs (list, prompt, none, prompt, other weight,
 *   list, none, list): every job gives exactly the pixels of a fresh model for that job, so
 *   neither the merged copies nor the bf16 packing of the last job leak into the next
 *   (a set undone, merged again, packed again).
 * argv[1]: the shared folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sd.h"

#define W 64
#define H 48
#define PIXELS ((size_t)W * H * 3)
#define LORA_WEIGHT 0.8f

static char shared[1024], vocab[1100], lora_dir[1100], lora_file[1200];

typedef enum { NONE, LIST, PROMPT, OTHER_WEIGHT, KINDS } job_kind;
static const char *const kind_names[KINDS] = {"no LoRA", "LoRA in the job's list",
                                              "<lora:…> in the prompt", "LoRA at weight 0.5"};

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

/* One img2img job of the given kind on m into out; SD_OK or the engine's status. */
static sd_status run_job(sd_model *m, job_kind kind, const float *image, float *out,
                         sd_error *err)
{
    sd_lora list = {lora_file, kind == OTHER_WEIGHT ? 0.5f : LORA_WEIGHT};
    sd_job job;
    sd_job_defaults(&job);
    job.width = W;
    job.height = H;
    job.image = image;
    job.prompt = kind == PROMPT ? "a red barn <lora:lora_a_kohya:0.8>" : "a red barn";
    job.negative_prompt = "blurry";
    job.strength = 0.6f;
    job.steps = 3;
    job.cfg_scale = 7.5f;
    job.sampler = SD_SAMPLER_EULER;
    job.seed = 42;
    job.lora_dir = lora_dir;
    if (kind == LIST || kind == OTHER_WEIGHT) {
        job.loras = &list;
        job.n_loras = 1;
    }
    return sd_generate(m, &job, out, err);
}

static sd_model *load(const char *model, sd_precision precision)
{
    sd_model_options opts = {.precision = precision};
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(model, vocab, &opts, &m, &err) != SD_OK) {
        CHECK(0, "load %s (%s): %s", model, sd_precision_name(precision), err.message);
        return NULL;
    }
    return m;
}

/* Each kind on a fresh model, twice: fresh[kind]. 0 on failure. */
static int fresh_outputs(const char *model, sd_precision precision, const float *image,
                         float *fresh[KINDS], const char *what)
{
    for (int k = 0; k < KINDS; k++)
        for (int rep = 0; rep < 2; rep++) {
            sd_model *m = load(model, precision);
            if (!m)
                return 0;
            float *out = rep == 0 ? fresh[k] : malloc(PIXELS * sizeof *out);
            sd_error err = {0};
            sd_status st = out ? run_job(m, (job_kind)k, image, out, &err) : SD_ERR_NOMEM;
            sd_model_free(m);
            if (st != SD_OK) {
                CHECK(0, "%s, %s: %s", what, kind_names[k], err.message);
                if (rep)
                    free(out);
                return 0;
            }
            if (rep) {
                CHECK(memcmp(out, fresh[k], PIXELS * sizeof *out) == 0,
                      "%s, %s: a second fresh run gives the same pixels", what, kind_names[k]);
                free(out);
            }
        }
    return 1;
}

static void test_model(const char *model_rel, sd_precision precision, int threads)
{
    char model[1200], what[1400];
    snprintf(model, sizeof model, "%s/%s", shared, model_rel);
    snprintf(what, sizeof what, "%s, %s, %d thread%s", model_rel, sd_precision_name(precision),
             threads, threads > 1 ? "s" : "");
    sd_error err = {0};
    CHECK(sd_set_threads(threads, &err) == SD_OK, "threads %d: %s", threads, err.message);
    float *image = test_image(), *fresh[KINDS] = {NULL}, *out = malloc(PIXELS * sizeof *out);
    int ok = image && out;
    for (int k = 0; k < KINDS; k++)
        ok &= (fresh[k] = malloc(PIXELS * sizeof *fresh[k])) != NULL;
    if (ok && fresh_outputs(model, precision, image, fresh, what)) {
        CHECK(memcmp(fresh[LIST], fresh[PROMPT], PIXELS * sizeof *out) == 0,
              "%s: <lora:lora_a_kohya:0.8> in the prompt gives exactly the pixels of the "
              "file at 0.8 in the job's list", what);
        CHECK(memcmp(fresh[LIST], fresh[NONE], PIXELS * sizeof *out) != 0 &&
                  memcmp(fresh[LIST], fresh[OTHER_WEIGHT], PIXELS * sizeof *out) != 0,
              "%s: the LoRA changes the pixels, and its weight matters", what);
        /* one model kept across jobs: sets merged, undone, merged again */
        static const job_kind sequence[] = {LIST, PROMPT, NONE, PROMPT, OTHER_WEIGHT,
                                            LIST, NONE, LIST};
        sd_model *m = load(model, precision);
        for (size_t i = 0; m && i < sizeof sequence / sizeof *sequence; i++) {
            const job_kind k = sequence[i];
            sd_status st = run_job(m, k, image, out, &err);
            CHECK(st == SD_OK && memcmp(out, fresh[k], PIXELS * sizeof *out) == 0,
                  "%s, kept model, job %zu (%s): the pixels of a fresh model%s%s", what, i + 1,
                  kind_names[k], st == SD_OK ? "" : ": ", st == SD_OK ? "" : err.message);
        }
        sd_model_free(m);
    }
    for (int k = 0; k < KINDS; k++)
        free(fresh[k]);
    free(image);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-lora-jobs SHARED_DIR\n");
        return 2;
    }
    snprintf(shared, sizeof shared, "%s", argv[1]);
    snprintf(vocab, sizeof vocab, "%s/clip", shared);
    snprintf(lora_dir, sizeof lora_dir, "%s/golden-lora", shared);
    snprintf(lora_file, sizeof lora_file, "%s/lora_a_kohya.safetensors", lora_dir);
    check_require_fixtures(shared, "golden/tiny-sd1.safetensors",
                           "golden/tiny-sd1-fp16.safetensors",
                           "golden-lora/lora_a_kohya.safetensors", "clip", NULL);
    /* bf16 where this CPU runs it (auto resolves to it there), else fp32 only */
    char model[1200];
    snprintf(model, sizeof model, "%s/golden/tiny-sd1.safetensors", shared);
    sd_model *probe = load(model, SD_PRECISION_AUTO);
    sd_model_info info = {0};
    if (probe)
        sd_model_get_info(probe, &info);
    sd_model_free(probe);
    const int have_bf16 = info.precision == SD_PRECISION_BF16;
    if (!have_bf16)
        printf("note: no bf16 instructions on this CPU: fp32 only\n");
    static const char *const models[] = {"golden/tiny-sd1.safetensors",
                                          "golden/tiny-sd1-fp16.safetensors"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        for (int p = 0; p < 1 + have_bf16; p++)
            for (int threads = 2; threads >= (i == 0 ? 1 : 2); threads--)   /* fp16: 2 only */
                test_model(models[i], p ? SD_PRECISION_BF16 : SD_PRECISION_FP32, threads);
    return check_summary();
}
