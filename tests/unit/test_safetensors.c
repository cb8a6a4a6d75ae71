/* Loader tests: the safetensors reader on hand-made files (every dtype, every kind of
 * hostile header), the half-precision conversions against naive references, the tiny
 * reference checkpoints (fp16 == fp32, model config == the configs they were made from),
 * sd_weights binding, and the refusal of other model families.
 *
 * argv[1] is the shared folder (holding golden/). Files are written to a temp folder. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "nets/model_config.h"
#include "io/safetensors.h"
#include "io/weights.h"

typedef struct {
    char dir[256];
    char path[512];  /* the last file written */
    int files;
} tmp_ctx;

/* dir/file into buf (a function, so the buffer sizes stay the caller's business). */
static const char *join(char *buf, size_t size, const char *dir, const char *file)
{
    snprintf(buf, size, "%s/%s", dir, file);
    return buf;
}

/* ---- file writing helpers -------------------------------------------------- */

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes header length `hlen` (whatever the JSON's real length), the JSON and the data. */
static const char *write_raw(tmp_ctx *t, uint64_t hlen, const char *json, const void *data,
                             size_t n)
{
    snprintf(t->path, sizeof t->path, "%s/f%03d.safetensors", t->dir, t->files++);
    FILE *fp = fopen(t->path, "wb");
    if (!fp)
        return t->path;
    uint8_t len[8];
    put_le64(len, hlen);
    fwrite(len, 1, 8, fp);
    fwrite(json, 1, strlen(json), fp);
    if (n)
        fwrite(data, 1, n, fp);
    fclose(fp);
    return t->path;
}

static const char *write_st(tmp_ctx *t, const char *json, const void *data, size_t n)
{
    return write_raw(t, strlen(json), json, data, n);
}

/* Opening `path` must fail with `code` and a message holding `needle`. */
static void expect_error(const char *what, const char *path, sd_status code, const char *needle)
{
    st_file *f = NULL;
    sd_error err = {0};
    sd_status s = st_open(path, &f, &err);
    CHECK(s == code, "%s: status %d, expected %d (%s)", what, s, code, err.message);
    CHECK(f == NULL, "%s: no file handle on error", what);
    CHECK(strstr(err.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
          err.message, needle);
    st_close(f);
}

/* ---- half precision -------------------------------------------------------- */

/* f16 decoded by its definition, in double. */
static double f16_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0x1f)
        v = mant ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp(mant, -24);
    else
        v = ldexp(1024 + mant, exp - 25);
    return sign ? -v : v;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Nearest of the two candidate encodings lo/hi (adjacent, lo nearer zero) to x, ties to
 * the even one: the naive definition of round-to-nearest-even. */
static uint16_t nearest_even(double x, uint16_t lo, double vlo, uint16_t hi, double vhi)
{
    double dlo = fabs(x - vlo), dhi = fabs(vhi - x);
    if (dlo < dhi)
        return lo;
    if (dhi < dlo)
        return hi;
    return (lo & 1) ? hi : lo;
}

static void test_half(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = sd_f16_to_f32((uint16_t)h);
        double ref = f16_reference((uint16_t)h);
        if (isnan(ref) ? !isnan(f) : (f != ref || !signbit(f) != !signbit(ref)))
            bad++;
        /* every f16 value narrows back to itself (nans stay nans) */
        uint16_t back = sd_f32_to_f16(f);
        if (isnan(ref) ? ((back & 0x7c00) != 0x7c00 || !(back & 0x3ff)) : back != h)
            bad++;
    }
    CHECK(bad == 0, "f16 <-> f32 over all 65536 values: %d mismatches", bad);

    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = sd_bf16_to_f32((uint16_t)h);
        if (bits_of(f) != h << 16)
            bad++;
        uint16_t back = sd_f32_to_bf16(f);
        if (isnan(f) ? !isnan(sd_bf16_to_f32(back)) : back != h)
            bad++;
    }
    CHECK(bad == 0, "bf16 <-> f32 over all 65536 values: %d mismatches", bad);

    /* narrowing of arbitrary floats: compare with the nearest representable neighbour */
    uint64_t state = 0x9e3779b97f4a7c15ull;
    int bad16 = 0, bad_bf = 0;
    for (int i = 0; i < 2000000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(state >> 32);
        if (i % 4 == 0)  /* also sweep the f16 range densely, ties included */
            u = (u & 0x80000000u) | (((u >> 23) % 40 + 100) << 23) | (u & 0x7fe000u) |
                ((i & 8) ? 0x1000u : 0);
        float x = float_of(u);
        if (isnan(x))
            continue;
        /* bf16: candidates are the truncation and the next encoding away from zero */
        uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
        uint16_t want_bf = (u & 0xffff) == 0
                               ? lo
                               : nearest_even(x, lo, sd_bf16_to_f32(lo), hi,
                                              (lo & 0x7fff) == 0x7f7f
                                                  ? copysign(ldexp(1.0, 128), x)  /* past max */
                                                  : sd_bf16_to_f32(hi));
        if ((lo & 0x7f80) == 0x7f80)
            want_bf = lo;  /* infinities */
        if (sd_f32_to_bf16(x) != want_bf)
            bad_bf++;
        /* f16: find the candidates by scanning down from the largest finite magnitude */
        double ax = fabs((double)x);
        uint16_t sign = (u >> 31) ? 0x8000 : 0;
        uint16_t want16;
        if (isinf(x) || ax >= 65520.0) {  /* 65520 = 65504 + half an ulp: ties go to inf */
            want16 = sign | 0x7c00;
        } else {
            uint16_t m = 0;
            uint16_t a = 0, b = 0x7bff;  /* largest m with value <= ax, by bisection */
            while (a < b) {
                m = (uint16_t)((a + b + 1) / 2);
                if (f16_reference(m) <= ax)
                    a = m;
                else
                    b = (uint16_t)(m - 1);
            }
            double va = f16_reference(a);
            want16 = va == ax ? a
                              : nearest_even(ax, a, va, (uint16_t)(a + 1),
                                             f16_reference((uint16_t)(a + 1)));
            want16 |= sign;
        }
        if (sd_f32_to_f16(x) != want16)
            bad16++;
    }
    CHECK(bad16 == 0, "f32 -> f16 round to nearest even: %d mismatches in 2M values", bad16);
    CHECK(bad_bf == 0, "f32 -> bf16 round to nearest even: %d mismatches in 2M values", bad_bf);

    CHECK(sd_f32_to_f16(65519.0f) == 0x7bff && sd_f32_to_f16(65520.0f) == 0x7c00,
          "f16 overflow threshold");
    CHECK(sd_f32_to_f16(ldexpf(1.0f, -25)) == 0 && sd_f32_to_f16(ldexpf(1.5f, -25)) == 1,
          "f16 underflow: 2^-25 ties to 0, 1.5*2^-25 rounds up to the smallest subnormal");
    CHECK(isnan(sd_f16_to_f32(sd_f32_to_f16(NAN))) && isnan(sd_bf16_to_f32(sd_f32_to_bf16(NAN))),
          "nan survives narrowing");
}

