/* How much working memory a job needs, and how much the system can give it. */
#ifndef SD_MEMORY_H
#define SD_MEMORY_H

#include <stddef.h>

#include "sd.h"

/* Bytes the system can give now (MemAvailable), or 0 when unknown. */
size_t sd_memory_available(void);

/* The working-memory budget of a job on model m, in bytes: the model's memory budget, or
 * the memory available now (0 when unknown: unbounded). */
size_t sd_job_budget(const sd_model *m);

/* sd_job_memory_estimate with the VAE run in tiles of vae_tile pixels (<= 0: untiled). */
size_t sd_job_memory_estimate_tiled(const sd_model *m, const sd_job *job, int vae_tile);

/* The VAE tile size a job runs with: job->vae_tile when set (-1 = untiled); for 0
 * (automatic), -1 when the untiled job fits in `budget` bytes (0 = unbounded), else the
 * largest of 512, 256, 128 whose tiled job fits, else -1. */
int sd_job_vae_tile(const sd_model *m, const sd_job *job, size_t budget);

#endif
