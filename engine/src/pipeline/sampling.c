/* A job's sampling settings against the model. */
#include "pipeline/sampling.h"

#include "core/error.h"
#include "pipeline/model.h"

sd_status sd_job_check_sampling(const sd_job *job, sd_error *err)
{
    if (!sd_sampler_info_of(job->sampler))
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown sampler %d", (int)job->sampler);
    if ((unsigned)job->spacing >= SD_SPACING_COUNT)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown timestep spacing %d", (int)job->spacing);
    if ((unsigned)job->prediction >= SD_PREDICTION_COUNT)
        return sd_fail(err, SD_ERR_INVALID_ARG, "unknown prediction type %d",
                       (int)job->prediction);
    return SD_OK;
}

/* The model's own prediction type, as detection read it from the checkpoint (the family
 * table: a v_pred key, else ComfyUI's norm rule for SD 2.x; epsilon for SD 1.x). */
static sd_prediction model_prediction(const sd_model *m)
{
    return m->cfg.prediction == SD_PREDICTION_V ? SD_PREDICTION_V : SD_PREDICTION_EPS;
}

sd_sched_config sd_job_sched_config(const sd_model *m, const sd_job *job)
{
    sd_sched_config c = sd_sched_config_default();
    c.spacing = job->spacing;
    c.prediction = job->prediction == SD_PREDICTION_AUTO ? model_prediction(m) : job->prediction;
    return c;
}