/* ---- hand-made files ------------------------------------------------------- */

static void test_dtypes(tmp_ctx *t)
{
    /* data area: F32 [2,2] at 0, F16 [6] at 16, BF16 [5] at 28, I64 [3] at 38, U8 [2] at 62 */
    uint8_t data[64] = {0};
    const float f32[4] = {1.0f, -2.5f, 1e-30f, INFINITY};
    memcpy(data, f32, sizeof f32);  /* the test host is little-endian like the format */
    const uint16_t f16[6] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000};
    const float f16_want[6] = {1.0f, -2.0f, 5.9604644775390625e-8f, 65504.0f, INFINITY, -0.0f};
    memcpy(data + 16, f16, sizeof f16);
    const uint16_t bf16[5] = {0x3f80, 0xc040, 0x0001, 0x7f80, 0x3e20};
    const float bf16_want[5] = {1.0f, -3.0f, 9.18354961579912115600575419705e-41f, INFINITY,
                                0.15625f};
    memcpy(data + 28, bf16, sizeof bf16);
    const int64_t i64[3] = {-1, (int64_t)1 << 40, 0};
    memcpy(data + 38, i64, sizeof i64);
    data[62] = 200;
    data[63] = 7;
    const char *json =
        "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand made\"},"
        "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b.f16\":{\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[16,28]},"
        "\"c.bf16\":{\"dtype\":\"BF16\",\"shape\":[5,1],\"data_offsets\":[28,38]},"
        "\"d.i64\":{\"dtype\":\"I64\",\"shape\":[1,3],\"data_offsets\":[38,62]},"
        "\"e.u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[62,64]},"
        "\"f.empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[64,64]}}";
    const char *path = write_st(t, json, data, sizeof data);

    st_file *f = NULL;
    sd_error err = {0};
    sd_status s = st_open(path, &f, &err);
    CHECK(s == SD_OK, "open hand-made file: %s", err.message);
    if (s != SD_OK)
        return;
    CHECK(st_count(f) == 6, "6 tensors (metadata skipped), got %zu", st_count(f));
    CHECK(strcmp(st_at(f, 0)->name, "a.f32") == 0 && strcmp(st_at(f, 5)->name, "f.empty") == 0,
          "st_at keeps header order");
    const char *fmt = st_metadata(f, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "metadata format = pt");
    CHECK(st_metadata(f, "nothing") == NULL, "absent metadata key is NULL");
    CHECK(st_find(f, "zzz") == NULL && st_find(f, "__metadata__") == NULL,
          "st_find of absent names is NULL");

    const st_tensor *a = st_find(f, "a.f32");
    float out[8];
    CHECK(a && a->dtype == ST_F32 && a->ndim == 2 && a->shape[0] == 2 && a->numel == 4 &&
          a->nbytes == 16, "F32 tensor header");
    if (a && st_to_f32(a, out, &err) == SD_OK)
        CHECK(memcmp(out, f32, sizeof f32) == 0, "F32 values round-trip");

    const st_tensor *b = st_find(f, "b.f16");
    CHECK(b && b->dtype == ST_F16 && b->numel == 6, "F16 tensor header");
    if (b && st_to_f32(b, out, &err) == SD_OK) {
        int ok = 1;
        for (int i = 0; i < 6; i++)
            ok &= out[i] == f16_want[i] && !signbit(out[i]) == !signbit(f16_want[i]);
        CHECK(ok, "F16 values (normal, subnormal, max, inf, -0) convert exactly");
    }

    const st_tensor *c = st_find(f, "c.bf16");
    CHECK(c && c->dtype == ST_BF16 && c->ndim == 2 && c->shape[1] == 1, "BF16 tensor header");
    if (c && st_to_f32(c, out, &err) == SD_OK)
        CHECK(memcmp(out, bf16_want, sizeof bf16_want) == 0, "BF16 values convert exactly");

    const st_tensor *d = st_find(f, "d.i64");
    int64_t iv[3];
    CHECK(d && d->dtype == ST_I64 && d->numel == 3, "I64 tensor header");
    if (d && st_to_i64(d, iv, &err) == SD_OK)
        CHECK(memcmp(iv, i64, sizeof i64) == 0, "I64 values round-trip");
    if (d) {
        s = st_to_f32(d, out, &err);
        CHECK(s == SD_ERR_FORMAT && strstr(err.message, "d.i64"),
              "I64 as float is refused, naming the tensor: %s", err.message);
    }
    const st_tensor *e = st_find(f, "e.u8");
    if (e && st_to_i64(e, iv, &err) == SD_OK)
        CHECK(iv[0] == 200 && iv[1] == 7, "U8 values widen unsigned");
    const st_tensor *z = st_find(f, "f.empty");
    CHECK(z && z->numel == 0 && z->nbytes == 0, "empty tensor");
    st_release(f, a);  /* less than a page: must not touch the neighbours */
    if (b && st_to_f32(b, out, &err) == SD_OK)
        CHECK(out[0] == 1.0f, "neighbour still readable after st_release");
    st_close(f);
}

