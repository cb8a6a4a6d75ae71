/* ftfy 6.1.1 fix_text() with its default configuration, as CLIP's basic_clean calls
 * it: per line, repeat until nothing changes: unescape_html, fix_encoding,
 * fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
 * fix_line_breaks, remove_terminal_escapes, remove_control_chars, NFC.
 *
 * The byte-level side of fix_encoding is in ftfy_codecs.c, the character classes
 * of its heuristics in ftfy_badness.c. fix_surrogates has nothing to do: text
 * decoded from UTF-8 holds no surrogates. */
#include "text/cleanup/ftfy.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/cleanup/html_unescape.h"

/* windows-1252 bytes 0x80..0x9F; 0 where the code page leaves the byte undefined
 * (ftfy's "sloppy" variant then maps the byte to the same-numbered C1 control). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static uint32_t sloppy_1252_decode(uint8_t b)
{
    if (b >= 0x80 && b < 0xA0 && cp1252_high[b - 0x80])
        return cp1252_high[b - 0x80];
    return b;
}

static int is_ascii(const ustr *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->cp[i] >= 0x80)
            return 0;
    return 1;
}

static int fix_encoding(ustr *s);

/* fixes.decode_inconsistent_utf8(): fixes each UTF8_DETECTOR_RE match shorter than
 * the text that looks bad on its own. Returns 1 when s changed, 0 when not, -1 when
 * out of memory. */
static int decode_inconsistent_utf8(ustr *s)
{
    ustr out = {0}, part = {0};
    int rc = 0, changed = 0;
    for (size_t pos = 0; pos < s->n && rc == 0;) {
        size_t len = ftfy_utf8_detector_match(s->cp, s->n, pos);
        if (len == 0) {
            rc = ustr_push(&out, s->cp[pos++]);
            continue;
        }
        part.n = 0;
        rc = ustr_append(&part, s->cp + pos, len);
        if (rc == 0 && len < s->n && ftfy_is_bad(part.cp, part.n))
            rc = fix_encoding(&part) < 0 ? -1 : 0;
        if (rc == 0) {
            changed |= part.n != len || memcmp(part.cp, s->cp + pos, len * sizeof *part.cp) != 0;
            rc = ustr_append(&out, part.cp, part.n);
        }
        pos += len;
    }
    ustr_free(&part);
    if (rc != 0) {
        ustr_free(&out);
        return -1;
    }
    if (changed)
        ustr_swap(s, &out);
    else
        ustr_free(&out);
    return changed;
}

/* _fix_encoding_one_step_and_explain(). Returns 1 when s changed, 0 when not, -1
 * when out of memory. */
static int fix_encoding_step(ustr *s)
{
    if (s->n == 0 || is_ascii(s) || !ftfy_is_bad(s->cp, s->n))
        return 0;
    for (int enc = 0; enc < ftfy_charmap_count(); enc++) {
        ustr fixed = {0};
        int rc = ftfy_redecode(s, enc, &fixed);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            int changed = fixed.n != s->n || memcmp(fixed.cp, s->cp, s->n * sizeof *s->cp) != 0;
            ustr_swap(s, &fixed);
            return changed;
        }
    }
    int rc = decode_inconsistent_utf8(s);
    if (rc != 0)
        return rc;
    /* Left: latin-1 text re-decoded as windows-1252, or else fix_c1_controls. Both
     * only change C1 controls, and to the same characters. */
    int changed = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->cp[i] < 0x80 || s->cp[i] >= 0xA0)
            continue;
        uint32_t c = sloppy_1252_decode((uint8_t)s->cp[i]);
        changed |= c != s->cp[i];
        s->cp[i] = c;
    }
    return changed;
}

static int fix_encoding(ustr *s)
{
    int rc;
    while ((rc = fix_encoding_step(s)) == 1)
        ;
    return rc;
}

/* fix_latin_ligatures: chardata.LIGATURES. */
static const uint32_t *ligature(uint32_t c)
{
    static const uint32_t table[][4] = {
        {0x132, 'I', 'J'}, {0x133, 'i', 'j'}, {0x149, 0x2BC, 'n'},
        {0x1F1, 'D', 'Z'}, {0x1F2, 'D', 'z'}, {0x1F3, 'd', 'z'},
        {0x1C4, 'D', 0x17D}, {0x1C5, 'D', 0x17E}, {0x1C6, 'd', 0x17E},
        {0x1C7, 'L', 'J'}, {0x1C8, 'L', 'j'}, {0x1C9, 'l', 'j'},
        {0x1CA, 'N', 'J'}, {0x1CB, 'N', 'j'}, {0x1CC, 'n', 'j'},
        {0xFB00, 'f', 'f'}, {0xFB01, 'f', 'i'}, {0xFB02, 'f', 'l'},
        {0xFB03, 'f', 'f', 'i'}, {0xFB04, 'f', 'f', 'l'}, {0xFB05, 0x17F, 't'},
        {0xFB06, 's', 't'},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i][0] == c)
            return table[i] + 1;
    return NULL;
}

