/* CLIP BPE tokenizer: vocabulary loading (vocab.json + merges.txt, or CLIP's own
 * bpe_simple_vocab_16e6.txt.gz), CLIP's pre-tokenizer regex and the BPE merge loop
 * of openai/CLIP clip/simple_tokenizer.py. Text cleaning lives in text_clean.c. */
#include "text/tokenizer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "core/error.h"
#include "text/cleanup/text_clean.h"

/* CLIP reads merges[1 : 49152 - 256 - 2 + 1] of the file: 48894 merges, so that
 * 256 bytes + 256 bytes with </w> + merges + 2 specials = 49408 tokens. */
#define CLIP_N_MERGES (49152 - 256 - 2)
#define END_OF_WORD "</w>"
#define BOS_TEXT "<|startoftext|>"
#define EOS_TEXT "<|endoftext|>"
#define NO_ID (-1)

typedef struct {
    uint64_t key;   /* (left id << 32) | right id, + 1 so that 0 marks an empty slot */
    int32_t rank;   /* line order in the merges file: lower merges first */
    int32_t merged; /* id of the concatenated token */
} merge_slot;

struct sd_tokenizer {
    char *pool;              /* every token string, NUL-terminated, back to back */
    size_t pool_len, pool_cap;
    uint32_t *token_off;     /* [n_tokens] offset in pool, UINT32_MAX for an unused id */
    int n_tokens;
    int32_t *vocab_slots;    /* open addressing, string -> id; NO_ID = empty */
    uint32_t vocab_mask;
    merge_slot *merge_slots; /* open addressing, (left, right) -> rank, merged id */
    uint32_t merge_mask;
    int32_t byte_id[256];    /* id of byte b's symbol (GPT-2 bytes_to_unicode) */
    int32_t byte_end_id[256];/* the same symbol with </w> */
    int32_t bos, eos;
};

/* ---- hashing -------------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;  /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static uint32_t hash_pair(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (uint32_t)key;
}

static uint32_t table_size_for(size_t n)
{
    uint32_t size = 1024;
    while (size < 2 * n)
        size *= 2;
    return size;
}

static const char *token_str(const sd_tokenizer *t, int32_t id)
{
    return t->pool + t->token_off[id];
}

static int32_t vocab_find(const sd_tokenizer *t, const char *s, size_t n)
{
    for (uint32_t i = hash_bytes(s, n) & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        int32_t id = t->vocab_slots[i];
        if (id == NO_ID)
            return NO_ID;
        const char *other = token_str(t, id);
        if (strncmp(other, s, n) == 0 && other[n] == '\0')
            return id;
    }
}

/* Later entries win, as in CLIP's dict(zip(vocab, range(len(vocab)))). */
static void vocab_insert(sd_tokenizer *t, int32_t id)
{
    const char *s = token_str(t, id);
    for (uint32_t i = hash_bytes(s, strlen(s)) & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        int32_t other = t->vocab_slots[i];
        if (other == NO_ID || strcmp(token_str(t, other), s) == 0) {
            t->vocab_slots[i] = id;
            return;
        }
    }
}

static const merge_slot *merge_find(const sd_tokenizer *t, int32_t left, int32_t right)
{
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    for (uint32_t i = hash_pair(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        const merge_slot *s = &t->merge_slots[i];
        if (s->key == key)
            return s;
        if (s->key == 0)
            return NULL;
    }
}

/* A repeated merge line takes the later rank, as dict(zip(merges, range(...))). */
static void merge_insert(sd_tokenizer *t, int32_t left, int32_t right, int32_t rank,
                         int32_t merged)
{
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    for (uint32_t i = hash_pair(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        merge_slot *s = &t->merge_slots[i];
        if (s->key == 0 || s->key == key) {
            s->key = key;
            s->rank = rank;
            s->merged = merged;
            return;
        }
    }
}

/* ---- building the vocabulary --------------------------------------------- */

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the
 * others map to U+0100 onwards. order[k] is the byte of vocabulary entry k. */
static void bytes_to_unicode(uint8_t order[256], uint32_t cp_of_byte[256])
{
    int k = 0, extra = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            order[k++] = (uint8_t)b;
            cp_of_byte[b] = (uint32_t)b;
        }
    for (int b = 0; b < 256; b++)
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
            order[k++] = (uint8_t)b;
            cp_of_byte[b] = 256u + (uint32_t)extra++;
        }
}

