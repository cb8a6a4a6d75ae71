/* tokenize_line of A1111's CLIP hook, step for step (see prompt_chunks.h). */
#include "text/prompt_chunks.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    sd_prompt_chunk *v;
    int n, cap;
    int32_t ids[SD_PROMPT_CHUNK_IDS];   /* the chunk being filled (A1111's chunk.tokens) */
    float mult[SD_PROMPT_CHUNK_IDS];
    int len;
    int last_comma;
} chunker;

/* A1111's next_chunk(): pad to 75, frame with BOS/EOS, start an empty chunk. */
static int next_chunk(chunker *c)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 4;
        sd_prompt_chunk *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        c->v = v;
        c->cap = cap;
    }
    sd_prompt_chunk *out = &c->v[c->n++];
    out->ids[0] = SD_CLIP_BOS;
    out->multipliers[0] = 1.0f;
    for (int i = 0; i < SD_PROMPT_CHUNK_IDS; i++) {
        out->ids[1 + i] = i < c->len ? c->ids[i] : SD_CLIP_EOS;
        out->multipliers[1 + i] = i < c->len ? c->mult[i] : 1.0f;
    }
    out->ids[SD_CLIP_CONTEXT - 1] = SD_CLIP_EOS;
    out->multipliers[SD_CLIP_CONTEXT - 1] = 1.0f;
    c->len = 0;
    c->last_comma = -1;
    return 0;
}

/* One id of weight w, with the comma backtrack and the chunk boundary before it. */
static int add_id(chunker *c, int32_t id, float w, int32_t comma)
{
    if (id == comma) {
        c->last_comma = c->len;
    } else if (SD_PROMPT_COMMA_BACKTRACK != 0 && c->len == SD_PROMPT_CHUNK_IDS &&
               c->last_comma != -1 && c->len - c->last_comma <= SD_PROMPT_COMMA_BACKTRACK) {
        int at = c->last_comma + 1, moved = c->len - at;
        int32_t ids[SD_PROMPT_CHUNK_IDS];
        float mult[SD_PROMPT_CHUNK_IDS];
        memcpy(ids, c->ids + at, (size_t)moved * sizeof ids[0]);
        memcpy(mult, c->mult + at, (size_t)moved * sizeof mult[0]);
        c->len = at;
        if (next_chunk(c) != 0)
            return -1;
        memcpy(c->ids, ids, (size_t)moved * sizeof ids[0]);
        memcpy(c->mult, mult, (size_t)moved * sizeof mult[0]);
        c->len = moved;
    }
    if (c->len == SD_PROMPT_CHUNK_IDS && next_chunk(c) != 0)
        return -1;
    c->ids[c->len] = id;
    c->mult[c->len] = w;
    c->len++;
    return 0;
}

static int is_break(const sd_prompt_span *s)
{
    return s->weight == SD_PROMPT_BREAK_WEIGHT && strcmp(s->text, "BREAK") == 0;
}

sd_status sd_prompt_chunks(const sd_tokenizer *tok, const sd_prompt_parsed *prompt,
                           sd_prompt_chunk **chunks, int *n_chunks, sd_error *err)
{
    return sd_prompt_chunks_style(tok, SD_TOKENS_CLIP, prompt, chunks, n_chunks, err);
}

/* open_clip pads with 0: everything after the first <|endoftext|> (after BOS). */
static void pad_after_end(sd_prompt_chunk *c)
{
    int i = 1;
    while (i < SD_CLIP_CONTEXT && c->ids[i] != SD_CLIP_EOS)
        i++;
    for (i++; i < SD_CLIP_CONTEXT; i++)
        c->ids[i] = SD_OPENCLIP_PAD;
}

sd_status sd_prompt_chunks_style(const sd_tokenizer *tok, sd_token_style style,
                                 const sd_prompt_parsed *prompt, sd_prompt_chunk **chunks,
                                 int *n_chunks, sd_error *err)
{
    *chunks = NULL;
    *n_chunks = 0;
    int32_t *comma_ids = NULL;
    int n_comma = 0;
    sd_status st = sd_tokenize(tok, ",", &comma_ids, &n_comma, err);
    if (st != SD_OK)
        return st;
    int32_t comma = n_comma == 1 ? comma_ids[0] : -1;   /* vocab.get(',</w>') */
    free(comma_ids);

    chunker c = {.last_comma = -1};
    for (int s = 0; s < prompt->n_spans && st == SD_OK; s++) {
        const sd_prompt_span *span = &prompt->spans[s];
        if (is_break(span)) {
            if (next_chunk(&c) != 0)
                st = sd_fail(err, SD_ERR_NOMEM, "out of memory chunking the prompt");
            continue;
        }
        int32_t *ids = NULL;
        int n = 0;
        if ((st = sd_tokenize_style(tok, style, span->text, &ids, &n, err)) != SD_OK)
            break;
        for (int i = 0; i < n && st == SD_OK; i++)
            if (add_id(&c, ids[i], (float)span->weight, comma) != 0)
                st = sd_fail(err, SD_ERR_NOMEM, "out of memory chunking the prompt");
        free(ids);
    }
    if (st == SD_OK && (c.len > 0 || c.n == 0) && next_chunk(&c) != 0)
        st = sd_fail(err, SD_ERR_NOMEM, "out of memory chunking the prompt");
    if (st != SD_OK) {
        free(c.v);
        return st;
    }
    if (style == SD_TOKENS_OPENCLIP)
        for (int i = 0; i < c.n; i++)
            pad_after_end(&c.v[i]);
    *chunks = c.v;
    *n_chunks = c.n;
    return SD_OK;
}

int sd_prompt_chunk_unweighted(const sd_prompt_chunk *c)
{
    for (int i = 0; i < SD_CLIP_CONTEXT; i++)
        if (c->multipliers[i] != 1.0f)
            return 0;
    return 1;
}
