/* safetensors reader: mmap the file, parse the JSON header with cJSON, validate every
 * dtype, shape and offset against the file size before anything touches the data.
 * A hostile or truncated file gives SD_ERR_FORMAT / SD_ERR_IO with a message, never a crash. */
#ifndef SD_SAFETENSORS_H
#define SD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "sd.h"

#define ST_MAX_DIMS 8

typedef enum {
    ST_F32 = 0,
    ST_F16,
    ST_BF16,
    ST_F64,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL
} st_dtype;

typedef struct {
    const char *name;       /* owned by the st_file */
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data;       /* into the mapping; valid until st_close */
    size_t nbytes;
} st_tensor;

typedef struct st_file st_file;

/* Opens and validates `path`. On success *out owns the mapping. */
sd_status st_open(const char *path, st_file **out, sd_error *err);
void st_close(st_file *f);

size_t st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, size_t i);   /* in header order */
const st_tensor *st_find(const st_file *f, const char *name);  /* NULL if absent */
const char *st_path(const st_file *f);
/* The raw "__metadata__" value of `key`, or NULL. */
const char *st_metadata(const st_file *f, const char *key);

const char *st_dtype_name(st_dtype d);
size_t st_dtype_size(st_dtype d);

/* Converts a F32/F16/BF16/F64 tensor to float32 (numel floats). */
sd_status st_to_f32(const st_tensor *t, float *dst, sd_error *err);
/* Converts an integer tensor (I64/I32/I16/I8/U8) to int64 (numel values). */
sd_status st_to_i64(const st_tensor *t, int64_t *dst, sd_error *err);

/* Tells the kernel the pages of t are no longer needed (after conversion), so a
 * converted checkpoint does not also keep its source pages resident. */
void st_release(const st_file *f, const st_tensor *t);

/* Half-precision helpers (exact, round-to-nearest-even for the narrowing ones). */
float sd_f16_to_f32(uint16_t h);
float sd_bf16_to_f32(uint16_t h);
uint16_t sd_f32_to_f16(float f);
uint16_t sd_f32_to_bf16(float f);

#endif
