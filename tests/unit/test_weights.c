/* Packed (fp16/bf16) weights: sd_weights_bind_packed keeps a 16-bit tensor 16-bit, and
 * sd_tensor_f32 widens it to exactly the values a widened-at-load bind gives (every
 * fp16 and bf16 value, F16C path or not). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "check.h"
#include "io/weights.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Same value bit for bit; a NaN only has to stay a NaN (vcvtph2ps quiets signalling NaNs). */
static int same(float got, float want)
{
    return isnan(want) ? isnan(got) != 0 : bits(got) == bits(want);
}

/* Every 16-bit pattern, widened as fp16 and as bf16, over several worker slices. */
static void test_every_value(void)
{
    enum { N = 65536 + 5 };   /* + a tail shorter than one vector */
    uint16_t *src = malloc(N * sizeof *src);
    CHECK(src != NULL, "alloc");
    if (!src)
        return;
    for (int i = 0; i < N; i++)
        src[i] = (uint16_t)i;
    sd_arena a;
    sd_arena_init(&a, 0);
    for (int bf16 = 0; bf16 <= 1; bf16++) {
        sd_tensor t = {.packed = src, .packed_bf16 = bf16, .ndim = 1, .shape = {N}, .numel = N};
        const float *f = sd_tensor_f32(&t, &a);
        CHECK(f != NULL, "widen %s", bf16 ? "bf16" : "fp16");
        int bad = 0, first = -1;
        for (int i = 0; f && i < N; i++) {
            float want = bf16 ? sd_bf16_to_f32(src[i]) : sd_f16_to_f32(src[i]);
            if (!same(f[i], want) && bad++ == 0)
                first = i;
        }
        CHECK(bad == 0, "%s: %d values differ, first 0x%04x", bf16 ? "bf16" : "fp16", bad,
              first);
    }
    /* A fp32 tensor is handed back as is: no copy. */
    float x[3] = {1, 2, 3};
    sd_tensor t32 = {.data = x, .ndim = 1, .shape = {3}, .numel = 3};
    size_t used = a.used;
    CHECK(sd_tensor_f32(&t32, &a) == x && a.used == used, "fp32 tensor: no scratch taken");
    sd_arena_free(&a);
    free(src);
}

/* A checkpoint with w16 [3, 5] F16 and w32 [2] F32. */
static int write_checkpoint(const char *path, const float *w16)
{
    const char *json = "{\"w16\":{\"dtype\":\"F16\",\"shape\":[3,5],\"data_offsets\":[0,30]},"
                       "\"w32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[30,38]}}";
    uint8_t data[38];
    for (int i = 0; i < 15; i++) {
        uint16_t h = sd_f32_to_f16(w16[i]);
        data[2 * i] = (uint8_t)h;
        data[2 * i + 1] = (uint8_t)(h >> 8);
    }
    const float w32[2] = {0.5f, -2.0f};
    memcpy(data + 30, w32, sizeof w32);   /* little-endian host, like the checkpoints */
    uint8_t len[8];
    uint64_t n = strlen(json);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(n >> (8 * i));
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    int ok = fwrite(len, 1, 8, fp) == 8 && fwrite(json, 1, n, fp) == n &&
             fwrite(data, 1, sizeof data, fp) == sizeof data;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

static void test_bind(void)
{
    char path[] = "/tmp/test-weights-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    float w16[15];
    for (int i = 0; i < 15; i++)
        w16[i] = (float)(i - 7) * 0.375f;   /* exact in fp16 */
    CHECK(write_checkpoint(path, w16) == 0, "write %s", path);

    sd_weights *w = NULL;
    sd_error err = {0};
    CHECK(sd_weights_open(path, &w, &err) == SD_OK, "open: %s", err.message);
    if (!w) {
        unlink(path);
        return;
    }
    sd_tensor packed, widened, f32;
    CHECK(sd_weights_bind_packed(w, &packed, &err, 2, SD_SHAPE(3, 5), "w16") == SD_OK,
          "bind_packed w16: %s", err.message);
    CHECK(packed.packed && !packed.data && !packed.packed_bf16, "F16 tensor stays packed");
    CHECK(packed.numel == 15 && packed.shape[0] == 3 && packed.shape[1] == 5, "shape");
    CHECK(sd_weights_bind_packed(w, &f32, &err, 1, SD_SHAPE(2), "w32") == SD_OK,
          "bind_packed w32: %s", err.message);
    CHECK(f32.data && !f32.packed && f32.data[1] == -2.0f, "F32 tensor binds as fp32");
    CHECK(sd_weights_bind(w, &widened, &err, 2, SD_SHAPE(3, 5), "w16") == SD_OK,
          "bind w16: %s", err.message);
    CHECK(widened.data && !widened.packed, "plain bind widens");
    CHECK(sd_weights_bytes(w) == 15 * 2 + 2 * 4 + 15 * 4, "bytes held: %zu",
          sd_weights_bytes(w));
    sd_weights_drop_file(w);

    sd_arena a;
    sd_arena_init(&a, 0);
    const float *f = sd_tensor_f32(&packed, &a);
    int equal = f != NULL;
    for (int i = 0; f && i < 15; i++)
        equal &= bits(f[i]) == bits(w16[i]) && bits(widened.data[i]) == bits(w16[i]);
    CHECK(equal, "packed widened per use == widened at load == source values");

    /* The widened copy comes from the arena, so a full arena reports it. */
    sd_arena small;
    sd_arena_init(&small, 16);
    CHECK(sd_tensor_f32(&packed, &small) == NULL, "NULL when the arena is full");
    sd_arena_free(&small);
    sd_arena_free(&a);
    sd_weights_free(w);
    unlink(path);
}

/* kB of file-backed memory resident in this process (RssFile in /proc/self/status). */
static long rss_file_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* A checkpoint with big [BIG] F16 (8 MiB, 64-byte aligned), w32 [2] F32 (aligned) and odd
 * [3] F16 at an odd offset: the aligned ones are read in place, odd is copied. */
#define BIG ((size_t)4 << 20)
static int write_aligned_checkpoint(const char *path)
{
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"big\":{\"dtype\":\"F16\",\"shape\":[%zu],\"data_offsets\":[0,%zu]},"
                     "\"w32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%zu,%zu]},"
                     "\"odd\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[%zu,%zu]}}",
                     BIG, 2 * BIG, 2 * BIG, 2 * BIG + 8, 2 * BIG + 9, 2 * BIG + 15);
    while ((8 + n) % 64)   /* safetensors pads its header with spaces likewise */
        json[n++] = ' ';
    json[n] = 0;
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)n >> (8 * i));
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    int ok = fwrite(len, 1, 8, fp) == 8 && fwrite(json, 1, (size_t)n, fp) == (size_t)n;
    for (size_t i = 0; ok && i < BIG; i++) {
        uint16_t h = sd_f32_to_f16((float)(i % 2048) - 1024.0f);
        ok = fputc(h & 0xff, fp) != EOF && fputc(h >> 8, fp) != EOF;
    }
    const float w32[2] = {0.5f, -2.0f};
    const uint8_t odd[7] = {0, 0x00, 0x3c, 0x00, 0x40, 0x00, 0xc2};   /* pad, 1, 2, -3 */
    ok = ok && fwrite(w32, sizeof w32, 1, fp) == 1 && fwrite(odd, 1, 7, fp) == 7;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

