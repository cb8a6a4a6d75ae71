/* Model weights as fp32 (or, for the big matrices of a fp16 checkpoint, fp16) tensors,
 * looked up by checkpoint key.
 *
 * sd_weights owns the opened checkpoint and every converted tensor. Blocks bind their
 * parameters at load time by the checkpoint's own names (STYLE.md: name things after
 * the checkpoint keys), with the expected shape checked, so a forward pass never
 * looks anything up. */
#ifndef SD_WEIGHTS_H
#define SD_WEIGHTS_H

#include <stdint.h>

#include "core/arena.h"
#include "io/safetensors.h"
#include "sd.h"

/* Exactly one of data and packed is set. packed holds the checkpoint's own 16-bit values
 * (sd_weights_bind_packed on a F16/BF16 file): the conv and linear weights of SD 1.5 are
 * 1.7 GB that way instead of 3.4 GB widened; sd_tensor_f32 widens them per use. Either
 * may point into the checkpoint's mapping (read in place). */
typedef struct {
    const char *name;        /* the checkpoint key, owned by sd_weights; NULL when unbound */
    const float *data;       /* fp32, row-major (PyTorch layout) */
    const uint16_t *packed;  /* fp16 or bf16 bits, same layout */
    int packed_bf16;         /* packed holds bf16, not fp16 */
    int ndim;
    int64_t shape[4];
    int64_t numel;
} sd_tensor;

typedef struct sd_weights sd_weights;

sd_status sd_weights_open(const char *path, sd_weights **out, sd_error *err);
void sd_weights_free(sd_weights *w);
const st_file *sd_weights_file(const sd_weights *w);  /* NULL after sd_weights_drop_file */

/* Binds tensor `name` (printf-style) as fp32 and checks its shape: ndim dims follow
 * as int64_t-compatible ints (pass -1 for "any"; shape NULL accepts any shape of rank
 * ndim). Converts once; a second bind of the same name returns the same data. Errors name
 * the key and the shapes; a key that is absent gives SD_ERR_FORMAT "missing tensor <key>". */
sd_status sd_weights_bind(sd_weights *w, sd_tensor *out, sd_error *err, int ndim,
                          const int64_t *shape, const char *name_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* As sd_weights_bind, but a F16/BF16 tensor stays 16-bit (out->packed) instead of being
 * widened; F32 files bind as fp32. For weights whose op reads them through sd_tensor_f32. */
sd_status sd_weights_bind_packed(sd_weights *w, sd_tensor *out, sd_error *err, int ndim,
                                 const int64_t *shape, const char *name_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The tensor as fp32: its data, or for a packed tensor a copy widened (exactly) into
 * scratch from `a`, valid until the arena is reset below it. NULL when the arena is out. */
const float *sd_tensor_f32(const sd_tensor *t, sd_arena *a);

/* Row `row` of a 2-D tensor as fp32 into dst [shape[1]] (widened exactly when packed). */
void sd_tensor_row_f32(const sd_tensor *t, int64_t row, float *dst);

/* 1 when the checkpoint holds `name` (printf-style). */
int sd_weights_has(const sd_weights *w, const char *name_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reader of a bound tensor: the layer that reads it for compute (layers/layers.h records
 * each layer here when it binds, so a later pass, LoRA or a weight conversion, finds every
 * layer by checkpoint key). sd_weights only keeps the pointer; it never dereferences it.
 * set_reader returns 0, or -1 when no tensor is called `name`. */
int sd_weights_set_reader(sd_weights *w, const char *name, void *reader);
void *sd_weights_reader(const sd_weights *w, const char *name);   /* NULL: none */
/* Calls fn(user, name, reader) for every tensor under `prefix` that has a reader, in key
 * order. */
void sd_weights_each_reader(const sd_weights *w, const char *prefix,
                            void (*fn)(void *user, const char *name, void *reader), void *user);

/* Unmaps the checkpoint once every tensor is bound, unless some are read in place from
 * the mapping (then it stays until sd_weights_free). Converted data stays. */
void sd_weights_drop_file(sd_weights *w);

/* Hands the resident pages of every tensor under `prefix` that is read in place back to
 * the kernel (they stay in the page cache; the next read faults them in again): a
 * network's weights cost no resident memory while another network runs. Values are
 * unchanged. Returns the bytes of the tensors released. */
size_t sd_weights_release(sd_weights *w, const char *prefix);

/* Bytes of weights held (fp32 and packed). */
size_t sd_weights_bytes(const sd_weights *w);

/* Convenience for the common cases; each returns the status of sd_weights_bind. */
#define SD_SHAPE(...) ((const int64_t[]){__VA_ARGS__})

#endif