static int pool_add(sd_tokenizer *t, const char *s, size_t n, uint32_t *off)
{
    if (t->pool_len + n + 1 >= UINT32_MAX)
        return -1;  /* offsets are 32-bit; no real vocabulary comes near */
    if (t->pool_len + n + 1 > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 1 << 20;
        while (cap < t->pool_len + n + 1)
            cap *= 2;
        char *p = realloc(t->pool, cap);
        if (!p)
            return -1;
        t->pool = p;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, s, n);
    t->pool[t->pool_len + n] = '\0';
    *off = (uint32_t)t->pool_len;
    t->pool_len += n + 1;
    return 0;
}

static sd_status alloc_tables(sd_tokenizer *t, int n_tokens, size_t n_merges, sd_error *err)
{
    t->n_tokens = n_tokens;
    t->token_off = malloc((size_t)n_tokens * sizeof *t->token_off);
    uint32_t vsize = table_size_for((size_t)n_tokens), msize = table_size_for(n_merges);
    t->vocab_slots = malloc(vsize * sizeof *t->vocab_slots);
    t->merge_slots = calloc(msize, sizeof *t->merge_slots);
    if (!t->token_off || !t->vocab_slots || !t->merge_slots)
        return sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory for %d tokens", n_tokens);
    memset(t->token_off, 0xFF, (size_t)n_tokens * sizeof *t->token_off);
    for (uint32_t i = 0; i < vsize; i++)
        t->vocab_slots[i] = NO_ID;
    t->vocab_mask = vsize - 1;
    t->merge_mask = msize - 1;
    return SD_OK;
}

/* One merge line "left right": both parts and their concatenation must be tokens. */
typedef struct {
    const char *left, *right;
    size_t left_len, right_len;
} merge_line;

static sd_status add_merges(sd_tokenizer *t, const merge_line *m, size_t n, const char *file,
                            sd_error *err)
{
    char buf[512];
    for (size_t i = 0; i < n; i++) {
        int32_t left = vocab_find(t, m[i].left, m[i].left_len);
        int32_t right = vocab_find(t, m[i].right, m[i].right_len);
        int32_t merged = NO_ID;
        if (m[i].left_len + m[i].right_len < sizeof buf) {
            memcpy(buf, m[i].left, m[i].left_len);
            memcpy(buf + m[i].left_len, m[i].right, m[i].right_len);
            merged = vocab_find(t, buf, m[i].left_len + m[i].right_len);
        }
        if (left == NO_ID || right == NO_ID || merged == NO_ID)
            return sd_fail(err, SD_ERR_FORMAT,
                           "%s: merge %zu (\"%.*s %.*s\") uses a token missing from the vocabulary",
                           file, i + 1, (int)m[i].left_len, m[i].left, (int)m[i].right_len,
                           m[i].right);
        merge_insert(t, left, right, (int32_t)i, merged);
    }
    return SD_OK;
}

/* Splits the merge lines of `text` (line 0 is the "#version" header), as CLIP does:
 * lines[1 : 1 + CLIP_N_MERGES], each split on whitespace into exactly two parts. */
static sd_status parse_merges(char *text, const char *file, merge_line **out, size_t *n_out,
                              sd_error *err)
{
    merge_line *m = malloc(CLIP_N_MERGES * sizeof *m);
    if (!m)
        return sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory reading %s", file);
    char *line = strchr(text, '\n');
    size_t n = 0;
    while (line && n < CLIP_N_MERGES) {
        line++;
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (!end && len == 0)
            break;  /* the final newline */
        const char *parts[3];
        size_t lens[3], count = 0;
        for (size_t i = 0; i < len && count < 3;) {
            while (i < len && isspace((unsigned char)line[i]))
                i++;
            if (i == len)
                break;
            size_t start = i;
            while (i < len && !isspace((unsigned char)line[i]))
                i++;
            parts[count] = line + start;
            lens[count++] = i - start;
        }
        if (count != 2) {
            free(m);
            return sd_fail(err, SD_ERR_FORMAT, "%s: line %zu is not a merge \"left right\"", file,
                           n + 2);
        }
        m[n++] = (merge_line){parts[0], parts[1], lens[0], lens[1]};
        line = end;
    }
    *out = m;
    *n_out = n;
    return SD_OK;
}

