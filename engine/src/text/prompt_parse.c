/* A1111's parse_prompt_attention and extra-network tags, token for token.
 *
 * A1111 matches one regular expression repeatedly (re_attention); its alternatives, in
 * order, are reproduced by next_token():
 *   \(  \)  \[  \]  \\      escaped character        → literal text
 *   \                       a lone backslash         → empty text (text[1:] of "\")
 *   (  [                    open
 *   :([+-]?[.\d]+)\)        weight and close
 *   )  ]                    close
 *   [^\\()\[\]:]+           text
 *   :                       text
 * and a text span is split at re_break (\s*\bBREAK\b\s*) into parts with break markers
 * between them. */
#include "text/prompt_parse.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef enum { TOK_TEXT, TOK_ESCAPED, TOK_OPEN_ROUND, TOK_OPEN_SQUARE, TOK_WEIGHT_CLOSE,
               TOK_CLOSE_ROUND, TOK_CLOSE_SQUARE } tok_kind;

typedef struct {
    tok_kind kind;
    const char *start;   /* the token's text */
    size_t len;
    const char *num;     /* TOK_WEIGHT_CLOSE: the number */
    size_t num_len;
} token;

static int is_special(char c)
{
    return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == ':';
}

static void next_token(const char *p, token *t)
{
    t->start = p;
    t->num = NULL;
    t->num_len = 0;
    if (p[0] == '\\') {
        if (p[1] == '(' || p[1] == ')' || p[1] == '[' || p[1] == ']' || p[1] == '\\') {
            t->kind = TOK_ESCAPED;
            t->len = 2;
        } else {
            t->kind = TOK_ESCAPED;   /* lone backslash: text[1:] is "" */
            t->len = 1;
        }
        return;
    }
    t->len = 1;
    switch (p[0]) {
    case '(': t->kind = TOK_OPEN_ROUND; return;
    case '[': t->kind = TOK_OPEN_SQUARE; return;
    case ')': t->kind = TOK_CLOSE_ROUND; return;
    case ']': t->kind = TOK_CLOSE_SQUARE; return;
    case ':': {
        size_t n = 1;
        if (p[n] == '+' || p[n] == '-')
            n++;
        size_t digits = 0;
        while (p[n + digits] == '.' || (p[n + digits] >= '0' && p[n + digits] <= '9'))
            digits++;
        if (digits > 0 && p[n + digits] == ')') {
            t->kind = TOK_WEIGHT_CLOSE;
            t->num = p + 1;
            t->num_len = n - 1 + digits;
            t->len = n + digits + 1;
        } else {
            t->kind = TOK_TEXT;   /* the ':' alternative */
        }
        return;
    }
    default:
        t->kind = TOK_TEXT;
        while (p[t->len] && !is_special(p[t->len]))
            t->len++;
        return;
    }
}

/* ---- the result list (A1111's res) ---- */

typedef struct {
    sd_prompt_span *v;
    int n, cap;
} span_list;

static int push_span(span_list *l, const char *text, size_t len, double weight)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        sd_prompt_span *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s)
        return -1;
    memcpy(s, text, len);
    s[len] = '\0';
    l->v[l->n].text = s;
    l->v[l->n].weight = weight;
    l->n++;
    return 0;
}

static void multiply_range(span_list *l, int start, double multiplier)
{
    for (int p = start; p < l->n; p++)
        l->v[p].weight *= multiplier;
}

