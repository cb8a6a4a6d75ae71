/* sd_rng against tests/fixtures/rng/rng_fixture.json (made by make_rng_fixture.py with Debian's
 * torch 1.13.1, AVX2 kernels, and with a numpy mirror of A1111's rng_philox.py).
 *
 * Every case must match bit for bit: the listed values (first 8, last 8, 8 samples, or all
 * when n <= 16) and an FNV-1a hash over the bits of all n values. argv[1] = the fixture dir. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"

enum { MAX_N = 1 << 16 };

static float buf[MAX_N], buf2[MAX_N];

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            text = malloc((size_t)size + 1);
            if (text && fread(text, 1, (size_t)size, f) == (size_t)size) {
                text[size] = '\0';
            } else {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    return text;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static uint64_t fnv1a64(const float *x, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = bits(x[i]);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xffu;
            h *= UINT64_C(0x100000001b3);
        }
    }
    return h;
}

/* Distance in units in the last place between two finite floats of any sign. */
static long ulp_distance(float a, float b)
{
    int64_t ia = (int32_t)bits(a), ib = (int32_t)bits(b);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return (long)llabs(ia - ib);
}

/* Compares out[index[k]] (index NULL: out[first + k]) to the numbers in list; returns the
 * largest ulp distance, -1 when the list is malformed. */
static long compare_list(const float *out, size_t n, const cJSON *list, const cJSON *index,
                         size_t first)
{
    long worst = 0;
    int k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        size_t i = first + (size_t)k;
        if (index) {
            const cJSON *iv = cJSON_GetArrayItem(index, k);
            if (!cJSON_IsNumber(iv))
                return -1;
            i = (size_t)iv->valuedouble;
        }
        if (!cJSON_IsNumber(v) || i >= n)
            return -1;
        long d = ulp_distance(out[i], (float)v->valuedouble);
        if (d > worst)
            worst = d;
        k++;
    }
    return worst;
}

/* Checks one drawn tensor against its fixture record; `what` names it in failures. */
static void check_record_matches(const float *out, size_t n, const cJSON *rec, const char *what)
{
    const cJSON *jn = cJSON_GetObjectItem(rec, "n");
    CHECK(cJSON_IsNumber(jn) && (size_t)jn->valuedouble == n, "%s: n", what);

    long worst = 0;
    const cJSON *values = cJSON_GetObjectItem(rec, "values");
    if (values) {
        CHECK(cJSON_GetArraySize(values) == (int)n, "%s: all values listed", what);
        worst = compare_list(out, n, values, NULL, 0);
    } else {
        long a = compare_list(out, n, cJSON_GetObjectItem(rec, "head"), NULL, 0);
        long b = compare_list(out, n, cJSON_GetObjectItem(rec, "tail"), NULL, n - 8);
        long c = compare_list(out, n, cJSON_GetObjectItem(rec, "sample"),
                              cJSON_GetObjectItem(rec, "sample_index"), 0);
        worst = (a < 0 || b < 0 || c < 0) ? -1 : a > b ? (a > c ? a : c) : (b > c ? b : c);
    }
    CHECK(worst == 0, "%s: listed values differ by up to %ld ulp (-1: bad fixture)", what, worst);

    const cJSON *jh = cJSON_GetObjectItem(rec, "fnv1a64");
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a64(out, n));
    CHECK(cJSON_IsString(jh) && strcmp(jh->valuestring, hash) == 0,
          "%s: hash of all %zu values %s, fixture %s", what, n, hash,
          cJSON_IsString(jh) ? jh->valuestring : "?");

    /* The sum is not bit-exact (numpy sums pairwise); it only shows how far off a bad hash is. */
    double sum = 0.0, abs_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += out[i];
        abs_sum += fabs(out[i]);
    }
    const cJSON *js = cJSON_GetObjectItem(rec, "sum");
    CHECK(cJSON_IsNumber(js) && fabs(sum - js->valuedouble) <= 1e-12 * abs_sum + 1e-12,
          "%s: sum %.17g, fixture %.17g", what, sum, cJSON_IsNumber(js) ? js->valuedouble : NAN);
}

static size_t record_n(const cJSON *rec)
{
    const cJSON *jn = cJSON_GetObjectItem(rec, "n");
    if (!cJSON_IsNumber(jn) || jn->valuedouble < 0 || jn->valuedouble > MAX_N)
        return 0;
    return (size_t)jn->valuedouble;
}

static uint64_t record_seed(const cJSON *obj)
{
    const cJSON *js = cJSON_GetObjectItem(obj, "seed");
    return cJSON_IsString(js) ? strtoull(js->valuestring, NULL, 10) : 0;
}

