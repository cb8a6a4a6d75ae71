/* A1111's CLIP hook: chunked, weighted prompt encoding (see prompt_encode.h). */
#include "pipeline/prompt_encode.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/prompt_chunks.h"
#include "text/prompt_parse.h"

static double mean(const float *z, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += z[i];
    return s / (double)n;
}

void sd_prompt_emphasis(float *z, const float *multipliers, int hidden)
{
    size_t n = (size_t)SD_CLIP_CONTEXT * (size_t)hidden;
    float original_mean = (float)mean(z, n);   /* torch: float32 scalars */
    for (int t = 0; t < SD_CLIP_CONTEXT; t++)
        for (int c = 0; c < hidden; c++)
            z[(size_t)t * hidden + c] *= multipliers[t];
    float new_mean = (float)mean(z, n);
    float factor = original_mean / new_mean;
    for (size_t i = 0; i < n; i++)
        z[i] *= factor;
}

sd_status sd_prompt_encode(const sd_model *m, sd_arena *a, const char *prompt, int clip_skip,
                           float **out, int *n_chunks, sd_error *err)
{
    *out = NULL;
    *n_chunks = 0;
    sd_prompt_parsed parsed;
    sd_status st = sd_prompt_parse(prompt ? prompt : "", &parsed, err);
    if (st != SD_OK)
        return st;
    sd_prompt_chunk *chunks = NULL;
    int n = 0;
    /* SD 2.x's OpenCLIP tokenizer: its own special-token spellings, padding with 0 */
    const sd_token_style style =
        m->cfg.clip.kind == SD_TEXT_OPENCLIP_H ? SD_TOKENS_OPENCLIP : SD_TOKENS_CLIP;
    st = sd_prompt_chunks_style(m->tokenizer, style, &parsed, &chunks, &n, err);
    sd_prompt_parsed_free(&parsed);
    if (st != SD_OK)
        return st;
    const int hidden = m->cfg.clip.hidden;
    const size_t one = (size_t)SD_CLIP_CONTEXT * (size_t)hidden;
    float *z = malloc((size_t)n * one * sizeof *z);
    if (!z) {
        free(chunks);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory encoding a prompt of %d chunks", n);
    }
    for (int i = 0; i < n && st == SD_OK; i++) {
        sd_arena_mark mark = sd_arena_get_mark(a);
        st = sd_clip_encode(&m->clip, a, chunks[i].ids, SD_CLIP_CONTEXT, clip_skip,
                            z + (size_t)i * one, NULL, err);
        sd_arena_reset(a, mark);
        if (st == SD_OK && !sd_prompt_chunk_unweighted(&chunks[i]))
            sd_prompt_emphasis(z + (size_t)i * one, chunks[i].multipliers, hidden);
    }
    free(chunks);
    if (st != SD_OK) {
        free(z);
        return st;
    }
    *out = z;
    *n_chunks = n;
    return SD_OK;
}
