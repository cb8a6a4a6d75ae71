/* Model weights: the opened checkpoint plus every tensor converted to fp32 on first bind.
 *
 * Each checkpoint tensor has one entry, sorted by name, so a bind is a binary search and a
 * second bind of the same key returns the same buffer. A tensor whose file bytes already
 * are what the op reads (fp32 bound as fp32, fp16/bf16 bound packed, aligned, on a
 * little-endian host) is used in place in the mapping: no copy, and its pages are the
 * kernel's page cache, which sd_weights_release hands back while a network is idle (a
 * later use faults them in again from the cache). Anything else is converted once into
 * its own buffer, and the source pages of that tensor are released at once. */
#include "io/weights.h"

#include <stdarg.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/spill.h"

/* Converted buffers are cache-line aligned for the BLAS kernels. */
#define WEIGHT_ALIGN 64
/* Large buffers start on a huge-page boundary and ask for transparent huge pages:
 * faulting in 4 GB of SD 1.5 weights 4 KiB at a time costs seconds of kernel time. */
#define HUGE_PAGE ((size_t)2 << 20)
#define WEIGHT_NAME_MAX 256

typedef struct {
    char *name;             /* a copy: it outlives the st_file */
    const st_tensor *src;   /* NULL once the file is dropped */
    float *data;            /* fp32, NULL until bound */
    uint16_t *packed;       /* 16-bit values, NULL until bound packed */
    int packed_bf16;
    int data_mapped;        /* data points into the file's mapping (not owned) */
    int packed_mapped;      /* packed points into the file's mapping (not owned) */
    int half;               /* the checkpoint holds it as 1: F16, 2: BF16 (0: other) */
    float *patch;           /* LoRA-merged fp32 copy, while deltas are added: in patch_map
                               (a F32 tensor), or the shared scratch (F16/BF16) */
    uint16_t *patch_packed; /* the sealed copy of a F16/BF16 tensor, in its own dtype, in
                               patch_map */
    sd_spill patch_map;     /* the merged copy's own memory (owned): spill memory, handed
                               back per phase with the checkpoint's pages */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    void *reader;           /* sd_weights_set_reader: the layer that reads it, not owned */
} weight_entry;

struct sd_weights {
    float *scratch;         /* the fp32 working copy of the one F16/BF16 tensor being patched */
    size_t scratch_n;
    weight_entry *open;     /* that tensor (its patch points into scratch), or NULL */
    st_file *file;
    weight_entry *entries;  /* sorted by name */
    size_t count;
    size_t bytes;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const weight_entry *)a)->name, ((const weight_entry *)b)->name);
}

sd_status sd_weights_open(const char *path, sd_weights **out, sd_error *err)
{
    *out = NULL;
    sd_weights *w = calloc(1, sizeof *w);
    if (!w)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory opening %s", path ? path : "(null)");
    sd_status s = st_open(path, &w->file, err);
    if (s != SD_OK) {
        free(w);
        return s;
    }
    w->count = st_count(w->file);
    w->entries = calloc(w->count ? w->count : 1, sizeof *w->entries);
    if (!w->entries) {
        sd_weights_free(w);
        return sd_fail(err, SD_ERR_NOMEM, "out of memory indexing %s", path);
    }
    for (size_t i = 0; i < w->count; i++) {
        const st_tensor *t = st_at(w->file, i);
        weight_entry *e = &w->entries[i];
        e->name = strdup(t->name);
        if (!e->name) {
            sd_weights_free(w);
            return sd_fail(err, SD_ERR_NOMEM, "out of memory indexing %s", path);
        }
        e->src = t;
        e->half = t->dtype == ST_F16 ? 1 : t->dtype == ST_BF16 ? 2 : 0;
        e->ndim = t->ndim;
        memcpy(e->shape, t->shape, sizeof e->shape);
        e->numel = t->numel;
    }
    qsort(w->entries, w->count, sizeof *w->entries, cmp_entry);
    *out = w;
    return SD_OK;
}

void sd_weights_free(sd_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++) {
        if (!w->entries[i].data_mapped)
            free(w->entries[i].data);
        if (!w->entries[i].packed_mapped)
            free(w->entries[i].packed);
        sd_spill_unmap(&w->entries[i].patch_map);
        free(w->entries[i].name);
    }
    free(w->entries);
    free(w->scratch);
    st_close(w->file);
    free(w);
}

