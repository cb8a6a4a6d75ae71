/* A1111's long-prompt chunking (stable-diffusion-webui modules/sd_hijack_clip.py,
 * FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line): the weighted spans of a parsed
 * prompt become chunks of 75 BPE ids, each framed as <|startoftext|> ids… <|endoftext|> and
 * padded with <|endoftext|> to 77, with one weight per position (1.0 on the frame and
 * padding).
 *
 * Where a chunk ends: after 75 ids; or, when the 76th id is not a comma and a comma lies
 * within the last SD_PROMPT_COMMA_BACKTRACK ids of the full chunk, right after that comma
 * (the ids after it move to the next chunk: A1111's comma_padding_backtrack, default 20);
 * or at a BREAK. An empty prompt is one chunk. */
#ifndef SD_PROMPT_CHUNKS_H
#define SD_PROMPT_CHUNKS_H

#include <stdint.h>

#include "sd.h"
#include "text/prompt_parse.h"
#include "text/tokenizer.h"

#define SD_PROMPT_CHUNK_IDS 75          /* A1111's chunk_length */
#define SD_PROMPT_COMMA_BACKTRACK 20    /* A1111's opts.comma_padding_backtrack default */

typedef struct {
    int32_t ids[SD_CLIP_CONTEXT];
    float multipliers[SD_CLIP_CONTEXT];
} sd_prompt_chunk;

/* Tokenizes every span and cuts the result into chunks. *chunks is malloc'd (the caller
 * frees it), *n_chunks ≥ 1. Returns SD_OK, the tokenizer's error, or SD_ERR_NOMEM. */
sd_status sd_prompt_chunks(const sd_tokenizer *tok, const sd_prompt_parsed *prompt,
                           sd_prompt_chunk **chunks, int *n_chunks, sd_error *err);
/* The same for a tokenizer style (SD 2.x: open_clip's): its special-token spellings, and
 * every id after a chunk's first <|endoftext|> set to its pad id (0), as A1111's
 * process_tokens does when id_end != id_pad. */
sd_status sd_prompt_chunks_style(const sd_tokenizer *tok, sd_token_style style,
                                 const sd_prompt_parsed *prompt, sd_prompt_chunk **chunks,
                                 int *n_chunks, sd_error *err);

/* 1 when every multiplier of the chunk is 1.0 (the weighting would change nothing). */
int sd_prompt_chunk_unweighted(const sd_prompt_chunk *c);

#endif
