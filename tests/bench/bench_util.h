/* What the benchmarks share (bench, bench taesd, bench-gemm, bench-precision, …): clocks,
 * the median of a run's timings, the machine's state to print beside them (peak memory,
 * load), allocation and seeded inputs. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic wall-clock seconds. */
double now_s(void);

/* CPU seconds of the whole process (all threads): on a loaded machine this moves far less
 * than the wall clock, so A/B comparisons read it too. 0 where getrusage fails. */
double cpu_s(void);

/* The median of v[0..n) (v is left as it was; the first 1000 values at most); 0 for
 * n <= 0. */
double median(const double *v, int n);

/* The process's peak resident memory so far, MiB; 0 where getrusage fails. */
double peak_rss_mib(void);

/* The 1-minute load average (/proc/loadavg), or -1 where it cannot be read. */
double load_average(void);

/* malloc that ends the benchmark (exit 2, a message) when memory runs out. */
void *xmalloc(size_t bytes);

/* n normal values times scale, Box–Muller over the xorshift64 state *s (seeded inputs). */
void randn(uint64_t *s, float *x, size_t n, float scale);

#endif
