/* CLIP's text cleaning (simple_tokenizer.py basic_clean, whitespace_clean, lower) and
 * pre-tokenizer regex, with libutf8proc for the Unicode properties Python uses. */
#include "text/cleanup/text_clean.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/error.h"
#include "text/cleanup/ftfy.h"
#include "text/cleanup/html_unescape.h"

/* ---- code point strings ---------------------------------------------------- */

int ustr_push(ustr *s, uint32_t c)
{
    return ustr_append(s, &c, 1);
}

int ustr_append(ustr *s, const uint32_t *c, size_t n)
{
    if (n == 0)
        return 0;
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->n + n)
            cap *= 2;
        uint32_t *p = realloc(s->cp, cap * sizeof *p);
        if (!p)
            return -1;
        s->cp = p;
        s->cap = cap;
    }
    memcpy(s->cp + s->n, c, n * sizeof *c);
    s->n += n;
    return 0;
}

int ustr_append_utf8(ustr *s, const char *utf8)
{
    return utf8_decode(utf8, strlen(utf8), s);
}

void ustr_free(ustr *s)
{
    free(s->cp);
    *s = (ustr){0};
}

void ustr_swap(ustr *a, ustr *b)
{
    free(a->cp);
    *a = *b;
    *b = (ustr){0};
}

size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int utf8_decode(const char *utf8, size_t len, ustr *out)
{
    const uint8_t *p = (const uint8_t *)utf8;
    for (size_t i = 0; i < len;) {
        uint8_t b = p[i];
        uint32_t cp;
        size_t need;
        /* Lead bytes and the allowed range of the first continuation byte (Unicode
         * Table 3-7), so overlong forms and surrogates are rejected. */
        uint8_t lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            cp = b, need = 0;
        } else if (b >= 0xC2 && b <= 0xDF) {
            cp = b & 0x1F, need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            cp = b & 0x0F, need = 2;
            if (b == 0xE0)
                lo = 0xA0;
            if (b == 0xED)
                hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            cp = b & 0x07, need = 3;
            if (b == 0xF0)
                lo = 0x90;
            if (b == 0xF4)
                hi = 0x8F;
        } else {
            if (ustr_push(out, 0xFFFD) != 0)
                return -1;
            i++;
            continue;
        }
        size_t k = 1;
        for (; k <= need; k++) {
            if (i + k >= len)
                break;
            uint8_t c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
                break;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (k <= need)
            cp = 0xFFFD;  /* the maximal valid prefix is replaced, decoding resumes after it */
        if (ustr_push(out, cp) != 0)
            return -1;
        i += k <= need ? k : need + 1;
    }
    return 0;
}

/* ---- Unicode properties ----------------------------------------------------- */

int uc_isspace(uint32_t c)
{
    /* Python's str.isspace(): general category Zs, or bidirectional class WS, B or S. */
    switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E:
    case 0x1F: case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

static int uc_is_letter(uint32_t c)
{
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return 1;
    default:
        return 0;
    }
}

static int uc_is_number(uint32_t c)
{
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

int uc_nfc(ustr *s)
{
    ustr d = {0};
    for (size_t i = 0; i < s->n; i++) {
        utf8proc_int32_t buf[32];
        int boundclass = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)s->cp[i], buf, 32,
                                                     UTF8PROC_COMPOSE | UTF8PROC_STABLE,
                                                     &boundclass);
        if (k < 0 || k > 32) {
            buf[0] = (utf8proc_int32_t)s->cp[i];
            k = 1;
        }
        if (ustr_append(&d, (const uint32_t *)buf, (size_t)k) != 0) {
            ustr_free(&d);
            return -1;
        }
    }
    if (d.n > 0) {
        utf8proc_ssize_t n = utf8proc_normalize_utf32(
            (utf8proc_int32_t *)d.cp, (utf8proc_ssize_t)d.n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        if (n >= 0)
            d.n = (size_t)n;
    }
    ustr_swap(s, &d);
    return 0;
}

/* Unicode's Cased and Case_Ignorable properties, as far as Python's final-sigma
 * rule in str.lower() needs them. */
static int uc_is_cased(uint32_t c)
{
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
           utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c;
}

static int uc_is_case_ignorable(uint32_t c)
{
    switch (c) {  /* Word_Break MidLetter, MidNumLet, Single_Quote */
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        return 0;
    }
}