static void check_mode(const cJSON *mode, sd_rng_kind kind, const char *name)
{
    CHECK(mode != NULL, "%s: in the fixture", name);
    if (!mode)
        return;

    int n_cases = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(mode, "cases")) {
        size_t n = record_n(rec);
        uint64_t seed = record_seed(rec);
        char what[96];
        snprintf(what, sizeof what, "%s seed %llu n %zu", name, (unsigned long long)seed, n);
        CHECK(n > 0, "%s: n in range", what);
        sd_rng r;
        sd_rng_init(&r, kind, seed);
        sd_rng_randn(&r, buf, n);
        check_record_matches(buf, n, rec, what);
        n_cases++;
    }
    CHECK(n_cases >= 50, "%s: %d cases", name, n_cases);

    /* One generator, several tensors in a row, as a pipeline draws them. */
    const cJSON *seq = cJSON_GetObjectItem(mode, "sequence");
    sd_rng r;
    sd_rng_init(&r, kind, record_seed(seq));
    int k = 0;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(seq, "draws")) {
        size_t n = record_n(rec);
        char what[96];
        snprintf(what, sizeof what, "%s sequence draw %d (n %zu)", name, k, n);
        sd_rng_randn(&r, buf, n);
        check_record_matches(buf, n, rec, what);
        k++;
    }
    CHECK(k >= 5, "%s: %d sequence draws", name, k);
}

static void check_properties(sd_rng_kind kind, const char *name)
{
    const size_t n = 4 * 64 * 64;
    sd_rng a, b;

    /* Determinism: the same seed gives the same bits. */
    sd_rng_init(&a, kind, 42);
    sd_rng_randn(&a, buf, n);
    sd_rng_init(&b, kind, 42);
    sd_rng_randn(&b, buf2, n);
    CHECK(memcmp(buf, buf2, n * sizeof *buf) == 0, "%s: same seed, same noise", name);

    /* A copied state continues identically (the struct is the whole state). */
    sd_rng_randn(&a, buf, 5);
    b = a;
    sd_rng_randn(&a, buf, 300);
    sd_rng_randn(&b, buf2, 300);
    CHECK(memcmp(buf, buf2, 300 * sizeof *buf) == 0, "%s: copied state continues", name);

    /* The next draw is new noise, not the first one again. */
    sd_rng_init(&a, kind, 42);
    sd_rng_randn(&a, buf, n);
    sd_rng_randn(&a, buf2, n);
    CHECK(memcmp(buf, buf2, n * sizeof *buf) != 0, "%s: consecutive draws differ", name);

    /* Different seeds differ almost everywhere. */
    sd_rng_init(&a, kind, 0);
    sd_rng_randn(&a, buf, n);
    sd_rng_init(&b, kind, 1);
    sd_rng_randn(&b, buf2, n);
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += buf[i] == buf2[i];
    CHECK(same < 4, "%s: seeds 0 and 1 share %zu of %zu values", name, same, n);

    /* Moments of N(0,1) over 16384 values (5 standard errors). */
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += buf[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (buf[i] - mean) * (buf[i] - mean);
    var /= (double)(n - 1);
    CHECK(fabs(mean) < 5.0 / sqrt((double)n), "%s: mean %g", name, mean);
    CHECK(fabs(var - 1.0) < 5.0 * sqrt(2.0 / (double)n), "%s: variance %g", name, var);

    /* n == 0 draws nothing (torch.randn(0) leaves the stream alone). */
    sd_rng_init(&a, kind, 7);
    sd_rng_randn(&a, buf, 0);
    sd_rng_randn(&a, buf, 33);
    sd_rng_init(&b, kind, 7);
    sd_rng_randn(&b, buf2, 33);
    CHECK(kind == SD_RNG_PHILOX || memcmp(buf, buf2, 33 * sizeof *buf) == 0,
          "%s: an empty draw consumes nothing", name);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures/rng";
    char path[4096];
    snprintf(path, sizeof path, "%s/rng_fixture.json", dir);
    char *text = read_text(path);
    CHECK(text != NULL, "read %s", path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECK(root != NULL, "parse %s", path);
    if (root) {
        check_mode(cJSON_GetObjectItem(root, "torch_cpu"), SD_RNG_TORCH_CPU, "torch_cpu");
        check_mode(cJSON_GetObjectItem(root, "philox"), SD_RNG_PHILOX, "philox");
    }
    cJSON_Delete(root);
    free(text);

    check_properties(SD_RNG_TORCH_CPU, "torch_cpu");
    check_properties(SD_RNG_PHILOX, "philox");

    /* torch keeps only the low 32 bits of the seed; Philox keys on all 64. */
    sd_rng a, b;
    sd_rng_init(&a, SD_RNG_TORCH_CPU, (UINT64_C(1) << 32) + 5);
    sd_rng_randn(&a, buf, 100);
    sd_rng_init(&b, SD_RNG_TORCH_CPU, 5);
    sd_rng_randn(&b, buf2, 100);
    CHECK(memcmp(buf, buf2, 100 * sizeof *buf) == 0, "torch_cpu: seed 2^32+5 == seed 5");
    sd_rng_init(&a, SD_RNG_PHILOX, (UINT64_C(1) << 32) + 5);
    sd_rng_randn(&a, buf, 100);
    sd_rng_init(&b, SD_RNG_PHILOX, 5);
    sd_rng_randn(&b, buf2, 100);
    CHECK(memcmp(buf, buf2, 100 * sizeof *buf) != 0, "philox: seed 2^32+5 != seed 5");

    return check_summary();
}
