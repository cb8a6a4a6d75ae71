/* Tokenizer tests: both vocabulary sources give the same table and the same ids for
 * every golden prompt, SD's 77-id framing (empty prompt, exact fit, truncation),
 * special tokens, clear errors for missing or corrupt vocabulary files, invalid
 * UTF-8, and the text cleaning steps CLIP runs before BPE, each checked as "this
 * prompt tokenizes like its cleaned form".
 *
 * argv[1] is the shared folder (holding clip/ and golden/). Broken vocabulary files
 * are written to a temp folder. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "text/tokenizer.h"

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, 2 * cap + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, n, f);
    return fclose(f) == 0 && put == n ? 0 : -1;
}

/* Processor time, so that other processes on a busy machine do not count. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Do two prompts give the same BPE ids? */
static int same_tokens(const sd_tokenizer *t, const char *a, const char *b)
{
    int32_t *ia = NULL, *ib = NULL;
    int na = -1, nb = -2;
    sd_error err = {0};
    int ok = sd_tokenize(t, a, &ia, &na, &err) == SD_OK &&
             sd_tokenize(t, b, &ib, &nb, &err) == SD_OK && na == nb &&
             (na == 0 || memcmp(ia, ib, (size_t)na * sizeof *ia) == 0);
    free(ia);
    free(ib);
    return ok;
}

static void test_tables_agree(const sd_tokenizer *hf, const sd_tokenizer *gz)
{
    CHECK(sd_tokenizer_vocab_size(hf) == 49408, "vocab.json size %d", sd_tokenizer_vocab_size(hf));
    CHECK(sd_tokenizer_vocab_size(gz) == 49408, "gz table size %d", sd_tokenizer_vocab_size(gz));
    int differ = 0;
    for (int32_t id = 0; id < 49408; id++) {
        const char *a = sd_tokenizer_token(hf, id), *b = sd_tokenizer_token(gz, id);
        differ += !a || !b || strcmp(a, b) != 0;
    }
    CHECK(differ == 0, "%d ids name different tokens in vocab.json and the .gz", differ);
    CHECK(strcmp(sd_tokenizer_token(gz, SD_CLIP_BOS), "<|startoftext|>") == 0, "49406 is %s",
          sd_tokenizer_token(gz, SD_CLIP_BOS));
    CHECK(strcmp(sd_tokenizer_token(gz, SD_CLIP_EOS), "<|endoftext|>") == 0, "49407 is %s",
          sd_tokenizer_token(gz, SD_CLIP_EOS));
    CHECK(sd_tokenizer_token(gz, 49408) == NULL && sd_tokenizer_token(gz, -1) == NULL,
          "ids outside the table have no token");
}

/* Every golden prompt tokenizes identically from both sources. */
static void test_sources_agree_on_golden(const sd_tokenizer *hf, const sd_tokenizer *gz,
                                         const char *shared)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/tokenizer_cases.json", shared);
    char *text = read_text(path, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases"), *c;
    CHECK(cJSON_GetArraySize(cases) == 40, "%s: %d cases", path, cJSON_GetArraySize(cases));
    int compared = 0;
    cJSON_ArrayForEach(c, cases) {
        const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "text"));
        int32_t a[SD_CLIP_CONTEXT], b[SD_CLIP_CONTEXT];
        sd_error err = {0};
        int ok = prompt && sd_tokenize_padded(hf, prompt, a, NULL, &err) == SD_OK &&
                 sd_tokenize_padded(gz, prompt, b, NULL, &err) == SD_OK &&
                 memcmp(a, b, sizeof a) == 0;
        CHECK(ok, "sources disagree on %s", cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")));
        compared++;
    }
    CHECK(compared == 40, "compared %d prompts", compared);
    cJSON_Delete(root);
}

