/* safetensors reader.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON, then the data area.
 * The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
 * relative to the data area; "__metadata__" maps strings to strings.
 *
 * The file is untrusted: every length, shape and offset is checked against the file size
 * before a pointer into the mapping is formed, and tensors may not overlap. */
#include "core/float_bits.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

/* Headers beyond this are refused: real checkpoints have ~100 KiB of JSON, and cJSON would
 * otherwise be asked to parse an arbitrary amount of a hostile file. */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

typedef struct {
    char *key;
    char *value;
} st_meta;

struct st_file {
    char *path;
    const uint8_t *map;     /* whole file */
    size_t map_size;
    const uint8_t *data;    /* data area: map + 8 + header length */
    size_t data_size;
    st_tensor *tensors;     /* header order */
    size_t count;
    size_t *by_name;        /* indices into tensors, sorted by name */
    st_meta *meta;
    size_t meta_count;
    size_t page_size;
};

static const struct {
    const char *name;
    st_dtype dtype;
    size_t size;
} dtype_table[] = {
    {"F32", ST_F32, 4},  {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8},  {"I32", ST_I32, 4}, {"I16", ST_I16, 2},   {"I8", ST_I8, 1},
    {"U8", ST_U8, 1},    {"BOOL", ST_BOOL, 1},
};
#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

const char *st_dtype_name(st_dtype d)
{
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dtype == d)
            return dtype_table[i].name;
    return "?";
}

size_t st_dtype_size(st_dtype d)
{
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dtype == d)
            return dtype_table[i].size;
    return 0;
}

static int dtype_from_name(const char *s, st_dtype *out)
{
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (strcmp(dtype_table[i].name, s) == 0) {
            *out = dtype_table[i].dtype;
            return 1;
        }
    return 0;
}

/* ---- half precision ------------------------------------------------------ */

/* Rebias the exponent in place; subnormals are renormalised by one exact float
 * subtraction instead of a loop (F. Giesen's half_to_float), so the conversion loop over a
 * whole tensor stays branch-light. */
float sd_f16_to_f32(uint16_t h)
{
    const uint32_t exp_mask = 0x7c00u << 13;        /* f16 exponent, in f32 position */
    const uint32_t rebias = (uint32_t)(127 - 15) << 23;
    uint32_t o = (uint32_t)(h & 0x7fffu) << 13;
    uint32_t exp = o & exp_mask;
    o += rebias;
    if (exp == exp_mask)                             /* inf / nan: exponent all ones */
        o += rebias;
    else if (exp == 0)                               /* zero / subnormal: m * 2^-24 */
        o = f32_bits(f32_from_bits(o + (1u << 23)) - f32_from_bits(113u << 23));
    return f32_from_bits(o | (uint32_t)(h & 0x8000u) << 16);
}

float sd_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

/* Round to nearest even with integer adds (F. Giesen's float_to_half_fast3_rtne); the
 * f16 subnormal range is rounded by one float add, which the FPU rounds to nearest even
 * at exactly the f16 subnormal bit. */
uint16_t sd_f32_to_f16(float f)
{
    const uint32_t f32_inf = 255u << 23;
    const uint32_t f16_overflow = (uint32_t)(127 + 16) << 23;   /* 2^16: inf from here on */
    const uint32_t f16_min_normal = (uint32_t)(127 - 14) << 23; /* 2^-14 */
    const float denorm_magic = f32_from_bits((uint32_t)((127 - 15) + (23 - 10) + 1) << 23);
    uint32_t u = f32_bits(f);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint32_t o;
    if (u >= f16_overflow) {
        o = u > f32_inf ? 0x7e00u : 0x7c00u;  /* nan stays a quiet nan; else inf */
    } else if (u < f16_min_normal) {
        o = f32_bits(f32_from_bits(u) + denorm_magic) - f32_bits(denorm_magic);
    } else {
        uint32_t mant_odd = (u >> 13) & 1u;
        u += ((uint32_t)(15 - 127) << 23) + 0xfffu;  /* rebias, add half an ulp - 1 */
        u += mant_odd;                               /* ties to even; may carry to inf */
        o = u >> 13;
    }
    return (uint16_t)(o | sign >> 16);
}