/* Python's \s and \w on str (ASCII; non-ASCII bytes count as word characters, which holds
 * for letters, the common case, and never for the separators around BREAK). */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int py_word(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* re.split(re_break, text) with ["BREAK", -1] between the parts. */
static int push_text_with_breaks(span_list *l, const char *s, size_t len)
{
    static const char brk[] = "BREAK";
    const size_t blen = sizeof brk - 1;
    size_t part = 0;   /* start of the current part (end of the previous match) */
    for (size_t k = part; k + blen <= len; k++) {
        if (memcmp(s + k, brk, blen) != 0)
            continue;
        int left = k == 0 || !py_word((unsigned char)s[k - 1]);
        int right = k + blen == len || !py_word((unsigned char)s[k + blen]);
        if (!left || !right)
            continue;
        size_t m0 = k, m1 = k + blen;   /* widen over \s* on both sides */
        while (m0 > part && py_space((unsigned char)s[m0 - 1]))
            m0--;
        while (m1 < len && py_space((unsigned char)s[m1]))
            m1++;
        if (push_span(l, s + part, m0 - part, 1.0) != 0 ||
            push_span(l, brk, blen, SD_PROMPT_BREAK_WEIGHT) != 0)
            return -1;
        part = m1;
        k = m1 - 1;
    }
    return push_span(l, s + part, len - part, 1.0);
}

/* Python float() of the regex's [+-]?[.\d]+: "1.", ".5", "+2" parse; ".", "1.2.3" do not. */
static int parse_number(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0;
    int digits = 0, dots = 0;
    for (size_t j = i; j < len; j++) {
        if (buf[j] == '.')
            dots++;
        else
            digits++;
    }
    if (digits == 0 || dots > 1)
        return -1;
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

typedef struct {
    int *v;
    int n, cap;
} int_stack;

static int push_int(int_stack *s, int x)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        int *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static void free_spans(span_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Merges runs of identical weights (A1111 compares the floats exactly). */
static int merge_runs(span_list *l)
{
    int i = 0;
    while (i + 1 < l->n) {
        if (l->v[i].weight != l->v[i + 1].weight) {
            i++;
            continue;
        }
        size_t a = strlen(l->v[i].text), b = strlen(l->v[i + 1].text);
        char *s = realloc(l->v[i].text, a + b + 1);
        if (!s)
            return -1;
        memcpy(s + a, l->v[i + 1].text, b + 1);
        l->v[i].text = s;
        free(l->v[i + 1].text);
        memmove(&l->v[i + 1], &l->v[i + 2], (size_t)(l->n - i - 2) * sizeof l->v[0]);
        l->n--;
    }
    return 0;
}

static sd_status parse_attention(const char *text, span_list *res, sd_error *err)
{
    int_stack round = {0}, square = {0};
    sd_status st = SD_OK;
    for (const char *p = text; *p && st == SD_OK;) {
        token t;
        next_token(p, &t);
        p += t.len;
        int fail = 0;
        double w;
        if (t.kind == TOK_ESCAPED) {
            fail = push_span(res, t.start + 1, t.len - 1, 1.0);
        } else if (t.kind == TOK_OPEN_ROUND) {
            fail = push_int(&round, res->n);
        } else if (t.kind == TOK_OPEN_SQUARE) {
            fail = push_int(&square, res->n);
        } else if (t.kind == TOK_WEIGHT_CLOSE && round.n > 0) {
            if (parse_number(t.num, t.num_len, &w) != 0)
                st = sd_fail(err, SD_ERR_INVALID_ARG, "prompt: weight \"%.*s\" is not a number",
                             (int)t.num_len, t.num);
            else
                multiply_range(res, round.v[--round.n], w);
        } else if (t.kind == TOK_CLOSE_ROUND && round.n > 0) {
            multiply_range(res, round.v[--round.n], SD_PROMPT_ROUND_MULTIPLIER);
        } else if (t.kind == TOK_CLOSE_SQUARE && square.n > 0) {
            multiply_range(res, square.v[--square.n], 1 / SD_PROMPT_ROUND_MULTIPLIER);
        } else {
            fail = push_text_with_breaks(res, t.start, t.len);
        }
        if (fail)
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
    }
    for (int i = 0; st == SD_OK && i < round.n; i++)
        multiply_range(res, round.v[i], SD_PROMPT_ROUND_MULTIPLIER);
    for (int i = 0; st == SD_OK && i < square.n; i++)
        multiply_range(res, square.v[i], 1 / SD_PROMPT_ROUND_MULTIPLIER);
    free(round.v);
    free(square.v);
    if (st == SD_OK && res->n == 0 && push_span(res, "", 0, 1.0) != 0)
        st = sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
    if (st == SD_OK && merge_runs(res) != 0)
        st = sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
    return st;
}

/* ---- extra-network tags: re_extra_net = <(\w+):([^>]+)> ---- */

/* Length of a tag at p ("<word:args>"), 0 when there is none; *word_len, *args set. */
static size_t match_tag(const char *p, size_t *word_len, const char **args, size_t *args_len)
{
    if (p[0] != '<')
        return 0;
    size_t n = 1;
    while (py_word((unsigned char)p[n]))
        n++;
    if (n == 1 || p[n] != ':')
        return 0;
    *word_len = n - 1;
    size_t a = n + 1, e = a;
    while (p[e] && p[e] != '>')
        e++;
    if (e == a || p[e] != '>')
        return 0;
    *args = p + a;
    *args_len = e - a;
    return e + 1;
}

/* "name[:weight]" of a lora tag (A1111 splits the arguments at ':'). */
static sd_status lora_from_args(const char *args, size_t len, sd_prompt_lora *out,
                                sd_error *err)
{
    const char *colon = memchr(args, ':', len);
    size_t name_len = colon ? (size_t)(colon - args) : len;
    double weight = 1.0;
    if (name_len == 0)
        return sd_fail(err, SD_ERR_INVALID_ARG, "prompt: <lora:%.*s>: no LoRA name", (int)len,
                       args);
    if (colon) {
        const char *w = colon + 1;
        size_t wl = len - name_len - 1;
        if (memchr(w, ':', wl))
            return sd_fail(err, SD_ERR_INVALID_ARG,
                           "prompt: <lora:%.*s>: one weight only (separate text-encoder and "
                           "U-Net weights are not supported)", (int)len, args);
        char buf[64];
        char *end = NULL;
        if (wl > 0 && wl < sizeof buf) {
            memcpy(buf, w, wl);
            buf[wl] = '\0';
            weight = strtod(buf, &end);
        }
        if (!end || end == buf || *end != '\0')
            return sd_fail(err, SD_ERR_INVALID_ARG,
                           "prompt: <lora:%.*s>: weight \"%.*s\" is not a number", (int)len,
                           args, (int)wl, w);
    }
    out->name = malloc(name_len + 1);
    if (!out->name)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
    memcpy(out->name, args, name_len);
    out->name[name_len] = '\0';
    out->weight = weight;
    return SD_OK;
}

static void free_loras(sd_prompt_lora *l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i].name);
    free(l);
}

sd_status sd_prompt_strip_loras(const char *text, char **result, sd_prompt_lora **loras,
                                int *n_loras, sd_error *err)
{
    if (!text)
        text = "";
    *result = NULL;
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    sd_prompt_lora *list = NULL;
    int n = 0;
    sd_status st = SD_OK;
    if (!out)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
    size_t o = 0;
    for (const char *p = text; *p;) {
        size_t word_len, args_len, tag;
        const char *args;
        if (!(tag = match_tag(p, &word_len, &args, &args_len))) {
            out[o++] = *p++;
            continue;
        }
        int is_lora = (word_len == 4 && memcmp(p + 1, "lora", 4) == 0) ||
                      (word_len == 4 && memcmp(p + 1, "lyco", 4) == 0);
        if (!is_lora) {
            st = sd_fail(err, SD_ERR_UNSUPPORTED,
                    "prompt: <%.*s:…> tags are not supported (only <lora:name:weight>)",
                    (int)word_len, p + 1);
            goto fail;
        }
        sd_prompt_lora *grown = realloc(list, (size_t)(n + 1) * sizeof *grown);
        if (!grown) {
            st = sd_fail(err, SD_ERR_NOMEM, "out of memory parsing the prompt");
            goto fail;
        }
        list = grown;
        if ((st = lora_from_args(args, args_len, &list[n], err)) != SD_OK)
            goto fail;
        n++;
        p += tag;
    }
    out[o] = '\0';
    if (loras) {
        *loras = list;
        *n_loras = n;
    } else {
        free_loras(list, n);
    }
    *result = out;
    return SD_OK;
fail:
    free_loras(list, n);
    free(out);
    return st;
}

sd_status sd_prompt_parse(const char *text, sd_prompt_parsed *out, sd_error *err)
{
    memset(out, 0, sizeof *out);
    sd_prompt_lora *loras = NULL;
    int n_loras = 0;
    char *plain = NULL;
    sd_status st = sd_prompt_strip_loras(text, &plain, &loras, &n_loras, err);
    if (st != SD_OK)
        return st;
    span_list res = {0};
    st = parse_attention(plain, &res, err);
    free(plain);
    if (st != SD_OK) {
        free_spans(&res);
        free_loras(loras, n_loras);
        return st;
    }
    out->spans = res.v;
    out->n_spans = res.n;
    out->loras = loras;
    out->n_loras = n_loras;
    return SD_OK;
}

void sd_prompt_parsed_free(sd_prompt_parsed *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_spans; i++)
        free(p->spans[i].text);
    free(p->spans);
    free_loras(p->loras, p->n_loras);
    memset(p, 0, sizeof *p);
}
