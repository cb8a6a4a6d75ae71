/* libFuzzer target: arbitrary bytes (valid or broken UTF-8, HTML entities, mojibake)
 * as a prompt, through CLIP's text cleaning and BPE with the real 49408-token
 * vocabulary. The vocabulary folder comes from $SD_FUZZ_CLIP_DIR (default
 * ../shared/clip, beside the repository). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "text/tokenizer.h"

static sd_tokenizer *tokenizer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("SD_FUZZ_CLIP_DIR");
    sd_error err = {0};
    if (sd_tokenizer_load(dir && *dir ? dir : "../shared/clip", &tokenizer, &err) != SD_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s (set SD_FUZZ_CLIP_DIR)\n", err.message);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    int vocab = sd_tokenizer_vocab_size(tokenizer);
    int32_t *ids = NULL;
    int n = 0;
    sd_error err = {0};
    sd_status st = sd_tokenize(tokenizer, text, &ids, &n, &err);
    fuzz_check_error(st, &err);
    if (st == SD_OK) {
        if (n < 0 || (n > 0) != (ids != NULL))
            abort();
        for (int i = 0; i < n; i++)
            if (!sd_tokenizer_token(tokenizer, ids[i]))
                abort();  /* every id must name a vocabulary entry */
    }

    int32_t padded[SD_CLIP_CONTEXT];
    int truncated = -1;
    sd_status st2 = sd_tokenize_padded(tokenizer, text, padded, &truncated, &err);
    fuzz_check_error(st2, &err);
    if (st2 == SD_OK) {
        if (st != SD_OK || padded[0] != SD_CLIP_BOS || padded[SD_CLIP_CONTEXT - 1] != SD_CLIP_EOS)
            abort();
        int keep = n < SD_CLIP_CONTEXT - 2 ? n : SD_CLIP_CONTEXT - 2;
        if (truncated != n - keep ||
            (keep > 0 && memcmp(padded + 1, ids, (size_t)keep * sizeof *ids) != 0))
            abort();  /* the padded form is the plain one, cut and framed */
        for (int i = 0; i < SD_CLIP_CONTEXT; i++)
            if (padded[i] < 0 || padded[i] >= vocab)
                abort();
    }
    free(ids);

    /* SD 2.x: open_clip's tokenizer (its own special-token spellings, padding with 0) */
    ids = NULL;
    n = 0;
    st = sd_tokenize_style(tokenizer, SD_TOKENS_OPENCLIP, text, &ids, &n, &err);
    fuzz_check_error(st, &err);
    for (int i = 0; st == SD_OK && i < n; i++)
        if (!sd_tokenizer_token(tokenizer, ids[i]))
            abort();
    st2 = sd_tokenize_padded_style(tokenizer, SD_TOKENS_OPENCLIP, text, padded, &truncated,
                                   &err);
    fuzz_check_error(st2, &err);
    if (st2 == SD_OK) {
        int keep = n < SD_CLIP_CONTEXT - 2 ? n : SD_CLIP_CONTEXT - 2;
        if (st != SD_OK || padded[0] != SD_CLIP_BOS || padded[keep + 1] != SD_CLIP_EOS ||
            truncated != n - keep ||
            (keep > 0 && memcmp(padded + 1, ids, (size_t)keep * sizeof *ids) != 0))
            abort();
        for (int i = keep + 2; i < SD_CLIP_CONTEXT; i++)
            if (padded[i] != SD_OPENCLIP_PAD)
                abort();  /* padded with 0 after <|endoftext|> */
    }
    free(ids);
    free(text);
    return 0;
}