uint16_t sd_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu))
        return (uint16_t)((u >> 16) | 0x40u);  /* nan: keep it a (quiet) nan */
    uint32_t lsb = (u >> 16) & 1u;
    u += 0x7fffu + lsb;
    return (uint16_t)(u >> 16);
}

/* ---- little-endian reads (the format is LE whatever the host) ------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

sd_status st_to_f32(const st_tensor *t, float *dst, sd_error *err)
{
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        for (int64_t i = 0; i < t->numel; i++)
            dst[i] = f32_from_bits(rd32(p + 4 * i));
        return SD_OK;
    case ST_F16:
        for (int64_t i = 0; i < t->numel; i++)
            dst[i] = sd_f16_to_f32(rd16(p + 2 * i));
        return SD_OK;
    case ST_BF16:
        for (int64_t i = 0; i < t->numel; i++)
            dst[i] = sd_bf16_to_f32(rd16(p + 2 * i));
        return SD_OK;
    case ST_F64:
        for (int64_t i = 0; i < t->numel; i++) {
            uint64_t u = rd64(p + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        }
        return SD_OK;
    default:
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: dtype %s is not a float type",
                       t->name, st_dtype_name(t->dtype));
    }
}

sd_status st_to_i64(const st_tensor *t, int64_t *dst, sd_error *err)
{
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case ST_I64: dst[i] = (int64_t)rd64(p + 8 * i); break;
        case ST_I32: dst[i] = (int32_t)rd32(p + 4 * i); break;
        case ST_I16: dst[i] = (int16_t)rd16(p + 2 * i); break;
        case ST_I8: dst[i] = (int8_t)p[i]; break;
        case ST_U8: dst[i] = p[i]; break;
        default:
            return sd_fail(err, SD_ERR_FORMAT, "tensor %s: dtype %s is not an integer type",
                           t->name, st_dtype_name(t->dtype));
        }
    }
    return SD_OK;
}

/* ---- header parsing ------------------------------------------------------ */

/* A JSON number that is an exact non-negative integer no larger than `max`. */
static int json_uint(const cJSON *j, uint64_t max, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    /* doubles hold integers exactly up to 2^53, which is beyond any file size we map */
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != floor(d) || (uint64_t)d > max)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static sd_status parse_tensor(st_file *f, const cJSON *item, st_tensor *t, sd_error *err)
{
    const char *name = item->string;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");

    if (!cJSON_IsObject(item))
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: header entry is not an object", name);
    if (!cJSON_IsString(dtype))
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: missing dtype", name);
    if (!dtype_from_name(dtype->valuestring, &t->dtype))
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: unknown dtype \"%s\"", name,
                       dtype->valuestring);
    if (!cJSON_IsArray(shape))
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: missing shape", name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS)
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: %d dims (at most %d)", name, ndim,
                       ST_MAX_DIMS);
    t->ndim = ndim;
    uint64_t numel = 1;
    int k = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t v;
        if (!json_uint(dim, (uint64_t)INT64_MAX, &v))
            return sd_fail(err, SD_ERR_FORMAT,
                           "tensor %s: shape entry %d is not an integer in [0, 2^53]", name, k);
        if (v != 0 && numel > (uint64_t)INT64_MAX / v)
            return sd_fail(err, SD_ERR_FORMAT, "tensor %s: shape overflows", name);
        numel *= v;
        t->shape[k++] = (int64_t)v;
    }
    size_t esize = st_dtype_size(t->dtype);
    if (numel > SIZE_MAX / esize)
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: shape overflows", name);
    t->numel = (int64_t)numel;
    t->nbytes = (size_t)numel * esize;

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: missing data_offsets [begin, end]",
                       name);
    uint64_t begin, end;
    if (!json_uint(cJSON_GetArrayItem(offs, 0), UINT64_MAX, &begin) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), UINT64_MAX, &end))
        return sd_fail(err, SD_ERR_FORMAT,
                       "tensor %s: data_offsets are not integers in [0, 2^53]", name);
    if (begin > end)
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: data_offsets begin %llu > end %llu",
                       name, (unsigned long long)begin, (unsigned long long)end);
    if (end > f->data_size)
        return sd_fail(err, SD_ERR_FORMAT,
                       "tensor %s: data_offsets end %llu past the data (%zu bytes); "
                       "truncated file?", name, (unsigned long long)end, f->data_size);
    if (end - begin != t->nbytes)
        return sd_fail(err, SD_ERR_FORMAT,
                       "tensor %s: data_offsets span %llu bytes, shape and dtype %s need %zu",
                       name, (unsigned long long)(end - begin), st_dtype_name(t->dtype),
                       t->nbytes);
    t->data = f->data + begin;
    return SD_OK;
}