const st_file *sd_weights_file(const sd_weights *w)
{
    return w->file;
}

static weight_entry *find_entry(const sd_weights *w, const char *name)
{
    size_t lo = 0, hi = w->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, w->entries[mid].name);
        if (c == 0)
            return &w->entries[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* "[320, 4, 3, 3]" ("?" for a wildcard) into buf. */
static const char *format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < ndim && n < size; i++) {
        if (shape[i] < 0)
            n += (size_t)snprintf(buf + n, size - n, "%s?", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "",
                                  (long long)shape[i]);
    }
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

static int shape_matches(const weight_entry *e, int ndim, const int64_t *shape)
{
    if (e->ndim != ndim)
        return 0;
    for (int i = 0; shape && i < ndim; i++)
        if (shape[i] >= 0 && shape[i] != e->shape[i])
            return 0;
    return 1;
}

static void *alloc_weights(size_t bytes)
{
    if (bytes < 2 * HUGE_PAGE) {
        size_t padded = (bytes + WEIGHT_ALIGN - 1) / WEIGHT_ALIGN * WEIGHT_ALIGN;
        return aligned_alloc(WEIGHT_ALIGN, padded ? padded : WEIGHT_ALIGN);
    }
    size_t padded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, padded);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, padded, MADV_HUGEPAGE);  /* a hint: failure only costs speed */
#endif
    return p;
}

static sd_status convert(sd_weights *w, weight_entry *e, sd_error *err)
{
    if (!e->src)
        return sd_fail(err, SD_ERR_INTERNAL,
                       "tensor %s bound after the checkpoint file was dropped", e->name);
    size_t bytes = (size_t)e->numel * sizeof(float);
    float *data = alloc_weights(bytes);
    if (!data)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory converting %s (%zu bytes)", e->name,
                       bytes);
    sd_status s = st_to_f32(e->src, data, err);
    if (s != SD_OK) {
        free(data);
        return s;
    }
    st_release(w->file, e->src);
    e->data = data;
    w->bytes += bytes;
    return SD_OK;
}

/* 1 when the file holds tensor e's values as `dtype`, aligned for reading them in place. */
static int usable_in_place(const weight_entry *e, st_dtype dtype, size_t align)
{
    const uint16_t probe = 1;
    const int little_endian = *(const unsigned char *)&probe == 1;
    return e->src && e->src->dtype == dtype && little_endian &&
           (uintptr_t)e->src->data % align == 0;
}

/* Copies a F16/BF16 tensor's bits out of the mapping (little-endian in the file). */
static sd_status copy_packed(sd_weights *w, weight_entry *e, sd_error *err)
{
    if (!e->src)
        return sd_fail(err, SD_ERR_INTERNAL,
                       "tensor %s bound after the checkpoint file was dropped", e->name);
    size_t bytes = (size_t)e->numel * sizeof(uint16_t);
    uint16_t *packed = alloc_weights(bytes);
    if (!packed)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory loading %s (%zu bytes)", e->name,
                       bytes);
    const unsigned char *p = e->src->data;
    for (int64_t i = 0; i < e->numel; i++)
        packed[i] = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
    st_release(w->file, e->src);
    e->packed = packed;
    w->bytes += bytes;
    return SD_OK;
}

/* The tensor's bytes are used where they lie in the mapping. */
static void keep_in_place(sd_weights *w, weight_entry *e, int *mapped)
{
    *mapped = 1;
    w->bytes += e->src->nbytes;
}

/* e->packed: the F16/BF16 values in place, or a copy when they are not aligned. */
static sd_status load_packed(sd_weights *w, weight_entry *e, sd_error *err)
{
    e->packed_bf16 = e->src->dtype == ST_BF16;
    if (!usable_in_place(e, e->src->dtype, sizeof(uint16_t)))
        return copy_packed(w, e, err);
    e->packed = (uint16_t *)(uintptr_t)e->src->data;
    keep_in_place(w, e, &e->packed_mapped);
    return SD_OK;
}

