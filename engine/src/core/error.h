/* Error reporting inside the engine: return a status, fill the caller's sd_error. */
#ifndef SD_ERROR_H
#define SD_ERROR_H

#include "sd.h"

#if defined(__GNUC__)
#define SD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SD_PRINTF(a, b)
#endif

/* Sets err (if non-NULL) to code + formatted message and returns code, so a caller
 * can write `return sd_fail(err, SD_ERR_FORMAT, "bad dtype %s", s);`. */
sd_status sd_fail(sd_error *err, sd_status code, const char *fmt, ...) SD_PRINTF(3, 4);

/* Adds one layer's context in front of the message a lower layer wrote ("VAE" +
 * "missing tensor first_stage_model..." gives "VAE: missing tensor first_stage_model...")
 * and returns `code`, the failing call's status, also when err is NULL: write
 * `return sd_fail_context(err, st, "VAE");`. The context is a noun (a file, a network, a
 * step), without ": " — the separator is added here, and only when there is a message to
 * prefix. Each layer adds its own noun once; a layer never repeats one a lower layer gave. */
sd_status sd_fail_context(sd_error *err, sd_status code, const char *fmt, ...) SD_PRINTF(3, 4);

void sd_error_clear(sd_error *err);

#endif