static void test_framing(const sd_tokenizer *t)
{
    int32_t ids[SD_CLIP_CONTEXT];
    int truncated = -1;
    sd_error err = {0};
    CHECK(sd_tokenize_padded(t, "", ids, &truncated, &err) == SD_OK, "empty: %s", err.message);
    int pad_ok = ids[0] == SD_CLIP_BOS;
    for (int i = 1; i < SD_CLIP_CONTEXT; i++)
        pad_ok &= ids[i] == SD_CLIP_EOS;
    CHECK(pad_ok && truncated == 0, "empty prompt is BOS + 76 x EOS (truncated %d)", truncated);

    int32_t *bpe = NULL;
    int n = -1;
    CHECK(sd_tokenize(t, "", &bpe, &n, &err) == SD_OK && n == 0 && bpe == NULL,
          "empty prompt has no BPE ids (n %d)", n);
    CHECK(sd_tokenize(t, " \t\n ", &bpe, &n, &err) == SD_OK && n == 0, "whitespace: n %d", n);

    /* 100 x "cat" is 100 BPE ids: 75 fit, EOS closes at 76. */
    char prompt[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(prompt, "cat ");
    CHECK(sd_tokenize(t, prompt, &bpe, &n, &err) == SD_OK && n == 100, "100 cats: n %d", n);
    CHECK(sd_tokenize_padded(t, prompt, ids, &truncated, &err) == SD_OK, "%s", err.message);
    int body_ok = n == 100 && ids[0] == SD_CLIP_BOS && ids[76] == SD_CLIP_EOS;
    for (int i = 1; body_ok && i <= 75; i++)
        body_ok = ids[i] == bpe[i - 1];
    CHECK(body_ok, "long prompt: BOS + first 75 ids + EOS");
    CHECK(truncated == 25, "25 ids truncated, got %d", truncated);
    free(bpe);
}

static void test_special_tokens(const sd_tokenizer *t)
{
    int32_t *ids = NULL;
    int n = 0;
    sd_error err = {0};
    CHECK(sd_tokenize(t, "<|startoftext|>", &ids, &n, &err) == SD_OK && n == 1 &&
              ids[0] == SD_CLIP_BOS, "literal <|startoftext|> -> 49406 (n %d)", n);
    free(ids);
    CHECK(sd_tokenize(t, "x<|endoftext|>", &ids, &n, &err) == SD_OK && n == 2 &&
              ids[1] == SD_CLIP_EOS, "literal <|endoftext|> -> 49407 (n %d)", n);
    free(ids);
    /* Upper case is lowered first, so it is the special token too. */
    CHECK(same_tokens(t, "<|STARTOFTEXT|>", "<|startoftext|>"), "<|STARTOFTEXT|>");

    /* open_clip (SD 2.x) spells them <start_of_text> / <end_of_text>; its <|...|> are text */
    CHECK(sd_tokenize_style(t, SD_TOKENS_OPENCLIP, "<Start_Of_Text>a<end_of_text>", &ids, &n,
                            &err) == SD_OK && n == 3 && ids[0] == SD_CLIP_BOS &&
              ids[2] == SD_CLIP_EOS, "open_clip specials -> 49406, 49407 (n %d)", n);
    free(ids);
    CHECK(sd_tokenize_style(t, SD_TOKENS_OPENCLIP, "<|endoftext|>", &ids, &n, &err) == SD_OK &&
              n > 1, "open_clip: <|endoftext|> is plain text (%d ids)", n);
    for (int i = 0; i < n; i++)
        CHECK(ids[i] != SD_CLIP_EOS && ids[i] != SD_CLIP_BOS, "no special id at %d", i);
    free(ids);
    int32_t padded[SD_CLIP_CONTEXT];
    int truncated = -1;
    CHECK(sd_tokenize_padded_style(t, SD_TOKENS_OPENCLIP, "a cat", padded, &truncated, &err) ==
              SD_OK && padded[0] == SD_CLIP_BOS && padded[3] == SD_CLIP_EOS &&
              padded[4] == SD_OPENCLIP_PAD && padded[SD_CLIP_CONTEXT - 1] == SD_OPENCLIP_PAD &&
              truncated == 0, "open_clip padding: BOS a cat EOS 0 ... 0");
}

/* Invalid bytes read as U+FFFD, one per maximal invalid subsequence, as Python's
 * bytes.decode("utf-8", "replace"). */
static void test_invalid_utf8(const sd_tokenizer *t)
{
    CHECK(same_tokens(t, "a \xff\xfe cat", "a \xef\xbf\xbd\xef\xbf\xbd cat"), "0xff 0xfe");
    CHECK(same_tokens(t, "cat \xe2\x82", "cat \xef\xbf\xbd"), "truncated 3-byte sequence");
    CHECK(same_tokens(t, "\xc0\xaf dog", "\xef\xbf\xbd\xef\xbf\xbd dog"), "overlong '/'");
    CHECK(same_tokens(t, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), "surrogate");
    int32_t *ids = NULL;
    int n = 0;
    sd_error err = {0};
    CHECK(sd_tokenize(t, "\x80\x80\x80\xf4\x90\x80\x80", &ids, &n, &err) == SD_OK && n > 0,
          "garbage bytes tokenize (n %d)", n);
    free(ids);
}

/* basic_clean / whitespace_clean / lower, each as an equivalence of prompts. */
static void test_cleaning(const sd_tokenizer *t)
{
    CHECK(same_tokens(t, "A   Photo\tOF\n\na CAT", "a photo of a cat"), "whitespace + case");
    CHECK(same_tokens(t, "salt &amp;amp; pepper", "salt & pepper"), "html.unescape twice");
    CHECK(same_tokens(t, "&eacute;t&eacute; &#233;&#xE9; &EACUTE;", "été éé é"),
          "named, numeric, upper-cased entities");
    CHECK(same_tokens(t, "&#150; &#x80;", "\xe2\x80\x93 \xe2\x82\xac"),
          "numeric references to C1 read as windows-1252");
    CHECK(same_tokens(t, "\xef\xac\x81ne \xef\xac\x82ow", "fine flow"), "latin ligatures");
    CHECK(same_tokens(t, "\xef\xbc\xa8\xef\xbd\x89\xe3\x80\x80\xef\xbc\x91", "hi 1"),
          "fullwidth -> halfwidth, ideographic space");
    CHECK(same_tokens(t, "\xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\x98s\xe2\x80\x99", "\"q\" 's'"),
          "uncurled quotes");
    CHECK(same_tokens(t, "Caf\xc3\x83\xc2\xa9", "caf\xc3\xa9"), "mojibake (latin-1)");
    CHECK(same_tokens(t, "\xc3\xa2\xe2\x82\xac\xc5\x93hi\xc3\xa2\xe2\x82\xac\xc2\x9d", "\"hi\""),
          "mojibake (windows-1252) of curly quotes");
    CHECK(same_tokens(t, "e\xcc\x81", "\xc3\xa9"), "NFC");
    CHECK(same_tokens(t, "a\x1b[31mb\x07" "c", "abc"), "terminal escapes and control characters");
    CHECK(same_tokens(t, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"),
          "final sigma");
    CHECK(same_tokens(t, "\xc4\xb0", "i\xcc\x87"), "full lower-case mapping of U+0130");
    CHECK(!same_tokens(t, "\xe2\x80\x8b", ""), "zero-width space is kept");
}

static void expect_load_error(const char *path, sd_status code, const char *named,
                              const char *what)
{
    sd_tokenizer *t = NULL;
    sd_error err = {0};
    sd_status st = sd_tokenizer_load(path, &t, &err);
    CHECK(st == code && t == NULL, "%s: status %d (want %d), %s", what, st, code, err.message);
    CHECK(strstr(err.message, named) != NULL, "%s: message \"%s\" names %s", what, err.message,
          named);
}

static void test_load_errors(const char *shared)
{
    expect_load_error("/nonexistent/clip", SD_ERR_IO, "/nonexistent/clip", "missing folder");

    char dir[] = "/tmp/test-tokenizer-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    expect_load_error(dir, SD_ERR_IO, dir, "empty folder");

    char gz[600], vocab[600], merges[600], src[600];
    snprintf(gz, sizeof gz, "%s/bpe_simple_vocab_16e6.txt.gz", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", dir);

    write_bytes(gz, "not gzip at all\n", 16);
    expect_load_error(gz, SD_ERR_FORMAT, gz, "plain text named .gz");
    snprintf(src, sizeof src, "%s/clip/bpe_simple_vocab_16e6.txt.gz", shared);
    size_t len = 0;
    char *real = read_text(src, &len);
    CHECK(real && len > 1000, "reading %s", src);
    if (real) {
        write_bytes(gz, real, len / 20);  /* ends before the merges CLIP reads */
        expect_load_error(gz, SD_ERR_FORMAT, gz, "truncated .gz");
        expect_load_error(dir, SD_ERR_FORMAT, gz, "folder with a truncated .gz");
        free(real);
    }
    unlink(gz);

    snprintf(src, sizeof src, "%s/clip/merges.txt", shared);
    real = read_text(src, &len);
    if (real) {
        write_bytes(merges, real, len);
        free(real);
    }
    expect_load_error(dir, SD_ERR_IO, vocab, "merges.txt without vocab.json");
    write_bytes(vocab, "{\"a\": 0, ", 9);
    expect_load_error(dir, SD_ERR_FORMAT, vocab, "truncated vocab.json");
    write_bytes(vocab, "{\"a\": 0}", 8);
    expect_load_error(dir, SD_ERR_FORMAT, merges, "vocab.json missing merged tokens");
    write_bytes(merges, "#version: 0.2\nth e\nbad line here\n", 33);
    expect_load_error(merges, SD_ERR_FORMAT, merges, "malformed merge line");
    unlink(vocab);
    unlink(merges);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    check_require_fixtures(shared, "clip", "golden/tokenizer_cases.json", (const char *)NULL);
    char clip[512], gz_path[600];
    snprintf(clip, sizeof clip, "%s/clip", shared);
    snprintf(gz_path, sizeof gz_path, "%s/bpe_simple_vocab_16e6.txt.gz", clip);

    sd_tokenizer *hf = NULL, *gz = NULL;
    sd_error err = {0};
    double t0 = now_ms();
    CHECK(sd_tokenizer_load(clip, &hf, &err) == SD_OK, "loading %s: %s", clip, err.message);
    double t1 = now_ms();
    CHECK(sd_tokenizer_load(gz_path, &gz, &err) == SD_OK, "loading %s: %s", gz_path, err.message);
    double t2 = now_ms();
    printf("load (cpu time): vocab.json + merges.txt %.1f ms, .gz %.1f ms\n", t1 - t0, t2 - t1);
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
    /* the budget holds for optimized, uninstrumented builds */
    CHECK(t1 - t0 < 100 && t2 - t1 < 100, "loading takes < 100 ms");
#endif
    if (hf && gz) {
        test_tables_agree(hf, gz);
        test_sources_agree_on_golden(hf, gz, shared);
        test_framing(gz);
        test_special_tokens(hf);
        test_invalid_utf8(hf);
        test_cleaning(hf);
    }
    sd_tokenizer_free(hf);
    sd_tokenizer_free(gz);
    test_load_errors(shared);
    return check_summary();
}
