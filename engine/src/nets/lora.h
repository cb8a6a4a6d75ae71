/* LoRA files for SD 1.x and 2.x: read, mapped onto the checkpoint's keys, merged into its
 * weights. SD 2.x's text encoder is OpenCLIP's, with q, k and v fused in one in_proj_weight:
 * a module on self_attn.{q,k,v}_proj adds to that third of its rows.
 *
 * Formats (key patterns in ../shared/golden-lora/README.md):
 *   kohya-ss   lora_unet_<module>.{lora_down.weight, lora_up.weight, alpha}
 *              lora_te_<module>.…     <module> = the diffusers path with '.' → '_' (or the
 *              LDM path, as some trainers write); scale = alpha / rank (1 without alpha)
 *   PEFT       unet.<module>.lora_A.weight / lora_B.weight, text_encoder.<module>.…;
 *              scale = lora_alpha / r from the LoraConfig JSON diffusers writes in the
 *              header (__metadata__.lora_adapter_metadata, alpha_pattern / rank_pattern
 *              by module suffix, rsLoRA: alpha / √r), 1 without metadata (diffusers' rule)
 * Linear, 1×1 and 3×3 (LoCon, strided too) modules:
 *   W' = W + weight · scale · reshape(up[out, r] @ down[r, in·kh·kw], W.shape)
 *
 * Refused with the reason: LyCORIS LoHa / LoKr / full-diff / Tucker (lora_mid) / DoRA /
 * OFT / IA³ / GLoRA, diffusers' old attention-processor format, LoRAs for SDXL (lora_te1_,
 * lora_te2_, text_encoder_2) or DiT models (Flux, SD3), NaN or Inf values, and a LoRA
 * whose modules do not all name a layer of the model with the right shape (the error says
 * how many do not). */
#ifndef SD_LORA_H
#define SD_LORA_H

#include "io/weights.h"
#include "nets/model_config.h"
#include "sd.h"

typedef struct sd_lora_file sd_lora_file;

/* Reads and checks `path` (nothing model-specific yet). Errors name the file. The values
 * are kept as fp32 in *out; the file is closed before returning. */
sd_status sd_lora_read(const char *path, sd_lora_file **out, sd_error *err);
void sd_lora_free(sd_lora_file *l);

/* Modules in the file, and how many of them modify the text encoder. */
int sd_lora_modules(const sd_lora_file *l, int *text_encoder);

/* Finds the checkpoint weight of every module in w (the U-Net's LDM names from its
 * diffusers names with cfg's blocks; text encoder under cond_stage_model.transformer.,
 * OpenCLIP's under transformers' names), checking the shapes. SD_ERR_UNSUPPORTED naming the
 * count of modules that do not match. */
sd_status sd_lora_map(sd_lora_file *l, const sd_weights *w, const sd_model_config *cfg,
                      sd_error *err);

/* Adds Σ weights[i] · scale · up @ down of every mapped module of files[0..n) to its
 * weight, one target at a time: a writable fp32 copy (sd_weights_patch; the checkpoint
 * stays read-only) gets every file's delta in file order, then is sealed (a F16/BF16
 * checkpoint's tensor back to its dtype, sd_weights_patch_seal). Peak extra memory: the
 * merged copies plus one fp32 tensor. */
sd_status sd_lora_merge(const sd_lora_file *const *files, const float *weights, int n_files,
                        sd_weights *w, sd_error *err);
/* One file: sd_lora_merge(&l, &weight, 1, …); a second call adds onto the same copies. */
sd_status sd_lora_apply(const sd_lora_file *l, sd_weights *w, float weight, sd_error *err);

/* Points the layer that reads each patched weight under `prefix` (a key prefix of
 * nets/keys.h; "" for all) at its copy, through the merged hook of layers/layers.h: call
 * once the networks are bound and every LoRA applied. SD_ERR_UNSUPPORTED naming a patched
 * weight that no Linear / Conv2d reads. */
sd_status sd_lora_attach(sd_weights *w, const char *prefix, sd_error *err);
/* Clears every layer's merged hook and frees the copies: the checkpoint's weights again. */
void sd_lora_detach(sd_weights *w);

/* The checkpoint key a LoRA module name targets (kohya or PEFT, without the .lora_* suffix):
 * the same lookup sd_lora_map uses, for tests. Writes key into buf; 0 when found. */
int sd_lora_target(const sd_weights *w, const sd_model_config *cfg, const char *module,
                   char *buf, size_t size);

#endif
