/* Fork-join for the ops' loops: one thread per extra worker, started per call. An op at
 * the sizes that go through here runs for milliseconds, so the ~50 µs start cost does not
 * show, and nothing lives between calls (no global pool to own or tear down). */
#include "ops_parallel.h"

#include <cblas.h>
#include <pthread.h>

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

int ops_workers(void)
{
    int n = openblas_get_num_threads();
    return n < 1 ? 1 : n > OPS_MAX_WORKERS ? OPS_MAX_WORKERS : n;
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
