/* ftfy 6.1.1's two character-class regexes: badness.is_bad()'s BADNESS_RE, short
 * character sequences rare in real text but common in UTF-8 decoded as a single-byte
 * encoding (each alternative is one pattern below, one class per position), and
 * chardata.UTF8_DETECTOR_RE, runs of what look like UTF-8 sequences so decoded. */
#include "text/cleanup/ftfy.h"

#include <string.h>

#include <utf8proc.h>

/* badness.MOJIBAKE_CATEGORIES, verbatim ("X-Y" is a range). */
#define COMMON "\u00a0\u00ad·´–—―…’"
#define C1 "\302\200-\302\237"
#define BAD "\u00a6¤¨¬¯¶§¸ƒˆˇ˘˛˜†‡‰\u2310◊�ªº"
#define CURRENCY "¢£¥₧€"
#define START_PUNCTUATION "¡«¿\u00a9΄΅‘‚“„•‹\uf8ff"
#define END_PUNCTUATION "\u00ae»˝”›\u2122"
#define NUMERIC "²³¹±¼½¾×µ÷⁄∂∆∏∑√∞∩∫≈≠≡≤≥\u2116"
#define KAOMOJI "Ò-ÖÙ-Üò-öø-üŐ\u00b0"
#define UPPER_ACCENTED "À-ÑØÜÝĂĄĆČĎĐĘĚĞİĹĽŁŃŇŒŘŚŞŠŢŤŮŰŸŹŻŽҐ"
#define LOWER_ACCENTED "ßà-ñăąćčďđęěğĺľłœŕśşšťüźżžґﬁﬂ"
#define UPPER_COMMON "ÞΑ-ΩΆΈΉΊΌΎΏΪΫЁ-Я"
#define LOWER_COMMON "α-ωάέήίΰа-џ"
#define BOX "│┌┐┘├┤┬┼═-╬▀▄█▌▐░▒▓"

typedef enum { CLS_END = 0, CLS_SET, CLS_NOT_SET, CLS_SPACE, CLS_WORD, CLS_ANY, CLS_START } cls_kind;

typedef struct {
    cls_kind kind;
    const char *set;  /* UTF-8 members for CLS_SET / CLS_NOT_SET */
} cls;

#define SET(s) {CLS_SET, s}
#define PATTERN_LEN 8

/* BADNESS_RE's alternatives in order; "[a-z]\s?[ÃÂ][ ]" is split in two. */
static const cls patterns[][PATTERN_LEN] = {
    {SET(C1)},
    {SET(BAD LOWER_ACCENTED UPPER_ACCENTED BOX START_PUNCTUATION END_PUNCTUATION CURRENCY NUMERIC),
     SET(BAD)},
    {SET("a-zA-Z"), SET(LOWER_COMMON UPPER_COMMON), SET(BAD)},
    {SET(BAD), SET(LOWER_ACCENTED UPPER_ACCENTED BOX START_PUNCTUATION END_PUNCTUATION CURRENCY NUMERIC)},
    {SET(LOWER_ACCENTED LOWER_COMMON BOX END_PUNCTUATION CURRENCY NUMERIC), SET(UPPER_ACCENTED)},
    {SET(BOX END_PUNCTUATION CURRENCY NUMERIC), SET(LOWER_ACCENTED)},
    {SET(LOWER_ACCENTED BOX END_PUNCTUATION), SET(CURRENCY)},
    {{CLS_SPACE, NULL}, SET(UPPER_ACCENTED), SET(CURRENCY)},
    {SET(UPPER_ACCENTED BOX), SET(NUMERIC)},
    {SET(LOWER_ACCENTED UPPER_ACCENTED BOX CURRENCY END_PUNCTUATION), SET(START_PUNCTUATION),
     SET(NUMERIC)},
    {SET(LOWER_ACCENTED UPPER_ACCENTED CURRENCY NUMERIC BOX), SET(END_PUNCTUATION),
     SET(START_PUNCTUATION)},
    {SET(CURRENCY NUMERIC BOX), SET(START_PUNCTUATION)},
    {SET("a-z"), SET(UPPER_ACCENTED), SET(START_PUNCTUATION CURRENCY)},
    {SET(BOX), SET(KAOMOJI)},
    {SET(LOWER_ACCENTED UPPER_ACCENTED CURRENCY NUMERIC START_PUNCTUATION END_PUNCTUATION),
     SET(BOX)},
    {SET(BOX), SET(END_PUNCTUATION)},
    {SET(LOWER_ACCENTED UPPER_ACCENTED), SET(END_PUNCTUATION), {CLS_WORD, NULL}},
    {SET("Œœ"), {CLS_NOT_SET, "A-Za-z"}},
    {SET("ÂÃÎÐ"), SET("€Šš¢£Ÿž\u00a0\u00ad\u00ae\u00a9°·»" START_PUNCTUATION END_PUNCTUATION "–—´")},
    {SET("×"), SET("²³")},
    {SET("ØÙ"), SET(COMMON CURRENCY BAD NUMERIC START_PUNCTUATION "ŸŠ\u00ae°µ»"),
     SET("ØÙ"), SET(COMMON CURRENCY BAD NUMERIC START_PUNCTUATION "ŸŠ\u00ae°µ»")},
    {SET("à"), SET("²µ¹¼½¾")},
    {SET("√"), SET("±∂†≠\u00ae\u2122´≤≥¥µø")},
    {SET("≈"), SET("°¢")},
    {SET("‚"), SET("Ä"), SET("ìîïòôúùû†°¢π")},
    {SET("‚"), SET("âó"), SET("àä°ê")},
    {SET("в"), SET("Ђ")},
    {SET("ВГРС"), SET(C1 BAD START_PUNCTUATION END_PUNCTUATION CURRENCY "°µ"), SET("ВГРС")},
    {SET("Г"), SET("ў"), SET("В"), SET("Ђ"), SET("В"), {CLS_ANY, NULL}, SET("A-Za-z ")},
    {SET("Ã"), SET("\u00a0¡")},
    {SET("a-z"), SET("ÃÂ"), SET(" ")},
    {SET("a-z"), {CLS_SPACE, NULL}, SET("ÃÂ"), SET(" ")},
    {{CLS_START, NULL}, SET("ÃÂ"), SET(" ")},
    {SET("a-z.,!?" END_PUNCTUATION), SET("Â"), SET(" " START_PUNCTUATION END_PUNCTUATION)},
    {SET("β"), SET("€"), SET("\u2122\u00a0Ά\u00ad\u00ae°")},
    {SET("ΒΓΞΟ"), SET(C1 BAD START_PUNCTUATION END_PUNCTUATION CURRENCY "°"), SET("ΒΓΞΟ")},
};

