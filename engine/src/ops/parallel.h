/* Fork-join over the cores for the ops' loops and GEMMs. OpenBLAS itself runs
 * single-threaded inside these workers (its own threads would spin between calls on the
 * cores our loops need), so exactly ops_workers() threads compute at any time.
 * Engine-internal. */
#ifndef SD_OPS_PARALLEL_H
#define SD_OPS_PARALLEL_H

#include <stddef.h>

/* Runs fn(arg, worker, begin, end) on `workers` contiguous slices of [0, n), worker 0 in
 * the calling thread; returns when all are done. A thread that cannot be started has its
 * slice run by the caller, so this never fails. */
typedef void (*ops_range_fn)(void *arg, int worker, int begin, int end);
void ops_parallel_for(int workers, int n, ops_range_fn fn, void *arg);

/* Workers for the ops' loops and GEMMs, at most OPS_MAX_WORKERS: the last ops_set_threads
 * when positive, else (never set, or set to 0) what OpenBLAS would have used (all cores,
 * or OPENBLAS_NUM_THREADS).
 * The first call of either sets OpenBLAS to one thread. Process-wide, like the cores. */
#define OPS_MAX_WORKERS 64
int ops_workers(void);
void ops_set_threads(int threads);

/* Row-major C[m, n] = alpha · op(A) · op(B) + beta · C, as cblas_sgemm, with the larger of
 * m and n split over the workers (each slice one single-threaded OpenBLAS call). */
void ops_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* Workers for a loop touching `values` floats: 1 below OPS_PARALLEL_MIN, where starting
 * a thread would cost more than it saves (CLIP, the small test models). */
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