static void test_hostile(tmp_ctx *t)
{
    char data[64] = {0};
    const char *ok_entry = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char json[512];

    snprintf(t->path, sizeof t->path, "%s/absent.safetensors", t->dir);
    expect_error("missing file", t->path, SD_ERR_IO, "cannot open");

    /* shorter than the 8-byte length */
    snprintf(t->path, sizeof t->path, "%s/short.safetensors", t->dir);
    FILE *fp = fopen(t->path, "wb");
    if (fp) {
        fwrite("\x10\x00\x00", 1, 3, fp);
        fclose(fp);
    }
    expect_error("3-byte file", t->path, SD_ERR_FORMAT, "too short");

    snprintf(json, sizeof json, "{%s}", ok_entry);
    expect_error("header length past EOF",
                 write_raw(t, strlen(json) + 100, json, data, 8), SD_ERR_FORMAT,
                 "past the end");
    expect_error("header length 0", write_raw(t, 0, json, data, 8), SD_ERR_FORMAT,
                 "header length is 0");
    expect_error("header length 2^63", write_raw(t, (uint64_t)1 << 63, json, data, 8),
                 SD_ERR_FORMAT, "past the end");
    expect_error("truncated data", write_st(t, json, data, 5), SD_ERR_FORMAT, "truncated");
    expect_error("non-JSON header", write_st(t, "{\"t\": [1, 2", data, 8), SD_ERR_FORMAT,
                 "not valid JSON");
    expect_error("JSON array header", write_st(t, "[1, 2, 3]", data, 8), SD_ERR_FORMAT,
                 "not a JSON object");
    expect_error("entry not an object", write_st(t, "{\"t\": 5}", data, 8), SD_ERR_FORMAT,
                 "tensor t");

    static const struct {
        const char *what, *entry, *needle;
    } cases[] = {
        {"unknown dtype", "\"w.q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}",
         "w.q: unknown dtype \"F8_E4M3\""},
        {"missing dtype", "\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}", "missing dtype"},
        {"negative dim", "\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}",
         "not an integer in [0, 2^53]"},
        {"fractional dim", "\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}",
         "not an integer in [0, 2^53]"},
        {"string dim", "\"t\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}",
         "not an integer in [0, 2^53]"},
        {"shape not an array", "\"t\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}",
         "missing shape"},
        {"too many dims",
         "\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}",
         "9 dims"},
        {"overflowing dims",
         "\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}",
         "overflows"},
        {"bytes overflow size_t",
         "\"t\":{\"dtype\":\"F64\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,8]}",
         "overflows"},
        {"dim beyond 2^53", "\"t\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,8]}",
         "not an integer in [0, 2^53]"},
        {"offsets past EOF", "\"t\":{\"dtype\":\"F32\",\"shape\":[17],\"data_offsets\":[0,68]}",
         "past the data"},
        {"begin > end", "\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}",
         "begin 8 > end 4"},
        {"size mismatch", "\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}",
         "need 12"},
        {"missing data_offsets", "\"t\":{\"dtype\":\"F32\",\"shape\":[2]}", "missing data_offsets"},
        {"one offset", "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}",
         "missing data_offsets"},
        {"negative offset", "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}",
         "not integers in [0, 2^53]"},
        {"overlapping",
         "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}",
         "a and b overlap"},  /* an empty tensor between them must not hide it */
        {"contained overlap",
         "\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
         "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}",
         "a and b overlap"},
        {"duplicate name",
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}",
         "a appears twice"},
        {"metadata not an object", "\"__metadata__\":[1]", "__metadata__"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(json, sizeof json, "{%s}", cases[i].entry);
        expect_error(cases[i].what, write_st(t, json, data, sizeof data), SD_ERR_FORMAT,
                     cases[i].needle);
    }

    /* adjacent tensors and an empty file body are fine */
    const char *fine = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    st_file *f = NULL;
    sd_error err = {0};
    CHECK(st_open(write_st(t, fine, data, 16), &f, &err) == SD_OK, "adjacent tensors: %s",
          err.message);
    st_close(f);
    f = NULL;
    CHECK(st_open(write_st(t, "{}", NULL, 0), &f, &err) == SD_OK && st_count(f) == 0,
          "empty header: %s", err.message);
    st_close(f);
}

