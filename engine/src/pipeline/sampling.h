/* The sampling settings of a job, checked and resolved against the model: which scheduler
 * config (spacing, steps_offset, prediction type) the run uses. */
#ifndef SD_PIPELINE_SAMPLING_H
#define SD_PIPELINE_SAMPLING_H

#include "sched/scheduler.h"
#include "sd.h"

/* SD_OK when the job's sampler, spacing and prediction are known values. */
sd_status sd_job_check_sampling(const sd_job *job, sd_error *err);

/* The scheduler config of a job: its spacing, steps_offset 1 (every SD 1.x / 2.x config)
 * and its prediction type, AUTO resolved to the model's. */
sd_sched_config sd_job_sched_config(const sd_model *m, const sd_job *job);

#endif
