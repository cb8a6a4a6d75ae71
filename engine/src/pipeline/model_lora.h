/* The LoRAs merged into a loaded model: a job's own (sd_job.loras) followed by those its
 * prompt names (<lora:name:weight>, found as <lora_dir>/name.safetensors). The merge
 * (nets/lora.h) patches writable fp32 copies of the touched weights and points the layers
 * that read them at the copies (layers/layers.h's merged hook). A model keeps the set of
 * its last job: the next job with the same set (same files, same weights, same order)
 * costs nothing. */
#ifndef SD_MODEL_LORA_H
#define SD_MODEL_LORA_H

#include "pipeline/model.h"
#include "sd.h"

/* Makes the model carry exactly the job's LoRAs. On failure the model is back to its
 * checkpoint's weights (no LoRA), with the error naming the file or the prompt tag. */
sd_status sd_model_use_loras(sd_model *m, const sd_job *job, sd_error *err);

/* Forgets the merged set (for sd_model_free). */
void sd_model_loras_free(sd_model *m);

#endif