/* Mutated copies of a valid file (bytes overwritten in the length and the header, or the
 * file cut short) either open with every tensor inside the file, or fail with a message:
 * never a crash (the ASan/UBSan CI pass runs this too). */
static void test_mutations(tmp_ctx *t)
{
    const char *json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[32,40]}}";
    size_t hlen = strlen(json), size = 8 + hlen + 40;
    uint8_t *orig = calloc(1, size), *buf = malloc(size);
    if (!orig || !buf) {
        free(orig);
        free(buf);
        CHECK(0, "out of memory");
        return;
    }
    put_le64(orig, hlen);
    memcpy(orig + 8, json, hlen);
    static const char alphabet[] = "{}[]\",:0123456789-.eE FBIU\\";
    uint64_t state = 12345;
    int opened = 0, failed = 0, escaped = 0, silent = 0;
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(buf, orig, size);
        size_t n = size;
        int edits = 1 + iter % 4;
        for (int k = 0; k < edits; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(state >> 33);
            size_t at = r % (8 + hlen);
            if (r & 0x100000)
                buf[at] = (uint8_t)alphabet[(r >> 8) % (sizeof alphabet - 1)];
            else
                buf[at] = (uint8_t)(r >> 8);
        }
        if (iter % 7 == 0)
            n = (size_t)(state >> 40) % size;  /* also cut it short */
        snprintf(t->path, sizeof t->path, "%s/mut.safetensors", t->dir);
        remove(t->path);  /* rewriting by truncation would make ext4 flush each time */
        FILE *fp = fopen(t->path, "wb");
        if (!fp)
            continue;
        fwrite(buf, 1, n, fp);
        fclose(fp);

        st_file *f = NULL;
        sd_error err = {0};
        if (st_open(t->path, &f, &err) == SD_OK) {
            opened++;
            for (size_t i = 0; i < st_count(f); i++) {
                const st_tensor *x = st_at(f, i);
                /* the data area is what follows the header: within n bytes of the file */
                if (x->nbytes > n || x->nbytes != (size_t)x->numel * st_dtype_size(x->dtype))
                    escaped++;
            }
            st_close(f);
        } else {
            failed++;
            silent += err.message[0] == '\0';
        }
    }
    remove(t->path);
    CHECK(escaped == 0 && silent == 0 && opened + failed == 2000 && opened > 0 && failed > 0,
          "2000 mutated files: %d open, %d refused, %d tensors outside, %d without message",
          opened, failed, escaped, silent);
    free(orig);
    free(buf);
}

/* ---- the tiny reference checkpoints --------------------------------------- */

