/* CLIP's text cleaning before BPE, on strings of Unicode code points (Python str):
 *   whitespace_clean(basic_clean(text)).lower()
 * with basic_clean = ftfy.fix_text, html.unescape twice, strip; and CLIP's
 * pre-tokenizer regex. */
#ifndef SD_TEXT_CLEAN_H
#define SD_TEXT_CLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "sd.h"

/* A growable string of code points. */
typedef struct {
    uint32_t *cp;
    size_t n, cap;
} ustr;

int ustr_push(ustr *s, uint32_t c);  /* 0, or -1 when out of memory */
int ustr_append(ustr *s, const uint32_t *c, size_t n);
int ustr_append_utf8(ustr *s, const char *utf8);  /* valid UTF-8 only (tables) */
void ustr_free(ustr *s);
/* Replaces a's contents with b's and empties b. */
void ustr_swap(ustr *a, ustr *b);

/* Writes cp as UTF-8 (at most 4 bytes), returns the byte count. */
size_t utf8_encode(uint32_t cp, char *out);
/* Decodes like Python's bytes.decode("utf-8", "replace"): every maximal invalid
 * subsequence becomes one U+FFFD. */
int utf8_decode(const char *utf8, size_t len, ustr *out);

/* Python's str.isspace(). */
int uc_isspace(uint32_t c);
/* NFC normalization in place (unicodedata.normalize("NFC", s)). */
int uc_nfc(ustr *s);

/* The cleaned, lower-cased text CLIP's regex runs over. */
sd_status clip_clean_text(const char *utf8, ustr *out, sd_error *err);

/* Length of CLIP's regex match at `pos`:
 *   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * (IGNORECASE), or 0 when text[pos] is whitespace and starts no match. */
size_t clip_pretoken_length(const ustr *text, size_t pos);
/* The same with the two special tokens spelled otherwise (OpenCLIP's SimpleTokenizer:
 * "<start_of_text>", "<end_of_text>"), lower case. */
size_t clip_pretoken_length_specials(const ustr *text, size_t pos, const char *const specials[2]);

#endif
