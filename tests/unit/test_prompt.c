/* A1111's prompt syntax: the parser against A1111's own parse_prompt_attention, the
 * 75-id chunking, and the weighted, chunked encoding on the tiny model.
 *
 * Where the expected values come from:
 * - parser: tests/fixtures/prompt/a1111_prompts.json, written by gen_a1111_prompts.py,
 *   which runs A1111's parse_prompt_attention (modules/prompt_parser.py, copied verbatim
 *   into that script) and its extra-network tag removal; weights compared exactly.
 * - chunking: hand-derived from A1111's tokenize_line (modules/sd_hijack_clip.py) for each
 *   prompt below (where the comma backtrack cuts, what BREAK starts), with the ids of the
 *   words from our tokenizer (itself checked against transformers by the goldens).
 * - encoding: a reference written here from A1111's algorithm (process_tokens + the
 *   "Original" emphasis of modules/sd_emphasis.py: z *= multipliers, then z *= mean before /
 *   mean after, in double) on chunks assembled by hand, compared with sd_prompt_encode.
 *
 * argv[1]: the shared folder (clip/, golden/); argv[2]: tests/fixtures/prompt. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipeline/model.h"
#include "pipeline/prompt_encode.h"
#include "text/prompt_chunks.h"
#include "text/prompt_parse.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) == (size_t)n)
        s[n] = '\0';
    else {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static void test_parser_against_a1111(const char *fixtures)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/a1111_prompts.json", fixtures);
    char *text = read_all(path);
    cJSON *cases = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(cJSON_IsArray(cases), "%s holds the A1111 cases", path);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        const cJSON *spans = cJSON_GetObjectItem(c, "spans"), *loras = cJSON_GetObjectItem(c, "loras");
        sd_prompt_parsed p;
        sd_error err = {0};
        sd_status st = sd_prompt_parse(prompt, &p, &err);
        CHECK(st == SD_OK, "parse \"%s\": %s", prompt, err.message);
        if (st != SD_OK)
            continue;
        int ok = p.n_spans == cJSON_GetArraySize(spans) && p.n_loras == cJSON_GetArraySize(loras);
        for (int i = 0; ok && i < p.n_spans; i++) {
            const cJSON *s = cJSON_GetArrayItem(spans, i);
            double want = strtod(cJSON_GetArrayItem(s, 1)->valuestring, NULL);
            ok = strcmp(p.spans[i].text, cJSON_GetArrayItem(s, 0)->valuestring) == 0 &&
                 p.spans[i].weight == want;
        }
        for (int i = 0; ok && i < p.n_loras; i++) {
            const cJSON *l = cJSON_GetArrayItem(loras, i);
            ok = strcmp(p.loras[i].name, cJSON_GetArrayItem(l, 0)->valuestring) == 0 &&
                 p.loras[i].weight == strtod(cJSON_GetArrayItem(l, 1)->valuestring, NULL);
        }
        CHECK(ok, "\"%s\": %d spans, %d LoRAs as A1111 (first: \"%s\" %.17g)", prompt, p.n_spans,
              p.n_loras, p.n_spans ? p.spans[0].text : "", p.n_spans ? p.spans[0].weight : 0.0);
        sd_prompt_parsed_free(&p);
    }
    cJSON_Delete(cases);

    static const char *const bad[] = {"(cat:1.2.3)", "(cat:.)", "<lora::0.5>", "<lora:x:abc>",
                                      "<lora:x:1:2>", "<hypernet:x:1>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_prompt_parsed p;
        sd_error err = {0};
        sd_status st = sd_prompt_parse(bad[i], &p, &err);
        CHECK(st != SD_OK && err.message[0], "\"%s\" refused: %s", bad[i], err.message);
        sd_prompt_parsed_free(&p);
    }
}

/* ---- chunking ---- */

static int32_t one_id(const sd_tokenizer *t, const char *word)
{
    int32_t *ids = NULL;
    int n = 0;
    sd_tokenize(t, word, &ids, &n, NULL);
    int32_t id = n == 1 ? ids[0] : -1;
    free(ids);
    return id;
}

static int chunks_of(const sd_tokenizer *t, const char *prompt, sd_prompt_chunk **c)
{
    sd_prompt_parsed p;
    int n = 0;
    if (sd_prompt_parse(prompt, &p, NULL) != SD_OK)
        return -1;
    if (sd_prompt_chunks(t, &p, c, &n, NULL) != SD_OK)
        n = -1;
    sd_prompt_parsed_free(&p);
    return n;
}

