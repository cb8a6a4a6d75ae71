/* Golden runner for tokenizer_cases.json: every prompt's BPE ids must equal openai/CLIP
 * SimpleTokenizer's (clip_ids; SD 2.x's file, family "sd2": open_clip's), and the padded
 * 77-id input the family feeds its text encoder must equal sd_input_ids (SD 1.x: pad
 * 49407; SD 2.x: pad 0). Ids are compared exactly; a mismatch names the
 * first differing position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "text/tokenizer.h"

/* Compares got[0..n_got) with the JSON int array `expected`; on a mismatch writes
 * where into why. Returns 1 when equal. */
static int same_ids(const cJSON *expected, const int32_t *got, int n_got, char *why, size_t size)
{
    int n_exp = cJSON_GetArraySize(expected);
    int i = 0;
    for (const cJSON *e = expected ? expected->child : NULL; e && i < n_got; e = e->next, i++)
        if (!cJSON_IsNumber(e) || e->valueint != got[i]) {
            snprintf(why, size, "first difference at %d: got %d, expected %d", i, (int)got[i],
                     cJSON_IsNumber(e) ? e->valueint : -1);
            return 0;
        }
    if (n_got != n_exp) {
        snprintf(why, size, "got %d ids, expected %d", n_got, n_exp);
        return 0;
    }
    return 1;
}

static void run_prompt(const golden_case *c, golden_tally *t, const sd_tokenizer *tok,
                       sd_token_style style, const cJSON *prompt)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(prompt, "name"));
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(prompt, "text"));
    const cJSON *clip_ids = cJSON_GetObjectItem(prompt, "clip_ids");
    const cJSON *sd_ids = cJSON_GetObjectItem(prompt, "sd_input_ids");
    if (!name || !text || !cJSON_IsArray(clip_ids) || !cJSON_IsArray(sd_ids)) {
        golden_check(c, t, 0, "%s: malformed case (name, text, clip_ids, sd_input_ids)",
                     name ? name : "?");
        return;
    }
    sd_error err = {0};
    int32_t *ids = NULL, padded[SD_CLIP_CONTEXT];
    int n = 0, truncated = 0;
    char why[600] = "equal";
    int ok = sd_tokenize_style(tok, style, text, &ids, &n, &err) == SD_OK;
    if (!ok)
        snprintf(why, sizeof why, "sd_tokenize failed: %s", err.message);
    else
        ok = same_ids(clip_ids, ids, n, why, sizeof why);
    golden_check(c, t, ok, "%s clip_ids (%d): %s", name, cJSON_GetArraySize(clip_ids), why);
    free(ids);

    snprintf(why, sizeof why, "equal");
    ok = sd_tokenize_padded_style(tok, style, text, padded, &truncated, &err) == SD_OK;
    if (!ok)
        snprintf(why, sizeof why, "sd_tokenize_padded failed: %s", err.message);
    else
        ok = same_ids(sd_ids, padded, SD_CLIP_CONTEXT, why, sizeof why);
    const cJSON *expect_trunc = cJSON_GetObjectItem(prompt, "truncated");
    if (ok && cJSON_IsBool(expect_trunc) && cJSON_IsTrue(expect_trunc) != (truncated > 0)) {
        ok = 0;
        snprintf(why, sizeof why, "truncated %d ids, expected %s", truncated,
                 cJSON_IsTrue(expect_trunc) ? "truncation" : "none");
    }
    golden_check(c, t, ok, "%s sd_input_ids: %s", name, why);
}

int golden_run_tokenizer(const golden_case *c, golden_tally *t)
{
    /* SD 1.x (no family field, or "sd1"): openai CLIP's tokenizer, pad 49407; SD 2.x
     * ("sd2"): open_clip's, pad 0. */
    const char *family = cJSON_GetStringValue(cJSON_GetObjectItem(c->json, "family"));
    sd_token_style style = SD_TOKENS_CLIP;
    if (family && strcmp(family, "sd2") == 0) {
        style = SD_TOKENS_OPENCLIP;
        const cJSON *pad = cJSON_GetObjectItem(c->json, "pad_token_id");
        if (!cJSON_IsNumber(pad) || pad->valueint != SD_OPENCLIP_PAD) {
            golden_check(c, t, 0, "family sd2 with pad_token_id other than %d", SD_OPENCLIP_PAD);
            return -1;
        }
    } else if (family && strcmp(family, "sd1") != 0) {
        golden_check(c, t, 0, "tokenizer cases of an unknown family %s", family);
        return -1;
    }
    sd_error err = {0};
    sd_tokenizer *tok = NULL;
    if (sd_tokenizer_load(c->vocab_dir, &tok, &err) != SD_OK) {
        golden_check(c, t, 0, "loading the vocabulary from %s: %s", c->vocab_dir, err.message);
        return -1;
    }
    const cJSON *cases = cJSON_GetObjectItem(c->json, "cases");
    if (!cJSON_IsArray(cases) || cJSON_GetArraySize(cases) == 0) {
        golden_check(c, t, 0, "no \"cases\" array");
        sd_tokenizer_free(tok);
        return -1;
    }
    const cJSON *prompt;
    cJSON_ArrayForEach(prompt, cases)
        run_prompt(c, t, tok, style, prompt);
    sd_tokenizer_free(tok);
    return 0;
}
