/* The model's precision (sd.h, sd_precision): fp32, or bf16 with the U-Net's and the VAE's
 * weights packed for the bf16 kernels. Engine-internal. */
#ifndef SD_PIPELINE_PRECISION_H
#define SD_PIPELINE_PRECISION_H

#include "pipeline/model.h"

/* Resolves `wanted` (auto: bf16 where ops_bf16_best() offers a kernel) and, for bf16,
 * packs the networks' weights (what ran before is undone first). SD_ERR_UNSUPPORTED for
 * bf16 on a CPU without the instructions, SD_ERR_NOMEM naming the weight when packing runs
 * out of memory (the model is left in fp32). */
sd_status sd_model_set_precision(sd_model *m, sd_precision wanted, sd_error *err);
/* bf16: packs the weights again, after a pass changed the effective ones (a LoRA merge or
 * its undoing: sd_model_use_loras); fp32: nothing. */
sd_status sd_model_repack(sd_model *m, sd_error *err);
/* Packs the loaded TAESD's convs when the model runs bf16 (after sd_model_load_taesd; what
 * was packed for the TAESD before is freed first). SD_ERR_NOMEM / SD_ERR_IO as the packing's
 * (the TAESD is then left in fp32). */
sd_status sd_model_prepare_taesd(sd_model *m, sd_error *err);
/* Frees the TAESD's packed weights (it runs fp32); before its weights are freed. */
void sd_model_unprepare_taesd(sd_model *m);
/* Frees the packed weights; the model runs fp32. */
void sd_model_unprepare(sd_model *m);
/* Gives back the resident pages of the network's packed weights (sd_model_release). */
void sd_model_release_packed(sd_model *m, sd_network net);
/* The i-th key prefix whose Linear / Conv2d layers bf16 packs (NULL past the last): the
 * golden tests pack a bare checkpoint the same way. */
const char *sd_precision_bf16_prefix(int i);
/* Bytes of packed weights the model holds. */
size_t sd_model_packed_bytes(const sd_model *m);

#endif
