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

/* n fp16 (bf16) values widened exactly to fp32, and fp32 narrowed to fp16 (bf16) with
 * round-to-nearest-even, over the worker threads (F16C where the CPU has it). */
void sd_weights_widen(const uint16_t *src, float *dst, size_t n, int bf16);
void sd_weights_narrow(const float *src, uint16_t *dst, size_t n, int bf16);

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
 * the kernel (they stay in the page cache; the next read faults them in again), and those
 * of its LoRA-merged copy (spill memory, core/spill.h: they stay in its file): a network's
 * weights, merged or not, cost no resident memory while another network runs. Values are
 * unchanged. Returns the bytes of the tensors released. */
size_t sd_weights_release(sd_weights *w, const char *prefix);

/* LoRA merges (nets/lora.h). A patched tensor has a writable copy of its own in spill
 * memory, owned by w; the checkpoint's values stay read-only in the mapping or in their converted
 * buffer, and binds keep returning them: the layer that reads the tensor is pointed at the
 * copy through its merged-weight hook (layers/layers.h, sd_lora_attach).
 *
 * sd_weights_patch returns that copy for tensor `name`, made on first use from the
 * tensor's values (fp32, widened exactly from F16/BF16), with its shape; later calls
 * return the same buffer, so several deltas add up. NULL with err set (missing tensor,
 * out of memory, file already dropped). */
float *sd_weights_patch(sd_weights *w, const char *name, int *ndim, int64_t shape[4],
                        sd_error *err);
/* Ends the deltas of tensor `name`: a F16/BF16 checkpoint tensor's copy is rounded
 * (to nearest even) to its own dtype, as A1111 and ComfyUI store a merged LoRA, so the
 * merged U-Net costs the memory of the checkpoint's, not twice it; fp32 copies stay. A
 * later sd_weights_patch widens it back (exactly). SD_ERR_NOMEM. */
sd_status sd_weights_patch_seal(sd_weights *w, const char *name, sd_error *err);
/* A F16/BF16 tensor is patched in one shared fp32 scratch buffer: patching another seals
 * it first. sd_weights_patch_end seals the last one and frees the scratch. */
sd_status sd_weights_patch_end(sd_weights *w, sd_error *err);
/* fn for every patched tensor (name, shape, and data = the fp32 copy or packed = the
 * sealed one), in key order. */
void sd_weights_each_patch(const sd_weights *w,
                           void (*fn)(void *user, const sd_tensor *patched), void *user);
/* Frees every patched copy (detach the layers first: sd_lora_detach). */
void sd_weights_unpatch(sd_weights *w);
/* Number of patched tensors and their bytes. */
size_t sd_weights_patched(const sd_weights *w, size_t *bytes);

/* The checkpoint's tensors in name order (also after sd_weights_drop_file): the name of
 * tensor i < sd_weights_count(w), with its rank and shape (4 dims, 1-padded). */
size_t sd_weights_count(const sd_weights *w);
const char *sd_weights_key(const sd_weights *w, size_t i, int *ndim, int64_t shape[4]);

/* Bytes of weights held (fp32 and packed). */
size_t sd_weights_bytes(const sd_weights *w);

/* Convenience for the common cases; each returns the status of sd_weights_bind. */
#define SD_SHAPE(...) ((const int64_t[]){__VA_ARGS__})

#endif
