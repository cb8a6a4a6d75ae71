/* Fork-join over the cores for the ops' own loops (OpenBLAS threads its GEMMs itself).
 * The ops run one at a time, so the worker count follows OpenBLAS's thread count
 * (which sd_model_options.threads sets): our workers and OpenBLAS's never run at once
 * and the cores are never oversubscribed. Engine-internal. */
#ifndef SD_OPS_PARALLEL_H
#define SD_OPS_PARALLEL_H

#include <stddef.h>

/* Runs fn(arg, worker, begin, end) on `workers` contiguous slices of [0, n), worker 0 in
 * the calling thread; returns when all are done. A thread that cannot be started has its
 * slice run by the caller, so this never fails. */
typedef void (*ops_range_fn)(void *arg, int worker, int begin, int end);
void ops_parallel_for(int workers, int n, ops_range_fn fn, void *arg);

/* Workers for the ops' loops: OpenBLAS's thread count, at most OPS_MAX_WORKERS. */
#define OPS_MAX_WORKERS 64
int ops_workers(void);

/* Workers for a loop touching `values` floats: 1 below OPS_PARALLEL_MIN, where starting
 * a thread would cost more than it saves (CLIP, the small test models). */
#define OPS_PARALLEL_MIN ((size_t)1 << 16)
int ops_workers_for(size_t values);

/* 1 when the CPU runs the AVX2 + FMA kernels (and they were compiled in). */
int ops_have_avx2(void);

#endif
