/* A prompt through the text encoder as A1111's CLIP hook does it
 * (stable-diffusion-webui modules/sd_hijack_clip.py, FrozenCLIPEmbedderWithCustomWordsBase
 * .forward, with the default "Original" emphasis of modules/sd_emphasis.py):
 *
 *   spans = parse_prompt_attention(prompt)          text/prompt_parse.h
 *   chunks of 75 ids (+ BOS/EOS, padded to 77)      text/prompt_chunks.h
 *   for each chunk: z = CLIP(ids)                   [77, hidden]
 *                   original_mean = mean(z); z *= multipliers (per token);
 *                   z *= original_mean / mean(z)
 *   concatenated along the tokens: [n_chunks × 77, hidden]
 *
 * A chunk whose multipliers are all 1 is left as CLIP gave it (the factor would be exactly
 * 1): a prompt without syntax of up to 75 ids encodes exactly as diffusers does. */
#ifndef SD_PROMPT_ENCODE_H
#define SD_PROMPT_ENCODE_H

#include "core/arena.h"
#include "pipeline/model.h"
#include "sd.h"

/* *out is malloc'd [*n_chunks × 77, hidden]. Scratch comes from `a` and is given back.
 * <lora:…> tags in the prompt are cut out and ignored here (the caller applies them).
 * Returns SD_OK, the parser's or tokenizer's error, SD_ERR_NOMEM. */
sd_status sd_prompt_encode(const sd_model *m, sd_arena *a, const char *prompt, int clip_skip,
                           float **out, int *n_chunks, sd_error *err);

/* The Original emphasis on one chunk's hidden states z [77, hidden], in place. */
void sd_prompt_emphasis(float *z, const float *multipliers, int hidden);

#endif