static sd_status read_file(const char *file, char **out, size_t *len, sd_error *err)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return sd_fail(err, SD_ERR_IO, "cannot open %s", file);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory reading %s", file);
    if (failed) {
        free(buf);
        return sd_fail(err, SD_ERR_IO, "cannot read %s", file);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SD_OK;
}

/* Decompresses the .gz up to the end of line CLIP_N_MERGES (the header + the merges
 * CLIP uses; the rest of the 3 MB file is never read, which keeps loading fast). */
static sd_status read_gz(const char *file, char **out, sd_error *err)
{
    gzFile gz = gzopen(file, "rb");
    if (!gz)
        return sd_fail(err, SD_ERR_IO, "cannot open %s", file);
    enum { CHUNK = 1 << 16 };
    size_t cap = 1 << 19, n = 0, lines = 0;
    char *buf = malloc(cap + 1);
    sd_status st = buf ? SD_OK : sd_fail(err, SD_ERR_NOMEM, "out of memory reading %s", file);
    while (st == SD_OK && lines <= CLIP_N_MERGES) {
        if (n + CHUNK > cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                st = sd_fail(err, SD_ERR_NOMEM, "out of memory reading %s", file);
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        int got = gzread(gz, buf + n, CHUNK);
        if (got <= 0)
            break;
        for (int i = 0; i < got; i++)
            lines += buf[n + (size_t)i] == '\n';
        n += (size_t)got;
    }
    /* A read error, or a truncated stream (a short read with Z_BUF_ERROR pending). */
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (st == SD_OK && code != Z_OK)
        st = sd_fail(err, code == Z_ERRNO ? SD_ERR_IO : SD_ERR_FORMAT, "%s: %s", file,
                     code == Z_BUF_ERROR ? "truncated gzip data" : msg);
    /* gzread passes non-gzip files through unchanged; that is not a vocabulary. */
    if (st == SD_OK && gzdirect(gz))
        st = sd_fail(err, SD_ERR_FORMAT, "%s is not a gzip file", file);
    gzclose(gz);
    if (st != SD_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    return SD_OK;
}

/* UTF-8 of one byte symbol, optionally followed by </w>; buf holds >= 16 bytes. */
static void symbol_utf8(uint32_t cp, int end_of_word, char *buf)
{
    size_t len = utf8_encode(cp, buf);
    strcpy(buf + len, end_of_word ? END_OF_WORD : "");
}

/* Byte symbols: byte_id[b] = id of bytes_to_unicode()[b], byte_end_id[b] with </w>. */
static sd_status resolve_byte_ids(sd_tokenizer *t, const char *file, sd_error *err)
{
    uint8_t order[256];
    uint32_t cp[256];
    bytes_to_unicode(order, cp);
    for (int b = 0; b < 256; b++) {
        char s[16], s_end[16];
        symbol_utf8(cp[b], 0, s);
        symbol_utf8(cp[b], 1, s_end);
        t->byte_id[b] = vocab_find(t, s, strlen(s));
        t->byte_end_id[b] = vocab_find(t, s_end, strlen(s_end));
        if (t->byte_id[b] == NO_ID || t->byte_end_id[b] == NO_ID)
            return sd_fail(err, SD_ERR_FORMAT, "%s: byte symbol %d is missing from the vocabulary",
                           file, b);
    }
    t->bos = vocab_find(t, BOS_TEXT, strlen(BOS_TEXT));
    t->eos = vocab_find(t, EOS_TEXT, strlen(EOS_TEXT));
    if (t->bos == NO_ID || t->eos == NO_ID)
        return sd_fail(err, SD_ERR_FORMAT, "%s: %s or %s is missing from the vocabulary", file,
                       BOS_TEXT, EOS_TEXT);
    return SD_OK;
}

/* CLIP's table: 256 byte symbols, the same with </w>, one token per merge, then
 * <|startoftext|> and <|endoftext|>. */
static sd_status load_gz(sd_tokenizer *t, const char *file, sd_error *err)
{
    char *text = NULL;
    merge_line *m = NULL;
    size_t n_merges = 0;
    sd_status st = read_gz(file, &text, err);
    if (st == SD_OK)
        st = parse_merges(text, file, &m, &n_merges, err);
    if (st == SD_OK && n_merges != CLIP_N_MERGES)
        st = sd_fail(err, SD_ERR_FORMAT, "%s: %zu merges, CLIP's vocabulary has %d", file,
                     n_merges, CLIP_N_MERGES);
    if (st == SD_OK)
        st = alloc_tables(t, 512 + CLIP_N_MERGES + 2, n_merges, err);
    uint8_t order[256];
    uint32_t cp[256];
    bytes_to_unicode(order, cp);
    char buf[512];
    int32_t id = 0;
    for (int pass = 0; st == SD_OK && pass < 2; pass++)
        for (int k = 0; k < 256; k++) {
            symbol_utf8(cp[order[k]], pass, buf);
            if (pool_add(t, buf, strlen(buf), &t->token_off[id]) != 0) {
                st = sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory");
                break;
            }
            vocab_insert(t, id++);
        }
    for (size_t i = 0; st == SD_OK && i < n_merges; i++) {
        size_t len = m[i].left_len + m[i].right_len;
        if (len >= sizeof buf) {
            st = sd_fail(err, SD_ERR_FORMAT, "%s: merge %zu is too long", file, i + 1);
            break;
        }
        memcpy(buf, m[i].left, m[i].left_len);
        memcpy(buf + m[i].left_len, m[i].right, m[i].right_len);
        if (pool_add(t, buf, len, &t->token_off[id]) != 0)
            st = sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory");
        else
            vocab_insert(t, id++);
    }
    const char *specials[2] = {BOS_TEXT, EOS_TEXT};
    for (int i = 0; st == SD_OK && i < 2; i++) {
        if (pool_add(t, specials[i], strlen(specials[i]), &t->token_off[id]) != 0)
            st = sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory");
        else
            vocab_insert(t, id++);
    }
    if (st == SD_OK)
        st = add_merges(t, m, n_merges, file, err);
    if (st == SD_OK)
        st = resolve_byte_ids(t, file, err);
    free(m);
    free(text);
    return st;
}

static sd_status load_json_vocab(sd_tokenizer *t, const char *vocab_file, size_t n_merges,
                                 sd_error *err)
{
    char *text = NULL;
    size_t len = 0;
    sd_status st = read_file(vocab_file, &text, &len, err);
    if (st != SD_OK)
        return st;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sd_fail(err, SD_ERR_FORMAT, "%s is not a JSON object of token ids", vocab_file);
    }
    int max_id = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= (1 << 20) ||
            e->valuedouble != (double)e->valueint) {
            /* the message quotes e->string: format it before the tree is freed */
            st = sd_fail(err, SD_ERR_FORMAT, "%s: token \"%s\" has no valid id", vocab_file,
                         e->string ? e->string : "");
            cJSON_Delete(root);
            return st;
        }
        if (e->valueint > max_id)
            max_id = e->valueint;
    }
    st = max_id < 0 ? sd_fail(err, SD_ERR_FORMAT, "%s has no tokens", vocab_file)
                    : alloc_tables(t, max_id + 1, n_merges, err);
    cJSON_ArrayForEach(e, root) {
        if (st != SD_OK)
            break;
        if (t->token_off[e->valueint] != UINT32_MAX) {
            st = sd_fail(err, SD_ERR_FORMAT, "%s: id %d is given twice", vocab_file, e->valueint);
            break;
        }
        if (pool_add(t, e->string, strlen(e->string), &t->token_off[e->valueint]) != 0)
            st = sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory");
        else
            vocab_insert(t, e->valueint);
    }
    cJSON_Delete(root);
    return st;
}