static sd_status parse_metadata(st_file *f, const cJSON *item, sd_error *err)
{
    if (!cJSON_IsObject(item))
        return sd_fail(err, SD_ERR_FORMAT, "__metadata__ is not an object");
    int n = cJSON_GetArraySize(item);
    f->meta = calloc(n > 0 ? (size_t)n : 1, sizeof *f->meta);
    if (!f->meta)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory reading __metadata__");
    const cJSON *kv;
    cJSON_ArrayForEach(kv, item) {
        if (!cJSON_IsString(kv))
            continue;  /* the format says strings only; ignore anything else */
        st_meta *m = &f->meta[f->meta_count];
        m->key = strdup(kv->string);
        m->value = strdup(kv->valuestring);
        if (!m->key || !m->value) {
            free(m->key);
            free(m->value);
            return sd_fail(err, SD_ERR_NOMEM, "out of memory reading __metadata__");
        }
        f->meta_count++;
    }
    return SD_OK;
}

/* Index entries carry their tensor so both sorts need no context argument. */
typedef struct {
    size_t index;
    const st_tensor *t;
} sort_item;

static int cmp_item_name(const void *a, const void *b)
{
    return strcmp(((const sort_item *)a)->t->name, ((const sort_item *)b)->t->name);
}

static int cmp_item_begin(const void *a, const void *b)
{
    const uint8_t *x = ((const sort_item *)a)->t->data, *y = ((const sort_item *)b)->t->data;
    return (x > y) - (x < y);
}

/* Sorts a name index (for st_find) and checks that no two tensors share a byte or a name. */
static sd_status build_index(st_file *f, sd_error *err)
{
    size_t n = f->count;
    sort_item *items = malloc((n ? n : 1) * sizeof *items);
    f->by_name = malloc((n ? n : 1) * sizeof *f->by_name);
    if (!items || !f->by_name) {
        free(items);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory indexing %zu tensors", n);
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (sort_item){i, &f->tensors[i]};

    /* In begin order, a tensor overlaps an earlier one iff it starts before the furthest
     * end seen so far. Empty tensors occupy no bytes and may sit anywhere. */
    qsort(items, n, sizeof *items, cmp_item_begin);
    const st_tensor *furthest = NULL;
    const uint8_t *furthest_end = NULL;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *cur = items[i].t;
        const uint8_t *begin = cur->data, *end = begin + cur->nbytes;
        if (!cur->nbytes)
            continue;
        if (furthest && furthest_end > begin) {
            sd_status s = sd_fail(err, SD_ERR_FORMAT, "tensors %s and %s overlap in the file",
                                  furthest->name, cur->name);
            free(items);
            return s;
        }
        if (!furthest || end > furthest_end) {
            furthest = cur;
            furthest_end = end;
        }
    }

    qsort(items, n, sizeof *items, cmp_item_name);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(items[i - 1].t->name, items[i].t->name) == 0) {
            sd_status s = sd_fail(err, SD_ERR_FORMAT, "tensor %s appears twice",
                                  items[i].t->name);
            free(items);
            return s;
        }
        f->by_name[i] = items[i].index;
    }
    free(items);
    return SD_OK;
}