static void test_fp16_equals_fp32(const char *golden)
{
    char p32[512], p16[512];
    join(p32, sizeof p32, golden, "tiny-sd1.safetensors");
    join(p16, sizeof p16, golden, "tiny-sd1-fp16.safetensors");
    st_file *a = NULL, *b = NULL;
    sd_error err = {0};
    CHECK(st_open(p32, &a, &err) == SD_OK, "open %s: %s", p32, err.message);
    CHECK(st_open(p16, &b, &err) == SD_OK, "open %s: %s", p16, err.message);
    if (!a || !b) {
        st_close(a);
        st_close(b);
        return;
    }
    CHECK(st_count(a) == 999 && st_count(b) == 999, "999 tensors each (%zu, %zu)",
          st_count(a), st_count(b));
    /* Model weights were rounded to 8 significant bits, so F16 holds them exactly; the
     * 12 LDM schedule buffers were not, and must hold torch's round-to-nearest-even F16. */
    int weights = 0, weights_differ = 0, buffers = 0, buffers_differ = 0, f16_seen = 0;
    for (size_t i = 0; i < st_count(a); i++) {
        const st_tensor *x = st_at(a, i), *y = st_find(b, x->name);
        if (!y || y->ndim != x->ndim || memcmp(y->shape, x->shape, sizeof x->shape[0] *
                                               (size_t)x->ndim) != 0) {
            weights_differ++;
            continue;
        }
        if (x->dtype != ST_F32)
            continue;
        f16_seen += y->dtype == ST_F16;
        int is_weight = strstr(x->name, "model.") != NULL;
        float *vx = malloc((size_t)x->numel * sizeof *vx);
        float *vy = malloc((size_t)x->numel * sizeof *vy);
        if (vx && vy && st_to_f32(x, vx, &err) == SD_OK && st_to_f32(y, vy, &err) == SD_OK) {
            int differ = 0;
            for (int64_t k = 0; k < x->numel; k++) {
                float want = is_weight ? vx[k] : sd_f16_to_f32(sd_f32_to_f16(vx[k]));
                differ |= bits_of(vy[k]) != bits_of(want);
            }
            weights += is_weight;
            buffers += !is_weight;
            weights_differ += is_weight && differ;
            buffers_differ += !is_weight && differ;
        }
        free(vx);
        free(vy);
    }
    CHECK(weights == 986 && f16_seen == 998 && weights_differ == 0,
          "fp16 file == fp32 file bit for bit: %d weights compared (%d tensors stored F16), "
          "%d differ", weights, f16_seen, weights_differ);
    CHECK(buffers == 12 && buffers_differ == 0,
          "fp16 schedule buffers == our f32->f16 rounding of the fp32 ones: %d of %d differ",
          buffers_differ, buffers);
    st_close(a);
    st_close(b);
}

static int json_int(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(j) ? j->valueint : -12345;
}

static int json_at(const cJSON *obj, const char *key, int i)
{
    const cJSON *j = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, key), i);
    return cJSON_IsNumber(j) ? j->valueint : -12345;
}

static cJSON *load_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n) : NULL;
    cJSON *j = NULL;
    if (buf && fread(buf, 1, (size_t)n, fp) == (size_t)n)
        j = cJSON_ParseWithLength(buf, (size_t)n);
    free(buf);
    fclose(fp);
    return j;
}

/* The detected config against the diffusers/transformers configs the model was built from. */
static void check_config(const char *what, const sd_model_config *c, const cJSON *configs,
                         const char *unet_key)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(configs, unet_key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(configs, "vae");
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(configs, "text_encoder");
    const sd_unet_config *uc = &c->unet;
    CHECK(uc->in_channels == json_int(u, "in_channels") &&
          uc->out_channels == json_int(u, "out_channels"),
          "%s: unet in/out %d/%d", what, uc->in_channels, uc->out_channels);
    const cJSON *widths = cJSON_GetObjectItemCaseSensitive(u, "block_out_channels");
    const cJSON *down_types = cJSON_GetObjectItemCaseSensitive(u, "down_block_types");
    CHECK(uc->levels == cJSON_GetArraySize(widths), "%s: unet levels %d", what, uc->levels);
    for (int l = 0; l < uc->levels && l < SD_MAX_LEVELS; l++) {
        CHECK(uc->channels[l] == json_at(u, "block_out_channels", l),
              "%s: unet level %d width %d", what, l, uc->channels[l]);
        const cJSON *type_item = cJSON_GetArrayItem(down_types, l);
        const char *type = cJSON_IsString(type_item) ? type_item->valuestring : "?";
        CHECK(uc->attention[l] == (strncmp(type, "CrossAttn", 9) == 0),
              "%s: unet level %d attention %d (%s)", what, l, uc->attention[l], type);
    }
    CHECK(uc->model_channels == json_at(u, "block_out_channels", 0) &&
          uc->time_embed_dim == 4 * uc->model_channels,
          "%s: model channels %d, time embed %d", what, uc->model_channels, uc->time_embed_dim);
    CHECK(uc->layers_per_block == json_int(u, "layers_per_block"), "%s: unet layers %d", what,
          uc->layers_per_block);
    CHECK(uc->context_dim == json_int(u, "cross_attention_dim"), "%s: context dim %d", what,
          uc->context_dim);
    CHECK(uc->num_heads == json_int(u, "attention_head_dim"),  /* diffusers' name for heads */
          "%s: unet heads %d", what, uc->num_heads);
    CHECK(uc->transformer_depth == json_int(u, "transformer_layers_per_block") &&
          uc->use_linear_projection == 0 && uc->groups == json_int(u, "norm_num_groups"),
          "%s: transformer depth %d, linear %d, groups %d", what, uc->transformer_depth,
          uc->use_linear_projection, uc->groups);

    const sd_vae_config *vc = &c->vae;
    int vae_ok = vc->levels == 4;
    for (int l = 0; l < vc->levels && l < SD_MAX_LEVELS; l++)
        vae_ok &= vc->channels[l] == json_at(v, "block_out_channels", l);
    CHECK(vae_ok, "%s: vae widths %d %d %d %d", what, vc->channels[0], vc->channels[1],
          vc->channels[2], vc->channels[3]);
    CHECK(vc->in_channels == json_int(v, "in_channels") &&
          vc->out_channels == json_int(v, "out_channels") &&
          vc->latent_channels == json_int(v, "latent_channels") &&
          vc->layers_per_block == json_int(v, "layers_per_block") &&
          vc->groups == json_int(v, "norm_num_groups"),
          "%s: vae in %d out %d latent %d layers %d groups %d", what, vc->in_channels,
          vc->out_channels, vc->latent_channels, vc->layers_per_block, vc->groups);
    const cJSON *sf = cJSON_GetObjectItemCaseSensitive(v, "scaling_factor");
    CHECK(sf && vc->scaling_factor == (float)sf->valuedouble, "%s: vae scaling factor %g", what,
          vc->scaling_factor);

    const sd_clip_config *cc = &c->clip;
    CHECK(cc->hidden == json_int(te, "hidden_size") &&
          cc->layers == json_int(te, "num_hidden_layers") &&
          cc->heads == json_int(te, "num_attention_heads") &&
          cc->intermediate == json_int(te, "intermediate_size") &&
          cc->vocab_size == json_int(te, "vocab_size") &&
          cc->max_positions == json_int(te, "max_position_embeddings"),
          "%s: clip hidden %d layers %d heads %d mlp %d vocab %d positions %d", what,
          cc->hidden, cc->layers, cc->heads, cc->intermediate, cc->vocab_size,
          cc->max_positions);
}