/* Hugging Face's layout: vocab.json (token -> id) and merges.txt. */
static sd_status load_hf(sd_tokenizer *t, const char *vocab_file, const char *merges_file,
                         sd_error *err)
{
    char *text = NULL;
    size_t len = 0;
    merge_line *m = NULL;
    size_t n_merges = 0;
    sd_status st = read_file(merges_file, &text, &len, err);
    if (st == SD_OK)
        st = parse_merges(text, merges_file, &m, &n_merges, err);
    if (st == SD_OK)
        st = load_json_vocab(t, vocab_file, n_merges, err);
    if (st == SD_OK)
        st = add_merges(t, m, n_merges, merges_file, err);
    if (st == SD_OK)
        st = resolve_byte_ids(t, vocab_file, err);
    free(m);
    free(text);
    return st;
}

static int is_file(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Folder of `file` (with a trailing '/', or "" for the current folder) into buf. */
static void dir_of(const char *file, char *buf, size_t size)
{
    const char *slash = strrchr(file, '/');
    size_t n = slash ? (size_t)(slash - file + 1) : 0;
    snprintf(buf, size, "%.*s", (int)n, file);
}

sd_status sd_tokenizer_load(const char *path, sd_tokenizer **out, sd_error *err)
{
    if (!out)
        return sd_fail(err, SD_ERR_INVALID_ARG, "tokenizer: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return sd_fail(err, SD_ERR_INVALID_ARG, "tokenizer: no vocabulary path given");
    char dir[4096], vocab[4200], merges[4200], gz[4200];
    struct stat s;
    if (stat(path, &s) != 0)
        return sd_fail(err, SD_ERR_IO, "cannot open %s", path);
    if (S_ISDIR(s.st_mode))
        snprintf(dir, sizeof dir, "%s/", path);
    else
        dir_of(path, dir, sizeof dir);
    snprintf(vocab, sizeof vocab, "%svocab.json", dir);
    snprintf(merges, sizeof merges, "%smerges.txt", dir);
    snprintf(gz, sizeof gz, "%sbpe_simple_vocab_16e6.txt.gz", dir);
    if (!S_ISDIR(s.st_mode)) {
        if (ends_with(path, ".gz"))
            snprintf(gz, sizeof gz, "%s", path);
        else if (ends_with(path, ".json"))
            snprintf(vocab, sizeof vocab, "%s", path);
        else if (ends_with(path, ".txt"))
            snprintf(merges, sizeof merges, "%s", path);
        else
            return sd_fail(err, SD_ERR_INVALID_ARG,
                           "%s: expected vocab.json, merges.txt or bpe_simple_vocab_16e6.txt.gz",
                           path);
    }
    int use_gz = S_ISDIR(s.st_mode) ? !(is_file(vocab) || is_file(merges)) && is_file(gz)
                                    : ends_with(path, ".gz");
    if (S_ISDIR(s.st_mode) && !use_gz && !is_file(vocab) && !is_file(merges))
        return sd_fail(err, SD_ERR_IO,
                       "%s holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz",
                       path);

    sd_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return sd_fail(err, SD_ERR_NOMEM, "tokenizer: out of memory");
    sd_status st = use_gz ? load_gz(t, gz, err) : load_hf(t, vocab, merges, err);
    if (st != SD_OK) {
        sd_tokenizer_free(t);
        return st;
    }
    *out = t;
    return SD_OK;
}

void sd_tokenizer_free(sd_tokenizer *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->token_off);
    free(t->vocab_slots);
    free(t->merge_slots);
    free(t);
}

const char *sd_tokenizer_token(const sd_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || id >= t->n_tokens || t->token_off[id] == UINT32_MAX)
        return NULL;
    return token_str(t, id);
}

