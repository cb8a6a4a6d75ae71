/* The parts of ftfy 6.1.1's fix_text() (default configuration) that CLIP's
 * basic_clean relies on, on code point strings. */
#ifndef SD_FTFY_H
#define SD_FTFY_H

#include "text_clean.h"

/* ftfy.fix_text(text) in place. Returns 0, or -1 when out of memory. */
int ftfy_fix_text(ustr *s);

/* ftfy.badness.is_bad(): does s[0..n) contain a sequence typical of mojibake? */
int ftfy_is_bad(const uint32_t *s, size_t n);

#endif
