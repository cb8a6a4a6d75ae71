/* The two HTML unescapers CLIP's cleaning runs: ftfy's unescape_html (inside
 * ftfy.fix_text) and Python's html.unescape (basic_clean, twice). */
#ifndef SD_HTML_UNESCAPE_H
#define SD_HTML_UNESCAPE_H

#include "text/cleanup/text_clean.h"

/* Python 3.11 html.unescape(): named references (with the legacy forms that need no
 * ';', longest prefix first), decimal and hex references with HTML5's fix-ups.
 * Returns 0, or -1 when out of memory (s unchanged). */
int html_unescape(ustr *s);

/* ftfy 6.1.1 fixes.unescape_html(): only complete references "&name;" / "&#...;"
 * of 1..24 alphanumerics, plus upper-cased forms of lower-case entity names. */
int ftfy_unescape_html(ustr *s);

#endif