static sd_status parse_header(st_file *f, const char *json, size_t len, sd_error *err)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return sd_fail(err, SD_ERR_FORMAT, "header is not valid JSON");
    sd_status s = SD_OK;
    if (!cJSON_IsObject(root)) {
        s = sd_fail(err, SD_ERR_FORMAT, "header is not a JSON object");
        goto done;
    }
    size_t n = (size_t)cJSON_GetArraySize(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors) {
        s = sd_fail(err, SD_ERR_NOMEM, "out of memory for %zu tensors", n);
        goto done;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (f->meta) {
                s = sd_fail(err, SD_ERR_FORMAT, "__metadata__ appears twice");
                goto done;
            }
            s = parse_metadata(f, item, err);
            if (s != SD_OK)
                goto done;
            continue;
        }
        st_tensor *t = &f->tensors[f->count];
        s = parse_tensor(f, item, t, err);
        if (s != SD_OK)
            goto done;
        char *name = strdup(item->string);
        if (!name) {
            s = sd_fail(err, SD_ERR_NOMEM, "out of memory for tensor names");
            goto done;
        }
        t->name = name;
        f->count++;
    }
    s = build_index(f, err);
done:
    cJSON_Delete(root);
    return s;
}

/* ---- open / close -------------------------------------------------------- */

void st_close(st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap((void *)f->map, f->map_size);
    for (size_t i = 0; i < f->count; i++)
        free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->meta_count; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->meta);
    free(f->tensors);
    free(f->by_name);
    free(f->path);
    free(f);
}

sd_status st_open(const char *path, st_file **out, sd_error *err)
{
    *out = NULL;
    if (!path)
        return sd_fail(err, SD_ERR_INVALID_ARG, "st_open: no path");
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory opening %s", path);
    }
    long ps = sysconf(_SC_PAGESIZE);
    f->page_size = ps > 0 ? (size_t)ps : 4096;

    sd_status s;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = sd_fail(err, SD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = sd_fail(err, SD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        s = sd_fail(err, SD_ERR_IO, "%s is not a regular file", path);
        close(fd);
        goto fail;
    }
    if (st.st_size < 8) {
        s = sd_fail(err, SD_ERR_FORMAT, "%s: too short for a safetensors file (%lld bytes)",
                    path, (long long)st.st_size);
        close(fd);
        goto fail;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        s = sd_fail(err, SD_ERR_IO, "%s: too large to map", path);
        close(fd);
        goto fail;
    }
    f->map_size = (size_t)st.st_size;
    void *map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);  /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        s = sd_fail(err, SD_ERR_IO, "cannot map %s: %s", path, strerror(errno));
        goto fail;
    }
    f->map = map;

    uint64_t hlen = rd64(f->map);
    if (hlen == 0) {
        s = sd_fail(err, SD_ERR_FORMAT, "%s: header length is 0", path);
        goto fail;
    }
    if (hlen > f->map_size - 8) {
        s = sd_fail(err, SD_ERR_FORMAT,
                    "%s: header length %llu past the end of the file (%zu bytes)", path,
                    (unsigned long long)hlen, f->map_size);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER) {
        s = sd_fail(err, SD_ERR_FORMAT, "%s: header length %llu is implausibly large", path,
                    (unsigned long long)hlen);
        goto fail;
    }
    f->data = f->map + 8 + hlen;
    f->data_size = f->map_size - 8 - (size_t)hlen;
    s = parse_header(f, (const char *)f->map + 8, (size_t)hlen, err);
    if (s != SD_OK) {
        sd_fail_context(err, s, "%s", path);  /* every message of this reader names the file */
        goto fail;
    }
    *out = f;
    return SD_OK;
fail:
    st_close(f);
    return s;
}

size_t st_count(const st_file *f) { return f->count; }

const st_tensor *st_at(const st_file *f, size_t i)
{
    return i < f->count ? &f->tensors[i] : NULL;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *st_path(const st_file *f) { return f->path; }

const char *st_metadata(const st_file *f, const char *key)
{
    for (size_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

void st_release(const st_file *f, const st_tensor *t)
{
    if (!f || !t || !t->nbytes)
        return;
    uintptr_t begin = (uintptr_t)t->data, end = begin + t->nbytes;
    uintptr_t mask = (uintptr_t)f->page_size - 1;
    /* only whole pages inside the tensor: a neighbour sharing a page may still be read */
    uintptr_t first = (begin + mask) & ~mask, last = end & ~mask;
    if (last > first)
        madvise((void *)first, last - first, MADV_DONTNEED);
}
