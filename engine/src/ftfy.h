/* The parts of ftfy 6.1.1's fix_text() (default configuration) that CLIP's
 * basic_clean relies on, on code point strings. */
#ifndef SD_FTFY_H
#define SD_FTFY_H

#include "text_clean.h"

/* ftfy.fix_text(text) in place. Returns 0, or -1 when out of memory. */
int ftfy_fix_text(ustr *s);

/* ftfy.badness.is_bad(): does s[0..n) contain a sequence typical of mojibake? */
int ftfy_is_bad(const uint32_t *s, size_t n);

/* Length of chardata.UTF8_DETECTOR_RE's match at pos (a run of sequences that look
 * like UTF-8 read as a single-byte encoding), or 0. */
size_t ftfy_utf8_detector_match(const uint32_t *s, size_t n, size_t pos);

#endif