static void test_tiny_configs(const char *golden)
{
    char path[512];
    join(path, sizeof path, golden, "tiny-sd1.json");
    cJSON *root = load_json(path);
    const cJSON *configs = cJSON_GetObjectItemCaseSensitive(root, "configs");
    CHECK(configs != NULL, "read configs from %s", path);
    if (!configs) {
        cJSON_Delete(root);
        return;
    }
    static const struct {
        const char *file, *unet_key;
        sd_family family;
    } models[] = {
        {"tiny-sd1.safetensors", "unet", SD_FAMILY_SD1},
        {"tiny-sd1-fp16.safetensors", "unet", SD_FAMILY_SD1},
        {"tiny-sd1-inpaint.safetensors", "unet_inpaint", SD_FAMILY_SD1_INPAINT},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        join(path, sizeof path, golden, models[i].file);
        st_file *f = NULL;
        sd_error err = {0};
        sd_model_config cfg;
        if (st_open(path, &f, &err) != SD_OK) {
            CHECK(0, "open %s: %s", path, err.message);
            continue;
        }
        sd_status s = sd_model_config_detect(f, &cfg, &err);
        CHECK(s == SD_OK, "%s: detect: %s", models[i].file, err.message);
        if (s == SD_OK) {
            CHECK(cfg.family == models[i].family, "%s: family %s", models[i].file,
                  sd_family_name(cfg.family));
            check_config(models[i].file, &cfg, configs, models[i].unet_key);
        }
        st_close(f);
    }
    CHECK(strcmp(sd_family_name(SD_FAMILY_SD1), "sd1") == 0 &&
          strcmp(sd_family_name(SD_FAMILY_SD1_INPAINT), "sd1-inpaint") == 0, "family names");
    cJSON_Delete(root);
}