int sd_tokenizer_vocab_size(const sd_tokenizer *t)
{
    return t ? t->n_tokens : 0;
}

/* ---- encoding ------------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    int n, cap;
} id_list;

static int id_push(id_list *l, int32_t id)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        int32_t *p = realloc(l->ids, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        l->ids = p;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

/* simple_tokenizer.py bpe(): start from one symbol per byte (</w> on the last), then
 * repeatedly merge every occurrence of the adjacent pair of lowest rank. `word`
 * holds n ids and is rewritten in place. Returns the final symbol count. */
static int bpe_word(const sd_tokenizer *t, int32_t *word, int n)
{
    while (n > 1) {
        const merge_slot *best = NULL;
        int32_t left = NO_ID, right = NO_ID;
        for (int i = 0; i + 1 < n; i++) {
            const merge_slot *m = merge_find(t, word[i], word[i + 1]);
            if (m && (!best || m->rank < best->rank)) {
                best = m;
                left = word[i];
                right = word[i + 1];
            }
        }
        if (!best)
            break;
        int k = 0;
        for (int i = 0; i < n;) {
            if (i + 1 < n && word[i] == left && word[i + 1] == right) {
                word[k++] = best->merged;
                i += 2;
            } else {
                word[k++] = word[i++];
            }
        }
        n = k;
    }
    return n;
}

