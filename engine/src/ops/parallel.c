/* The ops' loops and GEMMs on a pool of worker threads, with dynamic scheduling.
 *
 * The pool is process-wide (like the cores it runs on): its threads are started on the
 * first ops_parallel_for that asks for them (more when a later call asks for more
 * workers), live until the process exits, are detached and never joined, and sleep on a
 * condition variable between jobs after a short bounded spin (POOL_SPIN_NS): the plug-in
 * runs inside GIMP and the cores are shared, so an idle pool must cost nothing.
 *
 * One job at a time: [0, n) is cut into chunks of `grain` indices, taken in turn from an
 * atomic counter by the caller (worker 0) and by the helpers that join, so a worker that
 * runs slower (another process on its core) just takes fewer chunks, and a helper that
 * wakes late finds the job done. A call made while the pool is busy (a callback's own
 * nested call, or a second thread running a job) runs its whole loop on the calling
 * thread; results never depend on that (ops_parallel_for's contract, parallel.h).
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
#include <stdint.h>
#include <time.h>

/* How long a worker polls for the next job (or the caller for the last helper) before it
 * sleeps: the ops' loops follow each other within microseconds during a U-Net step, and a
 * futex wake-up costs about as much as a short loop. (A build may set it: -DPOOL_SPIN_NS=0
 * for the comparison in the closing note.) */
#ifndef POOL_SPIN_NS
#define POOL_SPIN_NS 50000
#endif
/* Chunks per worker of a loop: enough that a worker slowed by another process hands most
 * of its share to the others, few enough that taking one (an atomic add) stays free. */
#define POOL_CHUNKS_PER_WORKER 8

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* helpers wait here for a job */
    pthread_cond_t idle;    /* the caller waits here for the helpers to leave the job */
    int threads;            /* helpers started: only grows */
    unsigned job;           /* the current job's number */
    atomic_uint posted;     /* = job, for the helpers that poll without the lock */
    atomic_int active;      /* helpers inside the current job */
    int seats;              /* worker indices still to hand out (0: the job is closed) */
    int workers;            /* the job's workers: helpers take indices workers - seats */
    ops_range_fn fn;
    void *arg;
    int n, grain;
    atomic_int next;        /* the next chunk's first index */
    atomic_int owned;       /* 1 while a caller runs a job on the pool */
} pool;

static pool the_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER,
};

/* The test hook (parallel.h): a worker index that sleeps before each chunk it takes. */
static atomic_int slow_worker = -1;
static atomic_int slow_usec;

void ops_parallel_slow_worker(int worker, int usec)
{
    atomic_store(&slow_usec, usec);
    atomic_store(&slow_worker, worker);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Polls until a job after `seen` is posted or POOL_SPIN_NS have passed. */
static void spin_for_job(pool *p, unsigned seen)
{
    const long long end = now_ns() + POOL_SPIN_NS;
    for (int i = 1; atomic_load_explicit(&p->posted, memory_order_relaxed) == seen; i++) {
        if (i % 64 == 0 && now_ns() > end)
            return;
        cpu_relax();
    }
}

/* Polls until no helper is inside the job or POOL_SPIN_NS have passed. */
static void spin_for_idle(pool *p)
{
    const long long end = now_ns() + POOL_SPIN_NS;
    for (int i = 1; atomic_load_explicit(&p->active, memory_order_relaxed) > 0; i++) {
        if (i % 64 == 0 && now_ns() > end)
            return;
        cpu_relax();
    }
}

/* Takes chunks of the job until none is left. */
static void run_chunks(pool *p, ops_range_fn fn, void *arg, int n, int grain, int worker)
{
    for (;;) {
        const int begin = atomic_fetch_add_explicit(&p->next, grain, memory_order_relaxed);
        if (begin >= n)
            return;
        if (atomic_load_explicit(&slow_worker, memory_order_relaxed) == worker) {
            const long usec = atomic_load_explicit(&slow_usec, memory_order_relaxed);
            nanosleep(&(struct timespec){usec / 1000000, usec % 1000000 * 1000}, NULL);
        }
        fn(arg, worker, begin, n - begin < grain ? n : begin + grain);
    }
}

static void *helper_main(void *param)
{
    pool *p = &the_pool;
    unsigned seen = (unsigned)(uintptr_t)param;   /* the job when it was started */
    int spin = 1;   /* 0 after a job without a seat: a helper beyond the workers sleeps */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->job == seen) {
            if (spin) {
                pthread_mutex_unlock(&p->lock);
                spin_for_job(p, seen);
                pthread_mutex_lock(&p->lock);
            }
            while (p->job == seen)
                pthread_cond_wait(&p->wake, &p->lock);
        }
        seen = p->job;
        spin = p->seats > 0;
        if (!spin)   /* full, or over before this helper woke */
            continue;
        const int worker = p->workers - p->seats--;
        atomic_fetch_add(&p->active, 1);
        ops_range_fn fn = p->fn;
        void *arg = p->arg;
        const int n = p->n, grain = p->grain;
        pthread_mutex_unlock(&p->lock);
        run_chunks(p, fn, arg, n, grain, worker);
        pthread_mutex_lock(&p->lock);
        if (atomic_fetch_sub(&p->active, 1) == 1)
            pthread_cond_signal(&p->idle);
    }
    return NULL;
}

