/* Model weights as fp32 tensors, looked up by checkpoint key.
 *
 * sd_weights owns the opened checkpoint and every converted tensor. Blocks bind their
 * parameters at load time by the checkpoint's own names (STYLE.md: name things after
 * the checkpoint keys), with the expected shape checked, so a forward pass never
 * looks anything up. */
#ifndef SD_WEIGHTS_H
#define SD_WEIGHTS_H

#include <stdint.h>

#include "safetensors.h"
#include "sd.h"

typedef struct {
    const float *data;   /* fp32, row-major (PyTorch layout) */
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

/* 1 when the checkpoint holds `name` (printf-style). */
int sd_weights_has(const sd_weights *w, const char *name_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Unmaps the checkpoint once every tensor is bound (converted data stays). */
void sd_weights_drop_file(sd_weights *w);

/* Bytes of converted fp32 weights held. */
size_t sd_weights_bytes(const sd_weights *w);

/* Convenience for the common cases; each returns the status of sd_weights_bind. */
#define SD_SHAPE(...) ((const int64_t[]){__VA_ARGS__})

#endif