static void test_in_place(void)
{
    char path[] = "/tmp/test-weights-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    CHECK(write_aligned_checkpoint(path) == 0, "write %s", path);
    sd_weights *w = NULL;
    sd_error err = {0};
    CHECK(sd_weights_open(path, &w, &err) == SD_OK, "open: %s", err.message);
    if (!w) {
        unlink(path);
        return;
    }
    const st_file *file = sd_weights_file(w);
    sd_tensor big, w32, odd;
    CHECK(sd_weights_bind_packed(w, &big, &err, 1, SD_SHAPE((int64_t)BIG), "big") == SD_OK &&
              big.packed == st_find(file, "big")->data,
          "aligned F16 bound packed is read in place: %s", err.message);
    CHECK(sd_weights_bind(w, &w32, &err, 1, SD_SHAPE(2), "w32") == SD_OK &&
              w32.data == st_find(file, "w32")->data && w32.data[1] == -2.0f,
          "aligned F32 is read in place: %s", err.message);
    CHECK(sd_weights_bind_packed(w, &odd, &err, 1, SD_SHAPE(3), "odd") == SD_OK && odd.packed &&
              (const void *)odd.packed != st_find(file, "odd")->data &&
              sd_f16_to_f32(odd.packed[2]) == -3.0f,
          "F16 at an odd offset is copied: %s", err.message);
    CHECK(sd_weights_bytes(w) == 2 * BIG + 8 + 6, "bytes held %zu", sd_weights_bytes(w));

    /* Touch every page, then release: the pages leave this process, the values stay. */
    long sum = 0;
    for (size_t i = 0; i < BIG; i += 1024)
        sum += big.packed[i];
    long before = rss_file_kb();
    CHECK(sd_weights_release(w, "bi") == 2 * BIG, "release by prefix covers big only");
    long after = rss_file_kb();
    CHECK(before >= 0 && before - after >= (long)(2 * BIG / 1024) * 7 / 8,
          "release gave back the pages: RssFile %ld -> %ld kB (touched %ld)", before, after, sum);
    CHECK(sd_weights_release(w, "nothing.") == 0, "a prefix with no tensor releases nothing");
    sd_arena a;
    sd_arena_init(&a, 0);
    const float *f = sd_tensor_f32(&big, &a);
    int equal = f != NULL;
    for (size_t i = 0; f && i < BIG; i++)
        equal &= f[i] == (float)(i % 2048) - 1024.0f;
    CHECK(equal, "values read after a release are the file's");
    sd_arena_free(&a);

    /* Read in place packed, and widened too: the widened copy is owned (and freed: the
     * sanitizer run checks), the packed values still the mapping's. */
    sd_tensor odd_f32;
    CHECK(sd_weights_bind(w, &odd_f32, &err, 1, SD_SHAPE(3), "odd") == SD_OK &&
              odd_f32.data[0] == 1.0f && odd_f32.data[2] == -3.0f,
          "a tensor bound packed binds as fp32 too: %s", err.message);
    sd_tensor w16_f32;
    CHECK(sd_weights_bind(w, &w16_f32, &err, 1, SD_SHAPE((int64_t)BIG), "big") == SD_OK &&
              w16_f32.data && w16_f32.data[BIG - 1] == (float)((BIG - 1) % 2048) - 1024.0f &&
              big.packed == st_find(file, "big")->data,
          "in-place packed and owned fp32 side by side: %s", err.message);

    sd_weights_drop_file(w);
    CHECK(sd_weights_file(w) != NULL && w32.data[0] == 0.5f,
          "the mapping stays while tensors are read in place");
    sd_weights_free(w);
    unlink(path);
}

int main(void)
{
    test_every_value();
    test_bind();
    test_in_place();
    return check_summary();
}
