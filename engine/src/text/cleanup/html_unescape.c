/* Python's html.unescape() and ftfy's unescape_html() over code point strings. */
#include "text/cleanup/html_unescape.h"

#include <string.h>

#include <utf8proc.h>

#include "text/cleanup/html_entities.h"

/* html._invalid_charrefs: the windows-1252 reading of references to C1 controls,
 * indexed by number - 0x80 (0 where the control itself is kept). */
static const uint16_t invalid_charref_c1[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* html._invalid_codepoints (after the C1 references were handled). */
static int invalid_codepoint(uint32_t n)
{
    return (n >= 0x1 && n <= 0x8) || n == 0xB || (n >= 0xE && n <= 0x1F) ||
           (n >= 0x7F && n <= 0x9F) || (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
}

/* _replace_charref for a number: appends what it becomes. */
static int append_numeric_ref(ustr *out, uint32_t num)
{
    if (num == 0x00)
        return ustr_push(out, 0xFFFD);
    if (num == 0x0D)
        return ustr_push(out, '\r');
    if (num >= 0x80 && num <= 0x9F) {
        uint32_t c = invalid_charref_c1[num - 0x80];
        return ustr_push(out, c ? c : num);
    }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
        return ustr_push(out, 0xFFFD);
    if (invalid_codepoint(num))
        return 0;
    return ustr_push(out, num);
}

static int hex_value(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (int)((c | 0x20) - 'a' + 10);
    return -1;
}

/* UTF-8 of s[from..to) into buf (NUL-terminated); 0 when it does not fit. */
static int utf8_of(const uint32_t *s, size_t from, size_t to, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        if (n + 5 > size)
            return 0;
        n += utf8_encode(s[i], buf + n);
    }
    buf[n] = '\0';
    return 1;
}

/* Length of a match of `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` at
 * s[i] == '&' (0 when none), appending its replacement to out. *rc gets -1 when out
 * of memory. */
static size_t charref(const uint32_t *s, size_t n, size_t i, ustr *out, int *rc)
{
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        int hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');
        size_t d = j + 1 + (hex ? 1 : 0), k = d;
        uint32_t num = 0;
        for (; k < n && (hex ? hex_value(s[k]) >= 0 : s[k] >= '0' && s[k] <= '9'); k++) {
            uint32_t v = (uint32_t)(hex ? hex_value(s[k]) : (int)(s[k] - '0'));
            num = num > 0x110000 ? 0x110000 : num * (hex ? 16 : 10) + v;  /* saturate */
        }
        if (k == d)
            return 0;
        if (k < n && s[k] == ';')
            k++;
        *rc = append_numeric_ref(out, num);
        return k - i;
    }
    size_t k = j;
    while (k < n && k - j < 32 && s[k] != '\t' && s[k] != '\n' && s[k] != '\f' && s[k] != ' ' &&
           s[k] != '<' && s[k] != '&' && s[k] != '#' && s[k] != ';')
        k++;
    if (k == j)
        return 0;
    if (k < n && s[k] == ';')
        k++;
    /* The whole name, else its longest prefix of 2+ characters that is an entity. */
    char name[32 * 4 + 8];
    for (size_t end = k; end >= j + 2; end--) {
        if (!utf8_of(s, j, end, name, sizeof name))
            continue;
        const char *value = html_entity_lookup(name);
        if (value) {
            *rc = ustr_append_utf8(out, value);
            if (*rc == 0)
                *rc = ustr_append(out, s + end, k - end);
            return k - i;
        }
    }
    return 0;  /* '&' + name, unchanged */
}

/* The code points at s[i] ('&') replaced: appends the replacement to out and returns how
 * many code points it consumed, or 0 to keep the '&' as text; *rc set non-zero when out
 * cannot grow. */
typedef size_t (*charref_fn)(const uint32_t *s, size_t n, size_t i, ustr *out, int *rc);

/* s with every character reference that `ref` replaces replaced; 0, or -1 (s unchanged)
 * when memory runs out. */
static int replace_charrefs(ustr *s, charref_fn ref)
{
    ustr out = {0};
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0;) {
        size_t len = s->cp[i] == '&' ? ref(s->cp, s->n, i, &out, &rc) : 0;
        if (len > 0) {
            i += len;
            continue;
        }
        rc = ustr_push(&out, s->cp[i++]);
    }
    if (rc != 0) {
        ustr_free(&out);
        return -1;
    }
    ustr_swap(s, &out);
    return 0;
}

int html_unescape(ustr *s)
{
    return replace_charrefs(s, charref);
}

static int is_alnum_ascii(uint32_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* chardata.HTML_ENTITIES for "&<name>;" given as name (with ';'): the HTML5 names
 * ending in ';', plus the upper-cased form of an all-lower-case name when Python's
 * html.unescape leaves that form alone; its value is then upper-cased too. */
static int ftfy_entity(const char *name, ustr *out, int *rc)
{
    const char *value = html_entity_lookup(name);
    if (value) {
        *rc = ustr_append_utf8(out, value);
        return 1;
    }
    char lower[64];
    size_t len = strlen(name);
    if (len >= sizeof lower)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (name[i] >= 'a' && name[i] <= 'z')
            return 0;  /* not an upper-cased name */
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    }
    value = html_entity_lookup(lower);
    if (!value)
        return 0;
    for (size_t end = len - 1; end >= 2; end--) {  /* html.unescape's prefix rule */
        char prefix[64];
        memcpy(prefix, name, end);
        prefix[end] = '\0';
        if (html_entity_lookup(prefix))
            return 0;
    }
    ustr v = {0};
    *rc = ustr_append_utf8(&v, value);
    for (size_t i = 0; i < v.n && *rc == 0; i++) {
        if (v.cp[i] == 0xDF) {  /* str.upper(): ß -> SS */
            const uint32_t ss[2] = {'S', 'S'};
            *rc = ustr_append(out, ss, 2);
        } else {
            *rc = ustr_push(out, (uint32_t)utf8proc_toupper((utf8proc_int32_t)v.cp[i]));
        }
    }
    ustr_free(&v);
    return 1;
}

/* fixes._unescape_fixup for a match of `&#?[0-9A-Za-z]{1,24};` at s[i]. */
static size_t ftfy_charref(const uint32_t *s, size_t n, size_t i, ustr *out, int *rc)
{
    size_t j = i + 1 + (i + 1 < n && s[i + 1] == '#'), k = j;
    while (k < n && is_alnum_ascii(s[k]))
        k++;
    if (k == j || k - j > 24 || k >= n || s[k] != ';')
        return 0;
    if (j == i + 1) {
        char name[32];
        utf8_of(s, j, k + 1, name, sizeof name);
        return ftfy_entity(name, out, rc) ? k + 1 - i : 0;
    }
    /* "&#...;": html.unescape of the reference alone, kept unless a ';' survives. */
    ustr ref = {0};
    *rc = ustr_append(&ref, s + i, k + 1 - i);
    if (*rc == 0)
        *rc = html_unescape(&ref);
    int keep = 0;
    for (size_t m = 0; *rc == 0 && m < ref.n; m++)
        if (ref.cp[m] == ';')
            keep = 1;
    if (*rc == 0 && !keep)
        *rc = ustr_append(out, ref.cp, ref.n);
    ustr_free(&ref);
    return keep ? 0 : k + 1 - i;
}

int ftfy_unescape_html(ustr *s)
{
    return replace_charrefs(s, ftfy_charref);
}
