/* Two model contexts used from two threads at once (sd.h: "separate contexts may run
 * concurrently in separate threads"): each job must give exactly the image it gives
 * when run alone. Run under ThreadSanitizer by tests/tsan.sh; a plain build checks
 * the results only. argv[1] = the shared folder (golden/tiny-sd1.safetensors, clip/). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sd.h"

#define ROUNDS 2

typedef struct {
    sd_model *model;
    sd_job job;
    float *out;
    size_t n;            /* floats in out */
    sd_status status;
    sd_error err;
    int progress_calls;  /* touched only by the job's own thread */
} task;

static int count_progress(void *user, sd_phase phase, int step, int total)
{
    (void)phase;
    (void)step;
    (void)total;
    ((task *)user)->progress_calls++;
    return 0;
}

static void *run_task(void *arg)
{
    task *t = arg;
    t->status = sd_generate(t->model, &t->job, t->out, &t->err);
    return NULL;
}

/* A smooth test picture with some detail, R'G'B' in [0, 1]. */
static float *test_image(int w, int h)
{
    float *img = malloc((size_t)w * h * 3 * sizeof *img);
    if (!img)
        return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = img + ((size_t)y * w + x) * 3;
            p[0] = (float)x / (float)w;
            p[1] = (float)y / (float)h;
            p[2] = (float)((x / 8 + y / 8) % 2) * 0.5f + 0.25f;
        }
    return img;
}

static int task_init(task *t, sd_model *m, int w, int h)
{
    memset(t, 0, sizeof *t);
    t->model = m;
    sd_job_defaults(&t->job);
    t->job.width = w;
    t->job.height = h;
    t->job.progress = count_progress;
    t->job.progress_user = t;
    t->n = (size_t)w * h * 3;
    t->out = malloc(t->n * sizeof *t->out);
    return t->out != NULL;
}

static void count_diff(const float *a, const float *b, size_t n, size_t *ndiff, float *maxd)
{
    *ndiff = 0;
    *maxd = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) {
            float d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            (*ndiff)++;
            if (d > *maxd)
                *maxd = d;
        }
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    check_require_fixtures(shared, "golden/tiny-sd1.safetensors", "clip", (const char *)NULL);
    char model_path[1024], vocab_path[1024];
    snprintf(model_path, sizeof model_path, "%s/golden/tiny-sd1.safetensors", shared);
    snprintf(vocab_path, sizeof vocab_path, "%s/clip", shared);

    sd_model *m[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        sd_error err = {0};
        sd_status st = sd_model_load(model_path, vocab_path, NULL, &m[i], &err);
        CHECK(st == SD_OK, "load context %d: %s", i, err.message);
        if (st != SD_OK)
            return check_summary();
    }

    /* Two different jobs, so a context reading the other's state would show. */
    task t[2], ref[2];
    float *img = test_image(64, 48);
    int ok = img && task_init(&t[0], m[0], 64, 48) && task_init(&t[1], m[1], 40, 56) &&
             task_init(&ref[0], m[0], 64, 48) && task_init(&ref[1], m[1], 40, 56);
    CHECK(ok, "allocations");
    if (!ok)
        return check_summary();
    for (int k = 0; k < 2; k++) {
        task *x[2] = {&t[k], &ref[k]};
        for (int j = 0; j < 2; j++) {
            sd_job *job = &x[j]->job;
            if (k == 0) {
                job->mode = SD_MODE_IMG2IMG;
                job->image = img;
                job->prompt = "a watercolour of a lighthouse";
                job->negative_prompt = "blurry";
                job->strength = 0.8;
                job->steps = 4;
                job->sampler = SD_SAMPLER_EULER_ANCESTRAL;
                job->seed = 1234;
            } else {
                job->mode = SD_MODE_TXT2IMG;
                job->prompt = "a red fox in the snow, photograph";
                job->steps = 3;
                job->sampler = SD_SAMPLER_DPMPP_2M;
                job->seed = 99;
                job->rng = SD_RNG_PHILOX;
            }
        }
    }

    /* Alone, one after the other. */
    for (int k = 0; k < 2; k++) {
        run_task(&ref[k]);
        CHECK(ref[k].status == SD_OK, "job %d alone: %s", k, ref[k].err.message);
    }

    for (int round = 0; round < ROUNDS; round++) {
        pthread_t th[2];
        int started[2];
        for (int k = 0; k < 2; k++) {
            memset(t[k].out, 0, t[k].n * sizeof *t[k].out);
            t[k].progress_calls = 0;
            started[k] = pthread_create(&th[k], NULL, run_task, &t[k]) == 0;
            CHECK(started[k], "round %d: start thread %d", round, k);
        }
        for (int k = 0; k < 2; k++)
            if (started[k])
                pthread_join(th[k], NULL);
        for (int k = 0; k < 2; k++) {
            if (!started[k])
                continue;
            CHECK(t[k].status == SD_OK, "round %d: job %d concurrently: %s", round, k,
                  t[k].err.message);
            size_t ndiff;
            float maxd;
            count_diff(t[k].out, ref[k].out, t[k].n, &ndiff, &maxd);
            CHECK(ndiff == 0, "round %d: job %d concurrently equals job %d alone "
                  "(%zu of %zu values differ, max %g)", round, k, k, ndiff, t[k].n, maxd);
            CHECK(t[k].progress_calls == ref[k].progress_calls,
                  "round %d: job %d reports its own progress (%d calls, alone %d)", round, k,
                  t[k].progress_calls, ref[k].progress_calls);
        }
    }

    for (int k = 0; k < 2; k++) {
        free(t[k].out);
        free(ref[k].out);
        sd_model_free(m[k]);
    }
    free(img);
    return check_summary();
}