/* Chunk k holds BOS, then n_words ids of `id` (weights w) and EOS padding. */
static int chunk_is(const sd_prompt_chunk *c, int n_words, int32_t id, float w)
{
    if (c->ids[0] != SD_CLIP_BOS || c->ids[SD_CLIP_CONTEXT - 1] != SD_CLIP_EOS)
        return 0;
    for (int i = 1; i < SD_CLIP_CONTEXT - 1; i++) {
        int word = i <= n_words;
        if (c->ids[i] != (word ? id : SD_CLIP_EOS) || c->multipliers[i] != (word ? w : 1.0f))
            return 0;
    }
    return 1;
}

static char *repeat(const char *word, int n, const char *tail)
{
    size_t len = strlen(word) + 1;
    char *s = malloc(len * (size_t)n + strlen(tail) + 1), *p = s;
    for (int i = 0; s && i < n; i++)
        p += sprintf(p, "%s ", word);
    if (s)
        strcpy(p, tail);
    return s;
}

static void test_chunks(const sd_tokenizer *t)
{
    const int32_t cat = one_id(t, "cat"), comma = one_id(t, ",");
    CHECK(cat > 0 && comma > 0, "\"cat\" and \",\" are one id each (%d, %d)", cat, comma);
    sd_prompt_chunk *c = NULL;
    int n = chunks_of(t, "", &c);
    CHECK(n == 1 && chunk_is(&c[0], 0, 0, 1.0f), "empty prompt: one chunk of BOS + EOS×76");
    free(c);

    n = chunks_of(t, "a photo of a red fox in the snow", &c);
    int32_t ids[SD_CLIP_CONTEXT];
    sd_tokenize_padded(t, "a photo of a red fox in the snow", ids, NULL, NULL);
    CHECK(n == 1 && memcmp(c[0].ids, ids, sizeof ids) == 0 && sd_prompt_chunk_unweighted(&c[0]),
          "a plain prompt: the same 77 ids as before, unweighted");
    free(c);

    char *s = repeat("cat", 80, "");
    n = chunks_of(t, s, &c);
    CHECK(n == 2 && chunk_is(&c[0], 75, cat, 1.0f) && chunk_is(&c[1], 5, cat, 1.0f),
          "80 ids, no comma: 75 + 5");
    free(c);
    free(s);

    /* 70 cats, a comma (position 70), 10 cats: at the 76th id the comma is 5 back (≤ 20):
     * the chunk ends after it (71 ids), the 4 cats after it move on, then 6 more. */
    s = repeat("cat", 70, ", cat cat cat cat cat cat cat cat cat cat");
    n = chunks_of(t, s, &c);
    int ok = n == 2 && c[0].ids[71] == comma && c[0].ids[72] == SD_CLIP_EOS &&
             c[0].ids[70] == cat;
    for (int i = 1; ok && i <= 10; i++)
        ok = c[1].ids[i] == cat;
    CHECK(ok && c[1].ids[11] == SD_CLIP_EOS, "comma 5 ids back: the chunk ends after it");
    free(c);
    free(s);

    /* the comma 25 back (> comma_padding_backtrack 20): a plain cut at 75 */
    s = repeat("cat", 50, ", cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat cat "
                          "cat cat cat cat cat cat cat cat cat cat cat cat");
    n = chunks_of(t, s, &c);
    CHECK(n == 2 && c[0].ids[51] == comma && c[0].ids[75] == cat && c[1].ids[6] == cat &&
          c[1].ids[7] == SD_CLIP_EOS, "comma 25 back: cut at 75 ids (then 6 ids)");
    free(c);
    free(s);

    n = chunks_of(t, "cat BREAK cat cat", &c);
    CHECK(n == 2 && chunk_is(&c[0], 1, cat, 1.0f) && chunk_is(&c[1], 2, cat, 1.0f),
          "BREAK starts a new chunk");
    free(c);
    n = chunks_of(t, "BREAK", &c);
    CHECK(n == 1 && chunk_is(&c[0], 0, 0, 1.0f), "a lone BREAK: one empty chunk, as A1111");
    free(c);

    n = chunks_of(t, "(cat) [cat] (cat:0.5)", &c);
    CHECK(n == 1 && c[0].ids[1] == cat && c[0].multipliers[1] == (float)1.1 &&
          c[0].multipliers[2] == (float)(1 / 1.1) && c[0].multipliers[3] == 0.5f &&
          c[0].multipliers[4] == 1.0f && c[0].multipliers[0] == 1.0f,
          "per-id weights 1.1, 1/1.1, 0.5; 1 on BOS and padding");
    free(c);
}

/* ---- encoding on the tiny model ---- */