static void test_weights(const char *golden)
{
    char path[512];
    join(path, sizeof path, golden, "tiny-sd1-fp16.safetensors");
    sd_weights *w = NULL;
    sd_error err = {0};
    if (sd_weights_open(path, &w, &err) != SD_OK) {
        CHECK(0, "sd_weights_open %s: %s", path, err.message);
        return;
    }
    const char *conv_in = "model.diffusion_model.input_blocks.0.0.weight";
    sd_tensor a, b;
    sd_status s = sd_weights_bind(w, &a, &err, 4, SD_SHAPE(32, 4, 3, 3), "%s", conv_in);
    CHECK(s == SD_OK && a.data && a.ndim == 4 && a.shape[0] == 32 && a.shape[1] == 4 &&
          a.numel == 32 * 4 * 9, "bind conv_in [32, 4, 3, 3]: %s", err.message);
    if (s == SD_OK) {
        /* the converted values are the file's F16 values, exactly */
        const st_tensor *t = st_find(sd_weights_file(w), conv_in);
        int same = t && t->dtype == ST_F16;
        for (int64_t i = 0; same && i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, (const uint8_t *)t->data + 2 * i, 2);
            same = a.data[i] == sd_f16_to_f32(h);
        }
        CHECK(same, "bound conv_in equals the F16 source converted");
    }
    s = sd_weights_bind(w, &b, &err, 4, SD_SHAPE(-1, 4, -1, 3), "model.diffusion_model.%s.0.0.%s",
                        "input_blocks", "weight");
    CHECK(s == SD_OK && b.data == a.data, "second bind (wildcards, formatted name) returns the "
          "same buffer");
    CHECK(sd_weights_bytes(w) == 32 * 4 * 9 * sizeof(float), "bytes held %zu",
          sd_weights_bytes(w));

    s = sd_weights_bind(w, &b, &err, 4, SD_SHAPE(32, 9, 3, 3), "%s", conv_in);
    CHECK(s == SD_ERR_FORMAT && strstr(err.message, conv_in) &&
          strstr(err.message, "[32, 9, 3, 3]") && strstr(err.message, "[32, 4, 3, 3]"),
          "wrong shape names key, expected and actual: %s", err.message);
    s = sd_weights_bind(w, &b, &err, 2, SD_SHAPE(32, 36), "%s", conv_in);
    CHECK(s == SD_ERR_FORMAT && strstr(err.message, "[32, 36]"), "wrong rank: %s", err.message);
    s = sd_weights_bind(w, &b, &err, 1, SD_SHAPE(4), "model.diffusion_model.nope.weight");
    CHECK(s == SD_ERR_FORMAT &&
          strcmp(err.message, "missing tensor model.diffusion_model.nope.weight") == 0,
          "missing key: %s", err.message);
    s = sd_weights_bind(w, &b, &err, 2, SD_SHAPE(1, 77),
                        "cond_stage_model.transformer.text_model.embeddings.position_ids");
    CHECK(s == SD_ERR_FORMAT && strstr(err.message, "position_ids"),
          "integer tensor is not bound as float: %s", err.message);
    CHECK(sd_weights_has(w, "first_stage_model.%s.conv_in.weight", "decoder") &&
          !sd_weights_has(w, "first_stage_model.nope"), "sd_weights_has");

    sd_tensor ln;
    s = sd_weights_bind(w, &ln, &err, 1, SD_SHAPE(64),
                        "cond_stage_model.transformer.text_model.final_layer_norm.weight");
    CHECK(s == SD_OK, "bind final_layer_norm [64]: %s", err.message);
    sd_weights_drop_file(w);
    CHECK(sd_weights_file(w) == NULL, "file dropped");
    s = sd_weights_bind(w, &b, &err, 4, SD_SHAPE(32, 4, 3, 3), "%s", conv_in);
    CHECK(s == SD_OK && b.data == a.data && a.data[0] == b.data[0],
          "bound tensors survive dropping the file");
    s = sd_weights_bind(w, &b, &err, 4, SD_SHAPE(-1, -1, -1, -1),
                        "model.diffusion_model.out.2.weight");
    CHECK(s != SD_OK && strstr(err.message, "out.2.weight"),
          "binding a new tensor after the drop fails clearly: %s", err.message);
    sd_weights_free(w);
}

/* ---- other model families -------------------------------------------------- */

typedef enum {
    EDIT_NONE,
    EDIT_SD2_NAMES,     /* OpenCLIP text encoder */
    EDIT_SD2_SHAPES,    /* linear proj_in, context 1024, CLIP names kept */
    EDIT_SDXL,          /* conditioner.embedders + label_emb */
    EDIT_NO_UNET,
    EDIT_NO_VAE,
    EDIT_NO_CLIP,
    EDIT_PIX2PIX        /* 8 input channels */
} family_edit;

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Applies the edit to one tiny tensor: returns 0 to drop it, may rename and reshape it. */
static int edit_tensor(family_edit e, char *name, int *ndim, int64_t *shape)
{
    const char *clip = "cond_stage_model.transformer.text_model.";
    switch (e) {
    case EDIT_NONE: return 1;
    case EDIT_SD2_NAMES:
        if (starts(name, clip)) {
            /* "cond_stage_model.transformer.text_model." -> "cond_stage_model.model." */
            const char *sd2 = "cond_stage_model.model.";
            memmove(name + strlen(sd2), name + strlen(clip), strlen(name + strlen(clip)) + 1);
            memcpy(name + strlen("cond_stage_model."), "model.", strlen("model."));
        }
        return 1;
    case EDIT_SD2_SHAPES:
        if (strstr(name, "proj_in.weight") || strstr(name, "proj_out.weight"))
            *ndim = 2;
        if (strstr(name, "attn2.to_k.weight") || strstr(name, "attn2.to_v.weight"))
            shape[1] = 1024;
        return 1;
    case EDIT_SDXL: return 1;
    case EDIT_NO_UNET: return !starts(name, "model.diffusion_model.");
    case EDIT_NO_VAE: return !starts(name, "first_stage_model.");
    case EDIT_NO_CLIP: return !starts(name, "cond_stage_model.");
    case EDIT_PIX2PIX:
        if (strcmp(name, "model.diffusion_model.input_blocks.0.0.weight") == 0)
            shape[1] = 8;
        return 1;
    }
    return 1;
}

