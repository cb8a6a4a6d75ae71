/* sd_set_threads / sd_threads: the engine's one process-wide setting. OpenBLAS's thread
 * count is process-wide, and the engine runs it single-threaded inside its own workers
 * (ops/parallel.c), so the worker count is too; it is set here, explicitly, rather than as
 * a side effect of loading a model. */
#include "core/error.h"
#include "ops/parallel.h"

sd_status sd_set_threads(int threads, sd_error *err)
{
    if (threads < 0 || threads > SD_THREADS_MAX)
        return sd_fail(err, SD_ERR_INVALID_ARG, "threads must be in 0..%d (0 = all cores), got %d",
                       SD_THREADS_MAX, threads);
    ops_set_threads(threads);
    return SD_OK;
}

int sd_threads(void)
{
    return ops_workers();
}