/* Starts helpers until there are `want` (under the lock); fewer where the system refuses
 * a thread: their share of the chunks then goes to the others. */
static void start_helpers(pool *p, int want)
{
    pthread_attr_t attr;
    if (p->threads >= want || pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (p->threads < want) {
        pthread_t tid;
        if (pthread_create(&tid, &attr, helper_main, (void *)(uintptr_t)p->job) != 0)
            break;
        p->threads++;
    }
    pthread_attr_destroy(&attr);
}

void ops_parallel_for(int workers, int n, ops_range_fn fn, void *arg)
{
    pool *p = &the_pool;
    if (n <= 0)
        return;
    if (workers > n)
        workers = n;
    if (workers > OPS_MAX_WORKERS)
        workers = OPS_MAX_WORKERS;
    if (workers <= 1 || atomic_exchange(&p->owned, 1)) {   /* alone, or the pool is busy */
        fn(arg, 0, 0, n);
        return;
    }
    const int chunks = workers * POOL_CHUNKS_PER_WORKER;
    const int grain = n / chunks > 1 ? n / chunks : 1;
    pthread_mutex_lock(&p->lock);
    start_helpers(p, workers - 1);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->grain = grain;
    p->workers = workers;
    p->seats = workers - 1 < p->threads ? workers - 1 : p->threads;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->job++;
    atomic_store_explicit(&p->posted, p->job, memory_order_relaxed);
    for (int i = 0; i < p->seats; i++)   /* (the helpers still polling need none) */
        pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_chunks(p, fn, arg, n, grain, 0);

    /* every chunk is taken; wait for the helpers still running theirs */
    pthread_mutex_lock(&p->lock);
    p->seats = 0;   /* closed: a helper that wakes now goes back to sleep */
    if (atomic_load(&p->active) > 0) {
        pthread_mutex_unlock(&p->lock);
        spin_for_idle(p);
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->active) > 0)
            pthread_cond_wait(&p->idle, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->owned, 0);
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

/* ---- GEMM split into pieces -------------------------------------------------------- */

int ops_gemm_piece_width(size_t macs, int extent, int align, size_t piece_macs)
{
    if (macs < OPS_GEMM_SPLIT_MIN_MACS || extent <= align)
        return extent;
    const int units = (extent + align - 1) / align;
    size_t pieces = macs / piece_macs;
    if (pieces < OPS_GEMM_MIN_PIECES)
        pieces = OPS_GEMM_MIN_PIECES;
    if (pieces > (size_t)units)
        pieces = (size_t)units;
    const int width = (units + (int)pieces - 1) / (int)pieces * align;
    return width < extent ? width : extent;
}

/* Multiply-adds per piece of an OpenBLAS GEMM (~5 ms of one core): each piece packs the
 * shared operand again and runs OpenBLAS's edge loops, which cost more than expected —
 * measured one thread, U-Net shapes (320x4096x320 ... 8192x1280x320): 2 pieces +0-5 %
 * CPU over one call, 4 pieces +0-9 %, 8-12 pieces +1-10 %. So few and wide pieces: 4
 * for most of the U-Net's GEMMs, 12 for the largest. */
#define GEMM_PIECE_MACS ((size_t)1 << 28)
/* Pieces of the split dimension are multiples of this (whole cache lines of C and B). */
#define GEMM_SPLIT_ALIGN 16

typedef struct {
    int trans_a, trans_b, m, n, k;
    float alpha, beta;
    const float *a, *b;
    int lda, ldb, ldc;
    float *c;
    int split_n;          /* pieces are column ranges of C (else row ranges) */
    int width;            /* of a piece */
} gemm_job;

/* Pieces s0..s1-1: one OpenBLAS call each, so a value of C is computed by the same call
 * (same operand offsets and sizes) whichever worker runs it and however many there are. */
static void gemm_pieces(void *arg, int worker, int s0, int s1)
{
    const gemm_job *g = arg;
    (void)worker;
    const int extent = g->split_n ? g->n : g->m;
    const enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = g->trans_b ? CblasTrans : CblasNoTrans;
    for (int s = s0; s < s1; s++) {
        const int lo = s * g->width, hi = extent - lo < g->width ? extent : lo + g->width;
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
}

void ops_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    gemm_job g = {trans_a, trans_b, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c,
                  .split_n = n >= m};
    const int extent = g.split_n ? n : m;
    const size_t macs = (size_t)m * n * (size_t)(k > 0 ? k : 1);
    g.width = ops_gemm_piece_width(macs, extent, GEMM_SPLIT_ALIGN, GEMM_PIECE_MACS);
    const int pieces = (extent + g.width - 1) / g.width;
    ops_parallel_for(pieces > 1 ? ops_workers() : 1, pieces, gemm_pieces, &g);
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