/* Writes the tiny checkpoint's structure, edited, as F16 zeros; returns its path. */
static const char *write_family(tmp_ctx *t, const st_file *tiny, family_edit e)
{
    size_t cap = 1 << 20, len = 0;
    char *json = malloc(cap);
    if (!json)
        return NULL;
    len += (size_t)snprintf(json, cap, "{");
    uint64_t offset = 0;
    for (size_t i = 0; i < st_count(tiny) + 2; i++) {
        char name[512];
        int64_t shape[ST_MAX_DIMS] = {1};
        int ndim = 1;
        if (i < st_count(tiny)) {
            const st_tensor *s = st_at(tiny, i);
            snprintf(name, sizeof name, "%s", s->name);
            ndim = s->ndim;
            memcpy(shape, s->shape, sizeof shape);
            if (!edit_tensor(e, name, &ndim, shape))
                continue;
        } else if (e == EDIT_SDXL) {
            snprintf(name, sizeof name, i == st_count(tiny)
                                            ? "conditioner.embedders.0.transformer.weight"
                                            : "model.diffusion_model.label_emb.0.0.weight");
        } else {
            continue;
        }
        int64_t numel = 1;
        len += (size_t)snprintf(json + len, cap - len, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[",
                                len > 1 ? "," : "", name);
        for (int d = 0; d < ndim; d++) {
            numel *= shape[d];
            len += (size_t)snprintf(json + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)shape[d]);
        }
        len += (size_t)snprintf(json + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)offset,
                                (unsigned long long)(offset + 2 * (uint64_t)numel));
        offset += 2 * (uint64_t)numel;
        if (len >= cap - 1024) {
            free(json);
            return NULL;
        }
    }
    snprintf(json + len, cap - len, "}");
    void *zeros = calloc(1, (size_t)offset);
    const char *path = zeros ? write_st(t, json, zeros, (size_t)offset) : NULL;
    free(zeros);
    free(json);
    return path;
}

static void test_families(tmp_ctx *t, const char *golden)
{
    char path[512];
    join(path, sizeof path, golden, "tiny-sd1-fp16.safetensors");
    st_file *tiny = NULL;
    sd_error err = {0};
    if (st_open(path, &tiny, &err) != SD_OK) {
        CHECK(0, "open %s: %s", path, err.message);
        return;
    }
    static const struct {
        family_edit edit;
        sd_status code;
        const char *needle;
    } cases[] = {
        {EDIT_NONE, SD_OK, ""},
        /* SD 2.x's text encoder prefix over an SD 1.x body: refused, naming both */
        {EDIT_SD2_NAMES, SD_ERR_UNSUPPORTED,
         "SD 2.x (OpenCLIP text encoder cond_stage_model.model.*): unsupported model: SD 1.x "
         "U-Net (conv proj_in, context dim 64) under the SD 2.x's text encoder"},
        {EDIT_SD2_SHAPES, SD_ERR_UNSUPPORTED, "SD 2.x U-Net (linear proj_in, context dim 1024)"},
        {EDIT_SDXL, SD_ERR_UNSUPPORTED, "unsupported model: SDXL"},
        {EDIT_NO_UNET, SD_ERR_UNSUPPORTED, "unsupported model: not a Stable Diffusion"},
        {EDIT_NO_VAE, SD_ERR_UNSUPPORTED, "unsupported model: the checkpoint has no VAE"},
        {EDIT_NO_CLIP, SD_ERR_UNSUPPORTED, "no CLIP text encoder"},
        {EDIT_PIX2PIX, SD_ERR_UNSUPPORTED, "8 input channels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_family(t, tiny, cases[i].edit);
        st_file *f = NULL;
        sd_model_config cfg;
        if (!p || st_open(p, &f, &err) != SD_OK) {
            CHECK(0, "family case %zu: cannot write/open the synthetic file: %s", i, err.message);
            continue;
        }
        sd_error_clear(&err);
        sd_status s = sd_model_config_detect(f, &cfg, &err);
        CHECK(s == cases[i].code && strstr(err.message, cases[i].needle),
              "family case %zu: status %d (want %d), message \"%s\"", i, s, cases[i].code,
              err.message);
        st_close(f);
        remove(p);  /* 34 MB each: do not keep them around */
    }
    st_close(tiny);
}

static void remove_tmp(tmp_ctx *t)
{
    char path[600];
    for (int i = 0; i < t->files; i++) {
        snprintf(path, sizeof path, "%s/f%03d.safetensors", t->dir, i);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/short.safetensors", t->dir);
    remove(path);
    rmdir(t->dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
        return 2;
    }
    char golden[256];
    if (strlen(argv[1]) > 200) {
        fprintf(stderr, "shared dir path too long\n");
        return 2;
    }
    snprintf(golden, sizeof golden, "%s/golden", argv[1]);

    tmp_ctx t = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(t.dir, sizeof t.dir, "%s/test-safetensors-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t.dir)) {
        fprintf(stderr, "cannot make a temp folder %s\n", t.dir);
        return 2;
    }

    test_half();
    test_dtypes(&t);
    test_hostile(&t);
    test_mutations(&t);
    char tiny[512];
    if (check_fixture(argv[1], "golden/tiny-sd1.safetensors", tiny, sizeof tiny)) {
        test_fp16_equals_fp32(golden);
        test_tiny_configs(golden);
        test_weights(golden);
        test_families(&t, golden);
    }

    remove_tmp(&t);
    return check_summary();
}
