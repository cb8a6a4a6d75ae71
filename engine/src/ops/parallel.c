/* Fork-join for the ops' loops and GEMMs: one thread per extra worker, started per call.
 * An op at the sizes that go through here runs for milliseconds, so the ~50 µs start cost
 * does not show, and nothing lives between calls (no pool to own or tear down).
 *
 * OpenBLAS runs single-threaded inside our workers. Left multi-threaded, its idle threads
 * spin (sched_yield) for ~2^28 cycles after every GEMM, on the very cores our own loops
 * then need: measured on a 2-core machine, that spinning cost 11 % of a 512² job. With
 * the one set of workers below, exactly `ops_workers()` threads compute at any time. */
#include "ops/parallel.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    ops_range_fn fn;
    void *arg;
    int worker, begin, end;
} slice;

static void *run_slice(void *p)
{
    slice *s = p;
    s->fn(s->arg, s->worker, s->begin, s->end);
    return NULL;
}

void ops_parallel_for(int workers, int n, ops_range_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (workers > n)
        workers = n;
    if (workers > OPS_MAX_WORKERS)
        workers = OPS_MAX_WORKERS;
    if (workers <= 1) {
        fn(arg, 0, 0, n);
        return;
    }
    slice s[OPS_MAX_WORKERS];
    pthread_t tid[OPS_MAX_WORKERS];
    int started[OPS_MAX_WORKERS] = {0};
    for (int i = 0; i < workers; i++) {
        s[i] = (slice){fn, arg, i, (int)((long long)n * i / workers),
                       (int)((long long)n * (i + 1) / workers)};
    }
    for (int i = 1; i < workers; i++)
        started[i] = pthread_create(&tid[i], NULL, run_slice, &s[i]) == 0;
    run_slice(&s[0]);
    for (int i = 1; i < workers; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            run_slice(&s[i]);   /* no thread: the caller does this slice too */
    }
}

/* The worker count is process-wide, as OpenBLAS's thread count was: it describes the
 * machine's cores, not a job. The default is what OpenBLAS would have used (all cores, or
 * OPENBLAS_NUM_THREADS), read once before it is set to one thread. */
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int default_workers = 1;
static atomic_int workers_setting;   /* 0: the default */

static int clamp_workers(int n)
{
    return n < 1 ? 1 : n > OPS_MAX_WORKERS ? OPS_MAX_WORKERS : n;
}

static void take_over_threads(void)
{
    default_workers = clamp_workers(openblas_get_num_threads());
    openblas_set_num_threads(1);
}

void ops_set_threads(int threads)
{
    pthread_once(&threads_once, take_over_threads);
    atomic_store(&workers_setting, threads > 0 ? clamp_workers(threads) : 0);
}

int ops_workers(void)
{
    pthread_once(&threads_once, take_over_threads);
    int n = atomic_load(&workers_setting);
    return n > 0 ? n : default_workers;
}

/* ---- GEMM split over the workers ---------------------------------------------------- */

/* Below this many multiply-adds a GEMM runs on one worker: thread start and the repeated
 * packing of the shared operand would cost more than the split saves. */
#define GEMM_SPLIT_MIN_MACS ((size_t)1 << 22)
/* Slices of the split dimension are multiples of this (whole cache lines of C and B). */
#define GEMM_SPLIT_ALIGN 16

typedef struct {
    int trans_a, trans_b, m, n, k;
    float alpha, beta;
    const float *a, *b;
    int lda, ldb, ldc;
    float *c;
    int split_n;          /* slices are column ranges of C (else row ranges) */
    int slices;
} gemm_job;

static void gemm_slice(void *arg, int worker, int s0, int s1)
{
    const gemm_job *g = arg;
    (void)worker;
    const int extent = g->split_n ? g->n : g->m;
    const int per = (extent + g->slices - 1) / g->slices;
    const int rounded = (per + GEMM_SPLIT_ALIGN - 1) / GEMM_SPLIT_ALIGN * GEMM_SPLIT_ALIGN;
    int lo = s0 * rounded, hi = s1 * rounded;
    if (hi > extent)
        hi = extent;
    if (lo >= hi)
        return;
    const enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = g->trans_b ? CblasTrans : CblasNoTrans;
    if (g->split_n) {
        /* C[:, lo:hi] = A · B[:, lo:hi]: B's columns lo.. are its rows lo.. when transposed */
        const float *b = g->trans_b ? g->b + (size_t)lo * g->ldb : g->b + lo;
        cblas_sgemm(CblasRowMajor, ta, tb, g->m, hi - lo, g->k, g->alpha, g->a, g->lda, b,
                    g->ldb, g->beta, g->c + lo, g->ldc);
    } else {
        const float *a = g->trans_a ? g->a + lo : g->a + (size_t)lo * g->lda;
        cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, g->n, g->k, g->alpha, a, g->lda, g->b,
                    g->ldb, g->beta, g->c + (size_t)lo * g->ldc, g->ldc);
    }
}

void ops_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    gemm_job g = {trans_a, trans_b, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c,
                  .split_n = n >= m};
    const int extent = g.split_n ? n : m;
    int workers = (size_t)m * n * (size_t)(k > 0 ? k : 1) < GEMM_SPLIT_MIN_MACS ? 1
                                                                               : ops_workers();
    if (workers > extent / GEMM_SPLIT_ALIGN)
        workers = extent / GEMM_SPLIT_ALIGN;
    g.slices = workers < 1 ? 1 : workers;
    ops_parallel_for(g.slices, g.slices, gemm_slice, &g);
}

int ops_workers_for(size_t values)
{
    return values < OPS_PARALLEL_MIN ? 1 : ops_workers();
}

int ops_have_avx2(void)
{
#ifdef SD_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int ops_have_avx512(void)
{
#ifdef SD_HAVE_AVX512
    const char *off = getenv("SD_NO_AVX512");   /* the forced AVX2 fallback (parallel.h) */
    if (off && *off && strcmp(off, "0") != 0)
        return 0;
    __builtin_cpu_init();   /* libgcc also checks that the OS saves the zmm state */
    return ops_have_avx2() && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