/* Next code point of a valid UTF-8 literal. */
static uint32_t next_cp(const char **p)
{
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)*p, -1, &cp);
    *p += k > 0 ? k : 1;
    return (uint32_t)cp;
}

static int in_set(const char *set, uint32_t c)
{
    const char *p = set;
    while (*p) {
        uint32_t lo = next_cp(&p), hi = lo;
        if (p[0] == '-' && p[1] != '\0') {
            p++;
            hi = next_cp(&p);
        }
        if (c >= lo && c <= hi)
            return 1;
    }
    return 0;
}

/* Python's \w on str: alphanumeric (letters and numbers) or '_'. */
static int is_word(uint32_t c)
{
    if (c == '_')
        return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

static int matches_at(const cls *pat, const uint32_t *s, size_t n, size_t pos)
{
    for (int k = 0; k < PATTERN_LEN && pat[k].kind != CLS_END; k++) {
        if (pat[k].kind == CLS_START) {
            if (pos != 0)
                return 0;
            continue;
        }
        if (pos >= n)
            return 0;
        uint32_t c = s[pos++];
        int ok = 0;
        switch (pat[k].kind) {
        case CLS_SET: ok = in_set(pat[k].set, c); break;
        case CLS_NOT_SET: ok = !in_set(pat[k].set, c); break;
        case CLS_SPACE: ok = uc_isspace(c); break;
        case CLS_WORD: ok = is_word(c); break;
        case CLS_ANY: ok = c != '\n'; break;
        default: break;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

int ftfy_is_bad(const uint32_t *s, size_t n)
{
    for (size_t pos = 0; pos < n; pos++)
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
            if (matches_at(patterns[i], s, n, pos))
                return 1;
    return 0;
}

/* chardata.UTF8_CLUES, verbatim. */
#define UTF8_FIRST_OF_2 "ÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßĂĆČĎĐĘĚĞİĹŃŇŐŘŞŢŮŰΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
#define UTF8_FIRST_OF_3 "àáâãäåæçèéêëìíîïăćčďęěĺŕΰαβγδεζηθικλμνξοабвгдежзийклмноп"
#define UTF8_FIRST_OF_4 "ðóđğπσру"
#define UTF8_CONTINUATION "\302\200-¿ĄąĽľŁłŒœŚśŞşŠšŤťŸŹźŻżŽžƒˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ–—―‘’‚“”„†‡•…‰‹›€\u2116\u2122 "
#define UTF8_CONTINUATION_STRICT "\302\200-¿ĄąĽľŁłŒœŚśŞşŠšŤťŸŹźŻżŽžƒˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ†‡•‰‹›€\u2116\u2122"

/* One "lead + continuations" sequence at pos: its length, or 0. */
static size_t utf8_like_sequence(const uint32_t *s, size_t n, size_t pos)
{
    static const char *const leads[3] = {UTF8_FIRST_OF_2, UTF8_FIRST_OF_3, UTF8_FIRST_OF_4};
    for (size_t k = 0; k < 3; k++) {
        size_t len = k + 2;
        if (pos + len > n || !in_set(leads[k], s[pos]))
            continue;
        size_t i = 1;
        while (i < len && in_set(UTF8_CONTINUATION, s[pos + i]))
            i++;
        if (i == len)
            return len;
    }
    return 0;
}

size_t ftfy_utf8_detector_match(const uint32_t *s, size_t n, size_t pos)
{
    if (pos > 0 && in_set(UTF8_CONTINUATION_STRICT, s[pos - 1]))
        return 0;  /* (?<![utf8_continuation_strict]) */
    size_t end = pos, len;
    while ((len = utf8_like_sequence(s, n, end)) > 0)
        end += len;
    return end - pos;
}
