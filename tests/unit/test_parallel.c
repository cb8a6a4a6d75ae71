/* The worker pool (ops/parallel.c) and the determinism it promises: every index of a loop
 * run exactly once, `worker` within [0, workers) and never shared by two chunks at once,
 * nested and concurrent calls; then the ops (GEMMs by both kernels, convolutions by
 * Winograd and im2col, attention, the norms) give bit-identical outputs with 1, 2 and 3
 * workers and with one worker slowed down (ops_parallel_slow_worker), the way a worker
 * sharing its core with another process runs: fewer chunks for it, other chunk starts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "naive_ops.h"
#include "ops/ops.h"
#include "ops/ops_bf16.h"
#include "ops/parallel.h"

/* ---- the pool itself ------------------------------------------------------------------ */

#define MAX_N 5000

typedef struct {
    int workers;
    atomic_int visits[MAX_N];
    atomic_int busy[OPS_MAX_WORKERS];   /* chunks running per worker index */
    atomic_int bad_worker, overlap, nested_bad;
    int nest;                           /* run a nested loop inside each chunk */
} cover;

static void count_inner(void *arg, int worker, int begin, int end)
{
    atomic_int *sum = arg;
    (void)worker;
    atomic_fetch_add(sum, end - begin);
}

static void visit(void *arg, int worker, int begin, int end)
{
    cover *c = arg;
    if (worker < 0 || worker >= c->workers) {
        atomic_fetch_add(&c->bad_worker, 1);
        return;
    }
    if (atomic_fetch_add(&c->busy[worker], 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    for (int i = begin; i < end; i++)
        atomic_fetch_add(&c->visits[i], 1);
    if (c->nest) {   /* a callback's own loop: runs on this thread, all of it */
        atomic_int sum = 0;
        ops_parallel_for(c->workers, 37, count_inner, &sum);
        if (atomic_load(&sum) != 37)
            atomic_fetch_add(&c->nested_bad, 1);
    }
    atomic_fetch_sub(&c->busy[worker], 1);
}

/* 1 when every index of [0, n) was visited once and nothing else went wrong. */
static int run_cover(cover *c, int workers, int n, int nest)
{
    memset(c, 0, sizeof *c);
    c->workers = workers;
    c->nest = nest;
    ops_parallel_for(workers, n, visit, c);
    for (int i = 0; i < n; i++)
        if (atomic_load(&c->visits[i]) != 1)
            return 0;
    return !atomic_load(&c->bad_worker) && !atomic_load(&c->overlap) &&
           !atomic_load(&c->nested_bad);
}

static void *cover_thread(void *arg)
{
    cover *c = arg;
    int ok = 1;
    for (int round = 0; round < 50; round++)
        ok &= run_cover(c, 3, 1000 + round, 0);
    return (void *)(intptr_t)ok;
}

static void test_pool(void)
{
    static cover c, c2;
    const int sizes[] = {1, 2, 3, 7, 16, 100, 999, MAX_N};
    for (int workers = 1; workers <= 5; workers++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            CHECK(run_cover(&c, workers, sizes[s], 0),
                  "%d workers over %d indices: each once, worker indices in range, none shared",
                  workers, sizes[s]);
    CHECK(run_cover(&c, 3, 200, 1), "a loop inside a chunk runs whole on its thread");
    ops_parallel_slow_worker(1, 300);
    CHECK(run_cover(&c, 3, 500, 0), "with worker 1 slowed: each index once");
    ops_parallel_slow_worker(-1, 0);
    /* two threads running loops at once: one has the pool, the other runs alone */
    pthread_t tid;
    int ok = pthread_create(&tid, NULL, cover_thread, &c2) == 0;
    void *other = NULL;
    const int mine = ok ? (intptr_t)cover_thread(&c) : 0;
    if (ok)
        pthread_join(tid, &other);
    CHECK(ok && mine && other, "two threads' loops at once: each index once in both");
}

/* ---- the ops, bit for bit -------------------------------------------------------------- */

enum { MAX_OUTPUTS = 16 };

typedef struct {
    float *out[MAX_OUTPUTS];
    size_t len[MAX_OUTPUTS];
    const char *name[MAX_OUTPUTS];
    int count;
} outputs;

static float *new_output(outputs *o, const char *name, size_t n)
{
    o->name[o->count] = name;
    o->len[o->count] = n;
    o->out[o->count] = xmalloc(n * sizeof(float));
    return o->out[o->count++];
}

static void free_outputs(outputs *o)
{
    for (int i = 0; i < o->count; i++)
        free(o->out[i]);
    memset(o, 0, sizeof *o);
}

/* The inputs, the same for every run. */
typedef struct {
    float *x;            /* [2, 128, 32, 32] images, or tokens [2048, 128] */
    float *w3;           /* [64, 128, 3, 3] */
    float *w1;           /* [64, 64] and more */
    float *wl;           /* [640, 320] */
    float *bias;         /* [640] */
    float *gamma, *beta; /* [128] */
    uint16_t *w3_bf16, *w3s_bf16, *wl_bf16, *wg_bf16, *wr_bf16;
} inputs;

#define IMG_N 2
#define IMG_C 128
#define IMG_HW 32
#define TOKENS 1024   /* attention's queries and keys */
#define HEADS 2
#define HEAD_D 40

static void make_inputs(inputs *in, rng *r, ops_bf16_isa isa)
{
    in->x = rand_floats(r, (size_t)IMG_N * IMG_C * IMG_HW * IMG_HW, 1.0f);
    in->w3 = rand_floats(r, (size_t)64 * IMG_C * 9, 0.1f);
    in->w1 = rand_floats(r, (size_t)IMG_C * IMG_C, 0.1f);
    in->wl = rand_floats(r, (size_t)640 * 320, 0.1f);
    in->bias = rand_floats(r, 640, 1.0f);
    in->gamma = rand_floats(r, IMG_C, 1.0f);
    in->beta = rand_floats(r, IMG_C, 1.0f);
    if (isa == OPS_BF16_NONE)
        return;
    in->w3_bf16 = xmalloc(ops_bf16_conv_weight_size(64, IMG_C, 3, 3) * sizeof(uint16_t));
    ops_bf16_pack_conv_weight(in->w3, 64, IMG_C, 3, 3, in->w3_bf16);
    in->w3s_bf16 = xmalloc(ops_bf16_conv_weight_size(64, 64, 3, 3) * sizeof(uint16_t));
    ops_bf16_pack_conv_weight(in->w3, 64, 64, 3, 3, in->w3s_bf16);
    in->wl_bf16 = xmalloc(ops_bf16_linear_weight_size(320, 640) * sizeof(uint16_t));
    ops_bf16_pack_linear_weight(in->wl, 320, 640, in->wl_bf16);
    in->wg_bf16 = xmalloc(ops_bf16_linear_weight_size(160, 320) * sizeof(uint16_t));
    ops_bf16_pack_linear_weight(in->wl, 160, 320, in->wg_bf16);
    in->wr_bf16 = xmalloc(ops_bf16_linear_weight_size(IMG_C, 96) * sizeof(uint16_t));
    ops_bf16_pack_linear_weight(in->wl, IMG_C, 96, in->wr_bf16);
}

static void free_inputs(inputs *in)
{
    free(in->x), free(in->w3), free(in->w1), free(in->wl), free(in->bias);
    free(in->gamma), free(in->beta);
    free(in->w3_bf16), free(in->w3s_bf16), free(in->wl_bf16), free(in->wg_bf16);
    free(in->wr_bf16);
}

/* Every op once, each above the size where it splits, into new outputs. */
static void run_ops(const inputs *in, ops_bf16_isa isa, sd_arena *a, outputs *o)
{
    const size_t img = (size_t)IMG_N * IMG_C * IMG_HW * IMG_HW;
    const sd_conv_params p3 = op_conv_params(3, 1, 1), p1 = op_conv_params(1, 1, 0);
    int rc = 0;
    /* fp32: Winograd (3x3 on 32²), the 1x1 GEMM (split by columns), linear layers (split
     * by columns and by rows), attention, the norms, GEGLU */
    rc |= op_conv2d(a, in->x, IMG_N, IMG_C, IMG_HW, IMG_HW, in->w3, in->bias, 64, &p3,
                    new_output(o, "conv3x3 winograd", (size_t)IMG_N * 64 * IMG_HW * IMG_HW));
    rc |= op_conv2d(a, in->x, IMG_N, 64, 2 * IMG_HW, IMG_HW, in->w1, NULL, 64, &p1,
                    new_output(o, "conv1x1", img));   /* [2, 64, 64, 32] both */
    op_linear(in->x, 512, 320, in->wl, in->bias, 640, new_output(o, "linear", 512 * 640));
    /* x [512, 320] by rows, 800 for the bf16 ones: x holds 2 · 128 · 32² = 262144 values */
    op_linear(in->x, 4096, 64, in->wl, NULL, 320, new_output(o, "linear rows", 4096 * 320));
    rc |= op_attention(a, in->x, HEADS * HEAD_D, in->x + 7, in->x + 13, HEADS * HEAD_D, TOKENS,
                       TOKENS, HEADS, HEAD_D, 0,
                       new_output(o, "attention", (size_t)TOKENS * HEADS * HEAD_D));
    op_group_norm(in->x, IMG_N, IMG_C, IMG_HW * IMG_HW, 32, 1e-5f, in->gamma, in->beta, 1,
                  new_output(o, "group norm", img));
    op_layer_norm(in->x, 2048, IMG_C, 1e-5f, in->gamma, in->beta,
                  new_output(o, "layer norm", (size_t)2048 * IMG_C));
    op_geglu(in->x, 1024, 128, new_output(o, "geglu", (size_t)1024 * 128));
    op_transpose(in->x, 500, 520, new_output(o, "transpose", (size_t)500 * 520));
    float *sum = new_output(o, "add, channel bias", img);
    op_add(in->x, in->x + 3, sum, img - 3);
    sum[img - 3] = sum[img - 2] = sum[img - 1] = 0.0f;
    op_add_channel_bias(sum, in->bias, IMG_N, IMG_C, IMG_HW * IMG_HW);
    if (isa != OPS_BF16_NONE) {
        rc |= op_conv2d_bf16(a, isa, in->x, IMG_N, IMG_C, IMG_HW, IMG_HW, in->w3_bf16, in->bias,
                             64, &p3,
                             new_output(o, "bf16 conv3x3 winograd",
                                        (size_t)IMG_N * 64 * IMG_HW * IMG_HW));
        rc |= op_conv2d_bf16(a, isa, in->x, IMG_N, 64, IMG_HW, IMG_HW, in->w3s_bf16, NULL, 64,
                             &p3,
                             new_output(o, "bf16 conv3x3 im2col",
                                        (size_t)IMG_N * 64 * IMG_HW * IMG_HW));
        rc |= op_linear_bf16(a, isa, in->x, 800, 320, in->wl_bf16, in->bias, 640,
                             new_output(o, "bf16 linear", 800 * 640));
        rc |= op_linear_bf16(a, isa, in->x, 2048, IMG_C, in->wr_bf16, NULL, 96,
                             new_output(o, "bf16 linear rows", (size_t)2048 * 96));
        rc |= op_geglu_linear_bf16(a, isa, in->x, 800, 160, in->wg_bf16, in->bias, 320,
                                   new_output(o, "bf16 geglu linear", (size_t)800 * 320));
        rc |= op_attention_bf16(a, isa, in->x, HEADS * HEAD_D, in->x + 7, in->x + 13,
                                HEADS * HEAD_D, TOKENS, TOKENS, HEADS, HEAD_D, 0,
                                new_output(o, "bf16 attention", (size_t)TOKENS * HEADS * HEAD_D));
    }
    CHECK(rc == 0, "the ops ran (rc %d)", rc);
}

static void compare(const outputs *ref, const outputs *o, const char *how)
{
    CHECK(o->count == ref->count, "%s: as many outputs", how);
    for (int i = 0; i < o->count && i < ref->count; i++)
        CHECK(memcmp(o->out[i], ref->out[i], o->len[i] * sizeof(float)) == 0,
              "%s: %s bit-identical to 1 worker", how, o->name[i]);
}

static void test_ops(rng *r)
{
    const ops_bf16_isa isa = ops_bf16_best();
    if (isa == OPS_BF16_NONE)
        printf("SKIP bf16 ops: this CPU (or SD_NO_BF16) runs no bf16 kernel; fp32 only\n");
    inputs in = {0};
    make_inputs(&in, r, isa);
    sd_arena a;
    sd_arena_init(&a, 0);
    outputs ref = {0}, o = {0};
    ops_set_threads(1);
    run_ops(&in, isa, &a, &ref);
    const struct {
        int workers, slow_worker, usec;
        const char *how;
    } runs[] = {
        {2, -1, 0, "2 workers"},
        {3, -1, 0, "3 workers"},
        {3, 1, 400, "3 workers, worker 1 slowed"},
        {2, 0, 400, "2 workers, the calling worker slowed"},
        {2, 1, 3000, "2 workers, worker 1 much slower"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        ops_set_threads(runs[i].workers);
        ops_parallel_slow_worker(runs[i].slow_worker, runs[i].usec);
        run_ops(&in, isa, &a, &o);
        ops_parallel_slow_worker(-1, 0);
        compare(&ref, &o, runs[i].how);
        free_outputs(&o);
    }
    ops_set_threads(0);
    free_outputs(&ref);
    sd_arena_free(&a);
    free_inputs(&in);
}

int main(void)
{
    rng r = {0x2545F4914F6CDD1Dull};
    test_pool();
    test_ops(&r);
    return check_summary();
}