/* A1111's process_tokens + EmphasisOriginal.after_transformers on one chunk, in double. */
static void reference_chunk(const sd_model *m, sd_arena *a, const int32_t *ids, const float *mult,
                            float *out)
{
    const int hidden = m->cfg.clip.hidden;
    const size_t n = (size_t)SD_CLIP_CONTEXT * hidden;
    sd_clip_encode(&m->clip, a, ids, SD_CLIP_CONTEXT, 1, out, NULL, NULL);
    double before = 0.0, after = 0.0;
    for (size_t i = 0; i < n; i++)
        before += out[i];
    for (size_t i = 0; i < n; i++)
        after += (double)out[i] * mult[i / hidden];
    for (size_t i = 0; i < n; i++)
        out[i] = (float)((double)out[i] * mult[i / hidden] * (before / after));
}

static void test_encode(const char *shared)
{
    char ckpt[4096], vocab[4096];
    snprintf(ckpt, sizeof ckpt, "%s/golden/tiny-sd1.safetensors", shared);
    snprintf(vocab, sizeof vocab, "%s/clip", shared);
    sd_model *m = NULL;
    sd_error err = {0};
    if (sd_model_load(ckpt, vocab, NULL, &m, &err) != SD_OK) {
        CHECK(0, "load the tiny model: %s", err.message);
        return;
    }
    sd_arena a;
    sd_arena_init(&a, 0);
    const int hidden = m->cfg.clip.hidden;
    const size_t one = (size_t)SD_CLIP_CONTEXT * hidden;
    const int32_t cat = one_id(m->tokenizer, "cat"), red = one_id(m->tokenizer, "red");

    /* "red (cat:1.3) [cat] BREAK " + 80 × "cat": chunk 0 = red cat cat (1, 1.3, 1/1.1),
     * chunk 1 = 75 cats, chunk 2 = 5 cats. */
    char *prompt = repeat("cat", 80, "");
    char *full = malloc(strlen(prompt) + 64);
    sprintf(full, "red (cat:1.3) [cat] BREAK %s", prompt);
    float *z = NULL;
    int n = 0;
    sd_status st = sd_prompt_encode(m, &a, full, 1, &z, &n, &err);
    CHECK(st == SD_OK && n == 3, "weighted 3-chunk prompt encoded (%d chunks): %s", n, err.message);
    if (st == SD_OK && n == 3) {
        int32_t ids[3][SD_CLIP_CONTEXT];
        float mult[3][SD_CLIP_CONTEXT];
        const int words[3] = {3, 75, 5};
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < SD_CLIP_CONTEXT; i++) {
                ids[k][i] = i == 0 ? SD_CLIP_BOS : i <= words[k] ? cat : SD_CLIP_EOS;
                mult[k][i] = 1.0f;
            }
        ids[0][1] = red;
        mult[0][2] = 1.3f;
        mult[0][3] = (float)(1 / 1.1);
        float *ref = malloc(3 * one * sizeof *ref);
        double max_err = 0.0, max_ref = 0.0;
        for (int k = 0; k < 3; k++)
            reference_chunk(m, &a, ids[k], mult[k], ref + k * one);
        for (size_t i = 0; i < 3 * one; i++) {
            max_err = fmax(max_err, fabs((double)z[i] - ref[i]));
            max_ref = fmax(max_ref, fabs((double)ref[i]));
        }
        /* float32 rounding of the two means and products: a few ulps of the largest value */
        CHECK(max_err <= 1e-6 * max_ref, "chunks, weights and restored mean as A1111 "
              "(max err %.3g of max %.3g)", max_err, max_ref);
        free(ref);
    }
    free(z);
    free(full);
    free(prompt);

    /* A plain prompt is today's encoding exactly. */
    int32_t ids[SD_CLIP_CONTEXT];
    float *base = malloc(one * sizeof *base);
    sd_tokenize_padded(m->tokenizer, "a red fox", ids, NULL, NULL);
    sd_clip_encode(&m->clip, &a, ids, SD_CLIP_CONTEXT, 2, base, NULL, NULL);
    st = sd_prompt_encode(m, &a, "a red fox", 2, &z, &n, &err);
    CHECK(st == SD_OK && n == 1 && memcmp(z, base, one * sizeof *z) == 0,
          "a plain prompt encodes bit for bit as before (clip skip 2)");
    free(z);
    free(base);
    sd_arena_free(&a);
    sd_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test-prompt SHARED_DIR FIXTURES_DIR\n");
        return 2;
    }
    test_parser_against_a1111(argv[2]);
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s/clip", argv[1]);
    sd_tokenizer *t = NULL;
    if (sd_tokenizer_load(vocab, &t, NULL) == SD_OK) {
        test_chunks(t);
        sd_tokenizer_free(t);
    } else {
        CHECK(0, "load the vocabulary from %s", vocab);
    }
    test_encode(argv[1]);
    return check_summary();
}
