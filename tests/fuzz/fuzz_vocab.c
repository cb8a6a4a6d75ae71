/* libFuzzer target: hostile vocabulary files for sd_tokenizer_load.
 *
 * Input layout: byte 0 picks the case, the rest is file content.
 *   case 0: vocab.json + merges.txt (split at the first "\n---\n"), loaded by folder
 *   case 1: the same, loaded by the path of vocab.json
 *   case 2: bpe_simple_vocab_16e6.txt.gz holding the rest gzip-compressed (so the
 *           fuzzer mutates the text CLIP's loader reads), loaded by folder
 *   case 3: the rest as raw .gz bytes (broken gzip streams), loaded by file path
 * A vocabulary that loads must then tokenize a prompt without fault. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "text/tokenizer.h"

#define SEPARATOR "\n---\n"

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", fuzz_temp_dir(), name);
}

static int write_gz(const char *path, const uint8_t *data, size_t size)
{
    gzFile gz = gzopen(path, "wb1");
    if (!gz)
        return -1;
    int ok = size == 0 || gzwrite(gz, data, (unsigned)size) == (int)size;
    return gzclose(gz) == Z_OK && ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    data++;
    size--;
    char vocab[512], merges[512], gz[512];
    path_in(vocab, sizeof vocab, "vocab.json");
    path_in(merges, sizeof merges, "merges.txt");
    path_in(gz, sizeof gz, "bpe_simple_vocab_16e6.txt.gz");
    remove(vocab);
    remove(merges);
    remove(gz);

    const char *load = fuzz_temp_dir();
    if (mode <= 1) {
        const uint8_t *sep = memmem(data, size, SEPARATOR, strlen(SEPARATOR));
        size_t vlen = sep ? (size_t)(sep - data) : size;
        size_t moff = sep ? vlen + strlen(SEPARATOR) : size;
        if (fuzz_write_file(vocab, data, vlen) != 0 ||
            fuzz_write_file(merges, data + moff, size - moff) != 0)
            return 0;
        if (mode == 1)
            load = vocab;
    } else if (mode == 2) {
        if (write_gz(gz, data, size) != 0)
            return 0;
    } else {
        if (fuzz_write_file(gz, data, size) != 0)
            return 0;
        load = gz;
    }

    sd_tokenizer *t = NULL;
    sd_error err = {0};
    sd_status st = sd_tokenizer_load(load, &t, &err);
    fuzz_check_error(st, &err);
    if ((st == SD_OK) != (t != NULL))
        abort();
    if (t) {
        int32_t ids[SD_CLIP_CONTEXT];
        st = sd_tokenize_padded(t, "a photo of a cat, <|endoftext|> caf\xc3\xa9 &amp; 42", ids,
                                NULL, &err);
        fuzz_check_error(st, &err);
        for (int i = 0; st == SD_OK && i < SD_CLIP_CONTEXT; i++)
            if (!sd_tokenizer_token(t, ids[i]))
                abort();
        sd_tokenizer_free(t);
    }
    return 0;
}