/* fix_character_width: U+3000 -> space, U+FF01..U+FFEF -> their NFKC form. */
static int width_fix(uint32_t c, uint32_t out[4])
{
    if (c == 0x3000) {
        out[0] = ' ';
        return 1;
    }
    if (c < 0xFF01 || c > 0xFFEF)
        return 0;
    utf8proc_int32_t buf[4];
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 4,
                                                 UTF8PROC_COMPAT | UTF8PROC_COMPOSE, &boundclass);
    if (n <= 0 || n > 4 || (n == 1 && (uint32_t)buf[0] == c))
        return 0;
    utf8proc_ssize_t k = utf8proc_normalize_utf32(buf, n, UTF8PROC_COMPAT | UTF8PROC_COMPOSE);
    for (utf8proc_ssize_t i = 0; i < k; i++)
        out[i] = (uint32_t)buf[i];
    return k > 0 ? (int)k : 0;
}

/* chardata.CONTROL_CHARS */
/* uncurl_quotes */
static uint32_t uncurl(uint32_t c)
{
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B))
        return '\'';
    if (c >= 0x201C && c <= 0x201F)
        return '"';
    return c;
}

static int is_removed_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* remove_terminal_escapes: "\033\[[0-9;]*[a-zA-Z]". Length of the escape at i, or 0. */
static size_t terminal_escape_length(const ustr *s, size_t i)
{
    if (s->cp[i] != 0x1B || i + 1 >= s->n || s->cp[i + 1] != '[')
        return 0;
    size_t j = i + 2;
    while (j < s->n && ((s->cp[j] >= '0' && s->cp[j] <= '9') || s->cp[j] == ';'))
        j++;
    if (j < s->n && ((s->cp[j] | 0x20) >= 'a' && (s->cp[j] | 0x20) <= 'z'))
        return j + 1 - i;
    return 0;
}

/* The character-level fixers, in ftfy's order; each runs over the whole text before
 * the next (they can interact: a ligature replacement is then width-fixed, ...). */
static int character_fixes(ustr *s)
{
    ustr out = {0};
    int rc = 0;
    /* fix_c1_controls */
    for (size_t i = 0; i < s->n; i++)
        if (s->cp[i] >= 0x80 && s->cp[i] < 0xA0)
            s->cp[i] = sloppy_1252_decode((uint8_t)s->cp[i]);
    /* fix_latin_ligatures, fix_character_width, uncurl_quotes: one character to
     * a few, none of which feeds an earlier fixer of this list again. */
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        uint32_t c = s->cp[i], wide[4];
        const uint32_t *lig = ligature(c);
        if (lig) {
            for (int k = 0; k < 3 && lig[k] && rc == 0; k++)
                rc = ustr_push(&out, uncurl(lig[k]));
            continue;
        }
        int n = width_fix(c, wide);
        for (int k = 0; k < n; k++)
            wide[k] = uncurl(wide[k]);
        if (n > 0) {
            rc = ustr_append(&out, wide, (size_t)n);
            continue;
        }
        rc = ustr_push(&out, uncurl(c));
    }
    if (rc != 0) {
        ustr_free(&out);
        return -1;
    }
    /* fix_line_breaks, remove_terminal_escapes, remove_control_chars, in place. */
    size_t k = 0;
    for (size_t i = 0; i < out.n; i++) {
        uint32_t c = out.cp[i];
        if (c == '\r' && i + 1 < out.n && out.cp[i + 1] == '\n')
            continue;
        if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85)
            c = '\n';
        out.cp[k++] = c;
    }
    out.n = k;
    k = 0;
    for (size_t i = 0; i < out.n;) {
        size_t esc = terminal_escape_length(&out, i);
        if (esc) {
            i += esc;
            continue;
        }
        out.cp[k++] = out.cp[i++];
    }
    out.n = k;
    k = 0;
    for (size_t i = 0; i < out.n; i++)
        if (!is_removed_control(out.cp[i]))
            out.cp[k++] = out.cp[i];
    out.n = k;
    ustr_swap(s, &out);
    return 0;
}

/* fix_and_explain(): the fixers until a fixed point. */
static int fix_segment(ustr *s, int unescape)
{
    for (;;) {
        ustr orig = {0};
        if (ustr_append(&orig, s->cp, s->n) != 0)
            return -1;
        int rc = unescape ? ftfy_unescape_html(s) : 0;
        if (rc == 0)
            rc = fix_encoding(s) < 0 ? -1 : 0;
        if (rc == 0)
            rc = character_fixes(s);
        if (rc == 0)
            rc = uc_nfc(s);
        int same = rc == 0 && orig.n == s->n &&
                   (s->n == 0 || memcmp(orig.cp, s->cp, s->n * sizeof *s->cp) == 0);
        ustr_free(&orig);
        if (rc != 0)
            return -1;
        if (same)
            return 0;
    }
}

int ftfy_fix_text(ustr *s)
{
    ustr out = {0}, segment = {0};
    int unescape = 1;  /* unescape_html="auto": off from the first line holding '<' on */
    for (size_t pos = 0; pos < s->n;) {
        size_t end = pos;
        while (end < s->n && s->cp[end] != '\n')
            end++;
        if (end < s->n)
            end++;  /* the segment keeps its '\n' */
        segment.n = 0;
        for (size_t i = pos; i < end; i++)
            if (s->cp[i] == '<')
                unescape = 0;
        if (ustr_append(&segment, s->cp + pos, end - pos) != 0 ||
            fix_segment(&segment, unescape) != 0 || ustr_append(&out, segment.cp, segment.n) != 0) {
            ustr_free(&segment);
            ustr_free(&out);
            return -1;
        }
        pos = end;
    }
    ustr_free(&segment);
    ustr_swap(s, &out);
    return 0;
}