/* The spellings of <|startoftext|> and <|endoftext|> in the text, per style. */
static const char *const special_text[][2] = {
    [SD_TOKENS_CLIP] = {BOS_TEXT, EOS_TEXT},
    [SD_TOKENS_OPENCLIP] = {"<start_of_text>", "<end_of_text>"},
};

static int encode_piece(const sd_tokenizer *t, const char *const specials[2],
                        const char *bytes, size_t len, id_list *out)
{
    if (len == strlen(specials[0]) && memcmp(bytes, specials[0], len) == 0)
        return id_push(out, t->bos);
    if (len == strlen(specials[1]) && memcmp(bytes, specials[1], len) == 0)
        return id_push(out, t->eos);
    int32_t *word = malloc(len * sizeof *word);
    if (!word)
        return -1;
    for (size_t i = 0; i < len; i++)
        word[i] = (i + 1 == len ? t->byte_end_id : t->byte_id)[(uint8_t)bytes[i]];
    int n = bpe_word(t, word, (int)len);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = id_push(out, word[i]);
    free(word);
    return rc;
}

sd_status sd_tokenize(const sd_tokenizer *t, const char *utf8, int32_t **ids, int *n,
                      sd_error *err)
{
    return sd_tokenize_style(t, SD_TOKENS_CLIP, utf8, ids, n, err);
}

sd_status sd_tokenize_style(const sd_tokenizer *t, sd_token_style style, const char *utf8,
                            int32_t **ids, int *n, sd_error *err)
{
    if (!t || !utf8 || !ids || !n)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_tokenize: NULL argument");
    if (style != SD_TOKENS_CLIP && style != SD_TOKENS_OPENCLIP)
        return sd_fail(err, SD_ERR_INVALID_ARG, "sd_tokenize: unknown style %d", (int)style);
    const char *const *specials = special_text[style];
    *ids = NULL;
    *n = 0;
    ustr text = {0};
    sd_status st = clip_clean_text(utf8, &text, err);
    if (st != SD_OK)
        return st;
    id_list out = {0};
    char *piece = malloc(4 * text.n + 1);
    if (!piece) {
        ustr_free(&text);
        return sd_fail(err, SD_ERR_NOMEM, "sd_tokenize: out of memory");
    }
    for (size_t pos = 0, len; pos < text.n; pos += len ? len : 1) {
        len = clip_pretoken_length_specials(&text, pos, specials);
        if (len == 0)
            continue;  /* whitespace between pieces */
        size_t bytes = 0;
        for (size_t i = pos; i < pos + len; i++)
            bytes += utf8_encode(text.cp[i], piece + bytes);
        if (encode_piece(t, specials, piece, bytes, &out) != 0) {
            st = sd_fail(err, SD_ERR_NOMEM, "sd_tokenize: out of memory");
            break;
        }
    }
    free(piece);
    ustr_free(&text);
    if (st != SD_OK) {
        free(out.ids);
        return st;
    }
    *ids = out.ids;
    *n = out.n;
    return SD_OK;
}

sd_status sd_tokenize_padded(const sd_tokenizer *t, const char *utf8,
                             int32_t ids[SD_CLIP_CONTEXT], int *truncated, sd_error *err)
{
    return sd_tokenize_padded_style(t, SD_TOKENS_CLIP, utf8, ids, truncated, err);
}

sd_status sd_tokenize_padded_style(const sd_tokenizer *t, sd_token_style style,
                                   const char *utf8, int32_t ids[SD_CLIP_CONTEXT],
                                   int *truncated, sd_error *err)
{
    int32_t *bpe = NULL;
    int n = 0;
    sd_status st = sd_tokenize_style(t, style, utf8, &bpe, &n, err);
    if (st != SD_OK)
        return st;
    int keep = n < SD_CLIP_CONTEXT - 2 ? n : SD_CLIP_CONTEXT - 2;
    ids[0] = t->bos;
    if (keep > 0)
        memcpy(ids + 1, bpe, (size_t)keep * sizeof *ids);
    ids[keep + 1] = t->eos;
    /* SD 1.x pads with <|endoftext|>, open_clip with 0 */
    const int32_t pad = style == SD_TOKENS_OPENCLIP ? SD_OPENCLIP_PAD : t->eos;
    for (int i = keep + 2; i < SD_CLIP_CONTEXT; i++)
        ids[i] = pad;
    if (truncated)
        *truncated = n - keep;
    free(bpe);
    return SD_OK;
}