/* e->data: the F32 values in place, or converted into a buffer of their own. */
static sd_status load_f32(sd_weights *w, weight_entry *e, sd_error *err)
{
    if (e->packed || !usable_in_place(e, ST_F32, sizeof(float)))
        return convert(w, e, err);
    e->data = (float *)(uintptr_t)e->src->data;
    keep_in_place(w, e, &e->data_mapped);
    return SD_OK;
}

static sd_status bind_v(sd_weights *w, sd_tensor *out, sd_error *err, int ndim,
                        const int64_t *shape, int allow_packed, const char *name_fmt,
                        va_list ap)
{
    memset(out, 0, sizeof *out);
    char name[WEIGHT_NAME_MAX];
    int n = vsnprintf(name, sizeof name, name_fmt, ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return sd_fail(err, SD_ERR_INVALID_ARG, "tensor name too long: %.64s...", name);
    if (ndim < 1 || ndim > 4)
        return sd_fail(err, SD_ERR_INVALID_ARG, "tensor %s: cannot bind with %d dims", name,
                       ndim);

    weight_entry *e = find_entry(w, name);
    if (!e)
        return sd_fail(err, SD_ERR_FORMAT, "missing tensor %s", name);
    if (!shape_matches(e, ndim, shape)) {
        char want[128], got[128];
        int64_t any[4] = {-1, -1, -1, -1};
        return sd_fail(err, SD_ERR_FORMAT, "tensor %s: expected shape %s, got %s", name,
                       format_shape(want, sizeof want, ndim, shape ? shape : any),
                       format_shape(got, sizeof got, e->ndim, e->shape));
    }
    int half = e->packed || (e->src && (e->src->dtype == ST_F16 || e->src->dtype == ST_BF16));
    if (allow_packed && half && !e->data) {
        if (!e->packed) {
            sd_status s = load_packed(w, e, err);
            if (s != SD_OK)
                return s;
        }
        out->packed = e->packed;
        out->packed_bf16 = e->packed_bf16;
    } else {
        if (!e->data) {
            sd_status s = load_f32(w, e, err);
            if (s != SD_OK)
                return s;
        }
        out->data = e->data;
    }
    out->name = e->name;
    out->ndim = e->ndim;
    memcpy(out->shape, e->shape, (size_t)e->ndim * sizeof out->shape[0]);
    out->numel = e->numel;
    return SD_OK;
}

sd_status sd_weights_bind(sd_weights *w, sd_tensor *out, sd_error *err, int ndim,
                          const int64_t *shape, const char *name_fmt, ...)
{
    va_list ap;
    va_start(ap, name_fmt);
    sd_status s = bind_v(w, out, err, ndim, shape, 0, name_fmt, ap);
    va_end(ap);
    return s;
}

sd_status sd_weights_bind_packed(sd_weights *w, sd_tensor *out, sd_error *err, int ndim,
                                 const int64_t *shape, const char *name_fmt, ...)
{
    va_list ap;
    va_start(ap, name_fmt);
    sd_status s = bind_v(w, out, err, ndim, shape, 1, name_fmt, ap);
    va_end(ap);
    return s;
}

int sd_weights_has(const sd_weights *w, const char *name_fmt, ...)
{
    char name[WEIGHT_NAME_MAX];
    va_list ap;
    va_start(ap, name_fmt);
    int n = vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return 0;
    return find_entry(w, name) != NULL;
}

int sd_weights_set_reader(sd_weights *w, const char *name, void *reader)
{
    weight_entry *e = find_entry(w, name);
    if (!e)
        return -1;
    e->reader = reader;
    return 0;
}

void *sd_weights_reader(const sd_weights *w, const char *name)
{
    const weight_entry *e = find_entry(w, name);
    return e ? e->reader : NULL;
}

/* Index of the first entry whose name is not below `prefix`: entries are sorted by name,
 * so those under the prefix are one run from there. */
static size_t first_under(const sd_weights *w, const char *prefix)
{
    size_t lo = 0, hi = w->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(w->entries[mid].name, prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void sd_weights_each_reader(const sd_weights *w, const char *prefix,
                            void (*fn)(void *user, const char *name, void *reader), void *user)
{
    const size_t len = strlen(prefix);
    for (size_t i = first_under(w, prefix);
         i < w->count && strncmp(w->entries[i].name, prefix, len) == 0; i++)
        if (w->entries[i].reader)
            fn(user, w->entries[i].name, w->entries[i].reader);
}

void sd_weights_drop_file(sd_weights *w)
{
    if (!w || !w->file)
        return;
    for (size_t i = 0; i < w->count; i++)
        if (w->entries[i].data_mapped || w->entries[i].packed_mapped)
            return;   /* still read in place: the mapping stays */
    for (size_t i = 0; i < w->count; i++)
        w->entries[i].src = NULL;
    st_close(w->file);
    w->file = NULL;
}

size_t sd_weights_release(sd_weights *w, const char *prefix)
{
    size_t bytes = 0, len = strlen(prefix);
    if (!w)
        return 0;
    for (size_t i = first_under(w, prefix); i < w->count && strncmp(w->entries[i].name, prefix, len) == 0; i++) {
        const weight_entry *e = &w->entries[i];
        if (w->file && (e->data_mapped || e->packed_mapped) && e->src) {
            st_release(w->file, e->src);
            bytes += e->src->nbytes;
        }
        /* a merged copy: its values stay in the spill file (patch_map never holds the
         * scratch a merge adds a F16/BF16 tensor's deltas into) */
        if (e->patch_map.data) {
            sd_spill_release(&e->patch_map, e->patch_map.data, e->patch_map.bytes);
            bytes += e->patch_map.file_backed ? e->patch_map.bytes : 0;
        }
    }
    return bytes;
}

/* The tensor's current values as fp32 into dst (numel floats). */
static sd_status values_f32(const weight_entry *e, float *dst, sd_error *err)
{
    if (e->data) {
        memcpy(dst, e->data, (size_t)e->numel * sizeof *dst);
    } else if (e->packed) {
        sd_weights_widen(e->packed, dst, (size_t)e->numel, e->packed_bf16);
    } else if (e->src) {
        return st_to_f32(e->src, dst, err);
    } else {
        return sd_fail(err, SD_ERR_INTERNAL,
                       "tensor %s patched after the checkpoint file was dropped", e->name);
    }
    return SD_OK;
}

/* Bytes a patched tensor holds of its own (the shared scratch not counted). */
static size_t patch_bytes(const sd_weights *w, const weight_entry *e)
{
    if (e->patch && e->patch != w->scratch)
        return (size_t)e->numel * sizeof(float);
    return e->patch_packed ? (size_t)e->numel * sizeof(uint16_t) : 0;
}

/* The fp32 buffer a patch of e is made in: its own for a F32 tensor (the final copy), the
 * shared scratch for a F16/BF16 one (sealed into a 16-bit copy of its own), so merging a
 * whole U-Net does not fault in a fresh fp32 buffer per tensor. */
static float *patch_buffer(sd_weights *w, weight_entry *e, sd_error *err)
{
    size_t n = (size_t)e->numel;
    if (!e->half) {
        if (sd_spill_map(&e->patch_map, n * sizeof(float)) != 0)
            sd_fail(err, SD_ERR_NOMEM, "out of memory patching %s (%zu bytes)", e->name,
                    n * sizeof(float));
        return e->patch_map.data;
    }
    if (w->open && w->open != e && sd_weights_patch_seal(w, w->open->name, err) != SD_OK)
        return NULL;
    if (w->scratch_n < n) {
        float *p = alloc_weights(n * sizeof(float));
        if (!p) {
            sd_fail(err, SD_ERR_NOMEM, "out of memory patching %s (%zu bytes)", e->name,
                    n * sizeof(float));
            return NULL;
        }
        free(w->scratch);
        w->scratch = p;
        w->scratch_n = n;
    }
    w->open = e;
    return w->scratch;
}

float *sd_weights_patch(sd_weights *w, const char *name, int *ndim, int64_t shape[4],
                        sd_error *err)
{
    weight_entry *e = find_entry(w, name);
    if (!e) {
        sd_fail(err, SD_ERR_FORMAT, "missing tensor %s", name);
        return NULL;
    }
    if (e->ndim > 4) {
        sd_fail(err, SD_ERR_FORMAT, "tensor %s: %d dims", name, e->ndim);
        return NULL;
    }
    if (!e->patch) {
        float *p = patch_buffer(w, e, err);
        if (!p)
            return NULL;
        if (e->patch_packed) {   /* sealed before: widen it back (exact) */
            sd_weights_widen(e->patch_packed, p, (size_t)e->numel, e->half == 2);
        } else if (values_f32(e, p, err) != SD_OK) {
            if (p != w->scratch)
                sd_spill_unmap(&e->patch_map);
            if (w->open == e)
                w->open = NULL;
            return NULL;
        }
        w->bytes -= patch_bytes(w, e);
        if (e->patch_packed)   /* widened into the scratch: the sealed copy goes */
            sd_spill_unmap(&e->patch_map);
        e->patch_packed = NULL;
        e->patch = p;
        w->bytes += patch_bytes(w, e);
        /* The layer reads the copy from now on: the checkpoint's pages of this tensor go
         * back to the page cache (a detach faults them in again), so a merge does not hold
         * the mapped U-Net and its merged copy resident at once. */
        if ((e->data_mapped || e->packed_mapped) && e->src && w->file)
            st_release(w->file, e->src);
    }
    *ndim = e->ndim;
    for (int i = 0; i < 4; i++)
        shape[i] = i < e->ndim ? e->shape[i] : 1;
    return e->patch;
}

sd_status sd_weights_patch_seal(sd_weights *w, const char *name, sd_error *err)
{
    weight_entry *e = find_entry(w, name);
    if (!e || !e->patch || !e->half)
        return SD_OK;
    /* a half tensor's fp32 copy is the scratch (patch_buffer): patch_map is free */
    if (sd_spill_map(&e->patch_map, (size_t)e->numel * sizeof(uint16_t)) != 0)
        return sd_fail(err, SD_ERR_NOMEM, "out of memory sealing %s", name);
    uint16_t *q = e->patch_map.data;
    sd_weights_narrow(e->patch, q, (size_t)e->numel, e->half == 2);
    w->bytes -= patch_bytes(w, e);
    e->patch = NULL;
    e->patch_packed = q;
    w->bytes += patch_bytes(w, e);
    if (w->open == e)
        w->open = NULL;
    return SD_OK;
}

sd_status sd_weights_patch_end(sd_weights *w, sd_error *err)
{
    sd_status st = w->open ? sd_weights_patch_seal(w, w->open->name, err) : SD_OK;
    free(w->scratch);
    w->scratch = NULL;
    w->scratch_n = 0;
    return st;
}

void sd_weights_unpatch(sd_weights *w)
{
    for (size_t i = 0; w && i < w->count; i++) {
        weight_entry *e = &w->entries[i];
        w->bytes -= patch_bytes(w, e);
        sd_spill_unmap(&e->patch_map);
        e->patch = NULL;
        e->patch_packed = NULL;
    }
    if (w) {
        w->open = NULL;
        free(w->scratch);
        w->scratch = NULL;
        w->scratch_n = 0;
    }
}

void sd_weights_each_patch(const sd_weights *w,
                           void (*fn)(void *user, const sd_tensor *patched), void *user)
{
    for (size_t i = 0; w && i < w->count; i++) {
        const weight_entry *e = &w->entries[i];
        if (!e->patch && !e->patch_packed)
            continue;
        sd_tensor t = {.name = e->name, .data = e->patch, .packed = e->patch ? NULL : e->patch_packed,
                       .packed_bf16 = e->half == 2, .ndim = e->ndim, .numel = e->numel};
        memcpy(t.shape, e->shape, (size_t)e->ndim * sizeof t.shape[0]);
        fn(user, &t);
    }
}

size_t sd_weights_patched(const sd_weights *w, size_t *bytes)
{
    size_t n = 0, b = 0;
    for (size_t i = 0; w && i < w->count; i++) {
        n += w->entries[i].patch || w->entries[i].patch_packed;
        b += patch_bytes(w, &w->entries[i]);
    }
    if (bytes)
        *bytes = b;
    return n;
}

size_t sd_weights_count(const sd_weights *w)
{
    return w ? w->count : 0;
}

const char *sd_weights_key(const sd_weights *w, size_t i, int *ndim, int64_t shape[4])
{
    const weight_entry *e = &w->entries[i];
    *ndim = e->ndim;
    for (int d = 0; d < 4; d++)
        shape[d] = d < e->ndim ? e->shape[d] : 1;
    return e->name;
}

size_t sd_weights_bytes(const sd_weights *w)
{
    return w->bytes;
}
