/* CLIP's byte-level BPE tokenizer, exactly openai/CLIP's SimpleTokenizer: the text is
 * cleaned (ftfy.fix_text, html.unescape twice, whitespace runs to one space, lower
 * case), split with CLIP's regex, and each piece is BPE-merged over GPT-2's byte
 * alphabet with "</w>" on its last symbol. */
#ifndef SD_TOKENIZER_H
#define SD_TOKENIZER_H

#include <stdint.h>

#include "sd.h"

#define SD_CLIP_CONTEXT 77       /* max_position_embeddings of CLIP's text model */
#define SD_CLIP_BOS 49406        /* <|startoftext|> */
#define SD_CLIP_EOS 49407        /* <|endoftext|>, also SD 1.x's pad token */

#define SD_OPENCLIP_PAD 0        /* open_clip.tokenize pads with 0 (SD 2.x) */

typedef struct sd_tokenizer sd_tokenizer;

/* Whose SimpleTokenizer to follow (same vocabulary and BPE, different special tokens):
 *   SD_TOKENS_CLIP      openai CLIP (SD 1.x): the text "<|startoftext|>" / "<|endoftext|>"
 *                       reads as the special ids; padded with <|endoftext|>;
 *   SD_TOKENS_OPENCLIP  open_clip (SD 2.x): its specials are spelled "<start_of_text>" /
 *                       "<end_of_text>" (the <|...|> strings are plain text); padded
 *                       with 0. */
typedef enum {
    SD_TOKENS_CLIP = 0,
    SD_TOKENS_OPENCLIP,
} sd_token_style;

/* Loads the vocabulary from `path`: a folder holding vocab.json + merges.txt (tried
 * first) or bpe_simple_vocab_16e6.txt.gz, or the path of one of those files (for
 * vocab.json or merges.txt the other one must sit beside it). On failure returns
 * SD_ERR_IO (a file cannot be read) or SD_ERR_FORMAT (malformed), naming the file,
 * and leaves *out NULL. */
sd_status sd_tokenizer_load(const char *path, sd_tokenizer **out, sd_error *err);
void sd_tokenizer_free(sd_tokenizer *t);

/* Token ids of a UTF-8 prompt, without <|startoftext|>/<|endoftext|>; invalid UTF-8
 * bytes read as U+FFFD. *ids is malloc'd (the caller frees it; NULL when *n is 0). */
sd_status sd_tokenize(const sd_tokenizer *t, const char *utf8, int32_t **ids, int *n,
                      sd_error *err);

/* sd_tokenize / sd_tokenize_padded in a given style. */
sd_status sd_tokenize_style(const sd_tokenizer *t, sd_token_style style, const char *utf8,
                            int32_t **ids, int *n, sd_error *err);
sd_status sd_tokenize_padded_style(const sd_tokenizer *t, sd_token_style style,
                                   const char *utf8, int32_t ids[SD_CLIP_CONTEXT],
                                   int *truncated, sd_error *err);

/* The 77 ids SD 1.x feeds its text encoder: <|startoftext|>, the first 75 BPE ids,
 * <|endoftext|>, then <|endoftext|> as padding. *truncated (if non-NULL) is set to
 * the number of BPE ids that did not fit. */
sd_status sd_tokenize_padded(const sd_tokenizer *t, const char *utf8,
                             int32_t ids[SD_CLIP_CONTEXT], int *truncated, sd_error *err);

/* The vocabulary string of token `id` (byte-level form, e.g. "cat</w>"), or NULL. */
const char *sd_tokenizer_token(const sd_tokenizer *t, int32_t id);
int sd_tokenizer_vocab_size(const sd_tokenizer *t);

#endif