/* Σ lowers to final ς after a cased letter and not before one (case-ignorables
 * skipped), as CPython's handle_capital_sigma. */
static uint32_t lower_sigma(const ustr *s, size_t i)
{
    size_t j = i;
    while (j > 0 && uc_is_case_ignorable(s->cp[j - 1]))
        j--;
    if (j == 0 || !uc_is_cased(s->cp[j - 1]))
        return 0x3C3;
    for (j = i + 1; j < s->n && uc_is_case_ignorable(s->cp[j]); j++)
        ;
    return j < s->n && uc_is_cased(s->cp[j]) ? 0x3C3 : 0x3C2;
}

/* Python's str.lower(): full lower-case mapping. The only multi-character lower
 * case in SpecialCasing without a language condition is İ -> i + combining dot. */
static int lower(ustr *s)
{
    ustr out = {0};
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        uint32_t c = s->cp[i];
        if (c == 0x130) {
            const uint32_t i_dot[2] = {'i', 0x307};
            rc = ustr_append(&out, i_dot, 2);
        } else if (c == 0x3A3) {
            rc = ustr_push(&out, lower_sigma(s, i));
        } else {
            rc = ustr_push(&out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
        }
    }
    if (rc != 0) {
        ustr_free(&out);
        return -1;
    }
    ustr_swap(s, &out);
    return 0;
}

/* whitespace_clean after strip(): re.sub(r'\s+', ' ', text).strip(). */
static void collapse_whitespace(ustr *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (uc_isspace(s->cp[i])) {
            if (k > 0 && s->cp[k - 1] != ' ')
                s->cp[k++] = ' ';
        } else {
            s->cp[k++] = s->cp[i];
        }
    }
    if (k > 0 && s->cp[k - 1] == ' ')
        k--;
    s->n = k;
}

sd_status clip_clean_text(const char *utf8, ustr *out, sd_error *err)
{
    ustr s = {0};
    if (utf8_decode(utf8, strlen(utf8), &s) != 0 || ftfy_fix_text(&s) != 0 ||
        html_unescape(&s) != 0 || html_unescape(&s) != 0 || lower(&s) != 0) {
        ustr_free(&s);
        return sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory cleaning the prompt");
    }
    /* strip + whitespace_clean commute with lower(): no lower-case mapping makes or
     * removes whitespace. */
    collapse_whitespace(&s);
    *out = s;
    return SD_OK;
}

/* ---- CLIP's pre-tokenizer regex ---------------------------------------------- */

/* Simple case folding for the regex's literal alternatives (IGNORECASE): only ſ
 * (U+017F) folds onto one of their ASCII letters besides the upper-case ones. */
static uint32_t fold(uint32_t c)
{
    if (c == 0x17F)
        return 's';
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    return c;
}

static int match_literal(const ustr *t, size_t pos, const char *lit)
{
    size_t n = strlen(lit);
    if (pos + n > t->n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fold(t->cp[pos + i]) != (uint32_t)(unsigned char)lit[i])
            return 0;
    return 1;
}

/* The regex module's \s; the text only holds single spaces once cleaned. */
static int regex_space(uint32_t c)
{
    return uc_isspace(c) && !(c >= 0x1C && c <= 0x1F);
}

size_t clip_pretoken_length(const ustr *t, size_t pos)
{
    static const char *const specials[2] = {"<|startoftext|>", "<|endoftext|>"};
    return clip_pretoken_length_specials(t, pos, specials);
}

size_t clip_pretoken_length_specials(const ustr *t, size_t pos, const char *const specials[2])
{
    static const char *const literals[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (size_t i = 0; i < 2; i++)
        if (match_literal(t, pos, specials[i]))
            return strlen(specials[i]);
    for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++)
        if (match_literal(t, pos, literals[i]))
            return strlen(literals[i]);
    uint32_t c = t->cp[pos];
    size_t end = pos + 1;
    if (uc_is_letter(c)) {
        while (end < t->n && uc_is_letter(t->cp[end]))
            end++;
        return end - pos;
    }
    if (uc_is_number(c))
        return 1;
    if (regex_space(c))
        return 0;
    while (end < t->n && !regex_space(t->cp[end]) && !uc_is_letter(t->cp[end]) &&
           !uc_is_number(t->cp[end]))
        end++;
    return end - pos;
}
