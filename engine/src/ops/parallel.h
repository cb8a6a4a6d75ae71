/* A pool of worker threads for the ops' loops and GEMMs. OpenBLAS itself runs
 * single-threaded inside these workers (its own threads would spin between calls on the
 * cores our loops need), so exactly ops_workers() threads compute at any time.
 * Engine-internal. */
#ifndef SD_OPS_PARALLEL_H
#define SD_OPS_PARALLEL_H

#include <stddef.h>

/* Runs fn(arg, worker, begin, end) over [0, n) with up to `workers` threads, the caller
 * among them, and returns when all of [0, n) is done. The range is cut into chunks (about
 * 8 per worker) that the workers take in turn as they finish the last one, so a worker
 * slowed by another process simply takes fewer: which thread runs which chunk, and where
 * the chunks begin, vary from call to call. So fn's result for an index must not depend
 * on the range it came in (a loop over independent indices; a GEMM cuts itself into
 * pieces fixed by its shape first, as ops_sgemm does), and then the outputs are
 * bit-identical whatever the worker count. `worker` is in [0, workers) and no two chunks
 * run at once under the same one: an index into per-worker scratch sized for `workers`.
 *
 * The threads are a process-wide pool: started on the first call that asks for them
 * (more if a later call asks for more), sleeping between calls (after spinning at most
 * 50 µs), detached, never joined or stopped: they end with the process. One call runs on
 * the pool at a time: a call made while it is busy (from inside a callback, or by another
 * thread's job) runs its whole range on the calling thread, as does workers <= 1. A
 * thread that cannot be started leaves its chunks to the others, so this never fails. */
typedef void (*ops_range_fn)(void *arg, int worker, int begin, int end);
void ops_parallel_for(int workers, int n, ops_range_fn fn, void *arg);

/* For tests: worker index `worker` (-1: none) sleeps `usec` before each chunk it takes,
 * as a worker sharing its core with another process would run late. Process-wide. */
void ops_parallel_slow_worker(int worker, int usec);

/* Workers for the ops' loops and GEMMs, at most OPS_MAX_WORKERS: the last ops_set_threads
 * when positive, else (never set, or set to 0) what OpenBLAS would have used (all cores,
 * or OPENBLAS_NUM_THREADS).
 * The first call of either sets OpenBLAS to one thread. Process-wide, like the cores. */
#define OPS_MAX_WORKERS 64
int ops_workers(void);
void ops_set_threads(int threads);

/* Row-major C[m, n] = alpha · op(A) · op(B) + beta · C, as cblas_sgemm: the larger of m
 * and n cut into pieces (ops_gemm_piece_width), each one single-threaded OpenBLAS call,
 * spread over the workers. */
void ops_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* A GEMM's split: the width of the pieces its split dimension (extent) is cut into, a
 * multiple of align (the last piece may be narrower), from the shape alone and never the
 * worker count, so each value of C comes from the same kernel call however many workers
 * share the pieces (a kernel's rounding may depend on the width it is given: OpenBLAS
 * picks other kernels for small products). One piece (extent) below
 * OPS_GEMM_SPLIT_MIN_MACS multiply-adds, where a split would cost more than it saves;
 * else about macs / piece_macs pieces, at least OPS_GEMM_MIN_PIECES (if extent allows). */
#define OPS_GEMM_SPLIT_MIN_MACS ((size_t)1 << 22)
#define OPS_GEMM_MIN_PIECES 4
int ops_gemm_piece_width(size_t macs, int extent, int align, size_t piece_macs);

/* Workers for a loop touching `values` floats: 1 below OPS_PARALLEL_MIN, where waking a
 * pool thread (a futex wake when it sleeps) would cost more than it saves (CLIP, the
 * small test models). Kept from the fork-join days; not re-measured with the pool. */
#define OPS_PARALLEL_MIN ((size_t)1 << 16)
int ops_workers_for(size_t values);

/* 1 when the CPU runs the AVX2 + FMA kernels (and they were compiled in). */
int ops_have_avx2(void);
/* 1 when the CPU and OS run the AVX-512F kernels (and they were compiled in), and
 * SD_NO_AVX512 is not set (to 1 or anything but 0): that forces the AVX2 kernels — and no
 * bf16 kernel — as on an AVX2-only CPU, read from the environment at each call (tests set
 * it, with OPENBLAS_CORETYPE=Haswell for OpenBLAS's own choice, before the process
 * starts). */
int ops_have_avx512(void);

#endif
