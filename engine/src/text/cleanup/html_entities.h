/* The HTML5 named character reference table, for the HTML unescaping CLIP's text
 * cleaning does (Python's html.unescape and ftfy's unescape_html). */
#ifndef SD_HTML_ENTITIES_H
#define SD_HTML_ENTITIES_H

typedef struct {
    const char *name;  /* without the leading '&', e.g. "amp;" or legacy "amp" */
    const char *utf8;  /* the replacement text, UTF-8 (one or two code points) */
} html_entity;

/* UTF-8 replacement for `name` (e.g. "eacute;"), or NULL when it is no entity. */
const char *html_entity_lookup(const char *name);

#endif
