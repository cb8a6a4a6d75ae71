/* The parts of ftfy 6.1.1's fix_text() (default configuration) that CLIP's
 * basic_clean relies on, on code point strings. */
#ifndef SD_FTFY_H
#define SD_FTFY_H

#include "text/cleanup/text_clean.h"

/* ftfy.fix_text(text) in place. Returns 0, or -1 when out of memory. */
int ftfy_fix_text(ustr *s);

/* ftfy.badness.is_bad(): does s[0..n) contain a sequence typical of mojibake? */
int ftfy_is_bad(const uint32_t *s, size_t n);

/* Length of chardata.UTF8_DETECTOR_RE's match at pos (a run of sequences that look
 * like UTF-8 read as a single-byte encoding), or 0. */
size_t ftfy_utf8_detector_match(const uint32_t *s, size_t n, size_t pos);

/* Number of single-byte encodings fix_encoding tries, in ftfy's order: latin-1,
 * sloppy-windows-1252, -1251, -1250, -1253, -1254, iso-8859-2, macroman, cp437. */
int ftfy_charmap_count(void);

/* Encodes s in encoding `enc` (0 .. ftfy_charmap_count() - 1), repairs the bytes as
 * ftfy does (restore_byte_a0; replace_lossy_sequences for sloppy code pages) and
 * decodes them as UTF-8 (utf-8-variants when they hold 0xED or 0xC0) into out.
 * Returns 1 on success, 0 when s does not encode or the bytes do not decode, -1
 * when out of memory. */
int ftfy_redecode(const ustr *s, int enc, ustr *out);

#endif
