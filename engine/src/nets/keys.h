/* The checkpoint key prefixes of the single-file Stable Diffusion layout (LDM / A1111 /
 * ComfyUI names), written once. Every network binds its tensors under one of these; the
 * family table (model detection), the per-network page release and `diffuse check` read
 * the same names. */
#ifndef SD_NETS_KEYS_H
#define SD_NETS_KEYS_H

#define SD_KEY_UNET "model.diffusion_model."
#define SD_KEY_VAE "first_stage_model."
#define SD_KEY_VAE_ENCODER SD_KEY_VAE "encoder."
#define SD_KEY_VAE_QUANT_CONV SD_KEY_VAE "quant_conv."
#define SD_KEY_VAE_DECODER SD_KEY_VAE "decoder."
#define SD_KEY_VAE_POST_QUANT_CONV SD_KEY_VAE "post_quant_conv."
#define SD_KEY_TEXT_ENCODER "cond_stage_model."
/* SD 1.x: Hugging Face CLIPTextModel under the LDM wrapper. */
#define SD_KEY_CLIP_L "cond_stage_model.transformer."
#define SD_KEY_CLIP_L_TEXT SD_KEY_CLIP_L "text_model."
/* SD 2.x: OpenCLIP ViT-H/14 in its original layout (transformer.resblocks.N, ln_final). */
#define SD_KEY_OPENCLIP "cond_stage_model.model."
/* Stability's SGM layout (generative-models): the text encoders are "embedders". SD-Turbo
 * keeps its one OpenCLIP ViT-H there; SDXL has CLIP ViT-L at 0 and OpenCLIP bigG at 1. */
#define SD_KEY_SGM_TEXT "conditioner.embedders."
#define SD_KEY_SGM_OPENCLIP SD_KEY_SGM_TEXT "0.model."
/* SDXL's U-Net: the size / crop conditioning (ComfyUI's adm_in_channels). */
#define SD_KEY_UNET_LABEL_EMB SD_KEY_UNET "label_emb."
/* An empty tensor some v-prediction files carry (ComfyUI's savers write it). */
#define SD_KEY_V_PRED "v_pred"

#endif
